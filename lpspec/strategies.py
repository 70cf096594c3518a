"""Hypothesis strategies for property-testing schemes: distributions with corner cases, and instances.

A user's property test of a new scheme takes a few lines::

    from hypothesis import given
    from lpspec.strategies import instances
    from lpspec import verify_scheme

    @given(instances(max_n=5, max_k=3))
    def test_my_scheme_is_exact(kw):
        assert verify_scheme(my_scheme, **kw).exact

The distributions mix one-hot, uniform, near-one-hot, zero-containing, Dirichlet with small and large
concentration, and exact-rational vectors.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from .core.instance import LAWS

__all__ = ["distributions", "rational_distributions", "instances"]

_KINDS = ("one_hot", "uniform", "near_one_hot", "with_zeros", "dirichlet_small", "dirichlet_large", "dirichlet")


@st.composite
def rational_distributions(draw, n: int, max_denominator: int = 12) -> list[Fraction]:
    """Exact distributions: ``n`` Fractions with a common denominator ``<= max_denominator``, summing to one."""
    d = draw(st.integers(min_value=1, max_value=max_denominator))
    cuts = sorted(draw(st.lists(st.integers(0, d), min_size=n - 1, max_size=n - 1)))
    parts = np.diff([0, *cuts, d])
    return [Fraction(int(a), d) for a in parts]


@st.composite
def distributions(draw, n: int | None = None, *, min_n: int = 2, max_n: int = 8, exact: bool = False):
    """A probability vector of length ``n`` (drawn in ``[min_n, max_n]`` when None).

    Floats: a ``float64`` array that sums to one within ``1e-12`` (the kinds listed in the module docstring);
    ``exact=True``: a list of :class:`~fractions.Fraction` summing to exactly one.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(distributions(3))
    ... def check(p):
    ...     assert abs(p.sum() - 1) < 1e-12 and p.min() >= 0
    >>> check()
    """
    if n is None:
        n = draw(st.integers(min_value=min_n, max_value=max_n))
    if exact:
        return draw(rational_distributions(n))
    kind = draw(st.sampled_from(_KINDS))
    if kind == "one_hot":
        v = np.zeros(n)
        v[draw(st.integers(0, n - 1))] = 1.0
        return v
    if kind == "uniform":
        return np.full(n, 1.0 / n)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "near_one_hot":
        v = rng.uniform(0, 1e-6, n)
        v[rng.integers(n)] = 1.0
    elif kind == "with_zeros":
        v = rng.dirichlet(np.ones(n))
        zeros = rng.random(n) < 0.4
        zeros[rng.integers(n)] = False
        v[zeros] = 0.0
    elif kind == "dirichlet_small":
        v = rng.dirichlet(np.full(n, 0.1)) + 0.0
        if v.sum() == 0:
            v[0] = 1.0
    elif kind == "dirichlet_large":
        v = rng.dirichlet(np.full(n, 20.0))
    else:
        v = rng.dirichlet(np.ones(n))
    return v / v.sum()


@st.composite
def instances(
    draw,
    *,
    min_n: int = 2,
    max_n: int = 6,
    min_k: int = 1,
    max_k: int = 3,
    laws=LAWS,
    identical: bool | None = None,
    exact: bool = False,
):
    """Keyword arguments ``{"target", "drafts", "k", "law"}`` of a valid instance, for ``**`` unpacking.

    ``identical=None`` draws identical and different drafts (different drafts only with the independent law);
    laws whose draft law cannot be built for the drawn ``p`` (too few tokens with mass) are redrawn.

    Examples
    --------
    >>> from hypothesis import given
    >>> from lpspec import make_instance
    >>> @given(instances(max_n=4))
    ... def check(kw):
    ...     assert make_instance(**kw).n <= 4
    >>> check()
    """
    n = draw(st.integers(min_value=min_n, max_value=max_n))
    law = draw(st.sampled_from(list(laws)))
    k = draw(st.integers(min_value=min_k, max_value=max_k))
    target = draw(distributions(n, exact=exact))
    same = True if law != "independent" else (draw(st.booleans()) if identical is None else identical)
    if same:
        p = draw(distributions(n, exact=exact))
        support = int(np.count_nonzero(np.asarray(p, dtype=float) > 0))
        if law == "without_replacement" and support < k:
            k = max(1, min(k, support))
            if support < k:
                from hypothesis import reject

                reject()
        if law == "greedy":
            from .core.instance import make_instance

            try:
                make_instance(target=target, drafts=p, k=k, law=law)
            except ValueError:
                from hypothesis import reject

                reject()
        return {"target": target, "drafts": p, "k": k, "law": law}
    drafts = [draw(distributions(n, exact=exact)) for _ in range(k)]
    return {"target": target, "drafts": drafts, "k": None, "law": law}
