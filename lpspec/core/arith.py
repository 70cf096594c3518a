"""The two arithmetics of lpspec: exact rationals (:class:`fractions.Fraction` in object arrays) and float64.

An instance is exact when every input entry is a ``Fraction`` (or an int); then every number lpspec derives
from it is a ``Fraction`` and every comparison is exact. Otherwise everything is float64, with sums correctly
rounded (:func:`math.fsum`) and ``1 - (1 - t)^k`` evaluated without cancellation (docs/theory.md §4).

:class:`Arith` holds the few operations whose code differs between the two, so that callers write one branch:
``inst.arith`` (see :attr:`lpspec.core.instance.Instance.arith`) or :func:`arith_of` of an array.

Examples
--------
>>> from fractions import Fraction as F
>>> EXACT.sum([F(1, 3), F(2, 3)]), FLOAT.sum([0.1] * 10)
(Fraction(1, 1), 1.0)
>>> EXACT.zeros(2).tolist(), FLOAT.zeros(2).tolist()
([Fraction(0, 1), Fraction(0, 1)], [0.0, 0.0])
>>> arith_of(np.array([F(1, 2)], dtype=object)) is EXACT
True
>>> EXACT.bincount([0, 2, 0], [F(1, 3), F(1, 2), F(1, 3)], 3).tolist()
[Fraction(2, 3), Fraction(0, 1), Fraction(1, 2)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .xp import one_minus_power as _one_minus_power

__all__ = ["Arith", "EXACT", "FLOAT", "arith_of"]


@dataclass(frozen=True)
class Arith:
    """Exact (``Fraction``, object arrays) or float64 arithmetic; use :data:`EXACT`, :data:`FLOAT`.

    Attributes
    ----------
    exact : bool
        True for rationals.
    dtype : numpy dtype
        ``object`` (exact) or ``float64``.
    zero, one : Fraction or float
        The additive and multiplicative units.
    """

    exact: bool

    @property
    def dtype(self):
        return np.dtype(object) if self.exact else np.dtype(np.float64)

    @property
    def zero(self):
        return Fraction(0) if self.exact else 0.0

    @property
    def one(self):
        return Fraction(1) if self.exact else 1.0

    def zeros(self, n: int) -> np.ndarray:
        """An array of ``n`` zeros of this arithmetic, shape (n,) (Fractions in an object array, or float64)."""
        return np.array([Fraction(0)] * n, dtype=object) if self.exact else np.zeros(n)

    def array(self, values) -> np.ndarray:
        """``values`` as an array of this arithmetic's dtype."""
        return np.array(values, dtype=self.dtype)

    def sum(self, values):
        """``Σ values``: exact for rationals, correctly rounded (:func:`math.fsum`) for floats."""
        vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
        return sum(vals, Fraction(0)) if self.exact else math.fsum(vals)

    def scalar(self, value):
        """A number of this arithmetic: a ``Fraction`` kept as is (exact), else a Python float."""
        return value if self.exact else float(value)

    def tolerance(self, tol: float):
        """``0.0`` (an exact comparison: a rational against ``0.0`` is compared exactly) or ``tol``."""
        return 0.0 if self.exact else tol

    def one_minus_power(self, tail, k: int):
        """``1 - (1 - tail)^k``, elementwise for float arrays: exact for rationals, else by
        ``-expm1(k · log1p(-tail))`` without cancellation for a small ``tail`` (docs/theory.md §4)."""
        if self.exact:
            return 1 - (1 - tail) ** k
        return _one_minus_power(np.asarray(tail, dtype=np.float64), k)  # the one float formula (lpspec.core.xp)

    def bincount(self, index, weights, size: int) -> np.ndarray:
        """``out[i] = Σ_{j : index[j] = i} weights[j]``, shape (size,), added in the order of ``index``:
        rationals in an object array, or :func:`numpy.bincount` in float64."""
        if not self.exact:
            return np.bincount(index, weights=np.asarray(weights).astype(np.float64), minlength=size)
        out = self.zeros(size)
        np.add.at(out, np.asarray(index, dtype=np.int64), np.asarray(weights, dtype=object))
        return out

    def argmin(self, values) -> int:
        """Index of the smallest value, ties to the lowest index (the same rule in both arithmetics)."""
        if self.exact:
            return min(range(len(values)), key=lambda i: (values[i], i))
        return int(np.argmin(values))


EXACT = Arith(True)
FLOAT = Arith(False)


def arith_of(values) -> Arith:
    """The arithmetic of an array or scalar: :data:`EXACT` for object arrays and Fractions, else :data:`FLOAT`."""
    if isinstance(values, np.ndarray):
        return EXACT if values.dtype == object else FLOAT
    return EXACT if isinstance(values, Fraction) else FLOAT
