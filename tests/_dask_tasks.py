"""Light task functions for tests/test_distributed.py: a worker restarted after a death imports only this."""

import os


def die_at_2(x):
    """Kill the worker process that runs item 2, every time."""
    if x == 2:
        os._exit(1)
    return [{"x": x}]
