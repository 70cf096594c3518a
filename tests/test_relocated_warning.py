"""The DeprecationWarning of an old module path is shown under Python's default warning filters: it is
attributed to the user's line (``__main__``), not to ``sys:1`` or a frame inside lpspec, where the default
filters silence it (review of the 0.3 re-layout)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("line", ["import lpspec.optimum",
                                  "from lpspec.blocks import block_efficiency",
                                  "import lpspec; lpspec.markov"])
def test_old_path_warning_is_visible_in_a_script(tmp_path, line):
    script = tmp_path / "user_script.py"
    script.write_text(line + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert f"{script}:1: DeprecationWarning: lpspec." in out.stderr, out.stderr
    assert "the old path will be removed" in out.stderr
