"""The optimal acceptance ``P*(acc)``: the dispatcher over the closed forms, the exact max-flow, the
submodular search and the LP.

Every method evaluates the min-cut formula of docs/theory.md §3,

.. math::

    P^*(\\mathrm{acc}) = \\min_{S \\subseteq \\Omega} \\; q(S) + 1 - \\Pr(\\mathrm{set}(X) \\subseteq S),

and returns the minimising ``S`` as the certificate. Layers (imports go downward only):
:mod:`lpspec.closed_forms` (sorted prefix, subsets, greedy formula) and :mod:`lpspec.certify` sit below
:mod:`lpspec.lp`, which sits below this module. The closed forms are re-exported here.
"""

from __future__ import annotations

from .certify import certify_instance
from .closed_forms import (
    few_draft_sets,
    greedy_applies,
    greedy_optimum,
    ratio_order,
    sorted_prefix_applies,
    sorted_prefix_optimum,
    subset_optimum,
)
from .instance import Instance, make_instance
from .keywords import DRAFTS, keyword_aliases
from .lp import CUT_TOLERANCE, solve_instance
from .results import OptimumResult
from .submodular import TOLERANCE as SUBMODULAR_TOLERANCE
from .submodular import submodular_optimum
from .subsets import subsets_fit

__all__ = [
    "optimal_acceptance",
    "sorted_prefix_optimum",
    "subset_optimum",
    "greedy_optimum",
    "ratio_order",
    "few_draft_sets",
    "optimum_for",
    "optimal_acceptance_for",
    "METHODS",
]

METHODS = ("auto", "sorted_prefix", "subsets", "greedy_formula", "submodular", "lp")


@keyword_aliases(refused=DRAFTS)
def optimal_acceptance(
    *, target, drafts, k: int | None = None, law: str = "independent", method: str = "auto", progress=None
) -> OptimumResult:
    """Optimal acceptance ``P*(acc)`` of any exact K-draft selection scheme, with its cut certificate.

    .. math::

        P^*(\\mathrm{acc}) = \\min_{S \\subseteq \\Omega} \\; q(S) + 1 - \\Pr(\\mathrm{set}(X) \\subseteq S)

    (the max-flow/min-cut value of the draft-selection LP, docs/theory.md §2–§3; Khisti et al. 2025, Theorem 3 and
    its K-draft remark for identical drafts).

    Parameters
    ----------
    target : array-like, shape (n,)
        Target distribution ``q``.
    drafts : array-like, shape (n,) with ``k``, or (K, n)
        Draft distribution(s) ``p``.
    k : int, optional
        Number of identical drafts (with a single distribution).
    law : {"independent", "without_replacement", "greedy"}
        Draft law (docs/theory.md §6).
    method : {"auto", "sorted_prefix", "subsets", "greedy_formula", "submodular", "lp"}
        ``auto``: the sorted prefix for identical independent drafts (any n), the greedy formula for the
        greedy law, exhaustive subsets for ``n <= 20`` (exact: ``n <= 14``); beyond, exact input gets the
        rational max-flow of :func:`lpspec.certify` (``method="exact_max_flow"``) while it has at most
        ``MAX_CERTIFY_SETS`` draft sets; then the submodular branch and bound (:mod:`lpspec.submodular`) for
        other independent drafts (any n), else the merged LP. An LP value is a float answer
        (``details["float_answer"]``, with its ``details["tolerance"]``), also for exact input; so is the
        optimality of a submodular answer on exact input (its value is the exact cut value of its set).
    progress : callable, optional
        ``method="submodular"`` only: called every 1000 search boxes with ``{"nodes", "open", "best"}``.

    Returns
    -------
    OptimumResult
        ``.value`` (float, or Fraction for exact input except with the LP), ``.cut_set``, ``.method``.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> r = optimal_acceptance(target=[F(1, 3), F(0), F(2, 3)], drafts=[F(1, 3)] * 3, k=2)
    >>> r.value, r.cut_set
    (Fraction(8, 9), (1,))
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not known; choose one of {', '.join(METHODS)}.")
    inst = make_instance(target=target, drafts=drafts, k=k, law=law)
    return optimum_for(inst, method, progress=progress)


def optimum_for(inst: Instance, method: str = "auto", progress=None) -> OptimumResult:
    """:func:`optimal_acceptance` on an already built :class:`~lpspec.instance.Instance`."""
    if method == "auto":
        if sorted_prefix_applies(inst):
            method = "sorted_prefix"
        elif greedy_applies(inst):
            method = "greedy_formula"
        elif subsets_fit(inst):
            method = "subsets"
        elif inst.exact and few_draft_sets(inst):
            # exact input gets an exact answer (the rational max-flow) where it is feasible, not a float solve
            method = "exact_max_flow"
        elif inst.law == "independent":
            method = "submodular"
        else:
            method = "lp"
    if method == "exact_max_flow":
        cert = certify_instance(inst)
        result = OptimumResult(cert.value, cert.cut_set, "exact_max_flow", cert.cut_value, {"certificate": cert})
        result.renormalised = inst.renormalised
        return result
    if method == "sorted_prefix":
        result = sorted_prefix_optimum(inst)
    elif method == "subsets":
        result = subset_optimum(inst)
    elif method == "greedy_formula":
        result = greedy_optimum(inst)
    elif method == "submodular":
        result = submodular_optimum(inst, progress=progress)
        if inst.exact:  # the value is exact for its set; its optimality is certified in float64
            result.details.update(float_answer=True, tolerance=SUBMODULAR_TOLERANCE)
    else:
        res = solve_instance(inst, form="merged")
        # a float answer, also for exact input: say so, with its tolerance
        result = OptimumResult(res.value, res.cut_set, res.method, res.cut_value,
                               {"lp": res, "float_answer": True, "tolerance": CUT_TOLERANCE})
    result.renormalised = inst.renormalised
    return result


#: The Instance twin of :func:`optimal_acceptance` under the ``<name>_for`` pattern (same function as
#: :func:`optimum_for`).
optimal_acceptance_for = optimum_for
