"""The command line: solve / check / table / figure / batch / distributions / examples, one grammar, one-line errors."""

import itertools
import json
import math
import os
import shutil
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from lpspec.cli import main, parse_distribution
from lpspec.io.export import read_csv


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def brute_force_optimum(q, drafts):
    n = len(q)
    return min(sum(q[i] for i in S) + 1 - math.prod(sum(p[i] for i in S) for p in drafts)
               for r in range(n + 1) for S in itertools.combinations(range(n), r))


# ---------------------------------------------------------------------- solve
def test_solve_json_figure2_left(capsys):
    code, out, err = run(capsys, "solve", "--example", "figure2-left", "--json")
    assert code == 0 and err == ""
    obj = json.loads(out)
    assert set(obj) == {"optimal_acceptance", "optimal_acceptance_exact", "cut_set", "schemes", "schemes_exact",
                        "not_computed", "checks"}
    assert obj["optimal_acceptance"] == pytest.approx(8 / 9, abs=1e-15)
    # exact values stay exact beside the floats (docs/theory.md §7; naive: sum_y q(y)(1 - (1 - p(y))^2) = 5/9)
    assert obj["optimal_acceptance_exact"] == "8/9"
    assert {k: obj["schemes_exact"][k] for k in ("specinfer", "single_draft", "naive", "upper_bound")} == {
        "specinfer": "7/9", "single_draft": "2/3", "naive": "5/9", "upper_bound": "8/9"}
    assert "spectr" not in obj["schemes_exact"]  # (11 + sqrt 13)/18 is irrational: a bisection has no exact string
    assert obj["not_computed"]["tournament"].startswith("at K = 2")
    assert obj["cut_set"] == [1]  # q(S) + 1 - p(S)^2 = 0 + 1 - 1/9
    s = obj["schemes"]
    assert s["spectr"] == pytest.approx((11 + math.sqrt(13)) / 18, abs=1e-12)  # docs/theory.md §7
    assert s["specinfer"] == pytest.approx(7 / 9, abs=1e-12)
    assert s["optimal"] == pytest.approx(8 / 9, abs=1e-12)
    assert s["single_draft"] == pytest.approx(2 / 3, abs=1e-12)  # sum min(p, q) = 1/3 + 0 + 1/3
    assert all(isinstance(v, float) for v in s.values())
    for name in ("certificate", "theorem1", "theorem2", "theorem3"):
        assert obj["checks"][name]["applies"] and obj["checks"][name]["passed"], name
    assert obj["checks"]["theorem2"]["holds"] is False and obj["checks"]["theorem2"]["witness"] == [1]
    assert obj["checks"]["theorem2"]["verdict"].endswith("does not hold (S = {1}) and P* < 1, as predicted")
    assert obj["checks"]["certificate"]["exact_value"] == "8/9"


def test_solve_human_report(capsys):
    code, out, _ = run(capsys, "solve", "--example", "figure2-left")
    assert code == 0
    assert "P* = 8/9" in out and "Certificate S = {1}" in out
    for word in ("Theorem 1", "Theorem 2", "Theorem 3", "spectr", "specinfer", "sir"):
        assert word in out
    assert "FAIL" not in out and "pass" not in out
    # readable verdicts: Theorem 2's condition fails here, which is what the theorem predicts for P* < 1
    (t2,) = [ln for ln in out.splitlines() if "Theorem 2" in ln]
    assert "does not hold" in t2 and "P* < 1, as predicted" in t2
    (t3,) = [ln for ln in out.splitlines() if "Theorem 3" in ln]
    assert "equals P*" in t3
    # nothing left out silently; API words are reworded as CLI options
    assert "specinfer_wor  not computed: does not apply" in out and "--law without_replacement" in out


def test_solve_acceptance_one_example(capsys):
    code, out, _ = run(capsys, "solve", "--example", "figure2-left-one", "--json")
    assert code == 0
    obj = json.loads(out)
    assert obj["optimal_acceptance"] == 1.0 and obj["checks"]["theorem2"]["holds"] is True
    assert obj["schemes"]["spectr"] == pytest.approx(8 / 9, abs=1e-12)
    assert obj["schemes"]["specinfer"] == pytest.approx(23 / 27, abs=1e-12)


