"""The draft-selection linear program (docs/theory.md §2, §3, §8), built with cvxpy and solved by HiGHS.

Three forms of one LP, all with the same optimum ``P*(acc)``:

``"full"``
    The paper's LP over ``w(x, y) = P(x) π(y|x)`` for every tuple ``x ∈ Ω^K`` and token ``y``:
    maximise ``Σ_x Σ_{y ∈ set(x)} w(x, y)`` subject to ``Σ_y w(x, y) = P(x)`` and ``Σ_x w(x, y) = q(y)``.
``"edge"``
    Only the accepted edges ``y ∈ set(x)`` (tuples of positive mass), both marginals relaxed to ``≤``:
    a max-flow.
``"merged"``
    The edge form with tuples of the same ``set(x)`` merged into one source of mass ``Pr(set(X) = A)``.

Every solve is checked: a status other than optimal raises :class:`~lpspec.core.results.LPSolveError`; the
solver's flow is repaired to exact feasibility (non-negative, within both marginals) and its value reported;
a cut set ``S`` is rounded from the token duals and ``q(S) + 1 - Pr(set(X) ⊆ S)`` must match the value to
:data:`CUT_TOLERANCE`. The flow is completed to an exact scheme ``π(y|x)`` by coupling the unmatched masses
with their normalised product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..core.instance import Instance, canonical_set_keys, make_instance
from ..core.keywords import DRAFTS, keyword_aliases
from ..core.results import LPSolveError, OptimumResult, require
from .certify import certify_instance
from .closed_forms import (
    few_draft_sets,
    greedy_applies,
    greedy_optimum,
    sorted_prefix_applies,
    sorted_prefix_optimum,
    subset_optimum,
)
from .subsets import subsets_fit

__all__ = ["solve_lp", "solve_instance", "solve_lp_for", "LPResult", "FORMS", "CUT_TOLERANCE",
           "SCHEME_TOLERANCE",
           "MAX_FULL_VARIABLES", "HIGHS_OPTIONS", "highs_solve", "estimated_lp_seconds", "MAX_ESTIMATED_SECONDS"]

FORMS = ("full", "edge", "merged")
#: Largest allowed gap between the repaired flow value and the cut value (floats).
CUT_TOLERANCE = 1e-9
#: Tolerance of the completed scheme's checks (row sums, output marginal) for float instances.
SCHEME_TOLERANCE = 1e-12
#: Largest number of variables (tuples × n) of the full form.
MAX_FULL_VARIABLES = 2_500_000
#: An LP whose estimated solve time (:func:`estimated_lp_seconds`) exceeds this is refused before any work.
MAX_ESTIMATED_SECONDS = 60.0
#: Measured seconds per draft tuple (cvxpy build + HiGHS, 2 shared cores; benchmarks/nonidentical.py):
#: merged form, and edge form by K (the edge LP grows much faster than the merged one for K >= 3).
_SECONDS_PER_TUPLE = {"merged": 3e-5, "edge": {1: 1e-4, 2: 1e-4, 3: 1e-3}, "full": 2e-5}
#: HiGHS options used for every solve (tightened feasibility tolerances, docs/theory.md §8).
HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


@dataclass
class LPResult(OptimumResult):
    """Result of :func:`solve_lp`: an :class:`OptimumResult` plus the optimal flow and its completion.

    Attributes
    ----------
    value : float
        Value of the repaired (exactly feasible) flow.
    cut_set, cut_value : tuple of int, float
        Certificate rounded from the duals; ``cut_value - value <= CUT_TOLERANCE`` was checked.
    form : str
        ``"full"``, ``"edge"`` or ``"merged"``.
    method : str
        ``"lp:<form>"``, with ``"+dropped-row"`` when HiGHS failed on the complete equality system and the
        same form was re-solved without its redundant row.
    solver_value : float
        The objective value HiGHS reported (before repair).
    """

    form: str = ""
    solver_value: float = float("nan")
    instance: Instance | None = field(default=None, repr=False)
    _sources: np.ndarray | None = field(default=None, repr=False)  # source id -> mass
    _edges: tuple | None = field(default=None, repr=False)  # (source_id, token, flow)
    _tuple_source: object = field(default=None, repr=False)  # tuple -> source id

    # ------------------------------------------------------------------ completed scheme
    @property
    def accepted_by_token(self) -> np.ndarray:
        """``A(y) = Σ_x f(x, y)``: accepted flow into each token, shape (n,)."""
        src, tok, flow = self._edges
        return np.bincount(tok, weights=flow, minlength=self.instance.n)

    def _residuals(self):
        inst = self.instance
        src, tok, flow = self._edges
        out_src = np.bincount(src, weights=flow, minlength=self._sources.size)
        r = np.maximum(self._sources - out_src, 0.0)
        s = np.maximum(inst.target.astype(np.float64) - self.accepted_by_token, 0.0)
        return r, s, math.fsum(s.tolist())

    def source_of(self, x) -> int:
        """Source row (tuple or set) of the draft tuple ``x``; ``ValueError`` when ``P(x) = 0``."""
        x = tuple(int(t) for t in x)
        inst = self.instance
        if len(x) != inst.k or any(t < 0 or t >= inst.n for t in x):
            raise ValueError(f"x={x} must be a tuple of K={inst.k} tokens in 0..{inst.n - 1}.")
        sid = self._tuple_source(x)
        if sid is None:
            raise ValueError(f"the draft tuple x={x} has probability 0 under this instance.")
        return sid

    def conditional(self, x) -> np.ndarray:
        """``π(· | x)`` of the completed exact scheme, shape (n,) (no dense ``n^K × n`` array is built).

        ``π(y|x) = [f(x, y) + r(x) s(y) / Σ s] / P(x)`` with ``f`` the optimal accepted flow of ``x``'s source,
        ``r`` its unmatched mass and ``s = q - A`` the unmatched target mass.
        """
        sid = self.source_of(x)
        return self._conditional_rows(np.array([sid]))[0]

    def _conditional_rows(self, sids: np.ndarray) -> np.ndarray:
        inst = self.instance
        src, tok, flow = self._edges
        r, s, total_s = self._residuals()
        rows = np.zeros((sids.size, inst.n))
        lookup = {int(v): i for i, v in enumerate(sids.tolist())}
        sel = np.isin(src, sids)
        for e_src, e_tok, e_flow in zip(src[sel].tolist(), tok[sel].tolist(), flow[sel].tolist()):
            rows[lookup[e_src], e_tok] += e_flow
        share_s = s / total_s if total_s > 0 else None
        for i, sid in enumerate(sids.tolist()):
            mass = self._sources[sid]
            # divide before coupling: r · s / Σs could underflow for tiny masses (docs/guide/numerics.md)
            if mass > 0:
                rows[i] /= mass
                share = min(r[sid] / mass, 1.0)
            else:  # a tuple whose float mass underflowed to 0: the limit of a flow-free source
                rows[i] = 0.0
                share = 1.0
            if share_s is not None:
                rows[i] += share * share_s
            elif share > 0:  # nothing left to couple: put the (rounding-level) left-over on the accepted tokens
                toks = tok[src == sid]
                rows[i, toks] += share / max(toks.size, 1)
        return rows

    def output_distribution(self) -> np.ndarray:
        """``Σ_x P(x) π(·|x)``: the completed scheme's output law (equals ``q``), shape (n,)."""
        r, s, total_s = self._residuals()
        extra = s * (math.fsum(r.tolist()) / total_s) if total_s > 0 else np.zeros_like(s)
        return self.accepted_by_token + extra

    def check(self) -> dict:
        """Verify the completed scheme and the certificate; raise ``AssertionError`` on failure.

        Checks, for floats: every ``π(·|x)`` is a distribution (``1e-12``), the output law equals ``q``
        (``1e-12``), the completed scheme's membership acceptance lies in ``[value, cut_value]``, and
        ``0 <= cut_value - value <= 1e-9``. For exact (Fraction) instances the certificate is also checked
        exactly: an exact max-flow (:func:`lpspec.certify`) must equal ``q(S) + 1 - Pr(set(X) ⊆ S)``.

        Returns
        -------
        dict
            The measured errors.
        """
        inst = self.instance
        sids = np.flatnonzero(self._sources >= 0)  # zero float mass too: those rows must be distributions
        rows = np.zeros((self._sources.size, inst.n))
        rows[sids] = self._conditional_rows(sids)
        row_err = float(np.max(np.abs(rows[sids].sum(axis=1) - 1.0)))
        neg = float(min(rows[sids].min(), 0.0))
        out_err = float(np.max(np.abs(self.output_distribution() - inst.target.astype(float))))
        src, tok, _ = self._edges  # every accepted edge (y ∈ set(x)), including those without flow
        acc = math.fsum((self._sources[src] * rows[src, tok]).tolist())
        acc_err = acc - float(self.value)
        gap = float(self.cut_value) - float(self.value)
        report = {"row_sum_error": row_err, "negative": neg, "output_error": out_err,
                  "acceptance_error": acc_err, "cut_gap": gap}
        require(neg >= -SCHEME_TOLERANCE, f"completed scheme has a negative probability {neg}")
        require(row_err <= SCHEME_TOLERANCE, f"π(·|x) does not sum to one (error {row_err:.3g})")
        require(out_err <= SCHEME_TOLERANCE, f"output law differs from q by {out_err:.3g}")
        # the completed scheme is exact, so value <= its acceptance <= P* <= cut_value
        require(-SCHEME_TOLERANCE <= acc_err <= gap + SCHEME_TOLERANCE, f"completed scheme's acceptance {acc} is not within [value, cut_value] = [{self.value}, {self.cut_value}]")
        require(-SCHEME_TOLERANCE <= gap <= CUT_TOLERANCE, f"cut value - flow value = {gap:.3g}")
        if inst.exact:
            cert = certify_instance(inst)
            mask = np.zeros(inst.n, dtype=bool)
            mask[list(self.cut_set)] = True
            exact_cut = inst.cut_value(mask)
            require(cert.value == exact_cut, f"exact max-flow {cert.value} != cut value {exact_cut}")
            require(abs(float(exact_cut) - float(self.value)) <= CUT_TOLERANCE, 'check failed: abs(float(exact_cut) - float(self.value)) <= CUT_TOLERANCE')
            report["exact_value"] = cert.value
        return report


