"""Benchmark: the paper's full LP as a user first writes it in cvxpy, against lpspec's LP forms.

Run: ``python benchmarks/lp_forms.py [--quick]``. Everything runs in one process and prints ratios against the
naive full LP timed here (machines are noisy: compare ratios, not seconds). The naive LP is the paper's
``n^K × n`` LP with both marginal systems as equalities, solved by ``prob.solve()`` with cvxpy's default solver.
"""

from __future__ import annotations

import argparse
import time

import cvxpy as cp
import numpy as np

import lpspec
from lpspec.core.instance import canonical_set_keys


def naive_full_lp(q: np.ndarray, drafts: np.ndarray):
    """The paper's LP, written the obvious way (no HiGHS, no fallbacks, no certificate)."""
    K, n = drafts.shape
    tuples = np.indices((n,) * K).reshape(K, -1).T
    P = np.prod([drafts[k][tuples[:, k]] for k in range(K)], axis=0)
    keys = canonical_set_keys(tuples, n)
    A = np.zeros((tuples.shape[0], n))
    r, c = np.nonzero(keys < n)
    A[r, keys[r, c]] = 1.0
    W = cp.Variable((tuples.shape[0], n), nonneg=True)
    prob = cp.Problem(cp.Maximize(cp.sum(cp.multiply(A, W))), [cp.sum(W, axis=1) == P, cp.sum(W, axis=0) == q])
    try:
        prob.solve()
        return prob.status, prob.value
    except cp.error.SolverError as exc:
        return f"solver error: {exc}", None


def timed(fn, repeat=1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="skip the naive LP at the two largest sizes")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print("identical drafts, Dirichlet(1) inputs; times in seconds (best of 3 for lpspec's forms)")
    print(f"{'(n,K)':>8} {'naive full':>12} {'naive status':>14} {'full':>8} {'edge':>8} {'merged':>8} "
          f"{'sorted':>8} {'naive/edge':>11} {'naive/merged':>13} {'max |diff|':>11}")
    for n, K in [(30, 2), (60, 2), (10, 3), (20, 3), (8, 4)]:
        q, p = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
        if args.quick and (n, K) in [(60, 2), (20, 3)]:
            t_naive, (status, val) = float("nan"), ("skipped", None)
        else:
            t_naive, (status, val) = timed(lambda: naive_full_lp(q, np.stack([p] * K)))
        t_full, r_full = timed(lambda: lpspec.solve_lp(target=q, drafts=p, k=K, form="full"))
        t_edge, r_edge = timed(lambda: lpspec.solve_lp(target=q, drafts=p, k=K, form="edge"), 3)
        t_merged, r_merged = timed(lambda: lpspec.solve_lp(target=q, drafts=p, k=K, form="merged"), 3)
        t_sorted, r_sorted = timed(lambda: lpspec.optimal_acceptance(target=q, drafts=p, k=K), 3)
        vals = [r_full.value, r_edge.value, r_merged.value, r_sorted.value]
        diff = max(vals) - min(vals)
        print(f"{str((n, K)):>8} {t_naive:12.3f} {status:>14} {t_full:8.3f} {t_edge:8.3f} {t_merged:8.3f} "
              f"{t_sorted:8.4f} {t_naive / t_edge:10.0f}x {t_naive / t_merged:12.0f}x {diff:11.1e}"
              + ("" if val is None else f"   naive value off by {abs(val - r_edge.value):.1e}")
              + f"   full form: {r_full.method}")
    print()
    print("different (non-identical) drafts: exact optimum through optimal_acceptance (merged LP), target 10 s")
    for n, K in [(100, 2), (300, 2), (20, 3), (40, 3), (12, 4)]:
        q = rng.dirichlet(np.ones(n))
        drafts = [rng.dirichlet(np.ones(n)) for _ in range(K)]
        t, r = timed(lambda: lpspec.optimal_acceptance(target=q, drafts=drafts))
        inst = lpspec.make_instance(target=q, drafts=drafts)
        print(f"{str((n, K)):>8}  {t:7.2f} s  P* = {r.value:.12f}  method {r.method}  cut gap "
              f"{r.cut_value - r.value:.1e}  sets {inst.set_table.mass.size:,}")


if __name__ == "__main__":
    main()
