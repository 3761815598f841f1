"""Grader-side API: run a batch of calls on a submission in the sandbox and get plain data back.

    ws = Workspace.for_part(part, submission_dir)      # or Workspace() and add_file(...)
    out = run_calls(ws, [Call("fwd", "<module>", func="<function>", args=(x, w, b))])
    out["fwd"].status  # "ok", "not_implemented", "error", "timeout", "memory", "crashed", "import_error", "bad_output"
    out["fwd"].value   # the returned value, decoded (arrays, tuples, ...) when status == "ok"

A :class:`Workspace` is a grader-owned staging folder: the generated student tree's files of a part's given folders
(flattened into one folder) with the submission's files copied on top. Each sandbox run gets a *fresh
copy* of it, so nothing a run writes survives into the next one (same inputs -> same outcomes).

:func:`run_calls` runs the calls in one sandbox process (``harness/run_calls.py``), in order. When a call hangs, burns
its CPU time, or kills the interpreter, that call gets ``timeout`` / ``crashed`` / ``memory`` and the calls after it
are re-run in a fresh process, so one infinite loop costs only that call. Results are read back only as size-capped
JSON and ``np.load(allow_pickle=False)``; anything malformed gives ``bad_output``.
"""
from __future__ import annotations

import ast
import atexit
import hashlib
import json
import shutil
import signal
import sys
import tempfile
import time
import weakref
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import psutil

from autograder import paths
from autograder.grading import codec, rubric, sandbox

STATUSES = ("ok", "not_implemented", "error", "timeout", "memory", "crashed", "import_error", "bad_output")
HARNESS_DIR = Path(__file__).resolve().parent / "harness"
MAX_RESULT_JSON_BYTES = 4 * 1024 * 1024  # one call's outcome JSON; bigger is bad_output
MAX_SUBMISSION_FILES = 200
MAX_MESSAGE_CHARS = 2000


@dataclass
class Call:
    """One thing to run inside the sandbox.

    ``procedure == "call"``: ``getattr(<module>, func)(*args, **kwargs)``. Otherwise ``"<harness module>.<function>"``
    names a function in ``harness/<harness module>.py`` called as ``fn(student_module_or_None, *args, **kwargs)``.
    ``args``/``kwargs`` may hold anything :mod:`codec` encodes (arrays, numbers, str, tuples, lists, dicts).
    """
    id: str
    module: Optional[str]  # flat module imported from the workspace ("layers", "functions", "train", ...) or None
    procedure: str = "call"
    func: Optional[str] = None
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of one call. ``message`` is student-facing; ``value`` is the decoded return value (status "ok")."""
    status: str
    value: Any
    message: str
    seconds: float
    loaded: tuple = ()  # watched modules (run_calls(watch=...)) loaded in the process by the end of this call


def given_dir_default() -> Path:
    """The generated student tree: ``<source>/student`` inside the autograder zip; in a repository checkout, a fresh
    tree generated from the kit once per process (see :func:`_fresh_student_tree`)."""
    bundled = paths.REPO / "student"
    if bundled.is_dir():
        return bundled
    return _fresh_student_tree()


@lru_cache(maxsize=None)
def _fresh_student_tree() -> Path:
    """Generate the student tree from the kit into a private temp folder (about 0.1 s), once per process.

    Not build/student/: that folder goes stale whenever the kit changes (grading against an old copy gives wrong
    feedback), and parallel workers regenerating it would race each other.
    """
    from autograder.build import markers  # imported only when needed: the Gradescope layout has the tree already
    dst = Path(tempfile.mkdtemp(prefix="dlkit-student-")) / "student"
    markers.build_student_tree(paths.KIT, dst)
    atexit.register(shutil.rmtree, str(dst.parent), True)
    return dst


def _regular_files(folder: Path) -> List[Path]:
    """Regular files directly in ``folder`` (no links, no folders), sorted by name for determinism."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())


