"""Section 1 of the kit (kit/backprop, kit/neuralnet): the reference passes every local check, the generated student
version reports "not implemented" without a traceback, and one injected bug per student function is caught by the
matching local check.

The local check scripts run as subprocesses from copies of the kit, from inside their folder, as students run them.
"""
from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
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
    "neuralnet/gradcheck_classifier.py": ["TwoLayerNet.__init__", "TwoLayerNet", "training_step"],
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


def test_student_gradcheck_classifier_names_missing_dependencies(student_kit):
    """Given code (LinearClassifier) and training_step on a stub TwoLayerNet: 'not checked', not 'not implemented'."""
    out = run_script(student_kit, "neuralnet/gradcheck_classifier.py").stdout
    assert "LinearClassifier: not checked (needs fc_forward, which is not implemented)" in out, out
    assert "training_step (TwoLayerNet): not checked (needs TwoLayerNet.__init__, which is not implemented)" in out, out
    assert not re.search(r"^LinearClassifier: not implemented", out, re.MULTILINE), out


def student_kit_with_reference(tmp_path: Path, student_kit: Path, *files: str) -> Path:
    """A copy of the student kit with the given files (folder/file) replaced by the reference's."""
    kit = tmp_path / "kit"
    shutil.copytree(student_kit, kit)
    for file in files:
        shutil.copyfile(paths.KIT / file, kit / file)
    return kit


def test_gradcheck_classifier_training_step_needs_two_layer_net(tmp_path, student_kit):
    """Reference layers + training_step with a stub TwoLayerNet: training_step is checked on LinearClassifier and
    reported 'not checked (needs TwoLayerNet...)' on TwoLayerNet, never 'not implemented'."""
    kit = student_kit_with_reference(tmp_path, student_kit, "neuralnet/layers.py", "neuralnet/train.py")
    result = run_script(kit, "neuralnet/gradcheck_classifier.py")
    out = result.stdout
    assert result.returncode != 0 and "Traceback" not in out, out
    assert "training_step (TwoLayerNet): not checked (needs TwoLayerNet.__init__, which is not implemented)" in out
    assert not re.search(r"^training_step: not implemented", out, re.MULTILINE), out
    assert re.search(r"^training_step \(LinearClassifier\) grad W: difference .* PASS$", out, re.MULTILINE), out
    assert re.search(r"^LinearClassifier grad W: difference .* PASS$", out, re.MULTILINE), out


def test_gradcheck_classifier_training_step_stub_with_reference_model(tmp_path, student_kit):
    """Reference layers and TwoLayerNet, stub training_step: 'training_step: not implemented'."""
    kit = student_kit_with_reference(tmp_path, student_kit, "neuralnet/layers.py", "neuralnet/two_layer_net.py")
    out = run_script(kit, "neuralnet/gradcheck_classifier.py").stdout
    assert re.search(r"^training_step: not implemented", out, re.MULTILINE), out
    assert "not checked" not in out and "Traceback" not in out, out
    assert re.search(r"^TwoLayerNet grad \w+: difference .* PASS$", out, re.MULTILINE), out


# softmax_loss bodies that return the wrong thing or crash: one FAIL line with the exception, no traceback.
BAD_SOFTMAX = {
    "returns a float": ("    return 0.0\n", "TypeError"),
    "returns a 3-tuple": ("    return 0.0, x, x\n", "ValueError"),
    "raises inside": ("    raise IndexError('index 3 is out of bounds')\n", "IndexError"),
    "grad of the wrong shape": ("    return 0.0, np.zeros(3)\n", None),
}


