"""lpspec.core.arith: the one helper for exact (Fraction) and float64 arithmetic. Expected values come from exact
rational computation with the standard library, never from the helper itself."""

from __future__ import annotations

import ast
import math
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from lpspec import make_instance
from lpspec.core.arith import EXACT, FLOAT, arith_of, common_arith, is_exact


def test_instance_arith_follows_the_input_kind():
    assert make_instance(target=[F(1, 2), F(1, 2)], drafts=[F(1, 3), F(2, 3)], k=2).arith is EXACT
    assert make_instance(target=[0.5, 0.5], drafts=[0.25, 0.75], k=2).arith is FLOAT
    assert arith_of(np.array([0.5])) is FLOAT and arith_of(F(1, 2)) is EXACT and arith_of(0.5) is FLOAT


def test_zeros_array_units_and_dtype():
    z = EXACT.zeros(3)
    assert z.dtype == object and all(type(v) is F and v == 0 for v in z)
    assert FLOAT.zeros(3).dtype == np.float64 and not FLOAT.zeros(3).any()
    assert EXACT.zeros(0).size == 0 and FLOAT.zeros(0).size == 0
    assert type(EXACT.one) is F and type(FLOAT.one) is float
    assert EXACT.array([F(1, 3)]).dtype == object and FLOAT.array([1]).dtype == np.float64


def test_sum_is_exact_or_correctly_rounded():
    vals = [F(1, 3), F(1, 6), F(1, 2)]
    assert EXACT.sum(vals) == 1 and type(EXACT.sum(vals)) is F
    assert EXACT.sum([]) == 0 and FLOAT.sum([]) == 0.0
    floats = [1e16, 1.0, -1e16, 1.0]  # naive left-to-right summation gives 1.0 (or 0.0); the true sum is 2
    assert FLOAT.sum(floats) == float(sum(F(v) for v in floats)) == 2.0
    assert FLOAT.sum(np.array([0.1] * 10)) == 1.0


@pytest.mark.parametrize("t,k", [(1e-20, 3), (1e-300, 2**40), (0.5, 7), (0.0, 5), (1.0, 4), (5e-324, 3)])
def test_one_minus_power_has_no_cancellation(t, k):
    """Float ``1 - (1 - t)^k`` for tiny ``t`` equals the correctly rounded rational value (to 4 ulps)."""
    got = float(FLOAT.one_minus_power(np.float64(t), k))
    if k <= 64:
        truth = float(1 - (1 - F(t)) ** k)
    else:  # 1 - (1 - t)^k = k t - C(k, 2) t^2 + ... ; the second term is below 1e-260 of the first here
        truth = float(k * F(t))
    assert got == pytest.approx(truth, rel=4 * 2.0**-52, abs=0)
    naive = 1 - (1 - t) ** k
    if 0 < t < 1e-17:
        assert naive == 0.0 != got  # the subtraction the helper avoids loses everything
    assert EXACT.one_minus_power(F(1, 3), 3) == 1 - F(2, 3) ** 3


def test_one_minus_power_elementwise():
    tails = np.array([0.0, 0.25, 1.0])
    assert FLOAT.one_minus_power(tails, 2).tolist() == pytest.approx([0.0, 0.4375, 1.0], rel=4 * 2.0**-52, abs=0)
    exact = EXACT.one_minus_power(np.array([F(0), F(1, 4), F(1)], dtype=object), 2)
    assert exact.tolist() == [0, F(7, 16), 1]


def test_bincount_matches_a_plain_loop():
    rng = np.random.default_rng(3)
    index = rng.integers(0, 5, size=40)
    weights = [F(int(a), int(b)) for a, b in zip(rng.integers(0, 9, 40), rng.integers(1, 9, 40))]
    truth = [F(0)] * 6
    for i, w in zip(index.tolist(), weights):
        truth[i] += w
    assert EXACT.bincount(index, weights, 6).tolist() == truth
    floats = FLOAT.bincount(index, [float(w) for w in weights], 6)
    assert floats.dtype == np.float64
    assert np.allclose(floats, [float(v) for v in truth], rtol=1e-15, atol=0)


def test_argmin_ties_to_the_lowest_index_in_both():
    assert EXACT.argmin([F(1, 2), F(1, 3), F(1, 3)]) == 1
    assert FLOAT.argmin(np.array([0.5, 0.25, 0.25])) == 1
    assert EXACT.argmin(np.array([F(2), F(1)], dtype=object)) == 1


