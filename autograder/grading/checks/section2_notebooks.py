"""Section 2: the two notebooks (part1.ipynb, part2.ipynb), run by the grader, and the exported part1 model.

The grader runs each notebook itself in the sandbox (autograder/grading/notebook_runs.py): part1 on its small
Fashion-MNIST for one epoch, part2 on the images the student handed in. Saved outputs are never scored. A notebook
whose given cells were changed, or whose TODO cells are the starter's, earns nothing. What is checked:

* part1_notebook: the run has no error; it draws the sample images, the accuracy per epoch and the confusion matrix;
  and it learns: the model it exported classifies at least ``EXPORT["learned_min"]`` percent of Fashion-MNIST test
  images it never saw (the grader holds their labels);
* part1_accuracy: the handed-in ``part1_model.pt`` on the whole test set, judged by autograder/grading/
  section2_export.py; it must be the network the notebook trains (the parameter shapes of the run's export), and
  that network must learn when the grader trains it (5.1's measure);
* part2_notebook: the run has no error and draws both images;
* part2_predictions: the run printed a prediction for img1 and img2 (the images handed in), each an ImageNet class at
  the head of its top 5 (autograder/grading/section2_imagenet.py).
"""
from __future__ import annotations

import numpy as np

from autograder import eval_data
from autograder.grading import notebook_runs, rubric
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.scoring import threshold_score
from autograder.grading.section2_export import (IMAGES_FILE, MAX_MODEL_BYTES, MODEL_FILE, ExportResult,
                                                evaluate_export, fashion_mnist_test_set, fashion_mnist_train_sample,
                                                images_file, logits_call, read_logits)
from autograder.grading.section2_imagenet import (IMAGE_FILES, MAX_IMAGE_BYTES, imagenet_labels, parse_predictions,
                                                  parse_top5, prediction_problems)
from autograder.parts import section2

PART1_FIGURES = 3  # the given cells draw sample images, the accuracy per epoch and the confusion matrix


