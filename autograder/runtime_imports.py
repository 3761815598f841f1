"""The third-party modules the grader needs at grading time, and a check that an environment has them.

    python -m autograder.runtime_imports [SOURCE]     # exit 1, naming each missing module and who imports it

``setup.sh`` runs it in the Gradescope venv, so that a module missing from ``autograder/gradescope/requirements.txt``
fails the upload instead of every student's grading (a trusted reference run that cannot import ``tqdm`` cost every
student rows 6.1-6.3 once). ``tests/test_gradescope_requirements.py`` checks the same list against the pins.

What counts, read from the source (``ast``, nothing is imported):

* every import anywhere in the grading package (``autograder/grading``) and the entry modules the Gradescope run
  goes through: the grader, its harness and its trusted reference processes;
* the module-level imports of the kit's Python files: the reference kit runs in the grader's trusted processes and
  the given student files in the sandbox, both with the venv's interpreter. An import inside a function (a training
  script's matplotlib for its plot) runs only when that function does, which grading never asks for;
* every import in the code cells of the switched-on parts' notebooks: the grader executes the students' notebooks
  (IPython magics and shell lines are left out).
"""
from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Set

ENTRY_MODULES = ("autograder/__init__.py", "autograder/__main__.py", "autograder/cli.py", "autograder/paths.py",
                 "autograder/eval_data.py")
GRADING_PACKAGE = "autograder/grading"


def _names(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        yield node.module


def _module_level(tree: ast.AST) -> Iterator[ast.AST]:
    """The nodes that run when the module is imported: everything but function bodies."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node)
                     if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))


def _imports(path: Path, module_level_only: bool) -> Set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes = _module_level(tree) if module_level_only else ast.walk(tree)
    return {name.split(".")[0] for node in nodes for name in _names(node)}


def _kit_python_files(source: Path) -> List[Path]:
    from autograder import paths
    files = []
    for entry in paths.kit_entries(source):
        path = source / entry
        files += [path] if path.suffix == ".py" else sorted(path.rglob("*.py")) if path.is_dir() else []
    return files


def _notebook_imports(path: Path) -> Set[str]:
    """The top-level modules a notebook's code cells import (read as JSON; cells that do not parse are skipped)."""
    import json
    names: Set[str] = set()
    for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        text = "".join(cell.get("source", []))
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        names |= {name.split(".")[0] for node in ast.walk(tree) for name in _names(node)}
    return names


def _notebooks(source: Path) -> List[Path]:
    from autograder import parts
    return [source / nb.name for part in parts.enabled() for nb in part.notebooks]


def needed(source: Path) -> Dict[str, List[str]]:
    """Third-party top-level module -> the files (relative to ``source``) that import it."""
    grader = [source / name for name in ENTRY_MODULES] + sorted((source / GRADING_PACKAGE).rglob("*.py"))
    kit = _kit_python_files(source)
    notebooks = [path for path in _notebooks(source) if path.is_file()]
    # Local modules: the source's top-level names and every Python file's stem (the kit's scripts import their
    # folder's files flat: `from layers import fc_forward`).
    local = {p.name for p in source.iterdir()} | {p.stem for p in grader + kit}
    found: Dict[str, List[str]] = {}
    for files, module_level_only in ((grader, False), (kit, True)):
        for path in files:
            if not path.is_file():
                continue
            for name in sorted(_imports(path, module_level_only)):
                if name in sys.stdlib_module_names or name in local or name == "__future__":
                    continue
                found.setdefault(name, []).append(path.relative_to(source).as_posix())
    if notebooks:  # not imported by name: the kernel nbclient starts for each notebook is ipykernel's
        found.setdefault("ipykernel", []).append("autograder/grading/harness/notebook_exec.py")
    for path in notebooks:
        for name in sorted(_notebook_imports(path)):
            if name not in sys.stdlib_module_names and name not in local and name != "__future__":
                found.setdefault(name, []).append(path.relative_to(source).as_posix())
    return dict(sorted(found.items()))


def missing(source: Path) -> Dict[str, List[str]]:
    """The needed modules this interpreter cannot find, with their importers."""
    return {name: files for name, files in needed(source).items() if importlib.util.find_spec(name) is None}


def main(argv: List[str]) -> int:
    source = Path(argv[0] if argv else ".").resolve()
    absent = missing(source)
    for name, files in absent.items():
        print(f"the autograder's environment lacks the module {name!r}, imported by {', '.join(files[:4])}"
              f"{' ...' if len(files) > 4 else ''}: pin its package in autograder/gradescope/requirements.txt",
              file=sys.stderr)
    if absent:
        return 1
    print(f"imports ok: {len(needed(source))} third-party modules ({sys.executable})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
