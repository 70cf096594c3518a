"""One-way layers: the import graph of lpspec has no cycle, ``import lpspec`` stays light, and the LP's cut
fallback uses the closed forms below it (never the dispatcher, never the LP again).

The graph is built from the source with :mod:`ast`, not by importing: every ``import``/``from ... import`` of an
lpspec module anywhere in a file (function-level imports included) is an edge. ``from . import x`` is an edge
to the submodule ``x`` when there is one, else to the package. Docstring examples are not code and are not read.
"""

from __future__ import annotations

import ast
import functools
import math
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import _reference as R
import numpy as np
import pytest

import lpspec.solvers.lp as lp
from lpspec import make_instance

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lpspec"

#: Edges allowed to close a cycle, each with the reason it cannot be broken now. Empty: lpspec is acyclic.
ALLOWED_CYCLE_EDGES: set[tuple[str, str]] = set()


def module_files() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def import_graph() -> dict[str, set[str]]:
    """``{module: {lpspec modules it imports}}`` from the source, function-level imports included."""
    return {mod: set(deps) for mod, deps in _import_graph().items()}


@functools.lru_cache(maxsize=1)
def _import_graph() -> dict[str, frozenset[str]]:
    mods = module_files()
    graph = {}
    for mod, path in mods.items():
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        out = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    name = ".".join(base + ([node.module] if node.module else []))
                else:
                    name = node.module or ""
                for alias in node.names:
                    sub = f"{name}.{alias.name}"
                    if sub in mods:
                        out.add(sub)
                    elif name in mods:
                        out.add(name)
            elif isinstance(node, ast.Import):
                out.update(alias.name for alias in node.names if alias.name in mods)
        out.discard(mod)
        graph[mod] = frozenset(out)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_the_graph_builder_sees_function_level_and_relative_imports():
    """The builder must be able to fail: it finds known edges of every import style."""
    graph = import_graph()
    assert "lpspec.solvers.closed_forms" in graph["lpspec.solvers.lp"]  # top-level relative import
    assert "lpspec.verifier.rank" in graph["lpspec.sequence.multiplicity"]  # function-level ``from . import verifier``
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_lpspec_imports_one_way():
    graph = import_graph()
    for a, b in ALLOWED_CYCLE_EDGES:
        graph[a].discard(b)
    found = cycles(graph)
    detail = "; ".join(
        " ".join(f"{m} -> {sorted(set(graph[m]) & set(comp))}" for m in comp) for comp in found)
    assert not found, f"import cycles in lpspec: {detail}"


def test_the_lp_sits_below_the_dispatcher():
    graph = import_graph()
    assert "lpspec.solvers.optimum" not in graph["lpspec.solvers.lp"]
    assert not graph["lpspec.solvers.closed_forms"] & {"lpspec.solvers.lp", "lpspec.solvers.optimum"}
    for mod, deps in graph.items():  # no submodule reads the package's __init__
        if mod != "lpspec":
            assert "lpspec" not in deps, f"{mod} imports the lpspec package itself"


#: The core: the mathematics, which reads no files and runs no experiments (subpackages included).
CORE = ("core", "solvers", "theory", "schemes", "verifier")


def _layer(graph, name: str) -> set[str]:
    return {m for m in graph if m == f"lpspec.{name}" or m.startswith(f"lpspec.{name}.")}


