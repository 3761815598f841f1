"""A student's first week, played end to end: a fresh student kit, Section 1's code done (not yet trained),
make_submission.py makes a zip anyway and says what the rest costs, and the grader gives Section 1's rows their points
and says, for everything else, what is missing or not attempted."""
from __future__ import annotations

import shutil
import subprocess
import sys

from autograder import paths
from autograder.grading import rubric, submission

SECTION1_CODE = ("backprop/functions.py", "neuralnet/layers.py", "neuralnet/two_layer_net.py", "neuralnet/train.py")


def test_one_part_done_hand_in_early_and_get_graded(tmp_path, student_tree):
    kit = tmp_path / "kit"
    shutil.copytree(student_tree, kit)
    for relative in SECTION1_CODE:  # the student's work: Section 1's code, from the reference
        shutil.copyfile(paths.KIT / relative, kit / relative)

    made = subprocess.run([sys.executable, "make_submission.py", "jdoe"], cwd=kit, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "neuralnet/checkpoint.pkl is missing" in made.stdout
    assert "Until it is handed in, row 4.3 scores 0" in made.stdout, made.stdout
    assert "can be uploaded now" in made.stdout and (kit / "jdoe.zip").is_file()

    results = submission.grade_path(kit / "jdoe.zip")
    by_number = {t["number"]: t for t in results["tests"]}
    section1 = [item for item in rubric.RUBRIC.values() if item.part == "section1"]
    for item in section1:
        test = by_number[item.number]
        if item.number == "4.3":  # the checkpoint is not there: said, and 0
            assert test["score"] == 0 and "checkpoint.pkl" in test["output"], test
        else:
            assert test["score"] == test["max_score"], test
    others = [t for t in results["tests"] if rubric.RUBRIC[next(
        i for i, item in rubric.RUBRIC.items() if item.number == t["number"])].part != "section1"]
    assert others and all(t["score"] == 0 for t in others)
    for test in others:  # every other row says why it has nothing: not handed in / not attempted / missing
        text = test["output"].lower()
        assert any(w in text for w in ("not attempted", "missing", "not handed in", "not answered")), test
