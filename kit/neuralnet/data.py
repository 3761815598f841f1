"""CIFAR-10 loading (given): the python-pickle batches from download_cifar.sh, and a minibatch sampler."""
import os
import pickle

import numpy as np

NUM_TRAIN_POOL = 50000  # images in data_batch_1..5; the validation set is taken from this pool
BATCH_FILES = [f"data_batch_{i}" for i in range(1, 6)]
IMAGE_SIZE = 3072  # 3 x 32 x 32, flattened channel-first as stored in the batches


def _read_batch(path):
    """One batch file -> (images (10000, 3072) uint8, labels (10000,) int64); ValueError naming a bad file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"CIFAR-10 batch file missing: {path}. Run ./download_cifar.sh inside neuralnet/ "
                                "to download the dataset again.")
    try:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, IMAGE_SIZE)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ValueError(f"CIFAR-10 batch file {path} is corrupt or truncated ({type(exc).__name__}: {exc}). "
                         "Delete the folder and run ./download_cifar.sh again.") from None
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"CIFAR-10 batch file {path} is corrupt: {images.shape[0]} images but "
                         f"{labels.shape[0]} labels")
    return images, labels


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
    Returns:
        dict with X_train (num_train, 3072), X_val (num_val, 3072), X_test (num_test, 3072): float32 in [0, 1];
        y_train (num_train,), y_val (num_val,), y_test (num_test,): int64 labels in [0, 10).
    """
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"CIFAR-10 folder not found: {data_dir!r}. Run ./download_cifar.sh inside "
                                "neuralnet/ to download it (or pass the folder's path).")
    if num_train + num_val > NUM_TRAIN_POOL:
        raise ValueError(f"num_train + num_val = {num_train + num_val} is more than the {NUM_TRAIN_POOL} "
                         "training images")
    if num_test > 10000:
        raise ValueError(f"num_test = {num_test} is more than the 10000 test images")
    if num_train + num_val > 0:
        parts = [_read_batch(os.path.join(data_dir, name)) for name in BATCH_FILES]
        pool_x = np.concatenate([p[0] for p in parts])
        pool_y = np.concatenate([p[1] for p in parts])
    else:  # test.py needs only the test images
        pool_x = np.zeros((NUM_TRAIN_POOL, IMAGE_SIZE), dtype=np.uint8)
        pool_y = np.zeros(NUM_TRAIN_POOL, dtype=np.int64)
    order = np.random.RandomState(seed).permutation(NUM_TRAIN_POOL)
    val_idx = order[:num_val]
    train_idx = order[num_val:num_val + num_train]
    test_x, test_y = _read_batch(os.path.join(data_dir, "test_batch"))
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
