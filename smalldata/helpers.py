"""Section 3b: the helpers part4.ipynb uses (a class subset with few images per class, training, accuracy, confusion).

Graded (the autograder calls them in its sandbox on its own seeded inputs and compares with its own computation):

* ``class_subset(dataset_targets, classes, per_class, seed)`` -> ``(indices, labels)``;
* ``train_epochs(model, loader, epochs, lr, momentum=0.0, weight_decay=0.0, device="cpu")`` -> per-epoch losses;
* ``accuracy(model, loader, device="cpu")`` -> a fraction in [0, 1];
* ``confusion(model, loader, num_classes, device="cpu")`` -> (num_classes, num_classes) int64 counts, rows = true
  class, columns = predicted class (scikit-learn's ``confusion_matrix`` convention).

Given (not graded): ``RemappedSubset`` (a dataset view with the remapped labels) and ``predictions``.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset


def class_subset(dataset_targets, classes: Sequence[int], per_class: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pick ``per_class`` examples of each class in ``classes``, at random but reproducibly.

    Args:
        dataset_targets: the label of every example of the dataset, a sequence of ints: a list (CIFAR-10's
            ``dataset.targets``), a numpy array or a 1-D torch tensor (MNIST's ``dataset.targets``), length M.
        classes: the original labels to keep, e.g. ``(0, 1, 7)``; their order defines the new labels.
        per_class: how many examples of each class to pick (without repetition).
        seed: the random seed; the same arguments always give the same subset, another seed another subset.
    Returns:
        indices: int64 (len(classes) * per_class,), positions in the dataset, each once; exactly ``per_class`` of
            them have each label of ``classes``.
        labels: int64 (len(classes) * per_class,), the REMAPPED label of each picked example:
            ``labels[i] == classes.index(dataset_targets[indices[i]])`` (so 0..len(classes)-1, ready for a model with
            ``num_classes=len(classes)``).
    Raises:
        ValueError: a class has fewer than ``per_class`` examples (the message names it).
    """
    # BEGIN SOLUTION
    targets = np.asarray(dataset_targets).reshape(-1).astype(np.int64)
    rng = np.random.default_rng(seed)
    picked, labels = [], []
    for new_label, cls in enumerate(classes):
        pool = np.flatnonzero(targets == int(cls))
        if pool.size < per_class:
            raise ValueError(f"class {cls} has {pool.size} examples, fewer than per_class={per_class}")
        picked.append(rng.choice(pool, size=per_class, replace=False))
        labels.append(np.full(per_class, new_label, dtype=np.int64))
    if not picked:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(picked).astype(np.int64), np.concatenate(labels)
    # END SOLUTION


def train_epochs(model: nn.Module, loader, epochs: int, lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, device: str = "cpu") -> List[float]:
    """Train ``model`` in place with ``torch.optim.SGD`` on the cross-entropy loss, for ``epochs`` passes over
    ``loader``.

    Args:
        model: an ``nn.Module`` mapping a batch x (B, ...) to logits (B, C); put in ``train()`` mode.
        loader: yields ``(x, y)`` batches, y int64 (B,) class labels in 0..C-1 (a DataLoader).
        epochs: number of passes over the loader.
        lr, momentum, weight_decay: ``torch.optim.SGD``'s arguments (one optimizer for the whole run, over
            ``model.parameters()``).
        device: where the model and the batches go.
    Returns:
        losses: ``epochs`` Python floats; losses[e] is the mean training loss of epoch e over its examples (each
        batch's ``nn.CrossEntropyLoss()`` value, taken before that batch's optimizer step, weighted by the batch
        size).
    """
    # BEGIN SOLUTION
    model.to(device)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * y.shape[0]
            count += y.shape[0]
        losses.append(total / max(count, 1))
    return losses
    # END SOLUTION


def predictions(model: nn.Module, loader, device: str = "cpu") -> Tuple[np.ndarray, np.ndarray]:
    """(true labels, predicted labels), both int64 (M,), over every batch of ``loader``, in ``eval()`` mode and
    without gradients (given)."""
    model.to(device)
    model.eval()
    true, pred = [], []
    with torch.no_grad():
        for x, y in loader:
            scores = model(x.to(device))
            true.append(y.reshape(-1).cpu().numpy().astype(np.int64))
            pred.append(scores.argmax(dim=1).cpu().numpy().astype(np.int64))
    if not true:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(true), np.concatenate(pred)


def accuracy(model: nn.Module, loader, device: str = "cpu") -> float:
    """The fraction (in [0, 1], not percent) of the loader's examples whose argmax logit is the label, computed in
    ``eval()`` mode without gradients.

    Returns:
        accuracy: a Python float; 0.0 for an empty loader.
    """
    # BEGIN SOLUTION
    true, pred = predictions(model, loader, device)
    return float((true == pred).mean()) if true.size else 0.0
    # END SOLUTION


def confusion(model: nn.Module, loader, num_classes: int, device: str = "cpu") -> np.ndarray:
    """The confusion matrix of the model's predictions over the loader (``eval()`` mode, no gradients).

    Use scikit-learn's ``sklearn.metrics.confusion_matrix`` (with ``labels=range(num_classes)``, so that classes
    never predicted still get a column). The autograder has scikit-learn; importing it inside this function keeps
    helpers.py importable on a machine without it, where numpy can count instead.

    Returns:
        counts: int64 (num_classes, num_classes); counts[i, j] = how many examples of true class i were predicted
        as class j (rows = true, columns = predicted).
    """
    # BEGIN SOLUTION
    true, pred = predictions(model, loader, device)
    try:
        from sklearn.metrics import confusion_matrix
    except ImportError:  # a machine without scikit-learn: the same counts with numpy
        counts = np.zeros((num_classes, num_classes), dtype=np.int64)
        np.add.at(counts, (true, pred), 1)
        return counts
    return confusion_matrix(true, pred, labels=list(range(num_classes))).astype(np.int64)
    # END SOLUTION


class RemappedSubset(Dataset):
    """The examples ``indices`` of ``dataset`` with the labels ``labels`` (class_subset's outputs) instead of the
    dataset's own (given).

    ``dataset[i]`` must return ``(image, label)``; this view returns ``(image, labels[k])`` for its k-th example.
    """

    def __init__(self, dataset, indices, labels):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        self.labels = [int(v) for v in labels]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k):
        image, _ = self.dataset[self.indices[k]]
        return image, self.labels[k]
