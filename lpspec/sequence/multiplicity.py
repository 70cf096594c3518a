"""What one verification step contributes to a block: the tables ``a(y, m)`` of docs/theory.md §11.

For ``j`` i.i.d. drafts ``X_1..X_j ~ p`` and a token-level scheme with target ``q``,

.. math::

    a(y, m) = \\Pr[\\text{the output is } y,\\ y \\in \\mathrm{set}(X),\\ \\#\\{k : X_k = y\\} = m],
    \\qquad y \\in \\Omega,\\ m = 1..j,

("accepted" is membership, docs/theory.md §1). ``Σ_{y,m} a(y, m)`` is the token-level acceptance and the
``m`` drafts that show ``y`` survive to the next depth. :func:`multiplicity_table` evaluates ``a`` for many
contexts at once (rows of ``(C, n)`` target and draft arrays), in closed form:

* ``single_draft`` (speculative sampling on ``X_1``; the others only count when the residual token equals
  them): ``a(y, m) = min(q, p)(y) Bin(m-1; j-1, p(y)) + Σ(p - q)^+ · r(y) Bin(m; j-1, p(y))``,
  ``r = (q - p)^+ / Σ (q - p)^+``;
* ``specinfer``: ``a(y, m) = Σ_k Π_{i<k}(1 - α_i) min(r_k(y), p(y)) Bin(m-1; j-k, p(y))``;
* ``spectr`` (K-SEQ with ``ρ*`` for ``j`` drafts, bisected per context as :func:`lpspec.schemes.spectr_rho`):
  with ``μ = min(p, q/ρ*)``, ``b = Σ μ``, ``u = p - μ`` (a rejected copy of ``y``), ``w = 1 - b - u``,
  ``a(y, ·) = μ(y) [z^{m-1}] Σ_{k=1..j} (u z + w)^{k-1} (p z + 1 - p)^{j-k}`` — a copy of ``y`` rejected
  earlier survives too — plus the membership term of the final residual ``r``,
  ``(1 - b)^j r(y) Bin(m; j, u/(1 - b))`` (of the order of the bisection tolerance);
* ``optimal``: the rank-space verifier of docs/theory.md §9 (``lpspec.optimal_verifier(...).multiplicity_table()``),
  whose placement order is part of the plan: ``P*`` alone does not fix ``a``;
* any other built-in scheme name: enumeration of the ``n^j`` draft tuples through the scheme's
  ``conditional`` (small ``n`` only).

Binomial probabilities ``Bin(i; N, p) = C(N, i) p^i (1 - p)^{N-i}`` are zero outside ``0 <= i <= N``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..core.keywords import DRAFTS, keyword_aliases
from ..core.xp import specinfer_round
from ..registry import CLOSED_FORM_SCHEMES, SCHEME_SPECS

__all__ = ["CLOSED_FORM_SCHEMES", "MAX_ENUMERATED_TUPLES", "multiplicity_table", "spectr_rho_rows"]

# CLOSED_FORM_SCHEMES (schemes whose a(y, m) table has a closed form here: the entries of lpspec.registry with a
# ``multiplicity_fn`` pointer; the optimum's comes from lpspec.optimal_verifier) is read from the registry.
#: Rows are processed in chunks of about this many entries (bounds the temporaries of the closed forms).
_CHUNK_ELEMENTS = 1 << 18
#: Largest ``C · n^j`` for the enumeration fallback of other schemes.
MAX_ENUMERATED_TUPLES = 200_000


def _binom(i: int, N: int, p: np.ndarray) -> np.ndarray:
    """``Bin(i; N, p)`` elementwise over ``p`` (zero outside ``0 <= i <= N``)."""
    if i < 0 or i > N:
        return np.zeros_like(p)
    return math.comb(N, i) * p**i * (1.0 - p) ** (N - i)


class _Powers:
    """``p^i`` and ``(1 - p)^i`` for ``i = 0..j``, built by repeated products, and ``Bin(i; N, p)`` from them."""

    def __init__(self, p: np.ndarray, j: int):
        self.up = [np.ones_like(p)]
        self.down = [np.ones_like(p)]
        comp = 1.0 - p
        for _ in range(j):
            self.up.append(self.up[-1] * p)
            self.down.append(self.down[-1] * comp)

    def binom(self, i: int, N: int) -> np.ndarray | float:
        if i < 0 or i > N:
            return 0.0
        return math.comb(N, i) * (self.up[i] * self.down[N - i])


def _residual_rows(r: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Row-wise ``(r - p)^+ / Σ (r - p)^+``, and ``r`` itself where that sum is zero (as the schemes do)."""
    diff = np.where(r > p, r - p, 0.0)
    total = diff.sum(axis=-1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, diff / safe, r)


