"""The grader's in-process access to the reference autograd framework (``autograd/`` in the kit), never student code.

    from autograder.grading import autograd_reference
    fw = autograd_reference.load()          # fw.tensor, fw.nn, fw.optim
    x = fw.tensor.Tensor(data, requires_grad=True)

The three files import each other flat (``from tensor import Tensor``), so they are loaded together: ``nn`` and
``optim`` see the same ``tensor`` module (one ``Tensor`` class). They are registered under private names
(``_dlkit_reference.autograd.tensor``, ...) by :func:`reference.load_group`.
``load(folder)`` loads any folder holding the three files (the chaffs, the project's tests).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Optional

from autograder import paths
from autograder.grading import reference

FILES = ("tensor", "nn", "optim")


def load(folder: Optional[Path] = None) -> SimpleNamespace:
    """The framework in ``folder`` (default: the kit's ``autograd/``) as a namespace ``tensor``, ``nn``, ``optim``."""
    return reference.load_group(Path(folder) if folder is not None else paths.KIT / "autograd", FILES)
