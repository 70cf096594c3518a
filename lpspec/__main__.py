"""``python -m lpspec``: the same command line as the ``lpspec`` console script (:func:`lpspec.cli.main`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
