"""The rank-space optimal verifier for K identical independent drafts, exact at any vocabulary size.

docs/theory.md §9. Let ``S*`` be an optimal cut set (the sorted prefix of docs/theory.md §4), ``T`` its
complement and ``c = p(T)``. Every token ``y`` with ``p(y) > 0`` owns a *rank set* ``R_y ⊆ [0, 1]`` of length
``p(y)`` (a finite union of intervals, the *pieces*); the ``R_y`` partition ``[0, 1]``, the sets of ``T`` inside
``[0, c]`` and those of ``S*`` inside ``[c, 1]``. Given the draft tuple ``x``, each draft draws a rank uniform on
``R_{x_k}``; the smallest rank wins (``Y_I``). The ranks are then i.i.d. uniform, so

.. math::

    p_I(y) = M(R_y), \\qquad M([u, v]) = (1 - u)^K - (1 - v)^K,

and one step of single-draft speculative sampling (accept ``Y_I`` with ``min(1, q/p_I)``, else sample
``(q - p_I)^+``) outputs exactly ``q`` (Theorem 1 of Khisti et al., ICLR 2025). The scheme is optimal iff
``p_I <= q`` on ``T`` and ``p_I >= q`` on ``S*``; the greedy placement below guarantees both (proof in
docs/theory.md §9):

* ``T`` part, free set ``F = [0, c]``, tokens by ``q/p`` descending: take the *smallest* offset ``m`` (collapsed
  coordinates along ``F``) whose window ``W(m)`` of length ``p(y)`` has ``M(W(m)) <= q(y)``;
* ``S*`` part, ``F = [c, 1]``, tokens by ``q/p`` ascending: the *largest* ``m`` with ``M(W(m)) >= q(y)``.

While ``m`` is at the home end (``0`` on ``T``, the end of ``F`` on ``S*``) the placement is a prefix sum, done
in vectorised blocks. When a window must move away from its home end (a *slide*), ``m`` is the root of the
monotone function ``M(W(m)) - q(y)``, and every root ends on the safe side in floating point (``M <= q`` on
``T``, ``M >= q`` on ``S*``). The order and the roots are those of the proof (``q/p`` descending, smallest
root on ``T``; ``q/p`` ascending, largest root on ``S*``). On the ``S*`` side slides are the rule on LM-like
pairs (its home end is rank 1, where the winning density ``K (1 - s)^{K-1}`` vanishes), so that side has its
own solver of the same root (:meth:`_Side._place_star`): a walk over the breakpoints of ``F`` from its low end
(where the root lies on such pairs), then a solve inside one segment. Between two breakpoints the window's
mass is, in the variable ``t = (1 - s)^K`` in which ``M`` is plain length, ``(1 - s_b)^K - (1 - s_b - Λ)^K -
G`` (``s_b`` the window's low end, ``Λ`` and ``G`` constant): decreasing and convex in ``s_b``, so the root
has a closed form for ``K = 2`` and Newton's method from the side where ``M >= q`` never passes it. Anything
else (a walk longer than 64 breakpoints, no root inside ``F``, the ``T`` side) uses false position on the
part of ``F`` that brackets the root, with a bisection fallback. The last token of each side takes the rest of ``F``, so that the
pieces partition ``[0, 1]`` exactly (``end[i] == start[i + 1]`` as floats). ``M`` is evaluated as
``(1 - u)^K (-expm1(K log1p(-(v - u)/(1 - u))))`` (no cancellation for tiny windows). Step 2's acceptance
``α_y = min(1, q(y)/M(R_y))`` and the residual ``(q - M)^+`` are computed from the masses actually realised
by the float pieces, over all tokens.

Ties. Tokens are placed in the exact order of the float ratios ``q/p`` (:func:`lpspec.solvers.closed_forms.ratio_order`,
ties to the lower index). When ``P* = 1`` to within :func:`one_tolerance` the empty and the full cut tie; the
verifier then takes the full cut (``S*`` = every token with ``p > 0``) and reports ``value = 1``, so the plan does
not depend on which of the two the rounding favours (exact input: decided in rationals, same cut).

Engines. ``engine="numba"`` runs the ``S*`` side's loop compiled (:mod:`lpspec.verifier.rank.kernel`, a transcription
of :meth:`_Side.place`, same pieces bit for bit); ``"numpy"`` the code below; ``"auto"`` numba when installed.

Floating point. The rank sets are float64 objects (the roots are algebraic numbers): with ``u = 2^-53``,
``n`` tokens and ``P`` pieces, every bound checked by :meth:`OptimalVerifier.check` is stated there
(:data:`ERROR_BUDGET`). With Fraction input the value ``P*`` and the cut stay exact (the sorted prefix in
rational arithmetic); the plan is float64 and says so (``plan_dtype``).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..core.instance import Instance, make_instance
from ..core.keywords import DRAFTS, keyword_aliases
from ..core.results import require
from ..solvers.closed_forms import ratio_order, sorted_prefix_optimum
from .plan import PiecePlan

__all__ = ["OptimalVerifier", "optimal_verifier", "verifier_for", "optimal_verifier_for", "ERROR_BUDGET",
           "rank_mass", "one_tolerance"]

_U = 2.0**-53
_DEEP = 32  # owners with more pieces than this get their suffix sums by one cumsum each

#: How :meth:`OptimalVerifier.check` sizes its tolerances (``u = 2^-53``, ``n`` tokens, ``P`` pieces, ``K``).
ERROR_BUDGET = (
    "length: max_y | |R_y| - p(y) | <= (2n + 8P) u;  "
    "side, value, residual and sum errors: <= (K + 2)(2n + 8P) u"
)

_NOT_APPLICABLE = (
    "the rank-space optimal verifier is for K identical independent drafts (drafts=p with k=K, "
    "law='independent'); for {what} use lpspec.OptimalScheme (the LP optimum, small n) or "
    "lpspec.canonical_decomposition(method='is_lp')."
)


def rank_mass(start, end, k: int):
    """``M([u, v]) = (1 - u)^K - (1 - v)^K``: the chance that the smallest of ``K`` i.i.d. uniform ranks falls in
    ``[u, v]`` (docs/theory.md §9), without cancellation for tiny windows.

    Evaluated as ``exp(K log1p(-u)) (-expm1(K log1p(-(v - u)/A)))`` with ``A = 1 - u`` (``A^K`` from ``u``
    itself, so that the rounding of ``1 - u`` is not raised to the power ``K``); vectorised over arrays.

    Examples
    --------
    >>> float(rank_mass(0.0, 0.5, 2)), float(rank_mass(0.0, 1e-20, 2))
    (0.75, 2e-20)
    """
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    a = 1.0 - start
    with np.errstate(divide="ignore", invalid="ignore"):
        length = np.maximum(end - start, 0.0)
        ratio = np.where(a > 0, length / np.where(a > 0, a, 1.0), 0.0)
        # (1 - u)^K from u itself, not from the rounded 1 - u: exact to a few ulps even at K = 10^9
        head = np.exp(k * np.log1p(-np.minimum(start, 1.0)))
        out = head * -np.expm1(k * np.log1p(-np.minimum(ratio, 1.0)))
    return np.where(a > 0, out, 0.0)


def _mass1(s: float, e: float, k: int) -> float:
    """Scalar :func:`rank_mass`."""
    a = 1.0 - s
    if a <= 0.0 or e <= s:
        return 0.0
    r = (e - s) / a
    head = math.exp(k * math.log1p(-s))  # (1 - s)^K without the rounding of 1 - s (huge K)
    if r >= 1.0:
        return head
    return head * -math.expm1(k * math.log1p(-r))


def _power_difference(hi, lo, m):
    """``hi^m - lo^m`` for ``0 <= lo <= hi`` without cancellation (vectorised; ``m`` >= 1 broadcastable)."""
    hi = np.asarray(hi, dtype=np.float64)
    lo = np.asarray(lo, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(hi > 0, np.minimum(np.maximum(hi - lo, 0.0) / np.where(hi > 0, hi, 1.0), 1.0), 0.0)
        out = hi**m * -np.expm1(m * np.log1p(-r))
    return np.where(hi > 0, out, 0.0)


# ---------------------------------------------------------------------------------------------- placement
def _safe_root(g, lo: float, hi: float, small: float) -> float:
    """The smallest ``t`` in ``[lo, hi]`` with ``g(t) <= 0`` for a continuous non-increasing ``g`` with ``g(lo) > 0 >=
    g(hi)``, returned on the safe side (``g(t) <= 0``).

    Illinois false position inside a bracket that is kept to the end; stops when ``-small <= g <= 0`` (a mass error
    at rounding level) or when the bracket is a few ulps wide, then returns its safe end.
    """
    glo, ghi = g(lo), g(hi)
    side = 0
    for _ in range(200):
        if hi - lo <= 4 * _U * hi:
            break
        t = hi - ghi * (hi - lo) / (ghi - glo) if glo != ghi else 0.5 * (lo + hi)
        if not (lo < t < hi):
            t = 0.5 * (lo + hi)
        gt = g(t)
        if gt > 0:
            lo, glo = t, gt
            if side == -1:
                ghi *= 0.5
            side = -1
        else:
            hi, ghi = t, gt
            if gt >= -small:
                break
            if side == 1:
                glo *= 0.5
            side = 1
    return hi


class _Side:
    """Greedy placement of one side (docs/theory.md §9) into the free set ``F = [lo, hi]``.

    ``home_low``: the ``T`` side (windows start at the low end, condition ``M <= q``); otherwise the ``S*``
    side (windows start at the high end, condition ``M >= q``). Offsets are collapsed coordinates measured from
    the home end along ``F``.
    """

    BLOCK = 64

    def __init__(self, lo: float, hi: float, k: int, home_low: bool):
        self.F = [(lo, hi)] if hi > lo else []  # intervals in home order (nearest the home end first)
        self.k = k
        self.home_low = home_low
        self.starts: list = []
        self.ends: list = []
        self.owners: list = []
        self._s1: list = []
        self._e1: list = []
        self._o1: list = []
        self._mcache: dict = {}
        self.slides = 0
        self.forced = 0

    def _emit(self, s, e, owner):
        self.starts.append(np.atleast_1d(np.asarray(s, dtype=np.float64)))
        self.ends.append(np.atleast_1d(np.asarray(e, dtype=np.float64)))
        self.owners.append(np.atleast_1d(np.asarray(owner, dtype=np.int64)))

    def _emit1(self, s: float, e: float, owner: int):
        """One scalar piece (collected in Python lists, turned into arrays by :meth:`_flush`)."""
        self._s1.append(s)
        self._e1.append(e)
        self._o1.append(owner)

    def _flush(self):
        if self._s1:
            self._emit(np.array(self._s1), np.array(self._e1), np.array(self._o1, dtype=np.int64))
            self._s1, self._e1, self._o1 = [], [], []

    def _good(self, mass, q):
        return mass <= q if self.home_low else mass >= q

    # -- general windows (slow path): walk the intervals of F
    def _window(self, F, t0: float, length: float, cum: list):
        """Pieces ``[(start, end, i)]`` of the window at collapsed ``[t0, t0 + length)`` of ``F`` (``i``: interval)."""
        t1 = t0 + length
        i = max(bisect.bisect_right(cum, t0) - 1, 0)
        out = []
        while i < len(F):
            a, b = F[i]
            tc = cum[i]
            size = b - a
            if tc >= t1 and out:
                break
            lo_loc = t0 - tc if t0 > tc else 0.0
            hi_loc = t1 - tc
            last = hi_loc < size
            if self.home_low:
                s = a + lo_loc if lo_loc > 0 else a
                e = min(a + hi_loc, b) if last else b
            else:
                e = b - lo_loc if lo_loc > 0 else b
                s = max(b - hi_loc, a) if last else a
            if e < s:
                e = s
            out.append((s, e, i))
            if last:
                break
            i += 1
        return out

    def _place_general(self, y: int, length: float, qy: float):
        """One window by its 1-D root (docs/theory.md §9): the smallest offset from the home end at which the side's
        inequality holds. Only the part of ``F`` where the root can lie is searched: the head of ``F`` on the
        ``T`` side, its tail on the ``S*`` side (grown geometrically until it brackets the root)."""
        k = self.k
        r = 4
        while True:
            full = r >= len(self.F)
            if full:
                sub, base = self.F, 0
            elif self.home_low:
                sub, base = self.F[:r], 0
            else:
                sub, base = self.F[-r:], len(self.F) - r
            cum = [0.0]
            for a, b in sub:
                cum.append(cum[-1] + (b - a))
            total = cum.pop()
            tmax = max(total - length, 0.0)

            def g(t, sub=sub, cum=cum):  # > 0 where the window at offset t breaks the side's inequality
                mass = math.fsum(_mass1(s, e, k) for s, e, _ in self._window(sub, t, length, cum))
                return mass - qy if self.home_low else qy - mass

            if not full:
                if total < length:
                    r *= 4
                    continue
                if self.home_low and g(tmax) > 0:
                    r *= 4
                    continue
                if not self.home_low and g(0.0) <= 0:
                    r *= 4
                    continue
            break
        if g(0.0) <= 0:
            t0 = 0.0
        elif g(tmax) > 0:
            t0 = tmax  # no root inside F (rounding, or an inexact cut): the far end, the closest the side gets
            self.forced += 1
        else:
            t0 = _safe_root(g, 0.0, tmax, 8 * _U * qy)
        if t0 > 0.0:
            self.slides += 1
        pieces = self._window(sub, t0, length, cum)
        self._remove([(s, e, i + base) for s, e, i in pieces], y)

    def _remove(self, pieces, y):
        if not pieces:  # a window shorter than the float spacing of the free ranks it falls in: nothing to place
            return      # (p(y) below the resolution of rank space there; check() bounds what this costs)
        F = self.F
        i0, i1 = pieces[0][2], pieces[-1][2]
        keep = []
        a0, b0 = F[i0]
        a1, b1 = F[i1]
        for s, e, _ in pieces:
            self._emit1(s, e, y)
        if self.home_low:
            if pieces[0][0] > a0:
                keep.append((a0, pieces[0][0]))
            if pieces[-1][1] < b1:
                keep.append((pieces[-1][1], b1))
        else:
            if pieces[0][1] < b0:
                keep.append((pieces[0][1], b0))
            if pieces[-1][0] > a1:
                keep.append((a1, pieces[-1][0]))
        F[i0:i1 + 1] = keep  # in place: only the intervals after i1 move

    # -- S* side: the greedy's root by a walk from the low end of F and a convex Newton solve (the fast path)
    WALK = 64

    def _imass(self, iv) -> float:
        """``M`` of a free interval ``(a, b)``, cached (free intervals outlive many walks)."""
        m = self._mcache.get(iv)
        if m is None:
            m = self._mcache[iv] = _mass1(iv[0], iv[1], self.k)
        return m

    def _place_star(self, y: int, length: float, qy: float) -> bool:
        """``S*`` side: place one window at the greedy's root (the largest offset ``m`` with ``M(W(m)) >= q``).

        Let ``s_b`` be the (real) position of the window's low end. Between two breakpoints (where an end of the
        window crosses an end of a free interval) the window is a low piece ``[s_b, b_j]`` of interval ``j``, the
        whole free intervals in between and a high piece ``[a_i, s_t]`` of interval ``i``, with
        ``s_t - s_b = Λ`` constant, so ``M(W) = M([s_b, s_b + Λ]) - G`` (``G``: the mass of the placed ranks
        between the two ends). In ``t = (1 - s)^K``, where ``M`` is plain length, this is
        ``(1 - s_b)^K - (1 - s_b - Λ)^K - G``: decreasing and convex in ``s_b`` for ``K >= 2``.

        1. Walk the breakpoints upward from the low end of ``F`` (the root is near the front on LM-like pairs),
           tracking ``M`` at each (running sums; only used to find the segment), until ``M < q``.
        2. In that segment: a closed-form start (``K = 2``: ``1 - s_b = ((q + G)/Λ + Λ)/2``; ``K = 3``:
           ``1 - s_b = Λ/2 + sqrt((q + G)/(3Λ) - Λ²/12)``; else a few Newton steps on ``log``), then Newton steps on the realised mass (``math.fsum`` of the pieces). Newton on a decreasing
           convex function approached from the side where ``M >= q`` never passes the root, so every accepted
           iterate is on the safe side (``M >= q`` as evaluated); a step that lands below ``q`` (rounding) is
           rejected and the bracket closes by bisection.

        Returns False (nothing placed) when the walk needs more than :attr:`WALK` breakpoints or a segment is
        degenerate; the caller then uses the generic bracketing of :meth:`_place_general` (same root).
        """
        k = self.k
        F = self.F
        nF = len(F)
        if k < 2 or nF == 0:
            return False
        L = length
        # lowest window: the bottom end at the low end of F; find the interval holding its top end
        jb = nF - 1
        it = jb
        FL = 0.0  # length of the whole intervals strictly between it and jb
        FM = 0.0  # their mass (running; recomputed exactly in the final segment)
        a_i, b_i = F[it]
        a_j, b_j = F[jb]
        steps = 0
        # top end for s_bot = a_j: walk it up while the window does not fit below b_i
        need = L - (b_j - a_j)  # what is left for the intervals above jb
        while it == jb and need > 0 or it < jb and need - FL > b_i - a_i:
            if it < jb:
                FL += b_i - a_i
                FM += self._imass(F[it])
            it -= 1
            steps += 1
            if it < 0 or steps > self.WALK:
                return False
            a_i, b_i = F[it]

        s_lo = a_j  # (no root at all, g(lowest window) < 0, shows as glo < 0 in the final segment)
        while True:
            # the highest s_bot of the segment (it, jb): the bottom end reaches b_j or the top end reaches b_i
            if it == jb:
                s_hi = b_j - L
                top_hits = True
            else:
                room = (b_i - a_i) - (L - FL - (b_j - a_j))  # how far the top end can still rise from s_bot = a_j
                s_hi = min(b_j, a_j + room) if room < (b_j - a_j) else b_j
                top_hits = room <= (b_j - a_j)
            if s_hi < s_lo:
                s_hi = s_lo
            at_top = it == 0 and top_hits
            if it == jb:
                m_hi = _mass1(s_hi, min(s_hi + L, b_j), k)
            elif top_hits and s_hi < b_j:  # the top end at b_i: interval i is whole
                m_hi = _mass1(s_hi, b_j, k) + FM + self._imass(F[it])
            elif top_hits:  # both ends at an interval's top
                m_hi = FM + self._imass(F[it])
            else:  # the low end at b_j: interval j is left
                m_hi = FM + _mass1(a_i, min(a_i + (L - FL), b_i), k)
            if m_hi < qy:
                break  # the root lies in this segment
            if at_top:  # the home window (top of F) already has enough mass: no slide
                return False
            steps += 1
            if steps > self.WALK:
                return False
            # next segment: the top end enters the interval above, and/or the bottom end leaves jb
            if top_hits:
                if it < jb:
                    FL += b_i - a_i
                    FM += self._imass(F[it])
                it -= 1
                if it < 0:
                    return False
                a_i, b_i = F[it]
            if not top_hits or s_hi >= b_j:
                jb -= 1
                if jb <= it and jb != it:
                    return False
                a_j, b_j = F[jb]
                if it < jb:
                    FL -= b_j - a_j
                    FM -= self._imass(F[jb])
                else:
                    FL, FM = 0.0, 0.0
                s_lo = a_j
            else:
                s_lo = s_hi
        # final segment (it, jb), root in [s_lo, s_hi): exact full-interval sums
        if it + 1 < jb:
            FL = math.fsum(b - a for a, b in F[it + 1:jb])
            FM = math.fsum(self._imass(iv) for iv in F[it + 1:jb])
        elif it < jb:
            FL = FM = 0.0

        def g(s):
            if it == jb:
                return _mass1(s, min(s + L, b_j), k) - qy, s + L
            top = min(a_i + (L - FL - (b_j - s)), b_i)
            return math.fsum((_mass1(s, b_j, k), FM, _mass1(a_i, top, k), -qy)), top

        lo, hi = s_lo, s_hi  # g(lo) >= 0 > g(hi) (as evaluated; g(lo) is evaluated when lo is still s_lo)
        glo = toplo = None
        # closed-form start on the contiguous span [s_b, s_b + Λ]
        lam = L if it == jb else (L - FL) + (a_i - b_j)
        R = qy if it == jb else qy + _mass1(b_j, a_i, k) - FM
        if lam > 0 and R > 0:
            if k == 2:  # A^2 - (A - Λ)^2 = R
                A = 0.5 * (R / lam + lam)
            elif k == 3:  # A^3 - (A - Λ)^3 = R
                A = 0.5 * lam + math.sqrt(max(R / (3.0 * lam) - lam * lam / 12.0, 0.0))
            else:
                A = min(max((R / (k * lam)) ** (1.0 / (k - 1)) + 0.5 * lam, lam), 1.0)
                for _ in range(8):  # Newton on log h from a start that is close when Λ << A
                    r = lam / A
                    if r >= 1.0:
                        break
                    h = A**k * -math.expm1(k * math.log1p(-r))
                    dh = k * A ** (k - 1) * -math.expm1((k - 1) * math.log1p(-r))
                    if h <= 0 or dh <= 0:
                        break
                    An = min(max(A - (math.log(h) - math.log(R)) * h / dh, lam), 1.0)
                    if abs(An - A) <= 4 * _U * A:
                        A = An
                        break
                    A = An
            def narrow(s):
                """Evaluate g at s inside (lo, hi) and move the bracket end it falls on; g(s) and its top."""
                nonlocal lo, hi, glo, toplo
                gs, tops = g(s)
                if gs >= 0:
                    lo, glo, toplo = s, gs, tops
                else:
                    hi = s
                return gs, tops

            s0 = 1.0 - A
            if lo < s0 < hi:
                g0, top0 = narrow(s0)
                if g0 < 0:
                    # a point just below the start, on the safe side, to start Newton close to the root
                    slope = k * ((1.0 - s0) ** (k - 1) - (1.0 - top0) ** (k - 1))
                    if slope > 0:
                        s1 = s0 + 2.0 * g0 / slope
                        if lo < s1 < hi:
                            narrow(s1)
        if glo is None:
            glo, toplo = g(lo)
            if glo < 0:
                return False  # no root in F (rounding, or an inexact cut): the generic search's far end
        small = 8 * _U * qy
        s = lo
        gap = 4 * _U * hi
        for _ in range(100):
            if glo <= small or hi - lo <= 4 * _U * hi:
                break
            slope = k * ((1.0 - s) ** (k - 1) - (1.0 - toplo) ** (k - 1))  # -dM/ds_b > 0
            t = s + glo / slope if slope > 0 else 0.5 * (lo + hi)
            if slope > 0 and t - s <= 4 * _U * t:
                break  # Newton moves lo by an ulp or two: lo is the root, to rounding, on the safe side
            newton = lo < t < hi
            if not newton:
                if t >= hi:
                    # Newton from lo points past hi, where M < q by rounding only: the root is just below hi;
                    # step down from hi by a gap that doubles each time (never below the midpoint)
                    t = max(0.5 * (lo + hi), hi - gap)
                    gap *= 2.0
                else:
                    t = 0.5 * (lo + hi)
            gt, topt = g(t)
            if gt >= 0:
                lo, glo, toplo = t, gt, topt
                if newton and t - s <= 4 * _U * t:
                    break  # a Newton step of an ulp or two from the safe side: the root, to rounding
            else:
                hi = t
                if newton:
                    if t - s <= 4 * _U * t:
                        break  # the root is within an ulp or two above lo
                    # Newton overshot (rounding): close the bracket from the safe side by bisection
                    mid = 0.5 * (lo + hi)
                    gm, topm = g(mid)
                    if gm >= 0:
                        lo, glo, toplo = mid, gm, topm
                    else:
                        hi = mid
            s = lo
        s = lo
        # emit the pieces and update F (top-down order: the rest of interval i above the rest of interval j)
        if it == jb:
            top = min(s + L, b_j)
            self._emit1(s, top, y)
            keep = [(top, b_j)] if b_j > top else []
            if s > a_j:
                keep.append((a_j, s))
            F[jb:jb + 1] = keep
        else:
            top = min(max(a_i + (L - FL - (b_j - s)), a_i), b_i)  # inside interval i, whatever the rounding
            if b_j > s:
                self._emit1(s, b_j, y)
            for a, b in F[it + 1:jb]:
                self._emit1(a, b, y)
            if top > a_i:
                self._emit1(a_i, top, y)
            keep = [(top, b_i)] if b_i > top else []
            if s > a_j:
                keep.append((a_j, s))
            F[it:jb + 1] = keep
        self.slides += 1
        return True

    def _take_rest(self, y: int):
        if not self.F:  # nothing left (rounding): a degenerate piece at the boundary keeps y sampleable
            edge = self._edge
            self._emit1(edge, edge, y)
            return
        for a, b in self.F:
            self._emit1(a, b, y)
        self.F = []

    def place(self, tokens: np.ndarray, lengths: np.ndarray, targets: np.ndarray):
        m = tokens.size
        if m == 0:
            return
        self._edge = self.F[0][0] if (self.F and self.home_low) else (self.F[0][1] if self.F else 0.0)
        j = 0
        block = self.BLOCK
        slid = False
        tl, ll, ql = tokens.tolist(), lengths.tolist(), targets.tolist()  # scalar access on the slide path
        while j < m:
            if j == m - 1:
                self._take_rest(int(tokens[j]))
                break
            if not self.F:
                self._take_rest(int(tokens[j]))  # degenerate: F used up early by rounding
                j += 1
                continue
            a, b = self.F[0]
            home = True
            if slid and not self.home_low:
                # the previous token slid: test this token's home window alone before a vectorised block
                s0 = b - ll[j]
                home = s0 >= a and _mass1(s0, b, self.k) >= ql[j]
            if home:
                stop = min(m - 1, j + block)
                L = lengths[j:stop]
                cum = np.cumsum(L)
                if self.home_low:
                    e = a + cum
                    s = np.empty_like(e)
                    s[0] = a
                    s[1:] = e[:-1]
                    fits = e <= b
                else:
                    s = b - cum
                    e = np.empty_like(s)
                    e[0] = b
                    e[1:] = s[:-1]
                    fits = s >= a
                ok = fits & self._good(rank_mass(s, e, self.k), targets[j:stop])
                nk = int(np.argmin(ok)) if not ok.all() else ok.size
                if nk:
                    self._emit(s[:nk], e[:nk], tokens[j:j + nk])
                    if self.home_low:
                        rest = (float(e[nk - 1]), b)
                    else:
                        rest = (a, float(s[nk - 1]))
                    if rest[1] > rest[0]:
                        self.F[0] = rest
                    else:
                        self.F.pop(0)
                    j += nk
                    slid = False
                if nk == L.size:
                    block = min(block * 2, 1 << 16)
                    continue
            # token j slides: its 1-D root
            if self.home_low or not self._place_star(tl[j], ll[j], ql[j]):
                self._place_general(tl[j], ll[j], ql[j])
            j += 1
            block = self.BLOCK
            slid = True
        self._flush()


# ---------------------------------------------------------------------------------------------- the verifier
@dataclass(eq=False)
class OptimalVerifier(PiecePlan):
    """The rank-space optimal verifier of one instance (docs/theory.md §9). Build it with :func:`optimal_verifier`.

    Attributes
    ----------
    value : float or Fraction
        ``P*(acc)`` (the sorted-prefix min-cut value; a Fraction for exact input).
    cut_set : tuple of int
        The optimal cut ``S*`` used for the placement.
    k : int
    target, draft : ndarray, shape (n,)
        ``q`` and ``p`` in float64 (the plan is always float64, see ``plan_dtype``).
    selection_law : ndarray, shape (n,)
        ``p_I(y) = M(R_y)``, realised by the float pieces.
    accept_prob : ndarray, shape (n,)
        ``α_y = min(1, q(y)/p_I(y))`` (1 where ``p_I = 0``).
    residual : ndarray, shape (n,)
        ``(q - p_I)^+ / Σ (q - p_I)^+`` (supported on ``T`` up to rounding; ``q`` itself when nothing is
        rejected, i.e. ``P* = 1``, where it is never used).
    rejection_mass : float
        ``Σ (q - p_I)^+ = 1 - Σ min(q, p_I)``.
    acceptance : float
        ``Σ_y min(q(y), p_I(y))`` (equals ``P*`` and the membership acceptance).
    piece_start, piece_end : ndarray of float64, shape (P,)
        The pieces, sorted by start; they partition ``[0, 1]`` (``piece_end[i] == piece_start[i + 1]``).
    piece_owner : ndarray of int64, shape (P,)
        The token owning each piece.
    slides : dict
        ``{"T": windows slid on the T side, "S": on the S* side, "forced": root searches without a bracket}``.
    plan_dtype : str
        ``"float64"``.
    exact_value : bool
        True when :attr:`value` is an exact Fraction (exact input).
    """

    value: object
    cut_set: tuple
    k: int
    target: np.ndarray = field(repr=False)
    draft: np.ndarray = field(repr=False)
    piece_start: np.ndarray = field(repr=False)
    piece_end: np.ndarray = field(repr=False)
    piece_owner: np.ndarray = field(repr=False)
    slides: dict = field(default_factory=dict)
    exact_value: bool = False
    plan_dtype: str = "float64"

    def __post_init__(self):
        n, k = self.target.size, self.k
        self.n = n
        mass = rank_mass(self.piece_start, self.piece_end, k)
        self.selection_law = np.bincount(self.piece_owner, weights=mass, minlength=n)
        q, pI = self.target, self.selection_law
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # overflow only where min(1, .) = 1
            self.accept_prob = np.where(pI > 0, np.minimum(1.0, q / np.where(pI > 0, pI, 1.0)), 1.0)
        excess = np.maximum(q - pI, 0.0)
        # sums of non-negative terms: NumPy's pairwise sum is within log2(n) u of the exact value, far inside the
        # bounds of check() (math.fsum costs 30-60 ms at n = 128 000 on masses of very different sizes)
        self.rejection_mass = float(np.sum(excess))
        self.residual = excess / self.rejection_mass if self.rejection_mass > 0 else q.copy()
        self.acceptance = float(np.sum(np.minimum(q, pI)))
        self.cut_mask = np.zeros(n, dtype=bool)
        self.cut_mask[list(self.cut_set)] = True
        self._grouped_cache = None  # pieces grouped by owner: built on first use (_grouped)

    _GROUPED = ("_own_start", "_own_end", "_own_len", "pieces_per_token", "_first", "rank_length", "_own_above",
                "_owners_sorted")

    def __getattr__(self, name):
        # the owner-grouped arrays (selection, sampling, multiplicity table, check) are built on first access
        if name in OptimalVerifier._GROUPED:
            return self._grouped()[name]
        raise AttributeError(name)

    def _grouped(self) -> dict:
        """The pieces grouped by owner (then start), with per-owner counts, lengths and suffix lengths."""
        if self.__dict__.get("_grouped_cache") is not None:
            return self._grouped_cache
        n = self.n
        # pieces grouped by owner (then start): used by selection, sampling and the multiplicity table
        if self.piece_start.size < 2 or bool(np.all(self.piece_start[1:] >= self.piece_start[:-1])):
            by = np.argsort(self.piece_owner, kind="stable")  # already by start: a stable sort by owner suffices
        else:
            by = np.lexsort((self.piece_start, self.piece_owner))
        own_start = self.piece_start[by]
        own_end = self.piece_end[by]
        own_len = own_end - own_start
        owners = self.piece_owner[by]
        per_token = np.bincount(owners, minlength=n)
        first = np.concatenate([[0], np.cumsum(per_token)[:-1]]).astype(np.int64)
        rank_length = np.bincount(owners, weights=own_len, minlength=n)
        # ℓ(start) of each piece within its owner: the owner's length at or above that piece (suffix sums)
        # (a segmented suffix sum, by position inside the owner, so that no large sum is subtracted)
        pos = np.arange(owners.size) - first[owners]
        count = per_token[owners]
        above = own_len.copy()
        # owners with many pieces: one reversed cumsum each (the same additions, in the same order)
        big = np.flatnonzero(per_token > _DEEP)
        for t in big.tolist():
            f, c = int(first[t]), int(per_token[t])
            above[f:f + c] = np.cumsum(own_len[f:f + c][::-1])[::-1]
        multi = np.flatnonzero((count > 1) & (count <= _DEEP))
        if multi.size:
            depth = pos[multi]
            by_depth = np.argsort(depth, kind="stable")
            bounds = np.searchsorted(depth[by_depth], np.arange(int(depth.max()) + 2))
            for d in range(int(depth.max()) - 1, -1, -1):
                idx = multi[by_depth[bounds[d]:bounds[d + 1]]]
                has_next = count[idx] > d + 1
                above[idx[has_next]] += above[idx[has_next] + 1]
        # _own_above: the owner's length from this piece on
        self._grouped_cache = {"_own_start": own_start, "_own_end": own_end, "_own_len": own_len,
                               "pieces_per_token": per_token, "_first": first, "rank_length": rank_length,
                               "_own_above": above, "_owners_sorted": owners}
        return self._grouped_cache

    # ------------------------------------------------------------------ statistics
    @property
    def num_pieces(self) -> int:
        return int(self.piece_start.size)

    def __repr__(self) -> str:
        v = self.value if isinstance(self.value, Fraction) else f"{float(self.value):.15g}"
        return (f"OptimalVerifier(n={self.n}, K={self.k}, value={v}, |S*|={len(self.cut_set)}, "
                f"pieces={self.num_pieces}, slides={self.slides})")

    # ------------------------------------------------------------------ one tuple, exactly
    def _above(self, t: int, s: np.ndarray) -> np.ndarray:
        """``G_t(s) = |R_t ∩ (s, 1]| / |R_t|`` (pieces of ``t`` are disjoint from the points ``s``)."""
        f, c = self._first[t], self.pieces_per_token[t]
        if c == 0:  # no rank piece (p(t) below the float spacing where its window fell): nothing of t lies above s
            return np.zeros(np.shape(s), dtype=np.float64)
        starts = self._own_start[f:f + c]
        suffix = np.concatenate([self._own_above[f:f + c], [0.0]])
        # pieces starting at or after s lie above s (a piece of another token may start exactly at s when that
        # token's rank set is a point there); pieces starting before s end at or before it
        idx = np.searchsorted(starts, s, side="left")
        total = self.rank_length[t]
        if total <= 0:  # a degenerate (zero-length) rank set: a point at its start
            return (s < starts[0]).astype(np.float64)
        return suffix[idx] / total

    def selection(self, x) -> np.ndarray:
        """``β(x)``: the exact step-1 selection law of Theorem 1 for the draft tuple ``x``, shape (n,).

        .. math::

            \\beta_y(x) = \\sum_{[a, b] \\subseteq R_y} \\prod_{t \\ne y} G_t(a)^{c_t}
            \\big(G_y(a)^{c_y} - G_y(b)^{c_y}\\big), \\qquad G_t(s) = |R_t \\cap (s, 1]| / |R_t|,

        ``c_t`` = how many drafts show ``t`` (the winning rank's density integrated piece by piece: on a
        piece of ``R_y`` the other ``G_t`` are constant and ``G_y`` is linear). ``|R_t|`` is the realised length.
        """
        t = self._tuple(x)
        toks, counts = np.unique(t, return_counts=True)
        out = np.zeros(self.n)
        for y, cy in zip(toks.tolist(), counts.tolist()):
            f, c = self._first[y], self.pieces_per_token[y]
            a = self._own_start[f:f + c]
            total = self.rank_length[y]
            if total > 0:
                ga = self._own_above[f:f + c] / total
                gb = np.maximum(ga - self._own_len[f:f + c] / total, 0.0)
                term = _power_difference(ga, gb, cy)
            else:
                term = np.ones_like(a)
            for z, cz in zip(toks.tolist(), counts.tolist()):
                if z != y:
                    term = term * self._above(z, a) ** cz
            out[y] = math.fsum(term.tolist())
        if not out.any():
            # only tokens whose rank sets are points at one rank tie (probability ~ p^K, below 1e-300 in
            # practice): the first of them in rank order wins, as in a stable argmin over the pieces; when none has
            # a piece at all (masses below the float spacing of rank space, tuple probability ~1e-300), the lowest id
            order = np.flatnonzero(np.isin(self.piece_owner, toks))
            out[int(self.piece_owner[order[0]]) if order.size else int(toks[0])] = 1.0
        return out

    def output_distribution(self) -> np.ndarray:
        """``Σ_x P(x) π(· | x) = min(q, p_I) + (1 - Σ min(q, p_I)) r`` (analytic; ``= q`` up to rounding), (n,)."""
        return np.minimum(self.target, self.selection_law) + self.rejection_mass * self.residual

    # ------------------------------------------------------------------ sampling
    def sample(self, tuples, rng=None):
        """Run the verifier on draft tuples: ranks, the smallest wins, one speculative-sampling step.

        Parameters
        ----------
        tuples : array of int, shape (N, K)
            Draft tuples (every token with ``p > 0``).
        rng : numpy.random.Generator or int, optional

        Returns
        -------
        output : ndarray of int64, shape (N,)
        accepted : ndarray of bool, shape (N,)
            Step 2 accepted the selected draft (then the output is a draft token; a rejection outputs a residual
            token, which lies in ``T`` while every rejected tuple lies in ``S*``, so it is never a draft token).

        Examples
        --------
        >>> v = optimal_verifier(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2)
        >>> out, acc = v.sample([[0, 1], [1, 1]], rng=0)
        >>> acc.tolist()
        [True, True]
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
        x.shape[0]
        v = rng.random(x.shape) * self.rank_length[x]
        idx = self._first[x]
        last = idx + self.pieces_per_token[x] - 1
        move = (v > self._own_len[idx]) & (idx < last)
        sel = np.flatnonzero(move.ravel())
        vf, idf, lf = v.ravel(), idx.ravel(), last.ravel()
        while sel.size:
            vf[sel] -= self._own_len[idf[sel]]
            idf[sel] += 1
            sel = sel[(vf[sel] > self._own_len[idf[sel]]) & (idf[sel] < lf[sel])]
        rank = self._own_start[idf] + np.minimum(np.maximum(vf, 0.0), self._own_len[idf])
        rank = rank.reshape(x.shape)
        return self._smallest_rank_wins(x, rank, rng)

    # ------------------------------------------------------------------ block efficiency (docs/theory.md §11)
    def multiplicity_table(self) -> np.ndarray:
        """``a(y, m)`` = Pr(the output is ``y``, accepted, and exactly ``m`` of the ``K`` drafts show ``y``).

        .. math::

            a(y, m) = \\alpha_y \\binom{K}{m} m \\int_{R_y} \\ell(s)^{m-1} (1 - s - \\ell(s))^{K-m} ds
                    = \\alpha_y \\binom{K}{m} \\sum_{[a, b] \\subseteq R_y} w^{K-m} (\\ell(a)^m - \\ell(b)^m),

        with ``ℓ(s) = |R_y ∩ (s, 1]|`` and ``w = 1 - b - ℓ(b)`` the other tokens' rank measure above the piece
        (constant on it): exact piecewise-polynomial integration (docs/theory.md §11). ``Σ_m a(y, m) =
        α_y p_I(y) = min(q(y), p_I(y))``.

        Returns
        -------
        ndarray, shape (n, K)
            Entry ``[y, m - 1]`` is ``a(y, m)``.

        Examples
        --------
        >>> v = optimal_verifier(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2)
        >>> v.multiplicity_table().round(12).tolist()
        [[0.25, 0.25], [0.25, 0.25]]
        """
        K = self.k
        owners = self._owners_sorted
        la = self._own_above
        lb = np.maximum(la - self._own_len, 0.0)
        w = np.maximum((1.0 - self._own_end) - lb, 0.0)
        m = np.arange(1, K + 1)
        binom = np.array([math.comb(K, int(j)) for j in m], dtype=np.float64)
        terms = binom[None, :] * w[:, None] ** (K - m)[None, :] * _power_difference(la[:, None], lb[:, None],
                                                                                   m[None, :])
        table = np.zeros((self.n, K))
        for j in range(K):
            table[:, j] = np.bincount(owners, weights=terms[:, j], minlength=self.n)
        return table * self.accept_prob[:, None]

    # ------------------------------------------------------------------ check
    def error_bounds(self) -> dict:
        """The tolerances of :meth:`check` (:data:`ERROR_BUDGET`)."""
        base = (2 * self.n + 8 * self.num_pieces) * _U
        return {"length": base, "mass": (self.k + 2) * base}

    def check(self) -> dict:
        """Check the plan and return the measured errors with their bounds; ``AssertionError`` when one fails.

        * ``partition``: pieces sorted, ``start[0] = 0``, ``end[-1] = 1``, ``end[i] = start[i + 1]`` (exact);
        * ``length_error``: ``max_y | |R_y| - p(y) |``;
        * ``side_error``: ``max((p_I - q)^+ on T, (q - p_I)^+ on S*)`` (optimality, docs/theory.md §9);
        * ``value_error``: ``|Σ min(q, p_I) - P*|`` and ``|Σ min(q, p_I) - cut value|`` (``q(S*) + 1 - p(S*)^K``
          recomputed, the min-cut certificate);
        * ``residual_error``: ``|Σ (q - p_I)^+ - (1 - P*)|``; ``sum_error``: ``|Σ p_I - 1|``;
        * ``output_error``: ``max_y |min(q, p_I) + (1 - P*) r - q|``.

        Bounds (:meth:`error_bounds`): ``(2n + 8P) u`` for lengths, ``(K + 2)(2n + 8P) u`` for masses,
        ``u = 2^-53``.
        """
        s, e = self.piece_start, self.piece_end
        part = bool(s.size == 0 or (s[0] == 0.0 and e[-1] == 1.0 and np.all(e[:-1] == s[1:]) and np.all(e >= s)))
        require(part, "the rank pieces do not partition [0, 1]")
        bounds = self.error_bounds()
        q, p, pI = self.target, self.draft, self.selection_law
        length_err = float(np.max(np.abs(self.rank_length - p))) if self.n else 0.0
        T = ~self.cut_mask
        side = max(float(np.max(np.maximum(pI - q, 0.0)[T], initial=0.0)),
                   float(np.max(np.maximum(q - pI, 0.0)[self.cut_mask], initial=0.0)))
        qS = math.fsum(q[self.cut_mask].tolist())
        tail = math.fsum(p[T].tolist())
        cut_value = qS + (1.0 if tail >= 1.0 else -math.expm1(self.k * math.log1p(-tail)))
        value_err = max(abs(self.acceptance - float(self.value)), abs(self.acceptance - cut_value))
        resid_err = abs(self.rejection_mass - (1.0 - float(self.value)))
        sum_err = abs(math.fsum(pI.tolist()) - 1.0)
        out_err = float(np.max(np.abs(self.output_distribution() - q))) if self.n else 0.0
        report = {"partition": part, "length_error": length_err, "side_error": side, "value_error": value_err,
                  "residual_error": resid_err, "sum_error": sum_err, "output_error": out_err,
                  "length_bound": bounds["length"], "mass_bound": bounds["mass"]}
        require(length_err <= bounds["length"], f"|R_y| differs from p(y) by {length_err:.3g}")
        for key in ("side_error", "value_error", "residual_error", "sum_error", "output_error"):
            require(report[key] <= bounds["mass"], f"{key} = {report[key]:.3g} > bound {bounds['mass']:.3g}")
        return report


