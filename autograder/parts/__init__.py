"""The homework's parts: one declaration per part, from which everything else is generated or read.

A part is a section of the homework or an extra credit. Its declaration, ``autograder/parts/<key>.py`` (a module
defining ``PART``), holds everything the build, the grader and the texts need:

* the kit entries it adds to the handout, and the files a student hands in (``HandIn``: the name in the
  submission, where it lives in the kit, what to do when it is missing, its name in the sandbox workspace);
* the kit folders whose Python files every sandbox workspace of the part gets (flattened), and its sandbox limits;
* its graded rows (``Row``: number, name, points, the check module, visibility, what the row runs of the
  student's code besides its own, accuracy thresholds), the task titles of the points table and the lines of the
  README's "For students" table;
* its reference-artifact steps (``Step``: a script or a notebook run on a copy of the kit, its inputs, the data sets
  it needs, its environment in reduced and in full mode) and its notebooks;
* its student README section (``autograder/parts/<key>.md``), its written-report sections and the generated texts it
  owns; whether it is extra credit, and whether it is switched on.

Everything of a part lives in files named after it: its declaration and README section here, and every module under
``autograder/`` named ``<key>_*.py`` (its checks, harness procedures, reference helpers). A switched-off part's files
are left out of the autograder zip; the grading core (runner, sandbox, session, CLI) never names a part.

``PARTS`` holds every declared part in the order of its rows' numbers; :func:`enabled` the switched-on ones.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Tuple

HERE = Path(__file__).resolve().parent
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass(frozen=True)
class Row:
    """One graded row (one Gradescope test)."""
    number: str  # "2.2": the first component is the task (Part.tasks)
    name: str
    points: float  # 0: feedback only
    check: str  # the check module that grades it: autograder/grading/checks/<check>.py
    visibility: str = "visible"
    function: str = ""  # the student's code this row grades, as a knock-on message names it ("TwoLayerNet.forward")
    depends_on: Tuple[str, ...] = ()  # rows whose graded code this row runs too (their failure is named first)
    threshold: Optional[Mapping[str, float]] = None  # accuracy (percent): "full", "partial" (linear between)
    # The handed-in files the row grades (names in the submission); () = every file of the part. When one is missing
    # from a submission that has other files of the part, the row scores 0 and says which (grading/handed_in.py).
    needs: Tuple[str, ...] = ()
    part: str = ""  # filled in from the part that declares it


@dataclass(frozen=True)
class HandIn:
    """A file the student hands in, flat in the submission folder."""
    name: str  # its name in the submission
    kit_path: str  # where it lives in the kit (make_submission.py collects it from there)
    hint: str  # what the student does when it is missing
    workspace_name: str = ""  # its name in the sandbox workspace, when not ``name`` (e.g. <part>_nn.py -> nn.py)
    made_by_run: bool = False  # written by running the kit (a checkpoint, an export, saved images): not in the starter

    @property
    def in_workspace(self) -> str:
        return self.workspace_name or self.name


@dataclass(frozen=True)
class Todo:
    """One line of the instructor README's "For students" table."""
    task: str
    fill_in: str
    check_with: str


@dataclass(frozen=True)
class Notebook:
    """How one of the part's notebooks is executed: by the reference build, the benchmark, and the grader, which runs
    the student's notebook itself in the sandbox (autograder/grading/notebook_runs.py)."""
    name: str
    reduced_env: Mapping[str, str]  # the reduced mode: CI's reference build, the grader's own run
    full_env: Mapping[str, str] = field(default_factory=dict)  # the full run (a benchmark)
    settings: Tuple[str, ...] = ()  # environment variables it reads that change its outputs (cache keys)
    cell_timeout_s: float = 3600  # one cell may train a whole network on a CPU
    # The grader's run: the notebook in the kit's layout (the part's kit entries, the files handed in at their kit
    # paths), reduced_env plus grade_env, the small data sets named in ``data`` (autograder/eval_data.py), and the
    # files a run makes that this run reads instead (``inputs``: handed-in files, e.g. the images a notebook saved).
    data: Tuple[str, ...] = ()
    grade_env: Mapping[str, str] = field(default_factory=dict)
    inputs: Tuple[str, ...] = ()
    grade_seconds: float = 240  # wall seconds the grader's run may take (0.5 vCPU on Gradescope)


