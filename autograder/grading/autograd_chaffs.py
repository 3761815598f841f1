"""The chaffs of the autograd framework: each is one bug, written as exact substitutions in the reference's
autograd/tensor.py, nn.py or optim.py (each ``old`` occurs exactly once; tests/test_autograd_chaffs.py checks that the
reference test suite catches every one). :func:`framework_sources` gives each chaff's three files as text.

Keep the list short: every chaff is one more pytest run of the student's tests on Gradescope's half CPU.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

from autograder import paths

FILES = ("tensor", "nn", "optim")

_ITERATIVE = '''        order, seen, stack = [], set(), [(self, False)]
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
_RECURSIVE = '''        order, seen = [], set()

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

# name -> (what the bug is, for the feedback; file; [(old, new), ...])
CHAFFS: Dict[str, Tuple[str, str, List[Tuple[str, str]]]] = {
    "broadcast_not_reduced": ("a broadcast input's gradient is not summed over the stretched axes", "tensor",
                              [("        if size == 1 and grad.shape[axis] != 1:", "        if False:")]),
    "grad_overwritten": ("a second backward() overwrites .grad instead of adding to it", "tensor",
                         [("            node.grad = g.copy() if node.grad is None else node.grad + g",
                           "            node.grad = g.copy()")]),
    "reused_node_overwritten": ("a tensor used twice in one graph gets only one of its gradients", "tensor",
                                [("grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg",
                                  "grads[id(parent)] = pg")]),
    "recursive_toposort": ("backward() sorts the graph recursively (a deep graph overflows the stack)", "tensor",
                           [(_ITERATIVE, _RECURSIVE)]),
    "tanh_derivative": ("tanh's derivative is 1 - tanh instead of 1 - tanh^2", "tensor",
                        [("(g * (1.0 - data * data),)", "(g * (1.0 - data),)")]),
    "mean_not_divided": ("mean's gradient is not divided by the count", "tensor",
                         [("            return (np.broadcast_to(g, a.shape) / count,)",
                           "            return (np.broadcast_to(g, a.shape).copy(),)")]),
    "index_repeated_overwrites": ("indexing with a repeated index keeps one gradient instead of their sum", "tensor",
                                  [("            np.add.at(out, index, g)", "            out[index] = g")]),
    "log_softmax_grad": ("log_softmax's gradient leaves out the sum of the output gradient", "tensor",
                         [("(g - np.exp(data) * g.sum(axis=axis, keepdims=True),)", "(g - np.exp(data),)")]),
    "no_grad_ignored": ("no_grad() still records the graph", "tensor",
                        [("        if _GRAD_ENABLED[0] and any(p.requires_grad for p in parents):",
                          "        if any(p.requires_grad for p in parents):")]),
    "linear_without_bias": ("Linear forgets its bias", "nn",
                            [("        return out + self.bias if self.bias is not None else out",
                              "        return out")]),
    "sgd_dampened_momentum": ("SGD's momentum dampens the gradient by (1 - momentum)", "optim",
                              [("self.momentum * v + g", "self.momentum * v + (1.0 - self.momentum) * g")]),
    "adam_no_bias_correction": ("Adam leaves out the bias correction", "optim",
                                [("        m_hat = m / (1.0 - self.beta1 ** t)\n"
                                  "        v_hat = v / (1.0 - self.beta2 ** t)\n",
                                  "        m_hat = m\n        v_hat = v\n")]),
}


def reference_sources(kit_dir: Optional[Path] = None) -> Dict[str, str]:
    folder = (Path(kit_dir) if kit_dir is not None else paths.KIT) / "autograd"
    return {name: (folder / f"{name}.py").read_text() for name in FILES}


def framework_sources(name: str, kit_dir: Optional[Path] = None) -> Dict[str, str]:
    """The three files of chaff ``name`` (module name -> source); ValueError when an edit no longer applies."""
    sources = reference_sources(kit_dir)
    _, file, edits = CHAFFS[name]
    text = sources[file]
    for old, new in edits:
        if text.count(old) != 1:
            raise ValueError(f"chaff {name}: {old[:60]!r} occurs {text.count(old)} times in autograd/{file}.py")
        text = text.replace(old, new)
    sources[file] = text
    return sources
