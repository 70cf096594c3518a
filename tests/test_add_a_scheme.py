"""docs/guide/add_a_scheme.md, followed step by step on a copy of the package: its first python block becomes
``lpspec/schemes/last_draft.py``, the ``SchemeSpec(...)`` of its second block one line of ``SCHEME_SPECS`` —
two files, nothing else — and its ``pycon`` session then runs as a doctest, with the common checks of
tests/test_layers.py and the scheme's value checked by an independent enumeration in Fractions."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide" / "add_a_scheme.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)


def the_entry() -> str:
    """The ``SchemeSpec(...)`` call of the guide's second python block (balanced parentheses)."""
    text = blocks("python")[1]
    start = text.index("SchemeSpec(")
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if text[i] == ")" and depth == 0:
            return text[start : i + 1]
    raise AssertionError("unbalanced SchemeSpec(...) in the guide")


CHECKS = r'''
import doctest, itertools, sys
from fractions import Fraction as F
import numpy as np
sys.path.insert(0, {tests!r})
from pathlib import Path
import lpspec
from lpspec.registry import SCHEME_SPECS, COMPARED
from lpspec.schemes.compare import compare_schemes
from lpspec.schemes import SCHEMES
import _reference as R
import test_layers

# step 3 of the guide, as written
session = {session!r}
test = doctest.DocTestParser().get_doctest(session, {{}}, "guide", "add_a_scheme.md", 0)
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
runner.run(test)
assert runner.failures == 0 and runner.tries >= 4, (runner.failures, runner.tries)

# the common checks: every backend it claims loads, no scheme-name literal outside the registry (the copy)
test_layers.test_every_registered_backend_loads("last_draft")
found = test_layers.scheme_literals(Path(lpspec.__file__).parent, set(SCHEME_SPECS))
assert not found, found
assert "last_draft" in SCHEMES and "last_draft" in COMPARED and COMPARED[-1] == "upper_bound"

# an independent value: Pr[Y in set(X)] by enumeration of the definition, in Fractions
q = [F(1, 5), F(3, 10), F(1, 2)]
rows = [[F(1, 2), F(1, 4), F(1, 4)], [F(1, 10), F(3, 5), F(3, 10)], [F(1, 3), F(1, 3), F(1, 3)]]
last = rows[-1]
excess = [max(a - b, F(0)) for a, b in zip(q, last)]
res = [e / sum(excess) for e in excess]
truth = F(0)
out = [F(0)] * 3
for x in itertools.product(range(3), repeat=3):
    mass = rows[0][x[0]] * rows[1][x[1]] * rows[2][x[2]]
    a = min(F(1), q[x[-1]] / last[x[-1]])
    law = [(1 - a) * r for r in res]
    law[x[-1]] += a
    truth += mass * sum(law[y] for y in set(x))
    out = [o + mass * v for o, v in zip(out, law)]
assert out == q  # the scheme is exact (checked here, by the definition)
r = compare_schemes(target=q, drafts=rows, schemes=["last_draft", "optimal"])
assert r["last_draft"] == truth, (r["last_draft"], truth)
assert isinstance(r["last_draft"], F)
optimum, _ = R.brute_optimum(q, R.tuple_masses(drafts=rows))
assert sum(min(a, b) for a, b in zip(q, last)) <= truth <= optimum == r["optimal"]
assert SCHEMES["last_draft"](target=q, drafts=rows).output_error() == 0
# it does not apply to the greedy law: left out with its reason, not silently
try:
    compare_schemes(target=[0.2, 0.3, 0.5], drafts=[0.5, 0.3, 0.2], k=2, law="greedy", schemes=["last_draft"])
    raise AssertionError("last_draft applied to the greedy law")
except ValueError as exc:
    assert "does not apply" in str(exc) and "independent drafts" in str(exc), exc
g = compare_schemes(target=[0.2, 0.3, 0.5], drafts=[0.5, 0.3, 0.2], k=2, schemes=["last_draft", "naive"])
assert set(g) == {{"last_draft", "naive"}} and g.not_computed["sir"] == "not requested"
print("guide ok", truth)
'''


def test_the_guide_adds_a_scheme_in_two_files(tmp_path):
    module, entry = blocks("python")[0], the_entry()
    (session,) = blocks("pycon")
    pkg = tmp_path / "lpspec"
    shutil.copytree(ROOT / "lpspec", pkg, ignore=shutil.ignore_patterns("__pycache__", "corpus"))
    shutil.copytree(ROOT / "lpspec" / "sequence" / "corpus", pkg / "sequence" / "corpus",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # file 1: the module
    (pkg / "schemes" / "last_draft.py").write_text(module, encoding="utf-8")
    # file 2: one entry of SCHEME_SPECS, before the bound (the guide: keep upper_bound last)
    registry = (pkg / "registry.py").read_text(encoding="utf-8")
    anchor = '    SchemeSpec("upper_bound"'
    assert registry.count(anchor) == 1
    (pkg / "registry.py").write_text(registry.replace(anchor, f"    {entry},\n{anchor}"), encoding="utf-8")
    changed = {p.relative_to(tmp_path).as_posix() for p in pkg.rglob("*.py")
               if not (ROOT / p.relative_to(tmp_path)).exists()
               or (ROOT / p.relative_to(tmp_path)).read_bytes() != p.read_bytes()}
    assert changed == {"lpspec/schemes/last_draft.py", "lpspec/registry.py"}
    code = CHECKS.format(tests=str(ROOT / "tests"), session=session)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "guide ok" in out.stdout


def test_the_guide_module_is_a_valid_scheme_without_the_entry():
    """The guide's module runs as pasted (docs code blocks must), and its class is an exact scheme already."""
    namespace: dict = {}
    exec(compile(blocks("python")[0], "last_draft.py", "exec"), namespace)
    exec(compile(blocks("python")[1], "entry.py", "exec"), namespace)
    cls = namespace["LastDraft"]
    assert cls(target=[0.5, 0.5], drafts=[[0.5, 0.5], [0.9, 0.1]]).output_error() <= 1e-15
    assert namespace["entry"].name == cls.name and namespace["entry"].cls.endswith(":LastDraft")
