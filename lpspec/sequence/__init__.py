"""The sequence level: block verifiers, the block LP (the best τ of any lossless verifier) and the
lossless checker, on the draft tree of docs/theory.md §14.

:mod:`lpspec.sequence.tree` holds the shared representation (node indexing, path probabilities,
Lemma 2 on a continuation table).
"""

from .block_lp import BlockBounds, BlockOptimum, block_bounds, block_optimum, block_upper_bound
from .block_schemes import (
    BLOCK_SCHEMES,
    BlockSchemeResult,
    block_law_given_paths,
    block_verification,
    continuation_tables,
    enumerated_block_law,
    stepwise_optimal,
    traversal,
)
from .tree import BlockTree, LosslessReport, block_tree, c_from_block_law, tree_size
from .verify_blocks import BlockVerificationReport, hf_speculative_sampler, verify_block_scheme

__all__ = ["BLOCK_SCHEMES", "BlockSchemeResult", "BlockTree", "LosslessReport", "block_law_given_paths", "block_tree",
           "block_verification", "c_from_block_law", "continuation_tables", "enumerated_block_law",
           "stepwise_optimal", "traversal", "tree_size",
           "BlockBounds", "BlockOptimum", "block_bounds", "block_optimum", "block_upper_bound",
           "BlockVerificationReport", "hf_speculative_sampler", "verify_block_scheme"]
