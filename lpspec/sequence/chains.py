"""The input of every sequence-level function: a target and a draft chain, and the law of the start token.

One place validates what :func:`lpspec.block_optimum`, the block verifiers of
:mod:`lpspec.sequence.block_schemes` and :func:`lpspec.verify_block_scheme` take:

* ``target``, ``drafts``: row-stochastic ``(n, n)`` matrices (row = the previous token) — float64 (validated by
  :func:`lpspec.sequence.markov.as_markov_pair`, which also takes a :class:`~lpspec.sequence.markov.MarkovPair`
  as ``target``), or **exact** when every entry of both is an ``int`` or ``Fraction`` (then every row must be
  non-negative and sum to exactly 1);
* ``start``: a token id, a law of length ``n``, or ``None`` (the target chain's stationary law, in Fractions for
  exact chains).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["Chains", "exact_stationary", "is_exact", "markov_chains"]


@dataclass(frozen=True)
class Chains:
    """Validated chains: ``target`` / ``drafts`` ``(n, n)`` (float64, or Fraction objects when ``exact``) and
    ``law``, the start law (length ``n``; Fractions when exact). :attr:`starts` lists ``(token, weight > 0)``."""

    target: np.ndarray
    drafts: np.ndarray
    law: list
    exact: bool

    @property
    def n(self) -> int:
        return self.target.shape[0]

    @property
    def starts(self) -> list[tuple[int, float | Fraction]]:
        """The start tokens of positive weight, with their weights."""
        return [(s, w) for s, w in enumerate(self.law) if w > 0]


def _entries_exact(values) -> bool:
    return all(isinstance(x, (int, Fraction)) and not isinstance(x, bool) for x in values)


def is_exact(value) -> bool:
    """Every entry of the matrix or vector ``value`` is an ``int`` or ``Fraction`` (a float64 array never is).

    Examples
    --------
    >>> is_exact([[Fraction(1, 2), Fraction(1, 2)], [0, 1]]), is_exact([[0.5, 0.5], [0, 1]]), is_exact(3)
    (True, False, False)
    """
    if isinstance(value, np.ndarray) and value.dtype != object:
        return False
    try:
        rows = list(value)
        flat = [x for r in rows for x in r] if rows and not _entries_exact(rows) else rows
    except TypeError:
        return False
    return bool(flat) and _entries_exact(flat)


def _exact_matrix(value, name: str, n: int | None = None) -> np.ndarray:
    rows = [[Fraction(x) for x in r] for r in value]
    if not rows or any(len(r) != len(rows) for r in rows):
        raise ValueError(f"{name} must be a square (n, n) row-stochastic matrix (row = previous token).")
    if n is not None and len(rows) != n:
        raise ValueError(f"{name} is ({len(rows)}, {len(rows)}) but target is ({n}, {n}): one vocabulary.")
    for i, r in enumerate(rows):
        for j, x in enumerate(r):
            if x < 0:
                raise ValueError(f"{name}[{i}, {j}] = {x} is negative; every entry must be >= 0.")
        if sum(r) != 1:
            raise ValueError(f"row {i} of {name} sums to {sum(r)}, not exactly 1; exact (Fraction) rows must sum "
                             "to 1 (row c is the next-token law after token c).")
    return np.array(rows, dtype=object)


def exact_stationary(q) -> list:
    """The stationary law ``π = π q``, ``Σ π = 1`` of an exact chain, by Gaussian elimination in Fractions.

    Raises ``ValueError`` when it is not unique (several closed classes): pass ``start=`` then.

    Examples
    --------
    >>> exact_stationary([[Fraction(1, 2), Fraction(1, 2)], [Fraction(1, 4), Fraction(3, 4)]])
    [Fraction(1, 3), Fraction(2, 3)]
    """
    n = len(q)
    # (q^T - I) π = 0 with the last equation replaced by Σ π = 1
    a = [[Fraction(q[j][i]) - (1 if i == j else 0) for j in range(n)] + [Fraction(0)] for i in range(n)]
    a[-1] = [Fraction(1)] * n + [Fraction(1)]
    for col in range(n):
        piv = next((r for r in range(col, n) if a[r][col] != 0), None)
        if piv is None:
            raise ValueError("start=None: the exact target chain has no unique stationary law; pass start= (a "
                             "token id or a law).")
        a[col], a[piv] = a[piv], a[col]
        for r in range(n):
            if r != col and a[r][col] != 0:
                f = a[r][col] / a[col][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col])]
    return [a[i][n] / a[i][i] for i in range(n)]


def _is_token(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def markov_chains(target, drafts, start) -> Chains:
    """Validate a Markov pair and a start law (see the module docstring).

    Raises
    ------
    ValueError
        Naming the argument: non-square or mismatched matrices, negative entries, rows not summing to one (exactly,
        for exact chains), a start token outside ``0..n-1``, a start law of the wrong length or not a law, an exact
        chain given a float start law.

    Examples
    --------
    >>> c = markov_chains([[0.2, 0.8], [0.5, 0.5]], [[0.6, 0.4], [0.3, 0.7]], 0)
    >>> c.exact, c.n, c.starts
    (False, 2, [(0, 1.0)])
    >>> F = Fraction
    >>> markov_chains([[F(1, 2), F(1, 2)], [F(1, 4), F(3, 4)]], [[1, 0], [0, 1]], None).starts
    [(0, Fraction(1, 3)), (1, Fraction(2, 3))]
    """
    from .markov import MarkovPair, as_markov_pair

    if target is None or (drafts is None and not isinstance(target, MarkovPair)):
        raise ValueError("target= and drafts= are both needed: (n, n) row-stochastic matrices (row = previous token), "
                         "or a MarkovPair as target=.")
    exact = not isinstance(target, MarkovPair) and is_exact(target) and is_exact(drafts)
    if exact:
        q = _exact_matrix(target, "target")
        p = _exact_matrix(drafts, "drafts", q.shape[0])
        n = q.shape[0]
    else:
        pair = as_markov_pair(target, drafts, None if _is_token(start) or start is None else start)
        q, p, n = pair.target, pair.draft, pair.n
    if _is_token(start):
        if not 0 <= int(start) < n:
            raise ValueError(f"start={start!r} is outside the chain: a token id in 0..{n - 1}, a law of length {n}, "
                             "or None (the target's stationary law).")
        law = [Fraction(0) if exact else 0.0] * n
        law[int(start)] = Fraction(1) if exact else 1.0
    elif start is None and exact:
        law = exact_stationary(q)
    elif exact:
        if isinstance(start, (str, bytes)) or not is_exact(start):
            raise ValueError("start: with exact (Fraction) chains give the start law in Fractions too, or a token id.")
        law = [Fraction(x) for x in start]
        if len(law) != n or any(x < 0 for x in law) or sum(law) != 1:
            raise ValueError(f"start must be a law of length n = {n} with entries >= 0 summing to exactly 1.")
    else:  # a float start law, or None: the pair's (the target chain's stationary law unless a MarkovPair says)
        law = [float(x) for x in pair.start]
    return Chains(q, p, law, exact)
