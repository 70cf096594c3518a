"""lpspec.arith: the one helper for exact (Fraction) and float64 arithmetic. Expected values come from exact
rational computation with the standard library, never from the helper itself."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

from lpspec import make_instance
from lpspec.arith import EXACT, FLOAT, arith_of


def test_instance_arith_follows_the_input_kind():
    assert make_instance(target=[F(1, 2), F(1, 2)], drafts=[F(1, 3), F(2, 3)], k=2).arith is EXACT
    assert make_instance(target=[0.5, 0.5], drafts=[0.25, 0.75], k=2).arith is FLOAT
    assert arith_of(np.array([0.5])) is FLOAT and arith_of(F(1, 2)) is EXACT and arith_of(0.5) is FLOAT


def test_zeros_array_units_and_dtype():
    z = EXACT.zeros(3)
    assert z.dtype == object and all(type(v) is F and v == 0 for v in z)
    assert FLOAT.zeros(3).dtype == np.float64 and not FLOAT.zeros(3).any()
    assert EXACT.zeros(0).size == 0 and FLOAT.zeros(0).size == 0
    assert type(EXACT.one) is F and type(FLOAT.one) is float
    assert EXACT.array([F(1, 3)]).dtype == object and FLOAT.array([1]).dtype == np.float64


def test_sum_is_exact_or_correctly_rounded():
    vals = [F(1, 3), F(1, 6), F(1, 2)]
    assert EXACT.sum(vals) == 1 and type(EXACT.sum(vals)) is F
    assert EXACT.sum([]) == 0 and FLOAT.sum([]) == 0.0
    floats = [1e16, 1.0, -1e16, 1.0]  # naive left-to-right summation gives 1.0 (or 0.0); the true sum is 2
    assert FLOAT.sum(floats) == float(sum(F(v) for v in floats)) == 2.0
    assert FLOAT.sum(np.array([0.1] * 10)) == 1.0


@pytest.mark.parametrize("t,k", [(1e-20, 3), (1e-300, 2**40), (0.5, 7), (0.0, 5), (1.0, 4), (5e-324, 3)])
def test_one_minus_power_has_no_cancellation(t, k):
    """Float ``1 - (1 - t)^k`` for tiny ``t`` equals the correctly rounded rational value (to 4 ulps)."""
    got = float(FLOAT.one_minus_power(np.float64(t), k))
    if k <= 64:
        truth = float(1 - (1 - F(t)) ** k)
    else:  # 1 - (1 - t)^k = k t - C(k, 2) t^2 + ... ; the second term is below 1e-260 of the first here
        truth = float(k * F(t))
    assert got == pytest.approx(truth, rel=4 * 2.0**-52, abs=0)
    naive = 1 - (1 - t) ** k
    if 0 < t < 1e-17:
        assert naive == 0.0 != got  # the subtraction the helper avoids loses everything
    assert EXACT.one_minus_power(F(1, 3), 3) == 1 - F(2, 3) ** 3


def test_one_minus_power_elementwise():
    tails = np.array([0.0, 0.25, 1.0])
    assert FLOAT.one_minus_power(tails, 2).tolist() == pytest.approx([0.0, 0.4375, 1.0], rel=4 * 2.0**-52, abs=0)
    exact = EXACT.one_minus_power(np.array([F(0), F(1, 4), F(1)], dtype=object), 2)
    assert exact.tolist() == [0, F(7, 16), 1]


def test_bincount_matches_a_plain_loop():
    rng = np.random.default_rng(3)
    index = rng.integers(0, 5, size=40)
    weights = [F(int(a), int(b)) for a, b in zip(rng.integers(0, 9, 40), rng.integers(1, 9, 40))]
    truth = [F(0)] * 6
    for i, w in zip(index.tolist(), weights):
        truth[i] += w
    assert EXACT.bincount(index, weights, 6).tolist() == truth
    floats = FLOAT.bincount(index, [float(w) for w in weights], 6)
    assert floats.dtype == np.float64
    assert np.allclose(floats, [float(v) for v in truth], rtol=1e-15, atol=0)


def test_argmin_ties_to_the_lowest_index_in_both():
    assert EXACT.argmin([F(1, 2), F(1, 3), F(1, 3)]) == 1
    assert FLOAT.argmin(np.array([0.5, 0.25, 0.25])) == 1
    assert EXACT.argmin(np.array([F(2), F(1)], dtype=object)) == 1


def test_scalar_and_tolerance():
    assert EXACT.scalar(F(1, 3)) == F(1, 3) and type(FLOAT.scalar(np.float64(0.25))) is float
    assert EXACT.tolerance(1e-9) == 0 and FLOAT.tolerance(1e-9) == 1e-9
    # comparisons of rationals against the exact tolerance 0.0 are exact, even below the float range
    assert (F(-1, 10**400) < EXACT.tolerance(1e-9)) and not (F(1, 10**400) <= -EXACT.tolerance(1e-9))
    assert math.isfinite(FLOAT.tolerance(1e-9))


def test_is_exact_arith_of_lists_and_common_arith():
    from lpspec.arith import common_arith, is_exact

    assert is_exact(F(1, 2)) and not is_exact(0.5) and not is_exact(1) and not is_exact(np.float64(0.5))
    # a list or tuple is exact when it holds a Fraction anywhere (nested lists and object arrays included)
    assert arith_of([0.25, F(3, 4)]) is EXACT and arith_of((0.25, 0.75)) is FLOAT and arith_of([]) is FLOAT
    assert arith_of([[0.5, 0.5], [F(1, 2), F(1, 2)]]) is EXACT
    assert arith_of([np.array([0.5]), np.array([F(1, 2)], dtype=object)]) is EXACT
    assert arith_of([np.array([0.5]), np.array([0.5])]) is FLOAT
    # common: exact only when every value is a rational
    assert common_arith(F(1, 2), F(1, 3)) is EXACT
    assert common_arith(F(1, 2), 0.5) is FLOAT and common_arith(0.5, 0.25) is FLOAT


def test_pick_convert_and_text():
    assert EXACT.pick(exact=14, floats=20) == 14 and FLOAT.pick(exact=14, floats=20) == 20
    # exact conversion of a float: its binary value, or with decimal=True the decimal that prints it
    assert EXACT.convert(0.1) == F(3602879701896397, 2**55) and EXACT.convert(0.1, decimal=True) == F(1, 10)
    assert type(EXACT.convert(3)) is F and EXACT.convert(3) == 3 and EXACT.convert(F(2, 7)) == F(2, 7)
    assert EXACT.convert(F(2, 7), decimal=True) == F(2, 7) and EXACT.convert(2, decimal=True) == F(2)
    assert type(FLOAT.convert(F(1, 4))) is float and FLOAT.convert(F(1, 3)) == 1 / 3
    assert EXACT.text(F(22, 7)) == "22/7" and FLOAT.text(22 / 7) == "3.14286" and FLOAT.text(0.5, ".3f") == "0.500"
    assert FLOAT.text(F(1, 3), ".15g") == "0.333333333333333"
    assert EXACT.fraction_text(F(8, 9)) == "8/9" and FLOAT.fraction_text(8 / 9) is None


def test_nonnegative_renormalize_rows_and_close():
    vals = np.array([-1e-18, 0.0, 0.3, -2.0])
    assert FLOAT.nonnegative(vals).tolist() == [max(v, 0.0) for v in vals.tolist()]
    exact = np.array([F(0), F(1, 3)], dtype=object)
    assert EXACT.nonnegative(exact) is exact  # rationals are not touched
    rng = np.random.default_rng(5)
    table = rng.random((4, 3)) - 0.05
    got = FLOAT.renormalize_rows(table)
    for row, out in zip(table.tolist(), got.tolist()):
        clipped = [max(v, 0.0) for v in row]
        total = math.fsum(clipped)
        assert out == pytest.approx([v / total for v in clipped], rel=1e-15, abs=0)
    rows = np.array([[F(1, 3), F(2, 3)]], dtype=object)
    assert EXACT.renormalize_rows(rows) is rows
    assert FLOAT.close(1.0, 1.0 + 1e-12, 1e-9) and not FLOAT.close(1.0, 1.0 + 1e-6, 1e-9)
    assert EXACT.close(F(1, 3), F(1, 3), 1e-9) and not EXACT.close(F(1), F(1) + F(1, 10**30), 1e-9)
