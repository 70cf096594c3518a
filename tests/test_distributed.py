"""The Dask engine: a 2-worker LocalCluster gives the serial tables bit for bit (sweeps and batch files); a
killed worker costs only its tasks; a raising task becomes error rows; checkpoints resume an interrupted run.

Expected values come from the serial engine (the reference the issue names: "the same table as the serial
run") and, for the optima themselves, from the brute force over all sets S of tests/_reference.py."""

from __future__ import annotations

import json
import logging
import os
import pickle

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
torch = pytest.importorskip("torch")

import dask
from _dask_tasks import die_at_2
from _reference import brute_optimum, inclusion, tuple_masses

from lpspec import cli, run_sweep
from lpspec.batched import (
    ChunkTask,
    acceptance_table,
    file_table,
    load_distributions,
    read_rows,
    save_distributions,
    stored_shapes,
)
from lpspec.batched.chunks import plan_chunks
from lpspec.batched.table import ACCEPTANCE_TASK, _acceptance_chunk, _prepare_acceptance
from lpspec.cli import aliases as batch_cli
from lpspec.distributed import TaskRun, map_tasks, require_dask, resolve_engine
from lpspec.experiments.families import family_point
from lpspec.experiments.sweep import _sweep_error_row, _sweep_rows, parse_spec, sweep_jobs, sweep_row
from lpspec.io.export import read_csv, to_csv, to_json

SPEC = {
    "name": "dist-test",
    "seed": 41,
    "families": [
        {"family": "dirichlet", "grid": {"n": [4], "alpha": [0.4, 1.0]}, "replicates": 2},
        {"family": "temperature", "params": {"n": 5, "T_d": 1.5}, "grid": {"top_k": [1, 3]}},
    ],
    "k": [2, 3],
    "laws": ["independent", "without_replacement"],
    "schemes": ["specinfer", "spectr", "sir", "upper_bound"],
}


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster of 2 worker processes for the module (a task is given up after 2 worker deaths)."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      silence_logs=logging.CRITICAL)
    with distributed.Client(lc) as client:
        client.run(lambda: __import__("lpspec.batched.table"))  # warm the workers' imports once
        yield client
    lc.close()


@pytest.fixture(scope="module")
def serial_sweep():
    return run_sweep(SPEC, progress_bar=False)


def _worker_pids(client) -> set:
    return set(client.run(os.getpid).values())


def _file(tmp_path, name, B=20, n=6, K=3, seed=0, different=True, bad_row=None):
    rng = np.random.default_rng(seed)
    q = rng.dirichlet(np.full(n, 0.5), size=B)
    q[:, 0] = 0.0  # a zero-mass token in every row
    q /= q.sum(axis=1, keepdims=True)
    p = rng.dirichlet(np.ones(n), size=(K, B) if different else B)
    if bad_row is not None:
        q[bad_row] = q[bad_row] * 2  # sums to 2: rejected by the batched backend's validation
    return save_distributions(tmp_path / name, target=q, drafts=p)[0], q, p


# ---------------------------------------------------------------------- sweeps
def test_sweep_on_dask_is_the_serial_table_bit_for_bit(cluster, serial_sweep):
    table = run_sweep(SPEC, progress_bar=False, scheduler=cluster.scheduler.address)
    assert to_json(table) == to_json(serial_sweep)  # lossless floats (repr), columns, order and metadata
    assert to_csv(table) == to_csv(serial_sweep)
    grouped = run_sweep(SPEC, progress_bar=False, scheduler=cluster, chunk_size=5)  # 5 rows per task
    assert to_json(grouped) == to_json(serial_sweep)
    statuses = [r["status"] for r in table.rows]
    assert "ok" in statuses and any(s.startswith("not computed") for s in statuses)  # top_k = 1, K = 3 WOR
    # every row is the instance its recorded seed rebuilds: P* by brute force over all sets S
    spec = parse_spec(SPEC)
    checked = 0
    for row in table.rows:
        if row["status"] != "ok":
            continue
        group = next(g for g in spec.families if g.family == row["family"])
        params = {**group.params, **{key: row[key] for key in group.grid}}
        drawn = family_point(row["family"], params, row["seed"]).draw(row["k"])
        masses = tuple_masses(drafts=list(drawn.drafts[0]), k=row["k"], law=row["law"])  # identical drafts
        q = list(drawn.target)
        assert row["optimal_acceptance"] == pytest.approx(brute_optimum(q, masses)[0], abs=1e-12)
        checked += 1
    assert checked >= 12