def test_scalar_and_tolerance():
    assert EXACT.scalar(F(1, 3)) == F(1, 3) and type(FLOAT.scalar(np.float64(0.25))) is float
    assert EXACT.tolerance(1e-9) == 0 and FLOAT.tolerance(1e-9) == 1e-9
    # comparisons of rationals against the exact tolerance 0.0 are exact, even below the float range
    assert (F(-1, 10**400) < EXACT.tolerance(1e-9)) and not (F(1, 10**400) <= -EXACT.tolerance(1e-9))
    assert math.isfinite(FLOAT.tolerance(1e-9))


def test_is_exact_arith_of_lists_and_common_arith():
    assert is_exact(F(1, 2)) and not is_exact(0.5) and not is_exact(1) and not is_exact(np.float64(0.5))
    # a list or tuple is exact when it holds a Fraction anywhere (nested lists and object arrays included)
    assert arith_of([0.25, F(3, 4)]) is EXACT and arith_of((0.25, 0.75)) is FLOAT and arith_of([]) is FLOAT
    assert arith_of([[0.5, 0.5], [F(1, 2), F(1, 2)]]) is EXACT
    assert arith_of([np.array([0.5]), np.array([F(1, 2)], dtype=object)]) is EXACT
    assert arith_of([np.array([0.5]), np.array([0.5])]) is FLOAT
    # common: exact only when every value is a rational
    assert common_arith(F(1, 2), F(1, 3)) is EXACT
    assert common_arith(F(1, 2), 0.5) is FLOAT and common_arith(0.5, 0.25) is FLOAT


def test_pick_convert_and_text():
    assert EXACT.pick(exact=14, floats=20) == 14 and FLOAT.pick(exact=14, floats=20) == 20
    # exact conversion of a float: its binary value, or with decimal=True the decimal that prints it
    assert EXACT.convert(0.1) == F(3602879701896397, 2**55) and EXACT.convert(0.1, decimal=True) == F(1, 10)
    assert type(EXACT.convert(3)) is F and EXACT.convert(3) == 3 and EXACT.convert(F(2, 7)) == F(2, 7)
    assert EXACT.convert(F(2, 7), decimal=True) == F(2, 7) and EXACT.convert(2, decimal=True) == F(2)
    assert type(FLOAT.convert(F(1, 4))) is float and FLOAT.convert(F(1, 3)) == 1 / 3
    assert EXACT.text(F(22, 7)) == "22/7" and FLOAT.text(22 / 7) == "3.14286" and FLOAT.text(0.5, ".3f") == "0.500"
    assert FLOAT.text(F(1, 3), ".15g") == "0.333333333333333"
    assert EXACT.fraction_text(F(8, 9)) == "8/9" and FLOAT.fraction_text(8 / 9) is None


def test_nonnegative_renormalize_rows_and_close():
    vals = np.array([-1e-18, 0.0, 0.3, -2.0])
    assert FLOAT.nonnegative(vals).tolist() == [max(v, 0.0) for v in vals.tolist()]
    exact = np.array([F(0), F(1, 3)], dtype=object)
    assert EXACT.nonnegative(exact) is exact  # rationals are not touched
    rng = np.random.default_rng(5)
    table = rng.random((4, 3)) - 0.05
    got = FLOAT.renormalize_rows(table)
    for row, out in zip(table.tolist(), got.tolist()):
        clipped = [max(v, 0.0) for v in row]
        total = math.fsum(clipped)
        assert out == pytest.approx([v / total for v in clipped], rel=1e-15, abs=0)
    rows = np.array([[F(1, 3), F(2, 3)]], dtype=object)
    assert EXACT.renormalize_rows(rows) is rows
    assert FLOAT.close(1.0, 1.0 + 1e-12, 1e-9) and not FLOAT.close(1.0, 1.0 + 1e-6, 1e-9)
    assert EXACT.close(F(1, 3), F(1, 3), 1e-9) and not EXACT.close(F(1), F(1) + F(1, 10**30), 1e-9)


