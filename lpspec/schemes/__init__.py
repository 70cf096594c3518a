"""Token-level selection schemes of the field, each evaluated exactly and sampled (docs/theory.md §4–§5).

Each scheme is one entry of :data:`lpspec.registry.SCHEME_SPECS` (its ``cls`` pointer names the class below);
:data:`SCHEMES` is built from the registry.

=================  ======================================  ========================================
name               class                                   applies to
=================  ======================================  ========================================
``optimal``        :class:`OptimalScheme`                  every instance (LP / exact max-flow)
``canonical``      :class:`CanonicalScheme`                every instance (Theorem 1)
``single_draft``   :class:`SingleDraft`                    every instance (uses ``X_1`` only)
``specinfer``      :class:`SpecInfer`                      ``law="independent"``
``specinfer_wor``  :class:`SpecInferWithoutReplacement`    ``law="without_replacement"``
``spectr``         :class:`SpecTr`                         identical drafts, ``law="independent"``
``naive``          :class:`NaiveSampling`                  every instance
``sir``            :class:`SIR`                            every instance
``pairwise_is``    :class:`PairwiseIS`                     ``K = 2``
``truncated_is``   :class:`TruncatedIS`                    ``K = 2``
``tournament``     :class:`Tournament`                     ``K >= 2``, ``law="independent"``
=================  ======================================  ========================================
"""

from __future__ import annotations

from ..registry import SCHEME_SPECS, TOKEN_SCHEMES
from .base import MAX_SCHEME_TUPLES, ImportanceScheme, Scheme, sample_drafts
from .importance import SIR, PairwiseIS, Tournament, TruncatedIS, pairwise_is_weights, truncation_order
from .naive import NaiveSampling
from .optimal import CanonicalScheme, OptimalScheme
from .rejection import SingleDraft, SpecInfer, SpecInferWithoutReplacement
from .spectr import SpecTr, spectr_rho

__all__ = [
    "MAX_SCHEME_TUPLES",
    "SCHEMES",
    "SIR",
    "CanonicalScheme",
    "ImportanceScheme",
    "NaiveSampling",
    "OptimalScheme",
    "PairwiseIS",
    "Scheme",
    "SingleDraft",
    "SpecInfer",
    "SpecInferWithoutReplacement",
    "SpecTr",
    "Tournament",
    "TruncatedIS",
    "make_scheme",
    "pairwise_is_weights",
    "sample_drafts",
    "spectr_rho",
    "truncation_order",
]

#: Built-in schemes by name, in the order :func:`lpspec.compare_schemes` reports them: the exact classes of the
#: token-level entries of :data:`lpspec.registry.SCHEME_SPECS` (built from the registry, never typed here).
SCHEMES: dict[str, type[Scheme]] = {name: SCHEME_SPECS[name].load("exact") for name in TOKEN_SCHEMES}


def make_scheme(name: str, instance=None, /, **kw) -> Scheme:
    """Build the built-in scheme ``name`` (a key of :data:`SCHEMES`) for an instance.

    Parameters
    ----------
    name : str
    instance : Instance, optional
        Or pass ``target=``, ``drafts=``, ``k=``, ``law=``.
    **kw
        Those keywords and the scheme's parameters (e.g. ``s`` for ``truncated_is``).

    Examples
    --------
    >>> make_scheme("naive", target=[0.5, 0.5], drafts=[0.5, 0.5], k=2).acceptance
    0.75
    """
    if name not in SCHEMES:
        raise ValueError(f"scheme {name!r} is not built in; choose one of {', '.join(SCHEMES)}.")
    return SCHEMES[name](instance, **kw)
