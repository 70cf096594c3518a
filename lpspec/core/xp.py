"""One implementation per formula for NumPy and torch arrays: a tiny array namespace chosen from the input.

Where the exact (NumPy / Fraction) backend and the batched (torch) backend evaluate the same formula, both call
the function here; :func:`namespace` picks the operations from the type of the array (torch is never imported
by this module: a torch tensor can only reach it when torch is already loaded).

* :func:`one_minus_power` — ``1 - (1 - t)^K`` without cancellation, ``-expm1(K log1p(-t))`` (docs/theory.md §4);
* :func:`specinfer_round` and :func:`specinfer_acceptance` — SpecInfer's recursive rejection sampling
  (Miao et al. 2024; docs/theory.md §5): the rejected mass ``m_i = Σ (r_i - p_i)^+`` of round ``i``, the
  next residual ``r_{i+1} = (r_i - p_i)^+ / m_i``, and the acceptance ``1 - Π_i m_i``.

Arrays are row-wise over the last axis: shape (n,) or (B, n). Object arrays of Fractions work through the
NumPy namespace (every operation stays exact).

Examples
--------
>>> import numpy as np
>>> one_minus_power(np.array([0.0, 1e-20, 1.0]), 2).tolist()
[0.0, 2e-20, 1.0]
>>> from fractions import Fraction as F
>>> q = np.array([F(1, 3), F(0), F(2, 3)], dtype=object); p = np.array([F(1, 3)] * 3, dtype=object)
>>> specinfer_acceptance(q, [p, p])
Fraction(7, 9)
"""

from __future__ import annotations

import numpy as np

__all__ = ["namespace", "one_minus_power", "specinfer_acceptance", "specinfer_round"]


class _NumPy:
    """The NumPy operations (float64 or object arrays of Fractions)."""

    name = "numpy"

    @staticmethod
    def positive(a):
        return np.where(a > 0, a, a - a)  # (a)^+; ``a - a`` is +0 of a's kind (Fraction or float)

    @staticmethod
    def row_sum(a):
        return a.sum(axis=-1, keepdims=True)

    @staticmethod
    def where(cond, a, b):
        return np.where(cond, a, b)

    @staticmethod
    def clip01(a):
        return np.clip(a, 0.0, 1.0)

    @staticmethod
    def neg_expm1_k_log1p_neg(t, k):
        with np.errstate(divide="ignore"):  # log1p(-1) = -inf gives 1 - 0 = 1
            return -np.expm1(k * np.log1p(-t))


class _Torch:
    """The torch operations (imported only from a tensor that already exists)."""

    name = "torch"

    @staticmethod
    def positive(a):
        return a.clamp_(min=0.0)  # in place: callers pass a fresh temporary

    @staticmethod
    def row_sum(a):
        return a.sum(dim=-1, keepdim=True)

    @staticmethod
    def where(cond, a, b):
        import torch

        return torch.where(cond, a, b)

    @staticmethod
    def clip01(a):
        return a.contiguous().clamp(0.0, 1.0)

    @staticmethod
    def neg_expm1_k_log1p_neg(t, k):
        import torch

        return -torch.expm1(k * torch.log1p(-t))


def namespace(x):
    """The operations for ``x``: torch's for a ``torch.Tensor``, else NumPy's (arrays, scalars, Fractions).

    Examples
    --------
    >>> namespace(np.zeros(2)).name
    'numpy'
    """
    return _Torch if type(x).__module__.split(".")[0] == "torch" else _NumPy


def one_minus_power(tail, k: int):
    """``1 - (1 - tail)^k`` elementwise, from the tail mass without cancellation: ``-expm1(k log1p(-tail))``.

    ``tail`` is clipped to ``[0, 1]`` (a mass). For float64 NumPy arrays and torch tensors alike (the exact
    rational form is :meth:`lpspec.core.arith.Arith.one_minus_power`, which calls this for floats).

    Parameters
    ----------
    tail : numpy.ndarray or torch.Tensor, any shape
    k : int

    Examples
    --------
    >>> one_minus_power(np.array([0.5, 1e-300]), 3).tolist()
    [0.875, 3e-300]
    """
    ops = namespace(tail)
    return ops.neg_expm1_k_log1p_neg(ops.clip01(tail), k)


def specinfer_round(r, p):
    """One round of SpecInfer's recursive rejection sampling, row-wise over the last axis.

    .. math::

        m = \\sum_y (r(y) - p(y))^+ = 1 - \\sum_y \\min(r(y), p(y)), \\qquad r' = (r - p)^+ / m

    (``r' = r`` where ``m = 0``: the round never rejects and ``r'`` is never sampled). ``m`` is a sum of
    non-negative terms (no cancellation when the round almost always accepts).

    Parameters
    ----------
    r, p : array, shape (n,) or (B, n)
        The current residual and the round's draft law.

    Returns
    -------
    m : array, shape () or (B,)
        The rejection probability of the round.
    r_next : array, shape like ``r``

    Examples
    --------
    >>> m, r = specinfer_round(np.array([0.75, 0.25]), np.array([0.5, 0.5]))
    >>> float(m), r.tolist()
    (0.25, [1.0, 0.0])
    """
    ops = namespace(r)
    d = ops.positive(r - p)  # r - p is a fresh array: positive() may work in place
    m = ops.row_sum(d)
    positive = m > 0
    r_next = d / ops.where(positive, m, m + 1)
    if not bool(positive.all()):  # rows that never reject keep r (rare: one extra pass only then)
        r_next = ops.where(positive, r_next, r)
    return m[..., 0], r_next


def specinfer_acceptance(q, drafts):
    """SpecInfer's acceptance ``1 - Π_i m_i`` over the rounds of :func:`specinfer_round`, ``r_1 = q``.

    Parameters
    ----------
    q : array, shape (n,) or (B, n)
    drafts : sequence of arrays shaped like ``q``
        ``p_1 .. p_K``, one per round.

    Returns
    -------
    array of shape () or (B,) (a Fraction for exact 1-D input)

    Examples
    --------
    >>> float(specinfer_acceptance(np.array([0.5, 0.5]), [np.array([0.5, 0.5])] * 2))  # p = q: always accepted
    1.0
    >>> float(specinfer_acceptance(np.array([0.5, 0.5]), [np.array([1.0, 0.0])] * 2))  # round 2 only rejects
    0.5
    """
    r, miss = q, None
    for p in drafts:
        m, r = specinfer_round(r, p)
        miss = m if miss is None else miss * m
    return 1 - miss
