"""Reading a notebook as data: its cells, outputs, figures and error outputs; the kit's given cells in it.

Used by every part's notebook checks (nothing here executes a notebook). A notebook is parsed with nbformat after a
size cap; :func:`inspect_notebook` summarizes what its saved outputs show; :func:`check_given_cells` says whether the
kit's given code cells (the reference notebook's code cells with their solution regions masked) are all there, in
order, unchanged outside their TODO regions, and were run in order. Figures count only from MIN_FIGURE_PIXELS a side.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import nbformat

from autograder import paths
from autograder.grading import rubric

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # a notebook with its figures is well under 1 MB; this only stops abuse


@dataclass
class NotebookReport:
    """What a notebook's saved outputs show (read as data, never executed)."""
    code_cells: int = 0
    unexecuted: List[int] = field(default_factory=list)  # 1-based numbers of non-empty code cells never run
    errors: List[str] = field(default_factory=list)  # "cell N: ExceptionName: message" per error output
    images: int = 0  # image/png outputs (figures) of at least MIN_FIGURE_PIXELS a side
    text: str = ""  # every stream and text/plain output, joined
    cells: List[Tuple[str, Optional[int], str]] = field(default_factory=list)  # per code cell: (source, count, text)
    tiny_images: int = 0  # image/png outputs too small to be a figure, or unreadable


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Parse a notebook file as data.

    Raises:
        ValueError: the file is too large or is not a notebook (the message says which, for the student).
    """
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{path.name} is {size / 1e6:.1f} MB (at most {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB)")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path.name} is not a readable Jupyter notebook (not JSON: {type(exc).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", data.get("worksheets")), list):
        raise ValueError(f"{path.name} is not a readable Jupyter notebook (no list of cells)")
    try:
        with warnings.catch_warnings():  # nbformat's notes on old notebooks (missing cell ids) are not for students
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)  # also converts old (v3) notebooks
    except nbformat.ValidationError:
        # A schema detail (e.g. an editor's extra or missing field) must not hide the saved outputs: read as is.
        nb = nbformat.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # nbformat's own errors (NBFormatError is a ValueError) and conversions tripping over malformed parts.
        raise ValueError(f"{path.name} is not a readable Jupyter notebook ({type(exc).__name__})") from None
    if not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path.name} is not a readable Jupyter notebook (no list of cells)")
    return nb


def _text_of(value) -> str:
    """Notebook text fields are a string or a list of strings."""
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return value if isinstance(value, str) else ""


def inspect_notebook(nb: nbformat.NotebookNode) -> NotebookReport:
    """Summarize a parsed notebook's execution state and outputs."""
    report = NotebookReport()
    texts = []
    for cell in nb.cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        report.code_cells += 1
        count = cell.get("execution_count")
        count = count if isinstance(count, int) and not isinstance(count, bool) else None
        if _text_of(cell.get("source")).strip() and count is None:
            report.unexecuted.append(report.code_cells)
        first_text = len(texts)
        outputs = cell.get("outputs")
        for output in outputs if isinstance(outputs, list) else []:
            if not isinstance(output, dict):
                continue
            kind = output.get("output_type")
            if kind == "error":
                report.errors.append(f"code cell {report.code_cells}: {_text_of(output.get('ename'))}: "
                                     f"{_text_of(output.get('evalue'))[:200]}")
            elif kind == "stream":
                texts.append(_text_of(output.get("text")))
            elif kind in ("display_data", "execute_result"):
                data = output.get("data")
                if isinstance(data, dict):
                    if "image/png" in data:
                        size = png_size(_text_of(data.get("image/png")))
                        if size is not None and min(size) >= rubric.MIN_FIGURE_PIXELS:
                            report.images += 1
                        else:
                            report.tiny_images += 1
                    texts.append(_text_of(data.get("text/plain")))
        report.cells.append((_text_of(cell.get("source")), count, "\n".join(texts[first_text:])))
    report.text = "\n".join(texts)
    return report


def png_size(encoded: str) -> Optional[Tuple[int, int]]:
    """(width, height) of a base64 PNG from its IHDR header, or None when it is not a PNG."""
    try:
        head = base64.b64decode("".join(encoded.split())[:64] + "==", validate=False)[:24]
    except (binascii.Error, ValueError):
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


# ---------------------------------------------------------------------------------------------------------------
# The kit's given cells


_MARKER_LINE = re.compile(r"^\s*# (BEGIN|END) (SOLUTION|PROMPT)\b")
_WILDCARD = None  # a TODO region in a template: any lines


def _code_lines(source: str) -> List[str]:
    """The lines that count when comparing cells: code only (blank and comment-only lines dropped, right-stripped)."""
    return [line.rstrip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]


