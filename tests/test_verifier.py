"""The rank-space optimal verifier (``lpspec.verifier.rank``, docs/theory.md §9).

Expected values never come from the verifier: the output law is compared with ``q`` and the acceptance with the
brute-force min-cut over all ``2^n`` sets and with an independent LP (POT's network simplex) — all by
enumerating every draft tuple through ``.conditional``; the multiplicity table against the same enumeration;
``.sample`` against ``.conditional`` by pooled chi-square, and against ``q`` / ``P*`` (Wilson interval) at
``n = 1000`` and ``n = 128 000``. Instances are built to force windows to slide on both sides.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import _reference as R
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy import stats

import lpspec
from lpspec import OptimalVerifier, optimal_verifier

TOL = 1e-12


# ---------------------------------------------------------------------------------------------- helpers
def enumerate_scheme(v, q, p, k):
    """Output law, membership acceptance and the multiplicity table by enumerating all tuples."""
    n = len(q)
    support = [i for i in range(n) if p[i] > 0]
    out = [[] for _ in range(n)]
    acc = []
    mult = np.zeros((n, k))
    for x in itertools.product(support, repeat=k):
        P = math.prod(float(p[t]) for t in x)
        row = v.conditional(x)
        beta = v.selection(x)
        assert np.all(beta >= 0) and abs(beta.sum() - 1.0) <= 1e-12
        assert np.all(beta[[y for y in range(n) if y not in x]] == 0.0)
        assert np.all(row >= -1e-15) and abs(row.sum() - 1.0) <= 1e-12
        for y in range(n):
            out[y].append(P * row[y])
        acc.append(P * sum(row[y] for y in set(x)))
        for y in set(x):
            mult[y, x.count(y) - 1] += P * row[y]
    return np.array([math.fsum(o) for o in out]), math.fsum(acc), mult


def lp_value(q, p, k):
    """The full LP of docs/theory.md §2 by POT's network simplex (an independent solver)."""
    masses = R.tuple_masses(drafts=list(p), k=k)
    return R.full_lp_transport(list(q), masses, len(q))


def wilson(successes: int, trials: int, z: float = 5.0):
    ph = successes / trials
    den = 1 + z * z / trials
    centre = (ph + z * z / (2 * trials)) / den
    half = z * math.sqrt(ph * (1 - ph) / trials + z * z / (4 * trials * trials)) / den
    return centre - half - 1e-12, centre + half + 1e-12  # (1e-12: rounding of the bounds at p̂ = 0 or 1)


def pooled_chisquare(observed, expected, min_expected: float = 5.0):
    """Chi-square p-value after pooling the cells with small expectation into one."""
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    big = expected >= min_expected
    obs = np.concatenate([observed[big], [observed[~big].sum()]])
    exp = np.concatenate([expected[big], [expected[~big].sum()]])
    keep = exp > 0
    obs, exp = obs[keep], exp[keep]
    exp = exp * obs.sum() / exp.sum()
    if obs.size < 2:
        return 1.0
    return float(stats.chisquare(obs, exp).pvalue)


def softmax(z):
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def lm_pair(n, seed, temperature=1.3):
    """A softmax target and a perturbed, tempered draft (LM-like)."""
    rng = np.random.default_rng(seed)
    z = 3.0 * rng.standard_normal(n)
    return softmax(z), softmax((z + rng.standard_normal(n)) / temperature)


def dirichlet_pair(n, seed, alpha=0.05):
    rng = np.random.default_rng(seed)
    q = rng.dirichlet(np.full(n, alpha))
    p = rng.dirichlet(np.full(n, alpha))
    return q / q.sum(), p / p.sum()


def packed_pair(n, seed):
    """p uniform; q half on token 0, the rest with ratios packed within 0.1 % of each other."""
    rng = np.random.default_rng(seed)
    p = np.full(n, 1.0 / n)
    q = 1 + 1e-3 * rng.random(n)
    q[0] = 0.0
    q = 0.5 * q / q.sum()
    q[0] = 0.5
    return q, p


