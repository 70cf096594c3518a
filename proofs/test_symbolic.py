"""Symbolic proofs with sympy of the algebraic steps behind docs/theory.md §3–§5 and §7.

Each test proves an identity or an inequality in symbolic form (a polynomial identity, or an expression
shown to be a combination with non-negative coefficients of quantities that are non-negative by hypothesis).
Where a statement needs a case split (``min``, ``(·)^+``), every case is enumerated; where a finite size is
fixed (``n = 3``, ``K <= 3``), the test says so. ``proofs/README.md`` lists what each test establishes.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
import sympy as sp
from _grid import simplex_grid

from lpspec.schemes import SpecInfer, SpecTr

R = sp.Rational


def _nonneg_linear(expr, variables):
    """True when ``expr`` is a polynomial in ``variables`` with every coefficient (constant included) >= 0."""
    poly = sp.Poly(sp.expand(expr), *variables)
    return all(c >= 0 for c in poly.coeffs()) if not poly.is_zero else True


# ------------------------------------------------------------------------------ Theorem 3 and the remark
def test_theorem3_two_forms_are_equal():
    """q(S) + p(S^c)^2 + 2 p(S) p(S^c) == q(S) + 1 - p(S)^2 when p(S^c) = 1 - p(S)."""
    qS, pS = sp.symbols("q_S p_S")
    pSc = 1 - pS
    assert sp.expand(qS + pSc**2 + 2 * pS * pSc - (qS + 1 - pS**2)) == 0


@pytest.mark.parametrize("K", range(1, 9))
def test_k_draft_form_is_probability_some_draft_leaves_s(K):
    """Remark, K drafts: Σ_{j=1..K} C(K, j) p(S)^{K-j} p(S^c)^j (at least one of K i.i.d. drafts outside S)
    == 1 - p(S)^K; for K = 2 this is Theorem 3's p(S^c)^2 + 2 p(S) p(S^c)."""
    pS = sp.Symbol("p_S")
    pSc = 1 - pS
    outside = sum(sp.binomial(K, j) * pS ** (K - j) * pSc**j for j in range(1, K + 1))
    assert sp.expand(outside - (1 - pS**K)) == 0


@pytest.mark.parametrize("K", [2, 3])
def test_containment_of_iid_drafts_is_a_power(K):
    """Pr(set(X) ⊆ S) = Σ_{x ∈ S^K} Π_k p(x_k) == p(S)^K for every S ⊆ Ω, n = 3, symbolic p."""
    p = sp.symbols("p0:3")
    for size in range(4):
        for S in itertools.combinations(range(3), size):
            by_tuples = sum((sp.Mul(*(p[t] for t in x)) for x in itertools.product(S, repeat=K)), sp.S.Zero)
            assert sp.expand(by_tuples - sum((p[t] for t in S), sp.S.Zero) ** K) == 0


# ------------------------------------------------------------------------------ the cut bound (Theorem 2, necessity)
@pytest.mark.parametrize("K", [1, 2, 3])
def test_cut_bound_slack_is_a_nonnegative_combination(K):
    """For every exact scheme and every S: P(acc) <= q(S) + 1 - Pr(set(X) ⊆ S)  (docs/theory.md §3).

    Joint variables w(x, y) = P(x) π(y|x) >= 0 (n = 3, all 3^K tuples, any joint law P); the two exactness
    constraints define P(x) = Σ_y w(x, y) and q(y) = Σ_x w(x, y), and 1 - Pr(set(X) ⊆ S) = Σ_{set(x) ⊄ S} P(x)
    because Σ_x P(x) = 1. The slack cut(S) - P(acc) is then shown to be a combination of the w's with
    coefficients in {0, 1, 2}: non-negative, for all 8 sets S.
    """
    n = 3
    tuples = list(itertools.product(range(n), repeat=K))
    w = {(x, y): sp.Symbol(f"w_{''.join(map(str, x))}_{y}", nonnegative=True) for x in tuples for y in range(n)}
    P = {x: sum(w[x, y] for y in range(n)) for x in tuples}
    q = {y: sum(w[x, y] for x in tuples) for y in range(n)}
    acceptance = sum(w[x, y] for x in tuples for y in set(x))
    for size in range(n + 1):
        for S in itertools.combinations(range(n), size):
            cut = sum((q[y] for y in S), sp.S.Zero) + sum((P[x] for x in tuples if not set(x) <= set(S)), sp.S.Zero)
            slack = sp.Poly(sp.expand(cut - acceptance), *w.values())
            assert set(slack.coeffs()) <= {1, 2}, (S, slack)


