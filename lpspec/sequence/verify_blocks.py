"""Check that a user's *block* verifier is lossless, and how far its block efficiency is from the ceiling τ*.

A block verifier sees ``K`` draft paths of length ``L`` (drawn i.i.d. from the draft chain) and outputs a
*block*: an accepted prefix ``u`` of one of the paths followed by one more token (``1 <= |block| <= L + 1``).
Generation stays on the target's law iff the block law ``μ`` satisfies Lemma 2 of docs/theory.md §14: with
``c(u) = Pr(block strictly extends u)``, for every node ``u`` (``|u| <= L``) and token ``a``

    μ(ua) + c(ua) = q(a | u) · c(u)          (the mass that reaches ``ua`` is ``q(a | u)`` times the mass past ``u``),

equivalently "the block followed by an independent target continuation is a target path". Its block efficiency
is ``τ = E|block| = 1 + Σ_{u ≠ ∅} c(u)``.

:func:`verify_block_scheme` has two modes.

* **enumerate** (a verifier written as its law, ``paths -> {block: probability}``): every tuple of draft paths
  is enumerated, ``μ = Σ_X P(X) π(· | X)`` is built and Lemma 2 is checked node by node — exactly (tolerance
  0) when the chains and the returned probabilities are Fractions, within a stated tolerance for floats.
  The largest residual ``|μ(ua) + c(ua) - q(a | u) c(u)|`` is ``max_error``; the shallowest failing node is
  reported. :meth:`~lpspec.sequence.tree.BlockTree.check_lossless` is also run on ``c``.
* **sample** (a verifier written as a sampler, ``(paths, rng) -> block``, or any verifier on a tree too large
  to enumerate): Monte Carlo over start tokens and drafted paths; each output block is extended by a target
  continuation to the horizon ``L + 1`` and a G-test compares these strings with the target's path law
  (cells of expected count below 5 pooled). A small p-value flags the verifier lossy *at level α*; a string
  the target cannot produce proves it. The test's **power** against a stated alternative (an effect size
  ``w``, Cohen's ``w = sqrt(Σ (r - e)^2 / e)``, or an alternative block law) is reported by the noncentral
  χ² approximation, with the smallest ``w`` detected with probability 0.8.

A verifier whose code raises, returns negative or non-summing laws, or outputs blocks that are not "a prefix of
one of its paths plus one token" is reported as such in :attr:`BlockVerificationReport.error`.

Verifiers that need the context the block starts from may take a keyword argument ``start`` (the start token);
it is passed whenever the callable accepts it (and is required when ``start`` is a law over several tokens).
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..core.keywords import DRAFTS, keyword_aliases
from .chains import markov_chains
from .tree import block_tree, bounded_power, c_from_block_law, tree_size

__all__ = ["BLOCK_VERIFY_TOLERANCE", "MAX_BLOCK_TUPLES", "MAX_HORIZON_CELLS", "MAX_SAMPLED_TOKENS",
           "BlockVerificationReport", "hf_speculative_sampler", "verify_block_scheme"]

#: Largest residual ``|μ(ua) + c(ua) - q(a|u) c(u)|`` accepted as lossless for float verifiers.
BLOCK_VERIFY_TOLERANCE = 1e-9
#: Default largest number of draft-path tuples enumerated (beyond it: ``mode="sample"``).
MAX_BLOCK_TUPLES = 200_000
#: Largest number of goodness-of-fit cells ``(start tokens) × n^(L+1)`` of the sampling mode.
MAX_HORIZON_CELLS = 2_000_000
#: Largest number of draft tokens ``samples * K * L`` the default draft sampler of mode='sample' draws.
MAX_SAMPLED_TOKENS = 100_000_000
_MIN_EXPECTED = 5.0


class _SchemeFailure(Exception):
    """The verifier under test raised, or returned something that is not a law of valid blocks."""


@dataclass
class BlockVerificationReport:
    """Outcome of :func:`verify_block_scheme`; ``print(report)`` gives a summary.

    Attributes
    ----------
    mode : str
        ``"enumerate"`` or ``"sample"``.
    lossless : bool or None
        Enumeration: Lemma 2 holds (exactly, or within ``tolerance``). Sampling: False when a sampled string is
        impossible under the target or the G-test rejects at level ``alpha``; None otherwise (not refuted).
    max_error : float or Fraction or None
        ``max |μ(ua) + c(ua) - q(a | u) c(u)|`` over nodes and tokens (enumeration).
    failing_prefix, failing_token, failing_start
        The shallowest (then lexicographically first) node ``u``, token ``a`` and start token where Lemma 2
        fails; None when it holds.
    tau : float or Fraction or None
        Block efficiency ``E|block|`` (exact in enumeration; the sample mean in sampling).
    ceiling, gap : float or Fraction or None
        ``τ*`` from :func:`lpspec.sequence.block_lp.block_optimum` when it is available, and ``τ* - τ``.
    tolerance : float or Fraction
        Tolerance of the Lemma 2 check (0 in exact arithmetic).
    tuples : int
        Draft-path tuples enumerated.
    block_law : dict
        ``{start: {block: probability}}`` (enumeration).
    continuation : dict
        ``{start: c}`` continuation tables (enumeration).
    error : str or None
        What was wrong with the verifier's output (the verifier raised, a negative or non-summing law, a block
        that is not a prefix of its paths plus one token); then ``lossless`` is False.
    samples, seed, test, statistic, dof, p_value, alpha
        The sampling mode's G-test.
    power : float or None
        Probability that the test rejects at level ``alpha`` under :attr:`alternative`.
    alternative : str
        The stated alternative (effect size ``w``).
    detectable_effect : float or None
        Smallest ``w`` rejected with probability 0.8 at this sample size.
    tau_ci : tuple of float or None
        Normal 99 % interval for ``τ`` (sampling).
    """

    mode: str
    lossless: bool | None = None
    max_error: object = None
    failing_prefix: tuple | None = None
    failing_token: int | None = None
    failing_start: int | None = None
    tau: object = None
    ceiling: object = None
    gap: object = None
    tolerance: object = BLOCK_VERIFY_TOLERANCE
    tuples: int = 0
    block_law: dict = field(default_factory=dict, repr=False)
    continuation: dict = field(default_factory=dict, repr=False)
    error: str | None = None
    samples: int = 0
    seed: int | None = None
    test: str = ""
    statistic: float | None = None
    dof: int | None = None
    p_value: float | None = None
    alpha: float | None = None
    power: float | None = None
    alternative: str = ""
    detectable_effect: float | None = None
    tau_ci: tuple | None = None
    notes: list = field(default_factory=list, repr=False)

    @property
    def verdict(self) -> str:
        """One line: lossless / lossy / not refuted, and why."""
        if self.error:
            return f"invalid verifier: {self.error}"
        if self.mode == "enumerate":
            if self.lossless:
                return f"lossless (Lemma 2 holds, max error {float(self.max_error):.3g})"
            return (f"lossy: Lemma 2 fails at prefix {self.failing_prefix}, token {self.failing_token} "
                    f"(start {self.failing_start}), error {float(self.max_error):.3g}")
        if self.lossless is False and self.p_value is None:
            return "lossy: a sampled block continues into a string the target cannot produce"
        if self.lossless is False:
            return f"lossy at level {self.alpha}: {self.test} p = {self.p_value:.3g}"
        return f"not refuted: {self.test} p = {self.p_value:.3g} (power {self.power:.3f} against {self.alternative})"

    def __str__(self) -> str:
        def fmt(v):
            return "n/a" if v is None else (f"{v} (= {float(v):.6g})" if isinstance(v, Fraction) else f"{v:.6g}")

        lines = [f"mode: {self.mode}", f"verdict: {self.verdict}", f"tau: {fmt(self.tau)}",
                 f"ceiling tau*: {fmt(self.ceiling)}", f"gap: {fmt(self.gap)}"]
        if self.mode == "sample":
            lines.append(f"samples: {self.samples} (seed {self.seed}); detectable w at power 0.8: "
                         f"{fmt(self.detectable_effect)}")
        lines += self.notes
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------- inputs
def _pair(target, drafts, start):
    """``(q, p, starts, exact)``: validated chains and ``[(start token, weight > 0), ...]``."""
    c = markov_chains(target, drafts, start)
    return c.target, c.drafts, c.starts, c.exact


def _is_token(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _accepts_start(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "start" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _is_sampler(fn) -> bool:
    """True when ``fn`` takes two positional arguments ``(paths, rng)``."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "start"]
    except (TypeError, ValueError):
        return False
    return len(params) >= 2 and params[1].default is inspect.Parameter.empty