def _reach(graph, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for dep in graph.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def layer_violations(graph) -> list[str]:
    """Edges (direct or through other modules) that point up: io -> experiments, core -> io or experiments."""
    io, experiments = _layer(graph, "io"), _layer(graph, "experiments")
    found = [f"{m} reaches {sorted(_reach(graph, m) & experiments)}" for m in sorted(io)
             if _reach(graph, m) & experiments]
    for name in CORE:
        for m in sorted(_layer(graph, name)):
            up = _reach(graph, m) & (io | experiments)
            if up:
                found.append(f"{m} reaches {sorted(up)}")
    return found


def test_the_layer_check_can_fail():
    bad = {"lpspec.io.export": {"lpspec.experiments.sweep"}, "lpspec.experiments.sweep": set(),
           "lpspec.solvers.lp": {"lpspec.schemes.compare"}, "lpspec.schemes.compare": {"lpspec.io.export"}}
    assert layer_violations(bad) == ["lpspec.io.export reaches ['lpspec.experiments.sweep']",
                                     "lpspec.solvers.lp reaches ['lpspec.experiments.sweep', 'lpspec.io.export']",
                                     "lpspec.schemes.compare reaches ['lpspec.experiments.sweep', 'lpspec.io.export']"]
    assert layer_violations({"lpspec.experiments.sweep": {"lpspec.io.export", "lpspec.solvers.lp"}}) == []


def test_io_and_experiments_import_downward_only():
    """io and experiments are packages; io never imports experiments, and no core module imports either,
    directly or through another module."""
    graph = import_graph()
    assert _layer(graph, "io") == {"lpspec.io", "lpspec.io.export", "lpspec.io.instances", "lpspec.io.untrusted"}
    assert _layer(graph, "experiments") == {"lpspec.experiments", "lpspec.experiments.families",
                                            "lpspec.experiments.sweep", "lpspec.experiments.figures"}
    for old in ("export", "families", "sweep", "figures"):  # moved, with no shim left behind
        assert f"lpspec.{old}" not in graph
    assert all(_layer(graph, name) for name in CORE), [n for n in CORE if not _layer(graph, n)]
    assert "lpspec.io.instances" in graph["lpspec.experiments.families"]  # the builder sees the edges it checks
    found = layer_violations(graph)
    assert not found, "imports that point up a layer: " + "; ".join(found)


HEAVY = ("torch", "matplotlib", "pandas", "dask", "transformers")


def test_import_lpspec_stays_light():
    code = ("import sys, lpspec; print(','.join(sorted({m.split('.')[0] for m in sys.modules} & set("
            f"{HEAVY!r}))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"import lpspec imports {out.stdout.strip()}"


# ----------------------------------------------------------------------------- the LP's cut fallback
def _no_lp(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the cut fallback re-entered the LP")

    monkeypatch.setattr(lp, "_solve_flow_form", boom)
    monkeypatch.setattr(lp, "_solve_full_form", boom)
    monkeypatch.setattr(lp, "solve_instance", boom)


def _fractions(rng, n, zeros=0):
    w = rng.integers(1, 9, size=n)
    w[rng.choice(n, size=zeros, replace=False)] = 0
    return [F(int(x), int(w.sum())) for x in w]


CASES = [
    # (what, law, drafts as a list of rows or one row with k, k, exact, n)
    ("exact n=15, different independent drafts: the exact max-flow", "independent", 2, True, 15),
    ("exact n=16, without replacement: the exact max-flow", "without_replacement", 2, True, 16),
    ("float n=16, without replacement: the subsets", "without_replacement", 2, False, 16),
    ("float n=14, greedy: the greedy formula", "greedy", 3, False, 14),
    ("exact n=14, identical independent: the sorted prefix", "independent", 3, True, 14),
]


@pytest.mark.parametrize("what,law,k,exact,n", CASES, ids=[c[0] for c in CASES])
def test_cut_fallback_finds_the_optimum_without_the_lp(monkeypatch, what, law, k, exact, n):
    """Duals that round to no cut (None): the fallback must still return a minimising set, found below the LP,
    at the sizes where the old ``n <= 16`` guard sent exact input back into the dispatcher."""
    rng = np.random.default_rng(n * 10 + k)
    q = _fractions(rng, n, zeros=2)
    if law == "independent" and "different" in what:
        drafts, kk = [_fractions(rng, n, zeros=1), _fractions(rng, n, zeros=3)], None
    else:
        drafts, kk = _fractions(rng, n, zeros=1), k
    if not exact:
        q = [float(x) for x in q]
        drafts = [float(x) for x in drafts] if kk else [[float(x) for x in row] for row in drafts]
    inst = make_instance(target=q, drafts=drafts, k=kk, law=law)
    # independent truth: the brute-force minimum over all 2^n sets of the float cut values (n <= 16)
    fdrafts = [float(x) for x in drafts] if kk else [[float(x) for x in row] for row in drafts]
    masses = R.tuple_masses(drafts=fdrafts, k=kk, law=law)
    truth, _ = R.brute_optimum([float(x) for x in q], masses, n)
    assert truth < 1 - 1e-6  # the trivial cuts (value 1) do not match: the fallback must act
    _no_lp(monkeypatch)
    mask, value = lp._best_cut(inst, None, truth)
    assert math.isclose(value, truth, rel_tol=0, abs_tol=1e-12), (what, value, truth)
    exact_cut = inst.cut_value(mask)
    if exact:  # the set is a true minimiser: its exact cut value is the float truth to rounding
        assert isinstance(exact_cut, F)
    assert abs(float(exact_cut) - truth) <= 1e-12


def test_cut_fallback_declines_where_no_closed_form_applies(monkeypatch):
    """Exact input, n = 15 (above the exact subset limit), without replacement with K = 8 (more than
    MAX_CERTIFY_SETS draft sets): no exact minimisation applies and none is attempted (no tuple is built)."""
    inst = make_instance(target=[F(1, 15)] * 15, drafts=[F(1, 15)] * 15, k=8, law="without_replacement")
    _no_lp(monkeypatch)
    assert lp._exact_minimum(inst) is None


def test_lp_solve_survives_unroundable_duals(monkeypatch):
    """End to end: an exact n = 15 LP whose duals are replaced by trivial cuts still certifies its value, with
    one LP solve only."""
    rng = np.random.default_rng(5)
    q = _fractions(rng, 15, zeros=2)
    drafts = [_fractions(rng, 15, zeros=1), _fractions(rng, 15, zeros=2)]
    inst = make_instance(target=q, drafts=drafts)
    solves = []
    flow_form = lp._solve_flow_form

    def counted(*args, **kwargs):
        solves.append(1)
        return flow_form(*args, **kwargs)

    monkeypatch.setattr(lp, "_solve_flow_form", counted)
    monkeypatch.setattr(lp, "_candidate_cuts", lambda inst, duals: [np.zeros(inst.n, bool), np.ones(inst.n, bool)])
    res = lp.solve_instance(inst, "merged")
    masses = R.tuple_masses(drafts=[[float(x) for x in row] for row in drafts])
    truth, _ = R.brute_optimum([float(x) for x in q], masses, 15)
    assert solves == [1]
    assert abs(res.value - truth) <= 1e-9 and abs(res.cut_value - truth) <= 1e-12


# ----------------------------------------------------------------------------- Instance twins
def _keyword_functions():
    import inspect

    import lpspec

    for name in lpspec.__all__:
        obj = getattr(lpspec, name)
        # functions over context-dependent (Markov) laws take matrices per context, not one Instance: no twin
        if (inspect.isfunction(obj) and name != "make_instance" and not name.startswith(("block_", "decode"))
                and not obj.__module__.startswith("lpspec.sequence")):
            params = inspect.signature(obj).parameters
            if "target" in params and "drafts" in params and "length" not in params:  # sequence level: no twin
                yield name, obj


def test_every_keyword_function_has_an_instance_twin():
    import importlib
    import inspect

    import lpspec

    names = dict(_keyword_functions())
    assert {"optimal_acceptance", "solve_lp", "certify", "compare_schemes", "verify_scheme"} <= set(names)
    for name, fn in names.items():
        module = importlib.import_module(fn.__module__)
        twin = getattr(module, f"{name}_for", None)
        assert callable(twin), f"{fn.__module__}.{name} has no Instance twin {name}_for"
        first = next(iter(inspect.signature(twin).parameters))
        assert first == "inst", f"{name}_for takes {first!r} first, not the instance"
        assert f"{name}_for" in module.__all__
        if name != "optimal_verifier":  # lpspec.verifier.rank is being rewritten elsewhere: its twin keeps its old name
            assert twin.__name__ == f"{name}_for", f"{name}_for is named {twin.__name__!r}"
        assert f"{fn.__module__}.{name}_for" in lpspec.__doc__  # documented in the table of lpspec's docstring


def test_instance_twins_answer_as_the_keyword_functions():
    """Same instance, same answers; the expected optimum is the brute-force minimum (exact Fractions)."""
    from lpspec.certify import certify_for

    from lpspec.schemes.compare import compare_schemes, compare_schemes_for
    from lpspec.schemes.verify import verify_scheme_for
    from lpspec.solvers.optimum import optimal_acceptance_for
    from lpspec.theory.theorems import theorem3, theorem3_for

    q, p = [F(1, 2), F(1, 3), F(1, 6)], [F(1, 6), F(1, 6), F(2, 3)]
    inst = make_instance(target=q, drafts=p, k=2)
    truth, _ = R.brute_optimum(q, R.tuple_masses(drafts=p, k=2))
    assert optimal_acceptance_for(inst).value == truth
    assert certify_for(inst).value == truth
    assert theorem3_for(inst).value == theorem3(target=q, drafts=p).value == truth
    a, b = compare_schemes_for(inst), compare_schemes(target=q, drafts=p, k=2)
    assert a["optimal"] == b["optimal"] == truth and dict(a) == dict(b)
    report = verify_scheme_for(inst, lambda x: [float(v) for v in q], samples=0)  # ignores the drafts: exact
    assert report.exact and abs(report.acceptance - float(sum(R.inclusion(R.tuple_masses(drafts=p, k=2), 3)[y]
                                                              * q[y] for y in range(3)))) <= 1e-12
    with pytest.raises(ValueError, match="identical independent"):
        theorem3_for(make_instance(target=q, drafts=[p, q]))


def test_the_dispatcher_re_exports_the_closed_forms():
    """Code that imported the closed forms from lpspec.solvers.optimum keeps working, with the very same objects."""
    import lpspec.solvers.closed_forms as cf
    import lpspec.solvers.optimum as opt

    for name in ("ratio_order", "sorted_prefix_optimum", "subset_optimum", "greedy_optimum", "few_draft_sets"):
        assert getattr(opt, name) is getattr(cf, name), name
        assert name in opt.__all__


def test_no_assert_statements_in_the_package():
    """Checks raise explicitly (lpspec.core.results.require): `python -O` strips assert statements, and a certificate
    check that silently passes would be a silent wrong answer."""
    import ast

    root = Path(__file__).resolve().parents[1] / "lpspec"
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assert):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not found, found


def test_names_that_left_the_top_level_still_resolve_with_a_warning():
    """The top level keeps what a user needs; moved names resolve from their module and say where they went."""
    import importlib

    import lpspec

    assert not set(lpspec._MOVED) & set(lpspec.__all__)
    for name, module in lpspec._MOVED.items():
        with pytest.warns(DeprecationWarning, match=f"{module}.{name}"):
            obj = getattr(lpspec, name)
        assert obj is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        lpspec.no_such_name  # noqa: B018


# ----------------------------------------------------------------------------- no upward imports
#: Modules that import nothing from lpspec: the registry (every layer reads it) and the array namespace.
LEAVES = ("lpspec.registry", "lpspec.core.xp", "lpspec._version")


def upward_imports(graph) -> list[str]:
    """Edges into the command line from below it, and any lpspec import of a leaf module."""
    cli = _layer(graph, "cli")
    found = [f"{m} reaches {sorted(_reach(graph, m) & cli)}" for m in sorted(graph)
             if m not in cli and m not in ("lpspec", "lpspec.__main__") and _reach(graph, m) & cli]
    found += [f"{leaf} imports {sorted(graph[leaf])}" for leaf in LEAVES if graph.get(leaf)]
    return found


def test_the_upward_import_check_can_fail():
    bad = {"lpspec.batched.table": {"lpspec.cli"}, "lpspec.cli": {"lpspec.registry"},
           "lpspec.registry": {"lpspec.core.instance"}, "lpspec.core.instance": set()}
    assert upward_imports(bad) == ["lpspec.batched.table reaches ['lpspec.cli']",
                                   "lpspec.registry imports ['lpspec.core.instance']"]


def test_nothing_below_the_command_line_imports_it():
    """The python -m aliases (lpspec.batched, lpspec.sequence.hf_distributions) reach the CLI by module name only."""
    graph = import_graph()
    assert "lpspec.cli.aliases" in graph and "lpspec.cli" in graph["lpspec.cli.aliases"]  # the builder sees it
    found = upward_imports(graph)
    assert not found, "imports that point up: " + "; ".join(found)


def test_import_lpspec_shows_all_and_the_subpackages_only():
    """In a fresh interpreter (other tests import submodules, which binds them on the package)."""
    code = """
import types, lpspec
public = {n for n, v in vars(lpspec).items() if not n.startswith("_")}
modules = {n for n in public if isinstance(getattr(lpspec, n), types.ModuleType)}
print(sorted(modules - set(lpspec.SUBPACKAGES)), sorted(public - modules - {*lpspec.__all__, "SUBPACKAGES"}))
import lpspec.solvers.optimum
print(lpspec.solvers.optimum.METHODS[0])  # other submodules still resolve by name
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[] []", "auto"], out.stdout


# ----------------------------------------------------------------------------- scheme names live in the registry
def scheme_literals(package: Path, names) -> list[str]:
    """``path:line: 'name'`` for every string constant equal to a scheme name in ``package`` outside
    ``registry.py``, not counting docstrings, ``__all__`` lists, and the ``name = "..."`` class attribute in the
    module that the scheme's own ``cls`` or ``block_fn`` pointer names (a class states its key once)."""
    from lpspec.registry import SCHEME_SPECS

    own = {}  # module path (relative, no suffix) -> the names whose class lives there
    for spec in SCHEME_SPECS.values():
        for pointer in (spec.cls, spec.block_fn):
            if pointer:
                own.setdefault(pointer.split(":")[0].replace(".", "/"), set()).add(spec.name)
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "registry.py":
            continue
        rel = path.relative_to(package.parent).with_suffix("").as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                    isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))  # a docstring
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                                    for t in node.targets):
                skip.update(id(c) for c in ast.walk(node.value))
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and [getattr(t, "id", None) for t in stmt.targets] == ["name"] \
                            and isinstance(stmt.value, ast.Constant) and stmt.value.value in own.get(rel, ()):
                        skip.add(id(stmt.value))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names \
                    and id(node) not in skip:
                found.append(f"{rel}.py:{node.lineno}: {node.value!r}")
    return found


