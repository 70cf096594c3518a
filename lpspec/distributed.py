"""Engines for studies that outgrow one process: run independent tasks serially or on a Dask cluster.

A sweep (:func:`lpspec.run_sweep`) is a list of independent rows; a vocabulary-scale batch file
(:func:`lpspec.batched.file_table`) is a list of independent row ranges. :func:`map_tasks` runs such a list of
tasks with one of two engines and returns the results **in task order**, whatever order they finish in:

* ``engine="serial"`` (the default everywhere): one task after the other, in this process;
* ``engine="dask"``: on a ``dask.distributed`` cluster. With ``scheduler=None`` an embedded
  :class:`distributed.LocalCluster` is started (worker *processes*, one per core or ``workers``, one thread
  each) and closed afterwards; with an address such as ``"tcp://scheduler-host:8786"`` the tasks go to that
  cluster (its workers need lpspec installed and the input files at the same paths).

Every task is a plain module-level function of one picklable argument returning a list of row dicts, so the
same task gives the same rows on either engine: a table is reproducible whatever the engine (the sweep's
per-row seeds are part of the task, never drawn on a worker).

Faults
------
* A worker process that dies (killed, out of memory, a crash in native code) costs only the tasks it was
  running: the scheduler resubmits them to the other workers (the embedded cluster also restarts the dead
  worker). A task that was running on :data:`ALLOWED_FAILURES` + 1 workers that died is given up by the
  scheduler (``KilledWorker``); since it may only have been queued next to the task that killed them, each
  such task is submitted once more, alone, after the others, and only if it kills its worker again does it
  end as an error row.
* A task that raises (bad input, a bug) does not stop the run: the exception is caught on the worker and the
  task's rows become *error rows* (an ``error`` column holding ``"TypeError: ..."``), built by ``on_error``.
* With ``checkpoint=PATH`` every finished task is appended to a JSON-lines file as it arrives (floats are
  written with ``repr``, so they come back bit for bit). ``resume=True`` reads that file and runs only the
  tasks not yet done; tasks that ended with an error are run again. A checkpoint written for a different run
  (another spec, file or option) is refused.

Dask is an optional dependency (``pip install 'lpspec[dask]'``), imported only when ``engine="dask"``.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ALLOWED_FAILURES",
    "CHECKPOINT_SUFFIX",
    "ENGINES",
    "INSTALL_HINT",
    "Checkpoint",
    "TaskRun",
    "add_engine_arguments",
    "dask_client",
    "default_workers",
    "engine_options",
    "fingerprint",
    "map_tasks",
    "require_dask",
    "resolve_engine",
]

#: The engines understood by :func:`map_tasks`, :func:`lpspec.run_sweep` and ``lpspec table/batch --engine``.
ENGINES = ("serial", "dask")
#: Worker deaths a task may cause before it is given up (the embedded cluster's scheduler setting).
ALLOWED_FAILURES = 3
#: Appended to an output file's name to name its checkpoint (``table.csv`` → ``table.csv.checkpoint.jsonl``).
CHECKPOINT_SUFFIX = ".checkpoint.jsonl"
INSTALL_HINT = ("engine='dask' needs dask.distributed: pip install -e \".[dask]\" from a clone, pip install "
                "'lpspec[dask]' from the index (or pip install 'dask[distributed]').")

_FORMAT = "lpspec-checkpoint-1"


def require_dask():
    """Import and return :mod:`distributed`, or raise an :class:`ImportError` that says how to install it.

    Examples
    --------
    >>> "pip install 'lpspec[dask]'" in INSTALL_HINT  # the message of the ImportError without dask
    True
    """
    try:
        import distributed
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    if not hasattr(distributed, "Client"):
        raise ImportError(f"the module 'distributed' found first is {getattr(distributed, '__file__', '?')}, not "
                          "dask.distributed; rename it or take its folder off sys.path.")
    return distributed


def default_workers() -> int:
    """One worker per core this process may run on (``os.sched_getaffinity``, else ``os.cpu_count()``).

    Examples
    --------
    >>> default_workers() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def resolve_engine(engine: str | None, scheduler=None, workers: int | None = None) -> str:
    """The engine to use, checking that ``scheduler`` and ``workers`` go with it.

    ``engine=None`` means ``"dask"`` when a scheduler or a worker count is given, else ``"serial"``.

    Raises
    ------
    ValueError
        An unknown engine, ``scheduler``/``workers`` with the serial engine, a non-positive ``workers``, or
        ``workers`` together with a scheduler address (that cluster's workers are started with
        ``dask worker ADDRESS``).

    Examples
    --------
    >>> resolve_engine(None), resolve_engine(None, workers=2), resolve_engine("dask")
    ('serial', 'dask', 'dask')
    """
    if engine is None:
        engine = "dask" if scheduler is not None or workers is not None else "serial"
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not an engine; choose one of {', '.join(ENGINES)}.")
    if engine == "serial" and (scheduler is not None or workers is not None):
        raise ValueError("scheduler= and workers= apply to engine='dask' (the serial engine runs in this process); "
                         "pass engine='dask' or drop them.")
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers={workers!r} must be a positive integer (worker processes of the embedded "
                             "cluster).")
        if scheduler is not None:
            raise ValueError("workers= sizes the embedded cluster; with a scheduler address the cluster's own "
                             "workers are used (start more with `dask worker ADDRESS`). Drop one of the two.")
    if scheduler is not None and not isinstance(scheduler, str) and not hasattr(scheduler, "submit"):
        raise ValueError(f"scheduler={scheduler!r} must be an address such as 'tcp://host:8786' or a "
                         "distributed.Client.")
    return engine


