"""Hostile submissions, graded end to end against the graded tests that exist: no unearned points, and always a
valid results.json.

A hostile submission is the generated student tree's files with one file replaced. Most cases replace
``functions.py`` (graded by section1_backprop; the reference is in kit/backprop/functions.py) with code that attacks the
grader and then tries to earn the points by cheating: running the reference solution read from the source tree.
The assertions do not depend on which graded tests exist: "the hostile file's items score 0", "results.json is
valid, complete and the grader's own".

Further down, full submissions (the kit's reference files with one file hostile) attack the harness that reports
their results from inside the sandbox (patching section1_procedures or numpy there), and hostile artifacts
(checkpoint.pkl, part1_model.pt) run code when loaded: such code must run only in the sandbox, never in the grading
process, and earn nothing.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Optional

import pytest

from autograder import paths
from autograder.build import markers
from autograder.grading import rubric, runner, sandbox

HOSTILE_FILE = "functions.py"
HOSTILE_MODULE = "section1_backprop"
SUBMITTED = ("functions.py", "layers.py", "train.py", "two_layer_net.py")
REFERENCE = paths.KIT / "backprop" / "functions.py"
SHORT_LIMITS = {"wall_seconds": 4, "cpu_seconds": 3}

# After its attack, every hostile file tries to earn f1..f4 by running the reference solution from the source tree.
CHEAT = f'''
_ref = {str(REFERENCE)!r}
try:
    exec(compile(open(_ref).read(), _ref, "exec"))
except OSError:
    pass
'''

HOSTILE = {
    "loop_at_import": "while True:\n    pass\n",
    "sleep_at_import": "import time\ntime.sleep(10**6)\n",
    "sys_exit_at_import": "import sys\nsys.exit(0)\n",
    "os_exit_at_import": "import os\nos._exit(0)\n",
    "segfault_at_import": "import ctypes\nctypes.string_at(0)\n",
    "flood_stdout": "import sys\nfor _ in range(20000):\n    sys.stdout.write('x' * 10000)\n" + CHEAT,
    "fork_at_import": (
        "import os, time\n"
        "for _ in range(1000):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(10**6)\n"
        "    except OSError:\n"
        "        break\n" + CHEAT),
    "allocate_without_bound": "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 1024 * 1024))\n",
    "write_results": (
        "import json, os\n"
        "fake = {'score': 1000, 'tests': []}\n"
        "for path in ['/autograder/results/results.json', 'results.json', '../results/results.json',\n"
        "             os.path.expanduser('~/results.json'), {results_path!r}]:\n"
        "    try:\n"
        "        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)\n"
        "        with open(path, 'w') as handle:\n"
        "            json.dump(fake, handle)\n"
        "    except OSError:\n"
        "        pass\n" + CHEAT),
    "patch_numpy": (
        "import numpy as np, math\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.isclose = lambda *a, **k: True\n"
        "np.array_equal = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "math.isclose = lambda *a, **k: True\n"
        "def f1(x1, w1, x2, w2, b, y):\n    return 0.0, (0.0,) * 6\n"
        "def f2(x):\n    return 0.0, (0.0,)\n"
        "def f3(s1, s2, y):\n    return 0.0, (0.0, 0.0)\n"
        "def f3_y1(s1, s2):\n    return f3(s1, s2, 1)\n"
        "def f3_y2(s1, s2):\n    return f3(s1, s2, 2)\n"
        "def f4(*args):\n    return 0.0, (0.0,) * len(args)\n"),
    # Import the grader's own package from the source tree, disarm its validation and take the reference solution
    # through the grader's loader (reference.load("backprop", "functions") loads kit/backprop/functions.py).
    "patch_grader": (
        "import sys\n"
        f"sys.path.insert(0, {str(paths.REPO)!r})\n"
        "try:\n"
        "    import autograder.grading.runner as runner\n"
        "    runner.validate = lambda results: None\n"
        "    from autograder.grading import reference\n"
        "    _solution = reference.load(\"backprop\", \"functions\")\n"
        "    f1, f2, f3, f3_y1, f3_y2, f4 = (_solution.f1, _solution.f2, _solution.f3, _solution.f3_y1,\n"
        "                                   _solution.f3_y2, _solution.f4)\n"
        "except Exception:\n"
        "    pass\n" + CHEAT),
    "read_solutions": CHEAT,
}


@pytest.fixture
def short_limits(monkeypatch):
    # Small limits so every hang costs seconds; graded tests read rubric.SANDBOX_LIMITS when they run.
    for key, value in SHORT_LIMITS.items():
        monkeypatch.setitem(rubric.SANDBOX_LIMITS, key, value)


def make_submission(student_tree: Path, folder: Path, replace: dict) -> Path:
    folder.mkdir(parents=True)
    for name in SUBMITTED:
        for sub in ("backprop", "neuralnet"):
            if (student_tree / sub / name).is_file():
                shutil.copyfile(student_tree / sub / name, folder / name)
    for name, text in replace.items():
        (folder / name).write_text(text)
    return folder


def items_of(module: str) -> dict:
    return {item.number: item_id for item_id, item in rubric.RUBRIC.items() if item.check == module}


def check_results(results: dict, out_path: Path, modules) -> None:
    """Valid, complete, and exactly what the grader wrote."""
    runner.validate(results)
    assert json.loads(out_path.read_text()) == results
    expected = sorted(n for m in modules for n in items_of(m))
    assert sorted(t["number"] for t in results["tests"]) == expected


def _isolation_gap() -> str:
    """Why the sandbox cannot hide the source tree here ("" when it can)."""
    if os.geteuid() != 0:
        return "grader not running as root: sandboxed code runs as the grader's user and can read kit/"
    if sandbox.namespace_flags() is None:
        return "no private mount namespace here: kit/ is hidden only by `run`'s permission changes on Gradescope"
    return ""


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_functions_file_earns_nothing(case, student_tree, short_limits, tmp_path):
    if CHEAT in HOSTILE[case] and _isolation_gap():
        pytest.skip(f"isolation reduced ({_isolation_gap()}): the cheat would work, as the grading output says")
    out_path = tmp_path / "results" / "results.json"
    text = HOSTILE[case].replace("{results_path!r}", repr(str(out_path)))
    folder = make_submission(student_tree, tmp_path / "alice", {HOSTILE_FILE: text})
    results = runner.grade_folder(folder, modules=[HOSTILE_MODULE], given_dir=student_tree, out_path=out_path)
    check_results(results, out_path, [HOSTILE_MODULE])
    hostile_rows = [t for t in results["tests"] if t["number"] in items_of(HOSTILE_MODULE)]
    assert sum(t["score"] for t in hostile_rows) == 0, [(t["number"], t["score"], t["output"]) for t in hostile_rows]
    by_id = {items_of(HOSTILE_MODULE)[t["number"]]: t for t in hostile_rows}
    if "f1" in by_id:
        assert by_id["f1"]["status"] == "failed", by_id["f1"]["output"]  # the cheat would make f1 pass
    assert results["score"] == 0
    assert "Traceback" not in json.dumps(results)


@pytest.fixture
def reference_functions():
    if not REFERENCE.is_file():
        pytest.skip("kit/backprop/functions.py not written yet")
    return REFERENCE.read_text()


def test_infinite_loop_in_one_function_loses_only_that_item(student_tree, short_limits, reference_functions,
                                                            tmp_path):
    looping = reference_functions + "\n\ndef f3(s1, s2, y):\n    while True:\n        pass\n"
    folder = make_submission(student_tree, tmp_path / "bob", {HOSTILE_FILE: looping})
    out_path = tmp_path / "results" / "results.json"
    results = runner.grade_folder(folder, modules=[HOSTILE_MODULE], given_dir=student_tree, out_path=out_path)
    check_results(results, out_path, [HOSTILE_MODULE])
    by_id = {items_of(HOSTILE_MODULE)[t["number"]]: t for t in results["tests"]}
    if "f3" in by_id:
        assert by_id["f3"]["score"] == 0
    if (paths.REPO / "autograder" / "grading" / "checks" / f"{HOSTILE_MODULE}.py").is_file():
        # The reference f1 is still graded (and passes) although f3 loops forever.
        assert by_id["f1"]["status"] == "passed", by_id["f1"]["output"]


def test_grading_twice_gives_identical_results(student_tree, short_limits, reference_functions, tmp_path):
    text = reference_functions + "\n\ndef f2(x):\n    import os\n    os._exit(1)\n"
    folder = make_submission(student_tree, tmp_path / "carol", {HOSTILE_FILE: text})
    runs = []
    for k in range(2):
        out_path = tmp_path / f"results{k}" / "results.json"
        results = runner.grade_folder(folder, modules=[HOSTILE_MODULE], given_dir=student_tree, out_path=out_path)
        check_results(results, out_path, [HOSTILE_MODULE])
        results.pop("execution_time")
        runs.append(results)
    assert runs[0] == runs[1]


@pytest.mark.slow
def test_every_file_hostile_with_all_graded_tests(student_tree, short_limits, tmp_path):
    """All graded modules on a submission whose every file loops at import: every rubric item, score 0, valid."""
    replace = {name: HOSTILE["loop_at_import"] for name in SUBMITTED}
    replace["checkpoint.pkl"] = "not a pickle"
    folder = make_submission(student_tree, tmp_path / "dave", replace)
    out_path = tmp_path / "results" / "results.json"
    results = runner.grade_folder(folder, given_dir=student_tree, out_path=out_path)
    runner.validate(results)
    assert json.loads(out_path.read_text()) == results
    assert sorted(t["number"] for t in results["tests"]) == sorted(i.number for i in rubric.RUBRIC.values())
    assert results["score"] == 0


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="the Gradescope run closes the source by permissions only as root")
def test_gradescope_layout_without_namespaces_still_hides_the_solutions(student_tree, public_tmp):
    """Docker on Gradescope usually refuses mount namespaces: then file permissions alone must keep the reference kit away."""
    root = public_tmp / "autograder"
    source = root / "source"
    source.mkdir(parents=True)
    (root / "results").mkdir()
    shutil.copytree(paths.REPO / "autograder", source / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    markers.copy_kit(paths.KIT, source)  # the reference kit at the source root, as in autograder.zip
    shutil.copytree(student_tree, source / "student")
    reference = source / "backprop" / "functions.py"
    cheat = CHEAT.replace(repr(str(REFERENCE)), repr(str(reference)))
    make_submission(student_tree, root / "submission" / "alice", {HOSTILE_FILE: cheat})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["AUTOGRADER_SANDBOX_NAMESPACES"] = "0"
    proc = subprocess.run([sys.executable, "-m", "autograder", "run", "--root", str(root)], cwd=source, env=env,
                          capture_output=True, text=True, timeout=500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    runner.validate(results)
    assert "no private mount namespace" in results["output"]
    f3 = [t for t in results["tests"] if t["number"] == rubric.RUBRIC["f3"].number]
    assert f3 and f3[0]["score"] == 0, f3
    assert "has no function f3" in f3[0]["output"]  # the cheat's read was refused, so f3 was never defined


@pytest.fixture
def public_tmp():
    """A temp folder every user can traverse, like /autograder (pytest's own tmp folders are private to root, which
    would make a permission test pass for the wrong reason)."""
    folder = Path(tempfile.mkdtemp(prefix="dlkit-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# -- full submissions: the kit's reference files, one of them hostile ------------------------------------------------
#
# The harness modules (section1_procedures, run_calls, codec) are importable by the student's code in the sandbox (the
# harness folder comes first on sys.path), so a submission can patch the very code that reports its results. Nothing
# the sandboxed process reports may therefore serve as an expectation: only the grader's own reference earns points.

KIT_FILES = {"functions.py": paths.KIT / "backprop" / "functions.py",
             "layers.py": paths.KIT / "neuralnet" / "layers.py",
             "two_layer_net.py": paths.KIT / "neuralnet" / "two_layer_net.py",
             "train.py": paths.KIT / "neuralnet" / "train.py"}

# A training_step that computes nothing: loss 0 and zero gradients keyed like model.parameters().
ZERO_STEP = '''import numpy as np


def training_step(model, X_batch, y_batch, reg):
    return 0.0, {name: np.zeros_like(value) for name, value in model.parameters().items()}
'''

# Pieces "of the student's own layers" that agree exactly with ZERO_STEP: zero data loss, zero model gradients, zero L2.
FABRICATED_PARTS = '''
import section1_procedures as _harness


def _fabricated_parts(model, params, names, X, y, reg):
    return {"data_loss": 0.0, "model_grads": [np.zeros_like(params[n]) for n in names],
            "l2": [(0.0, np.zeros_like(params[n])) for n in names]}
'''

HARNESS_PATCHED_TRAIN = {
    # The hint's pieces (training_step_own's "parts") are fabricated to agree with the zero training_step.
    "fabricated_parts": ZERO_STEP + FABRICATED_PARTS + "\n_harness._own_layer_parts = _fabricated_parts\n",
    # The whole record of both checks is fabricated, self-consistent, without running training_step at all; the
    # entry points are replaced too (the probe check looks _training_step up when it runs, after importing train).
    "fabricated_records": ZERO_STEP + FABRICATED_PARTS + '''

def _fabricated_step(train_module, model, names, X, y, reg, with_parts=True):
    params = model.parameters()
    return {"names": list(names), "param_keys": [str(k) for k in params], "result_kind": "pair", "loss": 0.0,
            "grad_type": "dict", "grad_keys": [str(k) for k in params],
            "grads": [np.zeros_like(params[n]) for n in names],
            "parts": _fabricated_parts(model, params, names, X, y, reg) if with_parts else None}


_real_own, _real_probe = _harness.training_step_own, _harness.training_step_probe


def _own(module, *args, **kwargs):
    _harness._training_step = _fabricated_step
    return _real_own(module, *args, **kwargs)


_harness._training_step = _fabricated_step
_harness._own_layer_parts = _fabricated_parts
_harness.training_step_own = _own
''',
}

# Sandbox-reported parameter names decide which gradients the grader compares: report none, and nothing is compared.
UNCHECKED_NAMES_TRAIN = ZERO_STEP + '''
import section1_procedures as _harness

_real_step = _harness._training_step


def _step(*args, **kwargs):
    record = _real_step(*args, **kwargs)
    record.update(names=[], grads=[], param_keys=[], grad_keys=[])
    return record


_harness._training_step = _step
'''

PATCHED_NUMPY_TRAIN = '''import math

import numpy as np
import numpy.testing

np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.array_equiv = lambda *a, **k: True
np.sum = lambda *a, **k: 0.0
np.max = lambda *a, **k: 0.0
np.abs = lambda x, *a, **k: x * 0
np.linalg.norm = lambda *a, **k: 0.0
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
math.isclose = lambda *a, **k: True
''' + ZERO_STEP.split("\n", 1)[1]

TWO_LAYER_GRADS = 'grads = {"W1": grad_w1, "b1": grad_b1, "W2": grad_w2, "b2": grad_b2}'


def _two_layer_net_with(grads_line: str, patch: str = "") -> str:
    """The reference two_layer_net.py with its backward's result replaced by ``grads_line``, then ``patch``."""
    text = KIT_FILES["two_layer_net.py"].read_text()
    assert text.count(TWO_LAYER_GRADS) == 1, "kit/neuralnet/two_layer_net.py changed: update TWO_LAYER_GRADS"
    return text.replace(TWO_LAYER_GRADS, grads_line) + patch