def test_the_scheme_literal_scan_can_fail(tmp_path):
    pkg = tmp_path / "lpspec"
    (pkg / "schemes").mkdir(parents=True)
    (pkg / "registry.py").write_text('X = "spectr"\n')
    (pkg / "schemes" / "spectr.py").write_text('"""spectr"""\n__all__ = ["spectr"]\nclass SpecTr:\n    name = "spectr"\n')
    (pkg / "blocks.py").write_text('class A:\n    name = "spectr"\ndef f(s):\n    return s == "optimal"\n')
    assert scheme_literals(pkg, {"spectr", "optimal"}) == ["lpspec/blocks.py:2: 'spectr'",
                                                          "lpspec/blocks.py:4: 'optimal'"]


def test_no_scheme_name_literals_outside_the_registry():
    from lpspec.registry import SCHEME_SPECS

    found = scheme_literals(PACKAGE, set(SCHEME_SPECS))
    assert not found, "scheme names typed outside lpspec/registry.py: " + "; ".join(found)


# ----------------------------------------------------------------------------- every backend a scheme claims
BACKENDS = ("exact", "batched", "multiplicity", "block", "applies", "sampler")


def _registry():
    from lpspec.registry import SCHEME_SPECS, MissingBackendError

    return SCHEME_SPECS, MissingBackendError


