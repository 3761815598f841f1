"""Check the classifiers and training_step against numeric gradients, in float64 (run from this folder).

Items: TwoLayerNet.__init__ (shapes and initial statistics), LinearClassifier (given code, built on your fc_forward
and fc_backward) and TwoLayerNet (forward: the scores against FC -> ReLU -> FC; backward: every parameter's gradient
of sum(scores * G) for a random upstream gradient G), training_step (its loss against the layers' softmax_loss + l2_regularization of the weight
matrices, and every gradient against central differences). The verdicts use the grader's measure and tolerance: the
largest relative error of one entry must be at most 1e-7; a failing line shows the worst entry (index, expected,
got). Each gradient line also prints the overall relative difference, below 1e-10 for a correct model (a note says
so when a passing gradient is above it). The exit status is 0 only when every check passes; a "note:" line is
advice only (the grader takes no points for it).
"""
import sys
import traceback

import numpy as np

from linear_classifier import LinearClassifier
from two_layer_net import TwoLayerNet
from utils import max_relative_error, numeric_gradient, rel_error, worst_entry_text

# The grader's tolerance on the max relative error of one entry (autograder/grading/compare.py TOL_EXACT) and on
# the weights' statistics at initialization (section1_two_layer_net.py STD_TOL); tests/test_section1_kit.py checks that
# they agree.
GRADER_TOLERANCE = 1e-7
INIT_STD_TOLERANCE = 0.1  # std within 10 % of weight_scale, |mean| below 10 % of weight_scale
TOLERANCE = 1e-10  # overall relative difference of a correct model's gradient: above it, a note (not a FAIL)
# The rule the grader enforces with a model of its own (other parameter names): stated when training_step fails here
# because it looks for a parameter by name.
TRAINING_STEP_RULE = ("training_step must work for any model: take the weights from model.parameters() and "
                      "regularize every 2-D parameter, whatever its name (not model.W1 or params['W1'])")
H = 1e-4  # step of the five-point central differences (error ~ h**4; rounding ~ 1e-16 / h)
INPUT_DIM, NUM_CLASSES, HIDDEN_DIM, NUM_INPUTS = 7, 4, 6, 5


class Report:
    def __init__(self):
        self.ok = True

    def line(self, text, passed):
        self.ok = self.ok and passed
        print(f"{text} {'PASS' if passed else 'FAIL'}")

    def diff(self, label, analytic, numeric):
        if analytic is None:
            self.line(f"{label}: no gradient returned for this parameter", False)
            return
        analytic = np.asarray(analytic, dtype=np.float64)
        if analytic.shape != numeric.shape:
            self.line(f"{label}: gradient shape {analytic.shape}, expected {numeric.shape}", False)
            return
        d = rel_error(analytic, numeric)
        err, index = max_relative_error(numeric, analytic)
        passed = err <= GRADER_TOLERANCE
        text = f"{label}: difference {d:.2e}, max relative error {err:.1e} (tolerance {GRADER_TOLERANCE:g})"
        if not passed:
            text += f"; worst {worst_entry_text(numeric, analytic, index, 'expected (central differences)')}"
        self.line(text, passed)
        if passed and d >= TOLERANCE:
            print(f"  note: the difference is above {TOLERANCE:g}, where a correct float64 model usually lands; "
                  "the grader accepts it")

    def note(self, text):
        """Advice that costs no points (the grader does not check it): printed, never a FAIL."""
        print(f"{text} (note: not graded)")


def build(model_cls):
    """The model built positionally, Model(input_dim, num_classes, hidden_dim), as the graders do."""
    if model_cls is LinearClassifier:
        return LinearClassifier(INPUT_DIM, NUM_CLASSES)
    return model_cls(INPUT_DIM, NUM_CLASSES, HIDDEN_DIM)


def randomize(model, rng):
    """Overwrite every parameter in place with std-1 Gaussian values (tiny initial weights hide bugs)."""
    params = model.parameters()
    for value in params.values():
        value[...] = rng.standard_normal(value.shape)
    return params


def check_init(report):
    dims = (300, 10, 200)
    model = TwoLayerNet(*dims, 0.05)
    params = model.parameters()
    shapes = sorted(tuple(np.shape(v)) for v in params.values())
    expected = sorted([(300, 200), (200,), (200, 10), (10,)])
    report.line(f"TwoLayerNet.__init__ shapes {shapes} (expected {expected})", shapes == expected)
    for name, value in params.items():
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 2:
            std = float(value.std())
            mean = float(value.mean())
            report.line(f"TwoLayerNet.__init__ {name}: mean {mean:.4f}, std {std:.4f} (expected mean 0 and std 0.05, "
                        f"within {INIT_STD_TOLERANCE:.0%} of 0.05)",
                        abs(std - 0.05) <= INIT_STD_TOLERANCE * 0.05 and abs(mean) <= INIT_STD_TOLERANCE * 0.05)
        else:
            report.line(f"TwoLayerNet.__init__ {name}: all zero", not np.any(value))


