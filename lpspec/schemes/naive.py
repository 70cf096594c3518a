"""Naive sampling (NSS, docs/theory.md §5): ignore the drafts and sample the target."""

from __future__ import annotations

import numpy as np

from .base import Scheme, _draw, exact_sum

__all__ = ["NaiveSampling"]


class NaiveSampling(Scheme):
    """Output a fresh sample of ``q`` whatever the drafts: ``π(· | x) = q``. Exact for every draft law.

    Acceptance ``Σ_y q(y) Pr(y ∈ set(X))``; for independent drafts ``Pr(y ∈ set(X)) = 1 - Π_k (1 - p_k(y))``
    (other laws: :meth:`~lpspec.core.instance.Instance.inclusion_probability`).

    Examples
    --------
    >>> NaiveSampling(target=[0.5, 0.5], drafts=[0.5, 0.5], k=2).acceptance
    0.75
    """

    name = "naive"
    title = "naive sampling: ignore the drafts, sample q"

    def conditional(self, x) -> np.ndarray:
        self._tuple(x)
        return self.instance.target.copy()

    def sample(self, x, rng: np.random.Generator) -> int:
        self._tuple(x)
        return _draw(self.instance.target, rng)

    def closed_form_acceptance(self):
        """``Σ_y q(y) Pr(y ∈ set(X))``."""
        inc = self.instance.inclusion_probability()
        return exact_sum([a * b for a, b in zip(self.instance.target.tolist(), inc.tolist())])
