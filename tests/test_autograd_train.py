"""autograd/train_mnist.py, the classifier trained with the reference framework: it reads the IDX files, trains with
a progress bar and writes the loss plot (tiny synthetic data, seconds); on the real Fashion-MNIST it reaches 85 %
(slow, data)."""
from __future__ import annotations

import gzip
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import paths

SCRIPT = paths.KIT / "autograd" / "train_mnist.py"


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def _fake_dataset(root: Path, n_train=640, n_test=200) -> None:
    """Ten classes, each a bright 7x7 block at its own place of a 28x28 image, plus noise."""
    rng = np.random.default_rng(0)
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28))
        for i, c in enumerate(labels):
            r, col = divmod(int(c), 4)
            images[i, 7 * r:7 * r + 7, 7 * col:7 * col + 7] += 180
        _write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", labels)


def _run(args, cwd):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_trains_on_idx_files_with_progress_bar_and_plot(tmp_path):
    _fake_dataset(tmp_path / "data")
    result = _run(["--data", str(tmp_path / "data"), "--epochs", "2", "--plot", str(tmp_path / "loss.png")], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "epoch 1/2" in result.stdout + result.stderr  # tqdm's bar
    final = float(re.search(r"final test accuracy ([0-9.]+) %", result.stdout).group(1))
    assert final > 90.0, result.stdout
    assert (tmp_path / "loss.png").stat().st_size > 1000


def test_missing_data_says_where(tmp_path):
    result = _run(["--data", str(tmp_path / "nothing"), "--epochs", "1", "--no-progress"], tmp_path)
    assert result.returncode != 0 and "FashionMNIST" in (result.stderr + result.stdout)


@pytest.mark.slow
@pytest.mark.data
def test_reference_reaches_85_percent_on_fashion_mnist(tmp_path):
    root = paths.data_root()
    if root is None or not (root / "FashionMNIST" / "raw").is_dir():
        pytest.skip("Fashion-MNIST not in the data folder (DLKIT_DATA)")
    result = _run(["--data", str(root), "--epochs", "3", "--no-progress", "--plot", str(tmp_path / "loss.png")],
                  tmp_path)
    assert result.returncode == 0, result.stderr
    final = float(re.search(r"final test accuracy ([0-9.]+) %", result.stdout).group(1))
    assert final >= 85.0, result.stdout
