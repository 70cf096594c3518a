"""Sweeps: a grid of instances × K × draft law × schemes → one table row per (instance, K, law).

A sweep spec (a dict, or a JSON / TOML file) reads::

    {
      "name": "my-sweep",
      "seed": 2025,
      "families": [
        {"family": "dirichlet", "grid": {"n": [4, 8], "alpha": [0.3, 1.0]}, "replicates": 3},
        {"family": "temperature", "params": {"n": 16}, "grid": {"T_d": [0.7, 1.3], "top_k": [2, 8]}},
        {"family": "file", "params": {"path": "my_instance.npy"}}
      ],
      "k": [2, 4],
      "laws": ["independent", "without_replacement"],
      "schemes": ["specinfer", "spectr", "sir"]
    }

``grid`` values are lists (their Cartesian product is swept), ``params`` are fixed; ``replicates`` random
draws are taken per grid point (default 1). Replicate ``r`` of family entry ``i`` is drawn with the seed
``derive_seed(seed, i, r)`` at every grid point (common random numbers: the rows for ``top_k = 2`` and
``top_k = 8`` truncate the same logits, the rows for ``T_d = 0.7`` and ``1.3`` cool the same logits). The
seed is recorded in each row: the same spec gives the same table, and one row is rebuilt by
``family_point(row["family"], params, row["seed"]).draw(row["k"])``.

Columns (a scheme's columns are prefixed by its name):

* ``family``, the family's parameters, ``replicate``, ``seed``, ``n``, ``k``, ``law``;
* ``status``: ``"ok"``, or why the row could not be computed (e.g. a truncated draft that cannot draw ``K``
  distinct tokens without replacement) — such rows are reported, the sweep goes on;
* ``optimal_acceptance`` (``P*``, docs/theory.md §3) and ``cut_set`` (its certificate ``S``);
* ``<scheme>.membership_acc``: ``Pr[Y ∈ {X_1..X_K}]`` (docs/theory.md §1);
* ``<scheme>.sd_acc``: ``Σ_y min(q(y), p_I(y))``, the speculative-sampling acceptance (IS family only);
* ``<scheme>.gap``: ``P* - membership_acc``;
* ``<scheme>.exactness_error``: ``max_y |Σ_x P(x) π(y|x) - q(y)|`` of the scheme's output law;
* ``upper_bound``: SpecTr's bound ``Σ_y min(q(y), Pr(y ∈ set(X)))`` when ``"upper_bound"`` is listed;
* ``notes``: what could not be evaluated on an ``ok`` row, with the reason (a scheme that does not apply to the
  row's law, ``K`` or drafts; a scheme beyond its enumeration limit);
* ``error``: only on rows whose computation raised an unexpected exception (``status = "error"``).

``run_sweep(spec, engine="dask")`` runs the rows on a Dask cluster (:mod:`lpspec.distributed`), with the same
table bit for bit; ``checkpoint=`` / ``resume=`` keep finished rows across an interrupted run.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.instance import LAWS, MAX_K, make_instance
from ..core.progress import progress  # noqa: F401  (re-exported: lpspec.experiments.sweep.progress)
from ..core.results import LPSolveError
from ..io.export import Table
from ..registry import COMPARED, SCHEME_SPECS, SWEEP_SCHEMES, acceptance_column
from ..solvers.optimum import optimum_for
from .families import FAMILIES, derive_seed, family_point

__all__ = [
    "DEFAULT_SCHEMES",
    "FamilyGrid",
    "SweepSpec",
    "builtin_spec_names",
    "evaluate_instance",
    "load_spec",
    "parse_spec",
    "progress",
    "run_sweep",
    "scheme_columns",
    "sweep_jobs",
    "sweep_row",
]

#: Schemes swept when the spec names none.
DEFAULT_SCHEMES = SWEEP_SCHEMES


@dataclass(frozen=True)
class FamilyGrid:
    """One ``families`` entry of a spec: a family, fixed parameters, a parameter grid, replicates.

    Examples
    --------
    >>> FamilyGrid("zipf", {"n": 5}, {"a": [1.0, 2.0]}).points()
    [{'n': 5, 'a': 1.0}, {'n': 5, 'a': 2.0}]
    """

    family: str
    params: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    replicates: int = 1

    def points(self) -> list[dict]:
        """The parameter dicts of the grid (fixed parameters merged in), in a fixed order."""
        keys = list(self.grid)
        combos = itertools.product(*(self.grid[k] for k in keys)) if keys else [()]
        return [{**self.params, **dict(zip(keys, combo))} for combo in combos]


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec (see the module docstring).

    Attributes
    ----------
    families : tuple of FamilyGrid
    k : tuple of int
    laws : tuple of str
    schemes : tuple of str
    seed : int
    name : str
    base_dir : str
        Directory against which relative ``path`` parameters are resolved.

    Examples
    --------
    >>> spec = SweepSpec((FamilyGrid("dirichlet", {"n": 3}),), k=(2, 4), seed=5)
    >>> spec.to_dict()["k"], spec.to_dict()["seed"]
    ([2, 4], 5)
    """

    families: tuple
    k: tuple = (2,)
    laws: tuple = ("independent",)
    schemes: tuple = DEFAULT_SCHEMES
    seed: int = 0
    name: str = "sweep"
    description: str = ""
    base_dir: str = "."

    def to_dict(self) -> dict:
        """The spec as plain JSON-able data (what :func:`parse_spec` reads back)."""
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "families": [{"family": f.family, "params": f.params, "grid": f.grid, "replicates": f.replicates}
                         for f in self.families],
            "k": list(self.k),
            "laws": list(self.laws),
            "schemes": list(self.schemes),
        }


