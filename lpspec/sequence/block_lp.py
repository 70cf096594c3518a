"""The block LP: the best block efficiency ``τ*`` of any lossless K-draft verifier, with its certificate
(docs/theory.md §14, "The sequence-level optimum").

A verifier sees ``K`` i.i.d. draft paths of length ``L`` and outputs a block ``Y`` (an accepted draft prefix plus
one free token). It is lossless iff its continuation table ``c(u) = Pr(Y strictly extends u)`` obeys Lemma 2,
``0 <= c(ua) <= q(a | u) c(u)``, and then ``τ = 1 + Σ_{u ≠ ∅} c(u)``. The three equivalent LPs:

* **P1** over ``π(block | K draft paths)``, **P2** a coupling of the draft tuples with the nodes — tiny
  references (``n^{LK}`` draft tuples), size-guarded;
* **P3** over the tree alone (``Σ_{d=1..L} n^d`` variables, independent of ``K``)::

      τ* = 1 + max Σ_{u≠∅} c(u)   s.t.  0 <= c(ua) <= q(a | u) c(u),  c(∅) = 1,
                                        c(V) <= g(P(V)) = 1 - (1 - P(V))^K   for every antichain V,

  solved by cut generation with the exact separation oracle of :mod:`lpspec.sequence.antichain`: over the
  slope ``λ`` (``method="p3-lambda"``, the float default: one block of rows per slope holds every antichain row
  at that slope, :mod:`lpspec.sequence.lambda_cuts`) or over single antichain rows (``"p3-antichain"``).

Every answer carries a dual certificate (Lemma-2 multipliers ``y``, binding antichains with multipliers ``z``
and singleton "box" multipliers) whose weak-duality bound is recomputed from the chains by ``check()``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..core.keywords import DRAFTS, keyword_aliases
from ..core.results import LPSolveError, require
from .antichain import g_value, separate
from .chains import markov_chains
from .tree import DEFAULT_MAX_NODES, BlockTree, block_tree, bounded_power, tree_size

__all__ = ["BLOCK_LP_METHODS", "MAX_EXACT_NODES", "MAX_REFERENCE_TUPLES", "BlockBounds", "BlockOptimum",
           "StartOptimum", "block_bounds", "block_optimum", "block_upper_bound"]

BLOCK_LP_METHODS = ("auto", "p1", "p2", "p3", "p3-lambda", "p3-antichain", "exact")
#: Largest number of draft-path tuples ``n^{LK}`` for the references P1/P2 and for the sampler's coupling.
MAX_REFERENCE_TUPLES = 4096
#: Largest tree (nodes, root included) for ``method="exact"`` (rational basis solve and exhaustive oracle).
MAX_EXACT_NODES = 63
#: Feasibility tolerance of the float LPs (Lemma 2 rows and antichain rows).
TOL = 1e-9


# ----------------------------------------------------------------------------------------------- input
def _prepare(target, drafts, start, k, length, method):
    for name, value in (("k", k), ("length", length)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer.")
    if method not in BLOCK_LP_METHODS:
        raise ValueError(f"method={method!r} is not one of {BLOCK_LP_METHODS}.")
    chains = markov_chains(target, drafts, start)
    q, p, n, law, exact = chains.target, chains.drafts, chains.n, chains.law, chains.exact
    if method == "exact" and not exact:
        raise ValueError("method='exact' needs exact chains: pass target= and drafts= as Fractions (e.g. "
                         "Fraction('0.6')) or use method='p3' for floats.")
    if method == "auto":
        method = "exact" if exact and tree_size(n, int(length)) <= MAX_EXACT_NODES else "p3-lambda"
    if method == "p3-antichain":
        method = "p3"
    if exact and method != "exact":
        q = np.array(q.tolist(), dtype=np.float64)
        p = np.array(p.tolist(), dtype=np.float64)
        law = [float(x) for x in law]
        exact = False
    return q, p, law, int(k), int(length), method, exact


def _time_limit(value, optional: bool):
    """``time_limit`` as a float > 0 (or None when ``optional``); a string, NaN or a value <= 0 is refused."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value >= 0:
        raise ValueError(f"time_limit={value!r} must be a number of seconds >= 0 (0: one round)"
                         f"{' or None (no limit)' if optional else ''}.")
    return float(value)


def _guard(n: int, length: int, k: int, method: str, max_nodes):
    size = tree_size(n, length)
    if method in ("p1", "p2"):
        tuples = bounded_power(n, length * k)
        if tuples > MAX_REFERENCE_TUPLES:
            raise ValueError(f"method={method!r} enumerates n^(LK) = {n}^{length * k} = {tuples:,} draft-path tuples, "
                             f"above MAX_REFERENCE_TUPLES = {MAX_REFERENCE_TUPLES:,}; method='p3' scales (its size "
                             f"is the tree, {size:,} nodes, independent of K).")
    elif method == "exact":
        if size > MAX_EXACT_NODES:
            raise ValueError(f"method='exact' solves trees of at most MAX_EXACT_NODES = {MAX_EXACT_NODES} nodes; this "
                             f"tree has {size:,} (n = {n}, L = {length}); method='p3' scales (float, certified).")
    limit = DEFAULT_MAX_NODES if max_nodes is None else int(max_nodes)
    if size > limit:
        raise ValueError(f"the tree has {size:,} nodes (n = {n}, L = {length}), above max_nodes = {limit:,}; lower "
                         "length, raise max_nodes, or bound τ* from above with lpspec.sequence.block_upper_bound "
                         "(linear in the tree).")


# ------------------------------------------------------------------------------------------ results
@dataclass
class StartOptimum:
    """``τ*`` from one start token, with the optimal continuation table and the dual certificate.

    Attributes
    ----------
    start : int
    value : float or Fraction
        ``τ*(start) = 1 + Σ_{u ≠ ∅} c(u)``.
    c : list of ndarray
        The optimal continuation table (``c[d]`` shape ``(n^d,)``).
    block_law : list of ndarray
        ``μ[d]`` for blocks of length ``d = 1..L+1`` (``μ(ua) = q(a | u) c(u) - c(ua)``).
    upper_bound : float or Fraction
        ``1 +`` the weak-duality bound of the certificate (equal to ``value`` at the optimum).
    antichains : list of tuple
        Binding antichains: ``antichains[j][d]`` the node indices at depth ``d`` (``[0]`` empty).
    multipliers : list
        ``z_j >= 0`` of the antichain rows ``c(V_j) <= g(P(V_j))``.
    box_duals : list of ndarray
        ``y[d]`` (``d = 1..L``, ``[0]`` unused): multipliers of the Lemma-2 rows ``c(ua) <= q(a | u) c(u)``.
    singleton_duals : list of ndarray
        Multipliers of the singleton rows ``c(u) <= g(P(u))`` (``[0]`` unused).
    rounds : int
        Cut-generation rounds (P3).
    """

    start: int
    value: object
    c: list
    block_law: list
    upper_bound: object
    antichains: list = field(default_factory=list, repr=False)
    multipliers: list = field(default_factory=list, repr=False)
    box_duals: list = field(default_factory=list, repr=False)
    singleton_duals: list = field(default_factory=list, repr=False)
    rounds: int = 0
    coupling: dict | None = field(default=None, repr=False)


