"""Checkpoint files with integrity: finished tasks of a long run, kept across an interruption and checked on resume.

A checkpoint is a JSON-lines file: a header line, then one line per finished task, appended and flushed as the
task finishes. It is the one code path behind ``lpspec table -o OUT`` and ``lpspec batch -o OUT`` (file
``OUT.checkpoint.jsonl``), :func:`lpspec.run_sweep`, :func:`lpspec.batched.file_table` and
:func:`lpspec.distributed.map_tasks` (``checkpoint=``, ``resume=True``).

Integrity
---------
Every line carries the run's fingerprint and the SHA-256 digest of its own canonical content (the line's JSON
written compactly, keys in their order, floats with ``repr``, ASCII only)::

    {"format":"lpspec-checkpoint-2","run":"<fingerprint>","tasks":24,"sha256":"..."}
    {"run":"<fingerprint>","task":3,"rows":[{...},{...}],"sha256":"..."}
    {"run":"<fingerprint>","task":5,"error":"ValueError: ...","sha256":"..."}

On resume every task line is read with a size cap (:data:`MAX_LINE_BYTES`; a longer line is skipped without
being held in memory) and must be UTF-8 JSON, have its digest, the run's fingerprint, a task index in range, a
list of row objects, and pass the caller's row check (``check(index, rows)``: e.g. the row count and the
identifying cells the task returns, :func:`rows_match`). A line that fails is **never merged**: its task is
computed again and one line on stderr names the file, the line number and the reason. Two valid lines for
one task with the same content count once; with different contents the task is computed again. A damaged
header, or a checkpoint of another run, is refused (``ValueError``, one line). After a resume with bad lines
the file is rewritten (atomically) with the good lines only.

The digest detects corruption, hand edits, torn or interleaved writes and partial copies; it is not a
signature (whoever can write the file can forge a line with a matching digest).

Concurrent writers: a run holds an exclusive ``flock`` on its checkpoint while it runs; a second run on the
same file is refused with one line (on systems without ``fcntl``, interleaved lines fail their digests).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["FORMAT", "MAX_LINE_BYTES", "Checkpoint", "canonical", "line_digest", "rows_match"]

#: Format tag of the header line (format 1, without digests, is refused on resume).
FORMAT = "lpspec-checkpoint-2"
#: Longest line read back on resume (bytes, newline included); a task whose rows need more is not checkpointed.
MAX_LINE_BYTES = 64 * 2**20
#: Bad lines reported one by one on stderr; the others are counted.
REPORT_LIMIT = 20


def _json_default(obj):
    if hasattr(obj, "item") and not isinstance(obj, (list, tuple, dict)):  # numpy scalar
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"a task returned a cell of type {type(obj).__name__}, which a checkpoint cannot hold; "
                    "return plain numbers, strings, booleans or None.")


def canonical(obj) -> str:
    """The canonical JSON text of ``obj``: compact, keys in their order, floats by ``repr``, ASCII only.

    ``json.loads`` of it gives back an object whose canonical text is the same, so a digest of it can be
    checked after a round trip through the file.

    Examples
    --------
    >>> canonical({"b": 0.1, "a": [1, float("nan"), "é"]})
    '{"b":0.1,"a":[1,NaN,"\\\\u00e9"]}'
    """
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=True, default=_json_default)


def line_digest(obj) -> str:
    """SHA-256 (hex) of :func:`canonical` ``(obj)``: the digest a checkpoint line carries.

    Examples
    --------
    >>> import hashlib
    >>> line_digest({"task": 1}) == hashlib.sha256(b'{"task":1}').hexdigest()
    True
    """
    return hashlib.sha256(canonical(obj).encode("ascii")).hexdigest()


def _sealed(obj: dict) -> bytes:
    return (canonical({**obj, "sha256": line_digest(obj)}) + "\n").encode("ascii")


def rows_match(skeleton: list, rows: list, exact_count: bool = True) -> str | None:
    """Whether ``rows`` are the rows a task returns: ``None`` if so, else the reason (one line).

    ``skeleton`` lists one dict per expected row with its identifying cells (e.g. ``{"position": 7, "k": 2}``).
    Each row must be an object carrying those cells with those values, and the rows must match the skeleton
    one to one (in any order). With ``exact_count=False`` only the *set* of identifying cells must agree (a
    task may return several rows per skeleton entry).

    Examples
    --------
    >>> rows_match([{"k": 2}, {"k": 3}], [{"k": 3, "acc": 0.5}, {"k": 2, "acc": 0.7}]) is None
    True
    >>> rows_match([{"k": 2}], [{"k": 2, "acc": 0.7}] * 3)
    '3 rows where the task returns 1'
    >>> rows_match([{"k": 2}], [{"family": "evil", "k": 99}])
    'a row with k=99, which the task does not return'
    """
    keys = []
    for s in skeleton:
        for key in s:
            if key not in keys:
                keys.append(key)
    if exact_count and len(rows) != len(skeleton):
        return f"{len(rows)} rows where the task returns {len(skeleton)}"
    want = {}
    for s in skeleton:
        ident = canonical([s.get(key) for key in keys])
        want[ident] = want.get(ident, 0) + 1
    for row in rows:
        if not isinstance(row, dict):
            return f"a row that is a {type(row).__name__}, not an object"
        ident = canonical([row.get(key) for key in keys])
        if ident not in want or (exact_count and want[ident] == 0):
            cells = ", ".join(f"{key}={row.get(key)!r}" for key in keys)
            return f"a row with {cells}, which the task does not return"
        if exact_count:
            want[ident] -= 1
        else:
            want[ident] = -1  # seen
    if not exact_count and any(v > 0 for v in want.values()):
        return "rows missing for some of the task's cells"
    return None


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _read_lines(f, cap: int):
    """Yield ``(line number, offset, bytes or None, complete)``; a line over ``cap`` bytes is skipped unread."""
    lineno, offset = 0, f.tell()
    while True:
        line = f.readline(cap + 1)
        if not line:
            return
        lineno += 1
        if len(line) > cap:  # too long: skip to its end without keeping it
            size = len(line)
            while not line.endswith(b"\n"):
                line = f.readline(1 << 20)
                if not line:
                    break
                size += len(line)
            yield lineno, offset, None, line.endswith(b"\n")
            offset += size
            continue
        yield lineno, offset, line, line.endswith(b"\n")
        offset += len(line)


def _lock(f, path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: interleaved writes are caught by the digests
        return
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise ValueError(f"the checkpoint {path} is in use by another run (it holds a lock on it); wait for that "
                         "run to end, or write to another --output / --checkpoint.") from None
    except OSError:  # a file system without locks (some network mounts): the digests catch interleaved lines
        return
    try:
        same = os.fstat(f.fileno()).st_ino == os.stat(path).st_ino
    except OSError:
        same = False
    if not same:
        f.close()
        raise ValueError(f"the checkpoint {path} was replaced by another run while opening it; wait for that run "
                         "to end, or write to another --output / --checkpoint.")


class Checkpoint:
    """An append-only, integrity-checked JSON-lines file of finished tasks (see the module docstring).

    Parameters
    ----------
    path : path-like
    fingerprint : str
        Names the run (:func:`lpspec.distributed.fingerprint`); a checkpoint of another run is refused.
    tasks : int
        Number of tasks of the run; a line with a task index outside ``0 .. tasks - 1`` is bad.
    resume : bool
        Continue an existing file. Without it an existing file is an error (nothing computed is overwritten).
    check : callable, optional
        ``check(index, rows) -> None or reason``: whether stored rows are what task ``index`` returns.
    max_line_bytes : int, optional
        Longest line read back (default :data:`MAX_LINE_BYTES`).
    stream : file-like, optional
        Where the bad lines are reported (default ``sys.stderr``).

    Attributes
    ----------
    done : dict of int to list
        Rows of the tasks read back (resume), by task index.
    errors : dict of int to str
        Tasks whose last valid line is an error (they are run again).
    problems : list of (int, str)
        ``(line number, reason)`` of the lines that were not merged.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.checkpoint.jsonl")
    >>> with Checkpoint(path, "abc", tasks=2) as cp:
    ...     cp.record(1, [{"x": 0.1}])
    >>> Checkpoint(path, "abc", tasks=2, resume=True).close_and_done()
    {1: [{'x': 0.1}]}
    """

    def __init__(self, path, fingerprint: str, tasks: int, resume: bool = False, *,
                 check: Callable | None = None, max_line_bytes: int | None = None, stream=None):
        self.path = Path(path)
        self.fingerprint = str(fingerprint)
        self.tasks = int(tasks)
        self.check = check
        self.max_line_bytes = int(MAX_LINE_BYTES if max_line_bytes is None else max_line_bytes)
        self.stream = stream
        self.done: dict[int, list] = {}
        self.errors: dict[int, str] = {}
        self.problems: list[tuple[int, str]] = []
        self._bad: list = []
        self._too_long_reported = False
        if self.path.exists() and not resume:
            raise ValueError(f"the checkpoint {self.path} of an earlier run exists; resume it (resume=True) or "
                             "delete it to start again.")
        if resume and self.path.exists():
            try:
                self._file = open(self.path, "r+b")
            except OSError as exc:
                raise ValueError(f"cannot open the checkpoint {self.path}: {exc.strerror or exc}.") from None
            _lock(self._file, self.path)
            try:
                self._load()
            except BaseException:
                self._file.close()
                raise
            self._file.seek(0, os.SEEK_END)
            return
        if not self.path.parent.is_dir():  # before any work: the output's folder must exist
            raise ValueError(f"{self.path.parent}: no such directory for the checkpoint {self.path.name} "
                             "(create it, or write the output elsewhere).")
        try:
            self._file = open(self.path, "xb")
        except FileExistsError:
            raise ValueError(f"the checkpoint {self.path} was just created by another run; wait for that run to "
                             "end, or write to another --output / --checkpoint.") from None
        _lock(self._file, self.path)
        self._append(_sealed(self._header()))

    # ------------------------------------------------------------------ reading
    def _header(self) -> dict:
        return {"format": FORMAT, "run": self.fingerprint, "tasks": self.tasks}

    def _say(self, lineno: int, reason: str, task=None) -> None:
        self._bad.append((lineno, reason, task))

    def _report(self, kept_at: dict) -> None:
        out = self.stream or sys.stderr
        for lineno, reason, task in self._bad:
            self.problems.append((lineno, reason))
            if len(self.problems) > REPORT_LIMIT:
                continue
            if task is None:
                what = "not merged (every task missing from the checkpoint is computed again)"
            elif task in kept_at:
                what = f"ignored (task {task} is taken from line {kept_at[task]})"
            else:
                what = f"task {task} will be computed again"
            print(f"lpspec: warning: {self.path}:{lineno}: {reason}; {what}.", file=out)
        if len(self.problems) > REPORT_LIMIT:
            print(f"lpspec: warning: {self.path}: {len(self.problems) - REPORT_LIMIT} more bad lines (not merged).",
                  file=out)

    def _refuse(self, reason: str):
        raise ValueError(f"the checkpoint {self.path} {reason}; delete it to start again, or resume with the same "
                         "arguments.")

    def _parse(self, raw: bytes):
        """``(the line's object, None)``, or ``(task index or None, reason)`` for a bad line."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"not UTF-8 (byte {exc.start})"
        try:
            obj = json.loads(text)
        except RecursionError:
            return None, "JSON nested too deep"
        except json.JSONDecodeError as exc:
            return None, f"not JSON ({exc.msg} at character {exc.pos})"
        except ValueError as exc:  # an integer of too many digits
            return None, f"not JSON ({str(exc).splitlines()[0][:80]})"
        if not isinstance(obj, dict):
            kind = {type(None): "null", list: "array", str: "string", bool: "boolean"}.get(type(obj), "number")
            return None, f"a JSON {kind}, not an object"
        stored = obj.pop("sha256", None)
        try:
            good = isinstance(stored, str) and line_digest(obj) == stored
        except (ValueError, RecursionError):
            good = False
        if not good:
            task = obj.get("task")
            return (task if isinstance(task, int) and not isinstance(task, bool) and 0 <= task < self.tasks
                    else None), "its sha256 digest does not match its content"
        return obj, None

    def _load(self) -> None:
        f = self._file
        lines = _read_lines(f, self.max_line_bytes)
        first = next(lines, None)
        if first is None:
            self._refuse("is empty (not an lpspec checkpoint)")
        _, _, raw, complete = first
        header, reason = (None, "too long") if raw is None else self._parse(raw)
        if reason is not None:
            if raw is not None and b"lpspec-checkpoint-1" in raw:
                self._refuse("was written by an older lpspec (format 1, without digests)")
            self._refuse(f"has a damaged first line ({reason}); it is not a checkpoint lpspec can trust")
        if header.get("format") != FORMAT:
            self._refuse(f"is not an {FORMAT} file (format {_short(header.get('format'))})")
        if header.get("run") != self.fingerprint or header.get("tasks") != self.tasks:
            self._refuse("belongs to another run (a different spec, file or options)")
        keep_end = None  # offset after the last complete line
        header_end = len(raw)
        if not complete:  # the header is the whole file, torn just before its newline
            f.seek(0, os.SEEK_END)
            self._append(b"\n")
            return
        kept: dict[int, tuple[int, int, bytes]] = {}  # task -> (offset, length, digest of its rows)
        kept_at: dict[int, int] = {}  # task -> line number
        conflicted: set[int] = set()
        rewrite = False
        for lineno, offset, raw, complete in lines:
            if raw is None:
                self._say(lineno, f"a line longer than {self.max_line_bytes} bytes (not read)")
                rewrite = True
                continue
            if not complete:
                self._say(lineno, "an incomplete last line (the run was stopped while writing it)")
                keep_end = offset
                continue
            obj, reason = self._parse(raw)
            if reason is None:
                task, reason = self._validate(obj)
            else:
                task = obj  # the task index a damaged line seems to name (for the message only)
            if reason is not None:
                self._say(lineno, reason, task)
                rewrite = True
                continue
            if "error" in obj:
                if task not in kept:
                    self.errors[task] = obj["error"]
                rewrite = rewrite or task in kept
                continue
            text = hashlib.sha256(canonical(obj["rows"]).encode("ascii")).digest()  # 32 bytes, not the rows
            if task in conflicted:
                rewrite = True
                self._say(lineno, f"another line for task {task}", task)
                continue
            if task in kept:
                rewrite = True
                if kept[task][2] != text:
                    self._say(lineno, f"task {task} again with different rows (first at an earlier line)", task)
                    conflicted.add(task)
                    del kept[task], kept_at[task]
                    self.done.pop(task, None)
                # the same rows twice: kept once
                continue
            kept[task] = (offset, len(raw), text)
            kept_at[task] = lineno
            self.done[task] = obj["rows"]
            self.errors.pop(task, None)
        self._report(kept_at)
        if rewrite:
            self._rewrite(header_end, sorted(kept.values()))
        elif keep_end is not None:
            f.truncate(keep_end)

    def _validate(self, obj: dict):
        """``(task or None, reason or None)`` for a line whose digest holds."""
        task = obj.get("task")
        if isinstance(task, bool) or not isinstance(task, int):
            return None, f"task={_short(task)} is not a task index"
        if not 0 <= task < self.tasks:
            return None, f"task {task} is out of range (the run has {self.tasks} tasks)"
        if obj.get("run") != self.fingerprint:
            return task, "the line belongs to another run (its fingerprint differs)"
        body = set(obj) - {"run", "task"}
        if body == {"error"}:
            if not isinstance(obj["error"], str):
                return task, "an error that is not a string"
            return task, None
        if body != {"rows"}:
            return task, f"unexpected fields {_short(sorted(body))}"
        rows = obj["rows"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            return task, "rows that are not a list of objects"
        if self.check is not None:
            try:
                reason = self.check(task, rows)
            except Exception as exc:  # noqa: BLE001 - a row the check cannot read is a bad row
                reason = f"rows the run cannot read ({type(exc).__name__}: {exc})"
            if reason is not None:
                return task, f"not the rows of task {task}: {reason}"
        return task, None

    def _rewrite(self, header_end: int, kept: list) -> None:
        """Replace the file by its header and the kept lines (atomically, under the lock)."""
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        src = self._file
        with open(tmp, "wb") as out:
            src.seek(0)
            out.write(src.read(header_end))
            for offset, length, _ in kept:
                src.seek(offset)
                out.write(src.read(length))
            out.flush()
            os.fsync(out.fileno())
        new = open(tmp, "r+b")
        try:
            import fcntl

            fcntl.flock(new.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (ImportError, OSError):  # pragma: no cover - no locks here: as in _lock
            pass
        os.replace(tmp, self.path)
        src.close()
        self._file = new

    # ------------------------------------------------------------------ writing
    def _append(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()

    def record(self, index: int, rows: list | None, error: str | None = None) -> None:
        """Append one finished task: its rows, or the error it ended with.

        A task whose line would exceed ``max_line_bytes`` is not recorded (one note on stderr); it is
        computed again on resume.
        """
        body = {"run": self.fingerprint, "task": int(index)}
        body.update({"error": str(error)} if error is not None else {"rows": rows})
        data = _sealed(body)
        if len(data) > self.max_line_bytes:
            if not self._too_long_reported:
                print(f"lpspec: warning: {self.path}: the rows of task {index} take {len(data)} bytes, more than a "
                      f"checkpoint line may ({self.max_line_bytes}); such tasks are not checkpointed (use a smaller "
                      "chunk size).", file=self.stream or sys.stderr)
                self._too_long_reported = True
            return
        self._append(data)

    def close(self) -> None:
        """Flush, sync and close the file (releasing the lock)."""
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
