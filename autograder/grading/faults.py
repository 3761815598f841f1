"""Autograder faults: the grader cannot grade on this machine, which is never the student's doing.

A fault is the sandbox failing to run (``sandbox.SandboxError``), or one of the grader's own trusted steps failing: a
reference computation in a process of the grader's own, a file the autograder zip should hold, a module its
environment lacks. Wherever one happens, even inside a check that turned the exception into a failed row, the whole
grading is void: ``python -m autograder run`` leaves no results.json and exits 3, so Gradescope shows a failed
autograder run instead of a score (see autograder/gradescope/README.md).
"""
from __future__ import annotations

from typing import List


class AutograderFault(RuntimeError):
    """The grader's own machinery failed (an instructor problem). Every instance is recorded in :data:`FAULTS` when
    it is made, so the runner learns of it even where a check caught it (see runner.grade_folder)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        record(str(self))


def record(message: str) -> None:
    """Note a fault that is not raised (e.g. found in an exception a check's own code let through)."""
    FAULTS.append(message)


FAULTS: List[str] = []  # messages of every fault raised in this process (cleared by each grading run)
