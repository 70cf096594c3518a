"""Sequence-level block verifiers (lpspec.sequence.block_schemes): Lemma 2 exactly, the test-instance table, samplers.

Expected values come from computations written here, never from the module under test: Lemma 2 checked on
the enumerated block law by brute force over token strings (``c(u)`` summed from the law, then
``μ(ua) = q(a|u) c(u) − c(ua)``), the K = 1 closed form ``min_i P(u≤i) Q(u>i | u≤i)`` by direct products,
a second implementation of Traversal Verification written here (recomputing every acceptance from the root
at each step), the depth-by-depth LP over full draft tuples (not multisets) by HiGHS, published values (Sun et
al.'s 10/9 and 11/9; the table of the test instance in the sequence-level section of the theory, rational),
and Monte Carlo runs of each sampler against the exact block law (chi-square, fixed seeds).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest

import lpspec
from lpspec.sequence import block_schemes as bs
from lpspec.sequence.block_schemes import (BLOCK_SCHEMES, block_law_given_paths, block_verification,
                                           continuation_tables, enumerated_block_law, stepwise_optimal, traversal)

# The test instance: rows = law of the next token given the last one; start token 0.
Q12 = [[F(1, 5), F(4, 5)], [F(1, 2), F(1, 2)]]
P12 = [[F(3, 5), F(2, 5)], [F(3, 10), F(7, 10)]]
QF, PF = [[0.2, 0.8], [0.5, 0.5]], [[0.6, 0.4], [0.3, 0.7]]


# ------------------------------------------------------------------------------------------- helpers
def strings(n, d):
    return list(itertools.product(range(n), repeat=d))


def path_prob(m, s, u):
    out = F(1) if isinstance(m[0][0], F) else 1.0
    ctx = s
    for a in u:
        out *= m[ctx][a]
        ctx = a
    return out


def lemma2(q, s, length, law):
    """Brute-force Lemma 2 on a block law: (ok, τ). Exact when the law holds Fractions."""
    n = len(q)
    blocks = set(law)
    assert all(1 <= len(b) <= length + 1 for b in blocks)
    assert sum(law.values()) == 1
    c = {(): F(1)}
    for d in range(1, length + 1):
        for u in strings(n, d):
            c[u] = sum((m for b, m in law.items() if len(b) > d and b[:d] == u), F(0))
    ok = True
    for d in range(length + 1):
        for u in strings(n, d):
            ctx = s if d == 0 else u[-1]
            for a in range(n):
                deeper = c.get(u + (a,), F(0)) if d < length else F(0)
                ok &= 0 <= deeper <= q[ctx][a] * c[u]
                ok &= law.get(u + (a,), F(0)) == q[ctx][a] * c[u] - deeper
    tau = sum((len(b) * m for b, m in law.items()), F(0))
    return ok, tau, c


def closed_form_bv(q, p, s, length):
    """τ of the K = 1 optimum: 1 + Σ_u min_i P(u≤i) Q(u>i | u≤i), by direct products."""
    n = len(q)
    total = F(1)
    for d in range(1, length + 1):
        for u in strings(n, d):
            best = None
            for i in range(d + 1):
                ctx = s if i == 0 else u[i - 1]
                val = path_prob(p, s, u[:i]) * path_prob(q, ctx, u[i:])
                best = val if best is None else min(best, val)
            total += best
    return total


def reference_traversal(q, p, s, paths):
    """Traversal Verification written independently: acceptances recomputed from the root at every step."""
    n, length = len(q), len(paths[0])
    kids = {}
    for path in paths:
        for d in range(length):
            kids.setdefault(path[:d], [])
            if path[d] not in kids[path[:d]]:
                kids[path[:d]].append(path[d])
            kids.setdefault(path[:d + 1], [])
    mb = {u: list(q[u[-1] if u else s]) for u in kids}
    ms = {u: list(p[u[-1] if u else s]) for u in kids}
    fixed = {(): F(1)}

    def alpha(v):
        if v in fixed:
            return fixed[v]
        u, a = v[:-1], v[-1]
        return min(alpha(u) * mb[u][a] / ms[u][a], F(1))

    law, mass = {}, F(1)
    while True:
        v = ()
        while kids[v]:
            v = v + (kids[v][0],)
        acc = alpha(v)
        for a in range(n):
            law[v + (a,)] = law.get(v + (a,), F(0)) + mass * acc * mb[v][a]
        if acc == 1:
            return {b: m for b, m in law.items() if m}
        mass *= 1 - acc
        u, a = v[:-1], v[-1]
        old = alpha(u)
        res = [max(old * mb[u][x] - ms[u][x], F(0)) for x in range(n)]
        total = sum(res)
        kids[u].remove(a)
        mb[u] = [r / total for r in res] if total else mb[u]
        keep = [ms[u][x] if x != a else F(0) for x in range(n)]
        ms[u] = [x / sum(keep) for x in keep] if sum(keep) else keep
        fixed[u] = total / (total + 1 - old) if total + 1 - old else F(0)


def enumerate_law(law_of, p, s, k, length):
    n = len(p)
    out = {}
    single = [(u, path_prob(p, s, u)) for u in strings(n, length)]
    for combo in itertools.product([x for x in single if x[1] > 0], repeat=k):
        w = math.prod((x[1] for x in combo), start=F(1))
        for b, m in law_of(tuple(x[0] for x in combo)).items():
            out[b] = out.get(b, F(0)) + w * m
    return out


def random_chain(rng, n, zeros=True):
    rows = []
    for _ in range(n):
        w = rng.integers(0 if zeros else 1, 4, size=n)
        if w.sum() == 0:
            w[rng.integers(n)] = 1
        rows.append([F(int(x), int(w.sum())) for x in w])
    return rows


CASES = [(name, k, length) for name in BLOCK_SCHEMES for k in (1, 2, 3) for length in (1, 2, 3)
         if not (name == "block_verification" and k > 1) and 2 ** (k * length) <= 512]


# ---------------------------------------------------------------------------------------- Lemma 2
@pytest.mark.parametrize("name,k,length", CASES)
def test_lemma2_exact_on_the_test_instance(name, k, length):
    law = enumerated_block_law(name, target=Q12, drafts=P12, start=0, k=k, length=length)
    ok, tau, c = lemma2(Q12, 0, length, law)
    assert ok
    r = BLOCK_SCHEMES[name](target=Q12, drafts=P12, start=0, k=k, length=length)
    assert r.value == tau                                # the table's τ is the enumerated law's E|Y|
    for d in range(1, length + 1):                       # the table equals the enumerated law's c
        assert [c[u] for u in strings(2, d)] == list(r.tables[0][d])
    assert r.trees[0].check_lossless(r.tables[0]).ok


def test_lemma2_exact_on_random_tiny_chains():
    rng = np.random.default_rng(17)
    ran = 0
    for _ in range(14):
        n = int(rng.integers(2, 4))
        q, p = random_chain(rng, n), random_chain(rng, n)
        k, length = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        if n ** (k * length) > 800:
            continue
        s = int(rng.integers(n))
        for name in BLOCK_SCHEMES:
            if name == "block_verification" and k > 1:
                continue
            law = enumerated_block_law(name, target=q, drafts=p, start=s, k=k, length=length)
            ok, tau, _ = lemma2(q, s, length, law)
            assert ok, (name, q, p, s, k, length)
            assert BLOCK_SCHEMES[name](target=q, drafts=p, start=s, k=k, length=length).value == tau
            ran += 1
    assert ran >= 15


@pytest.mark.parametrize("name", list(BLOCK_SCHEMES))
def test_equal_chains_accept_everything(name):
    q = [[F(1, 3), F(2, 3), F(0)], [F(1, 2), F(0), F(1, 2)], [F(1), F(0), F(0)]]
    k = 1 if name == "block_verification" else 2
    assert BLOCK_SCHEMES[name](target=q, drafts=q, start=1, k=k, length=2).value == 3


def test_disjoint_supports_accept_nothing():
    q = [[F(1), F(0)], [F(1), F(0)]]
    p = [[F(0), F(1)], [F(0), F(1)]]
    for name in BLOCK_SCHEMES:
        k = 1 if name == "block_verification" else 2
        r = BLOCK_SCHEMES[name](target=q, drafts=p, start=0, k=k, length=2)
        assert r.value == 1
        assert r.law_given_paths(((1, 1),) * k) == {(0,): 1}


# -------------------------------------------------------------------------------- the test-instance table
TABLE_STEPWISE = {(1, 1): "1.6", (1, 2): "1.84", (1, 3): "1.984", (2, 2): "2.552", (2, 3): "2.8784",
                  (3, 2): "3.103936", (3, 3): "3.598651392"}
TABLE_BV = {1: "1.6", 2: "2.12", 3: "2.568"}
TABLE_SPECINFER = {(1, 2): 1.76, (1, 3): 1.856, (2, 1): 2.04, (2, 2): 2.3568, (2, 3): 2.55648, (3, 1): 2.36,
                   (3, 2): 2.79984, (3, 3): 3.085285248}


@pytest.mark.parametrize("lk", sorted(TABLE_STEPWISE))
def test_stepwise_optimal_reproduces_the_table(lk):
    length, k = lk
    assert stepwise_optimal(target=Q12, drafts=P12, start=0, k=k, length=length).value == F(TABLE_STEPWISE[lk])
    r = lpspec.block_efficiency(target=QF, draft=PF, start=[1.0, 0.0], k=k, length=length, scheme="stepwise_optimal")
    assert r.value == pytest.approx(float(F(TABLE_STEPWISE[lk])), abs=1e-12)


@pytest.mark.parametrize("length", [1, 2, 3])
def test_block_verification_reproduces_the_table_and_the_closed_form(length):
    r = block_verification(target=Q12, drafts=P12, start=0, length=length)
    assert r.value == F(TABLE_BV[length]) == closed_form_bv(Q12, P12, 0, length)
    f = lpspec.block_efficiency(target=QF, draft=PF, start=[1.0, 0.0], k=1, length=length, scheme="block_verification")
    assert f.value == pytest.approx(float(F(TABLE_BV[length])), abs=1e-12)
    assert f.accepted_length.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("lk", sorted(TABLE_SPECINFER))
def test_token_level_trees_reproduce_the_specinfer_column(lk):
    length, k = lk
    r = lpspec.block_efficiency(target=QF, draft=PF, start=[1.0, 0.0], k=k, length=length, scheme="specinfer")
    assert r.value == pytest.approx(TABLE_SPECINFER[lk], abs=1e-12)
    if k == 1:
        sd = lpspec.block_efficiency(target=QF, draft=PF, start=[1.0, 0.0], k=1, length=length, scheme="single_draft")
        assert sd.value == pytest.approx(TABLE_SPECINFER[lk], abs=1e-12)


def test_sun_et_al_example():
    q = [[F(1, 3), F(2, 3)]] * 2
    p = [[F(2, 3), F(1, 3)]] * 2
    tau = block_verification(target=q, drafts=p, start=0, length=2).value
    assert tau - 1 == F(11, 9) == closed_form_bv(q, p, 0, 2) - 1
    assert stepwise_optimal(target=q, drafts=p, start=0, k=1, length=2).value - 1 == F(10, 9)  # token-wise
    ok, law_tau, _ = lemma2(q, 0, 2, enumerated_block_law("block_verification", target=q, drafts=p, start=0, k=1,
                                                          length=2))
    assert ok and law_tau == tau


def test_block_verification_closed_form_on_random_chains():
    rng = np.random.default_rng(3)
    for _ in range(6):
        n = int(rng.integers(2, 4))
        q, p = random_chain(rng, n), random_chain(rng, n)
        s, length = int(rng.integers(n)), int(rng.integers(1, 4))
        assert block_verification(target=q, drafts=p, start=s, length=length).value == closed_form_bv(q, p, s, length)


# ------------------------------------------------------------------------------------------ traversal
def test_traversal_matches_an_independent_implementation():
    rng = np.random.default_rng(5)
    cases = [(Q12, P12, 0, 2, 2), (Q12, P12, 1, 3, 2)]
    for _ in range(4):
        n = int(rng.integers(2, 4))
        cases.append((random_chain(rng, n), random_chain(rng, n), 0, 2, 2))
    for q, p, s, k, length in cases:
        r = traversal(target=q, drafts=p, start=s, k=k, length=length)
        ref = enumerate_law(lambda x: reference_traversal(q, p, s, x), p, s, k, length)
        ok, tau, _ = lemma2(q, s, length, ref)
        assert ok and r.value == tau
        for paths in itertools.islice(itertools.product(strings(len(q), length), repeat=k), 0, None, 3):
            if all(path_prob(p, s, u) > 0 for u in paths):
                assert r.law_given_paths(paths) == reference_traversal(q, p, s, paths)


def test_traversal_with_one_path_is_block_verification():
    rng = np.random.default_rng(11)
    for _ in range(4):
        n = int(rng.integers(2, 4))
        q, p = random_chain(rng, n), random_chain(rng, n)
        for u in strings(n, 2):
            if path_prob(p, 0, u) > 0:
                assert (block_law_given_paths("traversal", (u,), target=q, drafts=p, start=0, length=2)
                        == block_law_given_paths("block_verification", (u,), target=q, drafts=p, start=0, length=2))


# --------------------------------------------------------------------------------------- orderings
def test_orderings_between_schemes():
    rng = np.random.default_rng(8)
    for _ in range(5):
        n = int(rng.integers(2, 4))
        q = rng.dirichlet(np.ones(n), size=n)
        p = rng.dirichlet(np.ones(n), size=n)
        start = rng.dirichlet(np.ones(n))
        for length in (1, 2, 3):
            sd = lpspec.block_efficiency(target=q, draft=p, start=start, k=1, length=length, scheme="single_draft")
            bv = lpspec.block_efficiency(target=q, draft=p, start=start, k=1, length=length,
                                         scheme="block_verification")
            assert bv.value >= sd.value - 1e-12
            for k in (2, 3):
                best = lpspec.block_efficiency(target=q, draft=p, start=start, k=k, length=length,
                                               scheme="stepwise_optimal").value
                for other in ("specinfer", "optimal", "spectr"):
                    tree = lpspec.block_efficiency(target=q, draft=p, start=start, k=k, length=length, scheme=other)
                    assert best >= tree.value - 1e-9, (other, k, length)


def depth_by_depth_by_tuples(q, p, k, length):
    """V_0 of the best depth-by-depth tree with plans over full draft tuples (no symmetry), by HiGHS."""
    from scipy.optimize import linprog

    n = len(q)

    def value(d, c, j):
        if d == length:
            return 1.0
        tuples = list(itertools.product(range(n), repeat=j))
        w = [math.prod(p[c][x] for x in t) for t in tuples]
        cost = []
        for t in tuples:
            for y in range(n):
                m = t.count(y)
                cost.append(-w[tuples.index(t)] * value(d + 1, y, m) if m else 0.0)
        a_eq, b_eq = [], []
        for i in range(len(tuples)):
            a_eq.append([1.0 if v // n == i else 0.0 for v in range(len(cost))])
            b_eq.append(1.0)
        for y in range(n - 1):  # one marginal row is implied by the others
            a_eq.append([w[v // n] if v % n == y else 0.0 for v in range(len(cost))])
            b_eq.append(q[c][y])
        res = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert res.status == 0
        assert np.abs(np.asarray(a_eq) @ res.x - b_eq).max() < 1e-9
        return 1.0 - res.fun

    return value


def test_stepwise_optimal_equals_the_tuple_lp():
    rng = np.random.default_rng(21)
    for _ in range(3):
        q = rng.dirichlet(np.ones(2), size=2)
        p = rng.dirichlet(np.ones(2), size=2)
        for k, length in ((2, 2), (3, 2)):
            ref = depth_by_depth_by_tuples(q, p, k, length)(0, 1, k)
            got = stepwise_optimal(target=q, drafts=p, start=1, k=k, length=length).value
            assert got == pytest.approx(ref, abs=1e-9)


# ---------------------------------------------------------------------------------------- samplers
def draw_paths(rng, p, s, k, length):
    out = []
    for _ in range(k):
        ctx, path = s, []
        for _ in range(length):
            ctx = int(rng.choice(len(p), p=p[ctx]))
            path.append(ctx)
        out.append(tuple(path))
    return tuple(out)


@pytest.mark.parametrize("name,k", [("block_verification", 1), ("stepwise_optimal", 2), ("traversal", 2)])
def test_sampler_matches_the_exact_block_law(name, k):
    from scipy.stats import chi2

    q = [[F(1, 5), F(3, 5), F(1, 5)], [F(1, 2), F(1, 2), F(0)], [F(1, 3), F(1, 3), F(1, 3)]]
    p = [[F(3, 5), F(1, 5), F(1, 5)], [F(1, 5), F(3, 10), F(1, 2)], [F(0), F(1, 2), F(1, 2)]]
    length, n_draws = 2, 6000
    exact = enumerated_block_law(name, target=q, drafts=p, start=0, k=k, length=length)
    r = BLOCK_SCHEMES[name](target=[[float(x) for x in row] for row in q],
                            drafts=[[float(x) for x in row] for row in p], start=0, k=k, length=length)
    rng = np.random.default_rng(2026)
    pf = np.array([[float(x) for x in row] for row in p])
    counts = {}
    for _ in range(n_draws):
        b = r.sample(draw_paths(rng, pf, 0, k, length), rng)
        counts[b] = counts.get(b, 0) + 1
    assert set(counts) <= {b for b, m in exact.items() if m > 0}
    keys = [b for b, m in exact.items() if m > 0]
    stat = sum((counts.get(b, 0) - n_draws * float(exact[b])) ** 2 / (n_draws * float(exact[b])) for b in keys)
    assert stat < chi2.ppf(1 - 1e-6, len(keys) - 1)


# ------------------------------------------------------------------------------------------ plumbing
def test_start_law_is_an_expectation_and_tables_per_start():
    law = [F(1, 4), F(3, 4)]
    r = stepwise_optimal(target=Q12, drafts=P12, start=law, k=2, length=2)
    per = [stepwise_optimal(target=Q12, drafts=P12, start=s, k=2, length=2).value for s in (0, 1)]
    assert r.value == law[0] * per[0] + law[1] * per[1]
    tables = continuation_tables("traversal", target=Q12, drafts=P12, start=law, k=2, length=2)
    assert sorted(tables) == [0, 1]
    stationary = stepwise_optimal(target=Q12, drafts=P12, start=None, k=1, length=1)   # π = (5/13, 8/13)
    assert stationary.start == {0: F(5, 13), 1: F(8, 13)}


def test_block_efficiency_fields_for_sequence_schemes():
    r = lpspec.block_efficiency(target=QF, draft=PF, start=[1.0, 0.0], k=2, length=2, scheme="stepwise_optimal")
    assert r.scheme == "stepwise_optimal" and r.k == 2 and r.length == 2
    assert r.accepted_length.sum() == pytest.approx(1.0)
    assert r.token_acceptance == pytest.approx(0.84)      # the first step is the token-level optimum P*
    assert r.survivors.shape == (3, 2) and r.survivors[0].tolist() == [0.0, 1.0]
    assert r.survivors.sum(axis=1) == pytest.approx(1 + np.concatenate([[0], -np.cumsum(r.accepted_length)[:-1]]))
    t = lpspec.block_efficiency(target=QF, draft=PF, k=2, length=2, scheme="traversal")
    assert np.isnan(t.survivors).all() and 1 < t.value < 3


def test_lp_failures_are_errors_not_answers(monkeypatch):
    import scipy.optimize
    from types import SimpleNamespace

    real = scipy.optimize.linprog

    def failing(*args, **kwargs):
        return SimpleNamespace(status=2, message="declared infeasible")

    monkeypatch.setattr(scipy.optimize, "linprog", failing)
    with pytest.raises(ValueError, match="HiGHS did not solve"):
        stepwise_optimal(target=QF, drafts=PF, start=0, k=2, length=2)

    def off_by_a_little(*args, **kwargs):   # a primal a little above the optimum: the dual gap shows it
        res = real(*args, **kwargs)
        return SimpleNamespace(status=0, message="", x=res.x * 1.001, ineqlin=res.ineqlin)

    monkeypatch.setattr(scipy.optimize, "linprog", off_by_a_little)
    with pytest.raises(ValueError, match="residual check"):
        stepwise_optimal(target=QF, drafts=PF, start=0, k=2, length=2)


@pytest.mark.slow
def test_lemma2_exact_on_more_random_chains():
    rng = np.random.default_rng(99)
    for _ in range(40):
        n = int(rng.integers(2, 4))
        q, p = random_chain(rng, n), random_chain(rng, n)
        k, length = int(rng.integers(2, 4)), int(rng.integers(2, 4))
        if n ** (k * length) > 6000:
            continue
        for name in ("stepwise_optimal", "traversal"):
            ok, tau, _ = lemma2(q, 0, length, enumerated_block_law(name, target=q, drafts=p, start=0, k=k,
                                                                   length=length))
            assert ok, (name, q, p, k, length)


def test_bad_input():
    with pytest.raises(ValueError, match="k=2"):
        block_verification(target=Q12, drafts=P12, start=0, k=2, length=2)
    with pytest.raises(ValueError, match="start"):
        traversal(target=Q12, drafts=P12, start=2, k=1, length=1)
    with pytest.raises(ValueError, match="row 0"):
        stepwise_optimal(target=[[F(1, 2), F(1, 3)], [F(1, 2), F(1, 2)]], drafts=P12, start=0, k=1, length=1)
    with pytest.raises(ValueError, match="length"):
        stepwise_optimal(target=Q12, drafts=P12, start=0, k=1, length=0)
    with pytest.raises(ValueError, match="MAX_ENUMERATED_TUPLES"):
        traversal(target=np.full((8, 8), 1 / 8), drafts=np.full((8, 8), 1 / 8), start=0, k=3, length=3)
    with pytest.raises(ValueError, match="max_tuples"):
        enumerated_block_law("stepwise_optimal", target=Q12, drafts=P12, start=0, k=3, length=3, max_tuples=100)
    with pytest.raises(ValueError, match="scheme"):
        continuation_tables("nope", target=Q12, drafts=P12, start=0, k=1, length=1)
    r = block_verification(target=[[F(1, 2), F(1, 2)], [F(1), F(0)]], drafts=[[F(1, 2), F(1, 2)], [F(1), F(0)]],
                           start=0, length=2)
    with pytest.raises(ValueError, match="draft probability 0"):
        r.sample(((1, 1),), np.random.default_rng(0))
    with pytest.raises(ValueError, match="paths"):
        r.sample(((1,),), np.random.default_rng(0))
    with pytest.raises(ValueError, match="max_nodes"):
        stepwise_optimal(target=Q12, drafts=P12, start=0, k=1, length=3, max_nodes=10)
    assert bs.MAX_PLAN_ENTRIES > 0
