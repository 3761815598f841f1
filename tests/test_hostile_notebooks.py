"""Crafted Section 2 submissions: notebooks whose saved outputs were typed instead of produced, notebooks changed
outside their TODO regions, notebooks that break or do not learn when the grader runs them, and part1 exports that
look the test set up instead of classifying. Each earns nothing in the rows it targets; the reference submission
(tests/test_notebooks.py) shows that the honest version earns them.

The grader executes the notebooks itself (autograder/grading/notebook_runs.py): the tests marked slow let it run
part1.ipynb (about 10-20 s each); the others stop before any kernel starts, or judge only an export.
"""
from __future__ import annotations

import shutil

import nbformat
import numpy as np
import pytest

from autograder.build import reference_artifacts
from autograder.grading import rubric, section2_export
from autograder.grading.runner import grade_folder

import notebook_fakes as fakes

ROWS = ("part1_notebook", "part1_accuracy", "part2_notebook", "part2_predictions")


def _grade(folder, student_tree) -> dict:
    by_name = {item.name: item_id for item_id, item in rubric.RUBRIC.items()}
    results = grade_folder(folder, modules=["section2_notebooks"], given_dir=student_tree)
    return {by_name[test["name"]]: test for test in results["tests"]}


@pytest.fixture(scope="module")
def test_set(fashion_mnist_root):
    found = section2_export.fashion_mnist_test_set(None)
    if found is None:
        pytest.skip("the grader's Fashion-MNIST evaluation arrays are not available")
    return found


@pytest.fixture(scope="module")
def reference_files(tmp_path_factory, fashion_mnist_root):
    """The files the reference part1 and part2 runs hand in (make's build when current, else run here)."""
    root = tmp_path_factory.mktemp("reference")
    reference_artifacts.step_result("part1", root, PART1_MAX_EPOCHS="2")
    reference_artifacts.step_result("part2", root)
    return root


def _submission(tmp_path, reference_files, part1=None, part2=None, export=True, images=True):
    folder = tmp_path / "submission"
    folder.mkdir()
    if export:
        shutil.copyfile(reference_files / "part1_model.pt", folder / "part1_model.pt")
    if images:
        for name in ("img1.png", "img2.png"):
            shutil.copyfile(reference_files / name, folder / name)
    for name, nb in (("part1.ipynb", part1), ("part2.ipynb", part2)):
        if nb is not None:
            fakes.write(nb, folder / name)
    return folder


# ---------------------------------------------------------------------------------------------------------------
# Saved outputs are never scored: the starter notebook with typed outputs, one-cell notebooks, given cells changed


def test_the_starter_notebooks_with_typed_outputs_earn_nothing(tmp_path, reference_files, student_tree):
    """Never run, its TODO cells as the kit has them, with convincing outputs typed in (figures, numbers, predictions)
    and the reference's export and images beside it."""
    part1 = fakes.executed_reference("part1.ipynb", fakes.part1_outputs(421_642, 91.3))
    part2 = fakes.executed_reference("part2.ipynb", fakes.part2_outputs())
    for nb, name in ((part1, "part1.ipynb"), (part2, "part2.ipynb")):
        starter = nbformat.read(str(student_tree / name), as_version=4)
        starter_code = [c for c in starter.cells if c.cell_type == "code"]
        for cell, given in zip([c for c in nb.cells if c.cell_type == "code"], starter_code):
            cell.source = given.source  # the starter's code, the typed outputs kept
    rows = _grade(_submission(tmp_path, reference_files, part1, part2), student_tree)
    for item_id in ROWS:
        assert rows[item_id]["score"] == 0.0, (item_id, rows[item_id]["output"])
    for item_id in ("part1_notebook", "part2_notebook", "part2_predictions"):
        assert "not attempted (its TODO cells are as the starter has them" in rows[item_id]["output"]
    assert "cannot be checked against the network part1.ipynb trains" in rows["part1_accuracy"]["output"]


