"""The documentation: every ``docs/theory.md §N`` citation names a section that exists, nothing points outside
the repository, and the Sphinx site builds with warnings as errors.

The citation check reads every tracked text file (``git ls-files``; a plain walk of the tree when git is not
available) and every section heading ``## N. Title`` of docs/theory.md. A citation is ``docs/theory.md`` followed
by ``§N``, a range ``§N–§M`` / ``§N-§M``, or a list ``§N, §M`` (and ``§N and §M``); every ``N`` must be a
section number. The site build is the command of the README (``sphinx-build -W --keep-going -b html docs OUT``).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THEORY = ROOT / "docs" / "theory.md"
TEXT_SUFFIXES = {".py", ".md", ".json", ".toml", ".txt", ".rst", ".cfg", ".ini", ".yml", ".yaml", ".csv", ""}

# "docs/theory.md" then a run of section references: §3, §3–§5, §3-§5, "§3, §4 and §6", "§4 remark".
CITATION = re.compile(r"docs/theory\.md(?P<refs>(?:[\s,;]*(?:and\s+)?§\d+(?:\s*[–-]\s*§?\d+)?)+)")
SECTION_NUMBER = re.compile(r"§(\d+)(?:\s*[–-]\s*§?(\d+))?")
HEADING = re.compile(r"^## (\d+)\. \S", re.MULTILINE)


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60)
        names = [n for n in out.stdout.decode("utf-8").split("\0") if n]
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                 if p.is_file() and not any(part.startswith(".") or part in {"build", "_build", "__pycache__"}
                                            for part in p.relative_to(ROOT).parts)]
    return [ROOT / n for n in names
            if (ROOT / n).is_file() and not (ROOT / n).is_symlink() and (ROOT / n).suffix in TEXT_SUFFIXES]


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def theory_sections() -> set[int]:
    return {int(m.group(1)) for m in HEADING.finditer(THEORY.read_text(encoding="utf-8"))}


def cited_sections(text: str) -> list[tuple[int, str]]:
    """``(section number, the citation as written)`` for every citation in ``text``; ranges are expanded."""
    found = []
    for m in CITATION.finditer(text):
        for ref in SECTION_NUMBER.finditer(m.group("refs")):
            lo = int(ref.group(1))
            hi = int(ref.group(2)) if ref.group(2) else lo
            found.extend((n, m.group(0).strip()) for n in range(lo, max(lo, hi) + 1))
    return found


# ------------------------------------------------------------------------------------------ the parser itself
@pytest.mark.parametrize("text, expected", [
    ("see docs/theory.md §3.", [3]),
    ("(docs/theory.md §4–§5): names", [4, 5]),
    ("docs/theory.md §2-§3; Khisti", [2, 3]),
    ("docs/theory.md §3, §4, §6).", [3, 4, 6]),
    ("docs/theory.md §1 and §6", [1, 6]),
    ("docs/theory.md §4 remark and §9 later", [4]),  # only the run right after the file name
    ("docs/theory.md: definitions", []),
])
def test_citation_parser(text, expected):
    assert [n for n, _ in cited_sections(text)] == expected


def test_theory_has_the_numbered_sections_code_relies_on():
    assert theory_sections() >= set(range(1, 12)), sorted(theory_sections())


def test_parser_catches_a_missing_section():
    missing = max(theory_sections()) + 1
    bad = [n for n, _ in cited_sections(f"as in docs/theory.md §{missing}") if n not in theory_sections()]
    assert bad == [missing]


# --------------------------------------------------------------------------------------- the repository
def test_every_theory_citation_names_an_existing_section():
    sections = theory_sections()
    files = tracked_files()
    assert any(f.name == "theory.md" for f in files), "docs/theory.md is not tracked"
    bad, count = [], 0
    for path in files:
        text = read_text(path)
        if text is None:
            continue
        for number, citation in cited_sections(text):
            count += 1
            if number not in sections:
                line = text[:text.index(citation)].count("\n") + 1
                bad.append(f"{path.relative_to(ROOT)}:{line}: {citation!r} (no section {number})")
    assert count > 50, f"only {count} citations found: is the citation pattern still right?"
    assert not bad, "citations of missing sections of docs/theory.md:\n" + "\n".join(bad)


def test_nothing_points_outside_the_repository():
    """The theory lives in docs/theory.md: no file names the old theory file outside the repository, or a path up into
    the shared folder beside it (the needles are spelled in two halves so that this file does not match itself)."""
    needles = ("MATH" + ".md", "../" + "shared")  # split, so that this file does not match itself
    bad = []
    for path in tracked_files():
        text = read_text(path)
        if text is None:
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if any(n in line for n in needles):
                bad.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not bad, "references outside the repository:\n" + "\n".join(bad)


# ------------------------------------------------------------------------------------------- the site
def test_sphinx_site_builds_without_warnings(tmp_path):
    """``sphinx-build -W --keep-going -b html docs OUT`` (API reference, theory, formats, guides, notebooks)."""
    pytest.importorskip("sphinx", reason="the docs extra is not installed (pip install -e '.[docs]')")
    pytest.importorskip("myst_nb", reason="the docs extra is not installed (pip install -e '.[docs]')")
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(ROOT / "docs"), str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    log = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines() if "IPKernelApp" not in line)
    assert proc.returncode == 0, f"sphinx-build failed:\n{log[-6000:]}"
    for page in ("index", "theory", "proofs", "formats", "api/lpspec", "api/batched", "api/io", "api/experiments",
                 "notebooks/01_theorems_tour", "guide/install"):
        assert (out / f"{page}.html").is_file(), page
    theory = (out / "theory.html").read_text(encoding="utf-8")
    for n in range(1, 12):
        assert re.search(rf'id="{n}-[a-z]', theory), f"theory.html has no anchor for §{n}"
    import lpspec
    import lpspec.batched
    import lpspec.experiments
    import lpspec.io

    for module, page in ((lpspec, "lpspec"), (lpspec.batched, "batched"), (lpspec.io, "io"),
                         (lpspec.experiments, "experiments")):
        api = (out / "api" / f"{page}.html").read_text(encoding="utf-8")
        top = (out / "api" / "lpspec.html").read_text(encoding="utf-8")  # a class is documented once, at the top
        missing = [name for name in module.__all__ if f'id="{module.__name__}.{name}"' not in api
                   and not (module is not lpspec and isinstance(getattr(module, name), type)
                            and getattr(lpspec, name, None) is getattr(module, name) and f'id="lpspec.{name}"' in top)]
        assert not missing, f"public names of {module.__name__} without an API entry: {missing}"
    notebook = (out / "notebooks" / "01_theorems_tour.html").read_text(encoding="utf-8")
    if os.environ.get("LPSPEC_DOCS_EXECUTE", "force") != "off":  # executed: the notebook's last line is shown
        assert "notebook 01 OK" in notebook
    shutil.rmtree(out, ignore_errors=True)


# ------------------------------------------------------------------------------------ install honesty
def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+ (tomllib)")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _names(requirements) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_extras_match_what_the_docs_promise():
    """The core stays small; the extras named in docs/guide/install.md hold what their commands need."""
    project = _pyproject()["project"]
    core, extras = _names(project["dependencies"]), project["optional-dependencies"]
    assert not core & {"torch", "transformers", "matplotlib", "pandas", "sympy", "sphinx"}, core
    assert {"jupytext", "nbconvert", "ipykernel"} <= _names(extras["notebooks"])  # jupytext --execute
    assert {"sphinx", "myst-parser", "myst-nb"} <= _names(extras["docs"])
    assert "sympy" in _names(extras["proofs"])
    (all_extra,) = extras["all"]
    included = set(all_extra.split("[", 1)[1].rstrip("]").split(","))
    assert included == set(extras) - {"all"}, included
    guide = (ROOT / "docs" / "guide" / "install.md").read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in guide for name in extras), "docs/guide/install.md does not list every extra"


def test_sympy_is_needed_only_by_proofs():
    """sympy moved from the core dependencies to the ``proofs`` extra: nothing outside proofs/ may import it."""
    bad = []
    for path in tracked_files():
        rel = path.relative_to(ROOT)
        if path.suffix != ".py" or rel.parts[0] == "proofs":
            continue
        text = read_text(path) or ""
        if re.search(r"^\s*(import sympy|from sympy\b)", text, re.MULTILINE):
            bad.append(str(rel))
    assert not bad, f"sympy imported outside proofs/: {bad}"


# ---------------------------------------------------------------------------------- every fenced code block
# Every fenced block of README.md and docs/**/*.md is accounted for here:
#
# * ```python blocks run as pasted, each alone in a fresh namespace with ``__name__ == "__main__"``, in a sandbox
#   folder holding the files the examples name (my-sweep.toml, dists.safetensors, dists.npy, ...). A block
#   with an ``if __name__ == "__main__":`` guard (it starts Dask's embedded cluster, whose spawned workers import
#   the script) runs as a script, ``python block.py``. README.md's python blocks run in tests/test_readme.py,
#   which also checks what they print.
# * ```bash / ```console / ```text blocks: every ``lpspec ...`` command (a line, after a ``$ `` prompt in console
#   blocks, or a part of an ``&&`` chain; ``# comments`` dropped) runs in-process through ``lpspec.cli.main`` in
#   the sandbox and must exit 0. Set-up and build commands (pip, venv, pytest, sphinx-build, jupytext, dask
#   scheduler/worker) are not run here: .ci/run runs the install command itself (tests/test_readme.py checks
#   it is README's) and test_sphinx_site_builds_without_warnings runs the site build. Commands that start a Dask
#   cluster (--engine dask, --workers, --scheduler) run only with --runslow. Other lines of a text block are
#   displayed output; a bash block holds commands only.
# * A block preceded by the line ``<!-- fragment: why -->`` is not run (placeholders such as DIR, a cluster
#   address, several machines); ``<!-- slow -->`` runs it only with --runslow (marked ``slow``).
# * A block with another info string is not code: ```{directive} (MyST), or no info string (a formula or a
#   displayed output: checked to hold no ``lpspec`` command or Python import).
FENCE = re.compile(r"^(\s*)(`{3,})(.*)$")
SETUP_PROGRAMS = {"pip", "python3", "python", ".", "source", "pytest", "sphinx-build", "jupytext", "dask", "cd",
                  "OMP_NUM_THREADS=1", "CUDA_VISIBLE_DEVICES=i"}
DASK_FLAGS = ("--engine dask", "--workers", "--scheduler")


def fenced_blocks(path: Path) -> list[dict]:
    """``{path, line, info, body, marker}`` for every fenced block; ``marker`` is the HTML comment line
    right above the block (``fragment`` / ``slow``) or ``""``."""
    lines = path.read_text(encoding="utf-8").split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group(2), m.group(3).strip()
        j = i + 1
        while j < len(lines) and not re.match(rf"^\s*{fence}\s*$", lines[j]):
            j += 1
        above = lines[i - 1].strip() if i else ""
        marker = re.match(r"<!--\s*(fragment|slow)\b", above)
        out.append({"path": path, "line": i + 1, "info": info.split()[0] if info else "",
                    "body": "\n".join(lines[i + 1 : j]), "marker": marker.group(1) if marker else ""})
        i = j + 1
    return out


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def cli_commands(block: dict) -> list[str]:
    """The ``lpspec`` commands of a shell/console/text block."""
    commands = []
    for raw in block["body"].splitlines():
        line = raw.strip()
        if block["info"] == "console":
            if not line.startswith("$ "):
                continue  # output
            line = line[2:]
        line = re.sub(r"\s+#.*$", "", line) if not line.startswith("#") else ""
        for part in line.split("&&"):
            part = part.strip()
            if part.startswith("lpspec ") or part.startswith("python -m lpspec "):
                commands.append(part)
            elif part and block["info"] != "text" and part.split()[0] not in SETUP_PROGRAMS:
                raise AssertionError(f"{block['path'].name}:{block['line']}: {part!r} is neither an lpspec command "
                                     "nor a known set-up command; mark the block <!-- fragment: why -->")
    return commands


def _items():
    items = []
    for path in doc_files():
        rel = path.relative_to(ROOT)
        for block in fenced_blocks(path):
            info, marks = block["info"], [pytest.mark.slow] if block["marker"] == "slow" else []
            where = f"{rel}:{block['line']}"
            if block["marker"] == "fragment" or info.startswith("{"):
                continue
            if info == "python":
                if path.name == "README.md" and path.parent == ROOT:
                    continue  # tests/test_readme.py
                items.append(pytest.param("python", block, id=where, marks=marks))
            elif info in ("bash", "console", "text", "sh", "shell"):
                try:
                    commands = cli_commands(block)
                except AssertionError as exc:
                    items.append(pytest.param("bad", {**block, "why": str(exc)}, id=where))
                    continue
                for command in commands:
                    slow = marks or ([pytest.mark.slow] if any(f in command for f in DASK_FLAGS) else [])
                    items.append(pytest.param("cli", {**block, "command": command}, id=f"{where}:{command[:50]}",
                                              marks=slow))
            elif info == "":
                if re.search(r"^\s*(\$ )?(lpspec |import |from \w+ import )", block["body"], re.M):
                    items.append(pytest.param("bad", {**block, "why": "code in a block without an info string"},
                                              id=where))
            else:
                items.append(pytest.param("bad", {**block, "why": f"unknown info string {info!r}"}, id=where))
    return items


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A folder with the files the examples name: my-sweep.toml/json, dists.safetensors, dists.npy, d.*"""
    root = tmp_path_factory.mktemp("docs-sandbox")
    spec = (ROOT / "lpspec" / "examples" / "sweep-small.json").read_text(encoding="utf-8")
    (root / "my-sweep.json").write_text(spec, encoding="utf-8")
    import json

    def toml_value(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(toml_value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
        return repr(v)

    data = json.loads(spec)
    (root / "my-sweep.toml").write_text("\n".join(f"{k} = {toml_value(v)}" for k, v in data.items()) + "\n",
                                        encoding="utf-8")
    torch = pytest.importorskip("torch")
    from lpspec.batched.io import save_distributions

    g = torch.Generator().manual_seed(0)
    target = torch.softmax(torch.randn(12, 40, generator=g, dtype=torch.float64), dim=1)
    drafts = torch.softmax(0.5 * torch.randn(12, 40, generator=g, dtype=torch.float64), dim=1)
    for name in ("dists.safetensors", "d.safetensors", "dists.npy"):
        save_distributions(root / name, target=target, drafts=drafts)
    return root


@pytest.mark.parametrize("kind, block", _items())
def test_doc_code_block_runs(kind, block, sandbox, monkeypatch, capsys):
    monkeypatch.chdir(sandbox)
    monkeypatch.setenv("LPSPEC_PROGRESS", "0")
    where = f"{block['path'].relative_to(ROOT)}:{block['line']}"
    assert kind != "bad", f"{where}: {block.get('why')}"
    if kind == "cli":
        import shlex

        from lpspec.cli import main

        argv = shlex.split(block["command"])
        argv = argv[3:] if argv[:3] == ["python", "-m", "lpspec"] else argv[1:]
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 0, f"{where}: `{block['command']}` exited {rc}:\n{err[-2000:]}"
        return
    code = block["body"]
    if re.search(r"^if __name__ == .__main__.:", code, re.M):
        script = sandbox / f"block_{block['path'].stem}_{block['line']}.py"
        script.write_text(code, encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, str(script)], cwd=sandbox, capture_output=True, text=True,
                              timeout=600, env=env, check=False)
        assert proc.returncode == 0, f"{where} as a script:\n{proc.stderr[-3000:]}"
        return
    exec(compile(code, where, "exec"), {"__name__": "__main__"})


def test_the_block_rules_see_every_kind_of_block():
    """The collector is not vacuous: python blocks, CLI commands, slow and fragment markers are all found."""
    items = _items()
    kinds = {p.values[0] for p in items}
    assert kinds == {"python", "cli"}
    assert sum(1 for p in items if p.values[0] == "python") >= 8
    assert sum(1 for p in items if p.values[0] == "cli") >= 10
    blocks = [b for f in doc_files() for b in fenced_blocks(f)]
    assert {b["marker"] for b in blocks} == {"", "slow", "fragment"}
    assert any(p.marks for p in items)
    text = "```bash\n$ not a prompt\n```"
    assert re.match(FENCE, text.splitlines()[0])
