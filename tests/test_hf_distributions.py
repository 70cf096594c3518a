"""The Hugging Face script with tiny randomly initialised models and a tokenizer built here: nothing downloaded.

The expected probabilities come from running the saved models directly (``model(ids).logits`` and a float64
softmax written in the test), never from the script's own helpers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from lpspec.batched import compare_schemes, load_distributions
from lpspec.cli.aliases import distributions_main
from lpspec.sequence import hf_distributions

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "red", "big", "house"]
TEXT = "the cat sat on the mat a dog ran to the red house the big cat sat on a mat"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A WordLevel tokenizer and three tiny GPT-2 models (one with padded logits), saved locally."""
    root = tmp_path_factory.mktemp("hf")
    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(WORDS)}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    tok_dir = root / "tok"
    fast.save_pretrained(tok_dir)
    dirs = {}
    for name, vocab_size, seed in (("target", len(vocab), 0), ("draft", len(vocab) + 3, 1), ("draft2", len(vocab), 2)):
        torch.manual_seed(seed)
        cfg = transformers.GPT2Config(vocab_size=vocab_size, n_positions=32, n_embd=16, n_layer=1, n_head=2)
        model = transformers.GPT2LMHeadModel(cfg)
        d = root / name
        model.save_pretrained(d)
        if name == "target":
            fast.save_pretrained(d)
        dirs[name] = d
    text = root / "text.txt"
    text.write_text(TEXT, encoding="utf-8")
    return {"root": root, "tok": tok_dir, "text": text, "n": len(vocab), **dirs}


def _expected(model_dir, ids, n, context, temperature=1.0):
    """float64 softmax of the first n logits of each window, written here from the model outputs."""
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True).eval()
    rows = []
    with torch.no_grad():
        for i in range(0, len(ids), context):
            window = ids[i : i + context]
            logits = model(input_ids=torch.tensor([window])).logits[0, :, :n].double().numpy()
            for z in logits:
                z = z / temperature
                e = np.exp(z - z.max())
                rows.append(e / math.fsum(e.tolist()))
    return np.array(rows)


def test_script_writes_distributions_the_models_give(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "dist.safetensors"
    rc = distributions_main([
        "--target", str(tiny["target"]), "--draft", str(tiny["draft"]), "--text", str(tiny["text"]),
        "--output", str(out), "--context", "8", "--local-files-only", "--precision", "float64", "--device", "cpu",
    ])
    assert rc == 0
    data = load_distributions(out)
    ids = [WORDS.index(w) + 1 for w in TEXT.split()]
    n = tiny["n"]
    assert tuple(data.target.shape) == (len(ids), n)
    assert tuple(data.drafts.shape) == (len(ids), n)  # the draft's 3 padded logit columns were dropped
    np.testing.assert_allclose(data.target.numpy(), _expected(tiny["target"], ids, n, 8), rtol=0, atol=1e-12)
    np.testing.assert_allclose(data.drafts.numpy(), _expected(tiny["draft"], ids, n, 8), rtol=0, atol=1e-12)
    assert data.metadata["producer"] == "lpspec.sequence.hf_distributions"
    assert data.metadata["context"] == "8"
    from safetensors import safe_open

    with safe_open(str(out), framework="pt") as f:
        assert f.get_tensor("tokens").tolist() == ids
    # the file feeds the batched backend directly
    res = compare_schemes(**data.kwargs(k=2), device="cpu")
    assert res["optimal"].shape == (len(ids),)
    assert bool((res["specinfer"] <= res["optimal"] + 1e-12).all())


def test_script_several_drafts_npy_temperature_and_max_positions(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "dist.npy"
    rc = distributions_main([
        "--target", str(tiny["target"]), "--draft", str(tiny["draft"]), "--draft", str(tiny["draft2"]),
        "--tokenizer", str(tiny["tok"]), "--text", str(tiny["text"]), "--output", str(out), "--context", "5",
        "--max-positions", "7", "--temperature", "0.5", "--local-files-only", "--device", "cpu",
    ])
    assert rc == 0
    assert (tmp_path / "dist.target.npy").exists() and (tmp_path / "dist.drafts.npy").exists()
    data = load_distributions(out)
    n = tiny["n"]
    ids = [WORDS.index(w) + 1 for w in TEXT.split()][:7]
    assert data.target.shape == (7, n) and data.drafts.shape == (2, 7, n)
    assert data.target.dtype == np.float32  # the default storage precision
    np.testing.assert_allclose(data.target, _expected(tiny["target"], ids, n, 5, 0.5), rtol=0, atol=1e-6)
    np.testing.assert_allclose(data.drafts[1], _expected(tiny["draft2"], ids, n, 5, 0.5), rtol=0, atol=1e-6)
    res = compare_schemes(target=data.target, drafts=data.drafts, device="cpu")
    assert set(res) == {"single_draft", "specinfer", "naive", "truncated_is", "upper_bound"}


def test_script_refuses_a_draft_with_another_vocabulary(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vocab = {"[UNK]": 0, "x": 1, "y": 2}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    other = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    bad = tmp_path / "bad_draft"
    transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=3, n_positions=32, n_embd=16, n_layer=1,
                                                         n_head=2)).save_pretrained(bad)
    other.save_pretrained(bad)
    rc = distributions_main([
        "--target", str(tiny["target"]), "--draft", str(bad), "--text", str(tiny["text"]),
        "--output", str(tmp_path / "x.pt"), "--local-files-only", "--device", "cpu",
    ])
    assert rc == 2
    assert "different vocabulary" in capsys.readouterr().err


def test_script_refuses_a_model_with_too_few_logits(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    small = tmp_path / "small"
    transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=4, n_positions=32, n_embd=16, n_layer=1,
                                                         n_head=2)).save_pretrained(small)
    rc = distributions_main([
        "--target", str(tiny["target"]), "--draft", str(small), "--text", str(tiny["text"]),
        "--output", str(tmp_path / "x.pt"), "--local-files-only", "--device", "cpu", "--context", "4",
    ])
    assert rc == 2
    assert "logits per position" in capsys.readouterr().err


