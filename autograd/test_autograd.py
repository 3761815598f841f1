"""Your unit tests for the autograd framework (graded: see the README).

Run them from this folder: ``python -m pytest -q test_autograd.py``. The autograder runs this file against a correct
framework, where every test must pass, and against buggy copies of it (a gradient that is not summed back to a
broadcast input's shape, a gradient overwritten instead of accumulated, a wrong derivative, Adam without bias
correction, ...): your points are the share of buggy copies your tests catch (make at least one test fail). Only
pass/fail per test is used; what the tests print is not shown. Keep the tests fast (a few seconds in all), use numpy
only (no torch), and do not read or write files.

The helper ``numeric_grad`` below (central differences) is given.
"""
import numpy as np

from nn import GELU, Linear, LabelSmoothingCrossEntropy, ReLU, Sequential, Sigmoid, Tanh
from optim import SGD, Adam, AdamW
from tensor import Tensor, cross_entropy, no_grad


def numeric_grad(f, x, h=1e-6):
    """Central differences of the scalar function ``f`` (numpy array -> float) at ``x``."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (f(plus) - f(minus)) / (2 * h)
    return grad


def check_grad(op, *arrays, tol=1e-5):
    """Compare the backward of ``op`` (Tensors -> Tensor) with central differences for every input."""
    rng = np.random.default_rng(0)
    out_shape = op(*[Tensor(a) for a in arrays]).shape
    weights = rng.normal(size=out_shape)
    inputs = [Tensor(a, requires_grad=True) for a in arrays]
    op(*inputs).backward(weights)
    for i, x in enumerate(inputs):
        def f(v, i=i):
            values = [Tensor(a) for a in arrays]
            values[i] = Tensor(v)
            return float((op(*values).data * weights).sum())
        expected = numeric_grad(f, arrays[i])
        assert x.grad is not None and x.grad.shape == expected.shape, f"input {i}: grad shape"
        assert np.allclose(x.grad, expected, rtol=tol, atol=tol), f"input {i}: {x.grad} vs {expected}"


def test_add_example():
    check_grad(lambda a, b: a + b, np.ones((2, 3)), np.arange(6.0).reshape(2, 3))


# BEGIN SOLUTION tests
RNG = np.random.default_rng(1)


def rand(*shape, positive=False):
    x = RNG.normal(size=shape)
    return np.abs(x) + 0.5 if positive else x


def test_broadcast_binary_ops():
    check_grad(lambda a, b: a + b, rand(2, 3, 4), rand(3, 1))
    check_grad(lambda a, b: a - b, rand(4), rand(5, 4))
    check_grad(lambda a, b: a * b, rand(5, 1), rand(1, 6))
    check_grad(lambda a, b: a / b, rand(3, 4), rand(4, positive=True))


def test_scalars_both_sides_and_neg():
    check_grad(lambda a: 2.0 + a * 3.0 - 1.0, rand(3))
    check_grad(lambda a: 1.0 - a, rand(3))
    check_grad(lambda a: 2.0 / a, rand(3, positive=True))
    check_grad(lambda a: -a, rand(2, 2))


def test_matmul_and_pow():
    check_grad(lambda a, b: a @ b, rand(3, 5), rand(5, 2))
    check_grad(lambda a: a ** 3, rand(4, positive=True))
    check_grad(lambda a: a ** -0.5, rand(4, positive=True))


def test_reductions():
    check_grad(lambda a: a.sum(), rand(3, 4))
    check_grad(lambda a: a.sum(axis=1), rand(3, 4, 2))
    check_grad(lambda a: a.sum(axis=(0, 2), keepdims=True), rand(3, 4, 2))
    check_grad(lambda a: a.mean(), rand(3, 4))
    check_grad(lambda a: a.mean(axis=0), rand(3, 4))
    check_grad(lambda a: a.mean(axis=-1, keepdims=True), rand(2, 3, 4))


def test_shape_ops_and_indexing():
    check_grad(lambda a: a.reshape(2, 6), rand(3, 4))
    check_grad(lambda a: a.T, rand(3, 4))
    check_grad(lambda a: a.transpose(2, 0, 1), rand(2, 3, 4))
    check_grad(lambda a: a[np.array([0, 1, 1, 3]), np.array([2, 0, 0, 4])], rand(4, 5))


def test_elementwise_functions():
    check_grad(lambda a: a.exp(), rand(3, 4))
    check_grad(lambda a: a.log(), rand(3, 4, positive=True))
    check_grad(lambda a: a.relu(), rand(3, 4) + 0.01)
    check_grad(lambda a: a.sigmoid(), rand(3, 4))
    check_grad(lambda a: a.tanh(), rand(3, 4))
    check_grad(lambda a: a.log_softmax(axis=1), rand(4, 5))
    check_grad(lambda a: a.log_softmax(axis=0), rand(4, 5))
    check_grad(lambda a: cross_entropy(a, np.array([0, 3, 1, 2])), rand(4, 4))


def test_values():
    x = rand(3, 4)
    assert np.allclose(Tensor(x).sigmoid().data, 1 / (1 + np.exp(-x)))
    assert np.allclose(Tensor(x).tanh().data, np.tanh(x))
    assert np.allclose(Tensor(x).log_softmax().data, x - np.log(np.exp(x).sum(axis=1, keepdims=True)))
    loss = cross_entropy(Tensor(x), np.array([0, 1, 2]))
    assert np.isclose(loss.item(), -np.mean((x - np.log(np.exp(x).sum(1, keepdims=True)))[np.arange(3), [0, 1, 2]]))


def test_stability():
    big = Tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    loss = cross_entropy(big, np.array([2]))
    assert np.isclose(loss.item(), 2000.0)
    loss.backward()
    assert np.all(np.isfinite(big.grad))
    assert np.all(np.isfinite(Tensor([-1e4, 1e4]).sigmoid().data))


def test_reused_node_accumulates():
    check_grad(lambda a: a * a + a.exp() * a, rand(3, 3))
    x = Tensor(2.0, requires_grad=True)
    (x + x).backward()
    assert x.grad == 2.0


def test_backward_twice_accumulates_and_zero_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * 3.0).sum().backward()
    assert np.allclose(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_deep_chain_and_diamond():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(1500):  # 3000 nodes: past Python's recursion limit of 1000
        y = y * 1.0 + 0.0
    y.backward()
    assert np.isclose(x.grad, 1.0)
    z = Tensor(1.0, requires_grad=True)
    w = z
    for _ in range(40):
        w = w * 0.5 + w * 0.5
    w.backward()
    assert np.isclose(z.grad, 1.0)


def test_no_grad_and_detach():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        assert not (x * 2.0).requires_grad
    assert (x * 2.0).requires_grad
    assert not x.detach().requires_grad


def test_errors():
    import pytest
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        Tensor(np.zeros((2, 3))) + Tensor(np.zeros((4, 5)))
    with pytest.raises(RuntimeError):
        (Tensor(np.ones(3), requires_grad=True) * 2.0).backward()


def test_modules():
    rng = np.random.default_rng(0)
    model = Sequential(Linear(4, 5, rng=rng), ReLU(), Linear(5, 3, rng=rng), Tanh(), Linear(3, 2, rng=rng),
                       Sigmoid())
    params = model.parameters()
    assert [p.shape for p in params] == [(4, 5), (5,), (5, 3), (3,), (3, 2), (2,)]
    layer = model.modules[0]
    x4 = rand(2, 4)
    assert np.allclose(layer(Tensor(x4)).data, x4 @ layer.weight.data + layer.bias.data)
    x = rand(6, 4)
    w0 = params[0].data.copy()

    def f(v):
        params[0].data = v
        out = model(Tensor(x)).sum().item()
        params[0].data = w0
        return out

    model(Tensor(x)).sum().backward()
    assert np.allclose(params[0].grad, numeric_grad(f, w0), atol=1e-6)
    model.zero_grad()
    assert all(p.grad is None for p in params)


def test_gelu():
    x = rand(4, 3)
    want = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    assert np.allclose(GELU()(Tensor(x)).data, want)
    check_grad(lambda a: GELU()(a), x)


def test_label_smoothing():
    x, y = rand(4, 3), np.array([0, 2, 1, 1])
    assert np.isclose(LabelSmoothingCrossEntropy(0.0)(Tensor(x), y).item(), cross_entropy(Tensor(x), y).item())
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    target = np.full((4, 3), 0.1 / 3)
    target[np.arange(4), y] += 0.9
    assert np.isclose(LabelSmoothingCrossEntropy(0.1)(Tensor(x), y).item(), -(logp * target).sum() / 4)
    check_grad(lambda a: LabelSmoothingCrossEntropy(0.1)(a, y), x)


def _run(opt_cls, steps=3, **kwargs):
    p = Tensor([1.0, -2.0], requires_grad=True)
    opt = opt_cls([p], **kwargs)
    for g in ([0.5, -1.0], [0.2, 0.3], [-0.4, 0.1])[:steps]:
        p.grad = np.array(g)
        opt.step()
    return p.data


def test_sgd_momentum():
    assert np.allclose(_run(SGD, lr=0.1), [1.0 - 0.1 * 0.3, -2.0 - 0.1 * -0.6])
    v1 = np.array([0.5, -1.0])
    v2 = 0.9 * v1 + [0.2, 0.3]
    v3 = 0.9 * v2 + [-0.4, 0.1]
    assert np.allclose(_run(SGD, lr=0.1, momentum=0.9), np.array([1.0, -2.0]) - 0.1 * (v1 + v2 + v3))


def _adam_reference(decoupled=0.0, lr=0.1, b1=0.9, b2=0.999, eps=1e-8):
    p = np.array([1.0, -2.0])
    m = v = np.zeros(2)
    for t, g in enumerate(([0.5, -1.0], [0.2, 0.3], [-0.4, 0.1]), start=1):
        g = np.array(g)
        p = p - lr * decoupled * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return p


def test_adam():
    assert np.allclose(_run(Adam, lr=0.1), _adam_reference())
    assert np.allclose(_run(Adam, steps=1, lr=0.1), [1.0 - 0.1, -2.0 + 0.1])  # first step: lr * sign(g)


def test_adamw():
    assert np.allclose(_run(AdamW, lr=0.1, weight_decay=0.5), _adam_reference(decoupled=0.5))
# END SOLUTION
# BEGIN PROMPT
# # Write your tests here: one test_... function per behaviour (each op's value and gradient, broadcasting,
# # reused tensors, backward called twice, a deep graph, no_grad, the modules and each optimizer, your extras).
# END PROMPT
