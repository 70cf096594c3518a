"""Shared pytest options: ``--runslow`` enables the long property runs marked ``@pytest.mark.slow``.

The tests never wait on the network: the Hugging Face hub client is offline (``HF_HUB_OFFLINE=1``,
``TRANSFORMERS_OFFLINE=1``, set here, before anything imports transformers or huggingface_hub, which read them
at import), and its timeouts are small in case something still asks.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "2")
os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "5")

import pytest
from hypothesis import settings

settings.register_profile("lpspec", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "lpspec")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
