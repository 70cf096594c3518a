"""``python -m lpspec.batched FILE -k 2 4 8 [--summary] [--output table.md]``: the acceptance table of a file."""

import sys

from .table import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
