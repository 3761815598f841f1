"""Texts generated from the parts' declarations: `python -m autograder build` rewrites them in the sources, tests
prove them current.

Every number a student or an instructor reads that a declaration holds (points, accuracy thresholds, targets, the
grading time limit), every list of a part's files or tasks, and the student README's sections of the switched-on parts
are generated, in one of these forms:

* a block region in Markdown (also inside a notebook's markdown cells; the comments do not render)::

    <!-- generated: NAME -->
    ...
    <!-- end generated: NAME -->

* an inline span in Markdown (or a notebook's markdown): ``<!-- gen: NAME -->...<!-- /gen -->`` on one line;
* a block region in Python: the lines between ``# generated: NAME`` and ``# end generated: NAME``;
* a whole line starting with a given prefix, e.g. a docstring line (a part's ``Texts.prefix_lines``);
* a whole generated file (WHOLE_FILES: the report templates).

The core texts are listed below; a part adds its own in ``Part.texts`` (autograder/parts/<part>.py). To add one:
write a renderer, list it, put the markers in the file, and run ``python -m autograder build`` (or ``texts.sync()``).
``tests/test_docs.py`` fails while any text is stale, its markers are gone, or a rubric number is typed by hand
outside a generated text.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

from autograder import parts, paths
from autograder.grading import rubric

# The student README's sections come from autograder/parts/<part>.md: their spans are kept current there too.
PART_SECTIONS = "autograder/parts"


def grading_wall() -> str:
    return f"{rubric.GRADING_WALL_SECONDS} s"


VISIBILITY_NOTES = {"hidden": " (hidden until grades are published)",
                    "after_published": " (shown when grades are published)",
                    "after_due_date": " (shown after the due date)"}


def points_table() -> str:
    """Points per task for the student README: every row of the enabled parts, the homework's maximum, the extra
    credit on top, then the written report."""
    lines = ["| task | row | what is graded | points |", "|---|---|---|---|"]
    by_task: Dict[str, List[rubric.Item]] = {}
    for item in rubric.RUBRIC.values():
        by_task.setdefault(item.number.split(".")[0], []).append(item)
    for task in sorted(by_task, key=int):
        items = sorted(by_task[task], key=lambda i: rubric.number_key(i.number))
        lines.append(f"| **{rubric.TASKS.get(task, 'Task ' + task)}** | | | **{sum(i.points for i in items):g}** |")
        for item in items:
            points = f"{item.points:g}" if item.points else "0 (feedback only)"
            lines.append(f"| | {item.number} | {item.name}{VISIBILITY_NOTES.get(item.visibility, '')} | {points} |")
    lines.append(f"| **autograder total** | | | **{rubric.total_points():g}** |")
    if rubric.extra_credit_points():
        lines.append(f"| **extra credit** (on top of the total) | | | **{rubric.extra_credit_points():g}** |")
    lines.append(f"| **written report** (PDF, graded by hand: `report/`) | | | **{rubric.report_points():g}** |")
    for item in rubric.report_items():
        lines.append(f"| | {item.number} | {item.title} | {item.points:g} |")
    return "\n".join(lines)


def for_students_table() -> str:
    """The instructor README's "For students" table: what each enabled part asks and how to check it."""
    lines = ["| task | fill in | check it with (run from the folder) |", "|---|---|---|"]
    number = 0
    for part in parts.enabled():
        for todo in part.todo:
            number += 1
            lines.append(f"| {number}. {todo.task} | {todo.fill_in} | {todo.check_with} |")
    return "\n".join(lines)


def part_sections() -> str:
    """The student README's sections of the enabled parts (autograder/parts/<part>.md), spans rendered."""
    return "\n\n".join(_render_inline(part.readme.strip()) for part in parts.enabled())


def hand_in_list() -> str:
    """The student README's list of the files handed in, per enabled part."""
    lines = []
    for part in parts.enabled():
        files = ", ".join(f"`{h.name}`" + (f" (from `{h.kit_path}`)" if h.kit_path != h.name else "")
                          for h in part.hand_in)
        lines.append(f"* {part.title}: {files}")
    return "\n".join(lines)


