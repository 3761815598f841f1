"""The Section-1 graded tests (autograder/grading/checks/test_{backprop,layers,two_layer_net,training}.py).

The reference earns full marks, the generated stubs earn 0 with "not attempted", each single-bug mutant
(tests/mutants/section1.py) loses points in the right test and only there, renamed parameter keys keep full marks,
a Section-1 file importing a forbidden framework gets 0 with the message, and checkpoint.pkl is scored by accuracy.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import paths
from autograder.grading import compare, numpy_only, rubric, runner, scoring
from autograder.grading.checks import section1_common as common
from autograder.grading.checks import section1_training as graded_training
from autograder.grading.harness import section1_procedures as procedures

SECTION1_MODULES = ["section1_backprop", "section1_layers", "section1_two_layer_net", "section1_training"]
SECTION1_ITEMS = [k for k, item in rubric.RUBRIC.items() if item.check in SECTION1_MODULES]
NUMBER_TO_ID = {item.number: k for k, item in rubric.RUBRIC.items()}
SECTION1_FILES = ("backprop/functions.py", "neuralnet/layers.py", "neuralnet/two_layer_net.py", "neuralnet/train.py")


def _load_mutants():
    spec = importlib.util.spec_from_file_location("section1_mutants", Path(__file__).parent / "mutants" / "section1.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is created
    spec.loader.exec_module(module)
    return module


MUTANTS = _load_mutants()


def make_submission(folder: Path, tree: Path, edits=None, replace_all=None) -> Path:
    """A flat submission folder with the four Section-1 files from ``tree`` (kit/ or the student tree).

    edits: {relative path: [(old, new), ...]} exact substitutions, each old occurring exactly once.
    replace_all: {relative path: [(old, new), ...]} substitutions of every occurrence.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for relative in SECTION1_FILES:
        text = (tree / relative).read_text()
        for old, new in (edits or {}).get(relative, []):
            assert text.count(old) == 1, f"mutant text {old!r} occurs {text.count(old)} times in {relative}"
            text = text.replace(old, new)
        for old, new in (replace_all or {}).get(relative, []):
            assert old in text, f"{old!r} not in {relative}"
            text = text.replace(old, new)
        (folder / Path(relative).name).write_text(text)
    return folder


def grade(submission: Path, student_tree: Path, modules=None) -> dict:
    """rubric id -> (score, max_score, output) for the Section-1 items."""
    results = runner.grade_folder(submission, modules=modules or SECTION1_MODULES, given_dir=student_tree)
    rows = {}
    for test in results["tests"]:
        item_id = NUMBER_TO_ID.get(test.get("number"))
        if item_id is not None:
            rows[item_id] = (test["score"], test["max_score"], test.get("output", ""))
    return rows


@pytest.fixture(scope="session")
def reference_rows(tmp_path_factory, student_tree):
    """The reference submission graded (no checkpoint: checkpoint_accuracy is tested separately)."""
    sub = make_submission(tmp_path_factory.mktemp("reference"), paths.KIT)
    return grade(sub, student_tree)


def test_reference_earns_full_marks(reference_rows):
    assert set(reference_rows) == set(SECTION1_ITEMS)
    for item_id, (score, max_score, output) in reference_rows.items():
        if item_id == "checkpoint_accuracy":
            assert score == 0 and "not found" in output
            continue
        assert score == max_score, f"{item_id}: {score}/{max_score}\n{output}"
    assert "f4: all checks passed" in reference_rows["f4"][2]  # the reference's own f4 takes arguments


def test_stubs_earn_zero_not_attempted(tmp_path, student_tree):
    rows = grade(make_submission(tmp_path / "stubs", student_tree), student_tree)
    for item_id, (score, _, output) in rows.items():
        assert score == 0, f"{item_id}: {score}\n{output}"
        if item_id == "checkpoint_accuracy":
            assert "checkpoint.pkl: not found" in output
        else:
            assert "not attempted" in output, f"{item_id}: {output}"
            assert "Traceback" not in output
    assert rows["fc_backward"][2].startswith("fc_backward: not attempted (raises NotImplementedError).")


