"""Hostile sizes at the sequence level: a huge ``k`` or ``length`` is refused at once with a ValueError naming
the limit, never a hang or an out-of-memory (review of the sequence level). Each call runs under an alarm."""

import itertools
import math
import signal
import sys

import numpy as np
import pytest

import lpspec
from lpspec.sequence import block_bounds, block_upper_bound
from lpspec.sequence.tree import bounded_power, tree_size

Q = [[0.2, 0.8], [0.5, 0.5]]
P = [[0.6, 0.4], [0.3, 0.7]]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGALRM")


class _Hang(Exception):
    pass


def _refused_quickly(call, match, seconds=5):
    """``call()`` must raise a ValueError matching ``match`` within ``seconds`` (a hang is a failure)."""
    def alarm(*_):
        raise _Hang
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        with pytest.raises(ValueError, match=match):
            call()
    except _Hang:
        pytest.fail(f"not refused within {seconds} s (hang)")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_tree_size_and_bounded_power_against_counting():
    for n in (1, 2, 3):
        for length in range(5):
            nodes = sum(1 for d in range(length + 1) for _ in itertools.product(range(n), repeat=d))
            assert tree_size(n, length) == nodes
            assert bounded_power(n, length) == len(list(itertools.product(range(n), repeat=length)))
    assert tree_size(2, 10 ** 9) == math.inf and bounded_power(3, 10 ** 9) == math.inf
    assert bounded_power(2, 1024) == 2 ** 1024


