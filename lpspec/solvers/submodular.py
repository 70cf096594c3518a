"""Exact ``P*`` for K *different* independent drafts at vocabulary scale: AM–GM bound, then branch and bound.

The optimum is the minimum of a submodular function (docs/theory.md §3, §10),

.. math::

    P^* = 1 + \\min_{S \\subseteq \\Omega} f(S), \\qquad f(S) = q(S) - h(P(S)), \\quad
    h(a) = \\prod_k a_k, \\quad P(S) = (p_1(S), \\dots, p_K(S)).

No single sort solves it (docs/theory.md §4 gives an instance where every prefix misses it). This module
solves it in two stages.

Stage 1 (:func:`amgm_bounds`): by AM–GM, ``Π_k a_k <= (Σ_k λ_k a_k / K)^K / Π_k λ_k`` for ``λ > 0``, so
``f(S) >= q(S) - Π_k (m_λ(S) / λ_k)`` with the mixed draft ``m_λ = Σ_k λ_k p_k / K``: an identical-draft
problem, minimised by a prefix of the ``q / m_λ`` order (one sort), hence a lower bound on ``P*``; the
prefixes are real sets, hence upper bounds. Iterating ``λ_k <- 1 / p_k(S_λ)`` closes the interval on most
instances in 1–4 sorts; the lower end is rounded outward (:func:`_amgm_pass`).

Stage 2, only for a gap that remains, within a budget (:data:`MAX_NODES` boxes, :data:`MAX_SECONDS`; when it
runs out, :class:`SearchBudgetExceeded` carries a certified interval): an exact branch and bound over the
*multiplier space* ``c ∈ [0, 2]^K`` that uses one fact of
docs/theory.md §10: every local minimiser ``S`` (no single addition or removal lowers ``f``) is a
**halfspace set**

.. math::

    \\{i : q_i < c \\cdot p_i\\} \\subseteq S \\subseteq \\{i : q_i \\le c \\cdot p_i\\}, \\qquad
    c = \\nabla h(P(S)) = \\Big(\\prod_{j \\ne k} p_j(S)\\Big)_k \\in [0, 1]^K

(``t ↦ h(a + t p_i)`` is convex for ``p_i ≥ 0``, so the marginal of a token is bounded by the gradient from
both sides). For a box ``C = [lo, hi]`` of multipliers, every local minimiser with ``c(S) ∈ C`` contains
``S_in = {q < lo·p}``, avoids ``{q > hi·p}`` and leaves the rest ``U`` undecided; and, with
``b = P(S_in)``, its multiplier lies in ``[∇h(b), ∇h(b + P(U))]`` (``∇h`` is monotone), which shrinks the
box (*propagation*, repeated until nothing changes; the search widens it by :data:`PROPAGATION_SLACK`
so that its boxes contain those the check recomputes with other rounding, which widens by half as much).
Lower bounds for every such ``S`` (:func:`_bounds` takes the largest):

.. math::

    f(S) \\ge q(S_{in}) - h(b + P(U)), \\qquad
    f(S) \\ge f(S_{in}) - \\sum_{i \\in U} (g \\cdot p_i - q_i)^+, \\qquad
    f(S) \\ge q(S_{in}) + \\min_{a \\in [b,\\, b + P(U)]} \\big[lo \\cdot (a - b) - h(a)\\big],

with ``g`` any linear over-estimate of the increase of ``h`` above ``b`` on the box (the marginals at the top
``b + P(U)``; telescoped products, one per order of the coordinates), and the last minimum taken over the
``2^K`` vertices (undecided tokens have ``q_i >= lo·p_i``). A box is closed when its bound is within
:data:`TOLERANCE` of the best set found, when it is empty, or when ``U`` is small enough to enumerate
(:data:`ENUMERATE_AT` tokens: the exact minimum over ``2^|U|`` sets). Otherwise, when one token holds most of
the bound's slack, it is branched on (in / out, same box); else the box is halved along its widest side.
The global minimiser is a local one, so it lies in some leaf.

Certificates
------------
1. The minimising set ``S`` (``cut_set``): an upper bound ``q(S) + 1 - Π p_k(S)`` on every exact scheme.
2. Stage 1 (:class:`AMGMBound`): the multipliers of the best lower bound and the best set;
   :meth:`AMGMBound.check` re-derives both ends of the interval from the raw data (one sort).
3. Stage 2, the closed search tree (:class:`CoverCertificate`): :meth:`CoverCertificate.check` re-derives every node
   from the raw data (its own classification of all ``n`` tokens, propagation and bounds, sums over
   whole sets), checks that the children of each node cover its propagated box (or force one token in
   and out) and that every leaf is empty or bounded below by ``value - tolerance``. Together with the halfspace fact this
   proves ``value ≤ P* + tolerance``; with (1), ``P* ≤ value``.
4. Local optimality of ``S`` against every single addition and removal, exactly in Fractions for Fraction
   inputs.

Ties: tokens whose vectors ``(q_i, p_{1,i}, …, p_{K,i})`` are equal after scaling are merged first (all or
none of such a group is optimal: ``f`` is concave along the group), tokens with ``q = 0 < Σ p`` are always
in, tokens with ``Σ p = 0`` always out.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.instance import Instance
from ..core.results import LPSolveError, OptimumResult, require

__all__ = [
    "submodular_optimum",
    "CoverCertificate",
    "local_move_gain",
    "TOLERANCE",
    "ENUMERATE_AT",
    "MAX_NODES",
    "MAX_SECONDS",
    "MAX_SORTS",
    "AMGMBound",
    "amgm_bounds",
    "SearchBudgetExceeded",
]

#: A box is closed when its lower bound is at least ``best - TOLERANCE`` (absolute, on ``P*``).
TOLERANCE = 1e-13
#: A box whose undecided set has at most this many (merged) tokens is solved by enumerating its subsets.
ENUMERATE_AT = 10
#: Last resort for a box that cannot shrink any more (degenerate ties): enumerate up to this many tokens.
ENUMERATE_MAX = 18
#: The search gives up (with an error, never a silent answer) after this many nodes.
MAX_NODES = 200_000
#: ... or after this many seconds (the budget of the branch and bound; stage 1 takes a few sorts).
MAX_SECONDS = 60.0
#: Extra allowance of :meth:`CoverCertificate.check`, whose sums (``math.fsum``) differ from the search's
#: running sums by rounding.
ROUNDING = 1e-14
#: Relative widening of the search's propagated boxes (covers the rounding of ``∇h(b)``).
PROPAGATION_SLACK = 1e-10
_ROOT = 2.0  # c* ∈ [0, 1]^K; [0, 2]^K keeps every midpoint a dyadic number (exact in float64)


def _grad(a: np.ndarray) -> np.ndarray:
    """``∇h(a)_k = Π_{j≠k} a_j`` for ``h(a) = Π_k a_k`` (shape (K,)), without division."""
    K = a.size
    out = np.ones(K)
    for k in range(K):
        for j in range(K):
            if j != k:
                out[k] *= a[j]
    return out


def _prod(a) -> float:
    out = 1.0
    for v in a:
        out *= float(v)
    return out


# ---------------------------------------------------------------------- reduced problem
@dataclass
class _Reduced:
    """Merged tokens: ``q`` (m,), ``P`` (K, m); ``groups[j]`` the original tokens of merged token ``j``;
    ``forced`` the original tokens always in (``q = 0 < Σ p``), ``b0 = P(forced)``."""

    q: np.ndarray
    P: np.ndarray
    groups: list
    forced: np.ndarray
    b0: np.ndarray


def _reduce(q: np.ndarray, P: np.ndarray) -> _Reduced:
    K, n = P.shape
    psum = P.sum(axis=0)
    forced = np.flatnonzero((q == 0) & (psum > 0))
    free = np.flatnonzero((q > 0) & (psum > 0))
    b0 = np.array([math.fsum(P[k, forced].tolist()) for k in range(K)])
    if free.size == 0:
        return _Reduced(np.zeros(0), np.zeros((K, 0)), [], forced, b0)
    # merge tokens with proportional vectors: equal keys after scaling by s = q + Σ p (keys in [0, 1], no
    # overflow; vectors whose keys round to the same float64 are proportional to ~1e-16)
    s = q[free] + psum[free]
    keys = np.concatenate([P[:, free] / s, (q[free] / s)[None, :]], axis=0).T
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    m = int(inverse.max()) + 1
    if m == free.size:
        return _Reduced(q[free].copy(), P[:, free].copy(), [np.array([t]) for t in free], forced, b0)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    groups = [free[g] for g in np.split(order, bounds)]
    qm = np.array([math.fsum(q[g].tolist()) for g in groups])
    Pm = np.array([[math.fsum(P[k, g].tolist()) for g in groups] for k in range(K)])
    return _Reduced(qm, Pm, groups, forced, b0)


# ---------------------------------------------------------------------- one node of the search
def _classify(q, PT, idx, lo, hi):
    """Split the tokens ``idx`` by the box: (in: ``q < lo·p``, out: ``q > hi·p``, undecided)."""
    s_lo = PT[idx] @ lo
    s_hi = PT[idx] @ hi
    qi = q[idx]
    return idx[qi < s_lo], idx[qi > s_hi], idx[(qi >= s_lo) & (qi <= s_hi)]


def _propagate(q, PT, lo, hi, U, b, qin, slack=0.0):
    """Shrink ``[lo, hi]`` to ``[∇h(b), ∇h(b + P(U))]`` and reclassify until nothing changes.

    Returns ``(lo, hi, U, b, qin, pU, empty)``; ``b``/``qin`` are the sums over ``S_in`` (incremental,
    each a sum of non-negative terms).
    """
    while True:
        pU = PT[U].sum(axis=0) if U.size else np.zeros(lo.size)
        new_lo = np.maximum(lo, _grad(b) * (1 - slack))
        new_hi = np.minimum(hi, _grad(b + pU) * (1 + slack) + slack)
        if np.any(new_lo > new_hi):
            return lo, hi, U, b, qin, pU, True
        changed = np.any(new_lo != lo) or np.any(new_hi != hi)
        lo, hi = new_lo, new_hi
        if not changed or U.size == 0:
            return lo, hi, U, b, qin, pU, False
        add, _, keep = _classify(q, PT, U, lo, hi)
        if keep.size == U.size:
            return lo, hi, U, b, qin, pU, False
        if add.size:
            b = b + PT[add].sum(axis=0)
            qin = qin + float(q[add].sum())
        U = keep


def _marginals(PT_U: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``M_i = h(B) - h(B - p_i)`` per row of ``PT_U`` (shape (u,)), as the telescoping sum
    ``Σ_k [Π_{j<k} (B_j - p_j)] p_k [Π_{j>k} B_j]`` of non-negative terms (no cancellation)."""
    u, K = PT_U.shape
    out = np.zeros(u)
    left = np.ones(u)
    for k in range(K):
        right = _prod(B[k + 1:])
        out += left * PT_U[:, k] * right
        left = left * np.maximum(B[k] - PT_U[:, k], 0.0)
    return out


