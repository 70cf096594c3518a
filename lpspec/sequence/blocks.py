"""Block efficiency: expected tokens per target call of multi-draft speculative decoding (docs/theory.md §11).

``K`` i.i.d. draft sequences of length ``L`` are verified depth by depth; at a depth with context ``c`` and
``j`` surviving drafts the token-level scheme for ``j`` drafts outputs ``y``; if ``y`` is accepted (it is
one of the survivors' tokens: membership) the ``m`` drafts that show it survive, otherwise the (residual)
token ends the block; after ``L`` accepted tokens the target adds a bonus token. With ``a_{c,j}(y, m)`` from
:func:`lpspec.sequence.multiplicity.multiplicity_table`,

.. math::

    V_L(c, j) = 1, \\qquad V_d(c, j) = 1 + \\sum_y \\sum_{m=1}^{j} a_{c,j}(y, m)\\, V_{d+1}(c y, m),
    \\qquad \\tau = \\mathbb{E}_{c_0}[V_0(c_0, K)].

:func:`block_efficiency` evaluates ``τ`` exactly for a bigram pair by the equivalent *forward* recursion on
the law ``μ_d(c, j)`` of (context, survivors) after ``d`` accepted tokens,
``μ_d(y, m) = Σ_{c, j} μ_{d-1}(c, j) a_{c,j}(y, m)``, ``Pr[N >= d] = Σ μ_d`` and
``τ = 1 + Σ_{d=1..L} Pr[N >= d]`` — which also gives the law of the number ``N`` of accepted tokens.
:func:`block_efficiency_mc` estimates ``τ`` by Monte Carlo over blocks for any models (callables), with a
confidence interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.keywords import DRAFTS, keyword_aliases
from ..registry import BLOCK_TABLE_SCHEMES, DEFAULT_BLOCK_SCHEME, SCHEME_SPECS
from .markov import as_markov_pair
from .models import as_models
from .multiplicity import multiplicity_table

__all__ = ["MAX_KERNEL_ENTRIES", "MAX_TABLE_ENTRIES", "BlockEfficiency", "MonteCarloBlockEfficiency", "block_efficiency",
           "block_efficiency_mc", "block_efficiency_table", "block_start_kernel", "long_run_block_efficiency"]

#: Largest ``n^2 K (K + 1) / 2`` (entries of all the tables kept at once) for :func:`block_start_kernel`.
MAX_KERNEL_ENTRIES = 40_000_000
#: Largest ``n^2 K`` of the exact recursion: one ``a_{c,j}(y, m)`` table of ``n x n x j`` float64 at a time
#: (2e8 entries = 1.6 GB); above it, a ValueError before any work (Monte Carlo scales: block_efficiency_mc).
MAX_TABLE_ENTRIES = 200_000_000


def _one_draft(scheme: str) -> bool:
    """The scheme uses the first draft only (evaluated at ``K = 1``), from its registry entry."""
    spec = SCHEME_SPECS.get(scheme)
    return spec is not None and spec.one_draft


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer.")
    return int(value)


@dataclass
class BlockEfficiency:
    """Exact block efficiency of one scheme on a bigram pair.

    Attributes
    ----------
    value : float
        ``τ = E[tokens per target call] = 1 + E[N]``, ``N`` the number of accepted draft tokens.
    scheme : str
    k, length : int
        ``K`` drafts of ``L`` tokens.
    accepted_length : numpy.ndarray, shape (L + 1,)
        ``Pr[N = d]``, ``d = 0..L``.
    depth_acceptance : numpy.ndarray, shape (L,)
        ``Pr[N >= d | N >= d - 1]``, ``d = 1..L``: the acceptance at depth ``d`` given that it is reached.
    token_acceptance : float
        Token-level acceptance with ``K`` drafts averaged over the starting context law,
        ``Σ_c start(c) Σ_{y,m} a_{c,K}(y, m)`` (so ``τ = 1 + token_acceptance`` when ``L = 1``).
    visited_acceptance : float
        Token-level acceptance averaged over every verification step of a block (the contexts and survivor
        counts actually visited): ``E[N] / E[number of verification steps]``.
    survivors : numpy.ndarray, shape (L + 1, K)
        ``Pr[N >= d and j drafts survive]`` at ``[d, j - 1]``.
    start : numpy.ndarray, shape (n,)
        The law of the starting context used.
    """

    value: float
    scheme: str
    k: int
    length: int
    accepted_length: np.ndarray
    depth_acceptance: np.ndarray
    token_acceptance: float
    visited_acceptance: float
    survivors: np.ndarray = field(repr=False)
    start: np.ndarray | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """Plain-Python form (for JSON)."""
        return {"scheme": self.scheme, "k": self.k, "length": self.length, "block_efficiency": self.value,
                "token_acceptance": self.token_acceptance, "visited_acceptance": self.visited_acceptance,
                "accepted_length": self.accepted_length.tolist(), "depth_acceptance": self.depth_acceptance.tolist()}


def _forward(pair, scheme: str, ks: list[int], length: int, bar=None):
    """``μ`` of shape (len(ks), L + 1, n, Kmax) and ``α_{c,K}`` for each K, processing ``j`` from Kmax down.

    Each table ``a_{·,j}`` (shape (n, n, j)) is built once: contributions to ``μ_d(·, m)`` come only from
    ``j >= m``, so when ``j`` is reached every ``μ_{d-1}(·, j)`` is complete except its own ``j -> j`` terms,
    which the inner loop over ``d`` adds in order.
    """
    n, kmax = pair.n, max(ks)
    if n * n * kmax > MAX_TABLE_ENTRIES:
        raise ValueError(
            f"the exact recursion at n = {n}, K = {kmax} builds n^2 K = {n * n * kmax:,} table entries "
            f"(about {n * n * kmax * 8 / 2**30:.1f} GiB, above MAX_TABLE_ENTRIES = {MAX_TABLE_ENTRIES:,}); use a "
            "smaller vocabulary or K, or estimate τ by Monte Carlo (lpspec.block_efficiency_mc).")
    mu = np.zeros((len(ks), length + 1, n, kmax))
    for i, k in enumerate(ks):
        mu[i, 0, :, k - 1] = pair.start
    alpha = {}
    for j in range(kmax, 0, -1):
        a = multiplicity_table(scheme, target=pair.target, drafts=pair.draft, j=j)
        if j in ks:
            alpha[j] = a.sum(axis=(1, 2))
        flat = a.reshape(n, n * j)
        for d in range(1, length + 1):
            mu[:, d, :, :j] += (mu[:, d - 1, :, j - 1] @ flat).reshape(len(ks), n, j)
        steps = mu[:, :length, :, j - 1]  # (len(ks), L, n): mass verified with j survivors at depth d+1
        alpha[("visited", j)] = (steps * a.sum(axis=(1, 2))).sum(axis=(1, 2))
        if bar is not None:
            bar.update(1)
    return mu, alpha


def _result(mu_k, alpha_k, start, scheme, k, length, visited_accept):
    reach = mu_k.sum(axis=(1, 2))  # Pr[N >= d], d = 0..L
    reach[0] = 1.0
    reach = np.minimum.accumulate(np.clip(reach, 0.0, 1.0))
    dist = reach - np.append(reach[1:], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(reach[:-1] > 0, reach[1:] / np.where(reach[:-1] > 0, reach[:-1], 1.0), 0.0)
    steps = reach[:-1].sum()
    return BlockEfficiency(
        value=float(1.0 + reach[1:].sum()), scheme=scheme, k=k, length=length, accepted_length=dist,
        depth_acceptance=depth, token_acceptance=float(start @ alpha_k),
        visited_acceptance=float(visited_accept / steps), survivors=mu_k.sum(axis=1)[:, :k], start=start,
    )


@keyword_aliases(deprecated=DRAFTS)
def block_efficiency(*, target, drafts=None, start=None, k: int, length: int,
                     scheme: str = DEFAULT_BLOCK_SCHEME) -> BlockEfficiency:
    """Exact block efficiency ``τ`` of ``K`` i.i.d. draft sequences of length ``L`` on a bigram pair.

    Parameters
    ----------
    target, drafts : (n, n) array_like or path to ``.npy``
        Row-stochastic next-token matrices ``q(y | c)`` and ``p(y | c)`` (row = previous token); or a
        :class:`~lpspec.sequence.markov.MarkovPair` as ``target`` (and no ``draft``).
    start : (n,) array_like, optional
        Law of the context token a block starts from (default: the target chain's stationary law).
    k, length : int
        ``K >= 1`` drafts of ``L >= 1`` tokens.
    scheme : str
        ``"single_draft"``, ``"specinfer"``, ``"spectr"`` or ``"optimal"`` (the rank-space verifier of
        docs/theory.md §9 with its own placement order, from ``lpspec.optimal_verifier``; ``P*`` alone does
        not determine ``τ``), or another built-in scheme evaluated by enumerating ``n^j`` tuples (tiny ``n``);
        or a sequence-level verifier of :mod:`lpspec.sequence.block_schemes`: ``"block_verification"``
        (``k = 1``), ``"stepwise_optimal"``, ``"traversal"`` (exact, from their continuation tables).

    Returns
    -------
    BlockEfficiency
        ``.value`` is ``τ``; also the law of the accepted length, per-depth and token-level acceptance.

    Notes
    -----
    Forward recursion of the module docstring (docs/theory.md §11). Cost: one ``a(y, m)`` table per
    ``j = 1..K`` over all ``n`` contexts (``O(n^2 j^2)`` each for the closed forms; ``n`` calls of the
    verifier for ``optimal``), then ``L`` products of ``(n,) x (n, n j)`` per ``j``: ``O(L n^2 K^2)`` in all;
    memory ``O(n^2 K)``.

    Examples
    --------
    >>> q = [[0.5, 0.5], [0.5, 0.5]]; p = [[0.9, 0.1], [0.9, 0.1]]
    >>> r = block_efficiency(target=q, drafts=p, k=1, length=2, scheme="single_draft")
    >>> round(r.value, 12), r.accepted_length.round(4).tolist()   # 1 + 0.6 + 0.36
    (1.96, [0.4, 0.24, 0.36])
    """
    draft = drafts  # drafts= is the one spelling across the API (lpspec.core.keywords)
    k = _positive_int(k, "k")
    length = _positive_int(length, "length")
    spec = SCHEME_SPECS.get(scheme)
    if spec is None or spec.kind == "bound":  # name the sequence-level verifiers too, not only the token schemes
        names = [name for name, s in SCHEME_SPECS.items() if s.kind != "bound"]
        raise ValueError(f"scheme={scheme!r} is not a built-in scheme of block_efficiency; choose one of {', '.join(names)}.")
    if spec.level == "sequence":  # block verifiers evaluated on whole draft trees
        from .block_schemes import sequence_block_efficiency

        return BlockEfficiency(**sequence_block_efficiency(scheme, target=target, drafts=draft, start=start, k=k,
                                                           length=length))
    pair = as_markov_pair(target, draft, start)
    mu, alpha = _forward(pair, scheme, [k], length)
    return _result(mu[0], alpha[k], pair.start, scheme, k, length, _visited(alpha, 0, k))


def _visited(alpha, i, kmax):
    return float(sum(alpha[("visited", j)][i] for j in range(1, kmax + 1)))


@keyword_aliases(deprecated=DRAFTS)
def block_efficiency_table(*, target, drafts=None, start=None, ks=(1, 2, 4, 8), lengths=(1, 2, 3, 4, 5),
                           schemes=BLOCK_TABLE_SCHEMES, progress_bar: bool | None = None):
    """Token acceptance and block efficiency for every scheme, ``K`` and ``L``: a :class:`~lpspec.io.export.Table`.

    One forward recursion per scheme serves every ``K`` and ``L`` (the tables ``a_{·,j}`` do not depend on
    them). Columns ``scheme, k, length, token_acceptance, block_efficiency``. ``progress_bar``: a bar on stderr
    over the multiplicity tables built (one per scheme and ``j <= max K``; see :mod:`lpspec.core.progress`).

    Examples
    --------
    >>> t = block_efficiency_table(target=[[0.5, 0.5], [0.5, 0.5]], drafts=[[0.9, 0.1], [0.9, 0.1]], ks=(1,),
    ...                            lengths=(1, 2), schemes=("single_draft",))
    >>> [round(v, 6) for v in t.column("block_efficiency")]
    [1.6, 1.96]
    """
    draft = drafts  # drafts= is the one spelling across the API (lpspec.core.keywords)
    from ..io.export import Table

    pair = as_markov_pair(target, draft, start)
    if isinstance(schemes, str):
        raise ValueError(f"schemes={schemes!r} must be a list of scheme names, e.g. schemes=[{schemes!r}].")
    for name, values in (("ks", ks), ("lengths", lengths), ("schemes", schemes)):
        if len(values) == 0:
            raise ValueError(f"{name} is empty; give at least one value (e.g. the defaults of "
                             "block_efficiency_table).")
    ks = sorted({_positive_int(k, "ks") for k in ks})
    lengths = sorted({_positive_int(v, "lengths") for v in lengths})
    from ..core.progress import progress_bar as open_bar

    rows = []
    bar = open_bar(total=sum(1 if _one_draft(s) else max(ks) for s in schemes), desc="blocks",
                   enabled=progress_bar, unit="table")
    for scheme in schemes:
        use = [1] if _one_draft(scheme) else ks
        bar.set_description(f"blocks {scheme}")
        mu, alpha = _forward(pair, scheme, use, max(lengths), bar=bar)
        for i, k in enumerate(use):
            for L in lengths:
                res = _result(mu[i][: L + 1], alpha[k], pair.start, scheme, k, L, np.nan)  # visited unused
                rows.append({"scheme": scheme, "k": k, "length": L, "token_acceptance": res.token_acceptance,
                             "block_efficiency": res.value})
    bar.close()
    meta = {"pair": pair.name, "n": pair.n, "note": "single_draft is the K = 1 baseline"}
    return Table(["scheme", "k", "length", "token_acceptance", "block_efficiency"], rows, metadata=meta)


# ------------------------------------------------------------------------------------------ continuous decoding
@keyword_aliases(deprecated=DRAFTS)
def block_start_kernel(*, target, drafts=None, k: int, length: int, scheme: str = DEFAULT_BLOCK_SCHEME,
                       chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The chain of block-start contexts of continuous decoding, and tokens per block from each context.

    When decoding one long text, each block starts from the last token the previous block emitted. From start
    context ``s``, the forward recursion gives ``μ^s_d(c, j)``; the block ends at depth ``d < L`` with the
    rejected output ``z`` with probability ``Σ_{c,j} μ^s_d(c, j) (q_c(z) - Σ_m a_{c,j}(z, m))`` (the output law
    is ``q_c``), or after ``L`` accepted tokens with the bonus ``z ~ q_c``. So

    .. math::

        M(s, z) = \\sum_{d<L} \\sum_{c,j} \\mu^s_d(c, j)\\Big(q_c(z) - \\sum_m a_{c,j}(z, m)\\Big)
        + \\sum_{c,j} \\mu^s_L(c, j)\\, q_c(z), \\qquad \\tau(s) = 1 + \\sum_{d=1}^{L} \\sum_{c,j} \\mu^s_d(c, j).

    Returns
    -------
    kernel : numpy.ndarray, shape (n, n)
        Row-stochastic ``M``.
    tokens : numpy.ndarray, shape (n,)
        ``τ(s)``, expected tokens of a block started at ``s``.

    Notes
    -----
    Cost: the ``K`` tables once (kept in memory: ``n^2 K (K + 1)/2`` floats, refused beyond
    :data:`MAX_KERNEL_ENTRIES`), then the forward recursion for all ``n`` start contexts, ``O(L n^3 K^2)``.

    Examples
    --------
    >>> M, tau = block_start_kernel(target=[[0.5, 0.5], [0.5, 0.5]], drafts=[[0.9, 0.1], [0.9, 0.1]], k=1,
    ...                             length=2)
    >>> M.sum(axis=1).round(12).tolist(), tau.round(12).tolist()
    ([1.0, 1.0], [1.96, 1.96])
    """
    draft = drafts  # drafts= is the one spelling across the API (lpspec.core.keywords)
    k = _positive_int(k, "k")
    length = _positive_int(length, "length")
    chunk = _positive_int(chunk, "chunk")
    pair = as_markov_pair(target, draft, None)
    n = pair.n
    if n * n * k * (k + 1) // 2 > MAX_KERNEL_ENTRIES:
        raise ValueError(f"the block-start kernel keeps n^2 K(K+1)/2 = {n * n * k * (k + 1) // 2} table entries, "
                         f"above {MAX_KERNEL_ENTRIES}; use a smaller vocabulary or K, or measure with "
                         "lpspec.decode / block_efficiency_mc.")
    tables = {j: multiplicity_table(scheme, target=pair.target, drafts=pair.draft, j=j) for j in range(1, k + 1)}
    rejected = {j: np.maximum(pair.target - a.sum(axis=2), 0.0) for j, a in tables.items()}
    kernel = np.zeros((n, n))
    tokens = np.ones(n)
    for lo in range(0, n, chunk):
        idx = np.arange(lo, min(n, lo + chunk))
        mu = np.zeros((idx.size, length + 1, n, k))
        mu[np.arange(idx.size), 0, idx, k - 1] = 1.0
        for j in range(k, 0, -1):
            flat = tables[j].reshape(n, n * j)
            for d in range(1, length + 1):
                mu[:, d, :, :j] += (mu[:, d - 1, :, j - 1] @ flat).reshape(idx.size, n, j)
            kernel[idx] += mu[:, :length, :, j - 1].sum(axis=1) @ rejected[j]
        kernel[idx] += mu[:, length].sum(axis=2) @ pair.target
        tokens[idx] += mu[:, 1:].sum(axis=(1, 2, 3))
    kernel /= kernel.sum(axis=1, keepdims=True)
    return kernel, tokens


@keyword_aliases(deprecated=DRAFTS)
def long_run_block_efficiency(*, target, drafts=None, k: int, length: int,
                              scheme: str = DEFAULT_BLOCK_SCHEME) -> BlockEfficiency:
    """Block efficiency of continuous decoding: tokens per target call over one long generated text.

    The block-start contexts form the Markov chain :func:`block_start_kernel`; by the renewal-reward theorem the
    long-run tokens per target call is ``Σ_s π(s) τ(s)`` with ``π`` its stationary law. The result is
    :func:`block_efficiency` with ``start = π`` (``.start`` holds ``π``); its ``.value`` is what
    :func:`lpspec.decode` measures without ``restart``. Cost: :func:`block_start_kernel`.

    Examples
    --------
    >>> q = [[0.9, 0.1], [0.1, 0.9]]; p = [[0.5, 0.5], [0.5, 0.5]]
    >>> r = long_run_block_efficiency(target=q, drafts=p, k=2, length=2)
    >>> r.start.round(6).tolist()
    [0.5, 0.5]
    """
    draft = drafts  # drafts= is the one spelling across the API (lpspec.core.keywords)
    from .markov import stationary_law

    kernel, tokens = block_start_kernel(target=target, drafts=draft, k=k, length=length, scheme=scheme)
    pi = stationary_law(kernel)
    result = block_efficiency(target=target, drafts=draft, start=pi, k=k, length=length, scheme=scheme)
    if abs(result.value - float(pi @ tokens)) > 1e-9:  # two evaluations of the same sum
        raise ValueError(f"internal check failed: {result.value!r} != {float(pi @ tokens)!r}")  # pragma: no cover
    return result


# ------------------------------------------------------------------------------------------ Monte Carlo
@dataclass
class MonteCarloBlockEfficiency:
    """Monte Carlo estimate of the block efficiency.

    Attributes
    ----------
    value, low, high, stderr : float
        Mean tokens per target call, its ``confidence`` normal-approximation interval and standard error.
    blocks : int
    accepted_length : numpy.ndarray, shape (L + 1,)
        Counts of blocks with ``N = 0..L`` accepted tokens.
    """

    value: float
    low: float
    high: float
    stderr: float
    blocks: int
    confidence: float
    accepted_length: np.ndarray

    def as_dict(self) -> dict:
        return {"block_efficiency": self.value, "low": self.low, "high": self.high, "stderr": self.stderr,
                "blocks": self.blocks, "confidence": self.confidence,
                "accepted_length": self.accepted_length.tolist()}


def mean_interval(samples, confidence: float = 0.99):
    """``(mean, low, high, stderr)`` of a sample: the normal (CLT) interval at ``confidence``.

    Examples
    --------
    >>> [round(v, 4) for v in mean_interval([1, 2, 3, 4], 0.95)]
    [2.5, 1.2348, 3.7652, 0.6455]
    """
    from scipy.stats import norm

    x = np.asarray(samples, dtype=np.float64)
    if x.size < 2:
        raise ValueError("a confidence interval needs at least two blocks.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} must lie in (0, 1).")
    se = float(x.std(ddof=1) / np.sqrt(x.size))
    z = float(norm.ppf(0.5 + confidence / 2))
    mean = float(x.mean())
    return mean, mean - z * se, mean + z * se, se


def _start_sampler(start, models, rng):
    """A function drawing the starting context tuple of a block."""
    if start is None:
        if models.markov:
            start = models.pair.start
        else:
            raise ValueError("start: give the law of the first token (an (n,) vector) or a list of context "
                             "tuples to start blocks from.")
    if isinstance(start, (list, tuple)) and start and isinstance(start[0], (list, tuple)):
        contexts = [tuple(int(t) for t in c) for c in start]
        if any(len(c) == 0 for c in contexts):
            raise ValueError("start: every starting context must hold at least one token.")
        n = getattr(models, "n", None)  # known for matrices and Hugging Face models; callables say it later
        bad = [t for c in contexts for t in c if n is not None and not 0 <= t < n]
        if bad:  # else an IndexError inside a model's embedding
            raise ValueError(f"start: token {bad[0]} is outside the vocabulary 0..{n - 1}.")
        return lambda: contexts[int(rng.integers(len(contexts)))]
    law = np.asarray(start, dtype=np.float64)
    if law.ndim != 1 or not np.all(law >= 0) or abs(law.sum() - 1.0) > 1e-9:
        raise ValueError("start must be a probability vector over the first token, or a list of context tuples.")
    law = law / law.sum()
    return lambda: (int(rng.choice(law.size, p=law)),)


@keyword_aliases(deprecated=DRAFTS)
def block_efficiency_mc(*, target, drafts=None, start=None, k: int, length: int, scheme: str = DEFAULT_BLOCK_SCHEME,
                        blocks: int = 10_000, seed=0, confidence: float = 0.99,
                        order: int | None = None) -> MonteCarloBlockEfficiency:
    """Monte Carlo block efficiency for any models, with a confidence interval (docs/theory.md §11).

    Each block starts from a context drawn from ``start``; at each depth, with context ``c`` and ``j``
    survivors, the pair ``(y, m)`` is drawn from ``a_{c,j}(y, m)`` (:func:`lpspec.sequence.multiplicity.multiplicity_table`
    of the models' laws at ``c``) or the block ends with probability ``1 - Σ a``; ``y`` is appended to the
    context. Tables are cached per (context, ``j``).

    Parameters
    ----------
    target, drafts : (n, n) matrices, callables ``context tuple -> (n,) probabilities``, one callable
        ``context tuple -> (q, p)`` as ``target`` (``drafts=None``), or a
        :class:`~lpspec.sequence.models.NextTokenModels` / :class:`~lpspec.sequence.markov.MarkovPair` as ``target``.
    start : (n,) law of the first token, or a list of context tuples (drawn uniformly); optional for Markov
        pairs (their start law).
    k, length, scheme
        As in :func:`block_efficiency`.
    blocks : int
        Number of simulated blocks.
    seed : int or numpy.random.Generator
    confidence : float
        Level of the normal interval (default 0.99).
    order : int, optional
        Callables only: their laws depend on the last ``order`` tokens (tables are then shared between
        contexts with the same suffix).

    Returns
    -------
    MonteCarloBlockEfficiency

    Notes
    -----
    Cost: ``blocks · (L + 1)`` draws plus one table per distinct (context, ``j``) visited.

    Examples
    --------
    >>> q = [[0.5, 0.5], [0.5, 0.5]]; p = [[0.9, 0.1], [0.9, 0.1]]
    >>> r = block_efficiency_mc(target=q, drafts=p, k=1, length=2, scheme="single_draft", blocks=4000, seed=1)
    >>> r.low < 1.96 < r.high
    True
    """
    draft = drafts  # drafts= is the one spelling across the API (lpspec.core.keywords)
    k = _positive_int(k, "k")
    length = _positive_int(length, "length")
    blocks = _positive_int(blocks, "blocks")
    models = as_models(target, draft, order=order)
    rng = np.random.default_rng(seed)
    draw_start = _start_sampler(start, models, rng)
    tables: dict = {}
    tokens = np.empty(blocks)
    counts = np.zeros(length + 1, dtype=np.int64)
    for b in range(blocks):
        ctx = draw_start()
        j, accepted = k, 0
        while accepted < length:
            key = (models.key(ctx), j)
            cdf = tables.get(key)
            if cdf is None:
                q, p = models.laws(ctx)
                cdf = np.cumsum(multiplicity_table(scheme, target=q, drafts=p, j=j).ravel())
                tables[key] = cdf
            u = rng.random()
            if u >= cdf[-1]:
                break
            idx = min(int(np.searchsorted(cdf, u, side="right")), cdf.size - 1)
            y, m = divmod(idx, j)
            ctx = ctx + (y,)
            j = m + 1
            accepted += 1
        tokens[b] = accepted + 1
        counts[accepted] += 1
    mean, low, high, se = mean_interval(tokens, confidence)
    return MonteCarloBlockEfficiency(mean, low, high, se, blocks, confidence, counts)
