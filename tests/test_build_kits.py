"""The build (autograder/build/kits.py): the zips in dist/, the student tree, and the reference artifacts."""
from __future__ import annotations

import json
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import paths
from autograder.build import kits, markers


def _members(zip_path: Path) -> dict:
    with zipfile.ZipFile(zip_path) as archive:
        return {info.filename: info for info in archive.infolist()}


def _read(zip_path: Path, name: str) -> bytes:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.read(name)


def _mode(info: zipfile.ZipInfo) -> int:
    return (info.external_attr >> 16) & 0o777


def _solution_only_lines(text: str) -> set:
    """Code lines inside solution regions that do not also occur outside them (or in a prompt)."""
    inside, outside, in_region = set(), set(), False
    for line in text.splitlines():
        code = line.strip()
        if code.startswith("# BEGIN SOLUTION"):
            in_region = True
        elif code == "# END SOLUTION":
            in_region = False
        elif in_region and code and not code.startswith("#"):
            inside.add(code)
        else:
            outside.add(code.lstrip("# "))  # prompt lines become code for the student
    return inside - outside


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory, cifar10_dir, fashion_mnist_root):
    """Two independent builds without reference artifacts (needs the data: the autograder zip bundles eval/)."""
    base = tmp_path_factory.mktemp("build")
    first = kits.build_all(base / "dist1", with_reference_artifacts=False, student_dir=base / "student1")
    second = kits.build_all(base / "dist2", with_reference_artifacts=False, student_dir=base / "student2")
    return first, second, base / "student1"


@pytest.mark.data
def test_zip_set(two_builds):
    first, _, _ = two_builds
    assert sorted(first) == sorted(["student-kit", "solution-kit", "autograder", "stub-submission"])
    for path in first.values():
        assert zipfile.is_zipfile(path)


@pytest.mark.data
def test_zips_are_deterministic(two_builds):
    first, second, _ = two_builds
    for name in first:
        assert first[name].read_bytes() == second[name].read_bytes(), f"{name}.zip differs between two builds"


@pytest.mark.data
def test_autograder_zip_layout(two_builds):
    zip_path = two_builds[0]["autograder"]
    members = _members(zip_path)
    for script in ("setup.sh", "run_autograder"):
        assert script in members, f"{script} must be at the zip root"
        assert _mode(members[script]) == 0o755
        assert stat.S_ISREG(members[script].external_attr >> 16)
        data = _read(zip_path, script)
        assert b"\r" not in data and data.startswith(b"#!")
    assert b'ROOT=${AUTOGRADER_ROOT:-/autograder}' in _read(zip_path, "run_autograder")
    assert b'"$ROOT/venv/bin/python" -m autograder run --root "$ROOT"' in _read(zip_path, "run_autograder")
    names = list(members)
    assert "autograder/paths.py" in names and "autograder/gradescope/requirements.txt" in names
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n or n.endswith(".pyc")]
    kit_names = [p.as_posix() for p in markers.kit_files(paths.KIT)]
    assert [n for n in names if n in kit_names] == kit_names  # the reference kit at the root, as in the repository
    assert "README.md" not in names and paths.STUDENT_README in names
    assert any(n.startswith("student/") for n in names)
    for name in ("eval/cifar10_test.npz", "eval/fashion_mnist_test.npz"):
        with zipfile.ZipFile(zip_path) as archive, archive.open(name) as handle:
            with np.load(handle, allow_pickle=False) as data:
                X, y = data["X"], data["y"]
        assert X.dtype == np.uint8 and y.dtype == np.int64 and len(X) == len(y) == 10000