@pytest.mark.parametrize("mutant", MUTANTS.MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_points_only_where_expected(tmp_path, student_tree, mutant):
    sub = make_submission(tmp_path / "sub", paths.KIT, edits={mutant.file: list(mutant.edits)})
    rows = grade(sub, student_tree)
    for item_id, (score, max_score, output) in rows.items():
        if item_id == "checkpoint_accuracy":
            continue
        if item_id in mutant.loses:
            assert score < max_score, f"{mutant.name}: {item_id} kept {score}/{max_score}\n{output}"
            assert "Traceback" not in output
        elif item_id not in mutant.may_lose:
            assert score == max_score, f"{mutant.name}: {item_id} lost points: {score}/{max_score}\n{output}"
    failing = "\n".join(rows[i][2] for i in mutant.loses).lower()
    for text in mutant.says:
        assert text.lower() in failing, f"{mutant.name}: feedback lacks {text!r}:\n{failing}"
    for item_id, text in mutant.names_cause:  # knock-on rows lead to the cause
        score, max_score, output = rows[item_id]
        assert score < max_score and text in output, f"{mutant.name}: {item_id} lacks {text!r}:\n{output}"
    for item_id, (_, _, output) in rows.items():  # and name only rows that failed on this submission
        for function, number in re.findall(r"your (\S+) fails (\d+\.\d+): fix that first", output):
            score, max_score, _ = rows[NUMBER_TO_ID[number]]
            assert score < max_score, f"{mutant.name}: {item_id} blames {function} ({number}), which passed"


def test_renamed_parameter_keys_keep_full_marks(tmp_path, student_tree):
    relative, pairs = MUTANTS.RENAMED_KEYS
    sub = make_submission(tmp_path / "sub", paths.KIT, replace_all={relative: list(pairs)})
    assert '"W1"' not in (sub / "two_layer_net.py").read_text()
    rows = grade(sub, student_tree, ["section1_two_layer_net", "section1_training"])
    for item_id, (score, max_score, output) in rows.items():
        if item_id != "checkpoint_accuracy":
            assert score == max_score, f"{item_id}: {score}/{max_score}\n{output}"


def test_consistent_zero_forward_and_backward_earn_nothing(tmp_path, student_tree):
    """A forward and a backward that both return zeros agree with each other's central differences: that agreement
    earns no point (only comparisons with the grader's own reference do), but the hint says where to look."""
    sub = make_submission(tmp_path / "sub", paths.KIT, edits={"neuralnet/two_layer_net.py": [
        ("        cache = (fc1_cache, relu_cache, fc2_cache)\n",
         "        cache = (fc1_cache, relu_cache, fc2_cache)\n        scores = np.zeros_like(scores)\n"),
        ('grads = {"W1": grad_w1, "b1": grad_b1, "W2": grad_w2, "b2": grad_b2}',
         "grads = {k: np.zeros_like(v) for k, v in self.params.items()}")]})
    rows = grade(sub, student_tree, ["section1_two_layer_net"])
    assert rows["two_layer_forward"][0] == 0
    score, _, output = rows["two_layer_backward"]
    assert score == 0, output
    assert "agrees with central differences of your own forward, so look at forward" in output


def test_training_step_probe_grades_only_its_own_logic(tmp_path, student_tree):
    """With the probe model, layers.softmax_loss / l2_regularization answer with the grader's values: a softmax
    bug (charged in 2.5) costs nothing in 4.2, while it does show in 4.1 (the student's whole pipeline)."""
    sub = make_submission(tmp_path / "sub", paths.KIT, edits={"neuralnet/layers.py": [("    grad_x /= N\n", "\n")]})
    rows = grade(sub, student_tree, ["section1_training"])
    assert rows["training_step_probe_model"][0] == rows["training_step_probe_model"][1], rows
    score, max_score, output = rows["training_step_own_model"]
    assert score < max_score
    assert "combines your own softmax_loss, l2_regularization and TwoLayerNet.backward correctly" in output


def test_overall_time_limit_scores_unrun_checks_zero_with_reason(tmp_path, student_tree, monkeypatch):
    """Past rubric.GRADING_WALL_SECONDS nothing more is started: those items get 0 and say why (Gradescope would
    otherwise kill the whole run at its timeout and the student would get nothing at all)."""
    monkeypatch.setattr(rubric, "GRADING_WALL_SECONDS", 0)
    rows = grade(make_submission(tmp_path / "sub", paths.KIT), student_tree, ["section1_layers"])
    assert rows and all(score == 0 for score, _, _ in rows.values())
    for _, _, output in rows.values():
        assert "the autograder's overall time limit (0 s) ran out" in output, output


def test_float32_parameters_get_a_hint(tmp_path, student_tree):
    """float32 parameters cannot pass float64-exact gradient checks: the feedback says why."""
    sub = make_submission(tmp_path / "sub", paths.KIT, edits={"neuralnet/two_layer_net.py": [
        ("weight_scale=1e-3, dtype=np.float64)", "weight_scale=1e-3, dtype=np.float32)")]})
    score, max_score, output = grade(sub, student_tree, ["section1_two_layer_net"])["two_layer_backward"]
    assert score < max_score and "Your parameters are not float64 (float32)" in output


def test_layers_importing_torch_gets_zero_with_message(tmp_path, student_tree):
    sub = make_submission(tmp_path / "sub", paths.KIT)
    layers = sub / "layers.py"
    layers.write_text("import torch  # not allowed in Section 1\n" + layers.read_text())
    rows = grade(sub, student_tree, ["section1_layers"])
    assert rows and all(score == 0 for score, _, _ in rows.values())
    for _, _, output in rows.values():
        assert "layers.py imports torch: Section 1 must use numpy only" in output


def test_dynamic_forbidden_import_is_caught_in_the_sandbox(tmp_path, student_tree):
    """An import the static check cannot see (built name) still zeroes the file's tests (seen in sys.modules)."""
    sub = make_submission(tmp_path / "sub", paths.KIT)
    (sub / "cupy.py").write_text("VERSION = 'fake'\n")  # stands in for the real framework (no GPU library here)
    train = sub / "train.py"
    train.write_text("import importlib\n_accel = importlib.import_module('cu' + 'py')\n" + train.read_text())
    assert numpy_only.forbidden_imports(train, common.RULE) == []
    rows = grade(sub, student_tree, ["section1_training"])
    for item_id in ("training_step_own_model", "training_step_probe_model"):
        score, _, output = rows[item_id]
        assert score == 0 and "train.py imports cupy: Section 1 must use numpy only" in output, output


def test_forbidden_import_in_layers_is_named_in_the_tests_that_load_it(tmp_path, student_tree):
    """layers.py importing a framework: its own tests name it; TwoLayerNet's tests (which load layers.py) name the
    chain. (A fake cupy.py stands in for the framework, so nothing heavy is imported.)"""
    sub = make_submission(tmp_path / "sub", paths.KIT)
    (sub / "cupy.py").write_text("VERSION = 'fake'\n")
    layers = sub / "layers.py"
    layers.write_text("import cupy\n" + layers.read_text())
    rows = grade(sub, student_tree, ["section1_layers", "section1_two_layer_net"])
    score, _, output = rows["fc_forward"]
    assert score == 0 and "layers.py imports cupy: Section 1 must use numpy only" in output
    score, _, output = rows["two_layer_forward"]
    assert score == 0 and "two_layer_net.py imports layers.py, which imports cupy" in output, output


def test_reference_loads_under_private_names():
    before = {name for name in ("layers", "classifier", "two_layer_net", "functions") if name in sys.modules}
    net = common.two_layer_net()
    assert common.layers().__name__.startswith("_dlkit_reference")
    assert net.__name__.startswith("_dlkit_reference")
    after = {name for name in ("layers", "classifier", "two_layer_net", "functions") if name in sys.modules}
    assert after == before  # the flat names used while loading are gone again
    scores, caches = common.two_layer_scores(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4), np.ones((4, 5)),
                                                np.zeros(5))
    assert scores.shape == (2, 5) and np.allclose(scores, 12.0)
    grads = common.two_layer_grads(np.ones((2, 5)), caches)
    assert [g.shape for g in grads] == [(3, 4), (4,), (4, 5), (5,)]