@contextmanager
def dask_client(scheduler=None, workers: int | None = None):
    """A :class:`distributed.Client`: to ``scheduler`` (an address or a Client), or to an embedded cluster.

    Without ``scheduler`` a :class:`distributed.LocalCluster` of ``workers`` processes (default: one per core,
    :func:`default_workers`) with one thread each is started, and closed when the block ends. A Client passed
    in is used as it is and left open.

    Raises
    ------
    ImportError
        dask.distributed is not installed.
    ValueError
        The scheduler cannot be reached.
    """
    distributed = require_dask()
    if scheduler is not None and not isinstance(scheduler, str):
        yield scheduler  # a Client made by the caller
        return
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"could not reach the Dask scheduler at {scheduler} ({type(exc).__name__}: {exc}); "
                             "start one with `dask scheduler` and workers with `dask worker ADDRESS`, or drop "
                             "--scheduler to use an embedded cluster.") from None
        try:
            yield client
        finally:
            client.close()
        return
    import dask

    n = default_workers() if workers is None else workers
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Port .* is already in use")  # falls back to a free port
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
    try:
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


# ---------------------------------------------------------------------- checkpoint
def _json_default(obj):
    if hasattr(obj, "item") and not isinstance(obj, (list, tuple, dict)):  # numpy scalar
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"a task returned a cell of type {type(obj).__name__}, which a checkpoint cannot hold; "
                    "return plain numbers, strings, booleans or None.")