def test_setup_script_contract():
    text = (kits.GRADESCOPE_DIR / "setup.sh").read_text()
    # the venv from the installed interpreter by full path (never the first python3 on the PATH), the grader's own
    # sandbox probe last (a broken image fails the upload)
    for needed in ("PYTHON=${AUTOGRADER_PYTHON:-/usr/bin/python3}", '"$PYTHON" -m venv "$VENV"',
                   "ROOT=${AUTOGRADER_ROOT:-/autograder}", "VENV=$ROOT/venv", "requirements.txt",
                   "-m autograder probe-sandbox", "chmod 700"):
        assert needed in text
    requirements = (kits.GRADESCOPE_DIR / "requirements.txt").read_text().splitlines()
    pins = [line for line in requirements if line and not line.startswith(("#", "-"))]
    assert all("==" in line for line in pins), "every requirement is pinned"
    numpy_pin = next(line for line in pins if line.startswith("numpy=="))
    assert tuple(int(part) for part in numpy_pin.split("==")[1].split(".")[:2]) < (2, 3)  # 2.3 dropped Python 3.10
    subprocess.run(["bash", "-n", str(kits.GRADESCOPE_DIR / "setup.sh")], check=True)


@pytest.mark.data
def test_student_kit_zip_is_the_student_tree(two_builds):
    zip_path, student_dir = two_builds[0]["student-kit"], two_builds[2]
    relatives = markers.kit_files(student_dir)
    assert sorted(_members(zip_path)) == [f"{kits.STUDENT_TOP}/{p.as_posix()}" for p in relatives]
    for relative in relatives:
        assert _read(zip_path, f"{kits.STUDENT_TOP}/{relative.as_posix()}") == (student_dir / relative).read_bytes()


def test_student_tree_has_no_solutions_and_imports(tmp_path):
    student_dir = tmp_path / "student"
    kits.build_student(student_dir)
    checked = 0
    for relative in markers.kit_files(paths.KIT):
        if relative.suffix != ".py":
            continue
        reference = (paths.KIT / relative).read_text()
        student = (student_dir / relative).read_text()
        assert "BEGIN SOLUTION" not in student and "END SOLUTION" not in student
        student_lines = {line.strip() for line in student.splitlines()}
        leaked = _solution_only_lines(reference) & student_lines
        assert not leaked, f"{relative}: solution lines in the student version: {sorted(leaked)[:3]}"
        compile(student, str(relative), "exec")
        checked += 1
        # Import each module the way students run it: from its own folder, flat imports.
        result = subprocess.run([sys.executable, "-c", f"import {relative.stem}"], cwd=student_dir / relative.parent,
                                capture_output=True, text=True, timeout=120, env={"MPLBACKEND": "Agg", "PATH": ""})
        assert result.returncode == 0, f"import {relative} failed:\n{result.stderr[-2000:]}"
    for relative in markers.kit_files(student_dir):
        if relative.suffix == ".ipynb":
            nb = nbformat.read(str(student_dir / relative), as_version=4)
            for cell in nb.cells:
                assert "BEGIN SOLUTION" not in cell.source
                if cell.cell_type == "code":
                    assert cell.outputs == [] and cell.execution_count is None
    assert checked > 0


@pytest.mark.data
def test_solution_kit_is_the_reference(two_builds):
    zip_path = two_builds[0]["solution-kit"]
    members = _members(zip_path)
    for relative in markers.kit_files(paths.KIT):
        name = f"{kits.SOLUTION_TOP}/{paths.kit_target(relative).as_posix()}"  # STUDENT-README.md -> README.md
        assert _read(zip_path, name) == (paths.KIT / relative).read_bytes()
        executable = (paths.KIT / relative).stat().st_mode & 0o111
        assert _mode(members[name]) == (0o755 if executable else 0o644), name
    assert not [n for n in _members(zip_path) if n.endswith(("checkpoint.pkl", "part1_model.pt", ".pyc"))]


