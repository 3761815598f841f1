"""The Gradescope path as Gradescope runs it: autograder.zip unpacked into a root laid out like /autograder, its own
setup.sh (offline mode: a venv from this environment's base interpreter, by full path, seeing this environment's
site-packages through a .pth file, instead of apt + pip), the grader's sandbox probe, then its run_autograder on the
reference and the starter submission. Also: an infrastructure fault never becomes a score, and no test touches the
real /autograder.

The end-to-end tests need root (setup.sh changes owners; the sandbox's per-run uids need root) and the built
submissions in dist/ (`python -m autograder build`), newer than every kit file; they skip with the reason otherwise.
"""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder import cli, paths, upload_check
from autograder.build import kits, markers
from autograder.grading import rubric, runner, sandbox

REFERENCE_ZIP = paths.DIST / "reference-submission.zip"
STUB_ZIP = paths.DIST / "stub-submission.zip"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="setup.sh and the sandbox's per-run uids need root "
                                "(Gradescope runs both as root)")


def _built(path: Path) -> Path:
    """dist/'s submission ``path``, skipping (with the reason) when it is missing or older than a kit file: graded by
    the current autograder, an old reference submission loses points for kit changes made since (run `make`)."""
    if not path.is_file():
        pytest.skip(f"{path} is missing: run `python -m autograder build` first")
    built = path.stat().st_mtime
    newer = sorted(str(relative) for relative in markers.kit_files(paths.KIT)
                   if (paths.KIT / relative).stat().st_mtime > built)
    if newer:
        pytest.skip(f"{path} is older than {len(newer)} kit file(s), e.g. {newer[0]}: run `python -m autograder build`")
    return path


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    """dist/autograder.zip when it is at least as new as every file it was built from; otherwise the same zip built
    now from the repository (build API) into a temporary folder, so the test always checks the current source."""
    dist_zip = paths.DIST / "autograder.zip"
    if dist_zip.is_file() and not upload_check.stale_sources(dist_zip):
        return dist_zip
    if paths.data_root() is None:
        pytest.skip(paths.missing_data_reason("the evaluation data of autograder.zip"))
    folder = tmp_path_factory.mktemp("autograder-zip")
    return kits.build_autograder_zip(folder / "autograder.zip", folder / "student")


