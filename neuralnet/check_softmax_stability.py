"""Check that softmax_loss stays finite for large scores (the max-subtraction trick). Run from this folder.

The scores below put +-1000 on the classes: exp(1000) overflows float64, so a softmax that exponentiates the raw
scores returns inf or NaN. The correct loss is about 0 (every label has the largest score by far).
"""
import os
import sys
import traceback

import numpy as np

from layers import softmax_loss


def main():
    scores = np.array([[1e3, 0.0, -1e3], [-1e3, 1e3, 0.0], [0.0, -1e3, 1e3]])
    labels = np.array([0, 1, 2])
    try:
        with np.errstate(all="ignore"):  # overflow is what this script reports, not a warning to print
            loss, grad = softmax_loss(scores, labels)
            loss_value = float(np.asarray(loss, dtype=np.float64)) + 0.0  # + 0.0 prints -0.0 as 0.0
            grad = np.asarray(grad, dtype=np.float64)
    except NotImplementedError:
        print("softmax_loss: not implemented")
        return 1
    except Exception as exc:  # noqa: BLE001 -- reported on one line with its type and message, counted as a failure
        last = traceback.extract_tb(exc.__traceback__)[-1]
        if os.path.basename(last.filename) == os.path.basename(__file__):  # unpacking or converting what it returned
            where = "softmax_loss(x, y) must return (loss, grad): a float and an array of x's shape"
        else:
            where = f"in {os.path.basename(last.filename)}, line {last.lineno}, in {last.name}"
        print(f"softmax_loss: error: {type(exc).__name__}: {exc} ({where}) FAIL")
        return 1
    print(f"softmax_loss: loss = {loss_value!r} (expected about 0)")
    unstable, wrong = [], []
    if np.isnan(loss_value):
        unstable.append("the loss is NaN")
    elif np.isinf(loss_value):
        unstable.append("the loss is inf")
    elif abs(loss_value) > 1e-6:
        wrong.append(f"the loss is finite but wrong ({loss_value:.6g}, expected about 0)")
    if grad.shape != scores.shape:
        wrong.append(f"the gradient has shape {grad.shape}, expected {scores.shape}")
    else:
        if np.isnan(grad).any():
            unstable.append("the gradient has NaN")
        if np.isinf(grad).any():
            unstable.append("the gradient has inf")
    if unstable:
        print("softmax_loss: UNSTABLE: " + "; ".join(unstable) + " (subtract each row's maximum before exp)")
    if wrong:
        print("softmax_loss: " + "; ".join(wrong) + " FAIL")
    if unstable or wrong:
        return 1
    print("softmax_loss: stable (finite loss and gradient)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
