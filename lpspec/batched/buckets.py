"""Buckets of the ratio ``q/p``: the structure that lets the batched backend avoid a full sort.

Every quantity of docs/theory.md §4–§5 that depends on the order of the tokens by ``r = q/p`` is a *threshold sum*:
the sums of ``q`` and ``p`` over ``{r < c}`` for some threshold ``c`` (the optimum's prefixes, SpecTr's
``b(ρ) = Σ min(p, q/ρ)``, SpecInfer's residual masses ``Σ (q - c p)^+``). So instead of sorting, each row's
tokens are dropped into buckets of ``r`` read off the float bits (a log scale, :data:`SUB_BUCKETS` buckets
per octave between ``2^-64`` and the first edge ``>= upper``):

* bucket ``0`` holds ``[0, 2^-64)``, the last bucket ``top`` holds ``r >= edge[top]`` (``edge[top] >=
  upper``; it includes the tokens with ``p = 0``, whose ratio is taken as ``+inf``);
* the per-bucket sums ``hq``, ``hp`` (one ``scatter_add`` each) give every threshold sum at a bucket edge
  exactly (up to rounding);
* only the tokens of the few buckets that can still matter are gathered, per row, into a small padded
  ``(B, C)`` tensor (:meth:`RatioBuckets.members`), sorted there if needed.

When the buckets that matter still hold too many tokens (ratios packed in a narrow range),
:meth:`RatioBuckets.refine` re-buckets each row's range of selected buckets into ``2^12`` finer buckets (a
per-row offset and a finer shift of the same bits) — a radix search; a bucket of width one bit pattern holds a
single ratio value.

All sums are sums of non-negative terms; the sums above a threshold are suffix sums (no ``1 - ...``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._torch import require_torch

__all__ = ["LOWEST_EXPONENT", "SUB_BUCKETS", "RatioBuckets", "ratio_buckets"]

#: Buckets per octave of ``q/p`` (``2^7``: neighbouring edges differ by ``2^(1/128) - 1 ≈ 0.54 %``). Finer
#: buckets leave fewer tokens to sort but make the per-bucket tables longer; 7 bits measured best.
SUB_BUCKET_BITS = 7
SUB_BUCKETS = 2**SUB_BUCKET_BITS
#: Bucket 0 holds every ratio below ``2^-LOWEST_EXPONENT`` (including ``0``).
LOWEST_EXPONENT = 64


def _layout(dtype):
    torch = require_torch()
    if dtype == torch.float64:
        return torch.int64, 52, 1023
    return torch.int32, 23, 127


@dataclass
class Members:
    """The tokens of selected buckets, one padded row per batch row.

    Attributes
    ----------
    ratio, q, p : torch.Tensor, shape (B, C)
        Padding: ratio ``+inf``, q and p ``0``.
    bucket : torch.Tensor of int64, shape (B, C)
        Padding: ``top``.
    count : torch.Tensor of int64, shape (B,)
        Real entries per row (they come first).
    """

    ratio: object
    q: object
    p: object
    bucket: object
    count: object

    @property
    def width(self) -> int:
        return int(self.ratio.shape[1])

    def valid(self):
        """Boolean (B, C): True on the real entries."""
        torch = require_torch()
        return torch.arange(self.width, device=self.ratio.device).unsqueeze(0) < self.count.unsqueeze(1)


@dataclass
class RatioBuckets:
    """Bucket sums of ``q`` and ``p`` by the ratio ``r = q/p`` (module docstring).

    Attributes
    ----------
    q, p : torch.Tensor, shape (B, n)
        The target and the (single) draft distribution.
    ratio : torch.Tensor, shape (B, n)
        ``q/p``, ``+inf`` where ``p = 0``.
    key : torch.Tensor of int64, shape (B, n)
        Bucket of each token, in ``[0, top]``; non-decreasing in ``ratio``.
    hq, hp : torch.Tensor, shape (B, top + 1)
        Sums of ``q`` and ``p`` per bucket.
    edges : torch.Tensor, shape (top + 1,)
        Lower edge of each bucket (``edges[0] = 0``): bucket ``m`` holds ``edges[m] <= r < edges[m + 1]``.
    top : int
        Index of the last bucket, ``r >= edges[top] >= upper``.
    """

    q: object
    p: object
    ratio: object
    key: object
    hq: object
    hp: object
    edges: object
    top: int
    _shift: int
    _base: int
    counts: object = None
    selectable: object = None
    level: int = 0

    def __post_init__(self):
        torch = require_torch()
        if self.counts is None:
            ones = torch.ones((1, 1), dtype=self.q.dtype, device=self.q.device).expand_as(self.q)
            self.counts = torch.zeros_like(self.hq).scatter_add_(1, self.key, ones)
        if self.selectable is None:
            self.selectable = torch.ones_like(self.hq, dtype=torch.bool)
            self.selectable[:, self.top] = False


    # ------------------------------------------------------------------ threshold sums at the edges
    def _cached(self, name, make):
        cache = self.__dict__.setdefault("_cache", {})
        if name not in cache:
            cache[name] = make()
        return cache[name]

    @property
    def below_q(self):
        """``Σ q`` over the buckets ``< m``, shape (B, top + 2) (``m = 0..top+1``)."""
        torch = require_torch()
        return self._cached("below_q", lambda: _prepend_zero(torch.cumsum(self.hq, dim=1)))

    @property
    def below_p(self):
        """``Σ p`` over the buckets ``< m``, shape (B, top + 2)."""
        torch = require_torch()
        return self._cached("below_p", lambda: _prepend_zero(torch.cumsum(self.hp, dim=1)))

    @property
    def below_n(self):
        """Number of tokens in the buckets ``< m``, shape (B, top + 2) (float; exact below ``2^53``)."""
        torch = require_torch()
        return self._cached("below_n", lambda: _prepend_zero(torch.cumsum(self.counts, dim=1)))

    @property
    def ratio_min(self):
        """Smallest ratio in each bucket (0 for an empty bucket), shape (B, top + 1)."""
        torch = require_torch()

        def make():
            low = torch.full_like(self.hq, float("inf")).scatter_reduce_(1, self.key, self.ratio, "amin")
            return torch.where(self.counts > 0, low, torch.zeros_like(low))

        return self._cached("ratio_min", make)

    @property
    def ratio_max(self):
        """Largest ratio in each bucket (0 for an empty bucket), shape (B, top + 1)."""
        torch = require_torch()

        def make():
            high = torch.full_like(self.hq, -float("inf")).scatter_reduce_(1, self.key, self.ratio, "amax")
            return torch.where(self.counts > 0, high, torch.zeros_like(high))

        return self._cached("ratio_max", make)

    @property
    def above_q(self):
        """``Σ q`` over the buckets ``>= m``, shape (B, top + 2) (a suffix sum, no cancellation)."""
        return self._cached("above_q", lambda: _suffix(self.hq))

    @property
    def above_p(self):
        """``Σ p`` over the buckets ``>= m``, shape (B, top + 2)."""
        return self._cached("above_p", lambda: _suffix(self.hp))

    # ------------------------------------------------------------------ locating thresholds
    def bucket_of(self, values):
        """Bucket index of each value (any shape), by the same bit rule as the tokens.

        Examples
        --------
        >>> import torch
        >>> rb = ratio_buckets(torch.tensor([[0.5, 0.5]], dtype=torch.float64),
        ...                    torch.tensor([[0.25, 0.75]], dtype=torch.float64), upper=2.0)
        >>> rb.bucket_of(torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64)).tolist() == [
        ...     64 * SUB_BUCKETS, rb.top, 0]
        True
        """
        torch = require_torch()
        ity, _, _ = _layout(values.dtype)
        v = values.contiguous()
        return ((v.view(ity) >> self._shift).to(torch.int64) - self._base).clamp_(0, self.top)

    # ------------------------------------------------------------------ gathering bucket members
    def members(self, selected, *, sort: bool = False) -> Members:
        """The tokens whose bucket is selected, per row, in a padded (B, C) layout.

        Parameters
        ----------
        selected : torch.Tensor of bool, shape (B, top + 1)
            Which buckets to gather in each row.
        sort : bool
            Sort each row by ratio (ties keep the token order). Buckets are ratio intervals, so a sorted row
            lists its buckets in increasing order, each contiguous.

        Returns
        -------
        Members
        """
        torch = require_torch()
        B = self.q.shape[0]
        dev = self.q.device
        mask = torch.gather(selected, 1, self.key)
        nz = mask.nonzero()
        rows, cols = nz[:, 0], nz[:, 1]
        count = torch.bincount(rows, minlength=B) if rows.numel() else torch.zeros(B, dtype=torch.int64,
                                                                                    device=dev)
        C = max(int(count.max().item()), 1)
        starts = torch.cumsum(count, 0) - count
        pos = torch.arange(rows.numel(), device=dev) - starts[rows]
        ratio = torch.full((B, C), float("inf"), dtype=self.q.dtype, device=dev)
        q = torch.zeros((B, C), dtype=self.q.dtype, device=dev)
        p = torch.zeros((B, C), dtype=self.q.dtype, device=dev)
        bucket = torch.full((B, C), self.top, dtype=torch.int64, device=dev)
        src = rows * self.q.shape[1] + cols  # flat indices: much faster than 2-D advanced indexing on CPU
        dst = rows * C + pos
        ratio.view(-1)[dst] = self.ratio.reshape(-1)[src]
        q.view(-1)[dst] = self.q.reshape(-1)[src]
        p.view(-1)[dst] = self.p.reshape(-1)[src]
        bucket.view(-1)[dst] = self.key.view(-1)[src]
        if sort:
            ratio, perm = torch.sort(ratio, dim=1, stable=True)
            q = torch.gather(q, 1, perm)
            p = torch.gather(p, 1, perm)
            bucket = torch.gather(bucket, 1, perm)
        return Members(ratio, q, p, bucket, count)

    def edge_at(self, m):
        """Lower edge of bucket ``m[b]`` in each row, shape (B,)."""
        if self.edges.ndim == 1:
            return self.edges[m]
        return self.edges.gather(1, m.unsqueeze(1)).squeeze(1)

    def edge_below(self, m):
        """The largest float ``< edges[m]`` (``-inf`` for ``m = 0``): ``{r <= edge_below(m)} = {r < edges[m]}``."""
        torch = require_torch()
        e = self.edge_at(m)
        return torch.where(m > 0, torch.nextafter(e, torch.full_like(e, -float("inf"))),
                           torch.full_like(e, -float("inf")))

    def row_shifts(self):
        """The shift of each row's buckets, shape (B,) (level 0: the same for every row)."""
        torch = require_torch()
        if isinstance(self._shift, int):
            return torch.full((self.q.shape[0],), self._shift, dtype=torch.int64, device=self.q.device)
        return self._shift

    def _range(self, selected):
        """Bit patterns ``[lo, hi)`` from the smallest to the largest ratio of each row's selected buckets."""
        torch = require_torch()
        ity, _, _ = _layout(self.q.dtype)
        any_sel = selected.any(dim=1)
        low = torch.where(selected, self.ratio_min, torch.full_like(self.hq, float("inf"))).amin(dim=1)
        high = torch.where(selected, self.ratio_max, torch.zeros_like(self.hq)).amax(dim=1)
        low = torch.where(any_sel, low, torch.zeros_like(low))
        high = torch.where(any_sel, high, torch.zeros_like(high))
        lo = low.contiguous().view(ity).to(torch.int64)
        hi = high.contiguous().view(ity).to(torch.int64) + 1  # exclusive end
        return lo, torch.where(any_sel, hi, lo)

    def refine_shifts(self, selected, bits: int = 12):
        """Per row, the shift :meth:`refine` would use: the smallest ``s`` with ``2^bits`` buckets of ``2^s``
        bit patterns covering the row's selected range, shape (B,) (a row without selection: 0)."""
        torch = require_torch()
        lo, hi = self._range(selected)
        widths = (hi - lo).tolist()
        return torch.tensor([max(0, (max(w, 1) - 1).bit_length() - bits) for w in widths], dtype=torch.int64,
                            device=self.q.device)

    def refine(self, selected, bits: int = 12) -> RatioBuckets:
        """Finer buckets over each row's range of selected buckets (a radix step).

        Row ``b``'s range ``[lo_b, hi_b)`` runs from the smallest to the largest ratio (as bit patterns) in its
        selected buckets; it gets ``F_b <= 2^bits`` buckets of ``2^{s_b}`` bit patterns each
        (:meth:`refine_shifts`); bucket 0 holds every token below the range and bucket ``F + 1`` every token
        above (neither is selectable: their inner prefixes are settled). Every token is re-bucketed (a few
        passes and three ``scatter_add``), so the edge sums stay exact prefix sums. A row without selection
        gets an empty range.

        Parameters
        ----------
        selected : torch.Tensor of bool, shape (B, top + 1)
        bits : int

        Returns
        -------
        RatioBuckets
        """
        torch = require_torch()
        ity, _, _ = _layout(self.q.dtype)
        B = self.q.shape[0]
        dev = self.q.device
        lo, hi = self._range(selected)
        shift = self.refine_shifts(selected, bits)
        width = hi - lo
        F = max(1, int(((width + (1 << shift) - 1) >> shift).max().item()))
        key = self.ratio.view(ity)
        key = (key.to(torch.int64) if ity != torch.int64 else key) - lo.unsqueeze(1)
        key.bitwise_right_shift_(shift.unsqueeze(1)).add_(1).clamp_(0, F + 1)
        hq = torch.zeros((B, F + 2), dtype=self.q.dtype, device=dev).scatter_add_(1, key, self.q)
        hp = torch.zeros((B, F + 2), dtype=self.q.dtype, device=dev).scatter_add_(1, key, self.p)
        starts = lo.unsqueeze(1) + (torch.arange(F + 1, device=dev, dtype=torch.int64).unsqueeze(0)
                                    << shift.unsqueeze(1))
        edges = torch.cat([torch.zeros((B, 1), dtype=self.q.dtype, device=dev),
                           starts.to(ity).view(self.q.dtype)], dim=1)
        selectable = torch.zeros((B, F + 2), dtype=torch.bool, device=dev)
        selectable[:, 1 : F + 1] = starts[:, :F] < hi.unsqueeze(1)
        return RatioBuckets(self.q, self.p, self.ratio, key, hq, hp, edges, F + 1, shift, 0,
                            selectable=selectable, level=self.level + 1)


