"""Regrade a whole class: ``python -m autograder regrade INPUT --csv grades.csv``.

INPUT is what an instructor has at hand:

* a folder of zips (``alice.zip``, ...): one student per zip, named by the zip's name;
* a folder of student folders (``alice/``, ...): one student per folder;
* Gradescope's "Export submissions" (the unzipped export, or the folder it was unzipped into): ``submission_<n>/``
  folders and a ``submission_metadata.yml`` that names each folder's student(s); a ``submission_metadata.yml`` inside
  a folder works too. A group submission is graded once and gives each member a row (the ``group`` column lists the
  members); a folder holding only an upload Gradescope could not unpack is graded as that zip, so its reason is the
  zip's own.

Every submission is graded exactly as ``grade`` grades one (autograder.grading.submission.grade_path: a zip through
the safe extraction, a folder copied with the same caps, links left out). Next to the CSV, in ``<csv stem>-regrade/``:

* ``students/<student>/results.json`` and ``students/<student>/feedback.txt`` (what the student sees, then the
  hidden rows);
* ``summary.md``: per rubric row the mean, median, how many got full marks (0-point rows: how many passed), the most
  common failure message, and "who lost points where" (per row, the students below full marks);
* ``histogram.png``: the distribution of total scores (matplotlib, Agg backend);
* ``similarity.html`` with ``--similarity`` (copydetect, only if installed).

The CSV has one row per student; its score columns are named ``<number> <rubric id> (/<max>)`` (``2.2 fc_backward
(/6)``), scores rounded to two decimals; ``total (/<homework maximum>)`` leaves extra credit out, and ``extra credit
(/<its maximum>)`` holds it (the histogram and summary show the homework total the same way). A submission that could not be graded (not a zip, unsafe, no code, the
grader failed) has empty score cells, ``status`` ``ungradable`` and the reason: never a zero that looks like a grade.
A graded submission's ``status`` is ``graded``, or ``incomplete: solvers.py missing`` when files the homework asks for
are not where check_submission.py looks (the rows that grade them say where they were found, e.g. solver.py).
An input where no submission is found is an error (RegradeError; the command exits with status 2).
"""
from __future__ import annotations

import concurrent.futures
import csv
import multiprocessing
import re
import statistics
import sys
import tempfile
import traceback
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

METADATA = "submission_metadata.yml"


class RegradeError(Exception):
    """The input cannot be regraded as a whole (nothing found, similarity tool missing, ...)."""


@dataclass(frozen=True)
class Submission:
    student: str  # the CSV's key: unique within the batch
    path: Path  # a zip or a folder
    name: str = ""  # the student's name(s) where the input says (Gradescope's metadata)
    email: str = ""
    sid: str = ""
    group: str = ""  # a group submission: every member's key ("asmith; bjones"); each member gets a row


# --------------------------------------------------------------------------------------------------------------------
# finding the submissions


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value


