"""Section 1 of the kit (kit/backprop, kit/neuralnet): the reference passes every local check, the generated student
version reports "not implemented" without a traceback, and one injected bug per student function is caught by the
matching local check.

The local check scripts run as subprocesses from copies of the kit, from inside their folder, as students run them.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import paths
from autograder.build.markers import build_student_tree

SECTION1 = ("backprop", "neuralnet")
RUN_OUTPUTS = shutil.ignore_patterns("__pycache__", "checkpoint.pkl", "plot.pdf", "cifar-10-batches-py")

# script (folder/file) -> the items it must report as not implemented in the student version
CHECK_SCRIPTS = {
    "backprop/backprop.py": ["f1", "f2", "f3 (y=1)", "f3 (y=2)", "f4"],
    "neuralnet/gradcheck_layers.py": ["fc_forward", "fc_backward", "relu_forward", "relu_backward", "softmax_loss",
                                      "l2_regularization"],
    "neuralnet/gradcheck_classifier.py": ["TwoLayerNet.__init__", "LinearClassifier", "TwoLayerNet", "training_step"],
    "neuralnet/check_softmax_stability.py": ["softmax_loss"],
}


def run_script(kit_copy: Path, script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run kit_copy/<folder>/<file> from inside its folder with the venv's python; stdout and stderr together."""
    path = kit_copy / script
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, path.name, *args], cwd=path.parent, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


def copy_reference(dest: Path) -> Path:
    for folder in SECTION1:
        shutil.copytree(paths.KIT / folder, dest / folder, ignore=RUN_OUTPUTS)
    return dest


