"""Theorem 1, the canonical decomposition (``lpspec.theory.decomposition``).

Expected values: the brute-force optimum over all sets (``_reference``), the LP, and quantities recomputed
here by enumerating the draft tuples: ``p_I = Σ_x P(x) β(x)``, ``Σ_y min(q(y), p_I(y))``, the membership
acceptance ``Σ_x P(x) Σ_{y ∈ set(x)} π(y|x)`` and the output law ``Σ_x P(x) π(·|x)``.
"""

from __future__ import annotations

from fractions import Fraction as F

import _reference as R
import numpy as np
import pytest
from hypothesis import example, given, settings

from lpspec import canonical_decomposition, make_instance, solve_lp
from lpspec.theory.decomposition import two_step_from_beta

TOL = 1e-9
METHODS = ("is_lp", "from_lp")


def _ref(kw):
    return R.normalised(kw["target"]), R.tuple_masses(drafts=kw["drafts"], k=kw["k"], law=kw["law"])


def check_two_step(dec, q, masses, tol=1e-12):
    """Recompute everything a two-step scheme reports by enumerating the tuples; return the acceptances."""
    n = len(q)
    betas, rows = {}, {}
    for x in masses:
        b = np.asarray(dec.beta(x), dtype=float)
        assert b.shape == (n,) and b.min() >= -tol and abs(b.sum() - 1) <= tol, (x, b)
        outside = [y for y in range(n) if y not in x]
        assert np.all(b[outside] == 0), f"β({x}) puts mass outside set(x)"
        betas[x] = b
        r = np.asarray(dec.conditional(x), dtype=float)
        assert r.shape == (n,) and r.min() >= -tol and abs(r.sum() - 1) <= tol, (x, r)
        rows[x] = r.tolist()
    p_I = [float(R.total([float(m) * betas[x][y] for x, m in masses.items()])) for y in range(n)]
    np.testing.assert_allclose(np.asarray(dec.intermediate, dtype=float), p_I, rtol=0, atol=tol)
    sd = float(R.total([min(float(q[y]), p_I[y]) for y in range(n)]))
    assert abs(float(dec.acceptance) - sd) <= tol and dec.sd_acceptance == dec.acceptance
    member = float(R.scheme_acceptance(masses, rows.__getitem__))
    assert abs(float(dec.membership_acceptance) - member) <= tol
    output = R.scheme_output(masses, rows.__getitem__, n)
    np.testing.assert_allclose([float(v) for v in output], [float(v) for v in q], rtol=0, atol=tol)
    np.testing.assert_allclose(
        np.asarray(dec.output_distribution(), dtype=float), [float(v) for v in q], rtol=0, atol=tol
    )
    assert member >= sd - tol  # membership counts residual samples that land on a draft
    return sd, member


# ------------------------------------------------------------------------------ Theorem 1 on random instances
@settings(max_examples=60, deadline=None)
@given(R.instance_kwargs(max_n=7, max_k=4, max_tuples=800))
@example({"target": [0.75, 0.25], "drafts": [0.5, 0.5], "k": 2, "law": "independent"})
@example({"target": [0.5, 0.5], "drafts": [0.9, 0.1], "k": 2, "law": "independent"})
@example({"target": [1.0, 0.0, 0.0], "drafts": [0.0, 0.0, 1.0], "k": 3, "law": "independent"})
@example(
    {"target": [0.1, 0.2, 0.3, 0.4], "drafts": [0.4, 0.3, 0.2, 0.1], "k": 3, "law": "without_replacement"}
)
@example({"target": [0.1, 0.2, 0.3, 0.4], "drafts": [0.4, 0.3, 0.2, 0.1], "k": 3, "law": "greedy"})
def test_canonical_decomposition_is_optimal_and_exact(kw):
    R.note_kw(kw)
    q, masses = _ref(kw)
    expected, _ = R.brute_optimum(q, masses)
    lp = solve_lp(**kw, form="merged").value
    assert abs(lp - expected) <= TOL
    for method in METHODS:
        dec = canonical_decomposition(**kw, method=method)
        assert dec.method == method
        dec.check()
        assert abs(dec.acceptance - lp) <= TOL, (method, dec.acceptance, lp)
        assert abs(dec.membership_acceptance - lp) <= TOL, (method, dec.membership_acceptance, lp)
        assert abs(dec.optimum - expected) <= TOL
        check_two_step(dec, q, masses)


