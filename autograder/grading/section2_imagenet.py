"""Section 2's part2: the ImageNet predictions the grader's own run of part2.ipynb printed.

The run classifies the images the student's notebook saved (img1.png, img2.png, handed in) and prints, for each, a
top-5 block and a prediction line (``img1 (<name>): <label> (p = <prob>)``); each label must be an ImageNet class
(imagenet_class_index.json) and head its top 5.
"""
from __future__ import annotations

import json
import re
from typing import Dict, List, Optional, Tuple

from autograder import paths

# The part2 notebook prints e.g. "img1 (coffee): espresso (p = 0.96)" for each image.
PREDICTION_LINE = re.compile(r"^(img[12]) \((.+?)\): (.+?) \(p = ([0-9]*\.?[0-9]+)\)\s*$", re.MULTILINE)
# ... after its top-5 block: "img1 (coffee) top 5:" then five lines "    espresso      0.957".
TOP5_BLOCK = re.compile(r"^(img[12]) \((.+?)\) top 5:[ \t]*\n((?:    \S.*\n?){0,5})", re.MULTILINE)
TOP5_LINE = re.compile(r"^    (\S.*?)\s+([0-9]*\.?[0-9]+)\s*$")
IMAGENET_INDEX = "imagenet_class_index.json"
MODEL_LINE = re.compile(r"^model: (.+?)\s*$", re.MULTILINE)
IMAGE_FILES = {"img1": "img1.png", "img2": "img2.png"}  # saved by the predictions cell, handed in
MAX_IMAGE_BYTES = 20 * 1024 * 1024


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
