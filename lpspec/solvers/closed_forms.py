"""Closed forms of the optimal acceptance ``P*(acc)``: sorted prefix, subset minimisation, greedy formula.

Each evaluates the min-cut formula of docs/theory.md §3,

.. math::

    P^*(\\mathrm{acc}) = \\min_{S \\subseteq \\Omega} \\; q(S) + 1 - \\Pr(\\mathrm{set}(X) \\subseteq S),

on the instances where it applies, and returns the minimising ``S`` as the certificate. This module sits
BELOW the LP (:mod:`lpspec.solvers.lp`) and the dispatcher (:mod:`lpspec.solvers.optimum`): it imports neither, so the LP can
fall back on these forms directly. Each form has a predicate saying where it applies:

* :func:`sorted_prefix_optimum` — identical independent drafts (:func:`sorted_prefix_applies`), any ``n``;
* :func:`greedy_optimum` — the greedy draft law (:func:`greedy_applies`), any ``n``;
* :func:`subset_optimum` — any law, ``n <= MAX_SUBSET_N`` (exact: ``MAX_EXACT_SUBSET_N``)
  (:func:`lpspec.solvers.subsets.subsets_fit`).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..core.instance import Instance
from ..core.results import OptimumResult
from .certify import MAX_CERTIFY_SETS
from .subsets import check_subset_size, mask_to_set, subset_table

__all__ = [
    "ratio_order",
    "sorted_prefix_optimum",
    "subset_optimum",
    "greedy_optimum",
    "few_draft_sets",
    "sorted_prefix_applies",
    "greedy_applies",
]


def sorted_prefix_applies(inst: Instance) -> bool:
    """Whether :func:`sorted_prefix_optimum` holds: identical independent drafts (docs/theory.md §4)."""
    return bool(inst.identical and inst.law == "independent")


def greedy_applies(inst: Instance) -> bool:
    """Whether :func:`greedy_optimum` holds: the greedy draft law (docs/theory.md §6)."""
    return inst.law == "greedy"


def ratio_order(target: np.ndarray, draft: np.ndarray) -> np.ndarray:
    """Tokens with ``p(i) > 0`` sorted by ``q(i) / p(i)`` ascending, ties to the lower index.

    Floats: the exact order of the ratios of the given floats (rounded ratios with an unbounded exponent, ties
    among them settled in rationals), so neither overflow (a subnormal ``p``) nor rounding reorders tokens.
    Rounding is monotone, so only tokens with equal rounded ratios can be out of order; within such a group,
    tokens with identical ``(q, p)`` floats are equal and stay in index order, and only the distinct pairs of a
    group are compared as exact rationals (once per pair, not per token).

    Examples
    --------
    >>> ratio_order(np.array([0.125, 0.375, 0.5]), np.array([0.16666666666666666, 0.5, 5e-324])).tolist()
    [1, 0, 2]
    """
    support = np.flatnonzero(draft > 0)
    if target.dtype == object:
        return np.array(sorted(support.tolist(), key=lambda i: (target[i] / draft[i], i)), dtype=np.int64)
    tq = np.asarray(target, dtype=np.float64)[support]
    dp = np.asarray(draft, dtype=np.float64)[support]
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        r = tq / dp
    tiny = np.finfo(np.float64).tiny
    if r.size and np.all(np.isfinite(r)) and np.all((r >= tiny) | (tq == 0)):
        # no overflow and no subnormal ratio: the rounded ratio is a monotone function of the exact one
        order = np.argsort(r)  # not stable: equal ratios are put in index order below
        key = r[order]
        same = key[1:] == key[:-1]
        if same.any():
            first = np.concatenate([[True], ~same])
            tied = ~(first & np.append(first[1:], True))  # positions inside a group of two or more
            pos = np.flatnonzero(tied)
            group = np.cumsum(first)[pos]
            order[pos] = order[pos][np.lexsort((order[pos], group))]
    else:
        # the ratio as mantissa x 2^exponent: q/p can overflow (subnormal p) or lose bits (subnormal q/p), and
        # ties among overflowed ratios would be broken by index instead of by value (docs/guide/numerics.md)
        mq, eq = np.frexp(tq)
        mp, ep = np.frexp(dp)
        m, e = np.frexp(mq / mp)
        expo = np.where(m > 0, eq.astype(np.int64) - ep.astype(np.int64) + e.astype(np.int64),
                        np.iinfo(np.int64).min)
        order = np.lexsort((m, expo)) if r.size else np.zeros(0, dtype=np.int64)  # stable: index order in ties
        ms, es = m[order], expo[order]
        same = (ms[1:] == ms[:-1]) & (es[1:] == es[:-1])
    if same.any():
        # equal rounded ratios: only pairs (q, p) that differ can be out of order (identical floats are equal)
        qs, ps = tq[order], dp[order]
        differ = same & ((qs[1:] != qs[:-1]) | (ps[1:] != ps[:-1]))
        if differ.any():
            starts = np.flatnonzero(np.concatenate([[True], ~same]))
            ends = np.append(starts[1:], order.size)
            group = np.cumsum(np.concatenate([[True], ~same])) - 1  # group of each sorted position
            bad = np.unique(group[1:][differ])
            order = order.copy()
            for g in bad.tolist():
                a, b = int(starts[g]), int(ends[g])
                idx = order[a:b]
                pairs, inv = np.unique(np.stack([tq[idx], dp[idx]], axis=1), axis=0, return_inverse=True)
                exact = [Fraction(float(x)) / Fraction(float(y)) for x, y in pairs.tolist()]
                dense = {v: i for i, v in enumerate(sorted(set(exact)))}  # equal rationals share a rank
                rank = np.array([dense[v] for v in exact], dtype=np.int64)
                order[a:b] = idx[np.lexsort((idx, rank[inv.ravel()]))]
    return support[order]


def sorted_prefix_optimum(inst: Instance) -> OptimumResult:
    """``P*`` for ``K`` identical independent drafts in ``O(n log n)`` (docs/theory.md §4, after Hu et al. 2025).

    .. math::

        P^* = \\min_{0 \\le j \\le m} \\; Q_j + 1 - P_j^K,

    with ``Q_j, P_j`` the prefix sums of ``q, p`` over the tokens with ``p > 0`` sorted by ``q/p`` ascending.
    ``1 - P_j^K`` is evaluated from the tail mass ``1 - P_j`` (summed, not subtracted) without cancellation.
    """
    if not sorted_prefix_applies(inst):
        raise ValueError(
            "method='sorted_prefix' holds for identical independent drafts only (docs/theory.md §4); use "
            "method='subsets' or method='lp'."
        )
    q, p, K = inst.target, inst.draft, inst.k
    order = ratio_order(q, p)
    A = inst.arith  # cumulative sums in order: exact for Fractions (object arrays), float64 otherwise
    zero = A.zeros(1)
    Q = np.concatenate([zero, np.cumsum(q[order])])
    tail = np.concatenate([np.cumsum(p[order][::-1])[::-1], zero])
    values = Q + A.one_minus_power(tail, K)
    best = A.argmin(values)
    value = A.scalar(values[best])
    cut = tuple(sorted(int(i) for i in order[:best]))
    mask = np.zeros(inst.n, dtype=bool)
    mask[list(cut)] = True
    return OptimumResult(value, cut, "sorted_prefix", inst.cut_value(mask), {"prefix_size": best})


def subset_optimum(inst: Instance) -> OptimumResult:
    """``P*`` by exhaustive minimisation over all ``2^n`` sets (any draft law; ``n <= 20``, exact ``n <= 14``)."""
    check_subset_size(inst, "method='subsets'")
    q_mass, contain = subset_table(inst)
    values = q_mass + (inst.one() - contain)
    best = inst.arith.argmin(values)
    cut = mask_to_set(best, inst.n)
    value = inst.arith.scalar(values[best])
    return OptimumResult(value, cut, "subsets", value, {})


def greedy_optimum(inst: Instance) -> OptimumResult:
    """``P*`` for the greedy draft law (docs/theory.md §6): ``q(T) + sum_{y ∉ T} min(q(y), p~(y))``.

    ``T`` is the set of the ``K-1`` fixed top tokens and ``p~ = p|_{T^c} / p(T^c)``; the minimising set is
    ``T ∪ {y ∉ T : q(y) < p~(y)}``.
    """
    if not greedy_applies(inst):
        raise ValueError("method='greedy_formula' needs law='greedy'.")
    q, p = inst.target, inst.draft
    fixed = inst.greedy_fixed
    rest = np.ones(inst.n, dtype=bool)
    rest[fixed] = False
    denom = inst.subset_mass(p, rest)
    ptilde = np.array([p[y] / denom if rest[y] else inst.zero() for y in range(inst.n)], dtype=q.dtype)
    terms = [q[y] for y in fixed] + [min(q[y], ptilde[y]) for y in np.flatnonzero(rest)]
    value = inst.arith.sum(terms)
    cut = tuple(sorted([int(y) for y in fixed] + [int(y) for y in np.flatnonzero(rest) if q[y] < ptilde[y]]))
    mask = np.zeros(inst.n, dtype=bool)
    mask[list(cut)] = True
    return OptimumResult(value, cut, "greedy_formula", inst.cut_value(mask), {})


def few_draft_sets(inst: Instance) -> bool:
    """Whether the draft sets (at most ``Σ_{j ≤ K} C(m, j)`` over the ``m`` tokens with ``p > 0``) are few
    enough for the exact max-flow of :func:`lpspec.certify` (``MAX_CERTIFY_SETS``), without building them."""
    support = int(np.count_nonzero(np.any(np.asarray(inst.drafts) != 0, axis=0))) if inst.n else 0
    total = 0
    for j in range(1, min(inst.k, support) + 1):
        total += math.comb(support, j)
        if total > MAX_CERTIFY_SETS:
            return False
    return True
