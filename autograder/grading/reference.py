"""The grader's in-process access to the reference solutions in the kit (never to student code).

    from autograder.grading import reference
    module = reference.load("<folder>", "<name>")                   # <kit>/<folder>/<name>.py
    group = reference.load_group(kit / "<folder>", ("a", "b", "c"))  # files that import each other: group.a, ...

The kit files are loaded by path under private module names (``_dlkit_reference.<folder>.<name>``), so they
can never be mistaken for, or shadow, anything else in the grading process. The kit's scripts import each other flat
(``from layers import fc_forward``); those imports are resolved against the file's folder only while loading, and
the flat names are restored afterwards (the loaded modules keep their references). ``load_group`` loads files
together, so that they share one copy of each (one class that both ``b`` and ``c`` import from ``a``).

The kit folder defaults to :data:`autograder.paths.KIT` (the repository, or ``/autograder/source`` inside the
autograder zip). Loaded modules are cached per process: they are the reference, the same for every submission.
"""
from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Dict, Optional, Sequence, Tuple

from autograder import paths

PREFIX = "_dlkit_reference"
_cache: Dict[Tuple[str, str], object] = {}  # the reference's modules, loaded once per process (never student code)
_other_folders: Dict[str, int] = {}  # folders outside the kit -> the number in their private names
_lock = threading.Lock()


def _private_prefix(folder: Path) -> str:
    """One private name space per folder: the kit's own folders by their kit path, any other folder (tests, the
    chaffs) numbered in the order first loaded."""
    try:
        return f"{PREFIX}.{folder.resolve().relative_to(paths.KIT.resolve()).as_posix().replace('/', '.')}"
    except ValueError:
        number = _other_folders.setdefault(str(folder.resolve()), len(_other_folders) + 1)
        return f"{PREFIX}_{number}.{folder.name}"


def _load_files(folder: Path, names: Sequence[str]) -> Dict[str, ModuleType]:
    """Load ``folder/<name>.py`` for each name, in order, the flat names visible to the later files while loading."""
    siblings = {p.stem for p in folder.glob("*.py")} | set(names)
    saved_modules = {n: sys.modules.get(n) for n in siblings}
    saved_path = list(sys.path)
    prefix = _private_prefix(folder)
    loaded: Dict[str, ModuleType] = {}
    try:
        sys.path.insert(0, str(folder))
        for sibling in siblings:  # a flat import must find this folder's file, not one loaded earlier from elsewhere
            sys.modules.pop(sibling, None)
        for name in names:
            path = folder / f"{name}.py"
            if not path.is_file():
                raise FileNotFoundError(f"reference file not found: {path}")
            private = f"{prefix}.{name}"
            spec = importlib.util.spec_from_file_location(private, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load reference {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[private] = module  # registered under its private name (dataclasses, pickle look it up)
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(private, None)
                raise
            sys.modules[name] = module  # the flat name the group's later files import
            loaded[name] = module
    finally:
        sys.path[:] = saved_path
        for sibling, previous in saved_modules.items():
            if previous is None:
                sys.modules.pop(sibling, None)
            else:
                sys.modules[sibling] = previous
    return loaded


def load(subdir: str, name: str, kit_dir: Optional[Path] = None) -> ModuleType:
    """``<kit>/<subdir>/<name>.py``, loaded once under the private name ``_dlkit_reference.<subdir>.<name>``."""
    folder = (Path(kit_dir) if kit_dir is not None else paths.KIT) / subdir
    key = (str(folder.resolve()), name)
    with _lock:
        if key not in _cache:
            _cache[key] = _load_files(folder, (name,))[name]
        return _cache[key]  # type: ignore[return-value]


def load_group(folder: Path, names: Sequence[str]) -> SimpleNamespace:
    """The files ``names`` of ``folder`` loaded together (each sees the others under their flat names), as a
    namespace of modules."""
    key = (str(Path(folder).resolve()), "+".join(names))
    with _lock:
        if key not in _cache:
            _cache[key] = SimpleNamespace(**_load_files(Path(folder), tuple(names)))
        return _cache[key]  # type: ignore[return-value]
