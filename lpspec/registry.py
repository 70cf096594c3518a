"""Facts about the schemes, kept in one place: names, labels, styles, which enumerate, which are batched.

This module imports nothing from lpspec, so every layer (the exact schemes, the batched torch backend, the
sweeps, the figures, the command line) reads the same facts without an import cycle.

* :data:`SCHEME_FACTS` — one :class:`SchemeFacts` per scheme name, in the order :func:`lpspec.compare_schemes`
  reports them (``upper_bound``, SpecTr's bound, last);
* :data:`ENUMERATING` — schemes whose exact acceptance enumerates the ``n^K`` draft tuples (limit
  :data:`MAX_SCHEME_TUPLES`); :data:`BATCHED` — schemes of :mod:`lpspec.batched`;
* shared constants: the truncated IS size :data:`DEFAULT_TRUNCATION`, SpecTr's bisection steps
  :data:`RHO_BISECTION_STEPS`;
* :func:`acceptance_column` — the table column of a scheme's acceptance, the same in ``lpspec table``,
  ``lpspec batch`` and the figures' CSV files.

Examples
--------
>>> acceptance_column("optimal"), acceptance_column("spectr"), acceptance_column("truncated_is", "sd")
('optimal_acceptance', 'spectr.membership_acc', 'truncated_is.sd_acc')
>>> SCHEME_FACTS["sir"].enumerates, SCHEME_FACTS["sir"].batched
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BATCHED",
    "DEFAULT_TRUNCATION",
    "ENUMERATING",
    "EXACT_RHO_BISECTION_STEPS",
    "MAX_SCHEME_TUPLES",
    "MAX_TRUNCATION",
    "NOT_BATCHED",
    "RHO_BISECTION_STEPS",
    "SCHEME_FACTS",
    "SchemeFacts",
    "acceptance_column",
    "scheme_label",
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


@dataclass(frozen=True)
class SchemeFacts:
    """What every layer needs to know about one scheme.

    Attributes
    ----------
    name : str
        The key used everywhere (``compare_schemes``, sweep specs, ``--schemes``).
    label : str
        Legend label (matplotlib mathtext allowed).
    color, linestyle : str
        Plot style.
    enumerates : bool
        Its exact acceptance enumerates the draft tuples (so it stops at :data:`MAX_SCHEME_TUPLES`).
    batched : bool
        Available in :mod:`lpspec.batched` (vocabulary scale).
    batched_kind : str
        What the batched backend reports: ``"membership"`` (``Pr[Y ∈ set(X)]``) or ``"sd"``
        (``Σ min(q, p_I)``, the speculative-sampling acceptance of an importance-sampling selection).
    exact : bool
        On exact (Fraction) input its acceptance is the exact rational value (not an LP float or a bisection).
    """

    name: str
    label: str
    color: str | None
    linestyle: str
    enumerates: bool = False
    batched: bool = False
    batched_kind: str = "membership"
    exact: bool = False


#: Every scheme name, in the order :func:`lpspec.compare_schemes` reports them.
SCHEME_FACTS: dict[str, SchemeFacts] = {f.name: f for f in (
    SchemeFacts("optimal", r"Optimal $P^*$ (min-cut)", "black", "-", batched=True, exact=True),
    SchemeFacts("canonical", "Canonical (Theorem 1)", "tab:green", "-", enumerates=True),
    SchemeFacts("single_draft", "Single draft", "tab:gray", ":", batched=True, exact=True),
    SchemeFacts("specinfer", "SpecInfer", "tab:orange", "-.", batched=True, exact=True),
    SchemeFacts("specinfer_wor", "SpecInfer w/o replacement", "tab:brown", "-.", enumerates=True, exact=True),
    SchemeFacts("spectr", "SpecTr", "tab:blue", "--", batched=True),
    SchemeFacts("naive", "Naive", "tab:purple", ":", batched=True, exact=True),
    SchemeFacts("sir", "SIR", "tab:red", ":", enumerates=True, exact=True),
    SchemeFacts("pairwise_is", "Pairwise IS", "tab:olive", "--", enumerates=True),
    SchemeFacts("truncated_is", "Truncated IS", "tab:cyan", "--", enumerates=True, batched=True,
                batched_kind="sd"),
    SchemeFacts("tournament", "Tournament IS", "tab:pink", "--", enumerates=True),
    SchemeFacts("upper_bound", r"Upper bound $\sum_y \min(q, \Pr[y \in X])$", "silver", ":", batched=True, exact=True),
)}

#: Schemes whose exact membership acceptance enumerates the draft tuples.
ENUMERATING = tuple(name for name, f in SCHEME_FACTS.items() if f.enumerates)
#: Schemes of the batched torch backend, in report order.
BATCHED = tuple(name for name, f in SCHEME_FACTS.items() if f.batched)
#: Schemes only in the exact (NumPy / Fraction) backend.
NOT_BATCHED = tuple(name for name, f in SCHEME_FACTS.items() if not f.batched)


def acceptance_column(name: str, kind: str = "membership") -> str:
    """The table column of scheme ``name``'s acceptance: ``optimal_acceptance``, ``upper_bound`` or
    ``<name>.membership_acc`` / ``<name>.sd_acc`` (``kind`` ``"membership"`` or ``"sd"``).

    Examples
    --------
    >>> acceptance_column("upper_bound"), acceptance_column("sir", "sd")
    ('upper_bound', 'sir.sd_acc')
    """
    if name == "optimal":
        return "optimal_acceptance"
    if name == "upper_bound":
        return "upper_bound"
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
    facts = SCHEME_FACTS.get(name)
    return facts.label if facts is not None else name
