"""Optimizers (given): update a model's live parameter arrays in place from a dict of gradients."""
import numpy as np


class Optimizer:
    def __init__(self, params):
        """params: dict name -> the live parameter arrays (model.parameters())."""
        self.params = params

    def step(self, grads):
        """Update every parameter in place. grads: dict with the keys of params, each array of its shape."""
        raise NotImplementedError(f"{type(self).__name__}.step: not implemented yet")


class SGD(Optimizer):
    def __init__(self, params, learning_rate, momentum=0.0):
        """Stochastic gradient descent, optionally with (heavy-ball) momentum.

        Args:
            params: dict name -> live float array.
            learning_rate: float; may be changed between steps (train.py decays it per epoch).
            momentum: float in [0, 1); 0 gives plain SGD, p -= learning_rate * g.
        """
        super().__init__(params)
        self.learning_rate = learning_rate
        self.momentum = momentum
        # velocity buffers, made on the first step with momentum (same shape and dtype as each parameter)
        self.velocity = {}

    def step(self, grads):
        """p -= learning_rate * g (plain), or v = momentum * v - learning_rate * g; p += v."""
        for name, param in self.params.items():
            grad = grads[name]
            if self.momentum == 0.0:
                param -= self.learning_rate * grad
                continue
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(param)
            v *= self.momentum
            v -= self.learning_rate * grad
            param += v
