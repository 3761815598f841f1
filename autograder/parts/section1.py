"""Section 1: numpy backprop, layers and a two-layer net on CIFAR-10 (the part's declaration; see autograder/parts).

Points, visibility and thresholds of its rows are edited here; `python -m autograder build` regenerates every text
that shows them.
"""
from __future__ import annotations

from autograder.parts import HandIn, Part, ReportItem, Row, Step, Texts, Todo

# Not graded by the autograder, read by students (train.py, the README, the report template): the training accuracy
# (percent) the overfit setting of task 4 should reach. The best model's target is 4.3's full-credit threshold.
OVERFIT_TRAIN_ACCURACY = 75.0
CHECKPOINT = {"full": 40.0, "partial": 30.0}  # 4.3: CIFAR-10 test accuracy (percent) of checkpoint.pkl


def _pct(value: float) -> str:
    return f"{value:g} %"


def checkpoint_accuracy() -> str:
    return (f"full credit at or above {_pct(CHECKPOINT['full'])} CIFAR-10 test accuracy, partial credit from "
            f"{_pct(CHECKPOINT['partial'])}")


def best_target() -> str:
    return f">= {_pct(CHECKPOINT['full'])} validation accuracy"


def overfit_target() -> str:
    return f">= {_pct(OVERFIT_TRAIN_ACCURACY)} training accuracy"


def _checkpoint_threshold() -> str:
    row = PART.rows["checkpoint_accuracy"]
    return (f"{row.number} `checkpoint_accuracy` ({row.points:g} points): full credit from {CHECKPOINT['full']:g} % "
            f"CIFAR-10 test accuracy, linear from {CHECKPOINT['partial']:g} % (0 at or below it).")


HYPER_PARAMETERS = ("hidden size", "learning rate", "L2 strength", "batch size", "epochs", "weight scale",
                    "learning-rate decay")


def _hyper_md():
    return (["| | best model | overfit model |", "|---|---|---|"] + [f"| {h} | | |" for h in HYPER_PARAMETERS]
            + [f"| accuracy | test: ... % (target {_pct(CHECKPOINT['full'])} validation) | training: ... % (target "
               f"{_pct(OVERFIT_TRAIN_ACCURACY)}) |"])


def _hyper_tex():
    return ([r"\begin{tabular}{lll}", r"\hline", r" & best model & overfit model \\", r"\hline"]
            + [f"{h} & & \\\\" for h in HYPER_PARAMETERS]
            + [f"accuracy & test: \\dots\\ \\% (target {CHECKPOINT['full']:g} \\% validation) & training: "
               f"\\dots\\ \\% (target {OVERFIT_TRAIN_ACCURACY:g} \\%) \\\\", r"\hline", r"\end{tabular}"])


CALLS = {"call_cpu_seconds": 5, "call_wall_seconds": 10, "batch_wall_seconds": 90}  # each call takes milliseconds

