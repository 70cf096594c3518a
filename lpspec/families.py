"""Instance families for sweeps: random and structured (target, drafts) pairs, reproducible from a seed.

A *family* turns parameters and a seed into a target ``q`` and drafts ``p``:

``dirichlet``
    ``q ~ Dirichlet(alpha · 1_n)`` and ``p ~ Dirichlet(alpha_draft · 1_n)`` (``alpha_draft`` defaults to
    ``alpha``).
``zipf``
    ``q(i) ∝ (i + 1)^(-a)``; the draft is Zipf with exponent ``a_draft`` (default ``a``) over a seeded
    perturbation of the target's ranking: token ``i`` gets draft rank ``argsort(i + shuffle · n · U_i)``,
    ``U_i ~ Uniform(0, 1)`` (``shuffle = 0``: same ranking, ``p = q`` when ``a_draft = a``).
``temperature``
    A base logit vector ``z`` (given as ``logits``, or ``z = scale · N(0, I_n)`` from the seed) seen by the
    target at temperature ``T_t`` and by the draft at ``T_d``: ``q = softmax(z / T_t)``,
    ``p = softmax((z + noise · ε) / T_d)`` with ``ε ~ N(0, I_n)``.
``file``
    User arrays from ``.npy``/``.npz``, ``.json`` or ``.csv`` (see :func:`load_instance_file`).
``example``
    A built-in example by name (see :func:`example_names`).

Every family also takes the truncation parameters ``top_k`` (keep the ``top_k`` most probable tokens) and
``top_p`` (keep the smallest set of most probable tokens holding at least ``top_p`` of the mass), applied
to ``truncate`` ∈ {``"draft"`` (default), ``"target"``, ``"both"``} and renormalised. A truncated draft may
then be unable to draw ``K`` distinct tokens (law ``without_replacement``); the sweep reports that on the
row instead of stopping.

With ``different_drafts=True`` (random families only) each of the ``K`` drafts is drawn separately, in
order, from the same seeded stream: the first two drafts at ``K = 4`` are the drafts at ``K = 2``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "FAMILIES",
    "TRUNCATE_TARGETS",
    "FamilyPoint",
    "InstanceSpec",
    "derive_seed",
    "draw_instance",
    "example_names",
    "example_path",
    "family_point",
    "load_example",
    "load_instance_file",
    "parse_instance_object",
    "truncate",
]

#: Known family names.
FAMILIES = ("dirichlet", "zipf", "temperature", "file", "example")
#: Which distributions the truncation parameters apply to.
TRUNCATE_TARGETS = ("draft", "target", "both")

_COMMON = {"top_k", "top_p", "truncate", "different_drafts"}
_PARAMS = {
    "dirichlet": {"n", "alpha", "alpha_draft"},
    "zipf": {"n", "a", "a_draft", "shuffle"},
    "temperature": {"n", "T_t", "T_d", "scale", "noise", "logits"},
    "file": {"path"},
    "example": {"name"},
}
_RANDOM = {"dirichlet", "zipf", "temperature"}


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


def derive_seed(base_seed: int, *keys: int) -> int:
    """A 32-bit seed for one instance, derived from the sweep's seed and the instance's position.

    ``numpy.random.SeedSequence([base_seed, *keys])`` decorrelates neighbouring positions; the result is
    recorded in every table row, and ``family_point(family, params, seed).draw(k)`` rebuilds the instance.

    Examples
    --------
    >>> derive_seed(0, 1, 2) == derive_seed(0, 1, 2) != derive_seed(0, 2, 1)
    True
    """
    return int(np.random.SeedSequence([int(base_seed), *map(int, keys)]).generate_state(1)[0])


# ---------------------------------------------------------------------- truncation
def truncate(dist, top_k: int | None = None, top_p: float | None = None) -> np.ndarray:
    """Keep the ``top_k`` most probable tokens and/or the top-``p`` nucleus; zero the rest and renormalise.

    Ties are broken by the lower index. ``top_p`` keeps the shortest prefix of the tokens sorted by
    decreasing probability whose mass reaches ``top_p`` (at least one token).

    Parameters
    ----------
    dist : array-like, shape (n,)
    top_k : int, optional
        ``>= 1``.
    top_p : float, optional
        In ``(0, 1]``.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> truncate([0.5, 0.2, 0.3], top_k=2).round(6).tolist()
    [0.625, 0.0, 0.375]
    >>> truncate([0.5, 0.2, 0.3], top_p=0.8).round(6).tolist()
    [0.625, 0.0, 0.375]
    """
    p = np.asarray(dist, dtype=np.float64).copy()
    order = np.lexsort((np.arange(p.size), -p))
    keep = np.ones(p.size, dtype=bool)
    if top_k is not None:
        if isinstance(top_k, bool) or int(top_k) != top_k or top_k < 1:
            raise ValueError(f"top_k={top_k!r} must be a positive integer (the number of tokens kept).")
        keep[order[int(top_k):]] = False
    if top_p is not None:
        if not (0 < float(top_p) <= 1):
            raise ValueError(f"top_p={top_p!r} must be in (0, 1] (the nucleus mass kept).")
        csum = np.cumsum(p[order])
        count = int(np.searchsorted(csum, float(top_p) - 1e-12)) + 1
        keep[order[count:]] = False
    p[~keep] = 0.0
    total = math.fsum(p.tolist())
    if total <= 0:
        raise ValueError("truncation left no probability mass; raise top_k or top_p.")
    return p / total


# ---------------------------------------------------------------------- random families
def _check_positive(name: str, value, integer: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}={value!r} must be a number.")
    if integer and int(value) != value:
        raise ValueError(f"{name}={value!r} must be an integer.")
    if not value > 0:
        raise ValueError(f"{name}={value!r} must be positive.")
    return int(value) if integer else float(value)


#: Largest vocabulary a random family draws (a guard against typos such as n = 10**12).
MAX_FAMILY_N = 10_000_000


def _check_values(family: str, params: dict) -> None:
    """Validate parameter values up front (not when the first instance is drawn): positive numbers, ranges."""
    if family in _RANDOM:
        if "n" in params:
            n = _check_positive("n", params["n"], integer=True)
            if n > MAX_FAMILY_N:
                raise ValueError(f"n={n} is larger than {MAX_FAMILY_N:,}, the largest vocabulary lpspec draws.")
        for key in ("alpha", "alpha_draft", "a", "a_draft", "T_t", "T_d", "scale"):
            if key in params:
                value = _check_positive(key, params[key])
                if not math.isfinite(value):
                    raise ValueError(f"{key}={value!r} must be finite.")
        for key in ("shuffle", "noise"):
            if key in params:
                value = params[key]
                if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                        or not math.isfinite(value) or value < 0:
                    raise ValueError(f"{key}={value!r} must be a finite number >= 0.")
    if params.get("top_k") is not None:
        _check_positive("top_k", params["top_k"], integer=True)
    top_p = params.get("top_p")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float))
                              or not 0 < top_p <= 1):
        raise ValueError(f"top_p={top_p!r} must be in (0, 1] (the nucleus mass kept).")
    if not isinstance(params.get("different_drafts", False), bool):
        raise ValueError(f"different_drafts={params['different_drafts']!r} must be true or false.")


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - np.max(z))
    return e / math.fsum(e.tolist())


def _zipf(n: int, a: float, ranks: np.ndarray) -> np.ndarray:
    w = (ranks + 1.0) ** (-a)
    return w / math.fsum(w.tolist())


def _draw_random(family: str, params: dict, rng: np.random.Generator, count: int):
    n = _check_positive("n", params.get("n", 8 if family != "temperature" or "logits" not in params
                                        else len(params["logits"])), integer=True)
    if family == "dirichlet":
        alpha = _check_positive("alpha", params.get("alpha", 1.0))
        alpha_d = _check_positive("alpha_draft", params.get("alpha_draft", alpha))
        target = rng.dirichlet(np.full(n, alpha))
        drafts = [rng.dirichlet(np.full(n, alpha_d)) for _ in range(count)]
    elif family == "zipf":
        a = _check_positive("a", params.get("a", 1.1))
        a_d = _check_positive("a_draft", params.get("a_draft", a))
        shuffle = float(params.get("shuffle", 0.1))
        if not shuffle >= 0:
            raise ValueError(f"shuffle={shuffle!r} must be >= 0 (0 keeps the target's ranking for the draft).")
        target = _zipf(n, a, np.arange(n, dtype=np.float64))
        drafts = []
        for _ in range(count):
            noisy = np.arange(n) + shuffle * n * rng.random(n)
            ranks = np.empty(n)
            ranks[np.argsort(noisy, kind="stable")] = np.arange(n)
            drafts.append(_zipf(n, a_d, ranks))
    else:
        t_t = _check_positive("T_t", params.get("T_t", 1.0))
        t_d = _check_positive("T_d", params.get("T_d", 1.0))
        noise = float(params.get("noise", 0.0))
        if "logits" in params:
            z = np.asarray(params["logits"], dtype=np.float64)
            if z.ndim != 1 or z.size != n or not np.all(np.isfinite(z)):
                raise ValueError(f"logits must be a finite 1-D list of n={n} numbers.")
        else:
            z = _check_positive("scale", params.get("scale", 3.0)) * rng.standard_normal(n)
        target = _softmax(z / t_t)
        drafts = [_softmax((z + noise * rng.standard_normal(n)) / t_d) for _ in range(count)]
    return target, drafts


@dataclass(frozen=True)
class FamilyPoint:
    """One family with fixed parameters and seed: call :meth:`draw` to get the instance for a ``K``.

    Attributes
    ----------
    family : str
    params : dict
    seed : int or None
        None for deterministic families (``file``, ``example``).

    Examples
    --------
    >>> pt = FamilyPoint("dirichlet", {"n": 3, "different_drafts": True}, seed=1)
    >>> len(pt.draw(k=4).drafts)
    4
    """

    family: str
    params: dict = field(default_factory=dict)
    seed: int | None = None

    def draw(self, k: int | None = None) -> InstanceSpec:
        """The instance (target and drafts) of this point; ``k`` matters only with ``different_drafts``."""
        return draw_instance(self.family, self.params, self.seed, k)


def family_point(family: str, params: dict | None = None, seed: int | None = None) -> FamilyPoint:
    """Validate a family name and its parameter names and return a :class:`FamilyPoint`.

    Examples
    --------
    >>> pt = family_point("dirichlet", {"n": 4, "alpha": 0.5}, seed=7)
    >>> spec = pt.draw()
    >>> spec.target.shape, len(spec.drafts)
    ((4,), 1)
    """
    params = dict(params or {})
    if family not in FAMILIES:
        raise ValueError(f"family={family!r} is not known; choose one of {', '.join(FAMILIES)}.")
    unknown = set(params) - _PARAMS[family] - _COMMON
    if unknown:
        raise ValueError(
            f"family {family!r} has no parameter {', '.join(sorted(unknown))}; its parameters are "
            f"{', '.join(sorted(_PARAMS[family] | _COMMON))}."
        )
    if params.get("truncate", "draft") not in TRUNCATE_TARGETS:
        raise ValueError(f"truncate={params['truncate']!r} must be one of {', '.join(TRUNCATE_TARGETS)}.")
    if family in _RANDOM and seed is None:
        raise ValueError(f"family {family!r} is random: pass a seed so the instance can be regenerated.")
    _check_values(family, params)
    return FamilyPoint(family, params, None if family not in _RANDOM else int(seed))


def draw_instance(family: str, params: dict, seed: int | None = None, k: int | None = None) -> InstanceSpec:
    """Draw the instance of ``family`` with ``params`` from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    params : dict
        The family's parameters (module docstring), plus ``top_k``, ``top_p``, ``truncate``,
        ``different_drafts``.
    seed : int, optional
        Required for the random families.
    k : int, optional
        Number of drafts; needed only with ``different_drafts=True``.

    Returns
    -------
    InstanceSpec

    Examples
    --------
    >>> a = draw_instance("zipf", {"n": 5, "a": 1.0, "shuffle": 0.5}, seed=3)
    >>> b = draw_instance("zipf", {"n": 5, "a": 1.0, "shuffle": 0.5}, seed=3)
    >>> bool(np.array_equal(a.drafts[0], b.drafts[0]))
    True
    """
    point = family_point(family, params, seed)
    params = point.params
    different = bool(params.get("different_drafts", False))
    if family in _RANDOM:
        if different and k is None:
            raise ValueError("different_drafts=True draws one draft per draft position: pass k.")
        rng = np.random.default_rng(point.seed)
        target, drafts = _draw_random(family, params, rng, int(k) if different else 1)
        spec = InstanceSpec(target, drafts, int(k) if different else None, None, family)
    else:
        if different:
            raise ValueError(f"different_drafts applies to random families only, not {family!r}.")
        if family == "file":
            if "path" not in params:
                raise ValueError("family 'file' needs a path parameter (a .npy, .npz, .json or .csv file).")
            spec = load_instance_file(params["path"])
        else:
            if "name" not in params:
                raise ValueError(f"family 'example' needs a name parameter; one of {', '.join(example_names())}.")
            spec = load_example(params["name"])
    top_k, top_p = params.get("top_k"), params.get("top_p")
    if top_k is None and top_p is None:
        return spec
    where = params.get("truncate", "draft")
    target = spec.target
    drafts = spec.drafts
    if where in ("target", "both"):
        target = truncate(_floats(target, "target"), top_k, top_p)
    if where in ("draft", "both"):
        drafts = [truncate(_floats(d, "draft"), top_k, top_p) for d in drafts]
    return InstanceSpec(target, drafts, spec.k, spec.law, spec.name, spec.description)


def _floats(values, name: str) -> np.ndarray:
    return np.array([float(v) for v in values], dtype=np.float64)


# ---------------------------------------------------------------------- files and examples
def _vector(values, name: str) -> np.ndarray:
    """A JSON list as a float array, or as Fractions when any entry is a string such as ``"1/3"``."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} must be a non-empty list of probabilities.")
    if any(isinstance(v, str) for v in values):
        try:
            return np.array([Fraction(str(v).strip()) for v in values], dtype=object)
        except (ValueError, ZeroDivisionError):
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
    k = obj.get("k")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f"{name}: k={k!r} must be a positive integer.")
    if k is not None and len(drafts) > 1 and k != len(drafts):
        raise ValueError(f"{name}: k={k} but {len(drafts)} drafts are listed.")
    if len(drafts) > 1:
        k = len(drafts)
    exact = [v.dtype == object for v in [target, *drafts]]
    if any(exact) and not all(exact):
        # mixed: read the float vectors exactly too, so that make_instance sees one kind of number
        target = np.array([Fraction(str(v)) if not isinstance(v, Fraction) else v for v in target], dtype=object)
        drafts = [np.array([Fraction(str(v)) if not isinstance(v, Fraction) else v for v in d], dtype=object)
                  for d in drafts]
    return InstanceSpec(target, drafts, k, obj.get("law"), str(obj.get("name", name)),
                        str(obj.get("description", "")))


def _csv_instance(text: str, name: str) -> InstanceSpec:
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{name} is empty.")

    def is_number(c):
        try:
            Fraction(c.strip())
            return True
        except (ValueError, ZeroDivisionError):
            return False

    def vec(cells, label):
        exact = any("/" in c for c in cells)
        try:
            if exact:
                return np.array([Fraction(c.strip()) for c in cells], dtype=object)
            return np.array([float(c) for c in cells], dtype=np.float64)
        except (ValueError, ZeroDivisionError):
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
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name} is not valid JSON ({exc}).") from None
        return parse_instance_object(obj, name)
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
