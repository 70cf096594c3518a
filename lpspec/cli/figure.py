"""``lpspec figure``: regenerate the figures (PNG/PDF/SVG), each with the CSV table it plots, into ``--output-dir``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..registry import FIGURE_SCHEMES
from ._common import CLIError, add_list_option, note, parse_distribution, positive_int

NAME = "figure"
HELP = "regenerate figures (PNG/PDF/SVG) with their tables (CSV) into --output-dir"
FIGURES = ("figure2", "region", "acceptance-vs-k")


def register(sub):
    p = sub.add_parser(NAME, help=HELP, description=HELP + "; a figure writes several files, so there is no -o.")
    p.add_argument("which", choices=(*FIGURES, "all"), nargs="?", default="all")
    p.add_argument("--output-dir", default="figures", metavar="DIR", help="directory for the files (default figures/)")
    add_list_option(p, "--formats", metavar="FMT", default=["png", "pdf"],
                    help="any of png pdf svg (default: png pdf)")
    p.add_argument("--steps", type=positive_int, default=90, help="figure2: grid steps (default 90, q_1 = i/steps)")
    p.add_argument("--draft", metavar="P", help="region: draft p on tokens 0, 1, 2 (default 0.5,0.3,0.2)")
    add_list_option(p, "-k", "--ks", dest="k", item_type=positive_int, metavar="K", default=None,
                    help="numbers of drafts: region takes one K (default 2), acceptance-vs-k several "
                         "(default 1 2 3 4)")
    p.add_argument("--resolution", type=positive_int, default=40, help="region: simplex grid resolution (default 40)")
    p.add_argument("--family", default="dirichlet", help="acceptance-vs-k: instance family (default dirichlet)")
    p.add_argument("--params", help="acceptance-vs-k: family parameters as JSON (default {\"n\": 6})")
    add_list_option(p, "--schemes", default=list(FIGURE_SCHEMES),
                    help=f"acceptance-vs-k: schemes (default: {' '.join(FIGURE_SCHEMES)})")
    p.add_argument("--law", default=None, help="acceptance-vs-k: draft law (default independent)")
    p.add_argument("--replicates", type=positive_int, default=10, help="acceptance-vs-k: instances per K (default 10)")
    p.add_argument("--seed", type=int, default=0, help="acceptance-vs-k: seed (default 0)")
    p.add_argument("-o", "--output", dest="_output", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)
    return p


def _draw(name, args):
    from ..experiments import figures

    if name == "figure2":
        return figures.figure2(steps=args.steps)
    if name == "region":
        ks = args.k or [2]
        if len(ks) != 1:
            raise CLIError(f"figure region: -k takes one K (got {' '.join(map(str, ks))}).")
        draft = parse_distribution(args.draft, "--draft") if args.draft else [0.5, 0.3, 0.2]
        return figures.acceptance_one_region(draft, k=ks[0], resolution=args.resolution)
    try:
        params = json.loads(args.params) if args.params else {"n": 6}
    except json.JSONDecodeError as exc:
        raise CLIError(f"--params is not JSON ({exc}); write e.g. '{{\"n\": 6, \"alpha\": 0.5}}'.") from None
    if not isinstance(params, dict):
        raise CLIError("--params must be a JSON object, e.g. '{\"n\": 6, \"alpha\": 0.5}'.")
    fig, table = figures.acceptance_vs_k(args.family, params, args.k or [1, 2, 3, 4], args.schemes,
                                         args.law or "independent", args.replicates, args.seed)
    for line in table.metadata.get("not_computed", []):
        note(f"acceptance-vs-k: {line}")
    return fig, table


def run(args) -> int:
    from ..experiments import figures

    if args._output is not None:
        raise CLIError("figure writes several files: use --output-dir DIR (there is no -o/--output here).")
    which = FIGURES if args.which == "all" else (args.which,)
    if args.which == "all" and args.k is not None and len(args.k) > 1:
        raise CLIError("figure all: -k with several values is for acceptance-vs-k alone (region takes one K).")
    outdir = Path(args.output_dir)
    written = []
    for name in which:
        fig, table = _draw(name, args)
        written += figures.save_figure(fig, outdir / name.replace("-", "_"), args.formats, table=table)
    for p in written:
        print(p)
    return 0
