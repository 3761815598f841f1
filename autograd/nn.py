"""Extra credit: modules built on :mod:`tensor` (numpy only).

A :class:`Module` finds its parameters by itself: every attribute that is a Tensor with ``requires_grad`` and every
attribute that is a Module (or a list of Modules), in the order they were assigned. ``model(x)`` calls
``model.forward(x)``.
"""
import numpy as np

from tensor import Tensor, as_tensor, cross_entropy


class Module:
    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def parameters(self):
        """Every parameter of this module and its submodules, each once, in assignment order."""
        out, seen = [], set()
        for value in vars(self).values():
            found = []
            if isinstance(value, Tensor) and value.requires_grad:
                found = [value]
            elif isinstance(value, Module):
                found = value.parameters()
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, Module):
                        found.extend(item.parameters())
                    elif isinstance(item, Tensor) and item.requires_grad:
                        found.append(item)
            for p in found:
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
        return out

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None


class Linear(Module):
    """out = x @ weight + bias, weight (in_features, out_features), bias (out_features,).

    Initialised as PyTorch does: uniform in [-1/sqrt(in_features), 1/sqrt(in_features)], from ``rng`` (a numpy
    Generator) or a fresh default generator.
    """

    def __init__(self, in_features, out_features, bias=True, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Tensor(rng.uniform(-bound, bound, (in_features, out_features)), requires_grad=True)
        self.bias = Tensor(rng.uniform(-bound, bound, (out_features,)), requires_grad=True) if bias else None

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.weight.shape[0]:
            raise ValueError(f"Linear: input has shape {x.shape}, weight has shape {self.weight.shape}: "
                             f"need (N, {self.weight.shape[0]})")
        # BEGIN SOLUTION
        out = x @ self.weight
        return out + self.bias if self.bias is not None else out
        # END SOLUTION


class Sequential(Module):
    def __init__(self, *modules):
        self.modules = list(modules)

    def forward(self, x):
        # BEGIN SOLUTION
        for module in self.modules:
            x = module(x)
        return x
        # END SOLUTION


class ReLU(Module):
    def forward(self, x):
        return as_tensor(x).relu()


class Sigmoid(Module):
    def forward(self, x):
        return as_tensor(x).sigmoid()


class Tanh(Module):
    def forward(self, x):
        return as_tensor(x).tanh()


class GELU(Module):
    """Extra: GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), from Tensor ops."""

    def forward(self, x):
        x = as_tensor(x)
        # BEGIN SOLUTION
        inner = (x + (x ** 3) * 0.044715) * float(np.sqrt(2.0 / np.pi))
        return x * 0.5 * (inner.tanh() + 1.0)
        # END SOLUTION


class CrossEntropyLoss(Module):
    def forward(self, logits, targets):
        return cross_entropy(logits, targets)


class LabelSmoothingCrossEntropy(Module):
    """Extra: cross-entropy against smoothed targets (1 - smoothing) one_hot + smoothing / C, mean over the batch.

    ``smoothing=0`` is the plain cross-entropy.
    """

    def __init__(self, smoothing=0.1):
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"LabelSmoothingCrossEntropy: smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = float(smoothing)

    def forward(self, logits, targets):
        logits = as_tensor(logits)
        labels = np.asarray(targets.data if isinstance(targets, Tensor) else targets).astype(np.int64)
        if logits.ndim != 2 or labels.shape != (logits.shape[0],):
            raise ValueError(f"LabelSmoothingCrossEntropy: logits have shape {logits.shape} and targets "
                             f"{labels.shape}: need (N, C) and (N,)")
        # BEGIN SOLUTION
        n, c = logits.shape
        target = np.full((n, c), self.smoothing / c)
        target[np.arange(n), labels] += 1.0 - self.smoothing
        return -(logits.log_softmax(axis=1) * target).sum() / n
        # END SOLUTION
