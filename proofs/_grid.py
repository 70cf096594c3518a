"""Exact ground truth for ``proofs/``: rational grids, draft laws, brute-force min-cut, exact plan checks.

Everything here is written from docs/theory.md directly, with :mod:`fractions` and :mod:`itertools` only, and does
**not** import lpspec: it is the independent side of every comparison in ``proofs/``.

* :func:`simplex_grid` — every probability vector on ``n`` tokens whose entries are fractions with
  denominator ``<= max_den`` (the union of the grids ``{c / d : c in N^n, sum c = d}`` for ``d <= max_den``).
* :func:`independent_tuples`, :func:`without_replacement_tuples`, :func:`greedy_tuples` — the joint law
  ``P(x)`` of the draft tuple (docs/theory.md §1, §6), as ``{x: P(x)}`` over tuples of positive probability.
* :func:`truth` — for one instance: set masses ``Pr(set(X) = A)``, containment ``Pr(set(X) ⊆ S)`` for every
  mask ``S`` (summed over tuples, never by a closed form), every cut value ``q(S) + 1 - Pr(set(X) ⊆ S)``,
  and the brute-force minimum ``P*`` with all its minimisers (docs/theory.md §3).
* :func:`recheck_plan` — an exact re-check of a scheme ``π(y | x)``: a distribution for every ``x``, output
  law ``== q``; returns its membership acceptance ``Pr[Y ∈ set(X)]`` (docs/theory.md §1).
* :func:`two_step` — the two-step scheme of Theorem 1 for given ``β`` (docs/theory.md §4), evaluated exactly.

Sets are bit masks: token ``i`` belongs to mask ``m`` when bit ``i`` of ``m`` is set.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

ZERO = Fraction(0)
ONE = Fraction(1)


# ---------------------------------------------------------------------------- grids
@cache
def simplex_grid(n: int, max_den: int) -> tuple[tuple[Fraction, ...], ...]:
    """Every distribution ``c / d`` on ``n`` tokens with ``c`` in ``N^n``, ``sum c = d``, ``1 <= d <= max_den``.

    That is: the vectors whose entries share a denominator ``d <= max_den`` (``(1/4, 1/6, 7/12)`` is not one:
    its common denominator is 12). Sizes for ``max_den = 6``: 1, 13, 55 points for ``n = 1, 2, 3``.
    """
    points = set()
    for d in range(1, max_den + 1):
        for head in itertools.product(range(d + 1), repeat=n - 1):
            rest = d - sum(head)
            if rest >= 0:
                points.add(tuple(Fraction(c, d) for c in head) + (Fraction(rest, d),))
    return tuple(sorted(points))


def identical_grid(max_n: int = 3, max_den: int = 6, ks=(1, 2, 3)):
    """``(q, p, K)`` for every pair of grid distributions on ``n <= max_n`` tokens and every ``K``."""
    for n in range(1, max_n + 1):
        pts = simplex_grid(n, max_den)
        for q in pts:
            for p in pts:
                for k in ks:
                    yield q, p, k


def is_orbit_representative(q, p) -> bool:
    """True when the pairs ``(q_i, p_i)`` are sorted: exactly one member of each orbit of the grid under a joint
    relabelling of the tokens (every statement of docs/theory.md is invariant under it)."""
    pairs = list(zip(q, p))
    return pairs == sorted(pairs)


# ---------------------------------------------------------------------------- draft laws
def independent_tuples(drafts) -> dict[tuple[int, ...], Fraction]:
    """``P(x) = prod_k p_k(x_k)`` over the tuples of positive probability."""
    n = len(drafts[0])
    out = {}
    for x in itertools.product(range(n), repeat=len(drafts)):
        m = ONE
        for pk, xk in zip(drafts, x):
            m *= pk[xk]
        if m:
            out[x] = m
    return out


def without_replacement_tuples(p, k: int) -> dict[tuple[int, ...], Fraction]:
    """``P(x) = prod_j p(x_j) / p(Ω minus {x_1..x_{j-1}})`` on tuples of distinct tokens (docs/theory.md §6)."""
    n = len(p)
    out = {}
    for x in itertools.permutations(range(n), k):
        m = ONE
        for j, t in enumerate(x):
            remaining = sum((p[s] for s in range(n) if s not in x[:j]), ZERO)
            if remaining == 0:
                m = ZERO
                break
            m *= p[t] / remaining
        if m:
            out[x] = m
    return out


def greedy_top(p, k: int) -> tuple[int, ...]:
    """The ``K-1`` fixed tokens of the greedy law: largest ``p`` first, ties to the lower index."""
    return tuple(sorted(range(len(p)), key=lambda i: (-p[i], i))[: k - 1])


def greedy_tuples(p, k: int) -> dict[tuple[int, ...], Fraction]:
    """Hu et al.'s greedy law: ``x = (T, y)`` with ``y ~ p`` restricted to ``T^c`` (docs/theory.md §6)."""
    top = greedy_top(p, k)
    rest = [y for y in range(len(p)) if y not in top]
    mass = sum((p[y] for y in rest), ZERO)
    return {top + (y,): p[y] / mass for y in rest if p[y] > 0}


