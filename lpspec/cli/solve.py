"""``lpspec solve``: one instance — P*, its certificate, the theorem checks, every scheme's acceptance.

The instance is built once and P* computed once; the checks (:mod:`lpspec.theory.checks`) and the scheme comparison
(:func:`lpspec.schemes.compare.compare_schemes_for`) reuse both. The text report is a list of sections
(:data:`SECTIONS`), the JSON object a dict built by :func:`solve_report`; a new section is one function added to
each.
"""

from __future__ import annotations

from fractions import Fraction

from ..core.arith import arith_of
from ._common import (
    CLIError,
    add_instance_options,
    add_list_option,
    add_output_option,
    cli_words,
    dumps,
    emit_text,
    exact_str,
    instance_from_args,
    note,
    wants_json,
)

NAME = "solve"
HELP = "one instance: P*, its certificate, theorem checks, scheme acceptances"


def register(sub):
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_instance_options(p)
    add_list_option(p, "--schemes", help="only these schemes, e.g. --schemes spectr sir (default: every one that "
                    "can be computed; the others are listed as not computed)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (exact values also as fraction strings, keys *_exact)")
    add_output_option(p, "the report (JSON when PATH ends in .json)")
    p.set_defaults(func=run)
    return p


def _value(v) -> str:
    if isinstance(v, Fraction):
        return str(v) if v.denominator == 1 else f"{v} ≈ {float(v):.12g}"
    return f"{float(v):.12g}"


def _vec(values, head: int = 8) -> str:
    """``(v0, v1, ...)``; long vectors show their first ``head`` entries and the length."""
    vals = list(values)
    fmt = [arith_of(v).text(v, ".6g") for v in vals[: head if len(vals) > head + 4
                                                                                  else len(vals)]]
    more = f", ... {len(vals) - head} more" if len(vals) > head + 4 else ""
    return "(" + ", ".join(fmt) + more + ")"


def _set(cut) -> str:
    return "{" + ", ".join(str(i) for i in cut) + "}"


def solve_report(inst, label: str, description: str, schemes=None) -> dict:
    """Everything ``lpspec solve`` reports, computed once: ``optimum``, ``checks``, ``comparison``."""
    from ..schemes.compare import compare_schemes_for
    from ..solvers.optimum import optimum_for
    from ..theory.checks import theorem_checks

    opt = optimum_for(inst)
    checks = theorem_checks(inst, opt)
    try:
        comparison = compare_schemes_for(inst, schemes, optimum=opt)
    except ValueError as exc:  # name the CLI option, not the keyword argument
        raise CLIError(str(exc).replace("schemes: ", "--schemes: ", 1)) from None
    return {"instance": inst, "label": label, "description": description, "optimum": opt, "checks": checks,
            "comparison": comparison}


# ---------------------------------------------------------------------- JSON
def to_json(report) -> dict:
    """The JSON object of ``lpspec solve --json``: floats, and beside them ``*_exact`` fraction strings for values
    that are exact rationals (a SpecTr value on exact input is a bisection, so it has no exact string)."""
    from ..registry import SCHEME_FACTS
    from ..theory.checks import describe_check

    opt, comparison = report["optimum"], report["comparison"]
    obj = {"optimal_acceptance": float(opt.value), "optimal_acceptance_exact": exact_str(opt.value),
           "cut_set": list(opt.cut_set),
           "schemes": {name: float(v) for name, v in comparison.items()},
           "schemes_exact": {name: exact_str(v) for name, v in comparison.items()
                             if exact_str(v) is not None and SCHEME_FACTS[name].exact},
           "not_computed": dict(comparison.not_computed),
           "checks": report["checks"]}
    if exact_str(opt.value) is not None:  # only an exact optimum has its rational in the report
        report["checks"]["certificate"]["exact_value"] = exact_str(opt.value)
    for key, c in report["checks"].items():
        c["verdict"] = describe_check(key, c)
    return obj


# ---------------------------------------------------------------------- text sections
def _instance_lines(report):
    inst = report["instance"]
    lines = [f"Instance: {report['label']} ({inst.describe()})"]
    if report["description"]:
        lines.append(f"  {report['description']}")
    lines.append(f"  target q = {_vec(inst.target)}  (tokens 0..{inst.n - 1})")
    if inst.identical:
        lines.append(f"  draft  p = {_vec(inst.draft)}")
    else:
        # drafts are numbered 1..K like X_1..X_K (token indices are the 0-based ones)
        lines += [f"  draft p_{i + 1} = {_vec(row)}" for i, row in enumerate(inst.drafts)]
    return lines


def _optimum_lines(report):
    opt = report["optimum"]
    return [f"Optimal acceptance P* = {_value(opt.value)}   [{opt.method}]",
            (f"Certificate S = {_set(opt.cut_set)}: q(S) + 1 - Pr(set(X) ⊆ S) = {_value(opt.cut_value)}; "
             "no exact scheme accepts more.")]


def _check_lines(report):
    from ..theory.checks import CHECK_TITLES, describe_check

    lines = ["Checks:"]
    for key, c in report["checks"].items():
        lines.append(f"  {CHECK_TITLES.get(key, key)}: {describe_check(key, c)}")
    return lines


def _scheme_lines(report):
    comparison = report["comparison"]
    lines = ["Schemes (membership acceptance Pr[Y ∈ {X_1..X_K}]):"]
    for name, v in sorted(comparison.items(), key=lambda kv: -float(kv[1])):
        lines.append(f"  {name:<14} {float(v):.10f}")
    for name, why in comparison.not_computed.items():
        if why != "not requested":
            lines.append(f"  {name:<14} not computed: {cli_words(why)}")
    return lines


#: The text report, in order; each function maps the report dict to lines.
SECTIONS = [_instance_lines, _optimum_lines, _check_lines, _scheme_lines]


def run(args) -> int:
    from ..core.instance import make_instance

    kw, label, description = instance_from_args(args)
    inst = make_instance(**kw)
    report = solve_report(inst, label, description, args.schemes)
    heavy = [n for n, why in report["comparison"].not_computed.items() if "draft tuples" in why]
    if heavy:
        note(f"not computed: {', '.join(heavy)} (they enumerate {inst.tuple_count_text()} draft tuples; see the "
             "report)")
    if wants_json(args):
        emit_text(dumps(to_json(report)), args, "the JSON report")
    else:
        emit_text("\n".join(line for section in SECTIONS for line in section(report)), args, "the report")
    return 0