# -- checkpoint accuracy --------------------------------------------------------------------------------------------


def _random_features_checkpoint(cifar10_dir: Path, hidden: int = 800, batches=(1, 2)) -> dict:
    """A TwoLayerNet checkpoint fitted quickly: random ReLU features + ridge-regressed output layer (~43 %)."""
    X, y = [], []
    for i in batches:
        with open(cifar10_dir / f"data_batch_{i}", "rb") as handle:  # our own trusted build of the batches
            batch = pickle.load(handle, encoding="bytes")
        X.append(np.asarray(batch[b"data"], dtype=np.float32) / np.float32(255.0))  # float32: half the memory
        y.append(np.asarray(batch[b"labels"], dtype=np.int64))
    X, y = np.concatenate(X), np.concatenate(y)
    rng = np.random.default_rng(3)
    W1 = 0.02 * rng.standard_normal((X.shape[1], hidden))
    b1 = -(X.mean(axis=0, dtype=np.float64) @ W1)  # centre the features so about half the units are active
    A = np.maximum(X @ W1.astype(np.float32) + b1.astype(np.float32), 0).astype(np.float64)
    A1 = np.concatenate([A, np.ones((A.shape[0], 1))], axis=1)
    out = np.linalg.solve(A1.T @ A1 + 10.0 * np.eye(hidden + 1), A1.T @ np.eye(10)[y])
    return {"W1": W1, "b1": b1, "W2": out[:-1], "b2": out[-1]}


