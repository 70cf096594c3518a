"""The block LP (docs/theory.md §14, "The sequence-level optimum"): τ*, its certificate, the references P1/P2, the
special cases, sequence-level Theorem 1, the non-greedy fact, the sampler and hostile input.

Independent sides: the published §12 table (exact rationals), the explicit LPs P1/P2 (other variables), the
token-level min cut (``_reference.identical_min_cut`` over all subsets), the K = 1 closed form computed here
by enumerating strings, an LP over selection laws ``p̃ ∈ B_K`` (all path sets), brute-force antichain
enumeration, and Monte Carlo with an interval.
"""

from __future__ import annotations

import itertools
import math
import time
from fractions import Fraction as F

import _reference as R
import numpy as np
import pytest

import lpspec
from lpspec.core.results import CheckFailed
from lpspec.sequence import block_lp
from lpspec.sequence.antichain import g_value, separate
from lpspec.sequence.block_lp import block_bounds, block_optimum, block_upper_bound
from lpspec.sequence.tree import block_tree

Q = [[F(1, 5), F(4, 5)], [F(1, 2), F(1, 2)]]
P = [[F(3, 5), F(2, 5)], [F(3, 10), F(7, 10)]]
QF = [[0.2, 0.8], [0.5, 0.5]]
PF = [[0.6, 0.4], [0.3, 0.7]]

#: MATH §12 test instance, start token 0: τ* for (L, K).
TABLE = {(1, 1): "1.6", (1, 2): "1.84", (1, 3): "1.984", (2, 1): "2.12", (2, 2): "2.5856", (2, 3): "2.894528",
         (3, 1): "2.568", (3, 2): "3.2252", (3, 3): "3.657347904"}


def random_chain(rng, n, exact=False):
    m = rng.dirichlet(np.ones(n) * 0.7, size=n)
    if exact:
        rows = []
        for r in m:
            fr = [F(int(x * 20) + 1, 1) for x in r]
            s = sum(fr)
            rows.append([x / s for x in fr])
        return rows
    return m


@pytest.mark.parametrize("lk", sorted(TABLE))
def test_section12_table_exact(lk):
    L, K = lk
    r = block_optimum(target=Q, drafts=P, start=0, k=K, length=L)
    assert r.method == "exact" and isinstance(r.value, F)
    assert r.value == F(TABLE[lk]) and r.upper_bound == r.value
    r.check()
    f = block_optimum(target=QF, drafts=PF, start=0, k=K, length=L, method="p3")
    assert abs(f.value - float(F(TABLE[lk]))) < 1e-9 and abs(f.upper_bound - f.value) < 1e-9
    f.check()


def test_sun_et_al_example():
    # p = (2/3, 1/3), q = (1/3, 2/3) i.i.d. per step, L = 2: 11/9 accepted tokens by block verification (= τ* - 1)
    q = [[F(1, 3), F(2, 3)]] * 2
    p = [[F(2, 3), F(1, 3)]] * 2
    r = block_optimum(target=q, drafts=p, start=0, k=1, length=2)
    assert r.value - 1 == F(11, 9)


def test_p1_p2_p3_agree_on_random_tiny_chains():
    rng = np.random.default_rng(17)
    for n, L, K in [(2, 1, 2), (2, 2, 2), (3, 1, 2), (2, 2, 3), (3, 2, 1), (2, 3, 2)]:
        q, p = random_chain(rng, n), random_chain(rng, n)
        s = int(rng.integers(n))
        vals = [block_optimum(target=q, drafts=p, start=s, k=K, length=L, method=m).value for m in ("p1", "p2", "p3")]
        assert max(vals) - min(vals) < 1e-8, (n, L, K, vals)