@pytest.fixture(scope="module")
def reference_kit(tmp_path_factory) -> Path:
    return copy_reference(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def student_kit(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("student") / "kit"
    build_student_tree(paths.KIT, dest)
    return dest


@pytest.mark.parametrize("script", sorted(CHECK_SCRIPTS))
def test_reference_passes_local_check(reference_kit, script):
    result = run_script(reference_kit, script)
    assert result.returncode == 0, result.stdout
    assert "FAIL" not in result.stdout and "not implemented" not in result.stdout, result.stdout
    assert "Traceback" not in result.stdout, result.stdout


def test_reference_difference_thresholds(reference_kit):
    """The printed gradient differences are below the spec's bounds: layers 1e-9, classifiers 1e-10."""
    for script, bound in (("neuralnet/gradcheck_layers.py", 1e-9), ("neuralnet/gradcheck_classifier.py", 1e-10)):
        out = run_script(reference_kit, script).stdout
        diffs = [float(d) for d in re.findall(r"difference ([0-9.e+-]+)", out)]
        assert diffs and max(diffs) < bound, out


@pytest.mark.parametrize("script", sorted(CHECK_SCRIPTS))
def test_student_version_reports_not_implemented(student_kit, script):
    result = run_script(student_kit, script)
    out = result.stdout
    assert result.returncode != 0, out
    assert "Traceback" not in out, out
    for item in CHECK_SCRIPTS[script]:
        assert re.search(rf"^{re.escape(item)}: not implemented", out, re.MULTILINE), f"{item!r} missing:\n{out}"


def test_student_version_imports_cleanly(student_kit):
    """Every student module imports (the stubs raise only when called)."""
    code = ("import functions; import sys; sys.path.insert(0, '../neuralnet'); "
            "import layers, classifier, linear_classifier, two_layer_net, optim, data, utils, train, test")
    result = subprocess.run([sys.executable, "-c", code], cwd=student_kit / "backprop", stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ, MPLBACKEND="Agg"))
    assert result.returncode == 0, result.stdout


def test_student_version_keeps_poor_defaults(student_kit):
    """The student train.py keeps the original's deliberately poor hyper-parameters and no solution code."""
    text = (student_kit / "neuralnet" / "train.py").read_text()
    assert "num_train, hidden_dim, batch_size, num_epochs, learning_rate, reg = 20000, 16, 128, 10, 1e-4, 1.0" in text
    assert "49000, 512" not in text
    functions = (student_kit / "backprop" / "functions.py").read_text()
    assert re.search(r"^def f4\(\):", functions, re.MULTILINE) and "return None, None" in functions
    assert "math.exp(-v)" not in functions


# One injected bug per student function: (file, reference text, mutated text, check script, item whose line fails).
MUTANTS = [
    ("backprop/functions.py", "    gy = -gd\n", "    gy = gd\n", "backprop/backprop.py", "f1"),
    ("backprop/functions.py", "    ge = gt + gb ", "    ge = gt ", "backprop/backprop.py", "f2"),
    ("backprop/functions.py", "    gd = -(gp1 * e1 + gp2 * e2) / d ** 2\n", "    gd = -(gp1 * e1 + gp2 * e2) / d\n",
     "backprop/backprop.py", "f3 (y=1)"),
    ("backprop/functions.py", "    L = -math.log(p)\n", "    L = -math.log(p1)\n", "backprop/backprop.py", "f3 (y=2)"),
    ("backprop/functions.py", "    gv = gs * s * (1 - s)\n", "    gv = gs * s\n", "backprop/backprop.py", "f4"),
    ("neuralnet/layers.py", "    out = x @ w + b\n", "    out = x @ w\n", "neuralnet/gradcheck_layers.py",
     "fc_forward"),
    ("neuralnet/layers.py", "    grad_w = x.T @ grad_out\n", "    grad_w = x.T @ grad_out / x.shape[0]\n",
     "neuralnet/gradcheck_layers.py", "fc_backward grad_w"),
    ("neuralnet/layers.py", "    grad_b = grad_out.sum(axis=0)\n", "    grad_b = grad_out.mean(axis=0)\n",
     "neuralnet/gradcheck_layers.py", "fc_backward grad_b"),
    ("neuralnet/layers.py", "    out = np.maximum(x, 0)\n", "    out = np.abs(x)\n", "neuralnet/gradcheck_layers.py",
     "relu_forward"),
    ("neuralnet/layers.py", "    grad_x = grad_out * (x > 0)\n", "    grad_x = grad_out * (x < 0)\n",
     "neuralnet/gradcheck_layers.py", "relu_backward"),
    ("neuralnet/layers.py", "    grad_x /= N\n", "    grad_x /= 2\n", "neuralnet/gradcheck_layers.py",
     "softmax_loss grad_x"),
    ("neuralnet/layers.py", "    shifted = x - x.max(axis=1, keepdims=True)\n", "    shifted = x\n",
     "neuralnet/check_softmax_stability.py", "softmax_loss"),
    ("neuralnet/layers.py", "    loss = 0.5 * reg * float(np.sum(w * w))\n", "    loss = reg * float(np.sum(w * w))\n",
     "neuralnet/gradcheck_layers.py", "l2_regularization"),
    ("neuralnet/layers.py", "    grad_w = reg * w\n", "    grad_w = 0.5 * reg * w\n",
     "neuralnet/gradcheck_layers.py", "l2_regularization grad_w"),
    ("neuralnet/two_layer_net.py", '"b1": np.zeros(hidden_dim, dtype=dtype)', '"b1": np.ones(hidden_dim, dtype=dtype)',
     "neuralnet/gradcheck_classifier.py", "TwoLayerNet.__init__"),
    ("neuralnet/two_layer_net.py", '"W1": (weight_scale * np.random.randn(input_dim, hidden_dim))',
     '"W1": (np.random.randn(input_dim, hidden_dim))', "neuralnet/gradcheck_classifier.py", "TwoLayerNet.__init__"),
    ("neuralnet/two_layer_net.py", "params = self.params\n", "params = {k: v.copy() for k, v in self.params.items()}\n",
     "neuralnet/gradcheck_classifier.py", "TwoLayerNet grad"),
    ("neuralnet/two_layer_net.py", "activation, relu_cache = relu_forward(hidden)",
     "activation, relu_cache = hidden, hidden", "neuralnet/gradcheck_classifier.py", "TwoLayerNet grad"),
    ("neuralnet/two_layer_net.py", "grad_hidden = relu_backward(grad_act, relu_cache)", "grad_hidden = grad_act",
     "neuralnet/gradcheck_classifier.py", "TwoLayerNet grad"),
    ("neuralnet/train.py", "        if param.ndim == 2:\n", "        if True:\n", "neuralnet/gradcheck_classifier.py",
     "training_step"),
    ("neuralnet/train.py", "grads[name] = grads[name] + reg_grad", "grads[name] = grads[name] + 0.5 * reg_grad",
     "neuralnet/gradcheck_classifier.py", "training_step"),
]


@pytest.mark.parametrize("file, old, new, script, item", MUTANTS,
                         ids=[f"{m[0].split('/')[1]}:{m[4]}:{i}" for i, m in enumerate(MUTANTS)])
def test_injected_bug_is_caught(tmp_path, file, old, new, script, item):
    kit = copy_reference(tmp_path)
    path = kit / file
    text = path.read_text()
    assert text.count(old) == 1, f"mutant pattern not found exactly once in {file}: {old!r}"
    path.write_text(text.replace(old, new))
    result = run_script(kit, script)
    out = result.stdout
    assert result.returncode != 0, out
    assert "Traceback" not in out, out
    failing = [line for line in out.splitlines()
               if line.startswith(item) and ("FAIL" in line or "UNSTABLE" in line)]
    assert failing, f"no failing line for {item!r}:\n{out}"
