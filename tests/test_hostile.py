"""Hostile input and extreme numerics (issue 10): every class is generated with hypothesis, every answer is
checked against exact rational arithmetic of the same float inputs (``Fraction(float)`` is exact), and the
command lines must answer bad input with one line and exit code 2.

The default run uses a few examples per class; ``--runslow`` runs the long profile (``SLOW_EXAMPLES``; more
than 10^5 examples in total; ``LPSPEC_HOSTILE_SCALE`` scales it).
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import struct
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from fractions import Fraction

import _reference as R
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import lpspec
from lpspec.core.arith import EXACT, FLOAT
from lpspec.core.distributions import as_distribution, sum_tolerance
from lpspec.core.instance import MassInvariantError, make_instance

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Examples per class in the long profile (``--runslow``); the sum over the classes is above 10^5.
SLOW_EXAMPLES = {"wr": 40_000, "indep": 25_000, "order": 20_000, "float32": 10_000, "complex": 5_000,
                 "exact": 2_000, "lp": 1_500, "compare": 1_000, "layout": 1_000}


#: ``LPSPEC_HOSTILE_SCALE=0.01`` runs 1 % of the long profile (to time it and extrapolate).
SCALE = float(os.environ.get("LPSPEC_HOSTILE_SCALE", "1"))


def slow(key):
    return settings(max_examples=max(1, int(SLOW_EXAMPLES[key] * SCALE)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# ---------------------------------------------------------------------------------------- strategies
#: Masses that float products underflow: subnormals, and tiny normals whose squares are 0.0.
TINY = st.one_of(st.sampled_from([5e-324, 1e-323, 2.5e-322, 1e-315, 1e-310, 1e-300, 1e-200, 1e-160, 1e-30]),
                 st.floats(min_value=5e-324, max_value=1e-150, allow_subnormal=True))


@st.composite
def hostile_dist(draw, n: int, min_big: int = 1, zeros: bool = True):
    """A float distribution on n tokens summing to exactly 1.0 (fsum), with tiny and zero entries."""
    kinds = draw(st.lists(st.sampled_from(["big", "tiny", "zero"] if zeros else ["big", "tiny"]),
                          min_size=n, max_size=n))
    big = [i for i, kd in enumerate(kinds) if kd == "big"]
    for i in range(n):
        if len(big) >= min_big:
            break
        if i not in big:
            kinds[i] = "big"
            big.append(i)
    vals = [0.0] * n
    for i, kd in enumerate(kinds):
        if kd == "tiny":
            vals[i] = draw(TINY)
    weights = [draw(st.integers(1, 50)) for _ in big]
    rest = 1 - sum(Fraction(v) for v in vals)
    W = sum(weights)
    for i, w in zip(big[:-1], weights[:-1]):
        vals[i] = float(rest * w / W)
    vals[big[-1]] = float(1 - sum(Fraction(v) for v in vals))
    assume(math.fsum(vals) == 1.0 and min(vals) >= 0)
    return vals


def exact(values):
    """The float inputs as exact rationals (the truth that the float code must approximate)."""
    return [Fraction(float(v)) for v in values]


def close(a, b, tol=1e-12):
    return abs(float(a) - float(b)) <= tol


# ====================================================================================== wrong answers
def _check_without_replacement(q, p, K):
    inst = make_instance(target=q, drafts=p, k=K, law="without_replacement")
    truth = R.without_replacement_masses(exact(p), K)
    tt = inst.tuple_table
    got = {tuple(x): m for x, m in zip(tt.tuples.tolist(), tt.mass.tolist())}
    assert set(got) == set(truth)  # every tuple of positive probability is listed
    for x, m in truth.items():
        if m >= Fraction(2.0**-1000):  # normal range: relative error of a few roundings per factor
            assert abs(Fraction(got[x]) - m) <= m * Fraction(4 * K, 2**52), (x, got[x], float(m))
        else:  # below the normal range only the absolute size matters
            assert abs(Fraction(got[x]) - m) <= Fraction(2.0**-1000)
    assert abs(math.fsum(tt.mass.tolist()) - 1.0) <= 1e-12
    value = lpspec.optimal_acceptance(target=q, drafts=p, k=K, law="without_replacement").value
    exact_value, _ = R.brute_optimum(exact(q), truth)
    assert close(value, exact_value, 1e-12)
    out = lpspec.compare_schemes(target=q, drafts=p, k=K, law="without_replacement",
                                 schemes=["naive", "specinfer_wor", "sir", "upper_bound"])
    for name, v in out.items():
        assert math.isfinite(v) and -1e-12 <= v <= 1 + 1e-12, name
        if name != "upper_bound":
            assert v <= float(exact_value) + 1e-12, name


@st.composite
def wr_case(draw):
    n = draw(st.integers(2, 5))
    K = draw(st.integers(2, n))
    p = draw(hostile_dist(n, zeros=False))
    q = draw(hostile_dist(n))
    return q, p, K


@FAST
@given(wr_case())
@example(([0.25, 0.25, 0.0, 0.25, 0.25], [1.0, 5e-324, 5e-324, 2.225073858507203e-309, 2.225073858507203e-309], 2))
def test_without_replacement_masses_cannot_underflow(case):
    _check_without_replacement(*case)


@pytest.mark.slow
@slow("wr")
@given(wr_case())
def test_without_replacement_masses_cannot_underflow_long(case):
    _check_without_replacement(*case)


def test_without_replacement_reproduction():
    """Issue 10: every draw holds all three tokens, so P* = 1 (was 0.5, masses summing to 1.5)."""
    kw = dict(target=[0, 0.5, 0.5], drafts=[1, 5e-324, 1e-323], k=3, law="without_replacement")
    assert lpspec.optimal_acceptance(**kw).value == 1.0
    assert lpspec.compare_schemes(**kw, schemes=["naive"])["naive"] == 1.0
    assert math.fsum(make_instance(**kw).tuple_table.mass.tolist()) == 1.0


def test_total_mass_invariant_is_an_error_not_a_number(monkeypatch):
    """A mass evaluation that loses mass must raise, never return a number."""
    import lpspec.core.instance as I

    real = I._scaled_product
    monkeypatch.setattr(I, "_scaled_product", lambda *a: (lambda m, e: (m, e - 1))(*real(*a)))  # halve masses
    with pytest.raises(MassInvariantError, match="total mass"):
        lpspec.optimal_acceptance(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2, law="without_replacement",
                                  method="subsets")
    with pytest.raises(MassInvariantError):
        I._check_total(np.array([0.5, 0.25]), FLOAT, "independent")
    with pytest.raises(MassInvariantError):
        I._check_total(np.array([Fraction(1, 2), Fraction(1, 2) - Fraction(1, 10**30)], dtype=object), EXACT, "x")


# ------------------------------------------------------------- exact input routed to float methods
@st.composite
def violated_exact(draw, n_min=2, n_max=3):
    """Fractions, two different drafts, and q({0}) = p_1(0) p_2(0) - ε: P* = 1 - ε exactly (ε tiny)."""
    n = draw(st.integers(n_min, n_max))

    def dist():
        w = [draw(st.integers(1, 9)) for _ in range(n)]
        return [Fraction(v, sum(w)) for v in w]

    p1, p2 = dist(), dist()
    assume(p1 != p2)
    eps = Fraction(1, 10 ** draw(st.integers(12, 40)))
    q0 = p1[0] * p2[0] - eps
    rest = [draw(st.integers(1, 9)) for _ in range(n - 1)]
    q = [q0] + [(1 - q0) * Fraction(v, sum(rest)) for v in rest]
    return q, [p1, p2], eps


def _check_exact_routing(q, drafts, eps, method):
    r = lpspec.acceptance_one(target=q, drafts=drafts, method=method)
    masses = R.tuple_masses(drafts=drafts)
    margin, _ = R.brute_margin(q, masses)
    assert margin < 0  # the construction violates S = {0} by eps
    assert r.holds is False and r.tolerance == 0
    assert isinstance(r.margin, Fraction) and r.margin == min(margin, 0) or r.margin == R.brute_optimum(
        q, masses)[0] - 1
    S = set(r.witness)
    assert R.total([q[i] for i in S]) < R.containment(masses, S)  # the witness is a real violation


@FAST
@given(violated_exact(), st.sampled_from(["lp", "auto"]))
def test_exact_input_never_gets_a_float_verdict(case, method):
    q, drafts, eps = case
    _check_exact_routing(q, drafts, eps, method)


@pytest.mark.slow
@slow("exact")
@given(violated_exact(2, 5), st.sampled_from(["lp", "auto", "subsets"]))
def test_exact_input_never_gets_a_float_verdict_long(case, method):
    _check_exact_routing(*case, method)


def test_exact_input_at_n_15_non_identical_is_decided_exactly():
    """The reproduction: n = 15, non-identical Fraction drafts, P* = 1 - 1e-20 (auto used to call the LP)."""
    n = 15
    p1 = [Fraction(1, n)] * n
    p2 = [Fraction(2, n + 1)] + [Fraction(n - 1, (n + 1) * (n - 1))] * (n - 1)
    assert sum(p2) == 1
    eps = Fraction(1, 10**20)
    q0 = p1[0] * p2[0] - eps
    q = [q0] + [(1 - q0) / (n - 1)] * (n - 1)
    r = lpspec.acceptance_one(target=q, drafts=[p1, p2])
    assert r.holds is False and r.method == "exact_max_flow" and r.tolerance == 0
    assert r.margin == -eps  # S = {0}: q(S) - p1(S) p2(S) = -eps; nothing is violated more (checked below)
    S = set(r.witness)
    assert sum((q[i] for i in S), Fraction(0)) - sum(p1[i] for i in S) * sum(p2[i] for i in S) == -eps
    opt = lpspec.optimal_acceptance(target=q, drafts=[p1, p2])  # auto: exact, not the float LP
    assert opt.value == 1 - eps and opt.method == "exact_max_flow"
    lp = lpspec.optimal_acceptance(target=q, drafts=[p1, p2], method="lp")  # asked for: says it is a float
    assert lp.details["float_answer"] is True and abs(lp.value - float(1 - eps)) <= lp.details["tolerance"]


# ---------------------------------------------------------------------------------- verify_scheme
@FAST
@given(st.sampled_from([Fraction(1, 10**15), Fraction(1, 10**30), Fraction(1, 10**400)]))
def test_verify_scheme_is_exact_about_fraction_rows(delta):
    q = [Fraction(1, 2), Fraction(1, 2)]
    good = lambda x: np.array([Fraction(1, 2), Fraction(1, 2)], dtype=object)  # noqa: E731 - output q itself
    bad = lambda x: np.array([Fraction(1, 2) + delta, Fraction(1, 2) - delta], dtype=object)  # noqa: E731
    kw = dict(target=q, drafts=[Fraction(1, 3), Fraction(2, 3)], k=2, samples=0)
    assert lpspec.verify_scheme(good, **kw).exact is True
    for tol in (None, 0, Fraction(0)):
        r = lpspec.verify_scheme(bad, tolerance=tol, **kw)
        assert r.exact is False and r.tolerance == 0
    assert lpspec.verify_scheme(bad, tolerance=float(delta) * 2 + 1e-300, **kw).exact is True


def test_verify_scheme_rejects_complex_rows_and_bad_tolerances():
    kw = dict(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2, samples=0)
    for row in (np.array([0.5 + 0j, 0.5]), np.array([0.5 + 1e-3j, 0.5 - 1e-3j]),
                np.array([complex(0.5), Fraction(1, 2)], dtype=object)):
        r = lpspec.verify_scheme(lambda x, row=row: row, **kw)
        assert r.exact is False and "complex" in r.error
    for bad in (-1e-9, "0", float("nan"), float("inf"), True, 1j, None.__class__):
        with pytest.raises(ValueError, match="tolerance"):
            lpspec.verify_scheme(lambda x: np.array([0.5, 0.5]), tolerance=bad, **kw)


# ============================================================================ crashes and NaN
@st.composite
def tiny_independent(draw):
    n = draw(st.integers(2, 3))
    K = draw(st.integers(1, 3))
    identical = draw(st.booleans())
    p = [draw(hostile_dist(n, zeros=False)) for _ in range(1 if identical else K)]
    q = draw(hostile_dist(n))
    return q, p, K, identical


def _kw(q, p, K, identical):
    return dict(target=q, drafts=p[0], k=K) if identical else dict(target=q, drafts=p)


def _exact_masses(p, K, identical):
    rows = [exact(p[0])] * K if identical else [exact(r) for r in p]
    out = {}
    for x in itertools.product(range(len(rows[0])), repeat=len(rows)):
        m = math.prod((r[t] for r, t in zip(rows, x)), start=Fraction(1))
        if m > 0:
            out[x] = m
    return out


def _check_zero_mass_tuples(q, p, K, identical):
    kw = _kw(q, p, K, identical)
    truth, _ = R.brute_optimum(exact(q), _exact_masses(p, K, identical))
    scheme = lpspec.make_scheme("optimal", make_instance(**kw))
    assert math.isfinite(scheme.acceptance) and close(scheme.acceptance, truth, 1e-9)
    res = lpspec.solve_lp(**kw, form="edge" if K <= 2 else "merged")
    res.check()
    for x in _exact_masses(p, K, identical):  # every tuple of positive probability, float mass 0 or not
        row = res.conditional(x)
        assert np.all(np.isfinite(row)) and row.min() >= -1e-15 and abs(math.fsum(row.tolist()) - 1) <= 1e-12
    dec = lpspec.canonical_decomposition(**kw, method="from_lp")
    assert close(dec.acceptance, truth, 1e-9)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_independent())
def test_tuples_whose_float_mass_underflows(case):
    _check_zero_mass_tuples(*case)


@pytest.mark.slow
@slow("lp")
@given(tiny_independent())
def test_tuples_whose_float_mass_underflows_long(case):
    _check_zero_mass_tuples(*case)


def test_zero_mass_reproduction():
    kw = dict(target=[0.5, 0.5], drafts=[1e-200, 1.0], k=2)
    assert lpspec.make_scheme("optimal", make_instance(**kw)).acceptance == 0.5
    assert lpspec.canonical_decomposition(**kw, method="from_lp").acceptance == 0.5
    res = lpspec.solve_lp(**kw, form="merged")
    assert np.all(np.isfinite(res.conditional((0, 0))))
    with pytest.raises(ValueError, match="probability 0"):  # a real zero stays an error
        lpspec.solve_lp(target=[0.5, 0.5], drafts=[0.0, 1.0], k=2).conditional((0, 1))


def _check_compare(q, p, K, identical):
    kw = _kw(q, p, K, identical)
    truth, _ = R.brute_optimum(exact(q), _exact_masses(p, K, identical))
    out = lpspec.compare_schemes(**kw)
    for name, value in out.items():
        assert math.isfinite(float(value)) and -1e-12 <= float(value) <= 1 + 1e-12, name
        if name != "upper_bound":
            assert float(value) <= float(truth) + 1e-9, name
    assert close(out["optimal"], truth, 1e-12)


@st.composite
def subnormal_case(draw):
    q, p, K, identical = draw(tiny_independent())
    return q, p, min(K, 2), identical


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subnormal_case())
def test_compare_schemes_with_subnormal_drafts(case):
    _check_compare(*case)


@pytest.mark.slow
@slow("compare")
@given(subnormal_case())
def test_compare_schemes_with_subnormal_drafts_long(case):
    _check_compare(*case)


def _check_order_and_optimum(q, p, K):
    from lpspec.solvers.optimum import ratio_order

    qa, pa = np.array(q), np.array(p)
    order = ratio_order(qa, pa).tolist()
    key = sorted((i for i in range(len(p)) if p[i] > 0), key=lambda i: (Fraction(q[i]) / Fraction(p[i]), i))
    assert order == key  # the exact order of the ratios, whatever q/p does in floats
    got = lpspec.optimal_acceptance(target=q, drafts=p, k=K).value
    truth, _ = R.brute_optimum(exact(q), _exact_masses([p], K, True))
    assert close(got, truth, 1e-12)


@st.composite
def order_case(draw):
    n = draw(st.integers(2, 6))
    return draw(hostile_dist(n)), draw(hostile_dist(n)), draw(st.integers(1, 3))


@FAST
@given(order_case())
@example(([0.125] * 5 + [0.375], [0.16666666666666666] * 3 + [5e-324] * 2 + [0.5], 1))  # equal rounded ratios
@example(([0.5, 0.5], [1e-320, 1.0], 1))
def test_ratio_order_and_prefix_optimum_with_overflowing_ratios(case):
    _check_order_and_optimum(*case)


@pytest.mark.slow
@slow("order")
@given(order_case())
def test_ratio_order_and_prefix_optimum_with_overflowing_ratios_long(case):
    _check_order_and_optimum(*case)


# ------------------------------------------------------------------------------------------- huge K
def _float_reference(q, p, K):
    """min over prefixes of the exact q/p order of Q + 1 - (1 - tail)^K, in Python floats (log1p/expm1)."""
    order = sorted((i for i in range(len(p)) if p[i] > 0), key=lambda i: (Fraction(q[i]) / Fraction(p[i]), i))
    best = 1.0
    for j in range(len(order) + 1):
        Q = math.fsum(q[i] for i in order[:j])
        tail = math.fsum(p[i] for i in order[j:])
        best = min(best, Q - math.expm1(K * math.log1p(-min(tail, 1.0))) if tail < 1 else Q + 1.0)
    return best


@pytest.mark.parametrize("K", [10**4, 10**6, 10**9, 2**53])
def test_huge_k_is_evaluated_without_k_by_n_memory(K):
    q, p = [0.5, 0.3, 0.2 - 1e-12, 1e-12], [0.2, 0.3, 0.5 - 1e-300, 1e-300]
    inst = make_instance(target=q, drafts=p, k=K)
    assert inst.drafts.strides[0] == 0  # a broadcast view, not K copies
    value = lpspec.optimal_acceptance(target=q, drafts=p, k=K).value
    assert close(value, _float_reference(q, p, K), 1e-12)
    torch = pytest.importorskip("torch")
    import lpspec.batched as lb

    b = lb.optimal_acceptance(target=torch.tensor([q]), drafts=torch.tensor([p]), k=K, device="cpu")
    assert close(b.value.item(), value, 1e-12)
    assert lpspec.acceptance_one(target=q, drafts=p, k=K).holds == (value == 1.0)


@pytest.mark.parametrize("K, exact_input, match", [
    (2**53 + 1, False, "2\\^53"), (10**20, False, "2\\^53"), (10**400, False, "2\\^53"),
    (10_001, True, "exact"), (0, False, "at least 1"), (-3, False, "at least 1")])
def test_huge_or_invalid_k_is_refused_up_front(K, exact_input, match):
    p = [Fraction(1, 2)] * 2 if exact_input else [0.5, 0.5]
    with pytest.raises(ValueError, match=match):
        lpspec.optimal_acceptance(target=p, drafts=p, k=K)


def test_batched_large_k():
    torch = pytest.importorskip("torch")
    import lpspec.batched as lb

    q, p = [[0.5, 0.3, 0.2]], [[0.2, 0.3, 0.5]]
    out = lb.compare_schemes(target=q, drafts=p, k=10**9, device="cpu")
    assert "specinfer" not in out and all(bool(torch.isfinite(v).all()) for v in out.values())
    assert out["optimal"].item() == lpspec.optimal_acceptance(target=q[0], drafts=p[0], k=10**9).value
    with pytest.raises(ValueError, match="specinfer"):
        lb.compare_schemes(target=q, drafts=p, k=10**9, device="cpu", schemes=["specinfer"])
    with pytest.raises(ValueError, match="2\\^53"):
        lb.optimal_acceptance(target=q, drafts=p, k=2**53 + 1, device="cpu")


def test_compare_schemes_at_large_k_says_what_it_leaves_out():
    # by default every computable scheme is computed; the enumerating ones say why they are left out
    default = lpspec.compare_schemes(target=[0.5, 0.5], drafts=[0.2, 0.8], k=10**6)
    assert "optimal" in default and "naive" in default
    assert any("about 10^" in why for why in default.not_computed.values()), default.not_computed
    with pytest.raises(ValueError, match="10,000"):
        lpspec.compare_schemes(target=[0.5, 0.5], drafts=[0.2, 0.8], k=10**6, schemes=["specinfer"])
    out = lpspec.compare_schemes(target=[0.5, 0.5], drafts=[0.2, 0.8], k=10**6,
                                 schemes=["optimal", "spectr", "naive", "upper_bound"])
    assert all(math.isfinite(v) for v in out.values())


# ============================================================================ invalid input
COMPLEX = st.one_of(
    st.builds(lambda a: np.array([0.5 + a * 1j, 0.5]), st.floats(-1, 1)),
    st.builds(lambda a: np.array([0.5, 0.5], dtype=np.complex64) + np.complex64(a * 1j), st.floats(-1, 1)),
    st.builds(lambda a: [complex(0.5, a), 0.5], st.floats(-1, 1)),
    st.builds(lambda a: np.array([0.5, complex(0.5, a)], dtype=object), st.floats(-1, 1)),
)


def _check_complex_refused(values):
    with pytest.raises(ValueError, match="complex|real"):
        as_distribution(values, "target")
    with pytest.raises(ValueError, match="complex|real"):
        lpspec.optimal_acceptance(target=values, drafts=[0.5, 0.5], k=2)
    with pytest.raises(ValueError, match="complex|real"):
        lpspec.optimal_acceptance(target=[0.5, 0.5], drafts=values, k=2)
    torch = pytest.importorskip("torch")
    import lpspec.batched as lb

    arr = np.asarray(values, dtype=np.complex128)
    for batch in (arr[None, :], torch.tensor(arr[None, :])):
        with pytest.raises(ValueError, match="complex|real"):
            lb.optimal_acceptance(target=batch, drafts=batch.real if hasattr(batch, "real") else batch, k=2,
                                  device="cpu")


@FAST
@given(COMPLEX)
def test_complex_input_is_refused_everywhere(values):
    _check_complex_refused(values)


@pytest.mark.slow
@slow("complex")
@given(COMPLEX)
def test_complex_input_is_refused_everywhere_long(values):
    _check_complex_refused(values)


@st.composite
def float32_case(draw):
    n = draw(st.integers(2, 3000))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n).astype(np.float32) * np.float32(draw(st.sampled_from([0.1, 1.0, 5.0])))
    e = np.exp(z - z.max())
    probs = (e / e.sum()).astype(np.float32)  # normalised in float32 arithmetic
    factor = draw(st.sampled_from([1.0, 1 + 1e-3, 1 - 1e-3, 1 + 5e-5, 1.0 + 2e-7]))
    return (probs * np.float32(factor)).astype(np.float32)


def _check_float32_rule(probs):
    """One rule, both sides: accepted iff |fsum(widened) - 1| <= max(1e-9, sqrt(n) eps32)."""
    torch = pytest.importorskip("torch")
    import lpspec.batched as lb

    n = probs.size
    dev = abs(math.fsum(probs.astype(np.float64).tolist()) - 1.0)
    tol = max(1e-9, math.sqrt(n) * float(np.finfo(np.float32).eps))
    assert sum_tolerance(n, np.float32) == tol and lb.sum_tolerance(n, True) == tol
    expected = dev <= tol

    def accepted(fn):
        try:
            fn()
            return True
        except ValueError as exc:
            assert "sums to" in str(exc)
            return False

    assert accepted(lambda: as_distribution(probs, "target")) == expected
    assert accepted(lambda: as_distribution(torch.tensor(probs), "target")) == expected
    assert accepted(lambda: lb.validate_rows(torch.tensor(probs[None, :]), "target", device="cpu")) == expected
    assert accepted(lambda: lb.validate_rows(probs[None, :], "target", device="cpu")) == expected


@FAST
@given(float32_case())
def test_one_float32_rule_for_both_sides(probs):
    _check_float32_rule(probs)


@pytest.mark.slow
@slow("float32")
@given(float32_case())
def test_one_float32_rule_for_both_sides_long(probs):
    _check_float32_rule(probs)


def test_float32_reproductions():
    torch = pytest.importorskip("torch")
    import lpspec.batched as lb

    assert as_distribution(np.array([0.9, 0.1], dtype=np.float32), "t").renormalised  # was rejected
    rows = np.full((1, 50_000), 1 / 50_000, dtype=np.float32) * np.float32(1 + 2.5e-3)
    with pytest.raises(ValueError, match="sums to"):  # was accepted
        lb.validate_rows(torch.tensor(rows), "target", device="cpu")
    for half in (np.float16,):
        with pytest.raises(ValueError, match="float16"):
            as_distribution(np.array([0.5, 0.5], dtype=half), "t")


def test_drafts_of_the_wrong_length_are_a_shape_error():
    torch = pytest.importorskip("torch")
    import lpspec.batched as lb

    q = [0.2, 0.3, 0.5]
    for kw in (dict(drafts=[0.3, 0.5], k=2), dict(drafts=[[0.3, 0.5], [0.2, 0.3, 0.5]])):
        with pytest.raises(ValueError, match="length"):
            lpspec.optimal_acceptance(target=q, **kw)
    with pytest.raises(ValueError, match="tokens"):
        lb.optimal_acceptance(target=torch.tensor([q]), drafts=torch.tensor([[0.3, 0.5]]), k=2, device="cpu")


# ------------------------------------------------------------------------- batched: layouts, memory
@st.composite
def layout_case(draw):
    B, n = draw(st.integers(2, 6)), draw(st.integers(2, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    q = rng.dirichlet(np.full(n, 0.3), size=B)
    p = rng.dirichlet(np.full(n, 0.3), size=B)
    return q, p, draw(st.integers(1, 6)), draw(st.sampled_from(["fortran", "transposed", "sliced", "reversed"]))


def _layout(torch, a, how):
    if how == "fortran":
        return np.asfortranarray(a)
    if how == "transposed":
        return torch.tensor(np.ascontiguousarray(a.T)).T
    if how == "sliced":
        return torch.tensor(np.concatenate([a, a], axis=1))[:, : a.shape[1]]
    return np.ascontiguousarray(a[::-1])[::-1]


def _check_layout(q, p, K, how):
    torch = pytest.importorskip("torch")
    import lpspec.batched as lb

    tq, tp = _layout(torch, q, how), _layout(torch, p, how)
    assert not (getattr(tq, "is_contiguous", lambda: tq.flags.c_contiguous)()) or how == "reversed"
    ref = lb.optimal_acceptance(target=np.ascontiguousarray(q), drafts=np.ascontiguousarray(p), k=K, device="cpu")
    got = lb.optimal_acceptance(target=tq, drafts=tp, k=K, device="cpu")
    assert torch.equal(got.value, ref.value)
    cmp = lb.compare_schemes(target=tq, drafts=tp, k=K, device="cpu")
    cref = lb.compare_schemes(target=np.ascontiguousarray(q), drafts=np.ascontiguousarray(p), k=K, device="cpu")
    for name in cref:
        assert torch.equal(cmp[name], cref[name]), name
    masks = got.cut_mask(target=tq, drafts=tp).numpy()
    for b in range(q.shape[0]):  # each row against exact arithmetic of its own floats (the cut it names)
        S = np.flatnonzero(masks[b])
        fq, fp = exact(q[b] / math.fsum(q[b])), exact(p[b] / math.fsum(p[b]))
        value = sum((fq[i] for i in S), Fraction(0)) + 1 - sum((fp[i] for i in S), Fraction(0)) ** K
        assert close(got.value[b].item(), value, 1e-12)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout_case())
def test_batched_accepts_non_contiguous_input(case):
    _check_layout(*case)


@pytest.mark.slow
@slow("layout")
@given(layout_case())
def test_batched_accepts_non_contiguous_input_long(case):
    _check_layout(*case)


def test_batched_direct_sort_agrees_with_the_buckets(monkeypatch):
    """Short rows are sorted directly (memory O(B n)); the bucket path gives the same optimum and valid cuts."""
    torch = pytest.importorskip("torch")
    import lpspec.batched as lb
    from lpspec.batched import optimum as bo

    rng = np.random.default_rng(3)
    B, n = 64, 40
    q = rng.integers(0, 4, size=(B, n)).astype(float)  # many ties and zeros
    p = rng.integers(0, 3, size=(B, n)).astype(float)
    q[:, 0] += 1
    p[:, 1] += 1
    p[:, 2] = 1e-320  # subnormal draft probabilities: q/p overflows
    q, p = q / q.sum(1, keepdims=True), p / p.sum(1, keepdims=True)
    for K in (1, 2, 5, 10**9):
        direct = lb.optimal_acceptance(target=q, drafts=p, k=K, device="cpu")
        spectr = lb.compare_schemes(target=q, drafts=p, k=K, device="cpu", schemes=["spectr"])["spectr"]
        assert direct.details["buckets"] == 0
        monkeypatch.setattr(bo, "DIRECT_SORT_MAX_N", 0)
        buckets = lb.optimal_acceptance(target=q, drafts=p, k=K, device="cpu")
        spectr_b = lb.compare_schemes(target=q, drafts=p, k=K, device="cpu", schemes=["spectr"])["spectr"]
        monkeypatch.setattr(bo, "DIRECT_SORT_MAX_N", None)
        assert buckets.details["buckets"] > 0
        assert torch.allclose(direct.value, buckets.value, rtol=0, atol=1e-14)
        assert torch.allclose(spectr, spectr_b, rtol=0, atol=1e-13)
        for b in range(0, B, 16):  # SpecTr against the NumPy scheme on the same floats
            ref = lpspec.compare_schemes(target=q[b], drafts=p[b], k=min(K, 50), schemes=["spectr"])["spectr"]
            if K <= 50:
                assert abs(spectr[b].item() - ref) <= 1e-12
        masks = direct.cut_mask(target=q, drafts=p).numpy()
        assert (masks.sum(1) == direct.cut_size.numpy()).all()


# ===================================================================== CLI: one line, exit code 2
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("hostile")
    q = np.array([[0.5, 0.5], [0.3, 0.7]])
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    save_file({"target": torch.tensor(q), "drafts": torch.tensor(p)}, str(d / "ok.safetensors"))
    raw = (d / "ok.safetensors").read_bytes()
    (d / "trunc.safetensors").write_bytes(raw[: len(raw) // 2])
    (d / "garbage.safetensors").write_bytes(b"not a safetensors file at all" * 3)
    (d / "empty.safetensors").write_bytes(b"")
    header = b'{"target":{"dtype":"F64","shape":[2,2],"data_offsets":[0,999999]}}'
    (d / "lying.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 32)
    np.savez(d / "ok.npz", target=q, drafts=p)
    raw = (d / "ok.npz").read_bytes()
    (d / "trunc.npz").write_bytes(raw[:-60])
    np.savez(d / "zero.npz", target=q[:0], drafts=p[:0])
    torch.save({"target": torch.tensor(q), "drafts": torch.tensor(p), "metadata": ["a"]}, d / "listmeta.pt")
    torch.save({"target": torch.tensor(q).to_sparse(), "drafts": torch.tensor(p)}, d / "sparse.pt")
    torch.save({"target": torch.tensor(q), "drafts": torch.tensor(p), "x": Fraction(1, 3)}, d / "pickle.pt")
    np.savez(d / "inst.npz", target=q[0], draft=p[0])
    raw = (d / "inst.npz").read_bytes()
    (d / "inst_trunc.npz").write_bytes(raw[:-40])
    (d / "ragged.csv").write_text("target,draft\n0.5,0.5\n0.5\n")
    np.save(d / "complex.npy", np.array([[0.5 + 0j, 0.5], [0.5, 0.5]]))
    (d / "hugek.json").write_text(json.dumps({"target": [0.5, 0.5], "draft": [0.5, 0.5], "k": 10**30}))
    (d / "spec_n0.json").write_text(json.dumps({"families": [{"family": "dirichlet", "grid": {"n": [0]}}]}))
    (d / "spec_k.json").write_text(json.dumps({"families": [{"family": "dirichlet"}], "k": [10**25]}))
    (d / "spec_file.json").write_text(json.dumps({"families": [{"family": "file",
                                                                "params": {"path": "inst_trunc.npz"}}]}))
    return d


CLI_CASES = [
    ("batch", "trunc.safetensors", "-k", "2"), ("batch", "garbage.safetensors", "-k", "2"),
    ("batch", "empty.safetensors", "-k", "2"), ("batch", "lying.safetensors", "-k", "2"),
    ("batch", "trunc.npz", "-k", "2"), ("batch", "zero.npz", "-k", "2"), ("batch", "listmeta.pt", "-k", "2"),
    ("batch", "sparse.pt", "-k", "2"), ("batch", "pickle.pt", "-k", "2"),
    ("batch", "ok.npz", "-k", "2", "--device", "meta"), ("batch", "ok.npz", "-k", "2", "--format", "xml"),
    ("batch", "ok.npz", "-k", "2", "--output", "/nonexistent-dir/x.csv"), ("batch", "ok.npz", "-k", "0"),
    ("batch", "ok.npz", "-k", "100000000000000000000000"),
    ("solve", "--file", "inst_trunc.npz"), ("solve", "--file", "ragged.csv"), ("solve", "--file", "complex.npy"),
    ("solve", "--file", "hugek.json"), ("solve", "--example", "figure2-left", "-k", "0"),
    ("solve", "--target", "0.5,0.5", "--draft", "0.5,0.5", "-k", "100000000000000000000"),
    ("solve", "--target", "complex.npy", "--draft", "0.5,0.5", "-k", "2"),
    ("figure", "region", "-k", "0"), ("figure", "acceptance-vs-k", "--params", '{"n": 0}'),
    ("table", "spec_n0.json"), ("table", "spec_k.json"), ("table", "spec_file.json"),
]


@pytest.mark.parametrize("argv", CLI_CASES, ids=["-".join(a) for a in CLI_CASES])
def test_cli_answers_bad_input_with_one_line(argv, bad_files, monkeypatch, tmp_path):
    from lpspec.cli import main

    monkeypatch.chdir(bad_files)
    if argv[0] == "figure":
        argv = (*argv, "--output-dir", str(tmp_path))
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        code = main(list(argv))
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert code == 2, (argv, err.getvalue())
    assert len(lines) == 1 and lines[0].startswith(("lpspec: error:", "lpspec batch: error:")), lines
    assert "Traceback" not in err.getvalue()


def test_refused_pickle_says_what_and_why(bad_files):
    from lpspec.batched.io import load_distributions

    with pytest.raises(ValueError, match="refused.*fractions.Fraction.*weights_only"):
        load_distributions(bad_files / "pickle.pt")


@pytest.mark.parametrize("argv", [
    ["-m", "lpspec", "batch", "lying.safetensors", "-k", "2"],
    ["-m", "lpspec.batched", "ok.npz", "-k", "2", "--format", "xml"],
    ["-m", "lpspec", "solve", "--target", "0.5,0.5", "--draft", "1e-320,1.0", "-k", "2"],
])
def test_cli_subprocess(argv, bad_files):
    """A few real processes: no traceback reaches the terminal; the subnormal draft solves (exit 0)."""
    proc = subprocess.run([sys.executable, *argv], cwd=bad_files, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr
    if argv[-1] == "2" and "1e-320,1.0" in argv:
        assert proc.returncode == 0 and "nan" not in proc.stdout.lower()
    else:
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_huge_k_beyond_the_broadcast_view_is_a_value_error():
    """Review: K = 2^53 with n = 1000 used to leak numpy's 'array is too big' from np.broadcast_to."""
    n = 1000
    q = np.full(n, 1.0 / n)
    limit = (2**63 - 1) // (8 * n)  # numpy's bound on a view's nominal size in bytes, by hand
    with pytest.raises(ValueError, match=r"k=9007199254740992 with n=1000 tokens.*pass k <= " + str(limit)):
        make_instance(target=q, drafts=q, k=2**53)
    with pytest.raises(ValueError, match="k=9007199254740992"):
        lpspec.optimal_acceptance(target=q, drafts=q, k=2**53)
    assert make_instance(target=q, drafts=q, k=limit).drafts.shape == (limit, n)  # the largest view still works


