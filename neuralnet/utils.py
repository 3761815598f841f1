"""Helpers for the checks and for training (given): numeric gradients and accuracy."""
import numpy as np


def numeric_gradient(f, x, h=1e-6, fourth_order=False):
    """Central-difference gradient of a scalar function.

    Args:
        f: function of no arguments returning a float; it must read ``x`` (which is changed in place here).
        x: float array of any shape (restored afterwards).
        h: float, the step.
        fourth_order: use the five-point central difference
            (-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / (12h), whose error shrinks as h**4 instead of h**2:
            a larger h then gives the same truncation error with much less rounding error (the classifier checks
            need differences below 1e-10).
    Returns:
        grad: float64 array of x's shape, (f(x + h e_i) - f(x - h e_i)) / (2h) at every index i (or the five-point
        formula).
    """
    def at(idx, old, step):
        x[idx] = old + step
        return float(f())

    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            if fourth_order:
                grad[idx] = (-at(idx, old, 2 * h) + 8 * at(idx, old, h) - 8 * at(idx, old, -h)
                             + at(idx, old, -2 * h)) / (12 * h)
            else:
                grad[idx] = (at(idx, old, h) - at(idx, old, -h)) / (2 * h)
        finally:
            x[idx] = old  # restore the entry even when f raises
    return grad


def numeric_backward(f, x, grad_out, h=1e-6, fourth_order=False):
    """Central-difference gradient of sum(f() * grad_out) with respect to x: what a backward pass should return.

    Args:
        f: function of no arguments returning an array of grad_out's shape; it must read ``x``.
        x: float array of any shape (changed in place during the check, restored afterwards).
        grad_out: float array of f()'s shape, the upstream gradient.
        h: float, the step.
        fourth_order: use the five-point formula (see numeric_gradient).
    Returns:
        grad: float64 array of x's shape.
    """
    return numeric_gradient(lambda: np.sum(np.asarray(f(), dtype=np.float64) * grad_out), x, h, fourth_order)


def rel_error(a, b):
    """Relative difference of two arrays, ||a - b|| / (||a|| + ||b||) (0 when both are 0)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def check_accuracy(model, sampler):
    """Accuracy of ``model.predict`` over every minibatch of ``sampler``, in percent (float in [0, 100])."""
    correct, total = 0, 0
    for X_batch, y_batch in sampler:
        correct += int(np.sum(model.predict(X_batch) == y_batch))
        total += y_batch.shape[0]
    return 100.0 * correct / total if total else 0.0


def max_relative_error(expected, got, min_floor=1e-8):
    """The grader's measure: max over entries of |e - g| / max(|e| + |g|, floor), floor = 1e-4 * max|e| (at least
    ``min_floor``), so entries tiny next to the rest of the array (round-off around 0) do not decide alone.

    Returns:
        (error, index): the largest error (float; inf for NaN) and the index tuple of its entry (() for a scalar).
    """
    e = np.asarray(expected, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    if e.size == 0:
        return 0.0, ()
    floor = max(1e-4 * float(np.max(np.abs(e))), min_floor)
    err = np.abs(e - g) / np.maximum(np.abs(e) + np.abs(g), floor)
    err = np.where(np.isnan(err), np.inf, err)
    index = np.unravel_index(int(np.argmax(err)), e.shape)
    return float(err[index]), tuple(int(i) for i in index)


def worst_entry_text(expected, got, index, expected_what="expected"):
    """'at [2, 1]: expected 0.4312, got 0.2156' for the entry ``index`` of two arrays of one shape."""
    e = np.asarray(expected, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    where = f"at [{', '.join(str(i) for i in index)}]: " if index else ""
    return f"{where}{expected_what} {float(e[index]):.6g}, got {float(g[index]):.6g}"
