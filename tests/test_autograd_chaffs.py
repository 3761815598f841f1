"""Rubric 10.9: the student's autograd tests graded Examplar style. Every chaff (autograder/grading/autograd_chaffs.py)
applies to the reference and is caught by the reference test suite; a suite failing on the reference earns nothing
and is told which test; a weak suite earns the share of chaffs it catches and is told which bugs it missed; nothing
the tests print, and no test name made up at run time, reaches the feedback; the compiled frameworks are gone from
the workspace before the student's tests run; the chaffs never reach the student kit."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder import paths
from autograder.build import markers
from autograder.grading import rubric, runner
from autograder.grading import autograd_chaffs as chaffs

ROW = "ag_student_tests"
NUMBER = rubric.RUBRIC[ROW].number


def grade_tests(folder: Path, text: str, student_tree: Path):
    folder.mkdir(parents=True)
    (folder / "test_autograd.py").write_text(text)
    results = runner.grade_folder(folder, modules=["autograd_framework"], given_dir=student_tree)
    row = next(t for t in results["tests"] if t.get("number") == NUMBER)
    return row["score"], row["max_score"], row.get("output", "")


def test_every_chaff_applies_and_differs_from_the_reference():
    reference = chaffs.reference_sources()
    for name, (_, file, _) in chaffs.CHAFFS.items():
        sources = chaffs.framework_sources(name)
        assert sources[file] != reference[file], name
        assert all(sources[f] == reference[f] for f in chaffs.FILES if f != file), name
        compile(sources[file], f"{name}/{file}.py", "exec")


def test_reference_suite_passes_and_catches_every_chaff(tmp_path, student_tree):
    score, max_score, output = grade_tests(tmp_path / "ref", (paths.KIT / "autograd" / "test_autograd.py").read_text(),
                                           student_tree)
    assert score == max_score, output
    # every buggy framework caught; a long list of what is right collapses to its count
    assert f"all {len(chaffs.CHAFFS)} checks passed" in output or all(
        f"caught: {description}" in output for description, _, _ in chaffs.CHAFFS.values()), output


WEAK_SUITE = '''
import os
import numpy as np
from tensor import Tensor


def test_broadcast_grad_shape():
    b = Tensor(np.ones((3, 1)), requires_grad=True)
    (Tensor(np.ones((2, 3, 4))) + b).sum().backward()
    assert b.grad.shape == (3, 1) and np.allclose(b.grad, 8.0)


def test_no_compiled_framework_left_to_read():
    assert not [f for f in os.listdir(".") if f.endswith(".pyc") or f.startswith("fw")]


def test_prints_are_not_shown():
    print("SECRET-OUTPUT-1234")


globals()["test_made_up_at_run_time_" + "x" * 5] = lambda: None
'''


def test_weak_suite_gets_the_share_it_catches_and_no_output(tmp_path, student_tree):
    score, max_score, output = grade_tests(tmp_path / "weak", WEAK_SUITE, student_tree)
    n = len(chaffs.CHAFFS)
    assert 0 < score < max_score, output
    assert f"caught: {chaffs.CHAFFS['broadcast_not_reduced'][0]}" in output
    assert "not caught: a framework where Adam leaves out the bias correction" in output
    assert score == pytest.approx(round(max_score * (n - output.count("not caught: ")) / n, 4)), output
    assert "SECRET-OUTPUT" not in output and "made_up_at_run_time" not in output


def test_suite_failing_on_the_reference_earns_nothing(tmp_path, student_tree):
    text = WEAK_SUITE + '''

def test_wrong_expectation():
    assert Tensor(np.ones(2)).exp().data[0] == 1.0
'''
    score, _, output = grade_tests(tmp_path / "wrong", text, student_tree)
    assert score == 0
    assert "test_wrong_expectation" in output and "correct framework" in output


def test_starter_test_file_is_not_attempted(tmp_path, student_tree):
    score, _, output = grade_tests(tmp_path / "starter", (student_tree / "autograd" / "test_autograd.py").read_text(),
                                   student_tree)
    assert score == 0 and "not attempted" in output


def test_chaffs_never_reach_the_student_kit(student_tree):
    assert not [p for p in student_tree.rglob("*") if "chaff" in p.name.lower()]
    assert all(not rel.parts[0] == "autograder" for rel in markers.kit_files(paths.KIT))
    text = (student_tree / "autograd" / "tensor.py").read_text()
    assert "BEGIN SOLUTION" not in text and "np.add.at" not in text


def test_suite_importing_torch_earns_nothing(tmp_path, student_tree):
    score, _, output = grade_tests(tmp_path / "torchy", "import torch\n" + WEAK_SUITE, student_tree)
    assert score == 0 and "numpy only" in output


def test_a_test_that_hangs_on_a_chaff_costs_only_what_follows(tmp_path, student_tree):
    text = WEAK_SUITE + '''

def test_tanh_or_hang():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    x.tanh().sum().backward()
    while not np.allclose(x.grad, 1 - np.tanh([0.5, -1.0]) ** 2):
        pass
'''
    score, max_score, output = grade_tests(tmp_path / "hang", text, student_tree)
    assert 0 < score < max_score, output
    assert "fail on a correct framework" not in output  # the reference ran first and passed
    # the hang counts as catching the tanh chaff; the frameworks after it run in a fresh process (a fresh workspace)
    assert f"caught: {chaffs.CHAFFS['tanh_derivative'][0]}" in output
    assert f"not caught: a framework where {chaffs.CHAFFS['tanh_derivative'][0]}" not in output
    assert f"caught: {chaffs.CHAFFS['broadcast_not_reduced'][0]}" in output
    assert "not run" not in output
    assert "Traceback" not in output


# -- graded blind (issue: a suite must not recognise the reference instead of testing) -------------------------------

GAMING_SUITES = {
    # passes on whatever runs first in its process, fails afterwards
    "first_in_process": '''
import numpy as np
from tensor import Tensor
RUNS = []
def test_first_run_only():
    RUNS.append(1)
    assert len(RUNS) == 1 and __import__("sys").modules.get("_seen_before") is None
    __import__("sys").modules["_seen_before"] = True
''',
    # passes on the first framework of the grading, fails (or hangs) on every later one: state kept on disk
    "first_on_disk": '''
import os, tempfile
FLAG = os.path.join(tempfile.gettempdir(), "dlkit-first-run-flag")
def test_first_grading_run_only():
    if os.path.exists(FLAG):
        raise AssertionError("not the first run")
    open(FLAG, "w").close()
''',
    "hang_after_first": '''
import os
FLAG = "/tmp/dlkit-hang-flag"  # outside the workspace, where a later process could find it
def test_hang_after_first_run():
    if os.path.exists(FLAG):
        while True:
            pass
    open(FLAG, "w").close()
''',
    # recognises the reference by a file name or by the order of the public seed
    "file_name": '''
import os, sys
import tensor
def test_reference_by_name():
    names = sorted(os.listdir(".")) + [getattr(tensor, "__file__", ""), str(getattr(tensor, "__spec__", ""))]
    assert any("reference" in n or "fw0" in n for n in names)
''',
}


@pytest.mark.parametrize("name", sorted(GAMING_SUITES))
def test_suites_that_recognise_the_reference_instead_of_testing_earn_nothing(name, tmp_path, student_tree):
    import glob
    import tempfile
    for flag in glob.glob(str(Path(tempfile.gettempdir()) / "dlkit-*-flag")) + glob.glob("/tmp/dlkit-*-flag"):
        Path(flag).unlink()
    score, _, output = grade_tests(tmp_path / name, GAMING_SUITES[name], student_tree)
    assert score == 0, output


def test_the_framework_order_is_secret_and_the_reference_runs_more_than_once():
    from autograder.grading.checks import autograd_framework as af
    from autograder.grading.session import Session
    orders = [af.blind_order(Session.start(Path("."), paths.REPO).rng(af.ORDER_SEED)) for _ in range(4)]
    assert all(order.count("reference") == af.REFERENCE_RUNS >= 2 for order in orders)
    assert sorted(orders[0]) == sorted(list(chaffs.CHAFFS) + ["reference"] * af.REFERENCE_RUNS)
    assert len({tuple(o) for o in orders}) > 1  # a fresh secret seed per grading
    files = {name: af.framework_files(name) for name in ("reference", "tanh_derivative")}
    assert set(files["reference"]) == set(files["tanh_derivative"]) == {"fw_tensor.pyc", "fw_nn.pyc", "fw_optim.pyc"}
