"""Batched acceptance of the baseline schemes (docs/theory.md §4–§5), under the names of :func:`lpspec.compare_schemes`.

==================  ==============================================================  ========================
name                batched value, per row                                           drafts
==================  ==============================================================  ========================
``optimal``         ``P*`` (:func:`lpspec.batched.optimal_acceptance`)                 identical
``single_draft``    ``Σ min(q, p_1)``                                                 any
``specinfer``       ``1 - Π_i (1 - α_i)``, recursive rejection sampling (K steps)     any (independent)
``spectr``          ``1 - (1 - b(ρ*))^K``, K-SEQ with ``ρ*`` by bisection              identical
``naive``           ``Σ q (1 - Π_k (1 - p_k))``                                       any
``truncated_is``    ``Σ min(q, p_I)`` of the paper's truncated pairwise LP (``s``)    ``K = 2``
``upper_bound``     ``Σ min(q, 1 - Π_k (1 - p_k))``                                   any
==================  ==============================================================  ========================

**What ``truncated_is`` measures.** The batched value is the *speculative-sampling acceptance*
``Σ_y min(q(y), p_I(y))`` of the truncated LP (how the paper's Table 3 scores it; the NumPy counterpart is
``lpspec.schemes.TruncatedIS(...).sd_acceptance``). :func:`lpspec.compare_schemes` reports the *membership*
acceptance ``Pr[Y ∈ set(X)]`` under the same name, which can be larger (the residual sample may equal the
other draft). That needs the joint law of the two drafts and the residual, ``O(n^2)`` per row: the NumPy side
enumerates the ``n^2`` draft pairs up to ``MAX_SCHEME_TUPLES = 200 000`` (``n <= 447``); at ``n = 128 000``
it would be ``1.6e10`` pairs per row, so the batched backend does not compute it.

The other names are the same quantities as on the NumPy side (SpecTr: K-SEQ's round acceptance, which
equals its membership acceptance at the exact root ``ρ*``, up to the bisection tolerance). Not available in
the batched backend: ``canonical``, ``specinfer_wor``, ``sir``, ``pairwise_is``, ``tournament`` (use
:func:`lpspec.compare_schemes`).
"""

from __future__ import annotations

import itertools
import numbers

from ..core.keywords import DRAFTS, keyword_aliases
from ..core.xp import specinfer_acceptance as specinfer_rounds
from ..registry import (
    BATCHED,
    DEFAULT_TRUNCATION,
    MAX_TRUNCATION,
    NOT_BATCHED,
    RHO_BISECTION_STEPS,
    SCHEME_SPECS,
)
from ._torch import require_torch
from .buckets import RatioBuckets, ratio_buckets
from .inputs import BatchInput, as_batch
from .optimum import DIFFERENT_DRAFTS_MESSAGE, _optimum, optimum_from_buckets, use_direct_sort

__all__ = [
    "BATCHED_SCHEMES",
    "DEFAULT_TRUNCATION",
    "MAX_TRUNCATION",
    "compare_schemes",
    "naive_acceptance",
    "single_draft_acceptance",
    "specinfer_acceptance",
    "spectr_acceptance",
    "truncated_is_acceptance",
    "upper_bound",
]

#: Names computed by :func:`compare_schemes`, in the order of :func:`lpspec.compare_schemes`
#: (:data:`lpspec.registry.BATCHED`; ``DEFAULT_TRUNCATION``, ``MAX_TRUNCATION`` and ``RHO_BISECTION_STEPS``
#: also come from :mod:`lpspec.registry`).
BATCHED_SCHEMES = BATCHED
#: Largest K for which SpecInfer's rounds are run (one (B, n) pass per round; rows whose residual mass is 0
#: stop early).
MAX_SPECINFER_ROUNDS = 100_000

_NOT_BATCHED = NOT_BATCHED


def _rowdot(a, b):
    """``Σ_j a[b, j] b[b, j]`` per row, shape (B,)."""
    torch = require_torch()
    return torch.einsum("bn,bn->b", a, b)


