"""Section 3a: the part3.ipynb notebook (rubric items 6.4 and 6.5), read as data from its saved outputs.

Nothing in the notebook is executed (same reading as Section 2's notebooks, ``notebooks.read_notebook``):

* part3_notebook: executed without error outputs (half the points); at least two figures (the t-SNE plots of two
  features); the variance table the given cell prints (``| feature | D | within | between | total |
  between/within |``) with at least two rows, each consistent (within + between = total, ratio = between / within,
  as printed to 6 and 4 significant digits).
* part3_answers: the markdown cells that start with ``**Answer 1.**``, ``**Answer 2.**``, ``**Answer 3.**`` hold an
  answer (not empty, not the placeholder, at least ANSWER_MIN_CHARS characters), one third of the points each.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from autograder.grading import rubric
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.notebooks import execution_problems, inspect_notebook, read_notebook

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

    def _read(self):
        path = self.submission_dir / NOTEBOOK
        if not path.is_file():
            self.fail_with(f"{NOTEBOOK} not found in the submission.")
        try:
            return read_notebook(path)
        except ValueError as exc:
            self.fail_with(str(exc))

    @graded("part3_notebook")
    def test_part3_notebook(self, set_score=None):
        points = rubric.RUBRIC["part3_notebook"].points
        report = inspect_notebook(self._read())
        problems = execution_problems(report)
        score = 0.0 if problems else points / 2
        done = []
        if report.images >= FIGURES:
            score += points / 4
            done.append(f"{report.images} figures")
        else:
            problems.append(f"expected at least {FIGURES} figures (a t-SNE plot per feature), found {report.images}")
        rows = variance_table(report.text)
        bad = [p for p in (row_problem(r) for r in rows) if p]
        if len(rows) >= TABLE_ROWS and not bad:
            score += points / 4
            done.append(f"variance table with {len(rows)} features")
        elif bad:
            problems.extend(bad[:3])
        else:
            problems.append(f"the variance table (| feature | D | within | between | total | between/within |) "
                            f"with at least {TABLE_ROWS} features is not in the outputs (found {len(rows)} rows): "
                            f"run the whole notebook")
        set_score(round(score, 4))
        if problems:
            self.fail_with(f"{NOTEBOOK}: " + "\n".join(problems))
        print(f"{NOTEBOOK}: executed without errors ({report.code_cells} code cells); " + "; ".join(done) + ".")

    @graded("part3_answers")
    def test_part3_answers(self, set_score=None):
        points = rubric.RUBRIC["part3_answers"].points
        found = answers(self._read())
        problems, good = [], 0
        for number in range(1, QUESTIONS + 1):
            text = found.get(number)
            if text is None:
                problems.append(f"no answer cell for question {number} (keep the markdown cell that starts with "
                                f"**Answer {number}.** and write below that line)")
            elif PLACEHOLDER in text or len(text.replace(PLACEHOLDER, "").strip()) < ANSWER_MIN_CHARS:
                problems.append(f"question {number} is not answered (replace the placeholder in the cell "
                                f"**Answer {number}.** with a few sentences)")
            else:
                good += 1
        set_score(round(points * good / QUESTIONS, 4))
        if problems:
            self.fail_with(f"{NOTEBOOK}: " + "\n".join(problems))
        print(f"{NOTEBOOK}: all {QUESTIONS} questions answered (graded by hand for content).")
