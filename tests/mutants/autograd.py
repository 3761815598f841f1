"""Single-bug mutants of the autograd reference (autograd/tensor.py, nn.py, optim.py), the same form as
tests/mutants/section1.py: exact substitutions (each ``old`` occurs once), ``loses`` the rows that must lose points,
``may_lose`` the rows also allowed to (they run the mutated code), every other autograd row keeps full marks;
``says`` is text the failing feedback must contain (case-insensitive).

Used by tests/test_autograd_grading.py. The bugs that are also chaffs (the buggy frameworks the students' own tests
must catch, autograder/grading/autograd_chaffs.py) are taken from there: one catalogue.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Tuple

from autograder.grading import autograd_chaffs as chaffs


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

def _chaff(name, loses, may_lose=(), says=(), mutant_name=None):
    """The chaff ``name`` of autograder/grading/autograd_chaffs.py (the students' tests must catch it) as a mutant:
    one catalogue of these bugs, graded both ways."""
    _, file, edits = chaffs.CHAFFS[name]
    return _m(mutant_name or name, f"autograd/{file}.py", edits, loses, may_lose, says)


MUTANTS = (
    _chaff("broadcast_not_reduced", {"ag_arithmetic"}, _ALL_TENSOR, says=("add: backward", "input1 (3, 1)")),
    _chaff("grad_overwritten", {"ag_graph"}, says=("x.grad after two calls",),
           mutant_name="grad_overwritten_across_backward"),
    _chaff("reused_node_overwritten", {"ag_graph"}, _ALL_TENSOR, says=("used three times",),
           mutant_name="grad_overwritten_within_graph"),
    _chaff("recursive_toposort", {"ag_graph"}, says=("recursion", "5200 nodes")),
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
    _chaff("mean_not_divided", {"ag_shapes"}, _ALL_TENSOR, says=("mean",), mutant_name="mean_grad_not_divided"),
    _chaff("index_repeated_overwrites", {"ag_shapes"}, _ALL_TENSOR, says=("integer arrays, repeated",)),
    _chaff("tanh_derivative", {"ag_functions"}, _ALL_TENSOR, says=("tanh: gradient",)),
    _m("sigmoid_derivative", T, [("(g * data * (1.0 - data),)", "(g * data,)")],
       {"ag_functions"}, _ALL_TENSOR, says=("sigmoid: gradient",)),
    _chaff("log_softmax_grad", {"ag_functions"}, _ALL_TENSOR, says=("log_softmax",)),
    _m("cross_entropy_not_averaged", T, [("        return (g * d / n,)", "        return (g * d,)")],
       {"ag_functions"}, _ALL_TENSOR, says=("cross_entropy: gradient",)),
    _chaff("linear_without_bias", {"ag_nn"}, _ALL_TENSOR, says=("Linear",)),
    _m("gelu_constant", NN, [("(x ** 3) * 0.044715", "(x ** 3) * 0.04")], {"ag_extras"}, says=("GELU",)),
    _m("label_smoothing_not_spread", NN, [("np.full((n, c), self.smoothing / c)", "np.zeros((n, c))")],
       {"ag_extras"}, says=("LabelSmoothingCrossEntropy",)),
    _chaff("sgd_dampened_momentum", {"ag_optim"}, says=("momentum=0.9",)),
    _chaff("adam_no_bias_correction", {"ag_optim"}, {"ag_extras"}, says=("Adam(",)),
    _m("adamw_coupled_decay", OPT, [("        p.data -= self.lr * self.decoupled_decay * p.data\n"
                                     "        self._adam(p, g, state)",
                                     "        self._adam(p, g + self.decoupled_decay * p.data, state)")],
       {"ag_extras"}, says=("AdamW",)),
)
