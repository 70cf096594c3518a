"""The one independent brute-force reference for ``tests/`` and ``proofs/``, written from docs/theory.md.

It never imports ``lpspec``: it is the independent side of every comparison (``proofs/_grid.py`` adds only the
grids of exact instances, and a check in ``proofs/test_exhaustive.py`` keeps both files free of lpspec).
``pyproject.toml`` puts ``tests/`` on pytest's ``pythonpath``, so both suites import it as ``_reference``.

Everything here is deliberately naive: draft tuples are enumerated with :mod:`itertools`, set containment is
tested token by token, and ``P*`` is the minimum of ``q(S) + 1 - Pr(set(X) ⊆ S)`` over *all* ``2^n`` subsets
(docs/theory.md §3). Floats are summed with :func:`math.fsum`; Fractions are summed exactly. A distribution is a
plain sequence (list, tuple or 1-D numpy array) of floats or Fractions.

Conventions
-----------
* ``masses`` is a ``dict`` mapping a draft tuple ``x`` (tuple of ints) to ``P(x) > 0``.
* A token set ``S`` is a Python ``frozenset`` or an int bit mask (bit ``i`` set when token ``i`` is in ``S``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

LAWS = ("independent", "without_replacement", "greedy")
ZERO = Fraction(0)
ONE = Fraction(1)


# ---------------------------------------------------------------------------- arithmetic helpers
def is_exact(values) -> bool:
    return any(isinstance(v, Fraction) for v in values)


def total(values):
    """Sum of the values: exact for Fractions, correctly rounded (``fsum``) for floats."""
    vals = list(values)
    if vals and any(isinstance(v, Fraction) for v in vals):
        return sum((Fraction(v) for v in vals), Fraction(0))
    return math.fsum(float(v) for v in vals)


def normalised(dist):
    """Fractions unchanged; floats divided by their (fsum) sum, as docs/theory.md / the API document."""
    vals = list(dist)
    if is_exact(vals):
        return [Fraction(v) for v in vals]
    s = math.fsum(float(v) for v in vals)
    return [float(v) / s for v in vals]


def draft_rows(drafts, k):
    """The K draft distributions as lists: one distribution with ``k``, or a list of distributions."""
    if k is not None:
        return [normalised(drafts)] * k
    return [normalised(d) for d in drafts]


def mask_of(S) -> int:
    m = 0
    for t in S:
        m |= 1 << int(t)
    return m


def tokens_of(mask: int, n: int) -> tuple[int, ...]:
    return tuple(i for i in range(n) if (mask >> i) & 1)


def set_of(mask: int, n: int) -> frozenset:
    return frozenset(tokens_of(mask, n))


def mass_of(dist, mask: int):
    """``dist(S)`` for the set ``S`` given as a mask (a sum of entries, no subtraction; exact for Fractions)."""
    return sum((v for i, v in enumerate(dist) if (mask >> i) & 1), ZERO)


# ---------------------------------------------------------------------------- draft laws (docs/theory.md §1, §6)
def independent_masses(rows) -> dict:
    """``P(x) = prod_k p_k(x_k)`` for every tuple of positive mass."""
    n = len(rows[0])
    out = {}
    for x in itertools.product(range(n), repeat=len(rows)):
        m = rows[0][x[0]]
        for r, t in zip(rows[1:], x[1:]):
            m = m * r[t]
        if m > 0:
            out[x] = m
    return out


def without_replacement_masses(p, k) -> dict:
    """``P(x) = prod_j p(x_j) / (sum of p over the tokens not among x_1..x_{j-1})`` on distinct tuples.

    Each denominator is a sum of the remaining masses (docs/theory.md §6), never ``1 - ...``.
    """
    n = len(p)
    out = {}
    for x in itertools.permutations(range(n), k):
        m = Fraction(1) if is_exact(p) else 1.0
        for j, t in enumerate(x):
            rest = total(p[u] for u in range(n) if u not in x[:j])
            if p[t] == 0:
                m = 0
                break
            m = m * p[t] / rest
        if m > 0:
            out[x] = m
    return out


def greedy_fixed(p, k) -> tuple:
    """The top ``k-1`` tokens of ``p`` by decreasing mass, ties to the lower index (docs/theory.md §6)."""
    order = sorted(range(len(p)), key=lambda i: (-p[i], i))
    return tuple(order[: k - 1])


def greedy_masses(p, k) -> dict:
    """The fixed top ``k-1`` tokens, then one token drawn from ``p`` restricted to the rest."""
    fixed = greedy_fixed(p, k)
    rest = [y for y in range(len(p)) if y not in fixed]
    denom = total(p[y] for y in rest)
    return {fixed + (y,): p[y] / denom for y in rest if p[y] > 0}


def tuple_masses(*, drafts, k=None, law="independent") -> dict:
    """``{x: P(x)}`` for the draft law (same argument conventions as the public API)."""
    rows = draft_rows(drafts, k)
    if law == "independent":
        return independent_masses(rows)
    if law == "without_replacement":
        return without_replacement_masses(rows[0], len(rows))
    if law == "greedy":
        return greedy_masses(rows[0], len(rows))
    raise AssertionError(law)


def set_masses(masses: dict) -> dict:
    """``{frozenset A: Pr(set(X) = A)}`` by summing tuple masses."""
    groups: dict = {}
    for x, m in masses.items():
        groups.setdefault(frozenset(x), []).append(m)
    return {A: total(ms) for A, ms in groups.items()}


def containment(masses: dict, S) -> float | Fraction:
    """``Pr(set(X) ⊆ S)`` by summing the masses of the tuples inside ``S``."""
    S = set(S)
    vals = [m for x, m in masses.items() if set(x) <= S]
    if not vals:
        return Fraction(0) if masses and is_exact(masses.values()) else 0.0
    return total(vals)


def inclusion(masses: dict, n: int) -> list:
    """``Pr(y ∈ set(X))`` for every token."""
    return [total([m for x, m in masses.items() if y in x] or [0.0]) for y in range(n)]


# ---------------------------------------------------------------------------- the optimum (docs/theory.md §3)
def cut_value(q, masses, S):
    """``q(S) + 1 - Pr(set(X) ⊆ S)``."""
    one = Fraction(1) if is_exact(q) else 1.0
    qS = total([q[i] for i in S] or [0 * one])
    return qS + one - containment(masses, S)


def containment_table(masses: dict, n: int):
    """``Pr(set(X) ⊆ S)`` for every bit mask ``S`` (length ``2^n``), summed from the set masses.

    Exact masses give a tuple of Fractions; float masses a float array, one vector op per draft set.
    """
    sets = {mask_of(A): m for A, m in set_masses(masses).items()}
    if is_exact(sets.values()):
        return tuple(sum((m for a, m in sets.items() if a & ~s == 0), ZERO) for s in range(1 << n))
    masks = np.arange(1 << n)
    out = np.zeros(1 << n)
    for a, m in sets.items():
        out += float(m) * ((masks & a) == a)
    return out


def target_table(q, n: int) -> np.ndarray:
    masks = np.arange(1 << n)
    out = np.zeros(1 << n)
    for i in range(n):
        out += float(q[i]) * ((masks >> i) & 1)
    return out


@dataclass(frozen=True)
class Truth:
    """Brute-force facts about one exact instance (docs/theory.md §3).

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
        ``min_S cut[S]``: the min-cut value ``P*``.
    minimisers : tuple of int
        Every mask attaining ``value``, in increasing order.
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


