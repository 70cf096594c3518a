"""Every applicable scheme's exact acceptance on one instance, next to the optimum and the upper bound."""

from __future__ import annotations

from .instance import Instance, make_instance
from .optimum import optimum_for
from .schemes import MAX_SCHEME_TUPLES, SCHEMES
from .schemes.base import exact_sum
from .schemes.importance import DEFAULT_TRUNCATION

__all__ = ["COMPARED", "compare_schemes", "upper_bound"]

#: Names reported by :func:`compare_schemes`, in order (``upper_bound`` last).
COMPARED = (*SCHEMES, "upper_bound")

#: Schemes whose exact membership acceptance needs an enumeration of the draft tuples.
_ENUMERATING = ("canonical", "specinfer_wor", "sir", "pairwise_is", "truncated_is", "tournament")


def upper_bound(inst: Instance):
    """SpecTr's bound ``P* <= Σ_y min(q(y), Pr(y ∈ set(X)))`` (docs/theory.md §5), exact for exact instances.

    Examples
    --------
    >>> upper_bound(make_instance(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2))
    0.69
    """
    inc = inst.inclusion_probability()
    return exact_sum([min(a, b) for a, b in zip(inst.target.tolist(), inc.tolist())])


def _default_names(inst: Instance) -> list[str]:
    names = [name for name, cls in SCHEMES.items() if cls.applies_to(inst)]
    if inst.k <= 2 and "tournament" in names:  # at K = 2 the tournament is pairwise_is itself
        names.remove("tournament")
    return names


def compare_schemes(*, target, drafts, k: int | None = None, law: str = "independent",
                    s: int = DEFAULT_TRUNCATION, schemes=None) -> dict:
    """Exact membership acceptance ``Pr[Y ∈ set(X)]`` of every scheme that applies, in one call.

    .. math::

        P(\\mathrm{acc}) = \\sum_x P(x) \\sum_{y \\in \\mathrm{set}(x)} \\pi(y \\mid x)
        \\;\\le\\; P^* \\;\\le\\; \\sum_y \\min\\big(q(y), \\Pr(y \\in \\mathrm{set}(X))\\big)

    Names (docs/theory.md §4–§5): ``optimal`` (``P*`` by the min-cut formula, :func:`lpspec.optimal_acceptance`),
    ``canonical`` (Theorem 1), ``single_draft`` (the ``K = 1`` value ``Σ min(p_1, q)``), ``specinfer``
    (independent drafts), ``specinfer_wor`` (``law="without_replacement"``), ``spectr`` (identical
    independent drafts), ``naive``, ``sir``, ``pairwise_is`` and ``truncated_is`` (``K = 2``),
    ``tournament`` (``K > 2``, independent drafts; at ``K = 2`` it is ``pairwise_is``), and
    ``upper_bound``. Schemes that do not apply to the draft law are omitted.

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
    dict
        ``{name: acceptance}``: Fractions for exact input where the scheme is evaluated in rational
        arithmetic (``optimal``, rejection schemes, ``spectr``, ``naive``, ``sir``, ``upper_bound``), floats
        for the LP-based ones.

    Raises
    ------
    ValueError
        Bad input; a requested scheme that does not apply; or schemes that must enumerate more than
        ``MAX_SCHEME_TUPLES`` draft tuples (pass ``schemes=`` without them).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> r = compare_schemes(target=[F(1, 3), F(1, 9), F(5, 9)], drafts=[F(1, 3)] * 3, k=2)
    >>> r["optimal"], r["spectr"], r["specinfer"]
    (Fraction(1, 1), Fraction(8, 9), Fraction(23, 27))
    """
    inst = make_instance(target=target, drafts=drafts, k=k, law=law)
    if schemes is None:
        names = [*_default_names(inst), "upper_bound"]
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
    heavy = [name for name in names if name in _ENUMERATING]
    if heavy and inst.num_tuples() > MAX_SCHEME_TUPLES:
        raise ValueError(
            f"{', '.join(heavy)} need an enumeration of {inst.tuple_count_text()} draft tuples (limit "
            f"{MAX_SCHEME_TUPLES:,}); pass schemes= without them (e.g. optimal, specinfer, spectr, naive, "
            "single_draft, upper_bound), or use a smaller instance."
        )
    out = {}
    for name in names:
        if name == "upper_bound":
            out[name] = upper_bound(inst)
        elif name == "optimal":
            out[name] = optimum_for(inst).value
        elif name == "truncated_is":
            out[name] = SCHEMES[name](inst, s=s).acceptance
        else:
            out[name] = SCHEMES[name](inst).acceptance
    return out
