"""Batched, vocabulary-scale backend on PyTorch (GPU when present): optima and baselines for (B, n) batches.

Real vocabularies have 32k–256k tokens and a study has thousands of positions. This package computes, for a
whole batch of positions at once, the same quantities as the NumPy side under the same names:

* :func:`optimal_acceptance` — ``P*`` of K identical drafts per row (``.value`` (B,), the cut as a prefix size
  ``.cut_size`` and a ratio ``.threshold``), without a full sort (:mod:`lpspec.batched.optimum`);
* :func:`acceptance_one` — Theorem 2 per row;
* :func:`optimal_verifier` — the rank-space optimal verifier per row, with a batched sampler
  (:mod:`lpspec.batched.verifier`);
* :func:`compare_schemes` — ``{scheme name: (B,) tensor}`` for ``optimal``, ``single_draft``,
  ``specinfer``, ``spectr``, ``naive``, ``truncated_is`` (K = 2, scored by ``Σ min(q, p_I)``) and
  ``upper_bound`` (:mod:`lpspec.batched.schemes`);
* :func:`acceptance_table` — rows (one per position, or means) ready for :func:`lpspec.io.export.write_table`;
* :func:`load_distributions` — (B, n) / (K, B, n) arrays from ``.npy``, ``.pt`` or ``.safetensors``;
* :func:`file_table` — a file in row chunks that workers read themselves (:func:`read_rows`), serially or on
  Dask (:mod:`lpspec.batched.chunks`, :mod:`lpspec.distributed`).

Inputs are (B, n) tensors or arrays of probabilities (identical drafts with ``k``), (K, B, n) drafts for
different drafts, or :class:`Logits` (temperature / top-k / top-p applied by lpspec). Computation is in
float64 by default, on cuda when available (else cpu); ``device=`` and ``dtype=`` override. Results agree with
the NumPy references within :func:`agreement_tolerance` (about ``1e-10`` at ``n = 128 000``).

PyTorch is imported lazily, on the first call: ``import lpspec.batched`` works without it, and a call raises
an :class:`ImportError` that says ``pip install 'lpspec[torch]'``.
"""

from __future__ import annotations

from ._torch import INSTALL_HINT, agreement_tolerance, available_devices, require_torch, torch_available
from .chunks import CHUNK_TASKS, ChunkTask, file_table, register_chunk_task
from .inputs import BatchInput, Logits, as_batch, probabilities_from_logits, sum_tolerance, validate_rows
from .io import LoadedDistributions, load_distributions, read_rows, save_distributions, stored_shapes
from .optimum import BatchedAcceptanceOne, BatchedOptimum, acceptance_one, optimal_acceptance
from .schemes import BATCHED_SCHEMES, DEFAULT_TRUNCATION, compare_schemes, spectr_acceptance
from .table import acceptance_table
from .verifier import BatchedVerifier, optimal_verifier

__all__ = [
    "BATCHED_SCHEMES",
    "DEFAULT_TRUNCATION",
    "INSTALL_HINT",
    "BatchInput",
    "BatchedAcceptanceOne",
    "BatchedOptimum",
    "BatchedVerifier",
    "LoadedDistributions",
    "Logits",
    "acceptance_one",
    "acceptance_table",
    "agreement_tolerance",
    "as_batch",
    "available_devices",
    "compare_schemes",
    "load_distributions",
    "optimal_acceptance",
    "optimal_verifier",
    "probabilities_from_logits",
    "require_torch",
    "save_distributions",
    "spectr_acceptance",
    "sum_tolerance",
    "torch_available",
    "validate_rows",
    "CHUNK_TASKS",
    "ChunkTask",
    "file_table",
    "read_rows",
    "register_chunk_task",
    "stored_shapes",
]
