"""The rank-space optimal verifier (docs/theory.md §9) for a batch of positions, on torch (GPU when present).

Per row (one position: target ``q``, draft ``p``, ``K`` identical drafts) the construction is that of
:func:`lpspec.optimal_verifier`:

1. **One sort per row** of ``q/p`` (``torch.sort``, stable; tokens with ``p = 0`` last), the sorted-prefix optimum
   ``P* = min_j Q_j + 1 - P_j^K`` (``1 - P^K`` as ``-expm1(K log1p(-tail))``) and its cut ``S*`` = the first ``j*``.
2. **Home placement, vectorised over the batch.** ``T`` tokens by ``q/p`` descending from rank 0, ``S*`` tokens
   by ``q/p`` ascending from rank 1 down: pure prefix sums (suffix sums over the sorted row), the boundary
   between the sides pinned to ``c = p(T)`` (``1`` when ``S*`` is empty, ``0`` when ``T`` is), so that the
   pieces partition ``[0, 1]`` exactly. A row is *non-sliding* when every home window already satisfies its
   side's inequality (``M <= q`` on ``T``, ``M >= q`` on ``S*``, the last token of each side excepted: it
   takes the rest); then the greedy of docs/theory.md §9 places every window at its home end and the row is
   done.
3. **Rows where a window must slide** keep the batch's order and cut (the same as the NumPy verifier's: the
   exact ratio order of :func:`lpspec.solvers.closed_forms.ratio_order`, re-sorted by it for rows with overflowing,
   subnormal or tied-but-different ratios, and the ``P* = 1`` tie rule of :func:`lpspec.verifier.rank.one_tolerance`)
   and run the greedy placement of :mod:`lpspec.verifier.rank` on the CPU, one row after another; the ``S*`` side's
   loop is compiled when numba is installed (:mod:`lpspec.verifier.kernel`), so a row costs its compiled
   placement, not the Python one. Their pieces are copied back into the padded batch arrays in one assignment.

Realised masses ``p_I = M(R_y)``, ``α = min(1, q/p_I)`` and the residual are computed on the batch from the
pieces. Agreement with the NumPy construction, per row: every mass within the NumPy verifier's stated bound
``(K + 2)(2n + 8P) u`` (:meth:`lpspec.OptimalVerifier.error_bounds`), checked by the tests.

``plan="layered"`` builds instead the weighted layered plan of :mod:`lpspec.verifier.layered` on the whole batch
with torch ops only (:mod:`lpspec.batched.layered`, no row-by-row path); per row it is the plan of
``lpspec.optimal_verifier(..., plan="layered")`` (same ``P*`` and output law, other selections).

The sampler (:meth:`BatchedVerifier.sample`) takes ``(B, N, K)`` draft tuples and returns ``(B, N)`` outputs
and acceptance flags: one uniform rank per draft inside its token's pieces, the smallest wins, one
speculative-sampling step, the residual drawn by ``torch.searchsorted`` on its cumulative sums.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.keywords import DRAFTS, keyword_aliases
from ..core.results import require
from ._torch import checked_tuples, require_torch
from .inputs import as_batch
from .optimum import one_minus_power

__all__ = ["BatchedVerifier", "optimal_verifier", "batched_rank_mass"]

_U = 2.0**-53


def batched_rank_mass(start, end, k: int):
    """``M([u, v]) = (1 - u)^K - (1 - v)^K`` elementwise on tensors, without cancellation.

    Examples
    --------
    >>> import torch
    >>> batched_rank_mass(torch.tensor([0.0]), torch.tensor([0.5]), 2).tolist()
    [0.75]
    """
    torch = require_torch()
    a = 1.0 - start
    length = (end - start).clamp(min=0.0)
    safe = torch.where(a > 0, a, torch.ones_like(a))
    ratio = (length / safe).clamp(max=1.0)
    out = a**k * -torch.expm1(k * torch.log1p(-ratio))
    return torch.where(a > 0, out, torch.zeros_like(out))


@dataclass(eq=False)
class BatchedVerifier:
    """The rank-space optimal verifier of every row of a batch (module docstring).

    Attributes
    ----------
    value : torch.Tensor, shape (B,)
        ``P*`` per row.
    cut_size : torch.Tensor of int64, shape (B,)
        ``|S*|`` (the first ``cut_size`` tokens of the row's ``q/p`` order).
    slid : torch.Tensor of bool, shape (B,)
        Rows where a window slid (placed by the greedy of :mod:`lpspec.verifier.rank`, row after row).
    slides_t, slides_s : torch.Tensor of int64, shape (B,)
        Windows slid on each side (0 on non-sliding rows).
    selection_law, accept_prob, residual : torch.Tensor, shape (B, n)
        ``p_I = M(R_y)``, ``min(1, q/p_I)``, ``(q - p_I)^+ / Σ (q - p_I)^+`` (``q`` where nothing is rejected).
    rejection_mass, acceptance : torch.Tensor, shape (B,)
        ``Σ (q - p_I)^+`` and ``Σ min(q, p_I)``.
    piece_start, piece_end : torch.Tensor, shape (B, P)
        The pieces sorted by start, padded at the end with ``1.0``; ``num_pieces`` (B,) holds the counts.
    piece_owner : torch.Tensor of int64, shape (B, P)
        Their tokens (``-1`` in the padding).
    k : int
    """

    value: object
    cut_size: object
    slid: object
    slides_t: object
    slides_s: object
    piece_start: object = field(repr=False)
    piece_end: object = field(repr=False)
    piece_owner: object = field(repr=False)
    num_pieces: object = field(repr=False)
    target: object = field(repr=False)
    draft: object = field(repr=False)
    k: int = 1

    def __post_init__(self):
        torch = require_torch()
        B, n = self.target.shape
        P = self.piece_start.shape[1]
        valid = self.piece_owner >= 0
        owner = torch.where(valid, self.piece_owner, torch.zeros_like(self.piece_owner))
        mass = torch.where(valid, batched_rank_mass(self.piece_start, self.piece_end, self.k),
                           torch.zeros_like(self.piece_start))
        self.selection_law = torch.zeros_like(self.target).scatter_add_(1, owner, mass)
        q, pI = self.target, self.selection_law
        self.accept_prob = torch.where(pI > 0, torch.minimum(torch.ones_like(q), q / torch.where(pI > 0, pI, 1.0)),
                                       torch.ones_like(q))
        excess = (q - pI).clamp(min=0.0)
        self.rejection_mass = excess.sum(dim=1)
        tot = self.rejection_mass.unsqueeze(1)
        self.residual = torch.where(tot > 0, excess / torch.where(tot > 0, tot, 1.0), q)
        self.acceptance = torch.minimum(q, pI).sum(dim=1)
        # pieces grouped by owner (stable sort of the owner key), for sampling
        key = torch.where(valid, owner, torch.full_like(owner, n))
        by = torch.sort(key, dim=1, stable=True).indices
        self._own_start = torch.gather(self.piece_start, 1, by)
        self._own_len = torch.gather((self.piece_end - self.piece_start).clamp(min=0.0), 1, by)
        self._count = torch.zeros((B, n + 1), dtype=torch.int64, device=q.device).scatter_add_(
            1, key, torch.ones_like(key))[:, :n]
        self._first = torch.cumsum(self._count, dim=1) - self._count
        lengths = torch.where(valid, (self.piece_end - self.piece_start).clamp(min=0.0), torch.zeros_like(mass))
        self.rank_length = torch.zeros_like(q).scatter_add_(1, owner, lengths)
        self._P = P

    def __repr__(self) -> str:
        return (f"BatchedVerifier(B={self.target.shape[0]}, n={self.target.shape[1]}, K={self.k}, "
                f"sliding rows={int(self.slid.sum())})")

    def error_bounds(self):
        """Per row: ``(length bound, mass bound) = ((2n + 8P) u, (K + 2)(2n + 8P) u)`` (as NumPy's)."""
        n = self.target.shape[1]
        base = (2 * n + 8 * self.num_pieces.to(self.target.dtype)) * _U
        return base, (self.k + 2) * base

    def check(self) -> dict:
        """Per-row checks of :meth:`lpspec.OptimalVerifier.check` (partition, ``|R_y| = p``, optimality sides,
        ``Σ min(q, p_I) = P*``, residual mass ``1 - P*``, output ``= q``) as (B,) tensors, with ``passed``;
        ``AssertionError`` when a row fails."""
        torch = require_torch()
        s, e = self.piece_start, self.piece_end
        ar = torch.arange(s.shape[1], device=s.device).unsqueeze(0)
        inside = ar < self.num_pieces.unsqueeze(1)
        adjacent = torch.where(inside[:, 1:], e[:, :-1] == s[:, 1:], torch.ones_like(inside[:, 1:]))
        last = torch.gather(e, 1, (self.num_pieces - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
        partition = adjacent.all(dim=1) & (s[:, 0] == 0.0) & (last == 1.0)
        length_bound, mass_bound = self.error_bounds()
        q, p, pI = self.target, self.draft, self.selection_law
        length_err = (self.rank_length - p).abs().amax(dim=1)
        ratio = torch.where(p > 0, q / torch.where(p > 0, p, 1.0), torch.full_like(q, float("inf")))
        rank = torch.argsort(torch.argsort(ratio, dim=1, stable=True), dim=1)
        in_s = rank < self.cut_size.unsqueeze(1)
        side = torch.where(in_s, (q - pI).clamp(min=0.0), (pI - q).clamp(min=0.0)).amax(dim=1)
        value_err = (self.acceptance - self.value).abs()
        resid_err = (self.rejection_mass - (1.0 - self.value)).abs()
        sum_err = (pI.sum(dim=1) - 1.0).abs()
        out = torch.minimum(q, pI) + self.rejection_mass.unsqueeze(1) * self.residual
        out_err = (out - q).abs().amax(dim=1)
        worst = torch.stack([side, value_err, resid_err, sum_err, out_err]).amax(dim=0)
        passed = partition & (length_err <= length_bound) & (worst <= mass_bound)
        report = {"partition": partition, "length_error": length_err, "side_error": side,
                  "value_error": value_err, "residual_error": resid_err, "sum_error": sum_err,
                  "output_error": out_err, "length_bound": length_bound, "mass_bound": mass_bound,
                  "passed": passed}
        require(bool(passed.all()), f"rows {torch.nonzero(~passed).flatten().tolist()[:10]} fail the verifier check")
        return report

    def sample(self, tuples, generator=None):
        """Run the verifier on draft tuples of shape ``(B, N, K)`` (row ``b``'s tuples for position ``b``).

        Returns
        -------
        output : torch.Tensor of int64, shape (B, N)
        accepted : torch.Tensor of bool, shape (B, N)
        """
        torch = require_torch()
        x = checked_tuples(tuples, self.draft, self.k)
        B, n = self.target.shape
        N = x.shape[1]
        flat = x.reshape(B, N * self.k)
        dt = self.target.dtype
        u = torch.rand(flat.shape, generator=generator, dtype=dt, device=x.device)
        v = u * torch.gather(self.rank_length, 1, flat)
        idx = torch.gather(self._first, 1, flat)
        last = idx + torch.gather(self._count, 1, flat) - 1
        while True:
            plen = torch.gather(self._own_len, 1, idx)
            move = (v > plen) & (idx < last)
            if not bool(move.any()):
                break
            v = torch.where(move, v - plen, v)
            idx = torch.where(move, idx + 1, idx)
        plen = torch.gather(self._own_len, 1, idx)
        rank = torch.gather(self._own_start, 1, idx) + torch.minimum(v.clamp(min=0.0), plen)
        win_pos = rank.reshape(B, N, self.k).argmin(dim=2, keepdim=True)
        win = torch.gather(x, 2, win_pos).squeeze(2)
        accepted = torch.rand((B, N), generator=generator, dtype=dt, device=x.device) < torch.gather(
            self.accept_prob, 1, win)
        cdf = torch.cumsum(self.residual, dim=1)
        r = torch.rand((B, N), generator=generator, dtype=dt, device=x.device) * cdf[:, -1:]
        resid = torch.searchsorted(cdf, r, right=True).clamp(max=n - 1)
        return torch.where(accepted, win, resid), accepted


def _ratio_order(q, p):
    """Per row, the order of :func:`lpspec.solvers.closed_forms.ratio_order` (``q/p`` ascending in exact arithmetic of
    the floats, ties to the lower index) followed by the tokens with ``p = 0`` in index order, shape (B, n).

    One stable ``torch.sort`` of the rounded ratios; rows where that order may differ from the exact one (a ratio
    that overflows or is subnormal, or equal rounded ratios of different ``(q, p)`` pairs) are re-sorted by the
    NumPy function, so that every row has the NumPy verifier's order.
    """
    torch = require_torch()
    B, n = q.shape
    pos = p > 0
    ratio = torch.where(pos, q / torch.where(pos, p, torch.ones_like(p)), torch.full_like(q, float("inf")))
    order = torch.sort(ratio, dim=1, stable=True).indices
    tiny = torch.finfo(q.dtype).tiny
    hard = (pos & (torch.isinf(ratio) | ((ratio < tiny) & (q > 0)))).any(dim=1)
    if n > 1:
        rs = torch.gather(ratio, 1, order)
        qs, ps = torch.gather(q, 1, order), torch.gather(p, 1, order)
        tie = (rs[:, 1:] == rs[:, :-1]) & ((qs[:, 1:] != qs[:, :-1]) | (ps[:, 1:] != ps[:, :-1]))
        hard |= (tie & torch.isfinite(rs[:, 1:])).any(dim=1)
    rows = torch.nonzero(hard).flatten().tolist()
    if rows:
        from ..solvers.closed_forms import ratio_order

        qn, pn = q[rows].cpu().numpy(), p[rows].cpu().numpy()
        for i, b in enumerate(rows):
            sup = ratio_order(qn[i], pn[i])
            full = np.concatenate([sup, np.flatnonzero(~(pn[i] > 0))])
            order[b] = torch.from_numpy(full).to(order.device)
    return order


def _order_and_cut(q, p, k: int):
    """Per row: the ratio order (:func:`_ratio_order`), the sorted ``q``, ``p``, the support size, ``P*`` and the
    cut size (the first prefix attaining the minimum; the full support when ``P* = 1`` within
    :func:`lpspec.verifier.rank.one_tolerance`, the tie rule of the NumPy verifier), and the suffix sums of ``p``."""
    torch = require_torch()
    B, n = q.shape
    order = _ratio_order(q, p)
    qs, ps = torch.gather(q, 1, order), torch.gather(p, 1, order)
    support = p.gt(0).sum(dim=1)  # m per row
    zero = torch.zeros((B, 1), dtype=q.dtype, device=q.device)
    Q = torch.cat([zero, torch.cumsum(qs, dim=1)], dim=1)  # (B, n + 1)
    suffix = torch.cat([torch.flip(torch.cumsum(torch.flip(ps, [1]), dim=1), [1]), zero], dim=1)  # Σ_{j>=i} p
    values = Q + one_minus_power(suffix, k)
    values = torch.where(torch.arange(n + 1, device=q.device).unsqueeze(0) <= support.unsqueeze(1), values,
                         torch.full_like(values, float("inf")))
    value, cut = values.min(dim=1)
    # the tie rule of lpspec.verifier.rank._float_cut: P* = 1 within one_tolerance(n, K) takes the full cut
    from ..verifier.rank import one_tolerance

    one = value >= 1.0 - one_tolerance(n, k)
    cut = torch.where(one, support, cut)
    value = torch.where(one, torch.ones_like(value), value)
    return order, qs, ps, support, value, cut, suffix


def _home_placement(q, p, k: int):
    """Sort, cut and home placement for every row; returns the pieces, a (B,) mask of rows that slide and the
    (B, n) ratio order."""
    torch = require_torch()
    B, n = q.shape
    order, qs, ps, support, value, cut, suffix = _order_and_cut(q, p, k)
    ar = torch.arange(n, device=q.device).unsqueeze(0)
    in_support = ar < support.unsqueeze(1)
    zero = torch.zeros((B, 1), dtype=q.dtype, device=q.device)
    prefix = torch.cumsum(ps, dim=1)
    c = torch.gather(suffix, 1, cut.unsqueeze(1)).squeeze(1)
    c = torch.where(cut == 0, torch.ones_like(c), torch.where(cut == support, torch.zeros_like(c), c))
    c = c.clamp(0.0, 1.0)
    in_t = (ar >= cut.unsqueeze(1)) & in_support
    in_s = ar < cut.unsqueeze(1)
    # T: descending ratio from 0: token at sorted position i occupies [Σ_{i<j<m} p, Σ_{i<=j<m} p]
    t_start = suffix[:, 1:]
    t_end = suffix[:, :-1]
    t_end = torch.where(ar == cut.unsqueeze(1), c.unsqueeze(1).expand(B, n), t_end)  # the last T token: up to c
    # S*: ascending ratio from 1 down: [1 - Σ_{j<=i} p, 1 - Σ_{j<i} p]; the last S* token starts at c
    s_end = 1.0 - torch.cat([zero, prefix[:, :-1]], dim=1)  # the same floats as the neighbour's start
    s_start = torch.where(ar == (cut - 1).unsqueeze(1), c.unsqueeze(1).expand(B, n), 1.0 - prefix)
    start = torch.where(in_s, s_start, t_start)
    end = torch.where(in_s, s_end, t_end)
    mass = batched_rank_mass(start, end, k)
    is_last = (ar == cut.unsqueeze(1)) | (ar == (cut - 1).unsqueeze(1))
    bad_t = in_t & ~is_last & (mass > qs)
    bad_s = in_s & ~is_last & (mass < qs)
    slid = (bad_t | bad_s).any(dim=1) | (start > end).any(dim=1)
    # pieces sorted by start: the sorted positions in reverse (T by descending ratio, then S* likewise)
    rev = torch.flip(order, [1])
    p_start = torch.flip(start, [1])
    p_end = torch.flip(end, [1])
    valid = torch.flip(in_support, [1])
    # move the padding (p = 0 tokens, first after the flip) to the end, keeping the order of the rest
    perm = torch.argsort((~valid).to(torch.int8), dim=1, stable=True)
    p_start = torch.gather(p_start, 1, perm)
    p_end = torch.gather(p_end, 1, perm)
    owner = torch.gather(rev, 1, perm)
    valid_sorted = ar < support.unsqueeze(1)
    p_start = torch.where(valid_sorted, p_start, torch.ones_like(p_start))
    p_end = torch.where(valid_sorted, p_end, torch.ones_like(p_end))
    owner = torch.where(valid_sorted, owner, torch.full_like(owner, -1))
    return value, cut, slid, p_start, p_end, owner, support, order


@keyword_aliases(refused=DRAFTS)
def optimal_verifier(*, target, drafts, k: int | None = None, device=None, dtype=None, plan: str = "greedy"):
    """The exact optimal verifier of every row of a batch: K identical independent drafts, docs/theory.md §9.

    .. math::

        p_I(y) = M(R_y), \\quad M([u, v]) = (1 - u)^K - (1 - v)^K, \\qquad
        \\sum_y \\min(q(y), p_I(y)) = P^* = \\min_S \\, q(S) + 1 - p(S)^K

    ``plan="greedy"`` (default): rows whose windows never slide are placed by prefix sums on the batch; rows
    where a window slides are placed by the greedy of :mod:`lpspec.verifier.rank` row after row (compiled with
    numba; module docstring). ``plan="layered"``: the weighted layered plan of :mod:`lpspec.verifier.layered`
    on the whole batch with torch ops only, no loop over rows (:mod:`lpspec.batched.layered`); per row the plan
    of ``lpspec.optimal_verifier(..., plan="layered")``.

    Parameters
    ----------
    target, drafts : tensor, array or Logits, shape (B, n)
        ``q`` and the common draft ``p`` per row.
    k : int
    device, dtype
        As in :func:`lpspec.batched.optimal_acceptance` (float64 by default).
    plan : {"greedy", "layered"}

    Returns
    -------
    BatchedVerifier, or :class:`lpspec.batched.layered.BatchedLayeredVerifier` for ``plan="layered"`` (same
    ``value``, ``acceptance``, ``selection_law``, ``check`` and ``sample``; pieces carry weights)

    Examples
    --------
    >>> v = optimal_verifier(target=[[1/3, 0.0, 2/3], [0.5, 0.5, 0.0]], drafts=[[1/3] * 3, [0.5, 0.5, 0.0]], k=2,
    ...                      device="cpu")
    >>> [round(x, 12) for x in v.value.tolist()], [round(x, 12) for x in v.acceptance.tolist()]
    ([0.888888888889, 1.0], [0.888888888889, 1.0])
    >>> bool(v.check()["passed"].all())
    True
    >>> w = optimal_verifier(target=[[1/3, 0.0, 2/3]], drafts=[[1/3] * 3], k=2, device="cpu", plan="layered")
    >>> round(float(w.acceptance[0]), 12), bool(w.check()["passed"].all())
    (0.888888888889, True)
    """
    torch = require_torch()
    if plan not in ("greedy", "layered"):
        raise ValueError(f"plan={plan!r} must be 'greedy' or 'layered'.")
    batch = as_batch(target=target, drafts=drafts, k=k, device=device, dtype=dtype)
    if not batch.identical:
        raise ValueError("lpspec.batched.optimal_verifier needs identical drafts (drafts of shape (B, n) with k=K); "
                         "for different drafts use lpspec.OptimalScheme per position (LP, small n).")
    q, p, K = batch.target, batch.draft, batch.k
    if q.dtype != torch.float64:
        raise ValueError("lpspec.batched.optimal_verifier computes in float64 (its error bounds are stated for it); "
                         "pass dtype=None or torch.float64.")
    B, n = q.shape
    if plan == "layered":
        from .layered import BatchedLayeredVerifier, layered_pieces

        order, _, _, support, value, cut, _ = _order_and_cut(q, p, K)
        edges, M, layout, slot, owner, weight, sw_t, sw_s = layered_pieces(q, p, K, order, cut, support)
        return BatchedLayeredVerifier(value, cut, edges, layout, M, slot, owner, weight, sw_t, sw_s, q, p, K)
    value, cut, slid, ps, pe, owner, support, row_order = _home_placement(q, p, K)
    slides_t = torch.zeros(B, dtype=torch.int64, device=q.device)
    slides_s = torch.zeros_like(slides_t)
    rows = torch.nonzero(slid).flatten().tolist()
    if rows:
        from ..verifier.rank import _pieces

        # the row's own order and cut (the NumPy verifier's, see _ratio_order and the tie rule), then the greedy
        # placement of both sides (the S* loop compiled when numba is installed)
        order = row_order[rows].cpu().numpy()
        qn, pn = q[rows].cpu().numpy(), p[rows].cpu().numpy()
        cuts, sups = cut[rows].cpu().numpy(), support[rows].cpu().numpy()
        built = []
        for i in range(len(rows)):
            j, m = int(cuts[i]), int(sups[i])
            built.append(_pieces(qn[i], pn[i], K, order[i, :j], order[i, j:m][::-1]))
        P = max(n, max(b[0].size for b in built))
        S = np.ones((len(rows), P))
        E = np.ones((len(rows), P))
        OW = np.full((len(rows), P), -1, dtype=np.int64)
        for i, (st, en, ow, sl) in enumerate(built):
            S[i, :st.size], E[i, :st.size], OW[i, :st.size] = st, en, ow
        if P > n:
            pad = P - n
            ps = torch.cat([ps, torch.ones((B, pad), dtype=q.dtype, device=q.device)], dim=1)
            pe = torch.cat([pe, torch.ones((B, pad), dtype=q.dtype, device=q.device)], dim=1)
            owner = torch.cat([owner, torch.full((B, pad), -1, dtype=torch.int64, device=q.device)], dim=1)
        idx = torch.tensor(rows, dtype=torch.int64, device=q.device)
        ps[idx] = torch.from_numpy(S).to(q.device)
        pe[idx] = torch.from_numpy(E).to(q.device)
        owner[idx] = torch.from_numpy(OW).to(q.device)
        support = support.clone()
        support[idx] = torch.tensor([b[0].size for b in built], dtype=support.dtype, device=q.device)
        slides_t[idx] = torch.tensor([b[3]["T"] for b in built], dtype=torch.int64, device=q.device)
        slides_s[idx] = torch.tensor([b[3]["S"] for b in built], dtype=torch.int64, device=q.device)
    return BatchedVerifier(value, cut, slid, slides_t, slides_s, ps, pe, owner, support, q, p, K)
