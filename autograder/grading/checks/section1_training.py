"""Graded tests for neuralnet/train.py (rubric items 4.1-4.2) and the trained checkpoint.pkl (4.3).

training_step is graded with the student's own TwoLayerNet and with a harness probe model (linear, unusual key
names, biases listed first), never assuming key names. Expected: softmax loss of the model's scores plus L2
regularization of every 2-D parameter (the weight matrices, not the biases); gradients = the model's backward of the
softmax gradient plus reg * W for the weights, all computed here with the reference layers.

Only values computed here decide points: the sandboxed process runs the student's code, which may patch anything
there, so nothing it computes can serve as an expectation. For the probe model (4.2) the student's ``layers`` is
replaced in the sandbox by a table of this grader's answers for the probe's exact arguments
(``section1_procedures._answering_layers``), so a bug in softmax_loss or l2_regularization (charged in 2.5 and 2.6)
costs nothing here; with the student's own TwoLayerNet (4.1) everything is the student's, and the student's own
pieces are used only for a hint saying where the difference comes from.

checkpoint.pkl is unpickled only in the sandbox, which sends back its arrays; they are identified by shape and the
REFERENCE forward is evaluated here on the CIFAR-10 test set with the kit's preprocessing (uint8 / 255).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import numpy as np

from autograder import eval_data
from autograder.grading import compare, rubric
from autograder.grading.compare import compare_array, compare_scalar, outcome_problem
from autograder.grading.scoring import Checks, finish, threshold_score
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.checks import section1_common as common
from autograder.grading.student_code import Call

FILE = "train.py"
MODULE = "train"
PROCEDURES = common.PROCEDURES
SEED = 8_822_019  # fixed so grading is deterministic; not a seed the kit uses
DIMS = (7, 4, 6)  # TwoLayerNet(input_dim, num_classes, hidden_dim): no two parameters share a shape
PROBE_DIMS = (5, 3, 4)  # ProbeModel: proj_in (5, 3), shift_mid (3,), proj_out (3, 4), shift_out (4,)
PROBE_KEYS = ["proj_in", "shift_mid", "proj_out", "shift_out"]  # the harness ProbeModel's keys, in weights' order
REG = 0.25
PROBE_REG = 0.4
CHECKPOINT = "checkpoint.pkl"
CHECKPOINT_SEND_BYTES = 48 * 1024 * 1024  # bigger checkpoints come back as float32 (the result cap is 64 MB)
INPUT_DIM, NUM_CLASSES = 3072, 10
EVAL_BATCH = 1000


def _inputs() -> dict:
    rng = np.random.default_rng(SEED)
    d, c, h = DIMS
    pd, ph, pc = PROBE_DIMS
    # Weights of order 1, so the L2 term is a sizeable part of the loss and of the gradients.
    own = [rng.standard_normal((d, h)), 0.5 * rng.standard_normal(h), rng.standard_normal((h, c)),
           0.5 * rng.standard_normal(c)]
    probe = [0.8 * rng.standard_normal((pd, ph)), 0.5 * rng.standard_normal(ph), 0.8 * rng.standard_normal((ph, pc)),
             0.5 * rng.standard_normal(pc)]
    return {"own": {"weights": own, "X": rng.standard_normal((8, d)), "y": rng.integers(0, c, 8).astype(np.int64)},
            "probe": {"weights": probe, "X": rng.standard_normal((6, pd)),
                      "y": rng.integers(0, pc, 6).astype(np.int64)}}


def _calls(inp: dict) -> list:
    own = inp["own"]
    return [Call("frameworks", MODULE, f"{PROCEDURES}.loaded_frameworks", args=(list(common.RULE.forbidden),)),
            Call("own", MODULE, f"{PROCEDURES}.training_step_own", args=(DIMS, own["weights"], own["X"], own["y"],
                                                                          REG))]


def _probe_call(inp: dict) -> Call:
    """The probe check, alone in a fresh process (it imports train itself, after the answering layers)."""
    probe = inp["probe"]
    parts = _reference_parts(probe["weights"], probe["X"], probe["y"], PROBE_REG, probe=True)
    answers = {"scores": parts["scores"], "y": probe["y"], "loss": parts["data_loss"], "dscores": parts["dscores"],
               "reg": PROBE_REG, "l2": [[w, float(loss), grad] for w, (loss, grad) in zip(probe["weights"],
                                                                                          parts["l2"])]}
    return Call("probe", None, f"{PROCEDURES}.training_step_probe",
                args=(probe["weights"], probe["X"], probe["y"], PROBE_REG, answers))


def _probe_forward_backward(weights, X, grad_fn):
    """The probe model (see harness ProbeModel), computed here: (scores (N, C), grads of [proj_in, shift_mid,
    proj_out, shift_out] for the upstream gradient grad_fn(scores))."""
    proj_in, shift_mid, proj_out, shift_out = weights
    mid = X @ proj_in + shift_mid
    scores = mid @ proj_out + shift_out
    g = grad_fn(scores)
    g_mid = g @ proj_out.T
    return scores, [X.T @ g_mid, g_mid.sum(axis=0), mid.T @ g, g.sum(axis=0)]


def _reference_parts(weights, X, y, reg, probe: bool) -> dict:
    """What training_step should combine, from the reference layers: data loss, model grads, l2 per parameter."""
    ref = common.layers()
    if probe:
        box = {}

        def grad_fn(scores):
            box["loss"], box["grad"] = ref.softmax_loss(scores, y)
            return box["grad"]
        scores, model_grads = _probe_forward_backward(weights, X, grad_fn)
        data_loss, dscores = box["loss"], box["grad"]
    else:
        scores, caches = common.two_layer_scores(X, *weights)
        data_loss, dscores = ref.softmax_loss(scores, y)
        model_grads = list(common.two_layer_grads(dscores, caches))
    return {"data_loss": float(data_loss), "model_grads": model_grads, "scores": scores, "dscores": dscores,
            "l2": [ref.l2_regularization(w, reg) for w in weights]}


def _student_parts(parts) -> Optional[dict]:
    """The student's own pieces from the harness, or None when they did not run or are not usable numbers."""
    if not isinstance(parts, dict) or "error" in parts:
        return None
    try:
        data_loss = float(np.asarray(parts["data_loss"], dtype=np.float64).reshape(-1)[0])
        grads = [np.asarray(g, dtype=np.float64) for g in parts["model_grads"]]
        l2 = [(float(np.asarray(item[0], dtype=np.float64).reshape(-1)[0]), np.asarray(item[1], dtype=np.float64))
              for item in parts["l2"]]
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    return {"data_loss": data_loss, "model_grads": grads, "l2": l2}


