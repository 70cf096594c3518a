"""Reading and writing batches of real distributions: ``.safetensors``, ``.pt``, ``.npz`` and ``.npy`` files.

A file holds a **target** array of shape ``(B, n)`` (one row per position) and a **drafts** array of shape
``(B, n)`` (one draft model, drawn K times) or ``(K, B, n)`` (K draft models), under the keys ``"target"`` and
``"drafts"``:

* ``.safetensors`` — both tensors, plus string metadata (model names, text file, ...);
* ``.pt`` / ``.pth`` — a dict ``{"target": tensor, "drafts": tensor, "metadata": {str: str}}``, read with
  ``torch.load(..., weights_only=True)`` (no pickled code is ever run);
* ``.npz`` — both arrays (read with ``allow_pickle=False``);
* ``.npy`` — one array per file: ``NAME.target.npy`` and ``NAME.drafts.npy``. ``load_distributions("NAME.npy")``
  reads that pair; any two ``.npy`` files can be given as ``path`` and ``drafts_path``. ``.npy`` files are
  memory-mapped, so a table over a large file reads it chunk by chunk.

Probabilities are stored as they are (float32 or float64); validation happens when they are used
(:func:`lpspec.batched.inputs.validate_rows`).
"""

from __future__ import annotations

import functools
import json
import numbers
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.keywords import DRAFTS, keyword_aliases
from ._torch import require_torch

__all__ = ["SUFFIXES", "LoadedDistributions", "load_distributions", "read_rows", "save_distributions", "stored_shapes"]

#: File types understood by :func:`load_distributions` and :func:`save_distributions`.
SUFFIXES = (".safetensors", ".pt", ".pth", ".npz", ".npy")


@dataclass
class LoadedDistributions:
    """Target and draft arrays read from a file.

    Attributes
    ----------
    target : torch.Tensor or numpy.ndarray, shape (B, n)
    drafts : torch.Tensor or numpy.ndarray, shape (B, n) or (K, B, n)
    metadata : dict of str to str
    paths : tuple of Path
    """

    target: object
    drafts: object
    metadata: dict = field(default_factory=dict)
    paths: tuple = ()

    @property
    def different_drafts(self) -> bool:
        """True for (K, B, n) drafts."""
        return len(self.drafts.shape) == 3

    @property
    def positions(self) -> int:
        return int(self.target.shape[0])

    def kwargs(self, k: int | None = None) -> dict:
        """``{"target", "drafts", "k"}`` for :func:`lpspec.batched.compare_schemes` and friends.

        ``k`` is required for (B, n) drafts (the file does not say how many times the draft is drawn), and
        defaults to the file's K for (K, B, n) drafts.
        """
        if not self.different_drafts and k is None:
            raise ValueError("these drafts are one (B, n) distribution per position: pass k (the number of drafts).")
        return {"target": self.target, "drafts": self.drafts, "k": k}


def _check_shapes(target, drafts, where: str):
    t_shape, d_shape = tuple(target.shape), tuple(drafts.shape)
    if len(t_shape) != 2:
        raise ValueError(f"{where}: 'target' must have shape (B, n); got {t_shape}.")
    if len(d_shape) not in (2, 3) or d_shape[-2:] != t_shape:
        raise ValueError(
            f"{where}: 'drafts' must have shape (B, n) = {t_shape} or (K, B, n) = (K, *{t_shape}); got {d_shape}."
        )


def _check_dense(values, where: str) -> None:
    """Refuse sparse and quantized tensors and non-real arrays (they are not probability tables as stored)."""
    if getattr(values, "is_sparse", False) or str(getattr(values, "layout", "torch.strided")) != "torch.strided":
        raise ValueError(f"{where} is a sparse tensor (layout {values.layout}); store dense tensors (t.to_dense()).")
    if getattr(values, "is_quantized", False):
        raise ValueError(f"{where} is a quantized tensor ({values.dtype}); store float32/float64 probabilities "
                         "(t.dequantize()).")
    dtype = getattr(values, "dtype", None)
    if dtype is not None and (getattr(dtype, "is_complex", False) or getattr(dtype, "kind", "") == "c"):
        raise ValueError(f"{where} holds complex values ({dtype}); probabilities must be real numbers.")


