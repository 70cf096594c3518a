"""Figures for papers (matplotlib), each drawn from a :class:`~lpspec.io.export.Table` that is returned with it.

* :func:`figure2` — Figure 2 of Khisti et al. (ICLR 2025), both panels: ``P*`` (Theorem 3), SpecTr and
  SpecInfer against ``q_1`` for ``p`` uniform on three tokens and ``K = 2`` (docs/theory.md §7).

Token indices are 0-based everywhere (as in the API): the paper's ``q = (q_1, q_2, q_3)`` is
``q = (q_0, q_1, q_2)`` here, so the swept coordinate of Figure 2 (the paper's ``q_2``) is ``q_1`` in the
axis labels, titles and CSV columns. Table columns follow :func:`lpspec.registry.acceptance_column`
(``optimal_acceptance``, ``spectr.membership_acc``, ...), as in ``lpspec table`` and ``lpspec batch``. Labels
use matplotlib mathtext; a figure that averages random instances draws the standard error of the mean and
says how many instances each point averages.
* :func:`acceptance_one_region` — the set of targets ``q`` on the 2-simplex with ``P*(acc) = 1``
  (Theorem 2: ``q(S) >= p(S)^K`` for all ``S``) for a chosen draft ``p`` and ``K``.
* :func:`acceptance_vs_k` — mean acceptance of each scheme against ``K`` on an instance family.

Every ``*_table`` function computes the numbers; the matching figure function plots exactly those numbers
(``figure, table = figure2()``), so a figure regenerated from a saved table is the same figure. Figures are
:class:`matplotlib.figure.Figure` objects built without ``pyplot`` (no global state, any backend);
:func:`save_figure` writes PNG and PDF. Matplotlib is the ``plots`` extra.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..core.arith import arith_of
from ..core.instance import make_instance
from ..core.keywords import DRAFTS, keyword_aliases
from ..io.export import Table, write_table
from ..registry import (
    BLOCK_TABLE_SCHEMES,
    FIGURE2_SCHEMES,
    FIGURE_SCHEMES,
    OPTIMAL,
    SCHEME_FACTS,
    SCHEME_SPECS,
    SEQUENCE_SCHEMES,
    acceptance_column,
)
from ..solvers.optimum import optimum_for

__all__ = [
    "FIGURE2_PANELS",
    "SCHEME_STYLES",
    "acceptance_one_region",
    "acceptance_vs_k",
    "acceptance_vs_k_table",
    "block_ceiling",
    "block_ceiling_table",
    "plot_block_ceiling",
    "figure2",
    "figure2_table",
    "plot_acceptance_vs_k",
    "plot_figure2",
    "plot_region",
    "region_polygon",
    "region_table",
    "save_figure",
]

#: Figure 2 panels: ``q = (q_0, q_1, 1 - q_0 - q_1)`` with ``q_1`` from 0 to ``1 - q_0`` (docs/theory.md §7).
FIGURE2_PANELS = {"left": Fraction(1, 3), "right": Fraction(1, 6)}

#: Line styles per scheme (label, colour, linestyle), from :data:`lpspec.registry.SCHEME_FACTS`.
SCHEME_STYLES = {name: (f.label, f.color, f.linestyle) for name, f in SCHEME_FACTS.items()}


def _new_figure(width: float = 6.4, height: float = 4.0):
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib; install it with `pip install -e \".[plots]\"` from a clone, or "
                          "`pip install \"lpspec[plots]\"` from the index.") from None
    return Figure(figsize=(width, height), layout="constrained")


def _style(name: str):
    return SCHEME_STYLES.get(name, (name, None, "-"))


# ---------------------------------------------------------------------- Figure 2
def figure2_table(steps: int = 90) -> Table:
    """The numbers of Figure 2: ``P*``, SpecTr and SpecInfer over ``q_1`` on both panels.

    ``p = (1/3, 1/3, 1/3)``, ``K = 2``; left ``q = (1/3, q_1, 2/3 - q_1)``, right ``q = (1/6, q_1, 5/6 - q_1)``,
    with ``q_1 = i / steps`` (the paper's ``q_2``: indices here are 0-based) up to the panel's total (``steps = 90`` puts the breakpoints ``1/9``, ``5/18`` and
    ``5/9`` of docs/theory.md §7 on the grid). ``optimal`` is the min-cut / Theorem 3 value computed in exact
    rationals, ``spectr`` and ``specinfer`` the schemes' exact acceptances (docs/theory.md §5).

    Returns
    -------
    Table
        Columns ``panel``, ``q0``, ``q1``, ``q2`` (the target, 0-based; ``q1`` is swept),
        ``optimal_acceptance``, ``spectr.membership_acc``, ``specinfer.membership_acc`` (floats).

    Examples
    --------
    >>> t = figure2_table(steps=9)
    >>> row = t.where(panel="left", q1=1 / 9).rows[0]
    >>> row["optimal_acceptance"], round(row["spectr.membership_acc"], 12)
    (1.0, 0.888888888889)
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r} must be a positive integer.")
    third = Fraction(1, 3)
    rows = []
    for panel, q0 in FIGURE2_PANELS.items():
        rest = 1 - q0
        i = 0
        while Fraction(i, steps) <= rest:
            q1 = Fraction(i, steps)
            q = [q0, q1, rest - q1]
            exact = optimum_for(make_instance(target=q, drafts=[third] * 3, k=2)).value
            inst = make_instance(target=[float(v) for v in q], drafts=[1 / 3] * 3, k=2)
            rows.append({"panel": panel, "q0": float(q0), "q1": float(q1), "q2": float(rest - q1),
                         **{_FIG2_COLUMNS[name]: (float(exact) if SCHEME_SPECS[name].kind == "optimum" else
                                                  float(SCHEME_SPECS[name].load("exact")(inst).acceptance))
                            for name in FIGURE2_SCHEMES}})
            i += 1
    meta = {"figure": "Khisti et al. (ICLR 2025), Figure 2", "draft": "uniform on 3 tokens", "k": 2,
            "steps": steps, "indices": "0-based: q1 is the paper's q2"}
    return Table(["panel", "q0", "q1", "q2", *_FIG2_COLUMNS.values()], rows, meta)


