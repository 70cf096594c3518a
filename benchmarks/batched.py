"""Benchmark of the batched backend against a bare ``torch.sort`` of the (B, n) ratio tensor ``q/p``.

Default: B = 256 positions, n = 128 000 tokens, K ∈ {2, 4, 8}, float64, on cuda when available (else cpu),
all in one process. Each computation is timed ``--reps`` times (best and median reported), and the bare sort
is timed between them, so that its median is taken under the same machine load; ratios are to that median.

Instances (``--family``):

* ``lm`` (default): target logits ``z ~ 3 N(0, 1)``, draft logits ``z + N(0, 1)`` (a correlated smaller model),
  both softmaxed in float64 — wide, LM-like ratio spreads;
* ``dirichlet``: ``q, p ~ Dirichlet(1)`` independently (flat; ratios ``q/p`` of two exponentials);
* ``packed`` (adversarial for the buckets): ``p`` uniform, ``q`` half on token 0 and the rest
  ``∝ 1 + 10^-3 U``: every other ratio within 0.1 % of the others, and the optimum's threshold among them;
* ``ties``: the same with every other ratio exactly equal.

Run::

    python benchmarks/batched.py                     # the figures in benchmarks/README.md (section batched.py)
    python benchmarks/batched.py --family dirichlet
    python benchmarks/batched.py --batch 8 --n 2000 --reps 1 --no-write   # a smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lpspec.batched import as_batch, optimal_acceptance
from lpspec.batched.buckets import ratio_buckets
from lpspec.batched.optimum import optimum_from_buckets
from lpspec.batched.schemes import (
    _inclusion,
    naive_acceptance,
    single_draft_acceptance,
    specinfer_acceptance,
    spectr_acceptance,
    truncated_is_acceptance,
    upper_bound,
)

HERE = Path(__file__).resolve().parent


def make_instances(family: str, B: int, n: int, seed: int, device):
    g = torch.Generator(device="cpu").manual_seed(seed)
    if family == "lm":
        z = 3.0 * torch.randn(B, n, generator=g, dtype=torch.float64)
        q = torch.softmax(z, dim=1)
        p = torch.softmax(z + torch.randn(B, n, generator=g, dtype=torch.float64), dim=1)
    elif family == "dirichlet":
        q = -torch.log(torch.rand(B, n, generator=g, dtype=torch.float64))
        p = -torch.log(torch.rand(B, n, generator=g, dtype=torch.float64))
        q /= q.sum(dim=1, keepdim=True)
        p /= p.sum(dim=1, keepdim=True)
    elif family in ("packed", "ties"):  # adversarial for the buckets: ratios within 0.1 % (or all equal)
        p = torch.full((B, n), 1.0 / n, dtype=torch.float64)
        spread = 1e-3 if family == "packed" else 0.0
        q = 1 + spread * torch.rand(B, n, generator=g, dtype=torch.float64)
        q[:, 0] = 0.0
        q = 0.5 * q / q.sum(dim=1, keepdim=True)
        q[:, 0] = 0.5
    else:
        raise SystemExit(f"unknown family {family!r}; use lm, dirichlet, packed or ties")
    return q.to(device), p.to(device)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


class Timer:
    def __init__(self, device, reps: int, sort_fn):
        self.device, self.reps, self.sort_fn = device, reps, sort_fn
        self.sort_times: list[float] = []
        self.results: list[tuple[str, list[float]]] = []

    def once(self, fn):
        sync(self.device)
        t0 = time.perf_counter()
        fn()
        sync(self.device)
        return time.perf_counter() - t0

    def sort(self):
        self.sort_times.append(self.once(self.sort_fn))

    def run(self, name: str, fn):
        times = []
        for _ in range(self.reps):
            times.append(self.once(fn))
            self.sort()
        self.results.append((name, times))
        print(f"  {name:52s} best {min(times):7.3f} s   median {statistics.median(times):7.3f} s", flush=True)


AGREEMENT_ROWS = 4

HEADER = """## Batched backend (`lpspec.batched`)

