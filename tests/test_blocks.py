"""Block efficiency (docs/theory.md §11): a(y, m) tables, the exact recursion, Monte Carlo, the built-in pair.

Expected values come from computations written here: enumeration of every draft tuple through each scheme's
own ``conditional`` (membership, multiplicities counted in the tuple), the single-draft backward recursion
``V_d(c) = 1 + Σ_y min(q, p)(c, y) V_{d+1}(y)``, the general backward recursion of §11 on enumerated tables,
and the schemes' closed-form token acceptance.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

import lpspec
from lpspec import (
    MarkovPair,
    block_efficiency,
    block_efficiency_mc,
    block_efficiency_table,
    load_markov_pair,
    make_scheme,
)
from lpspec.cli import main
from lpspec.sequence.corpus import load_pair
from lpspec.sequence.multiplicity import multiplicity_table


# ------------------------------------------------------------------------------------------- helpers
def enumerate_table(scheme, q, p, j, make=None):
    """a(y, m) by enumerating the n^j draft tuples through the scheme's conditional law (membership)."""
    n = len(q)
    s = make(q, p, j) if make else make_scheme(scheme, target=q, drafts=p, k=j)
    out = np.zeros((n, j))
    for x in itertools.product(range(n), repeat=j):
        mass = math.prod(p[t] for t in x)
        if mass == 0:
            continue
        law = np.asarray(s.conditional(x), dtype=np.float64)
        for y in set(x):
            out[y, x.count(y) - 1] += mass * law[y]
    return out


def single_draft_recursion(Q, P, start, L):
    """tau for K = 1, written independently: V_L = 1, V_d(c) = 1 + sum_y min(q, p)(c, y) V_{d+1}(y)."""
    acc = np.minimum(Q, P)
    v = np.ones(len(start))
    for _ in range(L):
        v = 1.0 + acc @ v
    return float(start @ v)


def backward_tau(tables, start, K, L):
    """The §11 recursion on tables[j][c] = a_{c,j} (n, j): V_L = 1, V_d(c, j) = 1 + sum a V_{d+1}(y, m)."""
    n = len(start)
    V = np.ones((n, K + 1))  # V[c, j], j = 1..K (column 0 unused)
    for _ in range(L):
        new = np.ones((n, K + 1))
        for j in range(1, K + 1):
            for c in range(n):
                new[c, j] = 1.0 + sum(tables[j][c][y, m - 1] * V[y, m] for y in range(n) for m in range(1, j + 1))
        V = new
    return float(start @ V[:, K])


def random_pair(rng, n, alpha=0.7, zeros=True):
    Q = rng.dirichlet(np.full(n, alpha), size=n)
    P = rng.dirichlet(np.full(n, alpha), size=n)
    if zeros:  # hard branches: a token the target never emits after 0, one the draft never proposes after 1,
        Q[0, 1] = 0.0  # and identical rows after 2
        P[1, 0] = 0.0
        P[2] = Q[2]
        Q /= Q.sum(axis=1, keepdims=True)
        P /= P.sum(axis=1, keepdims=True)
    return Q, P


# ------------------------------------------------------------------------------------------- a(y, m)
@pytest.mark.parametrize("scheme", ["single_draft", "specinfer", "spectr"])
def test_tables_match_enumeration(scheme):
    rng = np.random.default_rng(11)
    for _ in range(6):
        n = int(rng.integers(2, 5))
        q, p = rng.dirichlet(np.full(n, 0.6)), rng.dirichlet(np.full(n, 0.6))
        if n > 2:
            q[0] = 0.0
            q /= q.sum()
            p[1] = 0.0
            p /= p.sum()
        for j in (1, 2, 3, 4):
            got = multiplicity_table(scheme, target=q, draft=p, j=j)
            want = enumerate_table(scheme, q, p, j)
            np.testing.assert_allclose(got, want, atol=1e-13, rtol=0)