ZERO_GRADS = "grads = {k: np.zeros_like(v) for k, v in self.params.items()}"
HARNESS_PATCHED_NET = {
    # sum(forward * G) reported as constant: every central difference is 0, like the zero analytic gradients.
    "constant_objective": "\nimport section1_procedures as _harness\n_harness._objective = lambda model, X, G: 0.0\n",
    # The "numeric" gradients reported by the harness are replaced by the (zero) analytic ones.
    "numeric_from_analytic": '''
import section1_procedures as _harness

_real_gradients = _harness.gradients


def _gradients(*args, **kwargs):
    record = _real_gradients(*args, **kwargs)
    record["numeric"] = [np.zeros(np.shape(n)) for n in record["numeric"]]
    return record


_harness.gradients = _gradients
''',
    # Nothing to compare at all: no names, no gradients.
    "no_names": '''
import section1_procedures as _harness

_real_gradients = _harness.gradients


def _gradients(*args, **kwargs):
    record = _real_gradients(*args, **kwargs)
    record.update(names=[], analytic=[], numeric=[])
    return record


_harness.gradients = _gradients
''',
}


@pytest.fixture
def kit_files():
    missing = [str(p) for p in KIT_FILES.values() if not p.is_file()]
    if missing:
        pytest.skip(f"reference files not written yet: {', '.join(missing)}")


