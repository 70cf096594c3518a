"""Check that a selection scheme is exact, and how far its acceptance is from the optimum.

:func:`verify_scheme` takes a built-in :class:`~lpspec.schemes.Scheme` or any callable ``x -> π(· | x)`` for
one instance and reports

* **exactness by enumeration** (when the instance has at most ``max_tuples`` draft tuples): the output law
  ``Σ_x P(x) π(· | x)`` and its largest deviation from ``q``; exact means ``max |output - q| <= tolerance``
  (``0`` in rational arithmetic when the scheme returns Fractions for an exact instance);
* the exact **membership acceptance** ``Σ_x P(x) Σ_{y ∈ set(x)} π(y | x)`` (docs/theory.md §1), the optimum ``P*``
  (:func:`lpspec.optimal_acceptance`) and the gap;
* **sampling** as a second opinion (and the only one for large instances): draft tuples from the draft law and
  outputs from the scheme (``scheme.sample`` for a :class:`Scheme`, a draw from the returned law for a
  callable), with :func:`numpy.random.default_rng` and a fixed seed; a chi-square goodness-of-fit test of the
  outputs against ``q`` (cells of expected count below 5 pooled into one cell) and a Wilson confidence
  interval for the acceptance. A small p-value (below ``alpha``) marks the scheme *suspect*, never *not
  exact*; only two things prove inexactness: the enumeration, or a sampled output ``y`` with ``q(y) = 0``.

A scheme whose code raises, or returns something that is not a probability vector, is reported with a clear
message in :attr:`VerificationReport.error` (and ``exact=False``); :func:`verify_scheme` itself does not raise
for that.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..core.arith import FLOAT, common_arith
from ..core.distributions import SUM_TOLERANCE
from ..core.instance import Instance, make_instance
from ..core.keywords import DRAFTS, keyword_aliases
from .base import Scheme, sample_drafts

__all__ = ["MAX_VERIFY_TUPLES", "MIN_EXPECTED_COUNT", "VERIFY_TOLERANCE", "VerificationReport",
           "verify_scheme", "verify_scheme_for"]

#: Default largest ``max |output - q|`` accepted as exact (floating-point schemes).
VERIFY_TOLERANCE = 1e-9
#: Default largest number of draft tuples enumerated for the exact check.
MAX_VERIFY_TUPLES = 100_000
#: Chi-square cells with a smaller expected count are pooled.
MIN_EXPECTED_COUNT = 5.0


class _SchemeFailure(Exception):
    """The scheme under test raised, or returned something that is not a distribution."""


@dataclass
class VerificationReport:
    """Outcome of :func:`verify_scheme`; ``print(report)`` gives a readable summary.

    Attributes
    ----------
    scheme : str
        The scheme's name.
    instance : str
        The instance, described.
    exact : bool or None
        True/False when decided (enumeration, or an impossible sampled token); None when the instance was
        too large to enumerate and sampling found no proof of inexactness (see :attr:`suspect`).
    max_error : float or None
        ``max_y |output(y) - q(y)|`` by enumeration.
    output : ndarray or None
        The enumerated output law, shape (n,).
    acceptance, optimum, gap : float or Fraction or None
        Exact membership acceptance, ``P*`` and ``P* - acceptance``.
    reported_acceptance : float or Fraction or None
        A :class:`Scheme`'s own ``.acceptance`` (closed form), to compare with the enumeration.
    samples, seed : int
    test : str
        The goodness-of-fit test that was run.
    p_value, chi2 : float or None
    dof : int or None
    acceptance_estimate : float or None
        Fraction of sampled outputs that are accepted.
    acceptance_ci : tuple of float or None
        Wilson interval at ``confidence``.
    suspect : bool
        The sampling disagrees with exactness (p-value below ``alpha``) or with the exact acceptance (outside
        the interval).
    impossible_tokens : tuple of int
        Sampled outputs ``y`` with ``q(y) = 0`` (each is a proof that the scheme is not exact).
    error : str or None
        Why the scheme could not be evaluated.
    notes : list of str
    """

    scheme: str
    instance: str
    exact: bool | None = None
    max_error: float | None = None
    output: np.ndarray | None = field(default=None, repr=False)
    acceptance: object = None
    optimum: object = None
    gap: object = None
    reported_acceptance: object = None
    tolerance: float = VERIFY_TOLERANCE
    num_tuples: int = 0
    enumerated: bool = False
    samples: int = 0
    seed: int | None = None
    test: str = ""
    p_value: float | None = None
    chi2: float | None = None
    dof: int | None = None
    acceptance_estimate: float | None = None
    acceptance_ci: tuple[float, float] | None = None
    confidence: float = 0.99
    alpha: float = 1e-3
    suspect: bool = False
    impossible_tokens: tuple[int, ...] = ()
    error: str | None = None
    notes: list = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """One word: ``ERROR``, ``NOT EXACT``, ``EXACT``, ``EXACT (sampling suspect)``, ``SUSPECT`` or
        ``UNDECIDED``."""
        if self.error is not None:
            return "ERROR"
        if self.exact is False:
            return "NOT EXACT"
        if self.exact is True:
            return "EXACT (sampling suspect)" if self.suspect else "EXACT"
        return "SUSPECT" if self.suspect else "UNDECIDED"

    def __str__(self) -> str:
        def fmt(v):
            if v is None:
                return "n/a"
            if isinstance(v, Fraction):
                return f"{v} (≈ {float(v):.6g})" if v.denominator < 10**6 else f"≈ {float(v):.12g}"
            return f"{float(v):.12g}"

        lines = [f"verify_scheme: {self.scheme} on {self.instance}", f"  verdict:     {self.verdict}"]
        if self.error is not None:
            lines.append(f"  error:       {self.error}")
        if self.enumerated:
            lines.append(f"  enumeration: {self.num_tuples:,} draft tuples; max |output - q| = "
                         f"{self.max_error:.3g} (tolerance {self.tolerance:g})")
        elif self.error is None:
            lines.append(f"  enumeration: skipped ({self.num_tuples:,} draft tuples)")
        if self.acceptance is not None or self.optimum is not None:
            lines.append(f"  acceptance:  {fmt(self.acceptance)}   optimum P*: {fmt(self.optimum)}   "
                         f"gap: {fmt(self.gap)}")
        if self.reported_acceptance is not None:
            lines.append(f"  reported:    {fmt(self.reported_acceptance)} (the scheme's own .acceptance)")
        if self.samples:
            pv = "n/a" if self.p_value is None else f"{self.p_value:.4g}"
            lines.append(f"  sampling:    {self.samples:,} draws (seed {self.seed}); {self.test}: p = {pv}"
                         + (f" (chi2 = {self.chi2:.4g}, {self.dof} dof)" if self.chi2 is not None else ""))
            if self.acceptance_ci is not None:
                lo, hi = self.acceptance_ci
                lines.append(f"               acceptance ≈ {self.acceptance_estimate:.5f}, "
                             f"{self.confidence:.0%} Wilson interval [{lo:.5f}, {hi:.5f}]")
        if self.impossible_tokens:
            lines.append(f"  impossible:  sampled outputs {list(self.impossible_tokens)} have q = 0")
        for note in self.notes:
            lines.append(f"  note:        {note}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- helpers
def _checked_law(raw, x, inst: Instance, exact: bool) -> np.ndarray:
    """``raw`` as a validated probability vector of shape (n,), or :class:`_SchemeFailure`."""
    try:
        arr = np.asarray(raw)
    except Exception as exc:  # noqa: BLE001 - anything the user's code returns
        raise _SchemeFailure(f"the scheme returned {type(raw).__name__} for x={x}, not an array ({exc}).")
    if arr.shape != (inst.n,):
        raise _SchemeFailure(
            f"the scheme returned shape {arr.shape} for x={x}; it must return the output law π(·|x) as an "
            f"array of shape (n,) = ({inst.n},)."
        )
    # deliberate: the entries of an object array are Python objects of any kind, checked one by one
    entries = arr.ravel().tolist() if arr.dtype == object else []
    if arr.dtype.kind == "c" or any(isinstance(v, (complex, np.complexfloating)) for v in entries):
        raise _SchemeFailure(f"the scheme returned complex values for x={x}; π(·|x) must be real.")
    if arr.dtype.kind in "bSUVMm" or any(isinstance(v, (bool, np.bool_, str, bytes)) for v in entries):
        raise _SchemeFailure(f"the scheme returned non-numeric values for x={x} (dtype {arr.dtype}).")
    # deliberate: rows of rationals from an exact scheme are validated exactly (sum exactly 1), others as floats
    keep_exact = exact and bool(entries) and all(
        isinstance(v, (Fraction, int, np.integer)) and not isinstance(v, bool) for v in entries)
    if keep_exact:
        arr = np.array([Fraction(v) for v in arr.tolist()], dtype=object)
        total = sum(arr.tolist(), Fraction(0))
        if any(v < 0 for v in arr.tolist()) or total != 1:
            raise _SchemeFailure(
                f"the scheme returned {list(map(str, arr))} for x={x}: not a distribution "
                f"(sum {total}, min {min(arr.tolist())})."
            )
        return arr
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise _SchemeFailure(f"the scheme returned non-numeric values for x={x} ({exc}).") from None
    if not np.all(np.isfinite(arr)):
        raise _SchemeFailure(f"the scheme returned non-finite values for x={x}: {arr}.")
    total = math.fsum(arr.tolist())
    if arr.min() < -1e-12 or abs(total - 1.0) > SUM_TOLERANCE:
        raise _SchemeFailure(
            f"the scheme returned {np.array2string(arr, precision=4)} for x={x}: not a distribution "
            f"(sum {total:.12g}, min {arr.min():.3g}); π(·|x) must be non-negative and sum to 1."
        )
    return np.maximum(arr, 0.0)


def _call(fn, x, inst: Instance, exact: bool) -> np.ndarray:
    try:
        raw = fn(x)
    except Exception as exc:  # noqa: BLE001 - report the user's error instead of crashing
        raise _SchemeFailure(f"the scheme raised {type(exc).__name__}: {exc} (on x={x}).") from None
    return _checked_law(raw, x, inst, exact)


def _pooled_chi_square(observed: np.ndarray, q: np.ndarray):
    """Chi-square goodness of fit of ``observed`` to ``q`` on its support, small cells pooled.

    Returns ``(chi2, dof, p_value, cells)`` or ``None`` when fewer than two cells remain.
    """
    from scipy import stats

    support = np.flatnonzero(q > 0)
    obs = observed[support].astype(np.float64)
    N = obs.sum()
    if N <= 0:
        return None
    exp = N * q[support] / q[support].sum()
    small = exp < MIN_EXPECTED_COUNT
    cells_o = list(obs[~small])
    cells_e = list(exp[~small])
    if small.any():
        po, pe = float(obs[small].sum()), float(exp[small].sum())
        if pe < MIN_EXPECTED_COUNT and cells_e:  # still too small: merge into the smallest cell
            j = int(np.argmin(cells_e))
            cells_o[j] += po
            cells_e[j] += pe
        else:
            cells_o.append(po)
            cells_e.append(pe)
    if len(cells_e) < 2:
        return None
    o, e = np.array(cells_o), np.array(cells_e)
    e = e * (o.sum() / e.sum())
    res = stats.chisquare(o, e)
    return float(res.statistic), len(cells_e) - 1, float(res.pvalue), len(cells_e)


def _wilson(successes: int, total: int, confidence: float) -> tuple[float, float]:
    from scipy import stats

    test = stats.binomtest(int(successes), int(total))
    ci = test.proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


# ---------------------------------------------------------------------------------------------- main
@keyword_aliases(refused=DRAFTS)
def verify_scheme(
    scheme,
    *,
    target=None,
    drafts=None,
    k: int | None = None,
    law: str = "independent",
    tolerance: float | None = None,
    samples: int = 20_000,
    seed: int = 0,
    alpha: float = 1e-3,
    confidence: float = 0.99,
    max_tuples: int = MAX_VERIFY_TUPLES,
) -> VerificationReport:
    """Is ``scheme`` exact (output law ``= q``)? How far is its acceptance from ``P*``?

    .. math::

        \\text{exact} \\iff \\max_y \\Big| \\sum_x P(x)\\, \\pi(y \\mid x) - q(y) \\Big|
        \\le \\text{tolerance}, \\qquad P(\\mathrm{acc}) = \\sum_x P(x) \\sum_{y \\in \\mathrm{set}(x)} \\pi(y \\mid x)

    Parameters
    ----------
    scheme : Scheme or callable
        A built-in :class:`~lpspec.schemes.Scheme` (its own instance is used; do not pass ``target``), or a
        callable taking the draft tuple ``x`` (a tuple of ``K`` ints) and returning ``π(· | x)``, shape (n,).
    target, drafts, k, law
        The instance, as in :func:`lpspec.make_instance` (required for a callable).
    tolerance : float, optional
        Largest ``max |output - q|`` accepted as exact (a non-negative real number). Default: ``0`` when the
        instance is exact and the scheme returns Fractions (compared in rational arithmetic), else
        :data:`VERIFY_TOLERANCE` (``1e-9``).
    samples : int
        Monte Carlo draws (0 disables sampling).
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    alpha : float
        A goodness-of-fit p-value below ``alpha`` marks the scheme suspect.
    confidence : float
        Level of the Wilson interval for the acceptance.
    max_tuples : int
        Largest number of draft tuples enumerated for the exact check.

    Returns
    -------
    VerificationReport
        ``.exact``, ``.max_error``, ``.acceptance``, ``.optimum``, ``.gap``, ``.p_value``,
        ``.acceptance_ci``, ``.suspect``, ``.error``, ``.verdict``; ``print()`` it for a summary.

    Raises
    ------
    ValueError
        Invalid instance input, or a scheme that is neither a :class:`Scheme` nor callable. (Failures *of the
        scheme* are reported, not raised.)

    Examples
    --------
    >>> first = lambda x: np.eye(2)[x[0]]  # "always output X_1": not exact unless p_1 = q
    >>> r = verify_scheme(first, target=[0.5, 0.5], drafts=[0.9, 0.1], k=2, samples=0)
    >>> r.exact, round(r.max_error, 12)
    (False, 0.4)
    """
    if isinstance(scheme, Scheme):
        if target is not None or drafts is not None or k is not None:
            raise ValueError(
                "this Scheme already has its instance; call verify_scheme(scheme) without target=.")
        inst = scheme.instance
    elif callable(scheme):
        if target is None or drafts is None:
            raise ValueError(
                "verify_scheme(callable) needs the instance: pass target=, drafts= (and k=, law=).")
        inst = make_instance(target=target, drafts=drafts, k=k, law=law)
    else:
        raise ValueError(  # noqa: TRY004 - the project reports bad arguments as ValueError
            f"scheme must be an lpspec Scheme or a callable x -> output law; got {type(scheme).__name__}.")
    return verify_scheme_for(inst, scheme, tolerance=tolerance, samples=samples, seed=seed, alpha=alpha,
                             confidence=confidence, max_tuples=max_tuples)


def verify_scheme_for(
    inst: Instance,
    scheme,
    *,
    tolerance: float | None = None,
    samples: int = 20_000,
    seed: int = 0,
    alpha: float = 1e-3,
    confidence: float = 0.99,
    max_tuples: int = MAX_VERIFY_TUPLES,
) -> VerificationReport:
    """:func:`verify_scheme` on an already built :class:`~lpspec.core.instance.Instance`.

    ``scheme`` is a callable ``x -> π(· | x)`` checked on ``inst``, or a built-in
    :class:`~lpspec.schemes.Scheme` built on ``inst`` itself (``scheme.instance is inst``); the other
    arguments are those of :func:`verify_scheme`.

    Examples
    --------
    >>> from lpspec.core.instance import make_instance
    >>> inst = make_instance(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2)
    >>> r = verify_scheme_for(inst, lambda x: np.eye(2)[x[0]], samples=0)
    >>> r.exact, round(r.max_error, 12)
    (False, 0.4)
    """
    if isinstance(scheme, Scheme):
        if scheme.instance is not inst:
            raise ValueError("this Scheme was built on another instance; call "
                             "verify_scheme_for(scheme.instance, scheme) or verify_scheme(scheme).")
        name = scheme.name
        law_of = scheme.conditional
        accepted_of = scheme.accepted_tokens
        arith = scheme.arith
    elif callable(scheme):
        name = getattr(scheme, "__name__", type(scheme).__name__)
        law_of = scheme
        accepted_of = None
        arith = inst.arith
    else:
        raise ValueError(  # noqa: TRY004 - the project reports bad arguments as ValueError
            f"scheme must be an lpspec Scheme or a callable x -> output law; got {type(scheme).__name__}.")
    if tolerance is not None and (isinstance(tolerance, (bool, np.bool_))
                                  or not isinstance(tolerance, numbers.Real)
                                  or not tolerance >= 0 or not math.isfinite(tolerance)):
        raise ValueError(f"tolerance={tolerance!r} must be a non-negative finite real number (0: exact).")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 0:
        raise ValueError(f"samples={samples!r} must be a non-negative integer.")
    user_tolerance = tolerance
    if tolerance is None:
        tolerance = arith.pick(exact=0, floats=VERIFY_TOLERANCE)
    report = VerificationReport(scheme=name, instance=inst.describe(), tolerance=tolerance, seed=seed,
                                alpha=alpha, confidence=confidence, num_tuples=inst.num_tuples())
    q = inst.target

    def accepted(x):
        return accepted_of(x) if accepted_of is not None else tuple(sorted(set(x)))

    # ---------------------------------------------------------------- the optimum
    try:
        from ..solvers.optimum import optimum_for

        report.optimum = optimum_for(inst).value
    except Exception as exc:  # noqa: BLE001 - the optimum is context; keep verifying without it
        report.notes.append(f"optimum not computed ({type(exc).__name__}: {exc})")

    # ---------------------------------------------------------------- exact check by enumeration
    if report.num_tuples <= max_tuples:
        tt = inst.tuple_table
        try:
            rows = [_call(law_of, tuple(x), inst, arith.exact) for x in tt.tuples.tolist()]
        except _SchemeFailure as fail:
            report.error = str(fail)
            report.exact = False
            return report
        sums = arith
        if not all(r.dtype == object for r in rows):  # deliberate: one float row makes the whole sum float
            sums = FLOAT
        mass = sums.array(tt.mass)
        table = sums.array(rows)  # shape (N, n)
        output = sums.array([sums.sum(mass * table[:, y]) for y in range(inst.n)])
        report.acceptance = sums.sum(
            m * sums.sum(r[list(accepted(x))]) for x, m, r in zip(tt.tuples.tolist(), mass, table))
        report.output = output
        if user_tolerance is None:  # float rows: a float answer, at the float tolerance
            tolerance = report.tolerance = sums.pick(exact=tolerance, floats=VERIFY_TOLERANCE)
        errors = [abs(a - b) for a, b in zip(output.tolist(), q.tolist())]
        worst_error = max(errors)
        report.max_error = float(worst_error)
        # exact rows: a rational comparison (an error of 1e-400 is not rounded to 0.0 first)
        report.exact = bool(sums.scalar(worst_error) <= tolerance)
        report.enumerated = True
        if report.optimum is not None:
            both = common_arith(report.acceptance, report.optimum)  # exact only when both are rationals
            report.gap = both.scalar(report.optimum) - both.scalar(report.acceptance)
            if report.exact and float(report.gap) < -max(tolerance, 1e-9):
                report.notes.append(
                    "acceptance exceeds P*: impossible for an exact scheme; check the instance.")
        if not report.exact:
            worst = int(np.argmax([abs(float(a) - float(b)) for a, b in zip(output.tolist(), q.tolist())]))
            report.notes.append(
                f"output law differs from the target: output({worst}) = {float(output[worst]):.6g}, "
                f"q({worst}) = {float(q[worst]):.6g}."
            )
    else:
        report.notes.append(
            f"{report.num_tuples:,} draft tuples > max_tuples={max_tuples:,}: exactness is not decided by "
            "enumeration; the sampling test below can only flag the scheme as suspect."
        )

    if isinstance(scheme, Scheme):
        try:
            report.reported_acceptance = scheme.acceptance
        except Exception as exc:  # noqa: BLE001
            report.notes.append(f"the scheme's own .acceptance failed ({type(exc).__name__}: {exc}).")
        if report.reported_acceptance is not None and report.acceptance is not None:
            diff = abs(float(report.reported_acceptance) - float(report.acceptance))
            if diff > max(tolerance, 1e-9):
                report.notes.append(f"the scheme's .acceptance differs from the enumeration by {diff:.3g}.")

    # ---------------------------------------------------------------- sampling (second opinion)
    if samples > 0:
        rng = np.random.default_rng(seed)
        tuples = sample_drafts(inst, rng, samples)
        counts = np.zeros(inst.n, dtype=np.int64)
        hits = 0
        try:
            if isinstance(scheme, Scheme):
                for x in tuples.tolist():
                    try:
                        y = int(scheme.sample(tuple(x), rng))
                    except Exception as exc:  # noqa: BLE001
                        raise _SchemeFailure(
                            f"scheme.sample raised {type(exc).__name__}: {exc} (on x={tuple(x)}).") from None
                    if not 0 <= y < inst.n:
                        raise _SchemeFailure(f"scheme.sample returned {y} for x={tuple(x)}, not a token.")
                    counts[y] += 1
                    hits += y in accepted(tuple(x))
            else:
                uniq, _inverse, mult = np.unique(tuples, axis=0, return_inverse=True, return_counts=True)
                for x, c in zip(uniq.tolist(), mult.tolist()):
                    law_x = _call(law_of, tuple(x), inst, arith.exact).astype(np.float64)
                    draw = rng.multinomial(c, law_x / law_x.sum())
                    counts += draw
                    hits += int(draw[list(accepted(tuple(x)))].sum())
        except _SchemeFailure as fail:
            report.error = str(fail)
            report.exact = False
            return report
        report.samples = samples
        qf = q.astype(np.float64)
        impossible = tuple(int(y) for y in np.flatnonzero((qf == 0) & (counts > 0)))
        if impossible:
            report.impossible_tokens = impossible
            report.exact = False
            report.notes.append("a sampled output has target probability 0: the scheme is not exact.")
        chi = _pooled_chi_square(counts, qf)
        report.test = ("chi-square goodness of fit to q "
                       f"(cells with expected count < {MIN_EXPECTED_COUNT:g} pooled)")
        if chi is None:
            report.notes.append("q has fewer than two cells after pooling: no goodness-of-fit test.")
        else:
            report.chi2, report.dof, report.p_value, _ = chi
            if report.p_value < alpha:
                report.suspect = True
                report.notes.append(f"goodness-of-fit p-value {report.p_value:.3g} < alpha={alpha:g}: "
                                    "suspect (a p-value alone never proves inexactness).")
        report.acceptance_estimate = hits / samples
        report.acceptance_ci = _wilson(hits, samples, confidence)
        if report.acceptance is not None:
            lo, hi = report.acceptance_ci
            if not lo <= float(report.acceptance) <= hi:
                report.suspect = True
                report.notes.append(
                    f"the exact acceptance {float(report.acceptance):.6g} lies outside the sampled "
                    f"{confidence:.0%} interval: sample() and conditional() may disagree."
                )
    return report