def _npy_pair(path: Path) -> tuple[Path, Path]:
    stem = path.with_suffix("")
    return stem.with_name(stem.name + ".target.npy"), stem.with_name(stem.name + ".drafts.npy")


def _resolve_npy_pair(path: Path) -> tuple[Path, Path]:
    """``NAME.npy`` (or either file of the pair) → ``(NAME.target.npy, NAME.drafts.npy)``."""
    if not path.exists() or path.name.endswith((".target.npy", ".drafts.npy")):
        base = path
        if path.name.endswith((".target.npy", ".drafts.npy")):
            base = path.with_name(path.name.rsplit(".", 2)[0] + ".npy")
        tpath, dpath = _npy_pair(base)
        if tpath.exists() and dpath.exists():
            return tpath, dpath
    raise ValueError(
        f"{path}: a .npy file holds one array; write NAME.target.npy and NAME.drafts.npy and pass NAME.npy, "
        "or pass drafts_path=, or use .safetensors / .pt / .npz for both arrays in one file."
    )


def _read_single(path: Path, key: str):
    """One array from ``path``: the whole ``.npy`` file, or ``key`` (or the only entry) of the other types."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False), {}
        except Exception as exc:  # noqa: BLE001 - truncated header, pickled object arrays, OSError
            raise ValueError(f"{path}: not a readable .npy file ({_first_line(exc)}).") from None
    tensors, meta = _read_all(path)
    if key in tensors:
        return tensors[key], meta
    if len(tensors) == 1:
        return next(iter(tensors.values())), meta
    raise ValueError(f"{path}: no array named {key!r}; it holds {', '.join(sorted(tensors)) or 'nothing'}.")


def _first_line(exc: BaseException) -> str:
    """``Type: first line`` of a reader's error (torch and safetensors write several lines)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _read_all(path: Path) -> tuple[dict, dict]:
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors import safe_open

        require_torch()
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = dict(f.metadata() or {})
                return {name: f.get_tensor(name) for name in f.keys()}, meta  # noqa: SIM118 (not a dict)
        except Exception as exc:  # noqa: BLE001 - SafetensorError (truncated, garbage, lying header), OSError
            raise ValueError(f"{path}: not a readable .safetensors file ({_first_line(exc)}).") from None
    if suffix in (".pt", ".pth"):
        torch = require_torch()
        try:
            with warnings.catch_warnings():  # e.g. torch's deprecation notes for quantized tensors
                warnings.simplefilter("ignore")
                obj = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
            what = f"the pickled object {found.group(1)}" if found else "pickled Python objects"
            raise ValueError(
                f"{path}: refused: it holds {what}, and lpspec only reads plain tensors (torch.load with "
                "weights_only=True never runs pickled code); save {'target': tensor, 'drafts': tensor, "
                "'metadata': {str: str}}."
            ) from None
        except Exception as exc:  # noqa: BLE001 - truncated or garbage files: RuntimeError, EOFError, ...
            raise ValueError(
                f"{path}: could not be read with torch.load(weights_only=True) ({_first_line(exc)}); "
                "save plain tensors in a dict: {'target': ..., 'drafts': ..., 'metadata': {str: str}}."
            ) from None
        if isinstance(obj, torch.Tensor):
            return {"tensor": obj}, {}
        if not isinstance(obj, dict):
            raise ValueError(f"{path}: expected a dict of tensors, got {type(obj).__name__}.")
        meta = obj.get("metadata", {}) or {}
        if not isinstance(meta, dict):
            raise ValueError(f"{path}: 'metadata' must be a dict of str to str; got {type(meta).__name__}.")
        tensors = {name: v for name, v in obj.items() if isinstance(v, torch.Tensor)}
        return tensors, {str(a): str(b) for a, b in dict(meta).items()}
    if suffix == ".npz":
        try:  # everything is read here: a truncated archive fails on access, not on open
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files if name != "metadata"}
                meta = json.loads(str(data["metadata"])) if "metadata" in data.files else {}
        except Exception as exc:  # noqa: BLE001 - BadZipFile, EOFError, zlib.error, ValueError, OSError
            raise ValueError(f"{path}: not a readable .npz archive ({_first_line(exc)}).") from None
        if not isinstance(meta, dict):
            raise ValueError(f"{path}: 'metadata' must be a JSON object of str to str.")
        return arrays, meta
    raise ValueError(f"{path}: unknown file type {suffix!r}; use one of {', '.join(SUFFIXES)}.")


