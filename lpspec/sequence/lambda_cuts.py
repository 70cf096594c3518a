"""Cut generation over the slope ``λ`` for the block LP P3 (the ``"p3-lambda"`` method of ``block_optimum``).

P3 has one row ``c(V) <= g(P(V))`` per antichain ``V`` (``g(x) = 1 - (1 - x)^K``). As ``g`` is concave on
``[0, 1]`` with slopes in ``[0, K]``, ``g(x) = min_{λ ∈ [0, K]} [λ x + g*(λ)]`` (``g*`` its concave conjugate),
so all antichain rows together say::

    DP_c(λ) = max_V [c(V) - λ P(V)] <= g*(λ)        for every λ ∈ [0, K].

For one fixed ``λ`` this family is exactly a polynomial block of rows over auxiliary tree variables
``h(u) >= 0`` (``u`` of depth ``1..L``)::

    c(u) - h(u) <= λ P(u)           (α(u))
    Σ_a h(ua) - h(u) <= 0           (β(u), depth < L)
    Σ_a h(a) <= g*(λ)               (w)

(``h`` = the tree DP's values is feasible iff ``DP_c(λ) <= g*(λ)``; any feasible ``h`` dominates the DP, so the
block implies every antichain row at ``λ``). A finite set ``Λ`` of slopes is a relaxation of P3; the exact
oracle (:func:`lpspec.sequence.antichain.separate`) either certifies ``c`` or returns violated antichains
``V``, whose tangent slopes ``g'(P(V))`` are added to ``Λ`` (the block at ``g'(P(V))`` cuts ``V`` off).

**The certificate in antichain form.** The block's dual ``(α, β, w) >= 0`` obeys, per ``h``-column, the flow
inequality ``α(u) + β(u) <= f(u)`` with inflow ``f(u) = β(parent)`` (``w`` at depth 1). For a level
``t ∈ [0, w)`` let ``V_t = {u : β(u) <= t < β(u) + α(u)}``; a node in ``V_t`` passes no flow above ``t`` to its
children, so ``V_t`` is an antichain, ``∫ 1[u ∈ V_t] dt = α(u)``, and ``∫ g(P(V_t)) dt <= λ Σ_u α(u) P(u) +
w g*(λ)`` (tangent line). So the antichains ``V_t`` with multipliers ``|{t : V_t = V}|`` put the same weight on
every ``c(u)`` and a bound at most the block's: the existing antichain certificate, checked as before.
"""

from __future__ import annotations

import numpy as np

from .antichain import g_conjugate

__all__ = ["ancestors", "flow_antichains", "g_slope", "lambda_block"]


def g_slope(x, k: int):
    """``g'(x) = K (1 - x)^{K-1}``, the slope of the tangent of ``g`` at ``x`` (in ``[0, K]`` for ``x ∈ [0, 1]``).

    Examples
    --------
    >>> float(g_slope(0.5, 3)), float(g_slope(0.2, 1))
    (0.75, 1.0)
    """
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return k * (1.0 - x) ** (k - 1)


