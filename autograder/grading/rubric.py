"""The rubric: every graded test's number, name, points and visibility, plus the grading thresholds and limits.

This is the one place an instructor edits to change points, visibility or thresholds. Each entry's key is the id
that the graded test method names with ``@graded("<id>")`` (see ``graded_tests/``); the test's module is given in
``module`` so a newcomer can jump from a rubric row to its code. Visibility is Gradescope's: visible, hidden,
after_due_date or after_published. A test worth 0 points is feedback only (the optional backprop functions).

Parts: the kit is made of parts (Sections 1 and 2 of Homework 4 today; further homeworks and extra credit are added
as new parts). Each part names its top-level kit entries and the files a student hands in for it, and can be
switched off with ``enabled=False`` in PARTS: a switched-off part is left out of the student kit, the solution kit,
the reference submission and the autograder, and its rubric rows are dropped (the totals follow).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Tuple


@dataclass(frozen=True)
class Part:
    title: str
    kit_entries: Tuple[str, ...]  # top-level names in the kit (folders or files) that belong to this part
    submission_files: Tuple[str, ...]  # the files of this part a student hands in (check_submission.PART_FILES)
    enabled: bool = True
    extra_credit: bool = False  # its points are not counted in the homework's maximum (Gradescope adds them on top)


PARTS: Dict[str, Part] = {
    "section1": Part("Section 1: numpy backprop, layers and a two-layer net on CIFAR-10",
                     ("backprop", "neuralnet", "download_cifar.sh"),
                     ("functions.py", "layers.py", "train.py", "two_layer_net.py", "checkpoint.pkl")),
    "section2": Part("Section 2: PyTorch on Fashion-MNIST and a pretrained ImageNet model",
                     ("part1.ipynb", "part2.ipynb", "imagenet_class_index.json"),
                     ("part1.ipynb", "part2.ipynb", "part1_model.pt")),
}


def enabled_parts() -> List[Part]:
    return [part for part in PARTS.values() if part.enabled]


def enabled_part_names() -> Tuple[str, ...]:
    return tuple(name for name, part in PARTS.items() if part.enabled)


@dataclass(frozen=True)
class Item:
    number: str
    name: str
    points: float
    module: str  # graded_tests/<module>.py holds the test
    visibility: str = "visible"
    part: str = ""  # a key of PARTS; filled in from the group the row is listed under below


def _part_rows(part: str, rows: List[Tuple[str, Item]]) -> List[Tuple[str, Item]]:
    return [(item_id, replace(item, part=part)) for item_id, item in rows]


ALL_ITEMS: Dict[str, Item] = {item_id: item for item_id, item in _part_rows("section1", [
    # Section 1, task 1: computational graphs (backprop/functions.py)
    ("f1", Item("1.1", "backprop f1 (optional): value and gradients", 0, "test_backprop")),
    ("f2", Item("1.2", "backprop f2 (optional): value and gradient", 0, "test_backprop")),
    ("f3", Item("1.3", "backprop f3: softmax loss value and gradients, y = 1 and y = 2", 10, "test_backprop")),
    ("f4", Item("1.4", "backprop f4 (optional): your own graph's gradients", 0, "test_backprop")),
    # Section 1, task 2: layers (neuralnet/layers.py)
    ("fc_forward", Item("2.1", "layers: fc_forward", 4, "test_layers")),
    ("fc_backward", Item("2.2", "layers: fc_backward", 6, "test_layers")),
    ("relu_forward", Item("2.3", "layers: relu_forward", 2, "test_layers")),
    ("relu_backward", Item("2.4", "layers: relu_backward", 3, "test_layers")),
    ("softmax_loss", Item("2.5", "layers: softmax_loss value, gradient and stability", 6, "test_layers")),
    ("l2_regularization", Item("2.6", "layers: l2_regularization", 2, "test_layers")),
    ("layers_edge_cases", Item("2.7", "layers: edge-case shapes (N = 1, one unit)", 2, "test_layers", "hidden")),
    # Section 1, task 3: two-layer net (neuralnet/two_layer_net.py)
    ("two_layer_init", Item("3.1", "TwoLayerNet: parameter shapes and initialization", 3, "test_two_layer_net")),
    ("two_layer_forward", Item("3.2", "TwoLayerNet: forward matches FC-ReLU-FC", 4, "test_two_layer_net")),
    ("two_layer_backward", Item("3.3", "TwoLayerNet: backward vs the reference gradients", 6, "test_two_layer_net")),
    # Section 1, task 4: training (neuralnet/train.py) and the trained checkpoint
    ("training_step_own_model", Item("4.1", "training_step with your TwoLayerNet", 3, "test_training")),
    ("training_step_probe_model", Item("4.2", "training_step with another model (L2 on weights only)", 4, "test_training")),
    ("checkpoint_accuracy", Item("4.3", "checkpoint.pkl: CIFAR-10 test accuracy", 10, "test_training")),
]) + _part_rows("section2", [
    # Section 2: notebooks
    ("part1_notebook", Item("5.1", "part1.ipynb: executed, no errors, summary and accuracy plot", 4, "test_notebooks")),
    ("part1_accuracy", Item("5.2", "part1 exported model: Fashion-MNIST test accuracy", 10, "test_notebooks")),
    ("part2_notebook", Item("5.3", "part2.ipynb: executed, no errors, both images plotted", 3, "test_notebooks")),
    ("part2_predictions", Item("5.4", "part2.ipynb: predictions for img1 and img2 reported", 3, "test_notebooks")),
])}
# The rows graded: those of the enabled parts.
RUBRIC: Dict[str, Item] = {item_id: item for item_id, item in ALL_ITEMS.items() if PARTS[item.part].enabled}

# Accuracy thresholds (percent): full credit at or above `full`, linear partial credit from `partial` up to `full`,
# nothing below `partial`.
THRESHOLDS = {
    "checkpoint_accuracy": {"full": 40.0, "partial": 30.0},
    "part1_accuracy": {"full": 85.0, "partial": 70.0, "strict": True},  # "> 85 %" in the spec: strictly above
}

# Limits for one sandboxed run of student code (one batch of calls). Gradescope gives 0.5 vCPU, 768 MB, 10 min.
SANDBOX_LIMITS = {
    "cpu_seconds": 20,
    "wall_seconds": 30,
    "memory_mb": 768,
    "max_processes": 64,
    "max_output_bytes": 64 * 1024,
    "max_file_bytes": 64 * 1024 * 1024,
}
# The part1 export's evaluation (5.2) runs torch in the sandbox: more time than a numpy job (import ~3 s, a forward
# pass over 10000 images on half a CPU), and RLIMIT_DATA instead of RLIMIT_AS. Even RLIMIT_DATA counts mappings torch
# reserves but never touches: right after `import torch` VmData is ~730 MB with the CUDA build (resident ~500 MB) and
# much less with Gradescope's CPU build, so the limit leaves room for that; Gradescope's own 768 MB container limit
# bounds the real use.
PART1_SANDBOX_LIMITS = {"memory_kind": "data", "memory_mb": 1536, "cpu_seconds": 150, "wall_seconds": 240,
                        "call_cpu_seconds": 150, "call_wall_seconds": 240, "batch_wall_seconds": 300}
# What the part1 export (5.2) and the part1 notebook's printed numbers (5.1) must satisfy. The export may hold at most
# `max_parameters` parameter elements (the reference has ~0.4 M; the Fashion-MNIST test set as a parameter is 7.8 M)
# and at most `max_stored_elements` tensor elements beyond its parameters (batch norm statistics are a few hundred; a
# stored image set is millions). The test accuracy the notebook printed must be within `accuracy_tolerance`
# percentage points of what the grader measures on the export (the notebook's own check allows 0.5 % disagreement).
PART1_EXPORT = {"max_parameters": 5_000_000, "max_stored_elements": 100_000, "accuracy_tolerance": 0.6}
# Figures in the notebooks' outputs count only from this size (pixels, each side); matplotlib's smallest is ~300.
MIN_FIGURE_PIXELS = 100
# Every sandbox run for one submission ends within this many seconds of the start of grading (Gradescope's default
# timeout is 600 s: the rest is for the grader's own start and for writing results.json). Checks that would start
# later score 0 with a message saying so; what finished keeps its score.
GRADING_WALL_SECONDS = 540
# Frameworks Section 1 files must not import.
FORBIDDEN_IN_SECTION1 = ("torch", "tensorflow", "jax", "keras", "cupy")


def total_points() -> float:
    """The homework's maximum: the enabled rows' points, extra-credit parts not counted."""
    return sum(item.points for item in RUBRIC.values() if not PARTS[item.part].extra_credit)


def markdown_table() -> str:
    """The rubric as the markdown table in README.md (tests/test_docs.py checks the README copy is current)."""
    lines = ["| number | id | what is graded | points | visibility | graded test |", "|---|---|---|---|---|---|"]
    for part_name, part in PARTS.items():
        rows = sorted(((item_id, item) for item_id, item in ALL_ITEMS.items() if item.part == part_name),
                      key=lambda kv: tuple(int(p) for p in kv[1].number.split(".")))
        state = "" if part.enabled else " (switched off)"
        extra = " (extra credit)" if part.extra_credit else ""
        lines.append(f"| | `{part_name}` | **{part.title}**{extra}{state} | "
                     f"**{sum(item.points for _, item in rows):g}** | | |")
        if not part.enabled:
            continue
        for item_id, item in rows:
            lines.append(f"| {item.number} | `{item_id}` | {item.name} | {item.points:g} | {item.visibility} | "
                         f"`graded_tests/{item.module}.py` |")
    lines.append(f"| | | **total** | **{total_points():g}** | | |")
    return "\n".join(lines)