def test_text_windows_cover_the_ids_in_order():
    ids = list(range(23))
    windows = hf_distributions.text_windows(ids, 5)
    assert [t for w in windows for t in w] == ids
    assert all(len(w) == 5 for w in windows[:-1]) and len(windows[-1]) == 3
    with pytest.raises(ValueError, match="context"):
        hf_distributions.text_windows(ids, 0)


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lpspec: error: "), err
    return err[0]


def test_missing_empty_and_unreachable_models_say_so(tiny, tmp_path, monkeypatch, capsys):
    from lpspec.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    base = ["--text", str(tiny["text"]), "-o", str(tmp_path / "x.pt"), "--device", "cpu"]
    # the module alias and the subcommand are one command
    assert distributions_main(["--target", str(tmp_path / "missing"), "--draft", str(tiny["draft"]), *base]) == 2
    assert "no such directory" in _one_error_line(capsys)
    (tmp_path / "empty").mkdir()
    assert main(["distributions", "--target", str(tmp_path / "empty"), "--draft", str(tiny["draft"]), *base]) == 2
    assert "the directory is empty" in _one_error_line(capsys)
    assert main(["distributions", "--target", str(tiny["target"]), "--draft", "no-org-xyz/no-model",
                 "--local-files-only", *base]) == 2
    assert "--local-files-only forbids the hub" in _one_error_line(capsys)
    # a hub name without a network: advice to use a local directory and --local-files-only
    assert main(["distributions", "--target", "no-org-xyz/no-model", "--draft", str(tiny["draft"]), *base]) == 2
    line = _one_error_line(capsys)
    assert "Hugging Face hub" in line and "local directory" in line and "--local-files-only" in line
    (tmp_path / "empty.txt").write_text("  \n")
    assert main(["distributions", "--target", str(tiny["target"]), "--draft", str(tiny["draft"]), "--text",
                 str(tmp_path / "empty.txt"), "-o", str(tmp_path / "x.pt"), "--local-files-only"]) == 2
    assert "the file is empty" in _one_error_line(capsys)


def test_context_longer_than_the_model_is_one_line_before_any_work(tiny, tmp_path, capsys):
    """The fixture's models have n_positions=32 (GPT2Config above): --context 64 (or the default 512) is refused
    in one line naming --context and the limit, and nothing is written."""
    out = tmp_path / "x.safetensors"
    for extra in (["--context", "64"], []):
        rc = hf_distributions.main(["--target", str(tiny["target"]), "--draft", str(tiny["draft"]), "--text",
                                    str(tiny["text"]), "-o", str(out), "--local-files-only", "--device", "cpu",
                                    *extra])
        assert rc == 2
        line = _one_error_line(capsys)
        wanted = extra[1] if extra else "512"
        assert f"--context {wanted} is longer than the 32 positions of --target" in line
        assert "give --context 32 or less" in line
        assert not out.exists()
    # the limit itself is accepted (a window of 32 tokens runs through GPT-2's 32 position embeddings)
    assert hf_distributions.main(["--target", str(tiny["target"]), "--draft", str(tiny["draft"]), "--text",
                                  str(tiny["text"]), "-o", str(out), "--local-files-only", "--device", "cpu",
                                  "--context", "32"]) == 0
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny["target"], local_files_only=True)
    with pytest.raises(ValueError, match=r"context=33 is longer than the 32 positions of the target model"):
        hf_distributions.distributions_from_models(target_model=model, draft_models=[model], tokenizer=None,
                                                   text="the cat", context=33)


def test_hub_check_is_quick_and_loading_falls_back_to_the_cache(tiny, tmp_path, monkeypatch, capsys):
    import socket
    import time

    from lpspec.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_reason() == "HF_HUB_OFFLINE=1 is set"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    with socket.socket() as server:                      # a port that answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert hf_distributions.hub_unreachable(f"http://127.0.0.1:{server.getsockname()[1]}") is None
    with socket.socket() as probe:                       # a port nobody listens on (bound, then closed)
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed}")
    start = time.perf_counter()
    assert "did not answer" in hf_distributions.hub_unreachable()
    rc = main(["distributions", "--target", "no-org-xyz/no-model", "--draft", str(tiny["draft"]), "--text",
               str(tiny["text"]), "-o", str(tmp_path / "x.pt"), "--device", "cpu"])
    assert rc == 2 and time.perf_counter() - start < 15
    line = _one_error_line(capsys)
    assert "not in the local cache" in line and "hub is unreachable" in line and "--hub-retry" in line


def hub_reason():
    return hf_distributions.hub_unreachable(timeout=0.5)