def _slacks(q, PT, U, b, pU):
    """``(M_i - q_i)^+`` over ``U`` with ``M_i`` the marginal of ``i`` at the top ``b + P(U)``."""
    return np.maximum(_marginals(PT[U], b + pU) - q[U], 0.0)


def _orders(K: int):
    """Coordinate orders for the telescoped linear bounds: all of them for K <= 3, else the rotations of the
    identity and of its reverse."""
    if K <= 3:
        return list(itertools.permutations(range(K)))
    base = list(range(K))
    rots = [tuple(base[r:] + base[:r]) for r in range(K)]
    return rots + [tuple(reversed(o)) for o in rots]


def _bounds(q, PT, U, b, qin, pU, lo):
    """The lower bounds of the module docstring (their maximum) and the per-token slacks of the best one.

    Besides ``q(S_in) - h(b + P(U))``, each bound is ``f(S_in) - Σ_{i∈U} (g·p_i - q_i)^+`` for a vector ``g``
    with ``h(b + P(T)) - h(b) <= g·P(T)`` for every ``T ⊆ U``: the marginals at the top ``b + P(U)``
    (supermodularity), or, for an order of the coordinates, the telescoped
    ``g_k = Π_{j before k} (b + P(U))_j · Π_{j after k} b_j`` (multilinearity). And, since every undecided
    token has ``q_i >= lo·p_i``: ``f(S) >= q(S_in) + min_a [lo·(a - b) - h(a)]`` over ``a ∈ [b, b + P(U)]``, a
    multilinear function whose minimum is at one of the ``2^K`` vertices (strong when many tokens are tied
    at one multiplier, e.g. a target that mixes the drafts).
    """
    top = b + pU
    lb1 = qin - _prod(top)
    if U.size == 0:
        return lb1, np.zeros(0)
    K = b.size
    vert = min(float(lo @ (np.array(v) * pU)) - _prod(b + np.array(v) * pU)
               for v in itertools.product((0.0, 1.0), repeat=K))
    lb1 = max(lb1, qin + vert)
    base = qin - _prod(b)
    best_slack = _slacks(q, PT, U, b, pU)
    best = base - float(best_slack.sum())
    PU, qU = PT[U], q[U]
    for order in _orders(K):
        g = np.empty(K)
        for r, k in enumerate(order):
            g[k] = _prod(top[list(order[:r])]) * _prod(b[list(order[r + 1:])])
        slack = np.maximum(PU @ g - qU, 0.0)
        lb = base - float(slack.sum())
        if lb > best:
            best, best_slack = lb, slack
    return max(lb1, best), best_slack


