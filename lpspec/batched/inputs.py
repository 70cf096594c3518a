"""Batched inputs: validation of (B, n) probability tensors, logits transforms, and the draft layouts.

One validation function, :func:`validate_rows`, applies the rules of :func:`lpspec.as_distribution` to every
row of a batch (the error messages name the argument and the row):

* NaN or infinite entries, negative entries: :class:`ValueError`;
* a row sum off by more than the tolerance: :class:`ValueError`. The tolerance is the one rule of the whole
  package, :func:`lpspec.core.distributions.sum_tolerance`: ``max(1e-9, sqrt(n) eps)`` with ``eps`` the machine
  epsilon of the input dtype (``1e-9`` for float64 and integer input; for float32 ``sqrt(n) 2^-23``, e.g.
  ``2.7e-5`` at ``n = 50 000``; torch's float32 softmax measured ``1.1e-5`` at ``n = 128 000``, within its
  ``4.3e-5``). Half-precision probabilities are refused (their rounding alone is ``2^-8`` per entry): pass
  logits, or float32/float64 probabilities.
* an accepted row is **renormalised explicitly in float64**: converted to float64, summed in float64, and
  divided by its sum (a row whose float64 sum is exactly one is left as it is), then cast to the compute
  dtype.

Logits (:class:`Logits`) are converted by :func:`probabilities_from_logits`: float64 softmax of
``logits / temperature``, then ``top_k`` / ``top_p`` truncation with the rule of
:func:`lpspec.experiments.families.truncate` (ties to the lower index; the nucleus is measured on the tempered,
untruncated distribution), then renormalisation.

Draft layouts (:func:`as_batch`): ``drafts`` of shape ``(B, n)`` with ``k`` for ``K`` identical drafts, or
``(K, B, n)`` (``k`` omitted or equal to ``K``) for different drafts. A 1-D ``target`` of shape ``(n,)`` is a
batch of one (then ``drafts`` is ``(n,)`` with ``k``, or ``(K, n)``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from ..core.distributions import sum_tolerance as _shared_sum_tolerance
from ..core.instance import MAX_K
from ..core.keywords import DRAFTS, keyword_aliases
from ._torch import require_torch, resolve_device, resolve_dtype

__all__ = [
    "BatchInput",
    "Logits",
    "as_batch",
    "probabilities_from_logits",
    "sum_tolerance",
    "validate_rows",
]


def sum_tolerance(n: int, float32: bool) -> float:
    """Largest accepted ``|row sum - 1|`` before renormalisation: :func:`lpspec.core.distributions.sum_tolerance`.

    ``max(1e-9, sqrt(n) eps)``, ``eps`` the machine epsilon of float32 (``float32=True``) or float64.

    Examples
    --------
    >>> sum_tolerance(10, False)
    1e-09
    >>> sum_tolerance(50_000, True) < 1e-4
    True
    """
    return _shared_sum_tolerance(n, np.float32 if float32 else np.float64)


@dataclass(frozen=True)
class Logits:
    """Unnormalised log-probabilities to be turned into a distribution by lpspec.

    Pass one wherever a probability tensor is accepted, e.g. ``target=Logits(z, temperature=0.7)``; the
    transforms are those of :func:`probabilities_from_logits`.

    Attributes
    ----------
    values : tensor or array, shape (B, n), (n,) or (K, B, n)
        Any float dtype (converted to float64 first); ``-inf`` marks an excluded token.
    temperature : float
        ``> 0``.
    top_k : int, optional
        Keep the ``top_k`` most probable tokens.
    top_p : float, optional
        In ``(0, 1]``: keep the shortest most-probable prefix with at least this mass.

    Examples
    --------
    >>> Logits([0.0, 1.0], temperature=2.0).temperature
    2.0
    """

    values: object
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None


@dataclass
class BatchInput:
    """A validated batch: targets and drafts as tensors on one device, in one dtype.

    Attributes
    ----------
    target : torch.Tensor, shape (B, n)
    drafts : torch.Tensor, shape (K, B, n)
        For identical drafts a broadcast view of :attr:`draft` (no copy).
    k : int
        ``K``.
    identical : bool
        True when one draft distribution per row is drawn ``K`` times (``drafts`` given as (B, n) with ``k``,
        or a (K, B, n) tensor whose K slices are equal).
    renormalised : dict
        Per argument name, the largest ``|row sum - 1|`` of the input before renormalisation.
    """

    target: object
    drafts: object
    k: int
    identical: bool
    renormalised: dict = field(default_factory=dict)

    @property
    def draft(self):
        """The draft distribution of identical drafts, shape (B, n)."""
        if not self.identical:
            raise ValueError(
                "these drafts differ from one another; there is no single draft distribution (use .drafts)."
            )
        return self.drafts[0]

    @property
    def batch(self) -> int:
        return int(self.target.shape[0])

    @property
    def n(self) -> int:
        return int(self.target.shape[-1])

    @property
    def device(self):
        return self.target.device

    @property
    def dtype(self):
        return self.target.dtype


def _as_tensor(values, name: str):
    """A torch tensor view of ``values`` (tensor, numpy array, nested lists), without a copy where possible."""
    torch = require_torch()
    if isinstance(values, torch.Tensor):
        return values.detach()
    if isinstance(values, np.ndarray) and values.dtype == object or (
        isinstance(values, (list, tuple)) and _contains_fraction(values)
    ):
        raise ValueError(
            f"{name} holds exact (Fraction/object) values; the batched backend computes in floating point. "
            "Use lpspec.optimal_acceptance / lpspec.compare_schemes for exact input, or pass floats."
        )
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers; could not convert it ({exc}).") from None
    if arr.dtype == object:
        raise ValueError(f"{name} must be a rectangular array of numbers; got an object array of shape {arr.shape}.")
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} has dtype {arr.dtype}; probabilities must be real numbers.")
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must hold numbers; got dtype {arr.dtype}.")
    if not arr.flags.writeable or any(st < 0 for st in arr.strides):
        # a read-only memory map, or a reversed view (a[::-1]): torch wants writeable, non-negative strides
        arr = np.array(arr)
    return torch.as_tensor(arr)


def _contains_fraction(values) -> bool:
    from fractions import Fraction

    stack = [values]
    while stack:
        v = stack.pop()
        if isinstance(v, Fraction):
            return True
        if isinstance(v, (list, tuple)):
            stack.extend(v[:4])  # a Fraction array has Fractions everywhere: a few entries decide
    return False


def _locate(mask, name: str):
    """``name[i, j, ...]`` of the first True entry of ``mask``."""
    idx = mask.reshape(-1).nonzero()[0, 0].item()
    coords = tuple(int(c) for c in np.unravel_index(idx, tuple(mask.shape)))
    return coords, f"{name}[{', '.join(str(c) for c in coords)}]"


def validate_rows(values, name: str, *, device=None, dtype=None):
    """Validate every row (last axis) of ``values`` as a probability vector and renormalise it in float64.

    The rules and messages follow :func:`lpspec.as_distribution`; the module docstring states the float32
    tolerance. A :class:`Logits` is converted by :func:`probabilities_from_logits` (then always valid).

    Parameters
    ----------
    values : torch.Tensor, numpy array, nested lists or Logits, shape (..., n)
    name : str
        Argument name for the messages (``"target"``, ``"drafts"``).
    device : str or torch.device, optional
        Default: cuda when available, else cpu.
    dtype : torch.dtype, optional
        Compute dtype, float64 (default) or float32.

    Returns
    -------
    tensor : torch.Tensor, shape (..., n)
        Rows summing to one (renormalised in float64), on ``device`` in ``dtype``. Never the caller's tensor
        modified in place (it is returned as is only when it is already valid, float64, on ``device`` and
        every row sums to exactly 1.0).
    deviation : float
        Largest ``|row sum - 1|`` of the input (0 for logits).

    Raises
    ------
    ValueError
        Empty input, non-finite or negative entries, a row sum off by more than :func:`sum_tolerance`,
        half-precision or exact (Fraction) input.

    Examples
    --------
    >>> t, dev = validate_rows([[0.25, 0.75], [0.5, 0.5]], "target", device="cpu")
    >>> t.dtype, t.shape, dev
    (torch.float64, torch.Size([2, 2]), 0.0)
    >>> validate_rows([[0.5, 0.6]], "target", device="cpu")
    Traceback (most recent call last):
    ...
    ValueError: target[0] sums to 1.1, not 1 within 1e-09; normalise each row (x / x.sum(-1, keepdim=True)) before passing it.
    """
    torch = require_torch()
    dev = resolve_device(device)
    out_dtype = resolve_dtype(dtype)
    if isinstance(values, Logits):
        probs = probabilities_from_logits(
            values.values, temperature=values.temperature, top_k=values.top_k, top_p=values.top_p,
            device=dev, name=name,
        )
        return probs.to(out_dtype), 0.0
    x = _as_tensor(values, name)
    if x.ndim == 0 or x.shape[-1] == 0 or x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); a distribution needs at least one token.")
    if x.dtype in (torch.float16, torch.bfloat16):
        raise ValueError(
            f"{name} holds {x.dtype} probabilities, whose rounding (2^-8 or 2^-11 per entry) cannot be told "
            "apart from an unnormalised input; pass Logits(...) (lpspec applies the softmax in float64) or "
            "float32/float64 probabilities."
        )
    if x.is_complex() or x.dtype == torch.bool:
        raise ValueError(f"{name} must hold real numbers; got dtype {x.dtype}.")
    if getattr(x, "is_quantized", False):
        raise ValueError(f"{name} is a quantized tensor ({x.dtype}); pass float32/float64 probabilities "
                         "(t.dequantize()).")
    if x.is_sparse or x.layout != torch.strided:
        raise ValueError(f"{name} is a sparse tensor (layout {x.layout}); pass a dense tensor (t.to_dense()).")
    if x.device.type == "meta":
        raise ValueError(f"{name} is on the 'meta' device, which holds no values; pass a tensor with data.")
    float32 = x.dtype == torch.float32
    x64 = x.to(device=dev, dtype=torch.float64).contiguous()  # transposed/sliced input: a contiguous copy
    owned = x64.data_ptr() != x.data_ptr()
    n = int(x64.shape[-1])
    sums = x64.sum(dim=-1)
    if not bool(torch.isfinite(sums).all()):
        bad = ~torch.isfinite(x64)
        if bool(bad.any()):
            coords, where = _locate(bad, name)
            raise ValueError(f"{where} = {x64[coords].item()} is not finite; remove NaN/inf entries.")
    lows = x64.amin(dim=-1)
    if bool((lows < 0).any()):
        coords, where = _locate(x64 < 0, name)
        raise ValueError(f"{where} = {x64[coords].item()!r} is negative; probabilities must be >= 0.")
    tol = sum_tolerance(n, float32)
    dev_abs = (sums - 1.0).abs()
    worst = float(dev_abs.max().item())
    if not worst <= tol:
        row = int(torch.argmax(torch.nan_to_num(dev_abs, nan=math.inf)).item())
        coords = tuple(int(c) for c in np.unravel_index(row, tuple(sums.shape)))
        where = f"{name}[{', '.join(str(c) for c in coords)}]"
        kind = " (float32 input)" if float32 else ""
        raise ValueError(
            f"{where} sums to {sums[coords].item()!r}, not 1 within {tol:g}{kind}; normalise each row "
            "(x / x.sum(-1, keepdim=True)) before passing it."
        )
    if worst != 0.0:
        if owned:
            x64.div_(sums.unsqueeze(-1))
        else:
            x64 = x64 / sums.unsqueeze(-1)
    return x64.to(out_dtype), worst


def probabilities_from_logits(logits, *, temperature: float = 1.0, top_k: int | None = None,
                              top_p: float | None = None, device=None, name: str = "logits"):
    """Float64 probabilities from logits: temperature, then top-k / top-p truncation, then renormalisation.

    .. math::

        q = \\mathrm{softmax}(z / T), \\qquad q \\leftarrow q \\cdot 1[\\text{kept}] / \\textstyle\\sum_{\\text{kept}} q

    ``top_k`` keeps the ``top_k`` most probable tokens (ties to the lower index); ``top_p`` keeps the shortest
    prefix of the tokens sorted by decreasing probability (ties to the lower index) whose mass reaches
    ``top_p`` (``- 1e-12``), at least one token. Both are measured on ``softmax(z / T)`` and intersected: the
    rule of :func:`lpspec.experiments.families.truncate`. (Hugging Face's warpers measure ``top_p`` after ``top_k``.)

    Parameters
    ----------
    logits : tensor or array, shape (..., n)
        Any float dtype; ``-inf`` excludes a token; NaN and ``+inf`` are refused.
    temperature : float
        ``> 0``.
    top_k : int, optional
        ``>= 1``.
    top_p : float, optional
        In ``(0, 1]``.
    device : str or torch.device, optional
    name : str
        Argument name for error messages.

    Returns
    -------
    torch.Tensor, shape (..., n), float64

    Examples
    --------
    >>> import math
    >>> probs = probabilities_from_logits([math.log(0.5), math.log(0.2), math.log(0.3)], top_k=2, device="cpu")
    >>> [round(v, 12) for v in probs.tolist()]
    [0.625, 0.0, 0.375]
    """
    torch = require_torch()
    dev = resolve_device(device)
    z = _as_tensor(logits, name)
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(z.shape)}); logits need at least one token.")
    z = z.to(device=dev, dtype=torch.float64)
    if bool(torch.isnan(z).any()) or bool(torch.isposinf(z).any()):
        coords, where = _locate(torch.isnan(z) | torch.isposinf(z), name)
        raise ValueError(f"{where} = {z[coords].item()} is NaN or +inf; logits must be finite or -inf.")
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or not temperature > 0 \
            or not math.isfinite(temperature):
        raise ValueError(f"temperature={temperature!r} must be a positive finite number (1.0: no change).")
    if bool(torch.isneginf(z).all(dim=-1).any()):
        raise ValueError(f"a row of {name} is all -inf: no token has positive probability.")
    probs = torch.softmax(z / float(temperature), dim=-1)
    n = int(probs.shape[-1])
    if top_k is None and top_p is None:
        return probs
    keep = torch.ones_like(probs, dtype=torch.bool)
    order = torch.sort(probs, dim=-1, descending=True, stable=True).indices
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
            raise ValueError(f"top_k={top_k!r} must be a positive integer (the number of tokens kept).")
        if top_k < n:
            keep.scatter_(-1, order[..., int(top_k):], False)
    if top_p is not None:
        if isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) or not (0 < float(top_p) <= 1):
            raise ValueError(f"top_p={top_p!r} must be in (0, 1] (the nucleus mass kept).")
        csum = torch.cumsum(torch.gather(probs, -1, order), dim=-1)
        count = (csum < float(top_p) - 1e-12).sum(dim=-1, keepdim=True) + 1
        ranks = torch.arange(n, device=dev).expand_as(order)
        keep_sorted = ranks < count
        keep &= torch.zeros_like(keep).scatter_(-1, order, keep_sorted)
    probs = torch.where(keep, probs, torch.zeros((), dtype=probs.dtype, device=dev))
    return probs / probs.sum(dim=-1, keepdim=True)


def _check_k(k) -> int | None:
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k={k!r} must be a positive integer (the number of drafts).")
    if k > MAX_K:
        raise ValueError(f"k={k} is larger than {MAX_K} (2^53), the largest number of drafts lpspec evaluates "
                         "(beyond it K is not exact in float64).")
    return int(k)


def _ndim(values) -> int:
    if isinstance(values, Logits):
        values = values.values
    if hasattr(values, "ndim"):
        return int(values.ndim)
    return int(np.ndim(values))


@keyword_aliases(refused=DRAFTS)
def as_batch(*, target, drafts, k: int | None = None, device=None, dtype=None) -> BatchInput:
    """Validate a batch of targets and drafts (shapes in the module docstring) into a :class:`BatchInput`.

    Parameters
    ----------
    target : tensor, array or Logits, shape (B, n) or (n,)
    drafts : tensor, array or Logits, shape (B, n) with ``k``, or (K, B, n); (n,) / (K, n) with a 1-D target
    k : int, optional
        Number of identical drafts (required with (B, n) drafts; with (K, B, n) drafts omitted or ``K``).
    device, dtype
        See :func:`validate_rows`.

    Returns
    -------
    BatchInput

    Examples
    --------
    >>> b = as_batch(target=[[0.5, 0.5]], drafts=[[0.9, 0.1]], k=3, device="cpu")
    >>> b.batch, b.n, b.k, b.identical, tuple(b.drafts.shape)
    (1, 2, 3, True, (3, 1, 2))
    """
    torch = require_torch()
    k = _check_k(k)
    t_nd, d_nd = _ndim(target), _ndim(drafts)
    if t_nd not in (1, 2):
        raise ValueError(f"target must have shape (B, n) (or (n,) for one position); got {t_nd} dimensions.")
    single = t_nd == 1
    d_expect = d_nd + 1 if single else d_nd  # dimensions once the batch axis is added
    if d_expect == 2:
        if k is None:
            raise ValueError(
                "drafts has shape (B, n): pass k= (the number of identical drafts), or a (K, B, n) tensor "
                "for different drafts."
            )
    elif d_expect != 3:
        raise ValueError(
            f"drafts must have shape (B, n) with k= for identical drafts or (K, B, n) for different drafts "
            f"(with a 1-D target: (n,) or (K, n)); got {d_nd} dimensions."
        )
    dev = resolve_device(device)
    q, dq = validate_rows(target, "target", device=dev, dtype=dtype)
    d_raw = drafts.values if isinstance(drafts, Logits) else drafts
    d_len = d_raw.shape[-1] if hasattr(d_raw, "shape") else np.shape(d_raw)[-1] if np.ndim(d_raw) else None
    if d_len is not None and int(d_len) != q.shape[-1]:  # shapes before sums (a missing column is a shape error)
        raise ValueError(f"drafts have {int(d_len)} tokens but target has {q.shape[-1]}; they must share the "
                         "vocabulary (a drafts file with a missing column?).")
    p, dp = validate_rows(drafts, "drafts", device=dev, dtype=dtype)
    if single:
        q = q.unsqueeze(0)
        p = p.unsqueeze(-2)
    B, n = q.shape
    if p.shape[-1] != n:
        raise ValueError(f"drafts have {p.shape[-1]} tokens but target has {n}; they must share the vocabulary.")
    if d_expect == 2:
        if p.shape[0] != B:
            raise ValueError(f"drafts have {p.shape[0]} rows but target has {B}; pass one draft row per position.")
        drafts_t = p.unsqueeze(0).expand(k, B, n)
        identical = True
    else:
        K = int(p.shape[0])
        if p.shape[1] != B:
            raise ValueError(
                f"drafts have shape {tuple(p.shape)} but target has {B} rows; (K, B, n) drafts need B = {B}."
            )
        if K == 0:
            raise ValueError("drafts hold no draft distribution (K = 0).")
        if k is not None and k != K:
            raise ValueError(
                f"k={k} but drafts hold K={K} different distributions; omit k with (K, B, n) drafts (or pass "
                "one (B, n) distribution with k for identical drafts)."
            )
        k = K
        identical = all(torch.equal(p[0], p[i]) for i in range(1, K))
        drafts_t = p[:1].expand(K, B, n) if identical else p
    return BatchInput(q, drafts_t, int(k), identical, {"target": dq, "drafts": dp})
