"""Exhaustive exact verification on a grid of rational distributions (docs/theory.md §3, §4, §6).

The grid: every pair ``(q, p)`` of distributions on ``n <= 3`` tokens whose entries share a denominator
``d <= 6`` (1, 13 and 55 points for n = 1, 2, 3), and ``K = 1, 2, 3`` identical independent drafts —
``(1 + 13**2 + 55**2) * 3 = 9 585`` instances, every one checked in exact rationals.

For every instance the ground truth ``P*`` is established *in this test suite*, without lpspec:

* the brute-force minimum over all ``2^n`` sets ``S`` of ``q(S) + 1 - Pr(set(X) ⊆ S)``, with the
  containment summed over all ``n^K`` draft tuples (``tests/_reference.py``) — an upper bound on every exact
  scheme (the cut bound, proved symbolically in ``test_symbolic.py``);
* a scheme that attains it: the certificate's ``π(y | x)`` re-checked exactly against the tuple masses of
  ``tests/_reference.py`` (output law ``== q``, membership acceptance ``== P*``).

Upper bound met by a feasible scheme is a proof of ``P*`` for that instance. Every closed form of docs/theory.md §4
is then compared with it.

lpspec's functions run on every instance. The test-side re-evaluations of a scheme (the slowest part, in
pure Fractions) run on one instance per orbit of a joint relabelling of the tokens (``is_orbit_representative``:
1 845 of the 9 585), which covers every statement on the whole grid since all of them are invariant under it.
"""

from __future__ import annotations

import ast
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
from _grid import identical_grid, is_orbit_representative, simplex_grid, truth
from _reference import (
    ONE,
    ZERO,
    best_ratio_prefix,
    identical_min_cut,
    mask_of,
    mass_of,
    recheck_plan,
    theorem3_forms,
    tokens_of,
    two_step,
)

import lpspec
from lpspec.theory.decomposition import two_step_from_beta
from lpspec.theory.theorems import acceptance_one, theorem3

GRID = tuple(identical_grid(max_n=3, max_den=6, ks=(1, 2, 3)))


@cache
def certificate(q, p, k):
    """``lpspec.certify`` (the code under test), computed once per grid instance."""
    return lpspec.certify(target=list(q), drafts=list(p), k=k)


def _report(failures, what):
    head = "\n".join(str(f) for f in failures[:10])
    return f"{len(failures)} grid instances violate {what}; first ones:\n{head}"


def test_grid_is_the_advertised_size():
    assert [len(simplex_grid(n, 6)) for n in (1, 2, 3)] == [1, 13, 55]
    assert len(GRID) == 9585
    assert sum(is_orbit_representative(q, p) for q, p, _ in GRID) == 1845
    assert all(sum(q) == 1 and sum(p) == 1 for q, p, _ in GRID)
    assert all(isinstance(v, Fraction) for q, p, _ in GRID for v in q + p)


def test_reference_never_imports_lpspec():
    """The independent side of every comparison (``tests/_reference.py``, ``proofs/_grid.py``) has no lpspec
    import, not even a lazy one."""
    root = Path(__file__).resolve().parent.parent
    for path in (root / "tests" / "_reference.py", root / "proofs" / "_grid.py"):
        names = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names.append(node.module or "")
        assert names and not [m for m in names if m.split(".")[0] == "lpspec"], (path, names)


def test_min_cut_formula_certified_on_grid():
    """docs/theory.md §3: max-flow == min-cut, exactly, with the scheme re-checked outside lpspec."""
    failures = []
    for q, p, k in GRID:
        t = truth(q, (p, k))
        cert = certificate(q, p, k)
        try:
            assert cert.check()
            assert isinstance(cert.value, Fraction) and cert.value == t.value
            assert mask_of(cert.cut_set) in t.minimisers
            if is_orbit_representative(q, p):
                assert recheck_plan(q, t.tuples, cert.conditional) == t.value
        except AssertionError as exc:
            failures.append((q, p, k, t.value, cert.value, str(exc)))
    assert not failures, _report(failures, "flow == brute-force min-cut")


