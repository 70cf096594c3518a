"""The batched torch backend against independent references, on every available device (cpu; cuda if present).

References: brute force over all subsets (``_reference``, no lpspec), the NumPy sorted prefix and the NumPy
schemes (``lpspec.compare_schemes``, ``lpspec.schemes.TruncatedIS`` whose LP is solved by HiGHS), exact values
of the paper's Figure 2 (docs/theory.md §7), and closed forms written in the tests with ``math.fsum``. Tolerances are
the stated bound :func:`lpspec.batched.agreement_tolerance` (``2 (K + 2) n u + 64 u``).
"""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import _reference as R

import lpspec
from lpspec import batched as lb
from lpspec.batched import _torch as bt
from lpspec.batched.schemes import spectr_acceptance, truncated_is_acceptance
from lpspec.schemes import SpecTr, TruncatedIS

DEVICES = lb.available_devices()
KINDS = R.DIST_KINDS


def tol(n, k):
    return lb.agreement_tolerance(n, k)


def draw(kind, n, rng):
    return R._float_dist(kind, n, rng, int(rng.integers(n)))


def batch_of(rng, B, n, kinds=KINDS):
    q = np.stack([draw(kinds[int(rng.integers(len(kinds)))], n, rng) for _ in range(B)])
    p = np.stack([draw(kinds[int(rng.integers(len(kinds)))], n, rng) for _ in range(B)])
    return q, p


def lm_like(rng, B, n, scale=3.0, noise=1.0):
    z = scale * rng.standard_normal((B, n))
    q = np.exp(z - z.max(1, keepdims=True))
    w = z + noise * rng.standard_normal((B, n))
    p = np.exp(w - w.max(1, keepdims=True))
    return q / q.sum(1, keepdims=True), p / p.sum(1, keepdims=True)


def cut_value_fsum(q, p, k, mask):
    """``q(S) + 1 - p(S)^K`` in fsum, from the row and a boolean mask."""
    return math.fsum(q[mask].tolist()) + 1.0 - math.fsum(p[mask].tolist()) ** k


# ---------------------------------------------------------------------------- import and device handling
def test_import_lpspec_and_batched_do_not_import_torch():
    code = "import sys, lpspec, lpspec.batched, lpspec.sequence.hf_distributions; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_torch_raises_an_actionable_import_error(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *a, **kw):
        if name == "torch":
            raise ImportError("No module named 'torch'")
        return real(name, *a, **kw)

    monkeypatch.setattr(bt, "_TORCH", None)
    monkeypatch.setattr(bt.importlib, "import_module", fake)
    with pytest.raises(ImportError, match=r"pip install 'lpspec\[torch\]'"):
        lb.optimal_acceptance(target=[[1.0]], drafts=[[1.0]], k=1)


def test_default_device_dtype_and_overrides():
    r = lb.optimal_acceptance(target=[[0.5, 0.5]], drafts=[[0.9, 0.1]], k=2)
    assert r.value.dtype == torch.float64
    assert r.value.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    r32 = lb.optimal_acceptance(target=[[0.5, 0.5]], drafts=[[0.9, 0.1]], k=2, device="cpu", dtype="float32")
    assert r32.value.dtype == torch.float32 and r32.value.device.type == "cpu"
    with pytest.raises(ValueError, match="dtype"):
        lb.optimal_acceptance(target=[[1.0]], drafts=[[1.0]], k=1, dtype="float16")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            lb.optimal_acceptance(target=[[1.0]], drafts=[[1.0]], k=1, device="cuda")


# ---------------------------------------------------------------------------- the optimum
@pytest.mark.parametrize("device", DEVICES)
def test_optimum_matches_brute_force_over_all_subsets(device):
    rng = np.random.default_rng(11)
    for _ in range(12):
        n, K = int(rng.integers(1, 9)), int(rng.integers(1, 7))
        q, p = batch_of(rng, 6, n)
        r = lb.optimal_acceptance(target=q, drafts=p, k=K, device=device)
        for b in range(6):
            ref = R.identical_min_cut(list(q[b]), list(p[b]), K)
            assert abs(r.value[b].item() - ref) <= tol(n, K)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n", [50, 3000, 20_000])