# ---------------------------------------------------------------------------------------------- small n, exhaustive
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(R.instance_kwargs(laws=("independent",), identical=True, max_n=6, max_k=4, max_tuples=1300))
@example({"target": [4 / 18, 5 / 18, 1 / 18, 8 / 18], "drafts": [8 / 24, 4 / 24, 5 / 24, 7 / 24], "k": 2,
          "law": "independent"})
@example({"target": [0.5, 0.5], "drafts": [0.5, 0.5], "k": 3, "law": "independent"})  # q = p
@example({"target": [1.0, 0.0, 0.0], "drafts": [0.0, 1.0, 0.0], "k": 2, "law": "independent"})  # one-hot
@example({"target": [0.3, 0.0, 0.7], "drafts": [0.2, 0.5, 0.3], "k": 4, "law": "independent"})
@example({"target": [1e-13, 0.5, 0.5 - 1e-13], "drafts": [0.5, 1e-12, 0.5 - 1e-12], "k": 3,
          "law": "independent"})
def test_exhaustive_output_is_q_and_acceptance_is_the_min_cut(kw):
    R.note_kw(kw)
    q = np.asarray(R.normalised(kw["target"]), dtype=float)
    p = np.asarray(R.normalised(kw["drafts"]), dtype=float)
    k = kw["k"]
    v = optimal_verifier(target=kw["target"], drafts=kw["drafts"], k=k)
    report = v.check()
    assert report["partition"]
    out, acc, mult = enumerate_scheme(v, q, p, k)
    assert np.max(np.abs(out - q)) <= TOL
    cut = R.identical_min_cut(list(q), list(p), k)
    assert abs(acc - cut) <= TOL
    assert abs(float(v.value) - cut) <= TOL
    assert abs(v.acceptance - cut) <= TOL  # Σ min(q, p_I)
    # the multiplicity table of docs/theory.md §11 against the enumeration
    assert np.max(np.abs(v.multiplicity_table() - mult)) <= TOL


@settings(max_examples=40, deadline=None)
@given(R.instance_kwargs(laws=("independent",), identical=True, max_n=5, max_k=3, max_tuples=130))
def test_acceptance_equals_the_lp(kw):
    R.note_kw(kw)
    q = np.asarray(R.normalised(kw["target"]), dtype=float)
    p = np.asarray(R.normalised(kw["drafts"]), dtype=float)
    v = optimal_verifier(target=kw["target"], drafts=kw["drafts"], k=kw["k"])
    _, acc, _ = enumerate_scheme(v, q, p, kw["k"])
    assert abs(acc - lp_value(q, p, kw["k"])) <= TOL


@settings(max_examples=30, deadline=None)
@given(R.instance_kwargs(laws=("independent",), identical=True, max_n=5, max_k=3, max_tuples=130, exact=True))
def test_exact_input_keeps_the_value_exact(kw):
    v = optimal_verifier(target=kw["target"], drafts=kw["drafts"], k=kw["k"])
    assert isinstance(v.value, F) and v.exact_value and v.plan_dtype == "float64"
    brute, _ = R.brute_optimum(kw["target"], R.tuple_masses(drafts=kw["drafts"], k=kw["k"]))
    assert v.value == brute
    q = np.array([float(t) for t in kw["target"]])
    p = np.array([float(t) for t in kw["drafts"]])
    out, acc, _ = enumerate_scheme(v, q, p, kw["k"])
    assert np.max(np.abs(out - q)) <= 1e-12 and abs(acc - float(brute)) <= 1e-12
    v.check()


# ---------------------------------------------------------------------------------------------- forced slides
def test_the_worked_example_slides_on_both_sides():
    q = [F(4, 18), F(5, 18), F(1, 18), F(8, 18)]
    p = [F(8, 24), F(4, 24), F(5, 24), F(7, 24)]
    v = optimal_verifier(target=q, drafts=p, k=2)
    assert v.value == F(63, 64) and v.cut_set == (0, 2)
    assert v.slides["T"] == 1 and v.slides["S"] == 1
    assert v.pieces_per_token.tolist() == [2, 1, 1, 2]  # token 0: an S* slide, token 3: a T slide
    qf, pf = np.array([float(t) for t in q]), np.array([float(t) for t in p])
    out, acc, _ = enumerate_scheme(v, qf, pf, 2)
    assert np.max(np.abs(out - qf)) <= TOL and abs(acc - 63 / 64) <= TOL
    # R_y inside [0, c] for T = {1, 3} and inside [c, 1] for S* = {0, 2}, c = p(T) = 11/24
    c = 11 / 24
    T = np.isin(v.piece_owner, [1, 3])
    assert np.all(v.piece_end[T] <= c + 1e-15) and np.all(v.piece_start[~T] >= c - 1e-15)


def _t_slide_instances(count, k):
    """q ≈ p except one heavy draft token with a small target (so that P* < 1 and T is not empty): T tokens
    whose home window is a little too heavy. (With q ≈ p everywhere P* = 1, and the tie rule puts every token
    in S*.)"""
    found = []
    for seed in range(400):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(3, 7))
        p = rng.dirichlet(np.ones(n))
        q = p * (1 + 0.05 * rng.standard_normal(n))
        q[np.argmax(p)] *= rng.uniform(0.1, 0.6)
        q = np.abs(q) / np.abs(q).sum()
        if optimal_verifier(target=q, drafts=p, k=k).slides["T"] > 0:
            found.append((q, p))
        if len(found) == count:
            break
    return found


def _s_slide_instances(count, k):
    """Large-p tokens with q/p in (0.5, 0.95) inside S*."""
    found = []
    for seed in range(400):
        rng = np.random.default_rng(1000 + seed)
        n = int(rng.integers(3, 7))
        p = rng.dirichlet(np.ones(n))
        big = np.argsort(-p)[: max(1, n // 2)]
        q = p * rng.uniform(1.0, 2.0, n)
        q[big] = p[big] * rng.uniform(0.5, 0.95, big.size)
        q = q / q.sum()
        if optimal_verifier(target=q, drafts=p, k=k).slides["S"] > 0:
            found.append((q, p))
        if len(found) == count:
            break
    return found


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("side", ["T", "S"])
def test_instances_that_force_slides_stay_exact_and_optimal(side, k):
    pairs = (_t_slide_instances if side == "T" else _s_slide_instances)(6, k)
    assert len(pairs) == 6, f"could not build instances with {side} slides"
    for q, p in pairs:
        v = optimal_verifier(target=q, drafts=p, k=k)
        assert v.slides[side] > 0
        v.check()
        out, acc, mult = enumerate_scheme(v, q, p, k)
        assert np.max(np.abs(out - q)) <= TOL
        assert abs(acc - R.identical_min_cut(list(q), list(p), k)) <= TOL
        assert np.max(np.abs(v.multiplicity_table() - mult)) <= TOL


# ---------------------------------------------------------------------------------------------- special cases
def test_k1_is_single_draft_speculative_sampling():
    q = np.array([0.1, 0.2, 0.3, 0.4])
    p = np.array([0.4, 0.3, 0.2, 0.1])
    v = optimal_verifier(target=q, drafts=p, k=1)
    assert v.slides == {"T": 0, "S": 0, "forced": 0}
    res = np.maximum(q - p, 0) / np.maximum(q - p, 0).sum()
    for x in range(4):
        a = min(1.0, q[x] / p[x])
        expected = (1 - a) * res
        expected[x] += a
        assert np.max(np.abs(v.conditional((x,)) - expected)) <= TOL


def test_acceptance_one_has_no_residual():
    v = optimal_verifier(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2)
    # P* = 1: the rejected mass is rounding only, and the residual is still a distribution (no 0/0)
    assert float(v.value) == 1.0 and v.rejection_mass <= 1e-15 and np.all(np.isfinite(v.residual))
    assert abs(v.residual.sum() - 1.0) <= 1e-15
    out, acc = v.sample(np.random.default_rng(0).choice(2, size=(100_000, 2)), rng=0)
    assert acc.mean() >= 1 - 1e-4
    exact = optimal_verifier(target=[F(1, 2), F(1, 2)], drafts=[F(1, 2), F(1, 2)], k=2)
    assert exact.value == 1


def test_zero_mass_tokens_own_no_ranks_and_are_refused_in_tuples():
    v = optimal_verifier(target=[0.2, 0.3, 0.5, 0.0], drafts=[0.5, 0.0, 0.5, 0.0], k=2)
    assert v.pieces_per_token[1] == 0 and v.pieces_per_token[3] == 0
    with pytest.raises(ValueError, match="probability 0"):
        v.conditional((1, 0))
    with pytest.raises(ValueError, match="p = 0"):
        v.sample(np.array([[0, 1]]))


def test_other_laws_and_different_drafts_point_to_the_lp():
    with pytest.raises(ValueError, match="OptimalScheme"):
        optimal_verifier(target=[0.5, 0.5], drafts=[[0.5, 0.5], [0.9, 0.1]])
    with pytest.raises(ValueError, match="OptimalScheme"):
        optimal_verifier(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2, law="without_replacement")
    with pytest.raises(ValueError, match="k"):
        optimal_verifier(target=[0.5, 0.5], drafts=[0.5, 0.5])
    v = optimal_verifier(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2)
    with pytest.raises(ValueError, match="shape"):
        v.sample(np.array([0, 1]))


def test_check_fails_on_a_broken_plan():
    v = optimal_verifier(target=[0.1, 0.2, 0.7], drafts=[0.3, 0.3, 0.4], k=2)
    broken = OptimalVerifier(v.value, v.cut_set, v.k, v.target, v.draft, v.piece_start.copy(),
                             v.piece_end.copy(), v.piece_owner[::-1].copy(), v.slides)
    with pytest.raises(AssertionError):
        broken.check()


# ---------------------------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("q,p,k", [
    ([4 / 18, 5 / 18, 1 / 18, 8 / 18], [8 / 24, 4 / 24, 5 / 24, 7 / 24], 2),
    ([0.05, 0.3, 0.15, 0.5], [0.4, 0.1, 0.3, 0.2], 3),
])
def test_sample_agrees_with_conditional_per_tuple(q, p, k):
    v = optimal_verifier(target=q, drafts=p, k=k)
    rng = np.random.default_rng(7)
    n, reps = len(q), 20_000
    for x in itertools.product(range(n), repeat=k):
        if not all(np.asarray(p)[list(x)] > 0):
            continue
        out, acc = v.sample(np.tile(np.array(x), (reps, 1)), rng=rng)
        cond = v.conditional(x)
        assert pooled_chisquare(np.bincount(out, minlength=n), reps * cond) > 1e-5, x
        accepted = sum(cond[y] for y in set(x))
        lo, hi = wilson(int(acc.sum()), reps)
        assert lo <= accepted <= hi, x