@settings(max_examples=15, deadline=None)
@given(R.instance_kwargs(max_n=5, max_k=3, max_tuples=125, exact=True))
def test_canonical_decomposition_on_fraction_inputs(kw):
    R.note_kw(kw)
    q, masses = _ref(kw)
    expected, _ = R.brute_optimum(q, masses)
    for method in METHODS:
        dec = canonical_decomposition(**kw, method=method)
        dec.check()
        assert abs(float(dec.acceptance) - float(expected)) <= TOL
        assert abs(float(dec.membership_acceptance) - float(expected)) <= TOL
        check_two_step(dec, q, masses)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(R.instance_kwargs(max_n=10, max_k=4, max_tuples=3000))
def test_canonical_decomposition_long_run(kw):
    R.note_kw(kw)
    q, masses = _ref(kw)
    expected, _ = R.brute_optimum(q, masses)
    for method in METHODS:
        dec = canonical_decomposition(**kw, method=method)
        dec.check()
        assert abs(dec.acceptance - expected) <= TOL and abs(dec.membership_acceptance - expected) <= TOL
        check_two_step(dec, q, masses)


# Regression: the set {1} has mass 7.3e-14; HiGHS gave it no weight and method='is_lp' raised LPSolveError
# instead of choosing any β on that set.
@pytest.mark.parametrize("method", ["is_lp", "from_lp"])
def test_decomposition_with_a_set_of_mass_1e_13(method):
    p = np.array([9.99999730e-01, 2.69786641e-07])
    p = p / p.sum()
    q, masses = [1.0, 0.0], R.tuple_masses(drafts=p, k=2)
    expected, _ = R.brute_optimum(q, masses)
    dec = canonical_decomposition(target=q, drafts=p, k=2, method=method)
    dec.check()
    assert abs(dec.acceptance - expected) <= TOL
    check_two_step(dec, q, masses)


# Regression: in floats p_I >= q everywhere (Σ (q - p_I)^+ = 0) while the tuple (1, 2, 3), of mass ~1e-21, is
# rejected with probability one; its π(·|x) was an all-zero row.
NOTHING_TO_RESAMPLE = [
    0.9999996727122339,
    2.697866254659794e-07,
    4.097351052606157e-08,
    1.652763011923618e-08,
]


@pytest.mark.parametrize("method", METHODS)
def test_rejection_with_an_empty_residual_gives_distributions(method):
    p, q = np.array(NOTHING_TO_RESAMPLE), [1.0, 0.0, 0.0, 0.0]
    masses = R.tuple_masses(drafts=p, k=3, law="without_replacement")
    expected, _ = R.brute_optimum(q, masses)
    dec = canonical_decomposition(target=q, drafts=p, k=3, law="without_replacement", method=method)
    dec.check()
    assert abs(dec.acceptance - expected) <= TOL
    check_two_step(dec, q, masses)


def test_fault_instance_decomposes():
    p = np.array([0, 0.00062837, 0.15238889, 0.4513274, 0.18651383, 0.20914151])
    q = np.array([0.0633987279, 0.370362032, 0.170315319, 0.387209017, 0.00871155618, 0.00000334741726])
    p, q = p / p.sum(), q / q.sum()
    for method in METHODS:
        dec = canonical_decomposition(target=q, drafts=p, k=3, method=method)
        dec.check()
        assert abs(dec.acceptance - 0.5681231655834715) <= 1e-12
        assert abs(dec.membership_acceptance - 0.5681231655834715) <= 1e-12


# --------------------------------------------------------------------- two_step_from_beta, exact (docs/theory.md §4)
def _sir_beta(inst, q, rows):
    """SIR (docs/theory.md §5): pick draft i with probability ∝ q(x_i) / p_i(x_i); β_y sums the drafts equal to y."""
    tt = inst.tuple_table
    beta = np.array([[F(0)] * inst.n for _ in range(tt.tuples.shape[0])], dtype=object)
    for r, x in enumerate(tt.tuples.tolist()):
        w = [q[t] / rows[i][t] for i, t in enumerate(x)]
        s = sum(w, F(0))
        for i, t in enumerate(x):
            beta[r, t] += w[i] / s if s > 0 else F(1, len(x))
    return beta


def test_sir_gap_between_speculative_and_membership_acceptance():
    """docs/theory.md §4: SIR on p = (1/2, 1/2), q = (3/4, 1/4), K = 2: Σ min(q, p_I) = 7/8, Pr[Y ∈ {X}] = 11/12."""
    q, p = [F(3, 4), F(1, 4)], [F(1, 2), F(1, 2)]
    inst = make_instance(target=q, drafts=p, k=2)
    dec = two_step_from_beta(inst, _sir_beta(inst, q, [p, p]))
    assert dec.intermediate.tolist() == [F(5, 8), F(3, 8)]  # 1/4 + 2·(1/4)(3/4), 1/4 + 2·(1/4)(1/4)
    assert dec.acceptance == F(7, 8) and dec.membership_acceptance == F(11, 12)
    assert list(dec.output_distribution()) == q
    masses = R.tuple_masses(drafts=p, k=2)
    rows = {x: list(dec.conditional(x)) for x in masses}
    assert R.scheme_acceptance(masses, rows.__getitem__) == F(11, 12)
    assert R.scheme_output(masses, rows.__getitem__, 2) == q
    assert R.brute_optimum(q, masses)[0] == F(1)  # and the optimum is 1: SIR is not optimal here
    dec.check()


