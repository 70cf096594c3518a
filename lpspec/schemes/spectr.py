"""SpecTr's K-SEQ scheme (Sun et al., NeurIPS 2023) for K identical independent drafts (docs/theory.md §5)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..core.arith import arith_of
from ..core.instance import Instance
from ..registry import EXACT_RHO_BISECTION_STEPS
from .base import Scheme, _draw, acceptance_ratio, exact_sum

__all__ = ["RHO_BISECTION_STEPS", "SpecTr", "spectr_rho"]

#: Bisection steps for ``ρ*`` (floats stop earlier, when the bracket can no longer shrink); see lpspec.registry.
from ..registry import RHO_BISECTION_STEPS  # noqa: E402


def _b(target, draft, rho):
    """``b(ρ) = Σ_y min(p(y), q(y)/ρ)``."""
    return exact_sum([min(p, q / rho) for q, p in zip(target.tolist(), draft.tolist())])


def _f(target, draft, k, rho):
    """``f(ρ) = 1 - (1 - b(ρ))^K - ρ b(ρ)``."""
    b = _b(target, draft, rho)
    return 1 - (1 - b) ** k - rho * b


def spectr_rho(target, draft, k: int):
    """``ρ*``: the smallest ``ρ ∈ [1, K]`` with ``f(ρ) = 1 - (1 - b(ρ))^K - ρ b(ρ) <= 0`` (docs/theory.md §5).

    ``b(ρ) = Σ_y min(p(y), q(y)/ρ)``; ``f(1) >= 0 >= f(K)``. Bisection returns the upper end of the final
    bracket, so ``f(ρ*) <= 0`` and K-SEQ's residual stays non-negative. For Fraction input the bisection runs
    in Fractions, and a simpler rational inside the bracket with ``f <= 0`` (from
    :meth:`fractions.Fraction.limit_denominator`) is preferred, so that rational roots such as ``4/3`` are hit
    exactly.

    Parameters
    ----------
    target, draft : ndarray, shape (n,)
        ``q`` and ``p`` (float64, or object arrays of Fractions).
    k : int
        Number of drafts ``K``.

    Returns
    -------
    float or Fraction

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> q = np.array([F(1, 3), F(1, 9), F(5, 9)], dtype=object)
    >>> spectr_rho(q, np.array([F(1, 3)] * 3, dtype=object), 2)
    Fraction(4, 3)
    """
    arith = arith_of(target)
    lo, hi = arith.one, arith.one * k
    if _f(target, draft, k, lo) <= 0:
        return lo
    steps = arith.pick(exact=EXACT_RHO_BISECTION_STEPS, floats=RHO_BISECTION_STEPS)
    for _ in range(steps):
        mid = (lo + hi) / 2
        if not (lo < mid < hi):
            break
        if _f(target, draft, k, mid) <= 0:
            hi = mid
        else:
            lo = mid
    if arith.exact:  # deliberate: only a rational bracket can be shortened to a simpler rational
        best = hi
        for den in (10, 100, 1000, 10**4, 10**6, 10**9):
            cand = ((lo + hi) / 2).limit_denominator(den)
            if Fraction(1) <= cand < best and _f(target, draft, k, cand) <= 0:
                best = cand
        hi = best
    return hi


class SpecTr(Scheme):
    """SpecTr K-SEQ (Sun et al. 2023) for ``K`` identical independent drafts.

    With ``ρ* =`` :func:`spectr_rho`, ``m = min(p, q/ρ*)``, ``b = Σ m`` and ``γ = (1 - (1 - b)^K)/b``: accept
    ``X_i`` in turn with probability ``min(1, q(X_i)/(ρ* p(X_i)))``; if none is accepted, output a sample of
    ``(q - γ m)^+ / Σ (q - γ m)^+``. Exact for any ``ρ`` with ``f(ρ) <= 0`` (then ``γ <= ρ``).

    The membership acceptance (:meth:`closed_form_acceptance`) adds the chance that the residual sample equals
    a rejected draft: given that all rounds reject, the drafts are i.i.d. ``∝ (p - q/ρ*)^+``, so

    .. math::

        P(\\mathrm{acc}) = 1 - (1 - b)^K + (1 - b)^K \\sum_y r(y)
        \\Big[1 - \\Big(1 - \\frac{(p(y) - q(y)/\\rho^*)^+}{1 - b}\\Big)^K\\Big],

    which vanishes at the exact root ``f(ρ*) = 0`` (``γ = ρ*`` makes ``r`` zero on every rejectable token) and
    is of the order of the bisection tolerance otherwise.

    Attributes
    ----------
    rho, b, gamma : float or Fraction
    round_acceptance : float or Fraction
        ``1 - (1 - b)^K``: SpecTr's formula, the probability that some round accepts; ``>= (1 - 1/e) P*``.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> s = SpecTr(target=[F(1, 3), F(1, 9), F(5, 9)], drafts=[F(1, 3)] * 3, k=2)
    >>> s.rho, s.acceptance
    (Fraction(4, 3), Fraction(8, 9))
    """

    name = "spectr"
    title = "SpecTr K-SEQ (Sun et al. 2023)"

    @classmethod
    def why_not(cls, inst: Instance) -> str | None:
        if not (inst.identical and inst.law == "independent"):
            return ("SpecTr K-SEQ is defined for K identical independent drafts (drafts=p, k=K, "
                    "law='independent').")
        return None

    def __init__(self, instance: Instance | None = None, /, **kw):
        super().__init__(instance, **kw)
        inst = self.instance
        q, p, K = inst.target, inst.draft, inst.k
        self.rho = spectr_rho(q, p, K)
        self.m = self.arith.array([min(a, c / self.rho) for c, a in zip(q.tolist(), p.tolist())])
        self.b = exact_sum(self.m)
        self.round_acceptance = 1 - (1 - self.b) ** K
        k_value = self.arith.one * K  # the limit of γ as b -> 0 (γ is unused then)
        self.gamma = self.round_acceptance / self.b if self.b > 0 else k_value
        excess = np.array([c - self.gamma * a if c > self.gamma * a else inst.zero()
                           for c, a in zip(q.tolist(), self.m.tolist())], dtype=q.dtype)
        total = exact_sum(excess)
        self.residual = excess / total if total > 0 else q.copy()

    def _ratio(self, t: int):
        return acceptance_ratio(self.instance.target[t] / self.rho, self.instance.draft[t])

    def conditional(self, x) -> np.ndarray:
        x = self._tuple(x)
        inst = self.instance
        out = self.arith.zeros(inst.n)
        reach = inst.one()
        for t in x:
            a = self._ratio(t)
            out[t] += reach * a
            reach = reach * (1 - a)
        return out + reach * self.residual

    def sample(self, x, rng: np.random.Generator) -> int:
        for t in self._tuple(x):
            if rng.random() < float(self._ratio(t)):
                return t
        return _draw(self.residual, rng)

    def closed_form_acceptance(self):
        """Membership acceptance (formula in the class docstring)."""
        inst = self.instance
        K, b = inst.k, self.b
        miss = 1 - b
        if miss <= 0:
            return self.round_acceptance
        hit = []
        for y in range(inst.n):
            rej = inst.draft[y] - inst.target[y] / self.rho
            rej = rej / miss if rej > 0 else inst.zero()
            hit.append(self.residual[y] * (1 - (1 - rej) ** K))
        return self.round_acceptance + miss**K * exact_sum(hit)
