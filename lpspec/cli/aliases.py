"""The ``python -m`` aliases of two subcommands, in the CLI layer (the modules they are named after import
nothing from the CLI):

* ``python -m lpspec.batched ARGS`` = ``lpspec batch ARGS`` (:func:`batched_main`);
* ``python -m lpspec.sequence.hf_distributions ARGS`` = ``lpspec distributions ARGS`` (:func:`distributions_main`).

Examples
--------
>>> batched_main(["--help"])  # doctest: +SKIP
"""

from __future__ import annotations

import sys

from . import main

__all__ = ["batched_main", "distributions_main"]


def batched_main(argv=None) -> int:
    """``lpspec batch ARGS`` (:mod:`lpspec.cli.batch`); ``argv`` defaults to ``sys.argv[1:]``."""
    return main(["batch", *(sys.argv[1:] if argv is None else list(argv))])


def distributions_main(argv=None) -> int:
    """``lpspec distributions ARGS`` (:mod:`lpspec.cli.distributions`); ``argv`` defaults to ``sys.argv[1:]``."""
    return main(["distributions", *(sys.argv[1:] if argv is None else list(argv))])

