"""Crafted submissions that target how the grader judges code rather than doing the work (issue: grades tied to the
work). Each earns nothing in the rows it targets:

* models judged by what they compute, not by their class names (7.1-7.4): an FC_only that convolves, an extra
  convolution, an average pool in a class named MaxPool2d, an activation built but never called;
* vacuous answers (a function that always raises, one that returns one zero and adds no hook) pay nothing;
* a student module that patches the checker's procedures module changes nothing the checker reports;
* feedback never hands out the expected values of a hidden input (7.6), and the inputs change every grading;
* softmax stability (2.5): no shift in np.longdouble, and "shift by the row mean, clip to +-700", both fail;
* missing and misnamed files are named, on every path (runner, `grade`, `regrade`, check_submission.py).
"""
from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder import paths
from autograder.grading import rubric, runner
from autograder.grading.session import SEED_ENV, Session

NUMBER_TO_ID = {item.number: item_id for item_id, item in rubric.RUBRIC.items()}


def _rows(folder: Path, modules, student_tree) -> dict:
    results = runner.grade_folder(folder, modules=modules, given_dir=student_tree)
    return {NUMBER_TO_ID[t["number"]]: t for t in results["tests"]}


def _edited(relative: str, edits) -> str:
    text = (paths.KIT / relative).read_text()
    for old, new in edits:
        assert text.count(old) == 1, f"{relative}: {old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


# -- Section 3b: structure by behaviour ---------------------------------------------------------------------------

MODELS = "smalldata/models.py"
HELPERS = "smalldata/helpers.py"
# The harness procedures module patched from the student's file: the checker must not notice.
PATCH_THE_CHECKER = '''

import section3b_procedures as _checker
_real = _checker.architecture
def _fake(module, name, kwargs, x, *rest):
    report = _real(module, name, kwargs, x, *rest)
    report["ops"] = [op for op in report.get("ops", []) if "conv" not in op[0]]
    return report
_checker.architecture = _fake
'''

CRAFTED_MODELS = {
    # a "fully connected" model whose forward convolves with a functional call
    "fc_only_convolves": ([("        return self.net(x)\n",
                            "        x = torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3) / 9, padding=1)\n"
                            "        return self.net(x)\n")], "smalldata_fc_only", "its forward runs convolution"),
    # the same, and the checker's procedures module patched to hide the convolution
    "fc_only_convolves_and_patches_the_checker": ([("        return self.net(x)\n",
                                                    "        x = torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3) / 9, "
                                                    "padding=1)\n        return self.net(x)\n")],
                                                  "smalldata_fc_only", "its forward runs convolution"),
    # two convolutions where the homework asks for one
    "extra_convolution": ([("            nn.Conv2d(1, channels, kernel_size=3, padding=1),\n            activation(),\n",
                            "            nn.Conv2d(1, channels, kernel_size=3, padding=1),\n"
                            "            nn.Conv2d(channels, channels, kernel_size=3, padding=1),\n"
                            "            activation(),\n")], "smalldata_gray1conv", "convolution(s), expected exactly one"),
    # an average pool in a class named MaxPool2d
    "avgpool_named_maxpool": ([("class Grayscale1Convolution(nn.Module):",
                                "class MaxPool2d(nn.AvgPool2d):\n    pass\n\n\nclass Grayscale1Convolution(nn.Module):"),
                               ("            activation(),\n            nn.MaxPool2d(kernel_size=2, stride=2),\n        )\n"
                                "        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * 14 * 14",
                                "            activation(),\n            MaxPool2d(kernel_size=2, stride=2),\n        )\n"
                                "        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * 14 * 14")],
                              "smalldata_gray1conv", "expected exactly one max-pooling"),
    # the activation built (so a module list shows it) but never called
    "activation_built_not_called": ([("            activation(),\n            nn.MaxPool2d(kernel_size=2, stride=2),\n"
                                      "        )\n        self.classifier = nn.Sequential(nn.Flatten(), "
                                      "nn.Linear(channels * 14 * 14, num_classes))\n",
                                      "            nn.ReLU(),\n            nn.MaxPool2d(kernel_size=2, stride=2),\n"
                                      "        )\n        self.unused = activation()\n"
                                      "        self.classifier = nn.Sequential(nn.Flatten(), "
                                      "nn.Linear(channels * 14 * 14, num_classes))\n")],
                                    "smalldata_activation", None),
}