def _single_draft(q, p, j):
    acc = np.minimum(q, p)
    rej = np.where(p > q, p - q, 0.0).sum(axis=-1, keepdims=True)
    res = rej * _residual_rows(q, p)
    pw = _Powers(p, j)
    return np.stack([acc * pw.binom(m - 1, j - 1) + res * pw.binom(m, j - 1) for m in range(1, j + 1)], axis=-1)


def _specinfer(q, p, j):
    out = [np.zeros_like(q) for _ in range(j)]
    pw = _Powers(p, j)
    r = q
    reach = np.ones(q.shape[:-1] + (1,))
    for k in range(1, j + 1):
        first = reach * np.minimum(r, p)
        for m in range(1, j - k + 2):
            out[m - 1] += first * pw.binom(m - 1, j - k)
        if k < j:
            miss, r = specinfer_round(r, p)  # SpecInfer's round, the one formula of lpspec.core.xp
            reach = reach * miss[..., None]
    return np.stack(out, axis=-1)


def spectr_rho_rows(q: np.ndarray, p: np.ndarray, j: int) -> np.ndarray:
    """SpecTr's ``ρ*`` for ``j`` drafts, one per row of ``(C, n)`` arrays, shape (C,).

    The smallest ``ρ ∈ [1, j]`` with ``f(ρ) = 1 - (1 - b(ρ))^j - ρ b(ρ) <= 0``, ``b(ρ) = Σ_y min(p(y), q(y)/ρ)``
    (docs/theory.md §5), as :func:`lpspec.schemes.spectr_rho` defines it, found without evaluating ``b`` over
    the vocabulary at every step: ``f`` is non-increasing, and between consecutive sorted ratios ``q/p`` it is
    ``1 - b = D = Σ_{q/p < ρ} (p - q/ρ)`` with constant sums, so ``f = (1 - ρ) + ρ D - D^j`` is evaluated from the
    rejected mass ``D`` directly (no cancellation when ``b ≈ 1``: ``ρ* = 1`` exactly when ``p <= q``
    everywhere, i.e. ``p = q``). One sort per row locates the segment of the root from ``f`` at the
    breakpoints; a bisection inside it (``O(1)`` per step) returns the upper end of its final bracket, so
    ``f(ρ*) <= 0`` and K-SEQ's residual stays non-negative. Cost ``O(n log n)`` per row. (The scalar
    :func:`~lpspec.schemes.spectr_rho` sums ``b`` instead; where ``f`` is flat at its root, e.g. ``p = q``,
    rounding can make the two pick different valid roots.)

    Examples
    --------
    >>> q = np.array([[1/3, 1/9, 5/9]]); p = np.full((1, 3), 1/3)
    >>> round(float(spectr_rho_rows(q, p, 2)[0]), 12)  # 4/3 up to bisection
    1.333333333333
    """
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    p = np.atleast_2d(np.asarray(p, dtype=np.float64))
    rows, n = q.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, q / np.where(p > 0, p, 1.0), np.inf)
    order = np.argsort(ratio, axis=1, kind="stable")
    rs = np.take_along_axis(ratio, order, axis=1)
    qcum = np.zeros((rows, n + 1))
    pcum = np.zeros((rows, n + 1))
    np.cumsum(np.take_along_axis(q, order, axis=1), axis=1, out=qcum[:, 1:])
    np.cumsum(np.take_along_axis(p, order, axis=1), axis=1, out=pcum[:, 1:])
    # segment i (i ratios strictly below ρ) covers ρ in [rs[i-1], rs[i]] (rs[-1] = 0, rs[n] = inf); there
    # 1 - b(ρ) = D = pcum[i] - qcum[i]/ρ (the rejected mass, summed directly: no cancellation near b = 1) and
    # f(ρ) = (1 - ρ) + ρ D - D^j.
    rs_end = np.concatenate([rs, np.full((rows, 1), np.inf)], axis=1)
    rs_start = np.concatenate([np.zeros((rows, 1)), rs], axis=1)
    valid = (rs_end >= 1.0) & (rs_start <= j)
    ends = np.clip(rs_end, 1.0, float(j))
    starts = np.clip(rs_start, 1.0, float(j))
    d_end = np.maximum(pcum - qcum / ends, 0.0)
    fe = np.where(valid, (1.0 - ends) + ends * d_end - d_end**j, np.inf)
    hit = fe <= 0
    found = hit.any(axis=1)  # f(j) <= 0 in exact arithmetic; else ρ* = j, as the plain bisection gives
    i = np.argmax(hit, axis=1)[:, None]
    hi = np.where(found, np.take_along_axis(ends, i, axis=1)[:, 0], float(j))
    lo = np.where(found, np.take_along_axis(starts, i, axis=1)[:, 0], float(j))
    pl = np.take_along_axis(pcum, i, axis=1)[:, 0]
    ql = np.take_along_axis(qcum, i, axis=1)[:, 0]

    def g(rho):
        d = np.maximum(pl - ql / rho, 0.0)
        return (1.0 - rho) + rho * d - d**j

    done = ~found | (g(lo) <= 0)  # the left end is already a root (f(1) <= 0, or a segment boundary)
    hi = np.where(done, lo, hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        active = ~done & (lo < mid) & (mid < hi)
        if not active.any():
            break
        neg = g(mid) <= 0
        hi = np.where(active & neg, mid, hi)
        lo = np.where(active & ~neg, mid, lo)
    return hi


def _spectr(q, p, j):
    rho = spectr_rho_rows(q, p, j)[:, None]
    mu = np.minimum(p, q / rho)
    b = mu.sum(axis=-1, keepdims=True)
    u = p - mu
    w = np.maximum(1.0 - b - u, 0.0)
    comp = 1.0 - p
    # coefficient lists in z of H_k(z) = Σ_{i=1..k} A^{i-1} B^{k-i}, A = u z + w, B = p z + (1 - p):
    # H_1 = 1, A^0 = 1, then A^{k-1} = A · A^{k-2} and H_k = B H_{k-1} + A^{k-1}.
    h = [np.ones_like(p)]
    apow = [np.ones_like(p)]
    for k in range(2, j + 1):
        apow = [w * apow[0]] + [u * apow[i - 1] + w * apow[i] for i in range(1, k - 1)] + [u * apow[k - 2]]
        hb = [comp * h[0]] + [p * h[i - 1] + comp * h[i] for i in range(1, k - 1)] + [p * h[k - 2]]
        h = [x + y for x, y in zip(hb, apow)]
    out = [mu * h[m] for m in range(j)]
    miss = 1.0 - b
    gamma = np.where(b > 0, (1.0 - miss**j) / np.where(b > 0, b, 1.0), float(j))
    excess = np.where(q > gamma * mu, q - gamma * mu, 0.0)
    total = excess.sum(axis=-1, keepdims=True)
    res = np.where(total > 0, excess / np.where(total > 0, total, 1.0), q)
    ok = (miss > 0)[..., 0]
    if ok.any():
        share = np.where(ok[:, None], u / np.where(miss > 0, miss, 1.0), 0.0)
        weight = np.where(ok[:, None], miss**j * res, 0.0)
        pw = _Powers(share, j)
        for m in range(1, j + 1):
            out[m - 1] += weight * pw.binom(m, j)
    return np.stack(out, axis=-1)


def _optimal(q, p, j):
    from ..verifier import (
        rank as verifier,  # the module, so that a test can stand in for verifier.optimal_verifier
    )

    shape = q.shape
    q2, p2 = q.reshape(-1, shape[-1]), p.reshape(-1, shape[-1])
    rows = [np.asarray(verifier.optimal_verifier(target=a, drafts=b, k=j).multiplicity_table(),
                       dtype=np.float64) for a, b in zip(q2, p2)]
    out = np.stack(rows)
    if out.shape != q2.shape + (j,):
        raise ValueError(f"optimal_verifier(...).multiplicity_table() returned shape {out.shape[1:]}, "
                         f"expected {(q2.shape[1], j)}.")
    return out.reshape(shape + (j,))


def _enumerated(name, q, p, j):
    from ..schemes import SCHEMES

    if name not in SCHEMES:
        raise ValueError(f"scheme={name!r} is not a built-in scheme; choose one of {', '.join(SCHEMES)}.")
    cls = SCHEMES[name]
    shape = q.shape
    n = shape[-1]
    q2, p2 = q.reshape(-1, n), p.reshape(-1, n)
    if q2.shape[0] * n**j > MAX_ENUMERATED_TUPLES:
        raise ValueError(f"scheme={name!r} has no closed-form a(y, m) here and enumerating {q2.shape[0]} x {n}^{j} "
                         f"draft tuples exceeds {MAX_ENUMERATED_TUPLES}; use one of {', '.join(CLOSED_FORM_SCHEMES)}.")
    out = np.zeros(q2.shape + (j,))
    tuples = list(itertools.product(range(n), repeat=j))
    for c in range(q2.shape[0]):
        s = cls(target=q2[c], drafts=p2[c], k=j)
        for x in tuples:
            mass = float(np.prod(p2[c, list(x)]))
            if mass == 0:
                continue
            law = np.asarray(s.conditional(x), dtype=np.float64)
            for y in set(x):
                out[c, y, x.count(y) - 1] += mass * law[y]
    return out.reshape(shape + (j,))


@keyword_aliases(deprecated=DRAFTS)
def multiplicity_table(scheme: str, *, target, drafts, j: int) -> np.ndarray:
    """``a(y, m)`` of docs/theory.md §11 for ``j`` i.i.d. drafts, vectorised over contexts.

    Parameters
    ----------
    scheme : str
        ``"single_draft"``, ``"specinfer"``, ``"spectr"``, ``"optimal"`` (closed forms, module docstring), or
        another name of :data:`lpspec.SCHEMES` (enumeration of ``n^j`` tuples per context).
    target, drafts : array_like, shape (n,) or (C, n)
        Next-token laws ``q`` and ``p`` (one row per context); rows must be probability vectors.
    j : int
        Number of surviving drafts, ``>= 1``.

    Returns
    -------
    numpy.ndarray, shape (n, j) or (C, n, j)
        ``[..., y, m - 1] = a(y, m)``. Cost ``O(C n j^2)`` for the closed forms.

    Examples
    --------
    >>> a = multiplicity_table("specinfer", target=[0.5, 0.5], drafts=[0.5, 0.5], j=2)
    >>> a.tolist()  # y accepted at draft 1: multiplicity 1 + Bin(1, 1/2)
    [[0.25, 0.25], [0.25, 0.25]]
    """
    draft = drafts  # drafts= is the one spelling across the API (lpspec.core.keywords)
    if isinstance(j, bool) or int(j) != j or j < 1:
        raise ValueError(f"j={j!r} must be a positive integer (the number of surviving drafts).")
    j = int(j)
    q = np.asarray(target, dtype=np.float64)
    p = np.asarray(draft, dtype=np.float64)
    if q.shape != p.shape or q.ndim not in (1, 2):
        raise ValueError(f"target and draft must have the same shape (n,) or (C, n); got {q.shape} and {p.shape}.")
    for name, arr in (("target", q), ("draft", p)):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{name} must hold finite non-negative probabilities.")
        sums = arr.sum(axis=-1)
        if np.any(np.abs(sums - 1.0) > 1e-9):
            raise ValueError(f"every row of {name} must sum to 1 (found a row summing to "
                             f"{float(np.ravel(sums)[np.argmax(np.abs(np.ravel(sums) - 1.0))])!r}); normalise it.")
    if not isinstance(scheme, str):
        raise ValueError(f"scheme must be a scheme name such as 'specinfer'; got {type(scheme).__name__}.")
    spec = SCHEME_SPECS.get(scheme)
    if spec is None or not spec.has("multiplicity"):
        return _enumerated(scheme, q, p, j)
    func = spec.load("multiplicity")
    if q.ndim == 1:
        return func(q[None, :], p[None, :], j)[0]
    out = np.empty(q.shape + (j,))
    step = max(1, _CHUNK_ELEMENTS // max(q.shape[1], 1))
    for lo in range(0, q.shape[0], step):
        out[lo : lo + step] = func(q[lo : lo + step], p[lo : lo + step], j)
    return out
