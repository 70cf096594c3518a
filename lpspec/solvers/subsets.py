"""Exhaustive evaluation over all ``2^n`` token sets ``S`` (docs/theory.md §3), for small vocabularies.

Sets are bit masks: token ``i`` is in ``S`` when bit ``i`` of the mask is set.
``target_mass[m] = q(S)`` and ``containment[m] = Pr(set(X) ⊆ S)`` are computed for every mask ``m``:

* independent drafts: ``Pr(set(X) ⊆ S) = prod_k p_k(S)``;
* any other law: the zeta transform ``sum_{A ⊆ S} Pr(set(X) = A)`` of the set masses.
"""

from __future__ import annotations

import numpy as np

from ..core.arith import arith_of
from ..core.instance import Instance

__all__ = ["MAX_SUBSET_N", "MAX_EXACT_SUBSET_N", "subset_table", "mask_to_set", "check_subset_size", "subsets_fit",
           "subset_limit"]

#: Largest vocabulary for exhaustive float evaluation (2^20 sets).
MAX_SUBSET_N = 20
#: Largest vocabulary for exhaustive evaluation in exact rationals.
MAX_EXACT_SUBSET_N = 14


def subset_limit(inst: Instance) -> int:
    """The largest ``n`` enumerated over all ``2^n`` sets for this input: :data:`MAX_EXACT_SUBSET_N` for exact
    (Fraction) input, else :data:`MAX_SUBSET_N`."""
    return inst.arith.pick(exact=MAX_EXACT_SUBSET_N, floats=MAX_SUBSET_N)


def subsets_fit(inst: Instance) -> bool:
    """Whether the exhaustive ``2^n`` enumeration is allowed (the test of :func:`check_subset_size`)."""
    return inst.n <= subset_limit(inst)


def check_subset_size(inst: Instance, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` and the alternatives unless :func:`subsets_fit` holds."""
    limit = subset_limit(inst)
    if inst.n > limit:
        kind = inst.arith.pick(exact="exact (Fraction)", floats="float")
        raise ValueError(
            f"{what} enumerates all 2^n sets, but n={inst.n} exceeds the {kind} limit n <= {limit}; "
            "use method='sorted_prefix' (identical independent drafts), method='submodular' (independent "
            "drafts, any n) or method='lp'."
        )


def mask_to_set(mask: int, n: int) -> tuple[int, ...]:
    return tuple(i for i in range(n) if (mask >> i) & 1)


def _mask_sums(values: np.ndarray, n: int) -> np.ndarray:
    """``out[m] = sum_{i in m} values[i]`` for every mask, by adding the highest bit (positive terms)."""
    arith = arith_of(values)
    out = np.empty(1 << n, dtype=arith.dtype)
    out[0] = arith.zero
    for i in range(n):
        lo = 1 << i
        out[lo : 2 * lo] = out[:lo] + values[i]
    return out


def subset_table(inst: Instance) -> tuple[np.ndarray, np.ndarray]:
    """``(q(S), Pr(set(X) ⊆ S))`` for every mask ``S``, two arrays of shape (2^n,).

    Examples
    --------
    >>> from lpspec.core.instance import make_instance
    >>> qS, inS = subset_table(make_instance(target=[0.5, 0.5], drafts=[1.0, 0.0], k=2))
    >>> qS.tolist(), inS.tolist()
    ([0.0, 0.5, 0.5, 1.0], [0.0, 1.0, 0.0, 1.0])
    """
    check_subset_size(inst, "the subset enumeration")
    n = inst.n
    q_mass = _mask_sums(inst.target, n)
    if inst.law == "independent":
        contain = None
        for row in inst.drafts:
            s = _mask_sums(row, n)
            contain = s if contain is None else contain * s
        return q_mass, contain
    st = inst.set_table
    contain = inst.arith.zeros(1 << n)
    for row, m in zip(st.sets, st.mass):
        key = 0
        for t in row:
            if t >= 0:
                key |= 1 << int(t)
        contain[key] += m
    for i in range(n):  # zeta transform: add the masks without bit i into those with it
        bit = 1 << i
        view = contain.reshape(-1, 2 * bit)
        view[:, bit:] = view[:, bit:] + view[:, :bit]
    return q_mass, contain
