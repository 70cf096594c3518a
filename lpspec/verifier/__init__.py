"""The exact optimal verifier for K identical drafts at any vocabulary size (the rank-space construction of
docs/theory.md §9), in :mod:`lpspec.verifier.rank`; its public names are re-exported here."""

from .rank import *  # noqa: F403
from .rank import __all__ as __all__
