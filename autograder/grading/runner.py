"""Run the graded tests on one submission folder and write a valid Gradescope results.json, whatever happens.

    results = grade_folder(submission_dir, out_path=Path("results/results.json"))
    results = grade_folder(submission_dir, modules=["section1_layers"])  # only some graded test modules

Built on gradescope-utils' ``JSONTestRunner``, with the gaps closed:

* a test whose subTests fail, that is skipped, or whose ``setUpClass``/``setUpModule`` (or the module import) fails
  still gets its row: 0 of its points, with the reason;
* every rubric item of the graded modules appears exactly once, with the rubric's name, number, points and
  visibility, whatever the decorators said; scores are clamped to [0, max]; rows are sorted by number;
* student-facing output is the test's own message, never a traceback into the grader (tracebacks of grader bugs go
  to this process's stderr, which Gradescope shows only to instructors);
* ``execution_time`` is a number, and the result is validated against ``results_schema.json`` before it is written;
* if grading itself crashes, a valid results.json with score 0 and a message for the instructor is written instead.
"""
from __future__ import annotations

import importlib
import io
import json
import math
import os
import pkgutil
import sys
import tempfile
import time
import traceback
import unittest
from unittest import result as unittest_result
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import jsonschema
from gradescope_utils.autograder_utils.json_test_runner import JSONTestResult, JSONTestRunner

from autograder import paths
from autograder.grading import faults, handed_in, rubric
from autograder.grading.session import Session

SCHEMA_PATH = Path(__file__).resolve().parent / "results_schema.json"
GRADED_PACKAGE = "autograder.grading.checks"
MAX_TEST_OUTPUT_CHARS = 8000
GRADER_FAILED = ("The autograder itself failed while grading this submission; this is not your fault. "
                 "Your instructor has the details; please let them know.")
# The grader's own machinery failed (faults.AutograderFault: the sandbox, a reference run, a missing module or file):
# nothing about the submission is known. Never a score.
AUTOGRADER_FAULT = ("autograder fault: the grading machine could not run its own checks, so this submission was not "
                    "graded; this is not your fault, and your instructor must fix the autograder and regrade.")


def number_key(number: str):
    """Sort key for test numbers: "2.10" after "2.9"."""
    return tuple(int(part) if part.isdigit() else math.inf for part in str(number).split("."))


def _log(message: str) -> None:
    """Instructor-facing log: this process's real stderr (hidden from students on Gradescope). Not sys.stderr: while
    a test runs, the runner buffers that into the student-facing output."""
    stream = sys.__stderr__ or sys.stderr
    print(message, file=stream, flush=True)


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def validate(results: dict) -> None:
    """Raise jsonschema.ValidationError when ``results`` is not a valid results.json."""
    jsonschema.validate(results, load_schema(), cls=jsonschema.Draft202012Validator)


def _environment_fault(session: Session, exc: ImportError) -> None:
    """A module the grader imports is missing from its environment: the autograder image is broken (no score)."""
    session.record_fault(f"the autograder's environment cannot import what the grader needs: {type(exc).__name__}: "
                         f"{exc} (see autograder/gradescope/requirements.txt)")


def _test_function(test):
    return getattr(test, getattr(test, "_testMethodName", ""), None)


