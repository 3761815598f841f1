"""One convention for totals everywhere: the homework's maximum, with extra credit in its own line and column."""
from __future__ import annotations

from autograder.grading import rubric, runner


def _rows(scale: float) -> list:
    return [{"number": item.number, "score": item.points * scale, "max_score": item.points,
             "visibility": "visible", "name": item.name, "status": "passed", "output": ""}
            for item in rubric.RUBRIC.values()]


def test_totals_keep_extra_credit_on_top_of_the_homework_maximum():
    rows = _rows(1.0)
    score, maximum, extra, extra_max = rubric.split_totals(rows)
    assert maximum == rubric.total_points() and extra_max == rubric.extra_credit_points()
    assert score == maximum and extra == extra_max
    text = rubric.totals_text(rows)
    assert text.startswith(f"{rubric.total_points():g} / {rubric.total_points():g}")
    if rubric.extra_credit_points():
        assert text.endswith(f"+ extra credit {rubric.extra_credit_points():g} / {rubric.extra_credit_points():g}")
    top = runner._results(rows, 1.0, [])["output"]
    assert f"/ {rubric.total_points():g}" in top.replace(".0 ", " ") or f"/ {rubric.total_points():.2f}" in top, top
    both = rubric.total_points() + rubric.extra_credit_points()
    if rubric.extra_credit_points():
        assert f"/ {both:g}" not in top, top  # never the homework and the extra credit summed into one maximum
