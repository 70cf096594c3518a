"""The optimal schemes as :class:`~lpspec.schemes.base.Scheme` objects: the LP optimum and Theorem 1."""

from __future__ import annotations

import numpy as np

from ..core.instance import Instance
from .base import ImportanceScheme, Scheme, float_instance

__all__ = ["CanonicalScheme", "OptimalScheme"]


class OptimalScheme(Scheme):
    """An optimal scheme (``P(acc) = P*``): the rank-space verifier or the completed optimal LP plan.

    * ``plan="rank"`` (the default for float instances with identical independent drafts, any ``n``): the
      rank-space optimal verifier of docs/theory.md §9 (:func:`lpspec.optimal_verifier`); :meth:`sample` runs
      it (ranks, smallest wins, one speculative-sampling step) and :meth:`closed_form_acceptance` is its
      ``Σ min(q, p_I) = P*``.
    * ``plan="lp"`` (every other instance): float instances use :func:`lpspec.solvers.lp.solve_instance` (HiGHS,
      repaired flow, cut certificate) and its ``conditional``; exact (Fraction) instances the exact max-flow of
      :func:`lpspec.certify`, so that ``π(· | x)`` and the acceptance are Fractions. The membership acceptance
      equals the flow value (the completion only adds mass, and no exact scheme exceeds ``P*``); for exact
      instances :meth:`closed_form_acceptance` returns it, for float instances :attr:`acceptance` is enumerated.

    Parameters
    ----------
    form : {"edge", "merged", "full"}, optional
        LP form for float instances; default ``"edge"`` for ``K <= 2``, ``"merged"`` otherwise.
    plan : {"rank", "lp"}, optional
        Default: ``"rank"`` for float instances with identical independent drafts, else ``"lp"``.

    Examples
    --------
    >>> s = OptimalScheme(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2)
    >>> round(s.acceptance, 12)
    0.69
    """

    name = "optimal"
    title = "the LP optimum, completed to an exact scheme (docs/theory.md §2)"

    def __init__(self, instance: Instance | None = None, /, *, form: str | None = None, plan: str | None = None,
                 **kw):
        super().__init__(instance, **kw)
        inst = self.instance
        if plan is None:
            # deliberate: the rank-space verifier computes in float64, so exact input keeps the exact LP plan
            plan = "rank" if (not inst.exact and inst.identical and inst.law == "independent") else "lp"
        if plan not in ("rank", "lp"):
            raise ValueError(f"plan={plan!r} is not known; choose 'rank' or 'lp'.")
        self.plan = plan
        if plan == "rank":
            from ..verifier.rank import verifier_for

            self.result = verifier_for(inst)
        elif inst.exact:  # deliberate: exact input is solved by the rational max-flow, floats by the LP
            from ..solvers.certify import certify_instance

            self.result = certify_instance(inst)
        else:
            from ..solvers.lp import solve_instance

            self.result = solve_instance(inst, form or ("merged" if inst.k > 2 else "edge"))

    def conditional(self, x) -> np.ndarray:
        row = self.result.conditional(self._tuple(x))
        return self.arith.array(row)

    @property
    def exact(self) -> bool:
        return bool(self.instance.exact) and self.plan == "lp"

    def sample(self, x, rng: np.random.Generator) -> int:
        """One output for ``x``: the rank-space verifier's own sampler (``plan="rank"``), else a draw from
        :meth:`conditional`."""
        if self.plan == "rank":
            out, _ = self.result.sample(np.asarray([self._tuple(x)], dtype=np.int64), rng)
            return int(out[0])
        return super().sample(x, rng)

    @property
    def value(self):
        """``P*``: the value of the optimal flow (:attr:`result`)."""
        return self.result.value

    def closed_form_acceptance(self):
        """Exact instances: ``P*`` (the certified flow value, which the completed scheme's membership equals
        exactly). Float instances: ``None`` — the completion of a flow that is optimal only to the solver's
        tolerance can land a little more mass on ``set(x)``, so the acceptance is enumerated."""
        if self.plan == "rank":
            return self.result.acceptance
        return self.arith.pick(exact=self.result.value, floats=None)


class CanonicalScheme(ImportanceScheme):
    """Theorem 1's canonical two-step scheme with an optimal ``β`` (:func:`lpspec.canonical_decomposition`).

    ``Σ min(q, p_I) = P*`` and the membership acceptance equals it. LP-based: an exact instance is evaluated
    in float64.

    Parameters
    ----------
    method : {"is_lp", "from_lp"}
        How the optimal ``β`` is found (see :func:`lpspec.canonical_decomposition`).

    Examples
    --------
    >>> s = CanonicalScheme(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2)
    >>> round(s.sd_acceptance, 12), round(s.acceptance, 12)
    (0.69, 0.69)
    """

    name = "canonical"
    title = "Theorem 1: optimal IS selection + speculative sampling (Khisti et al. 2025)"

    def __init__(self, instance: Instance | None = None, /, *, method: str = "is_lp", optimum=None, **kw):
        super().__init__(instance, **kw)
        from ..theory.decomposition import decomposition_for

        self.instance = float_instance(self.instance)
        self.check_enumerable("the canonical decomposition")
        # optimum: the instance's P* when the caller already has it (not computed again)
        self._decomposition = decomposition_for(self.instance, method, optimum=optimum)

    @property
    def decomposition(self):
        """The :class:`~lpspec.theory.decomposition.CanonicalDecomposition` itself."""
        return self._decomposition

    def beta(self, x) -> np.ndarray:
        return self._decomposition.beta(self._tuple(x))

    @property
    def intermediate(self) -> np.ndarray:
        return self._decomposition.intermediate
