"""Theorem 2 (acceptance one) and Theorem 3 (explicit two-draft optimum) of Khisti et al. (ICLR 2025).

* Theorem 2, with its K-draft and non-identical forms (docs/theory.md §4): ``P*(acc) = 1`` iff
  ``q(S) >= Pr(set(X) ⊆ S)`` for every ``S ⊆ Ω``.
* Theorem 3 (two identical drafts): ``P* = min_S q(S) + p(S^c)^2 + 2 p(S) p(S^c) = min_S q(S) + 1 - p(S)^2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..core.arith import arith_of
from ..core.instance import Instance, make_instance
from ..core.keywords import DRAFTS, keyword_aliases
from ..solvers.closed_forms import ratio_order
from ..solvers.optimum import auto_method, optimum_for
from ..solvers.subsets import check_subset_size, mask_to_set, subset_table

__all__ = ["acceptance_one", "acceptance_one_for", "theorem3", "theorem3_for", "AcceptanceOneResult",
           "Theorem3Result", "ACCEPTANCE_ONE_TOLERANCE",
           "MAX_PAIR_SEARCH_N"]

#: A float margin ``>= -1e-12`` counts as "holds" (exact input: ``>= 0``).
ACCEPTANCE_ONE_TOLERANCE = 1e-12
#: The methods :func:`acceptance_one` can take (each gives the margin or decides from a certificate), in the
#: order of the one auto chain (:func:`lpspec.solvers.optimum.auto_method`).
ACCEPTANCE_ONE_METHODS = ("sorted_prefix", "subsets", "exact_max_flow", "submodular", "lp")
#: Largest n for the exact positive-margin search of the sorted form (O(n^3)).
MAX_PAIR_SEARCH_N = 256


@dataclass
class AcceptanceOneResult:
    """Result of :func:`acceptance_one`.

    Attributes
    ----------
    holds : bool
        ``P*(acc) == 1`` (margin ``>= -tolerance``).
    witness : tuple of int or None
        A set ``S`` with ``q(S) < Pr(set(X) ⊆ S)`` (beyond the tolerance), or None.
    margin : float or Fraction
        ``min q(S) - Pr(set(X) ⊆ S)`` over non-empty proper subsets ``S``.
    margin_exact : bool
        False only when the sorted form at ``n > MAX_PAIR_SEARCH_N`` reports ``0`` as a lower bound of a
        positive margin.
    method : str
    tolerance : float
    """

    holds: bool
    witness: tuple[int, ...] | None
    margin: float | Fraction
    method: str
    tolerance: float
    margin_exact: bool = True
    details: dict = field(default_factory=dict, repr=False)


def _margin_subsets(inst: Instance):
    q_mass, contain = subset_table(inst)
    diff = q_mass - contain
    proper = diff[1:-1]
    if proper.size == 0:  # n == 1: no non-empty proper subset
        return None, None
    best = inst.arith.argmin(proper)
    return proper[best], mask_to_set(best + 1, inst.n)


def _margin_sorted(inst: Instance):
    """Min of ``q(S) - p(S)^K`` over non-empty proper ``S`` (identical independent drafts).

    A negative minimum over all ``S`` sits at a prefix of the ``q/p`` order (docs/theory.md §4), which is then non-empty
    and proper. Otherwise the minimum over non-empty proper sets is found exactly by forcing one token ``i`` in
    and one token ``j`` out: the rest is a prefix of the ``q/p`` order of ``Ω \\ {i, j}`` (the same concavity
    argument with the offset ``p(i)``).
    """
    q, p, K, n = inst.target, inst.draft, inst.k, inst.n
    if n == 1:
        return None, None, True
    order = ratio_order(q, p)
    zero = inst.zero()
    best_val, best_len = None, 0
    acc_q, acc_p = zero, zero
    for j in range(order.size):
        acc_q += q[order[j]]
        acc_p += p[order[j]]
        if j + 1 >= n:
            break
        v = acc_q - acc_p**K
        if best_val is None or v < best_val:
            best_val, best_len = v, j + 1  # the set is built once, after the loop (O(n log n) in all)
    best_set = tuple(sorted(int(t) for t in order[:best_len])) if best_val is not None else None
    # proper sets that add tokens of zero draft mass: the cheapest such token alone
    zero_tokens = [int(t) for t in range(n) if p[t] == 0]
    for t in zero_tokens:
        if best_val is None or q[t] < best_val:
            best_val, best_set = q[t], (t,)
    A = inst.arith
    tol = A.tolerance(ACCEPTANCE_ONE_TOLERANCE)
    if best_val is not None and best_val < -tol:
        return best_val, best_set, True
    if n > MAX_PAIR_SEARCH_N:
        return min(best_val, zero) if best_val is not None else zero, None, False
    for i in range(n):
        for jout in range(n):
            if jout == i:
                continue
            rest = order[(order != i) & (order != jout)]
            cq = q[i] + np.concatenate([A.zeros(1), np.cumsum(q[rest])])  # exact sums for object arrays
            cp = p[i] + np.concatenate([A.zeros(1), np.cumsum(p[rest])])
            vals = cq - cp**K
            m = A.argmin(vals)
            v = A.scalar(vals[m])
            if v < best_val:
                best_val, best_set = v, tuple(sorted([i] + [int(t) for t in rest[:m]]))
    return best_val, best_set, True


@keyword_aliases(refused=DRAFTS)
def acceptance_one(
    *, target, drafts, k: int | None = None, law: str = "independent", method: str = "auto"
) -> AcceptanceOneResult:
    """Theorem 2 and its generalisations: does the optimal scheme accept with probability one?

    .. math::

        P^*(\\mathrm{acc}) = 1 \\iff q(S) \\ge \\Pr(\\mathrm{set}(X) \\subseteq S) \\;\\; \\forall S \\subseteq \\Omega

    (Khisti et al. 2025, Theorem 2 for ``K = 2`` identical drafts, ``q(S) >= p(S)^2``; the K-draft remark,
    ``q(S) >= p(S)^K``; any draft law through the min-cut formula, docs/theory.md §3).

    Parameters
    ----------
    target, drafts, k, law
        As in :func:`lpspec.optimal_acceptance`.
    method : {"auto", "subsets", "sorted_prefix", "exact_max_flow", "submodular", "lp"} or callable
        A callable ``inst -> OptimumResult`` (as for :func:`lpspec.optimal_acceptance`) decides from its cut.
        ``subsets``: all ``2^n`` sets (``n <= 20``); ``sorted_prefix``: identical independent drafts, any n;
        ``submodular`` (independent drafts, any n, :mod:`lpspec.solvers.submodular`) and ``lp`` decide ``holds``
        from ``P*`` (margin then known only when negative). ``auto`` picks the sorted form for identical
        independent drafts, subsets for small n, then (exact input) the exact max-flow while the draft sets
        are few, the submodular search for other independent drafts, else the LP. Exact (Fraction) input is
        never decided by a float solve at tolerance 0: ``lp`` then runs the exact max-flow of
        :func:`lpspec.certify` (``.method == "exact_max_flow"``); a ``submodular`` "holds" on exact input
        reports the search's float tolerance. ``.tolerance`` is the float tolerance of a float answer.

    Returns
    -------
    AcceptanceOneResult
        ``.holds``, ``.witness``, ``.margin`` (minimum of ``q(S) - Pr(set(X) ⊆ S)`` over non-empty proper ``S``).

    Examples
    --------
    >>> acceptance_one(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2).holds
    True
    >>> r = acceptance_one(target=[0.9, 0.1], drafts=[0.1, 0.9], k=2)
    >>> r.holds, r.witness
    (False, (1,))
    """
    inst = make_instance(target=target, drafts=drafts, k=k, law=law)
    return acceptance_one_for(inst, method)


def acceptance_one_for(inst: Instance, method: str = "auto") -> AcceptanceOneResult:
    """:func:`acceptance_one` on an already built instance."""
    tol = inst.arith.tolerance(ACCEPTANCE_ONE_TOLERANCE)
    if method == "auto":  # the one auto chain (lpspec.solvers.optimum.auto_method), among the methods that give a margin
        method = auto_method(inst, among=ACCEPTANCE_ONE_METHODS)
    if method == "lp" and inst.exact:
        # exact input never gets a verdict from a float solve: the exact max-flow decides P* = 1 in rationals
        method = "exact_max_flow"
    exact_margin = True
    if method == "subsets":
        check_subset_size(inst, "acceptance_one(method='subsets')")
        margin, S = _margin_subsets(inst)
    elif method == "sorted_prefix":
        if not (inst.identical and inst.law == "independent"):
            raise ValueError("method='sorted_prefix' needs identical independent drafts; use method='subsets'.")
        margin, S, exact_margin = _margin_sorted(inst)
    elif callable(method) or method in ("lp", "submodular"):
        # Decide from the certificate, not the flow: the cut S is a real set, so cut_value < 1 exhibits a
        # violated inequality q(S) < Pr(set(X) ⊆ S), while the flow value is only accurate to 1e-9.
        res = optimum_for(inst, method)
        method = res.method if callable(method) else method
        gap = arith_of(res.cut_value).scalar(res.cut_value) - 1
        margin = gap if gap < -tol else inst.zero()
        S = res.cut_set if gap < -tol else None
        exact_margin = gap < -tol
    elif method == "exact_max_flow":
        from ..solvers.certify import certify_instance

        cert = certify_instance(inst)
        gap = cert.value - 1  # = min(0, min over proper S of q(S) - Pr(set(X) ⊆ S)), exactly
        margin = gap if gap < 0 else Fraction(0)
        S = cert.cut_set if gap < 0 else None
        exact_margin = gap < 0
    else:
        raise ValueError(f"method={method!r} is not known; choose auto, subsets, sorted_prefix, submodular or lp.")
    if margin is None:  # n == 1: P* = 1 trivially
        return AcceptanceOneResult(True, None, inst.zero(), method, tol, True)
    margin = inst.arith.scalar(margin)
    holds = bool(margin >= -tol)
    if holds and inst.exact and method == "submodular":
        # no violated set was found by a search certified in float64: not an exact verdict; say so
        from ..solvers.submodular import TOLERANCE

        tol, exact_margin = TOLERANCE, False
    return AcceptanceOneResult(holds, None if holds else S, margin, method, tol, exact_margin,
                               {"minimiser": S})


@dataclass
class Theorem3Result:
    """Result of :func:`theorem3`.

    Attributes
    ----------
    value : float or Fraction
        ``min_S q(S) + p(S^c)^2 + 2 p(S) p(S^c)`` (the paper's form).
    cut_set : tuple of int
        Its minimising set.
    simplified : float or Fraction
        ``min_S q(S) + 1 - p(S)^2``, minimised separately.
    simplified_cut_set : tuple of int
    method : str
    """

    value: float | Fraction
    cut_set: tuple[int, ...]
    simplified: float | Fraction
    simplified_cut_set: tuple[int, ...]
    method: str


@keyword_aliases(refused=DRAFTS)
def theorem3(*, target, drafts, method: str = "auto") -> Theorem3Result:
    """Theorem 3 of Khisti et al. (2025): the optimal acceptance for two identical drafts.

    .. math::

        P^* = \\min_{S \\subseteq \\Omega} \\; q(S) + p(S^c)^2 + 2\\,p(S)\\,p(S^c)
            = \\min_{S \\subseteq \\Omega} \\; q(S) + 1 - p(S)^2

    Parameters
    ----------
    target : array-like, shape (n,)
        ``q``.
    drafts : array-like, shape (n,)
        The one draft distribution ``p`` (both drafts are i.i.d. ``p``).
    method : {"auto", "subsets", "sorted_prefix"}
        ``subsets`` evaluates both expressions on all ``2^n`` sets (``n <= 20``); ``sorted_prefix`` on the
        prefixes of the ``q/p`` order (any n). ``auto``: subsets for ``n <= 12``, else sorted prefix.

    Returns
    -------
    Theorem3Result

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> r = theorem3(target=[F(1, 3), F(0), F(2, 3)], drafts=[F(1, 3)] * 3)
    >>> r.value, r.simplified
    (Fraction(8, 9), Fraction(8, 9))
    """
    from ..core.instance import _is_single_distribution

    if not _is_single_distribution(drafts):
        raise ValueError(
            "theorem3 takes drafts as the one draft distribution p (two i.i.d. drafts are implied); got a "
            "list of distributions. Pass drafts=p; for different drafts use lpspec.optimal_acceptance."
        )
    return theorem3_for(make_instance(target=target, drafts=drafts, k=2), method)


def theorem3_for(inst: Instance, method: str = "auto") -> Theorem3Result:
    """:func:`theorem3` on an already built :class:`~lpspec.core.instance.Instance` (K = 2 i.i.d. drafts).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> inst = make_instance(target=[F(1, 3), F(0), F(2, 3)], drafts=[F(1, 3)] * 3, k=2)
    >>> theorem3_for(inst).value
    Fraction(8, 9)
    """
    if not (inst.k == 2 and inst.identical and inst.law == "independent"):
        raise ValueError(
            f"theorem3 holds for K = 2 identical independent drafts; this instance has K={inst.k}, "
            f"law={inst.law!r}{'' if inst.identical else ', different drafts'}. "
            "Use lpspec.optimal_acceptance.")
    if method == "auto":
        method = "subsets" if inst.n <= 12 else "sorted_prefix"
    q = inst.target
    one = inst.one()
    if method == "subsets":
        check_subset_size(inst, "theorem3(method='subsets')")
        q_mass, _ = subset_table(inst)
        from ..solvers.subsets import _mask_sums

        pS = _mask_sums(inst.draft, inst.n)
        pSc = _mask_sums(inst.draft, inst.n)[::-1]  # the complement of mask m is mask (2^n - 1 - m)
        three = q_mass + pSc**2 + 2 * pS * pSc
        simple = q_mass + one - pS**2
        masks = range(three.size)
        b3 = min(masks, key=lambda m: (three[m], m))
        bs = min(masks, key=lambda m: (simple[m], m))
        return Theorem3Result(three[b3], mask_to_set(b3, inst.n), simple[bs], mask_to_set(bs, inst.n), method)
    if method != "sorted_prefix":
        raise ValueError(f"method={method!r} is not known; choose auto, subsets or sorted_prefix.")
    order = ratio_order(q, inst.draft)
    zero = inst.zero()
    best3 = best_s = None
    set3 = sets = 0
    qS = pS = zero
    pSc = inst.arith.sum(inst.draft)
    for j in range(order.size + 1):
        if j > 0:
            t = order[j - 1]
            qS += q[t]
            pS += inst.draft[t]
            pSc -= inst.draft[t]
        three = qS + pSc**2 + 2 * pS * pSc
        simple = qS + one - pS**2
        if best3 is None or three < best3:
            best3, set3 = three, j
        if best_s is None or simple < best_s:
            best_s, sets = simple, j
    def prefix(j):
        return tuple(sorted(int(t) for t in order[:j]))

    return Theorem3Result(best3, prefix(set3), best_s, prefix(sets), method)
