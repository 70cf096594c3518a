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
# # A tour of Theorems 1–3, with live certificates
#
# Khisti et al., *Multi-Draft Speculative Sampling: Canonical Decomposition and Theoretical Limits*
# (ICLR 2025). Notation as in lpspec: `q` is the **target**, `p` a **draft**, `K` drafts; the API takes
# `target=`, `drafts=`, `k=` by keyword.
#
# Every number below is computed live and checked: each cell ends with `assert`s, so running this notebook
# (or this file as a script) is itself a test. Exact inputs are written as `Fraction`s, and then the
# certificates are exact too.

# %%
from fractions import Fraction as F

import numpy as np

import lpspec
from lpspec.certify import certify
from lpspec.theory.decomposition import canonical_decomposition
from lpspec.schemes import SIR, SpecInfer, SpecTr
from lpspec.theory.theorems import acceptance_one, theorem3

third = F(1, 3)
p = [third, third, third]  # the draft of the paper's Figure 2
q = [third, F(0), F(2, 3)]  # left panel at q2 = 0

# %% [markdown]
# ## 1. The optimal scheme is a linear program
#
# Joint variables `w(x, y) = P(x) π(y|x)` over every draft tuple `x ∈ Ω^K` and output `y`; maximise the mass on
# `y ∈ set(x)` subject to both marginals. `solve_lp(form="full")` builds exactly the paper's `n^K × n` LP;
# `"edge"` and `"merged"` are smaller LPs with the same optimum.

# %%
qf, pf = [float(v) for v in q], [float(v) for v in p]
values = {form: lpspec.solve_lp(target=qf, drafts=pf, k=2, form=form) for form in lpspec.solvers.lp.FORMS}
for form, res in values.items():
    print(f"{form:>6}: P* = {res.value:.15f}   via {res.method}, cut set {res.cut_set}")
    res.check()  # completed scheme: rows sum to one, output law = q, acceptance = value, cut within 1e-9
assert all(abs(r.value - 8 / 9) < 1e-12 for r in values.values())

# %% [markdown]
# ## 2. Its value is a minimum cut — and the cut is a certificate
#
# `P* = min_S q(S) + 1 − Pr(set(X) ⊆ S)`. For the minimising `S`, no exact scheme can beat
# `q(S) + 1 − p(S)^K`: accepted outputs inside `S` have mass at most `q(S)`, and an output outside `S` is
# accepted only if some draft falls outside `S`. `certify` finds a flow of the same value in exact arithmetic.

# %%
opt = lpspec.optimal_acceptance(target=q, drafts=p, k=2)
cert = certify(target=q, drafts=p, k=2)
S = opt.cut_set
by_hand = sum((q[i] for i in S), F(0)) + 1 - sum((p[i] for i in S), F(0)) ** 2
print(f"P* = {opt.value}, certificate S = {S}, q(S) + 1 - p(S)^2 = {by_hand}")
print(f"exact max-flow = {cert.value}, its own cut {cert.cut_set}; check() = {cert.check()}")
assert opt.value == cert.value == by_hand == F(8, 9)

# %% [markdown]
# The optimal scheme itself: `π(·|x)` for each draft pair, in exact arithmetic.

# %%
for x in [(0, 0), (0, 1), (1, 1), (1, 2)]:
    print(x, [str(v) for v in cert.conditional(x)])
assert sum(cert.conditional((1, 2)), F(0)) == 1

# %% [markdown]
# ## 3. Theorem 1 — the canonical decomposition
#
# An optimal scheme can be taken in two steps: pick an intermediate token `Y_I ∈ set(x)` with weights
# `β_y(x)` (importance sampling), then run *single-draft* speculative sampling of `Y_I` against `q`. The
# acceptance of step 2 is `Σ_y min(q(y), p_I(y))`, and at an optimal `β` it equals `P*`.

# %%
dec = canonical_decomposition(target=qf, drafts=pf, k=2)
report = dec.check()
print("p_I =", np.round(dec.intermediate, 6))
print(f"Σ min(q, p_I) = {dec.acceptance:.15f}, membership = {dec.membership_acceptance:.15f}, P* = {dec.optimum}")
print("β(x) for x = (0, 2):", np.round(dec.beta((0, 2)), 6), " output error:", report["output_error"])
assert abs(dec.acceptance - 8 / 9) < 1e-9 and report["output_error"] < 1e-12

# %% [markdown]
# For a *non-optimal* `β` the two acceptances differ: SIR on `p = (1/2, 1/2)`, `q = (3/4, 1/4)`, `K = 2` has
# speculative-sampling acceptance `7/8` but membership acceptance `11/12` — the residual sample of step 2 can
# coincide with the other draft. lpspec reports membership by default and says so.