def single_draft_acceptance(batch: BatchInput):
    """``Σ_y min(q(y), p_1(y))``: single-draft speculative sampling on the first draft (Leviathan et al. 2023).

    Returns
    -------
    torch.Tensor, shape (B,)
    """
    torch = require_torch()
    return torch.minimum(batch.target, batch.drafts[0]).sum(dim=1)


def specinfer_acceptance(batch: BatchInput):
    """SpecInfer recursive rejection sampling with replacement (Miao et al. 2024), ``K`` steps.

    ``r_1 = q``; ``m_i = Σ (r_i - p_i)^+`` is the chance that step ``i`` rejects, and
    ``r_{i+1} = (r_i - p_i)^+ / m_i``; the acceptance is ``1 - Π_i m_i`` (docs/theory.md §5, with
    ``1 - α_i = m_i`` as a sum of non-negative terms).

    For identical drafts the residuals stay of the form ``(q - c p)^+``, and the recursion collapses to
    threshold sums: with ``S(c) = Σ (q - c p)^+``, ``c_1 = 0`` and ``c_{i+1} = c_i + S(c_i)``,

    .. math::

        P(\\mathrm{acc}) = 1 - S(c_{K+1})

    (``r_i = (q - c_i p)^+ / S(c_i)`` by induction; the product of the ``m_i = S(c_{i+1}) / S(c_i)``
    telescopes) [derived; checked against the NumPy recursion in the tests].

    Returns
    -------
    torch.Tensor, shape (B,)
    """
    torch = require_torch()
    q = batch.target
    B = q.shape[0]
    if batch.identical:
        p = batch.draft
        buf = torch.empty_like(q)
        c = torch.zeros(B, dtype=q.dtype, device=q.device)
        excess = torch.ones_like(c)  # S(0) = Σ q = 1
        for i in range(batch.k):
            c = c + excess
            torch.mul(p, c.unsqueeze(1), out=buf)
            excess = -buf.sub_(q).clamp_(max=0.0).sum(dim=1)  # Σ (q - c p)^+
            if i % 64 == 63 and not bool((excess > 0).any()):  # S = 0 is a fixed point: every later round too
                break
        return 1.0 - excess
    return specinfer_rounds(q, [batch.drafts[i] for i in range(batch.k)])  # the one formula (lpspec.core.xp)


def _inclusion(batch: BatchInput):
    """``Pr(y ∈ set(X)) = 1 - Π_k (1 - p_k(y)) = -expm1(Σ_k log1p(-p_k(y)))``, shape (B, n)."""
    torch = require_torch()
    if batch.identical:  # in place on one copy: a (B, n) allocation costs as much as a pass on CPU
        return batch.draft.clamp(0.0, 1.0).neg_().log1p_().mul_(batch.k).expm1_().neg_()
    acc = batch.drafts[0].neg().log1p_()
    buf = torch.empty_like(acc)
    for i in range(1, batch.k):
        torch.neg(batch.drafts[i], out=buf)
        acc.add_(buf.log1p_())
    return acc.expm1_().neg_()


def naive_acceptance(batch: BatchInput, inclusion=None):
    """Naive sampling (ignore the drafts): ``Σ_y q(y) (1 - Π_k (1 - p_k(y)))``, shape (B,)."""
    inc = _inclusion(batch) if inclusion is None else inclusion
    return _rowdot(batch.target, inc)


def upper_bound(batch: BatchInput, inclusion=None):
    """SpecTr's bound ``P* <= Σ_y min(q(y), 1 - Π_k (1 - p_k(y)))``, shape (B,)."""
    torch = require_torch()
    inc = _inclusion(batch) if inclusion is None else inclusion
    return torch.minimum(batch.target, inc).sum(dim=1)


