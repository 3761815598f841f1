"""Section 3a: CNN features, t-SNE and intra-/inter-class variance (the part's declaration; see autograder/parts)."""
from __future__ import annotations

from pathlib import Path

from autograder.parts import HandIn, Notebook, Part, ReportItem, Row, Step, Todo

# The checks of 6.1-6.3 run torch in the sandbox on a tiny CNN: the import dominates (~3 s CPU).
TORCH_LIMITS = {"memory_kind": "data", "memory_mb": 1536, "cpu_seconds": 40, "wall_seconds": 90,
                "call_cpu_seconds": 40, "call_wall_seconds": 90, "batch_wall_seconds": 150}
PART3 = Notebook("part3.ipynb", reduced_env={"PART3_REDUCED": "1"}, settings=("PART3_REDUCED",),
                 data=("cifar10", "fashion_mnist"), grade_seconds=240)


def _write_answers(kit_copy: Path) -> None:
    """The reference write-up goes into the executed notebook's answer cells (autograder/build/section3a_answers.py)."""
    import nbformat

    from autograder.build import section3a_answers
    path = kit_copy / PART3.name
    nb = nbformat.read(str(path), as_version=4)
    section3a_answers.fill(nb)
    nbformat.write(nb, str(path))


PART = Part(
    key="section3a",
    title="Section 3a: CNN features, t-SNE and intra-/inter-class variance",
    kit_entries=("cnnfeatures", "part3.ipynb"),
    hand_in=(
        HandIn("features.py", "cnnfeatures/features.py",
               "it comes with the kit and holds your feature extraction and class variances"),
        HandIn("part3.ipynb", "part3.ipynb", "it comes with the kit; hand it in run, with its outputs and your answers"),
    ),
    rows={
        "class_variances": Row("6.1", "features: class_variances (intra, within, between, total, ratio)", 6,
                               "section3a_features", needs=("features.py",)),
        "extract_features": Row("6.2", "features: extract_features from a named layer, flattened, with labels", 6,
                                "section3a_features", needs=("features.py",)),
        "extract_features_options": Row("6.3", "features: extract_features eval/no_grad, hook removed, channels and "
                                               "pooling", 4, "section3a_features", needs=("features.py",)),
        "part3_notebook": Row("6.4", "part3.ipynb run by the grader: no errors, t-SNE figures and variance table", 4,
                              "section3a_notebook", needs=("part3.ipynb", "features.py")),
        "part3_answers": Row("6.5", "part3.ipynb: the three questions answered (graded in the written report)", 0,
                             "section3a_notebook", needs=("part3.ipynb",)),
    },
    tasks={"6": "Section 3a: CNN features (`cnnfeatures/features.py`, `part3.ipynb`)"},
    todo=(Todo("CNN features (Section 3a)", "`cnnfeatures/features.py` (`extract_features`, `class_variances`), "
               "`part3.ipynb` (layers, answers)",
               "`python check_features.py` in `cnnfeatures/`, then run all cells of `part3.ipynb`"),),
    run_outputs=("part3_tsne_*.png",),
    given_folders=("cnnfeatures",),
    limits={"torch": TORCH_LIMITS},
    notebooks=(PART3,),
    report=(ReportItem("6.4/6.5", "CNN features: the choices, the t-SNE figures, the variances and your three answers", 3, (
        "the network, the dataset and the two features chosen (layer, channels, pooling), and why",
        "the two t-SNE figures part3.ipynb saves (part3_tsne_<feature>.png)",
        "the variance table (within, between, total, between/within per feature)",
        "the three answers of part3.ipynb: what the figures and the table show about early and deep features"),
        figures=(("part3_tsne_early_conv.png", "part3.ipynb"), ("part3_tsne_penultimate.png", "part3.ipynb"))),),
    steps=(Step("part3", (("part3.ipynb", "part3.ipynb"),), inputs=("part3.ipynb", "cnnfeatures"),
                datasets=("cifar10", "fashion_mnist"), notebook=PART3, finish=_write_answers),),
)