def _enumerate(q, PT, U, b, qin):
    """Exact ``min_{T ⊆ U} qin + q(T) - h(b + P(T))`` and its minimiser (``|U| <= ENUMERATE_MAX``)."""
    m = U.size
    masks = ((np.arange(1 << m)[:, None] >> np.arange(m)[None, :]) & 1).astype(np.float64)
    vals = qin + masks @ q[U] - np.prod(b[None, :] + masks @ PT[U], axis=1)
    j = int(np.argmin(vals))
    return float(vals[j]), U[masks[j] > 0]


@dataclass
class _Node:
    lo: np.ndarray
    hi: np.ndarray
    parent: int
    forced_in: tuple = ()
    forced_out: tuple = ()
    status: str = "open"  # open, split, branch, empty, bound, enumerated
    bound: float = math.nan
    children: tuple = ()


def _node_state(q, PT, b0, lo, hi, forced_in, forced_out):
    """A node from scratch: classify every token, add the forced ones, sum, propagate (widened by half the
    search's slack: wider than the exact box by far more than rounding, narrower than the search's box)."""
    fin = np.array(forced_in, dtype=np.int64)
    keep = np.ones(q.size, dtype=bool)
    keep[fin] = False
    keep[np.array(forced_out, dtype=np.int64)] = False
    sin, _, U = _classify(q, PT, np.flatnonzero(keep), lo, hi)
    sin = np.concatenate([sin, fin])
    b = b0 + PT[sin].sum(axis=0)  # pairwise sums over the whole set (the search adds increments)
    qin = float(q[sin].sum())
    return _propagate(q, PT, lo, hi, U, b, qin, PROPAGATION_SLACK / 2)


@dataclass
class CoverCertificate:
    """The closed search tree of :func:`submodular_optimum`: a proof that no set beats the value by more
    than ``tolerance``.

    Attributes
    ----------
    nodes : list of _Node
        Node 0 is the root box ``[0, 2]^K``. A node stands for the local minimisers ``S`` with multiplier
        ``∇h(P(S))`` in its box, containing its ``forced_in`` tokens and none of its ``forced_out`` tokens
        (merged-token indices). ``split`` nodes have two children covering their propagated box;
        ``branch`` nodes two children that put one token in and out.
    value : float
        ``min f`` found (``P* - 1``), in float64.
    tolerance : float
    """

    nodes: list
    value: float
    tolerance: float
    reduced: _Reduced = field(repr=False)

    def check(self) -> dict:
        """Re-derive every node from the raw (merged) data and check that the tree closes.

        For each node: classify all tokens against its box afresh, propagate, and recompute the bounds from sums
        over the whole sets (not the search's running sums); the children of a ``split`` node must cover its propagated box (two boxes that
        meet along one side); the children of a ``branch`` node must force one token in and out; a leaf
        must be empty or have a bound ``>= value - tolerance - ROUNDING`` (enumerated leaves are
        re-enumerated). Raises ``AssertionError`` on any failure.

        Returns
        -------
        dict
            ``nodes``, ``leaves``, ``min_leaf_bound``.
        """
        red = self.reduced
        q, PT = red.q, np.ascontiguousarray(red.P.T)
        root = self.nodes[0]
        require(np.all(root.lo == 0.0) and np.all(root.hi == _ROOT) and not root.forced_in and not root.forced_out, 'check failed: np.all(root.lo == 0.0) and np.all(root.hi == _ROOT) and not root.forced_in and n')
        min_leaf, leaves = math.inf, 0
        for i, nd in enumerate(self.nodes):
            require(nd.status != "open", f"node {i} was left open")
            plo, phi, U, b, qin, pU, empty = _node_state(q, PT, red.b0, nd.lo, nd.hi, nd.forced_in, nd.forced_out)
            if nd.status in ("split", "branch"):
                c0, c1 = (self.nodes[c] for c in nd.children)
                require(c0.parent == i and c1.parent == i, f"node {i}: children point elsewhere")
                if nd.status == "branch":
                    t = (set(c0.forced_in) - set(nd.forced_in)) | (set(c1.forced_out) - set(nd.forced_out))
                    require(len(t) == 1 and not (t & set(nd.forced_in + nd.forced_out)), f"node {i}: bad branch")
                    require(set(c0.forced_in) == set(nd.forced_in) | t and set(c0.forced_out) == set(nd.forced_out), 'check failed: set(c0.forced_in) == set(nd.forced_in) | t and set(c0.forced_out) == set(nd.forc')
                    require(set(c1.forced_out) == set(nd.forced_out) | t and set(c1.forced_in) == set(nd.forced_in), 'check failed: set(c1.forced_out) == set(nd.forced_out) | t and set(c1.forced_in) == set(nd.for')
                    for c in (c0, c1):
                        require(empty or (np.all(c.lo <= plo) and np.all(c.hi >= phi)), f"node {i}: box shrank")
                    continue
                require(set(c0.forced_in) == set(c1.forced_in) == set(nd.forced_in), f"node {i}")
                require(set(c0.forced_out) == set(c1.forced_out) == set(nd.forced_out), f"node {i}")
                cut = np.flatnonzero(c0.hi != c1.hi)
                require(cut.size == 1 and np.array_equal(np.delete(c0.lo, cut), np.delete(c1.lo, cut)), f"node {i}")
                d = int(cut[0])
                require(c0.hi[d] == c1.lo[d] and c0.lo[d] <= c0.hi[d] <= c1.hi[d], f"node {i}: halves do not meet")
                if not empty:
                    require(np.all(c0.lo <= plo) and np.all(c1.hi >= phi), f"node {i}: children miss part of the box")
                continue
            leaves += 1
            if empty:
                continue
            require(nd.status != "empty", f"node {i} is not empty")
            if nd.status == "enumerated" and U.size <= ENUMERATE_MAX:
                lb, _ = _enumerate(q, PT, U, b, qin)
            else:
                lb, _ = _bounds(q, PT, U, b, qin, pU, plo)
            require(lb >= self.value - self.tolerance - ROUNDING, f"node {i}: lower bound {lb!r} below value {self.value!r} - tolerance")
            min_leaf = min(min_leaf, lb)
        return {"nodes": len(self.nodes), "leaves": leaves, "min_leaf_bound": min_leaf}