def test_remark_k_identical_drafts_on_grid():
    """Remark: P* = min_S q(S) + 1 - p(S)^K, and P* = 1 iff q(S) >= p(S)^K for all S (K = 1, 2, 3)."""
    failures = []
    for q, p, k in GRID:
        t = truth(q, (p, k))
        formula = identical_min_cut(q, p, k)
        condition = all(mass_of(q, s) >= mass_of(p, s) ** k for s in range(1 << len(q)))
        if formula != t.value or condition != (t.value == 1):
            failures.append((q, p, k, t.value, formula, condition))
    assert not failures, _report(failures, "the K-draft remark")


def test_theorem2_acceptance_one_on_grid():
    """Theorem 2 (K = 2) and its K-draft form, against brute force and against ``lpspec.acceptance_one``."""
    failures = []
    for q, p, k in GRID:
        t = truth(q, (p, k))
        n = len(q)
        proper = range(1, (1 << n) - 1)
        condition = all(mass_of(q, s) >= mass_of(p, s) ** k for s in range(1 << n))
        res = acceptance_one(target=list(q), drafts=list(p), k=k)
        margin = min((mass_of(q, s) - mass_of(p, s) ** k for s in proper), default=ZERO)
        ok = res.holds == condition == (t.value == 1) and res.margin == margin
        if res.witness is not None:
            w = mask_of(res.witness)
            ok = ok and mass_of(q, w) < mass_of(p, w) ** k
        if not ok:
            failures.append((q, p, k, t.value, res))
    assert not failures, _report(failures, "Theorem 2")


def test_theorem3_on_grid():
    """Theorem 3: min_S q(S) + p(S^c)^2 + 2 p(S) p(S^c) == P* (K = 2), and ``lpspec.theorem3`` agrees."""
    failures = []
    for q, p, k in GRID:
        if k != 2:
            continue
        t = truth(q, (p, k))
        three, simplified = theorem3_forms(q, p)
        res = theorem3(target=list(q), drafts=list(p))
        ok = three == simplified == t.value == res.value == res.simplified
        ok = ok and mask_of(res.cut_set) in t.minimisers and mask_of(res.simplified_cut_set) in t.minimisers
        if not ok:
            failures.append((q, p, t.value, three, res))
    assert not failures, _report(failures, "Theorem 3")


def _knapsack(q, p, s):
    """F(t) at t = p(S): the least q-mass of a fractional selection of p-mass t, in q/p order."""
    order = sorted((i for i in range(len(p)) if p[i] > 0), key=lambda i: (q[i] / p[i], i))
    need, cost = mass_of(p, s), ZERO
    for i in order:
        take = min(need, p[i])
        cost += take * q[i] / p[i]
        need -= take
    return cost


def test_sorted_prefix_on_grid():
    """Sorted-prefix evaluation: the prefix minimum == P* (statement, computed here), lpspec's exact
    ``sorted_prefix`` and ``subsets`` methods == P*, and the knapsack lemma q(S) >= F(p(S)) behind the proof."""
    failures = []
    for q, p, k in GRID:
        t = truth(q, (p, k))
        mine, _ = best_ratio_prefix(q, p, contain=lambda S, p=p, k=k: mass_of(p, mask_of(S)) ** k)
        fast = lpspec.optimal_acceptance(target=list(q), drafts=list(p), k=k, method="sorted_prefix")
        slow = lpspec.optimal_acceptance(target=list(q), drafts=list(p), k=k, method="subsets")
        lemma = all(mass_of(q, s) >= _knapsack(q, p, s) for s in range(1 << len(q)))
        ok = mine == fast.value == slow.value == t.value and lemma
        ok = ok and mask_of(fast.cut_set) in t.minimisers and mask_of(slow.cut_set) in t.minimisers
        if not ok:
            failures.append((q, p, k, t.value, mine, fast, slow, lemma))
    assert not failures, _report(failures, "the sorted-prefix evaluation")