def test_solve_comma_lists(capsys):
    code, out, _ = run(capsys, "solve", "--target", "0.2,0.3,0.5", "--draft", "0.5,0.3,0.2", "-k", "2", "--json")
    assert code == 0
    obj = json.loads(out)
    q, p = [0.2, 0.3, 0.5], [0.5, 0.3, 0.2]
    assert obj["optimal_acceptance"] == pytest.approx(brute_force_optimum(q, [p, p]), abs=1e-12)
    assert obj["schemes"]["naive"] == pytest.approx(sum(qi * (1 - (1 - pi) ** 2) for qi, pi in zip(q, p)), abs=1e-12)


def test_solve_different_drafts_exact(capsys):
    # docs/theory.md §4: the sorted prefix fails here; P* = 49/50 at S = {0, 1}
    code, out, _ = run(capsys, "solve", "--target", "1/10,1/5,1/10,3/5", "--draft", "4/5,0,1/5,0",
                       "--draft", "1/10,3/10,0,3/5", "--json")
    assert code == 0
    obj = json.loads(out)
    assert obj["optimal_acceptance"] == pytest.approx(0.98, abs=1e-15) and obj["cut_set"] == [0, 1]
    assert obj["checks"]["theorem3"]["applies"] is False
    assert "spectr" not in obj["schemes"]  # SpecTr needs identical drafts


def test_solve_schemes_option(capsys):
    code, out, _ = run(capsys, "solve", "--example", "sir-gap", "--schemes", "sir", "naive", "--json")
    assert code == 0
    obj = json.loads(out)
    assert set(obj["schemes"]) == {"sir", "naive"}
    assert obj["schemes"]["sir"] == pytest.approx(11 / 12, abs=1e-12)  # docs/theory.md §4
    assert obj["schemes_exact"]["sir"] == "11/12"
    code, out2, _ = run(capsys, "solve", "--example", "sir-gap", "--schemes", "sir,naive", "--json")
    assert code == 0 and out2 == out  # the comma form reads the same


def test_solve_from_files(capsys, tmp_path):
    np.save(tmp_path / "q.npy", np.array([0.2, 0.3, 0.5]))
    (tmp_path / "p.json").write_text("[0.5, 0.3, 0.2]")
    (tmp_path / "inst.csv").write_text("target,draft\n0.2,0.5\n0.3,0.3\n0.5,0.2\n")
    code, out, _ = run(capsys, "solve", "--target", str(tmp_path / "q.npy"), "--draft", str(tmp_path / "p.json"),
                       "-k", "2", "--json")
    a = json.loads(out)["optimal_acceptance"]
    code2, out2, _ = run(capsys, "solve", "--file", str(tmp_path / "inst.csv"), "-k", "2", "--json")
    assert code == code2 == 0 and json.loads(out2)["optimal_acceptance"] == a


def test_parse_distribution():
    assert parse_distribution("0.5, 0.5") == [0.5, 0.5]
    assert parse_distribution("1/4,0.75") == [Fraction(1, 4), Fraction(3, 4)]


