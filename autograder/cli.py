"""Command line: ``python -m autograder build | grade | regrade | run``.

    python -m autograder build                                   # every kit and zip (autograder.build.kits.build_all)
    python -m autograder grade uniqname.zip [--out DIR] [--show-hidden]   # grade one zip locally, as Gradescope would
    python -m autograder regrade DIR --csv grades.csv [--jobs 2]  # a class (autograder.regrade): CSV + feedback files
    python -m autograder run [--root /autograder]                # the Gradescope entry (called by run_autograder)
    python -m autograder probe-sandbox                           # the sandbox check setup.sh runs (exit 3: broken)
    python -m autograder check-upload [dist/autograder.zip]      # run the built zip as Gradescope does (ref + stub)

``grade`` and ``regrade`` lay each submission out like Gradescope (``<tmp>/submission``, ``<tmp>/results``) and run
exactly the grading ``run`` does. The exit status is 0 whenever grading itself worked, whatever the score; 1 when the
grader failed (results.json then says so, with score 0); 2 for a usage error; 3 for an autograder fault (the sandbox
or one of the grader's own steps cannot run, see grading/faults.py: ``run`` then leaves no results.json, so Gradescope shows a failed autograder run, never a score).
``run``'s root defaults to ``$AUTOGRADER_ROOT`` or ``/autograder`` (tests and check-upload use a temporary root).
"""
from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from types import ModuleType
from typing import List, Optional, Sequence

from autograder import paths

EXIT_OK, EXIT_GRADER_FAILED, EXIT_USAGE, EXIT_AUTOGRADER_FAULT = 0, 1, 2, 3
ROOT_VAR = "AUTOGRADER_ROOT"  # the Gradescope root (default /autograder); setup.sh and run_autograder honour it too
SUBMISSION_UNREADABLE = "Your submission could not be read, so nothing was graded: "
GRADING_DID_NOT_FINISH = ("Grading did not finish (the autograder was stopped before it wrote its results); this is "
                          "not your fault. Please let your instructor know.")


@functools.lru_cache(maxsize=None)
def _check_submission() -> ModuleType:
    """The kit's check_submission.py (the students' own checker: one implementation), loaded once per process so that its
    SubmissionError is one class for every caller."""
    from autograder.build.kits import load_check_submission
    return load_check_submission(paths.KIT)


def _grade_submission_folder(folder: Path, out_path: Optional[Path], modules: Optional[List[str]] = None) -> dict:
    from autograder.grading import runner  # imported late: `build` does not need the grading stack
    return runner.grade_folder(folder, out_path=out_path, modules=modules)


def _unreadable(reason: str, out_path: Optional[Path], modules: Optional[List[str]] = None) -> dict:
    from autograder.grading import runner
    items = None if modules is None else runner.items_of(runner.graded_module_names(modules))
    results = runner.failure_results(SUBMISSION_UNREADABLE + reason, items)
    results["extra_data"] = {"submission_error": reason}
    if out_path is not None:
        runner.write_results(results, out_path)
    return results


def grade_zip(zip_path: Path, out_path: Optional[Path] = None, modules: Optional[List[str]] = None) -> dict:
    """Grade one submission zip the way Gradescope would; returns results.json's content (written to out_path).

    The student's files are found as on Gradescope (``gradescope_submission_folder``: files at the top of the zip,
    or one folder; the zip's name does not matter). A zip that cannot be extracted safely (``safe_extract``: path
    traversal, links, bombs) or holds no such layout gets a valid result with score 0 and the checker's reason.
    ``modules`` restricts grading to some graded test modules (e.g. ["section1_layers"]).
    """
    check = _check_submission()
    root = Path(tempfile.mkdtemp(prefix="dlkit-grade-"))  # mode 0o700: grader-only, like /autograder
    try:
        submission = root / "submission"
        (root / "results").mkdir()
        try:
            check.safe_extract(zip_path, submission)
            folder = gradescope_submission_folder(submission)
        except check.SubmissionError as exc:
            return _unreadable(str(exc), out_path, modules)
        results = _grade_submission_folder(folder, root / "results" / "results.json", modules)
        if out_path is not None:
            from autograder.grading import runner
            runner.write_results(results, out_path)
        return results
    finally:
        shutil.rmtree(root, ignore_errors=True)


def gradescope_submission_folder(submission: Path) -> Path:
    """The folder holding the student's files in an unzipped submission: itself, or its single top folder.

    The one rule for ``run`` (Gradescope's /autograder/submission) and ``grade``/``regrade`` (a zip extracted with
    safe_extract). Raises check_submission's SubmissionError when there is no such folder.
    """
    entries = [p for p in submission.iterdir() if p.name != "__MACOSX" and not p.name.startswith(".")]
    if any(p.is_file() and p.suffix in (".py", ".ipynb") for p in entries):
        return submission
    return _check_submission().find_submission_folder(submission)