def test_optimum_matches_numpy_sorted_prefix_and_the_cut_certifies_it(device, n):
    rng = np.random.default_rng(n)
    B = 6 if n > 5000 else 12
    q, p = lm_like(rng, B, n) if n > 5000 else batch_of(rng, B, n)
    for K in (1, 2, 3, 8):
        r = lb.optimal_acceptance(target=q, drafts=p, k=K, device=device)
        masks = r.cut_mask(target=q, drafts=p).cpu().numpy()
        assert r.value.shape == (B,) and r.cut_size.shape == (B,)
        for b in range(B):
            ref = lpspec.optimal_acceptance(target=q[b], drafts=p[b], k=K)
            v = r.value[b].item()
            assert abs(v - float(ref.value)) <= tol(n, K), (K, b, v, ref.value)
            assert int(masks[b].sum()) == r.cut_size[b].item()
            assert not masks[b][p[b] == 0].any()  # no zero-draft token in a cut
            assert abs(cut_value_fsum(q[b], p[b], K, masks[b]) - v) <= tol(n, K)


@pytest.mark.parametrize("device", DEVICES)
def test_optimum_edge_cases(device):
    cases = [
        # (q, p, K, expected P*) computed by hand
        ([1.0, 0.0], [0.0, 1.0], 2, 0.0),  # disjoint supports: S = {1}
        ([0.5, 0.5], [0.5, 0.5], 3, 1.0),  # q = p: P* = 1
        ([0.25] * 4, [0.25] * 4, 8, 1.0),  # ties everywhere
        ([0.0, 1.0], [0.5, 0.5], 2, 0.75),  # q = 0 token: S = {0}: 0 + 1 - 1/4
        ([0.2, 0.8, 0.0], [0.0, 0.5, 0.5], 1, 0.5),  # K = 1: Σ min(q, p)
        ([1.0], [1.0], 5, 1.0),
    ]
    for q, p, K, expected in cases:
        r = lb.optimal_acceptance(target=[q], drafts=[p], k=K, device=device)
        assert abs(r.value.item() - expected) <= 1e-15, (q, p, K, r.value.item())
    # a -0.0 target entry is a zero: it belongs to the cut
    r = lb.optimal_acceptance(target=[[-0.0, 1.0]], drafts=[[0.5, 0.5]], k=2, device=device)
    assert abs(r.value.item() - 0.75) <= 1e-15 and r.cut_size.item() == 1


@pytest.mark.parametrize("device", DEVICES)
def test_optimum_with_many_tied_ratios_reports_consistent_cuts(device):
    """Entries from a few integer levels: large groups of equal q/p inside the candidate buckets."""
    rng = np.random.default_rng(17)
    n, B = 400, 8
    q = rng.integers(0, 4, size=(B, n)).astype(float)
    p = rng.integers(0, 3, size=(B, n)).astype(float)
    q /= q.sum(1, keepdims=True)
    p /= p.sum(1, keepdims=True)
    for K in (1, 2, 3, 6):
        r = lb.optimal_acceptance(target=q, drafts=p, k=K, device=device)
        masks = r.cut_mask(target=q, drafts=p).cpu().numpy()
        for b in range(B):
            ref = lpspec.optimal_acceptance(target=q[b], drafts=p[b], k=K)
            assert abs(r.value[b].item() - ref.value) <= tol(n, K)
            assert int(masks[b].sum()) == r.cut_size[b].item()
            assert abs(cut_value_fsum(q[b], p[b], K, masks[b]) - r.value[b].item()) <= tol(n, K)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spread", [1e-6, 1e-10, 1e-14, 0.0])
