"""Check the layers of layers.py against small hand-worked examples and numeric gradients (run from this folder).

Prints one line per check: each forward on a hand-worked example, and for each gradient its difference from central
differences, in float64. The verdict uses the grader's measure and tolerance: the largest relative error of one
entry, |expected - got| / (|expected| + |got|), must be at most 1e-7 (entries tiny next to the rest of the array are
judged against 1e-4 times its largest entry); a failing line shows the worst entry (index, expected, got). Each
gradient line also prints the overall relative difference ||analytic - numeric|| / (||analytic|| + ||numeric||):
a correct float64 layer gives less than 1e-9, and a note says so when a passing gradient is above it. l2_loss is
given code (not graded) and is not checked. Last, the edge cases the grader also checks: one example (N = 1) and
one output unit. The exit status is 0 only when every check passes.
"""
import math
import sys

import numpy as np

import layers
from utils import max_relative_error, numeric_backward, numeric_gradient, rel_error, worst_entry_text

# The grader's tolerance on the max relative error of one entry (autograder/grading/compare.py TOL_EXACT;
# tests/test_section1_kit.py checks that they agree).
GRADER_TOLERANCE = 1e-7
TOLERANCE = 1e-9  # overall relative difference of a correct float64 gradient: above it, a note (not a FAIL)
H = 1e-4  # step of the five-point central differences (error ~ h**4; rounding ~ 1e-16 / h)