@pytest.mark.parametrize("case", sorted(CRAFTED_MODELS))
def test_models_are_judged_by_what_they_compute(case, tmp_path, student_tree):
    edits, row_id, says = CRAFTED_MODELS[case]
    text = _edited(MODELS, edits)
    if "patches_the_checker" in case:
        text += PATCH_THE_CHECKER
    folder = tmp_path / case
    folder.mkdir()
    (folder / "models.py").write_text(text)
    shutil.copyfile(paths.KIT / HELPERS, folder / "helpers.py")
    rows = _rows(folder, ["section3b_smalldata"], student_tree)
    row = rows[row_id]
    if says is None:
        assert row["score"] == 0.0, row["output"]
    else:
        assert row["score"] < row["max_score"], row["output"]
        assert says in row["output"], row["output"]


def test_a_class_subset_that_always_raises_earns_nothing(tmp_path, student_tree):
    text = _edited(HELPERS, [("    targets = np.asarray(dataset_targets).reshape(-1).astype(np.int64)\n",
                              "    raise ValueError('too few examples')\n"
                              "    targets = np.asarray(dataset_targets).reshape(-1).astype(np.int64)\n")])
    folder = tmp_path / "raises"
    folder.mkdir()
    (folder / "helpers.py").write_text(text)
    shutil.copyfile(paths.KIT / MODELS, folder / "models.py")
    row = _rows(folder, ["section3b_smalldata"], student_tree)["smalldata_class_subset"]
    assert row["score"] == 0.0, row["output"]
    assert "counts once it returns the right subset" in row["output"], row["output"]


def test_train_epochs_feedback_says_how_far_not_the_expected_values(tmp_path, student_tree, monkeypatch):
    from autograder.grading.checks import section3b_smalldata as graded
    monkeypatch.setenv(SEED_ENV, "424242")
    text = _edited(HELPERS, [("            optimizer.zero_grad()\n", "")])
    folder = tmp_path / "no_zero_grad"
    folder.mkdir()
    (folder / "helpers.py").write_text(text)
    shutil.copyfile(paths.KIT / MODELS, folder / "models.py")
    row = _rows(folder, ["section3b_smalldata"], student_tree)["smalldata_train_epochs"]
    assert row["score"] < row["max_score"], row["output"]
    assert "off (" in row["output"] and ("higher" in row["output"] or "lower" in row["output"]), row["output"]
    inputs = graded._inputs(Session.start(folder, paths.REPO).rng(graded.SEED))  # the same seed: the same inputs
    for case in inputs["train"]:
        losses, weight, _ = graded.expected_training(case)
        for value in list(losses) + list(weight.ravel()[:5]):
            for digits in (4, 5):
                assert f"{value:.{digits}f}" not in row["output"], (value, row["output"])


def test_each_grading_draws_fresh_inputs(monkeypatch):
    from autograder.grading.checks import section3b_smalldata as graded
    monkeypatch.delenv(SEED_ENV, raising=False)
    draws = [graded._inputs(Session.start(Path("."), paths.REPO).rng(graded.SEED))["train"][0]["x"]
             for _ in range(2)]
    assert not np.array_equal(*draws)
    monkeypatch.setenv(SEED_ENV, "7")
    fixed = [graded._inputs(Session.start(Path("."), paths.REPO).rng(graded.SEED))["train"][0]["x"]
             for _ in range(2)]
    assert np.array_equal(*fixed)  # AUTOGRADER_SEED reproduces a grading


# -- Section 3a: vacuous extractors ---------------------------------------------------------------------------

VACUOUS_EXTRACTOR = '''

def extract_features(model, layer_name, loader, channels=None, pool=None, device="cpu"):
    return np.zeros((1, 1), dtype=np.float32), np.zeros(1, dtype=np.int64)
'''


def test_an_extractor_that_does_nothing_earns_nothing(tmp_path, student_tree):
    folder = tmp_path / "vacuous"
    folder.mkdir()
    (folder / "features.py").write_text((paths.KIT / "cnnfeatures" / "features.py").read_text() + VACUOUS_EXTRACTOR)
    rows = _rows(folder, ["section3a_features"], student_tree)
    for row_id in ("extract_features", "extract_features_options"):
        assert rows[row_id]["score"] == 0.0, rows[row_id]["output"]
    assert rows["class_variances"]["score"] == rows["class_variances"]["max_score"]


# -- Section 1: softmax stability --------------------------------------------------------------------------------

UNSTABLE_SOFTMAX = {
    "longdouble_without_shift": "    shifted = x.astype(np.longdouble)\n",
    "mean_shift_and_clip": "    shifted = np.clip(x - x.mean(axis=1, keepdims=True), -700, 700)\n",
}