def reference_submission(folder: Path, replace: dict) -> Path:
    """The kit's four reference files in a flat folder, with ``replace`` (name -> str or bytes) on top."""
    folder.mkdir(parents=True)
    for name, source in KIT_FILES.items():
        shutil.copyfile(source, folder / name)
    for name, content in replace.items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content)
    return folder


def graded_rows(folder: Path, module: str, out_path: Path, given_dir: Optional[Path] = None) -> dict:
    """Grade ``folder`` with one graded module; rubric id -> row, after checking results.json is the grader's."""
    results = runner.grade_folder(folder, modules=[module], given_dir=given_dir, out_path=out_path)
    check_results(results, out_path, [module])
    assert "Traceback" not in json.dumps(results)
    return {items_of(module)[t["number"]]: t for t in results["tests"]}


def passed_subchecks(output: str) -> set:
    """The sub-checks a graded test's report lists as right ('  right: a, b.' or 'all checks passed (a, b).')."""
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("right: "):
            return set(line[len("right: "):].rstrip(".").split(", "))
        if "all checks passed (" in line:
            return set(filter(None, line.split("all checks passed (", 1)[1].rstrip(").").split(", ")))
    return set()


STEP_ITEMS = ("training_step_own_model", "training_step_probe_model")
COMPUTED_SUBCHECKS = {"loss", "weight gradients", "bias gradients"}  # what a zero training_step must never pass