def _as_list(value, what: str) -> list:
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"{what} is an empty list; give at least one value.")
        return list(value)
    return [value]


def parse_spec(obj: dict, base_dir: str | Path = ".") -> SweepSpec:
    """Validate a sweep spec given as a dict (the module docstring shows the keys).

    Raises
    ------
    ValueError
        Unknown keys, families, laws or schemes; malformed grids; missing seed with random families.

    Examples
    --------
    >>> spec = parse_spec({"seed": 1, "families": [{"family": "dirichlet", "grid": {"n": [3, 4]}}], "k": [2]})
    >>> [len(f.points()) for f in spec.families], spec.k
    ([2], (2,))
    """
    if not isinstance(obj, dict):
        raise ValueError("a sweep spec must be an object (JSON) or a table (TOML) with a 'families' list.")
    known = {"name", "description", "seed", "families", "k", "laws", "schemes"}
    unknown = set(obj) - known
    if unknown:
        raise ValueError(f"the sweep spec has unknown keys {', '.join(sorted(unknown))}; known keys: "
                         f"{', '.join(sorted(known))}.")
    fams = obj.get("families")
    if not isinstance(fams, list) or not fams:
        raise ValueError("the sweep spec needs 'families': a non-empty list of {family, params, grid, replicates}.")
    seed = obj.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer.")
    groups = []
    for i, f in enumerate(fams):
        if not isinstance(f, dict) or "family" not in f:
            raise ValueError(f"families[{i}] must be an object with a 'family' key ({', '.join(FAMILIES)}).")
        bad = set(f) - {"family", "params", "grid", "replicates"}
        if bad:
            raise ValueError(f"families[{i}] has unknown keys {', '.join(sorted(bad))}; use family, params, grid, "
                             "replicates.")
        params = dict(f.get("params") or {})
        grid = {key: _as_list(v, f"families[{i}].grid.{key}") for key, v in dict(f.get("grid") or {}).items()}
        reps = f.get("replicates", 1)
        if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
            raise ValueError(f"families[{i}].replicates={reps!r} must be a positive integer.")
        group = FamilyGrid(f["family"], params, grid, reps)
        for point in group.points():  # validates the family name, parameter names and values
            family_point(group.family, point, seed=0)
            if group.family == "file" and "path" in point:  # a bad file is an error now, not a row later
                from ..io.instances import load_instance_file

                load_instance_file(_resolve(point, str(base_dir))["path"])
        groups.append(group)
    ks = _as_list(obj.get("k", [2]), "k")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k={k!r} must be a positive integer (the number of drafts).")
        if k > MAX_K:
            raise ValueError(f"k={k} is larger than {MAX_K} (2^53), the largest number of drafts lpspec evaluates.")
    laws = _as_list(obj.get("laws", ["independent"]), "laws")
    for law in laws:
        if law not in LAWS:
            raise ValueError(f"law {law!r} is not a draft law; choose from {', '.join(LAWS)}.")
    schemes = obj.get("schemes", list(DEFAULT_SCHEMES))
    if schemes == "all":
        schemes = list(_scheme_names())
    schemes = _as_list(schemes, "schemes")
    known_schemes = _scheme_names()
    for s in schemes:
        if s not in known_schemes:
            raise ValueError(f"scheme {s!r} is not known; choose from {', '.join(known_schemes)} (or \"all\").")
    return SweepSpec(tuple(groups), tuple(ks), tuple(laws), tuple(schemes), seed, str(obj.get("name", "sweep")),
                     str(obj.get("description", "")), str(base_dir))


