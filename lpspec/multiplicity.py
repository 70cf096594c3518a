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

__all__ = ["CLOSED_FORM_SCHEMES", "MAX_ENUMERATED_TUPLES", "multiplicity_table", "spectr_rho_rows"]

#: Schemes whose ``a(y, m)`` table has a closed form here (``optimal`` comes from ``lpspec.optimal_verifier``).
CLOSED_FORM_SCHEMES = ("single_draft", "specinfer", "spectr", "optimal")
#: Largest ``C · n^j`` for the enumeration fallback of other schemes.
MAX_ENUMERATED_TUPLES = 200_000


def _binom(i: int, N: int, p: np.ndarray) -> np.ndarray:
    """``Bin(i; N, p)`` elementwise over ``p`` (zero outside ``0 <= i <= N``)."""
    if i < 0 or i > N:
        return np.zeros_like(p)
    return math.comb(N, i) * p**i * (1.0 - p) ** (N - i)


def _residual_rows(r: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Row-wise ``(r - p)^+ / Σ (r - p)^+``, and ``r`` itself where that sum is zero (as the schemes do)."""
    diff = np.where(r > p, r - p, 0.0)
    total = diff.sum(axis=-1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, diff / safe, r)


def _single_draft(q, p, j):
    acc = np.minimum(q, p)
    rej = np.where(p > q, p - q, 0.0).sum(axis=-1, keepdims=True)
    res = _residual_rows(q, p)
    out = np.empty(q.shape + (j,))
    for m in range(1, j + 1):
        out[..., m - 1] = acc * _binom(m - 1, j - 1, p) + rej * res * _binom(m, j - 1, p)
    return out


def _specinfer(q, p, j):
    out = np.zeros(q.shape + (j,))
    r = q
    reach = np.ones(q.shape[:-1] + (1,))
    for k in range(1, j + 1):
        acc = np.minimum(r, p)
        first = reach * acc
        for m in range(1, j - k + 2):
            out[..., m - 1] += first * _binom(m - 1, j - k, p)
        reach = reach * (1.0 - acc.sum(axis=-1, keepdims=True))
        r = _residual_rows(r, p)
    return out


def spectr_rho_rows(q: np.ndarray, p: np.ndarray, j: int) -> np.ndarray:
    """SpecTr's ``ρ*`` for ``j`` drafts, one per row of ``(C, n)`` arrays, shape (C,).

    The same bisection as :func:`lpspec.schemes.spectr_rho` (smallest ``ρ ∈ [1, j]`` with
    ``f(ρ) = 1 - (1 - b(ρ))^j - ρ b(ρ) <= 0``, the upper end of the final bracket), run on all rows at once.

    Examples
    --------
    >>> q = np.array([[1/3, 1/9, 5/9]]); p = np.full((1, 3), 1/3)
    >>> round(float(spectr_rho_rows(q, p, 2)[0]), 12)  # 4/3 up to bisection
    1.333333333333
    """
    def f(rho):
        b = np.minimum(p, q / rho[:, None]).sum(axis=-1)
        return 1.0 - (1.0 - b) ** j - rho * b

    rows = q.shape[0]
    lo = np.ones(rows)
    hi = np.full(rows, float(j))
    active = ~(f(lo) <= 0)
    hi[~active] = 1.0
    for _ in range(200):
        if not active.any():
            break
        mid = (lo + hi) / 2
        active &= (lo < mid) & (mid < hi)
        neg = f(np.where(active, mid, hi)) <= 0
        hi = np.where(active & neg, mid, hi)
        lo = np.where(active & ~neg, mid, lo)
    return hi


def _spectr(q, p, j):
    shape = q.shape
    q2, p2 = q.reshape(-1, shape[-1]), p.reshape(-1, shape[-1])
    rho = spectr_rho_rows(q2, p2, j)[:, None]
    mu = np.minimum(p2, q2 / rho)
    b = mu.sum(axis=-1, keepdims=True)
    u = p2 - mu
    w = np.maximum(1.0 - b - u, 0.0)
    # H_k(z) = Σ_{i=1..k} A^{i-1} B^{k-i}, A = u z + w, B = p z + (1 - p); H_k = B H_{k-1} + A^{k-1}.
    h = np.zeros(q2.shape + (j,))
    apow = np.zeros(q2.shape + (j,))
    h[..., 0] = 1.0
    apow[..., 0] = 1.0
    for k in range(2, j + 1):
        nxt = np.zeros_like(apow)  # A^{k-1} = A · A^{k-2}
        nxt[..., 1:k] += u[..., None] * apow[..., : k - 1]
        nxt[..., : k - 1] += w[..., None] * apow[..., : k - 1]
        apow = nxt
        hb = np.zeros_like(h)
        hb[..., 1:k] += p2[..., None] * h[..., : k - 1]
        hb[..., : k - 1] += (1.0 - p2)[..., None] * h[..., : k - 1]
        h = hb + apow
    out = mu[..., None] * h
    miss = 1.0 - b
    gamma = np.where(b > 0, (1.0 - miss**j) / np.where(b > 0, b, 1.0), float(j))
    excess = np.where(q2 > gamma * mu, q2 - gamma * mu, 0.0)
    total = excess.sum(axis=-1, keepdims=True)
    res = np.where(total > 0, excess / np.where(total > 0, total, 1.0), q2)
    ok = (miss > 0)[..., 0]
    if ok.any():
        share = np.where(ok[:, None], u / np.where(miss > 0, miss, 1.0), 0.0)
        weight = np.where(ok[:, None], miss**j * res, 0.0)
        for m in range(1, j + 1):
            out[..., m - 1] += weight * _binom(m, j, share)
    return out.reshape(shape + (j,))


def _optimal(q, p, j):
    import lpspec

    if not hasattr(lpspec, "optimal_verifier"):
        raise ValueError("scheme='optimal' needs lpspec.optimal_verifier (the rank-space verifier of "
                         "docs/theory.md §9), which this installation lacks; use single_draft, specinfer or spectr.")
    shape = q.shape
    q2, p2 = q.reshape(-1, shape[-1]), p.reshape(-1, shape[-1])
    rows = [np.asarray(lpspec.optimal_verifier(target=a, drafts=b, k=j).multiplicity_table(), dtype=np.float64)
            for a, b in zip(q2, p2)]
    out = np.stack(rows)
    if out.shape != q2.shape + (j,):
        raise ValueError(f"optimal_verifier(...).multiplicity_table() returned shape {out.shape[1:]}, "
                         f"expected {(q2.shape[1], j)}.")
    return out.reshape(shape + (j,))


def _enumerated(name, q, p, j):
    from .schemes import SCHEMES, make_scheme

    if name not in SCHEMES:
        raise ValueError(f"scheme={name!r} is not a built-in scheme; choose one of {', '.join(SCHEMES)}.")
    shape = q.shape
    n = shape[-1]
    q2, p2 = q.reshape(-1, n), p.reshape(-1, n)
    if q2.shape[0] * n**j > MAX_ENUMERATED_TUPLES:
        raise ValueError(f"scheme={name!r} has no closed-form a(y, m) here and enumerating {q2.shape[0]} x {n}^{j} "
                         f"draft tuples exceeds {MAX_ENUMERATED_TUPLES}; use one of {', '.join(CLOSED_FORM_SCHEMES)}.")
    out = np.zeros(q2.shape + (j,))
    tuples = list(itertools.product(range(n), repeat=j))
    for c in range(q2.shape[0]):
        s = make_scheme(name, target=q2[c], drafts=p2[c], k=j)
        for x in tuples:
            mass = float(np.prod(p2[c, list(x)]))
            if mass == 0:
                continue
            law = np.asarray(s.conditional(x), dtype=np.float64)
            for y in set(x):
                out[c, y, x.count(y) - 1] += mass * law[y]
    return out.reshape(shape + (j,))


_CLOSED = {"single_draft": _single_draft, "specinfer": _specinfer, "spectr": _spectr, "optimal": _optimal}


def multiplicity_table(scheme: str, *, target, draft, j: int) -> np.ndarray:
    """``a(y, m)`` of docs/theory.md §11 for ``j`` i.i.d. drafts, vectorised over contexts.

    Parameters
    ----------
    scheme : str
        ``"single_draft"``, ``"specinfer"``, ``"spectr"``, ``"optimal"`` (closed forms, module docstring), or
        another name of :data:`lpspec.SCHEMES` (enumeration of ``n^j`` tuples per context).
    target, draft : array_like, shape (n,) or (C, n)
        Next-token laws ``q`` and ``p`` (one row per context); rows must be probability vectors.
    j : int
        Number of surviving drafts, ``>= 1``.

    Returns
    -------
    numpy.ndarray, shape (n, j) or (C, n, j)
        ``[..., y, m - 1] = a(y, m)``. Cost ``O(C n j^2)`` for the closed forms.

    Examples
    --------
    >>> a = multiplicity_table("specinfer", target=[0.5, 0.5], draft=[0.5, 0.5], j=2)
    >>> a.tolist()  # y accepted at draft 1: multiplicity 1 + Bin(1, 1/2)
    [[0.25, 0.25], [0.25, 0.25]]
    """
    if isinstance(j, bool) or int(j) != j or j < 1:
        raise ValueError(f"j={j!r} must be a positive integer (the number of surviving drafts).")
    j = int(j)
    q = np.asarray(target, dtype=np.float64)
    p = np.asarray(draft, dtype=np.float64)
    if q.shape != p.shape or q.ndim not in (1, 2):
        raise ValueError(f"target and draft must have the same shape (n,) or (C, n); got {q.shape} and {p.shape}.")
    if not isinstance(scheme, str):
        raise ValueError(f"scheme must be a scheme name such as 'specinfer'; got {type(scheme).__name__}.")
    func = _CLOSED.get(scheme)
    if func is None:
        return _enumerated(scheme, q, p, j)
    return func(q, p, j)
