"""Vocabulary-scale files in row chunks: each task reads its own rows, on this machine or on a Dask worker.

A file of ``B`` positions (``.npy`` pair, ``.safetensors``, ``.pt``, ``.npz``; see :mod:`lpspec.batched.io`)
is cut into chunks of ``chunk_size`` consecutive positions. A task is a small :class:`Chunk` (the file's path
and a row range) and a :class:`ChunkTask` (what to compute); the worker reads its rows itself with
:func:`~lpspec.batched.io.read_rows` — no multi-GB array goes through the scheduler — and returns one row dict
per position (and per ``K``). :func:`file_table` runs the chunks with :func:`lpspec.distributed.map_tasks`
(serially, or on Dask with ``engine="dask"``), sorts the rows into a fixed order and returns one
:class:`~lpspec.io.export.Table`: the same table, bit for bit, whatever the engine or the chunk size.

Computations plug in by name: :data:`CHUNK_TASKS` maps a name to a :class:`ChunkTask`, and
:func:`register_chunk_task` adds one (the acceptance table of :mod:`lpspec.batched.table` is registered as
``"acceptance"``). A chunk task is a handful of plain module-level functions::

    def my_compute(data, *, start, **options):       # data: LoadedDistributions of rows start:start+len
        return [{"position": start + i, "value": ...} for i in range(data.positions)]

    register_chunk_task(ChunkTask("mine", my_compute))
    file_table("big.safetensors", task="mine", engine="dask")

A chunk whose computation raises is computed again row by row on the worker, so a bad position costs only
its own row, which holds the exception in an ``error`` column (the other rows of that chunk, computed one by
one, may then differ from a batched computation in the last bits); a chunk that cannot be read at all (or
whose workers keep dying) gives error rows for all its positions, and is run again by ``resume``.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .io import LoadedDistributions, _read_all_cached, _resolve_npy_pair, read_rows, stored_shapes

__all__ = ["CHUNK_TASKS", "DEFAULT_CHUNK_SIZE", "Chunk", "ChunkTask", "file_table", "plan_chunks",
           "register_chunk_task", "run_chunk"]

#: Positions per task when neither ``chunk_size`` nor a ``batch_size`` option is given.
DEFAULT_CHUNK_SIZE = 256


@dataclass(frozen=True)
class Chunk:
    """Rows ``start:stop`` of a distributions file: what a worker is handed (a path and a range, no data).

    Examples
    --------
    >>> Chunk("/data/d.safetensors", 0, 256).positions
    256
    """

    path: str
    start: int
    stop: int
    drafts_path: str | None = None
    target_key: str = "target"
    drafts_key: str = "drafts"

    @property
    def positions(self) -> int:
        return self.stop - self.start

    def read(self) -> LoadedDistributions:
        """The chunk's rows, read from the file (:func:`lpspec.batched.io.read_rows`)."""
        return read_rows(self.path, self.start, self.stop, drafts_path=self.drafts_path,
                         target_key=self.target_key, drafts_key=self.drafts_key)


def _default_error_rows(start: int, stop: int, message: str, **options) -> list[dict]:
    return [{"position": i, "error": message} for i in range(start, stop)]


@dataclass(frozen=True)
class ChunkTask:
    """A computation over row chunks of a distributions file (module-level functions, picklable by reference).

    Attributes
    ----------
    name : str
    compute : callable
        ``compute(data, *, start, **options) -> list of dict``: ``data`` is a
        :class:`~lpspec.batched.io.LoadedDistributions` holding positions ``start .. start + data.positions``;
        rows carry their global ``position``.
    prepare : callable, optional
        ``prepare(target_shape, drafts_shape, **options) -> options``: validates and completes the options in
        the calling process, before any task runs (raise ``ValueError`` naming the bad argument).
    error_rows : callable, optional
        ``error_rows(start, stop, message, **options) -> list of dict`` for positions that could not be
        computed (default: ``{"position": i, "error": message}``).
    sort_key : callable, optional
        ``sort_key(row, **options)``: the order of the assembled table (default: position).
    summarise : callable, optional
        ``summarise(rows, **options) -> list of dict`` for ``file_table(..., summary=True)``.
    """

    name: str
    compute: Callable
    prepare: Callable | None = None
    error_rows: Callable | None = None
    sort_key: Callable | None = None
    summarise: Callable | None = None

    def make_error_rows(self, start: int, stop: int, message: str, options: dict) -> list[dict]:
        return (self.error_rows or _default_error_rows)(start, stop, message, **options)


#: The registered chunk tasks by name (see :func:`register_chunk_task`).
CHUNK_TASKS: dict[str, ChunkTask] = {}


def register_chunk_task(task: ChunkTask, replace: bool = False) -> ChunkTask:
    """Make ``task`` available as ``file_table(..., task=task.name)``; returns it.

    Examples
    --------
    >>> "acceptance" in CHUNK_TASKS
    True
    >>> register_chunk_task(CHUNK_TASKS["acceptance"])
    Traceback (most recent call last):
    ...
    ValueError: a chunk task named 'acceptance' is registered already; pass replace=True to replace it.
    """
    if not isinstance(task, ChunkTask):
        raise ValueError(f"task must be a ChunkTask, not {type(task).__name__}.")
    if task.name in CHUNK_TASKS and not replace:
        raise ValueError(f"a chunk task named {task.name!r} is registered already; pass replace=True to replace it.")
    CHUNK_TASKS[task.name] = task
    return task


def _one_row(data: LoadedDistributions, j: int) -> LoadedDistributions:
    drafts = data.drafts[:, j:j + 1] if data.different_drafts else data.drafts[j:j + 1]
    return LoadedDistributions(data.target[j:j + 1], drafts, data.metadata, data.paths)


def run_chunk(item: tuple) -> list[dict]:
    """The task run on a worker: ``item = (ChunkTask, Chunk, options)`` → the chunk's rows.

    Reads the chunk's rows from the file, computes them; if that raises, computes each position alone so that
    only the bad positions become error rows.
    """
    task, chunk, options = item
    data = chunk.read()
    try:
        return task.compute(data, start=chunk.start, **options)
    except Exception:  # noqa: BLE001 - isolate the bad positions below
        if chunk.positions == 1:
            raise
    rows: list[dict] = []
    for j in range(chunk.positions):
        i = chunk.start + j
        try:
            rows += task.compute(_one_row(data, j), start=i, **options)
        except Exception as exc:  # noqa: BLE001
            rows += task.make_error_rows(i, i + 1, _file_row_message(exc, i), options)
    return rows


def _file_row_message(exc: BaseException, i: int) -> str:
    """The error of a position computed alone, with its row index (0 in the one-row batch) made the file's ``i``.

    Examples
    --------
    >>> _file_row_message(ValueError("drafts[0, 3] = -0.1 is negative"), 41)
    'ValueError: drafts[41, 3] = -0.1 is negative'
    >>> _file_row_message(ValueError("drafts[0, 0, 7] is NaN; target[0] too"), 5)   # (K, B, n): row is 2nd
    'ValueError: drafts[0, 5, 7] is NaN; target[5] too'
    """
    import re

    def fix(m):
        idx = [x.strip() for x in m.group(2).split(",")]
        row = 1 if (m.group(1) == "drafts" and len(idx) == 3) else 0
        if idx[row] == "0":
            idx[row] = str(i)
        return f"{m.group(1)}[{', '.join(idx)}]"

    return re.sub(r"\b(target|drafts)\[([0-9, ]+)\]", fix, f"{type(exc).__name__}: {exc}")


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer.")
    return int(value)


def plan_chunks(path, positions: int, chunk_size: int, *, drafts_path=None, target_key: str = "target",
                drafts_key: str = "drafts") -> list[Chunk]:
    """Consecutive chunks of at most ``chunk_size`` rows covering ``0 .. positions`` (absolute paths).

    Examples
    --------
    >>> [(c.start, c.stop) for c in plan_chunks("d.npy", 5, 2)]
    [(0, 2), (2, 4), (4, 5)]
    """
    chunk_size = _positive(chunk_size, "chunk_size")
    p = os.path.abspath(path)
    d = None if drafts_path is None else os.path.abspath(drafts_path)
    return [Chunk(p, a, min(positions, a + chunk_size), d, target_key, drafts_key)
            for a in range(0, positions, chunk_size)]