def test_zero_entries_and_disjoint_supports():
    # draft never proposes token 1 after 0, target never emits 0 after 1: zero path masses everywhere
    q = [[F(1, 2), F(1, 2)], [F(0), F(1)]]
    p = [[F(1), F(0)], [F(1, 4), F(3, 4)]]
    for L, K in [(2, 2), (3, 2), (2, 3)]:
        ex = block_optimum(target=q, drafts=p, start=0, k=K, length=L)
        ex.check()
        ref = block_optimum(target=[[float(x) for x in r] for r in q], drafts=[[float(x) for x in r] for r in p],
                            start=0, k=K, length=L, method="p2")
        assert abs(float(ex.value) - ref.value) < 1e-9
    # disjoint supports: nothing can be accepted, τ* = 1 exactly
    r = block_optimum(target=[[F(1), F(0)], [F(1), F(0)]], drafts=[[F(0), F(1)], [F(0), F(1)]], start=0, k=3,
                      length=3)
    assert r.value == 1 and r.upper_bound == 1


def test_length_one_is_one_plus_token_optimum():
    rng = np.random.default_rng(3)
    for n, K in [(2, 2), (3, 3), (4, 2), (5, 4)]:
        q, p = random_chain(rng, n), random_chain(rng, n)
        r = block_optimum(target=q, drafts=p, start=1, k=K, length=1)
        tok = lpspec.optimal_acceptance(target=q[1], drafts=p[1], k=K).value
        brute = R.identical_min_cut(list(q[1]), list(p[1]), K)
        assert abs(r.value - 1 - tok) < 1e-9 and abs(r.value - 1 - brute) < 1e-9
    qx, px = random_chain(rng, 3, exact=True), random_chain(rng, 3, exact=True)
    r = block_optimum(target=qx, drafts=px, start=2, k=3, length=1)
    assert r.value == 1 + R.identical_min_cut(qx[2], px[2], 3)


def _closed_form_k1(q, p, s, L):
    """``τ = 1 + Σ_u min_i P(u_{<=i}) Q(u_{>i} | u_{<=i})`` by enumerating strings (Sun et al.'s optimum)."""
    total = 1
    for d in range(1, L + 1):
        for u in itertools.product(range(len(q)), repeat=d):
            ctx = (s,) + u
            Pp = [math.prod([p[ctx[j]][ctx[j + 1]] for j in range(i)], start=F(1) if isinstance(q[0][0], F) else 1.0)
                  for i in range(d + 1)]
            Qr = [math.prod([q[ctx[j]][ctx[j + 1]] for j in range(i, d)], start=F(1) if isinstance(q[0][0], F) else 1.0)
                  for i in range(d + 1)]
            total += min(Pp[i] * Qr[i] for i in range(d + 1))
    return total


def test_k_one_is_the_closed_form():
    rng = np.random.default_rng(5)
    for n, L in [(2, 3), (3, 2), (4, 2)]:
        q, p = random_chain(rng, n), random_chain(rng, n)
        r = block_optimum(target=q, drafts=p, start=0, k=1, length=L)
        assert abs(r.value - _closed_form_k1(q, p, 0, L)) < 1e-9
        assert abs(block_upper_bound(target=q, drafts=p, start=0, k=1, length=L) - r.value) < 1e-9
    qx, px = random_chain(rng, 2, exact=True), random_chain(rng, 2, exact=True)
    assert block_optimum(target=qx, drafts=px, start=1, k=1, length=3).value == _closed_form_k1(qx, px, 1, 3)