@pytest.mark.parametrize("scheme", ["single_draft", "specinfer", "spectr"])
def test_tables_vectorised_over_contexts(scheme):
    Q, P = random_pair(np.random.default_rng(5), 4)
    batch = multiplicity_table(scheme, target=Q, draft=P, j=3)
    for c in range(4):
        if scheme == "spectr" and c == 2:
            continue  # identical rows: tested on their own below
        np.testing.assert_allclose(batch[c], enumerate_table(scheme, Q[c], P[c], 3), atol=1e-13)


def test_spectr_identical_rows_accept_the_first_draft():
    """p = q: f(1) = 0, so rho* = 1 and every first draft is accepted: a(y, m) = p(y) Bin(m - 1; j - 1, p(y))."""
    p = np.array([0.5, 0.3, 0.2])
    for j in (2, 3, 5):
        want = np.array([[p[y] * math.comb(j - 1, m - 1) * p[y] ** (m - 1) * (1 - p[y]) ** (j - m)
                          for m in range(1, j + 1)] for y in range(3)])
        np.testing.assert_allclose(multiplicity_table("spectr", target=p, draft=p, j=j), want, atol=1e-15)


def test_spectr_is_not_specinfer_shaped():
    """K-SEQ's rejected copies survive: its table differs from the SpecInfer-like formula (docs/theory.md §11)."""
    q, p = np.array([0.1, 0.2, 0.7]), np.array([0.6, 0.3, 0.1])
    got = multiplicity_table("spectr", target=q, draft=p, j=3)
    np.testing.assert_allclose(got, enumerate_table("spectr", q, p, 3), atol=1e-13)
    s = make_scheme("spectr", target=q, drafts=p, k=3)
    alpha = np.minimum(1.0, q / (s.rho * p))
    like = np.zeros((3, 3))  # accepted at first occurrence k, then 1 + Bin(3 - k, p)
    for y in range(3):
        for k in range(1, 4):
            first = (1 - (p * alpha).sum()) ** (k - 1) * p[y] * alpha[y]
            for m in range(1, 5 - k):
                like[y, m - 1] += first * math.comb(3 - k, m - 1) * p[y] ** (m - 1) * (1 - p[y]) ** (4 - k - m)
    assert np.abs(got - like).max() > 1e-3


def test_table_input_errors():
    with pytest.raises(ValueError, match="every row of draft must sum to 1"):
        multiplicity_table("specinfer", target=[0.5, 0.5], draft=[0.5, 0.6], j=2)
    with pytest.raises(ValueError, match="target must hold finite"):
        multiplicity_table("specinfer", target=[1.5, -0.5], draft=[0.5, 0.5], j=2)
    with pytest.raises(ValueError, match="j=0"):
        multiplicity_table("specinfer", target=[0.5, 0.5], draft=[0.5, 0.5], j=0)
    with pytest.raises(ValueError, match="same shape"):
        multiplicity_table("specinfer", target=[0.5, 0.5], draft=[1.0], j=1)


def test_other_schemes_by_enumeration():
    q, p = np.array([0.2, 0.5, 0.3]), np.array([0.4, 0.4, 0.2])
    np.testing.assert_allclose(multiplicity_table("sir", target=q, draft=p, j=2), enumerate_table("sir", q, p, 2),
                               atol=1e-13)
    with pytest.raises(ValueError, match="exceeds"):
        multiplicity_table("sir", target=np.full(60, 1 / 60), draft=np.full(60, 1 / 60), j=4)


# ------------------------------------------------------------------------------------------- recursion
@pytest.mark.parametrize("scheme", ["single_draft", "specinfer", "spectr"])
def test_k1_is_the_single_draft_recursion(scheme):
    rng = np.random.default_rng(2)
    Q, P = random_pair(rng, 5)
    start = rng.dirichlet(np.ones(5))
    for L in (1, 2, 4, 7):
        r = block_efficiency(target=Q, draft=P, start=start, k=1, length=L, scheme=scheme)
        assert r.value == pytest.approx(single_draft_recursion(Q, P, start, L), abs=1e-12)


@pytest.mark.parametrize("scheme", ["specinfer", "spectr"])
def test_length_one_is_one_plus_token_acceptance(scheme):
    rng = np.random.default_rng(3)
    Q, P = random_pair(rng, 4, zeros=False)
    start = rng.dirichlet(np.ones(4))
    for k in (2, 3, 5):
        acc = sum(start[c] * float(make_scheme(scheme, target=Q[c], drafts=P[c], k=k).acceptance) for c in range(4))
        r = block_efficiency(target=Q, draft=P, start=start, k=k, length=1, scheme=scheme)
        assert r.value == pytest.approx(1 + acc, abs=1e-12)
        assert r.token_acceptance == pytest.approx(acc, abs=1e-12)


def test_single_draft_membership_at_length_one():
    """single_draft with K > 1 drafts: the residual token counts when another draft shows it (membership)."""
    rng = np.random.default_rng(4)
    Q, P = random_pair(rng, 3, zeros=False)
    start = np.array([0.2, 0.3, 0.5])
    acc = sum(start[c] * enumerate_table("single_draft", Q[c], P[c], 3).sum() for c in range(3))
    r = block_efficiency(target=Q, draft=P, start=start, k=3, length=1, scheme="single_draft")
    assert r.value == pytest.approx(1 + acc, abs=1e-12)
    assert acc > sum(start[c] * np.minimum(Q[c], P[c]).sum() for c in range(3)) + 1e-6


@pytest.mark.parametrize("scheme", ["single_draft", "specinfer", "spectr"])
def test_forward_recursion_matches_backward_on_enumerated_tables(scheme):
    rng = np.random.default_rng(7)
    n, K, L = 3, 3, 3
    Q, P = random_pair(rng, n, zeros=False)
    start = rng.dirichlet(np.ones(n))
    tables = {j: [enumerate_table(scheme, Q[c], P[c], j) for c in range(n)] for j in range(1, K + 1)}
    want = backward_tau(tables, start, K, L)
    r = block_efficiency(target=Q, draft=P, start=start, k=K, length=L, scheme=scheme)
    assert r.value == pytest.approx(want, abs=1e-12)
    assert r.accepted_length.sum() == pytest.approx(1.0, abs=1e-12)
    assert 1 + np.arange(L + 1) @ r.accepted_length == pytest.approx(r.value, abs=1e-12)
    # Pr[N >= 1] is the token acceptance; per-depth acceptance multiplies to Pr[N >= L]
    assert 1 - r.accepted_length[0] == pytest.approx(r.token_acceptance, abs=1e-12)
    assert np.prod(r.depth_acceptance) == pytest.approx(r.accepted_length[-1], abs=1e-12)
    assert 0 < r.visited_acceptance <= 1


def test_more_drafts_help_and_length_saturates():
    Q, P = random_pair(np.random.default_rng(8), 5, zeros=False)
    vals = [block_efficiency(target=Q, draft=P, k=k, length=4, scheme="specinfer").value for k in (1, 2, 4)]
    assert vals[0] < vals[1] < vals[2] <= 5
    same = block_efficiency(target=Q, draft=Q, k=2, length=4, scheme="specinfer")
    assert same.value == pytest.approx(5.0, abs=1e-12)  # identical models: every draft token accepted


def test_table_serves_every_k_and_length():
    Q, P = random_pair(np.random.default_rng(9), 4)
    t = block_efficiency_table(target=Q, draft=P, ks=(1, 2, 3), lengths=(1, 3), schemes=("specinfer", "spectr"))
    for row in t.rows:
        r = block_efficiency(target=Q, draft=P, k=row["k"], length=row["length"], scheme=row["scheme"])
        assert row["block_efficiency"] == pytest.approx(r.value, abs=1e-12)
        assert row["token_acceptance"] == pytest.approx(r.token_acceptance, abs=1e-12)


# ------------------------------------------------------------------------------------------- Monte Carlo
@pytest.mark.parametrize("scheme", ["single_draft", "specinfer", "spectr"])
def test_monte_carlo_brackets_the_exact_value(scheme):
    rng = np.random.default_rng(12)
    Q, P = random_pair(rng, 5)
    start = rng.dirichlet(np.ones(5))
    exact = block_efficiency(target=Q, draft=P, start=start, k=3, length=3, scheme=scheme).value
    mc = block_efficiency_mc(target=Q, draft=P, start=start, k=3, length=3, scheme=scheme, blocks=4000, seed=1,
                             confidence=0.999)
    assert mc.low < exact < mc.high
    assert mc.high - mc.low < 0.15