def builtin_spec_names() -> list[str]:
    """Names of the sample sweep specs shipped in ``lpspec/examples/`` (usable wherever a spec path is).

    Examples
    --------
    >>> builtin_spec_names()
    ['sweep-small', 'sweep-temperature']
    """
    from importlib import resources

    entries = (resources.files("lpspec") / "examples").iterdir()
    return sorted(e.name.rsplit(".", 1)[0] for e in entries
                  if e.name.startswith("sweep") and e.name.endswith((".json", ".toml")))


def load_spec(path) -> SweepSpec:
    """Read a sweep spec from a ``.json`` or ``.toml`` file, or a built-in spec name (e.g. ``sweep-small``).

    Relative ``path`` parameters of ``file`` families are resolved against the spec file's directory.

    Examples
    --------
    >>> spec = load_spec("sweep-small")
    >>> spec.k, spec.laws
    ((2, 3), ('independent', 'without_replacement'))
    """
    from ..io.instances import example_path

    p = Path(path)
    if not p.is_file():
        try:
            entry = example_path(str(path))
        except ValueError:
            raise ValueError(f"sweep spec {str(path)!r} is neither a file nor a built-in spec name "
                             f"({', '.join(builtin_spec_names())}).") from None
        text, suffix, base = entry.read_text(encoding="utf-8"), Path(entry.name).suffix, "."
    else:
        text, suffix, base = p.read_text(encoding="utf-8"), p.suffix.lower(), str(p.parent)
    if suffix == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            raise ValueError("reading TOML specs needs Python 3.11+ (tomllib); use a JSON spec.") from None
        try:
            obj = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML ({exc}).") from None
        except RecursionError:  # arrays nested thousands deep
            raise ValueError(f"{path}: TOML nested too deep (a sweep spec needs 3 levels).") from None
    elif suffix == ".json":
        from ..io.untrusted import loads_json

        obj = loads_json(text, str(path))  # nesting depth and number sizes checked before parsing
    else:
        raise ValueError(f"sweep spec {str(path)!r}: use a .json or .toml file.")
    return parse_spec(obj, base)


# ---------------------------------------------------------------------- per-instance evaluation
def _scheme_names() -> tuple[str, ...]:
    return COMPARED


def scheme_columns(scheme: str) -> list[str]:
    """The column names of one scheme: membership acceptance, SD acceptance, gap, exactness error.

    Examples
    --------
    >>> scheme_columns("sir")
    ['sir.membership_acc', 'sir.sd_acc', 'sir.gap', 'sir.exactness_error']
    """
    spec = SCHEME_SPECS.get(scheme)
    if spec is not None and spec.kind == "bound":
        return [acceptance_column(scheme)]
    return [f"{scheme}.membership_acc", f"{scheme}.sd_acc", f"{scheme}.gap", f"{scheme}.exactness_error"]