def test_embedded_cluster_is_started_and_closed(tmp_path):
    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    spec = {**SPEC, "families": SPEC["families"][:1], "k": [2], "laws": ["independent"]}
    table = run_sweep(spec, progress_bar=False, engine="dask", workers=1)
    assert to_csv(table) == to_csv(run_sweep(spec, progress_bar=False))
    after = {p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}
    assert after <= before  # the embedded cluster's worker process is gone


def test_a_raising_sweep_row_becomes_an_error_row(cluster, serial_sweep):
    jobs = sweep_jobs(parse_spec(SPEC))
    head, point, k, law, _ = jobs[3]
    jobs[3] = (head, point, k, law, ("specinfer", "no_such_scheme"))  # KeyError inside evaluate_instance
    run = map_tasks(sweep_row, jobs, scheduler=cluster, on_error=_sweep_error_row)
    assert list(run.errors) == [3] and run.errors[3].startswith("KeyError")
    bad = run.results[3][0]
    assert bad["status"] == "error" and bad["error"] == run.errors[3]
    assert {key: bad[key] for key in head} == head  # the row says which instance failed (its seed included)
    rows = run.rows
    assert rows[:3] + rows[4:] == serial_sweep.rows[:3] + serial_sweep.rows[4:]
    # in a task of several rows, the raising row costs only itself
    grouped = map_tasks(_sweep_rows, [jobs[0:3], jobs[3:6]], scheduler=cluster)
    assert grouped.errors == {} and grouped.rows[3] == bad and grouped.rows[:3] + grouped.rows[4:] == \
        serial_sweep.rows[:3] + serial_sweep.rows[4:6]


# ---------------------------------------------------------------------- batch files
@pytest.mark.parametrize("suffix,different", [(".npy", True), (".safetensors", False)])
def test_batch_file_on_dask_is_the_serial_table(cluster, tmp_path, suffix, different):
    path, q, p = _file(tmp_path, "d" + suffix, different=different)
    opts = {"k": [2, 3], "device": "cpu", "batch_size": 4}
    serial = file_table(path, chunk_size=8, **opts)  # 20 rows: chunks of 8, 8, 4
    dask_t = file_table(path, chunk_size=8, scheduler=cluster, **opts)
    assert to_json(dask_t) == to_json(serial)
    # the same rows as the whole file through acceptance_table (no chunks), and with other chunk sizes
    data = load_distributions(path)
    whole = acceptance_table(target=data.target, drafts=data.drafts, k=[2, 3], device="cpu", batch_size=4)
    assert serial.rows == whole
    assert file_table(path, chunk_size=12, scheduler=cluster, **opts).rows == whole
    summary = file_table(path, chunk_size=8, summary=True, scheduler=cluster, **opts).rows
    assert summary == acceptance_table(target=data.target, drafts=data.drafts, k=[2, 3], device="cpu",
                                       summary=True, batch_size=4)
    with pytest.raises(ValueError, match="multiple of batch_size=4"):
        file_table(path, chunk_size=6, **opts)
    # independent checks: the optimum (identical drafts) by brute force over all sets S, and SpecTr's bound
    # sum_y min(q(y), Pr(y in set(X))) from the enumerated draft tuples
    for row in dask_t.rows[::3]:
        b, K = row["position"], row["k"]
        drafts = [list(p[i, b]) for i in range(K)] if different else list(p[b])
        masses = tuple_masses(drafts=drafts, k=None if different else K)
        bound = sum(min(qy, iy) for qy, iy in zip(q[b], inclusion(masses, len(q[b]))))
        assert row["upper_bound"] == pytest.approx(bound, abs=1e-12)
        if not different:
            assert row["optimal_acceptance"] == pytest.approx(brute_optimum(list(q[b]), masses)[0], abs=1e-12)


