"""Figures: Figure 2's numbers against docs/theory.md §7, the acceptance-one region against brute force, and the
plotted data against the tables they come from."""

import itertools
import math

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.path import Path as MplPath

from lpspec.experiments.figures import (
    acceptance_one_region,
    acceptance_vs_k,
    figure2,
    plot_figure2,
    region_polygon,
    save_figure,
)
from lpspec.io.export import read_csv

OPT, SPECTR, SPECINFER = "optimal_acceptance", "spectr.membership_acc", "specinfer.membership_acc"


@pytest.fixture(scope="module")
def fig2():
    return figure2(steps=90)


def _line(ax, gid):
    (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    return line


def _row(table, panel, q1):
    rows = [r for r in table.where(panel=panel).rows if abs(r["q1"] - q1) < 1e-12]
    assert len(rows) == 1
    return rows[0]


def test_figure2_published_points(fig2):
    _, table = fig2
    r = _row(table, "left", 0.0)  # docs/theory.md §7
    assert r[OPT] == pytest.approx(8 / 9, abs=1e-12)
    assert r[SPECTR] == pytest.approx((11 + math.sqrt(13)) / 18, abs=1e-12)
    assert r[SPECINFER] == pytest.approx(7 / 9, abs=1e-12)
    r = _row(table, "left", 1 / 9)
    assert r[OPT] == 1.0
    assert r[SPECTR] == pytest.approx(8 / 9, abs=1e-12)
    assert r[SPECINFER] == pytest.approx(23 / 27, abs=1e-12)


def test_figure2_optimum_is_the_closed_form_everywhere(fig2):
    _, table = fig2
    assert len(table.where(panel="left")) == 61 and len(table.where(panel="right")) == 76
    for r in table.rows:
        q = (r["q0"], r["q1"], r["q2"])
        closed = min(1.0, 8 / 9 + min(q), 14 / 9 - max(q))  # docs/theory.md §7 for uniform p on 3 tokens
        assert r[OPT] == pytest.approx(closed, abs=1e-12)
        assert r[OPT] >= r[SPECTR] - 1e-12 and r[OPT] >= r[SPECINFER] - 1e-12


def test_figure2_acceptance_one_intervals(fig2):
    _, table = fig2
    for panel, lo, hi in (("left", 1 / 9, 5 / 9), ("right", 5 / 18, 5 / 9)):
        for r in table.where(panel=panel).rows:
            inside = lo - 1e-12 <= r["q1"] <= hi + 1e-12
            assert (r[OPT] == 1.0) == inside, (panel, r["q1"])
            at_p = all(abs(v - 1 / 3) < 1e-12 for v in (r["q0"], r["q1"], r["q2"]))
            assert (r[SPECTR] > 1 - 1e-12) == at_p and (r[SPECINFER] > 1 - 1e-12) == at_p


def test_figure2_plots_exactly_the_table(fig2):
    fig, table = fig2
    axes = fig.get_axes()
    assert len(axes) == 2
    for ax, panel in zip(axes, ("left", "right")):
        sub = table.where(panel=panel)
        for scheme, column in (("optimal", OPT), ("spectr", SPECTR), ("specinfer", SPECINFER)):
            x, y = _line(ax, scheme).get_data()
            assert np.array_equal(x, np.array(sub.column("q1")))
            assert np.array_equal(y, np.array(sub.column(column)))
        # 0-based token indices: the swept coordinate is q_1 on the axis, in the title and in the CSV
        assert ax.get_xlabel() == "$q_1$" and "q_1" in ax.get_title() and "q_2" not in ax.get_title()


def test_saved_figure2_regenerates_from_its_csv(fig2, tmp_path):
    fig, table = fig2
    paths = save_figure(fig, tmp_path / "fig2", ("png", "pdf"), table=table)
    assert [p.suffix for p in paths] == [".png", ".pdf", ".csv"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    back = read_csv(paths[2])
    assert back.rows == table.rows  # lossless floats
    again = plot_figure2(back)
    for a, b in zip(fig.get_axes(), again.get_axes()):
        for scheme in ("optimal", "spectr", "specinfer"):
            assert np.array_equal(_line(a, scheme).get_ydata(), _line(b, scheme).get_ydata())
    with pytest.raises(ValueError, match="format"):
        save_figure(fig, tmp_path / "x", ("bmp",))


def _brute_force_is_one(q, p, k):
    """Theorem 2 / K-draft form by enumeration: q(S) >= p(S)^K for every S."""
    for r in range(1, len(q)):
        for S in itertools.combinations(range(len(q)), r):
            if sum(q[i] for i in S) < sum(p[i] for i in S) ** k - 1e-12:
                return False
    return True


def _brute_force_optimum(q, p, k):
    return min(sum(q[i] for i in S) + 1 - sum(p[i] for i in S) ** k
               for r in range(len(q) + 1) for S in itertools.combinations(range(len(q)), r))


@pytest.mark.parametrize("p,k", [([0.5, 0.3, 0.2], 2), ([0.6, 0.3, 0.1], 3)])
def test_region_matches_brute_force(p, k):
    fig, table = acceptance_one_region(p, k=k, resolution=12)
    assert len(table) == 13 * 14 // 2
    poly = region_polygon(p, k)
    lo, hi = np.array(p) ** k, 1 - (1 - np.array(p)) ** k
    assert np.all(poly >= lo - 1e-12) and np.all(poly <= hi + 1e-12)
    assert np.allclose(poly.sum(axis=1), 1)
    path = MplPath(np.c_[poly[:, 1] + poly[:, 2] / 2, poly[:, 2] * math.sqrt(3) / 2])
    for r in table.rows:
        q = (r["q0"], r["q1"], r["q2"])
        assert r["optimal_acceptance"] == pytest.approx(_brute_force_optimum(q, p, k), abs=1e-12)
        expect = _brute_force_is_one(q, p, k)
        assert r["acceptance_one"] == expect
        assert expect == bool(np.all(np.array(q) >= lo - 1e-12) and np.all(np.array(q) <= hi + 1e-12))
        if expect and min(abs(np.array(q) - lo).min(), abs(np.array(q) - hi).min()) > 1e-9:
            xy = (q[1] + q[2] / 2, q[2] * math.sqrt(3) / 2)
            assert path.contains_point(xy)  # strictly inside points lie in the drawn polygon
    # the plotted points are the table's points, split by the verdict
    ax = fig.get_axes()[0]
    one = {c.get_gid(): c for c in ax.collections}["acceptance_one"].get_offsets()
    inside = [(r["q1"] + r["q2"] / 2, r["q2"] * math.sqrt(3) / 2) for r in table.rows if r["acceptance_one"]]
    assert np.allclose(np.asarray(one), np.array(inside), atol=0)


def test_region_rejects_wrong_vocabulary():
    with pytest.raises(ValueError, match="n = 3"):
        acceptance_one_region([0.5, 0.5], k=2)


def test_acceptance_vs_k_plots_the_table():
    fig, table = acceptance_vs_k("dirichlet", {"n": 4}, ks=(1, 2, 3), schemes=("specinfer", "sir"),
                                 replicates=3, seed=5)
    sweep_spec = table.metadata["sweep"]
    assert sweep_spec["seed"] == 5 and sweep_spec["k"] == [1, 2, 3]
    from lpspec.experiments.sweep import run_sweep

    sweep = run_sweep(sweep_spec, progress_bar=False)
    ax = fig.get_axes()[0]
    for scheme, column in (("optimal", OPT), ("specinfer", "specinfer.membership_acc"), ("sir", "sir.membership_acc")):
        per_k = [[r[column] for r in sweep.rows if r["k"] == k] for k in (1, 2, 3)]
        assert table.column(column) == pytest.approx([np.mean(v) for v in per_k], abs=1e-15)
        # standard error of the mean from numpy's sample standard deviation
        assert table.column(column + ".sem") == pytest.approx([np.std(v, ddof=1) / math.sqrt(3) for v in per_k],
                                                              abs=1e-15)
        assert table.column(column + ".count") == [3, 3, 3]
        x, y = _line(ax, scheme).get_data()
        assert list(x) == [1, 2, 3] and list(y) == table.column(column)
    # with one draft every scheme is single-draft speculative sampling: sum_y min(p, q)
    row = table.where(k=1).rows[0]
    assert row["specinfer.membership_acc"] == pytest.approx(row[OPT], abs=1e-12)
    # the title says what is averaged, in words (not a raw dict), with the replicate count
    title = ax.get_title()
    assert "{" not in title and "n = 4" in title and "3 instances" in title and "s.e.m." in title
    # the lower panel: paired gaps to P* on the same instances, mean and standard error of the differences
    gap_ax = fig.get_axes()[1]
    assert len(ax.collections) == 0 and len(gap_ax.collections) == 2  # bars only on the paired differences
    for scheme, column in (("specinfer", "specinfer.membership_acc"), ("sir", "sir.membership_acc")):
        diffs = [[r[OPT] - r[column] for r in sweep.rows if r["k"] == k] for k in (1, 2, 3)]
        assert table.column(column + ".gap") == pytest.approx([np.mean(d) for d in diffs], abs=1e-15)
        assert table.column(column + ".gap.sem") == pytest.approx(
            [np.std(d, ddof=1) / math.sqrt(3) for d in diffs], abs=1e-15)
        assert all(g >= -1e-12 for g in table.column(column + ".gap"))        # P* bounds every scheme
        assert list(_line(gap_ax, scheme + ".gap").get_ydata()) == table.column(column + ".gap")
    # pairing removes the instance-to-instance spread: at K = 3 the gap's s.e.m. is below the scheme's own
    row = table.where(k=3).rows[0]
    assert row["specinfer.membership_acc.gap.sem"] < row["specinfer.membership_acc.sem"]


def test_acceptance_vs_k_says_where_a_curve_stops():
    # n = 8: SIR enumerates 8^K tuples, beyond MAX_SCHEME_TUPLES = 200 000 from K = 6 (8^6 = 262 144)
    from lpspec.experiments.figures import acceptance_vs_k_table, plot_acceptance_vs_k

    assert 8**5 <= 200_000 < 8**6
    table = acceptance_vs_k_table("dirichlet", {"n": 8}, ks=(5, 6), schemes=("sir",), replicates=1, seed=2)
    assert table.column("sir.membership_acc.count") == [1, 0]
    assert table.rows[1]["sir.membership_acc"] is None
    assert any("sir" in line and "K = 6" in line for line in table.metadata["not_computed"])
    ax = plot_acceptance_vs_k(table).get_axes()[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lbl.startswith("SIR") and "K = 6" in lbl for lbl in labels), labels
    assert list(_line(ax, "sir").get_xdata()) == [5]
