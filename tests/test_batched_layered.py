"""``lpspec.batched.optimal_verifier(plan="layered")``: the layered plan on a (B, n) batch with torch ops only.

Per row it is checked against the NumPy layered plan (:mod:`lpspec.verifier.layered`) built on the same floats:
slot edges, the weight of every (slot, token) pair within the NumPy length bound ``(2n + 8P) u``, ``p_I``, ``P*``
and the acceptance within its mass bound ``(K + 2)(2n + 8P) u``. On tiny rows the batched plan is handed to the
NumPy integrator and every K-tuple is enumerated: output law ``= q`` and acceptance ``=`` the brute-force
minimum cut over all sets (``_reference.identical_min_cut``). The sampler is checked against ``q`` (pooled
chi-square) and ``P*`` (Wilson interval), and on single tuples against the enumerated conditional law.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import _reference as R  # noqa: E402
from test_verifier import dirichlet_pair, lm_pair, packed_pair, pooled_chisquare, wilson  # noqa: E402
from test_verifier_layered import enumerate_scheme, forced  # noqa: E402

import lpspec.batched as lb  # noqa: E402
from lpspec import optimal_verifier  # noqa: E402
from lpspec.verifier.layered import LayeredVerifier, layered_verifier_from_cut  # noqa: E402
from lpspec.verifier.rank import _float_cut  # noqa: E402


def _rows(n):
    """Random, adversarial, tied, P* = 1, one-hot, subnormal and draft-zero rows."""
    rng = np.random.default_rng(7)
    rows = [lm_pair(n, 1), dirichlet_pair(n, 2), packed_pair(n, 3)]
    p = rng.dirichlet(np.ones(n))
    rows.append((p.copy(), p.copy()))  # q = p: P* = 1 (every cut ties)
    one = np.zeros(n)
    one[3] = 1.0
    rows.append((one, p.copy()))  # one-hot target
    rows.append((one, one.copy()))  # one-hot both
    z = rng.dirichlet(np.ones(n))
    z[: n // 3] = 0.0
    rows.append((p.copy(), z / z.sum()))  # draft zeros
    g = rng.dirichlet(np.ones(n // 10))
    tq, tp = np.repeat(g, 10), np.repeat(rng.dirichlet(np.ones(n // 10)), 10)
    rows.append((tq / tq.sum(), tp / tp.sum()))  # groups of identical (q, p): tied ratios
    s = rng.dirichlet(np.ones(n))
    s[:20] = 5e-320  # subnormal draft masses (ratios overflow)
    t = rng.dirichlet(np.ones(n))
    t[20:40] = 3e-318  # subnormal target masses
    rows.append((t / t.sum(), s / s.sum()))
    return rows


def _numpy_layered(q, p, k):
    """The NumPy layered plan on these floats (what ``lpspec.optimal_verifier(plan="layered")`` builds)."""
    order, best, value = _float_cut(q, p, k)
    s, t = order[:best], order[best:][::-1]
    return layered_verifier_from_cut(q, p, k, value, tuple(np.sort(s).tolist()), s, t)


def _pair_weights(slot, owner, weight, n):
    keys = np.asarray(slot, dtype=np.int64) * n + np.asarray(owner, dtype=np.int64)
    u, inv = np.unique(keys, return_inverse=True)
    return dict(zip(u.tolist(), np.bincount(inv, weights=weight).tolist()))


@pytest.mark.parametrize("k", [1, 2, 3, 8])
def test_batched_layered_is_the_numpy_layered_plan_per_row(k):
    n = 200
    rows = _rows(n)
    Q, P = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    v = lb.optimal_verifier(target=Q, drafts=P, k=k, device="cpu", plan="layered")
    assert bool(v.check()["passed"].all())
    assert int((v.slides_t + v.slides_s).sum()) > 0 or k == 1
    for b in range(len(rows)):
        q, p = v.target[b].numpy(), v.draft[b].numpy()
        ref = _numpy_layered(q, p, k)
        ref.check()
        length, mass = ref.error_bounds()["length"], ref.error_bounds()["mass"]
        assert int(v.cut_size[b]) == len(ref.cut_set)
        assert abs(float(v.value[b]) - float(ref.value)) <= mass
        assert abs(float(v.acceptance[b]) - ref.acceptance) <= mass
        assert np.max(np.abs(v.selection_law[b].numpy() - ref.selection_law)) <= mass
        assert np.array_equal(v.slot_edges[b].numpy()[: ref.slot_edges.size], ref.slot_edges)
        assert np.array_equal(v.slot_owner[b].numpy()[: ref.slot_owner.size], ref.slot_owner)
        if k == 1:
            # K = 1: every slot has density 1, so the only "deficits" are rounding noise in M; the noise-level
            # swaps may differ, the law may not (checked above)
            continue
        mine = _pair_weights(v.piece_slot[b].numpy(), v.piece_owner[b].numpy(), v.piece_weight[b].numpy(), n)
        theirs = _pair_weights(ref.piece_slot, ref.piece_owner, ref.piece_weight, n)
        for key in set(mine) | set(theirs):
            assert abs(mine.get(key, 0.0) - theirs.get(key, 0.0)) <= length, (b, key)
        # and the public NumPy entry point on the caller's rows (normalised by its own front end)
        pub = optimal_verifier(target=rows[b][0], drafts=rows[b][1], k=k, plan="layered")
        assert abs(float(v.value[b]) - float(pub.value)) <= mass
        assert np.max(np.abs(v.selection_law[b].numpy() - pub.selection_law)) <= mass


def _as_numpy(v, b):
    """Row ``b`` of the batched plan as a NumPy :class:`LayeredVerifier` (for its exact tuple integrator)."""
    keep = v.piece_weight[b] > 0
    cut = v.slot_owner[b][int((v.draft[b] > 0).sum() - v.cut_size[b]):int((v.draft[b] > 0).sum())]
    return LayeredVerifier(float(v.value[b]), tuple(sorted(cut.tolist())), v.k, v.target[b].numpy(),
                           v.draft[b].numpy(), v.slot_edges[b].numpy(), v.slot_owner[b].numpy(),
                           v.piece_slot[b][keep].numpy(), v.piece_owner[b][keep].numpy(),
                           v.piece_weight[b][keep].numpy())


@pytest.mark.parametrize("k", [2, 3, 4])
def test_tiny_rows_output_is_q_and_acceptance_is_the_brute_force_cut(k):
    rows = [([4 / 18, 5 / 18, 1 / 18, 8 / 18], [8 / 24, 4 / 24, 5 / 24, 7 / 24]),  # swaps on both sides
            ([0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25]),  # q = p
            ([1.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.25, 0.25]),  # one-hot target
            ([0.3, 0.0, 0.7, 0.0], [0.2, 0.5, 0.3, 0.0]),  # zeros
            ([1e-13, 0.5, 0.5 - 1e-13, 0.0], [0.5, 1e-12, 0.5 - 1e-12, 0.0])]  # tiny masses
    rows += [(q, p) for side in "TS" for q, p in forced(side, k, 2)]
    rows = [(list(q) + [0.0] * (5 - len(q)), list(p) + [0.0] * (5 - len(p))) for q, p in rows]  # zero padding
    Q, P = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    v = lb.optimal_verifier(target=Q, drafts=P, k=k, device="cpu", plan="layered")
    v.check()
    assert int(v.slides_t.sum()) > 0 and int(v.slides_s.sum()) > 0
    for b in range(len(rows)):
        q, p = v.target[b].numpy(), v.draft[b].numpy()
        out, acc, _ = enumerate_scheme(_as_numpy(v, b), q, p, k)
        assert np.max(np.abs(out - q)) <= 1e-12
        cut = R.identical_min_cut(list(q), list(p), k)
        assert abs(acc - float(cut)) <= 1e-12
        assert abs(float(v.acceptance[b]) - float(cut)) <= 1e-12


def test_batched_layered_sampler_gives_q_and_pstar_and_honours_the_weights():
    n, N, k = 300, 100_000, 3
    rows = [lm_pair(n, 11), dirichlet_pair(n, 12), packed_pair(n, 13)]
    Q, P = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    v = lb.optimal_verifier(target=Q, drafts=P, k=k, device="cpu", plan="layered")
    assert int((v.slides_s + v.slides_t > 0).sum()) >= 2  # weighted pieces (fractional swaps) in two rows
    rng = np.random.default_rng(0)
    tuples = np.stack([rng.choice(n, size=(N, k), p=P[b]) for b in range(len(rows))])
    out, acc = v.sample(torch.as_tensor(tuples), generator=torch.Generator().manual_seed(0))
    for b in range(len(rows)):
        lo, hi = wilson(int(acc[b].sum()), N)
        assert lo <= float(v.value[b]) <= hi
        assert pooled_chisquare(np.bincount(out[b].numpy(), minlength=n), N * Q[b]) > 1e-5
    # one tuple at a time against the enumerated conditional law of the (weighted) plan
    q, p = [4 / 18, 5 / 18, 1 / 18, 8 / 18], [8 / 24, 4 / 24, 5 / 24, 7 / 24]
    w = lb.optimal_verifier(target=[q], drafts=[p], k=2, device="cpu", plan="layered")
    ref = optimal_verifier(target=q, drafts=p, k=2, plan="layered")
    for x in [(0, 0), (0, 3), (3, 1), (2, 0), (1, 2)]:
        o, a = w.sample(torch.tensor([[x] * N]), generator=torch.Generator().manual_seed(sum(x)))
        assert pooled_chisquare(np.bincount(o[0].numpy(), minlength=4), N * ref.conditional(x)) > 1e-5


def test_plan_is_checked():
    with pytest.raises(ValueError, match="plan"):
        lb.optimal_verifier(target=[[0.5, 0.5]], drafts=[[0.5, 0.5]], k=2, device="cpu", plan="fast")
