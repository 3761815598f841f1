"""One grading of one submission: what it grades, against what, and what happened while it did.

The runner makes a :class:`Session` for each submission it grades and hands it to every check (``self.session``);
nothing about a grading lives in module-level state, so two submissions graded in one process (``regrade``) cannot
see each other's deadline, faults, row results or cached import failures.

A check runs the student's code only through :meth:`Session.run`: the part's workspace (its given folders flattened,
the files it hands in on top under their workspace names), the part's named sandbox limits, the grading's deadline,
and the sandbox faults recorded for the runner.
"""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Set, Union

from autograder.grading import faults, rubric


SEED_ENV = "AUTOGRADER_SEED"


def grading_seed() -> int:
    """$AUTOGRADER_SEED when set (to reproduce a grading), else a secret random 63-bit number."""
    fixed = os.environ.get(SEED_ENV, "").strip()
    return int(fixed) if fixed else secrets.randbits(63)


@dataclass
class Session:
    submission_dir: Path  # the folder holding the student's files
    source_dir: Path  # the autograder source root (the repository locally, /autograder/source on Gradescope)
    given_dir: Optional[Path] = None  # the generated student tree; None: student_code's default
    eval_dir: Optional[Path] = None  # the evaluation arrays (eval_data.eval_dir() when None)
    deadline: Optional[float] = None  # time.monotonic() by which every sandbox run must end
    hidden: Sequence[Path] = ()  # grader paths no sandboxed process may see (Gradescope's results/, submission/)
    results: Dict[str, bool] = field(default_factory=dict)  # row -> earned all its points (rows run in order)
    isolation_notes: Set[str] = field(default_factory=set)  # e.g. sandbox.ISOLATION_REDUCED
    faults: List[str] = field(default_factory=list)  # autograder faults seen: the grading is void when any
    import_failures: Dict[tuple, object] = field(default_factory=dict)  # student_code: imports that hung or crashed
    memo: Dict[tuple, object] = field(default_factory=dict)  # results several rows share (a notebook's run, ...)
    # Drawn afresh for every grading (SEED_ENV fixes it, to reproduce one): inputs whose expected values feedback
    # may show come from it, so a value copied from one grading's feedback is wrong in the next.
    seed: int = field(default_factory=lambda: grading_seed())

    @classmethod
    def start(cls, submission_dir: Path, source_dir: Path, *, given_dir: Optional[Path] = None,
              eval_dir: Optional[Path] = None, hidden: Sequence[Path] = ()) -> "Session":
        return cls(Path(submission_dir).resolve(), Path(source_dir), given_dir=given_dir, eval_dir=eval_dir,
                   deadline=time.monotonic() + rubric.GRADING_WALL_SECONDS, hidden=tuple(hidden))

    def rng(self, base_seed: int):
        """A numpy generator for one check module's inputs: its fixed ``base_seed`` mixed with this grading's seed."""
        import numpy as np
        return np.random.default_rng([int(base_seed), self.seed])

    # -- faults ------------------------------------------------------------------------------------------------------

    def fault(self, message: str) -> faults.AutograderFault:
        """Record an autograder fault and return it, to raise: ``raise self.session.fault("... missing")``."""
        self.record_fault(message)
        return faults.AutograderFault(message)

    def record_fault(self, message: str) -> None:
        if message not in self.faults:
            self.faults.append(message)

    # -- rows --------------------------------------------------------------------------------------------------------

    def row_passed(self, item_id: str) -> Optional[bool]:
        """Whether row ``item_id`` earned all its points on this submission; None when it was not graded (yet)."""
        return self.results.get(item_id)

    # -- running the student's code ----------------------------------------------------------------------------------

    def workspace(self, part: str, files: Optional[Mapping[str, Union[Path, bytes]]] = None):
        """A fresh workspace for ``part``: its given folders' .py files (flattened) with the files it hands in on top
        under their workspace names; or, with ``files`` (name -> path or bytes), exactly those files."""
        from autograder.grading.student_code import Workspace
        if files is not None:
            ws = Workspace()
            for name, content in files.items():
                ws.add_file(name, content)
            return ws
        return Workspace.for_part(rubric.PARTS[part], self.submission_dir, self.given_dir)

    def run(self, part: str, calls: list, *, limits: Union[str, Mapping, None] = None,
            files: Optional[Mapping[str, Union[Path, bytes]]] = None, watch: Sequence[str] = ()) -> dict:
        """Run ``calls`` in one sandbox process (re-started after a call that hangs or crashes) on a fresh workspace
        of ``part`` (see :meth:`workspace`); returns call id -> student_code.Outcome.

        ``limits``: a name in the part's ``limits``, or a dict of overrides, on top of rubric.SANDBOX_LIMITS.
        ``watch``: modules whose loading each outcome reports (student_code.run_calls).
        """
        from autograder.grading.student_code import run_calls
        if self.faults:  # the grading is void already: spend no more time on it
            raise faults.AutograderFault(self.faults[0])
        if isinstance(limits, str):
            limits = rubric.PARTS[part].limits[limits]
        ws = self.workspace(part, files)
        try:
            return run_calls(ws, calls, limits=dict(limits or {}), watch=watch, session=self)
        except faults.AutograderFault as exc:  # recorded here too, in case a check catches it
            self.record_fault(str(exc))
            raise
        finally:
            ws.cleanup()
