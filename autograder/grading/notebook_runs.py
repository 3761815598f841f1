"""The grader's own run of a student's notebook: executed in the sandbox, its outputs the ones that score.

    run = notebook_runs.run(session, part_key, notebook_declaration, extra_calls=[...])
    run.status, run.problem, run.seconds, run.figures, run.text, run.outcome("<extra call id>")

As otter-grader and nbgrader do, the grader executes the notebook a student hands in, rather than reading the outputs
saved in it: the saved outputs are kept for the people who read the notebook and never scored. The run
(harness/notebook_exec.py) gets the notebook in the kit's layout (the part's kit entries from the student version,
each file the part hands in at its kit path: ``<name>.py`` at ``<kit folder>/<name>.py``), the part's reduced
mode (``Notebook.reduced_env`` and ``grade_env``), and the grader's small data sets (eval_data.GRADER_DATA_ENV); the
files a run writes (an export, saved images) are the run's own, except the ``inputs`` it declares. Extra calls run in
the same sandbox process after the notebook, on what it left behind (e.g. the model it exported).

One run per notebook and grading (kept in the session), shared by the rows that read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import nbformat

from autograder import eval_data
from autograder.grading import rubric
from autograder.grading.student_code import Call, Outcome
from autograder.parts import Notebook

NOTEBOOK_LIMITS = {"memory_kind": "data", "memory_mb": 3072, "max_processes": 128, "max_file_bytes": 256 * 2 ** 20,
                   "max_output_bytes": 256 * 1024}


@dataclass
class Cell:
    number: int
    ran: bool
    empty: bool
    text: str
    images: List[List[int]]
    error: Optional[dict]


@dataclass
class NotebookRun:
    notebook: str
    status: str  # "ran" (every code cell ran), "error" (a cell raised), "failed" (the run itself did not complete)
    problem: str  # student-facing: the first error with its cell and line, or why the run failed; "" when it ran
    seconds: float = 0.0
    cells: List[Cell] = field(default_factory=list)
    extra: Dict[str, Outcome] = field(default_factory=dict)

    @property
    def ran(self) -> bool:
        return self.status == "ran"

    @property
    def text(self) -> str:
        return "\n".join(cell.text for cell in self.cells)

    @property
    def figures(self) -> int:
        """Images the run displayed that are figures (at least MIN_FIGURE_PIXELS a side)."""
        return sum(1 for cell in self.cells for w, h in cell.images if min(w, h) >= rubric.MIN_FIGURE_PIXELS)

    def outcome(self, call_id: str) -> Optional[Outcome]:
        return self.extra.get(call_id)

    def summary(self) -> str:
        """'<notebook> ran in the grader without errors in 41 s' or its problem."""
        if self.ran:
            return f"{self.notebook} ran in the grader without errors in {self.seconds:.0f} s"
        return f"{self.notebook}: {self.problem}"


def _kit_layout(session, part, notebook: Notebook) -> Dict[str, object]:
    """Relative path -> file (Path or bytes): the part's kit entries from the student version, the submission's
    files at their kit paths, the grader's data."""
    from autograder.grading.student_code import given_dir_default
    given = Path(session.given_dir) if session.given_dir is not None else given_dir_default()
    files: Dict[str, object] = {}
    for entry in part.kit_entries:
        path = given / entry
        if path.is_file():
            files[entry] = path
        elif path.is_dir():
            for item in sorted(path.rglob("*")):
                if item.is_file() and not item.is_symlink():
                    files[item.relative_to(given).as_posix()] = item
    for hand_in in part.hand_in:
        source = Path(session.submission_dir) / hand_in.name
        if hand_in.made_by_run and hand_in.name not in notebook.inputs:
            files.pop(hand_in.kit_path, None)  # the run makes its own
            continue
        if source.is_file() and not source.is_symlink():
            files[hand_in.kit_path] = source
    if notebook.data:
        root = eval_data.grader_data_dir()
        for item in sorted(root.rglob("*")):
            relative = item.relative_to(root)
            if item.is_file() and not relative.name.startswith("."):
                files[f"{eval_data.GRADER_DATA}/{relative.as_posix()}"] = item
    return files