def spectr_acceptance(batch: BatchInput, buckets: RatioBuckets | None = None):
    """SpecTr K-SEQ (Sun et al. 2023) for K identical drafts: ``1 - (1 - b(ρ*))^K``, and ``ρ*``.

    ``b(ρ) = Σ min(p, q/ρ)``, ``f(ρ) = 1 - (1 - b(ρ))^K - ρ b(ρ)`` (non-increasing); ``ρ*`` is the smallest
    ``ρ ∈ [1, K]`` with ``f(ρ) <= 0``, by bisection returning the upper end of the bracket (as
    :func:`lpspec.schemes.spectr_rho`). ``b`` is a threshold sum of the ``q/p`` order
    (``b(ρ) = Σ_{q/p < ρ} q/ρ + Σ_{q/p >= ρ} p``), so ``f`` is evaluated exactly at every bucket edge of
    :mod:`lpspec.batched.buckets`; the tokens of the one bucket that brackets the root are sorted (per row),
    ``f`` is evaluated at their ratios, and the bisection runs on the closed form of the one piece
    ``b(ρ) = A/ρ + P`` that holds the root — on (B,) scalars, not on all ``n`` tokens.

    Parameters
    ----------
    batch : BatchInput
        Identical drafts.
    buckets : RatioBuckets, optional
        Built with ``upper = K`` (reused from the optimum when given).

    Returns
    -------
    acceptance, rho : torch.Tensor, shape (B,) each
    """
    torch = require_torch()
    if not batch.identical:
        raise ValueError("SpecTr K-SEQ is defined for K identical drafts (drafts of shape (B, n) with k=K).")
    K = batch.k
    q = batch.target
    B = q.shape[0]
    one = torch.ones(B, dtype=q.dtype, device=q.device)
    if K == 1:  # f(1) = 0: ρ* = 1, acceptance Σ min(p, q)
        return torch.minimum(q, batch.draft).sum(dim=1), one
    if buckets is None and use_direct_sort(batch.n, K):
        return _spectr_direct(batch)
    rb = ratio_buckets(batch.target, batch.draft, upper=float(K)) if buckets is None else buckets
    m1 = int(rb.bucket_of(torch.tensor([1.0], dtype=q.dtype)).item())  # 1.0 is an edge
    top = rb.top
    ms = torch.arange(m1, top, device=q.device)
    e = rb.edges[m1:top].unsqueeze(0)
    bq, bp, ap = (t[:, m1:top].contiguous() for t in (rb.below_q, rb.below_p, rb.above_p))
    b_e = bq / e + ap
    c_e = (bp - bq / e).clamp(min=0.0)
    f_e = -torch.expm1(K * torch.log(c_e)) - e * b_e
    at_one = f_e[:, 0] <= 0
    nonpos = f_e[:, 1:] <= 0
    has = nonpos.any(dim=1)
    first = torch.argmax(nonpos.to(torch.int8), dim=1) + 1  # first edge index (offset from m1) with f <= 0
    # bracket bucket j (absolute index) and its ends
    j = torch.where(has, ms[0] + first - 1, torch.full_like(first, top - 1))
    lo = rb.edges[j]
    hi = torch.where(has, rb.edges[(j + 1).clamp(max=top)], torch.full_like(lo, float(K)))
    lo = torch.where(at_one, one, lo)
    hi = torch.where(at_one, one, hi)
    selected = torch.zeros_like(rb.hq, dtype=torch.bool)
    selected.scatter_(1, j.unsqueeze(1), ~at_one.unsqueeze(1))
    mem = rb.members(selected, sort=True)
    Bq = torch.gather(rb.below_q, 1, j.unsqueeze(1))
    Bp = torch.gather(rb.below_p, 1, j.unsqueeze(1))
    Ap = torch.gather(rb.above_p, 1, (j + 1).unsqueeze(1))
    return _spectr_bracket(K, mem.ratio, mem.q, mem.p, mem.valid(), Bq, Bp, Ap, lo, hi, at_one, c_e[:, 0])


def _spectr_direct(batch: BatchInput):
    """:func:`spectr_acceptance` for short rows: every token of the row sorted by ``q/p`` (memory ``O(B n)``),
    then the same bracketing and closed-form bisection as the bucket path (one bracket: ``[1, K]``)."""
    torch = require_torch()
    q, p, K = batch.target, batch.draft, batch.k
    B = q.shape[0]
    inf = torch.tensor(float("inf"), dtype=q.dtype, device=q.device)
    ratio = torch.nan_to_num(torch.where(p > 0, q / torch.where(p > 0, p, torch.ones_like(p)), inf),
                             nan=float("inf"))
    r, order = torch.sort(ratio, dim=1, stable=True)
    qs, ps = torch.gather(q, 1, order), torch.gather(p, 1, order)
    b1 = torch.minimum(p, q).sum(dim=1)  # b(1)
    c1 = (p - q).clamp(min=0.0).sum(dim=1)  # 1 - b(1), a sum of non-negative terms
    at_one = (-torch.expm1(K * torch.log(c1)) - b1) <= 0
    one = torch.ones(B, dtype=q.dtype, device=q.device)
    zero = torch.zeros((B, 1), dtype=q.dtype, device=q.device)
    valid = torch.ones_like(r, dtype=torch.bool)
    return _spectr_bracket(K, r, qs, ps, valid, zero, zero, zero, one, torch.full_like(one, float(K)), at_one, c1)


