"""Runs a job of calls on a student's modules. This file runs INSIDE the sandbox, next to the student's files.

Usage (by autograder.grading.student_code only): ``python run_calls.py JOB_DIR OUT_DIR`` with the workspace as cwd.

JOB_DIR/job.json: {"calls": [{"id", "module", "procedure", "func"}...], "payload": <codec tree>} and JOB_DIR/inputs.npz
hold the calls; the payload decodes to a list with one ``[args_tuple, kwargs_dict]`` per call.

For call number n (its position in the job) the harness writes, each atomically (temp file + rename):
    OUT_DIR/n.start   {"phase": "import"} before importing the call's module, {"phase": "call"} before calling
    OUT_DIR/n.npz     the arrays of the returned value (np.savez, no pickle)
    OUT_DIR/n.json    {"id", "status", "message", "seconds", "value"} -- written last: its presence means "done"

Nothing here decides a score: the student's code runs in this process and may have patched anything, so the harness
only sends raw values back and the grading process does every comparison. The harness's own modules (this file, the
codec copy, the *_procedures modules) live in a read-only folder that comes first on sys.path; the student's files are
imported from the cwd. The harness prints nothing: the student's prints go to a capped log.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback

HARNESS_DIR = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.abspath(os.getcwd())
MESSAGE_CHARS = 2000  # student-facing messages are cut to this length

# sys.path: the harness folder first (so a student file cannot shadow codec or a procedures module), then the
# workspace for the student's flat modules (``from layers import fc_forward``).
sys.path[:] = [HARNESS_DIR, WORKSPACE] + [p for p in sys.path if p not in ("", HARNESS_DIR, WORKSPACE)]

import numpy as np  # noqa: E402  (after the sys.path fix on purpose)

import codec  # noqa: E402  (the harness's own copy of autograder/grading/codec.py)

# Bind what the harness needs now: the student may later replace module attributes (json.dumps, np.savez, ...).
_dumps = json.dumps
_replace = os.replace
_savez = np.savez
_perf = time.perf_counter
_encode = codec.encode
_sys_modules = sys.modules


class _ImportLog:
    """A meta-path finder that finds nothing and only notes which watched top-level modules were asked for.

    Together with a look at sys.modules after every call, it tells the grader which call loaded a watched module
    (a framework in Section 1), however the import was spelled (``__import__("tor" + "ch")`` included).
    """

    def __init__(self):
        self.watch = frozenset()
        self.seen = set()

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in self.watch:
            self.seen.add(top)
        return None


_import_log = _ImportLog()


WATCH_REMOVED = "a module it hid (it removed the checker's import watch)"


def _loaded_watched() -> list:
    """The watched top-level modules asked for or present in sys.modules (any submodule counts) so far, sorted."""
    present = {name.partition(".")[0] for name in list(_sys_modules)} & _import_log.watch
    if not any(finder is _import_log for finder in sys.meta_path):
        _import_log.seen.add(WATCH_REMOVED)
    return sorted(present | _import_log.seen)


def _write_atomic(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    _replace(tmp, path)


def _in_workspace(filename: str) -> bool:
    path = os.path.abspath(filename)
    return path.startswith(WORKSPACE + os.sep) and not path.startswith(HARNESS_DIR + os.sep)


def _describe(exc: BaseException) -> str:
    """'TypeError: text (model.py, line 42, in forward: `out = x @ w`)': the deepest frame in a workspace file."""
    text = str(exc)
    head = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    where = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if _in_workspace(frame.filename):
            where = frame
    if where is None and isinstance(exc, SyntaxError) and exc.filename and _in_workspace(exc.filename):
        head += f" ({os.path.basename(exc.filename)}, line {exc.lineno})"
    elif where is not None:
        code = f": `{where.line.strip()}`" if where.line else ""
        head += f" ({os.path.basename(where.filename)}, line {where.lineno}, in {where.name}{code})"
    return head[:MESSAGE_CHARS]


class _ImportFailure(Exception):
    """A student module that could not be imported; cached so later calls report the same reason quickly."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


_modules: dict = {}


