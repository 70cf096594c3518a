"""The acceptance table for real distributions: one row per position (or per K, with means), ready to export.

:func:`acceptance_table` runs :func:`lpspec.batched.compare_schemes` over a batch (in chunks of
``batch_size`` rows, so that a file of thousands of positions at ``n = 128 000`` fits in memory) for one or
several ``K`` and returns plain ``dict`` rows for :func:`lpspec.io.export.write_table` (CSV, Markdown, LaTeX,
JSON). The summary rows (``summary=True``) are the averages over positions — the form of the paper's
Table 3 (average token acceptance per K for the optimum, the truncated IS, SpecTr and SpecInfer).

On the command line, for a file written by :mod:`lpspec.sequence.hf_distributions` (or :func:`save_distributions`)::

    lpspec batch distributions.safetensors -k 2 4 8 --summary -o table.md
    python -m lpspec.batched distributions.safetensors -k 2 4 8 --summary -o table.md    # the same
    lpspec batch distributions.safetensors -k 2 4 8 --engine dask -o table.csv          # on a Dask cluster

Columns are those of ``lpspec table`` (:func:`lpspec.registry.acceptance_column`): ``optimal_acceptance``,
``<scheme>.membership_acc``, ``truncated_is.sd_acc`` (the batched truncated IS is scored by ``Σ min(q, p_I)``)
and ``upper_bound``; a scheme that cannot be computed for a row (e.g. ``truncated_is`` at ``K != 2``) leaves an
empty cell and says why in the row's ``notes`` column. For different drafts ((K, B, n)) the optimum is computed
row by row by :func:`lpspec.batched.nonidentical.different_drafts_optimum` (the AM–GM bound of
:mod:`lpspec.solvers.submodular`, then its branch and bound); a row whose search runs out of budget gets an empty
cell and its certified interval in ``notes``.

The command runs the file in row chunks (:func:`lpspec.batched.chunks.file_table`, task ``"acceptance"``),
serially or on Dask (``--engine``, ``--scheduler``, ``--workers``); with ``--output`` finished chunks are kept
in ``OUTPUT.checkpoint.jsonl`` and ``--resume`` continues an interrupted run.
"""

from __future__ import annotations

import numbers
import sys

from ..core.keywords import DRAFTS, keyword_aliases
from ..registry import OPTIMAL, SCHEME_FACTS, acceptance_column
from ._torch import require_torch, resolve_device
from .chunks import ChunkTask, register_chunk_task
from .inputs import BatchInput, Logits, as_batch
from .schemes import BATCHED_SCHEMES, DEFAULT_TRUNCATION, _applicability, _evaluate

__all__ = ["DEFAULT_BATCH_SIZE", "acceptance_table", "summary_rows"]

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


