"""Benchmark of the rank-space optimal verifier (docs/theory.md §9) against bare baselines in the same process.

* **Build** (:func:`lpspec.optimal_verifier`, ``engine="auto"``: the compiled S* loop when numba is installed) at
  (n, K) = (1000, 2), (1000, 8), (128 000, 2/4/8), as a ratio to a bare ``np.argsort(q / p)`` timed in the same
  process (targets at n = 128 000: median <= 10x, worst <= 25x, no pair above 1 s); windows slid per side and
  pieces per token; a summary line (median / worst ratio, slowest pair). The numba compile time of the first
  call is reported on its own line (``--engine numpy`` times the NumPy/Python path instead).
* **Batched** (:func:`lpspec.batched.optimal_verifier`, B x n = 64 x 128 000 on cuda, 16 x 128 000 on CPU) as a
  ratio to a bare ``torch.sort`` of the (B, n) ratios (target: <= 3x). Rows whose windows slide are built by the
  NumPy construction row by row, so the full batched build is timed on a few rows where they slide and the
  64-row figure is given for the home placement (every row) and for a K = 1 batch (no row slides).
* **Batched layered** (``lpspec.batched.optimal_verifier(plan="layered")``: the weighted layered plan on the
  whole (B, n) batch with torch ops only) at B = 16 and 64, n = 128 000, K = 2/4/8, LM-like rows (every row needs
  swaps at K >= 2), as a ratio to a bare ``torch.sort`` of the same ratios (target: <= 5x), each build checked.
* **Sampling** throughput: ``OptimalVerifier.sample`` on 10^6 tuples vs drawing the tuples themselves with
  ``rng.choice`` (target: <= 3x).
* **Side by side at (1000, 2)**: ``canonical_decomposition(method="is_lp")`` (the LP) vs the rank verifier: time,
  acceptance, output error. Global Resolution's published success rate is quoted as a labelled reference only.

* **Validation** (``make_instance``'s input checks at n = 128 000) next to the ``math.fsum`` pass they replaced,
  both as ratios to a bare ``np.argsort(q / p)`` in the same process (printed first, also with ``--build-only``).

Pairs: ``lm`` (softmax of ``3 N(0, 1)`` logits; draft = softmax of (logits + N(0, 1)) / 1.3: perturbed and
tempered), ``lm2`` (draft = softmax(0.8 logits + 0.3 N(0, 1)): P* = 1 at K = 4, issue 18's pathological pair),
``dirichlet`` (``q, p ~ Dirichlet(0.05)``: adversarial, many tiny masses), ``packed`` (``p`` uniform,
``q`` half on one token and the other ratios within 0.1 % of each other). Timings: median of ``--reps``.

``--plan greedy|layered|both`` picks the optimal plan timed in the build and sampling tables (``layered``: the
vectorised weighted plan of :mod:`lpspec.verifier.layered`; ``both``: side by side, each next to its own argsort).

Run::

    python benchmarks/verifier.py            # the figures in benchmarks/README.md (a few minutes on 2 cores)
    python benchmarks/verifier.py --quick    # a smoke run (n = 20 000 instead of 128 000, no LP)
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

from lpspec import canonical_decomposition, make_instance, optimal_verifier  # noqa: E402
from lpspec.verifier.rank import verifier_for  # noqa: E402


def softmax(z):
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def lm_pair(n, rng):
    z = 3.0 * rng.standard_normal(n)
    return softmax(z), softmax((z + rng.standard_normal(n)) / 1.3)


def dirichlet_pair(n, rng):
    q, p = rng.dirichlet(np.full(n, 0.05)), rng.dirichlet(np.full(n, 0.05))
    return q / q.sum(), p / p.sum()


def packed_pair(n, rng):
    p = np.full(n, 1.0 / n)
    q = 1 + 1e-3 * rng.random(n)
    q[0] = 0.0
    q = 0.5 * q / q.sum()
    q[0] = 0.5
    return q, p


def lm2_pair(n, rng):
    z = 3.0 * rng.standard_normal(n)
    return softmax(z), softmax(0.8 * z + 0.3 * rng.standard_normal(n))


FAMILIES = {"lm": lm_pair, "lm2": lm2_pair, "dirichlet": dirichlet_pair, "packed": packed_pair}


def timed(fn, reps, best=False):
    """Median (or, with ``best``, the minimum: the run least disturbed by other processes) of ``reps`` runs."""
    times = []
    out = None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return (min(times) if best else statistics.median(times)), out


def compile_time(engine):
    """Seconds for the first call's numba compile (or cache load), or None for the NumPy engine."""
    if engine == "numpy":
        return None
    from lpspec import verifier_kernel

    t = time.perf_counter()
    if verifier_kernel.compiled() is None:
        return None
    optimal_verifier(target=[0.1, 0.2, 0.3, 0.4], drafts=[0.4, 0.3, 0.2, 0.1], k=2, engine="numba")
    return time.perf_counter() - t


