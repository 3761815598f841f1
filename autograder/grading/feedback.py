"""Comparisons of student results with the reference, and the student-facing messages about them.

One line per failed sub-check, e.g.::

    fc_backward: grad_w wrong for x (4, 5), w (5, 3): max relative error 3.2e-01 (tolerance 1e-07).
    fc_backward: not attempted (raises NotImplementedError).

:class:`Checks` collects a graded test's weighted sub-checks and turns them into a score and a report; the
``compare_*`` functions return ``None`` when a value is right and otherwise a short reason (no trailing period).
Nothing here runs student code: it only looks at plain data that came back from the sandbox.

Also the plumbing the four Section-1 graded modules share: the numpy-only rule (:func:`numpy_only_problem`), one
batched sandbox run per test class (:func:`run_section1_batch`) and scoring a test from its sub-checks (:func:`finish`).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from autograder.grading import rubric

# Tolerances on the max relative error (see relative_error).
TOL_EXACT = 1e-7  # analytic result vs the reference on the same inputs (float64 round-off only)
TOL_NUMERIC = 1e-6  # analytic gradient vs central differences of the student's own forward (h = 1e-5)


def describe_shape(arr: Any) -> str:
    """'(4, 5)' for an array, 'scalar' for a number."""
    shape = np.shape(arr)
    return "scalar" if shape == () else str(tuple(shape))


def inputs_text(**named: Any) -> str:
    """'x (4, 5), w (5, 3)': names with their shapes (numbers shown as values)."""
    parts = []
    for name, value in named.items():
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            parts.append(f"{name} = {value:.4g}")
        else:
            parts.append(f"{name} {describe_shape(value)}")
    return ", ".join(parts)


def _elementwise_error(e: np.ndarray, g: np.ndarray, min_floor: float) -> np.ndarray:
    floor = max(1e-4 * float(np.max(np.abs(e))), min_floor)
    return np.abs(e - g) / np.maximum(np.abs(e) + np.abs(g), floor)


def relative_error(expected: np.ndarray, got: np.ndarray, min_floor: float = 1e-8) -> float:
    """Max over elements of |e - g| / max(|e| + |g|, floor), floor = 1e-4 * max|e| (at least ``min_floor``).

    The floor keeps elements that are tiny compared with the rest of the array (round-off noise around 0) from
    dominating; elsewhere this is the usual symmetric relative error.
    """
    e = np.asarray(expected, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    if e.size == 0:
        return 0.0
    return float(np.max(_elementwise_error(e, g, min_floor)))


def worst_element(expected: np.ndarray, got: np.ndarray) -> str:
    """'at [2, 1] expected 0.4312, got 0.2156': the element with the largest relative error (same shapes)."""
    e = np.asarray(expected, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    index = np.unravel_index(int(np.argmax(_elementwise_error(e, g, 1e-8))), e.shape)
    where = f" at [{', '.join(str(int(i)) for i in index)}]" if e.ndim else ""
    return f"{where} expected {float(e[index]):.6g}, got {float(g[index]):.6g}".lstrip()


def _as_number_array(got: Any) -> Tuple[Optional[np.ndarray], Optional[str]]:
    if got is None:
        return None, "returned None"
    if isinstance(got, (str, bytes, dict)):
        return None, f"returned a {type(got).__name__}, not a number array"
    try:
        arr = np.asarray(got)
    except (ValueError, TypeError):
        return None, "returned something that is not a number array"
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        return None, f"returned values of dtype {arr.dtype}, not numbers"
    return arr, None


def compare_array(expected: Any, got: Any, tol: float = TOL_EXACT) -> Optional[str]:
    """None when ``got`` has ``expected``'s shape and matches within ``tol``; else the reason.

    Args:
        expected: float array (any shape) from the reference.
        got: what the student's code returned (anything).
    """
    exp = np.asarray(expected, dtype=np.float64)
    arr, problem = _as_number_array(got)
    if problem:
        return problem
    if arr.shape != exp.shape:
        return f"shape {describe_shape(arr)} instead of {describe_shape(exp)}"
    if np.iscomplexobj(arr):
        return "complex values returned"
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(exp)):
        bad = "nan" if np.any(np.isnan(arr)) else "inf"
        return f"contains {bad} (expected finite values)"
    err = relative_error(exp, arr)
    if not err <= tol:
        return f"max relative error {err:.1e} (tolerance {tol:.0e}), {worst_element(exp, arr)}"
    return None


def compare_scalar(expected: float, got: Any, tol: float = TOL_EXACT) -> Optional[str]:
    """None when ``got`` is a single number matching ``expected``; a 1-element array is accepted too."""
    arr, problem = _as_number_array(got)
    if problem:
        return problem
    if arr.size != 1:
        return f"an array of shape {describe_shape(arr)} instead of a single number"
    value = float(np.real(arr.reshape(-1)[0]))
    expected = float(expected) + 0.0  # + 0.0 turns -0.0 into 0.0 for the message
    if not np.isfinite(value):
        return f"the value is {value} (expected {expected:.6g})"
    # A loss near 0 (e.g. softmax on very confident scores) may differ by an epsilon a student adds inside the log:
    # absolute differences below ~1e-4 * tol are accepted for single numbers.
    err = relative_error(np.array([expected]), np.array([value]), min_floor=1e-4)
    if not err <= tol:
        return f"{value:.6g} instead of {expected:.6g}: relative error {err:.1e} (tolerance {tol:.0e})"
    return None


def unpack(value: Any, names: Sequence[str]) -> Tuple[Optional[list], Optional[str]]:
    """Split a returned tuple into ``len(names)`` items; (None, reason) when it is not such a tuple or list."""
    n = len(names)
    wanted = f"a tuple of {n} ({', '.join(names)})"
    if value is None:
        return None, f"returned None instead of {wanted}"
    if not isinstance(value, (tuple, list)):
        return None, f"returned a {type(value).__name__} instead of {wanted}"
    if len(value) != n:
        return None, f"returned a tuple of {len(value)} values instead of {wanted}"
    return list(value), None


def outcome_problem(outcome: Any, subject: str = "") -> Optional[str]:
    """None for an ``ok`` outcome; else what went wrong, phrased for the student (no grader traceback).

    A stub gives "not attempted (raises NotImplementedError)"; when the stub that raised is another function than
    ``subject`` (e.g. training_step calling an unfinished softmax_loss), its own text is kept so the student sees which.
    """
    status = outcome.status
    message = (outcome.message or "").strip()
    if status == "ok":
        return None
    if status == "not_implemented":
        inner = message.partition("NotImplementedError")[2].strip(" :)")
        if not inner or (subject and inner.split(":")[0].split(".")[-1] == subject.split(".")[-1]):
            return "not attempted (raises NotImplementedError)"
        return f"not attempted (raises NotImplementedError: {inner})"
    if status == "error":
        return f"raised {message}"
    if status == "timeout":
        return f"timed out: {message}"
    if status == "memory":
        return f"ran out of memory: {message}"
    if status == "crashed":
        return f"crashed: {message}"
    if status == "import_error":
        return message or "could not be imported"
    return message or status  # bad_output


def forbidden_imports(path: Path) -> List[str]:
    """Frameworks from rubric.FORBIDDEN_IN_SECTION1 that a Section-1 file imports (statically); [] when none.

    A file that does not parse or does not exist gives [] here: the sandbox reports those problems itself.
    """
    from autograder.grading.student_code import static_imports
    if not Path(path).is_file():
        return []
    try:
        names = static_imports(path)
    except (SyntaxError, ValueError):
        return []
    return sorted(set(names) & set(rubric.FORBIDDEN_IN_SECTION1))


def forbidden_message(filename: str, frameworks: Sequence[str]) -> str:
    return f"{filename} imports {', '.join(frameworks)}: Section 1 must use numpy only"


def report_problem(value: Any, keys: Sequence[str], names: Optional[Sequence[str]] = None, count: int = 0,
                   per_name: Sequence[str] = ()) -> Optional[str]:
    """None when a harness procedure's report has the form it sends; else why not, for the student.

    The harness runs in the student's process, which can change it: the grader never lets the report decide how
    many checks it makes. ``count`` parameters must be reported under distinct names, all among ``param_keys`` when
    that key is there, and equal to ``names`` when the grader knows them (the probe model's); every key in
    ``per_name`` must hold one entry per parameter.
    """
    def tampered(detail: str) -> str:
        return ("the checker's report is not in the form it sends (did your code change the checker running next "
                f"to it?): {detail}")[:400]
    if not isinstance(value, dict):
        return tampered(f"a {type(value).__name__} instead of a dict")
    missing = [k for k in keys if k not in value]
    if missing:
        return tampered(f"no {', '.join(missing)}")
    if count:
        got = value.get("names")
        if not isinstance(got, (list, tuple)) or len(got) != count or len({str(n) for n in got}) != count:
            return tampered(f"{count} distinct parameter names expected, got {got!r}")
        if names is not None and [str(n) for n in got] != list(names):
            return tampered(f"parameter names {list(names)} expected, got {got!r}")
        param_keys = value.get("param_keys")
        if param_keys is not None and (not isinstance(param_keys, (list, tuple)) or
                                       not {str(n) for n in got} <= {str(k) for k in param_keys}):
            return tampered(f"the names {got!r} are not all among parameters()' keys {param_keys!r}")
        for key in per_name:
            if not isinstance(value.get(key), (list, tuple)) or len(value[key]) != count:
                return tampered(f"{key}: {count} entries expected")
    return None


def numpy_only_problem(submission_dir: Path, filename: str, loaded: Any = None) -> Optional[str]:
    """The message that zeroes a Section-1 file's tests, or None when it uses numpy only.

    Args:
        submission_dir: the submission folder (the file is checked statically there).
        filename: e.g. "layers.py".
        loaded: optional Outcome of harness ``section1_procedures.loaded_frameworks`` (run first in the batch,
            right after importing the file): catches imports the static check cannot see.
    """
    static = forbidden_imports(Path(submission_dir) / filename)
    if static:
        return forbidden_message(filename, static)
    if loaded is not None and loaded.status == "ok" and isinstance(loaded.value, (list, tuple)) and loaded.value:
        return _import_message(submission_dir, filename, [str(v) for v in loaded.value])
    return None


def _import_message(submission_dir: Optional[Path], filename: str, frameworks: Sequence[str]) -> str:
    """Name the submitted file that imports a framework when the static check can see one (e.g. two_layer_net.py
    loads layers.py, which imports torch); otherwise the import was hidden (a built name) in this file or below it."""
    others = [] if submission_dir is None else sorted(
        p.name for p in Path(submission_dir).glob("*.py")
        if p.name != filename and set(forbidden_imports(p)) & set(frameworks))
    if others:
        return (f"{filename} imports {', '.join(others)}, which imports {', '.join(frameworks)}: Section 1 must "
                "use numpy only")
    return forbidden_message(filename, frameworks)


def finish(case: Any, checks: "Checks", set_score: Any, item_id: str) -> None:
    """Score a graded test from its sub-checks and report: partial credit through ``set_score``, and a failure with
    the report when anything is wrong (the report is printed when all is right)."""
    points = rubric.RUBRIC[item_id].points
    fraction = checks.fraction
    if set_score is not None:
        set_score(round(points * fraction, 4))
    report = checks.report()
    if fraction < 1.0:
        case.fail_with(report)
    print(report)


# Per-call limits for Section-1 checks: each call takes milliseconds, so a hang is cut short (the defaults in
# rubric.SANDBOX_LIMITS are sized for training-sized work).
SECTION1_CALL_LIMITS = {"call_cpu_seconds": 5, "call_wall_seconds": 10, "batch_wall_seconds": 90}


def run_section1_batch(case_cls: Any, filename: str, calls: list) -> Tuple[dict, Optional[str]]:
    """Run a graded test class's calls on the submission in one sandbox process, after the numpy-only check.

    ``calls[0]`` must be the harness's ``section1_procedures.loaded_frameworks`` call for ``filename``'s module (so
    it is the first import in the process). Returns (call id -> Outcome, the numpy-only problem or None); when the
    file imports a forbidden framework statically, nothing is run and the outcomes are {}.
    """
    ctx = case_cls.grading_context()
    problem = numpy_only_problem(ctx.submission_dir, filename)
    if problem:
        return {}, problem
    outcomes = run_section1_calls(case_cls, calls)
    return outcomes, (numpy_only_problem(ctx.submission_dir, filename, outcomes[calls[0].id])
                      or loaded_framework_problem(filename, calls, outcomes, ctx.submission_dir))


def run_section1_calls(case_cls: Any, calls: list) -> dict:
    """Run ``calls`` on the submission in one fresh sandbox process with the Section-1 limits; call id -> Outcome.

    The harness watches the Section-1 frameworks: the first call by whose end one was imported (a built name such as
    ``importlib.import_module("tor" + "ch")`` inside a function body included) gets status "error" saying so; see
    :func:`loaded_framework_problem` for the file-wide verdict.
    """
    from autograder.grading.student_code import Outcome, run_calls
    ws = case_cls.workspace()
    try:
        outcomes = run_calls(ws, calls, limits=SECTION1_CALL_LIMITS, watch=rubric.FORBIDDEN_IN_SECTION1)
    finally:
        ws.cleanup()
    for call in calls:
        outcome = outcomes[call.id]
        if outcome.loaded:
            outcomes[call.id] = Outcome("error", None, f"{_loaded_text(call, outcome.loaded)}: Section 1 must use "
                                        "numpy only", outcome.seconds, outcome.loaded)
            break
    return outcomes


def _loaded_text(call: Any, loaded: Sequence[str]) -> str:
    """'relu_backward loaded torch' / 'your code loaded torch while the check forward_then_backward ran'."""
    names = ", ".join(loaded)
    if call.procedure == "call":
        return f"{call.func} loaded {names}"
    if call.procedure.endswith(".loaded_frameworks"):  # the batch's first call: only the import has run
        return f"importing {call.module}.py loaded {names}"
    return f"your code loaded {names} while the check {call.procedure.rpartition('.')[2]} ran"


def loaded_framework_problem(filename: str, calls: list, outcomes: dict,
                             submission_dir: Optional[Path] = None) -> Optional[str]:
    """The numpy-only message for ``filename`` when a call of the batch loaded a Section-1 framework, else None."""
    for call in calls:
        outcome = outcomes.get(call.id)
        if outcome is not None and outcome.loaded:
            if call.procedure.endswith(".loaded_frameworks"):
                return _import_message(submission_dir, filename, outcome.loaded)
            return (f"{filename}: {_loaded_text(call, outcome.loaded)} (imported by a built name or inside a "
                    "function): Section 1 must use numpy only")
    return None


def stop_if_not_numpy_only(case: Any, problem: Optional[str], set_score: Any) -> None:
    """Fail the test with 0 points when its file is not numpy-only."""
    if problem:
        if set_score is not None:
            set_score(0.0)
        case.fail_with(problem)


@dataclass
class _Item:
    label: str
    weight: float
    problem: Optional[str]


@dataclass
class Checks:
    """The weighted sub-checks of one graded test.

    ``add(label, weight, problem)`` records one sub-check (``problem`` None = right; otherwise the full
    student-facing line). ``fraction`` is the passed weight over the total weight.
    """
    subject: str  # e.g. "fc_backward": starts every message
    items: List[_Item] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def add(self, label: str, weight: float, problem: Optional[str]) -> bool:
        problem = problem or None  # "" and a falsy `a and b` result both mean "right"
        if problem is not None and not isinstance(problem, str):
            raise TypeError(f"a sub-check's problem must be a str or None, not {type(problem).__name__}")
        self.items.append(_Item(label, float(weight), problem))
        return problem is None

    def fail(self, label: str, weight: float, detail: str) -> None:
        """A failed sub-check; ``detail`` follows '<subject>: '."""
        self.add(label, weight, f"{self.subject}: {detail}.")

    def note(self, text: str) -> None:
        """An extra hint line shown after the failures."""
        self.notes.append(text)

    @property
    def fraction(self) -> float:
        total = sum(item.weight for item in self.items)
        if total <= 0:
            return 0.0
        return sum(item.weight for item in self.items if item.problem is None) / total

    def passed(self) -> List[str]:
        return [item.label for item in self.items if item.problem is None]

    def report(self) -> str:
        """The failure lines, then which sub-checks are right (so the student knows where to look)."""
        lines = []
        for item in self.items:
            if item.problem is not None and item.problem not in lines:
                lines.append(item.problem)
        right = self.passed()
        if lines and right:
            lines.append(f"  right: {', '.join(right)}.")
        if not lines:
            lines.append(f"{self.subject}: all checks passed ({', '.join(right)}).")
        if not not_attempted_everywhere(self):  # hints about a stub's details would only distract
            lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)


def not_attempted_everywhere(checks: Checks) -> bool:
    """Whether every failed sub-check is a stub (so the report can be a single 'not attempted' line)."""
    return bool(checks.items) and all(item.problem is not None and "not attempted" in item.problem
                                      for item in checks.items)
