"""Experiments: instance families, sweeps over them, and the paper's figures.

The top layer of the library: it imports the core and :mod:`lpspec.io`, and nothing below imports it.

* :mod:`lpspec.experiments.families` — random and structured (target, drafts) families
  (:func:`draw_instance`, :func:`family_point`, :func:`truncate`), reproducible from a seed.
* :mod:`lpspec.experiments.sweep` — :func:`run_sweep` over a sweep spec (format in docs/formats.md).
* :mod:`lpspec.experiments.figures` — :func:`figure2`, :func:`acceptance_one_region`,
  :func:`acceptance_vs_k`, each drawn from a :class:`~lpspec.io.Table` returned with it.

Examples
--------
>>> from lpspec.experiments import draw_instance
>>> draw_instance("dirichlet", {"n": 4}, seed=1).target.shape
(4,)
"""

from __future__ import annotations

from .families import (
    FAMILIES,
    TRUNCATE_TARGETS,
    FamilyPoint,
    derive_seed,
    draw_instance,
    family_point,
    truncate,
)
from .figures import (
    FIGURE2_PANELS,
    SCHEME_STYLES,
    acceptance_one_region,
    acceptance_vs_k,
    acceptance_vs_k_table,
    figure2,
    figure2_table,
    plot_acceptance_vs_k,
    plot_figure2,
    plot_region,
    region_polygon,
    region_table,
    save_figure,
)
from .sweep import (
    DEFAULT_SCHEMES,
    FamilyGrid,
    SweepSpec,
    builtin_spec_names,
    evaluate_instance,
    load_spec,
    parse_spec,
    progress,
    run_sweep,
    scheme_columns,
    sweep_jobs,
    sweep_row,
)

__all__ = [
    "DEFAULT_SCHEMES",
    "FAMILIES",
    "FIGURE2_PANELS",
    "SCHEME_STYLES",
    "TRUNCATE_TARGETS",
    "FamilyGrid",
    "FamilyPoint",
    "SweepSpec",
    "acceptance_one_region",
    "acceptance_vs_k",
    "acceptance_vs_k_table",
    "builtin_spec_names",
    "derive_seed",
    "draw_instance",
    "evaluate_instance",
    "family_point",
    "figure2",
    "figure2_table",
    "load_spec",
    "parse_spec",
    "plot_acceptance_vs_k",
    "plot_figure2",
    "plot_region",
    "progress",
    "region_polygon",
    "region_table",
    "run_sweep",
    "save_figure",
    "scheme_columns",
    "sweep_jobs",
    "sweep_row",
    "truncate",
]
