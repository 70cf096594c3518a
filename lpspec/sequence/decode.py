"""Multi-draft speculative decoding that actually runs: sample drafts, verify depth by depth, emit tokens.

One *block* (one target call in a real system) from context ``c``:

1. sample ``K`` draft sequences of ``L`` tokens autoregressively from the draft model, independently;
2. for depth ``d = 1..L``, with the ``j`` drafts whose prefix equals the tokens emitted so far (the
   survivors), build the token-level scheme for ``j`` drafts at the current context
   (:func:`lpspec.make_scheme` with ``q``, ``p`` of that context) and draw the output token with its
   ``sample`` method on the survivors' tokens at depth ``d``;
3. if the output is one of those tokens (membership, docs/theory.md §1) the drafts showing it survive and
   verification goes on; otherwise the output (the residual token) ends the block;
4. after ``L`` accepted tokens one bonus token is drawn from the target.

The block emits ``N + 1`` tokens, ``N`` the number accepted. The generated text is distributed exactly as
the target model's (lossless) whenever the scheme is exact; :func:`decode` reports the measured block
efficiency with a confidence interval and the empirical next-token frequencies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.keywords import DRAFTS, keyword_aliases
from ..registry import DEFAULT_BLOCK_SCHEME, SCHEME_SPECS
from .blocks import _positive_int, _start_sampler, mean_interval
from .models import NextTokenModels, as_models

__all__ = ["MAX_TRANSITION_VOCABULARY", "DecodeResult", "decode"]

#: Largest vocabulary for which :attr:`DecodeResult.transitions` (an ``(n, n)`` count matrix) is kept.
MAX_TRANSITION_VOCABULARY = 4096


@dataclass
class DecodeResult:
    """What a decoding run produced and measured.

    Attributes
    ----------
    tokens : numpy.ndarray
        Every emitted token, block after block (starting contexts not included).
    block_tokens : numpy.ndarray, shape (blocks,)
        Tokens emitted by each block (``N + 1``).
    value, low, high, stderr : float
        Measured block efficiency (mean of ``block_tokens``) and its normal interval at ``confidence``.
    accepted_length : numpy.ndarray, shape (L + 1,)
        Counts of blocks with ``N = 0..L``.
    transitions : numpy.ndarray, shape (n, n), or None
        ``[c, y]`` = how often token ``y`` was emitted right after token ``c`` (the empirical bigram counts;
        for a Markov pair each row should follow the target's row); None when ``n`` exceeds
        :data:`MAX_TRANSITION_VOCABULARY`.
    token_counts : numpy.ndarray, shape (n,)
        How often each token was emitted.
    """

    tokens: np.ndarray
    block_tokens: np.ndarray
    value: float
    low: float
    high: float
    stderr: float
    confidence: float
    accepted_length: np.ndarray
    transitions: np.ndarray
    token_counts: np.ndarray

    @property
    def blocks(self) -> int:
        return int(self.block_tokens.size)

    def empirical_rows(self) -> np.ndarray:
        """``transitions`` with each non-empty row normalised: the measured next-token law per context."""
        if self.transitions is None:
            raise ValueError("this run kept no transition counts (vocabulary above MAX_TRANSITION_VOCABULARY).")
        t = self.transitions.astype(np.float64)
        s = t.sum(axis=1, keepdims=True)
        return np.divide(t, s, out=np.zeros_like(t), where=s > 0)

    def as_dict(self) -> dict:
        return {"blocks": self.blocks, "block_efficiency": self.value, "low": self.low, "high": self.high,
                "stderr": self.stderr, "confidence": self.confidence,
                "accepted_length": self.accepted_length.tolist(), "tokens": int(self.tokens.size)}


def _optimal_sampler(q, p, j: int):
    """The optimal scheme's sampler for :func:`decode` (the registry's ``sampler`` pointer of the optimum): the
    rank-space verifier ``lpspec.optimal_verifier`` of ``(q, p, j)``, adapted to one tuple per call."""
    from ..verifier.rank import optimal_verifier

    return _RankSpaceVerifier(optimal_verifier(target=q, drafts=p, k=j))


class _RankSpaceVerifier:
    """Adapter: ``sample(x, rng)`` of one tuple for ``lpspec.optimal_verifier`` (which samples batches)."""

    def __init__(self, verifier):
        self.verifier = verifier

    def sample(self, x, rng):
        out, _ = self.verifier.sample(np.asarray([x], dtype=np.int64), rng)
        return int(out[0])


def _is_hf_model(obj) -> bool:
    return hasattr(obj, "config") and hasattr(obj, "forward") and not isinstance(obj, NextTokenModels)


def _draw(law: np.ndarray, rng: np.random.Generator) -> int:
    cdf = np.cumsum(law)
    return min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), law.size - 1)


@keyword_aliases(deprecated=DRAFTS)
def decode(*, target, drafts=None, start=None, k: int, length: int, scheme: str = DEFAULT_BLOCK_SCHEME,
           blocks: int = 1000, seed=0, restart: bool = False, confidence: float = 0.99,
           temperature: float = 1.0, max_context: int | None = None, order: int | None = None,
           **scheme_kw) -> DecodeResult:
    """Run multi-draft speculative decoding for ``blocks`` blocks and measure it.

    Parameters
    ----------
    target, drafts
        Two row-stochastic ``(n, n)`` matrices (a bigram pair; or a :class:`~lpspec.sequence.markov.MarkovPair` as
        ``target``), two callables ``context tuple -> (n,) probabilities`` (or one ``context -> (q, p)`` as
        ``target``), or two local Hugging Face causal
        LMs sharing a tokenizer (``hf`` extra; softmax at ``temperature`` of the first ``vocab_size`` logits
        of the target, ``max_context`` last tokens).
    start : (n,) law of the first token, or a list of context tuples (a prompt is ``[prompt_ids]``).
        Optional for Markov pairs (their start law).
    k, length : int
        ``K`` draft sequences of ``L`` tokens per block.
    scheme : str or callable
        Any name of :data:`lpspec.SCHEMES` that applies to ``j`` identical independent drafts (``specinfer``,
        ``spectr``, ``single_draft``, ``sir``, ...; extra keywords go to the scheme), or a factory
        ``(q, p, j) -> verifier`` whose result has ``sample(x, rng)``. ``optimal`` is the rank-space verifier
        ``lpspec.optimal_verifier`` (the plan :func:`lpspec.block_efficiency` scores as ``optimal``) where this
        installation has it, else the LP plan of :class:`lpspec.OptimalScheme` (small ``n``): optimal plans share
        ``P*`` but not ``τ``.
    blocks : int
        Number of blocks (target calls).
    seed : int or numpy.random.Generator
    restart : bool
        False (default): real decoding, each block continues the text generated so far (for a bigram pair the
        mean is then :func:`lpspec.sequence.blocks.long_run_block_efficiency`). True: each block starts afresh from ``start``
        (independent blocks, whose mean is :func:`lpspec.block_efficiency` with the same ``start``).
    confidence : float
        Level of the normal interval of the measured block efficiency.
    order : int, optional
        Callables only: their laws depend on the last ``order`` tokens (laws and schemes are then cached).

    Returns
    -------
    DecodeResult

    Notes
    -----
    Cost per block: ``K L`` draft-model evaluations, at most ``L + 1`` target evaluations, and one scheme
    construction per (context, survivors) — cached for Markov pairs.

    Examples
    --------
    >>> q = [[0.5, 0.5], [0.2, 0.8]]; p = [[0.6, 0.4], [0.5, 0.5]]
    >>> r = decode(target=q, drafts=p, k=2, length=3, blocks=200, seed=0)
    >>> r.blocks, int(r.block_tokens.sum()) == r.tokens.size, 1 <= r.value <= 4
    (200, True, True)
    """
    draft = drafts  # drafts= is the one spelling across the API (lpspec.core.keywords)
    from ..schemes import make_scheme

    k = _positive_int(k, "k")
    length = _positive_int(length, "length")
    blocks = _positive_int(blocks, "blocks")
    if _is_hf_model(target) or _is_hf_model(draft):
        models = NextTokenModels.from_hf(target, draft, temperature=temperature, max_context=max_context)
    else:
        models = as_models(target, draft, order=order)
    rng = np.random.default_rng(seed)
    draw_start = _start_sampler(start, models, rng)
    schemes: dict = {}

    def verifier(ctx, j):
        key = (models.key(ctx), j)
        s = schemes.get(key)
        if s is None:
            q, p = models.laws(ctx)
            if callable(scheme):
                s = scheme(q, p, j)
            elif not scheme_kw and scheme in SCHEME_SPECS and SCHEME_SPECS[scheme].has("sampler"):
                s = SCHEME_SPECS[scheme].load("sampler")(q, p, j)
            else:
                s = make_scheme(scheme, target=q, drafts=p, k=j, **scheme_kw)
            if models.markov or models.order:
                schemes[key] = s
        return s

    emitted: list[int] = []
    block_tokens = np.empty(blocks, dtype=np.int64)
    counts = np.zeros(length + 1, dtype=np.int64)
    pairs: list[tuple[int, int]] = []
    ctx = draw_start()
    for b in range(blocks):
        if restart and b > 0:
            ctx = draw_start()
        # 1. K independent draft sequences of L tokens
        drafts = np.empty((k, length), dtype=np.int64)
        for i in range(k):
            dctx = ctx
            for d in range(length):
                tok = _draw(models.laws(dctx)[1], rng)
                drafts[i, d] = tok
                dctx = dctx + (tok,)
        # 2-4. verification depth by depth
        survivors = np.arange(k)
        out: list[int] = []
        for d in range(length):
            cur = ctx + tuple(out)
            x = tuple(int(t) for t in drafts[survivors, d])
            y = int(verifier(cur, len(survivors)).sample(x, rng))
            out.append(y)
            survivors = survivors[drafts[survivors, d] == y]
            if survivors.size == 0:
                break
        accepted = len(out) if survivors.size else len(out) - 1
        if accepted == length:
            out.append(_draw(models.laws(ctx + tuple(out))[0], rng))
        prev = ctx[-1]
        for y in out:
            pairs.append((prev, y))
            prev = y
        emitted.extend(out)
        block_tokens[b] = len(out)
        counts[accepted] += 1
        ctx = ctx + tuple(out)
        keep = 1 if models.markov else (models.order or max_context)
        if keep:  # what the models can still see (the full text is in `emitted`)
            ctx = ctx[-keep:]
    n = models.n
    pa = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    transitions = None
    if n <= MAX_TRANSITION_VOCABULARY:
        transitions = np.zeros((n, n), dtype=np.int64)
        np.add.at(transitions, (pa[:, 0], pa[:, 1]), 1)
    tokens = np.asarray(emitted, dtype=np.int64)
    mean, low, high, se = mean_interval(block_tokens, confidence) if blocks > 1 else (
        float(block_tokens[0]), float("nan"), float("nan"), float("nan"))
    return DecodeResult(tokens, block_tokens, mean, low, high, se, confidence, counts, transitions,
                        np.bincount(tokens, minlength=n))
