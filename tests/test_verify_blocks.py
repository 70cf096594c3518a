"""verify_block_scheme: the lossless checker of block verifiers (docs/theory.md §14, Lemma 2).

The verifiers under test are written here from their definitions (token-wise speculative sampling along one
path, the SpecInfer tree, and three lossy ones); the expected τ values are the published test instance of
the sequence level (2 tokens, start token 0) and Sun et al.'s example, recomputed in Fractions by an
independent recursion over (depth, context, surviving drafts) below.
"""

import math
from fractions import Fraction as F

import numpy as np
import pytest

from lpspec.sequence.verify_blocks import verify_block_scheme

Q = [[F(1, 5), F(4, 5)], [F(1, 2), F(1, 2)]]  # target q(a | last token)
P = [[F(3, 5), F(2, 5)], [F(3, 10), F(7, 10)]]  # draft p(a | last token)
QF, PF = np.array(Q, dtype=float), np.array(P, dtype=float)


# ------------------------------------------------------------------------------------ verifiers under test
def _add(out, block, mass):
    if mass:
        out[block] = out.get(block, 0) + mass


def sps_law(q, p, *, residual="q-p", length):
    """Token-wise speculative sampling along the first path; ``residual="q"`` is the lossy variant."""
    one = F(1) if isinstance(q[0][0], F) else 1.0

    def law(paths, start):
        x, out = paths[0], {}

        def rec(d, ctx, prefix, mass):
            if d == length:
                for b in range(len(q)):
                    _add(out, prefix + (b,), mass * q[ctx][b])
                return
            y = x[d]
            acc = min(one, q[ctx][y] / p[ctx][y])
            res = [max(q[ctx][a] - p[ctx][a], 0 * one) for a in range(len(q))] if residual == "q-p" else list(q[ctx])
            norm = sum(res)
            if acc < 1:
                for a in range(len(q)):
                    _add(out, prefix + (a,), mass * (1 - acc) * res[a] / norm)
            rec(d + 1, y, prefix + (y,), mass * acc)

        rec(0, start, (), one)
        return out

    return law


def specinfer_law(q, p, *, length, naive=False):
    """SpecInfer's multi-draft tree (residual updated after each rejection, survivors = drafts showing the
    accepted token). ``naive=True``: accept a token because any surviving draft shows it, testing each against
    the *original* q (no residual update) — lossy."""
    one = F(1) if isinstance(q[0][0], F) else 1.0
    n = len(q)

    def law(paths, start):
        out = {}

        def rec(d, ctx, prefix, survivors, mass):
            if d == length:
                for b in range(n):
                    _add(out, prefix + (b,), mass * q[ctx][b])
                return
            r, stay = list(q[ctx]), mass
            for j in survivors:
                y = paths[j][d]
                acc = min(one, r[y] / p[ctx][y])
                rec(d + 1, y, prefix + (y,), [i for i in survivors if paths[i][d] == y], stay * acc)
                stay *= 1 - acc
                if acc < 1 and not naive:
                    res = [max(r[a] - p[ctx][a], 0 * one) for a in range(n)]
                    r = [v / sum(res) for v in res]
            if naive:
                res = [max(q[ctx][a] - p[ctx][a], 0 * one) for a in range(n)]
                r = [v / sum(res) for v in res] if sum(res) else list(q[ctx])
            for a in range(n):
                _add(out, prefix + (a,), stay * r[a])

        rec(0, start, (), list(range(len(paths))), one)
        return out

    return law


def best_path_law(q, p, *, length):
    """Pick the draft path the target likes best (largest target path probability), verify it alone — lossy."""
    inner = sps_law(q, p, length=length)

    def law(paths, start):
        def score(x):
            s, ctx = 1, start
            for a in x:
                s, ctx = s * q[ctx][a], a
            return s

        best = max(paths, key=score)
        return inner((best,), start)

    return law


