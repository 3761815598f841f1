"""Texts generated from rubric.py: `python -m autograder build` rewrites them in the sources, tests prove them current.

A generated region in a Markdown file sits between two HTML comments::

    <!-- generated: NAME (python -m autograder build) -->
    ...
    <!-- end generated: NAME -->

and a generated Python line is a whole ``NAME = ...`` assignment listed in PY_LINES. To add one: write a renderer
below, list it in MD_REGIONS or PY_LINES, put the markers in the file, and run ``python -m autograder build``.
``tests/test_docs.py`` fails while any region is stale (or its markers are gone).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from autograder import paths
from autograder.grading import rubric


def _parts_line() -> str:
    return f"PARTS = {rubric.enabled_part_names()!r}"


def _checkpoint_threshold() -> str:
    item, t = rubric.ALL_ITEMS["checkpoint_accuracy"], rubric.THRESHOLDS["checkpoint_accuracy"]
    return (f"{item.number} `checkpoint_accuracy` ({item.points:g} points): full credit from {t['full']:g} % CIFAR-10 "
            f"test accuracy, linear from {t['partial']:g} % (0 at or below it).")


# (file relative to the repository, region name) -> renderer
MD_REGIONS: Dict[Tuple[str, str], Callable[[], str]] = {
    ("README.md", "rubric table"): rubric.markdown_table,
    ("README.md", "checkpoint threshold"): _checkpoint_threshold,
}
# (file relative to the repository, assigned name) -> renderer of the whole line
PY_LINES: Dict[Tuple[str, str], Callable[[], str]] = {
    ("check_submission.py", "PARTS"): _parts_line,
}


class StaleText(Exception):
    pass


def _md_pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {re.escape(name)} \(python -m autograder build\) -->\n)(.*?)"
                      rf"(\n<!-- end generated: {re.escape(name)} -->)", re.S)


def _render_file(relative: str, text: str) -> str:
    for (path, name), render in MD_REGIONS.items():
        if path != relative:
            continue
        pattern = _md_pattern(name)
        if not pattern.search(text):
            raise StaleText(f"{relative}: the markers of the generated region '{name}' are missing")
        text = pattern.sub(lambda m: m.group(1) + render() + m.group(3), text, count=1)
    for (path, name), render in PY_LINES.items():
        if path != relative:
            continue
        pattern = re.compile(rf"^{re.escape(name)} = .*$", re.M)
        if not pattern.search(text):
            raise StaleText(f"{relative}: the generated line '{name} = ...' is missing")
        text = pattern.sub(lambda m: render(), text, count=1)
    return text


def files() -> List[str]:
    return sorted({path for path, _ in MD_REGIONS} | {path for path, _ in PY_LINES})


def stale(root: Path = paths.REPO) -> List[str]:
    """The files whose generated texts differ from what rubric.py gives now (relative names)."""
    return [relative for relative in files()
            if _render_file(relative, (root / relative).read_text(encoding="utf-8"))
            != (root / relative).read_text(encoding="utf-8")]


def sync(root: Path = paths.REPO) -> List[str]:
    """Rewrite every stale generated text under ``root``; returns the files changed."""
    changed = []
    for relative in files():
        path = root / relative
        old = path.read_text(encoding="utf-8")
        new = _render_file(relative, old)
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed.append(relative)
    return changed