def _file_identity(path) -> list:
    p = Path(path)
    paths = list(_resolve_npy_pair(p)) if p.suffix.lower() == ".npy" and not p.exists() else [p]
    out = []
    for one in paths:
        st = one.stat()
        out.append([str(one.resolve()), st.st_size, st.st_mtime_ns])
    return out


def _plain(value):
    return value if isinstance(value, (str, int, float, bool, type(None), list, tuple, dict)) else str(value)


def _check_chunk_memory(path, t_shape, d_shape, chunk_size, batch, options, budget) -> int:
    """The memory estimate of one acceptance chunk (:mod:`lpspec.batched.memory`), refused beyond the budget."""
    from .memory import check_memory

    B, n = int(t_shape[0]), int(t_shape[-1])
    whole = os.path.getsize(path) if Path(path).suffix.lower() in (".pt", ".npz") else 0  # read whole
    compute = 4 if str(options.get("dtype")) in ("float32", "torch.float32", "float") else 8
    return check_memory(n, chunk_rows=min(chunk_size, B), batch_rows=min(batch, chunk_size, B), budget=budget,
                        draft_arrays=int(d_shape[0]) if len(d_shape) == 3 else 1, compute_itemsize=compute,
                        whole_file_bytes=whole)


def file_table(path, *, task="acceptance", summary: bool = False, chunk_size: int | None = None,
               drafts_path=None, target_key: str = "target", drafts_key: str = "drafts",
               engine: str | None = None, scheduler=None, workers: int | None = None, checkpoint=None,
               resume: bool = False, progress_bar: bool | None = None, memory_budget=None, **options):
    """Run a chunk task over every position of a distributions file and return one table.

    Parameters
    ----------
    path : str or Path
        A file for :func:`lpspec.batched.load_distributions` (``NAME.npy`` for a ``.npy`` pair).
    task : str or ChunkTask
        A name of :data:`CHUNK_TASKS` (default ``"acceptance"``: :func:`lpspec.batched.acceptance_table`,
        options ``k``, ``schemes``, ``s``, ``batch_size``, ``device``, ``dtype``).
    summary : bool
        The task's summary rows (acceptance: the means per K) instead of one row per position.
    chunk_size : int, optional
        Positions per task (default: the ``batch_size`` option, else :data:`DEFAULT_CHUNK_SIZE`); a multiple
        of ``batch_size``, so that the table does not depend on it: every chunk holds whole batches of the
        serial computation (the last bits of some schemes depend on the batch a row is computed in).
    drafts_path, target_key, drafts_key
        As in :func:`lpspec.batched.load_distributions`.
    engine, scheduler, workers, checkpoint, resume, progress_bar
        As in :func:`lpspec.distributed.map_tasks`: ``engine="dask"`` runs the chunks on a Dask cluster whose
        workers read their rows from ``path`` themselves (a path they can open: a shared file system).
    memory_budget : str or int, optional
        For the acceptance task: the peak memory per process allowed (``"8G"``; default
        ``$LPSPEC_MEMORY_BUDGET`` or half the physical memory). The estimate of :mod:`lpspec.batched.memory`
        is checked before any chunk runs; above the budget a :class:`~lpspec.batched.memory.MemoryBudgetError`
        (a ValueError) names the estimate and the chunk size that fits.
    **options
        The task's options.

    Returns
    -------
    Table
        Rows in the task's order (acceptance: by K, then position), columns in first-seen order and an
        ``error`` column last when some positions failed; ``metadata`` records the file, the task and its
        options.

    Examples
    --------
    >>> import tempfile, os
    >>> from lpspec.batched import save_distributions
    >>> d = tempfile.mkdtemp()
    >>> _ = save_distributions(os.path.join(d, "x.npy"), target=[[1/3, 1/9, 5/9]] * 3, drafts=[[1/3] * 3] * 3)
    >>> t = file_table(os.path.join(d, "x.npy"), k=2, schemes=["optimal", "spectr"], device="cpu", batch_size=2)
    >>> [(r["position"], round(r["optimal_acceptance"], 9), round(r["spectr.membership_acc"], 9)) for r in t.rows]
    [(0, 1.0, 0.888888889), (1, 1.0, 0.888888889), (2, 1.0, 0.888888889)]
    """
    from .._version import __version__
    from ..checkpoint import rows_match
    from ..distributed import fingerprint, map_tasks
    from ..io.export import Table

    if isinstance(task, str):
        if task not in CHUNK_TASKS:
            raise ValueError(f"task={task!r} is not a chunk task; choose one of {', '.join(CHUNK_TASKS)} (or "
                             "register one with register_chunk_task).")
        task = CHUNK_TASKS[task]
    elif not isinstance(task, ChunkTask):
        raise ValueError(f"task must be a registered name or a ChunkTask, not {type(task).__name__}.")
    if summary and task.summarise is None:
        raise ValueError(f"summary=True: the chunk task {task.name!r} has no summary rows.")
    t_shape, d_shape, _ = stored_shapes(path, drafts_path=drafts_path, target_key=target_key,
                                        drafts_key=drafts_key)
    if task.prepare is not None:
        options = task.prepare(t_shape, d_shape, **options)
    batch = options.get("batch_size")
    if chunk_size is None:
        chunk_size = batch or DEFAULT_CHUNK_SIZE
    chunk_size = _positive(chunk_size, "chunk_size")
    if batch and chunk_size % batch:
        raise ValueError(f"chunk_size={chunk_size} must be a multiple of batch_size={batch}, so that every chunk "
                         "holds whole batches of a serial run (and the table is the same bit for bit).")
    B = t_shape[0]
    if task.name == "acceptance":
        _check_chunk_memory(path, t_shape, d_shape, chunk_size, batch or chunk_size, options, memory_budget)
    chunks = plan_chunks(path, B, chunk_size, drafts_path=drafts_path, target_key=target_key,
                         drafts_key=drafts_key)
    plain_options = {key: _plain(v) for key, v in options.items()}
    files = _file_identity(path) + ([] if drafts_path is None else _file_identity(drafts_path))
    run_id = fingerprint("file_table", task.name, files, target_key, drafts_key, chunk_size, plain_options,
                         __version__)

    def on_error(item, message):
        _, chunk, opts = item
        return task.make_error_rows(chunk.start, chunk.stop, message, opts)

    def check_rows(item, rows):  # checkpointed rows: those of the chunk's positions (and K)
        _, chunk, opts = item
        skeleton = [{c: v for c, v in r.items() if c != "error"}
                    for r in task.make_error_rows(chunk.start, chunk.stop, "", opts)]
        return rows_match(skeleton, rows, exact_count=task.error_rows is not None)

    try:
        run = map_tasks(run_chunk, [(task, c, options) for c in chunks], engine=engine, scheduler=scheduler,
                        workers=workers, checkpoint=checkpoint, resume=resume, run_id=run_id, on_error=on_error,
                        progress_bar=progress_bar, desc=f"{task.name} {Path(path).name}", check_rows=check_rows)
    finally:
        _read_all_cached.cache_clear()  # a whole .pt / .npz file read by the serial engine is not kept
    rows = run.rows
    if task.sort_key is not None:
        rows.sort(key=lambda r: task.sort_key(r, **options))
    else:
        rows.sort(key=lambda r: r.get("position", 0))
    if summary:
        rows = task.summarise(rows, **options)
    columns: list[str] = []
    for r in sorted(rows, key=lambda r: r.get("error") is not None):  # error-only columns go last
        for c in r:
            if c not in columns:
                columns.append(c)
    if "error" in columns:
        columns.remove("error")
        columns.append("error")
    meta = {"file": str(path), "positions": B, "task": task.name, "options": plain_options,
            "lpspec_version": __version__}
    if drafts_path is not None:
        meta["drafts_file"] = str(drafts_path)
    return Table(columns, rows, meta)
