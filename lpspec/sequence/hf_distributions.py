"""Next-token distributions of a target and draft Hugging Face causal LMs over a text, saved for lpspec.

For every position of a text, the target model's next-token distribution ``q`` and each draft model's ``p``
(over the shared vocabulary) are written to a file that :func:`lpspec.batched.load_distributions` reads
and ``lpspec batch`` (or ``python -m lpspec.batched``) turns into the acceptance table (optimal, SpecInfer,
SpecTr, truncated IS, ...)::

    lpspec distributions --target facebook/opt-13b --draft facebook/opt-125m \\
        --text xsum.txt -o opt.safetensors --max-positions 512
    lpspec batch opt.safetensors -k 2 4 8 --summary

``python -m lpspec.sequence.hf_distributions ARGS`` is a documented alias of ``lpspec distributions ARGS``.

Details (lpspec's choices):

* **Optional extra.** Needs ``transformers`` and ``torch`` (``pip install -e ".[hf,torch]"`` from a clone,
  ``pip install "lpspec[hf,torch]"`` from the index); the models are the user's (a hub name or a local
  directory; ``--local-files-only`` never touches the network; a missing or empty directory, or a hub name that
  cannot be fetched, is reported in one line with what to do).
* **Offline.** Before loading a hub name, :func:`hub_unreachable` checks in about two seconds whether the hub
  answers (``HF_HUB_OFFLINE=1`` counts as no); without it, models load from the local cache only, so a missing
  model is one error line at once instead of a minute of the hub client's retries. ``--hub-retry`` skips the
  check and lets the hub client retry.
* **Context.** ``--context`` (and :func:`distributions_from_models`'s ``context``) must not exceed the models'
  positions (``max_position_embeddings``/``n_positions`` of their configs): checked before any model runs.
* **Shared tokenizer.** The text is tokenised once with ``--tokenizer`` (default: the target's). A draft that
  ships its own tokenizer must have the same vocabulary, otherwise the script stops. ``n = len(tokenizer)``;
  logit columns beyond ``n`` (embedding rows padded for speed, e.g. OPT's 50 272 vs 50 265 tokens) are
  dropped before the softmax; a model with fewer than ``n`` logits is an error.
* **Positions.** The token ids are cut into consecutive windows of ``--context`` tokens; position ``t`` of a
  window gets the distribution of the next token given the window up to ``t`` (the context restarts at each
  window). At most ``--max-positions`` positions are kept.
* **Transforms.** Logits are cast to float64 and turned into probabilities by
  :func:`lpspec.batched.probabilities_from_logits` (``--temperature``, ``--top-k``, ``--top-p``, the same for
  every model unless ``--draft-temperature`` is given), then stored in ``--precision`` (float32 by default;
  lpspec renormalises float32 rows in float64 when it reads them).
* **Output.** ``.safetensors`` (default; also a ``tokens`` int64 tensor with the token at each position and
  string metadata), ``.pt``, ``.npz`` or ``NAME.npy`` (``NAME.target.npy`` + ``NAME.drafts.npy``). One draft
  gives drafts of shape ``(B, n)`` (pass ``k`` when computing); several ``--draft`` give ``(K, B, n)``.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

__all__ = [
    "HF_INSTALL_HINT",
    "HUB_CHECK_TIMEOUT",
    "check_context",
    "distributions_from_models",
    "hub_unreachable",
    "model_positions",
    "next_token_probabilities",
    "text_windows",
]

HF_INSTALL_HINT = ('pip install -e ".[hf,torch]" from a clone, or pip install "lpspec[hf,torch]" '
                   "(transformers, tokenizers, torch)")

#: Seconds :func:`hub_unreachable` waits for the hub's host to accept a connection.
HUB_CHECK_TIMEOUT = 2.0

_TRUE = ("1", "true", "yes", "on")


def hub_unreachable(endpoint: str | None = None, timeout: float = HUB_CHECK_TIMEOUT) -> str | None:
    """Why the Hugging Face hub cannot be used now, or ``None`` when its host accepts a TCP connection.

    ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` set to ``1`` is an answer without any network access;
    otherwise one connection to the host of ``endpoint`` (default ``$HF_ENDPOINT`` or
    ``https://huggingface.co``) is tried for at most ``timeout`` seconds (name resolution included).

    Examples
    --------
    >>> import os
    >>> os.environ.get("HF_HUB_OFFLINE") == "1" and hub_unreachable() == "HF_HUB_OFFLINE=1 is set"
    True
    """
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in _TRUE:
            return f"{var}=1 is set"
    url = urlparse(endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = url.hostname or "huggingface.co"
    port = url.port or (80 if url.scheme == "http" else 443)
    outcome: list = []

    def probe():
        import socket

        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(None)
        except OSError as exc:
            outcome.append(f"{host}:{port} did not answer: {type(exc).__name__}")

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)  # name resolution has no timeout of its own
    if not outcome:
        return f"{host}:{port} did not answer within {timeout:g} s"
    return outcome[0]


_POSITION_FIELDS = ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length")


def model_positions(config) -> int | None:
    """The longest input a model takes, from its config (or the model itself), or ``None`` when unstated.

    Reads the first positive integer among ``max_position_embeddings``, ``n_positions``, ``n_ctx``,
    ``max_sequence_length``, ``seq_length``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> model_positions(SimpleNamespace(n_positions=256)), model_positions(SimpleNamespace())
    (256, None)
    """
    config = getattr(config, "config", config)
    for field in _POSITION_FIELDS:
        value = getattr(config, field, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def check_context(context: int, limits: dict, flag: str = "context") -> None:
    """Raise ``ValueError`` naming ``flag`` when ``context`` exceeds a model's positions.

    ``limits`` maps a model label to its :func:`model_positions` (``None``: unknown, not checked).

    Examples
    --------
    >>> check_context(8, {"--target gpt2": 1024})
    >>> check_context(512, {"--target m": 256, "--draft d": None}, flag="--context")
    Traceback (most recent call last):
    ...
    ValueError: --context 512 is longer than the 256 positions of --target m; give --context 256 or less.
    """
    known = {label: n for label, n in limits.items() if n is not None}
    if not known:
        return
    label, limit = min(known.items(), key=lambda item: item[1])
    if context > limit:
        sep = " " if flag.startswith("-") else "="
        raise ValueError(f"{flag}{sep}{context} is longer than the {limit} positions of {label}; give "
                         f"{flag}{sep}{limit} or less.")


def _require_transformers():
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(f"lpspec.sequence.hf_distributions needs transformers ({exc}); install it with: {HF_INSTALL_HINT}")
    return transformers


def text_windows(ids, context: int, max_positions: int | None = None) -> list[list[int]]:
    """Consecutive windows of at most ``context`` token ids, holding at most ``max_positions`` ids in all.

    Parameters
    ----------
    ids : sequence of int
    context : int
        ``>= 1``.
    max_positions : int, optional

    Returns
    -------
    list of list of int

    Examples
    --------
    >>> text_windows(list(range(7)), 3)
    [[0, 1, 2], [3, 4, 5], [6]]
    >>> text_windows(list(range(7)), 3, max_positions=4)
    [[0, 1, 2], [3]]
    """
    if isinstance(context, bool) or int(context) != context or context < 1:
        raise ValueError(f"context={context!r} must be a positive integer (tokens per window).")
    ids = list(ids)
    if max_positions is not None:
        if isinstance(max_positions, bool) or int(max_positions) != max_positions or max_positions < 1:
            raise ValueError(f"max_positions={max_positions!r} must be a positive integer.")
        ids = ids[: int(max_positions)]
    return [ids[i : i + int(context)] for i in range(0, len(ids), int(context))]


def next_token_probabilities(model, windows, n: int, *, temperature: float = 1.0, top_k=None, top_p=None,
                             device=None, precision=None):
    """Next-token probabilities of ``model`` at every position of ``windows``, shape (B, n).

    Logits beyond column ``n`` are dropped; the rest go through
    :func:`lpspec.batched.probabilities_from_logits` in float64, and the result is cast to ``precision``
    (default float32).
    """
    from ..batched import probabilities_from_logits, require_torch

    torch = require_torch()
    precision = torch.float32 if precision is None else precision
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    count = int(head.weight.shape[0]) if head is not None else getattr(getattr(model, "config", None),
                                                                       "vocab_size", None)
    if count is not None and count < n:
        raise ValueError(
            f"the model gives {count} logits per position but the tokenizer has {n} tokens; the models must "
            "share the tokenizer's vocabulary."
        )
    out = []
    model.eval()
    with torch.no_grad():
        for window in windows:
            ids = torch.tensor([window], dtype=torch.long, device=device)
            logits = model(input_ids=ids).logits[0]
            if logits.shape[-1] < n:
                raise ValueError(
                    f"the model gives {logits.shape[-1]} logits per position but the tokenizer has {n} tokens; "
                    "the models must share the tokenizer's vocabulary."
                )
            probs = probabilities_from_logits(logits[:, :n].to(torch.float64), temperature=temperature,
                                              top_k=top_k, top_p=top_p, device=logits.device)
            out.append(probs.to(precision).cpu())
    return torch.cat(out, dim=0)


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model", "spiece.model",
                    "vocab.txt")


def _ships_tokenizer(name) -> bool:
    """A local model directory ships a tokenizer when it holds tokenizer files; a hub name is tried."""
    path = Path(name)
    if path.is_dir():
        return any((path / f).exists() for f in _TOKENIZER_FILES)
    return True


def _same_vocabulary(tokenizer, other) -> bool:
    return tokenizer.get_vocab() == other.get_vocab()


def distributions_from_models(*, target_model, draft_models, tokenizer, text: str, context: int = 512,
                              max_positions: int | None = 1024, temperature: float = 1.0,
                              draft_temperature: float | None = None, top_k=None, top_p=None, device=None,
                              precision=None):
    """Target ``(B, n)`` and drafts ``(B, n)`` (one model) or ``(K, B, n)`` over the positions of ``text``.

    Parameters
    ----------
    target_model, draft_models
        A causal LM (``model(input_ids=...).logits``) and a list of them.
    tokenizer
        The shared tokenizer (``len(tokenizer)`` tokens).
    text : str
    context, max_positions
        See :func:`text_windows`.
    temperature, top_k, top_p
        Applied to every model; ``draft_temperature`` overrides the drafts' temperature.
    device, precision
        Where the models run; storage dtype (default float32).

    Returns
    -------
    target, drafts, tokens : torch.Tensor
        ``tokens`` (B,) is the input token at each position.
    """
    from ..batched import require_torch

    torch = require_torch()
    check_context(context, {"the target model": model_positions(target_model),
                            **{f"draft model {i + 1}": model_positions(m) for i, m in enumerate(draft_models)}})
    ids = tokenizer(text)["input_ids"]
    if len(ids) == 0:
        raise ValueError("the text has no tokens.")
    windows = text_windows(ids, context, max_positions)
    n = len(tokenizer)
    target = next_token_probabilities(target_model, windows, n, temperature=temperature, top_k=top_k, top_p=top_p,
                                      device=device, precision=precision)
    t_draft = temperature if draft_temperature is None else draft_temperature
    drafts = [next_token_probabilities(m, windows, n, temperature=t_draft, top_k=top_k, top_p=top_p,
                                       device=device, precision=precision) for m in draft_models]
    drafts_t = drafts[0] if len(drafts) == 1 else torch.stack(drafts, dim=0)
    tokens = torch.tensor([t for w in windows for t in w], dtype=torch.int64)
    return target, drafts_t, tokens


def __getattr__(name):
    """``main`` moved to the CLI layer (:func:`lpspec.cli.aliases.distributions_main`); resolved with a warning."""
    if name == "main":
        import importlib
        import warnings

        warnings.warn("lpspec.sequence.hf_distributions.main is now lpspec.cli.aliases.distributions_main; the old name "
                      "will be removed.", DeprecationWarning, stacklevel=2)
        return importlib.import_module("lpspec.cli.aliases").distributions_main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":  # pragma: no cover  (python -m lpspec.sequence.hf_distributions = lpspec distributions, by name)
    import runpy

    sys.argv[1:1] = ["distributions"]
    runpy.run_module("lpspec", run_name="__main__", alter_sys=True)