def brute_truth(q, masses: dict, n=None) -> Truth:
    """Every cut value ``q(S) + 1 - Pr(set(X) ⊆ S)`` of an exact instance, with its minimum and all minimisers."""
    n = len(q) if n is None else n
    q = tuple(q)
    contain = containment_table(masses, n)
    cut = tuple(mass_of(q, s) + ONE - contain[s] for s in range(1 << n))
    value = min(cut)
    set_mass = {mask_of(A): m for A, m in set_masses(masses).items()}
    return Truth(
        q, masses, set_mass, tuple(contain), cut, value, tuple(s for s, c in enumerate(cut) if c == value)
    )


def brute_optimum(q, masses, n=None):
    """``(P*, minimising set)``: ``min_S q(S) + 1 - Pr(set(X) ⊆ S)`` over all ``2^n`` sets.

    Exact (Fraction) inputs: an exact minimum (:func:`brute_truth`, the first minimising mask; ``n <= 10``).
    Floats: a vectorised table (``n <= 16``).
    """
    n = len(q) if n is None else n
    if is_exact(q):
        t = brute_truth(q, masses, n)
        return t.value, set_of(t.minimisers[0], n)
    values = target_table(q, n) + 1.0 - containment_table(masses, n)
    m = int(np.argmin(values))
    return float(values[m]), set_of(m, n)


def brute_margin(q, masses, n=None):
    """``(min, minimisers)`` of ``q(S) - Pr(set(X) ⊆ S)`` over non-empty proper ``S`` (None when n = 1)."""
    n = len(q) if n is None else n
    if n == 1:
        return None, []
    if is_exact(q):
        cut = brute_truth(q, masses, n).cut[1:-1]  # cut - 1 == q(S) - Pr(set(X) ⊆ S)
        best = min(cut)
        return best - ONE, [set_of(m + 1, n) for m, v in enumerate(cut) if v == best]
    values = target_table(q, n) - containment_table(masses, n)
    proper = values[1:-1]
    best = float(proper.min())
    return best, [set_of(m + 1, n) for m in np.flatnonzero(proper <= best + 1e-12)]