@pytest.mark.data
@pytest.mark.slow
def test_checkpoint_accuracy_full_and_zero(tmp_path, student_tree, cifar10_dir):
    sub = make_submission(tmp_path / "good", paths.KIT)
    ckpt = _random_features_checkpoint(cifar10_dir)
    # Unusual keys and order: identification is by shape.
    with open(sub / "checkpoint.pkl", "wb") as handle:
        pickle.dump({"second_b": ckpt["b2"], "first": ckpt["W1"], "first_b": ckpt["b1"], "second": ckpt["W2"]}, handle)
    score, max_score, output = grade(sub, student_tree, ["section1_training"])["checkpoint_accuracy"]
    assert score == max_score, output
    assert "CIFAR-10 test accuracy" in output

    rng = np.random.default_rng(0)
    weak = {"W1": 1e-3 * rng.standard_normal((3072, 16)), "b1": np.zeros(16),
            "W2": 1e-3 * rng.standard_normal((16, 10)), "b2": np.zeros(10)}
    with open(sub / "checkpoint.pkl", "wb") as handle:
        pickle.dump(weak, handle)
    score, _, output = grade(sub, student_tree, ["section1_training"])["checkpoint_accuracy"]
    assert score == 0 and "CIFAR-10 test accuracy" in output and "full credit from 40 %" in output


@pytest.mark.data
def test_checkpoint_training_record_is_never_taken_for_weights(tmp_path, student_tree, cifar10_dir):
    """train.py's checkpoint carries a training record (_training) next to the weights; the grader identifies the
    weights only, even when the record holds arrays of a bias's length (10 losses, 16 = hidden size)."""
    sub = make_submission(tmp_path / "sub", paths.KIT)
    rng = np.random.default_rng(1)
    record = {"hyperparameters": {"hidden_dim": 16, "reg": 0.1}, "loss": np.arange(10.0), "train_acc": [1.0] * 16,
              "val_acc": list(range(16))}
    weights = {"W1": 1e-3 * rng.standard_normal((3072, 16)), "b1": np.zeros(16),
               "W2": 1e-3 * rng.standard_normal((16, 10)), "b2": np.zeros(10)}
    with open(sub / "checkpoint.pkl", "wb") as handle:
        pickle.dump({"_training": record, **weights}, handle)  # the record first: order must not matter
    score, _, output = grade(sub, student_tree, ["section1_training"])["checkpoint_accuracy"]
    assert "CIFAR-10 test accuracy" in output and "arrays W1, b1, W2, b2" in output, output


def test_checkpoint_unloadable_or_wrong_gets_zero_with_reason(tmp_path, student_tree):
    sub = make_submission(tmp_path / "sub", paths.KIT)
    (sub / "checkpoint.pkl").write_bytes(b"this is not a pickle")
    score, _, output = grade(sub, student_tree, ["section1_training"])["checkpoint_accuracy"]
    assert score == 0 and "checkpoint.pkl: could not be loaded" in output and "Traceback" not in output
    with open(sub / "checkpoint.pkl", "wb") as handle:
        pickle.dump({"W": np.zeros((3072, 10)), "b": np.zeros(10)}, handle)  # a linear classifier, not a TwoLayerNet
    score, _, output = grade(sub, student_tree, ["section1_training"])["checkpoint_accuracy"]
    assert score == 0 and "not a TwoLayerNet checkpoint" in output


