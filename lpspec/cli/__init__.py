"""The ``lpspec`` command line: one parser, one grammar, one module per subcommand.

::

    lpspec solve --example figure2-left
    lpspec solve --target 0.2,0.3,0.5 --draft 0.5,0.3,0.2 -k 2 --json
    lpspec solve --target 1/10,1/5,1/10,3/5 --draft 4/5,0,1/5,0 --draft 1/10,3/10,0,3/5
    lpspec check --random 50 --n 4 -k 3 --seed 1
    lpspec table sweep-small --format latex -o table.tex
    lpspec table --show sweep-small
    lpspec figure figure2 --output-dir figures/ --formats png pdf
    lpspec batch d.safetensors -k 2 4 8 --summary -o table.md
    lpspec distributions --target DIR --draft DIR --text corpus.txt -o d.safetensors --local-files-only
    lpspec examples

The grammar is in :mod:`lpspec.cli._common` and docs/guide/cli.md: lists are space-separated after one flag
(``--schemes spectr sir``, ``-k 2 4 8``; a comma list in one word also works); a distribution is one word (a
comma list or a vector file); ``-o/--output PATH`` is a file receiving what would go to stdout (figures take
``--output-dir``); every error is one line ``lpspec: error: ...`` with exit code 2 (``check`` exits 1 when a
check fails); notes about what was not computed are ``lpspec: note: ...`` lines on stderr.

**Adding a subcommand**: write ``lpspec/cli/NAME.py`` with ``NAME``, ``HELP``, ``register(subparsers)`` (which
adds the parser and ``set_defaults(func=run)``) and ``run(args) -> int``, using the helpers of
:mod:`lpspec.cli._common`; then add its module name to :data:`COMMANDS`. Keep domain work out of it.
"""

from __future__ import annotations

import importlib
import sys

from ._common import PROG, CLIError, Parser, known_errors, one_line, parse_distribution

__all__ = ["COMMANDS", "build_parser", "main", "parse_distribution", "theorem_checks"]

#: Subcommand modules of ``lpspec.cli``, in the order ``lpspec --help`` lists them.
COMMANDS = ["solve", "check", "table", "figure", "batch", "blocks", "distributions", "examples"]


def theorem_checks(inst, optimum=None):
    """:func:`lpspec.theory.checks.theorem_checks` (kept here for old imports)."""
    from ..theory.checks import theorem_checks as checks

    return checks(inst, optimum)


def build_parser() -> Parser:
    """The parser of the ``lpspec`` command with every subcommand of :data:`COMMANDS`; a parse error raises
    ``ValueError`` (turned into one line and exit code 2 by :func:`main`).

    Examples
    --------
    >>> args = build_parser().parse_args(["solve", "--example", "figure2-left", "--json"])
    >>> args.command, args.example, args.json
    ('solve', 'figure2-left', True)
    >>> build_parser().parse_args(["batch", "d.npz", "-k", "2", "4,8"]).k
    [2, 4, 8]
    """
    from .._version import __version__

    parser = Parser(prog=PROG, description="LP theory of multi-draft speculative sampling: optimum, "
                    "certificates, theorem checks, tables and figures.")
    parser.add_argument("--version", action="version", version=f"lpspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``lpspec`` console script and ``python -m lpspec``; returns the exit code.

    Examples
    --------
    >>> main(["solve", "--target", "0.5,0.5", "--draft", "0.5,0.5", "-k", "2", "--json"]) # doctest: +ELLIPSIS
    {...
    0
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
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
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - known errors become one line; the rest propagate
        if isinstance(exc, (CLIError, *known_errors())):
            print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