PART = Part(
    key="section1",
    title="Section 1: numpy backprop, layers and a two-layer net on CIFAR-10",
    kit_entries=("backprop", "neuralnet"),
    hand_in=(
        HandIn("functions.py", "backprop/functions.py", "it comes with the kit and holds your backprop code, f1..f4"),
        HandIn("layers.py", "neuralnet/layers.py", "it comes with the kit and holds your layer code"),
        HandIn("train.py", "neuralnet/train.py",
               "it comes with the kit and holds your training code and hyper-parameters"),
        HandIn("two_layer_net.py", "neuralnet/two_layer_net.py", "it comes with the kit and holds your TwoLayerNet"),
        HandIn("checkpoint.pkl", "neuralnet/checkpoint.pkl",
               "run `python train.py` inside neuralnet/ to create neuralnet/checkpoint.pkl", made_by_run=True),
    ),
    rows={
        # task 1: computational graphs (backprop/functions.py)
        "f1": Row("1.1", "backprop f1 (optional): value and gradients", 0, "section1_backprop",
                  needs=("functions.py",)),
        "f2": Row("1.2", "backprop f2 (optional): value and gradient", 0, "section1_backprop", needs=("functions.py",)),
        "f3": Row("1.3", "backprop f3: softmax loss value and gradients, y = 1 and y = 2", 10, "section1_backprop",
                  needs=("functions.py",)),
        "f4": Row("1.4", "backprop f4 (optional): your own graph's gradients", 0, "section1_backprop",
                  needs=("functions.py",)),
        # task 2: layers (neuralnet/layers.py)
        "fc_forward": Row("2.1", "layers: fc_forward", 4, "section1_layers", function="fc_forward",
                          needs=("layers.py",)),
        "fc_backward": Row("2.2", "layers: fc_backward", 6, "section1_layers", function="fc_backward",
                           needs=("layers.py",)),
        "relu_forward": Row("2.3", "layers: relu_forward", 2, "section1_layers", function="relu_forward",
                            needs=("layers.py",)),
        "relu_backward": Row("2.4", "layers: relu_backward", 3, "section1_layers", function="relu_backward",
                             needs=("layers.py",)),
        "softmax_loss": Row("2.5", "layers: softmax_loss value, gradient and stability", 6, "section1_layers",
                            function="softmax_loss", needs=("layers.py",)),
        "l2_regularization": Row("2.6", "layers: l2_regularization", 2, "section1_layers",
                                 function="l2_regularization", needs=("layers.py",)),
        "layers_edge_cases": Row("2.7", "layers: edge-case shapes (N = 1, one unit)", 2, "section1_layers", "hidden",
                                 depends_on=("fc_forward", "fc_backward", "relu_forward", "relu_backward",
                                             "softmax_loss"), needs=("layers.py",)),
        # task 3: the two-layer net (neuralnet/two_layer_net.py)
        "two_layer_init": Row("3.1", "TwoLayerNet: parameter shapes and initialization", 3, "section1_two_layer_net",
                              needs=("two_layer_net.py", "layers.py")),
        "two_layer_forward": Row("3.2", "TwoLayerNet: forward matches FC-ReLU-FC", 4, "section1_two_layer_net",
                                 function="TwoLayerNet.forward", depends_on=("fc_forward", "relu_forward"),
                                 needs=("two_layer_net.py", "layers.py")),
        "two_layer_backward": Row("3.3", "TwoLayerNet: backward vs the reference gradients", 6, "section1_two_layer_net",
                                  function="TwoLayerNet.backward",
                                  depends_on=("two_layer_forward", "fc_backward", "relu_backward"),
                                  needs=("two_layer_net.py", "layers.py")),
        # task 4: training (neuralnet/train.py) and the trained checkpoint
        "training_step_own_model": Row("4.1", "training_step with your TwoLayerNet", 3, "section1_training",
                                       depends_on=("two_layer_backward", "softmax_loss", "l2_regularization"),
                                       needs=("train.py", "two_layer_net.py", "layers.py")),
        "training_step_probe_model": Row("4.2", "training_step with another model (L2 on weights only)", 4,
                                         "section1_training", needs=("train.py", "layers.py")),
        "checkpoint_accuracy": Row("4.3", "checkpoint.pkl: CIFAR-10 test accuracy", 10, "section1_training",
                                   threshold=CHECKPOINT, needs=("checkpoint.pkl",)),
    },
    tasks={
        "1": "Task 1: computational graphs (`backprop/functions.py`)",
        "2": "Task 2: layers (`neuralnet/layers.py`)",
        "3": "Task 3: the two-layer network (`neuralnet/two_layer_net.py`)",
        "4": "Task 4: training (`neuralnet/train.py`, `checkpoint.pkl`)",
    },
    todo=(
        Todo("computational graphs", "`backprop/functions.py`: `f3` (required), `f1`, `f2`, `f4` (optional)",
             "`python backprop.py`"),
        Todo("layers", "`neuralnet/layers.py`", "`python gradcheck_layers.py`, `python check_softmax_stability.py`"),
        Todo("two-layer net", "`neuralnet/two_layer_net.py`", "`python gradcheck_classifier.py`"),
        Todo("training", "`neuralnet/train.py` (`training_step`, hyper-parameters); training_step must work for any "
             "model: take the weights from model.parameters() and regularize every 2-D parameter, whatever its name "
             "(not model.W1 or params['W1'])", "`python train.py`, then once `python test.py`"),
    ),
    run_outputs=("plot.pdf", "overfit.pkl", "overfit.pdf"),
    given_folders=("backprop", "neuralnet"),
    # "calls": Section 1's graded calls (milliseconds each, so a hang is cut short); "checkpoint": evaluating
    # checkpoint.pkl on the CIFAR-10 test set (the defaults of rubric.SANDBOX_LIMITS).
    eval_data=("cifar10",),
    limits={"calls": CALLS, "checkpoint": {}},
    steps=(
        Step("checkpoint", (("checkpoint.pkl", "neuralnet/checkpoint.pkl"),), inputs=("neuralnet",),
             datasets=("cifar10",), cwd="neuralnet",
             command=("{python}", "train.py", "--data-dir", "{cifar10}", "--checkpoint-file", "checkpoint.pkl",
                      "--plot-file", "plot.pdf")),
    ),
    report=(
        ReportItem("1.2", "Computational graph of your own function (f4)", 4, (
            "a drawing of the graph of your f4 (at least 5 operators): inputs, every intermediate node and the "
            "output L",
            "the forward values and the backward (upstream x local) gradients written on the edges",
            "the gradients match what your f4 returns"),
            figures=(("f4-graph.png", "your drawing"),),
            markdown=lambda: ["f4(...) = ... (your formula; at least 5 operators)"],
            latex=lambda: [r"$f_4(\dots) = \dots$"]),
        ReportItem("4.2/4.3", "Training the two-layer network: loss and accuracy", 4, (
            "the loss and accuracy plot of your best model (plot.pdf written by `python train.py`)",
            "the plot of your overfit setting (`python train.py --overfit --checkpoint-file overfit.pkl "
            "--plot-file overfit.pdf`)",
            "one or two sentences on what the curves show (over- or under-fitting)"),
            figures=(("plot.pdf", "`python train.py`"), ("overfit.pdf", "`python train.py --overfit ...`")),
            markdown=lambda: ["What the curves show: ..."], latex=lambda: [r"What the curves show: \dots"]),
        ReportItem("4.2/4.3", "Hyper-parameters and test accuracy of the best and the overfit model", 4, (
            "a table of the hyper-parameters of both models (hidden size, learning rate, L2 strength, batch size, "
            "epochs, weight scale, learning-rate decay)",
            "the best model's test accuracy (`python test.py`, run once) and the overfit model's training accuracy"),
            markdown=_hyper_md, latex=_hyper_tex),
    ),
    texts=Texts(
        inline={"checkpoint accuracy": checkpoint_accuracy, "best target": best_target,
                "overfit target": overfit_target},
        prefix_lines={
            ("neuralnet/train.py", "    python train.py --overfit    # your overfit setting"):
                lambda: f"    python train.py --overfit    # your overfit setting ({overfit_target()})",
            ("neuralnet/train.py", "    #     # TODO: an overfit setting"):
                lambda: f"    #     # TODO: an overfit setting ({overfit_target()}): change these values",
            ("neuralnet/train.py", "    #     # TODO: your best model"):
                lambda: f"    #     # TODO: your best model ({best_target()}): change these values",
            ("neuralnet/train.py", "Targets: the best model"):
                lambda: f"Targets: the best model {best_target()}; the overfit setting {overfit_target()}.",
        },
        md_regions={("README.md", "checkpoint threshold"): _checkpoint_threshold},
    ),
)
