"""Sphinx configuration of the lpspec documentation.

Build it with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (needs the ``docs`` extra).
Markdown pages are read by myst-parser (through myst-nb), the API reference comes from the numpydoc
docstrings (autodoc + napoleon), and the jupytext percent notebooks of ``notebooks/`` (linked here as
``docs/notebooks``) are executed and rendered by myst-nb.
"""

import os
import re
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
suppress_warnings = ["myst.header"]  # a heading-level jump in a guide page is cosmetic; broken links still fail

# -- notebooks: jupytext percent files, executed at build time (about 10 s in all) ------------------------------
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_execution_mode = os.environ.get("LPSPEC_DOCS_EXECUTE", "force")
nb_execution_timeout = 300
nb_execution_in_temp = True  # notebooks run in a temporary directory: nothing is written into the tree
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


# -- the API reference lists every public name ---------------------------------------------------------------
# autodoc documents module-level data only when the documented module itself carries a ``#:`` comment for it, and
# the constants of ``lpspec.__all__`` are imported from submodules. ``.. public-constants:: MODULE`` lists them,
# with the ``#:`` comment of the submodule that defines them.
from sphinx.pycode import ModuleAnalyzer  # noqa: E402
from sphinx.util.docutils import SphinxDirective  # noqa: E402


def _constant_doc(name, obj, package):
    for mod_name, mod in sorted(sys.modules.items()):
        if not mod_name.startswith(package) or getattr(mod, name, None) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(mod_name).find_attr_docs()
        except Exception:  # a module without source
            continue
        if ("", name) in docs:
            return [line for line in docs[("", name)] if line.strip()]
    return []


class PublicConstants(SphinxDirective):
    required_arguments = 1

    def run(self):
        import importlib

        module_name = self.arguments[0]
        module = importlib.import_module(module_name)
        lines = []
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if callable(obj) or isinstance(obj, type):
                continue
            value = repr(obj) if not isinstance(obj, dict) else "{" + ", ".join(map(repr, obj)) + "}"
            lines += [f".. py:data:: {name}", f"   :module: {module_name}", f"   :value: {value}", ""]
            lines += [f"   {line}" for line in _constant_doc(name, obj, module_name.split(".")[0])] + [""]
        return self.parse_text_to_nodes("\n".join(lines)) if lines else []


# -- links from a page to repository files outside docs/ ----------------------------------------------------
# A Markdown page may link to a repository file such as ``[benchmarks](../../benchmarks/README.md)``: that link
# works on GitHub but is not a page of this site. Such links (to an existing file outside docs/) are shown as the
# text followed by the repository path; a link to a file that does not exist is left alone, so that it warns.
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:\.\./)+[^)#\s]+)(#[^)\s]*)?\)")


def _repository_links(app, docname, source):
    page_dir = (Path(app.srcdir) / docname).parent

    def replace(match):
        target = (page_dir / match.group(2)).resolve()
        docs_dir = Path(app.srcdir).resolve()
        if docs_dir in target.parents or not target.exists() or ROOT not in target.parents:
            return match.group(0)
        return f"{match.group(1)} (`{target.relative_to(ROOT).as_posix()}`)"

    source[0] = _MD_LINK.sub(replace, source[0])


def setup(app):
    app.add_directive("public-constants", PublicConstants)
    app.connect("source-read", _repository_links)
