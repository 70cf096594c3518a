"""Exact optimality certificates: ``lpspec.certify`` against brute force written here (docs/theory.md §3, §4, §6).

A certificate is a scheme ``π(y | x)`` and a set ``S`` in Fractions with acceptance ``== q(S) + 1 - Pr(set(X) ⊆ S)``.
Each test re-checks it twice: by its own ``.check()`` and by ``_reference.recheck_plan`` against tuple masses
computed from the draft law's definition in ``tests/_reference.py`` (never by lpspec). The brute-force min-cut
of ``_grid.truth`` (cached ``_reference.brute_truth``) is the expected value.
"""

from __future__ import annotations

import importlib
import itertools
from fractions import Fraction as F

import numpy as np
import pytest
from _grid import identical_grid, simplex_grid, truth
from _reference import (
    ONE,
    ZERO,
    greedy_closed_form,
    greedy_fixed,
    independent_masses,
    mask_of,
    mass_of,
    recheck_plan,
    tokens_of,
    two_step,
)

import lpspec
from lpspec.theory.decomposition import canonical_decomposition, two_step_from_beta

certify_module = importlib.import_module("lpspec.solvers.certify")


def _report(failures, what):
    head = "\n".join(str(f) for f in failures[:10])
    return f"{len(failures)} instances violate {what}; first ones:\n{head}"


def _theorem1_beta(cert, t):
    """β_y(x) = f(x, y) / P(x) from the exact merged flow, the left-over on min(set(x)) (docs/theory.md §4)."""
    st = cert.instance.set_table
    row_of = {mask_of(st.members(i)): i for i in range(st.mass.size)}
    n = len(t.q)
    per_set = {}
    for a, mass in t.set_mass.items():
        b = [ZERO] * n
        for (row, y), f in cert.flow.items():
            if row == row_of[a]:
                b[y] += f / mass
        b[min(tokens_of(a, n))] += ONE - sum(b, ZERO)
        per_set[a] = b
    return lambda x: per_set[mask_of(x)]


def _verify(cert, t, q):
    """Everything a third party would re-check, with ``t`` the brute-force truth of the same instance."""
    assert cert.check()
    assert isinstance(cert.value, F) and cert.value == cert.cut_value == t.value
    assert mask_of(cert.cut_set) in t.minimisers
    assert recheck_plan(q, t.tuples, cert.conditional) == t.value
    # Theorem 1 holds for any draft law: the flow gives an optimal two-step scheme.
    r = two_step(q, t.tuples, _theorem1_beta(cert, t))
    assert r.speculative_acceptance == r.membership_acceptance == t.value and r.output == tuple(q)


# ------------------------------------------------------------------------------ docs/theory.md §4 counterexample
COUNTER_Q = (F(1, 10), F(1, 5), F(1, 10), F(3, 5))
COUNTER_P1 = (F(4, 5), F(0), F(1, 5), F(0))
COUNTER_P2 = (F(1, 10), F(3, 10), F(0), F(3, 5))


def test_non_identical_counterexample_certified():
    """Non-identical drafts: P* = 49/50 exactly, at S = {0, 1}; the sorted-prefix heuristic gives 1."""
    cert = lpspec.certify(target=list(COUNTER_Q), drafts=[list(COUNTER_P1), list(COUNTER_P2)])
    t = truth(COUNTER_Q, (COUNTER_P1, COUNTER_P2))
    _verify(cert, t, COUNTER_Q)
    assert cert.value == F(49, 50) and cert.cut_set == (0, 1)
    assert t.minimisers == (mask_of((0, 1)),)  # the only minimiser
    # the heuristic: prefixes of the order by q / ((p1 + p2) / 2), evaluated with p1(S) p2(S)
    avg = [(a + b) / 2 for a, b in zip(COUNTER_P1, COUNTER_P2)]
    order = sorted((i for i in range(4) if avg[i] > 0), key=lambda i: (COUNTER_Q[i] / avg[i], i))
    prefixes = [mask_of(order[:j]) for j in range(len(order) + 1)]
    heuristic = min(mass_of(COUNTER_Q, s) + 1 - mass_of(COUNTER_P1, s) * mass_of(COUNTER_P2, s) for s in prefixes)
    assert heuristic == 1 > cert.value


# ------------------------------------------------------------------------------ grids for every draft law
def test_certify_non_identical_independent_grid():
    """Min-cut formula, independent non-identical drafts: n = 3, d <= 3, K = 2 (13^3 = 2 197 instances) and
    n = 2, d <= 4, K = 3 (7^4 = 2 401 instances)."""
    cases = [(q, (p1, p2)) for q, p1, p2 in itertools.product(simplex_grid(3, 3), repeat=3)]
    cases += [(q, ds[:3]) for q, *ds in itertools.product(simplex_grid(2, 4), repeat=4)]
    failures = []
    for q, drafts in cases:
        t = truth(q, tuple(drafts))
        cert = lpspec.certify(target=list(q), drafts=[list(d) for d in drafts])
        try:
            _verify(cert, t, q)
        except AssertionError as exc:
            failures.append((q, drafts, t.value, cert.value, str(exc)))
    assert len(cases) == 2197 + 2401
    assert not failures, _report(failures, "certify == brute-force min-cut (non-identical)")


