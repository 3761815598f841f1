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

# Knock-on failures. The graded functions each Section-1 row runs besides the code it grades (direct dependencies,
# rubric ids); always rows with lower numbers, which the runner grades first. A row that fails while a row it depends
# on (directly or not) failed too starts its feedback with the cause: "your fc_backward fails 2.2: fix that first".
# Whether the upstream row failed is what grading it on this submission gave (checks.row_passed), not a guess.
DEPENDS_ON = {
    "layers_edge_cases": ("fc_forward", "fc_backward", "relu_forward", "relu_backward", "softmax_loss"),
    "two_layer_forward": ("fc_forward", "relu_forward"),
    "two_layer_backward": ("two_layer_forward", "fc_backward", "relu_backward"),
    "training_step_own_model": ("two_layer_backward", "softmax_loss", "l2_regularization"),
}
# The student's function each upstream row grades, as the knock-on message names it.
FUNCTION_OF = {"fc_forward": "fc_forward", "fc_backward": "fc_backward", "relu_forward": "relu_forward",
               "relu_backward": "relu_backward", "softmax_loss": "softmax_loss",
               "l2_regularization": "l2_regularization", "two_layer_forward": "TwoLayerNet.forward",
               "two_layer_backward": "TwoLayerNet.backward",
               # the autograd rows (checks/test_autograd.py passes its upstream rows to finish() itself)
               "ag_arithmetic": "Tensor + - * /", "ag_matmul_pow": "Tensor @ and **",
               "ag_shapes": "Tensor sum/mean/reshape/transpose/indexing",
               "ag_functions": "Tensor exp/log/relu/sigmoid/tanh/log_softmax/cross_entropy"}

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
    return f"{where} expected {float(e[index]) + 0.0:.6g}, got {float(g[index]) + 0.0:.6g}".lstrip()


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


def _matches(expected: np.ndarray, got: np.ndarray, tol: float) -> bool:
    return expected.shape == got.shape and relative_error(expected, got) <= tol


def recognized_mistake(expected: Any, got: Any, batch: Optional[int] = None, tol: float = TOL_EXACT) -> Optional[str]:
    """The name of a recognizable mistake that turns ``expected`` into ``got``, or None.

    Tried in this order: the transpose (``got.T == expected``), the opposite sign (``got == -expected``), and, when
    ``batch`` (the batch size N) is given and above 1, a result off by exactly N (``got * N == expected``: averaged
    where the batch is summed; ``got == expected * N``: summed where it is averaged). Both values must be finite
    number arrays (or numbers); an all-zero expectation matches no mistake.
    """
    e = np.asarray(expected, dtype=np.float64)
    g, problem = _as_number_array(got)
    if problem or np.iscomplexobj(g):
        return None
    g = g.astype(np.float64)
    if e.size == 0 or not np.any(e) or not (np.all(np.isfinite(e)) and np.all(np.isfinite(g))):
        return None
    if g.ndim == 2 and e.ndim == 2 and not _matches(e, g, tol) and _matches(e, g.T, tol):
        return (f"it is the transpose of the expected {describe_shape(e)} result (check the order of the "
                "matrix product's factors and which of them is transposed)")
    if g.shape == e.shape and not np.allclose(e, 0.0) and _matches(e, -g, tol):
        return ("it has the opposite sign of the expected value" if e.ndim == 0 else
                "it has the opposite sign of the expected result (every entry negated)")
    if batch is not None and int(batch) > 1 and g.shape == e.shape:
        n = int(batch)
        if _matches(e, g * n, tol):
            return (f"it is the expected divided by the batch size N = {n}: you averaged over the batch; sum over "
                    "it instead")
        if _matches(e, g / n, tol):
            return (f"it is N = {n} (the batch size) times the expected: you summed over the batch; average over it "
                    "instead (divide by N)")
    return None


# How recognized_mistake's texts start (names_mistake finds them in a reason).
MISTAKE_PHRASES = ("it is the transpose of the expected", "it has the opposite sign", "it is the expected divided by",
                   "(the batch size) times the expected")


def names_mistake(reason: Optional[str]) -> bool:
    """Whether a compare_* reason ends with a recognized mistake (then a generic hint would only distract)."""
    return bool(reason) and any(phrase in reason for phrase in MISTAKE_PHRASES)


