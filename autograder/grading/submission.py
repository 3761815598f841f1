"""Grading one submission as it comes: a zip, a folder, or Gradescope's ``/autograder`` layout.

    results = grade_path(Path("jdoe.zip"), out_path=Path("results/results.json"))   # a zip or a folder
    results = run_gradescope(Path("/autograder"))                                    # the Gradescope entry

The student's files are found as on Gradescope (:func:`submission_folder`: files at the top, or one folder; the
zip's name does not matter). A zip is opened with check_submission's ``safe_extract`` (no path tricks, links or zip
bombs); a folder is copied the same way (regular files only, the same caps). A submission that cannot be read gets a
valid result with score 0 and the reason. The CLI (``grade``, ``run``) and ``regrade`` call these; they never
import each other.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, List, Optional

from autograder import paths
from autograder.grading import runner
from autograder.grading.handed_in import check_submission

SUBMISSION_UNREADABLE = "Your submission could not be read, so nothing was graded: "
GRADING_DID_NOT_FINISH = ("Grading did not finish (the autograder was stopped before it wrote its results); this is "
                          "not your fault. Please let your instructor know.")


def submission_folder(unpacked: Path) -> Path:
    """The folder holding the student's files in an unpacked submission: itself, or its single top folder.

    Raises check_submission's SubmissionError when there is no such folder.
    """
    entries = [p for p in unpacked.iterdir() if p.name != "__MACOSX" and not p.name.startswith(".")]
    if any(p.is_file() and p.suffix in (".py", ".ipynb") for p in entries):
        return unpacked
    return check_submission().find_submission_folder(unpacked)


def unreadable(reason: str, out_path: Optional[Path], modules: Optional[List[str]] = None) -> dict:
    """A valid result for a submission that could not be read: every row 0, the reason for the student."""
    items = None if modules is None else runner.items_of(runner.graded_module_names(modules))
    results = runner.failure_results(SUBMISSION_UNREADABLE + reason, items)
    results["extra_data"] = {"submission_error": reason}
    if out_path is not None:
        runner.write_results(results, out_path)
    return results


def _copy_folder(source: Path, target: Path) -> None:
    """Copy a submission folder's regular files (no links, no dotfiles) with safe_extract's caps on count and size."""
    check = check_submission()
    count, total = 0, 0
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX"
                         and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(files):
            path = Path(folder) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            count, total = count + 1, total + path.stat().st_size
            if count > check.MAX_FILES or total > check.MAX_TOTAL_BYTES:
                raise check.SubmissionError(f"the submission holds more than {check.MAX_FILES} files or "
                                            f"{check.MAX_TOTAL_BYTES // check.MIB} MB")
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Path]:
    """The submission folder of a zip or a folder, unpacked into a private temporary folder (removed on exit).

    Raises check_submission's SubmissionError when it cannot be read (unsafe, too large, no folder)."""
    check = check_submission()
    root = Path(tempfile.mkdtemp(prefix="dlkit-grade-"))  # mode 0o700: grader-only, like /autograder
    try:
        unpacked = root / "submission"
        if Path(path).is_dir():
            unpacked.mkdir()
            _copy_folder(Path(path), unpacked)
        else:
            check.safe_extract(path, unpacked)
        yield submission_folder(unpacked)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def grade_path(path: Path, out_path: Optional[Path] = None, modules: Optional[List[str]] = None) -> dict:
    """Grade one submission (a zip, or a folder as Gradescope's export holds them) the way Gradescope would;
    returns results.json's content (written to ``out_path`` when given). ``modules``: only these check modules."""
    try:
        with opened(path) as folder:
            results = runner.grade_folder(folder, modules=modules)
    except check_submission().SubmissionError as exc:
        return unreadable(str(exc), out_path, modules)
    if out_path is not None:
        runner.write_results(results, out_path)
    return results


def grade_zip(zip_path: Path, out_path: Optional[Path] = None, modules: Optional[List[str]] = None) -> dict:
    return grade_path(zip_path, out_path, modules)


def run_gradescope(root: Path) -> dict:
    """The Gradescope entry: grade ``root/submission``, write ``root/results/results.json``."""
    from autograder.grading import sandbox
    results_path = root / "results" / "results.json"
    # A valid result from the start: if grading is killed (Gradescope's timeout), this is what the student sees.
    runner.write_results(runner.failure_results(GRADING_DID_NOT_FINISH), results_path)
    # Close the grader's files to the sandbox user, twice over: covered inside the sandbox's private mount namespace
    # (where the kernel allows one), and by file permissions (root only; Docker often refuses namespaces). The
    # source's entries other than the interpreter's venv (the reference kit: the solutions), the results folder, the
    # submission itself (workspaces get copies) and the student's metadata.
    grader_paths = [root / "results", root / "submission", root / "submission_metadata.json"]
    closed = list(grader_paths)
    if paths.REPO.resolve() == (root / "source").resolve():
        # Only in the real Gradescope layout: never change permissions in a shared repository checkout.
        closed += sandbox.hidden_paths()
    for path in closed:
        sandbox.hide_from_sandbox(path)
    # The grader's own sandbox check before any grading: a broken image is an autograder fault, never a score.
    print(sandbox.probe(), flush=True)
    try:
        folder = submission_folder(root / "submission")
    except check_submission().SubmissionError as exc:
        return unreadable(str(exc), results_path)
    return runner.grade_folder(folder, out_path=results_path, hidden=grader_paths)