@pytest.mark.parametrize("case", sorted(BAD_SOFTMAX))
def test_check_softmax_stability_reports_bad_returns(tmp_path, case):
    body, error = BAD_SOFTMAX[case]
    kit = copy_reference(tmp_path)
    path = kit / "neuralnet" / "layers.py"
    text = path.read_text()
    head = "def softmax_loss(x, y):\n"
    start = text.index(head)
    doc_end = text.index('"""', text.index('"""', start) + 3) + 3  # keep the docstring, replace the body
    end = text.index("\ndef ", doc_end)
    path.write_text(text[:doc_end] + "\n" + body + "\n" + text[end:])
    result = run_script(kit, "neuralnet/check_softmax_stability.py")
    out = result.stdout
    assert result.returncode != 0, out
    assert "Traceback" not in out, out
    failing = [line for line in out.splitlines() if line.startswith("softmax_loss") and line.endswith("FAIL")]
    assert len(failing) == 1, out
    if error is None:
        assert "gradient has shape (3,), expected (3, 3)" in failing[0], out
    else:
        assert f"softmax_loss: error: {error}: " in failing[0], out
    if case == "raises inside":
        assert "in layers.py, line" in failing[0], out


# ---------------------------------------------------------------------------------------------------------------
# train.py and test.py: one line, no traceback, non-zero exit for the expected problems


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The single output line of a run that failed with an expected problem."""
    out = result.stdout
    assert result.returncode == 1, out
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    return lines[0]


@pytest.mark.parametrize("script", ["train.py", "test.py"])
def test_student_stub_is_one_line(student_kit, tmp_path, script):
    """A stub TwoLayerNet: one line naming the function and the file to fill in, before any data is loaded."""
    args = []
    if script == "test.py":  # test.py checks the checkpoint file first: give it a well-formed one
        checkpoint = tmp_path / "ck.pkl"
        with open(checkpoint, "wb") as handle:
            pickle.dump({"W1": np.zeros((3072, 4)), "b1": np.zeros(4), "W2": np.zeros((4, 10)), "b2": np.zeros(10)},
                        handle)
        args = ["--checkpoint-file", str(checkpoint)]
    line = one_line_error(run_script(student_kit, f"neuralnet/{script}", *args, "--data-dir", str(tmp_path / "no")))
    assert line == f"{script}: TwoLayerNet.__init__: not implemented yet; fill it in two_layer_net.py first", line


@pytest.mark.parametrize("script", ["train.py", "test.py"])
def test_missing_data_folder_is_one_line(reference_kit, tmp_path, script):
    args = ["--checkpoint-file", str(write_reference_checkpoint(reference_kit, tmp_path))] if script == "test.py" \
        else []
    line = one_line_error(run_script(reference_kit, f"neuralnet/{script}", *args, "--data-dir", str(tmp_path / "no")))
    assert line.startswith(f"{script}: CIFAR-10 folder not found") and "download_cifar.sh" in line, line


def write_reference_checkpoint(reference_kit: Path, tmp_path: Path) -> Path:
    """A checkpoint of a reference TwoLayerNet (hidden 8), saved by Classifier.save."""
    path = tmp_path / "ck.pkl"
    code = ("import numpy as np; from two_layer_net import TwoLayerNet; np.random.seed(0); "
            f"TwoLayerNet(3072, 10, 8, 0.01).save({str(path)!r})")
    subprocess.run([sys.executable, "-c", code], cwd=reference_kit / "neuralnet", check=True)
    return path


def write_fake_batches(folder: Path, rows: int = 20) -> Path:
    """The six batch files, each with ``rows`` random images (the real layout, but too few images)."""
    folder.mkdir(parents=True)
    rng = np.random.RandomState(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.randint(0, 256, size=(rows, 3072)).astype(np.uint8),
                 b"labels": list(rng.randint(0, 10, size=rows)), b"batch_label": b"fake"}
        with open(folder / name, "wb") as handle:
            pickle.dump(batch, handle)
    return folder


@pytest.mark.parametrize("script", ["train.py", "test.py"])
def test_corrupt_batch_is_one_line_naming_the_file(reference_kit, tmp_path, script):
    folder = write_fake_batches(tmp_path / "cifar-10-batches-py")
    name = "test_batch" if script == "test.py" else "data_batch_1"
    (folder / name).write_bytes((folder / name).read_bytes()[:300])
    args = ["--checkpoint-file", str(write_reference_checkpoint(reference_kit, tmp_path))] if script == "test.py" \
        else []
    line = one_line_error(run_script(reference_kit, f"neuralnet/{script}", *args, "--data-dir", str(folder)))
    assert f"CIFAR-10 batch file {folder / name} is corrupt or truncated" in line, line
    assert f"delete the folder {folder} and run ./download_cifar.sh again" in line, line


def test_batch_with_too_few_images_is_one_line(reference_kit, tmp_path):
    folder = write_fake_batches(tmp_path / "cifar-10-batches-py")  # 20 images per file instead of 10000
    line = one_line_error(run_script(reference_kit, "neuralnet/train.py", "--data-dir", str(folder)))
    assert f"{folder / 'data_batch_1'} is corrupt or truncated (it holds 20 images, expected 10000)" in line, line


def test_missing_batch_is_one_line(reference_kit, tmp_path):
    folder = write_fake_batches(tmp_path / "cifar-10-batches-py")
    (folder / "data_batch_1").unlink()
    line = one_line_error(run_script(reference_kit, "neuralnet/train.py", "--data-dir", str(folder)))
    assert f"CIFAR-10 batch file missing: {folder / 'data_batch_1'}" in line, line
    assert "download_cifar.sh" in line and "delete the folder" in line, line


def test_test_py_missing_checkpoint_is_one_line(reference_kit, tmp_path):
    missing = tmp_path / "checkpoint.pkl"
    line = one_line_error(run_script(reference_kit, "neuralnet/test.py", "--checkpoint-file", str(missing),
                                     "--data-dir", str(tmp_path)))
    assert line.startswith(f"test.py: checkpoint file not found: {missing}") and "train.py writes it" in line, line


@pytest.mark.parametrize("content, expected", [
    (b"not a pickle at all", "cannot read the checkpoint file"),
    (b"", "cannot read the checkpoint file"),
    (pickle.dumps([1, 2, 3]), "is not a checkpoint written by train.py"),
    (pickle.dumps({"W1": "text"}), "is not a checkpoint written by train.py"),
    (pickle.dumps({"weights": np.zeros(3)}), "does not match TwoLayerNet"),
], ids=["garbage", "empty", "list", "not-arrays", "other-keys"])
def test_test_py_unreadable_checkpoint_is_one_line(reference_kit, tmp_path, content, expected):
    checkpoint = tmp_path / "checkpoint.pkl"
    checkpoint.write_bytes(content)
    line = one_line_error(run_script(reference_kit, "neuralnet/test.py", "--checkpoint-file", str(checkpoint),
                                     "--data-dir", str(tmp_path)))
    assert line.startswith("test.py: ") and str(checkpoint) in line and expected in line, line


def test_real_bug_keeps_its_traceback(tmp_path):
    """An exception that is not an expected problem (here a bug in TwoLayerNet.__init__) keeps its traceback."""
    kit = copy_reference(tmp_path)
    path = kit / "neuralnet" / "two_layer_net.py"
    text = path.read_text()
    old = '"b1": np.zeros(hidden_dim, dtype=dtype),'
    assert text.count(old) == 1
    path.write_text(text.replace(old, '"b1": np.zeros(hidden_dim, dtype=dtype)[[hidden_dim]],'))
    result = run_script(kit, "neuralnet/train.py", "--data-dir", str(tmp_path / "no"))
    assert result.returncode != 0
    assert "Traceback" in result.stdout and "IndexError" in result.stdout, result.stdout
    assert "two_layer_net.py" in result.stdout, result.stdout


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


# ---------------------------------------------------------------------------------------------------------------
# the local checks say what the grader says: names, expected vs got at the worst entry, the grader's tolerances

def mutate(kit: Path, file: str, old: str, new: str) -> None:
    path = kit / file
    text = path.read_text()
    assert text.count(old) == 1, f"pattern not found exactly once in {file}: {old!r}"
    path.write_text(text.replace(old, new))


def function_source(text: str, name: str) -> str:
    """The source of the top-level function ``name`` in ``text`` (up to the next top-level def or marker)."""
    start = text.index(f"\ndef {name}(") + 1
    end = min(i for i in (text.find("\ndef ", start), text.find("\n# BEGIN", start), len(text)) if i != -1)
    return text[start:end].rstrip() + "\n"


def student_with_reference_f3(tmp_path: Path, student_kit: Path) -> Path:
    """A student kit where only f3 is written (the reference's), f1, f2 and f4 still the stubs."""
    kit = tmp_path / "kit"
    shutil.copytree(student_kit, kit)
    path = kit / "backprop" / "functions.py"
    text = path.read_text()
    reference_f3 = function_source((paths.KIT / "backprop" / "functions.py").read_text(), "f3")
    path.write_text(text.replace(function_source(text, "f3"), reference_f3))
    return kit


def test_backprop_only_f3_done_reads_as_done(tmp_path, student_kit):
    """f3 written, optional f1, f2, f4 untouched: required PASS, optional not attempted, no 'overall: FAIL', exit 0."""
    kit = student_with_reference_f3(tmp_path, student_kit)
    result = run_script(kit, "backprop/backprop.py")
    out = result.stdout
    assert result.returncode == 0, out
    assert "overall: FAIL" not in out and "FAIL" not in out, out
    assert "required (f3, graded): PASS" in out, out
    assert "optional (no points, feedback only): f1 not attempted, f2 not attempted, f4 not attempted" in out, out
    assert re.search(r"^overall: PASS$", out, re.MULTILINE), out


def test_backprop_failing_optional_does_not_fail_overall(tmp_path, student_kit):
    """f3 right, an attempted f4 wrong: f4's line FAILs, the summary says the required part is done."""
    kit = student_with_reference_f3(tmp_path, student_kit)
    path = kit / "backprop" / "functions.py"
    text = path.read_text()
    path.write_text(text.replace(function_source(text, "f4"),
                                 "def f4(a, b):\n    return a * b, (a, b)  # wrong: dL/da is b\n"))
    result = run_script(kit, "backprop/backprop.py")
    out = result.stdout
    assert result.returncode == 1, out
    assert "overall: FAIL" not in out, out
    assert "required (f3, graded): PASS" in out and "f4 failing" in out, out
    assert re.search(r"^f4: gradients FAIL .*worst: dL/d[ab] at a = [-0-9.e]+, b = [-0-9.e]+: expected .* "
                     r"\(central differences\), got ", out, re.MULTILINE), out


def test_backprop_names_the_gradient_and_shows_expected_and_got(tmp_path):
    """f1's dL/dy with the wrong sign: the line names dL/dy, the point and both values (not 'input 6')."""
    kit = copy_reference(tmp_path)
    mutate(kit, "backprop/functions.py", "    gy = -gd\n", "    gy = gd\n")
    out = run_script(kit, "backprop/backprop.py", "--function", "f1").stdout
    line = next(line for line in out.splitlines() if line.startswith("f1: gradients"))
    match = re.search(r"FAIL .*worst: dL/dy at x1 = \S+, w1 = \S+, x2 = \S+, w2 = \S+, b = \S+, y = \S+: "
                      r"expected (\S+) \(central differences\), got ([^\s)]+)\)$", line)
    assert match, line
    assert float(match.group(1)) == pytest.approx(-float(match.group(2)), rel=1e-6), line  # a sign flip
    assert not re.search(r"input \d", line), line


def test_backprop_output_failure_shows_expected_and_got(tmp_path):
    kit = copy_reference(tmp_path)
    mutate(kit, "backprop/functions.py", "    L = -math.log(p)\n", "    L = -math.log(p1)\n")
    out = run_script(kit, "backprop/backprop.py", "--function", "f3").stdout
    assert re.search(r"^f3 \(y=2\): outputs FAIL \(100 saved inputs, max relative error \S+ \(tolerance 1e-08\); "
                     r"worst at s1 = \S+, s2 = \S+: expected \S+, got \S+\)$", out, re.MULTILINE), out
    assert "required (f3, graded): FAIL" in out and "overall: FAIL" in out, out


@pytest.mark.parametrize("old, new, label", [
    ("    grad_w = x.T @ grad_out\n", "    grad_w = x.T @ grad_out / x.shape[0]\n", "fc_backward grad_w"),
    ("    out = x @ w + b\n", "    out = x @ w\n", "fc_forward out"),
])
def test_gradcheck_layers_shows_the_worst_entry(tmp_path, old, new, label):
    kit = copy_reference(tmp_path)
    mutate(kit, "neuralnet/layers.py", old, new)
    out = run_script(kit, "neuralnet/gradcheck_layers.py").stdout
    line = next(line for line in out.splitlines() if line.startswith(label + ":"))
    assert re.search(r"max relative error \S+ FAIL \(tolerance 1e-07\); worst at \[\d+(, \d+)*\]: expected"
                     r"( \(central differences\))? \S+, got \S+$", line), line


def test_gradcheck_layers_does_not_check_the_given_l2_loss(reference_kit, student_kit):
    for kit in (reference_kit, student_kit):
        out = run_script(kit, "neuralnet/gradcheck_layers.py").stdout
        assert "l2_loss" not in out, out


def test_gradcheck_classifier_shows_the_worst_entry(tmp_path):
    kit = copy_reference(tmp_path)
    mutate(kit, "neuralnet/train.py", "grads[name] = grads[name] + reg_grad", "grads[name] = grads[name] + 0.5 * reg_grad")
    out = run_script(kit, "neuralnet/gradcheck_classifier.py").stdout
    assert re.search(r"^training_step \(TwoLayerNet\) grad \w+: difference \S+, max relative error \S+ \(tolerance "
                     r"1e-07\); worst at \[\d+, \d+\]: expected \(central differences\) \S+, got \S+ FAIL$",
                     out, re.MULTILINE), out


def test_gradcheck_classifier_parameter_update_is_a_note_not_a_fail(tmp_path):
    """A training_step that also updates the parameters loses no points in the grader: a note, the checks pass."""
    kit = copy_reference(tmp_path)
    mutate(kit, "neuralnet/train.py", "    # END SOLUTION\n    return loss, grads\n",
           "    for name, param in model.parameters().items():\n        param -= 0.0 * grads[name] + 1e-3\n"
           "    # END SOLUTION\n    return loss, grads\n")
    result = run_script(kit, "neuralnet/gradcheck_classifier.py")
    out = result.stdout
    assert result.returncode == 0 and "FAIL" not in out, out
    assert re.search(r"^training_step \(TwoLayerNet\) changed the parameters .* \(note: not graded\)$", out,
                     re.MULTILINE), out


def test_softmax_epsilon_inside_the_log_passes_as_in_the_grader(tmp_path):
    """log(p + 1e-12) changes the loss by ~1e-12: the grader accepts it, so the local check does too."""
    kit = copy_reference(tmp_path)
    mutate(kit, "neuralnet/layers.py", "    loss = float(-log_probs[rows, y].mean())\n",
           "    loss = float(-np.log(np.exp(log_probs[rows, y]) + 1e-12).mean())\n")
    result = run_script(kit, "neuralnet/gradcheck_layers.py")
    assert result.returncode == 0 and "FAIL" not in result.stdout, result.stdout


def assigned_constant(path: Path, name: str):
    """The literal value of the top-level assignment ``name = ...`` in ``path`` (without importing it)."""
    import ast
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not assigned in {path}")


def load_by_path(path: Path, name: str):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_local_tolerances_are_the_graders():
    """The kit cannot import the autograder (not shipped): its copies of the grader's numbers must agree."""
    from autograder.grading import compare as feedback
    from autograder.grading.checks import section1_backprop as graded_backprop
    from autograder.grading.checks import section1_two_layer_net as graded_net

    driver = load_by_path(paths.KIT / "backprop" / "backprop.py", "_kit_backprop_driver")
    assert {key.split()[0]: tol for key, (_, _, tol) in driver.CHECKS.items()} == graded_backprop.TOL_VALUE
    assert {key.split()[0]: names for key, (_, names, _) in driver.CHECKS.items()} == graded_backprop.ARG_NAMES
    assert driver.GRAD_TOLERANCE == graded_backprop.TOL_GRAD
    assert (driver.F4_STEP, driver.F4_TOLERANCE) == (graded_backprop.F4_STEP, graded_backprop.F4_TOL)
    # the gradient check draws its inputs from the grader's ranges (written inline in the grader's _inputs)
    import inspect
    source = inspect.getsource(graded_backprop._inputs)
    for key, (low, high) in driver.GRAD_RANGES.items():
        if key == "f4":
            assert f"rng.uniform({low}, {high}, size=16)" in source, source
        else:
            nargs = len(driver.CHECKS[key][1])
            assert f'"{key}": [floats({nargs}, {low}, {high})' in source, (key, source)
    for script in ("gradcheck_layers.py", "gradcheck_classifier.py"):
        assert assigned_constant(paths.KIT / "neuralnet" / script, "GRADER_TOLERANCE") == feedback.TOL_EXACT
    assert assigned_constant(paths.KIT / "neuralnet" / "gradcheck_classifier.py",
                             "INIT_STD_TOLERANCE") == graded_net.STD_TOL
    # the same measures: the kit's max_relative_error is the grader's relative_error, its scalar one compare_scalar's
    utils = load_by_path(paths.KIT / "neuralnet" / "utils.py", "_kit_utils")
    rng = np.random.default_rng(3)
    for _ in range(20):
        e = rng.standard_normal((4, 5)) * rng.choice([1e-9, 1.0, 1e6], size=(4, 5))
        g = e * (1 + 1e-6 * rng.standard_normal(e.shape)) + 1e-12 * rng.standard_normal(e.shape)
        assert utils.max_relative_error(e, g)[0] == pytest.approx(feedback.relative_error(e, g), rel=1e-12)
    for expected, got in ((1.0, 1.0 + 1e-7), (0.0, 3e-12), (2.5e-5, 2.6e-5), (-7.0, 7.0)):
        tol = driver.relative_error(expected, got) * 1.000001
        assert feedback.compare_scalar(expected, got, tol) is None
        assert feedback.compare_scalar(expected, got, tol / 1.01) is not None
        assert utils.max_relative_error(expected, got, min_floor=1e-4)[0] == pytest.approx(
            driver.relative_error(expected, got), rel=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# train.py --overfit sets every hyper-parameter itself

HYPER_PARAMETERS = {"num_train", "hidden_dim", "batch_size", "num_epochs", "learning_rate", "reg", "momentum",
                    "lr_decay", "weight_scale", "center_inputs"}


def _branch_assignments(body) -> set:
    import ast
    names = set()
    for node in body:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign):
                for target in sub.targets:
                    names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


@pytest.mark.parametrize("version", ["reference", "student"])
def test_overfit_setting_assigns_every_hyper_parameter(version, student_kit):
    """Both settings of main() (if args.overfit / else) assign every hyper-parameter that main passes on, and
    nothing before them does: no learning-rate decay or momentum is inherited from a default."""
    import ast
    path = (paths.KIT if version == "reference" else student_kit) / "neuralnet" / "train.py"
    tree = ast.parse(path.read_text())
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    used = set()
    for node in ast.walk(main):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "build_model", "load_cifar10", "train"):
            used |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - {node.func.id}
    used -= {"args", "model", "data"}
    assert used == HYPER_PARAMETERS, used
    branch = [n for n in main.body if isinstance(n, ast.If) and "overfit" in ast.unparse(n.test)]
    assert len(branch) == 1, ast.unparse(main)
    overfit, best = branch[0].body, branch[0].orelse
    assert _branch_assignments(overfit) >= HYPER_PARAMETERS, _branch_assignments(overfit)
    assert _branch_assignments(best) >= HYPER_PARAMETERS, _branch_assignments(best)
    before = main.body[:main.body.index(branch[0])]
    assert not _branch_assignments(before) & HYPER_PARAMETERS, ast.unparse(before)


