"""The reference autograd framework (autograd/): every op's value and gradient against central differences and
against torch.autograd on random shapes, plus the graph rules (accumulation, broadcasting, deep chains, no_grad),
the errors, the modules and the optimizers (step for step against torch.optim)."""
import numpy as np
import pytest
import torch

from autograder.grading import autograd_reference

fw = autograd_reference.load()
T = fw.tensor.Tensor


def _positive(shape, rng):
    return rng.uniform(0.5, 2.0, shape)


def _normal(shape, rng):
    return rng.normal(size=shape)


# name -> (input shapes, input maker, ours(*tensors), torch(*tensors))
OPS = {
    "add": ([(3, 4), (3, 4)], _normal, lambda a, b: a + b, lambda a, b: a + b),
    "add_broadcast": ([(2, 3, 4), (3, 1)], _normal, lambda a, b: a + b, lambda a, b: a + b),
    "add_scalar_left": ([(3, 4)], _normal, lambda a: 2.5 + a, lambda a: 2.5 + a),
    "sub_broadcast": ([(4,), (5, 4)], _normal, lambda a, b: a - b, lambda a, b: a - b),
    "rsub_scalar": ([(3, 2)], _normal, lambda a: 1.0 - a, lambda a: 1.0 - a),
    "mul_broadcast": ([(5, 1), (1, 6)], _normal, lambda a, b: a * b, lambda a, b: a * b),
    "mul_scalar": ([(3,)], _normal, lambda a: 3.0 * a * 2.0, lambda a: 3.0 * a * 2.0),
    "div_broadcast": ([(3, 4), (4,)], _positive, lambda a, b: a / b, lambda a, b: a / b),
    "rdiv_scalar": ([(2, 3)], _positive, lambda a: 2.0 / a, lambda a: 2.0 / a),
    "neg": ([(3, 3)], _normal, lambda a: -a, lambda a: -a),
    "pow": ([(4, 2)], _positive, lambda a: a ** 3, lambda a: a ** 3),
    "pow_fraction": ([(4, 2)], _positive, lambda a: a ** -0.5, lambda a: a ** -0.5),
    "matmul": ([(3, 5), (5, 2)], _normal, lambda a, b: a @ b, lambda a, b: a @ b),
    "sum_all": ([(3, 4)], _normal, lambda a: a.sum(), lambda a: a.sum()),
    "sum_axis": ([(3, 4, 2)], _normal, lambda a: a.sum(axis=1), lambda a: a.sum(dim=1)),
    "sum_keepdims": ([(3, 4, 2)], _normal, lambda a: a.sum(axis=(0, 2), keepdims=True),
                     lambda a: a.sum(dim=(0, 2), keepdim=True)),
    "mean_all": ([(3, 4)], _normal, lambda a: a.mean(), lambda a: a.mean()),
    "mean_axis": ([(3, 4)], _normal, lambda a: a.mean(axis=0), lambda a: a.mean(dim=0)),
    "mean_keepdims": ([(2, 3, 4)], _normal, lambda a: a.mean(axis=-1, keepdims=True),
                      lambda a: a.mean(dim=-1, keepdim=True)),
    "reshape": ([(3, 4)], _normal, lambda a: a.reshape(2, 6) * a.reshape((2, 6)),
                lambda a: a.reshape(2, 6) * a.reshape(2, 6)),
    "transpose": ([(3, 4)], _normal, lambda a: a.T, lambda a: a.T),
    "transpose_axes": ([(2, 3, 4)], _normal, lambda a: a.transpose(2, 0, 1), lambda a: a.permute(2, 0, 1)),
    "index_int_arrays": ([(4, 5)], _normal, lambda a: a[np.array([0, 1, 1, 3]), np.array([2, 0, 0, 4])],
                         lambda a: a[torch.tensor([0, 1, 1, 3]), torch.tensor([2, 0, 0, 4])]),
    "index_rows": ([(4, 3)], _normal, lambda a: a[np.array([3, 0, 3])], lambda a: a[torch.tensor([3, 0, 3])]),
    "exp": ([(3, 4)], _normal, lambda a: a.exp(), lambda a: a.exp()),
    "log": ([(3, 4)], _positive, lambda a: a.log(), lambda a: a.log()),
    "relu": ([(4, 5)], _normal, lambda a: a.relu(), lambda a: a.relu()),
    "sigmoid": ([(4, 5)], _normal, lambda a: a.sigmoid(), lambda a: a.sigmoid()),
    "tanh": ([(4, 5)], _normal, lambda a: a.tanh(), lambda a: a.tanh()),
    "log_softmax": ([(4, 5)], _normal, lambda a: a.log_softmax(axis=1), lambda a: a.log_softmax(dim=1)),
    "log_softmax_axis0": ([(4, 5)], _normal, lambda a: a.log_softmax(axis=0), lambda a: a.log_softmax(dim=0)),
    "cross_entropy": ([(6, 4)], _normal, lambda a: fw.tensor.cross_entropy(a, np.array([0, 3, 1, 1, 2, 0])),
                      lambda a: torch.nn.functional.cross_entropy(a, torch.tensor([0, 3, 1, 1, 2, 0]))),
    "gelu": ([(4, 5)], _normal, lambda a: fw.nn.GELU()(a),
             lambda a: torch.nn.functional.gelu(a, approximate="tanh")),
    "label_smoothing": ([(6, 4)], _normal,
                        lambda a: fw.nn.LabelSmoothingCrossEntropy(0.2)(a, np.array([0, 3, 1, 1, 2, 0])),
                        lambda a: torch.nn.functional.cross_entropy(a, torch.tensor([0, 3, 1, 1, 2, 0]),
                                                                    label_smoothing=0.2)),
    "reused_node": ([(3, 3)], _normal, lambda a: a * a + a.exp() * a, lambda a: a * a + a.exp() * a),
}


