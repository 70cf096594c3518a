"""One spelling per keyword across the API: deprecated aliases and keywords of the other family.

lpspec's functions take the draft law as ``drafts=`` (one draft, K identical drafts, or a list of K). The
decorator :func:`keyword_aliases` lets a function accept an old spelling with a ``DeprecationWarning`` that names
the new one, and turns a keyword that belongs to another family of functions into a ``ValueError`` that names
the right keyword (instead of Python's bare ``TypeError: unexpected keyword argument``).

This module imports nothing from lpspec, so any layer can use it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping

__all__ = ["keyword_aliases", "DRAFTS"]

#: The spelling map used across lpspec: ``draft=`` is the old (or other family's) spelling of ``drafts=``.
DRAFTS: Mapping[str, str] = {"draft": "drafts"}


def keyword_aliases(deprecated: Mapping[str, str] | None = None, refused: Mapping[str, str] | None = None,
                    ) -> Callable[[Callable], Callable]:
    """Decorator: accept ``deprecated`` old keywords with a warning, refuse ``refused`` ones with a ValueError.

    ``f(old=v)`` for ``old -> new`` in ``deprecated`` calls ``f(new=v)`` and warns ``DeprecationWarning``
    ("old= is deprecated; use new="); passing both spellings is a ``ValueError``. ``f(wrong=v)`` for
    ``wrong -> right`` in ``refused`` raises ``ValueError`` naming ``right=``. Everything else passes through
    unchanged (``inspect.signature`` still shows the wrapped function's own signature).

    Parameters
    ----------
    deprecated : mapping of str to str, optional
        Old keyword -> new keyword, still accepted.
    refused : mapping of str to str, optional
        Keyword of another family -> the keyword this function takes.

    Returns
    -------
    callable
        A decorator for functions and methods (``__init__`` and ``classmethod`` bodies included: apply it
        below ``@classmethod``).

    Examples
    --------
    >>> import warnings
    >>> @keyword_aliases(deprecated={"draft": "drafts"})
    ... def f(*, target, drafts):
    ...     return target, drafts
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(target=1, draft=2), str(w[0].message)
    ((1, 2), 'f: draft= is deprecated; use drafts= (the same value).')
    >>> @keyword_aliases(refused={"draft": "drafts"})
    ... def g(*, target, drafts):
    ...     return target, drafts
    >>> g(target=1, draft=2)
    Traceback (most recent call last):
    ...
    ValueError: g takes drafts=, not draft= (the draft law: one draft, or a list of K drafts).
    """
    deprecated = dict(deprecated or {})
    refused = dict(refused or {})
    overlap = set(deprecated) & set(refused)
    if overlap:
        raise ValueError(f"keyword_aliases: {sorted(overlap)} both deprecated and refused; pick one.")

    def decorate(func: Callable) -> Callable:
        name = getattr(func, "__qualname__", getattr(func, "__name__", "function"))
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")] + "()"

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for wrong, right in refused.items():
                if wrong in kwargs:
                    hint = " (the draft law: one draft, or a list of K drafts)" if right == "drafts" else ""
                    raise ValueError(f"{name} takes {right}=, not {wrong}={hint}.")
            for old, new in deprecated.items():
                if old in kwargs:
                    if new in kwargs:
                        raise ValueError(f"{name}: pass {new}= only ({old}= is its deprecated spelling).")
                    warnings.warn(f"{name}: {old}= is deprecated; use {new}= (the same value).",
                                  DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate
