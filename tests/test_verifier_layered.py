"""The layered optimal verifier (``optimal_verifier(..., plan="layered")``, ``lpspec.verifier.layered``).

Expected values never come from the plan: the output law is compared with ``q`` and the acceptance with the
brute-force min-cut over all ``2^n`` sets (``_reference.identical_min_cut``), by enumerating every draft tuple
through ``.conditional``; the multiplicity table against the same enumeration; ``.sample`` against ``q`` and
``P*`` with Wilson intervals; at ``n = 128 000`` the value against the min-cut recomputed here by one sort.
Instances force deficits on both sides (``q ≈ p`` on ``T``; large-``p`` tokens with ``q/p`` in (0.5, 0.95) in
``S*``), plus zeros, ties, tiny masses, one-hot and ``q = p``.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import _reference as R
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings

from lpspec import optimal_verifier
from lpspec.verifier.layered import LayeredVerifier, _match

TOL = 1e-12


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
        assert np.all(beta >= -1e-15) and abs(beta.sum() - 1.0) <= 1e-12
        assert np.all(beta[[y for y in range(n) if y not in x]] == 0.0)
        assert np.all(row >= -1e-15) and abs(row.sum() - 1.0) <= 1e-12
        for y in range(n):
            out[y].append(P * row[y])
        acc.append(P * sum(row[y] for y in set(x)))
        for y in set(x):
            mult[y, x.count(y) - 1] += P * row[y]
    return np.array([math.fsum(o) for o in out]), math.fsum(acc), mult


def exhaustive(target, drafts, k):
    q = np.asarray(R.normalised(target), dtype=float)
    p = np.asarray(R.normalised(drafts), dtype=float)
    v = optimal_verifier(target=target, drafts=drafts, k=k, plan="layered")
    assert isinstance(v, LayeredVerifier)
    report = v.check()
    assert report["partition"] and report["region"]
    out, acc, mult = enumerate_scheme(v, q, p, k)
    assert np.max(np.abs(out - q)) <= TOL
    cut = R.identical_min_cut(list(q), list(p), k)
    assert abs(acc - float(cut)) <= TOL
    assert abs(v.acceptance - float(cut)) <= TOL
    assert np.max(np.abs(v.multiplicity_table() - mult)) <= TOL
    return v


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(R.instance_kwargs(laws=("independent",), identical=True, max_n=6, max_k=4, max_tuples=1300))
@example({"target": [4 / 18, 5 / 18, 1 / 18, 8 / 18], "drafts": [8 / 24, 4 / 24, 5 / 24, 7 / 24], "k": 2,
          "law": "independent"})
@example({"target": [0.5, 0.5], "drafts": [0.5, 0.5], "k": 3, "law": "independent"})  # q = p
@example({"target": [1.0, 0.0, 0.0], "drafts": [0.0, 1.0, 0.0], "k": 2, "law": "independent"})  # one-hot
@example({"target": [0.3, 0.0, 0.7], "drafts": [0.2, 0.5, 0.3], "k": 4, "law": "independent"})  # zeros
@example({"target": [1e-13, 0.5, 0.5 - 1e-13], "drafts": [0.5, 1e-12, 0.5 - 1e-12], "k": 3,
          "law": "independent"})  # tiny masses
@example({"target": [0.25, 0.25, 0.25, 0.25], "drafts": [0.1, 0.2, 0.3, 0.4], "k": 2,
          "law": "independent"})  # ties in q
@example({"target": [0.2, 0.2, 0.3, 0.3], "drafts": [0.2, 0.2, 0.3, 0.3], "k": 4, "law": "independent"})
def test_exhaustive_output_is_q_and_acceptance_is_the_min_cut(kw):
    R.note_kw(kw)
    exhaustive(kw["target"], kw["drafts"], kw["k"])


def test_worked_example_swaps_on_both_sides():
    # docs/theory.md §9: S* = {0, 2}, P* = 63/64; the contiguous layout breaks one token on each side
    q = [F(4, 18), F(5, 18), F(1, 18), F(8, 18)]
    p = [F(8, 24), F(4, 24), F(5, 24), F(7, 24)]
    v = exhaustive(q, p, 2)
    assert v.value == F(63, 64) and v.cut_set == (0, 2)
    assert v.swaps["T"] >= 1 and v.swaps["S"] >= 1
    assert np.any((v.piece_weight > 0) & (v.piece_weight < 1))  # fractional pieces really occur
    # every weighted piece stays on its side of c = p(T) = 11/24
    c = 11 / 24
    T = np.isin(v.piece_owner, [1, 3])
    assert np.all(v.piece_end[T] <= c + 1e-15) and np.all(v.piece_start[~T] >= c - 1e-15)


def forced(side: str, k: int, count: int = 4):
    """Instances whose contiguous layout breaks the side's inequality (deficits to be matched on that side)."""
    found = []
    for seed in range(400):
        rng = np.random.default_rng(2000 + seed)
        n = int(rng.integers(3, 6))
        p = rng.dirichlet(np.ones(n))
        if side == "T":  # q ≈ p except one heavy draft token with a small target (P* < 1, T not empty)
            q = np.abs(p * (1 + 0.05 * rng.standard_normal(n)))
            q[np.argmax(p)] *= rng.uniform(0.1, 0.6)
        else:  # large-p tokens with q/p in (0.5, 0.95) inside S*
            big = np.argsort(-p)[: max(1, n // 2)]
            q = p * rng.uniform(1.0, 2.0, n)
            q[big] = p[big] * rng.uniform(0.5, 0.95, big.size)
        q = q / q.sum()
        if optimal_verifier(target=q, drafts=p, k=k, plan="layered").swaps[side] > 0:
            found.append((list(q), list(p)))
        if len(found) == count:
            break
    return found


@pytest.mark.parametrize("side", ["T", "S"])
@pytest.mark.parametrize("k", [2, 3, 4])
def test_instances_with_deficits_stay_exact_and_optimal(side, k):
    pairs = forced(side, k)
    assert len(pairs) == 4, f"could not build instances with deficits on the {side} side"
    for q, p in pairs:
        v = exhaustive(q, p, k)
        assert v.swaps[side] > 0


def test_k1_is_single_draft_speculative_sampling():
    q, p = [0.1, 0.6, 0.3], [0.5, 0.25, 0.25]
    v = exhaustive(q, p, 1)
    assert abs(v.acceptance - sum(min(a, b) for a, b in zip(q, p))) <= TOL


def test_acceptance_one_and_exact_input():
    v = optimal_verifier(target=[F(1, 2), F(1, 2)], drafts=[F(1, 2), F(1, 2)], k=2, plan="layered")
    assert v.value == 1 and v.rejection_mass <= 1e-15
    v.check()


def test_match_pairs_deficits_with_surplus_nearer_the_good_end():
    # hand-computed: surplus 0.5 at 0, deficits 0.2 at 1 and 0.3 at 3, surplus 0.1 at 2 (unused)
    iy, iz, a = _match(np.array([0.5, -0.2, 0.1, -0.3]))
    pairs = {(int(y), int(z)): float(x) for y, z, x in zip(iy, iz, a) if x > 1e-15}
    assert pairs.keys() == {(1, 0), (3, 0)}
    assert abs(pairs[(1, 0)] - 0.2) <= 1e-15 and abs(pairs[(3, 0)] - 0.3) <= 1e-15


def test_plan_argument_is_checked():
    with pytest.raises(ValueError, match="plan="):
        optimal_verifier(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2, plan="nope")


def wilson(successes: int, trials: int, z: float = 5.0):
    ph = successes / trials
    den = 1 + z * z / trials
    centre = (ph + z * z / (2 * trials)) / den
    half = z * math.sqrt(ph * (1 - ph) / trials + z * z / (4 * trials * trials)) / den
    return centre - half - 1e-12, centre + half + 1e-12


def softmax(z):
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def lm_pair(n, seed):
    rng = np.random.default_rng(seed)
    z = 3.0 * rng.standard_normal(n)
    return softmax(z), softmax((z + rng.standard_normal(n)) / 1.3)


def min_cut_by_sort(q, p, k):
    """The sorted-prefix min-cut value, recomputed here in exact-order float (docs/theory.md §4)."""
    order = np.argsort(q / np.where(p > 0, p, 1e-300) + np.where(p > 0, 0, np.inf), kind="stable")
    Q = np.concatenate([[0.0], np.cumsum(q[order])])
    P = np.concatenate([[0.0], np.cumsum(p[order])])
    return float(np.min(Q + 1.0 - np.minimum(P, 1.0) ** k))  # q(S) + 1 - p(S)^K over the prefixes S


@pytest.mark.parametrize("k", [2, 4])
def test_monte_carlo_sampling_within_an_interval(k):
    q, p = lm_pair(300, 7)
    v = optimal_verifier(target=q, drafts=p, k=k, plan="layered")
    v.check()
    rng = np.random.default_rng(3)
    N = 200_000
    x = rng.choice(q.size, size=(N, k), p=p)
    out, acc = v.sample(x, rng=rng)
    member = np.any(x == out[:, None], axis=1)
    lo, hi = wilson(int(member.sum()), N)
    cut = min_cut_by_sort(q, p, k)
    assert lo <= cut <= hi
    # output law: the few heaviest tokens, each within its interval
    counts = np.bincount(out, minlength=q.size)
    for y in np.argsort(q)[-5:]:
        lo, hi = wilson(int(counts[y]), N)
        assert lo <= q[y] <= hi


def test_sample_selection_law_matches_the_plan():
    # the winner frequency of sampled tuples against p_I(y) = Σ w M(piece)
    q, p = [0.05, 0.3, 0.15, 0.5], [0.4, 0.3, 0.2, 0.1]
    v = optimal_verifier(target=q, drafts=p, k=3, plan="layered")
    rng = np.random.default_rng(11)
    N = 200_000
    x = rng.choice(4, size=(N, 3), p=p)
    # each tuple's exact selection law averaged over the drawn tuples vs the law of the plan (both exact maps)
    uniq, inv = np.unique(x, axis=0, return_inverse=True)
    beta = np.array([v.selection(t) for t in uniq])
    pI_mc = beta[inv.ravel()].mean(axis=0)
    freq = np.bincount(x.ravel(), minlength=4) / x.size
    assert np.max(np.abs(freq - np.asarray(p))) < 0.01
    # the brute-force p_I from the enumeration of all 64 tuples
    pI = sum(math.prod(p[t] for t in tup) * v.selection(tup) for tup in itertools.product(range(4), repeat=3))
    assert np.max(np.abs(pI - v.selection_law)) <= 1e-12
    assert np.max(np.abs(pI_mc - pI)) < 0.01
    out, acc = v.sample(x, rng=rng)
    counts = np.bincount(out, minlength=4)
    for y in range(4):
        lo, hi = wilson(int(counts[y]), N)
        assert lo <= q[y] <= hi


@pytest.mark.parametrize("k", [2, 8])
def test_n128000_value_matches_the_greedy_and_the_cut(k):
    q, p = lm_pair(128_000, 1)
    lay = optimal_verifier(target=q, drafts=p, k=k, plan="layered")
    report = lay.check()
    greedy = optimal_verifier(target=q, drafts=p, k=k, engine="numpy") if k == 2 else None
    cut = min_cut_by_sort(q, p, k)
    assert abs(lay.acceptance - cut) <= 1e-11
    if greedy is not None:
        assert abs(lay.acceptance - greedy.acceptance) <= 1e-11
    assert report["side_error"] <= report["mass_bound"]


@pytest.mark.slow
@pytest.mark.parametrize("k", [2, 4])
def test_n128000_a_million_samples(k):
    # tokens with thousands of weighted pieces (one surplus token paired with many deficits) are sampled too
    q, p = lm_pair(128_000, 5)
    v = optimal_verifier(target=q, drafts=p, k=k, plan="layered")
    v.check()
    assert v.piece_stats()["max"] > 100
    rng = np.random.default_rng(1)
    N = 1_000_000
    x = rng.choice(q.size, size=(N, k), p=p)
    out, _ = v.sample(x, rng=rng)
    member = np.any(x == out[:, None], axis=1)
    lo, hi = wilson(int(member.sum()), N)
    assert lo <= min_cut_by_sort(q, p, k) <= hi
    counts = np.bincount(out, minlength=q.size)
    for y in np.argsort(q)[-20:]:
        lo, hi = wilson(int(counts[y]), N)
        assert lo <= q[y] <= hi


def test_check_fails_on_a_broken_plan():
    v = optimal_verifier(target=[4 / 18, 5 / 18, 1 / 18, 8 / 18], drafts=[8 / 24, 4 / 24, 5 / 24, 7 / 24], k=2,
                         plan="layered")
    v.check()
    frac = np.flatnonzero((v.piece_weight > 0) & (v.piece_weight < 1))[0]
    v.piece_weight[frac] *= 0.5  # a slot's weights no longer sum to 1
    with pytest.raises(AssertionError, match="weights"):
        v.check()


@pytest.mark.parametrize("k", [50, 10**6])
def test_large_k_builds_and_checks(k):
    # the min-cut recomputed here; at huge K the whole T side is squeezed near rank 0
    q, p = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.25, 0.25, 0.3, 0.2])
    v = optimal_verifier(target=q, drafts=p, k=k, plan="layered")
    v.check()
    assert abs(v.acceptance - min_cut_by_sort(q, p, k)) <= 1e-12


@pytest.mark.parametrize("n", [999, 1000, 4001])
def test_pathological_pair_with_p_star_one(n):
    # issue 18's pair: target softmax(z), draft softmax(0.8 z + 0.3 noise), K = 4; P* = 1 up to rounding, where
    # the verifier takes the full cut and the layout's S* prefix sums are 0 in exact arithmetic (rounding decides
    # their sign: pairs on the wrong side are dropped and check() must still pass)
    rng = np.random.default_rng(n)
    z = 3.0 * rng.standard_normal(n)
    q, p = softmax(z), softmax(0.8 * z + 0.3 * rng.standard_normal(n))
    v = optimal_verifier(target=q, drafts=p, k=4, plan="layered")
    report = v.check()
    cut = min_cut_by_sort(q, p, 4)
    assert abs(v.acceptance - cut) <= 1e-12 and abs(float(v.value) - cut) <= 1e-12
    assert v.value == 1.0 and len(v.cut_set) == n  # the full cut (tie rule)
    assert report["output_error"] <= report["mass_bound"]