def test_subnormal_ratios_raise_no_overflow_warning():
    """Review: `lpspec solve --target 1e-320,1 --draft 1,1e-320 -k 3` printed two RuntimeWarnings (SIR's q/p
    and the tournament's q/p_I overflow to inf, which both handle); the answers must stay exact laws."""
    import warnings

    q, p = [1e-320, 1.0], [1.0, 1e-320]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = lpspec.compare_schemes(target=q, drafts=p, k=3, schemes=["sir", "tournament"])
        for scheme in (lpspec.SIR(target=q, drafts=p, k=3),):
            report = lpspec.verify_scheme(scheme.conditional, target=q, drafts=p, k=3)
            assert report.exact, report
    # P* = q(S) + 1 - p(S)^3 at S = {0}: by hand 1e-320 + 3e-320 (p(S) = 1 - 1e-320 after renormalising)
    for name in ("sir", "tournament"):
        assert 0.0 <= float(res[name]) <= 4.1e-320


def test_verifier_check_is_not_passed_on_a_vacuous_bound():
    """Review: at K = 2^53 `lpspec solve` said the rank-space plan is "exact and optimal to 0.2 (bound 46)" while
    Theorem 1's row, on the same plan, FAILED. q = (0.2, 0.3, 0.5), p = (0.5, 0.3, 0.2): every S with p(S) < 1
    has p(S)^K = 0 in any arithmetic, so P* = 1 (S = {} or all tokens) by hand."""
    from lpspec.theory.checks import theorem_checks

    small = theorem_checks(make_instance(target=[0.2, 0.3, 0.5], drafts=[0.5, 0.3, 0.2], k=2))["verifier"]
    assert small["passed"] and small["error"] <= 1e-15
    inst = make_instance(target=[0.2, 0.3, 0.5], drafts=[0.5, 0.3, 0.2], k=2**53)
    checks = theorem_checks(inst)
    acceptance = lpspec.optimal_verifier(target=[0.2, 0.3, 0.5], drafts=[0.5, 0.3, 0.2], k=2**53).acceptance
    c = checks["verifier"]
    if abs(acceptance - 1.0) > 1e-9:  # the plan misses P* = 1: both rows must say so
        assert not c["passed"] and "above" in c["reason"] and not checks["theorem1"]["passed"]
    else:  # a future construction that is accurate at huge K passes both
        assert c["passed"] and checks["theorem1"]["passed"]


