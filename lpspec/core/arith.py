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

__all__ = ["Arith", "EXACT", "FLOAT", "arith_of", "common_arith", "is_exact"]


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

    def pick(self, exact, floats):
        """``exact`` for :data:`EXACT`, ``floats`` for :data:`FLOAT`: a policy that differs between the two
        arithmetics (a size limit, a step count, a label), stated once at the call.

        >>> EXACT.pick(exact="rational", floats="float64"), FLOAT.pick(exact=20, floats=30)
        ('rational', 30)
        """
        return exact if self.exact else floats

    def convert(self, value, decimal: bool = False):
        """``value`` as a number of this arithmetic: a ``Fraction`` (exact) or a Python float.

        An exact conversion keeps a ``Fraction`` and reads an int or float by its exact binary value, or, with
        ``decimal=True``, a float by the shortest decimal that prints it (``0.1`` → ``1/10``: how a number
        typed by a user is read exactly).

        >>> from fractions import Fraction as F
        >>> EXACT.convert(0.5), EXACT.convert(0.1, decimal=True), EXACT.convert(F(1, 3)), FLOAT.convert(F(1, 4))
        (Fraction(1, 2), Fraction(1, 10), Fraction(1, 3), 0.25)
        """
        if not self.exact:
            return float(value)
        if isinstance(value, Fraction):
            return value
        return Fraction(str(value)) if decimal and isinstance(value, float) else Fraction(value)

    def text(self, value, spec: str = ".6g") -> str:
        """``value`` for a person: ``"1/3"`` (exact: the rational itself) or ``format(float(value), spec)``.

        >>> from fractions import Fraction as F
        >>> EXACT.text(F(1, 3)), FLOAT.text(1 / 3), FLOAT.text(0.25, ".3f")
        ('1/3', '0.333333', '0.250')
        """
        return str(value) if self.exact else format(float(value), spec)

    def fraction_text(self, value):
        """``"8/9"`` for an exact value, ``None`` for a float (JSON's optional exact field).

        >>> from fractions import Fraction as F
        >>> EXACT.fraction_text(F(8, 9)), FLOAT.fraction_text(0.5)
        ('8/9', None)
        """
        return str(value) if self.exact else None

    def nonnegative(self, values):
        """Round-off below zero clamped to ``0.0`` (floats, by :func:`numpy.maximum`); rationals are returned
        unchanged (a rational that should be ``>= 0`` is).

        >>> FLOAT.nonnegative(np.array([-1e-17, 0.5])).tolist(), EXACT.nonnegative(Fraction(1, 2))
        ([0.0, 0.5], Fraction(1, 2))
        """
        return values if self.exact else np.maximum(values, 0.0)

    def renormalize_rows(self, table):
        """Rows of a float table clamped at ``0`` and rescaled to sum to one (the repair of rounding in rows
        that sum to one in exact arithmetic), shape kept; an exact table is returned unchanged.

        >>> FLOAT.renormalize_rows(np.array([[-1e-17, 1.0], [0.25, 0.75]])).tolist()
        [[0.0, 1.0], [0.25, 0.75]]
        """
        if self.exact:
            return table
        table = np.maximum(table, 0.0)
        return table / table.sum(axis=1, keepdims=True)

    def close(self, a, b, tol: float) -> bool:
        """``|a - b| <= tol`` for floats, ``a == b`` for rationals (:meth:`tolerance` is ``0`` there).

        >>> from fractions import Fraction as F
        >>> FLOAT.close(1.0, 1.0 + 1e-12, 1e-9), EXACT.close(F(1), F(1) + F(1, 10**12), 1e-9)
        (True, False)
        """
        return bool(abs(a - b) <= self.tolerance(tol))


EXACT = Arith(True)
FLOAT = Arith(False)


def is_exact(value) -> bool:
    """True for a rational (:class:`fractions.Fraction`), the one test of a scalar's arithmetic.

    >>> from fractions import Fraction as F
    >>> is_exact(F(1, 2)), is_exact(0.5), is_exact(1)
    (True, False, False)
    """
    return isinstance(value, Fraction)


def arith_of(values) -> Arith:
    """The arithmetic of an array, list or scalar: :data:`EXACT` for object arrays, for Fractions and for a list
    or tuple holding a Fraction anywhere (a mix is read exactly, as the command line does); else :data:`FLOAT`.

    >>> from fractions import Fraction as F
    >>> arith_of([0.5, F(1, 2)]) is EXACT, arith_of([[0.5], [F(1, 2)]]) is EXACT, arith_of([0.5, 1]) is FLOAT
    (True, True, True)
    """
    if isinstance(values, np.ndarray):
        return EXACT if values.dtype == object else FLOAT
    if isinstance(values, (list, tuple)):
        return EXACT if any(arith_of(v) is EXACT for v in values) else FLOAT
    return EXACT if is_exact(values) else FLOAT


def common_arith(*values) -> Arith:
    """:data:`EXACT` when every value is a Fraction (their difference is exact), else :data:`FLOAT` (they are
    compared as floats).

    >>> from fractions import Fraction as F
    >>> common_arith(F(1, 2), F(1, 3)) is EXACT, common_arith(F(1, 2), 0.25) is FLOAT
    (True, True)
    """
    return EXACT if all(is_exact(v) for v in values) else FLOAT
