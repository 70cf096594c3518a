"""The compiled ``S*`` placement loop (``lpspec.verifier.kernel``, numba) against the NumPy/Python path.

Both engines must give *identical* pieces (the kernel is a transcription of the same float operations), so every
comparison here is exact equality; correctness itself is checked independently by exhaustive enumeration of
the draft tuples (output law vs ``q``, acceptance vs the brute-force min cut) on each engine, including
instances with forced slides (no root inside ``F``), walks beyond ``WALK`` and ties.
"""

from __future__ import annotations

import math

import _reference as R
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from test_verifier import (
    TOL,
    _s_slide_instances,
    _t_slide_instances,
    dirichlet_pair,
    enumerate_scheme,
    lm_pair,
    packed_pair,
    pathological_pair,
)

from lpspec import optimal_verifier

numba = pytest.importorskip("numba")


def _same(a, b):
    return (np.array_equal(a.piece_start, b.piece_start) and np.array_equal(a.piece_end, b.piece_end)
            and np.array_equal(a.piece_owner, b.piece_owner) and a.slides == b.slides and a.cut_set == b.cut_set)


def test_exact_sum_is_math_fsum():
    from lpspec import verifier_kernel as VK

    rng = np.random.default_rng(0)
    VK.compiled()
    for _ in range(300):
        m = int(rng.integers(0, 12))
        x = rng.standard_normal(m) * 10.0 ** rng.integers(-30, 30, m)
        if m > 2 and rng.random() < 0.5:
            x[-1] = -math.fsum(x[:-1].tolist())  # cancellation
        assert VK.exact_sum(x, m) == math.fsum(x.tolist())


@pytest.mark.parametrize("k", [2, 3, 4, 8])
def test_engines_give_identical_pieces_on_the_benchmark_families(k):
    n = 1500
    for q, p in (lm_pair(n, 1), lm_pair(n, 2, temperature=1.0), dirichlet_pair(n, 3), packed_pair(n, 4),
                 pathological_pair(n)):
        a = optimal_verifier(target=q, drafts=p, k=k, engine="numba")
        b = optimal_verifier(target=q, drafts=p, k=k, engine="numpy")
        assert _same(a, b)
        a.check()


def test_engines_agree_where_the_walk_gives_up_and_roots_are_forced():
    """Dirichlet(0.05) pairs force slides (no root inside F) and long walks: the generic bracketing runs in both."""
    seen_forced = 0
    for seed in range(4):
        q, p = dirichlet_pair(3000, seed)
        for k in (2, 4):
            a = optimal_verifier(target=q, drafts=p, k=k, engine="numba")
            b = optimal_verifier(target=q, drafts=p, k=k, engine="numpy")
            assert _same(a, b)
            seen_forced += a.slides["forced"]
    assert seen_forced > 0


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("k", [2, 3])
def test_each_engine_is_exact_on_slide_instances(engine, k):
    """Forced S* and T slides, P* = 1 ties: exhaustive output law and acceptance against brute force."""
    pairs = _s_slide_instances(4, k) + _t_slide_instances(3, k)
    pairs.append((np.array([0.25, 0.25, 0.25, 0.25]), np.array([0.25, 0.25, 0.25, 0.25])))  # ties, P* = 1
    pairs.append((np.array([0.1, 0.1, 0.4, 0.4]), np.array([0.25, 0.25, 0.25, 0.25])))  # tied ratios
    for q, p in pairs:
        v = optimal_verifier(target=q, drafts=p, k=k, engine=engine)
        v.check()
        out, acc, mult = enumerate_scheme(v, q, p, k)
        truth = R.identical_min_cut(list(q), list(p), k)
        assert np.max(np.abs(out - q)) <= TOL and abs(acc - truth) <= TOL
        assert np.max(np.abs(v.multiplicity_table() - mult)) <= TOL


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(R.instance_kwargs(laws=("independent",), identical=True, max_n=6, max_k=4, max_tuples=1300))
def test_engines_identical_and_exact_on_random_small_instances(kw):
    R.note_kw(kw)
    a = optimal_verifier(target=kw["target"], drafts=kw["drafts"], k=kw["k"], engine="numba")
    b = optimal_verifier(target=kw["target"], drafts=kw["drafts"], k=kw["k"], engine="numpy")
    assert _same(a, b)
    q = np.asarray(R.normalised(kw["target"]), dtype=float)
    p = np.asarray(R.normalised(kw["drafts"]), dtype=float)
    out, acc, _ = enumerate_scheme(b, q, p, kw["k"])
    assert np.max(np.abs(out - q)) <= TOL
    assert abs(acc - R.identical_min_cut(list(q), list(p), kw["k"])) <= TOL


#: q = p with two tokens whose draft mass (~1e-151) is below the float spacing of the ranks their windows fall in
#: (found by the long hostile profile: the compiled loop read past its window array and crashed the process; the
#: NumPy path raised IndexError).
SUB_RESOLUTION = [1.0, 9.529220478443259e-151, 7.265764735342383e-151]


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_windows_below_the_float_spacing_place_nothing_and_the_plan_stays_exact(engine):
    import subprocess
    import sys

    code = ("from lpspec import optimal_verifier\n"
            f"v = optimal_verifier(target={SUB_RESOLUTION!r}, drafts={SUB_RESOLUTION!r}, k=3, engine={engine!r})\n"
            "v.check()\nprint(float(v.value))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]  # a crash is a failure here, not the end of the test run
    assert float(out.stdout.strip()) == 1.0  # q = p: P* = 1
    v = optimal_verifier(target=SUB_RESOLUTION, drafts=SUB_RESOLUTION, k=3, engine=engine)
    q = np.asarray(SUB_RESOLUTION)
    out_law, acc, _ = enumerate_scheme(v, q, q, 3)
    assert np.max(np.abs(out_law - q)) <= TOL
    assert abs(acc - R.identical_min_cut(list(q), list(q), 3)) <= TOL