def load_distributions(path, *, drafts_path=None, target_key: str = "target",
                       drafts_key: str = "drafts") -> LoadedDistributions:
    """Read target and draft distributions from a file (or a pair of files).

    Parameters
    ----------
    path : str or Path
        A ``.safetensors``, ``.pt``/``.pth`` or ``.npz`` file holding both arrays; ``NAME.npy`` for the pair
        ``NAME.target.npy`` / ``NAME.drafts.npy``; or, with ``drafts_path``, the file of the target alone.
    drafts_path : str or Path, optional
        The file of the drafts, when they are stored apart.
    target_key, drafts_key : str
        Names of the arrays inside the files.

    Returns
    -------
    LoadedDistributions

    Raises
    ------
    ValueError
        Unknown file type, missing array, wrong shapes, or a ``.pt`` file that needs pickled code.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> paths = save_distributions(os.path.join(d, "x.safetensors"), target=[[0.5, 0.5]], drafts=[[0.9, 0.1]])
    >>> load_distributions(paths[0]).target.shape
    torch.Size([1, 2])
    """
    path = Path(path)
    for one in (path, drafts_path):
        if one is not None and Path(one).suffix.lower() not in SUFFIXES:
            raise ValueError(f"{one}: unknown file type {Path(one).suffix!r}; use one of {', '.join(SUFFIXES)}.")
    if drafts_path is not None:
        target, meta = _read_single(path, target_key)
        drafts, meta2 = _read_single(Path(drafts_path), drafts_key)
        _check_dense(target, f"{path}: {target_key!r}")
        _check_dense(drafts, f"{drafts_path}: {drafts_key!r}")
        _check_shapes(target, drafts, f"{path} + {drafts_path}")
        if int(target.shape[0]) == 0:
            raise ValueError(f"{path}: 'target' has 0 rows; the file holds no position to evaluate.")
        return LoadedDistributions(target, drafts, {**meta2, **meta}, (path, Path(drafts_path)))
    if path.suffix.lower() == ".npy":
        tpath, dpath = _resolve_npy_pair(path)
        return load_distributions(tpath, drafts_path=dpath)
    if not path.exists():
        raise ValueError(f"{path}: no such file.")
    tensors, meta = _read_all(path)
    missing = [key for key in (target_key, drafts_key) if key not in tensors]
    if missing:
        raise ValueError(
            f"{path}: no array named {', '.join(map(repr, missing))}; it holds "
            f"{', '.join(sorted(tensors)) or 'nothing'} (pass target_key= / drafts_key=)."
        )
    for key in (target_key, drafts_key):
        _check_dense(tensors[key], f"{path}: {key!r}")
    _check_shapes(tensors[target_key], tensors[drafts_key], str(path))
    if int(tensors[target_key].shape[0]) == 0:
        raise ValueError(f"{path}: 'target' has 0 rows; the file holds no position to evaluate.")
    return LoadedDistributions(tensors[target_key], tensors[drafts_key], meta, (path,))


def _to_numpy(x):
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


