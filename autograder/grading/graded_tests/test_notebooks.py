"""Section 2: the two notebooks (part1.ipynb, part2.ipynb) and the exported part1 model.

The notebooks are read as data (JSON through nbformat, size-capped) in the grading process: nothing in them is
executed. What is checked:

* part1_notebook: the notebook was executed (every non-empty code cell has an execution count), without error
  outputs; the torchsummary table is in its outputs; at least three figures (sample images, accuracy per epoch,
  confusion matrix).
* part1_accuracy: ``part1_model.pt`` (TorchScript) is run on the Fashion-MNIST test images INSIDE the sandbox
  (``harness/notebook_procedures.part1_logits``); the grader computes the accuracy from the labels it holds.
* part2_notebook: executed without errors; both images plotted (at least two figures).
* part2_predictions: the two lines ``img1 (<name>): <label> (p = <prob>)`` and ``img2 (...)`` are in the outputs.
"""
from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import nbformat
import numpy as np

from autograder import eval_data
from autograder.grading import rubric
from autograder.grading.graded_tests import GradedTestCase, graded
from autograder.grading.student_code import Call, Workspace, run_calls

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # a notebook with its figures is well under 1 MB; this only stops abuse
MAX_MODEL_BYTES = 50 * 1024 * 1024  # part1_model.pt: the reference is ~1.7 MB
MODEL_FILE = "part1_model.pt"
IMAGES_FILE = "fashion_mnist_test_images.npy"
PART1_CHUNK = 200  # images per forward pass in the sandbox: the reference's largest activation is then 20 MB
PART1_FIGURES = 3  # the given cells draw sample images, the accuracy per epoch and the confusion matrix
SUMMARY_MARKERS = ("Total params", "Trainable params")  # lines torchsummary.summary always prints
# The part2 notebook prints e.g. "img1 (coffee): espresso (p = 0.96)" for each image.
PREDICTION_LINE = re.compile(r"^(img[12]) \((.+?)\): (.+?) \(p = ([0-9]*\.?[0-9]+)\)\s*$", re.MULTILINE)


@dataclass
class NotebookReport:
    """What a notebook's saved outputs show (read as data, never executed)."""
    code_cells: int = 0
    unexecuted: List[int] = field(default_factory=list)  # 1-based numbers of non-empty code cells never run
    errors: List[str] = field(default_factory=list)  # "cell N: ExceptionName: message" per error output
    images: int = 0  # image/png outputs (figures)
    text: str = ""  # every stream and text/plain output, joined


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Parse a notebook file as data.

    Raises:
        ValueError: the file is too large or is not a notebook (the message says which, for the student).
    """
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{path.name} is {size / 1e6:.1f} MB (at most {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB)")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path.name} is not a readable Jupyter notebook (not JSON: {type(exc).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", data.get("worksheets")), list):
        raise ValueError(f"{path.name} is not a readable Jupyter notebook (no list of cells)")
    try:
        nb = nbformat.reads(text, as_version=4)  # also converts old (v3) notebooks
    except nbformat.ValidationError:
        # A schema detail (e.g. an editor's extra or missing field) must not hide the saved outputs: read as is.
        nb = nbformat.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # nbformat's own errors (NBFormatError is a ValueError) and conversions tripping over malformed parts.
        raise ValueError(f"{path.name} is not a readable Jupyter notebook ({type(exc).__name__})") from None
    if not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path.name} is not a readable Jupyter notebook (no list of cells)")
    return nb


def _text_of(value) -> str:
    """Notebook text fields are a string or a list of strings."""
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return value if isinstance(value, str) else ""


def inspect_notebook(nb: nbformat.NotebookNode) -> NotebookReport:
    """Summarize a parsed notebook's execution state and outputs."""
    report = NotebookReport()
    texts = []
    for cell in nb.cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        report.code_cells += 1
        if _text_of(cell.get("source")).strip() and not isinstance(cell.get("execution_count"), int):
            report.unexecuted.append(report.code_cells)
        outputs = cell.get("outputs")
        for output in outputs if isinstance(outputs, list) else []:
            if not isinstance(output, dict):
                continue
            kind = output.get("output_type")
            if kind == "error":
                report.errors.append(f"code cell {report.code_cells}: {_text_of(output.get('ename'))}: "
                                     f"{_text_of(output.get('evalue'))[:200]}")
            elif kind == "stream":
                texts.append(_text_of(output.get("text")))
            elif kind in ("display_data", "execute_result"):
                data = output.get("data")
                if isinstance(data, dict):
                    report.images += int("image/png" in data)
                    texts.append(_text_of(data.get("text/plain")))
    report.text = "\n".join(texts)
    return report