def original_signature_two_layer_net(kit: Path) -> None:
    """Rewrite the reference TwoLayerNet to the original signature (no ``dtype``): float64, as a student writes it."""
    path = kit / "neuralnet" / "two_layer_net.py"
    text = path.read_text()
    text = text.replace("weight_scale=1e-3, dtype=np.float64):", "weight_scale=1e-3):")
    text = text.replace(").astype(dtype),", "),").replace(", dtype=dtype),", "),")
    assert "dtype=dtype" not in text and "astype(dtype)" not in text
    path.write_text(text)


@pytest.mark.slow
def test_overfit_from_a_float64_two_layer_net_reaches_75_percent(cifar10_dir, tmp_path):
    """python train.py --overfit with a correct TwoLayerNet written to the original signature (float64, no dtype)
    reaches >= 75 % training accuracy on its 1000 images (a minute or two)."""
    kit = copy_reference(tmp_path)
    original_signature_two_layer_net(kit)
    result = run_script(kit, "neuralnet/train.py", "--overfit", "--data-dir", str(cifar10_dir), "--checkpoint-file",
                        "overfit.pkl", "--plot-file", "overfit.pdf", timeout=600)
    assert result.returncode == 0, result.stdout
    match = re.search(r"final: train accuracy ([0-9.]+)%, validation accuracy ([0-9.]+)%", result.stdout)
    assert match and float(match.group(1)) >= 75.0, result.stdout
    assert float(match.group(1)) - float(match.group(2)) >= 30.0, result.stdout  # it memorizes: far above val


