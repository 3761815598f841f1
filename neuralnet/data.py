"""CIFAR-10 loading (given): the python-pickle batches from download_cifar.sh, and a minibatch sampler.

Also the one-line reports of train.py and test.py: an expected problem (missing or damaged data, a missing
checkpoint, a function you have not written yet) is printed as one line instead of a traceback (see run_script).
"""
import os
import pickle
import sys
import traceback

import numpy as np

NUM_TRAIN_POOL = 50000  # images in data_batch_1..5; the validation set is taken from this pool
NUM_TEST_POOL = 10000  # images in test_batch
BATCH_FILES = [f"data_batch_{i}" for i in range(1, 6)]
IMAGE_SIZE = 3072  # 3 x 32 x 32, flattened channel-first as stored in the batches
NUM_CLASSES = 10


def _redownload(path):
    """What to do about a damaged or incomplete folder (download_cifar.sh skips a folder holding all six files)."""
    return f"delete the folder {os.path.dirname(path) or '.'} and run ./download_cifar.sh again inside neuralnet/"


class ScriptError(Exception):
    """An expected problem that train.py and test.py report on one line, without a traceback."""


class CIFARMissingError(ScriptError, FileNotFoundError):
    """The CIFAR-10 folder or one of its batch files is missing."""


class CIFARError(ScriptError, ValueError):
    """A CIFAR-10 batch file is corrupt, or the requested split does not fit the dataset."""


def _read_batch(path, expected_rows):
    """One batch file -> (images (n, 3072) uint8, labels (n,) int64) with n == expected_rows.

    Raises CIFARMissingError (a FileNotFoundError) for a missing file and CIFARError (a ValueError) naming the file
    when it does not unpickle or does not hold ``expected_rows`` images of 3072 bytes with as many labels in [0, 10).
    """
    if not os.path.isfile(path):
        raise CIFARMissingError(f"CIFAR-10 batch file missing: {path}. The folder is incomplete: "
                                f"{_redownload(path)}.")

    def corrupt(why):
        return CIFARError(f"CIFAR-10 batch file {path} is corrupt or truncated ({why}): {_redownload(path)}.")

    try:  # any error here comes from the file's bytes (the given code reading data), not from your code
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        images = np.asarray(batch[b"data"])
        labels = np.asarray(batch[b"labels"])
    except Exception as exc:  # noqa: BLE001 -- unpickling damaged bytes can raise almost anything
        raise corrupt(f"{type(exc).__name__}: {exc}") from None
    if images.ndim != 2 or images.shape[1] != IMAGE_SIZE:
        raise corrupt(f"its images have shape {images.shape}, expected (n, {IMAGE_SIZE})")
    if images.shape[0] != expected_rows:
        raise corrupt(f"it holds {images.shape[0]} images, expected {expected_rows}")
    if images.dtype != np.uint8:
        if images.dtype.kind not in "iu" or (images.size and (images.min() < 0 or images.max() > 255)):
            raise corrupt(f"its images are {images.dtype}, expected bytes (uint8 values 0..255)")
        images = images.astype(np.uint8)
    if labels.shape != (images.shape[0],):
        raise corrupt(f"labels of shape {labels.shape} for {images.shape[0]} images")
    if labels.dtype.kind not in "iu" or (labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES)):
        raise corrupt(f"its labels are not integers in [0, {NUM_CLASSES})")
    return images, labels.astype(np.int64)


def _to_float(images):
    """uint8 (N, 3072) -> float32 (N, 3072) in [0, 1] (float32 halves memory and doubles matmul speed)."""
    out = images.astype(np.float32)
    out /= 255
    return out