def test_optimum_with_ratios_packed_in_a_narrow_range_refines_the_buckets(device, spread):
    """Most ratios within ``spread`` of each other: the candidate buckets are refined (radix steps), or are
    single-valued tie groups; checked against fsum values of the cuts (NumPy's cumsum drifts here)."""
    rng = np.random.default_rng(19)
    B, n = 3, 9000
    p = np.full((B, n), 1.0 / n)
    q = 1 + spread * rng.random((B, n))
    q[:, 0] = 0
    q = 0.5 * q / q.sum(1, keepdims=True)
    q[:, 0] = 0.5
    refined = []
    for K in (2, 5):
        r = lb.optimal_acceptance(target=q, drafts=p, k=K, device=device)
        masks = r.cut_mask(target=q, drafts=p).cpu().numpy()
        for b in range(B):
            ref = lpspec.optimal_acceptance(target=q[b], drafts=p[b], k=K)
            S = np.zeros(n, dtype=bool)
            S[list(ref.cut_set)] = True
            truth = cut_value_fsum(q[b], p[b], K, S)
            assert abs(r.value[b].item() - truth) <= tol(n, K)
            assert int(masks[b].sum()) == r.cut_size[b].item()
            assert abs(cut_value_fsum(q[b], p[b], K, masks[b]) - truth) <= tol(n, K)
        refined.append(r.details["refinements"])
    assert max(refined) >= (1 if spread > 0 else 0)


@pytest.mark.parametrize("device", DEVICES)
def test_optimum_through_the_refinement_path_on_random_rows(device, monkeypatch):
    """Coarse buckets (one per octave), at most 8 tokens sorted per row, 8 finer buckets per radix step: the
    instances go through several refinements."""
    from lpspec.batched import buckets as bb
    from lpspec.batched import optimum as bo

    monkeypatch.setattr(bb, "SUB_BUCKET_BITS", 0)
    monkeypatch.setattr(bo, "MAX_SORTED", 8)
    monkeypatch.setattr(bo, "REFINE_BITS", 3)
    rng = np.random.default_rng(23)
    q, p = batch_of(rng, 16, 600)
    for K in (1, 2, 4):
        r = lb.optimal_acceptance(target=q, drafts=p, k=K, device=device)
        masks = r.cut_mask(target=q, drafts=p).cpu().numpy()
        for b in range(16):
            ref = lpspec.optimal_acceptance(target=q[b], drafts=p[b], k=K)
            assert abs(r.value[b].item() - ref.value) <= tol(600, K)
            assert int(masks[b].sum()) == r.cut_size[b].item()
            assert abs(cut_value_fsum(q[b], p[b], K, masks[b]) - r.value[b].item()) <= tol(600, K)
        assert r.details["refinements"] >= 1


@pytest.mark.parametrize("device", DEVICES)
def test_figure2_points(device):
    """docs/theory.md §7: q = (1/3, q2, 2/3 - q2), p uniform on 3 tokens, K = 2."""
    third = [1 / 3] * 3
    q0, q1 = [1 / 3, 0.0, 2 / 3], [1 / 3, 1 / 9, 5 / 9]
    res = lb.compare_schemes(target=[q0, q1], drafts=[third, third], k=2, device=device)
    expected = {
        "optimal": [8 / 9, 1.0],
        "spectr": [(11 + math.sqrt(13)) / 18, 8 / 9],
        "specinfer": [7 / 9, 23 / 27],
    }
    for name, vals in expected.items():
        for b in range(2):
            assert abs(res[name][b].item() - vals[b]) <= 1e-12, (name, b)
    rho = spectr_acceptance(lb.as_batch(target=[q1], drafts=[third], k=2, device=device))[1]
    assert abs(rho.item() - 4 / 3) <= 1e-12


