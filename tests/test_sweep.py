"""Instance families and sweeps: reproducible draws, truncation, file input, and table values checked
against independent computations (brute force over subsets, the SpecInfer product formula)."""

import itertools
import json
import math
import sys

import numpy as np
import pytest

from lpspec.experiments.families import derive_seed, draw_instance, family_point, truncate
from lpspec.experiments.sweep import load_spec, parse_spec, progress, run_sweep, scheme_columns
from lpspec.io.instances import example_names, load_example, load_instance_file


# ---------------------------------------------------------------------- independent references
def brute_force_optimum(q, drafts):
    """min over all S of q(S) + 1 - prod_k p_k(S) (docs/theory.md §3), by plain enumeration."""
    n = len(q)
    best = math.inf
    for r in range(n + 1):
        for S in itertools.combinations(range(n), r):
            value = sum(q[i] for i in S) + 1 - math.prod(sum(p[i] for i in S) for p in drafts)
            best = min(best, value)
    return best


def specinfer_formula(q, drafts):
    """1 - prod_i (1 - a_i) with the residual recursion of docs/theory.md §5, written out independently."""
    r = np.array(q, dtype=float)
    reject = 1.0
    for p in drafts:
        p = np.asarray(p, dtype=float)
        a = np.minimum(r, p).sum()
        reject *= 1 - a
        diff = np.maximum(r - p, 0)
        r = diff / diff.sum() if diff.sum() > 0 else r
    return 1 - reject


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# ---------------------------------------------------------------------- families
def test_derive_seed_is_deterministic_and_spread():
    seeds = {derive_seed(5, i, j) for i in range(10) for j in range(10)}
    assert len(seeds) == 100
    assert derive_seed(5, 1, 2) == derive_seed(5, 1, 2)
    assert all(0 <= s < 2**32 for s in seeds)


@pytest.mark.parametrize("family,params", [("dirichlet", {"n": 6, "alpha": 0.3}),
                                            ("zipf", {"n": 7, "a": 1.3, "shuffle": 0.5}),
                                            ("temperature", {"n": 5, "T_t": 0.8, "T_d": 1.4, "noise": 0.2})])
def test_random_families_are_reproducible_distributions(family, params):
    a = draw_instance(family, params, seed=11)
    b = draw_instance(family, params, seed=11)
    c = draw_instance(family, params, seed=12)
    assert np.array_equal(a.target, b.target) and np.array_equal(a.drafts[0], b.drafts[0])
    assert not np.array_equal(a.drafts[0], c.drafts[0])
    for v in (a.target, a.drafts[0]):
        assert v.shape == (params["n"],) and np.all(v >= 0) and abs(v.sum() - 1) < 1e-12


def test_zipf_matches_the_power_law():
    spec = draw_instance("zipf", {"n": 5, "a": 2.0, "shuffle": 0.0}, seed=0)
    ref = np.array([1, 1 / 4, 1 / 9, 1 / 16, 1 / 25])
    assert np.allclose(spec.target, ref / ref.sum(), rtol=0, atol=1e-15)
    assert np.array_equal(spec.drafts[0], spec.target)  # shuffle 0, same exponent: p = q
    shuffled = draw_instance("zipf", {"n": 50, "a": 1.0, "shuffle": 1.0}, seed=0).drafts[0]
    base = np.array([1 / (i + 1) for i in range(50)])
    assert np.allclose(np.sort(shuffled)[::-1], base / base.sum())  # a permutation of the Zipf weights


def test_temperature_family_uses_the_given_logits():
    z = np.array([2.0, 0.5, -1.0, 0.0])
    spec = draw_instance("temperature", {"logits": z.tolist(), "T_t": 0.5, "T_d": 2.0}, seed=0)
    assert np.allclose(spec.target, softmax(z / 0.5), atol=1e-15)
    assert np.allclose(spec.drafts[0], softmax(z / 2.0), atol=1e-15)


