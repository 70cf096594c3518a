"""A built-in realistic bigram pair, built from a small permissively licensed text shipped here.

The text is ``stdlib_docstrings.txt``: the docstrings of the pure-Python top-level modules of the CPython 3.11.7
standard library (PSF License Version 2; see ``README.md`` and ``LICENSE-PSF.txt`` in this folder).
:func:`load_pair` builds from it, deterministically at load time:

* **tokens**: ``re.findall(r"[a-z]+|\\.", text.lower())`` (words of letters, and ``.`` as an end-of-sentence token);
* **vocabulary**: the ``n - 1`` most frequent tokens (ties in alphabetical order) and ``<other>`` for the rest;
* **unigram** ``u(y) = (count(y) + 1) / (N + n)`` (add-one);
* **target** ``q(y | c) = λ_c · count(c, y)/count(c) + (1 - λ_c) · u(y)``: Witten–Bell interpolation,
  ``λ_c = count(c) / (count(c) + T_c)``, ``T_c`` the number of distinct tokens seen after ``c`` (``q = u`` for
  a context never followed by anything);
* **draft** (weaker): the half-and-half mixture ``(q + u)/2`` at temperature ``draft_temperature``
  (``p ∝ ((q + u)/2)^{1/T}``, default ``T = 1.3``): a blurred, flatter bigram model;
* **start**: the target chain's stationary law.

Examples
--------
>>> pair = load_pair("stdlib-docs", n=50)
>>> pair.n, pair.name, bool(abs(pair.target.sum(axis=1) - 1).max() < 1e-12)
(50, 'stdlib-docs', True)
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import numpy as np

from ..markov import MarkovPair, stationary_law

__all__ = ["CORPORA", "DEFAULT_VOCABULARY", "corpus_text", "example_pair_names", "load_pair", "tokenize"]

#: Built-in corpora: example name -> (file in this package, one-line description).
CORPORA = {
    "stdlib-docs": ("stdlib_docstrings.txt",
                    "bigram pair from CPython 3.11 standard-library docstrings (PSF licence), 2000 words"),
}
#: Vocabulary size of the built-in pairs (the most frequent words plus ``<other>``).
DEFAULT_VOCABULARY = 2000


def example_pair_names() -> list[str]:
    """Names accepted by :func:`load_pair` and ``lpspec blocks --example``.

    Examples
    --------
    >>> example_pair_names()
    ['stdlib-docs']
    """
    return list(CORPORA)


def corpus_text(name: str = "stdlib-docs") -> str:
    """The shipped text of corpus ``name``."""
    if name not in CORPORA:
        raise ValueError(f"example {name!r} is not built in; choose one of {', '.join(CORPORA)}.")
    return resources.files(__package__).joinpath(CORPORA[name][0]).read_text(encoding="utf-8")


def tokenize(text: str) -> list[str]:
    """Lower-case words of letters and ``.`` tokens.

    Examples
    --------
    >>> tokenize("Return the value. Done!")
    ['return', 'the', 'value', '.', 'done']
    """
    return re.findall(r"[a-z]+|\.", text.lower())


@lru_cache(maxsize=8)
def _build(name: str, n: int, draft_temperature: float):
    tokens = tokenize(corpus_text(name))
    words, freq = np.unique(np.array(tokens), return_counts=True)
    order = np.lexsort((words, -freq))  # most frequent first, ties alphabetical
    vocab = [str(w) for w in words[order[: n - 1]]] + ["<other>"]
    index = {w: i for i, w in enumerate(vocab)}
    ids = np.array([index.get(t, n - 1) for t in tokens], dtype=np.int64)
    pairs = np.zeros((n, n))
    np.add.at(pairs, (ids[:-1], ids[1:]), 1.0)
    unigram = (np.bincount(ids, minlength=n) + 1.0) / (ids.size + n)
    row = pairs.sum(axis=1, keepdims=True)
    types = (pairs > 0).sum(axis=1, keepdims=True)
    lam = np.divide(row, row + types, out=np.zeros_like(row), where=row > 0)
    ml = np.divide(pairs, row, out=np.zeros_like(pairs), where=row > 0)
    target = lam * ml + (1.0 - lam) * unigram[None, :]
    target /= target.sum(axis=1, keepdims=True)
    mix = 0.5 * (target + unigram[None, :])
    logits = np.log(mix) / draft_temperature
    draft = np.exp(logits - logits.max(axis=1, keepdims=True))
    draft /= draft.sum(axis=1, keepdims=True)
    return target, draft, stationary_law(target), tuple(vocab)


def load_pair(name: str = "stdlib-docs", *, n: int = DEFAULT_VOCABULARY, draft_temperature: float = 1.3,
              with_vocabulary: bool = False):
    """The built-in bigram target/draft pair ``name`` (recipe in the module docstring).

    Parameters
    ----------
    name : str
        One of :func:`example_pair_names`.
    n : int
        Vocabulary size, ``2 <= n <= 20000`` (default 2000).
    draft_temperature : float
        Temperature of the draft (default 1.3).
    with_vocabulary : bool
        Also return the vocabulary (a tuple of ``n`` strings).

    Returns
    -------
    MarkovPair, or (MarkovPair, tuple of str)
    """
    if name not in CORPORA:
        raise ValueError(f"example {name!r} is not built in; choose one of {', '.join(CORPORA)}.")
    if isinstance(n, bool) or int(n) != n or not 2 <= n <= 20_000:
        raise ValueError(f"n={n!r} must be an integer vocabulary size in 2..20000.")
    if not draft_temperature > 0:
        raise ValueError(f"draft_temperature={draft_temperature!r} must be positive.")
    target, draft, start, vocab = _build(name, int(n), float(draft_temperature))
    pair = MarkovPair(target.copy(), draft.copy(), start.copy(), name)
    return (pair, vocab) if with_vocabulary else pair
