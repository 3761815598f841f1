"""Extra-credit autograd scenarios run INSIDE the sandbox, next to the student's ``tensor.py``, ``nn.py`` and
``optim.py`` (plain numpy; no solutions here: these only use the student's framework and return raw values).

Each function is called as ``fn(student_module, *args)`` and returns plain data. The grader calls the very same
functions in its own process with the reference framework to get the expectations, so the two always run the same
scenario; nothing here judges anything.
"""
from __future__ import annotations

import importlib

import numpy as np


def _array(value):
    """A returned gradient or value as a plain array (a Tensor's .data), None kept as None."""
    if value is None:
        return None
    data = getattr(value, "data", value)
    return np.array(data, dtype=np.float64)


def _tensor_module(module):
    """The ``tensor`` module the student's framework uses (``module`` itself when it is tensor.py)."""
    if hasattr(module, "Tensor") and hasattr(module, "cross_entropy"):
        return module
    return importlib.import_module("tensor")


# The graded ops: name -> f(tensor_module, *input_tensors). Constants (labels, indices) are part of the op.
LABELS6 = np.array([0, 3, 1, 1, 2, 0])
ROWS = np.array([0, 1, 1, 3])
COLS = np.array([2, 0, 0, 4])
OPS = {
    "add": lambda t, a, b: a + b,
    "add (scalar on the left)": lambda t, a: 2.5 + a,
    "sub": lambda t, a, b: a - b,
    "sub (scalar on the left)": lambda t, a: 1.5 - a,
    "mul": lambda t, a, b: a * b,
    "mul (scalars both sides)": lambda t, a: 3.0 * a * 2.0,
    "div": lambda t, a, b: a / b,
    "div (scalar on the left)": lambda t, a: 2.0 / a,
    "neg": lambda t, a: -a,
    "matmul": lambda t, a, b: a @ b,
    "pow": lambda t, a: a ** 3,
    "pow (negative fraction)": lambda t, a: a ** -0.5,
    "sum": lambda t, a: a.sum(),
    "sum(axis=1)": lambda t, a: a.sum(axis=1),
    "sum(axis=(0, 2), keepdims=True)": lambda t, a: a.sum(axis=(0, 2), keepdims=True),
    "mean": lambda t, a: a.mean(),
    "mean(axis=0)": lambda t, a: a.mean(axis=0),
    "mean(axis=-1, keepdims=True)": lambda t, a: a.mean(axis=-1, keepdims=True),
    "reshape": lambda t, a: a.reshape(2, 6),
    "transpose": lambda t, a: a.transpose(),
    "transpose(2, 0, 1)": lambda t, a: a.transpose(2, 0, 1),
    "x[rows, cols] (integer arrays, repeated)": lambda t, a: a[ROWS, COLS],
    "exp": lambda t, a: a.exp(),
    "log": lambda t, a: a.log(),
    "relu": lambda t, a: a.relu(),
    "sigmoid": lambda t, a: a.sigmoid(),
    "tanh": lambda t, a: a.tanh(),
    "log_softmax(axis=1)": lambda t, a: a.log_softmax(axis=1),
    "log_softmax(axis=0)": lambda t, a: a.log_softmax(axis=0),
    "cross_entropy": lambda t, a: t.cross_entropy(a, LABELS6),
    "x * x + exp(x) * x (x used three times)": lambda t, a: a * a + a.exp() * a,
    "(a + b) * a - b / (a * a + 1) (a, b reused)": lambda t, a, b: (a + b) * a - b / (a * a + 1.0),
}


def op_value(module, name, arrays):
    """The op's forward value on constant tensors (no gradient needed)."""
    t = _tensor_module(module)
    return _array(OPS[name](t, *[t.Tensor(a) for a in arrays]))


def op_grads(module, name, arrays, grad_out):
    """The gradients of every input after ``op(...).backward(grad_out)``."""
    t = _tensor_module(module)
    inputs = [t.Tensor(a, requires_grad=True) for a in arrays]
    OPS[name](t, *inputs).backward(grad_out)
    return [_array(x.grad) for x in inputs]


def backward_twice(module, x):
    """x.grad after two calls of (x * 3).sum().backward() (grads accumulate, as in PyTorch)."""
    t = _tensor_module(module)
    xt = t.Tensor(x, requires_grad=True)
    (xt * 3.0).sum().backward()
    (xt * 3.0).sum().backward()
    return _array(xt.grad)


