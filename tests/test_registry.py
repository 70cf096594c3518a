"""lpspec.registry states facts about the schemes; these tests check that the facts are true of the code."""

import numpy as np
import pytest

from lpspec import make_instance
from lpspec.compare import COMPARED, compare_schemes_for
from lpspec.registry import (
    BATCHED,
    DEFAULT_TRUNCATION,
    ENUMERATING,
    MAX_SCHEME_TUPLES,
    SCHEME_FACTS,
    acceptance_column,
)
from lpspec.schemes import SCHEMES, TruncatedIS


def test_one_entry_per_scheme_in_report_order():
    assert list(SCHEME_FACTS) == list(COMPARED) == [*SCHEMES, "upper_bound"]
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
