"""The acceptance table for real distributions: one row per position (or per K, with means), ready to export.

:func:`acceptance_table` runs :func:`lpspec.batched.compare_schemes` over a batch (in chunks of
``batch_size`` rows, so that a file of thousands of positions at ``n = 128 000`` fits in memory) for one or
several ``K`` and returns plain ``dict`` rows for :func:`lpspec.export.write_table` (CSV, Markdown, LaTeX,
JSON). The summary rows (``summary=True``) are the averages over positions — the form of the paper's
Table 3 (average token acceptance per K for the optimum, the truncated IS, SpecTr and SpecInfer).

On the command line, for a file written by :mod:`lpspec.hf_distributions` (or :func:`save_distributions`)::

    lpspec batch distributions.safetensors -k 2 4 8 --summary --output table.md
    python -m lpspec.batched distributions.safetensors -k 2 4 8 --summary      # the same
"""

from __future__ import annotations

import argparse
import numbers
import sys

from ._torch import require_torch, resolve_device
from .inputs import BatchInput, Logits, as_batch
from .schemes import BATCHED_SCHEMES, DEFAULT_TRUNCATION, _applicability, _evaluate

__all__ = ["DEFAULT_BATCH_SIZE", "acceptance_table", "main"]

#: Rows per chunk (a (256, 128 000) float64 chunk is 262 MB per tensor).
DEFAULT_BATCH_SIZE = 256


def _rows_of(values, a: int, b: int, axis: int):
    if isinstance(values, Logits):
        return Logits(_rows_of(values.values, a, b, axis), values.temperature, values.top_k, values.top_p)
    if axis == 0:
        return values[a:b]
    return values[:, a:b]


def _shape(values):
    if isinstance(values, Logits):
        values = values.values
    return tuple(values.shape) if hasattr(values, "shape") else tuple(__import__("numpy").shape(values))


def _ks(k, different: bool, K_file: int | None) -> list[int]:
    if k is None:
        if not different:
            raise ValueError("drafts of shape (B, n) need k: an int or a list such as [2, 4, 8].")
        return [K_file]
    ks = [k] if isinstance(k, numbers.Integral) and not isinstance(k, bool) else list(k)
    for v in ks:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"k={k!r}: every K must be a positive integer.")
        if v > 2**53:
            raise ValueError(f"k={v} is larger than 2^53, the largest number of drafts lpspec evaluates.")
        if different and v > K_file:
            raise ValueError(f"k={v} but the drafts hold only K={K_file} different distributions.")
    return [int(v) for v in ks]


