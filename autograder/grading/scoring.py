"""How a row's sub-checks become its score and its feedback (every row, notebooks included, scores this way).

A check collects weighted sub-checks in :class:`Checks` (``add(label, weight, problem)``: ``problem`` None when
right, else the full student-facing line); :func:`finish` turns them into the row's score, ``points x passed weight /
total weight``, and its report: the failures, then which sub-checks are right. When a row fails and a row it depends
on failed too (``Row.depends_on`` in the part's declaration, followed transitively), the report starts with that
cause: "your fc_backward fails 2.2: fix that first". Whether the upstream row failed is what grading it on this
submission gave (the session's row results: rows run in number order), not a guess.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence

from autograder.grading import rubric


@dataclass
class _Item:
    label: str
    weight: float
    problem: Optional[str]


RIGHT_LISTED = 6  # sub-checks named in "right: ..."; more are counted


@dataclass
class Checks:
    """The weighted sub-checks of one graded test.

    ``add(label, weight, problem)`` records one sub-check (``problem`` None = right; otherwise the full
    student-facing line). ``fraction`` is the passed weight over the total weight.
    """
    subject: str  # e.g. "fc_backward": starts every message
    items: List[_Item] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    causes: List[str] = field(default_factory=list)  # knock-on lines shown first (see knock_on_causes)

    def add(self, label: str, weight: float, problem: Optional[str]) -> bool:
        problem = problem or None  # "" and a falsy `a and b` result both mean "right"
        if problem is not None and not isinstance(problem, str):
            raise TypeError(f"a sub-check's problem must be a str or None, not {type(problem).__name__}")
        self.items.append(_Item(label, float(weight), problem))
        return problem is None

    def fail(self, label: str, weight: float, detail: str) -> None:
        """A failed sub-check; ``detail`` follows '<subject>: '."""
        self.add(label, weight, f"{self.subject}: {detail}.")

    def note(self, text: str) -> None:
        """An extra hint line shown after the failures."""
        self.notes.append(text)

    @property
    def fraction(self) -> float:
        total = sum(item.weight for item in self.items)
        if total <= 0:
            return 0.0
        return sum(item.weight for item in self.items if item.problem is None) / total

    def passed(self) -> List[str]:
        return [item.label for item in self.items if item.problem is None]

    def report(self) -> str:
        """The failure lines, then which sub-checks are right (so the student knows where to look)."""
        lines = list(self.causes)
        for item in self.items:
            if item.problem is not None and item.problem not in lines:
                lines.append(item.problem)
        right = self.passed()
        if lines and right:
            # a long list of what is right hides what is wrong: past RIGHT_LISTED names, a count
            lines.append(f"  right: {', '.join(right)}." if len(right) <= RIGHT_LISTED else
                         f"  right: {len(right)} of {len(self.items)} checks.")
        if not lines:
            lines.append(f"{self.subject}: all checks passed ({', '.join(right)})." if len(right) <= RIGHT_LISTED
                         else f"{self.subject}: all {len(right)} checks passed.")
        if not not_attempted_everywhere(self):  # hints about a stub's details would only distract
            lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)


def not_attempted_everywhere(checks: Checks) -> bool:
    """Whether every failed sub-check is a stub (so the report can be a single 'not attempted' line)."""
    return bool(checks.items) and all(item.problem is not None and "not attempted" in item.problem
                                      for item in checks.items)


def upstream_rows(item_id: str) -> List[str]:
    """Every row ``item_id`` depends on (Row.depends_on), directly or not (rubric ids, each once)."""
    seen: List[str] = []
    todo = list(rubric.ALL_ITEMS[item_id].depends_on) if item_id in rubric.ALL_ITEMS else []
    while todo:
        row = todo.pop(0)
        if row not in seen:
            seen.append(row)
            todo.extend(rubric.ALL_ITEMS[row].depends_on if row in rubric.ALL_ITEMS else ())
    return seen


def knock_on_causes(session, item_id: str, upstream: Optional[Sequence[str]] = None) -> List[str]:
    """One line per upstream row that failed on this submission and is itself not a knock-on of another failure.

    Args:
        session: the grading (its row results so far).
        item_id: the failing row.
        upstream: the direct dependencies to consider (default: the row's depends_on); e.g. only the functions whose
            sub-checks failed.
    Rows not graded in this run (say, only one check module ran) are not known to have failed, so they are not named.
    """
    direct = rubric.ALL_ITEMS[item_id].depends_on if upstream is None else tuple(upstream)
    closure: List[str] = []
    for row in direct:
        for r in [row] + upstream_rows(row):
            if r not in closure:
                closure.append(r)
    failed = [r for r in closure if session is not None and session.row_passed(r) is False]
    roots = [r for r in failed if not set(upstream_rows(r)) & set(failed)]
    roots.sort(key=lambda r: rubric.number_key(rubric.ALL_ITEMS[r].number))
    lines = []
    for r in roots:
        row = rubric.ALL_ITEMS[r]
        lines.append(f"your {row.function or r} fails {row.number}: fix that first (this check runs it, so its "
                     "mistake shows here too).")
    return lines


def finish(case: Any, checks: Checks, set_score: Any, item_id: str,
           upstream: Optional[Sequence[str]] = None) -> None:
    """Score a graded test from its sub-checks and report: partial credit through ``set_score``, and a failure with
    the report when anything is wrong (the report is printed when all is right).

    A failing row whose upstream rows (Row.depends_on; ``upstream`` narrows them) failed too names them first.
    Knock-on rows still charge their own points: each row grades what works end to end, and one fix restores them all.
    """
    points = rubric.RUBRIC[item_id].points
    fraction = checks.fraction
    if set_score is not None:
        set_score(round(points * fraction, 4))
    if fraction < 1.0 and not not_attempted_everywhere(checks):
        checks.causes = knock_on_causes(getattr(case, "session", None), item_id, upstream)
    report = checks.report()
    if fraction < 1.0:
        case.fail_with(report)
    print(report)


def threshold_score(accuracy: float, points: float, thresholds) -> float:
    """Points for a test accuracy (percent): full above ``full`` (at or above when not strict), linear from
    ``partial`` up to ``full``, nothing below ``partial``."""
    full, partial = thresholds["full"], thresholds["partial"]
    if accuracy > full or (accuracy >= full and not thresholds.get("strict", False)):
        return points
    if accuracy < partial:
        return 0.0
    # Partial credit stays below full points, so "strictly above" still matters at exactly `full`.
    return min(points * (accuracy - partial) / (full - partial), points - 0.01)