def _spectr_bracket(K, r, mq, mp, valid, Bq, Bp, Ap, lo, hi, at_one, c_one):
    """The root of ``f`` inside one bracket of sorted member ratios ``r`` (B, C): ``Bq``/``Bp`` the sums of q/p
    below the bracket, ``Ap`` the p-mass above it, ``[lo, hi]`` its ends; ``c_one = 1 - b(1)`` for the rows
    with ``ρ* = 1`` (``at_one``). Returns ``(acceptance, rho)``."""
    torch = require_torch()
    one = torch.ones_like(lo)
    # inside the bracket, b is A/ρ + P_above between consecutive member ratios: with CQ, CP the sums over the
    # members before index i, the constants of the piece ending at member i are
    zero = torch.zeros_like(Bq)
    CQ = torch.cat([zero, torch.cumsum(mq, dim=1)], dim=1)
    CP = torch.cat([zero, torch.cumsum(mp, dim=1)], dim=1)
    A = Bq + CQ  # q-mass with ratio below the piece (contributes q/ρ)
    P_below = Bp + CP
    P_above = Ap + (CP[:, -1:] - CP)  # p-mass with ratio at or above the piece (contributes p)

    def f_of(rho, a, pa, pb):
        b = a / rho + pa
        c = (pb - a / rho).clamp(min=0.0)
        return -torch.expm1(K * torch.log(c)) - rho * b, c

    f_r, _ = f_of(r, A[:, :-1], P_above[:, :-1], P_below[:, :-1])  # f at each member ratio
    inside = valid & (r < hi.unsqueeze(1))
    hit = inside & (f_r <= 0)
    found = hit.any(dim=1)
    idx = torch.where(found, torch.argmax(hit.to(torch.int8), dim=1), inside.sum(dim=1))
    ar = idx.unsqueeze(1)
    prev = torch.gather(r, 1, (ar - 1).clamp(min=0)).squeeze(1)
    lo = torch.where(idx > 0, torch.maximum(prev, lo), lo)
    hi = torch.where(found, torch.gather(r, 1, ar.clamp(max=r.shape[1] - 1)).squeeze(1), hi)
    a, pa, pb = (torch.gather(t, 1, ar).squeeze(1) for t in (A, P_above, P_below))
    lo = torch.where(at_one, one, lo)
    hi = torch.where(at_one, one, hi)
    for _ in range(RHO_BISECTION_STEPS):  # on (B,) scalars: the piece's closed form
        mid = (lo + hi) / 2
        active = (lo < mid) & (mid < hi)
        if not bool(active.any()):
            break
        down = f_of(mid, a, pa, pb)[0] <= 0
        hi = torch.where(active & down, mid, hi)
        lo = torch.where(active & ~down, mid, lo)
    rho = hi
    _, c = f_of(rho, a, pa, pb)
    c = torch.where(at_one, c_one, c)  # rows with ρ* = 1: c(1)
    return -torch.expm1(K * torch.log(c)), rho


def _check_truncation(s) -> int:
    if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
        raise ValueError(f"s={s!r} must be a positive integer (the number of tokens kept in the LP).")
    if s > MAX_TRUNCATION:
        raise ValueError(
            f"s={s} is above {MAX_TRUNCATION}: the batched truncated LP enumerates the 2^s cuts of each row. Use "
            "lpspec.schemes.TruncatedIS per position (NumPy LP) for larger s."
        )
    return int(s)