def evaluate_instance(inst, schemes) -> dict:
    """Optimum and every scheme's acceptances, gap and exactness error on one instance (one table row).

    Parameters
    ----------
    inst : Instance
    schemes : sequence of str
        Names of :data:`lpspec.schemes.SCHEMES`, or ``"upper_bound"`` (SpecTr's bound
        ``Σ_y min(q(y), Pr(y ∈ set(X)))``, column ``upper_bound``). A scheme that does not apply
        to the instance (e.g. SpecTr with different drafts) gets empty cells and a line in ``notes``.

    Returns
    -------
    dict
        ``optimal_acceptance``, ``cut_set`` and the columns of :func:`scheme_columns` for each scheme.

    Examples
    --------
    >>> from lpspec import make_instance
    >>> row = evaluate_instance(make_instance(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2), ["specinfer"])
    >>> round(row["optimal_acceptance"], 12), round(row["specinfer.membership_acc"], 12), row["cut_set"]
    (0.69, 0.64, '{0}')
    """
    from ..schemes import SCHEMES, ImportanceScheme

    opt = optimum_for(inst)
    best = float(opt.value)
    row = {"optimal_acceptance": best, "cut_set": "{" + ",".join(map(str, opt.cut_set)) + "}"}
    notes = []
    for name in schemes:
        spec = SCHEME_SPECS.get(name)
        if spec is not None and spec.kind == "bound":
            row[acceptance_column(name)] = float(spec.load("exact")(inst))
            continue
        cls = SCHEMES[name]
        why = cls.why_not(inst)
        if why is not None:  # empty cells, and the reason in notes (nothing left out silently)
            notes.append(f"{name}: does not apply: {why}")
            continue
        try:
            scheme = cls(inst)
            member = float(scheme.acceptance)
        except ValueError as exc:  # e.g. too many draft tuples to enumerate
            notes.append(f"{name}: {exc}")
            continue
        row[f"{name}.membership_acc"] = member
        if isinstance(scheme, ImportanceScheme):
            row[f"{name}.sd_acc"] = float(scheme.sd_acceptance)
        row[f"{name}.gap"] = best - member
        try:
            row[f"{name}.exactness_error"] = float(scheme.output_error())
        except ValueError as exc:
            notes.append(f"{name} exactness: {exc}")
    if notes:
        row["notes"] = "; ".join(notes)
    return row


def _param_columns(spec: SweepSpec) -> list[str]:
    cols: list[str] = []
    for group in spec.families:
        for key in list(group.params) + list(group.grid):
            if key not in cols and key != "n":
                cols.append(key)
    return cols


def _resolve(params: dict, base_dir: str) -> dict:
    if "path" in params and not Path(params["path"]).is_absolute():  # absolute: workers may run elsewhere
        return {**params, "path": os.path.abspath(Path(base_dir) / params["path"])}
    return params


def _cell(value):
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return value


def sweep_row(job: tuple) -> list[dict]:
    """One sweep row from its job ``(identifying cells, family point, k, law, schemes)``: the sweep's task.

    A module-level function of picklable data, so that :func:`lpspec.distributed.map_tasks` runs it in this
    process or on a Dask worker with the same result (the point carries its seed). Returns ``[row]``.
    """
    head, point, k, law, schemes = job
    row = dict(head)
    try:
        drawn = point.draw(k)
        inst = make_instance(**drawn.kwargs(k=k, law=law))
        row["n"] = inst.n
        row.update(evaluate_instance(inst, schemes))
        row["status"] = "ok"
    except (ValueError, LPSolveError) as exc:
        row["status"] = f"not computed: {exc}"
    return [row]


def _sweep_error_row(job: tuple, message: str) -> list[dict]:
    return [{**job[0], "status": "error", "error": message}]


def _sweep_rows(jobs: list) -> list[dict]:
    """The rows of several jobs (one task of ``chunk_size`` rows); a job that raises gets its error row."""
    rows = []
    for job in jobs:
        try:
            rows += sweep_row(job)
        except Exception as exc:  # noqa: BLE001 - the other rows of the task go on
            rows += _sweep_error_row(job, f"{type(exc).__name__}: {exc}")
    return rows


def _sweep_error_rows(jobs: list, message: str) -> list[dict]:
    return [row for job in jobs for row in _sweep_error_row(job, message)]


def _sweep_check(jobs: list, rows: list):
    """Whether checkpointed ``rows`` are those of ``jobs``: one row per job carrying its identifying cells."""
    from ..checkpoint import rows_match

    return rows_match([dict(job[0]) for job in jobs], rows)