@pytest.mark.parametrize("device", DEVICES)
def test_different_drafts_get_the_exact_search_with_the_paper_counterexample(device):
    q = [[0.1, 0.2, 0.1, 0.6]]
    drafts = [[[0.8, 0.0, 0.2, 0.0]], [[0.1, 0.3, 0.0, 0.6]]]  # (K, B, n): docs/theory.md §4, P* = 49/50
    diff = lb.optimal_acceptance(target=q, drafts=drafts, device=device)  # exact search, not the sorted prefix
    assert abs(diff.value.item() - 49 / 50) <= 1e-15
    assert diff.cut_mask.tolist() == [[True, True, False, False]]
    with pytest.raises(ValueError, match="lpspec.optimal_acceptance"):
        lb.acceptance_one(target=q, drafts=drafts, device=device)
    res = lb.compare_schemes(target=q, drafts=drafts, device=device)
    assert "optimal" not in res and "spectr" not in res
    assert set(res) == {"single_draft", "specinfer", "naive", "truncated_is", "upper_bound"}
    # nothing left out silently: the reasons, as lpspec.compare_schemes gives them
    assert set(res.not_computed) == {"optimal", "spectr"}
    assert "not exact" in res.not_computed["optimal"] and "identical drafts" in res.not_computed["spectr"]
    exact = lpspec.optimal_acceptance(target=[Fraction(1, 10), Fraction(1, 5), Fraction(1, 10), Fraction(3, 5)],
                                      drafts=[[Fraction(4, 5), 0, Fraction(1, 5), 0],
                                              [Fraction(1, 10), Fraction(3, 10), 0, Fraction(3, 5)]])
    assert exact.value == Fraction(49, 50)
    assert res["upper_bound"].item() >= 49 / 50 - 1e-15
    # a (K, B, n) tensor whose K slices are equal is identical drafts
    same = lb.optimal_acceptance(target=q, drafts=[drafts[0], drafts[0]], device=device)
    ref = lpspec.optimal_acceptance(target=q[0], drafts=drafts[0][0], k=2)
    assert abs(same.value.item() - ref.value) <= 1e-15


@pytest.mark.parametrize("device", DEVICES)
def test_acceptance_one_matches_brute_force_margin(device):
    rng = np.random.default_rng(5)
    holds = []
    for _ in range(10):
        n, K = int(rng.integers(2, 8)), int(rng.integers(2, 5))
        q, p = batch_of(rng, 6, n, kinds=("uniform", "dirichlet", "dirichlet_large", "with_zeros"))
        q[0] = p[0]  # P* = 1 on row 0
        r = lb.acceptance_one(target=q, drafts=p, k=K, device=device)
        for b in range(6):
            masses = R.tuple_masses(drafts=list(p[b]), k=K)
            margin, _ = R.brute_margin(list(q[b]), masses)
            expected = margin >= -1e-12
            assert bool(r.holds[b]) == expected
            assert abs(r.margin[b].item() - min(0.0, margin)) <= tol(n, K)
            if not expected:
                mask = r.witness_threshold[b].item() >= np.where(p[b] > 0, q[b] / np.where(p[b] > 0, p[b], 1), np.inf)
                assert math.fsum(q[b][mask]) - math.fsum(p[b][mask]) ** K < 0
            holds.append(expected)
    assert any(holds) and not all(holds)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_compute_dtype_within_its_own_bound(device):
    rng = np.random.default_rng(8)
    q, p = lm_like(rng, 8, 4000)
    r = lb.optimal_acceptance(target=q, drafts=p, k=4, device=device, dtype=torch.float32)
    assert r.value.dtype == torch.float32
    for b in range(8):
        ref = lpspec.optimal_acceptance(target=q[b], drafts=p[b], k=4).value
        assert abs(r.value[b].item() - ref) <= lb.agreement_tolerance(4000, 4, torch.float32)


# ---------------------------------------------------------------------------- the schemes
def _numpy_compare(q, drafts, k, names, s=5):
    kw = {"target": q, "drafts": drafts, "k": k}
    ref = lpspec.compare_schemes(**kw, schemes=[nm for nm in names if nm != "truncated_is"])
    if "truncated_is" in names:
        ref["truncated_is"] = TruncatedIS(**kw, s=s).sd_acceptance
    return {nm: float(v) for nm, v in ref.items()}