def identical_min_cut(q, p, k):
    """``min_S q(S) + 1 - p(S)^K`` over all sets (docs/theory.md §4 remark), exact or float."""
    n = len(q)
    best = None
    for mask in range(1 << n):
        S = set_of(mask, n)
        one = Fraction(1) if is_exact(q) else 1.0
        v = total([q[i] for i in S] or [0 * one]) + one - total([p[i] for i in S] or [0 * one]) ** k
        if best is None or v < best:
            best = v
    return best


def theorem3_forms(q, p):
    """Both expressions of Theorem 3 minimised over all sets: ``(paper form, simplified form)``."""
    n = len(q)
    one = Fraction(1) if is_exact(q) else 1.0
    zero = 0 * one
    paper = simple = None
    for mask in range(1 << n):
        S = set_of(mask, n)
        qS = total([q[i] for i in S] or [zero])
        pS = total([p[i] for i in S] or [zero])
        pSc = total([p[i] for i in range(n) if i not in S] or [zero])
        a = qS + pSc**2 + 2 * pS * pSc
        b = qS + one - pS**2
        paper = a if paper is None else min(paper, a)
        simple = b if simple is None else min(simple, b)
    return paper, simple


def greedy_closed_form(q, p, k):
    """docs/theory.md §6: ``q(T) + sum_{y ∉ T} min(q(y), p~(y))``, ``p~ = p|_{T^c} / p(T^c)``."""
    fixed = greedy_fixed(p, k)
    rest = [y for y in range(len(p)) if y not in fixed]
    denom = total(p[y] for y in rest)
    return total([q[t] for t in fixed] + [min(q[y], p[y] / denom) for y in rest])


def best_ratio_prefix(q, weight, masses=None, *, contain=None):
    """Best prefix, by ``q(S) + 1 - Pr(set(X) ⊆ S)``, of the tokens with ``weight > 0`` in ``q/weight`` order
    (ties to the lower index; docs/theory.md §4).

    ``Pr(set(X) ⊆ S)`` is summed from the tuple ``masses``, or given by ``contain(S)`` (a callable on a
    frozenset, e.g. ``p(S)^K``). The prefix sets include the empty set. Returns ``(value, prefix set)``.
    """
    if (masses is None) == (contain is None):
        raise TypeError("give exactly one of masses and contain")
    if contain is None:
        contain = lambda S: containment(masses, S)  # noqa: E731
    one = Fraction(1) if is_exact(q) else 1.0
    support = [i for i in range(len(q)) if weight[i] > 0]
    order = sorted(support, key=lambda i: (q[i] / weight[i], i))
    best = None
    for j in range(len(order) + 1):
        S = frozenset(order[:j])
        v = total([q[i] for i in S] or [0 * one]) + one - contain(S)
        if best is None or v < best[0]:
            best = (v, S)
    return best


def figure2_optimum(q):
    """docs/theory.md §7: for ``p`` uniform on 3 tokens and K = 2, ``P* = min(1, 8/9 + min q, 14/9 - max q)``."""
    return min(Fraction(1), Fraction(8, 9) + min(q), Fraction(14, 9) - max(q))


# ---------------------------------------------------------------------------- schemes (docs/theory.md §1)
def scheme_acceptance(masses: dict, conditional):
    """``Σ_x P(x) Σ_{y ∈ set(x)} π(y|x)`` for a callable ``conditional(x) -> π(·|x)``."""
    terms = []
    for x, m in masses.items():
        row = conditional(x)
        terms.append(m * total([row[y] for y in set(x)]))
    return total(terms)


def scheme_output(masses: dict, conditional, n: int) -> list:
    """``Σ_x P(x) π(·|x)``: the output law of the scheme."""
    rows = {x: conditional(x) for x in masses}
    return [total([m * rows[x][y] for x, m in masses.items()]) for y in range(n)]


