"""Instance families for sweeps: random and structured (target, drafts) pairs, reproducible from a seed.

A *family* turns parameters and a seed into a target ``q`` and drafts ``p``:

``dirichlet``
    ``q ~ Dirichlet(alpha · 1_n)`` and ``p ~ Dirichlet(alpha_draft · 1_n)`` (``alpha_draft`` defaults to
    ``alpha``).
``zipf``
    ``q(i) ∝ (i + 1)^(-a)``; the draft is Zipf with exponent ``a_draft`` (default ``a``) over a seeded
    perturbation of the target's ranking: token ``i`` gets draft rank ``argsort(i + shuffle · n · U_i)``,
    ``U_i ~ Uniform(0, 1)`` (``shuffle = 0``: same ranking, ``p = q`` when ``a_draft = a``).
``temperature``
    A base logit vector ``z`` (given as ``logits``, or ``z = scale · N(0, I_n)`` from the seed) seen by the
    target at temperature ``T_t`` and by the draft at ``T_d``: ``q = softmax(z / T_t)``,
    ``p = softmax((z + noise · ε) / T_d)`` with ``ε ~ N(0, I_n)``.
``file``
    User arrays from ``.npy``/``.npz``, ``.json`` or ``.csv`` (see :func:`lpspec.io.load_instance_file`).
``example``
    A built-in example by name (see :func:`lpspec.io.example_names`).

Every family also takes the truncation parameters ``top_k`` (keep the ``top_k`` most probable tokens) and
``top_p`` (keep the smallest set of most probable tokens holding at least ``top_p`` of the mass), applied
to ``truncate`` ∈ {``"draft"`` (default), ``"target"``, ``"both"``} and renormalised. A truncated draft may
then be unable to draw ``K`` distinct tokens (law ``without_replacement``); the sweep reports that on the
row instead of stopping.

With ``different_drafts=True`` (random families only) each of the ``K`` drafts is drawn separately, in
order, from the same seeded stream: the first two drafts at ``K = 4`` are the drafts at ``K = 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..io.instances import InstanceSpec, example_names, load_example, load_instance_file

__all__ = [
    "FAMILIES",
    "TRUNCATE_TARGETS",
    "FamilyPoint",
    "derive_seed",
    "draw_instance",
    "family_point",
    "truncate",
]

#: Known family names.
FAMILIES = ("dirichlet", "zipf", "temperature", "file", "example")
#: Which distributions the truncation parameters apply to.
TRUNCATE_TARGETS = ("draft", "target", "both")

_COMMON = {"top_k", "top_p", "truncate", "different_drafts"}
_PARAMS = {
    "dirichlet": {"n", "alpha", "alpha_draft"},
    "zipf": {"n", "a", "a_draft", "shuffle"},
    "temperature": {"n", "T_t", "T_d", "scale", "noise", "logits"},
    "file": {"path"},
    "example": {"name"},
}
_RANDOM = {"dirichlet", "zipf", "temperature"}


def derive_seed(base_seed: int, *keys: int) -> int:
    """A 32-bit seed for one instance, derived from the sweep's seed and the instance's position.

    ``numpy.random.SeedSequence([base_seed, *keys])`` decorrelates neighbouring positions; the result is
    recorded in every table row, and ``family_point(family, params, seed).draw(k)`` rebuilds the instance.

    Examples
    --------
    >>> derive_seed(0, 1, 2) == derive_seed(0, 1, 2) != derive_seed(0, 2, 1)
    True
    """
    return int(np.random.SeedSequence([int(base_seed), *map(int, keys)]).generate_state(1)[0])


# ---------------------------------------------------------------------- truncation
def truncate(dist, top_k: int | None = None, top_p: float | None = None) -> np.ndarray:
    """Keep the ``top_k`` most probable tokens and/or the top-``p`` nucleus; zero the rest and renormalise.

    Ties are broken by the lower index. ``top_p`` keeps the shortest prefix of the tokens sorted by
    decreasing probability whose mass reaches ``top_p`` (at least one token).

    Parameters
    ----------
    dist : array-like, shape (n,)
    top_k : int, optional
        ``>= 1``.
    top_p : float, optional
        In ``(0, 1]``.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> truncate([0.5, 0.2, 0.3], top_k=2).round(6).tolist()
    [0.625, 0.0, 0.375]
    >>> truncate([0.5, 0.2, 0.3], top_p=0.8).round(6).tolist()
    [0.625, 0.0, 0.375]
    """
    p = np.asarray(dist, dtype=np.float64).copy()
    order = np.lexsort((np.arange(p.size), -p))
    keep = np.ones(p.size, dtype=bool)
    if top_k is not None:
        if isinstance(top_k, bool) or int(top_k) != top_k or top_k < 1:
            raise ValueError(f"top_k={top_k!r} must be a positive integer (the number of tokens kept).")
        keep[order[int(top_k):]] = False
    if top_p is not None:
        if not (0 < float(top_p) <= 1):
            raise ValueError(f"top_p={top_p!r} must be in (0, 1] (the nucleus mass kept).")
        csum = np.cumsum(p[order])
        count = int(np.searchsorted(csum, float(top_p) - 1e-12)) + 1
        keep[order[count:]] = False
    p[~keep] = 0.0
    total = math.fsum(p.tolist())
    if total <= 0:
        raise ValueError("truncation left no probability mass; raise top_k or top_p.")
    return p / total


# ---------------------------------------------------------------------- random families
def _check_positive(name: str, value, integer: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}={value!r} must be a number.")
    if integer and int(value) != value:
        raise ValueError(f"{name}={value!r} must be an integer.")
    if not value > 0:
        raise ValueError(f"{name}={value!r} must be positive.")
    return int(value) if integer else float(value)


#: Largest vocabulary a random family draws (a guard against typos such as n = 10**12).
MAX_FAMILY_N = 10_000_000


def _check_values(family: str, params: dict) -> None:
    """Validate parameter values up front (not when the first instance is drawn): positive numbers, ranges."""
    if family in _RANDOM:
        if "n" in params:
            n = _check_positive("n", params["n"], integer=True)
            if n > MAX_FAMILY_N:
                raise ValueError(f"n={n} is larger than {MAX_FAMILY_N:,}, the largest vocabulary lpspec draws.")
        for key in ("alpha", "alpha_draft", "a", "a_draft", "T_t", "T_d", "scale"):
            if key in params:
                value = _check_positive(key, params[key])
                if not math.isfinite(value):
                    raise ValueError(f"{key}={value!r} must be finite.")
        for key in ("shuffle", "noise"):
            if key in params:
                value = params[key]
                if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                        or not math.isfinite(value) or value < 0:
                    raise ValueError(f"{key}={value!r} must be a finite number >= 0.")
    if params.get("top_k") is not None:
        _check_positive("top_k", params["top_k"], integer=True)
    top_p = params.get("top_p")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float))
                              or not 0 < top_p <= 1):
        raise ValueError(f"top_p={top_p!r} must be in (0, 1] (the nucleus mass kept).")
    if not isinstance(params.get("different_drafts", False), bool):
        raise ValueError(f"different_drafts={params['different_drafts']!r} must be true or false.")


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - np.max(z))
    return e / math.fsum(e.tolist())


def _zipf(n: int, a: float, ranks: np.ndarray) -> np.ndarray:
    w = (ranks + 1.0) ** (-a)
    return w / math.fsum(w.tolist())


def _draw_random(family: str, params: dict, rng: np.random.Generator, count: int):
    n = _check_positive("n", params.get("n", 8 if family != "temperature" or "logits" not in params
                                        else len(params["logits"])), integer=True)
    if family == "dirichlet":
        alpha = _check_positive("alpha", params.get("alpha", 1.0))
        alpha_d = _check_positive("alpha_draft", params.get("alpha_draft", alpha))
        target = rng.dirichlet(np.full(n, alpha))
        drafts = [rng.dirichlet(np.full(n, alpha_d)) for _ in range(count)]
    elif family == "zipf":
        a = _check_positive("a", params.get("a", 1.1))
        a_d = _check_positive("a_draft", params.get("a_draft", a))
        shuffle = float(params.get("shuffle", 0.1))
        if not shuffle >= 0:
            raise ValueError(f"shuffle={shuffle!r} must be >= 0 (0 keeps the target's ranking for the draft).")
        target = _zipf(n, a, np.arange(n, dtype=np.float64))
        drafts = []
        for _ in range(count):
            noisy = np.arange(n) + shuffle * n * rng.random(n)
            ranks = np.empty(n)
            ranks[np.argsort(noisy, kind="stable")] = np.arange(n)
            drafts.append(_zipf(n, a_d, ranks))
    else:
        t_t = _check_positive("T_t", params.get("T_t", 1.0))
        t_d = _check_positive("T_d", params.get("T_d", 1.0))
        noise = float(params.get("noise", 0.0))
        if "logits" in params:
            z = np.asarray(params["logits"], dtype=np.float64)
            if z.ndim != 1 or z.size != n or not np.all(np.isfinite(z)):
                raise ValueError(f"logits must be a finite 1-D list of n={n} numbers.")
        else:
            z = _check_positive("scale", params.get("scale", 3.0)) * rng.standard_normal(n)
        target = _softmax(z / t_t)
        drafts = [_softmax((z + noise * rng.standard_normal(n)) / t_d) for _ in range(count)]
    return target, drafts


@dataclass(frozen=True)
class FamilyPoint:
    """One family with fixed parameters and seed: call :meth:`draw` to get the instance for a ``K``.

    Attributes
    ----------
    family : str
    params : dict
    seed : int or None
        None for deterministic families (``file``, ``example``).

    Examples
    --------
    >>> pt = FamilyPoint("dirichlet", {"n": 3, "different_drafts": True}, seed=1)
    >>> len(pt.draw(k=4).drafts)
    4
    """

    family: str
    params: dict = field(default_factory=dict)
    seed: int | None = None

    def draw(self, k: int | None = None) -> InstanceSpec:
        """The instance (target and drafts) of this point; ``k`` matters only with ``different_drafts``."""
        return draw_instance(self.family, self.params, self.seed, k)


def family_point(family: str, params: dict | None = None, seed: int | None = None) -> FamilyPoint:
    """Validate a family name and its parameter names and return a :class:`FamilyPoint`.

    Examples
    --------
    >>> pt = family_point("dirichlet", {"n": 4, "alpha": 0.5}, seed=7)
    >>> spec = pt.draw()
    >>> spec.target.shape, len(spec.drafts)
    ((4,), 1)
    """
    params = dict(params or {})
    if family not in FAMILIES:
        raise ValueError(f"family={family!r} is not known; choose one of {', '.join(FAMILIES)}.")
    unknown = set(params) - _PARAMS[family] - _COMMON
    if unknown:
        raise ValueError(
            f"family {family!r} has no parameter {', '.join(sorted(unknown))}; its parameters are "
            f"{', '.join(sorted(_PARAMS[family] | _COMMON))}."
        )
    if params.get("truncate", "draft") not in TRUNCATE_TARGETS:
        raise ValueError(f"truncate={params['truncate']!r} must be one of {', '.join(TRUNCATE_TARGETS)}.")
    if family in _RANDOM and seed is None:
        raise ValueError(f"family {family!r} is random: pass a seed so the instance can be regenerated.")
    _check_values(family, params)
    return FamilyPoint(family, params, None if family not in _RANDOM else int(seed))


def draw_instance(family: str, params: dict, seed: int | None = None, k: int | None = None) -> InstanceSpec:
    """Draw the instance of ``family`` with ``params`` from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    params : dict
        The family's parameters (module docstring), plus ``top_k``, ``top_p``, ``truncate``,
        ``different_drafts``.
    seed : int, optional
        Required for the random families.
    k : int, optional
        Number of drafts; needed only with ``different_drafts=True``.

    Returns
    -------
    InstanceSpec

    Examples
    --------
    >>> a = draw_instance("zipf", {"n": 5, "a": 1.0, "shuffle": 0.5}, seed=3)
    >>> b = draw_instance("zipf", {"n": 5, "a": 1.0, "shuffle": 0.5}, seed=3)
    >>> bool(np.array_equal(a.drafts[0], b.drafts[0]))
    True
    """
    point = family_point(family, params, seed)
    params = point.params
    different = bool(params.get("different_drafts", False))
    if family in _RANDOM:
        if different and k is None:
            raise ValueError("different_drafts=True draws one draft per draft position: pass k.")
        rng = np.random.default_rng(point.seed)
        target, drafts = _draw_random(family, params, rng, int(k) if different else 1)
        spec = InstanceSpec(target, drafts, int(k) if different else None, None, family)
    else:
        if different:
            raise ValueError(f"different_drafts applies to random families only, not {family!r}.")
        if family == "file":
            if "path" not in params:
                raise ValueError("family 'file' needs a path parameter (a .npy, .npz, .json or .csv file).")
            spec = load_instance_file(params["path"])
        else:
            if "name" not in params:
                raise ValueError(f"family 'example' needs a name parameter; one of {', '.join(example_names())}.")
            spec = load_example(params["name"])
    top_k, top_p = params.get("top_k"), params.get("top_p")
    if top_k is None and top_p is None:
        return spec
    where = params.get("truncate", "draft")
    target = spec.target
    drafts = spec.drafts
    if where in ("target", "both"):
        target = truncate(_floats(target, "target"), top_k, top_p)
    if where in ("draft", "both"):
        drafts = [truncate(_floats(d, "draft"), top_k, top_p) for d in drafts]
    return InstanceSpec(target, drafts, spec.k, spec.law, spec.name, spec.description)


def _floats(values, name: str) -> np.ndarray:
    return np.array([float(v) for v in values], dtype=np.float64)