# ---------------------------------------------------------------------- the exact/float branches left outside Arith
# An exact-vs-float branch is, found by an ast scan of lpspec/ (lpspec/core/arith.py excluded):
#   * a call ``isinstance(v, Fraction)`` (or with Fraction in a tuple of types) or ``is_exact(v)``, anywhere;
#   * a comparison of a ``.dtype`` with ``object``, anywhere;
#   * the test of an ``if``/``while``/conditional expression/comprehension ``if`` that reads ``.exact`` (except a
#     verification report's verdict ``report.exact``) or a flag named in EXACT_FLAGS.
# Each test or statement counts once. Everything else goes through lpspec.core.arith (Arith methods, arith_of,
# common_arith). A new branch fails test_exact_float_branches_are_the_listed_ones: route it through Arith (add a
# small method there if the pattern repeats), or list it here with the reason it must stay.
EXACT_FLAGS = {"exact", "is_exact", "keep_exact", "exact_rows", "exact_arith"}

#: Not scanned: the helper itself, and modules edited in parallel by other work when this scan was written (both
#: the verifier package, the submodular search, the sequence level).
NOT_SCANNED = ("lpspec/core/arith.py", "lpspec/verifier/", "lpspec/solvers/submodular.py", "lpspec/sequence/")

#: (module file name without .py, function) -> (number of branches, why they stay). Keyed by the file name so that
#: moving a module into a package keeps its entry.
ALLOWED_BRANCHES = {
    ("instance", "Instance.arith"): (1, "the instance's arithmetic is decided here, once"),
    ("instance", "make_instance"): (
        3, "input validation: mixed Fractions and floats are refused; exact input has a smaller limit on K "
           "(one check for one draft with k, one for a list of drafts)"),
    ("instance", "_is_single_distribution"): (1, "a type test: is each entry a number (of any kind)"),
    ("instance", "_without_replacement_tuples"): (
        1, "two algorithms: floats carry masses as mantissa/exponent against underflow, rationals need not"),
    ("distributions", "is_exact_array"): (3, "the definition of exact input (Fractions and ints); a numeric numpy "
                                          "array never is (the fast path of exact_sum validation)"),
    ("distributions", "as_distribution"): (1, "validation of the entries of an object array"),
    ("base", "Scheme.arith"): (1, "a scheme's arithmetic follows its exact property"),
    ("base", "float_instance"): (1, "the conversion to floats itself"),
    ("importance", "SIR.beta"): (1, "only a float sum can overflow: rational fallback"),
    ("optimal", "OptimalScheme.__init__"): (
        2, "the solver: the rank verifier is float64; exact input gets the rational max-flow, floats the LP"),
    ("spectr", "spectr_rho"): (1, "only a rational bracket can be shortened to a simple rational"),
    ("decomposition", "CanonicalDecomposition.__post_init__"): (
        1, "exact only when the instance and the β weights both are rational"),
    ("decomposition", "two_step_from_beta"): (1, "validation: floats within 1e-9, rationals exactly"),
    ("certify", "certify_for"): (1, "the exact certificate refuses float input"),
    ("checks", "theorem_checks"): (1, "the cross-check: exact max-flow for rationals, the LP for floats"),
    ("lp", "LPResult.check"): (1, "an exact instance is also checked against its exact certificate"),
    ("lp", "_exact_minimum"): (1, "the exact max-flow cut is used for exact input only"),
    ("optimum", "_solve_submodular"): (1, "exact input: say the optimality is certified in float64"),
    ("theorems", "acceptance_one_for"): (
        2, "exact input never gets a verdict from a float solve (method and margin policy)"),
    ("verify", "VerificationReport.verdict"): (2, "the verdict flag exact (True/False/None), not arithmetic"),
    ("verify", "VerificationReport.__str__.fmt"): (1, "display: a rational shows itself and its decimal"),
    ("verify", "_checked_law"): (
        3, "validation of a user's callable: object entries one by one; rational rows are checked exactly"),
    ("verify", "verify_scheme_for"): (1, "one float row makes the enumerated sums float"),
    ("closed_forms", "ratio_order"): (1, "rational ratios sort directly; floats need the tie repair"),
    ("strategies", "distributions"): (1, "a test-data generator asked for rationals"),
    ("inputs", "_as_tensor"): (2, "the batched backend (torch, floats) refuses rationals"),
    ("inputs", "_contains_fraction"): (1, "the batched backend (torch, floats) refuses rationals"),
    ("export", "_json_safe"): (1, "serialisation dispatches on the type of each value"),
    ("export", "_plain"): (1, "serialisation dispatches on the type of each value"),
    ("instances", "_csv_instance.vec"): (1, "reading text: a '/' marks a fraction"),
    ("_common", "json_default"): (1, "serialisation dispatches on the type of each value"),
    ("_common", "instance_from_args"): (1, "--exact, or a fraction anywhere, reads every vector exactly"),
    ("solve", "_value"): (1, "display: a rational shows itself and its decimal"),
    ("solve", "to_json"): (1, "a scheme's declared exactness (a fact of the registry), not arithmetic"),
}