def parse_metadata(text: str) -> Dict[str, List[Dict[str, str]]]:
    """Gradescope's submission_metadata.yml -> {submission folder: [{name, email, sid}, ...]}.

    A minimal, safe reader of the fields used (pyyaml is not a dependency of this kit): top-level keys
    ``submission_<n>:`` open a block; ``:name:``, ``:email:`` and ``:sid:`` entries (with or without Ruby's leading
    colon) inside its ``:submitters:`` list fill one submitter each; a ``-`` starts the next submitter. Everything
    else is ignored. A metadata file inside one submission folder (no top-level key) is returned under "".
    """
    result: Dict[str, List[Dict[str, str]]] = {}
    current = ""
    in_submitters = False
    submitters: List[Dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#") or line.strip() == "---":
            continue
        top = re.match(r"^:?([A-Za-z0-9_.-]+):\s*$", line)
        if top and not raw.startswith((" ", "-")):
            if top.group(1) in ("submitters",):  # the file of a single submission
                in_submitters = True
                submitters = result.setdefault("", [])
                continue
            current = top.group(1)
            submitters = result.setdefault(current, [])
            in_submitters = False
            continue
        stripped = line.strip()
        if re.match(r"^:?submitters:\s*$", stripped):
            in_submitters = True
            if not current:
                submitters = result.setdefault("", [])
            continue
        field = re.match(r"^(-\s+)?:?(name|email|sid):\s*(.*)$", stripped)
        if field and in_submitters:
            if field.group(1) or not submitters or field.group(2) in submitters[-1]:
                submitters.append({})
            submitters[-1][field.group(2)] = _unquote(field.group(3))
            continue
        if stripped.startswith("-") and in_submitters and not field:
            submitters.append({})
            continue
        indent = len(line) - len(line.lstrip())
        if in_submitters and not stripped.startswith("-") and indent <= 2 and not field:
            in_submitters = False  # the next key of the submission block (:created_at:, :score:, ...)
    return {key: [s for s in value if s] for key, value in result.items()}


def _safe_key(text: str) -> str:
    key = re.sub(r"[^A-Za-z0-9_.@-]+", "_", text).strip("._") or "student"
    return key[:80]


def _from_metadata(folder: Path, submitters: List[Dict[str, str]]) -> List[Submission]:
    """One Submission per submitter of an exported folder (a group's members share the folder and its grade)."""
    folder = _lone_zip(folder)
    def key_of(s: Dict[str, str]) -> str:
        return _safe_key(s.get("email", "").split("@")[0] or s.get("sid", "") or s.get("name", "") or folder.name)
    if not submitters:
        return [Submission(_safe_key(folder.name), folder)]
    group = "; ".join(key_of(s) for s in submitters) if len(submitters) > 1 else ""
    return [Submission(key_of(s), folder, s.get("name", ""), s.get("email", ""), s.get("sid", ""), group)
            for s in submitters]


def _lone_zip(folder: Path) -> Path:
    """A submission folder that holds nothing but one zip (an upload Gradescope could not unpack, e.g. a corrupt
    zip) is graded as that zip, so that the reason given is the zip's own ("not a readable zip"), not where files
    sit."""
    entries = _visible(folder.iterdir()) if folder.is_dir() else []
    entries = [p for p in entries if p.name != METADATA]
    if len(entries) == 1 and entries[0].is_file() and entries[0].suffix.lower() == ".zip":
        return entries[0]
    return folder


def _export_root(folder: Path) -> Path:
    """Where Gradescope's export is inside ``folder``: the folder itself, or the one folder it holds (down to three
    levels: the export zip unpacks into a folder of its own, e.g. assignment_123_export/)."""
    for _ in range(3):
        entries = _visible(folder.iterdir())
        if (folder / METADATA).is_file() or any(p.is_dir() and p.name.startswith("submission_") for p in entries):
            return folder
        folders = [p for p in entries if p.is_dir()]
        if len(folders) != 1 or len(entries) != 1:
            return folder
        inner = _visible(folders[0].iterdir())
        if not ((folders[0] / METADATA).is_file() or any(p.is_dir() and p.name.startswith("submission_")
                                                          for p in inner)):
            return folder
        folder = folders[0]
    return folder


def _visible(entries) -> List[Path]:
    return sorted(p for p in entries if not p.name.startswith(".") and p.name != "__MACOSX" and not p.is_symlink())


def find_submissions(folder: Path) -> List[Submission]:
    """Every submission in ``folder`` (see the module docstring). Raises RegradeError when there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RegradeError(f"{folder} is not a folder")
    folder = _export_root(folder)
    entries = _visible(folder.iterdir())
    exported = [p for p in entries if p.is_dir() and p.name.startswith("submission_")]
    found: List[Submission] = []
    if exported or (folder / METADATA).is_file():
        metadata = parse_metadata((folder / METADATA).read_text(errors="replace")) if (folder / METADATA).is_file() \
            else {}
        for sub in exported:
            submitters = metadata.get(sub.name)
            if submitters is None and (sub / METADATA).is_file():
                inner = parse_metadata((sub / METADATA).read_text(errors="replace"))
                submitters = inner.get("") or next(iter(inner.values()), [])
            found.extend(_from_metadata(sub, submitters or []))
    else:
        for path in entries:
            if path.is_file() and path.suffix.lower() == ".zip":
                found.append(Submission(_safe_key(path.stem), path))
            elif path.is_dir():
                found.append(Submission(_safe_key(path.name), path))
    if not found:
        raise RegradeError(f"no submission found in {folder}: expected zips, student folders or Gradescope's export "
                           f"(submission_*/ folders with {METADATA})")
    # unique keys: a second "asmith" becomes "asmith-2"
    seen: Counter = Counter()
    unique = []
    for sub in sorted(found, key=lambda s: (s.student, str(s.path))):
        seen[sub.student] += 1
        key = sub.student if seen[sub.student] == 1 else f"{sub.student}-{seen[sub.student]}"
        unique.append(Submission(key, sub.path, sub.name, sub.email, sub.sid, sub.group))
    return unique


# --------------------------------------------------------------------------------------------------------------------
# grading


def _share_cpus(jobs: int) -> None:
    """Worker start: this worker's share of the CPUs for the thread pools of the runs it starts (the sandbox and the
    reference runs read OMP_NUM_THREADS through resources.compute_env); a value the user set is kept."""
    import os
    from autograder import resources
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, resources.usable_cpus() // max(1, jobs))))


def grade_files(files: Dict[str, bytes], modules: Optional[List[str]]) -> Tuple[Optional[dict], str]:
    """Worker (a local process or a Dask worker): grade the submission folder whose files are ``files`` (relative
    path -> bytes), only ``modules``. Returns (results or None, error text); never raises."""
    import shutil
    from autograder.grading import runner
    root = Path(tempfile.mkdtemp(prefix="dlkit-regrade-"))
    try:
        folder = root / "submission"
        for relative, data in files.items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        folder.mkdir(exist_ok=True)
        return runner.grade_folder(folder, modules=modules), ""
    except Exception as exc:  # one student's failure must not abort the batch: report it in their row
        traceback.print_exc(file=sys.__stderr__)
        return None, f"grading failed: {type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class _Job:
    """One submission's grading: what the cache holds, what is left to grade, and the outcome."""
    sub: Submission
    files: Dict[str, bytes] = field(default_factory=dict)  # the submission folder's files (while to be graded)
    keys: Dict[str, str] = field(default_factory=dict)  # part -> cache key
    cached: Dict[str, Tuple[List[dict], List[str]]] = field(default_factory=dict)
    missing_files: Dict[str, str] = field(default_factory=dict)
    modules: Optional[List[str]] = None  # the check modules still to run ([]: none)
    results: Optional[dict] = None
    error: str = ""