def test_position_weights_give_the_same_scheme():
    q, p = [F(3, 4), F(1, 4)], [F(1, 2), F(1, 2)]
    inst = make_instance(target=q, drafts=p, k=2)
    tt = inst.tuple_table
    pos = np.array(
        [
            [F(1, 2), F(1, 2)]
            if x[0] == x[1]
            else [q[x[0]] / (q[x[0]] + q[x[1]]), q[x[1]] / (q[x[0]] + q[x[1]])]
            for x in tt.tuples.tolist()
        ],
        dtype=object,
    )
    a = two_step_from_beta(inst, position_weights=pos)
    b = two_step_from_beta(inst, _sir_beta(inst, q, [p, p]))
    assert a.acceptance == b.acceptance == F(7, 8)
    assert a.membership_acceptance == b.membership_acceptance == F(11, 12)


@settings(max_examples=25, deadline=None)
@given(R.instance_kwargs(max_n=5, max_k=3, max_tuples=125, exact=True))
def test_any_beta_gives_output_q_exactly(kw):
    """Theorem 1's step 2 makes the output exactly q for every β (SIR β here), checked in Fractions."""
    R.note_kw(kw)
    q, masses = _ref(kw)
    inst = make_instance(**kw)
    rows = R.draft_rows(kw["drafts"], kw["k"])
    dec = two_step_from_beta(inst, _sir_beta(inst, q, rows))
    dec.check()
    out = R.scheme_output(masses, lambda x: list(dec.conditional(x)), len(q))
    assert out == q
    assert dec.acceptance <= dec.membership_acceptance <= R.brute_optimum(q, masses)[0]


# -------------------------------------------------------------------------------------------------- bad input
def test_two_step_from_beta_rejects_bad_weights():
    inst = make_instance(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2)
    N = inst.tuple_table.tuples.shape[0]
    good = np.zeros((N, 2))
    for r, x in enumerate(inst.tuple_table.tuples.tolist()):
        good[r, x[0]] = 1.0
    two_step_from_beta(inst, good)
    with pytest.raises(ValueError, match=r"beta must have shape \(N, n\)"):
        two_step_from_beta(inst, good[:, :1])
    with pytest.raises(ValueError, match="exactly one of"):
        two_step_from_beta(inst)
    with pytest.raises(ValueError, match="exactly one of"):
        two_step_from_beta(inst, good, position_weights=np.ones((N, 2)) / 2)
    outside = good.copy()
    r = next(i for i, x in enumerate(inst.tuple_table.tuples.tolist()) if x == [0, 0])
    outside[r] = [0.0, 1.0]
    with pytest.raises(ValueError, match="outside set"):
        two_step_from_beta(inst, outside)
    with pytest.raises(ValueError, match="sum to one"):
        two_step_from_beta(inst, good * 0.5)
    neg = good.copy()
    r2 = next(i for i, x in enumerate(inst.tuple_table.tuples.tolist()) if x == [0, 1])
    neg[r2] = [1.5, -0.5]
    with pytest.raises(ValueError, match="non-negative"):
        two_step_from_beta(inst, neg)
    with pytest.raises(ValueError, match=r"position_weights must have shape"):
        two_step_from_beta(inst, position_weights=np.ones((N, 3)))


def test_decomposition_errors():
    with pytest.raises(ValueError, match="method='lp' is not known"):
        canonical_decomposition(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2, method="lp")
    with pytest.raises(ValueError, match="target"):
        canonical_decomposition(target=[0.5, 0.7], drafts=[0.5, 0.5], k=2)
    n = 100
    with pytest.raises(ValueError, match="draft tuples"):
        canonical_decomposition(target=np.full(n, 1 / n), drafts=np.full(n, 1 / n), k=4, method="is_lp")
    # beyond the LPs' size, identical independent drafts default to the rank-space verifier (docs/theory.md §9)
    big = canonical_decomposition(target=np.full(n, 1 / n), drafts=np.full(n, 1 / n), k=4)
    assert big.method == "rank" and big.acceptance == pytest.approx(1.0, abs=1e-12)
    dec = canonical_decomposition(target=[0.5, 0.25, 0.25], drafts=[0.5, 0.5, 0.0], k=2)
    with pytest.raises(ValueError, match="probability 0"):
        dec.beta((0, 2))