# ------------------------------------------------------------------------------------ independent τ
def recursion_tau(law_fn, q, p, start, k, length):
    """τ = E|block| by brute force over path tuples with the law's own dict — used only for cross-checks of
    the table values below, which come from the published test instance."""
    import itertools

    paths = list(itertools.product(range(len(q)), repeat=length))
    tau = 0
    for combo in itertools.product(paths, repeat=k):
        w = 1
        for x in combo:
            ctx = start
            for a in x:
                w, ctx = w * p[ctx][a], a
        if w:
            tau += w * sum(len(b) * m for b, m in law_fn(combo, start).items())
    return tau


# ------------------------------------------------------------------------------------ positive controls
@pytest.mark.parametrize("length,tau", [(1, F(8, 5)), (2, F(51, 25)), (3, F(59, 25))])
def test_token_wise_sps_is_lossless_with_the_published_tau(length, tau):
    # published: 1.6, 2.04, 2.36 (token-wise SpS on the test instance)
    r = verify_block_scheme(sps_law(Q, P, length=length), target=Q, drafts=P, start=0, k=1, length=length,
                            ceiling=False)
    assert r.lossless is True and r.error is None
    assert r.max_error == 0 and r.tolerance == 0
    assert r.tau == tau
    assert r.failing_prefix is None


@pytest.mark.parametrize("length,k,tau", [(1, 2, F(44, 25)), (1, 3, F(232, 125)), (2, 2, F(14730, 6250)),
                                          (2, 3, "2.55648"), (3, 2, "2.79984"), (3, 1, "2.36")])
def test_specinfer_tree_is_lossless_with_the_published_tau(length, k, tau):
    r = verify_block_scheme(specinfer_law(Q, P, length=length), target=Q, drafts=P, start=0, k=k,
                            length=length, ceiling=False)
    assert r.lossless is True and r.max_error == 0
    assert r.tau == F(tau)
    assert r.tuples == 2 ** (length * k)


def test_sun_et_al_example_token_wise():
    # p = (2/3, 1/3), q = (1/3, 2/3) i.i.d. per step, L = 2: 10/9 accepted tokens token-wise, tau = 1 + 10/9.
    q = [[F(1, 3), F(2, 3)]] * 2
    p = [[F(2, 3), F(1, 3)]] * 2
    r = verify_block_scheme(sps_law(q, p, length=2), target=q, drafts=p, start=0, k=1, length=2, ceiling=False)
    assert r.lossless is True and r.tau == 1 + F(10, 9)


def test_start_law_checks_every_start_token_and_averages_tau():
    law = specinfer_law(Q, P, length=2)
    r = verify_block_scheme(law, target=Q, drafts=P, start=[F(1, 4), F(3, 4)], k=2, length=2, ceiling=False)
    r0 = recursion_tau(law, Q, P, 0, 2, 2)
    r1 = recursion_tau(law, Q, P, 1, 2, 2)
    assert r.lossless is True and r.tau == F(1, 4) * r0 + F(3, 4) * r1
    assert set(r.block_law) == {0, 1}
    # None = the target's stationary law: (5/13, 8/13) solves π = π q exactly
    r = verify_block_scheme(law, target=Q, drafts=P, start=None, k=2, length=2, ceiling=False)
    assert r.tau == F(5, 13) * r0 + F(8, 13) * r1


def test_float_verifier_is_checked_with_the_stated_tolerance():
    r = verify_block_scheme(specinfer_law(QF.tolist(), PF.tolist(), length=2), target=QF, drafts=PF, start=0,
                            k=2, length=2, ceiling=False)
    assert r.lossless is True and 0 <= r.max_error < 1e-12 and r.tolerance == 1e-9
    assert abs(r.tau - 2.3568) < 1e-12


