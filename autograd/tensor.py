"""Extra credit: a small reverse-mode autograd framework in numpy (numpy only, as in Section 1).

A :class:`Tensor` wraps a float numpy array (``.data``). Every operation on tensors that require gradients records
its inputs (``_parents``) and a function (``_grad_fn``) that maps the gradient of the output to the gradients of
the inputs, so ``loss.backward()`` can walk the graph from ``loss`` back to the leaves.

Conventions (the grader relies on them):

* ``_grad_fn(g)`` takes the gradient ``g`` (an array of the output's shape) and returns a tuple with one gradient
  per parent, each of that parent's shape (broadcasting summed back with :func:`unbroadcast`).
* ``backward()`` visits every node once, in reverse topological order, built iteratively (no recursion: a chain of
  thousands of ops must work), and *adds* each node's gradient into its ``.grad`` (a tensor used twice gets the sum;
  calling ``backward()`` twice without ``zero_grad()`` adds up, as in PyTorch).
* Inside ``with no_grad():`` results record nothing (``requires_grad`` False, no parents).

Check your framework from this folder with ``python -m pytest -q test_autograd.py`` (your own tests, which are
graded too: see the README).
"""
import numpy as np

_GRAD_ENABLED = [True]


class no_grad:
    """Context manager: operations inside record no graph (for evaluation and optimizer updates)."""

    def __enter__(self):
        self._previous = _GRAD_ENABLED[0]
        _GRAD_ENABLED[0] = False
        return self

    def __exit__(self, *exc):
        _GRAD_ENABLED[0] = self._previous
        return False