# ---------------------------------------------------------------------------------------------- validation
def _check_block(block, paths, n: int, length: int) -> tuple:
    try:
        block = tuple(int(a) for a in block)
    except (TypeError, ValueError):
        raise _SchemeFailure(f"block {block!r} is not a tuple of token ids") from None
    if not 1 <= len(block) <= length + 1 or any(not 0 <= a < n for a in block):
        raise _SchemeFailure(f"block {block!r} is not a tuple of 1..{length + 1} tokens in 0..{n - 1}")
    head = block[:-1]
    if not any(tuple(x[: len(head)]) == head for x in paths):
        raise _SchemeFailure(f"block {block!r} is not an accepted prefix of one of its paths plus one token "
                             f"(paths {paths})")
    return block


def _checked_law(raw, paths, n, length, exact, tol):
    if not isinstance(raw, Mapping):
        raise _SchemeFailure(f"returned {type(raw).__name__}, not a dict {{block: probability}}")
    law, total = {}, Fraction(0) if exact else 0.0
    for block, mass in raw.items():
        if isinstance(mass, bool) or not isinstance(mass, numbers.Real):
            raise _SchemeFailure(f"probability of block {block!r} is {mass!r}, not a number")
        if exact and not isinstance(mass, (int, Fraction)):
            raise _SchemeFailure("float")  # caught by the caller: switch to floats
        if not exact:
            mass = float(mass)
            if not math.isfinite(mass):
                raise _SchemeFailure(f"probability of block {block!r} is {mass!r}")
        if mass < (0 if exact else -tol):
            raise _SchemeFailure(f"negative probability {mass} for block {block!r}")
        if mass == 0:  # a listed impossible block carries no mass: nothing to check
            continue
        b = _check_block(block, paths, n, length)
        mass = Fraction(mass) if exact else mass
        law[b] = law.get(b, 0) + mass
        total += mass
    if abs(total - 1) > (0 if exact else tol):
        raise _SchemeFailure(f"the law sums to {total}, not 1")
    return law


