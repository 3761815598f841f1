"""A linear classifier (given): scores = X @ W + b. An example of a complete Classifier."""
import numpy as np

from classifier import Classifier
from layers import fc_backward, fc_forward


class LinearClassifier(Classifier):
    def __init__(self, input_dim=3072, num_classes=10, weight_scale=1e-3):
        """Gaussian weights W (input_dim, num_classes) with std weight_scale, zero biases b (num_classes,)."""
        self.params = {
            "W": weight_scale * np.random.randn(input_dim, num_classes),
            "b": np.zeros(num_classes),
        }

    def parameters(self):
        return self.params

    def forward(self, X):
        """X: float array (N, input_dim) -> scores (N, num_classes), cache (the fc_forward cache)."""
        scores, cache = fc_forward(X, self.params["W"], self.params["b"])
        return scores, cache

    def backward(self, grad_scores, cache):
        """grad_scores: float array (N, num_classes) -> {'W': (input_dim, num_classes), 'b': (num_classes,)}."""
        _, grad_w, grad_b = fc_backward(grad_scores, cache)
        return {"W": grad_w, "b": grad_b}
