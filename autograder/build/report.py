"""The written report: its Markdown and LaTeX templates (shipped in the student kit under report/) and the manual
grading rubric for instructors (docs/manual-rubric.md), all three generated from the enabled parts' ``report``
sections (``ReportItem`` in autograder/parts/<part>.py).

The templates' sections and the manual rubric's items are the same, in the same order, with the same points, so the
Gradescope PDF assignment's outline can be set up from docs/manual-rubric.md (one question per item) and a student's
PDF made from the template maps onto it page by page. Each section shows its figures (a box saying which file to add
while one is missing, so the LaTeX template compiles as shipped), then its body. ``python -m autograder build``
regenerates them (autograder/build/texts.py); tests/test_report.py checks that they match.
"""
from __future__ import annotations

from typing import List

from autograder.grading import rubric

HEADER = ("The homework report: fill in every section, in this order (the Gradescope outline follows it), and hand in "
          "the PDF.")


def question(index: int, item: rubric.ReportItem) -> str:
    """"Q5. part2: ... (rows 5.3/5.4)": questions are numbered Q1, Q2, ... so that they never read as the
    autograder's row numbers, which they name in brackets."""
    return f"Q{index}. {item.title} (rows {item.number})"


def section_title(index: int, item: rubric.ReportItem) -> str:
    return f"{question(index, item)} ({item.points:g} points)"


def template_markdown() -> str:
    items = rubric.report_items()
    lines = [f"<!-- {HEADER} -->", "# Homework report", "",
             "Name: ...  ", "Uniqname: ...", "",
             "Fill in each section below, in this order, one section per page, and export to PDF (e.g. "
             "`pandoc report-template.md -o report.pdf`, or use report-template.tex). Upload the PDF to the "
             "Gradescope *report* assignment and assign each section to its question.", ""]
    for index, item in enumerate(items, start=1):
        lines += [f"## {section_title(index, item)}", ""]
        lines += [f"- [ ] {ask}" for ask in item.asks]
        lines += [""]
        for name, source in item.figures:
            lines += [f"![{name}: {source}]({name})", ""]
        lines += (item.markdown() if item.markdown else ["..."]) + [""]
    lines.append(f"Total: {rubric.report_points():g} points.")
    return "\n".join(lines) + "\n"


def _tex(text: str) -> str:
    out = text.replace("\\", "\0")
    for old, new in (("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"), ("_", r"\_"), ("{", r"\{"),
                     ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}")):
        out = out.replace(old, new)
    out = out.replace("\0", r"\textbackslash{}")
    # `code` -> \texttt{code}
    parts = out.split("`")
    return "".join(p if i % 2 == 0 else r"\texttt{" + p + "}" for i, p in enumerate(parts))


def _tex_figure(name: str, source: str, width: str) -> str:
    """The figure when its file is there, else a box naming the file to add: the template compiles either way."""
    return (f"\\IfFileExists{{{name}}}{{\\includegraphics[width={width}\\linewidth]{{{name}}}}}"
            f"{{\\fbox{{\\parbox{{{width}\\linewidth}}{{\\centering\\vspace{{2em}}add {_tex(name)} ({_tex(source)})"
            f"\\vspace{{2em}}}}}}}}")


def template_latex() -> str:
    lines = [f"% {HEADER}", r"\documentclass[11pt]{article}", r"\usepackage[margin=2cm]{geometry}",
             r"\usepackage{graphicx}", r"\usepackage{amssymb}", r"\title{Homework report}",
             r"\author{Name \and Uniqname}", r"\begin{document}", r"\maketitle", "",
             "% One section per page, in this order: assign each to its question on Gradescope.", ""]
    for index, item in enumerate(rubric.report_items(), start=1):
        if index > 1:
            lines.append(r"\clearpage")
        lines += [f"\\section*{{{_tex(section_title(index, item))}}}", r"\begin{itemize}"]
        lines += [f"  \\item[$\\square$] {_tex(ask)}" for ask in item.asks]
        lines += [r"\end{itemize}", ""]
        width = "0.48" if len(item.figures) > 1 else "0.7"
        lines += [_tex_figure(name, source, width) + ("\\hfill" if i % 2 == 0 and len(item.figures) > 1 else "")
                  for i, (name, source) in enumerate(item.figures)]
        lines += [""] + (item.latex() if item.latex else [r"\dots"]) + [""]
    lines += [f"% Total: {rubric.report_points():g} points.", r"\end{document}"]
    return "\n".join(lines) + "\n"


def manual_rubric_markdown() -> str:
    """The instructors' manual rubric: one Gradescope question per report section, its points and checklist."""
    lines = ["| question | section of the report | points | full marks when the section shows |", "|---|---|---|---|"]
    for index, item in enumerate(rubric.report_items(), start=1):
        checklist = "<br>".join(f"☐ {ask}" for ask in item.asks)
        lines.append(f"| {index} | {question(index, item)} | {item.points:g} | {checklist} |")
    lines.append(f"| | **total** | **{rubric.report_points():g}** | |")
    return "\n".join(lines)


def outline() -> List[tuple]:
    """(question title, points) in order: what the Gradescope outline, both templates and the manual rubric share."""
    return [(question(index, item), item.points) for index, item in enumerate(rubric.report_items(), start=1)]