def tuple_law(law: str, drafts):
    """``{x: P(x)}`` for ``law`` with ``drafts = (p, K)`` (identical) or a list of distributions."""
    if law == "independent":
        return independent_tuples(drafts)
    p, k = drafts
    return without_replacement_tuples(p, k) if law == "without_replacement" else greedy_tuples(p, k)


# ---------------------------------------------------------------------------- sets and cuts
def mask_of(tokens) -> int:
    m = 0
    for t in tokens:
        m |= 1 << t
    return m


def tokens_of(mask: int, n: int) -> tuple[int, ...]:
    return tuple(i for i in range(n) if (mask >> i) & 1)


def mass_of(dist, mask: int) -> Fraction:
    """``dist(S)`` for the set ``S`` given as a mask (a sum of entries, no subtraction)."""
    return sum((v for i, v in enumerate(dist) if (mask >> i) & 1), ZERO)


@dataclass(frozen=True)
class Truth:
    """Brute-force facts about one instance, all exact.

    Attributes
    ----------
    q : tuple of Fraction
    tuples : dict
        ``{x: P(x)}``.
    set_mass : dict
        ``{mask of A: Pr(set(X) = A)}`` (merged sources).
    contain : tuple of Fraction
        ``Pr(set(X) ⊆ S)`` for every mask ``S`` (index = mask).
    cut : tuple of Fraction
        ``q(S) + 1 - Pr(set(X) ⊆ S)`` for every mask.
    value : Fraction
        ``min_S cut[S]``: the min-cut value ``P*`` (docs/theory.md §3).
    minimisers : tuple of int
        Every mask attaining ``value``.
    """

    q: tuple
    tuples: dict
    set_mass: dict
    contain: tuple
    cut: tuple
    value: Fraction
    minimisers: tuple

    @property
    def n(self) -> int:
        return len(self.q)


def _truth(q, tuples) -> Truth:
    n = len(q)
    set_mass: dict[int, Fraction] = {}
    for x, m in tuples.items():
        a = mask_of(x)
        set_mass[a] = set_mass.get(a, ZERO) + m
    contain = tuple(sum((m for a, m in set_mass.items() if a & ~s == 0), ZERO) for s in range(1 << n))
    cut = tuple(mass_of(q, s) + ONE - contain[s] for s in range(1 << n))
    value = min(cut)
    return Truth(tuple(q), tuples, set_mass, contain, cut, value, tuple(s for s, c in enumerate(cut) if c == value))


@cache
def truth(q: tuple, drafts: tuple, law: str = "independent") -> Truth:
    """Cached :class:`Truth` for ``q`` and ``drafts`` (``(p, K)`` for the identical laws, else a tuple of
    distributions for independent drafts)."""
    if law == "independent" and isinstance(drafts[1], int):
        p, k = drafts
        tuples = independent_tuples([p] * k)
    else:
        tuples = tuple_law(law, drafts)
    return _truth(q, tuples)