def _mass_ranked_below(sorted_p):
    """``Σ_{j > i} sorted_p[:, j]`` for every position ``i`` (in place on one cumsum), shape (B, n)."""
    total = sorted_p.sum(dim=1, keepdim=True)
    torch = require_torch()
    return torch.cumsum(sorted_p, dim=1).neg_().add_(total).clamp_(min=0.0)


def truncated_is_acceptance(batch: BatchInput, s: int = DEFAULT_TRUNCATION):
    """The paper's truncated pairwise IS for ``K = 2`` (Algorithm 1), scored by ``Σ_y min(q(y), p_I(y))``.

    Rank the tokens by ``q(i) - p_1(i) p_2(i)`` descending, ties to the lower index (one full sort per row);
    ``Ω_1`` = the top ``s``. A pair with a token outside ``Ω_1`` selects its better-ranked token, so for
    ``k ∉ Ω_1``, with ``W_k`` the tokens ranked below ``k`` (prefix sums of the sorted row),

    .. math::

        p_I(k) = p_1(k) p_2(k) + p_1(k)\\, p_2(W_k) + p_2(k)\\, p_1(W_k).

    Inside ``Ω_1`` each unordered pair ``{i, j}`` brings the mass ``m_ij = p_1(i)p_2(j) + p_1(j)p_2(i)``,
    which the ``s(s-1)`` LP weights split freely between ``i`` and ``j``; on top of the fixed part
    ``b_k = p_1(k)p_2(k) + p_1(k) p_2(Ω_2) + p_2(k) p_1(Ω_2)``. The LP optimum is therefore
    ``Σ_{Ω_1} min(q_k, b_k)`` plus a max-flow from the pairs to the tokens (capacities
    ``(q_k - b_k)^+``), whose min-cut over ``A ⊆ Ω_1`` is

    .. math::

        \\min_{A \\subseteq \\Omega_1} \\; \\sum_{k \\in A} (q_k - b_k)^+ + M(\\Omega_1) - M(A), \\qquad
        M(A) = p_1(A) p_2(A) - \\sum_{k \\in A} p_1(k) p_2(k),

    evaluated exactly over the ``2^s`` sets (``s <=`` :data:`MAX_TRUNCATION`) [derived; checked against the
    NumPy LP, ``TruncatedIS(...).sd_acceptance``, in the tests]. The membership acceptance is not computed:
    see the module docstring.

    Returns
    -------
    torch.Tensor, shape (B,)
    """
    torch = require_torch()
    if batch.k != 2:
        raise ValueError(
            f"the truncated pairwise LP is for K = 2 drafts (got K = {batch.k}); the tournament for K > 2 is "
            "only in the NumPy backend (lpspec.compare_schemes)."
        )
    s = min(_check_truncation(s), batch.n)
    q = batch.target
    p1, p2 = batch.drafts[0], batch.drafts[1]
    # in place wherever possible: on CPU a fresh (B, n) tensor costs about as much as a pass over it
    key = torch.mul(p1, p2).neg_().add_(q)  # q - p1 p2, bitwise the NumPy key
    order = torch.sort(key, dim=1, descending=True, stable=True).indices
    del key
    qs = torch.gather(q, 1, order)
    p1s = torch.gather(p1, 1, order)
    p2s = p1s if batch.identical else torch.gather(p2, 1, order)
    del order
    w1 = _mass_ranked_below(p1s)
    w2 = w1 if batch.identical else _mass_ranked_below(p2s)
    # Ω_1 = the first s positions: keep copies of the small slices
    W1, W2 = w1[:, s - 1 : s].clone(), w2[:, s - 1 : s].clone()  # p_1(Ω_2), p_2(Ω_2)
    a1, a2, aq = p1s[:, :s].clone(), p2s[:, :s].clone(), qs[:, :s].clone()
    ad = a1 * a2
    pI = torch.mul(p1s, p2s).addcmul_(p1s, w2).addcmul_(p2s, w1)  # p_I on Ω_2 (position >= s)
    del w1, w2
    rest = torch.minimum(qs, pI, out=pI)[:, s:].sum(dim=1)
    # Ω_1: the fixed part b_k and the exact LP over the free pairs, through its 2^s cuts
    base = ad + a1 * W2 + a2 * W1
    cap = (aq - base).clamp(min=0.0)
    masks = torch.tensor(list(itertools.product((0.0, 1.0), repeat=s)), dtype=q.dtype, device=q.device).T
    pair_mass = (a1 @ masks) * (a2 @ masks) - ad @ masks  # M(A), shape (B, 2^s)
    total_pairs = pair_mass[:, -1:]  # A = Ω_1 (the all-ones mask is last)
    cut = cap @ masks + (total_pairs - pair_mass).clamp(min=0.0)
    flow = cut.min(dim=1).values
    return rest + torch.minimum(aq, base).sum(dim=1) + flow