def test_batch_check_verifier_is_not_passed_on_a_vacuous_bound(tmp_path, capsys):
    """Review: `lpspec batch FILE -k 2^53 --check-verifier` said "pass ... largest error 0.2 (bound >= 46)"."""
    pytest.importorskip("torch")
    from lpspec.batched.table import verifier_check
    from lpspec.cli import main

    q, p = np.array([[0.2, 0.3, 0.5]] * 2), np.array([[0.5, 0.3, 0.2]] * 2)
    out = verifier_check(target=q, drafts=p, k=[2, 2**53], device="cpu")
    assert out[2]["passed"] == 2 and out[2]["worst_error"] <= 1e-15
    if out[2**53]["worst_error"] > 1e-9:  # P* = 1 by hand (see the test above); the plan misses it
        assert out[2**53]["passed"] == 0
        np.savez(tmp_path / "d.npz", target=q, drafts=p)
        main(["batch", str(tmp_path / "d.npz"), "-k", str(2**53), "--check-verifier", "--summary", "--device", "cpu"])
        assert f"K={2**53}: FAIL on 0/2 rows" in capsys.readouterr().err


@pytest.mark.parametrize("kw, name", [({"target": None, "drafts": [0.5, 0.5], "k": 2}, "target"),
                                      ({"target": [0.5, 0.5], "drafts": None}, "drafts"),
                                      ({"target": [0.5, 0.5], "drafts": None, "k": 2}, "drafts")])
