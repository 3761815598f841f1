"""Single-bug mutants of the Section-1 reference (backprop/functions.py, neuralnet/*.py).

Each mutant is one or more exact text substitutions in one reference file (each ``old`` must occur exactly once, so a
change in the kit's text shows up as a clear test failure here, not as a silently unmutated file). ``loses`` are the
rubric ids that must lose points; ``may_lose`` those allowed to lose points too because they run the mutated code
(e.g. TwoLayerNet uses the student's layers); every other Section-1 item must keep full marks. ``says`` is text the
failing feedback must contain (case-insensitive), so the student is pointed at the right thing. ``names_cause`` are
(rubric id, text) pairs: that row must lose points too and its feedback must contain the text, e.g. the knock-on line
"your fc_backward fails 2.2: fix that first" in the rows that run fc_backward.

Used by tests/test_graded_section1.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Tuple


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # path in the kit (repository top level), e.g. "neuralnet/layers.py"
    edits: Tuple[Tuple[str, str], ...]  # (old, new) exact substitutions
    loses: frozenset
    may_lose: frozenset = field(default_factory=frozenset)
    says: Tuple[str, ...] = ()
    names_cause: Tuple[Tuple[str, str], ...] = ()


def _m(name, file, edits, loses, may_lose=(), says=(), names_cause=()):
    return Mutant(name, file, tuple(edits), frozenset(loses), frozenset(may_lose), tuple(says), tuple(names_cause))


def _knock_on(function: str, number: str, rows) -> Tuple[Tuple[str, str], ...]:
    return tuple((row, f"your {function} fails {number}: fix that first") for row in rows)


# The rows that run fc_backward / relu_backward besides their own (2.7's edge cases, TwoLayerNet.backward, training).
_RUN_LAYER_BACKWARD = ("layers_edge_cases", "two_layer_backward", "training_step_own_model")


# Items that run TwoLayerNet or training_step on the student's layers: a layer bug may show there too.
_USES_LAYERS = ("two_layer_forward", "two_layer_backward", "training_step_own_model")

MUTANTS = [
    _m("fc_backward_missing_transpose", "neuralnet/layers.py", [("grad_x = grad_out @ w.T", "grad_x = grad_out @ w")],
       ["fc_backward", "layers_edge_cases"], _USES_LAYERS, says=["fc_backward"]),
    _m("fc_backward_grad_w_halved", "neuralnet/layers.py",
       [("grad_w = x.T @ grad_out", "grad_w = x.T @ grad_out * 0.5")],
       ["fc_backward", "layers_edge_cases"], _USES_LAYERS, says=["grad_w wrong for x (4, 5), w (5, 3)"]),
    _m("fc_backward_grad_b_averaged", "neuralnet/layers.py",
       [("grad_b = grad_out.sum(axis=0)", "grad_b = grad_out.mean(axis=0)")],
       ["fc_backward", "layers_edge_cases"], _USES_LAYERS,
       says=["grad_b wrong", "you averaged over the batch; sum over it instead"],
       names_cause=_knock_on("fc_backward", "2.2", _RUN_LAYER_BACKWARD)),
    _m("fc_backward_grad_w_transposed", "neuralnet/layers.py",
       [("grad_w = x.T @ grad_out", "grad_w = grad_out.T @ x")],
       ["fc_backward", "layers_edge_cases"], _USES_LAYERS,
       says=["grad_w wrong", "is the transpose of the expected (5, 3) result"],
       names_cause=_knock_on("fc_backward", "2.2", _RUN_LAYER_BACKWARD)),
    _m("fc_backward_grad_x_sign", "neuralnet/layers.py",
       [("grad_x = grad_out @ w.T", "grad_x = -(grad_out @ w.T)")],
       ["fc_backward", "layers_edge_cases"], _USES_LAYERS,
       says=["grad_x wrong", "has the opposite sign of the expected result"]),
    _m("relu_forward_abs", "neuralnet/layers.py", [("out = np.maximum(x, 0)", "out = np.abs(x)")],
       ["relu_forward", "layers_edge_cases"], _USES_LAYERS, says=["relu_forward: out wrong"],
       names_cause=_knock_on("relu_forward", "2.3", _USES_LAYERS)),
    _m("fc_forward_no_bias", "neuralnet/layers.py", [("    out = x @ w + b\n", "    out = x @ w\n")],
       ["fc_forward", "layers_edge_cases"], _USES_LAYERS, says=["fc_forward: out wrong"],
       names_cause=_knock_on("fc_forward", "2.1", _USES_LAYERS)),
    _m("relu_backward_wrong_mask", "neuralnet/layers.py",
       [("grad_x = grad_out * (x > 0)", "grad_x = grad_out * (x < 0)")],
       ["relu_backward", "layers_edge_cases"], _USES_LAYERS, says=["relu_backward"],
       names_cause=_knock_on("relu_backward", "2.4", _RUN_LAYER_BACKWARD)),
    _m("softmax_no_max_subtraction", "neuralnet/layers.py",
       [("shifted = x - x.max(axis=1, keepdims=True)", "shifted = x")],
       ["softmax_loss"], ["training_step_own_model"], says=["large scores", "subtract each row's maximum"]),
    _m("softmax_global_max", "neuralnet/layers.py",
       [("shifted = x - x.max(axis=1, keepdims=True)", "shifted = x - x.max()")],
       ["softmax_loss"], ["training_step_own_model"], says=["large scores", "subtract each row's maximum"]),
    _m("softmax_grad_not_averaged", "neuralnet/layers.py", [("    grad_x /= N\n", "\n")],
       ["softmax_loss"], ["training_step_own_model"],
       says=["softmax_loss: grad wrong", "you summed over the batch; average over it instead (divide by N)"],
       names_cause=_knock_on("softmax_loss", "2.5", ["training_step_own_model"]) + (
           ("training_step_own_model", "the difference comes from one of those (softmax_loss fails 2.5)"),)),
    _m("l2_missing_half", "neuralnet/layers.py",
       [("loss = 0.5 * reg * float(np.sum(w * w))", "loss = reg * float(np.sum(w * w))")],
       ["l2_regularization"], ["training_step_own_model"], says=["l2_regularization: loss wrong"]),
    _m("f3_gradient_sign", "backprop/functions.py", [("    gs1 = ge1 * e1", "    gs1 = -ge1 * e1")],
       ["f3"], says=["gs1", "has the opposite sign of the expected value"]),
    _m("init_wrong_scale", "neuralnet/two_layer_net.py",
       [('"W1": (weight_scale * np.random.randn(input_dim, hidden_dim))',
         '"W1": (1e-3 * np.random.randn(input_dim, hidden_dim))'),
        ('"W2": (weight_scale * np.random.randn(hidden_dim, num_classes))',
         '"W2": (1e-3 * np.random.randn(hidden_dim, num_classes))')],
       ["two_layer_init"], says=["weight_scale"]),
    _m("two_layer_no_relu", "neuralnet/two_layer_net.py",
       [("activation, relu_cache = relu_forward(hidden)", "activation, relu_cache = hidden, hidden"),
        ("grad_hidden = relu_backward(grad_act, relu_cache)", "grad_hidden = grad_act")],
       ["two_layer_forward", "two_layer_backward"], ["training_step_own_model"], says=["FC -> ReLU -> FC"]),
    _m("two_layer_backward_grad_b1_doubled", "neuralnet/two_layer_net.py",
       [('grads = {"W1": grad_w1, "b1": grad_b1,', 'grads = {"W1": grad_w1, "b1": 2 * grad_b1,')],
       ["two_layer_backward"], ["training_step_own_model"],
       says=["grad of b1 (6,) differs", "also disagrees with central differences of your own forward"],
       names_cause=_knock_on("TwoLayerNet.backward", "3.3", ["training_step_own_model"])),
]

# TwoLayerNet with other parameter key names: must keep full marks everywhere.
RENAMED_KEYS = ("neuralnet/two_layer_net.py",
                (('"W1"', '"w_in"'), ('"b1"', '"bias_in"'), ('"W2"', '"w_out"'), ('"b2"', '"bias_out"')))

MUTANTS += [
    _m("training_step_l2_on_biases", "neuralnet/train.py",
       [("        if param.ndim == 2:\n", "        if param.ndim >= 1:\n")],
       ["training_step_own_model", "training_step_probe_model"], says=["regularizes the biases too"]),
    _m("training_step_no_reg_gradient", "neuralnet/train.py",
       [("            grads[name] = grads[name] + reg_grad", "            grads[name] = grads[name]")],
       ["training_step_own_model", "training_step_probe_model"], says=["reg * W is missing"]),
    _m("training_step_assumes_key_names", "neuralnet/train.py",
       [("        if param.ndim == 2:\n", '        if name in ("W1", "W2"):\n')],
       ["training_step_probe_model"], says=["L2 regularization term is missing",
                                            "passes 4.1 with your TwoLayerNet but not with this model"]),
    # What most public solutions do: the weights by their own names. The grader's probe model has other names.
    _m("training_step_params_by_name", "neuralnet/train.py",
       [("        if param.ndim == 2:\n",
         '        if param is model.parameters()["W1"] or param is model.parameters()["W2"]:\n')],
       ["training_step_probe_model"],
       says=["training_step must work for any model: take the weights from model.parameters()", "KeyError: 'W1'"]),
]