def test_monte_carlo_with_callables_and_seed():
    """A model given as callables (context tuple -> law) of a Markov pair gives the pair's exact value."""
    Q, P = random_pair(np.random.default_rng(13), 4)
    start = np.array([0.1, 0.2, 0.3, 0.4])
    exact = block_efficiency(target=Q, draft=P, start=start, k=2, length=4, scheme="specinfer").value
    kw = dict(target=lambda c: Q[c[-1]], draft=lambda c: P[c[-1]], start=start, k=2, length=4, blocks=3000,
              confidence=0.999)
    a = block_efficiency_mc(seed=5, **kw)
    b = block_efficiency_mc(seed=5, **kw)
    assert a.value == b.value and a.low < exact < a.high
    # one callable returning both laws
    joint = block_efficiency_mc(**{**kw, "target": lambda c: (Q[c[-1]], P[c[-1]]), "draft": None}, seed=5)
    assert joint.value == a.value
    # longer contexts: starting contexts as tuples
    c = block_efficiency_mc(**{**kw, "start": [(0, 1), (3,)]}, seed=6)
    assert 1 <= c.low < c.high <= 5


def test_mc_rejects_bad_input():
    Q, P = random_pair(np.random.default_rng(1), 3)
    with pytest.raises(ValueError, match="start"):
        block_efficiency_mc(target=lambda c: Q[0], draft=lambda c: P[0], k=2, length=2)
    with pytest.raises(ValueError, match="not a probability"):
        block_efficiency_mc(target=lambda c: [0.5, 0.6, 0.1], draft=lambda c: P[0], start=[1, 0, 0], k=1,
                            length=1, blocks=2)
    with pytest.raises(ValueError, match="blocks"):
        block_efficiency_mc(target=Q, draft=P, k=1, length=1, blocks=0)


# ------------------------------------------------------------------------------------------- optimal
def test_optimal_calls_the_verifier_multiplicity_table(monkeypatch):
    """The plumbing of scheme='optimal', run now with a stand-in verifier: the LP optimal plan, tabulated by
    enumeration here. block_efficiency must score exactly the tables the verifier returns."""

    class StandIn:
        def __init__(self, *, target, drafts, k):
            self.args = (np.asarray(target), np.asarray(drafts), k)

        def multiplicity_table(self):
            q, p, k = self.args
            return enumerate_table("optimal", q, p, k)

    monkeypatch.setattr(lpspec.verifier.rank, "optimal_verifier", StandIn)
    rng = np.random.default_rng(23)
    n, K, L = 3, 2, 3
    Q, P = random_pair(rng, n, zeros=False)
    start = rng.dirichlet(np.ones(n))
    tables = {j: [enumerate_table("optimal", Q[c], P[c], j) for c in range(n)] for j in range(1, K + 1)}
    r = block_efficiency(target=Q, draft=P, start=start, k=K, length=L, scheme="optimal")
    assert r.value == pytest.approx(backward_tau(tables, start, K, L), abs=1e-9)
    acc = sum(start[c] * float(lpspec.optimal_acceptance(target=Q[c], drafts=P[c], k=K).value) for c in range(n))
    assert r.token_acceptance == pytest.approx(acc, abs=1e-8)

    class Wrong(StandIn):
        def multiplicity_table(self):
            return np.zeros((2, 2))

    monkeypatch.setattr(lpspec.verifier.rank, "optimal_verifier", Wrong)
    with pytest.raises(ValueError, match="returned shape"):
        block_efficiency(target=Q, draft=P, k=K, length=1, scheme="optimal")


def _verifier(q, p, k):
    return lpspec.optimal_verifier(target=q, drafts=p, k=k)