@pytest.fixture(scope="module")
def zero_step_rows(student_tree, tmp_path_factory):
    """The zero training_step graded as is (no patching): the most a submission that computes nothing may get."""
    if not all(p.is_file() for p in KIT_FILES.values()):
        pytest.skip("reference files not written yet")
    base = tmp_path_factory.mktemp("zero-step")
    folder = reference_submission(base / "zoe", {"train.py": ZERO_STEP})
    rows = graded_rows(folder, "section1_training", base / "results" / "results.json", student_tree)
    for item_id in STEP_ITEMS:
        assert not passed_subchecks(rows[item_id]["output"]) & COMPUTED_SUBCHECKS, rows[item_id]["output"]
    assert rows["training_step_own_model"]["score"] == 0
    return rows


def _assert_no_more_than_zero_step(rows: dict, zero_step_rows: dict) -> None:
    for item_id in STEP_ITEMS:
        row = rows[item_id]
        assert row["score"] <= zero_step_rows[item_id]["score"], (item_id, row["score"], row["output"])
        assert not passed_subchecks(row["output"]) & COMPUTED_SUBCHECKS, (item_id, row["output"])
        assert row["status"] == "failed", (item_id, row["output"])
    assert rows["training_step_own_model"]["score"] == 0


@pytest.mark.parametrize("case", sorted(HARNESS_PATCHED_TRAIN))
def test_train_patching_the_harness_earns_nothing(case, student_tree, kit_files, zero_step_rows, tmp_path):
    """train.py replaces harness functions so that the harness would report fabricated, self-consistent pieces for
    a training_step that computes nothing: the harness bound its procedures before importing train.py and took their
    module out of sys.modules, so the patch lands on a fresh copy and changes nothing; and it would earn nothing
    beyond what the same training_step earns without it anyway."""
    folder = reference_submission(tmp_path / "mallory", {"train.py": HARNESS_PATCHED_TRAIN[case]})
    rows = graded_rows(folder, "section1_training", tmp_path / "results" / "results.json", student_tree)
    _assert_no_more_than_zero_step(rows, zero_step_rows)
    # The feedback is the unpatched zero step's: the fabricated pieces were never used.
    assert rows["training_step_own_model"]["output"] == zero_step_rows["training_step_own_model"]["output"]