def sweep_jobs(spec: SweepSpec) -> list[tuple]:
    """The jobs of a sweep, in table order: one :func:`sweep_row` argument per instance × K × law."""
    param_cols = _param_columns(spec)
    jobs = []
    for gi, group in enumerate(spec.families):
        for params in group.points():
            reps = group.replicates if group.family in ("dirichlet", "zipf", "temperature") else 1
            for rep in range(reps):
                seed = derive_seed(spec.seed, gi, rep)
                point = family_point(group.family, _resolve(params, spec.base_dir), seed)
                for k in spec.k:
                    for law in spec.laws:
                        head = {"family": group.family,
                                **{c: _cell(params.get(c)) for c in param_cols if c in params},
                                "replicate": rep, "seed": point.seed, "k": k, "law": law}
                        jobs.append((head, point, k, law, tuple(spec.schemes)))
    return jobs


def run_sweep(spec, progress_bar: bool | None = None, *, engine: str | None = None, scheduler=None,
              workers: int | None = None, checkpoint=None, resume: bool = False, chunk_size: int = 1) -> Table:
    """Run a sweep and return its table (one row per instance × K × law).

    Parameters
    ----------
    spec : SweepSpec, dict, or path
        A parsed spec, a dict for :func:`parse_spec`, or a file / built-in name for :func:`load_spec`.
    progress_bar : bool, optional
        Show a tqdm bar; default: only when stderr is a terminal and tqdm is installed.
    engine : {"serial", "dask"}, optional
        ``"serial"`` (default) runs the rows one after the other here; ``"dask"`` runs them on a Dask cluster
        (:mod:`lpspec.distributed`). The table is the same, bit for bit, and in the same row order.
    scheduler : str or distributed.Client, optional
        Address of a running Dask scheduler (``"tcp://host:8786"``); default: an embedded LocalCluster
        with one worker process per core, closed afterwards.
    workers : int, optional
        Worker processes of the embedded cluster.
    checkpoint : path-like, optional
        Append each finished row to this JSON-lines file as it arrives.
    resume : bool
        Continue from ``checkpoint``: rows already there are not computed again.
    chunk_size : int
        Rows per task (default 1). Larger tasks spread the per-task cost of a cluster (a few milliseconds)
        over sweeps of many fast rows; the table does not depend on it.

    Returns
    -------
    Table
        Columns as in the module docstring; ``metadata`` holds the spec (with its seed) and the lpspec
        version, so the table can be regenerated. A row whose computation raised an unexpected exception has
        ``status = "error"`` and the exception in an ``error`` column; the other rows are unaffected.

    Examples
    --------
    >>> t = run_sweep({"seed": 3, "families": [{"family": "dirichlet", "grid": {"n": [3]}}],
    ...                "k": [2], "schemes": ["specinfer"]})
    >>> len(t), t.rows[0]["status"]
    (1, 'ok')
    """
    from .._version import __version__
    from ..distributed import fingerprint, map_tasks

    if isinstance(spec, dict):
        spec = parse_spec(spec)
    elif not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    jobs = sweep_jobs(spec)
    param_cols = _param_columns(spec)
    columns = ["family", *param_cols, "replicate", "seed", "n", "k", "law", "status", "optimal_acceptance",
               "cut_set"]
    for name in spec.schemes:
        columns += scheme_columns(name)
    columns += ["notes", "error"]
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be a positive integer (sweep rows per task).")
    tasks = [jobs[a:a + chunk_size] for a in range(0, len(jobs), chunk_size)]
    run = map_tasks(_sweep_rows, tasks, engine=engine, scheduler=scheduler, workers=workers, checkpoint=checkpoint,
                    resume=resume, run_id=fingerprint("sweep", spec.to_dict(), os.path.abspath(spec.base_dir),
                                                      chunk_size, __version__),
                    on_error=_sweep_error_rows, progress_bar=progress_bar, desc=spec.name,
                    check_rows=_sweep_check)
    rows = run.rows
    used = [c for c in columns if c in ("family", "status") or any(r.get(c) is not None for r in rows)]
    meta = {"spec": spec.to_dict(), "lpspec_version": __version__,
            "acceptance": "membership: Pr[Y in {X_1..X_K}] (docs/theory.md §1); sd_acc: sum_y min(q, p_I)"}
    return Table(used, rows, meta)


def finite_mean(values) -> float:
    """Mean of the finite, non-None values (NaN when there are none).

    Examples
    --------
    >>> finite_mean([0.5, None, float("nan"), 1.0])
    0.75
    """
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return math.fsum(vals) / len(vals) if vals else float("nan")
