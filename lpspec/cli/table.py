"""``lpspec table SPEC``: run a sweep spec (a JSON/TOML file or a built-in name) and print or write its table.

``lpspec table --show NAME`` prints a built-in spec (a starting point for your own); the spec format is in
:mod:`lpspec.experiments.sweep` and docs/guide/cli.md.
"""

from __future__ import annotations

from ..distributed import add_engine_arguments, engine_options
from ._common import (
    CLIError,
    add_format_option,
    add_list_option,
    add_notes_option,
    add_output_option,
    add_progress_option,
    emit_table,
    emit_text,
    finish_engine_run,
    note,
    positive_int,
    progress_choice,
)

NAME = "table"
HELP = "run a sweep spec (JSON/TOML file or built-in name) and print its table"


def register(sub):
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("spec", nargs="?", help="sweep spec file, or a built-in spec name such as sweep-small")
    p.add_argument("--show", metavar="NAME", help="print the built-in spec NAME (or a spec file) and stop")
    add_format_option(p, "csv")
    add_output_option(p, "the table (format from the suffix: .csv, .md, .tex, .json)")
    add_list_option(p, "--columns", help="only these columns, in this order, e.g. --columns k optimal_acceptance")
    add_progress_option(p)
    add_notes_option(p)
    p.add_argument("--chunk-size", type=positive_int, default=1, metavar="ROWS",
                   help="sweep rows per task (default 1; more spreads a cluster's per-task cost)")
    add_engine_arguments(p)
    p.set_defaults(func=run)
    return p


def show_spec(name: str) -> str:
    """The text of a built-in spec (or of a spec file)."""
    from pathlib import Path

    from ..experiments.sweep import builtin_spec_names
    from ..io.instances import example_path

    path = Path(name)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    if name not in builtin_spec_names():
        raise CLIError(f"--show {name}: no built-in spec of that name; built-in specs: "
                       f"{', '.join(builtin_spec_names())}.")
    return example_path(name).read_text(encoding="utf-8")


def run(args) -> int:
    from ..experiments.sweep import run_sweep

    if args.show is not None:
        if args.spec is not None:
            raise CLIError("--show prints a spec; give either --show NAME or SPEC, not both.")
        emit_text(show_spec(args.show), args, "the spec")
        return 0
    if args.spec is None:
        raise CLIError("give a sweep spec (a file or a built-in name such as sweep-small), or --show NAME.")
    if args.chunk_size < 1:
        raise CLIError(f"--chunk-size {args.chunk_size} must be a positive integer.")
    engine = engine_options(args)
    table = run_sweep(args.spec, progress_bar=progress_choice(args), chunk_size=args.chunk_size, **engine)
    if args.columns:
        missing = [c for c in args.columns if c not in table.columns]
        if missing:
            raise CLIError(f"--columns: no column {', '.join(missing)}; the table has {', '.join(table.columns)}.")
        table.columns = list(args.columns)
    emit_table(table, args, "csv")
    skipped = [r for r in table.rows if r.get("status") != "ok"]
    if skipped:
        note(f"{len(skipped)} of {len(table)} rows not computed (see their status column).")
    partial = [r for r in table.rows if r.get("status") == "ok" and r.get("notes")]
    if partial:
        where = "their notes column" if (args.notes or "notes" in (args.columns or ())) else "--notes"
        note(f"{len(partial)} of {len(table)} rows leave some scheme out (see {where}), e.g. "
             f"{partial[0]['notes'].split('; ')[0]}")
    return finish_engine_run(table, engine)