def test_train_reporting_no_parameter_names_earns_nothing(student_tree, kit_files, zero_step_rows, tmp_path):
    folder = reference_submission(tmp_path / "mallory", {"train.py": UNCHECKED_NAMES_TRAIN})
    rows = graded_rows(folder, "section1_training", tmp_path / "results" / "results.json", student_tree)
    _assert_no_more_than_zero_step(rows, zero_step_rows)


def test_train_patching_numpy_earns_nothing(student_tree, kit_files, zero_step_rows, tmp_path):
    """train.py replaces numpy's comparisons and reductions in the sandbox before training_step runs (the probe's
    answering layers compare with np.allclose / np.array_equal): no point beyond the unpatched zero training_step."""
    folder = reference_submission(tmp_path / "mallory", {"train.py": PATCHED_NUMPY_TRAIN})
    rows = graded_rows(folder, "section1_training", tmp_path / "results" / "results.json", student_tree)
    _assert_no_more_than_zero_step(rows, zero_step_rows)


@pytest.mark.parametrize("case", sorted(HARNESS_PATCHED_NET))
def test_two_layer_net_patching_the_gradient_check_earns_nothing(case, student_tree, kit_files, tmp_path):
    """backward returns zeros and two_layer_net.py patches the harness so its central differences agree (or vanish):
    the backward gets 0, while init and forward (the reference's, untouched) keep full marks."""
    text = _two_layer_net_with(ZERO_GRADS, HARNESS_PATCHED_NET[case])
    folder = reference_submission(tmp_path / "mallory", {"two_layer_net.py": text})
    rows = graded_rows(folder, "section1_two_layer_net", tmp_path / "results" / "results.json", student_tree)
    for item_id in ("two_layer_init", "two_layer_forward"):
        assert rows[item_id]["score"] == rows[item_id]["max_score"], (item_id, rows[item_id]["output"])
    backward = rows["two_layer_backward"]
    assert backward["score"] == 0 and backward["status"] == "failed", backward["output"]
    if case != "no_names":  # the patch ran: the hint (no points) believed the fabricated central differences
        assert "agrees with central differences of your own forward" in backward["output"], backward["output"]


