"""Hostile submissions, graded end to end against the graded tests that exist: no unearned points, and always a
valid results.json.

A hostile submission is the generated student tree's files with one file replaced. Most cases replace
``functions.py`` (graded by test_backprop; the reference is in kit/backprop/functions.py) with code that attacks the
grader and then tries to earn the points by cheating: running the reference solution read from the source tree.
The assertions do not depend on which graded tests exist: "the hostile file's items score 0", "results.json is
valid, complete and the grader's own".
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder import paths
from autograder.grading import rubric, runner, sandbox

HOSTILE_FILE = "functions.py"
HOSTILE_MODULE = "test_backprop"
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
    "patch_grader": (
        "import sys\n"
        f"sys.path.insert(0, {str(paths.REPO)!r})\n"
        "try:\n"
        "    import autograder.grading.runner as runner\n"
        "    runner.validate = lambda results: None\n"
        "    from autograder.grading import reference\n"
        "    f1, f2, f3 = reference.backprop().f1, reference.backprop().f2, reference.backprop().f3\n"
        "except Exception:\n"
        "    pass\n" + CHEAT),
    "read_solutions": CHEAT,
}


@pytest.fixture(scope="module")
def student_tree(tmp_path_factory):
    """A freshly generated student tree (the given files of every workspace)."""
    from autograder.build import kits
    dst = tmp_path_factory.mktemp("student")
    try:
        kits.build_student(dst)
    except Exception as exc:  # the kit is being written by others; say why instead of failing here
        pytest.skip(f"student tree could not be built from kit/: {type(exc).__name__}: {exc}")
    return dst


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
    return {item.number: item_id for item_id, item in rubric.RUBRIC.items() if item.module == module}


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
    if (paths.REPO / "autograder" / "grading" / "graded_tests" / f"{HOSTILE_MODULE}.py").is_file():
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
    """Docker on Gradescope usually refuses mount namespaces: then file permissions alone must keep kit/ away."""
    root = public_tmp / "autograder"
    source = root / "source"
    source.mkdir(parents=True)
    (root / "results").mkdir()
    shutil.copytree(paths.REPO / "autograder", source / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(paths.KIT, source / "kit", ignore=shutil.ignore_patterns("__pycache__", "*.pkl", "*.pt"))
    shutil.copytree(student_tree, source / "student")
    reference = source / "kit" / "backprop" / "functions.py"
    if not reference.is_file():
        pytest.skip("kit/backprop/functions.py not written yet")
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
