"""Tables for papers: lossless CSV, Markdown, LaTeX (booktabs), JSON, and a pandas DataFrame.

A :class:`Table` is an ordered list of column names and one ``dict`` per row. Cells are ``str``, ``int``,
``float``, ``bool`` or ``None`` (an empty cell: a quantity that does not apply to that row, e.g. the
speculative-sampling acceptance of a scheme outside the importance-sampling family).

* **CSV** writes every float with :func:`repr`, which round-trips: :func:`read_csv` gives back the very
  same floats (``float(repr(x)) == x`` for every finite double), so a table on disk is the table in memory.
* **Markdown** and **LaTeX** format floats for reading (``.6g`` by default); LaTeX uses the ``booktabs``
  rules ``\\toprule``, ``\\midrule``, ``\\bottomrule`` and escapes ``_ % & # $ { }``.
* **JSON** keeps floats lossless (``json`` writes ``repr``); NaN and infinities, which JSON cannot hold,
  are written as ``null``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

__all__ = [
    "FORMATS",
    "Table",
    "as_table",
    "format_from_path",
    "format_table",
    "NOTE_COLUMNS",
    "numbers_only",
    "read_csv",
    "read_json",
    "to_csv",
    "to_dataframe",
    "to_json",
    "to_latex",
    "to_markdown",
    "write_table",
]

#: Output formats understood by :func:`format_table` and :func:`write_table`.
FORMATS = ("csv", "markdown", "latex", "json")

_SUFFIXES = {".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".json": "json"}
_ALIASES = {"md": "markdown", "tex": "latex"}


@dataclass
class Table:
    """Rows of named cells in a fixed column order.

    Attributes
    ----------
    columns : list of str
        Column names, in output order.
    rows : list of dict
        One ``{column: cell}`` mapping per row; a missing key is an empty cell.
    metadata : dict
        What produced the table (e.g. the sweep spec and its seed); written by :func:`to_json`.

    Examples
    --------
    >>> t = Table(["name", "value"], [{"name": "a", "value": 0.1}])
    >>> t.column("value")
    [0.1]
    """

    columns: list[str]
    rows: list[dict]
    metadata: dict = field(default_factory=dict)

    def column(self, name: str) -> list:
        """The cells of column ``name``, one per row (``None`` where a row lacks it)."""
        if name not in self.columns:
            raise ValueError(f"column {name!r} is not in this table; its columns are {', '.join(self.columns)}.")
        return [row.get(name) for row in self.rows]

    def where(self, **equal) -> Table:
        """The rows whose cells equal the given values, e.g. ``table.where(k=2, law="independent")``."""
        rows = [r for r in self.rows if all(r.get(c) == v for c, v in equal.items())]
        return Table(list(self.columns), rows, dict(self.metadata))

    def __len__(self) -> int:
        return len(self.rows)


def as_table(data, columns: list[str] | None = None) -> Table:
    """A :class:`Table` from a ``Table`` or a list of row dicts (columns in first-seen order).

    Examples
    --------
    >>> as_table([{"a": 1}, {"a": 2, "b": 0.5}]).columns
    ['a', 'b']
    """
    if isinstance(data, Table):
        if columns is None:
            return data
        return Table(list(columns), data.rows, data.metadata)
    rows = list(data)
    if not all(isinstance(r, dict) for r in rows):
        raise ValueError("rows must be a list of dicts (one {column: value} mapping per row) or a Table.")
    if columns is None:
        columns = []
        seen = set()
        for r in rows:
            for c in r:
                if c not in seen:
                    seen.add(c)
                    columns.append(c)
    return Table(list(columns), rows)


def _plain(value):
    """Cells as plain Python values (numpy scalars → int/float, Fractions → float)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, Fraction):
        return float(value)
    if hasattr(value, "item") and not isinstance(value, (list, tuple)):  # numpy scalar
        value = value.item()
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return "{" + ",".join(str(_plain(v)) for v in value) + "}"
    return str(value)


# ---------------------------------------------------------------------- CSV
def _csv_cell(value) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest string that round-trips
    return str(value)