@keyword_aliases(refused=DRAFTS)
def save_distributions(path, *, target, drafts, metadata: dict | None = None, extra: dict | None = None
                       ) -> list[Path]:
    """Write target ``(B, n)`` and drafts ``(B, n)`` / ``(K, B, n)`` to ``path`` (type from the suffix).

    Parameters
    ----------
    path : str or Path
        ``.safetensors``, ``.pt``/``.pth``, ``.npz``, or ``NAME.npy`` (writes ``NAME.target.npy`` and
        ``NAME.drafts.npy``).
    target, drafts : tensor or array
    metadata : dict of str to str, optional
        Stored in ``.safetensors`` / ``.pt`` / ``.npz`` (not in ``.npy``).
    extra : dict of str to tensor, optional
        More arrays stored beside ``target`` and ``drafts`` (e.g. ``tokens``; not in ``.npy``).

    Returns
    -------
    list of Path
        The files written.
    """
    torch = require_torch()
    path = Path(path)
    t = torch.as_tensor(_to_numpy(target)).contiguous()
    d = torch.as_tensor(_to_numpy(drafts)).contiguous()
    _check_shapes(t, d, str(path))
    meta = {str(a): str(b) for a, b in (metadata or {}).items()}
    more = {str(name): torch.as_tensor(_to_numpy(v)).contiguous() for name, v in (extra or {}).items()}
    clash = {"target", "drafts", "metadata"} & set(more)
    if clash:
        raise ValueError(f"extra: the names {', '.join(sorted(clash))} are reserved.")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({"target": t, "drafts": d, **more}, str(path), metadata=meta)
        return [path]
    if suffix in (".pt", ".pth"):
        torch.save({"target": t, "drafts": d, **more, "metadata": meta}, path)
        return [path]
    if suffix == ".npz":
        np.savez(path, target=t.numpy(), drafts=d.numpy(), metadata=np.array(json.dumps(meta)),
                 **{name: v.numpy() for name, v in more.items()})
        return [path]
    if suffix == ".npy":
        tpath, dpath = _npy_pair(path)
        np.save(tpath, t.numpy())
        np.save(dpath, d.numpy())
        return [tpath, dpath]
    raise ValueError(f"{path}: unknown file type {suffix!r}; use one of {', '.join(SUFFIXES)}.")


# ---------------------------------------------------------------------- row ranges, read lazily
def _sources(path, drafts_path, target_key: str, drafts_key: str) -> tuple[tuple, tuple]:
    """``((file, key, only_entry_ok), (file, key, only_entry_ok))`` of the target and of the drafts."""
    path = Path(path)
    for one in (path, drafts_path):
        if one is not None and Path(one).suffix.lower() not in SUFFIXES:
            raise ValueError(f"{one}: unknown file type {Path(one).suffix!r}; use one of {', '.join(SUFFIXES)}.")
    if drafts_path is not None:
        return (path, target_key, True), (Path(drafts_path), drafts_key, True)
    if path.suffix.lower() == ".npy":
        tpath, dpath = _resolve_npy_pair(path)
        return (tpath, target_key, True), (dpath, drafts_key, True)
    return (path, target_key, False), (path, drafts_key, False)


@functools.lru_cache(maxsize=2)
def _read_all_cached(path: str, mtime_ns: int, size: int):
    return _read_all(Path(path))


class _Stored:
    """One stored array, opened lazily: ``.shape`` and ``.rows(start, stop, axis)`` without reading the rest.

    ``.npy`` files are memory-mapped and ``.safetensors`` tensors sliced in place, so only the requested rows
    are read; ``.pt`` and ``.npz`` files cannot be read in part and are loaded whole (once per process).
    """

    def __init__(self, path: Path, key: str, only_entry_ok: bool):
        if not path.exists():
            raise ValueError(f"{path}: no such file.")
        self.path, self.key = path, key
        self.suffix = path.suffix.lower()
        self.metadata: dict = {}
        self._handle = None
        if self.suffix == ".npy":
            try:
                self._array = np.load(path, mmap_mode="r", allow_pickle=False)
            except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file, named here
                raise ValueError(f"{path}: not a readable .npy file ({_first_line(exc)}).") from None
            self.shape = tuple(self._array.shape)
        elif self.suffix == ".safetensors":
            from safetensors import safe_open

            require_torch()
            try:
                self._handle = safe_open(str(path), framework="pt")
                names = list(self._handle.keys())
                self.metadata = dict(self._handle.metadata() or {})
            except Exception as exc:  # noqa: BLE001 - truncated, garbage or header-lying files
                raise ValueError(f"{path}: not a readable .safetensors file ({_first_line(exc)}).") from None
            name = self._pick(names, only_entry_ok)
            self._array = self._handle.get_slice(name)
            self.shape = tuple(self._array.get_shape())
        else:
            stat = path.stat()
            tensors, self.metadata = _read_all_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
            self._array = tensors[self._pick(list(tensors), only_entry_ok)]
            self.shape = tuple(self._array.shape)

    def _pick(self, names: list, only_entry_ok: bool) -> str:
        if self.key in names:
            return self.key
        if only_entry_ok and len(names) == 1:
            return names[0]
        raise ValueError(f"{self.path}: no array named {self.key!r}; it holds {', '.join(sorted(names)) or 'nothing'} "
                         "(pass target_key= / drafts_key=).")

    def rows(self, start: int, stop: int, axis: int):
        index = (slice(start, stop),) if axis == 0 else (slice(None), slice(start, stop))
        try:
            part = self._array[index]
        except Exception as exc:  # noqa: BLE001 - a header that lies about offsets fails here, not on open
            raise ValueError(f"{self.path}: rows {start}:{stop} could not be read ({_first_line(exc)}).") from None
        if self.suffix == ".npy":
            return np.array(part)  # a copy in memory; the map is not kept
        if self.suffix == ".safetensors":
            return part.contiguous()
        return part