def build_table(sizes, reps, engine="auto", plans=("greedy",)):
    first = compile_time(engine) if "greedy" in plans else None
    if first is not None:
        print(f"\nnumba: first call (compile, or load from the on-disk cache) {first:.2f} s, not in the table")
    print(f"\n## Build (plans {', '.join(plans)}; engine={engine!r} for the greedy) — ratio to a bare np.argsort(q/p) "
          "in the same process (best of reps)")
    print("| pair | n | K | plan | build (s) | argsort (ms) | ratio | from an Instance: ratio | slid T (greedy) or "
          "swaps (layered) | slid S* | forced | pieces/token (mean, max) | check: worst mass error / bound |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    big = max(n for n, _ in sizes)
    ratios = {plan: [] for plan in plans}
    inst_ratios = {plan: [] for plan in plans}
    slowest = {plan: (0.0, "") for plan in plans}
    for fam in FAMILIES:
        for n, k in sizes:
            q, p = FAMILIES[fam](n, np.random.default_rng(n + k))
            for plan in plans:
                with np.errstate(divide="ignore", invalid="ignore"):  # the baseline next to each build
                    t_sort, _ = timed(lambda: np.argsort(q / p), max(reps, 9), best=True)
                t_build, v = timed(lambda: optimal_verifier(target=q, drafts=p, k=k, engine=engine, plan=plan), reps,
                                   best=True)
                inst = make_instance(target=q, drafts=p, k=k)  # without the input validation (make_instance)
                t_inst, _ = timed(lambda: verifier_for(inst, engine=engine, plan=plan), reps, best=True)
                r = v.check()
                worst = max(r[key] for key in ("side_error", "value_error", "residual_error", "sum_error",
                                               "output_error"))
                st = v.piece_stats()
                moves = (f"{v.slides['T']} | {v.slides['S']} | {v.slides['forced']}" if plan == "greedy"
                         else f"{v.swaps['T']} + {v.swaps['S']} (T + S*) | - | -")
                print(f"| {fam} | {n} | {k} | {plan} | {t_build:.3f} | {t_sort * 1e3:.2f} | {t_build / t_sort:.0f}x | "
                      f"{t_inst / t_sort:.0f}x | {moves} | {st['mean']:.3f}, {st['max']} | {worst:.1e} / {r['mass_bound']:.1e} |", flush=True)
                if n == big:
                    ratios[plan].append(t_build / t_sort)
                    inst_ratios[plan].append(t_inst / t_sort)
                    slowest[plan] = max(slowest[plan], (t_build, f"{fam} K={k}"))
    for plan in plans:
        print(f"\nn = {big}, plan={plan!r}: median ratio {statistics.median(ratios[plan]):.0f}x, worst "
              f"{max(ratios[plan]):.0f}x over {len(ratios[plan])} pairs; slowest build {slowest[plan][0]:.3f} s "
              f"({slowest[plan][1]}); from an Instance: median {statistics.median(inst_ratios[plan]):.0f}x, worst "
              f"{max(inst_ratios[plan]):.0f}x", flush=True)


def validation_table(n, reps):
    """Input validation (``make_instance``: both rows checked and divided by their exact sums) at ``n`` tokens, next
    to the ``math.fsum`` pass it replaced (same float, ``lpspec.core.exactsum``) and a bare ``np.argsort(q / p)``."""
    import math

    print(f"\n## Validation at n = {n} — ratio to a bare np.argsort(q/p) in the same process (best of reps)")
    print("| pair | argsort (ms) | make_instance (ms) | ratio | the old math.fsum pass over both rows (ms) | ratio |")
    print("|---|---|---|---|---|---|")
    for fam in FAMILIES:
        q, p = FAMILIES[fam](n, np.random.default_rng(n + 4))
        with np.errstate(divide="ignore", invalid="ignore"):
            t_sort, _ = timed(lambda: np.argsort(q / p), max(reps, 9), best=True)
        t_inst, _ = timed(lambda: make_instance(target=q, drafts=p, k=4), max(reps, 5), best=True)
        t_fsum, _ = timed(lambda: (math.fsum(q.tolist()), math.fsum(p.tolist())), max(reps, 5), best=True)
        print(f"| {fam} | {t_sort * 1e3:.2f} | {t_inst * 1e3:.2f} | {t_inst / t_sort:.1f}x | {t_fsum * 1e3:.2f} | "
              f"{t_fsum / t_sort:.1f}x |", flush=True)


def batched_table(n, B, reps):
    import torch

    import lpspec.batched as lb
    from lpspec.batched.verifier import _home_placement

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"\n## Batched ({dev}) — ratio to a bare torch.sort of the (B, n) ratios")
    print("| pair | B x n | K | what | time (s) | torch.sort (s) | ratio | rows that slid |")
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(7)
    rows = [lm_pair(n, rng) for _ in range(B)]
    Q = torch.tensor(np.array([r[0] for r in rows]), device=dev)
    P = torch.tensor(np.array([r[1] for r in rows]), device=dev)
    t_sort, _ = timed(lambda: torch.sort(Q / P, dim=1, stable=True), reps)
    t1, v1 = timed(lambda: lb.optimal_verifier(target=Q, drafts=P, k=1, device=dev), reps)
    v1.check()
    print(f"| lm | {B} x {n} | 1 | full build (no row slides) | {t1:.3f} | {t_sort:.3f} | {t1 / t_sort:.1f}x | "
          f"{int(v1.slid.sum())}/{B} |")
    for k in (2, 8):
        th, out = timed(lambda: _home_placement(Q, P, k), reps)
        print(f"| lm | {B} x {n} | {k} | sort + cut + home placement + slide test (every row) | {th:.3f} | "
              f"{t_sort:.3f} | {th / t_sort:.1f}x | {int(out[2].sum())}/{B} |")
    few = 2
    t_small, _ = timed(lambda: torch.sort(Q[:few] / P[:few], dim=1, stable=True), reps)
    tf, vf = timed(lambda: lb.optimal_verifier(target=Q[:few], drafts=P[:few], k=2, device=dev), 1)
    vf.check()
    print(f"| lm | {few} x {n} | 2 | full build (sliding rows placed row after row) | {tf:.3f} | {t_small:.4f} | "
          f"{tf / t_small:.0f}x | {int(vf.slid.sum())}/{few} |", flush=True)
    for k in (2, 4):
        tb, vb = timed(lambda: lb.optimal_verifier(target=Q, drafts=P, k=k, device=dev), 1)
        vb.check()
        print(f"| lm | {B} x {n} | {k} | full build (every row) | {tb:.3f} | {t_sort:.3f} | {tb / t_sort:.1f}x | "
              f"{int(vb.slid.sum())}/{B} |", flush=True)


