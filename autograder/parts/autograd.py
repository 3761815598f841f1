"""Extra credit: an autograd framework in numpy, its tests and a classifier trained with it (the part's declaration;
see autograder/parts)."""
from __future__ import annotations

from autograder.parts import HandIn, Part, Row, Todo

CALLS = {"call_cpu_seconds": 5, "call_wall_seconds": 10, "batch_wall_seconds": 90}  # each call takes milliseconds
# One run of the student's tests on one framework (a fresh process each): pytest's start plus the tests.
TESTS = {"call_cpu_seconds": 10, "call_wall_seconds": 15, "batch_wall_seconds": 20}
_OPS = ("ag_arithmetic", "ag_matmul_pow", "ag_shapes", "ag_functions")
CHECK = "autograd_framework"

PART = Part(
    key="autograd",
    title="Extra credit: an autograd framework in numpy, its tests and a classifier trained with it",
    kit_entries=("autograd",),
    # Handed in under names of their own (another part's files may have the kit's names); the workspace gets the kit's names
    # back, so `from tensor import Tensor` works as in the kit. The stubs count as "not done".
    hand_in=(
        HandIn("autograd_tensor.py", "autograd/tensor.py", "it comes with the kit (autograd/tensor.py), done or not",
               workspace_name="tensor.py"),
        HandIn("autograd_nn.py", "autograd/nn.py", "it comes with the kit (autograd/nn.py), done or not",
               workspace_name="nn.py"),
        HandIn("autograd_optim.py", "autograd/optim.py", "it comes with the kit (autograd/optim.py), done or not",
               workspace_name="optim.py"),
        HandIn("test_autograd.py", "autograd/test_autograd.py",
               "it comes with the kit and holds your tests, done or not"),
    ),
    rows={
        "ag_arithmetic": Row("10.1", "autograd: + - * / and unary minus (broadcasting, scalars)", 3, CHECK,
                             function="Tensor + - * /", needs=("autograd_tensor.py",)),
        "ag_matmul_pow": Row("10.2", "autograd: @ and ** by a constant", 1, CHECK, function="Tensor @ and **",
                             needs=("autograd_tensor.py",)),
        "ag_shapes": Row("10.3", "autograd: sum, mean, reshape, transpose, integer-array indexing", 2, CHECK,
                         function="Tensor sum/mean/reshape/transpose/indexing", needs=("autograd_tensor.py",)),
        "ag_functions": Row("10.4", "autograd: exp, log, relu, sigmoid, tanh, log_softmax, cross_entropy", 2, CHECK,
                            function="Tensor exp/log/relu/sigmoid/tanh/log_softmax/cross_entropy",
                            needs=("autograd_tensor.py",)),
        "ag_graph": Row("10.5", "autograd: backward (reused nodes, accumulation, deep graphs, no_grad, errors)", 3,
                        CHECK, depends_on=("ag_arithmetic", "ag_shapes", "ag_functions"),
                        needs=("autograd_tensor.py",)),
        "ag_nn": Row("10.6", "autograd nn: Linear, Sequential, activations, parameters and zero_grad", 2, CHECK,
                     depends_on=("ag_arithmetic", "ag_matmul_pow", "ag_functions"),
                     needs=("autograd_nn.py", "autograd_tensor.py")),
        "ag_optim": Row("10.7", "autograd optim: SGD with momentum, Adam", 2, CHECK,
                        needs=("autograd_optim.py", "autograd_tensor.py")),
        "ag_extras": Row("10.8", "autograd extras: GELU, label-smoothed cross-entropy, AdamW", 2, CHECK,
                         depends_on=_OPS, needs=("autograd_tensor.py", "autograd_nn.py", "autograd_optim.py")),
        "ag_student_tests": Row("10.9", "autograd: your tests (pass on a correct framework, catch buggy ones)", 3,
                                CHECK, needs=("test_autograd.py",)),
    },
    tasks={"10": "Extra credit: the autograd framework (`autograd/tensor.py`, `nn.py`, `optim.py`, "
                 "`test_autograd.py`)"},
    todo=(Todo("autograd framework (extra credit)", "`autograd/tensor.py`, `nn.py`, `optim.py`, `test_autograd.py`",
               "`python -m pytest -q test_autograd.py` in `autograd/`, then `python train_mnist.py`"),),
    run_outputs=("loss.png",),
    given_folders=("autograd",),
    limits={"calls": CALLS, "tests": TESTS},
    extra_credit=True,
)
