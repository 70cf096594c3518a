"""The interface every token-level selection scheme implements, and the helpers the schemes share.

A *selection scheme* (docs/theory.md §1) is a conditional law ``π(y | x)`` of the output token ``y`` given the draft
tuple ``x = (x_1, ..., x_K)``. It is *exact* when ``Σ_x P(x) π(y | x) = q(y)`` for every ``y``, and its
(membership) acceptance is

.. math::

    P(\\mathrm{acc}) = \\sum_x P(x) \\sum_{y \\in \\mathrm{set}(x)} \\pi(y \\mid x)
    = \\Pr[Y \\in \\{X_1, \\dots, X_K\\}].

A built-in scheme is a :class:`Scheme` subclass, built for one :class:`~lpspec.core.instance.Instance` (plus its
parameters). It gives

* :meth:`Scheme.conditional` — the exact law ``π(· | x)``, shape ``(n,)`` (Fractions for exact instances
  where the scheme keeps them);
* :meth:`Scheme.sample` — one output token for ``x``, drawn with a :class:`numpy.random.Generator` by running
  the algorithm itself (so that Monte Carlo tests exercise the sampling code, not the formula);
* :meth:`Scheme.output_distribution` and :meth:`Scheme.enumerated_acceptance` — exact, by enumerating the
  draft tuples of ``inst.tuple_table`` (refused with a ``ValueError`` beyond :data:`MAX_SCHEME_TUPLES` tuples);
* :attr:`Scheme.acceptance` — the exact membership acceptance, from a closed form where the scheme has one
  (:meth:`Scheme.closed_form_acceptance`) and by enumeration otherwise.

Importance-sampling schemes (Theorem 1's step 1 followed by single-draft speculative sampling) derive from
:class:`ImportanceScheme`, which adds ``beta(x)``, :attr:`~ImportanceScheme.intermediate` (``p_I``) and
:attr:`~ImportanceScheme.sd_acceptance` ``= Σ_y min(q(y), p_I(y))``, and evaluates the two-step scheme with
:func:`lpspec.theory.decomposition.two_step_from_beta`.
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar

import numpy as np

from ..core.arith import EXACT, FLOAT, Arith, arith_of
from ..core.instance import Instance, make_instance
from ..core.keywords import DRAFTS, keyword_aliases

__all__ = [
    "MAX_SCHEME_TUPLES",
    "ImportanceScheme",
    "Scheme",
    "acceptance_ratio",
    "exact_sum",
    "float_instance",
    "residual",
    "resolve_instance",
    "sample_drafts",
]

#: Largest number of draft tuples a scheme enumerates (one Python call of ``conditional`` per tuple).
from ..registry import MAX_SCHEME_TUPLES  # noqa: E402  (facts about schemes live in lpspec.registry)


# ---------------------------------------------------------------------------------------------- helpers
@keyword_aliases(refused=DRAFTS)
def resolve_instance(instance=None, *, target=None, drafts=None, k=None, law="independent") -> Instance:
    """The :class:`~lpspec.core.instance.Instance` given, or one built by :func:`~lpspec.make_instance`.

    Exactly one of ``instance`` and (``target``, ``drafts``) must be given.

    Examples
    --------
    >>> resolve_instance(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2).k
    2
    """
    if instance is not None:
        if not isinstance(instance, Instance):
            raise ValueError(
                f"instance must be an lpspec Instance (from make_instance); got {type(instance).__name__}. "
                "Or pass target=, drafts=, k=, law= by keyword."
            )
        if target is not None or drafts is not None or k is not None:
            raise ValueError("pass either an Instance or target=/drafts=/k=/law= keywords, not both.")
        return instance
    if target is None or drafts is None:
        raise ValueError("a scheme needs an Instance, or target= and drafts= (with k= for identical drafts).")
    return make_instance(target=target, drafts=drafts, k=k, law=law)


def float_instance(inst: Instance) -> Instance:
    """``inst`` itself for float instances; a float64 copy of an exact (Fraction) instance.

    Used by the schemes whose parameters come from a floating-point LP solve.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> inst = make_instance(target=[F(1, 2), F(1, 2)], drafts=[F(1, 4), F(3, 4)], k=2)
    >>> float_instance(inst).exact
    False
    """
    if not inst.exact:  # deliberate: the conversion itself
        return inst
    drafts = inst.drafts.astype(np.float64)
    target = inst.target.astype(np.float64)
    if inst.identical:
        return make_instance(target=target, drafts=drafts[0], k=inst.k, law=inst.law)
    return make_instance(target=target, drafts=list(drafts), law=inst.law)


def exact_sum(values):
    """Sum of a sequence: exact for Fractions (``Fraction`` result), ``math.fsum`` for floats.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> exact_sum([F(1, 3), F(2, 3)]), exact_sum([0.1] * 10)
    (Fraction(1, 1), 1.0)
    """
    vals = list(values.tolist() if isinstance(values, np.ndarray) else values)
    return arith_of(vals).sum(vals)  # a Fraction anywhere: an exact sum; else math.fsum


def tuple_weighted_sum(inst: Instance, table: np.ndarray, arith: Arith) -> np.ndarray:
    """``Σ_x P(x) table[x, ·]`` over the rows of ``inst.tuple_table``, shape (n,): exact for Fractions,
    ``math.fsum`` per column for floats (``arith``)."""
    mass = arith.array(inst.tuple_table.mass)
    return arith.array([arith.sum(mass * table[:, y]) for y in range(inst.n)])


def residual(r: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The normalised residual ``(r - p)^+ / Σ (r - p)^+``, shape (n,).

    When ``(r - p)^+`` is zero everywhere (``r == p``) a rejection has probability zero and the residual is
    never sampled; ``r`` itself is returned so that the result is still a distribution.

    Examples
    --------
    >>> residual(np.array([0.75, 0.25]), np.array([0.5, 0.5]))
    array([1., 0.])
    """
    arith = arith_of(r)
    diff = arith.array([a - b if a > b else arith.zero for a, b in zip(r, p)])
    total = exact_sum(diff)
    if total <= 0:
        return r.copy()
    return diff / total