def test_missing_target_or_drafts_is_named(kw, name):
    """Review: drafts=None gave "TypeError: 'NoneType' object is not iterable", or, with k, "k was given together
    with a list of drafts"."""
    with pytest.raises(ValueError, match=f"^{name} is required"):
        make_instance(**kw)
    with pytest.raises(ValueError, match=f"^{name} is required"):
        lpspec.optimal_verifier(**kw)


# ===================================================================== checkpoints with integrity (issue 19)
# The reference of every resumed run is the uninterrupted computation, done here by calling the task on each
# item (not through the checkpoint code): a resumed run must give exactly those rows, or refuse with one line.
from lpspec import checkpoint as ckpt  # noqa: E402
from lpspec.distributed import map_tasks  # noqa: E402

CK_ITEMS = list(range(9))


def _ck_task(x):
    """Rows of varying count (1 to 3) with cells of every kind a table holds."""
    return [{"x": x, "j": j, "v": (x + 1) / (j + 7), "tiny": 5e-324 * j, "s": f"é{x}", "none": None,
             "flag": bool(j % 2), "nan": float("nan") if x == 4 else 0.0} for j in range(x % 3 + 1)]


def _ck_skeleton_check(x, rows):
    return ckpt.rows_match([{"x": x, "j": j} for j in range(x % 3 + 1)], rows)


