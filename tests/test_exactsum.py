"""The vectorised exact sum of validation (lpspec.core.exactsum) against math.fsum and Fraction sums, and the
decisions of as_distribution at the boundaries of the sum rule against a reference built on math.fsum."""

import math
import sys
from fractions import Fraction

import numpy as np
import pytest

import lpspec.core.exactsum as exactsum_mod
from lpspec.core.distributions import as_distribution, is_exact_array
from lpspec.core.exactsum import exact_sum
from lpspec.core.instance import make_instance

TINY = 5e-324  # the smallest subnormal, 2^-1074
MAX = sys.float_info.max


def fraction_sum(x) -> float:
    """The exact sum in rationals, rounded once (an independent computation from math.fsum)."""
    return float(sum((Fraction(v) for v in np.asarray(x, dtype=np.float64).tolist()), Fraction(0)))


def reference(x, dtype=None):
    """The old validation, with math.fsum: (accepted, renormalised, total, values) for a float vector."""
    arr = np.asarray(x, dtype=np.float64)
    eps = float(np.finfo(np.dtype(dtype) if dtype is not None else np.asarray(x).dtype).eps)
    tol = max(1e-9, math.sqrt(arr.size) * eps)
    total = math.fsum(arr.tolist())
    ok = abs(total - 1.0) <= tol
    return ok, total != 1.0, total, (arr / total if total != 1.0 else arr) if ok else None


def check_same_decision(x):
    ok, renorm, total, values = reference(x)
    if ok:
        d = as_distribution(x, "target")
        assert d.renormalised == renorm and d.original_sum == total
        assert np.array_equal(d.values, values)  # bit for bit: divided by the same float
    else:
        with pytest.raises(ValueError, match=r"target sums to " + repr(total).replace("+", r"\+")):
            as_distribution(x, "target")
    return ok


def hostile_vectors(rng):
    yield np.array([1.0, 2.0 ** -53])  # a tie: rounds to even (1.0)
    yield np.array([1.0, 2.0 ** -53, TINY])  # just past the tie: 1 + 2^-52
    yield np.array([1.0, 2.0 ** -53, 2.0 ** -53])  # two halves make one ulp
    yield np.array([TINY] * 7)  # subnormals only
    yield np.array([-0.0, 0.5, 0.5, 0.0])  # a negative zero is a zero
    yield np.array([np.nextafter(1.0, 0.0)] * 1000)  # every fraction bit set, one bucket
    yield np.array([2.0 ** -1022, np.nextafter(2.0 ** -1022, 0.0), TINY])  # the normal/subnormal border
    yield np.array([1.0] + [1e-17] * 5000)  # a naive float sum stays at 1.0
    yield np.array([MAX / 2, MAX / 2])  # the largest finite sum
    for _ in range(60):
        n = int(rng.integers(1, 400))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            yield rng.dirichlet(np.full(n, 0.05))
        elif kind == 1:  # every exponent, subnormals included
            yield rng.random(n) * 2.0 ** rng.integers(-1074, 1000, n).astype(np.float64)
        elif kind == 2:
            yield rng.random(n) * 2.0 ** rng.integers(-1074, -1020, n).astype(np.float64)
        else:  # near-ties: multiples of 2^-53 around one
            yield np.concatenate([[1.0], rng.integers(0, 3, n) * 2.0 ** -54])


def test_exact_sum_equals_fsum_and_fraction_sum():
    rng = np.random.default_rng(18)
    for x in hostile_vectors(rng):
        expect = math.fsum(x.tolist())
        assert exact_sum(x) == expect == fraction_sum(x), x[:5]


def test_exact_sum_chunks_and_layouts(monkeypatch):
    rng = np.random.default_rng(7)
    x = rng.dirichlet(np.full(1001, 0.05))
    expect = math.fsum(x.tolist())
    monkeypatch.setattr(exactsum_mod, "_CHUNK", 64)  # the chunk loop, as at n > 2^27
    assert exact_sum(x) == expect
    assert exact_sum(x[::-1]) == expect  # a negative-stride view
    y = np.stack([x, x])[:, ::1].T[:, 0]  # a strided column
    assert exact_sum(y) == expect


def test_exact_sum_overflows_like_fsum():
    with pytest.raises(OverflowError):
        math.fsum([MAX, MAX * 2.0 ** -53])
    with pytest.raises(OverflowError):
        exact_sum(np.array([MAX, MAX * 2.0 ** -53]))
    assert exact_sum(np.array([MAX, 1.0])) == math.fsum([MAX, 1.0]) == MAX