def _part_modules(part_keys, wanted: Optional[List[str]]) -> List[str]:
    from autograder import parts
    shorts = None if wanted is None else {m.rsplit(".", 1)[-1] for m in wanted}
    found = sorted({row.check for key in part_keys for row in parts.PARTS[key].rows.values()})
    return [m for m in found if shorts is None or m in shorts]


def _prepare(sub: Submission, ids: List[str], modules: Optional[List[str]], cache, use_cache: bool) -> _Job:
    """Open the submission here (the same safe extraction as ``grade``), look its parts up in the cache (unless
    ``use_cache`` is off), and keep its files when something is left to grade."""
    from autograder.grading import handed_in, rubric, submission
    job = _Job(sub)
    try:
        with submission.opened(sub.path) as folder:
            job.missing_files = handed_in.missing(folder)
            wanted_parts = sorted({rubric.RUBRIC[i].part for i in ids})
            job.keys = cache.keys(folder)
            for key in wanted_parts if use_cache else ():
                found = cache.get(key, job.keys[key])
                if found is not None:
                    job.cached[key] = found
            todo = [key for key in wanted_parts if key not in job.cached]
            job.modules = _part_modules(todo, modules) if todo else []
            if job.modules:
                job.files = {p.relative_to(folder).as_posix(): p.read_bytes()
                             for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}
    except handed_in.check_submission().SubmissionError as exc:
        job.results = submission.unreadable(str(exc), None, modules)
    return job


