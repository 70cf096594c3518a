"""Instances and draft laws (``lpspec.core.instance``): validation, tuple masses, set masses, cut quantities.

Expected values come from ``_reference`` (itertools enumeration written from docs/theory.md §1, §6) or by hand.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import _reference as R
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lpspec import LAWS, make_instance
from lpspec.core.instance import MAX_ENUMERATED_TUPLES
from lpspec.strategies import instances as lib_instances

Q2 = [0.5, 0.5]


# -------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (
            {"target": [0.5, 0.5], "drafts": [0.2, 0.3, 0.5], "k": 2},
            r"target has length 2 .*lengths \[3, 3\]",
        ),
        ({"target": [0.5, 0.5], "drafts": [[0.5, 0.5], [0.2, 0.3, 0.5]]}, r"target has length 2"),
        ({"target": Q2, "drafts": Q2, "k": 0}, r"k=0 must be at least 1"),
        ({"target": Q2, "drafts": Q2, "k": -3}, r"k=-3 must be at least 1"),
        ({"target": Q2, "drafts": Q2, "k": 2.0}, r"k=2\.0 must be a positive integer"),
        ({"target": Q2, "drafts": Q2, "k": True}, r"k=True must be a positive integer"),
        ({"target": Q2, "drafts": [Q2, Q2], "k": 2}, r"k was given together with a list of drafts"),
        ({"target": Q2, "drafts": np.array([Q2, Q2]), "k": 2}, r"k was given together with a list"),
        ({"target": Q2, "drafts": Q2}, r"drafts is a single distribution, so k .* is required"),
        ({"target": Q2, "drafts": np.array(Q2)}, r"so k .* is required"),
        ({"target": Q2, "drafts": [F(1, 2), F(1, 2)]}, r"so k .* is required"),
        ({"target": Q2, "drafts": []}, r"drafts is an empty list"),
        ({"target": Q2, "drafts": Q2, "k": 2, "law": "iid"}, r"law='iid' is not a draft law"),
        ({"target": Q2, "drafts": Q2, "k": 2, "law": None}, r"law=None is not a draft law"),
        ({"target": Q2, "drafts": [Q2, [0.1, 0.9]], "law": "without_replacement"}, r"needs identical drafts"),
        ({"target": Q2, "drafts": [Q2, [0.1, 0.9]], "law": "greedy"}, r"needs identical drafts"),
        (
            {"target": [0.2, 0.3, 0.5], "drafts": [0.5, 0.5, 0.0], "k": 3, "law": "without_replacement"},
            r"without_replacement.*K=3 distinct tokens.*only 2 tokens of positive mass.*Lower k",
        ),
        (
            {"target": [0.2, 0.8], "drafts": [1.0, 0.0], "k": 2, "law": "without_replacement"},
            r"only 1 tokens",
        ),
        (
            {"target": [0.2, 0.3, 0.5], "drafts": [0.5, 0.5, 0.0], "k": 3, "law": "greedy"},
            r"greedy.*no mass outside its top K-1=2 tokens",
        ),
        ({"target": [0.2, 0.8], "drafts": [1.0, 0.0], "k": 2, "law": "greedy"}, r"greedy.*no mass outside"),
        ({"target": [0.2, 0.8], "drafts": [0.5, 0.5], "k": 3, "law": "greedy"}, r"greedy.*K <= n"),
        ({"target": [F(1, 2), F(1, 2)], "drafts": [0.5, 0.5], "k": 2}, r"mix Fractions and floats"),
    ],
)
def test_make_instance_rejects_bad_input(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_instance(**kwargs)


def test_greedy_and_without_replacement_accept_the_boundary_cases():
    # exactly K tokens of mass (without replacement) and exactly one token outside the top K-1 (greedy)
    make_instance(target=[0.2, 0.3, 0.5], drafts=[0.5, 0.5, 0.0], k=2, law="without_replacement")
    make_instance(target=[0.2, 0.3, 0.5], drafts=[0.6, 0.4, 0.0], k=2, law="greedy")


def test_tuple_enumeration_too_large_is_refused_with_alternatives():
    n, k = 100, 4  # 10^8 tuples
    inst = make_instance(target=np.full(n, 1 / n), drafts=np.full(n, 1 / n), k=k)
    assert inst.num_tuples() == n**k > MAX_ENUMERATED_TUPLES
    with pytest.raises(ValueError, match=r"100,000,000 draft tuples.*sorted prefix"):
        inst.tuple_table
    with pytest.raises(ValueError, match=r"draft tuples"):
        inst.check_enumerable("anything")
    inst.check_enumerable("anything", limit=n**k)  # at the limit: fine


def test_properties_and_draft_accessor():
    inst = make_instance(target=[0.5, 0.5], drafts=[[0.5, 0.5], [0.5, 0.5]])
    assert inst.identical and inst.k == 2 and inst.n == 2 and inst.law == "independent"
    np.testing.assert_array_equal(inst.draft, [0.5, 0.5])
    diff = make_instance(target=[0.5, 0.5], drafts=[[0.5, 0.5], [0.1, 0.9]])
    assert not diff.identical
    with pytest.raises(ValueError, match="different drafts"):
        diff.draft
    assert diff.drafts.shape == (2, 2)
    exact = make_instance(target=[F(1, 2), F(1, 2)], drafts=[F(1, 3), F(2, 3)], k=3)
    assert exact.exact and exact.drafts.shape == (3, 2) and exact.drafts.dtype == object


# ----------------------------------------------------------------------------------------- hand-computed laws
def test_without_replacement_masses_by_hand():
    inst = make_instance(
        target=[F(1, 3)] * 3, drafts=[F(1, 2), F(1, 3), F(1, 6)], k=2, law="without_replacement"
    )
    got = _table(inst)
    # P(i, j) = p(i) p(j) / (1 - p(i)), written out
    assert got == {
        (0, 1): F(1, 3),
        (0, 2): F(1, 6),
        (1, 0): F(1, 4),
        (1, 2): F(1, 12),
        (2, 0): F(1, 10),
        (2, 1): F(1, 15),
    }


def test_without_replacement_denominators_do_not_cancel():
    # one token holds all but 2e-6 of the mass: 1 - p(0) computed by subtraction loses ~1e-5 relative accuracy
    eps = 1e-6 * math.pi
    p = np.array([1.0 - 2 * eps, eps, eps])
    p = p / p.sum()
    inst = make_instance(target=[1 / 3] * 3, drafts=p, k=2, law="without_replacement")
    got = _table(inst)
    ref = R.tuple_masses(drafts=p, k=2, law="without_replacement")
    for x, m in ref.items():
        assert got[x] == pytest.approx(m, rel=1e-13, abs=0)
    assert got[(0, 1)] == pytest.approx(p[0] / 2, rel=1e-14)


def test_greedy_fixed_tokens_ties_to_lower_index():
    inst = make_instance(target=[0.25] * 4, drafts=[0.2, 0.3, 0.3, 0.2], k=3, law="greedy")
    assert inst.greedy_fixed.tolist() == [1, 2]
    got = _table(inst)
    assert set(got) == {(1, 2, 0), (1, 2, 3)}
    assert got[(1, 2, 0)] == pytest.approx(0.5) and got[(1, 2, 3)] == pytest.approx(0.5)
    one = make_instance(target=[0.5, 0.5], drafts=[0.3, 0.7], k=1, law="greedy")
    assert one.greedy_fixed.tolist() == [] and _table(one) == pytest.approx({(0,): 0.3, (1,): 0.7})


# -------------------------------------------------------------------------------- properties vs the reference
def _table(inst) -> dict:
    tt = inst.tuple_table
    assert tt.tuples.shape == (tt.mass.shape[0], inst.k)
    return {tuple(int(t) for t in row): m for row, m in zip(tt.tuples.tolist(), tt.mass.tolist())}


def _same(a, b, exact):
    if exact:
        return a == b
    return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(b)))


@settings(max_examples=60, deadline=None)
@given(R.instance_kwargs(max_n=6, max_k=4, max_tuples=1300))
@example({"target": [0.5, 0.5], "drafts": [1.0, 0.0], "k": 3, "law": "independent"})
@example({"target": [0.2, 0.3, 0.5], "drafts": [0.4, 0.4, 0.2], "k": 3, "law": "greedy"})
@example({"target": [1.0], "drafts": [1.0], "k": 1, "law": "without_replacement"})
def test_tuple_and_set_masses_match_reference(kw):
    R.note_kw(kw)
    _check_masses(kw)


@settings(max_examples=30, deadline=None)
@given(R.instance_kwargs(max_n=5, max_k=3, max_tuples=130, exact=True))
def test_exact_tuple_and_set_masses_match_reference(kw):
    R.note_kw(kw)
    _check_masses(kw)


def _check_masses(kw):
    inst = make_instance(**kw)
    exact = inst.exact
    assert exact == R.is_exact(kw["target"])
    ref = R.tuple_masses(drafts=kw["drafts"], k=kw["k"], law=kw["law"])
    got = _table(inst)
    assert set(got) == set(ref), "tuples of positive mass differ"
    for x in ref:
        assert _same(got[x], ref[x], exact), (x, got[x], ref[x])
    total = sum(got.values(), F(0)) if exact else math.fsum(got.values())
    assert _same(total, 1, exact)
    # set masses, as sums of tuple masses
    st_ = inst.set_table
    ref_sets = R.set_masses(ref)
    got_sets = {frozenset(st_.members(i)): st_.mass[i] for i in range(st_.mass.size)}
    assert set(got_sets) == set(ref_sets)
    for A, m in ref_sets.items():
        assert _same(got_sets[A], m, exact)
    sid, tok = st_.edges
    assert sorted(zip(sid.tolist(), tok.tolist())) == sorted(
        (i, t) for i in range(st_.mass.size) for t in st_.members(i)
    )
    for row, s in zip(inst.tuple_table.tuples.tolist(), inst.tuple_table.set_index.tolist()):
        assert set(st_.members(s)) == set(row)
    # cut quantities on every set S (n <= 6: at most 64 sets)
    n = inst.n
    for mask in range(1 << n):
        S = R.set_of(mask, n)
        bmask = np.array([i in S for i in range(n)])
        assert _same(inst.containment_probability(bmask), R.containment(ref, S), exact)
        assert _same(inst.cut_value(bmask), R.cut_value(inst.target.tolist(), ref, S), exact)
    incl = inst.inclusion_probability()
    for y, v in enumerate(R.inclusion(ref, n)):
        assert _same(incl[y], v, exact)
    assert inst.num_tuples() == len(ref)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_lpspec_strategy_instances_are_valid(data):
    laws = data.draw(st.sampled_from([LAWS, ("independent",), ("without_replacement",), ("greedy",)]))
    max_n = data.draw(st.integers(2, 6))
    max_k = data.draw(st.integers(1, 3))
    exact = data.draw(st.booleans())
    kw = data.draw(lib_instances(max_n=max_n, max_k=max_k, laws=laws, exact=exact))
    assert set(kw) == {"target", "drafts", "k", "law"}
    assert kw["law"] in laws
    inst = make_instance(**kw)  # must not raise
    assert 2 <= inst.n <= max_n and 1 <= inst.k <= max_k and inst.exact == exact
    if kw["k"] is None:
        assert kw["law"] == "independent" and len(kw["drafts"]) == inst.k
    else:
        assert inst.identical and inst.k == kw["k"]
    ref = R.tuple_masses(drafts=kw["drafts"], k=kw["k"], law=kw["law"])
    assert abs(float(R.total(ref.values())) - 1.0) <= 1e-12