def test_gradcheck_layers_checks_the_graders_edge_cases(tmp_path):
    """A bug that shows only for one example or one output unit (graded in 2.7) fails locally too, on those lines."""
    kit = copy_reference(tmp_path)
    mutate(kit, "neuralnet/layers.py", "    grad_b = grad_out.sum(axis=0)\n",
           "    grad_b = grad_out.squeeze().sum(axis=0)\n")
    result = run_script(kit, "neuralnet/gradcheck_layers.py")
    out = result.stdout
    assert result.returncode == 1 and "Traceback" not in out, out
    failing = [line.split(":")[0] for line in out.splitlines() if "FAIL" in line and not line.startswith("overall")]
    assert failing == ["fc_backward (N = 1) grad_b", "fc_backward (one output unit) grad_b"], out


def test_gradcheck_classifier_catches_a_consistent_wrong_network(tmp_path):
    """No ReLU in forward nor backward: the gradients agree with the forward, but the grader takes 3.2 and 3.3; the
    local forward check against FC -> ReLU -> FC fails with the worst entry."""
    kit = copy_reference(tmp_path)
    mutate(kit, "neuralnet/two_layer_net.py", "activation, relu_cache = relu_forward(hidden)",
           "activation, relu_cache = hidden, None")
    mutate(kit, "neuralnet/two_layer_net.py", "grad_hidden = relu_backward(grad_act, relu_cache)",
           "grad_hidden = grad_act")
    out = run_script(kit, "neuralnet/gradcheck_classifier.py").stdout
    assert re.search(r"^TwoLayerNet.forward scores vs FC -> ReLU -> FC: max relative error \S+ \(tolerance 1e-07\); "
                     r"worst at \[\d+, \d+\]: expected \S+, got \S+ FAIL$", out, re.MULTILINE), out
    assert re.search(r"^TwoLayerNet grad W1: .* PASS$", out, re.MULTILINE), out


def test_gradcheck_classifier_names_fc_backward_when_the_layers_are_the_cause(tmp_path, student_kit):
    """A bias gradient averaged instead of summed in fc_backward: the classifier check says to fix fc_backward first,
    as the grader's knock-on message does."""
    kit = student_kit_with_reference(tmp_path, student_kit, "neuralnet/layers.py", "neuralnet/two_layer_net.py",
                                     "neuralnet/train.py")
    layers = kit / "neuralnet" / "layers.py"
    text = layers.read_text()
    assert text.count("    grad_b = grad_out.sum(axis=0)") == 1
    layers.write_text(text.replace("    grad_b = grad_out.sum(axis=0)", "    grad_b = grad_out.mean(axis=0)"))
    result = run_script(kit, "neuralnet/gradcheck_classifier.py")
    assert result.returncode == 1
    assert "cause first: fc_backward in layers.py fails its own gradient check" in result.stdout, result.stdout
    assert "overall: FAIL (start with fc_backward)" in result.stdout