# ------------------------------------------------------------------------------------ negative controls
def test_residual_from_q_is_lossy_and_the_failing_node_is_the_root():
    r = verify_block_scheme(sps_law(Q, P, residual="q", length=2), target=Q, drafts=P, start=0, k=1, length=2,
                            ceiling=False)
    assert r.lossless is False and r.error is None
    # at the root: reach(0) = p(0) min(1, q/p) + (1 - acc) q(0) = 3/5 * 1/3 + (1 - 1/5 - 2/5) * 1/5 ... computed:
    # acc(0) = 1/3, acc(1) = 1; Pr(reject) = 3/5 * 2/3 = 2/5; reach(0) = 1/5 + 2/5 * 1/5 = 7/25 != q(0) = 5/25.
    assert r.failing_prefix == () and r.failing_token in (0, 1)
    assert r.max_error == F(2, 25)


def test_pick_the_best_path_then_verify_it_alone_is_lossy():
    r = verify_block_scheme(best_path_law(Q, P, length=2), target=Q, drafts=P, start=0, k=2, length=2,
                            ceiling=False)
    assert r.lossless is False and r.max_error > F(1, 100)
    assert "Lemma 2 fails" in r.verdict
    # K = 1 it is plain token-wise SpS, lossless: the bias comes from the selection
    r1 = verify_block_scheme(best_path_law(Q, P, length=2), target=Q, drafts=P, start=0, k=1, length=2,
                             ceiling=False)
    assert r1.lossless is True


def test_accepting_a_token_any_surviving_draft_shows_is_lossy():
    r = verify_block_scheme(specinfer_law(Q, P, length=2, naive=True), target=Q, drafts=P, start=0, k=2,
                            length=2, ceiling=False)
    assert r.lossless is False
    # the root already over-accepts token 0: Pr = 1 - (1 - 3/5 * 1/3)^2 ... 0 is accepted from either draft
    # with probability 1/3 each try, so reach(0) >= 1 - (1 - 1/5)^2 = 9/25 > q(0) = 1/5.
    assert r.failing_prefix == ()
    # K = 1 it is token-wise SpS again
    assert verify_block_scheme(specinfer_law(Q, P, length=2, naive=True), target=Q, drafts=P, start=0, k=1,
                               length=2, ceiling=False).lossless is True


# ------------------------------------------------------------------------------------ bad verifiers
@pytest.mark.parametrize("bad,words", [
    (lambda paths: {(0,): F(-1, 2), (1,): F(3, 2)}, "negative"),
    (lambda paths: {(0,): F(1, 2)}, "sums to 1/2"),
    (lambda paths: {(1 - paths[0][0], 0): F(1)}, "not an accepted prefix"),
    (lambda paths: {(0, 0, 0, 0): F(1)}, "1..3 tokens"),
    (lambda paths: [0.5, 0.5], "not a dict"),
    (lambda paths: 1 / 0, "raised ZeroDivisionError"),
    (lambda paths: {(0,): "half", (1,): F(1, 2)}, "not a number"),
])
def test_bad_verifiers_are_reported_not_crashed(bad, words):
    r = verify_block_scheme(bad, target=Q, drafts=P, start=0, k=1, length=2, ceiling=False)
    assert r.lossless is False and words in r.error, r.error
    assert "invalid verifier" in r.verdict


def test_zero_mass_entries_need_not_be_valid_blocks():
    inner = sps_law(Q, P, length=1)

    def law(paths, start):
        out = dict(inner(paths, start))
        out[(1 - paths[0][0], 1)] = F(0)  # not a prefix of its path, but listed with probability 0
        return out

    assert verify_block_scheme(law, target=Q, drafts=P, start=0, k=1, length=1, ceiling=False).lossless is True


def test_size_guard_refuses_before_calling_the_verifier():
    calls = []

    def law(paths):
        calls.append(paths)
        return {(paths[0][0],): 1.0}

    q = np.full((4, 4), 0.25)
    with pytest.raises(ValueError, match=r"65536 draft-path tuples.*mode='sample'"):
        verify_block_scheme(law, target=q, drafts=q, start=0, k=2, length=4, mode="enumerate", max_tuples=1000)
    assert calls == []


