"""lpspec.sequence.chains: the one validation of the sequence level's chains and start law, shared by
block_optimum, the block verifiers and verify_block_scheme (each bad input refused the same way by all three)."""

from fractions import Fraction as F

import numpy as np
import pytest

import lpspec
from lpspec.sequence import block_verification
from lpspec.sequence.chains import exact_stationary, markov_chains

Q = [[0.2, 0.8], [0.5, 0.5]]
P = [[0.6, 0.4], [0.3, 0.7]]
QF = [[F(1, 5), F(4, 5)], [F(1, 2), F(1, 2)]]
PF = [[F(3, 5), F(2, 5)], [F(3, 10), F(7, 10)]]


def _entry_points():
    def verify(**kw):
        return lpspec.verify_block_scheme(lambda paths: {(0,): 1.0}, **kw, k=1, length=1)

    return [lambda **kw: lpspec.block_optimum(**kw, k=1, length=1),
            lambda **kw: block_verification(**kw, length=1), verify]


BAD = [
    (dict(target=Q, drafts=P, start=2), "start=2 is outside the chain"),
    (dict(target=Q, drafts=P, start=[0.5, 0.2, 0.3]), "start"),
    (dict(target=[[0.2, 0.9], [0.5, 0.5]], drafts=P, start=0), "row 0 of target"),
    (dict(target=Q, drafts=[[0.6, 0.4, 0.0], [0.3, 0.7, 0.0]], start=0), "drafts"),
    (dict(target=[[F(1, 5), F(3, 5)], [F(1, 2), F(1, 2)]], drafts=PF, start=0), "not exactly 1"),
    (dict(target=[[F(-1, 5), F(6, 5)], [F(1, 2), F(1, 2)]], drafts=PF, start=0), "negative"),
    (dict(target=QF, drafts=PF, start=[0.5, 0.5]), "Fractions too"),
    (dict(target=Q, drafts=None, start=0), "drafts"),
]


@pytest.mark.parametrize("kwargs,match", BAD, ids=[m for _, m in BAD])
def test_every_entry_point_refuses_the_same_bad_input(kwargs, match):
    for call in _entry_points():
        with pytest.raises(ValueError, match=match):
            call(**kwargs)


def test_exact_stationary_law_is_the_fixed_point_and_matches_power_iteration():
    rng = np.random.default_rng(3)
    for n in (2, 3, 5):
        w = rng.integers(1, 9, size=(n, n))
        q = [[F(int(x), int(r.sum())) for x in r] for r in w]
        pi = exact_stationary(q)
        assert sum(pi) == 1 and all(sum(pi[i] * q[i][j] for i in range(n)) == pi[j] for j in range(n))
        m = np.array([[float(x) for x in r] for r in q])
        v = np.full(n, 1 / n)
        for _ in range(2000):
            v = v @ m
        assert np.allclose(v, [float(x) for x in pi], atol=1e-12)
    with pytest.raises(ValueError, match="no unique stationary law"):
        exact_stationary([[F(1), F(0)], [F(0), F(1)]])  # two closed classes


def test_start_forms_and_exactness():
    assert markov_chains(QF, PF, None).starts == [(0, F(5, 13)), (1, F(8, 13))]  # π q = π by hand: 0.8π0 = 0.5π1
    c = markov_chains(Q, P, [0.25, 0.75])
    assert not c.exact and c.starts == [(0, 0.25), (1, 0.75)]
    pair = lpspec.MarkovPair.from_arrays(target=Q, drafts=P, start=[1.0, 0.0])
    assert markov_chains(pair, None, None).starts == [(0, 1.0)]


def test_block_efficiency_of_a_sequence_scheme_takes_a_start_token_like_the_ceiling():
    """start=0 means the law (1, 0) for block_efficiency's sequence schemes as for block_optimum; Fraction chains with
    Fraction start laws stay exact (τ = 2.552 for the best depth-by-depth tree, docs/theory.md §14 table)."""
    by_token = lpspec.block_efficiency(target=Q, drafts=P, start=0, k=2, length=2, scheme="stepwise_optimal").value
    by_law = lpspec.block_efficiency(target=Q, drafts=P, start=[1.0, 0.0], k=2, length=2,
                                     scheme="stepwise_optimal").value
    assert by_token == by_law and abs(by_token - 2.552) < 1e-9
    assert abs(lpspec.block_optimum(target=Q, drafts=P, start=0, k=2, length=2).value - 2.5856) < 1e-9


def test_block_bounds_is_an_interval_in_floats_too():
    """A converged run: the feasible table and the dual bound meet; rounding must not invert the interval (it gave
    lower = 2.5856000000000003 > upper = 2.5856 before the outward widening). τ* = 2.5856 (docs/theory.md §14)."""
    from lpspec.sequence import block_bounds

    b = block_bounds(target=Q, drafts=P, start=0, k=2, length=2)
    assert b.converged and b.lower <= 2.5856 <= b.upper and 0 <= b.gap <= 1e-9
