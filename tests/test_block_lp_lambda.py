"""P3 by cut generation over the slope λ (``block_optimum(method="p3-lambda")``, lpspec.sequence.lambda_cuts).

Independent sides: the published §12 table (exact rationals), the explicit LPs P1/P2 (other variables), the exact
Fraction method, brute-force antichain enumeration with an LP feasibility check of one λ-block (scipy), and a
flow built here whose antichain decomposition is re-summed node by node.
"""

from __future__ import annotations

import itertools
from fractions import Fraction as F

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from lpspec.sequence.antichain import g_conjugate, g_value
from lpspec.sequence.block_lp import _offsets, block_optimum
from lpspec.sequence.lambda_cuts import ancestors, flow_antichains, g_slope, lambda_block
from lpspec.sequence.tree import block_tree

QF = [[0.2, 0.8], [0.5, 0.5]]
PF = [[0.6, 0.4], [0.3, 0.7]]
#: MATH §12 test instance, start token 0: τ* for (L, K) (the same published table as tests/test_block_lp.py).
TABLE = {(1, 1): "1.6", (1, 2): "1.84", (1, 3): "1.984", (2, 1): "2.12", (2, 2): "2.5856", (2, 3): "2.894528",
         (3, 1): "2.568", (3, 2): "3.2252", (3, 3): "3.657347904"}


def _chain(rng, n, alpha=0.7, exact=False):
    m = rng.dirichlet(np.ones(n) * alpha, size=n)
    if exact:
        rows = []
        for r in m:
            fr = [F(int(x * 20) + 1) for x in r]
            rows.append([x / sum(fr) for x in fr])
        return rows
    return m


def _antichains(n, length):
    """Every antichain of the tree (root excluded, empty included) as a list of (depth, index)."""
    nodes = [(d, i) for d in range(1, length + 1) for i in range(n ** d)]

    def anc(a, b):  # a a strict ancestor of b
        return a[0] < b[0] and b[1] // n ** (b[0] - a[0]) == a[1]

    out = []
    for r in range(len(nodes) + 1):
        for V in itertools.combinations(nodes, r):
            if all(not anc(a, b) and not anc(b, a) for a, b in itertools.combinations(V, 2)):
                out.append(V)
            if len(out) > 20000:
                return out
    return out


def _closed_form_k1(q, p, s, L):
    """K = 1: ``τ = 1 + Σ_u min_i P(u_{<=i}) Q(u_{>i} | u_{<=i})`` over all strings ``u`` (Sun et al.)."""
    total = 1.0
    for d in range(1, L + 1):
        for u in itertools.product(range(len(q)), repeat=d):
            ctx = (s,) + u
            total += min(np.prod([p[ctx[j]][ctx[j + 1]] for j in range(i)]) *
                         np.prod([q[ctx[j]][ctx[j + 1]] for j in range(i, d)]) for i in range(d + 1))
    return total


@pytest.mark.parametrize("lk", sorted(TABLE))
def test_section12_table(lk):
    L, K = lk
    r = block_optimum(target=QF, drafts=PF, start=0, k=K, length=L, method="p3-lambda")
    assert r.method == "p3-lambda"
    assert abs(r.value - float(F(TABLE[lk]))) < 1e-9 and abs(r.upper_bound - r.value) < 1e-9
    r.check()


def test_agrees_with_p1_p2_and_exact_on_random_tiny_chains():
    rng = np.random.default_rng(117)
    for n, L, K in [(2, 1, 2), (2, 2, 2), (3, 1, 3), (2, 2, 3), (3, 2, 1), (2, 3, 2), (3, 2, 2), (2, 4, 1)]:
        q, p = _chain(rng, n), _chain(rng, n)
        s = int(rng.integers(n))
        new = block_optimum(target=q, drafts=p, start=s, k=K, length=L, method="p3-lambda").check()
        if K == 1:  # Sun et al.'s closed form: the references P1/P2 solve to their 1e-7 feasibility tolerance only
            assert abs(new.value - _closed_form_k1(q, p, s, L)) < 1e-10
        for m in ("p1", "p2"):
            if n ** (L * K) <= 4096 and (n, L, K) != (2, 4, 1):
                ref = block_optimum(target=q, drafts=p, start=s, k=K, length=L, method=m).value
                assert abs(new.value - ref) < 1e-8, (n, L, K, m, new.value, ref)
        qx, px = _chain(rng, n, exact=True), _chain(rng, n, exact=True)
        if sum(n ** d for d in range(L + 1)) <= 63:
            ex = block_optimum(target=qx, drafts=px, start=0, k=K, length=L)
            assert ex.method == "exact"
            fl = block_optimum(target=[[float(x) for x in r] for r in qx], drafts=[[float(x) for x in r] for r in px],
                               start=0, k=K, length=L, method="p3-lambda").check()
            assert abs(fl.value - float(ex.value)) < 1e-9 and abs(fl.upper_bound - float(ex.value)) < 1e-9