@pytest.mark.parametrize("kwargs,words", [
    (dict(start=2), "outside the chain"),
    (dict(k=0), "k must be"),
    (dict(length=0), "length must be"),
    (dict(mode="exact"), "mode must be"),
    (dict(drafts=[[F(1, 2), F(1, 3)], [F(1, 2), F(1, 2)]]), "sums to 5/6"),
])
def test_bad_input_raises_naming_the_argument(kwargs, words):
    args = dict(target=Q, drafts=P, start=0, k=1, length=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=words):
        verify_block_scheme(sps_law(Q, P, length=1), **args)


def test_start_law_needs_a_verifier_that_takes_start():
    with pytest.raises(ValueError, match="start="):
        verify_block_scheme(lambda paths: {(0,): 1.0}, target=QF, drafts=PF, start=[0.5, 0.5], k=1, length=1)


# ------------------------------------------------------------------------------------ sampling mode
def _sps_sampler(q, p, residual="q-p"):
    q, p = np.asarray(q, float), np.asarray(p, float)

    def sampler(paths, rng, start):
        ctx, out = start, []
        for y in paths[0]:
            if rng.random() < min(1.0, q[ctx, y] / p[ctx, y]):
                out.append(y)
                ctx = y
                continue
            res = np.maximum(q[ctx] - p[ctx], 0) if residual == "q-p" else q[ctx]
            out.append(int(rng.choice(len(q), p=res / res.sum())))
            return tuple(out)
        out.append(int(rng.choice(len(q), p=q[ctx])))
        return tuple(out)

    return sampler


def test_sampling_mode_passes_a_lossless_sampler_and_estimates_tau():
    r = verify_block_scheme(_sps_sampler(QF, PF), target=QF, drafts=PF, start=0, k=1, length=2, samples=4000,
                            seed=1, ceiling=False)
    assert r.mode == "sample" and r.lossless is None and r.p_value >= 0.01
    assert r.tau_ci[0] <= 2.04 <= r.tau_ci[1]
    assert r.dof == 7 and 0 < r.power < 1 and r.detectable_effect > 0


def test_sampling_mode_flags_the_q_residual_and_its_power_matches_monte_carlo():
    law = sps_law(QF.tolist(), PF.tolist(), residual="q", length=2)
    exact = verify_block_scheme(law, target=QF, drafts=PF, start=0, k=1, length=2, ceiling=False)
    alt = exact.block_law[0]
    r = verify_block_scheme(_sps_sampler(QF, PF, residual="q"), target=QF, drafts=PF, start=0, k=1, length=2,
                            samples=3000, seed=2, alternative=alt, ceiling=False)
    assert r.lossless is False and r.p_value < 0.01 and r.power > 0.99
    # the power formula against repeated small runs: rejection frequency within a 99 % interval
    small = 150
    ref = verify_block_scheme(_sps_sampler(QF, PF, residual="q"), target=QF, drafts=PF, start=0, k=1, length=2,
                              samples=small, seed=0, alternative=alt, ceiling=False)
    runs = 120
    hits = sum(verify_block_scheme(_sps_sampler(QF, PF, residual="q"), target=QF, drafts=PF, start=0, k=1,
                                   length=2, samples=small, seed=100 + i, ceiling=False).lossless is False
               for i in range(runs))
    half = 2.58 * math.sqrt(ref.power * (1 - ref.power) / runs) + 0.08  # + the χ² approximation's slack
    assert abs(hits / runs - ref.power) <= half, (hits / runs, ref.power)


def test_sampling_mode_on_a_law_valued_verifier_too_large_to_enumerate():
    r = verify_block_scheme(specinfer_law(QF.tolist(), PF.tolist(), length=2), target=QF, drafts=PF, start=0,
                            k=2, length=2, max_tuples=4, samples=3000, seed=3, ceiling=False)
    assert r.mode == "sample" and r.lossless is None
    assert r.tau_ci[0] <= 2.3568 <= r.tau_ci[1]