def _mc_check(q, p, k, n_samples, seed=0):
    v = optimal_verifier(target=q, drafts=p, k=k)
    report = v.check()
    rng = np.random.default_rng(seed)
    tuples = rng.choice(len(p), size=(n_samples, k), p=p)
    out, acc = v.sample(tuples, rng=rng)
    lo, hi = wilson(int(acc.sum()), n_samples)
    assert lo <= float(v.value) <= hi, (float(v.value), lo, hi)
    # membership: accepted exactly when the output is one of the drafts (up to rounding-size residual mass)
    member = (tuples == out[:, None]).any(axis=1)
    assert np.count_nonzero(member != acc) <= 2
    assert pooled_chisquare(np.bincount(out, minlength=len(q)), n_samples * q) > 1e-5
    return v, report


@pytest.mark.parametrize("family", ["lm", "dirichlet", "packed"])
@pytest.mark.parametrize("k", [2, 8])
def test_n1000_check_and_a_million_samples(family, k):
    pair = {"lm": lm_pair, "dirichlet": dirichlet_pair, "packed": packed_pair}[family](1000, 3)
    v, report = _mc_check(*pair, k, 1_000_000)
    assert report["side_error"] <= report["mass_bound"]


@pytest.mark.slow
@pytest.mark.parametrize("family", ["lm", "dirichlet", "packed"])
@pytest.mark.parametrize("k", [2, 4, 8])
def test_n128000_check_and_a_million_samples(family, k):
    pair = {"lm": lm_pair, "dirichlet": dirichlet_pair, "packed": packed_pair}[family](128_000, 5)
    _mc_check(*pair, k, 1_000_000)


