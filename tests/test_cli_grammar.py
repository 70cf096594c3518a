"""One grammar for every subcommand: one parser, list options, -o/--output, instance-file keys, one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_cli import brute_force_optimum, run  # noqa: E402  (tests/ is on pytest's pythonpath)

from lpspec.cli import (
    COMMANDS,
    build_parser,
    main,  # noqa: E402
)
from lpspec.io.export import read_csv


# ---------------------------------------------------------------------- one parser
def test_every_subcommand_is_in_the_one_parser():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == COMMANDS
    assert set(COMMANDS) >= {"solve", "check", "table", "figure", "batch", "distributions", "examples"}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and out.startswith(f"usage: lpspec {command}")


# ---------------------------------------------------------------------- list options
@pytest.mark.parametrize("argv,dest,expected", [
    (["solve", "--example", "x", "--schemes", "{a} {b}"], "schemes", ["sir", "naive"]),
    (["table", "spec", "--columns", "{a} {b}"], "columns", ["sir", "naive"]),
    (["batch", "f.npz", "-k", "1", "--schemes", "{a} {b}"], "schemes", ["sir", "naive"]),
    (["figure", "--schemes", "{a} {b}"], "schemes", ["sir", "naive"]),
    (["figure", "--formats", "{a} {b}"], "formats", ["sir", "naive"]),
])
def test_lists_are_space_separated_and_commas_read_the_same(argv, dest, expected):
    parser = build_parser()

    def parse(joined):
        words = []
        for w in argv:
            words += joined.format(a="sir", b="naive").split() if "{a}" in w else [w]
        return getattr(parser.parse_args(words), dest)

    assert parse("{a} {b}") == expected
    assert parse("{a},{b}") == expected
    assert parse("{a}, {b}") == expected  # "sir," "naive"


@pytest.mark.parametrize("command", [["batch", "f.npz"], ["figure"]])
def test_k_lists_are_integers_in_every_subcommand(command):
    parser = build_parser()
    assert parser.parse_args([*command, "-k", "2", "4", "8"]).k == [2, 4, 8]
    assert parser.parse_args([*command, "-k", "2,4", "8"]).k == [2, 4, 8]


# ---------------------------------------------------------------------- -o / --output
def _cases(tmp_path):
    spec = {"seed": 2, "families": [{"family": "dirichlet", "grid": {"n": [3]}}], "k": [2], "schemes": ["naive"]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    return {
        "solve": ["solve", "--example", "figure2-left"],
        "solve-json": ["solve", "--example", "sir-gap", "--json"],
        "check": ["check", "--example", "prefix-fails"],
        "table": ["table", str(tmp_path / "spec.json"), "--quiet"],
        "table-show": ["table", "--show", "sweep-small"],
        "examples": ["examples"],
    }


@pytest.mark.parametrize("case", ["solve", "solve-json", "check", "table", "table-show", "examples", "batch"])
def test_dash_o_writes_exactly_what_stdout_would_show(capsys, tmp_path, case):
    if case == "batch":
        pytest.importorskip("torch")
        from lpspec.batched import save_distributions

        rng = np.random.default_rng(1)
        save_distributions(tmp_path / "d.npz", target=rng.dirichlet(np.ones(5), 3), drafts=rng.dirichlet(np.ones(5), 3))
        argv = ["batch", str(tmp_path / "d.npz"), "-k", "2", "--device", "cpu"]
    else:
        argv = _cases(tmp_path)[case]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and out
    target = tmp_path / ("out.csv" if case in ("table", "batch") else "out.txt")  # tables: format from the suffix
    code, out2, err2 = run(capsys, *argv, "-o", str(target))
    assert code == 0 and out2 == ""
    assert f"to {target}" in err2
    assert target.read_text(encoding="utf-8") == out
    code, out3, _ = run(capsys, *argv, "--output", str(target.with_name("out2" + target.suffix)))
    assert code == 0 and target.with_name("out2" + target.suffix).read_text(encoding="utf-8") == out


def test_dash_o_suffix_chooses_the_format(capsys, tmp_path):
    code, _, _ = run(capsys, "solve", "--example", "figure2-left", "-o", str(tmp_path / "r.json"))
    assert code == 0 and json.loads((tmp_path / "r.json").read_text())["optimal_acceptance_exact"] == "8/9"
    spec = {"seed": 2, "families": [{"family": "dirichlet", "grid": {"n": [3]}}], "k": [2], "schemes": ["naive"]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    code, _, _ = run(capsys, "table", str(tmp_path / "spec.json"), "--quiet", "-o", str(tmp_path / "t.md"))
    assert code == 0 and (tmp_path / "t.md").read_text().startswith("| family |")


def test_table_show_prints_the_builtin_spec(capsys):
    from lpspec.experiments.sweep import load_spec, parse_spec
    from lpspec.io.instances import example_path

    code, out, _ = run(capsys, "table", "--show", "sweep-small")
    assert code == 0 and out == example_path("sweep-small").read_text(encoding="utf-8")
    assert parse_spec(json.loads(out)) == load_spec("sweep-small")
    code, out, _ = run(capsys, "table", "--show", "sweep-temperature")
    assert code == 0 and "families" in out


# ---------------------------------------------------------------------- instance files: the API's keys
def test_instance_files_use_the_api_keys(capsys, tmp_path):
    q, p1, p2 = [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]
    expect_same = brute_force_optimum(q, [p1, p1, p1])
    expect_diff = brute_force_optimum(q, [p1, p2])
    files = {
        "one.json": ({"target": q, "drafts": p1, "k": 3}, expect_same),        # drafts= as make_instance takes it
        "two.json": ({"target": q, "drafts": [p1, p2]}, expect_diff),
        "old.json": ({"target": q, "draft": p1, "k": 3}, expect_same),
    }
    for name, (obj, expected) in files.items():
        (tmp_path / name).write_text(json.dumps(obj))
        code, out, err = run(capsys, "solve", "--file", str(tmp_path / name), "--json")
        assert code == 0, err
        assert json.loads(out)["optimal_acceptance"] == pytest.approx(expected, abs=1e-12), name
    # .npz: drafts of the target's shape is one draft (give -k); one more leading axis lists K drafts
    np.savez(tmp_path / "one.npz", target=q, drafts=p1)
    np.savez(tmp_path / "two.npz", target=q, drafts=np.array([p1, p2]))
    code, out, _ = run(capsys, "solve", "--file", str(tmp_path / "one.npz"), "-k", "3", "--json")
    assert code == 0 and json.loads(out)["optimal_acceptance"] == pytest.approx(expect_same, abs=1e-12)
    code, out, _ = run(capsys, "solve", "--file", str(tmp_path / "two.npz"), "--json")
    assert code == 0 and json.loads(out)["optimal_acceptance"] == pytest.approx(expect_diff, abs=1e-12)
    # errors name CLI options
    code, _, err = run(capsys, "solve", "--file", str(tmp_path / "one.npz"))
    assert code == 2 and "give -k K" in err
    code, _, err = run(capsys, "solve", "--file", str(tmp_path / "two.npz"), "-k", "3")
    assert code == 2 and "-k 3 disagrees with the 2 different drafts" in err and "drop -k" in err
    # a batch file (target of shape (B, n)) is not one instance: say where it belongs
    np.savez(tmp_path / "batch.npz", target=np.array([q, q]), drafts=np.array([p1, p1]))
    code, _, err = run(capsys, "solve", "--file", str(tmp_path / "batch.npz"), "-k", "2")
    assert code == 2 and "lpspec batch" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------- no silent blanks
def test_solve_names_the_schemes_it_cannot_compute(capsys):
    from lpspec import compare_schemes

    n, k = 60, 4  # 60^4 = 12 960 000 draft tuples > MAX_SCHEME_TUPLES = 200 000
    q = [1 / n] * n
    p = [(i + 1) / (n * (n + 1) / 2) for i in range(n)]
    assert n**k > 200_000
    argv = ["solve", "--target", ",".join(map(repr, q)), "--draft", ",".join(map(repr, p)), "-k", str(k)]
    code, out, err = run(capsys, *argv)
    assert code == 0
    note = [ln for ln in err.splitlines() if ln.startswith("lpspec: note: not computed:")]
    assert len(note) == 1 and "sir" in note[0] and "12,960,000" in note[0]
    api = compare_schemes(target=q, drafts=p, k=k)
    for name in ("canonical", "sir", "tournament"):
        assert "draft tuples" in api.not_computed[name]
        assert f"{name:<14} not computed: would enumerate 12,960,000 draft tuples" in out
    code, out, _ = run(capsys, *argv, "--json")
    obj = json.loads(out)
    assert set(obj["schemes"]) == set(api) and obj["not_computed"] == api.not_computed


@pytest.mark.parametrize("argv,words", [
    (["solve", "--example", "figure2-left", "--law", "greedy", "-k", "5"], "Lower -k"),
    (["solve", "--target", "0.5,0.5", "--draft", "0.5,0.5", "--draft", "0.2,0.8", "--law", "without_replacement"],
     "give one --draft P with -k K"),
    (["solve", "--example", "figure2-left", "--schemes", "specinfer_wor"], "--law without_replacement"),
])
def test_error_advice_names_cli_options(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and words in err
    assert "law='" not in err and "k=K" not in err and "drafts=" not in err


# ---------------------------------------------------------------------- one-line errors, as a process
def _env():
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("PYTHONSTARTUP", None)
    return env


def _bad_inputs(tmp_path):
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    return [
        (["solve", "--target", "0.5,0.6", "--draft", "0.5,0.5", "-k", "2"], "target sums to"),
        # one line; naming the damaged file in every loader's message is the corrupt-files work, not this one's
        (["solve", "--file", str(tmp_path / "broken.npz")], "zip"),
        (["solve", "--target", str(tmp_path / "broken.npy"), "--draft", "0.5,0.5", "-k", "2"], "broken.npy"),
        (["check", "--random", "0"], "at least 1"),
        (["table", "--show", "nope"], "built-in specs"),
        (["figure", "figure2", "-o", str(tmp_path / "x")], "--output-dir"),
        (["batch", str(tmp_path / "missing.npz"), "-k", "2"], "no such file"),
        (["examples", "--bogus"], "unrecognized arguments"),
    ]


def test_errors_are_one_line_exit_2_in_a_process(tmp_path):
    script = ("import sys, json; from lpspec.cli import main\n"
              "for argv in json.loads(sys.argv[1]):\n"
              "    sys.stderr.write('@@%d\\n' % main(argv)); sys.stderr.flush()\n")
    cases = _bad_inputs(tmp_path)
    proc = subprocess.run([sys.executable, "-c", script, json.dumps([a for a, _ in cases])], capture_output=True,
                          text=True, timeout=300, env=_env(), check=False)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert "Traceback" not in proc.stderr
    blocks = proc.stderr.split("@@")
    # each case wrote exactly one line, then its exit code
    messages = [blocks[0]] + [b.split("\n", 1)[1] for b in blocks[1:-1]]
    codes = [int(b.split("\n", 1)[0]) for b in blocks[1:]]
    assert codes == [2] * len(cases)
    for (argv, expected), message in zip(cases, messages):
        lines = message.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("lpspec: error: ") and expected in lines[0], (argv, message)


@pytest.mark.parametrize("module,argv", [
    ("lpspec.batched", ["/no/such/file.npz", "-k", "2"]),
    ("lpspec.sequence.hf_distributions", ["--target", "./no-such-dir", "--draft", "x", "--text", "t", "-o", "x.pt"]),
    ("lpspec.hf_distributions", ["--target", "./no-such-dir", "--draft", "x", "--text", "t", "-o", "x.pt"]),  # 0.2 path
])
def test_module_aliases_are_the_same_command(module, argv):
    pytest.importorskip("torch")
    if module.endswith("hf_distributions"):
        pytest.importorskip("transformers")
    proc = subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True, timeout=120,
                          env=_env(), check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lpspec: error: "), proc.stderr


def test_batch_and_table_share_column_names(capsys, tmp_path):
    pytest.importorskip("torch")
    from lpspec.batched import save_distributions
    from lpspec.experiments.sweep import run_sweep

    q, p = [0.2, 0.3, 0.5], [0.5, 0.3, 0.2]
    save_distributions(tmp_path / "d.npz", target=np.array([q]), drafts=np.array([p]))
    code, out, _ = run(capsys, "batch", str(tmp_path / "d.npz"), "-k", "2", "--device", "cpu",
                       "--schemes", "optimal", "specinfer", "naive")
    assert code == 0
    batch_row = read_csv(out).rows[0]
    sweep = run_sweep({"families": [{"family": "file", "params": {"path": str(tmp_path / "one.json")}}],
                       "k": [2], "schemes": ["specinfer", "naive"]}
                      if (tmp_path / "one.json").write_text(json.dumps({"target": q, "drafts": p})) else {},
                      progress_bar=False)
    table_row = sweep.rows[0]
    for column in ("optimal_acceptance", "specinfer.membership_acc", "naive.membership_acc"):
        assert column in batch_row and column in table_row
        assert batch_row[column] == pytest.approx(table_row[column], abs=1e-12)
    assert batch_row["optimal_acceptance"] == pytest.approx(brute_force_optimum(q, [p, p]), abs=1e-12)


def test_solve_computes_the_optimum_once(capsys, monkeypatch):
    import lpspec.solvers.optimum as optimum_module
    from lpspec.schemes import compare
    from lpspec.theory import decomposition, theorems

    calls = []
    real = optimum_module.optimum_for

    def counting(inst, *args, **kw):
        calls.append(args)
        return real(inst, *args, **kw)

    for module in (optimum_module, compare, theorems):
        monkeypatch.setattr(module, "optimum_for", counting)
    assert decomposition.decomposition_for.__defaults__[-1] is None  # takes the optimum from the caller
    code, out, _ = run(capsys, "solve", "--example", "figure2-left", "--json")
    assert code == 0 and json.loads(out)["optimal_acceptance_exact"] == "8/9"
    assert len(calls) == 1


def test_errors_name_options_not_python_keywords(capsys, tmp_path):
    """Review: `--workers 0` said "workers=0 ...", `--chunk-size 5` "chunk_size=5 ... batch_size=4", and
    `--draft-temperature 0` "draft_temperature=0.0"; the advice names the command-line options."""
    np.savez(tmp_path / "d.npz", target=np.full((2, 3), 1 / 3), drafts=np.full((2, 3), 1 / 3))
    cases = [(["batch", str(tmp_path / "d.npz"), "-k", "2", "--workers", "0"], "--workers 0 must"),
             (["batch", str(tmp_path / "d.npz"), "-k", "2", "--chunk-size", "5", "--batch-size", "4",
               "--engine", "dask"], "--chunk-size 5 must be a multiple of --batch-size 4"),
             (["blocks", "--draft-temperature", "0"], "--draft-temperature 0.0 must be positive")]
    for argv, expected in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], err
        assert "_size=" not in err[0] and "workers=" not in err[0] and "temperature=" not in err[0]
