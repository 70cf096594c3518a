"""``lpspec blocks``: token acceptance and block efficiency per scheme, ``K`` and ``L`` (docs/theory.md §11).

::

    lpspec blocks --example stdlib-docs
    lpspec blocks --example stdlib-docs --vocabulary 500 -k 1 2 4 --lengths 1 3 5 --format markdown
    lpspec blocks --file pair.npz --schemes specinfer spectr --json
    lpspec blocks --vocabulary 4 -k 1 2 --lengths 1 2 --schemes specinfer block_verification traversal --ceiling

The default output is one grid per scheme (rows ``K``; columns the token acceptance and ``τ`` for each
``L``), the way the paper's Tables 1 and 3 read; ``--format csv|markdown|latex|json`` (or ``--json``, or an
``--output`` suffix) prints the long table (one row per scheme, ``K``, ``L``) instead. The sequence-level
verifiers ``block_verification`` (``K = 1``), ``stepwise_optimal`` and ``traversal`` are evaluated exactly on
the draft tree (small vocabularies); ``--ceiling`` adds ``τ*``, the block LP's optimum (the best ``τ`` of any
lossless verifier, docs/theory.md), as the scheme ``ceiling`` and a column "gap to τ*" beside every ``τ``.
"""

from __future__ import annotations

from ..registry import BLOCK_TABLE_SCHEMES, OPTIMAL, SCHEME_SPECS, SEQUENCE_SCHEMES
from ._common import (
    CLIError,
    add_list_option,
    add_output_option,
    add_progress_option,
    emit_table,
    emit_text,
    note,
    positive_int,
    progress_choice,
)

NAME = "blocks"
HELP = "block efficiency (tokens per target call) per scheme, K and L on a bigram pair: exact recursion"

_DEFAULT_SCHEMES = list(BLOCK_TABLE_SCHEMES)
_SEQUENCE_SCHEMES = SEQUENCE_SCHEMES
#: Largest draft tree (``Σ_d n^d`` nodes) the sequence-level columns are computed on.
MAX_SEQUENCE_NODES = 200_000


def register(sub):
    from ..sequence.corpus import DEFAULT_VOCABULARY

    p = sub.add_parser(NAME, help=HELP, description=HELP)
    src = p.add_argument_group("pair (one of --example, --file)")
    src.add_argument("--example", metavar="NAME", help="a built-in pair: stdlib-docs (default)")
    src.add_argument("--file", metavar="PATH", help="an .npz file with arrays target, draft (and start)")
    p.add_argument("--vocabulary", type=positive_int, default=None,
                   help=f"example: vocabulary size (default {DEFAULT_VOCABULARY}; smaller is faster)")
    p.add_argument("--draft-temperature", type=float, default=None, help="example: draft temperature (default 1.3)")
    add_list_option(p, "-k", "--ks", dest="k", item_type=positive_int, metavar="K", default=[1, 2, 4, 8],
                    help="numbers of drafts K (default 1 2 4 8)")
    add_list_option(p, "--lengths", "-L", dest="lengths", item_type=positive_int, metavar="L", default=[1, 2, 3, 4, 5],
                    help="draft lengths L (default 1 2 3 4 5)")
    add_list_option(p, "--schemes", default=list(_DEFAULT_SCHEMES),
                    help=f"schemes (default {' '.join(BLOCK_TABLE_SCHEMES)}; '{OPTIMAL}' = the rank-space verifier, "
                         "one build per context and K: use a small --vocabulary; the sequence-level verifiers "
                         f"{', '.join(SEQUENCE_SCHEMES)}: a tiny --vocabulary)")
    p.add_argument("--ceiling", action="store_true",
                   help="add tau*, the block LP's optimum (no lossless verifier does better), and the gap to it "
                        "of every scheme (a tiny --vocabulary: the tree has sum_d n^d nodes)")
    p.add_argument("--format", choices=("text", "csv", "markdown", "md", "latex", "tex", "json"), default=None,
                   help="text grid (default) or the long table as csv, markdown, latex, json")
    p.add_argument("--json", action="store_true", help="same as --format json")
    add_output_option(p, "the table (format from the suffix: .csv, .md, .tex, .json; otherwise the text grid)")
    add_progress_option(p)
    p.set_defaults(func=run)
    return p