# ---------------------------------------------------------------------------------------------- construction
def one_tolerance(n: int, k: int) -> float:
    """The tolerance below 1 within which the float cut declares ``P* = 1``: ``2 (K + 2) n u`` (``u = 2^-53``).

    A bound on the rounding of the prefix values ``Q_j + 1 - (1 - P_j)^K`` (two running sums of ``n`` terms,
    the second raised to the power ``K``), and at most the mass bound of :meth:`OptimalVerifier.check`, so a
    plan built on the full cut passes its checks whenever the value is declared 1.

    Examples
    --------
    >>> one_tolerance(1000, 2) == 8000 * 2.0**-53
    True
    """
    return 2.0 * (k + 2) * n * _U


def _float_cut(q: np.ndarray, p: np.ndarray, k: int):
    """One sort: the ratio order and the best prefix (the float branch of the sorted-prefix optimum).

    Tie rule (docs/guide/verifier.md): when ``min_j`` of the prefix values is at least ``1 -``
    :func:`one_tolerance`, ``P* = 1`` is declared and the cut is the *full* one (``S* =`` every token with
    ``p > 0``, ``T = ∅``), whatever the float noise says about which of the tied cuts is lowest. Otherwise the
    first (smallest) prefix attaining the minimum.
    """
    order = ratio_order(q, p)  # exact order of the float ratios (no overflow for subnormal p)
    Q = np.empty(order.size + 1)
    Q[0] = 0.0
    np.cumsum(q[order], out=Q[1:])
    tail = np.empty(order.size + 1)
    tail[-1] = 0.0
    np.cumsum(p[order[::-1]], out=tail[-2::-1])
    with np.errstate(divide="ignore"):
        values = Q - np.expm1(k * np.log1p(-np.minimum(tail, 1.0)))
    best = int(np.argmin(values))
    if values[best] >= 1.0 - one_tolerance(q.size, k):
        return order, order.size, 1.0
    return order, best, float(values[best])