# The rule 4.2 enforces, stated in its feedback, in neuralnet/gradcheck_classifier.py and in STUDENT-README.md's
# task table (tests/test_graded_section1.py checks the three agree).
TRAINING_STEP_RULE = ("training_step must work for any model: take the weights from model.parameters() and "
                      "regularize every 2-D parameter, whatever its name (not model.W1 or params['W1'])")
# Errors that say training_step reached for a parameter by a name the model does not have.
NAME_ERRORS = ("AttributeError", "KeyError")


def _rule_problem(outcome, what: str) -> Optional[str]:
    """The rule, when train.py raised AttributeError / KeyError on a model other than the student's own."""
    message = (outcome.message or "").strip()
    if outcome.status != "error" or not message.startswith(NAME_ERRORS) or "train.py" not in message:
        return None
    return f"{TRAINING_STEP_RULE}. With {what}, yours raised {message}."


REPORT_KEYS = ("names", "param_keys", "result_kind", "loss", "grad_type", "grad_keys", "grads")


def _grade_training_step(checks: Checks, outcome, weights, expected: dict, what: str, keys_weight: float,
                         names: Optional[List[str]] = None) -> None:
    """Sub-checks of one training_step result against ``expected`` (from :func:`_reference_parts`); ``names`` are
    the parameter names when the grader knows them (the probe model's)."""
    labels = ["loss", "weight gradients", "bias gradients"] + (["grads keyed like parameters()"] if keys_weight else [])
    rule = names is not None and _rule_problem(outcome, what)
    if rule:  # the probe model: a name error means the rule was broken, so say the rule
        for label in labels:
            checks.add(label, keys_weight if label.startswith("grads keyed") else 1, rule)
        return
    problem = outcome_problem(outcome, "training_step") or compare.report_problem(
        outcome.value, REPORT_KEYS, names=names, count=len(weights), per_name=("grads",))
    if problem:
        for label in labels:
            checks.fail(label, keys_weight if label.startswith("grads keyed") else 1, problem)
        return
    info = outcome.value
    names = info["names"]
    is_weight = [np.ndim(w) == 2 for w in weights]
    if info["result_kind"] != "pair":
        why = f"returned a {info['result_kind']} instead of (loss, grads)"
        for label in labels:
            checks.fail(label, keys_weight if label.startswith("grads keyed") else 1, why)
        return
    # loss
    data_loss, l2 = expected["data_loss"], expected["l2"]
    right = data_loss + sum(item[0] for item, w in zip(l2, is_weight) if w)
    batch = int(np.shape(expected["scores"])[0]) if "scores" in expected else None
    loss_problem = compare_scalar(right, info["loss"], batch=batch)
    if loss_problem:
        hints = {"the L2 regularization term is missing from the loss": data_loss,
                 "the loss regularizes the biases too (L2 applies to the weight matrices only: 2-D parameters)":
                     data_loss + sum(item[0] for item in l2)}
        for hint, wrong in hints.items():
            if compare_scalar(wrong, info["loss"]) is None:
                loss_problem = hint
        loss_problem = f"training_step ({what}): loss wrong: {loss_problem}."
    checks.add("loss", 1, loss_problem)
    # gradients, by role
    grads = info["grads"]
    weight_problems, bias_problems = [], []
    for i, name in enumerate(names):
        got = grads[i]
        target = weight_problems if is_weight[i] else bias_problems
        if got is None:
            target.append(f"training_step ({what}): grads has no entry {name!r} (grads must have the keys of "
                          f"model.parameters(): {info['param_keys']}).")
            continue
        model_grad, reg_grad = expected["model_grads"][i], l2[i][1]
        if is_weight[i]:
            right_grad, hint, wrong = (model_grad + reg_grad, "the regularization gradient reg * W is missing",
                                       model_grad)
        else:
            right_grad, hint, wrong = (model_grad, "biases are not regularized, but their gradient includes reg * b",
                                       model_grad + reg_grad)
        detail = compare_array(right_grad, got, batch=batch)
        if detail is None:
            continue
        if compare_array(wrong, got) is None:
            detail = hint
        target.append(f"training_step ({what}): gradient of {name!r} {compare.describe_shape(right_grad)} wrong: "
                      f"{detail}.")
    checks.add("weight gradients", 1, weight_problems[0] if weight_problems else None)
    checks.add("bias gradients", 1, bias_problems[0] if bias_problems else None)
    if keys_weight:
        keys = info["grad_keys"]
        problem = None
        if keys is None:
            problem = f"training_step ({what}): grads is a {info['grad_type']}, not a dict keyed like parameters()."
        elif sorted(map(str, keys)) != sorted(names or info["param_keys"]):
            problem = (f"training_step ({what}): grads has keys {keys}; model.parameters() has {info['param_keys']} "
                       "(do not assume key names such as 'W1').")
        elif all(_constant(g) for g in grads):
            # The right keys with zeros (or one value) in every gradient are no computation: no credit for keys.
            problem = (f"training_step ({what}): every gradient it returned holds a single value (all zeros?): the "
                       "keys earn credit once the gradients are computed.")
        checks.add("grads keyed like parameters()", keys_weight, problem)


