"""Reading numbers and JSON from files a user hands us, with bounds checked before any work is done.

A JSON file nested 100 000 levels deep, or an exact entry such as ``"1e999999999"`` (whose
:class:`~fractions.Fraction` is a numerator of a billion digits), must be refused at once with one line
naming the file, not hang or end in a ``RecursionError``. :func:`loads_json` checks the nesting depth before
parsing (and the size of every number while parsing); :func:`parse_exact` checks the length and the decimal
exponent of a number written as text before it builds the Fraction.
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction

import numpy as np

__all__ = ["MAX_EXPONENT", "MAX_JSON_DEPTH", "MAX_NUMBER_CHARS", "OversizedNumberError", "json_depth", "loads_json",
           "parse_exact"]

#: Deepest nesting of arrays/objects accepted in a JSON input file (an instance or spec needs 3).
MAX_JSON_DEPTH = 64
#: Longest number written as text (characters), as Python's own limit on integer strings.
MAX_NUMBER_CHARS = 4300
#: Largest decimal exponent ``|e|`` of an exact entry (``1e-4300`` is still built in microseconds).
MAX_EXPONENT = 4300

class OversizedNumberError(ValueError):
    """A number written with more characters, or a larger exponent, than lpspec reads (a hostile file)."""


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_EXPONENT = re.compile(r"[eE]\s*([+-]?[0-9_]+)")


def parse_exact(text: str, name: str = "entry") -> Fraction:
    """The exact :class:`~fractions.Fraction` of ``text`` (``"1/3"``, ``"0.25"``, ``"1e-20"``), size-checked first.

    Raises
    ------
    ValueError
        ``text`` is longer than :data:`MAX_NUMBER_CHARS`, has a decimal exponent beyond :data:`MAX_EXPONENT`
        (checked before the Fraction is built), or is not a number or fraction (zero denominators included).

    Examples
    --------
    >>> parse_exact(" 1/3 "), parse_exact("2.5e-1")
    (Fraction(1, 3), Fraction(1, 4))
    >>> parse_exact("1e999999999", "target")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lpspec.io.untrusted.OversizedNumberError: target: '1e999999999' has a decimal exponent beyond 4300; ...
    """
    text = str(text).strip()
    if len(text) > MAX_NUMBER_CHARS:
        raise OversizedNumberError(f"{name}: an entry of {len(text)} characters (at most {MAX_NUMBER_CHARS}); "
                                   "write a number or a fraction like 1/3.")
    for m in _EXPONENT.finditer(text):
        digits = m.group(1).replace("_", "").lstrip("+-").lstrip("0")
        if len(digits) > len(str(MAX_EXPONENT)) or (digits and int(digits) > MAX_EXPONENT):
            raise OversizedNumberError(f"{name}: {text[:40]!r} has a decimal exponent beyond {MAX_EXPONENT}; "
                                       "write the number without it (a probability is at most 1).")
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{name}: {text[:40]!r} is neither a number nor a fraction like '1/3'.") from None


def json_depth(data: bytes) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text (brackets inside strings not counted); linear time.

    Examples
    --------
    >>> json_depth(b'{"a": [[1, "]]]"], 2]}')
    3
    """
    arr = np.frombuffer(_STRING.sub(b'""', data), dtype=np.uint8)
    step = np.isin(arr, (ord("["), ord("{"))).astype(np.int64) - np.isin(arr, (ord("]"), ord("}")))
    return int(np.cumsum(step).max()) if step.size else 0


def _number_hook(kind):
    def parse(text: str):
        if len(text) > MAX_NUMBER_CHARS:
            raise ValueError(f"a number of {len(text)} digits (at most {MAX_NUMBER_CHARS})")
        value = kind(text)
        if kind is float and math.isinf(value):
            raise ValueError(f"the number {text[:40]} overflows a float")
        return value

    return parse


def loads_json(data: bytes | str, name: str):
    """Parse JSON from a file named ``name``, refusing deep nesting and oversized numbers with one line.

    Raises
    ------
    ValueError
        Not UTF-8, not JSON, nested deeper than :data:`MAX_JSON_DEPTH`, or a number longer than
        :data:`MAX_NUMBER_CHARS`; the message names ``name``.

    Examples
    --------
    >>> loads_json(b'{"target": [0.5, "1/2"]}', "x.json")
    {'target': [0.5, '1/2']}
    >>> loads_json(b"[" * 100000, "deep.json")
    Traceback (most recent call last):
    ...
    ValueError: deep.json: JSON nested 100000 levels deep (at most 64); an instance or spec needs 3.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{name}: JSON nested {depth} levels deep (at most {MAX_JSON_DEPTH}); an instance or spec "
                         "needs 3.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name} is not a UTF-8 text file ({exc.reason} at byte {exc.start}).") from None
    try:
        return json.loads(text, parse_int=_number_hook(int), parse_float=_number_hook(float))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} is not valid JSON ({exc.msg}: line {exc.lineno} column {exc.colno}).") from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise ValueError(f"{name}: JSON nested too deep.") from None
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}; write a probability as a number or a fraction like '1/3'.") from None