@dataclass(frozen=True)
class Step:
    """A reference-artifact step: something run on a copy of the kit that makes files a perfect student hands in."""
    name: str
    outputs: Tuple[Tuple[str, str], ...]  # (name in the submission, where the run leaves it in the kit copy)
    inputs: Tuple[str, ...]  # kit paths (files or folders) the result depends on; the cache key covers them
    datasets: Tuple[str, ...] = ()  # "cifar10", "fashion_mnist": checked before anything runs
    notebook: Optional[Notebook] = None  # run this notebook ...
    command: Tuple[str, ...] = ()  # ... or this command ("{python}" and "{cifar10}" are filled in) in ``cwd``
    cwd: str = "."
    reduced_by_default: bool = False  # the build runs it reduced unless DLKIT_FULL_NOTEBOOKS=1
    finish: Optional[Callable[[Path], None]] = None  # applied to the kit copy after the run (e.g. model answers)


@dataclass(frozen=True)
class ReportItem:
    """One section of the written report (the PDF graded by hand): the template's section and the manual rubric's
    item, in the order of the template."""
    number: str  # the homework's task number, e.g. "4.2/4.3"
    title: str
    points: float
    asks: Tuple[str, ...]  # what the section must show (the template's prompts and the grader's checklist)
    figures: Tuple[Tuple[str, str], ...] = ()  # (file the template includes, what makes it)
    # The section's body in each template after its figures (report.py draws those, or a placeholder while a
    # figure is missing): lines, made when the template is (None: "...").
    markdown: Optional[Callable[[], List[str]]] = None
    latex: Optional[Callable[[], List[str]]] = None
    part: str = ""


@dataclass(frozen=True)
class Texts:
    """Generated texts a part owns (see autograder/build/texts.py): rendered from its declaration at build time."""
    inline: Mapping[str, Callable[[], str]] = field(default_factory=dict)  # <!-- gen: NAME --> spans
    inline_files: Tuple[str, ...] = ()  # kit files (Markdown or notebooks) holding such spans
    prefix_lines: Mapping[Tuple[str, str], Callable[[], str]] = field(default_factory=dict)  # (file, line start)
    md_regions: Mapping[Tuple[str, str], Callable[[], str]] = field(default_factory=dict)  # (file, region name)


@dataclass(frozen=True)
class Part:
    key: str
    title: str
    kit_entries: Tuple[str, ...]  # top-level names in the kit (folders or files)
    hand_in: Tuple[HandIn, ...]
    rows: Mapping[str, Row]  # rubric id -> row
    tasks: Mapping[str, str]  # first component of a row number -> the task's title in the points table
    todo: Tuple[Todo, ...] = ()
    run_outputs: Tuple[str, ...] = ()  # names (fnmatch patterns) a run of the kit writes: never shipped in a kit
    given_folders: Tuple[str, ...] = ()  # kit folders whose .py files each sandbox workspace gets, flattened
    limits: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # named sandbox limits ("calls", ...)
    eval_data: Tuple[str, ...] = ()  # the grader's evaluation sets it needs (autograder/eval_data.py FILES)
    steps: Tuple[Step, ...] = ()
    notebooks: Tuple[Notebook, ...] = ()
    report: Tuple[ReportItem, ...] = ()
    texts: Texts = field(default_factory=Texts)
    # Run once by the Gradescope image's setup.sh (python -m autograder.setup_parts), e.g. to put pretrained weights
    # into the torch cache; returns one line for setup's log. A failure fails the upload.
    setup: Optional[Callable[[], str]] = None
    enabled: bool = True
    extra_credit: bool = False  # its points come on top of the homework's maximum

    @property
    def readme(self) -> str:
        """The part's section of the student README (``autograder/parts/<key>.md``)."""
        return (HERE / f"{self.key}.md").read_text(encoding="utf-8")

    def hand_in_file(self, name: str) -> HandIn:
        return next(h for h in self.hand_in if h.name == name)

    def needs(self, row_id: str) -> Tuple[str, ...]:
        """The handed-in files row ``row_id`` grades (every file of the part when the row names none)."""
        return self.rows[row_id].needs or tuple(h.name for h in self.hand_in)

    def marks(self) -> Tuple[str, ...]:
        """What names this part in a text: its key, title, kit entries and the files handed in."""
        return tuple(dict.fromkeys((self.key, self.title, *self.kit_entries, *(h.name for h in self.hand_in))))