def _finish(job: _Job, ids: List[str], cache) -> None:
    """Merge the fresh rows with the cached ones into the submission's results; store the fresh parts."""
    from autograder.grading import rubric, runner
    if job.error:
        return
    if job.results is not None and (job.results.get("extra_data") or {}).get("submission_error"):
        return
    fresh = job.results
    if fresh is not None and ungradable_reason(fresh, ""):
        return  # a fault or a failed grading is the outcome as it is, and never cached
    by_number = {rubric.RUBRIC[i].number: i for i in ids}
    rows, notes = [], []
    for key, (cached_rows, cached_notes) in job.cached.items():
        rows += cached_rows
        notes += cached_notes
    if fresh is not None:
        fresh_notes = list((fresh.get("extra_data") or {}).get("isolation_notes", []))
        notes += fresh_notes
        by_part: Dict[str, List[dict]] = {}
        for test in fresh["tests"]:
            item_id = by_number.get(test["number"])
            if item_id is not None:
                by_part.setdefault(rubric.RUBRIC[item_id].part, []).append(test)
        for key, part_rows in by_part.items():
            rows += part_rows
            if key in job.keys:
                cache.put(key, job.keys[key], part_rows, fresh_notes)
    seconds = float(fresh["execution_time"]) if fresh is not None else 0.0
    job.results = runner.assemble(rows, seconds, notes, job.missing_files, ids)


def ungradable_reason(results: Optional[dict], error: str) -> str:
    """Why this submission has no grade ("" when it was graded)."""
    if results is None:
        return error or "grading failed"
    extra = results.get("extra_data") or {}
    if extra.get("submission_error"):
        return "submission could not be read: " + extra["submission_error"]
    if extra.get("infrastructure_fault"):
        return "autograder fault (the grader could not run its own checks; fix the machine and regrade): " + extra["infrastructure_fault"]
    if extra.get("grader_failed"):
        return "the grader failed on this submission (see the log): " + (results.get("output") or "").strip()
    return ""


def feedback_text(results: dict) -> str:
    """What the student sees (the visible rows, in full), then the hidden rows for the instructor."""
    lines = [(results.get("output") or "").strip(), ""]
    tests = results.get("tests", [])
    visible = [t for t in tests if t.get("visibility", "visible") == "visible"]
    hidden = [t for t in tests if t.get("visibility", "visible") != "visible"]
    for title, rows in (("What the student sees", visible), ("Hidden rows (the student does not see these now)",
                                                                  hidden)):
        if not rows:
            continue
        lines += [f"== {title} ==", ""]
        for test in rows:
            mark = "" if test.get("visibility", "visible") == "visible" else f" [{test['visibility']}]"
            lines.append(f"{test['number']} {test['name']}: {test['score']:g} / {test['max_score']:g} "
                         f"({test.get('status', '')}){mark}")
            for out in (test.get("output") or "").strip().splitlines():
                lines.append("    " + out)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def column(item_id: str) -> str:
    from autograder.grading import rubric
    item = rubric.RUBRIC[item_id]
    return f"{item.number} {item_id} (/{item.points:g})"


def _first_line(text: str) -> str:
    first = (text or "").strip().splitlines()
    return first[0][:160] if first else "(no message)"


def _full(test: dict) -> bool:
    if float(test["max_score"]) == 0:
        return test.get("status") == "passed"
    return float(test["score"]) >= float(test["max_score"]) - 1e-9