# ---------------------------------------------------------------------- building blocks
_BANNER_SHOWN = False


def _swallow_highs_banner() -> None:
    """HiGHS prints a banner on stdout when the first ``Highs`` object of a process is built; it would
    corrupt machine-readable output (``lpspec solve --json``), so build that first object with fd 1 closed."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return
    _BANNER_SHOWN = True
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def highs_solve(problem, what: str, **options) -> None:
    """Solve a cvxpy problem with HiGHS (named explicitly) and the tightened tolerances of docs/theory.md §8.

    The caller must still check ``problem.status``; a solver exception becomes :class:`LPSolveError`.
    """
    import cvxpy as cp

    _swallow_highs_banner()
    try:
        problem.solve(solver=cp.HIGHS, **{**HIGHS_OPTIONS, **options})
    except cp.error.SolverError as exc:
        raise LPSolveError(f"HiGHS failed on the {what}: {exc}") from exc


def _candidate_cuts(inst: Instance, duals: np.ndarray | None):
    """Level sets ``{y : v_y >= t}`` of the token duals, both orientations (docs/theory.md §3 rounding)."""
    n = inst.n
    cands = [np.zeros(n, dtype=bool), np.ones(n, dtype=bool)]
    if duals is not None and np.all(np.isfinite(duals)):
        for v in (duals, -duals):
            order = np.argsort(-v, kind="stable")
            mask = np.zeros(n, dtype=bool)
            for j in range(n):
                mask = mask.copy()
                mask[order[j]] = True
                if j + 1 < n and v[order[j + 1]] == v[order[j]]:
                    continue
                cands.append(mask)
    return cands


def _exact_minimum(inst: Instance) -> tuple[int, ...] | None:
    """A minimising cut set from an exact minimisation below the LP, or ``None`` where none applies.

    Each guard is the real domain of its method: the sorted prefix for identical independent drafts (any n),
    the greedy formula for the greedy law (any n), the ``2^n`` enumeration within
    :func:`lpspec.solvers.subsets.subsets_fit`, and for exact input the rational max-flow of :func:`lpspec.certify`
    while :func:`lpspec.solvers.closed_forms.few_draft_sets` holds. None of them solves an LP, so the fallback cannot
    re-enter the LP it is checking.
    """
    if sorted_prefix_applies(inst):
        return sorted_prefix_optimum(inst).cut_set
    if greedy_applies(inst):
        return greedy_optimum(inst).cut_set
    if subsets_fit(inst):
        return subset_optimum(inst).cut_set
    if inst.exact and few_draft_sets(inst):
        return certify_instance(inst).cut_set
    return None


def _best_cut(inst: Instance, duals, value: float):
    """The best cut among the rounded duals; if none matches ``value``, also an exact minimisation's cut."""
    best_mask, best_val = None, math.inf
    for mask in _candidate_cuts(inst, duals):
        c = float(inst.cut_value(mask))
        if c < best_val:
            best_mask, best_val = mask, c
    if best_val - value > CUT_TOLERANCE:
        # The duals did not round to a matching cut: fall back on an exact minimisation where one applies.
        cut = _exact_minimum(inst)
        if cut is not None:
            mask = np.zeros(inst.n, dtype=bool)
            mask[list(cut)] = True
            c = float(inst.cut_value(mask))
            if c < best_val:
                best_mask, best_val = mask, c
    return best_mask, best_val