@pytest.mark.parametrize("source", ["pass", "%matplotlib inline\npass"])
def test_one_cell_notebooks_earn_nothing(tmp_path, reference_files, student_tree, source):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(source, execution_count=1))
    rows = _grade(_submission(tmp_path, reference_files, nb, nb), student_tree)
    for item_id in ROWS:
        assert rows[item_id]["score"] == 0.0, (item_id, rows[item_id]["output"])
    assert "the kit's code cell 1" in rows["part1_notebook"]["output"], rows["part1_notebook"]["output"]


@pytest.mark.parametrize("change", ["edit_given_line", "delete_cell"])
def test_given_cells_changed_earn_nothing(tmp_path, reference_files, student_tree, change):
    part1 = fakes.edited("part1.ipynb", {})
    code = [cell for cell in part1.cells if cell.cell_type == "code"]
    if change == "edit_given_line":  # the test cell would measure something else than the model
        cell = next(c for c in code if 'print(f"test accuracy:' in c.source)
        cell.source = cell.source.replace("test_predictions, test_labels = predict(model, test_loader)",
                                          "test_predictions, test_labels = predict(model, val_loader)")
    else:  # no training cell
        part1.cells.remove(next(c for c in code if "def train_one_epoch" in c.source))
    row = _grade(_submission(tmp_path, reference_files, part1), student_tree)["part1_notebook"]
    assert row["score"] == 0.0, row["output"]
    expected = {"edit_given_line": "predict(model, test_loader)", "delete_cell": "def train_one_epoch"}[change]
    assert expected in row["output"], row["output"]


def test_part2_images_missing_earn_no_predictions(tmp_path, reference_files, student_tree):
    folder = _submission(tmp_path, reference_files, part2=fakes.edited("part2.ipynb", {}), images=False)
    row = _grade(folder, student_tree)["part2_predictions"]
    assert row["score"] == 0.0 and "img1.png" in row["output"], row["output"]


# ---------------------------------------------------------------------------------------------------------------
# The grader's run: what the notebook does when the grader runs it, whatever it printed before


@pytest.mark.slow
def test_a_notebook_that_breaks_in_the_grader_earns_nothing_of_its_run(tmp_path, reference_files, student_tree):
    """Typed outputs say it ran; run by the grader, its forward raises: the error is named with its cell and line."""
    part1 = fakes.edited("part1.ipynb", {"return self.classifier(self.features(x))":
                                         "return self.classifier(x)  # forgot the features"})
    for cell in part1.cells:
        if cell.cell_type == "code" and 'print(f"test accuracy:' in cell.source:
            cell.outputs = [fakes.stream("test accuracy: 91.30 %\n"), fakes.figure()]
    row = _grade(_submission(tmp_path, reference_files, part1), student_tree)["part1_notebook"]
    assert row["score"] == 0.0, row["output"]
    assert "ran in the grader until code cell" in row["output"] and "RuntimeError" in row["output"], row["output"]
    assert "line " in row["output"], row["output"]


@pytest.mark.slow
def test_a_network_that_does_not_learn_in_the_grader_loses_its_points(tmp_path, reference_files, student_tree):
    """The optimizer's learning rate set to 0: the run draws its figures, but the network it trains classifies
    at chance, so 5.1 loses the learning sub-check and 5.2 pays nothing for an export trained elsewhere."""
    part1 = fakes.edited("part1.ipynb", {"max_lr=": "max_lr=0.0 * "})
    rows = _grade(_submission(tmp_path, reference_files, part1), student_tree)
    row = rows["part1_notebook"]
    assert 0 < row["score"] < rubric.RUBRIC["part1_notebook"].points, row["output"]
    assert "classifies only" in row["output"], row["output"]
    assert rows["part1_accuracy"]["score"] == 0.0, rows["part1_accuracy"]["output"]
    assert "does not learn when the grader runs the notebook" in rows["part1_accuracy"]["output"]


