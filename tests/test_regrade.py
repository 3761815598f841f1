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
    export = tmp_path / "unpacked" / "assignment_42_export"  # the instructor points regrade at unpacked/
    export.mkdir(parents=True)
    for number, name in ((101, "perfect"), (102, "stub"), (103, "bug")):
        target = export / f"submission_{number}"
        target.mkdir()
        for path in (src / name).iterdir():
            (target / path.name).write_bytes(path.read_bytes())
    (export / "submission_104").mkdir()
    (export / "submission_104" / "submission.zip").write_bytes(b"garbage")  # nothing gradable inside
    (export / "submission_metadata.yml").write_text(METADATA)
    csv_path = tmp_path / "grades.csv"
    assert cli.main(["regrade", str(tmp_path / "unpacked"), "--csv", str(csv_path), "--jobs", "1", "--modules",
                     MODULE]) == 0
    rows = _rows(csv_path)
    # the group submission: one row per member, the same scores, the group named in its own column
    assert set(rows) == {"perfect", "stub", "bug", "partner", "corrupt"}
    bug, partner = rows.pop("bug"), rows.pop("partner")
    assert bug["name"] == "Bea Bug" and partner["name"] == "Partner Two" and partner["sid"] == "203"
    assert bug["group"] == partner["group"] == "bug; partner" and rows["perfect"]["group"] == ""
    assert {k: v for k, v in bug.items() if k not in ("student", "name", "email", "sid")} == \
        {k: v for k, v in partner.items() if k not in ("student", "name", "email", "sid")}
    assert rows["perfect"]["email"] == "perfect@school.edu" and rows["perfect"]["source"] == "submission_101"
    # an upload Gradescope could not unpack: the zip's own reason, not "the files sit at the top of the zip"
    assert rows["corrupt"]["status"] == "ungradable" and "top of the zip" not in rows["corrupt"]["reason"]
    assert "zip" in rows["corrupt"]["reason"].lower(), rows["corrupt"]["reason"]


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


# -- the regrade cache and a Dask cluster -------------------------------------------------------------------------

def _regrade(folder: Path, csv_path: Path, cache: Path, *extra: str, capsys=None) -> str:
    args = ["regrade", str(folder), "--csv", str(csv_path), "--jobs", "1", "--modules", f"{MODULE},section3b_smalldata",
            "--cache", str(cache), *extra]
    assert cli.main(args) == 0
    return capsys.readouterr().out if capsys is not None else ""


@pytest.fixture(scope="module")
def small_class(student_tree, tmp_path_factory):
    """Two students, each with Section 1's files and Section 3b's code files."""
    tmp = tmp_path_factory.mktemp("cached-class")
    folders = _class(tmp, student_tree)
    for name in ("perfect", "bug"):
        for relative in ("smalldata/models.py", "smalldata/helpers.py"):
            (folders[name] / Path(relative).name).write_bytes((paths.KIT / relative).read_bytes())
    root = tmp / "class"
    root.mkdir()
    for name in ("perfect", "bug"):
        _zip(folders[name], root / f"{name}.zip")
    return root


def test_a_rerun_reuses_every_part_and_a_fix_regrades_only_its_part(small_class, tmp_path, capsys, monkeypatch):
    from autograder import regrade_cache
    cache = tmp_path / "cache"
    first = _regrade(small_class, tmp_path / "a.csv", cache, capsys=capsys)
    assert "2 to grade; 0 part gradings reused" in first, first
    second = _regrade(small_class, tmp_path / "b.csv", cache, capsys=capsys)
    assert "0 to grade; 4 part gradings reused from the cache (2 submissions entirely)" in second, second
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    # A fix to Section 3b's grading: only Section 3b is graded again.
    real = dict(regrade_cache.grader_versions())
    monkeypatch.setattr(regrade_cache, "grader_versions",
                        lambda source=paths.REPO: {**real, "section3b": "fixed" + real["section3b"][5:]})
    calls = []
    real_grade = regrade.grade_files
    monkeypatch.setattr(regrade, "grade_files", lambda files, modules: calls.append(modules) or real_grade(files,
                                                                                                            modules))
    third = _regrade(small_class, tmp_path / "c.csv", cache, capsys=capsys)
    assert "2 to grade; 2 part gradings reused" in third, third
    assert calls == [["section3b_smalldata"], ["section3b_smalldata"]]
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "c.csv").read_text()
    # --no-cache grades everything again
    fourth = _regrade(small_class, tmp_path / "d.csv", cache, "--no-cache", capsys=capsys)
    assert "2 to grade; 0 part gradings reused" in fourth and "(--no-cache)" in fourth, fourth


def test_a_changed_submission_is_graded_again(small_class, tmp_path, capsys):
    """The cache is content-addressed: a changed file regrades its part; the same files under another student's name
    reuse that student's grading (the row texts never name the student)."""
    cache = tmp_path / "cache"
    _regrade(small_class, tmp_path / "a.csv", cache, capsys=capsys)
    changed = tmp_path / "changed"
    changed.mkdir()
    for path in small_class.iterdir():
        (changed / path.name).write_bytes(path.read_bytes())
    with zipfile.ZipFile(small_class / "bug.zip") as old, zipfile.ZipFile(changed / "bug.zip", "w") as new:
        for info in old.infolist():  # bug/ gets a fixed layers.py: its Section 1 changes, its Section 3b does not
            data = old.read(info)
            new.writestr(info.filename, (paths.KIT / "neuralnet" / "layers.py").read_bytes() + b"# fixed\n"
                         if info.filename == "bug/layers.py" else data)
    out = _regrade(changed, tmp_path / "b.csv", cache, capsys=capsys)
    assert "1 to grade; 3 part gradings reused" in out, out
    assert _rows(tmp_path / "b.csv")["bug"][column("fc_backward")] == f"{rubric.RUBRIC['fc_backward'].points:.2f}"


def test_regrade_on_a_local_dask_cluster_matches_a_local_regrade(small_class, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    local = _regrade(small_class, tmp_path / "local.csv", tmp_path / "cache-local", "--no-cache", capsys=capsys)
    assert "2 to grade" in local
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as dask:
        out = _regrade(small_class, tmp_path / "dask.csv", tmp_path / "cache-dask", "--no-cache", "--cluster",
                       dask.scheduler_address, capsys=capsys)
    assert "2 to grade" in out, out
    assert (tmp_path / "local.csv").read_text() == (tmp_path / "dask.csv").read_text()
    for student in ("perfect", "bug"):
        local_results = json.loads((tmp_path / "local-regrade" / "students" / student / "results.json").read_text())
        dask_results = json.loads((tmp_path / "dask-regrade" / "students" / student / "results.json").read_text())
        for results in (local_results, dask_results):
            results.pop("execution_time")
        assert local_results == dask_results
