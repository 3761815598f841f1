"""Extra credit: optimizers for :mod:`tensor` parameters (numpy only).

``step()`` updates each parameter's ``.data`` in place from its ``.grad`` (a parameter whose grad is None is left
as it is); ``zero_grad()`` clears the grads. Updates follow PyTorch's definitions (torch.optim), so the two agree
step for step.
"""
import numpy as np


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: no parameters to optimize")
        self.lr = float(lr)
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p, np.asarray(p.grad, dtype=np.float64), state)

    def _update(self, p, g, state):
        raise NotImplementedError


class SGD(Optimizer):
    """v = momentum v + g (v = g at the first step); p -= lr v. ``weight_decay`` adds weight_decay * p to g."""

    def __init__(self, params, lr=0.01, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)

    def _update(self, p, g, state):
        # BEGIN SOLUTION
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            v = state.get("v")
            v = g.copy() if v is None else self.momentum * v + g
            state["v"] = v
            g = v
        p.data -= self.lr * g
        # END SOLUTION


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction: m, v moving averages of g and g^2; p -= lr m_hat / (sqrt(v_hat) + eps)."""

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        self._adam(p, g, state)

    def _adam(self, p, g, state):
        # BEGIN SOLUTION
        t = state.get("t", 0) + 1
        m = state.get("m", np.zeros_like(p.data))
        v = state.get("v", np.zeros_like(p.data))
        m = self.beta1 * m + (1.0 - self.beta1) * g
        v = self.beta2 * v + (1.0 - self.beta2) * g * g
        state.update(t=t, m=m, v=v)
        m_hat = m / (1.0 - self.beta1 ** t)
        v_hat = v / (1.0 - self.beta2 ** t)
        p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        # END SOLUTION


class AdamW(Adam):
    """Extra: Adam with decoupled weight decay (Loshchilov & Hutter): p -= lr weight_decay p, then the Adam step."""

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, betas, eps, weight_decay=0.0)
        self.decoupled_decay = float(weight_decay)

    def _update(self, p, g, state):
        # BEGIN SOLUTION
        p.data -= self.lr * self.decoupled_decay * p.data
        self._adam(p, g, state)
        # END SOLUTION