def test_checkpoint_score_is_linear_between_thresholds():
    t = rubric.THRESHOLDS["checkpoint_accuracy"]
    assert scoring.threshold_score(t["full"], 10, t) == 10  # at the threshold: full credit (not strict)
    assert scoring.threshold_score(t["partial"], 10, t) == 0.0
    assert scoring.threshold_score((t["full"] + t["partial"]) / 2, 10, t) == pytest.approx(5.0)
    assert scoring.threshold_score(t["partial"] - 5, 10, t) == 0.0


def test_identify_two_layer_by_shape_with_ties_in_order():
    h = 10  # hidden size equal to the number of classes: b1 and b2 tie, their order decides
    arrays = [np.ones((3072, h)), np.full(h, 1.0), np.ones((h, 10)), np.full(10, 2.0)]
    weights, keys, why = graded_training.identify_two_layer(["a", "b", "c", "d"], arrays)
    assert why is None and keys == ["a", "b", "c", "d"] and weights[3][0] == 2.0
    _, _, why = graded_training.identify_two_layer(["W"], [np.ones((3072, 10))])
    assert "no W2 (H, 10)" in why


# -- feedback and harness units ---------------------------------------------------------------------------------------


def test_feedback_messages():
    assert compare.compare_array(np.ones((2, 3)), np.ones((2, 3))) is None
    assert compare.compare_array(np.ones((2, 3)), None) == "returned None"
    assert compare.compare_array(np.arange(6.0).reshape(2, 3), np.ones((3, 2))) == "shape (3, 2) instead of (2, 3)"
    assert compare.compare_array(np.ones(2), np.array([1.0, np.nan])) == "contains nan (expected finite values)"
    assert ("max relative error 3.3e-01 (tolerance 1e-07), at [1] expected 1, got 2"
            == compare.compare_array(np.ones(2), np.array([1.0, 2.0])))
    assert compare.compare_array(np.zeros((2, 3)), np.eye(2, 3)).endswith("at [0, 0] expected 0, got 1")
    assert compare.unpack((1, 2), ("grad_x", "grad_w", "grad_b"))[1] == (
        "returned a tuple of 2 values instead of a tuple of 3 (grad_x, grad_w, grad_b)")
    assert compare.compare_scalar(1.0, np.array([1.0])) is None
    checks = scoring.Checks("fc_backward")
    checks.add("grad_x", 1, None)
    checks.add("grad_w", 1, "fc_backward: grad_w wrong for x (4, 5), w (5, 3): max relative error 3.2e-01 "
                            "(tolerance 1e-07).")
    assert checks.fraction == 0.5
    assert checks.report().splitlines()[0].startswith("fc_backward: grad_w wrong for x (4, 5), w (5, 3)")


def test_recognized_mistakes_are_named():
    """got.T == expected, got == -expected, got * N == expected and got == N * expected each get their own hint; a
    result wrong in any other way gets none."""
    e = np.arange(1.0, 16.0).reshape(5, 3)
    assert compare.compare_array(e, e.T).endswith(": it is the transpose of the expected (5, 3) result (check the "
                                                   "order of the matrix product's factors and which of them is "
                                                   "transposed)")
    square = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert "it is the transpose of the expected (2, 2) result" in compare.compare_array(square, square.T)
    assert compare.compare_array(e, -e).endswith(": it has the opposite sign of the expected result (every entry "
                                                  "negated)")
    assert compare.compare_scalar(2.5, -2.5).endswith(": it has the opposite sign of the expected value")
    assert compare.compare_array(e, e / 4, batch=4).endswith(
        ": it is the expected divided by the batch size N = 4: you averaged over the batch; sum over it instead")
    assert compare.compare_array(e, e * 4, batch=4).endswith(
        ": it is N = 4 (the batch size) times the expected: you summed over the batch; average over it instead "
        "(divide by N)")
    assert "you summed over the batch" in compare.compare_scalar(2.5, 10.0, batch=4)
    for got, batch in ((e / 4, None), (e * 2, 4), (e + 1, 4), (np.zeros_like(e), 4)):
        reason = compare.compare_array(e, got, batch=batch)
        assert reason and not compare.names_mistake(reason), reason
    assert compare.recognized_mistake(np.zeros(3), np.zeros(3)) is None


