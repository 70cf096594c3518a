"""lpspec.core.progress: one progress helper (tqdm optional, on only on a terminal or when forced), used by the CLI."""

import sys

import numpy as np
import pytest

from lpspec.core.progress import ENV_VAR, NullBar, progress, progress_bar, progress_callback, progress_enabled


def test_enabled_rule(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert progress_enabled() is False and progress_enabled(True) is True
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress_enabled() is True and progress_enabled(False) is False
    monkeypatch.setenv(ENV_VAR, "0")
    assert progress_enabled() is False
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    monkeypatch.setenv(ENV_VAR, "1")
    assert progress_enabled() is True and progress_enabled(False) is False


def test_without_tqdm_everything_is_a_silent_no_op(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as if tqdm were not installed
    items = [1, 2, 3]
    assert progress(items, enabled=True) is items
    bar = progress_bar(total=3, enabled=True)
    assert isinstance(bar, NullBar) and not bar
    progress_callback(bar, every=10)({"nodes": 10, "best": 0.5})
    assert capsys.readouterr().err == ""


def test_bar_and_callback_draw_on_stderr(capsys):
    pytest.importorskip("tqdm")
    assert list(progress([4, 5], total=2, desc="wrapped", enabled=True)) == [4, 5]
    bar = progress_bar(total=None, desc="search", enabled=True, unit="node")
    callback = progress_callback(bar, every=1000)
    for i in range(1, 4):
        callback({"nodes": 1000 * i, "open": 7, "best": 0.125})
    assert bar.n == 3000            # counts nodes, not calls
    bar.refresh()
    bar.close()
    err = capsys.readouterr().err
    assert "wrapped" in err and "search" in err and "best=0.125" in err
    assert isinstance(progress_bar(total=3, enabled=False), NullBar)


def test_cli_blocks_progress_flags(capsys):
    pytest.importorskip("tqdm")
    from lpspec.cli import main

    args = ["blocks", "--example", "stdlib-docs", "--vocabulary", "60", "-k", "1", "2", "-L", "1",
            "--schemes", "specinfer", "--format", "csv"]
    assert main(args + ["--progress"]) == 0
    shown = capsys.readouterr()
    assert "blocks specinfer" in shown.err and "table" in shown.err   # 2 tables (j = 2, 1) counted
    assert main(args + ["--no-progress"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and quiet.out == shown.out
    assert main(args + ["--quiet"]) == 0
    assert capsys.readouterr().err == ""
    # the numbers are those of the API without a bar: K = 1 acceptance = sum_c start(c) sum_y min(q, p)(y | c)
    from lpspec.sequence.corpus import load_pair

    pair = load_pair("stdlib-docs", n=60)
    want = float(pair.start @ np.minimum(pair.target, pair.draft).sum(axis=1))
    row = [ln for ln in shown.out.splitlines() if ln.startswith("specinfer,1,1,")][0]
    assert abs(float(row.split(",")[3]) - want) < 1e-12