@pytest.mark.parametrize("device", DEVICES)
def test_compare_schemes_matches_numpy_identical_drafts(device):
    rng = np.random.default_rng(21)
    for trial in range(10):
        n, K = int(rng.integers(2, 13)), int(rng.integers(1, 5))
        q, p = batch_of(rng, 3, n)
        res = lb.compare_schemes(target=q, drafts=p, k=K, device=device)
        expected_names = ["optimal", "single_draft", "specinfer", "spectr", "naive", "upper_bound"]
        if K == 2:
            expected_names.insert(5, "truncated_is")
        assert list(res) == expected_names
        for b in range(3):
            ref = _numpy_compare(q[b], p[b], K, list(res))
            for name, v in res.items():
                slack = 1e-8 if name == "truncated_is" else tol(n, K)  # the NumPy LP is solved to 1e-9
                assert abs(v[b].item() - ref[name]) <= slack, (trial, name, b, v[b].item(), ref[name])


@pytest.mark.parametrize("device", DEVICES)
def test_compare_schemes_matches_numpy_different_drafts(device):
    rng = np.random.default_rng(22)
    for trial in range(10):
        n, K = int(rng.integers(2, 13)), int(rng.integers(1, 5))
        q, _ = batch_of(rng, 3, n)
        P = np.stack([batch_of(rng, 3, n)[1] for _ in range(K)])  # (K, B, n)
        if K == 1:
            P = np.concatenate([P, P[:, ::-1]], axis=0)[:1]
        res = lb.compare_schemes(target=q, drafts=P, device=device)
        assert "optimal" not in res
        for b in range(3):
            rows = [P[i, b] for i in range(P.shape[0])]
            if all(np.array_equal(rows[0], r) for r in rows):
                continue
            ref = _numpy_compare(q[b], rows, None, list(res))
            for name, v in res.items():
                slack = 1e-8 if name == "truncated_is" else tol(n, K)
                assert abs(v[b].item() - ref[name]) <= slack, (trial, name, b, v[b].item(), ref[name])


@pytest.mark.parametrize("device", DEVICES)
def test_truncated_is_for_small_s_and_larger_n_matches_the_numpy_lp(device):
    rng = np.random.default_rng(3)
    q, p = batch_of(rng, 4, 30, kinds=("dirichlet", "dirichlet_small", "with_zeros", "uniform"))
    P = np.stack([p, batch_of(rng, 4, 30)[1]])
    for s in (1, 3, 5):
        got = truncated_is_acceptance(lb.as_batch(target=q, drafts=P, device=device), s)
        got_id = truncated_is_acceptance(lb.as_batch(target=q, drafts=p, k=2, device=device), s)
        for b in range(4):
            ref = TruncatedIS(target=q[b], drafts=[P[0, b], P[1, b]], s=s).sd_acceptance
            ref_id = TruncatedIS(target=q[b], drafts=p[b], k=2, s=s).sd_acceptance
            assert abs(got[b].item() - ref) <= 1e-8
            assert abs(got_id[b].item() - ref_id) <= 1e-8


@pytest.mark.parametrize("device", DEVICES)
def test_untruncated_is_reaches_the_optimum(device):
    """With s >= n every pair is free and the pairwise LP reaches P* (K = 2): an independent check."""
    rng = np.random.default_rng(4)
    q, p = batch_of(rng, 10, 9)
    got = truncated_is_acceptance(lb.as_batch(target=q, drafts=p, k=2, device=device), 9)
    opt = lb.optimal_acceptance(target=q, drafts=p, k=2, device=device).value
    assert torch.allclose(got, opt, rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="s=17"):
        truncated_is_acceptance(lb.as_batch(target=q, drafts=p, k=2, device=device), 17)
    with pytest.raises(ValueError, match="K = 2"):
        truncated_is_acceptance(lb.as_batch(target=q, drafts=p, k=3, device=device), 5)


