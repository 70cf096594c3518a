"""Figures: Figure 2's numbers against docs/theory.md §7, the acceptance-one region against brute force, and the
plotted data against the tables they come from."""

import itertools
import math

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.path import Path as MplPath

from lpspec.export import read_csv
from lpspec.figures import (
    acceptance_one_region,
    acceptance_vs_k,
    figure2,
    plot_figure2,
    region_polygon,
    save_figure,
)


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
    assert r["optimal"] == pytest.approx(8 / 9, abs=1e-12)
    assert r["spectr"] == pytest.approx((11 + math.sqrt(13)) / 18, abs=1e-12)
    assert r["specinfer"] == pytest.approx(7 / 9, abs=1e-12)
    r = _row(table, "left", 1 / 9)
    assert r["optimal"] == 1.0
    assert r["spectr"] == pytest.approx(8 / 9, abs=1e-12)
    assert r["specinfer"] == pytest.approx(23 / 27, abs=1e-12)


def test_figure2_optimum_is_the_closed_form_everywhere(fig2):
    _, table = fig2
    assert len(table.where(panel="left")) == 61 and len(table.where(panel="right")) == 76
    for r in table.rows:
        q = (r["q0"], r["q1"], r["q2"])
        closed = min(1.0, 8 / 9 + min(q), 14 / 9 - max(q))  # docs/theory.md §7 for uniform p on 3 tokens
        assert r["optimal"] == pytest.approx(closed, abs=1e-12)
        assert r["optimal"] >= r["spectr"] - 1e-12 and r["optimal"] >= r["specinfer"] - 1e-12


def test_figure2_acceptance_one_intervals(fig2):
    _, table = fig2
    for panel, lo, hi in (("left", 1 / 9, 5 / 9), ("right", 5 / 18, 5 / 9)):
        for r in table.where(panel=panel).rows:
            inside = lo - 1e-12 <= r["q1"] <= hi + 1e-12
            assert (r["optimal"] == 1.0) == inside, (panel, r["q1"])
            at_p = all(abs(v - 1 / 3) < 1e-12 for v in (r["q0"], r["q1"], r["q2"]))
            assert (r["spectr"] > 1 - 1e-12) == at_p and (r["specinfer"] > 1 - 1e-12) == at_p


def test_figure2_plots_exactly_the_table(fig2):
    fig, table = fig2
    axes = fig.get_axes()
    assert len(axes) == 2
    for ax, panel in zip(axes, ("left", "right")):
        sub = table.where(panel=panel)
        for scheme in ("optimal", "spectr", "specinfer"):
            x, y = _line(ax, scheme).get_data()
            assert np.array_equal(x, np.array(sub.column("q1")))
            assert np.array_equal(y, np.array(sub.column(scheme)))


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
    from lpspec.sweep import run_sweep

    sweep = run_sweep(sweep_spec, progress_bar=False)
    ax = fig.get_axes()[0]
    for scheme, column in (("optimal", "optimal_acceptance"), ("specinfer", "specinfer.membership_acc"),
                           ("sir", "sir.membership_acc")):
        means = [np.mean([r[column] for r in sweep.rows if r["k"] == k]) for k in (1, 2, 3)]
        sub = table.where(scheme=scheme)
        assert sub.column("mean_membership_acc") == pytest.approx(means, abs=1e-15)
        x, y = _line(ax, scheme).get_data()
        assert list(x) == [1, 2, 3] and list(y) == sub.column("mean_membership_acc")
    # with one draft every scheme is single-draft speculative sampling: sum_y min(p, q)
    assert table.where(k=1, scheme="specinfer").rows[0]["mean_membership_acc"] == pytest.approx(
        table.where(k=1, scheme="optimal").rows[0]["mean_membership_acc"], abs=1e-12)
