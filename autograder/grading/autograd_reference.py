"""The grader's in-process access to the reference autograd framework (``autograd/`` in the kit), never student code.

    from autograder.grading import autograd_reference
    fw = autograd_reference.load()          # fw.tensor, fw.nn, fw.optim
    x = fw.tensor.Tensor(data, requires_grad=True)

The three files import each other flat (``from tensor import Tensor``), so they are loaded together: ``nn`` and
``optim`` see the same ``tensor`` module (one ``Tensor`` class). They are registered under private names
(``_dlkit_reference.autograd.tensor``, ...) and the flat names are restored afterwards, as in :mod:`reference`.
``load(folder)`` loads any folder holding the three files (the chaffs, the project's tests).
"""
from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Dict, Optional

from autograder import paths

FILES = ("tensor", "nn", "optim")
_cache: Dict[str, SimpleNamespace] = {}
_lock = threading.Lock()


def load(folder: Optional[Path] = None) -> SimpleNamespace:
    """The framework in ``folder`` (default: the kit's ``autograd/``) as a namespace ``tensor``, ``nn``, ``optim``."""
    folder = Path(folder) if folder is not None else paths.KIT / "autograd"
    key = str(folder.resolve())
    with _lock:
        if key in _cache:
            return _cache[key]
        number = len(_cache)
        saved_modules = {n: sys.modules.get(n) for n in FILES}
        saved_path = list(sys.path)
        loaded: Dict[str, ModuleType] = {}
        try:
            sys.path.insert(0, str(folder))
            for name in FILES:
                sys.modules.pop(name, None)
            for name in FILES:
                path = folder / f"{name}.py"
                if not path.is_file():
                    raise FileNotFoundError(f"autograd file not found: {path}")
                private = f"_dlkit_reference.autograd{number or ''}.{name}"
                spec = importlib.util.spec_from_file_location(private, path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot load {path}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[private] = module
                spec.loader.exec_module(module)
                sys.modules[name] = module  # the flat name the next file imports
                loaded[name] = module
        finally:
            sys.path[:] = saved_path
            for name, previous in saved_modules.items():
                if previous is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = previous
        framework = SimpleNamespace(**loaded)
        _cache[key] = framework
        return framework