def summary_markdown(graded: Dict[str, dict], ungradable: Dict[str, str], ids: Sequence[str]) -> str:
    """The per-row summary and "who lost points where" (graded students only; ungradable ones listed apart)."""
    from autograder.grading import rubric
    n = len(graded)
    lines = ["# Regrade summary", "", f"{n} graded, {len(ungradable)} ungradable.", ""]
    split = [rubric.split_totals(r["tests"]) for r in graded.values()]
    homework_max, extra_max = rubric.maxima(ids)
    for label, at, maximum in (("Total", 0, homework_max), ("Extra credit, on top", 2, extra_max)):
        totals = [s[at] for s in split]
        if totals and maximum:
            lines += [f"{label} (/{maximum:g}): mean {statistics.mean(totals):.2f}, median "
                      f"{statistics.median(totals):.2f}, min {min(totals):.2f}, max {max(totals):.2f}.", ""]
    lines += ["## Per rubric row", "",
              "Full marks: score = max; for a 0-point (feedback only) row, the checks passed.", "",
              "| row | max | mean | median | full marks | most common failure message |", "|---|---|---|---|---|---|"]
    lost: Dict[str, List[Tuple[str, float]]] = {}
    for item_id in ids:
        item = rubric.RUBRIC[item_id]
        rows = {s: next((t for t in r["tests"] if t["number"] == item.number), None) for s, r in graded.items()}
        rows = {s: t for s, t in rows.items() if t is not None}
        scores = [float(t["score"]) for t in rows.values()]
        failures = Counter(_first_line(t.get("output", "")) for t in rows.values() if not _full(t))
        common = failures.most_common(1)
        message = f"{common[0][0]} ({common[0][1]}×)" if common else ""
        full = sum(1 for t in rows.values() if _full(t))
        if scores:
            lines.append(f"| {column(item_id)} | {item.points:g} | {statistics.mean(scores):.2f} | "
                         f"{statistics.median(scores):.2f} | {full}/{len(rows)} | {message.replace('|', '/')} |")
        else:
            lines.append(f"| {column(item_id)} | {item.points:g} | - | - | 0/0 | |")
        lost[item_id] = sorted(((s, float(t["max_score"]) - float(t["score"])) for s, t in rows.items()
                                if not _full(t)), key=lambda kv: (-kv[1], kv[0]))
    lines += ["", "## Who lost points where", "",
              "Rows sorted by the points the class lost there; each student with the points lost (0 for a failed "
              "feedback-only row).", "", "| row | points lost (class) | students below full marks |", "|---|---|---|"]
    order = sorted(ids, key=lambda i: -sum(p for _, p in lost[i]))
    for item_id in order:
        if lost[item_id]:
            who = ", ".join(f"{s} (-{p:.2f})" for s, p in lost[item_id])
            lines.append(f"| {column(item_id)} | {sum(p for _, p in lost[item_id]):.2f} | {who} |")
    if ungradable:
        lines += ["", "## Ungradable submissions", ""]
        lines += [f"- {s}: {_first_line(reason)}" for s, reason in sorted(ungradable.items())]
    return "\n".join(lines) + "\n"