def test_two_layer_net_reporting_fewer_parameters_earns_nothing(student_tree, kit_files, tmp_path):
    w1_only = 'grads = {"W1": grad_w1, "b1": 0 * grad_b1, "W2": 0 * grad_w2, "b2": 0 * grad_b2}'
    honest = reference_submission(tmp_path / "honest", {"two_layer_net.py": _two_layer_net_with(w1_only)})
    fair = graded_rows(honest, "section1_two_layer_net", tmp_path / "r0" / "results.json", student_tree)
    assert 0 < fair["two_layer_backward"]["score"] < fair["two_layer_backward"]["max_score"]
    patch = '''
import section1_procedures as _harness

_real_gradients = _harness.gradients


def _gradients(*args, **kwargs):
    record = _real_gradients(*args, **kwargs)
    record.update(names=record["names"][:1], analytic=record["analytic"][:1], numeric=record["numeric"][:1])
    return record


_harness.gradients = _gradients
'''
    folder = reference_submission(tmp_path / "mallory", {"two_layer_net.py": _two_layer_net_with(w1_only, patch)})
    rows = graded_rows(folder, "section1_two_layer_net", tmp_path / "r1" / "results.json", student_tree)
    assert rows["two_layer_backward"]["score"] <= fair["two_layer_backward"]["score"], rows["two_layer_backward"]


