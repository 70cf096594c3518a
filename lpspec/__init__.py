"""lpspec: the linear-programming theory of multi-draft speculative sampling, as a toolkit and verifier.

Notation (docs/theory.md): ``q`` is the target, ``p`` a draft; public functions take ``target=`` and ``drafts=``
by keyword. See README.md.

Instance twins: every keyword function ``name(*, target, drafts, k=None, law=..., ...)`` that builds an
:class:`Instance` has a twin ``name_for(inst, ...)`` in the same module, which takes an already built instance
(from :func:`make_instance`) and the same remaining options, so one instance serves many calls:

==============================  =====================================================
keyword function                Instance twin
==============================  =====================================================
``optimal_acceptance``          :func:`lpspec.solvers.optimum.optimal_acceptance_for`
``solve_lp``                    :func:`lpspec.solvers.lp.solve_lp_for`
``certify``                     :func:`lpspec.solvers.certify.certify_for`
``canonical_decomposition``     :func:`lpspec.theory.decomposition.canonical_decomposition_for`
``acceptance_one``              :func:`lpspec.theory.theorems.acceptance_one_for`
``theorem3``                    :func:`lpspec.theory.theorems.theorem3_for`
``compare_schemes``             :func:`lpspec.schemes.compare.compare_schemes_for`
``verify_scheme``               :func:`lpspec.schemes.verify.verify_scheme_for`
``optimal_verifier``            :func:`lpspec.verifier.rank.optimal_verifier_for`
==============================  =====================================================

Older spellings of some twins stay as aliases (``optimum_for``, ``solve_instance``, ``certify_instance``,
``decomposition_for``, ``verifier_for``). Functions over context-dependent laws (``block_efficiency*``,
``block_start_kernel``, ``long_run_block_efficiency``, ``decode``, ``multiplicity_table``, and the
sequence level: ``block_optimum``, ``verify_block_scheme``) take ``drafts=`` per context rather than one instance and
have no twin; a :class:`~lpspec.schemes.Scheme` takes ``instance=``.
"""

from . import _relocated
from ._version import __version__ as __version__
from .core.distributions import as_distribution
from .core.instance import LAWS, Instance, make_instance
from .core.results import LPSolveError, OptimumResult
from .experiments.families import draw_instance
from .experiments.figures import figure2
from .experiments.sweep import SweepSpec, load_spec, run_sweep
from .io.export import Table, write_table
from .io.instances import example_names, load_example, load_instance_file
from .schemes import (
    SCHEMES,
    SIR,
    CanonicalScheme,
    ImportanceScheme,
    NaiveSampling,
    OptimalScheme,
    PairwiseIS,
    Scheme,
    SingleDraft,
    SpecInfer,
    SpecInferWithoutReplacement,
    SpecTr,
    Tournament,
    TruncatedIS,
    make_scheme,
    sample_drafts,
)
from .schemes.compare import compare_schemes, upper_bound
from .schemes.verify import VerificationReport, verify_scheme
from .sequence import block_optimum
from .sequence.blocks import block_efficiency, block_efficiency_mc, block_efficiency_table
from .sequence.corpus import load_pair as load_markov_example
from .sequence.decode import decode
from .sequence.markov import MarkovPair, load_markov_pair
from .sequence.verify_blocks import verify_block_scheme
from .solvers.certify import ExactCertificate, certify
from .solvers.lp import LPResult, solve_lp
from .solvers.optimum import optimal_acceptance
from .theory.decomposition import CanonicalDecomposition, canonical_decomposition
from .theory.theorems import AcceptanceOneResult, Theorem3Result, acceptance_one, theorem3
from .verifier.rank import OptimalVerifier, optimal_verifier

__all__ = [
    "LAWS",
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
    "CanonicalDecomposition",
    "acceptance_one",
    "AcceptanceOneResult",
    "theorem3",
    "Theorem3Result",
    "compare_schemes",
    "upper_bound",
    "verify_scheme",
    "optimal_verifier",
    "OptimalVerifier",
    "VerificationReport",
    "Scheme",
    "ImportanceScheme",
    "SCHEMES",
    "make_scheme",
    "sample_drafts",
    "OptimalScheme",
    "CanonicalScheme",
    "SingleDraft",
    "SpecInfer",
    "SpecInferWithoutReplacement",
    "SpecTr",
    "NaiveSampling",
    "SIR",
    "PairwiseIS",
    "TruncatedIS",
    "Tournament",
    "run_sweep",
    "load_spec",
    "SweepSpec",
    "Table",
    "write_table",
    "draw_instance",
    "load_instance_file",
    "load_example",
    "example_names",
    "figure2",
    "MarkovPair",
    "load_markov_pair",
    "load_markov_example",
    "block_efficiency",
    "block_efficiency_mc",
    "block_efficiency_table",
    "block_optimum",
    "decode",
    "verify_block_scheme",
]

#: Names that left the top level for the submodule that owns them (the top level keeps what a user needs);
#: the old spelling still works, with a DeprecationWarning that names the new place.
_MOVED = {
    "to_csv": "lpspec.io",
    "read_csv": "lpspec.io",
    "to_markdown": "lpspec.io",
    "to_latex": "lpspec.io",
    "to_json": "lpspec.io",
    "to_dataframe": "lpspec.io",
    "acceptance_one_region": "lpspec.experiments",
    "acceptance_vs_k": "lpspec.experiments",
    "save_figure": "lpspec.experiments",
    "block_start_kernel": "lpspec.sequence.blocks",
    "long_run_block_efficiency": "lpspec.sequence.blocks",
    "BlockEfficiency": "lpspec.sequence.blocks",
    "MonteCarloBlockEfficiency": "lpspec.sequence.blocks",
    "multiplicity_table": "lpspec.sequence.multiplicity",
    "DecodeResult": "lpspec.sequence.decode",
    "NextTokenModels": "lpspec.sequence.models",
    "two_step_from_beta": "lpspec.theory.decomposition",
    "SUM_TOLERANCE": "lpspec.core.distributions",
    "FORMS": "lpspec.solvers.lp",
}


#: The subpackages reachable as attributes after ``import lpspec`` (documented in docs/api): every other
#: submodule is imported by its name (``import lpspec.solvers.optimum``, ``from lpspec.solvers.lp import ...``).
SUBPACKAGES = ("batched", "cli", "core", "experiments", "io", "schemes", "sequence", "solvers", "theory", "verifier")


def _hide_submodules() -> None:
    """Drop the submodules that importing the names above left as attributes: the top level shows ``__all__``
    and :data:`SUBPACKAGES` only (``lpspec.<module>`` still resolves, through :func:`__getattr__`)."""
    import types

    for key, value in list(globals().items()):
        if isinstance(value, types.ModuleType) and not key.startswith("_") and key not in SUBPACKAGES:
            del globals()[key]


_hide_submodules()


def __dir__():
    return sorted({*__all__, *SUBPACKAGES, "SUBPACKAGES", "__version__"})


def __getattr__(name):
    if name in SUBPACKAGES or (not name.startswith("_") and _is_submodule(name)):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name in _MOVED:
        import importlib
        import warnings

        module = _MOVED[name]
        warnings.warn(f"lpspec.{name} is now {module}.{name}; the top-level name will be removed.",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'lpspec' has no attribute {name!r}")


def _is_submodule(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(f"{__name__}.{name}") is not None
    except (ImportError, ValueError):
        return False


_relocated.install()  # old module paths (lpspec.solvers.optimum, ...) import with a DeprecationWarning
