"""Instance files and built-in examples: a target and drafts read from JSON, CSV, ``.npy`` or ``.npz``.

:func:`load_instance_file` reads a user file, :func:`parse_instance_object` a JSON-like object with the Python
API's keys (``target``, ``drafts``, ``k``, ``law``), and :func:`load_example` a packaged example by name
(:func:`example_names`). Each returns an :class:`InstanceSpec`, the arrays before validation; pass
``spec.kwargs(k=...)`` to :func:`lpspec.make_instance`. The file formats are in docs/formats.md.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..core.arith import arith_of
from .untrusted import OversizedNumberError, loads_json, parse_exact

__all__ = [
    "InstanceSpec",
    "example_names",
    "example_path",
    "load_example",
    "load_instance_file",
    "parse_instance_object",
]


@dataclass(frozen=True)
class InstanceSpec:
    """A drawn instance before validation: what :func:`lpspec.make_instance` receives.

    Attributes
    ----------
    target : ndarray, shape (n,)
    drafts : list of ndarray
        One vector (identical drafts, ``k`` from the caller) or ``K`` vectors (different drafts).
    k : int or None
        Fixed by the source (a file with a list of drafts, or an example), else None.
    law : str or None
        The law an example or file asks for, else None.
    name : str
    description : str

    Examples
    --------
    >>> spec = InstanceSpec(np.array([0.5, 0.5]), [np.array([0.9, 0.1])])
    >>> sorted(spec.kwargs(k=3))
    ['drafts', 'k', 'law', 'target']
    """

    target: np.ndarray
    drafts: list
    k: int | None = None
    law: str | None = None
    name: str = ""
    description: str = ""

    def kwargs(self, k: int | None = None, law: str | None = None) -> dict:
        """``{"target", "drafts", "k", "law"}`` for :func:`lpspec.make_instance`.

        ``k`` and ``law`` override the stored ones; a source with ``K`` different drafts ignores ``k``
        unless it disagrees (a ``ValueError``).
        """
        law = law or self.law or "independent"
        if len(self.drafts) == 1 and self.k is None:
            if k is None:
                raise ValueError(f"instance {self.name or ''!s} has one draft: pass k (the number of drafts).")
            return {"target": self.target, "drafts": self.drafts[0], "k": int(k), "law": law}
        if len(self.drafts) == 1:
            return {"target": self.target, "drafts": self.drafts[0], "k": int(k if k is not None else self.k),
                    "law": law}
        if k is not None and int(k) != len(self.drafts):
            raise ValueError(
                f"instance {self.name or ''!s} has {len(self.drafts)} different drafts, so K={len(self.drafts)}; "
                f"k={k} does not match. Drop k."
            )
        return {"target": self.target, "drafts": list(self.drafts), "k": None, "law": law}



def _vector(values, name: str) -> np.ndarray:
    """A JSON list as a float array, or as Fractions when any entry is a string such as ``"1/3"``."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} must be a non-empty list of probabilities.")
    if any(isinstance(v, str) for v in values):
        try:
            return np.array([parse_exact(str(v), name) for v in values], dtype=object)
        except ValueError as exc:
            if isinstance(exc, OversizedNumberError):
                raise
            raise ValueError(f"{name} holds an entry that is neither a number nor a fraction like '1/3'.") from None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{name} must hold numbers (or fraction strings like '1/3').")
    return np.array(values, dtype=np.float64)


