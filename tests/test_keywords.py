"""One keyword for the draft law across the API (``drafts=``): lpspec.core.keywords and where it is applied."""

import inspect
import warnings

import numpy as np
import pytest

import lpspec
import lpspec.batched
import lpspec.experiments
from lpspec.core.keywords import DRAFTS, keyword_aliases
from lpspec.sequence.blocks import block_start_kernel, long_run_block_efficiency
from lpspec.sequence.markov import MarkovPair
from lpspec.sequence.models import NextTokenModels
from lpspec.sequence.multiplicity import multiplicity_table

# Functions that took draft= before: the old spelling still works, with a DeprecationWarning naming drafts=.
DEPRECATED = [lpspec.block_efficiency, lpspec.block_efficiency_mc, lpspec.block_efficiency_table, lpspec.decode,
              block_start_kernel, long_run_block_efficiency, multiplicity_table, MarkovPair.from_arrays,
              NextTokenModels, lpspec.experiments.region_table, lpspec.experiments.acceptance_one_region]


def _takes_drafts(obj) -> bool:
    try:
        return "drafts" in inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return False


def test_decorator_renames_warns_and_refuses():
    @keyword_aliases(deprecated={"old": "new"}, refused={"other": "new"})
    def f(*, new=None, extra=0):
        return new, extra

    with pytest.warns(DeprecationWarning, match=r"f: old= is deprecated; use new="):
        assert f(old=3, extra=1) == (3, 1)
    with pytest.raises(ValueError, match=r"pass new= only"):
        f(old=3, new=4)
    with pytest.raises(ValueError, match=r"f takes new=, not other="):
        f(other=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(new=5) == (5, 0)          # the right spelling: no warning
    assert list(inspect.signature(f).parameters) == ["new", "extra"]
    with pytest.raises(ValueError, match="both deprecated and refused"):
        keyword_aliases(deprecated={"a": "b"}, refused={"a": "b"})


def test_keywords_module_imports_nothing_from_lpspec():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(lpspec.core.keywords.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("lpspec")
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("lpspec") for a in node.names)


@pytest.mark.parametrize("func", DEPRECATED, ids=lambda f: getattr(f, "__qualname__", str(f)))
def test_old_draft_keyword_is_deprecated_everywhere(func):
    assert _takes_drafts(func), func
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DeprecationWarning, match="draft= is deprecated; use drafts="):
            func(draft=[[1.0]])


def test_every_public_drafts_function_refuses_draft_with_a_value_error():
    """Every public callable of lpspec / lpspec.batched taking drafts= answers draft= with a ValueError naming
    drafts= (before any work), or accepts it with a DeprecationWarning."""
    seen = 0
    for module in (lpspec, lpspec.batched):
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or not _takes_drafts(obj) or getattr(obj, "__dataclass_fields__", None):
                continue
            seen += 1
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                with pytest.raises((ValueError, DeprecationWarning), match=r"drafts="):
                    obj(target=[0.5, 0.5], draft=[0.5, 0.5], k=2)
    assert seen >= 12


def test_deprecated_spelling_gives_the_same_numbers():
    # Block efficiency of a bigram pair whose rows are all q = (1/2, 1/2), p = (0.9, 0.1), K = 1, L = 2:
    # the token acceptance is sum min(q, p) = 0.5 + 0.1 = 0.6 at each depth, so tau = 1 + 0.6 + 0.36 = 1.96.
    q = [[0.5, 0.5], [0.5, 0.5]]
    p = [[0.9, 0.1], [0.9, 0.1]]
    with pytest.warns(DeprecationWarning):
        old = lpspec.block_efficiency(target=q, draft=p, k=1, length=2, scheme="single_draft").value
    new = lpspec.block_efficiency(target=q, drafts=p, k=1, length=2, scheme="single_draft").value
    assert old == new and abs(new - 1.96) < 1e-12
    # multiplicity table a(y, m) for specinfer, q = p uniform on 2 tokens, j = 2: y is accepted at draft 1
    # with probability 1/2 ... (the brute force in tests/test_blocks.py checks the values; here: same table).
    with pytest.warns(DeprecationWarning):
        a = multiplicity_table("specinfer", target=[0.5, 0.5], draft=[0.5, 0.5], j=2)
    np.testing.assert_array_equal(a, multiplicity_table("specinfer", target=[0.5, 0.5], drafts=[0.5, 0.5], j=2))


def test_scheme_classes_refuse_draft():
    with pytest.raises(ValueError, match=r"Scheme\(\) takes drafts=, not draft="):
        lpspec.SpecTr(target=[0.5, 0.5], draft=[0.5, 0.5], k=2)
    assert DRAFTS == {"draft": "drafts"}