@pytest.mark.parametrize("device", DEVICES)
def test_spectr_and_specinfer_at_larger_n(device):
    rng = np.random.default_rng(6)
    n = 1500
    q, p = lm_like(rng, 3, n)
    for K in (2, 5, 8):
        batch = lb.as_batch(target=q, drafts=p, k=K, device=device)
        acc, rho = spectr_acceptance(batch)
        res = lb.compare_schemes(target=q, drafts=p, k=K, schemes=["specinfer", "naive"], device=device)
        for b in range(3):
            s = SpecTr(target=q[b], drafts=p[b], k=K)
            assert abs(acc[b].item() - float(s.round_acceptance)) <= tol(n, K)
            assert abs(rho[b].item() - s.rho) <= 1e-9 * K
            # SpecInfer and naive in closed form, written here with fsum
            r, miss = q[b].copy(), 1.0
            for _ in range(K):
                d = np.maximum(r - p[b], 0.0)
                m = math.fsum(d.tolist())
                miss *= m
                r = d / m if m > 0 else d
            assert abs(res["specinfer"][b].item() - (1 - miss)) <= tol(n, K)
            naive = math.fsum((q[b] * (1 - (1 - p[b]) ** K)).tolist())
            assert abs(res["naive"][b].item() - naive) <= tol(n, K)


@pytest.mark.parametrize("device", DEVICES)
def test_ordering_of_the_schemes_on_lm_like_rows(device):
    rng = np.random.default_rng(9)
    q, p = lm_like(rng, 16, 5000)
    for K in (2, 4):
        res = lb.compare_schemes(target=q, drafts=p, k=K, device=device)
        eps = tol(5000, K)
        for name in ("single_draft", "specinfer", "spectr", "naive") + (("truncated_is",) if K == 2 else ()):
            assert bool((res[name] <= res["optimal"] + eps).all()), name
        assert bool((res["optimal"] <= res["upper_bound"] + eps).all())


def test_compare_schemes_rejects_unknown_and_inapplicable_names():
    q, p = [[0.5, 0.5]], [[0.9, 0.1]]
    with pytest.raises(ValueError, match="not a scheme name"):
        lb.compare_schemes(target=q, drafts=p, k=2, schemes=["nope"], device="cpu")
    with pytest.raises(ValueError, match="not in the batched backend"):
        lb.compare_schemes(target=q, drafts=p, k=2, schemes=["sir"], device="cpu")
    with pytest.raises(ValueError, match="K = 2"):
        lb.compare_schemes(target=q, drafts=p, k=3, schemes=["truncated_is"], device="cpu")
    res = lb.compare_schemes(target=q, drafts=p, k=2, schemes=["upper_bound", "optimal"], device="cpu")
    assert list(res) == ["optimal", "upper_bound"]


# ---------------------------------------------------------------------------- inputs and validation
@pytest.mark.parametrize(
    "target, message",
    [
        ([[0.5, float("nan")]], r"target\[0, 1\] = nan is not finite"),
        ([[0.5, 0.5], [float("inf"), 0.0]], r"target\[1, 0\] = inf is not finite"),
        ([[1.2, -0.2]], r"target\[0, 1\] = -0.2 is negative"),
        ([[0.5, 0.5], [0.5, 0.4]], r"target\[1\] sums to 0.9, not 1 within 1e-09"),
        ([[0.5, 0.5 + 2e-9]], r"target\[0\] sums to"),
    ],
)
def test_validation_names_the_argument_and_the_row(target, message):
    with pytest.raises(ValueError, match=message):
        lb.optimal_acceptance(target=target, drafts=[[0.5, 0.5]] * len(target), k=2, device="cpu")


def test_validation_of_drafts_shapes_and_k():
    q = [[0.5, 0.5]]
    with pytest.raises(ValueError, match=r"drafts\[0, 0, 1\] = -0.5 is negative"):
        lb.compare_schemes(target=q, drafts=[[[1.5, -0.5]], [[0.5, 0.5]]], device="cpu")
    with pytest.raises(ValueError, match="pass k="):
        lb.optimal_acceptance(target=q, drafts=[[0.5, 0.5]], device="cpu")
    with pytest.raises(ValueError, match="k=3 but drafts hold K=2"):
        lb.compare_schemes(target=q, drafts=[[[0.5, 0.5]], [[0.9, 0.1]]], k=3, device="cpu")
    with pytest.raises(ValueError, match="k=0"):
        lb.optimal_acceptance(target=q, drafts=q, k=0, device="cpu")
    with pytest.raises(ValueError, match="3 tokens but target has 2"):
        lb.optimal_acceptance(target=q, drafts=[[0.2, 0.3, 0.5]], k=2, device="cpu")
    with pytest.raises(ValueError, match="2 rows but target has 1"):
        lb.optimal_acceptance(target=q, drafts=[[0.5, 0.5]] * 2, k=2, device="cpu")
    with pytest.raises(ValueError, match="exact"):
        lb.optimal_acceptance(target=[[Fraction(1, 2), Fraction(1, 2)]], drafts=q, k=2, device="cpu")
    with pytest.raises(ValueError, match="empty"):
        lb.optimal_acceptance(target=np.zeros((1, 0)), drafts=np.zeros((1, 0)), k=2, device="cpu")
    # a 1-D target is a batch of one
    r = lb.optimal_acceptance(target=[1 / 3, 0.0, 2 / 3], drafts=[1 / 3] * 3, k=2, device="cpu")
    assert r.value.shape == (1,) and abs(r.value.item() - 8 / 9) <= 1e-15


