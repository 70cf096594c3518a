"""``lpspec distributions``: next-token distributions of target and draft Hugging Face causal LMs over a text.

``python -m lpspec.sequence.hf_distributions ...`` is the same command (a documented alias). The library functions are
in :mod:`lpspec.sequence.hf_distributions`; this module only reads the options, checks the model locations and writes
the file that ``lpspec batch`` reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._common import CLIError, one_line, positive_int

NAME = "distributions"
HELP = "write next-token distributions of target and draft Hugging Face LMs over a text (for lpspec batch)"


def register(sub):
    p = sub.add_parser(NAME, help=HELP, description=HELP + "; also `python -m lpspec.sequence.hf_distributions`.")
    p.add_argument("--target", required=True, metavar="MODEL", help="target model: local directory or hub name")
    p.add_argument("--draft", "--drafts", dest="draft", required=True, action="append", metavar="MODEL",
                   help="draft model (repeat for K different drafts)")
    p.add_argument("--tokenizer", default=None, metavar="MODEL", help="tokenizer (default: the target's)")
    p.add_argument("--text", required=True, metavar="PATH", help="a UTF-8 text file")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="the file to write: .safetensors, .pt, "
                   ".npz or NAME.npy")
    p.add_argument("--context", type=positive_int, default=512, help="tokens per window (default 512)")
    p.add_argument("--max-positions", type=positive_int, default=1024, help="positions kept (default 1024)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--draft-temperature", type=float, default=None)
    p.add_argument("--top-k", type=positive_int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--precision", choices=["float32", "float64"], default="float32",
                   help="storage dtype of the probabilities")
    p.add_argument("--model-dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                   help="dtype the models run in")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--local-files-only", action="store_true", help="never download (local directories only)")
    p.add_argument("--hub-retry", action="store_true",
                   help="skip the quick hub check and let the hub client retry (default: when the hub does not "
                        "answer within 2 s, load from the local cache only and fail at once)")
    p.set_defaults(func=run)
    return p


def _looks_like_path(name: str) -> bool:
    return Path(name).exists() or name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


def check_model_location(flag: str, name: str, local_only: bool) -> None:
    """A missing, empty or non-model directory says so; with ``--local-files-only`` a hub name is refused."""
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise CLIError(f"{flag} {name}: is a file; give a model directory (with config.json) or a hub name.")
        if not any(path.iterdir()):
            raise CLIError(f"{flag} {name}: the directory is empty; save a model there (save_pretrained) or give "
                           "a hub name.")
        return
    if _looks_like_path(name):
        raise CLIError(f"{flag} {name}: no such directory.")
    if local_only:
        raise CLIError(f"{flag} {name}: no such local directory, and --local-files-only forbids the hub; give the "
                       "directory the model was saved to.")


def _first_sentence(exc: BaseException, limit: int = 200) -> str:
    text = one_line(exc)
    head = text.split(". ")[0].rstrip(".")
    return head if len(head) <= limit else head[: limit - 3] + "..."


def _hub_advice(flag: str, name: str, exc: BaseException, offline: str | None = None) -> CLIError:
    if Path(name).expanduser().is_dir():
        return CLIError(f"{flag} {name}: not a loadable model or tokenizer directory ({_first_sentence(exc)}).")
    if offline:
        return CLIError(f"{flag} {name}: not in the local cache, and the Hugging Face hub is unreachable "
                        f"({offline}); download the model where there is a network and pass its local directory "
                        "with --local-files-only (or give --hub-retry to let the hub client retry).")
    return CLIError(f"{flag} {name}: could not load it from the Hugging Face hub ({_first_sentence(exc)}); without "
                    "a network, download the model first and pass its local directory with --local-files-only.")


def run(args) -> int:
    from ..batched import require_torch
    from ..batched._torch import resolve_device
    from ..batched.io import save_distributions
    from ..sequence import hf_distributions as hf

    for flag, name in [("--target", args.target), *[("--draft", d) for d in args.draft],
                       *([("--tokenizer", args.tokenizer)] if args.tokenizer else [])]:
        check_model_location(flag, name, args.local_files_only)
    text_path = Path(args.text)
    if not text_path.is_file():
        raise CLIError(f"--text {args.text}: no such file.")
    text = text_path.read_text(encoding="utf-8")
    if not text.strip():
        raise CLIError(f"--text {args.text}: the file is empty.")
    names = [args.target, *args.draft, *([args.tokenizer] if args.tokenizer else [])]
    offline = None
    if not args.local_files_only and not args.hub_retry and not all(Path(n).expanduser().is_dir() for n in names):
        offline = hf.hub_unreachable()  # at most ~2 s; then the cache only, no retries
    transformers = hf._require_transformers()  # after the cheap checks: importing it takes seconds
    torch = require_torch()
    device = resolve_device(args.device)
    local = {"local_files_only": True} if (args.local_files_only or offline) else {}
    tok_flag, tok_name = ("--tokenizer", args.tokenizer) if args.tokenizer else ("--target", args.target)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(tok_name, **local)
    except (OSError, ValueError) as exc:
        raise _hub_advice(tok_flag, tok_name, exc, offline) from None
    for name in args.draft:
        if not hf._ships_tokenizer(name):
            continue  # the draft has no tokenizer files: it uses the shared one
        try:
            other = transformers.AutoTokenizer.from_pretrained(name, **local)
        except (OSError, ValueError):
            continue
        if not hf._same_vocabulary(tokenizer, other):
            raise CLIError(f"--draft {name}: a different vocabulary from the tokenizer {tok_name!r}; speculative "
                           "sampling needs target and drafts over the same tokens.")
    model_dtype = getattr(torch, args.model_dtype)

    # the context against every model's positions, from the configs alone (before any model is loaded)
    limits = {}
    for flag, name in [("--target", args.target), *[("--draft", d) for d in args.draft]]:
        try:
            config = transformers.AutoConfig.from_pretrained(name, **local)
        except (OSError, ValueError) as exc:
            raise _hub_advice(flag, name, exc, offline) from None
        limits[f"{flag} {name}"] = hf.model_positions(config)
    try:
        hf.check_context(args.context, limits, flag="--context")
    except ValueError as exc:
        raise CLIError(str(exc)) from None

    def load(flag, name):
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(name, **local)
        except (OSError, ValueError) as exc:
            raise _hub_advice(flag, name, exc, offline) from None
        return model.to(device=device, dtype=model_dtype)

    target_model = load("--target", args.target)
    draft_models = [load("--draft", name) for name in args.draft]
    target, drafts, tokens = hf.distributions_from_models(
        target_model=target_model, draft_models=draft_models, tokenizer=tokenizer, text=text,
        context=args.context, max_positions=args.max_positions, temperature=args.temperature,
        draft_temperature=args.draft_temperature, top_k=args.top_k, top_p=args.top_p, device=device,
        precision=getattr(torch, args.precision),
    )
    metadata = {
        "target": str(args.target), "drafts": ",".join(map(str, args.draft)), "tokenizer": str(tok_name),
        "text": text_path.name, "context": str(args.context), "positions": str(target.shape[0]),
        "vocabulary": str(target.shape[1]), "temperature": str(args.temperature),
        "draft_temperature": str(args.draft_temperature if args.draft_temperature is not None else args.temperature),
        "top_k": str(args.top_k), "top_p": str(args.top_p), "precision": args.precision,
        "producer": "lpspec.sequence.hf_distributions",
    }
    out = Path(args.output)
    extra = {} if out.suffix.lower() == ".npy" else {"tokens": tokens}
    paths = save_distributions(out, target=target, drafts=drafts, metadata=metadata, extra=extra)
    shape = ("(K, B, n) = " if drafts.ndim == 3 else "(B, n) = ") + str(tuple(drafts.shape))
    print(f"wrote {', '.join(map(str, paths))}: target (B, n) = {tuple(target.shape)}, drafts {shape}",
          file=sys.stderr)
    return 0