@keyword_aliases(refused=DRAFTS)
def acceptance_table(*, target, drafts, k=None, schemes=None, s: int = DEFAULT_TRUNCATION, summary: bool = False,
                     batch_size: int = DEFAULT_BATCH_SIZE, device=None, dtype=None, memory_budget=None) -> list[dict]:
    """Acceptance of every applicable scheme at every position, for one or several K, as table rows.

    Parameters
    ----------
    target : tensor, array or Logits, shape (B, n)
    drafts : tensor, array or Logits, shape (B, n) (identical drafts) or (K, B, n) (different drafts)
    k : int or sequence of int, optional
        The numbers of drafts, e.g. ``[2, 4, 8]``. Required for (B, n) drafts; for (K, B, n) drafts the first
        ``k`` drafts are used (default: all ``K``).
    schemes : sequence of str, optional
        Names from :data:`~lpspec.batched.schemes.BATCHED_SCHEMES` (default: all of them). One that does not
        apply at some K is an empty cell (None) in those rows, with the reason in the row's ``notes``.
    s : int
        ``truncated_is``'s parameter.
    summary : bool
        One row per K with the means over positions instead of one row per position and K.
    batch_size : int
        Positions per chunk.
    device, dtype
        As in :func:`lpspec.batched.optimal_acceptance`.
    memory_budget : str or int or False, optional
        Peak memory allowed (``"8G"``; default ``$LPSPEC_MEMORY_BUDGET`` or half the physical memory): the
        working memory of one batch is estimated first (:mod:`lpspec.batched.memory`) and a ``batch_size``
        beyond the budget is refused with the size that fits. ``False``: no check.

    Returns
    -------
    list of dict
        Per-position rows ``{"position", "k", <column>: float or None, ..., "notes"}``, or summary rows
        ``{"k", "positions", <column>: mean, ...}``, with the columns of :func:`lpspec.registry.acceptance_column`
        (``optimal_acceptance``, ``spectr.membership_acc``, ``truncated_is.sd_acc``, ``upper_bound``, ...).
        Pass them to :func:`lpspec.io.export.write_table`.

    Examples
    --------
    >>> rows = acceptance_table(target=[[1/3, 1/9, 5/9]], drafts=[[1/3, 1/3, 1/3]], k=[2], summary=True,
    ...                         schemes=["optimal", "spectr"], device="cpu")
    >>> [(r["k"], r["positions"], round(r["optimal_acceptance"], 9), round(r["spectr.membership_acc"], 9))
    ...  for r in rows]
    [(2, 1, 1.0, 0.888888889)]
    """
    dev = resolve_device(device)
    t_shape, d_shape = _shape(target), _shape(drafts)
    if len(t_shape) != 2:
        raise ValueError(f"target must have shape (B, n); got {t_shape}.")
    if t_shape[0] == 0:
        raise ValueError("target has 0 rows (B = 0): there is no position to evaluate.")
    ks, schemes = _table_options(d_shape, k, schemes, batch_size)
    different = len(d_shape) == 3
    B = t_shape[0]
    if memory_budget is not False:  # the inputs are in memory already: only the batch's working tensors count
        from .memory import check_memory

        check_memory(int(t_shape[-1]), chunk_rows=0, batch_rows=min(int(batch_size), B), budget=memory_budget,
                     compute_itemsize=4 if str(dtype) in ("float32", "torch.float32") else 8)
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
            # different drafts: the optimum comes from the exact per-row search (AM–GM bound, then branch and
            # bound), not from the sorted prefix that _evaluate uses
            search = not chunk.identical and OPTIMAL in (schemes or BATCHED_SCHEMES)
            if search:
                why[OPTIMAL] = None
            names = [n for n in (schemes or BATCHED_SCHEMES) if why[n] is None]
            values = _evaluate(chunk, [n for n in names if not (search and n == OPTIMAL)], s)
            stopped = {}
            if search:
                from .nonidentical import different_drafts_optimum

                opt = different_drafts_optimum(chunk, on_budget="interval")
                values[OPTIMAL] = opt.value
                stopped = opt.details["stopped"]
            cols = {name: v.detach().cpu().tolist() for name, v in values.items()}
            notes = "; ".join(f"{n}: {why[n]}" for n in (schemes or BATCHED_SCHEMES) if why[n] is not None)
            for i in range(b - a):
                row = {"position": a + i, "k": K}
                for name in (schemes or BATCHED_SCHEMES):
                    row[_column(name)] = float(cols[name][i]) if name in cols else None
                note = notes
                if i in stopped:  # the search's budget ran out: an empty cell and the certified interval
                    row[_column(OPTIMAL)] = None
                    lo, hi = stopped[i]
                    note = "; ".join(x for x in (notes, f"{OPTIMAL}: the search stopped at its budget with P* in "
                                                 f"[{lo!r}, {hi!r}]") if x)
                if note:
                    row["notes"] = note
                per_k[K].append(row)
    rows = [row for K in ks for row in per_k[K]]
    return summary_rows(rows, ks) if summary else rows


def summary_rows(rows: list[dict], ks) -> list[dict]:
    """One row per K: ``{"k", "positions", <scheme>: mean over positions}``, from per-position rows.

    Rows with an ``error`` cell (a position that could not be computed) are left out of the means and
    counted in an ``errors`` column (present only when there are such rows).

    Examples
    --------
    >>> summary_rows([{"position": 0, "k": 2, "optimal_acceptance": 1.0},
    ...               {"position": 1, "k": 2, "optimal_acceptance": 0.5},
    ...               {"position": 2, "k": 2, "error": "ValueError: bad row"}], [2])
    [{'k': 2, 'positions': 2, 'optimal_acceptance': 0.75, 'errors': 1}]
    """
    out = []
    for K in ks:
        good = [r for r in rows if r["k"] == K and r.get("error") is None]
        errors = sum(1 for r in rows if r["k"] == K and r.get("error") is not None)
        srow = {"k": K, "positions": len(good)}
        for col in [_column(name) for name in BATCHED_SCHEMES]:
            if any(col in r for r in good):
                vals = [r[col] for r in good if r.get(col) is not None]
                srow[col] = float(sum(vals) / len(vals)) if vals else None
        notes = sorted({r["notes"] for r in good if r.get("notes")})
        if notes:
            srow["notes"] = "; ".join(notes)
        if errors:
            srow["errors"] = errors
        out.append(srow)
    return out


def _column(name: str) -> str:
    """The column of a batched scheme: ``lpspec.registry.acceptance_column`` with the batched value's kind."""
    return acceptance_column(name, SCHEME_FACTS[name].batched_kind)


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


