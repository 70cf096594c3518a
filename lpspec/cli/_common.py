"""What every subcommand shares: the parser class, list and output options, instance options, the error handler.

The grammar (docs/guide/cli.md):

* **lists** are space-separated after one flag: ``--schemes spectr sir``, ``-k 2 4 8``, ``--formats png pdf``,
  ``--columns k optimal_acceptance``; a comma list in one word (``--schemes spectr,sir``) is read the same way;
* **distributions** are one word each: a comma list of numbers (``0.2,0.3,0.5``; fractions ``1/3`` make the
  instance exact) or a file holding one vector;
* ``-o/--output PATH`` is always a file that receives what would go to stdout (its suffix may choose the
  format); figures, which write several files, take ``--output-dir DIR`` only;
* every error is one line ``lpspec: error: ...`` on stderr, exit code 2; notes (a row or scheme not computed)
  are ``lpspec: note: ...`` lines on stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..core.arith import EXACT, arith_of
from ..registry import LAWS

__all__ = [
    "PROG",
    "CLIError",
    "KNOWN_ERRORS",
    "ListAction",
    "Parser",
    "add_format_option",
    "add_instance_options",
    "add_list_option",
    "add_notes_option",
    "add_output_option",
    "add_progress_option",
    "emit_table",
    "emit_text",
    "exact_str",
    "instance_from_args",
    "json_default",
    "note",
    "one_line",
    "parse_distribution",
    "progress_choice",
]

PROG = "lpspec"


class CLIError(ValueError):
    """A user error detected by the command line itself (printed as one line, exit code 2)."""


def _known_errors() -> tuple:
    """Exception types turned into one ``lpspec: error:`` line: :data:`lpspec.core.errors.USER_ERRORS` and refused
    pickles (extend with :func:`register_error_type`)."""
    import pickle

    from ..core.errors import USER_ERRORS

    return (*USER_ERRORS, pickle.UnpicklingError)


#: Extra exception types (e.g. a loader's own error class) that :func:`lpspec.cli.main` reports in one line.
KNOWN_ERRORS: list[type] = []


def register_error_type(exc_type: type) -> type:
    """Report ``exc_type`` as one ``lpspec: error:`` line (for loaders with their own error classes)."""
    if exc_type not in KNOWN_ERRORS:
        KNOWN_ERRORS.append(exc_type)
    return exc_type


_ADVICE = [
    (re.compile(r"\blaw='(\w+)'"), r"--law \1"),
    (re.compile(r"\bpass k\b"), "give -k K"),
    (re.compile(r"\bpass drafts=p with k=K\b"), "give one --draft P with -k K"),
    (re.compile(r"\bLower k\b"), "Lower -k"),
    (re.compile(r"\bresume=True\b"), "--resume"),
    (re.compile(r"\bk=K\b"), "-k K"),
    (re.compile(r"\bk=(\d+)"), r"-k \1"),
    (re.compile(r"\bpass schemes=|\bschemes=(?=\s|$)"), "--schemes"),
    (re.compile(r"\bengine='(\w+)'"), r"--engine \1"),
    (re.compile(r"\b(scheduler|workers)=(?=[\s,;.]|$)"), r"--\1"),
    (re.compile(r"\bdevice='([^']*)'"), r"--device \1"),
    (re.compile(r"\b(workers|chunk_size|batch_size|draft_temperature)=(\S+?)(?=[\s,;:)]|\.?$)"),
     lambda m: f"--{m.group(1).replace('_', '-')} {m.group(2)}"),
]


def cli_words(text: str) -> str:
    """Advice written for the Python API, reworded with the CLI's options (``law='greedy'`` → ``--law greedy``).

    Examples
    --------
    >>> cli_words("needs law='without_replacement', not law='independent'; pass k (the number of drafts)")
    'needs --law without_replacement, not --law independent; give -k K (the number of drafts)'
    >>> cli_words("needs identical drafts: pass drafts=p with k=K (the law is defined by one p).")
    'needs identical drafts: give one --draft P with -k K (the law is defined by one p).'
    >>> cli_words("target[1] = np.float64(-0.1) is negative; sum np.float32(1.5), count np.int64(3)")
    'target[1] = -0.1 is negative; sum 1.5, count 3'
    """
    text = _NUMPY_REPR.sub(r"\1", text)  # NumPy 2 scalar reprs: np.float64(-0.1) -> -0.1
    for pattern, repl in _ADVICE:
        text = pattern.sub(repl, text)
    return text


_NUMPY_REPR = re.compile(r"\bnp\.(?:float|int|uint|complex|bool|longdouble|clongdouble)\w*\(([^()]*)\)")


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line in the CLI's words (its type name when it has none)."""
    from ..core.errors import user_error_message

    text = user_error_message(exc) or " ".join(str(exc).split())
    return cli_words(text) or type(exc).__name__