PLANS = ("greedy", "layered")


def verifier_for(inst: Instance, *, engine: str = "auto", plan: str = "greedy") -> OptimalVerifier:
    """:func:`optimal_verifier` on an already built :class:`~lpspec.core.instance.Instance`."""
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} must be one of {ENGINES}.")
    if plan not in PLANS:
        raise ValueError(f"plan={plan!r} must be one of {PLANS}.")
    if inst.law != "independent":
        raise ValueError(_NOT_APPLICABLE.format(what=f"law={inst.law!r}"))
    if not inst.identical:
        raise ValueError(_NOT_APPLICABLE.format(what="different drafts"))
    K = inst.k
    if inst.exact:
        opt = sorted_prefix_optimum(inst)
        q = inst.target.astype(np.float64)
        p = inst.draft.astype(np.float64)
        value, cut = opt.value, tuple(opt.cut_set)
        if value == 1:  # the tie rule of _float_cut, decided exactly: P* = 1 takes the full cut
            cut = tuple(np.flatnonzero(inst.draft > 0).tolist())
        mask = np.zeros(inst.n, dtype=bool)
        mask[list(cut)] = True
        order = ratio_order(q, p)
        s_order = order[mask[order]]
        t_order = order[~mask[order]][::-1]
    else:
        q = np.asarray(inst.target, dtype=np.float64)
        p = np.asarray(inst.draft, dtype=np.float64)
        order, best, value = _float_cut(q, p, K)
        s_order = order[:best]
        t_order = order[best:][::-1]
        cut = tuple(np.sort(s_order).tolist())
    if plan == "layered":
        from .layered import layered_verifier_from_cut

        return layered_verifier_from_cut(q, p, K, value, cut, s_order, t_order, inst.exact)
    return _build(q, p, K, value, cut, s_order, t_order, inst.exact, engine)


