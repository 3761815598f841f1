"""Check that softmax_loss stays finite for large scores (the max-subtraction trick). Run from this folder.

The scores below put +-1000 on the classes: exp(1000) overflows float64, so a softmax that exponentiates the raw
scores returns inf or NaN. The correct loss is about 0 (every label has the largest score by far).
"""
import sys

import numpy as np

from layers import softmax_loss


def main():
    scores = np.array([[1e3, 0.0, -1e3], [-1e3, 1e3, 0.0], [0.0, -1e3, 1e3]])
    labels = np.array([0, 1, 2])
    try:
        with np.errstate(all="ignore"):  # overflow is what this script reports, not a warning to print
            loss, grad = softmax_loss(scores, labels)
    except NotImplementedError:
        print("softmax_loss: not implemented")
        return 1
    loss_value = float(np.asarray(loss, dtype=np.float64)) + 0.0  # + 0.0 prints -0.0 as 0.0
    grad = np.asarray(grad, dtype=np.float64)
    print(f"softmax_loss: loss = {loss_value!r} (expected about 0)")
    problems = []
    if np.isnan(loss_value):
        problems.append("the loss is NaN")
    elif np.isinf(loss_value):
        problems.append("the loss is inf")
    elif abs(loss_value) > 1e-6:
        problems.append(f"the loss is finite but wrong ({loss_value:.6g}, expected about 0)")
    if np.isnan(grad).any():
        problems.append("the gradient has NaN")
    if np.isinf(grad).any():
        problems.append("the gradient has inf")
    if problems:
        print("softmax_loss: UNSTABLE: " + "; ".join(problems) + " (subtract each row's maximum before exp)")
        return 1
    print("softmax_loss: stable (finite loss and gradient)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
