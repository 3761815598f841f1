"""regrade: a class of four (perfect, starter, one bug, corrupt) as zips and as Gradescope's export, graded for real
with one graded module (section1_layers) to stay fast; the CSV, per-student files, summary and histogram; the corrupt
submission marked ungradable, not zeroed; empty input and a missing similarity tool are errors."""
from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest

from autograder import cli, paths, regrade
from autograder.grading import rubric, runner

MODULE = "section1_layers"
FILES = ("backprop/functions.py", "neuralnet/layers.py", "neuralnet/two_layer_net.py", "neuralnet/train.py")
BUG = ("grad_x = grad_out @ w.T", "grad_x = grad_out @ w")  # fc_backward: a missing transpose
IDS = sorted(runner.items_of([MODULE]), key=lambda i: runner.number_key(rubric.RUBRIC[i].number))


def _folder(folder: Path, tree: Path, bug: bool = False) -> Path:
    folder.mkdir(parents=True)
    for relative in FILES:
        text = (tree / relative).read_text()
        if bug and relative == "neuralnet/layers.py":
            assert text.count(BUG[0]) == 1
            text = text.replace(*BUG)
        (folder / Path(relative).name).write_text(text)
    return folder


def _zip(folder: Path, zip_path: Path) -> Path:
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{folder.name}/{path.name}")
    return zip_path


def _class(tmp: Path, student_tree: Path) -> dict:
    src = tmp / "src"
    return {"perfect": _folder(src / "perfect", paths.KIT), "stub": _folder(src / "stub", student_tree),
            "bug": _folder(src / "bug", paths.KIT, bug=True)}


METADATA = """---
submission_101:
  :submitters:
  - :name: Pat Perfect
    :sid: '101'
    :email: perfect@school.edu
  :created_at: 2026-11-30 10:00:00.000000000 -05:00
  :score: 0.0
submission_102:
  :submitters:
  - :name: Sam Stub
    :sid: '102'
    :email: stub@school.edu
  :created_at: 2026-11-30 10:01:00.000000000 -05:00
submission_103:
  :submitters:
  - :name: "Bea Bug"
    :sid: '103'
    :email: bug@school.edu
  - :name: Partner Two
    :sid: '203'
    :email: partner@school.edu
  :created_at: 2026-11-30 10:02:00.000000000 -05:00
submission_104:
  :submitters:
  - :name: Cory Corrupt
    :sid: '104'
    :email: corrupt@school.edu
"""


def _rows(csv_path: Path) -> dict:
    with open(csv_path, newline="") as handle:
        return {r["student"]: r for r in csv.DictReader(handle)}