def deep_chain(module, x, steps):
    """x.grad of a chain y = y * 1.0001 + 0.001 of ``steps`` steps (2 nodes a step): a recursive walk overflows."""
    t = _tensor_module(module)
    xt = t.Tensor(x, requires_grad=True)
    y = xt
    for _ in range(steps):
        y = y * 1.0001 + 0.001
    y.sum().backward()
    return _array(xt.grad)


def diamond(module, levels):
    """x.grad of w = w * 0.5 + w * 0.5 repeated ``levels`` times: 2**levels paths, a walk per path never ends."""
    t = _tensor_module(module)
    xt = t.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = xt
    for _ in range(levels):
        w = w * 0.5 + w * 0.5
    w.sum().backward()
    return _array(xt.grad)


def no_grad_and_detach(module, x):
    """[requires_grad of x*2 under no_grad, of x.detach(), of x*2 after the block; whether detach copied the data]."""
    t = _tensor_module(module)
    xt = t.Tensor(x, requires_grad=True)
    with t.no_grad():
        inside = xt * 2.0
    d = xt.detach()
    d.data[...] = 0.0
    after = xt * 2.0
    return [bool(inside.requires_grad), bool(d.requires_grad), bool(after.requires_grad),
            bool(np.all(_array(xt) == np.asarray(x)))]


def error_message(module, case):
    """[exception type name or "", its message] of a case that must raise."""
    t = _tensor_module(module)
    try:
        if case == "add (2, 3) + (4, 5)":
            t.Tensor(np.zeros((2, 3))) + t.Tensor(np.zeros((4, 5)))
        elif case == "matmul (2, 3) @ (4, 5)":
            t.Tensor(np.zeros((2, 3))) @ t.Tensor(np.zeros((4, 5)))
        elif case == "backward of a (2, 3) tensor without grad":
            (t.Tensor(np.ones((2, 3)), requires_grad=True) * 2.0).backward()
        else:
            return ["", "unknown case"]
    except Exception as exc:  # the student's error is the answer
        return [type(exc).__name__, str(exc)[:500]]
    return ["", ""]


# ---- nn ---------------------------------------------------------------------------------------------------------

def _set(param, value):
    param.data = np.array(value, dtype=np.float64)


def linear(module, w, b, x, grad_out):
    """Linear with the given weight (in, out) and bias: [out, x.grad, weight.grad, bias.grad, parameter shapes]."""
    t = _tensor_module(module)
    layer = module.Linear(w.shape[0], w.shape[1])
    _set(layer.weight, w)
    _set(layer.bias, b)
    xt = t.Tensor(x, requires_grad=True)
    out = layer(xt)
    out.backward(grad_out)
    shapes = [list(np.shape(getattr(p, "data", p))) for p in layer.parameters()]
    return [_array(out), _array(xt.grad), _array(layer.weight.grad), _array(layer.bias.grad), shapes]


def mlp(module, weights, x, labels):
    """Sequential(Linear, ReLU, Linear, Tanh, Linear, Sigmoid, Linear) with the given weights, cross-entropy loss:
    [loss, the parameters' grads in parameters() order, whether zero_grad() cleared every grad]."""
    t = _tensor_module(module)
    layers = []
    for i, (w, b) in enumerate(weights):
        layer = module.Linear(w.shape[0], w.shape[1])
        _set(layer.weight, w)
        _set(layer.bias, b)
        layers.append(layer)
        if i < len(weights) - 1:
            layers.append([module.ReLU, module.Tanh, module.Sigmoid][i % 3]())
    model = module.Sequential(*layers)
    loss = module.CrossEntropyLoss()(model(t.Tensor(x)), labels)
    loss.backward()
    grads = [_array(p.grad) for p in model.parameters()]
    model.zero_grad()
    cleared = all(p.grad is None or not np.any(_array(p.grad)) for p in model.parameters())
    return [_array(loss), grads, bool(cleared)]


def gelu(module, x, grad_out):
    """[GELU()(x), x.grad after backward(grad_out)]."""
    t = _tensor_module(module)
    xt = t.Tensor(x, requires_grad=True)
    out = module.GELU()(xt)
    out.backward(grad_out)
    return [_array(out), _array(xt.grad)]


