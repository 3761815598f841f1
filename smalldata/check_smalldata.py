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
    picked = np.bincount(targets[idx], minlength=10)
    got = {c: int(picked[c]) for c in [7, 2, 5]}
    others = int(idx.size - sum(got.values()))
    assert idx.shape == (3 * per,) and got == {7: per, 2: per, 5: per} and not others, (
        f"class_subset(500 targets, classes=[7, 2, 5], per_class={per}) returned {idx.size} indices, per class "
        f"{got}{f' and {others} of other classes' if others else ''}; expected {per} of each class (sample each "
        "class separately)")
    distinct = len(set(idx.tolist()))
    assert distinct == idx.size, f"{idx.size} indices but only {distinct} distinct: draw without replacement"
    want = [[7, 2, 5].index(t) for t in targets[idx]]
    assert labels.tolist() == want, (f"labels {labels[:6].tolist()}... for targets {targets[idx][:6].tolist()}...; "
                                     f"expected the remapped {want[:6]}... (classes.index(target))")
    again, _ = helpers.class_subset(targets, [7, 2, 5], per, seed=1)
    assert np.array_equal(np.asarray(again), idx), ("called twice with seed=1 it gave different indices: draw with "
                                                    "np.random.default_rng(seed), not the global random state")
    other, _ = helpers.class_subset(targets, [7, 2, 5], per, seed=2)
    assert not np.array_equal(np.asarray(other), idx), "seeds 1 and 2 give the same indices: use `seed`"
    for kind, given in (("a list", targets.tolist()), ("a torch tensor", torch.from_numpy(targets))):
        same, _ = helpers.class_subset(given, [7, 2, 5], per, seed=1)
        same = same.numpy() if hasattr(same, "numpy") else np.asarray(same)
        assert np.array_equal(same, idx), (f"targets given as {kind} give other indices than a numpy array with the "
                                           "same seed (convert with np.asarray first)")
    few = np.array([1] * 10 + [9] * 2)
    try:
        helpers.class_subset(few, [1, 9], 4, seed=0)
    except ValueError:
        pass
    else:
        raise AssertionError("per_class=4 with only 2 examples of class 9: expected a ValueError")


def _task(n, d, c, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen), torch.randint(0, c, (n,), generator=gen)


def _plain_sgd(model, loader, epochs, lr, momentum):
    """What train_epochs must do to the weights: one SGD step per batch on the cross-entropy of that batch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()


def check_train_epochs():
    x, y = _task(32, 6, 3, 0)
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    torch.manual_seed(0)
    model = nn.Linear(6, 3)
    torch.manual_seed(0)
    twin = nn.Linear(6, 3)
    losses = helpers.train_epochs(model, loader, 5, 0.5, momentum=0.9)
    assert len(losses) == 5, f"{len(losses)} losses for 5 epochs"
    _plain_sgd(twin, loader, 5, 0.5, 0.9)
    diff = float((model.weight.detach() - twin.weight.detach()).abs().max())
    assert diff < 1e-5, (f"after 5 epochs (lr 0.5, momentum 0.9, 4 batches of 8) the weights differ from plain SGD by "
                         f"up to {diff:.3g}: one optimizer for the run, zero_grad, backward and step for every batch")
    torch.manual_seed(0)
    fresh = nn.Linear(6, 3)
    with torch.no_grad():
        first = float(sum(nn.functional.cross_entropy(fresh(xb), yb) * len(yb) for xb, yb in loader) / len(y))
    assert abs(float(losses[0]) - first) < 0.15, (
        f"losses[0] = {float(losses[0]):.4f}; the untrained model's mean loss over the epoch is {first:.4f}: losses[e] "
        "is the mean of each batch's loss taken before its step, weighted by the batch size")


def check_accuracy_confusion():
    x, y = _task(40, 6, 4, 1)
    torch.manual_seed(1)
    model = nn.Linear(6, 4)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    with torch.no_grad():
        pred = model(x).argmax(1).numpy()
    acc = helpers.accuracy(model, loader)
    want_acc = float((pred == y.numpy()).mean())
    assert abs(float(acc) - want_acc) < 1e-6, (
        f"accuracy {float(acc):.6g}, expected {want_acc:.6g}" + (" (a fraction in [0, 1], not a percentage)"
                                                                 if abs(float(acc) - 100 * want_acc) < 1e-4 else ""))
    counts = np.asarray(helpers.confusion(model, loader, 5))
    want = np.zeros((5, 5), dtype=np.int64)
    np.add.at(want, (y.numpy(), pred), 1)
    if counts.shape == (5, 5) and not np.array_equal(counts, want) and np.array_equal(counts.T, want):
        raise AssertionError("confusion is the transpose of the expected matrix: counts[true, predicted], the true "
                             "class indexes the row")
    assert counts.shape == (5, 5) and np.array_equal(counts, want), (
        f"confusion(num_classes=5) {counts.shape} differs from the expected counts[true, predicted] (5, 5):\n"
        f"got\n{counts}\nexpected\n{want}")


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
