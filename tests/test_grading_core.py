"""The grading core: codec, workspace + run_calls outcomes, the graded decorator, the runner's results.json."""
from __future__ import annotations

import importlib
import inspect
import json
import math
import pkgutil
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from autograder.grading import codec, checks, rubric, runner, student_code
from autograder.grading.student_code import Call, Workspace, run_calls, static_imports

FAST = {"wall_seconds": 4, "cpu_seconds": 3, "call_wall_seconds": 4, "call_cpu_seconds": 3}


# ---------------------------------------------------------------------------------------------------------- codec

def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (np.isnan(a) and np.isnan(b)))
    return a == b


def _roundtrip(value):
    tree, arrays = codec.encode(value)
    # Through real JSON and a real npz, as across the sandbox.
    import io
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as data:
        loaded = {k: data[k] for k in data.files}
    return codec.decode(json.loads(json.dumps(tree, allow_nan=False)), loaded)


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**70, 1.5, float("nan"), float("inf"), float("-inf"), "text",
    (1, 2.0, "x"), [1, [2, (3,)]], {"t": "float", "v": "nan"}, {"W1": np.ones((2, 3)), "b": np.zeros(3, np.float32)},
    np.float64(0.25), np.int32(-3), np.bool_(True), np.array(5.0), np.arange(6, dtype=np.int64).reshape(2, 3),
    (np.full((2, 2), np.nan), (np.ones(1), {"cache": (np.eye(2), 3)})), (), [], {},
])
def test_codec_roundtrip_keeps_types(value):
    assert _same(_roundtrip(value), value)


@pytest.mark.parametrize("value", [
    np.array([object()], dtype=object), object(), {1: 2}, {1.5}, b"bytes", np.ma.masked_array([1, 2]),
])
def test_codec_refuses_unsendable_values(value):
    with pytest.raises(codec.CodecError):
        codec.encode(value)


@pytest.mark.parametrize("tree,arrays", [
    ({"t": "array", "k": "a0"}, {}),
    ({"t": "nope", "v": []}, {}),
    ({"t": "dict", "v": [[1, 2]]}, {}),
    ({"t": "float", "v": "zero"}, {}),
    ([1, 2], {}),
    ({"t": "scalar", "k": "a0"}, {"a0": np.ones(2)}),
    ({"t": "array", "k": "a0"}, {"a0": np.array([None], dtype=object)}),
])
def test_codec_refuses_malformed_trees(tree, arrays):
    with pytest.raises(codec.CodecError):
        codec.decode(tree, arrays)


def test_codec_refuses_deep_nesting():
    deep = {"t": "list", "v": []}
    for _ in range(codec.MAX_DEPTH + 5):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(codec.CodecError):
        codec.decode(deep, {})


def test_codec_is_standalone():
    # The harness imports its own copy inside the sandbox: numpy and the standard library only.
    assert static_imports(Path(codec.__file__)) <= {"__future__", "math", "typing", "numpy"}


def test_static_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import numpy as np, os.path\nfrom torch import nn\nfrom . import x\n"
                      "def f():\n    import tensorflow\n    __import__('jax')\n")
    assert static_imports(source) == {"numpy", "os", "torch", "tensorflow", "jax"}


# ---------------------------------------------------------------------------------------------------------- run_calls

STUDENT_LAYERS = '''
import numpy as np

def fc_forward(x, w, b):
    return x @ w + b, (x, w, b)

def stub(x):
    raise NotImplementedError("stub: not implemented yet")

def broken(x):
    y = x[10]
    return y

def spin():
    while True:
        pass

def nap():
    import time
    time.sleep(1000)

def die():
    import os
    os._exit(3)

def bad():
    return object()

def hog():
    return np.ones(10**10)

def scalar():
    return np.float32(1.5), float("nan")
'''


@pytest.fixture
def given_tree(tmp_path):
    given = tmp_path / "student"
    (given / "neuralnet").mkdir(parents=True)
    (given / "backprop").mkdir()
    (given / "neuralnet" / "layers.py").write_text(STUDENT_LAYERS)
    (given / "neuralnet" / "given_helper.py").write_text("VALUE = 42\n")
    (given / "backprop" / "functions.py").write_text("def f3(a, b, y):\n    raise NotImplementedError('f3')\n")
    return given