#: Figure 2's schemes and their table columns.
_FIG2_COLUMNS = {name: acceptance_column(name) for name in FIGURE2_SCHEMES}


def plot_figure2(table: Table):
    """Draw Figure 2 from :func:`figure2_table`'s table: two panels, one line per scheme over ``q_1``.

    Each line's ``gid`` is the scheme's column name (``optimal``, ``spectr``, ``specinfer``).

    Examples
    --------
    >>> fig = plot_figure2(figure2_table(steps=6))
    >>> [line.get_gid() for line in fig.axes[0].get_lines()]
    ['optimal', 'spectr', 'specinfer']
    """
    fig = _new_figure(10.0, 4.0)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, panel in zip(axes, FIGURE2_PANELS):
        sub = table.where(panel=panel)
        x = np.array(sub.column("q1"), dtype=np.float64)
        for scheme, column in _FIG2_COLUMNS.items():
            label, color, ls = _style(scheme)
            label = r"Optimal $P^*$ (Theorem 3)" if SCHEME_SPECS[scheme].kind == "optimum" else label
            ax.plot(x, np.array(sub.column(column), dtype=np.float64), label=label, color=color, linestyle=ls,
                    gid=scheme)
        q0 = FIGURE2_PANELS[panel]
        ax.set_title(rf"$q = (\frac{{{q0.numerator}}}{{{q0.denominator}}},\ q_1,\ "
                     rf"\frac{{{(1 - q0).numerator}}}{{{(1 - q0).denominator}}} - q_1)$, $p$ uniform, $K = 2$")
        ax.set_xlabel(r"$q_1$")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(r"acceptance $\Pr[Y \in \{X_1, X_2\}]$")
    axes[0].legend(loc="lower center")
    return fig


