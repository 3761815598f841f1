"""Section 3a: the part3.ipynb notebook (rubric items 6.4 and 6.5).

* part3_notebook: the grader runs the notebook itself in the sandbox, in its reduced mode (autograder/grading/
  notebook_runs.py); saved outputs are never scored. The run has no error (half the points); it draws at least two
  figures (the t-SNE plots of two features); it prints the variance table of the given cell (``| feature | D | within |
  between | total | between/within |``) with at least two rows, each consistent (within + between = total, ratio =
  between / within, as printed to 6 and 4 significant digits). A notebook whose given cells were changed, or whose TODO
  cells are the starter's, earns nothing.
* part3_answers (0 points, feedback only): whether the markdown cells that start with ``**Answer 1.**``,
  ``**Answer 2.**``, ``**Answer 3.**`` hold an answer; their content is graded by people, in the written report.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from autograder.grading import notebook_runs
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.notebooks import read_notebook
from autograder.grading.scoring import Checks, finish
from autograder.parts import section3a

NOTEBOOK = "part3.ipynb"
FIGURES = 2
TABLE_ROWS = 2
QUESTIONS = 3
ANSWER_MIN_CHARS = 40
PLACEHOLDER = "*Your answer here.*"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf"
TABLE_ROW = re.compile(rf"^\| *(?P<feature>[^|]+?) *\| *(?P<d>\d+) *\| *(?P<within>{_NUMBER}) *\| *"
                       rf"(?P<between>{_NUMBER}) *\| *(?P<total>{_NUMBER}) *\| *(?P<ratio>{_NUMBER}) *\| *$",
                       re.MULTILINE)
ANSWER_HEAD = re.compile(r"^\s*\*\*Answer (\d)\.\*\*")


def variance_table(text: str) -> List[Tuple[str, int, float, float, float, float]]:
    """The rows of the printed variance table: (feature, D, within, between, total, ratio); the last row of each
    feature name wins (a rerun cell prints the table again)."""
    rows = {}
    for m in TABLE_ROW.finditer(text):
        rows[m.group("feature")] = (m.group("feature"), int(m.group("d")), float(m.group("within")),
                                    float(m.group("between")), float(m.group("total")), float(m.group("ratio")))
    return list(rows.values())


def row_problem(row) -> Optional[str]:
    """Why a table row is not a consistent set of variances, or None."""
    feature, d, within, between, total, ratio = row
    if d <= 0 or min(within, between, total) < 0:
        return f"row '{feature}': D and the variances must be positive"
    if abs(within + between - total) > 1e-4 * max(abs(total), 1e-12):
        return (f"row '{feature}': within + between = {within + between:.6g} is not the total {total:.6g} (the "
                f"identity within + between = total must hold: check class_variances)")
    if within > 0 and abs(between / within - ratio) > 1e-3 * max(abs(ratio), 1e-12):
        return f"row '{feature}': the ratio {ratio:.4g} is not between / within = {between / within:.4g}"
    return None


def answers(nb) -> dict:
    """Question number -> the answer text of its markdown cell (the text after the ``**Answer N.**`` head)."""
    found = {}
    for cell in nb.cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source")
        source = "".join(source) if isinstance(source, list) else (source if isinstance(source, str) else "")
        m = ANSWER_HEAD.match(source)
        if m:
            found[int(m.group(1))] = source[m.end():].strip()
    return found


class TestPart3(GradedTestCase):
    """part3.ipynb: see the module docstring."""

    @graded("part3_notebook")
    def test_part3_notebook(self, set_score=None):
        def sub_checks(run):
            rows = variance_table(run.text)
            bad = [p for p in (row_problem(r) for r in rows) if p]
            if bad:
                table = f"{NOTEBOOK}: " + "; ".join(bad[:3]) + "."
            elif len(rows) < TABLE_ROWS:
                table = (f"{NOTEBOOK}: the grader's run printed no variance table (| feature | D | within | between | "
                         f"total | between/within |) with at least {TABLE_ROWS} features (found {len(rows)} rows).")
            else:
                table = None
            return [(f"drew {run.figures} t-SNE figures", 1, None if run.figures >= FIGURES else
                     f"{NOTEBOOK}: the grader's run drew {run.figures} figure(s), expected at least {FIGURES} (a "
                     f"t-SNE plot per feature)."),
                    (f"the variance table has {len(rows)} layers", 1, table)]
        notebook_runs.grade(self, set_score, "part3_notebook", section3a.PART3, sub_checks)

    @graded("part3_answers")
    def test_part3_answers(self, set_score=None):
        checks = Checks(NOTEBOOK)
        path = self.submission_dir / NOTEBOOK
        try:
            found = answers(read_notebook(path)) if path.is_file() else {}
        except ValueError:
            found = {}
        for number in range(1, QUESTIONS + 1):
            text = found.get(number)
            if text is None:
                problem = (f"{NOTEBOOK}: no answer cell for question {number} (keep the markdown cell that starts "
                           f"with **Answer {number}.** and write below that line).")
            elif PLACEHOLDER in text or len(text.replace(PLACEHOLDER, "").strip()) < ANSWER_MIN_CHARS:
                problem = (f"{NOTEBOOK}: question {number} is not answered (replace the placeholder in the cell "
                           f"**Answer {number}.** with a few sentences).")
            else:
                problem = None
            checks.add(f"answer {number} written", 1, problem)
        checks.note("(the answers are graded by the course staff, in the written report; this row only says whether "
                    "they are there)")
        finish(self, checks, set_score, "part3_answers")
