"""The written report: its Markdown and LaTeX templates (shipped in the student kit under report/) and the manual
grading rubric for instructors (docs/manual-rubric.md), all three generated from the one list ``rubric.REPORT``.

The templates' sections and the manual rubric's items are the same, in the same order, with the same points, so the
Gradescope PDF assignment's outline can be set up from docs/manual-rubric.md (one question per item) and a student's
PDF made from the template maps onto it page by page. ``python -m autograder build`` regenerates them
(autograder/build/texts.py); tests/test_report.py checks that they match.
"""
from __future__ import annotations

from typing import List

from autograder.grading import rubric

HEADER = ("The homework report: fill in every section, in this order (the Gradescope outline follows it), and hand in "
          "the PDF.")


def _overfit() -> str:
    return f"{rubric.OVERFIT_TRAIN_ACCURACY:g} %"


def _best() -> str:
    return f"{rubric.THRESHOLDS['checkpoint_accuracy']['full']:g} %"


def section_title(item: rubric.ReportItem) -> str:
    return f"{item.number} {item.title} ({item.points:g} points)"


def template_markdown() -> str:
    items = rubric.report_items()
    lines = [f"<!-- {HEADER} -->", "# Homework report", "",
             "Name: ...  ", "Uniqname: ...", "",
             "Fill in each section below, in this order, one section per page, and export to PDF (e.g. "
             "`pandoc report-template.md -o report.pdf`, or use report-template.tex). Upload the PDF to the "
             "Gradescope *report* assignment and assign each section to its question.", ""]
    for item in items:
        lines += [f"## {section_title(item)}", ""]
        lines += [f"- [ ] {ask}" for ask in item.asks]
        lines += [""] + _md_body(item) + [""]
    lines.append(f"Total: {rubric.report_points():g} points.")
    return "\n".join(lines) + "\n"


def _md_body(item: rubric.ReportItem) -> List[str]:
    if item.title.startswith("Computational graph"):
        return ["![computational graph of f4](f4-graph.png)", "",
                "f4(...) = ... (your formula; at least 5 operators)"]
    if item.title.startswith("Training the two-layer"):
        return ["![best model: loss and accuracy](plot.pdf)", "", "![overfit setting](overfit.pdf)", "",
                "What the curves show: ..."]
    if item.title.startswith("Hyper-parameters"):
        return ["| | best model | overfit model |", "|---|---|---|",
                "| hidden size | | |", "| learning rate | | |", "| L2 strength | | |", "| batch size | | |",
                "| epochs | | |", "| weight scale | | |", "| learning-rate decay | | |",
                f"| accuracy | test: ... % (target {_best()} validation) | training: ... % (target {_overfit()}) |"]
    if item.title.startswith("part1"):
        return ["Architecture (model summary):", "", "```", "paste the summary printed by part1.ipynb", "```", "",
                "| batch size | epochs | optimizer | learning rate | weight decay | scheduler |",
                "|---|---|---|---|---|---|", "| | | | | | |", "", "![part1 accuracy plot](part1.png)", "",
                "Fashion-MNIST test accuracy: ... %"]
    if item.title.startswith("part2"):
        return ["![img1 and its predictions](part2-img1.png)", "", "![img2 and its predictions](part2-img2.png)", "",
                "img1 (name): label (p = ...)  ", "img2 (name): label (p = ...)", "",
                "Why img2 is wrong: ..."]
    return ["..."]


def _tex(text: str) -> str:
    out = text
    for old, new in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"),
                     ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"),
                     ("^", r"\textasciicircum{}")):
        if old == "\\":
            out = out.replace(old, "\0")
        elif old in ("{", "}"):
            out = out.replace(old, new)
        else:
            out = out.replace(old, new)
    out = out.replace("\0", r"\textbackslash{}")
    # `code` -> \texttt{code}
    parts = out.split("`")
    return "".join(p if i % 2 == 0 else r"\texttt{" + p + "}" for i, p in enumerate(parts))


def _tex_body(item: rubric.ReportItem) -> List[str]:
    if item.title.startswith("Computational graph"):
        return [r"% \includegraphics[width=\linewidth]{f4-graph.png}", r"$f_4(\dots) = \dots$"]
    if item.title.startswith("Training the two-layer"):
        return [r"\includegraphics[width=0.48\linewidth]{plot.pdf}\hfill",
                r"\includegraphics[width=0.48\linewidth]{overfit.pdf}", "", "What the curves show: \\dots"]
    if item.title.startswith("Hyper-parameters"):
        rows = ["hidden size", "learning rate", "L2 strength", "batch size", "epochs", "weight scale",
                "learning-rate decay"]
        return ([r"\begin{tabular}{lll}", r"\hline", r" & best model & overfit model \\", r"\hline"]
                + [f"{row} & & \\\\" for row in rows]
                + [f"accuracy & test: \\dots\\ \\% (target {_tex(_best())} validation) & training: \\dots\\ \\% "
                   f"(target {_tex(_overfit())}) \\\\", r"\hline", r"\end{tabular}"])
    if item.title.startswith("part1"):
        return [r"\begin{verbatim}", "paste the summary printed by part1.ipynb", r"\end{verbatim}", "",
                r"\begin{tabular}{llllll}", r"\hline",
                r"batch size & epochs & optimizer & learning rate & weight decay & scheduler \\", r"\hline",
                r" & & & & & \\", r"\hline", r"\end{tabular}", "",
                r"\includegraphics[width=0.7\linewidth]{part1.png}", "",
                r"Fashion-MNIST test accuracy: \dots\ \%"]
    if item.title.startswith("part2"):
        return [r"\includegraphics[width=0.48\linewidth]{part2-img1.png}\hfill",
                r"\includegraphics[width=0.48\linewidth]{part2-img2.png}", "",
                r"img1 (name): label ($p = \dots$)\\", r"img2 (name): label ($p = \dots$)", "",
                r"Why img2 is wrong: \dots"]
    return [r"\dots"]


def template_latex() -> str:
    lines = [f"% {HEADER}", r"\documentclass[11pt]{article}", r"\usepackage[margin=2cm]{geometry}",
             r"\usepackage{graphicx}", r"\usepackage{amssymb}", r"\title{Homework report}",
             r"\author{Name \and Uniqname}", r"\begin{document}", r"\maketitle", "",
             "% One section per page, in this order: assign each to its question on Gradescope.", ""]
    for index, item in enumerate(rubric.report_items()):
        if index:
            lines.append(r"\clearpage")
        lines += [f"\\section*{{{_tex(section_title(item))}}}", r"\begin{itemize}"]
        lines += [f"  \\item[$\\square$] {_tex(ask)}" for ask in item.asks]
        lines += [r"\end{itemize}", ""] + _tex_body(item) + [""]
    lines += [f"% Total: {rubric.report_points():g} points.", r"\end{document}"]
    return "\n".join(lines) + "\n"


def manual_rubric_markdown() -> str:
    """The instructors' manual rubric: one Gradescope question per report section, its points and checklist."""
    lines = ["| question | section of the report | points | full marks when the section shows |", "|---|---|---|---|"]
    for index, item in enumerate(rubric.report_items(), start=1):
        checklist = "<br>".join(f"☐ {ask}" for ask in item.asks)
        lines.append(f"| {index} | {item.number} {item.title} | {item.points:g} | {checklist} |")
    lines.append(f"| | **total** | **{rubric.report_points():g}** | |")
    return "\n".join(lines)


def outline() -> List[tuple]:
    """(question title, points) in order: what the Gradescope outline, both templates and the manual rubric share."""
    return [(f"{item.number} {item.title}", item.points) for item in rubric.report_items()]
