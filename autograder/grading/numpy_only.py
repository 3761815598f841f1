"""The numpy-only rule for a part's files: no deep-learning framework, however it is imported.

Three layers, each a message that names the file: statically (an ``import`` anywhere in a handed-in file, or in a
file it imports), at import (the first call of the sandbox batch imports the module and reports the frameworks then
loaded) and after every call (the harness watches the framework modules: a name built at run time inside a function
still shows). A part's checks zero the file's rows when the rule is broken.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

FRAMEWORKS = ("torch", "tensorflow", "jax", "keras", "cupy")


@dataclass(frozen=True)
class Rule:
    who: str  # what must use numpy only, as the messages say it ("Section 1": "Section 1 must use numpy only")
    forbidden: Tuple[str, ...] = FRAMEWORKS

    def broken(self, detail: str) -> str:
        return f"{detail}: {self.who} must use numpy only"


def forbidden_imports(path: Path, rule: Rule) -> List[str]:
    """The frameworks a file imports statically; [] when none (or when it does not parse or exist: the sandbox
    reports those problems itself)."""
    from autograder.grading.student_code import static_imports
    if not Path(path).is_file():
        return []
    try:
        names = static_imports(path)
    except (SyntaxError, ValueError):
        return []
    return sorted(set(names) & set(rule.forbidden))


def import_message(rule: Rule, submission_dir: Optional[Path], filename: str, frameworks: Sequence[str]) -> str:
    """Name the submitted file that imports a framework when the static check can see one (e.g. model.py imports
    helper.py, which imports torch); otherwise the import was hidden (a built name) in this file or below it."""
    others = [] if submission_dir is None else sorted(
        p.name for p in Path(submission_dir).glob("*.py")
        if p.name != filename and set(forbidden_imports(p, rule)) & set(frameworks))
    if others:
        return rule.broken(f"{filename} imports {', '.join(others)}, which imports {', '.join(frameworks)}")
    return rule.broken(f"{filename} imports {', '.join(frameworks)}")


def problem(rule: Rule, submission_dir: Path, filename: str, loaded: Any = None) -> Optional[str]:
    """The message that zeroes a file's rows, or None when it keeps the rule.

    Args:
        submission_dir: the submission folder (the file is checked statically there).
        filename: the handed-in file's name.
        loaded: optional Outcome of a harness call that imported the file first in its batch and returned the
            frameworks then loaded (``*_procedures.loaded_frameworks``): catches imports the static check cannot see.
    """
    static = forbidden_imports(Path(submission_dir) / filename, rule)
    if static:
        return rule.broken(f"{filename} imports {', '.join(static)}")
    if loaded is not None and loaded.status == "ok" and isinstance(loaded.value, (list, tuple)) and loaded.value:
        return import_message(rule, submission_dir, filename, [str(v) for v in loaded.value])
    return None


def loaded_text(call: Any, loaded: Sequence[str]) -> str:
    """'relu_backward loaded torch' / 'your code loaded torch while the check forward_then_backward ran'."""
    names = ", ".join(loaded)
    if call.procedure == "call":
        return f"{call.func} loaded {names}"
    if call.procedure.endswith(".loaded_frameworks"):  # the batch's first call: only the import has run
        return f"importing {call.module}.py loaded {names}"
    return f"your code loaded {names} while the check {call.procedure.rpartition('.')[2]} ran"


def mark_loaded(rule: Rule, calls: list, outcomes: dict) -> dict:
    """The first call by whose end a framework was loaded gets status "error" saying so (its value is not used)."""
    from autograder.grading.student_code import Outcome
    for call in calls:
        outcome = outcomes[call.id]
        if outcome.loaded:
            outcomes[call.id] = Outcome("error", None, rule.broken(loaded_text(call, outcome.loaded)),
                                        outcome.seconds, outcome.loaded)
            break
    return outcomes


def loaded_problem(rule: Rule, filename: str, calls: list, outcomes: dict,
                   submission_dir: Optional[Path] = None) -> Optional[str]:
    """The file-wide message when a call of the batch loaded a framework, else None."""
    for call in calls:
        outcome = outcomes.get(call.id)
        if outcome is not None and outcome.loaded:
            if call.procedure.endswith(".loaded_frameworks"):
                return import_message(rule, submission_dir, filename, outcome.loaded)
            return rule.broken(f"{filename}: {loaded_text(call, outcome.loaded)} (imported by a built name or "
                               "inside a function)")
    return None
