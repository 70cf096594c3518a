"""Small CLI messages a newcomer meets: plain numbers, -k 0, the file's row in batch error rows, --resume."""

import numpy as np
import pytest

from lpspec.cli import main


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lpspec: error: "), err
    return err[0]


def test_numbers_are_printed_plainly(capsys):
    assert main(["solve", "--target", "1.1,-0.1", "--draft", "0.5,0.5", "-k", "2"]) == 2
    line = _error_line(capsys)
    assert "np." not in line and "target[1] = -0.1 is negative" in line


@pytest.mark.parametrize("argv", [["blocks", "--vocabulary", "10", "-k", "0"], ["solve", "--example",
                                                                                  "figure2-left", "-k", "0"]])
def test_k_zero_says_at_least_one(capsys, argv):
    assert main(argv) == 2
    line = _error_line(capsys)
    assert "0 must be ≥ 1" in line and "positive_int" not in line


def test_batch_error_rows_name_the_files_row(tmp_path, capsys):
    pytest.importorskip("torch")
    from lpspec.io.export import read_csv

    q = np.full((6, 4), 0.25)
    p = np.full((6, 4), 0.25)
    p[4] = [0.5, 0.5, 0.1, -0.1]                     # file row 4, token 3; chunks of 2 rows: row 0 of chunk 2
    np.save(tmp_path / "bad.target.npy", q)
    np.save(tmp_path / "bad.drafts.npy", p)
    out = tmp_path / "t.csv"
    assert main(["batch", str(tmp_path / "bad.npy"), "-k", "2", "--batch-size", "2", "--device", "cpu",
                 "-o", str(out), "--no-progress"]) == 1
    rows = read_csv(out).rows
    bad = [r for r in rows if r.get("error")]
    assert [r["position"] for r in bad] == [4]
    assert "drafts[4, 3] = -0.1" in bad[0]["error"]
    capsys.readouterr()


def test_resume_advice_speaks_the_command_line(tmp_path, capsys):
    out = tmp_path / "t.csv"
    (tmp_path / "t.csv.checkpoint.jsonl").write_text("{}\n")      # an earlier run's checkpoint
    assert main(["table", "sweep-small", "-o", str(out), "--no-progress"]) == 2
    line = _error_line(capsys)
    assert "--resume" in line and "resume=True" not in line
    from lpspec.distributed import Checkpoint

    with pytest.raises(ValueError, match=r"resume it \(resume=True\)") as exc:    # and the API speaks Python
        Checkpoint(tmp_path / "t.csv.checkpoint.jsonl", "x", 3)
    assert "--resume" not in str(exc.value)