def figure2(steps: int = 90):
    """Figure 2 of Khisti et al. (2025) and its table: ``(figure, table)``. See :func:`figure2_table`.

    Examples
    --------
    >>> fig, table = figure2(steps=6)
    >>> len(fig.axes), sorted(set(table.column("panel")))
    (2, ['left', 'right'])
    """
    table = figure2_table(steps)
    return plot_figure2(table), table


# ---------------------------------------------------------------------- acceptance-one region
def _barycentric(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ternary coordinates: vertex 0 at (0, 0), vertex 1 at (1, 0), vertex 2 at (1/2, √3/2)."""
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    return q[:, 1] + 0.5 * q[:, 2], (math.sqrt(3) / 2) * q[:, 2]


def _draft3(draft, k: int):
    if np.asarray(draft, dtype=object).shape != (3,):
        raise ValueError(f"draft must be one distribution on n = 3 tokens for the 2-simplex figure; got shape "
                         f"{np.asarray(draft, dtype=object).shape}.")
    inst = make_instance(target=[1 / 3, 1 / 3, 1 / 3] if not _exact(draft) else [Fraction(1, 3)] * 3,
                         drafts=draft, k=k)
    return inst


def _exact(values) -> bool:
    return arith_of(np.asarray(values, dtype=object).ravel().tolist()).exact


@keyword_aliases(deprecated=DRAFTS)
def region_table(drafts, k: int = 2, resolution: int = 30) -> Table:
    """Targets ``q = (i, j, r - i - j) / r`` on the 2-simplex with ``P*(acc)`` and the Theorem 2 verdict.

    Parameters
    ----------
    drafts : array-like, shape (3,)
        The draft ``p`` (``K`` i.i.d. drafts; ``draft=`` is its deprecated spelling).
    k : int
        Number of drafts ``K``.
    resolution : int
        ``r``: the grid has ``(r + 1)(r + 2) / 2`` points.

    Returns
    -------
    Table
        Columns ``q0``, ``q1``, ``q2``, ``optimal_acceptance`` and ``acceptance_one`` (Theorem 2 and its
        K-draft form: ``q(S) >= p(S)^K`` for every ``S``, decided by :func:`lpspec.theory.theorems.acceptance_one`).

    Examples
    --------
    >>> t = region_table([1 / 3, 1 / 3, 1 / 3], k=2, resolution=3)
    >>> len(t), t.where(q0=1 / 3, q1=1 / 3).rows[0]["acceptance_one"]
    (10, True)
    """
    from ..theory.theorems import acceptance_one_for

    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise ValueError(f"resolution={resolution!r} must be a positive integer.")
    base = _draft3(drafts, k)
    p = base.draft
    rows = []
    for i in range(resolution + 1):
        for j in range(resolution + 1 - i):
            q = [Fraction(i, resolution), Fraction(j, resolution), Fraction(resolution - i - j, resolution)]
            q = [base.arith.scalar(v) for v in q]
            inst = make_instance(target=q, drafts=p, k=k)
            rows.append({"q0": float(q[0]), "q1": float(q[1]), "q2": float(q[2]),
                         "optimal_acceptance": float(optimum_for(inst).value),
                         "acceptance_one": bool(acceptance_one_for(inst).holds)})
    meta = {"draft": [float(v) for v in p], "k": k, "resolution": resolution,
            "theorem": "Theorem 2 (Khisti et al. 2025): P* = 1 iff q(S) >= p(S)^K for all S"}
    return Table(["q0", "q1", "q2", "optimal_acceptance", "acceptance_one"], rows, meta)


@keyword_aliases(deprecated=DRAFTS)
def region_polygon(drafts, k: int = 2) -> np.ndarray:
    """Vertices ``(m, 3)`` (in order around it) of the acceptance-one region for ``n = 3``.

    For three tokens the subsets are singletons and pairs, so (docs/theory.md §4, Theorem 2 and its K-draft form)
    the region is ``{q : p_i^K <= q_i <= 1 - (1 - p_i)^K, i = 0, 1, 2}`` on the simplex — a polygon, empty
    only if the bounds are contradictory (they never are: ``q = p`` lies in it).

    Examples
    --------
    >>> region_polygon([1 / 3, 1 / 3, 1 / 3], k=2).shape
    (6, 3)
    """
    inst = _draft3(drafts, k)
    p = np.array([float(v) for v in inst.draft])
    lo = p**k
    hi = -np.expm1(k * np.log1p(-np.minimum(p, 1.0)))  # 1 - (1 - p)^K
    # vertices: points of the plane sum(q) = 1 where two of the six bounds are tight
    bounds = [(i, v) for i in range(3) for v in (lo[i], hi[i])]
    pts = []
    for (i, a), (j, b) in [(u, w) for u in bounds for w in bounds if u[0] < w[0]]:
        q = np.empty(3)
        q[i], q[j] = a, b
        q[3 - i - j] = 1.0 - a - b
        if np.all(q >= lo - 1e-12) and np.all(q <= hi + 1e-12):
            pts.append(q)
    pts = np.unique(np.round(np.array(pts), 14), axis=0)
    x, y = _barycentric(pts)
    order = np.argsort(np.arctan2(y - y.mean(), x - x.mean()))
    return pts[order]


def plot_region(table: Table, polygon: np.ndarray | None = None):
    """Draw the 2-simplex: grid targets coloured by ``P*``, the ``P* = 1`` points marked, the region outlined.

    Scatter ``gid`` s: ``below_one`` and ``acceptance_one``; the polygon's is ``region``.

    Examples
    --------
    >>> fig = plot_region(region_table([0.5, 0.3, 0.2], k=2, resolution=4))
    >>> sorted(c.get_gid() for c in fig.axes[0].collections)
    ['acceptance_one', 'below_one']
    """
    fig = _new_figure(5.6, 5.0)
    ax = fig.subplots()
    q = np.array([table.column("q0"), table.column("q1"), table.column("q2")], dtype=np.float64).T
    x, y = _barycentric(q)
    value = np.array(table.column("optimal_acceptance"), dtype=np.float64)
    one = np.array(table.column("acceptance_one"), dtype=bool)
    sc = ax.scatter(x[~one], y[~one], c=value[~one], cmap="viridis", s=14, vmin=min(value.min(), 0.99), vmax=1.0,
                    gid="below_one", label=r"$P^* < 1$")
    ax.scatter(x[one], y[one], c="crimson", s=14, marker="s", gid="acceptance_one", label=r"$P^* = 1$ (Theorem 2)")
    fig.colorbar(sc, ax=ax, label=r"$P^*$")
    if polygon is not None and len(polygon):
        px, py = _barycentric(polygon)
        ax.fill(px, py, facecolor="none", edgecolor="black", linestyle="--", linewidth=1.2, zorder=3, gid="region",
                label=r"$q_i \in [p_i^K,\ 1 - (1 - p_i)^K]$")
    tri_x, tri_y = _barycentric(np.eye(3))
    ax.plot(np.append(tri_x, tri_x[0]), np.append(tri_y, tri_y[0]), color="black", linewidth=1)
    for lbl, (tx, ty) in zip((r"$q = e_0$", r"$q = e_1$", r"$q = e_2$"), zip(tri_x, tri_y)):
        ax.annotate(lbl, (tx, ty), textcoords="offset points", xytext=(0, -12 if ty == 0 else 6), ha="center")
    meta = table.metadata
    if "draft" in meta:
        p = ", ".join(f"{v:.3g}" for v in meta["draft"])
        ax.set_title(f"Acceptance-one region, $p = ({p})$, $K = {meta.get('k')}$")
    ax.set_aspect("equal")
    ax.set_xlim(-0.08, 1.08)
    ax.set_ylim(-0.08, math.sqrt(3) / 2 + 0.08)
    ax.set_axis_off()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.02), ncols=2, fontsize="small", frameon=False)
    return fig


@keyword_aliases(deprecated=DRAFTS)
def acceptance_one_region(drafts, k: int = 2, resolution: int = 30):
    """The acceptance-one region of Theorem 2 on the 2-simplex: ``(figure, table)``. See :func:`region_table`.

    Examples
    --------
    >>> fig, table = acceptance_one_region([0.5, 0.3, 0.2], k=3, resolution=5)
    >>> len(table), any(table.column("acceptance_one"))
    (21, True)
    """
    table = region_table(drafts, k, resolution)
    return plot_region(table, region_polygon(drafts, k)), table


# ---------------------------------------------------------------------- acceptance against K
def acceptance_vs_k_table(family: str = "dirichlet", params: dict | None = None, ks=(1, 2, 3, 4),
                          schemes=FIGURE_SCHEMES, law: str = "independent", replicates: int = 10,
                          seed: int = 0, sweep: Table | None = None) -> Table:
    """Mean acceptance of each scheme (and ``P*``) against ``K`` on one instance family, with standard errors.

    Runs (or takes) the sweep ``{family, params, replicates} × ks × law × schemes`` and averages each
    acceptance column over the rows with status ``ok`` where it was computed.

    Returns
    -------
    Table
        One row per ``K``: ``k``, ``instances`` (rows with status ok), and for ``P*`` and every scheme its
        sweep column (``optimal_acceptance``, ``<scheme>.membership_acc``: the mean), ``<column>.sem`` (the
        standard error of the mean, ``std / sqrt(count)``, empty for one instance) and ``<column>.count``
        (instances averaged; fewer than ``instances`` when the scheme was not computed on some, e.g. an
        enumeration beyond ``MAX_SCHEME_TUPLES``). Every scheme also has its **paired** gap to the reference
        ``P*`` on the same instances: ``<column>.gap`` (mean of ``P* - acceptance`` over the instances where
        both are computed) and ``<column>.gap.sem`` (its standard error, from the per-instance differences:
        much smaller than the per-scheme ``.sem`` because the instance-to-instance variation cancels).
        ``metadata["not_computed"]`` says which schemes stop where, ``metadata["sweep"]`` is the full
        per-instance sweep's spec.

    Examples
    --------
    >>> t = acceptance_vs_k_table(params={"n": 3}, ks=(1, 2), schemes=("specinfer",), replicates=2)
    >>> [(r["k"], r["instances"], r["specinfer.membership_acc.count"]) for r in t.rows]
    [(1, 2, 2), (2, 2, 2)]
    """
    from .sweep import finite_mean, run_sweep

    if sweep is None:
        spec = {"name": f"acceptance-vs-k-{family}", "seed": seed,
                "families": [{"family": family, "params": dict(params or {}), "replicates": replicates}],
                "k": list(ks), "laws": [law], "schemes": list(schemes)}
        sweep = run_sweep(spec, progress_bar=False)
    names = [OPTIMAL, *[s for s in schemes if s != OPTIMAL]]
    columns = ["k", "instances"]
    ref = acceptance_column(OPTIMAL)
    for name in names:
        col = acceptance_column(name)
        columns += [col, f"{col}.sem", f"{col}.count"] + ([f"{col}.gap", f"{col}.gap.sem"] if col != ref else [])
    rows, missing = [], {}
    for k in ks:
        sub = [r for r in sweep.rows if r.get("k") == k and r.get("status") == "ok"]
        row = {"k": k, "instances": len(sub)}
        for name in names:
            col = acceptance_column(name)
            vals = [float(r[col]) for r in sub if r.get(col) is not None and math.isfinite(float(r[col]))]
            row[col] = finite_mean(vals) if vals else None
            row[f"{col}.sem"] = float(np.std(vals, ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else None
            row[f"{col}.count"] = len(vals)
            if col != ref:  # paired: P* - acceptance on the same instances
                diffs = [float(r[ref]) - float(r[col]) for r in sub if r.get(col) is not None
                         and r.get(ref) is not None and math.isfinite(float(r[col])) and math.isfinite(float(r[ref]))]
                row[f"{col}.gap"] = finite_mean(diffs) if diffs else None
                row[f"{col}.gap.sem"] = (float(np.std(diffs, ddof=1) / math.sqrt(len(diffs))) if len(diffs) > 1
                                         else None)
            if len(vals) < len(sub):
                missing.setdefault(name, []).append(k)
        rows.append(row)
    not_computed = [f"{name} not computed on every instance at K = {', '.join(map(str, where))} (see the sweep's "
                    "notes column; e.g. more draft tuples than MAX_SCHEME_TUPLES, or the scheme does not apply)"
                    for name, where in missing.items()]
    meta = {"family": family, "params": dict(params or {}), "law": law, "replicates": replicates, "seed": seed,
            "sweep": sweep.metadata.get("spec"), "not_computed": not_computed}
    return Table(columns, rows, meta)


def _params_text(params: dict) -> str:
    return ", ".join(f"{key} = {value}" for key, value in params.items())


def plot_acceptance_vs_k(table: Table):
    """Two panels from :func:`acceptance_vs_k_table`: the mean membership acceptance of each scheme against
    ``K`` (top), and each scheme's paired gap to ``P*`` on the same instances with its standard error (bottom:
    the differences, whose error bars show the ordering honestly, unlike overlapping per-scheme bars). A
    scheme missing at some ``K`` says so in its legend entry.

    Examples
    --------
    >>> t = acceptance_vs_k_table(params={"n": 3}, ks=(1, 2), schemes=("specinfer",), replicates=2)
    >>> [line.get_gid() for line in plot_acceptance_vs_k(t).axes[0].get_lines()]
    ['optimal', 'specinfer']
    """
    fig = _new_figure(6.0, 6.0)
    ax, gap_ax = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    names = [name for name in SCHEME_FACTS if acceptance_column(name) in table.columns]
    names += [c[: -len(".membership_acc")] for c in table.columns
              if c.endswith(".membership_acc") and c[: -len(".membership_acc")] not in names]
    for index, name in enumerate(names):
        col = acceptance_column(name)
        pts = [r for r in table.rows if r.get(col) is not None]
        if not pts:
            continue
        label, color, ls = _style(name)
        gone = [r["k"] for r in table.rows if r.get(f"{col}.count", 0) < r.get("instances", 0)]
        if gone:
            label += f" (not on every instance at K = {', '.join(map(str, gone))})"
        x = [r["k"] for r in pts]
        y = [r[col] for r in pts]
        ax.plot(x, y, marker="o", label=label, color=color, linestyle=ls, gid=name)
        gaps = [r for r in pts if r.get(f"{col}.gap") is not None]
        if not gaps:
            continue
        gx, gy = [r["k"] for r in gaps], [r[f"{col}.gap"] for r in gaps]
        gap_ax.plot(gx, gy, marker="o", color=color, linestyle=ls, gid=f"{name}.gap")
        err = [r.get(f"{col}.gap.sem") for r in gaps]
        if any(e is not None for e in err):
            dodge = 0.04 * (index - (len(names) - 1) / 2)
            gap_ax.errorbar([v + dodge for v in gx], gy, yerr=[0.0 if e is None else e for e in err], fmt="none",
                            ecolor=color or "black", capsize=2, linewidth=1.2, gid=f"{name}.gap.sem")
    meta = table.metadata
    counts = sorted({r["instances"] for r in table.rows})
    count_text = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    gap_ax.set_xlabel(r"number of drafts $K$")
    ax.set_ylabel(r"mean acceptance $\Pr[Y \in \{X_1, \ldots, X_K\}]$")
    gap_ax.set_ylabel(r"$P^* -$ acceptance" + "\n(paired)")
    title = f"{meta.get('family', '')} ({_params_text(meta.get('params') or {})}), law {meta.get('law', '')}"
    ax.set_title(f"{title}\nmeans over {count_text} instances per $K$; below: gap to $P^*$ on the same "
                 "instances, mean ± paired s.e.m.", fontsize="small")
    gap_ax.set_xticks(sorted(set(table.column("k"))))
    ax.grid(alpha=0.3)
    gap_ax.grid(alpha=0.3)
    gap_ax.axhline(0.0, color="black", linewidth=0.8)
    ax.legend(fontsize="small")
    return fig


def acceptance_vs_k(family: str = "dirichlet", params: dict | None = None, ks=(1, 2, 3, 4),
                    schemes=FIGURE_SCHEMES, law: str = "independent", replicates: int = 10,
                    seed: int = 0):
    """Acceptance against ``K`` for each scheme on an instance family: ``(figure, table)``.

    See :func:`acceptance_vs_k_table` for the parameters.

    Examples
    --------
    >>> fig, table = acceptance_vs_k("zipf", {"n": 4, "shuffle": 0.5}, ks=(2, 3), schemes=("spectr",), replicates=2)
    >>> table.column("k"), [line.get_gid() for line in fig.axes[0].get_lines()]
    ([2, 3], ['optimal', 'spectr'])
    """
    table = acceptance_vs_k_table(family, params, ks, schemes, law, replicates, seed)
    return plot_acceptance_vs_k(table), table


# ---------------------------------------------------------------------- saving
# ---------------------------------------------------------------------- τ against L, with the ceiling τ*
#: Schemes of :func:`block_ceiling_table` by default (token-level trees and the sequence-level verifiers).
BLOCK_CEILING_SCHEMES = BLOCK_TABLE_SCHEMES + SEQUENCE_SCHEMES


def block_ceiling_table(*, target, drafts, start=None, k: int = 2, lengths=(1, 2, 3),
                        schemes=BLOCK_CEILING_SCHEMES, ceiling: bool = True) -> Table:
    """Block efficiency ``τ`` of every scheme and the ceiling ``τ*`` (the block LP's optimum) against ``L``.

    ``τ`` of each scheme is :func:`lpspec.block_efficiency` (``K = 1`` for ``single_draft`` and
    ``block_verification``, ``k`` for the others); ``τ*`` is
    :func:`lpspec.sequence.block_lp.block_optimum` at ``k`` drafts (the scheme ``"ceiling"``). Columns
    ``scheme, k, length, tau, gap_to_ceiling``.

    Examples
    --------
    >>> t = block_ceiling_table(target=[[0.2, 0.8], [0.5, 0.5]], drafts=[[0.6, 0.4], [0.3, 0.7]],
    ...                         start=[1.0, 0.0], k=2, lengths=(1, 2), schemes=("specinfer",), ceiling=False)
    >>> [round(r["tau"], 6) for r in t.rows]
    [1.76, 2.3568]
    """
    from ..sequence.blocks import block_efficiency
    from ..sequence.markov import as_markov_pair

    pair = as_markov_pair(target, drafts, start)
    given = [lengths] if isinstance(lengths, (str, bytes)) else lengths
    try:
        given = list(given)
    except TypeError:
        given = None
    if (not given or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in given)):
        raise ValueError(f"lengths={lengths!r} must be a list of integers >= 1, e.g. lengths=(1, 2, 3) (a float "
                         "length is not rounded).")
    lengths = sorted({int(v) for v in given})
    choices = [name for name, spec in SCHEME_SPECS.items() if spec.kind != "bound"]
    unknown = [name for name in schemes if name not in choices]
    if isinstance(schemes, str) or unknown:
        raise ValueError(f"schemes={schemes!r}: give a list of scheme names from {', '.join(choices)}.")
    rows, best = [], {}
    if ceiling:
        try:
            from ..sequence.block_lp import block_optimum
        except ImportError:
            raise ImportError("the ceiling needs lpspec.sequence.block_lp (the block LP); pass ceiling=False "
                              "to draw the schemes alone.") from None
        for L in lengths:
            best[L] = float(block_optimum(target=pair.target, drafts=pair.draft, start=pair.start, k=k,
                                          length=L).value)
            rows.append({"scheme": "ceiling", "k": k, "length": L, "tau": best[L], "gap_to_ceiling": 0.0})
    for name in schemes:
        kk = 1 if SCHEME_SPECS[name].one_draft else k
        for L in lengths:
            tau = float(block_efficiency(target=pair, k=kk, length=L, scheme=name).value)
            rows.append({"scheme": name, "k": kk, "length": L, "tau": tau,
                         "gap_to_ceiling": best[L] - tau if L in best else None})
    meta = {"pair": pair.name, "n": pair.n, "k": k, "ceiling": "tau* (block LP optimum)" if ceiling else "not drawn"}
    return Table(["scheme", "k", "length", "tau", "gap_to_ceiling"], rows, metadata=meta)


def plot_block_ceiling(table: Table):
    """One line per scheme of ``τ`` against ``L`` (from :func:`block_ceiling_table`), ``τ*`` on top, dashed.

    Examples
    --------
    >>> t = Table(["scheme", "k", "length", "tau", "gap_to_ceiling"],
    ...           [{"scheme": "ceiling", "k": 2, "length": 1, "tau": 1.84, "gap_to_ceiling": 0.0},
    ...            {"scheme": "specinfer", "k": 2, "length": 1, "tau": 1.76, "gap_to_ceiling": 0.08}])
    >>> [line.get_gid() for line in plot_block_ceiling(t).axes[0].get_lines()]
    ['ceiling', 'specinfer']
    """
    fig = _new_figure(6.0, 4.0)
    ax = fig.subplots()
    names = list(dict.fromkeys(table.column("scheme")))
    names = (["ceiling"] if "ceiling" in names else []) + [n for n in names if n != "ceiling"]
    for name in names:
        pts = sorted((r["length"], r["tau"], r["k"]) for r in table.rows if r["scheme"] == name)
        if name == "ceiling":
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color="black", linestyle="--", linewidth=2.2,
                    marker="s", label=rf"ceiling $\tau^*$ (K = {pts[0][2]})", gid=name, zorder=5)
            continue
        label, color, ls = _style(name)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=color, linestyle=ls,
                label=f"{label} (K = {pts[0][2]})", gid=name)
    ax.set_xlabel(r"draft length $L$")
    ax.set_ylabel(r"block efficiency $\tau$ (tokens per target call)")
    meta = table.metadata
    ax.set_title(f"{meta.get('pair', '')}: n = {meta.get('n', '')}, K = {meta.get('k', '')}", fontsize="small")
    ax.set_xticks(sorted(set(table.column("length"))))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def block_ceiling(*, target, drafts, start=None, k: int = 2, lengths=(1, 2, 3), schemes=BLOCK_CEILING_SCHEMES,
                  ceiling: bool = True):
    """The τ-against-L figure with the ceiling and its table: ``(figure, table)``. See :func:`block_ceiling_table`.

    Examples
    --------
    >>> fig, t = block_ceiling(target=[[0.2, 0.8], [0.5, 0.5]], drafts=[[0.6, 0.4], [0.3, 0.7]],
    ...                        start=[1.0, 0.0], lengths=(1, 2), schemes=("single_draft",), ceiling=False)
    >>> len(fig.axes), len(t.rows)
    (1, 2)
    """
    table = block_ceiling_table(target=target, drafts=drafts, start=start, k=k, lengths=lengths, schemes=schemes,
                                ceiling=ceiling)
    return plot_block_ceiling(table), table


def save_figure(fig, stem, formats=("png", "pdf"), table: Table | None = None, dpi: int = 150) -> list[Path]:
    """Save ``fig`` as ``<stem>.png`` / ``<stem>.pdf`` (and its table as ``<stem>.csv``); return the paths.

    Examples
    --------
    >>> import tempfile, os
    >>> fig, table = acceptance_one_region([0.5, 0.3, 0.2], k=2, resolution=4)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.suffix for p in save_figure(fig, os.path.join(d, "region"), table=table)]
    ['.png', '.pdf', '.csv']
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        if fmt not in ("png", "pdf", "svg"):
            raise ValueError(f"figure format {fmt!r} is not supported; use png, pdf or svg.")
        path = stem.with_suffix(f".{fmt}")
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    if table is not None:
        paths.append(write_table(table, stem.with_suffix(".csv")))
    return paths
