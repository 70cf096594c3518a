"""Importance-sampling schemes (docs/theory.md §4–§5): SIR, the paper's pairwise IS LP, its truncation, tournament.

Every scheme here is a selection rule ``β`` followed by single-draft speculative sampling against ``q`` with
the true intermediate law ``p_I`` (Theorem 1's two steps), so every one is exact; they differ in ``β``.
Each reports the exact membership acceptance (:attr:`~lpspec.schemes.base.Scheme.acceptance`) and the
speculative-sampling acceptance ``Σ min(q, p_I)``
(:attr:`~lpspec.schemes.base.ImportanceScheme.sd_acceptance`).

The pairwise LPs (Khisti et al. 2025, Section 4) are built with cvxpy and solved by HiGHS. Their variables
are masses ``u_ij = P(i, j) w_ij`` (the mass of the ordered pair ``(i, j)`` sent to ``i``), bounded by
``0 <= u_ij <= P(i, j)``, so that every probability sits in a bound or a right-hand side and every matrix
coefficient is ``±1`` (docs/theory.md §8)::

    maximise Σ_y z_y  s.t.  z_y <= q(y),  z_y <= p_I(y) = c(y) + Σ_j u_yj + Σ_i (P(i, y) - u_iy)

where ``c(y)`` collects the pass-through pairs ``(y, y)`` and the pairs decided without the LP.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..core.instance import Instance
from ..core.results import LPSolveError
from .base import ImportanceScheme, _draw, exact_sum, float_instance

__all__ = [
    "DEFAULT_TRUNCATION",
    "PAIRWISE_LP_TOLERANCE",
    "SIR",
    "PairwiseIS",
    "Tournament",
    "TruncatedIS",
    "pairwise_is_weights",
    "truncation_order",
]

#: Largest accepted difference between the LP's objective and ``Σ min(q, p_I)`` of the rounded weights.
PAIRWISE_LP_TOLERANCE = 1e-7
#: The truncated LP's default ``s`` (the paper uses s = 5 ... 15).
from ..registry import DEFAULT_TRUNCATION  # noqa: E402  (shared with lpspec.batched)


class SIR(ImportanceScheme):
    """Sampling-importance-resampling (docs/theory.md §5), then step 2 of Theorem 1.

    Pick draft position ``i`` with probability proportional to ``w_i = q(x_i)/p_i(x_i)``, so
    ``β_y(x) = Σ_{i: x_i = y} w_i / Σ_i w_i``; when every weight is zero, pick a position uniformly.
    ``p_i`` is the ``i``-th draft distribution (``p`` itself for the without-replacement and greedy laws);
    with ``p_i(x_i) = 0`` (a tuple of probability zero) the weight is zero. Applies to every draft law (any
    ``β`` gives an exact two-step scheme) and keeps Fractions for exact instances. Not optimal: on
    ``p = (1/2, 1/2)``, ``q = (3/4, 1/4)``, ``K = 2`` it has ``Σ min(q, p_I) = 7/8`` but membership ``11/12``.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> s = SIR(target=[F(3, 4), F(1, 4)], drafts=[F(1, 2), F(1, 2)], k=2)
    >>> s.sd_acceptance, s.acceptance
    (Fraction(7, 8), Fraction(11, 12))
    """

    name = "sir"
    title = "sampling-importance-resampling + speculative sampling"

    def beta(self, x) -> np.ndarray:
        x = self._tuple(x)
        inst = self.instance
        weights = []
        with np.errstate(over="ignore"):  # an overflowed q/p is handled below, in exact rationals
            for i, t in enumerate(x):
                p = inst.drafts[i][t]
                weights.append(inst.target[t] / p if p > 0 else inst.zero())
        try:
            total = exact_sum(weights)
        except OverflowError:  # math.fsum of finite weights near 1e308
            total = math.inf
        if not self.exact and not math.isfinite(total):  # deliberate: only a float sum can overflow
            # q/p overflowed (a subnormal p): take the weights in exact rationals of the same floats
            ratios = [Fraction(float(inst.target[t])) / Fraction(float(inst.drafts[i][t]))
                      if inst.drafts[i][t] > 0 else Fraction(0) for i, t in enumerate(x)]
            big = sum(ratios, Fraction(0))
            weights, total = [float(r / big) for r in ratios], 1.0
        if total <= 0:
            weights, total = [inst.one()] * len(x), inst.one() * len(x)
        out = self.arith.zeros(inst.n)
        for t, w in zip(x, weights):
            out[t] += w / total
        return out


def truncation_order(target: np.ndarray, joint: np.ndarray) -> np.ndarray:
    """Tokens ranked by ``q(i) - P(i, i)`` descending, ties to the lower index (docs/theory.md §4), shape (n,).

    ``P(i, i) = p_1(i) p_2(i)`` for independent drafts.

    Examples
    --------
    >>> truncation_order(np.array([0.2, 0.5, 0.3]), np.diag([0.1, 0.1, 0.0]))
    array([1, 2, 0])
    """
    key = [float(target[i]) - float(joint[i, i]) for i in range(target.size)]
    return np.array(sorted(range(target.size), key=lambda i: (-key[i], i)), dtype=np.int64)


def _pairwise_law(joint: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``p_I(k) = P(k,k) + Σ_{j≠k} W_kj P(k,j) + Σ_{i≠k} (1 - W_ik) P(i,k)``."""
    off = joint.copy()
    np.fill_diagonal(off, 0.0)
    first = (W * off).sum(axis=1)
    second = ((1.0 - W) * off).sum(axis=0)
    return np.diag(joint) + first + second


