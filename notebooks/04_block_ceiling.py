# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # How far is my tree verifier from the ceiling?
#
# You verify `K` draft paths of length `L` with a tree rule of your own. Two questions matter:
#
# 1. **Is it lossless?** Does generation keep the target's law exactly?
# 2. **How many tokens per target call does it give**, compared with the field's verifiers and with `τ*`, the
#    best block efficiency of *any* lossless verifier (the block LP's optimum)?
#
# At the sequence level a verifier outputs a *block*: an accepted prefix of one of the paths plus one more token.
# With `c(u) = Pr(block strictly extends u)` and `μ(v) = Pr(block = v)`, lossless means
# `μ(ua) + c(ua) = q(a | u) c(u)` at every node `u` and token `a` (Lemma 2 of the sequence-level section of
# docs/theory.md), and `τ = E|block| = 1 + Σ_{u ≠ ∅} c(u)`. `lpspec.verify_block_scheme` checks the identity by
# enumerating every tuple of draft paths, exactly in Fractions.

# %%
from fractions import Fraction as F

import numpy as np

import lpspec
from lpspec.experiments.figures import block_ceiling

# the test pair of docs/theory.md: two tokens, rows = law of the next token given the last one
q = [[F(1, 5), F(4, 5)], [F(1, 2), F(1, 2)]]   # target
p = [[F(3, 5), F(2, 5)], [F(3, 10), F(7, 10)]]  # draft
K, L = 2, 3

# %% [markdown]
# ## 1. My tree verifier
#
# SpecInfer's rule walked down the tree: at each depth, the surviving drafts (those that agree with the
# accepted prefix) are tried in order; draft `j` shows token `y` and is accepted with probability
# `min(1, r(y) / p(y))`, where `r` is the running residual (`q` at first, then `(r − p)⁺` renormalised after
# each rejection); when every survivor is rejected the block ends with a token from `r`; after `L` accepted
# tokens the target adds a bonus token. Written as its output law, given the paths:

# %%
def tree_verifier(q, p, *, length, naive=False):
    n = len(q)

    def law(paths, start):
        out = {}

        def add(block, mass):
            if mass:
                out[block] = out.get(block, 0) + mass

        def walk(d, ctx, prefix, survivors, mass):
            if d == length:
                for b in range(n):
                    add(prefix + (b,), mass * q[ctx][b])
                return
            r, stay = list(q[ctx]), mass
            for j in survivors:
                y = paths[j][d]
                accept = min(F(1), r[y] / p[ctx][y])
                walk(d + 1, y, prefix + (y,), [i for i in survivors if paths[i][d] == y], stay * accept)
                stay *= 1 - accept
                if accept < 1 and not naive:  # naive: keep testing against q (the bug of section 2)
                    res = [max(r[a] - p[ctx][a], F(0)) for a in range(n)]
                    r = [v / sum(res) for v in res]
            if naive:
                res = [max(q[ctx][a] - p[ctx][a], F(0)) for a in range(n)]
                r = [v / sum(res) for v in res]
            for a in range(n):
                add(prefix + (a,), stay * r[a])

        walk(0, start, (), list(range(len(paths))), F(1))
        return out

    return law


report = lpspec.verify_block_scheme(tree_verifier(q, p, length=L), target=q, drafts=p, start=0, k=K, length=L)
print(report)
assert report.lossless is True and report.max_error == 0
assert report.tau == F("2.79984")  # the SpecInfer tree of docs/theory.md's table (K = 2, L = 3)

# %% [markdown]
# ## 2. A plausible bug: accept a token because any surviving draft shows it
#
# Testing every survivor against `q` itself (no running residual) accepts a token shown by two drafts twice
# over. The checker names the first node where the identity fails — here the root.

# %%
buggy = lpspec.verify_block_scheme(tree_verifier(q, p, length=L, naive=True), target=q, drafts=p, start=0,
                                   k=K, length=L, ceiling=False)
print(buggy.verdict)
assert buggy.lossless is False and buggy.failing_prefix == ()

# %% [markdown]
# ## 3. The field's verifiers and the ceiling
#
# `lpspec.block_efficiency(..., scheme=NAME)` gives the exact `τ` of the sequence-level verifiers: Sun et al.'s
# block verification (one path), the best depth-by-depth tree (`stepwise_optimal`) and Traversal
# Verification. `report.ceiling` is `τ*` (when the block LP is installed) and `report.gap = τ* − τ`.

# %%
qf, pf = np.array(q, dtype=float), np.array(p, dtype=float)
taus = {"my tree": float(report.tau)}
for scheme, k in (("single_draft", 1), ("block_verification", 1), ("specinfer", K), ("stepwise_optimal", K),
                  ("traversal", K)):
    taus[scheme] = lpspec.block_efficiency(target=qf, drafts=pf, start=[1.0, 0.0], k=k, length=L,
                                           scheme=scheme).value
for name, tau in sorted(taus.items(), key=lambda kv: kv[1]):
    print(f"{name:20s} tau = {tau:.6f}")
assert abs(taus["specinfer"] - taus["my tree"]) < 1e-12  # my tree is SpecInfer's: two computations agree
assert abs(taus["stepwise_optimal"] - 3.103936) < 1e-9

if report.ceiling is not None:
    print(f"ceiling tau* = {float(report.ceiling):.6f}; my tree is {float(report.gap):.4f} tokens per call "
          f"below it ({float(report.gap) / float(report.ceiling):.1%})")
    assert abs(float(report.ceiling) - 3.2252) < 1e-7
    assert max(taus.values()) <= float(report.ceiling) + 1e-9  # nothing lossless beats the ceiling
else:
    print("the block LP (lpspec.sequence.block_lp) is not installed: no ceiling")

# %% [markdown]
# ## 4. τ against L
#
# Every scheme against the draft length, with `τ*` as the top curve. The gap between the best
# depth-by-depth tree and `τ*` is what a sequence-level verifier can still gain.

# %%
fig, table = block_ceiling(target=qf, drafts=pf, start=[1.0, 0.0], k=K, lengths=(1, 2, 3),
                           ceiling=report.ceiling is not None)
for row in table.rows:
    print(f"{row['scheme']:20s} K={row['k']} L={row['length']} tau={row['tau']:.6f}"
          + ("" if row["gap_to_ceiling"] is None else f"  gap={row['gap_to_ceiling']:.6f}"))
at_one = {r["scheme"]: r["tau"] for r in table.rows if r["length"] == 1}
assert abs(at_one["stepwise_optimal"] - 1.84) < 1e-9  # L = 1: the best tree is 1 + P*
fig

# %%
print("notebook 04 OK")