CALLS = {
    "block_optimum": lambda **kw: lpspec.block_optimum(**kw),
    "block_optimum p2": lambda **kw: lpspec.block_optimum(method="p2", **kw),
    "block_bounds": lambda **kw: block_bounds(**kw),
    "block_upper_bound": lambda **kw: block_upper_bound(**kw),
    "stepwise_optimal": lambda **kw: lpspec.block_efficiency(scheme="stepwise_optimal", **kw),
    "traversal": lambda **kw: lpspec.block_efficiency(scheme="traversal", **kw),
    "verify_block_scheme": lambda **kw: lpspec.verify_block_scheme(lambda paths: {}, **kw),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_huge_length_refused_at_once(name):
    _refused_quickly(lambda: CALLS[name](target=Q, drafts=P, start=[1.0, 0.0], k=2, length=10 ** 6),
                     r"nodes|cells|tuples")


@pytest.mark.parametrize("name", ["block_optimum p2", "stepwise_optimal", "traversal", "verify_block_scheme"])
def test_huge_k_refused_at_once(name):
    _refused_quickly(lambda: CALLS[name](target=Q, drafts=P, start=[1.0, 0.0], k=10 ** 9, length=2),
                     r"MAX_|max_tuples")


def test_block_upper_bound_refuses_a_huge_tree():
    uniform = [[1 / 50] * 50] * 50
    _refused_quickly(lambda: block_upper_bound(target=uniform, drafts=uniform, start=0, k=2, length=6),
                     r"max_nodes")
    # under the guard it still answers: K = 1, L = 1 from token 0 is 1 + Σ_a min(q(a|0), p(a|0)) = 1.6 by hand
    assert abs(block_upper_bound(target=Q, drafts=P, start=0, k=1, length=1, max_nodes=3) - 1.6) < 1e-12


@pytest.mark.parametrize("where", ["target", "drafts", "start"])
def test_complex_input_is_refused_not_cast(where):
    """numpy casts complex to float with only a ComplexWarning, dropping the imaginary part: a silent wrong
    number. The sequence level refuses it, as the token level does."""
    import numpy as np

    kw = {"target": np.array(Q, dtype=complex), "drafts": P, "start": [1.0, 0.0]} if where == "target" else \
        {"target": Q, "drafts": np.array(P, dtype=complex), "start": [1.0, 0.0]} if where == "drafts" else \
        {"target": Q, "drafts": P, "start": np.array([1.0 + 0.5j, 0.0])}
    for call in (lambda: lpspec.block_optimum(k=2, length=2, **kw),
                 lambda: lpspec.block_efficiency(k=2, length=2, scheme="traversal", **kw),
                 lambda: block_upper_bound(k=2, length=2, **kw)):
        with pytest.raises(ValueError, match=f"{where if where != 'drafts' else 'draft'}.*complex"):
            call()


@pytest.mark.parametrize("scheme", ["bogus", "upper_bound"])
def test_unknown_block_scheme_lists_the_sequence_verifiers(scheme):
    """The error of a bad scheme= lists every choice, the sequence-level verifiers included (it listed only the
    token-level schemes, so a user could not learn that traversal is accepted)."""
    from lpspec.registry import SCHEME_SPECS

    with pytest.raises(ValueError, match="scheme=") as info:
        lpspec.block_efficiency(target=Q, drafts=P, start=[1.0, 0.0], k=2, length=2, scheme=scheme)
    choices = str(info.value).split("choose one of", 1)[1].strip(" .").split(", ")
    assert choices == [name for name, spec in SCHEME_SPECS.items() if spec.kind != "bound"]
    assert {"block_verification", "stepwise_optimal", "traversal"} <= {
        n for n, s in SCHEME_SPECS.items() if s.level == "sequence"}


def test_blocks_cli_unknown_scheme_is_one_line_naming_every_choice(capsys):
    from lpspec.cli import main
    from lpspec.registry import SCHEME_SPECS

    assert main(["blocks", "--vocabulary", "3", "-k", "1", "--lengths", "1", "--schemes", "specinfer", "bogus"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lpspec: error: --schemes bogus") and "\\n" not in err and "Traceback" not in err
    assert err.split("choose from", 1)[1].strip(" .").split() == [
        name for name, spec in SCHEME_SPECS.items() if spec.kind != "bound"]


@pytest.mark.parametrize("bad", [dict(lengths=[2.7]), dict(lengths="ab"), dict(lengths=[True]), dict(lengths=5),
                                 dict(lengths=[]), dict(lengths=[0]), dict(schemes=("bogus",)),
                                 dict(schemes="specinfer")])
def test_block_ceiling_table_refuses_bad_lengths_and_schemes(bad):
    """lengths=[2.7] was silently truncated to L = 2; a bad scheme gave a KeyError, lengths=5 a TypeError."""
    from lpspec.experiments.figures import block_ceiling_table

    kw = dict(target=Q, drafts=P, start=[1.0, 0.0], k=2, lengths=(1,), schemes=("specinfer",), ceiling=False)
    kw.update(bad)
    with pytest.raises(ValueError, match="lengths=" if "lengths" in bad else "schemes="):
        block_ceiling_table(**kw)


def test_block_ceiling_table_good_input_by_hand():
    """K = 1 token-wise speculative sampling from token 0 at L = 1: τ = 1 + Σ_a min(q(a|0), p(a|0)) = 1.6."""
    from lpspec.experiments.figures import block_ceiling_table

    t = block_ceiling_table(target=Q, drafts=P, start=[1.0, 0.0], k=2, lengths=[np.int64(1)],
                            schemes=("single_draft",), ceiling=False)
    assert [(r["scheme"], r["k"], r["length"]) for r in t.rows] == [("single_draft", 1, 1)]
    assert abs(t.rows[0]["tau"] - 1.6) < 1e-12


@pytest.mark.parametrize("tolerance", [-1.0, float("nan"), float("inf"), "x", None, True])
def test_verify_block_scheme_refuses_a_bad_tolerance(tolerance):
    """A negative tolerance blamed the verifier ("the law sums to 1.0, not 1"), inf passed a lossy verifier as
    lossless, a string gave a TypeError."""
    lossy = lambda paths: {(paths[0][0], 0): 1.0}  # noqa: E731 - always continues with token 0: not lossless
    with pytest.raises(ValueError, match="tolerance"):
        lpspec.verify_block_scheme(lossy, target=Q, drafts=P, start=0, k=1, length=1, ceiling=False,
                                   tolerance=tolerance)


def test_verify_block_scheme_lossy_verifier_by_hand():
    """Always outputting the block (x, 0) from start 0 (K = L = 1) is lossy: it puts mass 1 on a second token 0,
    where the target gives q(0|0) q(0|0) + q(1|0) q(0|1) = 0.04 + 0.4 = 0.44; every block has length 2, τ = 2."""
    from fractions import Fraction as Fr

    lossy = lambda paths: {(paths[0][0], 0): Fr(1)}  # noqa: E731
    qf = [[Fr(1, 5), Fr(4, 5)], [Fr(1, 2), Fr(1, 2)]]
    pf = [[Fr(3, 5), Fr(2, 5)], [Fr(3, 10), Fr(7, 10)]]
    r = lpspec.verify_block_scheme(lossy, target=qf, drafts=pf, start=0, k=1, length=1, ceiling=False)
    assert r.lossless is False and r.tau == 2


def test_stepwise_optimal_floats_at_many_drafts_match_the_exact_simplex():
    """At K = 16 on a 2-token chain HiGHS (default tolerances 1e-7) failed the 1e-9 residual check of the float
    plan LPs and stepwise_optimal raised; its float value must equal the exact rational simplex's."""
    from fractions import Fraction as Fr

    qf = [[Fr(1, 5), Fr(4, 5)], [Fr(1, 2), Fr(1, 2)]]
    pf = [[Fr(3, 5), Fr(2, 5)], [Fr(3, 10), Fr(7, 10)]]
    for k in (16, 24):
        exact = lpspec.sequence.stepwise_optimal(target=qf, drafts=pf, start=0, k=k, length=2).value
        floats = lpspec.block_efficiency(target=Q, drafts=P, start=[1.0, 0.0], k=k, length=2,
                                         scheme="stepwise_optimal").value
        assert isinstance(exact, Fr) and abs(floats - float(exact)) < 1e-9, (k, floats, exact)


@pytest.mark.parametrize("limit", ["x", float("nan"), -1.0, True])
def test_time_limit_must_be_seconds_at_least_zero(limit):
    """A string gave a TypeError inside the cut loop; NaN was ignored (never out of time) without a word."""
    for call in (lambda: lpspec.block_optimum(target=Q, drafts=P, start=0, k=2, length=3, time_limit=limit),
                 lambda: block_bounds(target=Q, drafts=P, start=0, k=2, length=3, time_limit=limit)):
        with pytest.raises(ValueError, match="time_limit"):
            call()


@pytest.mark.parametrize("bad", ["zz", [[0], [1]], [[0, 1]], [[5]], None])
def test_verify_block_scheme_refuses_a_draft_sampler_returning_junk(bad):
    """K = L = 1: a draft sampler returning two paths was used silently (the verifier saw a wrong K); a string
    gave "invalid literal for int()" without naming draft_sampler."""
    sampler = lambda paths, rng: (paths[0][0], 0)  # noqa: E731
    with pytest.raises(ValueError, match="draft_sampler"):
        lpspec.verify_block_scheme(sampler, target=Q, drafts=P, start=0, k=1, length=1, ceiling=False,
                                   samples=100, draft_sampler=lambda s, rng: bad)
