"""The shape of the code: no import cycles, no grading module named like a test, no state that outlives a grading.

Grading two submissions in one process (``regrade``'s workers do) must give each the result it gets alone: a failing
submission then a perfect one, in one process, are both graded right, and nothing module-level in the grading
package changes between gradings.
"""
from __future__ import annotations

import ast
import copy
import importlib
import pkgutil
import shutil
from pathlib import Path

import numpy as np

from autograder import paths
from autograder.grading import rubric, runner

PACKAGE = paths.REPO / "autograder"


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(paths.REPO).with_suffix("").parts)
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def import_graph() -> dict:
    """Module -> the autograder modules it imports, at module level or inside a function."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def test_no_import_cycles():
    graph = import_graph()
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"
    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_no_grading_module_is_named_like_a_test():
    named = [p.relative_to(paths.REPO).as_posix() for p in PACKAGE.rglob("test_*.py")]
    assert named == [], named


def test_no_global_statement_in_the_grading_package():
    """No function rebinds a module-level name: a grading's state lives in its session."""
    found = []
    for path in sorted((PACKAGE / "grading").rglob("*.py")) + sorted((PACKAGE / "parts").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Global):
                found.append(f"{path.relative_to(paths.REPO)}:{node.lineno}")
    assert found == [], found


def _submission(folder: Path, *, bug: bool) -> Path:
    folder.mkdir(parents=True)
    layers = (paths.KIT / "neuralnet" / "layers.py").read_text()
    if bug:
        layers = layers.replace("grad_x = grad_out @ w.T", "grad_x = grad_out @ w", 1)
    (folder / "layers.py").write_text(layers)
    shutil.copyfile(paths.KIT / "neuralnet" / "two_layer_net.py", folder / "two_layer_net.py")
    return folder


def _module_state() -> dict:
    """Every module-level container of the grading package (and the parts), deep-copied."""
    state = {}
    for package_name in ("autograder.grading", "autograder.parts"):
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            if ".harness" in info.name:  # runs inside the sandbox, never in the grading process
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if isinstance(value, (dict, list, set)) and not name.startswith("__"):
                    try:
                        state[f"{info.name}.{name}"] = copy.deepcopy(value)
                    except TypeError:  # a lock or a module inside: compare its keys at least
                        state[f"{info.name}.{name}"] = sorted(map(repr, value))
    return state


def _scores(results: dict) -> dict:
    return {t["number"]: (t["score"], t["output"]) for t in results["tests"]}


def test_a_failing_then_a_perfect_submission_in_one_process(tmp_path, student_tree):
    modules = ["section1_layers", "section1_two_layer_net"]
    grade = lambda folder: runner.grade_folder(folder, modules=modules, given_dir=student_tree)  # noqa: E731
    perfect_alone = grade(_submission(tmp_path / "perfect0", bug=False))  # also warms the reference caches
    before = _module_state()
    failing = grade(_submission(tmp_path / "failing", bug=True))
    perfect = grade(_submission(tmp_path / "perfect", bug=False))
    after = _module_state()
    full = sum(rubric.RUBRIC[i].points for i in runner.items_of(runner.graded_module_names(modules)))
    assert perfect["score"] == full and _scores(perfect) == _scores(perfect_alone)
    rows = {t["number"]: t for t in failing["tests"]}
    fc_backward, backward = rows[rubric.RUBRIC["fc_backward"].number], rows[rubric.RUBRIC["two_layer_backward"].number]
    assert fc_backward["score"] < fc_backward["max_score"]
    assert "your fc_backward fails 2.2: fix that first" in backward["output"]
    changed = sorted(k for k in before if k in after and not _equal(before[k], after[k]))
    assert changed == [], f"module-level state changed by grading: {changed}"


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except ValueError:  # numpy arrays inside
        return repr(a) == repr(b) or all(np.array_equal(x, y) for x, y in zip(a, b))
