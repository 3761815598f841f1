"""What students see before grades are published never depends on a hidden or later-shown row (issue 9 section 1),
and the summary reads well: scores rounded, grammatical counts, messages never cut (issue 8 section 2).

The leak tests grade two layers.py submissions that differ only in the hidden edge-case check (2.7): everything a
student sees at once (results.json's top-level output, the visible rows, the text table without --show-hidden) must
be identical.
"""
from __future__ import annotations


import pytest

from autograder import cli, paths
from autograder.grading import rubric, runner

HIDDEN_ID = "layers_edge_cases"
# fc_forward wrong only for one-row batches: only the edge-case check (N = 1) sees it in section1_layers.
N1_BUG = ("    out = x @ w + b\n", "    out = x @ w + b\n    if x.shape[0] == 1:\n        out = out + 1.0\n")


def _layers_submission(folder, bug: bool):
    folder.mkdir(parents=True)
    text = (paths.KIT / "neuralnet" / "layers.py").read_text()
    if bug:
        assert text.count(N1_BUG[0]) == 1
        text = text.replace(*N1_BUG)
    (folder / "layers.py").write_text(text)
    return folder


def _student_view(results: dict) -> tuple:
    visible = [t for t in results["tests"] if t["visibility"] == "visible"]
    return results["output"], visible, cli.format_table(results, show_hidden=False)


@pytest.fixture(scope="module")
def graded_pair(student_tree, tmp_path_factory):
    base = tmp_path_factory.mktemp("leak")
    right = runner.grade_folder(_layers_submission(base / "right", False), modules=["section1_layers"],
                                given_dir=student_tree)
    wrong = runner.grade_folder(_layers_submission(base / "wrong", True), modules=["section1_layers"],
                                given_dir=student_tree)
    return right, wrong


@pytest.mark.skipif(rubric.RUBRIC.get(HIDDEN_ID) is None or rubric.RUBRIC[HIDDEN_ID].visibility == "visible",
                    reason="the rubric has no hidden edge-case row")
def test_hidden_row_result_does_not_leak(graded_pair):
    right, wrong = graded_pair
    rows = {t["number"]: t for t in wrong["tests"]}
    hidden_row = rows[rubric.RUBRIC[HIDDEN_ID].number]
    assert hidden_row["score"] < hidden_row["max_score"]  # the two submissions do differ, in the hidden row only
    assert {t["number"]: t["score"] for t in right["tests"]}[hidden_row["number"]] == hidden_row["max_score"]
    assert _student_view(right) == _student_view(wrong)
    hidden = sum(1 for item in rubric.RUBRIC.values() if item.check == "section1_layers" and item.visibility == "hidden")
    assert f"{runner.count_phrase(hidden)} hidden" in right["output"]
    total_visible = sum(t["max_score"] for t in right["tests"] if t["visibility"] == "visible")
    assert f"/ {runner.format_score(total_visible)}." in right["output"]
    assert f"/ {runner.format_score(sum(t['max_score'] for t in right['tests']))}." not in right["output"]


def test_after_due_date_row_is_worded_as_such_and_does_not_leak(student_tree, tmp_path, patch_part):
    patch_part.row(HIDDEN_ID, visibility="after_due_date")
    views = []
    for bug in (False, True):
        results = runner.grade_folder(_layers_submission(tmp_path / f"s{bug}", bug), modules=["section1_layers"],
                                      given_dir=student_tree)
        runner.validate(results)
        assert "1 check is shown after the due date." in results["output"]
        assert "published" not in results["output"]
        views.append(_student_view(results))
    assert views[0] == views[1]


def _row(number, score, max_score, visibility="visible", output="", status=None):
    return {"number": number, "name": f"check {number}", "score": score, "max_score": max_score,
            "visibility": visibility, "output": output,
            "status": status or ("passed" if score == max_score else "failed")}


def test_scores_shown_rounded():
    assert runner.format_score(85.714285) == "85.71"
    assert runner.format_score(6.0) == "6" and runner.format_score(0.5) == "0.5" and runner.format_score(0) == "0"
    rows = [_row("1.1", 4.285714, 6), _row("1.2", 2, 2)]
    out = runner._top_output(rows, [])
    assert out.splitlines()[0] == "Autograder score: 6.29 / 8."
    table = cli.format_table({"score": 6.285714, "tests": rows, "output": out})
    assert "4.2857" not in table and "4.29/6" in table and "Total: 6.29 / 8" in table


def test_row_scores_are_stored_rounded(monkeypatch):
    item_id = next(iter(rubric.RUBRIC))
    raw = [{"_id": item_id, "score": rubric.RUBRIC[item_id].points * 5 / 7, "status": "failed", "output": "x"}]
    rows = runner._finish_rows(raw, [item_id], {})
    assert rows[0]["score"] == round(rubric.RUBRIC[item_id].points * 5 / 7, 2)


def test_hidden_count_is_grammatical():
    one = runner._top_output([_row("1", 1, 1), _row("2", 0, 1, "hidden")], [])
    two = runner._top_output([_row("1", 1, 1), _row("2", 0, 1, "hidden"), _row("3", 1, 1, "hidden")], [])
    assert "1 check is hidden" in one and "its points" in one
    assert "2 checks are hidden" in two and "their points" in two
    assert "1 checks" not in one + two and "2 check " not in two
    published = runner._top_output([_row("1", 1, 1), _row("2", 0, 1, "after_published")], [])
    assert "1 check is shown once grades are published." in published
    assert runner._top_output([_row("1", 1, 2)], []).splitlines() == ["Autograder score: 1 / 2."]


def test_table_never_cuts_the_expected_and_got_part():
    message = ("fc_backward: grad_w wrong for x (4, 5), w (5, 3): max abs error 1.234e+00 at [2, 1] "
               "(expected 0.731245, got -0.503112; tolerance 1e-07); and a long tail of words so that the line "
               "goes well past any table width: expected 1.5 got 2.5 END")
    rows = [_row("2.2", 0, 6, output=message + "\n  right: grad_x, grad_b.")]
    table = cli.format_table({"score": 0, "tests": rows, "output": ""})
    assert " ".join(table.split()).count(" ".join(message.split())) == 1
    assert "right: grad_x, grad_b." in table
    assert max(len(line) for line in table.splitlines()) <= cli.TABLE_WIDTH + 10


def test_table_without_hidden_rows_depends_on_visible_rows_only():
    visible = [_row("1", 1, 2)]
    a = {"score": 1, "tests": visible + [_row("2", 0, 5, "hidden")], "output": ""}
    b = {"score": 6, "tests": visible + [_row("2", 5, 5, "hidden")], "output": ""}
    assert cli.format_table(a) == cli.format_table(b)
    assert "1 more check is not listed" in cli.format_table(a)
    assert "check 2" in cli.format_table(a, show_hidden=True)
