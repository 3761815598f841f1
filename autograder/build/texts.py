"""Texts generated from rubric.py: `python -m autograder build` rewrites them in the sources, tests prove them current.

Every number a student or an instructor reads that rubric.py holds (points, accuracy thresholds, targets, the
grading time limit) is generated, in one of four forms:

* a block region in Markdown (also inside a notebook's markdown cells; the comments do not render)::

    <!-- generated: NAME (from rubric.py) -->
    ...
    <!-- end generated: NAME -->

* an inline span in Markdown (or a notebook's markdown): ``<!-- gen: NAME -->...<!-- /gen -->`` on one line;
* a whole Python assignment ``NAME = ...`` (PY_LINES);
* a whole line starting with a given prefix, e.g. a docstring line (PREFIX_LINES);
* a whole generated file (WHOLE_FILES: the report templates).

To add one: write a renderer below, list it in MD_REGIONS, INLINE, PY_LINES, PREFIX_LINES or WHOLE_FILES, put the
markers in the file, and run ``python -m autograder build`` (or ``texts.sync()``). ``tests/test_docs.py`` fails
while any text is stale, its markers are gone, or a rubric number is typed by hand outside a generated text.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from autograder import paths
from autograder.grading import rubric


def _parts_line() -> str:
    return f"PARTS = {rubric.enabled_part_names()!r}"


def _pct(value: float) -> str:
    return f"{value:g} %"


def part1_accuracy() -> str:
    t = rubric.THRESHOLDS["part1_accuracy"]
    above = "above" if t.get("strict") else "at or above"
    return f"full credit {above} {_pct(t['full'])} test accuracy, partial credit from {_pct(t['partial'])}"


def checkpoint_accuracy() -> str:
    t = rubric.THRESHOLDS["checkpoint_accuracy"]
    above = "above" if t.get("strict") else "at or above"
    return (f"full credit {above} {_pct(t['full'])} CIFAR-10 test accuracy, partial credit from "
            f"{_pct(t['partial'])}")


def best_target() -> str:
    return f">= {_pct(rubric.THRESHOLDS['checkpoint_accuracy']['full'])} validation accuracy"


def overfit_target() -> str:
    return f">= {_pct(rubric.OVERFIT_TRAIN_ACCURACY)} training accuracy"


def grading_wall() -> str:
    return f"{rubric.GRADING_WALL_SECONDS} s"


def points_table() -> str:
    """Points per task for the student README: every rubric row of the enabled parts, then the written report."""
    lines = ["| task | row | what is graded | points |", "|---|---|---|---|"]
    by_task: Dict[str, List[rubric.Item]] = {}
    for item in rubric.RUBRIC.values():
        by_task.setdefault(item.number.split(".")[0], []).append(item)
    for task in sorted(by_task, key=int):
        items = sorted(by_task[task], key=lambda i: tuple(int(p) for p in i.number.split(".")))
        lines.append(f"| **{rubric.TASKS.get(task, 'Task ' + task)}** | | | **{sum(i.points for i in items):g}** |")
        for item in items:
            note = {"hidden": " (hidden until grades are published)", "after_published": " (shown when grades are "
                    "published)", "after_due_date": " (shown after the due date)"}.get(item.visibility, "")
            points = f"{item.points:g}" if item.points else "0 (feedback only)"
            lines.append(f"| | {item.number} | {item.name}{note} | {points} |")
    lines.append(f"| **autograder total** | | | **{rubric.total_points():g}** |")
    lines.append(f"| **written report** (PDF, graded by hand: `report/`) | | | **{rubric.report_points():g}** |")
    for item in rubric.report_items():
        lines.append(f"| | {item.number} | {item.title} | {item.points:g} |")
    return "\n".join(lines)


def _manual_rubric() -> str:
    from autograder.build import report
    return report.manual_rubric_markdown()


def _report_md() -> str:
    from autograder.build import report
    return report.template_markdown()


def _report_tex() -> str:
    from autograder.build import report
    return report.template_latex()


def _checkpoint_threshold() -> str:
    item, t = rubric.ALL_ITEMS["checkpoint_accuracy"], rubric.THRESHOLDS["checkpoint_accuracy"]
    return (f"{item.number} `checkpoint_accuracy` ({item.points:g} points): full credit from {t['full']:g} % CIFAR-10 "
            f"test accuracy, linear from {t['partial']:g} % (0 at or below it).")


# (file relative to the repository, region name) -> renderer
MD_REGIONS: Dict[Tuple[str, str], Callable[[], str]] = {
    ("README.md", "rubric table"): rubric.markdown_table,
    ("STUDENT-README.md", "points per task"): points_table,
    ("docs/manual-rubric.md", "manual rubric"): _manual_rubric,
    ("README.md", "checkpoint threshold"): _checkpoint_threshold,
}
# inline span name -> renderer; every file in INLINE_FILES is searched for the spans (an unknown name is an error)
INLINE: Dict[str, Callable[[], str]] = {
    "part1 accuracy": part1_accuracy,
    "checkpoint accuracy": checkpoint_accuracy,
    "best target": best_target,
    "overfit target": overfit_target,
    "grading wall": grading_wall,
}


def _points(item_id: str) -> Callable[[], str]:
    def render() -> str:
        item = rubric.ALL_ITEMS[item_id]
        return f"{item.number}: {item.points:g} points"
    return render


# "points <rubric id>" -> "5.2: 10 points", for every rubric row
INLINE.update({f"points {item_id}": _points(item_id) for item_id in rubric.ALL_ITEMS})
INLINE_FILES = ("README.md", "STUDENT-README.md", "docs/architecture.md", "part1.ipynb", "part2.ipynb")
# (file relative to the repository, assigned name) -> renderer of the whole line
PY_LINES: Dict[Tuple[str, str], Callable[[], str]] = {
    ("check_submission.py", "PARTS"): _parts_line,
}
# (file, the line's start) -> renderer of the whole line (which must start with that prefix)
PREFIX_LINES: Dict[Tuple[str, str], Callable[[], str]] = {
    ("neuralnet/train.py", "    python train.py --overfit    # your overfit setting"):
        lambda: f"    python train.py --overfit    # your overfit setting ({overfit_target()})",
    ("neuralnet/train.py", "    #     # TODO: an overfit setting"):
        lambda: f"    #     # TODO: an overfit setting ({overfit_target()}): change these values",
    ("neuralnet/train.py", "    #     # TODO: your best model"):
        lambda: f"    #     # TODO: your best model ({best_target()}): change these values",
    ("neuralnet/train.py", "Targets: the best model"):
        lambda: f"Targets: the best model {best_target()}; the overfit setting {overfit_target()}.",
}
# whole files (relative to the repository) -> renderer of the whole content
WHOLE_FILES: Dict[str, Callable[[], str]] = {
    "report/report-template.md": _report_md,
    "report/report-template.tex": _report_tex,
}


class StaleText(Exception):
    pass


def _md_pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {re.escape(name)} \(from rubric\.py\) -->\n)(.*?)"
                      rf"(\n<!-- end generated: {re.escape(name)} -->)", re.S)


INLINE_PATTERN = re.compile(r"(<!-- gen: ([^>]*?) -->)(.*?)(<!-- /gen -->)")


def _render_markdown(relative: str, text: str, regions_found: set) -> str:
    for (path, name), render in MD_REGIONS.items():
        if path != relative:
            continue
        pattern = _md_pattern(name)
        if pattern.search(text):
            regions_found.add(name)
            text = pattern.sub(lambda m: m.group(1) + render() + m.group(3), text, count=1)
    if relative in INLINE_FILES:
        def inline(match: re.Match) -> str:
            name = match.group(2)
            if name not in INLINE:
                raise StaleText(f"{relative}: unknown generated span '{name}' (texts.INLINE lists the names)")
            return match.group(1) + INLINE[name]() + match.group(4)
        text = INLINE_PATTERN.sub(inline, text)
    return text


def _render_notebook(relative: str, text: str, regions_found: set) -> str:
    notebook = json.loads(text)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        new = _render_markdown(relative, source, regions_found)
        if new != source:
            cell["source"] = new.splitlines(keepends=True) if isinstance(cell["source"], list) else new
    rendered = json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    return text if json.loads(rendered) == json.loads(text) else rendered


def _render_file(relative: str, text: str) -> str:
    if relative in WHOLE_FILES:
        return WHOLE_FILES[relative]()
    found: set = set()
    if relative.endswith(".ipynb"):
        text = _render_notebook(relative, text, found)
    elif relative.endswith(".md"):
        text = _render_markdown(relative, text, found)
    for (path, name), _ in MD_REGIONS.items():
        if path == relative and name not in found:
            raise StaleText(f"{relative}: the markers of the generated region '{name}' are missing")
    # Whole generated lines: `NAME = ...` assignments (PY_LINES) and lines starting with a prefix (PREFIX_LINES).
    lines = [(path, rf"^{re.escape(name)} = .*$", f"the generated line '{name} = ...'", render)
             for (path, name), render in PY_LINES.items()]
    lines += [(path, rf"^{re.escape(prefix)}.*$", f"the generated line starting {prefix.strip()!r}", render)
              for (path, prefix), render in PREFIX_LINES.items()]
    for path, regex, what, render in lines:
        if path != relative:
            continue
        pattern = re.compile(regex, re.M)
        if not pattern.search(text):
            raise StaleText(f"{relative}: {what} is missing")
        text = pattern.sub(lambda m: render(), text, count=1)
    return text


def files() -> List[str]:
    return sorted({path for path, _ in MD_REGIONS} | {path for path, _ in PY_LINES} | set(INLINE_FILES)
                  | {path for path, _ in PREFIX_LINES} | set(WHOLE_FILES))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def stale(root: Path = paths.REPO) -> List[str]:
    """The files whose generated texts differ from what rubric.py gives now (relative names)."""
    return [relative for relative in files()
            if _render_file(relative, _read(root / relative)) != _read(root / relative)]


def sync(root: Path = paths.REPO) -> List[str]:
    """Rewrite every stale generated text under ``root``; returns the files changed."""
    changed = []
    for relative in files():
        path = root / relative
        old = _read(path)
        new = _render_file(relative, old)
        if new != old:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new, encoding="utf-8")
            changed.append(relative)
    return changed
