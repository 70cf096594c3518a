"""Benchmark of the sequence-level tools on the built-in pair (``stdlib-docs``, n = 2000 by default).

* the exact recursion (:func:`lpspec.block_efficiency`) at K = 8, L = 5 per scheme — seconds, and the ratio to
  one pass of the token-level optimum ``P*`` over all n contexts at K = 8 (the baseline, timed in the same
  process: :func:`lpspec.batched.optimal_acceptance` on the (n, n) rows, torch on cpu; without torch, the
  NumPy :func:`lpspec.optimal_acceptance` row by row);
* the whole ``lpspec blocks`` grid (K ∈ {1, 2, 4, 8}, L ∈ 1..5, three schemes);
* Monte Carlo (:func:`lpspec.block_efficiency_mc`) and the decoding loop (:func:`lpspec.decode`): blocks per
  second, and whether their intervals contain the exact value.

* ``--optimal``: only ``block_efficiency(scheme="optimal")`` (the rank-space verifier of every context row, for
  each ``j = 1..K``) at K = 8, L = 5, with its ratio to the baseline — minutes; the numba compile (or cache load)
  of the first call is timed on its own line.

Run::

    python benchmarks/blocks.py                 # the figures in benchmarks/README.md (section blocks.py)
    python benchmarks/blocks.py --optimal       # the optimal scheme only (section blocks.py, optimal)
    python benchmarks/blocks.py --vocabulary 300 --blocks 2000   # a smoke run
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lpspec  # noqa: E402
from lpspec import block_efficiency, block_efficiency_mc, block_efficiency_table, decode  # noqa: E402
from lpspec.sequence.corpus import load_pair  # noqa: E402


def timed(fn, reps=1):
    times, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def baselines(pair, k):
    """One pass of the token-level optimum P* over all contexts (rows): batched (torch, cpu) and NumPy."""
    out = []
    try:
        from lpspec.batched import optimal_acceptance

        out.append(("batched optimal_acceptance (torch, cpu, one call)",
                    lambda: optimal_acceptance(target=pair.target, drafts=pair.draft, k=k,
                                               device="cpu").value.numpy()))
    except ImportError:  # pragma: no cover
        pass
    out.append(("lpspec.optimal_acceptance row by row (NumPy)",
                lambda: np.array([float(lpspec.optimal_acceptance(target=q, drafts=p, k=k).value)
                                  for q, p in zip(pair.target, pair.draft)])))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocabulary", type=int, default=2000)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--length", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=20_000, help="Monte Carlo blocks (decode runs a tenth)")
    ap.add_argument("--schemes", default="single_draft,specinfer,spectr")
    ap.add_argument("--optimal", action="store_true", help="only block_efficiency(scheme='optimal')")
    args = ap.parse_args(argv)
    K, L = args.k, args.length
    if args.optimal:
        return optimal_only(args)

    print(f"# blocks.py — {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    t_build, pair = timed(lambda: load_pair(n=args.vocabulary))
    print(f"built-in pair stdlib-docs, n = {pair.n}: built in {t_build:.2f} s (first load, from the text)")
    base = []
    for name, run in baselines(pair, K):
        run()  # warm-up (imports)
        t, pstar = timed(run, reps=3)
        base.append(t)
        print(f"baseline {len(base)}: {name}, K = {K}, {pair.n} contexts: {t:.3f} s (median of 3); "
              f"P* averaged over the start law {float(pair.start @ pstar):.4f}")
    t_base = base[0]
    print()
    print("| scheme | K | L | τ (exact) | token acceptance | seconds | ratio to baseline 1 | to baseline 2 |")
    print("|---|---|---|---|---|---|---|---|")
    exact = {}
    for s in [x for x in args.schemes.split(",") if x]:
        k = 1 if s == "single_draft" else K
        t, r = timed(lambda s=s, k=k: block_efficiency(target=pair, k=k, length=L, scheme=s))
        exact[s] = r
        print(f"| {s} | {k} | {L} | {r.value:.6f} | {r.token_acceptance:.6f} | {t:.2f} | {t / t_base:.3g}× "
              f"| {t / base[-1]:.3g}× |")
    t, _ = timed(lambda: block_efficiency_table(target=pair, ks=(1, 2, 4, 8), lengths=range(1, 6)))
    print(f"\nthe whole `lpspec blocks` grid (3 schemes, K ∈ {{1, 2, 4, 8}}, L ∈ 1..5): {t:.1f} s "
          f"({t / t_base:.3g}× baseline 1)")
    print()
    print("| method | scheme | blocks | seconds | blocks/s | τ estimate [99% interval] | exact inside |")
    print("|---|---|---|---|---|---|---|")
    ref = exact.get("specinfer") or block_efficiency(target=pair, k=K, length=L, scheme="specinfer")
    block_efficiency_mc(target=pair, k=K, length=L, scheme="specinfer", blocks=20, seed=9)  # imports
    t, mc = timed(lambda: block_efficiency_mc(target=pair, k=K, length=L, scheme="specinfer", blocks=args.blocks,
                                              seed=0))
    for label, tt, m in (("Monte Carlo (tables built as contexts are met)", t, mc),):
        print(f"| {label} | specinfer | {m.blocks} | {tt:.2f} | {m.blocks / tt:.0f} | {m.value:.4f} "
              f"[{m.low:.4f}, {m.high:.4f}] | {m.low < ref.value < m.high} |")
    nb = max(args.blocks // 10, 2)
    t, d = timed(lambda: decode(target=pair, k=K, length=L, scheme="specinfer", blocks=nb, seed=2, restart=True))
    print(f"| decode (restart) | specinfer | {nb} | {t:.2f} | {nb / t:.0f} | {d.value:.4f} "
          f"[{d.low:.4f}, {d.high:.4f}] | {d.low < ref.value < d.high} |")
    t, d = timed(lambda: decode(target=pair, k=K, length=L, scheme="specinfer", blocks=nb, seed=3))
    print(f"| decode (continuous text) | specinfer | {nb} | {t:.2f} | {nb / t:.0f} | {d.value:.4f} "
          f"[{d.low:.4f}, {d.high:.4f}] | (long-run value; not the start-law τ) |")
    return 0


def optimal_only(args) -> int:
    """``block_efficiency(scheme="optimal")`` on the built-in pair, timed against the baseline (issue 18)."""
    from lpspec import verifier_kernel

    K, L = args.k, args.length
    print(f"# blocks.py --optimal — {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    t0 = time.perf_counter()
    compiled = verifier_kernel.compiled() is not None
    if compiled:
        lpspec.optimal_verifier(target=[0.1, 0.9], drafts=[0.5, 0.5], k=2)
        print(f"numba: first call (compile, or load from the on-disk cache) {time.perf_counter() - t0:.2f} s")
    else:
        print("numba not installed: the NumPy/Python placement")
    t_build, pair = timed(lambda: load_pair(n=args.vocabulary))
    name, run = baselines(pair, K)[0]
    run()
    t_base, _ = timed(run, reps=3)
    print(f"baseline: {name}, K = {K}, {pair.n} contexts: {t_base:.3f} s (median of 3, same process)")
    t, r = timed(lambda: block_efficiency(target=pair, k=K, length=L, scheme="optimal"))
    print(f"block_efficiency(scheme='optimal'), stdlib-docs, n = {pair.n}, K = {K}, L = {L}: τ = {r.value:.6f}, "
          f"token acceptance {r.token_acceptance:.6f}, {t:.1f} s ({t / t_base:.3g}× baseline; "
          f"{K} x {pair.n} verifier builds)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