class _BudgetSpent(Exception):
    """Internal: the search ran out of boxes or seconds; carries ``(best_val, best_set, lower)`` in ``f`` units."""


def _search(red: _Reduced, tolerance: float, progress=None, max_nodes: int = MAX_NODES, progress_every: int = 1000,
            init_val: float = math.inf, max_seconds: float | None = None):
    """Best-first branch and bound over multiplier boxes ``[lo, hi] ⊆ [0, 2]^K`` for ``min_S f(S)``.

    ``f(S) = q(S) - h(b_0 + P(S))`` on the merged tokens of ``red`` (``b_0`` the mass merged away), as in the
    module docstring. Steps:

    1. **Incumbent.** Two fixed-point runs ``S <- {i : q_i < ∇h(P(S)) · p_i}`` (from every token and from the
       empty set; at most 50 steps each) give a first set; the empty set (``f = -h(b_0)``) is the fallback.
    2. **Boxes.** The heap holds ``(lower bound, node, U, b, q(S_in))`` in bound order, starting from the root
       box ``[0, 2]^K`` with every token undecided. Popping a box classifies its undecided tokens
       (:func:`_classify`: ``q < lo·p`` is in, ``q > hi·p`` out) and propagates the box
       (:func:`_propagate`) until it is fixed or empty.
    3. **Upper bound.** The halfspace set of the box's centre, completed with the forced tokens, is evaluated
       exactly (:func:`math.fsum`) and replaces the incumbent when smaller.
    4. **Close** the box when it is empty, when ``U`` is small enough to enumerate (:data:`ENUMERATE_AT`
       tokens, or :data:`ENUMERATE_MAX` on a box of width ``<= 1e-12``: :func:`_enumerate`), or when its
       lower bound (:func:`_bounds`) is within ``tolerance`` of the incumbent.
    5. **Branch** on the token with more than half the bound's slack (in / out, same box), or **split** the
       box in half along its widest side (midpoints stay dyadic, so exact in float64).

    Parameters
    ----------
    red : _Reduced
        The merged instance (:func:`_reduce`).
    tolerance : float
        A box closes when its lower bound is ``>= best - tolerance``.
    progress : callable, optional
        Called every ``progress_every`` boxes with ``{"nodes", "open", "best"}`` (``best`` is ``1 + f``).
    max_nodes : int
        More boxes than this end the search (:class:`_BudgetSpent`, turned into a certified interval by the
        caller; no value is reported as ``P*``).
    init_val : float
        An incumbent ``f`` value already known (the first stage's best set), or ``inf``.
    max_seconds : float, optional
        A time budget, ending the search like ``max_nodes``.

    Returns
    -------
    best_val : float
        ``min f`` found (``P* = 1 + best_val``).
    best_set : numpy.ndarray of int64
        Its minimiser, as merged-token indices.
    nodes : list of _Node
        The search tree (status, bound, children per box), the material of :class:`CoverCertificate`.
    count : int
        Boxes popped.
    """
    q, PT = red.q, np.ascontiguousarray(red.P.T)
    K = red.P.shape[0]
    m = q.size
    allidx = np.arange(m)
    started = time.perf_counter()
    # incumbent: the first stage's set (its value ``init_val``; ``best_set`` None while it stands), the empty
    # set (f = -h(b0)) and fixed-point iterations S <- {q < ∇h(P(S))·p}
    best_val, best_set = init_val, None
    if -_prod(red.b0) < best_val:
        best_val, best_set = -_prod(red.b0), np.zeros(0, dtype=np.int64)

    def value_of(T):
        a = red.b0 + np.array([math.fsum(PT[T, k].tolist()) for k in range(K)])
        return math.fsum(q[T].tolist()) - _prod(a)

    def full_set(node, lo, hi, T):
        free = np.setdiff1d(allidx, np.array(node.forced_in + node.forced_out, dtype=np.int64))
        sin = _classify(q, PT, free, lo, hi)[0]
        return np.union1d(np.union1d(sin, np.array(node.forced_in, dtype=np.int64)), T)

    for start in (allidx, np.zeros(0, dtype=np.int64)):
        T = start
        for _ in range(50):
            a = red.b0 + (PT[T].sum(axis=0) if T.size else 0.0)
            T2 = np.flatnonzero(q < PT @ _grad(a))
            if np.array_equal(T2, T):
                break
            T = T2
        v = value_of(T)
        if v < best_val:
            best_val, best_set = v, T

    nodes = [_Node(np.zeros(K), np.full(K, _ROOT), -1)]
    heap = [(-math.inf, 0, allidx, red.b0.copy(), 0.0)]
    count = 0
    while heap:
        key, i, U, b, qin = heapq.heappop(heap)
        node = nodes[i]
        add, _, U = _classify(q, PT, U, node.lo, node.hi)
        if add.size:
            b = b + PT[add].sum(axis=0)
            qin = qin + float(q[add].sum())
        lo, hi, U, b, qin, pU, empty = _propagate(q, PT, node.lo, node.hi, U, b, qin, PROPAGATION_SLACK)
        count += 1
        if progress is not None and count % progress_every == 0:
            progress({"nodes": count, "open": len(heap), "best": 1.0 + best_val})
        if count > max_nodes or (max_seconds is not None and count % 64 == 0
                                 and time.perf_counter() - started > max_seconds):
            # every set not yet excluded lies in the popped box or an open one: their keys bound it from below
            lower = min([e[0] for e in heap] + [key, best_val - tolerance])
            raise _BudgetSpent(best_val, best_set, lower, count)
        if empty:
            node.status = "empty"
            continue
        # an upper bound: the halfspace set of the box's centre
        mid = lo + (hi - lo) / 2
        T = U[q[U] < PT[U] @ mid]
        cand = qin + float(q[T].sum()) - _prod(b + (PT[T].sum(axis=0) if T.size else 0.0))
        if cand < best_val:
            full = full_set(node, lo, hi, T)
            v = value_of(full)
            if v < best_val:
                best_val, best_set = v, full
        width = float(np.max(hi - lo))
        if U.size <= ENUMERATE_AT or (U.size <= ENUMERATE_MAX and width <= 1e-12):
            lb, T = _enumerate(q, PT, U, b, qin)
            node.status, node.bound = "enumerated", lb
            if lb < best_val:
                full = full_set(node, lo, hi, T)
                v = value_of(full)
                if v < best_val:
                    best_val, best_set = v, full
            continue
        lb, slack = _bounds(q, PT, U, b, qin, pU, lo)
        if lb >= best_val - tolerance:
            node.status, node.bound = "bound", lb
            continue
        j = int(np.argmax(slack))
        d = int(np.argmax(hi - lo))
        midd = lo[d] + (hi[d] - lo[d]) / 2
        if slack[j] > 0.5 * float(slack.sum()) or not (lo[d] < midd < hi[d]):
            # one token holds most of the slack: branch on it (in / out), same box
            t = int(U[j])
            rest = np.delete(U, j)
            node.status = "branch"
            node.children = (len(nodes), len(nodes) + 1)
            nodes.append(_Node(lo, hi, i, node.forced_in + (t,), node.forced_out))
            heapq.heappush(heap, (lb, len(nodes) - 1, rest, b + PT[t], qin + float(q[t])))
            nodes.append(_Node(lo, hi, i, node.forced_in, node.forced_out + (t,)))
            heapq.heappush(heap, (lb, len(nodes) - 1, rest, b, qin))
            continue
        h0, l1 = hi.copy(), lo.copy()
        h0[d], l1[d] = midd, midd
        node.status = "split"
        node.children = (len(nodes), len(nodes) + 1)
        for clo, chi in ((lo, h0), (l1, hi)):
            nodes.append(_Node(clo, chi, i, node.forced_in, node.forced_out))
            heapq.heappush(heap, (lb, len(nodes) - 1, U, b, qin))
    return best_val, best_set, nodes, count


