"""Graded tests for Section 3b: smalldata/models.py and smalldata/helpers.py (rubric items 7.1-7.7).

The student's models are built INSIDE the sandbox by harness/section3b_procedures.py, which reports what their forward
computes (every tensor operation it ran, with input and output shapes, whatever module or function called it; the
output for the grader's seeded input); the grader decides from that, never from class names. 7.8 is the grader's own
run of part4.ipynb (autograder/grading/notebook_runs.py). The helpers are called in the sandbox on the grader's
seeded inputs and on a flatten + linear model with the grader's weights, so every expected value (the subset's class
counts, the SGD losses and trained weights, the accuracy and the confusion matrix) is computed here, in numpy, from
the grader's own inputs, drawn afresh for every grading (Session.rng): no number the student's code or notebook
prints is trusted. All calls run in one sandbox process (torch is imported once).
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from autograder.grading import notebook_runs
from autograder.grading.compare import compare_array, names_mistake, outcome_problem, relative_error
from autograder.grading.scoring import Checks, finish
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.student_code import Call
from autograder.parts import section3b

# The tensor operations (aten names) the structure checks look for in what forward ran.
CONV_OPS = frozenset({"convolution", "_convolution", "conv1d", "conv2d", "conv3d", "cudnn_convolution",
                      "mkldnn_convolution"})
MAX_POOL_OPS = frozenset({"max_pool1d", "max_pool2d", "max_pool2d_with_indices", "max_pool3d",
                          "max_pool3d_with_indices", "adaptive_max_pool2d", "fractional_max_pool2d"})
POOL_OPS = MAX_POOL_OPS | frozenset({"avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
                                     "adaptive_avg_pool2d", "_adaptive_avg_pool2d", "lp_pool2d"})
LINEAR_OPS = frozenset({"addmm", "mm", "matmul", "linear", "bmm"})
ACTIVATION_OPS = {"Tanh": "tanh", "Sigmoid": "sigmoid", "ReLU": "relu"}
NOTEBOOK = "part4.ipynb"
# Every run_experiment call draws one figure (loss curve + confusion matrix); at least 3 + 3 MNIST runs, 3 CIFAR-10
# runs and 3 runs per training-set size of the transfer-learning comparison, plus the accuracy-vs-size plot.
NOTEBOOK_MIN_FIGURES = 10
NOTEBOOK_MARKERS = (("dataset: ", "the dataset line printed by the MNIST cell"),
                    ("transfer-learning table", "the transfer-learning table printed after the accuracy plot"))

MODELS = "models"
HELPERS = "helpers"
PROCEDURES = "section3b_procedures"
SEED = 3_052_117  # mixed with the grading's secret seed (Session.rng): feedback values change every grading
MODEL_SEED = 11  # torch.manual_seed before each model is built: two activations get the same weights
TOL_TRAIN = 1e-4  # float32 training in torch vs the grader's float64 SGD


def _inputs(rng: np.random.Generator) -> dict:
    """Every input of this module's checks, from one seeded generator."""
    gray = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    color = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    targets = rng.integers(0, 10, size=600).astype(np.int64)
    few = rng.integers(0, 9, size=100).astype(np.int64)  # labels 0..8, then two examples of class 9
    few[:2] = 9
    train = [{"w": 0.3 * rng.standard_normal((3, 16)), "b": 0.1 * rng.standard_normal(3),
              "x": rng.standard_normal((32, 1, 4, 4)).astype(np.float32),
              "y": rng.integers(0, 3, size=32).astype(np.int64), "batch": 8, "epochs": e, "lr": lr, "momentum": m}
             for e, lr, m in ((3, 0.2, 0.0), (2, 0.1, 0.9))]
    metrics = {"w": rng.standard_normal((4, 16)), "b": 0.1 * rng.standard_normal(4),
               "x": rng.standard_normal((40, 1, 4, 4)).astype(np.float32),
               "y": rng.integers(0, 4, size=40).astype(np.int64), "batch": 16, "num_classes": 5}
    classes = [7, 2, 5]
    # per_class = the smallest of those classes' sizes (about 60): that class is taken whole and the others nearly
    # so, which a draw with replacement cannot match without repeating an index (the chance is below 1e-20)
    per_class = int(min((targets == c).sum() for c in classes))
    return {"gray": gray, "color": color, "targets": targets, "classes": classes, "per_class": per_class,
            "seeds": [101, 202], "few": few, "few_classes": [1, 9], "train": train, "metrics": metrics}