def fingerprint(*parts) -> str:
    """A short hash of JSON-able ``parts`` (the spec, the file, the options) that names one run.

    Examples
    --------
    >>> fingerprint({"seed": 1}) == fingerprint({"seed": 1}) != fingerprint({"seed": 2})
    True
    """
    import hashlib

    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Checkpoint:
    """An append-only JSON-lines file of finished tasks: a header line, then one line per task.

    The header is ``{"format": "lpspec-checkpoint-1", "fingerprint": ..., "tasks": N}``; each task line is
    ``{"task": i, "rows": [...]}`` or ``{"task": i, "error": "..."}``. Lines are flushed as they are written;
    a torn last line (the process was killed while writing it) is dropped on resume.

    Parameters
    ----------
    path : path-like
    fingerprint : str
        Names the run (:func:`fingerprint`); resuming a checkpoint of another run raises ``ValueError``.
    tasks : int
        Number of tasks of the run.
    resume : bool
        Continue an existing file. Without it an existing file is an error (nothing computed is overwritten).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.checkpoint.jsonl")
    >>> with Checkpoint(path, "abc", tasks=2) as cp:
    ...     cp.record(1, [{"x": 0.1}])
    >>> Checkpoint(path, "abc", tasks=2, resume=True).close_and_done()
    {1: [{'x': 0.1}]}
    """

    def __init__(self, path, fingerprint: str, tasks: int, resume: bool = False):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.tasks = int(tasks)
        self.done: dict[int, list] = {}
        self.errors: dict[int, str] = {}
        if self.path.exists() and not resume:
            raise ValueError(f"the checkpoint {self.path} of an earlier run exists; resume it (resume=True) "
                             "or delete it to start again.")
        if self.path.exists():
            self._load()
            self._file = open(self.path, "a", encoding="utf-8")
        else:
            if not self.path.parent.is_dir():  # before any work: the output's folder must exist
                raise ValueError(f"{self.path.parent}: no such directory for the checkpoint {self.path.name} "
                                 "(create it, or write the output elsewhere).")
            self._file = open(self.path, "w", encoding="utf-8")
            self._write({"format": _FORMAT, "fingerprint": fingerprint, "tasks": self.tasks})

    def _load(self):
        raw = self.path.read_bytes()
        good = raw[: raw.rfind(b"\n") + 1]  # drop a torn last line
        if len(good) != len(raw):
            with open(self.path, "r+b") as f:
                f.truncate(len(good))
        lines = good.decode("utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("format") != _FORMAT:
            raise ValueError(f"{self.path} is not an lpspec checkpoint; delete it or choose another --checkpoint.")
        if header.get("fingerprint") != self.fingerprint or header.get("tasks") != self.tasks:
            raise ValueError(f"the checkpoint {self.path} belongs to another run (a different spec, file or "
                             "options); delete it to start again, or resume with the same arguments.")
        for line in lines[1:]:
            rec = json.loads(line)
            i = int(rec["task"])
            if "error" in rec:
                self.errors[i] = rec["error"]
                self.done.pop(i, None)
            else:
                self.done[i] = rec["rows"]
                self.errors.pop(i, None)

    def _write(self, obj):
        self._file.write(json.dumps(obj, default=_json_default, allow_nan=True) + "\n")
        self._file.flush()

    def record(self, index: int, rows: list | None, error: str | None = None):
        """Append one finished task: its rows, or the error it ended with."""
        if error is not None:
            self._write({"task": index, "error": error})
        else:
            self._write({"task": index, "rows": rows})

    def close(self):
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def close_and_done(self) -> dict:
        """Close the file and return ``{task index: rows}`` of the tasks done (read on resume)."""
        self.close()
        return dict(self.done)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------- running tasks
@dataclass
class TaskRun:
    """What :func:`map_tasks` returns.

    Attributes
    ----------
    results : list of list of dict
        The rows of each task, in task order (error rows for tasks that failed).
    errors : dict of int to str
        ``{task index: "ExceptionName: message"}`` of the tasks that failed.
    resumed : int
        Tasks taken from the checkpoint instead of being run.
    """

    results: list
    errors: dict = field(default_factory=dict)
    resumed: int = 0

    @property
    def rows(self) -> list:
        """All rows, task after task."""
        return [row for rows in self.results for row in rows]


def _guarded(func, item):
    """Run one task where it is scheduled; an exception becomes ``(False, "Name: message")``."""
    try:
        rows = func(item)
    except Exception as exc:  # noqa: BLE001 - every task failure becomes an error row
        return False, f"{type(exc).__name__}: {exc}"
    if not isinstance(rows, list):
        return False, f"TypeError: a task must return a list of row dicts, not {type(rows).__name__}"
    return True, rows


def _bar(total: int, desc: str, enabled: bool | None):
    """A tqdm bar over tasks (lpspec.progress decides when), or None when there is none to draw."""
    from .progress import NullBar, progress_bar

    bar = progress_bar(total=total, desc=desc, enabled=enabled, unit="task")
    return None if isinstance(bar, NullBar) else bar


def map_tasks(func: Callable, items: Sequence, *, engine: str | None = None, scheduler=None,
              workers: int | None = None, checkpoint=None, resume: bool = False, run_id: str = "",
              on_error: Callable | None = None, progress_bar: bool | None = None, desc: str = "tasks") -> TaskRun:
    """Run ``func(item)`` for every item, serially or on a Dask cluster, with checkpoint, resume and error rows.

    Parameters
    ----------
    func : callable
        A module-level function (Dask pickles it by reference) of one item, returning a list of row dicts
        whose cells are numbers, strings, booleans or None.
    items : sequence
        Picklable, small task descriptions (e.g. a file path and a row range, never the data itself).
    engine : {"serial", "dask"}, optional
        See :func:`resolve_engine`; default serial.
    scheduler : str or distributed.Client, optional
        A scheduler address (``"tcp://host:8786"``) or a Client; default: an embedded LocalCluster.
    workers : int, optional
        Worker processes of the embedded cluster (default one per core).
    checkpoint : path-like, optional
        Append each finished task to this JSON-lines file (:class:`Checkpoint`).
    resume : bool
        Skip the tasks the checkpoint holds; run the others (and those that ended with an error) again.
    run_id : str
        The run's :func:`fingerprint`, stored in the checkpoint and checked on resume.
    on_error : callable, optional
        ``on_error(item, message) -> list of rows`` for a task that raised or whose workers kept dying;
        default ``[{"error": message}]``.
    progress_bar : bool, optional
        A tqdm bar over tasks on stderr (default: when stderr is a terminal and tqdm is installed).
    desc : str
        Label of the progress bar and of the Dask task keys.

    Returns
    -------
    TaskRun
        ``results[i]`` holds the rows of ``items[i]``.

    Examples
    --------
    >>> run = map_tasks(lambda x: [{"x": x, "sq": x * x}], [1, 2, 3])
    >>> [r["sq"] for r in run.rows], run.errors
    ([1, 4, 9], {})
    >>> map_tasks(lambda x: [{"inv": 1 / x}], [0, 2]).results
    [[{'error': 'ZeroDivisionError: division by zero'}], [{'inv': 0.5}]]
    """
    engine = resolve_engine(engine, scheduler, workers)
    items = list(items)
    on_error = on_error or (lambda item, message: [{"error": message}])
    results: list = [None] * len(items)
    errors: dict[int, str] = {}
    cp = None
    if checkpoint is not None:
        cp = Checkpoint(checkpoint, run_id, len(items), resume=resume)
    resumed = 0
    if cp is not None:
        for i, rows in cp.done.items():
            if 0 <= i < len(items):
                results[i] = rows
                resumed += 1
    todo = [i for i in range(len(items)) if results[i] is None]

    def finish(i: int, ok: bool, value):
        if ok:
            results[i] = value
            if cp is not None:
                cp.record(i, value)
        else:
            errors[i] = value
            results[i] = on_error(items[i], value)
            if cp is not None:
                cp.record(i, None, error=value)

    bar = _bar(len(items), desc, progress_bar) if todo else None
    if bar is not None and resumed:
        bar.update(resumed)
    try:
        if engine == "serial":
            for i in todo:
                finish(i, *_guarded(func, items[i]))
                if bar is not None:
                    bar.update(1)
        elif todo:
            _run_on_dask(func, items, todo, finish, bar, scheduler, workers, desc)
    finally:
        if bar is not None:
            bar.close()
        if cp is not None:
            cp.close()
    return TaskRun(results, errors, resumed)


def _run_on_dask(func, items, todo, finish, bar, scheduler, workers, desc):
    distributed = require_dask()
    token = uuid.uuid4().hex[:12]
    label = "".join(c if c.isalnum() or c in "-_" else "_" for c in desc)[:40] or "tasks"
    with dask_client(scheduler, workers) as client:
        futures = {}
        for i in todo:
            fut = client.submit(_guarded, func, items[i], key=f"lpspec-{label}-{token}-{i}", pure=False)
            futures[fut.key] = (i, fut)
        killed = []
        try:
            for fut in distributed.as_completed([f for _, f in futures.values()]):
                i = futures[fut.key][0]
                try:
                    ok, value = fut.result()
                except distributed.KilledWorker:
                    killed.append(i)  # it may only have been queued next to the task that killed its workers
                    continue
                except Exception as exc:  # noqa: BLE001 - CancelledError, ...
                    ok, value = False, f"{type(exc).__name__}: {exc}"
                finally:
                    fut.release()
                finish(i, ok, value)
                if bar is not None:
                    bar.update(1)
            for i in sorted(killed):  # once more, alone on the cluster: only a task that kills its worker fails
                fut = client.submit(_guarded, func, items[i], key=f"lpspec-{label}-{token}-{i}-alone", pure=False)
                futures[fut.key] = (i, fut)
                try:
                    ok, value = fut.result()
                except Exception as exc:  # noqa: BLE001 - KilledWorker again
                    ok, value = False, f"{type(exc).__name__}: {exc}"
                finish(i, ok, value)
                fut.release()
                if bar is not None:
                    bar.update(1)
        finally:
            client.cancel([f for _, f in futures.values()])


# ---------------------------------------------------------------------- command line
def add_engine_arguments(parser) -> None:
    """Add ``--engine``, ``--scheduler``, ``--workers``, ``--checkpoint``, ``--resume`` to an argparse parser.

    Examples
    --------
    >>> import argparse
    >>> p = argparse.ArgumentParser(); add_engine_arguments(p)
    >>> a = p.parse_args(["--engine", "dask", "--workers", "2"]); (a.engine, a.workers, a.resume)
    ('dask', 2, False)
    """
    g = parser.add_argument_group("engine (see docs/guide/distributed.md)")
    g.add_argument("--engine", choices=ENGINES, default=None,
                   help="serial (default) or dask (an embedded LocalCluster, or --scheduler)")
    g.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="Dask scheduler address, e.g. tcp://scheduler-host:8786 (implies --engine dask)")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of the embedded cluster (default: one per core; implies --engine dask)")
    g.add_argument("--checkpoint", metavar="PATH", default=None,
                   help=f"append finished tasks to PATH (default with --output: OUTPUT{CHECKPOINT_SUFFIX})")
    g.add_argument("--resume", action="store_true", help="skip the tasks the checkpoint holds (needs --output or "
                                                         "--checkpoint)")


def engine_options(args) -> dict:
    """``engine``, ``scheduler``, ``workers``, ``checkpoint``, ``resume`` from the arguments of
    :func:`add_engine_arguments` (and ``--output``), validated.

    Examples
    --------
    >>> import argparse
    >>> p = argparse.ArgumentParser(); add_engine_arguments(p); p.add_argument("--output")
    ... # doctest: +ELLIPSIS
    _StoreAction(...)
    >>> engine_options(p.parse_args(["--output", "t.csv"]))["checkpoint"]
    't.csv.checkpoint.jsonl'
    """
    engine = resolve_engine(args.engine, args.scheduler, args.workers)
    checkpoint = args.checkpoint
    output = getattr(args, "output", None)
    if checkpoint is None and output:
        checkpoint = str(output) + CHECKPOINT_SUFFIX
    if args.resume and checkpoint is None:
        raise ValueError("--resume needs the checkpoint of the earlier run: give the same --output (or "
                         "--checkpoint PATH).")
    return {"engine": engine, "scheduler": args.scheduler, "workers": args.workers, "checkpoint": checkpoint,
            "resume": bool(args.resume)}

