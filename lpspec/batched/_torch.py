"""PyTorch, imported lazily: the one place the batched backend imports ``torch``, plus device and dtype choice.

``import lpspec`` and ``import lpspec.batched`` never import torch (it costs about a second); the first call
that needs it does, through :func:`require_torch`, which raises an :class:`ImportError` saying how to install
it when it is absent.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

__all__ = [
    "INSTALL_HINT",
    "agreement_tolerance",
    "available_devices",
    "require_torch",
    "resolve_device",
    "resolve_dtype",
    "torch_available",
    "unit_roundoff",
]

#: What the ImportError tells the user to run.
INSTALL_HINT = "pip install -e \".[torch]\" from a clone, or pip install 'lpspec[torch]' from the index"

_TORCH: Any = None


def torch_available() -> bool:
    """True when PyTorch can be imported (checked without importing it).

    Examples
    --------
    >>> isinstance(torch_available(), bool)
    True
    """
    return _TORCH is not None or importlib.util.find_spec("torch") is not None


def require_torch():
    """The ``torch`` module, imported on first use.

    Raises
    ------
    ImportError
        When PyTorch is not installed, with the command that installs it (:data:`INSTALL_HINT`).

    Examples
    --------
    >>> require_torch().__name__
    'torch'
    """
    global _TORCH
    if _TORCH is None:
        try:
            _TORCH = importlib.import_module("torch")
        except ImportError as exc:  # pragma: no cover - exercised by monkeypatching in the tests
            raise ImportError(
                f"lpspec.batched needs PyTorch, which is not installed ({exc}). Install it with: {INSTALL_HINT} "
                "(on a CPU-only machine pin the CPU wheel first, e.g. pip install torch==2.13.0 "
                "--index-url https://download.pytorch.org/whl/cpu)."
            ) from exc
    return _TORCH


def resolve_device(device=None):
    """The device to compute on: ``device`` if given, else ``cuda`` when available, else ``cpu``.

    Parameters
    ----------
    device : str or torch.device, optional

    Returns
    -------
    torch.device

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    torch = require_torch()
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device ({exc}); use 'cpu', 'cuda' or 'cuda:0'.") from None
    if dev.type not in ("cpu", "cuda", "mps", "xpu"):
        raise ValueError(f"device={device!r} cannot compute ({dev.type!r} tensors hold no usable values); use "
                         "'cpu' or 'cuda'.")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} asks for CUDA, which is not available here; use device='cpu'.")
    return dev


def resolve_dtype(dtype=None):
    """The floating dtype to compute in: ``torch.float64`` by default, or ``torch.float32``.

    Accepts a torch dtype or the strings ``"float64"`` / ``"float32"``.

    Examples
    --------
    >>> resolve_dtype(None), resolve_dtype("float32")
    (torch.float64, torch.float32)
    """
    torch = require_torch()
    if dtype is None:
        return torch.float64
    names = {"float64": torch.float64, "double": torch.float64, "float32": torch.float32, "float": torch.float32}
    if isinstance(dtype, str):
        if dtype not in names:
            raise ValueError(f"dtype={dtype!r} is not supported; use 'float64' (default) or 'float32'.")
        return names[dtype]
    if dtype not in (torch.float64, torch.float32):
        raise ValueError(f"dtype={dtype!r} is not supported; use torch.float64 (default) or torch.float32.")
    return dtype


def available_devices() -> list[str]:
    """``["cpu"]``, plus ``"cuda"`` when a CUDA device is available (the devices the tests run on).

    Examples
    --------
    >>> available_devices()[0]
    'cpu'
    """
    torch = require_torch()
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def unit_roundoff(dtype=None) -> float:
    """Unit roundoff ``u`` of the compute dtype: ``2^-53`` for float64, ``2^-24`` for float32.

    Examples
    --------
    >>> unit_roundoff() == 2.0**-53
    True
    """
    torch = require_torch()
    return 2.0**-24 if resolve_dtype(dtype) == torch.float32 else 2.0**-53


def agreement_tolerance(n: int, k: int = 1, dtype=None) -> float:
    """Stated bound on ``|batched - reference|`` for one row with ``n`` tokens and ``K = k`` drafts.

    .. math::

        \\mathrm{tol}(n, K) = 2 (K + 2)\\, n\\, u + 64 u

    Every quantity the backend returns is a sum of at most ``n`` non-negative terms bounded by one, or
    ``1 - (1 - t)^K`` of such a sum (derivative at most ``K``). The recursive-summation bound gives an
    error of at most ``n u`` per sum, so ``(K + 2) n u`` per side (the ``+2``: the sum over the prefix and the
    explicit renormalisation), doubled for two independent implementations, plus a few ulps for the final
    operations. ``u = 2^-53`` (float64): about ``1.1e-10`` at ``n = 128 000``, ``K = 2`` and ``2.8e-10`` at
    ``K = 8`` — "a few ulps times n". Observed errors are far smaller (random-walk ``sqrt(n) u``).

    Parameters
    ----------
    n : int
        Tokens per row.
    k : int
        Number of drafts.
    dtype : torch.dtype, optional
        Compute dtype (``u = 2^-24`` for float32).

    Examples
    --------
    >>> round(agreement_tolerance(128_000, 2) * 1e11)
    11
    """
    return 2.0 * (int(k) + 2) * int(n) * unit_roundoff(dtype) + 64 * unit_roundoff(dtype)


def checked_tuples(tuples, draft, k: int):
    """Draft tuples ``(B, N, K)`` for a batched verifier whose draft rows are ``draft`` ``(B, n)``: an int64
    tensor on ``draft``'s device, or ``ValueError`` (wrong shape or dtype, a token outside ``0..n-1``, a token with
    ``p = 0``: a tuple of probability zero)."""
    torch = require_torch()
    x = torch.as_tensor(tuples, device=draft.device)
    B, n = draft.shape
    if x.ndim != 3 or x.shape[0] != B or x.shape[2] != k or x.dtype.is_floating_point:
        raise ValueError(f"tuples must be an integer tensor of shape (B={B}, N, K={k}); got {tuple(x.shape)}.")
    x = x.to(torch.int64)
    if x.numel() and (int(x.min()) < 0 or int(x.max()) >= n):
        raise ValueError(f"tuples hold tokens outside 0..{n - 1}.")
    if x.numel() and bool((torch.gather(draft, 1, x.reshape(B, -1)) <= 0).any()):
        raise ValueError("tuples hold a token with p = 0 (a draft tuple of probability zero).")
    return x
