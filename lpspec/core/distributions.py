"""Validation of probability vectors: the one place where bad input is rejected.

A distribution is a 1-D array-like of finite, non-negative numbers that sums to one:

* **floats** within :func:`sum_tolerance` (``1e-9`` for float64; ``sqrt(n) * eps`` for float32 input, the
  one rule shared with the batched backend); an accepted float vector is divided by its sum explicitly, and
  :class:`Distribution` records that it was (``renormalised``); half-precision input is refused;
* **exact** (:class:`fractions.Fraction` or ``int`` entries) exactly; exact vectors stay exact.

Nothing is clipped: a negative entry, a NaN, or a sum off by more than the tolerance raises a
:class:`ValueError` that names the argument and says how to fix it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .exactsum import exact_sum

__all__ = ["SUM_TOLERANCE", "Distribution", "as_distribution", "is_exact_array", "sum_tolerance",
           "check_real_dtype"]

#: Largest ``|sum(x) - 1|`` accepted for a float64 distribution (before explicit renormalisation).
SUM_TOLERANCE = 1e-9

_FLOAT_MAX = float(np.finfo(np.float64).max)


def sum_tolerance(n: int, dtype=np.float64) -> float:
    r"""Largest accepted ``|sum(x) - 1|`` of a probability vector of ``n`` entries stored in ``dtype``.

    .. math::

        \mathrm{tol}(n, \text{dtype}) = \max(10^{-9},\; \sqrt{n}\,\varepsilon_{\text{dtype}})

    The second term is the usual (probabilistic) size of the rounding error of a sum of ``n`` numbers in
    ``dtype`` (``ε`` = machine epsilon, ``2^-23`` for float32): float32 probabilities that were normalised
    in float32 are accepted, an unnormalised vector is not. For float64 the first term wins for every
    ``n < 2·10^13``. The one rule of both the NumPy side (:func:`as_distribution`) and the batched backend
    (:func:`lpspec.batched.validate_rows`); docs/guide/numerics.md explains it.

    Examples
    --------
    >>> sum_tolerance(10)
    1e-09
    >>> round(sum_tolerance(2, np.float32) / float(np.finfo(np.float32).eps), 6)
    1.414214
    """
    n = max(int(n), 1)
    eps = float(np.finfo(np.dtype(dtype) if not isinstance(dtype, np.dtype) else dtype).eps)
    return max(SUM_TOLERANCE, math.sqrt(n) * eps)


def check_real_dtype(kind: str, itemsize: int, dtype_name: str, name: str) -> None:
    """Refuse complex, boolean and half-precision input (``kind`` and ``itemsize`` as in numpy's dtype).

    Examples
    --------
    >>> check_real_dtype("f", 8, "float64", "target")
    >>> check_real_dtype("c", 16, "complex128", "target")
    Traceback (most recent call last):
    ...
    ValueError: target has dtype complex128; probabilities must be real numbers (drop the imaginary part yourself if it is zero).
    """
    if kind == "c":
        raise ValueError(f"{name} has dtype {dtype_name}; probabilities must be real numbers (drop the "
                         "imaginary part yourself if it is zero).")
    if kind == "b":
        raise ValueError(f"{name} has dtype {dtype_name}; pass probabilities as numbers, not booleans.")
    if kind == "f" and itemsize < 4:
        raise ValueError(
            f"{name} holds {dtype_name} probabilities, whose rounding (2^-8 or 2^-11 per entry) cannot be told "
            "apart from an unnormalised input; pass float32/float64 probabilities (or logits to the batched "
            "backend).")
    if kind not in "fiu":
        raise ValueError(f"{name} must hold real numbers; got dtype {dtype_name}.")


@dataclass(frozen=True)
class Distribution:
    """A validated probability vector.

    Attributes
    ----------
    values : numpy.ndarray, shape (n,)
        ``float64`` (renormalised so that it sums to one) or ``object`` of :class:`~fractions.Fraction`.
    exact : bool
        True for Fraction input.
    renormalised : bool
        True when a float input did not sum to exactly 1.0 and was divided by its sum.
    original_sum : float or Fraction
        The sum of the input as given.
    """

    values: np.ndarray
    exact: bool
    renormalised: bool
    original_sum: float | Fraction

    @property
    def n(self) -> int:
        return int(self.values.shape[0])


def is_exact_array(values) -> bool:
    """True when every entry is a :class:`~fractions.Fraction` or a Python/numpy integer (and not bool)."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        return False  # numbers of one numpy dtype: never a Fraction (skips n Python objects)
    arr = np.asarray(values, dtype=object).ravel()
    if arr.size == 0:
        return False
    return all(
        isinstance(v, (Fraction, numbers.Integral)) and not isinstance(v, (bool, np.bool_)) for v in arr
    ) and any(isinstance(v, Fraction) for v in arr)


def as_distribution(values, name: str = "distribution") -> Distribution:
    """Validate ``values`` as a probability vector on ``{0, ..., n-1}``.

    Parameters
    ----------
    values : array-like, shape (n,)
        Floats summing to one within ``1e-9``, or Fractions summing to exactly one.
    name : str
        The argument name used in error messages (``"target"``, ``"drafts[1]"``, ...).

    Returns
    -------
    Distribution
        ``values`` as float64 divided by its sum, or as an object array of Fractions.

    Raises
    ------
    ValueError
        Empty, not 1-D, non-finite, negative, or a sum that is off by more than the tolerance.

    Examples
    --------
    >>> as_distribution([0.25, 0.75], "target").values
    array([0.25, 0.75])
    >>> from fractions import Fraction as F
    >>> as_distribution([F(1, 3), F(2, 3)], "target").exact
    True
    """
    if isinstance(values, Distribution):
        return values
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor, without importing torch
        try:
            values = values.detach().cpu().numpy()
        except (RuntimeError, TypeError, NotImplementedError) as exc:  # sparse, quantized, meta tensors
            raise ValueError(f"{name} is a tensor numpy cannot read ({str(exc).splitlines()[0]}); pass a dense "
                             "float tensor with data (t.to_dense(), t.dequantize()).") from None
    if is_exact_array(values):
        arr = np.asarray(values, dtype=object)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a 1-D probability vector; got shape {arr.shape}.")
        arr = np.array([Fraction(v) for v in arr], dtype=object)
        for i, v in enumerate(arr):
            if v < 0:
                raise ValueError(f"{name}[{i}] = {v} is negative; probabilities must be >= 0.")
        total = sum(arr, Fraction(0))
        if total != 1:
            raise ValueError(
                f"{name} holds Fractions summing to {total}, not exactly 1; exact input must sum to 1 "
                f"(divide by the sum yourself if that is what you mean)."
            )
        return Distribution(arr, True, False, total)
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers; could not convert it ({exc}).") from None
    if raw.dtype == object:
        if any(isinstance(v, (complex, np.complexfloating)) for v in raw.ravel().tolist()):
            raise ValueError(f"{name} holds complex numbers; probabilities must be real numbers.")
        if any(isinstance(v, (bool, np.bool_)) for v in raw.ravel().tolist()):
            raise ValueError(f"{name} holds booleans; pass probabilities as numbers.")
    elif raw.dtype.kind in "SUVMm":
        raise ValueError(f"{name} must be an array of numbers; got dtype {raw.dtype}.")
    else:
        check_real_dtype(raw.dtype.kind, raw.dtype.itemsize, str(raw.dtype), name)
    in_dtype = raw.dtype if raw.dtype.kind == "f" else np.dtype(np.float64)
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers; could not convert it ({exc}).") from None
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D probability vector; got shape {arr.shape}. "
            "Pass one distribution per draft as a list or a (K, n) array."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty; a distribution needs at least one token.")
    lo, hi = arr.min(), arr.max()  # two reductions, no temporaries; a NaN makes both comparisons false
    if not (lo >= 0 and hi <= _FLOAT_MAX):  # the first offending index, NaN/inf before negatives
        if not np.all(np.isfinite(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise ValueError(f"{name}[{bad}] = {arr[bad]} is not finite; remove NaN/inf entries.")
        bad = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{name}[{bad}] = {arr[bad]!r} is negative; probabilities must be >= 0.")
    try:
        total = exact_sum(arr)  # == math.fsum(arr), bit for bit (lpspec.core.exactsum), ~10x faster
    except OverflowError:
        raise ValueError(f"{name} sums to more than the largest float64 ({_FLOAT_MAX:g}); normalise it "
                         "(x / x.sum()) before passing it.") from None
    tol = sum_tolerance(arr.size, in_dtype)
    if not abs(total - 1.0) <= tol:
        kind = f" ({in_dtype} input)" if in_dtype != np.float64 else ""
        raise ValueError(
            f"{name} sums to {total!r}, not 1 within {tol:g}{kind}; normalise it (x / x.sum()) "
            "before passing it."
        )
    if total != 1.0:
        arr = arr / total
    else:
        arr = arr.copy()
    return Distribution(arr, False, total != 1.0, total)