@dataclass
class BlockOptimum:
    """The block LP's optimum ``τ* = Σ_s start(s) τ*(s)`` with per-start certificates.

    ``c``, ``block_law`` and ``per_start`` are dicts keyed by start token (tokens of positive start mass).
    """

    value: object
    upper_bound: object
    k: int
    length: int
    method: str
    start_law: dict
    per_start: dict = field(repr=False)
    target: np.ndarray = field(repr=False)
    draft: np.ndarray = field(repr=False)
    exact: bool = False

    @property
    def c(self) -> dict:
        return {s: r.c for s, r in self.per_start.items()}

    @property
    def block_law(self) -> dict:
        return {s: r.block_law for s, r in self.per_start.items()}

    def _tree(self, s: int) -> BlockTree:
        return block_tree(target=self.target, drafts=self.draft, start=s, length=self.length,
                          max_nodes=DEFAULT_MAX_NODES)

    def check(self, *, tol: float = 1e-7) -> BlockOptimum:
        """Recompute from the chains alone: Lemma 2 for every ``c``, every antichain row through the exact
        separation oracle, the dual certificate's weak-duality bound, and ``upper_bound == value`` (exact for
        Fractions, else within ``tol``). Raises :class:`lpspec.core.results.CheckFailed`."""
        tol0 = 0 if self.exact else tol
        total, total_ub = (Fraction(0), Fraction(0)) if self.exact else (0.0, 0.0)
        for s, r in self.per_start.items():
            tree = self._tree(s)
            rep = tree.check_lossless(r.c, tol=tol)
            require(rep.ok, f"start {s}: Lemma 2 fails at block {rep.failing_block} (mass {rep.worst}).")
            worst, _ = separate(r.c, tree.P, self.k, tol=0 if self.exact else TOL * 1e-2)
            require(worst <= tol0, f"start {s}: an antichain row is violated by {worst} (separation oracle).")
            ub = 1 + _dual_bound(tree, self.k, r.box_duals, r.antichains, r.multipliers)[0]
            require(ub >= rep.tau - tol0 and abs(ub - rep.tau) <= tol0,
                    f"start {s}: the dual bound {ub} does not match τ(c) = {rep.tau} (tolerance {tol0}).")
            require(abs(rep.tau - r.value) <= tol0, f"start {s}: value {r.value} is not τ(c) = {rep.tau}.")
            total += self.start_law[s] * rep.tau
            total_ub += self.start_law[s] * ub
        require(abs(total - self.value) <= tol0 and abs(total_ub - self.upper_bound) <= tol0,
                f"the start-law average {total} / bound {total_ub} do not match value {self.value} / "
                f"{self.upper_bound}.")
        return self

    def sample(self, paths, rng=None, *, start: int | None = None) -> tuple:
        """Draw the output block of a realisable optimal verifier given the ``K`` draft paths.

        The P2 coupling ``w(X, u)`` (a transport LP between the draft tuples and the nodes, with node masses
        ``β(u) = c(u) - Σ_a c(ua)``) picks the accepted prefix ``u`` with probability ``w(X, u) / P(X)``, then
        the free token ``a`` from the residual ``(q(a | u) c(u) - c(ua)) / β(u)``. Only for tiny trees
        (``n^{LK} <= MAX_REFERENCE_TUPLES``); the coupling is computed once per start token.
        """
        rng = np.random.default_rng(rng)
        if start is None:
            if len(self.per_start) != 1:
                raise ValueError("start: this optimum covers several start tokens; pass start= (one of "
                                 f"{sorted(self.per_start)}).")
            start = next(iter(self.per_start))
        if start not in self.per_start:
            raise ValueError(f"start={start!r} has no mass in this optimum (tokens {sorted(self.per_start)}).")
        n = self.target.shape[0]
        paths = tuple(tuple(int(a) for a in path) for path in paths)
        if len(paths) != self.k or any(len(x) != self.length or any(not 0 <= a < n for a in x) for x in paths):
            raise ValueError(f"paths must be K = {self.k} tuples of L = {self.length} token ids in 0..{n - 1}.")
        r = self.per_start[start]
        tree = self._tree(start)
        if r.coupling is None:
            r.coupling = _coupling(tree, [np.asarray(x, dtype=np.float64) for x in r.c], self.k)
        w_nodes, w_mass = r.coupling[paths]
        u = w_nodes[rng.choice(len(w_nodes), p=w_mass)]
        d, i = u
        cu = float(r.c[d][i])
        qn = np.asarray(tree.target_next(d)[i], dtype=np.float64)
        nxt = np.asarray(r.c[d + 1][i * n:(i + 1) * n], dtype=np.float64) if d < self.length else np.zeros(n)
        resid = np.clip(qn * cu - nxt, 0.0, None)
        resid = resid / resid.sum() if resid.sum() > 0 else qn
        a = int(rng.choice(n, p=resid))
        return tree.string(d, i) + (a,)


# ------------------------------------------------------------------------------------------ P3 (float)
def _offsets(n: int, length: int) -> list:
    off, total = [0, 0], 0
    for d in range(1, length + 1):
        total += n ** d
        off.append(total)
    return off  # variables of depth d: off[d] .. off[d+1]-1


