"""Benchmark: the exact optimum for K *different* independent drafts (lpspec.submodular) against the LP.

Run: ``python benchmarks/nonidentical.py [--quick] [--seed S]``. Prints one Markdown table: for each vocabulary
size n, number of drafts K and family, the time of ``optimal_acceptance(method="submodular")`` (search,
cover-certificate check and local-move check included), its search boxes, ``P*``, and, where the LP runs
(small n; the edge form for K = 2, the merged form for K >= 3), the LP's time, the ratio LP / submodular and
the difference of the values. Everything runs in one process: compare ratios, not seconds.

Families (one target ``q = softmax(z)`` with ``z = 3·N(0, 1)`` logits, LM-like):

* ``temperatures`` — the drafts are the same model at temperatures 0.7, 1.3, 1.0, 1.6 (the first K);
* ``models`` — K different models: ``softmax(z + ε_k)``, ``ε_k ~ N(0, 1)``;
* ``dirichlet`` — ``q`` and every draft Dirichlet(0.5);
* ``close`` (only with ``--hard``) — drafts within 1–3 % of the target's temperature plus 1 % logit noise:
  ``P* = 1`` and nearly every token tied along one multiplier plane, the search's hardest case measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import lpspec
from lpspec.instance import make_instance
from lpspec.lp import estimated_lp_seconds

TEMPS = (0.7, 1.3, 1.0, 1.6)


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
    if name == "close":
        return q, [softmax(z * (1 + 0.01 * k) + 0.01 * rng.standard_normal(n)) for k in range(K)]
    return q, [softmax(z + rng.standard_normal(n)) for _ in range(K)]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n in {300, 1000} only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hard", action="store_true", help="only the 'close' family, n in {1000, 2000}, no LP")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    sizes = [(300, (2, 3, 4)), (1000, (2, 3, 4))]
    if not args.quick:
        sizes += [(2000, (3, 4)), (10000, (2, 3, 4))]
    lp_sizes = {2: 300, 3: 25, 4: 12}  # where the LP (edge form for K = 2, merged for K >= 3) runs in seconds
    families = ("temperatures", "models", "dirichlet")
    if args.hard:
        sizes, lp_sizes, families = [(1000, (2, 3, 4)), (2000, (2, 3, 4))], {}, ("close",)
    load = os.getloadavg()[0]
    flags = "".join(f" --{f}" for f in ("quick", "hard") if getattr(args, f))
    print(f"`python benchmarks/nonidentical.py{flags}` — {platform.machine()}, "
          f"{os.cpu_count()} cpus, 1-minute load average {load:.1f} before (other jobs shared the cores).\n")
    print("| n | K | family | submodular (s) | boxes | P* | LP form | LP (s) | LP / submodular | abs diff |")
    print("|---:|---:|---|---:|---:|---:|---|---:|---:|---:|")
    rows = []
    for K, n in sorted(lp_sizes.items()):
        rows.append((n, K, True))
    for n, ks in sizes:
        for K in ks:
            rows.append((n, K, False))
    for n, K, with_lp in rows:
        for fam in families:
            q, drafts = family(fam, n, K, rng)
            t_sub, res = timed(lambda: lpspec.optimal_acceptance(target=q, drafts=drafts, method="submodular"))
            lp_cells = "| — | — | — | — |"
            if with_lp:
                form = "edge" if K == 2 else "merged"
                inst = make_instance(target=q, drafts=drafts)
                if estimated_lp_seconds(inst, form) <= 60:
                    t_lp, lp = timed(lambda: lpspec.solve_lp(target=q, drafts=drafts, form=form))
                    lp_cells = (f"| {form} | {t_lp:.2f} | {t_lp / t_sub:,.0f} | "
                                f"{abs(float(lp.value) - float(res.value)):.1e} |")
            print(f"| {n:,} | {K} | {fam} | {t_sub:.3f} | {res.details['nodes']} | {float(res.value):.12f} "
                  f"{lp_cells}", flush=True)
    print(f"\n1-minute load average {os.getloadavg()[0]:.1f} after. The LP's value is its repaired flow (accurate to "
          "~1e-9); the submodular value is the cut value of its certified set.")


if __name__ == "__main__":
    main()