def _same_rows(a, b):
    """Equal rows, NaN equal to NaN (canonical JSON compares floats bit for bit through repr)."""
    return ckpt.canonical(a) == ckpt.canonical(b)


CK_REFERENCE = [_ck_task(x) for x in CK_ITEMS]


def _ck_run(path, resume=False, stop_after=None):
    items = CK_ITEMS if stop_after is None else CK_ITEMS  # same run (same fingerprint) either way
    if stop_after is not None:
        calls = {"n": 0}

        def task(x):
            calls["n"] += 1
            if calls["n"] > stop_after:
                raise KeyboardInterrupt  # the run is stopped here
            return _ck_task(x)
    else:
        task = _ck_task
    return map_tasks(task, items, checkpoint=path, resume=resume, run_id="hostile", check_rows=_ck_skeleton_check)


def _forged(obj):
    """A line with a *valid* digest (as a tool rewriting the file would write) but content of our choosing."""
    return ckpt.canonical({**obj, "sha256": ckpt.line_digest(obj)}).encode() + b"\n"


@st.composite
def checkpoint_damage(draw):
    """A list of edits to apply, in order, to the bytes of a checkpoint (the header is line 0)."""
    kinds = ["byte", "truncate", "duplicate", "delete", "swap", "inject", "encoding", "interleave", "long"]
    return draw(st.lists(st.tuples(st.sampled_from(kinds), st.integers(0, 10**9), st.integers(0, 10**9),
                                   st.integers(0, 255)), min_size=1, max_size=3))


