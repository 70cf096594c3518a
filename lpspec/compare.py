"""Every applicable scheme's exact acceptance on one instance, next to the optimum and the upper bound."""

from __future__ import annotations

from .instance import Instance, make_instance
from .keywords import DRAFTS, keyword_aliases
from .optimum import optimum_for
from .registry import ENUMERATING
from .schemes import MAX_SCHEME_TUPLES, SCHEMES
from .schemes.base import exact_sum
from .schemes.importance import DEFAULT_TRUNCATION

__all__ = ["COMPARED", "Comparison", "compare_schemes", "compare_schemes_for", "upper_bound"]

#: Names reported by :func:`compare_schemes`, in order (``upper_bound`` last).
COMPARED = (*SCHEMES, "upper_bound")

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


def _why_left_out(inst: Instance, name: str) -> str | None:
    """Why ``name`` is not computed on ``inst`` by default (None: it is computed)."""
    if name == "upper_bound":
        return None
    if name == "tournament" and inst.k <= 2 and SCHEMES[name].applies_to(inst):
        return "at K = 2 the tournament is pairwise_is itself"
    reason = SCHEMES[name].why_not(inst)
    if reason is not None:
        return f"does not apply: {reason}"
    if name in ENUMERATING and inst.num_tuples() > MAX_SCHEME_TUPLES:
        return (f"would enumerate {inst.tuple_count_text()} draft tuples (limit MAX_SCHEME_TUPLES = "
                f"{MAX_SCHEME_TUPLES:,})")
    return None


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
    """:func:`compare_schemes` on a built :class:`~lpspec.instance.Instance`.

    ``optimum`` (an :class:`~lpspec.results.OptimumResult` of ``inst``) is reused for ``optimal`` instead of
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
            if name != "upper_bound":
                reason = SCHEMES[name].why_not(inst)
                if reason is not None:
                    raise ValueError(f"schemes: {name!r} does not apply: {reason}")
        heavy = [name for name in names if name in ENUMERATING]
        if heavy and inst.num_tuples() > MAX_SCHEME_TUPLES:
            raise ValueError(
                f"{', '.join(heavy)} need an enumeration of {inst.tuple_count_text()} draft tuples (limit "
                f"{MAX_SCHEME_TUPLES:,}); leave them out of the selected schemes (e.g. optimal, specinfer, spectr, naive, "
                "single_draft, upper_bound), or use a smaller instance."
            )
        left_out = {name: "not requested" for name in COMPARED if name not in names}
    out = Comparison(not_computed=left_out)
    for name in names:
        if name == "upper_bound":
            out[name] = upper_bound(inst)
        elif name == "optimal":
            out[name] = (optimum_for(inst) if optimum is None else optimum).value
        elif name == "truncated_is":
            out[name] = SCHEMES[name](inst, s=s).acceptance
        elif name == "canonical" and optimum is not None:
            out[name] = SCHEMES[name](inst, optimum=optimum).acceptance
        else:
            out[name] = SCHEMES[name](inst).acceptance
    return out