def test_workers_get_a_path_and_a_row_range_not_the_data(tmp_path):
    path, q, p = _file(tmp_path, "big.npy", B=400, n=2000, K=2)
    t_shape, d_shape, _ = stored_shapes(path)
    assert (t_shape, d_shape) == ((400, 2000), (2, 400, 2000))
    options = _prepare_acceptance(t_shape, d_shape, k=[2], device="cpu")
    chunks = plan_chunks(path, 400, 128)
    assert [(c.start, c.stop) for c in chunks] == [(0, 128), (128, 256), (256, 384), (384, 400)]
    item = (ACCEPTANCE_TASK, chunks[1], options)
    assert len(pickle.dumps(item)) < 2000  # the file is 19 MB
    part = read_rows(path, 128, 256)
    assert np.array_equal(part.target, q[128:256]) and np.array_equal(part.drafts, p[:, 128:256])
    assert isinstance(part.target, np.ndarray) and not isinstance(part.target, np.memmap)
    with pytest.raises(ValueError, match="rows 390:410"):
        read_rows(path, 390, 410)


# ---------------------------------------------------------------------- faults
def _die_once_prepare(t_shape, d_shape, *, marker, log, **options):
    return {**_prepare_acceptance(t_shape, d_shape, **options), "marker": marker, "log": log}


def _die_once_compute(data, *, start, marker, log, **options):
    """Kill the worker process the first time chunk 8 runs (the marker file remembers it)."""
    with open(log, "a") as f:
        f.write(f"{start}\n")
    if start == 8:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os._exit(1)
    return _acceptance_chunk(data, start=start, **options)


def _task(compute):
    return ChunkTask("die", compute, prepare=_die_once_prepare, error_rows=ACCEPTANCE_TASK.error_rows,
                     sort_key=ACCEPTANCE_TASK.sort_key, summarise=ACCEPTANCE_TASK.summarise)


def test_a_killed_worker_costs_only_its_tasks(cluster, tmp_path):
    path, _, _ = _file(tmp_path, "d.npy")
    marker, log = tmp_path / "died", tmp_path / "log"
    pids = _worker_pids(cluster)
    serial = file_table(path, k=[2, 3], device="cpu", chunk_size=4, batch_size=4)
    table = file_table(path, task=_task(_die_once_compute), k=[2, 3], device="cpu", chunk_size=4, batch_size=4,
                       marker=str(marker), log=str(log), scheduler=cluster, checkpoint=tmp_path / "cp.jsonl")
    assert marker.exists()  # a worker did die
    assert table.rows == serial.rows and "error" not in table.columns  # nothing lost
    runs = [int(line) for line in log.read_text().split()]
    assert runs.count(8) == 2  # the killed task ran again
    assert sorted(set(runs)) == [0, 4, 8, 12, 16]
    cluster.wait_for_workers(2, timeout=60)
    assert _worker_pids(cluster) != pids  # the dead worker was replaced


def test_a_task_that_keeps_killing_workers_ends_as_error_rows(cluster):
    run = map_tasks(die_at_2, range(5), scheduler=cluster)  # the fixture gives up after 2 deaths
    assert list(run.errors) == [2] and run.errors[2].startswith("KilledWorker")
    assert run.results == [[{"x": 0}], [{"x": 1}], [{"error": run.errors[2]}], [{"x": 3}], [{"x": 4}]]
    cluster.wait_for_workers(2, timeout=60)


