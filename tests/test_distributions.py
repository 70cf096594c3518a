"""Validation of probability vectors (``lpspec.core.distributions``) and the distribution strategies."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest
from _reference import DIST_KINDS, dists
from hypothesis import find, given, settings
from hypothesis import strategies as st

from lpspec import as_distribution, make_instance
from lpspec.core.distributions import SUM_TOLERANCE
from lpspec.strategies import distributions as lib_distributions


# ---------------------------------------------------------------------------- bad input is rejected
@pytest.mark.parametrize(
    "values, pattern",
    [
        ([0.5, float("nan"), 0.5], r"target\[1\].*not finite"),
        ([0.5, float("inf")], r"target\[1\].*not finite"),
        ([float("-inf"), 1.0], r"target\[0\].*not finite"),
        ([1.2, -0.2], r"target\[1\].*negative"),
        ([0.5, 0.5 + 1e-6], r"target sums to .*not 1"),
        ([0.3, 0.3], r"target sums to .*not 1"),
        ([0.5, 0.5 - 2e-9], r"target sums to .*not 1"),
        ([[0.5, 0.5]], r"target must be a 1-D"),
        (np.full((2, 2), 0.25), r"target must be a 1-D"),
        (0.5, r"target must be a 1-D"),
        ([], r"target is empty"),
        (["a", "b"], r"target must be an array of numbers"),
        ([F(1, 2), F(1, 3)], r"target.*Fractions summing to 5/6"),
        ([F(3, 2), F(-1, 2)], r"target\[1\].*negative"),
        ([[F(1, 2), F(1, 2)]], r"target must be a 1-D"),
    ],
)
def test_as_distribution_rejects_bad_input_naming_the_argument(values, pattern):
    with pytest.raises(ValueError, match=pattern):
        as_distribution(values, "target")


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"target": [0.5, float("nan")], "drafts": [0.5, 0.5], "k": 2}, r"^target\[1\]"),
        ({"target": [0.5, 0.5], "drafts": [0.5, float("inf")], "k": 2}, r"^drafts\[1\]"),
        ({"target": [0.5, 0.5], "drafts": [[0.5, 0.5], [1.5, -0.5]]}, r"^drafts\[1\]\[1\].*negative"),
        ({"target": [0.5, 0.5], "drafts": [[0.5, 0.5], [0.5, 0.6]]}, r"^drafts\[1\] sums to"),
        ({"target": [0.5, 0.6], "drafts": [0.5, 0.5], "k": 1}, r"^target sums to"),
        ({"target": [], "drafts": [0.5, 0.5], "k": 1}, r"^target is empty"),
        ({"target": [0.5, 0.5], "drafts": [[[0.5, 0.5]]]}, r"drafts\[0\] must be a 1-D"),
    ],
)
def test_make_instance_names_the_bad_argument(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_instance(**kwargs)


# ---------------------------------------------------------------------------- tolerance and renormalisation
def test_sum_within_tolerance_is_renormalised_and_recorded():
    raw = [0.25, 0.75 + 5e-10]
    d = as_distribution(raw, "target")
    assert d.renormalised and not d.exact
    assert d.original_sum == math.fsum(raw)
    assert d.values.tolist() == [raw[0] / math.fsum(raw), raw[1] / math.fsum(raw)]
    assert abs(math.fsum(d.values.tolist()) - 1.0) <= 1e-15


def test_tolerance_boundary():
    assert SUM_TOLERANCE == 1e-9
    as_distribution([0.5, 0.5 + 0.9e-9], "target")
    as_distribution([0.5, 0.5 - 0.9e-9], "target")
    with pytest.raises(ValueError, match="target"):
        as_distribution([0.5, 0.5 + 1.1e-9], "target")


def test_exact_sum_is_not_renormalised():
    d = as_distribution([0.25, 0.25, 0.5], "target")
    assert not d.renormalised and d.original_sum == 1.0
    assert d.values.tolist() == [0.25, 0.25, 0.5]


def test_instance_records_renormalised_inputs():
    inst = make_instance(target=[0.5, 0.5 + 4e-10], drafts=[[0.5, 0.5], [0.3, 0.7 - 3e-10]])
    assert inst.renormalised == ("target", "drafts[1]")
    assert abs(math.fsum(inst.target.tolist()) - 1.0) <= 1e-15
    clean = make_instance(target=[0.5, 0.5], drafts=[0.5, 0.5], k=3)
    assert clean.renormalised == ()
    single = make_instance(target=[0.5, 0.5], drafts=[0.5, 0.5 + 4e-10], k=2)
    assert single.renormalised and all(name.startswith("drafts") for name in single.renormalised)


def test_fractions_stay_exact():
    d = as_distribution([F(1, 3), F(2, 3)], "target")
    assert d.exact and not d.renormalised
    assert d.values.tolist() == [F(1, 3), F(2, 3)]
    assert all(isinstance(v, F) for v in d.values)
    mixed = as_distribution([F(1, 2), 0, F(1, 2)], "target")  # ints beside Fractions count as exact
    assert mixed.exact and mixed.values.tolist() == [F(1, 2), F(0), F(1, 2)]


def test_fractions_and_floats_cannot_be_mixed():
    with pytest.raises(ValueError, match="Fractions and floats"):
        make_instance(target=[F(1, 2), F(1, 2)], drafts=[0.5, 0.5], k=2)


# ---------------------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_test_strategy_distributions_are_accepted(data):
    n = data.draw(st.integers(1, 9))
    exact = data.draw(st.booleans())
    p = data.draw(dists(n, exact))
    d = as_distribution(p, "drafts")
    assert d.n == n and d.exact == exact
    if exact:
        assert sum(d.values.tolist(), F(0)) == 1
    else:
        assert np.all(d.values >= 0)
        assert abs(math.fsum(d.values.tolist()) - 1.0) <= 1e-15
        np.testing.assert_allclose(
            d.values, np.asarray(p) / math.fsum(np.asarray(p).tolist()), rtol=0, atol=0
        )


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_lpspec_strategy_distributions_are_valid(data):
    n = data.draw(st.integers(1, 9))
    p = data.draw(lib_distributions(n))
    assert isinstance(p, np.ndarray) and p.shape == (n,) and p.dtype == np.float64
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    assert abs(math.fsum(p.tolist()) - 1.0) <= 1e-12
    as_distribution(p, "target")
    r = data.draw(lib_distributions(n, exact=True))
    assert len(r) == n and all(isinstance(v, F) and v >= 0 for v in r) and sum(r, F(0)) == 1
    m = data.draw(lib_distributions(min_n=2, max_n=4))
    assert 2 <= len(m) <= 4


@pytest.mark.parametrize(
    "name, predicate",
    [
        ("one-hot", lambda p: np.max(p) == 1.0),
        ("uniform", lambda p: np.all(p == p[0])),
        ("near-one-hot", lambda p: 1 - 1e-5 < np.max(p) < 1.0),
        ("with zeros", lambda p: np.any(p == 0) and np.count_nonzero(p) >= 2),
        ("spiky (small concentration)", lambda p: np.sort(p)[-2] < 1e-3 and np.max(p) < 1.0),
        ("flat (large concentration)", lambda p: np.max(p) < 0.3 and np.min(p) > 0.1 and np.ptp(p) > 0),
    ],
)
def test_lpspec_strategy_reaches_each_corner(name, predicate):
    # ``find`` raises NoSuchExample when the strategy cannot produce the corner case.
    find(lib_distributions(4), predicate, settings=settings(max_examples=500, database=None, deadline=None))


def test_test_strategy_kinds_are_all_distinct_corners():
    rng = np.random.default_rng(0)
    from _reference import _float_dist

    for kind in DIST_KINDS:
        v = _float_dist(kind, 5, rng, 2)
        assert v.shape == (5,) and abs(v.sum() - 1) < 1e-12 and v.min() >= 0