def test_knock_on_causes_name_only_failed_upstream_roots():
    """A row names the upstream rows that failed and are not themselves knock-ons of another failure."""
    from autograder.grading.session import Session
    session = Session(Path("."), paths.REPO)
    session.results.update({"fc_forward": True, "fc_backward": False, "relu_forward": True, "relu_backward": True,
                            "softmax_loss": True, "l2_regularization": True, "two_layer_forward": True,
                            "two_layer_backward": False})
    line = "your fc_backward fails 2.2: fix that first (this check runs it, so its mistake shows here too)."
    assert scoring.knock_on_causes(session, "training_step_own_model") == [line]
    assert scoring.knock_on_causes(session, "two_layer_backward") == [line]
    assert scoring.knock_on_causes(session, "two_layer_forward") == []
    assert scoring.knock_on_causes(session, "layers_edge_cases", upstream=["relu_backward"]) == []
    session.results["fc_backward"] = True  # now TwoLayerNet.backward is the cause
    assert scoring.knock_on_causes(session, "training_step_own_model") == [
        "your TwoLayerNet.backward fails 3.3: fix that first (this check runs it, so its mistake shows here too)."]
    session.results.clear()  # nothing graded upstream (only this module ran): nothing is blamed
    assert scoring.knock_on_causes(session, "training_step_own_model") == []


def test_load_by_shape_matches_live_arrays_in_dict_order():
    params = {"b_out": np.zeros(3), "w_in": np.zeros((4, 3)), "b_in": np.zeros(3), "w_out": np.zeros((3, 3))}
    given = [np.ones((4, 3)), np.full(3, 2.0), np.full((3, 3), 3.0), np.full(3, 4.0)]
    names = procedures._load_by_shape(params, given)
    assert names == ["w_in", "b_out", "w_out", "b_in"]  # ties resolved by parameters() order
    assert params["b_out"][0] == 2.0 and params["b_in"][0] == 4.0
    with pytest.raises(ValueError, match=r"no parameter of shape \(5, 5\)"):
        procedures._load_by_shape(params, [np.ones((5, 5))])


def test_harness_procedures_hold_no_reference_code():
    """The harness runs next to the student's code: it must not import or embed the reference. (Its stand-in
    ``layers`` for the probe check answers from the grader's table and computes nothing.)"""
    text = Path(procedures.__file__).read_text()
    for marker in ("kit", "reference"):
        assert f"import {marker}" not in text and f"from {marker}" not in text
    for marker in ("np.exp", "np.log", "np.maximum"):
        assert marker not in text, marker
    # calling the student's module (module.fc_forward(...)) is what the harness is for; a function of its own is not
    assert not re.search(r"(?<![.\w])(relu|fc)_(forward|backward)\(", text)


def test_training_step_rule_is_stated_in_the_grader_the_local_check_and_the_readme(tmp_path):
    """training_step written for its own parameter names: 4.2's feedback (mutant training_step_params_by_name), the
    local check gradcheck_classifier.py and the student README's task list all state the same rule."""
    rule = graded_training.TRAINING_STEP_RULE
    assert rule.startswith("training_step must work for any model: take the weights from model.parameters()")
    local = paths.KIT / "neuralnet" / "gradcheck_classifier.py"
    assigned = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(local.read_text()).body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "TRAINING_STEP_RULE"}
    assert assigned == {"TRAINING_STEP_RULE": rule}
    readme = " ".join((paths.REPO / "STUDENT-README.md").read_text().split())
    assert rule in readme
    kit = tmp_path / "neuralnet"
    kit.mkdir()
    for source in (paths.KIT / "neuralnet").glob("*.py"):
        (kit / source.name).write_text(source.read_text())
    train = kit / "train.py"
    train.write_text(train.read_text().replace("        if param.ndim == 2:\n",
                                               '        if param is model.parameters()["W1"]:\n', 1))
    result = subprocess.run([sys.executable, local.name], cwd=kit, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=300, env=dict(os.environ, MPLBACKEND="Agg"))
    assert result.returncode != 0 and "Traceback" not in result.stdout, result.stdout
    assert f"training_step (LinearClassifier): FAIL: {rule}. Yours raised KeyError: 'W1'" in result.stdout, \
        result.stdout