def test_theorem2_necessity_chain():
    """Theorem 2, 'only if' (K = 2 identical drafts): P* = 1  ⟹  q(S) >= p(S)^2 for every S.

    Chain: 1 = P(acc) <= q(S) + 1 - Pr(set(X) ⊆ S)   [cut bound, test above]
                       = q(S) + 1 - p(S)^2             [i.i.d. drafts, test above]
    and the last inequality, 1 <= q(S) + 1 - p(S)^2, is q(S) - p(S)^2 >= 0. Here: the rearrangement, and
    its converse reading — a set with q(S) < p(S)^2 caps every scheme strictly below 1.
    """
    qS, pS = sp.symbols("q_S p_S", nonnegative=True)
    bound = qS + 1 - pS**2
    assert sp.expand((bound - 1) - (qS - pS**2)) == 0
    # with the gap g = p(S)^2 - q(S) > 0 the bound is 1 - g < 1
    g = sp.Symbol("g", positive=True)
    assert sp.simplify(bound.subs(qS, pS**2 - g) - (1 - g)) == 0
    assert (1 - g - 1).is_negative


# ------------------------------------------------------------------------------ docs/theory.md §7: uniform p, n = 3
def test_uniform_n3_closed_form_by_case_split():
    """p = (1/3, 1/3, 1/3), K = 2: P* = min_S q(S) + 1 - (|S|/3)^2 == min(1, 8/9 + min q, 14/9 - max q).

    WLOG q_1 <= q_2 <= q_3 (p is symmetric). Write q_1 = a, q_2 = a + d1, q_3 = a + d1 + d2 with a, d1, d2 >= 0
    and replace every constant c by c (3a + 2 d1 + d2) (= c, since Σq = 1): each value is then a linear form
    in (a, d1, d2). Proved: each of the three candidates is the value of some S, and every S's value minus
    some candidate has non-negative coefficients. Hence the minimum over the 8 sets is the minimum of the
    three candidates.
    """
    a, d1, d2 = sp.symbols("a d1 d2", nonnegative=True)
    one = 3 * a + 2 * d1 + d2
    q = [a, a + d1, a + d1 + d2]
    values = {}
    for size in range(4):
        for S in itertools.combinations(range(3), size):
            values[S] = sp.expand(sum((q[i] for i in S), sp.S.Zero) + one - R(size, 3) ** 2 * one)
    candidates = [sp.expand(one), sp.expand(R(8, 9) * one + min(q, key=lambda e: e.subs({d1: 1, d2: 1}))),
                  sp.expand(R(14, 9) * one - q[2])]
    assert candidates[1] == values[(0,)] and candidates[2] == values[(0, 1)] and candidates[0] == values[()]
    for S, v in values.items():
        assert any(_nonneg_linear(v - c, (a, d1, d2)) for c in candidates), S


@pytest.mark.parametrize("panel, q1, expected", [
    ("left", R(1, 3), sp.Interval(R(1, 9), R(5, 9))),
    ("right", R(1, 6), sp.Interval(R(5, 18), R(5, 9))),
])
def test_figure2_acceptance_one_intervals(panel, q1, expected):
    """Figure 2: with q = (q1, q2, 1 - q1 - q2), P* = 1 iff 8/9 + min q >= 1 and 14/9 - max q >= 1, i.e.
    every q_i in [1/9, 5/9]: the set of q2 is [1/9, 5/9] (left) and [5/18, 5/9] (right)."""
    t = sp.Symbol("q2", real=True)
    qs = [q1, t, 1 - q1 - t]
    conditions = [c for v in qs for c in (v >= R(1, 9), v <= R(5, 9))] + [t >= 0, 1 - q1 - t >= 0]
    conditions = [c for c in conditions if c is not sp.true]
    assert sp.reduce_inequalities(conditions, t).as_set() == expected