def _lemma2_rows(tree: BlockTree):
    """CSR of the Lemma-2 rows ``c(ua) - q(a|u) c(u) <= rhs`` (rhs ``q(a|s0)`` at depth 1, else 0)."""
    n, length = tree.n, tree.length
    off = _offsets(n, length)
    starts, idx, val, rhs = [], [], [], []
    nnz = 0
    q1 = np.asarray(tree.target_next(0)[0], dtype=np.float64)
    starts.append(np.arange(n) + nnz)
    idx.append(np.arange(n))
    val.append(np.ones(n))
    rhs.append(q1)
    nnz += n
    for d in range(2, length + 1):
        m = n ** d
        i = np.arange(m)
        qv = np.asarray(tree.target[(i // n) % n, i % n], dtype=np.float64)
        starts.append(nnz + 2 * i)
        idx.append(np.stack([off[d] + i, off[d - 1] + i // n], axis=1).ravel())
        val.append(np.stack([np.ones(m), -qv], axis=1).ravel())
        rhs.append(np.zeros(m))
        nnz += 2 * m
    return (np.concatenate(starts).astype(np.int32), np.concatenate(idx).astype(np.int32),
            np.concatenate(val), np.concatenate(rhs))


def _antichain_row(a, off):
    cols = np.concatenate([off[d] + np.asarray(nodes, dtype=np.int64) for d, nodes in enumerate(a) if d >= 1
                           and len(nodes)]).astype(np.int32)
    return cols


def _levels(x, n: int, length: int, exact=False) -> list:
    off = _offsets(n, length)
    one = np.array([Fraction(1)], dtype=object) if exact else np.ones(1)
    return [one] + [np.asarray(x[off[d]:off[d + 1]]) for d in range(1, length + 1)]


def _p3_base(tree: BlockTree, k: int, options=None):
    """The part of P3 both cut generations start from, in a fresh ``highspy.Highs`` (presolve off, simplex,
    tolerances 1e-10): the ``c`` columns (box ``0 <= c(u) <= g(P(u))``, cost ``-1``) and the Lemma 2 rows.
    Returns ``(h, off, nv, P, ub, n_lemma)``."""
    import highspy

    from ..solvers.lp import _swallow_highs_banner

    _swallow_highs_banner()
    off = _offsets(tree.n, tree.length)
    nv = off[-1]
    P = [np.asarray(x, dtype=np.float64) for x in tree.P]
    ub = np.concatenate([g_value(P[d], k) for d in range(1, tree.length + 1)])
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("primal_feasibility_tolerance", 1e-10)
    h.setOptionValue("dual_feasibility_tolerance", 1e-10)
    for key, value in (options or {}).items():  # HiGHS options (experiments)
        h.setOptionValue(key, value)
    h.addVars(nv, np.zeros(nv), ub)
    h.changeColsCost(nv, np.arange(nv, dtype=np.int32), -np.ones(nv))
    starts, idx, val, rhs = _lemma2_rows(tree)
    h.addRows(len(rhs), np.full(len(rhs), -highspy.kHighsInf), rhs, len(idx), starts, idx, val)
    return h, off, nv, P, ub, len(rhs)


def _solve_p3(tree: BlockTree, k: int, *, extra=None, max_rounds: int = 2000, cuts_per_eval: int = 50,
              max_cuts: int = 2000, verbose: bool = False, grid: int = 0, time_limit: float | None = None,
              strict: bool = True, in_out: bool = True):
    """Cut generation on P3 (float). Returns ``(c, y, cuts, z, rounds, highs, ub, n_lemma, n_fixed, worst)``;
    ``worst > TOL`` (only with ``strict=False``) when it stopped at ``max_rounds`` or ``time_limit`` first."""
    import time

    import highspy


    n, length = tree.n, tree.length
    h, off, nv, P, ub, n_lemma = _p3_base(tree, k)
    if extra is not None:  # (cols, coeffs, lower, upper): test hooks such as a forced first-token acceptance
        for cols, coeffs, lo, hi in extra:
            h.addRow(lo, hi, len(cols), np.asarray(cols, dtype=np.int32), np.asarray(coeffs, dtype=np.float64))
    n_fixed = h.getNumRow()
    cuts, keys = [], set()
    rounds = 0
    began = time.perf_counter()
    c_in = [np.ones(1)]  # block verification of one draft: feasible for every K
    for d in range(1, length + 1):
        cap = (c_in[d - 1][:, None] * np.asarray(tree.target_next(d - 1), dtype=np.float64)).reshape(-1)
        c_in.append(np.minimum(P[d], cap))
    while True:
        rounds += 1
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:  # one cold restart (HiGHS sometimes ends "Unknown")
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise LPSolveError(f"the P3 LP ended {h.modelStatusToString(status)} (round {rounds}); it is always "
                               "feasible (c = 0 on the tree), so this is a solver failure.")
        x = np.asarray(h.getSolution().col_value)
        c = _levels(x, n, length)
        worst, found = separate(c, P, k, tol=TOL * 1e-2, subtrees=cuts_per_eval, grid=grid)
        if verbose:
            print(f"round {rounds}: worst {worst:.3e}, {len(found)} candidates, {len(cuts)} cuts", flush=True)
        if worst <= TOL:
            break
        out_of_time = time_limit is not None and time.perf_counter() - began > time_limit
        if rounds >= max_rounds or out_of_time:
            if strict:
                raise LPSolveError(f"P3 cut generation did not converge in {rounds} rounds / "
                                   f"{time.perf_counter() - began:.1f} s (worst antichain violation {worst:.3g}); "
                                   "lpspec.sequence.block_bounds gives a certified interval around τ* instead.")
            break
        if in_out:  # in-out separation: cut a point between the LP answer and a feasible table (deeper cuts)
            mid = [c[0]] + [0.5 * (c[d] + c_in[d]) for d in range(1, length + 1)]
            worst_mid, found_mid = separate(mid, P, k, tol=TOL * 1e-2, subtrees=cuts_per_eval, grid=grid)
            if worst_mid <= TOL:
                c_in = mid
            else:
                found = sorted(found_mid + found, key=lambda a: a.violation, reverse=True)
        new = [a for a in found if a.violation > TOL and a.key() not in keys][:max_cuts]
        if not new:
            if worst <= 1e3 * TOL:  # only rows already in the LP, violated within the solver's tolerance
                break
            raise LPSolveError(f"the separation oracle found violation {worst} but no new antichain row.")
        for a in new:
            cols = _antichain_row(a.nodes, off)
            h.addRow(-highspy.kHighsInf, float(g_value(a.p_mass, k)), len(cols), cols, np.ones(len(cols)))
            cuts.append(a.nodes)
            keys.add(a.key())
    sol = h.getSolution()
    duals = np.maximum(0.0, -np.asarray(sol.row_dual))
    y = _levels(duals[:n_lemma], n, length)
    z = list(duals[n_fixed:])
    # residual check of the returned primal (its own, not the solver's word)
    lem = tree.check_lossless(c, tol=1e-7)
    if not lem.ok or np.any(x > ub + 1e-7):
        raise LPSolveError(f"the P3 answer fails its residual check (Lemma 2 worst {lem.worst}).")
    return c, y, cuts, z, rounds, h, ub, n_lemma, n_fixed, worst


def _solve_p3_lambda(tree: BlockTree, k: int, *, max_rounds: int = 500, slopes_per_round: int = 8,
                     time_limit: float | None = None, strict: bool = True, verbose: bool = False,
                     restrict: str | None = "siblings", options: dict | None = None):
    """P3 by cut generation over the slope ``λ`` (:mod:`lpspec.sequence.lambda_cuts`): each round adds, for the
    most violated antichains ``V`` of the exact oracle, a ``λ``-block at the tangent slope ``g'(P(V))`` (on the
    sub-forest of ``V``, its ancestors and, with ``restrict="siblings"``, their children; ``restrict="path"``
    without the siblings; ``None``: the whole tree); an antichain already
    inside a block of its slope (violated only within the LP tolerance) gets its own row.
    Returns ``(c, y, cuts, z, rounds, worst)`` with the dual certificate in antichain form."""
    import time

    import highspy

    from .lambda_cuts import ancestors, flow_antichains, g_slope, lambda_block

    n, length = tree.n, tree.length
    h, off, nv, P, ub, n_lemma = _p3_base(tree, k, options)
    blocks = []  # (λ, first row, S, B)
    rows = []  # antichain rows: (nodes, row)
    keys = set()
    rounds = 0
    began = time.perf_counter()

    def covered(nodes, lam):
        for lb, _, S, expand in blocks:
            if abs(lb - lam) <= 1e-12 * max(1.0, lam) and all(
                    np.all(np.isin(np.asarray(nodes[d], dtype=np.int64), S[d])) for d in range(1, length + 1)):
                return True
        return False

    while True:
        rounds += 1
        if time_limit is not None and not strict:  # stop inside a long solve too (bounds mode)
            left = max(1.0, time_limit - (time.perf_counter() - began))
            h.setOptionValue("time_limit", h.getRunTime() + left)  # HiGHS's clock runs across run() calls
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kTimeLimit and not strict:
            # any y, z >= 0 still gives a valid bound (the singleton completion); c is repaired by the caller
            x = np.asarray(h.getSolution().col_value)
            c = _levels(x[:nv], n, length)
            worst, _ = separate(c, P, k, tol=TOL * 1e-2)
            worst = max(worst, 2 * TOL)
            break
        if status != highspy.HighsModelStatus.kOptimal:
            raise LPSolveError(f"the P3 (λ-blocks) LP ended {h.modelStatusToString(status)} (round {rounds}); it "
                               "is always feasible (c = 0), so this is a solver failure.")
        x = np.asarray(h.getSolution().col_value)
        c = _levels(x[:nv], n, length)
        worst, found = separate(c, P, k, tol=TOL * 1e-2)
        if verbose:
            print(f"round {rounds}: worst {worst:.3e}, {len(blocks)} λ-blocks ({h.getNumCol() - nv} h columns), "
                  f"{len(rows)} rows, {time.perf_counter() - began:.2f} s", flush=True)
        if worst <= TOL:
            break
        out_of_time = time_limit is not None and time.perf_counter() - began > time_limit
        if rounds >= max_rounds or out_of_time:
            if strict:
                raise LPSolveError(f"P3 (λ-blocks) did not converge in {rounds} rounds / "
                                   f"{time.perf_counter() - began:.1f} s (worst antichain violation {worst:.3g}); "
                                   "lpspec.sequence.block_bounds gives a certified interval around τ* instead.")
            break
        added = 0
        for a in found:
            if a.violation <= TOL or added >= slopes_per_round:
                continue
            lam = float(g_slope(float(a.p_mass), k))
            if covered(a.nodes, lam):
                if a.key() not in keys:  # the block holds V within the LP tolerance only: add V's own row
                    cols = _antichain_row(a.nodes, off)
                    rows.append((a.nodes, h.getNumRow()))
                    keys.add(a.key())
                    h.addRow(-highspy.kHighsInf, float(g_value(a.p_mass, k)), len(cols), cols, np.ones(len(cols)))
                    added += 1
                continue
            keep = ancestors(a.nodes, n, siblings=restrict == "siblings") if restrict else None
            ncols = h.getNumCol()
            up, st, ix, va, S, B = lambda_block(P, lam, k, off, ncols, keep)
            nh = sum(len(S[d]) for d in range(1, length + 1))
            h.addVars(nh, np.zeros(nh), np.full(nh, highspy.kHighsInf))
            blocks.append((lam, h.getNumRow(), S, B))
            h.addRows(len(up), np.full(len(up), -highspy.kHighsInf), up, len(ix), st, ix, va)
            added += 1
        if not added:
            raise LPSolveError(f"the separation oracle found violation {worst} but no new λ-block or antichain row.")
    sol = h.getSolution()
    duals = np.maximum(0.0, -np.asarray(sol.row_dual))
    y = _levels(duals[:n_lemma], n, length)
    cuts = [nodes for nodes, _ in rows]
    z = [float(duals[r]) for _, r in rows]
    for lam, r0, S, B in blocks:
        alpha = [None] + [np.zeros(n ** d) for d in range(1, length + 1)]
        beta = [None] + [np.zeros(n ** d) for d in range(1, length + 1)]
        r = r0
        for d in range(1, length + 1):
            alpha[d][S[d]] = duals[r:r + len(S[d])]
            r += len(S[d])
        for d in range(1, length):
            beta[d][B[d]] = duals[r:r + len(B[d])]
            r += len(B[d])
        w = float(duals[r])
        if w <= 0.0:
            continue
        a_cuts, a_z = flow_antichains(alpha, beta, w, n)
        cuts += a_cuts
        z += a_z
    lem = tree.check_lossless(c, tol=1e-7)
    if strict and (not lem.ok or np.any(x[:nv] > ub + 1e-7)):
        raise LPSolveError(f"the P3 (λ-blocks) answer fails its residual check (Lemma 2 worst {lem.worst}).")
    return c, y, cuts, z, rounds, worst


def _p3_lambda_start(tree: BlockTree, k: int, time_limit=None) -> StartOptimum:
    c, y, cuts, z, rounds, _ = _solve_p3_lambda(tree, k, time_limit=time_limit)
    keep = [j for j, zj in enumerate(z) if zj > 0]
    cuts, z = [cuts[j] for j in keep], [z[j] for j in keep]
    bound, s = _dual_bound(tree, k, y, cuts, z)
    return StartOptimum(tree.start, tree.tau(c), c, tree.block_law(c), 1 + bound, cuts, z, y, s, rounds)


def _dual_bound(tree: BlockTree, k: int, y, cuts, z):
    """Weak duality: ``Σ_u c(u) <= Σ_a y(a) q(a|s0) + Σ_j z_j g(P(V_j)) + Σ_u s(u) g(P(u))`` for any ``y, z >= 0``
    with the singleton multipliers ``s(u) = max(0, 1 - y(u) + Σ_a q(a|u) y(ua) - Σ_{j: u ∈ V_j} z_j)``.
    Returns ``(bound, s)``; exact when the tree and the multipliers are Fractions."""
    n, length = tree.n, tree.length
    exact = tree.exact
    zero = Fraction(0) if exact else 0.0
    dtype = object if exact else np.float64
    y = [None] + [np.asarray(y[d], dtype=dtype) for d in range(1, length + 1)]
    lhs = [None] + [y[d].copy() for d in range(1, length + 1)]
    for d in range(1, length):
        qn = tree.target_next(d)  # (n^d, n)
        lhs[d] = lhs[d] - (qn * y[d + 1].reshape(-1, n)).sum(axis=1)
    bound = (np.asarray(tree.target_next(0)[0], dtype=dtype) * y[1]).sum()
    for nodes, zj in zip(cuts, z):
        pm = zero
        for d in range(1, length + 1):
            if len(nodes[d]):
                lhs[d][np.asarray(nodes[d], dtype=np.int64)] += zj
                pm = pm + np.asarray(tree.P[d], dtype=dtype)[np.asarray(nodes[d], dtype=np.int64)].sum()
        bound = bound + zj * g_value(pm, k)
    s = [None]
    for d in range(1, length + 1):
        sd = 1 - lhs[d]
        sd = np.where(sd > 0, sd, zero)
        s.append(sd)
        bound = bound + (sd * g_value(np.asarray(tree.P[d], dtype=dtype), k)).sum()
    return (bound if exact else float(bound)), s


def _p3_start(tree: BlockTree, k: int, time_limit=None) -> StartOptimum:
    c, y, cuts, z, rounds, *_ = _solve_p3(tree, k, time_limit=time_limit)
    bound, s = _dual_bound(tree, k, y, cuts, z)
    tau = tree.tau(c)
    keep = [j for j, zj in enumerate(z) if zj > 0]
    return StartOptimum(tree.start, tau, c, tree.block_law(c), 1 + bound, [cuts[j] for j in keep],
                        [z[j] for j in keep], y, s, rounds)


# ------------------------------------------------------------------------------------------ exact
def _solve_exact(rows, rhs):
    """Gaussian elimination in Fractions for a square system; None when singular."""
    m = len(rows)
    a = [list(r) + [b] for r, b in zip(rows, rhs)]
    for col in range(m):
        piv = next((r for r in range(col, m) if a[r][col] != 0), None)
        if piv is None:
            return None
        a[col], a[piv] = a[piv], a[col]
        inv = 1 / a[col][col]
        a[col] = [v * inv for v in a[col]]
        for r in range(m):
            if r != col and a[r][col] != 0:
                f = a[r][col]
                a[r] = [v - f * w for v, w in zip(a[r], a[col])]
    return [a[r][m] for r in range(m)]


def _exact_start(tree_x: BlockTree, tree_f: BlockTree, k: int) -> StartOptimum:
    """Solve P3 in floats, then re-solve the optimal basis in Fractions and verify primal and dual exactly."""
    import highspy

    c_f, y_f, cuts, z_f, rounds, h, ub_f, n_lemma, n_fixed, _ = _solve_p3(tree_f, k)
    n, length = tree_x.n, tree_x.length
    off = _offsets(n, length)
    nv = off[-1]
    basis = h.getBasis()
    col_status = list(basis.col_status)
    row_status = list(basis.row_status)
    # exact rows: Lemma 2 then cuts, as (dict col -> coeff, rhs)
    rows = []
    q0 = tree_x.target_next(0)[0]
    for a in range(n):
        rows.append(({off[1] + a: Fraction(1)}, q0[a]))
    for d in range(2, length + 1):
        for i in range(n ** d):
            rows.append(({off[d] + i: Fraction(1), off[d - 1] + i // n: -tree_x.target[(i // n) % n, i % n]},
                         Fraction(0)))
    for nodes in cuts:
        pm = sum((tree_x.P[d][int(i)] for d in range(1, length + 1) for i in nodes[d]), Fraction(0))
        rows.append(({off[d] + int(i): Fraction(1) for d in range(1, length + 1) for i in nodes[d]},
                     g_value(pm, k)))
    row_map = list(range(n_lemma)) + list(range(n_fixed, n_fixed + len(cuts)))
    ub_x = [g_value(tree_x.P[d][i], k) for d in range(1, length + 1) for i in range(n ** d)]
    B = highspy.HighsBasisStatus
    eqs, rhs, duals = [], [], []  # primal: tight set; duals: (kind, index)
    for j, st in enumerate(col_status):
        if st in (B.kLower, B.kUpper, B.kZero):
            eqs.append({j: Fraction(1)})
            rhs.append(ub_x[j] if st == B.kUpper else Fraction(0))
            duals.append(("upper" if st == B.kUpper else "lower", j))
    for r, (coef, b) in enumerate(rows):
        if row_status[row_map[r]] != B.kBasic:
            eqs.append(coef)
            rhs.append(b)
            duals.append(("row", r))
    fail = "the exact re-solve of the optimal basis failed"
    if len(eqs) != nv:
        raise LPSolveError(f"{fail}: {len(eqs)} tight constraints for {nv} variables.")
    x = _solve_exact([[e.get(j, Fraction(0)) for j in range(nv)] for e in eqs], rhs)
    if x is None:
        raise LPSolveError(f"{fail}: singular basis.")
    # dual: for every variable j, Σ_r A_rj y_r + s_j (upper) - t_j (lower) = 1
    cols = [[Fraction(0)] * len(duals) for _ in range(nv)]
    for t, (kind, idx) in enumerate(duals):
        if kind == "row":
            for j, v in rows[idx][0].items():
                cols[j][t] = v
        else:
            cols[idx][t] = Fraction(1) if kind == "upper" else Fraction(-1)
    mult = _solve_exact(cols, [Fraction(1)] * nv)
    if mult is None or any(m < 0 for m in mult):
        raise LPSolveError(f"{fail}: the basis's exact dual is not feasible.")
    c = _levels(np.array(x, dtype=object), n, length, exact=True)
    y_flat = [Fraction(0)] * n_lemma
    z_cut = [Fraction(0)] * len(cuts)
    for t, (kind, idx) in enumerate(duals):
        if kind == "row":
            if idx < n_lemma:
                y_flat[idx] = mult[t]
            else:
                z_cut[idx - n_lemma] = mult[t]
    # y indexed like the nodes: Lemma-2 row order is depth 1 (n rows) then depth d (n^d rows) in node order
    y = _levels(np.array(y_flat, dtype=object), n, length, exact=True)
    bound, s = _dual_bound(tree_x, k, y, cuts, z_cut)
    tau = tree_x.tau(c)
    if not tree_x.check_lossless(c).ok:
        raise LPSolveError(f"{fail}: the exact primal breaks Lemma 2.")
    worst, _ = separate(c, tree_x.P, k)
    if worst > 0 or 1 + bound != tau:
        raise LPSolveError(f"{fail}: antichain violation {worst}, dual bound {1 + bound} vs τ {tau}.")
    keep = [j for j, zj in enumerate(z_cut) if zj > 0]
    return StartOptimum(tree_x.start, tau, c, tree_x.block_law(c), 1 + bound, [cuts[j] for j in keep],
                        [z_cut[j] for j in keep], y, s, rounds)


# ------------------------------------------------------------------------------------------ P1 / P2
def _tuples(tree: BlockTree, k: int):
    """Every K-tuple of draft paths (leaf indices at depth L) with its probability ``P(X)``."""
    leaves = np.asarray(tree.P[tree.length], dtype=np.float64)
    for X in itertools.product(range(len(leaves)), repeat=k):
        mass = math.prod(leaves[i] for i in X)
        if mass > 0:
            yield X, mass


def _prefixes(tree: BlockTree, X) -> list:
    n, length = tree.n, tree.length
    return sorted({(d, i // n ** (length - d)) for i in X for d in range(length + 1)})


def _linprog(cost, rows, cols, vals, b_ub, nvars, what: str):
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    a = csr_matrix((vals, (rows, cols)), shape=(len(b_ub), nvars))
    res = linprog(cost, A_ub=a, b_ub=b_ub, bounds=(0, None), method="highs",
                  options={"presolve": False})
    if res.status != 0:
        raise LPSolveError(f"{what}: the LP ended with status {res.status} ({res.message}).")
    resid = a @ res.x - np.asarray(b_ub)
    if resid.max(initial=0.0) > 1e-7 or res.x.min(initial=0.0) < -1e-9:
        raise LPSolveError(f"{what}: the LP answer fails its residual check ({resid.max():.3g}).")
    return res.x


def _p2_start(tree: BlockTree, k: int) -> StartOptimum:
    n, length = tree.n, tree.length
    off = _offsets(n, length)
    nc = off[-1]
    starts, idx, val, rhs = _lemma2_rows(tree)
    rows, cols, vals, b = [], [], [], list(rhs)
    for r in range(len(rhs)):
        e = starts[r + 1] if r + 1 < len(starts) else len(idx)
        for t in range(starts[r], e):
            rows.append(r)
            cols.append(int(idx[t]))
            vals.append(float(val[t]))
    node_rows = {}  # β(u) - Σ_X w(X, u) <= 0, i.e. c(u) - Σ_a c(ua) - Σ_X w <= 0 (root: -Σ_a c(a) - Σ w <= -1)
    for d in range(length + 1):
        for i in range(n ** d):
            r = len(b)
            node_rows[(d, i)] = r
            b.append(-1.0 if d == 0 else 0.0)
            if d >= 1:
                rows.append(r), cols.append(off[d] + i), vals.append(1.0)
            if d < length:
                for a in range(n):
                    rows.append(r), cols.append(off[d + 1] + i * n + a), vals.append(-1.0)
    nvar = nc
    for X, mass in _tuples(tree, k):
        r = len(b)
        b.append(mass)
        for u in _prefixes(tree, X):
            rows.append(r), cols.append(nvar), vals.append(1.0)
            rows.append(node_rows[u]), cols.append(nvar), vals.append(-1.0)
            nvar += 1
    cost = np.zeros(nvar)
    cost[:nc] = -1.0
    x = _linprog(cost, rows, cols, vals, b, nvar, "P2")
    c = _levels(np.clip(x[:nc], 0, None), n, length)
    tau = tree.tau(c)
    return StartOptimum(tree.start, tau, c, tree.block_law(c), float("nan"))


def _p1_start(tree: BlockTree, k: int) -> StartOptimum:
    n, length = tree.n, tree.length
    nodes_rows = {}  # one Lemma-2 row per block w = ua (depth 1..L+1): μ(w) - q(a|u) c(u) + c(w) <= 0
    for d in range(1, length + 2):
        for i in range(n ** d):
            nodes_rows[(d, i)] = len(nodes_rows)
    rows, cols, vals, b = [], [], [], [0.0] * len(nodes_rows)
    agg = len(b)
    b.append(-1.0)  # -Σ m <= -1
    nvar, cost = 0, []
    blocks = []
    for X, mass in _tuples(tree, k):
        r = len(b)
        b.append(mass)
        for (d, i) in _prefixes(tree, X):
            for a in range(n):
                j = nvar
                nvar += 1
                blk = (d + 1, i * n + a)
                blocks.append(blk)
                cost.append(-(d + 1.0))
                rows.append(r), cols.append(j), vals.append(1.0)
                rows.append(agg), cols.append(j), vals.append(-1.0)
                rows.append(nodes_rows[blk]), cols.append(j), vals.append(1.0)
                # the block strictly extends every prefix v = (e, i_e) with e <= d: c(v) gets +1
                for e in range(d + 1):
                    ie = blk[1] // n ** (blk[0] - e)
                    for bb in range(n):  # -q(bb | v) c(v) in the row of block v·bb
                        qv = float(tree.target_next(e)[ie][bb])
                        if qv:
                            rows.append(nodes_rows[(e + 1, ie * n + bb)]), cols.append(j), vals.append(-qv)
                    if e >= 1:  # + c(v) in the row of block v
                        rows.append(nodes_rows[(e, ie)]), cols.append(j), vals.append(1.0)
    x = _linprog(np.array(cost), rows, cols, vals, b, nvar, "P1")
    law = {}
    for j, blk in enumerate(blocks):
        law[blk] = law.get(blk, 0.0) + x[j]
    c = [np.ones(1)] + [np.zeros(n ** d) for d in range(1, length + 1)]
    for (d, i), m in law.items():
        for e in range(1, d):
            c[e][i // n ** (d - e)] += m
    tau = tree.tau(c)
    return StartOptimum(tree.start, tau, c, tree.block_law(c), float("nan"))


def _coupling(tree: BlockTree, c, k: int) -> dict:
    """The P2 coupling for a fixed ``c``: ``{paths: (nodes, conditional law)}`` from a transport LP."""
    n, length = tree.n, tree.length
    leaves = n ** length
    if leaves ** k > MAX_REFERENCE_TUPLES:
        raise ValueError(f"sample: the coupling enumerates n^(LK) = {leaves ** k:,} draft-path tuples, above "
                         f"MAX_REFERENCE_TUPLES = {MAX_REFERENCE_TUPLES:,}; sampling is for tiny trees only.")
    beta = {}
    for d in range(length + 1):
        nxt = c[d + 1].reshape(-1, n).sum(axis=1) if d < length else np.zeros(n ** d)
        for i, v in enumerate(np.clip(c[d] - nxt, 0.0, None)):
            beta[(d, i)] = v
    node_row = {u: r for r, u in enumerate(beta)}
    rows, cols, vals, b = [], [], [], list(beta.values())
    var = []
    tuples = list(_tuples(tree, k))
    for X, mass in tuples:
        r = len(b)
        b.append(mass)
        for u in _prefixes(tree, X):
            rows.append(r), cols.append(len(var)), vals.append(1.0)
            rows.append(node_row[u]), cols.append(len(var)), vals.append(1.0)
            var.append((X, u))
    x = _linprog(-np.ones(len(var)), rows, cols, vals, b, len(var), "coupling")
    if x.sum() < 1 - 1e-7:
        raise LPSolveError(f"the coupling of the draft tuples with c carries {x.sum():.9f} < 1 (Hall fails).")
    out, by = {}, {}
    for (X, u), v in zip(var, x):
        by.setdefault(X, []).append((u, v))
    path_of = {i: tree.string(length, i) for i in range(leaves)}
    for X, mass in tuples:
        items = by.get(X, [])
        w = np.clip(np.array([v for _, v in items]), 0.0, None)
        w = w / w.sum() if w.sum() > 0 else np.full(len(items), 1.0 / len(items))
        out[tuple(path_of[i] for i in X)] = ([u for u, _ in items], w)
    return out


# ------------------------------------------------------------------------------------------ API
@keyword_aliases(refused=DRAFTS)
def block_optimum(*, target, drafts=None, start=None, k: int, length: int, method: str = "auto",
                  max_nodes: int | None = None, time_limit: float | None = None) -> BlockOptimum:
    """``τ*``: the largest block efficiency of any lossless ``K``-draft verifier on a Markov pair, certified.

    .. math::

        \\tau^* = 1 + \\max \\sum_{u \\ne \\emptyset} c(u) \\quad \\text{s.t.} \\quad
        0 \\le c(ua) \\le q(a \\mid u)\\, c(u), \\quad c(V) \\le 1 - (1 - P(V))^K \\ \\ \\forall \\text{ antichains } V

    (P3 of docs/theory.md §14, "The sequence-level optimum"; equal to the explicit LP P1 over
    ``π(block | K draft paths)`` and to the coupling LP P2 by Hall's theorem).

    Parameters
    ----------
    target, drafts : (n, n) array_like or MarkovPair
        Row-stochastic ``q(a | c)``, ``p(a | c)`` (row = previous token), or a :class:`lpspec.sequence.markov.MarkovPair`
        as ``target=``. Fractions/ints in both give exact chains.
    start : int, (n,) array_like or None
        A start token, a law over start tokens (``value`` is the expectation), or ``None`` = the target
        chain's stationary law.
    k, length : int
        ``K`` i.i.d. draft paths of ``L`` tokens.
    method : {"auto", "p1", "p2", "p3-lambda", "p3", "p3-antichain", "exact"}
        ``p3-lambda`` (the default for floats): cut generation over the slope ``λ`` — each round adds, at the
        tangent slope ``g'(P(V))`` of the oracle's most violated antichains ``V``, a block of rows over auxiliary
        tree variables that holds every antichain row at that slope at once (:mod:`lpspec.sequence.lambda_cuts`),
        the certificate read back as antichains; ``p3`` (= ``p3-antichain``): cut generation over single
        antichain rows with the exact separation oracle; ``p1``/``p2``: the
        tiny references (``n^{LK} <= MAX_REFERENCE_TUPLES``); ``exact``: P3's optimal basis re-solved and the
        primal, the dual and every antichain row verified in Fractions (exact chains, trees of at most
        ``MAX_EXACT_NODES`` nodes; the default for such input).
    max_nodes : int, optional
        Refuse trees above this size before any work (default ``DEFAULT_MAX_NODES``).
    time_limit : float, optional
        Seconds of cut generation per start token (P3); past it, :class:`lpspec.core.results.LPSolveError` (never a
        truncated value) — :func:`block_bounds` then gives a certified interval.

    Returns
    -------
    BlockOptimum
        ``.value`` (τ*), ``.upper_bound`` (the dual certificate's bound, equal to τ*), ``.c`` / ``.block_law``
        / ``.per_start`` keyed by start token, ``.check()``, ``.sample(paths, rng=)``.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> q = [[F(1, 5), F(4, 5)], [F(1, 2), F(1, 2)]]
    >>> p = [[F(3, 5), F(2, 5)], [F(3, 10), F(7, 10)]]
    >>> r = block_optimum(target=q, drafts=p, start=0, k=2, length=2)
    >>> r.value, r.upper_bound == r.value, r.method
    (Fraction(1616, 625), True, 'exact')
    >>> round(block_optimum(target=[[.2, .8], [.5, .5]], drafts=[[.6, .4], [.3, .7]], start=0, k=3,
    ...                     length=3).value, 9)
    3.657347904
    """
    q, p, law, k, length, method, exact = _prepare(target, drafts, start, k, length, method)
    time_limit = _time_limit(time_limit, optional=True)
    n = q.shape[0]
    _guard(n, length, k, method, max_nodes)
    per = {}
    starts = {s: w for s, w in enumerate(law) if w > 0}
    for s in starts:
        tree = block_tree(target=q, drafts=p, start=s, length=length, max_nodes=max_nodes)
        if method == "exact":
            tree_f = block_tree(target=np.array(q.tolist(), dtype=np.float64),
                                drafts=np.array(p.tolist(), dtype=np.float64), start=s, length=length)
            per[s] = _exact_start(tree, tree_f, k)
        elif method == "p3":
            per[s] = _p3_start(tree, k, time_limit)
        elif method == "p3-lambda":
            per[s] = _p3_lambda_start(tree, k, time_limit)
        elif method == "p2":
            per[s] = _p2_start(tree, k)
        else:
            per[s] = _p1_start(tree, k)
    zero = Fraction(0) if exact else 0.0
    value = sum((w * per[s].value for s, w in starts.items()), zero)
    ub = sum((w * per[s].upper_bound for s, w in starts.items()), zero)
    return BlockOptimum(value, ub, k, length, method, starts, per, q, p, exact)


@keyword_aliases(refused=DRAFTS)
def block_upper_bound(*, target, drafts=None, start=None, k: int, length: int, max_nodes: int | None = None) -> float:
    """A certified upper bound on ``τ*`` linear in the tree: P3 with only the singleton antichain rows.

    Dropping antichain rows relaxes P3, so its optimum bounds ``τ*`` from above; with singletons only the
    relaxation is solved exactly by the greedy top-down fill ``c(u) = min(g(P(u)), q(a | u') c(u'))``
    (raising ``c(u)`` only loosens its children's rows). ``O(Σ_d n^d)`` per start token, no LP; trees above
    ``max_nodes`` (default :data:`lpspec.sequence.tree.DEFAULT_MAX_NODES`) are refused before any work.

    Examples
    --------
    >>> round(block_upper_bound(target=[[.2, .8], [.5, .5]], drafts=[[.6, .4], [.3, .7]], start=0, k=1,
    ...                         length=2), 12)
    2.12
    """
    q, p, law, k, length, _, _ = _prepare(target, drafts, start, k, length, "p3")
    q = np.asarray(q, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    n = q.shape[0]
    _guard(n, length, k, "p3", max_nodes)
    total = 0.0
    for s, w in enumerate(law):
        if w <= 0:
            continue
        cprev, pprev = np.ones(1), np.ones(1)
        acc = 1.0
        for d in range(length):
            ctx = np.array([s]) if d == 0 else np.arange(n ** d) % n
            pc = (pprev[:, None] * p[ctx]).reshape(-1)
            cc = np.minimum(g_value(pc, k), (cprev[:, None] * q[ctx]).reshape(-1))
            acc += float(cc.sum())
            cprev, pprev = cc, pc
        total += float(w) * acc
    return total


@dataclass
class BlockBounds:
    """A certified interval ``lower <= τ* <= upper`` (per start token in ``per_start``, averaged over the law).

    ``lower = 1 + Σ c'`` for a continuation table ``c'`` that passes Lemma 2 and every antichain row (the exact
    oracle), so some lossless verifier reaches it; ``upper`` is the weak-duality bound of a dual-feasible point
    of P3 (the multipliers of a relaxation to the antichain rows generated so far). ``converged`` when the
    relaxation's optimum was feasible (then ``lower`` and ``upper`` meet up to the LP tolerance). Both ends are
    widened outward by the float error bound of their sums (``size · 2^-52 · τ`` per start token), so ``lower <=
    upper`` holds in floats too.
    """

    lower: float
    upper: float
    converged: bool
    rounds: int
    cuts: int
    seconds: float
    per_start: dict = field(repr=False, default_factory=dict)

    @property
    def gap(self) -> float:
        return self.upper - self.lower


def _repair(c, P, k: int, n: int, steps: int = 300) -> list:
    """A feasible table below ``c``: scale the subtrees of the worst antichain ``V`` by ``g(P(V)) / c(V)`` until
    no row is violated (Lemma 2 is kept: a subtree scaled by ``θ <= 1`` keeps its rows); then the global
    Dinkelbach scaling as a last resort."""
    c = [x.copy() for x in c]
    for _ in range(steps):
        worst, found = separate(c, P, k, tol=0.0)
        if worst <= 0.0:
            return c
        a = found[0]
        theta = float(g_value(a.p_mass, k)) / float(a.c_mass) * (1 - 1e-12)
        cum = None
        for d in range(1, len(c)):
            mult = np.ones(len(c[d]))
            mult[a.nodes[d]] = theta
            cum = mult if cum is None else mult * np.repeat(cum, n)
            c[d] = c[d] * cum
    theta = _feasible_scale(c, P, k)
    return [c[0]] + [theta * x for x in c[1:]]


def _feasible_scale(c, P, k: int) -> float:
    """The largest ``θ`` (Dinkelbach on ``max_V θ c(V) - g(P(V))``) with ``θ c`` feasible for every antichain row."""
    theta = 1.0
    for _ in range(100):
        scaled = [c[0]] + [theta * x for x in c[1:]]
        worst, found = separate(scaled, P, k, tol=0.0)
        if worst <= 0.0:
            return theta
        a = found[0]
        theta = min(theta * (1 - 1e-12), float(g_value(a.p_mass, k)) / float(a.c_mass / theta))
    raise LPSolveError("block_bounds: the feasible scaling did not settle in 100 Dinkelbach steps.")


@keyword_aliases(refused=DRAFTS)
def block_bounds(*, target, drafts=None, start=None, k: int, length: int, time_limit: float = 60.0,
                 max_nodes: int | None = None, method: str = "p3-lambda") -> BlockBounds:
    """A certified interval around ``τ*`` for trees too large for the exact cut generation within ``time_limit``.

    Runs P3's cut generation for at most ``time_limit`` seconds per start token, then reports
    ``lower`` = the better of block verification of one draft (feasible for every ``K``) and the relaxation's
    ``c`` made feasible (negative entries clipped, Lemma 2 restored top-down, then the subtrees of the worst
    antichain scaled down until the exact oracle finds no violated row) and
    ``upper`` = the weak-duality bound of the relaxation's multipliers (docs/theory.md §14: any ``y, z >= 0``
    completed by singleton multipliers is dual feasible for the full P3, so it bounds ``τ*`` from above).

    ``method`` picks the cut generation: ``"p3-lambda"`` (λ-blocks, the default; the
    certificate read back as antichains; see :func:`block_optimum`) or ``"p3-antichain"`` (antichain rows).

    Examples
    --------
    >>> b = block_bounds(target=[[.2, .8], [.5, .5]], drafts=[[.6, .4], [.3, .7]], start=0, k=3, length=3)
    >>> b.converged, round(b.lower, 9), round(b.upper, 9)
    (True, 3.657347904, 3.657347904)
    """
    import time

    if method not in ("p3-antichain", "p3-lambda"):
        raise ValueError(f"method={method!r} must be 'p3-antichain' or 'p3-lambda'.")
    q, p, law, k, length, _, _ = _prepare(target, drafts, start, k, length, "p3")
    time_limit = _time_limit(time_limit, optional=False)
    q, p = np.asarray(q, dtype=np.float64), np.asarray(p, dtype=np.float64)
    _guard(q.shape[0], length, k, "p3", max_nodes)
    lower = upper = 0.0
    rounds = ncuts = 0
    converged = True
    began = time.perf_counter()
    per = {}
    for s, w in enumerate(law):
        if w <= 0:
            continue
        tree = block_tree(target=q, drafts=p, start=s, length=length, max_nodes=max_nodes)
        if method == "p3-lambda":
            c, y, cuts, z, r, worst = _solve_p3_lambda(tree, k, time_limit=time_limit, strict=False)
        else:
            c, y, cuts, z, r, *_, worst = _solve_p3(tree, k, time_limit=time_limit, strict=False)
        ub = 1 + _dual_bound(tree, k, y, cuts, z)[0]
        fixed = [np.ones(1)]
        for d in range(1, length + 1):
            cap = (fixed[d - 1][:, None] * np.asarray(tree.target_next(d - 1), dtype=np.float64)).reshape(-1)
            fixed.append(np.minimum(np.clip(c[d], 0.0, None), cap))
        P = [np.asarray(x, dtype=np.float64) for x in tree.P]
        feasible = _repair(fixed, P, k, tree.n)
        bv = [np.ones(1)]  # block verification of one draft path: feasible for every K (P(V) <= g(P(V)))
        for d in range(1, length + 1):
            cap = (bv[d - 1][:, None] * np.asarray(tree.target_next(d - 1), dtype=np.float64)).reshape(-1)
            bv.append(np.minimum(P[d], cap))
        lo = max(tree.tau(feasible), tree.tau(bv))
        # outward by the float error of the two sums (each over at most `size` terms in [0, 1]): |err| <= size·u·τ
        slack = tree.size * 2.0**-52 * max(1.0, ub)
        lo, ub = lo - slack, ub + slack
        per[s] = (lo, ub)
        lower += w * lo
        upper += w * ub
        rounds += r
        ncuts += len(cuts)
        converged = converged and worst <= TOL
    return BlockBounds(float(lower), float(upper), bool(converged), rounds, ncuts, time.perf_counter() - began, per)