def run_gradescope(root: Path) -> dict:
    """The Gradescope entry: grade ``root/submission``, write ``root/results/results.json``."""
    from autograder.grading import runner, sandbox
    results_path = root / "results" / "results.json"
    # A valid result from the start: if grading is killed (Gradescope's timeout), this is what the student sees.
    runner.write_results(runner.failure_results(GRADING_DID_NOT_FINISH), results_path)
    # Close the grader's files to the sandbox user, twice over: covered inside the sandbox's private mount namespace
    # (where the kernel allows one), and by file permissions (root only; Docker often refuses namespaces). The
    # source's entries other than the interpreter's venv (backprop/, neuralnet/, the notebooks: the solutions), the results folder, the
    # submission itself (workspaces get copies) and the student's metadata.
    grader_paths = [root / "results", root / "submission", root / "submission_metadata.json"]
    for path in grader_paths:
        sandbox.hide_in_sandbox(path)
    closed = list(grader_paths)
    if paths.REPO.resolve() == (root / "source").resolve():
        # Only in the real Gradescope layout: never change permissions in a shared repository checkout.
        closed += sandbox.hidden_paths()
    for path in closed:
        sandbox.hide_from_sandbox(path)
    # The grader's own sandbox check before any grading: a broken image is an autograder fault, never a score.
    print(sandbox.probe(), flush=True)
    try:
        folder = gradescope_submission_folder(root / "submission")
    except _check_submission().SubmissionError as exc:
        return _unreadable(str(exc), results_path)
    return _grade_submission_folder(folder, results_path)


def default_root() -> Path:
    return Path(os.environ.get(ROOT_VAR) or "/autograder")


def _autograder_fault(results: dict, results_path: Optional[Path]) -> int:
    """An autograder fault: remove results.json (Gradescope then marks the run failed and shows no score), say
    what happened on stderr (the instructor's log) and return EXIT_AUTOGRADER_FAULT."""
    from autograder.grading import runner
    if results_path is not None:
        try:
            results_path.unlink()
        except FileNotFoundError:
            pass
    print("AUTOGRADER FAULT: the autograder cannot grade on this machine (its sandbox or one of its own steps "
          "failed), so no results.json was written (Gradescope shows the run as failed).\n"
          f"  {runner.infrastructure_fault(results)}\n"
          "Diagnose: see autograder/gradescope/README.md ('When the autograder cannot grade'); fix the image, then "
          "regrade all submissions.", file=sys.stderr, flush=True)
    return EXIT_AUTOGRADER_FAULT


def _grader_failed(results: dict) -> bool:
    return bool(results.get("extra_data", {}).get("grader_failed"))


TABLE_WIDTH = 110  # messages wrap at this width (never cut: the expected/got part is what a student needs)


