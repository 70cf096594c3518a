"""Benchmark: ``P*`` for K *different* independent drafts — the AM–GM first stage, then branch and bound.

Run: ``python benchmarks/nonidentical.py [--quick] [--seed S] [--bb-seconds S] [--lp]``. Prints one Markdown
table: for each vocabulary size n, number of drafts K and family, the time of
``optimal_acceptance(method="submodular")`` (every certificate check included) as seconds and as a ratio to a
bare ``np.argsort`` of ``n`` floats timed in the same process (the baseline: timings on shared cores are noisy,
compare ratios), the stage that decided (``amgm``: the AM–GM bound closed the interval; ``b&b``: the branch and
bound took the remaining gap), the number of sorts and boxes, the width of the certified interval
``[lower, upper]`` and ``P*``. ``--bb-seconds S`` also runs the branch and bound alone (``first_stage=False``,
the path before the AM–GM stage) with a budget of S seconds per instance: its time, or "stopped" with the
width of the interval it had certified. ``--lp`` adds the LP (edge form, K = 2, n = 300) as an independent
check of the value.

Families (target ``q = softmax(z)``, ``z = 3·N(0, 1)`` logits, LM-like, unless said otherwise):

* ``temperatures`` — the same model at temperatures 0.7, 1.3, 1.0, 1.6 (the first K);
* ``models`` — ``softmax(z + ε_k)``, ``ε_k ~ N(0, 1)``;
* ``dirichlet`` — ``q`` and every draft Dirichlet(0.5);
* ``close1``/``close2``/``close3`` — drafts within 1/2/3 % of the target:
  ``softmax(z·(1 + e·(k+1)/K) + e·N(0, 1))`` with ``e`` = 0.01/0.02/0.03 (``P* = 1``, nearly every token tied
  along one multiplier plane: the branch and bound's hardest case, 54–370 s at K = 4 before the first stage).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import lpspec
from lpspec.core.instance import make_instance
from lpspec.solvers.submodular import SearchBudgetExceeded, submodular_optimum

TEMPS = (0.7, 1.3, 1.0, 1.6)
FAMILIES = ("temperatures", "models", "dirichlet", "close1", "close2", "close3")


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def family(name: str, n: int, K: int, rng: np.random.Generator):
    if name == "dirichlet":
        return rng.dirichlet(np.full(n, 0.5)), [rng.dirichlet(np.full(n, 0.5)) for _ in range(K)]
    z = 3.0 * rng.standard_normal(n)
    q = softmax(z)
    if name == "temperatures":
        return q, [softmax(z / t) for t in TEMPS[:K]]
    if name.startswith("close"):
        e = 0.01 * int(name[-1])
        return q, [softmax(z * (1 + e * (k + 1) / K) + e * rng.standard_normal(n)) for k in range(K)]
    return q, [softmax(z + rng.standard_normal(n)) for _ in range(K)]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def argsort_seconds(n: int, rng) -> float:
    x = rng.random(n)
    return min(timed(lambda: np.argsort(x))[0] for _ in range(7))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 2000 only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bb-seconds", type=float, default=0.0,
                    help="also run the branch and bound alone with this budget per instance (0: skip)")
    ap.add_argument("--lp", action="store_true", help="also check the value against the LP at n = 300, K = 2")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    sizes = [2000] if args.quick else [2000, 5000, 10000]
    load = os.getloadavg()[0]
    flags = "".join(f" --{f}" for f in ("quick", "lp") if getattr(args, f))
    flags += f" --bb-seconds {args.bb_seconds:g}" if args.bb_seconds else ""
    print(f"`python benchmarks/nonidentical.py{flags}` — {platform.machine()}, {os.cpu_count()} cpus, "
          f"1-minute load average {load:.1f} before (other jobs shared the cores).\n")
    bb_head = " B&B alone (s) |" if args.bb_seconds else ""
    print(f"| n | K | family | time (s) | × argsort | stage | sorts | boxes | certified width | P* |{bb_head}")
    print("|---:|---:|---|---:|---:|---|---:|---:|---:|---:|" + ("---:|" if args.bb_seconds else ""))
    worst = 0.0
    for n in sizes:
        base = argsort_seconds(n, rng)
        for K in (2, 3, 4):
            for fam in FAMILIES:
                q, drafts = family(fam, n, K, rng)
                t, res = timed(lambda: lpspec.optimal_acceptance(target=q, drafts=drafts, method="submodular"))
                worst = max(worst, t)
                lo, hi = res.details["bounds"]
                stage = "amgm" if res.details["stage"] == "amgm" else "b&b"
                cell = ""
                if args.bb_seconds:
                    inst = make_instance(target=q, drafts=drafts)
                    try:
                        tb, _ = timed(lambda: submodular_optimum(inst, first_stage=False,
                                                                 max_seconds=args.bb_seconds))
                        cell = f" {tb:.2f} |"
                    except SearchBudgetExceeded as exc:
                        cell = f" stopped at {exc.seconds:.0f} s, width {exc.bounds[1] - exc.bounds[0]:.1e} |"
                print(f"| {n:,} | {K} | {fam} | {t:.3f} | {t / base:,.0f} | {stage} | {res.details['sorts']} | "
                      f"{res.details['nodes']} | {hi - lo:.1e} | {float(res.value):.12f} |{cell}", flush=True)
    if args.lp:
        for fam in FAMILIES[:3]:
            q, drafts = family(fam, 300, 2, rng)
            res = lpspec.optimal_acceptance(target=q, drafts=drafts, method="submodular")
            lp = lpspec.solve_lp(target=q, drafts=drafts, form="edge")
            print(f"\nLP check, n = 300, K = 2, {fam}: |P* - LP| = {abs(float(lp.value) - float(res.value)):.1e}")
    print(f"\nSlowest instance {worst:.3f} s. 1-minute load average {os.getloadavg()[0]:.1f} after. The ratio column "
          "divides by the best of 7 bare np.argsort calls on n floats, timed in this process.")


if __name__ == "__main__":
    main()