def _selection_lp(q, p, s, L, K):
    """``max_{p̃ ∈ B_K} BV(p̃; q)`` as an LP over path laws ``p̃`` (all ``2^{n^L}`` path sets) and
    ``c(u) <= p̃(paths through u_{<=i}) Q(u_{>i} | u_{<=i})`` for every ``i``: sequence-level Theorem 1."""
    from scipy.optimize import linprog

    n = len(q)
    paths = list(itertools.product(range(n), repeat=L))
    npath = len(paths)
    Pp = [math.prod(p[((s,) + x)[j]][x[j]] for j in range(L)) for x in paths]
    nodes = [u for d in range(1, L + 1) for u in itertools.product(range(n), repeat=d)]
    nv = npath + len(nodes)
    A, b = [], []
    for mask in range(1, 1 << npath):
        row = np.zeros(nv)
        sel = [j for j in range(npath) if mask >> j & 1]
        row[sel] = 1
        A.append(row)
        b.append(1 - (1 - sum(Pp[j] for j in sel)) ** K)
    for t, u in enumerate(nodes):
        ctx = (s,) + u
        for i in range(len(u) + 1):
            row = np.zeros(nv)
            row[npath + t] = 1
            through = [j for j, x in enumerate(paths) if x[:i] == u[:i]]
            qr = math.prod(q[ctx[j]][ctx[j + 1]] for j in range(i, len(u)))
            row[through] -= qr
            A.append(row)
            b.append(0.0)
    row = np.zeros(nv)
    row[:npath] = 1
    A.append(row)
    b.append(1.0)
    cost = np.concatenate([np.zeros(npath), -np.ones(len(nodes))])
    res = linprog(cost, A_ub=np.array(A), b_ub=b, bounds=(0, None), method="highs")
    assert res.status == 0
    return 1 - res.fun


def test_sequence_level_theorem1():
    rng = np.random.default_rng(11)
    cases = [(QF, PF, 0, 2, 2), (QF, PF, 0, 2, 3), (QF, PF, 1, 3, 2)]
    cases += [(random_chain(rng, 2), random_chain(rng, 2), 0, 2, 2), (random_chain(rng, 3), random_chain(rng, 3), 2, 1, 2)]
    for q, p, s, L, K in cases:
        r = block_optimum(target=q, drafts=p, start=s, k=K, length=L)
        assert abs(r.value - _selection_lp(np.asarray(q), np.asarray(p), s, L, K)) < 1e-8


def _forced_first_token(q, p, L, K):
    tree = block_tree(target=q, drafts=p, start=0, length=L)
    pstar = lpspec.optimal_acceptance(target=q[0], drafts=p[0], k=K).value
    extra = [(list(range(len(q))), [1.0] * len(q), pstar - 1e-12, np.inf)]
    c = block_lp._solve_p3(tree, K, extra=extra)[0]
    return tree.tau(c)


def test_the_optimum_is_not_greedy_by_depth():
    free = block_optimum(target=QF, drafts=PF, start=0, k=3, length=4).value
    forced = _forced_first_token(np.array(QF), np.array(PF), 4, 3)
    assert free - forced == pytest.approx(2.24e-3, abs=5e-6)
    # K = 2, L <= 4: the optimum already accepts P* = 0.84 first, so forcing costs nothing
    free2 = block_optimum(target=QF, drafts=PF, start=0, k=2, length=4).value
    assert abs(free2 - _forced_first_token(np.array(QF), np.array(PF), 4, 2)) < 1e-9


def _all_antichains(n, L):
    """Every antichain of the depth-L tree (root excluded), as lists of (depth, index): brute force."""
    def below(d, i):  # antichains inside the subtree of node (d, i), the node itself allowed
        if d == L:
            return [[], [(d, i)]]
        kids = [below(d + 1, i * n + a) for a in range(n)]
        out = [[(d, i)]]
        for combo in itertools.product(*kids):
            out.append([x for part in combo for x in part])
        return out

    tops = [below(1, a) for a in range(n)]
    return [[x for part in combo for x in part] for combo in itertools.product(*tops)]


