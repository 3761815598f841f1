"""The grader's data: evaluation arrays (the CIFAR-10 and Fashion-MNIST test sets as plain uint8 npz, no pickle) and
the small datasets the grader's own runs of the notebooks read (``grader_data_dir``).

The evaluation arrays are read from, first match wins:
  1. ``AUTOGRADER_EVAL_DIR`` (an explicit folder);
  2. ``<source>/eval`` next to the ``autograder`` package (the layout inside the Gradescope autograder zip);
  3. ``DLKIT_CACHE/eval``, built on first use from the data setting (see ``autograder.paths``).

The notebook data (``<source>/gdata`` in the zip, else ``DLKIT_CACHE/gdata``) holds what the notebooks read, in the
datasets' own formats, with fewer images: ``FashionMNIST/raw/*-ubyte`` (uncompressed, so torchvision reads them
offline: GRADER_FASHION_MNIST train and test images) and ``cifar-10-batches-py/`` (the python batches:
GRADER_CIFAR10 images per training batch, and test images). A notebook finds them through its usual environment
settings (``GRADER_DATA_ENV``). Fashion-MNIST's test images from HELD_OUT on are never in it: the grader measures what
its own runs learned on those.
"""
from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from autograder import paths

CIFAR10_FILE = "cifar10_test.npz"  # X: (10000, 3072) uint8, CHW-flattened as in the python batches; y: (10000,) int64
FASHION_MNIST_FILE = "fashion_mnist_test.npz"  # X: (10000, 28, 28) uint8; y: (10000,) int64
# 2000 Fashion-MNIST training images (indices TRAIN_SAMPLE..), for comparing a model's accuracy there and on the test
TRAIN_SAMPLE = 50000
FASHION_MNIST_TRAIN_FILE = "fashion_mnist_train_sample.npz"  # X: (2000, 28, 28) uint8; y: (2000,) int64
# The files of each evaluation set, by the names parts declare (Part.eval_data).
FILES = {"cifar10": (CIFAR10_FILE,), "fashion_mnist": (FASHION_MNIST_FILE, FASHION_MNIST_TRAIN_FILE)}


def eval_dir() -> Path:
    setting = os.environ.get("AUTOGRADER_EVAL_DIR")
    if setting:
        return Path(setting)
    bundled = paths.REPO / "eval"
    if bundled.is_dir():
        return bundled
    return paths.cache_dir() / "eval"


def _load(name: str) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    path = eval_dir() / name
    if not path.is_file():
        build(eval_dir())
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        return data["X"], data["y"]


