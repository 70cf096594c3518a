"""Theorem 1 of Khisti et al. (ICLR 2025): the canonical decomposition of an optimal scheme.

Step 1 (importance-sampling selection): given the draft tuple ``x``, pick ``Y_I ∈ set(x)`` with probability
``β_y(x)``; its law is ``p_I(y) = Σ_x P(x) β_y(x)``. Step 2 (single-draft speculative sampling): accept ``Y_I``
with probability ``min(1, q(Y_I) / p_I(Y_I))``, else output a sample of ``r = (q - p_I)^+ / Σ (q - p_I)^+``.

:func:`two_step_from_beta` evaluates this scheme exactly for any ``β`` (it is shared by every importance-
sampling scheme); :func:`canonical_decomposition` finds an optimal ``β``:

* ``method="is_lp"``: the IS-form LP (docs/theory.md §4), variables ``w(A, y) = Pr(set(X) = A) β_y(A)`` and ``z``::

      maximise Σ_y z_y   s.t.  z_y <= q(y),  z_y <= p_I(y) = Σ_{A ∋ y} w(A, y),  Σ_{y ∈ A} w(A, y) = Pr(set(X)=A)

* ``method="from_lp"``: the construction from an optimum of the selection LP: ``β_y(x) = w(x, y) / P(x)`` on
  ``set(x)``, the left-over ``1 - Σ_y β_y(x)`` added to the first draft ``x_1``.
* ``method="rank"`` (identical independent drafts, any ``n``): the rank-space verifier of docs/theory.md §9
  (:func:`lpspec.optimal_verifier`), with no enumeration of the draft tuples (:class:`RankDecomposition`).
* ``method="auto"`` (default): ``rank`` for identical independent drafts whose ``n^K`` tuples exceed what the LPs
  enumerate (:data:`~lpspec.core.instance.MAX_ENUMERATED_TUPLES`), ``is_lp`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.arith import EXACT, FLOAT
from ..core.instance import Instance, canonical_set_keys, make_instance
from ..core.keywords import DRAFTS, keyword_aliases
from ..core.results import LPSolveError, require

__all__ = ["canonical_decomposition", "canonical_decomposition_for", "decomposition_for", "two_step_from_beta",
           "CanonicalDecomposition", "RankDecomposition", "DECOMPOSITION_TOLERANCE"]

#: Tolerance of :meth:`CanonicalDecomposition.check` for float instances.
DECOMPOSITION_TOLERANCE = 1e-9


@dataclass
class CanonicalDecomposition:
    """The two-step scheme ``(β, speculative sampling)`` of Theorem 1, evaluated exactly.

    Attributes
    ----------
    instance : Instance
    intermediate : ndarray, shape (n,)
        ``p_I(y) = Σ_x P(x) β_y(x)``.
    acceptance : float or Fraction
        Speculative-sampling acceptance ``Σ_y min(q(y), p_I(y))`` (also ``sd_acceptance``).
    membership_acceptance : float or Fraction
        ``Pr[Y ∈ set(X)]`` of the two-step scheme (docs/theory.md §1); ``>= acceptance``, equal at an optimal ``β``.
    optimum : float or None
        ``P*(acc)`` when known (set by :func:`canonical_decomposition`).
    method : str
    """

    instance: Instance = field(repr=False)
    _tid: np.ndarray = field(repr=False)  # edge -> tuple row
    _tok: np.ndarray = field(repr=False)  # edge -> token
    _w: np.ndarray = field(repr=False)  # edge -> β weight
    intermediate: np.ndarray = field(default=None)
    acceptance: object = None
    membership_acceptance: object = None
    optimum: object = None
    method: str = "beta"

    def __post_init__(self):
        inst = self.instance
        # deliberate: exact only when both the instance and the β weights are rationals (float β: float64)
        A = self._arith = inst.arith if self._w.dtype == object else FLOAT
        P = inst.tuple_table.mass
        self.intermediate = A.bincount(self._tok, P[self._tid] * self._w, inst.n)
        q = A.array(inst.target)
        pI = self.intermediate
        with np.errstate(over="ignore"):  # q / p_I overflows only where min(., 1) is 1
            self._accept = A.array([min(q[y] / pI[y], 1) if pI[y] > 0 else A.one for y in range(inst.n)])
        minimum = A.array([min(q[y], pI[y]) for y in range(inst.n)])
        self.acceptance = A.sum(minimum)
        excess = A.array([q[y] - pI[y] if q[y] > pI[y] else 0 for y in range(inst.n)])
        total = A.sum(excess)
        self._residual = excess / total if total > 0 else q.copy()  # nothing rejected but round-off: any law
        # per-tuple acceptance in step 2, and the rejection mass
        kept = A.bincount(self._tid, self._w * self._accept[self._tok], P.size)
        self._reject = A.nonnegative(1 - kept)  # float round-off below zero clamped
        # membership: accepted outputs are drafts; a residual sample counts when it lands in set(x)
        keys = canonical_set_keys(inst.tuple_table.tuples, inst.n)
        r_ext = np.concatenate([self._residual, A.zeros(1)])
        hit = r_ext[keys].sum(axis=1)
        member = P * (kept + self._reject * hit)
        self.membership_acceptance = A.sum(member)

    @property
    def sd_acceptance(self):
        """Alias of :attr:`acceptance`: ``Σ_y min(q(y), p_I(y))``."""
        return self.acceptance

    def _row(self, x) -> int:
        x = tuple(int(t) for t in x)
        tt = self.instance.tuple_table
        if not hasattr(self, "_index"):
            self._index = {tuple(t): i for i, t in enumerate(tt.tuples.tolist())}
        i = self._index.get(x)
        if i is None:
            raise ValueError(f"the draft tuple x={x} has probability 0 under this instance (or wrong length).")
        return i

    def beta(self, x) -> np.ndarray:
        """``β(x)``: the selection law over tokens for the draft tuple ``x``, shape (n,)."""
        i = self._row(x)
        sel = self._tid == i
        return self._arith.bincount(self._tok[sel], self._w[sel], self.instance.n)

    def conditional(self, x) -> np.ndarray:
        """Output law given ``x``: ``β(x) ⊙ min(1, q/p_I) + (1 - Σ_y β_y(x) min(1, q/p_I)) r``, shape (n,)."""
        i = self._row(x)
        return self.beta(x) * self._accept + self._reject[i] * self._residual

    def output_distribution(self) -> np.ndarray:
        """``Σ_x P(x) π(·|x)``, accumulated over the tuples (equals ``q`` for every ``β``), shape (n,)."""
        P = self.instance.tuple_table.mass
        accepted = self._arith.bincount(self._tok, P[self._tid] * self._w * self._accept[self._tok],
                                        self.instance.n)
        rejected = self._arith.sum(P * self._reject)
        return accepted + rejected * self._residual

    def check(self) -> dict:
        """Assert output ``== q`` (1e-12; exact for Fractions) and, when the optimum is known, that
        ``acceptance == membership_acceptance == P*`` (``1e-9``). Returns the errors."""
        A = self._arith
        out = self.output_distribution()
        err = np.max(np.abs(out - A.array(self.instance.target)))  # a rational for exact weights
        out_err = float(err)
        require(err <= A.tolerance(1e-12), f"two-step output law differs from q by {out_err:.3g}")
        report = {"output_error": out_err}
        if self.optimum is not None:
            gap = abs(float(self.acceptance) - float(self.optimum))
            mgap = abs(float(self.membership_acceptance) - float(self.optimum))
            report.update(acceptance_gap=gap, membership_gap=mgap)
            require(gap <= DECOMPOSITION_TOLERANCE, f"Σ min(q, p_I) = {self.acceptance} but P* = {self.optimum}")
            require(mgap <= DECOMPOSITION_TOLERANCE, f"membership {self.membership_acceptance} != P* {self.optimum}")
        return report


class RankDecomposition(CanonicalDecomposition):
    """Theorem 1's two-step scheme with the rank-space selection of docs/theory.md §9, at any ``n``.

    The same fields as :class:`CanonicalDecomposition`, computed from :class:`lpspec.OptimalVerifier` without
    enumerating the draft tuples: ``intermediate = p_I = M(R_y)``, ``acceptance = Σ min(q, p_I)``, and
    ``membership_acceptance`` equal to it (a rejected tuple lies inside ``S*`` and the residual lives on ``T``,
    so a residual sample is never a draft token). Float64 throughout (exact input: ``optimum`` stays the exact
    ``P*``). :meth:`check` runs :meth:`lpspec.OptimalVerifier.check` (its stated bounds) and returns its report.

    Attributes
    ----------
    verifier : OptimalVerifier
    """

    def __init__(self, instance: Instance, verifier):
        self.instance = instance
        self.verifier = verifier
        self.method = "rank"
        self._arith = FLOAT
        self.intermediate = verifier.selection_law
        self.acceptance = verifier.acceptance
        self.membership_acceptance = verifier.acceptance
        self.optimum = verifier.value

    def beta(self, x) -> np.ndarray:
        """``β(x)``: exact piecewise-polynomial integrals (:meth:`lpspec.OptimalVerifier.selection`), shape (n,)."""
        return self.verifier.selection(x)

    def conditional(self, x) -> np.ndarray:
        return self.verifier.conditional(x)

    def output_distribution(self) -> np.ndarray:
        """``min(q, p_I) + (1 - Σ min(q, p_I)) r`` (analytic: Theorem 1's step 2 needs no enumeration), (n,)."""
        return self.verifier.output_distribution()

    def check(self) -> dict:
        """The verifier's check (partition, optimality sides, ``Σ min(q, p_I) = P*``, residual mass, output ``= q``)
        within its stated float64 bounds; also ``acceptance_gap`` / ``membership_gap`` / ``output_error``."""
        report = self.verifier.check()
        gap = abs(float(self.acceptance) - float(self.optimum))
        report.update(acceptance_gap=gap, membership_gap=gap)
        return report


def two_step_from_beta(inst: Instance, beta=None, *, position_weights=None, method: str = "beta"):
    """Evaluate the two-step scheme of Theorem 1 for given selection weights, exactly.

    .. math::

        p_I(y) = \\sum_x P(x) \\beta_y(x), \\qquad
        \\pi(y \\mid x) = \\beta_y(x) \\min\\!\\Big(1, \\frac{q(y)}{p_I(y)}\\Big)
        + \\Big(1 - \\sum_{y'} \\beta_{y'}(x) \\min\\!\\Big(1, \\frac{q(y')}{p_I(y')}\\Big)\\Big)
          \\frac{(q - p_I)^+(y)}{\\sum (q - p_I)^+}

    Parameters
    ----------
    inst : Instance
    beta : ndarray, shape (N, n), optional
        ``β_y(x)`` for the rows ``x`` of ``inst.tuple_table`` (zero outside ``set(x)``, rows summing to one).
    position_weights : ndarray, shape (N, K), optional
        Alternatively, the probability of selecting draft position ``j`` of tuple ``x`` (memory ``N·K``).

    Returns
    -------
    CanonicalDecomposition

    Raises
    ------
    ValueError
        Wrong shape, negative weights, weight outside ``set(x)``, or rows not summing to one (``1e-9``).

    Examples
    --------
    >>> from lpspec.core.instance import make_instance
    >>> inst = make_instance(target=[0.5, 0.5], drafts=[0.5, 0.5], k=1)
    >>> two_step_from_beta(inst, position_weights=np.ones((2, 1))).acceptance
    1.0
    """
    tt = inst.tuple_table
    N, K = tt.tuples.shape
    if (beta is None) == (position_weights is None):
        raise ValueError("pass exactly one of beta (N, n) or position_weights (N, K).")
    if position_weights is not None:
        w = np.asarray(position_weights)
        if w.shape != (N, K):
            raise ValueError(f"position_weights must have shape (N, K) = {(N, K)}; got {w.shape}.")
        tid = np.repeat(np.arange(N), K)
        tok = tt.tuples.ravel()
        w = w.ravel()
    else:
        b = np.asarray(beta)
        if b.shape != (N, inst.n):
            raise ValueError(f"beta must have shape (N, n) = {(N, inst.n)} (rows of inst.tuple_table); got {b.shape}.")
        tid, tok = np.nonzero(b != 0)
        w = b[tid, tok]
        inside = np.zeros_like(b, dtype=bool)
        rows = np.repeat(np.arange(N), K)
        inside[rows, tt.tuples.ravel()] = True
        if np.any(~inside[tid, tok]):
            raise ValueError("beta puts weight on a token outside set(x); β_y(x) must be zero there.")
    if w.dtype != object:  # deliberate: float weights are validated within 1e-9, rationals exactly
        w = w.astype(np.float64)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("selection weights must be finite and non-negative.")
        sums = np.bincount(tid, weights=w, minlength=N)
        if np.max(np.abs(sums - 1.0)) > 1e-9:
            raise ValueError("selection weights of each draft tuple must sum to one (within 1e-9).")
    else:
        if any(v < 0 for v in w):
            raise ValueError("selection weights must be non-negative.")
        sums = EXACT.bincount(tid, w, N)
        if any(s != 1 for s in sums):
            raise ValueError("exact selection weights of each draft tuple must sum to exactly one.")
    return CanonicalDecomposition(inst, tid.astype(np.int64), tok.astype(np.int64), w, method=method)


def _set_weights_to_tuples(inst: Instance, set_ids, tokens, weights) -> np.ndarray:
    """Position weights (N, K) from per-set token weights ``β(A, y)`` (split over repeated draft tokens)."""
    tt = inst.tuple_table
    key = set_ids.astype(np.int64) * inst.n + tokens.astype(np.int64)
    order = np.argsort(key)
    key, weights = key[order], weights[order]
    lookup = tt.set_index[:, None] * inst.n + tt.tuples
    pos = np.searchsorted(key, lookup)
    pos = np.minimum(pos, key.size - 1)
    found = key[pos] == lookup
    w = np.where(found, weights[pos], 0.0)
    mult = (tt.tuples[:, :, None] == tt.tuples[:, None, :]).sum(axis=2)
    return w / mult


def _normalise_rows(set_ids, weights, masses, n_sets):
    """Clip to >= 0 and rescale each set's weights to sum to exactly one (repairs solver round-off)."""
    w = np.maximum(weights, 0.0)
    sums = np.bincount(set_ids, weights=w, minlength=n_sets)
    empty = sums <= 0
    if np.any(empty):
        # A set of (tiny) mass that the solver left without weight: any β is valid there, so select the
        # first listed token of the set.
        first = np.full(n_sets, set_ids.size)  # first edge of each set
        np.minimum.at(first, set_ids, np.arange(set_ids.size))
        pick = first[empty]
        w[pick[pick < set_ids.size]] = 1.0
        sums = np.bincount(set_ids, weights=w, minlength=n_sets)
    return w / np.where(sums > 0, sums, 1.0)[set_ids]


def _beta_is_lp(inst: Instance):
    import cvxpy as cp

    from ..solvers.lp import highs_solve

    st = inst.set_table
    sid, tok = st.edges
    mass = st.mass.astype(np.float64)
    q = inst.target.astype(np.float64)
    import scipy.sparse as sp

    E = sid.size
    to_set = sp.csr_matrix((np.ones(E), (sid, np.arange(E))), shape=(mass.size, E))
    to_tok = sp.csr_matrix((np.ones(E), (tok, np.arange(E))), shape=(inst.n, E))
    w = cp.Variable(E, nonneg=True)
    z = cp.Variable(inst.n)
    cons = [to_set @ w == mass, z <= q, z <= to_tok @ w]
    prob = cp.Problem(cp.Maximize(cp.sum(z)), cons)
    highs_solve(prob, "Theorem 1 IS-form LP")
    if prob.status != cp.OPTIMAL:
        raise LPSolveError(f"HiGHS ended the IS-form LP with status {prob.status!r}; no value is reported.")
    weights = np.asarray(w.value) / np.where(mass[sid] > 0, mass[sid], 1.0)
    return sid, tok, _normalise_rows(sid, weights, mass, mass.size), float(prob.value)


def _beta_from_selection_lp(inst: Instance):
    from ..solvers.lp import solve_instance

    res = solve_instance(inst, form="merged")
    st = inst.set_table
    src, tok, flow = res._edges
    mass = st.mass.astype(np.float64)
    # a set whose float mass underflowed to 0 carries no flow: its β is the left-over below (any β is exact)
    beta = np.divide(flow, mass[src], out=np.zeros_like(flow, dtype=np.float64), where=mass[src] > 0)
    leftover = 1.0 - np.bincount(src, weights=beta, minlength=mass.size)
    first = st.sets[:, 0]  # put the left-over on one token of each set (the smallest)
    extra_sid = np.flatnonzero(np.maximum(leftover, 0.0) > 0)
    sid = np.concatenate([src, extra_sid])
    toks = np.concatenate([tok, first[extra_sid]])
    weights = np.concatenate([beta, np.maximum(leftover[extra_sid], 0.0)])
    # merge duplicate (set, token) pairs
    key = sid * inst.n + toks
    uniq, inv = np.unique(key, return_inverse=True)
    merged = np.bincount(inv.ravel(), weights=weights)
    sid, toks = uniq // inst.n, uniq % inst.n
    return sid, toks, _normalise_rows(sid, merged, mass, mass.size), res.value


@keyword_aliases(refused=DRAFTS)
def canonical_decomposition(
    *, target, drafts, k: int | None = None, law: str = "independent", method: str = "auto"
) -> CanonicalDecomposition:
    """Theorem 1 (Khisti et al. 2025): an optimal scheme as IS selection + single-draft speculative sampling.

    .. math::

        P^*(\\mathrm{acc}) = \\max_{\\beta} \\sum_y \\min\\big(q(y), p_I(y)\\big), \\qquad
        p_I(y) = \\sum_x P(x)\\, \\beta_y(x)

    Parameters
    ----------
    target, drafts, k, law
        As in :func:`lpspec.optimal_acceptance`.
    method : {"auto", "is_lp", "from_lp", "rank"}
        ``is_lp`` solves the IS-form LP; ``from_lp`` builds ``β`` from the selection LP's optimum; ``rank`` is
        the rank-space verifier (identical independent drafts, any ``n``, docs/theory.md §9). ``auto``: ``rank``
        for identical independent drafts beyond the LPs' enumeration limit, else ``is_lp``.

    Returns
    -------
    CanonicalDecomposition
        ``.beta(x)``, ``.intermediate``, ``.acceptance``, ``.membership_acceptance``,
        ``.output_distribution()``, ``.conditional(x)``, ``.optimum`` (``P*`` from the min-cut formula) and
        ``.check()``.

    Examples
    --------
    >>> d = canonical_decomposition(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2)
    >>> round(d.acceptance, 12), round(d.optimum, 12)
    (0.69, 0.69)
    """
    inst = make_instance(target=target, drafts=drafts, k=k, law=law)
    return decomposition_for(inst, method)


def canonical_decomposition_for(inst: Instance, method: str = "auto", optimum=None) -> CanonicalDecomposition:
    """:func:`canonical_decomposition` on an already built instance (``optimum``: its P*, when already known)."""
    from ..core.instance import MAX_ENUMERATED_TUPLES
    from ..solvers.optimum import optimum_for

    rank_ok = inst.identical and inst.law == "independent"
    if method == "auto":
        method = "rank" if rank_ok and inst.num_tuples() > MAX_ENUMERATED_TUPLES else "is_lp"
    if method == "rank":
        from ..verifier.rank import verifier_for

        return RankDecomposition(inst, verifier_for(inst))
    inst.check_enumerable("canonical_decomposition")
    from ..solvers.lp import check_lp_cost

    check_lp_cost(inst, "merged", "canonical_decomposition")  # both methods solve an LP of the merged size
    if method == "is_lp":
        sid, tok, w, _ = _beta_is_lp(inst)
    elif method == "from_lp":
        sid, tok, w, _ = _beta_from_selection_lp(inst)
    else:
        raise ValueError(f"method={method!r} is not known; choose 'auto', 'is_lp', 'from_lp' or 'rank'.")
    pos = _set_weights_to_tuples(inst, sid, tok, w)
    dec = two_step_from_beta(inst, position_weights=pos, method=method)
    dec.optimum = float((optimum_for(inst) if optimum is None else optimum).value)
    return dec


#: The older spelling of :func:`canonical_decomposition_for` (the same function; its ``__name__`` is the twin's).
decomposition_for = canonical_decomposition_for