ENGINES = ("auto", "numba", "numpy")


def _kernel(engine: str):
    """The compiled ``S*`` loop for ``engine`` (``None``: the NumPy/Python path)."""
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} must be one of {ENGINES}.")
    if engine == "numpy":
        return None
    from . import kernel as verifier_kernel

    kernel = verifier_kernel.compiled()
    if kernel is None and engine == "numba":
        raise ValueError("engine='numba' needs numba (pip install 'lpspec[fast]'); use engine='auto' or 'numpy'.")
    return kernel


def _place_star_side(side: _Side, tokens, lengths, targets, kernel) -> None:
    """:meth:`_Side.place` for the ``S*`` side through the compiled loop (same pieces, :mod:`lpspec.verifier.rank.kernel`)."""
    m = tokens.size
    if m == 0:
        return
    tokens = np.ascontiguousarray(tokens, dtype=np.int64)
    lengths = np.ascontiguousarray(lengths, dtype=np.float64)
    targets = np.ascontiguousarray(targets, dtype=np.float64)
    cap = len(side.F) + m + 4
    Flo = np.zeros(cap)
    Fhi = np.zeros(cap)
    nF = len(side.F)
    for i, (a, b) in enumerate(side.F):
        Flo[i], Fhi[i] = a, b
    edge = side.F[0][1] if side.F else 0.0
    bs, be, bo = np.empty(m), np.empty(m), np.empty(m, dtype=np.int64)
    pcap = 3 * m + nF + 4
    ss, se, so = np.empty(pcap), np.empty(pcap), np.empty(pcap, dtype=np.int64)
    nF, nb, nsc, slides, forced = kernel(Flo, Fhi, nF, tokens, lengths, targets, side.k, 0, _Side.BLOCK, False,
                                         edge, bs, be, bo, 0, ss, se, so, 0)
    side.slides += int(slides)
    side.forced += int(forced)
    side.F = []
    # the NumPy path's order: the home blocks first (as emitted), then the scalar pieces
    side.starts += [bs[:nb], ss[:nsc]]
    side.ends += [be[:nb], se[:nsc]]
    side.owners += [bo[:nb], so[:nsc]]