class Workspace:
    """The files a sandbox run starts from: a grader-owned staging folder (never executed in-process)."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="dlkit-ws-"))  # mode 0o700: the sandbox user cannot see it
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    @classmethod
    def for_part(cls, part, submission_dir: Path, given_dir: Optional[Path] = None) -> "Workspace":
        """The files a part's sandbox runs start from: the .py files of the part's given folders in the generated
        student tree (flattened: the kit's scripts import each other flat), the submission's files on top, and each
        file the part hands in under a workspace name of its own (e.g. <part>_nn.py -> nn.py) also under that name."""
        ws = cls()
        given = Path(given_dir) if given_dir is not None else given_dir_default()
        for sub in part.given_folders:
            for source in _regular_files(given / sub):
                if source.suffix == ".py":
                    ws.add_file(source.name, source)
        # Dotfiles (.DS_Store, editor backups) are never part of a submission's code.
        submitted = [p for p in _regular_files(Path(submission_dir)) if not p.name.startswith(".")]
        if len(submitted) > MAX_SUBMISSION_FILES:
            raise ValueError(f"submission has {len(submitted)} files (at most {MAX_SUBMISSION_FILES})")
        for source in submitted:
            ws.add_file(source.name, source)
        for hand_in in part.hand_in:
            source = Path(submission_dir) / hand_in.name
            if hand_in.workspace_name and source.is_file() and not source.is_symlink():
                ws.add_file(hand_in.workspace_name, source)
        return ws

    def add_file(self, name: str, content: Union[bytes, Path, str]) -> None:
        """Add (or replace) file ``name`` (a plain name, or a relative path such as ``pkg/mod.py``: its folders are
        made): bytes, or a path whose bytes are copied."""
        parts = name.split("/") if name else []
        if (not parts or "\\" in name or any(not part or part in (".", "..") or part.startswith(".")
                                              for part in parts)):
            raise ValueError(f"not a plain relative file name: {name!r}")
        target = self.path.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        if isinstance(content, (bytes, bytearray)):
            target.write_bytes(bytes(content))
        else:
            source = Path(content)
            if source.is_symlink() or not source.is_file():
                raise ValueError(f"{source} is not a regular file")
            shutil.copyfile(source, target)

    def add_tree(self, prefix: str, folder: Path) -> None:
        """Add every regular file under ``folder`` (dotfiles and links left out) under ``prefix/``."""
        for path in sorted(Path(folder).rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not path.is_symlink() and not any(p.startswith(".") for p in relative.parts):
                self.add_file(f"{prefix}/{relative.as_posix()}", path)

    def digest(self) -> str:
        """A hash of every file's name and bytes: two workspaces with the same digest behave the same."""
        sha = hashlib.sha256()
        for name, path in sorted(self.files().items()):
            sha.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        return sha.hexdigest()

    def files(self) -> Dict[str, Path]:
        """Relative name (``a.py``, ``pkg/mod.py``) -> path, every regular file of the workspace."""
        return {p.relative_to(self.path).as_posix(): p for p in sorted(self.path.rglob("*"))
                if p.is_file() and not p.is_symlink()}

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def cleanup(self) -> None:
        self._finalizer()


def static_imports(path: Path) -> set:
    """Top-level module names a Python file imports (``import a.b`` -> "a"; relative imports ignored). No execution.

    Raises SyntaxError when the file does not parse.
    """
    tree = ast.parse(Path(path).read_bytes(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            # __import__("torch") / importlib.import_module("torch") with a literal name
            fname = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if fname in ("__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                names.add(node.args[0].value.split(".")[0])
    return names


# --------------------------------------------------------------------------------------------------------------------
# Running calls


def _limits(overrides: Optional[dict]) -> dict:
    limits = dict(rubric.SANDBOX_LIMITS)
    limits.update(overrides or {})
    limits.setdefault("call_wall_seconds", limits["wall_seconds"])  # one call's wall limit
    limits.setdefault("call_cpu_seconds", limits["cpu_seconds"])  # one call's CPU limit
    limits.setdefault("batch_wall_seconds", 4 * limits["wall_seconds"])  # the whole batch, re-runs included
    limits.setdefault("memory_kind", "as")
    return limits


def _harness_files() -> Dict[str, Path]:
    files = {p.name: p for p in _regular_files(HARNESS_DIR) if p.suffix == ".py" and p.name != "__init__.py"}
    files["codec.py"] = Path(codec.__file__)  # the harness's own copy of the codec
    return files


def _read_outcome(base: Path, call: Call, max_npz_bytes: int) -> Outcome:
    """Read one harness outcome (untrusted: the student's process wrote it)."""
    def bad(why: str) -> Outcome:
        return Outcome("bad_output", None, f"the result could not be read back ({why})", 0.0)

    json_path = base.with_suffix(".json")
    if json_path.is_symlink() or json_path.stat().st_size > MAX_RESULT_JSON_BYTES:
        return bad("result too large")
    try:
        record = json.loads(json_path.read_bytes())
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: a forged, absurdly nested file
        return bad("malformed result file")
    if type(record) is not dict or record.get("id") != call.id or record.get("status") not in STATUSES:
        return bad("malformed result record")
    message = record.get("message")
    message = message[:MAX_MESSAGE_CHARS] if type(message) is str else ""
    seconds = record.get("seconds")
    seconds = float(seconds) if type(seconds) in (int, float) and np.isfinite(seconds) else 0.0
    status = record["status"]
    loaded = record.get("loaded")
    loaded = tuple(str(n)[:100] for n in loaded[:20]) if type(loaded) is list else ()
    if status != "ok":
        return Outcome(status, None, message, seconds, loaded)
    arrays: Dict[str, np.ndarray] = {}
    npz = base.with_suffix(".npz")
    if npz.exists():
        if npz.is_symlink() or npz.stat().st_size > max_npz_bytes:
            return bad("result arrays too large")
        try:
            with zipfile.ZipFile(npz) as archive:
                if sum(info.file_size for info in archive.infolist()) > max_npz_bytes:
                    return bad("result arrays too large")
            with np.load(npz, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            return bad(f"unreadable arrays: {type(exc).__name__}")
    try:
        value = codec.decode(record.get("value"), arrays)
    except codec.CodecError as exc:
        return bad(str(exc))
    return Outcome("ok", value, message, seconds, loaded)


class _Watch:
    """Polled by the sandbox: tracks which call is running (n.start files) and enforces the per-call limits."""

    def __init__(self, out_dir: Path, limits: dict, deadline: float):
        self.out_dir, self.limits, self.deadline = out_dir, limits, deadline
        self.current = -1  # the highest call index that has started
        self.started_at = time.monotonic()
        self.cpu_at_start = 0.0
        self.reason: Optional[str] = None  # "timeout: ..." once the watch asked for a kill

    def _cpu(self, main: psutil.Process) -> float:
        total = 0.0
        for proc in [main] + main.children(recursive=True):
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                continue
        return total

    def __call__(self, main: psutil.Process) -> Optional[str]:
        nxt = self.current + 1
        while (self.out_dir / f"{nxt}.start").exists():
            self.current, nxt = nxt, nxt + 1
            self.started_at = time.monotonic()
            self.cpu_at_start = self._cpu(main)
        now = time.monotonic()
        if now > self.deadline:
            self.reason = "batch"
        elif now - self.started_at > self.limits["call_wall_seconds"]:
            self.reason = f"did not finish within {self.limits['call_wall_seconds']:g} s (wall clock)"
        elif self._cpu(main) - self.cpu_at_start > self.limits["call_cpu_seconds"]:
            self.reason = f"used more than {self.limits['call_cpu_seconds']:g} s of CPU time"
        return self.reason


def _failure_of_run(result: sandbox.Result, watch: _Watch, limits: dict, overall: bool = False) -> Outcome:
    """The outcome of the call that was running when the sandbox process ended without writing its result
    (``overall``: the batch's deadline is the grading's own)."""
    if watch.reason == "batch":
        if overall:
            return Outcome("timeout", None, f"not finished: the autograder's overall time limit "
                           f"({rubric.GRADING_WALL_SECONDS:g} s) ran out", 0.0)
        return Outcome("timeout", None, "not finished: the time limit for this group of checks ran out", 0.0)
    if watch.reason:
        return Outcome("timeout", None, watch.reason, time.monotonic() - watch.started_at)
    if result.killed and result.killed.startswith("disk: "):
        return Outcome("error", None, result.killed[len("disk: "):] + " (the limit for files written while grading)",
                       0.0)
    if result.killed == "wall":
        return Outcome("timeout", None, f"the run did not finish within {limits['wall_seconds']:g} s", 0.0)
    sig = result.signal
    if sig == signal.SIGXCPU:  # the process-wide CPU rlimit (a backstop behind the per-call watch)
        return Outcome("timeout", None, "used too much CPU time", 0.0)
    tail = result.stderr.strip().splitlines()[-1:] or [""]
    if "MemoryError" in tail[0] or "std::bad_alloc" in result.stderr:
        return Outcome("memory", None, f"ran out of memory (limit {limits['memory_mb']:g} MB)", 0.0)
    if sig == signal.SIGKILL:  # not sent by the grader (that sets result.killed): the kernel's OOM killer
        return Outcome("memory", None, "the Python process was killed, most likely for using too much memory", 0.0)
    if sig is not None:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return Outcome("crashed", None, f"the Python process crashed ({name})", 0.0)
    return Outcome("crashed", None, f"the Python process exited (exit code {result.returncode}) during this call: "
                   "do not call os._exit/exit in graded functions", 0.0)


OUT_OF_TIME = "not run: the autograder's overall time limit ({seconds:g} s) ran out before this check"


def run_calls(ws: Workspace, calls: List[Call], *, limits: Optional[dict] = None, watch: Sequence[str] = (),
              session=None) -> Dict[str, Outcome]:
    """Run ``calls`` on the workspace in the sandbox and return call id -> Outcome (every id present).

    ``limits`` overrides ``rubric.SANDBOX_LIMITS`` keys, plus: ``call_wall_seconds`` / ``call_cpu_seconds`` (one call;
    default wall_seconds / cpu_seconds), ``batch_wall_seconds`` (the whole batch; default 4 x wall_seconds),
    ``memory_kind`` ("as" for numpy jobs, "data" for torch jobs). ``watch``: top-level module names; each outcome's
    ``loaded`` lists those that the process had imported (or tried to) by the end of that call. ``session``: the
    grading this run belongs to (session.Session): its deadline, the paths it hides from the sandbox, and where the
    isolation notes and the imports that hung go; None: no overall deadline, nothing kept.
    """
    deadline_all = session.deadline if session is not None else None
    import_failures = session.import_failures if session is not None else {}
    ids = [c.id for c in calls]
    if len(set(ids)) != len(ids):
        raise ValueError("call ids must be unique")
    for call in calls:
        if call.procedure != "call" and call.procedure.count(".") != 1:
            raise ValueError(f"procedure must be 'call' or '<harness module>.<function>', not {call.procedure!r}")
    lim = _limits(limits)
    outcomes: Dict[str, Outcome] = {}
    # The cache key holds the limits too: an import too slow for one batch's limits may fit another's.
    digest = (ws.digest(), lim["call_wall_seconds"], lim["call_cpu_seconds"], lim["memory_mb"], lim["memory_kind"])
    for call in calls:
        known = import_failures.get((digest, call.module))
        if known is not None:
            outcomes[call.id] = known
    pending = [c for c in calls if c.id not in outcomes]
    deadline = time.monotonic() + lim["batch_wall_seconds"]
    overall = deadline_all is not None and deadline_all < deadline
    if overall:
        deadline = deadline_all
    harness = _harness_files()
    while pending:
        if time.monotonic() >= deadline:
            why = (OUT_OF_TIME.format(seconds=rubric.GRADING_WALL_SECONDS) if overall
                   else "not run: the time limit for this group of checks ran out")
            for call in pending:
                outcomes[call.id] = Outcome("timeout", None, why, 0.0)
            break
        done, failed_at, failure, phase = _one_run(ws, pending, lim, deadline, harness, watch, session, overall)
        outcomes.update(done)
        remaining = [c for c in pending if c.id not in outcomes]
        if not remaining:
            break
        if failed_at is None:
            # The harness died before starting any call: an environment problem, not the student's doing.
            for call in remaining:
                outcomes[call.id] = Outcome("crashed", None, f"the checker could not start: {failure.message}", 0.0)
            break
        culprit = pending[failed_at]
        if phase == "import" and culprit.module:
            failure = Outcome(failure.status, None, f"{culprit.module}.py: while importing it: {failure.message}",
                              failure.seconds)
            import_failures[(digest, culprit.module)] = Outcome(failure.status, None, failure.message, 0.0)
        outcomes[culprit.id] = failure
        if failure.status == "timeout" and phase == "call" and culprit.procedure == "call":
            # A function that ran out of time once nearly always loops on every input: do not spend the batch's
            # time waiting for it again (deterministic: it depends only on which call timed out).
            for call in remaining:
                if (call.module, call.procedure, call.func) == (culprit.module, "call", culprit.func):
                    outcomes.setdefault(call.id, Outcome("timeout", None, f"not run: {culprit.func} already ran out "
                                                         f"of time on an earlier input ({failure.message})", 0.0))
        if phase == "import" and culprit.module:
            # The module's import itself hung or crashed: every call that needs it would do the same.
            for call in remaining:
                if call.module == culprit.module and call.id not in outcomes:
                    outcomes[call.id] = Outcome(failure.status, None,
                                                failure.message, 0.0)
        pending = [c for c in remaining if c.id not in outcomes]
    return {call.id: outcomes[call.id] for call in calls}


def _one_run(ws: Workspace, pending: List[Call], lim: dict, deadline: float, harness: Dict[str, Path],
             watch: Sequence[str] = (), session=None, overall: bool = False):
    """One sandbox process over ``pending``. Returns (outcomes read, index of the unfinished call or None, its
    failure Outcome, the phase it was in)."""
    tree, arrays = codec.encode([(tuple(c.args), dict(c.kwargs)) for c in pending])
    job = {"calls": [{"id": c.id, "module": c.module, "procedure": c.procedure, "func": c.func} for c in pending],
           "payload": tree, "watch": [str(name) for name in watch]}
    run_dir = sandbox.make_run_dir(ws.files())
    try:
        inputs = run_dir.root / "inputs.npz"
        with open(inputs, "wb") as handle:
            np.savez(handle, **arrays)
        job_dir = run_dir.add_readonly("job", {"job.json": json.dumps(job).encode("utf-8"), "inputs.npz": inputs})
        inputs.unlink()
        harness_dir = run_dir.add_readonly("harness", harness)
        out_dir = run_dir.add_writable("out")
        watch = _Watch(out_dir, lim, deadline)
        # The CPU rlimit is a backstop for the whole process; the watch enforces the per-call budget.
        run_limits = dict(lim, cpu_seconds=int(lim["call_cpu_seconds"] * len(pending) + 5))
        result = sandbox.run([sys.executable, "-B", "-s", str(harness_dir / "run_calls.py"), str(job_dir),
                              str(out_dir)], run_dir=run_dir, limits=run_limits, memory_kind=lim["memory_kind"],
                             watch=watch, wall_seconds=max(0.1, deadline - time.monotonic()),
                             disk_dirs=[out_dir], hidden=session.hidden if session is not None else ())
        if session is not None:
            session.isolation_notes.update(result.notes)
        done: Dict[str, Outcome] = {}
        for n, call in enumerate(pending):
            base = out_dir / str(n)
            if not base.with_suffix(".json").exists():
                if not (out_dir / f"{n}.start").exists():
                    if n == 0 and watch.reason is None and result.killed is None:
                        return done, None, _startup_failure(result), None
                    return done, n, _failure_of_run(result, watch, lim, overall), None
                phase = _read_phase(out_dir / f"{n}.start")
                return done, n, _failure_of_run(result, watch, lim, overall), phase
            done[call.id] = _read_outcome(base, call, int(lim["max_file_bytes"]))
        return done, None, None, None
    finally:
        run_dir.cleanup()


def _read_phase(path: Path) -> Optional[str]:
    try:
        if path.stat().st_size > 100:
            return None
        return json.loads(path.read_bytes()).get("phase")
    except (OSError, ValueError, AttributeError):
        return None


def _startup_failure(result: sandbox.Result) -> Outcome:
    tail = "\n".join(result.stderr.strip().splitlines()[-3:])
    return Outcome("crashed", None, f"exit code {result.returncode}: {tail}"[:MAX_MESSAGE_CHARS], 0.0)