@pytest.mark.parametrize("name", list(_registry()[0]))
def test_every_registered_backend_loads(name):
    from lpspec.schemes import SCHEMES
    from lpspec.schemes.compare import upper_bound

    specs, missing = _registry()
    spec = specs[name]
    for backend in BACKENDS:
        if spec.has(backend):
            assert callable(spec.load(backend)), (name, backend)
        else:
            with pytest.raises(missing, match=f"no {backend} backend"):
                spec.load(backend)
    if spec.kind == "bound":
        assert spec.load("exact") is upper_bound and name not in SCHEMES
    elif spec.level == "sequence":  # a block verifier: evaluated on draft trees, not a token scheme
        assert spec.has("block") and name not in SCHEMES
    else:  # the class states the same key, and SCHEMES is the registry's class
        assert spec.load("exact").name == name and SCHEMES[name] is spec.load("exact")
    if spec.has("batched"):
        from lpspec.registry import BATCHED

        assert name in BATCHED


def _rows(rng, n, zeros=0):
    w = rng.integers(1, 9, size=n).astype(float)
    if zeros:
        w[rng.choice(n, size=zeros, replace=False)] = 0.0
    return w / w.sum()


def _instances():
    """Identical-draft (q, p, K) cases, the hard branches included: q = p (SpecInfer's residual mass is 0 and
    ρ* = 1), zero-mass tokens on either side, ties of q/p, and K = 1."""
    rng = np.random.default_rng(20)
    cases = [(_rows(rng, 5), _rows(rng, 5), K) for K in (2, 3)]
    q = _rows(rng, 4)
    cases += [(q, q.copy(), 2), (_rows(rng, 5, zeros=1), _rows(rng, 5, zeros=2), 3),
              (np.array([0.25, 0.25, 0.5]), np.array([0.5, 0.5, 0.0]), 2), (_rows(rng, 4), _rows(rng, 4), 1)]
    return cases