# ---------------------------------------------------------------------- first stage: the AM–GM bound
#: Unit roundoff of the bound's arithmetic (``np.longdouble``: 2^-64 on x86-64; where it is float64 the
#: stated error terms grow accordingly and the bound stays valid, only looser).
_LD = np.longdouble
_U_LD = float(np.finfo(_LD).eps) / 2
_U64 = 2.0 ** -53
#: At most this many sorts in the AM–GM stage before the branch and bound takes the remaining gap.
MAX_SORTS = 40


def _gamma(j: int, u: float = _U_LD) -> float:
    """Higham's ``γ_j = j u / (1 - j u)``: the relative error bound of ``j`` roundings of non-negative terms."""
    return j * u / (1.0 - j * u)


def _float_down(x) -> float:
    """A float64 ``<= x`` (``x`` a longdouble within one longdouble rounding of the value it stands for)."""
    return float(np.nextafter(np.nextafter(float(x), -math.inf), -math.inf))


def _float_up(x) -> float:
    return float(np.nextafter(np.nextafter(float(x), math.inf), math.inf))


def _amgm_pass(q: np.ndarray, P: np.ndarray, lam: np.ndarray):
    """One sort: a certified lower bound on ``min_S f(S)`` for the multipliers ``lam`` and the order used.

    By AM–GM, ``Π_k a_k <= Π_k (m/λ_k)`` with ``m = Σ_k λ_k a_k / K``, so with ``m_i = Σ_k λ_k p_{k,i} / K``
    every ``S`` has ``f(S) >= q(S) - Π_k (m(S)/λ_k)``, an identical-draft problem whose minimum over all sets
    is at a prefix of the ``q_i / m_i`` order (docs/theory.md §4: on each piece of the fractional knapsack
    ``min{q(S) : m(S) >= x}`` the objective is concave). The order is computed from rounded ratios
    ``ρ_i``; it is the exact order of ``q''_i = ρ_i m̃_i`` (``|q''_i - q_i| <= u q_i``), and every rounding
    (``m̃_i``, the ratios, the prefix sums, the product) is bounded by ``γ_j`` terms and subtracted, so the
    returned bound is valid for the real numbers. Tokens with ``m̃_i = 0`` or an infinite ratio go last with
    ``m''_i = 0``; their (tiny) true mass is added to every prefix's ``m``.

    Returns ``(lower, order, j_sur, fvals)``: ``lower`` (longdouble) ``<= min_S f(S)``; ``order`` (n,) the
    token order; ``j_sur`` the length of the surrogate's minimising prefix; ``fvals`` (n + 1,) the float64
    values ``f`` of every prefix (candidates for the upper bound, not certified).
    """
    K, n = P.shape
    u, g = _U_LD, _gamma(n + 1)
    tiny = float(np.finfo(_LD).smallest_subnormal) if hasattr(np.finfo(_LD), "smallest_subnormal") else 0.0
    qL = q.astype(_LD)
    lamL = lam.astype(_LD)
    mt = (lamL[:, None] * P.astype(_LD)).sum(axis=0) / _LD(K)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rho = qL / mt
    last = ~np.isfinite(rho)
    rho[last] = np.inf
    order = np.argsort(rho, kind="stable")
    fin = ~last[order]
    zero = np.zeros(1, dtype=_LD)
    Qc = np.concatenate([zero, np.cumsum(qL[order])])
    Mc = np.concatenate([zero, np.cumsum(np.where(fin, mt[order], 0))])
    alpha = 1.0 + 2.0 * _gamma(2 * K + 2)  # m_i <= alpha m̃_i
    mmax = float(mt.max()) if n else 0.0
    tau = _LD(n * tiny * max(1.0, mmax))  # absolute error of subnormal ratios (never on x86-64 long double)
    eta = (_LD(1.0 + g) * mt[last].sum() if last.any() else _LD(0)) + _LD(n * (K + 1) * tiny)
    # q(S) >= (q''(S) - tau) / (1 + u); q''(P_j) >= (1 - u) q(P_j) - tau; q(P_j) >= Qc_j (1 - g)
    A = (_LD((1 - u) * (1 - g)) * Qc - 2 * tau) / _LD(1 + u)
    A = A - _LD(8 * u) * np.abs(A)
    B = _LD(alpha) * (_LD(1 + g) * Mc + eta)
    Phi = np.ones(n + 1, dtype=_LD)
    for k in range(K):
        Phi = Phi * (B / lamL[k])
    Phi = Phi * _LD(1 + 2 * _gamma(2 * K + 2))
    L = A - Phi
    L = L - _LD(4 * u) * (np.abs(A) + Phi)
    j_sur = int(np.argmin(L))
    lower = L[j_sur]
    Pc = np.cumsum(P[:, order], axis=1)
    prod = np.ones(n + 1)
    for k in range(K):
        prod[1:] *= Pc[k]
    prod[0] = 0.0 if n else 1.0
    fvals = np.concatenate([[0.0], np.cumsum(q[order])]) - prod
    return lower, order, j_sur, fvals