def _constant(value) -> bool:
    """Whether a returned gradient is missing, not numbers, or holds one value throughout (np.zeros_like)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return True
    return arr.size == 0 or bool(np.all(arr == arr.reshape(-1)[0]))


class TestTrainingStep(GradedTestCase):
    """neuralnet/train.py: training_step with the student's TwoLayerNet and with a probe model."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inp = _inputs()
        cls.out, cls.problem = common.run_batch(cls, FILE, _calls(cls.inp))
        if not cls.problem:
            probe = [_probe_call(cls.inp)]
            cls.out.update(common.run_calls(cls, probe))
            cls.problem = common.numpy_only.loaded_problem(common.RULE, FILE, probe, cls.out)

    def _own_pieces_hint(self, checks: Checks) -> None:
        """When 4.1 fails: say whether training_step combines the student's own pieces right (a hint, no points)."""
        case, outcome = self.inp["own"], self.out["own"]
        if checks.fraction >= 1.0 or outcome.status != "ok" or not isinstance(outcome.value, dict):
            return
        parts = outcome.value.get("parts")
        own = _student_parts(parts)
        if own is None:
            if isinstance(parts, dict) and "error" in parts:
                checks.note(f"(your softmax_loss / l2_regularization / TwoLayerNet.backward raised {parts['error']})")
            return
        trial = Checks("training_step")
        _grade_training_step(trial, outcome, case["weights"], own, "", 0)
        if trial.fraction >= 1.0:
            pieces = ("softmax_loss", "l2_regularization", "two_layer_backward")
            failed = [r for r in pieces if self.session.row_passed(r) is False]
            where = (", ".join(f"{rubric.RUBRIC[r].function} fails {rubric.RUBRIC[r].number}" for r in failed)
                     if failed else "see 2.5, 2.6 and 3.3")
            checks.note("training_step combines your own softmax_loss, l2_regularization and TwoLayerNet.backward "
                        f"correctly: the difference comes from one of those ({where}).")

    @graded("training_step_own_model")
    def test_training_step_own_model(self, set_score=None):
        common.stop_if_not_numpy_only(self, self.problem, set_score)
        checks = Checks("training_step")
        case = self.inp["own"]
        expected = _reference_parts(case["weights"], case["X"], case["y"], REG, probe=False)
        _grade_training_step(checks, self.out["own"], case["weights"], expected,
                             f"your TwoLayerNet{DIMS}, reg = {REG}", 0)
        self._own_pieces_hint(checks)
        finish(self, checks, set_score, "training_step_own_model")

    @graded("training_step_probe_model")
    def test_training_step_probe_model(self, set_score=None):
        common.stop_if_not_numpy_only(self, self.problem, set_score)
        checks = Checks("training_step")
        case = self.inp["probe"]
        expected = _reference_parts(case["weights"], case["X"], case["y"], PROBE_REG, probe=True)
        _grade_training_step(checks, self.out["probe"], case["weights"], expected,
                             f"a linear model with keys {', '.join(PROBE_KEYS)}, reg = {PROBE_REG}", 1, PROBE_KEYS)
        if checks.fraction < 1.0 and self.session.row_passed("training_step_own_model") and not any(
                TRAINING_STEP_RULE in (item.problem or "") for item in checks.items):
            checks.note(f"training_step passes 4.1 with your TwoLayerNet but not with this model: {TRAINING_STEP_RULE}.")
        if checks.fraction < 1.0:
            checks.note("(in this check layers.softmax_loss and layers.l2_regularization return the right answers "
                        "for the model's scores and parameters, so only training_step's own logic is graded)")
        finish(self, checks, set_score, "training_step_probe_model")