def label_smoothing(module, logits, labels, smoothing):
    """[LabelSmoothingCrossEntropy(smoothing)(logits, labels), logits.grad]."""
    t = _tensor_module(module)
    lt = t.Tensor(logits, requires_grad=True)
    loss = module.LabelSmoothingCrossEntropy(smoothing)(lt, labels)
    loss.backward()
    return [_array(loss), _array(lt.grad)]


# ---- optim ------------------------------------------------------------------------------------------------------

class _Param:
    """A stand-in parameter: optimizers only read ``.grad`` and update ``.data`` (the kit's rule)."""

    def __init__(self, data):
        self.data = np.array(data, dtype=np.float64)
        self.grad = None
        self.requires_grad = True


def optimizer_steps(module, name, kwargs, starts, grads):
    """Run optimizer ``name`` (SGD, Adam, AdamW) on parameters ``starts`` with the given gradient of every step
    (grads[step][param]); returns the parameters' values after each step."""
    params = [_Param(s) for s in starts]
    opt = getattr(module, name)(params, **kwargs)
    history = []
    for step in grads:
        for p, g in zip(params, step):
            p.grad = np.array(g, dtype=np.float64)
        opt.step()
        history.append([_array(p.data) for p in params])
    return history


# ---- the student's own tests against the reference and the chaffs (rubric 10.9) ---------------------------------

FRAMEWORK_FILES = ("tensor", "nn", "optim")
_FRAMEWORKS: dict = {}
_LOADED = [False]


def _load_frameworks():
    """Load every ``fw<k>_<file>.pyc`` of the workspace (compiled frameworks, no source) into memory, once, and
    delete the files before any of the student's code runs, so the tests cannot read them back."""
    import importlib.machinery
    import importlib.util
    import os
    import sys
    if _LOADED[0]:
        return
    _LOADED[0] = True
    files = sorted(f for f in os.listdir(".") if f.startswith("fw") and f.endswith(".pyc") and "_" in f)
    saved = {name: sys.modules.get(name) for name in FRAMEWORK_FILES}
    try:
        for key in sorted({f.split("_", 1)[0] for f in files}):
            modules = {}
            try:
                for name in FRAMEWORK_FILES:
                    path = f"{key}_{name}.pyc"
                    loader = importlib.machinery.SourcelessFileLoader(name, path)
                    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
                    module = importlib.util.module_from_spec(spec)
                    sys.modules[name] = module  # the flat name the next file imports
                    loader.exec_module(module)
                    modules[name] = module
            except Exception:  # noqa: BLE001  (a framework that cannot load is reported as unavailable)
                continue
            _FRAMEWORKS[key] = modules
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
        for f in files:
            try:
                os.remove(f)
            except OSError:
                pass


class _Outcomes:
    """pytest plugin: test name -> passed (setup, call and teardown all passed); collection errors counted."""

    def __init__(self):
        self.tests = {}
        self.collect_errors = 0

    def pytest_runtest_logreport(self, report):
        name = report.nodeid.split("::", 1)[-1]
        self.tests[name] = self.tests.get(name, True) and report.outcome == "passed"

    def pytest_collectreport(self, report):
        if report.outcome == "failed":
            self.collect_errors += 1


def run_tests(module, key, test_module="test_autograd"):
    """Run ``test_module``.py with pytest against framework ``key`` (its tensor/nn/optim in sys.modules).

    Returns {"available": bool, "exit": pytest's exit code, "collect_errors": int, "tests": {name: passed}}; nothing
    the tests print is returned.
    """
    import os
    import sys
    _load_frameworks()
    modules = _FRAMEWORKS.get(key)
    if modules is None:
        return {"available": False, "exit": -1, "collect_errors": 0, "tests": {}}
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import pytest
    for name, mod in modules.items():
        sys.modules[name] = mod
    sys.modules.pop(test_module, None)
    plugin = _Outcomes()
    here = os.getcwd()  # the workspace: pytest must not look above it (the sandbox's parent folder is not readable)
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", here, "--confcutdir", here,
                        os.path.join(here, f"{test_module}.py")], plugins=[plugin])
    sys.modules.pop(test_module, None)
    return {"available": True, "exit": int(code), "collect_errors": plugin.collect_errors,
            "tests": {str(k): bool(v) for k, v in plugin.tests.items()}}