def _repair(src, tok, flow, src_mass, q):
    """Make a solver flow exactly feasible: ``f >= 0``, out-flow ``<= P``, in-flow ``<= q``."""
    f = np.maximum(np.asarray(flow, dtype=np.float64), 0.0)
    for _ in range(3):
        out = np.bincount(src, weights=f, minlength=src_mass.size)
        scale = np.where(out > src_mass, src_mass / np.where(out > 0, out, 1.0), 1.0)
        f = f * scale[src]
        inflow = np.bincount(tok, weights=f, minlength=q.size)
        scale = np.where(inflow > q, q / np.where(inflow > 0, inflow, 1.0), 1.0)
        f = f * scale[tok]
        out = np.bincount(src, weights=f, minlength=src_mass.size)
        inflow = np.bincount(tok, weights=f, minlength=q.size)
        if np.all(out <= src_mass) and np.all(inflow <= q):
            break
    return f


def _incidence(rows: np.ndarray, n_rows: int) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(rows.size), (rows, np.arange(rows.size))), shape=(n_rows, rows.size))


# ---------------------------------------------------------------------- the three forms
def _solve_flow_form(inst: Instance, form: str):
    import cvxpy as cp

    q = inst.target.astype(np.float64)
    if form == "merged":
        st = inst.set_table
        src_mass = st.mass.astype(np.float64)
        src, tok = st.edges
        tt_index = {}

        def tuple_source(x):
            key = tuple(canonical_set_keys(np.array([x]), inst.n)[0])
            if not tt_index:
                for i, row in enumerate(canonical_set_keys(np.where(st.sets < 0, inst.n, st.sets), inst.n)):
                    tt_index[tuple(row)] = i
            if tuple(int(t) for t in x) not in inst.tuple_rows:  # probability 0 (not a float underflow)
                return None
            return tt_index.get(key)
    else:
        tt = inst.tuple_table
        src_mass = tt.mass.astype(np.float64)
        keys = canonical_set_keys(tt.tuples, inst.n)
        rows, cols = np.nonzero(keys < inst.n)
        src, tok = rows.astype(np.int64), keys[rows, cols].astype(np.int64)
        index = {tuple(t): i for i, t in enumerate(tt.tuples.tolist())}

        def tuple_source(x):
            return index.get(tuple(x))

    E = src.size
    f = cp.Variable(E, nonneg=True)
    constraints = [_incidence(src, src_mass.size) @ f <= src_mass, _incidence(tok, inst.n) @ f <= q]
    problem = cp.Problem(cp.Maximize(cp.sum(f)), constraints)
    highs_solve(problem, f"{form} LP")
    if problem.status != cp.OPTIMAL:
        raise LPSolveError(
            f"HiGHS ended the {form} LP with status {problem.status!r} (not optimal); no value is reported. "
            f"Instance: {inst.describe()}."
        )
    duals = constraints[1].dual_value
    return src, tok, f.value, src_mass, duals, float(problem.value), f"lp:{form}", tuple_source