def to_csv(data, path: str | os.PathLike | None = None, columns: list[str] | None = None) -> str:
    """The table as CSV text with lossless floats (``repr``); also written to ``path`` when given.

    Parameters
    ----------
    data : Table or list of dict
    path : path-like, optional
    columns : list of str, optional
        Column order (default: the table's).

    Returns
    -------
    str

    Examples
    --------
    >>> to_csv([{"x": 0.1 + 0.2, "name": "a"}])
    'x,name\\n0.30000000000000004,a\\n'
    """
    table = as_table(data, columns)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_cell(row.get(c)) for c in table.columns])
    text = buf.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _parse_cell(text: str):
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_csv(source) -> Table:
    """Read a CSV written by :func:`to_csv`: numbers back to ``int``/``float`` (bit-identical), empty → None.

    Parameters
    ----------
    source : path-like or str
        A file path, or CSV text (anything containing a newline is taken as text).

    Examples
    --------
    >>> read_csv("x,name\\n0.30000000000000004,a\\n").rows == [{"x": 0.1 + 0.2, "name": "a"}]
    True
    """
    if isinstance(source, str) and "\n" in source:
        text = source
    else:
        text = Path(source).read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    columns = next((line for line in reader if line), None)
    if not columns:
        raise ValueError("the CSV is empty; expected a header row of column names.")
    rows = []
    for line in reader:
        if not line:
            continue
        rows.append({c: _parse_cell(v) for c, v in zip(columns, line) if v != ""})
    return Table(columns, rows)