def test_sampling_mode_reports_an_invalid_block():
    r = verify_block_scheme(lambda paths, rng: (1 - paths[0][0], 0), target=QF, drafts=PF, start=0, k=1,
                            length=2, samples=50, ceiling=False)
    assert r.lossless is False and "not an accepted prefix" in r.error


# ------------------------------------------------------------------------------------ a real client: HF
@pytest.fixture
def hf_step():
    """HF's step on the test pair; torch on one thread (its tiny tensors are ~50x slower on a busy machine)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from lpspec.sequence.verify_blocks import hf_speculative_sampler

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield hf_speculative_sampler(target=QF, drafts=PF)
    torch.set_num_threads(threads)


def _greedy_generator(p, length):
    def gen(start, rng):
        ctx, x = start, []
        for _ in range(length):
            ctx = int(np.argmax(p[ctx]))
            x.append(ctx)
        return (tuple(x),)

    return gen


def test_hf_speculative_sampling_step_passes(hf_step):
    r = verify_block_scheme(hf_step, target=QF, drafts=PF, start=0, k=1, length=2, samples=1000, seed=5,
                            ceiling=False)
    assert r.error is None and r.lossless is None and r.p_value >= 0.01, r
    assert r.tau_ci[0] <= 2.04 <= r.tau_ci[1]


def test_hf_with_greedy_drafts_and_softmax_probabilities_is_flagged_with_its_power(hf_step):
    # the lossy system's exact block law: the drafts are always the argmax path (0, 0) from start 0, verified
    # by token-wise SpS as if they had been sampled from p
    alt = sps_law(Q, P, length=2)(((0, 0),), 0)
    r = verify_block_scheme(hf_step, target=QF, drafts=PF, start=0, k=1, length=2, samples=600, seed=6,
                            draft_sampler=_greedy_generator(PF, 2), alternative=alt, ceiling=False)
    assert r.error is None and r.lossless is False and r.p_value < 1e-6
    from scipy import stats

    # the power, recomputed: w^2 = Σ (r - e)^2 / e over the 8 strings of length 3 (no cell is pooled here)
    strings = [(a, b, c) for a in range(2) for b in range(2) for c in range(2)]
    e = np.array([QF[0, a] * QF[a, b] * QF[b, c] for a, b, c in strings])
    alt_h = np.zeros(8)
    for block, m in alt.items():
        for i, z in enumerate(strings):
            if z[: len(block)] == block:
                cont = 1.0
                for j in range(len(block), 3):
                    cont *= QF[z[j - 1], z[j]]
                alt_h[i] += float(m) * cont
    w2 = float(np.sum((alt_h - e) ** 2 / e))
    power = stats.ncx2.sf(stats.chi2.ppf(0.99, 7), 7, 600 * w2)
    assert r.power == pytest.approx(power, rel=1e-9) and r.power > 0.999
    assert "alternative" in r.alternative


# ------------------------------------------------------------------------------------ guide, CLI, figure
def test_the_sequence_guide_python_blocks_run(capsys):
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "sequence.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 4
    for block in blocks:
        exec(compile(block, "docs/guide/sequence.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert "True 51/25 0" in out and "False () 2/25" in out
    assert any(line.startswith("stepwise_optimal  tau = 3.103936") for line in out)  # published, K = 2, L = 3
    assert "ceiling tau* = 3.225200" in out  # published τ* (K = 2, L = 3)
    assert any(line.endswith("gap to tau* = 0.121264") for line in out)  # 3.2252 - 3.103936


def test_blocks_cli_prints_the_sequence_schemes(tmp_path, capsys):
    from lpspec.cli import main
    from lpspec.sequence.markov import MarkovPair

    MarkovPair.from_arrays(target=QF, draft=PF, start=[1.0, 0.0]).save(tmp_path / "pair.npz")
    assert main(["blocks", "--file", str(tmp_path / "pair.npz"), "-k", "1", "2", "3", "--lengths", "2", "3",
                 "--schemes", "specinfer", "block_verification", "stepwise_optimal"]) == 0
    out = capsys.readouterr().out
    # the published table: SpecInfer tree, block verification (K = 1), best depth-by-depth tree
    assert "  2  0.7600  2.3568  2.7998" in out and "  3  0.8560  2.5565  3.0853" in out
    assert "  1  0.6000  2.1200  2.5680" in out
    assert "  3  0.9840  2.8784  3.5987" in out
    assert main(["blocks", "--file", str(tmp_path / "pair.npz"), "--vocabulary", "3"]) == 2


def test_figure_tau_against_length_without_the_ceiling():
    pytest.importorskip("matplotlib")
    from lpspec.experiments.figures import block_ceiling

    fig, table = block_ceiling(target=QF, drafts=PF, start=[1.0, 0.0], k=3, lengths=(2, 3),
                               schemes=("specinfer", "stepwise_optimal"), ceiling=False)
    taus = {(r["scheme"], r["length"]): r["tau"] for r in table.rows}
    assert taus[("specinfer", 3)] == pytest.approx(3.085285248, abs=1e-12)
    assert taus[("stepwise_optimal", 2)] == pytest.approx(2.8784, abs=1e-12)
    assert [line.get_gid() for line in fig.axes[0].get_lines()] == ["specinfer", "stepwise_optimal"]


def test_schemes_of_the_field_pass_the_checker():
    """seq-schemes' block laws (their own code) through the independent checker: lossless, τ as published."""
    from lpspec.sequence.block_schemes import block_law_given_paths

    for scheme, k, tau in (("block_verification", 1, F(53, 25)), ("traversal", 2, None),
                           ("stepwise_optimal", 2, F(2552, 1000))):
        def law(paths, start, s=scheme):
            return block_law_given_paths(s, paths, target=Q, drafts=P, start=start, length=2)

        r = verify_block_scheme(law, target=Q, drafts=P, start=0, k=k, length=2, ceiling=False)
        assert r.lossless is True and r.max_error == 0, (scheme, r.verdict)
        if tau is not None:
            assert r.tau == tau