def _apply(data: bytes, edits, fp: str) -> bytes:
    for kind, a, b, byte in edits:
        lines = data.splitlines(keepends=True)
        body = range(1, len(lines)) if len(lines) > 1 else range(len(lines))
        if kind == "byte" and data:
            i = a % len(data)
            data = data[:i] + bytes([byte]) + data[i + 1:]
        elif kind == "truncate" and data:
            data = data[: a % (len(data) + 1)]
        elif kind == "duplicate" and len(body):
            line = lines[body[a % len(body)]]
            lines.insert(1 + b % len(lines), line if line.endswith(b"\n") else line + b"\n")
            data = b"".join(lines)
        elif kind == "delete" and len(body):
            del lines[body[a % len(body)]]
            data = b"".join(lines)
        elif kind == "swap" and len(body) > 1:
            i, j = body[a % len(body)], body[b % len(body)]
            lines[i], lines[j] = lines[j], lines[i]
            data = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        elif kind == "inject":
            task = a % (len(CK_ITEMS) + 2) - 1  # -1 and len(items): out of range
            x = task if 0 <= task < len(CK_ITEMS) else 0
            rows = _ck_task(x)
            bad = [[], rows * 3, rows[:-1] + [{"family": "evil", "k": 99}], [{**rows[0], "x": x + 1}] + rows[1:],
                   rows + [rows[0]]][b % 5]
            forged = _forged({"run": fp if byte % 4 else "someone-else", "task": task, "rows": bad})
            lines.insert(1 + b % len(lines) if lines else 0, forged)
            data = b"".join(lines)
        elif kind == "encoding" and len(body):
            i = body[a % len(body)]
            text = lines[i].decode("utf-8", "replace")
            enc = ["utf-16", "latin-1", "utf-32"][b % 3]
            lines[i] = text.replace("\\u00e9", "é").encode(enc, "replace") + (b"\xff\xfe\n" if b % 2 else b"")
            data = b"".join(lines)
        elif kind == "interleave" and len(body) > 1:  # two writers without a lock: one line cut into another
            i, j = body[a % len(body)], body[b % len(body)]
            cut = byte % max(1, len(lines[i]))
            lines[i] = lines[i][:cut] + lines[j] + lines[i][cut:]
            data = b"".join(lines)
        elif kind == "long":
            lines.insert(1 + b % len(lines) if lines else 0, b'{"task": 1, "rows": [' + b"0," * 5000 + b"0]}\n")
            data = b"".join(lines)
    return data


def _check_checkpoint_damage(edits, stop_after, monkeypatch_limit=True):
    import tempfile

    old = ckpt.MAX_LINE_BYTES
    ckpt.MAX_LINE_BYTES = 4096 if monkeypatch_limit else old  # the "long" edit is over it; real lines are not
    try:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "out.csv.checkpoint.jsonl")
            if stop_after is None:
                first = _ck_run(path)
            else:
                with pytest.raises(KeyboardInterrupt):
                    _ck_run(path, stop_after=stop_after)
            original = open(path, "rb").read()
            fp = json.loads(original.splitlines()[0])["run"]
            damaged = _apply(original, edits, fp)
            with open(path, "wb") as f:
                f.write(damaged)
            err = io.StringIO()
            try:
                with redirect_stderr(err):
                    run = _ck_run(path, resume=True)
            except ValueError as exc:  # refused: one line naming the file; allowed only for a damaged header
                msg = str(exc)
                assert "\n" not in msg and path in msg, msg
                assert damaged.split(b"\n", 1)[0] != original.split(b"\n", 1)[0], msg
                return "refused"
            assert all(_same_rows(run.results[i], CK_REFERENCE[i]) for i in range(len(CK_ITEMS))), edits
            for line in err.getvalue().splitlines():
                assert line.startswith(f"lpspec: warning: {path}"), line
            if damaged != original and stop_after is None:
                assert run.resumed <= len(CK_ITEMS)
            # the file left behind is clean: a second resume merges every task and says nothing
            err2 = io.StringIO()
            with redirect_stderr(err2):
                again = _ck_run(path, resume=True)
            assert again.resumed == len(CK_ITEMS) and err2.getvalue() == ""
            assert all(_same_rows(again.results[i], CK_REFERENCE[i]) for i in range(len(CK_ITEMS)))
            if stop_after is None and damaged == original:
                assert _same_rows(first.results, run.results)
            return "resumed"
    finally:
        ckpt.MAX_LINE_BYTES = old


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(checkpoint_damage(), st.one_of(st.none(), st.integers(1, 8)))
@example([("byte", 0, 0, ord("X"))], None)  # the header damaged: refused
@example([("inject", 3, 4, 1)], None)  # a forged row with a valid digest but a task's row that is not its own
@example([("interleave", 2, 5, 17)], None)
@example([("long", 0, 1, 0)], 4)
@example([("truncate", 0, 0, 0), ("inject", 0, 0, 0)], None)  # an empty file: refused
def test_a_damaged_checkpoint_resumes_to_the_same_rows_or_is_refused(edits, stop_after):
    _check_checkpoint_damage(edits, stop_after)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(checkpoint_damage(), st.one_of(st.none(), st.integers(1, 8)))
def test_a_damaged_checkpoint_resumes_to_the_same_rows_or_is_refused_long(edits, stop_after):
    _check_checkpoint_damage(edits, stop_after)


def test_checkpoint_lines_are_sealed_with_sha256_of_their_content(tmp_path):
    """The digest is SHA-256 of the compact JSON of the line without it (recomputed here with hashlib)."""
    import hashlib

    path = tmp_path / "c.jsonl"
    _ck_run(path)
    for raw in path.read_bytes().splitlines():
        obj = json.loads(raw)
        digest = obj.pop("sha256")
        assert hashlib.sha256(json.dumps(obj, separators=(",", ":")).encode()).hexdigest() == digest
        assert obj["run"] == json.loads(path.read_bytes().splitlines()[0])["run"]


def test_each_bad_line_is_named_with_its_line_number(tmp_path):
    path = tmp_path / "c.jsonl"
    _ck_run(path)
    lines = path.read_bytes().splitlines(keepends=True)
    rec = json.loads(lines[2])
    rec["rows"][0]["v"] = 0.123456789  # a hand edit: the digest no longer matches
    lines[2] = json.dumps(rec).encode() + b"\n"
    lines[4] = b"[1, 2\n"
    lines[5] = b"\xff\xfe garbage\n"
    lines.insert(7, lines[6])  # the same task twice: kept once, silently
    lines.append(lines[8][:20])  # a torn last line
    path.write_bytes(b"".join(lines))
    err = io.StringIO()
    with redirect_stderr(err):
        run = _ck_run(path, resume=True)
    assert all(_same_rows(run.results[i], CK_REFERENCE[i]) for i in CK_ITEMS)
    said = err.getvalue().splitlines()
    assert [s.split(":")[3] for s in said] == ["3", "5", "6", "12"], said
    assert "sha256 digest does not match" in said[0] and "task 1 will be computed again" in said[0]
    assert "not JSON" in said[1] and "not UTF-8" in said[2] and "incomplete last line" in said[3]
    assert run.resumed == len(CK_ITEMS) - 3