def _brute_optimum(q, drafts):
    masses = R.tuple_masses(drafts=[list(map(float, row)) for row in drafts])
    return R.brute_optimum([float(v) for v in q], masses, len(q))[0]


def _exact_side(q, drafts):
    """The exact backends' values on one instance (``truncated_is``: its sd acceptance, as the batched backend
    reports it); the optimum is checked against brute force over all sets and the bound against its formula."""
    from lpspec.registry import SCHEME_SPECS
    from lpspec.schemes import TruncatedIS
    from lpspec.schemes.compare import compare_schemes_for

    inst = make_instance(target=q, drafts=drafts)
    names = [n for n, s in SCHEME_SPECS.items() if s.batched and (s.kind == "bound" or s.load("exact").applies_to(inst))]
    values = {n: float(v) for n, v in compare_schemes_for(inst, names).items()}
    for name in names:
        spec = SCHEME_SPECS[name]
        if spec.kind == "optimum":
            assert abs(values[name] - _brute_optimum(q, drafts)) <= 1e-12
        if spec.kind == "bound":
            miss = np.prod([1.0 - np.asarray(row) for row in drafts], axis=0)
            assert abs(values[name] - float(np.minimum(q, 1.0 - miss).sum())) <= 1e-12
        if spec.batched_kind == "sd":
            values[name] = float(TruncatedIS(inst).sd_acceptance)
    return values