def report_figures() -> str:
    """The student README's list of the figures the report template includes, and what makes each."""
    figures = [f"`{name}` ({source})" for item in rubric.report_items() for name, source in item.figures]
    if not figures:
        return "The report template includes no figure files."
    return ("Put the figures the template includes next to it (a missing one shows as a placeholder box): "
            + ", ".join(figures) + ".")


def hand_in_files_block() -> str:
    """check_submission.py's PART_FILES: per enabled part, each file handed in -> (its place in the kit, what to do
    when it is missing)."""
    lines = ["PART_FILES = {"]
    for part in parts.enabled():
        lines.append(f"    {part.key!r}: {{")
        for h in part.hand_in:
            lines.append(f"        {h.name!r}: ({h.kit_path!r},")
            lines.append(f"            {h.hint!r}),")
        lines.append("    },")
    lines.append("}")
    # What a missing file costs, in the rows' own numbers: make_submission.py and check_submission.py warn with it.
    lines.append("ROWS_NEEDING = {")
    for part in parts.enabled():
        for h in part.hand_in:
            numbers = [row.number for row_id, row in part.rows.items() if row.points > 0 and h.name in part.needs(row_id)]
            lines.append(f"    {h.name!r}: {row_span(numbers)!r},")
    lines.append("}")
    return "\n".join(lines)


def row_span(numbers: Sequence[str]) -> str:
    """["5.1", "5.2", "5.3", "6.2"] -> "rows 5.1-5.3 and 6.2": consecutive rows of a task as one range."""
    def key(number: str) -> Tuple[int, ...]:
        return tuple(int(x) for x in number.split("."))
    runs: List[List[str]] = []
    for number in sorted(dict.fromkeys(numbers), key=key):
        if runs:
            last = key(runs[-1][-1])
            here = key(number)
            if last[:-1] == here[:-1] and here[-1] == last[-1] + 1:
                runs[-1].append(number)
                continue
        runs.append([number])
    spans = [run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    if not spans:
        return "no graded row"
    listed = spans[0] if len(spans) == 1 else ", ".join(spans[:-1]) + " and " + spans[-1]
    return ("row " if len(numbers) == 1 else "rows ") + listed


def _manual_rubric() -> str:
    from autograder.build import report
    return report.manual_rubric_markdown()


def _report_md() -> str:
    from autograder.build import report
    return report.template_markdown()


def _report_tex() -> str:
    from autograder.build import report
    return report.template_latex()


def _points(item_id: str) -> Callable[[], str]:
    def render() -> str:
        item = rubric.ALL_ITEMS[item_id]
        return f"{item.number}: {item.points:g} points"
    return render


def md_regions() -> Dict[Tuple[str, str], Callable[[], str]]:
    """(file relative to the repository, region name) -> renderer."""
    regions = {
        ("README.md", "rubric table"): rubric.markdown_table,
        ("README.md", "for students"): for_students_table,
        ("STUDENT-README.md", "points per task"): points_table,
        ("STUDENT-README.md", "report figures"): report_figures,
        ("STUDENT-README.md", "parts"): part_sections,
        ("STUDENT-README.md", "hand in"): hand_in_list,
        ("docs/manual-rubric.md", "manual rubric"): _manual_rubric,
    }
    for part in parts.PARTS.values():
        regions.update(part.texts.md_regions)
    return regions


def inline_spans() -> Dict[str, Callable[[], str]]:
    """Inline span name -> renderer; every file of inline_files() is searched for the spans (an unknown name is an
    error). "points <rubric id>" -> "5.2: 10 points", for every declared row."""
    spans: Dict[str, Callable[[], str]] = {"grading wall": grading_wall}
    spans.update({f"points {item_id}": _points(item_id) for item_id in rubric.ALL_ITEMS})
    for part in parts.PARTS.values():
        spans.update(part.texts.inline)
    return spans


def inline_files() -> Tuple[str, ...]:
    files = ["README.md", "STUDENT-README.md", "docs/architecture.md"]
    files += [f"{PART_SECTIONS}/{part.key}.md" for part in parts.PARTS.values()]
    for part in parts.PARTS.values():
        files += list(part.texts.inline_files)
    return tuple(dict.fromkeys(files))


def py_blocks() -> Dict[Tuple[str, str], Callable[[], str]]:
    """(file, block name) -> renderer of the lines between ``# generated: NAME`` and ``# end generated: NAME``."""
    return {("check_submission.py", "hand-in files"): hand_in_files_block}


def prefix_lines() -> Dict[Tuple[str, str], Callable[[], str]]:
    """(file, the line's start) -> renderer of the whole line (which must start with that prefix)."""
    lines: Dict[Tuple[str, str], Callable[[], str]] = {}
    for part in parts.PARTS.values():
        lines.update(part.texts.prefix_lines)
    return lines


# whole files (relative to the repository) -> renderer of the whole content
WHOLE_FILES: Dict[str, Callable[[], str]] = {
    "report/report-template.md": _report_md,
    "report/report-template.tex": _report_tex,
}


class StaleText(Exception):
    pass


def _md_pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {re.escape(name)} -->\n)(.*?)(\n<!-- end generated: {re.escape(name)} -->)",
                      re.S)


