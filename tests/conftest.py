"""Shared fixtures: the generated student tree and the offline data (skipped with a reason when absent)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder import paths


# An xdist worker shares the CPUs with the others: its thread pools (and those of the processes it starts, which
# take OMP_NUM_THREADS from it through autograder.resources.compute_env) get its share.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    from autograder import resources as _resources
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _resources.usable_cpus()
                                                     // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """`make test` runs pytest-xdist's `-n auto`: one worker per CPU this process may use (xdist's own count is the
    host's, which is larger in a VM or container with a CPU quota), at most 4 to bound memory."""
    from autograder import resources
    return max(1, min(4, resources.usable_cpus()))


@pytest.fixture(scope="session", autouse=True)
def _temporary_autograder_root(tmp_path_factory):
    """No test may write to the real /autograder (another grading run on the machine may be using it): the Gradescope
    entry points default to $AUTOGRADER_ROOT, a fresh folder for this session."""
    os.environ["AUTOGRADER_ROOT"] = str(tmp_path_factory.mktemp("autograder-root"))
    yield


@pytest.fixture(scope="session")
def student_tree(tmp_path_factory) -> Path:
    """The generated student version of the kit (backprop/, neuralnet/, ...): the given files of every grading
    workspace."""
    from autograder.build import kits
    dst = tmp_path_factory.mktemp("student") / "kit"
    kits.build_student(dst)
    return dst


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
    path = paths.data_file("imagenet_class_index.json")
    if path is None:
        pytest.skip(paths.missing_data_reason("imagenet_class_index.json"))
    return path


@pytest.fixture
def patch_part(monkeypatch):
    """``patch_part(key, **changes)``: the part's declaration replaced for this test (e.g. ``enabled=False``);
    ``patch_part.row(item_id, **changes)``: one of its rows replaced (e.g. ``visibility="after_due_date"``)."""
    import dataclasses

    from autograder import parts

    def patch(key, **changes):
        monkeypatch.setitem(parts.PARTS, key, dataclasses.replace(parts.PARTS[key], **changes))

    def row(item_id, **changes):
        part = next(p for p in parts.PARTS.values() if item_id in p.rows)
        rows = dict(part.rows)
        rows[item_id] = dataclasses.replace(rows[item_id], **changes)
        patch(part.key, rows=rows)

    patch.row = row
    return patch