def _loss_weights(out_shape, rng):
    return rng.normal(size=out_shape)


def _ours(name, arrays, weights):
    _, _, fn, _ = OPS[name]
    inputs = [T(a, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    (out * weights).sum().backward()
    return out.data, [x.grad for x in inputs]


def _numeric(name, arrays, weights, h=1e-6):
    _, _, fn, _ = OPS[name]

    def f(values):
        return float((fn(*[T(v) for v in values]).data * weights).sum())

    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [v.copy() for v in arrays]
            minus = [v.copy() for v in arrays]
            plus[i][idx] += h
            minus[i][idx] -= h
            g[idx] = (f(plus) - f(minus)) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_gradient_matches_central_differences(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    shapes, make, fn, _ = OPS[name]
    arrays = [make(s, rng) for s in shapes]
    weights = _loss_weights(fn(*[T(a) for a in arrays]).shape, rng)
    _, grads = _ours(name, arrays, weights)
    for got, want in zip(grads, _numeric(name, arrays, weights)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_value_and_gradient_match_torch(name):
    rng = np.random.default_rng(1000 + sum(map(ord, name)))
    shapes, make, _, torch_fn = OPS[name]
    arrays = [make(s, rng) for s in shapes]
    out_ours = OPS[name][2](*[T(a) for a in arrays])
    weights = _loss_weights(out_ours.shape, rng)
    value, grads = _ours(name, arrays, weights)
    inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = torch_fn(*inputs)
    (out * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(value, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for got, x in zip(grads, inputs):
        np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_random_shapes_broadcast_against_torch():
    rng = np.random.default_rng(7)
    for _ in range(20):
        ndim = int(rng.integers(1, 4))
        full = tuple(int(s) for s in rng.integers(1, 5, ndim))
        small = tuple(1 if rng.random() < 0.5 else s for s in full[int(rng.integers(0, ndim)):])
        a, b = rng.normal(size=full), rng.normal(size=small)
        ta, tb = T(a, requires_grad=True), T(b, requires_grad=True)
        ((ta * tb + tb / (ta * ta + 1.0)).tanh().sum()).backward()
        xa, xb = (torch.tensor(v, requires_grad=True) for v in (a, b))
        ((xa * xb + xb / (xa * xa + 1.0)).tanh().sum()).backward()
        np.testing.assert_allclose(ta.grad, xa.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(tb.grad, xb.grad.numpy(), rtol=1e-9, atol=1e-12)
        assert tb.grad.shape == small


def test_deep_chain_needs_no_recursion_and_visits_each_node_once():
    x = T(2.0, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)
    # a diamond repeated: every node reused twice; a traversal visiting nodes more than once blows up exponentially
    z = T(1.0, requires_grad=True)
    w = z
    for _ in range(60):
        w = w * 0.5 + w * 0.5
    w.backward()
    assert z.grad == pytest.approx(1.0)


def test_grads_accumulate_across_backward_calls_and_zero_grad_clears():
    x = T([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_detach_and_no_grad_record_nothing():
    x = T([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad is None
    d.data[0] = 5.0
    assert x.data[0] == 1.0
    with fw.tensor.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y._parents == ()
    assert (x * 2.0).requires_grad


def test_cross_entropy_and_log_softmax_are_stable():
    logits = T([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]], requires_grad=True)
    loss = fw.tensor.cross_entropy(logits, np.array([2, 1]))
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(1000.0)
    loss.backward()
    assert np.all(np.isfinite(logits.grad))
    assert np.all(np.isfinite(T([[1e4, -1e4]]).log_softmax().data))
    assert np.all(np.isfinite(T([-1e4, 1e4]).sigmoid().data))


def test_errors_name_both_shapes_and_non_scalar_backward():
    a, b = T(np.zeros((2, 3)), requires_grad=True), T(np.zeros((4, 5)))
    for op in (lambda: a + b, lambda: a * b, lambda: a - b, lambda: a / b, lambda: a @ b):
        with pytest.raises(ValueError) as err:
            op()
        assert "(2, 3)" in str(err.value) and "(4, 5)" in str(err.value)
    with pytest.raises(RuntimeError, match="shape \\(2, 3\\)"):
        (a * 2.0).backward()
    with pytest.raises(ValueError, match="\\(2, 3\\).*\\(7,\\)|\\(7,\\).*\\(2, 3\\)"):
        (a * 2.0).backward(np.ones(7))
    with pytest.raises(RuntimeError, match="does not require grad"):
        b.sum().backward()


def test_modules_parameters_forward_and_zero_grad():
    rng = np.random.default_rng(0)
    model = fw.nn.Sequential(fw.nn.Linear(4, 8, rng=rng), fw.nn.ReLU(), fw.nn.Linear(8, 6, rng=rng), fw.nn.Tanh(),
                             fw.nn.Linear(6, 3, rng=rng), fw.nn.Sigmoid())
    params = model.parameters()
    assert [p.shape for p in params] == [(4, 8), (8,), (8, 6), (6,), (6, 3), (3,)]
    x = rng.normal(size=(5, 4))
    torch_layers = []
    for module in model.modules:
        if isinstance(module, fw.nn.Linear):
            layer = torch.nn.Linear(*module.weight.shape).double()
            with torch.no_grad():
                layer.weight.copy_(torch.tensor(module.weight.data.T))
                layer.bias.copy_(torch.tensor(module.bias.data))
            torch_layers.append(layer)
        else:
            torch_layers.append({"ReLU": torch.nn.ReLU, "Tanh": torch.nn.Tanh, "Sigmoid": torch.nn.Sigmoid}[
                type(module).__name__]())
    reference = torch.nn.Sequential(*torch_layers)
    out = model(x)
    out.sum().backward()
    want = reference(torch.tensor(x))
    want.sum().backward()
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(params[0].grad, reference[0].weight.grad.numpy().T, rtol=1e-9, atol=1e-12)
    model.zero_grad()
    assert all(p.grad is None for p in params)
    with pytest.raises(ValueError, match="\\(5, 7\\)"):
        model(np.zeros((5, 7)))


def _torch_optimizer_run(ours_cls, ours_kwargs, torch_cls, torch_kwargs, steps=6):
    rng = np.random.default_rng(3)
    start = [rng.normal(size=(3, 2)), rng.normal(size=(2,))]
    targets = [rng.normal(size=(3, 2)), rng.normal(size=(2,))]
    ours = [T(s.copy(), requires_grad=True) for s in start]
    theirs = [torch.tensor(s.copy(), requires_grad=True) for s in start]
    opt_ours, opt_theirs = ours_cls(ours, **ours_kwargs), torch_cls(theirs, **torch_kwargs)
    for _ in range(steps):
        opt_ours.zero_grad()
        opt_theirs.zero_grad()
        sum((((p - t) ** 2) * (p - t).tanh()).sum() for p, t in zip(ours, targets)).backward()
        sum((((p - torch.tensor(t)) ** 2) * (p - torch.tensor(t)).tanh()).sum()
            for p, t in zip(theirs, targets)).backward()
        opt_ours.step()
        opt_theirs.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", ["sgd", "sgd_momentum", "sgd_weight_decay", "adam", "adam_weight_decay", "adamw"])
def test_optimizers_match_torch_step_for_step(case):
    o = fw.optim
    cases = {
        "sgd": (o.SGD, dict(lr=0.1), torch.optim.SGD, dict(lr=0.1)),
        "sgd_momentum": (o.SGD, dict(lr=0.05, momentum=0.9), torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
        "sgd_weight_decay": (o.SGD, dict(lr=0.05, momentum=0.5, weight_decay=0.1), torch.optim.SGD,
                             dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
        "adam": (o.Adam, dict(lr=0.01, betas=(0.8, 0.95)), torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.95))),
        "adam_weight_decay": (o.Adam, dict(lr=0.01, weight_decay=0.1), torch.optim.Adam,
                              dict(lr=0.01, weight_decay=0.1)),
        "adamw": (o.AdamW, dict(lr=0.01, weight_decay=0.3), torch.optim.AdamW, dict(lr=0.01, weight_decay=0.3)),
    }
    _torch_optimizer_run(*cases[case])
