"""Skip the doctests of the batched backend where PyTorch is not installed (a minimal CI job).

``import lpspec.batched`` works without torch, but its examples compute with it.
"""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("torch") is not None else ["*.py"]