# -- hostile artifacts: unpickled / torch-loaded only in the sandbox ---------------------------------------------------
#
# Each payload first leaves a marker named after the uid and pid that ran it in a world-writable folder, so the test
# can tell where it ran: in the sandbox (the sandbox user, another pid) and never in the grading process.

FAKE_RESULTS = "/autograder/results/results.json"


def _code_pickle(drop: Path, source: str) -> bytes:
    """A pickle whose loading runs ``source`` (after defining mark(tag)) and returns its variable ``result``."""
    marker = f"os.path.join({str(drop)!r}, f'{{tag}}-uid{{os.getuid()}}-pid{{os.getpid()}}')"
    prelude = f"import os\ndef mark(tag):\n    open({marker}, 'w').close()\n"
    expression = f"(lambda ns: (exec({prelude + source!r}, ns), ns.get('result'))[1])({{}})"

    class Payload:
        def __reduce__(self):
            return eval, (expression,)
    return pickle.dumps(Payload(), protocol=2)


def _markers(drop: Path) -> list:
    """(tag, uid, pid) of every marker the payloads left."""
    found = []
    for path in sorted(drop.iterdir()):
        tag, uid, pid = path.name.rsplit("-", 2)
        found.append((tag, int(uid[len("uid"):]), int(pid[len("pid"):])))
    return found


def _assert_never_ran_in_the_grader(drop: Path) -> None:
    for tag, uid, pid in _markers(drop):
        assert pid != os.getpid(), f"the grading process itself ran the payload ({tag})"
        if os.geteuid() == 0:
            assert uid != 0, f"the payload ran as root ({tag}), not as the sandbox user"


@pytest.fixture
def drop_folder(public_tmp):
    """A world-writable folder (sticky, like /tmp) the sandbox user can leave markers in."""
    drop = public_tmp / "drop"
    drop.mkdir()
    drop.chmod(0o1777)
    return drop


def _file_state(path: str):
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        return type(exc).__name__


CHECKPOINT_PAYLOADS = {
    "loop": "mark('loop')\nwhile True:\n    pass\n",
    # Plant a fake results.json where the grader writes its own and on Gradescope's path, now and (from a forked child
    # that outlives the unpickling) once more after a pause.
    "write_results": '''
import json, time
fake = {"score": 1000, "tests": []}
def plant(tag):
    for i, path in enumerate(PATHS):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                json.dump(fake, handle)
            mark(f"{tag}wrote{i}")
        except OSError:
            pass
mark("write")
plant("early")
if os.fork() == 0:
    try:
        os.setsid()
        time.sleep(1.0)
        mark("late")
        plant("late")
    finally:
        os._exit(0)
result = None
''',
    # Read the solutions and a trained reference checkpoint from the source tree and return arrays.
    "read_solutions": '''
import glob, pickle
import numpy as np
result = None
for path in glob.glob(CHECKPOINTS):
    try:
        with open(path, "rb") as handle:
            result = pickle.load(handle)
        mark("readok")
    except OSError:
        pass
try:
    with open(SOLUTION) as handle:
        handle.read()
    mark("readok")
except OSError:
    mark("readrefused")
if result is None:
    result = {"W1": np.zeros((3072, 8)), "b1": np.zeros(8), "W2": np.zeros((8, 10)), "b2": np.zeros(10)}
''',
}


