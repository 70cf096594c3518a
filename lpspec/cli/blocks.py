"""``lpspec blocks``: token acceptance and block efficiency per scheme, ``K`` and ``L`` (docs/theory.md §11).

::

    lpspec blocks --example stdlib-docs
    lpspec blocks --example stdlib-docs --vocabulary 500 -k 1 2 4 --lengths 1 3 5 --format markdown
    lpspec blocks --file pair.npz --schemes specinfer spectr --json

The default output is one grid per scheme (rows ``K``; columns the token acceptance and ``τ`` for each
``L``), the way the paper's Tables 1 and 3 read; ``--format csv|markdown|latex|json`` (or ``--json``, or an
``--output`` suffix) prints the long table (one row per scheme, ``K``, ``L``) instead.
"""

from __future__ import annotations

from ..registry import BLOCK_TABLE_SCHEMES, OPTIMAL
from ._common import CLIError, add_list_option, add_output_option, emit_table, emit_text, positive_int

NAME = "blocks"
HELP = "block efficiency (tokens per target call) per scheme, K and L on a bigram pair: exact recursion"

_DEFAULT_SCHEMES = list(BLOCK_TABLE_SCHEMES)


def register(sub):
    from ..corpus import DEFAULT_VOCABULARY

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
                         "one build per context and K: use a small --vocabulary)")
    p.add_argument("--format", choices=("text", "csv", "markdown", "md", "latex", "tex", "json"), default=None,
                   help="text grid (default) or the long table as csv, markdown, latex, json")
    p.add_argument("--json", action="store_true", help="same as --format json")
    add_output_option(p, "the table (format from the suffix: .csv, .md, .tex, .json; otherwise the text grid)")
    p.set_defaults(func=run)
    return p


def format_grid(table) -> str:
    """One grid per scheme: rows ``K``, columns token acceptance and ``τ`` at each ``L``.

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
    for s in schemes:
        rows = [r for r in table.rows if r["scheme"] == s]
        ks = sorted({r["k"] for r in rows})
        lines.append(s)
        lines.append("  K   acc   " + "".join(f"  L={L:<5d}" for L in lengths).rstrip())
        for k in ks:
            cells = {r["length"]: r for r in rows if r["k"] == k}
            acc = next(iter(cells.values()))["token_acceptance"]
            taus = "".join(f"  {cells[L]['block_efficiency']:.4f}" for L in lengths)
            lines.append(f"  {k:<2d} {acc:.4f}{taus}")
    return "\n".join(lines)


def run(args) -> int:
    from ..blocks import block_efficiency_table
    from ..corpus import load_pair
    from ..io.export import format_from_path
    from ..markov import load_markov_pair

    if args.example is not None and args.file is not None:
        raise CLIError("give one pair: --example NAME or --file PATH, not both.")
    for flag, values in (("-k", args.k), ("--lengths", args.lengths)):
        if not values or any(v < 1 for v in values):
            raise CLIError(f"{flag}: give positive integers, e.g. {flag} 1 2 4.")
    if not args.schemes:
        raise CLIError("--schemes: give at least one scheme, e.g. --schemes specinfer spectr.")
    if args.file is not None:
        for flag, value in (("--vocabulary", args.vocabulary), ("--draft-temperature", args.draft_temperature)):
            if value is not None:
                raise CLIError(f"{flag} builds the built-in example and does not apply to --file; drop it.")
        pair = load_markov_pair(args.file)
    else:
        given = {"n": args.vocabulary, "draft_temperature": args.draft_temperature}
        pair = load_pair(args.example or "stdlib-docs", **{k: v for k, v in given.items() if v is not None})
    table = block_efficiency_table(target=pair, ks=args.k, lengths=args.lengths, schemes=args.schemes)
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