class TestNotebooks(GradedTestCase):
    """Section 2 checks; see the module docstring."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._export = None  # the part1 export's evaluation, once per submission (5.2)

    def _test_sets(self):
        session = self.grading_session()
        test, train = fashion_mnist_test_set(session.eval_dir), fashion_mnist_train_sample(session.eval_dir)
        if test is None or train is None:
            raise session.fault("the Fashion-MNIST evaluation data is missing from the autograder (instructor problem)")
        return test, train

    def _learned(self, run: notebook_runs.NotebookRun):
        """(accuracy of the run's export on the held-out images, its parameter shapes) or (None, the reason)."""
        test, _ = self._test_sets()
        start, count = eval_data.HELD_OUT, int(section2.EXPORT["held_out"])
        outcome = run.outcome("learned")
        if not run.ran or outcome is None:
            return None, "the run did not finish, so it exported nothing"
        value, reason = read_logits(outcome, count)
        if value is None:
            return None, f"the model the run exported: {reason}"
        accuracy = 100.0 * float(np.mean(np.argmax(value["logits"], axis=1) == test[1][start:start + count]))
        return (accuracy, value.get("shapes")), ""

    @graded("part1_notebook")
    def test_part1_notebook(self, set_score=None):
        minimum = section2.EXPORT["learned_min"]

        def sub_checks(run):
            learned, reason = self._learned(run)
            if learned is None:
                problem = f"part1.ipynb: the grader's run cannot show that your network learns: {reason}."
                label = "learns"
            else:
                accuracy = learned[0]
                label = (f"the network it trained (one epoch) classifies {accuracy:.1f} % of "
                         f"{section2.EXPORT['held_out']:g} test images it never saw")
                problem = None if accuracy >= minimum else (
                    f"part1.ipynb: the network the grader's run trained classifies only {accuracy:.1f} % of "
                    f"{section2.EXPORT['held_out']:g} test images it never saw (at least {minimum:g} %: chance is 10 "
                    f"%): check the network and the optimizer's learning rate.")
            return [(f"drew {run.figures} figures", 1, None if run.figures >= PART1_FIGURES else
                     f"part1.ipynb: the grader's run drew {run.figures} figure(s), expected at least {PART1_FIGURES} "
                     f"(sample images, accuracy per epoch, confusion matrix)."),
                    (label, 1, problem)]

        notebook_runs.grade(self, set_score, "part1_notebook", section2.PART1, sub_checks,
                            extra_calls=self._part1_run_calls(), extra_files=self._part1_run_files)

    def _part1_run_calls(self):
        return [logits_call("learned")]

    def _part1_run_files(self):
        test, _ = self._test_sets()
        start = eval_data.HELD_OUT
        return {IMAGES_FILE: images_file(test[0][start:start + int(section2.EXPORT["held_out"])])}

    def _evaluate(self) -> ExportResult:
        if self._export is None:
            model_path = self.submission_dir / MODEL_FILE
            if not model_path.is_file() or model_path.is_symlink():
                result = ExportResult(None, f"{MODEL_FILE} not found in the submission: the last cell of "
                                            f"part1.ipynb writes it; hand it in with the notebook.")
            elif model_path.stat().st_size > MAX_MODEL_BYTES:
                result = ExportResult(None, f"{MODEL_FILE} is {model_path.stat().st_size / 1e6:.0f} MB (at most "
                                            f"{MAX_MODEL_BYTES / 1e6:.0f} MB): use a smaller network.")
            else:
                result = evaluate_export(self.grading_session(), model_path, *self._test_sets())
            type(self)._export = result
        return self._export

    @graded("part1_accuracy")
    def test_part1_accuracy(self, set_score=None):
        points = rubric.RUBRIC["part1_accuracy"].points
        thresholds = rubric.THRESHOLDS["part1_accuracy"]
        export = self._evaluate()
        if export.accuracy is None:
            set_score(0.0)
            self.fail_with(export.reason)
        # The export must be the network the notebook trains: the grader's own run trained that network.
        gate = notebook_runs.gate(self.grading_session(), section2.PART1.name)
        learned, reason = (None, gate) if gate else self._learned(
            notebook_runs.run(self.grading_session(), self.part_key(), section2.PART1, self._part1_run_calls(),
                              self._part1_run_files()))
        if learned is None:
            set_score(0.0)
            self.fail_with(f"{MODEL_FILE} cannot be checked against the network part1.ipynb trains: {reason} "
                           f"(see 5.1).")
        if learned[1] != export.shapes:
            set_score(0.0)
            self.fail_with(f"{MODEL_FILE} is not the network part1.ipynb trains: its parameter shapes differ from "
                           f"those of the model the grader's run of the notebook exported: hand in the export of "
                           f"this notebook's network (rerun the whole notebook).")
        # The points are for a network the notebook's own code trains: when the grader trains it, it must learn.
        if learned[0] < section2.EXPORT["learned_min"]:
            set_score(0.0)
            self.fail_with(f"{MODEL_FILE} earns nothing while the network part1.ipynb trains does not learn when the "
                           f"grader runs the notebook ({learned[0]:.1f} % on images it never saw, at least "
                           f"{section2.EXPORT['learned_min']:g} %; see 5.1).")
        score = threshold_score(export.accuracy, points, thresholds)
        set_score(round(score, 4))
        relation = "above" if thresholds.get("strict") else "at least"
        message = (f"{MODEL_FILE}: Fashion-MNIST test accuracy {export.accuracy:.2f} % (full credit {relation} "
                   f"{thresholds['full']:g} %, partial credit from {thresholds['partial']:g} %).")
        if score < points:
            self.fail_with(message)
        print(message)

    @graded("part2_notebook")
    def test_part2_notebook(self, set_score=None):
        notebook_runs.grade(self, set_score, "part2_notebook", section2.PART2, lambda run: [
            (f"drew both images ({run.figures} figures)", 1, None if run.figures >= 2 else
             f"part2.ipynb: the grader's run drew {run.figures} figure(s), expected 2 (one for each of img1 and "
             f"img2).")])

    @graded("part2_predictions")
    def test_part2_predictions(self, set_score=None):
        missing = [name for name in IMAGE_FILES.values() if not (self.submission_dir / name).is_file()
                   or (self.submission_dir / name).is_symlink()]
        big = [name for name in IMAGE_FILES.values() if name not in missing
               and (self.submission_dir / name).stat().st_size > MAX_IMAGE_BYTES]
        if missing or big:
            set_score(0.0)
            self.fail_with("part2.ipynb: " + "; ".join(
                [f"{name} not found in the submission: the predictions cell saves it next to the notebook; hand it "
                 f"in" for name in missing] + [f"{name} is over {MAX_IMAGE_BYTES // 2 ** 20} MB" for name in big])
                + ".")
        labels = imagenet_labels()
        if labels is None:
            raise self.grading_session().fault("imagenet_class_index.json is missing from the autograder "
                                               "(instructor problem)")

        def sub_checks(run):
            found, blocks = parse_predictions(run.text), parse_top5(run.text)
            checks = []
            for key in IMAGE_FILES:
                if key not in found:
                    checks.append((f"{key} classified", 1, f"part2.ipynb: the grader's run printed no prediction "
                                                          f"line for {key} ('{key} (<name>): <label> (p = ...)')."))
                    continue
                name, label, probability = found[key]
                wrong = prediction_problems(key, found[key], blocks.get(key, []), labels)
                checks.append((f"{key} ({name}) classified as {label} (p = {probability:.2f})", 1,
                               "part2.ipynb: " + "; ".join(wrong) + "." if wrong else None))
            return checks

        notebook_runs.grade(self, set_score, "part2_predictions", section2.PART2, sub_checks, run_weight=1)
