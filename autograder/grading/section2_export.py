"""Section 2's part1 export (part1_model.pt, TorchScript): evaluated in the sandbox, its frozen graph judged.

``harness/section2_procedures.part1_logits`` runs the export on the grader's Fashion-MNIST test images inside the
sandbox and reports the frozen graph's operations and sizes; only the operations of a classifier network
(ALLOWED_OPS) and bounded stored data (``parts/section2.EXPORT``) are accepted; the grader computes the accuracy from
the labels it holds (they never enter the sandbox).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from autograder import eval_data
from autograder.grading.student_code import Call
from autograder.parts import section2

PART = "section2"
MAX_MODEL_BYTES = 50 * 1024 * 1024  # part1_model.pt: the reference is ~1.7 MB
MODEL_FILE = "part1_model.pt"
IMAGES_FILE = "fashion_mnist_test_images.npy"
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
    limits = section2.EXPORT
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


def evaluate_export(session, model_path: Path, images: np.ndarray, labels: np.ndarray) -> ExportResult:
    """Run a submitted part1 export in the sandbox on ``images``, check its graph and score it against ``labels``.

    Args:
        session: the grading (its sandbox runs).
        model_path: the submitted TorchScript file (never opened in this process beyond copying its bytes).
        images: uint8 (N, 28, 28) test images.
        labels: int64 (N,) their labels (they stay in the grading process).
    """
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(images, dtype=np.uint8), allow_pickle=False)
    call = Call("part1_logits", None, procedure="section2_procedures.part1_logits",
                args=(MODEL_FILE, IMAGES_FILE, PART1_CHUNK))
    outcome = session.run(PART, [call], limits="export",
                          files={MODEL_FILE: model_path, IMAGES_FILE: buffer.getvalue()})["part1_logits"]
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


def export_accuracy(session, model_path: Path, images: np.ndarray, labels: np.ndarray
                    ) -> Tuple[Optional[float], str]:
    """(accuracy in percent, "") or (None, a student-facing reason): :func:`evaluate_export` in short."""
    result = evaluate_export(session, model_path, images, labels)
    return result.accuracy, result.reason
