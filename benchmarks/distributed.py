"""Benchmark of the Dask engine against the serial engine: a sweep and a batch file, in one process.

For each workload the serial engine (``engine="serial"``, the baseline) runs first; then an embedded
``LocalCluster`` of 1 worker process and one of 2 worker processes (or, with ``--scheduler``, a running
cluster) run the same tasks. Reported per engine: the cluster's start-up (processes, imports on the workers),
the run time on the warm cluster, the speed-up over serial (run alone, and with the start-up), and the
overhead per task ``(run time on 1 worker - serial time) / tasks`` — what scheduling, pickling and the
round-trips add to each task. A batch of no-op tasks measures the bare per-task cost. Every table is checked
to be the serial table, bit for bit.

Workloads (defaults; ``--quick`` for a smoke run):

* sweep: Dirichlet instances, n = 8, 8 replicates, K ∈ {2, 3, 4}, laws independent and without replacement,
  schemes SpecInfer, SpecTr, SIR (enumerating up to 8^4 draft tuples), upper bound — 48 rows, one task each;
* batch file: an ``.npy`` pair of B = 64 positions × n = 64 000 tokens (float32, 2 different drafts), K = 2,
  ``--batch-size`` 8 — 8 chunks, each read by its worker from the memory-mapped file.

Times are the best of ``--repeat`` runs (default 2). The serial engine runs torch with its default number of
threads; Dask's worker processes run with one thread each (the nanny sets ``OMP_NUM_THREADS=1``).

Run::

    python benchmarks/distributed.py                    # the figures in benchmarks/README.md
    python benchmarks/distributed.py --quick            # a smoke run (seconds)
    python benchmarks/distributed.py --scheduler tcp://scheduler-host:8786   # a real cluster (shared /tmp or --dir)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# this file is named distributed.py: keep its folder off the path so that `import distributed` is Dask's
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from lpspec.batched import file_table, save_distributions  # noqa: E402
from lpspec.distributed import dask_client, map_tasks  # noqa: E402
from lpspec.experiments.sweep import run_sweep  # noqa: E402
from lpspec.io.export import to_json  # noqa: E402


def _warm():
    import torch  # noqa: F401

    import lpspec.batched.table  # noqa: F401


def _noop(x):
    return [{"x": x}]


def sweep_spec(quick: bool) -> dict:
    return {"name": "bench", "seed": 5,
            "families": [{"family": "dirichlet", "grid": {"n": [6] if quick else [8]},
                          "replicates": 2 if quick else 8}],
            "k": [2, 3] if quick else [2, 3, 4], "laws": ["independent", "without_replacement"],
            "schemes": ["specinfer", "spectr", "sir", "upper_bound"]}


def batch_file(directory: Path, quick: bool) -> Path:
    B, n = (16, 4000) if quick else (64, 64_000)
    rng = np.random.default_rng(0)
    z = 3 * rng.standard_normal((B, n))
    q = np.exp(z - z.max(axis=1, keepdims=True))
    q /= q.sum(axis=1, keepdims=True)
    d = np.exp(z[None] + rng.standard_normal((2, B, n)))
    d /= d.sum(axis=2, keepdims=True)
    return save_distributions(directory / "bench.npy", target=q.astype(np.float32), drafts=d.astype(np.float32))[0]


def timed(fn, repeat: int = 1):
    """``(best time of repeat runs, output of the last)``."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small workloads (a smoke run)")
    ap.add_argument("--scheduler", default=None, help="a running cluster instead of the embedded ones")
    ap.add_argument("--dir", default=None, help="directory for the batch file (shared with the workers)")
    ap.add_argument("--noop-tasks", type=int, default=200, help="no-op tasks for the bare per-task cost")
    ap.add_argument("--repeat", type=int, default=2, help="runs per measurement; the best is reported")
    args = ap.parse_args(argv)

    spec = sweep_spec(args.quick)
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="lpspec-bench-"))
    path = batch_file(workdir, args.quick)
    bopts = {"k": [2], "batch_size": 4 if args.quick else 8, "device": "cpu"}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    import torch

    threads = torch.get_num_threads()
    serial, serial1 = {}, {}
    serial["sweep"] = timed(lambda: run_sweep(spec, progress_bar=False), args.repeat)
    serial["batch"] = timed(lambda: file_table(path, **bopts), args.repeat)
    torch.set_num_threads(1)  # like for like with a Dask worker (one thread)
    serial1["sweep"] = timed(lambda: run_sweep(spec, progress_bar=False), args.repeat)
    serial1["batch"] = timed(lambda: file_table(path, **bopts), args.repeat)
    torch.set_num_threads(threads)
    tasks = {"sweep": len(serial["sweep"][1]), "batch": -(-int(serial["batch"][1].metadata["positions"])
                                                         // bopts["batch_size"]), "no-op": args.noop_tasks}
    serial["no-op"] = serial1["no-op"] = timed(lambda: map_tasks(_noop, range(args.noop_tasks)), args.repeat)

    configs = [("cluster", None)] if args.scheduler else [("1 worker", 1), ("2 workers", 2)]
    results = []
    for label, workers in configs:
        t0 = time.perf_counter()
        with dask_client(args.scheduler, workers) as client:
            client.run(_warm)  # the workers import lpspec and torch
            startup = time.perf_counter() - t0
            nworkers = len(client.scheduler_info()["workers"])
            for name, fn in (("sweep", lambda: run_sweep(spec, progress_bar=False, scheduler=client)),
                             ("batch", lambda: file_table(path, scheduler=client, **bopts)),
                             ("no-op", lambda: map_tasks(_noop, range(args.noop_tasks), scheduler=client))):
                t, table = timed(fn, args.repeat)
                same = name == "no-op" or to_json(table) == to_json(serial[name][1])
                results.append((name, label, nworkers, startup, t, same))

    after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"### `distributed.py` — {platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}, "
          f"1-minute load average {load:.1f} before, {after:.1f} after; best of {args.repeat}"
          f"{' (quick)' if args.quick else ''}\n")
    print(f"Tasks: sweep {tasks['sweep']} rows; batch file {serial['batch'][1].metadata['positions']} positions "
          f"in {tasks['batch']} chunks; {tasks['no-op']} no-op tasks. *serial* runs torch with its default "
          f"{threads} threads, *serial, 1 thread* with one (like a Dask worker); speed-ups are serial time / "
          "Dask time; the overhead per task is (Dask time - serial 1-thread time) / tasks.\n")
    print("| workload | engine | start-up (s) | run (s) | speed-up vs serial | vs serial, 1 thread "
          "| vs serial, with start-up | overhead / task (ms) | same table |")
    print("|---|---|---:|---:|---:|---:|---:|---:|:-:|")
    for name in ("sweep", "batch", "no-op"):
        print(f"| {name} | serial | | {serial[name][0]:.3f} | 1.00 | | | | |")
        if name != "no-op":
            print(f"| {name} | serial, 1 thread | | {serial1[name][0]:.3f} | {serial[name][0] / serial1[name][0]:.2f} "
                  "| 1.00 | | | |")
        for rname, label, nworkers, startup, t, same in results:
            if rname != name:
                continue
            over = f"{(t - serial1[name][0]) / tasks[name] * 1e3:.1f}" if nworkers == 1 else ""
            print(f"| {name} | dask, {label} | {startup:.2f} | {t:.3f} | {serial[name][0] / t:.2f} | "
                  f"{serial1[name][0] / t:.2f} | {serial[name][0] / (t + startup):.2f} | {over} | "
                  f"{'yes' if same else 'NO'} |")
    return 0 if all(r[5] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
