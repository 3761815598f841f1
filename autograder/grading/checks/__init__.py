"""Checks: one unittest module per area of a part (``checks/<part>_<area>.py``), one test method per rubric row.

Writing one::

    from autograder.grading.checks import GradedTestCase, graded
    from autograder.grading.scoring import Checks, finish
    from autograder.grading.student_code import Call

    class LayerChecks(GradedTestCase):   # in checks/<part>_<area>.py: its rows' part gives the workspace and limits

        @classmethod
        def setUpClass(cls):
            super().setUpClass()
            cls.out = cls.run_student([Call("fwd", "<module>", func="<function>", args=(x, w, b))], limits="calls")

        @graded("<rubric id>")
        def test_forward(self, set_score=None):
            checks = Checks("<function>")
            checks.add("values", 1.0, compare_array(expected, self.out["fwd"].value))
            finish(self, checks, set_score, "<rubric id>")  # points x passed weight / total weight

``graded(item_id)`` takes the points, number, visibility and name from the rubric (the part's declaration is the one
place they are set). ``set_score`` is passed only to methods that declare it; the score lives on the test instance.
The runner (:mod:`autograder.grading.runner`) runs each class as a subclass of its own per grading, carrying that
grading's :class:`~autograder.grading.session.Session` as ``cls.session``: the submission, the deadline, the rows
graded so far and the faults seen; nothing a class stores during a grading outlives it.

A failing test's message is shown to the student as it is (no traceback): make it one actionable line per sub-check.
Student code never runs in the test's own process: always go through ``run_student`` (``Session.run``).
"""
from __future__ import annotations

import functools
import inspect
import unittest
from pathlib import Path
from typing import Callable, Mapping, Optional, Union

from gradescope_utils.autograder_utils.decorators import number, visibility, weight

from autograder import parts
from autograder.grading import rubric


def graded(item_id: str) -> Callable:
    """Mark a test method as the check for rubric row ``item_id`` (points, number, visibility from the rubric)."""
    if item_id not in rubric.ALL_ITEMS:
        raise KeyError(f"graded({item_id!r}): no such rubric row in the parts' declarations (autograder/parts/)")
    item = rubric.ALL_ITEMS[item_id]

    def decorate(func: Callable) -> Callable:
        params = inspect.signature(func).parameters
        wants_score = "set_score" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())

        @functools.wraps(func)
        def test(self, *args, **kwargs):
            if wants_score:
                kwargs["set_score"] = self.set_score
            return func(self, *args, **kwargs)
        test = visibility(item.visibility)(number(item.number)(weight(item.points)(test)))
        test.__rubric_id__ = item_id
        # The first docstring line is the test's name in results.json: the rubric's name.
        test.__doc__ = item.name + ("\n\n" + func.__doc__ if func.__doc__ else "")
        return test

    return decorate


class GradedTestCase(unittest.TestCase):
    """Base class of checks: the grading's session, the part's sandbox runs, a score per test."""

    longMessage = False  # show only the message the test gives, not unittest's "x != y :" prefix
    part: str = ""  # the part whose workspace and named limits run_student() uses; "": the part of the module's rows
    session = None  # set on the per-grading subclass by the runner

    @classmethod
    def grading_session(cls):
        if cls.session is None:
            raise RuntimeError("checks run only through autograder.grading.runner (no grading session)")
        return cls.session

    @property
    def submission_dir(self) -> Path:
        return self.grading_session().submission_dir

    @classmethod
    def run_student(cls, calls, *, limits: Union[str, Mapping, None] = None, files=None, watch=()):
        """Run ``calls`` in one sandbox process on a fresh workspace of the class's part (Session.run)."""
        return cls.grading_session().run(cls.part_key(), calls, limits=limits, files=files, watch=watch)

    @classmethod
    def part_key(cls) -> str:
        if cls.part:
            return cls.part
        part = parts.part_of_check(cls.__module__.rsplit(".", 1)[-1])
        if part is None:
            raise RuntimeError(f"{cls.__module__} grades no declared row: set {cls.__name__}.part")
        return part.key

    def set_score(self, value: float) -> None:
        """Partial credit for this row (clamped to [0, points] by the runner)."""
        self._score = value

    @classmethod
    def tearDownClass(cls):
        cls.out = {}  # drop the outcomes (arrays) of the class's sandbox runs once its tests have read them
        super().tearDownClass()

    def fail_with(self, message: str) -> None:
        """Fail this check with a student-facing message (shown as is, no traceback)."""
        raise self.failureException(message)

    def __call__(self, *args, **kwargs):  # unittest runs a test by calling it: start each run without a score
        self._score: Optional[float] = None
        return super().__call__(*args, **kwargs)
