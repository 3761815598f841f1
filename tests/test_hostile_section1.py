"""Section-1 points that must not come without the work (issue 9 section 1).

Each test grades a crafted submission (the kit's reference files with one file replaced or edited) with the real
graded tests and asserts what it earns: statistics computed in the grader (3.1), softmax stability inputs that need
the per-row maximum (2.5), no graded input whose right answer is all zeros (every Section-1 file), and the
numpy-only rule enforced for frameworks imported at call time by a built name.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autograder import paths
from autograder.grading import rubric, runner
from autograder.grading import numpy_only
from autograder.grading.checks import section1_common as common
from autograder.grading.checks import section1_layers as graded_layers

KIT_FILES = {"functions.py": paths.KIT / "backprop" / "functions.py",
             "layers.py": paths.KIT / "neuralnet" / "layers.py",
             "two_layer_net.py": paths.KIT / "neuralnet" / "two_layer_net.py",
             "train.py": paths.KIT / "neuralnet" / "train.py"}
MODULE_OF = {"functions.py": "section1_backprop", "layers.py": "section1_layers", "two_layer_net.py": "section1_two_layer_net",
             "train.py": "section1_training"}


def submission(folder: Path, replace: dict = None, edits: dict = None) -> Path:
    """The four reference files in ``folder``; ``replace``: name -> new text; ``edits``: name -> [(old, new)]."""
    folder.mkdir(parents=True)
    for name, source in KIT_FILES.items():
        text = source.read_text()
        for old, new in (edits or {}).get(name, []):
            assert text.count(old) == 1, (name, old)
            text = text.replace(old, new)
        (folder / name).write_text((replace or {}).get(name, text))
    return folder


def rows_of(folder: Path, module: str, student_tree: Path) -> dict:
    """rubric id -> results.json row, for one graded module."""
    results = runner.grade_folder(folder, modules=[module], given_dir=student_tree)
    runner.validate(results)
    ids = {item.number: item_id for item_id, item in rubric.RUBRIC.items() if item.check == module}
    return {ids[t["number"]]: t for t in results["tests"]}


# --------------------------------------------------------------------------------------------------------------------
# 3.1: the init statistics are the grader's

ONES_INIT = [('"W1": (weight_scale * np.random.randn(input_dim, hidden_dim)).astype(dtype)',
              '"W1": np.ones((input_dim, hidden_dim), dtype=dtype)'),
             ('"b1": np.zeros(hidden_dim, dtype=dtype)', '"b1": np.ones(hidden_dim, dtype=dtype)'),
             ('"W2": (weight_scale * np.random.randn(hidden_dim, num_classes)).astype(dtype)',
              '"W2": np.ones((hidden_dim, num_classes), dtype=dtype)')]

# An all-ones init that also makes the harness report the statistics of a perfect init, in the old report's form
# and through patched numpy reductions, as a submission could in the sandboxed process.
FAKE_STATISTICS = '''

import section1_procedures as _harness

_real_describe = _harness.describe_init


def _fake_describe(module, dims, weight_scale):
    rows = _real_describe(module, dims, weight_scale)
    for row in rows:
        value = row.get("value")
        shape = tuple(np.shape(value)) if value is not None else ()
        row.update(shape=shape, dtype="float64", mean=0.0, std=float(weight_scale) if len(shape) == 2 else 0.0,
                   max_abs=0.0 if len(shape) == 1 else 4.0 * float(weight_scale))
    return rows


_harness.describe_init = _fake_describe
np.mean = lambda *a, **k: 0.0
np.std = lambda *a, **k: 0.05
np.abs = np.zeros_like
'''


def test_all_ones_init_earns_nothing(tmp_path, student_tree):
    rows = rows_of(submission(tmp_path / "ones", edits={"two_layer_net.py": ONES_INIT}), "section1_two_layer_net",
                   student_tree)
    row = rows["two_layer_init"]
    assert row["score"] == 0, row["output"]
    assert "same value" in row["output"] and "weight_scale" in row["output"]


def test_all_ones_init_with_faked_statistics_earns_nothing(tmp_path, student_tree):
    text = KIT_FILES["two_layer_net.py"].read_text()
    for old, new in ONES_INIT:
        text = text.replace(old, new)
    rows = rows_of(submission(tmp_path / "fake", replace={"two_layer_net.py": text + FAKE_STATISTICS}),
                   "section1_two_layer_net", student_tree)
    assert rows["two_layer_init"]["score"] == 0, rows["two_layer_init"]["output"]


def test_init_statistics_are_not_computed_in_the_sandbox():
    """The harness sends the arrays themselves; no mean/std/max leaves the student's process."""
    from autograder.grading.harness import section1_procedures as procedures
    source = Path(procedures.__file__).read_text()
    body = source.split("def describe_init(", 1)[1].split("\ndef ", 1)[0]
    for name in (".mean(", ".std(", "np.abs(", ".max("):
        assert name not in body, name


