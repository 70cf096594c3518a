"""``lpspec batch FILE``: the acceptance table of stored (B, n) distributions (torch backend, GPU when present).

``python -m lpspec.batched FILE ...`` is the same command. The file holds ``target`` of shape (B, n) and
``drafts`` of shape (B, n) (one draft model, drawn K times: give ``-k``) or (K, B, n) (K draft models) — the
same rule as an instance file of ``lpspec solve --file``: ``drafts`` of the target's shape is one draft, one
more leading axis lists K drafts.
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
    finish_engine_run,
    note,
    positive_int,
    progress_choice,
)

NAME = "batch"
HELP = "acceptance table of stored (B, n) distributions (.safetensors/.pt/.npz/.npy), torch backend"


def register(sub):
    from ..registry import BATCHED, DEFAULT_TRUNCATION

    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("path", help=".safetensors, .pt, .npz, or NAME.npy (NAME.target.npy + NAME.drafts.npy)")
    add_list_option(p, "-k", item_type=positive_int, metavar="K", default=None,
                    help="numbers of drafts, e.g. -k 2 4 8 (default for (K, B, n) drafts: K)")
    add_list_option(p, "--schemes", default=None, help=f"subset of {' '.join(BATCHED)} (default: all that apply)")
    p.add_argument("-s", type=positive_int, default=DEFAULT_TRUNCATION,
                   help=f"truncated IS parameter s (default {DEFAULT_TRUNCATION})")
    p.add_argument("--summary", action="store_true", help="one row per K with the means over positions")
    p.add_argument("--batch-size", type=positive_int, default=None, help="positions per torch batch (default 256)")
    p.add_argument("--chunk-size", type=positive_int, default=None, metavar="ROWS",
                   help="positions per task, a multiple of --batch-size (default: --batch-size)")
    add_progress_option(p)
    p.add_argument("--memory-budget", metavar="SIZE", default=None,
                   help="peak memory allowed per process, e.g. 8G (default: $LPSPEC_MEMORY_BUDGET or half the "
                        "physical memory); the estimate is checked before any work")
    add_notes_option(p)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    add_format_option(p, "csv")
    add_output_option(p, "the table (format from the suffix: .csv, .md, .tex, .json)")
    p.add_argument("--check-verifier", action="store_true",
                   help="also build the rank-space optimal verifier of every row (identical drafts) and report its "
                        "check (docs/theory.md §9) on stderr")
    add_engine_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..batched import require_torch
    from ..batched.chunks import file_table
    from ..batched.io import stored_shapes
    from ..batched.table import DEFAULT_BATCH_SIZE

    require_torch()
    engine = engine_options(args)
    t_shape, d_shape, _ = stored_shapes(args.path)
    different = len(d_shape) == 3
    if t_shape[0] == 0:
        raise CLIError(f"{args.path} holds 0 positions: nothing to compute.")
    probe_file(args, different)
    if not different and args.k is None:
        raise CLIError(f"{args.path} holds one (B, n) draft per position: give -k K (the number of drafts), "
                       "e.g. -k 2 4 8.")
    if different and args.k is not None and max(args.k) > d_shape[0]:
        raise CLIError(f"-k {max(args.k)}: {args.path} holds only K = {d_shape[0]} different drafts.")
    for flag, value in (("-s", args.s), ("--batch-size", args.batch_size), ("--chunk-size", args.chunk_size)):
        if value is not None and value < 1:
            raise CLIError(f"{flag} {value} must be a positive integer.")
    try:
        table = file_table(args.path, k=args.k, schemes=args.schemes, s=args.s, summary=args.summary,
                           batch_size=args.batch_size or DEFAULT_BATCH_SIZE, device=args.device,
                           chunk_size=args.chunk_size, progress_bar=progress_choice(args),
                           memory_budget=args.memory_budget, **engine)
    except ValueError as exc:
        raise CLIError(str(exc).replace("schemes: ", "--schemes: ", 1)) from None
    verifier_ok = report_verifier_check(args, different) if args.check_verifier else True
    emit_table(table, args, "csv")
    left_out = sorted({n for r in table.rows for n in (r.get("notes") or "").split("; ") if n})
    for line in left_out:
        note(f"not computed: {line}")
    code = finish_engine_run(table, engine)
    return code if verifier_ok else max(code, 1)  # a failed verifier check is a failed run (exit 1)


def probe_file(args, different: bool) -> None:
    """Read and validate the first position before the run, so that a file or device the backend refuses
    (sparse or quantized tensors, complex values, ``--device meta``, unreadable rows) is one error line with
    exit code 2 rather than a table of error rows."""
    from ..batched.inputs import as_batch
    from ..batched.io import read_rows

    first = read_rows(args.path, 0, 1)
    k = None if different else (args.k or [1])[0]
    as_batch(target=first.target, drafts=first.drafts, k=k, device=args.device)


def report_verifier_check(args, different: bool) -> bool:
    """``--check-verifier``: build :func:`lpspec.batched.optimal_verifier` for every row and K; one line per K.
    Returns whether every row passed."""
    from ..batched.io import load_distributions
    from ..batched.table import DEFAULT_BATCH_SIZE, verifier_check

    if different:
        raise CLIError("--check-verifier needs identical drafts (a (B, n) drafts array with -k).")
    data = load_distributions(args.path)
    checks = verifier_check(target=data.target, drafts=data.drafts, k=args.k,
                            batch_size=args.batch_size or DEFAULT_BATCH_SIZE, device=args.device)
    for K, s in checks.items():
        verdict = "pass" if s["passed"] == s["rows"] else "FAIL"
        note(f"optimal verifier (rank space), K={K}: {verdict} on {s['passed']}/{s['rows']} rows, largest error "
             f"{s['worst_error']:.2g} (bound >= {s['bound']:.2g}); windows slid in {s['slid']} rows")
    return all(s["passed"] == s["rows"] for s in checks.values())
