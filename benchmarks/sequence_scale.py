"""Benchmark of the two exact cut generations for the block LP P3 (τ*, issue 17 "Scale").

On random Dirichlet(1) chains (seed 0, start token 0, L = 3, K = 4) of growing vocabulary n, per tree:

* ``p3-lambda`` (cut generation over the slope λ, the default of ``block_optimum``) and ``p3-antichain`` (over
  single antichain rows), each through :func:`lpspec.sequence.block_bounds` with the same time limit: seconds,
  rounds, τ* when it converged, else the certified interval ``lower <= τ* <= upper`` and its gap;
* the baseline timed in the same process: one pass of :func:`lpspec.sequence.block_upper_bound` (the greedy
  singleton relaxation, linear in the tree); every time is also printed as a ratio to it (timings are noisy on
  a shared CPU: compare ratios and the two methods on the same line).

Run::

    python benchmarks/sequence_scale.py                  # the figures in benchmarks/README.md
    python benchmarks/sequence_scale.py --sizes 5 8      # a smoke run
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lpspec.sequence import block_bounds, block_upper_bound  # noqa: E402
from lpspec.sequence.tree import tree_size  # noqa: E402


def chains(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(n), size=n), rng.dirichlet(np.ones(n), size=n)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 10, 20, 50])
    ap.add_argument("--length", type=int, default=3)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--methods", nargs="+", default=["p3-lambda", "p3-antichain"])
    args = ap.parse_args(argv)
    print(f"# {platform.python_version()} on {platform.machine()}; Dirichlet(1) chains, seed 0, start 0; timings "
          "noisy (shared CPU): ratios against the greedy singleton bound timed in the same process")
    L, K = args.length, args.k
    for n in args.sizes:
        q, p = chains(n)
        t = time.perf_counter()
        ub = block_upper_bound(target=q, drafts=p, start=0, k=K, length=L)
        t0 = time.perf_counter() - t
        for m in args.methods:
            t = time.perf_counter()
            try:
                b = block_bounds(target=q, drafts=p, start=0, k=K, length=L, time_limit=args.time_limit, method=m)
            except Exception as exc:  # an honest failure of a method is a result too
                print(f"n={n} L={L} K={K} nodes={tree_size(n, L):,} {m}: FAILED after "
                      f"{time.perf_counter() - t:.1f}s: {type(exc).__name__}: {str(exc)[:100]}", flush=True)
                continue
            sec = time.perf_counter() - t
            what = (f"tau*={b.upper:.10f} (feasible {b.lower:.10f})" if b.converged else
                    f"{b.lower:.8f} <= tau* <= {b.upper:.8f}")
            print(f"n={n} L={L} K={K} nodes={tree_size(n, L):,} {m}: {what} gap={b.gap:.1e} converged={b.converged} "
                  f"rounds={b.rounds} cuts={b.cuts} time={sec:.2f}s ratio_to_baseline={sec / max(t0, 1e-9):.0f}x "
                  f"singleton_bound={ub:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