def test_certify_without_replacement_grid():
    """Min-cut formula, drafts without replacement: n <= 3, d <= 4 and n = 4, d <= 3; K = 2, 3."""
    cases = list(identical_grid(max_n=3, max_den=4, ks=(2, 3)))
    cases += [(q, p, k) for q in simplex_grid(4, 3) for p in simplex_grid(4, 3) for k in (2, 3)]
    failures, checked = [], 0
    for q, p, k in cases:
        if sum(1 for v in p if v > 0) < k:
            with pytest.raises(ValueError, match="without_replacement"):
                lpspec.certify(target=list(q), drafts=list(p), k=k, law="without_replacement")
            continue
        checked += 1
        t = truth(q, (p, k), "without_replacement")
        cert = lpspec.certify(target=list(q), drafts=list(p), k=k, law="without_replacement")
        opt = lpspec.optimal_acceptance(target=list(q), drafts=list(p), k=k, law="without_replacement")
        try:
            _verify(cert, t, q)
            assert opt.value == t.value and mask_of(opt.cut_set) in t.minimisers
        except AssertionError as exc:
            failures.append((q, p, k, t.value, cert.value, opt.value, str(exc)))
    assert checked == 1217
    assert not failures, _report(failures, "certify == brute-force min-cut (without replacement)")


def test_certify_greedy_grid_and_closed_form():
    """Greedy law: certify == brute-force min-cut == q(T) + Σ_{y ∉ T} min(q(y), p~(y)) (the closed form of
    docs/theory.md §6, computed here) == ``optimal_acceptance(law="greedy")``; n <= 3 with d <= 6 and K = 2, 3, and
    n = 4 with d <= 3 and K = 2, 3, 4 (K = 1 is the independent law, covered by test_exhaustive.py)."""
    cases = list(identical_grid(max_n=3, max_den=6, ks=(2, 3)))
    cases += [(q, p, k) for q in simplex_grid(4, 3) for p in simplex_grid(4, 3) for k in (2, 3, 4)]
    failures, checked = [], 0
    for q, p, k in cases:
        n = len(q)
        top = greedy_fixed(p, k)
        rest = [y for y in range(n) if y not in top]
        if k > n or sum((p[y] for y in rest), ZERO) == 0:
            with pytest.raises(ValueError):
                lpspec.certify(target=list(q), drafts=list(p), k=k, law="greedy")
            continue
        checked += 1
        t = truth(q, (p, k), "greedy")
        closed = greedy_closed_form(q, p, k)
        cert = lpspec.certify(target=list(q), drafts=list(p), k=k, law="greedy")
        opt = lpspec.optimal_acceptance(target=list(q), drafts=list(p), k=k, law="greedy")
        try:
            _verify(cert, t, q)
            assert closed == opt.value == t.value and mask_of(opt.cut_set) in t.minimisers
        except AssertionError as exc:
            failures.append((q, p, k, t.value, closed, opt.value, str(exc)))
    assert checked == 4724
    assert not failures, _report(failures, "the greedy closed form")


# ------------------------------------------------------------------------------ what a certificate is
def test_certificate_is_exact_rationals():
    """No float anywhere: value, cut value, flow, and every π(·|x)."""
    q = (F(1, 7), F(2, 7), F(4, 7))
    p = (F(1, 2), F(1, 3), F(1, 6))
    cert = lpspec.certify(target=list(q), drafts=list(p), k=3)
    assert isinstance(cert.value, F) and isinstance(cert.cut_value, F)
    assert all(isinstance(f, F) for f in cert.flow.values())
    for x in itertools.product(range(3), repeat=3):
        assert all(isinstance(v, F) for v in cert.conditional(x))
    assert cert.value == truth(q, (p, 3)).value


def test_large_prime_denominators_stay_exact():
    """Denominators near 10^6 and above (where ``limit_denominator`` would round): still exact."""
    a, b, c = 1_000_003, 999_983, 1_000_033  # primes
    q = (F(1, a), F(2, b), F(3, c), 1 - F(1, a) - F(2, b) - F(3, c))
    p1 = (F(a - 1, 3 * a), F(1, 3 * a), F(1, 3), F(1, 3))
    p2 = (F(1, 2), F(0), F(7, b), F(1, 2) - F(7, b))
    p3 = (F(1, c), F(1, c), F(1, c), 1 - F(3, c))
    cert = lpspec.certify(target=list(q), drafts=[list(p1), list(p2), list(p3)])
    t = truth(q, (p1, p2, p3))
    _verify(cert, t, q)
    assert cert.value.denominator > 10**6  # a value no limit_denominator(10**6) could have produced


