"""Section 1, task 3: a two-layer fully connected network, FC -> ReLU -> FC."""
import numpy as np

from classifier import Classifier
from layers import fc_backward, fc_forward, relu_backward, relu_forward


class TwoLayerNet(Classifier):
    def __init__(self, input_dim=3072, num_classes=10, hidden_dim=512, weight_scale=1e-3, dtype=np.float64):
        """Build the parameters: two weight matrices and two bias vectors.

        Weights are drawn from a Gaussian with mean 0 and standard deviation ``weight_scale`` (use np.random, so that
        np.random.seed makes the model reproducible); biases start at zero. Keep every parameter as a numpy array in a
        dict returned by parameters(); the key names are yours to choose.

        Args:
            input_dim: int D, the size of an input.
            num_classes: int C, the number of classes.
            hidden_dim: int H, the size of the hidden layer.
            weight_scale: float, the standard deviation of the initial weights.
            dtype: numpy float dtype of every parameter (optional, not in the original signature: train.py
                passes float32 for speed when it is there; the checks use the float64 default).
        Shapes: first layer weights (D, H) and biases (H,); second layer weights (H, C) and biases (C,).
        """
        self.params = {}
        # BEGIN SOLUTION
        self.params = {
            "W1": (weight_scale * np.random.randn(input_dim, hidden_dim)).astype(dtype),
            "b1": np.zeros(hidden_dim, dtype=dtype),
            "W2": (weight_scale * np.random.randn(hidden_dim, num_classes)).astype(dtype),
            "b2": np.zeros(num_classes, dtype=dtype),
        }
        # END SOLUTION

    def parameters(self):
        """dict name -> the live parameter arrays."""
        params = None
        # BEGIN SOLUTION
        params = self.params
        # END SOLUTION
        return params

    def forward(self, X):
        """Scores of a minibatch: FC -> ReLU -> FC.

        Args:
            X: float array (N, D).
        Returns:
            scores: float array (N, C).
            cache: what backward needs (e.g. the caches of the three layers).
        """
        scores, cache = None, None
        # BEGIN SOLUTION
        p = self.params
        hidden, fc1_cache = fc_forward(X, p["W1"], p["b1"])
        activation, relu_cache = relu_forward(hidden)
        scores, fc2_cache = fc_forward(activation, p["W2"], p["b2"])
        cache = (fc1_cache, relu_cache, fc2_cache)
        # END SOLUTION
        return scores, cache

    def backward(self, grad_scores, cache):
        """Gradients of every parameter.

        Args:
            grad_scores: float array (N, C), the gradient of the loss with respect to the scores.
            cache: what forward returned.
        Returns:
            grads: dict with the keys of parameters(); each gradient has its parameter's shape.
        """
        grads = None
        # BEGIN SOLUTION
        fc1_cache, relu_cache, fc2_cache = cache
        grad_act, grad_w2, grad_b2 = fc_backward(grad_scores, fc2_cache)
        grad_hidden = relu_backward(grad_act, relu_cache)
        _, grad_w1, grad_b1 = fc_backward(grad_hidden, fc1_cache)
        grads = {"W1": grad_w1, "b1": grad_b1, "W2": grad_w2, "b2": grad_b2}
        # END SOLUTION
        return grads