def given_cell_templates(reference_nb: nbformat.NotebookNode) -> List[List[Optional[str]]]:
    """Per code cell of the marked reference notebook: its code lines, each solution region (with the prompt that
    follows it) replaced by one wildcard (None) that matches any lines, the student's own code included."""
    templates = []
    for cell in reference_nb.cells:
        if cell.get("cell_type") != "code":
            continue
        template: List[Optional[str]] = []
        inside = None
        for line in _text_of(cell.get("source")).splitlines():
            marker = _MARKER_LINE.match(line)
            if marker:
                kind = " ".join(marker.groups())
                if kind in ("BEGIN SOLUTION", "BEGIN PROMPT"):
                    inside = kind
                    if template[-1:] != [_WILDCARD]:
                        template.append(_WILDCARD)
                else:
                    inside = None
                continue
            if inside is None and line.strip() and not line.strip().startswith("#"):
                template.append(line.rstrip())
        if any(part is not None for part in template):
            templates.append(template)
    return templates


def _matches(template: List[Optional[str]], lines: List[str]) -> bool:
    pattern = "".join("(?:[^\n]*\n)*?" if part is None else re.escape(part) + "\n" for part in template)
    return re.fullmatch(pattern, "".join(line + "\n" for line in lines)) is not None


def _first_mismatch(template: List[Optional[str]], cells: List[List[str]]) -> str:
    """Where ``template`` stops matching the most similar of ``cells`` (for the message): the first given line not
    found in its place, or the first line the student added outside a TODO region."""
    fixed = {part.strip() for part in template if part is not None}
    best = max(cells, key=lambda lines: len(fixed & {line.strip() for line in lines}), default=[])
    position, free = 0, False
    for part in template:
        if part is None:
            free = True
            continue
        if free:
            found = next((j for j in range(position, len(best)) if best[j] == part), None)
        else:
            found = position if position < len(best) and best[position] == part else None
        if found is None:
            return f"first given line not found in its place: `{part.strip()[:80]}`"
        position, free = found + 1, False
    if position < len(best) and not free:
        return f"a line added outside the TODO region: `{best[position].strip()[:80]}`"
    return "its given lines are not all there"


def check_given_cells(report: NotebookReport, reference_nb: nbformat.NotebookNode,
                      wanted: Tuple[str, ...] = (), executed: bool = True) -> Tuple[List[str], Dict[str, str]]:
    """Whether the kit's given code cells are all in ``report``'s notebook, in order, unchanged outside their TODO
    regions, and (``executed``) executed in order.

    Args:
        wanted: pieces of given-cell source whose matched cell's output text is returned.
        executed: also require the saved execution counts to increase (a notebook the grader runs itself: no).
    Returns:
        (student-facing problems, empty when all is well; {piece: output text of the matched cell}).
    """
    templates = given_cell_templates(reference_nb)
    cells = [(_code_lines(source), count, text) for source, count, text in report.cells]
    problems, texts = [], {}
    position, last_count = 0, 0
    for number, template in enumerate(templates, start=1):
        found = next((i for i in range(position, len(cells)) if _matches(template, cells[i][0])), None)
        head = next(part for part in template if part is not None)
        if found is None:
            where = _first_mismatch(template, [lines for lines, _, _ in cells[position:]])
            problems.append(f"the kit's code cell {number} (it starts with `{head[:60]}`) is missing or was changed "
                            f"outside its TODO region ({where}): start again from the kit's notebook and write "
                            f"your code only where it says TODO")
            continue
        lines, count, text = cells[found]
        if executed and (count is None or count <= last_count):
            problems.append(f"the kit's code cell {number} (it starts with `{head[:60]}`) was not run after the cells "
                            f"above it: restart the kernel, run all cells in order and save the notebook")
        last_count = count if count is not None else last_count
        position = found + 1
        for piece in wanted:
            if any(piece in part for part in template if part is not None):
                texts[piece] = text
    return problems[:4], texts


def reference_notebook(name: str) -> nbformat.NotebookNode:
    """The marked reference notebook shipped with the grader (paths.KIT)."""
    return nbformat.read(str(paths.KIT / name), as_version=4)


def execution_problems(report: NotebookReport) -> List[str]:
    """Student-facing reasons why a notebook does not count as executed cleanly (empty list: it does)."""
    problems = []
    if report.code_cells == 0:
        problems.append("it has no code cells")
    if report.unexecuted:
        cells = ", ".join(str(n) for n in report.unexecuted[:10])
        problems.append(f"code cell(s) {cells} were not run: run the whole notebook (Run All) and save it with its "
                        f"outputs")
    for error in report.errors[:5]:
        problems.append(f"error output in {error}: fix it and rerun the notebook")
    return problems
