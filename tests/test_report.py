"""The written report: the Markdown and LaTeX templates (shipped in the student kit) and the instructors' manual
rubric come from one list (the parts' report sections) and match: same sections, same order, same points; the figure files they
name are the ones the kit writes."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from autograder import paths
from autograder.build import kits, markers, report, texts
from autograder.grading import rubric

ORDER = ["1.2", "4.2/4.3", "4.2/4.3", "5.2/5.3", "5.3/5.4", "6.4/6.5", "7.8"]


def _md_sections() -> list:
    text = (paths.REPO / "report" / "report-template.md").read_text()
    return re.findall(r"^## (.*) \((\S+) points\)$", text, re.M)


def _tex_sections() -> list:
    text = (paths.REPO / "report" / "report-template.tex").read_text()
    return [(title, pts) for title, pts in re.findall(r"^\\section\*\{(.*) \((\S+) points\)\}$", text, re.M)]


def _manual_rows() -> list:
    text = (paths.REPO / "docs" / "manual-rubric.md").read_text()
    return re.findall(r"^\| (\d+) \| (.*?) \| (\S+) \| ", text, re.M)


def test_sections_in_the_specified_order():
    assert [item.number for item in rubric.report_items()] == ORDER
    titles = [item.title for item in rubric.report_items()]
    assert "f4" in titles[0] and "loss and accuracy" in titles[1] and "best and the overfit" in titles[2]
    assert "part1" in titles[3] and "img2 is wrong" in titles[4]
    assert "three answers" in titles[5] and "transfer learning" in titles[6].lower()


def test_templates_and_manual_rubric_match():
    outline = [(f"{title}", f"{points:g}") for title, points in report.outline()]
    md = _md_sections()
    tex = _tex_sections()
    manual = _manual_rows()
    assert md == outline
    assert [(t.replace("\\_", "_"), p) for t, p in tex] == outline
    assert [(row[1], row[2]) for row in manual] == outline
    assert [int(row[0]) for row in manual] == list(range(1, len(outline) + 1))
    total = re.search(r"\*\*total\*\* \| \*\*(\S+)\*\*", (paths.REPO / "docs" / "manual-rubric.md").read_text())
    assert total.group(1) == f"{rubric.report_points():g}" == f"{sum(float(p) for _, p in outline):g}"
    # every checklist item of the rubric is in both templates and the manual rubric
    md_text = (paths.REPO / "report" / "report-template.md").read_text()
    manual_text = (paths.REPO / "docs" / "manual-rubric.md").read_text()
    for item in rubric.report_items():
        for ask in item.asks:
            assert f"- [ ] {ask}" in md_text and ask in manual_text
    assert texts.stale() == []


def test_figure_names_are_what_the_kit_writes():
    md_text = (paths.REPO / "report" / "report-template.md").read_text()
    tex_text = (paths.REPO / "report" / "report-template.tex").read_text()
    train = (paths.REPO / "neuralnet" / "train.py").read_text()
    assert 'default="plot.pdf"' in train and "--plot-file" in train  # train.py's plot and how to rename it
    part1 = "".join("".join(c["source"]) for c in json.loads((paths.REPO / "part1.ipynb").read_text())["cells"])
    assert 'savefig("part1.png"' in part1
    part2 = "".join("".join(c["source"]) for c in json.loads((paths.REPO / "part2.ipynb").read_text())["cells"])
    assert '"img1.png"' in part2 and '"img2.png"' in part2  # the images part2 classifies and saves
    for name in ("plot.pdf", "overfit.pdf", "part1.png", "img1.png", "img2.png"):
        assert name in md_text and name in tex_text
    assert "writes no image file" not in md_text
    assert "--plot-file overfit.pdf" in md_text


def test_templates_ship_in_the_student_kit(tmp_path):
    assert "report" in paths.kit_entries()
    kit = {p.as_posix() for p in markers.kit_files(paths.KIT)}
    assert {"report/report-template.md", "report/report-template.tex"} <= kit
    kits.build_student(tmp_path / "student")
    for name in ("report-template.md", "report-template.tex"):
        assert ((tmp_path / "student" / "report" / name).read_text()
                == (paths.REPO / "report" / name).read_text())


def test_latex_template_is_well_formed():
    tex = (paths.REPO / "report" / "report-template.tex").read_text()
    assert tex.count(r"\begin{itemize}") == tex.count(r"\end{itemize}") == len(rubric.report_items())
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}")
    assert tex.strip().endswith(r"\end{document}")
    body = re.sub(r"\\[a-zA-Z]+|\\.", "", tex)
    assert body.count("{") == body.count("}")
    for line in tex.splitlines():  # no unescaped % or _ or & outside commands and tables
        if line.startswith("%") or "tabular" in line or "&" not in line:
            continue
        assert line.endswith("\\\\"), line


def test_markdown_template_compiles_with_pandoc(tmp_path):
    """pandoc reads the Markdown template as shipped (no figure made yet) and writes a document with every
    question; a PDF needs a TeX engine, which the package registries do not carry, so HTML stands in for it."""
    pypandoc = pytest.importorskip("pypandoc", reason="pypandoc_binary (requirements.txt) is not installed")
    shutil.copy(paths.REPO / "report" / "report-template.md", tmp_path)
    out = tmp_path / "report.html"
    pypandoc.convert_file(str(tmp_path / "report-template.md"), "html", outputfile=str(out),
                          extra_args=["--standalone", "--metadata", "title=Homework report"])
    html = out.read_text()
    for index, item in enumerate(rubric.report_items(), start=1):
        assert f"Q{index}." in html and item.title.split(":")[0] in html


def test_latex_template_compiles_where_a_tex_engine_is_installed(tmp_path):
    engine = next((shutil.which(e) for e in ("pdflatex", "xelatex", "lualatex") if shutil.which(e)), None)
    if engine is None:
        pytest.skip("no TeX engine here (pdflatex, xelatex or lualatex): none is installable from the package "
                    "registries; the template's structure is checked by test_latex_template_is_well_formed")
    shutil.copy(paths.REPO / "report" / "report-template.tex", tmp_path)
    run = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "report-template.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and (tmp_path / "report-template.pdf").is_file(), run.stdout[-2000:]