class Report:
    """Collects PASS/FAIL lines and the overall result."""

    def __init__(self):
        self.ok = True

    def diff(self, label, analytic, numeric):
        """A gradient against its central differences."""
        analytic = np.asarray(analytic, dtype=np.float64)
        if analytic.shape != numeric.shape:
            self.fail(f"{label}: shape {analytic.shape}, expected {numeric.shape}")
            return
        d = rel_error(analytic, numeric)
        err, index = max_relative_error(numeric, analytic)
        passed = err <= GRADER_TOLERANCE
        self.ok = self.ok and passed
        line = (f"{label}: difference {d:.2e}, max relative error {err:.1e} {'PASS' if passed else 'FAIL'} "
                f"(tolerance {GRADER_TOLERANCE:g})")
        if not passed:
            line += f"; worst {worst_entry_text(numeric, analytic, index, 'expected (central differences)')}"
        elif d >= TOLERANCE:
            line += (f" (note: the difference is above {TOLERANCE:g}, where a float64 layer usually lands; the "
                     "grader accepts it)")
        print(line)

    def value(self, label, got, expected):
        """A forward result against the hand-worked value (the grader's measure: a single number gets the floor
        1e-4, as the grader's compare_scalar)."""
        got = np.asarray(got, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
        if got.shape != expected.shape:
            self.fail(f"{label}: shape {got.shape}, expected {expected.shape}")
            return
        err, index = max_relative_error(expected, got, min_floor=1e-4 if expected.ndim == 0 else 1e-8)
        passed = err <= GRADER_TOLERANCE
        self.ok = self.ok and passed
        line = f"{label}: max relative error {err:.1e} {'PASS' if passed else 'FAIL'} (tolerance {GRADER_TOLERANCE:g})"
        if not passed:
            line += f"; worst {worst_entry_text(expected, got, index)}"
        print(line)

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
    report.diff("fc_backward grad_x", grad_x, numeric_backward(lambda: forward(x, w, b)[0], x, dout, H, True))
    report.diff("fc_backward grad_w", grad_w, numeric_backward(lambda: forward(x, w, b)[0], w, dout, H, True))
    report.diff("fc_backward grad_b", grad_b, numeric_backward(lambda: forward(x, w, b)[0], b, dout, H, True))


def check_relu_forward(report):
    out, _ = layers.relu_forward(np.array([[-2.0, 0.0, 3.0], [1.5, -0.1, 0.2]]))
    report.value("relu_forward out", out, [[0.0, 0.0, 3.0], [1.5, 0.0, 0.2]])


def check_relu_backward(report, rng):
    x = rng.standard_normal((4, 5, 3))
    x[np.abs(x) < 1e-3] = 0.5  # keep the inputs away from the kink at 0, where the numeric gradient is undefined
    dout = rng.standard_normal(x.shape)
    grad_x = layers.relu_backward(dout, x)
    forward = _forward_for(layers.relu_forward)
    report.diff("relu_backward grad_x", grad_x, numeric_backward(lambda: forward(x)[0], x, dout, H, True))


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
    report.diff("softmax_loss grad_x", grad_x, numeric_gradient(lambda: layers.softmax_loss(x, y)[0], x, H, True))


def check_l2_regularization(report, rng):
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    loss, _ = layers.l2_regularization(w, 0.3)
    report.value("l2_regularization loss", loss, 0.3 / 2 * (1.0 + 4.0 + 0.25))
    w = rng.standard_normal((5, 3))
    _, grad_w = layers.l2_regularization(w, 0.7)
    report.diff("l2_regularization grad_w", grad_w,
                numeric_gradient(lambda: layers.l2_regularization(w, 0.7)[0], w, H, True))


def check_edge_cases(report, rng):
    """The shapes students' code often gets wrong: one example (N = 1) and one output unit. Each layer's cases are
    skipped (one 'not checked' line) while that layer is a stub."""
    def fc_cases():
        for what, (n, d_in, d_out) in (("N = 1", (1, 4, 3)), ("one output unit", (5, 4, 1))):
            x, w, b = rng.standard_normal((n, d_in)), rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
            dout = rng.standard_normal((n, d_out))
            out, _ = layers.fc_forward(x, w, b)
            report.value(f"fc_forward ({what}) out", out, x @ w + b)
            grads = layers.fc_backward(dout, (x, w, b))
            for name, value, analytic in zip(("grad_x", "grad_w", "grad_b"), (x, w, b), grads):
                report.diff(f"fc_backward ({what}) {name}", analytic,
                            numeric_backward(lambda: layers.fc_forward(x, w, b)[0], value, dout, H, True))

    def relu_cases():
        x = rng.standard_normal((1, 1))
        x += np.where(x >= 0, 0.05, -0.05)  # away from the kink at 0
        dout = rng.standard_normal((1, 1))
        out, _ = layers.relu_forward(x)
        report.value("relu_forward (N = 1) out", out, np.maximum(x, 0))
        report.diff("relu_backward (N = 1) grad_x", layers.relu_backward(dout, x),
                    numeric_backward(lambda: layers.relu_forward(x)[0], x, dout, H, True))

    def softmax_cases():
        x, y = rng.standard_normal((1, 4)), np.array([2])
        loss, grad_x = layers.softmax_loss(x, y)
        report.value("softmax_loss (N = 1) loss", loss, -(x[0, 2] - math.log(np.exp(x[0]).sum())))
        report.diff("softmax_loss (N = 1) grad_x", grad_x,
                    numeric_gradient(lambda: layers.softmax_loss(x, y)[0], x, H, True))

    for layer, cases in (("fc", fc_cases), ("relu", relu_cases), ("softmax_loss", softmax_cases)):
        try:
            cases()
        except NotImplementedError as exc:
            report.ok = False
            print(f"edge cases ({layer}): not checked ({exc})")


def main():
    rng = np.random.default_rng(0)
    report = Report()
    run_item(report, "fc_forward", lambda: check_fc_forward(report))
    run_item(report, "fc_backward", lambda: check_fc_backward(report, rng))
    run_item(report, "relu_forward", lambda: check_relu_forward(report))
    run_item(report, "relu_backward", lambda: check_relu_backward(report, rng))
    run_item(report, "softmax_loss", lambda: check_softmax_loss(report, rng))
    run_item(report, "l2_regularization", lambda: check_l2_regularization(report, rng))
    run_item(report, "edge cases", lambda: check_edge_cases(report, rng))
    print(f"overall: {'PASS' if report.ok else 'FAIL'}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
