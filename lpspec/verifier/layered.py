"""The *layered* optimal verifier: a fully vectorised rank-space plan with weighted pieces (docs/theory.md §9).

Same setting and selection rule as :mod:`lpspec.verifier.rank` (``K`` identical independent drafts, ranks, the smallest
rank wins, one speculative-sampling step), but the rank sets are built without a sequential placement.

**Weighted rank sets.** Let token ``y`` own a rank *density* ``w_y(s) ∈ [0, 1]`` on ``[0, 1]`` instead of a set,
with ``∫ w_y = p(y)`` and ``Σ_y w_y(s) = 1`` at every ``s``. A draft showing ``y`` draws its rank from the density
``w_y / p(y)``. Averaged over ``X ~ p`` the rank is uniform on ``[0, 1]`` (the weights sum to one), the ``K`` ranks
are independent, and the smallest wins, so

.. math::

    p_I(y) = \\int w_y(s) \\, K (1 - s)^{K-1} ds,

which for piecewise-constant weights is ``Σ_pieces w · M(piece)``, ``M([u, v]) = (1 - u)^K - (1 - v)^K``. The
optimality conditions of §9 are unchanged: every density of ``T`` inside ``[0, c]``, of ``S*`` inside ``[c, 1]``,
``p_I <= q`` on ``T`` and ``p_I >= q`` on ``S*``.

**Layout.** Lay all tokens with ``p > 0`` out contiguously by ``q/p`` descending: ``T`` on ``[0, c]`` then ``S*``
on ``[c, 1]`` (the sorted prefix ``S*`` holds the smallest ratios). Token ``y`` gets the *slot* ``[u_y, v_y]`` of
length ``p(y)``, mass ``M_y = M([u_y, v_y])`` and average density ``ρ_y = M_y / p(y)``, decreasing along the
layout (``K >= 2``). With ``r_y = q(y)/p(y)``:

* ``T`` side, slack ``d_y = q(y) - M_y`` (``d < 0``: a *deficit*, ``y`` breaks ``p_I <= q``). For every set ``U``
  of ``T`` tokens, optimality of ``S*`` against ``S* ∪ U`` reads ``M(last p(U) units of [0, c]) <= q(U)``; on a
  suffix of the layout these units are exactly the slots of ``U``, so **every suffix sum of d is >= 0**.
* ``S*`` side, slack ``d_y = M_y - q(y)``; optimality against ``S* \\ U`` gives ``q(U) <= M(first p(U) units of
  [c, 1])``, so **every prefix sum of d (from c) is >= 0**.

**Matching.** On each side, read the slacks from the end where the partial sums are ``>= 0`` (``c`` outwards on
``S*``, ``c`` inwards on ``T``), and pair the deficit mass with the surplus mass in that order: the ``j``-th unit of
cumulative deficit with the ``j``-th unit of cumulative surplus (``cumsum`` of each, merged by ``searchsorted``).
Because every partial sum is ``>= 0``, a deficit token ``y`` is always paired with surplus tokens ``z`` nearer the
good end, i.e. further out on ``T`` (lower density) and nearer ``c`` on ``S*`` (higher density). Each pair
``(y, z, δ)`` moves the mass ``δ`` by a *fractional swap*: ``y`` hands the weight ``ℓ / p(y)`` of its whole slot to
``z`` and receives the weight ``ℓ / p(z)`` of ``z``'s slot, lengths ``ℓ`` both ways, with

.. math::

    ℓ = δ / |ρ_y - ρ_z|,

so ``y``'s mass changes by ``∓δ``, ``z``'s by ``±δ`` and both lengths are kept. Deficit tokens end at exactly
``q(y)``, surplus tokens keep ``d >= 0``.

**The swaps fit.** On ``T``, ``z`` lies after ``y``: ``r_z <= r_y`` (ratio order) and ``ρ_z < r_z`` (surplus), so
``ρ_y - ρ_z > ρ_y - r_y`` and ``y`` gives away ``Σ ℓ / p(y) <= (ρ_y - r_y) / (ρ_y - max ρ_z) < 1`` of its slot
(its deficit is ``p(y)(ρ_y - r_y)``); ``z`` gives ``<= (r_z - ρ_z) / (min ρ_y - ρ_z) < 1`` since ``ρ_y > r_y >= r_z``.
On ``S*`` the mirror argument (``ρ_y < r_y <= r_z < ρ_z``). Every weight stays in ``[0, 1]``.

The plan has at most ``n + 2 (#deficits + #surpluses)`` pieces, costs one sort (the cut's) plus a few ``cumsum``
and ``searchsorted`` passes, and is a *different* optimal plan from the greedy one of :mod:`lpspec.verifier.rank` (same
``P*``, same output law ``q``, different selections and block efficiency).

Floating point: the slots are a float partition of ``[0, 1]`` (``end[i] == start[i + 1]``); matches that rounding
puts on the wrong side of a deficit (only when a partial sum is 0 in exact arithmetic) or with
``ρ_y == ρ_z`` (``K = 1``, where there are no true deficits) are dropped, and a slot whose fractions exceed 1 by
rounding has its matches scaled down; what remains is a rounding-level side error, bounded as in
:meth:`LayeredVerifier.check`. ``p_I``, ``α = min(1, q/p_I)`` and the residual come from the realised pieces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..core.results import require
from .plan import PiecePlan

__all__ = ["LayeredVerifier", "layered_verifier_from_cut"]

_U = 2.0**-53


def _mass(start, end, k: int):
    """``M([u, v]) = (1 - u)^K - (1 - v)^K`` without cancellation (as :func:`lpspec.verifier.rank_mass`)."""
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    a = 1.0 - start
    with np.errstate(divide="ignore", invalid="ignore"):
        length = np.maximum(end - start, 0.0)
        ratio = np.where(a > 0, length / np.where(a > 0, a, 1.0), 0.0)
        head = np.exp(k * np.log1p(-np.minimum(start, 1.0)))
        out = head * -np.expm1(k * np.log1p(-np.minimum(ratio, 1.0)))
    return np.where(a > 0, out, 0.0)


def _match(d: np.ndarray):
    """Pair deficit with surplus mass in order along ``d`` (the good end first; partial sums of ``d`` are ``>= 0``).

    Returns ``(i_deficit, i_surplus, amount)``: the ``j``-th unit of the cumulative deficit ``Σ (-d)^+`` goes to
    the ``j``-th unit of the cumulative surplus ``Σ d^+``; the pieces between the merged breakpoints of the two
    ``cumsum`` arrays (merged by two ``searchsorted`` passes, no sort). Pairs with the surplus *after* the deficit (possible only by rounding) are dropped.

    >>> i, j, a = _match(np.array([0.5, -0.2, 0.1, -0.3]))
    >>> i.tolist(), j.tolist(), np.round(a, 12).tolist()
    ([1, 3], [0, 0], [0.2, 0.3])
    """
    ia = np.flatnonzero(d < 0)  # deficit tokens
    ib = np.flatnonzero(d > 0)  # surplus tokens
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    if ia.size == 0 or ib.size == 0:
        return empty
    A = np.cumsum(-d[ia])  # cumulative deficit at the end of each deficit token (strictly increasing)
    B = np.cumsum(d[ib])  # cumulative surplus at the end of each surplus token
    total = min(A[-1], B[-1])
    # merge the two breakpoint lists without a sort: the segment ending at A[i] belongs to deficit ia[i] and the
    # surplus token whose range holds it (the first B >= A[i]); the one ending at B[j] to surplus ib[j] and the
    # first A >= B[j]. On a tie A[i] == B[j], B[j] is put after A[i] (an empty segment, dropped below).
    a_in_b = np.searchsorted(B, A, side="left")
    b_in_a = np.searchsorted(A, B, side="left")
    tie = (b_in_a < A.size) & (A[np.minimum(b_in_a, A.size - 1)] == B)
    n_all = A.size + B.size
    br = np.empty(n_all)
    iy = np.empty(n_all, dtype=np.int64)
    iz = np.empty(n_all, dtype=np.int64)
    pos_a = np.arange(A.size) + a_in_b
    pos_b = np.arange(B.size) + b_in_a + tie
    br[pos_a], br[pos_b] = A, B
    iy[pos_a] = ia
    iz[pos_a] = ib[np.minimum(a_in_b, ib.size - 1)]
    iy[pos_b] = ia[np.minimum(b_in_a, ia.size - 1)]
    iz[pos_b] = ib
    last = int(np.searchsorted(br, total, side="right"))  # breakpoints up to the smaller total
    br, iy, iz = br[:last], iy[:last], iz[:last]
    amount = np.diff(br, prepend=0.0)
    keep = (amount > 0) & (iz < iy)
    return iy[keep], iz[keep], amount[keep]


def _segmented_cumsum(x: np.ndarray, first: np.ndarray, count: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sums restarted at every group (groups contiguous; ``first``/``count`` per group id), computed
    within each group (no large sum subtracted)."""
    out = x.astype(np.float64, copy=True)
    if out.size == 0:
        return out
    pos = np.arange(out.size) - first[group]
    deep = np.flatnonzero(count > 32)
    for g in deep.tolist():
        f, c = int(first[g]), int(count[g])
        out[f:f + c] = np.cumsum(x[f:f + c])
    shallow = (count[group] > 1) & (count[group] <= 32)
    for depth in range(1, int(min(count.max(), 33))):
        idx = np.flatnonzero(shallow & (pos == depth))
        if idx.size == 0:
            break
        out[idx] += out[idx - 1]
    return out