# ------------------------------------------------------------------------------------ hard branches
def test_zero_probability_paths_are_skipped_and_ties_in_the_selection():
    # the draft never shows token 1 after token 0: only paths with positive probability are enumerated
    q = [[F(1, 2), F(1, 2)], [F(1, 3), F(2, 3)]]
    p = [[F(1), F(0)], [F(1, 2), F(1, 2)]]
    r = verify_block_scheme(sps_law(q, p, length=2), target=q, drafts=p, start=0, k=1, length=2, ceiling=False)
    assert r.lossless is True and r.tuples == 1  # the one path (0, 0)
    # τ by hand: accept 0 w.p. 1/2, then 0 again w.p. 1/2, bonus: 1 + 1/2 + 1/4
    assert r.tau == F(7, 4)
    # identical target probabilities for both paths (a tie): "best path" picks the first, still lossy at K = 2
    q2 = [[F(1, 2), F(1, 2)], [F(1, 2), F(1, 2)]]
    p2 = [[F(3, 4), F(1, 4)], [F(1, 4), F(3, 4)]]
    r2 = verify_block_scheme(best_path_law(q2, p2, length=1), target=q2, drafts=p2, start=0, k=2, length=1,
                             ceiling=False)
    # all paths tie under q2 (uniform), so "best" = the first draft: a plain single-draft SpS, lossless
    assert r2.lossless is True and r2.tau == 1 + F(3, 4)


