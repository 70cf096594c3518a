"""The result type shared by every optimum-like answer (formulas, LPs, certificates, the batched backend)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .arith import arith_of

__all__ = ["OptimumResult", "LPSolveError", "CheckFailed", "require"]


class CheckFailed(AssertionError):
    """A ``check()`` of a plan, certificate or decomposition failed (raised explicitly, so ``python -O``, which
    strips ``assert`` statements, cannot silence it; a subclass of ``AssertionError`` for old callers)."""


def require(condition, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds (an ``assert`` that ``-O`` keeps).

    Examples
    --------
    >>> require(1 + 1 == 2, "arithmetic")
    >>> require(False, "a failed check")
    Traceback (most recent call last):
    ...
    lpspec.core.results.CheckFailed: a failed check
    """
    if not condition:
        raise CheckFailed(message)


class LPSolveError(RuntimeError):
    """An LP solve that did not end optimal, or whose answer failed its certificate check."""


@dataclass
class OptimumResult:
    """An optimal acceptance ``P*(acc)`` with its certificate.

    Attributes
    ----------
    value : float or Fraction
        ``P*(acc)``.
    cut_set : tuple of int
        A minimising set ``S`` of ``q(S) + 1 - Pr(set(X) ⊆ S)`` (docs/theory.md §3): a certificate that no exact
        scheme accepts more than ``cut_value``.
    method : str
        Which formula or LP form produced ``value`` (e.g. ``"sorted_prefix"``, ``"lp:edge"``).
    cut_value : float or Fraction
        ``q(S) + 1 - Pr(set(X) ⊆ S)`` recomputed from ``cut_set`` (equal to ``value`` up to rounding).
    details : dict
        Anything else the method reports.
    renormalised : tuple of str
        The float inputs that did not sum to exactly 1.0 and were divided by their sum before solving.
    """

    value: Any
    cut_set: tuple[int, ...]
    method: str
    cut_value: Any = None
    details: dict = field(default_factory=dict, repr=False)
    renormalised: tuple = field(default=(), repr=False)

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        v = arith_of(self.value).text(self.value, ".15g")
        return f"OptimumResult(value={v}, cut_set={self.cut_set}, method={self.method!r})"