def _layered_pieces(q, p, K, s_order, t_order):
    """Slots and weighted pieces of the layered plan (module docstring)."""
    layout = np.concatenate([t_order, s_order[::-1]]).astype(np.int64, copy=False)
    pl = p[layout]
    pos = pl > 0
    if not pos.all():  # tokens with p = 0 own no ranks
        nT = int(np.count_nonzero(pos[:t_order.size]))
        layout, pl = layout[pos], pl[pos]
    else:
        nT = t_order.size
    m = layout.size
    edges = np.empty(m + 1)
    edges[0] = 0.0
    np.cumsum(pl, out=edges[1:])
    np.minimum(edges, 1.0, out=edges)
    if m:
        edges[-1] = 1.0
    start, end = edges[:-1], edges[1:]
    L = end - start
    M = _mass(start, end, K)
    # slack: q - M on T (read from c inwards), M - q on S* (from c outwards); slots of length 0 take no part
    slack = q[layout] - M
    slack[nT:] *= -1.0
    slack[L <= 0] = 0.0
    iy, iz, a1 = _match(slack[nT - 1::-1] if nT else slack[:0])
    jy, jz, a2 = _match(slack[nT:])
    y = np.concatenate([nT - 1 - iy, nT + jy])
    z = np.concatenate([nT - 1 - iz, nT + jz])
    amt = np.concatenate([a1, a2])
    Ly, Lz = L[y], L[z]
    with np.errstate(divide="ignore", invalid="ignore"):
        den = np.abs(M[y] / Ly - M[z] / Lz)  # |ρ_y - ρ_z|
    ok = (den > 0) & (Ly > 0) & (Lz > 0)
    swaps = {"T": int(np.count_nonzero(ok[:iy.size])), "S": int(np.count_nonzero(ok[iy.size:]))}
    if not ok.all():
        y, z, amt, den, Ly, Lz = y[ok], z[ok], amt[ok], den[ok], Ly[ok], Lz[ok]
    ell = amt / den
    fy = ell / Ly
    fz = ell / Lz
    given = np.bincount(y, weights=fy, minlength=m) + np.bincount(z, weights=fz, minlength=m)
    if np.any(given > 1.0):  # rounding only (the weights are < 1 in exact arithmetic): scale those matches down
        scale = 1.0 / np.maximum(given, 1.0)
        s = np.minimum(scale[y], scale[z])
        fy, fz = fy * s, fz * s
        given = np.bincount(y, weights=fy, minlength=m) + np.bincount(z, weights=fz, minlength=m)
    self_w = np.maximum(1.0 - given, 0.0)
    slot = np.concatenate([np.arange(m), y, z])
    owner = np.concatenate([layout, layout[z], layout[y]])
    weight = np.concatenate([self_w, fy, fz])
    return edges, M, layout, slot, owner, weight, swaps  # unsorted: grouped by owner on first use only