def test_exact_and_batched_backends_agree():
    """Every batched entry against its exact backend, on identical and different drafts (hard cases included)."""
    pytest.importorskip("torch")
    from lpspec import batched
    from lpspec.registry import BATCHED

    checked = set()
    for q, p, K in _instances():
        for identical in (True, False):
            drafts = [p] * K if identical else [p, *[np.roll(p, i + 1) for i in range(K - 1)]]
            if identical:
                res = batched.compare_schemes(target=[q], drafts=[p], k=K, device="cpu")
            else:
                res = batched.compare_schemes(target=[q], drafts=[[row] for row in drafts], device="cpu")
            exact = _exact_side(q, drafts)
            for name in set(res) & set(exact):
                assert abs(float(res[name][0]) - exact[name]) <= 1e-9, (name, q, drafts, float(res[name][0]))
                checked.add(name)
    assert checked == set(BATCHED)


def _enumerated_table(cls, q, p, j):
    """``a(y, m) = Σ_x P(x) π(y | x) [y ∈ x, #{k : x_k = y} = m]`` by enumeration of Ω^j (the definition)."""
    import itertools

    n = len(q)
    s = cls(target=q, drafts=p, k=j)
    out = np.zeros((n, j))
    for x in itertools.product(range(n), repeat=j):
        mass = float(np.prod([p[t] for t in x]))
        if mass:
            law = np.asarray(s.conditional(x), dtype=float)
            for y in set(x):
                out[y, x.count(y) - 1] += mass * law[y]
    return out


def test_multiplicity_tables_agree_with_the_exact_schemes():
    """``multiplicity_table`` of every token scheme that applies to identical independent drafts: its table is the
    enumeration of the exact class's conditional law (a scheme without a closed form uses that enumeration
    itself, so it is checked here too), and ``Σ a(y, m)`` is the exact membership acceptance; for the optimum
    (whose table is the rank-space verifier's plan, not the LP's) ``Σ a = P*`` by brute force over all sets."""
    from lpspec.registry import SCHEME_SPECS
    from lpspec.sequence.multiplicity import multiplicity_table

    rows = [(np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.3, 0.2])),
            (np.array([0.25, 0.25, 0.5]), np.array([0.25, 0.25, 0.5])),  # q = p
            (np.array([0.0, 0.4, 0.6]), np.array([0.5, 0.5, 0.0]))]  # zero mass on either side
    Q, P = np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])
    closed = set()
    for name, spec in SCHEME_SPECS.items():
        if spec.level != "token" or spec.kind == "bound":
            continue
        cls = spec.load("exact")
        for j in (1, 2, 3):
            if not cls.applies_to(make_instance(target=Q[0], drafts=P[0], k=j)) or \
                    (name == "truncated_is" or name == "pairwise_is") and j != 2:
                continue
            table = multiplicity_table(name, target=Q, draft=P, j=j)
            assert table.shape == (3, 3, j)
            for c in range(3):
                total = float(table[c].sum())
                if spec.kind == "optimum":
                    assert abs(total - _brute_optimum(Q[c], [P[c]] * j)) <= 1e-9, (name, j, c)
                    continue
                want = _enumerated_table(cls, Q[c], P[c], j)
                assert np.allclose(table[c], want, rtol=0, atol=1e-9), (name, j, c)
                assert abs(total - float(want.sum())) <= 1e-9  # Σ a = Pr[Y ∈ set(X)], enumerated
                reported = float(cls(target=Q[c], drafts=P[c], k=j).acceptance)
                if spec.one_draft:  # its acceptance is the K = 1 figure Pr[Y = X_1], below the membership one
                    assert reported <= total + 1e-12, (name, j, c)
                else:  # the exact backend's own value (closed form or its enumeration) is the membership one
                    assert abs(total - reported) <= 1e-9, (name, j, c)
            if spec.has("multiplicity"):
                closed.add(name)
    assert closed == {n for n, s in SCHEME_SPECS.items() if s.has("multiplicity")}