# --------------------------------------------------------------------------------------------------------------------
# 2.5: the stability inputs need each row's own maximum


def test_softmax_large_rows_have_maxima_thousands_apart():
    inp = graded_layers._inputs()
    spreads = [np.ptp(c["x"].max(axis=1)) for c in inp["softmax_large"]]
    assert max(spreads) >= 2000, spreads


def test_softmax_global_max_subtraction_loses_the_stability_points(tmp_path, student_tree):
    edits = {"layers.py": [("shifted = x - x.max(axis=1, keepdims=True)", "shifted = x - x.max()")]}
    rows = rows_of(submission(tmp_path / "global", edits=edits), "section1_layers", student_tree)
    row = rows["softmax_loss"]
    assert row["score"] < row["max_score"], row["output"]
    assert "large scores" in row["output"]


# --------------------------------------------------------------------------------------------------------------------
# No graded input has an all-zeros right answer: "right shapes, all zeros" earns nothing anywhere

ZEROS = {
    "functions.py": '''
def f1(x1, w1, x2, w2, b, y):
    return 0.0, (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def f2(x):
    return 0.0, (0.0,)


def f3(s1, s2, y):
    return 0.0, (0.0, 0.0)


def f3_y1(s1, s2):
    return f3(s1, s2, 1)


def f3_y2(s1, s2):
    return f3(s1, s2, 2)


def f4(a, b, c, d):
    return 0.0, (0.0, 0.0, 0.0, 0.0)
''',
    "layers.py": '''import numpy as np


def fc_forward(x, w, b):
    return np.zeros((x.shape[0], w.shape[1])), (x, w, b)


def fc_backward(grad_out, cache):
    x, w, b = cache
    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)


def relu_forward(x):
    return np.zeros_like(x), x


def relu_backward(grad_out, cache):
    return np.zeros_like(grad_out)


def l2_loss(x, y):
    return 0.0, np.zeros_like(x)


def softmax_loss(x, y):
    return 0.0, np.zeros_like(x)


def l2_regularization(w, reg):
    return 0.0, np.zeros_like(w)
''',
    "two_layer_net.py": '''import numpy as np

from classifier import Classifier


class TwoLayerNet(Classifier):
    def __init__(self, input_dim=3072, num_classes=10, hidden_dim=512, weight_scale=1e-3, dtype=np.float64):
        self.params = {"W1": np.zeros((input_dim, hidden_dim), dtype=dtype), "b1": np.zeros(hidden_dim, dtype=dtype),
                       "W2": np.zeros((hidden_dim, num_classes), dtype=dtype),
                       "b2": np.zeros(num_classes, dtype=dtype)}

    def parameters(self):
        return self.params

    def forward(self, X):
        return np.zeros((X.shape[0], self.params["W2"].shape[1])), X

    def backward(self, grad_scores, cache):
        return {name: np.zeros_like(value) for name, value in self.params.items()}
''',
    "train.py": None,  # the kit's train.py with a training_step that returns loss 0 and zero gradients
}

ZERO_TRAINING_STEP = '''

def training_step(model, X_batch, y_batch, reg):
    return 0.0, {name: np.zeros_like(value) for name, value in model.parameters().items()}
'''


@pytest.mark.parametrize("name", sorted(ZEROS))
def test_right_shapes_all_zeros_earns_nothing(name, tmp_path, student_tree):
    text = ZEROS[name] if ZEROS[name] is not None else KIT_FILES[name].read_text() + ZERO_TRAINING_STEP
    rows = rows_of(submission(tmp_path / "zeros", replace={name: text}), MODULE_OF[name], student_tree)
    assert rows
    for item_id, row in rows.items():
        assert row["score"] == 0, (item_id, row["output"])
        if rubric.RUBRIC[item_id].points > 0 or item_id == "f4":
            assert row.get("status") == "failed", (item_id, row["output"])