def _table_options(d_shape, k, schemes, batch_size) -> tuple[list[int], list[str] | None]:
    """The validated ``ks`` and ``schemes`` of an acceptance table (drafts of shape ``d_shape``)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")
    different = len(d_shape) == 3
    ks = _ks(k, different, d_shape[0] if different else None)
    if schemes is not None:
        schemes = [schemes] if isinstance(schemes, str) else list(schemes)
        for name in schemes:
            if name not in BATCHED_SCHEMES:
                raise ValueError(f"schemes: {name!r} is not a batched scheme; choose from {', '.join(BATCHED_SCHEMES)}.")
    return ks, schemes


# ---------------------------------------------------------------------- the acceptance table as a chunk task
def _prepare_acceptance(t_shape, d_shape, *, k=None, schemes=None, s: int = DEFAULT_TRUNCATION,
                        batch_size: int = DEFAULT_BATCH_SIZE, device=None, dtype=None) -> dict:
    ks, schemes = _table_options(d_shape, k, schemes, batch_size)
    return {"ks": ks, "schemes": schemes, "s": s, "batch_size": int(batch_size), "device": device, "dtype": dtype}


def _acceptance_chunk(data, *, start: int, ks, schemes, s, batch_size, device, dtype) -> list[dict]:
    rows = acceptance_table(target=data.target, drafts=data.drafts, k=ks, schemes=schemes, s=s,
                            batch_size=batch_size, device=device, dtype=dtype, memory_budget=False)  # checked
    for row in rows:
        row["position"] += start
    return rows


def _acceptance_errors(start: int, stop: int, message: str, *, ks, **_) -> list[dict]:
    return [{"position": i, "k": K, "error": message} for K in ks for i in range(start, stop)]


def _acceptance_order(row: dict, *, ks, **_) -> tuple:
    return ks.index(row["k"]), row["position"]


def _acceptance_summary(rows: list[dict], *, ks, **_) -> list[dict]:
    return summary_rows(rows, ks)


#: :func:`acceptance_table` over a file in row chunks (:func:`lpspec.batched.chunks.file_table`).
ACCEPTANCE_TASK = register_chunk_task(ChunkTask("acceptance", _acceptance_chunk, prepare=_prepare_acceptance,
                                                error_rows=_acceptance_errors, sort_key=_acceptance_order,
                                                summarise=_acceptance_summary))


@keyword_aliases(refused=DRAFTS)
def verifier_check(*, target, drafts, k, batch_size: int = DEFAULT_BATCH_SIZE, device=None) -> dict:
    """Build :func:`lpspec.batched.optimal_verifier` for every row and K and summarise its check.

    Returns ``{K: {"rows", "passed", "worst_error", "bound", "slid"}}`` (largest mass error over the rows, its
    smallest bound, rows where a window slid). A row passes when its check holds and its largest mass error is
    also within :data:`lpspec.theory.checks.CHECK_TOLERANCE` (the check's own bound grows with K).
    """
    from ..theory.checks import CHECK_TOLERANCE
    from .verifier import optimal_verifier

    torch = require_torch()
    ks = [k] if isinstance(k, numbers.Integral) else list(k)
    out = {}
    B = _shape(target)[0]
    for K in ks:
        s = {"rows": 0, "passed": 0, "worst_error": 0.0, "bound": float("inf"), "slid": 0}
        for a in range(0, B, int(batch_size)):
            b = min(B, a + int(batch_size))
            v = optimal_verifier(target=_rows_of(target, a, b, 0), drafts=_rows_of(drafts, a, b, 0), k=K,
                                 device=device)
            try:
                rep = v.check()
            except AssertionError:
                rep = None
            if rep is None:
                continue
            worst = torch.stack([rep[key] for key in ("side_error", "value_error", "residual_error", "sum_error",
                                                      "output_error")]).amax(dim=0)
            s["rows"] += b - a
            # the plan's own bound grows with K (vacuous near K = 2^53): also hold it to the theorem checks' tolerance
            s["passed"] += int((rep["passed"] & (worst <= CHECK_TOLERANCE)).sum())
            s["worst_error"] = max(s["worst_error"], float(worst.max()))
            s["bound"] = min(s["bound"], float(rep["mass_bound"].min()))
            s["slid"] += int(v.slid.sum())
        s["rows"] = B
        out[K] = s
    return out


def __getattr__(name):
    """``main`` moved to the CLI layer (:func:`lpspec.cli.aliases.batched_main`); resolved with a warning."""
    if name == "main":
        import importlib
        import warnings

        warnings.warn("lpspec.batched.table.main is now lpspec.cli.aliases.batched_main; the old name will be "
                      "removed.", DeprecationWarning, stacklevel=2)
        return importlib.import_module("lpspec.cli.aliases").batched_main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":  # pragma: no cover  (python -m lpspec.batched.table: the CLI, run by name)
    import runpy

    sys.argv[1:1] = ["batch"]
    runpy.run_module("lpspec", run_name="__main__", alter_sys=True)