def _prepend_zero(x):
    torch = require_torch()
    return torch.cat([torch.zeros_like(x[:, :1]), x], dim=1)


def _suffix(h):
    """Suffix sums ``Σ_{j >= m} h[:, j]`` for ``m = 0..M`` (the last one ``0``), shape (B, M + 1)."""
    torch = require_torch()
    rev = torch.cumsum(torch.flip(h, dims=[1]), dim=1)
    return torch.cat([torch.flip(rev, dims=[1]), torch.zeros_like(h[:, :1])], dim=1)


def ratio_buckets(q, p, *, upper: float) -> RatioBuckets:
    """Bucket the tokens of every row by ``q/p`` (module docstring).

    Parameters
    ----------
    q, p : torch.Tensor, shape (B, n)
        Validated distributions, float64 or float32, on one device.
    upper : float
        ``>= 1``; the top bucket starts at the first edge ``>= upper``. (For the optimum ``upper = K``: no
        token with ``q/p >= K`` belongs to a minimising prefix.)

    Returns
    -------
    RatioBuckets

    Examples
    --------
    >>> import torch
    >>> q = torch.tensor([[0.5, 0.3, 0.2]], dtype=torch.float64)
    >>> p = torch.tensor([[0.25, 0.25, 0.5]], dtype=torch.float64)
    >>> rb = ratio_buckets(q, p, upper=2.0)
    >>> rb.key[0, 0].item() == rb.top, rb.hp.sum().item()
    (True, 1.0)
    """
    torch = require_torch()
    ity, mant, bias = _layout(q.dtype)
    shift = mant - SUB_BUCKET_BITS
    base = (bias - LOWEST_EXPONENT) << SUB_BUCKET_BITS
    ratio = torch.div(q, p)
    # p = 0: the ratio is +inf, or NaN (0/0) or -inf (q/-0.0); all go to the top bucket. q = -0.0: ratio +0.0.
    torch.nan_to_num_(ratio, nan=float("inf"), posinf=float("inf"), neginf=float("inf")).abs_()
    up = torch.tensor(float(upper), dtype=q.dtype)
    up_bits = int(up.view(ity).item())
    top = (up_bits >> shift) - base
    if up_bits & ((1 << shift) - 1):
        top += 1  # ``upper`` is not an edge: the top bucket starts at the next edge
    key = torch.bitwise_right_shift(ratio.view(ity), shift)
    if ity != torch.int64:
        key = key.to(torch.int64)
    key.sub_(base).clamp_(0, top)
    M = top + 1
    hq = torch.zeros((q.shape[0], M), dtype=q.dtype, device=q.device).scatter_add_(1, key, q)
    hp = torch.zeros((q.shape[0], M), dtype=q.dtype, device=q.device).scatter_add_(1, key, p)
    idx = torch.arange(M, dtype=torch.int64)
    edges = ((idx + base) << shift).to(ity).view(q.dtype).clone()
    edges[0] = 0.0
    return RatioBuckets(q, p, ratio, key, hq, hp, edges.to(q.device), int(top), shift, base)
