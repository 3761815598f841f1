"""Autograder faults: the grader cannot grade on this machine, which is never the student's doing.

A fault is the sandbox failing to run (``sandbox.SandboxError``), or one of the grader's own trusted steps failing: a
reference computation in a process of the grader's own, a file the autograder zip should hold, a module its
environment lacks. Wherever one happens, even inside a check that turned the exception into a failed row, the whole
grading is void (the session records every fault it sees: session.Session.run, the runner, session.fault):
``python -m autograder run`` leaves no results.json and exits 3, so Gradescope shows a failed autograder run instead
of a score (see autograder/gradescope/README.md).
"""
from __future__ import annotations


class AutograderFault(RuntimeError):
    """The grader's own machinery failed (an instructor problem): no score may come from this grading."""
