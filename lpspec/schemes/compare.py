"""Every applicable scheme's exact acceptance on one instance, next to the optimum and the upper bound."""

from __future__ import annotations

from ..core.instance import Instance, make_instance
from ..core.keywords import DRAFTS, keyword_aliases
from ..registry import COMPARED, DEFAULT_TRUNCATION, ENUMERATING, MAX_SCHEME_TUPLES, SCHEME_SPECS, SchemeSpec
from ..solvers.optimum import optimum_for
from .base import exact_sum

__all__ = ["COMPARED", "Comparison", "compare_schemes", "compare_schemes_for", "upper_bound"]

# COMPARED (the names reported by compare_schemes, in order, the bound last) comes from lpspec.registry.

def upper_bound(inst: Instance):
    """SpecTr's bound ``P* <= Σ_y min(q(y), Pr(y ∈ set(X)))`` (docs/theory.md §5), exact for exact instances.

    Examples
    --------
    >>> upper_bound(make_instance(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2))
    0.69
    """
    inc = inst.inclusion_probability()
    return exact_sum([min(a, b) for a, b in zip(inst.target.tolist(), inc.tolist())])


class Comparison(dict):
    """``{name: acceptance}`` of the schemes computed, in report order, with ``not_computed``: ``{name: reason}``
    for every other name of :data:`COMPARED` (a scheme that does not apply to the instance, or one whose
    enumeration of the draft tuples exceeds ``MAX_SCHEME_TUPLES``). Nothing is left out silently.

    Examples
    --------
    >>> r = compare_schemes(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2, law="greedy")
    >>> "spectr" in r, r.not_computed["spectr"].startswith("does not apply")
    (False, True)
    """

    def __init__(self, values=(), not_computed=None):
        super().__init__(values)
        self.not_computed: dict[str, str] = dict(not_computed or {})


def _why_not(spec: SchemeSpec, inst: Instance) -> str | None:
    """Why the scheme of ``spec`` does not apply to ``inst`` (None: it applies; a bound always does)."""
    return None if spec.kind == "bound" else spec.load("exact").why_not(inst)


def _why_left_out(inst: Instance, name: str) -> str | None:
    """Why ``name`` is not computed on ``inst`` by default (None: it is computed)."""
    spec = SCHEME_SPECS[name]
    if spec.kind == "bound":
        return None
    reason = _why_not(spec, inst)
    if spec.same_as is not None and inst.k <= spec.same_as[0] and reason is None:
        return f"at K = {inst.k} the {name} is {spec.same_as[1]} itself"
    if reason is not None:
        return f"does not apply: {reason}"
    if spec.enumerates and inst.num_tuples() > MAX_SCHEME_TUPLES:
        return (f"would enumerate {inst.tuple_count_text()} draft tuples (limit MAX_SCHEME_TUPLES = "
                f"{MAX_SCHEME_TUPLES:,})")
    return None


def _value(spec: SchemeSpec, inst: Instance, s: int, optimum):
    """The exact acceptance of one registered entry on ``inst`` (``optimum`` reused where given)."""
    if spec.kind == "optimum":  # the row is P* itself, not the completed scheme's evaluation
        return (optimum_for(inst) if optimum is None else optimum).value
    backend = spec.load("exact")
    if spec.kind == "bound":
        return backend(inst)
    given = {"s": s, "optimum": optimum}
    return backend(inst, **{key: given[key] for key in spec.params if given[key] is not None}).acceptance