def format_grid(table) -> str:
    """One grid per scheme: rows ``K``, columns token acceptance and ``τ`` at each ``L`` (and, when the table
    has a ``gap_to_ceiling`` column, the gap to ``τ*`` beside each ``τ``).

    Examples
    --------
    >>> from lpspec.io.export import Table
    >>> t = Table(["scheme", "k", "length", "token_acceptance", "block_efficiency"],
    ...           [{"scheme": "s", "k": 1, "length": 1, "token_acceptance": 0.5, "block_efficiency": 1.5}])
    >>> print(format_grid(t))
    s
      K   acc     L=1
      1  0.5000  1.5000
    """
    lines = []
    schemes = list(dict.fromkeys(table.column("scheme")))
    lengths = sorted(set(table.column("length")))
    gaps = "gap_to_ceiling" in table.columns
    for s in schemes:
        rows = [r for r in table.rows if r["scheme"] == s]
        ks = sorted({r["k"] for r in rows})
        lines.append(s)
        head = "".join(f"  L={L:<5d}" + ("  gap to τ*" if gaps else "") for L in lengths)
        lines.append(("  K   acc   " + head).rstrip())
        for k in ks:
            cells = {r["length"]: r for r in rows if r["k"] == k}
            acc = next(iter(cells.values()))["token_acceptance"]
            taus = ""
            for L in lengths:
                cell = cells.get(L)
                taus += "  " + ("   n/a" if cell is None else f"{cell['block_efficiency']:.4f}")
                if gaps:
                    gap = None if cell is None else cell.get("gap_to_ceiling")
                    taus += "  " + ("       n/a" if gap is None else f"{0.0 if abs(gap) < 1e-9 else gap:10.4f}")
            lines.append(f"  {k:<2d} {acc:.4f}{taus}")
    return "\n".join(lines)


def sequence_table(pair, *, ks, lengths, schemes, ceiling: bool, progress: bool | None = None):
    """The long table with the sequence-level schemes and, with ``ceiling``, ``τ*`` and a gap column.

    Token-level schemes come from :func:`lpspec.sequence.blocks.block_efficiency_table`; ``block_verification``,
    ``stepwise_optimal``, ``traversal`` from :func:`lpspec.block_efficiency` per ``(K, L)`` (``K = 1`` only
    for ``block_verification``); the ceiling from :func:`lpspec.sequence.block_lp.block_optimum`.
    """
    from ..core.progress import progress_bar
    from ..io.export import Table
    from ..sequence.blocks import block_efficiency, block_efficiency_table
    from ..sequence.tree import tree_size

    token = [s for s in schemes if s not in _SEQUENCE_SCHEMES and s != "ceiling"]
    sequence = [s for s in schemes if s in _SEQUENCE_SCHEMES]
    ks, lengths = sorted(set(ks)), sorted(set(lengths))
    if (sequence or ceiling) and tree_size(pair.n, max(lengths)) > MAX_SEQUENCE_NODES:
        raise CLIError(f"the sequence-level columns work on the draft tree of {tree_size(pair.n, max(lengths)):,} "
                       f"nodes (n = {pair.n}, L = {max(lengths)}), above {MAX_SEQUENCE_NODES:,}; use a smaller "
                       "--vocabulary or --lengths.")
    rows = []
    if token:
        rows += block_efficiency_table(target=pair, ks=ks, lengths=lengths, schemes=token, progress_bar=progress).rows
    cells = sum(len([1] if SCHEME_SPECS[s].one_draft else ks) for s in sequence) * len(lengths)
    bar = progress_bar(total=cells + (len(ks) * len(lengths) if ceiling else 0), desc="blocks (sequence level)",
                       enabled=progress, unit="cell")
    for s in sequence:
        for k in ([1] if SCHEME_SPECS[s].one_draft else ks):
            for L in lengths:
                try:
                    r = block_efficiency(target=pair, k=k, length=L, scheme=s)
                except ValueError as exc:  # beyond the scheme's own size guard: the cell stays empty
                    note(f"{s} at K = {k}, L = {L} not computed: {exc}")
                    bar.update(1)
                    continue
                rows.append({"scheme": s, "k": k, "length": L, "token_acceptance": r.token_acceptance,
                             "block_efficiency": r.value})
                bar.update(1)
    columns = ["scheme", "k", "length", "token_acceptance", "block_efficiency"]
    if ceiling:
        try:
            from ..sequence.block_lp import block_optimum
        except ImportError:
            raise CLIError("--ceiling needs lpspec.sequence.block_lp (the block LP), which this install lacks.") from None
        from ..solvers.optimum import optimal_acceptance

        best = {}
        for k in ks:
            acc = float(pair.start @ [optimal_acceptance(target=pair.target[c], drafts=pair.draft[c], k=k).value
                                      for c in range(pair.n)])
            for L in lengths:
                best[k, L] = float(block_optimum(target=pair.target, drafts=pair.draft, start=pair.start, k=k,
                                                 length=L).value)
                bar.update(1)
                rows.append({"scheme": "ceiling", "k": k, "length": L, "token_acceptance": acc,
                             "block_efficiency": best[k, L]})
        for r in rows:
            tau_star = best.get((r["k"], r["length"]))
            r["gap_to_ceiling"] = None if tau_star is None else tau_star - r["block_efficiency"]
        columns.append("gap_to_ceiling")
    bar.close()
    meta = {"pair": pair.name, "n": pair.n, "note": "single_draft and block_verification are K = 1"}
    if ceiling:
        meta["ceiling"] = "tau* = the block LP's optimum; gap_to_ceiling = tau* - tau at the same K and L"
    return Table(columns, rows, metadata=meta)