class PartError(ValueError):
    """A declaration is inconsistent (two rows with one number, a row without its task, ...)."""


def _number_key(number: str) -> Tuple[int, ...]:
    return tuple(int(p) for p in number.split("."))


def _finish(part: Part) -> Part:
    rows = {}
    for row_id, row in part.rows.items():
        if row.visibility not in VISIBILITIES:
            raise PartError(f"{part.key}: row {row_id!r} has visibility {row.visibility!r} (one of {VISIBILITIES})")
        if row.number.split(".")[0] not in part.tasks:
            raise PartError(f"{part.key}: row {row_id!r} ({row.number}) has no task title in tasks")
        unknown = sorted(set(row.needs) - {h.name for h in part.hand_in})
        if unknown:
            raise PartError(f"{part.key}: row {row_id!r} needs {', '.join(unknown)}, which the part does not hand in")
        rows[row_id] = Row(**{**row.__dict__, "part": part.key})
    report = tuple(ReportItem(**{**item.__dict__, "part": part.key}) for item in part.report)
    return Part(**{**part.__dict__, "rows": rows, "report": report})


def _load() -> Dict[str, Part]:
    found = []
    for info in pkgutil.iter_modules([str(HERE)]):
        if info.name.startswith("_"):
            continue
        part = getattr(importlib.import_module(f"{__name__}.{info.name}"), "PART", None)
        if not isinstance(part, Part) or part.key != info.name:
            raise PartError(f"autograder/parts/{info.name}.py must define PART = Part({info.name!r}, ...)")
        found.append(_finish(part))
    check(found)
    found.sort(key=lambda p: min(_number_key(r.number) for r in p.rows.values()))
    return {part.key: part for part in found}


def check(parts: List[Part]) -> None:
    """Raise PartError when parts clash: a rubric id, a row number, a handed-in file or a kit entry declared twice."""
    def clashes(what: str, pairs: List[Tuple[str, str]]) -> None:
        seen: Dict[str, str] = {}
        for value, owner in pairs:
            if value in seen:
                raise PartError(f"{what} {value!r} is declared by both {seen[value]} and {owner}")
            seen[value] = owner
    clashes("rubric id", [(i, p.key) for p in parts for i in p.rows])
    clashes("row number", [(r.number, f"{p.key} row {i!r}") for p in parts for i, r in p.rows.items()])
    clashes("handed-in file", [(h.name, p.key) for p in parts for h in p.hand_in])
    clashes("kit entry", [(e, p.key) for p in parts for e in p.kit_entries])


PARTS: Dict[str, Part] = _load()


def enabled() -> List[Part]:
    """The switched-on parts, in order."""
    return [part for part in PARTS.values() if part.enabled]


def rows(include_off: bool = False) -> Dict[str, Row]:
    """Rubric id -> row, in part order (switched-off parts' rows only with ``include_off``)."""
    return {row_id: row for part in PARTS.values() if part.enabled or include_off for row_id, row in part.rows.items()}


def owner(path: Path) -> Optional[str]:
    """The part a file under autograder/ belongs to, by its name (``<key>.py``, ``<key>.md``, ``<key>_*.py``), or
    None for the core."""
    stem = Path(path).stem
    return next((key for key in PARTS if stem == key or stem.startswith(key + "_")), None)


def part_of_check(check: str) -> Optional[Part]:
    """The part whose rows the check module grades."""
    return next((part for part in PARTS.values() if any(r.check == check for r in part.rows.values())), None)
