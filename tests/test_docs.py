"""The README's generated parts are current, and it opens with the two set-up commands CI runs."""
from __future__ import annotations

import re

from autograder import paths
from autograder.build import texts
from autograder.grading.rubric import markdown_table


def _readme() -> str:
    return (paths.REPO / "README.md").read_text()


def test_generated_texts_are_current():
    """Every text generated from rubric.py (README's rubric table, check_submission's PARTS, ...) is current."""
    assert texts.stale() == [], "run `python -m autograder build` to regenerate these from rubric.py"
    assert markdown_table() in _readme()


def test_sync_rewrites_a_stale_region(tmp_path):
    for relative in texts.files():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text((paths.REPO / relative).read_text())
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace(markdown_table(), "| stale |"))
    assert texts.stale(tmp_path) == ["README.md"]
    assert texts.sync(tmp_path) == ["README.md"] and texts.stale(tmp_path) == []
    assert markdown_table() in readme.read_text()


def test_readme_opens_with_the_two_commands_ci_runs():
    first_block = re.search(r"```bash\n(.*?)```", _readme(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make", "make test"]
    ci = (paths.REPO / ".ci" / "run").read_text()
    assert re.findall(r"^make.*$", ci, re.M) == commands
