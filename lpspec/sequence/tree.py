"""The draft tree of one block: every token string ``u`` with ``0 <= |u| <= L``, and its path probabilities.

This is the shared representation of the sequence level (docs/theory.md §14): the block LP, the block
verifiers and the lossless checker all index nodes the same way.

* A node at depth ``d`` is the string ``u = (u_1, ..., u_d)`` over the tokens ``0..n-1``; its *index* at that
  depth is ``u`` read as a base-``n`` number (``u_1`` most significant), so the nodes of depth ``d`` are
  ``0..n^d - 1`` in lexicographic order, the parent of index ``i`` at depth ``d`` is ``i // n`` at depth
  ``d - 1``, its last token ``i % n``, and its children are ``i * n + a``.
* ``P[d]`` and ``Q[d]`` (shape ``(n^d,)``) are the draft and target path probabilities
  ``P(u) = Π_i p(u_i | s_0 u_{<i})`` (``P[0] = Q[0] = [1]``).
* A continuation table ``c`` is a list of ``L + 1`` arrays, ``c[d]`` of shape ``(n^d,)``, ``c[0] = [1]``:
  ``c(u) = Pr(the output block strictly extends u)``. Lemma 2 of docs/theory.md §14 says a block law is
  lossless iff ``0 <= c(ua) <= q(a | u) c(u)`` for every node ``u`` and token ``a``; then the block law is
  ``μ(ua) = q(a | u) c(u) - c(ua)`` (``c = 0`` at depth ``L + 1``) and ``τ = 1 + Σ_{u ≠ ∅} c(u)``.

Entries are float64, or Python ``Fraction`` objects (``dtype=object``) when both chains are given exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["DEFAULT_MAX_NODES", "BlockTree", "LosslessReport", "block_tree", "bounded_power", "c_from_block_law",
           "tree_size"]

#: Largest tree (``Σ_{d=0..L} n^d`` nodes) built without an explicit ``max_nodes``.
DEFAULT_MAX_NODES = 5_000_000


def tree_size(n: int, length: int) -> int:
    """Number of nodes ``Σ_{d=0..L} n^d`` of the tree of depth ``L`` over ``n`` tokens.

    Examples
    --------
    >>> tree_size(2, 3), tree_size(50, 3)
    (15, 127551)

    Sizes beyond ``2^1024`` are returned as ``math.inf`` (a size guard never builds a huge integer, so a
    hostile ``length=10**9`` is refused at once instead of hanging).
    """
    n, length = int(n), int(length)
    if n <= 1:
        return length + 1
    if (length + 1) * math.log2(n) > 1024:
        return math.inf
    return (n ** (length + 1) - 1) // (n - 1)


def bounded_power(n: int, exponent: int):
    """``n ** exponent`` as an exact int, or ``math.inf`` when it exceeds ``2^1024`` (for size guards).

    Examples
    --------
    >>> bounded_power(2, 10), bounded_power(2, 10 ** 9)
    (1024, inf)
    """
    n, exponent = int(n), int(exponent)
    if n >= 2 and exponent * math.log2(n) > 1024:
        return math.inf
    return n ** exponent


@dataclass(frozen=True)
class LosslessReport:
    """Lemma 2 checked on a continuation table: ``ok``, the most negative block mass ``min μ`` (``worst``),
    the first failing block (a token tuple, or None) and ``τ``."""

    ok: bool
    worst: float | Fraction
    failing_block: tuple | None
    tau: float | Fraction


@dataclass(frozen=True)
class BlockTree:
    """The tree of one block from start token ``start`` (see the module docstring for the indexing).

    Attributes
    ----------
    n, length, start : int
        Vocabulary size, draft length ``L``, the context token the block starts from.
    target, draft : (n, n) ndarray
        ``q(a | c)`` and ``p(a | c)`` (row = previous token), float64 or Fraction objects.
    P, Q : list of ndarray
        ``P[d]``, ``Q[d]``: draft / target path probabilities of the ``n^d`` nodes of depth ``d = 0..L``.
    exact : bool
        Entries are Fractions.
    """

    n: int
    length: int
    start: int
    target: np.ndarray
    draft: np.ndarray
    P: list
    Q: list
    exact: bool

    @property
    def size(self) -> int:
        """Number of nodes, root included."""
        return tree_size(self.n, self.length)

    def last_tokens(self, d: int) -> np.ndarray:
        """The context token of every node of depth ``d`` (the start token at the root), shape ``(n^d,)``."""
        if d == 0:
            return np.array([self.start])
        return np.arange(self.n ** d) % self.n

    def target_next(self, d: int) -> np.ndarray:
        """``q(a | u)`` for every node ``u`` of depth ``d < L + 1`` and token ``a``, shape ``(n^d, n)``."""
        return self.target[self.last_tokens(d)]

    def draft_next(self, d: int) -> np.ndarray:
        """``p(a | u)`` for every node ``u`` of depth ``d``, shape ``(n^d, n)``."""
        return self.draft[self.last_tokens(d)]

    def index(self, u) -> int:
        """Index of the token string ``u`` at its depth (``u`` read in base ``n``)."""
        i = 0
        for a in u:
            i = i * self.n + int(a)
        return i

    def string(self, d: int, i: int) -> tuple:
        """The token string of index ``i`` at depth ``d``."""
        out = []
        for _ in range(d):
            i, a = divmod(i, self.n)
            out.append(a)
        return tuple(reversed(out))

    def tau(self, c) -> float | Fraction:
        """``τ = 1 + Σ_{u ≠ ∅} c(u)`` of a continuation table ``c`` (exact when ``c`` holds Fractions)."""
        total = sum((_sum(level) for level in c[1:]), start=Fraction(1) if self.exact else 1.0)
        return total

    def block_law(self, c) -> list:
        """``μ[d]`` (shape ``(n^d,)``, ``d = 1..L+1``, index ``0`` unused): ``μ(ua) = q(a | u) c(u) - c(ua)``."""
        mu = [None]
        for d in range(self.length + 1):
            flow = (np.asarray(c[d])[:, None] * self.target_next(d)).reshape(-1)
            mu.append(flow - np.asarray(c[d + 1]) if d < self.length else flow)
        return mu

    def check_lossless(self, c, *, tol: float = 1e-12) -> LosslessReport:
        """Lemma 2 on ``c``: ``c(∅) = 1``, ``c >= 0`` and ``μ(ua) = q(a | u) c(u) - c(ua) >= 0``.

        Exact (tolerance 0) when the tree and ``c`` hold Fractions; otherwise ``-tol`` is allowed.
        """
        tol = 0 if self.exact else tol
        if len(c) != self.length + 1 or any(np.asarray(c[d]).shape != (self.n ** d,) for d in range(self.length + 1)):
            raise ValueError(f"c must hold L + 1 = {self.length + 1} arrays of shapes (n^d,), n = {self.n}.")
        worst, failing = Fraction(0) if self.exact else 0.0, None
        if abs(c[0][0] - 1) > tol:
            return LosslessReport(False, -abs(c[0][0] - 1), (), self.tau(c))
        for d in range(1, self.length + 1):
            low = np.asarray(c[d])
            i = int(np.argmin(low))
            if low[i] < worst:
                worst, failing = low[i], self.string(d, i)
        mu = self.block_law(c)
        for d in range(1, self.length + 2):
            i = int(np.argmin(mu[d]))
            if mu[d][i] < worst:
                worst, failing = mu[d][i], self.string(d, i)
        return LosslessReport(bool(worst >= -tol), worst, failing if worst < -tol else None, self.tau(c))


def _sum(values):
    arr = np.asarray(values)
    if arr.dtype == object:
        return sum(arr.tolist(), start=Fraction(0))
    return float(np.sum(arr, dtype=np.float64))


def _as_matrix(value, name: str):
    if isinstance(value, np.ndarray) and value.dtype != object:
        arr = value.astype(np.float64)
    else:
        rows = [list(r) for r in value]
        if all(isinstance(x, (int, Fraction)) and not isinstance(x, bool) for r in rows for x in r):
            arr = np.array([[Fraction(x) for x in r] for r in rows], dtype=object)
        else:
            arr = np.asarray(rows, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise ValueError(f"{name} must be a square (n, n) row-stochastic matrix; got shape {arr.shape}.")
    return arr


def block_tree(*, target, drafts, start: int, length: int, max_nodes: int | None = None) -> BlockTree:
    """The tree of one block of a Markov (bigram) pair from start token ``start``.

    Parameters
    ----------
    target, drafts : (n, n) array_like
        Row-stochastic ``q(a | c)`` and ``p(a | c)``. Fractions (or ints) in both give an exact tree.
        Rows are assumed validated (``lpspec.sequence.markov.as_markov_pair`` validates float input).
    start : int
        The context token ``s_0`` the block starts from.
    length : int
        ``L >= 1``.
    max_nodes : int, optional
        Refuse trees with more than this many nodes (default :data:`DEFAULT_MAX_NODES`) before any work.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> t = block_tree(target=[[F(1, 5), F(4, 5)], [F(1, 2), F(1, 2)]],
    ...                drafts=[[F(3, 5), F(2, 5)], [F(3, 10), F(7, 10)]], start=0, length=2)
    >>> t.size, t.P[1].tolist(), t.Q[2][t.index((1, 1))]
    (7, [Fraction(3, 5), Fraction(2, 5)], Fraction(2, 5))
    """
    q, p = _as_matrix(target, "target"), _as_matrix(drafts, "drafts")
    if q.shape != p.shape:
        raise ValueError(f"target {q.shape} and drafts {p.shape} must share one vocabulary.")
    n = q.shape[0]
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be an integer >= 1; got {length!r}.")
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start < n:
        raise ValueError(f"start={start!r} must be a token id in 0..{n - 1}.")
    limit = DEFAULT_MAX_NODES if max_nodes is None else max_nodes
    size = tree_size(n, int(length))
    if size > limit:
        raise ValueError(f"the tree has {size} nodes (n = {n}, L = {length}), above max_nodes = {limit}; "
                         "lower the length or raise max_nodes.")
    exact = q.dtype == object and p.dtype == object
    if not exact:
        q, p = q.astype(np.float64), p.astype(np.float64)
    one = np.array([Fraction(1)], dtype=object) if exact else np.ones(1)
    P, Q = [one], [one.copy()]
    for d in range(int(length)):
        ctx = np.array([start]) if d == 0 else np.arange(n ** d) % n
        P.append((P[d][:, None] * p[ctx]).reshape(-1))
        Q.append((Q[d][:, None] * q[ctx]).reshape(-1))
    return BlockTree(n, int(length), int(start), q, p, P, Q, exact)


def c_from_block_law(tree: BlockTree, law: dict) -> list:
    """The continuation table of a block law ``{block: probability}`` (blocks: token tuples of length 1..L+1).

    ``c(u) = Σ_{v strictly extends u} μ(v)``. Raises ``ValueError`` for a block of the wrong length or token.

    Examples
    --------
    >>> t = block_tree(target=[[0.5, 0.5], [0.5, 0.5]], drafts=[[0.5, 0.5], [0.5, 0.5]], start=0, length=1)
    >>> [x.tolist() for x in c_from_block_law(t, {(0,): 0.25, (1,): 0.25, (0, 1): 0.5})]
    [[1.0], [0.5, 0.0]]
    """
    zero = Fraction(0) if tree.exact else 0.0
    c = [np.full(tree.n ** d, zero, dtype=object if tree.exact else np.float64) for d in range(tree.length + 1)]
    for block, mass in law.items():
        block = tuple(block)
        if not 1 <= len(block) <= tree.length + 1 or any(not 0 <= int(a) < tree.n for a in block):
            raise ValueError(f"block {block!r} is not a token tuple of length 1..{tree.length + 1} over "
                             f"0..{tree.n - 1}.")
        for d in range(len(block)):  # every strict prefix of the block is extended by it
            c[d][tree.index(block[:d])] += mass
    return c
