"""Where things live: the repository, the marked kit, build outputs, and the data (from one setting).

Data setting: the environment variable ``DLKIT_DATA`` names the folder of offline data (``FashionMNIST/raw/*.gz``,
``cifar-10-jpeg/``, ``make_cifar10_batches.py``, the ImageNet class index). It defaults to ``../shared/data``
beside the repository when that folder exists. Data derived from it (the CIFAR-10 python batches, a writable copy of
Fashion-MNIST, the grader's evaluation arrays) is built once into ``DLKIT_CACHE`` (default ``<repo>/.cache``).
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

REPO = Path(__file__).resolve().parent.parent
# The marked reference kit is the repository's top level (the layout the handout has): the single source of truth for
# every student-facing file. Only the entries named by kit_entries() belong to it; the rest of the top level
# (autograder/, tests/, bench/, docs/, the instructors' README.md, ...) is instructor tooling.
KIT = REPO
DIST = REPO / "dist"
# The student README is kept beside the instructors' README.md under this name and ships as README.md in every kit.
STUDENT_README = "STUDENT-README.md"
KIT_RENAMES = {STUDENT_README: "README.md"}
# Kit entries every part needs (each part's own are in its declaration, autograder/parts/<part>.py); report/ holds
# the written report's templates (generated from the parts' report sections by autograder/build/report.py).
COMMON_KIT_ENTRIES = ("check_submission.py", "make_submission.py", "download_cifar.sh", STUDENT_README, "report")


def kit_entries(kit_dir: Optional[Path] = None) -> tuple:
    """The top-level names that make up the kit in ``kit_dir`` (default: the repository): the common entries plus
    those of every part switched on (autograder/parts). A generated kit (student tree, solution kit) has README.md where
    the source has STUDENT-README.md; both spellings are accepted, the source's README.md (instructors') is not."""
    from autograder.grading import rubric  # local import: rubric.py does not depend on the layout
    names = list(COMMON_KIT_ENTRIES)
    for part in rubric.enabled_parts():
        names += [name for name in part.kit_entries if name not in names]
    if kit_dir is not None and not (Path(kit_dir) / STUDENT_README).exists():
        names = [KIT_RENAMES.get(name, name) for name in names]
    return tuple(names)


def kit_target(relative: Path) -> Path:
    """Where a kit file of the source goes in a generated kit (STUDENT-README.md becomes README.md)."""
    relative = Path(relative)
    return Path(KIT_RENAMES.get(relative.as_posix(), relative.as_posix()))


def cache_dir() -> Path:
    path = Path(os.environ.get("DLKIT_CACHE", REPO / ".cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_root() -> Optional[Path]:
    """The offline data folder, or None when neither DLKIT_DATA nor ../shared/data exists."""
    setting = os.environ.get("DLKIT_DATA")
    path = Path(setting) if setting else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


def missing_data_reason(what: str) -> str:
    """Why data is absent, phrased for a pytest skip or a build error."""
    setting = os.environ.get("DLKIT_DATA")
    where = f"DLKIT_DATA={setting}" if setting else f"{REPO.parent / 'shared' / 'data'} (set DLKIT_DATA to override)"
    return f"{what} not available: no usable data folder at {where}"


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if absent), so that parallel processes (test workers,
    two instructors' builds) make a shared cached result once: the second waits, then finds it done. Opened
    read-only: flock needs no write access, so another account's lock file (0644) still works."""
    handle = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing the last descriptor releases the lock


def _locked(name: str):
    return file_lock(cache_dir() / f".{name}.lock")


def cifar10_dir() -> Optional[Path]:
    """A ``cifar-10-batches-py`` folder in the original python-pickle layout, or None.

    Uses ``DLKIT_DATA/cifar-10-batches-py`` when the real batches are there; otherwise rebuilds them once from
    ``DLKIT_DATA/cifar-10-jpeg`` with the data folder's own ``make_cifar10_batches.py`` (about 20 s). When that script
    fails, returns None (tests skip) after a warning naming the script, its exit status and the end of its stderr;
    the same text stays in ``cifar10_dir.last_error`` (set by every call; None when nothing failed).
    """
    cifar10_dir.last_error = None
    batches = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    root = data_root()
    if root is None:
        return None
    if all((root / "cifar-10-batches-py" / name).is_file() for name in batches):
        return root / "cifar-10-batches-py"
    script = root / "make_cifar10_batches.py"
    if not script.is_file():
        return None
    target = cache_dir() / "cifar-10-batches-py"
    with _locked("cifar10"):
        if not all((target / name).is_file() for name in batches):
            try:
                result = subprocess.run([sys.executable, str(script), str(cache_dir())], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True, errors="replace")
                failure = None if result.returncode == 0 else (
                    f"exit status {result.returncode}: {result.stderr.strip()[-2000:] or '(no stderr)'}")
            except OSError as exc:
                failure = f"could not start it: {exc}"
            if failure is None and not all((target / name).is_file() for name in batches):
                failure = f"it did not write all of {', '.join(batches)} into {target}"
            if failure is not None:
                cifar10_dir.last_error = f"CIFAR-10: {script} failed ({failure})"
                warnings.warn(cifar10_dir.last_error, RuntimeWarning, stacklevel=2)
                return None
    return target


def fashion_mnist_root() -> Optional[Path]:
    """A writable root holding ``FashionMNIST/raw/*.gz`` (torchvision extracts beside them), or None."""
    root = data_root()
    source = root / "FashionMNIST" / "raw" if root else None
    if source is None or not source.is_dir():
        return None
    target = cache_dir() / "fashion-mnist"
    with _locked("fashion-mnist"):
        raw = target / "FashionMNIST" / "raw"
        if not all((raw / f.name).is_file() for f in source.glob("*.gz")):
            raw.mkdir(parents=True, exist_ok=True)
            for gz in source.glob("*.gz"):
                shutil.copyfile(gz, raw / gz.name)
    return target


def data_file(name: str) -> Optional[Path]:
    """A file of the data folder, or None."""
    root = data_root()
    path = root / name if root else None
    return path if path is not None and path.is_file() else None