# ---------------------------------------------------------------------------- schemes
def recheck_plan(q, tuples: dict, conditional) -> Fraction:
    """Exactly re-check the scheme ``π(·|x) = conditional(x)``; return its membership acceptance.

    Asserts: every ``π(·|x)`` is a distribution of Fractions; ``sum_x P(x) π(y|x) == q(y)`` for every ``y``.
    """
    n = len(q)
    output = [ZERO] * n
    acceptance = ZERO
    for x, m in tuples.items():
        row = list(conditional(x))
        assert all(isinstance(v, Fraction) for v in row), f"π(·|{x}) is not in Fractions: {row}"
        assert all(v >= 0 for v in row) and sum(row, ZERO) == 1, f"π(·|{x}) = {row} is not a distribution"
        for y in range(n):
            output[y] += m * row[y]
        acceptance += m * sum((row[y] for y in set(x)), ZERO)
    assert output == list(q), f"output law {output} != target {list(q)}"
    return acceptance


@dataclass(frozen=True)
class TwoStep:
    """The two-step scheme of Theorem 1 evaluated exactly (docs/theory.md §4)."""

    intermediate: tuple  # p_I
    speculative_acceptance: Fraction  # sum_y min(q(y), p_I(y))
    membership_acceptance: Fraction  # Pr[Y in set(X)]
    output: tuple  # law of Y


def two_step(q, tuples: dict, beta) -> TwoStep:
    """Run Theorem 1's two steps with ``β_y(x) = beta(x)[y]`` exactly.

    Step 1 picks ``Y_I ~ β(x)`` (supported on ``set(x)``); step 2 accepts ``Y_I`` with probability
    ``min(1, q(Y_I)/p_I(Y_I))``, else outputs a sample of ``(q - p_I)^+`` normalised.
    """
    n = len(q)
    rows = {}
    for x in tuples:
        b = list(beta(x))
        assert all(v >= 0 for v in b) and sum(b, ZERO) == 1, f"β({x}) = {b} is not a distribution"
        assert all(b[y] == 0 for y in range(n) if y not in x), f"β({x}) puts mass outside set(x)"
        rows[x] = b
    p_i = [sum((m * rows[x][y] for x, m in tuples.items()), ZERO) for y in range(n)]
    accept = [min(ONE, q[y] / p_i[y]) if p_i[y] > 0 else ONE for y in range(n)]
    excess = [max(ZERO, q[y] - p_i[y]) for y in range(n)]
    total_excess = sum(excess, ZERO)
    residual = [e / total_excess for e in excess] if total_excess else [ZERO] * n
    output = [ZERO] * n
    membership = ZERO
    for x, m in tuples.items():
        b = rows[x]
        kept = [b[y] * accept[y] for y in range(n)]
        reject = ONE - sum(kept, ZERO)
        pi = [kept[y] + reject * residual[y] for y in range(n)]
        for y in range(n):
            output[y] += m * pi[y]
        membership += m * sum((pi[y] for y in set(x)), ZERO)
    spec = sum((min(q[y], p_i[y]) for y in range(n)), ZERO)
    return TwoStep(tuple(p_i), spec, membership, tuple(output))


def prefix_minimum(q, p, contain_of_mask) -> Fraction:
    """``min_j cut(prefix_j)`` over the prefixes of the tokens with ``p > 0`` sorted by ``q/p`` ascending
    (ties to the lower index), ``cut(S) = q(S) + 1 - contain_of_mask(S)``."""
    order = sorted((i for i in range(len(p)) if p[i] > 0), key=lambda i: (q[i] / p[i], i))
    best = None
    mask = 0
    for j in range(len(order) + 1):
        if j:
            mask |= 1 << order[j - 1]
        v = mass_of(q, mask) + ONE - contain_of_mask(mask)
        best = v if best is None or v < best else best
    return best
