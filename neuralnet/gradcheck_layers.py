"""Check the layers of layers.py against small hand-worked examples and numeric gradients (run from this folder).

Prints one line per check: each forward on a hand-worked example, and for each gradient the relative difference
||analytic - numeric|| / (||analytic|| + ||numeric||) against central differences, in float64. A correct layer gives
differences below 1e-9. The exit status is 0 only when every check passes.
"""
import math
import sys

import numpy as np

import layers
from utils import numeric_backward, numeric_gradient, rel_error

TOLERANCE = 1e-9  # largest relative difference of a correct gradient (float64, central differences)
VALUE_TOLERANCE = 1e-12  # largest error of a forward value against the hand-worked example
H = 1e-5  # step of the central differences


class Report:
    """Collects PASS/FAIL lines and the overall result."""

    def __init__(self):
        self.ok = True

    def diff(self, label, analytic, numeric, tol=TOLERANCE):
        analytic = np.asarray(analytic, dtype=np.float64)
        if analytic.shape != numeric.shape:
            self.fail(f"{label}: shape {analytic.shape}, expected {numeric.shape}")
            return
        d = rel_error(analytic, numeric)
        passed = d < tol
        self.ok = self.ok and passed
        print(f"{label}: difference {d:.2e} {'PASS' if passed else 'FAIL'} (tolerance {tol:g})")

    def value(self, label, got, expected, tol=VALUE_TOLERANCE):
        got = np.asarray(got, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
        if got.shape != expected.shape:
            self.fail(f"{label}: shape {got.shape}, expected {expected.shape}")
            return
        err = float(np.max(np.abs(got - expected))) if got.size else 0.0
        passed = err <= tol
        self.ok = self.ok and passed
        print(f"{label}: max error {err:.2e} {'PASS' if passed else 'FAIL'}"
              + ("" if passed else f" (got {got.tolist()}, expected {expected.tolist()})"))

    def fail(self, line):
        self.ok = False
        print(f"{line} FAIL")


def run_item(report, name, check):
    """Run one item's check; a stub gives '<name>: not implemented', any other error one line (no traceback)."""
    try:
        check()
    except NotImplementedError:
        report.ok = False
        print(f"{name}: not implemented")
    except NeedsOther as exc:
        report.ok = False
        print(f"{name}: not checked ({exc})")
    except Exception as exc:  # noqa: BLE001 -- reported on one line with its type and message, counted as a failure
        report.ok = False
        print(f"{name}: error: {type(exc).__name__}: {exc}")


class NeedsOther(Exception):
    """A check needs another function that is not implemented yet."""


def _forward_for(func):
    """Wrap a forward function so that its stub reports which check it blocks."""
    def call(*args):
        try:
            return func(*args)
        except NotImplementedError:
            raise NeedsOther(f"needs {func.__name__}, which is not implemented") from None
    return call


def check_fc_forward(report):
    x = np.array([[1.0, 2.0], [-1.0, 0.5]])
    w = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    b = np.array([0.5, -1.0, 2.0])
    out, _ = layers.fc_forward(x, w, b)
    report.value("fc_forward out", out, [[5.5, 1.0, 1.0], [0.5, -0.5, 3.0]])


def check_fc_backward(report, rng):
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((4, 3))
    grad_x, grad_w, grad_b = layers.fc_backward(dout, (x, w, b))
    forward = _forward_for(layers.fc_forward)
    report.diff("fc_backward grad_x", grad_x, numeric_backward(lambda: forward(x, w, b)[0], x, dout, H))
    report.diff("fc_backward grad_w", grad_w, numeric_backward(lambda: forward(x, w, b)[0], w, dout, H))
    report.diff("fc_backward grad_b", grad_b, numeric_backward(lambda: forward(x, w, b)[0], b, dout, H))


def check_relu_forward(report):
    out, _ = layers.relu_forward(np.array([[-2.0, 0.0, 3.0], [1.5, -0.1, 0.2]]))
    report.value("relu_forward out", out, [[0.0, 0.0, 3.0], [1.5, 0.0, 0.2]])


def check_relu_backward(report, rng):
    x = rng.standard_normal((4, 5, 3))
    x[np.abs(x) < 1e-3] = 0.5  # keep the inputs away from the kink at 0, where the numeric gradient is undefined
    dout = rng.standard_normal(x.shape)
    grad_x = layers.relu_backward(dout, x)
    forward = _forward_for(layers.relu_forward)
    report.diff("relu_backward grad_x", grad_x, numeric_backward(lambda: forward(x)[0], x, dout, H))


def check_softmax_loss(report, rng):
    scores = np.array([[1.0, 2.0, 3.0], [0.5, -0.5, 0.0]])
    labels = np.array([2, 0])
    loss, _ = layers.softmax_loss(scores, labels)
    row0 = -math.log(math.exp(3.0) / (math.exp(1.0) + math.exp(2.0) + math.exp(3.0)))
    row1 = -math.log(math.exp(0.5) / (math.exp(0.5) + math.exp(-0.5) + math.exp(0.0)))
    report.value("softmax_loss loss", loss, (row0 + row1) / 2)
    x = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, size=6)
    _, grad_x = layers.softmax_loss(x, y)
    report.diff("softmax_loss grad_x", grad_x, numeric_gradient(lambda: layers.softmax_loss(x, y)[0], x, H))


def check_l2_regularization(report, rng):
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    loss, _ = layers.l2_regularization(w, 0.3)
    report.value("l2_regularization loss", loss, 0.3 / 2 * (1.0 + 4.0 + 0.25))
    w = rng.standard_normal((5, 3))
    _, grad_w = layers.l2_regularization(w, 0.7)
    report.diff("l2_regularization grad_w", grad_w,
                numeric_gradient(lambda: layers.l2_regularization(w, 0.7)[0], w, H))


def check_l2_loss(report, rng):
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _, grad_x = layers.l2_loss(x, y)
    report.diff("l2_loss grad_x", grad_x, numeric_gradient(lambda: layers.l2_loss(x, y)[0], x, H))


def main():
    rng = np.random.default_rng(0)
    report = Report()
    run_item(report, "fc_forward", lambda: check_fc_forward(report))
    run_item(report, "fc_backward", lambda: check_fc_backward(report, rng))
    run_item(report, "relu_forward", lambda: check_relu_forward(report))
    run_item(report, "relu_backward", lambda: check_relu_backward(report, rng))
    run_item(report, "softmax_loss", lambda: check_softmax_loss(report, rng))
    run_item(report, "l2_regularization", lambda: check_l2_regularization(report, rng))
    run_item(report, "l2_loss", lambda: check_l2_loss(report, rng))
    print(f"overall: {'PASS' if report.ok else 'FAIL'}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
