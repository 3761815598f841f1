"""Check smalldata/models.py and smalldata/helpers.py before you hand them in: `python smalldata/check_smalldata.py`
(from the kit's folder, or `python check_smalldata.py` inside smalldata/).

Each check prints `<name>: not implemented` while its code still raises NotImplementedError, else `<name>: ok` or
`<name>: FAILED (why)`. The autograder runs similar checks on its own inputs (and compares the helpers with its own
computations), so passing here is a good sign, not a guarantee.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpers  # noqa: E402
import models  # noqa: E402


def leaf_types(model):
    return [type(m).__name__ for m in model.modules() if not list(m.children())]


def pool_shapes(model, x):
    """(input shape, output shape) of every nn.MaxPool2d call in model(x)."""
    seen = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: seen.append((tuple(inp[0].shape), tuple(out.shape))))
             for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    with torch.no_grad():
        out = model(x)
    for h in hooks:
        h.remove()
    return out, seen


def check_fc_only():
    model = models.FC_only(num_classes=4)
    out = model(torch.zeros(2, 1, 28, 28))
    assert tuple(out.shape) == (2, 4), f"output shape {tuple(out.shape)} for (2, 1, 28, 28), expected (2, 4)"
    assert not any("Conv" in t for t in leaf_types(model)), "FC_only must not have a convolution"


def _one_conv_one_pool(model, x, size):
    types = leaf_types(model)
    assert types.count("Conv2d") == 1, f"{types.count('Conv2d')} nn.Conv2d layers, expected exactly one"
    assert types.count("MaxPool2d") == 1, f"{types.count('MaxPool2d')} nn.MaxPool2d layers, expected exactly one"
    out, pools = pool_shapes(model, x)
    assert pools and pools[0][0][-2:] == (size, size) and pools[0][1][-2:] == (size // 2, size // 2), (
        f"the max-pooling maps {pools[0] if pools else 'nothing'}; it must halve {size} x {size} to "
        f"{size // 2} x {size // 2}")
    return out


def check_grayscale1convolution():
    out = _one_conv_one_pool(models.Grayscale1Convolution(num_classes=3), torch.randn(2, 1, 28, 28), 28)
    assert tuple(out.shape) == (2, 3), f"output shape {tuple(out.shape)}, expected (2, 3)"


def check_activation():
    x = torch.randn(2, 1, 28, 28)
    torch.manual_seed(0)
    relu = models.Grayscale1Convolution(activation=nn.ReLU)
    torch.manual_seed(0)
    tanh = models.Grayscale1Convolution(activation=nn.Tanh)
    with torch.no_grad():
        same = torch.allclose(relu(x), tanh(x))
    assert not same or "Tanh" in leaf_types(tanh), "activation=nn.Tanh builds the same network as nn.ReLU"


def check_cifar_one_conv():
    out = _one_conv_one_pool(models.CifarOneConv(), torch.randn(2, 3, 32, 32), 32)
    assert tuple(out.shape) == (2, 10), f"output shape {tuple(out.shape)}, expected (2, 10)"


def check_class_subset():
    targets = np.random.default_rng(0).integers(0, 10, size=500)
    per = int(min((targets == c).sum() for c in [7, 2, 5]))  # one class taken whole: no luck with replacement
    idx, labels = helpers.class_subset(targets, [7, 2, 5], per, seed=1)
    idx, labels = np.asarray(idx), np.asarray(labels)
    assert idx.shape == (3 * per,) and len(set(idx.tolist())) == 3 * per, \
        f"expected {3 * per} distinct indices ({per} per class, drawn without replacement)"
    assert np.bincount(targets[idx], minlength=10)[[7, 2, 5]].tolist() == [per] * 3, f"not {per} per class"
    assert labels.tolist() == [[7, 2, 5].index(t) for t in targets[idx]], "labels are not remapped to 0, 1, 2"
    again, _ = helpers.class_subset(targets, [7, 2, 5], per, seed=1)
    assert np.array_equal(np.asarray(again), idx), "the same seed must give the same indices"


def _task(n, d, c, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen), torch.randint(0, c, (n,), generator=gen)


def check_train_epochs():
    x, y = _task(32, 6, 3, 0)
    torch.manual_seed(0)
    model = nn.Linear(6, 3)
    losses = helpers.train_epochs(model, DataLoader(TensorDataset(x, y), batch_size=8), 5, 0.5)
    assert len(losses) == 5, f"{len(losses)} losses for 5 epochs"
    assert float(losses[-1]) < float(losses[0]), f"the loss does not go down: {losses}"


def check_accuracy_confusion():
    x, y = _task(40, 6, 4, 1)
    torch.manual_seed(1)
    model = nn.Linear(6, 4)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    with torch.no_grad():
        pred = model(x).argmax(1).numpy()
    acc = helpers.accuracy(model, loader)
    assert abs(float(acc) - float((pred == y.numpy()).mean())) < 1e-6, f"accuracy {acc} (a fraction in [0, 1])"
    counts = np.asarray(helpers.confusion(model, loader, 5))
    want = np.zeros((5, 5), dtype=np.int64)
    np.add.at(want, (y.numpy(), pred), 1)
    assert counts.shape == (5, 5) and np.array_equal(counts, want), "confusion: rows = true, columns = predicted"


CHECKS = [("FC_only", check_fc_only), ("Grayscale1Convolution", check_grayscale1convolution),
          ("Grayscale1Convolution activation", check_activation), ("CifarOneConv", check_cifar_one_conv),
          ("class_subset", check_class_subset), ("train_epochs", check_train_epochs),
          ("accuracy and confusion", check_accuracy_confusion)]


def main() -> int:
    failed = 0
    for name, check in CHECKS:
        try:
            check()
        except NotImplementedError:
            print(f"{name}: not implemented")
            failed += 1
        except Exception as exc:  # noqa: BLE001 -- every failure is reported, the other checks still run
            print(f"{name}: FAILED ({type(exc).__name__}: {exc})")
            failed += 1
        else:
            print(f"{name}: ok")
    print("all checks passed" if not failed else f"{failed} of {len(CHECKS)} checks not passing")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