def test_exact_sum_huge_n_where_float_sums_differ():
    # 2^20 + 1 entries: one heavy entry and many tiny ones of many exponents; np.sum rounds, fsum does not
    rng = np.random.default_rng(3)
    n = 1 << 20
    x = np.concatenate([[0.75], rng.random(n) * 2.0 ** rng.integers(-80, -40, n).astype(np.float64)])
    expect = math.fsum(x.tolist())
    assert exact_sum(x) == expect
    # cancellation in the old recipe sum(x) - 1: the decision still follows fsum, both sides of the threshold
    tail = x[1:] * ((0.25 + 1e-9) / math.fsum(x[1:].tolist()))
    decisions = set()
    for shift in range(-40, 41, 4):
        y = np.concatenate([[0.75], tail * (1.0 + shift * 2.0 ** -40)])
        decisions.add(check_same_decision(y))
    assert decisions == {True, False}


@pytest.mark.parametrize("n", [2, 3, 1000, 20_000])
def test_decisions_at_one_plus_minus_tolerance(n):
    """Sums exactly at 1 +- 1e-9 and a few ulps either side: accepted/refused/renormalised as with fsum."""
    rng = np.random.default_rng(n)
    tol = 1e-9
    seen = set()
    for base in (1.0 - tol, 1.0 + tol, 1.0):
        for k in range(-4, 5):
            t = base + k * 2.0 ** -52
            head = rng.dirichlet(np.ones(n - 1)) * 0.5 if n > 2 else np.array([0.5])
            # the last entry makes the exact sum t (up to half an ulp of the last entry)
            last = float(Fraction(t) - sum((Fraction(v) for v in head.tolist()), Fraction(0)))
            x = np.concatenate([head, [last]])
            seen.add((check_same_decision(x), reference(x)[1]))
    assert (True, True) in seen and (False, True) in seen and (True, False) in seen


def test_decisions_float32_at_sqrt_n_eps():
    # n = 4: tolerance sqrt(4) * 2^-23 = 2^-22, exactly representable; float32 steps of 2^-24 around it
    seen = set()
    for sign in (-1, 1):
        for k in range(-3, 4):
            t = 1.0 + sign * 2.0 ** -22 + k * 2.0 ** -24
            x = np.array([0.25, 0.25, 0.25, t - 0.75], dtype=np.float32)
            assert math.fsum(x.astype(np.float64).tolist()) == t  # the boundary is hit exactly
            ok, renorm, total, values = reference(x, np.float32)
            if ok:
                d = as_distribution(x, "target")
                assert d.renormalised == renorm and d.original_sum == total
                assert np.array_equal(d.values, values)
            else:
                with pytest.raises(ValueError, match="float32 input"):
                    as_distribution(x, "target")
            seen.add(ok)
    assert seen == {True, False}


def test_subnormals_and_exact_one():
    d = as_distribution(np.array([0.5, 0.5, TINY]), "target")  # exact sum 1 + 2^-1074 rounds to 1.0
    assert d.original_sum == 1.0 and not d.renormalised
    d = as_distribution(np.array([0.5, 0.5 - 2.0 ** -54, TINY]), "target")  # 1 - 2^-54 + tiny rounds to 1.0
    assert (d.original_sum, d.renormalised) == (math.fsum([0.5, 0.5 - 2.0 ** -54, TINY]), False)
    for x in ([TINY] * 3, [2.0 ** -1022] * 2):
        check_same_decision(np.array(x))


def test_bad_entries_reported_as_before():
    with pytest.raises(ValueError, match=r"target\[2\] = nan is not finite"):
        as_distribution(np.array([0.5, -0.5, np.nan, 1.0]), "target")  # non-finite first, as before
    with pytest.raises(ValueError, match=r"target\[1\] = -inf is not finite"):
        as_distribution(np.array([0.5, -np.inf]), "target")
    with pytest.raises(ValueError, match=r"target\[1\] = .*-1e-300.* is negative"):
        as_distribution(np.array([1.0, -1e-300]), "target")
    with pytest.raises(ValueError, match="drafts sums to more than the largest float64"):
        make_instance(target=[0.5, 0.5], drafts=np.array([MAX, MAX]), k=2)


def test_numeric_ndarrays_are_never_exact():
    assert not is_exact_array(np.array([0, 1]))
    assert not is_exact_array(np.array([0.5, 0.5]))
    assert is_exact_array(np.array([Fraction(1, 2), Fraction(1, 2)], dtype=object))
    d = as_distribution(np.array([0, 1]), "target")
    assert not d.exact and d.values.tolist() == [0.0, 1.0]


@pytest.mark.slow
def test_property_many_random_vectors_and_decisions():
    """A long run: 3000 vectors of every shape of exponent spread, each summed three ways, and the validation
    decision of rescaled copies straddling 1 +- 1e-9 against the fsum reference."""
    rng = np.random.default_rng(2026)
    for _ in range(50):
        for x in hostile_vectors(rng):
            assert exact_sum(x) == math.fsum(x.tolist()) == fraction_sum(x)
            s = math.fsum(x.tolist())
            if 1e-300 < s < 1e300:
                for t in (1.0 - 1e-9, 1.0, 1.0 + 1e-9):
                    with np.errstate(over="ignore"):
                        y = x * (t / s)
                    if np.all(np.isfinite(y)):
                        check_same_decision(y)
