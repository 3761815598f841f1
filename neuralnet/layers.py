"""Section 1, task 2: the layers of a fully connected network, forward and backward (numpy only).

Conventions: a forward function returns ``(out, cache)``; the matching backward takes ``(grad_out, cache)``, where
``grad_out`` is the gradient of the loss with respect to ``out``, and returns the gradients with respect to the
forward's inputs. A loss returns ``(loss, grad)``, the gradient with respect to its first argument.

Check your layers from this folder with ``python gradcheck_layers.py`` and ``python check_softmax_stability.py``.
"""
import numpy as np


def fc_forward(x, w, b):
    """Fully connected layer: out = x @ w + b.

    Args:
        x: float array (N, Din), a minibatch of N inputs.
        w: float array (Din, Dout), the weights.
        b: float array (Dout,), the biases.
    Returns:
        out: float array (N, Dout).
        cache: (x, w, b), for fc_backward.
    """
    out = None
    # BEGIN SOLUTION
    out = x @ w + b
    # END SOLUTION
    cache = (x, w, b)
    return out, cache


def fc_backward(grad_out, cache):
    """Backward pass of fc_forward.

    Args:
        grad_out: float array (N, Dout), the gradient of the loss with respect to fc_forward's out.
        cache: (x (N, Din), w (Din, Dout), b (Dout,)) from fc_forward.
    Returns:
        grad_x: float array (N, Din).
        grad_w: float array (Din, Dout).
        grad_b: float array (Dout,).
    """
    x, w, b = cache
    grad_x, grad_w, grad_b = None, None, None
    # BEGIN SOLUTION
    grad_x = grad_out @ w.T
    grad_w = x.T @ grad_out
    grad_b = grad_out.sum(axis=0)
    # END SOLUTION
    return grad_x, grad_w, grad_b


def relu_forward(x):
    """ReLU, elementwise: out = max(0, x).

    Args:
        x: float array of any shape.
    Returns:
        out: float array of x's shape.
        cache: x, for relu_backward.
    """
    out = None
    # BEGIN SOLUTION
    out = np.maximum(x, 0)
    # END SOLUTION
    cache = x
    return out, cache


def relu_backward(grad_out, cache):
    """Backward pass of relu_forward.

    Args:
        grad_out: float array of x's shape, the gradient of the loss with respect to relu_forward's out.
        cache: x, the input of relu_forward (any shape).
    Returns:
        grad_x: float array of x's shape (a bare array, not a tuple).
    """
    x = cache
    grad_x = None
    # BEGIN SOLUTION
    # The gradient passes where the input was positive (the subgradient at 0 is taken as 0).
    grad_x = grad_out * (x > 0)
    # END SOLUTION
    return grad_x


def l2_loss(x, y):
    """Squared-error loss (given): loss = 0.5 * sum((x - y)**2) / N.

    Args:
        x: float array (N, D), predictions.
        y: float array (N, D), targets.
    Returns:
        loss: float.
        grad_x: float array (N, D), the gradient of the loss with respect to x.
    """
    N = x.shape[0]
    diff = x - y
    loss = 0.5 * np.sum(diff * diff) / N
    grad_x = diff / N
    return loss, grad_x


def softmax_loss(x, y):
    """Mean softmax cross-entropy loss of a minibatch.

    Subtract each row's maximum score before exponentiating (it does not change the softmax): without it, scores
    like 1000 overflow exp and the loss becomes inf or NaN.

    Args:
        x: float array (N, C), the scores; x[i, c] is the score of class c for example i.
        y: int array (N,), the labels, each in [0, C).
    Returns:
        loss: float, mean over the N examples of -log(softmax(x[i])[y[i]]).
        grad_x: float array (N, C), the gradient of the loss with respect to x.
    """
    loss, grad_x = None, None
    # BEGIN SOLUTION
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm  # log-softmax without ever forming exp(large)
    rows = np.arange(N)
    loss = float(-log_probs[rows, y].mean())
    grad_x = np.exp(log_probs)
    grad_x[rows, y] -= 1
    grad_x /= N
    # END SOLUTION
    return loss, grad_x


def l2_regularization(w, reg):
    """L2 regularization of a weight array: loss = reg / 2 * sum(w**2).

    Args:
        w: float array of any shape.
        reg: float, the regularization strength.
    Returns:
        loss: float.
        grad_w: float array of w's shape, reg * w.
    """
    loss, grad_w = None, None
    # BEGIN SOLUTION
    loss = 0.5 * reg * float(np.sum(w * w))
    grad_w = reg * w
    # END SOLUTION
    return loss, grad_w
