"""First-order Markov (bigram) target/draft pairs: the setting where block efficiency is exact (docs/theory.md §11).

A :class:`MarkovPair` holds two row-stochastic ``(n, n)`` matrices over one vocabulary — ``target[c, y]`` is
``q(y | c)`` and ``draft[c, y]`` is ``p(y | c)``, row ``c`` being the previous token — and ``start``, the law of
the context token a block starts from. Inputs are validated once here; a bad argument raises ``ValueError``
naming it and saying how to fix it.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.distributions import SUM_TOLERANCE
from ..core.keywords import DRAFTS, keyword_aliases

__all__ = ["MarkovPair", "as_markov_pair", "load_markov_pair", "stationary_law"]


def _load_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 array; a ``str``/``Path`` ending in ``.npy`` is read from disk."""
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        if path.suffix.lower() != ".npy":
            raise ValueError(f"{name}={str(value)!r}: a file argument must be a .npy array (or pass a whole "
                             ".npz pair to load_markov_pair).")
        if not path.is_file():
            raise ValueError(f"{name}: file {str(value)!r} does not exist.")
        value = np.load(path, allow_pickle=False)
    if np.iscomplexobj(value) or isinstance(value, complex):
        raise ValueError(f"{name} is complex; probabilities must be real numbers (drop the imaginary part "
                         "yourself if it is zero).")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of probabilities; got {type(value).__name__}.") from None
    return arr


def _stochastic_rows(value, name: str, n: int | None = None) -> np.ndarray:
    arr = _load_array(value, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise ValueError(f"{name} must be a square (n, n) row-stochastic matrix (row = previous token); "
                         f"got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has shape {arr.shape} but the other matrix is ({n}, {n}): both models must "
                         "share one vocabulary.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has NaN or infinite entries; every entry must be a probability.")
    if np.any(arr < 0):
        r, c = np.argwhere(arr < 0)[0]
        raise ValueError(f"{name}[{r}, {c}] = {float(arr[r, c])!r} is negative; every entry must be >= 0.")
    sums = arr.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOLERANCE)
    if bad.size:
        raise ValueError(f"row {bad[0]} of {name} sums to {float(sums[bad[0]])!r}, not 1 (tolerance {SUM_TOLERANCE}); "
                         "normalise each row (row c is the next-token law after token c).")
    return arr / sums[:, None]


def _start_law(value, name: str, n: int) -> np.ndarray:
    arr = _load_array(value, name)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a vector of length n = {n} (the law of the first context token); "
                         f"got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must hold finite non-negative probabilities.")
    total = arr.sum()
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ValueError(f"{name} sums to {float(total)!r}, not 1 (tolerance {SUM_TOLERANCE}); normalise it.")
    return arr / total


def stationary_law(matrix, *, tol: float = 1e-14, max_iter: int = 20_000) -> np.ndarray:
    """A stationary law ``π = π M`` of a row-stochastic matrix, shape (n,).

    Power iteration of the lazy chain ``(M + I)/2`` (same stationary laws, aperiodic) from the uniform law,
    ``O(n^2)`` per step, until the ``L1`` change is below ``tol``; if that does not happen within ``max_iter``
    steps, the left eigenvector of eigenvalue 1 (``scipy.linalg.eig``, ``O(n^3)``). For a chain with several
    closed classes this is one of its stationary laws.

    Examples
    --------
    >>> stationary_law([[0.5, 0.5], [0.25, 0.75]]).round(6)
    array([0.333333, 0.666667])
    """
    m = _stochastic_rows(matrix, "matrix")
    pi = np.full(m.shape[0], 1.0 / m.shape[0])
    for _ in range(max_iter):
        nxt = 0.5 * (pi + pi @ m)
        nxt /= nxt.sum()
        if np.abs(nxt - pi).sum() < tol:
            return nxt
        pi = nxt
    from scipy import linalg

    vals, vecs = linalg.eig(m.T)
    i = int(np.argmin(np.abs(vals - 1.0)))
    v = np.abs(np.real(vecs[:, i]))
    return v / v.sum()


@dataclass(frozen=True)
class MarkovPair:
    """A bigram target/draft pair plus the law of the starting context (docs/theory.md §11).

    Attributes
    ----------
    target, draft : numpy.ndarray, shape (n, n)
        Row-stochastic float64 matrices; row ``c`` is the next-token law after token ``c``.
    start : numpy.ndarray, shape (n,)
        Law of the context token at the start of a block (default: the target chain's stationary law).
    name : str
        A label for tables.

    Examples
    --------
    >>> pair = MarkovPair.from_arrays(target=[[0.5, 0.5], [0.25, 0.75]], drafts=[[0.5, 0.5], [0.5, 0.5]])
    >>> pair.n, pair.start.round(3).tolist()
    (2, [0.333, 0.667])
    """

    target: np.ndarray
    draft: np.ndarray
    start: np.ndarray
    name: str = "markov"

    @property
    def n(self) -> int:
        return int(self.target.shape[0])

    @classmethod
    @keyword_aliases(deprecated=DRAFTS)
    def from_arrays(cls, *, target, drafts, start=None, name: str = "markov") -> MarkovPair:
        """Validate and build a pair from arrays or ``.npy`` paths (``start=None``: stationary law of target)."""
        q = _stochastic_rows(target, "target")
        p = _stochastic_rows(drafts, "drafts", n=q.shape[0])
        s = stationary_law(q) if start is None else _start_law(start, "start", q.shape[0])
        return cls(q, p, s, name)

    def save(self, path) -> Path:
        """Write ``target``, ``draft`` and ``start`` to a ``.npz`` file that :func:`load_markov_pair` reads."""
        path = Path(path)
        np.savez(path, target=self.target, draft=self.draft, start=self.start)
        return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")


def load_markov_pair(path, *, start=None, name: str | None = None) -> MarkovPair:
    """Read a pair from an ``.npz`` file with arrays ``target``, ``draft`` and optionally ``start``.

    Examples
    --------
    >>> import tempfile, os
    >>> pair = MarkovPair.from_arrays(target=np.eye(2)[[1, 0]], drafts=np.full((2, 2), 0.5))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     back = load_markov_pair(pair.save(os.path.join(d, "pair.npz")))
    >>> back.start.tolist()
    [0.5, 0.5]
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: file {str(path)!r} does not exist (expected an .npz with target and draft).")
    try:  # read every array up front: a truncated archive fails here, with the file's name
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in getattr(data, "files", ())}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"path: {str(path)!r} is not a readable .npz file ({exc}).") from None
    if not {"target", "draft"} <= arrays.keys():
        raise ValueError(f"path: {str(path)!r} must hold arrays named 'target' and 'draft' (found "
                         f"{sorted(arrays) or 'none'}).")
    if start is None and "start" in arrays:
        start = arrays["start"]
    return MarkovPair.from_arrays(target=arrays["target"], drafts=arrays["draft"], start=start,
                                  name=name or path.stem)


def as_markov_pair(target, draft, start=None) -> MarkovPair:
    """``target`` itself when it is a :class:`MarkovPair` (then ``draft`` must be ``None``), else a new pair."""
    if isinstance(target, MarkovPair):
        if draft is not None:
            raise ValueError("drafts: pass either a MarkovPair as target= or two matrices, not both.")
        if start is None:
            return target
        return MarkovPair(target.target, target.draft, _start_law(start, "start", target.n), target.name)
    if target is None or draft is None:
        raise ValueError("target= and drafts= are both needed: (n, n) row-stochastic matrices (row = previous "
                         "token), or a MarkovPair as target=.")
    return MarkovPair.from_arrays(target=target, drafts=draft, start=start)