@pytest.mark.data
def test_stub_submission(two_builds):
    zip_path = two_builds[0]["stub-submission"]
    names = sorted(_members(zip_path))
    assert names and all(n.startswith(f"{kits.STUB_FOLDER}/") and n.count("/") == 1 for n in names)
    assert f"{kits.STUB_FOLDER}/checkpoint.pkl" not in names and f"{kits.STUB_FOLDER}/part1_model.pt" not in names
    for name in names:
        if name.endswith(".py"):
            assert b"BEGIN SOLUTION" not in _read(zip_path, name)
        if name.endswith(".ipynb"):
            nb = nbformat.reads(_read(zip_path, name).decode(), as_version=4)
            assert all(not cell.get("outputs") for cell in nb.cells)


def test_kit_is_the_repository_top_level(tmp_path):
    """The specified layout: the kit's entries sit at the repository root beside autograder/; the instructors'
    README.md stays out of every kit, the student README ships as README.md."""
    for name in ("backprop", "neuralnet", "part1.ipynb", "part2.ipynb", "autograder", "check_submission.py",
                 "download_cifar.sh", "README.md"):
        assert (paths.REPO / name).exists(), name
    kit_tops = {p.parts[0] for p in markers.kit_files(paths.KIT)}
    assert "README.md" not in kit_tops and "autograder" not in kit_tops and "tests" not in kit_tops
    files = kits.build_student(tmp_path / "student")
    tops = {p.relative_to(tmp_path / "student").parts[0] for p in files}
    assert "README.md" in tops and paths.STUDENT_README not in tops
    assert ((tmp_path / "student" / "README.md").read_text()
            == (paths.REPO / paths.STUDENT_README).read_text())