def test_multiplicity_rows_sum_to_the_accepted_mass():
    q, p = lm_pair(300, 1)
    v = optimal_verifier(target=q, drafts=p, k=4)
    table = v.multiplicity_table()
    assert table.shape == (300, 4) and np.all(table >= 0)
    assert np.max(np.abs(table.sum(axis=1) - np.minimum(q, v.selection_law))) <= 1e-15
    assert abs(table.sum() - float(v.value)) <= 1e-12


@given(st.integers(0, 2**32 - 1))
@settings(max_examples=10, deadline=None)
def test_selection_law_matches_the_sampled_winner(seed):
    rng = np.random.default_rng(seed)
    q, p = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    v = optimal_verifier(target=q, drafts=p, k=3)
    # p_I(y) = Σ_x P(x) β_y(x) by enumeration equals M(R_y)
    pI = np.zeros(6)
    for x in itertools.product(range(6), repeat=3):
        pI += math.prod(p[list(x)]) * v.selection(x)
    assert np.max(np.abs(pI - v.selection_law)) <= 1e-13


# ---------------------------------------------------------------------------------------------- integration
def test_rank_decomposition_has_the_fields_of_the_lp_one():
    from lpspec import OptimalScheme, canonical_decomposition

    kw = {"target": [0.1, 0.6, 0.2, 0.1], "drafts": [0.4, 0.3, 0.2, 0.1], "k": 3}
    lp = canonical_decomposition(**kw, method="is_lp")
    rank = canonical_decomposition(**kw, method="rank")
    assert rank.method == "rank"
    assert abs(rank.acceptance - lp.acceptance) <= 1e-9 and abs(rank.membership_acceptance - lp.optimum) <= 1e-9
    assert np.max(np.abs(rank.output_distribution() - np.array(kw["target"]))) <= 1e-15
    report = rank.check()
    assert report["acceptance_gap"] <= 1e-15
    # β(x) sums to one and lives on set(x); conditional is a distribution
    b = rank.beta((0, 0, 3))
    assert abs(b.sum() - 1) <= 1e-15 and b[1] == 0 and b[2] == 0
    # OptimalScheme samples through the verifier: its enumerated acceptance is P* and its samples follow q
    s = OptimalScheme(**kw)
    assert s.plan == "rank" and abs(float(s.enumerated_acceptance()) - lp.optimum) <= 1e-12
    rng = np.random.default_rng(1)
    x = (0, 1, 1)
    counts = np.bincount([s.sample(x, rng) for _ in range(3000)], minlength=4)
    assert pooled_chisquare(counts, 3000 * s.conditional(x)) > 1e-5
    with pytest.raises(ValueError, match="OptimalScheme"):
        canonical_decomposition(target=[0.5, 0.5], drafts=[[0.5, 0.5], [0.9, 0.1]], method="rank")