def test_a_bad_row_costs_only_its_own_rows(cluster, tmp_path):
    path, q, p = _file(tmp_path, "bad.npy", bad_row=5)
    opts = {"k": [2, 3], "device": "cpu", "chunk_size": 8, "batch_size": 8}
    serial = file_table(path, **opts)
    table = file_table(path, scheduler=cluster, **opts)
    assert to_json(table) == to_json(serial)
    bad = [r for r in table.rows if r.get("error")]
    assert [(r["position"], r["k"]) for r in bad] == [(5, 2), (5, 3)]
    assert all(r["error"].startswith("ValueError") and "sum" in r["error"] for r in bad)
    good = np.delete(np.arange(20), 5)
    ref = acceptance_table(target=q[good], drafts=p[:, good], k=[2, 3], device="cpu")
    rows = [r for r in table.rows if not r.get("error")]
    assert [(r["position"], r["k"]) for r in rows] == [(int(good[r["position"]]), r["k"]) for r in ref]
    for r, e in zip(rows, ref):  # rows of the bad chunk were computed one by one: last bits may differ
        assert r.keys() == e.keys() and all(
            r[c] == e[c] if e[c] is None or isinstance(e[c], str) else r[c] == pytest.approx(e[c], rel=1e-13, abs=1e-15)
            for c in r if c not in ("position", "k"))
    summary = file_table(path, summary=True, **opts).rows
    assert [(r["k"], r["positions"], r["errors"]) for r in summary] == [(2, 19, 1), (3, 19, 1)]


def test_generic_tasks_raise_into_error_rows_on_both_engines(cluster):
    for scheduler in (None, cluster):
        run = map_tasks(_inverse, [1, 0, 4], scheduler=scheduler, engine="dask" if scheduler else "serial")
        assert run.results == [[{"inv": 1.0}], [{"error": "ZeroDivisionError: division by zero"}],
                               [{"inv": 0.25}]]
        assert run.errors == {1: "ZeroDivisionError: division by zero"}


def _inverse(x):
    return [{"inv": 1 / x}]


# ---------------------------------------------------------------------- checkpoints and resume
def _interrupt_at_3(x):
    if x == 3:
        raise KeyboardInterrupt  # the user pressed ^C (not an error row: the run stops)
    return [{"x": x, "sq": x * x / 7}]


def _square(x):
    return [{"x": x, "sq": x * x / 7}]


def test_resume_after_an_interrupted_run(cluster, tmp_path):
    cp = tmp_path / "run.checkpoint.jsonl"
    with pytest.raises(KeyboardInterrupt):
        map_tasks(_interrupt_at_3, range(8), checkpoint=cp, run_id="r1")
    lines = cp.read_text().splitlines()
    assert len(lines) == 4  # header + tasks 0, 1, 2, written as they finished
    with open(cp, "a") as f:
        f.write('{"task": 7, "ro')  # torn line: the process was killed while writing
    with pytest.raises(ValueError, match="resume it"):
        map_tasks(_square, range(8), checkpoint=cp, run_id="r1")  # nothing computed is overwritten
    with pytest.raises(ValueError, match="another run"):
        map_tasks(_square, range(8), checkpoint=cp, run_id="r2", resume=True)
    with pytest.raises(ValueError, match="another run"):
        map_tasks(_square, range(9), checkpoint=cp, run_id="r1", resume=True)  # other items: another run
    run = map_tasks(_square, range(8), checkpoint=cp, run_id="r1", resume=True, scheduler=cluster)
    assert isinstance(run, TaskRun) and run.resumed == 3
    assert run.rows == [{"x": x, "sq": x * x / 7} for x in range(8)]
    again = map_tasks(_square, range(8), checkpoint=cp, run_id="r1", resume=True)  # the torn line is gone
    assert again.resumed == 8 and again.results == run.results


def test_cli_resume_skips_finished_rows_and_keeps_bits(cluster, tmp_path, capsys):
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(SPEC))
    out = tmp_path / "t.csv"
    assert cli.main(["table", str(spec_path), "-o", str(out), "--quiet"]) == 0
    full = out.read_text()
    assert not (tmp_path / "t.csv.checkpoint.jsonl").exists()  # removed once the output holds everything
    # an interrupted run: its checkpoint holds the first 5 rows, one of them marked so we can see it is reused
    cp = tmp_path / "t.csv.checkpoint.jsonl"
    run_sweep(spec_path, progress_bar=False, checkpoint=cp)  # the API keeps its checkpoint
    lines = cp.read_text().splitlines()
    assert len(lines) == 1 + len(read_csv(full).rows)
    rec = json.loads(lines[1])
    rec["rows"][0]["optimal_acceptance"] = 0.125  # a hand edit: its digest no longer matches
    cp.write_text("\n".join([lines[0], json.dumps(rec), *lines[2:6]]) + "\n")
    out.unlink()
    assert cli.main(["table", str(spec_path), "-o", str(out), "--quiet", "--resume", "--scheduler",
                     cluster.scheduler.address]) == 0
    assert f"{cp}:2: its sha256 digest does not match" in capsys.readouterr().err  # recomputed, and said so
    assert out.read_text() == full  # bit for bit: the edited row recomputed, the 4 others taken as they were
    assert not cp.exists()