def _upper_bound(q: np.ndarray, P: np.ndarray, mask: np.ndarray) -> float:
    """A float64 ``>= q(S) + 1 - Π_k p_k(S)`` (correctly rounded sums, outward-rounded product)."""
    K = P.shape[0]
    qs = math.fsum(q[mask].tolist())
    prod = _LD(1)
    for k in range(K):
        prod = prod * _LD(math.fsum(P[k, mask].tolist()) * (1 - _U64))
    prod = prod * _LD(1 - _gamma(K + 1))
    return _float_up(_LD(qs) * _LD(1 + _U64) + _LD(1) - prod)


@dataclass
class AMGMBound:
    """The first stage of :func:`submodular_optimum`: a certified interval for ``P*`` from a few sorts.

    Attributes
    ----------
    lower, upper : float
        ``lower <= P* <= upper``, both rounded outward (float64).
    cut_mask : numpy.ndarray of bool, shape (n,)
        The best set evaluated: ``upper`` bounds its cut value ``q(S) + 1 - Π_k p_k(S)`` from above.
    lambdas : numpy.ndarray, shape (K,)
        The multipliers of the best lower bound (re-checked by :meth:`check`).
    sorts : int
        Number of sorts (one per multiplier vector tried).
    history : list of (float, float)
        ``(lower, upper)`` after each sort.
    """

    lower: float
    upper: float
    cut_mask: np.ndarray = field(repr=False)
    lambdas: np.ndarray
    sorts: int
    history: list = field(default_factory=list, repr=False)

    @property
    def gap(self) -> float:
        """``upper - lower`` (``>= 0``)."""
        return self.upper - self.lower

    def check(self, q: np.ndarray, P: np.ndarray) -> dict:
        """Re-derive both ends from the raw data: one sort at :attr:`lambdas` for the lower end and the cut
        value of :attr:`cut_mask` for the upper end. Raises ``AssertionError`` when either is off.

        Returns
        -------
        dict
            ``lower``, ``upper``, ``sorts``.
        """
        low = _float_down(_LD(1) + _amgm_pass(q, P, self.lambdas)[0])
        up = _upper_bound(q, P, self.cut_mask)
        require(low >= self.lower, f"check failed: the AM-GM lower bound {low!r} is below the claimed {self.lower!r}")
        require(up <= self.upper, f"check failed: the cut value bound {up!r} is above the claimed {self.upper!r}")
        return {"lower": self.lower, "upper": self.upper, "sorts": self.sorts}


def amgm_bounds(q: np.ndarray, P: np.ndarray, *, tolerance: float = 0.0, max_sorts: int = MAX_SORTS) -> AMGMBound:
    """A certified interval ``[lower, upper]`` for ``P*`` of K independent drafts from a few sorts.

    .. math::

        \\prod_k a_k \\le \\frac{1}{\\prod_k \\lambda_k} \\Big(\\frac{1}{K}\\sum_k \\lambda_k a_k\\Big)^K
        \\quad (\\lambda > 0), \\qquad
        P^* - 1 = \\min_S f(S) \\ge \\min_S \\; q(S) - \\prod_k \\frac{m_\\lambda(S)}{\\lambda_k}, \\quad
        m_\\lambda = \\frac{1}{K} \\sum_k \\lambda_k p_k,

    an identical-draft problem (one sort of ``q / m_λ``, docs/theory.md §10); every prefix ``S`` of that order
    gives ``P* <= f(S) + 1``. Iterated with ``λ_k <- 1 / p_k(S_λ)`` (``S_λ`` the minimising prefix of the
    bound): at a fixed point the bound is tight at ``S_λ`` and the interval closes. Stops when
    ``upper - lower <= tolerance``, at a repeated set, or after ``max_sorts`` sorts. All bounds are rounded
    outward (see :func:`_amgm_pass`).

    Parameters
    ----------
    q : numpy.ndarray, shape (n,)
        The target (float64, non-negative).
    P : numpy.ndarray, shape (K, n)
        The drafts.
    tolerance : float
    max_sorts : int

    Returns
    -------
    AMGMBound

    Examples
    --------
    >>> import numpy as np
    >>> b = amgm_bounds(np.array([0.5, 0.3, 0.2]), np.array([[0.1, 0.2, 0.7], [0.1, 0.1, 0.8]]))
    >>> b.sorts, round(b.lower, 12), round(b.upper, 12), b.gap < 1e-15, np.flatnonzero(b.cut_mask).tolist()
    (2, 0.64, 0.64, True, [2])
    >>> b = amgm_bounds(np.array([0.1, 0.2, 0.1, 0.6]), np.array([[0.8, 0, 0.2, 0], [0.1, 0.3, 0, 0.6]]))
    >>> round(b.lower, 4), round(b.upper, 12)   # docs/theory.md §4: a gap left to the branch and bound
    (0.8975, 0.98)
    """
    K, n = P.shape
    lam = np.ones(K)
    best_low, best_lam = -math.inf, lam
    best_up, best_mask = math.inf, np.zeros(n, dtype=bool)
    seen, history = set(), []
    sorts = 0
    while sorts < max_sorts:
        low_ld, order, j_sur, fvals = _amgm_pass(q, P, lam)
        sorts += 1
        low = _float_down(_LD(1) + low_ld)
        if low > best_low:
            best_low, best_lam = low, lam
        for j in {int(np.argmin(fvals)), j_sur}:
            if 1.0 + fvals[j] < best_up + 1e-15:
                mask = np.zeros(n, dtype=bool)
                mask[order[:j]] = True
                up = _upper_bound(q, P, mask)
                if up < best_up:
                    best_up, best_mask = up, mask
        history.append((best_low, best_up))
        if best_up - best_low <= tolerance:
            break
        a = np.array([math.fsum(P[k, order[:j_sur]].tolist()) for k in range(K)])
        key = (j_sur, tuple(a.tolist()))
        if key in seen or not np.all(a > 0):
            break  # a repeated set (a cycle or a fixed point) or a draft without mass on S_λ
        seen.add(key)
        lam = 1.0 / a
        lam = lam / lam.max()
    return AMGMBound(best_low, best_up, best_mask, best_lam, sorts, history)