def test_relu_edge_input_has_positive_and_negative_entries():
    x = graded_layers._inputs()["edge"]["relu_n1"]["x"]
    assert x.shape[0] == 1 and (x > 0).any() and (x < 0).any()


# --------------------------------------------------------------------------------------------------------------------
# numpy only: frameworks loaded at call time by a built name


HIDDEN_IMPORT = ("    grad_x = grad_out * (x > 0)\n",
                 "    import importlib\n    importlib.import_module('sqli' + 'te3')\n    grad_x = grad_out * (x > 0)\n")


def test_framework_loaded_inside_a_function_zeroes_the_file(tmp_path, student_tree, monkeypatch):
    """A watched module (here sqlite3 stands for a framework: it is installed and quick to import) loaded by
    relu_backward through a built name: the call that loaded it fails and the whole file scores 0."""
    monkeypatch.setattr(common, "RULE", numpy_only.Rule("Section 1", numpy_only.FRAMEWORKS + ("sqlite3",)))
    folder = submission(tmp_path / "hidden", edits={"layers.py": [HIDDEN_IMPORT]})
    rows = rows_of(folder, "section1_layers", student_tree)
    for item_id, row in rows.items():
        assert row["score"] == 0, (item_id, row["output"])
        assert "relu_backward loaded sqlite3" in row["output"] and "numpy only" in row["output"], row["output"]


def test_framework_import_attempt_by_built_name_is_caught(tmp_path, student_tree):
    """``__import__("j" + "ax")`` inside fc_forward (jax is not installed here: the attempt alone is caught)."""
    edits = {"layers.py": [("    out = x @ w + b\n",
                            "    try:\n        __import__('j' + 'ax')\n    except ImportError:\n        pass\n"
                            "    out = x @ w + b\n")]}
    rows = rows_of(submission(tmp_path / "attempt", edits=edits), "section1_layers", student_tree)
    for item_id, row in rows.items():
        assert row["score"] == 0, (item_id, row["output"])
        assert "fc_forward loaded jax" in row["output"], row["output"]


def test_probe_process_watches_frameworks_too(tmp_path, student_tree, monkeypatch):
    """training_step loading a watched module in the probe model's own process (4.2) zeroes train.py too."""
    monkeypatch.setattr(common, "RULE", numpy_only.Rule("Section 1", numpy_only.FRAMEWORKS + ("sqlite3",)))
    text = KIT_FILES["train.py"].read_text().replace(
        "def training_step(model, X_batch, y_batch, reg):\n",
        "def training_step(model, X_batch, y_batch, reg):\n    if len(X_batch) == 6:\n"
        "        __import__('sqli' + 'te3')\n", 1)
    rows = rows_of(submission(tmp_path / "probe", replace={"train.py": text}), "section1_training", student_tree)
    for item_id in ("training_step_own_model", "training_step_probe_model"):
        assert rows[item_id]["score"] == 0, rows[item_id]["output"]
        assert "sqlite3" in rows[item_id]["output"], rows[item_id]["output"]


def test_framework_hidden_after_loading_is_still_caught(tmp_path, student_tree, monkeypatch):
    """Loading a watched module, then deleting it from sys.modules and removing the watch: still caught."""
    monkeypatch.setattr(common, "RULE", numpy_only.Rule("Section 1", numpy_only.FRAMEWORKS + ("sqlite3",)))
    hide = ("    grad_x = grad_out * (x > 0)\n",
            "    import sys\n    __import__('sqli' + 'te3')\n"
            "    for _name in [n for n in sys.modules if n.split('.')[0] == 'sqlite3']:\n"
            "        del sys.modules[_name]\n"
            "    grad_x = grad_out * (x > 0)\n")
    rows = rows_of(submission(tmp_path / "hide", edits={"layers.py": [hide]}), "section1_layers", student_tree)
    assert all(row["score"] == 0 for row in rows.values()), rows
    remove = ("    out = x @ w + b\n",
              "    import sys\n    sys.meta_path[:] = [f for f in sys.meta_path if 'ImportLog' not in type(f).__name__]\n"
              "    __import__('sqli' + 'te3')\n    del sys.modules['sqlite3']\n    out = x @ w + b\n")
    rows = rows_of(submission(tmp_path / "remove", edits={"layers.py": [remove]}), "section1_layers", student_tree)
    for item_id, row in rows.items():
        assert row["score"] == 0, (item_id, row["output"])
        assert "Section 1 must use numpy only" in row["output"], row["output"]
