"""Sphinx configuration of the lpspec documentation.

Build it with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (needs the ``docs`` extra).
Markdown pages are read by myst-parser (through myst-nb), the API reference comes from the numpydoc
docstrings (autodoc + napoleon), and the jupytext percent notebooks of ``notebooks/`` (linked here as
``docs/notebooks``) are executed and rendered by myst-nb.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import lpspec  # noqa: E402

project = "lpspec"
author = "the lpspec authors"
copyright = "2025–2026, the lpspec authors"
release = version = lpspec.__version__

extensions = [
    "myst_nb",  # Markdown (MyST) pages and notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # numpydoc-style sections
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

exclude_patterns = ["conf.py", "_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints", "notebooks/README*"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# -- MyST ---------------------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3  # "## 9. An exact ..." gets an anchor, so theory.md#9-... links work

# -- notebooks: jupytext percent files, executed at build time (about 10 s in all) ------------------------------
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_execution_mode = os.environ.get("LPSPEC_DOCS_EXECUTE", "force")
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# -- autodoc / napoleon -------------------------------------------------------------------------------------
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True
napoleon_use_rtype = False

# -- HTML ---------------------------------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"lpspec {release}"
html_static_path = []