def histogram(totals: Sequence[float], maximum: float, out_path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = max(5, min(20, int(maximum) if maximum >= 1 else 5))
    ax.hist(list(totals), bins=bins, range=(0, max(maximum, 1e-9)), color="#3b6ea8", edgecolor="white")
    ax.set_xlabel(f"total score (/{maximum:g})")
    ax.set_ylabel("students")
    from matplotlib.ticker import MaxNLocator
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Score distribution ({len(totals)} graded)")
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return out_path


def similarity_available() -> bool:
    try:
        import copydetect  # noqa: F401
    except ImportError:
        return False
    return True


def similarity_report(submissions: Sequence[Submission], out_path: Path) -> Path:
    """copydetect's HTML report over the students' code, the student kit's starter code as boilerplate."""
    if not similarity_available():
        raise RegradeError("--similarity needs the copydetect package, which is not installed here "
                           "(pip install copydetect); nothing was graded")
    import copydetect
    from autograder.build import kits
    with tempfile.TemporaryDirectory(prefix="dlkit-similar-") as tmp:
        base = Path(tmp)
        starter = base / "starter"
        kits.build_student(starter)
        dirs = []
        for sub in submissions:
            target = base / "students" / sub.student
            target.mkdir(parents=True)
            if sub.path.is_dir():
                for path in sorted(sub.path.rglob("*.py")):
                    if path.is_file() and not path.is_symlink() and path.stat().st_size < 1_000_000:
                        (target / path.name).write_bytes(path.read_bytes())
            else:
                try:
                    with zipfile.ZipFile(sub.path) as archive:
                        for info in archive.infolist():
                            name = Path(info.filename).name
                            if name.endswith(".py") and not info.is_dir() and info.file_size < 1_000_000:
                                (target / name).write_bytes(archive.read(info))
                except (zipfile.BadZipFile, OSError):
                    continue
            dirs.append(str(target))
        # ignore_leaf: a student's files are not compared with each other, only across students
        detector = copydetect.CopyDetector(test_dirs=dirs, boilerplate_dirs=[str(starter)], extensions=["py"],
                                           display_t=0.5, ignore_leaf=True, autoopen=False, silent=True,
                                           out_file=str(out_path))
        detector.run()
        detector.generate_html_report()
    return out_path


def _fmt(value: float) -> str:
    return f"{round(float(value), 2):.2f}"


def _run_local(pending: List[_Job], jobs: int) -> None:
    """Grade the pending jobs in this process (jobs <= 1) or in ``jobs`` fresh worker processes."""
    if jobs <= 1:
        for job in pending:
            job.results, job.error = grade_files(job.files, job.modules)
            print(f"{job.sub.student}: done", flush=True)
        return
    # spawn: a fresh interpreter per worker (no state inherited from this process)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_share_cpus,
                                                initargs=(jobs,)) as pool:
        futures = {pool.submit(grade_files, job.files, job.modules): job for job in pending}
        for future in concurrent.futures.as_completed(futures):
            job = futures[future]
            try:
                job.results, job.error = future.result()
            except Exception as exc:  # the worker process itself died: still one row for the student
                job.results, job.error = None, f"grading failed: {type(exc).__name__}: {exc}"
            job.files = {}
            print(f"{job.sub.student}: done", flush=True)