def _pieces(q, p, K, s_order, t_order, engine: str = "auto"):
    """The greedy placement of both sides: pieces sorted by start (``starts, ends, owners``) and the slide counts."""
    if t_order.size == 0:
        c = 0.0
    elif s_order.size == 0:
        c = 1.0
    else:
        c = min(max(math.fsum(p[t_order].tolist()), 0.0), 1.0)
    t_side = _Side(0.0, c, K, home_low=True)
    t_side.place(t_order, p[t_order], q[t_order])
    s_side = _Side(c, 1.0, K, home_low=False)
    kernel = _kernel(engine)
    if kernel is None:
        s_side.place(s_order, p[s_order], q[s_order])
    else:
        _place_star_side(s_side, s_order, p[s_order], q[s_order], kernel)
    parts = [t_side, s_side]
    starts = np.concatenate([a for side in parts for a in side.starts] or [np.zeros(0)])
    ends = np.concatenate([a for side in parts for a in side.ends] or [np.zeros(0)])
    owners = np.concatenate([a for side in parts for a in side.owners] or [np.zeros(0, dtype=np.int64)])
    order = np.lexsort((ends, starts))
    slides = {"T": t_side.slides, "S": s_side.slides, "forced": t_side.forced + s_side.forced}
    return starts[order], ends[order], owners[order], slides


