"""autograder/gradescope/requirements.txt: everything the grader imports at grading time is pinned there, and the
pins resolve, with wheels only, on every Python a Gradescope base image may have (3.10 to 3.12).

The resolution is what ``pip install --dry-run --python-version X --only-binary=:all:`` does for another
interpreter: the package index's metadata only, no wheel is installed. torch resolves to the package index's build
here; on Gradescope setup.sh adds PyTorch's CPU-only index, whose 2.14.1+cpu the same pin matches.
"""
from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

import pytest

from autograder import paths, runtime_imports
from autograder.build import kits

REQUIREMENTS = kits.GRADESCOPE_DIR / "requirements.txt"
PYTHONS = ("3.10", "3.12")  # 3.11 is this machine's: test_gradescope_path's --install test installs them for real
# pip, given another Python, takes only the platform tags it is told: these are the ones an x86-64 Ubuntu 22.04 or
# newer accepts (glibc 2.35).
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(35, 4, -1)] + [
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_normalized(name)] = version
    return pins


def test_every_pin_is_exact_and_public():
    pins = _pins()
    for name, version in pins.items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.]*", version), f"{name}: pin it as name==version, not {version!r}"
    assert "torch" in pins and "torchvision" in pins


def test_every_module_the_grader_imports_is_pinned():
    """The grading package (any import) and the kit's modules (module-level imports) in the Gradescope venv."""
    needed = runtime_imports.needed(paths.REPO)
    assert "numpy" in needed and "tqdm" in needed and "torch" in needed  # the scan sees the kit and the grader
    owners = importlib.metadata.packages_distributions()
    pins = _pins()
    unpinned = {module: (owners.get(module), files[:2]) for module, files in needed.items()
                if not any(_normalized(dist) in pins for dist in owners.get(module, []))}
    assert not unpinned, f"imported at grading time but not in {REQUIREMENTS.name}: {unpinned}"


def test_the_import_check_names_a_missing_module(tmp_path, capsys, monkeypatch):
    """setup.sh's check (python -m autograder.runtime_imports) fails the upload, naming module and importer."""
    monkeypatch.setattr(runtime_imports, "needed", lambda source: {"dlkit_absent": ["cnnfeatures/features.py"]})
    assert runtime_imports.main([str(paths.REPO)]) == 1
    err = capsys.readouterr().err
    assert "'dlkit_absent', imported by cnnfeatures/features.py" in err and "requirements.txt" in err


@pytest.mark.slow
@pytest.mark.parametrize("python", PYTHONS)
def test_the_pins_resolve_on(python, tmp_path):
    platforms = [arg for tag in PLATFORMS for arg in ("--platform", tag)]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--only-binary=:all:",
         "--python-version", python, "--implementation", "cp", *platforms, "--target", str(tmp_path / "target"),
         "-r", str(REQUIREMENTS)], capture_output=True, text=True, timeout=600)
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert done.returncode == 0, f"Python {python}: " + "\n".join(errors or done.stderr.splitlines()[-5:])
