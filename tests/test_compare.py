"""compare_schemes: which schemes are reported for each draft law, and their values against references."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings

from lpspec import make_instance, optimal_acceptance
from lpspec.schemes.compare import COMPARED, compare_schemes, upper_bound
from lpspec.strategies import instances

THIRD = [F(1, 3)] * 3


@pytest.mark.parametrize("kw, expected", [
    ({"target": [0.1, 0.6, 0.3], "drafts": [0.5, 0.25, 0.25], "k": 2},
     {"optimal", "canonical", "single_draft", "specinfer", "spectr", "naive", "sir", "pairwise_is",
      "truncated_is"}),
    ({"target": [0.1, 0.6, 0.3], "drafts": [0.5, 0.25, 0.25], "k": 3},
     {"optimal", "canonical", "single_draft", "specinfer", "spectr", "naive", "sir", "tournament"}),
    ({"target": [0.1, 0.6, 0.3], "drafts": [[0.5, 0.25, 0.25], [0.2, 0.2, 0.6]]},
     {"optimal", "canonical", "single_draft", "specinfer", "naive", "sir", "pairwise_is", "truncated_is"}),
    ({"target": [0.1, 0.6, 0.3], "drafts": [0.5, 0.25, 0.25], "k": 2, "law": "without_replacement"},
     {"optimal", "canonical", "single_draft", "specinfer_wor", "naive", "sir", "pairwise_is",
      "truncated_is"}),
    ({"target": [0.1, 0.6, 0.2, 0.1], "drafts": [0.4, 0.3, 0.2, 0.1], "k": 3, "law": "without_replacement"},
     {"optimal", "canonical", "single_draft", "specinfer_wor", "naive", "sir"}),
    ({"target": [0.1, 0.6, 0.2, 0.1], "drafts": [0.4, 0.3, 0.2, 0.1], "k": 3, "law": "greedy"},
     {"optimal", "canonical", "single_draft", "naive", "sir"}),
])
def test_names_follow_the_draft_law(kw, expected):
    result = compare_schemes(**kw)
    assert set(result) == expected | {"upper_bound"}
    assert list(result) == [name for name in COMPARED if name in result]  # fixed order


def brute_membership_bound(inst):
    inc = np.zeros(inst.n)
    for x, m in zip(inst.tuple_table.tuples.tolist(), inst.tuple_table.mass.tolist()):
        for y in set(x):
            inc[y] += float(m)
    return float(np.minimum(inst.target.astype(float), inc).sum())


@settings(max_examples=30, deadline=None)
@given(instances(max_n=5, max_k=3))
def test_values_are_ordered_by_the_optimum_and_the_bound(kw):
    inst = make_instance(**kw)
    result = compare_schemes(**kw)
    opt = float(optimal_acceptance(**kw, method="lp").value)  # a different method than compare's default
    assert float(result["optimal"]) == pytest.approx(opt, abs=1e-9)
    assert float(result["upper_bound"]) == pytest.approx(brute_membership_bound(inst), abs=1e-12)
    assert opt <= float(result["upper_bound"]) + 1e-12
    for name, value in result.items():
        if name not in ("upper_bound", "single_draft"):
            assert float(value) <= opt + 1e-9, name
    if "canonical" in result:
        assert float(result["canonical"]) == pytest.approx(opt, abs=1e-8)
    if "pairwise_is" in result:
        assert float(result["pairwise_is"]) == pytest.approx(opt, abs=1e-8)
    if "spectr" in result:
        assert float(result["spectr"]) >= (1 - 1 / math.e) * opt - 1e-12


def test_figure2_points_in_one_call():
    left0 = compare_schemes(target=[F(1, 3), F(0), F(2, 3)], drafts=THIRD, k=2)
    assert left0["optimal"] == F(8, 9) and left0["specinfer"] == F(7, 9)
    assert float(left0["spectr"]) == pytest.approx((11 + math.sqrt(13)) / 18, abs=1e-12)
    left1 = compare_schemes(target=[F(1, 3), F(1, 9), F(5, 9)], drafts=THIRD, k=2)
    assert (left1["optimal"], left1["spectr"], left1["specinfer"]) == (1, F(8, 9), F(23, 27))
    # exact input keeps Fractions where the scheme is rational
    for name in ("optimal", "single_draft", "specinfer", "spectr", "naive", "sir", "upper_bound"):
        assert isinstance(left1[name], F), name


def test_sir_example_and_naive_by_hand():
    r = compare_schemes(target=[F(3, 4), F(1, 4)], drafts=[F(1, 2), F(1, 2)], k=2)
    assert r["sir"] == F(11, 12)
    assert r["naive"] == F(3, 4) * F(3, 4) + F(1, 4) * F(3, 4)
    assert r["single_draft"] == F(3, 4)
    assert r["upper_bound"] == F(3, 4) + F(1, 4)


def test_upper_bound_for_a_non_independent_law():
    inst = make_instance(target=[0.1, 0.6, 0.2, 0.1], drafts=[0.4, 0.3, 0.2, 0.1], k=2,
                         law="without_replacement")
    p = [0.4, 0.3, 0.2, 0.1]
    inc = [0.0] * 4
    for a, b in itertools.permutations(range(4), 2):
        m = p[a] * p[b] / (1 - p[a])
        inc[a] += m
        inc[b] += m
    assert upper_bound(inst) == pytest.approx(sum(min(q, i) for q, i in zip(inst.target, inc)), abs=1e-15)


def test_truncation_parameter_is_passed_on():
    kw = {"target": [0.05, 0.3, 0.05, 0.3, 0.3], "drafts": [[0.3, 0.05, 0.3, 0.05, 0.3], [0.2] * 5]}
    full = compare_schemes(**kw, s=5)["truncated_is"]
    one = compare_schemes(**kw, s=1)["truncated_is"]
    assert full == pytest.approx(compare_schemes(**kw)["pairwise_is"], abs=1e-9)
    assert one <= full + 1e-12


def test_selected_schemes_and_errors():
    kw = {"target": [0.1, 0.6, 0.3], "drafts": [0.5, 0.25, 0.25], "k": 2}
    assert list(compare_schemes(**kw, schemes=["spectr", "upper_bound"])) == ["spectr", "upper_bound"]
    assert list(compare_schemes(**kw, schemes="naive")) == ["naive"]
    with pytest.raises(ValueError, match="not a scheme name"):
        compare_schemes(**kw, schemes=["specinfer", "magic"])
    with pytest.raises(ValueError, match="does not apply"):
        compare_schemes(**kw, schemes=["specinfer_wor"])
    with pytest.raises(ValueError, match="target"):
        compare_schemes(target=[0.5, 0.6], drafts=[0.5, 0.5], k=2)


def test_large_instances_need_an_explicit_selection():
    n = 2000
    q = np.full(n, 1 / n)
    p = np.arange(1, n + 1) / (n * (n + 1) / 2)
    # by default the enumerating schemes are left out, each with its reason (the CLI decides the same way)
    default = compare_schemes(target=q, drafts=p, k=3)
    assert set(default) == {"optimal", "single_draft", "specinfer", "spectr", "naive", "upper_bound"}
    for name in ("canonical", "sir", "tournament"):
        assert "draft tuples" in default.not_computed[name], name
    assert "does not apply" in default.not_computed["pairwise_is"]  # K = 3
    # a requested scheme that cannot be computed raises
    with pytest.raises(ValueError, match="sir need an enumeration of 8,000,000,000 draft tuples"):
        compare_schemes(target=q, drafts=p, k=3, schemes=["optimal", "sir"])
    r = compare_schemes(target=q, drafts=p, k=3,
                        schemes=["optimal", "single_draft", "specinfer", "spectr", "naive", "upper_bound"])
    assert r["single_draft"] <= r["specinfer"] <= r["optimal"] + 1e-12 <= r["upper_bound"] + 2e-12
    assert r["spectr"] <= r["optimal"] + 1e-12