# ------------------------------------------------------------ the registered batched backends (lpspec.registry)
def identical_drafts_only(batch: BatchInput) -> str | None:
    """Applicability of the batched optimum: identical drafts (None when it applies)."""
    return None if batch.identical else DIFFERENT_DRAFTS_MESSAGE


def identical_drafts_for_spectr(batch: BatchInput) -> str | None:
    """Applicability of SpecTr K-SEQ: identical drafts."""
    if batch.identical:
        return None
    return "SpecTr K-SEQ is defined for K identical drafts (drafts of shape (B, n) with k=K)."


def specinfer_rounds_fit(batch: BatchInput) -> str | None:
    """Applicability of SpecInfer's rounds: ``K <=`` :data:`MAX_SPECINFER_ROUNDS`."""
    if batch.k <= MAX_SPECINFER_ROUNDS:
        return None
    return (f"SpecInfer runs its K rounds one by one (one pass over the batch each); K={batch.k:,} is more than "
            f"{MAX_SPECINFER_ROUNDS:,}.")


def two_drafts_only(batch: BatchInput) -> str | None:
    """Applicability of the truncated pairwise LP: ``K = 2``."""
    if batch.k == 2:
        return None
    return (f"the truncated pairwise LP is for K = 2 drafts (got K = {batch.k}), and the tournament for K > 2 is "
            "only in lpspec.compare_schemes.")


class Shared:
    """What several batched backends reuse on one batch, computed on first use: ``s`` (``truncated_is``), the
    ratio buckets (``optimal``, ``spectr``; None when rows are short enough for a direct sort) and the
    inclusion probabilities (``naive``, ``upper_bound``)."""

    def __init__(self, batch: BatchInput, s: int = DEFAULT_TRUNCATION):
        self.batch, self.s = batch, s
        self._buckets, self._inclusion = False, None

    @property
    def buckets(self):
        if self._buckets is False:
            b = self.batch
            self._buckets = None if use_direct_sort(b.n, b.k) else ratio_buckets(b.target, b.draft, upper=float(b.k))
        return self._buckets

    @property
    def inclusion(self):
        if self._inclusion is None:
            self._inclusion = _inclusion(self.batch)
        return self._inclusion


def batched_optimal(batch: BatchInput, shared: Shared):
    """``P*`` per row (the batched optimum), shape (B,)."""
    rb = shared.buckets
    return optimum_from_buckets(rb, batch.k)[0] if rb is not None else _optimum(batch)[0]


def batched_single_draft(batch: BatchInput, shared: Shared):
    """:func:`single_draft_acceptance` under the registry's signature."""
    return single_draft_acceptance(batch)


def batched_specinfer(batch: BatchInput, shared: Shared):
    """:func:`specinfer_acceptance` under the registry's signature."""
    return specinfer_acceptance(batch)


def batched_spectr(batch: BatchInput, shared: Shared):
    """:func:`spectr_acceptance`'s acceptance, reusing the shared buckets."""
    return spectr_acceptance(batch, shared.buckets)[0]


def batched_naive(batch: BatchInput, shared: Shared):
    """:func:`naive_acceptance`, reusing the shared inclusion probabilities."""
    return naive_acceptance(batch, shared.inclusion)


def batched_truncated_is(batch: BatchInput, shared: Shared):
    """:func:`truncated_is_acceptance` with the shared ``s``."""
    return truncated_is_acceptance(batch, shared.s)