def check_model(report, model_cls, rng):
    name = model_cls.__name__
    model = build(model_cls)
    params = randomize(model, rng)
    X = rng.standard_normal((NUM_INPUTS, INPUT_DIM))
    G = rng.standard_normal((NUM_INPUTS, NUM_CLASSES))
    scores, cache = model.forward(X)
    if np.shape(scores) != (NUM_INPUTS, NUM_CLASSES):
        report.line(f"{name}.forward: scores shape {np.shape(scores)}, expected {(NUM_INPUTS, NUM_CLASSES)}", False)
        return
    if model_cls is TwoLayerNet:
        check_two_layer_scores(report, params, X, scores)
    grads = model.backward(G.copy(), cache)
    if not isinstance(grads, dict):
        report.line(f"{name}.backward: returned a {type(grads).__name__}, expected a dict", False)
        return
    for key, value in params.items():
        numeric = numeric_gradient(lambda: np.sum(model.forward(X)[0] * G), value, H, fourth_order=True)
        report.diff(f"{name} grad {key}", grads.get(key), numeric)


def check_two_layer_scores(report, params, X, scores):
    """The scores against FC -> ReLU -> FC computed here, the parameters found by their shapes (as the grader does):
    a forward and a backward that agree with each other can still be the wrong network."""
    by_shape = {tuple(np.shape(v)): np.asarray(v, dtype=np.float64) for v in params.values()}
    shapes = {"W1": (INPUT_DIM, HIDDEN_DIM), "b1": (HIDDEN_DIM,), "W2": (HIDDEN_DIM, NUM_CLASSES),
              "b2": (NUM_CLASSES,)}
    if sorted(by_shape) != sorted(shapes.values()) or len(params) != 4:
        report.line(f"TwoLayerNet.forward: parameters of shapes {sorted(tuple(np.shape(v)) for v in params.values())}, "
                    f"expected {sorted(shapes.values())}", False)
        return
    W1, b1, W2, b2 = (by_shape[shapes[k]] for k in ("W1", "b1", "W2", "b2"))
    expected = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    err, index = max_relative_error(expected, scores)
    text = (f"TwoLayerNet.forward scores vs FC -> ReLU -> FC: max relative error {err:.1e} "
            f"(tolerance {GRADER_TOLERANCE:g})")
    if err > GRADER_TOLERANCE:
        text += f"; worst {worst_entry_text(expected, scores, index)}"
    report.line(text, err <= GRADER_TOLERANCE)


def dependency(exc, item):
    """The other function whose stub raised ``exc`` (NotImplementedError) while checking ``item``; None when it is
    ``item``'s own stub (or one of its methods: 'TwoLayerNet.forward' for 'TwoLayerNet')."""
    message = str(exc)
    if ": not implemented" in message:  # the stubs say '<name>: not implemented yet'
        name = message.split(": not implemented")[0].strip()
    else:  # a bare NotImplementedError: the function that raised it
        frames = traceback.extract_tb(exc.__traceback__)
        name = frames[-1].name if frames else item
    return None if name == item or name.startswith(item + ".") else name


def check_training_step(report, rng):
    from layers import l2_regularization, softmax_loss  # the layers are checked by gradcheck_layers.py
    from train import training_step

    for model_cls in (TwoLayerNet, LinearClassifier):
        try:
            check_training_step_with(report, rng, model_cls, training_step, softmax_loss, l2_regularization)
        except NotImplementedError as exc:
            needed = dependency(exc, "training_step")
            if needed is None:
                raise  # training_step itself is a stub: run_item reports "training_step: not implemented"
            report.ok = False
            print(f"training_step ({model_cls.__name__}): not checked (needs {needed}, which is not implemented)")
        except (AttributeError, KeyError) as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            if not frames or not frames[-1].filename.endswith("train.py"):
                raise  # raised elsewhere (e.g. in the model): run_item reports it as an error
            report.ok = False
            print(f"training_step ({model_cls.__name__}): FAIL: {TRAINING_STEP_RULE}. Yours raised "
                  f"{type(exc).__name__}: {exc} (train.py, line {frames[-1].lineno})")


