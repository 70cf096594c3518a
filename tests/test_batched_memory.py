"""lpspec.batched.memory: the peak-memory estimate before batched work, and the refusal beyond the budget."""

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lpspec.batched.memory import (
    BASE_MEMORY,
    WORK_ARRAYS,
    MemoryBudgetError,
    check_memory,
    estimate_memory,
    memory_budget,
    parse_memory,
)

ROOT = Path(__file__).resolve().parents[1]


def test_estimate_is_the_stated_sum():
    n, rows = 256_000, 256
    # 2 stored float64 arrays of the chunk + WORK_ARRAYS working float64 arrays of the batch, plus the base
    want = BASE_MEMORY + rows * n * 8 * 2 + rows * n * 8 * WORK_ARRAYS
    assert estimate_memory(n, chunk_rows=rows, batch_rows=rows) == want
    # K = 4 different drafts stored as float32, computed in float32, a whole .pt file of 1 GiB
    assert estimate_memory(n, chunk_rows=rows, batch_rows=64, draft_arrays=4, stored_itemsize=4,
                           compute_itemsize=4, whole_file_bytes=2**30) == (BASE_MEMORY + 2**30 + rows * n * 4 * 5
                                                                            + 64 * n * 4 * WORK_ARRAYS)


def test_budget_sources_and_parsing(monkeypatch):
    assert parse_memory("1.5G") == 3 * 2**29 and parse_memory("100") == 100 and parse_memory("2 kb") == 2048
    for bad in ("lots", "-1G", "0", "3 parsecs"):
        with pytest.raises(ValueError, match="memory"):
            parse_memory(bad)
    monkeypatch.setenv("LPSPEC_MEMORY_BUDGET", "3G")
    assert memory_budget() == 3 * 2**30 and memory_budget("1G") == 2**30
    monkeypatch.delenv("LPSPEC_MEMORY_BUDGET")
    assert memory_budget() > 0


def test_refusal_names_the_estimate_and_a_chunk_size_that_fits():
    n = 256_000
    with pytest.raises(MemoryBudgetError, match=r"peak memory 6\.2 GiB .*above the budget of 2\.0 GiB") as e:
        check_memory(n, chunk_rows=256, batch_rows=256, budget="2G")
    rows = int(str(e.value).split("--chunk-size ")[1].split()[0])
    assert rows & (rows - 1) == 0                                          # a power of two
    assert estimate_memory(n, chunk_rows=rows, batch_rows=rows) <= 2 * 2**30 < estimate_memory(
        n, chunk_rows=2 * rows, batch_rows=2 * rows)                       # the largest that fits
    with pytest.raises(MemoryBudgetError, match="even one row does not fit"):
        check_memory(n, chunk_rows=8, batch_rows=8, budget="100M")


def _file(tmp_path, B=8, n=2000):
    from lpspec.batched import save_distributions

    rng = np.random.default_rng(0)
    q = rng.random((B, n))
    q /= q.sum(1, keepdims=True)
    p = rng.random((B, n))
    p /= p.sum(1, keepdims=True)
    path = tmp_path / "d.npy"
    save_distributions(path, target=q, drafts=p)
    return path


def test_cli_refuses_beyond_the_budget_before_any_work(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")
    from lpspec.cli import main

    path = _file(tmp_path)
    base = ["batch", str(path), "-k", "2", "--device", "cpu", "-o", str(tmp_path / "t.csv")]
    assert main(base + ["--memory-budget", "200M"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lpspec: error: estimated peak memory")
    assert "--memory-budget" in err[0] and "LPSPEC_MEMORY_BUDGET" in err[0] and "budget of 200.0 MiB" in err[0]
    assert not (tmp_path / "t.csv").exists()
    monkeypatch.setenv("LPSPEC_MEMORY_BUDGET", "200M")
    assert main(base) == 2
    assert "estimated peak memory" in capsys.readouterr().err
    assert main(base + ["--memory-budget", "4G"]) == 0                    # the option raises the env budget
    assert main(base[:-2] + ["--memory-budget", "lots"]) == 2
    assert "not a memory size" in capsys.readouterr().err


@pytest.mark.slow
def test_estimate_bounds_the_measured_peak(tmp_path):
    """Peak RSS of `lpspec batch` in a child process (getrusage) stays below the estimate and above 60 % of it."""
    B, n = 64, 256_000
    path = _file(tmp_path, B, n)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-m", "lpspec", "batch", str(path), "-k", "2", "4", "8", "--device", "cpu",
                    "-o", str(tmp_path / "t.csv"), "--no-progress"], check=True, cwd=ROOT,
                   env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024   # KiB on Linux
    assert peak > before * 1024
    estimate = estimate_memory(n, chunk_rows=B, batch_rows=B)
    assert 0.6 * estimate < peak < estimate, (peak / 2**20, estimate / 2**20)


def test_in_memory_acceptance_table_checks_its_batch():
    pytest.importorskip("torch")
    from lpspec.batched import acceptance_table

    q = np.full((4, 1000), 1e-3)
    kw = dict(target=q, drafts=q, k=[2], schemes=["optimal"], device="cpu")
    with pytest.raises(MemoryBudgetError, match="estimated peak memory"):
        acceptance_table(**kw, memory_budget="100M")                  # the base alone is 300 MiB
    rows = acceptance_table(**kw, memory_budget=False)
    assert [r["optimal_acceptance"] for r in rows] == pytest.approx([1.0] * 4)   # q = p: P* = 1
