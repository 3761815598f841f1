"""Single-bug mutants of the autograd reference (autograd/tensor.py, nn.py, optim.py), the same form as
tests/mutants/section1.py: exact substitutions (each ``old`` occurs once), ``loses`` the rows that must lose points,
``may_lose`` the rows also allowed to (they run the mutated code), every other autograd row keeps full marks;
``says`` is text the failing feedback must contain (case-insensitive).

Used by tests/test_autograd_grading.py (and, as chaffs, by the students' test grading).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Tuple


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # path in the kit, e.g. "autograd/tensor.py"
    edits: Tuple[Tuple[str, str], ...]
    loses: frozenset
    may_lose: frozenset = field(default_factory=frozenset)
    says: Tuple[str, ...] = ()


def _m(name, file, edits, loses, may_lose=(), says=()):
    return Mutant(name, file, tuple(edits), frozenset(loses), frozenset(may_lose), tuple(says))


T, NN, OPT = "autograd/tensor.py", "autograd/nn.py", "autograd/optim.py"
_ALL_TENSOR = ("ag_arithmetic", "ag_matmul_pow", "ag_shapes", "ag_functions", "ag_graph", "ag_nn", "ag_extras")

RECURSIVE_TOPOSORT = '''        order, seen = [], set()

        def visit(node):
            if id(node) in seen:
                return
            seen.add(id(node))
            for parent in node._parents:
                if parent.requires_grad:
                    visit(parent)
            order.append(node)
        visit(self)
'''
ITERATIVE_TOPOSORT = '''        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for parent in node._parents:
                if parent.requires_grad and id(parent) not in seen:
                    stack.append((parent, False))
'''

MUTANTS = (
    _m("broadcast_not_reduced", T, [("        if size == 1 and grad.shape[axis] != 1:", "        if False:")],
       {"ag_arithmetic"}, _ALL_TENSOR, says=("add: backward", "input1 (3, 1)")),
    _m("grad_overwritten_across_backward", T,
       [("            node.grad = g.copy() if node.grad is None else node.grad + g", "            node.grad = g.copy()")],
       {"ag_graph"}, says=("x.grad after two calls",)),
    _m("grad_overwritten_within_graph", T,
       [("grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg", "grads[id(parent)] = pg")],
       {"ag_graph"}, _ALL_TENSOR, says=("used three times",)),
    _m("recursive_toposort", T, [(ITERATIVE_TOPOSORT, RECURSIVE_TOPOSORT)], {"ag_graph"},
       says=("recursion", "5200 nodes")),
    _m("div_grad_sign", T, [("unbroadcast(-g * a.data / (b.data * b.data), b.shape)",
                             "unbroadcast(g * a.data / (b.data * b.data), b.shape)")],
       {"ag_arithmetic"}, _ALL_TENSOR, says=("div: gradient of input1",)),
    _m("matmul_grad_not_transposed", T, [("            return g @ b.data.T, a.data.T @ g",
                                          "            return g @ b.data.T, (g.T @ a.data).T")],
       set(), _ALL_TENSOR),  # a correct rewrite: must keep every point
    _m("matmul_grad_wrong", T, [("            return g @ b.data.T, a.data.T @ g",
                                 "            return g @ b.data.T * 2.0, a.data.T @ g")],
       {"ag_matmul_pow"}, _ALL_TENSOR, says=("matmul: gradient of input0",)),
    _m("pow_grad_exponent", T, [("(g * c * a.data ** (c - 1),)", "(g * c * a.data ** c,)")],
       {"ag_matmul_pow"}, _ALL_TENSOR, says=("pow",)),
    _m("mean_grad_not_divided", T, [("            return (np.broadcast_to(g, a.shape) / count,)",
                                     "            return (np.broadcast_to(g, a.shape).copy(),)")],
       {"ag_shapes"}, _ALL_TENSOR, says=("mean",)),
    _m("index_repeated_overwrites", T, [("            np.add.at(out, index, g)", "            out[index] = g")],
       {"ag_shapes"}, _ALL_TENSOR, says=("integer arrays, repeated",)),
    _m("tanh_derivative", T, [("(g * (1.0 - data * data),)", "(g * (1.0 - data),)")],
       {"ag_functions"}, _ALL_TENSOR, says=("tanh: gradient",)),
    _m("sigmoid_derivative", T, [("(g * data * (1.0 - data),)", "(g * data,)")],
       {"ag_functions"}, _ALL_TENSOR, says=("sigmoid: gradient",)),
    _m("log_softmax_grad", T, [("(g - np.exp(data) * g.sum(axis=axis, keepdims=True),)", "(g - np.exp(data),)")],
       {"ag_functions"}, _ALL_TENSOR, says=("log_softmax",)),
    _m("cross_entropy_not_averaged", T, [("        return (g * d / n,)", "        return (g * d,)")],
       {"ag_functions"}, _ALL_TENSOR, says=("cross_entropy: gradient",)),
    _m("linear_without_bias", NN, [("        return out + self.bias if self.bias is not None else out",
                                    "        return out")],
       {"ag_nn"}, _ALL_TENSOR, says=("Linear",)),
    _m("gelu_constant", NN, [("(x ** 3) * 0.044715", "(x ** 3) * 0.04")], {"ag_extras"}, says=("GELU",)),
    _m("label_smoothing_not_spread", NN, [("np.full((n, c), self.smoothing / c)", "np.zeros((n, c))")],
       {"ag_extras"}, says=("LabelSmoothingCrossEntropy",)),
    _m("sgd_dampened_momentum", OPT, [("self.momentum * v + g", "self.momentum * v + (1.0 - self.momentum) * g")],
       {"ag_optim"}, says=("momentum=0.9",)),
    _m("adam_no_bias_correction", OPT, [("        m_hat = m / (1.0 - self.beta1 ** t)\n"
                                         "        v_hat = v / (1.0 - self.beta2 ** t)\n",
                                         "        m_hat = m\n        v_hat = v\n")],
       {"ag_optim"}, {"ag_extras"}, says=("Adam(",)),
    _m("adamw_coupled_decay", OPT, [("        p.data -= self.lr * self.decoupled_decay * p.data\n"
                                     "        self._adam(p, g, state)",
                                     "        self._adam(p, g + self.decoupled_decay * p.data, state)")],
       {"ag_extras"}, says=("AdamW",)),
)
