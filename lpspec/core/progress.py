"""Progress bars on stderr: one helper for every long computation (sweeps, tasks, blocks, batches, searches).

tqdm is optional (the ``tables`` extra: ``pip install -e ".[tables]"`` from a clone, ``pip install
"lpspec[tables]"`` from the index). A bar is shown only when

* ``enabled=True`` is passed (forced), or
* ``enabled=None`` (the default) and the environment variable ``LPSPEC_PROGRESS`` is ``1`` (forced on), or,
  when it is unset, stderr is a terminal. ``LPSPEC_PROGRESS=0`` turns the default off.

``enabled=False`` is always quiet. Without tqdm every helper is a silent no-op, so callers never branch.

Three shapes, one rule:

* :func:`progress` wraps an iterable (``for x in progress(items, desc="sweep"): ...``);
* :func:`progress_bar` opens a bar that the caller advances (``bar.update(n)``, ``bar.set_postfix(...)``,
  ``bar.close()``; also a context manager) — a :class:`NullBar` with the same methods when disabled;
* :func:`progress_callback` turns a bar into the ``progress(dict)`` callback that the branch-and-bound searches
  call with counters (e.g. ``{"nodes": 1000, "open": 12, "best": 0.93}``): the bar counts calls and shows
  the dict as its postfix.

This module imports nothing from lpspec.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable

__all__ = ["ENV_VAR", "NullBar", "progress", "progress_bar", "progress_callback", "progress_enabled"]

#: Environment variable that forces bars on (``1``) or off (``0``) when ``enabled`` is left at ``None``.
ENV_VAR = "LPSPEC_PROGRESS"


def progress_enabled(enabled: bool | None = None) -> bool:
    """Whether a bar would be drawn: ``enabled`` if given, else ``$LPSPEC_PROGRESS``, else ``stderr.isatty()``.

    Examples
    --------
    >>> progress_enabled(False), progress_enabled(True)
    (False, True)
    """
    if enabled is not None:
        return bool(enabled)
    forced = os.environ.get(ENV_VAR, "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class NullBar:
    """The bar used when bars are off or tqdm is missing: every method does nothing.

    Examples
    --------
    >>> with NullBar() as bar:
    ...     bar.update(3); bar.set_postfix(nodes=4); bar.set_description("x")
    >>> bool(bar)
    False
    """

    n = 0

    def update(self, n: int = 1) -> None:
        return None

    def set_postfix(self, *args, **kwargs) -> None:
        return None

    def set_description(self, *args, **kwargs) -> None:
        return None

    def refresh(self, *args, **kwargs) -> None:
        return None

    def close(self) -> None:
        return None

    def __bool__(self) -> bool:
        return False

    def __enter__(self) -> NullBar:
        return self

    def __exit__(self, *exc) -> None:
        return None


def progress(iterable: Iterable, total: int | None = None, desc: str = "", enabled: bool | None = None,
             unit: str = "it") -> Iterable:
    """``iterable`` wrapped in a tqdm bar on stderr when :func:`progress_enabled` and tqdm is installed.

    Otherwise ``iterable`` itself is returned (the same object).

    Examples
    --------
    >>> items = [0, 1, 2]
    >>> progress(items, enabled=False) is items
    True
    """
    if not progress_enabled(enabled):
        return iterable
    tqdm = _tqdm()
    if tqdm is None:
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)


def progress_bar(total: int | None = None, desc: str = "", enabled: bool | None = None, unit: str = "it"):
    """A bar that the caller advances with ``update(n)``; a :class:`NullBar` when off or without tqdm.

    ``total=None`` draws a counter without a percentage (unknown length, e.g. a search).

    Examples
    --------
    >>> bar = progress_bar(total=10, desc="rows", enabled=False)
    >>> bar.update(5); bar.close(); isinstance(bar, NullBar)
    True
    """
    if not progress_enabled(enabled):
        return NullBar()
    tqdm = _tqdm()
    if tqdm is None:
        return NullBar()
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)


def progress_callback(bar, every: int = 1) -> Callable[[dict], None]:
    """A ``progress(info)`` callback for searches: each call advances ``bar`` by ``every`` and shows ``info``.

    Pass the same ``every`` as the search's reporting period (e.g. ``progress_every`` of
    :func:`lpspec.solvers.submodular.submodular_optimum`) so that the bar counts nodes, not calls.

    Examples
    --------
    >>> calls = []
    >>> class Bar(NullBar):
    ...     def update(self, n=1): calls.append(n)
    >>> cb = progress_callback(Bar(), every=1000)
    >>> cb({"nodes": 1000, "best": 0.5}); cb({"nodes": 2000, "best": 0.25}); calls
    [1000, 1000]
    """
    def callback(info: dict) -> None:
        bar.update(every)
        if isinstance(info, dict):
            shown = {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in info.items() if k != "nodes"}
            if shown:
                bar.set_postfix(shown, refresh=False)

    return callback
