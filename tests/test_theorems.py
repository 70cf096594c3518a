"""Theorem 2 (acceptance one) and Theorem 3 (explicit two-draft optimum), ``lpspec.theory.theorems``.

Expected values: brute force over all non-empty proper sets (margin) or all sets (optimum) with
``Pr(set(X) ⊆ S)`` summed from tuple masses (``_reference``), the LP, and exact Fractions.
"""

from __future__ import annotations

from fractions import Fraction as F

import _reference as R
import numpy as np
import pytest
from hypothesis import example, given, settings

from lpspec import acceptance_one, optimal_acceptance, solve_lp, theorem3

TOL = 1e-9
MARGIN_TOL = 1e-12
# a near-one-hot draft (one token holds all but ~1.1e-6 of the mass)
NEAR_ONE_HOT = np.array([9.99998859e-01, 2.69786406e-07, 4.09734772e-08, 1.65276167e-08, 8.13269312e-07])
NEAR_ONE_HOT = NEAR_ONE_HOT / NEAR_ONE_HOT.sum()


def _ref(kw):
    return R.normalised(kw["target"]), R.tuple_masses(drafts=kw["drafts"], k=kw["k"], law=kw["law"])


def _check_acceptance_one(kw, method, exact):
    q, masses = _ref(kw)
    ref_margin, minimisers = R.brute_margin(q, masses)
    res = acceptance_one(**kw, method=method)
    if ref_margin is None:  # n = 1: nothing to violate
        assert res.holds and res.witness is None
        return
    if exact:
        assert isinstance(res.margin, F) and res.margin == ref_margin, (res.margin, ref_margin)
        assert res.holds == (ref_margin >= 0)
    else:
        assert abs(res.margin - ref_margin) <= MARGIN_TOL, (method, res.margin, ref_margin)
        assert res.holds == (res.margin >= -res.tolerance)
        if ref_margin < -1e-10:
            assert not res.holds
        elif ref_margin > 1e-10:
            assert res.holds
    if res.holds:
        assert res.witness is None
    else:
        W = frozenset(res.witness)
        assert 0 < len(W) < len(q), "witness must be a non-empty proper subset"
        violation = R.total([q[i] for i in W]) - R.containment(masses, W)
        assert violation < 0 if exact else violation < -res.tolerance, "witness does not violate"
        assert violation == ref_margin if exact else abs(violation - ref_margin) <= MARGIN_TOL
    # P* = 1 + min(0, margin): the empty and the full set both give q(S) - Pr(...) = 0
    p_star, _ = R.brute_optimum(q, masses)
    if exact:
        assert p_star == 1 + min(0, ref_margin)
        assert res.holds == (p_star == 1)
    else:
        assert abs(p_star - (1 + min(0.0, res.margin))) <= TOL
    return res


# ----------------------------------------------------------------------------- Theorem 2 and its K-draft form
@settings(max_examples=50, deadline=None)
@given(R.instance_kwargs(max_n=8, max_k=4, laws=("independent",), identical=True))
@example({"target": [0.5, 0.5], "drafts": [0.5, 0.5], "k": 2, "law": "independent"})
@example({"target": [0.9, 0.1], "drafts": [0.1, 0.9], "k": 2, "law": "independent"})
@example({"target": [0.0, 0.5, 0.5], "drafts": [0.0, 0.5, 0.5], "k": 3, "law": "independent"})
@example({"target": [0.2, 0.3, 0.5], "drafts": [0.0, 0.0, 1.0], "k": 2, "law": "independent"})
@example({"target": [1.0], "drafts": [1.0], "k": 2, "law": "independent"})
def test_acceptance_one_margin_identical_drafts(kw):
    R.note_kw(kw)
    for method in ("sorted_prefix", "subsets", "auto"):
        _check_acceptance_one(kw, method, exact=False)


@settings(max_examples=30, deadline=None)
@given(R.instance_kwargs(max_n=7, max_k=4, laws=("independent",), identical=True, exact=True))
def test_acceptance_one_margin_identical_drafts_exact(kw):
    R.note_kw(kw)
    for method in ("sorted_prefix", "subsets"):
        _check_acceptance_one(kw, method, exact=True)


@settings(max_examples=30, deadline=None)
@given(R.instance_kwargs(max_n=7, max_k=4, max_tuples=1000))
def test_acceptance_one_any_law(kw):
    R.note_kw(kw)
    _check_acceptance_one(kw, "subsets", exact=False)
    _check_acceptance_one(kw, "auto", exact=False)
    _check_lp_method(kw)