def run(args) -> int:
    from ..io.export import format_from_path
    from ..sequence.blocks import block_efficiency_table
    from ..sequence.corpus import load_pair
    from ..sequence.markov import load_markov_pair

    if args.example is not None and args.file is not None:
        raise CLIError("give one pair: --example NAME or --file PATH, not both.")
    for flag, values in (("-k", args.k), ("--lengths", args.lengths)):
        if not values or any(v < 1 for v in values):
            raise CLIError(f"{flag}: give positive integers, e.g. {flag} 1 2 4.")
    if not args.schemes:
        raise CLIError("--schemes: give at least one scheme, e.g. --schemes specinfer spectr.")
    choices = [name for name, spec in SCHEME_SPECS.items() if spec.kind != "bound"]
    unknown = [s for s in args.schemes if s not in choices and s != "ceiling"]
    if unknown:  # before the pair is loaded, and naming the sequence-level verifiers too
        raise CLIError(f"--schemes {unknown[0]}: not a scheme of lpspec blocks; choose from {' '.join(choices)}.")
    if args.file is not None:
        for flag, value in (("--vocabulary", args.vocabulary), ("--draft-temperature", args.draft_temperature)):
            if value is not None:
                raise CLIError(f"{flag} builds the built-in example and does not apply to --file; drop it.")
        pair = load_markov_pair(args.file)
    else:
        given = {"n": args.vocabulary, "draft_temperature": args.draft_temperature}
        pair = load_pair(args.example or "stdlib-docs", **{k: v for k, v in given.items() if v is not None})
    if args.ceiling or any(s in _SEQUENCE_SCHEMES for s in args.schemes):
        table = sequence_table(pair, ks=args.k, lengths=args.lengths, schemes=args.schemes, ceiling=args.ceiling,
                               progress=progress_choice(args))
    else:
        table = block_efficiency_table(target=pair, ks=args.k, lengths=args.lengths, schemes=args.schemes,
                                       progress_bar=progress_choice(args))
    table.metadata.update({"example": pair.name, "vocabulary": pair.n})
    fmt = "json" if args.json else args.format
    if fmt is None and args.output and format_from_path(args.output) in ("csv", "markdown", "latex", "json"):
        fmt = format_from_path(args.output)
    if fmt in (None, "text"):
        emit_text(f"{pair.name}: n = {pair.n}, block efficiency = expected tokens per target call "
                  f"(acc = token-level acceptance with K drafts at the start context law)\n" + format_grid(table),
                  args, "the grid")
    else:
        args.format = fmt
        emit_table(table, args)
    return 0