def run(session, part_key: str, notebook: Notebook, extra_calls: Sequence[Call] = (),
        extra_files: Optional[Dict[str, object]] = None) -> NotebookRun:
    """Execute the student's ``notebook`` of part ``part_key`` in the sandbox (once per grading; later calls get
    the same run)."""
    key = ("notebook", notebook.name)
    if key in session.memo:
        return session.memo[key]
    part = rubric.PARTS[part_key]
    submitted = Path(session.submission_dir) / notebook.name
    if not submitted.is_file() or submitted.is_symlink():
        result = NotebookRun(notebook.name, "failed", f"{notebook.name} is not in your submission")
        session.memo[key] = result
        return result
    files = _kit_layout(session, part, notebook)
    files.update(extra_files or {})
    # No pretrained-weight downloads in the grader's runs (a torch cache that cannot be made): the notebooks use
    # their offline networks, the same on every machine.
    env = {"TORCH_HOME": "/proc/no-torch-cache", **notebook.reduced_env, **notebook.grade_env}
    for name in notebook.data:
        variable, folder = eval_data.GRADER_DATA_ENV[name]
        env[variable] = folder
    limits = dict(NOTEBOOK_LIMITS, cpu_seconds=notebook.grade_seconds, wall_seconds=notebook.grade_seconds,
                  call_cpu_seconds=notebook.grade_seconds, call_wall_seconds=notebook.grade_seconds,
                  batch_wall_seconds=notebook.grade_seconds + 60 * (1 + len(extra_calls)))
    calls = [Call("notebook", None, "notebook_exec.execute", args=(notebook.name, env, notebook.grade_seconds))]
    calls += list(extra_calls)
    outcomes = session.run(part_key, calls, limits=limits, files=files)
    result = _read(notebook.name, outcomes["notebook"])
    _capacity_check(session, result)
    result.extra = {call.id: outcomes[call.id] for call in extra_calls}
    session.memo[key] = result
    return result


def _capacity_check(session, result: NotebookRun) -> None:
    """A run that died or ran out of time on a machine with less memory than the notebooks need (rubric.
    NOTEBOOK_MEMORY_MB) says nothing about the student's notebook (the kernel was killed, or thrashed): autograder
    fault, with what to change."""
    from autograder import resources
    limit = resources.memory_limit_mb()
    if result.status != "failed" or limit is None or limit >= rubric.NOTEBOOK_MEMORY_MB:
        return
    if any(word in result.problem for word in ("kernel died", "grader's time", "ran out of memory", "did not finish")):
        raise session.fault(f"{result.notebook} could not run in the grader: this machine has {limit} MB of memory "
                            f"and the notebooks need about {rubric.NOTEBOOK_MEMORY_MB} MB (raise the autograder's "
                            f"memory in Gradescope's settings; see autograder/gradescope/README.md): "
                            f"{result.problem}")