@pytest.fixture
def submission(tmp_path):
    sub = tmp_path / "alice"
    sub.mkdir()
    return sub


def test_workspace_flattens_and_overlays(given_tree, submission):
    (submission / "functions.py").write_text("def f3(a, b, y):\n    return 1.0, (0.0, 0.0)\n")
    (submission / "notes.txt").write_text("hi")
    (submission / ".DS_Store").write_bytes(b"\0")
    (submission / "link.py").symlink_to(given_tree / "neuralnet" / "layers.py")
    ws = Workspace.for_part(rubric.PARTS["section1"], submission, given_tree)
    assert sorted(ws.files()) == ["functions.py", "given_helper.py", "layers.py", "notes.txt"]
    assert "return 1.0" in (ws.path / "functions.py").read_text()
    assert not any(p.is_symlink() for p in ws.path.iterdir())
    ws.add_file("extra.npz", b"abc")
    assert (ws.path / "extra.npz").read_bytes() == b"abc"
    with pytest.raises(ValueError):
        ws.add_file("../escape.py", b"")


def test_run_calls_outcomes(given_tree, submission):
    ws = Workspace.for_part(rubric.PARTS["section1"], submission, given_tree)
    x, w, b = np.ones((2, 3)), np.arange(12.0).reshape(3, 4), np.zeros(4)
    calls = [
        Call("ok", "layers", func="fc_forward", args=(x, w), kwargs={"b": b}),
        Call("stub", "layers", func="stub", args=(1,)),
        Call("broken", "layers", func="broken", args=([1, 2],)),
        Call("spin", "layers", func="spin"),
        Call("after_spin", "layers", func="fc_forward", args=(x, w, b)),
        Call("die", "layers", func="die"),
        Call("bad", "layers", func="bad"),
        Call("hog", "layers", func="hog"),
        Call("scalar", "layers", func="scalar"),
        Call("no_func", "layers", func="nothing_here"),
        Call("no_module", "train", func="main"),
        Call("given", "given_helper", procedure="call", func="__dir__"),
    ]
    out = run_calls(ws, calls, limits=FAST)
    assert list(out) == [c.id for c in calls]
    assert out["ok"].status == "ok"
    value, cache = out["ok"].value
    np.testing.assert_array_equal(value, x @ w + b)
    assert isinstance(cache, tuple) and len(cache) == 3
    assert out["stub"].status == "not_implemented"
    assert out["broken"].status == "error"
    assert "IndexError" in out["broken"].message and "layers.py, line" in out["broken"].message
    assert "x[10]" in out["broken"].message
    assert out["spin"].status == "timeout"
    assert out["after_spin"].status == "ok"  # one infinite loop costs only its own call
    assert out["die"].status == "crashed"
    assert out["bad"].status == "bad_output"
    assert out["hog"].status == "memory"
    s, nan = out["scalar"].value
    assert type(s) is np.float32 and math.isnan(nan)
    assert out["no_func"].status == "error" and "nothing_here" in out["no_func"].message
    assert out["no_module"].status == "import_error" and "train.py" in out["no_module"].message
    assert out["given"].status == "ok"


def test_import_errors_are_reported_with_file_and_line(given_tree, submission):
    (submission / "layers.py").write_text("import numpy as np\n\ndef f(:\n    pass\n")
    (submission / "functions.py").write_text("import numpy\nraise ValueError('at import')\n")
    ws = Workspace.for_part(rubric.PARTS["section1"], submission, given_tree)
    out = run_calls(ws, [Call("a", "layers", func="f"), Call("b", "functions", func="f3", args=(1, 2, 1)),
                         Call("c", "functions", func="f3", args=(1, 2, 2))], limits=FAST)
    assert out["a"].status == "import_error" and "layers.py" in out["a"].message and "line 3" in out["a"].message
    assert out["b"].status == "import_error" and "ValueError: at import" in out["b"].message
    assert out["c"].status == "import_error"


