"""The exact separation oracle of the block LP P3 (docs/theory.md §14, "The sequence-level optimum").

P3 has one row per antichain ``V`` of the draft tree (no node of ``V`` an ancestor of another, root excluded):
``c(V) <= g(P(V))`` with ``g(x) = 1 - (1 - x)^K``. The oracle finds ``max_V [c(V) - g(P(V))]`` exactly:

* ``DP(λ) = max_V [c(V) - λ P(V)]`` (the empty antichain allowed, so ``DP >= 0``) is a tree DP — a node keeps
  its own weight ``c(u) - λ P(u)`` or the sum of its children's best — run level by level, vectorised;
* ``DP`` is convex and piecewise linear in ``λ``; each piece is one antichain ``V`` (the line
  ``c(V) - λ P(V)``). The maximiser ``V*`` of ``c(V) - g(P(V))`` is optimal for ``DP`` at
  ``λ* = g'(P(V*)) ∈ [0, K]`` (concavity of ``g``), and when ``λ*`` is a breakpoint the value is convex along
  the hull edge, so an endpoint (a piece) attains it. Enumerating the pieces of ``DP`` on ``[0, K]``
  (Eisner–Severance: intersect two known lines, evaluate ``DP`` there, split if a new line appears) therefore
  finds the exact maximum. The float oracle also prunes an interval when ``max (chord - g*)`` on it cannot beat
  the best value found (``g*`` the concave conjugate of ``g`` on ``[0, 1]``; ``DP <= chord`` by convexity).

Works on float64 arrays and on Fraction object arrays (then with no pruning and no tolerance: exact).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["Antichain", "g_value", "g_conjugate", "max_antichain", "separate", "subtree_antichain"]


def g_value(x, k: int):
    """``g(x) = 1 - (1 - x)^K``: the probability that one of ``K`` i.i.d. draft paths passes through a node set
    of draft mass ``x`` (exact for Fractions).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> g_value(F(1, 2), 2), g_value(0.0, 3)
    (Fraction(3, 4), 0.0)
    """
    return 1 - (1 - x) ** k


def g_conjugate(lam: float, k: int) -> float:
    """``g*(λ) = max_{x ∈ [0, 1]} [g(x) - λ x]`` for ``λ ∈ [0, K]`` (float; the maximiser is
    ``x = 1 - (λ/K)^{1/(K-1)}``, where ``g'(x) = λ``).

    Examples
    --------
    >>> round(g_conjugate(1.0, 2), 12), g_conjugate(0.0, 3), g_conjugate(0.5, 1)
    (0.25, 1.0, 0.5)
    """
    if k == 1:
        return max(0.0, 1.0 - lam)
    x = 1.0 - (min(max(lam, 0.0), k) / k) ** (1.0 / (k - 1))
    return 1.0 - (1.0 - x) ** k - lam * x


@dataclass(frozen=True)
class Antichain:
    """An antichain of the tree: ``nodes[d]`` the indices of its nodes at depth ``d = 1..L`` (``nodes[0]``
    empty), ``c_mass = c(V)``, ``p_mass = P(V)`` and ``violation = c(V) - g(P(V))``."""

    nodes: tuple
    c_mass: object
    p_mass: object
    violation: object

    def key(self) -> tuple:
        return tuple(tuple(int(i) for i in level) for level in self.nodes)

    @property
    def size(self) -> int:
        return sum(len(level) for level in self.nodes)


def max_antichain(c, P, lam, n: int, *, detail: bool = False):
    """``DP(λ)``: a maximum-weight antichain for the weights ``c(u) - λ P(u)`` (root excluded, empty allowed).

    ``c`` and ``P`` are lists of per-depth arrays (index 0 = root, ignored). Returns
    ``(DP(λ), [mask per depth])`` with ``mask[d]`` a boolean array of the selected nodes at depth ``d``; with
    ``detail=True`` also ``(take, A, B)``: per depth, whether a node keeps itself, and ``c(V_u)``, ``P(V_u)`` of
    the best antichain ``V_u`` inside the subtree of every node ``u``.

    Examples
    --------
    >>> c = [np.ones(1), np.array([0.5, 0.4]), np.array([0.3, 0.3, 0.0, 0.2])]
    >>> P = [np.ones(1), np.array([0.5, 0.5]), np.array([0.25, 0.25, 0.25, 0.25])]
    >>> val, masks = max_antichain(c, P, 0.0, 2)
    >>> round(float(val), 12), [m.tolist() for m in masks[1:]]
    (1.0, [[False, True], [True, True, False, False]])
    """
    length = len(c) - 1
    take = [None] * (length + 1)
    A, B = [None] * (length + 1), [None] * (length + 1)
    best = None
    for d in range(length, 0, -1):
        w = c[d] - lam * P[d]
        child = best.reshape(-1, n).sum(axis=1) if best is not None else np.zeros_like(w)
        t = np.asarray(w > child, dtype=bool)
        take[d] = t
        best = np.where(t, w, child)
        if detail:
            ca = A[d + 1].reshape(-1, n).sum(axis=1) if d < length else np.zeros_like(w)
            cb = B[d + 1].reshape(-1, n).sum(axis=1) if d < length else np.zeros_like(w)
            A[d], B[d] = np.where(t, c[d], ca), np.where(t, P[d], cb)
    total = best.sum()
    masks = [np.zeros(1, dtype=bool)]
    free = np.ones(n, dtype=bool)
    for d in range(1, length + 1):
        masks.append(free & take[d])
        if d < length:
            free = np.repeat(free & ~take[d], n)
    if detail:
        return total, masks, (take, A, B)
    return total, masks


def subtree_antichain(take, depth: int, index: int, n: int) -> tuple:
    """The best antichain inside the subtree of node ``(depth, index)`` from the ``take`` arrays of
    :func:`max_antichain`: ``nodes[d]`` (``d = 0..L``) the selected indices at depth ``d``."""
    length = len(take) - 1
    nodes = [np.zeros(0, dtype=np.int64) for _ in range(length + 1)]
    free = np.ones(1, dtype=bool)
    lo = index
    for e in range(depth, length + 1):
        seg = take[e][lo:lo + len(free)]
        nodes[e] = lo + np.flatnonzero(free & seg)
        free = np.repeat(free & ~seg, n)
        lo *= n
    return tuple(nodes)


def _antichain(c, P, masks, k: int) -> Antichain:
    nodes = tuple(np.flatnonzero(m) for m in masks)
    exact = c[0].dtype == object
    zero = Fraction(0) if exact else 0.0
    cm = sum((c[d][nodes[d]].sum() for d in range(1, len(c)) if len(nodes[d])), zero)
    pm = sum((P[d][nodes[d]].sum() for d in range(1, len(c)) if len(nodes[d])), zero)
    return Antichain(nodes, cm, pm, cm - g_value(pm, k))


def separate(c, P, k: int, *, tol: float = 1e-10, max_evals: int = 100_000, subtrees: int = 0,
             grid: int = 0):
    """Exact separation: every antichain on the upper envelope of ``DP`` over ``λ ∈ [0, K]`` (pruned, for
    floats, to those that can beat the best violation by more than ``tol``), sorted by violation.

    Returns ``(best_violation, antichains)``; ``best_violation = max_V [c(V) - g(P(V))] >= 0`` (the empty
    antichain has violation 0). Exact (no pruning) when ``c`` holds Fractions. With ``subtrees = m > 0`` (floats),
    each DP evaluation also contributes up to ``m`` violated antichains inside single subtrees (the DP's best
    antichain below each node): more cuts per round for cut generation.

    Examples
    --------
    >>> c = [np.ones(1), np.array([0.5, 0.5]), np.array([0.3, 0.2, 0.3, 0.2])]
    >>> P = [np.ones(1), np.array([0.5, 0.5]), np.array([0.25, 0.25, 0.25, 0.25])]
    >>> best, found = separate(c, P, 1)
    >>> round(float(best), 12), found[0].key()  # c exceeds P = 0.25 at the nodes 00 and 10 (K = 1: g(x) = x)
    (0.1, ((), (), (0, 2)))
    """
    exact = np.asarray(c[0]).dtype == object
    n = len(c[1])
    lo, hi = (Fraction(0), Fraction(k)) if exact else (0.0, float(k))
    found: dict = {}

    def evaluate(lam):
        if not subtrees or exact:
            val, masks = max_antichain(c, P, lam, n)
        else:
            val, masks, (take, A, B) = max_antichain(c, P, lam, n, detail=True)
            viol = np.concatenate([A[d] - g_value(B[d], k) for d in range(1, len(c))])
            sizes = np.cumsum([0] + [len(A[d]) for d in range(1, len(c))])
            top = np.argsort(viol)[::-1][:subtrees]
            for j in top[viol[top] > tol]:
                d = int(np.searchsorted(sizes, j, side="right"))
                sub = _antichain(c, P, _masks(subtree_antichain(take, d, int(j - sizes[d - 1]), n), c), k)
                found.setdefault(sub.key(), sub)
        a = _antichain(c, P, masks, k)
        found.setdefault(a.key(), a)
        return val, a

    d_lo, a_lo = evaluate(lo)
    d_hi, a_hi = evaluate(hi)
    if subtrees and not exact:  # a grid of λ for more (diverse) cuts
        for lam in np.linspace(0.0, float(k), grid + 2)[1:-1]:
            evaluate(lam)
    best = max(a.violation for a in found.values())
    stack = [(lo, d_lo, a_lo, hi, d_hi, a_hi)]
    evals = 2
    while stack:
        l1, d1, a1, l2, d2, a2 = stack.pop()
        if a1.p_mass == a2.p_mass:
            continue
        if not exact and _chord_bound(l1, d1, l2, d2, k) <= max(best, 0.0) + tol:
            continue
        lm = (a1.c_mass - a2.c_mass) / (a1.p_mass - a2.p_mass)  # where the two lines cross
        if not l1 < lm < l2:
            continue
        dm, am = evaluate(lm)
        evals += 1
        if evals > max_evals:
            from ..core.results import LPSolveError

            raise LPSolveError(f"the separation oracle exceeded {max_evals} DP evaluations; the tree DP has more "
                               "pieces than expected (raise max_evals).")
        line = a1.c_mass - lm * a1.p_mass
        if dm <= line + (0 if exact else tol * 1e-3):
            continue  # no new piece between the two lines
        best = max(best, am.violation)
        stack.append((l1, d1, a1, lm, dm, am))
        stack.append((lm, dm, am, l2, d2, a2))
    ranked = sorted(found.values(), key=lambda a: a.violation, reverse=True)
    return max(best, 0 if exact else 0.0), ranked


def _masks(nodes, c) -> list:
    masks = []
    for d in range(len(c)):
        m = np.zeros(len(c[d]), dtype=bool)
        m[nodes[d]] = True
        masks.append(m)
    return masks


def _chord_bound(l1, d1, l2, d2, k: int) -> float:
    """``max_{λ ∈ [l1, l2]} [chord(λ) - g*(λ)]``, an upper bound of ``DP - g*`` on the interval (``DP`` convex)."""
    l1, d1, l2, d2 = float(l1), float(d1), float(l2), float(d2)
    slope = (d2 - d1) / (l2 - l1)
    b = -slope
    cands = [l1, l2]
    if k == 1:
        cands.append(1.0)
    elif 0.0 <= b <= 1.0:
        cands.append(k * (1.0 - b) ** (k - 1))
    return max(d1 + slope * (lam - l1) - g_conjugate(lam, k) for lam in cands if l1 <= lam <= l2) + 1e-15
