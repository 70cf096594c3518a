"""``python -m lpspec.batched FILE -k 2 4 8 [--summary] [--output table.md]``: the acceptance table of a file.

The same program as ``lpspec batch`` (:func:`lpspec.cli.aliases.batched_main`), run by module name through
:mod:`runpy` so that the batched backend imports nothing from the command line above it.
"""

import runpy
import sys

if __name__ == "__main__":  # pragma: no cover
    sys.argv[1:1] = ["batch"]
    runpy.run_module("lpspec", run_name="__main__", alter_sys=True)