def ancestors(nodes, n: int, *, siblings: bool = True) -> list:
    """``keep[d]`` (``d = 0..L``): boolean masks of the sub-forest a restricted ``λ``-block lives on, from an
    antichain's nodes ``nodes[d]`` (``d = 0..L``): the nodes of ``V`` and their ancestors (root included), and
    with ``siblings`` every child of an ancestor too (prefix-closed either way).

    Examples
    --------
    >>> V = (np.zeros(0, int), np.zeros(0, int), np.array([2]))
    >>> [m.tolist() for m in ancestors(V, 2)], [m.tolist() for m in ancestors(V, 2, siblings=False)][1:]
    ([[True], [True, True], [False, False, True, True]], [[False, True], [False, False, True, False]])
    """
    length = len(nodes) - 1
    keep = [np.ones(1, dtype=bool)] + [np.zeros(n ** d, dtype=bool) for d in range(1, length + 1)]
    for e in range(1, length + 1):
        v = np.asarray(nodes[e], dtype=np.int64)
        for d in range(1, e + 1):
            keep[d][v // n ** (e - d)] = True
    if siblings:  # every child of a strict ancestor (keep[d] below is still "V or an ancestor" at depth d - 1)
        strict = [np.ones(1, dtype=bool)] + [np.zeros(n ** d, dtype=bool) for d in range(1, length)]
        for e in range(2, length + 1):
            v = np.asarray(nodes[e], dtype=np.int64)
            for d in range(1, e):
                strict[d][v // n ** (e - d)] = True
        keep = [keep[0]] + [np.repeat(strict[d - 1], n) for d in range(1, length + 1)]
    return keep


def lambda_block(P, lam: float, k: int, off: list, ncols: int, keep=None):
    """The rows of one ``λ``-block over the ``c`` columns ``off[d] + i`` and new ``h`` columns ``ncols + j``.

    With ``keep`` (prefix-closed boolean masks per depth ``0..L``, see :func:`ancestors`) the block lives on the
    sub-forest ``S`` of kept nodes: ``h`` only there, the sum row ``Σ_{ua ∈ S} h(ua) <= h(u)`` at kept nodes
    with kept children. It then implies ``c(V) <= λ P(V) + g*(λ)`` for every antichain ``V ⊆ S`` (a relaxation
    of the full block, still valid). Returns ``(upper, starts, index, value, S, B)`` in CSR form with ``S[d]``
    the kept nodes of depth ``d`` (columns ``ncols + j`` in depth-then-index order) and ``B[d]`` the nodes with
    a sum row; rows: ``α`` rows (every node of ``S``), ``β`` rows (``B``, depth 1..L-1), the root row ``w``.

    Examples
    --------
    >>> P = [np.ones(1), np.array([0.5, 0.5])]
    >>> up, st, ix, va, S, B = lambda_block(P, 1.0, 2, [0, 0, 2], 2)
    >>> up.tolist(), ix.tolist()  # c(u) - h(u) <= λP(u); h(0) + h(1) <= g*(1) = 1/4
    ([0.5, 0.5, 0.25], [0, 2, 1, 3, 2, 3])
    """
    length = len(P) - 1
    n = len(P[1])
    if keep is None:
        keep = [np.ones(len(P[d]), dtype=bool) for d in range(length + 1)]
    S, base = [np.zeros(1, dtype=np.int64)], [0]
    col = ncols
    for d in range(1, length + 1):
        S.append(np.flatnonzero(keep[d]))
        base.append(col)
        col += len(S[d])
    starts, idx, val, up = [], [], [], []
    nnz = 0
    for d in range(1, length + 1):  # α rows: c(u) - h(u) <= λ P(u)
        m = len(S[d])
        j = np.arange(m)
        starts.append(nnz + 2 * j)
        idx.append(np.stack([off[d] + S[d], base[d] + j], axis=1).ravel())
        val.append(np.tile([1.0, -1.0], m))
        up.append(lam * np.asarray(P[d], dtype=np.float64)[S[d]])
        nnz += 2 * m
    B = [np.zeros(0, dtype=np.int64)] * (length + 1)
    for d in range(1, length):  # β rows: Σ_{ua kept} h(ua) - h(u) <= 0 at the kept nodes with kept children
        kids = S[d + 1]
        par, first, count = np.unique(kids // n, return_index=True, return_counts=True)
        B[d] = par
        rowid = np.concatenate([np.repeat(np.arange(len(par)), count), np.arange(len(par))])
        cols = np.concatenate([base[d + 1] + np.arange(len(kids)), base[d] + np.searchsorted(S[d], par)])
        vals = np.concatenate([np.ones(len(kids)), -np.ones(len(par))])
        order = np.argsort(rowid, kind="stable")
        starts.append(nnz + np.concatenate([[0], np.cumsum(count + 1)[:-1]]))
        idx.append(cols[order])
        val.append(vals[order])
        up.append(np.zeros(len(par)))
        nnz += len(kids) + len(par)
    starts.append(np.array([nnz]))  # the root row
    idx.append(base[1] + np.arange(len(S[1])))
    val.append(np.ones(len(S[1])))
    up.append(np.array([g_conjugate(float(lam), k)]))
    return (np.concatenate(up), np.concatenate(starts).astype(np.int32), np.concatenate(idx).astype(np.int32),
            np.concatenate(val), S, B)


def flow_antichains(alpha, beta, w: float, n: int, *, floor: float = 1e-13):
    """The antichains ``V_t`` (``t ∈ [0, w)``) of a ``λ``-block's dual and their multipliers (the module
    docstring): ``alpha[d]`` (depth 1..L) and ``beta[d]`` (depth 1..L-1) lists of arrays (index 0 unused).

    The dual is first made a flow (``β <= f``, ``α <= f - β``, both ``>= 0``; entries below ``floor`` dropped):
    lowering ``α`` only weakens the certificate, and the singleton multipliers of the bound restore it.
    Returns ``(antichains, multipliers)``, ``antichains[j][d]`` the node indices at depth ``d`` (``[0]`` empty).

    Examples
    --------
    >>> a, z = flow_antichains([None, np.array([0.0, 0.5]), np.array([0.5, 0.5, 0.0, 0.0])],
    ...                        [None, np.array([0.5, 0.0])], 0.5, 2)
    >>> [[x.tolist() for x in v] for v in a], z
    ([[[], [1], [0, 1]]], [0.5])
    """
    length = len(alpha) - 1
    inflow = np.full(n, max(float(w), 0.0))
    lo_all, hi_all, depth_all, node_all = [], [], [], []
    for d in range(1, length + 1):
        b = np.clip(np.asarray(beta[d], dtype=np.float64), 0.0, inflow) if d < length else np.zeros(len(inflow))
        a = np.clip(np.asarray(alpha[d], dtype=np.float64), 0.0, None)
        a = np.minimum(a, inflow - b)
        keep = np.flatnonzero(a > floor)
        lo_all.append(b[keep])
        hi_all.append(b[keep] + a[keep])
        depth_all.append(np.full(len(keep), d))
        node_all.append(keep)
        if d < length:
            inflow = np.repeat(b, n)
    lo, hi = np.concatenate(lo_all), np.concatenate(hi_all)
    depth, node = np.concatenate(depth_all), np.concatenate(node_all)
    if not len(lo):
        return [], []
    cuts = np.unique(np.concatenate([lo, hi]))
    first = np.searchsorted(cuts, lo)  # node u is in V_m for the levels m = first .. last-1
    last = np.searchsorted(cuts, hi)
    span = last - first
    member = np.repeat(np.arange(len(lo)), span)
    level = np.repeat(first, span) + (np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span))
    order = np.lexsort((node[member], depth[member], level))
    member, level = member[order], level[order]
    bounds = np.flatnonzero(np.diff(level)) + 1
    antichains, mult = [], []
    for grp in np.split(np.arange(len(level)), bounds):
        if not len(grp):
            continue
        m = int(level[grp[0]])
        mem = member[grp]
        nodes = [np.zeros(0, dtype=np.int64)] + [node[mem][depth[mem] == d].astype(np.int64)
                                                 for d in range(1, length + 1)]
        antichains.append(tuple(nodes))
        mult.append(float(cuts[m + 1] - cuts[m]))
    return antichains, mult