def test_optimal_tables_reach_the_optimum():
    """Sum of a(y, m) is P* (the certified optimum); the accepted mass of y never exceeds q(y)."""
    rng = np.random.default_rng(20)
    for _ in range(6):
        n = int(rng.integers(3, 7))
        q, p = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
        for j in (1, 2, 3, 5):
            got = multiplicity_table("optimal", target=q, draft=p, j=j)
            assert got.shape == (n, j) and np.all(got >= -1e-15)
            best = float(lpspec.optimal_acceptance(target=q, drafts=p, k=j).value)
            assert got.sum() == pytest.approx(best, abs=1e-10)
            assert np.all(got.sum(axis=1) <= q + 1e-12)
            if j == 1:  # K = 1: the rank-space verifier is single-draft speculative sampling
                np.testing.assert_allclose(got[:, 0], np.minimum(q, p), atol=1e-12)


def test_optimal_tables_match_enumeration():
    rng = np.random.default_rng(21)
    for _ in range(4):
        n = int(rng.integers(3, 5))
        q, p = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
        for j in (1, 2, 3):
            got = multiplicity_table("optimal", target=q, draft=p, j=j)
            want = enumerate_table("optimal", q, p, j, make=_verifier)
            np.testing.assert_allclose(got, want, atol=1e-10)


def test_optimal_block_efficiency_against_enumeration():
    rng = np.random.default_rng(22)
    n, K, L = 3, 3, 3
    Q, P = random_pair(rng, n, zeros=False)
    start = rng.dirichlet(np.ones(n))
    tables = {j: [enumerate_table("optimal", Q[c], P[c], j, make=_verifier) for c in range(n)]
              for j in range(1, K + 1)}
    r = block_efficiency(target=Q, draft=P, start=start, k=K, length=L, scheme="optimal")
    assert r.value == pytest.approx(backward_tau(tables, start, K, L), abs=1e-9)
    one = block_efficiency(target=Q, draft=P, start=start, k=K, length=1, scheme="optimal")
    for s in ("specinfer", "spectr"):
        assert one.value >= block_efficiency(target=Q, draft=P, start=start, k=K, length=1, scheme=s).value - 1e-12