def acceptance_table(*, target, drafts, k=None, schemes=None, s: int = DEFAULT_TRUNCATION, summary: bool = False,
                     batch_size: int = DEFAULT_BATCH_SIZE, device=None, dtype=None) -> list[dict]:
    """Acceptance of every applicable scheme at every position, for one or several K, as table rows.

    Parameters
    ----------
    target : tensor, array or Logits, shape (B, n)
    drafts : tensor, array or Logits, shape (B, n) (identical drafts) or (K, B, n) (different drafts)
    k : int or sequence of int, optional
        The numbers of drafts, e.g. ``[2, 4, 8]``. Required for (B, n) drafts; for (K, B, n) drafts the first
        ``k`` drafts are used (default: all ``K``).
    schemes : sequence of str, optional
        Names from :data:`~lpspec.batched.schemes.BATCHED_SCHEMES` (default: every one that applies; a
        requested one that does not apply at some K is left empty in those rows).
    s : int
        ``truncated_is``'s parameter.
    summary : bool
        One row per K with the means over positions instead of one row per position and K.
    batch_size : int
        Positions per chunk.
    device, dtype
        As in :func:`lpspec.batched.optimal_acceptance`.

    Returns
    -------
    list of dict
        Per-position rows ``{"position", "k", <scheme>: float, ...}``, or summary rows
        ``{"k", "positions", <scheme>: mean, ...}``. Pass them to :func:`lpspec.export.write_table`.

    Examples
    --------
    >>> rows = acceptance_table(target=[[1/3, 1/9, 5/9]], drafts=[[1/3, 1/3, 1/3]], k=[2], summary=True,
    ...                         schemes=["optimal", "spectr"], device="cpu")
    >>> [(r["k"], r["positions"], round(r["optimal"], 9), round(r["spectr"], 9)) for r in rows]
    [(2, 1, 1.0, 0.888888889)]
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")
    dev = resolve_device(device)
    t_shape, d_shape = _shape(target), _shape(drafts)
    if len(t_shape) != 2:
        raise ValueError(f"target must have shape (B, n); got {t_shape}.")
    if t_shape[0] == 0:
        raise ValueError("target has 0 rows (B = 0): there is no position to evaluate.")
    different = len(d_shape) == 3
    ks = _ks(k, different, d_shape[0] if different else None)
    if schemes is not None:
        schemes = [schemes] if isinstance(schemes, str) else list(schemes)
        for name in schemes:
            if name not in BATCHED_SCHEMES:
                raise ValueError(f"schemes: {name!r} is not a batched scheme; choose from {', '.join(BATCHED_SCHEMES)}.")
    B = t_shape[0]
    per_k: dict[int, list[dict]] = {K: [] for K in ks}
    for a in range(0, B, int(batch_size)):
        b = min(B, a + int(batch_size))
        t_chunk = _rows_of(target, a, b, 0)
        d_chunk = _rows_of(drafts, a, b, 1 if different else 0)
        if different:
            full = as_batch(target=t_chunk, drafts=_first(d_chunk, max(ks)), device=dev, dtype=dtype)
        else:
            full = as_batch(target=t_chunk, drafts=d_chunk, k=max(ks), device=dev, dtype=dtype)
        for K in ks:
            chunk = _with_k(full, K)
            why = _applicability(chunk)
            names = [n for n in (schemes or BATCHED_SCHEMES) if why[n] is None]
            values = _evaluate(chunk, names, s)
            cols = {name: v.detach().cpu().tolist() for name, v in values.items()}
            for i in range(b - a):
                row = {"position": a + i, "k": K}
                for name in (schemes or BATCHED_SCHEMES):
                    if name in cols:
                        row[name] = float(cols[name][i])
                    elif schemes is not None:
                        row[name] = None
                per_k[K].append(row)
    if not summary:
        return [row for K in ks for row in per_k[K]]
    out = []
    for K in ks:
        rows = per_k[K]
        srow = {"k": K, "positions": len(rows)}
        names = [name for name in BATCHED_SCHEMES if any(r.get(name) is not None for r in rows)]
        for name in names:
            vals = [r[name] for r in rows if r.get(name) is not None]
            srow[name] = float(sum(vals) / len(vals))
        out.append(srow)
    return out


def _with_k(batch: BatchInput, K: int) -> BatchInput:
    """The same validated batch with only its first ``K`` drafts."""
    torch = require_torch()
    if batch.identical:
        B, n = batch.target.shape
        return BatchInput(batch.target, batch.draft.unsqueeze(0).expand(K, B, n), K, True, batch.renormalised)
    drafts = batch.drafts[:K]
    identical = all(torch.equal(drafts[0], drafts[i]) for i in range(1, K))
    if identical:
        drafts = drafts[:1].expand(K, *drafts.shape[1:])
    return BatchInput(batch.target, drafts, K, identical, batch.renormalised)


def _first(drafts, K: int):
    if isinstance(drafts, Logits):
        return Logits(drafts.values[:K], drafts.temperature, drafts.top_k, drafts.top_p)
    return drafts[:K]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit code 2, like ``lpspec``
        raise ValueError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lpspec batch",
        description="Acceptance table (optimal, SpecInfer, SpecTr, truncated IS, ...) for distributions in a file.",
    )
    parser.add_argument("path", help=".safetensors, .pt, .npz, or NAME.npy (NAME.target.npy + NAME.drafts.npy)")
    parser.add_argument("-k", type=int, nargs="+", default=None, help="numbers of drafts, e.g. -k 2 4 8")
    parser.add_argument("--schemes", nargs="+", default=None, help=f"subset of {', '.join(BATCHED_SCHEMES)}")
    parser.add_argument("-s", type=int, default=DEFAULT_TRUNCATION, help="truncated IS parameter (default 5)")
    parser.add_argument("--summary", action="store_true", help="one row per K with the means over positions")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--output", default=None, help="file to write (.csv, .md, .tex, .json); default: stdout")
    parser.add_argument("--format", default=None, help="csv, markdown, latex or json (default: from --output, "
                                                        "else markdown)")
    return parser


def main(argv=None) -> int:
    """Command line entry point (module docstring)."""
    from ..export import FORMATS, format_table, write_table
    from .io import load_distributions

    from ..errors import USER_ERRORS, user_error_message

    try:
        args = build_parser().parse_args(argv)
        if args.format is not None and args.format not in (*FORMATS, "md", "tex"):
            raise ValueError(f"--format {args.format!r} is not a table format; choose one of {', '.join(FORMATS)}.")
        require_torch()
        data = load_distributions(args.path)
        rows = acceptance_table(target=data.target, drafts=data.drafts, k=args.k, schemes=args.schemes, s=args.s,
                                summary=args.summary, batch_size=args.batch_size, device=args.device)
        if args.output:
            write_table(rows, args.output, fmt=args.format)
        else:
            print(format_table(rows, args.format or "markdown"))
    except SystemExit as exc:  # --help
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except USER_ERRORS as exc:  # lpspec.errors: one line, exit code 2
        print(f"lpspec batch: error: {user_error_message(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