def local_move_gain(inst: Instance, cut_set) -> tuple:
    """The largest decrease of ``f`` by adding or removing one token: ``(gain, token)`` (``gain <= 0`` means
    ``S`` is a local minimum). Exact in Fractions for exact instances; ``O(nK)``.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from lpspec.core.instance import make_instance
    >>> inst = make_instance(target=[F(1, 10), F(1, 5), F(1, 10), F(3, 5)],
    ...                      drafts=[[F(4, 5), 0, F(1, 5), 0], [F(1, 10), F(3, 10), 0, F(3, 5)]])
    >>> local_move_gain(inst, (0, 1))[0] <= 0
    True
    """
    n, K = inst.n, inst.k
    mask = np.zeros(n, dtype=bool)
    mask[list(cut_set)] = True
    a = [inst.subset_mass(inst.drafts[k], mask) for k in range(K)]
    base = inst.cut_value(mask)
    best, arg = None, None
    for i in range(n):
        sign = -1 if mask[i] else 1
        prod = inst.one()
        for k in range(K):
            prod = prod * (a[k] + sign * inst.drafts[k][i])
        qS = base - inst.one() + math.prod(a) if inst.exact else None
        if inst.exact:
            new = qS + sign * inst.target[i] + 1 - prod
        else:
            new = float(base) + sign * float(inst.target[i]) + _prod(a) - prod
        gain = base - new
        if best is None or gain > best:
            best, arg = gain, i
    return best, arg


class SearchBudgetExceeded(LPSolveError):
    """The branch and bound of :func:`submodular_optimum` stopped at its budget: an interval, not a value.

    Attributes
    ----------
    bounds : tuple of float
        ``(lower, upper)`` with ``lower <= P* <= upper``: the AM–GM bound and the open boxes' bounds below
        (float64, the search's bounds widened by its tolerance and :data:`ROUNDING`), the best set's cut
        value rounded up above.
    cut_set : tuple of int
        The best set found (``upper`` bounds its cut value).
    nodes : int
        Boxes processed.
    seconds : float
        Time spent in the search.
    """

    def __init__(self, message: str, bounds: tuple, cut_set: tuple, nodes: int, seconds: float):
        super().__init__(message)
        self.bounds = bounds
        self.cut_set = cut_set
        self.nodes = nodes
        self.seconds = seconds


def _reporter(progress, total: int):
    """``(callable or None, bar or None)`` for ``progress=`` (None, True, or a callable)."""
    if progress is None or progress is False:
        return None, None
    if callable(progress):
        return progress, None
    if progress is not True:
        raise ValueError(f"progress={progress!r} must be None, True (a tqdm bar, or lines on stderr without tqdm) "
                         "or a callable taking a dict.")
    import sys

    try:
        from tqdm.auto import tqdm
    except ImportError:  # the ``tables`` extra is not installed: plain lines on stderr
        def line(info):
            print(f"lpspec: submodular search: {info['nodes']:,} boxes, {info['open']:,} open, "
                  f"P* in [{info['lower']:.15g}, {info['best']:.15g}]", file=sys.stderr)
        return line, None
    bar = tqdm(total=total, desc="submodular search", unit="box", file=sys.stderr, leave=False)
    seen = [0]

    def report(info):
        bar.update(info["nodes"] - seen[0])
        seen[0] = info["nodes"]
        bar.set_postfix(open=info["open"], best=f"{info['best']:.15g}", refresh=False)
    return report, bar


def _local_gain_float(q: np.ndarray, P: np.ndarray, mask: np.ndarray) -> float:
    """``max_i f(S) - f(S △ {i})`` in float64, vectorised (the float twin of :func:`local_move_gain`)."""
    sign = np.where(mask, -1.0, 1.0)
    a = P[:, mask].sum(axis=1)
    base = q[mask].sum() - _prod(a)
    moved = q[mask].sum() + sign * q - np.prod(a[:, None] + sign[None, :] * P, axis=0)
    return float(np.max(base - moved)) if q.size else 0.0