@pytest.fixture(scope="module")
def set_up_root(autograder_zip):
    """A root where the zip's setup.sh ran (once for the module: setup takes seconds), and setup's log."""
    if os.geteuid() != 0:
        pytest.skip("setup.sh and the sandbox's per-run uids need root (Gradescope runs both as root)")
    folder = upload_check.make_root()
    try:
        yield folder, upload_check.setup(autograder_zip, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy_with_setup(zip_path: Path, target: Path, edit) -> Path:
    """A copy of the zip whose setup.sh is ``edit(text)``."""
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "setup.sh":
                data = edit(data.decode()).encode()
            copy.writestr(info, data)
    return target


# -- the whole path ------------------------------------------------------------------------------------------------


@needs_root
def test_gradescope_path_reference_full_marks_stub_zero(set_up_root):
    reference, stub = _built(REFERENCE_ZIP), _built(STUB_ZIP)
    root, log = set_up_root
    # The venv comes from the interpreter named by full path, not from the first python3 on the PATH.
    config = (root / "venv" / "pyvenv.cfg").read_text()
    assert f"home = {upload_check.base_python().parent}" in config, config
    assert "sandbox ok:" in log and "per-run uid" in log, log
    assert (root / "source").stat().st_mode & 0o777 == 0o700  # the solutions: root only
    assert root.stat().st_mode & 0o777 == 0o711

    full = upload_check.run_submission(root, reference, "reference")
    assert full.returncode == 0, full.log[-3000:]
    runner.validate(full.results)
    total = sum(item.points for item in rubric.RUBRIC.values())
    lost = [(t["number"], t["score"], t["output"][:200]) for t in full.results["tests"] if t["score"] < t["max_score"]]
    assert full.possible == total and full.score == total, lost
    assert "autograder fault" not in json.dumps(full.results)

    zero = upload_check.run_submission(root, stub, "stub")
    assert zero.returncode == 0, zero.log[-3000:]
    runner.validate(zero.results)
    assert zero.possible == total and zero.score == 0, [(t["number"], t["score"]) for t in zero.results["tests"]]


@needs_root
def test_broken_sandbox_after_setup_is_an_autograder_fault_not_a_score(set_up_root):
    """The 10/85 of issue 9: the sandbox's uids cannot execute the venv. The run must fail (exit 3, no results.json,
    which Gradescope shows as a failed autograder run), never hand the student a partial score."""
    root, _ = set_up_root
    mode = (root / "venv").stat().st_mode & 0o777
    (root / "venv").chmod(0o700)  # what a venv under /root amounts to for the sandbox's uids
    try:
        outcome = upload_check.run_submission(root, _built(STUB_ZIP), "stub")
    finally:
        (root / "venv").chmod(mode)
    assert outcome.returncode == cli.EXIT_AUTOGRADER_FAULT, outcome.log[-3000:]
    assert not (root / "results" / "results.json").exists()
    assert outcome.results is None and outcome.score is None
    assert "AUTOGRADER FAULT" in outcome.log and "cannot run" in outcome.log, outcome.log[-3000:]


# -- check-upload fails loudly on a broken setup.sh -------------------------------------------------------------------


@needs_root
@pytest.mark.parametrize("case", ["exit1", "venv_unreadable"])
def test_check_upload_fails_on_a_broken_setup(autograder_zip, tmp_path, case, capsys):
    if case == "exit1":
        edit = lambda text: text.replace("set -euo pipefail\n", "set -euo pipefail\nexit 1\n", 1)  # noqa: E731
        expected = "setup.sh exited 1"
    else:  # the venv exists and imports fine as root, but the sandbox's uids cannot run it: only the probe sees it
        edit = lambda text: text.replace('chmod 711 "$ROOT"\n', 'chmod 711 "$ROOT"\nchmod 700 "$VENV"\n', 1)  # noqa: E731
        expected = "SANDBOX BROKEN"
    broken = _copy_with_setup(autograder_zip, tmp_path / "autograder.zip", edit)
    assert edit(zipfile.ZipFile(autograder_zip).read("setup.sh").decode()) != \
        zipfile.ZipFile(autograder_zip).read("setup.sh").decode(), "the edit must change setup.sh"
    problems = upload_check.check_upload(broken, None, None)
    assert problems and expected in problems[0], problems
    # and the command line says so with a non-zero exit (it stops at setup: the submissions are never graded)
    assert cli.main(["check-upload", str(broken), "--reference", str(tmp_path / "none.zip"),
                     "--stub", str(tmp_path / "none.zip")]) == 1
    assert expected in capsys.readouterr().err


def test_check_upload_warns_when_the_zip_is_older_than_its_sources(tmp_path):
    zip_path = tmp_path / "autograder.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("setup.sh", "#!/bin/bash\n")
        archive.writestr("autograder/cli.py", "")
        archive.writestr("eval/cifar10_test.npz", "")
    os.utime(zip_path, (1, 1))  # built long before the repository's files were last changed
    assert upload_check.stale_sources(zip_path) == ["autograder/cli.py", "autograder/gradescope/setup.sh"]
    os.utime(zip_path, None)
    assert upload_check.stale_sources(zip_path) == []


# -- infrastructure faults, without root ------------------------------------------------------------------------------


def test_a_sandbox_error_inside_a_check_voids_the_whole_result(monkeypatch, tmp_path):
    """Even where a graded check turns the SandboxError into a failed row, the grade is replaced by the fault."""
    def broken(*_args, **_kwargs):
        raise sandbox.SandboxError("an unprivileged user (uid 61999) cannot run /x/venv/bin/python: Permission denied")
    monkeypatch.setattr(sandbox, "make_run_dir", broken)
    (tmp_path / "sub").mkdir()
    shutil.copyfile(paths.KIT / "neuralnet" / "layers.py", tmp_path / "sub" / "layers.py")
    results = runner.grade_folder(tmp_path / "sub", modules=["section1_layers"])
    runner.validate(results)
    assert runner.infrastructure_fault(results).startswith("an unprivileged user (uid 61999)")
    assert results["score"] == 0 and results["tests"]
    assert all(t["score"] == 0 and t["output"].startswith("not graded: autograder fault") for t in results["tests"])


def test_run_leaves_no_results_json_on_an_autograder_fault(monkeypatch, tmp_path, capsys):
    root = tmp_path / "ag"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()

    def probe():
        raise sandbox.SandboxError("the sandbox could not start /x/venv/bin/python as uid 61001: PermissionError")
    monkeypatch.setattr(sandbox, "probe", probe)
    assert cli.main(["run", "--root", str(root)]) == cli.EXIT_AUTOGRADER_FAULT
    assert not (root / "results" / "results.json").exists()  # Gradescope: a failed run, no score
    err = capsys.readouterr().err
    assert "AUTOGRADER FAULT" in err and "uid 61001" in err and "README" in err


def test_a_failing_reference_run_voids_the_whole_result(monkeypatch, tmp_path):
    """The 135/151 of issue 21: Section 3a's trusted reference process could not import tqdm on Gradescope, and rows
    6.1-6.3 reached every student as 0 "not graded". A failed reference run is an autograder fault: no score."""
    import subprocess
    import types
    from autograder.grading import section3a_reference

    def failing_reference(argv, **kwargs):
        return subprocess.CompletedProcess(argv, 1, "", "ModuleNotFoundError: No module named 'tqdm'\n")
    # the reference process only (the module's own name for subprocess): the sandbox runs as usual
    monkeypatch.setattr(section3a_reference, "subprocess", types.SimpleNamespace(run=failing_reference))
    (tmp_path / "sub").mkdir()
    shutil.copyfile(paths.KIT / "cnnfeatures" / "features.py", tmp_path / "sub" / "features.py")
    results = runner.grade_folder(tmp_path / "sub", modules=["section3a_features"])
    runner.validate(results)
    fault = runner.infrastructure_fault(results)
    assert fault and "reference run of Section 3a failed" in fault and "No module named 'tqdm'" in fault, fault
    assert results["score"] == 0
    assert all(t["output"].startswith("not graded: autograder fault") for t in results["tests"])


def test_a_module_missing_from_the_graders_environment_is_a_fault(tmp_path, monkeypatch):
    """The grader never imports student code, so an ImportError in a check's own code means the autograder's venv
    lacks a module: the run fails (no score), naming the module."""
    package = tmp_path / "pkgs" / "fakegraded_env"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "section1_layers.py").write_text(
        "from autograder.grading.checks import GradedTestCase, graded\n\n"
        "class Checks(GradedTestCase):\n"
        "    @graded('fc_forward')\n"
        "    def test_fc_forward(self):\n"
        "        import dlkit_no_such_module  # noqa: F401\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    (tmp_path / "sub").mkdir()
    results = runner.grade_folder(tmp_path / "sub", modules=["fakegraded_env.section1_layers"])
    fault = runner.infrastructure_fault(results)
    assert fault and "No module named 'dlkit_no_such_module'" in fault and "requirements.txt" in fault, fault


def test_setup_refuses_a_python_older_than_3_10(tmp_path):
    """setup.sh uses the image's python3 and names the version it found when that is too old (the upload fails)."""
    import subprocess
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\ncase \"$*\" in *version_info*) exit 1;; *python_version*) echo 3.9.18;; esac\n")
    fake.chmod(0o755)
    root = tmp_path / "root"
    (root / "source").mkdir(parents=True)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=str(fake))
    done = subprocess.run(["bash", str(kits.GRADESCOPE_DIR / "setup.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert f"{fake} is Python 3.9.18; the autograder needs 3.10 or newer" in done.stderr, done.stderr
    assert not (root / "venv").exists()


def test_check_upload_refuses_a_stale_zip_unless_asked(tmp_path):
    zip_path = tmp_path / "autograder.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("setup.sh", "#!/bin/bash\nexit 1\n")
        archive.writestr("autograder/cli.py", "")
    os.utime(zip_path, (1, 1))  # built before the repository's files were last changed
    problems = upload_check.check_upload(zip_path, None, None)
    assert len(problems) == 1 and "is older than" in problems[0] and "--allow-stale" in problems[0], problems
    # asked to go on, it does: here as far as the zip's own setup.sh, which fails
    problems = upload_check.check_upload(zip_path, None, None, allow_stale=True, out=lambda _: None)
    assert problems and "setup.sh exited 1" in problems[0], problems


def test_install_path_runs_setup_as_gradescope_does(tmp_path):
    """--install hands setup.sh no offline settings: the image's python3 and pip; PyTorch's site as planned."""
    env = upload_check._env(tmp_path, upload_check.Install(torch_index="", skip_weights=True))
    assert "AUTOGRADER_SITE_PACKAGES" not in env and "AUTOGRADER_PYTHON" not in env
    assert env["AUTOGRADER_TORCH_INDEX"] == "" and env["AUTOGRADER_SKIP_WEIGHTS"] == "1"
    assert env["TORCH_HOME"].startswith(str(tmp_path))  # never this machine's torch cache
    offline = upload_check._env(tmp_path)
    assert offline["AUTOGRADER_SITE_PACKAGES"] and offline["AUTOGRADER_PYTHON"].startswith("/")


@needs_root
@pytest.mark.slow
def test_check_upload_install_path_reference_full_marks_stub_zero():
    """The install path Gradescope takes, on this machine: setup.sh with the image's own python3, apt only for what it
    lacks, pip from the package index (PyTorch's site where it answers), the import check and the sandbox probe;
    then the reference gets full marks and the starter zero. Minutes: the venv holds torch."""
    reference, stub = _built(REFERENCE_ZIP), _built(STUB_ZIP)
    zip_path = paths.DIST / "autograder.zip"
    if upload_check.stale_sources(zip_path):
        pytest.skip(f"{zip_path} is older than its sources: run `python -m autograder build`")
    plan = upload_check.plan_install()
    root = upload_check.make_root()
    try:
        log = upload_check.setup(zip_path, root, plan)
        assert "imports ok:" in log and "sandbox ok:" in log and "per-run uid" in log, log[-3000:]
        config = (root / "venv" / "pyvenv.cfg").read_text()
        assert "home = /usr/bin" in config, config  # the image's python3, not this environment's
        assert not list((root / "venv").glob("lib/*/site-packages/dlkit-offline.pth"))  # packages of its own
        total = sum(item.points for item in rubric.RUBRIC.values())
        full = upload_check.run_submission(root, reference, "reference", plan)
        assert full.returncode == 0, full.log[-3000:]
        lost = [(t["number"], t["score"], t["output"][:200]) for t in full.results["tests"]
                if t["score"] < t["max_score"]]
        assert full.score == total == full.possible, lost
        zero = upload_check.run_submission(root, stub, "stub", plan)
        assert zero.returncode == 0 and zero.score == 0, zero.log[-3000:]
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- never the real /autograder ---------------------------------------------------------------------------------------


def test_tests_never_default_to_the_real_autograder_root():
    # conftest points AUTOGRADER_ROOT at a temporary folder for the whole session; the entry points honour it
    assert os.environ.get(cli.ROOT_VAR) and not os.environ[cli.ROOT_VAR].startswith("/autograder")
    assert cli.default_root() == Path(os.environ[cli.ROOT_VAR])
    for script in ("setup.sh", "run_autograder"):
        text = (kits.GRADESCOPE_DIR / script).read_text()
        assert 'ROOT=${AUTOGRADER_ROOT:-/autograder}' in text
        body = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        absolute = [line for line in body if '"/autograder' in line or " /autograder" in line]
        assert absolute == [], f"{script}: /autograder used other than as $ROOT's default: {absolute}"


def test_probe_passes_here_and_a_process_that_cannot_start_is_a_sandbox_error(capsys):
    assert cli.main(["probe-sandbox"]) == cli.EXIT_OK
    assert capsys.readouterr().out.startswith("sandbox ok: ")
    run_dir = sandbox.make_run_dir({})
    try:
        with pytest.raises(sandbox.SandboxError, match="could not start /nonexistent/python"):
            sandbox.run(["/nonexistent/python", "-c", "pass"], run_dir=run_dir,
                        limits={"cpu_seconds": 5, "wall_seconds": 5, "memory_mb": 256, "max_processes": 8,
                                "max_output_bytes": 1024, "max_file_bytes": 1024})
    finally:
        run_dir.cleanup()


def test_probe_failure_exits_3(monkeypatch, capsys):
    def probe():
        raise sandbox.SandboxError("an unprivileged user (uid 61999) cannot run /x/python: Permission denied")
    monkeypatch.setattr(sandbox, "probe", probe)
    assert cli.main(["probe-sandbox"]) == cli.EXIT_AUTOGRADER_FAULT
    assert "SANDBOX BROKEN" in capsys.readouterr().err


def test_setup_never_runs_the_first_python3_on_the_path():
    """Issue 9: a venv built from a PATH python3 under /root could not be run by the sandbox's uids. Every
    interpreter setup.sh runs is named by full path ($PYTHON, a /usr/bin default, or the venv's own)."""
    import re
    text = (kits.GRADESCOPE_DIR / "setup.sh").read_text()
    body = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    bare = [line for line in body if re.search(r'(^|[\s;&|(])python3?(\.\d+)?\s', line) and "apt-get" not in line]
    assert bare == [], bare
    assert "PYTHON=${AUTOGRADER_PYTHON:-/usr/bin/python3}" in text  # the image's own python3, by full path
    assert 'case "$PYTHON" in /*)' in text  # a bare name is refused too


def test_check_upload_docker_runs_the_zip_in_gradescopes_image_with_its_limits(tmp_path, monkeypatch):
    from autograder import upload_check
    zips = [tmp_path / name for name in ("autograder.zip", "ref.zip", "stub.zip")]
    command = upload_check.docker_command(*zips)
    assert command[:3] == ["docker", "run", "--rm"] and "--cpus=0.5" in command and "--memory=1024m" in command
    assert upload_check.DOCKER_IMAGE in command and f"{zips[0]}:/dist/autograder.zip:ro" in command
    script = command[-1]
    assert "bash setup.sh" in script and "/autograder/run_autograder" in script  # the zip's own scripts
    assert upload_check.parse_docker_scores("noise\nreference: score 85.0 / 85.0\nstub: score 0.0 / 85.0\n") == {
        "reference": (85.0, 85.0), "stub": (0.0, 85.0)}
    monkeypatch.setattr(upload_check.shutil, "which", lambda name: None)
    problems = upload_check.check_in_docker(*zips)
    assert problems and "docker is not installed" in problems[0]
