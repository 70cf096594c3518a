"""The sequence level: block verifiers, the block LP (the best τ of any lossless verifier) and the
lossless checker, on the draft tree of docs/theory.md §12.

:mod:`lpspec.sequence.tree` holds the shared representation (node indexing, path probabilities,
Lemma 2 on a continuation table).
"""

from .tree import BlockTree, LosslessReport, block_tree, c_from_block_law, tree_size
from .verify_blocks import BlockVerificationReport, hf_speculative_sampler, verify_block_scheme

__all__ = ["BlockTree", "LosslessReport", "block_tree", "c_from_block_law", "tree_size",
           "BlockVerificationReport", "hf_speculative_sampler", "verify_block_scheme"]
