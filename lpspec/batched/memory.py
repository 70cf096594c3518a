"""Peak memory of batched work, estimated before it starts, and a refusal beyond a budget the user can raise.

The acceptance table (:func:`lpspec.batched.acceptance_table`, ``lpspec batch``, :func:`~lpspec.batched.file_table`)
holds, per process, at its peak:

* the interpreter with NumPy, torch and lpspec: :data:`BASE_MEMORY`;
* the rows read for one chunk: ``chunk_rows × n × stored itemsize × (1 + drafts arrays)``;
* the working tensors of one batch: ``batch_rows × n × compute itemsize × WORK_ARRAYS`` (ratios, their
  sort, prefix sums, the schemes' residuals ...).

:data:`WORK_ARRAYS` is measured: peak RSS of ``lpspec batch`` on float64 files at n = 256 000 grows by 8.6
(``-k 4``) to 11.3 (``-k 2 4 8``, truncated IS included) float64 rows of length n per row of a chunk, the
chunk's own two input rows included; the estimate takes 10 working rows plus the input rows, so that it errs
on the high side.

The budget is ``memory_budget=`` (``--memory-budget`` on the command line), else the environment variable
``LPSPEC_MEMORY_BUDGET`` (``8G``, ``512M``, ``2.5GB`` or bytes), else half of the machine's physical memory.
"""

from __future__ import annotations

import os
import re

__all__ = ["BASE_MEMORY", "MEMORY_BUDGET_ENV", "MemoryBudgetError", "WORK_ARRAYS", "check_memory",
           "estimate_memory", "format_bytes", "memory_budget", "parse_memory"]

#: Bytes of a process before any data: Python, NumPy, torch, lpspec (measured: about 260 MB).
BASE_MEMORY = 300 * 2**20
#: Working (rows, n) arrays of the compute dtype per row of a batch (measured 6.6–9.3 beyond the input).
WORK_ARRAYS = 10
#: Environment variable holding the budget (``8G``, ``512M``, bytes).
MEMORY_BUDGET_ENV = "LPSPEC_MEMORY_BUDGET"
_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
          "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}


class MemoryBudgetError(ValueError):
    """Batched work whose estimated peak memory exceeds the budget (the message holds the estimate and the fix)."""


def parse_memory(text, name: str = "memory_budget") -> int:
    """Bytes from ``"8G"``, ``"512M"``, ``"2.5GB"``, ``"1e9"`` or a number (binary units: 1G = 2^30 bytes).

    Examples
    --------
    >>> parse_memory("8G"), parse_memory("512 MiB"), parse_memory(1000)
    (8589934592, 536870912, 1000)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*", str(text))
        if m is None or m.group(2).upper() not in _UNITS:
            raise ValueError(f"{name}={text!r} is not a memory size; write e.g. 8G, 512M or a number of bytes.")
        value, unit = float(m.group(1)), m.group(2).upper()
    size = int(value * _UNITS[unit])
    if size <= 0:
        raise ValueError(f"{name}={text!r} must be positive.")
    return size


def format_bytes(size: float) -> str:
    """``size`` in the largest binary unit that keeps it >= 1, one decimal.

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(1536 * 2**20), format_bytes(512)
    ('3.0 GiB', '1.5 GiB', '512 B')
    """
    for unit, factor in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{int(size)} B"


def memory_budget(budget=None) -> int:
    """The budget in bytes: ``budget`` if given, else ``$LPSPEC_MEMORY_BUDGET``, else half the physical memory
    (8 GiB where the machine does not say).

    Examples
    --------
    >>> memory_budget("4G")
    4294967296
    """
    if budget is not None:
        return parse_memory(budget)
    env = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if env:
        return parse_memory(env, MEMORY_BUDGET_ENV)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 2
    except (AttributeError, ValueError, OSError):
        return 8 * 2**30


def estimate_memory(n: int, *, chunk_rows: int, batch_rows: int, draft_arrays: int = 1, stored_itemsize: int = 8,
                    compute_itemsize: int = 8, whole_file_bytes: int = 0) -> int:
    """Estimated peak bytes of one process computing the acceptance table (module docstring).

    Examples
    --------
    >>> gib = estimate_memory(256_000, chunk_rows=256, batch_rows=256) / 2**30   # the 512 x 256 000 file
    >>> round(gib, 2)
    6.15
    """
    read = chunk_rows * n * stored_itemsize * (1 + draft_arrays)
    work = batch_rows * n * compute_itemsize * WORK_ARRAYS
    return int(BASE_MEMORY + whole_file_bytes + read + work)


def check_memory(n: int, *, chunk_rows: int, batch_rows: int, budget=None, draft_arrays: int = 1,
                 stored_itemsize: int = 8, compute_itemsize: int = 8, whole_file_bytes: int = 0) -> int:
    """Return the estimate, or raise :class:`MemoryBudgetError` with it and the rows per chunk that fit.

    Examples
    --------
    >>> check_memory(1000, chunk_rows=256, batch_rows=256, budget="1G") < 2**30
    True
    >>> check_memory(256_000, chunk_rows=256, batch_rows=256, budget="2G")
    Traceback (most recent call last):
    ...
    lpspec.batched.memory.MemoryBudgetError: estimated peak memory 6.2 GiB for chunks of 256 rows of n = 256000 (above the budget of 2.0 GiB); use --chunk-size 64 --batch-size 64 (chunk_size=64, batch_size=64), or raise the budget with --memory-budget SIZE or LPSPEC_MEMORY_BUDGET=SIZE (e.g. 8G).
    """
    limit = memory_budget(budget)
    kw = dict(draft_arrays=draft_arrays, stored_itemsize=stored_itemsize, compute_itemsize=compute_itemsize,
              whole_file_bytes=whole_file_bytes)
    estimate = estimate_memory(n, chunk_rows=chunk_rows, batch_rows=batch_rows, **kw)
    if estimate <= limit:
        return estimate
    per_row = estimate_memory(n, chunk_rows=1, batch_rows=1, **kw) - estimate_memory(n, chunk_rows=0, batch_rows=0,
                                                                                      **kw)
    room = limit - estimate_memory(n, chunk_rows=0, batch_rows=0, **kw)
    rows = max(0, room // per_row) if per_row else 0
    if rows >= 1:
        rows = 1 << (int(rows).bit_length() - 1)  # a power of two: chunks stay multiples of the batch
        fix = f"use --chunk-size {rows} --batch-size {rows} (chunk_size={rows}, batch_size={rows}), or raise"
    else:
        fix = "even one row does not fit; raise"
    raise MemoryBudgetError(
        f"estimated peak memory {format_bytes(estimate)} for chunks of {chunk_rows} rows of n = {n} (above the "
        f"budget of {format_bytes(limit)}); {fix} the budget with --memory-budget SIZE or "
        f"{MEMORY_BUDGET_ENV}=SIZE (e.g. 8G).")