def test_hang_at_import_marks_every_call_of_that_module(given_tree, submission):
    (submission / "functions.py").write_text("while True:\n    pass\n")
    ws = Workspace.for_part(rubric.PARTS["section1"], submission, given_tree)
    calls = [Call("f3a", "functions", func="f3", args=(1.0, 2.0, 1)),
             Call("fwd", "layers", func="fc_forward", args=(np.ones((1, 1)), np.ones((1, 1)), np.ones(1))),
             Call("f3b", "functions", func="f3", args=(1.0, 2.0, 2))]
    out = run_calls(ws, calls, limits=FAST)
    assert out["f3a"].status == "timeout" and "importing" in out["f3a"].message
    assert out["f3b"].status == "timeout"
    assert out["fwd"].status == "ok"
    again = run_calls(Workspace.for_part(rubric.PARTS["section1"], submission, given_tree), calls[:1], limits=FAST)
    assert again["f3a"].status == "timeout"  # remembered: the second batch does not wait again


def test_run_calls_is_deterministic(given_tree, submission):
    calls = [Call("ok", "layers", func="fc_forward", args=(np.ones((2, 2)), np.eye(2), np.ones(2))),
             Call("broken", "layers", func="broken", args=([1],)),
             Call("die", "layers", func="die"),
             Call("stub", "layers", func="stub", args=(0,))]
    first = run_calls(Workspace.for_part(rubric.PARTS["section1"], submission, given_tree), calls, limits=FAST)
    second = run_calls(Workspace.for_part(rubric.PARTS["section1"], submission, given_tree), calls, limits=FAST)
    for key in first:
        assert first[key].status == second[key].status and first[key].message == second[key].message
    np.testing.assert_array_equal(first["ok"].value[0], second["ok"].value[0])


def test_run_calls_refuses_duplicate_ids(given_tree, submission):
    ws = Workspace.for_part(rubric.PARTS["section1"], submission, given_tree)
    with pytest.raises(ValueError):
        run_calls(ws, [Call("a", "layers", func="stub"), Call("a", "layers", func="stub")])


# ---------------------------------------------------------------------------------------------------------- rubric

