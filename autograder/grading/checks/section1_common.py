"""What Section 1's check modules share: the numpy-only rule, one sandbox batch per test class, and the reference.

Every Section 1 class runs its calls in one sandbox process with the part's ``calls`` limits (milliseconds each, so a
hang is cut short), after the file's static numpy-only check; the harness watches the frameworks, and the first call
by whose end one was loaded fails saying so (see autograder/grading/numpy_only.py).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from autograder.grading import numpy_only, reference

RULE = numpy_only.Rule("Section 1")
PROCEDURES = "section1_procedures"


def run_batch(case_cls: Any, filename: str, calls: list) -> Tuple[dict, Optional[str]]:
    """Run a class's calls on the submission in one sandbox process, after the numpy-only check.

    ``calls[0]`` must be the harness's ``section1_procedures.loaded_frameworks`` call for ``filename``'s module (so
    it is the first import in the process). Returns (call id -> Outcome, the numpy-only problem or None); when the
    file imports a forbidden framework statically, nothing is run and the outcomes are {}.
    """
    submission = case_cls.grading_session().submission_dir
    problem = numpy_only.problem(RULE, submission, filename)
    if problem:
        return {}, problem
    outcomes = run_calls(case_cls, calls)
    return outcomes, (numpy_only.problem(RULE, submission, filename, outcomes[calls[0].id])
                      or numpy_only.loaded_problem(RULE, filename, calls, outcomes, submission))


def run_calls(case_cls: Any, calls: list) -> dict:
    """Run ``calls`` in one fresh sandbox process with the Section-1 limits, watching the frameworks."""
    outcomes = case_cls.run_student(calls, limits="calls", watch=RULE.forbidden)
    return numpy_only.mark_loaded(RULE, calls, outcomes)


def stop_if_not_numpy_only(case: Any, problem: Optional[str], set_score: Any) -> None:
    """Fail the test with 0 points when its file is not numpy-only."""
    if problem:
        if set_score is not None:
            set_score(0.0)
        case.fail_with(problem)


# -- the reference, loaded in the grading process (never student code) ------------------------------------------------

def functions():
    """The reference ``backprop/functions.py`` (f1, f2, f3, f4)."""
    return reference.load("backprop", "functions")


def layers():
    """The reference ``neuralnet/layers.py``."""
    return reference.load("neuralnet", "layers")


def two_layer_net():
    """The reference ``neuralnet/two_layer_net.py``."""
    return reference.load("neuralnet", "two_layer_net")


def train():
    """The reference ``neuralnet/train.py`` (its imports, e.g. matplotlib, load too)."""
    return reference.load("neuralnet", "train")


def two_layer_scores(X, W1, b1, W2, b2):
    """Reference FC -> ReLU -> FC scores, built from the reference layers (independent of parameter key names).

    Args:
        X: float array (N, D). W1: (D, H). b1: (H,). W2: (H, C). b2: (C,).
    Returns:
        scores: float array (N, C).
        caches: (fc1 cache, relu cache, fc2 cache) of the reference layers, for :func:`two_layer_grads`.
    """
    ref = layers()
    h, cache1 = ref.fc_forward(X, W1, b1)
    a, cache_relu = ref.relu_forward(h)
    scores, cache2 = ref.fc_forward(a, W2, b2)
    return scores, (cache1, cache_relu, cache2)


def two_layer_grads(grad_scores, caches):
    """Reference gradients of FC -> ReLU -> FC.

    Args:
        grad_scores: float array (N, C). caches: from :func:`two_layer_scores`.
    Returns:
        (grad_W1 (D, H), grad_b1 (H,), grad_W2 (H, C), grad_b2 (C,)).
    """
    ref = layers()
    cache1, cache_relu, cache2 = caches
    grad_a, grad_W2, grad_b2 = ref.fc_backward(grad_scores, cache2)
    grad_h = ref.relu_backward(grad_a, cache_relu)
    _, grad_W1, grad_b1 = ref.fc_backward(grad_h, cache1)
    return grad_W1, grad_b1, grad_W2, grad_b2