def _check_outputs(csv_path: Path, keys: dict) -> None:
    rows = _rows(csv_path)
    assert set(rows) == set(keys.values())
    header = list(next(iter(rows.values())))
    columns = [f"{rubric.RUBRIC[i].number} {i} (/{rubric.RUBRIC[i].points:g})" for i in IDS]
    assert [h for h in header if h in columns] == columns  # "2.2 fc_backward (/6)", in rubric order
    assert "2.2 fc_backward (/6)" in header or rubric.RUBRIC["fc_backward"].points != 6
    total = f"total (/{sum(rubric.RUBRIC[i].points for i in IDS):g})"
    perfect, stub, bug, corrupt = (rows[keys[k]] for k in ("perfect", "stub", "bug", "corrupt"))
    assert perfect[total] == f"{sum(rubric.RUBRIC[i].points for i in IDS):.2f}" and perfect["status"] == "graded"
    assert stub[total] == "0.00" and stub["status"] == "graded" and stub["reason"] == ""
    assert bug["status"] == "graded" and float(bug[column("fc_backward")]) < rubric.RUBRIC["fc_backward"].points
    assert float(bug[column("fc_forward")]) == rubric.RUBRIC["fc_forward"].points
    for value in (perfect, stub, bug):  # two decimals
        assert all(len(value[c].split(".")[1]) == 2 for c in columns + [total])
    # the corrupt one is marked, not zeroed
    assert corrupt["status"] == "ungradable" and corrupt["reason"]
    assert all(corrupt[c] == "" for c in columns + [total])

    out = csv_path.parent / f"{csv_path.stem}-regrade"
    for key in keys.values():
        assert (out / "students" / key / "feedback.txt").is_file()
    for kind in ("perfect", "stub", "bug"):
        results = json.loads((out / "students" / keys[kind] / "results.json").read_text())
        runner.validate(results)
    feedback = (out / "students" / keys["bug"] / "feedback.txt").read_text()
    assert "fc_backward" in feedback and "What the student sees" in feedback
    hidden = [rubric.RUBRIC[i] for i in IDS if rubric.RUBRIC[i].visibility != "visible"]
    if hidden:
        assert "Hidden rows" in feedback and f"{hidden[0].number} {hidden[0].name}" in feedback
    assert (out / "students" / keys["corrupt"] / "feedback.txt").read_text().startswith("NOT GRADED")

    summary = (out / "summary.md").read_text()
    assert "3 graded, 1 ungradable" in summary
    line = next(l for l in summary.splitlines() if l.startswith(f"| {column('fc_backward')} |"))
    assert "| 1/3 |" in line  # only the perfect one has full marks on 2.2
    assert "## Who lost points where" in summary
    lost = next(l for l in summary.split("## Who lost points where")[1].splitlines()
                if l.startswith(f"| {column('fc_backward')} |"))
    assert keys["bug"] in lost and keys["stub"] in lost and keys["perfect"] not in lost
    assert keys["corrupt"] in summary.split("## Ungradable submissions")[1]
    assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def column(item_id: str) -> str:
    return regrade.column(item_id)


@pytest.fixture(scope="module")
def graded_zips(student_tree, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zips")
    folders = _class(tmp, student_tree)
    zips = tmp / "zips"
    zips.mkdir()
    for name, folder in folders.items():
        _zip(folder, zips / f"{name}.zip")
    (zips / "corrupt.zip").write_bytes(b"PK\x03\x04 truncated, not a zip")
    csv_path = tmp / "out" / "grades.csv"
    assert cli.main(["regrade", str(zips), "--csv", str(csv_path), "--jobs", "1", "--modules", MODULE]) == 0
    return tmp, csv_path


def test_regrade_a_folder_of_zips(graded_zips):
    _, csv_path = graded_zips
    _check_outputs(csv_path, {k: k for k in ("perfect", "stub", "bug", "corrupt")})


def test_regrade_gradescope_export_layout(graded_zips, tmp_path):
    """The same four in Gradescope's export: submission_*/ folders and submission_metadata.yml naming students."""
    src = graded_zips[0] / "src"
    export = tmp_path / "assignment_42_export"
    export.mkdir()
    for number, name in ((101, "perfect"), (102, "stub"), (103, "bug")):
        target = export / f"submission_{number}"
        target.mkdir()
        for path in (src / name).iterdir():
            (target / path.name).write_bytes(path.read_bytes())
    (export / "submission_104").mkdir()
    (export / "submission_104" / "submission.zip").write_bytes(b"garbage")  # nothing gradable inside
    (export / "submission_metadata.yml").write_text(METADATA)
    csv_path = tmp_path / "grades.csv"
    assert cli.main(["regrade", str(export), "--csv", str(csv_path), "--jobs", "1", "--modules", MODULE]) == 0
    keys = {"perfect": "perfect", "stub": "stub", "bug": "bug", "corrupt": "corrupt"}  # from the e-mail addresses
    _check_outputs(csv_path, keys)
    rows = _rows(csv_path)
    assert rows["bug"]["name"] == "Bea Bug; Partner Two" and rows["bug"]["sid"] == "103; 203"
    assert rows["perfect"]["email"] == "perfect@school.edu" and rows["perfect"]["source"] == "submission_101"


def test_regrade_a_folder_of_student_folders_is_found(tmp_path):
    for name in ("bob", "alice"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "layers.py").write_text("x = 1\n")
    (tmp_path / ".hidden").mkdir()
    found = regrade.find_submissions(tmp_path)
    assert [(s.student, s.path.name) for s in found] == [("alice", "alice"), ("bob", "bob")]


def test_parse_metadata_reads_names_and_ignores_the_rest():
    parsed = regrade.parse_metadata(METADATA)
    assert sorted(parsed) == ["submission_101", "submission_102", "submission_103", "submission_104"]
    assert parsed["submission_103"] == [{"name": "Bea Bug", "sid": "103", "email": "bug@school.edu"},
                                        {"name": "Partner Two", "sid": "203", "email": "partner@school.edu"}]
    single = regrade.parse_metadata(":submitters:\n- :name: Solo\n  :email: solo@x.edu\n:score: 1.0\n")
    assert single == {"": [{"name": "Solo", "email": "solo@x.edu"}]}


def test_empty_input_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["regrade", str(tmp_path / "empty"), "--csv", str(tmp_path / "g.csv")]) == cli.EXIT_USAGE
    assert "no submission found" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()
    assert cli.main(["regrade", str(tmp_path / "missing"), "--csv", str(tmp_path / "g.csv")]) == cli.EXIT_USAGE


