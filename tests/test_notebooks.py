"""Execute the notebooks (jupytext percent-format ``.py`` files) as scripts under matplotlib's Agg backend.

Each notebook asserts its own numbers as it goes and prints ``notebook NN OK`` as its last line; a notebook that
fails, or stops early, fails here. The notebooks are also read back with jupytext, when it is installed, to
check that they are valid percent-format notebooks.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.py"))


def test_the_four_notebooks_exist():
    names = [p.name for p in NOTEBOOKS]
    assert names == ["01_theorems_tour.py", "02_test_your_scheme.py", "03_vocabulary_scale.py", "04_block_ceiling.py"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    pytest.importorskip("matplotlib")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    env.pop("PYTHONSTARTUP", None)
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    last = proc.stdout.strip().splitlines()[-1]
    assert last == f"notebook {path.name[:2]} OK", proc.stdout[-2000:]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_jupytext_percent(path):
    jupytext = pytest.importorskip("jupytext")
    nb = jupytext.read(path)
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds.count("markdown") >= 4 and kinds.count("code") >= 4
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "percent"


def test_vocabulary_notebook_falls_back_to_numpy(tmp_path):
    """Notebook 03 without torch (import blocked): the NumPy sorted-prefix path runs and checks itself."""
    path = next(p for p in NOTEBOOKS if p.name.startswith("03_"))
    code = ("import sys, runpy; sys.modules['torch'] = None; "
            f"runpy.run_path({str(path)!r}, run_name='__main__')")
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("PYTHONSTARTUP", None)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "backend: numpy (cpu)" in proc.stdout and proc.stdout.strip().endswith("notebook 03 OK")
