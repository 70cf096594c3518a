"""Sequence-level block verifiers: exact ``τ``, their continuation tables and block laws.

The theory (Lemma 2, the block LP) is the sequence-level section of docs/theory.md; the depth-by-depth
recursion is docs/theory.md §11.

Three verifiers of one block of ``L`` drafted tokens, each lossless in the sense of Lemma 2
(``0 <= c(ua) <= q(a | u) c(u)``, ``c(u) = Pr(the output block strictly extends u)``):

* ``"block_verification"`` — Sun et al., "Block verification accelerates speculative decoding" (2024), one
  draft path (``K = 1``). Its continuation table has the closed form
  ``c(u) = min_{0<=i<=|u|} P(u_{<=i}) Q(u_{>i} | u_{<=i})``, computed by the recursion
  ``c(ua) = min(P(ua), q(a | u) c(u))``.
* ``"stepwise_optimal"`` — the best depth-by-depth tree for ``K`` i.i.d. draft paths: at every (depth, context,
  ``j`` surviving drafts) the token-level plan maximising ``Σ_y Σ_m a(y, m) V_{d+1}(y, m)`` (a DP over
  token-level transport LPs, exact in rationals or HiGHS with residual and dual checks).
* ``"traversal"`` — Traversal Verification (Weng et al., arXiv 2505.12398) run on the trie of ``K`` i.i.d.
  draft paths: leaf-to-root, sequence-level acceptance probabilities.

Each scheme gives ``τ`` and the continuation table of every start token (:func:`continuation_tables`),
the output law of the algorithm on one tuple of draft paths (:func:`block_law_given_paths`), its block law
by enumerating the ``n^{LK}`` draft tuples (:func:`enumerated_block_law`), and a sampler that runs the
algorithm itself (:meth:`BlockSchemeResult.sample`). ``BLOCK_SCHEMES`` maps the names to the functions.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..core.keywords import DRAFTS, keyword_aliases
from .chains import markov_chains
from .tree import BlockTree, block_tree, bounded_power, c_from_block_law

__all__ = ["BLOCK_SCHEMES", "MAX_ENUMERATED_TUPLES", "MAX_PLAN_ENTRIES", "BlockSchemeResult", "block_law_given_paths",
           "block_verification", "continuation_tables", "enumerated_block_law", "sequence_block_efficiency",
           "stepwise_optimal", "traversal"]

#: Largest ``n^{LK}`` (draft-path tuples) that :func:`enumerated_block_law` enumerates.
MAX_ENUMERATED_TUPLES = 200_000
#: Largest ``(number of draft multisets) x n`` of one token-level LP of ``stepwise_optimal``.
MAX_PLAN_ENTRIES = 200_000


# ----------------------------------------------------------------------------------------------- inputs

def _chains(target, drafts, start):
    """``(q, p, {start token: weight}, exact)`` from matrices (floats or Fractions) and ``start``."""
    c = markov_chains(target, drafts, start)
    return c.target, c.drafts, dict(c.starts), c.exact


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer.")
    return int(value)


# ----------------------------------------------------------------------------------------------- result

@dataclass
class BlockSchemeResult:
    """Exact ``τ`` of a sequence-level block verifier, with its continuation tables.

    Attributes
    ----------
    scheme : str
    k, length : int
        ``K`` draft paths of ``L`` tokens.
    value : float or Fraction
        ``τ = Σ_s start(s) τ(s)``, ``τ(s) = 1 + Σ_{u ≠ ∅} c_s(u)``.
    start : dict
        ``{start token: weight}`` (the start law's support).
    tables : dict
        ``{start token: c}``, ``c`` a continuation table (list of ``L + 1`` arrays, ``c[d]`` of shape ``(n^d,)``).
    trees : dict
        ``{start token: BlockTree}``.
    exact : bool
        Fractions throughout.
    """

    scheme: str
    k: int
    length: int
    value: float | Fraction
    start: dict
    tables: dict
    trees: dict = field(repr=False)
    exact: bool = False
    _state: dict = field(default_factory=dict, repr=False)

    def reach(self) -> list:
        """``Pr[N >= d]``, ``d = 0..L`` (``N`` accepted draft tokens), averaged over the start law."""
        zero = Fraction(0) if self.exact else 0.0
        out = []
        for d in range(self.length + 1):
            out.append(sum((w * _total(self.tables[s][d]) for s, w in self.start.items()), start=zero))
        return out

    def sample(self, paths, rng, *, start: int | None = None) -> tuple:
        """Run the verifier itself on ``paths`` (a tuple of ``K`` tuples of ``L`` token ids) from ``start``
        (default: the only start token); returns the output block (accepted prefix plus one token).

        Examples
        --------
        >>> r = block_verification(target=[[0.5, 0.5], [0.5, 0.5]], drafts=[[0.5, 0.5], [0.5, 0.5]], start=0,
        ...                        length=2)
        >>> r.sample(((1, 0),), np.random.default_rng(0))[:2]   # equal chains: the whole path is accepted
        (1, 0)
        """
        s = self._start_token(start)
        paths = _check_drafted(self.trees[s], _check_paths(paths, self.k, self.length, self.trees[s].n))
        return _SAMPLERS[self.scheme](self, s, paths, rng)

    def law_given_paths(self, paths, *, start: int | None = None) -> dict:
        """The verifier's exact output law ``{block: probability}`` on one tuple of draft paths."""
        s = self._start_token(start)
        paths = _check_drafted(self.trees[s], _check_paths(paths, self.k, self.length, self.trees[s].n))
        return _LAWS[self.scheme](self, s, paths)

    def _start_token(self, start):
        if start is None:
            if len(self.start) != 1:
                raise ValueError("start: the result covers several start tokens; name one.")
            return next(iter(self.start))
        if start not in self.tables:
            raise ValueError(f"start={start!r} is not a start token of this result ({sorted(self.start)}).")
        return start


def _total(values):
    arr = np.asarray(values)
    if arr.dtype == object:
        return sum(arr.tolist(), start=Fraction(0))
    return float(arr.sum())


def _check_paths(paths, k, length, n):
    try:
        out = tuple(tuple(int(a) for a in path) for path in paths)
    except TypeError:
        raise ValueError("paths must be a tuple of K tuples of L token ids.") from None
    if len(out) != k or any(len(path) != length for path in out) or any(not 0 <= a < n for path in out for a in path):
        raise ValueError(f"paths must be K = {k} tuples of L = {length} token ids in 0..{n - 1}; got {paths!r}.")
    return out


def _check_drafted(tree: BlockTree, paths):
    for path in paths:
        if tree.P[tree.length][tree.index(path)] == 0:
            raise ValueError(f"paths: {path!r} has draft probability 0 from start {tree.start}; it cannot be drafted.")
    return paths


def _build(scheme, target, drafts, start, k, length, max_nodes, per_start):
    k = _positive_int(k, "k")
    length = _positive_int(length, "length")
    q, p, weights, exact = _chains(target, drafts, start)
    trees, tables, state = {}, {}, {}
    for s in weights:
        tree = block_tree(target=q, drafts=p, start=s, length=length, max_nodes=max_nodes)
        trees[s] = tree
        tables[s] = per_start(tree, k, state)
    zero = Fraction(0) if exact else 0.0
    value = sum((w * trees[s].tau(tables[s]) for s, w in weights.items()), start=zero)
    return BlockSchemeResult(scheme, k, length, value, weights, tables, trees, exact, state)


# -------------------------------------------------------------------------------------- block verification

def _bv_table(tree: BlockTree) -> list:
    c = [tree.P[0].copy()]
    for d in range(tree.length):
        flow = (c[d][:, None] * tree.target_next(d)).reshape(-1)
        c.append(np.minimum(tree.P[d + 1], flow))
    return c


@keyword_aliases(refused=DRAFTS)
def block_verification(*, target, drafts, start=None, k: int = 1, length: int,
                       max_nodes: int | None = None) -> BlockSchemeResult:
    """Block verification (Sun et al., 2024) of one draft path: exact ``τ`` and its continuation table.

    ``c(u) = min_{0<=i<=|u|} P(u_{<=i}) Q(u_{>i} | u_{<=i})``, i.e. ``c(ua) = min(P(ua), q(a | u) c(u))``, the
    optimum of the block LP at ``K = 1`` (the sequence-level section of docs/theory.md); ``τ = 1 + Σ_{u ≠ ∅} c(u)``.

    The algorithm (what ``.sample`` and ``.law_given_paths`` run) on a draft path ``X``: ``p_0 = 1``,
    ``p_i = min(p_{i-1} q(X_i | X_{<i}) / p(X_i | X_{<i}), 1)``; ``h_L = p_L`` and, for ``i < L``,
    ``h_i = S_i / (S_i + 1 - p_i)`` with ``S_i = Σ_x [p_i q(x | X_{<=i}) - p(x | X_{<=i})]_+``; for
    ``i = L, ..., 1`` stop at the first ``i`` with ``U_i <= h_i`` (else ``i = 0``) and output ``X_{<=i}`` plus
    a token from ``q(· | X_{<=L})`` when ``i = L``, from ``[p_i q - p]_+ / S_i`` otherwise.

    Parameters
    ----------
    target, drafts : (n, n) array_like
        Row-stochastic ``q(a | c)``, ``p(a | c)`` (row = previous token); Fractions (or ints) in both: exact.
    start : int, (n,) array_like or None
        Start token, start law, or None (the target chain's stationary law).
    k : int
        Must be 1 (one draft path).
    length : int
        ``L``.
    max_nodes : int, optional
        Tree size guard (:func:`lpspec.sequence.tree.block_tree`).

    Returns
    -------
    BlockSchemeResult
        ``.value`` ``τ``, ``.tables`` the continuation tables; ``.sample(paths, rng)`` runs the algorithm.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> q = [[F(1, 3), F(2, 3)]] * 2; p = [[F(2, 3), F(1, 3)]] * 2   # Sun et al.'s example, L = 2
    >>> block_verification(target=q, drafts=p, start=0, length=2).value - 1   # expected accepted tokens
    Fraction(11, 9)
    """
    if _positive_int(k, "k") != 1:
        raise ValueError(f"k={k!r}: block verification takes one draft path (k=1); use scheme='traversal' "
                         "or 'stepwise_optimal' for several.")
    return _build(block_verification.__name__, target, drafts, start, 1, length, max_nodes,
                  lambda tree, k, state: _bv_table(tree))


def _bv_steps(tree: BlockTree, path):
    """``h_i`` (stop weights, ``i = 0..L``) and the residual token law at each ``i`` of block verification."""
    one = Fraction(1) if tree.exact else 1.0
    length, n = tree.length, tree.n
    ps, hs, laws = [one], [], []
    for i in range(1, length + 1):
        ctx = tree.start if i == 1 else path[i - 2]
        ratio = tree.target[ctx][path[i - 1]] / tree.draft[ctx][path[i - 1]]
        ps.append(min(ps[-1] * ratio, one))
    for i in range(length + 1):
        ctx = tree.start if i == 0 else path[i - 1]
        if i == length:
            hs.append(ps[i])
            laws.append([tree.target[ctx][a] for a in range(n)])
            continue
        res = [max(ps[i] * tree.target[ctx][a] - tree.draft[ctx][a], 0 * one) for a in range(n)]
        total = sum(res, start=0 * one)
        denom = total + one - ps[i]
        hs.append(total / denom if denom > 0 else 0 * one)   # denom = 0 is never reached (a deeper h is 1)
        laws.append([r / total for r in res] if total > 0 else None)
    hs[0] = one  # the default stop: tau = 0
    return hs, laws


def _bv_law(result, s, paths):
    tree = result.trees[s]
    path = paths[0]
    hs, laws = _bv_steps(tree, path)
    one = Fraction(1) if tree.exact else 1.0
    out, survive = {}, one
    for i in range(tree.length, -1, -1):
        stop = survive * hs[i]
        survive = survive * (one - hs[i])
        if stop > 0:
            for a, w in enumerate(laws[i]):
                if w > 0:
                    block = tuple(path[:i]) + (a,)
                    out[block] = out.get(block, 0 * one) + stop * w
    return out


def _bv_sample(result, s, paths, rng):
    tree = result.trees[s]
    path = paths[0]
    hs, laws = _bv_steps(tree, path)
    for i in range(tree.length, -1, -1):
        if i == 0 or rng.random() < float(hs[i]):
            w = np.array([float(x) for x in laws[i]])
            return tuple(path[:i]) + (int(rng.choice(tree.n, p=w / w.sum())),)
    raise RuntimeError("unreachable")  # pragma: no cover


# ------------------------------------------------------------------------------- token-level transport LPs

def _simplex_max(cost, rows, rhs):
    """Exact ``max cost·x`` s.t. ``rows x <= rhs``, ``x >= 0`` (``rhs >= 0``) in Fractions.

    Dense tableau from the slack basis, Bland's rule (terminates). Returns ``(x, y)`` with the dual ``y``
    (``y >= 0``, ``rowsᵀ y >= cost``), both checked exactly with ``cost·x = rhs·y`` before returning.
    """
    m, nv = len(rows), len(cost)
    tab = [[Fraction(v) for v in rows[i]] + [Fraction(int(k == i)) for k in range(m)] + [Fraction(rhs[i])]
           for i in range(m)]
    z = [-Fraction(v) for v in cost] + [Fraction(0)] * (m + 1)
    basis = [nv + i for i in range(m)]
    while True:
        enter = next((j for j in range(nv + m) if z[j] < 0), None)
        if enter is None:
            break
        best = None
        for i in range(m):
            if tab[i][enter] > 0:
                ratio = tab[i][-1] / tab[i][enter]
                if best is None or ratio < best[0] or (ratio == best[0] and basis[i] < basis[best[1]]):
                    best = (ratio, i)
        if best is None:
            raise ValueError("the token-level LP is unbounded (it cannot be: the inputs are not probability laws).")
        r = best[1]
        piv = tab[r][enter]
        tab[r] = [v / piv for v in tab[r]]
        for i in range(m):
            if i != r and tab[i][enter] != 0:
                f = tab[i][enter]
                tab[i] = [a - f * b for a, b in zip(tab[i], tab[r])]
        f = z[enter]
        z = [a - f * b for a, b in zip(z, tab[r])]
        basis[r] = enter
    x = [Fraction(0)] * nv
    for i, b in enumerate(basis):
        if b < nv:
            x[b] = tab[i][-1]
    y = z[nv:nv + m]
    primal = sum((c * v for c, v in zip(cost, x)), Fraction(0))
    ok = (all(v >= 0 for v in x) and all(v >= 0 for v in y)
          and all(sum((rows[i][j] * x[j] for j in range(nv)), Fraction(0)) <= rhs[i] for i in range(m))
          and all(sum((rows[i][j] * y[i] for i in range(m)), Fraction(0)) >= cost[j] for j in range(nv))
          and primal == sum((b * v for b, v in zip(rhs, y)), Fraction(0)))
    if not ok:  # pragma: no cover - exact simplex; kept as the residual check the brief asks of every LP
        raise ValueError("exact simplex: the optimality certificate failed its exact check.")
    return x, y


def _float_lp(cost, rows, rhs):
    """``max cost·x`` s.t. ``rows x <= rhs``, ``x >= 0`` by HiGHS (presolve off), with residual/dual checks."""
    from scipy.optimize import linprog

    a = rows if hasattr(rows, "tocsr") else np.asarray(rows, dtype=float)
    b = np.asarray(rhs, dtype=float)
    w = np.asarray(cost, dtype=float)
    res = linprog(-w, A_ub=a, b_ub=b, bounds=(0, None), method="highs",
                  options={"presolve": False, "primal_feasibility_tolerance": 1e-10,
                           "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        raise ValueError(f"HiGHS did not solve a token-level LP of stepwise_optimal: {res.message}")
    x = np.maximum(res.x, 0.0)
    y = np.maximum(-res.ineqlin.marginals, 0.0)
    scale = max(1.0, float(np.abs(w).max()))
    tol = 1e-9 * scale
    x, y = np.asarray(x), np.asarray(y)
    if np.max(a @ x - b) > tol or np.min(a.T @ y - w) < -tol or abs(w @ x - b @ y) > tol:
        raise ValueError("HiGHS answer of a token-level LP failed its residual check (primal/dual/gap > 1e-9).")
    return x.tolist(), y.tolist()


def _compositions(j: int, n: int):
    """Count vectors ``h`` (``Σ h = j``) over ``n`` tokens, in lexicographic order."""
    if n == 1:
        yield (j,)
        return
    for first in range(j, -1, -1):
        for rest in _compositions(j - first, n - 1):
            yield (first,) + rest


@dataclass
class _Plan:
    """The token-level plan at one (depth, context, ``j``): draft multisets ``h`` with ``Pr(h)``, the flow
    ``f[h][y]`` (``Σ_y f = Pr(h)``, ``Σ_h f = q(y)``), ``a[(y, m)]`` and the value ``V``."""

    types: list
    prob: list
    flow: list
    accept: dict
    value: object


def _plan_guard(n: int, j: int) -> None:
    """Refuse a token-level LP over the ``C(j + n - 1, n - 1)`` draft multisets above MAX_PLAN_ENTRIES, counted
    before anything is enumerated or allocated (a hostile ``k`` must not hang)."""
    size = math.comb(j + n - 1, n - 1) * n
    if size > MAX_PLAN_ENTRIES:
        raise ValueError(f"stepwise_optimal: one token-level LP has {size:,} variables (n = {n}, j = {j}), "
                         f"above MAX_PLAN_ENTRIES = {MAX_PLAN_ENTRIES:,}; lower k or the vocabulary.")


def _plan(tree: BlockTree, ctx: int, j: int, weights, exact: bool) -> _Plan:
    """Maximise ``Σ_h Σ_{y: h_y >= 1} f(h, y) W(y, h_y)`` over transport plans from ``Pr(h)`` to ``q(·|ctx)``.

    The LP is solved in the inequality form ``Σ_y f(h, y) <= Pr(h)``, ``Σ_h f(h, y) <= q(y)`` (same value as
    the equality form because ``W >= 0``), then completed to a full plan by the north-west corner rule on the
    left-over masses (weight-0 cells only at an optimum).
    """
    n = tree.n
    q, p = tree.target[ctx], tree.draft[ctx]
    _plan_guard(n, j)
    types = list(_compositions(j, n))
    one = Fraction(1) if exact else 1.0
    prob = []
    for h in types:
        coef = math.factorial(j)
        for c in h:
            coef //= math.factorial(c)
        term = one * coef
        for a, c in enumerate(h):
            term = term * p[a] ** c
        prob.append(term)
    nt = len(types)
    cost = [weights[(y, h[y])] if h[y] >= 1 else 0 * one for h in types for y in range(n)]
    rhs = list(prob) + list(q)
    if exact:
        rows = [[one if v // n == t else 0 * one for v in range(nt * n)] for t in range(nt)]
        rows += [[one if v % n == y else 0 * one for v in range(nt * n)] for y in range(n)]
        x, _ = _simplex_max(cost, rows, rhs)
    else:  # the same rows, sparse: variable v = t * n + y sits in row t (supply) and row nt + y (demand)
        from scipy.sparse import csr_matrix

        v = np.arange(nt * n)
        rows = csr_matrix((np.ones(2 * nt * n), (np.concatenate([v // n, nt + v % n]), np.concatenate([v, v]))),
                          shape=(nt + n, nt * n))
        x, _ = _float_lp(cost, rows, rhs)
    flow = [[x[t * n + y] for y in range(n)] for t in range(nt)]
    supply = [prob[t] - sum(flow[t], start=0 * one) for t in range(nt)]
    demand = [q[y] - sum((flow[t][y] for t in range(nt)), start=0 * one) for y in range(n)]
    t = y = 0
    while t < nt and y < n:  # north-west corner completion of the left-over masses
        move = min(supply[t], demand[y])
        if move > 0:
            flow[t][y] += move
            supply[t] -= move
            demand[y] -= move
        if supply[t] <= (0 if exact else 1e-15):
            t += 1
        else:
            y += 1
    accept = {}
    value = one
    for ti, h in enumerate(types):
        for yy in range(n):
            if h[yy] >= 1 and flow[ti][yy] > 0:
                accept[(yy, h[yy])] = accept.get((yy, h[yy]), 0 * one) + flow[ti][yy]
                value += flow[ti][yy] * weights[(yy, h[yy])]
    return _Plan(types, prob, flow, accept, value)


# ------------------------------------------------------------------------------------ stepwise optimal

def _stepwise_plans(tree: BlockTree, k: int, memo: dict):  # memo: {(d, ctx, j): _Plan}
    """Plans for every reachable (depth, context, survivors) of the tree, by the backward DP
    ``V_L = 1``, ``V_d(c, j) = 1 + max Σ_y Σ_m a(y, m) V_{d+1}(y, m)``."""
    one = Fraction(1) if tree.exact else 1.0

    def value(d, ctx, j):
        if d == tree.length:
            return one
        return plan(d, ctx, j).value

    def plan(d, ctx, j):
        key = (d, ctx, j)
        if key not in memo:
            weights = {(y, m): value(d + 1, y, m) for y in range(tree.n) for m in range(1, j + 1)}
            memo[key] = _plan(tree, ctx, j, weights, tree.exact)
        return memo[key]

    return plan


def _stepwise_table(tree: BlockTree, k: int, memo: dict, survivors_out: dict) -> list:
    _plan_guard(tree.n, k)
    plan = _stepwise_plans(tree, k, memo)
    zero = Fraction(0) if tree.exact else 0.0
    dtype = object if tree.exact else np.float64
    reach = np.full((1, k + 1), zero, dtype=dtype)   # reach[u, j] = Pr(u accepted with j survivors)
    reach[0, k] = Fraction(1) if tree.exact else 1.0
    c = [reach.sum(axis=1)]
    survivors = [reach.sum(axis=0)[1:]]
    n = tree.n
    for d in range(tree.length):
        nxt = np.full((n ** (d + 1), k + 1), zero, dtype=dtype)
        ctxs = tree.last_tokens(d)
        for i in range(n ** d):
            for j in range(1, k + 1):
                mass = reach[i, j]
                if mass == 0:
                    continue
                for (y, m), a in plan(d, int(ctxs[i]), j).accept.items():
                    nxt[i * n + y, m] += mass * a
        reach = nxt
        c.append(reach.sum(axis=1))
        survivors.append(reach.sum(axis=0)[1:])
    survivors_out[tree.start] = np.array(survivors)  # Pr[N >= d, j survive] at [d, j - 1]
    return c


@keyword_aliases(refused=DRAFTS)
def stepwise_optimal(*, target, drafts, start=None, k: int, length: int,
                     max_nodes: int | None = None) -> BlockSchemeResult:
    """The best depth-by-depth tree verifier for ``K`` i.i.d. draft paths: exact ``τ`` and continuation table.

    At depth ``d``, context ``c`` and ``j`` surviving drafts (those whose prefix is the accepted prefix), the
    verifier draws the output token from a lossless token-level plan for ``j`` i.i.d. drafts from
    ``p(· | c)``; the drafts showing it survive. The plan solves, over the draft multisets ``h``
    (``Pr(h)`` multinomial), the transport LP

    .. math::

        V_d(c, j) = 1 + \\max_f \\sum_h \\sum_{y: h_y \\ge 1} f(h, y) V_{d+1}(y, h_y), \\quad
        \\sum_y f(h, y) = \\Pr(h),\\ \\sum_h f(h, y) = q(y | c),\\ f \\ge 0,

    with ``V_L = 1`` (``a(y, m) = Σ_{h_y = m} f(h, y)``; symmetric plans lose nothing, the drafts being
    i.i.d.). Exact (a rational simplex with an exactly checked dual certificate) for Fraction chains; HiGHS
    with presolve off and residual/dual checks for floats.

    Parameters
    ----------
    target, drafts, start, length, max_nodes
        As :func:`block_verification`.
    k : int
        ``K >= 1`` draft paths.

    Returns
    -------
    BlockSchemeResult

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> q = [[F(1, 5), F(4, 5)], [F(1, 2), F(1, 2)]]; p = [[F(3, 5), F(2, 5)], [F(3, 10), F(7, 10)]]
    >>> stepwise_optimal(target=q, drafts=p, start=0, k=2, length=2).value
    Fraction(319, 125)
    """
    memo: dict = {}

    def per_start(tree, k, state):
        state.setdefault("plans", memo)
        return _stepwise_table(tree, k, memo, state.setdefault("survivors", {}))

    return _build(stepwise_optimal.__name__, target, drafts, start, k, length, max_nodes, per_start)


def _stepwise_row(result, s, prefix, survivors, paths):
    tree = result.trees[s]
    d = len(prefix)
    ctx = s if d == 0 else prefix[-1]
    plan = _stepwise_plans(tree, result.k, result._state["plans"])(d, ctx, len(survivors))
    h = [0] * tree.n
    for i in survivors:
        h[paths[i][d]] += 1
    t = plan.types.index(tuple(h))
    return [f / plan.prob[t] for f in plan.flow[t]]


def _stepwise_law(result, s, paths):
    tree = result.trees[s]
    out = {}
    one = Fraction(1) if tree.exact else 1.0

    def walk(prefix, survivors, mass):
        d = len(prefix)
        if d == tree.length:
            for a, w in enumerate(tree.target[prefix[-1] if d else s]):
                if w > 0:
                    out[prefix + (a,)] = out.get(prefix + (a,), 0 * one) + mass * w
            return
        row = _stepwise_row(result, s, prefix, survivors, paths)
        for y, w in enumerate(row):
            if w <= 0:
                continue
            keep = tuple(i for i in survivors if paths[i][d] == y)
            if keep:
                walk(prefix + (y,), keep, mass * w)
            else:
                out[prefix + (y,)] = out.get(prefix + (y,), 0 * one) + mass * w

    walk((), tuple(range(result.k)), one)
    return out


def _stepwise_sample(result, s, paths, rng):
    tree = result.trees[s]
    prefix, survivors = (), tuple(range(result.k))
    while True:
        d = len(prefix)
        if d == tree.length:
            w = np.array([float(x) for x in tree.target[prefix[-1] if d else s]])
            return prefix + (int(rng.choice(tree.n, p=w / w.sum())),)
        row = np.array([max(float(x), 0.0) for x in _stepwise_row(result, s, prefix, survivors, paths)])
        y = int(rng.choice(tree.n, p=row / row.sum()))
        keep = tuple(i for i in survivors if paths[i][d] == y)
        if not keep:
            return prefix + (y,)
        prefix, survivors = prefix + (y,), keep


# ------------------------------------------------------------------------------------ traversal verification

class _Traversal:
    """One run of Traversal Verification on the trie of the draft paths (deterministic state, random coins).

    Nodes are prefixes (tuples); ``children[u]`` lists the distinct next tokens in order of first appearance
    among the paths. Each node keeps the target law ``M_b(· | u)``, the draft law ``M_s(· | u)`` and the
    acceptance ``p_α(u)`` (``p_α(∅) = 1``, ``p_α(ua) = min(p_α(u) M_b(a | u) / M_s(a | u), 1)``).
    """

    def __init__(self, tree: BlockTree, paths):
        self.tree = tree
        self.one = Fraction(1) if tree.exact else 1.0
        self.children: dict = {(): []}
        for path in paths:
            for d in range(tree.length):
                u, a = tuple(path[:d]), path[d]
                kids = self.children.setdefault(u, [])
                if a not in kids:
                    kids.append(a)
                self.children.setdefault(u + (a,), [])
        self.mb, self.ms, self.alpha = {}, {}, {(): self.one}
        for u in self.children:
            ctx = tree.start if not u else u[-1]
            self.mb[u] = list(tree.target[ctx])
            self.ms[u] = list(tree.draft[ctx])
        self._refresh(())

    def _refresh(self, u):
        """Recompute ``p_α`` of the live descendants of ``u`` from ``p_α(u)`` and the current laws."""
        stack = [u]
        while stack:
            v = stack.pop()
            for a in self.children[v]:
                ratio = self.mb[v][a] / self.ms[v][a]
                self.alpha[v + (a,)] = min(self.alpha[v] * ratio, self.one)
                stack.append(v + (a,))

    def candidate(self):
        """The first leaf of the live tree in post-order: descend through the first live child."""
        u = ()
        while self.children[u]:
            u = u + (self.children[u][0],)
        return u

    def reject(self, v):
        """Delete leaf ``v``; at its parent ``u``: ``M_b ← [p_α M_b − M_s]_+ / S``, ``M_s`` loses ``v``'s token
        (renormalised: drafting without replacement), ``p_α(u) ← S / (S + 1 − p_α(u))``, then the live
        subtree of ``u`` is re-scored."""
        u, a = v[:-1], v[-1]
        zero = 0 * self.one
        self.children[u].remove(a)
        alpha = self.alpha[u]
        res = [max(alpha * b - s, zero) for b, s in zip(self.mb[u], self.ms[u])]
        total = sum(res, start=zero)
        if total > 0:
            self.mb[u] = [r / total for r in res]
        ms = list(self.ms[u])
        ms[a] = zero
        mass = sum(ms, start=zero)
        self.ms[u] = [x / mass for x in ms] if mass > 0 else ms
        denom = total + self.one - alpha
        self.alpha[u] = total / denom if denom > 0 else zero
        self._refresh(u)


def _traversal_table(tree: BlockTree, k: int, state: dict) -> list:
    size = bounded_power(tree.n, tree.length * k)
    if size > MAX_ENUMERATED_TUPLES:
        raise ValueError(f"traversal: its exact table enumerates n^(L K) = {tree.n}^{tree.length * k} = {size:,} draft-path tuples, above "
                         f"MAX_ENUMERATED_TUPLES = {MAX_ENUMERATED_TUPLES:,}; lower n, L or k, or estimate τ "
                         "with the sampler (BlockSchemeResult.sample) by Monte Carlo.")
    law = _enumerate(tree, k, lambda paths: _traversal_run_law(tree, paths))
    return c_from_block_law(tree, law)


def _traversal_run_law(tree: BlockTree, paths) -> dict:
    run = _Traversal(tree, paths)
    out, mass = {}, run.one
    while True:
        v = run.candidate()
        accept = run.one if v == () else run.alpha[v]
        if accept > 0:
            for a, w in enumerate(run.mb[v]):
                if w > 0:
                    out[v + (a,)] = out.get(v + (a,), 0 * run.one) + mass * accept * w
        if v == () or accept >= 1:
            return out
        mass = mass * (run.one - accept)
        run.reject(v)


def _traversal_law(result, s, paths):
    return _traversal_run_law(result.trees[s], paths)


def _traversal_sample(result, s, paths, rng):
    run = _Traversal(result.trees[s], paths)
    while True:
        v = run.candidate()
        if v == () or rng.random() < float(run.alpha[v]):
            w = np.array([max(float(x), 0.0) for x in run.mb[v]])
            return v + (int(rng.choice(run.tree.n, p=w / w.sum())),)
        run.reject(v)


@keyword_aliases(refused=DRAFTS)
def traversal(*, target, drafts, start=None, k: int, length: int, max_nodes: int | None = None) -> BlockSchemeResult:
    """Traversal Verification (Weng et al., arXiv 2505.12398) on the trie of ``K`` i.i.d. draft paths.

    The draft tree is the trie of the ``K`` paths (children in order of first appearance). Every node ``u``
    holds ``M_b(· | u) = q(· | u)``, ``M_s(· | u) = p(· | u)`` and the sequence-level acceptance
    ``p_α(ua) = min(p_α(u) M_b(a | u) / M_s(a | u), 1)``, ``p_α(∅) = 1``. Repeat: take the first leaf ``v`` of
    the live tree in post-order (deepest first along the first children); accept it with probability
    ``p_α(v)`` — output ``v`` plus a token from ``M_b(· | v)`` — else delete ``v`` and at its parent ``u`` set
    ``M_b ← [p_α(u) M_b − M_s]_+ / S``, ``S = Σ_x [p_α(u) M_b(x) − M_s(x)]_+``, remove ``v``'s token from
    ``M_s`` and renormalise, ``p_α(u) ← S / (S + 1 − p_α(u))``, and re-score the live subtree of ``u``. The root
    is always accepted. For ``K = 1`` this is block verification exactly.

    Reading chosen where the paper leaves room: the paper's draft trees are drawn *without* replacement at
    each node (its ``M_s`` update removes the rejected token); on a trie of i.i.d. paths we apply the
    published update unchanged (a repeated token's drafts are merged into one child). This passes Lemma 2
    exactly in the tests; the other reading — keep ``M_s`` unchanged, as for drafts with replacement — does
    not (a 3-token counterexample in tests/test_block_schemes.py). ``τ`` and the table are
    computed exactly by enumerating the ``n^{LK}`` path tuples (size guard :data:`MAX_ENUMERATED_TUPLES`).

    Parameters
    ----------
    target, drafts, start, length, max_nodes
        As :func:`block_verification`.
    k : int
        ``K >= 1`` draft paths.

    Returns
    -------
    BlockSchemeResult

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> q = [[F(1, 3), F(2, 3)]] * 2; p = [[F(2, 3), F(1, 3)]] * 2
    >>> traversal(target=q, drafts=p, start=0, k=1, length=2).value - 1   # = block verification's 11/9
    Fraction(11, 9)
    """
    return _build(traversal.__name__, target, drafts, start, k, length, max_nodes, _traversal_table)


# ----------------------------------------------------------------------------------------- enumeration

def _enumerate(tree: BlockTree, k: int, law_of) -> dict:
    """``Σ_X P(X) law_of(X)`` over the ``n^{LK}`` tuples ``X`` of ``K`` draft paths (``P`` the draft law)."""
    zero = Fraction(0) if tree.exact else 0.0
    paths = [(tree.string(tree.length, i), tree.P[tree.length][i]) for i in range(tree.n ** tree.length)]
    paths = [(u, w) for u, w in paths if w > 0]
    out: dict = {}
    for combo in itertools.product(paths, repeat=k):
        weight = math.prod((w for _, w in combo), start=Fraction(1) if tree.exact else 1.0)
        for block, mass in law_of(tuple(u for u, _ in combo)).items():
            out[block] = out.get(block, zero) + weight * mass
    return out


def enumerated_block_law(scheme: str, *, target, drafts, start: int, k: int, length: int,
                         max_tuples: int = MAX_ENUMERATED_TUPLES) -> dict:
    """The block law ``{block: probability}`` of a scheme's algorithm, by running it (its exact output law) on
    every tuple of ``K`` draft paths and weighting by the draft law ``Π_k P(X^k)``.

    An independent route to the continuation table: ``c_from_block_law(tree, law)`` must equal the scheme's
    table. ``start`` is a token id. Refuses ``n^{LK} > max_tuples`` before any work.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> q = [[F(1, 3), F(2, 3)]] * 2; p = [[F(2, 3), F(1, 3)]] * 2
    >>> law = enumerated_block_law("block_verification", target=q, drafts=p, start=0, k=1, length=1)
    >>> sum(law.values()), sum(len(b) * m for b, m in law.items())
    (Fraction(1, 1), Fraction(5, 3))
    """
    if scheme not in BLOCK_SCHEMES:
        raise ValueError(f"scheme={scheme!r}: choose one of {sorted(BLOCK_SCHEMES)}.")
    result = BLOCK_SCHEMES[scheme](target=target, drafts=drafts, start=start, k=k, length=length)
    tree = result.trees[start]
    size = bounded_power(tree.n, tree.length * result.k)
    if size > max_tuples:
        raise ValueError(f"enumerating n^(L K) = {tree.n}^{tree.length * result.k} = {size:,} draft-path tuples is above max_tuples = {max_tuples:,}; "
                         "lower n, L or k.")
    return _enumerate(tree, result.k, lambda paths: _LAWS[scheme](result, start, paths))


def block_law_given_paths(scheme: str, paths, *, target, drafts, start: int, length: int) -> dict:
    """The exact output law ``{block: probability}`` of a scheme's algorithm on one tuple of draft paths.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> q = [[F(1, 3), F(2, 3)]] * 2; p = [[F(2, 3), F(1, 3)]] * 2
    >>> block_law_given_paths("block_verification", ((1, 1),), target=q, drafts=p, start=0, length=2)[(1, 1, 1)]
    Fraction(2, 3)
    """
    if scheme not in BLOCK_SCHEMES:
        raise ValueError(f"scheme={scheme!r}: choose one of {sorted(BLOCK_SCHEMES)}.")
    k = len(tuple(paths))
    return BLOCK_SCHEMES[scheme](target=target, drafts=drafts, start=start, k=k, length=length).law_given_paths(paths)


def continuation_tables(scheme: str, *, target, drafts, start=None, k: int, length: int) -> dict:
    """``{start token: c}``: the continuation table ``c`` (``c[d]`` of shape ``(n^d,)``) of a scheme per start
    token in the support of ``start`` (Lemma 2 can be checked on each with ``BlockTree.check_lossless``).

    Examples
    --------
    >>> c = continuation_tables("block_verification", target=[[0.2, 0.8], [0.5, 0.5]],
    ...                         drafts=[[0.6, 0.4], [0.3, 0.7]], start=0, k=1, length=1)[0]
    >>> [x.round(6).tolist() for x in c]
    [[1.0], [0.2, 0.4]]
    """
    if scheme not in BLOCK_SCHEMES:
        raise ValueError(f"scheme={scheme!r}: choose one of {sorted(BLOCK_SCHEMES)}.")
    return BLOCK_SCHEMES[scheme](target=target, drafts=drafts, start=start, k=k, length=length).tables


def sequence_block_efficiency(scheme: str, *, target, drafts=None, start=None, k: int, length: int) -> dict:
    """The fields of :class:`lpspec.sequence.blocks.BlockEfficiency` for a sequence-level scheme on a float Markov pair
    (what ``lpspec.block_efficiency(..., scheme=NAME)`` returns for the names of :data:`BLOCK_SCHEMES`).

    With ``R_d = Pr[N >= d] = Σ_{|u| = d} c(u)`` averaged over the start law: ``value = Σ_{d=0..L} R_d``,
    ``accepted_length[d] = R_d − R_{d+1}``, ``depth_acceptance[d-1] = R_d / R_{d-1}``,
    ``token_acceptance = R_1`` (the first token's acceptance), ``visited_acceptance = Σ_{d>=1} R_d /
    Σ_{d<L} R_d``; ``survivors[d, j-1] = Pr[N >= d, j drafts survive]`` for ``stepwise_optimal`` and
    ``block_verification`` (``K = 1``), NaN for ``traversal`` (it has no survivor count).

    Examples
    --------
    >>> f = sequence_block_efficiency("block_verification", target=[[0.2, 0.8], [0.5, 0.5]],
    ...                               drafts=[[0.6, 0.4], [0.3, 0.7]], start=[1.0, 0.0], k=1, length=2)
    >>> round(f["value"], 12), f["accepted_length"].round(6).tolist()
    (2.12, [0.4, 0.08, 0.52])
    """
    if scheme not in BLOCK_SCHEMES:
        raise ValueError(f"scheme={scheme!r}: choose one of {sorted(BLOCK_SCHEMES)}.")
    chains = markov_chains(target, drafts, start)  # a start token, a law, or None, as everywhere at this level
    law = np.array([float(x) for x in chains.law])
    result = BLOCK_SCHEMES[scheme](target=chains.target, drafts=chains.drafts, start=chains.law, k=k, length=length)
    reach = np.array([float(x) for x in result.reach()] + [0.0])
    steps = reach[:-2].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(reach[:-2] > 0, reach[1:-1] / np.where(reach[:-2] > 0, reach[:-2], 1.0), 0.0)
    if scheme == stepwise_optimal.__name__:
        surv = sum(w * result._state["survivors"][s].astype(float) for s, w in result.start.items())
    elif scheme == block_verification.__name__:
        surv = reach[:-1, None].copy()
    else:
        surv = np.full((length + 1, result.k), np.nan)
    return {"value": float(reach.sum()), "scheme": scheme, "k": result.k, "length": result.length,
            "accepted_length": reach[:-1] - reach[1:], "depth_acceptance": depth,
            "token_acceptance": float(reach[1]), "visited_acceptance": float(reach[1:].sum() / steps),
            "survivors": surv, "start": law}


# keyed by the functions' own names, which are the registry's names (lpspec.registry: level="sequence")
BLOCK_SCHEMES = {f.__name__: f for f in (block_verification, stepwise_optimal, traversal)}
_LAWS = {block_verification.__name__: _bv_law, stepwise_optimal.__name__: _stepwise_law,
         traversal.__name__: _traversal_law}
_SAMPLERS = {block_verification.__name__: _bv_sample, stepwise_optimal.__name__: _stepwise_sample,
             traversal.__name__: _traversal_sample}