def _graded_methods():
    """(rubric id, test id) for every @graded method in the checks package."""
    found = []
    package = importlib.import_module(runner.GRADED_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{runner.GRADED_PACKAGE}.{info.name}")
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for name, func in inspect.getmembers(cls, inspect.isfunction):
                if hasattr(func, "__rubric_id__"):
                    found.append((func.__rubric_id__, f"{info.name}.{cls_name}.{name}", info.name))
    return found


def test_every_rubric_item_has_exactly_one_graded_test_and_vice_versa():
    methods = _graded_methods()
    ids = [m[0] for m in methods]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, f"rubric ids graded by more than one test: {duplicated}"
    missing = sorted(set(rubric.RUBRIC) - set(ids))
    assert not missing, f"rubric items without a graded test: {missing}"
    for item_id, test, module in methods:
        assert rubric.RUBRIC[item_id].check == module, f"{test} grades {item_id}, whose rubric module is " \
                                                        f"{rubric.RUBRIC[item_id].check}"


def test_graded_decorator_takes_everything_from_the_rubric():
    item_id, item = next((k, v) for k, v in rubric.RUBRIC.items() if v.visibility == "hidden")

    class Case(checks.GradedTestCase):
        @checks.graded(item_id)
        def test_plain(self):
            """Own docstring."""

    func = Case.test_plain
    assert func.__weight__ == item.points and func.__number__ == item.number
    assert func.__visibility__ == item.visibility and func.__rubric_id__ == item_id
    assert func.__doc__.splitlines()[0] == item.name
    with pytest.raises(KeyError):
        checks.graded("no such item")


# ---------------------------------------------------------------------------------------------------------- runner

FAKE_LAYERS_TESTS = '''
import unittest
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.student_code import Call

class LayerChecks(GradedTestCase):
    @graded("fc_forward")
    def test_partial(self, set_score=None):
        out = self.run_student([Call("v", "layers", func="fc_forward", args=(1.0, 2.0, 3.0))])["v"]
        self.assertEqual(out.status, "ok", out.message)
        set_score(1.5)

    @graded("fc_backward")
    def test_subtests(self):
        for case in range(3):
            with self.subTest(case=case):
                self.assertLess(case, 1, f"case {case} is wrong")

    @graded("relu_forward")
    def test_skipped(self):
        self.skipTest("needs data that is not here")

    @graded("relu_backward")
    def test_grader_bug(self):
        {}["missing"]

    @graded("softmax_loss")
    def test_passes(self):
        pass

    @graded("l2_regularization")
    def test_too_generous(self, set_score=None):
        set_score(1e9)

    @graded("layers_edge_cases")
    def test_fails(self):
        self.fail_with("edge case N = 1: wrong shape (1,) instead of (1, 3)")
'''

FAKE_TRAINING_TESTS = '''
import unittest
from autograder.grading.checks import GradedTestCase, graded

class TrainingChecks(GradedTestCase):
    @classmethod
    def setUpClass(cls):
        raise unittest.SkipTest("CIFAR-10 is not available")

    @graded("checkpoint_accuracy")
    def test_accuracy(self):
        pass
'''

FAKE_NET_TESTS = '''
from autograder.grading.checks import GradedTestCase, graded

class NetChecks(GradedTestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("setup broke")

    @graded("two_layer_init")
    def test_init(self):
        pass
'''


@pytest.fixture
def fake_graded(tmp_path, monkeypatch):
    """A package of stand-in graded modules named like the real ones (the runner matches rubric modules by name)."""
    name = f"fakegraded_{tmp_path.name.replace('-', '_')}"
    pkg = tmp_path / "pkgs" / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "section1_layers.py").write_text(FAKE_LAYERS_TESTS)
    (pkg / "section1_two_layer_net.py").write_text(FAKE_NET_TESTS)
    (pkg / "section1_training.py").write_text(FAKE_TRAINING_TESTS)
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    return name


def test_runner_scores_every_item_once_with_reasons(fake_graded, given_tree, submission, tmp_path):
    (submission / "layers.py").write_text("def fc_forward(x, w, b):\n    return x * w + b\n")
    out = tmp_path / "results" / "results.json"
    results = runner.grade_folder(submission, modules=[f"{fake_graded}.section1_layers",
                                                       f"{fake_graded}.section1_two_layer_net",
                                                       f"{fake_graded}.section1_training"],
                                  given_dir=given_tree, out_path=out)
    assert json.loads(out.read_text()) == results
    runner.validate(results)
    assert "grader_failed" not in results["extra_data"]
    rows = {t["number"]: t for t in results["tests"]}
    expected = {i for i, item in rubric.RUBRIC.items()
                if item.check in ("section1_layers", "section1_two_layer_net", "section1_training")}
    assert len(results["tests"]) == len(expected)
    assert sorted(rows) == sorted(rubric.RUBRIC[i].number for i in expected)
    numbers = [t["number"] for t in results["tests"]]
    assert numbers == sorted(numbers, key=runner.number_key)
    by_id = {i: rows[rubric.RUBRIC[i].number] for i in expected}
    assert by_id["fc_forward"]["score"] == 1.5 and by_id["fc_forward"]["status"] == "failed"
    assert by_id["fc_backward"]["score"] == 0 and "case 1 is wrong" in by_id["fc_backward"]["output"]
    assert by_id["relu_forward"]["score"] == 0 and "needs data" in by_id["relu_forward"]["output"]
    assert by_id["relu_backward"]["score"] == 0 and "Traceback" not in by_id["relu_backward"]["output"]
    assert by_id["softmax_loss"]["score"] == rubric.RUBRIC["softmax_loss"].points
    assert by_id["softmax_loss"]["status"] == "passed"
    assert by_id["l2_regularization"]["score"] == rubric.RUBRIC["l2_regularization"].points  # clamped
    assert by_id["layers_edge_cases"]["output"] == "edge case N = 1: wrong shape (1,) instead of (1, 3)"
    assert by_id["layers_edge_cases"]["visibility"] == "hidden"
    assert by_id["two_layer_init"]["score"] == 0 and "setting up" in by_id["two_layer_init"]["output"]
    assert "not graded" in by_id["two_layer_forward"]["output"]
    # (this submission has no checkpoint.pkl either: the row says so first)
    assert by_id["checkpoint_accuracy"]["output"].endswith("\nnot graded: skipped: CIFAR-10 is not available")
    # Items of the same module without a test of their own get the module's setup reason too.
    assert by_id["training_step_own_model"]["output"].endswith("\nnot graded: skipped: CIFAR-10 is not available")
    assert isinstance(results["execution_time"], float)
    assert results["score"] == sum(t["score"] for t in results["tests"])