def test_old_module_paths_resolve_to_the_moved_modules_with_a_warning():
    """0.3 moved the root modules into subpackages (lpspec.optimum -> lpspec.solvers.optimum, ...): the old path
    imports the very same module object, with a DeprecationWarning naming the new one, and importing the old
    paths ``lpspec.certify`` / ``lpspec.decode`` leaves the top-level functions of those names in place."""
    code = r"""
import importlib, sys, warnings
import lpspec
from lpspec._relocated import FUNCTION_NAMES, RELOCATED
bad = []
for old, new in RELOCATED.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = importlib.import_module(old)
    real = importlib.import_module(new)
    warned = any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught)
    if mod is not real or real.__spec__.name != new or (old.rsplit(".", 1)[1] not in FUNCTION_NAMES and not warned):
        bad.append(old)
from lpspec.lp import solve_lp  # a from-import of an old path
import lpspec.certify, lpspec.decode
if not (callable(lpspec.certify) and callable(lpspec.decode) and solve_lp is lpspec.solve_lp):
    bad.append("functions")
print(len(RELOCATED), bad)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    count, bad = out.stdout.split(" ", 1)
    assert int(count) >= 25 and bad.strip() == "[]", out.stdout


def test_the_root_holds_packages_and_a_few_cross_cutting_modules():
    """The architecture is visible from the root: subpackages named for what they are, and only the registry,
    the user strategies, the run engine and its checkpoints as loose modules."""
    loose = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_"))
    assert loose == ["checkpoint", "distributed", "registry", "strategies"], loose
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert packages == ["batched", "cli", "core", "experiments", "io", "schemes", "sequence", "solvers", "theory",
                        "verifier"], packages


#: The mathematical packages in layer order (docs/guide/layers.md): each imports only from itself and earlier ones.
PACKAGE_ORDER = ("core", "solvers", "verifier", "theory", "schemes", "sequence")
TOOLING = ("io", "experiments", "distributed", "checkpoint", "batched", "cli")


def package_violations(graph) -> list[str]:
    def pkg(module):
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else None

    found = []
    for module, deps in sorted(graph.items()):
        mine = pkg(module)
        if mine not in PACKAGE_ORDER:
            continue
        for dep in sorted(deps):
            theirs = pkg(dep)
            if theirs in PACKAGE_ORDER and PACKAGE_ORDER.index(theirs) > PACKAGE_ORDER.index(mine):
                found.append(f"{module} -> {dep}")
            elif theirs in TOOLING and mine != "sequence":
                found.append(f"{module} -> {dep}")
    return found


def test_the_package_order_check_can_fail():
    assert package_violations({"lpspec.core.instance": {"lpspec.solvers.lp"},
                               "lpspec.solvers.lp": {"lpspec.core.arith", "lpspec.io.export"},
                               "lpspec.sequence.blocks": {"lpspec.io.export", "lpspec.schemes.base"}}) == [
        "lpspec.core.instance -> lpspec.solvers.lp", "lpspec.solvers.lp -> lpspec.io.export"]


def test_packages_import_in_layer_order():
    found = package_violations(import_graph())
    assert not found, "imports against the package order of docs/guide/layers.md: " + "; ".join(found)


def test_python_dash_m_on_an_old_path_runs_the_moved_module():
    """``python -m lpspec.blocks`` (a 0.2 path) runs lpspec.sequence.blocks under its own name: its relative imports
    resolve (it used to fail with 'attempted relative import beyond top-level package')."""
    out = subprocess.run([sys.executable, "-m", "lpspec.blocks"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
