"""The ``S*`` side's greedy placement of the rank-space verifier as one scalar loop, compiled by numba when present.

docs/theory.md §9 and :mod:`lpspec.verifier.rank`. This is a line-by-line transcription of
``lpspec.verifier.rank._Side.place`` (home blocks) and ``_Side._place_star`` (the walk over breakpoints and the convex
Newton solve) for the ``S*`` side, with the free set ``F`` held in two arrays (``lo``, ``hi``, home order: the
interval nearest rank 1 first) instead of a Python list, and the exactly rounded ``math.fsum`` replaced by
:func:`exact_sum` (the same algorithm: Shewchuk's partials with round-half-even on the last bit). The same float
operations in the same order give the same pieces as the NumPy path (powers are spelled ``math.pow`` so that both
call the C library's ``pow``); the tests compare the two piece by piece.

When ``_place_star`` gives up (a walk longer than ``WALK`` breakpoints, no root inside ``F``), the token is placed
by the transcription of the generic bracketing ``_Side._place_general`` (with ``_Side._window`` and
``_safe_root``), as in the NumPy path.

numba is an optional extra (``pip install lpspec[fast]``); without it :func:`compiled` returns ``None`` and the
verifier uses its NumPy/Python path. The first call compiles (seconds; cached on disk afterwards).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["exact_sum", "compiled", "star_side"]

_U = 2.0**-53
_BLOCK = 64
_WALK = 64


def exact_sum(values, count: int) -> float:
    """``Σ values[:count]`` correctly rounded (the algorithm of ``math.fsum``: exact partials, then the
    round-half-even correction), for finite float64 values; compilable by numba.

    Examples
    --------
    >>> exact_sum(np.array([1e100, 1.0, -1e100, 1e-30]), 4) == 1.0
    True
    """
    return _exact_sum(values, count, np.empty(count + 2))


def _exact_sum(values, count, partials):
    """:func:`exact_sum` with a work array of at least ``count + 1`` entries."""
    n = 0
    for t in range(count):
        x = values[t]
        i = 0
        for jj in range(n):
            y = partials[jj]
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo != 0.0:
                partials[i] = lo
                i += 1
            x = hi
        partials[i] = x
        n = i + 1
    hi = 0.0
    if n > 0:
        n -= 1
        hi = partials[n]
        lo = 0.0
        while n > 0:
            x = hi
            n -= 1
            y = partials[n]
            hi = x + y
            yr = hi - x
            lo = y - yr
            if lo != 0.0:
                break
        if n > 0 and ((lo < 0.0 and partials[n - 1] < 0.0) or (lo > 0.0 and partials[n - 1] > 0.0)):
            y = lo * 2.0
            x = hi + y
            yr = x - hi
            if y == yr:
                hi = x
    return hi


def _mass1(s, e, k):
    """Scalar ``M([s, e])`` (as ``lpspec.verifier.rank._mass1``)."""
    a = 1.0 - s
    if a <= 0.0 or e <= s:
        return 0.0
    r = (e - s) / a
    head = math.exp(k * math.log1p(-s))
    if r >= 1.0:
        return head
    return head * -math.expm1(k * math.log1p(-r))


def _mass_vec(s, e, k):
    """One entry of ``lpspec.verifier.rank_mass`` (the vectorised form used by the home blocks)."""
    a = 1.0 - s
    if not a > 0:
        return 0.0
    length = max(e - s, 0.0)
    ratio = min(length / a, 1.0)
    head = math.exp(k * math.log1p(-min(s, 1.0)))
    return head * -math.expm1(k * math.log1p(-ratio))


def _g(s, same, L, FL, FM, a_i, b_i, b_j, qy, k, buf):
    """The final segment's ``g(s) = M(W) - q`` and the window's top (``_place_star``'s closure ``g``)."""
    if same:
        top = s + L
        return _mass1(s, min(s + L, b_j), k) - qy, top
    top = min(a_i + (L - FL - (b_j - s)), b_i)
    buf[0] = _mass1(s, b_j, k)
    buf[1] = FM
    buf[2] = _mass1(a_i, top, k)
    buf[3] = -qy
    return _exact_sum(buf, 4, buf[4:]), top


def _star(Flo, Fhi, nF, y, L, qy, k, ss, se, so, nsc, buf):
    """``_Side._place_star`` on the arrays; returns ``(placed, nF, nsc)``."""
    if k < 2 or nF == 0:
        return False, nF, nsc
    jb = nF - 1
    it = jb
    FL = 0.0
    FM = 0.0
    a_i, b_i = Flo[it], Fhi[it]
    a_j, b_j = Flo[jb], Fhi[jb]
    steps = 0
    need = L - (b_j - a_j)
    while (it == jb and need > 0) or (it < jb and need - FL > b_i - a_i):
        if it < jb:
            FL += b_i - a_i
            FM += _mass1(Flo[it], Fhi[it], k)
        it -= 1
        steps += 1
        if it < 0 or steps > _WALK:
            return False, nF, nsc
        a_i, b_i = Flo[it], Fhi[it]

    s_lo = a_j
    s_hi = a_j
    while True:
        if it == jb:
            s_hi = b_j - L
            top_hits = True
        else:
            room = (b_i - a_i) - (L - FL - (b_j - a_j))
            s_hi = min(b_j, a_j + room) if room < (b_j - a_j) else b_j
            top_hits = room <= (b_j - a_j)
        if s_hi < s_lo:
            s_hi = s_lo
        at_top = it == 0 and top_hits
        if it == jb:
            m_hi = _mass1(s_hi, min(s_hi + L, b_j), k)
        elif top_hits and s_hi < b_j:
            m_hi = _mass1(s_hi, b_j, k) + FM + _mass1(Flo[it], Fhi[it], k)
        elif top_hits:
            m_hi = FM + _mass1(Flo[it], Fhi[it], k)
        else:
            m_hi = FM + _mass1(a_i, min(a_i + (L - FL), b_i), k)
        if m_hi < qy:
            break
        if at_top:
            return False, nF, nsc
        steps += 1
        if steps > _WALK:
            return False, nF, nsc
        if top_hits:
            if it < jb:
                FL += b_i - a_i
                FM += _mass1(Flo[it], Fhi[it], k)
            it -= 1
            if it < 0:
                return False, nF, nsc
            a_i, b_i = Flo[it], Fhi[it]
        if not top_hits or s_hi >= b_j:
            jb -= 1
            if jb <= it and jb != it:
                return False, nF, nsc
            a_j, b_j = Flo[jb], Fhi[jb]
            if it < jb:
                FL -= b_j - a_j
                FM -= _mass1(Flo[jb], Fhi[jb], k)
            else:
                FL, FM = 0.0, 0.0
            s_lo = a_j
        else:
            s_lo = s_hi
    # final segment: exact full-interval sums
    if it + 1 < jb:
        cnt = jb - it - 1
        tmp = np.empty(2 * cnt + 2)
        for t in range(cnt):
            tmp[t] = Fhi[it + 1 + t] - Flo[it + 1 + t]
        FL = _exact_sum(tmp, cnt, tmp[cnt:])
        for t in range(cnt):
            tmp[t] = _mass1(Flo[it + 1 + t], Fhi[it + 1 + t], k)
        FM = _exact_sum(tmp, cnt, tmp[cnt:])
    elif it < jb:
        FL = 0.0
        FM = 0.0
    same = it == jb

    lo = s_lo
    hi = s_hi
    have_glo = False
    glo = 0.0
    toplo = 0.0
    lam = L if same else (L - FL) + (a_i - b_j)
    R = qy if same else qy + _mass1(b_j, a_i, k) - FM
    if lam > 0 and R > 0:
        if k == 2:
            A = 0.5 * (R / lam + lam)
        elif k == 3:
            A = 0.5 * lam + math.sqrt(max(R / (3.0 * lam) - lam * lam / 12.0, 0.0))
        else:
            A = min(max(math.pow(R / (k * lam), 1.0 / (k - 1)) + 0.5 * lam, lam), 1.0)
            for _ in range(8):
                r = lam / A
                if r >= 1.0:
                    break
                h = math.pow(A, float(k)) * -math.expm1(k * math.log1p(-r))
                dh = k * math.pow(A, k - 1.0) * -math.expm1((k - 1) * math.log1p(-r))
                if h <= 0 or dh <= 0:
                    break
                An = min(max(A - (math.log(h) - math.log(R)) * h / dh, lam), 1.0)
                if abs(An - A) <= 4 * _U * A:
                    A = An
                    break
                A = An
        s0 = 1.0 - A
        if lo < s0 < hi:
            g0, top0 = _g(s0, same, L, FL, FM, a_i, b_i, b_j, qy, k, buf)
            if g0 >= 0:
                lo, glo, toplo, have_glo = s0, g0, top0, True
            else:
                hi = s0
            if g0 < 0:
                slope = k * (math.pow(1.0 - s0, k - 1.0) - math.pow(1.0 - top0, k - 1.0))
                if slope > 0:
                    s1 = s0 + 2.0 * g0 / slope
                    if lo < s1 < hi:
                        g1, top1 = _g(s1, same, L, FL, FM, a_i, b_i, b_j, qy, k, buf)
                        if g1 >= 0:
                            lo, glo, toplo, have_glo = s1, g1, top1, True
                        else:
                            hi = s1
    if not have_glo:
        glo, toplo = _g(lo, same, L, FL, FM, a_i, b_i, b_j, qy, k, buf)
        if glo < 0:
            return False, nF, nsc
    small = 8 * _U * qy
    s = lo
    gap = 4 * _U * hi
    for _ in range(100):
        if glo <= small or hi - lo <= 4 * _U * hi:
            break
        slope = k * (math.pow(1.0 - s, k - 1.0) - math.pow(1.0 - toplo, k - 1.0))
        t = s + glo / slope if slope > 0 else 0.5 * (lo + hi)
        if slope > 0 and t - s <= 4 * _U * t:
            break
        newton = lo < t < hi
        if not newton:
            if t >= hi:
                t = max(0.5 * (lo + hi), hi - gap)
                gap *= 2.0
            else:
                t = 0.5 * (lo + hi)
        gt, topt = _g(t, same, L, FL, FM, a_i, b_i, b_j, qy, k, buf)
        if gt >= 0:
            lo, glo, toplo = t, gt, topt
            if newton and t - s <= 4 * _U * t:
                break
        else:
            hi = t
            if newton:
                if t - s <= 4 * _U * t:
                    break
                mid = 0.5 * (lo + hi)
                gm, topm = _g(mid, same, L, FL, FM, a_i, b_i, b_j, qy, k, buf)
                if gm >= 0:
                    lo, glo, toplo = mid, gm, topm
                else:
                    hi = mid
        s = lo
    s = lo
    # emit the pieces and replace F[it..jb] by what is kept (the rest of interval i above the rest of j)
    if same:
        top = min(s + L, b_j)
        ss[nsc], se[nsc], so[nsc] = s, top, y
        nsc += 1
        k0lo, k0hi, k1lo, k1hi = 0.0, 0.0, 0.0, 0.0
        nk = 0
        if b_j > top:
            k0lo, k0hi = top, b_j
            nk = 1
        if s > a_j:
            if nk == 0:
                k0lo, k0hi = a_j, s
            else:
                k1lo, k1hi = a_j, s
            nk += 1
        first = jb
    else:
        top = min(max(a_i + (L - FL - (b_j - s)), a_i), b_i)
        if b_j > s:
            ss[nsc], se[nsc], so[nsc] = s, b_j, y
            nsc += 1
        for t in range(it + 1, jb):
            ss[nsc], se[nsc], so[nsc] = Flo[t], Fhi[t], y
            nsc += 1
        if top > a_i:
            ss[nsc], se[nsc], so[nsc] = a_i, top, y
            nsc += 1
        k0lo, k0hi, k1lo, k1hi = 0.0, 0.0, 0.0, 0.0
        nk = 0
        if b_i > top:
            k0lo, k0hi = top, b_i
            nk = 1
        if s > a_j:
            if nk == 0:
                k0lo, k0hi = a_j, s
            else:
                k1lo, k1hi = a_j, s
            nk += 1
        first = it
    return True, _replace(Flo, Fhi, nF, first, jb, nk, k0lo, k0hi, k1lo, k1hi), nsc


def _window(Flo, Fhi, base, cnt, cum, t0, length, wS, wE, wI):
    """``_Side._window`` on ``F[base:base + cnt]`` (``S*`` side); the pieces go to ``wS, wE, wI``, their count is
    returned."""
    t1 = t0 + length
    i = max(np.searchsorted(cum[:cnt], t0, side="right") - 1, 0)
    nw = 0
    while i < cnt:
        a, b = Flo[base + i], Fhi[base + i]
        tc = cum[i]
        size = b - a
        if tc >= t1 and nw > 0:
            break
        lo_loc = t0 - tc if t0 > tc else 0.0
        hi_loc = t1 - tc
        last = hi_loc < size
        e = b - lo_loc if lo_loc > 0 else b
        s = max(b - hi_loc, a) if last else a
        if e < s:
            e = s
        wS[nw], wE[nw], wI[nw] = s, e, i
        nw += 1
        if last:
            break
        i += 1
    return nw


def _gwin(t, Flo, Fhi, base, cnt, cum, length, qy, k, wS, wE, wI, tmp):
    """``q - M(W(t))`` for the window at collapsed offset ``t`` (``_place_general``'s ``g``, ``S*`` side)."""
    nw = _window(Flo, Fhi, base, cnt, cum, t, length, wS, wE, wI)
    for w in range(nw):
        tmp[w] = _mass1(wS[w], wE[w], k)
    return qy - _exact_sum(tmp, nw, tmp[nw:])


def _general(Flo, Fhi, nF, y, length, qy, k, ss, se, so, nsc, cum, wS, wE, wI, tmp):
    """``_Side._place_general`` for the ``S*`` side; returns ``(nF, nsc, slid, forced)``."""
    r = 4
    base = 0
    cnt = nF
    tmax = 0.0
    while True:
        full = r >= nF
        if full:
            base, cnt = 0, nF
        else:
            base, cnt = nF - r, r
        c = 0.0
        for i in range(cnt):
            cum[i] = c
            c = c + (Fhi[base + i] - Flo[base + i])
        total = c
        tmax = max(total - length, 0.0)
        if not full:
            if total < length:
                r *= 4
                continue
            if _gwin(0.0, Flo, Fhi, base, cnt, cum, length, qy, k, wS, wE, wI, tmp) <= 0:
                r *= 4
                continue
        break
    forced = False
    if _gwin(0.0, Flo, Fhi, base, cnt, cum, length, qy, k, wS, wE, wI, tmp) <= 0:
        t0 = 0.0
    elif _gwin(tmax, Flo, Fhi, base, cnt, cum, length, qy, k, wS, wE, wI, tmp) > 0:
        t0 = tmax
        forced = True
    else:
        # _safe_root(g, 0, tmax, 8 u q): Illinois false position, returned on the safe side
        lo, hi = 0.0, tmax
        small = 8 * _U * qy
        glo = _gwin(lo, Flo, Fhi, base, cnt, cum, length, qy, k, wS, wE, wI, tmp)
        ghi = _gwin(hi, Flo, Fhi, base, cnt, cum, length, qy, k, wS, wE, wI, tmp)
        side = 0
        for _ in range(200):
            if hi - lo <= 4 * _U * hi:
                break
            t = hi - ghi * (hi - lo) / (ghi - glo) if glo != ghi else 0.5 * (lo + hi)
            if not (lo < t < hi):
                t = 0.5 * (lo + hi)
            gt = _gwin(t, Flo, Fhi, base, cnt, cum, length, qy, k, wS, wE, wI, tmp)
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
        t0 = hi
    nw = _window(Flo, Fhi, base, cnt, cum, t0, length, wS, wE, wI)
    if nw == 0:  # _Side._remove: a window below the float spacing of the free ranks places nothing
        return nF, nsc, t0 > 0.0, forced
    # _Side._remove
    i0, i1 = wI[0] + base, wI[nw - 1] + base
    b0 = Fhi[i0]
    a1 = Flo[i1]
    for w in range(nw):
        ss[nsc], se[nsc], so[nsc] = wS[w], wE[w], y
        nsc += 1
    k0lo, k0hi, k1lo, k1hi = 0.0, 0.0, 0.0, 0.0
    nk = 0
    if wE[0] < b0:
        k0lo, k0hi = wE[0], b0
        nk = 1
    if wS[nw - 1] > a1:
        if nk == 0:
            k0lo, k0hi = a1, wS[nw - 1]
        else:
            k1lo, k1hi = a1, wS[nw - 1]
        nk += 1
    nF = _replace(Flo, Fhi, nF, i0, i1, nk, k0lo, k0hi, k1lo, k1hi)
    return nF, nsc, t0 > 0.0, forced


def _replace(Flo, Fhi, nF, first, last, nk, k0lo, k0hi, k1lo, k1hi):
    """``F[first:last + 1] = keep`` (``nk`` <= 2 kept intervals); returns the new ``len(F)``."""
    shift = nk - (last - first + 1)
    if shift < 0:
        for t in range(last + 1, nF):
            Flo[t + shift] = Flo[t]
            Fhi[t + shift] = Fhi[t]
    elif shift > 0:
        for t in range(nF - 1, last, -1):
            Flo[t + shift] = Flo[t]
            Fhi[t + shift] = Fhi[t]
    if nk >= 1:
        Flo[first], Fhi[first] = k0lo, k0hi
    if nk == 2:
        Flo[first + 1], Fhi[first + 1] = k1lo, k1hi
    return nF + shift


def star_side(Flo, Fhi, nF, tokens, lengths, targets, k, j, block, slid, edge,
              bs, be, bo, nb, ss, se, so, nsc):
    """The ``S*`` side's ``place`` loop from token ``j`` on.

    Home-block pieces go to ``(bs, be, bo)`` (``nb`` used), scalar pieces to ``(ss, se, so)`` (``nsc`` used), as
    the NumPy path's ``_emit`` / ``_emit1``. Returns ``(nF, nb, nsc, slides, forced)``.
    """
    m = tokens.size
    slides = 0
    forced = 0
    buf = np.empty(12)
    cap = Flo.size
    cumbuf, wS, wE, tmp = np.empty(cap), np.empty(cap), np.empty(cap), np.empty(2 * cap + 2)
    wI = np.empty(cap, dtype=np.int64)
    while j < m:
        if j == m - 1 or nF == 0:
            y = tokens[j]
            if nF == 0:
                ss[nsc], se[nsc], so[nsc] = edge, edge, y
                nsc += 1
            else:
                for t in range(nF):
                    ss[nsc], se[nsc], so[nsc] = Flo[t], Fhi[t], y
                    nsc += 1
                nF = 0
            if j == m - 1:
                break
            j += 1
            continue
        a, b = Flo[0], Fhi[0]
        home = True
        if slid:
            s0 = b - lengths[j]
            home = s0 >= a and _mass1(s0, b, k) >= targets[j]
        if home:
            stop = min(m - 1, j + block)
            size = stop - j
            cum = 0.0
            prev = b
            nk = size
            for i in range(size):
                cum += lengths[j + i]
                s = b - cum
                if not (s >= a and _mass_vec(s, prev, k) >= targets[j + i]):
                    nk = i
                    break
                bs[nb], be[nb], bo[nb] = s, prev, tokens[j + i]
                nb += 1
                prev = s
            if nk:
                if prev > a:
                    Fhi[0] = prev
                else:
                    for t in range(1, nF):
                        Flo[t - 1] = Flo[t]
                        Fhi[t - 1] = Fhi[t]
                    nF -= 1
                j += nk
                slid = False
            if nk == size:
                block = min(block * 2, 1 << 16)
                continue
        placed, nF, nsc = _star(Flo, Fhi, nF, tokens[j], lengths[j], targets[j], k, ss, se, so, nsc, buf)
        if placed:
            slides += 1
        else:
            nF, nsc, slid_g, forced_g = _general(Flo, Fhi, nF, tokens[j], lengths[j], targets[j], k, ss, se, so,
                                                 nsc, cumbuf, wS, wE, wI, tmp)
            slides += slid_g
            forced += forced_g
        j += 1
        block = _BLOCK
        slid = True
    return nF, nb, nsc, slides, forced


_COMPILED = None
_TRIED = False


def compiled():
    """The numba-compiled :func:`star_side`, or ``None`` when numba is not installed (imported lazily)."""
    global _COMPILED, _TRIED
    if not _TRIED:
        _TRIED = True
        try:
            import numba
        except ImportError:
            return None
        jit = numba.njit(cache=True, nogil=True)
        g = globals()
        for name in ("_exact_sum", "exact_sum", "_mass1", "_mass_vec", "_g", "_replace", "_window", "_gwin",
                     "_general", "_star"):
            g[name] = jit(g[name])
        _COMPILED = jit(star_side)
    return _COMPILED