def _build(q, p, K, value, cut, s_order, t_order, exact_value: bool, engine: str = "auto") -> OptimalVerifier:
    starts, ends, owners, slides = _pieces(q, p, K, s_order, t_order, engine)
    return OptimalVerifier(value, cut, K, q, p, starts, ends, owners, slides, exact_value)


@keyword_aliases(refused=DRAFTS)
def optimal_verifier(*, target, drafts, k: int | None = None, law: str = "independent",
                     engine: str = "auto", plan: str = "greedy") -> OptimalVerifier:
    """The exact optimal verifier for ``K`` identical independent drafts, at any vocabulary size.

    Rank-space selection (docs/theory.md §9): each token owns rank pieces of total length ``p(y)``; each draft
    draws a rank in its token's set, the smallest rank wins (Theorem 1's IS selection, law
    ``p_I(y) = M(R_y)``), then one single-draft speculative-sampling step against ``q``:

    .. math::

        \\Pr[\\text{accept}] = \\sum_y \\min\\big(q(y), p_I(y)\\big) = P^* = \\min_S \\, q(S) + 1 - p(S)^K,
        \\qquad \\text{output} \\sim q.

    Cost: one sort and a prefix sum (plus a 1-D root per window that must slide), ``O(K log pieces)`` per
    sampled tuple.

    Parameters
    ----------
    target : array-like, shape (n,)
        ``q``.
    drafts : array-like, shape (n,)
        The common draft distribution ``p`` (a list of equal distributions is accepted too).
    k : int
        Number of drafts ``K``.
    law : str
        Must be ``"independent"``.
    engine : {"auto", "numba", "numpy"}
        Who runs the ``S*`` side's placement loop: ``"numba"`` the compiled transcription
        (:mod:`lpspec.verifier.rank.kernel`, optional extra ``lpspec[fast]``; the first call in a fresh environment
        compiles for a few seconds, then it is cached on disk), ``"numpy"`` the NumPy/Python path; both give
        identical pieces. ``"auto"``: numba when it is installed.
    plan : {"greedy", "layered"}
        ``"greedy"``: the sequential placement above (an :class:`OptimalVerifier`). ``"layered"``: a different
        optimal plan built without a sequential loop (:mod:`lpspec.verifier.layered`: tokens laid out by ``q/p``,
        deficits matched with surpluses by ``cumsum`` + ``searchsorted`` and fixed by fractional slot swaps, so
        pieces carry weights); returns a :class:`lpspec.verifier.layered.LayeredVerifier` with the same methods.
        Same value and output law, different selections (and block efficiency). ``engine`` is unused by it.

    Returns
    -------
    OptimalVerifier
        ``.value``, ``.cut_set``, ``.selection_law``, ``.accept_prob``, ``.residual``, the pieces,
        ``.selection(x)``, ``.conditional(x)``, ``.sample(tuples, rng=)``, ``.multiplicity_table()``,
        ``.check()``.

    Raises
    ------
    ValueError
        Invalid distributions, another draft law, or drafts that differ (use :class:`lpspec.OptimalScheme`).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> v = optimal_verifier(target=[F(4, 18), F(5, 18), F(1, 18), F(8, 18)],
    ...                      drafts=[F(8, 24), F(4, 24), F(5, 24), F(7, 24)], k=2)
    >>> v.value, v.cut_set, v.slides["T"], v.slides["S"]
    (Fraction(63, 64), (0, 2), 1, 1)
    >>> v.pieces_per_token.tolist()
    [2, 1, 1, 2]
    >>> round(v.acceptance, 12), v.check()["partition"]
    (0.984375, True)
    """
    inst = make_instance(target=target, drafts=drafts, k=k, law=law)
    return verifier_for(inst, engine=engine, plan=plan)


#: The Instance twin of :func:`optimal_verifier` under the ``<name>_for`` pattern (same function as
#: :func:`verifier_for`).
optimal_verifier_for = verifier_for
