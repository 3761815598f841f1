"""Section 3a scenarios run INSIDE the sandbox, next to the student's features.py (no solutions here).

Called by ``run_calls.py`` as ``fn(student_module, *args)``; each returns plain data (arrays, numbers, str, dicts).
Nothing here judges anything: the grading process compares the returned arrays with the reference it computes itself
from the same inputs. torch is imported inside the functions (the harness's other modules must not pay for it).

The probe CNN (:func:`build_probe_cnn`) is also built by the grader's reference run
(``autograder/grading/section3a_reference.py``, a separate trusted process) to compute the expected features: the
grader sends the weights it made as arrays, so both sides hold exactly the same network.
"""
from __future__ import annotations

import numpy as np

PROBE_INPUT = (3, 8, 8)  # channels, height, width of the probe CNN's images
# The probe CNN's state dict: name -> shape (numpy-only, so the grading process can make weights without torch;
# tests/test_section3a.py checks it against build_probe_cnn()).
PROBE_STATE_SHAPES = {
    "stem.0.weight": (6, 3, 3, 3), "stem.0.bias": (6,), "stem.1.weight": (6,), "stem.1.bias": (6,),
    "stem.1.running_mean": (6,), "stem.1.running_var": (6,), "stem.1.num_batches_tracked": (),
    "block.0.weight": (8, 6, 3, 3), "block.0.bias": (8,), "head.0.weight": (12, 128), "head.0.bias": (12,),
    "head.2.weight": (4, 12), "head.2.bias": (4,),
}


def build_probe_cnn():
    """A small CNN with named layers (stem.0 conv, stem.1 batch norm, stem.2 ReLU, block.0 conv, block.1 ReLU,
    block.2 max-pool, drop dropout, head.0 linear, head.1 ReLU, head.2 linear) for (B, 3, 8, 8) images.

    The batch norm and the dropout make a forward pass in training mode differ from one in eval mode.
    """
    import torch
    from torch import nn

    class ProbeCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU())
            self.block = nn.Sequential(nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.drop = nn.Dropout(0.5)
            self.head = nn.Sequential(nn.Linear(8 * 4 * 4, 12), nn.ReLU(), nn.Linear(12, 4))

        def forward(self, x):
            return self.head(self.drop(torch.flatten(self.block(self.stem(x)), 1)))

    return ProbeCNN()


def load_weights(model, weights):
    """Copy ``weights`` (name -> array, the names of ``model.state_dict()``) into ``model``."""
    import torch
    state = {name: torch.as_tensor(np.asarray(value)) for name, value in weights.items()}
    model.load_state_dict(state, strict=True)
    return model


def _as_data(value):
    """A returned array as it is (a numpy array); anything else as a str naming its type, for the grader."""
    if isinstance(value, np.ndarray) and not value.dtype.hasobject:
        return value
    kind = type(value)
    return f"<{kind.__module__}.{kind.__qualname__}>"


AFTER_SEED, AFTER_IMAGES = 1, 4


def after_output(model, images):
    """The probe CNN's output on the first AFTER_IMAGES images with dropout's draw seeded: what ``extract`` sends
    back after the student's call, and what the grader computes for a model in training mode."""
    import torch
    torch.manual_seed(AFTER_SEED)
    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(images[:AFTER_IMAGES], dtype=np.float32))).double().numpy()


def extract(module, weights, images, labels, layer_name, batch_size, channels=None, pool=None):
    """The student's extract_features on the probe CNN (with ``weights``) over ``images``/``labels``.

    The model is handed over in training mode; the harness records, at every forward pass of the model, whether it
    ran in training mode and with gradients enabled, and, after the call, the model's mode and the hooks left on it.

    Args:
        weights: name -> array, the probe CNN's state dict (made by the grader).
        images: float32 (N, 3, 8, 8). labels: int64 (N,).
        layer_name: the layer to extract. batch_size: the DataLoader's batch size.
        channels, pool: passed on when not None.
    Returns:
        {"features": array or a str naming the returned type, "labels": the same, "returned": str (what the call
        returned, when it was not a pair), "training_during": [bool per forward pass], "grad_during": [bool ...],
        "training_after": bool, "hooks_left": int, "after": float64 (AFTER_IMAGES, classes), the model's output after
        the call (:func:`after_output`)}.
    """
    import torch

    torch.manual_seed(0)  # dropout in training mode draws from it: the same draw for everyone
    model = load_weights(build_probe_cnn(), weights).train()
    seen_training, seen_grad = [], []

    def watch(mod, _inputs):
        seen_training.append(bool(mod.training))
        seen_grad.append(bool(torch.is_grad_enabled()))

    watcher = model.register_forward_pre_hook(watch)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)),
                                             torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64)))
    loader = torch.utils.data.DataLoader(dataset, batch_size=int(batch_size), shuffle=False)
    kwargs = {}
    if channels is not None:
        kwargs["channels"] = list(channels)
    if pool is not None:
        kwargs["pool"] = pool
    result = module.extract_features(model, layer_name, loader, **kwargs)
    watcher.remove()
    hooks_left = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    # What the model computes after the call, dropout's draw fixed: the grader compares it with the model in the
    # training mode it was handed over in (a value it recomputes, not a report).
    after = after_output(model, images)
    report = {"training_during": seen_training, "grad_during": seen_grad, "training_after": bool(model.training),
              "hooks_left": int(hooks_left), "returned": "", "after": after}
    if isinstance(result, (tuple, list)) and len(result) == 2:
        report["features"], report["labels"] = _as_data(result[0]), _as_data(result[1])
    else:
        kind = type(result)
        size = f" of {len(result)} values" if isinstance(result, (tuple, list)) else ""
        report["returned"] = f"a {kind.__qualname__}{size}"
        report["features"] = report["labels"] = "<nothing>"
    return report


VARIANCE_KEYS = ("classes", "counts", "intra", "within", "between", "total", "ratio")


def variances(module, features, labels):
    """The student's class_variances(features, labels), each expected key converted to a float64/int64 array when
    it holds numbers (a torch tensor or a Python float included).

    Returns:
        {"type": the returned type's name, "missing": [keys not returned], key: array or a str naming the type}.
    """
    result = module.class_variances(features, labels)
    report = {"type": type(result).__qualname__, "missing": []}
    if not isinstance(result, dict):
        return report
    for key in VARIANCE_KEYS:
        if key not in result:
            report["missing"].append(key)
            continue
        value = result[key]
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu().numpy()
        try:
            arr = np.asarray(value)
        except Exception:  # noqa: BLE001 -- anything that is not numbers is reported by its type
            arr = None
        if arr is None or arr.dtype.hasobject or arr.dtype.kind not in "biuf":
            report[key] = _as_data(value) if not isinstance(value, np.ndarray) else f"<array of {arr.dtype}>"
        else:
            report[key] = arr.astype(np.int64 if arr.dtype.kind in "biu" else np.float64)
    return report