def batched_layered_table(n, sizes, reps):
    """``plan="layered"`` on the whole batch (torch ops only, no loop over rows) vs a bare ``torch.sort`` of the
    same (B, n) ratios, timed in this process; every row is checked (``check()``) and counted as sliding when its
    layout needed fractional swaps (the greedy would slide windows there)."""
    import torch

    import lpspec.batched as lb

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"\n## Batched layered plan ({dev}) — ratio to a bare torch.sort of the (B, n) ratios, same process")
    print("| pair | B x n | K | time (s) | torch.sort (s) | ratio | rows with swaps | max check error / bound |")
    print("|---|---|---|---|---|---|---|---|")
    for B in sizes:
        rng = np.random.default_rng(7)
        rows = [lm_pair(n, rng) for _ in range(B)]
        Q = torch.tensor(np.array([r[0] for r in rows]), device=dev)
        P = torch.tensor(np.array([r[1] for r in rows]), device=dev)
        for k in (2, 4, 8):
            t_sort, _ = timed(lambda: torch.sort(Q / P, dim=1, stable=True), reps)
            tl, v = timed(lambda: lb.optimal_verifier(target=Q, drafts=P, k=k, device=dev, plan="layered"), reps)
            rep = v.check()
            worst = max(float((rep[key] / rep["mass_bound"]).max()) for key in
                        ("side_error", "value_error", "residual_error", "sum_error", "output_error"))
            print(f"| lm | {B} x {n} | {k} | {tl:.3f} | {t_sort:.3f} | {tl / t_sort:.1f}x | "
                  f"{int(v.slid.sum())}/{B} | {worst:.2g} |", flush=True)
            del v