def _read(name: str, outcome: Outcome) -> NotebookRun:
    if outcome.status != "ok" or not isinstance(outcome.value, dict):
        why = {"timeout": "did not finish in the grader's time", "memory": "ran out of memory in the grader"}.get(
            outcome.status, "could not be run in the grader")
        return NotebookRun(name, "failed", f"{why} ({outcome.message})")
    value = outcome.value
    cells = []
    for raw in value.get("cells") or []:
        if not isinstance(raw, dict):
            continue
        images = [list(map(int, size))[:2] for size in raw.get("images") or [] if isinstance(size, (list, tuple))]
        error = raw.get("error") if isinstance(raw.get("error"), dict) else None
        cells.append(Cell(int(raw.get("number", 0)), bool(raw.get("ran")), bool(raw.get("empty")),
                          str(raw.get("text") or ""), images, error))
    seconds = float(value.get("seconds") or 0.0)
    failed = next((c for c in cells if c.error), None)
    if failed is not None:
        line = f", {failed.error.get('line')}" if failed.error.get("line") else ""
        problem = (f"ran in the grader until code cell {failed.number}, which raised {failed.error.get('ename')}: "
                   f"{str(failed.error.get('evalue'))[:300]}{line}")
        return NotebookRun(name, "error", problem, seconds, cells)
    failure = str(value.get("failure") or "")
    unran = [c.number for c in cells if not c.ran and not c.empty]
    if failure:
        return NotebookRun(name, "failed", f"did not complete in the grader: {failure}", seconds, cells)
    if unran:
        return NotebookRun(name, "failed", f"code cell(s) {', '.join(map(str, unran[:8]))} did not run in the grader",
                           seconds, cells)
    return NotebookRun(name, "ran", "", seconds, cells)


def gate(session, name: str) -> Optional[str]:
    """Why the submitted notebook ``name`` earns nothing whatever a run of it shows (None: it may be run): missing,
    not a notebook, the kit's given cells changed or missing (the cells that print what the rows read), or its TODO
    cells left as the starter has them."""
    from autograder.grading.notebooks import (check_given_cells, inspect_notebook, read_notebook,
                                              reference_notebook)
    from autograder.grading.student_code import given_dir_default
    path = Path(session.submission_dir) / name
    if not path.is_file() or path.is_symlink():
        return f"{name} is not in your submission"
    try:
        submitted = read_notebook(path)
    except ValueError as exc:
        return str(exc)
    problems, _ = check_given_cells(inspect_notebook(submitted), reference_notebook(name), executed=False)
    if problems:
        return f"{name}: no points for this notebook: " + "\n".join(problems)
    given = Path(session.given_dir) if session.given_dir is not None else given_dir_default()
    if (given / name).is_file() and unchanged_from_starter(submitted, read_notebook(given / name)):
        return f"{name}: not attempted (its TODO cells are as the starter has them: fill them in and run it)"
    return None


def unchanged_from_starter(submitted: nbformat.NotebookNode, starter: nbformat.NotebookNode) -> bool:
    """Whether every code cell of ``submitted`` has the starter's code (comments and blank lines aside): its TODO
    regions were never filled in, so it earns nothing, whatever its saved outputs show."""
    def code(nb) -> List[List[str]]:
        return [[line.rstrip() for line in "".join(c.get("source") or "").splitlines()
                 if line.strip() and not line.strip().startswith("#")]
                for c in nb.cells if c.get("cell_type") == "code"]
    return code(submitted) == code(starter)


def grade(case, set_score, item_id: str, notebook: Notebook, sub_checks, *, run_weight: float = 2.0,
          extra_calls: Sequence[Call] = (),
          extra_files: Optional[Callable[[], Dict[str, object]]] = None) -> NotebookRun:
    """Score row ``item_id`` from the grader's run of ``notebook``: nothing when the submitted notebook fails the
    gate; else ``run_weight`` for running without errors, and ``sub_checks(run)`` -> [(label, weight, problem or
    None)] for what the run showed (every row scores through scoring.Checks). ``extra_files``: called only when the
    notebook passes the gate (it may need the grader's evaluation data). Returns the run."""
    from autograder.grading.scoring import Checks, finish
    session = case.grading_session()
    problem = gate(session, notebook.name)
    if problem:
        set_score(0.0)
        case.fail_with(problem)
    result = run(session, case.part_key(), notebook, extra_calls, extra_files() if extra_files else None)
    checks = Checks(notebook.name)
    checks.add(f"ran in the grader without errors in {result.seconds:.0f} s", run_weight,
               None if result.ran else f"{notebook.name}: {result.problem}.")
    for label, weight, sub_problem in sub_checks(result):
        checks.add(label, weight, sub_problem)
    finish(case, checks, set_score, item_id)
    return result
