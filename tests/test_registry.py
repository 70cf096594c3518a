"""lpspec.registry states facts about the schemes; these tests check that the facts are true of the code."""

import numpy as np
import pytest

from lpspec import make_instance
from lpspec.registry import (
    BATCHED,
    DEFAULT_TRUNCATION,
    ENUMERATING,
    MAX_SCHEME_TUPLES,
    SCHEME_FACTS,
    acceptance_column,
)
from lpspec.schemes import SCHEMES, TruncatedIS
from lpspec.schemes.compare import COMPARED, compare_schemes_for


def test_one_entry_per_scheme_in_report_order():
    token = [name for name, spec in SCHEME_FACTS.items() if spec.level == "token"]
    assert token == list(COMPARED) == [*SCHEMES, "upper_bound"]
    sequence = [name for name, spec in SCHEME_FACTS.items() if spec.level == "sequence"]
    assert sequence == ["block_verification", "stepwise_optimal", "traversal"]  # the block verifiers, after them
    from lpspec.sequence import BLOCK_SCHEMES

    assert set(BLOCK_SCHEMES) == set(sequence)  # every sequence entry has its evaluator, and no other
    assert TruncatedIS.default_s == DEFAULT_TRUNCATION


def _big(law="independent"):
    """n = 500, K = 2: 250 000 ordered tuples (249 500 without replacement), above MAX_SCHEME_TUPLES."""
    rng = np.random.default_rng(0)
    q, p = rng.dirichlet(np.ones(500)), rng.dirichlet(np.ones(500))
    inst = make_instance(target=q, drafts=p, k=2, law=law)
    assert inst.num_tuples() > MAX_SCHEME_TUPLES
    return inst


@pytest.fixture(scope="module")
def big():
    return {law: _big(law) for law in ("independent", "without_replacement")}


@pytest.mark.parametrize("name", [n for n in SCHEMES])
def test_enumerating_means_it_stops_at_the_tuple_limit(big, name):
    inst = big["without_replacement" if name == "specinfer_wor" else "independent"]
    assert SCHEMES[name].applies_to(inst)
    if name in ENUMERATING:
        with pytest.raises(ValueError, match="250,000|249,500"):
            compare_schemes_for(inst, [name])
    else:
        value = float(compare_schemes_for(inst, [name])[name])  # closed forms: no enumeration
        assert 0.0 < value <= 1.0


def test_batched_names_and_columns():
    torch = pytest.importorskip("torch")  # noqa: F841
    from lpspec import batched

    assert tuple(batched.BATCHED_SCHEMES) == BATCHED
    res = batched.compare_schemes(target=[[0.2, 0.3, 0.5]], drafts=[[0.5, 0.3, 0.2]], k=2, device="cpu")
    assert list(res) == list(BATCHED) and res.not_computed == {}
    row = batched.acceptance_table(target=[[0.2, 0.3, 0.5]], drafts=[[0.5, 0.3, 0.2]], k=2, device="cpu")[0]
    assert [c for c in row if c not in ("position", "k")] == [
        acceptance_column(n, SCHEME_FACTS[n].batched_kind) for n in BATCHED]


def test_default_comparison_leaves_out_exactly_the_enumerating_schemes(big):
    for law, inst in big.items():
        result = compare_schemes_for(inst)
        too_big = {n for n, why in result.not_computed.items() if "draft tuples" in why}
        # at K = 2 the tournament is pairwise_is itself: left out for that reason first
        applicable = {n for n in ENUMERATING if SCHEMES[n].applies_to(inst)} - {"tournament"}
        assert too_big == applicable, law
        if law == "independent":
            assert "pairwise_is itself" in result.not_computed["tournament"]
        assert set(result) | set(result.not_computed) == set(COMPARED)


# ----------------------------------------------------------------------------- specs, laws and methods
def test_a_spec_loads_lazily_and_says_what_is_missing():
    import math

    from lpspec.registry import MissingBackendError, SchemeSpec, load_pointer

    block = SchemeSpec("toy_tree", "Toy tree verifier", None, "-", level="sequence", block_fn="math:fsum")
    assert block.load("block") is math.fsum and not block.batched and not block.has("exact")
    with pytest.raises(MissingBackendError, match="'toy_tree' has no exact backend; it has: block"):
        block.load("exact")
    with pytest.raises(ValueError, match="backend='gpu' is not known"):
        block.load("gpu")
    absent = SchemeSpec("absent", "Absent", None, "-", cls="lpspec.no_such_module:Thing")
    with pytest.raises(MissingBackendError, match="module 'lpspec.no_such_module' cannot be imported"):
        absent.load("exact")
    with pytest.raises(MissingBackendError, match="has no attribute 'nope'"):
        load_pointer("math:nope")
    with pytest.raises(ValueError, match="level='tree' must be"):
        SchemeSpec("bad", "Bad", None, "-", level="tree")


