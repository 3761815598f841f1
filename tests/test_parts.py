"""The part manifest (autograder/parts): one declaration per part, read by everything else.

* every file a part hands in is known to check_submission (its generated PART_FILES), make_submission and the grader
  (the part's sandbox workspace, the reference submission);
* switching any part off (``enabled=False`` in its declaration, in a scratch copy of the repository) and building
  leaves no mention of it in anything shipped: the student zip, the solution zip, the autograder zip;
* declarations that clash (a row number, a rubric id, a file, a kit entry declared twice) are refused, naming both;
* the grading core never names a part: no module outside a part's own files (``<part>_*.py``) says a part's key.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import parts, paths
from autograder.grading import handed_in, rubric
from autograder.grading.student_code import Workspace

TEXT_SUFFIXES = (".py", ".md", ".ipynb", ".txt", ".sh", ".tex", ".json", ".cfg", ".toml")
SHIPPED = ("student-kit.zip", "solution-kit.zip", "autograder.zip")


def test_every_handed_in_file_is_known_to_check_submission_make_submission_and_the_grader(tmp_path):
    check = handed_in.load_check_submission(paths.KIT)
    sys.path.insert(0, str(paths.KIT))
    try:
        import make_submission
    finally:
        sys.path.remove(str(paths.KIT))
    missing = "\n".join(make_submission.missing_files(tmp_path))  # an empty kit: every file is missing
    for part in parts.enabled():
        assert set(check.PART_FILES[part.key]) == {h.name for h in part.hand_in}, part.key
        for hand_in in part.hand_in:
            assert check.KIT_SOURCES[hand_in.name] == (hand_in.kit_path, hand_in.hint)
            assert f"{hand_in.kit_path} is missing: {hand_in.hint}." in missing
            folder = tmp_path / part.key
            folder.mkdir(exist_ok=True)
            (folder / hand_in.name).write_bytes(b"x")
        ws = Workspace.for_part(part, tmp_path / part.key, paths.REPO / "build" / "student")
        try:
            assert {h.in_workspace for h in part.hand_in} <= set(ws.files()), part.key
        finally:
            ws.cleanup()
    assert set(check.PART_FILES) == {part.key for part in parts.enabled()}


@pytest.mark.parametrize("key", list(parts.PARTS))
def test_a_switched_off_part_leaves_the_kit_the_rubric_and_the_texts(patch_part, key):
    from autograder.build import markers, texts
    part = parts.PARTS[key]
    patch_part(key, enabled=False)
    assert not set(part.kit_entries) & set(paths.kit_entries())
    assert not {p.parts[0] for p in markers.kit_files(paths.KIT)} & set(part.kit_entries)
    assert not set(part.rows) & set(rubric.RUBRIC) and set(part.rows) <= set(rubric.ALL_ITEMS)
    assert f"{key!r}" not in texts.hand_in_files_block()
    assert part.title not in texts.points_table() + texts.hand_in_list()
    assert part.readme.splitlines()[0] not in texts.part_sections()
    assert rubric.total_points() == sum(p.points for i, p in rubric.ALL_ITEMS.items()
                                        if i not in part.rows and not parts.PARTS[p.part].extra_credit)


def test_clashing_declarations_are_refused_naming_both():
    section1, section2 = parts.PARTS["section1"], parts.PARTS["section2"]
    fc = section1.rows["fc_forward"]
    clash = dataclasses.replace(section2, rows={**section2.rows, "extra": dataclasses.replace(fc, part="")})
    with pytest.raises(parts.PartError, match=r"row number '2.1' is declared by both section1 row 'fc_forward' and "
                                              r"section2 row 'extra'"):
        parts.check([section1, clash])
    clash = dataclasses.replace(section2, hand_in=section2.hand_in + section1.hand_in[:1])
    with pytest.raises(parts.PartError, match="handed-in file 'functions.py' is declared by both section1 and "
                                              "section2"):
        parts.check([section1, clash])


def test_the_grading_core_never_names_a_part():
    """Outside a part's own files (autograder/parts/<key>.*, autograder/**/<key>_*.py) no module says a part's key:
    adding or removing a part changes no core module."""
    keys = list(parts.PARTS)
    named = []
    for path in sorted((paths.REPO / "autograder").rglob("*.py")):
        if parts.owner(path) is not None or "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for key in keys:
            for match in re.finditer(rf"\b{re.escape(key)}\b", text):
                line = text[:match.start()].count("\n") + 1
                named.append(f"{path.relative_to(paths.REPO)}:{line}: {key}")
    assert named == [], "\n".join(named)


def scratch_repository(tmp_path: Path) -> Path:
    """A throwaway copy of the repository: its sources, without git, the venv, build outputs, caches or tests."""
    top_level = {".git", ".venv", "dist", "build", ".cache", ".pytest_cache", "data", "tests", "bench"}

    def ignore(folder, names):
        skipped = {"__pycache__", ".ipynb_checkpoints"}
        return [n for n in names if n in skipped or (Path(folder) == paths.REPO and n in top_level)]
    root = tmp_path / "repo"
    shutil.copytree(paths.REPO, root, symlinks=True, ignore=ignore)
    return root


def _switch_off(root: Path, key: str) -> None:
    declaration = root / "autograder" / "parts" / f"{key}.py"
    declaration.write_text(declaration.read_text() + "\nimport dataclasses as _dc\n"
                           "PART = _dc.replace(PART, enabled=False)\n")


def _mentions(text: str, part: parts.Part) -> list:
    found = []
    for mark in part.marks():
        pattern = rf"(?<![\w.-]){re.escape(mark)}(?![\w-])"
        if re.search(pattern, text):
            found.append(mark)
    return found


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize("key", list(parts.PARTS))
def test_switching_a_part_off_leaves_no_trace_in_what_is_shipped(tmp_path, key, cifar10_dir):
    root = scratch_repository(tmp_path)
    _switch_off(root, key)
    script = ("from autograder.build import kits; "
              "kits.build_all('dist', with_reference_artifacts=False, student_dir='build/student')")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "DLKIT_CACHE": str(paths.cache_dir()),
           "DLKIT_DATA": str(paths.data_root()), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    part = parts.PARTS[key]
    traces = []
    for name in SHIPPED:
        with zipfile.ZipFile(root / "dist" / name) as archive:
            for info in archive.infolist():
                marks = _mentions(info.filename, part)
                if info.filename.endswith(TEXT_SUFFIXES):
                    marks += _mentions(archive.read(info).decode("utf-8", errors="replace"), part)
                traces += [f"{name}: {info.filename}: {mark}" for mark in dict.fromkeys(marks)]
    assert traces == [], "\n".join(traces)
    # and the grader of that build grades the other parts' rows only
    assert rubric.total_points() > 0