Time per batch of each computation of `lpspec.batched`, and its ratio to a bare `torch.sort` of the (B, n)
ratio tensor `q / p` timed in the same process (the target for `optimal_acceptance` is at most 2x). Written by
`python benchmarks/batched.py --reps 5`, then `--family dirichlet --append --reps 5`, then
`--family packed --only-optimal --append` and `--family ties --only-optimal --append`. The machine was
shared with other jobs: each table states the load average; the sort is re-timed between the runs so that
the ratios compare like with like.

How `optimal_acceptance` avoids the sort (details in `lpspec/batched/optimum.py`): tokens are bucketed by
`q/p` on a log scale read off the float bits (128 buckets per octave; `scatter_add` of q, p and counts);
`P*` is evaluated exactly at every bucket edge; a bucket's tokens are sorted only when a lower bound of the
prefixes ending inside it (concave in the mass taken) beats the best value found; tokens with `q/p >= K` are
never needed. Rows left with more than 4096 such tokens (ratios packed in a narrow range: family `packed`)
are first re-bucketed into 4096 finer buckets over their range (a radix step); a bucket holding one ratio
value is never sorted (family `ties`: every ratio but one equal). The "public call" rows include input
validation and the explicit float64 renormalisation of both (B, n) inputs; the "validated batch" rows start
from validated tensors. `truncated_is` sorts each whole row by `q - p^2` (its ranking needs the full
order), so it costs about one sort. In family `ties` the bare sort itself is about 4x faster than usual
(two distinct values), so the ratio there is taken against an unusually cheap sort; the absolute time of
`optimal_acceptance` is the same as in the other families. At small sizes (B n of a few thousand) fixed
per-call costs of a few milliseconds dominate and the ratios are meaningless.
"""


def check_agreement(q, p, ks, device, only_optimal=False):
    """Max |batched - NumPy| on a few rows, for the optimum (every K) and the baselines (first K)."""
    import numpy as np

    import lpspec
    from lpspec.batched import agreement_tolerance, compare_schemes
    from lpspec.schemes import SpecInfer, SpecTr

    rows = list(range(min(AGREEMENT_ROWS, q.shape[0])))
    qn, pn = q[rows].cpu().numpy(), p[rows].cpu().numpy()
    n = qn.shape[1]
    out = []
    for K in ks:
        got = optimal_acceptance(target=q[rows], drafts=p[rows], k=K, device=device).value.cpu().numpy()
        ref = np.array([lpspec.optimal_acceptance(target=qn[i], drafts=pn[i], k=K).value for i in range(len(rows))])
        out.append((f"optimal, K={K}", "`lpspec.optimal_acceptance` (sorted prefix)", float(np.abs(got - ref).max()),
                    agreement_tolerance(n, K)))
    if only_optimal:
        return out
    K = ks[0]
    res = compare_schemes(target=q[rows], drafts=p[rows], k=K, device=device)
    ref_si = [float(SpecInfer(target=qn[i], drafts=pn[i], k=K).acceptance) for i in range(len(rows))]
    out.append((f"specinfer, K={K}", "`lpspec.schemes.SpecInfer`",
                max(abs(res["specinfer"][i].item() - ref_si[i]) for i in range(len(rows))), agreement_tolerance(n, K)))
    ref_st = float(SpecTr(target=qn[0], drafts=pn[0], k=K).round_acceptance)  # slow in NumPy: one row
    out.append((f"spectr, K={K} (one row)", "`lpspec.schemes.SpecTr`", abs(res["spectr"][0].item() - ref_st),
                agreement_tolerance(n, K)))
    for name in ("naive", "upper_bound", "single_draft"):
        ref = lpspec.compare_schemes(target=qn[0], drafts=pn[0], k=K, schemes=[name])[name]
        out.append((f"{name}, K={K} (one row)", "`lpspec.compare_schemes`", abs(res[name][0].item() - float(ref)),
                    agreement_tolerance(n, K)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--n", type=int, default=128_000)
    ap.add_argument("-k", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--family", default="lm", choices=["lm", "dirichlet", "packed", "ties"])
    ap.add_argument("--only-optimal", action="store_true", help="time optimal_acceptance only")
    ap.add_argument("--device", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", default=None, help="also write the Markdown tables to this file")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--append", action="store_true", help="append to --output instead of replacing it")
    ap.add_argument("--no-agreement", action="store_true", help="skip the comparison with the NumPy side")
    args = ap.parse_args(argv)
    command = " ".join(["python benchmarks/batched.py", *(sys.argv[1:] if argv is None else argv)])

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    B, n = args.batch, args.n
    q, p = make_instances(args.family, B, n, args.seed, device)
    ratio = q / p
    print(f"batched benchmark: B={B}, n={n}, family={args.family}, device={device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cpus", flush=True)
    timer = Timer(device, args.reps, lambda: torch.sort(ratio, dim=1))
    for _ in range(max(1, args.reps)):
        timer.sort()
    batch2 = as_batch(target=q, drafts=p, k=2, device=device)

    def batch_k(K):
        return as_batch(target=q, drafts=p, k=K, device=device)

    timer.run("validation + float64 renormalisation (as_batch)", lambda: as_batch(target=q, drafts=p, k=2,
                                                                                   device=device))
    for K in args.k:
        timer.run(f"optimal_acceptance, K={K} (public call, with validation)",
                  lambda K=K: optimal_acceptance(target=q, drafts=p, k=K, device=device))
        bk = batch_k(K)
        timer.run(f"optimal, K={K} (validated batch: buckets + kernel)",
                  lambda bk=bk, K=K: optimum_from_buckets(ratio_buckets(bk.target, bk.draft, upper=float(K)), K))
    if not args.only_optimal:
        timer.run("single_draft", lambda: single_draft_acceptance(batch2))
        for K in args.k:
            bk = batch_k(K)
            timer.run(f"specinfer, K={K}", lambda bk=bk: specinfer_acceptance(bk))
            timer.run(f"spectr (K-SEQ, rho* by bisection), K={K}", lambda bk=bk: spectr_acceptance(bk))
            timer.run(f"naive + upper_bound (shared inclusion), K={K}",
                      lambda bk=bk: (lambda inc: (naive_acceptance(bk, inc), upper_bound(bk, inc)))(_inclusion(bk)))
        timer.run("truncated_is, K=2, s=5 (full sort of q - p^2)", lambda: truncated_is_acceptance(batch2, 5))

    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    agreement = [] if args.no_agreement else check_agreement(q, p, args.k, device, args.only_optimal)

    sort_med = statistics.median(timer.sort_times)
    sort_best = min(timer.sort_times)
    lines = [] if args.append else [HEADER]
    lines += [
        f"### Family `{args.family}`",
        "",
        (f"`{command}` — "
        f"B = {B}, n = {n:,}, family `{args.family}`, float64, device `{device}` "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads). Best and median of {args.reps} runs; the bare "
        f"`torch.sort(q / p, dim=1)` was timed {len(timer.sort_times)} times in between "
        f"(best {sort_best:.3f} s, median {sort_med:.3f} s); the ratio is median / median. "
        f"1-minute load average {load_before:.1f} before, {load_after:.1f} after (other jobs shared the cores)."),
        "",
        "| computation | best (s) | median (s) | median / bare sort |",
        "|---|---:|---:|---:|",
        f"| bare `torch.sort` of the (B, n) ratio q/p | {sort_best:.3f} | {sort_med:.3f} | 1.00 |",
    ]
    for name, times in timer.results:
        med = statistics.median(times)
        lines.append(f"| {name} | {min(times):.3f} | {med:.3f} | {med / sort_med:.2f} |")
    if agreement:
        lines += [
            "",
            f"Agreement with the NumPy side on {AGREEMENT_ROWS} rows at n = {n:,} (max |batched - NumPy|; the stated "
            "bound is `agreement_tolerance(n, K)` = 2 (K + 2) n u + 64 u):",
            "",
            "| quantity | NumPy reference | max abs difference | stated bound |",
            "|---|---|---:|---:|",
        ]
        lines += [f"| {a} | {b} | {c:.1e} | {d:.1e} |" for a, b, c, d in agreement]
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    if args.output and not args.no_write:
        out = Path(args.output)
        if args.append and out.exists():
            text = out.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + text
        out.write_text(text, encoding="utf-8")
        print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