def _wrapped(text: str, indent: str) -> List[str]:
    import textwrap
    return textwrap.wrap(text, width=TABLE_WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def format_table(results: dict, show_hidden: bool = False) -> str:
    """A readable table: number, name, score/max, then the check's message in full (wrapped; a passed check's first
    line only). Rows that are not visible to students yet are listed only with show_hidden, and without it nothing
    printed depends on them (the total counts the listed rows only)."""
    from autograder.grading.runner import count_phrase, format_score
    lines = []
    shown = [t for t in results["tests"] if show_hidden or t.get("visibility", "visible") == "visible"]
    width = max([len(t["name"]) for t in shown] + [4])
    width = min(width, 60)
    for test in shown:
        mark = "" if test.get("visibility", "visible") == "visible" else f"  [{test['visibility']}]"
        lines.append(f"{test['number']:>5}  {test['name'][:width]:<{width}}  "
                     f"{format_score(test['score']):>6}/{format_score(test['max_score']):<4}{mark}")
        message = [line for line in (test.get("output") or "").strip().splitlines() if line.strip()]
        if test.get("status") == "passed":
            message = message[:1]
        for line in message:
            lines.extend(_wrapped(line.strip(), "       "))
    from autograder.grading import rubric
    extra_numbers = {item.number for item in rubric.ALL_ITEMS.values() if rubric.PARTS[item.part].extra_credit}
    extra = [t for t in shown if t["number"] in extra_numbers]
    base = [t for t in shown if t["number"] not in extra_numbers]
    not_listed = [t for t in results["tests"] if t not in shown]
    total = (f"Total: {format_score(sum(t['score'] for t in base))} / "
             f"{format_score(sum(t['max_score'] for t in base))}")
    if extra:  # extra credit comes on top of the homework's maximum
        total += (f" + extra credit {format_score(sum(t['score'] for t in extra))} / "
                  f"{format_score(sum(t['max_score'] for t in extra))}")
    if not_listed:
        n = len(not_listed)
        total += (f" (the checks listed; {count_phrase(n, 'more check')} not listed: --show-hidden lists "
                  f"{'it' if n == 1 else 'them'})")
    lines.append(total)
    if results.get("output"):
        lines.append(results["output"])
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------------


def _modules(text: Optional[str]) -> Optional[List[str]]:
    return [m.strip() for m in text.split(",") if m.strip()] if text else None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build every kit and zip into dist/")
    p_grade = sub.add_parser("grade", help="grade one submission zip locally, as Gradescope would")
    p_grade.add_argument("zip", type=Path)
    p_grade.add_argument("--out", type=Path, default=Path("results"), help="folder for results.json (./results)")
    p_grade.add_argument("--show-hidden", action="store_true", help="also list hidden tests")
    p_grade.add_argument("--modules", help="only these graded test modules, comma-separated (e.g. section1_layers)")
    p_regrade = sub.add_parser("regrade", help="grade a class (zips, student folders or Gradescope's export) into a "
                                               "CSV, per-student feedback, a summary and a histogram")
    p_regrade.add_argument("folder", type=Path)
    p_regrade.add_argument("--csv", type=Path, required=True)
    p_regrade.add_argument("--jobs", type=int, default=2, help="worker processes (1: grade in this process)")
    p_regrade.add_argument("--modules", help="only these graded test modules, comma-separated")
    p_regrade.add_argument("--similarity", action="store_true",
                           help="also write a code-similarity report (needs copydetect; off by default)")
    p_run = sub.add_parser("run", help="the Gradescope entry point")
    p_run.add_argument("--root", type=Path, default=None,
                       help=f"the Gradescope root (default ${ROOT_VAR} or /autograder)")
    sub.add_parser("probe-sandbox", help="check that the sandbox runs here (setup.sh runs it; exit 3 when broken)")
    p_check = sub.add_parser("check-upload", help="run dist/autograder.zip as Gradescope does, on the reference "
                             "and the stub submission")
    p_check.add_argument("zip", type=Path, nargs="?", default=None, help="default: dist/autograder.zip")
    p_check.add_argument("--reference", type=Path, default=None, help="default: dist/reference-submission.zip")
    p_check.add_argument("--stub", type=Path, default=None, help="default: dist/stub-submission.zip")
    p_check.add_argument("--keep", action="store_true", help="keep the temporary root (printed) for inspection")
    p_check.add_argument("--install", action="store_true",
                         help="setup.sh's real path (the image's python3, apt for what it lacks, pip from the package "
                              "index) instead of its offline mode: minutes")
    p_check.add_argument("--weights", type=Path, default=None, metavar="DIR",
                         help="with --install: a folder holding squeezenet1_1's weights, used when PyTorch's site "
                              "cannot be reached (default: this machine's torch cache, else skipped)")
    p_check.add_argument("--torch-index", default=None, metavar="URL",
                         help="with --install: the extra index for torch (default: PyTorch's CPU-only index when "
                              "it can be reached, else none)")
    p_check.add_argument("--allow-stale", action="store_true",
                         help="check a zip older than the files it was built from (default: fail)")
    p_check.add_argument("--docker", nargs="?", const="", default=None, metavar="IMAGE",
                         help="run the same inside Gradescope's base image with its 0.5 vCPU / 768 MB (needs docker "
                              "and the network; default image gradescope/autograder-base:ubuntu-22.04)")
    args = parser.parse_args(argv)

    if args.command == "build":
        from autograder.build import kits
        kits.build_all()
        return EXIT_OK
    if args.command == "grade":
        if not args.zip.is_file():
            print(f"error: {args.zip} is not a file", file=sys.stderr)
            return EXIT_USAGE
        results = grade_zip(args.zip, args.out / "results.json", _modules(args.modules))
        print(format_table(results, args.show_hidden))
        print(f"results written to {args.out / 'results.json'}")
        from autograder.grading import runner
        if runner.infrastructure_fault(results):
            return _autograder_fault(results, None)
        return EXIT_GRADER_FAILED if _grader_failed(results) else EXIT_OK
    if args.command == "regrade":
        from autograder import regrade
        try:
            regrade.regrade(args.folder, args.csv, args.jobs, _modules(args.modules), args.similarity)
        except regrade.RegradeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return EXIT_OK
    if args.command == "probe-sandbox":
        from autograder.grading import sandbox
        try:
            print(sandbox.probe())
        except sandbox.SandboxError as exc:
            print(f"SANDBOX BROKEN: {exc}", file=sys.stderr)
            return EXIT_AUTOGRADER_FAULT
        return EXIT_OK
    if args.command == "check-upload":
        from autograder import upload_check
        return upload_check.main(args.zip, args.reference, args.stub, keep=args.keep, docker=args.docker,
                                 install=args.install, allow_stale=args.allow_stale, weights=args.weights,
                                 torch_index=args.torch_index)
    if args.command == "run":
        root = args.root if args.root is not None else default_root()
        results_path = root / "results" / "results.json"
        from autograder.grading import faults, runner
        try:
            results = run_gradescope(root)
        except faults.AutograderFault as exc:  # the sandbox probe before grading
            traceback.print_exc()
            results = runner.fault_results(str(exc))
        except Exception:  # last line of defence: Gradescope must always get a valid results.json
            traceback.print_exc()
            results = runner.failure_results(runner.GRADER_FAILED)
            results["extra_data"] = {"grader_failed": True}
            runner.write_results(results, results_path)
        if runner.infrastructure_fault(results):
            return _autograder_fault(results, results_path)
        # Gradescope keeps this stdout from students, but print only what they may see anyway (no hidden rows).
        print(format_table(results, show_hidden=False))
        return EXIT_GRADER_FAILED if _grader_failed(results) else EXIT_OK
    return EXIT_USAGE
