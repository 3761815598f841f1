"""Which of the files a submission must hold are missing, and what that does to the rows that grade them.

The files are found the way the students' own ``check_submission.py`` finds them (its ``missing_files``: directly in
the submission folder; a file one folder down or under a near name, such as solver.py for solvers.py, is named but not
used). A row whose files (its ``needs`` in the part's declaration) are missing says which, instead of "not attempted":
the starter file stands in for a missing one, so such a row earns only what does not use it. A part the student did not hand in at all is graded as the starter
kit, and each of its rows says so first.

    rows = apply(rows, missing(session.submission_dir))
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Dict, Iterable, List

from autograder import parts, paths
from autograder.grading import rubric


def load_check_submission(kit_dir: Path) -> ModuleType:
    """The kit's check_submission.py, imported by path (it is a student script, not part of a package)."""
    path = Path(kit_dir) / "check_submission.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the submission's file list (REQUIRED_FILES) comes from it")
    spec = importlib.util.spec_from_file_location("dlkit_check_submission", path)
    assert spec is not None and spec.loader is not None  # a .py path always gives a loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=None)
def check_submission() -> ModuleType:
    """The kit's check_submission.py (the students' own checker: one implementation), loaded once per process so
    that its SubmissionError is one class for every caller."""
    return load_check_submission(paths.KIT)


def missing(submission_dir: Path) -> Dict[str, str]:
    """Handed-in file name -> what to tell the student, for each file of a switched-on part that is not usable."""
    wanted = {h.name for part in parts.enabled() for h in part.hand_in}
    found = check_submission().missing_files(Path(submission_dir))
    return {name: text for name, text in found.items() if name in wanted}


def not_handed_in(part: parts.Part, missing_files: Dict[str, str]) -> bool:
    """Whether none of the part's files is there, nor anywhere under a near name: the part was not attempted."""
    return all(h.name in missing_files and " (found " not in missing_files[h.name] for h in part.hand_in)


def apply(rows: List[dict], missing_files: Dict[str, str]) -> List[dict]:
    """The rows with the missing files named: which file and where it was found for a row whose files are missing
    (from a part handed in at least in part); a first line for each row of a part not handed in at all. Scores are
    never raised."""
    if not missing_files:
        return rows
    by_number = {item.number: (item_id, item) for item_id, item in rubric.RUBRIC.items()}
    out = []
    for row in rows:
        item_id, item = by_number.get(row.get("number"), (None, None))
        part = parts.PARTS.get(item.part) if item is not None else None
        if part is None:
            out.append(row)
            continue
        absent = [name for name in part.needs(item_id) if name in missing_files]
        if not absent:
            out.append(row)
        elif not_handed_in(part, missing_files):
            names = ", ".join(h.name for h in part.hand_in)
            note = (f"Your submission has none of this part's files ({names}): it is graded as the starter kit, "
                    "so nothing here counts as done.")
            out.append({**row, "output": f"{note}\n{row.get('output', '')}".strip()})
        else:
            # The starter's file stood in for the missing one: what the row scored is kept (it did not use the
            # file), and its own message follows unless it is the stand-in's "not attempted".
            lines = [missing_files[name] for name in absent]
            lines.append(f"This check grades {', '.join(part.needs(item_id))}.")
            own = str(row.get("output") or "")
            if own and "not attempted" not in own:
                lines.append(own)
            out.append({**row, "output": "\n".join(lines)})
    return out


def summary(missing_files: Dict[str, str], names: List[str]) -> str:
    """One line for the top of the feedback: 'solvers.py (found solver.py), lab.ipynb', or the folder they all sit in
    when every file is one folder too deep."""
    import re
    found = {name: re.search(r"\(found ([^):]+)", text) for name, text in missing_files.items()}
    deeper = {name: m.group(1) for name, m in found.items() if m and "/" in m.group(1)}
    folders = {where.rsplit("/", 1)[0] for where in deeper.values()}
    if len(deeper) >= 2 and len(folders) == 1 and any(name in deeper for name in names):
        rest = [name for name in names if name not in deeper]
        return (f"your files sit in the folder {folders.pop()}/ instead of the top of your submission: zip the "
                f"folder that holds them, not a folder around it" + (f"; also {', '.join(rest)}" if rest else ""))
    return ", ".join(name + (f" (found {found[name].group(1)})" if found[name] else "") for name in names)


def incomplete(missing_files: Dict[str, str], item_ids: Iterable[str]) -> List[str]:
    """The missing files an instructor should hear about: those the graded rows ``item_ids`` need, except the files
    of an extra-credit part the student did not hand in at all (in the parts' order)."""
    needed = set()
    for item_id in item_ids:
        item = rubric.RUBRIC.get(item_id)
        part = parts.PARTS.get(item.part) if item is not None else None
        if part is not None and not (part.extra_credit and not_handed_in(part, missing_files)):
            needed.update(part.needs(item_id))
    return [h.name for part in parts.enabled() for h in part.hand_in if h.name in needed and h.name in missing_files]