def _check_lp_method(kw):
    """``method="lp"`` (float LP, accurate to ~1e-9): check it outside that band, and check its witness."""
    q, masses = _ref(kw)
    ref_margin, _ = R.brute_margin(q, masses)
    lp = acceptance_one(**kw, method="lp")
    if ref_margin is not None and ref_margin < -1e-8:
        assert not lp.holds and abs(lp.margin - ref_margin) <= TOL
    elif ref_margin is None or ref_margin > 1e-8:
        assert lp.holds, (
            f"holds=False (margin {lp.margin}, witness {lp.witness}) but the true margin is {ref_margin}"
        )
    if not lp.holds:
        W = frozenset(lp.witness)
        assert 0 < len(W) < len(q), f"witness {lp.witness} is not a non-empty proper subset"
        assert R.total([q[i] for i in W]) - R.containment(masses, W) < 0, "witness does not violate"


# Regression: method='lp' decided from the float LP value with a 1e-12 tolerance and reported the LP's cut
# set, here the empty set, as the witness; it now decides from the cut certificate.
def test_acceptance_one_lp_method_is_not_fooled_by_lp_round_off():
    # found by test_acceptance_one_any_law: the true margin is ~2.6e-8 > 0, so P* = 1; the LP gave 1 - 1e-12
    kw = {"target": np.full(5, 0.2), "drafts": [np.full(5, 0.2), NEAR_ONE_HOT, NEAR_ONE_HOT]}
    q, masses = _ref({**kw, "k": None, "law": "independent"})
    ref_margin, _ = R.brute_margin(q, masses)
    assert ref_margin > 2e-8
    assert acceptance_one(**kw, method="subsets").holds
    _check_lp_method({**kw, "k": None, "law": "independent"})


@settings(max_examples=40, deadline=None)
@given(R.instance_kwargs(max_n=8, min_k=2, max_k=2, laws=("independent",), identical=True))
@example({"target": [F(1, 3), F(1, 9), F(5, 9)], "drafts": [F(1, 3)] * 3, "k": 2, "law": "independent"})
@example({"target": [F(1, 3), F(1, 10), F(17, 30)], "drafts": [F(1, 3)] * 3, "k": 2, "law": "independent"})
def test_theorem2_holds_iff_optimum_is_one(kw):
    """Theorem 2 (K = 2): P* = 1 iff q(S) >= p(S)^2 for every S; P* from the LP (floats) or brute force."""
    R.note_kw(kw)
    exact = R.is_exact(kw["target"])
    q, p = R.normalised(kw["target"]), R.normalised(kw["drafts"])
    n = len(q)
    condition_margin = min(
        R.total([q[i] for i in R.set_of(m, n)] or [0 * q[0]])
        - R.total([p[i] for i in R.set_of(m, n)] or [0 * q[0]]) ** 2
        for m in range(1 << n)
    )
    res = acceptance_one(**kw)
    if exact:
        p_star = optimal_acceptance(**kw, method="subsets").value
        assert res.holds == (condition_margin >= 0) == (p_star == 1)
    else:
        p_star = solve_lp(**kw, form="edge").value
        if condition_margin >= 0:
            assert res.holds and abs(p_star - 1) <= TOL
        elif condition_margin < -1e-10:
            assert not res.holds and p_star < 1 - 1e-10 + TOL
        assert abs(p_star - (1 + min(0.0, condition_margin))) <= TOL


def test_acceptance_one_examples_by_hand():
    # q = p: every S has q(S) = p(S) >= p(S)^2
    assert acceptance_one(target=[0.2, 0.3, 0.5], drafts=[0.2, 0.3, 0.5], k=2).holds
    # q(1) = 0.1 < p(1)^2 = 0.81
    r = acceptance_one(target=[0.9, 0.1], drafts=[0.1, 0.9], k=2)
    assert not r.holds and r.witness == (1,) and abs(r.margin - (0.1 - 0.81)) <= 1e-15
    # uniform p on 3 tokens, Figure 2 left: P* = 1 exactly on q2 in [1/9, 5/9]
    assert acceptance_one(target=[F(1, 3), F(1, 9), F(5, 9)], drafts=[F(1, 3)] * 3, k=2).holds
    r = acceptance_one(target=[F(1, 3), F(1, 10), F(17, 30)], drafts=[F(1, 3)] * 3, k=2)
    assert not r.holds and r.margin == F(1, 10) - F(1, 9) and r.witness == (1,)


