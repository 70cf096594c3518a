"""The sequence level: block verifiers, the block LP (the best τ of any lossless verifier) and the
lossless checker, on the draft tree of docs/theory.md §12.

:mod:`lpspec.sequence.tree` holds the shared representation (node indexing, path probabilities,
Lemma 2 on a continuation table).
"""

from .block_lp import BlockBounds, BlockOptimum, block_bounds, block_optimum, block_upper_bound
from .tree import BlockTree, LosslessReport, block_tree, c_from_block_law, tree_size

__all__ = ["BlockBounds", "BlockOptimum", "BlockTree", "LosslessReport", "block_bounds", "block_optimum", "block_tree",
           "block_upper_bound", "c_from_block_law", "tree_size"]
