"""The README's generated parts are current, and it opens with the two set-up commands CI runs."""
from __future__ import annotations

import re

from autograder import paths
from autograder.grading.rubric import markdown_table


def _readme() -> str:
    return (paths.REPO / "README.md").read_text()


def test_readme_rubric_table_is_current():
    text = _readme()
    match = re.search(r"<!-- rubric table.*?-->\n(.*?)\n<!-- end rubric table -->", text, re.S)
    assert match, "README.md lost its rubric table markers"
    assert match.group(1) == markdown_table(), (
        "README.md's rubric table is stale: paste autograder.grading.rubric.markdown_table() between the markers")


def test_readme_opens_with_the_two_commands_ci_runs():
    first_block = re.search(r"```bash\n(.*?)```", _readme(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make", "make test"]
    ci = (paths.REPO / ".ci" / "run").read_text()
    assert re.findall(r"^make.*$", ci, re.M) == commands