def test_exact_oracle_matches_brute_force_antichains():
    rng = np.random.default_rng(2)
    for n, L, K in [(2, 2, 2), (2, 3, 3), (3, 2, 2), (2, 3, 1)]:
        qx, px = random_chain(rng, n, exact=True), random_chain(rng, n, exact=True)
        tree = block_tree(target=qx, drafts=px, start=0, length=L)
        for trial in range(3):
            # a random Lemma-2 table with ties (coarse values) and some mass above the rows
            c = [np.array([F(1)], dtype=object)]
            for d in range(1, L + 1):
                cap = (c[d - 1][:, None] * tree.target_next(d - 1)).reshape(-1)
                c.append(np.array([x * F(int(rng.integers(0, 5)), 4) for x in cap], dtype=object))
            brute = max(sum((c[d][i] for d, i in V), F(0)) - g_value(sum((tree.P[d][i] for d, i in V), F(0)), K)
                        for V in _all_antichains(n, L))
            best, found = separate(c, tree.P, K)
            assert best == max(brute, 0) and found[0].violation == best
            fbest, _ = separate([np.asarray(x, dtype=float) for x in c], [np.asarray(x, dtype=float) for x in tree.P], K)
            assert abs(fbest - float(max(brute, 0))) < 1e-12


def test_dual_certificate_and_check_catch_tampering():
    r = block_optimum(target=QF, drafts=PF, start=0, k=3, length=3)
    s = r.per_start[0]
    assert s.antichains and all(z > 0 for z in s.multipliers)
    assert abs(r.upper_bound - r.value) < 1e-9
    bad = block_optimum(target=QF, drafts=PF, start=0, k=3, length=3)
    bad.per_start[0].c[2][0] += 0.05  # breaks Lemma 2 / an antichain row
    with pytest.raises(CheckFailed):
        bad.check()
    weak = block_optimum(target=QF, drafts=PF, start=0, k=3, length=3)
    weak.per_start[0].multipliers = [0.0] * len(weak.per_start[0].multipliers)
    with pytest.raises(CheckFailed, match="dual bound"):
        weak.check()
    ex = block_optimum(target=Q, drafts=P, start=0, k=2, length=3)
    ex.per_start[0].box_duals[1][0] += F(1, 10**6)  # exact: any change of the certificate shows
    with pytest.raises(CheckFailed):
        ex.check()


def test_start_law_is_the_expectation():
    r = block_optimum(target=Q, drafts=P, k=2, length=2)  # stationary law of q: (5/13, 8/13)
    assert r.start_law == {0: F(5, 13), 1: F(8, 13)}
    each = [block_optimum(target=Q, drafts=P, start=s, k=2, length=2).value for s in (0, 1)]
    assert r.value == F(5, 13) * each[0] + F(8, 13) * each[1]
    f = block_optimum(target=QF, drafts=PF, start=[0.25, 0.75], k=2, length=2)
    assert abs(f.value - (0.25 * float(each[0]) + 0.75 * float(each[1]))) < 1e-9
    r.check()


def test_sampler_matches_the_block_law():
    L, K = 2, 2
    r = block_optimum(target=QF, drafts=PF, start=0, k=K, length=L, method="p3")
    rng = np.random.default_rng(0)
    p = np.array(PF)
    counts, N = {}, 6000
    for _ in range(N):
        paths = []
        for _k in range(K):
            x, last = [], 0
            for _d in range(L):
                last = int(rng.choice(2, p=p[last]))
                x.append(last)
            paths.append(tuple(x))
        blk = r.sample(tuple(paths), rng)
        assert blk[:-1] in [x[:len(blk) - 1] for x in paths]  # an accepted prefix of a draft path
        counts[blk] = counts.get(blk, 0) + 1
    mu = r.block_law[0]
    tree = block_tree(target=QF, drafts=PF, start=0, length=L)
    for d in range(1, L + 2):
        for i, m in enumerate(mu[d]):
            est = counts.get(tree.string(d, i), 0) / N
            assert abs(est - m) <= 5 * math.sqrt(max(m * (1 - m), 1e-4) / N), (tree.string(d, i), est, m)
    tau_mc = sum(len(b) * v for b, v in counts.items()) / N
    assert abs(tau_mc - r.value) < 5 * 1.0 / math.sqrt(N)


