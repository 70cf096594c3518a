"""A target and a draft law: tuple enumeration, tuple masses, set masses (docs/theory.md §1, §6).

An :class:`Instance` holds the target ``q`` (shape ``(n,)``), the drafts ``p_1..p_K`` (shape ``(K, n)``) and the
draft law, which fixes the joint law ``P(x)`` of the draft tuple ``x = (x_1, ..., x_K)``:

* ``"independent"``: ``P(x) = prod_k p_k(x_k)``;
* ``"without_replacement"`` (identical drafts): ``P(x) = prod_j p(x_j) / sum_{t not in x_1..x_{j-1}} p(t)``
  on tuples of distinct tokens, each denominator a sum of the remaining masses (never ``1 - ...``);
* ``"greedy"`` (identical drafts, Hu et al. 2025): the top ``K-1`` tokens ``T`` of ``p`` (ties to the lower
  index) are fixed and the last draft is drawn from ``p`` restricted to ``T^c``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import numpy as np

from ..registry import LAW_SPECS, LAWS, LawSpec
from .arith import EXACT, FLOAT, Arith, arith_of
from .distributions import Distribution, as_distribution
from .keywords import DRAFTS, keyword_aliases

__all__ = ["LAWS", "Instance", "TupleTable", "SetTable", "make_instance", "MAX_ENUMERATED_TUPLES", "MAX_K",
           "MAX_EXACT_K", "MASS_TOLERANCE", "MassInvariantError"]

# LAWS (the draft law names) and their code: lpspec.registry.LAW_SPECS.

#: Largest number of draft tuples lpspec enumerates (a guard against n**K blowing up memory).
MAX_ENUMERATED_TUPLES = 4_000_000
#: Largest number of drafts K (float input): every integer up to 2^53 is exact in float64, so ``K log(1 - t)``
#: is evaluated without rounding K. Identical drafts are stored as a broadcast view (no ``K x n`` copy).
MAX_K = 2**53
#: Largest K for exact (Fraction) input: ``(1 - t)^K`` in rationals has about ``K`` times the digits of ``t``.
MAX_EXACT_K = 10_000
#: Largest ``|Σ_x P(x) - 1|`` of a float tuple table; beyond it :class:`MassInvariantError` is raised.
MASS_TOLERANCE = 1e-9


class MassInvariantError(ArithmeticError):
    """The tuple masses of a draft law do not sum to one: lpspec refuses to report a number from them."""


def _check_total(mass: np.ndarray, arith: Arith, law: str) -> None:
    """Raise :class:`MassInvariantError` unless ``Σ mass = 1`` (exactly, or within :data:`MASS_TOLERANCE`)."""
    total = arith.sum(mass)  # Σ over no tuple is the arithmetic's zero
    if not arith.close(total, arith.one, MASS_TOLERANCE):  # exactly 1 for rationals
        raise MassInvariantError(
            f"the draft tuples of law={law!r} have total mass {total!r}, not 1; lpspec refuses to report a "
            "number computed from them (please report this instance as a bug).")


def _scaled_product(mant: np.ndarray, expo: np.ndarray, num: np.ndarray, den: np.ndarray):
    """``(mant · 2^expo) · num / den`` kept as a mantissa in ``[0.5, 1)`` and an int64 exponent.

    Products and quotients of probabilities cannot underflow this way (subnormal inputs included): only the
    final :func:`numpy.ldexp` rounds, and only a mass below ``2^-1074`` becomes 0.
    """
    mn, en = np.frexp(num)
    md, ed = np.frexp(den)
    m, e = np.frexp(mant * mn / md)
    return m, expo + en.astype(np.int64) - ed.astype(np.int64) + e.astype(np.int64)


@dataclass(frozen=True)
class TupleTable:
    """Draft tuples with their probabilities.

    Attributes
    ----------
    tuples : ndarray of int, shape (N, K)
    mass : ndarray, shape (N,)
        ``P(x)`` (float64, or object Fractions for exact instances).
    set_index : ndarray of int, shape (N,)
        Row of ``SetTable.sets`` holding ``set(x)``.
    """

    tuples: np.ndarray
    mass: np.ndarray
    set_index: np.ndarray


@dataclass(frozen=True)
class SetTable:
    """Distinct draft sets ``set(x)`` with their masses ``Pr(set(X) = A)`` (docs/theory.md §2, merged form).

    Attributes
    ----------
    sets : ndarray of int, shape (M, K)
        Each row lists the tokens of one set in increasing order, padded with ``-1``.
    mass : ndarray, shape (M,)
        Sum of ``P(x)`` over the tuples with that set (positive terms only).
    """

    sets: np.ndarray
    mass: np.ndarray

    def members(self, i: int) -> list[int]:
        return [int(t) for t in self.sets[i] if t >= 0]

    @cached_property
    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """``(set_id, token)`` arrays, one entry per pair with ``token in set``."""
        rows, cols = np.nonzero(self.sets >= 0)
        return rows.astype(np.int64), self.sets[rows, cols].astype(np.int64)


@dataclass(frozen=True, eq=False)
class Instance:
    """A target distribution and a draft law. Build it with :func:`make_instance`.

    Attributes
    ----------
    target : ndarray, shape (n,)
        ``q``.
    drafts : ndarray, shape (K, n)
        ``p_1, ..., p_K`` (identical rows for identical drafts).
    law : str
        One of :data:`LAWS`.
    identical : bool
        True when all drafts are the same distribution.
    exact : bool
        True when every probability is a :class:`~fractions.Fraction`.
    renormalised : tuple of str
        Names of the float inputs that were divided by their sum.
    """

    target: np.ndarray
    drafts: np.ndarray
    law: str
    identical: bool
    exact: bool
    renormalised: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        return int(self.target.shape[0])

    @property
    def k(self) -> int:
        return int(self.drafts.shape[0])

    @property
    def draft(self) -> np.ndarray:
        """The common draft ``p`` (identical drafts only)."""
        if not self.identical:
            raise ValueError("this instance has different drafts; use .drafts[k] for draft k.")
        return self.drafts[0]

    @property
    def arith(self) -> Arith:
        """The arithmetic of this instance: :data:`lpspec.core.arith.EXACT` (Fractions) or :data:`lpspec.core.arith.FLOAT`."""
        return EXACT if self.exact else FLOAT  # deliberate: the instance's arithmetic, decided here once

    def zero(self):
        return self.arith.zero

    def one(self):
        return self.arith.one

    # ------------------------------------------------------------------ tuples and sets
    def num_tuples(self) -> int:
        """Number of tuples of positive probability (before enumeration; the law's ``count``)."""
        return self.law_spec.load("count")(self)

    def tuple_count_text(self) -> str:
        """:meth:`num_tuples` for a message: ``"1,024"``, or ``"about 10^301"`` when it is astronomical."""
        count = self.num_tuples()
        if count < 10**15:
            return f"{count:,}"
        if self.identical and self.law == "independent":
            m = int(np.count_nonzero(self.draft > 0))
            return f"about 10^{self.k * math.log10(m):.0f}"
        return f"about 10^{math.log10(count):.0f}"

    def check_enumerable(self, what: str, limit: int = MAX_ENUMERATED_TUPLES) -> None:
        """Raise ``ValueError`` when ``what`` would need more than ``limit`` draft tuples."""
        count = self.num_tuples()
        if count > limit:
            raise ValueError(
                f"{what} enumerates {self.tuple_count_text()} draft tuples (n={self.n}, K={self.k}), more than the "
                f"limit {limit:,}; lower n or K, or use what needs no enumeration: optimal_acceptance "
                "(sorted prefix, identical independent drafts, any n) or the batched backend."
            )

    @property
    def law_spec(self) -> LawSpec:
        """The draft law's entry of :data:`lpspec.registry.LAW_SPECS`."""
        return LAW_SPECS[self.law]

    @cached_property
    def greedy_fixed(self) -> np.ndarray:
        """The ``K-1`` fixed tokens of the greedy law, by decreasing ``p`` (ties to the lower index)."""
        p = self.draft
        order = sorted(range(self.n), key=lambda i: (-p[i], i))
        return np.array(order[: self.k - 1], dtype=np.int64)

    def _greedy_rest_mask(self) -> np.ndarray:
        mask = np.ones(self.n, dtype=bool)
        mask[self.greedy_fixed] = False
        return mask

    @cached_property
    def tuple_table(self) -> TupleTable:
        """All draft tuples of positive probability, with ``P(x)`` (docs/theory.md §1, §6)."""
        self.check_enumerable("tuple enumeration")
        tuples, mass = self.law_spec.load("tuples")(self)
        _check_total(mass, self.arith, self.law)
        keys = canonical_set_keys(tuples, self.n)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        return TupleTable(tuples, mass, inverse.ravel().astype(np.int64))

    @cached_property
    def tuple_rows(self) -> dict:
        """``{x: row of tuple_table}`` for every tuple of positive probability (even if its float mass is 0)."""
        return {tuple(t): i for i, t in enumerate(self.tuple_table.tuples.tolist())}

    @cached_property
    def set_table(self) -> SetTable:
        """Distinct ``set(x)`` and ``Pr(set(X) = A)``, each a sum of positive tuple masses."""
        tt = self.tuple_table
        keys = canonical_set_keys(tt.tuples, self.n)
        uniq = np.unique(keys, axis=0)
        M = uniq.shape[0]
        mass = self.arith.bincount(tt.set_index, tt.mass, M)  # in tuple order, in either arithmetic
        sets = np.where(uniq >= self.n, -1, uniq)
        return SetTable(sets.astype(np.int64), mass)

    # ------------------------------------------------------------------ cut quantities (docs/theory.md §3)
    def subset_mass(self, dist: np.ndarray, mask: np.ndarray):
        return self.arith.sum(dist[np.asarray(mask, dtype=bool)])

    def containment_probability(self, mask) -> float | Fraction:
        """``Pr(set(X) ⊆ S)`` for the set ``S`` given as a boolean mask of shape (n,)."""
        mask = np.asarray(mask, dtype=bool)
        if self.law_spec.set_mass is not None:  # the law's closed form
            return self.law_spec.load("set_mass")(self, mask)
        st = self.set_table
        inside = np.all(np.where(st.sets >= 0, mask[np.maximum(st.sets, 0)], True), axis=1)
        return self.arith.sum(st.mass[inside])

    def cut_value(self, mask) -> float | Fraction:
        """``q(S) + 1 - Pr(set(X) ⊆ S)``: an upper bound on every exact scheme's acceptance (docs/theory.md §3)."""
        mask = np.asarray(mask, dtype=bool)
        return self.subset_mass(self.target, mask) + self.one() - self.containment_probability(mask)

    def inclusion_probability(self) -> np.ndarray:
        """``Pr(y ∈ set(X))`` for every token ``y``, shape (n,)."""
        if self.law_spec.inclusion is not None:  # the law's closed form
            return self.law_spec.load("inclusion")(self)
        st = self.set_table
        out = self.arith.zeros(self.n)
        sid, tok = st.edges
        np.add.at(out, tok, st.mass[sid])  # in edge order, in either arithmetic
        return out

    def describe(self) -> str:
        kind = "identical" if self.identical else "different"
        return f"n={self.n}, K={self.k} {kind} drafts, law={self.law}" + self.arith.pick(exact=", exact", floats="")


def canonical_set_keys(tuples: np.ndarray, n: int) -> np.ndarray:
    """Rows of ``tuples`` mapped to the sorted distinct tokens of each row, padded with ``n``."""
    keys = np.sort(tuples, axis=1)
    if keys.shape[1] > 1:
        dup = np.zeros_like(keys, dtype=bool)
        dup[:, 1:] = keys[:, 1:] == keys[:, :-1]
        keys = np.sort(np.where(dup, n, keys), axis=1)
    return keys


def _length(values) -> int | None:
    """Number of entries of a 1-D vector (None when it is not 1-D: validation reports that)."""
    if isinstance(values, Distribution):
        return values.n
    shape = getattr(values, "shape", None)
    if shape is None:
        try:
            shape = np.shape(np.asarray(values, dtype=object))
        except (TypeError, ValueError):
            return None
    return int(shape[0]) if len(shape) == 1 else None


def _is_single_distribution(drafts) -> bool:
    if isinstance(drafts, Distribution):
        return True
    if hasattr(drafts, "ndim") and not isinstance(drafts, (list, tuple)):
        return drafts.ndim == 1
    if isinstance(drafts, (list, tuple)):
        return len(drafts) > 0 and all(
            isinstance(v, (int, float, complex, Fraction, np.integer, np.floating, np.complexfloating)) for v in drafts
        )
    return False


@keyword_aliases(refused=DRAFTS)
def make_instance(*, target, drafts, k: int | None = None, law: str = "independent") -> Instance:
    """Validate and assemble an instance (docs/theory.md §1, §6).

    Parameters
    ----------
    target : array-like, shape (n,)
        The target distribution ``q``.
    drafts : array-like, shape (n,) with ``k``, or (K, n) / list of K arrays without ``k``
        One distribution and ``k`` for K identical drafts, or one distribution per draft.
    k : int, optional
        Number of identical drafts; required with a single distribution, forbidden with a list.
    law : {"independent", "without_replacement", "greedy"}
        The joint law of the draft tuple. The last two need identical drafts.

    Returns
    -------
    Instance

    Examples
    --------
    >>> inst = make_instance(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2)
    >>> inst.n, inst.k, inst.identical
    (2, 2, True)
    """
    if law not in LAW_SPECS:
        raise ValueError(f"law={law!r} is not a draft law; choose one of {', '.join(LAWS)}.")
    if isinstance(k, bool) or (k is not None and not isinstance(k, (int, np.integer))):
        raise ValueError(f"k={k!r} must be a positive integer (the number of drafts).")
    for name, value in (("target", target), ("drafts", drafts)):
        if value is None:
            raise ValueError(f"{name} is required: pass target=q and drafts=p with k=K (identical drafts) or "
                             "drafts=[p_1, ..., p_K].")
    q = as_distribution(target, "target")
    single = _is_single_distribution(drafts)
    # shapes before sums: a draft of the wrong length is a shape error, not "does not sum to 1"
    if single:
        lens = [_length(drafts)] * (min(int(k), 8) if isinstance(k, (int, np.integer)) and k >= 1 else 1)
    elif isinstance(drafts, (list, tuple)) or getattr(drafts, "ndim", 0) == 2:
        lens = [_length(d) for d in drafts]
    else:
        lens = []
    if any(v is not None and v != q.n for v in lens):
        raise ValueError(
            f"target has length {q.n} but drafts have lengths {lens}; every distribution must live on the "
            "same vocabulary (a draft file with a missing column?)."
        )
    if single:
        if k is None:
            raise ValueError(
                "drafts is a single distribution, so k (the number of identical drafts) is required: "
                "pass k=K, or pass a list of K distributions."
            )
        if k < 1:
            raise ValueError(f"k={k} must be at least 1 (the number of drafts).")
        if k > MAX_K:
            raise ValueError(
                f"k={k} is larger than {MAX_K} (2^53), the largest number of drafts lpspec evaluates "
                "(beyond it K is not exact in float64); pass k <= 2^53.")
        p = as_distribution(drafts, "drafts")
        if p.exact and k > MAX_EXACT_K:
            raise ValueError(
                f"k={k} with exact (Fraction) input: (1 - t)^K in rational arithmetic needs about K times "
                f"the digits of t; lpspec allows k <= {MAX_EXACT_K} for exact input. Pass floats for larger k.")
        rows = [p]
        identical = True
    else:
        if k is not None:
            raise ValueError(
                "k was given together with a list of drafts; the list already fixes K. Drop k, or pass "
                "one distribution with k for identical drafts."
            )
        seq = list(drafts)
        if len(seq) < 1:
            raise ValueError("drafts is an empty list; K must be at least 1.")
        rows = [as_distribution(d, f"drafts[{i}]") for i, d in enumerate(seq)]
        identical = all(np.array_equal(r.values, rows[0].values) for r in rows)
    all_d = [q, *rows]
    exact = {d.exact for d in all_d}
    if len(exact) > 1:
        raise ValueError(
            "target and drafts mix Fractions and floats; pass all of them as Fractions (exact) or all "
            "as floats."
        )
    is_exact = exact.pop()
    lengths = {d.n for d in all_d}
    if len(lengths) > 1:
        raise ValueError(
            f"target has length {q.n} but drafts have lengths "
            f"{[r.n for r in rows] if not single else [rows[0].n] * min(int(k), 8)}; every distribution "
            "must live on the same vocabulary."
        )
    K = int(k) if single else len(rows)
    if not single and is_exact and K > MAX_EXACT_K:
        raise ValueError(f"{K} exact (Fraction) drafts: lpspec allows at most {MAX_EXACT_K} for exact input.")
    dtype = arith_of([d.values for d in all_d]).dtype  # mixing was refused above: one arithmetic
    if single:  # K identical rows: a read-only broadcast view, no K x n copy (any K <= 2^53)
        max_k_view = np.iinfo(np.intp).max // (q.n * rows[0].values.itemsize)
        if K > max_k_view:  # numpy refuses a view whose nominal size K * n * 8 bytes exceeds its index range
            raise ValueError(
                f"k={K} with n={q.n} tokens: the K x n view of the drafts exceeds numpy's array size limit "
                f"(K * n * 8 bytes < 2^63); pass k <= {max_k_view}.")
        drafts_arr = np.broadcast_to(rows[0].values, (K, q.n))
    else:
        drafts_arr = np.empty((K, q.n), dtype=dtype)
        for i, r in enumerate(rows):
            drafts_arr[i] = r.values
    named = [("drafts", rows[0])] if single else [(f"drafts[{i}]", r) for i, r in enumerate(rows)]
    renorm = tuple(name for name, d in [("target", q), *named] if d.renormalised)
    if LAW_SPECS[law].identical_only and not identical:
        raise ValueError(
            f"law={law!r} needs identical drafts: pass drafts=p with k=K (the law is defined by one p)."
        )
    inst = Instance(q.values, drafts_arr, law, identical, is_exact, renorm)
    if LAW_SPECS[law].check is not None:
        LAW_SPECS[law].load("check")(inst)
    return inst


# ---------------------------------------------------------------------------------------------- the draft laws
# One function per law and question; lpspec.registry.LAW_SPECS points at them ("module:attr"), and Instance asks
# the registry, so a new law is its functions plus one LawSpec.
def _independent_tuples(inst: Instance):
    """``independent``: every tuple of the supports, ``P(x) = Π_k p_k(x_k)``."""
    supports = [np.flatnonzero(row > 0) for row in inst.drafts]
    grids = np.meshgrid(*supports, indexing="ij")
    tuples = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    mass = inst.drafts[0][tuples[:, 0]].copy()
    for k in range(1, inst.k):  # products of numbers <= 1: no intermediate underflow below the result
        mass = mass * inst.drafts[k][tuples[:, k]]
    return tuples, mass


def _greedy_tuples(inst: Instance):
    """``greedy``: the fixed top ``K-1`` tokens, then ``y`` with ``p(y) / p(rest)``."""
    p, K = inst.draft, inst.k
    rest = np.flatnonzero(inst._greedy_rest_mask() & (p > 0))
    denom = inst.arith.sum(p[inst._greedy_rest_mask()])
    tuples = np.empty((rest.size, K), dtype=np.int64)
    tuples[:, : K - 1] = inst.greedy_fixed
    tuples[:, K - 1] = rest
    return tuples, inst.arith.array([p[y] / denom for y in rest])


def _remaining(prefixes: np.ndarray, n: int) -> np.ndarray:
    """``out[j, y]``: token ``y`` is not in prefix ``j``, shape (len(prefixes), n)."""
    remaining = np.ones((prefixes.shape[0], n), dtype=bool)
    np.put_along_axis(remaining, prefixes, False, axis=1)
    return remaining


def _extend(prefixes: np.ndarray, remaining: np.ndarray, support: np.ndarray):
    """Every prefix extended by each remaining supported token: ``(longer prefixes, parent row, new token)``."""
    nxt, parents, cands = [], [], []
    for j in range(prefixes.shape[0]):
        cand = support[remaining[j, support]]
        nxt.append(np.concatenate([np.repeat(prefixes[j][None, :], cand.size, 0), cand[:, None]], 1))
        parents.append(np.full(cand.size, j))
        cands.append(cand)
    return np.concatenate(nxt, axis=0), np.concatenate(parents), np.concatenate(cands)


def _without_replacement_tuples(self: Instance):
    """``without_replacement``: successive sampling, ``P(x) = Π_i p(x_i) / p(Ω \\ {x_<i})``."""
    p = self.draft
    support = np.flatnonzero(p > 0)
    prefixes = support[:, None]
    mass = p[support].copy()  # P(x_1) = p(x_1) / p(Omega), and p(Omega) = 1 after validation
    # the remaining mass after each prefix is a sum of the positive masses left, not 1 - sum(prefix)
    if self.exact:  # deliberate, the one exact/float branch here: rationals need no care against underflow
        for _ in range(1, self.k):
            remaining = _remaining(prefixes, self.n)
            rem = np.array([self.arith.sum(p[r]) for r in remaining], dtype=object)
            prefixes, parent, cand = _extend(prefixes, remaining, support)
            mass = mass[parent] * p[cand] / rem[parent]
        return prefixes.astype(np.int64), mass
    # floats carry the masses in mantissa/exponent form, so that mass · p / rem cannot underflow (docs/theory.md §6)
    mant, expo = np.frexp(mass)
    expo = expo.astype(np.int64)
    for _ in range(1, self.k):
        remaining = _remaining(prefixes, self.n)
        rem = np.where(remaining, p[None, :], 0.0).sum(axis=1)
        prefixes, parent, cand = _extend(prefixes, remaining, support)
        mant, expo = _scaled_product(mant[parent], expo[parent], p[cand], rem[parent])
    return prefixes.astype(np.int64), np.ldexp(mant, expo)


def _count_independent(inst: Instance) -> int:
    if inst.identical:
        m = int(np.count_nonzero(inst.draft > 0))
        if m > 1 and inst.k * math.log2(m) > 4096:  # astronomically many: a bound, not the number
            return 2**4096
        return m**inst.k
    return math.prod(int(np.count_nonzero(row > 0)) for row in inst.drafts)


def _count_without_replacement(inst: Instance) -> int:
    return math.perm(int(np.count_nonzero(inst.draft > 0)), inst.k)


def _count_greedy(inst: Instance) -> int:
    return int(np.count_nonzero(inst._greedy_rest_mask() & (inst.draft > 0)))


def _independent_set_mass(inst: Instance, mask: np.ndarray):
    """``Pr(set(X) ⊆ S) = Π_k p_k(S)``."""
    if inst.identical:
        return inst.subset_mass(inst.draft, mask) ** inst.k
    out = inst.one()
    for row in inst.drafts:
        out = out * inst.subset_mass(row, mask)
    return out


def _greedy_set_mass(inst: Instance, mask: np.ndarray):
    """``Pr(set(X) ⊆ S) = p(S ∩ rest) / p(rest)`` when ``S`` holds the fixed tokens, else 0."""
    if not np.all(mask[inst.greedy_fixed]):
        return inst.zero()
    rest = inst._greedy_rest_mask()
    return inst.subset_mass(inst.draft, mask & rest) / inst.subset_mass(inst.draft, rest)


def _independent_inclusion(inst: Instance) -> np.ndarray:
    """``Pr(y ∈ set(X)) = 1 - Π_k (1 - p_k(y))``."""
    if inst.identical:  # 1 - (1 - p)^K, without cancellation in floats (Arith.one_minus_power), any K
        return inst.arith.one_minus_power(inst.draft, inst.k)
    miss = inst.arith.array([inst.one()] * inst.n)
    for row in inst.drafts:
        miss = miss * (inst.one() - row)
    return inst.one() - miss


def _check_without_replacement(inst: Instance) -> None:
    support = int(np.count_nonzero(inst.draft > 0))
    if support < inst.k:
        raise ValueError(
            f"law='without_replacement' cannot draw K={inst.k} distinct tokens: drafts has only {support} "
            f"tokens of positive mass. Lower k to at most {support}, or use law='independent'."
        )


def _check_greedy(inst: Instance) -> None:
    K = inst.k
    if K > inst.n:
        raise ValueError(f"law='greedy' needs K <= n; got K={K}, n={inst.n}. Lower k.")
    if not np.any(inst.draft[inst._greedy_rest_mask()] > 0):
        raise ValueError(
            f"law='greedy' cannot draw the last draft: p puts no mass outside its top K-1={K - 1} "
            "tokens. Lower k, or use law='independent'."
        )