def test_float_laws_on_an_exact_pair_are_checked_in_floats_with_the_tolerance():
    law = specinfer_law(QF.tolist(), PF.tolist(), length=2)
    r = verify_block_scheme(lambda paths, start: law(paths, start), target=Q, drafts=P, start=0, k=2, length=2,
                            ceiling=False)
    assert r.lossless is True and r.tolerance == 1e-9 and isinstance(r.tau, float)
    assert any("floats" in note for note in r.notes)
    # a float error below the tolerance passes, above it fails
    def off(paths, start, eps):
        out = dict(law(paths, start))
        b = next(iter(out))
        out[b] += eps
        other = next(x for x in out if x != b)
        out[other] -= eps
        return out
    assert verify_block_scheme(lambda x, start: off(x, start, 1e-13), target=QF, drafts=PF, start=0, k=2,
                               length=2, ceiling=False).lossless is True
    bad = verify_block_scheme(lambda x, start: off(x, start, 1e-4), target=QF, drafts=PF, start=0, k=2,
                              length=2, ceiling=False)
    assert bad.lossless is False and 1e-5 < bad.max_error <= 2e-4


def test_sampling_proves_lossy_when_a_string_is_impossible_under_the_target():
    q = np.array([[1.0, 0.0], [0.5, 0.5]])
    p = np.array([[0.5, 0.5], [0.5, 0.5]])
    r = verify_block_scheme(lambda paths, rng: (paths[0][0],), target=q, drafts=p, start=0, k=1, length=1,
                            samples=200, ceiling=False)
    assert r.lossless is False and r.p_value is None and "cannot produce" in r.verdict


def test_sampling_over_a_start_law():
    r = verify_block_scheme(_sps_sampler(QF, PF), target=QF, drafts=PF, start=[0.25, 0.75], k=1, length=2,
                            samples=4000, seed=4, ceiling=False)
    assert r.lossless is None and r.dof >= 8  # 2 × 8 cells, pooled
    exact = 0.25 * float(F(51, 25)) + 0.75 * float(recursion_tau(sps_law(Q, P, length=2), Q, P, 1, 1, 2))
    assert r.tau_ci[0] <= exact <= r.tau_ci[1]
    lossy = verify_block_scheme(_sps_sampler(QF, PF, residual="q"), target=QF, drafts=PF, start=[0.25, 0.75],
                                k=1, length=2, samples=4000, seed=4, ceiling=False)
    assert lossy.lossless is False


def test_hf_ensemble_verification_is_lossy_by_design(hf_step):
    import inspect

    from transformers.generation.utils import _speculative_sampling

    from lpspec.sequence.verify_blocks import hf_speculative_sampler

    if "assistant_ensemble_weight" not in inspect.signature(_speculative_sampling).parameters:
        pytest.skip("this transformers version has no ensemble verification")
    step = hf_speculative_sampler(target=QF, drafts=PF, assistant_ensemble_weight=0.5)
    r = verify_block_scheme(step, target=QF, drafts=PF, start=0, k=1, length=2, samples=1000, seed=7,
                            ceiling=False)
    assert r.error is None and r.lossless is False and r.p_value < 1e-3


# ------------------------------------------------------------------------------------ the ceiling τ*
def test_report_carries_the_ceiling_and_the_gap():
    pytest.importorskip("lpspec.sequence.block_lp")
    r = verify_block_scheme(specinfer_law(Q, P, length=2), target=Q, drafts=P, start=0, k=2, length=2)
    # published: τ* = 2.5856, the SpecInfer tree 2.3568 (K = 2, L = 2)
    assert float(r.ceiling) == pytest.approx(2.5856, abs=1e-7)
    assert float(r.gap) == pytest.approx(2.5856 - 2.3568, abs=1e-7)
    r = verify_block_scheme(sps_law(Q, P, length=3), target=Q, drafts=P, start=0, k=1, length=3)
    assert float(r.ceiling) == pytest.approx(2.568, abs=1e-7) and float(r.gap) == pytest.approx(0.208, abs=1e-7)


