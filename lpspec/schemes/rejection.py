"""Rejection-sampling schemes (docs/theory.md §5): single draft, SpecInfer RRS with and without replacement.

All three keep exact (Fraction) arithmetic for exact instances, and their acceptance has a closed form (or,
without replacement, a recursion over the rejection path) that the tests compare with enumeration.
"""

from __future__ import annotations

import numpy as np

from ..core.instance import Instance
from ..core.xp import specinfer_round
from .base import Scheme, _draw, acceptance_ratio, exact_sum, residual

__all__ = ["SingleDraft", "SpecInfer", "SpecInferWithoutReplacement"]


class SingleDraft(Scheme):
    """Single-draft speculative sampling on the first draft (Leviathan et al. 2023; Chen et al. 2023).

    With ``m`` the marginal law of ``X_1`` (``p_1``; the fixed top token under the greedy law with
    ``K >= 2``): accept ``x_1`` with probability ``min(1, q(x_1)/m(x_1))``, otherwise output a sample of
    ``(q - m)^+ / Σ (q - m)^+``. The other drafts are ignored.

    Its acceptance is the ``K = 1`` figure ``Pr[Y = X_1] = Σ_y min(m(y), q(y))`` — not a K-draft membership
    probability: :meth:`accepted_tokens` is ``(x_1,)`` (a residual sample never equals a rejected ``x_1``,
    because rejection needs ``m(x_1) > q(x_1)``). Applies to every draft law.

    Examples
    --------
    >>> s = SingleDraft(target=[0.5, 0.5], drafts=[0.75, 0.25], k=2)
    >>> s.acceptance
    0.75
    """

    name = "single_draft"
    title = "single-draft speculative sampling on X_1 (Leviathan et al. 2023)"

    def __init__(self, instance: Instance | None = None, /, **kw):
        super().__init__(instance, **kw)
        inst = self.instance
        if inst.law == "greedy" and inst.k >= 2:
            m = inst.arith.zeros(inst.n)
            m[int(inst.greedy_fixed[0])] = inst.one()
        else:
            m = inst.drafts[0].copy()
        #: marginal law of the first draft, shape (n,)
        self.first_draft_law = m
        self._residual = residual(inst.target, m)

    def _accept(self, x1: int):
        return acceptance_ratio(self.instance.target[x1], self.first_draft_law[x1])

    def conditional(self, x) -> np.ndarray:
        """``a δ_{x_1} + (1 - a) (q - m)^+ / Σ (q - m)^+`` with ``a = min(1, q(x_1)/m(x_1))``."""
        x1 = self._tuple(x)[0]
        a = self._accept(x1)
        out = (1 - a) * self._residual
        out[x1] += a
        return out

    def sample(self, x, rng: np.random.Generator) -> int:
        x1 = self._tuple(x)[0]
        if rng.random() < float(self._accept(x1)):
            return x1
        return _draw(self._residual, rng)

    def accepted_tokens(self, x) -> tuple[int, ...]:
        """Only ``x_1`` counts: this is the ``K = 1`` scheme."""
        return (self._tuple(x)[0],)

    def closed_form_acceptance(self):
        """``Σ_y min(m(y), q(y))``."""
        pairs = zip(self.first_draft_law.tolist(), self.instance.target.tolist())
        return exact_sum([min(a, b) for a, b in pairs])


#: Largest K for which SpecInfer's residuals are built round by round.
MAX_ROUNDS = 10_000


class SpecInfer(Scheme):
    """SpecInfer recursive rejection sampling with replacement (Miao et al. 2024), independent drafts.

    ``r_1 = q``; for ``i = 1..K`` accept ``X_i`` with probability ``min(1, r_i(X_i)/p_i(X_i))``, else continue
    with ``r_{i+1} = (r_i - p_i)^+ / ‖(r_i - p_i)^+‖_1``; if every draft is rejected, output a sample of
    ``r_{K+1}``. The residuals do not depend on ``x``, so

    .. math::

        \\pi(\\cdot \\mid x) = \\sum_i \\Big[\\prod_{j<i} (1 - a_j(x_j))\\Big] a_i(x_i) \\delta_{x_i}
        + \\prod_i (1 - a_i(x_i))\\, r_{K+1}, \\qquad a_i(t) = \\min(1, r_i(t)/p_i(t)),

    and the acceptance is ``1 - Π_i (1 - α_i)``, ``α_i = Σ_y min(r_i(y), p_i(y))`` (docs/theory.md §5). This is the
    membership acceptance too: a rejected ``x_i`` has ``r_i(x_i) < p_i(x_i)``, so ``r_j(x_i) = 0`` for every
    ``j > i`` and the final residual never lands on a rejected draft.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> third = [F(1, 3)] * 3
    >>> SpecInfer(target=[F(1, 3), F(0), F(2, 3)], drafts=third, k=2).acceptance
    Fraction(7, 9)
    """

    name = "specinfer"
    title = "SpecInfer recursive rejection sampling with replacement (Miao et al. 2024)"

    @classmethod
    def why_not(cls, inst: Instance) -> str | None:
        if inst.law != "independent":
            wor = inst.law == "without_replacement"
            hint = " Use specinfer_wor for law='without_replacement'." if wor else ""
            return f"SpecInfer needs independent drafts (law='independent'), not law={inst.law!r}.{hint}"
        if inst.k > MAX_ROUNDS:
            return (f"SpecInfer evaluates its K rounds one by one; K={inst.k:,} is more than {MAX_ROUNDS:,} "
                    "(lpspec.batched.compare_schemes runs up to 100,000 rounds).")
        return None

    def __init__(self, instance: Instance | None = None, /, **kw):
        super().__init__(instance, **kw)
        inst = self.instance
        r = inst.target.copy()
        residuals, alphas = [r], []
        for i in range(inst.k):
            miss, r = specinfer_round(r, inst.drafts[i])  # SpecInfer's round, the one formula of lpspec.core.xp
            alphas.append(1 - inst.arith.scalar(miss))
            residuals.append(r)
        #: ``r_1 = q, r_2, ..., r_{K+1}``, each shape (n,)
        self.residuals = residuals
        #: per-round acceptance ``α_i = Σ min(r_i, p_i)``
        self.round_acceptance = alphas

    def _ratios(self, x):
        inst = self.instance
        return [acceptance_ratio(self.residuals[i][t], inst.drafts[i][t]) for i, t in enumerate(x)]

    def conditional(self, x) -> np.ndarray:
        x = self._tuple(x)
        inst = self.instance
        out = self.arith.zeros(inst.n)
        reach = inst.one()
        for t, a in zip(x, self._ratios(x)):
            out[t] += reach * a
            reach = reach * (1 - a)
        return out + reach * self.residuals[-1]

    def sample(self, x, rng: np.random.Generator) -> int:
        x = self._tuple(x)
        for t, a in zip(x, self._ratios(x)):
            if rng.random() < float(a):
                return t
        return _draw(self.residuals[-1], rng)

    def closed_form_acceptance(self):
        """``1 - Π_i (1 - α_i)``."""
        miss = self.instance.one()
        for a in self.round_acceptance:
            miss = miss * (1 - a)
        return 1 - miss