def test_skewed_chains_and_start_law():
    # near-deterministic rows (masses 1/1000 beside 0.99: many ties of the tree DP), a start law averaged over
    # tokens; the reference is P3 with EVERY antichain row written out (brute-force enumeration, one scipy LP):
    # the references P1/P2 and the antichain cut generation behind method="exact" can stall on such chains
    rng = np.random.default_rng(4)
    for n, L, K in [(3, 2, 2), (2, 3, 3), (2, 3, 2), (3, 2, 4), (2, 2, 4)]:
        def skewed():
            rows = []
            for _ in range(n):
                w = [F(int(x)) for x in rng.choice([1, 2, 60, 900], size=n)]
                rows.append([x / sum(w) for x in w])
            return rows
        qx, px = skewed(), skewed()
        wl = [F(int(x)) for x in rng.integers(1, 5, size=n)]
        law = [x / sum(wl) for x in wl]
        qf, pf = [[float(x) for x in r] for r in qx], [[float(x) for x in r] for r in px]
        ref = sum(float(law[s0]) * _full_p3(qf, pf, s0, K, L) for s0 in range(n))
        fl = block_optimum(target=qf, drafts=pf, start=[float(x) for x in law], k=K, length=L,
                           method="p3-lambda").check()
        assert abs(fl.value - ref) < 5e-8, (n, L, K, fl.value, ref)


