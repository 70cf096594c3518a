"""Loading distributions from .safetensors / .pt / .npz / .npy and the acceptance table over a file."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import lpspec
from lpspec import batched as lb
from lpspec.cli import aliases as table_cli
from lpspec.registry import acceptance_column


def _rows(rng, B, n):
    q = rng.dirichlet(np.ones(n), size=B)
    p = rng.dirichlet(np.ones(n), size=B)
    return q, p


class NotATensor:
    """A class a .pt file may not unpickle under weights_only=True."""


@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".npz", ".npy"])
def test_round_trip_of_every_format(tmp_path, suffix):
    rng = np.random.default_rng(0)
    q, p = _rows(rng, 5, 17)
    P = np.stack([p, _rows(rng, 5, 17)[1]])
    for drafts in (p, P):
        path = tmp_path / f"d{drafts.ndim}{suffix}"
        written = lb.save_distributions(path, target=q, drafts=drafts, metadata={"model": "m"})
        assert all(w.exists() for w in written)
        data = lb.load_distributions(path)
        assert np.array_equal(np.asarray(data.target), q)
        assert np.array_equal(np.asarray(data.drafts), drafts)
        assert data.different_drafts == (drafts.ndim == 3) and data.positions == 5
        if suffix != ".npy":
            assert data.metadata == {"model": "m"}


def test_npy_pair_conventions(tmp_path):
    rng = np.random.default_rng(1)
    q, p = _rows(rng, 3, 8)
    np.save(tmp_path / "a.npy", q)
    np.save(tmp_path / "b.npy", p)
    data = lb.load_distributions(tmp_path / "a.npy", drafts_path=tmp_path / "b.npy")
    assert np.array_equal(data.target, q) and np.array_equal(data.drafts, p)
    with pytest.raises(ValueError, match="one array"):
        lb.load_distributions(tmp_path / "a.npy")
    lb.save_distributions(tmp_path / "pair.npy", target=q, drafts=p)
    data = lb.load_distributions(tmp_path / "pair.target.npy")  # either name of the pair works
    assert np.array_equal(data.drafts, p)


def test_pt_files_are_read_with_weights_only(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"target": torch.ones(1, 2) / 2, "drafts": torch.ones(1, 2) / 2, "x": NotATensor()}, path)
    with pytest.raises(ValueError, match="weights_only=True"):
        lb.load_distributions(path)
    good = tmp_path / "good.pt"
    torch.save({"target": torch.ones(1, 2) / 2, "drafts": torch.ones(1, 2) / 2}, good)
    assert lb.load_distributions(good).metadata == {}


def test_load_errors_name_the_problem(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "x.safetensors"
    save_file({"q": torch.ones(2, 3) / 3, "drafts": torch.ones(2, 3) / 3}, str(path))
    with pytest.raises(ValueError, match="no array named 'target'"):
        lb.load_distributions(path)
    assert lb.load_distributions(path, target_key="q").target.shape == (2, 3)
    save_file({"target": torch.ones(2, 3) / 3, "drafts": torch.ones(2, 4) / 4}, str(path))
    with pytest.raises(ValueError, match="'drafts' must have shape"):
        lb.load_distributions(path)
    with pytest.raises(ValueError, match="unknown file type"):
        lb.load_distributions(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="no such file"):
        lb.load_distributions(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="reserved"):
        lb.save_distributions(tmp_path / "y.pt", target=np.ones((1, 2)) / 2, drafts=np.ones((1, 2)) / 2,
                              extra={"target": np.zeros(1)})


def test_table_over_a_float32_file_matches_the_numpy_side(tmp_path):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((6, 500)) * 2
    q = torch.softmax(torch.tensor(z, dtype=torch.float32), dim=1)
    p = torch.softmax(torch.tensor(z + rng.standard_normal((6, 500)), dtype=torch.float32), dim=1)
    path = tmp_path / "f32.safetensors"
    lb.save_distributions(path, target=q, drafts=p)
    data = lb.load_distributions(path)
    assert data.target.dtype == torch.float32
    rows = lb.acceptance_table(**data.kwargs(k=2), device="cpu", batch_size=4)
    for row in rows:
        b = row["position"]
        q64 = q[b].double().numpy()
        p64 = p[b].double().numpy()
        q64, p64 = q64 / q64.sum(), p64 / p64.sum()  # the float64 renormalisation, done here
        ref = lpspec.compare_schemes(target=q64, drafts=p64, k=2,
                                     schemes=["optimal", "specinfer", "spectr", "naive", "upper_bound"])
        for name, v in ref.items():
            assert row[acceptance_column(name)] == pytest.approx(float(v), abs=1e-12), name
    with pytest.raises(ValueError, match="pass k"):
        data.kwargs()


def test_table_command_line(tmp_path, capsys):
    rng = np.random.default_rng(3)
    q, p = _rows(rng, 4, 30)
    path = tmp_path / "d.pt"
    lb.save_distributions(path, target=q, drafts=p)
    out = tmp_path / "t.json"
    assert table_cli.batched_main([str(path), "-k", "2", "4", "--summary", "--output", str(out), "--device", "cpu"]) == 0
    rows = json.loads(out.read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert [r["k"] for r in rows] == [2, 4]
    direct = lb.acceptance_table(target=q, drafts=p, k=[2, 4], summary=True, device="cpu")
    assert rows[0]["optimal_acceptance"] == pytest.approx(direct[0]["optimal_acceptance"], abs=1e-15)
    capsys.readouterr()
    assert table_cli.batched_main([str(path), "-k", "2", "--device", "cpu"]) == 0  # python -m lpspec.batched
    assert capsys.readouterr().out.startswith("position,k,optimal_acceptance,single_draft.membership_acc,")
    assert table_cli.batched_main([str(path), "--device", "cpu"]) == 2  # (B, n) drafts need -k
    err = capsys.readouterr().err
    assert err.startswith("lpspec: error: ") and "give -k K" in err and len(err.strip().splitlines()) == 1
