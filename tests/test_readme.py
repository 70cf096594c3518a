"""README.md stays true: its code runs, and .ci/run runs exactly its test command."""

import re
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command():
    ci_lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    test_cmd = [ln for ln in ci_lines if ln.endswith("&& pytest")]
    assert len(test_cmd) == 1, ".ci/run must contain exactly one test command ending in '&& pytest'"
    readme_cmds = [ln.strip() for b in _blocks("bash") for ln in b.splitlines() if ln.strip().endswith("pytest")]
    assert len(readme_cmds) == 1
    assert readme_cmds[0].endswith(test_cmd[0]), (readme_cmds[0], test_cmd[0])
    assert "torch==2.13.0" in test_cmd[0]


def test_readme_python_blocks_run(capsys):
    for block in _blocks("python"):
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    # the first printed line is P* for Figure 2 (left, q2 = 0): 8/9 by docs/theory.md §7, with the cut S = {1}
    first = out.splitlines()[0]
    assert first == f"{Fraction(8, 9)} (1,)"
