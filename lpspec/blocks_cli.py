"""``lpspec blocks``: token acceptance and block efficiency per scheme, ``K`` and ``L`` (docs/theory.md §11).

::

    lpspec blocks --example stdlib-docs
    lpspec blocks --example stdlib-docs --vocabulary 500 --ks 1,2,4 --lengths 1,3,5 --format markdown
    lpspec blocks --file pair.npz --schemes specinfer,spectr --json

The default output is one grid per scheme (rows ``K``; columns the token acceptance and ``τ`` for each
``L``), the way the paper's Tables 1 and 3 read; ``--format csv|markdown|latex|json`` (or ``--json``) prints
the long table (one row per scheme, ``K``, ``L``) instead.
"""

from __future__ import annotations

import sys

__all__ = ["add_blocks_parser", "format_grid", "run_blocks"]

_DEFAULT_SCHEMES = "single_draft,specinfer,spectr"


def _int_list(text: str, name: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{name}: {text!r} must be a comma list of positive integers, e.g. 1,2,4,8.") from None
    if not values or any(v < 1 for v in values):
        raise ValueError(f"{name}: {text!r} must be a comma list of positive integers, e.g. 1,2,4,8.")
    return values


def add_blocks_parser(sub) -> None:
    """Add the ``blocks`` sub-command to an argparse sub-parsers object."""
    from .corpus import DEFAULT_VOCABULARY

    p = sub.add_parser("blocks", help="block efficiency (tokens per target call) per scheme, K and L on a "
                                      "bigram pair: exact recursion")
    src = p.add_argument_group("pair (one of --example, --file)")
    src.add_argument("--example", metavar="NAME", help="a built-in pair: stdlib-docs (default)")
    src.add_argument("--file", metavar="PATH", help="an .npz file with arrays target, draft (and start)")
    p.add_argument("--vocabulary", type=int, default=DEFAULT_VOCABULARY,
                   help=f"example: vocabulary size (default {DEFAULT_VOCABULARY}; smaller is faster)")
    p.add_argument("--draft-temperature", type=float, default=1.3, help="example: draft temperature (default 1.3)")
    p.add_argument("--ks", default="1,2,4,8", help="numbers of drafts K (default 1,2,4,8)")
    p.add_argument("--lengths", default="1,2,3,4,5", help="draft lengths L (default 1,2,3,4,5)")
    p.add_argument("--schemes", default=_DEFAULT_SCHEMES,
                   help=f"comma list (default {_DEFAULT_SCHEMES}; 'optimal' = the rank-space verifier, one build "
                        "per context and K: use a small --vocabulary)")
    p.add_argument("--format", choices=("text", "csv", "markdown", "md", "latex", "tex", "json"), default="text",
                   help="text grid (default) or the long table as csv, markdown, latex, json")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("--output", "-o", metavar="PATH", help="write to a file instead of stdout")
    p.set_defaults(func=run_blocks)


def format_grid(table) -> str:
    """One grid per scheme: rows ``K``, columns token acceptance and ``τ`` at each ``L``.

    Examples
    --------
    >>> from lpspec.export import Table
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


def run_blocks(args) -> int:
    """Run ``lpspec blocks`` from parsed arguments (errors are ``ValueError``)."""
    from .blocks import block_efficiency_table
    from .corpus import load_pair
    from .export import format_table, write_table
    from .markov import load_markov_pair

    if args.example is not None and args.file is not None:
        raise ValueError("give one pair: --example NAME or --file PATH, not both.")
    if args.file is not None:
        pair = load_markov_pair(args.file)
    else:
        pair = load_pair(args.example or "stdlib-docs", n=args.vocabulary, draft_temperature=args.draft_temperature)
    ks = _int_list(args.ks, "--ks")
    lengths = _int_list(args.lengths, "--lengths")
    schemes = [s.strip() for s in args.schemes.split(",") if s.strip()]
    if not schemes:
        raise ValueError("--schemes: give at least one scheme, e.g. specinfer,spectr.")
    table = block_efficiency_table(target=pair, ks=ks, lengths=lengths, schemes=schemes)
    table.metadata.update({"example": pair.name, "vocabulary": pair.n})
    fmt = "json" if args.json else args.format
    if fmt == "text":
        text = (f"{pair.name}: n = {pair.n}, block efficiency = expected tokens per target call "
                f"(acc = token-level acceptance with K drafts at the start context law)\n" + format_grid(table))
    else:
        text = format_table(table, fmt)
    if args.output:
        if fmt == "text":
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text.rstrip("\n") + "\n")
        else:
            write_table(table, args.output, fmt)
        print(f"wrote {len(table)} rows to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")
    return 0