def test_similarity_without_copydetect_fails_clearly(tmp_path, capsys, monkeypatch):
    (tmp_path / "zips").mkdir()
    (tmp_path / "zips" / "a.zip").write_bytes(b"not a zip")
    monkeypatch.setattr(regrade, "similarity_available", lambda: False)
    assert cli.main(["regrade", str(tmp_path / "zips"), "--csv", str(tmp_path / "g.csv"), "--similarity"]) \
        == cli.EXIT_USAGE
    assert "copydetect" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()


def test_similarity_report_with_copydetect(graded_zips, tmp_path, monkeypatch):
    """With copydetect installed (a stand-in here: it is not a dependency), each student's .py files are compared
    across students, the starter kit as boilerplate, and the HTML page is written where regrade says."""
    import sys
    import types
    seen = {}

    class FakeDetector:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def run(self):
            seen["ran"] = True

        def generate_html_report(self):
            Path(seen["out_file"]).write_text("<html>similarity</html>")

    monkeypatch.setitem(sys.modules, "copydetect", types.SimpleNamespace(CopyDetector=FakeDetector))
    subs = regrade.find_submissions(graded_zips[0] / "zips")
    out = regrade.similarity_report(subs, tmp_path / "similarity.html")
    assert out.read_text() == "<html>similarity</html>" and seen["ran"]
    assert seen["ignore_leaf"] is True and seen["extensions"] == ["py"]
    assert [Path(d).name for d in seen["test_dirs"]] == ["bug", "perfect", "stub"]  # the corrupt zip has no code
    assert Path(seen["boilerplate_dirs"][0]).name == "starter"


def test_summary_counts_feedback_only_rows_by_status():
    """A 0-point row is "full marks" only when its checks passed (not because 0 >= 0); the most common failure
    message is the first line of the failing rows' output."""
    f1 = rubric.RUBRIC["f1"]
    assert f1.points == 0

    def results(status, output):
        return {"score": 0.0, "tests": [{"number": f1.number, "score": 0.0, "max_score": 0.0, "status": status,
                                         "output": output, "name": f1.name, "visibility": f1.visibility}]}
    graded = {"a": results("passed", "f1: all checks passed"), "b": results("failed", "f1: not attempted\nmore"),
              "c": results("failed", "f1: not attempted")}
    summary = regrade.summary_markdown(graded, {"d": "not a zip"}, ["f1"])
    line = next(l for l in summary.splitlines() if l.startswith(f"| {regrade.column('f1')} |"))
    assert "| 1/3 |" in line and "f1: not attempted (2×)" in line
    assert "b (-0.00)" in summary and "c (-0.00)" in summary
    assert "- d: not a zip" in summary