def sampling_table(n, N, ks, plans=("greedy",)):
    print(f"\n## Sampling — {N:,} tuples, ratio to drawing them with rng.choice")
    print("| pair | n | K | plan | rng.choice (s) | verifier.sample (s) | ratio | tuples/s | acceptance (P*) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for fam in ("lm", "dirichlet"):
        for k in ks:
            q, p = FAMILIES[fam](n, np.random.default_rng(3 + k))
            for plan in plans:
                v = optimal_verifier(target=q, drafts=p, k=k, plan=plan)
                rng = np.random.default_rng(0)
                t_draw, tuples = timed(lambda: rng.choice(n, size=(N, k), p=p), 1)
                t_s, (out, acc) = timed(lambda: v.sample(tuples, rng=rng), 1)
                print(f"| {fam} | {n} | {k} | {plan} | {t_draw:.3f} | {t_s:.3f} | {t_s / t_draw:.2f}x | "
                      f"{N / t_s:,.0f} | {acc.mean():.5f} ({float(v.value):.5f}) |", flush=True)


def lp_side_by_side():
    print("\n## Side by side at (n, K) = (1000, 2), LM-like pair")
    print("| method | time (s) | acceptance Σ min(q, p_I) | P* (min-cut) | max output error |")
    print("|---|---|---|---|---|")
    q, p = lm_pair(1000, np.random.default_rng(11))
    t_rank, dr = timed(lambda: canonical_decomposition(target=q, drafts=p, k=2, method="rank"), 3)
    t_lp, dl = timed(lambda: canonical_decomposition(target=q, drafts=p, k=2, method="is_lp"), 1)
    for name, t, d in (("canonical_decomposition, method='is_lp' (LP over 10^6 tuples)", t_lp, dl),
                       ("canonical_decomposition, method='rank' (this verifier)", t_rank, dr)):
        err = float(np.max(np.abs(d.output_distribution() - q)))
        print(f"| {name} | {t:.3f} | {float(d.acceptance):.15f} | {float(d.optimum):.15f} | {err:.1e} |", flush=True)
    print("\nReference only (published, not run here): Global Resolution (Thomas & Pal, arXiv 2511.15898, ICLR 2026)"
          " reports a 31 % success rate at (n = 1000, K = 2) for its approximate optimal plan.")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 20 000 instead of 128 000, B = 8, no LP")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--engine", default="auto", choices=("auto", "numba", "numpy"))
    ap.add_argument("--build-only", action="store_true", help="only the build table")
    ap.add_argument("--batched-layered-only", action="store_true",
                    help="only the batched layered table (B = 16 and 64)")
    ap.add_argument("--plan", default="greedy", choices=("greedy", "layered", "both"),
                    help="which optimal plan the build table times (both: side by side, same baselines)")
    args = ap.parse_args(argv)
    big = 20_000 if args.quick else 128_000
    print(f"# benchmarks/verifier.py — {platform.machine()}, {platform.python_version()}, numpy {np.__version__}")
    plans = ("greedy", "layered") if args.plan == "both" else (args.plan,)
    if args.batched_layered_only:
        batched_layered_table(big, (4, 8) if args.quick else (16, 64), args.reps)
        return
    validation_table(big, args.reps)
    build_table([(1000, 2), (1000, 8), (big, 2), (big, 4), (big, 8)], args.reps, args.engine, plans)
    if args.build_only:
        return
    import torch

    # B = 64 as specified on a GPU; on a shared 2-core CPU 16 rows (the ratio to torch.sort is per batch)
    batched_table(big, 8 if args.quick else (64 if torch.cuda.is_available() else 16), args.reps)
    batched_layered_table(big, (4, 8) if args.quick else (16, 64), args.reps)
    sampling_table(big, 100_000 if args.quick else 1_000_000, (2, 8), plans)
    if not args.quick:
        lp_side_by_side()


if __name__ == "__main__":
    main()