def _is_fraction_type(node) -> bool:
    elts = node.elts if isinstance(node, ast.Tuple) else [node]
    return any((isinstance(e, ast.Name) and e.id == "Fraction") or (isinstance(e, ast.Attribute) and e.attr == "Fraction")
               for e in elts)


def _marker(node, in_test: bool) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "isinstance" and len(node.args) == 2 and _is_fraction_type(node.args[1]):
            return True
        if node.func.id == "is_exact":
            return True
    if isinstance(node, ast.Compare):
        parts = [node.left, *node.comparators]
        if any(isinstance(p, ast.Attribute) and p.attr == "dtype" for p in parts) and any(
                isinstance(p, ast.Name) and p.id == "object" for p in parts):
            return True
    if in_test:
        if isinstance(node, ast.Attribute) and node.attr == "exact":
            return not (isinstance(node.value, ast.Name) and node.value.id == "report")
        if isinstance(node, ast.Name) and node.id in EXACT_FLAGS:
            return True
    return False


def exact_float_branches(source: str, rel: str = "<src>") -> dict[tuple[str, str], list[int]]:
    """``{(rel, function qualname): [line of each branch]}`` of one module's source (``rel``: its name)."""
    out: dict[tuple[str, str], list[int]] = {}
    tree = ast.parse(source)
    seen: set[int] = set()

    def visit(node, scope):
        tests = [node.test] if isinstance(node, (ast.If, ast.IfExp, ast.While)) else (
            list(node.ifs) if isinstance(node, ast.comprehension) else [])
        for t in tests:
            if id(t) not in seen and any(_marker(n, True) for n in ast.walk(t)):
                out.setdefault((rel, scope), []).append(t.lineno)
                seen.update(id(n) for n in ast.walk(t))
        if id(node) not in seen and _marker(node, False):
            out.setdefault((rel, scope), []).append(node.lineno)
            seen.update(id(n) for n in ast.walk(node))
        for child in ast.iter_child_nodes(node):
            name = scope
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = child.name if scope == "<module>" else f"{scope}.{child.name}"
            visit(child, name)

    visit(tree, "<module>")
    return out


def test_the_branch_scan_sees_each_kind_once():
    src = (
        "def f(x, inst, arr, exact, report):\n"
        "    if isinstance(x, Fraction) and isinstance(x, (int, Fraction)):\n"  # one test: one branch
        "        pass\n"
        "    kind = arr.dtype == object\n"  # a dtype test anywhere
        "    y = 1 if inst.exact else 2\n"
        "    z = [v for v in arr if exact]\n"
        "    while is_exact(x):\n"
        "        break\n"
        "    if report.exact or inst.n:\n"  # a verdict, not arithmetic
        "        pass\n"
        "    e = inst.exact\n"  # reading the flag is no branch
        "class C:\n"
        "    def g(self):\n"
        "        return self.arith.sum([1]) if self.instance.n else fractions.Fraction(1)\n"
    )
    got = exact_float_branches(src, "m.py")
    assert got == {("m.py", "f"): [2, 4, 5, 6, 7]}


def test_exact_float_branches_are_the_listed_ones():
    root = Path(__file__).resolve().parent.parent
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted((root / "lpspec").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if not rel.startswith(NOT_SCANNED):
            for (_, scope), lines in exact_float_branches(path.read_text(encoding="utf-8"), rel).items():
                found.setdefault((path.stem, scope), []).extend(f"{rel}:{line}" for line in lines)
    problems = []
    for key, where in sorted(found.items()):
        allowed = ALLOWED_BRANCHES.get(key, (0, ""))[0]
        if len(where) != allowed:
            problems.append(f"{', '.join(where)} in {key[1]}: {len(where)} exact/float branches, {allowed} listed")
    problems += [f"{key}: listed but no longer found; remove it from ALLOWED_BRANCHES"
                 for key in ALLOWED_BRANCHES if key not in found]
    assert not problems, ("route exact/float branches through lpspec.core.arith (or list a deliberate one in "
                          "ALLOWED_BRANCHES with its reason):\n" + "\n".join(problems))
    assert sum(n for n, _ in ALLOWED_BRANCHES.values()) <= 45  # a handful per module, not a second Arith
