"""One registered entry per scheme, draft law and solve method: the facts every layer reads, and lazy pointers to
the code that evaluates each of them.

This module imports nothing from lpspec (its pointers are ``"module:attr"`` strings, imported on demand by
:meth:`SchemeSpec.load`), so every layer — the exact schemes, the batched torch backend, block efficiency, the
sweeps, the figures, the command line — reads the same table without an import cycle.

* :data:`SCHEME_SPECS` — one :class:`SchemeSpec` per name, in the order :func:`lpspec.compare_schemes` reports
  them (``upper_bound``, SpecTr's bound, last, as a row of ``kind="bound"``). Two families: ``level="token"``
  (token-level selection schemes, evaluated per position) and ``level="sequence"`` (block verifiers evaluated
  on whole draft trees, through the ``block`` pointer);
* :data:`LAW_SPECS` — one :class:`LawSpec` per draft law; :data:`METHOD_SPECS` — one :class:`MethodSpec` per
  solve method of :func:`lpspec.optimal_acceptance`;
* derived tuples: :data:`TOKEN_SCHEMES`, :data:`COMPARED`, :data:`ENUMERATING`, :data:`BATCHED`,
  :data:`NOT_BATCHED`, :data:`CLOSED_FORM_SCHEMES`, :data:`LAWS`, :data:`METHODS`;
* shared constants: the truncated IS size :data:`DEFAULT_TRUNCATION`, SpecTr's bisection steps
  :data:`RHO_BISECTION_STEPS`, and the default scheme lists of the figures, sweeps and block tables;
* :func:`acceptance_column` — the table column of a scheme's acceptance, the same in ``lpspec table``,
  ``lpspec batch`` and the figures' CSV files.

Adding a scheme is its module plus one :class:`SchemeSpec` in :data:`SCHEME_SPECS` (docs/guide/add_a_scheme.md).

Examples
--------
>>> acceptance_column("optimal"), acceptance_column("spectr"), acceptance_column("truncated_is", "sd")
('optimal_acceptance', 'spectr.membership_acc', 'truncated_is.sd_acc')
>>> SCHEME_SPECS["sir"].enumerates, SCHEME_SPECS["sir"].batched
(True, False)
>>> SCHEME_SPECS["specinfer"].load("exact").__name__
'SpecInfer'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

__all__ = [
    "BATCHED",
    "BLOCK_TABLE_SCHEMES",
    "CLOSED_FORM_SCHEMES",
    "COMPARED",
    "DEFAULT_BLOCK_SCHEME",
    "DEFAULT_TRUNCATION",
    "ENUMERATING",
    "EXACT_RHO_BISECTION_STEPS",
    "FIGURE2_SCHEMES",
    "FIGURE_SCHEMES",
    "LAWS",
    "LAW_SPECS",
    "LawSpec",
    "MAX_SCHEME_TUPLES",
    "MAX_TRUNCATION",
    "METHODS",
    "METHOD_SPECS",
    "MethodSpec",
    "MissingBackendError",
    "NOT_BATCHED",
    "OPTIMAL",
    "RHO_BISECTION_STEPS",
    "SCHEME_FACTS",
    "SCHEME_SPECS",
    "SEQUENCE_SCHEMES",
    "SWEEP_SCHEMES",
    "SchemeFacts",
    "SchemeSpec",
    "TOKEN_SCHEMES",
    "UPPER_BOUND",
    "acceptance_column",
    "load_pointer",
    "scheme_label",
    "scheme_spec",
]

#: The truncated pairwise LP's default ``s`` (``truncated_is``; the paper uses 5 to 15).
DEFAULT_TRUNCATION = 5
#: Largest ``s`` of the batched truncated LP (its ``2^s`` cuts are enumerated).
MAX_TRUNCATION = 16
#: Bisection steps for SpecTr's ``ρ*`` in floats (the loops stop earlier once the bracket cannot shrink).
RHO_BISECTION_STEPS = 200
#: Bisection steps for SpecTr's ``ρ*`` in exact rationals.
EXACT_RHO_BISECTION_STEPS = 64
#: Largest number of draft tuples a scheme enumerates (one Python call of ``conditional`` per tuple).
MAX_SCHEME_TUPLES = 200_000

#: What :meth:`SchemeSpec.load` accepts, and the spec field each name reads.
_BACKENDS = {"exact": "cls", "batched": "batched_fn", "multiplicity": "multiplicity_fn", "block": "block_fn",
             "applies": "applies_fn", "sampler": "sampler_fn"}


class MissingBackendError(LookupError):
    """A registered entry has no such backend, or its module/attribute cannot be imported."""


def load_pointer(pointer: str, what: str = "backend"):
    """Import ``"package.module:attr"`` and return the attribute (``attr`` may be dotted).

    Raises
    ------
    MissingBackendError
        When the module or the attribute is absent, naming the pointer.

    Examples
    --------
    >>> load_pointer("math:sqrt")(4.0)
    2.0
    """
    module_name, sep, attr = pointer.partition(":")
    if not sep or not module_name or not attr:
        raise MissingBackendError(f"{what} pointer {pointer!r} must read 'package.module:attr'.")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingBackendError(f"{what} {pointer!r}: module {module_name!r} cannot be imported ({exc}).") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise MissingBackendError(f"{what} {pointer!r}: {module_name} has no attribute {attr!r}.") from None
    return obj


@dataclass(frozen=True)
class SchemeSpec:
    """Everything lpspec needs to know about one scheme: facts, and lazy pointers to its backends.

    Attributes
    ----------
    name : str
        The key used everywhere (``compare_schemes``, sweep specs, ``--schemes``).
    label : str
        Legend label (matplotlib mathtext allowed).
    color, linestyle : str
        Plot style.
    level : {"token", "sequence"}
        ``"token"``: a token-level selection scheme (one verification step on ``K`` drafts of one position);
        ``"sequence"``: a block verifier evaluated on whole draft trees (its ``block`` pointer).
    kind : {"scheme", "optimum", "bound"}
        ``"optimum"``: the optimal acceptance ``P*`` (a scheme that attains it); ``"bound"``: an upper bound,
        not a scheme (no sampler; its ``exact`` pointer is a function ``inst -> value``).
    enumerates : bool
        Its exact acceptance enumerates the draft tuples (so it stops at :data:`MAX_SCHEME_TUPLES`).
    batched_kind : str
        What the batched backend reports: ``"membership"`` (``Pr[Y ∈ set(X)]``) or ``"sd"``
        (``Σ min(q, p_I)``, the speculative-sampling acceptance of an importance-sampling selection).
    exact : bool
        On exact (Fraction) input its acceptance is the exact rational value (not an LP float or a bisection).
    one_draft : bool
        Uses the first draft only (block tables evaluate it at ``K = 1``).
    params : tuple of str
        Keywords of :func:`lpspec.compare_schemes_for` its exact constructor takes (``s``, ``optimum``).
    same_as : tuple (int, str) or None
        ``(K0, other)``: for ``K <= K0`` it is the scheme ``other`` itself (left out of default comparisons).
    cls : str or None
        ``"module:attr"`` of the exact backend: a :class:`lpspec.schemes.Scheme` subclass
        (``cls(inst, **params).acceptance``), or for ``kind="bound"`` a function ``inst -> value``.
    batched_fn : str or None
        ``"module:attr"`` of ``fn(batch, shared) -> (B,) tensor`` (:mod:`lpspec.batched.schemes`).
    applies_fn : str or None
        ``"module:attr"`` of ``fn(batch) -> None or the reason the batched form does not apply``.
    multiplicity_fn : str or None
        ``"module:attr"`` of the closed form ``fn(q, p, j) -> a`` of shape (C, n, j) (:mod:`lpspec.sequence.multiplicity`);
        a token scheme without one gets ``a(y, m)`` by enumeration of its ``conditional``.
    block_fn : str or None
        ``"module:attr"`` of a sequence-level evaluator (``level="sequence"``).
    sampler_fn : str or None
        ``"module:attr"`` of ``fn(q, p, j) -> verifier`` used by :func:`lpspec.sequence.decode.decode` instead of the
        exact class (the optimal scheme's rank-space verifier).
    """

    name: str
    label: str
    color: str | None
    linestyle: str
    level: str = "token"
    kind: str = "scheme"
    enumerates: bool = False
    batched_kind: str = "membership"
    exact: bool = False
    one_draft: bool = False
    params: tuple = ()
    same_as: tuple | None = None
    cls: str | None = None
    batched_fn: str | None = None
    applies_fn: str | None = None
    multiplicity_fn: str | None = None
    block_fn: str | None = None
    sampler_fn: str | None = None
    description: str = field(default="", compare=False)

    def __post_init__(self):
        if self.level not in ("token", "sequence"):
            raise ValueError(f"SchemeSpec {self.name!r}: level={self.level!r} must be 'token' or 'sequence'.")
        if self.kind not in ("scheme", "optimum", "bound"):
            raise ValueError(f"SchemeSpec {self.name!r}: kind={self.kind!r} must be 'scheme', 'optimum' or 'bound'.")
        if self.batched_kind not in ("membership", "sd"):
            raise ValueError(f"SchemeSpec {self.name!r}: batched_kind must be 'membership' or 'sd'.")

    @property
    def batched(self) -> bool:
        """Available in :mod:`lpspec.batched` (vocabulary scale)."""
        return self.batched_fn is not None

    def has(self, backend: str) -> bool:
        """Whether the entry names a pointer for ``backend`` (a key of :meth:`load`)."""
        return getattr(self, _field(backend)) is not None

    def load(self, backend: str):
        """Import and return the object a pointer names: ``"exact"``, ``"batched"``, ``"multiplicity"``,
        ``"block"``, ``"applies"`` or ``"sampler"``.

        Raises
        ------
        MissingBackendError
            The scheme has no such backend (with the backends it has), or its module cannot be imported.

        Examples
        --------
        >>> SCHEME_SPECS["sir"].load("batched")
        Traceback (most recent call last):
        ...
        lpspec.registry.MissingBackendError: scheme 'sir' has no batched backend; it has: exact.
        """
        pointer = getattr(self, _field(backend))
        if pointer is None:
            have = [b for b in _BACKENDS if getattr(self, _BACKENDS[b]) is not None]
            raise MissingBackendError(f"scheme {self.name!r} has no {backend} backend; it has: "
                                      f"{', '.join(have) or 'none'}.")
        return load_pointer(pointer, f"scheme {self.name!r} {backend} backend")


def _field(backend: str) -> str:
    try:
        return _BACKENDS[backend]
    except KeyError:
        raise ValueError(f"backend={backend!r} is not known; choose one of {', '.join(_BACKENDS)}.") from None


#: The old name of :class:`SchemeSpec` (the facts part of it); kept for one release.
SchemeFacts = SchemeSpec

_S = "lpspec.schemes."
_B = "lpspec.batched.schemes:"
_M = "lpspec.sequence.multiplicity:"
_Q = "lpspec.sequence.block_schemes:"

#: Every scheme, in the order :func:`lpspec.compare_schemes` reports them (``upper_bound`` last).
SCHEME_SPECS: dict[str, SchemeSpec] = {s.name: s for s in (
    SchemeSpec("optimal", r"Optimal $P^*$ (min-cut)", "black", "-", kind="optimum", exact=True,
               cls=_S + "optimal:OptimalScheme", batched_fn=_B + "batched_optimal",
               applies_fn=_B + "identical_drafts_only", multiplicity_fn=_M + "_optimal",
               sampler_fn="lpspec.sequence.decode:_optimal_sampler"),
    SchemeSpec("canonical", "Canonical (Theorem 1)", "tab:green", "-", enumerates=True, params=("optimum",),
               cls=_S + "optimal:CanonicalScheme"),
    SchemeSpec("single_draft", "Single draft", "tab:gray", ":", exact=True, one_draft=True,
               cls=_S + "rejection:SingleDraft", batched_fn=_B + "batched_single_draft",
               multiplicity_fn=_M + "_single_draft"),
    SchemeSpec("specinfer", "SpecInfer", "tab:orange", "-.", exact=True, cls=_S + "rejection:SpecInfer",
               batched_fn=_B + "batched_specinfer", applies_fn=_B + "specinfer_rounds_fit",
               multiplicity_fn=_M + "_specinfer"),
    SchemeSpec("specinfer_wor", "SpecInfer w/o replacement", "tab:brown", "-.", enumerates=True, exact=True,
               cls=_S + "rejection:SpecInferWithoutReplacement"),
    SchemeSpec("spectr", "SpecTr", "tab:blue", "--", cls=_S + "spectr:SpecTr", batched_fn=_B + "batched_spectr",
               applies_fn=_B + "identical_drafts_for_spectr", multiplicity_fn=_M + "_spectr"),
    SchemeSpec("naive", "Naive", "tab:purple", ":", exact=True, cls=_S + "naive:NaiveSampling",
               batched_fn=_B + "batched_naive"),
    SchemeSpec("sir", "SIR", "tab:red", ":", enumerates=True, exact=True, cls=_S + "importance:SIR"),
    SchemeSpec("pairwise_is", "Pairwise IS", "tab:olive", "--", enumerates=True, cls=_S + "importance:PairwiseIS"),
    SchemeSpec("truncated_is", "Truncated IS", "tab:cyan", "--", enumerates=True, batched_kind="sd", params=("s",),
               cls=_S + "importance:TruncatedIS", batched_fn=_B + "batched_truncated_is",
               applies_fn=_B + "two_drafts_only"),
    SchemeSpec("tournament", "Tournament IS", "tab:pink", "--", enumerates=True, same_as=(2, "pairwise_is"),
               cls=_S + "importance:Tournament"),
    SchemeSpec("upper_bound", r"Upper bound $\sum_y \min(q, \Pr[y \in X])$", "silver", ":", kind="bound",
               exact=True, cls="lpspec.schemes.compare:upper_bound", batched_fn=_B + "batched_upper_bound"),
    # the sequence level: block verifiers evaluated on whole draft trees (exact tau and continuation tables)
    SchemeSpec("block_verification", "Block verification (Sun et al., K = 1)", "tab:green", "-", level="sequence",
               exact=True, one_draft=True, block_fn=_Q + "block_verification"),
    SchemeSpec("stepwise_optimal", "Best depth-by-depth tree", "darkgreen", "--", level="sequence", exact=True,
               block_fn=_Q + "stepwise_optimal"),
    SchemeSpec("traversal", "Traversal verification", "tab:purple", "-.", level="sequence", exact=True,
               block_fn=_Q + "traversal"),
)}

#: The old name of :data:`SCHEME_SPECS`; kept for one release.
SCHEME_FACTS = SCHEME_SPECS
#: Name of the optimum's row (``kind="optimum"``) and of the bound's row (``kind="bound"``).
OPTIMAL = next(name for name, s in SCHEME_SPECS.items() if s.kind == "optimum")
UPPER_BOUND = next(name for name, s in SCHEME_SPECS.items() if s.kind == "bound")
#: Token-level schemes with an exact class (:data:`lpspec.schemes.SCHEMES`), in report order.
TOKEN_SCHEMES = tuple(name for name, s in SCHEME_SPECS.items()
                      if s.level == "token" and s.kind != "bound" and s.cls is not None)
#: Names reported by :func:`lpspec.compare_schemes`, in order (the bound last).
COMPARED = tuple(name for name, s in SCHEME_SPECS.items() if s.level == "token" and s.cls is not None)
#: Schemes whose exact membership acceptance enumerates the draft tuples.
ENUMERATING = tuple(name for name, s in SCHEME_SPECS.items() if s.enumerates)
#: Schemes of the batched torch backend, in report order.
BATCHED = tuple(name for name, s in SCHEME_SPECS.items() if s.batched)
#: Token-level names only in the exact (NumPy / Fraction) backend.
NOT_BATCHED = tuple(name for name in COMPARED if not SCHEME_SPECS[name].batched)
#: Schemes whose ``a(y, m)`` table has a closed form in :mod:`lpspec.sequence.multiplicity`.
CLOSED_FORM_SCHEMES = tuple(name for name, s in SCHEME_SPECS.items() if s.multiplicity_fn is not None)

#: Sequence-level block verifiers (``level="sequence"``), reachable as ``block_efficiency(..., scheme=NAME)``.
SEQUENCE_SCHEMES = tuple(name for name, s in SCHEME_SPECS.items() if s.level == "sequence")

#: Default scheme of :func:`lpspec.sequence.blocks.block_efficiency` and :func:`lpspec.sequence.decode.decode`.
DEFAULT_BLOCK_SCHEME = "specinfer"
#: Default schemes of :func:`lpspec.sequence.blocks.block_efficiency_table` and ``lpspec blocks``.
BLOCK_TABLE_SCHEMES = ("single_draft", "specinfer", "spectr")
#: Default schemes of the acceptance-vs-K figures and ``lpspec figure``.
FIGURE_SCHEMES = ("specinfer", "spectr", "sir")
#: The schemes of Figure 2 (Khisti et al. 2025), in legend order.
FIGURE2_SCHEMES = ("optimal", "spectr", "specinfer")
#: Default schemes of a sweep spec.
SWEEP_SCHEMES = ("single_draft", "specinfer", "spectr", "sir", "naive")


def scheme_spec(name: str, backend: str | None = None) -> SchemeSpec:
    """The registered entry ``name``; with ``backend``, one that has that backend.

    Raises
    ------
    ValueError
        Unknown name (with the choices), or no such backend (with the names that have it).

    Examples
    --------
    >>> scheme_spec("spectr").label
    'SpecTr'
    >>> scheme_spec("sir", "batched")
    Traceback (most recent call last):
    ...
    ValueError: scheme 'sir' has no batched backend; choose one of optimal, single_draft, specinfer, spectr, naive, truncated_is, upper_bound.
    """
    spec = SCHEME_SPECS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"scheme {name!r} is not registered; choose one of {', '.join(SCHEME_SPECS)}.")
    if backend is not None and not spec.has(backend):
        have = [n for n, s in SCHEME_SPECS.items() if s.has(backend)]
        raise ValueError(f"scheme {name!r} has no {backend} backend; choose one of {', '.join(have)}.")
    return spec


def acceptance_column(name: str, kind: str = "membership") -> str:
    """The table column of scheme ``name``'s acceptance: ``optimal_acceptance``, ``upper_bound`` or
    ``<name>.membership_acc`` / ``<name>.sd_acc`` (``kind`` ``"membership"`` or ``"sd"``).

    Examples
    --------
    >>> acceptance_column("upper_bound"), acceptance_column("sir", "sd")
    ('upper_bound', 'sir.sd_acc')
    """
    spec = SCHEME_SPECS.get(name)
    if spec is not None and spec.kind == "optimum":
        return "optimal_acceptance"
    if spec is not None and spec.kind == "bound":
        return name
    if kind not in ("membership", "sd"):
        raise ValueError(f"kind={kind!r} must be 'membership' or 'sd'.")
    return f"{name}.{'membership_acc' if kind == 'membership' else 'sd_acc'}"


def scheme_label(name: str) -> str:
    """The legend label of a scheme (its name when unknown).

    Examples
    --------
    >>> scheme_label("spectr"), scheme_label("mine")
    ('SpecTr', 'mine')
    """
    spec = SCHEME_SPECS.get(name)
    return spec.label if spec is not None else name


# ---------------------------------------------------------------------------------------------- draft laws
@dataclass(frozen=True)
class LawSpec:
    """One draft law: the joint law of the draft tuple ``X = (X_1..X_K)`` (docs/theory.md §1, §6).

    Attributes
    ----------
    name : str
        The ``law=`` value of :func:`lpspec.make_instance` and ``--law``.
    description : str
        One line for ``--help`` and the docs.
    identical_only : bool
        Defined by one draft distribution ``p`` (``drafts=p`` with ``k=K``).
    tuples : str
        ``"module:attr"`` of ``fn(inst) -> (tuples (T, K) int64, mass (T,))``: every tuple of positive
        probability and ``P(x)``.
    set_mass : str or None
        ``"module:attr"`` of ``fn(inst, mask) -> Pr(set(X) ⊆ S)`` in closed form (None: summed over the
        enumerated set table).
    count : str
        ``"module:attr"`` of ``fn(inst) -> int``, the number of tuples of positive probability.
    sample : str
        ``"module:attr"`` of ``fn(inst, rng, size) -> (size, K) int64`` draft tuples.
    check : str or None
        ``"module:attr"`` of ``fn(inst) -> None``, raising ``ValueError`` when the law cannot draw on ``inst``.
    inclusion : str or None
        ``"module:attr"`` of ``fn(inst) -> Pr(y ∈ set(X))`` of shape (n,) in closed form (None: from the set table).
    """

    name: str
    description: str
    tuples: str
    count: str
    sample: str
    set_mass: str | None = None
    identical_only: bool = False
    check: str | None = None
    inclusion: str | None = None

    def load(self, what: str):
        """Import the pointer ``what`` (``"tuples"``, ``"set_mass"``, ``"count"``, ``"sample"``, ``"check"``).

        Examples
        --------
        >>> LAW_SPECS["greedy"].load("count").__name__
        '_count_greedy'
        """
        if what not in ("tuples", "set_mass", "count", "sample", "check", "inclusion"):
            raise ValueError(f"what={what!r} must be tuples, set_mass, count, sample, check or inclusion.")
        pointer = getattr(self, what)
        if pointer is None:
            raise MissingBackendError(f"law {self.name!r} has no {what} pointer.")
        return load_pointer(pointer, f"law {self.name!r} {what}")


_I = "lpspec.core.instance:"
_D = "lpspec.schemes.base:"

#: Every draft law, in the order of ``--law``'s choices (the first is the default).
LAW_SPECS: dict[str, LawSpec] = {s.name: s for s in (
    LawSpec("independent", "X_k ~ p_k independently (with replacement)", tuples=_I + "_independent_tuples",
            count=_I + "_count_independent", sample=_D + "_sample_independent",
            set_mass=_I + "_independent_set_mass", inclusion=_I + "_independent_inclusion"),
    LawSpec("without_replacement", "successive sampling from p without replacement",
            tuples=_I + "_without_replacement_tuples", count=_I + "_count_without_replacement",
            sample=_D + "_sample_without_replacement", identical_only=True, check=_I + "_check_without_replacement"),
    LawSpec("greedy", "the top K-1 tokens of p, then one draw from p on the rest", tuples=_I + "_greedy_tuples",
            count=_I + "_count_greedy", sample=_D + "_sample_greedy", set_mass=_I + "_greedy_set_mass",
            identical_only=True, check=_I + "_check_greedy"),
)}
#: Draft law names, in order.
LAWS = tuple(LAW_SPECS)


# ---------------------------------------------------------------------------------------------- solve methods
@dataclass(frozen=True)
class MethodSpec:
    """One solve method of :func:`lpspec.optimal_acceptance` (all evaluate the min-cut formula).

    Attributes
    ----------
    name : str
        The ``method=`` value.
    description : str
        One line for the docs.
    solve : str
        ``"module:attr"`` of ``fn(inst, progress) -> OptimumResult``.
    auto_when : str or None
        ``"module:attr"`` of ``fn(inst) -> bool``: ``method="auto"`` takes the first method, in registry order,
        whose predicate holds (None: never chosen by ``auto``; ``"always"``: the last resort).
    """

    name: str
    description: str
    solve: str
    auto_when: str | None = None

    def load(self, what: str = "solve"):
        """Import ``solve`` or ``auto_when``."""
        if what not in ("solve", "auto_when"):
            raise ValueError(f"what={what!r} must be 'solve' or 'auto_when'.")
        pointer = getattr(self, what)
        if pointer is None or pointer == "always":
            raise MissingBackendError(f"method {self.name!r} has no {what} pointer.")
        return load_pointer(pointer, f"method {self.name!r} {what}")


_O = "lpspec.solvers.optimum:"

#: Every solve method, in the order ``method="auto"`` tries them.
METHOD_SPECS: dict[str, MethodSpec] = {s.name: s for s in (
    MethodSpec("sorted_prefix", "identical independent drafts: the best prefix of the q/p order (any n)",
               _O + "_solve_sorted_prefix", "lpspec.solvers.closed_forms:sorted_prefix_applies"),
    MethodSpec("greedy_formula", "the greedy law's closed form", _O + "_solve_greedy_formula",
               "lpspec.solvers.closed_forms:greedy_applies"),
    MethodSpec("subsets", "all 2^n sets (n <= 20; exact input n <= 14)", _O + "_solve_subsets",
               "lpspec.solvers.subsets:subsets_fit"),
    MethodSpec("exact_max_flow", "the rational max-flow of lpspec.certify (exact input, few draft sets)",
               _O + "_solve_exact_max_flow", _O + "_exact_max_flow_fits"),
    MethodSpec("submodular", "branch and bound over the submodular cut function (independent drafts, any n)",
               _O + "_solve_submodular", _O + "_independent_law"),
    MethodSpec("lp", "the merged max-flow LP (a float answer)", _O + "_solve_lp", "always"),
)}
#: ``method=`` values of :func:`lpspec.optimal_acceptance`: ``"auto"`` and every registered method.
METHODS = ("auto", *METHOD_SPECS)