def test_cli_solve_reports_the_verifier_check(capsys):
    import json

    from lpspec.cli import main

    assert main(["solve", "--target", "0.2,0.3,0.5", "--draft", "0.5,0.3,0.2", "-k", "2", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    c = obj["checks"]["verifier"]
    assert c["applies"] and c["passed"] and c["error"] <= c["bound"]


@pytest.mark.parametrize("K", [10**7, 10**9, 2**40, 2**53])
def test_huge_k_keeps_the_plan_exact(K):
    """(1 - u)^K is taken from u, not from the rounded 1 - u: at K = 2^53 the old form lost 0.2 of acceptance.
    Expected values: P* from the sorted prefix (expm1/log1p of the tail mass) and q itself."""
    q, p = [0.2, 0.3, 0.5], [0.5, 0.3, 0.2]
    v = optimal_verifier(target=q, drafts=p, k=K)
    P = float(lpspec.optimal_acceptance(target=q, drafts=p, k=K).value)
    assert abs(v.acceptance - P) <= 1e-12
    assert np.max(np.abs(v.output_distribution() - np.array(q))) <= 1e-12
    if K > 2**40:  # K x n beyond numpy's array size limit: refused by make_instance (tests/test_hostile.py)
        return
    rng = np.random.default_rng(3)
    r = rng.dirichlet(np.ones(300))
    w = optimal_verifier(target=r, drafts=r, k=K)  # q = p: P* = 1
    assert 1 - w.acceptance <= 1e-12


# ---------------------------------------------------------------------------------------------- the P* = 1 tie rule
def pathological_pair(n, seed=0):
    """Target softmax(z), draft softmax(0.8 z + 0.3 noise) (z = 3 N(0, 1)): P* = 1 at K = 4, so the empty and the
    full cut tie (issue 18's 101.8 s pair at n = 128 000)."""
    rng = np.random.default_rng(seed)
    z = 3.0 * rng.standard_normal(n)
    return softmax(z), softmax(0.8 * z + 0.3 * rng.standard_normal(n))


def _exact_prefix_minimum(q, p, k):
    """``min_j Q_j + 1 - (1 - P_j)^K`` over prefixes in exact-rational ``q/p`` order, in Fractions of the floats
    (the identical-draft min cut is attained on such a prefix, docs/theory.md §4; computed here independently)."""
    qf = [F(float(x)) for x in q]
    pf = [F(float(x)) for x in p]
    sup = sorted((i for i in range(len(q)) if pf[i] > 0), key=lambda i: (qf[i] / pf[i], i))
    Q, tail = F(0), sum(pf[i] for i in sup)
    best = 1 - (1 - tail) ** k
    for i in sup:
        Q += qf[i]
        tail -= pf[i]
        best = min(best, Q + 1 - (1 - tail) ** k)
    return best


@pytest.mark.parametrize("n", [1999, 2000, 2001, 2002])
def test_pathological_pair_takes_the_full_cut_at_every_n(n):
    q, p = pathological_pair(n)
    exact = _exact_prefix_minimum(q, p, 4)
    assert abs(float(exact) - 1.0) <= lpspec.verifier.rank.one_tolerance(n, 4)  # P* = 1 (to the stated tolerance)
    v = optimal_verifier(target=q, drafts=p, k=4)
    assert v.value == 1.0 and v.cut_set == tuple(range(n))  # the full cut, every token in S*
    assert v.slides["T"] == 0
    v.check()
    # rows perturbed by ~1e-16 (one ulp per entry, renormalised) take the same cut and almost the same plan
    rng = np.random.default_rng(n)
    q2 = q * (1 + 2.0**-52 * rng.choice([-1, 0, 1], n))
    q2 /= q2.sum()
    w = optimal_verifier(target=q2, drafts=p, k=4)
    assert w.value == 1.0 and w.cut_set == v.cut_set
    assert np.max(np.abs(w.selection_law - v.selection_law)) <= 1e-12


@pytest.mark.parametrize("k", [2, 3])
def test_acceptance_one_instances_are_exact_on_the_full_cut(k):
    """P* = 1 instances (q = p, and q a rounding away from p): full cut, exhaustive output law and acceptance."""
    rng = np.random.default_rng(7)
    for _ in range(6):
        n = int(rng.integers(2, 6))
        p = rng.dirichlet(np.ones(n))
        for q in (p.copy(), np.nextafter(p, 1.0) / np.nextafter(p, 1.0).sum()):
            truth = R.identical_min_cut(list(q), list(p), k)
            assert abs(truth - 1.0) <= 1e-15
            v = optimal_verifier(target=q, drafts=p, k=k)
            assert v.value == 1.0 and v.cut_set == tuple(range(n)) and v.slides["T"] == 0
            v.check()
            out, acc, mult = enumerate_scheme(v, q, p, k)
            assert np.max(np.abs(out - q)) <= TOL and abs(acc - truth) <= TOL
            assert np.max(np.abs(v.multiplicity_table() - mult)) <= TOL
    # exact input: P* = 1 decided in rationals, same full cut
    exact = optimal_verifier(target=[F(1, 3), F(2, 3), F(0)], drafts=[F(1, 3), F(1, 3), F(1, 3)], k=3)
    assert R.identical_min_cut([F(1, 3), F(2, 3), F(0)], [F(1, 3)] * 3, 3) < 1  # control: not a P* = 1 case
    assert exact.value < 1
    one = optimal_verifier(target=[F(1, 4), F(3, 4)], drafts=[F(1, 2), F(1, 2)], k=2)
    assert R.identical_min_cut([F(1, 4), F(3, 4)], [F(1, 2)] * 2, 2) == 1 and one.value == 1
    assert one.cut_set == (0, 1)


def test_ratio_order_ties_of_identical_pairs_stay_in_index_order():
    """Large tied groups (identical (q, p) floats) and tied rounded ratios of different pairs: exact order."""
    from lpspec.solvers.optimum import ratio_order

    n = 3000
    q = np.full(n, 0.3 / (n - 5))
    q[:5] = 0.7 / 5
    p = np.full(n, 1.0 / n)
    assert ratio_order(q, p).tolist() == list(range(5, n)) + list(range(5))
    # 0.125/0.16666666666666666 and 0.375/0.5 both round to 0.75; exactly the first is larger
    q = np.array([0.375, 0.125, 0.375, 0.125, 0.6, 0.5])
    p = np.array([0.5, 0.16666666666666666, 0.5, 0.16666666666666666, 0.3, 0.25])
    exact = sorted(range(6), key=lambda i: (F(q[i]) / F(p[i]), i))
    assert ratio_order(q, p).tolist() == exact == [0, 2, 1, 3, 4, 5]


def test_optimal_multiplicity_rows_are_the_verifier_on_the_users_rows():
    """Issue 19 item 5: the optimal scheme's a(y, m) per context is that of optimal_verifier on that row (checked
    against the enumeration of the row's tuples), and P* = 1 rows moved by an ulp (a caller's renormalisation)
    keep their cut, hence their table (the ratio order is unchanged: the ratios are well apart)."""
    from lpspec.sequence.multiplicity import multiplicity_table

    k = 3
    rows_q, rows_p = [], []
    for seed in range(200):
        q, p = pathological_pair(5, seed=seed)
        r = np.sort(q / p)
        if np.min(np.diff(r) / r[1:]) > 1e-9 and R.identical_min_cut(list(q), list(p), k) >= 1 - 1e-15:
            rows_q.append(q)
            rows_p.append(p)
        if len(rows_q) == 4:
            break
    assert len(rows_q) == 4
    Q, P = np.array(rows_q), np.array(rows_p)
    table = multiplicity_table("optimal", target=Q, draft=P, j=k)
    for c in range(Q.shape[0]):
        _, acc, mult = enumerate_scheme(optimal_verifier(target=Q[c], drafts=P[c], k=k), Q[c], P[c], k)
        assert np.max(np.abs(table[c] - mult)) <= TOL
        assert abs(table[c].sum() - R.identical_min_cut(list(Q[c]), list(P[c]), k)) <= TOL
    for step in (1.0, -1.0):
        Q2 = Q.copy()
        Q2[:, 0] = np.nextafter(Q2[:, 0], step)  # one entry moved by one ulp
        assert np.max(np.abs(multiplicity_table("optimal", target=Q2, draft=P, j=k) - table)) <= 1e-12


def test_engine_argument_is_checked(monkeypatch):
    """engine= is validated; engine='numba' without numba is an error, 'auto' falls back to the NumPy path
    (runs with or without numba installed)."""
    with pytest.raises(ValueError, match="engine="):
        optimal_verifier(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2, engine="fortran")
    from lpspec import verifier_kernel as VK

    monkeypatch.setattr(VK, "compiled", lambda: None)  # as if numba were not installed
    with pytest.raises(ValueError, match="numba"):
        optimal_verifier(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2, engine="numba")
    v = optimal_verifier(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2)  # auto falls back to NumPy
    assert abs(v.acceptance - 1.0) <= 1e-15
    assert lpspec.verifier.rank.ENGINES == ("auto", "numba", "numpy")