def _full_tuples(inst: Instance):
    n, K = inst.n, inst.k
    tuples = np.indices((n,) * K).reshape(K, -1).T.astype(np.int64)
    if inst.law == "independent":
        mass = np.ones(tuples.shape[0])
        for k in range(K):
            mass = mass * inst.drafts[k].astype(np.float64)[tuples[:, k]]
    else:
        tt = inst.tuple_table
        flat = np.ravel_multi_index(tt.tuples.T, (n,) * K)
        mass = np.zeros(tuples.shape[0])
        mass[flat] = tt.mass.astype(np.float64)
    return tuples, mass


def _solve_full_form(inst: Instance):
    import cvxpy as cp

    n, K = inst.n, inst.k
    N = n**K
    if N * n > MAX_FULL_VARIABLES:
        raise ValueError(
            f"form='full' needs n^K·n = {N * n:,} variables (n={n}, K={K}), more than {MAX_FULL_VARIABLES:,}; "
            "use form='edge' or form='merged', which have the same optimum."
        )
    tuples, mass = _full_tuples(inst)
    q = inst.target.astype(np.float64)
    keys = canonical_set_keys(tuples, n)
    accept = np.zeros((N, n))
    rows, cols = np.nonzero(keys < n)
    accept[rows, keys[rows, cols]] = 1.0
    W = cp.Variable((N, n), nonneg=True)
    objective = cp.Maximize(cp.sum(cp.multiply(accept, W)))
    # The ladder of docs/theory.md §8, every rung the same full LP: both equality systems; without the redundant
    # token row; then also without HiGHS's presolve (which reports feasible instances infeasible).
    attempts = [("lp:full", False, {}), ("lp:full+dropped-row", True, {}),
                ("lp:full+dropped-row+presolve-off", True, {"presolve": "off"})]
    statuses = []
    for method, drop_row, options in attempts:
        col_sums = cp.sum(W, axis=0)
        tok_con = (col_sums[:-1] == q[:-1]) if drop_row else (col_sums == q)
        constraints = [cp.sum(W, axis=1) == mass, tok_con]
        problem = cp.Problem(objective, constraints)
        try:
            highs_solve(problem, "full LP", **options)
        except LPSolveError as exc:
            statuses.append(f"{method}: {exc}")
            continue
        if problem.status == cp.OPTIMAL:
            break
        statuses.append(f"{method}: {problem.status}")
    else:
        raise LPSolveError(
            f"HiGHS did not solve the full LP to optimality on any rung of the fallback ladder "
            f"({'; '.join(statuses)}); no value is reported. Instance: {inst.describe()}. Use form='edge'."
        )
    duals = constraints[1].dual_value
    if duals is not None and drop_row:
        duals = np.concatenate([np.asarray(duals), [0.0]])
    Wv = np.asarray(W.value)
    src, tok = rows.astype(np.int64), keys[rows, cols].astype(np.int64)
    flow = Wv[src, tok]
    index = {tuple(t): i for i, t in enumerate(tuples.tolist())}

    def tuple_source(x):
        i = index.get(tuple(x))
        return None if i is None or tuple(int(t) for t in x) not in inst.tuple_rows else i

    return src, tok, flow, mass, duals, float(problem.value), method, tuple_source