def execution_problems(report: NotebookReport) -> List[str]:
    """Student-facing reasons why a notebook does not count as executed cleanly (empty list: it does)."""
    problems = []
    if report.code_cells == 0:
        problems.append("it has no code cells")
    if report.unexecuted:
        cells = ", ".join(str(n) for n in report.unexecuted[:10])
        problems.append(f"code cell(s) {cells} were not run: run the whole notebook (Run All) and save it with its "
                        f"outputs")
    for error in report.errors[:5]:
        problems.append(f"error output in {error}: fix it and rerun the notebook")
    return problems


def parse_predictions(text: str) -> Dict[str, Tuple[str, str, float]]:
    """The part2 prediction lines: {"img1": (name, label, probability), "img2": ...}; the last line of each wins."""
    found = {}
    for match in PREDICTION_LINE.finditer(text):
        found[match.group(1)] = (match.group(2), match.group(3).strip(), float(match.group(4)))
    return found


def accuracy_score(accuracy: float, points: float, thresholds: dict) -> float:
    """Points for a test accuracy (percent): full above ``full`` (at or above when not strict), linear from
    ``partial`` up to ``full``, nothing below ``partial``."""
    full, partial = thresholds["full"], thresholds["partial"]
    if accuracy > full or (accuracy >= full and not thresholds.get("strict", False)):
        return points
    if accuracy < partial:
        return 0.0
    # Partial credit stays below full points, so "strictly above" still matters at exactly `full`.
    return min(points * (accuracy - partial) / (full - partial), points - 0.01)


def fashion_mnist_test_set(eval_dir: Optional[Path]) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """The grader's Fashion-MNIST test images uint8 (10000, 28, 28) and labels int64 (10000,), or None."""
    if eval_dir is not None:
        path = Path(eval_dir) / eval_data.FASHION_MNIST_FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            return data["X"], data["y"]
    return eval_data.fashion_mnist_test()


def export_accuracy(model_path: Path, images: np.ndarray, labels: np.ndarray) -> Tuple[Optional[float], str]:
    """Run a submitted part1 export in the sandbox on ``images`` and score it against ``labels``.

    Args:
        model_path: the submitted TorchScript file (never opened in this process beyond copying its bytes).
        images: uint8 (N, 28, 28) test images.
        labels: int64 (N,) their labels (they stay in the grading process).
    Returns:
        (accuracy in percent, "") or (None, a student-facing reason).
    """
    ws = Workspace()
    try:
        ws.add_file(MODEL_FILE, model_path)
        with tempfile.TemporaryDirectory(prefix="dlkit-part1-") as tmp:
            images_path = Path(tmp) / IMAGES_FILE
            np.save(images_path, np.ascontiguousarray(images, dtype=np.uint8), allow_pickle=False)
            ws.add_file(IMAGES_FILE, images_path)
        call = Call("part1_logits", None, procedure="notebook_procedures.part1_logits",
                    args=(MODEL_FILE, IMAGES_FILE, PART1_CHUNK))
        outcome = run_calls(ws, [call], limits=rubric.PART1_SANDBOX_LIMITS)["part1_logits"]
    finally:
        ws.cleanup()
    if outcome.status != "ok":
        return None, f"{MODEL_FILE} could not be evaluated ({outcome.status}): {outcome.message}"
    logits = outcome.value
    if not isinstance(logits, np.ndarray) or logits.shape != (len(labels), 10) or logits.dtype.kind != "f":
        shape = getattr(logits, "shape", None)
        return None, f"{MODEL_FILE}: expected float logits of shape ({len(labels)}, 10), got {shape}"
    if not np.all(np.isfinite(logits)):
        return None, f"{MODEL_FILE}: the logits contain NaN or inf"
    accuracy = 100.0 * float(np.mean(np.argmax(logits, axis=1) == labels))
    return accuracy, ""


