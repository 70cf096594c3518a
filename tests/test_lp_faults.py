"""Solver faults never reach the user as a number (docs/theory.md §8): injected failures of HiGHS."""

import cvxpy as cp
import numpy as np
import pytest

import lpspec
import lpspec.solvers.lp as lpmod
from lpspec.core.results import LPSolveError

Q = np.array([0.1, 0.2, 0.3, 0.4])
P = np.array([0.4, 0.3, 0.2, 0.1])


def _brute_force(q, p, k):
    """min over all subsets S of q(S) + 1 - p(S)^k, written here independently of lpspec."""
    n = len(q)
    best = np.inf
    for m in range(1 << n):
        S = [(m >> i) & 1 == 1 for i in range(n)]
        best = min(best, q[S].sum() + 1 - p[S].sum() ** k)
    return best


def _failing_solver(fail_calls, status=cp.INFEASIBLE):
    real = lpmod.highs_solve
    calls = {"n": 0}

    def solve(problem, what, **options):
        calls["n"] += 1
        real(problem, what, **options)
        if calls["n"] in fail_calls:
            problem._status = status  # what HiGHS presolve reports on the equality full LP (HiGHS #2511)

    return solve, calls


def test_full_form_retries_without_redundant_row(monkeypatch):
    solve, calls = _failing_solver({1})
    monkeypatch.setattr(lpmod, "highs_solve", solve)
    r = lpspec.solve_lp(target=Q, drafts=P, k=2, form="full")
    assert calls["n"] == 2
    assert r.method == "lp:full+dropped-row"
    assert r.value == pytest.approx(_brute_force(Q, P, 2), abs=1e-12)
    r.check()


def test_full_form_third_rung_turns_presolve_off(monkeypatch):
    solve, calls = _failing_solver({1, 2})
    monkeypatch.setattr(lpmod, "highs_solve", solve)
    r = lpspec.solve_lp(target=Q, drafts=P, k=2, form="full")
    assert calls["n"] == 3 and r.method == "lp:full+dropped-row+presolve-off"
    assert r.value == pytest.approx(_brute_force(Q, P, 2), abs=1e-12)


def test_full_form_raises_when_every_rung_fails(monkeypatch):
    solve, _ = _failing_solver({1, 2, 3})
    monkeypatch.setattr(lpmod, "highs_solve", solve)
    with pytest.raises(LPSolveError, match="any rung"):
        lpspec.solve_lp(target=Q, drafts=P, k=2, form="full")


def test_full_form_real_presolve_failure_is_recovered():
    # Found by a random search (Dirichlet(0.05) target): HiGHS presolve calls this feasible full LP
    # infeasible, with and without the redundant row; the ladder's third rung (presolve off) solves it.
    q = np.array([5.230152503289941e-07, 0.00010188264090041065, 0.00137034483490473, 1.391097179037904e-28,
                  0.05054962871351151, 0.008530130631172257, 0.9394474901642608, 0.0])
    p = np.array([2.2629720440049259e-07, 0.005854704831655197, 0.00024754841474571075, 0.004655793941538195,
                  0.36195259938897945, 0.12553057034672144, 0.4788836980110786, 0.02287485876807698])
    r = lpspec.solve_lp(target=q, drafts=p, k=2, form="full")
    assert r.method == "lp:full+dropped-row+presolve-off"
    assert r.value == pytest.approx(_brute_force(q / q.sum(), p / p.sum(), 2), abs=1e-9)
    r.check()


@pytest.mark.parametrize("form", ["edge", "merged"])
@pytest.mark.parametrize("status", [cp.INFEASIBLE, cp.USER_LIMIT, cp.OPTIMAL_INACCURATE])
def test_reduced_forms_raise_on_non_optimal_status(monkeypatch, form, status):
    solve, _ = _failing_solver({1}, status)
    monkeypatch.setattr(lpmod, "highs_solve", solve)
    with pytest.raises(LPSolveError, match="not optimal"):
        lpspec.solve_lp(target=Q, drafts=P, k=2, form=form)


def test_value_that_misses_its_certificate_is_an_error(monkeypatch):
    real = lpmod._repair
    monkeypatch.setattr(lpmod, "_repair", lambda *a: 0.5 * real(*a))
    with pytest.raises(LPSolveError, match="best cut"):
        lpspec.solve_lp(target=Q, drafts=P, k=2, form="edge")


def test_issue_solver_fault_instance_all_forms():
    p = np.array([0, 0.00062837, 0.15238889, 0.4513274, 0.18651383, 0.20914151])
    q = np.array([0.0633987279, 0.370362032, 0.170315319, 0.387209017, 0.00871155618, 0.00000334741726])
    p, q = p / p.sum(), q / q.sum()
    expected = _brute_force(q, p, 3)
    assert expected == pytest.approx(0.5681231655834715, abs=1e-12)
    for form in lpspec.solvers.lp.FORMS:
        r = lpspec.solve_lp(target=q, drafts=p, k=3, form=form)
        assert r.value == pytest.approx(0.5681231655834715, abs=1e-12), form
        r.check()


def test_results_record_renormalised_inputs():
    q = np.array([0.25, 0.25, 0.5]) * (1 + 4e-10)  # off by 4e-10: accepted, divided by its sum, recorded
    p = np.array([0.5, 0.25, 0.25])
    for res in (lpspec.optimal_acceptance(target=q, drafts=p, k=2), lpspec.solve_lp(target=q, drafts=p, k=2)):
        assert res.renormalised == ("target",)
        assert res.value == pytest.approx(_brute_force(q / q.sum(), p, 2), abs=1e-12)
