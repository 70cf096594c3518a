"""Batched ``P*`` for K *different* independent drafts, ``(K, B, n)``, at vocabulary scale.

.. math::

    P^* = \\min_{S \\subseteq \\Omega} \\; q(S) + 1 - \\prod_k p_k(S)

per row (docs/theory.md §3, §10). No sort is exact here (docs/theory.md §4), so each row is solved by the
exact multiplier-space branch and bound of :mod:`lpspec.submodular`, with its cover certificate checked. The
inputs are validated and renormalised on the torch side (:func:`~lpspec.batched.inputs.as_batch`, on any
device); the search itself is sequential and branchy, so it runs on the CPU in float64 (rows one after the
other) and the results are moved back to the input's device.

Agreement with :func:`lpspec.optimal_acceptance` per row: the same float64 search on the same validated row,
so the values agree to the search's ``tolerance`` (``1e-13``) plus the rounding of the row's
renormalisation (:func:`~lpspec.batched._torch.agreement_tolerance`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._torch import require_torch
from .inputs import BatchInput

__all__ = ["BatchedDifferentOptimum", "different_drafts_optimum"]


@dataclass
class BatchedDifferentOptimum:
    """Per-row optimum for different drafts.

    Attributes
    ----------
    value : torch.Tensor, shape (B,)
        ``P*(acc)`` per row.
    cut_mask : torch.Tensor of bool, shape (B, n)
        The certified minimising set ``S`` of each row.
    k : int
    method : str
        ``"batched_submodular"``.
    details : dict
        ``nodes`` (search boxes per row, list), ``tolerance``.
    """

    value: object
    cut_mask: object
    k: int
    method: str = "batched_submodular"
    details: dict = field(default_factory=dict, repr=False)

    @property
    def cut_size(self):
        """Number of tokens in each row's set, shape (B,)."""
        return self.cut_mask.sum(dim=1)


def different_drafts_optimum(batch: BatchInput, *, progress=None) -> BatchedDifferentOptimum:
    """``P*`` of each row of a validated (K, B, n) batch by :func:`lpspec.submodular.submodular_optimum`.

    Parameters
    ----------
    batch : BatchInput
        From :func:`~lpspec.batched.inputs.as_batch` (drafts (K, B, n); identical drafts work too).
    progress : callable, optional
        Called after each row with ``(row, B)``.

    Returns
    -------
    BatchedDifferentOptimum

    Examples
    --------
    >>> from lpspec.batched.inputs import as_batch
    >>> b = as_batch(target=[[0.1, 0.2, 0.1, 0.6]], drafts=[[[0.8, 0.0, 0.2, 0.0]], [[0.1, 0.3, 0.0, 0.6]]],
    ...              device="cpu")
    >>> r = different_drafts_optimum(b)
    >>> round(r.value.item(), 12), r.cut_mask.tolist()
    (0.98, [[True, True, False, False]])
    """
    torch = require_torch()
    from ..instance import Instance
    from ..submodular import TOLERANCE, submodular_optimum

    q = batch.target.detach().to("cpu", torch.float64).numpy()
    P = batch.drafts.detach().to("cpu", torch.float64).numpy()
    B, n = q.shape
    values = np.empty(B)
    masks = np.zeros((B, n), dtype=bool)
    nodes = []
    for b in range(B):
        drafts = np.ascontiguousarray(P[:, b, :])
        identical = bool(np.all(drafts == drafts[0]))
        inst = Instance(np.ascontiguousarray(q[b]), drafts, "independent", identical, False)
        res = submodular_optimum(inst)
        values[b] = float(res.value)
        masks[b, list(res.cut_set)] = True
        nodes.append(res.details["nodes"])
        if progress is not None:
            progress(b + 1, B)
    dev = batch.device
    return BatchedDifferentOptimum(
        torch.as_tensor(values, dtype=batch.dtype, device=dev), torch.as_tensor(masks, device=dev), batch.k,
        details={"nodes": nodes, "tolerance": TOLERANCE})