# --------------------------------------------------------------------------------------------------------------------
# checkpoint.pkl


def _cifar10_test(session):
    """(X uint8 (10000, 3072), y int64 (10000,)) from the session's eval folder, else eval_data; None if absent."""
    if session.eval_dir is not None:
        path = Path(session.eval_dir) / eval_data.CIFAR10_FILE
        if path.is_file():
            with np.load(path, allow_pickle=False) as data:
                return data["X"], data["y"]
    return eval_data.cifar10_test()


def identify_two_layer(keys: List[str], arrays: List[np.ndarray]):
    """Find W1 (3072, H), b1 (H,), W2 (H, 10), b2 (10,) among the checkpoint's arrays by shape (in order on ties).

    Biases stored as (1, n) count as (n,). Returns ([W1, b1, W2, b2] float64, their keys, None) or
    (None, None, reason).
    """
    vecs = [a.reshape(-1) if a.ndim == 2 and a.shape[0] == 1 else a for a in arrays]
    used = set()

    def take(pred):
        for i, a in enumerate(vecs):
            if i not in used and pred(a):
                used.add(i)
                return i
        return None

    have = ", ".join(f"{k} {tuple(a.shape)}" for k, a in zip(keys, arrays)) or "no arrays"
    i_w1 = take(lambda a: a.ndim == 2 and a.shape[0] == INPUT_DIM)
    if i_w1 is None:
        return None, None, f"no first-layer weight of shape (3072, H) (it holds: {have})"
    hidden = vecs[i_w1].shape[1]
    i_w2 = take(lambda a: a.ndim == 2 and a.shape == (hidden, NUM_CLASSES))
    i_b1 = take(lambda a: a.shape == (hidden,))
    i_b2 = take(lambda a: a.shape == (NUM_CLASSES,))
    missing = [n for n, i in (("W2 (H, 10)", i_w2), ("b1 (H,)", i_b1), ("b2 (10,)", i_b2)) if i is None]
    if missing:
        return None, None, f"with W1 {vecs[i_w1].shape}, no {', '.join(missing)} (it holds: {have})"
    order = [i_w1, i_b1, i_w2, i_b2]
    return [vecs[i].astype(np.float64) for i in order], [keys[i] for i in order], None


