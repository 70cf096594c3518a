"""Old import paths of the modules that moved into subpackages in 0.3 (``lpspec.optimum`` is now
``lpspec.solvers.optimum``, ...): they still import, as the very same module object, with a DeprecationWarning
naming the new path. Removed in 0.4.

A :class:`importlib.abc.MetaPathFinder` answers only for the names in :data:`RELOCATED`; it is put first on
``sys.meta_path`` when ``lpspec`` is imported (it answers for those names only, so that no stale copy of an
old file, e.g. an editable install's, wins).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import warnings

__all__ = ["RELOCATED", "install"]

#: Old module names that are also functions of the top level (``lpspec.certify``, ``lpspec.decode``): importing
#: the old module path must not replace the function on the package (the import system binds a submodule on
#: its parent).
FUNCTION_NAMES = ("certify", "decode")

#: ``{old module name: new module name}``.
RELOCATED: dict[str, str] = {
    "lpspec.arith": "lpspec.core.arith",
    "lpspec.distributions": "lpspec.core.distributions",
    "lpspec.instance": "lpspec.core.instance",
    "lpspec.results": "lpspec.core.results",
    "lpspec.errors": "lpspec.core.errors",
    "lpspec.keywords": "lpspec.core.keywords",
    "lpspec.progress": "lpspec.core.progress",
    "lpspec.xp": "lpspec.core.xp",
    "lpspec.closed_forms": "lpspec.solvers.closed_forms",
    "lpspec.subsets": "lpspec.solvers.subsets",
    "lpspec.lp": "lpspec.solvers.lp",
    "lpspec.certify": "lpspec.solvers.certify",
    "lpspec.submodular": "lpspec.solvers.submodular",
    "lpspec.optimum": "lpspec.solvers.optimum",
    "lpspec.theorems": "lpspec.theory.theorems",
    "lpspec.decomposition": "lpspec.theory.decomposition",
    "lpspec.checks": "lpspec.theory.checks",
    "lpspec.verifier_kernel": "lpspec.verifier.kernel",
    "lpspec.compare": "lpspec.schemes.compare",
    "lpspec.verify": "lpspec.schemes.verify",
    "lpspec.markov": "lpspec.sequence.markov",
    "lpspec.models": "lpspec.sequence.models",
    "lpspec.blocks": "lpspec.sequence.blocks",
    "lpspec.decode": "lpspec.sequence.decode",
    "lpspec.multiplicity": "lpspec.sequence.multiplicity",
    "lpspec.hf_distributions": "lpspec.sequence.hf_distributions",
    "lpspec.corpus": "lpspec.sequence.corpus",
}


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _warn(message: str) -> None:
    """Issue the DeprecationWarning from the first frame outside lpspec and the import machinery (the line that
    imports the old path), so that Python's default filter (``default::DeprecationWarning:__main__``) shows it in
    a user's script: a fixed ``stacklevel`` lands on ``sys:1`` or inside lpspec, where it is silenced."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith(_PACKAGE_DIR) or name.startswith("<frozen") or "importlib" in name):
            break
        frame = frame.f_back
    if frame is None:
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return
    module_globals = frame.f_globals
    warnings.warn_explicit(message, DeprecationWarning, frame.f_code.co_filename, frame.f_lineno,
                           module=module_globals.get("__name__", "<string>"),
                           registry=module_globals.setdefault("__warningregistry__", {}))


class _RelocatedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in RELOCATED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = RELOCATED[spec.name]
        _warn(f"{spec.name} is now {new}; the old path will be removed in lpspec 0.4.")
        module = importlib.import_module(new)
        self._specs[module.__name__] = module.__spec__
        return module

    def get_code(self, fullname):
        """Code that runs the moved module as ``__main__`` under its own name, so that ``python -m OLD_PATH``
        (runpy) works as ``python -m NEW_PATH`` (its relative imports resolve in its new package)."""
        new = RELOCATED[fullname]
        warnings.warn(f"{fullname} is now {new}; the old path will be removed in lpspec 0.4.", DeprecationWarning,
                      stacklevel=2)
        return compile(f"import runpy\nrunpy.run_module({new!r}, run_name='__main__', alter_sys=True)\n",
                       f"<{fullname}: now {new}>", "exec")

    def exec_module(self, module):
        # the import system stamps the old name's spec on the module it got: give the module its own back
        module.__spec__ = self._specs.get(module.__name__, module.__spec__)

    def __init__(self):
        self._specs = {}


_FINDER = _RelocatedFinder()


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once). The old paths of :data:`FUNCTION_NAMES` are entered in
    ``sys.modules`` directly (no warning for those two): a module found by a finder is bound on its parent
    package, which would replace the top-level function of the same name."""
    for name in FUNCTION_NAMES:
        sys.modules.setdefault(f"lpspec.{name}", importlib.import_module(RELOCATED[f"lpspec.{name}"]))
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