def _py_pattern(name: str) -> re.Pattern:
    return re.compile(rf"(^# generated: {re.escape(name)}\b[^\n]*\n)(.*?)(\n# end generated: {re.escape(name)}$)",
                      re.S | re.M)


INLINE_PATTERN = re.compile(r"(<!-- gen: ([^>]*?) -->)(.*?)(<!-- /gen -->)")


def _render_inline(text: str, relative: str = "") -> str:
    spans = inline_spans()

    def inline(match: re.Match) -> str:
        name = match.group(2)
        if name not in spans:
            raise StaleText(f"{relative or 'a part section'}: unknown generated span '{name}' (texts.inline_spans)")
        return match.group(1) + spans[name]() + match.group(4)
    return INLINE_PATTERN.sub(inline, text)


def _render_markdown(relative: str, text: str, regions_found: set) -> str:
    for (path, name), render in md_regions().items():
        if path != relative:
            continue
        pattern = _md_pattern(name)
        if pattern.search(text):
            regions_found.add(name)
            text = pattern.sub(lambda m: m.group(1) + render() + m.group(3), text, count=1)
    if relative in inline_files():
        text = _render_inline(text, relative)
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


def render(relative: str, text: str) -> str:
    """``text`` (the content of the file ``relative``) with every generated text current."""
    if relative in WHOLE_FILES:
        return WHOLE_FILES[relative]()
    found: set = set()
    if relative.endswith(".ipynb"):
        text = _render_notebook(relative, text, found)
    elif relative.endswith(".md"):
        text = _render_markdown(relative, text, found)
    for (path, name), _ in md_regions().items():
        if path == relative and name not in found:
            raise StaleText(f"{relative}: the markers of the generated region '{name}' are missing")
    for (path, name), block in py_blocks().items():
        if path != relative:
            continue
        pattern = _py_pattern(name)
        if not pattern.search(text):
            raise StaleText(f"{relative}: the generated block '{name}' (# generated: {name}) is missing")
        text = pattern.sub(lambda m: m.group(1) + block() + m.group(3), text, count=1)
    for (path, prefix), line in prefix_lines().items():
        if path != relative:
            continue
        pattern = re.compile(rf"^{re.escape(prefix)}.*$", re.M)
        if not pattern.search(text):
            raise StaleText(f"{relative}: the generated line starting {prefix.strip()!r} is missing")
        text = pattern.sub(lambda m: line(), text, count=1)
    return text


def files() -> List[str]:
    """Every file that holds a generated text (the sources of switched-off parts too: their kit files stay in the
    repository)."""
    return sorted({path for path, _ in md_regions()} | {path for path, _ in py_blocks()} | set(inline_files())
                  | {path for path, _ in prefix_lines()} | set(WHOLE_FILES))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def stale(root: Path = paths.REPO) -> List[str]:
    """The files whose generated texts differ from what the declarations give now (relative names)."""
    return [relative for relative in files() if render(relative, _read(root / relative)) != _read(root / relative)]


def sync(root: Path = paths.REPO) -> List[str]:
    """Rewrite every stale generated text under ``root``; returns the files changed."""
    changed = []
    for relative in files():
        path = root / relative
        old = _read(path)
        new = render(relative, old)
        if new != old:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new, encoding="utf-8")
            changed.append(relative)
    return changed