class _GradedResult(JSONTestResult):
    """JSONTestResult that also records rubric ids, subTest failures, skips and class/module-level errors."""

    session: Session  # set by _Runner

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recorded = set()  # ids of tests that got a row
        self.subtest_messages: Dict[str, List[str]] = {}
        self.setup_errors: List[tuple] = []  # (description, message) of setUpClass/setUpModule failures

    def getScore(self, test):
        return getattr(test, "_score", None)  # GradedTestCase.set_score: on the test, never on the shared function

    def buildResult(self, test, err=None):
        row = super().buildResult(test, err)
        func = _test_function(test)
        row["_id"] = getattr(func, "__rubric_id__", None)
        row["_test"] = test.id()
        return row

    def _message(self, test, err) -> str:
        exc_type, exc, tb = err
        if issubclass(exc_type, AssertionError) or isinstance(exc, unittest.SkipTest):
            return str(exc)
        if isinstance(exc, faults.AutograderFault):
            self.session.record_fault(str(exc))
            return f"not graded: autograder fault: {exc}"
        # Not a check failing but the check's own code breaking: a grader bug (or an unforeseen submission).
        _log(f"grader error in {getattr(test, 'id', lambda: test)()}:\n" + "".join(traceback.format_exception(*err)))
        if issubclass(exc_type, ImportError):  # student code is never imported here: the environment lacks it
            _environment_fault(self.session, exc)
        return (f"This check could not be completed ({exc_type.__name__} in the grader); "
                "your instructor has the details.")

    def processResult(self, test, err=None):
        if not hasattr(test, "_testMethodName"):
            return
        self.recorded.add(test.id())
        if err is not None:
            err = (err[0], self._message(test, err), None)
        super().processResult(test, err)

    def addError(self, test, err):
        if not hasattr(test, "_testMethodName"):  # setUpClass / setUpModule failure (an _ErrorHolder)
            unittest_result.TestResult.addError(self, test, err)
            self.setup_errors.append((str(test), self._message(test, err)))
            return
        super().addError(test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            text = self._message(test, err)
            label = subtest._subDescription().strip("[]() ") if hasattr(subtest, "_subDescription") else ""
            self.subtest_messages.setdefault(test.id(), []).append(f"{label}: {text}" if label else text)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if not hasattr(test, "_testMethodName"):  # setUpClass / setUpModule raised SkipTest
            self.setup_errors.append((str(test), f"skipped: {reason}"))
            return
        self.recorded.add(test.id())
        row = self.buildResult(test, (unittest.SkipTest, f"not graded: {reason}", None))
        row["score"] = 0.0
        row["status"] = "failed"
        self.results.append(row)

    def stopTest(self, test):
        # With failing subTests, unittest reports neither success nor failure for the test itself: add its row.
        if test.id() not in self.recorded and test.id() in self.subtest_messages:
            messages = self.subtest_messages[test.id()]
            self.recorded.add(test.id())
            row = self.buildResult(test, (AssertionError, "\n".join(messages), None))
            row["status"] = "failed"
            func = _test_function(test)
            if getattr(func, "__score__", None) is None:
                row["score"] = 0.0
            self.results.append(row)
        self._remember(test)
        super().stopTest(test)

    def _remember(self, test) -> None:
        """Tell the grading context whether this row earned all its points (later rows name failed upstream rows)."""
        item_id = getattr(_test_function(test), "__rubric_id__", None)
        rows = [r for r in self.results if r.get("_test") == test.id()]
        if item_id is None or not rows:
            return
        row = rows[-1]
        try:
            full = float(row.get("score", 0.0)) >= float(rubric.RUBRIC[item_id].points)
        except (TypeError, ValueError, KeyError):
            full = False
        self.session.results[item_id] = full and row.get("status") != "failed"


class _Runner(JSONTestRunner):
    resultclass = _GradedResult

    def __init__(self, session: Session, **kwargs):
        super().__init__(**kwargs)
        self.session = session

    def _makeResult(self):
        self.last_result = super()._makeResult()
        self.last_result.session = self.session
        return self.last_result


def graded_module_names(modules: Optional[Iterable[str]]) -> List[str]:
    if modules is None:
        package = importlib.import_module(GRADED_PACKAGE)
        graded = {item.check for item in rubric.RUBRIC.values()}  # modules of switched-off parts are left out
        return sorted(f"{GRADED_PACKAGE}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
                      if m.name in graded)
    # A short name ("section1_layers") is a module of the checks package; a dotted name is used as given (the
    # project's own tests grade with stand-in modules that way).
    return [name if "." in name else f"{GRADED_PACKAGE}.{name}" for name in modules]


def items_of(module_names: List[str]) -> List[str]:
    """Rubric ids whose ``module`` is one of these modules (compared by the module's last name component)."""
    shorts = {name.rsplit(".", 1)[-1] for name in module_names}
    return [item_id for item_id, item in rubric.RUBRIC.items() if item.check in shorts]


def _item_row(item_id: str, score: float, status: str, output: str) -> dict:
    item = rubric.RUBRIC[item_id]
    return {"score": float(score), "max_score": float(item.points), "status": status, "name": item.name,
            "number": item.number, "output": output, "visibility": item.visibility}


def _clean_output(text: str) -> str:
    text = (text or "").strip()
    if text.startswith("Test Failed: "):
        text = text[len("Test Failed: "):]
    if len(text) > MAX_TEST_OUTPUT_CHARS:
        text = text[:MAX_TEST_OUTPUT_CHARS] + "\n[... output cut]"
    return text


def _finish_rows(raw_rows: List[dict], expected_ids: List[str], missing_reason: Dict[str, str]) -> List[dict]:
    """One row per expected rubric item: the test's row (rubric fields enforced) or 0 with the reason."""
    rows: Dict[str, dict] = {}
    for raw in raw_rows:
        item_id = raw.get("_id")
        if item_id not in rubric.RUBRIC:
            _log(f"grader warning: test {raw.get('_test')} has no @graded rubric id; its row is dropped")
            continue
        if item_id in rows:
            _log(f"grader warning: rubric item {item_id!r} graded by more than one test; keeping the first")
            continue
        item = rubric.RUBRIC[item_id]
        score = raw.get("score", 0.0)
        try:
            score = float(score)
        except (TypeError, ValueError):
            score = 0.0
        if not math.isfinite(score):
            score = 0.0
        score = round(min(max(score, 0.0), float(item.points)), SCORE_DECIMALS)
        failed = raw.get("status") == "failed" or score < item.points
        rows[item_id] = _item_row(item_id, score, "failed" if failed else "passed", _clean_output(raw.get("output")))
    for item_id in expected_ids:
        if item_id not in rows:
            reason = missing_reason.get(item_id, "not graded: no check ran for this item")
            rows[item_id] = _item_row(item_id, 0.0, "failed", reason)
    return sorted(rows.values(), key=lambda r: number_key(r["number"]))


SCORE_DECIMALS = 2  # scores are shown and stored rounded to this many decimals (85.71, not 85.7143)
# What a student is told about the rows they cannot see yet, by Gradescope visibility (never their scores).
NOT_SHOWN_WORDING = {
    "hidden": "hidden from students (its points count in the total once grades are published)",
    "after_published": "shown once grades are published",
    "after_due_date": "shown after the due date",
}


def format_score(value: float) -> str:
    """A score as shown to people: rounded to SCORE_DECIMALS, no trailing zeros ("85.71", "6", "0.5")."""
    text = f"{float(value):.{SCORE_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def count_phrase(n: int, noun: str = "check") -> str:
    """'1 check is' / '2 checks are'."""
    return f"{n} {noun} is" if n == 1 else f"{n} {noun}s are"


def not_shown_lines(rows: List[dict]) -> List[str]:
    """One line per kind of row a student cannot see yet ('1 check is shown after the due date.')."""
    lines = []
    for visibility, wording in NOT_SHOWN_WORDING.items():
        n = sum(1 for r in rows if r.get("visibility", "visible") == visibility)
        if n:
            lines.append(f"{count_phrase(n)} {wording.replace('its points', 'their points') if n > 1 else wording}.")
    return lines


def _top_output(rows: List[dict], notes: List[str]) -> str:
    """The summary students see at once: it depends on the visible rows only (no total that includes a hidden or
    later-shown row, from which its result could be worked out)."""
    shown = [r for r in rows if r.get("visibility", "visible") == "visible"]
    label = "Autograder score" if len(shown) == len(rows) else "Score on the checks shown"
    lines = [f"{label}: {rubric.totals_text(shown, format_score)}."]
    lines += not_shown_lines(rows)
    lines += [f"Note: {note}" for note in sorted(notes)]
    return "\n".join(lines)


def _results(rows: List[dict], seconds: float, notes: List[str], output: Optional[str] = None) -> dict:
    total = sum(r["score"] for r in rows)
    return {
        "score": round(total, SCORE_DECIMALS),  # Gradescope's total: every row (the rows are rounded already)
        "execution_time": round(max(seconds, 0.0), 3),
        "output": output if output is not None else _top_output(rows, notes),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {},
        "tests": rows,
        "leaderboard": [],
    }


def write_results(results: dict, out_path: Path) -> None:
    """Validate, then write atomically (a reader never sees half a file)."""
    validate(results)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=str(out_path.parent), prefix=".results-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(results, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, out_path)


def failure_results(message: str, item_ids: Optional[List[str]] = None, seconds: float = 0.0) -> dict:
    """A valid results.json for when grading itself failed: every item 0, ``message`` as the top-level output."""
    ids = list(rubric.RUBRIC) if item_ids is None else item_ids
    rows = sorted((_item_row(i, 0.0, "failed", "not graded: " + message) for i in ids),
                  key=lambda r: number_key(r["number"]))
    results = _results(rows, seconds, [], output=message)
    results["extra_data"] = {"grader_failed": True}
    return results


def _first_number(module_name: str):
    numbers = [number_key(rubric.RUBRIC[i].number) for i in items_of([module_name])]
    return min(numbers) if numbers else (math.inf,)


def _in_rubric_order(suite: unittest.TestSuite) -> unittest.TestSuite:
    """The suite's tests by rubric number, each class's tests kept together (so a row's upstream rows, which have
    lower numbers, are graded before it: scoring.knock_on_causes)."""
    def flat(s):
        for t in s:
            yield from (flat(t) if isinstance(t, unittest.TestSuite) else [t])
    by_class: Dict[type, list] = {}
    for test in flat(suite):
        by_class.setdefault(type(test), []).append(test)

    def key(test):
        item_id = getattr(_test_function(test), "__rubric_id__", None)
        return number_key(rubric.RUBRIC[item_id].number) if item_id in rubric.RUBRIC else (math.inf,)
    groups = [sorted(tests, key=key) for tests in by_class.values()]
    groups.sort(key=lambda tests: key(tests[0]))  # stable: classes without rubric rows keep their order
    return unittest.TestSuite([test for tests in groups for test in tests])


def infrastructure_fault(results: dict) -> Optional[str]:
    """The fault's message when these results come from an autograder fault (no score may be shown)."""
    return results.get("extra_data", {}).get("infrastructure_fault")


def fault_results(fault: str, item_ids: Optional[List[str]] = None, seconds: float = 0.0) -> dict:
    """Results for an infrastructure fault: every row "not graded: autograder fault ...", score 0, the fault for the
    instructor in extra_data. ``python -m autograder run`` never hands these to Gradescope (see cli.main)."""
    results = failure_results(AUTOGRADER_FAULT, item_ids, seconds)
    results["extra_data"]["infrastructure_fault"] = fault
    return results


def _bound_suite(module, session: Session) -> unittest.TestSuite:
    """The module's check classes, each as a subclass of its own carrying this grading's session: whatever a class
    stores while it runs (its sandbox outcomes) lives on that subclass and goes with it."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name, cls in vars(module).items():
        if isinstance(cls, type) and issubclass(cls, unittest.TestCase) and cls.__module__ == module.__name__:
            bound = type(cls.__name__, (cls,), {"session": session, "__module__": cls.__module__,
                                                "__qualname__": cls.__qualname__})
            suite.addTests(loader.loadTestsFromTestCase(bound))
    return suite


def _run_tests(module_names: List[str], session: Session) -> tuple:
    """Import and run the check modules. Returns (raw rows, expected rubric ids, reasons for missing ids)."""
    expected = items_of(module_names)
    missing_reason: Dict[str, str] = {}
    suite = unittest.TestSuite()
    for name in module_names:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # a grader bug in one module: its items score 0, the other modules still run
            _log(f"grader error importing {name}:\n{traceback.format_exc()}")
            if isinstance(exc, ImportError):
                _environment_fault(session, exc)
            for item_id in items_of([name]):
                missing_reason[item_id] = "not graded: " + GRADER_FAILED
            continue
        suite.addTests(_bound_suite(module, session))
    runner = _Runner(session, stream=io.StringIO(), buffer=True, failure_prefix="")
    runner.run(_in_rubric_order(suite))
    res = runner.last_result
    for description, message in res.setup_errors:
        # "setUpClass (autograder.grading.checks.section1_layers.TestLayers)" or "setUpModule (module)"
        where = description.split("(", 1)[-1].rstrip(")")
        module_name = where if where in module_names else where.rsplit(".", 1)[0]
        for item_id in items_of([module_name]):
            reason = message if message.startswith("skipped: ") else f"setting up these checks failed: {message}"
            missing_reason.setdefault(item_id, f"not graded: {reason}")
    return runner.json_data["tests"], expected, missing_reason


def assemble(rows: List[dict], seconds: float, isolation_notes: Sequence[str], missing_files: Dict[str, str],
             item_ids: Sequence[str]) -> dict:
    """results.json's content from finished rows (one per item of ``item_ids``, the missing files already named in
    them): the score, the summary students see (with the missing files and the isolation notes) and extra_data."""
    rows = sorted(rows, key=lambda r: number_key(r["number"]))
    incomplete = handed_in.incomplete(missing_files, item_ids)
    notes = sorted(set(isolation_notes))
    if incomplete:
        notes.insert(0, "missing from your submission: " + handed_in.summary(missing_files, incomplete)
                     + " (the checks that need them say more).")
    results = _results(rows, seconds, notes)
    if incomplete:
        results["extra_data"]["missing_files"] = incomplete
    if isolation_notes:
        results["extra_data"]["isolation_notes"] = sorted(set(isolation_notes))
    return results


def grade_folder(submission_dir: Path, *, modules: Optional[Iterable[str]] = None, out_path: Optional[Path] = None,
                 given_dir: Optional[Path] = None, eval_dir: Optional[Path] = None,
                 source_dir: Optional[Path] = None, hidden: Sequence[Path] = ()) -> dict:
    """Grade the submission folder (the folder holding the student's files) and return results.json's content.

    Args:
        submission_dir: the folder with the student's files directly inside.
        modules: check modules to run ("section1_layers" or the full dotted name); None: those of every switched-on
            part. Only the rubric rows of these modules are reported.
        out_path: where to write results.json (validated first); None: do not write.
        given_dir, eval_dir, source_dir: the generated student tree, the evaluation data and the autograder source
            (default: their usual places; see session.Session).
        hidden: grader paths no sandboxed process may see (Gradescope's results and submission folders).
    """
    start = time.monotonic()
    module_names = graded_module_names(modules)
    # Grading everything: every rubric item must get a row, even one whose module does not exist (yet).
    expected_all = list(rubric.RUBRIC) if modules is None else items_of(module_names)
    session = Session.start(submission_dir, Path(source_dir or paths.REPO),
                            given_dir=Path(given_dir) if given_dir else None,
                            eval_dir=Path(eval_dir) if eval_dir else None, hidden=hidden)
    try:
        raw_rows, expected, missing_reason = _run_tests(module_names, session)
        missing_files = handed_in.missing(session.submission_dir)
        rows = handed_in.apply(_finish_rows(raw_rows, expected_all, missing_reason), missing_files)
        results = assemble(rows, time.monotonic() - start, sorted(session.isolation_notes), missing_files,
                           expected_all)
        validate(results)
    except Exception:  # grading itself broke: still hand Gradescope a valid result, details to the instructor log
        _log(f"grading failed:\n{traceback.format_exc()}")
        results = failure_results(GRADER_FAILED, expected_all, time.monotonic() - start)
    if session.faults:  # the grader's machinery failed somewhere (even inside a check that made it a row): no score
        _log("autograder fault:\n  " + "\n  ".join(session.faults))
        results = fault_results(session.faults[0], expected_all, time.monotonic() - start)
    if out_path is not None:
        write_results(results, Path(out_path))
    return results