# ------------------------------------------------------------------------------------------------ lemma 2
def _lemma2(tree, law: dict, tol):
    """``(c, max_error, (prefix, token) or None, LosslessReport)`` for the block law ``law`` on ``tree``."""
    c = c_from_block_law(tree, law)
    zero = Fraction(0) if tree.exact else 0.0
    worst, failing = zero, None
    for d in range(tree.length + 1):
        mu = np.full(tree.n ** (d + 1), zero, dtype=object if tree.exact else np.float64)
        for block, mass in law.items():
            if len(block) == d + 1:
                mu[tree.index(block)] += mass
        reach = mu + (c[d + 1] if d < tree.length else 0)
        flow = (np.asarray(c[d])[:, None] * tree.target_next(d)).reshape(-1)
        resid = np.abs(reach - flow)
        i = int(np.argmax(resid))
        if resid[i] > worst:
            worst = resid[i]
        if failing is None and resid[i] > tol:
            j = int(np.flatnonzero(resid > tol)[0])
            failing = (tree.string(d, j // tree.n), j % tree.n)
    return c, worst, failing, tree.check_lossless(c, tol=float(tol) if not tree.exact else 0.0)


def _ceiling(target, drafts, start, k, length, notes):
    try:
        from .block_lp import block_optimum
    except ImportError:
        notes.append("ceiling: lpspec.sequence.block_lp is not available")
        return None
    try:
        return block_optimum(target=target, drafts=drafts, start=start, k=k, length=length).value
    except ValueError as exc:  # e.g. a tree beyond the LP's size guard
        notes.append(f"ceiling: not computed ({exc})")
        return None


# ------------------------------------------------------------------------------------------------ sampling
def _draft_paths(cum, s, k, length, rng):
    n = cum.shape[0]
    paths = []
    for _ in range(k):
        ctx, x = s, []
        for _ in range(length):
            a = min(int(np.searchsorted(cum[ctx], rng.random() * cum[ctx][-1], side="right")), n - 1)
            x.append(a)
            ctx = a
        paths.append(tuple(x))
    return tuple(paths)


def _pool(observed, expected):
    """Cells with expected count below 5 pooled into one (merged into the smallest cell if still small)."""
    small = expected < _MIN_EXPECTED
    o, e = list(observed[~small]), list(expected[~small])
    if small.any():
        po, pe = float(observed[small].sum()), float(expected[small].sum())
        if pe < _MIN_EXPECTED and e:
            j = int(np.argmin(e))
            o[j] += po
            e[j] += pe
        else:
            o.append(po)
            e.append(pe)
    return np.array(o, dtype=np.float64), np.array(e, dtype=np.float64), small


def _power(w: float, samples: int, dof: int, alpha: float) -> float:
    from scipy import stats

    crit = stats.chi2.ppf(1 - alpha, dof)
    return float(stats.ncx2.sf(crit, dof, samples * w * w)) if w > 0 else float(alpha)


def _detectable(samples: int, dof: int, alpha: float, target_power: float = 0.8) -> float:
    lo, hi = 0.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _power(mid, samples, dof, alpha) < target_power else (lo, mid)
    return hi


def _horizon_laws(q, starts, length):
    """Per start: target path law over ``n^(L+1)`` strings, float64."""
    qf = np.asarray(q, dtype=np.float64)
    return {s: block_tree(target=qf, drafts=qf, start=s, length=length + 1, max_nodes=10 ** 9).Q[length + 1]
            for s, _ in starts}


def _continue_law(block_law: dict, q, s, n, length):
    """Law over ``n^(L+1)`` strings of ``block`` followed by a target continuation (float64)."""
    qf = np.asarray(q, dtype=np.float64)
    out = np.zeros(n ** (length + 1))
    for block, mass in block_law.items():
        ctx_index = 0
        for a in block:
            ctx_index = ctx_index * n + a
        vec, width = np.array([float(mass)]), 1
        for _ in range(length + 1 - len(block)):
            last = np.arange(vec.size) % n if width > 1 else np.array([block[-1]])
            vec = (vec[:, None] * qf[last]).reshape(-1)
            width *= n
        out[ctx_index * width: (ctx_index + 1) * width] += vec
    return out


def _sample_mode(scheme, q, p, starts, exact, k, length, samples, seed, alpha, alternative, draft_sampler,
                 report, tol):
    n = q.shape[0]
    cells = len(starts) * bounded_power(n, length + 1)
    if cells > MAX_HORIZON_CELLS:
        raise ValueError(f"mode='sample' compares strings of length L + 1 = {length + 1}: {cells} cells "
                         f"({len(starts)} start tokens × n^(L+1)), above MAX_HORIZON_CELLS = {MAX_HORIZON_CELLS}; "
                         "lower the length or fix start to one token.")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 10:
        raise ValueError(f"samples must be an integer >= 10; got {samples!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
    if draft_sampler is None and samples * k * length > MAX_SAMPLED_TOKENS:
        raise ValueError(f"mode='sample' would draw samples * k * length = {samples * k * length:,} draft tokens, "
                         f"above MAX_SAMPLED_TOKENS = {MAX_SAMPLED_TOKENS:,}; lower k, length or samples.")
    rng = np.random.default_rng(seed)
    sampler = _is_sampler(scheme)
    pass_start = _accepts_start(scheme)
    horizon = _horizon_laws(q, starts, length)
    qf = np.asarray(q, dtype=np.float64)
    qcum = np.cumsum(qf, axis=1)
    pcum = np.cumsum(np.asarray(p, dtype=np.float64), axis=1)
    weights = np.array([float(w) for _, w in starts])
    start_ids = [s for s, _ in starts]
    counts = np.zeros(cells)
    lengths = np.zeros(samples)
    for t in range(samples):
        si = int(rng.choice(len(starts), p=weights / weights.sum())) if len(starts) > 1 else 0
        s = start_ids[si]
        paths = draft_sampler(s, rng) if draft_sampler is not None else _draft_paths(pcum, s, k, length, rng)
        try:
            paths = tuple(tuple(int(a) for a in x) for x in paths)
        except (TypeError, ValueError):
            paths = None
        if paths is None or len(paths) != k or any(len(x) != length or not all(0 <= a < n for a in x)
                                                   for x in paths):
            raise ValueError(f"draft_sampler must return K = {k} paths of L = {length} token ids in 0..{n - 1}; "
                             f"it returned {paths!r} for start {s}.")
        kw = {"start": s} if pass_start else {}
        try:
            if sampler:
                block = _check_block(scheme(paths, rng, **kw), paths, n, length)
            else:
                law = _checked_law(scheme(paths, **kw), paths, n, length, False, tol)
                keys = list(law)
                probs = np.array([law[b] for b in keys], dtype=np.float64)
                block = keys[int(rng.choice(len(keys), p=probs / probs.sum()))]
        except _SchemeFailure as exc:
            report.error = f"{exc} (start {s}, paths {paths})"
            report.lossless = False
            return report
        except Exception as exc:  # noqa: BLE001 - the user's code raised: report it, do not crash
            report.error = f"the verifier raised {type(exc).__name__}: {exc} (start {s}, paths {paths})"
            report.lossless = False
            return report
        lengths[t] = len(block)
        z, ctx = list(block), block[-1]
        while len(z) < length + 1:
            ctx = min(int(np.searchsorted(qcum[ctx], rng.random() * qcum[ctx][-1], side="right")), n - 1)
            z.append(ctx)
        idx = 0
        for a in z:
            idx = idx * n + a
        counts[si * n ** (length + 1) + idx] += 1
    expected_law = np.concatenate([weights[i] / weights.sum() * horizon[s] for i, s in enumerate(start_ids)])
    report.samples, report.seed, report.alpha = int(samples), seed, alpha
    report.tau = float(lengths.mean())
    half = 2.5758 * float(lengths.std(ddof=1)) / math.sqrt(samples)
    report.tau_ci = (report.tau - half, report.tau + half)
    impossible = (counts > 0) & (expected_law <= 0)
    if impossible.any():
        report.lossless = False
        report.notes.append(f"{int(counts[impossible].sum())} sampled strings are impossible under the target")
        return report
    support = expected_law > 0
    obs, exp, small = _pool(counts[support], samples * expected_law[support])
    report.test = "G-test"
    if exp.size < 2:
        report.notes.append("fewer than two cells with expected count >= 5: no test; raise samples")
        return report
    from scipy import stats

    nz = obs > 0
    g = 2.0 * float(np.sum(obs[nz] * np.log(obs[nz] / exp[nz])))
    dof = int(exp.size - 1)
    report.statistic, report.dof = g, dof
    report.p_value = float(stats.chi2.sf(g, dof))
    report.lossless = False if report.p_value < alpha else None
    # power against the stated alternative
    if alternative is None or isinstance(alternative, numbers.Real):
        w = 0.1 if alternative is None else float(alternative)
        report.alternative = f"an effect size w = {w:g} (Cohen's w over the pooled cells)"
    else:
        laws = alternative if all(_is_token(key) for key in alternative) else {start_ids[0]: alternative}
        alt = np.concatenate([weights[i] / weights.sum() * _continue_law(laws.get(s, {}), q, s, n, length)
                              for i, s in enumerate(start_ids)])
        ao, ae, _ = _pool(samples * alt[support], samples * expected_law[support])
        w = math.sqrt(float(np.sum((ao - ae) ** 2 / ae)) / samples)
        report.alternative = f"the stated alternative block law (w = {w:.4g})"
    report.power = _power(w, samples, dof, alpha)
    report.detectable_effect = _detectable(samples, dof, alpha)
    return report


# ------------------------------------------------------------------------------------------------- public
@keyword_aliases(refused=DRAFTS)
def verify_block_scheme(scheme, *, target, drafts, start=None, k: int, length: int, mode: str = "auto",
                        tolerance: float = BLOCK_VERIFY_TOLERANCE, max_tuples: int = MAX_BLOCK_TUPLES,
                        samples: int = 20_000, seed: int | None = 0, alpha: float = 0.01, alternative=None,
                        draft_sampler=None, ceiling: bool = True) -> BlockVerificationReport:
    """Check a user's block verifier against Lemma 2 and compare its ``τ`` with the ceiling ``τ*``.

    Enumeration builds ``μ(y) = Σ_X P(X) π(y | X)`` over every tuple ``X`` of ``K`` draft paths of length ``L``
    (``P(X) = Π_k P(X^k)``, the draft chain's path probabilities from the start token) and checks, for every node
    ``u`` and token ``a``, ``μ(ua) + c(ua) = q(a | u) c(u)`` with ``c(u) = Σ_{v ⊋ u} μ(v)`` (docs/theory.md
    §14, Lemma 2); ``τ = Σ_y |y| μ(y)``. Sampling tests "block + target continuation to length ``L + 1``"
    against the target path law with a G-test (see the module docstring).

    Parameters
    ----------
    scheme : callable
        Either ``paths -> {block: probability}`` (``paths``: a tuple of ``K`` tuples of ``L`` token ids; a block:
        a tuple of 1..L+1 tokens, an accepted prefix of one of the paths plus one token), or a sampler
        ``(paths, rng) -> block``. Either may take a keyword ``start`` (the context token).
    target, drafts : (n, n) array_like
        Row-stochastic Markov chains ``q(a | c)``, ``p(a | c)`` (row = previous token). Ints/Fractions in both
        give the exact check (their rows must sum to exactly 1).
    start : int, (n,) array_like or None
        The context token, a law of it (every token of positive probability is checked; ``τ`` is the
        expectation), or None: the target chain's stationary law.
    k, length : int
        Number of draft paths ``K >= 1`` and their length ``L >= 1``.
    mode : {"auto", "enumerate", "sample"}
        ``"auto"``: enumerate a law-valued verifier when the tuples fit ``max_tuples``, else sample.
    tolerance : float
        Largest residual accepted as lossless for floats (0 in exact arithmetic).
    max_tuples : int
        Size guard of the enumeration: ``Σ_starts m^K`` tuples (``m`` paths of positive draft probability).
    samples, seed, alpha : int, int, float
        Sampling: number of blocks, the seed of :func:`numpy.random.default_rng`, the test's level.
    alternative : float or dict, optional
        Sampling: the alternative the power is stated against — an effect size ``w`` (default 0.1) or a block
        law ``{block: probability}`` (for one start token; ``{start: law}`` for several).
    draft_sampler : callable, optional
        Sampling: ``(start, rng) -> K paths``, the candidate generator (default: ``K`` i.i.d. draft-chain paths).
    ceiling : bool
        Compute ``τ*`` (:func:`lpspec.sequence.block_lp.block_optimum`) when available.

    Returns
    -------
    BlockVerificationReport

    Examples
    --------
    Token-wise speculative sampling along one path (``K = 1``, ``L = 1``) is lossless, ``τ = 1 + Σ min(p, q)``:

    >>> from fractions import Fraction as F
    >>> q, p = [[F(1, 5), F(4, 5)], [F(1, 2), F(1, 2)]], [[F(3, 5), F(2, 5)], [F(3, 10), F(7, 10)]]
    >>> def sps(paths):
    ...     (x,), = paths          # one path of one token, from start token 0
    ...     acc = min(F(1), q[0][x] / p[0][x])
    ...     res = [max(q[0][a] - p[0][a], 0) for a in range(2)]
    ...     law = {(a,): (1 - acc) * res[a] / sum(res) for a in range(2) if res[a]}
    ...     law.update({(x, b): acc * q[x][b] for b in range(2)})
    ...     return law
    >>> r = verify_block_scheme(sps, target=q, drafts=p, start=0, k=1, length=1, ceiling=False)
    >>> r.lossless, r.tau, r.max_error
    (True, Fraction(8, 5), Fraction(0, 1))
    """
    if mode not in ("auto", "enumerate", "sample"):
        raise ValueError(f"mode must be 'auto', 'enumerate' or 'sample'; got {mode!r}.")
    if (isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or not math.isfinite(tolerance)
            or tolerance < 0):
        raise ValueError(f"tolerance must be a finite real number >= 0 (default {BLOCK_VERIFY_TOLERANCE:g}); "
                         f"got {tolerance!r}.")
    if not callable(scheme):
        raise ValueError(f"scheme must be a callable (paths -> {{block: prob}} or (paths, rng) -> block); "
                         f"got {type(scheme).__name__}.")
    for name, v in (("k", k), ("length", length)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {v!r}.")
    k, length = int(k), int(length)
    q, p, starts, exact = _pair(target, drafts, start)
    n = q.shape[0]
    if len(starts) > 1 and not _accepts_start(scheme):
        raise ValueError("scheme: start is a law over several tokens, so the verifier must accept a keyword "
                         "argument start= (the context token); or pass start= one token.")
    sampler = _is_sampler(scheme)
    if mode == "enumerate" and sampler:
        raise ValueError("mode='enumerate' needs a verifier written as its law (paths -> {block: prob}); "
                         "a sampler (paths, rng) -> block runs in mode='sample'.")
    size = tree_size(n, length)
    if mode != "sample" and not sampler:
        counts = []
        for s, _ in starts:
            if size > 10 ** 7:
                counts = None
                break
            counts.append(bounded_power(int(np.count_nonzero(block_tree(target=q, drafts=p, start=s, length=length,
                                                                       max_nodes=10 ** 7).P[length])), k))
        total = None if counts is None else sum(counts)
        if total is None or total > max_tuples:
            what = f"{total} draft-path tuples" if total is not None else f"a tree of {size} nodes"
            if mode == "enumerate":
                raise ValueError(f"enumeration would visit {what} (n = {n}, K = {k}, L = {length}), above "
                                 f"max_tuples = {max_tuples}; use mode='sample' (Monte Carlo over drafted "
                                 "paths with a goodness-of-fit test) or raise max_tuples.")
            mode = "sample"
        else:
            mode = "enumerate"
    elif mode != "sample":
        mode = "sample"
    report = BlockVerificationReport(mode=mode, tolerance=0 if exact else tolerance)
    if mode == "sample":
        _sample_mode(scheme, q, p, starts, exact, k, length, samples, seed, alpha, alternative, draft_sampler,
                     report, tolerance)
        report.tolerance = tolerance
    else:
        _enumerate(scheme, q, p, starts, exact, k, length, tolerance, report)
    if ceiling and report.error is None:
        report.ceiling = _ceiling(target, drafts, start, k, length, report.notes)
        if report.ceiling is not None and report.tau is not None:
            tau = report.tau
            if isinstance(report.ceiling, Fraction) != isinstance(tau, Fraction):
                tau, report.ceiling = float(tau), float(report.ceiling)
            report.gap = report.ceiling - tau
            if report.lossless is True and report.gap < -1e-9 * max(1.0, float(tau)):
                report.notes.append(f"warning: tau = {float(tau):.12g} exceeds the ceiling tau* = "
                                    f"{float(report.ceiling):.12g}, which no lossless verifier can; report this")
    return report


def _enumerate(scheme, q, p, starts, exact, k, length, tol, report):
    n = q.shape[0]
    pass_start = _accepts_start(scheme)
    use_exact = exact
    trees = {s: block_tree(target=q, drafts=p, start=s, length=length, max_nodes=10 ** 7) for s, _ in starts}
    laws = {}
    while True:
        try:
            laws, report.tuples = {}, 0
            for s, _ in starts:
                tree = trees[s]
                positive = np.flatnonzero(np.asarray(tree.P[length], dtype=np.float64) > 0)
                if use_exact:
                    positive = [i for i in range(n ** length) if tree.P[length][i] != 0]
                paths = [(tree.string(length, int(i)), tree.P[length][int(i)] if use_exact
                          else float(tree.P[length][int(i)])) for i in positive]
                mu: dict = {}
                kw = {"start": s} if pass_start else {}
                for combo in itertools.product(paths, repeat=k):
                    xs = tuple(x for x, _ in combo)
                    weight = Fraction(1) if use_exact else 1.0
                    for _, w in combo:
                        weight *= w
                    try:
                        raw = scheme(xs, **kw)
                    except Exception as exc:  # noqa: BLE001 - the user's code raised: report it
                        raise _SchemeFailure(f"the verifier raised {type(exc).__name__}: {exc}") from exc
                    try:
                        law = _checked_law(raw, xs, n, length, use_exact, tol)
                    except _SchemeFailure as exc:
                        if str(exc) == "float":
                            raise
                        raise _SchemeFailure(f"{exc} (start {s}, paths {xs})") from None
                    for b, m in law.items():
                        mu[b] = mu.get(b, 0) + weight * m
                    report.tuples += 1
                laws[s] = mu
            break
        except _SchemeFailure as exc:
            if str(exc) == "float" and use_exact:
                use_exact = False  # the verifier returns floats: check in floats, with the tolerance
                trees = {s: block_tree(target=np.asarray(q, dtype=np.float64), drafts=np.asarray(p, dtype=np.float64),
                                       start=s, length=length, max_nodes=10 ** 7) for s, _ in starts}
                report.notes.append("the verifier returned floats: checked in float64 with the tolerance")
                continue
            report.error, report.lossless = str(exc), False
            return
    report.tolerance = 0 if use_exact else tol
    tol_used = Fraction(0) if use_exact else tol
    worst, tau = (Fraction(0) if use_exact else 0.0), (Fraction(0) if use_exact else 0.0)
    report.lossless = True
    for s, w in starts:
        tree = trees[s]
        c, err, failing, lem = _lemma2(tree, laws[s], tol_used)
        report.block_law[s], report.continuation[s] = laws[s], c
        w = w if use_exact else float(w)
        tau += w * sum((len(b) * m for b, m in laws[s].items()), start=Fraction(0) if use_exact else 0.0)
        if err > worst:
            worst = err
        if (failing is not None or not lem.ok) and report.lossless:
            report.lossless = False
            if failing is not None:
                report.failing_prefix, report.failing_token = failing
            else:
                report.failing_prefix = lem.failing_block
            report.failing_start = s
    report.max_error, report.tau = worst, tau


@keyword_aliases(refused=DRAFTS)
def hf_speculative_sampler(*, target, drafts, assistant_ensemble_weight: float | None = None):
    """A sampler ``(paths, rng, start=) -> block`` running HF transformers' own speculative-sampling step.

    The step is ``transformers.generation.utils._speculative_sampling`` (what assisted generation calls to
    accept the candidate tokens); the Markov pair is turned into logits ``log p(· | last token)`` for the
    candidates and ``log q(· | last token)`` for the target's ``L + 1`` positions, from the start token and the
    first draft path. Randomness is torch's global generator, seeded from ``rng`` at every call. The bug class
    users reported (a candidate generator drafting greedily while handing the verifier the softmax draft law)
    is reproduced by giving :func:`verify_block_scheme` a ``draft_sampler=`` that returns argmax paths.
    ``assistant_ensemble_weight`` is passed on to the step when given (the relaxed, deliberately lossy
    "static ensemble verification" of recent transformers versions); a step without that argument refuses it.

    Needs ``transformers`` (the ``hf`` extra) and ``torch``.

    Examples
    --------
    >>> step = hf_speculative_sampler(target=[[0.2, 0.8], [0.5, 0.5]], drafts=[[0.6, 0.4], [0.3, 0.7]])  # doctest: +SKIP
    >>> import numpy as np; step(((0, 1),), np.random.default_rng(0), start=0)  # doctest: +SKIP
    (0, 1, 1)
    """
    try:
        import torch
        from transformers.generation.utils import _speculative_sampling
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("hf_speculative_sampler needs transformers and torch: pip install 'lpspec[hf]' "
                          f"({exc})") from None
    extra = {}
    if assistant_ensemble_weight is not None:
        if "assistant_ensemble_weight" not in inspect.signature(_speculative_sampling).parameters:
            raise ValueError("assistant_ensemble_weight: this transformers version's _speculative_sampling does not "
                             "take it; drop the argument.")
        extra["assistant_ensemble_weight"] = float(assistant_ensemble_weight)
    with np.errstate(divide="ignore"):
        logq = torch.tensor(np.log(np.asarray(target, dtype=np.float64)), dtype=torch.float64)
        logp = torch.tensor(np.log(np.asarray(drafts, dtype=np.float64)), dtype=torch.float64)

    def step(paths, rng, start):
        x = list(paths[0])
        ctx = [start] + x
        torch.manual_seed(int(rng.integers(2 ** 62)))
        ids = torch.tensor([ctx], dtype=torch.long)
        cand = logp[torch.tensor(ctx[:-1])][None]  # (1, L, n): draft logits at each candidate position
        new = logq[torch.tensor(ctx)][None]  # (1, L + 1, n): target logits
        tokens, _ = _speculative_sampling(ids, cand, len(x), new, **extra)
        return tuple(int(a) for a in tokens[0].tolist())

    return step
