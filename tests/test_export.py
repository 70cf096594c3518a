"""Export formats: lossless CSV and JSON round-trips, Markdown and booktabs LaTeX, pandas."""

import json
import math
import sys

import numpy as np
import pytest

from lpspec.io.export import (
    Table,
    as_table,
    format_from_path,
    format_table,
    read_csv,
    read_json,
    to_csv,
    to_dataframe,
    to_json,
    to_latex,
    to_markdown,
    write_table,
)


def _awkward_floats():
    rng = np.random.default_rng(12345)
    vals = list(rng.random(200)) + list(rng.random(50) * 1e-300) + list(rng.standard_normal(50) * 1e300)
    vals += [0.1 + 0.2, 1 / 3, 2 / 3, 5e-324, 1.7976931348623157e308, -0.0, 1e-16, 8 / 9,
             (11 + math.sqrt(13)) / 18, np.nextafter(1.0, 0.0), np.nextafter(1.0, 2.0)]
    return [float(v) for v in vals]


def _table():
    vals = _awkward_floats()
    rows = [{"family": "dirichlet" if i % 2 else "zipf", "seed": 1000 + i, "value": v,
             "status": "ok, with a comma" if i == 3 else "ok"} for i, v in enumerate(vals)]
    rows[5]["extra"] = 0.25  # a column present in one row only
    return as_table(rows)


def test_csv_round_trip_is_bit_exact(tmp_path):
    table = _table()
    path = tmp_path / "t.csv"
    to_csv(table, path)
    back = read_csv(path)
    assert back.columns == table.columns
    assert len(back) == len(table)
    for a, b in zip(table.rows, back.rows):
        assert a["value"].hex() == b["value"].hex()  # bit-identical, sign of -0.0 included
        assert b["seed"] == a["seed"] and isinstance(b["seed"], int)
        assert b["status"] == a["status"]
        assert b.get("extra") == a.get("extra")


def test_csv_round_trip_through_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    table = _table()
    path = tmp_path / "t.csv"
    to_csv(table, path)
    # pandas < 3 needs float_precision="round_trip" (deprecated in 3, where it is the default)
    options = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    frame = pd.read_csv(path, **options)
    assert [float(v).hex() for v in frame["value"]] == [r["value"].hex() for r in table.rows]


def test_json_round_trip_is_lossless_and_valid():
    table = _table()
    table.metadata = {"seed": 7, "spec": {"k": [2, 3]}}
    text = to_json(table)
    obj = json.loads(text)  # strict JSON (no NaN tokens)
    assert obj["metadata"]["seed"] == 7
    back = read_json(text)
    assert [r["value"].hex() for r in back.rows] == [r["value"].hex() for r in table.rows]


def test_json_writes_nan_as_null():
    text = to_json([{"x": float("nan"), "y": float("inf"), "z": 1.5}])
    assert json.loads(text)["rows"] == [{"x": None, "y": None, "z": 1.5}]


def test_markdown_layout():
    md = to_markdown([{"scheme": "a|b", "acc": 8 / 9, "k": 2}, {"scheme": "c", "acc": None, "k": 3}])
    lines = md.splitlines()
    assert lines[0] == "| scheme | acc | k |"
    assert lines[1] == "|:--|--:|--:|"
    assert lines[2] == "| a\\|b | 0.888889 | 2 |"
    assert lines[3] == "| c |  | 3 |"


def test_latex_booktabs_and_escaping():
    tex = to_latex([{"scheme_name": "spec_tr", "acc": 0.5, "err": 1.5e-17, "note": "50% & #1"}],
                   caption="P(acc) in %", label="tab:acc")
    lines = tex.splitlines()
    assert lines[0] == "\\begin{table}"
    for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
        assert lines.count(rule) == 1
    assert lines.index("\\toprule") < lines.index("\\midrule") < lines.index("\\bottomrule")
    assert "scheme\\_name & acc & err & note \\\\" in lines
    assert "spec\\_tr & 0.5 & $1.5 \\times 10^{-17}$ & 50\\% \\& \\#1 \\\\" in lines
    assert "\\caption{P(acc) in \\%}" in lines and "\\label{tab:acc}" in lines
    assert "\\begin{tabular}{lrrl}" in lines


def test_dataframe_holds_the_same_numbers():
    pytest.importorskip("pandas")
    table = _table()
    frame = to_dataframe(table)
    assert list(frame.columns) == table.columns
    assert [float(v).hex() for v in frame["value"]] == [r["value"].hex() for r in table.rows]
    assert math.isnan(frame["extra"][0]) and frame["extra"][5] == 0.25


def test_dataframe_without_pandas_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match="lpspec\\[tables\\]"):
        to_dataframe([{"a": 1}])


def test_format_dispatch_and_files(tmp_path):
    rows = [{"a": 1, "b": 0.1}]
    for suffix, first in ((".csv", "a,b"), (".md", "| a | b |"), (".tex", "\\begin{tabular}{rr}"),
                          (".json", "{")):
        path = write_table(rows, tmp_path / f"t{suffix}")
        assert path.read_text().splitlines()[0] == first
    assert format_from_path("x.markdown") == "markdown"
    with pytest.raises(ValueError, match="suffix|format"):
        format_from_path("table.xlsx")
    with pytest.raises(ValueError, match="format"):
        format_table(rows, "html")


def test_table_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="list of dicts"):
        as_table([1, 2])
    with pytest.raises(ValueError, match="not in this table"):
        Table(["a"], [{"a": 1}]).column("b")
    with pytest.raises(ValueError, match="empty"):
        read_csv("\n")


def test_paper_tables_are_numbers_only_by_default(tmp_path, capsys):
    """`lpspec table` writes CSV/LaTeX/Markdown without the prose notes column; the notes go to PATH.notes.txt
    (one line per row that has one) and --notes keeps the column. JSON keeps everything."""
    from lpspec.cli import main
    from lpspec.experiments.sweep import run_sweep
    from lpspec.io.export import numbers_only, read_csv

    out = tmp_path / "t.csv"
    assert main(["table", "sweep-small", "-o", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    full = run_sweep("sweep-small", progress_bar=False)
    plain = read_csv(out)
    assert "notes" not in plain.columns and plain.columns == [c for c in full.columns if c != "notes"]
    assert [[r.get(c) for c in plain.columns] for r in plain.rows] == [[r.get(c) for c in plain.columns]
                                                                       for r in full.rows]
    with_notes = [i for i, r in enumerate(full.rows) if r.get("notes")]
    lines = (tmp_path / "t.csv.notes.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(with_notes) > 0
    assert lines[0] == f"row {with_notes[0]}: {full.rows[with_notes[0]]['notes']}"
    assert "t.csv.notes.txt" in err
    assert all(len(ln) <= 100 for ln in err.splitlines())           # stderr notes are wrapped
    assert main(["table", "sweep-small", "-o", str(tmp_path / "n.csv"), "--notes", "--no-progress"]) == 0
    assert read_csv(tmp_path / "n.csv").rows == full.rows
    assert not (tmp_path / "n.csv.notes.txt").exists()
    capsys.readouterr()
    assert main(["table", "sweep-small", "--format", "latex", "--no-progress"]) == 0
    assert "notes" not in capsys.readouterr().out.splitlines()[2]       # the header row
    t, notes = numbers_only([{"a": 1, "notes": None}])
    assert t.columns == ["a"] and notes == []
