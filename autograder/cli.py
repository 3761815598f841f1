"""Command line: ``python -m autograder build | grade | regrade | run``.

    python -m autograder build                                   # every kit and zip (autograder.build.kits.build_all)
    python -m autograder grade uniqname.zip [--out DIR] [--show-hidden]   # one zip or folder, as Gradescope would
    python -m autograder regrade DIR --csv grades.csv [--jobs 2] [--no-cache] [--cluster ADDR]  # a class: CSV, feedback
    python -m autograder run [--root /autograder]                # the Gradescope entry (called by run_autograder)
    python -m autograder probe-sandbox                           # the sandbox check setup.sh runs (exit 3: broken)
    python -m autograder check-upload [dist/autograder.zip]      # run the built zip as Gradescope does (ref + stub)

This module only parses arguments: grading a submission is autograder.grading.submission (``grade``, ``run``),
a class is autograder.regrade. ``grade`` and ``regrade`` run exactly the grading ``run`` does. The exit status is 0
whenever grading itself worked, whatever the score; 1 when the grader failed (results.json then says so, with score
0); 2 for a usage error; 3 for an autograder fault (the sandbox or one of the grader's own steps cannot run, see
grading/faults.py: ``run`` then leaves no results.json, so Gradescope shows a failed autograder run, never a score).
``run``'s root defaults to ``$AUTOGRADER_ROOT`` or ``/autograder`` (tests and check-upload use a temporary root).
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import List, Optional, Sequence


EXIT_OK, EXIT_GRADER_FAILED, EXIT_USAGE, EXIT_AUTOGRADER_FAULT = 0, 1, 2, 3
ROOT_VAR = "AUTOGRADER_ROOT"  # the Gradescope root (default /autograder); setup.sh and run_autograder honour it too


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
    not_listed = [t for t in results["tests"] if t not in shown]
    total = f"Total: {rubric.totals_text(shown, format_score)}"  # extra credit comes on top of the homework's maximum
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
    p_grade = sub.add_parser("grade", help="grade one submission (a zip or a folder) locally, as Gradescope would")
    p_grade.add_argument("zip", type=Path, metavar="SUBMISSION")
    p_grade.add_argument("--out", type=Path, default=Path("results"), help="folder for results.json (./results)")
    p_grade.add_argument("--show-hidden", action="store_true", help="also list hidden tests")
    p_grade.add_argument("--modules", help="only these graded test modules, comma-separated (e.g. section1_layers)")
    p_regrade = sub.add_parser("regrade", help="grade a class (zips, student folders or Gradescope's export) into a "
                                               "CSV, per-student feedback, a summary and a histogram")
    p_regrade.add_argument("folder", type=Path)
    p_regrade.add_argument("--csv", type=Path, required=True)
    p_regrade.add_argument("--jobs", type=int, default=2, help="worker processes (1: grade in this process)")
    p_regrade.add_argument("--modules", help="only these graded test modules, comma-separated")
    p_regrade.add_argument("--no-cache", action="store_true",
                           help="regrade every part of every submission (the regrade cache is refreshed, not read)")
    p_regrade.add_argument("--cache", type=Path, metavar="DIR",
                           help="the regrade cache's folder (default: .cache/regrade, or $DLKIT_CACHE/regrade)")
    p_regrade.add_argument("--cluster", metavar="ADDRESS",
                           help="grade on a Dask distributed cluster (its scheduler's address, e.g. tcp://host:8786) "
                                "instead of local processes")
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
                         help="with --install: a folder of torch hub weight files, used when PyTorch's site cannot "
                              "be reached (default: this machine's torch cache, else skipped)")
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
        if not args.zip.exists():
            print(f"error: {args.zip} does not exist", file=sys.stderr)
            return EXIT_USAGE
        from autograder.grading import submission
        results = submission.grade_path(args.zip, args.out / "results.json", _modules(args.modules))
        print(format_table(results, args.show_hidden))
        print(f"results written to {args.out / 'results.json'}")
        from autograder.grading import runner
        if runner.infrastructure_fault(results):
            return _autograder_fault(results, None)
        return EXIT_GRADER_FAILED if _grader_failed(results) else EXIT_OK
    if args.command == "regrade":
        from autograder import regrade
        try:
            regrade.regrade(args.folder, args.csv, args.jobs, _modules(args.modules), args.similarity,
                            cache_dir=args.cache, use_cache=not args.no_cache, cluster=args.cluster)
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
        from autograder.grading import faults, runner, submission
        try:
            results = submission.run_gradescope(root)
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
