"""`make` installs the tooling into its venv: `python -m autograder` and the `dlkit` command work from any folder."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_python_m_autograder_and_dlkit_work_outside_the_repository(tmp_path):
    for command in ([sys.executable, "-m", "autograder", "--help"], [str(Path(sys.executable).parent / "dlkit"),
                                                                     "--help"]):
        run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0 and "regrade" in run.stdout, (command, run.stdout + run.stderr)