# %%
sir = SIR(target=[F(3, 4), F(1, 4)], drafts=[F(1, 2), F(1, 2)], k=2)
print(f"SIR: Σ min(q, p_I) = {sir.sd_acceptance}, membership = {sir.acceptance}")
assert (sir.sd_acceptance, sir.acceptance) == (F(7, 8), F(11, 12))

# %% [markdown]
# ## 4. Theorem 2 — when does the optimum accept with probability one?
#
# For `K = 2` identical drafts: `P* = 1` iff `q(S) ≥ p(S)^2` for every `S`. On Figure 2's left panel this
# holds exactly for `q2 ∈ [1/9, 5/9]`. At `q2 = 0` the set `S = {1}` is a witness: `q(S) = 0 < p(S)^2 = 1/9`.

# %%
for q2 in [F(0), F(1, 18), F(1, 9), F(1, 3), F(5, 9), F(11, 18)]:
    qq = [third, q2, F(2, 3) - q2]
    r = acceptance_one(target=qq, drafts=p, k=2)
    value = lpspec.optimal_acceptance(target=qq, drafts=p, k=2).value
    print(f"q2 = {q2!s:>5}: holds = {r.holds!s:5}  witness = {r.witness}  P* = {value}")
    assert r.holds == (value == 1) == (F(1, 9) <= q2 <= F(5, 9))

# %% [markdown]
# The region on the 2-simplex (here for `p = (1/2, 3/10, 1/5)`) — for three tokens it is the hexagon
# `p_i^K ≤ q_i ≤ 1 − (1 − p_i)^K`.

# %%
from lpspec.experiments.figures import acceptance_one_region

fig, region = acceptance_one_region([0.5, 0.3, 0.2], k=2, resolution=24)
inside = sum(region.column("acceptance_one"))
print(f"{inside} of {len(region)} grid targets have P* = 1")
assert 0 < inside < len(region)
fig  # noqa: B018 (displayed in Jupyter)

# %% [markdown]
# ## 5. Theorem 3 — the two-draft optimum in closed form
#
# `P* = min_S q(S) + p(S^c)^2 + 2 p(S) p(S^c) = min_S q(S) + 1 − p(S)^2`. Check it against the LP on random
# instances (Dirichlet draws, fixed seed).

# %%
rng = np.random.default_rng(0)
worst = 0.0
for _ in range(20):
    n = int(rng.integers(2, 7))
    tq, tp = rng.dirichlet(np.ones(n)), rng.dirichlet(np.full(n, 0.5))
    t3 = theorem3(target=tq, drafts=tp)
    lp = lpspec.solve_lp(target=tq, drafts=tp, k=2, form="edge").value
    worst = max(worst, abs(t3.value - lp), abs(t3.simplified - lp))
print(f"largest |Theorem 3 − LP| over 20 instances: {worst:.2e}")
assert worst < 1e-9

# %% [markdown]
# ## 6. K drafts: the sorted-prefix formula
#
# For `K` identical drafts, `P* = min_S q(S) + 1 − p(S)^K`, and a minimising `S` is a prefix of the tokens
# sorted by `q/p`: an `O(n log n)` formula. Check it against the merged LP for `K = 3, 4`.

# %%
worst = 0.0
for _ in range(10):
    n, K = int(rng.integers(3, 7)), int(rng.integers(3, 5))
    tq, tp = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    fast = lpspec.optimal_acceptance(target=tq, drafts=tp, k=K, method="sorted_prefix").value
    lp = lpspec.solve_lp(target=tq, drafts=tp, k=K, form="merged").value
    worst = max(worst, abs(fast - lp))
print(f"largest |sorted prefix − merged LP|: {worst:.2e}")
assert worst < 1e-9

# %% [markdown]
# ## 7. Figure 2 of the paper, regenerated
#
# The optimum (Theorem 3) against SpecTr and SpecInfer over `q_1` (the paper's `q2`: token indices here are
# 0-based), both panels, with the published points.

# %%
from lpspec.experiments.figures import figure2

fig2, table = figure2(steps=90)
left0 = table.where(panel="left", q1=0.0).rows[0]
print({key: round(left0[key], 6) for key in ("optimal_acceptance", "spectr.membership_acc", "specinfer.membership_acc")})
assert abs(left0["spectr.membership_acc"] - (11 + 13**0.5) / 18) < 1e-12
assert abs(left0["specinfer.membership_acc"] - 7 / 9) < 1e-12
exact = [third, F(1, 9), F(5, 9)]
assert SpecTr(target=exact, drafts=p, k=2).acceptance == F(8, 9)
assert SpecInfer(target=exact, drafts=p, k=2).acceptance == F(23, 27)
fig2  # noqa: B018 (displayed in Jupyter)

# %%
print("notebook 01 OK")
