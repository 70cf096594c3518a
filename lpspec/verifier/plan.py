"""What the two optimal verifier plans share (:class:`lpspec.verifier.rank.OptimalVerifier`, the greedy plan, and
:class:`lpspec.verifier.layered.LayeredVerifier`, the layered one): a draft tuple checked once, the exact output
law ``π(· | x)`` from the plan's selection, and the piece statistics.

A plan subclass provides ``n``, ``k``, ``draft``, ``accept_prob``, ``residual``, ``selection(x)``,
``pieces_per_token`` and ``num_pieces``; its ``sample`` draws one rank per draft and ends with
:meth:`PiecePlan._smallest_rank_wins`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["PiecePlan"]


class PiecePlan:
    """Methods common to the rank-space plans (see the module docstring)."""

    def _tuple(self, x) -> np.ndarray:
        try:
            t = np.asarray(x, dtype=np.int64).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"x={x!r} must be a tuple of K={self.k} token indices.") from None
        if t.size != self.k or np.any((t < 0) | (t >= self.n)):
            raise ValueError(f"x={x!r} must be a tuple of K={self.k} tokens in 0..{self.n - 1}.")
        if np.any(self.draft[t] <= 0):
            raise ValueError(f"the draft tuple x={tuple(t.tolist())} has probability 0 (a token with p = 0).")
        return t

    def conditional(self, x) -> np.ndarray:
        """``π(· | x) = β(x) α + (1 - Σ_y β_y(x) α_y) r``: the exact output law for the tuple ``x``, shape (n,)."""
        b = self.selection(x)
        kept = b * self.accept_prob
        return kept + max(1.0 - math.fsum(kept.tolist()), 0.0) * self.residual

    def _smallest_rank_wins(self, x: np.ndarray, rank: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
        """Rows of draft tuples ``x`` (N, K) with one rank per draft ``rank`` (N, K): the draft of the smallest rank
        is selected, accepted with probability ``α``, else the output is drawn from the residual ``r``.
        Returns ``(output, accepted)``, shapes (N,)."""
        N = x.shape[0]
        win = x[np.arange(N), np.argmin(rank, axis=1)]
        accepted = rng.random(N) < self.accept_prob[win]
        out = win.copy()
        rej = np.flatnonzero(~accepted)
        if rej.size:
            cdf = np.cumsum(self.residual)
            draw = np.searchsorted(cdf, rng.random(rej.size) * cdf[-1], side="right")
            out[rej] = np.minimum(draw, self.n - 1)
        return out, accepted

    def piece_stats(self) -> dict:
        """Pieces per token over the tokens with ``p > 0``: ``{"pieces", "tokens", "mean", "max"}``."""
        owned = self.pieces_per_token[self.draft > 0]
        return {"pieces": self.num_pieces, "tokens": int(owned.size),
                "mean": float(owned.mean()) if owned.size else 0.0, "max": int(owned.max()) if owned.size else 0}