class TestNotebooks(GradedTestCase):
    """Section 2 checks; see the module docstring."""

    def _notebook(self, name: str) -> NotebookReport:
        path = self.submission_dir / name
        if not path.is_file():
            self.fail_with(f"{name} not found in the submission.")
        try:
            return inspect_notebook(read_notebook(path))
        except ValueError as exc:
            self.fail_with(str(exc))

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

    @graded("part1_notebook")
    def test_part1_notebook(self, set_score=None):
        report = self._notebook("part1.ipynb")
        has_summary = all(marker in report.text for marker in SUMMARY_MARKERS)
        self._score_notebook("part1.ipynb", report, [
            ("torchsummary table found", "the torchsummary table (summary(model, (1, 28, 28), ...)) is not in the "
             "outputs", has_summary, 1.0),
            ("figures found", f"expected at least {PART1_FIGURES} figures (sample images, accuracy per epoch, "
             f"confusion matrix), found {report.images}", report.images >= PART1_FIGURES, 1.0),
        ], rubric.RUBRIC["part1_notebook"].points, set_score)

    @graded("part1_accuracy")
    def test_part1_accuracy(self, set_score=None):
        points = rubric.RUBRIC["part1_accuracy"].points
        thresholds = rubric.THRESHOLDS["part1_accuracy"]
        model_path = self.submission_dir / MODEL_FILE
        if not model_path.is_file() or model_path.is_symlink():
            self.fail_with(f"{MODEL_FILE} not found in the submission: the last cell of part1.ipynb writes it; "
                           f"hand it in with the notebook.")
        if model_path.stat().st_size > MAX_MODEL_BYTES:
            self.fail_with(f"{MODEL_FILE} is {model_path.stat().st_size / 1e6:.0f} MB (at most "
                           f"{MAX_MODEL_BYTES / 1e6:.0f} MB): use a smaller network.")
        test_set = fashion_mnist_test_set(self.grading_context().eval_dir)
        if test_set is None:
            raise RuntimeError("the Fashion-MNIST evaluation data is missing from the autograder (instructor problem)")
        accuracy, reason = export_accuracy(model_path, *test_set)
        if accuracy is None:
            set_score(0.0)
            self.fail_with(reason)
        score = accuracy_score(accuracy, points, thresholds)
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
        self._score_notebook("part2.ipynb", report, [
            ("both images plotted", f"expected a figure for each of img1 and img2, found {report.images} figure(s)",
             report.images >= 2, 1.0),
        ], rubric.RUBRIC["part2_notebook"].points, set_score)

    @graded("part2_predictions")
    def test_part2_predictions(self, set_score=None):
        points = rubric.RUBRIC["part2_predictions"].points
        report = self._notebook("part2.ipynb")
        found = parse_predictions(report.text)
        lines, missing = [], []
        for key in ("img1", "img2"):
            if key in found and 0.0 <= found[key][2] <= 1.0:
                name, label, probability = found[key]
                lines.append(f"{key} ({name}): {label} (p = {probability:.2f})")
            else:
                missing.append(f"no prediction line for {key} (expected e.g. '{key} (my_photo): <label> "
                               f"(p = 0.42)' in the outputs; run the whole notebook)")
        set_score(points * len(lines) / 2)
        if missing:
            self.fail_with("part2.ipynb: " + "\n".join(lines + missing))
        print("part2.ipynb: " + "; ".join(lines))