def test_markov_pair_input_and_no_truncated_answer():
    pair = lpspec.MarkovPair.from_arrays(target=QF, draft=PF, start=[1.0, 0.0])
    assert abs(block_optimum(target=pair, k=3, length=3).value - 3.657347904) < 1e-9
    # one round of cut generation is not the optimum here: a time limit refuses, it never truncates
    with pytest.raises(lpspec.LPSolveError, match="block_bounds"):
        block_optimum(target=QF, drafts=PF, start=0, k=3, length=4, time_limit=0.0)


def test_bounds_bracket_tau_star():
    exact = block_optimum(target=QF, drafts=PF, start=0, k=3, length=4).value
    b = block_bounds(target=QF, drafts=PF, start=0, k=3, length=4, time_limit=0.0)  # one round: a relaxation
    assert b.lower <= exact + 1e-12 and exact <= b.upper + 1e-12
    assert block_upper_bound(target=QF, drafts=PF, start=0, k=3, length=4) >= exact - 1e-12
    full = block_bounds(target=QF, drafts=PF, start=0, k=3, length=4, time_limit=60.0)
    assert full.converged and abs(full.lower - exact) < 1e-8 and abs(full.upper - exact) < 1e-8


def test_hostile_input():
    with pytest.raises(ValueError, match="outside the chain"):
        block_optimum(target=QF, drafts=PF, start=2, k=2, length=2)
    big = np.full((50, 50), 1 / 50)
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"6,377,551 nodes.*block_upper_bound"):
        block_optimum(target=big, drafts=big, start=0, k=2, length=4)
    with pytest.raises(ValueError, match=r"n\^\(LK\).*method='p3' scales"):
        block_optimum(target=big, drafts=big, start=0, k=2, length=2, method="p2")
    with pytest.raises(ValueError, match=r"MAX_EXACT_NODES.*method='p3'"):
        block_optimum(target=[[F(1, 2)] * 2] * 2, drafts=[[F(1, 2)] * 2] * 2, start=0, k=2, length=6,
                      method="exact")
    assert time.perf_counter() - t < 2.0  # refused before any work
    with pytest.raises(ValueError, match="sums to"):
        block_optimum(target=[[F(1, 2), F(1, 3)], [F(1, 2), F(1, 2)]], drafts=P, start=0, k=1, length=1)
    with pytest.raises(ValueError, match="negative"):
        block_optimum(target=[[F(3, 2), F(-1, 2)], [F(1, 2), F(1, 2)]], drafts=P, start=0, k=1, length=1)
    with pytest.raises(ValueError, match="negative"):
        block_optimum(target=[[1.5, -0.5], [0.5, 0.5]], drafts=PF, start=0, k=1, length=1)
    with pytest.raises(ValueError, match="needs exact chains"):
        block_optimum(target=QF, drafts=PF, start=0, k=1, length=1, method="exact")
    with pytest.raises(ValueError, match="method="):
        block_optimum(target=QF, drafts=PF, start=0, k=1, length=1, method="p4")
    with pytest.raises(ValueError, match="k=0"):
        block_optimum(target=QF, drafts=PF, start=0, k=0, length=1)
    r = block_optimum(target=QF, drafts=PF, start=0, k=2, length=2)
    with pytest.raises(ValueError, match="paths must be"):
        r.sample(((0, 1), (0, 5)), 0)
    wide = block_optimum(target=np.full((5, 5), 0.2), drafts=np.full((5, 5), 0.2), start=0, k=3, length=2)
    with pytest.raises(ValueError, match="tiny trees only"):
        wide.sample(((0, 1),) * 3, 0)


@pytest.mark.slow
def test_p1_p2_p3_agree_more():
    rng = np.random.default_rng(99)
    for _ in range(20):
        n, L, K = int(rng.integers(2, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
        q, p = random_chain(rng, n), random_chain(rng, n)
        v = [block_optimum(target=q, drafts=p, start=0, k=K, length=L, method=m).value for m in ("p2", "p3")]
        assert abs(v[0] - v[1]) < 1e-8
