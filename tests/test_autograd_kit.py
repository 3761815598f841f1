"""The autograd kit files (autograd/): the generated stubs raise NotImplementedError naming what to write, the
given plumbing still works in the stubs, and the files import numpy only (the Section 1 rule)."""

import numpy as np
import pytest

from autograder import paths
from autograder.build import markers
from autograder.grading import autograd_reference
from autograder.grading.student_code import static_imports

KIT = paths.KIT / "autograd"
FILES = ("tensor.py", "nn.py", "optim.py")


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("autograd-stubs")
    for name in FILES:
        (folder / name).write_text(markers.strip_python((KIT / name).read_text(), name))
    return autograd_reference.load(folder)


def test_kit_files_import_numpy_only():
    for name in FILES:
        assert static_imports(KIT / name) <= {"numpy", "tensor"}, name


@pytest.mark.parametrize("name, op", [
    ("Tensor.__add__", lambda t, a, b: a + b), ("Tensor.__sub__", lambda t, a, b: a - b),
    ("Tensor.__mul__", lambda t, a, b: 2.0 * a), ("Tensor.__truediv__", lambda t, a, b: a / b),
    ("Tensor.__neg__", lambda t, a, b: -a), ("Tensor.__pow__", lambda t, a, b: a ** 2),
    ("Tensor.__matmul__", lambda t, a, b: a @ t.Tensor(np.ones((3, 2)))), ("Tensor.sum", lambda t, a, b: a.sum()),
    ("Tensor.mean", lambda t, a, b: a.mean(axis=0)), ("Tensor.reshape", lambda t, a, b: a.reshape(6)),
    ("Tensor.transpose", lambda t, a, b: a.T), ("Tensor.__getitem__", lambda t, a, b: a[np.array([0, 1])]),
    ("Tensor.exp", lambda t, a, b: a.exp()), ("Tensor.log", lambda t, a, b: a.log()),
    ("Tensor.relu", lambda t, a, b: a.relu()), ("Tensor.sigmoid", lambda t, a, b: a.sigmoid()),
    ("Tensor.tanh", lambda t, a, b: a.tanh()), ("Tensor.log_softmax", lambda t, a, b: a.log_softmax()),
    ("cross_entropy", lambda t, a, b: t.cross_entropy(a, np.array([0, 1]))),
    ("unbroadcast", lambda t, a, b: t.unbroadcast(np.ones((2, 3)), (3,))),
])
def test_stub_ops_raise_not_implemented_naming_the_op(stubs, name, op):
    t = stubs.tensor
    a, b = t.Tensor(np.ones((2, 3)), requires_grad=True), t.Tensor(np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match=f"{name}: not implemented yet"):
        op(t, a, b)


def test_stub_plumbing_works_and_backward_raises(stubs):
    t = stubs.tensor
    x = t.Tensor([1.0, 2.0], requires_grad=True)
    assert x.shape == (2,) and x.detach().requires_grad is False
    with t.no_grad():
        assert not t.is_grad_enabled()
    assert t.is_grad_enabled()
    with pytest.raises(NotImplementedError, match="Tensor.backward: not implemented yet"):
        t.Tensor(1.0, requires_grad=True).backward()
    with pytest.raises(RuntimeError, match="shape \\(2,\\)"):
        x.backward()


def test_stub_modules_and_optimizers_raise(stubs):
    nn, optim, t = stubs.nn, stubs.optim, stubs.tensor
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    assert [p.shape for p in layer.parameters()] == [(3, 2), (2,)]
    with pytest.raises(NotImplementedError, match="Linear.forward"):
        layer(np.ones((1, 3)))
    with pytest.raises(NotImplementedError, match="Sequential.forward"):
        nn.Sequential(layer)(np.ones((1, 3)))
    with pytest.raises(NotImplementedError, match="GELU.forward"):
        nn.GELU()(np.ones(2))
    with pytest.raises(NotImplementedError, match="LabelSmoothingCrossEntropy.forward"):
        nn.LabelSmoothingCrossEntropy()(np.ones((2, 3)), np.array([0, 1]))
    p = t.Tensor(np.ones(2), requires_grad=True)
    p.grad = np.ones(2)
    for cls, name in ((optim.SGD, "SGD._update"), (optim.Adam, "Adam._adam"), (optim.AdamW, "AdamW._update")):
        with pytest.raises(NotImplementedError, match=name):
            cls([p], lr=0.1).step()


def test_submission_names_do_not_collide_with_section1_files():
    import check_submission
    names = list(check_submission.PART_FILES["autograd"])
    assert names == ["autograd_tensor.py", "autograd_nn.py", "autograd_optim.py", "test_autograd.py"]
    others = {n for part, files in check_submission.PART_FILES.items() if part != "autograd" for n in files}
    assert not set(names) & others and "optim.py" not in names
    for name, (source, _) in check_submission.PART_FILES["autograd"].items():
        assert (paths.KIT / source).is_file(), source
