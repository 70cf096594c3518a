"""``lpspec check``: the theorem checks on one instance or on a random batch; exit code 1 when one fails."""

from __future__ import annotations

from ._common import (
    CLIError,
    add_instance_options,
    add_output_option,
    dumps,
    emit_text,
    instance_from_args,
    positive_int,
    wants_json,
)

NAME = "check"
HELP = "theorem checks on one instance or a random batch: how many hold as predicted, worst errors"


def register(sub):
    p = sub.add_parser(NAME, help=HELP, description=HELP + " (exit code 1 when a check fails)")
    add_instance_options(p)
    p.add_argument("--random", type=positive_int, metavar="N", help="check N random Dirichlet instances instead")
    p.add_argument("--n", type=positive_int, default=4, help="vocabulary size of random instances (default 4)")
    p.add_argument("--alpha", type=float, default=1.0, help="Dirichlet concentration (default 1.0)")
    p.add_argument("--different-drafts", action="store_true", help="random instances with K different drafts")
    p.add_argument("--seed", type=int, default=0, help="seed of the random batch (default 0)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_output_option(p, "the summary (JSON when PATH ends in .json)")
    p.set_defaults(func=run)
    return p


def _instances(args):
    from ..core.instance import make_instance
    from ..experiments.families import derive_seed, draw_instance

    if args.random is None:
        kw, label, _ = instance_from_args(args)
        return [(label, make_instance(**kw))]
    if any(x is not None for x in (args.example, args.file, args.target)):
        raise CLIError("--random draws its own instances; drop --example/--file/--target.")
    if args.random < 1:
        raise CLIError(f"--random {args.random} must be at least 1.")
    params = {"n": args.n, "alpha": args.alpha}
    if args.different_drafts:
        params["different_drafts"] = True
    k = 2 if args.k is None else args.k
    out = []
    for i in range(args.random):
        seed = derive_seed(args.seed, i)
        spec = draw_instance("dirichlet", params, seed, k)
        try:
            out.append((f"dirichlet seed={seed}", make_instance(**spec.kwargs(k=k, law=args.law or "independent"))))
        except ValueError as exc:
            raise CLIError(f"instance {i} (seed {seed}): {exc}") from None
    return out


def theorem_checks(inst):
    """The checks of one instance (a module attribute, so tests can substitute a broken one)."""
    from ..theory.checks import theorem_checks as checks

    return checks(inst)


def run(args) -> int:
    from ..experiments.sweep import progress
    from ..theory.checks import CHECK_TITLES

    instances = _instances(args)
    summary: dict = {}
    failures = []
    as_json = wants_json(args)
    for label, inst in progress(instances, total=len(instances), desc="check", enabled=False if as_json else None):
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
    if as_json:
        emit_text(dumps({"instances": len(instances), "passed": ok, "checks": summary, "failures": failures}), args,
                  "the JSON summary")
    else:
        verdict = "every check holds, as predicted" if ok else f"{len(failures)} check(s) FAILED"
        lines = [f"{len(instances)} instance(s): {verdict}",
                 f"  {'check':<38} {'applied':>8} {'held':>6} {'failed':>7} {'worst error':>12}"]
        for key, s in summary.items():
            worst = f"{s['worst_error']:>12.3g}" if s["applied"] else f"{'n/a':>12}"
            lines.append(f"  {CHECK_TITLES.get(key, key):<38} {s['applied']:>8} {s['passed']:>6} {s['failed']:>7} "
                         f"{worst}")
        lines += [f"  FAILED {f['check']} on {f['instance']} (error {f['error']:.3g})" for f in failures[:10]]
        emit_text("\n".join(lines), args, "the summary")
    return 0 if ok else 1
