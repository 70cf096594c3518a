"""Batched ``P*`` for K *different* independent drafts, ``(K, B, n)``, at vocabulary scale.

.. math::

    P^* = \\min_{S \\subseteq \\Omega} \\; q(S) + 1 - \\prod_k p_k(S)

per row (docs/theory.md §3, §10). No single sort is exact here (docs/theory.md §4), so each row is solved by
:mod:`lpspec.solvers.submodular`: the AM–GM bound (a few sorts, a certified interval), then, only for a gap that
remains, the exact multiplier-space branch and bound, with its certificate checked. The
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


def different_drafts_optimum(batch: BatchInput, *, progress=None, on_budget: str = "raise") -> BatchedDifferentOptimum:
    """``P*`` of each row of a validated (K, B, n) batch by :func:`lpspec.solvers.submodular.submodular_optimum`.

    .. math::

        P^*_b = \\min_{S} \\; q_b(S) + 1 - \\prod_k p_{k,b}(S)

    Each row: the AM–GM bound (a few sorts, certified interval), then the branch and bound for the gap that
    remains, within :data:`lpspec.solvers.submodular.MAX_NODES` boxes and :data:`lpspec.solvers.submodular.MAX_SECONDS`.

    Parameters
    ----------
    batch : BatchInput
        From :func:`~lpspec.batched.inputs.as_batch` (drafts (K, B, n); identical drafts work too).
    progress : callable, optional
        Called after each row with ``(row, B)``.
    on_budget : {"raise", "interval"}
        A row whose search runs out of budget: raise
        :class:`~lpspec.solvers.submodular.SearchBudgetExceeded` (default), or give it the value NaN, an empty
        cut and its certified interval in ``details["stopped"]``.

    Returns
    -------
    BatchedDifferentOptimum
        ``details``: ``nodes``, ``sorts``, ``stage``, ``bounds`` (per row ``(lower, upper)``),
        ``stopped`` (``{row: (lower, upper)}``), ``tolerance``.

    Examples
    --------
    >>> from lpspec.batched.inputs import as_batch
    >>> b = as_batch(target=[[0.1, 0.2, 0.1, 0.6]], drafts=[[[0.8, 0.0, 0.2, 0.0]], [[0.1, 0.3, 0.0, 0.6]]],
    ...              device="cpu")
    >>> r = different_drafts_optimum(b)
    >>> round(r.value.item(), 12), r.cut_mask.tolist()
    (0.98, [[True, True, False, False]])
    """
    if on_budget not in ("raise", "interval"):
        raise ValueError(f"on_budget={on_budget!r}: choose 'raise' or 'interval'.")
    torch = require_torch()
    from ..core.instance import Instance
    from ..solvers.submodular import TOLERANCE, SearchBudgetExceeded, submodular_optimum

    q = batch.target.detach().to("cpu", torch.float64).numpy()
    P = batch.drafts.detach().to("cpu", torch.float64).numpy()
    B, n = q.shape
    values = np.empty(B)
    masks = np.zeros((B, n), dtype=bool)
    nodes, sorts, stages, bounds, stopped = [], [], [], [], {}
    for b in range(B):
        drafts = np.ascontiguousarray(P[:, b, :])
        identical = bool(np.all(drafts == drafts[0]))
        inst = Instance(np.ascontiguousarray(q[b]), drafts, "independent", identical, False)
        try:
            res = submodular_optimum(inst)
        except SearchBudgetExceeded as exc:
            if on_budget == "raise":
                raise
            values[b] = np.nan
            stopped[b] = exc.bounds
            nodes.append(exc.nodes)
            sorts.append(None)
            stages.append("stopped")
            bounds.append(exc.bounds)
        else:
            values[b] = float(res.value)
            masks[b, list(res.cut_set)] = True
            nodes.append(res.details["nodes"])
            sorts.append(res.details["sorts"])
            stages.append(res.details["stage"])
            bounds.append(res.details["bounds"])
        if progress is not None:
            progress(b + 1, B)
    dev = batch.device
    return BatchedDifferentOptimum(
        torch.as_tensor(values, dtype=batch.dtype, device=dev), torch.as_tensor(masks, device=dev), batch.k,
        details={"nodes": nodes, "sorts": sorts, "stage": stages, "bounds": bounds, "stopped": stopped,
                 "tolerance": TOLERANCE})