def test_float32_rows_renormalised_in_float64_and_half_precision_refused():
    rng = np.random.default_rng(1)
    z = torch.tensor(rng.standard_normal((4, 20_000)) * 3, dtype=torch.float32)
    q32 = torch.softmax(z, dim=1)  # float32 rows: sums off 1 by ~1e-6
    tensor, dev = lb.validate_rows(q32, "target", device="cpu")
    assert tensor.dtype == torch.float64 and 0 < dev <= lb.sum_tolerance(20_000, True)
    sums = tensor.sum(dim=1)
    assert torch.allclose(sums, torch.ones_like(sums), rtol=0, atol=1e-15)
    expected = q32.double() / q32.double().sum(dim=1, keepdim=True)  # float64 division by the float64 sum
    assert torch.equal(tensor, expected)
    q32[0] *= 1.01  # off by 1e-2 > (n + 1) 2^-24 = 1.2e-3
    with pytest.raises(ValueError, match=r"target\[0\] sums to .* \(float32 input\)"):
        lb.validate_rows(q32, "target", device="cpu")
    with pytest.raises(ValueError, match="bfloat16"):
        lb.validate_rows(torch.full((1, 4), 0.25, dtype=torch.bfloat16), "target", device="cpu")
    # float64 input never modified in place
    q = np.array([[0.5, 0.5 + 1e-12]])
    before = q.copy()
    lb.validate_rows(q, "target", device="cpu")
    assert np.array_equal(q, before)


def test_logits_transforms_follow_the_numpy_truncation_rule():
    from lpspec.experiments.families import truncate

    rng = np.random.default_rng(12)
    z = rng.standard_normal((5, 40)) * 2
    z[0, :10] = 1.5  # ties
    z[1, 3] = -np.inf
    for T, top_k, top_p in [(1.0, None, None), (0.7, 5, None), (1.3, None, 0.8), (0.5, 12, 0.6), (1.0, 1, None),
                            (2.0, None, 1.0)]:
        got = lb.probabilities_from_logits(z, temperature=T, top_k=top_k, top_p=top_p, device="cpu").numpy()
        for b in range(5):
            w = z[b] / T
            e = np.exp(w - w.max())
            base = e / math.fsum(e.tolist())
            ref = truncate(base, top_k=top_k, top_p=top_p) if (top_k or top_p) else base
            np.testing.assert_allclose(got[b], ref, rtol=1e-12, atol=1e-15)
            assert (got[b] > 0).sum() == (ref > 0).sum()
    for bad, msg in [({"temperature": 0.0}, "temperature"), ({"top_k": 0}, "top_k"), ({"top_p": 1.5}, "top_p")]:
        with pytest.raises(ValueError, match=msg):
            lb.probabilities_from_logits(z, device="cpu", **bad)
    with pytest.raises(ValueError, match="NaN"):
        lb.probabilities_from_logits([[0.0, float("nan")]], device="cpu")


