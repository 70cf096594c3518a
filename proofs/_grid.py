"""The exhaustive grids of exact instances for ``proofs/`` (rational distributions with small denominators).

Everything else the proofs compare lpspec against — draft-law tuple masses, set masses, containment, the
brute-force min-cut with all its minimisers, exact re-checks of a scheme, the two-step scheme of Theorem 1 — is
the shared independent reference ``tests/_reference.py``, which ``tests/`` use too. Like it, this file never
imports lpspec.

* :func:`simplex_grid` — every probability vector on ``n`` tokens whose entries are fractions with
  denominator ``<= max_den`` (the union of the grids ``{c / d : c in N^n, sum c = d}`` for ``d <= max_den``).
* :func:`identical_grid` — every ``(q, p, K)`` over such grids.
* :func:`is_orbit_representative` — one instance per orbit of a joint relabelling of the tokens.
* :func:`truth` — the brute-force facts :class:`_reference.Truth` of a grid instance, cached (several tests
  visit the same instances).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from functools import cache

from _reference import Truth, brute_truth, tuple_masses


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


# ---------------------------------------------------------------------------- brute-force facts, cached
@cache
def truth(q: tuple, drafts: tuple, law: str = "independent") -> Truth:
    """Cached :func:`_reference.brute_truth` for ``q`` and ``drafts``: ``(p, K)`` for identical drafts of
    ``law``, else a tuple of distributions (independent, non-identical drafts)."""
    if isinstance(drafts[-1], int):
        p, k = drafts
        masses = tuple_masses(drafts=p, k=k, law=law)
    else:
        assert law == "independent", law
        masses = tuple_masses(drafts=drafts, law=law)
    return brute_truth(q, masses)