def _beta_from_certificate(cert, t):
    """Theorem 1's construction: β_y(x) = f(x, y) / P(x) on set(x), the left-over on min(set(x)).

    The merged flow ``f(A, y)`` splits back to tuples in proportion to ``P(x)``, so
    ``f(x, y) / P(x) = f(A, y) / Pr(set(X) = A)`` with the set mass taken from ``_reference`` (not from lpspec).
    """
    st = cert.instance.set_table
    row_of = {mask_of(st.members(i)): i for i in range(st.mass.size)}
    n = len(t.q)
    per_set = {}
    for a, mass in t.set_mass.items():
        i = row_of[a]
        b = [ZERO] * n
        for (row, y), f in cert.flow.items():
            if row == i:
                b[y] += f / mass
        b[min(tokens_of(a, n))] += ONE - sum(b, ZERO)
        per_set[a] = b
    return lambda x: per_set[mask_of(x)]


def test_theorem1_construction_on_grid():
    """Theorem 1: β built from the exact optimal flow gives Σ min(q, p_I) == membership == P*, output q.

    Evaluated twice: by ``_reference.two_step`` (independent) and by ``lpspec.theory.decomposition.two_step_from_beta``.
    """
    failures = []
    for q, p, k in GRID:
        t = truth(q, (p, k))
        cert = certificate(q, p, k)
        beta = _beta_from_certificate(cert, t)
        inst = cert.instance
        rows = np.array([beta(tuple(x)) for x in inst.tuple_table.tuples.tolist()], dtype=object)
        theirs = two_step_from_beta(inst, rows)
        ok = theirs.acceptance == theirs.membership_acceptance == t.value
        ok = ok and list(theirs.output_distribution()) == list(q)
        mine = None
        if is_orbit_representative(q, p):
            mine = two_step(q, t.tuples, beta)
            ok = ok and mine.speculative_acceptance == mine.membership_acceptance == t.value and mine.output == q
            ok = ok and list(theirs.intermediate) == list(mine.intermediate)
        if not ok:
            failures.append((q, p, k, t.value, mine, theirs.acceptance, theirs.membership_acceptance))
    assert not failures, _report(failures, "the Theorem 1 construction")


def test_theorem1_every_beta_is_bounded_by_the_optimum():
    """Theorem 1, the other direction: any β (here: uniform over the distinct tokens of set(x)) gives an exact
    scheme with Σ min(q, p_I) <= membership acceptance <= P*."""
    failures = []
    for q, p, k in GRID:
        if not is_orbit_representative(q, p):
            continue
        t = truth(q, (p, k))
        n = len(q)

        def uniform(x, n=n):
            s = set(x)
            return [Fraction(1, len(s)) if y in s else ZERO for y in range(n)]

        r = two_step(q, t.tuples, uniform)
        if not (r.speculative_acceptance <= r.membership_acceptance <= t.value and r.output == q):
            failures.append((q, p, k, t.value, r))
    assert not failures, _report(failures, "Σ min(q, p_I) <= membership <= P*")


def test_without_replacement_prefix_shortcut_evidence():
    """Evidence only (docs/theory.md §6): for drafts without replacement the min-cut sits at a prefix of the q/p
    order. Not proved; checked on every instance of two grids (n <= 3 with d <= 6, and n = 4 with d <= 4;
    K = 2, 3, wherever p has at least K tokens of positive mass): 7 312 instances."""
    cases = [(q, p, k) for q, p, k in identical_grid(max_n=3, max_den=6, ks=(2, 3))]
    cases += [(q, p, k) for q in simplex_grid(4, 4) for p in simplex_grid(4, 4) for k in (2, 3)]
    checked, failures = 0, []
    for q, p, k in cases:
        if sum(1 for v in p if v > 0) < k:
            continue  # the law is undefined (fewer than K tokens of positive mass)
        t = truth(q, (p, k), "without_replacement")
        checked += 1
        if best_ratio_prefix(q, p, contain=lambda S, t=t: t.contain[mask_of(S)])[0] != t.value:
            failures.append((q, p, k, t.value))
    assert checked == 7312
    assert not failures, _report(failures, "the without-replacement prefix shortcut")