def _kseq(q, p, K, rho_range):
    """SpecTr K-SEQ on a piece where every min(p, q/ρ) is fixed: returns (ρ*, b(ρ*), acceptance)."""
    rho = sp.Symbol("rho", positive=True)
    lo, hi = rho_range
    mid = (lo + hi) / 2  # resolve each min on the piece, then check the choice holds on all of it
    terms = []
    for py, qy in zip(p, q):
        use_p = py <= qy / mid
        assert (py <= qy / hi) if use_p else (py >= qy / lo)
        terms.append(py if use_p else qy / rho)
    b = sum(terms)
    f = 1 - (1 - b) ** K - rho * b
    roots = sorted(r for r in sp.solveset(sp.numer(sp.together(f)), rho, sp.Interval(lo, hi)))
    rho_star = roots[0]
    assert f.subs(rho, lo) > 0  # f > 0 before the first root: ρ* is the smallest ρ with f(ρ) <= 0
    bs = sp.nsimplify(sp.simplify(b.subs(rho, rho_star)))
    return rho_star, bs, sp.simplify(1 - (1 - bs) ** K)


def _rrs(q, drafts):
    """SpecInfer recursive rejection sampling: 1 - Π (1 - a_i), a_i = Σ min(r_i, p_i)."""
    r, keep = list(q), sp.S.One
    for p in drafts:
        a = sum(sp.Min(ry, py) for ry, py in zip(r, p))
        keep *= 1 - a
        excess = [sp.Max(ry - py, 0) for ry, py in zip(r, p)]
        total = sum(excess)
        r = [e / total for e in excess] if total != 0 else r
    return 1 - keep


def test_figure2_published_points():
    """docs/theory.md §7, left panel: q2 = 0: optimum 8/9, SpecTr (11 + √13)/18, SpecInfer 7/9;
    q2 = 1/9: optimum 1, SpecTr 8/9 with ρ* = 4/3, SpecInfer 23/27 — all in closed form."""
    p = [R(1, 3)] * 3

    def optimum(q):
        return min(sum((q[i] for i in S), sp.S.Zero) + 1 - R(len(S), 3) ** 2
                   for size in range(4) for S in itertools.combinations(range(3), size))

    q0 = [R(1, 3), R(0), R(2, 3)]
    assert optimum(q0) == R(8, 9)
    rho, _, spectr = _kseq(q0, p, 2, (1, 2))
    assert sp.simplify(rho - (5 + sp.sqrt(13)) / 6) == 0
    assert sp.simplify(spectr - (11 + sp.sqrt(13)) / 18) == 0
    assert _rrs(q0, [p, p]) == R(7, 9)

    q1 = [R(1, 3), R(1, 9), R(5, 9)]
    assert optimum(q1) == 1
    rho, b, spectr = _kseq(q1, p, 2, (1, R(5, 3)))
    assert rho == R(4, 3) and b == R(2, 3) and spectr == R(8, 9)
    assert _rrs(q1, [p, p]) == R(23, 27)

    # lpspec's schemes against these closed forms (SpecTr bisects ρ*, so to 1e-12; SpecInfer exactly)
    for qv, spectr_value, specinfer_value in [(q0, (11 + sp.sqrt(13)) / 18, R(7, 9)), (q1, R(8, 9), R(23, 27))]:
        target = [Fraction(int(v.p), int(v.q)) for v in qv]
        draft = [Fraction(1, 3)] * 3
        assert abs(float(SpecTr(target=target, drafts=draft, k=2).acceptance) - float(spectr_value)) <= 1e-12
        assert SpecInfer(target=target, drafts=[draft, draft]).acceptance == Fraction(str(specinfer_value))


# ------------------------------------------------------------------------------ sorted prefix: concavity
def test_sorted_prefix_concavity_step():
    """On a linear piece F(t) = Q + r (t - P) of the knapsack bound, G(t) = F(t) + 1 - t^K has
    G''(t) = -K (K - 1) t^(K-2) <= 0 for t >= 0 and every integer K >= 1: G is concave on the piece, so its
    minimum over the piece is at an endpoint (a breakpoint = a prefix)."""
    t = sp.Symbol("t", nonnegative=True)
    Q, r, P = sp.symbols("Q r P", real=True)
    K = sp.Symbol("K", integer=True, positive=True)
    G = Q + r * (t - P) + 1 - t**K
    second = sp.diff(G, t, 2)
    assert sp.simplify(second - (-K * (K - 1) * t ** (K - 2))) == 0
    m = sp.Symbol("m", integer=True, nonnegative=True)  # K = m + 2 >= 2
    assert sp.simplify(second.subs(K, m + 2)).is_nonpositive
    assert second.subs(K, 1) == 0  # K = 1: G is linear on the piece
    # the endpoint step, K = 2: G(λu + (1-λ)v) - [λ G(u) + (1-λ) G(v)] = λ(1-λ)(u-v)^2 >= 0
    u, v, lam = sp.symbols("u v lambda", real=True)
    G2 = G.subs(K, 2)
    gap = G2.subs(t, lam * u + (1 - lam) * v) - lam * G2.subs(t, u) - (1 - lam) * G2.subs(t, v)
    assert sp.expand(gap - lam * (1 - lam) * (u - v) ** 2) == 0