def test_the_law_entries_are_the_laws_of_the_reference():
    """Each LawSpec's tuples, count, closed-form set mass and inclusion against tests/_reference.py
    (independent code), exactly in Fractions, on every set of a 5-token instance with a zero and a tie."""
    import itertools
    from fractions import Fraction as F

    import _reference as R

    from lpspec.registry import LAW_SPECS, LAWS

    assert LAWS == tuple(LAW_SPECS) == ("independent", "without_replacement", "greedy")
    q = [F(1, 5)] * 5
    p = [F(3, 10), F(3, 10), F(1, 5), F(1, 5), F(0)]
    for law, spec in LAW_SPECS.items():
        inst = make_instance(target=q, drafts=p, k=3, law=law)
        truth = R.tuple_masses(drafts=p, k=3, law=law)
        tuples, mass = spec.load("tuples")(inst)
        got = {tuple(t): m for t, m in zip(tuples.tolist(), mass.tolist())}
        assert got == {x: m for x, m in truth.items() if m}, law
        assert spec.load("count")(inst) == len(got) == inst.num_tuples()
        for bits in itertools.product((False, True), repeat=5):
            S = [i for i in range(5) if bits[i]]
            assert inst.containment_probability(np.array(bits)) == R.containment(truth, S), (law, S)
        assert inst.inclusion_probability().tolist() == R.inclusion(truth, 5), law
        draws = spec.load("sample")(inst, np.random.default_rng(0), 200)
        assert draws.shape == (200, 3) and all(got.get(tuple(x), 0) > 0 for x in draws.tolist()), law


def test_the_one_auto_chain():
    """auto_method picks, in registry order, the first method whose predicate holds; acceptance_one walks the same
    chain without the greedy formula; a callable method is called on the instance."""
    from fractions import Fraction as F

    import _reference as R

    from lpspec.core.results import OptimumResult
    from lpspec.registry import METHOD_SPECS
    from lpspec.solvers.optimum import METHODS, auto_method, optimal_acceptance, solve_with
    from lpspec.theory.theorems import acceptance_one

    assert METHODS == ("auto", *METHOD_SPECS) and "exact_max_flow" in METHODS
    rng = np.random.default_rng(3)
    q, p, p2 = (rng.dirichlet(np.ones(21)) for _ in range(3))
    third = [F(1, 3)] * 3
    cases = [
        (make_instance(target=q, drafts=p, k=3), "sorted_prefix"),
        (make_instance(target=q[:6] / q[:6].sum(), drafts=p[:6] / p[:6].sum(), k=3, law="greedy"), "greedy_formula"),
        (make_instance(target=q[:6] / q[:6].sum(), drafts=[p[:6] / p[:6].sum(), p2[:6] / p2[:6].sum()]), "subsets"),
        (make_instance(target=[F(1, 15)] * 15, drafts=[[F(1, 15)] * 15, [F(2, 15)] * 5 + [F(1, 30)] * 10]),
         "exact_max_flow"),
        (make_instance(target=q, drafts=[p, p2]), "submodular"),
        (make_instance(target=q, drafts=p, k=2, law="without_replacement"), "lp"),
    ]
    for inst, want in cases:
        assert auto_method(inst) == want, (inst.describe(), want)
    greedy = cases[1][0]
    assert auto_method(greedy, among=("sorted_prefix", "subsets", "lp")) == "subsets"
    assert acceptance_one(target=greedy.target, drafts=greedy.draft, k=3, law="greedy").method == "subsets"

    def brute(inst):  # an independent solver: brute force over all sets
        value, cut = R.brute_optimum(list(inst.target), R.tuple_masses(drafts=list(inst.draft), k=inst.k))
        return OptimumResult(value, tuple(sorted(cut)), "brute", value)

    r = optimal_acceptance(target=[F(1, 3), F(1, 9), F(5, 9)], drafts=third, k=2, method=brute)
    assert (r.value, r.method) == (F(1), "brute")
    one = acceptance_one(target=[F(1, 3), F(1, 9), F(5, 9)], drafts=third, k=2, method=brute)
    assert one.holds and one.method == "brute"
    with pytest.raises(ValueError, match="must return an lpspec.core.results.OptimumResult"):
        solve_with(cases[0][0], lambda inst: 0.5)
    with pytest.raises(ValueError, match="method='simplex' is not known"):
        solve_with(cases[0][0], "simplex")