def test_two_runs_on_one_checkpoint_the_second_is_refused(tmp_path):
    path = tmp_path / "c.jsonl"
    holder = ckpt.Checkpoint(path, "x", 3)  # a run in progress holds the file
    try:
        with pytest.raises(ValueError, match="in use by another run") as info:
            ckpt.Checkpoint(path, "x", 3, resume=True)
        assert "\n" not in str(info.value)
        with pytest.raises(ValueError, match="exists; resume it"):
            ckpt.Checkpoint(path, "x", 3)
    finally:
        holder.close()
    ckpt.Checkpoint(path, "x", 3, resume=True).close()  # free again once the first run ended


def test_a_second_process_on_a_held_checkpoint_is_refused(tmp_path):
    """Two processes: the child resumes the checkpoint the parent holds and exits with one line."""
    path = tmp_path / "c.jsonl"
    code = ("import sys; from lpspec.checkpoint import Checkpoint\n"
            "try:\n    Checkpoint(sys.argv[1], 'x', 3, resume=True)\n"
            "except ValueError as e:\n    print(e); sys.exit(2)\n")
    with ckpt.Checkpoint(path, "x", 3):
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 2 and "in use by another run" in proc.stdout, proc.stdout + proc.stderr


def test_a_300_mb_line_is_not_read_into_memory(tmp_path):
    """A line over the cap is skipped by reading it in pieces: peak memory stays far below the line."""
    import tracemalloc

    path = tmp_path / "c.jsonl"
    _ck_run(path)
    lines = path.read_bytes().splitlines(keepends=True)
    with open(path, "wb") as f:
        f.writelines(lines[:3])
        f.write(b'{"task": 3, "rows": [' + b"1," * (15 * 2**20) + b"1]}\n")  # 30 MB standing in for 300 MB
        f.writelines(lines[3:])
    err = io.StringIO()
    tracemalloc.start()
    try:
        with redirect_stderr(err):
            cp = ckpt.Checkpoint(path, json.loads(lines[0])["run"], len(CK_ITEMS), resume=True,
                                 max_line_bytes=2**20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    cp.close()
    assert peak < 8 * 2**20, peak
    assert "longer than 1048576 bytes" in err.getvalue() and ":4:" in err.getvalue()
    assert sorted(cp.done) == CK_ITEMS


def test_old_or_foreign_checkpoints_are_refused_in_one_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"format": "lpspec-checkpoint-1", "fingerprint": "abc", "tasks": 3}\n{"task": 0, "rows": []}\n')
    with pytest.raises(ValueError, match="older lpspec"):
        ckpt.Checkpoint(path, "abc", 3, resume=True)
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="damaged first line"):
        ckpt.Checkpoint(path, "abc", 3, resume=True)
    path.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        ckpt.Checkpoint(path, "abc", 3, resume=True)
    ckpt.Checkpoint(tmp_path / "d.jsonl", "abc", 3).close()
    with pytest.raises(ValueError, match="another run"):
        ckpt.Checkpoint(tmp_path / "d.jsonl", "abd", 3, resume=True)
    with pytest.raises(ValueError, match="another run"):
        ckpt.Checkpoint(tmp_path / "d.jsonl", "abc", 4, resume=True)
    header = (tmp_path / "d.jsonl").read_bytes()
    (tmp_path / "d.jsonl").write_bytes(header[:-1])  # torn just before the header's newline
    with ckpt.Checkpoint(tmp_path / "d.jsonl", "abc", 3, resume=True) as cp:
        cp.record(2, [{"a": 0.1}])
    assert ckpt.Checkpoint(tmp_path / "d.jsonl", "abc", 3, resume=True).close_and_done() == {2: [{"a": 0.1}]}


def test_rows_match_counts_and_cells():
    sk = [{"position": 5, "k": 2}, {"position": 6, "k": 2}]
    assert ckpt.rows_match(sk, [{"position": 6, "k": 2, "a": 1}, {"position": 5, "k": 2, "a": 2}]) is None
    assert "1 rows where the task returns 2" in ckpt.rows_match(sk, [{"position": 5, "k": 2}])
    assert "does not return" in ckpt.rows_match(sk, [{"position": 5, "k": 2}, {"position": 5, "k": 2}])
    assert "does not return" in ckpt.rows_match(sk, [{"position": 5, "k": 2}, {"position": 6, "k": True}])
    assert ckpt.rows_match([{"position": 5}], [{"position": 5, "k": 2}, {"position": 5, "k": 3}],
                           exact_count=False) is None
    assert ckpt.rows_match([{"position": 5}, {"position": 6}], [{"position": 5}], exact_count=False)


# ------------------------------------------------------------ the command line: `lpspec table -o` and `batch -o`
CK_SPEC = {"name": "ck", "seed": 5, "families": [{"family": "dirichlet", "grid": {"n": [3, 4]}, "replicates": 2}],
           "k": [2], "schemes": ["specinfer", "upper_bound"]}


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """An uninterrupted `lpspec table` (the reference CSV) and the checkpoint a killed run leaves behind."""
    from lpspec import run_sweep

    d = tmp_path_factory.mktemp("ck")
    spec = d / "spec.json"
    spec.write_text(json.dumps(CK_SPEC))
    from lpspec.cli import main

    with redirect_stderr(io.StringIO()):
        assert main(["table", str(spec), "-o", str(d / "ref.csv"), "--quiet"]) == 0
    cp = d / "kept.jsonl"
    run_sweep(spec, progress_bar=False, checkpoint=cp)
    return spec, (d / "ref.csv").read_bytes(), cp.read_bytes().splitlines(keepends=True)


def _table_edit(lines, how):
    rec = json.loads(lines[1])
    if how == "value":
        rec["rows"][0]["optimal_acceptance"] = 0.123456789
    elif how == "drop":
        rec["rows"] = []
    elif how == "triple":
        rec["rows"] = rec["rows"] * 3
    elif how == "bogus":
        rec["rows"] = [{"family": "evil", "k": 99}]
    elif how == "nan":
        rec["rows"][0]["optimal_acceptance"] = float("nan")
    elif how == "forged-bogus":  # a valid digest, the wrong rows: the row check refuses them
        rec.pop("sha256")
        rec["rows"] = [{"family": "evil", "k": 99}]
        return [lines[0], _forged(rec), *lines[2:]]
    elif how == "long":
        return [lines[0], b'{"task": 0, "rows": ["' + b"x" * 20000 + b'"]}\n', *lines[2:]]
    elif how == "typeerror":
        return [lines[0], b'{"task": "0", "rows": 5}\n', b'{"rows": null}\n', b"7\n", *lines[2:]]
    return [lines[0], json.dumps(rec).encode() + b"\n", *lines[2:]]


@pytest.mark.parametrize("how", ["value", "drop", "triple", "bogus", "nan", "forged-bogus", "long", "typeerror"])
def test_table_resume_never_merges_an_edited_line(how, table_run, tmp_path, monkeypatch, capsys):
    """The edits of issue 19: each is recomputed (one warning naming file:line), the CSV equals the reference."""
    from lpspec.cli import main

    spec, ref, lines = table_run
    out = tmp_path / "t.csv"
    cp = tmp_path / "t.csv.checkpoint.jsonl"
    cp.write_bytes(b"".join(_table_edit(lines, how)))
    monkeypatch.setattr(ckpt, "MAX_LINE_BYTES", 10_000)
    assert main(["table", str(spec), "-o", str(out), "--quiet", "--resume"]) == 0
    assert out.read_bytes() == ref
    err = capsys.readouterr().err
    assert f"lpspec: warning: {cp}:2:" in err and "Traceback" not in err
    assert not cp.exists()