@pytest.mark.parametrize("case", sorted(UNSTABLE_SOFTMAX))
def test_softmax_without_the_max_shift_loses_the_stability_points(case, tmp_path, student_tree):
    text = _edited("neuralnet/layers.py", [("    shifted = x - x.max(axis=1, keepdims=True)\n", UNSTABLE_SOFTMAX[case])])
    text = text.replace("    loss = float(-log_probs[rows, y].mean())\n    grad_x = np.exp(log_probs)\n",
                        "    loss = float(-log_probs[rows, y].mean())\n    grad_x = np.exp(log_probs).astype(float)\n")
    folder = tmp_path / case
    folder.mkdir()
    (folder / "layers.py").write_text(text)
    row = _rows(folder, ["section1_layers"], student_tree)["softmax_loss"]
    assert row["score"] <= row["max_score"] - 2, row["output"]  # both stability sub-checks lost
    assert "large scores" in row["output"], row["output"]


# -- Missing and misnamed files ----------------------------------------------------------------------------------

def _reference_folder(root: Path) -> Path:
    """The reference submission's files (dist/reference-submission.zip when built, else the kit's Section-1 files)."""
    folder = root / "jdoe"
    folder.mkdir(parents=True)
    for relative in ("backprop/functions.py", "neuralnet/layers.py", "neuralnet/train.py", "neuralnet/two_layer_net.py"):
        shutil.copyfile(paths.KIT / relative, folder / Path(relative).name)
    return folder


def test_a_misnamed_file_is_named_on_every_row_that_needs_it(tmp_path, student_tree):
    folder = _reference_folder(tmp_path)
    (folder / "layers.py").rename(folder / "layer.py")
    results = runner.grade_folder(folder, modules=["section1_layers", "section1_two_layer_net"],
                                  given_dir=student_tree)
    rows = {NUMBER_TO_ID[t["number"]]: t for t in results["tests"]}
    for row_id in ("fc_forward", "softmax_loss", "two_layer_forward"):
        assert "layers.py is missing (found layer.py" in rows[row_id]["output"], rows[row_id]["output"]
        assert "not attempted" not in rows[row_id]["output"], rows[row_id]["output"]
        assert rows[row_id]["score"] == 0.0
    assert results["extra_data"]["missing_files"] == ["layers.py"]  # checkpoint.pkl: no graded row here needs it
    assert "layers.py (found layer.py)" in results["output"]


def test_a_part_not_handed_in_is_graded_as_the_starter_and_says_so(tmp_path, student_tree):
    folder = _reference_folder(tmp_path)
    results = runner.grade_folder(folder, modules=["section3b_smalldata"], given_dir=student_tree)
    for test in results["tests"]:
        assert test["score"] == 0.0
        assert test["output"].startswith("Your submission has none of this part's files"), test["output"]
    assert results["extra_data"]["missing_files"] == ["models.py", "helpers.py", "part4.ipynb"]


def _zip(folder: Path, zip_path: Path, prefix: str) -> Path:
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return zip_path


def test_an_extra_folder_level_is_named_by_grade_regrade_and_check_submission(tmp_path, student_tree, monkeypatch):
    """jdoe.zip holding jdoe/jdoe/<files>: graded, every row saying where the files are, the CSV saying
    "incomplete", and check_submission.py telling the student the same before they upload."""
    from autograder.grading import handed_in, submission
    from autograder import regrade
    inner = _reference_folder(tmp_path / "src")
    zips = tmp_path / "zips"
    zips.mkdir()
    _zip(inner.parent, zips / "jdoe.zip", "jdoe")  # jdoe/jdoe/layers.py, ...
    _zip(inner, zips / "amy.zip", "amy")  # the right layout
    results = submission.grade_path(zips / "jdoe.zip", modules=["section1_layers"])
    row = next(t for t in results["tests"] if t["number"] == rubric.RUBRIC["fc_forward"].number)
    assert "layers.py is missing from the top of your folder (found jdoe/layers.py)" in row["output"], row["output"]
    assert "your files sit in the folder jdoe/" in results["output"], results["output"]

    csv_path = tmp_path / "grades.csv"
    regrade.regrade(zips, csv_path, jobs=1, modules=["section1_layers"])
    with open(csv_path, newline="") as handle:
        status = {r["student"]: r["status"] for r in csv.DictReader(handle)}
    assert status["jdoe"] == "incomplete: layers.py missing", status  # the files the graded rows need
    assert status["amy"] == "graded", status  # its checkpoint.pkl is missing too, but no row graded here needs it

    check = handed_in.check_submission()
    extracted = tmp_path / "extracted"
    check.safe_extract(zips / "jdoe.zip", extracted)
    problems = check.check_files(extracted / "jdoe")
    assert any("layers.py is missing from the top of your folder (found jdoe/layers.py)" in p for p in problems)
