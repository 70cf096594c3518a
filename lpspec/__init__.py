"""lpspec: the linear-programming theory of multi-draft speculative sampling, as a toolkit and verifier.

Notation (MATH.md): ``q`` is the target, ``p`` a draft; public functions take ``target=`` and ``drafts=``
by keyword. See README.md.
"""

from .certify import ExactCertificate, certify
from .decomposition import CanonicalDecomposition, canonical_decomposition, two_step_from_beta
from .distributions import SUM_TOLERANCE, as_distribution
from .instance import LAWS, Instance, make_instance
from .lp import FORMS, LPResult, solve_lp
from .optimum import optimal_acceptance
from .results import LPSolveError, OptimumResult
from .theorems import AcceptanceOneResult, Theorem3Result, acceptance_one, theorem3

__all__ = [
    "SUM_TOLERANCE",
    "LAWS",
    "FORMS",
    "Instance",
    "make_instance",
    "as_distribution",
    "OptimumResult",
    "LPResult",
    "LPSolveError",
    "ExactCertificate",
    "optimal_acceptance",
    "solve_lp",
    "certify",
    "canonical_decomposition",
    "two_step_from_beta",
    "CanonicalDecomposition",
    "acceptance_one",
    "AcceptanceOneResult",
    "theorem3",
    "Theorem3Result",
]

__version__ = "0.1.0"
