"""The ``lpspec`` command line: ``solve``, ``check``, ``table``, ``figure`` and ``examples``.

::

    lpspec solve --example figure2-left
    lpspec solve --target 0.2,0.3,0.5 --draft 0.5,0.3,0.2 -k 2 --json
    lpspec solve --target 1/10,1/5,1/10,3/5 --draft 4/5,0,1/5,0 --draft 1/10,3/10,0,3/5
    lpspec check --random 50 --n 4 -k 3 --seed 1
    lpspec table sweep-small --format latex --output table.tex
    lpspec figure figure2 --output-dir figures/

Distributions are comma lists (``0.2,0.3,0.5``; fractions such as ``1/3`` make every distribution of the
instance exact), files holding one vector (``.npy``, ``.json``, ``.csv``), whole instance files (``--file``)
or built-in examples (``--example``; ``lpspec examples`` lists them). ``--draft`` once with ``-k K`` means K
identical drafts; ``--draft`` given K times means K different drafts.

Every error is one line ``lpspec: error: ...`` on stderr and exit code 2; ``check`` exits with 1 when a
check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = ["CHECK_TOLERANCE", "MAX_CHECK_TUPLES", "build_parser", "main", "parse_distribution", "theorem_checks"]

#: Float tolerance of the theorem checks (values from different formulas or LPs must agree to it).
CHECK_TOLERANCE = 1e-9
#: Largest number of draft tuples for the LP-based checks (Theorem 1, the LP cross-check of the optimum).
MAX_CHECK_TUPLES = 50_000
#: Largest vocabulary for the Theorem 3 check (its prefix evaluation is quadratic in n).
MAX_THEOREM3_N = 4096

_PROG = "lpspec"


class _CLIError(ValueError):
    """A user error detected by the command line itself."""


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``-k 0`` is an error, not "the default")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be a positive integer (at least 1)")
    return value


# ---------------------------------------------------------------------- reading instances
def _parse_number(text: str):
    text = text.strip()
    if not text:
        raise _CLIError("an empty entry in a comma list; write e.g. 0.2,0.3,0.5.")
    if "/" in text:
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise _CLIError(f"{text!r} is not a fraction like 1/3.") from None
    try:
        return float(text)
    except ValueError:
        raise _CLIError(f"{text!r} is not a number.") from None


def parse_distribution(text: str, name: str = "distribution"):
    """A vector from a comma list (``"0.2,0.3,0.5"``, ``"1/3,2/3"``) or a file holding one vector.

    Files: ``.npy`` (1-D array), ``.json`` (a list), ``.csv``/``.txt`` (numbers separated by commas or
    newlines). Returns a list of floats, or of Fractions when any entry is written as a fraction.

    Examples
    --------
    >>> parse_distribution("0.25,0.75")
    [0.25, 0.75]
    >>> parse_distribution("1/3, 2/3")
    [Fraction(1, 3), Fraction(2, 3)]
    """
    path = Path(text)
    if "," not in text and path.suffix.lower() in (".npy", ".json", ".csv", ".txt"):
        if not path.is_file():
            raise _CLIError(f"{name}: file {text!r} does not exist.")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            try:
                arr = np.load(path, allow_pickle=False)
            except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file, named here
                raise _CLIError(f"{name}: {text} is not a readable .npy file ({type(exc).__name__}: {exc}).") from None
            if arr.dtype.kind not in "fiu":
                raise _CLIError(f"{name}: {text} holds {arr.dtype} values; probabilities must be real numbers.")
            if arr.ndim != 1:
                raise _CLIError(f"{name}: {text} holds an array of shape {arr.shape}; expected one 1-D vector "
                               "(use --file for a whole instance).")
            return [float(v) for v in arr]
        if suffix == ".json":
            try:
                obj = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise _CLIError(f"{name}: {text} is not valid JSON ({exc}).") from None
            if not isinstance(obj, list):
                raise _CLIError(f"{name}: {text} must hold a JSON list of probabilities (use --file for an "
                               "instance object).")
            return parse_distribution(",".join(str(v) for v in obj), name)
        body = path.read_text(encoding="utf-8").replace("\n", ",").replace(";", ",")
        return parse_distribution(",".join(c for c in body.split(",") if c.strip()), name)
    values = [_parse_number(c) for c in text.split(",")]
    if any(isinstance(v, Fraction) for v in values):
        values = [v if isinstance(v, Fraction) else Fraction(str(v)) for v in values]
    return values


def _exactify(vectors):
    return [[v if isinstance(v, Fraction) else Fraction(str(v)) for v in vec] for vec in vectors]


def _instance_from_args(args):
    """``(make_instance kwargs, label)`` from --example / --file / --target + --draft."""
    from .families import load_example, load_instance_file

    sources = sum(x is not None for x in (args.example, args.file, args.target))
    if sources != 1:
        raise _CLIError("give exactly one instance: --example NAME, --file PATH, or --target ... --draft ...")
    if args.example is not None or args.file is not None:
        if args.draft:
            raise _CLIError("--draft goes with --target, not with --example or --file.")
        spec = load_example(args.example) if args.example is not None else load_instance_file(args.file)
        kw = spec.kwargs(k=args.k if args.k is not None else spec.k, law=args.law or spec.law)
        label = spec.name
        description = spec.description
    else:
        if not args.draft:
            raise _CLIError("--target needs --draft (once with -k K for identical drafts, or K times).")
        target = parse_distribution(args.target, "--target")
        drafts = [parse_distribution(d, "--draft") for d in args.draft]
        vectors = [target, *drafts]
        if args.exact or any(isinstance(v, Fraction) for vec in vectors for v in vec):
            vectors = _exactify(vectors)
        target, drafts = vectors[0], vectors[1:]
        law = args.law or "independent"
        if len(drafts) == 1:
            if args.k is None:
                raise _CLIError("one --draft needs -k K (the number of identical drafts); or give --draft K times.")
            kw = {"target": target, "drafts": drafts[0], "k": args.k, "law": law}
        else:
            if args.k is not None and args.k != len(drafts):
                raise _CLIError(f"-k {args.k} disagrees with the {len(drafts)} --draft values given; drop -k.")
            kw = {"target": target, "drafts": drafts, "k": None, "law": law}
        label, description = "command line", ""
    if getattr(args, "exact", False) and args.target is None:
        kw["target"] = _exactify([kw["target"]])[0]
        if isinstance(kw["drafts"], list) and kw["drafts"] and isinstance(kw["drafts"][0], (list, np.ndarray)):
            kw["drafts"] = _exactify(kw["drafts"])
        else:
            kw["drafts"] = _exactify([kw["drafts"]])[0]
    return kw, label, description


# ---------------------------------------------------------------------- theorem checks
def _num(value):
    """JSON-friendly number: a float (exact values also as a string in the caller when useful)."""
    return None if value is None else float(value)


def _fmt(value) -> str:
    if isinstance(value, Fraction):
        return str(value) if value.denominator == 1 else f"{value} ≈ {float(value):.12g}"
    return f"{float(value):.12g}"


def _set_str(cut) -> str:
    return "{" + ", ".join(str(i) for i in cut) + "}"


def _too_large(inst) -> str:
    return (f"{inst.tuple_count_text()} draft tuples, more than the {MAX_CHECK_TUPLES:,} of the LP-based checks "
            "(the optimum itself is still exact: min-cut formula)")


def theorem_checks(inst, optimum=None) -> dict:
    """Run the theorem checks on one instance and report each as ``{"applies", "passed", "error", ...}``.

    * ``certificate``: the cut ``S`` reproduces ``P*`` (``q(S) + 1 - Pr(set(X) ⊆ S)``); for exact inputs an
      exact max-flow equals it (:func:`lpspec.certify`), for floats the edge/merged LP (HiGHS) agrees.
    * ``theorem1``: the canonical decomposition (IS selection + speculative sampling) reaches ``P*`` with
      ``Σ min(q, p_I)`` and its output law is ``q``.
    * ``theorem2``: ``acceptance_one`` (``q(S) >= Pr(set(X) ⊆ S)`` for all ``S``) holds iff ``P* = 1``.
    * ``theorem3`` (two identical independent drafts): ``min_S q(S) + p(S^c)^2 + 2p(S)p(S^c)`` and
      ``min_S q(S) + 1 - p(S)^2`` both equal ``P*``.

    ``error`` is the largest absolute disagreement (0 when exact); a check that cannot run on the instance
    (size limits, wrong K) has ``applies = False`` and a ``reason``.

    Examples
    --------
    >>> from lpspec import make_instance
    >>> checks = theorem_checks(make_instance(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2))
    >>> all(c["passed"] for c in checks.values() if c["applies"])
    True
    """
    from .certify import certify_instance
    from .decomposition import decomposition_for
    from .lp import solve_instance
    from .optimum import optimum_for
    from .theorems import acceptance_one_for, theorem3

    opt = optimum_for(inst) if optimum is None else optimum
    value = opt.value
    tol = 0.0 if inst.exact and isinstance(value, Fraction) else CHECK_TOLERANCE
    out: dict = {}

    def skip(reason):
        return {"applies": False, "passed": None, "error": None, "reason": reason}

    def diff(a, b):
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            return float(abs(a - b))
        return abs(float(a) - float(b))

    # certificate
    mask = np.zeros(inst.n, dtype=bool)
    mask[list(opt.cut_set)] = True
    cut_err = diff(inst.cut_value(mask), value)
    entry = {"applies": True, "cut_set": list(opt.cut_set), "cut_value_error": cut_err}
    try:
        if inst.num_tuples() > MAX_CHECK_TUPLES:
            raise ValueError(_too_large(inst))
        if inst.exact:
            cert = certify_instance(inst)
            cert.check()
            other, other_name = cert.value, "exact_max_flow"
        else:
            res = solve_instance(inst, form="merged" if inst.k > 2 else "edge")
            other, other_name = res.value, res.method
        entry.update(independent=other_name, independent_value=_num(other), error=max(cut_err, diff(other, value)))
    except (ValueError, AssertionError) as exc:
        entry.update(independent=None, error=cut_err, note=str(exc))
    entry["passed"] = bool(entry["error"] <= tol)
    out["certificate"] = entry

    # Theorem 1
    try:
        if inst.num_tuples() > MAX_CHECK_TUPLES:
            raise ValueError(_too_large(inst))
        dec = decomposition_for(inst)
        report = dec.check()
        err = max(diff(dec.acceptance, value), diff(dec.membership_acceptance, value),
                  float(report.get("output_error", 0.0)))
        out["theorem1"] = {"applies": True, "passed": bool(err <= max(tol, 1e-9)), "error": err,
                           "sd_acceptance": _num(dec.acceptance), "output_error": float(report["output_error"])}
    except ValueError as exc:
        out["theorem1"] = skip(str(exc))
    except AssertionError as exc:
        out["theorem1"] = {"applies": True, "passed": False, "error": float("inf"), "reason": str(exc)}

    # Theorem 2 (and its K-draft / any-law form)
    try:
        a1 = acceptance_one_for(inst)
        is_one = (value == 1) if tol == 0 else (float(value) >= 1 - a1.tolerance)
        # floats: within CHECK_TOLERANCE of 1 the two verdicts may differ by rounding alone
        borderline = tol > 0 and abs(1 - float(value)) <= CHECK_TOLERANCE
        agree = a1.holds == is_one or borderline
        out["theorem2"] = {"applies": True, "passed": bool(agree), "error": 0.0 if agree else 1.0,
                           "holds": bool(a1.holds), "optimum_is_one": bool(is_one),
                           "witness": None if a1.witness is None else list(a1.witness), "margin": _num(a1.margin)}
    except ValueError as exc:
        out["theorem2"] = skip(str(exc))

    # Theorem 3
    if not (inst.k == 2 and inst.identical and inst.law == "independent"):
        out["theorem3"] = skip("Theorem 3 is stated for K = 2 identical independent drafts")
    elif inst.n > MAX_THEOREM3_N:
        out["theorem3"] = skip(f"n = {inst.n} > {MAX_THEOREM3_N}, too large for the Theorem 3 evaluation")
    else:
        try:
            t3 = theorem3(target=inst.target, drafts=inst.draft)
            err = max(diff(t3.value, value), diff(t3.simplified, value))
            out["theorem3"] = {"applies": True, "passed": bool(err <= tol), "error": err, "value": _num(t3.value),
                               "cut_set": list(t3.cut_set)}
        except ValueError as exc:
            out["theorem3"] = skip(str(exc))
    return out


# ---------------------------------------------------------------------- sub-commands
def _schemes_for(kw, inst, requested=None) -> tuple[dict, list[str]]:
    """Membership acceptance of each applicable scheme, and notes on the schemes left out (too large)."""
    from .compare import _ENUMERATING, COMPARED, compare_schemes
    from .schemes import MAX_SCHEME_TUPLES, SCHEMES

    if requested is not None:
        return compare_schemes(**kw, schemes=requested), []
    names = [n for n in COMPARED if n == "upper_bound" or SCHEMES[n].applies_to(inst)]
    if inst.k <= 2 and "tournament" in names:
        names.remove("tournament")  # the same scheme as pairwise_is at K = 2
    notes = []
    if inst.num_tuples() > MAX_SCHEME_TUPLES:
        heavy = [n for n in names if n in _ENUMERATING]
        names = [n for n in names if n not in _ENUMERATING]
        if heavy:
            notes.append(f"left out {', '.join(heavy)}: they enumerate {inst.tuple_count_text()} draft tuples "
                         f"(limit {MAX_SCHEME_TUPLES:,})")
    return compare_schemes(**kw, schemes=names), notes


def _cmd_solve(args) -> int:
    from .instance import make_instance
    from .optimum import optimum_for

    kw, label, description = _instance_from_args(args)
    inst = make_instance(**kw)
    opt = optimum_for(inst)
    checks = theorem_checks(inst, opt)
    requested = None if args.schemes is None else [x.strip() for x in args.schemes.split(",") if x.strip()]
    values, notes = _schemes_for(kw, inst, requested)
    schemes = {name: float(v) for name, v in values.items()}
    if args.json:
        obj = {"optimal_acceptance": float(opt.value), "cut_set": list(opt.cut_set), "schemes": schemes,
               "checks": checks}
        if isinstance(opt.value, Fraction):
            checks["certificate"]["exact_value"] = str(opt.value)
        print(json.dumps(obj, indent=1, default=_json_default))
        return 0
    p_line = ("draft  p = " + _vec(inst.draft)) if inst.identical else "\n".join(
        f"draft p_{i + 1} = " + _vec(row) for i, row in enumerate(inst.drafts))
    lines = [f"Instance: {label} ({inst.describe()})"]
    if description:
        lines.append(f"  {description}")
    lines += [f"  target q = {_vec(inst.target)}", "  " + p_line.replace("\n", "\n  "),
              f"Optimal acceptance P* = {_fmt(opt.value)}   [{opt.method}]",
              (f"Certificate S = {_set_str(opt.cut_set)}: q(S) + 1 - Pr(set(X) ⊆ S) = {_fmt(opt.cut_value)}; "
               "no exact scheme accepts more."),
              "Checks:"]
    names = {"certificate": "certificate (min-cut = max-flow)", "theorem1": "Theorem 1 (canonical decomposition)",
             "theorem2": "Theorem 2 (acceptance one)", "theorem3": "Theorem 3 (K = 2 formula)"}
    for key, c in checks.items():
        lines.append(f"  {names[key]:<38} {_verdict(c)}{_detail(key, c)}")
    lines.append("Schemes (membership acceptance Pr[Y ∈ {X_1..X_K}]):")
    for name, v in sorted(schemes.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:<14} {v:.10f}")
    lines += [f"  ({note})" for note in notes]
    print("\n".join(lines))
    return 0


def _vec(values, head: int = 8) -> str:
    """``(v0, v1, ...)``; long vectors show their first ``head`` entries and the length."""
    vals = list(values)
    shown = [str(v) if isinstance(v, Fraction) else f"{float(v):.6g}" for v in vals[:head]]
    if len(vals) > head + 4:
        return "(" + ", ".join(shown) + f", ... {len(vals) - head} more)"
    return "(" + ", ".join(str(v) if isinstance(v, Fraction) else f"{float(v):.6g}" for v in vals) + ")"


def _verdict(c) -> str:
    if not c["applies"]:
        return "n/a"
    return "pass" if c["passed"] else "FAIL"


def _detail(key, c) -> str:
    if not c["applies"]:
        return f" ({c['reason']})"
    if key == "certificate":
        if c.get("independent") is None:
            return f" (cut value error {c['error']:.2g}; LP cross-check skipped: {c.get('note', '')})"
        return f" (cross-check: {c.get('independent')}, error {c['error']:.2g})"
    if key == "theorem1":
        return f" (Σ min(q, p_I) = {c['sd_acceptance']:.12g}, output error {c['output_error']:.2g})"
    if key == "theorem2":
        w = "" if c["witness"] is None else f", witness S = {_set_str(c['witness'])}"
        return f" (condition {'holds' if c['holds'] else 'fails'}{w}; P* = 1: {c['optimum_is_one']})"
    if key == "theorem3":
        return f" (formula = {c['value']:.12g}, error {c['error']:.2g})"
    return ""


def _json_default(obj):
    if isinstance(obj, Fraction):
        return str(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _cmd_check(args) -> int:
    from .families import derive_seed, draw_instance
    from .instance import make_instance

    instances = []
    if args.random is not None:
        if any(x is not None for x in (args.example, args.file, args.target)):
            raise _CLIError("--random draws its own instances; drop --example/--file/--target.")
        if args.random < 1:
            raise _CLIError(f"--random {args.random} must be at least 1.")
        params = {"n": args.n, "alpha": args.alpha}
        if args.different_drafts:
            params["different_drafts"] = True
        k = 2 if args.k is None else args.k
        for i in range(args.random):
            seed = derive_seed(args.seed, i)
            spec = draw_instance("dirichlet", params, seed, k)
            try:
                instances.append((f"dirichlet seed={seed}", make_instance(**spec.kwargs(k=k, law=args.law))))
            except ValueError as exc:
                raise _CLIError(f"instance {i} (seed {seed}): {exc}") from None
    else:
        kw, label, _ = _instance_from_args(args)
        instances.append((label, make_instance(**kw)))
    summary: dict = {}
    failures = []
    for label, inst in _progress(instances, args):
        for key, c in theorem_checks(inst).items():
            s = summary.setdefault(key, {"applied": 0, "passed": 0, "failed": 0, "worst_error": 0.0})
            if not c["applies"]:
                continue
            s["applied"] += 1
            s["passed" if c["passed"] else "failed"] += 1
            s["worst_error"] = max(s["worst_error"], float(c["error"]))
            if not c["passed"]:
                failures.append({"instance": label, "check": key, "error": c["error"]})
    ok = not failures
    if args.json:
        print(json.dumps({"instances": len(instances), "passed": ok, "checks": summary, "failures": failures},
                         indent=1, default=_json_default))
    else:
        print(f"{len(instances)} instance(s): {'all checks pass' if ok else f'{len(failures)} failure(s)'}")
        print(f"  {'check':<12} {'applied':>8} {'passed':>8} {'failed':>8} {'worst error':>12}")
        for key, s in summary.items():
            worst = f"{s['worst_error']:>12.3g}" if s["applied"] else f"{'n/a':>12}"
            print(f"  {key:<12} {s['applied']:>8} {s['passed']:>8} {s['failed']:>8} {worst}")
        for f in failures[:10]:
            print(f"  FAIL {f['check']} on {f['instance']} (error {f['error']:.3g})")
    return 0 if ok else 1


def _progress(items, args):
    from .sweep import progress

    return progress(items, total=len(items), desc="check", enabled=False if args.json else None)


def _cmd_table(args) -> int:
    from .export import format_from_path, format_table, write_table
    from .sweep import run_sweep

    table = run_sweep(args.spec, progress_bar=False if args.quiet else None)
    if args.columns:
        cols = [c.strip() for c in args.columns.split(",") if c.strip()]
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise _CLIError(f"--columns: no column {', '.join(missing)}; the table has {', '.join(table.columns)}.")
        table.columns = cols
    fmt = args.format or (format_from_path(args.output) if args.output else "csv")
    skipped = [r for r in table.rows if r.get("status") != "ok"]
    if args.output:
        write_table(table, args.output, fmt)
        print(f"wrote {len(table)} rows to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(format_table(table, fmt).rstrip("\n") + "\n")
    if skipped:
        print(f"lpspec: note: {len(skipped)} of {len(table)} rows not computed (see their status column).",
              file=sys.stderr)
    return 0


def _cmd_figure(args) -> int:
    from . import figures

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    outdir = Path(args.output_dir)
    which = ["figure2", "region", "acceptance-vs-k"] if args.which == "all" else [args.which]
    written = []
    for name in which:
        if name == "figure2":
            fig, table = figures.figure2(steps=args.steps)
        elif name == "region":
            draft = parse_distribution(args.draft, "--draft") if args.draft else [0.5, 0.3, 0.2]
            fig, table = figures.acceptance_one_region(draft, k=2 if args.k is None else args.k,
                                                       resolution=args.resolution)
        else:
            try:
                params = json.loads(args.params) if args.params else {"n": 6}
            except json.JSONDecodeError as exc:
                raise _CLIError(f"--params is not valid JSON ({exc}).") from None
            if not isinstance(params, dict):
                raise _CLIError("--params must be a JSON object, e.g. '{\"n\": 6, \"alpha\": 0.5}'.")
            ks = [int(v) if v.strip().isdigit() and int(v) >= 1 else _bad_ks(args.ks) for v in args.ks.split(",")]
            schemes = [s.strip() for s in args.schemes.split(",") if s.strip()]
            fig, table = figures.acceptance_vs_k(args.family, params, ks, schemes, args.law or "independent",
                                                 args.replicates, args.seed)
        written += figures.save_figure(fig, outdir / name.replace("-", "_"), formats, table=table)
    for p in written:
        print(p)
    return 0


def _bad_ks(text: str):
    raise _CLIError(f"--ks {text!r} must be a comma list of positive integers such as 1,2,4.")


def _cmd_examples(args) -> int:
    from .families import example_names, load_example
    from .sweep import builtin_spec_names, load_spec

    print("Example instances (lpspec solve --example NAME):")
    for name in example_names():
        print(f"  {name:<22} {load_example(name).description}")
    print("Sample sweep specs (lpspec table NAME):")
    for name in builtin_spec_names():
        print(f"  {name:<22} {load_spec(name).description}")
    return 0


# ---------------------------------------------------------------------- parser
def _add_instance_args(p):
    g = p.add_argument_group("instance (one of --example, --file, --target)")
    g.add_argument("--example", metavar="NAME", help="a built-in example (see `lpspec examples`)")
    g.add_argument("--file", metavar="PATH", help="an instance file: .json, .npy, .npz or .csv")
    g.add_argument("--target", metavar="Q", help="target q: comma list (0.2,0.3,0.5 or 1/3,2/3) or a vector file")
    g.add_argument("--draft", metavar="P", action="append", default=[],
                   help="draft p: once with -k K (identical drafts) or K times (different drafts)")
    g.add_argument("-k", type=_positive_int, default=None, help="number of identical drafts K")
    g.add_argument("--law", choices=("independent", "without_replacement", "greedy"), default=None,
                   help="draft law (default: independent, or the example's)")
    g.add_argument("--exact", action="store_true", help="read every probability as an exact fraction")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2 (argparse's own convention)
        raise _CLIError(message)


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``lpspec`` command (sub-commands ``solve``, ``check``, ``table``, ``figure``,
    ``examples``); a parse error raises ``ValueError`` (turned into one line and exit code 2 by :func:`main`).

    Examples
    --------
    >>> args = build_parser().parse_args(["solve", "--example", "figure2-left", "--json"])
    >>> args.command, args.example, args.json
    ('solve', 'figure2-left', True)
    """
    parser = _Parser(prog=_PROG, description="LP theory of multi-draft speculative sampling: optimum, "
                     "certificates, theorem checks, tables and figures.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"lpspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("solve", help="one instance: P*, its certificate, theorem checks, scheme acceptances")
    _add_instance_args(p)
    p.add_argument("--schemes", metavar="A,B,...", help="only these schemes (default: every applicable one)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: optimal_acceptance, cut_set, schemes, checks")
    p.set_defaults(func=_cmd_solve)

    p = sub.add_parser("check", help="theorem checks on one instance or a random batch: pass/fail, worst errors")
    _add_instance_args(p)
    p.add_argument("--random", type=_positive_int, metavar="N", help="check N random Dirichlet instances instead")
    p.add_argument("--n", type=_positive_int, default=4, help="vocabulary size of random instances (default 4)")
    p.add_argument("--alpha", type=float, default=1.0, help="Dirichlet concentration (default 1.0)")
    p.add_argument("--different-drafts", action="store_true", help="random instances with K different drafts")
    p.add_argument("--seed", type=int, default=0, help="seed of the random batch (default 0)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("table", help="run a sweep spec (JSON/TOML file or built-in name) and print its table")
    p.add_argument("spec", help="sweep spec file, or a built-in spec name such as sweep-small")
    p.add_argument("--format", choices=("csv", "markdown", "md", "latex", "tex", "json"), default=None,
                   help="output format (default: from --output's suffix, else csv)")
    p.add_argument("--output", "-o", metavar="PATH", help="write to a file instead of stdout")
    p.add_argument("--columns", metavar="A,B,...", help="only these columns, in this order")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_table)

    p = sub.add_parser("figure", help="regenerate figures (PNG/PDF) with their tables (CSV)")
    p.add_argument("which", choices=("figure2", "region", "acceptance-vs-k", "all"), nargs="?", default="all")
    p.add_argument("--output-dir", "-o", default="figures", help="directory for the files (default figures/)")
    p.add_argument("--formats", default="png,pdf", help="comma list of png, pdf, svg (default png,pdf)")
    p.add_argument("--steps", type=_positive_int, default=90, help="figure2: grid steps (default 90, q2 = i/steps)")
    p.add_argument("--draft", help="region: draft p on 3 tokens (default 0.5,0.3,0.2)")
    p.add_argument("-k", type=_positive_int, default=None, help="region: number of drafts (default 2)")
    p.add_argument("--resolution", type=_positive_int, default=40, help="region: simplex grid resolution (default 40)")
    p.add_argument("--family", default="dirichlet", help="acceptance-vs-k: instance family (default dirichlet)")
    p.add_argument("--params", help="acceptance-vs-k: family parameters as JSON (default {\"n\": 6})")
    p.add_argument("--ks", default="1,2,3,4", help="acceptance-vs-k: K values (default 1,2,3,4)")
    p.add_argument("--schemes", default="specinfer,spectr,sir", help="acceptance-vs-k: schemes")
    p.add_argument("--law", default=None, help="acceptance-vs-k: draft law (default independent)")
    p.add_argument("--replicates", type=_positive_int, default=10, help="acceptance-vs-k: instances per K (default 10)")
    p.add_argument("--seed", type=int, default=0, help="acceptance-vs-k: seed (default 0)")
    p.set_defaults(func=_cmd_figure)

    p = sub.add_parser("examples", help="list the built-in example instances")
    p.set_defaults(func=_cmd_examples)
    sub.add_parser("batch", add_help=False,
                   help="acceptance table of stored (B, n) distributions (.npy/.pt/.safetensors), torch backend; "
                        "`lpspec batch --help` for its options")
    return parser


def main(argv=None) -> int:
    """Entry point of the ``lpspec`` console script and ``python -m lpspec``; returns the exit code.

    Examples
    --------
    >>> main(["solve", "--target", "0.5,0.5", "--draft", "0.5,0.5", "-k", "2", "--json"]) # doctest: +ELLIPSIS
    {...
    0
    """
    from .errors import USER_ERRORS, user_error_message

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["batch"]:  # the batched backend's own table command (lpspec.batched.table)
            from .batched.table import main as batch_main

            return int(batch_main(argv[1:]))
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 2
        return int(args.func(args))
    except BrokenPipeError:  # e.g. `lpspec table spec | head`: stop quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except USER_ERRORS as exc:  # one place: every error a user can cause is one line, exit code 2
        print(f"{_PROG}: error: {user_error_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