#: Width of the notes on stderr (continuation lines are indented by two spaces).
NOTE_WIDTH = 100


def note(message: str) -> None:
    """A note on stderr, ``lpspec: note: ...``, wrapped at :data:`NOTE_WIDTH` columns (continuation lines indented)."""
    import textwrap

    text = f"{PROG}: note: {cli_words(' '.join(message.split()))}"
    print(textwrap.fill(text, width=NOTE_WIDTH, subsequent_indent="  ", break_long_words=False,
                        break_on_hyphens=False), file=sys.stderr)


class Parser(argparse.ArgumentParser):
    """argparse with the project's error style: a parse error raises :class:`CLIError` (one line, exit 2).

    A word that starts with ``-`` and a digit (``-0.1``, ``-0.1,1.1``, ``-1/3``) is a value, never an option:
    negative entries reach the validation that names them (no option of lpspec starts with a digit).
    """

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message):
        raise CLIError(message)


class JoinAction(argparse.Action):
    """``nargs="+"`` values joined by commas (``--target 0.2 0.8`` reads as ``--target 0.2,0.8``); with
    ``append=True`` each use of the option adds one joined value."""

    def __init__(self, option_strings, dest, append: bool = False, **kw):
        self.append = append
        super().__init__(option_strings, dest, nargs="+", **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        joined = ",".join(values)
        if self.append:
            setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), joined])
        else:
            setattr(namespace, self.dest, joined)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``-k 0`` is an error, not "the default").

    Examples
    --------
    >>> positive_int("3")
    3
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be ≥ 1 (a positive integer: at least 1)")
    return value


# ---------------------------------------------------------------------- list options
def split_list(values) -> list[str]:
    """Flatten ``["a", "b,c"]`` to ``["a", "b", "c"]`` (space- and comma-separated lists read the same)."""
    out = []
    for v in values:
        out += [x.strip() for x in str(v).split(",") if x.strip()]
    return out


class ListAction(argparse.Action):
    """``nargs="+"`` that also splits commas and converts with the option's ``item_type``."""

    def __init__(self, option_strings, dest, item_type=str, **kw):
        self.item_type = item_type
        super().__init__(option_strings, dest, nargs="+", **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        items = split_list(values)
        if not items:
            raise CLIError(f"{option_string} needs at least one value.")
        converted = []
        for x in items:
            try:
                converted.append(self.item_type(x))
            except argparse.ArgumentTypeError as exc:  # e.g. -k 0: "0 must be a positive integer (at least 1)"
                raise CLIError(f"{option_string} {' '.join(items)}: {exc}.") from None
            except ValueError:
                kind = getattr(self.item_type, "__name__", "value").replace("_", " ")
                raise CLIError(f"{option_string} {' '.join(items)}: {x!r} is not a {kind} value.") from None
        setattr(namespace, self.dest, converted)


def add_list_option(parser, *flags, item_type=str, metavar="NAME", **kw):
    """A list option (``--schemes a b``, ``-k 2 4``): space-separated values, commas accepted too."""
    return parser.add_argument(*flags, action=ListAction, item_type=item_type, metavar=metavar, **kw)


# ---------------------------------------------------------------------- output options
def add_output_option(parser, what: str = "the result"):
    """``-o/--output PATH``: write ``what`` to the file PATH instead of stdout."""
    return parser.add_argument("-o", "--output", metavar="PATH", default=None,
                               help=f"write {what} to the file PATH instead of stdout")


def add_progress_option(parser):
    """``--progress/--no-progress`` (and ``--quiet``, the same as ``--no-progress``): a tqdm bar on stderr.

    Default: a bar when stderr is a terminal (or ``LPSPEC_PROGRESS=1``) and tqdm is installed
    (:mod:`lpspec.core.progress`); read the choice with :func:`progress_choice`.
    """
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: when stderr is a terminal and tqdm is installed)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (same as --no-progress)")


def progress_choice(args) -> bool | None:
    """``True``/``False`` from ``--progress``/``--no-progress``/``--quiet``, ``None`` for the default."""
    if getattr(args, "quiet", False):
        return False
    return getattr(args, "progress", None)


def add_format_option(parser, default: str = "csv"):
    """``--format``: csv, markdown, latex or json (default: from ``--output``'s suffix, else ``default``)."""
    return parser.add_argument("--format", choices=("csv", "markdown", "md", "latex", "tex", "json"), default=None,
                               help=f"table format (default: from --output's suffix, else {default})")