def batched_upper_bound(batch: BatchInput, shared: Shared):
    """:func:`upper_bound`, reusing the shared inclusion probabilities."""
    return upper_bound(batch, shared.inclusion)


def _applicability(batch: BatchInput) -> dict:
    """``{name: None or the reason it does not apply}`` for every batched entry of the registry."""
    return {name: (SCHEME_SPECS[name].load("applies")(batch) if SCHEME_SPECS[name].has("applies") else None)
            for name in BATCHED_SCHEMES}


@keyword_aliases(refused=DRAFTS)
def compare_schemes(*, target, drafts, k: int | None = None, s: int = DEFAULT_TRUNCATION, schemes=None,
                    device=None, dtype=None) -> dict:
    """Acceptance of every applicable scheme for a batch of positions, as (B,) tensors by scheme name.

    .. math::

        P(\\mathrm{acc}) \\le P^* \\le \\sum_y \\min\\big(q(y), 1 - \\textstyle\\prod_k (1 - p_k(y))\\big)

    The names and formulas are in the module docstring (docs/theory.md §4–§5): ``optimal``, ``single_draft``,
    ``specinfer``, ``spectr``, ``naive``, ``truncated_is`` (``K = 2``; scored by ``Σ min(q, p_I)``) and
    ``upper_bound``. Different drafts ((K, B, n)) get ``single_draft`` (on ``p_1``), ``specinfer``,
    ``naive``, ``truncated_is`` (``K = 2``) and ``upper_bound``.

    Parameters
    ----------
    target, drafts, k, device, dtype
        As in :func:`lpspec.batched.optimal_acceptance`; (K, B, n) drafts allowed.
    s : int, default 5
        ``truncated_is``'s parameter (``<= 16``).
    schemes : sequence of str, optional
        Only these names; each must apply (otherwise ``ValueError`` with the reason). By default every name
        that applies is computed and the others are listed with the reason in ``.not_computed`` — the same
        decision as :func:`lpspec.compare_schemes`.

    Returns
    -------
    lpspec.schemes.compare.Comparison
        A dict ``{name: torch.Tensor of shape (B,)}`` with ``.not_computed``: ``{name: reason}``; ``details``
        is not included. SpecTr's ``ρ*`` is available from :func:`spectr_acceptance`.

    Examples
    --------
    >>> r = compare_schemes(target=[[1/3, 1/9, 5/9]], drafts=[[1/3, 1/3, 1/3]], k=2, device="cpu")
    >>> {name: round(v.item(), 9) for name, v in r.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'optimal': 1.0, 'single_draft': 0.777777778, 'specinfer': 0.851851852, 'spectr': 0.888888889,
     'naive': 0.555555556, 'truncated_is': 1.0, 'upper_bound': 1.0}
    """
    batch = as_batch(target=target, drafts=drafts, k=k, device=device, dtype=dtype)
    why = _applicability(batch)
    if schemes is None:
        names = [name for name in BATCHED_SCHEMES if why[name] is None]
    else:
        names = [schemes] if isinstance(schemes, str) else list(schemes)
        for name in names:
            if name in _NOT_BATCHED:
                raise ValueError(f"schemes: {name!r} is not in the batched backend; use lpspec.compare_schemes "
                                 "per position (small n).")
            if name not in BATCHED_SCHEMES:
                raise ValueError(f"schemes: {name!r} is not a scheme name; choose from {', '.join(BATCHED_SCHEMES)}.")
            if why[name] is not None:
                raise ValueError(f"schemes: {name!r} does not apply: {why[name]}")
        names = [name for name in BATCHED_SCHEMES if name in names]
    from ..schemes.compare import (
        Comparison,  # the result type of lpspec.compare_schemes (imported when called)
    )

    left_out = {name: ("not requested" if why[name] is None else f"does not apply: {why[name]}")
                for name in BATCHED_SCHEMES if name not in names}
    return Comparison(_evaluate(batch, names, s), left_out)


def _evaluate(batch: BatchInput, names, s: int) -> dict:
    """The requested acceptances on a validated batch, in the order of ``names`` (registry dispatch)."""
    shared = Shared(batch, s)
    return {name: SCHEME_SPECS[name].load("batched")(batch, shared) for name in names}
