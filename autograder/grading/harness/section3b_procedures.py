"""Sandbox procedures for Section 3b (smalldata: models.py, helpers.py). This file runs INSIDE the sandbox.

Nothing here decides a score: each procedure builds or calls the student's code on the grader's inputs and returns
plain data (type names, shapes, arrays) that the grading process checks (checks/section3b_smalldata.py). The models
the helpers are called on (a flatten + linear layer with the grader's weights) are built here, so the grader can
recompute every expected value itself with numpy.
"""
from __future__ import annotations

import numpy as np

POOL_TYPES = ("MaxPool2d", "AvgPool2d", "AdaptiveMaxPool2d", "AdaptiveAvgPool2d", "LPPool2d", "MaxPool1d",
              "AvgPool1d", "FractionalMaxPool2d")
CONV_TYPES = ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "LazyConv2d")


def _torch():
    import torch  # imported here: other procedures modules must not pay for torch
    torch.set_num_threads(1)
    return torch


def _shape(value):
    return [int(s) for s in value.shape] if hasattr(value, "shape") else None


def architecture(module, class_name: str, kwargs: dict, x: np.ndarray, activation: str = "", seed: int = 0) -> dict:
    """Build ``module.<class_name>(**kwargs)`` (``activation``: the name of a ``torch.nn`` class passed as the
    ``activation`` argument, none when empty) with ``torch.manual_seed(seed)``, run it on ``x`` and report facts.

    Returns:
        {"leaf_types": [type name of every module without children, in order], "output": float64 array or None,
         "output_type": type name of what forward returned, "pools": [[type, input shape, output shape], ...] per
         pooling module call, "convs": [[type, input shape, output shape], ...] per convolution call,
         "ops": [[aten op name, first input shape, output shape], ...] every tensor operation forward ran}
    """
    torch = _torch()
    nn = torch.nn
    kwargs = dict(kwargs)
    if activation:
        kwargs["activation"] = getattr(nn, activation)
    torch.manual_seed(seed)
    model = getattr(module, class_name)(**kwargs)
    if not isinstance(model, nn.Module):
        raise TypeError(f"{class_name}(...) is a {type(model).__name__}, not an nn.Module")
    leaves = [m for m in model.modules() if not list(m.children())]
    pools, convs = [], []
    hooks = []
    for leaf in leaves:
        name = type(leaf).__name__
        target = pools if name in POOL_TYPES else convs if name in CONV_TYPES else None
        if target is not None:
            def hook(mod, inputs, output, target=target, name=name):
                target.append([name, _shape(inputs[0]) if inputs else None, _shape(output)])
            hooks.append(leaf.register_forward_hook(hook))
    model.eval()
    ops = []
    with torch.no_grad(), _OpLog(torch, ops):
        out = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
    for handle in hooks:
        handle.remove()
    output = out.detach().double().numpy() if isinstance(out, torch.Tensor) else None
    return {"leaf_types": [type(m).__name__ for m in leaves], "output": output,
            "output_type": type(out).__name__, "pools": pools, "convs": convs, "ops": ops}


def _OpLog(torch, ops: list):
    """A dispatch mode that notes every tensor operation forward runs, whatever called it (an nn module, a function of
    torch.nn.functional, a tensor method): [aten name, shape of its first tensor input, shape of its output]."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class OpLog(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            first = next((a for a in args if isinstance(a, torch.Tensor)), None)
            result = out[0] if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor) else out
            ops.append([str(func.overloadpacket.__name__), _shape(first), _shape(result)])
            return out
    return OpLog()


def class_subset_cases(module, targets: np.ndarray, classes: list, per_class: int, seeds: list) -> list:
    """``class_subset`` with the targets as a numpy array for each seed, for the first seed once more, then as a list
    and as a torch tensor for the first seed. Returns [[indices, labels] per call], the values as numpy arrays when
    they convert."""
    torch = _torch()
    givens = [targets] * (len(seeds) + 1) + [targets.tolist(), torch.from_numpy(np.asarray(targets))]
    used = list(seeds) + [seeds[0], seeds[0], seeds[0]]
    results = []
    for given, seed in zip(givens, used):
        value = module.class_subset(given, list(classes), int(per_class), int(seed))
        results.append(_arrays(value))
    return results


def _arrays(value):
    if isinstance(value, (tuple, list)):
        return [_arrays(v) for v in value]
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 -- sent back as its type name; the grader says what is wrong
        return type(value).__name__
    return arr if arr.dtype != object else type(value).__name__


def class_subset_raises(module, targets: np.ndarray, classes: list, per_class: int) -> str:
    """The name of the exception ``class_subset`` raises for a class with too few examples ('' when none)."""
    try:
        module.class_subset(targets, list(classes), int(per_class), 0)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 -- the type is the answer
        return type(exc).__name__
    return ""


def _linear_model(torch, weight, bias):
    nn = torch.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(weight.shape[1], weight.shape[0]))
    with torch.no_grad():
        model[1].weight.copy_(torch.from_numpy(np.asarray(weight, dtype=np.float32)))
        model[1].bias.copy_(torch.from_numpy(np.asarray(bias, dtype=np.float32)))
    return model


def _loader(torch, x, y, batch_size):
    from torch.utils.data import DataLoader, TensorDataset
    dataset = TensorDataset(torch.from_numpy(np.asarray(x, dtype=np.float32)), torch.from_numpy(np.asarray(y)))
    return DataLoader(dataset, batch_size=int(batch_size), shuffle=False)


def train_linear(module, weight, bias, x, y, batch_size, epochs, lr, momentum) -> list:
    """``train_epochs`` on a flatten + linear model with the grader's weights and an unshuffled loader.

    Returns [losses as returned (converted to a float64 array when possible), trained weight, trained bias]."""
    torch = _torch()
    model = _linear_model(torch, weight, bias)
    losses = module.train_epochs(model, _loader(torch, x, y, batch_size), int(epochs), float(lr),
                                 momentum=float(momentum))
    layer = model[1]
    try:  # a list of floats (or of one-element tensors), or a 1-D tensor or array
        losses = np.asarray([float(v) for v in losses], dtype=np.float64)
    except Exception:  # noqa: BLE001 -- sent back as it converts; the grader says what is wrong
        losses = _arrays(losses)
    return [losses, layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()]


def accuracy_linear(module, weight, bias, x, y, batch_size):
    """``accuracy(model, loader)`` on a flatten + linear model with the grader's weights (a float when it converts)."""
    torch = _torch()
    acc = module.accuracy(_linear_model(torch, weight, bias), _loader(torch, x, y, batch_size))
    if hasattr(acc, "item"):
        acc = acc.item()
    return acc if isinstance(acc, (int, float)) and not isinstance(acc, bool) else _arrays(acc)


def confusion_linear(module, weight, bias, x, y, batch_size, num_classes):
    """``confusion(model, loader, num_classes)`` on a flatten + linear model with the grader's weights (an array
    when it converts)."""
    torch = _torch()
    return _arrays(module.confusion(_linear_model(torch, weight, bias), _loader(torch, x, y, batch_size),
                                    int(num_classes)))