def emit_text(text: str, args, what: str = "output") -> None:
    """Print ``text``, or write it to ``args.output`` (and say so on stderr)."""
    text = text if text.endswith("\n") else text + "\n"
    if getattr(args, "output", None):
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {what} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def add_notes_option(parser):
    """``--notes``: keep the prose ``notes`` column in CSV, Markdown and LaTeX output (default: numbers only;
    the notes go to stderr and, with ``-o PATH``, to ``PATH.notes.txt``)."""
    parser.add_argument("--notes", action="store_true",
                        help="keep the notes column (prose: what was not computed and why) in CSV/Markdown/LaTeX "
                             "tables; by default it goes to PATH.notes.txt next to -o PATH")


def emit_table(table, args, default: str = "csv") -> None:
    """Print or write a table in ``--format`` (default: ``--output``'s suffix, else ``default``).

    Commands with ``--notes`` (:func:`add_notes_option`) write numbers only to CSV/Markdown/LaTeX unless it is
    given: the notes column goes to ``OUTPUT.notes.txt`` (with ``-o``) or is left to the stderr notes."""
    from ..io.export import format_from_path, format_table, numbers_only, write_table

    output = getattr(args, "output", None)
    fmt = args.format or (format_from_path(output) if output else default)
    asked = "notes" in (getattr(args, "columns", None) or ())  # --columns ... notes asks for it explicitly
    if getattr(args, "notes", None) is False and not asked and fmt in ("csv", "markdown", "md", "latex", "tex"):
        table, lines = numbers_only(table)
        if lines and output:
            notes_path = Path(str(output) + ".notes.txt")
            notes_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            note(f"the notes of {len(lines)} rows are in {notes_path} (--notes keeps them in the table).")
    if output:
        write_table(table, output, fmt)
        print(f"wrote {len(table)} rows to {output}", file=sys.stderr)
    else:
        sys.stdout.write(format_table(table, fmt).rstrip("\n") + "\n")


def finish_engine_run(table, engine: dict) -> int:
    """Exit code of a run on :mod:`lpspec.distributed`'s engines: 1 (and a note) when rows hold an error,
    else 0 after removing the checkpoint (everything is in the output now)."""
    failed = sum(1 for r in table.rows if r.get("error") is not None) + sum(r.get("errors") or 0 for r in table.rows)
    if failed:
        where = f"; finished rows are kept in {engine['checkpoint']} for --resume" if engine["checkpoint"] else ""
        note(f"{failed} row(s) could not be computed (see the error column{where}).")
        return 1
    if engine["checkpoint"]:
        Path(engine["checkpoint"]).unlink(missing_ok=True)
    return 0


def wants_json(args) -> bool:
    """``--json``, or ``-o`` with a ``.json`` suffix."""
    return bool(getattr(args, "json", False)) or str(getattr(args, "output", "") or "").lower().endswith(".json")


# ---------------------------------------------------------------------- JSON
def exact_str(value):
    """``"8/9"`` for a Fraction (exact), None otherwise."""
    return arith_of(value).fraction_text(value)


def json_default(obj):
    if isinstance(obj, Fraction):
        return str(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj) -> str:
    return json.dumps(obj, indent=1, default=json_default)


# ---------------------------------------------------------------------- distributions and instances
def _parse_number(text: str):
    text = text.strip()
    if not text:
        raise CLIError("an empty entry in a comma list; write e.g. 0.2,0.3,0.5.")
    if "/" in text:
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise CLIError(f"{text!r} is not a fraction like 1/3.") from None
    try:
        return float(text)
    except ValueError:
        raise CLIError(f"{text!r} is not a number.") from None


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
            raise CLIError(f"{name}: file {text!r} does not exist.")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            try:
                arr = np.load(path, allow_pickle=False)
            except (OSError, ValueError, EOFError):
                raise CLIError(f"{name}: {text} is not a readable .npy file (damaged, truncated, or not "
                               "written by numpy.save).") from None
            if arr.ndim != 1:
                raise CLIError(f"{name}: {text} holds an array of shape {arr.shape}; expected one 1-D vector "
                               "(use --file for a whole instance).")
            return [float(v) for v in arr]
        if suffix == ".json":
            from ..io.untrusted import loads_json

            try:
                obj = loads_json(path.read_bytes(), text)  # depth and number sizes checked before parsing
            except ValueError as exc:
                raise CLIError(f"{name}: {exc}") from None
            if not isinstance(obj, list):
                raise CLIError(f"{name}: {text} must hold a JSON list of probabilities (use --file for an "
                               "instance object).")
            return parse_distribution(",".join(str(v) for v in obj), name)
        body = path.read_text(encoding="utf-8").replace("\n", ",").replace(";", ",")
        return parse_distribution(",".join(c for c in body.split(",") if c.strip()), name)
    values = [_parse_number(c) for c in text.split(",")]
    arith = arith_of(values)  # one fraction makes the whole vector exact, each float read by its decimal
    return [arith.convert(v, decimal=True) for v in values]


