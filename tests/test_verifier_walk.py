"""The ``S*`` root solver of the rank verifier (a breakpoint walk and a one-segment Newton solve,
``lpspec.verifier.rank._Side._place_star``) against the generic bracketing it replaces, and against the property
that defines the greedy's root (docs/theory.md §9): a window of ``S*`` that slid carries *exactly* ``q(y)``
(the largest offset with ``M >= q`` is a root of ``M = q``), not merely ``M >= q``.

Expected values are independent of the solver under test: ``q`` itself (equality at the root), the bounds of
``OptimalVerifier.check``, and the plan built with every ``S*`` slide sent through the generic bracketing.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_verifier import lm_pair, packed_pair  # noqa: E402  (tests/ is on pytest's pythonpath)

import lpspec.verifier.rank as V
from lpspec import optimal_verifier

U = 2.0**-53


def slid_at_equality(v, tol):
    """How many tokens of ``S*`` carry ``q(y)`` to within ``tol`` (every slid window must)."""
    S = v.cut_mask
    return int(np.sum(np.abs(v.selection_law[S] - v.target[S]) <= tol))


@pytest.mark.parametrize("pair", [lm_pair, packed_pair])
@pytest.mark.parametrize("k", [2, 3, 4, 8])
def test_walk_solver_gives_the_greedy_root(pair, k, monkeypatch):
    q, p = pair(4000, 17 + k)
    calls = {"walk": 0, "placed": 0}
    walk = V._Side._place_star

    def counting(self, *args):
        calls["walk"] += 1
        placed = walk(self, *args)
        calls["placed"] += placed
        return placed

    monkeypatch.setattr(V._Side, "_place_star", counting)
    fast = optimal_verifier(target=q, drafts=p, k=k, engine="numpy")  # Python solver
    report = fast.check()
    assert calls["placed"] > 0.5 * fast.slides["S"] > 0  # the solver under test placed most of the slides
    if pair is lm_pair:
        assert fast.piece_stats()["max"] >= 3  # windows across whole free intervals (the walk's long segments)
    # every slid window of S* is at the root: M(R_y) = q(y) up to a few ulps of mass (density <= K)
    tol = 64 * k * U
    assert slid_at_equality(fast, tol) >= fast.slides["S"] - fast.slides["forced"]
    # the same plan, within the check's mass bound, as the generic bracketing of every S* slide
    monkeypatch.setattr(V._Side, "_place_star", lambda self, *args: False)
    generic = optimal_verifier(target=q, drafts=p, k=k, engine="numpy")
    generic.check()
    assert generic.slides == fast.slides
    assert np.max(np.abs(generic.selection_law - fast.selection_law)) <= report["mass_bound"]
    assert abs(generic.acceptance - fast.acceptance) <= report["mass_bound"]