def _calls(inp: dict) -> List[Call]:
    arch = f"{PROCEDURES}.architecture"
    calls = [
        Call("fc/3", MODELS, arch, args=("FC_only", {"num_classes": 3}, inp["gray"])),
        Call("fc/5", MODELS, arch, args=("FC_only", {"num_classes": 5}, inp["gray"])),
        Call("gray/3", MODELS, arch, args=("Grayscale1Convolution", {"num_classes": 3}, inp["gray"])),
    ]
    for act in ("ReLU", "Tanh", "Sigmoid"):
        calls.append(Call(f"gray/5/{act}", MODELS, arch, args=("Grayscale1Convolution", {"num_classes": 5},
                                                                inp["gray"], act, MODEL_SEED)))
    calls += [
        Call("cifar/10", MODELS, arch, args=("CifarOneConv", {}, inp["color"])),
        Call("cifar/4", MODELS, arch, args=("CifarOneConv", {"num_classes": 4}, inp["color"])),
        Call("subset", HELPERS, f"{PROCEDURES}.class_subset_cases",
             args=(inp["targets"], inp["classes"], inp["per_class"], inp["seeds"])),
        Call("subset/few", HELPERS, f"{PROCEDURES}.class_subset_raises",
             args=(inp["few"], inp["few_classes"], 4)),
    ]
    for i, t in enumerate(inp["train"]):
        calls.append(Call(f"train/{i}", HELPERS, f"{PROCEDURES}.train_linear",
                          args=(t["w"], t["b"], t["x"], t["y"], t["batch"], t["epochs"], t["lr"], t["momentum"])))
    m = inp["metrics"]
    calls.append(Call("accuracy", HELPERS, f"{PROCEDURES}.accuracy_linear",
                      args=(m["w"], m["b"], m["x"], m["y"], m["batch"])))
    calls.append(Call("confusion", HELPERS, f"{PROCEDURES}.confusion_linear",
                      args=(m["w"], m["b"], m["x"], m["y"], m["batch"], m["num_classes"])))
    return calls


# -- the grader's own computations (numpy, float64) ------------------------------------------------------------

def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def expected_training(t: dict, dtype=np.float64):
    """(per-epoch mean losses, trained weight, trained bias) of torch.optim.SGD(lr, momentum) on the cross-entropy
    of a linear model, batches in order, each loss taken before its step (computed in ``dtype``)."""
    w, b = t["w"].astype(dtype).copy(), t["b"].astype(dtype).copy()
    x = t["x"].reshape(t["x"].shape[0], -1).astype(dtype)
    y = t["y"]
    buf_w = buf_b = None
    losses = []
    for _ in range(t["epochs"]):
        total = 0.0
        for start in range(0, x.shape[0], t["batch"]):
            xb, yb = x[start:start + t["batch"]], y[start:start + t["batch"]]
            p = _softmax(xb @ w.T + b)
            total += -np.log(p[np.arange(len(yb)), yb]).sum()
            d = p.copy()
            d[np.arange(len(yb)), yb] -= 1.0
            d /= len(yb)
            gw, gb = d.T @ xb, d.sum(axis=0)
            if t["momentum"]:
                buf_w = gw if buf_w is None else t["momentum"] * buf_w + gw
                buf_b = gb if buf_b is None else t["momentum"] * buf_b + gb
                gw, gb = buf_w, buf_b
            w -= t["lr"] * gw
            b -= t["lr"] * gb
        losses.append(total / x.shape[0])
    return np.array(losses), w, b