class SpecInferWithoutReplacement(Scheme):
    """Recursive rejection sampling without replacement (Jeon et al. 2024), law ``"without_replacement"``.

    The drafts are drawn without replacement from ``p``. Keep the target residual ``r`` (``r = q`` at first)
    and the set ``S`` of tokens not yet drafted, with the current draft law ``p_S = p|_S / p(S)`` (``p(S)`` a
    sum of the remaining masses). For ``i = 1..K``: accept ``x_i`` with probability
    ``min(1, r(x_i)/p_S(x_i))``; on rejection set ``r <- (r - p_S)^+ / ‖(r - p_S)^+‖_1`` and remove ``x_i`` from ``S``. If every draft is
    rejected, output a sample of ``r``. Using ``p`` instead of ``p_S`` would not be exact (docs/theory.md §5).

    There is no product formula; :meth:`closed_form_acceptance` is the recursion over rejection paths

    .. math::

        A(r, S, d) = \\sum_{t \\in S} \\min(r(t), p_S(t))
        + \\sum_{t \\in S} (p_S(t) - r(t))^+ \\, A(r', S \\setminus \\{t\\}, d - 1),
        \\qquad A(\\cdot, \\cdot, 0) = 0,

    with ``r' = (r - p_S)^+ / ‖·‖``, evaluated without the scheme's conditional law. It is the membership
    acceptance: a rejected token has ``r(t) < p_S(t)``, so the residual is zero there from then on.

    Examples
    --------
    >>> s = SpecInferWithoutReplacement(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2, law="without_replacement")
    >>> s.acceptance
    1.0
    """

    name = "specinfer_wor"
    title = "recursive rejection sampling without replacement (Jeon et al. 2024)"

    @classmethod
    def why_not(cls, inst: Instance) -> str | None:
        if inst.law != "without_replacement":
            return (f"recursive rejection sampling without replacement needs law='without_replacement', not "
                    f"law={inst.law!r}; use specinfer for independent drafts.")
        return None

    def _current_law(self, removed: list[int]) -> np.ndarray:
        p = self.instance.draft
        keep = np.ones(self.instance.n, dtype=bool)
        keep[removed] = False
        total = exact_sum(p[keep])
        out = self.arith.zeros(self.instance.n)
        out[keep] = p[keep] / total
        return out

    def _path(self, x):
        """Yield ``(t, a, r_before)`` along the rejection path of ``x``."""
        r = self.instance.target.copy()
        removed: list[int] = []
        for t in x:
            pS = self._current_law(removed)
            a = acceptance_ratio(r[t], pS[t])
            yield t, a, r
            r = residual(r, pS)
            removed.append(t)
        yield None, None, r

    def conditional(self, x) -> np.ndarray:
        x = self._tuple(x)
        out = self.arith.zeros(self.instance.n)
        reach = self.instance.one()
        for t, a, r in self._path(x):
            if t is None:
                return out + reach * r
            out[t] += reach * a
            reach = reach * (1 - a)
            if reach == 0:
                return out
        return out  # pragma: no cover

    def sample(self, x, rng: np.random.Generator) -> int:
        x = self._tuple(x)
        for t, a, r in self._path(x):
            if t is None:
                return _draw(r, rng)
            if rng.random() < float(a):
                return t
        raise AssertionError("unreachable")  # pragma: no cover

    def closed_form_acceptance(self):
        """The recursion over rejection paths (class docstring): ``perm(m, K)`` terms, ``m = |supp p|``."""
        self.check_enumerable("the rejection-path recursion")
        inst = self.instance

        def acc(r, removed, depth):
            if depth == 0:
                return inst.zero()
            pS = self._current_law(removed)
            total = exact_sum([min(a, b) for a, b in zip(r.tolist(), pS.tolist())])
            r_next = residual(r, pS)
            for t in range(inst.n):
                if t in removed or pS[t] <= r[t]:
                    continue
                total = total + (pS[t] - r[t]) * acc(r_next, removed + [t], depth - 1)
            return total

        return acc(inst.target.copy(), [], inst.k)
