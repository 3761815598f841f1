"""Section 2: the reference notebooks run offline end to end, the student notebooks are generated without solutions,
and the graded checks (autograder/grading/checks/section2_notebooks.py) score real and broken submissions right.

The slow tests grade the reference submission through the real runner and sandbox, which executes both notebooks
itself: its files are the ones `make` has just built when they are current, else the notebooks are executed here
with nbclient in a temporary folder (part1 capped to 2 epochs through PART1_MAX_EPOCHS, about 1-2 minutes on 2
cores). Crafted submissions are in tests/test_hostile_notebooks.py.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import paths
from autograder.build import reference_artifacts
from autograder.build.markers import strip_notebook
from autograder.grading import rubric
from autograder.grading import notebooks, scoring, section2_export, section2_imagenet
from autograder.grading.runner import grade_folder

import notebook_fakes as fakes

PART1 = paths.KIT / "part1.ipynb"
PART2 = paths.KIT / "part2.ipynb"
# Lines that exist only in the reference solutions; none may reach the student notebooks.
SOLUTION_SNIPPETS = {
    "part1.ipynb": ["nn.Conv2d(1, 32", "self.classifier(self.features(x))", "OneCycleLR(", "num_epochs = 6"],
    "part2.ipynb": ["skimage.data.coffee()", "skimage.data.astronaut()"],
}


def _results_by_id(results: dict) -> dict:
    by_name = {item.name: item_id for item_id, item in rubric.RUBRIC.items()}
    return {by_name[test["name"]]: test for test in results["tests"]}


def _grade(submission: Path, eval_dir=None) -> dict:
    return _results_by_id(grade_folder(submission, modules=["section2_notebooks"], eval_dir=eval_dir))


def _figure(width=640, height=480):
    return fakes.figure(width, height)


def _stream(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


# ---------------------------------------------------------------------------------------------------------------
# Fast: the generated student notebooks and the grader's notebook checks on synthetic notebooks


@pytest.mark.parametrize("source", [PART1, PART2], ids=lambda p: p.name)
def test_student_notebook_is_generated_without_solutions(source, tmp_path):
    reference = nbformat.read(str(source), as_version=4)
    student = strip_notebook(reference, source.name)
    path = tmp_path / source.name
    nbformat.write(student, str(path))
    reread = nbformat.read(str(path), as_version=4)
    nbformat.validate(reread)
    code = "\n".join(cell.source for cell in reread.cells if cell.cell_type == "code")
    assert "NotImplementedError" in code
    assert "SOLUTION" not in code
    for snippet in SOLUTION_SNIPPETS[source.name]:
        assert snippet in "\n".join(c.source for c in reference.cells), f"stale snippet {snippet!r}"
        assert snippet not in code, f"solution line {snippet!r} leaked into the student {source.name}"
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in reread.cells if cell.cell_type == "code")


def test_reference_notebooks_are_committed_without_outputs():
    for source in (PART1, PART2):
        nb = nbformat.read(str(source), as_version=4)
        ran = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.get("outputs")]
        assert not ran, f"{source.name}: cells {ran} carry outputs; clear them before committing"


def test_part1_student_prompt_keeps_poor_defaults():
    student = strip_notebook(nbformat.read(str(PART1), as_version=4), "part1.ipynb")
    code = "\n".join(cell.source for cell in student.cells if cell.cell_type == "code")
    assert "batch_size = 64" in code and "num_epochs = 2" in code and "weight_decay=0.0" in code
    assert 'raise NotImplementedError("Network.__init__: not implemented yet")' in code
    assert "PART1_MAX_EPOCHS" in code  # the CI cap is given code, outside the student's region


def test_imagenet_class_index_is_the_exact_keras_file(imagenet_class_index):
    kit_copy = paths.KIT / "imagenet_class_index.json"
    assert hashlib.md5(kit_copy.read_bytes()).hexdigest() == "c2c37ea517e94d9795004a39431a14cb"
    assert kit_copy.read_bytes() == imagenet_class_index.read_bytes()


def test_inspect_notebook_finds_errors_unexecuted_cells_figures_and_text():
    nb = fakes.executed_notebook([
        [_stream("Total params: 10\nTrainable params: 10\n")],
        [_figure(), _figure(), _figure(1, 1), _figure(99, 400)],  # the last two are too small to be figures
        [nbformat.v4.new_output("error", ename="ValueError", evalue="bad shape", traceback=[])],
    ])
    nb.cells.append(nbformat.v4.new_code_cell("y = 2"))  # never run
    nb.cells.append(nbformat.v4.new_code_cell("   "))  # empty: does not need to run
    report = notebooks.inspect_notebook(nb)
    assert report.code_cells == 5 and report.images == 2 and report.tiny_images == 2
    assert report.unexecuted == [4]
    assert report.errors == ["code cell 3: ValueError: bad shape"]
    assert "Trainable params" in report.text
    problems = notebooks.execution_problems(report)
    assert len(problems) == 2 and "4" in problems[0] and "ValueError" in problems[1]


def test_parse_predictions_reads_the_printed_lines():
    text = ("img1 (coffee) top 5:\n    espresso 0.957\nimg1 (coffee): espresso (p = 0.96)\n"
            "img2 (my photo): tabby, tabby cat (p = 0.62)\n")
    assert section2_imagenet.parse_predictions(text) == {
        "img1": ("coffee", "espresso", 0.96), "img2": ("my photo", "tabby, tabby cat", 0.62)}
    assert section2_imagenet.parse_predictions("img1 (coffee): espresso\n") == {}


@pytest.mark.parametrize("accuracy, expected", [
    (92.0, 10.0), (85.01, 10.0), (85.0, 9.99), (77.5, 5.0), (70.0, 0.0), (69.99, 0.0), (10.0, 0.0)])
def test_accuracy_score_thresholds(accuracy, expected):
    score = scoring.threshold_score(accuracy, 10.0, {"full": 85.0, "partial": 70.0, "strict": True})
    assert score == pytest.approx(expected, abs=1e-9)


def test_missing_and_unreadable_notebooks_score_zero(tmp_path):
    (tmp_path / "part2.ipynb").write_text("{not json", encoding="utf-8")
    results = _grade(tmp_path)
    for item_id in ("part1_notebook", "part1_accuracy", "part2_notebook", "part2_predictions"):
        assert results[item_id]["score"] == 0.0, item_id
    assert "part1.ipynb is missing" in results["part1_notebook"]["output"]
    assert "part1_model.pt is missing" in results["part1_accuracy"]["output"]
    assert "not a readable Jupyter notebook" in results["part2_notebook"]["output"]


def test_random_weight_export_gets_no_accuracy_points(tmp_path, fashion_mnist_root):
    fakes.traced_export(tmp_path / "part1_model.pt", "model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), "
                                                     "nn.ReLU(), nn.Flatten(), nn.Linear(4 * 784, 10))")
    results = _grade(tmp_path)
    assert results["part1_accuracy"]["score"] == 0.0, results["part1_accuracy"]["output"]


def test_export_with_wrong_output_shape_is_reported(tmp_path, fashion_mnist_root):
    script = ("import sys, torch\n"
              "model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 7)).eval()\n"
              "torch.jit.trace(model, torch.zeros(2, 1, 28, 28)).save(sys.argv[1])\n")
    subprocess.run([sys.executable, "-W", "ignore", "-c", script, str(tmp_path / "part1_model.pt")], check=True)
    results = _grade(tmp_path)
    assert results["part1_accuracy"]["score"] == 0.0
    assert f"expected ({section2_export.PART1_CHUNK}, 10)" in results["part1_accuracy"]["output"]


def test_non_torchscript_model_file_is_reported(tmp_path, fashion_mnist_root):
    (tmp_path / "part1_model.pt").write_bytes(b"not a model")
    results = _grade(tmp_path)
    assert results["part1_accuracy"]["score"] == 0.0
    assert "could not be evaluated (error)" in results["part1_accuracy"]["output"]


# ---------------------------------------------------------------------------------------------------------------
# Slow: execute the reference notebooks offline and grade them


@pytest.fixture(scope="module")
def executed_kit(tmp_path_factory, fashion_mnist_root):
    """Both reference notebooks executed, with the files they hand in, each in a folder of its own (``root/part1``,
    ``root/part2``): the ones `make` built for the kit as it is (CI runs `make` first: no run is repeated), else
    executed here (part1 capped to 2 epochs through PART1_MAX_EPOCHS). Returns (root, whether part1 ran here)."""
    root = tmp_path_factory.mktemp("section2")
    reference_artifacts.step_result("part2", root / "part2")
    return root, not reference_artifacts.step_result("part1", root / "part1", PART1_MAX_EPOCHS="2")


@pytest.mark.slow
def test_reference_notebooks_execute_offline_and_write_their_outputs(executed_kit):
    root, part1_executed_here = executed_kit
    assert (root / "part1" / "part1_model.pt").stat().st_size > 10_000
    for name in ("img1.png", "img2.png"):  # the images part2 classified, handed in
        assert (root / "part2" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    for step in ("part1", "part2"):
        report = notebooks.inspect_notebook(nbformat.read(str(root / step / f"{step}.ipynb"), as_version=4))
        assert notebooks.execution_problems(report) == [], step
    part1 = notebooks.inspect_notebook(nbformat.read(str(root / "part1" / "part1.ipynb"), as_version=4))
    if part1_executed_here:  # capped; make's build is not, and keeps no part1.png
        assert (root / "part1" / "part1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "2 epochs" in part1.text  # the PART1_MAX_EPOCHS cap took effect
    assert "Warning" not in part1.text, "part1's saved outputs carry a warning (issue 8)"
    assert part1.images >= 3  # sample images, accuracy per epoch, confusion matrix
    part2 = notebooks.inspect_notebook(nbformat.read(str(root / "part2" / "part2.ipynb"), as_version=4))
    assert "model: " in part2.text
    predictions = section2_imagenet.parse_predictions(part2.text)
    assert predictions["img1"][:2] == ("coffee", "espresso")  # a sensible prediction
    assert predictions["img2"][0] == "astronaut"


@pytest.mark.slow
def test_reference_submission_gets_full_marks_for_section2(executed_kit, tmp_path):
    root, _ = executed_kit
    for step in ("part1", "part2"):
        for name in reference_artifacts.step_outputs(step):  # part1.ipynb, part1_model.pt; part2.ipynb, img1/img2
            shutil.copyfile(root / step / name, tmp_path / name)
    results = _grade(tmp_path)
    for item_id in ("part1_notebook", "part1_accuracy", "part2_notebook", "part2_predictions"):
        assert results[item_id]["score"] == pytest.approx(rubric.RUBRIC[item_id].points), results[item_id]
        assert results[item_id]["status"] == "passed", results[item_id]
    assert "Fashion-MNIST test accuracy" in results["part1_accuracy"]["output"]


def test_part1_export_cell_saves_and_reloads_without_warnings(tmp_path):
    """Issue 8: part1's saved outputs carry no deprecation warnings. The given export cell is run on a tiny model with
    every warning turned into an error (torch.jit.trace, save and load all warn in the pinned torch)."""
    nb = nbformat.read(str(PART1), as_version=4)
    cell = next(c.source for c in nb.cells if c.cell_type == "code" and 'exported.save("part1_model.pt")' in c.source)
    (tmp_path / "cell.py").write_text(cell, encoding="utf-8")
    script = (
        "import os, warnings, torch, torch.nn as nn\n"
        "torch.manual_seed(0)\n"
        "device = torch.device('cpu')\n"
        "model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\n"
        "test_data = torch.utils.data.TensorDataset(torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,)))\n"
        "test_loader = torch.utils.data.DataLoader(test_data, batch_size=16)\n"
        "with torch.no_grad():\n"
        "    test_predictions = model(test_data.tensors[0]).argmax(dim=1)\n"
        "test_labels = test_data.tensors[1]\n"
        "with open('cell.py') as handle:\n"
        "    source = handle.read()\n"
        "warnings.simplefilter('error')\n"
        "exec(compile(source, 'part1 export cell', 'exec'))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert "same prediction as the model for 100.00 %" in done.stdout, done.stdout


REDUCED_PARSE = 'os.environ.get("{name}", "").strip().lower() in ("1", "true", "yes", "on")'


def test_every_reduced_switch_is_parsed_one_way_and_said_in_the_first_output():
    """A *_REDUCED setting reads 1/true/yes/on (any case) as on and anything else as off, in every notebook, and the
    notebook's first code cell says when a reduced run is on."""
    from autograder import parts
    checked = 0
    for part in parts.PARTS.values():
        for notebook in part.notebooks:
            source = nbformat.read(paths.KIT / notebook.name, as_version=4)
            code = [cell.source for cell in source.cells if cell.cell_type == "code"]
            for name in notebook.settings:
                if not name.endswith("_REDUCED"):
                    continue
                text = "\n".join(code)
                assert REDUCED_PARSE.format(name=name) in text, f"{notebook.name}: {name} is parsed another way"
                assert f'os.environ.get("{name}")' not in text and f"os.environ['{name}']" not in text
                assert name in code[0] and ("REDUCED RUN" in code[0] or "reduced mode" in code[0]), notebook.name
                checked += 1
    assert checked >= 2