def _run_cluster(pending: List[_Job], address: str) -> None:
    """Grade the pending jobs on a Dask distributed cluster (its scheduler at ``address``): each worker needs this
    repository's code and environment (see the README), and grades with the same sandbox as a local run."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise RegradeError(f"--cluster needs Dask's distributed package, which is not installed here ({exc}): "
                           "pip install 'distributed' (on this machine and every worker)") from None
    with Client(address) as client:
        futures = {client.submit(grade_files, job.files, job.modules, key=f"grade-{job.sub.student}", pure=False):
                   job for job in pending}
        for future in as_completed(futures):
            job = futures[future]
            try:
                job.results, job.error = future.result()
            except Exception as exc:  # the worker died or lost the task: still one row for the student
                job.results, job.error = None, f"grading failed on the cluster: {type(exc).__name__}: {exc}"
            job.files = {}
            print(f"{job.sub.student}: done", flush=True)


def regrade(folder: Path, csv_path: Path, jobs: int = 2, modules: Optional[List[str]] = None,
            similarity: bool = False, cache_dir: Optional[Path] = None, use_cache: bool = True,
            cluster: Optional[str] = None) -> List[dict]:
    """Grade every submission in ``folder`` and write the CSV and the files beside it. Returns the CSV rows.

    ``cache_dir`` (default ``.cache/regrade``): the regrade cache (autograder/regrade_cache.py); ``use_cache=False``
    regrades everything (and refreshes the cache). ``cluster``: a Dask scheduler's address to grade on instead of
    ``jobs`` local processes.
    """
    from autograder import paths
    from autograder.grading import rubric, runner
    from autograder.regrade_cache import RegradeCache
    submissions = find_submissions(folder)
    if similarity and not similarity_available():
        raise RegradeError("--similarity needs the copydetect package, which is not installed here "
                           "(pip install copydetect); nothing was graded")
    ids = list(rubric.RUBRIC) if modules is None else runner.items_of(runner.graded_module_names(modules))
    ids = sorted(ids, key=lambda i: runner.number_key(rubric.RUBRIC[i].number))
    # One convention everywhere: the homework's maximum, and extra credit in its own column on top.
    maximum, extra_max = rubric.maxima(ids)
    csv_path = Path(csv_path)
    out_dir = csv_path.parent / f"{csv_path.stem}-regrade"
    (out_dir / "students").mkdir(parents=True, exist_ok=True)

    cache = RegradeCache(Path(cache_dir) if cache_dir is not None else paths.cache_dir() / "regrade")
    # A group's members share one folder: it is graded once, and each member gets the group's row.
    first_of_path: Dict[Path, Submission] = {}
    for sub in submissions:
        first_of_path.setdefault(sub.path, sub)
    prepared = [_prepare(sub, ids, modules, cache, use_cache) for sub in first_of_path.values()]
    pending = [job for job in prepared if job.results is None and job.modules]
    reused = sum(len(job.cached) for job in prepared)
    print(f"{len(submissions)} submissions: {len(pending)} to grade; {reused} part gradings reused from the cache "
          f"({sum(1 for job in prepared if job.results is None and not job.modules)} submissions entirely)"
          + ("" if use_cache else " (--no-cache)"), flush=True)
    if cluster:
        _run_cluster(pending, cluster)
    else:
        _run_local(pending, jobs)
    for job in prepared:
        _finish(job, ids, cache)
    by_path = {job.sub.path: (job.results, job.error) for job in prepared}
    outcomes: Dict[str, Tuple[Optional[dict], str]] = {sub.student: by_path[sub.path] for sub in submissions}

    columns = [column(i) for i in ids]
    total_col = f"total (/{maximum:g})"
    extra_cols = [f"extra credit (/{extra_max:g})"] if extra_max else []
    rows, graded, ungradable = [], {}, {}
    for sub in submissions:
        results, error = outcomes[sub.student]
        reason = ungradable_reason(results, error)
        folder_out = out_dir / "students" / sub.student
        folder_out.mkdir(parents=True, exist_ok=True)
        if results is not None:
            runner.write_results(results, folder_out / "results.json")
            (folder_out / "feedback.txt").write_text(
                (f"NOT GRADED: {reason}\n\n" if reason else "") + feedback_text(results), encoding="utf-8")
        else:
            (folder_out / "feedback.txt").write_text(f"NOT GRADED: {reason}\n", encoding="utf-8")
        row = {"student": sub.student, "name": sub.name, "email": sub.email, "sid": sub.sid, "group": sub.group,
               "source": sub.path.name}
        if reason:
            ungradable[sub.student] = reason
            row.update({c: "" for c in columns})
            row.update({total_col: "", "status": "ungradable", "reason": reason.splitlines()[0][:300]})
            row.update({c: "" for c in extra_cols})
        else:
            graded[sub.student] = results
            scores = {t["number"]: t["score"] for t in results["tests"]}
            for item_id, col in zip(ids, columns):
                number = rubric.RUBRIC[item_id].number
                row[col] = _fmt(scores[number]) if number in scores else ""
            missing = results.get("extra_data", {}).get("missing_files") or []
            homework, _, extra, _ = rubric.split_totals(results["tests"])
            row.update({c: _fmt(extra) for c in extra_cols})
            row.update({total_col: _fmt(homework),
                        "status": f"incomplete: {', '.join(missing)} missing" if missing else "graded",
                        "reason": ""})
        rows.append(row)
        print(f"{sub.student}: " + (f"UNGRADABLE ({reason.splitlines()[0][:120]})" if reason
                                    else rubric.totals_text(results["tests"], _fmt)), flush=True)

    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["student", "name", "email", "sid", "group", "source"] + columns
                                + [total_col] + extra_cols + ["status", "reason"])
        writer.writeheader()
        writer.writerows(rows)
    summary = summary_markdown(graded, ungradable, ids)
    (out_dir / "summary.md").write_text(summary, encoding="utf-8")
    histogram([rubric.split_totals(r["tests"])[0] for r in graded.values()], maximum, out_dir / "histogram.png")
    if similarity:
        similarity_report(submissions, out_dir / "similarity.html")
    print(summary)
    print(f"CSV: {csv_path}\nper student, summary and histogram: {out_dir}")
    return rows