def pairwise_is_weights(target, joint, s: int | None = None):
    """The paper's pairwise importance weights for two drafts (Khisti et al. 2025, Section 4; Algorithm 1).

    For the ordered pair ``(i, j)``, ``i ≠ j``, select ``i`` with probability ``W[i, j]`` and ``j`` otherwise
    (``(i, i)`` passes ``i`` through), maximising ``Σ_y min(q(y), p_I(y))`` with

    .. math::

        p_I(k) = P(k,k) + \\sum_{j \\ne k} W_{kj} P(k,j) + \\sum_{i \\ne k} (1 - W_{ik}) P(i,k).

    ``s=None``: every pair is free (an LP with ``n(n-1)`` weights; it reaches ``P*`` for ``K = 2``). ``s``:
    rank the tokens by :func:`truncation_order`, ``Ω_1`` = the top ``s``; a pair with a token outside ``Ω_1``
    selects its better-ranked token, and only the ``s(s-1)`` pairs inside ``Ω_1`` are optimised (the loss is
    at most ``1 - P(Ω_1 × Ω_1)``).

    Parameters
    ----------
    target : ndarray, shape (n,)
        ``q``.
    joint : ndarray, shape (n, n)
        ``P(i, j) = Pr(X_1 = i, X_2 = j)`` (``outer(p_1, p_2)`` for independent drafts).
    s : int or None

    Returns
    -------
    W : ndarray, shape (n, n)
        Selection probabilities of the first token (diagonal 1, unused).
    info : dict
        ``lp_value`` (None without free pairs), ``top_tokens`` (``Ω_1``, or None), ``free_pairs``.

    Raises
    ------
    LPSolveError
        HiGHS did not end optimal, or its objective disagrees with the rounded weights by more than
        :data:`PAIRWISE_LP_TOLERANCE`.

    Examples
    --------
    >>> W, info = pairwise_is_weights(np.array([0.5, 0.5]), np.full((2, 2), 0.25))
    >>> info["free_pairs"], round(info["lp_value"], 9)
    (2, 1.0)
    """
    q = np.asarray(target, dtype=np.float64)
    P = np.asarray(joint, dtype=np.float64)
    n = q.size
    if s is None:
        in_top = np.ones(n, dtype=bool)
        rank = np.arange(n)
        top = None
    else:
        order = truncation_order(q, P)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        in_top = rank < s
        top = tuple(int(t) for t in order[:s])
    W = (rank[:, None] < rank[None, :]).astype(np.float64)  # fixed rule: the better-ranked token wins
    np.fill_diagonal(W, 1.0)
    free = in_top[:, None] & in_top[None, :] & (P > 0) & ~np.eye(n, dtype=bool)
    fi, fj = np.nonzero(free)
    info = {"lp_value": None, "top_tokens": top, "free_pairs": int(fi.size)}
    if fi.size == 0:
        return W, info
    import cvxpy as cp
    import scipy.sparse as sp

    from ..solvers.lp import highs_solve

    Pe = P[fi, fj]
    W_fixed = W.copy()
    W_fixed[fi, fj] = 0.0  # free pairs: their mass enters as P(i, j) - u_ij on token j
    const = _pairwise_law(P, W_fixed)
    E = fi.size
    A = (sp.csr_matrix((np.ones(E), (fi, np.arange(E))), shape=(n, E))
         - sp.csr_matrix((np.ones(E), (fj, np.arange(E))), shape=(n, E)))
    u = cp.Variable(E)
    z = cp.Variable(n)
    problem = cp.Problem(cp.Maximize(cp.sum(z)), [u >= 0, u <= Pe, z <= q, z - A @ u <= const])
    highs_solve(problem, "pairwise IS LP")
    if problem.status != cp.OPTIMAL or u.value is None:
        raise LPSolveError(f"HiGHS ended the pairwise IS LP with status {problem.status!r} (not optimal).")
    W[fi, fj] = np.clip(np.asarray(u.value) / Pe, 0.0, 1.0)
    pI = _pairwise_law(P, W)
    achieved = math.fsum(np.minimum(q, pI).tolist())
    if abs(achieved - float(problem.value)) > PAIRWISE_LP_TOLERANCE:
        raise LPSolveError(
            f"the pairwise IS LP reported {float(problem.value)!r} but its rounded weights reach "
            f"{achieved!r}."
        )
    info["lp_value"] = float(problem.value)
    return W, info