def parse_instance_object(obj: dict, name: str = "instance") -> InstanceSpec:
    """An instance from a JSON-like object.

    Keys, as the Python API's keywords: ``target`` (list); ``drafts`` — one list (identical drafts, with
    ``k``) or a list of lists (``K`` different drafts), exactly as ``make_instance(drafts=...)`` takes it
    (``draft``, one list, is also accepted); optional ``k``, ``law``, ``name``, ``description``. Entries are
    numbers, or strings such as ``"1/3"`` for exact Fractions (then every entry of that vector is read exactly).

    Examples
    --------
    >>> spec = parse_instance_object({"target": ["1/2", "1/2"], "draft": [0.25, 0.75], "k": 2})
    >>> spec.target.tolist(), spec.k
    ([Fraction(1, 2), Fraction(1, 2)], 2)
    >>> len(parse_instance_object({"target": [0.5, 0.5], "drafts": [0.25, 0.75], "k": 2}).drafts)
    1
    """
    if not isinstance(obj, dict):
        raise ValueError(f"{name} must be a JSON object with 'target' and 'draft' or 'drafts'.")
    unknown = set(obj) - {"target", "draft", "drafts", "k", "law", "name", "description"}
    if unknown:
        raise ValueError(f"{name} has unknown keys {', '.join(sorted(unknown))}; expected target, draft or "
                         "drafts, k, law, name, description.")
    if "target" not in obj:
        raise ValueError(f"{name} has no 'target'.")
    if ("draft" in obj) == ("drafts" in obj):
        raise ValueError(f"{name} needs exactly one of 'draft' (identical drafts) or 'drafts' (a list).")
    try:
        target = _vector(obj["target"], "target")
        if "draft" in obj:
            drafts = [_vector(obj["draft"], "draft")]
        else:
            if not isinstance(obj["drafts"], list) or not obj["drafts"]:
                raise ValueError(f"{name}: 'drafts' must be a non-empty list (one draft) or a list of lists.")
            if all(not isinstance(d, (list, tuple)) for d in obj["drafts"]):  # one draft, as make_instance takes it
                drafts = [_vector(obj["drafts"], "drafts")]
            else:
                drafts = [_vector(d, f"drafts[{i}]") for i, d in enumerate(obj["drafts"])]
    except OversizedNumberError as exc:
        raise OversizedNumberError(f"{name}: {exc}") from None
    k = obj.get("k")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f"{name}: k={k!r} must be a positive integer.")
    if k is not None and len(drafts) > 1 and k != len(drafts):
        raise ValueError(f"{name}: k={k} but {len(drafts)} drafts are listed.")
    if len(drafts) > 1:
        k = len(drafts)
    # one exact vector makes all exact: the float vectors are read by their decimals too, so that
    # make_instance sees one kind of number
    arith = arith_of([target, *drafts])
    target, *drafts = [arith.array([arith.convert(v, decimal=True) for v in vec]) for vec in [target, *drafts]]
    return InstanceSpec(target, drafts, k, obj.get("law"), str(obj.get("name", name)),
                        str(obj.get("description", "")))


def _csv_instance(text: str, name: str) -> InstanceSpec:
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{name} is empty.")

    def is_number(c):
        try:
            parse_exact(c, name)
            return True
        except ValueError as exc:
            if isinstance(exc, OversizedNumberError):
                raise
            return False

    def vec(cells, label):
        exact = any("/" in c for c in cells)
        try:
            if exact:
                return np.array([parse_exact(c, f"{name}: {label}") for c in cells], dtype=object)
            values = np.array([float(c) for c in cells], dtype=np.float64)
            for c, v in zip(cells, values):
                if np.isinf(v) and "inf" not in c.lower():
                    raise OversizedNumberError(f"{name}: {label}: the number {c.strip()[:40]} overflows a float.")
            return values
        except ValueError as exc:
            if isinstance(exc, OversizedNumberError):
                raise
            raise ValueError(f"{name}: {label} holds a cell that is not a number.") from None

    if not all(is_number(c) for c in rows[0]):  # header: one column per distribution
        header = [c.strip() for c in rows[0]]
        for j, r in enumerate(rows[1:], start=2):
            if len(r) != len(header):
                raise ValueError(f"{name}: line {j} has {len(r)} cells but the header has {len(header)} "
                                 "columns (a ragged CSV); give every distribution a value in every row.")
        if "target" not in header:
            raise ValueError(f"{name}: the header names no 'target' column (columns: {', '.join(header)}).")
        cols = {h: [r[i] for r in rows[1:]] for i, h in enumerate(header)}
        others = [h for h in header if h != "target"]
        if not others:
            raise ValueError(f"{name}: no draft column next to 'target'.")
        target = vec(cols["target"], "target")
        drafts = [vec(cols[h], h) for h in others]
    else:  # rows: target first, then drafts
        if len(rows) < 2:
            raise ValueError(f"{name}: expected a target row and at least one draft row.")
        target = vec(rows[0], "row 1 (target)")
        drafts = [vec(r, f"row {i + 2}") for i, r in enumerate(rows[1:])]
    return InstanceSpec(target, drafts, len(drafts) if len(drafts) > 1 else None, None, name)


def _first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of an exception (third-party readers write several lines)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _real_array(arr: np.ndarray, name: str) -> None:
    """Refuse arrays that are not real numbers (complex, strings, ...), naming the file."""
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{name} holds {arr.dtype} values; probabilities must be real numbers.")


