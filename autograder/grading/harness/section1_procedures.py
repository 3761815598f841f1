"""Section 1 scenarios run INSIDE the sandbox, next to the student's files (plain numpy; no solutions here).

Each function is called by ``run_calls.py`` as ``fn(student_module_or_None, *args, **kwargs)`` and returns plain
data (numbers, strings, arrays, tuples/lists/dicts of those). Nothing here judges anything: the grading process
compares what comes back with the reference. The student's process may read this file, so it holds no reference
code; the probe model below is deliberately not a usable TwoLayerNet (it has no ReLU).

TwoLayerNet parameter key names are not prescribed (``W1``, ``w1``, ``weight1``, ...): weights given by the grader
are loaded into the student's live parameter arrays by matching shapes, in the order of ``parameters()`` when two
parameters share a shape.
"""
from __future__ import annotations

import importlib
import inspect
import os
import pickle
import sys
import types

import numpy as np

INIT_SEED = 1234

# ----------------------------------------------------------------------------------------------------------------
# numpy only


def loaded_frameworks(module, frameworks):
    """Which of ``frameworks`` (top-level names) are in sys.modules after the student module was imported.

    Run it as the first call of a batch, so only the module under test (and what it imports) has been imported.
    Returns a sorted list of str.
    """
    return sorted(name for name in frameworks if name in sys.modules)


def forward_then_backward(module, forward_name, backward_name, forward_args, grad_out):
    """The student's backward fed the student's own cache: backward(grad_out, forward(*forward_args)[1]).

    Returns what the backward returned (e.g. (grad_x, grad_w, grad_b) for fc_backward).
    """
    _, cache = getattr(module, forward_name)(*forward_args)
    return getattr(module, backward_name)(grad_out, cache)


# ----------------------------------------------------------------------------------------------------------------
# backprop f4


def _positional_count(func):
    """Number of named positional parameters of ``func`` (0 for ``f4()`` or ``f4(*args)``)."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in inspect.signature(func).parameters.values() if p.kind in kinds)


def f4_probe(module, values, h):
    """Call the student's f4 on the first n of ``values`` and at each input +- h (for central differences).

    Args:
        values: list of floats in [0.5, 1.5) (at least as many as f4 takes).
        h: step of the central differences.
    Returns:
        {"nargs": 0} for a zero-argument f4 (not attempted); else {"nargs": n, "inputs": list of n floats,
        "result": what f4 returned, "plus": list of n losses at x_i + h, "minus": list of n losses at x_i - h}.
    """
    f4 = getattr(module, "f4", None)
    if f4 is None:
        return {"nargs": -1}
    n = _positional_count(f4)
    if n == 0:
        return {"nargs": 0}
    if n > len(values):
        raise ValueError(f"f4 takes {n} arguments; the check supports at most {len(values)}")
    x = [float(v) for v in values[:n]]
    result = f4(*x)
    plus, minus = [], []
    for i in range(n):
        for sign, store in ((1.0, plus), (-1.0, minus)):
            shifted = list(x)
            shifted[i] = x[i] + sign * h
            out = f4(*shifted)
            store.append(out[0] if isinstance(out, (tuple, list)) and len(out) > 0 else out)
    return {"nargs": n, "inputs": x, "result": result, "plus": plus, "minus": minus}


# ----------------------------------------------------------------------------------------------------------------
# TwoLayerNet


def _build(module, dims, weight_scale=None):
    """TwoLayerNet(input_dim, num_classes, hidden_dim[, weight_scale]), built positionally as the kit's scripts do."""
    input_dim, num_classes, hidden_dim = (int(d) for d in dims)
    cls = getattr(module, "TwoLayerNet", None)
    if cls is None:
        raise AttributeError(f"{module.__name__}.py has no class TwoLayerNet")
    np.random.seed(INIT_SEED)  # the kit's TwoLayerNet draws from np.random: seeded, grading is repeatable
    if weight_scale is None:
        return cls(input_dim, num_classes, hidden_dim)
    return cls(input_dim, num_classes, hidden_dim, float(weight_scale))


def _parameters(model):
    params = model.parameters()
    if not isinstance(params, dict):
        raise TypeError(f"parameters() returned a {type(params).__name__}, expected a dict name -> array")
    return params


def _describe_params(params):
    return ", ".join(f"{name!s} {tuple(np.shape(value))}" for name, value in params.items())