# ------------------------------------------------------------------------------------------- inputs
def test_markov_pair_validation(tmp_path):
    good = np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError, match="target must be a square"):
        MarkovPair.from_arrays(target=np.ones((2, 3)) / 3, draft=good)
    with pytest.raises(ValueError, match=r"drafts\[0, 1\]"):
        MarkovPair.from_arrays(target=good, draft=[[0.5, -0.1, 0.6], [1, 0, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match="row 1 of target"):
        MarkovPair.from_arrays(target=[[1, 0, 0], [0.5, 0.6, 0], [1, 0, 0]], draft=good)
    with pytest.raises(ValueError, match="share one vocabulary"):
        MarkovPair.from_arrays(target=good, draft=np.eye(2))
    with pytest.raises(ValueError, match="start must be a vector of length"):
        MarkovPair.from_arrays(target=good, draft=good, start=[0.5, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        MarkovPair.from_arrays(target=[[np.nan, 1], [1, 0]], draft=np.eye(2))
    with pytest.raises(ValueError, match="k=0"):
        block_efficiency(target=good, draft=good, k=0, length=1)
    with pytest.raises(ValueError, match="not a built-in scheme"):
        block_efficiency(target=good, draft=good, k=2, length=1, scheme="nope")
    np.save(tmp_path / "q.npy", good)
    pair = MarkovPair.from_arrays(target=tmp_path / "q.npy", draft=good, start=[1, 0, 0])
    back = load_markov_pair(pair.save(tmp_path / "pair.npz"))
    assert np.array_equal(back.target, good) and back.start.tolist() == [1, 0, 0]
    np.savez(tmp_path / "bad.npz", target=good)
    with pytest.raises(ValueError, match="'target' and 'draft'"):
        load_markov_pair(tmp_path / "bad.npz")


def test_default_start_is_stationary():
    Q = np.array([[0.9, 0.1], [0.3, 0.7]])
    pair = MarkovPair.from_arrays(target=Q, draft=np.full((2, 2), 0.5))
    np.testing.assert_allclose(pair.start, [0.75, 0.25], atol=1e-12)  # pi Q = pi by hand
    flip = np.array([[0.0, 0.2, 0.8], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # periodic (period 2)
    pi = MarkovPair.from_arrays(target=flip, draft=np.full((3, 3), 1 / 3)).start
    np.testing.assert_allclose(pi, [0.5, 0.1, 0.4], atol=1e-12)


# ------------------------------------------------------------------------------------------- built-in pair
def test_builtin_pair_recipe_and_provenance():
    folder = Path(lpspec.__file__).parent / "sequence" / "corpus"
    text = folder / "stdlib_docstrings.txt"
    assert text.stat().st_size <= 1_000_000
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "Python Software Foundation License" in readme and "3.11.7" in readme
    assert "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" in (folder / "LICENSE-PSF.txt").read_text(encoding="utf-8")
    pair, vocab = load_pair(n=60, with_vocabulary=True)
    assert pair.n == 60 and vocab[-1] == "<other>" and vocab[0] in (".", "the")
    np.testing.assert_allclose(pair.target.sum(axis=1), 1, atol=1e-12)
    np.testing.assert_allclose(pair.start @ pair.target, pair.start, atol=1e-12)  # stationary
    assert np.all(pair.target > 0) and np.all(pair.draft > 0)
    again = load_pair(n=60)
    assert np.array_equal(again.target, pair.target) and np.array_equal(again.draft, pair.draft)
    # the draft is weaker but related: K = 1 token acceptance strictly between 0.3 and 1
    acc = float(pair.start @ np.minimum(pair.target, pair.draft).sum(axis=1))
    assert 0.3 < acc < 0.95
    with pytest.raises(ValueError, match="not built in"):
        load_pair("nope")


def test_cli_blocks(capsys):
    pair = load_pair(n=40)
    assert main(["blocks", "--vocabulary", "40", "--ks", "1,2", "--lengths", "1,3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    k1 = [r for r in rows if r["scheme"] == "specinfer" and r["k"] == 1 and r["length"] == 3][0]
    assert k1["block_efficiency"] == pytest.approx(single_draft_recursion(pair.target, pair.draft, pair.start, 3),
                                                   abs=1e-12)
    assert {r["scheme"] for r in rows} == {"single_draft", "specinfer", "spectr"}
    assert main(["blocks", "--vocabulary", "40", "--ks", "2", "--lengths", "1,2", "--schemes", "spectr"]) == 0
    out = capsys.readouterr().out
    assert "spectr" in out and "L=2" in out
    assert main(["blocks", "--vocabulary", "40", "--ks", "x"]) == 2
    assert "--ks" in capsys.readouterr().err
    assert main(["blocks", "--example", "stdlib-docs", "--file", "a.npz"]) == 2
    capsys.readouterr()
    assert main(["examples"]) == 0 and "stdlib-docs" in capsys.readouterr().out


def test_cli_blocks_file_and_formats(tmp_path, capsys):
    Q = np.array([[0.5, 0.5], [0.5, 0.5]])
    P = np.array([[0.9, 0.1], [0.9, 0.1]])
    MarkovPair.from_arrays(target=Q, draft=P, start=[1, 0]).save(tmp_path / "pair.npz")
    out = tmp_path / "t.csv"
    assert main(["blocks", "--file", str(tmp_path / "pair.npz"), "--ks", "1", "--lengths", "2",
                 "--schemes", "specinfer", "--format", "csv", "--output", str(out)]) == 0
    text = out.read_text()
    assert "specinfer,1,2,0.6" in text and "1.96" in text  # 1 + 0.6 + 0.36, by hand


def test_markov_pair_errors_are_readable(tmp_path):
    """Review: messages show plain numbers (not ``np.float64(...)``); a truncated .npz names its file."""
    good = np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError) as err:
        MarkovPair.from_arrays(target=good, draft=-np.eye(3))
    assert "np.float64" not in str(err.value) and "= -1.0 is negative" in str(err.value)
    with pytest.raises(ValueError) as err:
        MarkovPair.from_arrays(target=good * 1.1, draft=good)
    assert "np.float64" not in str(err.value) and "sums to 1.1" in str(err.value)
    with pytest.raises(ValueError) as err:
        MarkovPair.from_arrays(target=good, draft=good, start=[0.5, 0.4, 0.3])
    assert "np.float64" not in str(err.value) and "sums to 1.2" in str(err.value)
    whole = MarkovPair.from_arrays(target=good, draft=good).save(tmp_path / "pair.npz")
    data = Path(whole).read_bytes()
    for cut in (100, len(data) - 40):  # inside the first member's header; inside the central directory
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        with pytest.raises(ValueError, match="cut.npz.*not a readable .npz"):
            load_markov_pair(tmp_path / "cut.npz")


def test_cli_blocks_truncated_file_is_one_line(tmp_path, capsys):
    good = np.full((3, 3), 1 / 3)
    data = Path(MarkovPair.from_arrays(target=good, draft=good).save(tmp_path / "pair.npz")).read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:100])
    assert main(["blocks", "--file", str(tmp_path / "cut.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lpspec: error:") and "cut.npz" in err[0]


def test_cli_blocks_example_options_do_not_apply_to_a_file(tmp_path, capsys):
    """Review: --vocabulary / --draft-temperature with --file used to be ignored silently."""
    MarkovPair.from_arrays(target=np.full((2, 2), 0.5), draft=np.eye(2)).save(tmp_path / "pair.npz")
    for extra in (["--vocabulary", "5"], ["--draft-temperature", "0.7"]):
        assert main(["blocks", "--file", str(tmp_path / "pair.npz"), "--ks", "1", "--lengths", "1", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"lpspec: error: {extra[0]}") and "--file" in err[0]
    assert main(["blocks", "--vocabulary", "2", "--draft-temperature", "0.7", "--ks", "1", "--lengths", "1",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metadata"]["vocabulary"] == 2


def test_block_efficiency_table_rejects_empty_or_string_lists():
    """Review: ks=[] raised "max() arg is an empty sequence"; schemes="specinfer" was read letter by letter."""
    good = np.full((2, 2), 0.5)
    for kw, name in (({"ks": []}, "ks"), ({"lengths": ()}, "lengths"), ({"schemes": []}, "schemes"),
                     ({"schemes": "specinfer"}, "schemes")):
        with pytest.raises(ValueError, match=f"^{name}"):
            block_efficiency_table(target=good, draft=good, **kw)


@pytest.mark.parametrize("bad, why", [([0.5, 0.6, 0.1], r"it sums to 1\.2"), ([np.nan, 0.5, 0.5], "NaN"),
                                      ([-0.1, 0.6, 0.5], r"entry 0 is negative \(-0\.1\)")])
def test_mc_model_errors_say_what_is_wrong(bad, why):
    """Review: a negative entry was reported as "(sum np.float64(1.0))"."""
    p = np.full(3, 1 / 3)
    with pytest.raises(ValueError, match=f"target returned .*{why}") as err:
        lpspec.block_efficiency_mc(target=lambda c: bad, draft=lambda c: p, start=[(0,)], k=2, length=2,
                                   blocks=10, seed=0)
    assert "np.float64" not in str(err.value)


def test_exact_recursion_refuses_tables_beyond_memory_before_any_work(monkeypatch):
    """n^2 K above MAX_TABLE_ENTRIES: a ValueError naming the size and the method that scales, raised before any
    a(y, m) table is built (the table builder is patched to fail if it is reached)."""
    import lpspec.sequence.blocks as blocks

    n = 40
    Q = np.full((n, n), 1.0 / n)
    monkeypatch.setattr(blocks, "MAX_TABLE_ENTRIES", n * n * 4 - 1)
    monkeypatch.setattr(blocks, "multiplicity_table", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(ValueError, match="block_efficiency_mc"):
        blocks.block_efficiency(target=Q, draft=Q, k=4, length=2, scheme="specinfer")