@pytest.mark.parametrize("device", DEVICES)
def test_logits_inputs_in_the_public_functions(device):
    rng = np.random.default_rng(13)
    zt, zd = rng.standard_normal((3, 200)), rng.standard_normal((3, 200))
    r = lb.optimal_acceptance(target=lb.Logits(zt, temperature=0.8, top_p=0.9),
                              drafts=lb.Logits(zd, top_k=50), k=3, device=device)
    qp = lb.probabilities_from_logits(zt, temperature=0.8, top_p=0.9, device="cpu").numpy()
    pp = lb.probabilities_from_logits(zd, top_k=50, device="cpu").numpy()
    for b in range(3):
        ref = lpspec.optimal_acceptance(target=qp[b], drafts=pp[b], k=3).value
        assert abs(r.value[b].item() - ref) <= tol(200, 3)


# ---------------------------------------------------------------------------- the acceptance table
def test_acceptance_table_rows_summary_chunks_and_export(tmp_path):
    from lpspec.io.export import read_csv, write_table
    from lpspec.registry import SCHEME_FACTS, acceptance_column

    rng = np.random.default_rng(14)
    q, p = lm_like(rng, 7, 300)
    rows = lb.acceptance_table(target=q, drafts=p, k=[2, 4], batch_size=3, device="cpu")
    assert len(rows) == 14 and [r["position"] for r in rows[:7]] == list(range(7))
    assert {r["k"] for r in rows} == {2, 4}
    # no silent blanks: truncated IS is for K = 2; at K = 4 its cell is empty and the row says why
    assert rows[0]["truncated_is.sd_acc"] is not None and "notes" not in rows[0]
    assert rows[7]["truncated_is.sd_acc"] is None and "truncated_is: " in rows[7]["notes"]
    for K in (2, 4):
        res = lb.compare_schemes(target=q, drafts=p, k=K, device="cpu")
        for r in (r for r in rows if r["k"] == K):
            for name, v in res.items():
                assert r[acceptance_column(name, SCHEME_FACTS[name].batched_kind)] == pytest.approx(
                    v[r["position"]].item(), abs=1e-15)
    summary = lb.acceptance_table(target=q, drafts=p, k=[2, 4], device="cpu", summary=True)
    assert [s["k"] for s in summary] == [2, 4] and summary[0]["positions"] == 7
    for s in summary:
        per = [r for r in rows if r["k"] == s["k"]]
        assert s["optimal_acceptance"] == pytest.approx(math.fsum(r["optimal_acceptance"] for r in per) / 7,
                                                        abs=1e-14)
    assert summary[1]["truncated_is.sd_acc"] is None and "truncated_is" in summary[1]["notes"]
    path = write_table(summary, tmp_path / "t.csv")
    back = read_csv(path)
    assert back.rows[0]["optimal_acceptance"] == summary[0]["optimal_acceptance"]
    # different drafts: the first k of K
    P = np.stack([p, lm_like(rng, 7, 300)[1], lm_like(rng, 7, 300)[1]])
    rows = lb.acceptance_table(target=q, drafts=P, k=[1, 3], device="cpu", schemes=["specinfer", "truncated_is"])
    assert rows[0]["truncated_is.sd_acc"] is None and "K = 2" in rows[0]["notes"]
    ref = lb.compare_schemes(target=q, drafts=P[:1], schemes=["specinfer"], device="cpu")["specinfer"]
    assert rows[0]["specinfer.membership_acc"] == pytest.approx(ref[0].item(), abs=1e-15)
    with pytest.raises(ValueError, match="only K=3"):
        lb.acceptance_table(target=q, drafts=P, k=[4], device="cpu")
    with pytest.raises(ValueError, match="need k"):
        lb.acceptance_table(target=q, drafts=p, device="cpu")


def test_benchmark_script_smoke_run(capsys):
    # loaded from its file, without putting benchmarks/ on sys.path (its distributed.py would shadow Dask's
    # package in the worker processes that tests/test_distributed.py spawns later)
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "batched.py"
    spec = importlib.util.spec_from_file_location("lpspec_benchmark_batched", path)
    bench = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(bench)
    finally:
        sys.path[:] = saved
    assert bench.main(["--batch", "3", "--n", "500", "--reps", "1", "-k", "2", "--no-write", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "median / bare sort" in out and "optimal_acceptance, K=2" in out