def _load_by_shape(params, arrays):
    """Copy each given array into the first unused parameter of the same shape (in place: the live arrays).

    Returns the matched parameter names, in the order of ``arrays``.
    """
    used = []
    for arr in arrays:
        match = None
        for name, value in params.items():
            if name not in used and tuple(np.shape(value)) == arr.shape:
                match = name
                break
        if match is None:
            raise ValueError(f"parameters() has no parameter of shape {arr.shape} (it has: "
                             f"{_describe_params(params)})")
        target = params[match]
        if not isinstance(target, np.ndarray):
            raise TypeError(f"parameters()[{match!r}] is a {type(target).__name__}, expected a numpy array")
        target[...] = arr
        used.append(match)
    return used


def describe_init(module, dims, weight_scale):
    """Build TwoLayerNet(*dims, weight_scale) and send back its parameters as they are, in the order of parameters().

    No statistic is taken here: this process runs the student's code, which may have patched numpy; the grader
    computes mean, std and max |value| of the arrays itself.

    Returns:
        list of dicts {"name": str, "type": str, "value": the array (numpy number arrays only; absent otherwise)}.
    """
    params = _parameters(_build(module, dims, weight_scale))
    rows = []
    for name, value in params.items():
        row = {"name": str(name), "type": type(value).__name__}
        if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
            row["value"] = np.array(value, copy=True)
        rows.append(row)
    return rows


def forward_scores(module, dims, weights, X):
    """Load ``weights`` (W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)) by shape and return the forward scores.

    Returns:
        {"names": the matched parameter names (4 str), "scores": what forward(X)[0] is (array (N, C) if right),
        "dtypes": the matched parameters' dtypes (4 str)}.
    """
    model = _build(module, dims)
    names = _load_by_shape(_parameters(model), weights)
    params = _parameters(model)
    out = model.forward(X)
    scores = out[0] if isinstance(out, (tuple, list)) else out
    return {"names": names, "scores": scores, "dtypes": [str(params[name].dtype) for name in names]}


def _objective(model, X, G):
    """sum(forward(X) scores * G) in float64: its gradient w.r.t. the scores is G."""
    out = model.forward(X)
    scores = out[0] if isinstance(out, (tuple, list)) else out
    return float(np.sum(np.asarray(scores, dtype=np.float64) * G))


def gradients(module, dims, weights, X, G, h):
    """The student's backward(G, cache) and central-difference gradients of sum(forward(X) * G), same weights.

    Args:
        weights: [W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)] float64, loaded by shape.
        X: float64 (N, D). G: float64 (N, C), the upstream gradient. h: the difference step.
    Returns:
        {"names": matched names (4), "param_keys": keys of parameters(), "dtypes": the matched parameters' dtypes,
        "grad_keys": keys of the returned dict
        (None if backward did not return a dict), "grad_type": its type name, "analytic": list of 4 (the returned
        grads for the matched names, None where missing), "numeric": list of 4 float64 arrays}.
    """
    model = _build(module, dims)
    params = _parameters(model)
    names = _load_by_shape(params, weights)
    scores, cache = model.forward(X)
    grads = model.backward(G.copy(), cache)
    is_dict = isinstance(grads, dict)
    analytic = [grads.get(name) if is_dict else None for name in names]
    analytic = [a.copy() if isinstance(a, np.ndarray) else a for a in analytic]  # copies, taken before the probing
    numeric = []
    for name in names:
        p = params[name]
        num = np.zeros(p.shape, dtype=np.float64)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            f_plus = _objective(model, X, G)
            p[idx] = old - h
            f_minus = _objective(model, X, G)
            p[idx] = old
            num[idx] = (f_plus - f_minus) / (2 * h)
        numeric.append(num)
    return {"names": names, "param_keys": [str(k) for k in params], "dtypes": [str(params[n].dtype) for n in names],
            "grad_keys": [str(k) for k in grads] if is_dict else None, "grad_type": type(grads).__name__,
            "analytic": analytic, "numeric": numeric}


# ----------------------------------------------------------------------------------------------------------------
# training_step


