"""The decoding loop: lossless (pooled chi-square of next-token counts per context against the target's rows),
its measured block efficiency against the exact recursion, and tiny random HF models end to end.

The chi-square statistic, its degrees of freedom and p-value are computed here from the emitted text itself
(``tokens`` re-counted in the test), never from the loop's own summaries.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from lpspec import block_efficiency, decode
from lpspec.sequence.blocks import block_start_kernel, long_run_block_efficiency


def pair(seed=0, n=5):
    rng = np.random.default_rng(seed)
    Q = rng.dirichlet(np.full(n, 0.8), size=n)
    P = rng.dirichlet(np.full(n, 0.8), size=n)
    Q[0, 1] = 0.0  # a transition the target never makes
    Q[0] /= Q[0].sum()
    P[1, 2] = 0.0  # a token the draft never proposes after 1
    P[1] /= P[1].sum()
    P[2] = Q[2]  # identical rows
    return Q, P


def transition_counts(first, tokens, n):
    seq = np.concatenate([[first], tokens])
    counts = np.zeros((n, n))
    np.add.at(counts, (seq[:-1], seq[1:]), 1)
    return counts


def pooled_chi_square(counts, rows, strict=True):
    """Pearson statistic summed over contexts; df = sum over contexts of (cells with E > 0) - 1.

    ``strict``: a count where ``rows`` is zero is an error (else it makes the p-value zero)."""
    stat, df = 0.0, 0
    for c in range(rows.shape[0]):
        total = counts[c].sum()
        if total == 0:
            continue
        support = rows[c] > 0
        if counts[c][~support].sum() > 0:
            assert not strict, "a token of target probability zero was emitted"
            return float("inf"), df, 0.0
        expected = total * rows[c][support]
        stat += float(((counts[c][support] - expected) ** 2 / expected).sum())
        df += int(support.sum()) - 1
    return stat, df, float(chi2.sf(stat, df))


@pytest.mark.parametrize("scheme", ["specinfer", "spectr", "single_draft", "sir"])
def test_decoding_is_lossless(scheme):
    Q, P = pair(1)
    start = np.eye(5)[3]
    r = decode(target=Q, draft=P, start=start, k=3, length=4, scheme=scheme, blocks=3000, seed=2)
    counts = transition_counts(3, r.tokens, 5)
    assert np.array_equal(counts, r.transitions)
    assert counts.sum() == r.block_tokens.sum() > 3000 * 1.5
    stat, df, pval = pooled_chi_square(counts, Q)
    assert pval > 1e-4, (stat, df)
    # the same test rejects the draft's rows: it can fail
    assert pooled_chi_square(counts, P, strict=False)[2] < 1e-6


@pytest.mark.parametrize("scheme", ["specinfer", "spectr", "single_draft"])
def test_restarted_blocks_measure_the_exact_block_efficiency(scheme):
    Q, P = pair(3, n=4)
    start = np.array([0.4, 0.3, 0.2, 0.1])
    exact = block_efficiency(target=Q, draft=P, start=start, k=3, length=3, scheme=scheme)
    r = decode(target=Q, draft=P, start=start, k=3, length=3, scheme=scheme, blocks=3000, seed=4, restart=True,
               confidence=0.999)
    assert r.low < exact.value < r.high
    # the law of the accepted length too: chi-square against the exact accepted_length
    expected = exact.accepted_length * r.blocks
    stat = float(((r.accepted_length - expected) ** 2 / expected).sum())
    assert chi2.sf(stat, len(expected) - 1) > 1e-4


def test_scheme_factory():
    """A verifier given as a factory (q, p, j) -> object with sample(x, rng) drives the loop."""
    from lpspec import SpecInfer

    Q, P = pair(2, n=4)
    start = np.array([0.25, 0.25, 0.25, 0.25])
    built = []

    def factory(q, p, j):
        built.append(j)
        return SpecInfer(target=q, drafts=p, k=j)

    a = decode(target=Q, draft=P, start=start, k=2, length=2, scheme=factory, blocks=300, seed=5, restart=True)
    b = decode(target=Q, draft=P, start=start, k=2, length=2, scheme="specinfer", blocks=300, seed=5, restart=True)
    assert np.array_equal(a.tokens, b.tokens) and set(built) <= {1, 2} and len(built) <= 8


def test_block_start_kernel_k1_l1_by_hand():
    """K = L = 1: from s, draft x ~ p_s is kept with min(q, p)(s, x), then the bonus z ~ q_x; else the
    residual: M(s, z) = sum_x min(q_s, p_s)(x) q_x(z) + q_s(z) - min(q_s, p_s)(z)."""
    Q, P = pair(4, n=4)
    m = np.minimum(Q, P)
    want = m @ Q + Q - m
    M, tau = block_start_kernel(target=Q, draft=P, k=1, length=1)
    np.testing.assert_allclose(M, want, atol=1e-14)
    np.testing.assert_allclose(tau, 1 + m.sum(axis=1), atol=1e-14)
    with pytest.raises(ValueError, match="table entries"):
        block_start_kernel(target=np.full((3000, 3000), 1 / 3000), draft=np.full((3000, 3000), 1 / 3000), k=4,
                           length=1)


@pytest.mark.parametrize("scheme", ["specinfer", "spectr"])
def test_continuous_decoding_measures_the_long_run_value(scheme):
    """One long text: block-start contexts follow the kernel's chain, so the measured tokens per call is the
    long-run value, not the stationary-start one (for this pair the two differ by more than the interval)."""
    rng = np.random.default_rng(3)
    Q = rng.dirichlet(np.full(4, 0.5), size=4)
    P = rng.dirichlet(np.full(4, 0.5), size=4)
    long_run = long_run_block_efficiency(target=Q, draft=P, k=3, length=3, scheme=scheme)
    M, _ = block_start_kernel(target=Q, draft=P, k=3, length=3, scheme=scheme)
    np.testing.assert_allclose(long_run.start @ M, long_run.start, atol=1e-12)
    stationary = block_efficiency(target=Q, draft=P, k=3, length=3, scheme=scheme)
    r = decode(target=Q, draft=P, k=3, length=3, scheme=scheme, blocks=12_000, seed=2, confidence=0.999)
    assert r.low < long_run.value < r.high
    assert not r.low < stationary.value < r.high


@pytest.mark.skipif(not hasattr(__import__("lpspec"), "optimal_verifier"),
                    reason="needs lpspec.optimal_verifier (rank-space verifier)")
def test_optimal_decoding_is_lossless_and_measures_the_exact_value():
    Q, P = pair(3, n=4)
    start = np.array([0.4, 0.3, 0.2, 0.1])
    exact = block_efficiency(target=Q, draft=P, start=start, k=3, length=3, scheme="optimal")
    r = decode(target=Q, draft=P, start=start, k=3, length=3, scheme="optimal", blocks=3000, seed=4, restart=True,
               confidence=0.999)
    assert r.low < exact.value < r.high
    long = decode(target=Q, draft=P, start=start, k=3, length=3, scheme="optimal", blocks=3000, seed=5)
    counts = np.zeros((4, 4))
    np.add.at(counts, (long.tokens[:-1], long.tokens[1:]), 1)
    assert pooled_chi_square(counts, Q)[2] > 1e-4


def test_identical_models_accept_every_draft_and_seed_reproduces():
    Q, _ = pair(5)
    r = decode(target=Q, draft=Q, k=2, length=3, blocks=50, seed=1)
    assert set(r.block_tokens.tolist()) == {4}
    a = decode(target=Q, draft=pair(6)[1], k=2, length=3, blocks=50, seed=9)
    b = decode(target=Q, draft=pair(6)[1], k=2, length=3, blocks=50, seed=9)
    assert np.array_equal(a.tokens, b.tokens)


def test_callables_with_longer_contexts():
    """A second-order model as callables: the loop runs and stays lossless per (previous two tokens)."""
    rng = np.random.default_rng(8)
    T = rng.dirichlet(np.ones(3), size=(3, 3))
    D = rng.dirichlet(np.ones(3), size=(3, 3))

    def law(table):
        return lambda ctx: table[ctx[-2], ctx[-1]] if len(ctx) >= 2 else np.full(3, 1 / 3)

    r = decode(target=law(T), draft=law(D), start=[(0, 1)], k=2, length=3, blocks=1500, seed=3, order=2)
    seq = np.concatenate([[0, 1], r.tokens])
    counts = np.zeros((9, 3))
    np.add.at(counts, (3 * seq[:-2] + seq[1:-1], seq[2:]), 1)
    assert pooled_chi_square(counts, T.reshape(9, 3))[2] > 1e-4


def test_bad_input():
    Q, P = pair(0)
    with pytest.raises(ValueError, match="length"):
        decode(target=Q, draft=P, k=2, length=0)
    with pytest.raises(ValueError, match="both"):
        decode(target=Q, draft=lambda c: P[0], k=2, length=2)
    with pytest.raises(ValueError, match="specinfer_wor does not apply"):
        decode(target=Q, draft=P, k=2, length=2, scheme="specinfer_wor", blocks=2)


# ------------------------------------------------------------------------------------------- Hugging Face
def test_tiny_hf_models_end_to_end():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from lpspec.sequence.models import NextTokenModels

    models = {}
    for name, vocab, seed in (("target", 13, 0), ("draft", 16, 1)):  # the draft has 3 padded logit rows
        torch.manual_seed(seed)
        cfg = transformers.GPT2Config(vocab_size=vocab, n_positions=32, n_embd=16, n_layer=1, n_head=2)
        models[name] = transformers.GPT2LMHeadModel(cfg).eval()
    prompt = [1, 2, 3]
    r = decode(target=models["target"], draft=models["draft"], start=[prompt], k=2, length=3, blocks=12,
               seed=0, scheme="specinfer", max_context=24)
    assert r.blocks == 12 and r.tokens.size == r.block_tokens.sum()
    assert set(r.block_tokens.tolist()) <= {1, 2, 3, 4} and r.accepted_length.sum() == 12
    assert r.tokens.max() < 13 and r.token_counts.sum() == r.tokens.size
    # the laws are the float64 softmax of the first 13 logits of each model (computed here)
    m = NextTokenModels.from_hf(models["target"], models["draft"])
    q, p = m.laws(tuple(prompt))
    with torch.no_grad():
        for law, model in ((q, models["target"]), (p, models["draft"])):
            z = model(input_ids=torch.tensor([prompt])).logits[0, -1, :13].double().numpy()
            e = np.exp(z - z.max())
            np.testing.assert_allclose(law, e / e.sum(), atol=1e-12)
    # identical models: every draft token is accepted
    same = decode(target=models["target"], draft=models["target"], start=[prompt], k=2, length=2, blocks=4,
                  seed=1, max_context=24)
    assert set(same.block_tokens.tolist()) == {3}
    # a model with fewer logits than the vocabulary is refused
    with pytest.raises(ValueError, match="share one tokenizer"):
        NextTokenModels.from_hf(models["draft"], models["target"])
    # review: a prompt token outside the vocabulary, and a text longer than the model's 32 positions, were
    # IndexErrors inside the embedding
    with pytest.raises(ValueError, match=r"start: token 13 is outside the vocabulary 0\.\.12"):
        decode(target=models["target"], draft=models["draft"], start=[[1, 2, 13]], k=2, length=2, blocks=1)
    with pytest.raises(ValueError, match=r"max_context: the context has 33 tokens .* at most 32 positions"):
        decode(target=models["target"], draft=models["draft"], start=[list(range(13)) * 2 + [1] * 7], k=2,
               length=2, blocks=1, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["specinfer", "spectr"])
def test_builtin_pair_exact_mc_and_decode_agree(scheme):
    """Long run on the built-in pair at n = 30: exact, Monte Carlo and the loop agree; the loop is lossless."""
    from lpspec import block_efficiency_mc
    from lpspec.sequence.corpus import load_pair

    p = load_pair(n=30)
    exact = block_efficiency(target=p, k=4, length=4, scheme=scheme).value
    mc = block_efficiency_mc(target=p, k=4, length=4, scheme=scheme, blocks=20_000, seed=1, confidence=0.999)
    run = decode(target=p, k=4, length=4, scheme=scheme, blocks=8000, seed=2, restart=True, confidence=0.999)
    assert mc.low < exact < mc.high and run.low < exact < run.high
    long = decode(target=p, k=4, length=4, scheme=scheme, blocks=20_000, seed=3)
    counts = np.zeros((30, 30))  # consecutive emitted tokens (the unseen first context is left out)
    np.add.at(counts, (long.tokens[:-1], long.tokens[1:]), 1)
    assert pooled_chi_square(counts, p.target)[2] > 1e-4
