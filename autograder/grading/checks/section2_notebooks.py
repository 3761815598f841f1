"""Section 2: the two notebooks (part1.ipynb, part2.ipynb) and the exported part1 model.

The notebooks are read as data (autograder/grading/notebooks.py): nothing in them is executed. What is checked:

* every notebook: the kit's given code cells (the reference notebook's code cells with their solution regions masked)
  are all present, in order, unchanged outside the TODO regions, and were executed in order; otherwise the notebook's
  rows score 0 (a typed-in or one-cell notebook earns nothing). Figures count only from MIN_FIGURE_PIXELS a side.
* part1_notebook: executed, without error outputs; the torchsummary table and at least three figures (sample images,
  accuracy per epoch, confusion matrix); the "Total params" the summary printed equals the parameter count of the
  export, and the "test accuracy" the notebook printed agrees with what the grader measures on the export (both
  measured in the sandbox); otherwise the row scores 0 and says which.
* part1_accuracy: ``part1_model.pt`` run on the Fashion-MNIST test images in the sandbox, its graph judged
  (autograder/grading/section2_export.py).
* part2_notebook: executed without errors; both images plotted (at least two figures).
* part2_predictions: the printed predictions backed by their top 5 and by the grader's own classification of the
  saved images (autograder/grading/section2_imagenet.py).
"""
from __future__ import annotations

import json
import re
from typing import Dict, List, Tuple

from autograder import paths
from autograder.grading import rubric
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.notebooks import (NotebookReport, check_given_cells, execution_problems, inspect_notebook,
                                          read_notebook, reference_notebook)
from autograder.grading.scoring import threshold_score
from autograder.grading.section2_export import (MAX_MODEL_BYTES, MODEL_FILE, ExportResult, evaluate_export,
                                                fashion_mnist_test_set)
from autograder.grading.section2_imagenet import (IMAGE_FILES, IMAGENET_INDEX, MAX_IMAGE_BYTES, MODEL_LINE,
                                                  PART2_MODELS, imagenet_labels, parse_predictions, parse_top5,
                                                  prediction_problems, reclassification_problem, reclassify)
from autograder.parts import section2

PART1_FIGURES = 3  # the given cells draw sample images, the accuracy per epoch and the confusion matrix
SUMMARY_MARKERS = ("Total params", "Trainable params")  # lines torchsummary.summary always prints
TOTAL_PARAMS = re.compile(r"^Total params: ([0-9][0-9,]*)\s*$", re.MULTILINE)
TEST_ACCURACY = re.compile(r"^test accuracy: ([0-9]+(?:\.[0-9]+)?) %\s*$", re.MULTILINE)
# Given cells that print what the checks read: a unique piece of their source in the reference notebook.
SUMMARY_CELL = "summary(model, (1, 28, 28)"
TEST_CELL = 'print(f"test accuracy:'
PREDICTIONS_CELL = 'print(f"{key} ({name}) top 5:")'