def test_batch_cli_engine_options(cluster, tmp_path, capsys):
    path, _, _ = _file(tmp_path, "d.npy", bad_row=3)
    out, out2 = tmp_path / "s.csv", tmp_path / "d.csv"
    args = [str(path), "-k", "2", "--device", "cpu", "--chunk-size", "5", "--batch-size", "5", "--quiet"]
    assert batch_cli.batched_main([*args, "--output", str(out)]) == 1  # a bad row: exit 1, the rest is written
    assert "1 row(s) could not be computed" in capsys.readouterr().err
    assert (tmp_path / "s.csv.checkpoint.jsonl").exists()  # kept after a failure
    address = cluster.scheduler.address
    assert cli.main(["batch", *args, "--output", str(out2), "--scheduler", address]) == 1
    assert out.read_text() == out2.read_text()
    assert batch_cli.batched_main([*args, "--output", str(out), "--resume", "--scheduler", address]) == 1
    assert out.read_text() == out2.read_text()
    capsys.readouterr()
    for bad, message in ((["--workers", "0"], "--workers 0"),
                         (["--engine", "serial", "--workers", "2"], "--engine dask"),
                         (["--resume"], "--resume needs"),
                         (["--scheduler", address, "--workers", "2"], "Drop one")):
        assert batch_cli.batched_main([*args, *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
    assert cli.main(["table", "sweep-small", "--engine", "serial", "--scheduler", address]) == 2


def test_engine_errors_and_progress(monkeypatch, capsys):
    assert resolve_engine(None, scheduler="tcp://h:1") == "dask"
    with pytest.raises(ValueError, match="engine='spark'"):
        resolve_engine("spark")
    with pytest.raises(ValueError, match="scheduler=3"):
        resolve_engine("dask", scheduler=3)
    map_tasks(_square, range(3), progress_bar=True, desc="squares")
    assert "squares" in capsys.readouterr().err  # tqdm writes to stderr
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(ImportError, match=r"lpspec\[dask\]"):
        require_dask()
    with pytest.raises(ImportError, match=r"lpspec\[dask\]"):
        map_tasks(_square, range(3), engine="dask")


@pytest.mark.slow
def test_killed_command_resumes_to_the_same_file(tmp_path):
    """`lpspec batch --engine dask` killed with SIGKILL mid-run, then `--resume`: the serial file, byte for byte."""
    import signal
    import subprocess
    import sys
    import time

    path, _, _ = _file(tmp_path, "d.npy", B=48, n=20_000, K=2)
    out, ref = tmp_path / "t.csv", tmp_path / "ref.csv"
    cp = tmp_path / "t.csv.checkpoint.jsonl"
    base = [sys.executable, "-m", "lpspec", "batch", str(path), "-k", "2", "--batch-size", "4", "--quiet"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([*base, "--workers", "2", "--output", str(out)], env=env, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if cp.exists() and len(cp.read_text().splitlines()) >= 3:  # header + 2 chunks
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.2)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    done = len(cp.read_text().splitlines()) - 1
    assert 2 <= done < 12
    subprocess.run([*base, "--workers", "2", "--output", str(out), "--resume"], env=env, check=True,
                   stderr=subprocess.DEVNULL)
    subprocess.run([*base, "--output", str(ref)], env=env, check=True)
    assert out.read_bytes() == ref.read_bytes() and not cp.exists()