def reference_accuracy(weights: List[np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Test accuracy in percent of the reference FC -> ReLU -> FC with ``weights`` on uint8 images X (N, 3072)."""
    correct = 0
    for start in range(0, X.shape[0], EVAL_BATCH):
        batch = X[start:start + EVAL_BATCH].astype(np.float64) / 255.0  # the kit's preprocessing
        scores, _ = common.two_layer_scores(batch, *weights)
        correct += int(np.sum(np.argmax(scores, axis=1) == y[start:start + EVAL_BATCH]))
    return 100.0 * correct / X.shape[0]


class TestCheckpoint(GradedTestCase):
    """checkpoint.pkl: the submitted trained TwoLayerNet's CIFAR-10 test accuracy."""


    @graded("checkpoint_accuracy")
    def test_checkpoint_accuracy(self, set_score=None):
        session = self.grading_session()
        common.stop_if_not_numpy_only(self, common.numpy_only.problem(common.RULE, session.submission_dir, FILE),
                                      set_score)
        if not (Path(session.submission_dir) / CHECKPOINT).is_file():
            set_score(0.0)
            self.fail_with(f"{CHECKPOINT}: not found in the submission (train.py writes it with --checkpoint-file).")
        data = _cifar10_test(session)
        if data is None:
            raise session.fault("the CIFAR-10 evaluation arrays are missing from the autograder")
        outcome = self.run_student([Call("checkpoint", None, f"{PROCEDURES}.checkpoint_arrays",
                                         args=(CHECKPOINT, CHECKPOINT_SEND_BYTES))], limits="checkpoint")["checkpoint"]
        problem = outcome_problem(outcome, "checkpoint")
        if problem:
            set_score(0.0)
            self.fail_with(f"{CHECKPOINT}: could not be loaded: {problem}.")
        info = outcome.value
        if not info["found"]:
            set_score(0.0)
            self.fail_with(f"{CHECKPOINT}: not found in the submission.")
        weights, keys, why = identify_two_layer(info["keys"], info["arrays"])
        if why:
            set_score(0.0)
            self.fail_with(f"{CHECKPOINT}: not a TwoLayerNet checkpoint: {why}.")
        X, y = data
        accuracy = reference_accuracy(weights, X, y)
        points = rubric.RUBRIC["checkpoint_accuracy"].points
        t = rubric.THRESHOLDS["checkpoint_accuracy"]
        score = threshold_score(accuracy, points, t)
        set_score(round(score, 4))
        message = (f"{CHECKPOINT}: CIFAR-10 test accuracy {accuracy:.2f} % (hidden size {weights[0].shape[1]}; "
                   f"arrays {', '.join(keys)}); full credit from {t['full']:g} %, partial from {t['partial']:g} %.")
        if score < points:
            self.fail_with(message)
        print(message)