def recheck_plan(q, masses: dict, conditional) -> Fraction:
    """Exactly re-check the scheme ``π(·|x) = conditional(x)``; return its membership acceptance.

    Asserts: every ``π(·|x)`` is a distribution of Fractions; ``Σ_x P(x) π(y|x) == q(y)`` for every ``y``.
    """
    rows = {}
    for x in masses:
        row = list(conditional(x))
        assert all(isinstance(v, Fraction) for v in row), f"π(·|{x}) is not in Fractions: {row}"
        assert all(v >= 0 for v in row) and sum(row, ZERO) == 1, f"π(·|{x}) = {row} is not a distribution"
        rows[x] = row
    output = scheme_output(masses, rows.__getitem__, len(q))
    assert output == list(q), f"output law {output} != target {list(q)}"
    return scheme_acceptance(masses, rows.__getitem__)


@dataclass(frozen=True)
class TwoStep:
    """The two-step scheme of Theorem 1 evaluated exactly (docs/theory.md §4)."""

    intermediate: tuple  # p_I
    speculative_acceptance: Fraction  # Σ_y min(q(y), p_I(y))
    membership_acceptance: Fraction  # Pr[Y ∈ set(X)]
    output: tuple  # law of Y


def two_step(q, masses: dict, beta) -> TwoStep:
    """Run Theorem 1's two steps with ``β_y(x) = beta(x)[y]`` exactly (docs/theory.md §4).

    Step 1 picks ``Y_I ~ β(x)`` (supported on ``set(x)``), so ``p_I = Σ_x P(x) β(x)``; step 2 accepts ``Y_I``
    with probability ``min(1, q(Y_I)/p_I(Y_I))``, else outputs a sample of ``(q - p_I)^+`` normalised.
    """
    n = len(q)
    rows = {}
    for x in masses:
        b = list(beta(x))
        assert all(v >= 0 for v in b) and sum(b, ZERO) == 1, f"β({x}) = {b} is not a distribution"
        assert all(b[y] == 0 for y in range(n) if y not in x), f"β({x}) puts mass outside set(x)"
        rows[x] = b
    p_i = scheme_output(masses, rows.__getitem__, n)
    accept = [min(ONE, q[y] / p_i[y]) if p_i[y] > 0 else ONE for y in range(n)]
    excess = [max(ZERO, q[y] - p_i[y]) for y in range(n)]
    total_excess = sum(excess, ZERO)
    residual = [e / total_excess for e in excess] if total_excess else [ZERO] * n
    pi = {}
    for x, b in rows.items():
        kept = [b[y] * accept[y] for y in range(n)]
        reject = ONE - sum(kept, ZERO)
        pi[x] = [kept[y] + reject * residual[y] for y in range(n)]
    spec = total([min(q[y], p_i[y]) for y in range(n)])
    return TwoStep(
        tuple(p_i),
        spec,
        scheme_acceptance(masses, pi.__getitem__),
        tuple(scheme_output(masses, pi.__getitem__, n)),
    )


def full_lp_transport(q, masses, n):
    """The full LP of docs/theory.md §2 as a transportation problem solved by POT's network simplex (``ot.emd``).

    Cost ``-1`` on ``y ∈ set(x)`` and ``0`` elsewhere; returns the maximal accepted mass. An independent
    solver (no HiGHS, no cvxpy).
    """
    import ot

    xs = list(masses)
    a = np.array([float(masses[x]) for x in xs])
    b = np.array([float(v) for v in q])
    b = b * (a.sum() / b.sum())
    M = np.zeros((len(xs), n))
    for i, x in enumerate(xs):
        for y in set(x):
            M[i, y] = -1.0
    plan = ot.emd(a, b, M, numItermax=1_000_000)
    return float(-(plan * M).sum())


# ---------------------------------------------------------------------------- hypothesis strategies
# Written here (not taken from ``lpspec.strategies``) so that a blind spot of the library's strategies cannot
# hide a bug from its own tests; ``lpspec.strategies`` is tested separately in ``test_instance.py``.
try:
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a core dependency
    st = None

DIST_KINDS = (
    "one_hot",
    "uniform",
    "near_one_hot",
    "tiny",
    "with_zeros",
    "dirichlet_small",
    "dirichlet_large",
    "dirichlet",
)


def _float_dist(kind: str, n: int, rng: np.random.Generator, hot: int) -> np.ndarray:
    if kind == "one_hot":
        v = np.zeros(n)
        v[hot] = 1.0
    elif kind == "uniform":
        v = np.full(n, 1.0 / n)
    elif kind == "near_one_hot":  # one token holds all but ~1e-6 of the mass
        v = rng.uniform(0.0, 1e-6, n)
        v[hot] = 1.0
    elif kind == "tiny":  # some masses between 1e-12 and 1e-4 beside ordinary ones
        v = rng.dirichlet(np.ones(n))
        small = rng.random(n) < 0.5
        small[hot] = False
        v[small] = 10.0 ** rng.uniform(-12, -4, int(small.sum()))
    elif kind == "with_zeros":
        v = rng.dirichlet(np.ones(n))
        zero = rng.random(n) < 0.4
        zero[hot] = False
        v[zero] = 0.0
    elif kind == "dirichlet_small":
        v = rng.dirichlet(np.full(n, 0.1))
        v[hot] += 1e-3  # keep a positive sum even if every entry underflows
    elif kind == "dirichlet_large":
        v = rng.dirichlet(np.full(n, 50.0))
    else:
        v = rng.dirichlet(np.ones(n))
    return v / v.sum()