_GL = {}


def _gauss(npts: int):
    if npts not in _GL:
        x, w = np.polynomial.legendre.leggauss(npts)
        _GL[npts] = (0.5 * (x + 1.0), 0.5 * w)
    return _GL[npts]


@dataclass(eq=False)
class LayeredVerifier(PiecePlan):
    """The layered optimal verifier (module docstring). Build it with
    ``lpspec.optimal_verifier(..., plan="layered")``.

    The rank axis is cut into *slots* (``slot_edges``, one slot per token with ``p > 0``, laid out by ``q/p``
    descending); piece ``i`` gives token ``piece_owner[i]`` the weight ``piece_weight[i]`` on slot
    ``piece_slot[i]`` (weights on a slot sum to 1). Same attributes and methods as
    :class:`lpspec.verifier.rank.OptimalVerifier` (``value``, ``cut_set``, ``selection_law``, ``accept_prob``,
    ``residual``, ``acceptance``, ``selection``, ``conditional``, ``sample``, ``multiplicity_table``, ``check``).
    """

    value: object
    cut_set: tuple
    k: int
    target: np.ndarray = field(repr=False)
    draft: np.ndarray = field(repr=False)
    slot_edges: np.ndarray = field(repr=False)
    slot_owner: np.ndarray = field(repr=False)
    piece_slot: np.ndarray = field(repr=False)
    piece_owner: np.ndarray = field(repr=False)
    piece_weight: np.ndarray = field(repr=False)
    swaps: dict = field(default_factory=dict)
    exact_value: bool = False
    plan: str = "layered"
    plan_dtype: str = "float64"
    slot_mass: np.ndarray | None = field(default=None, repr=False)
    cut_mask: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        n, k = self.target.size, self.k
        self.n = n
        slot_mass = self.slot_mass if self.slot_mass is not None else _mass(self.slot_edges[:-1],
                                                                              self.slot_edges[1:], k)
        self.selection_law = np.bincount(self.piece_owner, weights=self.piece_weight * slot_mass[self.piece_slot],
                                         minlength=n)
        q, pI = self.target, self.selection_law
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self.accept_prob = np.where(pI > 0, np.minimum(1.0, q / np.where(pI > 0, pI, 1.0)), 1.0)
        excess = np.maximum(q - pI, 0.0)
        self.rejection_mass = float(np.sum(excess))
        self.residual = excess / self.rejection_mass if self.rejection_mass > 0 else q.copy()
        self.acceptance = float(np.sum(np.minimum(q, pI)))
        if self.cut_mask is None:
            self.cut_mask = np.zeros(n, dtype=bool)
            self.cut_mask[list(self.cut_set)] = True
        self.slides = dict(self.swaps)  # fractional swaps per side (the greedy's counterpart: windows slid)
        self._g = None

    # ------------------------------------------------------------------ pieces grouped by owner
    def _grouped(self) -> dict:
        if self._g is not None:
            return self._g
        by = np.lexsort((self.piece_slot, self.piece_owner))
        owners = self.piece_owner[by]
        slots = self.piece_slot[by]
        w = self.piece_weight[by]
        a = self.slot_edges[:-1][slots]
        b = self.slot_edges[1:][slots]
        wl = w * (b - a)
        count = np.bincount(owners, minlength=self.n)
        first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        cum = _segmented_cumsum(wl, first, count, owners)
        # the owner's weighted length at or above each piece: a segmented cumsum of the reversed arrays
        rev = owners[::-1]
        rfirst = (owners.size - (first + count))
        above = _segmented_cumsum(wl[::-1], rfirst, count, rev)[::-1]
        self._g = {"owners": owners, "slots": slots, "w": w, "a": a, "b": b, "wl": wl, "count": count,
                   "first": first, "cum": cum, "above": above,
                   "rank_length": np.bincount(owners, weights=wl, minlength=self.n)}
        return self._g

    @property
    def piece_start(self) -> np.ndarray:
        """Start of each piece's slot, shape (P,)."""
        return self.slot_edges[:-1][self.piece_slot]

    @property
    def piece_end(self) -> np.ndarray:
        """End of each piece's slot, shape (P,)."""
        return self.slot_edges[1:][self.piece_slot]

    @property
    def rank_length(self) -> np.ndarray:
        """``|R_y| = ∫ w_y`` (realised), shape (n,)."""
        return self._grouped()["rank_length"]

    @property
    def pieces_per_token(self) -> np.ndarray:
        return self._grouped()["count"]

    @property
    def num_pieces(self) -> int:
        return int(self.piece_slot.size)

    def __repr__(self) -> str:
        v = self.value if isinstance(self.value, Fraction) else f"{float(self.value):.15g}"
        return (f"LayeredVerifier(n={self.n}, K={self.k}, value={v}, |S*|={len(self.cut_set)}, "
                f"pieces={self.num_pieces}, swaps={self.swaps})")

    # ------------------------------------------------------------------ one tuple, exactly
    def selection(self, x) -> np.ndarray:
        """``β(x)``: the exact step-1 selection law for the draft tuple ``x``, shape (n,).

        .. math::

            \\beta_y(x) = c_y \\int \\frac{w_y(s)}{|R_y|} G_y(s)^{c_y - 1} \\prod_{t \\ne y} G_t(s)^{c_t} ds,
            \\qquad G_t(s) = \\frac{1}{|R_t|} \\int_s^1 w_t,

        ``c_t`` = how many drafts show ``t``. On a slot every ``G_t`` is linear, so the integrand is a polynomial of
        degree ``K - 1``: Gauss–Legendre with ``⌊K/2⌋ + 1 >= ⌈K/2⌉`` nodes per slot is exact.
        """
        t = self._tuple(x)
        g = self._grouped()
        toks, counts = np.unique(t, return_counts=True)
        segs = []
        for y in toks.tolist():
            f, c = g["first"][y], g["count"][y]
            segs.append(g["slots"][f:f + c])
        S = np.unique(np.concatenate(segs))
        a = self.slot_edges[:-1][S]
        b = self.slot_edges[1:][S]
        nodes, wts = _gauss(self.k // 2 + 1)
        down = (b - a)[:, None] * (1.0 - nodes)[None, :]  # b - s at the nodes (no cancellation in tiny slots)
        dens = {}
        G = {}
        for y in toks.tolist():
            f, c = g["first"][y], g["count"][y]
            R = g["rank_length"][y]
            w = np.zeros(S.size)
            w[np.searchsorted(S, g["slots"][f:f + c])] = g["w"][f:f + c]
            wl = w * (b - a)
            above_b = np.concatenate([np.cumsum(wl[::-1])[::-1][1:], [0.0]])  # weighted length above each slot
            if R > 0:
                dens[y] = w / R
                G[y] = np.minimum((above_b[:, None] + w[:, None] * down) / R, 1.0)
            else:
                dens[y] = w * 0.0
                G[y] = np.ones_like(down)
        out = np.zeros(self.n)
        for y, cy in zip(toks.tolist(), counts.tolist()):
            term = cy * dens[y][:, None] * G[y] ** (cy - 1)
            for z, cz in zip(toks.tolist(), counts.tolist()):
                if z != y:
                    term = term * G[z] ** cz
            out[y] = math.fsum((term * wts[None, :] * (b - a)[:, None]).ravel().tolist())
        if not out.any():  # only zero-length rank sets (p below the rounding of the slot edges): first wins
            first_slot = [int(S[np.searchsorted(S, g["slots"][g["first"][y]])]) for y in toks.tolist()]
            out[int(toks[int(np.argmin(first_slot))])] = 1.0
        return out

    def output_distribution(self) -> np.ndarray:
        """``min(q, p_I) + (1 - Σ min(q, p_I)) r`` (analytic; ``= q`` up to rounding), shape (n,)."""
        return np.minimum(self.target, self.selection_law) + self.rejection_mass * self.residual

    # ------------------------------------------------------------------ sampling
    def sample(self, tuples, rng=None):
        """Run the verifier on draft tuples, shape (N, K): each draft draws a rank from its token's weighted pieces
        (a piece with probability ``w |piece| / |R_y|``, then uniform in it), the smallest rank wins, then one
        speculative-sampling step. Returns ``(output, accepted)`` as :meth:`lpspec.verifier.rank.OptimalVerifier.sample`.
        """
        rng = np.random.default_rng(rng)
        x = np.asarray(tuples)
        if x.ndim != 2 or x.shape[1] != self.k or not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"tuples must be an integer array of shape (N, K={self.k}); got shape {x.shape}.")
        x = x.astype(np.int64, copy=False)
        if x.size and (x.min() < 0 or x.max() >= self.n):
            raise ValueError(f"tuples hold tokens outside 0..{self.n - 1}.")
        if x.size and np.any(self.draft[x] <= 0):
            raise ValueError("tuples hold a token with p = 0 (a draft tuple of probability zero).")
        g = self._grouped()
        x.shape[0]
        v = (rng.random(x.shape) * g["rank_length"][x]).ravel()
        lo = g["first"][x].ravel()
        hi = lo + g["count"][x].ravel() - 1
        cum = g["cum"]
        # vectorised binary search: the first piece of the owner whose cumulative weighted length reaches v
        while True:
            act = lo < hi
            if not act.any():
                break
            mid = (lo + hi) // 2
            go = act & (cum[mid] < v)
            stay = act & ~go
            lo = np.where(go, mid + 1, lo)
            hi = np.where(stay, mid, hi)
        prev = cum[lo] - g["wl"][lo]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(g["wl"][lo] > 0, (v - prev) / np.where(g["wl"][lo] > 0, g["wl"][lo], 1.0), 0.5)
        frac = np.clip(frac, 0.0, 1.0)
        rank = (g["a"][lo] + frac * (g["b"][lo] - g["a"][lo])).reshape(x.shape)
        return self._smallest_rank_wins(x, rank, rng)

    # ------------------------------------------------------------------ block efficiency
    def multiplicity_table(self) -> np.ndarray:
        """``a(y, m)`` = Pr(output ``y``, accepted, exactly ``m`` of the ``K`` drafts show ``y``), shape (n, K).

        .. math::

            a(y, m) = \\alpha_y \\binom{K}{m} m \\int w_y(s) \\, \\ell(s)^{m-1} (1 - s - \\ell(s))^{K-m} ds,

        ``ℓ(s) = ∫_s^1 w_y`` (linear on a piece, as is ``1 - s - ℓ(s)``): Gauss–Legendre per piece, exact.
        """
        K = self.k
        g = self._grouped()
        a, b, w = g["a"], g["b"], g["w"]
        lb = np.maximum(g["above"] - g["wl"], 0.0)  # ℓ at the piece's end
        nodes, wts = _gauss(K // 2 + 1)
        down = (b - a)[:, None] * (1.0 - nodes)[None, :]  # b - s at the nodes
        ell = lb[:, None] + w[:, None] * down
        rest = np.maximum((1.0 - b)[:, None] + down - ell, 0.0)
        table = np.zeros((self.n, K))
        for m in range(1, K + 1):
            f = math.comb(K, m) * m * w[:, None] * ell ** (m - 1) * rest ** (K - m)
            per = (f * wts[None, :]).sum(axis=1) * (b - a)
            table[:, m - 1] = np.bincount(g["owners"], weights=per, minlength=self.n)
        return table * self.accept_prob[:, None]

    # ------------------------------------------------------------------ check
    def error_bounds(self) -> dict:
        """Tolerances of :meth:`check`: ``(2n + 8P) u`` for lengths and weights, ``(K + 2)`` times that for masses."""
        base = (2 * self.n + 8 * self.num_pieces) * _U
        return {"length": base, "mass": (self.k + 2) * base}

    def check(self) -> dict:
        """Check the plan; return the measured errors with their bounds (``AssertionError`` when one fails).

        ``partition`` (slot edges ``0 = e_0 <= ... <= e_m = 1``), ``weight_error`` (``max_slot |Σ w - 1|``, all
        ``w >= 0``), ``length_error`` (``max_y | |R_y| - p(y) |``), ``region`` (``T`` weights inside ``[0, c]``,
        ``S*`` inside ``[c, 1]``), ``side_error`` (``(p_I - q)^+`` on ``T``, ``(q - p_I)^+`` on ``S*``),
        ``value_error`` (against ``P*`` and the recomputed cut value), ``residual_error``, ``sum_error``,
        ``output_error`` — as :meth:`lpspec.verifier.rank.OptimalVerifier.check`.
        """
        e = self.slot_edges
        part = bool(e.size == 1 or (e[0] == 0.0 and e[-1] == 1.0 and np.all(np.diff(e) >= 0)))
        require(part, "the rank slots do not partition [0, 1]")
        require(bool(np.all(self.piece_weight >= 0)), "a piece has a negative weight")
        bounds = self.error_bounds()
        m = e.size - 1
        wsum = np.bincount(self.piece_slot, weights=self.piece_weight, minlength=m)
        weight_err = float(np.max(np.abs(wsum - 1.0))) if m else 0.0
        q, p, pI = self.target, self.draft, self.selection_law
        length_err = float(np.max(np.abs(self.rank_length - p))) if self.n else 0.0
        T = ~self.cut_mask
        c = float(e[int(np.sum(self.draft[T] > 0))]) if m else 0.0
        inT = T[self.piece_owner]
        region = bool(np.all(self.piece_end[inT] <= c) and np.all(self.piece_start[~inT] >= c))
        side = max(float(np.max(np.maximum(pI - q, 0.0)[T], initial=0.0)),
                   float(np.max(np.maximum(q - pI, 0.0)[self.cut_mask], initial=0.0)))
        qS = math.fsum(q[self.cut_mask].tolist())
        tail = math.fsum(p[T].tolist())
        cut_value = qS + (1.0 if tail >= 1.0 else -math.expm1(self.k * math.log1p(-tail)))
        value_err = max(abs(self.acceptance - float(self.value)), abs(self.acceptance - cut_value))
        resid_err = abs(self.rejection_mass - (1.0 - float(self.value)))
        sum_err = abs(math.fsum(pI.tolist()) - 1.0)
        out_err = float(np.max(np.abs(self.output_distribution() - q))) if self.n else 0.0
        report = {"partition": part, "region": region, "weight_error": weight_err, "length_error": length_err,
                  "side_error": side, "value_error": value_err, "residual_error": resid_err, "sum_error": sum_err,
                  "output_error": out_err, "length_bound": bounds["length"], "mass_bound": bounds["mass"]}
        require(region, "a T token holds rank weight above c or an S* token below c")
        require(weight_err <= bounds["length"], f"slot weights differ from 1 by {weight_err:.3g}")
        require(length_err <= bounds["length"], f"|R_y| differs from p(y) by {length_err:.3g}")
        for key in ("side_error", "value_error", "residual_error", "sum_error", "output_error"):
            require(report[key] <= bounds["mass"], f"{key} = {report[key]:.3g} > bound {bounds['mass']:.3g}")
        return report


def layered_verifier_from_cut(q, p, k: int, value, cut, s_order, t_order, exact_value: bool = False):
    """The layered plan on a finished cut: ``s_order`` (``S*`` by ``q/p`` ascending), ``t_order`` (``T`` by ``q/p``
    descending), as prepared by :func:`lpspec.verifier.rank.verifier_for`; use
    ``lpspec.optimal_verifier(..., plan="layered")``.

    Examples
    --------
    >>> import numpy as np
    >>> q, p = np.array([4, 5, 1, 8]) / 18, np.array([8, 4, 5, 7]) / 24
    >>> v = layered_verifier_from_cut(q, p, 2, 63 / 64, (0, 2), np.array([2, 0]), np.array([1, 3]))
    >>> round(v.acceptance, 12), v.check()["side_error"] < 1e-15
    (0.984375, True)
    """
    q = np.asarray(q, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    edges, M, layout, slot, owner, weight, swaps = _layered_pieces(q, p, k, np.asarray(s_order, dtype=np.int64),
                                                                 np.asarray(t_order, dtype=np.int64))
    mask = np.zeros(q.size, dtype=bool)
    mask[np.asarray(s_order, dtype=np.int64)] = True
    return LayeredVerifier(value, tuple(cut), k, q, p, edges, layout, slot, owner, weight, swaps, exact_value,
                           slot_mass=M, cut_mask=mask)