@pytest.mark.slow
def test_an_export_of_another_network_than_the_notebook_trains_earns_nothing(tmp_path, reference_files,
                                                                            student_tree):
    """The notebook trains a narrower network than the export handed in (the reference's): 5.2 pays only for the
    export of the notebook's own network; the notebook itself keeps its points."""
    part1 = fakes.edited("part1.ipynb", {"nn.Conv2d(1, 32": "nn.Conv2d(1, 16", "nn.BatchNorm2d(32)":
                                         "nn.BatchNorm2d(16)", "nn.Conv2d(32, ": "nn.Conv2d(16, "})
    rows = _grade(_submission(tmp_path, reference_files, part1), student_tree)
    assert rows["part1_notebook"]["score"] == rubric.RUBRIC["part1_notebook"].points, rows["part1_notebook"]["output"]
    assert rows["part1_accuracy"]["score"] == 0.0, rows["part1_accuracy"]["output"]
    assert "is not the network part1.ipynb trains" in rows["part1_accuracy"]["output"]


# ---------------------------------------------------------------------------------------------------------------
# part1 exports that look the test set up (judged before any notebook run)


def _lookup_row(tmp_path, student_tree, images, labels, **options) -> dict:
    folder = tmp_path / "submission"
    folder.mkdir()
    fakes.lookup_export(tmp_path / "part1_model.pt", images, labels, **options)
    shutil.copyfile(tmp_path / "part1_model.pt", folder / "part1_model.pt")
    return _grade(folder, student_tree)["part1_accuracy"]


def test_a_test_set_lookup_without_convolutions_is_rejected(tmp_path, student_tree, test_set):
    """The review's memorizer: average pooling, linear, softmax, linear over the public test images (0.6 M
    parameters, 100 % test accuracy)."""
    row = _lookup_row(tmp_path, student_tree, *test_set)
    assert row["score"] == 0.0 and "it has no convolution" in row["output"], row["output"]


def test_a_test_set_lookup_behind_a_convolution_is_rejected(tmp_path, student_tree, test_set):
    """The same lookup with a convolution its predictions need: the training images give it away."""
    row = _lookup_row(tmp_path, student_tree, *test_set, conv=True)
    assert row["score"] == 0.0, row["output"]
    assert "of the test images but only" in row["output"] and "training images" in row["output"], row["output"]


def test_a_lookup_of_test_and_training_images_is_held_for_review(tmp_path, student_tree, test_set):
    """A lookup that also holds the training images the grader samples: right everywhere, so above the ceiling."""
    train = section2_export.fashion_mnist_train_sample(None)
    images, labels = np.concatenate([test_set[0], train[0]]), np.concatenate([test_set[1], train[1]])
    row = _lookup_row(tmp_path, student_tree, images, labels, conv=True)
    assert row["score"] == 0.0, row["output"]
    assert "held for your instructor to review" in row["output"], row["output"]


