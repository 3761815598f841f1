"""Graded tests: one unittest module per area (``test_<area>.py``), one test method per rubric item.

Writing one::

    from autograder.grading.checks import GradedTestCase, graded
    from autograder.grading.student_code import Call, run_calls

    class TestLayers(GradedTestCase):
        @graded("fc_forward")
        def test_fc_forward(self, set_score=None):
            out = run_calls(self.workspace(), [Call("fwd", "layers", func="fc_forward", args=(x, w, b))])["fwd"]
            if out.status != "ok":
                self.fail_with(f"fc_forward: {out.message}")
            ...
            set_score(2.0)  # optional partial credit; without it: full points when the test passes, 0 when it fails

``graded(item_id)`` takes the points, number, visibility and name from ``rubric.RUBRIC[item_id]`` (the rubric is the
one place they are set). ``set_score`` is passed only to methods that declare it. The runner
(:mod:`autograder.grading.runner`) sets :data:`context` before running the tests: the submission folder, the
autograder source root, the generated student tree and the evaluation data folder.

A failing test's message is shown to the student as it is (no traceback): make it one actionable line per sub-check.
Student code never runs in the test's own process: always go through ``student_code.run_calls``.
"""
from __future__ import annotations

import functools
import inspect
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Optional

from gradescope_utils.autograder_utils.decorators import number, partial_credit, visibility

from autograder.grading import rubric


@dataclass
class GradingContext:
    """What the graded tests grade. Set by the runner; read through :class:`GradedTestCase`."""
    submission_dir: Path  # the folder holding the student's files (functions.py, layers.py, ..., part1.ipynb)
    source_dir: Path  # the autograder source root (the repository locally, /autograder/source on Gradescope)
    given_dir: Optional[Path] = None  # the generated student tree; None: student_code's default
    eval_dir: Optional[Path] = None  # the evaluation arrays (eval_data.eval_dir() when None)
    # rubric id -> whether that row earned all its points, filled in by the runner as each row is graded (rows run
    # in rubric-number order, so a row can tell which rows it depends on failed: feedback.knock_on_causes)
    results: Dict[str, bool] = field(default_factory=dict)


context: Optional[GradingContext] = None


def row_passed(item_id: str) -> Optional[bool]:
    """Whether rubric row ``item_id`` earned all its points on this submission; None when it was not graded (yet)."""
    return None if context is None else context.results.get(item_id)


def graded(item_id: str) -> Callable:
    """Mark a test method as the check for rubric item ``item_id`` (points, number, visibility from the rubric)."""
    if item_id not in rubric.ALL_ITEMS:
        raise KeyError(f"graded({item_id!r}): no such rubric item in autograder/grading/rubric.py")
    item = rubric.ALL_ITEMS[item_id]
    if item_id not in rubric.RUBRIC:  # its part is switched off in rubric.PARTS: the method is not a test
        return lambda func: None

    def decorate(func: Callable) -> Callable:
        params = inspect.signature(func).parameters
        wants_score = "set_score" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
        target = func
        if not wants_score:
            @functools.wraps(func)
            def target(*args, set_score=None, **kwargs):  # gradescope-utils always passes set_score
                return func(*args, **kwargs)
        wrapped = partial_credit(item.points)(target)
        wrapped = number(item.number)(wrapped)
        wrapped = visibility(item.visibility)(wrapped)
        wrapped.__rubric_id__ = item_id
        # The first docstring line is the test's name in results.json: the rubric's name.
        wrapped.__doc__ = item.name + ("\n\n" + func.__doc__ if func.__doc__ else "")
        return wrapped

    return decorate


class GradedTestCase(unittest.TestCase):
    """Base class of graded tests: access to the submission and fresh sandbox workspaces."""

    longMessage = False  # show only the message the test gives, not unittest's "x != y :" prefix

    @staticmethod
    def grading_context() -> GradingContext:
        if context is None:
            raise RuntimeError("graded tests run only through autograder.grading.runner (no grading context set)")
        return context

    @property
    def submission_dir(self) -> Path:
        return self.grading_context().submission_dir

    @classmethod
    def workspace(cls):
        """A fresh Workspace: the generated student tree with this submission's files on top."""
        from autograder.grading.student_code import Workspace
        ctx = cls.grading_context()
        return Workspace.for_submission(ctx.submission_dir, ctx.given_dir)

    @classmethod
    def run_in_workspace(cls, calls, limits):
        """Run ``calls`` in one sandbox process on a fresh workspace (removed afterwards); their outcomes by name."""
        from autograder.grading.student_code import run_calls
        ws = cls.workspace()
        try:
            return run_calls(ws, calls, limits=limits)
        finally:
            ws.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls.out = {}  # drop the outcomes (arrays) of the class's sandbox runs once its tests have read them
        super().tearDownClass()

    def fail_with(self, message: str) -> None:
        """Fail this check with a student-facing message (shown as is, no traceback)."""
        raise self.failureException(message)