def _training_tolerance(t: dict, exp_losses, exp_w, exp_b) -> float:
    """TOL_TRAIN, or more when these inputs make float32 training drift further from the float64 reference: the
    same SGD run in float32 measures how far float32 round-off alone goes here (x20 margin), so an honest float32
    train_epochs never loses points to an ill-conditioned draw of the grader's inputs."""
    single = {key: (value.astype(np.float32) if isinstance(value, np.ndarray) and value.dtype.kind == "f" else value)
              for key, value in t.items()}
    f_losses, f_w, f_b = expected_training(single, dtype=np.float32)
    drift = max(relative_error(exp_losses, f_losses), relative_error(exp_w, f_w), relative_error(exp_b, f_b))
    return max(TOL_TRAIN, 20.0 * drift)


def expected_predictions(m: dict) -> np.ndarray:
    x = m["x"].reshape(m["x"].shape[0], -1).astype(np.float64)
    return np.argmax(x @ m["w"].T + m["b"], axis=1)


def expected_confusion(m: dict) -> np.ndarray:
    counts = np.zeros((m["num_classes"], m["num_classes"]), dtype=np.int64)
    np.add.at(counts, (m["y"], expected_predictions(m)), 1)
    return counts


def _how_far(expected: np.ndarray, got: np.ndarray, direction: bool = True) -> str:
    """'higher by up to 0.031 (max relative error 2.1e-02, tolerance 1e-04)': the size and sign of a miss, without
    the expected values (feedback must not hand them out)."""
    got = np.asarray(got, dtype=np.float64)
    if not np.all(np.isfinite(got)):
        return "some values are nan or inf"
    diff = got - expected
    err = float(np.max(np.abs(diff) / np.maximum(np.abs(expected) + np.abs(got), 1e-8)))
    size = f"max relative error {err:.1e}, tolerance {TOL_TRAIN:.0e}"
    if not direction:
        return size
    worst = float(diff[np.argmax(np.abs(diff))])
    way = ("higher" if worst > 0 else "lower") if np.all(diff >= 0) or np.all(diff <= 0) else "some higher, some lower"
    return f"{way}, by up to {abs(worst):.2g}: {size}"


def _ops(facts: dict) -> list:
    ops = facts.get("ops")
    return [op for op in ops if isinstance(op, list) and len(op) == 3 and isinstance(op[0], str)] \
        if isinstance(ops, list) else []