def test_acceptance_one_errors():
    with pytest.raises(ValueError, match="method='magic' is not known"):
        acceptance_one(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2, method="magic")
    with pytest.raises(ValueError, match="identical independent drafts"):
        acceptance_one(target=[0.5, 0.5], drafts=[[0.5, 0.5], [0.2, 0.8]], method="sorted_prefix")
    n = 25
    with pytest.raises(ValueError, match=r"n=25 exceeds"):
        acceptance_one(target=np.full(n, 1 / n), drafts=np.full(n, 1 / n), k=2, method="subsets")


def test_acceptance_one_sorted_prefix_at_large_n_matches_lp():
    rng = np.random.default_rng(11)
    n = 60
    for n, k in ((60, 2), (25, 3), (12, 4)):
        q, p = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
        r = acceptance_one(target=q, drafts=p, k=k)
        lp = solve_lp(target=q, drafts=p, k=k, form="merged").value
        assert abs((1 + min(0.0, r.margin)) - lp) <= TOL
    # q = p: margin min_S p(S) - p(S)^3 > 0 over proper S
    p = rng.dirichlet(np.ones(n))
    r = acceptance_one(target=p, drafts=p, k=3)
    assert r.holds and r.margin > 0


# -------------------------------------------------------------------------------------------------- Theorem 3
@settings(max_examples=50, deadline=None)
@given(R.instance_kwargs(max_n=9, min_k=2, max_k=2, laws=("independent",), identical=True))
@example({"target": [0.5, 0.5], "drafts": [0.9, 0.1], "k": 2, "law": "independent"})
@example({"target": [1.0, 0.0, 0.0], "drafts": [0.0, 0.0, 1.0], "k": 2, "law": "independent"})
def test_theorem3_equals_lp(kw):
    R.note_kw(kw)
    q, p = R.normalised(kw["target"]), R.normalised(kw["drafts"])
    paper, simple = R.theorem3_forms(q, p)
    assert abs(paper - simple) <= 1e-12  # the two forms agree (p sums to one)
    lp = solve_lp(target=kw["target"], drafts=kw["drafts"], k=2, form="full").value
    assert abs(lp - paper) <= TOL
    for method in ("subsets", "sorted_prefix", "auto"):
        r = theorem3(target=kw["target"], drafts=kw["drafts"], method=method)
        assert abs(r.value - paper) <= TOL and abs(r.simplified - simple) <= TOL and abs(r.value - lp) <= TOL
        S, Sc = set(r.cut_set), [i for i in range(len(q)) if i not in r.cut_set]
        pS, pSc = sum(p[i] for i in S), sum(p[i] for i in Sc)
        assert abs(sum(q[i] for i in S) + pSc**2 + 2 * pS * pSc - r.value) <= 1e-12
        Ss = set(r.simplified_cut_set)
        assert abs(sum(q[i] for i in Ss) + 1 - sum(p[i] for i in Ss) ** 2 - r.simplified) <= 1e-12


@settings(max_examples=30, deadline=None)
@given(R.instance_kwargs(max_n=7, min_k=2, max_k=2, laws=("independent",), identical=True, exact=True))
def test_theorem3_exact(kw):
    R.note_kw(kw)
    q, p = R.normalised(kw["target"]), R.normalised(kw["drafts"])
    paper, simple = R.theorem3_forms(q, p)
    assert paper == simple == R.brute_optimum(q, R.tuple_masses(drafts=p, k=2))[0]
    for method in ("subsets", "sorted_prefix"):
        r = theorem3(target=kw["target"], drafts=kw["drafts"], method=method)
        assert isinstance(r.value, F) and r.value == paper and r.simplified == simple


def test_theorem3_errors():
    with pytest.raises(ValueError, match="method='lp' is not known"):
        theorem3(target=[0.5, 0.5], drafts=[0.5, 0.5], method="lp")
    n = 25
    with pytest.raises(ValueError, match=r"n=25 exceeds"):
        theorem3(target=np.full(n, 1 / n), drafts=np.full(n, 1 / n), method="subsets")
    with pytest.raises(ValueError, match="target"):
        theorem3(target=[0.5, 0.6], drafts=[0.5, 0.5])