class ProbeModel:
    """A linear two-layer model with unusual key names (no ReLU: not a TwoLayerNet), for grading training_step.

    scores = (X @ proj_in + shift_mid) @ proj_out + shift_out. Parameters, in this dict order: shift_out (C,),
    proj_in (D, H), shift_mid (H,), proj_out (H, C) -- biases first, so code relying on order or names shows.
    """

    def __init__(self, proj_in, shift_mid, proj_out, shift_out):
        self.params = {"shift_out": np.array(shift_out, dtype=np.float64),
                       "proj_in": np.array(proj_in, dtype=np.float64),
                       "shift_mid": np.array(shift_mid, dtype=np.float64),
                       "proj_out": np.array(proj_out, dtype=np.float64)}

    def parameters(self):
        return self.params

    def forward(self, X):
        p = self.params
        mid = X @ p["proj_in"] + p["shift_mid"]
        return mid @ p["proj_out"] + p["shift_out"], (X, mid)

    def backward(self, grad_scores, cache):
        X, mid = cache
        p = self.params
        grad_mid = grad_scores @ p["proj_out"].T
        return {"shift_out": grad_scores.sum(axis=0), "proj_in": X.T @ grad_mid, "shift_mid": grad_mid.sum(axis=0),
                "proj_out": mid.T @ grad_scores}

    def predict(self, X):
        return np.argmax(self.forward(X)[0], axis=1)


def _own_layer_parts(model, params, names, X, y, reg):
    """The student's own softmax_loss / l2_regularization / backward on this model (what training_step should
    combine), for a hint only: values from this process decide no points. Returns a dict, or {"error": text} when
    one of those pieces fails (they are graded elsewhere)."""
    try:
        layers = importlib.import_module("layers")
        scores, cache = model.forward(X)
        data_loss, dscores = layers.softmax_loss(scores, y)
        model_grads = model.backward(np.array(dscores, dtype=np.float64), cache)
        l2 = [layers.l2_regularization(params[name], reg) for name in names]
        return {"data_loss": data_loss, "model_grads": [model_grads.get(name) for name in names],
                "l2": [tuple(item) for item in l2]}
    except Exception as exc:  # noqa: BLE001 -- recorded, not hidden: the grader reports it as a hint
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def _training_step(train_module, model, names, X, y, reg, with_parts=True):
    params = _parameters(model)
    saved = {name: np.array(params[name], copy=True) for name in names}
    result = train_module.training_step(model, X, y, reg)
    for name in names:  # training_step must not change the weights; restore them so the parts use the same ones
        params[name][...] = saved[name]
    if isinstance(result, (tuple, list)) and len(result) == 2:
        loss, grads = result
        shape = "pair"
    else:
        loss, grads, shape = None, None, type(result).__name__ if not isinstance(result, (tuple, list)) \
            else f"tuple of {len(result)}"
    is_dict = isinstance(grads, dict)
    return {"names": names, "param_keys": [str(k) for k in params], "result_kind": shape,
            "loss": loss, "grad_type": type(grads).__name__, "grad_keys": [str(k) for k in grads] if is_dict else None,
            "grads": [grads.get(name) if is_dict else None for name in names],
            "parts": _own_layer_parts(model, params, names, X, y, reg) if with_parts else None}


def training_step_own(module, dims, weights, X, y, reg):
    """training_step(TwoLayerNet(*dims) with ``weights`` loaded by shape, X, y, reg) with the student's model.

    Args:
        module: the student's train module. weights: [W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)].
        X: float64 (N, D). y: int64 (N,). reg: float.
    Returns:
        dict: "names" (matched), "param_keys", "result_kind" ("pair" when a 2-tuple came back), "loss", "grad_type",
        "grad_keys", "grads" (list of 4, None where missing),
        "parts" (the student's own softmax_loss / l2_regularization / backward pieces, or {"error": ...}).
    """
    net_module = importlib.import_module("two_layer_net")
    model = _build(net_module, dims)
    names = _load_by_shape(_parameters(model), weights)
    return _training_step(module, model, names, X, y, reg)


