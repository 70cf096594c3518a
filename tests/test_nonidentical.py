"""The exact optimum for different independent drafts at scale (lpspec.submodular), its certificates, the size
guards of the exact methods, and the batched (K, B, n) hook.

Expected values come from tests/_reference.py (brute force over all 2^n sets, written without lpspec), the LP
forms (HiGHS), exact Fractions, or direct NumPy evaluations of q(S) + 1 - Π p_k(S) written here.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import _reference as R
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import lpspec
from lpspec import make_instance, optimal_acceptance, solve_lp
from lpspec.instance import Instance
from lpspec.submodular import CoverCertificate, local_move_gain, submodular_optimum

PREFIX_Q = [F(1, 10), F(1, 5), F(1, 10), F(3, 5)]
PREFIX_DRAFTS = [[F(4, 5), F(0), F(1, 5), F(0)], [F(1, 10), F(3, 10), F(0), F(3, 5)]]


def _brute(kw):
    q = R.normalised(kw["target"])
    return R.brute_optimum(q, R.tuple_masses(drafts=kw["drafts"], k=None))


def _cut(q, drafts, S):
    """``q(S) + 1 - Π_k p_k(S)`` with fsum (written here, not lpspec's)."""
    S = list(S)
    return math.fsum(float(q[i]) for i in S) + 1.0 - math.prod(math.fsum(float(p[i]) for i in S) for p in drafts)


@st.composite
def different(draw, max_n=12, min_k=2, max_k=4, exact=False):
    k = draw(st.integers(min_k, max_k))
    n = draw(st.integers(1, max_n))
    return {"target": draw(R.dists(n, exact)), "drafts": [draw(R.dists(n, exact)) for _ in range(k)], "k": None,
            "law": "independent"}


# ------------------------------------------------------------------------------------ the §4 counterexample
def test_prefix_counterexample_exact():
    r = optimal_acceptance(target=PREFIX_Q, drafts=PREFIX_DRAFTS, method="submodular")
    assert r.value == F(49, 50) and r.cut_set == (0, 1) and r.method == "submodular"
    # brute force (exact, over all 16 sets) agrees, and no prefix of the averaged-ratio order reaches it
    ref, S = R.brute_optimum(PREFIX_Q, R.tuple_masses(drafts=PREFIX_DRAFTS))
    assert ref == F(49, 50) and S == frozenset({0, 1})
    avg = [(a + b) / 2 for a, b in zip(*PREFIX_DRAFTS)]
    assert R.best_ratio_prefix(PREFIX_Q, avg, R.tuple_masses(drafts=PREFIX_DRAFTS))[0] == 1
    assert r.details["check"]["leaves"] >= 1 and r.details["local_gain"] <= 0


# ------------------------------------------------------------------------------- brute force, hypothesis
@settings(max_examples=60, deadline=None)
@given(different())
@example({"target": [0.1, 0.2, 0.1, 0.6], "drafts": [[0.8, 0, 0.2, 0], [0.1, 0.3, 0, 0.6]], "k": None,
          "law": "independent"})
@example({"target": [0.0, 1.0], "drafts": [[1.0, 0.0], [1.0, 0.0]], "k": None, "law": "independent"})
@example({"target": [0.25] * 4, "drafts": [[0.25] * 4, [0.4, 0.1, 0.4, 0.1]], "k": None, "law": "independent"})
def test_matches_brute_force_floats(kw):
    R.note_kw(kw)
    ref, S = _brute(kw)
    inst = make_instance(target=kw["target"], drafts=kw["drafts"])
    r = submodular_optimum(inst)
    assert abs(r.value - ref) <= 1e-12
    assert abs(_cut(inst.target, inst.drafts, r.cut_set) - ref) <= 1e-12


@settings(max_examples=40, deadline=None)
@given(different(max_n=8, max_k=3, exact=True))
def test_matches_brute_force_exactly(kw):
    R.note_kw(kw)
    ref, _ = _brute(kw)
    r = optimal_acceptance(target=kw["target"], drafts=kw["drafts"], method="submodular")
    assert isinstance(r.value, F) and r.value == ref
    assert r.details["local_gain"] <= 0


@settings(max_examples=15, deadline=None)
@given(different(max_n=7, max_k=3))
def test_matches_the_lp_forms(kw):
    R.note_kw(kw)
    inst = make_instance(target=kw["target"], drafts=kw["drafts"])
    r = submodular_optimum(inst)
    for form in ("edge", "merged"):
        lp = solve_lp(target=kw["target"], drafts=kw["drafts"], form=form)
        assert abs(r.value - lp.value) <= 1e-9  # the LP's repaired flow is accurate to ~1e-9
        assert r.value <= lp.cut_value + 1e-12  # the LP's cut is a set: never below the exact minimum


# ------------------------------------------------------------------------------------ hard branches
def test_ties_zero_masses_and_tiny_masses():
    rng = np.random.default_rng(11)
    cases = []
    # exact duplicates of one token (merged) and a symmetric pair of drafts: two optimal sets tie
    cases.append(([0.1, 0.1, 0.1, 0.1, 0.3, 0.3], [[0.3, 0.3, 0.0, 0.0, 0.2, 0.2], [0.0, 0.0, 0.3, 0.3, 0.2, 0.2]]))
    # tokens with q = 0 < p (always in), p = 0 < q (always out), all-zero tokens, and tiny masses
    q = np.array([0.0, 0.3, 0.0, 1e-300, 0.2, 0.5 - 1e-300, 0.0, 1e-13])
    p1 = np.array([0.2, 0.0, 0.0, 0.3, 1e-14, 0.5, 0.0, 0.0])
    p2 = np.array([0.0, 0.0, 0.0, 1e-200, 0.4, 0.3, 0.3, 1e-12])
    cases.append((q / q.sum(), [p1 / p1.sum(), p2 / p2.sum()]))
    # a near tie: two sets whose values differ by ~1e-15
    cases.append(([0.5, 0.5], [[0.5 + 1e-15, 0.5 - 1e-15], [0.5, 0.5]]))
    for _ in range(20):  # many tied ratios: integer masses on a small grid
        n = int(rng.integers(3, 11))
        q = rng.integers(0, 3, n).astype(float) + (np.arange(n) == 0)
        ds = [rng.integers(0, 3, n).astype(float) + (np.arange(n) == 1) for _ in range(int(rng.integers(2, 5)))]
        cases.append((q / q.sum(), [d / d.sum() for d in ds]))
    for q, drafts in cases:
        kw = {"target": q, "drafts": drafts, "k": None, "law": "independent"}
        ref, _ = _brute(kw)
        r = optimal_acceptance(target=q, drafts=drafts, method="submodular")
        assert abs(r.value - ref) <= 1e-12, (q, drafts)


def test_targets_that_mix_the_drafts_tie_every_token_at_one_multiplier():
    # q = a p1 + (1 - a) p2: every hyperplane q_i = c·p_i passes through c = (a, 1 - a), and P* = 1 because
    # a x + (1 - a) y >= min(x, y) >= x y on [0, 1]^2 (so q(S) >= p1(S) p2(S) for every S; Theorem 2 holds)
    rng = np.random.default_rng(12)
    for n, a in ((40, 0.5), (300, 0.3), (2000, 0.5)):
        p1, p2 = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
        q = a * p1 + (1 - a) * p2
        r = optimal_acceptance(target=q / q.sum(), drafts=[p1, p2])
        assert r.method == "submodular" and abs(r.value - 1) <= 1e-12
    fr = [F(1, 10), F(0), F(3, 10), F(1, 5), F(2, 5)]
    fr2 = [F(1, 5), F(1, 5), F(1, 10), F(1, 2), F(0)]
    mix = [(x + y) / 2 for x, y in zip(fr, fr2)]
    assert optimal_acceptance(target=mix, drafts=[fr, fr2], method="submodular").value == 1


def test_agrees_with_the_lp_at_moderate_n_and_beats_every_halfspace_set():
    rng = np.random.default_rng(5)
    n = 60
    q, p1, p2 = (rng.dirichlet(np.full(n, 0.5)) for _ in range(3))
    r = optimal_acceptance(target=q, drafts=[p1, p2])
    assert r.method == "submodular"
    lp = solve_lp(target=q, drafts=[p1, p2], form="merged")
    assert abs(r.value - lp.value) <= 1e-9 and r.value <= lp.cut_value + 1e-12
    # an independent sweep: the halfspace sets {q < c1 p1 + c2 p2} of a 200 x 200 grid of multipliers
    c = np.linspace(0, 1, 200)
    C1, C2 = np.meshgrid(c, c)
    inside = q[None, None, :] < C1[..., None] * p1 + C2[..., None] * p2
    vals = inside @ q + 1 - (inside @ p1) * (inside @ p2)
    assert r.value <= vals.min() + 1e-12


def test_large_n_lm_pairs_certified():
    rng = np.random.default_rng(2)
    n = 3000
    z = 3 * rng.standard_normal(n)

    def softmax(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    q = softmax(z)
    pairs = [[softmax(z / 0.7), softmax(z / 1.3)], [softmax(z + rng.standard_normal(n)), softmax(z / 0.8)]]
    for drafts in pairs:
        r = optimal_acceptance(target=q, drafts=drafts)
        assert r.method == "submodular"
        assert abs(r.value - _cut(q, drafts, r.cut_set)) <= 1e-12
        assert r.details["check"]["leaves"] >= 1
        # no single token move improves it (checked here with NumPy, independently of local_move_gain)
        mask = np.zeros(n, dtype=bool)
        mask[list(r.cut_set)] = True
        a = [d[mask].sum() for d in drafts]
        sign = np.where(mask, -1.0, 1.0)
        moved = q[mask].sum() + sign * q + 1 - (a[0] + sign * drafts[0]) * (a[1] + sign * drafts[1])
        assert moved.min() >= r.value - 1e-12


def test_acceptance_one_uses_the_search_for_different_drafts():
    rng = np.random.default_rng(9)
    n = 30
    q = rng.dirichlet(np.ones(n))
    r = lpspec.acceptance_one(target=q, drafts=[q, rng.dirichlet(np.ones(n))])
    assert r.method == "submodular"
    lp = lpspec.acceptance_one(target=q, drafts=[q, rng.dirichlet(np.ones(n))], method="lp")
    assert r.holds == lp.holds
    # q = p_1 = p_2 elementwise-close but different: P* = 1, Theorem 2 holds
    p = q * (1 + 1e-3 * rng.standard_normal(n))
    one = lpspec.acceptance_one(target=q, drafts=[q, p / p.sum()])
    assert one.method == "submodular"


def test_progress_is_reported():
    seen = []
    rng = np.random.default_rng(0)
    n = 200
    q, *ds = (rng.dirichlet(np.ones(n)) for _ in range(4))
    submodular_optimum(make_instance(target=q, drafts=ds), progress=seen.append, progress_every=1)
    assert seen and {"nodes", "open", "best"} <= set(seen[0])


# ---------------------------------------------------------------------------------- certificates can fail
def _result(q, drafts):
    return submodular_optimum(make_instance(target=q, drafts=drafts))


def test_certificate_fails_on_a_perturbed_set_or_value():
    inst = make_instance(target=PREFIX_Q, drafts=PREFIX_DRAFTS)
    r = submodular_optimum(inst)
    cert = r.details["certificate"]
    # a worse set: {0} has cut value 1 > 49/50; claiming its value must fail the cover check and the move check
    worse = float(inst.cut_value(np.array([True, False, False, False]))) - 1
    with pytest.raises(AssertionError, match="lower bound"):
        CoverCertificate(cert.nodes, worse, cert.tolerance, cert.reduced).check()
    assert local_move_gain(inst, (0,))[0] > 0
    # larger float instance with a non-trivial tree
    rng = np.random.default_rng(4)
    n = 400
    q, p1, p2, p3 = (rng.dirichlet(np.full(n, 0.3)) for _ in range(4))
    r = _result(q, [p1, p2, p3])
    cert = r.details["certificate"]
    assert len(cert.nodes) > 1
    with pytest.raises(AssertionError, match="lower bound"):
        CoverCertificate(cert.nodes, float(r.value) - 1 + 1e-9, cert.tolerance, cert.reduced).check()


def test_certificate_fails_on_a_perturbed_tree():
    rng = np.random.default_rng(4)
    n = 400
    q, p1, p2, p3 = (rng.dirichlet(np.full(n, 0.3)) for _ in range(4))
    r = _result(q, [p1, p2, p3])
    cert = r.details["certificate"]
    split = next(i for i, nd in enumerate(cert.nodes) if nd.status == "split")
    import copy

    nodes = copy.deepcopy(cert.nodes)
    child = nodes[nodes[split].children[1]]
    child.hi = child.hi.copy()
    d = int(np.argmax(child.hi - child.lo))
    child.hi[d] = child.lo[d] + (child.hi[d] - child.lo[d]) / 4  # a hole in the cover
    with pytest.raises(AssertionError):
        CoverCertificate(nodes, cert.value, cert.tolerance, cert.reduced).check()
    nodes = copy.deepcopy(cert.nodes)
    nodes[0].status = "bound"  # the root's own bound does not prove the value
    with pytest.raises(AssertionError, match="lower bound"):
        CoverCertificate(nodes, cert.value, cert.tolerance, cert.reduced).check()


# ------------------------------------------------------------------------------------------- size guards
def test_lp_guard_fires_before_any_work(monkeypatch):
    rng = np.random.default_rng(0)
    n = 2000
    q, p1, p2 = (rng.dirichlet(np.ones(n)) for _ in range(3))

    def boom(*a, **kw):
        raise AssertionError("the LP was built")

    monkeypatch.setattr(lpspec.lp, "_solve_flow_form", boom)
    monkeypatch.setattr(Instance, "tuple_table", property(boom))
    with pytest.raises(ValueError, match=r"4,000,000 draft tuples \(n=2000, K=2\): estimated [\d,]+ s.*submodular"):
        optimal_acceptance(target=q, drafts=[p1, p2], method="lp")
    with pytest.raises(ValueError, match=r"estimated .*sorted_prefix"):
        solve_lp(target=q, drafts=p1, k=2, form="edge")
    with pytest.raises(ValueError, match=r"canonical_decomposition would solve an LP .*estimated"):
        lpspec.canonical_decomposition(target=q, drafts=[p1, p2])


def test_certify_guard_fires_before_enumerating(monkeypatch):
    n = 300
    fr = [F(1, n)] * n

    def boom(*a, **kw):
        raise AssertionError("the draft sets were enumerated")

    monkeypatch.setattr(Instance, "tuple_table", property(boom))
    with pytest.raises(ValueError, match=r"at least 45,000 draft sets \(n=300, K=2\).*estimated"):
        lpspec.certify(target=fr, drafts=[fr, fr])


def test_cli_solves_different_drafts_beyond_the_lp(capsys):
    from lpspec.cli import main

    rng = np.random.default_rng(1)
    n = 400
    q, p1, p2 = (rng.dirichlet(np.ones(n)) for _ in range(3))
    # the CLI's solve runs the submodular optimum at this size (its LP-based checks are skipped by their guard)
    def arg(v):
        return ",".join(repr(float(x)) for x in v)

    rc = main(["solve", "--target", arg(q), "--draft", arg(p1), "--draft", arg(p2), "--json", "--schemes",
               "single_draft"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    import json

    obj = json.loads(out.out)
    ref = optimal_acceptance(target=q, drafts=[p1, p2], method="submodular")
    assert abs(obj["optimal_acceptance"] - ref.value) <= 1e-15


# --------------------------------------------------------------------------------------------- batched
def test_batched_different_drafts_match_numpy_per_row():
    torch = pytest.importorskip("torch")
    import lpspec.batched as lb

    rng = np.random.default_rng(8)
    B, n, K = 4, 500, 3
    q = rng.dirichlet(np.full(n, 0.5), size=B)
    P = np.stack([rng.dirichlet(np.full(n, 0.5), size=B) for _ in range(K)])
    r = lb.optimal_acceptance(target=torch.tensor(q), drafts=torch.tensor(P), device="cpu")
    assert r.method == "batched_submodular" and tuple(r.cut_mask.shape) == (B, n)
    for b in range(B):
        ref = optimal_acceptance(target=q[b], drafts=[P[k, b] for k in range(K)])
        assert abs(r.value[b].item() - ref.value) <= lb.agreement_tolerance(n, K) + 1e-13
        S = np.flatnonzero(r.cut_mask[b].numpy())
        assert abs(_cut(q[b], P[:, b], S) - r.value[b].item()) <= 1e-12


def test_subnormal_and_huge_ratio_tokens_are_not_merged_wrongly():
    # q tiny enough that p/q overflows: the merge key must not send different vectors to one group
    q = np.array([5e-324, 5e-324, 0.5, 0.5 - 1e-323])
    drafts = [[0.4, 0.1, 0.25, 0.25], [0.1, 0.4, 0.25, 0.25]]
    kw = {"target": q, "drafts": drafts, "k": None, "law": "independent"}
    ref, _ = _brute(kw)
    r = optimal_acceptance(target=q, drafts=drafts, method="submodular")
    assert abs(r.value - ref) <= 1e-12


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(different(max_n=13))
def test_matches_brute_force_floats_long(kw):
    R.note_kw(kw)
    ref, _ = _brute(kw)
    r = optimal_acceptance(target=kw["target"], drafts=kw["drafts"], method="submodular")
    assert abs(r.value - ref) <= 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("n, K", [(10_000, 2), (2_000, 3), (2_000, 4), (10_000, 4)])
def test_vocabulary_scale_lm_drafts_long(n, K):
    rng = np.random.default_rng(n + K)
    z = 3 * rng.standard_normal(n)

    def softmax(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    q = softmax(z)
    for drafts in ([softmax(z / t) for t in (0.7, 1.3, 1.0, 1.6)[:K]],
                   [softmax(z + rng.standard_normal(n)) for _ in range(K)]):
        r = optimal_acceptance(target=q, drafts=drafts)
        assert r.method == "submodular" and r.details["local_gain"] <= 4e-13
        assert abs(r.value - _cut(q, drafts, r.cut_set)) <= 1e-12
