"""Target/draft next-token models for the sequence-level tools: Markov matrices, callables, local HF causal LMs.

A :class:`NextTokenModels` answers ``laws(context) -> (q, p)``, the target's and the draft's next-token
distributions (float64, shape ``(n,)``) after a context tuple of token ids. Three kinds of input:

* two row-stochastic ``(n, n)`` matrices (or a :class:`~lpspec.sequence.markov.MarkovPair`): a bigram pair, where only the
  last token of the context matters (``markov`` is True);
* two callables ``context tuple -> (n,) probabilities``;
* two Hugging Face causal LMs sharing a tokenizer (:meth:`NextTokenModels.from_hf`, the ``hf`` extra).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.keywords import DRAFTS, keyword_aliases
from .markov import MarkovPair, as_markov_pair

__all__ = ["NextTokenModels", "as_models", "hf_next_token"]


def _check_law(values, name: str, n: int | None) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    if n is not None and v.shape != (n,):
        raise ValueError(f"{name} returned a vector of shape {v.shape}; expected ({n},) (one shared vocabulary).")
    if not np.all(np.isfinite(v)):
        why = "it has NaN or infinite entries"
    elif np.any(v < 0):
        why = f"entry {int(np.argmax(v < 0))} is negative ({float(v[np.argmax(v < 0)])!r})"
    elif abs(v.sum() - 1.0) > 1e-6:
        why = f"it sums to {float(v.sum())!r}"
    else:
        return v / v.sum()
    raise ValueError(f"{name} returned a vector that is not a probability distribution ({why}); "
                     "a model callable must return next-token probabilities.")


class NextTokenModels:
    """A target and a draft model over one vocabulary.

    Parameters
    ----------
    target, drafts : (n, n) array_like or callable
        Row-stochastic matrices (row = previous token), or callables ``context tuple -> (n,) probabilities``;
        or one callable ``context tuple -> (q, p)`` as ``target`` with ``drafts=None``.
    n : int, optional
        Vocabulary size (needed for callables only when it cannot be read from a first call).
    cache : bool
        Keep the laws of contexts already seen (default True).
    order : int, optional
        For callables: the laws depend only on the last ``order`` tokens (a Markov model of that order), so
        they are cached per such suffix; default: the whole context.

    Examples
    --------
    >>> m = NextTokenModels([[0.5, 0.5], [1.0, 0.0]], [[0.5, 0.5], [0.5, 0.5]])
    >>> m.markov, m.laws((0, 1))[0].tolist()
    (True, [1.0, 0.0])
    """

    @keyword_aliases(deprecated=DRAFTS)
    def __init__(self, target, drafts, *, n: int | None = None, cache: bool = True, order: int | None = None):
        draft = drafts  # drafts= is the one spelling across the API (lpspec.core.keywords)
        self.pair: MarkovPair | None = None
        if order is not None and (isinstance(order, bool) or int(order) != order or order < 1):
            raise ValueError(f"order={order!r} must be a positive integer (tokens the laws depend on) or None.")
        self.order = order
        if isinstance(target, MarkovPair) or not (callable(target) or callable(draft)):
            self.pair = as_markov_pair(target, draft)
            self.n = self.pair.n
            self.markov = True
        else:
            if callable(target) and draft is None:  # one model: context -> (q, p)
                joint = target
                target = lambda ctx: joint(ctx)[0]  # noqa: E731
                draft = lambda ctx: joint(ctx)[1]  # noqa: E731
            if not (callable(target) and callable(draft)):
                raise ValueError("target and draft must both be (n, n) matrices or both be callables "
                                 "(context tuple -> next-token probabilities); or pass one callable "
                                 "context -> (q, p) as target with drafts=None.")
            self._target: Callable = target
            self._draft: Callable = draft
            self.n = n
            self.markov = False
        self._cache: dict | None = {} if cache else None

    def key(self, context: tuple) -> tuple | int:
        """What the laws depend on: the last token (Markov) or the whole context."""
        if self.markov:
            return int(context[-1])
        return tuple(context[-self.order:]) if self.order else tuple(context)

    def laws(self, context) -> tuple[np.ndarray, np.ndarray]:
        """``(q, p)`` after ``context`` (a non-empty tuple of token ids), each shape (n,)."""
        context = tuple(int(t) for t in context)
        if not context:
            raise ValueError("context must hold at least one token (the start token of the block).")
        key = self.key(context)
        if self._cache is not None and key in self._cache:
            return self._cache[key]
        if self.markov:
            c = key
            if not 0 <= c < self.n:
                raise ValueError(f"token {c} is outside the vocabulary 0..{self.n - 1}.")
            out = (self.pair.target[c], self.pair.draft[c])
        else:
            q = _check_law(self._target(context), "target", self.n)
            if self.n is None:
                self.n = int(q.shape[0])
            out = (q, _check_law(self._draft(context), "draft", self.n))
        if self._cache is not None:
            self._cache[key] = out
        return out

    @classmethod
    def from_hf(cls, target_model, draft_model, *, n: int | None = None, temperature: float = 1.0,
                draft_temperature: float | None = None, max_context: int | None = None) -> NextTokenModels:
        """Two local Hugging Face causal LMs sharing a tokenizer (needs ``torch`` and ``transformers``).

        ``n`` defaults to the target's ``config.vocab_size``; logit columns beyond ``n`` (padded embedding
        rows) are dropped before a float64 softmax at ``temperature``; a model with fewer than ``n`` logits is
        an error (a different tokenizer). ``max_context`` keeps only the last tokens of long contexts.
        """
        size = n if n is not None else int(target_model.config.vocab_size)
        t = hf_next_token(target_model, n=size, temperature=temperature, max_context=max_context)
        d = hf_next_token(draft_model, n=size, max_context=max_context,
                          temperature=temperature if draft_temperature is None else draft_temperature)
        return cls(t, d, n=size)


def hf_next_token(model, *, n: int, temperature: float = 1.0, max_context: int | None = None) -> Callable:
    """A callable ``context tuple -> (n,) next-token probabilities`` for a Hugging Face causal LM.

    Runs ``model(input_ids).logits[0, -1, :n]`` under ``torch.no_grad()`` and takes a float64 softmax of
    ``logits / temperature``.
    """
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"hf_next_token needs torch ({exc}); install it with: pip install -e \".[hf,torch]\" "
                          "from a clone, or pip install 'lpspec[hf,torch]' from the index")
    if not temperature > 0:
        raise ValueError(f"temperature={temperature!r} must be positive.")
    size = int(getattr(getattr(model, "config", None), "vocab_size", n))
    if size < n:
        raise ValueError(f"a model has {size} logits but the shared vocabulary has n = {n} tokens: the models "
                         "must share one tokenizer.")
    model.eval()
    positions = getattr(getattr(model, "config", None), "max_position_embeddings", None)

    def law(context: tuple) -> np.ndarray:
        ids = list(context)[-max_context:] if max_context else list(context)
        if isinstance(positions, int) and len(ids) > positions:  # else an IndexError deep inside the model
            raise ValueError(f"max_context: the context has {len(ids)} tokens but the model takes at most "
                             f"{positions} positions (config.max_position_embeddings); pass "
                             f"max_context={positions} (or less) to keep the last tokens, or decode fewer blocks.")
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1, :n].double() / temperature
        return torch.softmax(logits, dim=-1).numpy()

    return law


def as_models(target, draft, n: int | None = None, order: int | None = None) -> NextTokenModels:
    """``target`` when it is already a :class:`NextTokenModels` (``draft`` must be None), else a new one."""
    if isinstance(target, NextTokenModels):
        if draft is not None:
            raise ValueError("drafts: pass either a NextTokenModels as target= or two models, not both.")
        return target
    return NextTokenModels(target, draft, n=n, order=order)