def test_different_drafts_are_nested_in_k():
    two = draw_instance("dirichlet", {"n": 4, "different_drafts": True}, seed=3, k=2)
    four = draw_instance("dirichlet", {"n": 4, "different_drafts": True}, seed=3, k=4)
    assert len(two.drafts) == 2 and len(four.drafts) == 4
    assert np.array_equal(two.target, four.target)
    assert all(np.array_equal(a, b) for a, b in zip(two.drafts, four.drafts[:2]))
    assert two.kwargs(k=2)["k"] is None and len(two.kwargs(k=2)["drafts"]) == 2


def test_truncation_top_k_top_p_and_ties():
    assert truncate([0.1, 0.4, 0.2, 0.3], top_k=2).tolist() == [0.0, 0.4 / 0.7, 0.0, 0.3 / 0.7]
    assert truncate([0.25, 0.25, 0.25, 0.25], top_k=3).tolist() == [1 / 3, 1 / 3, 1 / 3, 0.0]  # lower index wins
    # nucleus: sorted 0.4, 0.3, 0.2, 0.1; 0.4 + 0.3 = 0.7 >= 0.65
    assert truncate([0.1, 0.4, 0.2, 0.3], top_p=0.65).tolist() == [0.0, 0.4 / 0.7, 0.0, 0.3 / 0.7]
    assert truncate([0.1, 0.4, 0.2, 0.3], top_p=1.0).tolist() == [0.1, 0.4, 0.2, 0.3]
    for bad in ({"top_k": 0}, {"top_k": 1.5}, {"top_p": 0.0}, {"top_p": 1.2}):
        with pytest.raises(ValueError, match="top_"):
            truncate([0.5, 0.5], **bad)


def test_truncation_applies_to_the_chosen_side():
    params = {"n": 6, "top_k": 2}
    draft_side = draw_instance("dirichlet", params, seed=1)
    both = draw_instance("dirichlet", {**params, "truncate": "both"}, seed=1)
    plain = draw_instance("dirichlet", {"n": 6}, seed=1)
    assert np.count_nonzero(draft_side.drafts[0]) == 2 and np.array_equal(draft_side.target, plain.target)
    assert np.count_nonzero(both.target) == 2


def test_family_parameter_errors_name_the_parameter():
    with pytest.raises(ValueError, match="family='gauss'"):
        family_point("gauss", {}, seed=0)
    with pytest.raises(ValueError, match="no parameter beta"):
        family_point("dirichlet", {"beta": 1}, seed=0)
    with pytest.raises(ValueError, match="seed"):
        family_point("dirichlet", {"n": 3}, seed=None)
    with pytest.raises(ValueError, match="alpha"):
        draw_instance("dirichlet", {"n": 3, "alpha": -1}, seed=0)
    with pytest.raises(ValueError, match="truncate"):
        family_point("zipf", {"truncate": "left"}, seed=0)


def test_instance_files(tmp_path):
    q, p1, p2 = [0.2, 0.3, 0.5], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8]
    np.save(tmp_path / "a.npy", np.array([q, p1]))
    (tmp_path / "b.json").write_text(json.dumps({"target": ["1/5", "3/10", "1/2"], "drafts": [p1, p2]}))
    (tmp_path / "c.csv").write_text("target,draft\n0.2,0.5\n0.3,0.3\n0.5,0.2\n")
    (tmp_path / "d.csv").write_text("0.2,0.3,0.5\n0.5,0.3,0.2\n0.1,0.1,0.8\n")
    np.savez(tmp_path / "e.npz", target=np.array(q), draft=np.array(p1))
    a = load_instance_file(tmp_path / "a.npy")
    assert a.target.tolist() == q and len(a.drafts) == 1 and a.k is None
    b = load_instance_file(tmp_path / "b.json")
    assert [str(v) for v in b.target] == ["1/5", "3/10", "1/2"] and b.k == 2  # floats read exactly too
    assert str(b.drafts[0][0]) == "1/2"
    c = load_instance_file(tmp_path / "c.csv")
    assert c.target.tolist() == q and c.drafts[0].tolist() == p1
    d = load_instance_file(tmp_path / "d.csv")
    assert d.k == 2 and d.drafts[1].tolist() == p2
    e = load_instance_file(tmp_path / "e.npz")
    assert e.drafts[0].tolist() == p1
    for bad, msg in (("missing.json", "does not exist"), ("x.txt", "suffix")):
        if bad == "x.txt":
            (tmp_path / bad).write_text("1")
        with pytest.raises(ValueError, match=msg):
            load_instance_file(tmp_path / bad)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_instance_file(tmp_path / "bad.json")
    (tmp_path / "bad.csv").write_text("target,draft\n0.5,x\n0.5,0.5\n")
    with pytest.raises(ValueError, match="not a number"):
        load_instance_file(tmp_path / "bad.csv")


def test_examples_exist_and_match_math_md():
    names = example_names()
    for name in ("figure2-left", "figure2-right", "sir-gap", "prefix-fails"):
        assert name in names
    left = load_example("figure2-left")
    assert [str(v) for v in left.target] == ["1/3", "0", "2/3"] and left.k == 2
    with pytest.raises(ValueError, match="figure2-left"):
        load_example("nope")


# ---------------------------------------------------------------------- sweeps
SPEC = {
    "name": "test",
    "seed": 7,
    "families": [
        {"family": "dirichlet", "grid": {"n": [3, 4], "alpha": [0.5]}, "replicates": 2},
        {"family": "temperature", "params": {"n": 5, "T_d": 1.5}, "grid": {"top_k": [1, 3]}},
    ],
    "k": [2, 3],
    "laws": ["independent", "without_replacement"],
    "schemes": ["specinfer", "specinfer_wor", "sir", "spectr", "upper_bound"],
}


@pytest.fixture(scope="module")
def table():
    return run_sweep(SPEC, progress_bar=False)


def test_same_spec_same_table(table):
    again = run_sweep(json.loads(json.dumps(SPEC)), progress_bar=False)
    assert again.columns == table.columns
    assert again.rows == table.rows  # floats compared exactly
    other = run_sweep({**SPEC, "seed": 8}, progress_bar=False)
    assert other.rows != table.rows


def test_row_count_columns_and_names(table):
    # (2 dirichlet points x 2 replicates + 2 temperature points) x 2 K x 2 laws
    assert len(table) == (2 * 2 + 2) * 2 * 2
    for col in ("family", "alpha", "top_k", "seed", "n", "k", "law", "status", "optimal_acceptance",
                "specinfer.membership_acc", "sir.sd_acc", "sir.membership_acc", "sir.gap",
                "sir.exactness_error", "upper_bound"):
        assert col in table.columns, col
    assert "specinfer.sd_acc" not in table.columns  # not an importance-sampling scheme
    assert scheme_columns("spectr") == ["spectr.membership_acc", "spectr.sd_acc", "spectr.gap",
                                        "spectr.exactness_error"]


def test_truncated_law_that_cannot_draw_k_tokens_is_reported(table):
    bad = [r for r in table.rows if r["status"] != "ok"]
    # top_k = 1 leaves one token: without replacement cannot draw K = 2 or 3 distinct tokens
    assert {(r["family"], r["top_k"], r["law"]) for r in bad} == {("temperature", 1, "without_replacement")}
    assert all("distinct tokens" in r["status"] and r.get("optimal_acceptance") is None for r in bad)


def test_values_match_independent_computations(table):
    for row in table.where(law="independent").rows:
        params = {key: row[key] for key in ("alpha", "top_k", "n") if row.get(key) is not None}
        if row["family"] == "temperature":
            params = {"n": 5, "T_d": 1.5, "top_k": row["top_k"]}
        spec = family_point(row["family"], params, row["seed"]).draw(row["k"])  # rebuild from the seed
        q, drafts = spec.target, [spec.drafts[0]] * row["k"]
        assert row["optimal_acceptance"] == pytest.approx(brute_force_optimum(q, drafts), abs=1e-12)
        assert row["specinfer.membership_acc"] == pytest.approx(specinfer_formula(q, drafts), abs=1e-12)
        for s in ("specinfer", "sir", "spectr"):
            assert row[f"{s}.gap"] == row["optimal_acceptance"] - row[f"{s}.membership_acc"]
            assert row[f"{s}.gap"] >= -1e-12
            assert row[f"{s}.exactness_error"] <= 1e-12
        assert row["sir.sd_acc"] <= row["sir.membership_acc"] + 1e-12
        assert row["upper_bound"] >= row["optimal_acceptance"] - 1e-12