def test_top_level_download_script_downloads_into_the_kit_folder(tmp_path):
    """download_cifar.sh at the top puts cifar-10-batches-py/ beside itself (here: batches already there)."""
    kits.build_student(tmp_path / "student")
    batches = tmp_path / "student" / "cifar-10-batches-py"
    batches.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (batches / name).write_bytes(b"x")
    result = subprocess.run(["bash", str(tmp_path / "student" / "download_cifar.sh")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "already exists" in result.stdout


def test_build_student_fast(tmp_path):
    files = kits.build_student(tmp_path / "student")
    assert files and all(path.is_file() for path in files)
    assert sorted(p.relative_to(tmp_path / "student") for p in files) == markers.kit_files(tmp_path / "student")


@pytest.mark.slow
@pytest.mark.data
def test_reference_submission(tmp_path, cifar10_dir, fashion_mnist_root):
    """Builds the reference artifacts (minutes the first time, then cached by the kit's hash)."""
    built = kits.build_all(tmp_path / "dist", student_dir=tmp_path / "student")
    zip_path = built["reference-submission"]
    from autograder.grading.handed_in import load_check_submission
    check_submission = load_check_submission(paths.KIT)
    names = sorted(_members(zip_path))
    assert names == sorted(f"{kits.REFERENCE_FOLDER}/{name}" for name in check_submission.REQUIRED_FILES)
    for name in check_submission.NOTEBOOKS:
        nb = nbformat.reads(_read(zip_path, f"{kits.REFERENCE_FOLDER}/{name}").decode(), as_version=4)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert code and all(cell.execution_count is not None for cell in code), f"{name} is not fully executed"
        assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    # The autograder zip alone (no data setting) gives the reference submission full marks.
    results = _run_gradescope(built["autograder"], zip_path, tmp_path / "gradescope")
    failed = [(test["name"], test.get("output", "")[:200]) for test in results["tests"]
              if test["score"] != test["max_score"]]
    assert not failed
    assert results["score"] == sum(test["max_score"] for test in results["tests"]) > 0


def _dummy_kit(root: Path) -> Path:
    """A tiny kit whose train.py and notebooks stand in for the real ones (seconds instead of minutes)."""
    kit = root / "kit"
    (kit / "neuralnet").mkdir(parents=True)
    (kit / "neuralnet" / "train.py").write_text(
        "import argparse, os, pickle\n"
        "parser = argparse.ArgumentParser()\n"
        "for flag in ('--data-dir', '--checkpoint-file', '--plot-file'):\n"
        "    parser.add_argument(flag, required=True)\n"
        "args = parser.parse_args()\n"
        "assert os.path.isfile(os.path.join(args.data_dir, 'test_batch'))\n"
        "with open(args.checkpoint_file, 'wb') as handle:\n"
        "    pickle.dump({'W': [1.0]}, handle)\n"
        "print('final validation accuracy 42.0')\n")
    part1 = nbformat.v4.new_notebook()
    part1.cells = [nbformat.v4.new_code_cell(
        "import os\nroot = os.environ['FASHION_MNIST_ROOT']\nassert os.path.isdir(os.path.join(root, 'FashionMNIST'))\n"
        "open('part1_model.pt', 'wb').write(os.environ['MPLBACKEND'].encode())\nprint(root)")]
    nbformat.write(part1, str(kit / "part1.ipynb"))
    part2 = nbformat.v4.new_notebook()
    part2.cells = [nbformat.v4.new_code_cell(
        "for key in ('img1', 'img2'):\n    open(f'{key}.png', 'wb').write(key.encode())\nprint(6 * 7)")]
    nbformat.write(part2, str(kit / "part2.ipynb"))
    part4 = nbformat.v4.new_notebook()  # Section 3b: needs the CIFAR-10 batches and the Fashion-MNIST root
    part4.cells = [nbformat.v4.new_code_cell(
        "import os\nassert os.path.isfile(os.path.join(os.environ['CIFAR10_DIR'], 'test_batch'))\n"
        "assert os.path.isdir(os.environ['FASHION_MNIST_ROOT'])\nprint('part4')")]
    nbformat.write(part4, str(kit / "part4.ipynb"))
    part3 = nbformat.v4.new_notebook()
    part3.cells = [nbformat.v4.new_code_cell("print(3)"),
                   nbformat.v4.new_markdown_cell("**Answer 1.**\n\n*Your answer here.*")]
    nbformat.write(part3, str(kit / "part3.ipynb"))
    return kit


@pytest.mark.data
def test_reference_artifacts_with_a_dummy_kit(tmp_path, cifar10_dir, fashion_mnist_root, capsys):
    from autograder.build import reference_artifacts

    kit = _dummy_kit(tmp_path)
    artifacts = reference_artifacts.build(kit, cache_root=tmp_path / "cache")
    assert sorted(artifacts) == ["checkpoint.pkl", "img1.png", "img2.png", "part1.ipynb", "part1_model.pt",
                                 "part2.ipynb", "part3.ipynb", "part4.ipynb"]
    assert artifacts["img1.png"].read_bytes() == b"img1"
    assert artifacts["part1_model.pt"].read_bytes() == b"Agg"
    assert artifacts["part1.ipynb"].parent == artifacts["part1_model.pt"].parent
    assert len({path.parent for path in artifacts.values()}) == 5  # one cache folder per step
    part3 = nbformat.read(str(artifacts["part3.ipynb"]), as_version=4)  # the reference write-up filled in
    assert "Your answer here" not in part3.cells[1].source and part3.cells[1].source.startswith("**Answer 1.**")
    nb = nbformat.read(str(artifacts["part2.ipynb"]), as_version=4)
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    log = capsys.readouterr().out
    assert "checkpoint: done in" in log and "final validation accuracy 42.0" in log
    assert not (kit / "neuralnet" / "checkpoint.pkl").exists()  # runs happen in a copy

    # Unchanged kit: everything reused. A changed notebook reruns only that notebook's step.
    assert reference_artifacts.build(kit, cache_root=tmp_path / "cache") == artifacts
    assert capsys.readouterr().out.count("reusing") == 5
    part2 = nbformat.read(str(kit / "part2.ipynb"), as_version=4)
    part2.cells[0].source = part2.cells[0].source.replace("6 * 7", "6 * 9")
    nbformat.write(part2, str(kit / "part2.ipynb"))
    again = reference_artifacts.build(kit, cache_root=tmp_path / "cache")
    log = capsys.readouterr().out
    assert "checkpoint: reusing" in log and "part1: reusing" in log and "part2: done in" in log
    assert again["checkpoint.pkl"] == artifacts["checkpoint.pkl"] and again["part2.ipynb"] != artifacts["part2.ipynb"]
    assert nbformat.read(str(again["part2.ipynb"]), as_version=4).cells[0].outputs[0]["text"] == "54\n"

    # A failing reference run fails the build with its output.
    (kit / "neuralnet" / "train.py").write_text("raise SystemExit('training diverged')\n")
    with pytest.raises(reference_artifacts.ReferenceArtifactError, match="training diverged"):
        reference_artifacts.build(kit, cache_root=tmp_path / "cache")


@pytest.mark.data
def test_parallel_reference_builds_run_each_step_once(tmp_path, cifar10_dir, fashion_mnist_root):
    """Two builds at once on one cache (two test workers, two instructors): the second waits for the first's lock,
    then reuses every step instead of running it again or replacing a folder the first is handing out."""
    kit = _dummy_kit(tmp_path)
    script = ("import sys\nfrom pathlib import Path\nfrom autograder.build import reference_artifacts\n"
              "reference_artifacts.build(Path(sys.argv[1]), cache_root=Path(sys.argv[2]))\n")
    builds = [subprocess.Popen([sys.executable, "-c", script, str(kit), str(tmp_path / "cache")], cwd=paths.REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    logs = [build.communicate(timeout=300)[0] for build in builds]
    assert [build.returncode for build in builds] == [0, 0], logs
    both = "".join(logs)
    for step in ("checkpoint", "part1", "part2", "part3", "part4"):
        assert both.count(f"] {step}: done in") == 1 and both.count(f"] {step}: reusing") == 1, both


def test_reference_artifacts_without_data(tmp_path, monkeypatch):
    from autograder.build import reference_artifacts

    monkeypatch.setenv("DLKIT_DATA", str(tmp_path / "absent"))
    with pytest.raises(reference_artifacts.ReferenceArtifactError, match="CIFAR-10 not available"):
        reference_artifacts.build(_dummy_kit(tmp_path), cache_root=tmp_path / "cache")


def _run_gradescope(autograder_zip: Path, submission_zip: Path, root: Path) -> dict:
    """Unpack the autograder zip and a submission the way Gradescope does and run ``run_autograder``'s command,
    with no data setting: everything the grader needs must come from the zip itself."""
    source, submission = root / "source", root / "submission"
    for folder in (source, submission, root / "results"):
        folder.mkdir(parents=True)
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(source)
    with zipfile.ZipFile(submission_zip) as archive:
        for info in archive.infolist():  # Gradescope unpacks the student's single folder's files at the top
            (submission / Path(info.filename).name).write_bytes(archive.read(info))
    (root / "submission_metadata.json").write_text("{}")
    env = {"PATH": "/usr/bin:/bin", "DLKIT_DATA": str(root / "no-data"), "DLKIT_CACHE": str(root / "cache"),
           "MPLBACKEND": "Agg"}
    completed = subprocess.run([sys.executable, "-m", "autograder", "run", "--root", str(root)], cwd=source,
                               env=env, capture_output=True, text=True, timeout=600)
    results_file = root / "results" / "results.json"
    assert results_file.is_file(), f"no results.json (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
    return json.loads(results_file.read_text())


@pytest.mark.data
def test_autograder_zip_grades_the_stub_submission_to_zero(two_builds, tmp_path):
    built, _, _ = two_builds
    results = _run_gradescope(built["autograder"], built["stub-submission"], tmp_path / "gradescope")
    assert results["score"] == 0
    assert results["tests"] and all(test["score"] == 0 for test in results["tests"])
