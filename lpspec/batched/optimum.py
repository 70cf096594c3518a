"""Batched optimal acceptance ``P*`` for K identical drafts, and Theorem 2 (acceptance one), on torch.

For identical independent drafts (docs/theory.md §4, "Fast evaluation")

.. math::

    P^* = \\min_{0 \\le j \\le m} \\; Q_j + 1 - P_j^K

over the prefixes of the tokens with ``p > 0`` sorted by ``q/p`` ascending. The NumPy side sorts; this
backend does not need to (a full sort is the cost to beat), because of two facts:

1. **No token with** ``q/p >= K`` **is needed.** If the last token ``i`` of a prefix ``S`` has
   ``q_i >= K p_i``, removing it changes the value by ``-q_i + P^K - (P - p_i)^K <= p_i (K P^{K-1} - q_i/p_i)
   <= 0``; so some minimising prefix has every ratio ``< K``.
2. **A bucket of ratios** ``[λ, λ')`` **can be skipped** when its lower bound beats nothing: a prefix ending
   inside it has ``Q = Q_a + x``, ``P = P_a + y`` with ``x >= λ y``, so its value is at least
   ``φ(y) = Q_a + λ y + 1 - (P_a + y)^K``, concave in ``y``: its minimum over the bucket is at an end.

So: bucket the tokens by ``q/p`` (:mod:`lpspec.batched.buckets`, ``scatter_add`` of ``q``, ``p`` and counts,
128 buckets per octave), evaluate ``P*`` at every bucket edge (exact prefixes), keep only the buckets whose
lower bound (with the bucket's smallest ratio as ``λ``) is below the best value found, and sort just their
tokens — typically a few hundred per row at ``n = 128 000``. When a row still has more than
:data:`MAX_SORTED` such tokens (ratios packed in a narrow range), its selected range is first re-bucketed
into ``2^12`` finer buckets (a radix step, :meth:`~lpspec.batched.buckets.RatioBuckets.refine`), at most
:data:`MAX_REFINEMENTS` times. A bucket holding a single ratio value is never sorted, and prefixes are
evaluated only at the ends of groups of equal ratio (inside a group the value is concave). ``1 - P^K`` is
``-expm1(K log1p(-tail))`` from the tail mass ``tail = 1 - P``, summed over the tokens outside the prefix
(no cancellation).

Agreement with :func:`lpspec.optimal_acceptance`: within :func:`~lpspec.batched._torch.agreement_tolerance`
(``2 (K + 2) n u + 64 u``, about ``1e-10`` at ``n = 128 000``); the tests check it on random instances.

**Different drafts** (``(K, B, n)``): the sorted prefix is not exact there (docs/theory.md §4 gives an instance
where it returns 1 while ``P* = 49/50``), so :func:`optimal_acceptance` hands them to
:mod:`lpspec.batched.nonidentical` (the exact per-row search of :mod:`lpspec.solvers.submodular`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..core.keywords import DRAFTS, keyword_aliases
from ..core.xp import one_minus_power
from ._torch import agreement_tolerance, require_torch, unit_roundoff
from .buckets import RatioBuckets, ratio_buckets
from .inputs import BatchInput, as_batch, validate_rows

__all__ = [
    "BatchedAcceptanceOne",
    "BatchedOptimum",
    "acceptance_one",
    "one_minus_power",
    "optimal_acceptance",
    "optimum_from_buckets",
]

DIFFERENT_DRAFTS_MESSAGE = (
    "this batched computation needs identical drafts (drafts of shape (B, n) with k=K): for different drafts the "
    "sorted prefix is not exact (docs/theory.md §4 shows an instance where it gives 1 while P* = 49/50). Use "
    "lpspec.batched.optimal_acceptance with (K, B, n) drafts (an exact per-row search), "
    "lpspec.optimal_acceptance(target=q, drafts=[p_1, ..., p_K]) per position, or "
    "lpspec.batched.compare_schemes for the baselines that do apply."
)


# one_minus_power: 1 - (1 - tail)^k without cancellation, the same function for NumPy and torch (lpspec.core.xp);
# tensors are made contiguous first (on CPU, transcendental ops on a strided slice run ~100x slower).


@dataclass
class BatchedOptimum:
    """Batched optimal acceptance with its cut certificates (one per row).

    Attributes
    ----------
    value : torch.Tensor, shape (B,)
        ``P*(acc)`` per row.
    cut_size : torch.Tensor of int64, shape (B,)
        Number of tokens in the minimising prefix ``S`` (the size of :attr:`lpspec.OptimumResult.cut_set`).
    threshold : torch.Tensor, shape (B,)
        ``S = {i : p_i > 0, q_i/p_i <= threshold}`` (``-inf``: ``S`` empty). :meth:`cut_mask` builds it.
    k : int
    method : str
        ``"batched_sorted_prefix"``.
    details : dict
        ``candidates`` (tokens sorted per row, shape (B,)), ``buckets`` (number of ratio buckets),
        ``refinements`` (radix steps taken before the final sort, usually 0).
    """

    value: object
    cut_size: object
    threshold: object
    k: int
    method: str = "batched_sorted_prefix"
    details: dict = field(default_factory=dict, repr=False)

    def cut_mask(self, *, target, drafts, device=None):
        """The cut sets ``S`` as a boolean (B, n) mask: ``p > 0`` and ``q/p <= threshold``.

        ``target`` and ``drafts`` are the inputs of :func:`optimal_acceptance` (validated again).

        Examples
        --------
        >>> r = optimal_acceptance(target=[[0.5, 0.5]], drafts=[[0.9, 0.1]], k=2, device="cpu")
        >>> r.cut_mask(target=[[0.5, 0.5]], drafts=[[0.9, 0.1]], device="cpu").tolist()
        [[True, False]]
        """
        torch = require_torch()
        dev = self.value.device if device is None else device
        q, _ = validate_rows(target, "target", device=dev, dtype=self.value.dtype)
        p, _ = validate_rows(drafts, "drafts", device=dev, dtype=self.value.dtype)
        if q.ndim == 1:
            q, p = q.unsqueeze(0), p.unsqueeze(0)
        ratio = torch.div(q, p)
        torch.nan_to_num_(ratio, nan=float("inf"), posinf=float("inf"), neginf=float("inf"))
        return ratio <= self.threshold.to(ratio.device).unsqueeze(1)


@dataclass
class BatchedAcceptanceOne:
    """Theorem 2 per row: does the optimal scheme accept with probability one?

    Attributes
    ----------
    holds : torch.Tensor of bool, shape (B,)
        ``P* = 1``, i.e. ``q(S) >= p(S)^K`` for every ``S`` (margin ``>= -tolerance``).
    margin : torch.Tensor, shape (B,)
        ``min(0, min_S q(S) - p(S)^K) = P* - 1``: negative where Theorem 2 fails. A positive slack is not
        reported (0; the NumPy :func:`lpspec.acceptance_one` reports it for ``n <= 256`` only).
    witness_size, witness_threshold : torch.Tensor, shape (B,)
        The violating set ``S = {p > 0, q/p <= threshold}`` (meaningful where ``holds`` is False).
    tolerance : float
    """

    holds: object
    margin: object
    witness_size: object
    witness_threshold: object
    tolerance: float


#: At most this many tokens per row are sorted at the end; beyond, the selected buckets are refined first.
MAX_SORTED = 4096
#: Finer buckets per row and refinement step (``2^12``).
REFINE_BITS = 12
#: At most this many refinements (each costs a few passes over the batch); then the selected tokens are sorted.
MAX_REFINEMENTS = 6


def _sort_and_evaluate(level: RatioBuckets, selected, k: int, best, threshold, cut_size):
    """Sort the tokens of the selected buckets per row and evaluate the prefixes ending at their tie-group ends."""
    torch = require_torch()
    mem = level.members(selected, sort=True)
    B, C = mem.ratio.shape
    ar = torch.arange(C, device=best.device).unsqueeze(0).expand(B, C)
    cq, cp = torch.cumsum(mem.q, dim=1), torch.cumsum(mem.p, dim=1)
    start = torch.ones_like(mem.bucket, dtype=torch.bool)
    start[:, 1:] = mem.bucket[:, 1:] != mem.bucket[:, :-1]
    seg = torch.cummax(torch.where(start, ar, torch.zeros_like(ar)), dim=1).values
    within_q = cq - torch.gather(cq - mem.q, 1, seg)
    within_p = cp - torch.gather(cp - mem.p, 1, seg)
    pref_q = torch.gather(level.below_q, 1, mem.bucket) + within_q
    tail = torch.gather(level.above_p, 1, mem.bucket + 1) + (torch.gather(level.hp, 1, mem.bucket) - within_p)
    vals = pref_q + one_minus_power(tail, k)
    group_end = torch.ones_like(start)
    group_end[:, :-1] = mem.ratio[:, 1:] != mem.ratio[:, :-1]
    vals = torch.where(group_end & mem.valid(), vals, torch.full_like(vals, float("inf")))
    best_in, j_in = vals.min(dim=1)
    inside = best_in < best
    best = torch.where(inside, best_in, best)
    threshold = torch.where(inside, torch.gather(mem.ratio, 1, j_in.unsqueeze(1)).squeeze(1), threshold)
    size_in = torch.gather(level.below_n, 1, mem.bucket) + (ar - seg + 1).to(best.dtype)
    cut_size = torch.where(inside, torch.gather(size_in, 1, j_in.unsqueeze(1)).squeeze(1), cut_size)
    return best, threshold, cut_size, mem.count


def optimum_from_buckets(rb: RatioBuckets, k: int):
    """The batched sorted-prefix optimum on already built ratio buckets (``upper = k``).

    Each level: exact values at every bucket edge; a lower bound for the prefixes ending inside each bucket
    (with the bucket's smallest ratio ``r_min``: ``Q_a + r_min y + 1 - (P_a + y)^K``, concave in ``y``, so
    its minimum is at an end); the buckets whose bound beats the best value found so far (by more than
    ``64 u``, a rounding allowance) are refined (rows with more than :data:`MAX_SORTED` such tokens, while
    that narrows their buckets) or sorted and evaluated at the ends of their groups of equal ratio. A bucket
    of a single ratio value is never sorted (its end is an edge).

    Returns
    -------
    value, cut_size, threshold : torch.Tensor, shape (B,) each
    info : dict
        ``candidates`` (tokens sorted per row, (B,)), ``refinements`` (int).
    """
    torch = require_torch()
    q = rb.q
    B = q.shape[0]
    slack = 64 * unit_roundoff(q.dtype)
    best = torch.full((B,), float("inf"), dtype=q.dtype, device=q.device)
    threshold = torch.full_like(best, -float("inf"))
    cut_size = torch.zeros_like(best)
    candidates = torch.zeros(B, dtype=torch.int64, device=q.device)
    level = rb
    while True:
        top = level.top
        below_q, above_p = level.below_q, level.above_p
        power = one_minus_power(above_p, k)  # 1 - (1 - tail)^K at every edge, shape (B, top + 2)
        # exact prefixes at the bucket edges m = 0..top (the prefix = every bucket below m)
        edge_vals = below_q[:, : top + 1] + power[:, : top + 1]
        val, m = edge_vals.min(dim=1)
        better = val < best
        best = torch.where(better, val, best)
        threshold = torch.where(better, level.edge_below(m), threshold)
        cut_size = torch.where(better, level.below_n.gather(1, m.unsqueeze(1)).squeeze(1), cut_size)
        # lower bound of the prefixes ending inside bucket m = 0..top-1 (concave: the two ends)
        end_bound = below_q[:, :top] + level.ratio_min[:, :top] * level.hp[:, :top] + power[:, 1 : top + 1]
        bound = torch.minimum(edge_vals[:, :top], end_bound)
        selected = torch.zeros_like(level.selectable)
        selected[:, :top] = (bound < (best - slack).unsqueeze(1)) & level.selectable[:, :top] & (
            level.counts[:, :top] > 1)
        if not bool(selected.any()):
            break
        selected &= level.ratio_max > level.ratio_min  # one ratio value: a tie group, its end is an edge
        if not bool(selected.any()):
            break
        width = (level.counts * selected).sum(dim=1)
        refine = width > MAX_SORTED
        if level.level < MAX_REFINEMENTS and bool(refine.any()):
            refine &= level.refine_shifts(selected, REFINE_BITS) < level.row_shifts()  # progress per row
        else:
            refine &= False
        to_sort = selected & ~refine.unsqueeze(1)
        if bool(to_sort.any()):
            best, threshold, cut_size, count = _sort_and_evaluate(level, to_sort, k, best, threshold, cut_size)
            candidates = candidates + count
        if not bool(refine.any()):
            break
        level = level.refine(selected & refine.unsqueeze(1), REFINE_BITS)
    return best, cut_size.to(torch.int64), threshold, {"candidates": candidates, "refinements": level.level}


#: Rows of at most this many tokens are sorted directly (memory ``O(B n)``) instead of bucketed. ``None``: the
#: width of the ratio-bucket tables (``128 (64 + log2 K)`` buckets), so that the bucket path is taken only where
#: its ``(B, M)`` tables are no wider than the ``(B, n)`` input: memory scales with ``B n`` either way.
DIRECT_SORT_MAX_N: int | None = None


def use_direct_sort(n: int, k: int) -> bool:
    """True when rows of ``n`` tokens are sorted directly rather than bucketed (:data:`DIRECT_SORT_MAX_N`).

    Examples
    --------
    >>> use_direct_sort(3, 2), use_direct_sort(100_000, 2)
    (True, False)
    """
    from . import buckets as bk

    if DIRECT_SORT_MAX_N is not None:
        return n <= DIRECT_SORT_MAX_N
    width = (bk.LOWEST_EXPONENT + math.ceil(math.log2(max(float(k), 2.0))) + 2) * 2**bk.SUB_BUCKET_BITS
    return n <= width


def _direct_optimum(q, p, k: int):
    """The sorted-prefix optimum by a full per-row sort (small n): the same prefixes and the same conventions
    as :func:`optimum_from_buckets` (prefixes end at tie-group ends; the first minimum wins)."""
    torch = require_torch()
    B, n = q.shape
    inf = torch.tensor(float("inf"), dtype=q.dtype, device=q.device)
    # q/p overflows to inf for a subnormal p: such a ratio is >= K, and no prefix ending there can beat the
    # shorter one (the prefix value does not decrease past ratio K), so inf is a safe stand-in.
    ratio = torch.where(p > 0, torch.div(q, torch.where(p > 0, p, torch.ones_like(p))), inf)
    ratio = torch.nan_to_num(ratio, nan=float("inf"))
    r_sorted, order = torch.sort(ratio, dim=1, stable=True)
    qs = torch.gather(q, 1, order)
    ps = torch.gather(p, 1, order)
    zero = torch.zeros((B, 1), dtype=q.dtype, device=q.device)
    Q = torch.cat([zero, torch.cumsum(qs, dim=1)], dim=1)  # (B, n + 1)
    tail = torch.cat([torch.flip(torch.cumsum(torch.flip(ps, [1]), dim=1), [1]), zero], dim=1)  # sums of p >= 0
    values = Q + one_minus_power(tail, k)
    valid = torch.ones((B, n + 1), dtype=torch.bool, device=q.device)
    ends = torch.ones((B, n), dtype=torch.bool, device=q.device)
    if n > 1:
        ends[:, :-1] = r_sorted[:, 1:] != r_sorted[:, :-1]
    valid[:, 1:] = ends & (ps > 0)
    values = torch.where(valid, values, inf)
    best = values.amin(dim=1)
    j = (values == best.unsqueeze(1)).to(torch.int8).argmax(dim=1)  # the first minimum
    prev = torch.gather(r_sorted, 1, (j - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
    nxt = torch.gather(r_sorted, 1, j.clamp(max=n - 1).unsqueeze(1)).squeeze(1)
    # halfway to the next distinct ratio (when there is one): {r <= threshold} is the prefix, and stays so when
    # the ratios are recomputed from inputs that differ by a renormalisation (an ulp)
    mid = prev / 2 + nxt / 2
    threshold = torch.where(j > 0, torch.where((j < n) & torch.isfinite(nxt), mid, prev), -inf)
    candidates = torch.full((B,), n, dtype=torch.int64, device=q.device)
    return best, j.to(torch.int64), threshold, {"candidates": candidates, "refinements": 0}


def _optimum(batch: BatchInput):
    """``(value, cut_size, threshold, info)``: the direct sort for short rows, the ratio buckets otherwise."""
    if use_direct_sort(batch.n, batch.k):
        out = _direct_optimum(batch.target, batch.draft, batch.k)
        out[3]["buckets"] = 0
        return out
    rb = ratio_buckets(batch.target, batch.draft, upper=float(batch.k))
    value, cut_size, threshold, info = optimum_from_buckets(rb, batch.k)
    info["buckets"] = rb.top + 1
    return value, cut_size, threshold, info


def _identical_batch(target, drafts, k, device, dtype) -> BatchInput:
    batch = as_batch(target=target, drafts=drafts, k=k, device=device, dtype=dtype)
    if not batch.identical:
        raise ValueError(DIFFERENT_DRAFTS_MESSAGE)
    return batch


@keyword_aliases(refused=DRAFTS)
def optimal_acceptance(*, target, drafts, k: int | None = None, device=None, dtype=None):
    """Optimal acceptance ``P*(acc)`` of K identical drafts for a whole batch of positions.

    .. math::

        P^*(\\mathrm{acc}) = \\min_{S \\subseteq \\Omega} \\; q(S) + 1 - p(S)^K
                         = \\min_{0 \\le j \\le m} \\; Q_j + 1 - P_j^K

    (Khisti et al. 2025, Theorem 3 and its K-draft form; the min-cut of docs/theory.md §3 over the prefixes of the
    ``q/p`` order, docs/theory.md §4), computed per row without a full sort (module docstring).

    Parameters
    ----------
    target : tensor, array or Logits, shape (B, n) or (n,)
        Target distributions ``q``, one row per position.
    drafts : tensor, array or Logits, shape (B, n) with ``k``
        Draft distributions ``p``. (A (K, B, n) input whose K slices are equal is accepted as identical.)
    k : int
        Number of drafts ``K``.
    device : str or torch.device, optional
        Default: cuda when available, else cpu.
    dtype : torch.dtype, optional
        float64 (default) or float32.

    Returns
    -------
    BatchedOptimum
        ``.value`` (B,), ``.cut_size`` (B,), ``.threshold`` (B,). For (K, B, n) drafts that differ: a
        :class:`~lpspec.batched.nonidentical.BatchedDifferentOptimum` (``.value`` (B,), ``.cut_mask`` (B, n)),
        computed row by row by the exact search of :mod:`lpspec.solvers.submodular` (CPU).

    Raises
    ------
    ValueError
        Invalid input (see :func:`~lpspec.batched.inputs.validate_rows`).

    Examples
    --------
    >>> r = optimal_acceptance(target=[[1/3, 0.0, 2/3], [0.5, 0.5, 0.0]], drafts=[[1/3] * 3, [0.5, 0.5, 0.0]],
    ...                        k=2, device="cpu")
    >>> [round(v, 12) for v in r.value.tolist()], r.cut_size.tolist()
    ([0.888888888889, 1.0], [1, 0])
    """
    batch = as_batch(target=target, drafts=drafts, k=k, device=device, dtype=dtype)
    if not batch.identical:
        from .nonidentical import different_drafts_optimum

        return different_drafts_optimum(batch)
    value, cut_size, threshold, info = _optimum(batch)
    return BatchedOptimum(value, cut_size, threshold, batch.k, details=info)


@keyword_aliases(refused=DRAFTS)
def acceptance_one(*, target, drafts, k: int | None = None, device=None, dtype=None,
                   tolerance: float | None = None) -> BatchedAcceptanceOne:
    """Theorem 2 per row: ``P*(acc) = 1`` iff ``q(S) >= p(S)^K`` for every ``S`` (K identical drafts).

    .. math::

        P^*(\\mathrm{acc}) = 1 \\iff \\min_S \\; q(S) - p(S)^K \\ge 0

    (Khisti et al. 2025, Theorem 2 for ``K = 2``; its K-draft remark.) Decided from the batched optimum:
    ``margin = P* - 1``.

    Parameters
    ----------
    target, drafts, k, device, dtype
        As in :func:`optimal_acceptance`.
    tolerance : float, optional
        ``holds`` when ``margin >= -tolerance``. Default: ``max(1e-12, agreement_tolerance(n, K))`` (the NumPy
        side's ``1e-12``, widened to the stated rounding bound at large n).

    Returns
    -------
    BatchedAcceptanceOne

    Examples
    --------
    >>> r = acceptance_one(target=[[0.5, 0.5], [0.9, 0.1]], drafts=[[0.5, 0.5], [0.1, 0.9]], k=2, device="cpu")
    >>> r.holds.tolist(), r.witness_size.tolist()
    ([True, False], [0, 1])
    """
    torch = require_torch()
    batch = _identical_batch(target, drafts, k, device, dtype)
    value, cut_size, threshold, _ = _optimum(batch)
    tol = max(1e-12, agreement_tolerance(batch.n, batch.k, batch.dtype)) if tolerance is None else float(tolerance)
    margin = torch.clamp(value - 1.0, max=0.0)
    holds = margin >= -tol
    return BatchedAcceptanceOne(holds, margin, cut_size, threshold, tol)
