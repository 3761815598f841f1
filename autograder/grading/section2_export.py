"""Section 2's part1 export (part1_model.pt, TorchScript): evaluated in the sandbox, judged so that the cheapest way
to the points is the homework.

``harness/section2_procedures.part1_logits`` runs an export on images the grader sends (never their labels) inside
the sandbox and reports its frozen graph (operations, sizes), its parameter shapes, and its predictions with every
convolution zeroed. The grader computes every accuracy itself and accepts an export only when:

* its graph holds only a classifier network's operations (ALLOWED_OPS) and bounded stored data
  (``parts/section2.EXPORT``: parameters, stored elements);
* it has convolutions and they matter: with their weights zeroed, its accuracy falls to ``ablated_max`` or below;
* it is not worse on training images than on test images by more than ``train_margin`` points (a model trained on the
  training split is not; one that looks the test set up is);
* its test accuracy is not above ``ceiling`` (more than a small CNN reaches: held for the instructor's review);
* it is the network the student's notebook trains: its parameter shapes are those of the export the grader's own run
  of part1.ipynb wrote (autograder/grading/notebook_runs.py).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from autograder import eval_data
from autograder.grading.student_code import Call, Outcome
from autograder.parts import section2

PART = "section2"
MAX_MODEL_BYTES = 50 * 1024 * 1024  # part1_model.pt: the reference is ~1.7 MB
MODEL_FILE = "part1_model.pt"
IMAGES_FILE = "fashion_mnist_images.npy"
PART1_CHUNK = 200  # images per forward pass in the sandbox: the reference's largest activation is then 20 MB

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
CONVOLUTIONS = frozenset({"aten::_convolution", "aten::convolution", "aten::conv1d", "aten::conv2d", "aten::conv3d"})


def fashion_mnist_test_set(eval_dir: Optional[Path]) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """The grader's Fashion-MNIST test images uint8 (10000, 28, 28) and labels int64 (10000,), or None."""
    return _eval_set(eval_dir, eval_data.FASHION_MNIST_FILE, eval_data.fashion_mnist_test)


def fashion_mnist_train_sample(eval_dir: Optional[Path]) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """2000 Fashion-MNIST training images uint8 (2000, 28, 28) and labels int64 (2000,), or None."""
    return _eval_set(eval_dir, eval_data.FASHION_MNIST_TRAIN_FILE, eval_data.fashion_mnist_train_sample)


def _eval_set(eval_dir, name, default):
    if eval_dir is not None:
        path = Path(eval_dir) / name
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            return data["X"], data["y"]
    return default()


