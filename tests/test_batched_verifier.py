"""The batched rank-space verifier (``lpspec.batched.verifier``) against the NumPy construction, and its sampler.

Agreement bound per row: every realised mass (``p_I``), ``α``, ``P*`` within the NumPy verifier's stated mass
bound ``(K + 2)(2n + 8P) u`` (``OptimalVerifier.error_bounds``). The sampler is checked against ``q`` (pooled
chi-square) and ``P*`` (Wilson interval) per row — expected values from the instance, not from the code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import _reference as R  # noqa: E402
from test_verifier import dirichlet_pair, lm_pair, packed_pair, pooled_chisquare, wilson  # noqa: E402

import lpspec.batched as lb  # noqa: E402
from lpspec import optimal_verifier  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _batch(rows):
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def _mixed_rows(n):
    """LM-like, adversarial, q = p, one-hot, zeros and a non-sliding (K = 1 style) row."""
    rows = [lm_pair(n, 1), dirichlet_pair(n, 2), packed_pair(n, 3)]
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(n))
    rows.append((p.copy(), p.copy()))  # q = p: P* = 1
    one = np.zeros(n)
    one[0] = 1.0
    rows.append((one, p.copy()))  # one-hot target
    z = rng.dirichlet(np.ones(n))
    z[: n // 3] = 0.0
    z /= z.sum()
    rows.append((p.copy(), z))  # draft zeros
    q = np.sort(rng.dirichlet(np.ones(n)))[::-1].copy()
    rows.append((q, np.full(n, 1.0 / n)))
    return rows


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("k", [1, 2, 3, 8])
def test_batched_construction_agrees_with_numpy_per_row(k, device):
    n = 200
    Q, P = _batch(_mixed_rows(n))
    v = lb.optimal_verifier(target=Q, drafts=P, k=k, device=device)
    report = v.check()
    assert bool(report["passed"].all())
    for b in range(Q.shape[0]):
        ref = optimal_verifier(target=Q[b], drafts=P[b], k=k)
        bound = ref.error_bounds()["mass"]
        assert abs(float(v.value[b]) - float(ref.value)) <= bound
        assert np.max(np.abs(v.selection_law[b].cpu().numpy() - ref.selection_law)) <= bound
        assert np.max(np.abs(v.acceptance[b].item() - ref.acceptance)) <= bound
        # (the cut itself may differ on ties: the q = p row has every prefix optimal up to rounding)
        if bool(v.slid[b]):
            assert int(v.slides_t[b] + v.slides_s[b]) + ref.slides["forced"] >= 0


def test_rows_without_slides_are_built_on_the_batch():
    # K = 1 never slides (single-draft speculative sampling) and LM-like rows at K = 1 are fully vectorised
    Q, P = _batch([lm_pair(500, s) for s in range(6)])
    v = lb.optimal_verifier(target=Q, drafts=P, k=1, device="cpu")
    assert not bool(v.slid.any())
    expected = np.minimum(Q, P).sum(axis=1)  # Σ min(q, p)
    assert np.max(np.abs(v.value.numpy() - expected)) <= 1e-12
    assert np.max(np.abs(v.acceptance.numpy() - expected)) <= 1e-12
    v.check()


@pytest.mark.parametrize("device", DEVICES)
def test_batched_sampler_gives_q_and_pstar_per_row(device):
    n, N, k = 300, 100_000, 3
    rows = [lm_pair(n, 11), dirichlet_pair(n, 12), packed_pair(n, 13)]
    Q, P = _batch(rows)
    v = lb.optimal_verifier(target=Q, drafts=P, k=k, device=device)
    g = torch.Generator(device=device).manual_seed(0)
    rng = np.random.default_rng(0)
    tuples = np.stack([rng.choice(n, size=(N, k), p=P[b]) for b in range(len(rows))])
    out, acc = v.sample(torch.as_tensor(tuples, device=device), generator=g)
    out, acc = out.cpu().numpy(), acc.cpu().numpy()
    for b in range(len(rows)):
        lo, hi = wilson(int(acc[b].sum()), N)
        assert lo <= float(v.value[b]) <= hi
        assert pooled_chisquare(np.bincount(out[b], minlength=n), N * Q[b]) > 1e-5


def test_batched_sampler_agrees_with_numpy_conditional_on_one_tuple():
    q, p = [4 / 18, 5 / 18, 1 / 18, 8 / 18], [8 / 24, 4 / 24, 5 / 24, 7 / 24]
    v = lb.optimal_verifier(target=[q], drafts=[p], k=2, device="cpu")
    ref = optimal_verifier(target=q, drafts=p, k=2)
    N = 100_000
    for x in [(0, 0), (0, 3), (3, 1), (2, 0)]:
        out, acc = v.sample(torch.tensor([[x] * N]), generator=torch.Generator().manual_seed(sum(x)))
        cond = ref.conditional(x)
        assert pooled_chisquare(np.bincount(out[0].numpy(), minlength=4), N * cond) > 1e-5
        lo, hi = wilson(int(acc.sum()), N)
        assert lo <= sum(cond[y] for y in set(x)) <= hi


def test_batched_errors():
    with pytest.raises(ValueError, match="identical"):
        lb.optimal_verifier(target=[[0.5, 0.5]], drafts=[[[0.5, 0.5]], [[0.9, 0.1]]], device="cpu")
    v = lb.optimal_verifier(target=[[0.5, 0.5]], drafts=[[0.5, 0.0 + 0.5]], k=2, device="cpu")
    with pytest.raises(ValueError, match="shape"):
        v.sample(torch.zeros((1, 3), dtype=torch.int64))
    z = lb.optimal_verifier(target=[[0.5, 0.5]], drafts=[[1.0, 0.0]], k=2, device="cpu")
    with pytest.raises(ValueError, match="p = 0"):
        z.sample(torch.tensor([[[0, 1]]]))
    assert math.isclose(float(z.value[0]), 0.5, abs_tol=1e-15)


def test_lpspec_batch_reports_the_verifier_check(tmp_path, capsys):
    from lpspec.batched.io import save_distributions
    from lpspec.cli import main

    Q, P = _batch([lm_pair(100, 21), packed_pair(100, 22)])
    path = tmp_path / "pair.npz"
    save_distributions(path, target=Q, drafts=P)
    assert main(["batch", str(path), "-k", "2", "3", "--summary", "--check-verifier", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "optimal verifier (rank space), K=2: pass on 2/2 rows" in err
    assert "K=3: pass on 2/2 rows" in err


def test_lpspec_batch_exits_1_when_the_verifier_check_fails(tmp_path, capsys, monkeypatch):
    """A failed verifier check is a failed run: exit 1 (the table is still written), not a note with exit 0."""
    import lpspec.batched.table as table_mod
    from lpspec.batched.io import save_distributions
    from lpspec.cli import main

    Q, P = _batch([lm_pair(50, 31)])
    path = tmp_path / "pair.npz"
    save_distributions(path, target=Q, drafts=P)
    monkeypatch.setattr(table_mod, "verifier_check", lambda **kw: {
        2: {"rows": 1, "passed": 0, "worst_error": 1.0, "bound": 1e-12, "slid": 0}})
    assert main(["batch", str(path), "-k", "2", "--check-verifier", "--device", "cpu"]) == 1
    assert "K=2: FAIL on 0/1 rows" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- subnormal and tied rows
def test_subnormal_draft_row_builds_a_valid_plan():
    """q = (.3, .3, .4), p ∝ (0, 1e-310, 1), K = 2: q/p overflows; the p = 0 token owns no rank, the subnormal
    one its p; the value is the brute-force min cut (0.4)."""
    p = np.array([0.0, 1e-310, 1.0])
    p = p / p.sum()
    q = np.array([0.3, 0.3, 0.4])
    truth = R.identical_min_cut(list(q), list(p), 2)
    assert abs(truth - 0.4) <= 1e-15
    Q, P = np.array([q, [0.2, 0.3, 0.5]]), np.array([p, [0.5, 0.25, 0.25]])
    v = lb.optimal_verifier(target=Q, drafts=P, k=2, device="cpu")
    assert bool(v.check()["passed"].all())
    assert abs(float(v.value[0]) - truth) <= 1e-15 and abs(float(v.acceptance[0]) - truth) <= 1e-15
    assert float(v.selection_law[0, 0]) == 0.0 and float(v.rank_length[0, 0]) == 0.0
    assert abs(float(v.rank_length[0, 1]) - p[1]) <= 1e-15 * p[1]
    truth1 = R.identical_min_cut([0.2, 0.3, 0.5], [0.5, 0.25, 0.25], 2)
    assert abs(float(v.value[1]) - truth1) <= 1e-15


def _tied_rows(n, seed):
    """Rows with ties: q = p uniform (P* = 1), q and p on a coarse grid (many equal ratios, P* < 1), q a rounding
    of p, and a row with equal rounded ratios of different (q, p) pairs."""
    rng = np.random.default_rng(seed)
    rows = [(np.full(n, 1.0 / n), np.full(n, 1.0 / n))]
    for _ in range(3):
        q = rng.integers(1, 4, n).astype(float)
        p = rng.integers(1, 4, n).astype(float)
        rows.append((q / q.sum(), p / p.sum()))
    p = rng.dirichlet(np.ones(n))
    rows.append((np.nextafter(p, 1.0) / np.nextafter(p, 1.0).sum(), p))
    rows.append((p.copy(), p.copy()))
    q = np.tile([0.375, 0.125], n // 2)[:n]
    d = np.tile([0.5, 0.16666666666666666], n // 2)[:n]
    rows.append((q / q.sum(), d / d.sum()))
    return rows


@pytest.mark.parametrize("k", [2, 3, 4])
def test_tied_rows_agree_with_numpy_per_row(k):
    n = 6
    Q, P = _batch(_tied_rows(n, k))
    v = lb.optimal_verifier(target=Q, drafts=P, k=k, device="cpu")
    assert bool(v.check()["passed"].all())
    for b in range(Q.shape[0]):
        ref = optimal_verifier(target=Q[b], drafts=P[b], k=k)
        bound = ref.error_bounds()["mass"]
        truth = R.identical_min_cut(list(Q[b]), list(P[b]), k)
        assert abs(float(v.value[b]) - truth) <= bound
        assert int(v.cut_size[b]) == len(ref.cut_set)
        assert np.max(np.abs(v.selection_law[b].numpy() - ref.selection_law)) <= bound
