"""The command line: grade one zip, the Gradescope entry; exit statuses (regrade: tests/test_regrade.py)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import cli, paths
from autograder.grading import rubric, runner, submission

SUBMITTED = ("functions.py", "layers.py", "train.py", "two_layer_net.py")
MODULE = "section1_layers"  # graded quickly; has a hidden item (2.7)


def _stub_folder(student_tree: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in SUBMITTED:
        for sub in ("backprop", "neuralnet"):
            if (student_tree / sub / name).is_file():
                shutil.copyfile(student_tree / sub / name, folder / name)
    return folder


def _zip(folder: Path, zip_path: Path, top: str | None = None) -> Path:
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{top}/{path.name}" if top else path.name)
    return zip_path


def _items(module: str) -> list:
    return sorted(item.number for item in rubric.RUBRIC.values() if item.check == module)


def test_grade_zip_end_to_end(student_tree, tmp_path):
    zip_path = _zip(_stub_folder(student_tree, tmp_path / "alice"), tmp_path / "alice.zip", top="alice")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(zip_path), "--out", str(out),
                           "--modules", MODULE], cwd=paths.REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    runner.validate(results)
    assert sorted(t["number"] for t in results["tests"]) == _items(MODULE)
    assert results["score"] == 0  # the untouched starter earns nothing
    assert "Total: 0 /" in proc.stdout
    hidden = [item.number for item in rubric.RUBRIC.values() if item.check == MODULE and item.visibility != "visible"]
    for number in hidden:
        assert f"  {number}  " not in proc.stdout  # hidden rows only with --show-hidden
    assert "Traceback" not in proc.stdout


def test_grade_show_hidden_and_bad_zips(student_tree, tmp_path, capsys):
    zip_path = _zip(_stub_folder(student_tree, tmp_path / "alice"), tmp_path / "alice.zip", top="alice")
    assert cli.main(["grade", str(zip_path), "--out", str(tmp_path / "a"), "--modules", MODULE,
                     "--show-hidden"]) == 0
    shown = capsys.readouterr().out
    for number in _items(MODULE):
        assert f"{number}  " in shown

    garbage = tmp_path / "bob.zip"
    garbage.write_bytes(b"this is not a zip")
    assert cli.main(["grade", str(garbage), "--out", str(tmp_path / "b"), "--modules", MODULE]) == 0
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    runner.validate(results)
    assert results["score"] == 0 and "not a valid zip" in results["output"]
    assert sorted(t["number"] for t in results["tests"]) == _items(MODULE)

    nothing = tmp_path / "carol.zip"  # no folder and no code at the top: nothing to grade
    with zipfile.ZipFile(nothing, "w") as archive:
        archive.writestr("notes.txt", "hello\n")
    assert cli.main(["grade", str(nothing), "--out", str(tmp_path / "c"), "--modules", MODULE]) == 0
    results = json.loads((tmp_path / "c" / "results.json").read_text())
    runner.validate(results)
    assert results["score"] == 0 and "folder" in results["output"]

    escaping = tmp_path / "dave.zip"  # unsafe zips are still refused before anything is graded
    with zipfile.ZipFile(escaping, "w") as archive:
        archive.writestr("../layers.py", "x = 1\n")
    assert cli.main(["grade", str(escaping), "--out", str(tmp_path / "d"), "--modules", MODULE]) == 0
    results = json.loads((tmp_path / "d" / "results.json").read_text())
    runner.validate(results)
    assert results["score"] == 0 and "'..'" in results["output"]
    assert "submission_error" in results["extra_data"]

    assert cli.main(["grade", str(tmp_path / "missing.zip")]) == cli.EXIT_USAGE


def test_grade_zip_with_loose_files_is_graded_like_gradescope(student_tree, tmp_path, monkeypatch):
    """Gradescope grades files at the top of the upload (run: gradescope_submission_folder); so does grade."""
    loose = _zip(_stub_folder(student_tree, tmp_path / "carol"), tmp_path / "carol.zip")  # no top folder
    graded = []
    real = runner.grade_folder

    def recording(folder, **kwargs):
        graded.append(sorted(p.name for p in Path(folder).iterdir()))
        return real(folder, **kwargs)

    monkeypatch.setattr(runner, "grade_folder", recording)
    results = submission.grade_path(loose, tmp_path / "out" / "results.json", modules=[MODULE])
    runner.validate(results)
    assert graded == [sorted(SUBMITTED)]  # the submission root itself was graded
    assert "submission_error" not in results.get("extra_data", {})
    assert submission.SUBMISSION_UNREADABLE not in (results.get("output") or "")
    assert sorted(t["number"] for t in results["tests"]) == _items(MODULE)


def test_grade_zip_ignores_the_zip_name(tmp_path, monkeypatch):
    """Gradescope renames uploads: the grader never compares the folder with the zip's name."""
    zip_path = tmp_path / "submission (1).zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("asmith/layers.py", "x = 1\n")
    graded = []
    monkeypatch.setattr(runner, "grade_folder",
                        lambda folder, modules=None, **kw: graded.append(folder.name) or {"tests": []})
    assert submission.grade_path(zip_path) == {"tests": []}
    assert graded == ["asmith"]


def _gradescope_root(tmp_path: Path, student_tree: Path, nested: bool) -> Path:
    root = tmp_path / "autograder"
    (root / "results").mkdir(parents=True)
    submission = root / "submission"
    _stub_folder(student_tree, submission / "alice" if nested else submission)
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"name": "Alice"}]}))
    return root


@pytest.mark.parametrize("nested", [False, True])
def test_run_is_the_gradescope_entry(student_tree, tmp_path, monkeypatch, nested):
    root = _gradescope_root(tmp_path, student_tree, nested)
    graded = []
    real = runner.grade_folder

    def only_one_module(folder, **kwargs):
        graded.append(Path(folder))
        return real(folder, **dict(kwargs, modules=[MODULE]))

    monkeypatch.setattr(runner, "grade_folder", only_one_module)
    assert cli.main(["run", "--root", str(root)]) == 0
    results = json.loads((root / "results" / "results.json").read_text())
    runner.validate(results)
    expected = root / "submission" / "alice" if nested else root / "submission"
    assert [p.resolve() for p in graded] == [expected.resolve()]
    assert results["score"] == 0


def test_run_writes_valid_results_when_the_grader_crashes(student_tree, tmp_path, monkeypatch):
    root = _gradescope_root(tmp_path, student_tree, nested=True)

    def crash(root_dir):
        raise RuntimeError("grader bug")

    monkeypatch.setattr(submission, "run_gradescope", crash)
    assert cli.main(["run", "--root", str(root)]) == cli.EXIT_GRADER_FAILED
    results = json.loads((root / "results" / "results.json").read_text())
    runner.validate(results)
    assert results["score"] == 0 and "instructor" in results["output"]
    assert len(results["tests"]) == len(rubric.RUBRIC)


def test_run_outside_the_gradescope_layout_leaves_the_checkout_alone(student_tree, tmp_path, monkeypatch):
    root = _gradescope_root(tmp_path, student_tree, nested=False)
    before = {p.name: p.stat().st_mode for p in paths.REPO.iterdir()}
    real = runner.grade_folder
    monkeypatch.setattr(runner, "grade_folder", lambda folder, **kw: real(folder, **dict(kw, modules=[MODULE])))
    assert cli.main(["run", "--root", str(root)]) == 0
    assert {p.name: p.stat().st_mode for p in paths.REPO.iterdir()} == before