# ------------------------------------------------------------------------------ SpecTr K-SEQ residual
def test_kseq_residual_vanishes_on_rejected_tokens():
    """SpecTr K-SEQ (docs/theory.md §5), symbolic in b, ρ, K, q(y), p(y). With m(y) = min(p(y), q(y)/ρ),
    b = Σ m, γ = (1 - (1-b)^K)/b, f(ρ) = 1 - (1-b)^K - ρ b, it is shown that

    1. the acceptance stage outputs y with probability Σ_{i=1..K} (1-b)^{i-1} m(y) = γ m(y);
    2. ρ - γ = -f(ρ)/b;
    3. on a token with q(y) <= ρ p(y) (where a draft y is rejected with positive probability when q < ρp),
       q(y) - γ m(y) = -q(y) f(ρ) / (ρ b): zero when f(ρ) = 0, and >= 0 whenever f(ρ) <= 0;
    4. on a token with q(y) > ρ p(y), q(y) - γ m(y) = (q(y) - ρ p(y)) - p(y) f(ρ)/b > 0 whenever f(ρ) <= 0;
    5. the residual's total mass Σ_y (q - γ m) = 1 - γ b = (1 - b)^K = Pr(all K drafts rejected).

    So at a root f(ρ*) = 0 the residual (q - γ m)^+ is zero on every token a draft can be rejected on (the
    residual sample never equals a rejected draft: membership acceptance = 1 - (1-b)^K), and for any ρ with
    f(ρ) <= 0 no positive part is needed and the output law is exactly q. (With ρ* the upper end of a
    bisection bracket, f(ρ*) < 0 slightly and 3. leaves a residual of order |f| on rejected tokens.)
    """
    b, rho, qy, py = sp.symbols("b rho q_y p_y", positive=True)
    K = sp.Symbol("K", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    gamma = (1 - (1 - b) ** K) / b
    f = 1 - (1 - b) ** K - rho * b
    my = sp.Symbol("m_y", positive=True)
    assert sp.simplify(sp.summation((1 - b) ** (i - 1) * my, (i, 1, K)) - gamma * my) == 0  # 1.
    assert sp.simplify((rho - gamma) - (-f / b)) == 0  # 2.
    rejected_side = qy - gamma * (qy / rho)
    assert sp.simplify(rejected_side - (-qy * f / (rho * b))) == 0  # 3.
    assert sp.simplify(rejected_side.subs(rho, gamma)) == 0  # f = 0 means ρ = γ
    phi = sp.Symbol("phi", nonnegative=True)  # phi = -f >= 0
    assert (qy * phi / (rho * b)).is_nonnegative
    accepted_side = qy - gamma * py
    assert sp.simplify(accepted_side - ((qy - rho * py) - py * f / b)) == 0  # 4.
    excess = sp.Symbol("e", positive=True)  # e = q - ρ p > 0
    assert (excess + py * phi / b).is_positive
    assert sp.simplify((1 - gamma * b) - (1 - b) ** K) == 0  # 5.


# ------------------------------------------------------------------------------ SpecInfer product formula
def _rrs_membership(q, p1, p2, mn, pos):
    """Pr[Y ∈ {X1, X2}] of two-draft recursive rejection sampling, by enumeration of (x1, x2, outcome).

    ``mn(r, p, y)`` returns min(r(y), p(y)) and ``pos(r, p, y)`` returns (r(y) - p(y))^+; passing them in lets
    the same enumeration run on symbols (a case split fixes each min) and on exact numbers.
    Also returns the output law, the acceptances a_1, a_2, and the normalised residuals.
    """
    n = len(q)
    m1 = [mn(q, p1, y) for y in range(n)]
    e1 = [pos(q, p1, y) for y in range(n)]
    d1 = sum(e1)
    r2 = [e / d1 for e in e1] if d1 != 0 else [0] * n
    m2 = [mn(r2, p2, y) for y in range(n)]
    e2 = [pos(r2, p2, y) for y in range(n)]
    d2 = sum(e2)
    r3 = [e / d2 for e in e2] if d2 != 0 else [0] * n
    member, output = 0, [0] * n
    for x1, x2 in itertools.product(range(n), repeat=2):
        rej1 = p1[x1] - m1[x1]  # p1(x1) (1 - min(1, q/p1))
        rej2 = p2[x2] - m2[x2]
        member += m1[x1] * p2[x2] + rej1 * m2[x2] + rej1 * rej2 * (r3[x1] + (r3[x2] if x2 != x1 else 0))
        output[x1] += m1[x1] * p2[x2]
        output[x2] += rej1 * m2[x2]
        for y in range(n):
            output[y] += rej1 * rej2 * r3[y]
    return member, output, sum(m1), sum(m2)


def test_rrs_product_formula_k2_n3_symbolic():
    """SpecInfer, K = 2, n = 3, symbolic q, p1, p2 (6 free symbols): by enumeration of the draft pairs and the
    outcomes, Pr[Y ∈ {X1, X2}] == 1 - (1 - a1)(1 - a2).

    Fully symbolic min() is intractable, so the proof is a case split: A1 = {y : q(y) > p1(y)} (non-empty and
    proper unless q = p1, where a1 = 1 and the formula is trivial) and A2 = {y : r2(y) > p2(y)} ⊆ A1 (r2 = 0
    off A1). Each of the 18 cases (A1, A2) fixes every min and (·)^+, and the identity is then checked as an
    identity of rational functions. Ties (q = p) give the same value on either side of the split.
    """
    q0, q1, a0, a1_, b0, b1 = sp.symbols("q0 q1 s0 s1 t0 t1")
    q = [q0, q1, 1 - q0 - q1]
    p1 = [a0, a1_, 1 - a0 - a1_]
    p2 = [b0, b1, 1 - b0 - b1]
    cases = 0
    for size in (1, 2):
        for A1 in itertools.combinations(range(3), size):
            for size2 in range(len(A1) + 1):
                for A2 in itertools.combinations(A1, size2):
                    def mn(r, p, y, A1=A1, A2=A2):
                        if r is q:
                            return p[y] if y in A1 else r[y]
                        return p[y] if y in A2 else r[y]

                    def pos(r, p, y, A1=A1, A2=A2):
                        inside = A1 if r is q else A2
                        return r[y] - p[y] if y in inside else 0

                    member, output, acc1, acc2 = _rrs_membership(q, p1, p2, mn, pos)
                    assert sp.cancel(sp.together(member - (1 - (1 - acc1) * (1 - acc2)))) == 0, (A1, A2)
                    if A2:  # the output law is q (when A2 = ∅ round 3 is reached with probability 0)
                        assert all(sp.cancel(sp.together(o - qy)) == 0 for o, qy in zip(output, q)), (A1, A2)
                    cases += 1
    assert cases == 3 * 2 + 3 * 4  # |A1| = 1: A2 in {∅, A1}; |A1| = 2: four subsets A2


def test_rrs_product_formula_k2_n3_exact_grid():
    """The same enumeration with true min and (·)^+ on every (q, p1, p2) of the n = 3, d <= 4 grid (10 648
    triples, exact): membership == 1 - (1 - a1)(1 - a2) and output law == q; and lpspec's ``SpecInfer``
    acceptance equals the enumeration on the d <= 3 part."""
    grid = simplex_grid(3, 4)

    def mn(r, p, y):
        return min(r[y], p[y])

    def pos(r, p, y):
        return max(r[y] - p[y], 0)

    count = 0
    small = set(simplex_grid(3, 3))
    for q, p1, p2 in itertools.product(grid, repeat=3):
        member, output, acc1, acc2 = _rrs_membership(q, p1, p2, mn, pos)
        assert member == 1 - (1 - acc1) * (1 - acc2), (q, p1, p2)
        assert [Fraction(o) for o in output] == list(q), (q, p1, p2)
        if q in small and p1 in small and p2 in small:  # lpspec's SpecInfer on the d <= 3 part (2 197)
            assert SpecInfer(target=list(q), drafts=[list(p1), list(p2)]).acceptance == member, (q, p1, p2)
        count += 1
    assert count == 22**3