if st is not None:

    @st.composite
    def dists(draw, n: int, exact: bool = False, kinds=DIST_KINDS):
        """A distribution of length ``n``: a float64 array of one of ``DIST_KINDS`` or a list of Fractions."""
        if exact:
            kind = draw(st.sampled_from(["one_hot", "uniform", "common", "mixed"]))
            if kind == "one_hot":
                hot = draw(st.integers(0, n - 1))
                return [Fraction(int(i == hot)) for i in range(n)]
            if kind == "uniform":
                return [Fraction(1, n)] * n
            if kind == "common":  # a common denominator, zeros allowed
                d = draw(st.integers(1, 12))
                cuts = sorted(draw(st.lists(st.integers(0, d), min_size=n - 1, max_size=n - 1)))
                return [Fraction(b - a, d) for a, b in zip([0, *cuts], [*cuts, d])]
            nums = draw(st.lists(st.integers(0, 9), min_size=n, max_size=n).filter(lambda v: sum(v) > 0))
            dens = draw(st.lists(st.integers(1, 7), min_size=n, max_size=n))
            raw = [Fraction(a, b) for a, b in zip(nums, dens)]
            s = sum(raw, Fraction(0))
            return [r / s for r in raw]
        kind = draw(st.sampled_from(kinds))
        seed = draw(st.integers(0, 2**32 - 1))
        hot = draw(st.integers(0, n - 1))
        return _float_dist(kind, n, np.random.default_rng(seed), hot)

    def _largest_n(k: int, max_n: int, max_full: int | None) -> int:
        n = max_n
        if max_full is not None:
            while n > 1 and n ** (k + 1) > max_full:
                n -= 1
        return n

    @st.composite
    def instance_kwargs(
        draw,
        *,
        laws=LAWS,
        min_n: int = 1,
        max_n: int = 8,
        min_k: int = 1,
        max_k: int = 4,
        max_full: int | None = None,
        max_tuples: int | None = None,
        exact: bool = False,
        identical: bool | None = None,
        kinds=DIST_KINDS,
    ):
        """Keyword arguments ``{"target", "drafts", "k", "law"}`` of a valid instance.

        ``max_full`` bounds ``n^K · n`` (the full LP's size); ``max_tuples`` bounds ``n^K``. A law that cannot
        produce K tokens for the drawn ``p`` gets a smaller K (the largest that works; K = 1 always works).
        """
        k = draw(st.integers(min_k, max_k))
        hi = _largest_n(k, max_n, max_full)
        if max_tuples is not None:
            while hi > 1 and hi**k > max_tuples:
                hi -= 1
        n = draw(st.integers(min(min_n, hi), hi))
        law = draw(st.sampled_from(list(laws)))
        q = draw(dists(n, exact, kinds))
        different = law == "independent" and (draw(st.booleans()) if identical is None else not identical)
        if different:
            return {
                "target": q,
                "drafts": [draw(dists(n, exact, kinds)) for _ in range(k)],
                "k": None,
                "law": law,
            }
        p = draw(dists(n, exact, kinds))
        support = sum(1 for v in p if v > 0)
        if law == "without_replacement":
            k = min(k, support)
        if law == "greedy":
            while k > 1 and (k > n or total(p[y] for y in range(n) if y not in greedy_fixed(p, k)) <= 0):
                k -= 1
        return {"target": q, "drafts": p, "k": k, "law": law}


def note_kw(kw) -> None:
    """Record the drawn instance at full precision in a failing test's report (hypothesis prints arrays
    rounded to 8 digits, which is not enough to reproduce a round-off failure)."""
    from hypothesis import note

    def plain(v):
        if isinstance(v, np.ndarray):
            return [plain(t) for t in v.tolist()]
        if isinstance(v, (list, tuple)):
            return [plain(t) for t in v]
        if isinstance(v, Fraction):
            return f"Fraction({v.numerator}, {v.denominator})"
        return repr(v) if isinstance(v, float) else v

    note(
        f"full precision: target={plain(kw['target'])}, drafts={plain(kw['drafts'])}, k={kw['k']}, "
        f"law={kw['law']!r}"
    )