@pytest.mark.data
@pytest.mark.parametrize("case", sorted(CHECKPOINT_PAYLOADS))
def test_code_running_checkpoint_earns_nothing_and_runs_only_in_the_sandbox(case, student_tree, kit_files,
                                                                            short_limits, cifar10_dir, drop_folder,
                                                                            tmp_path):
    if case == "read_solutions" and _isolation_gap():
        pytest.skip(f"isolation reduced ({_isolation_gap()}): the cheat would work, as the grading output says")
    out_path = tmp_path / "results" / "results.json"
    source = CHECKPOINT_PAYLOADS[case]
    source = source.replace("PATHS", repr([str(out_path), FAKE_RESULTS]))
    source = source.replace("CHECKPOINTS", repr(str(paths.REPO / ".cache" / "reference-artifacts" / "checkpoint-*"
                                                     / "checkpoint.pkl")))
    source = source.replace("SOLUTION", repr(str(KIT_FILES["two_layer_net.py"])))
    folder = reference_submission(tmp_path / "mallory", {"checkpoint.pkl": _code_pickle(drop_folder, source)})
    fake_before = _file_state(FAKE_RESULTS)
    start = time.monotonic()
    rows = graded_rows(folder, "section1_training", out_path, student_tree)
    written = out_path.read_bytes()
    row = rows["checkpoint_accuracy"]
    assert row["score"] == 0 and row["status"] == "failed", row["output"]
    if case == "read_solutions":
        assert "checkpoint.pkl: CIFAR-10 test accuracy 10.00 %" in row["output"], row["output"]
    else:
        assert row["output"].startswith("checkpoint.pkl: could not be loaded: "), row["output"]
    if case == "loop":
        assert "timed out" in row["output"], row["output"]
    if case == "write_results":
        time.sleep(max(0.0, 2.0 - (time.monotonic() - start)))  # past the forked child's pause: it must be dead
    assert out_path.read_bytes() == written  # still the grader's results.json
    assert _file_state(FAKE_RESULTS) == fake_before
    tags = [tag for tag, _, _ in _markers(drop_folder)]
    assert {"loop": "loop", "write_results": "write", "read_solutions": "readrefused"}[case] in tags, tags
    assert "late" not in tags and "readok" not in tags, tags
    if os.geteuid() == 0:  # the sandbox user can write neither the grader's results folder nor /autograder
        assert not [tag for tag in tags if "wrote" in tag], tags
    _assert_never_ran_in_the_grader(drop_folder)


@pytest.mark.data
def test_pickled_part1_model_earns_nothing_and_never_runs_in_the_grader(fashion_mnist_root, drop_folder, tmp_path):
    """part1_model.pt laid out like torch.save's zip but with a code-running pickle instead of TorchScript."""
    payload = _code_pickle(drop_folder, "mark('part1')\nresult = {'weight': [0.0] * 10}\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("archive/data.pkl", payload)
        zipped.writestr("archive/version", "3\n")
        zipped.writestr("archive/byteorder", "little")
    folder = tmp_path / "mallory"
    folder.mkdir()
    (folder / "part1_model.pt").write_bytes(archive.getvalue())
    rows = graded_rows(folder, "section2_notebooks", tmp_path / "results" / "results.json")
    row = rows["part1_accuracy"]
    assert row["score"] == 0 and row["status"] == "failed", row["output"]
    assert "part1_model.pt could not be evaluated (error): " in row["output"], row["output"]
    assert sum(t["score"] for t in rows.values()) == 0
    _assert_never_ran_in_the_grader(drop_folder)