def test_laws_select_the_applicable_schemes(table):
    for row in table.rows:
        if row["status"] != "ok":
            continue
        wor = row["law"] == "without_replacement"
        assert (row.get("specinfer_wor.membership_acc") is not None) == wor
        assert (row.get("specinfer.membership_acc") is not None) == (not wor)


def test_metadata_records_the_spec(table):
    meta = table.metadata
    assert meta["spec"]["seed"] == 7 and meta["spec"]["k"] == [2, 3]
    assert parse_spec(meta["spec"]).to_dict() == meta["spec"]


def test_spec_files_json_toml_and_builtin(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(SPEC))
    (tmp_path / "s.toml").write_text(
        'name = "test"\nseed = 7\nk = [2, 3]\nlaws = ["independent", "without_replacement"]\n'
        'schemes = ["specinfer", "specinfer_wor", "sir", "spectr", "upper_bound"]\n'
        '[[families]]\nfamily = "dirichlet"\nreplicates = 2\ngrid = {n = [3, 4], alpha = [0.5]}\n'
        '[[families]]\nfamily = "temperature"\nparams = {n = 5, T_d = 1.5}\ngrid = {top_k = [1, 3]}\n')
    a, b = load_spec(tmp_path / "s.json"), load_spec(tmp_path / "s.toml")
    assert a.to_dict() == b.to_dict()
    assert load_spec("sweep-small").name == "sweep-small"
    with pytest.raises(ValueError, match="neither a file nor a built-in"):
        load_spec(tmp_path / "nope.json")


def test_file_family_paths_are_relative_to_the_spec(tmp_path):
    np.save(tmp_path / "inst.npy", np.array([[0.2, 0.3, 0.5], [0.5, 0.3, 0.2]]))
    (tmp_path / "s.json").write_text(json.dumps({"families": [{"family": "file", "params": {"path": "inst.npy"}}],
                                                 "k": [2], "schemes": ["specinfer"]}))
    t = run_sweep(tmp_path / "s.json", progress_bar=False)
    assert len(t) == 1 and t.rows[0]["status"] == "ok" and t.rows[0]["seed"] is None
    ref = brute_force_optimum([0.2, 0.3, 0.5], [[0.5, 0.3, 0.2]] * 2)
    assert t.rows[0]["optimal_acceptance"] == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("bad,msg", [
    ({"families": []}, "families"),
    ({"families": [{"family": "dirichlet"}], "colour": 1}, "unknown keys colour"),
    ({"families": [{"family": "dirichlet"}], "k": [0]}, "k=0"),
    ({"families": [{"family": "dirichlet"}], "laws": ["sideways"]}, "sideways"),
    ({"families": [{"family": "dirichlet"}], "schemes": ["magic"]}, "magic"),
    ({"families": [{"family": "dirichlet", "replicates": 0}]}, "replicates"),
    ({"families": [{"family": "dirichlet", "grid": {"n": []}}]}, "empty list"),
    ({"families": [{"family": "dirichlet"}], "seed": -1}, "seed"),
])
def test_bad_specs_are_rejected(bad, msg):
    with pytest.raises(ValueError, match=msg):
        parse_spec(bad)


def test_progress_bar_is_optional(monkeypatch):
    items = [1, 2, 3]
    assert progress(items, enabled=False) is items
    pytest.importorskip("tqdm")
    bar = progress(items, total=3, enabled=True)
    assert list(bar) == items and bar is not items
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as if tqdm were not installed
    assert progress(items, enabled=True) is items
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert progress(items) is items  # quiet when stderr is not a terminal