@keyword_aliases(refused=DRAFTS)
def compare_schemes(*, target, drafts, k: int | None = None, law: str = "independent",
                    s: int = DEFAULT_TRUNCATION, schemes=None) -> Comparison:
    """Exact membership acceptance ``Pr[Y ∈ set(X)]`` of every scheme that applies, in one call.

    .. math::

        P(\\mathrm{acc}) = \\sum_x P(x) \\sum_{y \\in \\mathrm{set}(x)} \\pi(y \\mid x)
        \\;\\le\\; P^* \\;\\le\\; \\sum_y \\min\\big(q(y), \\Pr(y \\in \\mathrm{set}(X))\\big)

    Names (docs/theory.md §4–§5): ``optimal`` (``P*`` by the min-cut formula, :func:`lpspec.optimal_acceptance`),
    ``canonical`` (Theorem 1), ``single_draft`` (the ``K = 1`` value ``Σ min(p_1, q)``), ``specinfer``
    (independent drafts), ``specinfer_wor`` (``law="without_replacement"``), ``spectr`` (identical
    independent drafts), ``naive``, ``sir``, ``pairwise_is`` and ``truncated_is`` (``K = 2``),
    ``tournament`` (``K > 2``, independent drafts; at ``K = 2`` it is ``pairwise_is``), and
    ``upper_bound``.

    **What is left out, and how you learn it.** With ``schemes=None`` every name that can be computed is; the
    others — a scheme that does not apply to the draft law, ``K`` or drafts, and an enumerating scheme
    (:data:`lpspec.registry.ENUMERATING`) on an instance with more than ``MAX_SCHEME_TUPLES`` draft tuples —
    are listed with the reason in the result's ``not_computed`` mapping. A name you *request* in ``schemes``
    that cannot be computed raises ``ValueError`` instead. ``lpspec solve`` decides the same way (it calls
    :func:`compare_schemes_for`) and prints ``not computed: NAME (reason)``.

    Parameters
    ----------
    target, drafts, k, law
        As in :func:`lpspec.make_instance`.
    s : int, default 5
        The truncated LP's parameter (``truncated_is``).
    schemes : sequence of str, optional
        Only these names (each must apply; otherwise ``ValueError`` with the reason).

    Returns
    -------
    Comparison
        A dict ``{name: acceptance}``: Fractions for exact input where the scheme is evaluated in rational
        arithmetic (``optimal``, rejection schemes, ``spectr``, ``naive``, ``sir``, ``upper_bound``), floats
        for the LP-based ones; ``.not_computed`` maps every other name to the reason.

    Raises
    ------
    ValueError
        Bad input; a requested scheme that does not apply, or that must enumerate more than
        ``MAX_SCHEME_TUPLES`` draft tuples.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> r = compare_schemes(target=[F(1, 3), F(1, 9), F(5, 9)], drafts=[F(1, 3)] * 3, k=2)
    >>> r["optimal"], r["spectr"], r["specinfer"]
    (Fraction(1, 1), Fraction(8, 9), Fraction(23, 27))
    """
    return compare_schemes_for(make_instance(target=target, drafts=drafts, k=k, law=law), schemes=schemes, s=s)


def compare_schemes_for(inst: Instance, schemes=None, *, s: int = DEFAULT_TRUNCATION, optimum=None) -> Comparison:
    """:func:`compare_schemes` on a built :class:`~lpspec.core.instance.Instance`.

    ``optimum`` (an :class:`~lpspec.core.results.OptimumResult` of ``inst``) is reused for ``optimal`` instead of
    being computed again.

    Examples
    --------
    >>> r = compare_schemes_for(make_instance(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2), ["naive", "upper_bound"])
    >>> dict(r), sorted(r.not_computed)[:2]
    ({'naive': 0.59, 'upper_bound': 0.69}, ['canonical', 'optimal'])
    """
    if schemes is None:
        names, left_out = [], {}
        for name in COMPARED:
            why = _why_left_out(inst, name)
            if why is None:
                names.append(name)
            else:
                left_out[name] = why
    else:
        names = [schemes] if isinstance(schemes, str) else list(schemes)
        for name in names:
            if name not in COMPARED:
                raise ValueError(
                    f"schemes: {name!r} is not a scheme name; choose from {', '.join(COMPARED)}.")
            reason = _why_not(SCHEME_SPECS[name], inst)
            if reason is not None:
                raise ValueError(f"schemes: {name!r} does not apply: {reason}")
        heavy = [name for name in names if name in ENUMERATING]
        if heavy and inst.num_tuples() > MAX_SCHEME_TUPLES:
            raise ValueError(
                f"{', '.join(heavy)} need an enumeration of {inst.tuple_count_text()} draft tuples (limit "
                f"{MAX_SCHEME_TUPLES:,}); leave them out of the selected schemes (e.g. "
                f"{', '.join(n for n in COMPARED if not SCHEME_SPECS[n].enumerates)}), or use a smaller instance."
            )
        left_out = {name: "not requested" for name in COMPARED if name not in names}
    out = Comparison(not_computed=left_out)
    for name in names:
        out[name] = _value(SCHEME_SPECS[name], inst, s, optimum)
    return out