def _answering_layers(answers):
    """A stand-in ``layers`` module whose softmax_loss and l2_regularization return the grader's answers.

    It holds no solution: only the values the grader computed for this one check (the probe model's scores and
    weights), looked up by their arguments. Any other arguments, or any other layer function, raise with a message.
    """
    table = types.ModuleType("layers")
    table.__file__ = os.path.join(os.getcwd(), "layers.py")
    scores, labels = np.asarray(answers["scores"]), np.asarray(answers["y"])

    def softmax_loss(x, y):
        x = np.asarray(x)
        if (x.shape == scores.shape and np.allclose(x, scores, rtol=1e-9, atol=1e-12)
                and np.array_equal(np.asarray(y), labels)):
            return answers["loss"], np.array(answers["dscores"], copy=True)
        raise ValueError("in this check layers.softmax_loss answers only for (model.forward(X_batch)[0], y_batch); "
                         f"training_step called it with scores of shape {x.shape} that are not the model's scores")

    def l2_regularization(w, reg):
        w = np.asarray(w)
        for weight, loss, grad in answers["l2"]:
            if w.shape == weight.shape and np.array_equal(w, weight) and float(reg) == answers["reg"]:
                return loss, np.array(grad, copy=True)
        raise ValueError(f"in this check layers.l2_regularization answers only for the model's parameters and "
                         f"reg = {answers['reg']}; training_step called it with an array of shape {w.shape} and "
                         f"reg = {reg!r}")

    def unavailable(name):
        def function(*args, **kwargs):
            raise RuntimeError(f"layers.{name} is not available while training_step is checked with the probe model")
        function.__name__ = name
        return function

    table.softmax_loss, table.l2_regularization = softmax_loss, l2_regularization
    for name in ("fc_forward", "fc_backward", "relu_forward", "relu_backward", "l2_loss"):
        setattr(table, name, unavailable(name))
    table.__getattr__ = unavailable  # any other name: a function that raises when called
    return table


def training_step_probe(module, weights, X, y, reg, answers):
    """training_step(ProbeModel(*weights), X, y, reg) with the grader's answers standing in for ``layers``.

    Run it as the only call of a fresh process with no module (``module`` is None): it imports ``train`` itself,
    after putting :func:`_answering_layers` in ``sys.modules["layers"]``, so a bug in the student's softmax_loss or
    l2_regularization (graded in 2.5 and 2.6) is not charged again here: only training_step's own logic is checked.

    Args:
        weights: [proj_in (D, H), shift_mid (H,), proj_out (H, C), shift_out (C,)]. X: float64 (N, D). y: int64 (N,).
        answers: {"scores": (N, C) the probe's scores, "y", "loss": float, "dscores": (N, C), "reg": float,
                  "l2": [[weight, loss, grad] for each of the four parameters]}.
    Returns:
        the same dict as :func:`training_step_own` (names: the probe's keys in that order).
    """
    sys.modules["layers"] = _answering_layers(answers)
    train_module = importlib.import_module("train")
    model = ProbeModel(*weights)
    return _training_step(train_module, model, ["proj_in", "shift_mid", "proj_out", "shift_out"], X, y, reg,
                          with_parts=False)


# ----------------------------------------------------------------------------------------------------------------
# checkpoint.pkl


def checkpoint_arrays(module, filename, max_bytes):
    """Unpickle the submitted checkpoint (here, in the sandbox only) and return its arrays in order with their keys.

    Args:
        filename: the checkpoint's file name in the workspace (checkpoint.pkl).
        max_bytes: arrays bigger than this in total (as float64) are sent as float32; more than twice this is refused.
    Returns:
        {"found": False} when the file is absent; else {"found": True, "container": type name, "keys": list of str,
        "arrays": list of float arrays (same order), "skipped": list of str (keys whose values are not number arrays)}.
    """
    path = os.path.join(os.getcwd(), filename)
    if not os.path.isfile(path):
        return {"found": False}
    with open(path, "rb") as handle:
        obj = pickle.load(handle)
    if isinstance(obj, dict):
        items = [(str(k), v) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        items = [(f"[{i}]", v) for i, v in enumerate(obj)]
    else:
        raise TypeError(f"{filename} holds a {type(obj).__name__}; expected a dict of arrays "
                        "(what Classifier.save writes: model.parameters())")
    keys, arrays, skipped = [], [], []
    for key, value in items:
        arr = np.asarray(value) if isinstance(value, (np.ndarray, list, tuple)) else None
        if arr is None or arr.dtype.kind not in "fiu":
            skipped.append(key)
            continue
        keys.append(key)
        arrays.append(arr)
    total = sum(a.size * 8 for a in arrays)
    if total // 2 > max_bytes:
        raise ValueError(f"{filename} holds {total / 2**20:.0f} MB of float64 arrays; a TwoLayerNet checkpoint for "
                         f"this homework is far smaller (at most {2 * max_bytes / 2**20:.0f} MB can be graded)")
    dtype = np.float64 if total <= max_bytes else np.float32
    return {"found": True, "container": type(obj).__name__, "keys": keys,
            "arrays": [a.astype(dtype) for a in arrays], "skipped": skipped}
