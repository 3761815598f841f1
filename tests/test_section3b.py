"""Section 3b (smalldata/, part4.ipynb): the reference models and helpers, their graded rows (reference full marks,
stubs zero, single-bug mutants from tests/mutants/section3b.py lose points)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from autograder import paths  # noqa: E402


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def models():
    return _load(paths.KIT / "smalldata" / "models.py", "_s3b_ref_models")


@pytest.fixture(scope="module")
def helpers():
    return _load(paths.KIT / "smalldata" / "helpers.py", "_s3b_ref_helpers")


def _leaf_types(model):
    return [type(m).__name__ for m in model.modules() if not list(m.children())]


def test_fc_only_shapes_and_layers(models):
    model = models.FC_only(num_classes=4)
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 4)
    types = _leaf_types(model)
    assert "Conv2d" not in types and types.count("Linear") >= 1


def test_grayscale1convolution_halves_and_switches_activation(models):
    torch.manual_seed(0)
    relu = models.Grayscale1Convolution(num_classes=3, activation=nn.ReLU)
    torch.manual_seed(0)
    tanh = models.Grayscale1Convolution(num_classes=3, activation=nn.Tanh)
    x = torch.randn(2, 1, 28, 28)
    assert relu(x).shape == (2, 3)
    assert not torch.allclose(relu(x), tanh(x))
    assert _leaf_types(relu).count("Conv2d") == 1 and _leaf_types(relu).count("MaxPool2d") == 1
    assert "Tanh" in _leaf_types(tanh) and "ReLU" not in _leaf_types(tanh)
    pooled = relu.features(x)
    assert pooled.shape[-2:] == (14, 14)


def test_cifar_one_conv(models):
    model = models.CifarOneConv()
    assert model(torch.zeros(3, 3, 32, 32)).shape == (3, 10)
    types = _leaf_types(model)
    assert types.count("Conv2d") == 1 and types.count("MaxPool2d") == 1
    assert model.features(torch.zeros(1, 3, 32, 32)).shape[-2:] == (16, 16)


def test_class_subset_per_class_deterministic_remapped(helpers):
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 10, size=2000)
    classes = (7, 2, 5)
    for given in (targets, targets.tolist(), torch.from_numpy(targets)):
        idx, labels = helpers.class_subset(given, classes, 16, seed=3)
        assert idx.dtype == np.int64 and labels.dtype == np.int64 and idx.shape == (48,)
        assert len(set(idx.tolist())) == 48
        np.testing.assert_array_equal(labels, [classes.index(int(t)) for t in targets[idx]])
        assert np.bincount(labels, minlength=3).tolist() == [16, 16, 16]
    again, _ = helpers.class_subset(targets, classes, 16, seed=3)
    other, _ = helpers.class_subset(targets, classes, 16, seed=4)
    np.testing.assert_array_equal(idx, again)
    assert not np.array_equal(idx, other)
    with pytest.raises(ValueError, match="class 11"):
        helpers.class_subset(targets, (1, 11), 4, seed=0)


def _linear_task(n=32, d=6, c=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen)
    y = torch.randint(0, c, (n,), generator=gen)
    return x, y


def test_train_epochs_matches_manual_sgd(helpers):
    x, y = _linear_task()
    torch.manual_seed(1)
    model = nn.Linear(6, 3)
    manual = nn.Linear(6, 3)
    manual.load_state_dict(model.state_dict())
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=False)
    losses = helpers.train_epochs(model, loader, epochs=3, lr=0.1)
    assert len(losses) == 3 and all(isinstance(v, float) for v in losses)
    expected = []
    for _ in range(3):
        batch_losses = []
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(manual(xb), yb)
            manual.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in manual.parameters():
                    p -= 0.1 * p.grad
            batch_losses.append(loss.item())
        expected.append(float(np.mean(batch_losses)))
    np.testing.assert_allclose(losses, expected, rtol=1e-5)
    np.testing.assert_allclose(model.weight.detach(), manual.weight.detach(), rtol=1e-5, atol=1e-6)
    assert losses[-1] < losses[0]


def test_accuracy_and_confusion(helpers):
    x, y = _linear_task(n=40, seed=2)
    torch.manual_seed(2)
    model = nn.Linear(6, 4)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    pred = model(x).argmax(1).numpy()
    acc = helpers.accuracy(model, loader)
    assert isinstance(acc, float) and acc == pytest.approx(float((pred == y.numpy()).mean()))
    counts = helpers.confusion(model, loader, 4)
    assert counts.shape == (4, 4) and counts.dtype == np.int64 and counts.sum() == 40
    for t, p in zip(y.numpy(), pred):
        assert counts[t, p] >= 1
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(y.numpy(), minlength=4))


def test_stubs_raise_not_implemented(tmp_path):
    from autograder.build import markers
    for name in ("models", "helpers"):
        source = paths.KIT / "smalldata" / f"{name}.py"
        (tmp_path / f"{name}.py").write_text(markers.strip_python(source.read_text(), source))
    stub_models = _load(tmp_path / "models.py", "_s3b_stub_models")
    stub_helpers = _load(tmp_path / "helpers.py", "_s3b_stub_helpers")
    for make in (stub_models.FC_only, stub_models.Grayscale1Convolution, stub_models.CifarOneConv):
        with pytest.raises(NotImplementedError):
            make()
    with pytest.raises(NotImplementedError):
        stub_helpers.class_subset([0, 1], (0,), 1, 0)


# -- the graded rows (checks/section3b_smalldata.py) --------------------------------------------------------------

from autograder.grading import rubric, runner  # noqa: E402

SMALLDATA_ITEMS = [k for k, item in rubric.RUBRIC.items() if item.check == "section3b_smalldata"]
NOTEBOOK_ROW = "smalldata_notebook"
CODE_ITEMS = [k for k in SMALLDATA_ITEMS if k != NOTEBOOK_ROW]  # the notebook row is tested on its own below
NUMBER_TO_ID = {item.number: k for k, item in rubric.RUBRIC.items()}
FILES = ("smalldata/models.py", "smalldata/helpers.py")
_MUTANTS_MODULE = _load(Path(__file__).parent / "mutants" / "section3b.py", "section3b_mutants")
MUTANTS, MUTANTS_HINTS = _MUTANTS_MODULE.MUTANTS, _MUTANTS_MODULE.HINTS


def _submission(folder: Path, tree: Path, mutant=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for relative in FILES:
        text = (tree / relative).read_text()
        if mutant is not None and mutant.file == relative:
            for old, new in mutant.edits:
                assert text.count(old) == 1, f"mutant text {old!r} occurs {text.count(old)} times in {relative}"
                text = text.replace(old, new)
        (folder / Path(relative).name).write_text(text)
    return folder


def _grade(submission: Path, student_tree: Path) -> dict:
    results = runner.grade_folder(submission, modules=["section3b_smalldata"], given_dir=student_tree)
    return {NUMBER_TO_ID[t["number"]]: (t["score"], t["max_score"], t.get("output", ""))
            for t in results["tests"] if t.get("number") in NUMBER_TO_ID}


def test_section3b_part_is_enabled_with_rows():
    assert rubric.PARTS["section3b"].enabled
    assert len(SMALLDATA_ITEMS) >= 7 and all(rubric.RUBRIC[k].part == "section3b" for k in SMALLDATA_ITEMS)


def test_reference_full_marks_stubs_zero(tmp_path, student_tree):
    ref = _grade(_submission(tmp_path / "ref", paths.KIT), student_tree)
    assert set(ref) == set(SMALLDATA_ITEMS)
    for item_id, (score, max_score, output) in ref.items():
        if item_id == NOTEBOOK_ROW:  # no part4.ipynb in this submission: the row says so
            assert score == 0 and "part4.ipynb is missing" in output, output
            continue
        assert score == max_score > 0, (item_id, output)
    stub = _grade(_submission(tmp_path / "stub", student_tree), student_tree)
    for item_id, (score, _, output) in stub.items():
        assert score == 0, (item_id, output)
        assert ("part4.ipynb is missing" if item_id == NOTEBOOK_ROW else "not attempted") in output, (item_id, output)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_loses_points(tmp_path, student_tree, mutant):
    rows = _grade(_submission(tmp_path / "mutant", paths.KIT, mutant), student_tree)
    for item_id, (score, max_score, output) in rows.items():
        if item_id == NOTEBOOK_ROW:
            continue
        if item_id in mutant.loses:
            assert score < max_score, (mutant.name, item_id, output)
            for text in mutant.says:
                assert text.lower() in output.lower(), (mutant.name, item_id, output)
        else:
            assert score == max_score, (mutant.name, item_id, output)
    everything = "\n".join(output for _, _, output in rows.values()).lower()
    for phrase, owner in MUTANTS_HINTS.items():
        if owner != mutant.name:
            assert phrase.lower() not in everything, f"{mutant.name} gets the hint meant for {owner}: {phrase!r}"
    # The student's local check agrees: it fails where the grader takes points.
    local = _submission(tmp_path / "local", paths.KIT, mutant)
    shutil.copyfile(paths.KIT / "smalldata" / "check_smalldata.py", local / "check_smalldata.py")
    run = subprocess.run([sys.executable, "check_smalldata.py"], cwd=local, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 1 and "FAILED" in run.stdout, f"{mutant.name}: check_smalldata.py passes\n{run.stdout}"


# -- part4.ipynb: the reference handed in, run by the grader in its reduced mode (row 7.8) ------------------------

@pytest.mark.slow
def test_part4_reference_executed_earns_the_notebook_row(tmp_path, student_tree, fashion_mnist_root, cifar10_dir):
    import shutil

    import nbformat

    from autograder.build import reference_artifacts
    kit = tmp_path / "kit"  # what `make` executed (reduced mode) for this very kit, else the step run now
    reference_artifacts.step_result("part4", kit, PART4_DATASET="fashion")
    nb = nbformat.read(str(kit / "part4.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "dataset: Fashion-MNIST" in text and "transfer-learning table" in text
    sub = _submission(tmp_path / "ref", paths.KIT)
    shutil.copyfile(kit / "part4.ipynb", sub / "part4.ipynb")
    rows = _grade(sub, student_tree)
    score, max_score, output = rows[NOTEBOOK_ROW]
    assert score == max_score > 0, output
    # The starter notebook (never run) earns nothing and says "not attempted".
    shutil.copyfile(student_tree / "part4.ipynb", sub / "part4.ipynb")
    score, _, output = _grade(sub, student_tree)[NOTEBOOK_ROW]
    assert score == 0 and "not attempted" in output, output


def test_check_smalldata_script_passes_on_the_reference_and_says_not_implemented_on_stubs(student_tree):
    import subprocess
    ok = subprocess.run([sys.executable, str(paths.KIT / "smalldata" / "check_smalldata.py")],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0 and "all checks passed" in ok.stdout, ok.stdout + ok.stderr
    stub = subprocess.run([sys.executable, str(student_tree / "smalldata" / "check_smalldata.py")],
                          capture_output=True, text=True, timeout=300)
    assert stub.returncode == 1 and stub.stdout.count(": not implemented") == 7, stub.stdout + stub.stderr


def test_bench_part4_rows_read_the_transfer_table():
    from bench.sections import part4_rows
    text = ("transfer-learning table (test accuracy %):\nper class | frozen backbone | fine-tuned | from scratch\n"
            "       16 | 40.0 | 45.5 | 20.0\n      256 | 60.0 | 70.0 | 75.0\n")
    rows = part4_rows(text, 500.0, reduced=False)
    assert rows[0].holds is True and len(rows) == 3
    assert rows[1].value == "40.0 / 45.5 / 20.0" and rows[1].holds is True
    assert rows[2].holds is False  # from scratch beats the pretrained model at 256: the target does not hold
    assert part4_rows("", 10.0, reduced=True)[-1].holds is False
