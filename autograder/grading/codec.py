"""Nested values <-> a JSON tree plus named numpy arrays, with no pickle anywhere.

Used on both sides of the sandbox: the grader encodes a job's arguments, the harness (which imports its own copy of
this file, so it must stay standalone: numpy and the standard library only) encodes each call's return value, and
the other side decodes. Arrays travel in an ``.npz`` file read back with ``np.load(allow_pickle=False)``.

Supported values: None, bool, int, float (nan and +-inf included), str, numpy scalars, numpy arrays (any dtype except
object-holding ones), and tuple / list / dict with str keys nesting those. Tuples stay tuples and numpy scalars stay
numpy scalars of the same dtype. Anything else raises :class:`CodecError`.

Tree format (every container is tagged, so a student's dict can never be mistaken for a tag):
    None / bool / int / str         -> themselves
    float                           -> {"t": "float", "v": <float or "nan" | "inf" | "-inf">}
    tuple, list                     -> {"t": "tuple" | "list", "v": [items]}
    dict                            -> {"t": "dict", "v": [[key, item], ...]}
    np.ndarray                      -> {"t": "array", "k": "<key in arrays>"}
    numpy scalar                    -> {"t": "scalar", "k": "<key>"} (a 0-d array of the scalar's dtype)
"""
from __future__ import annotations

import math
from typing import Any, Dict, Tuple

import numpy as np

MAX_DEPTH = 64  # nesting deeper than this is refused on both sides (a hostile tree must not blow the stack)
MAX_NODES = 200_000  # a tree with more nodes than this is refused (keeps decoding time bounded)


class CodecError(ValueError):
    """A value that cannot be encoded, or a tree/arrays pair that is not a valid encoding."""


def _check_array(arr: np.ndarray, where: str) -> None:
    if arr.dtype.hasobject:
        raise CodecError(f"{where}: arrays of Python objects (dtype {arr.dtype}) cannot be sent")


def encode(value: Any) -> Tuple[Any, Dict[str, np.ndarray]]:
    """Encode ``value`` as (JSON-serialisable tree, dict of arrays keyed "a0", "a1", ...)."""
    arrays: Dict[str, np.ndarray] = {}
    count = [0]

    def walk(obj: Any, depth: int, where: str) -> Any:
        count[0] += 1
        if count[0] > MAX_NODES:
            raise CodecError(f"value has more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise CodecError(f"{where}: nested more than {MAX_DEPTH} levels deep")
        # bool before int: bool is a subclass of int. Exact types only, so subclasses (with their own behaviour)
        # are refused rather than silently flattened.
        if obj is None or type(obj) in (bool, str):
            return obj
        if type(obj) is int:
            return obj
        if type(obj) is float:
            if math.isnan(obj):
                return {"t": "float", "v": "nan"}
            if math.isinf(obj):
                return {"t": "float", "v": "inf" if obj > 0 else "-inf"}
            return {"t": "float", "v": obj}
        if type(obj) is np.ndarray:
            _check_array(obj, where)
            key = f"a{len(arrays)}"
            arrays[key] = obj
            return {"t": "array", "k": key}
        if isinstance(obj, np.generic) and type(obj).__module__ == "numpy":
            arr = np.asarray(obj)
            _check_array(arr, where)
            key = f"a{len(arrays)}"
            arrays[key] = arr
            return {"t": "scalar", "k": key}
        if type(obj) in (tuple, list):
            tag = "tuple" if type(obj) is tuple else "list"
            return {"t": tag, "v": [walk(item, depth + 1, f"{where}[{i}]") for i, item in enumerate(obj)]}
        if type(obj) is dict:
            items = []
            for key, item in obj.items():
                if type(key) is not str:
                    raise CodecError(f"{where}: dict keys must be str, got {type(key).__name__}")
                items.append([key, walk(item, depth + 1, f"{where}[{key!r}]")])
            return {"t": "dict", "v": items}
        raise CodecError(f"{where}: a value of type {type(obj).__name__} cannot be sent back")

    tree = walk(value, 0, "value")
    return tree, arrays


def decode(tree: Any, arrays: Dict[str, np.ndarray]) -> Any:
    """Rebuild the value from ``encode``'s output. Raises CodecError on anything malformed (the tree may be hostile)."""
    count = [0]

    def walk(node: Any, depth: int) -> Any:
        count[0] += 1
        if count[0] > MAX_NODES:
            raise CodecError(f"tree has more than {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise CodecError(f"tree nested more than {MAX_DEPTH} levels deep")
        if node is None or type(node) in (bool, int, str):
            return node
        if type(node) is not dict or type(node.get("t")) is not str:
            raise CodecError(f"malformed node of type {type(node).__name__}")
        tag = node["t"]
        if tag == "float":
            v = node.get("v")
            if v in ("nan", "inf", "-inf"):
                return float(v)
            if type(v) in (int, float):
                return float(v)
            raise CodecError("malformed float node")
        if tag in ("array", "scalar"):
            key = node.get("k")
            if type(key) is not str or key not in arrays:
                raise CodecError(f"array {key!r} missing")
            arr = arrays[key]
            if type(arr) is not np.ndarray:
                raise CodecError(f"array {key!r} is not an ndarray")
            _check_array(arr, f"array {key!r}")
            if tag == "scalar":
                if arr.ndim != 0:
                    raise CodecError(f"scalar {key!r} is not 0-d")
                return arr[()]
            return arr
        items = node.get("v")
        if type(items) is not list:
            raise CodecError(f"malformed {tag} node")
        if tag == "tuple":
            return tuple(walk(item, depth + 1) for item in items)
        if tag == "list":
            return [walk(item, depth + 1) for item in items]
        if tag == "dict":
            out = {}
            for pair in items:
                if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                    raise CodecError("malformed dict item")
                out[pair[0]] = walk(pair[1], depth + 1)
            return out
        raise CodecError(f"unknown tag {tag!r}")

    return walk(tree, 0)