@pytest.mark.parametrize("argv,msg", [
    (["solve", "--target", "0.5,0.6", "--draft", "0.5,0.5", "-k", "2"], "target sums to"),
    (["solve", "--target", "0.5,0.5", "--draft", "0.5,0.5"], "-k"),
    (["solve", "--target", "0.5,x", "--draft", "0.5,0.5", "-k", "2"], "'x' is not a number"),
    (["solve", "--example", "no-such-example"], "no built-in example"),
    (["solve", "--file", "/no/such/file.json"], "does not exist"),
    (["solve"], "exactly one instance"),
    (["solve", "--example", "figure2-left", "--law", "greedy", "-k", "5"], "greedy"),
    (["solve", "--example", "figure2-left", "--schemes", "spectr", "magic"], "--schemes: 'magic'"),
    (["solve", "--example", "figure2-left", "--schemes", "specinfer_wor"], "--law without_replacement"),
    (["solve", "--bogus"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice"),
    (["table", "/no/such/spec.json"], "neither a file nor a built-in"),
    (["check", "--random", "0"], "at least 1"),
    (["figure", "region", "--draft", "0.5,0.5", "--output-dir", "/tmp/lpspec-unused"], "n = 3"),
    (["figure", "figure2", "-o", "/tmp/lpspec-unused"], "use --output-dir"),
    (["figure", "region", "-k", "2", "3", "--output-dir", "/tmp/lpspec-unused"], "one K"),
    (["table", "--show", "no-such-spec"], "built-in specs: sweep-small"),
    (["table"], "give a sweep spec"),
    (["solve", "--example", "figure2-left", "-k", "two"], "'two' is not an integer"),
    (["batch", "/no/such/file.npz", "-k", "2"], "no such file"),
    (["batch", "d.npz", "-k", "2", "x"], "-k 2 x: 'x' is not an integer"),
])
def test_errors_are_one_line_and_exit_2(capsys, argv, msg):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lpspec: error: ") and msg in lines[0], err
    assert "Traceback" not in err


def test_no_command_prints_help_and_fails(capsys):
    code, out, _ = run(capsys)
    assert code == 2 and "solve" in out


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("lpspec ")
    code, out, _ = run(capsys, "solve", "--help")
    assert code == 0 and "--example" in out


# ---------------------------------------------------------------------- check, table, figure, examples
def test_check_random_batch(capsys):
    code, out, _ = run(capsys, "check", "--random", "5", "--n", "4", "-k", "2", "--seed", "3", "--json")
    assert code == 0
    obj = json.loads(out)
    assert obj["instances"] == 5 and obj["passed"] is True and obj["failures"] == []
    assert obj["checks"]["theorem3"]["applied"] == 5 and obj["checks"]["theorem1"]["passed"] == 5
    assert obj["checks"]["certificate"]["worst_error"] <= 1e-9


def test_check_one_instance_text(capsys):
    code, out, _ = run(capsys, "check", "--example", "prefix-fails")
    assert code == 0 and "every check holds, as predicted" in out and "Theorem 3" in out


def test_check_reports_a_failure(capsys, monkeypatch):
    from lpspec.cli import check
    from lpspec.theory.checks import theorem_checks

    def broken(inst):
        out = theorem_checks(inst)
        out["theorem2"] = {**out["theorem2"], "passed": False, "error": 1.0}
        return out

    monkeypatch.setattr(check, "theorem_checks", broken)
    code, out, _ = run(capsys, "check", "--example", "figure2-left")
    assert code == 1 and "FAILED theorem2" in out and "1 check(s) FAILED" in out


def test_table_command_matches_run_sweep(capsys, tmp_path):
    from lpspec.experiments.sweep import run_sweep

    spec = {"seed": 4, "families": [{"family": "dirichlet", "grid": {"n": [3]}, "replicates": 2}], "k": [2],
            "schemes": ["specinfer", "sir"]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    code, out, err = run(capsys, "table", str(tmp_path / "spec.json"), "--quiet")
    assert code == 0
    assert read_csv(out).rows == run_sweep(spec, progress_bar=False).rows
    code, out, _ = run(capsys, "table", str(tmp_path / "spec.json"), "--format", "latex", "--quiet",
                       "--columns", "seed", "optimal_acceptance", "sir.sd_acc")
    assert code == 0 and "\\toprule" in out and "sir.sd\\_acc" in out
    code, _, err = run(capsys, "table", str(tmp_path / "spec.json"), "-o", str(tmp_path / "t.md"), "--quiet")
    assert code == 0 and (tmp_path / "t.md").read_text().startswith("| family |")
    code, _, err = run(capsys, "table", str(tmp_path / "spec.json"), "--columns", "nope", "--quiet")
    assert code == 2 and "no column nope" in err


def test_table_reports_rows_not_computed(capsys, tmp_path):
    spec = {"seed": 1, "families": [{"family": "dirichlet", "params": {"n": 4, "top_k": 1}}], "k": [2],
            "laws": ["without_replacement"], "schemes": ["specinfer_wor"]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    code, out, err = run(capsys, "table", str(tmp_path / "spec.json"), "--quiet")
    assert code == 0 and "1 of 1 rows not computed" in err
    assert "distinct tokens" in read_csv(out).rows[0]["status"]


def test_figure_command(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    code, _, _ = run(capsys, "figure", "figure2", "--steps", "18", "--output-dir", str(tmp_path), "--formats", "png")
    assert code == 0
    assert (tmp_path / "figure2.png").stat().st_size > 0
    table = read_csv(tmp_path / "figure2.csv")
    row = next(r for r in table.rows if r["panel"] == "left" and abs(r["q1"] - 1 / 9) < 1e-12)
    assert row["optimal_acceptance"] == 1.0
    assert row["specinfer.membership_acc"] == pytest.approx(23 / 27, abs=1e-12)
    code, _, _ = run(capsys, "figure", "region", "--draft", "0.6,0.3,0.1", "-k", "2", "--resolution", "6",
                       "--output-dir", str(tmp_path), "--formats", "pdf")
    assert code == 0 and (tmp_path / "region.pdf").read_bytes()[:5] == b"%PDF-"


def test_examples_command(capsys):
    code, out, _ = run(capsys, "examples")
    assert code == 0 and "figure2-left" in out and "sweep-small" in out


# ---------------------------------------------------------------------- as a process
def _env():
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("PYTHONSTARTUP", None)
    return env


def test_python_dash_m_json_is_clean():
    proc = subprocess.run([sys.executable, "-m", "lpspec", "solve", "--example", "figure2-left", "--json"],
                          capture_output=True, text=True, timeout=120, env=_env(), check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["optimal_acceptance"] == pytest.approx(8 / 9)  # no banner on stdout


def test_console_script_error_exit_code():
    exe = shutil.which("lpspec", path=os.path.dirname(sys.executable)) or shutil.which("lpspec")
    if exe is None:
        pytest.skip("the lpspec console script is not installed")
    proc = subprocess.run([exe, "solve", "--target", "0.5,0.6", "--draft", "0.5,0.5", "-k", "2"],
                          capture_output=True, text=True, timeout=120, env=_env(), check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().startswith("lpspec: error:") and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name,expected", [
    ("figure2-left", Fraction(8, 9)),          # docs/theory.md §7
    ("figure2-left-one", Fraction(1)),         # docs/theory.md §7
    ("figure2-right", Fraction(1)),            # q2 = 1/3 in [5/18, 5/9], docs/theory.md §7
    ("sir-gap", Fraction(1)),                  # q(S) >= p(S)^2: 3/4 >= 1/4, 1/4 >= 1/4
    ("prefix-fails", Fraction(49, 50)),        # docs/theory.md §4
    # without replacement: Pr(set = {0, 1}) = (1/2)(1/4)/(1/2) + (1/4)(1/2)/(3/4) = 5/12, so S = {0, 1} gives
    # q(S) + 1 - 5/12 = 1/10 + 7/12 = 41/60
    ("without-replacement", Fraction(41, 60)),
])
def test_every_builtin_example_solves_and_passes_its_checks(capsys, name, expected):
    code, out, _ = run(capsys, "solve", "--example", name, "--json")
    assert code == 0
    obj = json.loads(out)
    assert obj["optimal_acceptance"] == pytest.approx(float(expected), abs=1e-15)
    assert obj["checks"]["certificate"]["exact_value"] == str(expected)
    assert all(c["passed"] for c in obj["checks"].values() if c["applies"])
    assert obj["schemes"]["optimal"] == pytest.approx(float(expected), abs=1e-12)


def test_batch_subcommand_reaches_the_batched_table(tmp_path, capsys):
    pytest.importorskip("torch")
    import numpy as np

    from lpspec import batched as lb
    from lpspec.cli import main

    rng = np.random.default_rng(0)
    q, p = rng.dirichlet(np.ones(12), size=3), rng.dirichlet(np.ones(12), size=3)
    path = tmp_path / "d.npz"
    lb.save_distributions(path, target=q, drafts=p)
    assert main(["batch", str(path), "-k", "2", "4", "--device", "cpu", "--notes"]) == 0  # keep the notes column
    captured = capsys.readouterr()
    rows = read_csv(captured.out).rows
    # P* of row 0 by brute force over all 2^12 sets, independent of both backends
    best = min(q[0][[(m >> i) & 1 == 1 for i in range(12)]].sum() + 1
               - p[0][[(m >> i) & 1 == 1 for i in range(12)]].sum() ** 2 for m in range(1 << 12))
    assert rows[0]["position"] == 0 and rows[0]["k"] == 2
    assert rows[0]["optimal_acceptance"] == pytest.approx(best, abs=1e-12)  # CSV floats are lossless
    # no silent blanks: truncated IS is for K = 2 only; the K = 4 rows say so, and so does stderr
    k4 = [r for r in rows if r["k"] == 4]
    assert all(r.get("truncated_is.sd_acc") is None and "truncated_is" in r["notes"] for r in k4)
    assert "lpspec: note: not computed: truncated_is" in captured.err
    # each note names its scheme (the reason used to be split at its own "; " into a nameless second note)
    notes = [ln for ln in captured.err.splitlines() if ln.startswith("lpspec: note: not computed:")]
    assert notes and all(ln.startswith("lpspec: note: not computed: truncated_is:") for ln in notes)
