"""README.md stays true: its code runs, its printed numbers are checked independently, and .ci/run runs exactly
its test command. (Every other fenced block of README.md and docs/ runs in tests/test_docs.py.)"""

import re
from fractions import Fraction
from pathlib import Path

import numpy as np

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


def test_readme_install_advice_matches_lpspec_error_message():
    """The CPU-only sentence names the same index as lpspec's own missing-torch error."""
    import inspect

    from lpspec.batched import _torch

    index = "https://download.pytorch.org/whl/cpu"
    assert index in inspect.getsource(_torch.require_torch)
    assert f'pip install "torch==2.13.0" --index-url {index}' in README
    assert "A CUDA machine" in README and "A CPU-only machine elsewhere" in README


def _specinfer_acceptance(q, p, k):
    """SpecInfer (recursive rejection sampling) with K i.i.d. drafts, written here: at round i the draft is
    accepted with probability beta_i = sum min(r_i, p), else the residual becomes (r_i - p)^+ / (1 - beta_i)."""
    r, reject = np.asarray(q, dtype=float), 1.0
    for _ in range(k):
        beta = np.minimum(r, p).sum()
        reject *= 1.0 - beta
        if beta >= 1.0:
            return 1.0
        r = np.maximum(r - p, 0.0) / (1.0 - beta)
    return 1.0 - reject


def test_readme_python_blocks_run(capsys):
    outputs = []
    for block in _blocks("python"):
        scope = {}
        exec(compile(block, "README.md", "exec"), scope)
        outputs.append((scope, capsys.readouterr().out))
    # the first printed line is P* for Figure 2 (left, q2 = 0): 8/9 by docs/theory.md §7, with the cut S = {1}
    first = outputs[0][1].splitlines()[0]
    assert first == f"{Fraction(8, 9)} (1,)"
    # the vocabulary-scale example: P* visibly below 1 and above SpecInfer and SpecTr; the printed line matches
    # the comment in the README, and SpecInfer's value is recomputed here by its own recursion
    scope, out = next((s, o) for s, o in outputs if "optimal_verifier" in repr(s.get("v")) or "others" in s)
    star, specinfer, spectr = (float(x) for x in out.split())
    assert f"{star} {specinfer} {spectr}" in README
    assert star < 0.95 and star > max(specinfer, spectr) + 0.05 and spectr > specinfer
    assert abs(_specinfer_acceptance(scope["q"], scope["p"], 4) - scope["others"]["specinfer"]) < 1e-12
    assert abs(scope["accepted"].mean() - star) < 0.005     # 200 000 sampled rows of the verifier
