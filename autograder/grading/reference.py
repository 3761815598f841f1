"""The grader's in-process access to the reference solutions in the kit (the repository top level) (never to student code).

    from autograder.grading import reference
    out, cache = reference.layers().fc_forward(x, w, b)
    L, grads = reference.functions().f3(0.2, 0.5, 1)

The kit files are loaded by path under private module names (``_dlkit_reference.neuralnet.layers``, ...), so they
can never be mistaken for, or shadow, anything else in the grading process. The neuralnet files import each other flat
(``from layers import fc_forward``); those imports are resolved against ``neuralnet/`` only while loading, and the
flat names are removed from ``sys.modules`` afterwards (the loaded modules keep their references).

``kit_dir`` defaults to :data:`autograder.paths.KIT` (the repository, or ``/autograder/source`` inside the autograder zip).
"""
from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Dict, Optional, Tuple

from autograder import paths

PREFIX = "_dlkit_reference"
_cache: Dict[Tuple[str, str], ModuleType] = {}
_kit_numbers: Dict[str, int] = {}  # kit folders other than paths.KIT -> the number in their private names
_lock = threading.Lock()


def _load(subdir: str, name: str, kit_dir: Optional[Path] = None) -> ModuleType:
    """Load ``<kit>/<subdir>/<name>.py`` once under the private name ``_dlkit_reference.<subdir>.<name>``."""
    kit = Path(kit_dir) if kit_dir is not None else paths.KIT
    key = (str(kit), f"{subdir}/{name}")
    with _lock:
        if key in _cache:
            return _cache[key]
        folder = kit / subdir
        path = folder / f"{name}.py"
        if not path.is_file():
            raise FileNotFoundError(f"reference file not found: {path}")
        # Flat sibling names that loading may create; they are restored to their previous state afterwards.
        siblings = {p.stem for p in folder.glob("*.py")}
        saved_modules = {n: sys.modules.get(n) for n in siblings}
        saved_path = list(sys.path)
        # One private name per (kit folder, file): another kit folder than paths.KIT (tests) gets a numbered prefix.
        suffix = "" if kit == paths.KIT else f"_{_kit_numbers.setdefault(str(kit), len(_kit_numbers) + 1)}"
        private = f"{PREFIX}{suffix}.{subdir}.{name}"
        spec = importlib.util.spec_from_file_location(private, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load reference {path}")
        module = importlib.util.module_from_spec(spec)
        try:
            sys.path.insert(0, str(folder))
            for sibling in siblings:  # a flat import must find the kit's file, not one loaded earlier from elsewhere
                sys.modules.pop(sibling, None)
            sys.modules[private] = module  # registered under its private name (dataclasses, pickle look it up)
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(private, None)
            raise
        finally:
            sys.path[:] = saved_path
            for sibling, previous in saved_modules.items():
                if previous is None:
                    sys.modules.pop(sibling, None)
                else:
                    sys.modules[sibling] = previous
        _cache[key] = module
        return module


def functions(kit_dir: Optional[Path] = None) -> ModuleType:
    """The reference ``backprop/functions.py`` (f1, f2, f3, f4)."""
    return _load("backprop", "functions", kit_dir)


def layers(kit_dir: Optional[Path] = None) -> ModuleType:
    """The reference ``neuralnet/layers.py``."""
    return _load("neuralnet", "layers", kit_dir)


def two_layer_net(kit_dir: Optional[Path] = None) -> ModuleType:
    """The reference ``neuralnet/two_layer_net.py``."""
    return _load("neuralnet", "two_layer_net", kit_dir)


def train(kit_dir: Optional[Path] = None) -> ModuleType:
    """The reference ``neuralnet/train.py`` (its imports, e.g. matplotlib, load too)."""
    return _load("neuralnet", "train", kit_dir)


def two_layer_scores(X, W1, b1, W2, b2):
    """Reference FC -> ReLU -> FC scores, built from the reference layers (independent of parameter key names).

    Args:
        X: float array (N, D). W1: (D, H). b1: (H,). W2: (H, C). b2: (C,).
    Returns:
        scores: float array (N, C).
        caches: (fc1 cache, relu cache, fc2 cache) of the reference layers, for :func:`two_layer_grads`.
    """
    ref = layers()
    h, cache1 = ref.fc_forward(X, W1, b1)
    a, cache_relu = ref.relu_forward(h)
    scores, cache2 = ref.fc_forward(a, W2, b2)
    return scores, (cache1, cache_relu, cache2)


def two_layer_grads(grad_scores, caches):
    """Reference gradients of FC -> ReLU -> FC.

    Args:
        grad_scores: float array (N, C). caches: from :func:`two_layer_scores`.
    Returns:
        (grad_W1 (D, H), grad_b1 (H,), grad_W2 (H, C), grad_b2 (C,)).
    """
    ref = layers()
    cache1, cache_relu, cache2 = caches
    grad_a, grad_W2, grad_b2 = ref.fc_backward(grad_scores, cache2)
    grad_h = ref.relu_backward(grad_a, cache_relu)
    _, grad_W1, grad_b1 = ref.fc_backward(grad_h, cache1)
    return grad_W1, grad_b1, grad_W2, grad_b2


def features(kit_dir: Optional[Path] = None) -> ModuleType:
    """The reference ``cnnfeatures/features.py`` (extract_features, class_variances; imports torch and tqdm)."""
    return _load("cnnfeatures", "features", kit_dir)
