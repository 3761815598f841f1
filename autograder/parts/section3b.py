"""Section 3b: small data, a first convolution and transfer learning (the part's declaration; see autograder/parts)."""
from __future__ import annotations

from autograder.parts import HandIn, Notebook, Part, ReportItem, Row, Step, Todo

# The checks import torch in the sandbox but only build tiny models: one sandbox process for all of them, a few
# CPU-seconds besides torch's import (in the first call). A call that hangs is cut at call_cpu_seconds; the whole
# batch, restarts after a hang included, ends within batch_wall_seconds.
TORCH_LIMITS = {"memory_kind": "data", "memory_mb": 1536, "cpu_seconds": 60, "wall_seconds": 120,
                "call_cpu_seconds": 15, "call_wall_seconds": 40, "batch_wall_seconds": 120}
# The full run (the transfer-learning table on 16/64/256 images per class) takes longer than CI allows: the reference
# build runs it reduced (tiny subsets) unless DLKIT_FULL_NOTEBOOKS=1; `python -m bench --only part4` times it in full.
# PART4_DATASET=fashion skips the MNIST download.
PART4 = Notebook("part4.ipynb", reduced_env={"PART4_REDUCED": "1"}, settings=("PART4_REDUCED", "PART4_DATASET"),
                 data=("cifar10", "fashion_mnist"), grade_env={"PART4_DATASET": "fashion"}, grade_seconds=300)

PART = Part(
    key="section3b",
    title="Section 3b: small data, a first convolution and transfer learning",
    kit_entries=("smalldata", "part4.ipynb"),
    hand_in=(
        HandIn("models.py", "smalldata/models.py",
               "it comes with the kit and holds your FC_only, Grayscale1Convolution and CifarOneConv"),
        HandIn("helpers.py", "smalldata/helpers.py",
               "it comes with the kit and holds your class_subset, train_epochs, accuracy and confusion"),
        HandIn("part4.ipynb", "part4.ipynb", "it comes with the kit; hand it in run, with its outputs saved"),
    ),
    rows={
        "smalldata_fc_only": Row("7.1", "smalldata FC_only: fully connected, output shape", 2, "section3b_smalldata",
                                 needs=("models.py",)),
        "smalldata_gray1conv": Row("7.2", "smalldata Grayscale1Convolution: one conv, one max-pool halving H and W, "
                                          "output shape", 4, "section3b_smalldata", needs=("models.py",)),
        "smalldata_activation": Row("7.3", "smalldata Grayscale1Convolution: activation switchable", 2,
                                    "section3b_smalldata", needs=("models.py",)),
        "smalldata_cifar_one_conv": Row("7.4", "smalldata CifarOneConv: one conv, one max-pool halving 32 x 32, "
                                               "output shape", 2, "section3b_smalldata", needs=("models.py",)),
        "smalldata_class_subset": Row("7.5", "smalldata class_subset: per class, seeded, remapped labels", 3,
                                      "section3b_smalldata", needs=("helpers.py",)),
        "smalldata_train_epochs": Row("7.6", "smalldata train_epochs: per-epoch losses and trained weights", 3,
                                      "section3b_smalldata", needs=("helpers.py",)),
        "smalldata_metrics": Row("7.7", "smalldata accuracy and confusion", 3, "section3b_smalldata",
                                 needs=("helpers.py",)),
        "smalldata_notebook": Row("7.8", "part4.ipynb run by the grader: no errors, every experiment's figure, "
                                         "transfer table", 4, "section3b_smalldata",
                                         needs=("part4.ipynb", "models.py", "helpers.py")),
    },
    tasks={"7": "Section 3b: small data and transfer learning (`smalldata/models.py`, `smalldata/helpers.py`, "
                "`part4.ipynb`)"},
    todo=(Todo("small data, transfer learning (Section 3b)", "`smalldata/models.py`, `smalldata/helpers.py`, "
               "`part4.ipynb`", "`python smalldata/check_smalldata.py`, then run all cells of part4.ipynb"),),
    given_folders=("smalldata",),
    limits={"torch": TORCH_LIMITS},
    notebooks=(PART4,),
    report=(ReportItem("7.8", "Small data and transfer learning: the experiments and what they show", 4, (
        "for each experiment of part4.ipynb: the loss curve, the test confusion matrix, the train and test accuracy",
        "the code of Grayscale1Convolution and of your two better CIFAR-10 models",
        "how the activation functions, more data and transfer learning changed the results (the questions at the "
        "end of part4.ipynb)")),),
    steps=(Step("part4", (("part4.ipynb", "part4.ipynb"),), inputs=("part4.ipynb", "smalldata"),
                datasets=("cifar10", "fashion_mnist"), notebook=PART4, reduced_by_default=True),),
)
