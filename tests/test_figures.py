"""The figures the reference notebooks draw are worth putting in a report: each plotting cell is run here on stand-in
data (the cell's own code, taken from the notebook) and its figure checked for what can be checked; the saved
outputs of the reference runs carry no warnings."""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from autograder import paths  # noqa: E402
from autograder.build import reference_artifacts  # noqa: E402


def cell_with(notebook: str, text: str) -> str:
    """The source of the one code cell of ``notebook`` (in the kit) that contains ``text``."""
    nb = nbformat.read(paths.KIT / notebook, as_version=4)
    found = [c.source for c in nb.cells if c.cell_type == "code" and text in c.source]
    assert len(found) == 1, f"{notebook}: {len(found)} code cells contain {text!r}"
    return "\n".join(line for line in found[0].splitlines() if not line.startswith("%"))


def run_cell(source: str, namespace: dict, tmp_path, monkeypatch) -> dict:
    """Execute a notebook cell's code in ``namespace`` (in tmp_path, plt.show a no-op); returns the namespace."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    plt.close("all")
    namespace.setdefault("plt", plt)
    namespace.setdefault("np", np)
    namespace.setdefault("time", time)
    exec(compile(source, "<cell>", "exec"), namespace)  # noqa: S102 -- the kit's own reference cell
    return namespace


def inside_canvas(fig, artist) -> bool:
    fig.canvas.draw()
    box = artist.get_window_extent(fig.canvas.get_renderer())
    return box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.x1 + 0.5 and box.y1 <= fig.bbox.y1 + 0.5


def test_transfer_plot_ticks_are_the_sizes_used(tmp_path, monkeypatch):
    sizes = (16, 64, 256)
    curves = {"frozen": [0.4, 0.5, 0.51], "fine-tuned": [0.39, 0.51, 0.52], "from scratch": [0.28, 0.29, 0.42]}
    run_cell(cell_with("part4.ipynb", "part4_transfer.png"), {"curves": curves, "TL_SIZES": sizes}, tmp_path,
             monkeypatch)
    ax = plt.gcf().axes[0]
    assert list(ax.get_xticks()) == list(sizes)
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(s) for s in sizes]
    assert len(ax.xaxis.get_minorticklocs()) == 0  # no "6 x 10^1" minor labels over 64
    assert inside_canvas(plt.gcf(), ax.title)


def test_loss_curves_have_whole_epochs(tmp_path, monkeypatch):
    from matplotlib.ticker import MaxNLocator
    from sklearn.metrics import ConfusionMatrixDisplay
    from torch.utils.data import DataLoader

    namespace = {"DataLoader": DataLoader, "ConfusionMatrixDisplay": ConfusionMatrixDisplay,
                 "MaxNLocator": MaxNLocator, "device": "cpu", "torch": __import__("torch"),
                 "train_epochs": lambda *a, **k: [1.1, 0.9, 0.7, 0.6, 0.55],
                 "accuracy": lambda *a, **k: 0.5,
                 "confusion": lambda model, loader, n, device="cpu": np.array([[5, 1, 0], [2, 3, 1], [0, 0, 6]])}
    source = cell_with("part4.ipynb", "def run_experiment(")
    source = source.split("\nresults = []")[0]  # the definition only
    run_cell(source, namespace, tmp_path, monkeypatch)
    namespace["run_experiment"]("FC_only", None, list(range(12)), list(range(18)), 5, 0.1, ["a", "b", "c"])
    ax_loss = plt.gcf().axes[0]
    ticks = [t for t in ax_loss.get_xticks() if ax_loss.get_xlim()[0] <= t <= ax_loss.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_tsne_title_stays_inside_the_canvas(tmp_path, monkeypatch):
    import torch
    rng = np.random.default_rng(0)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    namespace = {"features": {"penultimate": rng.standard_normal((40, 1280)).astype(np.float32)},
                 "labels": torch.tensor(np.arange(40) % 10), "TSNE_IMAGES": 40, "CLASSES": classes,
                 "LAYERS": {"penultimate": ("_blocks.15._project_conv_long_name", None, None)},
                 "dataset_name": "CIFAR-10"}
    from sklearn.manifold import TSNE
    namespace["TSNE"] = TSNE
    run_cell(cell_with("part3.ipynb", "TSNE(n_components=2"), namespace, tmp_path, monkeypatch)
    fig = plt.gcf()
    assert inside_canvas(fig, fig.axes[0].title), fig.axes[0].get_title()


def test_confusion_matrix_counts_fit_their_cells(tmp_path, monkeypatch):
    import torch
    labels = torch.arange(10).repeat_interleave(1000)
    predictions = labels.clone()
    predictions[::97] = (predictions[::97] + 1) % 10  # ~1000 on the diagonal: 3- and 4-digit counts
    namespace = {"torch": torch, "predict": lambda model, loader: (predictions, labels), "model": None,
                 "test_loader": None,
                 "CLASSES": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                             "Bag", "Ankle boot"]}
    run_cell(cell_with("part1.ipynb", "Test confusion matrix"), namespace, tmp_path, monkeypatch)
    fig = plt.gcf()
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    cell_width = abs(ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0])
    widest = max(t.get_window_extent(renderer).width for t in ax.texts)
    assert widest < 0.9 * cell_width, (widest, cell_width)
    assert inside_canvas(fig, ax.title)


@pytest.mark.parametrize("step", ["part1", "part3", "part4"])
def test_reference_runs_save_no_warnings(step):
    folder = reference_artifacts.cached(step)
    if folder is None:
        pytest.skip(f"the {step} reference run is not in the cache here (`make` builds it)")
    notebook = next(folder.glob("*.ipynb"))
    nb = nbformat.read(notebook, as_version=4)
    warned = [out.get("text", "")[:200] for cell in nb.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("name") == "stderr" and "Warning" in out.get("text", "")]
    assert not warned, warned