# ---------------------------------------------------------------------- text formats
def _fmt_number(value, float_format: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return format(value, float_format)
    return str(value)


def to_markdown(data, columns: list[str] | None = None, float_format: str = ".6g") -> str:
    """The table as a GitHub-flavoured Markdown table (floats with ``float_format``; empty cells blank).

    Examples
    --------
    >>> print(to_markdown([{"scheme": "optimal", "acceptance": 8 / 9}]))
    | scheme | acceptance |
    |:--|--:|
    | optimal | 0.888889 |
    """
    table = as_table(data, columns)
    numeric = [
        all(isinstance(_plain(r.get(c)), (int, float)) or r.get(c) is None for r in table.rows)
        and any(r.get(c) is not None for r in table.rows)
        for c in table.columns
    ]
    lines = ["| " + " | ".join(c.replace("|", "\\|") for c in table.columns) + " |",
             "|" + "|".join("--:" if num else ":--" for num in numeric) + "|"]
    for row in table.rows:
        cells = []
        for c in table.columns:
            v = _plain(row.get(c))
            cells.append("" if v is None else _fmt_number(v, float_format).replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def _latex_number(value, float_format: str) -> str:
    text = _fmt_number(value, float_format)
    if isinstance(value, float) and "e" in text and math.isfinite(value):
        mant, exp = text.split("e")
        return f"${mant} \\times 10^{{{int(exp)}}}$"
    return _latex_escape(text)


def to_latex(data, columns: list[str] | None = None, float_format: str = ".6g", caption: str | None = None,
             label: str | None = None) -> str:
    """The table as a LaTeX ``tabular`` with booktabs rules (needs ``\\usepackage{booktabs}``).

    With ``caption`` or ``label`` the tabular is wrapped in a ``table`` environment.

    Examples
    --------
    >>> print(to_latex([{"scheme": "spec_tr", "acceptance": 0.5}]))
    \\begin{tabular}{lr}
    \\toprule
    scheme & acceptance \\\\
    \\midrule
    spec\\_tr & 0.5 \\\\
    \\bottomrule
    \\end{tabular}
    """
    table = as_table(data, columns)
    align = "".join(
        "r" if any(isinstance(_plain(r.get(c)), (int, float)) and not isinstance(r.get(c), bool)
                   for r in table.rows) else "l"
        for c in table.columns
    )
    lines = [f"\\begin{{tabular}}{{{align}}}", "\\toprule",
             " & ".join(_latex_escape(c) for c in table.columns) + " \\\\", "\\midrule"]
    for row in table.rows:
        cells = []
        for c in table.columns:
            v = _plain(row.get(c))
            cells.append("--" if v is None else _latex_number(v, float_format))
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if caption is None and label is None:
        return "\n".join(lines)
    head = ["\\begin{table}", "\\centering"]
    if caption is not None:
        head.append(f"\\caption{{{_latex_escape(caption)}}}")
    if label is not None:
        head.append(f"\\label{{{label}}}")
    return "\n".join(head + lines + ["\\end{table}"])


def _json_cell(value):
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, Fraction):
        return str(obj)
    if hasattr(obj, "tolist"):
        return _json_safe(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def to_json(data, columns: list[str] | None = None, indent: int | None = 1) -> str:
    """The table as JSON: ``{"columns": [...], "rows": [{...}, ...], "metadata": {...}}``, floats lossless.

    Examples
    --------
    >>> import json
    >>> json.loads(to_json([{"x": 0.1}]))["rows"]
    [{'x': 0.1}]
    """
    table = as_table(data, columns)
    obj = {
        "columns": table.columns,
        "rows": [{c: _json_cell(r.get(c)) for c in table.columns} for r in table.rows],
        "metadata": _json_safe(table.metadata),
    }
    return json.dumps(obj, indent=indent, allow_nan=False)


def read_json(source) -> Table:
    """Read the output of :func:`to_json` (a path, or the JSON text itself) back into a :class:`Table`.

    Examples
    --------
    >>> read_json(to_json([{"x": 0.1, "name": "a"}])).rows
    [{'x': 0.1, 'name': 'a'}]
    """
    text = source if isinstance(source, str) and source.lstrip().startswith("{") else Path(source).read_text(
        encoding="utf-8")
    obj = json.loads(text)
    if not isinstance(obj, dict) or "rows" not in obj or "columns" not in obj:
        raise ValueError("expected a JSON object with 'columns' and 'rows' (as written by lpspec.io.to_json).")
    return Table(list(obj["columns"]), [dict(r) for r in obj["rows"]], dict(obj.get("metadata") or {}))


def to_dataframe(data, columns: list[str] | None = None):
    """The table as a :class:`pandas.DataFrame` (needs the ``tables`` extra: ``pip install -e ".[tables]"``).

    Empty cells become NaN in numeric columns and ``None`` elsewhere; the table's metadata goes to
    ``DataFrame.attrs``.

    Examples
    --------
    >>> to_dataframe([{"k": 2, "optimal_acceptance": 0.5}]).shape
    (1, 2)
    """
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "to_dataframe needs pandas; install it with `pip install -e \".[tables]\"` from a clone, `pip install "
            "\"lpspec[tables]\"` from the index (or `pip install pandas`), "
            "or export with to_csv/to_json instead."
        ) from None
    table = as_table(data, columns)
    frame = pd.DataFrame([{c: _plain(r.get(c)) for c in table.columns} for r in table.rows],
                         columns=table.columns)
    frame.attrs.update(_json_safe(table.metadata))
    return frame


def format_from_path(path: str | os.PathLike) -> str:
    """The format implied by a file suffix: ``.csv``, ``.md``, ``.tex`` or ``.json``.

    Examples
    --------
    >>> format_from_path("results/table.tex")
    'latex'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"cannot tell the table format from {str(path)!r}; use a .csv, .md, .tex or .json file name, "
            "or pass the format explicitly."
        )
    return _SUFFIXES[suffix]


#: Columns of prose (why a cell is empty, which scheme was left out): out of paper tables by default.
NOTE_COLUMNS = ("notes",)


def numbers_only(data, columns=NOTE_COLUMNS) -> tuple[Table, list[str]]:
    """The table without its prose columns, and those notes as lines ``row i: text`` (rows counted from 0).

    What the command line writes to CSV, Markdown and LaTeX by default (``--notes`` keeps the column); the
    notes go to stderr and, with ``-o PATH``, to ``PATH.notes.txt``.

    Examples
    --------
    >>> t, notes = numbers_only([{"k": 2, "acc": 0.5, "notes": ""}, {"k": 4, "acc": None, "notes": "sir: too big"}])
    >>> t.columns, notes
    (['k', 'acc'], ['row 1: sir: too big'])
    """
    table = as_table(data)
    drop = [c for c in table.columns if c in columns]
    lines = [f"row {i}: {row[c]}" for i, row in enumerate(table.rows) for c in drop if row.get(c)]
    kept = Table([c for c in table.columns if c not in drop], table.rows, dict(table.metadata))
    return kept, lines


def format_table(data, fmt: str = "csv", **options) -> str:
    """The table as text in ``fmt`` (one of :data:`FORMATS`, or ``md``/``tex``).

    Examples
    --------
    >>> format_table([{"a": 1}], "md").splitlines()[0]
    '| a |'
    """
    fmt = _ALIASES.get(fmt, fmt)
    if fmt == "csv":
        return to_csv(data, **options)
    if fmt == "markdown":
        return to_markdown(data, **options)
    if fmt == "latex":
        return to_latex(data, **options)
    if fmt == "json":
        return to_json(data, **options)
    raise ValueError(f"format={fmt!r} is not a table format; choose one of {', '.join(FORMATS)} (or md, tex).")


def write_table(data, path: str | os.PathLike, fmt: str | None = None, **options) -> Path:
    """Write the table to ``path`` in ``fmt`` (default: from the suffix) and return the path.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_table([{"k": 2, "acc": 0.5}], os.path.join(d, "t.md")).read_text().splitlines()[0]
    '| k | acc |'
    """
    fmt = format_from_path(path) if fmt is None else fmt
    text = format_table(data, fmt, **options)
    path = Path(path)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return path