def cifar10_test() -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10 test images (10000, 3072) uint8 and labels (10000,) int64, or None without data."""
    return _load(CIFAR10_FILE)


def fashion_mnist_test() -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """Fashion-MNIST test images (10000, 28, 28) uint8 and labels (10000,) int64, or None without data."""
    return _load(FASHION_MNIST_FILE)


def fashion_mnist_train_sample() -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """2000 Fashion-MNIST training images (2000, 28, 28) uint8 and labels (2000,) int64, or None without data."""
    return _load(FASHION_MNIST_TRAIN_FILE)


GRADER_DATA = "gdata"
GRADER_FASHION_MNIST = (6000, 2000)  # the first training and test images
GRADER_CIFAR10 = (200, 1000)  # the first images of each training batch, of the test batch
HELD_OUT = 5000  # Fashion-MNIST test images HELD_OUT.. are never in the notebook data
# What a notebook reads where (relative to its folder in the sandbox), by data set.
GRADER_DATA_ENV = {"fashion_mnist": ("FASHION_MNIST_ROOT", GRADER_DATA),
                   "cifar10": ("CIFAR10_DIR", f"{GRADER_DATA}/cifar-10-batches-py")}


def grader_data_dir() -> Path:
    """The notebook data: bundled in the autograder zip, else built once into the cache."""
    bundled = paths.REPO / GRADER_DATA
    if bundled.is_dir():
        return bundled
    dest = paths.cache_dir() / GRADER_DATA
    if not (dest / ".complete").is_file():
        build_grader_data(dest)
    return dest


def _write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = np.array([magic, *array.shape], dtype=">i4").tobytes()
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def build_grader_data(dest: Path) -> Path:
    """Write the notebook data into ``dest`` (see the module docstring); missing sources are left out."""
    dest.mkdir(parents=True, exist_ok=True)
    root = paths.data_root()
    raw = root / "FashionMNIST" / "raw" if root else None
    if raw is not None and raw.is_dir():
        out = dest / "FashionMNIST" / "raw"
        out.mkdir(parents=True, exist_ok=True)
        for split, count in (("train", GRADER_FASHION_MNIST[0]), ("t10k", GRADER_FASHION_MNIST[1])):
            _write_idx(out / f"{split}-images-idx3-ubyte", _read_idx(raw / f"{split}-images-idx3-ubyte.gz", 4)[:count],
                       0x803)
            _write_idx(out / f"{split}-labels-idx1-ubyte", _read_idx(raw / f"{split}-labels-idx1-ubyte.gz", 2)[:count],
                       0x801)
    cifar = paths.cifar10_dir()
    if cifar is not None:
        out = dest / "cifar-10-batches-py"
        out.mkdir(parents=True, exist_ok=True)
        names = [(f"data_batch_{i}", GRADER_CIFAR10[0]) for i in range(1, 6)] + [("test_batch", GRADER_CIFAR10[1])]
        for name, count in names:
            # Trusted instructor data (our own build of the batches), so unpickling it here is fine.
            with open(cifar / name, "rb") as handle:
                batch = pickle.load(handle, encoding="bytes")
            small = {b"data": np.asarray(batch[b"data"][:count], dtype=np.uint8),
                     b"labels": [int(v) for v in batch[b"labels"][:count]]}
            with open(out / name, "wb") as handle:
                pickle.dump(small, handle, protocol=4)
    (dest / ".complete").write_text("complete\n")
    return dest


def _read_idx(path: Path, header_ints: int) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    dims = np.frombuffer(raw, dtype=">i4", count=header_ints)[1:]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 * header_ints).reshape(dims)


def _save(path: Path, **arrays: np.ndarray) -> None:
    """Write the npz under a temporary name, then rename it: a parallel reader never sees half a file."""
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.npz")
    np.savez_compressed(partial, **arrays)
    os.replace(partial, path)


def build(dest: Path) -> None:
    """Write whichever evaluation files the data setting can provide into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    cifar = paths.cifar10_dir()
    if cifar is not None and not (dest / CIFAR10_FILE).is_file():
        # Trusted instructor data (our own build of the batches), so unpickling it here is fine.
        with open(cifar / "test_batch", "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        _save(dest / CIFAR10_FILE, X=np.asarray(batch[b"data"], dtype=np.uint8),
              y=np.asarray(batch[b"labels"], dtype=np.int64))
    root = paths.data_root()
    raw = root / "FashionMNIST" / "raw" if root else None
    if raw is not None and raw.is_dir() and not (dest / FASHION_MNIST_FILE).is_file():
        images = _read_idx(raw / "t10k-images-idx3-ubyte.gz", 4)
        labels = _read_idx(raw / "t10k-labels-idx1-ubyte.gz", 2)
        _save(dest / FASHION_MNIST_FILE, X=images, y=labels.astype(np.int64))
    if raw is not None and raw.is_dir() and not (dest / FASHION_MNIST_TRAIN_FILE).is_file():
        images = _read_idx(raw / "train-images-idx3-ubyte.gz", 4)[TRAIN_SAMPLE:TRAIN_SAMPLE + 2000]
        labels = _read_idx(raw / "train-labels-idx1-ubyte.gz", 2)[TRAIN_SAMPLE:TRAIN_SAMPLE + 2000]
        _save(dest / FASHION_MNIST_TRAIN_FILE, X=images, y=labels.astype(np.int64))