def _full_p3(q, p, s, K, L):
    """τ* from P3 with all antichain rows (enumerated) and the Lemma-2 rows, one LP (tiny trees)."""
    tree = block_tree(target=q, drafts=p, start=s, length=L)
    nodes = [(d, i) for d in range(1, L + 1) for i in range(len(q) ** d)]
    col = {u: j for j, u in enumerate(nodes)}
    A, b = [], []
    for d, i in nodes:  # c(ua) - q(a | u) c(u) <= [d == 1] q(a | s)
        row = np.zeros(len(nodes))
        row[col[(d, i)]] = 1.0
        qa = q[s if d == 1 else (i // len(q)) % len(q)][i % len(q)]
        if d > 1:
            row[col[(d - 1, i // len(q))]] = -qa
        A.append(row), b.append(qa if d == 1 else 0.0)
    for V in _antichains(len(q), L):
        if V:
            row = np.zeros(len(nodes))
            for u in V:
                row[col[u]] = 1.0
            A.append(row), b.append(g_value(sum(float(tree.P[d][i]) for d, i in V), K))
    res = linprog(-np.ones(len(nodes)), A_ub=np.array(A), b_ub=b, bounds=(0, None), method="highs")
    assert res.status == 0
    return 1 - res.fun


def test_unrestricted_blocks_agree():
    from lpspec.sequence.block_lp import _solve_p3_lambda

    tree = block_tree(target=QF, drafts=PF, start=1, length=3)
    a = _solve_p3_lambda(tree, 3, restrict="siblings")
    c = _solve_p3_lambda(tree, 3, restrict="path")
    b = _solve_p3_lambda(tree, 3, restrict=None, slopes_per_round=1)
    ref = block_optimum(target=QF, drafts=PF, start=1, k=3, length=3, method="p2").value
    assert max(abs(tree.tau(x[0]) - ref) for x in (a, b, c)) < 1e-9


def test_one_block_is_every_antichain_row_at_its_slope():
    """The λ-block with ``c`` fixed is feasible in ``h`` iff ``max_V c(V) - λ P(V) <= g*(λ)`` (brute force over
    antichains); a restricted block iff the same holds over the antichains inside its sub-forest."""
    rng = np.random.default_rng(8)
    n, L, K = 2, 3, 3
    q, p = _chain(rng, n), _chain(rng, n)
    tree = block_tree(target=q, drafts=p, start=0, length=L)
    P = [np.asarray(x, dtype=float) for x in tree.P]
    off = _offsets(n, L)
    nv = off[-1]
    all_v = _antichains(n, L)
    for trial in range(18):
        c = [np.ones(1)] + [P[d] * rng.uniform(0.2, 1.6, size=n ** d) for d in range(1, L + 1)]
        lam = float(rng.uniform(0, K))
        V = (np.zeros(0, int), np.zeros(0, int), np.array([0]), np.array([7]))
        keep = [None, ancestors(V, n), ancestors(V, n, siblings=False)][trial % 3]
        up, st, ix, va, S, B = lambda_block(P, lam, K, off, nv, keep)
        inside = set((d, int(i)) for d in range(1, L + 1) for i in S[d])
        brute = max(sum(c[d][i] - lam * P[d][i] for d, i in V) for V in all_v if set(V) <= inside)
        nh = sum(len(S[d]) for d in range(1, L + 1))
        A = csr_matrix((va, ix, np.r_[st, len(ix)]), shape=(len(up), nv + nh))
        fixed = np.concatenate([c[d] for d in range(1, L + 1)])
        res = linprog(np.zeros(nh), A_ub=A[:, nv:], b_ub=up - A[:, :nv] @ fixed, bounds=(0, None), method="highs")
        feasible = res.status == 0
        margin = brute - g_conjugate(lam, K)
        if abs(margin) > 1e-9:
            assert feasible == (margin < 0), (trial, margin, res.status)


def test_flow_decomposes_into_antichains():
    """A random flow on a tree (inflow split into stop α and pass-down β) is re-summed from its antichains:
    every set is an antichain, ``Σ_{V ∋ u} z_V = α(u)`` and ``Σ z_V = w`` minus the flow that dies."""
    rng = np.random.default_rng(3)
    n, L = 3, 3
    for trial in range(5):
        w = float(rng.uniform(0.5, 2.0))
        alpha, beta = [None], [None]
        inflow = np.full(n, w)
        for d in range(1, L + 1):
            split = rng.uniform(size=n ** d) * (rng.uniform(size=n ** d) > 0.3)
            b = inflow * split if d < L else np.zeros(n ** d)
            a = (inflow - b) * rng.choice([1.0, 0.5, 0.0], size=n ** d)
            alpha.append(a)
            beta.append(b)
            inflow = np.repeat(b, n)
        cuts, z = flow_antichains(alpha, beta, w, n)
        assert all(x > 0 for x in z)
        total = [None] + [np.zeros(n ** d) for d in range(1, L + 1)]
        for V, zv in zip(cuts, z):
            members = [(d, int(i)) for d in range(1, L + 1) for i in V[d]]
            for (d1, i1), (d2, i2) in itertools.combinations(members, 2):
                lo, hi = ((d1, i1), (d2, i2)) if d1 <= d2 else ((d2, i2), (d1, i1))
                assert not (lo[0] < hi[0] and hi[1] // n ** (hi[0] - lo[0]) == lo[1])  # no ancestor pairs
            for d, i in members:
                total[d][i] += zv
        for d in range(1, L + 1):
            np.testing.assert_allclose(total[d], alpha[d], atol=1e-12)


def test_slope_and_tangent():
    # g'(x) by a central difference, and the tangent at g'(x) touches g at x: g(x) = g'(x) x + g*(g'(x))
    for k in (1, 2, 4):
        for x in (0.0, 0.3, 0.9):
            lam = float(g_slope(x, k))
            if 0 < x < 1:
                num = (g_value(x + 1e-6, k) - g_value(x - 1e-6, k)) / 2e-6
                assert abs(lam - num) < 1e-6
            assert abs(g_value(x, k) - (lam * x + g_conjugate(lam, k))) < 1e-12


def test_certificate_is_checked_and_methods_named():
    from lpspec.core.results import CheckFailed
    from lpspec.sequence.block_lp import block_bounds

    r = block_optimum(target=QF, drafts=PF, start=0, k=3, length=3)
    assert r.method == "p3-lambda"  # the float default
    s = r.per_start[0]
    assert s.antichains and all(z > 0 for z in s.multipliers)
    old = block_optimum(target=QF, drafts=PF, start=0, k=3, length=3, method="p3-antichain").check()
    assert old.method == "p3" and abs(old.value - r.value) < 1e-9
    s.multipliers = [0.0] * len(s.multipliers)  # a certificate without its antichain part bounds nothing
    with pytest.raises(CheckFailed, match="dual bound"):
        r.check()
    b = block_bounds(target=QF, drafts=PF, start=0, k=3, length=3, method="p3-lambda")
    assert b.converged and abs(b.upper - float(F(TABLE[(3, 3)]))) < 1e-9 and b.lower <= b.upper + 1e-9
    with pytest.raises(ValueError, match="method="):
        block_bounds(target=QF, drafts=PF, start=0, k=3, length=3, method="p9")


def test_bounds_bracket_when_stopped_early():
    # a time limit far below one round: the interval is still certified (lower feasible, upper weak duality)
    rng = np.random.default_rng(6)
    q, p = _chain(rng, 4), _chain(rng, 4)
    from lpspec.sequence.block_lp import block_bounds

    exact = block_optimum(target=q, drafts=p, start=0, k=3, length=3).check().value
    b = block_bounds(target=q, drafts=p, start=0, k=3, length=3, method="p3-lambda", time_limit=0.0)
    assert b.lower - 1e-9 <= exact <= b.upper + 1e-9