def _check_s(s, allow_none: bool):
    if s is None and allow_none:
        return None
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
        none = " or None (no truncation)" if allow_none else ""
        raise ValueError(f"s={s!r} must be a positive integer (the number of tokens kept in the LP){none}.")
    return int(s)


class _PairwiseTournament(ImportanceScheme):
    """Shared machinery: stage ``m`` pairs the current winner with draft ``m + 1`` by the pairwise rule.

    Stage 1 uses the joint law of ``(X_1, X_2)``; stage ``m > 1`` (independent drafts) the product of the
    current winner's law and ``p_{m+1}``. LP-based: an exact (Fraction) instance is evaluated in float64.
    """

    default_s: int | None = None

    def __init__(self, instance: Instance | None = None, /, *, s="default", **kw):
        super().__init__(instance, **kw)
        self.instance = float_instance(self.instance)
        self.s = _check_s(self.default_s if s == "default" else s, allow_none=True)
        inst = self.instance
        q = inst.target
        if inst.law == "independent":
            law = inst.drafts[0].copy()
            joint = np.outer(law, inst.drafts[1])
        else:  # K = 2 under another draft law: the joint law of (X_1, X_2) from the tuple table
            tt = inst.tuple_table
            joint = np.zeros((inst.n, inst.n))
            np.add.at(joint, (tt.tuples[:, 0], tt.tuples[:, 1]), tt.mass.astype(np.float64))
        #: selection matrices ``W`` of the K - 1 stages, each shape (n, n)
        self.stages: list[np.ndarray] = []
        #: per stage: the LP value, ``Ω_1`` and the joint mass ``P(Ω_1 × Ω_1)``
        self.stage_info: list[dict] = []
        for m in range(1, inst.k):
            if m > 1:
                joint = np.outer(law, inst.drafts[m])
            W, info = pairwise_is_weights(q, joint, self.s)
            top = info["top_tokens"]
            info["top_mass"] = 1.0 if top is None else math.fsum(joint[np.ix_(top, top)].ravel().tolist())
            self.stages.append(W)
            self.stage_info.append(info)
            law = _pairwise_law(joint, W)
        self._final_law = np.maximum(law, 0.0)

    @property
    def intermediate(self) -> np.ndarray:
        """``p_I``: the law of the final winner, computed stage by stage (no enumeration), shape (n,)."""
        return self._final_law

    def beta(self, x) -> np.ndarray:
        """``β(x)``: the law of the tournament's winner for the tuple ``x``, shape (n,)."""
        x = self._tuple(x)
        dist = {x[0]: 1.0}
        for W, j in zip(self.stages, x[1:]):
            new: dict[int, float] = {}
            for i, pr in dist.items():
                if i == j:
                    new[i] = new.get(i, 0.0) + pr
                else:
                    new[i] = new.get(i, 0.0) + pr * W[i, j]
                    new[j] = new.get(j, 0.0) + pr * (1.0 - W[i, j])
            dist = new
        out = np.zeros(self.instance.n)
        for t, pr in dist.items():
            out[t] += pr
        return out

    def sample(self, x, rng: np.random.Generator) -> int:
        """Play the tournament (one coin per stage), then step 2 against ``q``."""
        x = self._tuple(x)
        winner = x[0]
        for W, j in zip(self.stages, x[1:]):
            if winner != j and rng.random() >= W[winner, j]:
                winner = j
        accept, res = self._step2
        if rng.random() < float(accept[winner]):
            return winner
        return _draw(res, rng)

    @property
    def truncation_loss_bound(self) -> float:
        """``1 - P(Ω_1 × Ω_1)`` of the first stage: the truncated LP loses at most this (``K = 2``)."""
        return 1.0 - self.stage_info[0]["top_mass"]