def _exactify(vectors):
    return [[EXACT.convert(v, decimal=True) for v in vec] for vec in vectors]


def add_instance_options(parser):
    """``--example`` / ``--file`` / ``--target`` + ``--draft``, ``-k``, ``--law``, ``--exact``."""
    g = parser.add_argument_group("instance (one of --example, --file, --target)")
    g.add_argument("--example", metavar="NAME", help="a built-in example (see `lpspec examples`)")
    g.add_argument("--file", metavar="PATH",
                   help="an instance file: .json (keys target, drafts, k, law), .npy, .npz (arrays target, drafts) "
                        "or .csv")
    g.add_argument("--target", metavar="Q", action=JoinAction,
                   help="target q: a list (0.2,0.3,0.5 or 0.2 0.3 0.5 or 1/3,2/3) or a vector file")
    g.add_argument("--draft", "--drafts", dest="draft", metavar="P", action=JoinAction, append=True, default=[],
                   help="draft p: once with -k K (K identical drafts) or K times (K different drafts)")
    g.add_argument("-k", type=positive_int, default=None, help="number of drafts K (with one --draft, or to check a file)")
    g.add_argument("--law", choices=LAWS, default=None,
                   help="draft law (default: independent, or the example's)")
    g.add_argument("--exact", action="store_true", help="read every probability as an exact fraction")


def instance_from_args(args):
    """``(make_instance kwargs, label, description)`` from --example / --file / --target + --draft."""
    from ..io.instances import load_example, load_instance_file

    sources = sum(x is not None for x in (args.example, args.file, args.target))
    if sources != 1:
        raise CLIError("give exactly one instance: --example NAME, --file PATH, or --target ... --draft ...")
    if args.example is not None or args.file is not None:
        if args.draft:
            raise CLIError("--draft goes with --target, not with --example or --file.")
        spec = load_example(args.example) if args.example is not None else load_instance_file(args.file)
        if len(spec.drafts) == 1 and spec.k is None and args.k is None:
            raise CLIError(f"{spec.name} holds one draft: give -k K (the number of identical drafts).")
        if len(spec.drafts) > 1 and args.k is not None and args.k != len(spec.drafts):
            raise CLIError(f"-k {args.k} disagrees with the {len(spec.drafts)} different drafts of {spec.name}; "
                           "drop -k.")
        kw = spec.kwargs(k=args.k if args.k is not None else spec.k, law=args.law or spec.law)
        label, description = spec.name, spec.description
    else:
        if not args.draft:
            raise CLIError("--target needs --draft (once with -k K for identical drafts, or K times).")
        target = parse_distribution(args.target, "--target")
        drafts = [parse_distribution(d, "--draft") for d in args.draft]
        vectors = [target, *drafts]
        if args.exact or arith_of(vectors).exact:  # deliberate: --exact, or a fraction anywhere, reads all exactly
            vectors = _exactify(vectors)
        target, drafts = vectors[0], vectors[1:]
        law = args.law or "independent"
        if len(drafts) == 1:
            if args.k is None:
                raise CLIError("one --draft needs -k K (the number of identical drafts); or give --draft K times.")
            kw = {"target": target, "drafts": drafts[0], "k": args.k, "law": law}
        else:
            if args.k is not None and args.k != len(drafts):
                raise CLIError(f"-k {args.k} disagrees with the {len(drafts)} --draft values given; drop -k.")
            kw = {"target": target, "drafts": drafts, "k": None, "law": law}
        label, description = "command line", ""
    if getattr(args, "exact", False) and args.target is None:
        kw["target"] = _exactify([kw["target"]])[0]
        if isinstance(kw["drafts"], list) and kw["drafts"] and isinstance(kw["drafts"][0], (list, np.ndarray)):
            kw["drafts"] = _exactify(kw["drafts"])
        else:
            kw["drafts"] = _exactify([kw["drafts"]])[0]
    return kw, label, description


def known_errors() -> tuple:
    """Every exception type reported as one line."""
    return (*_known_errors(), *KNOWN_ERRORS)