def images_file(images: np.ndarray) -> bytes:
    """The .npy bytes of uint8 images, as the sandbox procedure reads them."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(images, dtype=np.uint8), allow_pickle=False)
    return buffer.getvalue()


def logits_call(call_id: str, ablate: int = 0) -> Call:
    return Call(call_id, None, procedure="section2_procedures.part1_logits",
                args=(MODEL_FILE, IMAGES_FILE, PART1_CHUNK, ablate))


@dataclass
class ExportResult:
    """What the grader measured on a part1 export: accuracy None and a student-facing reason when it is not
    accepted; the parameter count and shapes whenever the graph could be read."""
    accuracy: Optional[float]
    reason: str = ""
    parameters: Optional[int] = None
    shapes: List[list] = field(default_factory=list)
    held: bool = False  # accepted as a classifier, but above the ceiling: held for review


def graph_problems(graph: dict) -> List[str]:
    """Why an export's graph report (harness ``graph_report``) is not a classifier network's (empty: it is)."""
    limits = section2.EXPORT
    problems = []
    ops = [op for op in graph.get("ops", []) if isinstance(op, str)]
    bad = [op for op in ops if op not in ALLOWED_PRIM
           and not (op.startswith("aten::") and op[len("aten::"):].rstrip("_") in ALLOWED_OPS)]
    if bad:
        problems.append(f"its graph uses {', '.join(bad[:8])}, which a classifier network does not need; only "
                        f"convolution, linear, normalization, pooling, activation, dropout, reshaping, "
                        f"concatenation, softmax and elementwise add/sub/mul/div are accepted")
    if not set(ops) & CONVOLUTIONS:
        problems.append("it has no convolution: part1 asks for a convolutional network")
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


def read_logits(outcome: Outcome, count: int) -> Tuple[Optional[dict], str]:
    """(the procedure's report, "") or (None, a student-facing reason)."""
    if outcome.status != "ok":
        return None, f"{MODEL_FILE} could not be evaluated ({outcome.status}): {outcome.message}"
    value = outcome.value
    if not isinstance(value, dict) or not isinstance(value.get("graph"), dict):
        return None, f"{MODEL_FILE}: internal: the sandbox returned no graph report"
    logits = value.get("logits")
    if not isinstance(logits, np.ndarray) or logits.shape != (count, 10) or logits.dtype.kind != "f":
        return None, (f"{MODEL_FILE}: expected float logits of shape ({count}, 10), got "
                      f"{getattr(logits, 'shape', None)}")
    if not np.all(np.isfinite(logits)):
        return None, f"{MODEL_FILE}: the logits contain NaN or inf"
    return value, ""


def evaluate_export(session, model_path: Path, test: Tuple[np.ndarray, np.ndarray],
                    train: Tuple[np.ndarray, np.ndarray]) -> ExportResult:
    """Run a submitted part1 export in the sandbox on the test images and a sample of training images, and judge it
    (module docstring); the labels stay here. The parameter shapes are compared with the grader's run elsewhere."""
    limits = section2.EXPORT
    images = np.concatenate([test[0], train[0]])
    outcome = session.run(PART, [logits_call("export", ablate=int(limits["ablation_images"]))], limits="export",
                          files={MODEL_FILE: model_path, IMAGES_FILE: images_file(images)})["export"]
    value, reason = read_logits(outcome, len(images))
    if value is None:
        return ExportResult(None, reason)
    graph = value["graph"]
    parameters = graph.get("parameters")
    parameters = int(parameters) if isinstance(parameters, int) else None
    shapes = value.get("shapes") if isinstance(value.get("shapes"), list) else []
    problems = graph_problems(graph)
    predictions = np.argmax(value["logits"], axis=1)
    n_test = len(test[1])
    accuracy = 100.0 * float(np.mean(predictions[:n_test] == test[1]))
    train_accuracy = 100.0 * float(np.mean(predictions[n_test:] == train[1]))
    ablated = value.get("ablated")
    count = int(limits["ablation_images"])
    if not problems and isinstance(ablated, np.ndarray) and ablated.shape == (count,):
        ablated_accuracy = 100.0 * float(np.mean(ablated == test[1][:count]))
        if ablated_accuracy > limits["ablated_max"]:
            problems.append(f"its convolutions do not matter to its predictions: with their weights set to zero it "
                            f"still classifies {ablated_accuracy:.1f} % of {count} test images right (a CNN "
                            f"falls to about chance, at most {limits['ablated_max']:g} % is accepted)")
    elif not problems:
        problems.append("its convolutions could not be switched off to check that they matter")
    if not problems and train_accuracy < accuracy - limits["train_margin"]:
        problems.append(f"it classifies {accuracy:.2f} % of the test images but only {train_accuracy:.2f} % of "
                        f"{len(train[1])} training images: a network trained on the training images is not worse "
                        f"there (at most {limits['train_margin']:g} points worse is accepted)")
    if problems:
        return ExportResult(None, f"{MODEL_FILE} is not accepted: " + "; ".join(problems) + ".", parameters, shapes)
    if accuracy > limits["ceiling"]:
        return ExportResult(None, f"{MODEL_FILE}: Fashion-MNIST test accuracy {accuracy:.2f} % is above what a small "
                                  f"CNN reaches ({limits['ceiling']:g} %): held for your instructor to review, no "
                                  f"points until then.", parameters, shapes, held=True)
    return ExportResult(accuracy, "", parameters, shapes)