class PairwiseIS(_PairwiseTournament):
    """The paper's pairwise importance-sampling scheme with its full LP, two drafts (Khisti et al. 2025, §4).

    All ``n(n-1)`` ordered-pair weights are optimised (:func:`pairwise_is_weights` with ``s=None``). For
    ``K = 2`` the pairwise weights are every possible ``β``, so ``Σ min(q, p_I)`` reaches ``P*``. Applies to
    ``K = 2`` under every draft law (the LP uses the joint law of ``(X_1, X_2)``).

    Examples
    --------
    >>> s = PairwiseIS(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2)
    >>> round(s.sd_acceptance, 9)
    0.69
    """

    name = "pairwise_is"
    title = "pairwise importance sampling with the full LP (Khisti et al. 2025, K = 2)"
    default_s = None

    def __init__(self, instance: Instance | None = None, /, **kw):
        if "s" in kw:
            raise ValueError("pairwise_is optimises every pair and takes no s; use TruncatedIS(s=...) instead.")
        super().__init__(instance, s=None, **kw)

    @classmethod
    def why_not(cls, inst: Instance) -> str | None:
        if inst.k != 2:
            return f"the pairwise IS LP is for K = 2 drafts (got K = {inst.k}); use tournament for K > 2."
        return None


class TruncatedIS(_PairwiseTournament):
    """The paper's truncated pairwise LP with parameter ``s`` (Algorithm 1), two drafts.

    Tokens ranked by ``q(i) - P(i, i)`` (``p_1(i) p_2(i)``) descending, ties to the lower index; only the
    pairs inside the top ``s`` are optimised, any other pair selects its better-ranked token. Exact for every
    ``s``; ``s >= n`` is :class:`PairwiseIS`; the loss against ``P*`` is at most
    :attr:`truncation_loss_bound` ``= 1 - p_1(Ω_1) p_2(Ω_1)``. Applies to ``K = 2`` under every draft law.

    Parameters
    ----------
    s : int, default 5

    Examples
    --------
    >>> s = TruncatedIS(target=[0.2, 0.3, 0.5], drafts=[0.4, 0.4, 0.2], k=2, s=1)
    >>> s.stage_info[0]["top_tokens"], s.stage_info[0]["lp_value"] is None
    ((2,), True)
    """

    name = "truncated_is"
    title = "truncated pairwise IS LP with parameter s (Khisti et al. 2025, Algorithm 1)"
    default_s = DEFAULT_TRUNCATION

    def __init__(self, instance: Instance | None = None, /, *, s: int = DEFAULT_TRUNCATION, **kw):
        _check_s(s, allow_none=False)
        super().__init__(instance, s=s, **kw)

    @classmethod
    def why_not(cls, inst: Instance) -> str | None:
        if inst.k != 2:
            return f"the truncated pairwise LP is for K = 2 drafts (got K = {inst.k}); use tournament."
        return None


class Tournament(_PairwiseTournament):
    """The pairwise rule as a tournament for ``K >= 2`` independent drafts (Khisti et al. 2025, §4).

    Stage ``m`` plays the current winner (law ``w_m``; ``w_1 = p_1``) against ``X_{m+1} ~ p_{m+1}`` with
    the pairwise weights optimised for the joint law ``w_m ⊗ p_{m+1}`` (full LP for ``s=None``, the default;
    truncated with ``s`` otherwise); the winner's law becomes that stage's ``p_I``. One speculative-sampling
    step with the final ``p_I`` follows. Near-optimal, not optimal; for ``K = 2`` it is
    :class:`PairwiseIS` (or :class:`TruncatedIS`).

    Parameters
    ----------
    s : int or None, default None

    Examples
    --------
    >>> t = Tournament(target=[0.5, 0.3, 0.2], drafts=[0.2, 0.3, 0.5], k=3)
    >>> len(t.stages), round(float(t.intermediate.sum()), 12)
    (2, 1.0)
    """

    name = "tournament"
    title = "pairwise IS tournament for K > 2 (Khisti et al. 2025)"
    default_s = None

    def __init__(self, instance: Instance | None = None, /, *, s: int | None = None, **kw):
        super().__init__(instance, s=s, **kw)

    @classmethod
    def why_not(cls, inst: Instance) -> str | None:
        if inst.k < 2:
            return f"the tournament needs K >= 2 drafts (got K = {inst.k})."
        if inst.law != "independent":
            return (f"the tournament needs independent drafts (law='independent'), not law={inst.law!r}: "
                    "each stage assumes the next draft is independent of the current winner.")
        return None