def load_cifar10(data_dir="cifar-10-batches-py", num_train=49000, num_val=1000, num_test=10000, seed=0):
    """Load CIFAR-10 as flattened float images.

    The validation images are a random subset (fixed by ``seed``) of the 50000 training images, disjoint from the
    training images; the test images are the first ``num_test`` of test_batch.

    Args:
        data_dir: the folder with data_batch_1..5 and test_batch (made by download_cifar.sh).
        num_train: int, training images (num_train + num_val <= 50000).
        num_val: int, validation images.
        num_test: int, test images (<= 10000).
        seed: int, seed of the train/validation split.
    Raises:
        CIFARMissingError (a FileNotFoundError): the folder or a batch file is missing (the message says what to do).
        CIFARError (a ValueError): a batch file is damaged (named in the message), or the sizes do not fit.
    Returns:
        dict with X_train (num_train, 3072), X_val (num_val, 3072), X_test (num_test, 3072): float32 in [0, 1];
        y_train (num_train,), y_val (num_val,), y_test (num_test,): int64 labels in [0, 10).
    """
    if not os.path.isdir(data_dir):
        raise CIFARMissingError(f"CIFAR-10 folder not found: {data_dir!r}. Run ./download_cifar.sh inside "
                                "neuralnet/ to download it (or pass the folder's path).")
    if min(num_train, num_val, num_test) < 0:
        raise CIFARError(f"num_train, num_val and num_test must not be negative (got {num_train}, {num_val}, "
                         f"{num_test})")
    if num_train + num_val > NUM_TRAIN_POOL:
        raise CIFARError(f"num_train + num_val = {num_train + num_val} is more than the {NUM_TRAIN_POOL} "
                         "training images")
    if num_test > NUM_TEST_POOL:
        raise CIFARError(f"num_test = {num_test} is more than the {NUM_TEST_POOL} test images")
    if num_train + num_val > 0:
        rows = NUM_TRAIN_POOL // len(BATCH_FILES)
        parts = [_read_batch(os.path.join(data_dir, name), rows) for name in BATCH_FILES]
        pool_x = np.concatenate([p[0] for p in parts])
        pool_y = np.concatenate([p[1] for p in parts])
    else:  # test.py needs only the test images
        pool_x = np.zeros((NUM_TRAIN_POOL, IMAGE_SIZE), dtype=np.uint8)
        pool_y = np.zeros(NUM_TRAIN_POOL, dtype=np.int64)
    order = np.random.RandomState(seed).permutation(NUM_TRAIN_POOL)
    val_idx = order[:num_val]
    train_idx = order[num_val:num_val + num_train]
    test_x, test_y = _read_batch(os.path.join(data_dir, "test_batch"), NUM_TEST_POOL)
    return {
        "X_train": _to_float(pool_x[train_idx]), "y_train": pool_y[train_idx],
        "X_val": _to_float(pool_x[val_idx]), "y_val": pool_y[val_idx],
        "X_test": _to_float(test_x[:num_test]), "y_test": test_y[:num_test],
    }


class DataSampler:
    """Shuffled minibatches of a dataset, reshuffled at every pass.

    Iterating yields (X_batch (B, D), y_batch (B,)) with B = batch_size (the last batch may be smaller);
    len() is the number of batches per pass, ceil(N / batch_size).
    """

    def __init__(self, X, y, batch_size, shuffle=True, seed=None):
        """X: array (N, D); y: array (N,); batch_size: int; shuffle: reshuffle each pass; seed: of the shuffling."""
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} labels")
        self.X = X
        self.y = y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.rng = np.random.RandomState(seed)

    def __len__(self):
        return (self.X.shape[0] + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = self.X.shape[0]
        if not self.shuffle:
            for start in range(0, n, self.batch_size):
                yield self.X[start:start + self.batch_size], self.y[start:start + self.batch_size]
            return
        order = self.rng.permutation(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.X[idx], self.y[idx]


# ---------------------------------------------------------------------------------------------------------------
# One-line reports of train.py and test.py


def not_implemented_line(exc):
    """'<name>: not implemented yet; fill it in <file> first' for a NotImplementedError raised by a stub."""
    frames = traceback.extract_tb(exc.__traceback__)
    frame = frames[-1] if frames else None
    filename = os.path.basename(frame.filename) if frame else "your code"
    if filename == "classifier.py":  # the base class's placeholder: the model (two_layer_net.py) lacks a method
        filename = "two_layer_net.py"
    message = str(exc).strip() or f"{frame.name if frame else 'a function'}: not implemented yet"
    return f"{message}; fill it in {filename} first"


def run_script(main, argv=None):
    """Run ``main(argv)`` and return the exit status: 0, or 1 after one line on stderr for an expected problem.

    Expected problems are a function you have not written yet (NotImplementedError) and a ScriptError (missing or
    damaged data, a missing checkpoint, ...). Any other exception is a real bug and keeps its full traceback.
    """
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "script"
    try:
        main(argv)
    except NotImplementedError as exc:
        print(f"{script}: {not_implemented_line(exc)}", file=sys.stderr)
        return 1
    except ScriptError as exc:
        print(f"{script}: {exc}", file=sys.stderr)
        return 1
    return 0