class TestNotebooks(GradedTestCase):
    """Section 2 checks; see the module docstring."""


    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._exports: Dict[str, ExportResult] = {}  # the part1 export's evaluation, once per submission

    def _notebook(self, name: str) -> NotebookReport:
        path = self.submission_dir / name
        if not path.is_file():
            self.fail_with(f"{name} not found in the submission.")
        try:
            return inspect_notebook(read_notebook(path))
        except ValueError as exc:
            self.fail_with(str(exc))

    def _given_cells(self, name: str, report: NotebookReport, set_score, wanted=()) -> Dict[str, str]:
        """The given-cell check: the row scores 0 and fails with the reasons when it does not hold."""
        problems, texts = check_given_cells(report, reference_notebook(name), wanted)
        if problems:
            set_score(0.0)
            self.fail_with(f"{name}: no points for this notebook: " + "\n".join(problems))
        return texts

    def _export(self) -> ExportResult:
        """The part1 export evaluated in the sandbox once per submission (5.1 and 5.2 both use it)."""
        model_path = self.submission_dir / MODEL_FILE
        try:
            stat = model_path.lstat()
            key = f"{model_path}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
        except OSError:
            key = f"{model_path}:missing"
        if key not in self._exports:
            if not model_path.is_file() or model_path.is_symlink():
                result = ExportResult(None, f"{MODEL_FILE} not found in the submission: the last cell of "
                                            f"part1.ipynb writes it; hand it in with the notebook.")
            elif model_path.stat().st_size > MAX_MODEL_BYTES:
                result = ExportResult(None, f"{MODEL_FILE} is {model_path.stat().st_size / 1e6:.0f} MB (at most "
                                            f"{MAX_MODEL_BYTES / 1e6:.0f} MB): use a smaller network.")
            else:
                session = self.grading_session()
                test_set = fashion_mnist_test_set(session.eval_dir)
                if test_set is None:
                    raise session.fault("the Fashion-MNIST evaluation data is missing from the autograder "
                                        "(instructor problem)")
                result = evaluate_export(session, model_path, *test_set)
            type(self)._exports[key] = result
        return self._exports[key]

    def _score_notebook(self, name: str, report: NotebookReport, extra: List[Tuple[str, str, bool, float]],
                        points: float, set_score) -> None:
        """Half the points for a cleanly executed notebook, the other half split over the ``extra`` checks
        (what passing shows, the problem when not, passed, weight)."""
        problems = execution_problems(report)
        score = 0.0 if problems else points / 2
        total_weight = sum(weight for _, _, _, weight in extra)
        for _, description, passed, weight in extra:
            if passed:
                score += points / 2 * weight / total_weight
            else:
                problems.append(description)
        set_score(round(score, 4))
        if problems:
            self.fail_with(f"{name}: " + "\n".join(problems))
        print(f"{name}: executed without errors ({report.code_cells} code cells, {report.images} figures); "
              + "; ".join(ok for ok, _, _, _ in extra) + ".")

    def _figures_problem(self, expected: int, report: NotebookReport, what: str) -> str:
        tiny = (f" ({report.tiny_images} image output(s) smaller than {rubric.MIN_FIGURE_PIXELS} pixels a side "
                f"do not count)") if report.tiny_images else ""
        return f"expected at least {expected} figures ({what}), found {report.images}{tiny}"

    @graded("part1_notebook")
    def test_part1_notebook(self, set_score=None):
        report = self._notebook("part1.ipynb")
        texts = self._given_cells("part1.ipynb", report, set_score, (SUMMARY_CELL, TEST_CELL))
        summary_text, test_text = texts.get(SUMMARY_CELL, ""), texts.get(TEST_CELL, "")
        # Tie the printed numbers to the export the grader measures; withhold the row when they disagree.
        export = self._export()
        totals = TOTAL_PARAMS.findall(summary_text)
        printed_accuracy = TEST_ACCURACY.findall(test_text)
        mismatch = []
        if export.parameters is None:
            mismatch.append(f"the summary cannot be checked against {MODEL_FILE}: {export.reason}")
        elif totals and int(totals[-1].replace(",", "")) != export.parameters:
            mismatch.append(f"the summary printed Total params: {totals[-1]}, but {MODEL_FILE} has "
                            f"{export.parameters:,} parameters: hand in the export of the network this notebook "
                            f"trained (rerun the whole notebook)")
        if export.accuracy is not None and printed_accuracy:
            tolerance = section2.EXPORT["accuracy_tolerance"]
            printed = float(printed_accuracy[-1])
            if abs(printed - export.accuracy) > tolerance:
                mismatch.append(f"the notebook printed test accuracy: {printed:.2f} %, but {MODEL_FILE} scores "
                                f"{export.accuracy:.2f} % (at most {tolerance:g} points apart): hand in the export "
                                f"of the network this notebook trained (rerun the whole notebook)")
        elif export.accuracy is None and export.parameters is not None:
            mismatch.append(f"the test accuracy cannot be checked against {MODEL_FILE}: {export.reason}")
        if not printed_accuracy:
            mismatch.append("no 'test accuracy: ... %' line in the outputs of the test cell: run the whole notebook")
        if mismatch:
            set_score(0.0)
            self.fail_with("part1.ipynb: no points for this notebook: " + "\n".join(mismatch))
        has_summary = all(marker in summary_text for marker in SUMMARY_MARKERS) and bool(totals)
        self._score_notebook("part1.ipynb", report, [
            ("torchsummary table found, its parameter count matches part1_model.pt",
             "the torchsummary table (summary(model, (1, 28, 28), ...)) is not in the outputs of its cell",
             has_summary, 1.0),
            ("figures found", self._figures_problem(PART1_FIGURES, report, "sample images, accuracy per epoch, "
                                                    "confusion matrix"), report.images >= PART1_FIGURES, 1.0),
        ], rubric.RUBRIC["part1_notebook"].points, set_score)

    @graded("part1_accuracy")
    def test_part1_accuracy(self, set_score=None):
        points = rubric.RUBRIC["part1_accuracy"].points
        thresholds = rubric.THRESHOLDS["part1_accuracy"]
        export = self._export()
        if export.accuracy is None:
            set_score(0.0)
            self.fail_with(export.reason)
        accuracy = export.accuracy
        score = threshold_score(accuracy, points, thresholds)
        set_score(round(score, 4))
        relation = "above" if thresholds.get("strict") else "at least"
        message = (f"{MODEL_FILE}: Fashion-MNIST test accuracy {accuracy:.2f} % (full credit {relation} "
                   f"{thresholds['full']:g} %, partial credit from {thresholds['partial']:g} %).")
        if score < points:
            self.fail_with(message)
        print(message)

    @graded("part2_notebook")
    def test_part2_notebook(self, set_score=None):
        report = self._notebook("part2.ipynb")
        self._given_cells("part2.ipynb", report, set_score)
        self._score_notebook("part2.ipynb", report, [
            ("both images plotted", self._figures_problem(2, report, "one for each of img1 and img2"),
             report.images >= 2, 1.0),
        ], rubric.RUBRIC["part2_notebook"].points, set_score)

    @graded("part2_predictions")
    def test_part2_predictions(self, set_score=None):
        points = rubric.RUBRIC["part2_predictions"].points
        report = self._notebook("part2.ipynb")
        texts = self._given_cells("part2.ipynb", report, set_score, (PREDICTIONS_CELL,))
        text = texts.get(PREDICTIONS_CELL, "")
        found, blocks = parse_predictions(text), parse_top5(text)
        labels = imagenet_labels()
        if labels is None:
            raise self.grading_session().fault(f"{IMAGENET_INDEX} is missing from the autograder (instructor problem)")
        lines, problems, backed = [], [], []
        for key in ("img1", "img2"):
            if key in found and 0.0 <= found[key][2] <= 1.0:
                name, label, probability = found[key]
                lines.append(f"{key} ({name}): {label} (p = {probability:.2f})")
                wrong = prediction_problems(key, found[key], blocks.get(key, []), labels)
                problems.extend(wrong)
                if not wrong:
                    backed.append(key)
            else:
                problems.append(f"no prediction line for {key} (expected e.g. '{key} (my_photo): <label> "
                                f"(p = 0.42)' in the outputs of the predictions cell; run the whole notebook)")
        # The printed top 5 must be what the same network says about the image the notebook saved.
        good = []
        models = MODEL_LINE.findall(text)
        model_name = models[-1] if models else ""
        present = []
        for key in backed:
            path = self.submission_dir / IMAGE_FILES[key]
            if not path.is_file() or path.is_symlink():
                problems.append(f"{key}: {IMAGE_FILES[key]} not found in the submission: the predictions cell of "
                                f"part2.ipynb saves it next to the notebook; hand it in")
            elif path.stat().st_size > MAX_IMAGE_BYTES:
                problems.append(f"{key}: {IMAGE_FILES[key]} is over {MAX_IMAGE_BYTES // 2**20} MB")
            else:
                present.append(key)
        if present and model_name not in PART2_MODELS:
            problems.append(f"the predictions cell printed model: {model_name or '(nothing)'}; expected one of "
                            f"{', '.join(PART2_MODELS)} (the kit's load_pretrained): run the kit's notebook")
        elif present:
            again, reason = reclassify(self.grading_session(), self.submission_dir, model_name, present)
            if reason:
                problems.append(reason)
            index = json.loads((paths.KIT / IMAGENET_INDEX).read_text(encoding="utf-8"))
            idx2label = [index[str(i)][1] for i in range(len(index))]
            for key in again:
                wrong = reclassification_problem(key, blocks[key], again[key], idx2label, model_name)
                if wrong:
                    problems.append(wrong)
                else:
                    good.append(key)
        set_score(points * len(good) / 2)
        if problems:
            self.fail_with("part2.ipynb: " + "\n".join(lines + problems))
        print("part2.ipynb: " + "; ".join(lines))