def _import_student(name: str):
    if name in _modules:
        cached = _modules[name]
        if isinstance(cached, _ImportFailure):
            raise cached
        return cached
    filename = f"{name}.py"
    if not os.path.isfile(os.path.join(WORKSPACE, filename)):
        failure = _ImportFailure("import_error", f"{filename}: file not found in the submission")
    else:
        try:
            _modules[name] = importlib.import_module(name)
            return _modules[name]
        except MemoryError:
            failure = _ImportFailure("memory", f"{filename}: ran out of memory while being imported")
        except SystemExit as exc:
            failure = _ImportFailure("import_error", f"{filename}: called sys.exit({exc.code!r}) while being imported")
        except BaseException as exc:  # any failure of the student's module-level code is reported, never raised
            failure = _ImportFailure("import_error", f"{filename}: could not be imported: {_describe(exc)}")
    _modules[name] = failure
    raise failure


_procedures: dict = {}


def _bind_procedures(calls: list) -> None:
    """Import every harness procedure the job names BEFORE any student module, keep the functions, and take their
    modules out of sys.modules: a student's ``import section3a_procedures`` then loads a fresh copy, and patching it
    changes nothing the harness calls. (Code set on cheating its checker can still reach it; the grader trusts only
    what it can recompute from the data sent back.)"""
    for call in calls:
        procedure = call.get("procedure") or "call"
        if procedure != "call" and procedure not in _procedures:
            harness_module, _, fn_name = procedure.rpartition(".")
            _procedures[procedure] = getattr(importlib.import_module(harness_module), fn_name)
    for name in {p.rpartition(".")[0] for p in _procedures}:
        _sys_modules.pop(name, None)


def _run_one(call: dict, args: tuple, kwargs: dict):
    """Returns (status, message, value)."""
    module = None
    if call.get("module"):
        module = _import_student(call["module"])
    procedure = call.get("procedure") or "call"
    if procedure == "call":
        if module is None or not call.get("func"):
            return "error", "internal: a plain call needs a module and a function name", None
        func = getattr(module, call["func"], None)
        if func is None:
            return "error", f"{call['module']}.py has no function {call['func']}", None
        return "ok", "", func(*args, **kwargs)
    return "ok", "", _procedures[procedure](module, *args, **kwargs)


def main(job_dir: str, out_dir: str) -> int:
    with open(os.path.join(job_dir, "job.json"), "rb") as handle:
        job = json.loads(handle.read())
    with np.load(os.path.join(job_dir, "inputs.npz"), allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    payload = codec.decode(job["payload"], arrays)
    _bind_procedures(job["calls"])
    _import_log.watch = frozenset(str(name) for name in job.get("watch") or ())
    if _import_log.watch:
        sys.meta_path.insert(0, _import_log)
    for n, call in enumerate(job["calls"]):
        base = os.path.join(out_dir, str(n))
        args, kwargs = payload[n]
        _write_atomic(base + ".start", b'{"phase": "import"}')
        start = _perf()
        value = None
        try:
            if call.get("module"):
                _import_student(call["module"])
            _write_atomic(base + ".start", b'{"phase": "call"}')
            start = _perf()
            status, message, value = _run_one(call, args, kwargs)
        except _ImportFailure as failure:
            status, message = failure.status, failure.message
        except NotImplementedError as exc:
            status, message = "not_implemented", f"not attempted (raises NotImplementedError: {exc})"[:MESSAGE_CHARS]
        except MemoryError:
            status, message = "memory", "ran out of memory"
        except SystemExit as exc:
            status, message = "error", f"called sys.exit({exc.code!r})"
        except BaseException as exc:  # the student's exception, reported with its own frame
            status, message = "error", _describe(exc)
        seconds = _perf() - start
        arrays_out = {}
        tree = None
        if status == "ok":
            try:
                tree, arrays_out = _encode(value)
            except codec.CodecError as exc:
                status, message = "bad_output", f"returned something that cannot be checked: {exc}"[:MESSAGE_CHARS]
            except MemoryError:
                status, message = "memory", "ran out of memory while sending the result back"
        value = None  # drop the student's object before writing (frees memory for savez)
        if arrays_out:
            tmp = base + ".npz.tmp"
            with open(tmp, "wb") as handle:
                _savez(handle, **arrays_out)
            _replace(tmp, base + ".npz")
        record = {"id": call["id"], "status": status, "message": message, "seconds": seconds, "value": tree}
        if _import_log.watch:
            record["loaded"] = _loaded_watched()  # the grader blames the first call whose list is not empty
        _write_atomic(base + ".json", _dumps(record).encode("utf-8"))
    return 0


if __name__ == "__main__":
    # os._exit: skip interpreter shutdown, where a student's atexit hook or __del__ could still run and hang.
    code = main(sys.argv[1], sys.argv[2])
    sys.stdout.flush()
    os._exit(code)