def compare_array(expected: Any, got: Any, tol: float = TOL_EXACT, batch: Optional[int] = None) -> Optional[str]:
    """None when ``got`` has ``expected``'s shape and matches within ``tol``; else the reason.

    Args:
        expected: float array (any shape) from the reference.
        got: what the student's code returned (anything).
        batch: the batch size N of the inputs, when a result off by exactly N is a recognizable mistake.
    The reason ends with the name of a recognizable mistake when one fits (see :func:`recognized_mistake`).
    """
    exp = np.asarray(expected, dtype=np.float64)
    arr, problem = _as_number_array(got)
    if problem:
        return problem
    if arr.shape != exp.shape:
        reason = f"shape {describe_shape(arr)} instead of {describe_shape(exp)}"
        mistake = recognized_mistake(exp, arr, batch, tol)
        return f"{reason}: {mistake}" if mistake else reason
    if np.iscomplexobj(arr):
        return "complex values returned"
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(exp)):
        bad = "nan" if np.any(np.isnan(arr)) else "inf"
        return f"contains {bad} (expected finite values)"
    err = relative_error(exp, arr)
    if not err <= tol:
        reason = f"max relative error {err:.1e} (tolerance {tol:.0e}), {worst_element(exp, arr)}"
        mistake = recognized_mistake(exp, arr, batch, tol)
        return f"{reason}: {mistake}" if mistake else reason
    return None


def compare_scalar(expected: float, got: Any, tol: float = TOL_EXACT, batch: Optional[int] = None) -> Optional[str]:
    """None when ``got`` is a single number matching ``expected``; a 1-element array is accepted too.

    ``batch``: the batch size N, when a value off by exactly N is a recognizable mistake (see recognized_mistake).
    """
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
        reason = f"{value:.6g} instead of {expected:.6g}: relative error {err:.1e} (tolerance {tol:.0e})"
        mistake = recognized_mistake(expected, value, batch, tol)
        return f"{reason}: {mistake.replace('expected result', 'expected value')}" if mistake else reason
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


def upstream_rows(item_id: str) -> List[str]:
    """Every row ``item_id`` depends on through DEPENDS_ON, directly or not (rubric ids, each once)."""
    seen: List[str] = []
    todo = list(DEPENDS_ON.get(item_id, ()))
    while todo:
        row = todo.pop(0)
        if row not in seen:
            seen.append(row)
            todo.extend(DEPENDS_ON.get(row, ()))
    return seen


def knock_on_causes(item_id: str, upstream: Optional[Sequence[str]] = None) -> List[str]:
    """One line per upstream row that failed on this submission and is itself not a knock-on of another failure.

    Args:
        item_id: the failing row.
        upstream: the direct dependencies to consider (default DEPENDS_ON[item_id]); e.g. only the functions whose
            sub-checks failed.
    Rows not graded in this run (say, only section1_training ran) are not known to have failed, so they are not named.
    """
    from autograder.grading import checks
    direct = DEPENDS_ON.get(item_id, ()) if upstream is None else tuple(upstream)
    closure: List[str] = []
    for row in direct:
        for r in [row] + upstream_rows(row):
            if r not in closure:
                closure.append(r)
    failed = [r for r in closure if checks.row_passed(r) is False]
    roots = [r for r in failed if not set(upstream_rows(r)) & set(failed)]
    roots.sort(key=lambda r: tuple(int(p) for p in rubric.RUBRIC[r].number.split(".")) if r in rubric.RUBRIC else ())
    lines = []
    for r in roots:
        number = rubric.RUBRIC[r].number if r in rubric.RUBRIC else r
        lines.append(f"your {FUNCTION_OF.get(r, r)} fails {number}: fix that first (this check runs it, so its "
                     "mistake shows here too).")
    return lines


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


def finish(case: Any, checks: "Checks", set_score: Any, item_id: str,
           upstream: Optional[Sequence[str]] = None) -> None:
    """Score a graded test from its sub-checks and report: partial credit through ``set_score``, and a failure with
    the report when anything is wrong (the report is printed when all is right).

    A failing row whose upstream rows (DEPENDS_ON; ``upstream`` narrows them) failed too names them first. Knock-on
    rows still charge their own points: each row grades what works end to end, and one fix restores them all.
    """
    points = rubric.RUBRIC[item_id].points
    fraction = checks.fraction
    if set_score is not None:
        set_score(round(points * fraction, 4))
    if fraction < 1.0 and not not_attempted_everywhere(checks):
        checks.causes = knock_on_causes(item_id, upstream)
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
    causes: List[str] = field(default_factory=list)  # knock-on lines shown first (see knock_on_causes)

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
        lines = list(self.causes)
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