def test_tampered_certificates_are_rejected():
    """The checks can fail: a perturbed flow, a wrong cut set, or a wrong value is caught exactly."""
    q = (F(1, 3), F(0), F(2, 3))
    p = (F(1, 3), F(1, 3), F(1, 3))
    t = truth(q, (p, 2))

    def fresh():
        return lpspec.certify(target=list(q), drafts=list(p), k=2)

    cert = fresh()
    assert cert.value == F(8, 9) and cert.check()
    edge = next(iter(cert.flow))
    cert.flow[edge] += F(1, 10**9)
    with pytest.raises(AssertionError):
        cert.check()
    with pytest.raises(AssertionError):
        recheck_plan(q, t.tuples, cert.conditional)

    cert = fresh()
    cert.cut_set = (0, 1, 2)  # cut value 1 != 8/9
    with pytest.raises(AssertionError):
        cert.check()

    cert = fresh()
    cert.value = F(1)
    with pytest.raises(AssertionError):
        cert.check()


def test_certify_refuses_what_it_cannot_prove(monkeypatch):
    """Float input, a zero-probability draft tuple, a wrong tuple length, too many draft sets: ValueError."""
    with pytest.raises(ValueError, match="Fraction"):
        lpspec.certify(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2)
    cert = lpspec.certify(target=[F(1, 2), F(1, 2)], drafts=[F(1), F(0)], k=2)
    with pytest.raises(ValueError, match="probability 0"):
        cert.conditional((1, 1))
    with pytest.raises(ValueError, match="K=2"):
        cert.conditional((0,))
    monkeypatch.setattr(certify_module, "MAX_CERTIFY_SETS", 2)
    with pytest.raises(ValueError, match="draft sets"):
        lpspec.certify(target=[F(1, 3)] * 3, drafts=[F(1, 3)] * 3, k=2)


# ------------------------------------------------------------------------------ floats against exact
FLOAT_CASES = [
    ((F(1, 10), F(1, 5), F(1, 10), F(3, 5)), [COUNTER_P1, COUNTER_P2]),
    ((F(1, 3), F(0), F(2, 3)), [(F(1, 3),) * 3] * 2),
    ((F(1, 6), F(1, 3), F(1, 2)), [(F(1, 2), F(1, 4), F(1, 4))] * 3),
    ((F(1, 5), F(1, 5), F(1, 5), F(2, 5)), [(F(1, 2), F(1, 4), F(1, 8), F(1, 8)), (F(0), F(1, 2), F(1, 2), F(0)),
                                            (F(1, 4), F(1, 4), F(1, 4), F(1, 4))]),
]


@pytest.mark.parametrize("q, drafts", FLOAT_CASES)
def test_lp_forms_and_decomposition_match_exact_certificate(q, drafts):
    """The float LP forms (full, edge, merged) and the Theorem 1 LP agree with the exact value to 1e-9."""
    exact = lpspec.certify(target=list(q), drafts=[list(d) for d in drafts]).value
    assert exact == truth(q, tuple(tuple(d) for d in drafts)).value
    qf = [float(v) for v in q]
    df = [[float(v) for v in d] for d in drafts]
    for form in ("full", "edge", "merged"):
        assert abs(lpspec.solve_lp(target=qf, drafts=df, form=form).value - float(exact)) <= 1e-9, form
    dec = canonical_decomposition(target=qf, drafts=df)
    dec.check()
    assert abs(dec.acceptance - float(exact)) <= 1e-9
    assert abs(dec.membership_acceptance - float(exact)) <= 1e-9


def test_two_step_from_beta_exact_on_counterexample():
    """lpspec's Theorem 1 evaluator on the exact β of the certificate (non-identical drafts)."""
    cert = lpspec.certify(target=list(COUNTER_Q), drafts=[list(COUNTER_P1), list(COUNTER_P2)])
    t = truth(COUNTER_Q, (COUNTER_P1, COUNTER_P2))
    beta = _theorem1_beta(cert, t)
    inst = cert.instance
    rows = np.array([beta(tuple(x)) for x in inst.tuple_table.tuples.tolist()], dtype=object)
    dec = two_step_from_beta(inst, rows)
    assert dec.acceptance == dec.membership_acceptance == F(49, 50)
    assert list(dec.output_distribution()) == list(COUNTER_Q)
    assert t.tuples == independent_masses([COUNTER_P1, COUNTER_P2])
