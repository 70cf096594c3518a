"""The optimal acceptance ``P*(acc)``: the dispatcher over the closed forms, the exact max-flow, the
submodular search and the LP.

Every method evaluates the min-cut formula of docs/theory.md §3,

.. math::

    P^*(\\mathrm{acc}) = \\min_{S \\subseteq \\Omega} \\; q(S) + 1 - \\Pr(\\mathrm{set}(X) \\subseteq S),

and returns the minimising ``S`` as the certificate. Layers (imports go downward only):
:mod:`lpspec.solvers.closed_forms` (sorted prefix, subsets, greedy formula) and :mod:`lpspec.certify` sit below
:mod:`lpspec.solvers.lp`, which sits below this module. The closed forms are re-exported here.
"""

from __future__ import annotations

from ..core.instance import Instance, make_instance
from ..core.keywords import DRAFTS, keyword_aliases
from ..core.results import OptimumResult
from ..registry import METHOD_SPECS
from ..registry import METHODS as REGISTERED_METHODS
from .certify import certify_instance
from .closed_forms import (
    few_draft_sets,
    greedy_optimum,
    ratio_order,
    sorted_prefix_optimum,
    subset_optimum,
)
from .lp import CUT_TOLERANCE, solve_instance
from .submodular import TOLERANCE as SUBMODULAR_TOLERANCE
from .submodular import submodular_optimum

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
    "auto_method",
    "solve_with",
]

#: ``method=`` values (:data:`lpspec.registry.METHODS`: ``"auto"`` and every entry of
#: :data:`lpspec.registry.METHOD_SPECS`, ``exact_max_flow`` included).
METHODS = REGISTERED_METHODS


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
    method : {"auto", "sorted_prefix", "greedy_formula", "subsets", "exact_max_flow", "submodular", "lp"} or callable
        A callable ``method(inst) -> OptimumResult`` is called on the built instance (as ``scipy.optimize.minimize``
        takes a callable ``method``). ``auto``: the sorted prefix for identical independent drafts (any n), the greedy formula for the
        greedy law, exhaustive subsets for ``n <= 20`` (exact: ``n <= 14``); beyond, exact input gets the
        rational max-flow of :func:`lpspec.certify` (``method="exact_max_flow"``) while it has at most
        ``MAX_CERTIFY_SETS`` draft sets; then the submodular branch and bound (:mod:`lpspec.solvers.submodular`) for
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
    _check_method(method)
    inst = make_instance(target=target, drafts=drafts, k=k, law=law)
    return optimum_for(inst, method, progress=progress)


def _check_method(method) -> None:
    if not callable(method) and method not in METHODS:
        raise ValueError(f"method={method!r} is not known; choose one of {', '.join(METHODS)}, or pass a callable "
                         "inst -> OptimumResult.")


def auto_method(inst: Instance, among=None) -> str:
    """The method ``method="auto"`` takes on ``inst``: the first entry of :data:`lpspec.registry.METHOD_SPECS`
    (in registry order) whose ``auto_when`` predicate holds, among the names ``among`` (default: all).

    The one auto chain of lpspec: :func:`optimal_acceptance` uses every method; :func:`lpspec.acceptance_one`
    the ones that also give its margin (no ``greedy_formula``).

    Examples
    --------
    >>> auto_method(make_instance(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2))
    'sorted_prefix'
    >>> auto_method(make_instance(target=[0.5, 0.5], drafts=[[0.9, 0.1], [0.2, 0.8]]))
    'subsets'
    """
    names = METHOD_SPECS if among is None else [m for m in METHOD_SPECS if m in set(among)]
    for name in names:
        spec = METHOD_SPECS[name]
        if spec.auto_when == "always" or (spec.auto_when is not None and spec.load("auto_when")(inst)):
            return name
    raise ValueError(f"no method among {', '.join(names) or 'none'} applies to this instance; include 'lp'.")


def solve_with(inst: Instance, method="auto", progress=None) -> OptimumResult:
    """The one solve dispatcher: ``method`` a name of :data:`METHODS` (``"auto"``: :func:`auto_method`) or a
    callable ``inst -> OptimumResult``; the result carries ``renormalised`` from the instance.

    Examples
    --------
    >>> solve_with(make_instance(target=[0.5, 0.5], drafts=[0.9, 0.1], k=2)).method
    'sorted_prefix'
    """
    _check_method(method)
    if callable(method):
        result = method(inst)
        if not isinstance(result, OptimumResult):
            raise ValueError(f"method={getattr(method, '__name__', method)!r} returned {type(result).__name__}; a "
                             "callable method must return an lpspec.core.results.OptimumResult.")
    else:
        name = auto_method(inst) if method == "auto" else method
        result = METHOD_SPECS[name].load("solve")(inst, progress)
    result.renormalised = inst.renormalised
    return result


def optimal_acceptance_for(inst: Instance, method="auto", progress=None) -> OptimumResult:
    """:func:`optimal_acceptance` on an already built :class:`~lpspec.core.instance.Instance` (:func:`solve_with`)."""
    return solve_with(inst, method, progress)


# -------------------------------------------------------------- the registered methods (lpspec.registry)
def _exact_max_flow_fits(inst: Instance) -> bool:
    """Exact input gets an exact answer (the rational max-flow) where it is feasible, not a float solve."""
    return inst.exact and few_draft_sets(inst)


def _independent_law(inst: Instance) -> bool:
    return inst.law == "independent"


def _solve_exact_max_flow(inst: Instance, progress=None) -> OptimumResult:
    cert = certify_instance(inst)
    return OptimumResult(cert.value, cert.cut_set, "exact_max_flow", cert.cut_value, {"certificate": cert})


def _solve_sorted_prefix(inst: Instance, progress=None) -> OptimumResult:
    return sorted_prefix_optimum(inst)


def _solve_subsets(inst: Instance, progress=None) -> OptimumResult:
    return subset_optimum(inst)


def _solve_greedy_formula(inst: Instance, progress=None) -> OptimumResult:
    return greedy_optimum(inst)


def _solve_submodular(inst: Instance, progress=None) -> OptimumResult:
    result = submodular_optimum(inst, progress=progress)
    if inst.exact:  # the value is exact for its set; its optimality is certified in float64
        result.details.update(float_answer=True, tolerance=SUBMODULAR_TOLERANCE)
    return result


def _solve_lp(inst: Instance, progress=None) -> OptimumResult:
    res = solve_instance(inst, form="merged")
    # a float answer, also for exact input: say so, with its tolerance
    return OptimumResult(res.value, res.cut_set, res.method, res.cut_value,
                         {"lp": res, "float_answer": True, "tolerance": CUT_TOLERANCE})


#: The older spelling of :func:`optimal_acceptance_for` (the same function; its ``__name__`` is the twin's).
optimum_for = optimal_acceptance_for
