"""verify_scheme: built-in schemes pass, broken schemes are caught, failures are reported, not raised."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings

from lpspec import make_instance
from lpspec.schemes import SCHEMES, SpecInfer, SpecTr
from lpspec.schemes.verify import VerificationReport, verify_scheme
from lpspec.solvers.optimum import optimum_for
from lpspec.strategies import instances

KW = {"target": [0.1, 0.2, 0.3, 0.4], "drafts": [0.4, 0.3, 0.2, 0.1], "k": 2}


@pytest.mark.parametrize("name", list(SCHEMES))
def test_every_builtin_scheme_passes(name):
    law = "without_replacement" if name == "specinfer_wor" else "independent"
    k = 3 if name == "tournament" else 2
    scheme = SCHEMES[name](make_instance(**{**KW, "k": k, "law": law}))
    report = verify_scheme(scheme, samples=5000, seed=1)
    assert report.verdict == "EXACT", str(report)
    assert report.exact and not report.suspect and report.error is None
    assert report.max_error <= 1e-12
    lo, hi = report.acceptance_ci
    assert lo <= float(report.acceptance) <= hi
    assert float(report.reported_acceptance) == pytest.approx(float(report.acceptance), abs=1e-12)
    assert float(report.gap) >= -1e-9


def test_always_first_draft_is_not_exact_with_the_error_size():
    report = verify_scheme(lambda x: np.eye(4)[x[0]], **KW, samples=2000)
    assert report.exact is False and report.verdict == "NOT EXACT"
    # output law of "output X_1" is p_1: max |p_1 - q| = 0.3, computed by hand
    assert report.max_error == pytest.approx(0.3, abs=1e-15)
    assert np.allclose(report.output, KW["drafts"])
    assert report.acceptance == pytest.approx(1.0)  # always accepted, but not exact
    assert report.suspect and report.p_value < 1e-10
    text = str(report)
    assert "NOT EXACT" in text and "0.3" in text


def test_rrs_without_replacement_with_the_original_p_is_caught():
    """docs/theory.md §5: the renormalised p_S is needed; with p itself the output law is wrong."""
    q, p = np.full(3, 1 / 3), np.array([0.6, 0.3, 0.1])

    def broken(x):
        r = q.copy()
        out, reach = np.zeros(3), 1.0
        for t in x:
            a = min(1.0, r[t] / p[t])
            out[t] += reach * a
            reach *= 1 - a
            diff = np.maximum(r - p, 0.0)
            r = diff / diff.sum() if diff.sum() > 0 else r
        return out + reach * r

    report = verify_scheme(broken, target=q, drafts=p, k=2, law="without_replacement", samples=0)
    # by hand: token 1 is output w.p. 0.3 (accepted first) + 0.6 (4/9) (3/4) (5/12) = 0.3 + 1/12, not 1/3
    assert report.exact is False and report.max_error == pytest.approx(0.3 + 1 / 12 - 1 / 3, abs=1e-12)
    from lpspec.schemes import SpecInferWithoutReplacement

    fixed = SpecInferWithoutReplacement(target=q, drafts=p, k=2, law="without_replacement")
    assert verify_scheme(fixed, samples=0).exact


def test_exact_rational_callable_has_zero_error():
    q = [F(1, 3), F(1, 9), F(5, 9)]
    inst = make_instance(target=q, drafts=[F(1, 3)] * 3, k=2)
    scheme = SpecTr(inst)
    report = verify_scheme(lambda x: scheme.conditional(x), target=q, drafts=[F(1, 3)] * 3, k=2, samples=0)
    assert report.exact and report.max_error == 0
    assert report.acceptance == F(8, 9) and report.optimum == 1 and report.gap == F(1, 9)
    assert list(report.output) == q


@pytest.mark.parametrize("bad, message", [
    (lambda x: 1 / 0, "raised ZeroDivisionError"),
    (lambda x: [0.5, 0.5, 0.5, 0.5], "not a distribution"),
    (lambda x: [1.5, -0.5, 0.0, 0.0], "not a distribution"),
    (lambda x: [np.nan, 1.0, 0.0, 0.0], "non-finite"),
    (lambda x: [1.0, 0.0], "shape"),
    (lambda x: "abcd", "shape"),
    (lambda x: ["a", "b", "c", "d"], "non-numeric"),
    (lambda x: None, "shape"),
])
def test_failing_callables_are_reported_not_raised(bad, message):
    report = verify_scheme(bad, **KW)
    assert report.exact is False and report.verdict == "ERROR"
    assert message in report.error
    assert "ERROR" in str(report) and message in str(report)


def test_a_scheme_whose_sampler_raises_is_reported():
    class Broken(SpecInfer):
        def sample(self, x, rng):
            raise RuntimeError("sampler bug")

    report = verify_scheme(Broken(**KW), samples=10)
    assert report.verdict == "ERROR" and "sampler bug" in report.error


def test_a_sampler_that_disagrees_with_its_law_is_suspect():
    """conditional() is exact but sample() always returns the first draft: sampling flags it."""
    class Lying(SpecInfer):
        def sample(self, x, rng):
            return x[0]

    report = verify_scheme(Lying(**KW), samples=3000)
    assert report.exact is True  # decided by enumeration of conditional()
    assert report.suspect and report.verdict == "EXACT (sampling suspect)"


def test_without_enumeration_a_p_value_only_marks_suspect():
    bad = verify_scheme(lambda x: np.eye(4)[x[0]], **KW, max_tuples=3, samples=3000)
    assert bad.exact is None and bad.suspect and bad.verdict == "SUSPECT"
    assert not bad.enumerated and bad.p_value < 1e-6
    good = verify_scheme(SpecInfer(**KW), max_tuples=3, samples=3000)
    assert good.exact is None and not good.suspect and good.verdict == "UNDECIDED"
    assert good.acceptance is None and good.acceptance_ci is not None
    lo, hi = good.acceptance_ci
    assert lo <= float(SpecInfer(**KW).acceptance) <= hi


def test_an_output_with_zero_target_mass_proves_inexactness():
    kw = {"target": [0.5, 0.5, 0.0], "drafts": [0.4, 0.3, 0.3], "k": 2}
    report = verify_scheme(lambda x: np.eye(3)[x[0]], **kw, max_tuples=1, samples=500)
    assert report.exact is False and 2 in report.impossible_tokens


def test_small_expected_counts_are_pooled():
    q = [0.497, 0.497, 0.002, 0.002, 0.002]
    report = verify_scheme(lambda x: np.array(q), target=q, drafts=[0.2] * 5, k=1, samples=1000, seed=3)
    assert report.dof == 2  # two big cells + one pooled cell of expected count 6
    assert report.exact and not report.suspect


def test_large_instance_is_sampled_without_enumeration():
    n = 400
    q = np.full(n, 1 / n)
    p = np.arange(1, n + 1) / (n * (n + 1) / 2)
    report = verify_scheme(SpecInfer(target=q, drafts=p, k=3), samples=3000, seed=2)
    assert report.num_tuples == n**3 and not report.enumerated
    assert report.exact is None and not report.suspect
    assert report.optimum == pytest.approx(float(optimum_for(make_instance(target=q, drafts=p, k=3)).value))


def test_input_errors_raise():
    with pytest.raises(ValueError, match="needs the instance"):
        verify_scheme(lambda x: x)
    with pytest.raises(ValueError, match="callable"):
        verify_scheme(42, **KW)
    with pytest.raises(ValueError, match="already has its instance"):
        verify_scheme(SpecInfer(**KW), **KW)
    with pytest.raises(ValueError, match="samples"):
        verify_scheme(SpecInfer(**KW), samples=-1)
    with pytest.raises(ValueError, match="target"):
        verify_scheme(lambda x: x, target=[0.5, 0.7], drafts=[0.5, 0.5], k=1)


def test_report_is_deterministic_for_a_seed_and_prints():
    a = verify_scheme(SpecInfer(**KW), samples=2000, seed=7)
    b = verify_scheme(SpecInfer(**KW), samples=2000, seed=7)
    assert (a.p_value, a.acceptance_estimate) == (b.p_value, b.acceptance_estimate)
    text = str(a)
    assert isinstance(a, VerificationReport)
    for piece in ("specinfer", "EXACT", "Wilson", "optimum", "chi-square"):
        assert piece in text


@settings(max_examples=20, deadline=None)
@given(instances(max_n=4, max_k=3))
def test_strategies_docstring_usage(kw):
    """The usage shown in lpspec.strategies: a user's callable checked on generated instances."""
    inst = make_instance(**kw)
    q = inst.target

    def my_scheme(x):
        return q  # naive sampling: exact
    assert verify_scheme(my_scheme, **kw, samples=0).exact