def test_table_resume_refuses_in_one_line(table_run, tmp_path, capsys):
    from lpspec.cli import main

    spec, _, lines = table_run
    out = tmp_path / "t.csv"
    cp = tmp_path / "t.csv.checkpoint.jsonl"
    cp.write_bytes(b"".join(lines[:3]))
    with ckpt.Checkpoint(cp, json.loads(lines[0])["run"], json.loads(lines[0])["tasks"], resume=True):
        assert main(["table", str(spec), "-o", str(out), "--quiet", "--resume"]) == 2  # another run holds it
    err = capsys.readouterr().err.strip()
    assert err.startswith("lpspec: error:") and "in use by another run" in err and len(err.splitlines()) == 1
    cp.write_bytes(b'{"format": "lpspec-checkpoint-2"\n' + b"".join(lines[1:]))
    assert main(["table", str(spec), "-o", str(out), "--quiet", "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert str(cp) in err and "damaged first line" in err and len(err.splitlines()) == 1


def test_batch_resume_checks_positions(tmp_path, capsys):
    """`lpspec batch -o`: a forged chunk line holding another chunk's positions is recomputed."""
    pytest.importorskip("torch")
    from lpspec.batched import save_distributions
    from lpspec.cli import main

    rng = np.random.default_rng(3)
    q = rng.dirichlet(np.ones(5), size=6)
    p = rng.dirichlet(np.ones(5), size=6)
    path = tmp_path / "d.npy"
    save_distributions(path, target=q, drafts=p)
    args = ["batch", str(path), "-k", "2", "--device", "cpu", "--batch-size", "2", "--quiet"]
    assert main([*args, "-o", str(tmp_path / "ref.csv")]) == 0
    from lpspec.batched.chunks import file_table

    cp = tmp_path / "t.csv.checkpoint.jsonl"
    file_table(path, k=[2], device="cpu", batch_size=2, checkpoint=cp)
    lines = cp.read_bytes().splitlines(keepends=True)
    one = json.loads(lines[1])
    two = json.loads(lines[2])
    one.pop("sha256")
    one["rows"] = two["rows"]  # chunk 0 claims chunk 1's positions, with a valid digest
    cp.write_bytes(lines[0] + _forged(one) + b"".join(lines[2:]))
    assert main([*args, "-o", str(tmp_path / "t.csv"), "--resume"]) == 0
    assert (tmp_path / "t.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    err = capsys.readouterr().err
    assert f"{cp}:2: not the rows of task 0" in err and "does not return" in err


# ===================================================================== hostile files fail fast (issue 19)
from lpspec.io import untrusted  # noqa: E402

HOSTILE_FILES = {
    "deep.json": "[" * 100_000 + "]" * 100_000,
    "deep_obj.json": '{"target":' * 100_000,
    "exp.json": json.dumps({"target": ["1e999999999", "0"], "draft": [0.5, 0.5], "k": 2}),
    "exp_neg.json": json.dumps({"target": ["1/2", "1e-999999999"], "draft": ["1/2", "1/2"], "k": 2}),
    "exp_num.json": '{"target": [1e999999999, 0], "draft": [0.5, 0.5], "k": 2}',
    "digits.json": '{"target": [' + "1" * 100_000 + ', 0], "draft": [0.5, 0.5], "k": 2}',
    "exp.csv": "target,draft\n1e999999999,0.5\n0,0.5\n",
    "exp_rows.csv": "1e-999999999,1\n0.5,0.5\n",
}


def test_hostile_instance_files_are_refused_in_bounded_time(tmp_path):
    """One process reads every hostile file (a hang would hit the timeout); each gives one line, exit 2."""
    for name, text in HOSTILE_FILES.items():
        (tmp_path / name).write_text(text)
    code = ("import sys, time\nfrom lpspec.cli import main\n"
            "for name in sys.argv[1:]:\n"
            "    t = time.perf_counter(); code = main(['solve', '--file', name, '-k', '2'])\n"
            "    print(name, code, round(time.perf_counter() - t, 3), file=sys.stdout, flush=True)\n")
    proc = subprocess.run([sys.executable, "-c", code, *HOSTILE_FILES], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    results = [line.split() for line in proc.stdout.splitlines()]
    assert [r[0] for r in results] == list(HOSTILE_FILES), proc.stdout + proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == len(HOSTILE_FILES) and all(e.startswith("lpspec: error:") for e in errors), errors
    for (name, code_, seconds), err in zip(results, errors):
        assert code_ == "2" and float(seconds) < 5, (name, seconds, err)
        assert name in err, err
    assert "nested 100000 levels" in errors[0] and "decimal exponent" in errors[2]


def test_exponent_and_depth_bounds_are_exactly_where_documented():
    big = untrusted.MAX_EXPONENT
    assert untrusted.parse_exact(f"1e-{big}") == Fraction(1, 10**big)  # still exact at the bound
    assert untrusted.parse_exact(f"3e{big}") == 3 * 10**big
    for text in (f"1e-{big + 1}", f"1E+{big + 1}", "2.5e0000000000000000000000000000099999"):
        with pytest.raises(untrusted.OversizedNumberError, match="decimal exponent"):
            untrusted.parse_exact(text)
    assert untrusted.parse_exact("2.5e0000000000000000000000000000000001") == 25
    with pytest.raises(untrusted.OversizedNumberError, match="characters"):
        untrusted.parse_exact("1" * (untrusted.MAX_NUMBER_CHARS + 1))

    def depth(obj):  # brute force over the parsed object
        return 1 + max([depth(v) for v in (obj.values() if isinstance(obj, dict) else obj)], default=0) \
            if isinstance(obj, (list, dict)) else 0

    for d in (1, 5, untrusted.MAX_JSON_DEPTH):
        text = '{"a": ' * (d // 2) + "[" * (d - d // 2) + '"[[{"' + "]" * (d - d // 2) + "}" * (d // 2)
        assert untrusted.json_depth(text.encode()) == d == depth(untrusted.loads_json(text, "f.json"))
    with pytest.raises(ValueError, match=r"f.json: JSON nested 65 levels"):
        untrusted.loads_json("[" * 65 + "]" * 65, "f.json")


def test_hostile_sweep_specs_and_vector_files(tmp_path, capsys):
    from lpspec.cli import main

    (tmp_path / "deep.json").write_text("[" * 100_000)
    (tmp_path / "deep.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    (tmp_path / "vec.json").write_text('["1e999999999", 0]')  # read as a float: inf, refused at once
    for argv, words in ((["table", str(tmp_path / "deep.json")], "nested 100000 levels"),
                        (["table", str(tmp_path / "deep.toml")], "TOML nested too deep"),
                        (["solve", "--target", str(tmp_path / "vec.json"), "--draft", "0.5,0.5", "-k", "2"],
                         "is not finite"),
                        (["solve", "--target", str(tmp_path / "deep.json"), "--draft", "0.5,0.5", "-k", "2"],
                         "nested 100000 levels")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("lpspec: error:") and words in err and len(err.splitlines()) == 1, err


# ===================================================================== negative numbers on the command line
@pytest.mark.parametrize("argv, entry", [
    (["--target", "-0.1", "1.1", "--draft", "0.5,0.5", "-k", "2"], "-0.1"),
    (["--target", "-0.1,1.1", "--draft", "0.5,0.5", "-k", "2"], "-0.1"),
    (["--target", "0.5,0.5", "--draft", "-0.5,1.5", "-k", "2"], "-0.5"),
    (["--target", "0.5", "0.5", "--draft", "0.5", "0.5", "--draft", "1.25", "-.25"], "-0.25"),
    (["--target", "-1/3,4/3", "--draft", "1/2,1/2", "-k", "2"], "-1/3"),
])
def test_negative_entries_reach_validation(argv, entry, capsys):
    from lpspec.cli import main

    assert main(["solve", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "negative" in err and entry in err.replace("np.float64(", ""), err


def test_space_separated_lists_read_as_comma_lists(capsys):
    from lpspec.cli import main

    common = ["-k", "2", "--json", "--schemes", "specinfer"]
    assert main(["solve", "--target", "0.25", "0.75", "--draft", "1/2", "1/2", *common]) == 0
    spaced = json.loads(capsys.readouterr().out)
    assert main(["solve", "--target", "0.25,0.75", "--draft", "1/2,1/2", *common]) == 0
    assert json.loads(capsys.readouterr().out) == spaced


# ===================================================================== Dask without the main guard
def test_main_guard_blocks_are_read_from_the_script(tmp_path):
    from lpspec.distributed import _main_guard_lines

    script = tmp_path / "s.py"
    script.write_text("import x\n\nif __name__ == '__main__':\n    run()\n    more()\nif '__main__' == __name__:\n"
                      "    again()\nif __name__ == 'other':\n    no()\n")
    assert _main_guard_lines(str(script)) == [(4, 5), (7, 7)]


def test_dask_from_an_unguarded_script_is_one_actionable_line(tmp_path):
    pytest.importorskip("distributed")
    script = tmp_path / "study.py"
    script.write_text("from lpspec.distributed import map_tasks\n\n"
                      "def square(x):\n    return [{'x': x * x}]\n\n"
                      "print(map_tasks(square, [1, 2], engine='dask', workers=1).rows)\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError:") and 'if __name__ == "__main__":' in last and "line 6" in last, last
    assert "Nanny" not in proc.stderr and len(proc.stderr.splitlines()) < 15, proc.stderr
