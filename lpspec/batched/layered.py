"""The layered optimal plan (:mod:`lpspec.verifier.layered`) on a whole (B, n) batch, with torch ops only.

Per row the construction is that of ``lpspec.optimal_verifier(..., plan="layered")`` (docs/theory.md §9, the
derivation is in the docstring of :mod:`lpspec.verifier.layered`), done for every row at once with no Python loop
over rows:

1. the row's ratio order and cut (:func:`lpspec.batched.verifier._ratio_order` and the ``P* = 1`` tie rule);
2. the layout: the tokens with ``p > 0`` by ``q/p`` descending (``T`` then ``S*``), slot edges = a row ``cumsum``
   of ``p`` along it, slot masses ``M = (1 - u)^K - (1 - v)^K``;
3. the slacks ``q - M`` on ``T`` (read from ``c`` inwards), ``M - q`` on ``S*`` (from ``c`` outwards), each side
   as its own row of a (2B, n) tensor, and the deficit/surplus matching: the deficit and surplus tokens are
   packed by a ``scatter`` (their running counts), their ``cumsum`` merged by two batched ``searchsorted`` passes
   into one breakpoint list per side (``#deficits + #surpluses <= n`` entries), the two sides of a row packed
   into one row of length ``n``;
4. the fractional swaps ``ℓ = δ / |ρ_y - ρ_z|`` and the weights (``scatter_add`` per row), scaled down where
   rounding makes a slot give away more than its whole weight, as in NumPy.

Every step mirrors the NumPy code on the same floats, so on the CPU (sequential ``cumsum``) the pieces agree with
NumPy's to rounding; the tests compare pieces, weights, ``p_I`` and the selection law per row within the NumPy
verifier's stated bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.results import require
from ._torch import checked_tuples, require_torch

__all__ = ["BatchedLayeredVerifier", "layered_pieces"]

_U = 2.0**-53


def _mass(start, end, k: int):
    """``M([u, v]) = (1 - u)^K - (1 - v)^K`` on tensors, by the same formula as the NumPy layered plan
    (:func:`lpspec.verifier.layered._mass`): ``exp(K log1p(-u)) * -expm1(K log1p(-(v - u)/(1 - u)))``."""
    torch = require_torch()
    a = 1.0 - start
    pos = a > 0
    length = (end - start).clamp(min=0.0)
    ratio = torch.where(pos, length / torch.where(pos, a, torch.ones_like(a)), torch.zeros_like(a))
    head = torch.exp(k * torch.log1p(-start.clamp(max=1.0)))
    out = head * -torch.expm1(k * torch.log1p(-ratio.clamp(max=1.0)))
    return torch.where(pos, out, torch.zeros_like(out))


def _pack(mask):
    """Per row, the positions where ``mask`` holds, packed to the front: ``(index (R, n), count (R,))``; the
    entries past ``count`` hold 0."""
    torch = require_torch()
    R, n = mask.shape
    rank = torch.cumsum(mask.to(torch.int64), dim=1) - 1
    dest = torch.where(mask, rank, torch.full_like(rank, n))
    out = torch.zeros((R, n + 1), dtype=torch.int64, device=mask.device)
    src = torch.arange(n, device=mask.device).unsqueeze(0).expand(R, n)
    out.scatter_(1, dest, src)
    return out[:, :n], mask.sum(dim=1)


def _match(d):
    """Batched :func:`lpspec.verifier.layered._match` on the rows of ``d`` (R, n) (each row read from its good
    end, zero padding allowed). Returns ``(iy, iz, amount, used)``: (R, n) breakpoint lists, the first ``used``
    entries of row ``r`` are its merged breakpoints (``amount`` 0 where NumPy drops the segment)."""
    torch = require_torch()
    R, n = d.shape
    dev, dt = d.device, d.dtype
    ia, na = _pack(d < 0)
    ib, nb = _pack(d > 0)
    ar = torch.arange(n, device=dev).unsqueeze(0)
    inf = torch.full_like(d, float("inf"))
    A = torch.cumsum(torch.where(ar < na.unsqueeze(1), -torch.gather(d, 1, ia), torch.zeros_like(d)), dim=1)
    B = torch.cumsum(torch.where(ar < nb.unsqueeze(1), torch.gather(d, 1, ib), torch.zeros_like(d)), dim=1)
    A = torch.where(ar < na.unsqueeze(1), A, inf)
    B = torch.where(ar < nb.unsqueeze(1), B, inf)
    a_in_b = torch.searchsorted(B, A, side="left")
    b_in_a = torch.searchsorted(A, B, side="left")
    tie = (b_in_a < na.unsqueeze(1)) & (torch.gather(A, 1, b_in_a.clamp(max=n - 1)) == B)
    pos_a = torch.where(ar < na.unsqueeze(1), ar + a_in_b, torch.full_like(ar, n))
    pos_b = torch.where(ar < nb.unsqueeze(1), ar + b_in_a + tie.to(torch.int64), torch.full_like(ar, n))
    last_a = (na - 1).clamp(min=0).unsqueeze(1)
    last_b = (nb - 1).clamp(min=0).unsqueeze(1)
    br = torch.full((R, n + 1), float("inf"), dtype=dt, device=dev)
    iy = torch.zeros((R, n + 1), dtype=torch.int64, device=dev)
    iz = torch.zeros_like(iy)
    br.scatter_(1, pos_a, A)
    br.scatter_(1, pos_b, B)
    iy.scatter_(1, pos_a, ia)
    iz.scatter_(1, pos_a, torch.gather(ib, 1, torch.minimum(a_in_b, last_b)))
    iy.scatter_(1, pos_b, torch.gather(ia, 1, torch.minimum(b_in_a, last_a)))
    iz.scatter_(1, pos_b, ib)
    br, iy, iz = br[:, :n], iy[:, :n], iz[:, :n]
    used = na + nb
    tot_a = torch.gather(A, 1, last_a).squeeze(1)
    tot_b = torch.gather(B, 1, last_b).squeeze(1)
    total = torch.where((na > 0) & (nb > 0), torch.minimum(tot_a, tot_b), torch.full_like(tot_a, -1.0))
    finite = torch.where(ar < used.unsqueeze(1), br, torch.zeros_like(br))
    amount = finite - torch.cat([torch.zeros_like(finite[:, :1]), finite[:, :-1]], dim=1)
    keep = (ar < used.unsqueeze(1)) & (br <= total.unsqueeze(1)) & (amount > 0) & (iz < iy)
    return iy, iz, torch.where(keep, amount, torch.zeros_like(amount)), used


def layered_pieces(q, p, k: int, order, cut, support):
    """The layered plan of every row, given its ratio order (B, n) (support first, ``q/p`` ascending), cut size
    and support size (B,).

    Returns ``(edges (B, n + 1), M (B, n), layout (B, n), slot, owner, weight (B, 3n), swaps_t, swaps_s)``; slot
    ``i < support`` belongs to ``layout[i]``, later slots are empty (at 1) and pieces of weight 0 are padding.

    Examples
    --------
    >>> import torch
    >>> q = torch.tensor([[4, 5, 1, 8]], dtype=torch.float64) / 18
    >>> p = torch.tensor([[8, 4, 5, 7]], dtype=torch.float64) / 24
    >>> e, M, lay, s, o, w, st, ss = layered_pieces(q, p, 2, torch.tensor([[2, 0, 3, 1]]), torch.tensor([2]),
    ...                                             torch.tensor([4]))
    >>> lay.tolist(), [round(x, 12) for x in torch.zeros(4, dtype=torch.float64).scatter_add_(
    ...     0, s[0], w[0]).tolist()]
    ([[1, 3, 0, 2]], [1.0, 1.0, 1.0, 1.0])
    """
    torch = require_torch()
    B, n = q.shape
    dev, dt = q.device, q.dtype
    ar = torch.arange(n, device=dev).unsqueeze(0)
    m = support.unsqueeze(1)
    nT = (support - cut).unsqueeze(1)
    # layout: the support in reverse ratio order, padding (p = 0 tokens) after it
    layout = torch.gather(order, 1, (m - 1 - ar).clamp(min=0))
    layout = torch.where(ar < m, layout, torch.gather(order, 1, ar.expand(B, n)))
    valid = ar < m
    pl = torch.where(valid, torch.gather(p, 1, layout), torch.zeros_like(q))
    edges = torch.cat([torch.zeros((B, 1), dtype=dt, device=dev), torch.cumsum(pl, dim=1).clamp(max=1.0)], dim=1)
    ar1 = torch.arange(n + 1, device=dev).unsqueeze(0)
    edges = torch.where(ar1 >= m, torch.where(m > 0, torch.ones_like(edges), edges), edges)
    start, end = edges[:, :-1], edges[:, 1:]
    L = end - start
    M = _mass(start, end, k)
    slack = torch.gather(q, 1, layout) - M
    slack = torch.where(ar >= nT, -slack, slack).masked_fill_(~(valid & (L > 0)), 0.0)
    # the T side read from c inwards (position nT - 1 - j), the S* side from c outwards (nT + j); each side is
    # matched on its own rows, trimmed to the batch's widest side (T is short on LM-like rows)
    wt = max(int(nT.max()), 1)
    ws = max(int((m - nT).max()), 1)
    art, ars = ar[:, :wt], ar[:, :ws]
    dT = torch.gather(slack, 1, (nT - 1 - art).clamp(min=0)).masked_fill_(art >= nT, 0.0)
    dS = torch.gather(slack, 1, (nT + ars).clamp(max=n - 1)).masked_fill_(ars >= m - nT, 0.0)
    ty, tz, ta, t_used = _match(dT)
    sy, sz, sa, _ = _match(dS)
    # back to layout positions, packed into one row of length n: the T side's breakpoints first, then S*'s
    # (#deficits + #surpluses <= the support on both sides together); dropped segments go to a dummy column
    dest_t = art.expand(B, wt).masked_fill(ta <= 0, n)
    dest_s = (t_used.unsqueeze(1) + ars).masked_fill_(sa <= 0, n)

    def packed(xt, xs, fill):
        out = torch.full((B, n + 1), fill, dtype=xt.dtype, device=dev)
        out.scatter_(1, dest_t, xt)
        out.scatter_(1, dest_s, xs)
        return out[:, :n]

    y = packed((nT - 1 - ty).clamp(min=0), nT + sy, 0).clamp_(max=n - 1)
    z = packed((nT - 1 - tz).clamp(min=0), nT + sz, 0).clamp_(max=n - 1)
    amt = packed(ta, sa, 0.0)
    side_t = torch.zeros((B, n + 1), dtype=torch.bool, device=dev).scatter_(
        1, dest_t, torch.ones_like(dest_t, dtype=torch.bool))[:, :n]
    Ly, Lz = torch.gather(L, 1, y), torch.gather(L, 1, z)
    rho = M / torch.where(L > 0, L, torch.ones_like(L))  # ρ = M / |slot| (the same floats as NumPy's M_y / L_y)
    safe_y = torch.where(Ly > 0, Ly, torch.ones_like(Ly))
    safe_z = torch.where(Lz > 0, Lz, torch.ones_like(Lz))
    den = (torch.gather(rho, 1, y) - torch.gather(rho, 1, z)).abs()
    ok = (amt > 0) & (den > 0) & (Ly > 0) & (Lz > 0)
    swaps_t = (ok & side_t).sum(dim=1)
    swaps_s = (ok & ~side_t).sum(dim=1)
    ell = torch.where(ok, amt / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(den))
    fy, fz = ell / safe_y, ell / safe_z

    def given_of(fy, fz):
        g = torch.zeros_like(q).scatter_add_(1, y, fy)
        return g.scatter_add_(1, z, fz)

    given = given_of(fy, fz)
    if bool((given > 1.0).any()):  # rounding only: scale those matches down (scale 1 elsewhere, as NumPy)
        scale = 1.0 / given.clamp(min=1.0)
        s = torch.minimum(torch.gather(scale, 1, y), torch.gather(scale, 1, z))
        fy, fz = fy * s, fz * s
        given = given_of(fy, fz)
    self_w = torch.where(valid, (1.0 - given).clamp(min=0.0), torch.zeros_like(given))
    slot = torch.cat([ar.expand(B, n), y, z], dim=1)
    owner = torch.cat([layout, torch.gather(layout, 1, z), torch.gather(layout, 1, y)], dim=1)
    weight = torch.cat([self_w, fy, fz], dim=1)
    return edges, M, layout, slot, owner, weight, swaps_t, swaps_s


@dataclass(eq=False)
class BatchedLayeredVerifier:
    """The layered optimal plan of every row of a batch (module docstring); built by
    ``lpspec.batched.optimal_verifier(..., plan="layered")``.

    Attributes
    ----------
    value : torch.Tensor, shape (B,)
        ``P*`` per row.
    cut_size : torch.Tensor of int64, shape (B,)
        ``|S*|`` (the first ``cut_size`` tokens of the row's ``q/p`` order).
    slot_edges : torch.Tensor, shape (B, n + 1)
        Slot ``i`` is ``[slot_edges[i], slot_edges[i + 1]]`` (slots past the support are empty, at 1).
    slot_owner : torch.Tensor of int64, shape (B, n)
        The token whose home slot it is (the layout: ``q/p`` descending).
    piece_slot, piece_owner, piece_weight : torch.Tensor, shape (B, 3n)
        Piece ``i`` gives ``piece_owner[i]`` the weight ``piece_weight[i]`` on slot ``piece_slot[i]``
        (weights on a slot sum to 1; padding pieces have weight 0).
    slides_t, slides_s : torch.Tensor of int64, shape (B,)
        Fractional swaps per side.
    selection_law, accept_prob, residual, rank_length : torch.Tensor, shape (B, n)
        ``p_I = Σ w M(slot)``, ``min(1, q/p_I)``, ``(q - p_I)^+ / Σ (q - p_I)^+``, ``|R_y| = Σ w |slot|``.
    rejection_mass, acceptance : torch.Tensor, shape (B,)
    """

    value: object
    cut_size: object
    slot_edges: object = field(repr=False)
    slot_owner: object = field(repr=False)
    slot_mass: object = field(repr=False)
    piece_slot: object = field(repr=False)
    piece_owner: object = field(repr=False)
    piece_weight: object = field(repr=False)
    slides_t: object = None
    slides_s: object = None
    target: object = field(repr=False, default=None)
    draft: object = field(repr=False, default=None)
    k: int = 1
    plan: str = "layered"

    def __post_init__(self):
        torch = require_torch()
        q = self.target
        B, n = q.shape
        w = self.piece_weight
        mass = torch.gather(self.slot_mass, 1, self.piece_slot) * w
        self.selection_law = torch.zeros_like(q).scatter_add_(1, self.piece_owner, mass)
        pI = self.selection_law
        self.accept_prob = torch.where(pI > 0, torch.minimum(torch.ones_like(q), q / torch.where(pI > 0, pI, 1.0)),
                                       torch.ones_like(q))
        excess = (q - pI).clamp(min=0.0)
        self.rejection_mass = excess.sum(dim=1)
        tot = self.rejection_mass.unsqueeze(1)
        self.residual = torch.where(tot > 0, excess / torch.where(tot > 0, tot, 1.0), q)
        self.acceptance = torch.minimum(q, pI).sum(dim=1)
        length = (self.slot_edges[:, 1:] - self.slot_edges[:, :-1]).clamp(min=0.0)
        self._wl = w * torch.gather(length, 1, self.piece_slot)
        self.rank_length = torch.zeros_like(q).scatter_add_(1, self.piece_owner, self._wl)
        self.slid = (self.slides_t + self.slides_s) > 0
        self.num_pieces = (w > 0).sum(dim=1)
        self._g = None

    @property
    def piece_start(self):
        """Start of each piece's slot, shape (B, 3n)."""
        return require_torch().gather(self.slot_edges[:, :-1], 1, self.piece_slot)

    @property
    def piece_end(self):
        """End of each piece's slot, shape (B, 3n)."""
        return require_torch().gather(self.slot_edges[:, 1:], 1, self.piece_slot)

    def __repr__(self) -> str:
        return (f"BatchedLayeredVerifier(B={self.target.shape[0]}, n={self.target.shape[1]}, K={self.k}, "
                f"swaps={int((self.slides_t + self.slides_s).sum())})")

    def error_bounds(self):
        """Per row: ``(length bound, mass bound) = ((2n + 8P) u, (K + 2)(2n + 8P) u)``, ``P`` the pieces of
        positive weight (as :meth:`lpspec.verifier.layered.LayeredVerifier.error_bounds`)."""
        n = self.target.shape[1]
        base = (2 * n + 8 * self.num_pieces.to(self.target.dtype)) * _U
        return base, (self.k + 2) * base

    def check(self) -> dict:
        """Per-row checks of :meth:`lpspec.verifier.layered.LayeredVerifier.check` (partition, slot weights sum
        to 1, ``|R_y| = p``, ``T`` weight inside ``[0, c]`` and ``S*`` inside ``[c, 1]``, optimality sides,
        ``Σ min(q, p_I) = P*``, residual mass, output ``= q``) as (B,) tensors, with ``passed``;
        ``AssertionError`` when a row fails."""
        torch = require_torch()
        q, p, pI = self.target, self.draft, self.selection_law
        B, n = q.shape
        e = self.slot_edges
        partition = (e[:, 0] == 0.0) & ((e[:, 1:] - e[:, :-1]) >= 0).all(dim=1) & (
            (e[:, -1] == 1.0) | (p > 0).sum(dim=1).eq(0))
        length_bound, mass_bound = self.error_bounds()
        w = self.piece_weight
        nonneg = (w >= 0).all(dim=1)
        support = (p > 0).sum(dim=1)
        ar = torch.arange(n, device=q.device).unsqueeze(0)
        wsum = torch.zeros_like(q).scatter_add_(1, self.piece_slot, w)
        weight_err = torch.where(ar < support.unsqueeze(1), (wsum - 1.0).abs(), torch.zeros_like(q)).amax(dim=1)
        length_err = (self.rank_length - p).abs().amax(dim=1)
        # S* = the last cut_size slots of the support (the layout is T then S*)
        nT = (support - self.cut_size).unsqueeze(1)
        s_slot = (ar >= nT) & (ar < support.unsqueeze(1))
        in_s = torch.zeros_like(q, dtype=torch.bool).scatter_(1, self.slot_owner, s_slot)
        c = torch.gather(e, 1, nT)
        owner_s = torch.gather(in_s, 1, self.piece_owner)
        live = w > 0
        region = (~live | torch.where(owner_s, self.piece_start >= c, self.piece_end <= c)).all(dim=1)
        side = torch.where(in_s, (q - pI).clamp(min=0.0), (pI - q).clamp(min=0.0)).amax(dim=1)
        value_err = (self.acceptance - self.value).abs()
        resid_err = (self.rejection_mass - (1.0 - self.value)).abs()
        sum_err = (pI.sum(dim=1) - 1.0).abs()
        out = torch.minimum(q, pI) + self.rejection_mass.unsqueeze(1) * self.residual
        out_err = (out - q).abs().amax(dim=1)
        worst = torch.stack([side, value_err, resid_err, sum_err, out_err]).amax(dim=0)
        passed = (partition & nonneg & region & (weight_err <= length_bound) & (length_err <= length_bound)
                  & (worst <= mass_bound))
        report = {"partition": partition, "region": region, "weight_error": weight_err, "length_error": length_err,
                  "side_error": side, "value_error": value_err, "residual_error": resid_err, "sum_error": sum_err,
                  "output_error": out_err, "length_bound": length_bound, "mass_bound": mass_bound,
                  "passed": passed}
        require(bool(passed.all()), f"rows {torch.nonzero(~passed).flatten().tolist()[:10]} fail the verifier check")
        return report

    def _grouped(self):
        torch = require_torch()
        if self._g is None:
            n = self.target.shape[1]
            live = self._wl > 0
            key = torch.where(live, self.piece_owner, torch.full_like(self.piece_owner, n))
            by = torch.sort(key, dim=1, stable=True).indices
            count = torch.zeros((key.shape[0], n + 1), dtype=torch.int64, device=key.device).scatter_add_(
                1, key, torch.ones_like(key))[:, :n]
            wl = torch.gather(self._wl, 1, by)
            a = self.piece_start
            self._g = (torch.gather(a, 1, by), torch.gather(self.piece_end - a, 1, by), wl,
                       torch.cumsum(wl, dim=1), torch.cumsum(count, dim=1) - count, count)
        return self._g

    def sample(self, tuples, generator=None):
        """Run the verifier on draft tuples of shape ``(B, N, K)``: each draft draws a piece of its token with
        probability ``w |slot| / |R_y|`` and a uniform rank in that slot (the weights honoured), the smallest
        rank wins, then one speculative-sampling step. Returns ``(output, accepted)``, shapes (B, N)."""
        torch = require_torch()
        x = checked_tuples(tuples, self.draft, self.k)
        B, n = self.target.shape
        N = x.shape[1]
        flat = x.reshape(B, N * self.k)
        a, length, wl, cum, first, count = self._grouped()
        dt = self.target.dtype
        # the owner's pieces are contiguous in the grouped order: one searchsorted on the row's running sum of
        # the weighted lengths, clamped to the owner's range (a rounding-level choice at piece boundaries only)
        lo = torch.gather(first, 1, flat)
        hi = lo + (torch.gather(count, 1, flat) - 1).clamp(min=0)
        base = torch.gather(cum - wl, 1, lo)
        v = base + torch.rand(flat.shape, generator=generator, dtype=dt, device=x.device) * torch.gather(
            self.rank_length, 1, flat)
        idx = torch.minimum(torch.maximum(torch.searchsorted(cum, v, side="left"), lo), hi)
        plen = torch.gather(wl, 1, idx)
        prev = torch.gather(cum, 1, idx) - plen
        frac = torch.where(plen > 0, ((v - prev) / torch.where(plen > 0, plen, 1.0)).clamp(0.0, 1.0),
                           torch.full_like(v, 0.5))
        rank = torch.gather(a, 1, idx) + frac * torch.gather(length, 1, idx)
        win_pos = rank.reshape(B, N, self.k).argmin(dim=2, keepdim=True)
        win = torch.gather(x, 2, win_pos).squeeze(2)
        accepted = torch.rand((B, N), generator=generator, dtype=dt, device=x.device) < torch.gather(
            self.accept_prob, 1, win)
        cdf = torch.cumsum(self.residual, dim=1)
        r = torch.rand((B, N), generator=generator, dtype=dt, device=x.device) * cdf[:, -1:]
        resid = torch.searchsorted(cdf, r, right=True).clamp(max=n - 1)
        return torch.where(accepted, win, resid), accepted