def acceptance_ratio(r_y, p_y):
    """``min(1, r(y) / p(y))``; ``1`` when ``p(y) = 0 < r(y)`` and ``0`` when both are zero.

    (``p(y) = 0`` only happens for draft tuples of probability zero, where any convention is exact.)

    Examples
    --------
    >>> acceptance_ratio(0.25, 0.5), acceptance_ratio(0.5, 0.25), acceptance_ratio(0.0, 0.0)
    (0.5, 1.0, 0.0)
    """
    arith = arith_of([r_y, p_y])  # exact when either is a Fraction
    if p_y > 0:
        ratio = r_y / p_y
        return arith.one if ratio >= 1 else arith.scalar(ratio)
    return arith.one if r_y > 0 else arith.zero


def _draw(probs, rng: np.random.Generator) -> int:
    """One index drawn from the probability vector ``probs`` (Fractions allowed)."""
    p = np.maximum(np.asarray(probs, dtype=np.float64), 0.0)
    total = p.sum()
    if not total > 0:
        raise ValueError("cannot sample from an all-zero probability vector.")
    cdf = np.cumsum(p / total)
    idx = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return min(idx, p.size - 1)


def sample_drafts(inst: Instance, rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw ``size`` draft tuples from the instance's draft law, shape (size, K) of int64.

    * ``independent``: ``X_k ~ p_k`` independently;
    * ``without_replacement``: successive sampling from ``p``, drawn as the Gumbel-top-K of ``log p`` (the
      order of the top-K of ``log p + Gumbel`` has exactly the successive-sampling law);
    * ``greedy``: the fixed top ``K-1`` tokens, then one draw from ``p`` restricted to the rest.

    No enumeration of ``Ω^K`` is needed, so this works at any ``n`` and ``K``.

    Examples
    --------
    >>> inst = make_instance(target=[0.5, 0.5], drafts=[0.5, 0.5], k=3)
    >>> sample_drafts(inst, np.random.default_rng(0), 4).shape
    (4, 3)
    """
    return inst.law_spec.load("sample")(inst, rng, size)


# The samplers of the draft laws (lpspec.registry.LAW_SPECS points at them).
def _sample_independent(inst: Instance, rng: np.random.Generator, size: int) -> np.ndarray:
    """``X_k ~ p_k`` independently."""
    cols = [rng.choice(inst.n, size=size, p=row / row.sum()) for row in inst.drafts.astype(np.float64)]
    return np.stack(cols, axis=1).astype(np.int64)


def _sample_without_replacement(inst: Instance, rng: np.random.Generator, size: int) -> np.ndarray:
    """Successive sampling as the Gumbel-top-K of ``log p``."""
    p = inst.drafts[0].astype(np.float64)
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    keys = logp[None, :] + rng.gumbel(size=(size, inst.n))
    return np.argsort(-keys, axis=1, kind="stable")[:, : inst.k].astype(np.int64)


def _sample_greedy(inst: Instance, rng: np.random.Generator, size: int) -> np.ndarray:
    """The fixed top ``K-1`` tokens, then one draw from ``p`` on the rest."""
    n, K = inst.n, inst.k
    p = inst.drafts[0].astype(np.float64)
    fixed = inst.greedy_fixed
    rest = np.ones(n, dtype=bool)
    rest[fixed] = False
    pr = np.where(rest, p, 0.0)
    last = rng.choice(n, size=size, p=pr / pr.sum())
    out = np.empty((size, K), dtype=np.int64)
    out[:, : K - 1] = fixed
    out[:, K - 1] = last
    return out


# ---------------------------------------------------------------------------------------------- Scheme
class Scheme:
    """A token-level selection scheme for one instance (docs/theory.md §1).

    Construct with an :class:`~lpspec.core.instance.Instance` or with the keywords of :func:`lpspec.make_instance`;
    subclasses add their own keyword parameters. A scheme that does not apply to the instance (wrong draft
    law, non-identical drafts, wrong ``K``) raises ``ValueError`` saying why; :meth:`applies_to` tells in
    advance.

    Parameters
    ----------
    instance : Instance, optional
        The instance; or pass ``target=``, ``drafts=``, ``k=``, ``law=``.

    Attributes
    ----------
    name : str
        Short name (the key used by :func:`lpspec.compare_schemes`).
    instance : Instance

    Examples
    --------
    >>> from lpspec.schemes import NaiveSampling
    >>> s = NaiveSampling(target=[0.5, 0.5], drafts=[1.0, 0.0], k=2)
    >>> s.conditional((0, 0)), float(s.acceptance)
    (array([0.5, 0.5]), 0.5)
    """

    name: ClassVar[str] = "scheme"
    #: One line saying what the scheme is and where it comes from.
    title: ClassVar[str] = "a selection scheme"

    @keyword_aliases(refused=DRAFTS)
    def __init__(self, instance: Instance | None = None, /, *, target=None, drafts=None, k=None,
                 law: str = "independent"):
        inst = resolve_instance(instance, target=target, drafts=drafts, k=k, law=law)
        reason = self.why_not(inst)
        if reason is not None:
            raise ValueError(f"{self.name} does not apply to this instance ({inst.describe()}): {reason}")
        self.instance = inst

    # ------------------------------------------------------------------ applicability
    @classmethod
    def why_not(cls, inst: Instance) -> str | None:
        """``None`` when the scheme applies to ``inst``; otherwise the reason and what to use instead."""
        return None

    @classmethod
    def applies_to(cls, inst: Instance) -> bool:
        """True when the scheme can be built for ``inst`` (its draft law, ``K``, identical drafts)."""
        return cls.why_not(inst) is None

    # ------------------------------------------------------------------ the scheme itself
    def _tuple(self, x) -> tuple[int, ...]:
        inst = self.instance
        try:
            t = tuple(int(v) for v in np.asarray(x).ravel())
        except (TypeError, ValueError):
            raise ValueError(f"x={x!r} must be a tuple of K={inst.k} token indices.") from None
        if len(t) != inst.k or any(v < 0 or v >= inst.n for v in t):
            raise ValueError(f"x={x!r} must be a tuple of K={inst.k} tokens in 0..{inst.n - 1}.")
        return t

    def conditional(self, x) -> np.ndarray:
        """``π(· | x)``: the output law given the draft tuple ``x``, shape (n,)."""
        raise NotImplementedError

    def sample(self, x, rng: np.random.Generator) -> int:
        """One output token for the draft tuple ``x`` (default: a draw from :meth:`conditional`)."""
        return _draw(self.conditional(self._tuple(x)), rng)

    def accepted_tokens(self, x) -> tuple[int, ...]:
        """Outputs that count as accepted for ``x``: ``set(x)`` (membership, docs/theory.md §1)."""
        return tuple(sorted(set(self._tuple(x))))

    # ------------------------------------------------------------------ exact evaluation
    @property
    def exact(self) -> bool:
        """True when this scheme computes in Fractions (exact instance and an exact-capable scheme)."""
        return bool(self.instance.exact)

    @property
    def arith(self) -> Arith:
        """The arithmetic this scheme computes in (:data:`lpspec.core.arith.EXACT` when :attr:`exact`)."""
        return EXACT if self.exact else FLOAT  # deliberate: a scheme's arithmetic follows its exact property

    def check_enumerable(self, what: str = "enumeration", limit: int = MAX_SCHEME_TUPLES) -> None:
        """``ValueError`` when exact evaluation would need more than ``limit`` draft tuples."""
        self.instance.check_enumerable(f"{self.name}: {what}", limit=limit)

    @cached_property
    def conditional_table(self) -> np.ndarray:
        """``π(· | x)`` for every row ``x`` of ``instance.tuple_table``, shape (N, n)."""
        self.check_enumerable("exact evaluation over all draft tuples")
        tt = self.instance.tuple_table
        rows = [np.asarray(self.conditional(tuple(x))) for x in tt.tuples.tolist()]
        return self.arith.array(rows)

    def output_distribution(self) -> np.ndarray:
        """``Σ_x P(x) π(· | x)`` by enumeration of the draft tuples, shape (n,) (equals ``q`` if exact)."""
        return tuple_weighted_sum(self.instance, self.conditional_table, self.arith)

    def output_error(self) -> float:
        """``max_y |output(y) - q(y)|`` by enumeration (0 for an exact scheme)."""
        out = self.output_distribution()
        return float(max(abs(a - b) for a, b in zip(out.tolist(), self.instance.target.tolist())))

    def _accepted_mask(self) -> np.ndarray:
        """Boolean (N, n): ``y`` counts as accepted for tuple row ``x``."""
        tt = self.instance.tuple_table
        n = self.instance.n
        mask = np.zeros((tt.tuples.shape[0], n), dtype=bool)
        for i, x in enumerate(tt.tuples.tolist()):
            mask[i, list(self.accepted_tokens(x))] = True
        return mask

    def enumerated_acceptance(self):
        """``Σ_x P(x) Σ_{y accepted} π(y|x)`` by enumerating every draft tuple (Fraction when exact)."""
        tt = self.instance.tuple_table
        table = self.conditional_table
        mask = self._accepted_mask()
        terms = [tt.mass[i] * exact_sum(table[i][mask[i]]) for i in range(table.shape[0])]
        return exact_sum(terms)

    def closed_form_acceptance(self):
        """The exact membership acceptance from a closed form, or ``None`` where the scheme has none."""
        return

    @property
    def acceptance(self):
        """Exact membership acceptance ``Pr[Y ∈ set(X)]``: the closed form if any, else enumeration."""
        value = self.closed_form_acceptance()
        return self.enumerated_acceptance() if value is None else value

    def __call__(self, x) -> np.ndarray:
        """Same as :meth:`conditional`: a scheme is also a callable ``x -> output law``."""
        return self.conditional(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.instance.describe()})"


# ---------------------------------------------------------------------------------------------- IS family
class ImportanceScheme(Scheme):
    """Two-step scheme of Theorem 1 (docs/theory.md §4) for a selection rule ``β``.

    Step 1 picks ``Y_I ∈ set(x)`` with probability ``β_y(x)``; step 2 accepts it with probability
    ``min(1, q(Y_I)/p_I(Y_I))`` and otherwise outputs a sample of ``(q - p_I)^+ / Σ (q - p_I)^+``, where
    ``p_I(y) = Σ_x P(x) β_y(x)``:

    .. math::

        \\pi(y \\mid x) = \\beta_y(x) \\min(1, q(y)/p_I(y))
        + \\Big(1 - \\sum_z \\beta_z(x)\\min(1, q(z)/p_I(z))\\Big) \\frac{(q - p_I)^+(y)}{\\sum (q - p_I)^+}.

    Subclasses give :meth:`beta`; they may override :attr:`intermediate` with an analytic ``p_I`` (the
    default sums ``P(x) β(x)`` over the tuples). :meth:`conditional` and :meth:`sample` use ``β(x)`` and
    ``p_I`` directly (no enumeration), :attr:`decomposition` evaluates the same scheme with
    :func:`lpspec.theory.decomposition.two_step_from_beta` over all tuples, and :attr:`acceptance` is its exact
    membership acceptance. :attr:`sd_acceptance` ``= Σ_y min(q(y), p_I(y)) <=`` :attr:`acceptance`.
    """

    def beta(self, x) -> np.ndarray:
        """``β(x)``: the step-1 selection law over tokens, zero outside ``set(x)``, shape (n,)."""
        raise NotImplementedError

    @cached_property
    def beta_table(self) -> np.ndarray:
        """``β(x)`` for every row of ``instance.tuple_table``, shape (N, n)."""
        self.check_enumerable("the selection weights of all draft tuples")
        rows = [np.asarray(self.beta(tuple(x))) for x in self.instance.tuple_table.tuples.tolist()]
        return self.arith.array(rows)

    @cached_property
    def intermediate(self) -> np.ndarray:
        """``p_I(y) = Σ_x P(x) β_y(x)``, shape (n,)."""
        return tuple_weighted_sum(self.instance, self.beta_table, self.arith)

    @property
    def sd_acceptance(self):
        """Speculative-sampling acceptance ``Σ_y min(q(y), p_I(y))`` (docs/theory.md §4); ``<=`` membership."""
        q, pI = self.instance.target, self.intermediate
        return exact_sum([min(a, b) for a, b in zip(q.tolist(), pI.tolist())])

    @cached_property
    def _step2(self):
        """``(min(1, q/p_I), normalised residual)`` of step 2."""
        q, pI = self.arith.array(self.instance.target), self.intermediate
        accept = self.arith.array([acceptance_ratio(a, b) for a, b in zip(q.tolist(), pI.tolist())])
        return accept, residual(q, pI)

    def conditional(self, x) -> np.ndarray:
        """``π(· | x)`` of the two-step scheme (formula in the class docstring), shape (n,)."""
        b = np.asarray(self.beta(self._tuple(x)))
        accept, res = self._step2
        kept = b * accept
        return kept + (1 - exact_sum(kept)) * res

    def sample(self, x, rng: np.random.Generator) -> int:
        """Run the two steps: draw ``Y_I ~ β(x)``, accept with ``min(1, q/p_I)``, else draw the residual."""
        b = self.beta(self._tuple(x))
        accept, res = self._step2
        y = _draw(b, rng)
        if rng.random() < float(accept[y]):
            return y
        return _draw(res, rng)

    @cached_property
    def decomposition(self):
        """:class:`~lpspec.theory.decomposition.CanonicalDecomposition` of ``β`` over all draft tuples (exact)."""
        from ..theory.decomposition import two_step_from_beta

        table = self.arith.renormalize_rows(self.beta_table)  # float rows: rounding repaired; rationals as is
        return two_step_from_beta(self.instance, table, method=self.name)

    def output_distribution(self) -> np.ndarray:
        """Exact output law, from :attr:`decomposition` (equals ``q`` for every ``β``), shape (n,)."""
        return self.decomposition.output_distribution()

    def enumerated_acceptance(self):
        """Exact membership acceptance ``Pr[Y ∈ set(X)]`` of the two-step scheme (:attr:`decomposition`)."""
        return self.decomposition.membership_acceptance