def test_blocks_cli_ceiling_grid_has_the_gap_column(tmp_path, capsys):
    pytest.importorskip("lpspec.sequence.block_lp")
    from lpspec.cli import main
    from lpspec.sequence.markov import MarkovPair

    MarkovPair.from_arrays(target=QF, draft=PF, start=[1.0, 0.0]).save(tmp_path / "pair.npz")
    assert main(["blocks", "--file", str(tmp_path / "pair.npz"), "-k", "2", "3", "--lengths", "2", "3",
                 "--schemes", "specinfer", "stepwise_optimal", "--ceiling"]) == 0
    out = capsys.readouterr().out
    assert "gap to τ*" in out
    # ceiling rows: τ* (published) with gap 0; SpecInfer K = 2: gaps 0.2288 and 0.42536
    assert "2.5856      0.0000  3.2252      0.0000" in out
    assert "2.3568      0.2288  2.7998      0.4254" in out
    assert main(["blocks", "--file", str(tmp_path / "pair.npz"), "-k", "2", "--lengths", "2", "--ceiling",
                 "--json"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)["rows"]
    gaps = {(r["scheme"], r["k"]): r["gap_to_ceiling"] for r in rows}
    assert gaps[("ceiling", 2)] == 0 and gaps[("specinfer", 2)] == pytest.approx(0.2288, abs=1e-7)
    assert gaps[("single_draft", 1)] is None  # K = 1 has no ceiling column unless -k includes 1


def test_samplers_of_the_field_pass_the_sampling_mode():
    """seq-schemes' samplers (the algorithms run on drafted paths) through the G-test; τ in the interval."""
    from lpspec.sequence.block_schemes import traversal

    res = traversal(target=QF, drafts=PF, start=0, k=2, length=2)
    r = verify_block_scheme(res.sample, target=QF, drafts=PF, start=0, k=2, length=2, samples=3000, seed=8,
                            ceiling=False)
    assert r.error is None and r.lossless is None and r.p_value >= 0.01
    assert r.tau_ci[0] <= float(res.value) <= r.tau_ci[1]
    # and its exact law, enumerated by the checker, is lossless with the same τ
    e = verify_block_scheme(res.law_given_paths, target=QF, drafts=PF, start=0, k=2, length=2, ceiling=False)
    assert e.mode == "enumerate" and e.lossless is True and e.tau == pytest.approx(float(res.value), abs=1e-12)


def test_figure_puts_the_ceiling_on_top():
    pytest.importorskip("matplotlib")
    pytest.importorskip("lpspec.sequence.block_lp")
    from lpspec.experiments.figures import block_ceiling

    fig, table = block_ceiling(target=QF, drafts=PF, start=[1.0, 0.0], k=3, lengths=(1, 2, 3))
    lines = fig.axes[0].get_lines()
    assert lines[0].get_gid() == "ceiling" and list(lines[0].get_ydata()) == pytest.approx([1.984, 2.894528,
                                                                                            3.657347904], abs=1e-7)
    for L in (1, 2, 3):
        top = max(r["tau"] for r in table.rows if r["length"] == L and r["scheme"] != "ceiling")
        assert top <= next(r["tau"] for r in table.rows if r["length"] == L and r["scheme"] == "ceiling") + 1e-9
    best = {r["length"]: r["gap_to_ceiling"] for r in table.rows if r["scheme"] == "stepwise_optimal"}
    assert best[2] == pytest.approx(2.894528 - 2.8784, abs=1e-7)  # the published best depth-by-depth tree


def test_blocks_cli_leaves_a_cell_empty_beyond_a_schemes_size_guard(tmp_path, capsys):
    from lpspec.cli import main
    from lpspec.sequence.markov import MarkovPair

    MarkovPair.from_arrays(target=QF, draft=PF, start=[1.0, 0.0]).save(tmp_path / "pair.npz")
    # traversal enumerates n^(LK) tuples: 2^18 > 200,000 at K = 6, L = 3; the other cells are still printed
    assert main(["blocks", "--file", str(tmp_path / "pair.npz"), "-k", "1", "6", "--lengths", "1", "3",
                 "--schemes", "traversal"]) == 0
    captured = capsys.readouterr()
    assert "traversal at K = 6, L = 3 not computed" in captured.err
    assert "  1  0.6000  1.6000  2.5680" in captured.out  # K = 1: block verification's published values
    assert "  6 " in captured.out and "   n/a" in captured.out
