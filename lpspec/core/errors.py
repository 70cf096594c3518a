"""One place that turns the errors a user can cause into one line and exit code 2 (the command lines).

Every loader and validator of lpspec raises :class:`ValueError` naming the argument or the file; numerical
refusals raise :class:`~lpspec.core.instance.MassInvariantError` (or ``OverflowError``); solver failures :class:`~lpspec.core.results.LPSolveError`. :func:`user_error_message` maps these,
and the reader errors of the file formats (truncated archives, unreadable files, out of memory), to one line.
Anything else is a bug in lpspec and keeps its traceback.
"""

from __future__ import annotations

import zipfile

from .instance import MassInvariantError
from .results import LPSolveError

__all__ = ["USER_ERRORS", "one_line", "user_error_message"]

#: Exception types reported as one line with exit code 2 by ``lpspec`` and ``lpspec batch``.
USER_ERRORS = (ValueError, LPSolveError, OSError, ImportError, OverflowError, MassInvariantError, MemoryError,
               EOFError, zipfile.BadZipFile)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) replaced by one space.

    Examples
    --------
    >>> one_line("a\\n  b\\tc ")
    'a b c'
    """
    return " ".join(str(text).split())


def user_error_message(exc: BaseException) -> str | None:
    """The one-line message for an error the user caused, or ``None`` for anything else (a bug).

    Examples
    --------
    >>> user_error_message(ValueError("k=0 must be\\nat least 1"))
    'k=0 must be at least 1'
    >>> user_error_message(KeyError("x")) is None
    True
    """
    if not isinstance(exc, USER_ERRORS):
        return None
    if isinstance(exc, MemoryError):
        return "out of memory; use a smaller instance (n, K) or the batched backend with a smaller batch."
    if isinstance(exc, OSError) and getattr(exc, "filename", None) and getattr(exc, "strerror", None):
        return one_line(f"{exc.filename}: {exc.strerror}")
    return one_line(str(exc)) or type(exc).__name__
