"""The autograd graded tests (checks/autograd_framework.py, rubric rows 10.1-10.8): the reference earns full marks,
the generated stubs earn 0 with "not attempted", each single-bug mutant (tests/mutants/autograd.py) loses points in
its row (and only in the rows that run the mutated code), a framework importing torch gets 0."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from autograder import paths
from autograder.grading import rubric, runner

MODULE = "autograd_framework"
ITEMS = [k for k, item in rubric.RUBRIC.items() if item.check == MODULE]
NUMBER_TO_ID = {item.number: k for k, item in rubric.RUBRIC.items()}
FILES = {"autograd/tensor.py": "autograd_tensor.py", "autograd/nn.py": "autograd_nn.py",
         "autograd/optim.py": "autograd_optim.py"}


def _load_mutants():
    spec = importlib.util.spec_from_file_location("autograd_mutants", Path(__file__).parent / "mutants" / "autograd.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


MUTANTS = _load_mutants()


def make_submission(folder: Path, tree: Path, edits=None, with_tests=False) -> Path:
    """The three framework files (and with_tests, the test file: its row runs pytest 13 times, so only when needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = dict(FILES, **({"autograd/test_autograd.py": "test_autograd.py"} if with_tests else {}))
    for relative, name in files.items():
        text = (tree / relative).read_text()
        for old, new in (edits or {}).get(relative, []):
            assert text.count(old) == 1, f"mutant text {old!r} occurs {text.count(old)} times in {relative}"
            text = text.replace(old, new)
        (folder / name).write_text(text)
    return folder


def grade(submission: Path, student_tree: Path) -> dict:
    results = runner.grade_folder(submission, modules=[MODULE], given_dir=student_tree)
    return {NUMBER_TO_ID[t["number"]]: (t["score"], t["max_score"], t.get("output", ""))
            for t in results["tests"] if t.get("number") in NUMBER_TO_ID}


def test_part_is_extra_credit_and_rows_exist():
    assert rubric.PARTS["autograd"].extra_credit
    assert len(ITEMS) == 9
    assert rubric.total_points() == sum(i.points for i in rubric.RUBRIC.values() if i.part != "autograd" and
                                        not rubric.PARTS[i.part].extra_credit)


def test_reference_full_marks(tmp_path, student_tree):
    rows = grade(make_submission(tmp_path / "ref", paths.KIT, with_tests=True), student_tree)
    assert set(rows) == set(ITEMS)
    for item_id, (score, max_score, output) in rows.items():
        assert score == max_score, f"{item_id}: {score}/{max_score}\n{output}"


def test_stubs_zero_not_attempted(tmp_path, student_tree):
    rows = grade(make_submission(tmp_path / "stub", student_tree, with_tests=True), student_tree)
    for item_id, (score, max_score, output) in rows.items():
        assert score == 0, f"{item_id}: {score}/{max_score}\n{output}"
        assert "not attempted" in output and "Traceback" not in output, output


def test_missing_files_grade_as_stubs(tmp_path, student_tree):
    (tmp_path / "empty").mkdir()
    rows = grade(tmp_path / "empty", student_tree)
    assert all(score == 0 for score, _, _ in rows.values())


@pytest.mark.parametrize("mutant", MUTANTS.MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_points_where_expected(tmp_path, student_tree, mutant):
    rows = grade(make_submission(tmp_path / "sub", paths.KIT, edits={mutant.file: list(mutant.edits)}), student_tree)
    rows.pop("ag_student_tests")  # no test file handed in here (graded in tests/test_autograd_chaffs.py)
    for item_id, (score, max_score, output) in rows.items():
        if item_id in mutant.loses:
            assert score < max_score, f"{mutant.name}: {item_id} kept {score}/{max_score}\n{output}"
            assert score > 0 or item_id == "ag_graph", f"{mutant.name}: {item_id} no partial credit\n{output}"
            assert "Traceback" not in output
        elif item_id not in mutant.may_lose:
            assert score == max_score, f"{mutant.name}: {item_id} lost points: {score}/{max_score}\n{output}"
    if not mutant.loses:
        assert all(score == max_score for score, max_score, _ in rows.values()), rows
    failing = "\n".join(rows[i][2] for i in mutant.loses).lower()
    for text in mutant.says:
        assert text.lower() in failing, f"{mutant.name}: {text!r} not in\n{failing}"


def test_torch_import_scores_zero(tmp_path, student_tree):
    sub = make_submission(tmp_path / "torchy", paths.KIT)
    path = sub / "autograd_nn.py"
    path.write_text("import torch\n" + path.read_text())
    rows = grade(sub, student_tree)
    rows.pop("ag_student_tests")  # no test file handed in
    for item_id, (score, _, output) in rows.items():
        assert score == 0 and "numpy only" in output, f"{item_id}: {output}"


def test_an_op_bug_is_named_as_the_cause_in_later_rows(tmp_path, student_tree):
    edits = {"autograd/tensor.py": [("(g * (1.0 - data * data),)", "(g * (1.0 - data),)")]}
    rows = grade(make_submission(tmp_path / "tanh", paths.KIT, edits=edits), student_tree)
    assert rows["ag_functions"][0] < rows["ag_functions"][1]
    number = rubric.RUBRIC["ag_functions"].number
    for row in ("ag_nn",):  # its Sequential has a Tanh
        score, max_score, output = rows[row]
        assert score < max_score and f"fails {number}: fix that first" in output, output