class TestSmallData(GradedTestCase):
    """smalldata/models.py and smalldata/helpers.py: architecture facts and helper outputs; part4.ipynb's outputs."""


    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inp = _inputs(cls.grading_session().rng(SEED))
        cls.out = cls.run_student(_calls(cls.inp), limits="torch")

    # -- helpers -----------------------------------------------------------------------------------------------

    def _facts(self, call_id: str, subject: str):
        """(facts dict, problem): the architecture report of one call, or why there is none."""
        outcome = self.out[call_id]
        problem = outcome_problem(outcome, subject)
        if problem:
            return None, problem
        facts = outcome.value
        if not isinstance(facts, dict) or "leaf_types" not in facts:
            return None, "internal: no architecture report"
        return facts, None

    @staticmethod
    def _output_problem(facts: dict, x_shape, classes: int, what: str) -> Optional[str]:
        out = facts["output"]
        want = (x_shape[0], classes)
        if out is None:
            return f"{what}: forward returned a {facts['output_type']}, expected a tensor of logits {want}"
        if tuple(out.shape) != want:
            return f"{what}: output shape {tuple(out.shape)} for input {tuple(x_shape)}, expected {want}"
        if not np.all(np.isfinite(out)):
            return f"{what}: the output for input {tuple(x_shape)} has nan or inf values"
        return None

    @staticmethod
    def _one_conv_one_pool(facts: dict, what: str, size: int) -> dict:
        """Problems (None = right) of 'one conv', 'one max-pool' and 'pool halves' for a model on size x size, from
        the tensor operations its forward ran (whatever module or function called them: ``ops``)."""
        ops = _ops(facts)
        convs = [op for op in ops if op[0] in CONV_OPS]
        max_pools = [op for op in ops if op[0] in MAX_POOL_OPS]
        other_pools = [op[0] for op in ops if op[0] in POOL_OPS and op[0] not in MAX_POOL_OPS]
        result = {"conv": None if len(convs) == 1 else
                  f"{what}: its forward ran {len(convs)} convolution(s), expected exactly one",
                  "pool": None if len(max_pools) == 1 and not other_pools else
                  f"{what}: its forward ran {len(max_pools)} max-pooling(s)"
                  + (f" and other pooling ({', '.join(sorted(set(other_pools)))})" if other_pools else "")
                  + ", expected exactly one max-pooling"}
        halves = None
        if not max_pools:
            halves = f"{what}: no max-pooling ran in forward, so it cannot halve the image"
        else:
            _, shape_in, shape_out = max_pools[0]
            if not shape_in or not shape_out or len(shape_in) != 4 or len(shape_out) != 4:
                halves = f"{what}: the max-pooling ran on shape {shape_in}, expected (N, C, H, W)"
            elif shape_out[-2:] != [shape_in[-2] // 2, shape_in[-1] // 2] or shape_in[-2:] != [size, size]:
                halves = (f"{what}: the max-pooling maps {tuple(shape_in)} to {tuple(shape_out)}; it must halve the "
                          f"{size} x {size} image to {size // 2} x {size // 2} (kernel_size=2, stride=2, after a "
                          f"convolution that keeps {size} x {size}: padding)")
        result["halves"] = halves
        return result

    # -- tests -------------------------------------------------------------------------------------------------

    @graded("smalldata_fc_only")
    def test_fc_only(self, set_score=None):
        checks = Checks("FC_only")
        x = self.inp["gray"]
        for classes in (3, 5):
            facts, problem = self._facts(f"fc/{classes}", "FC_only")
            label = f"output shape for num_classes={classes}"
            if problem:
                checks.fail(label, 1, problem)
                continue
            checks.add(label, 1, self._output_problem(facts, x.shape, classes, f"FC_only(num_classes={classes})"))
        facts, problem = self._facts("fc/3", "FC_only")
        if problem:
            checks.fail("fully connected only", 1, problem)
        else:
            ops = [op[0] for op in _ops(facts)]
            bad = sorted({op for op in ops if op in CONV_OPS or op in POOL_OPS})
            checks.add("fully connected only", 1,
                       f"FC_only: its forward runs {', '.join(bad)}; a fully connected model has only linear layers "
                       "and activations" if bad else
                       None if any(op in LINEAR_OPS for op in ops) else
                       "FC_only: its forward runs no linear layer")
        finish(self, checks, set_score, "smalldata_fc_only")

    @graded("smalldata_gray1conv")
    def test_gray1conv(self, set_score=None):
        checks = Checks("Grayscale1Convolution")
        x = self.inp["gray"]
        facts, problem = self._facts("gray/3", "Grayscale1Convolution")
        labels = ("one convolution", "one max-pooling", "pooling halves 28 x 28", "output shape")
        if problem:
            for label in labels:
                checks.fail(label, 1, problem)
        else:
            what = "Grayscale1Convolution(num_classes=3)"
            parts = self._one_conv_one_pool(facts, what, 28)
            checks.add(labels[0], 1, parts["conv"])
            checks.add(labels[1], 1, parts["pool"])
            checks.add(labels[2], 1, parts["halves"])
            out_problem = self._output_problem(facts, x.shape, 3, what)
            if not out_problem:
                five, problem5 = self._facts("gray/5/ReLU", "Grayscale1Convolution")
                out_problem = problem5 and f"Grayscale1Convolution(num_classes=5, activation=nn.ReLU): {problem5}"
                out_problem = out_problem or self._output_problem(
                    five, x.shape, 5, "Grayscale1Convolution(num_classes=5, activation=nn.ReLU)")
            checks.add(labels[3], 1, out_problem)
        finish(self, checks, set_score, "smalldata_gray1conv")

    @graded("smalldata_activation")
    def test_activation(self, set_score=None):
        checks = Checks("Grayscale1Convolution activation")
        base, problem = self._facts("gray/5/ReLU", "Grayscale1Convolution")
        for act in ("Tanh", "Sigmoid"):
            label = f"activation=nn.{act}"
            other, problem_other = self._facts(f"gray/5/{act}", "Grayscale1Convolution")
            problem_here = problem or problem_other
            if problem_here:
                checks.fail(label, 1, f"with activation=nn.{act}: {problem_here}" if problem_other and not problem
                            else problem_here)
                continue
            if base["output"] is None or other["output"] is None or base["output"].shape != other["output"].shape:
                checks.fail(label, 1, "the outputs cannot be compared (see the output shape check, 7.2)")
                continue
            same_output = np.allclose(base["output"], other["output"], rtol=1e-6, atol=1e-7)
            called = ACTIVATION_OPS[act] in {op[0] for op in _ops(other)}
            if same_output or not called:
                checks.fail(label, 1, f"with activation=nn.{act} the forward "
                                      + ("gives the same output as with nn.ReLU (same seed)" if same_output else
                                         f"never runs {act.lower()}")
                                      + ": build the layer with activation() and call it in forward, instead of a "
                                        "fixed nn.ReLU or F.relu")
            else:
                checks.add(label, 1, None)
        finish(self, checks, set_score, "smalldata_activation")

    @graded("smalldata_cifar_one_conv")
    def test_cifar_one_conv(self, set_score=None):
        checks = Checks("CifarOneConv")
        x = self.inp["color"]
        problems = []
        for call_id, classes, what in (("cifar/10", 10, "CifarOneConv()"), ("cifar/4", 4, "CifarOneConv(num_classes=4)")):
            facts, problem = self._facts(call_id, "CifarOneConv")
            problems.append(f"CifarOneConv: {problem}." if problem else
                            self._output_problem(facts, x.shape, classes, what))
        first = next((p for p in problems if p), None)
        checks.add("output shape", 1, first)
        facts, problem = self._facts("cifar/10", "CifarOneConv")
        if problem:
            checks.fail("one convolution, one max-pooling halving 32 x 32", 1, problem)
        else:
            parts = self._one_conv_one_pool(facts, "CifarOneConv()", 32)
            bad = [p for p in parts.values() if p]
            checks.add("one convolution, one max-pooling halving 32 x 32", 1, bad[0] if bad else None)
        finish(self, checks, set_score, "smalldata_cifar_one_conv")

    @graded("smalldata_class_subset")
    def test_class_subset(self, set_score=None):
        checks = Checks("class_subset")
        inp = self.inp
        targets, classes, per = inp["targets"], inp["classes"], inp["per_class"]
        desc = f"class_subset(targets of {len(targets)} labels 0..9, classes={classes}, per_class={per}"
        labels = ("per class", "remapped labels", "seeded", "list and tensor targets")
        weights = (2, 1, 1, 1)
        outcome = self.out["subset"]
        problem = outcome_problem(outcome, "class_subset")
        if problem:
            for label, weight in zip(labels, weights):
                checks.fail(label, weight, problem)
        else:
            results = outcome.value
            parsed = [self._subset_pair(r) for r in results]
            first, p0 = parsed[0]
            if p0:
                for label, weight in zip(labels, weights):
                    checks.add(label, weight, f"{desc}, seed={inp['seeds'][0]}) {p0}.")
            else:
                idx, lab = first
                checks.add(labels[0], weights[0], self._per_class_problem(idx, targets, classes, per, desc))
                valid = idx.size == lab.size and (idx.size == 0 or (idx.min() >= 0 and idx.max() < len(targets)))
                want = np.array([classes.index(int(t)) if int(t) in classes else -1 for t in targets[idx]]) \
                    if valid else None
                checks.add(labels[1], weights[1], None if valid and np.array_equal(lab, want) else
                           f"class_subset: labels must be the remapped labels classes.index(target) "
                           f"(0..{len(classes) - 1} in the order of classes={classes}), one per index; "
                           f"got {np.asarray(lab)[:8].tolist()}... for targets {targets[idx][:8].tolist()}...")
                second, p1 = parsed[1]
                again, p2 = parsed[2]  # the first seed once more: the same arguments must give the same subset
                repeatable = not p2 and np.array_equal(again[0], idx)
                seeded = None
                if p1:
                    seeded = f"class_subset: with seed={inp['seeds'][1]}: {p1}"
                elif not repeatable:
                    seeded = (f"class_subset: called twice with seed={inp['seeds'][0]} it gave different indices: "
                              "draw with a generator made from `seed` (np.random.default_rng(seed)), not the global "
                              "random state")
                elif np.array_equal(second[0], idx):
                    seeded = (f"class_subset: seeds {inp['seeds'][0]} and {inp['seeds'][1]} give the same "
                              "indices: draw with a generator seeded by `seed`")
                checks.add(labels[2], weights[2], seeded)
                kinds = []
                for (pair, p), kind in zip(parsed[3:], ("a list", "a torch tensor")):
                    if p:
                        kinds.append(f"{kind} ({p})")
                    elif repeatable and not np.array_equal(pair[0], idx):
                        kinds.append(kind)
                    elif not repeatable and self._per_class_problem(pair[0], targets, classes, per, desc):
                        kinds.append(kind)  # unseeded draws differ anyway: then only the subset's content counts
                checks.add(labels[3], weights[3], None if not kinds else
                           f"class_subset: targets given as {' and '.join(kinds)} do not give the same "
                           + ("indices as a numpy array with the same seed" if repeatable else "per-class subset as "
                              "a numpy array") + " (convert with np.asarray first)")
        raised = self.out["subset/few"]
        problem = outcome_problem(raised, "class_subset")
        works = labels[0] in checks.passed()
        if problem:
            checks.fail("too few examples", 1, problem)
        elif not works:
            # a function that always raises would pass this alone: it counts once valid input gives a subset
            checks.fail("too few examples", 1, "class_subset: raising on too few examples counts once it returns "
                                               "the right subset for valid input (see 'per class' above)")
        else:
            checks.add("too few examples", 1, None if raised.value == "ValueError" else
                       f"class_subset: with per_class=4 and class 9 having 2 examples it "
                       f"{'raised ' + raised.value if raised.value else 'raised nothing'}, expected ValueError")
        finish(self, checks, set_score, "smalldata_class_subset")

    @staticmethod
    def _subset_pair(value):
        """((indices, labels) int arrays, problem)."""
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            return None, "must return a tuple (indices, labels)"
        idx, lab = value
        if not isinstance(idx, np.ndarray) or not isinstance(lab, np.ndarray):
            return None, "must return two arrays (indices, labels)"
        if idx.ndim != 1 or lab.ndim != 1 or idx.dtype.kind not in "iu" or lab.dtype.kind not in "iu":
            return None, (f"returned indices {idx.dtype} {idx.shape} and labels {lab.dtype} {lab.shape}, expected "
                          "1-D integer arrays")
        return (idx.astype(np.int64), lab.astype(np.int64)), None

    @staticmethod
    def _per_class_problem(idx, targets, classes, per, desc) -> Optional[str]:
        n = len(classes) * per
        if idx.size != n:
            return f"{desc}) returned {idx.size} indices, expected {n} ({per} per class)"
        if idx.min() < 0 or idx.max() >= len(targets):
            return f"{desc}) returned indices outside 0..{len(targets) - 1}"
        # the class counts first: pooling the classes also repeats indices, but its cause is the pooling
        picked = targets[idx]
        counts = {c: int((picked == c).sum()) for c in classes}
        others = sorted(set(picked.tolist()) - set(classes))
        if others or any(v != per for v in counts.values()):
            return (f"{desc}) picked per class {counts}" + (f" and labels {others} not in classes" if others else "")
                    + f"; expected exactly {per} of each class (sample each class separately)")
        if len(np.unique(idx)) != n:
            return f"{desc}) returned the same index more than once (draw without replacement)"
        return None

    @graded("smalldata_train_epochs")
    def test_train_epochs(self, set_score=None):
        checks = Checks("train_epochs")
        for i, t in enumerate(self.inp["train"]):
            desc = (f"train_epochs(linear model 16 -> 3, 32 examples in batches of {t['batch']}, epochs={t['epochs']}, "
                    f"lr={t['lr']}, momentum={t['momentum']})")
            outcome = self.out[f"train/{i}"]
            problem = outcome_problem(outcome, "train_epochs")
            if problem:
                checks.fail(f"losses (momentum={t['momentum']})", 1, problem)
                checks.fail(f"trained weights (momentum={t['momentum']})", 1, problem)
                continue
            losses, w, b = outcome.value
            exp_losses, exp_w, exp_b = expected_training(t)
            tol = _training_tolerance(t, exp_losses, exp_w, exp_b)
            if isinstance(losses, np.ndarray) and losses.dtype.kind in "fiu" and losses.shape == exp_losses.shape:
                p = compare_array(exp_losses, losses.astype(np.float64), tol=tol)
                # how far and which way, never the expected numbers (the inputs change every grading anyway)
                p = p and (f"{desc}: the per-epoch losses are off ({_how_far(exp_losses, losses)}); each must be "
                           f"the mean cross-entropy of that epoch's batches, taken before each step")
            else:
                got = losses.shape if isinstance(losses, np.ndarray) else losses
                p = f"{desc}: must return {t['epochs']} floats (one mean loss per epoch), got {got}"
            checks.add(f"losses (momentum={t['momentum']})", 1, p)
            p = compare_array(exp_w, w, tol=tol) or compare_array(exp_b, b, tol=tol)
            if p and np.shape(w) == exp_w.shape and np.shape(b) == exp_b.shape and \
                    np.asarray(w).dtype.kind in "fiu" and np.asarray(b).dtype.kind in "fiu":
                p = _how_far(np.concatenate([exp_w.ravel(), exp_b.ravel()]),
                             np.concatenate([np.ravel(w), np.ravel(b)]).astype(np.float64), direction=False)
            checks.add(f"trained weights (momentum={t['momentum']})", 1,
                       p and f"{desc}: the trained weights differ from torch.optim.SGD(lr, momentum) on "
                             f"nn.CrossEntropyLoss with one step per batch: {p}")
        finish(self, checks, set_score, "smalldata_train_epochs")

    @graded("smalldata_metrics")
    def test_metrics(self, set_score=None):
        checks = Checks("accuracy and confusion")
        m = self.inp["metrics"]
        desc = f"on 40 examples in batches of {m['batch']} (linear model 16 -> 4)"
        pred = expected_predictions(m)
        exp_acc = float((pred == m["y"]).mean())
        outcome = self.out["accuracy"]
        problem = outcome_problem(outcome, "accuracy")
        if problem:
            checks.add("accuracy", 1, f"accuracy: {problem}.")
        else:
            got = outcome.value
            if not isinstance(got, (int, float)) or isinstance(got, bool):
                checks.add("accuracy", 1, f"accuracy: returned {type(got).__name__}, expected a float in [0, 1].")
            elif abs(got - exp_acc) <= 1e-6:
                checks.add("accuracy", 1, None)
            else:
                hint = " (a percentage: return the fraction in [0, 1])" if abs(got - 100 * exp_acc) <= 1e-4 else ""
                checks.add("accuracy", 1, f"accuracy {desc}: {got:.6g} instead of {exp_acc:.6g}{hint}.")
        outcome = self.out["confusion"]
        problem = outcome_problem(outcome, "confusion")
        if problem:
            checks.add("confusion", 1, f"confusion: {problem}.")
        else:
            expected = expected_confusion(m)
            p = compare_array(expected, outcome.value, transpose_cause="counts[true, predicted]: the true class "
                                                                       "indexes the row, the prediction the column")
            if p and not names_mistake(p):
                p += " (rows = true class, columns = predicted class, every class 0..num_classes-1)"
            checks.add("confusion", 1, p and f"confusion(num_classes={m['num_classes']}) {desc}: {p}")
        finish(self, checks, set_score, "smalldata_metrics")

    @graded("smalldata_notebook")
    def test_notebook(self, set_score=None):
        """Run by the grader in its reduced mode: no errors, the figures, the printed dataset and table."""
        def sub_checks(run):
            missing = [what for marker, what in NOTEBOOK_MARKERS if marker not in run.text]
            return [(f"drew {run.figures} figures", 1, None if run.figures >= NOTEBOOK_MIN_FIGURES else
                     f"{NOTEBOOK}: the grader's run drew {run.figures} figure(s), expected at least "
                     f"{NOTEBOOK_MIN_FIGURES} (a loss curve and confusion matrix per experiment, the accuracy plot)."),
                    ("printed the dataset and the transfer table", 1, None if not missing else
                     f"{NOTEBOOK}: the grader's run did not print {' and '.join(missing)}.")]
        notebook_runs.grade(self, set_score, "smalldata_notebook", section3b.PART4, sub_checks)
