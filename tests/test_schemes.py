"""Built-in selection schemes: exactness, closed forms against enumeration, bounds, published values.

Expected values come from: the target itself (exactness), a second code path (closed form vs. the enumeration
of every draft tuple), the min-cut optimum of lpspec.solvers.optimum (a different algorithm), brute-force sums over
tuples written here, docs/theory.md §4–§7 and the paper's Figure 2.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lpspec import make_instance
from lpspec.schemes import (
    SCHEMES,
    SIR,
    CanonicalScheme,
    ImportanceScheme,
    NaiveSampling,
    OptimalScheme,
    PairwiseIS,
    SingleDraft,
    SpecInfer,
    SpecInferWithoutReplacement,
    SpecTr,
    Tournament,
    TruncatedIS,
    make_scheme,
    sample_drafts,
    spectr_rho,
)
from lpspec.solvers.optimum import optimum_for
from lpspec.strategies import distributions, instances

TOL = 1e-9


def brute_inclusion(inst):
    """Pr(y ∈ set(X)) by summing tuple masses (independent of Instance.inclusion_probability)."""
    out = [0.0] * inst.n
    for x, m in zip(inst.tuple_table.tuples.tolist(), inst.tuple_table.mass.tolist()):
        for y in set(x):
            out[y] += float(m)
    return np.array(out)


def applicable(inst):
    return [cls for cls in SCHEMES.values() if cls.applies_to(inst)]


def build(cls, inst):
    return cls(inst)


def test_canonical_with_a_tiny_set_mass():
    # the IS LP may leave a draft set of mass ~1e-12 without weight; any β is valid there
    inst = make_instance(target=[1.0, 0.0], drafts=[1.0, 1.21310967e-12], k=1, law="without_replacement")
    assert CanonicalScheme(inst).output_error() <= TOL


# ---------------------------------------------------------------------------------------------- exactness
@settings(max_examples=60, deadline=None)
@given(instances(max_n=5, max_k=3))
def test_every_builtin_scheme_is_exact_and_below_optimum(kw):
    inst = make_instance(**kw)
    opt = float(optimum_for(inst).value)
    bound = float(np.minimum(inst.target.astype(float), brute_inclusion(inst)).sum())
    assert opt <= bound + 1e-12
    for cls in applicable(inst):
        s = build(cls, inst)
        if s is None:
            continue
        assert s.output_error() <= TOL, s.name
        acc = float(s.acceptance)
        if s.name != "single_draft":  # single_draft reports the K = 1 figure, also <= P* (checked below)
            assert acc <= opt + TOL, (s.name, acc, opt)
        assert acc >= -1e-15
        cf = s.closed_form_acceptance()
        if cf is not None:
            assert float(cf) == pytest.approx(float(s.enumerated_acceptance()), abs=1e-12), s.name
        if isinstance(s, ImportanceScheme):
            assert float(s.sd_acceptance) <= acc + 1e-12, s.name
            by_tuples = s.decomposition.intermediate.astype(float)
            assert np.allclose(s.intermediate.astype(float), by_tuples, atol=1e-12)
    assert float(SingleDraft(inst).acceptance) <= opt + TOL


@settings(max_examples=40, deadline=None)
@given(instances(max_n=4, max_k=3, exact=True))
def test_exact_arithmetic_schemes_are_exactly_exact(kw):
    """With Fraction input the rejection schemes, naive, SIR and the optimum are exact in rationals."""
    inst = make_instance(**kw)
    opt = optimum_for(inst).value
    rational = (SingleDraft, SpecInfer, SpecInferWithoutReplacement, SpecTr, NaiveSampling, SIR, OptimalScheme)
    for cls in rational:
        if not cls.applies_to(inst):
            continue
        s = cls(inst)
        assert s.exact
        out = s.output_distribution()
        assert list(out) == list(inst.target), s.name
        acc = s.enumerated_acceptance()
        assert isinstance(acc, F), s.name
        cf = s.closed_form_acceptance()
        if cf is not None and cls is not SpecTr:
            assert cf == acc, s.name  # closed form == enumeration, exactly
        if cls is not SingleDraft:
            assert acc <= opt
    assert OptimalScheme(inst).enumerated_acceptance() == opt


def test_conditional_rows_are_distributions_and_validate_x():
    inst = make_instance(target=[0.2, 0.3, 0.5], drafts=[[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]])
    for cls in applicable(inst):
        s = cls(inst)
        for x in inst.tuple_table.tuples.tolist():
            row = np.asarray(s.conditional(x), dtype=float)
            assert row.min() >= -1e-15 and abs(row.sum() - 1) <= 1e-12
        with pytest.raises(ValueError, match="tuple of K=2"):
            s.conditional((0,))
        with pytest.raises(ValueError, match="tokens in 0..2"):
            s.conditional((0, 3))


# ---------------------------------------------------------------------------------------------- closed forms
def test_specinfer_closed_form_matches_a_direct_recursion():
    """1 - Π(1 - a_i) against a recursion over the rejection process written here from docs/theory.md §5."""
    q = [F(1, 10), F(2, 5), F(1, 2)]
    drafts = [[F(1, 2), F(1, 4), F(1, 4)], [F(1, 3), F(1, 3), F(1, 3)], [F(0), F(1, 2), F(1, 2)]]

    def direct(r, i):
        if i == len(drafts):
            return F(0)
        p = drafts[i]
        acc = sum((min(a, b) for a, b in zip(r, p)), F(0))
        diff = [max(a - b, F(0)) for a, b in zip(r, p)]
        tot = sum(diff, F(0))
        nxt = [d / tot for d in diff] if tot else r
        return acc + (1 - acc) * direct(nxt, i + 1)

    s = SpecInfer(target=q, drafts=drafts)
    assert s.acceptance == direct(q, 0) == s.enumerated_acceptance()


def test_naive_and_single_draft_closed_forms_by_brute_force():
    q = [F(1, 2), F(1, 3), F(1, 6)]
    p1, p2 = [F(1, 4), F(1, 4), F(1, 2)], [F(2, 3), F(1, 3), F(0)]
    naive = NaiveSampling(target=q, drafts=[p1, p2])
    brute = sum((p1[a] * p2[b] * sum((q[y] for y in {a, b}), F(0))
                 for a, b in itertools.product(range(3), repeat=2)), F(0))
    assert naive.acceptance == brute
    single = SingleDraft(target=q, drafts=[p1, p2])
    by_hand = sum((min(a, b) for a, b in zip(p1, q)), F(0))
    assert single.acceptance == by_hand == single.enumerated_acceptance()


def test_single_draft_is_not_a_membership_figure():
    """The K = 1 scheme counts only Y = X_1; its K-draft membership would be larger."""
    inst = make_instance(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2)
    s = SingleDraft(inst)
    assert s.acceptance == pytest.approx(0.6, abs=1e-15)
    membership = sum(m * s.conditional(x)[list(set(x))].sum()
                     for x, m in zip(inst.tuple_table.tuples.tolist(), inst.tuple_table.mass))
    # by hand: X_1 = 0 is rejected w.p. 0.9 (1 - 5/9) = 0.4, the residual is token 1, and X_2 = 1 w.p. 0.1
    assert membership == pytest.approx(0.6 + 0.4 * 0.1, abs=1e-15)


def test_specinfer_wor_uses_the_renormalised_draft_law():
    """Exact with p_S (enumerated output == q); the variant with the original p is not (docs/theory.md §5)."""
    q, p = np.array([0.1, 0.2, 0.7]), np.array([0.6, 0.3, 0.1])
    s = SpecInferWithoutReplacement(target=q, drafts=p, k=2, law="without_replacement")
    assert s.output_error() <= 1e-15
    assert float(s.acceptance) == pytest.approx(float(s.enumerated_acceptance()), abs=1e-15)


# ---------------------------------------------------------------------------------------------- SpecTr
def test_spectr_rho_is_the_smallest_root():
    q, p = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.2, 0.6])
    for K in (1, 2, 3, 5):
        rho = spectr_rho(q, p, K)
        grid = np.linspace(1, rho, 2000)[:-1]

        def f(r, K=K):
            b = np.minimum(p, q / r).sum()
            return 1 - (1 - b) ** K - r * b

        assert 1 <= rho <= K and f(rho) <= 1e-15
        if rho > 1:
            assert all(f(r) > 0 for r in grid)
        else:
            assert K == 1  # f(ρ) = b (1 - ρ): ρ* = 1


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 7).flatmap(lambda n: st.tuples(distributions(n), distributions(n))), st.integers(1, 6))
def test_spectr_at_least_one_minus_one_over_e_of_optimum(qp, K):
    q, p = qp
    inst = make_instance(target=q, drafts=p, k=K)
    s = SpecTr(inst)
    opt = float(optimum_for(inst).value)
    assert float(s.round_acceptance) >= (1 - 1 / math.e) * opt - 1e-12
    assert float(s.acceptance) <= opt + 1e-9
    assert float(s.acceptance) >= float(s.round_acceptance) - 1e-15


# ------------------------------------------------------------------------------------------ Figure 2 / SIR
THIRD = [F(1, 3)] * 3


def test_figure2_left_q2_zero():
    q = [F(1, 3), F(0), F(2, 3)]
    spectr = (11 + math.sqrt(13)) / 18
    assert float(SpecTr(target=q, drafts=THIRD, k=2).acceptance) == pytest.approx(spectr, abs=1e-12)
    assert SpecInfer(target=q, drafts=THIRD, k=2).acceptance == F(7, 9)
    assert OptimalScheme(target=q, drafts=THIRD, k=2).acceptance == F(8, 9)
    floats = SpecTr(target=[1 / 3, 0, 2 / 3], drafts=[1 / 3] * 3, k=2)
    assert floats.acceptance == pytest.approx(spectr, abs=1e-12)


def test_figure2_left_q2_one_ninth():
    q = [F(1, 3), F(1, 9), F(5, 9)]
    s = SpecTr(target=q, drafts=THIRD, k=2)
    assert s.rho == F(4, 3) and s.acceptance == F(8, 9)
    assert SpecInfer(target=q, drafts=THIRD, k=2).acceptance == F(23, 27)
    assert OptimalScheme(target=q, drafts=THIRD, k=2).acceptance == 1


@pytest.mark.parametrize("left", [True, False])
def test_figure2_curves(left):
    """P* = min(1, 8/9 + min q, 14/9 - max q) (docs/theory.md §7); SpecTr, SpecInfer < 1 except at q = p."""
    first = F(1, 3) if left else F(1, 6)
    for j in range(19):
        q2 = (1 - first) * F(j, 18)
        q = [first, q2, 1 - first - q2]
        formula = min(F(1), F(8, 9) + min(q), F(14, 9) - max(q))
        assert OptimalScheme(target=q, drafts=THIRD, k=2).acceptance == formula
        spectr = SpecTr(target=q, drafts=THIRD, k=2).acceptance
        specinfer = SpecInfer(target=q, drafts=THIRD, k=2).acceptance
        assert specinfer <= spectr + F(1, 10**12) <= formula + F(1, 10**12)
        if q != THIRD:
            assert spectr < 1 and specinfer < 1
    lo, hi = (F(1, 9), F(5, 9)) if left else (F(5, 18), F(5, 9))
    for q2 in (lo, hi, (lo + hi) / 2):
        assert OptimalScheme(target=[first, q2, 1 - first - q2], drafts=THIRD, k=2).acceptance == 1


def test_sir_example_of_math_section_4():
    s = SIR(target=[F(3, 4), F(1, 4)], drafts=[F(1, 2), F(1, 2)], k=2)
    assert s.sd_acceptance == F(7, 8)
    assert s.acceptance == F(11, 12)


def test_sir_uniform_fallback_when_all_weights_vanish():
    s = SIR(target=[F(0), F(0), F(1)], drafts=[F(1, 2), F(1, 2), F(0)], k=2)
    assert list(s.beta((0, 1))) == [F(1, 2), F(1, 2), F(0)]
    assert list(s.output_distribution()) == [F(0), F(0), F(1)]


# ---------------------------------------------------------------------------------------------- IS family
@settings(max_examples=25, deadline=None)
@given(instances(max_n=6, min_k=2, max_k=2, laws=("independent",)))
def test_pairwise_lp_reaches_optimum_for_two_drafts(kw):
    inst = make_instance(**kw)
    opt = float(optimum_for(inst).value)
    s = PairwiseIS(inst)
    assert float(s.sd_acceptance) == pytest.approx(opt, abs=1e-8)
    assert float(s.acceptance) == pytest.approx(opt, abs=1e-8)
    assert TruncatedIS(inst, s=inst.n).sd_acceptance == pytest.approx(s.sd_acceptance, abs=1e-8)


def test_pairwise_lp_reaches_optimum_under_other_laws():
    for law in ("without_replacement", "greedy"):
        inst = make_instance(target=[0.1, 0.5, 0.15, 0.25], drafts=[0.4, 0.3, 0.2, 0.1], k=2, law=law)
        assert PairwiseIS(inst).acceptance == pytest.approx(float(optimum_for(inst).value), abs=1e-8)


@settings(max_examples=25, deadline=None)
@given(instances(min_n=3, max_n=7, min_k=2, max_k=2, laws=("independent",)), st.integers(1, 6))
def test_truncated_lp_loss_is_bounded(kw, s):
    inst = make_instance(**kw)
    q, p1, p2 = (np.asarray(v, dtype=float) for v in (inst.target, inst.drafts[0], inst.drafts[1]))
    key = q - p1 * p2
    order = sorted(range(inst.n), key=lambda i: (-key[i], i))
    top = order[:s]
    scheme = TruncatedIS(inst, s=s)
    assert scheme.stage_info[0]["top_tokens"] == tuple(top)
    bound = 1 - p1[top].sum() * p2[top].sum()
    opt = float(optimum_for(inst).value)
    assert opt - float(scheme.sd_acceptance) <= bound + 1e-9
    assert float(scheme.sd_acceptance) <= float(scheme.acceptance) + 1e-12 <= opt + 1e-9
    # pairs with a token outside the top s select the better-ranked token
    rank = {t: r for r, t in enumerate(order)}
    W = scheme.stages[0]
    for i, j in itertools.permutations(range(inst.n), 2):
        if rank[i] >= s or rank[j] >= s:
            assert W[i, j] == (1.0 if rank[i] < rank[j] else 0.0)


def test_truncation_ties_by_index():
    """Equal scores q - p1 p2 rank the lower index first."""
    inst = make_instance(target=[0.25, 0.25, 0.25, 0.25], drafts=[0.25] * 4, k=2)
    assert TruncatedIS(inst, s=2).stage_info[0]["top_tokens"] == (0, 1)


@settings(max_examples=20, deadline=None)
@given(instances(max_n=4, min_k=3, max_k=4, laws=("independent",)))
def test_tournament_is_exact_and_below_optimum(kw):
    inst = make_instance(**kw)
    t = Tournament(inst)
    opt = float(optimum_for(inst).value)
    assert t.output_error() <= TOL
    assert float(t.sd_acceptance) <= float(t.acceptance) + 1e-12 <= opt + TOL
    # the stage-by-stage p_I equals Σ_x P(x) β(x) over all tuples
    assert np.allclose(t.intermediate, t.decomposition.intermediate, atol=1e-12)
    truncated = Tournament(inst, s=2)
    assert truncated.output_error() <= TOL
    assert float(truncated.sd_acceptance) <= float(truncated.acceptance) + 1e-12 <= opt + TOL
    assert np.allclose(truncated.intermediate, truncated.decomposition.intermediate, atol=1e-12)


def test_tournament_with_two_drafts_is_the_pairwise_scheme():
    inst = make_instance(target=[0.1, 0.2, 0.3, 0.4], drafts=[[0.4, 0.3, 0.2, 0.1], [0.25] * 4])
    assert Tournament(inst).sd_acceptance == pytest.approx(PairwiseIS(inst).sd_acceptance, abs=1e-9)
    truncated = TruncatedIS(inst, s=2).sd_acceptance
    assert Tournament(inst, s=2).sd_acceptance == pytest.approx(truncated, abs=1e-9)


def test_tournament_is_not_always_optimal():
    """Some K = 3 instance has the tournament strictly below P* (it is near-optimal, not optimal)."""
    rng = np.random.default_rng(3)
    gaps = []
    for _ in range(30):
        q, p = rng.dirichlet(np.full(4, 0.5)), rng.dirichlet(np.full(4, 0.5))
        inst = make_instance(target=q, drafts=p, k=3)
        gaps.append(float(optimum_for(inst).value) - float(Tournament(inst).sd_acceptance))
    assert min(gaps) >= -1e-9 and max(gaps) > 1e-6


@pytest.mark.parametrize("kw", [
    {"target": [0.1, 0.6, 0.3], "drafts": [0.5, 0.25, 0.25], "k": 2},
    {"target": [0.1, 0.6, 0.2, 0.1], "drafts": [[0.5, 0.25, 0.25, 0.0], [0.1, 0.1, 0.1, 0.7], [0.25] * 4]},
    {"target": [0.1, 0.6, 0.2, 0.1], "drafts": [0.4, 0.3, 0.2, 0.1], "k": 3, "law": "without_replacement"},
])
def test_optimal_and_canonical_sd_equals_membership_equals_optimum(kw):
    inst = make_instance(**kw)
    opt = float(optimum_for(inst).value)
    c = CanonicalScheme(inst)
    assert float(c.sd_acceptance) == pytest.approx(opt, abs=1e-9)
    assert float(c.acceptance) == pytest.approx(opt, abs=1e-9)
    o = OptimalScheme(inst)
    assert float(o.enumerated_acceptance()) == pytest.approx(opt, abs=1e-9)
    for x in inst.tuple_table.tuples.tolist()[:5]:
        assert np.allclose(c.conditional(x), c.decomposition.conditional(x), atol=1e-12)


# ---------------------------------------------------------------------------------------------- applicability
def test_schemes_refuse_instances_they_do_not_apply_to():
    wor = make_instance(target=[0.2, 0.3, 0.5], drafts=[0.4, 0.4, 0.2], k=2, law="without_replacement")
    different = make_instance(target=[0.2, 0.3, 0.5], drafts=[[0.4, 0.4, 0.2], [0.1, 0.1, 0.8]])
    k3 = make_instance(target=[0.2, 0.3, 0.5], drafts=[0.4, 0.4, 0.2], k=3)
    with pytest.raises(ValueError, match="specinfer_wor"):
        SpecInfer(wor)
    with pytest.raises(ValueError, match="without_replacement"):
        SpecInferWithoutReplacement(different)
    with pytest.raises(ValueError, match="identical"):
        SpecTr(different)
    with pytest.raises(ValueError, match="K = 2"):
        PairwiseIS(k3)
    with pytest.raises(ValueError, match="K = 2"):
        TruncatedIS(k3)
    with pytest.raises(ValueError, match="independent"):
        Tournament(make_instance(target=[0.2, 0.3, 0.5], drafts=[0.4, 0.4, 0.2], k=3, law="greedy"))
    assert SpecInfer.applies_to(different) and not SpecInfer.applies_to(wor)


def test_bad_parameters_and_constructor_use():
    inst = make_instance(target=[0.2, 0.3, 0.5], drafts=[0.4, 0.4, 0.2], k=2)
    for bad in (0, -1, 2.5, True, "5"):
        with pytest.raises(ValueError, match="positive integer"):
            TruncatedIS(inst, s=bad)
    with pytest.raises(ValueError, match="takes no s"):
        PairwiseIS(inst, s=3)
    with pytest.raises(ValueError, match="not both"):
        SpecInfer(inst, target=[0.5, 0.5])
    with pytest.raises(ValueError, match="target= and drafts="):
        SpecInfer()
    with pytest.raises(ValueError, match="Instance"):
        SpecInfer([0.5, 0.5])
    with pytest.raises(ValueError, match="not built in"):
        make_scheme("nope", inst)
    assert make_scheme("spectr", target=[0.2, 0.3, 0.5], drafts=[0.4, 0.4, 0.2], k=2).name == "spectr"


def test_enumeration_size_guard():
    inst = make_instance(target=np.full(600, 1 / 600), drafts=np.full(600, 1 / 600), k=2)
    s = SIR(inst)
    with pytest.raises(ValueError, match="draft tuples"):
        _ = s.acceptance
    # closed forms need no enumeration
    assert SpecInfer(inst).acceptance == pytest.approx(1.0)
    assert float(NaiveSampling(inst).acceptance) == pytest.approx(1 - (1 - 1 / 600) ** 2)


# ---------------------------------------------------------------------------------------------- sampling
def test_draft_tuple_sampler_matches_each_law():
    from scipy import stats

    rng = np.random.default_rng(11)
    for law in ("independent", "without_replacement", "greedy"):
        inst = make_instance(target=[0.25] * 4, drafts=[0.4, 0.3, 0.2, 0.1], k=3, law=law)
        tt = inst.tuple_table
        draws = sample_drafts(inst, rng, 30_000)
        index = {tuple(t): i for i, t in enumerate(tt.tuples.tolist())}
        counts = np.zeros(len(index))
        for t in map(tuple, draws.tolist()):
            counts[index[t]] += 1  # KeyError would mean a tuple of probability zero
        expected = 30_000 * tt.mass.astype(float)
        big = expected >= 5
        obs = np.append(counts[big], counts[~big].sum())
        exp = np.append(expected[big], expected[~big].sum())
        keep = exp > 0
        assert stats.chisquare(obs[keep], exp[keep] * obs.sum() / exp[keep].sum()).pvalue > 1e-4, law


@pytest.mark.parametrize("name", list(SCHEMES))
def test_sample_agrees_with_conditional(name):
    """For a fixed draft tuple, the sampler's frequencies fit π(·|x) (chi-square, fixed seed)."""
    from scipy import stats

    law = "without_replacement" if name == "specinfer_wor" else "independent"
    k = 3 if name == "tournament" else 2
    inst = make_instance(target=[0.1, 0.2, 0.3, 0.4], drafts=[0.4, 0.3, 0.2, 0.1], k=k, law=law)
    s = SCHEMES[name](inst)
    rng = np.random.default_rng(5)
    x = (0, 1, 2)[:k]
    law_x = np.asarray(s.conditional(x), dtype=float)
    counts = np.bincount([s.sample(x, rng) for _ in range(4000)], minlength=4)
    assert np.all(counts[law_x == 0] == 0)
    support = law_x > 0
    if support.sum() > 1:
        assert stats.chisquare(counts[support], 4000 * law_x[support] / law_x[support].sum()).pvalue > 1e-4