@pytest.mark.parametrize("case", ["nearest_neighbour", "soft_lookup_buffer", "parameter_store", "comparison"])
def test_exports_that_are_not_a_classifier_network_are_rejected(tmp_path, student_tree, test_set, case):
    body, named = {
        # distances and argmin are no classifier layers
        "nearest_neighbour": (
            "class M(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.register_buffer('bank', torch.randn(50, 784))\n"
            "        self.register_buffer('labels', torch.randint(0, 10, (50,)))\n"
            "    def forward(self, x):\n"
            "        d = torch.cdist(x.flatten(1), self.bank)\n"
            "        return nn.functional.one_hot(self.labels[d.argmin(1)], 10).float()\n"
            "model = M()\n", "aten::cdist"),
        # a memory read with allowed ops from a buffer: the stored data gives it away
        "soft_lookup_buffer": (
            "class M(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.conv = nn.Conv2d(1, 1, 1)\n"
            "        self.register_buffer('bank', torch.randn(784, 200))\n"
            "        self.register_buffer('onehot', torch.eye(10)[torch.randint(0, 10, (200,))])\n"
            "    def forward(self, x):\n"
            "        x = self.conv(x)\n"
            "        return torch.matmul(torch.softmax(torch.matmul(x.flatten(1), self.bank) * 100, 1), self.onehot)\n"
            "model = M()\n", "tensor values besides its parameters"),
        # the images as parameters: bounded by the parameter count
        "parameter_store": (
            "class M(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.conv = nn.Conv2d(1, 1, 1)\n"
            "        self.fc = nn.Linear(784, 10)\n"
            "        self.store = nn.Parameter(torch.zeros(5_000_001))\n"
            "    def forward(self, x):\n"
            "        return self.fc(self.conv(x).flatten(1)) + 0 * self.store[0]\n"
            "model = M()\n", "parameters (at most"),
        # a comparison answers without learning
        "comparison": (
            "class M(nn.Module):\n"
            "    def forward(self, x):\n"
            "        return (x.flatten(1)[:, :10] > 0).float()\n"
            "model = M()\n", "aten::gt"),
    }[case]
    folder = tmp_path / "submission"
    folder.mkdir()
    fakes.traced_export(folder / "part1_model.pt", body)
    row = _grade(folder, student_tree)["part1_accuracy"]
    assert row["score"] == 0.0, row["output"]
    assert "part1_model.pt is not accepted: " in row["output"], row["output"]
    assert named in row["output"], row["output"]


def test_graph_problems_accepts_the_reference_kind_of_network():
    graph = {"ops": ["aten::_convolution", "aten::batch_norm", "aten::relu_", "aten::max_pool2d", "aten::flatten",
                     "aten::linear", "aten::dropout", "aten::contiguous", "prim::Constant", "prim::ListConstruct"],
             "parameters": 421_642, "constant_elements": 421_642 + 384}
    assert section2_export.graph_problems(graph) == []
    graph["ops"].append("aten::sort")
    assert "aten::sort" in section2_export.graph_problems(graph)[0]


# ---------------------------------------------------------------------------------------------------------------
# Sections 3a and 3b: the same for part3.ipynb (6.4) and part4.ipynb (7.8)

TYPED = {
    "part3.ipynb": ("section3a_notebook", "part3_notebook", ("features.py",), "cnnfeatures",
                    "| feature | D | within | between | total | between/within |\n|---|---|---|---|---|---|\n"
                    "| early_conv | 24 | 29.81 | 52.4761 | 82.2861 | 1.76 |\n"
                    "| penultimate | 1280 | 1512.31 | 649.457 | 2161.77 | 0.4294 |\n"),
    "part4.ipynb": ("section3b_smalldata", "smalldata_notebook", ("models.py", "helpers.py"), "smalldata",
                    "dataset: Fashion-MNIST\ntransfer-learning table (test accuracy %):\n"),
}


@pytest.mark.parametrize("name", sorted(TYPED))
def test_starter_part3_and_part4_with_typed_outputs_earn_nothing(name, tmp_path, student_tree):
    module, row_id, files, folder_name, text = TYPED[name]
    folder = tmp_path / "submission"
    folder.mkdir()
    from autograder import paths
    for file in files:  # the reference code: only the notebook is the starter's
        shutil.copyfile(paths.KIT / folder_name / file, folder / file)
    nb = nbformat.read(str(student_tree / name), as_version=4)
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
        cell.outputs = [fakes.stream(text)] + [fakes.figure() for _ in range(4)]
    fakes.write(nb, folder / name)
    by_name = {item.name: item_id for item_id, item in rubric.RUBRIC.items()}
    rows = {by_name[t["name"]]: t for t in grade_folder(folder, modules=[module], given_dir=student_tree)["tests"]}
    assert rows[row_id]["score"] == 0.0, rows[row_id]["output"]
    assert "not attempted" in rows[row_id]["output"], rows[row_id]["output"]