class _Shape:
    def __init__(self, shape):
        self.shape = shape


def _open_pair(path, drafts_path, target_key: str, drafts_key: str):
    (tp, tk, t1), (dp, dk, d1) = _sources(path, drafts_path, target_key, drafts_key)
    target, drafts = _Stored(tp, tk, t1), _Stored(dp, dk, d1)
    where = str(path) if drafts_path is None else f"{path} + {drafts_path}"
    _check_shapes(_Shape(target.shape), _Shape(drafts.shape), where)
    return target, drafts


def stored_shapes(path, *, drafts_path=None, target_key: str = "target", drafts_key: str = "drafts"
                  ) -> tuple[tuple, tuple, dict]:
    """The shapes of the target ``(B, n)`` and drafts ``(B, n)`` / ``(K, B, n)`` of a file, and its metadata,
    without reading the arrays (``.npy``, ``.safetensors``; ``.pt`` / ``.npz`` are loaded whole).

    Arguments as in :func:`load_distributions`.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> _ = save_distributions(os.path.join(d, "x.npy"), target=[[0.5, 0.5]] * 3, drafts=[[0.9, 0.1]] * 3)
    >>> stored_shapes(os.path.join(d, "x.npy"))[:2]
    ((3, 2), (3, 2))
    """
    target, drafts = _open_pair(path, drafts_path, target_key, drafts_key)
    return target.shape, drafts.shape, {**drafts.metadata, **target.metadata}


def read_rows(path, start: int, stop: int, *, drafts_path=None, target_key: str = "target",
              drafts_key: str = "drafts") -> LoadedDistributions:
    """Positions ``start:stop`` of a file: target rows ``(stop - start, n)`` and the matching draft rows.

    Only those rows are read from ``.npy`` (memory map) and ``.safetensors`` (in-place slice) files, so a
    worker handed a path and a row range reads its part of a multi-GB file itself; ``.pt`` / ``.npz`` files
    are loaded whole once per process. The arrays are those :func:`load_distributions` gives, cut to the range
    (same dtype, same values).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> _ = save_distributions(os.path.join(d, "x.npy"), target=[[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]],
    ...                        drafts=[[0.9, 0.1]] * 3)
    >>> read_rows(os.path.join(d, "x.npy"), 1, 3).target.tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    target, drafts = _open_pair(path, drafts_path, target_key, drafts_key)
    B = target.shape[0]
    for name, v in (("start", start), ("stop", stop)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise ValueError(f"{name}={v!r} must be an integer row index.")
    if not 0 <= start < stop <= B:
        raise ValueError(f"rows {start}:{stop} are not a non-empty range of the {B} positions of {path}.")
    t = target.rows(int(start), int(stop), 0)
    d = drafts.rows(int(start), int(stop), 1 if len(drafts.shape) == 3 else 0)
    paths = (target.path,) if target.path == drafts.path else (target.path, drafts.path)
    return LoadedDistributions(t, d, {**drafts.metadata, **target.metadata}, paths)