def estimated_lp_seconds(inst: Instance, form: str) -> float:
    """A rough solve-time estimate of the LP ``form`` on ``inst`` (seconds, on 2 shared CPU cores).

    Linear in the number of draft tuples (``n^K · n`` variables for the full form), with the rates measured
    by ``benchmarks/nonidentical.py``; it only decides whether to refuse a solve that would run for minutes.

    Examples
    --------
    >>> inst = make_instance(target=[0.5] * 2, drafts=[[0.5] * 2, [0.9, 0.1]])
    >>> estimated_lp_seconds(inst, "merged") < 1
    True
    """
    tuples = inst.num_tuples()
    if form == "full":
        return _SECONDS_PER_TUPLE["full"] * inst.n ** (inst.k + 1)
    if form == "edge":
        rate = _SECONDS_PER_TUPLE["edge"].get(inst.k, 4e-3)
        return rate * tuples
    return _SECONDS_PER_TUPLE["merged"] * tuples


def check_lp_cost(inst: Instance, form: str, what: str | None = None) -> None:
    """Raise ``ValueError`` (size, estimated time, the method that scales) before an LP that would take minutes."""
    est = estimated_lp_seconds(inst, form)
    if est <= MAX_ESTIMATED_SECONDS:
        return
    if inst.law == "independent" and inst.identical:
        alt = "optimal_acceptance(method='sorted_prefix') solves identical independent drafts at any n"
    elif inst.law == "independent":
        alt = ("optimal_acceptance(method='submodular') solves independent different drafts at any n, exactly "
               "with a certificate")
    else:
        alt = "optimal_acceptance(method='auto') picks the closed form of this law when there is one"
    raise ValueError(
        f"{what or f'form={form!r}'} would solve an LP over {inst.tuple_count_text()} draft tuples (n={inst.n}, K={inst.k}): "
        f"estimated {est:,.0f} s, above lpspec.solvers.lp.MAX_ESTIMATED_SECONDS = {MAX_ESTIMATED_SECONDS:g} s. {alt}; "
        "or lower n.")