def check_training_step_with(report, rng, model_cls, training_step, softmax_loss, l2_regularization):
    model = build(model_cls)
    params = randomize(model, rng)
    X = rng.standard_normal((NUM_INPUTS, INPUT_DIM))
    y = rng.integers(0, NUM_CLASSES, size=NUM_INPUTS)
    reg = 0.3
    before = {k: np.array(v, copy=True) for k, v in params.items()}
    loss, grads = training_step(model, X, y, reg)
    changed = [k for k, v in params.items() if not np.array_equal(v, before[k])]
    if changed:
        report.note(f"training_step ({model_cls.__name__}) changed the parameters {changed}: leave that to the "
                    "optimizer, or train.py updates them twice")
        for k, v in params.items():
            v[...] = before[k]

    def step():
        """training_step, with the parameters put back as they were (the checks below need them unchanged)."""
        saved = {k: np.array(v, copy=True) for k, v in params.items()}
        try:
            return training_step(model, X, y, reg)
        finally:
            for k, v in params.items():
                v[...] = saved[k]

    if changed:
        loss, grads = step()
    expected = softmax_loss(model.forward(X)[0], y)[0] + sum(
        l2_regularization(v, reg)[0] for v in params.values() if np.ndim(v) == 2)
    err, _ = max_relative_error(expected, float(loss), min_floor=1e-4)
    report.line(f"training_step ({model_cls.__name__}) loss: {float(loss):.10g}, expected softmax loss + L2 of "
                f"the weight matrices {expected:.10g}: relative error {err:.1e} (tolerance {GRADER_TOLERANCE:g})",
                err <= GRADER_TOLERANCE)
    for key, value in params.items():
        numeric = numeric_gradient(lambda: step()[0], value, H, fourth_order=True)
        report.diff(f"training_step ({model_cls.__name__}) grad {key}", grads.get(key), numeric)


def run_item(report, name, check):
    """Run one item; its own stub gives '<name>: not implemented', the stub of a function it needs '<name>: not
    checked (needs ...)', any other error one line (no traceback)."""
    try:
        check()
    except NotImplementedError as exc:
        report.ok = False
        needed = dependency(exc, name)
        if needed is None:
            print(f"{name}: not implemented ({exc})")
        else:
            print(f"{name}: not checked (needs {needed}, which is not implemented)")
    except Exception as exc:  # noqa: BLE001 -- reported on one line with its type and message, counted as a failure
        report.ok = False
        print(f"{name}: error: {type(exc).__name__}: {exc}")


def broken_layers():
    """The layer functions of layers.py the classifiers are built on that fail a quick gradient check of their own
    (fc_backward, relu_backward): when one does, the classifier lines below fail because of it."""
    import layers
    rng = np.random.default_rng(1)
    broken = []
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    dout = rng.standard_normal((3, 2))
    try:
        out, cache = layers.fc_forward(x, w, b)
        grads = layers.fc_backward(dout, cache)
        for array, grad in zip((x, w, b), grads):
            numeric = numeric_gradient(lambda: np.sum(layers.fc_forward(x, w, b)[0] * dout), array, H,
                                       fourth_order=True)
            if max_relative_error(numeric, grad)[0] > GRADER_TOLERANCE:
                broken.append("fc_backward")
                break
    except NotImplementedError:
        pass  # "not implemented" is said where the classifier needs it
    except Exception:  # noqa: BLE001 -- any error counts as broken
        broken.append("fc_backward")
    x = rng.standard_normal((3, 4)) + 0.05 * np.sign(rng.standard_normal((3, 4)))
    dout = rng.standard_normal((3, 4))
    try:
        _, cache = layers.relu_forward(x)
        grad = layers.relu_backward(dout, cache)
        numeric = numeric_gradient(lambda: np.sum(layers.relu_forward(x)[0] * dout), x, H, fourth_order=True)
        if max_relative_error(numeric, grad)[0] > GRADER_TOLERANCE:
            broken.append("relu_backward")
    except NotImplementedError:
        pass
    except Exception:  # noqa: BLE001
        broken.append("relu_backward")
    return broken


def main():
    rng = np.random.default_rng(0)
    np.random.seed(0)
    report = Report()
    broken = broken_layers()
    if broken:
        print(f"cause first: {' and '.join(broken)} in layers.py "
              f"{'fails its' if len(broken) == 1 else 'fail their'} own gradient check (python "
              "gradcheck_layers.py shows where); the classifiers below are built on them, so fix "
              f"{'it' if len(broken) == 1 else 'them'} first.")
    run_item(report, "TwoLayerNet.__init__", lambda: check_init(report))
    run_item(report, "LinearClassifier", lambda: check_model(report, LinearClassifier, rng))
    run_item(report, "TwoLayerNet", lambda: check_model(report, TwoLayerNet, rng))
    run_item(report, "training_step", lambda: check_training_step(report, rng))
    print(f"overall: {'PASS' if report.ok else 'FAIL'}" + (f" (start with {' and '.join(broken)})" if broken
                                                             and not report.ok else ""))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