def test_runner_does_not_leak_scores_between_submissions(fake_graded, given_tree, submission, tmp_path):
    modules = [f"{fake_graded}.section1_layers"]
    (submission / "layers.py").write_text("def fc_forward(x, w, b):\n    return x * w + b\n")
    first = runner.grade_folder(submission, modules=modules, given_dir=given_tree)
    other = tmp_path / "bob"
    other.mkdir()
    second = runner.grade_folder(other, modules=modules, given_dir=given_tree)
    number = rubric.RUBRIC["fc_forward"].number
    assert [t["score"] for t in first["tests"] if t["number"] == number] == [1.5]
    assert [t["score"] for t in second["tests"] if t["number"] == number] == [0.0]
    assert "grader_failed" not in first["extra_data"] and "grader_failed" not in second["extra_data"]


def test_runner_writes_valid_results_when_grading_crashes(monkeypatch, tmp_path, submission):
    def explode(module_names):
        raise RuntimeError("grader bug")

    monkeypatch.setattr(runner, "_run_tests", explode)
    out = tmp_path / "results.json"
    results = runner.grade_folder(submission, out_path=out)
    runner.validate(json.loads(out.read_text()))
    assert results["score"] == 0 and results["extra_data"]["grader_failed"] is True
    assert len(results["tests"]) == len(rubric.RUBRIC)
    assert "instructor" in results["output"]


def test_schema_rejects_malformed_results():
    good = runner.failure_results("x")
    runner.validate(good)
    for broken in ({**good, "execution_time": "1.5"}, {**good, "tests": [{**good["tests"][0], "status": "ok"}]},
                   {**good, "visibility": "sometimes"}, {k: v for k, v in good.items() if k != "score"}):
        with pytest.raises(jsonschema.ValidationError):
            runner.validate(broken)


def test_forged_result_files_are_bad_output(tmp_path):
    call = Call("x", "layers", func="f")
    base = tmp_path / "0"
    cases = {
        "nested": b"[" * 200_000 + b"]" * 200_000,
        "wrong_id": json.dumps({"id": "y", "status": "ok", "message": "", "seconds": 0, "value": 1}).encode(),
        "bad_status": json.dumps({"id": "x", "status": "passed", "message": "", "seconds": 0}).encode(),
        "missing_array": json.dumps({"id": "x", "status": "ok", "message": "", "seconds": 0,
                                     "value": {"t": "array", "k": "a0"}}).encode(),
        "not_json": b"\xff\xfe",
    }
    for name, content in cases.items():
        base.with_suffix(".json").write_bytes(content)
        outcome = student_code._read_outcome(base, call, 1024)
        assert outcome.status == "bad_output", name
    base.with_suffix(".json").write_bytes(json.dumps({"id": "x", "status": "ok", "message": "", "seconds": 0,
                                                      "value": {"t": "array", "k": "a0"}}).encode())
    np.savez(base.with_suffix(".npz"), a0=np.zeros(10_000))  # 80 kB > the 1 kB cap
    assert student_code._read_outcome(base, call, 1024).status == "bad_output"
    np.savez(base.with_suffix(".npz"), a0=np.zeros(10))
    assert student_code._read_outcome(base, call, 1024).status == "ok"