def load_instance_file(path) -> InstanceSpec:
    """Read an instance from a file.

    * ``.json``: an object as in :func:`parse_instance_object`.
    * ``.npy``: a 2-D array, row 0 the target, then one row (identical drafts) or ``K`` rows.
    * ``.npz``: arrays ``target`` (shape ``(n,)``) and ``drafts`` — the same rule as the batch files of
      ``lpspec batch``: ``drafts`` of the target's shape ``(n,)`` is one draft (identical drafts, give ``k``),
      one more leading axis ``(K, n)`` lists ``K`` drafts (``draft``, 1-D, is also accepted). A file whose
      ``target`` has shape ``(B, n)`` holds a batch: read it with ``lpspec batch`` /
      :func:`lpspec.batched.load_distributions`.
    * ``.csv``: either a header row naming the columns ``target`` and one or more draft columns (one column
      per distribution), or no header and one row per distribution, the target first. Cells may be
      fractions such as ``1/3`` (read exactly).

    Raises
    ------
    ValueError
        Unknown suffix, unreadable or malformed file (the message names the file).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "inst.csv")
    ...     _ = open(path, "w").write("target,draft\\n1/4,1/2\\n3/4,1/2\\n")
    ...     spec = load_instance_file(path)
    >>> [str(v) for v in spec.target], [str(v) for v in spec.drafts[0]]
    (['1/4', '3/4'], ['1/2', '1/2'])
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValueError(f"instance file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return parse_instance_object(loads_json(path.read_bytes(), name), name)
    if suffix == ".csv":
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name} is not a UTF-8 text file ({exc.reason}).") from None
        return _csv_instance(text, name)
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file, named here
            raise ValueError(f"{name} is not a readable .npy array ({_first_line(exc)}).") from None
        if arr.ndim != 2 or arr.shape[0] < 2:
            raise ValueError(f"{name} must hold a 2-D array: row 0 the target, then the draft rows; got shape "
                             f"{arr.shape}.")
        _real_array(arr, name)
        drafts = [np.asarray(r) for r in arr[1:]]
        return InstanceSpec(np.asarray(arr[0]), drafts, len(drafts) if len(drafts) > 1 else None, None, name)
    if suffix == ".npz":
        try:  # read everything now: a truncated archive fails on access, not on open
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: np.asarray(data[key]) for key in data.files}
        except Exception as exc:  # noqa: BLE001 - BadZipFile, EOFError, zlib.error, ValueError, OSError
            raise ValueError(f"{name} is not a readable .npz archive ({_first_line(exc)}).") from None
        if "target" not in arrays or ("draft" in arrays) == ("drafts" in arrays):
            raise ValueError(f"{name} must hold an array 'target' and one of 'draft' or 'drafts'.")
        if np.ndim(arrays["target"]) != 1:
            raise ValueError(f"{name} holds target of shape {np.shape(arrays['target'])}: a batch of positions, "
                             "not one instance; use `lpspec batch` (lpspec.batched.load_distributions) for it.")
        for key, arr in arrays.items():
            _real_array(arr, f"{name}: {key!r}")
        if "draft" in arrays:
            drafts = [arrays["draft"]]
        else:
            drafts = list(np.atleast_2d(arrays["drafts"]))
        return InstanceSpec(arrays["target"], drafts, len(drafts) if len(drafts) > 1 else None, None, name)
    raise ValueError(f"instance file {name!r}: unknown suffix {suffix!r}; use .json, .csv, .npy or .npz.")


def _examples_dir():
    return resources.files("lpspec") / "examples"


def example_names() -> list[str]:
    """Names of the built-in example instances (files ``lpspec/examples/<name>.json`` with a ``target``).

    Examples
    --------
    >>> "figure2-left" in example_names()
    True
    """
    names = []
    for entry in _examples_dir().iterdir():
        if entry.name.endswith(".json") and not entry.name.startswith("sweep"):
            names.append(entry.name[: -len(".json")])
    return sorted(names)


def example_path(name: str):
    """The packaged file of a built-in example or sample spec (``ValueError`` listing the names if unknown).

    Examples
    --------
    >>> example_path("sweep-small").name
    'sweep-small.json'
    """
    for candidate in (name, f"{name}.json", f"{name}.toml"):
        entry = _examples_dir() / candidate
        if entry.is_file():
            return entry
    raise ValueError(f"no built-in example named {name!r}; choose one of {', '.join(example_names())}.")


def load_example(name: str) -> InstanceSpec:
    """A built-in example instance by name (see :func:`example_names`).

    Examples
    --------
    >>> spec = load_example("figure2-left")
    >>> [str(v) for v in spec.target], spec.k
    (['1/3', '0', '2/3'], 2)
    """
    if name not in example_names():
        raise ValueError(f"no built-in example named {name!r}; choose one of {', '.join(example_names())}.")
    obj = json.loads(example_path(name).read_text(encoding="utf-8"))
    spec = parse_instance_object(obj, name)
    return InstanceSpec(spec.target, spec.drafts, spec.k, spec.law, name, spec.description)