def solve_lp_for(inst: Instance, form: str = "edge") -> LPResult:
    """:func:`solve_lp` on an already built :class:`~lpspec.core.instance.Instance`."""
    if form not in FORMS:
        raise ValueError(f"form={form!r} is not an LP form; choose one of {', '.join(FORMS)}.")
    if form == "full":  # its variable cap (MAX_FULL_VARIABLES) keeps it under a minute
        inst.check_enumerable("form='full'")
        parts = _solve_full_form(inst)
    else:
        inst.check_enumerable(f"form={form!r}")
        check_lp_cost(inst, form)
        parts = _solve_flow_form(inst, form)
    src, tok, flow, src_mass, duals, solver_value, method, tuple_source = parts
    if flow is None:
        raise LPSolveError(f"HiGHS returned no primal solution for the {form} LP ({inst.describe()}).")
    q = inst.target.astype(np.float64)
    f = _repair(src, tok, flow, src_mass, q)
    value = math.fsum(f.tolist())
    duals = None if duals is None else np.asarray(duals, dtype=np.float64).ravel()
    mask, cut_val = _best_cut(inst, duals, value)
    gap = cut_val - value
    if gap > CUT_TOLERANCE or gap < -1e-12:
        raise LPSolveError(
            f"the {form} LP's repaired flow value {value!r} and the best cut {cut_val!r} differ by {gap:.3g} "
            f"(tolerance {CUT_TOLERANCE:g}); no value is reported. Instance: {inst.describe()}."
        )
    cut = tuple(int(i) for i in np.flatnonzero(mask))
    return LPResult(
        value=value, cut_set=cut, method=method, cut_value=cut_val,
        details={"solver_value": solver_value, "gap": gap},
        renormalised=inst.renormalised, form=form, solver_value=solver_value, instance=inst,
        _sources=src_mass, _edges=(src, tok, f), _tuple_source=tuple_source,
    )


@keyword_aliases(refused=DRAFTS)
def solve_lp(*, target, drafts, k: int | None = None, law: str = "independent", form: str = "edge") -> LPResult:
    """Solve the draft-selection LP (docs/theory.md §2) with HiGHS and certify the answer with a cut (§3).

    .. math::

        \\max_{w \\ge 0} \\sum_x \\sum_{y \\in \\mathrm{set}(x)} w(x, y) \\quad\\text{s.t.}\\quad
        \\sum_y w(x, y) = P(x), \\;\\; \\sum_x w(x, y) = q(y)

    (SpecTr, Sun et al. 2023; Khisti et al. 2025, Section 3).

    Parameters
    ----------
    target : array-like, shape (n,)
        Target ``q``.
    drafts : array-like, shape (n,) with ``k``, or (K, n)
        Draft distribution(s).
    k : int, optional
        Number of identical drafts.
    law : {"independent", "without_replacement", "greedy"}
        Draft law.
    form : {"full", "edge", "merged"}
        ``full`` is the paper's ``n^K × n`` LP; ``edge`` and ``merged`` are exact reductions.

    Returns
    -------
    LPResult
        ``.value`` (the repaired flow's value), ``.cut_set``, ``.method``, ``.conditional(x)``,
        ``.output_distribution()``, ``.check()``.

    Raises
    ------
    LPSolveError
        HiGHS did not end optimal (after the dropped-row retry for the full form), or the value does not
        match its cut certificate.

    Examples
    --------
    >>> r = solve_lp(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2, form="full")
    >>> round(r.value, 12), r.cut_set
    (0.69, (0,))
    """
    inst = make_instance(target=target, drafts=drafts, k=k, law=law)
    return solve_instance(inst, form)


#: The older spelling of :func:`solve_lp_for` (the same function; its ``__name__`` is the twin's).
solve_instance = solve_lp_for
