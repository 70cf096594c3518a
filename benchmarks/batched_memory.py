"""Peak memory and time of the batched optimum on many short rows: the direct sort (rows of n <= 256) against
the ratio buckets (the path every n used before; forced here with ``DIRECT_SORT_MAX_N = 0``).

Each measurement runs in its own process (peak RSS is per process); the baseline is the bucket path of the
same checkout, so the printed ratios compare like with like.

    python benchmarks/batched_memory.py            # (8000, 3), (8000, 50), (2000, 256), K = 4
    python benchmarks/batched_memory.py --quick    # (8000, 3) only
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np
import lpspec.batched as lb
from lpspec.batched import optimum as bo

B, n, K, path, what = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
if path == "buckets":
    bo.DIRECT_SORT_MAX_N = 0
rng = np.random.default_rng(0)
q = rng.dirichlet(np.ones(n), size=B)
p = rng.dirichlet(np.ones(n), size=B)
lb.optimal_acceptance(target=q[:2], drafts=p[:2], k=K, device="cpu")  # warm-up (torch's first call)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if what == "optimum":
    value = lb.optimal_acceptance(target=q, drafts=p, k=K, device="cpu").value
else:
    value = lb.compare_schemes(target=q, drafts=p, k=K, device="cpu", schemes=["optimal", "spectr"])["spectr"]
seconds = time.perf_counter() - t
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "sum": float(value.sum())}))
"""


def run(B, n, K, path, what="optimum"):
    out = subprocess.run([sys.executable, "-c", CHILD, str(B), str(n), str(K), path, what],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    shapes = [(8000, 3)] if "--quick" in sys.argv else [(8000, 3), (8000, 50), (2000, 256)]
    K = 4
    print("| (B, n) | what | direct s | buckets s | time ratio | direct MB | buckets MB | memory ratio | same values |")
    print("|---|---|---|---|---|---|---|---|---|")
    for B, n in shapes:
        for what in ("optimum", "compare"):
            d = run(B, n, K, "direct", what)
            b = run(B, n, K, "buckets", what)
            same = abs(d["sum"] - b["sum"]) <= 1e-12 * B
            print(f"| ({B}, {n}) | {what} | {d['seconds']:.3f} | {b['seconds']:.3f} | "
                  f"{b['seconds'] / max(d['seconds'], 1e-9):.0f}× | {d['peak_mb']:.0f} | {b['peak_mb']:.0f} | "
                  f"{b['peak_mb'] / max(d['peak_mb'], 1.0):.0f}× | {same} |")


if __name__ == "__main__":
    main()