def submodular_optimum(inst: Instance, *, tolerance: float = TOLERANCE, progress=None, progress_every: int = 1000,
                       check: bool = True, max_nodes: int = MAX_NODES, max_seconds: float | None = MAX_SECONDS,
                       first_stage: bool = True) -> OptimumResult:
    """``P*`` for K independent drafts (different or not) at large n: AM–GM bound first, branch and bound for the
    rest, each with a certificate.

    .. math::

        P^* = \\min_{S \\subseteq \\Omega} \\; q(S) + 1 - \\prod_k p_k(S)

    (docs/theory.md §3, §10). Stage 1 (:func:`amgm_bounds`): a few sorts give a certified interval
    ``[lower, upper]``; when its width is at most ``tolerance`` the best set is returned. Stage 2 (only for
    the remaining gap): the multiplier-space branch and bound of the module docstring, started from the
    stage-1 set, within a budget of ``max_nodes`` boxes and ``max_seconds`` seconds; when the budget runs
    out it raises :class:`SearchBudgetExceeded` whose ``.bounds`` is a certified interval (never a value).

    Parameters
    ----------
    inst : Instance
        ``law="independent"``, drafts (K, n).
    tolerance : float
        Width of the certified interval (absolute, on ``P*``) at which a result is returned.
    progress : None, True or callable, optional
        The branch and bound only: ``True`` shows a tqdm bar on stderr (lines on stderr without tqdm); a
        callable is called every ``progress_every`` boxes with ``{"nodes", "open", "best", "lower"}``.
    progress_every : int
    check : bool
        Re-derive the certificate (:meth:`AMGMBound.check` or :meth:`CoverCertificate.check`) and check
        local optimality before returning (default True).
    max_nodes : int
        Box budget of the branch and bound (:data:`MAX_NODES`).
    max_seconds : float or None
        Time budget of the branch and bound (:data:`MAX_SECONDS`; None: boxes only).
    first_stage : bool
        False skips the AM–GM stage (the branch and bound alone; for tests and benchmarks).

    Returns
    -------
    OptimumResult
        ``.value`` (Fraction for exact input: the exact value of the certified set), ``.cut_set``,
        ``.method == "submodular"``; ``.details``: ``stage`` (``"amgm"`` or ``"branch_and_bound"``),
        ``bounds`` (``(lower, upper)``: ``lower <= P* <= upper``, width ``<= tolerance`` plus rounding),
        ``sorts``, ``amgm`` (:class:`AMGMBound`), ``certificate`` (the stage's), ``nodes`` (boxes, 0 when
        stage 1 decided), ``tolerance``, ``local_gain`` (``<= 0`` up to rounding), ``check``.

    Raises
    ------
    SearchBudgetExceeded
        The branch and bound's budget ran out; ``.bounds`` holds the certified interval.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from lpspec.core.instance import make_instance
    >>> inst = make_instance(target=[F(1, 10), F(1, 5), F(1, 10), F(3, 5)],
    ...                      drafts=[[F(4, 5), 0, F(1, 5), 0], [F(1, 10), F(3, 10), 0, F(3, 5)]])
    >>> r = submodular_optimum(inst)
    >>> r.value, r.cut_set, r.details["stage"]   # docs/theory.md §4: the AM–GM bound leaves a gap
    (Fraction(49, 50), (0, 1), 'branch_and_bound')
    >>> r = submodular_optimum(make_instance(target=[0.5, 0.3, 0.2], drafts=[[0.1, 0.2, 0.7], [0.1, 0.1, 0.8]]))
    >>> round(r.value, 12), r.cut_set, r.details["stage"], r.details["sorts"], r.details["nodes"]
    (0.64, (2,), 'amgm', 2, 0)
    """
    if inst.law != "independent":
        raise ValueError(
            f"method='submodular' needs law='independent' (got {inst.law!r}): Pr(set(X) ⊆ S) must be the product "
            "of the drafts' masses. Use method='auto'.")
    q = inst.target.astype(np.float64)
    P = inst.drafts.astype(np.float64)
    n, K = inst.n, inst.k
    started = time.perf_counter()
    first = amgm_bounds(q, P, tolerance=tolerance, max_sorts=MAX_SORTS if first_stage else 1)
    details = {"amgm": first, "sorts": first.sorts, "tolerance": tolerance, "nodes": 0}
    if first_stage and first.gap <= tolerance:
        mask = first.cut_mask
        details.update(stage="amgm", certificate=first, bounds=(first.lower, first.upper))
        if check:
            details["check"] = first.check(q, P)
    else:
        red = _reduce(q, P)
        init_val = math.inf
        if first_stage:
            m0 = first.cut_mask
            init_val = math.fsum(q[m0].tolist()) - _prod([math.fsum(P[k, m0].tolist()) for k in range(K)])
        report, bar = _reporter(progress, max_nodes)
        if report is not None:
            inner = report

            def report(info):
                inner({**info, "lower": first.lower})
        try:
            best_val, best_set, nodes, count = _search(red, tolerance, report, max_nodes=max_nodes,
                                                        progress_every=progress_every, init_val=init_val,
                                                        max_seconds=max_seconds)
        except _BudgetSpent as stop:
            best_val, best_set, lower, count = stop.args
            mask = first.cut_mask if best_set is None else _mask_of(red, best_set, n)
            up = _upper_bound(q, P, mask)
            low = max(first.lower, _float_down(_LD(1 + lower) - _LD(ROUNDING)), 0.0)
            secs = time.perf_counter() - started
            raise SearchBudgetExceeded(
                f"the submodular search stopped at its budget ({max_nodes:,} boxes or "
                f"{max_seconds if max_seconds is not None else math.inf:g} s; used {count:,} boxes, {secs:.1f} s; "
                f"n={n}, K={K}) with P* in the certified interval [{low!r}, {up!r}] (width {up - low:.2g} > "
                f"tolerance {tolerance:g}); no value is reported. Raise max_nodes= / max_seconds=, or use "
                "method='lp' (small n).", (low, up), tuple(int(i) for i in np.flatnonzero(mask)), count, secs)
        finally:
            if bar is not None:
                bar.close()
        mask = first.cut_mask if best_set is None else _mask_of(red, best_set, n)
        cert = CoverCertificate(nodes, best_val, tolerance, red)
        up = _upper_bound(q, P, mask)
        low = max(first.lower,
                  _float_down(_LD(1 + best_val) - _LD(tolerance + ROUNDING)))
        details.update(stage="branch_and_bound", certificate=cert, nodes=count, merged_tokens=red.q.size,
                       bounds=(low, up))
        if check:
            details["check"] = cert.check()
    cut = tuple(int(i) for i in np.flatnonzero(mask))
    value = inst.cut_value(mask)
    if check:
        if inst.exact:
            gain, token = local_move_gain(inst, cut)
        else:
            gain, token = _local_gain_float(q, P, mask), None
        limit = inst.arith.tolerance(4 * tolerance)
        if gain > limit:
            raise LPSolveError(f"the certified set can be improved by moving token {token} (by {float(gain):.3g}); "
                               "no value is reported.")
        details["local_gain"] = gain
        low, up = details["bounds"]
        if not (low - 1e-12 <= float(value) <= up + 1e-12):
            raise LPSolveError(f"the set's cut value {float(value)!r} lies outside its certified interval "
                               f"[{low!r}, {up!r}]; no value is reported.")
    return OptimumResult(value, cut, "submodular", value, details)


def _mask_of(red: _Reduced, best_set: np.ndarray, n: int) -> np.ndarray:
    """The original tokens of a set of merged tokens, plus the always-in ones."""
    mask = np.zeros(n, dtype=bool)
    mask[red.forced] = True
    for j in best_set.tolist():
        mask[red.groups[j]] = True
    return mask