def is_grad_enabled():
    return _GRAD_ENABLED[0]


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes numpy broadcasting added or stretched, so it gets ``shape``.

    Example: ``x`` of shape (3, 1) added to ``y`` of shape (2, 3, 4) gives (2, 3, 4); the gradient for ``x`` is
    ``unbroadcast(g, (3, 1))``: summed over axis 0 (added) and axis 2 (stretched from 1), shape (3, 1).
    """
    # BEGIN SOLUTION
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad.reshape(shape)
    # END SOLUTION


def _broadcast_shape(op, a, b):
    """The shape of ``a op b``, or a ValueError that names the op and both shapes."""
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def as_tensor(value):
    """``value`` itself if it is a Tensor, else a constant Tensor (requires_grad False) holding it."""
    return value if isinstance(value, Tensor) else Tensor(value)


class Tensor:
    """A float64 numpy array with an optional gradient and the graph that produced it."""

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = np.array(data, dtype=np.float64)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._parents = ()
        self._grad_fn = None
        self._op = ""

    # ---- plumbing (given) ----
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.data!r}{flag})"

    def numpy(self):
        return self.data

    def item(self):
        return float(self.data)

    def detach(self):
        """A new Tensor with the same values, cut from the graph (requires_grad False)."""
        return Tensor(self.data.copy())

    def zero_grad(self):
        self.grad = None

    @staticmethod
    def _result(data, parents, grad_fn, op):
        """The output Tensor of an op: it records ``parents`` and ``grad_fn`` when one of them requires grad."""
        out = Tensor(data)
        if _GRAD_ENABLED[0] and any(p.requires_grad for p in parents):
            out.requires_grad = True
            out._parents = tuple(parents)
            out._grad_fn = grad_fn
            out._op = op
        return out

    # ---- backward ----
    def backward(self, grad=None):
        """Compute the gradient of this tensor with respect to every tensor of its graph that requires grad.

        ``grad`` is the gradient of the final result with respect to this tensor (its shape); it may be left out
        only when this tensor holds one value (then it is 1). Raises RuntimeError when this tensor does not require
        grad, or when it has more than one value and no ``grad`` is given.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (no input has requires_grad=True, "
                               "or it was computed under no_grad)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: the tensor has shape {self.shape}, not a single value: pass its "
                                   f"gradient, backward(grad) with grad of shape {self.shape}")
            grad = np.ones_like(self.data)
        grad = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=np.float64)
        if grad.shape != self.shape:
            raise ValueError(f"backward: grad has shape {grad.shape}, the tensor has shape {self.shape}")
        # BEGIN SOLUTION
        # Topological order, iteratively (a stack of (node, children done?)): parents before children.
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for parent in node._parents:
                if parent.requires_grad and id(parent) not in seen:
                    stack.append((parent, False))
        grads = {id(self): grad}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            node.grad = g.copy() if node.grad is None else node.grad + g
            if node._grad_fn is None:
                continue
            for parent, pg in zip(node._parents, node._grad_fn(g)):
                if not parent.requires_grad or pg is None:
                    continue
                pg = np.asarray(pg, dtype=np.float64)
                grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg
        # END SOLUTION

    # ---- elementwise arithmetic (broadcasting, scalars on either side) ----
    def __add__(self, other):
        other = as_tensor(other)
        _broadcast_shape("add", self, other)
        a, b = self, other
        # BEGIN SOLUTION
        data = a.data + b.data

        def grad_fn(g):
            return unbroadcast(g, a.shape), unbroadcast(g, b.shape)
        # END SOLUTION
        return Tensor._result(data, (a, b), grad_fn, "add")

    def __radd__(self, other):
        return as_tensor(other) + self

    def __sub__(self, other):
        other = as_tensor(other)
        _broadcast_shape("sub", self, other)
        a, b = self, other
        # BEGIN SOLUTION
        data = a.data - b.data

        def grad_fn(g):
            return unbroadcast(g, a.shape), unbroadcast(-g, b.shape)
        # END SOLUTION
        return Tensor._result(data, (a, b), grad_fn, "sub")

    def __rsub__(self, other):
        return as_tensor(other) - self

    def __mul__(self, other):
        other = as_tensor(other)
        _broadcast_shape("mul", self, other)
        a, b = self, other
        # BEGIN SOLUTION
        data = a.data * b.data

        def grad_fn(g):
            return unbroadcast(g * b.data, a.shape), unbroadcast(g * a.data, b.shape)
        # END SOLUTION
        return Tensor._result(data, (a, b), grad_fn, "mul")

    def __rmul__(self, other):
        return as_tensor(other) * self

    def __truediv__(self, other):
        other = as_tensor(other)
        _broadcast_shape("div", self, other)
        a, b = self, other
        # BEGIN SOLUTION
        data = a.data / b.data

        def grad_fn(g):
            return unbroadcast(g / b.data, a.shape), unbroadcast(-g * a.data / (b.data * b.data), b.shape)
        # END SOLUTION
        return Tensor._result(data, (a, b), grad_fn, "div")

    def __rtruediv__(self, other):
        return as_tensor(other) / self

    def __neg__(self):
        a = self
        # BEGIN SOLUTION
        data = -a.data

        def grad_fn(g):
            return (-g,)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "neg")

    def __pow__(self, exponent):
        """``x ** c`` for a constant number ``c`` (not a Tensor)."""
        if isinstance(exponent, Tensor):
            raise TypeError("pow: the exponent must be a number, not a Tensor")
        c = float(exponent)
        a = self
        # BEGIN SOLUTION
        data = a.data ** c

        def grad_fn(g):
            return (g * c * a.data ** (c - 1),)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "pow")

    # ---- matrix product ----
    def __matmul__(self, other):
        """Matrix product of 2-D tensors (N, K) @ (K, M) -> (N, M)."""
        other = as_tensor(other)
        a, b = self, other
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match: need (N, K) @ (K, M)")
        # BEGIN SOLUTION
        data = a.data @ b.data

        def grad_fn(g):
            return g @ b.data.T, a.data.T @ g
        # END SOLUTION
        return Tensor._result(data, (a, b), grad_fn, "matmul")

    def __rmatmul__(self, other):
        return as_tensor(other) @ self

    # ---- reductions ----
    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (None: all; an int or a tuple of ints), keeping the reduced axes when ``keepdims``."""
        a = self
        # BEGIN SOLUTION
        data = a.data.sum(axis=axis, keepdims=keepdims)

        def grad_fn(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, a.shape).copy(),)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "sum")

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis`` (None: all; an int or a tuple of ints), keeping the reduced axes when ``keepdims``."""
        a = self
        # BEGIN SOLUTION
        data = a.data.mean(axis=axis, keepdims=keepdims)
        count = a.data.size / max(data.size, 1) if a.data.size else 1.0

        def grad_fn(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, a.shape) / count,)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "mean")

    # ---- shape ----
    def reshape(self, *shape):
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; -1 allowed once."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        a = self
        try:
            data = a.data.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape shape {a.shape} ({a.size} values) into {shape}") from None
        # BEGIN SOLUTION

        def grad_fn(g):
            return (g.reshape(a.shape),)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "reshape")

    def transpose(self, *axes):
        """Permute the axes (none given: reverse them, so a matrix is transposed)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        axes = tuple(axes) if axes else tuple(reversed(range(self.ndim)))
        a = self
        # BEGIN SOLUTION
        data = a.data.transpose(axes)
        inverse = tuple(np.argsort(axes))

        def grad_fn(g):
            return (g.transpose(inverse),)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "transpose")

    @property
    def T(self):
        return self.transpose()

    def __getitem__(self, index):
        """Indexing as numpy does: ints, slices and integer arrays (``x[np.arange(N), labels]``)."""
        if isinstance(index, Tensor):
            index = index.data.astype(np.int64)
        elif isinstance(index, tuple):
            index = tuple(i.data.astype(np.int64) if isinstance(i, Tensor) else i for i in index)
        a = self
        # BEGIN SOLUTION
        data = a.data[index]

        def grad_fn(g):
            out = np.zeros_like(a.data)
            np.add.at(out, index, g)  # a repeated index gets each of its gradients
            return (out,)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "getitem")

    # ---- elementwise functions ----
    def exp(self):
        a = self
        # BEGIN SOLUTION
        data = np.exp(a.data)

        def grad_fn(g):
            return (g * data,)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "exp")

    def log(self):
        a = self
        # BEGIN SOLUTION
        data = np.log(a.data)

        def grad_fn(g):
            return (g / a.data,)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "log")

    def relu(self):
        a = self
        # BEGIN SOLUTION
        data = np.maximum(a.data, 0.0)

        def grad_fn(g):
            return (g * (a.data > 0),)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "relu")

    def sigmoid(self):
        """1 / (1 + exp(-x)), without overflow for large |x|."""
        a = self
        # BEGIN SOLUTION
        e = np.exp(-np.abs(a.data))
        data = np.where(a.data >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

        def grad_fn(g):
            return (g * data * (1.0 - data),)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "sigmoid")

    def tanh(self):
        a = self
        # BEGIN SOLUTION
        data = np.tanh(a.data)

        def grad_fn(g):
            return (g * (1.0 - data * data),)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "tanh")

    def log_softmax(self, axis=-1):
        """log(softmax(x)) along ``axis``, stable for large values (no overflow, no log(0))."""
        a = self
        # BEGIN SOLUTION
        shifted = a.data - a.data.max(axis=axis, keepdims=True)
        data = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

        def grad_fn(g):
            return (g - np.exp(data) * g.sum(axis=axis, keepdims=True),)
        # END SOLUTION
        return Tensor._result(data, (a,), grad_fn, "log_softmax")

    def softmax(self, axis=-1):
        return self.log_softmax(axis=axis).exp()


def cross_entropy(logits, targets):
    """Mean softmax cross-entropy of ``logits`` (N, C) against integer class labels ``targets`` (N,), stable.

    Returns a Tensor holding one value; its gradient with respect to the logits is (softmax - one_hot) / N.
    """
    logits = as_tensor(logits)
    labels = np.asarray(targets.data if isinstance(targets, Tensor) else targets).astype(np.int64)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"cross_entropy: logits have shape {logits.shape} and targets {labels.shape}: "
                         f"need (N, C) and (N,)")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(f"cross_entropy: targets must be in 0..{logits.shape[1] - 1}")
    a = logits
    # BEGIN SOLUTION
    n = a.shape[0]
    shifted = a.data - a.data.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    data = -log_probs[np.arange(n), labels].mean()

    def grad_fn(g):
        d = np.exp(log_probs)
        d[np.arange(n), labels] -= 1.0
        return (g * d / n,)
    # END SOLUTION
    return Tensor._result(data, (a,), grad_fn, "cross_entropy")


def tensor(data, requires_grad=False):
    return Tensor(data, requires_grad=requires_grad)
