"""Shared fixtures: repository paths and the offline data (skipped with a reason when absent)."""
from __future__ import annotations

import pytest

from autograder import paths


@pytest.fixture(scope="session")
def cifar10_dir():
    path = paths.cifar10_dir()
    if path is None:
        pytest.skip(paths.missing_data_reason("CIFAR-10"))
    return path


@pytest.fixture(scope="session")
def fashion_mnist_root():
    path = paths.fashion_mnist_root()
    if path is None:
        pytest.skip(paths.missing_data_reason("Fashion-MNIST"))
    return path


@pytest.fixture(scope="session")
def imagenet_class_index():
    path = paths.imagenet_class_index()
    if path is None:
        pytest.skip(paths.missing_data_reason("imagenet_class_index.json"))
    return path
