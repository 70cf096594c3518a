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
  written with ``repr``, so they come back bit for bit), each line sealed with the run's fingerprint and a
  SHA-256 digest (:mod:`lpspec.checkpoint`). ``resume=True`` reads that file and runs only the tasks not yet
  done; tasks that ended with an error are run again, and so is every task whose line fails a check (digest,
  fingerprint, task index, the rows the task returns: ``check_rows``), with one line on stderr naming the
  file and the line. A checkpoint written for a different run (another spec, file or option), or one that
  another run is writing, is refused.

Dask is an optional dependency (``pip install 'lpspec[dask]'``), imported only when ``engine="dask"``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import Checkpoint, canonical

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
    "unguarded_main_call",
]

#: The engines understood by :func:`map_tasks`, :func:`lpspec.run_sweep` and ``lpspec table/batch --engine``.
ENGINES = ("serial", "dask")
#: Worker deaths a task may cause before it is given up (the embedded cluster's scheduler setting).
ALLOWED_FAILURES = 3
#: Appended to an output file's name to name its checkpoint (``table.csv`` → ``table.csv.checkpoint.jsonl``).
CHECKPOINT_SUFFIX = ".checkpoint.jsonl"
INSTALL_HINT = ("engine='dask' needs dask.distributed: pip install -e \".[dask]\" from a clone, pip install "
                "'lpspec[dask]' from the index (or pip install 'dask[distributed]').")


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
    RuntimeError
        An embedded cluster is started from a script's top level without ``if __name__ == "__main__":``
        (:func:`unguarded_main_call`): one line saying what to add, instead of the workers' tracebacks.
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

    where = unguarded_main_call()
    if where is not None:
        raise RuntimeError(f"engine='dask' starts worker processes that import your script {where[0]} again, and "
                           f"line {where[1]} starts the run at its top level: put the script's work under "
                           "`if __name__ == \"__main__\":` (or pass a scheduler address, or use engine='serial').")
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


def _main_guard_lines(path: str) -> list[tuple[int, int]]:
    """Line ranges of the top-level ``if __name__ == "__main__":`` blocks of a Python file."""
    import ast

    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return [(1, sys.maxsize)]  # cannot read it: assume guarded (never a false alarm)
    out = []
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and len(node.test.comparators) == 1:
            sides = [node.test.left, node.test.comparators[0]]
            names = [x.id for x in sides if isinstance(x, ast.Name)]
            consts = [x.value for x in sides if isinstance(x, ast.Constant)]
            if names == ["__name__"] and consts == ["__main__"]:
                out.append((node.body[0].lineno, node.end_lineno or sys.maxsize))
    return out


def unguarded_main_call(start_method: str | None = None):
    """``(script, line)`` when the running script starts worker processes from its top level, unguarded.

    Worker processes started with ``spawn`` or ``forkserver`` (Dask's default) import the main script again;
    work it does at its top level outside ``if __name__ == "__main__":`` then runs again in every worker,
    which fails ("Nanny failed to start"). This walks the call stack to the script's module-level frame and
    reads the script's guard blocks. ``None`` when there is no script (interactive, notebook, ``-c``), the
    call is inside a guard, or workers are forked.

    Examples
    --------
    >>> unguarded_main_call() is None  # a doctest runs inside a function, not at a script's top level
    True
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not os.path.isfile(path):
        return None
    if start_method is None:
        try:
            import dask

            start_method = dask.config.get("distributed.worker.multiprocessing-method", "spawn")
        except ImportError:
            start_method = "spawn"
    if start_method == "fork":
        return None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals is vars(main) and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
            if any(a <= line <= b for a, b in _main_guard_lines(path)):
                return None
            return path, line
        frame = frame.f_back
    return None


# ---------------------------------------------------------------------- checkpoint
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
    """A tqdm bar over tasks (lpspec.core.progress decides when), or None when there is none to draw."""
    from .core.progress import NullBar, progress_bar

    bar = progress_bar(total=total, desc=desc, enabled=enabled, unit="task")
    return None if isinstance(bar, NullBar) else bar


def map_tasks(func: Callable, items: Sequence, *, engine: str | None = None, scheduler=None,
              workers: int | None = None, checkpoint=None, resume: bool = False, run_id: str = "",
              on_error: Callable | None = None, progress_bar: bool | None = None, desc: str = "tasks",
              check_rows: Callable | None = None) -> TaskRun:
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
        The run's :func:`fingerprint`, stored in the checkpoint and checked on resume (together with a hash of
        ``items`` when they are plain JSON data).
    on_error : callable, optional
        ``on_error(item, message) -> list of rows`` for a task that raised or whose workers kept dying;
        default ``[{"error": message}]``.
    progress_bar : bool, optional
        A tqdm bar over tasks on stderr (default: when stderr is a terminal and tqdm is installed).
    desc : str
        Label of the progress bar and of the Dask task keys.
    check_rows : callable, optional
        ``check_rows(item, rows) -> None or reason``: on resume, whether the rows a checkpoint holds for
        ``item`` are rows its task returns (count, identifying cells; :func:`lpspec.checkpoint.rows_match`).
        Rows that fail are computed again.

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
        try:
            run_id = fingerprint(run_id, canonical(items))  # plain items (numbers, strings) name the run too
        except (TypeError, ValueError):
            pass
        check = None if check_rows is None else (lambda i, rows: check_rows(items[i], rows))
        cp = Checkpoint(checkpoint, run_id, len(items), resume=resume, check=check)
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

