"""Runs untrusted code out of process: unprivileged user, rlimits, wall timeout, capped output, full cleanup.

What one sandboxed run gets:

* **User.** When the grader runs as root, each run gets an unprivileged user of its own: uid = gid = an id from a
  private range (``RUN_ID_RANGE``, like the box ids of the IOI ``isolate`` sandbox; no account is needed), leased
  (flock) by :func:`make_run_dir` until the run folder is cleaned up, with no supplementary groups. So runs in
  parallel (batch regrade) cannot signal, ptrace or read each other (ptrace between processes of one uid is allowed
  where ``kernel.yama.ptrace_scope`` is 0), and "every process of this uid" names exactly this run's processes, even
  after a ``setsid``/double-fork escape. When the grader is not root, the child runs as the current user and the run
  records ``ISOLATION_REDUCED``; cleanup then finds escaped processes by a per-run token in their environment
  (weaker: a process can exec with a new environment).
* **Limits** (``resource``): RLIMIT_CPU (soft, then hard +2 s), memory as RLIMIT_AS (numpy jobs) or RLIMIT_DATA
  (torch jobs: the CUDA build of torch reserves far more address space than it uses) chosen per run with
  ``memory_kind``, RLIMIT_NPROC (processes already owned by the uid + ``max_processes``: the limit counts every task
  of the uid, which is the run's own when the grader is root), RLIMIT_FSIZE, RLIMIT_NOFILE,
  RLIMIT_CORE = 0. A new session (own process group).
* **Wall clock.** The caller's ``watch`` callback is polled (every ``POLL_SECONDS``) and may ask for a kill; a run
  also has an overall wall limit. On exit or kill, the process group and every process of the run (see "User") are
  SIGKILLed, repeatedly until none is left.
* **Environment.** Minimal: PATH, HOME (= the workspace), USER/LOGNAME, LANG, one thread for OMP/OpenBLAS/MKL, MPLBACKEND=Agg,
  PYTHONDONTWRITEBYTECODE, PYTHONHASHSEED=0, PYTHONNOUSERSITE. stdin is /dev/null; stdout and stderr are pipes of
  which only the first ``max_output_bytes`` are kept (the rest is read and dropped, so a flood cannot fill a disk).
* **Files.** :func:`make_run_dir` creates a fresh folder under the system temp dir (never under /root): a root-owned,
  traverse-only parent holding read-only inputs and the few folders the run's user owns. The grader's results folder
  and source are never made writable to it; :func:`hide_from_sandbox` closes a folder to "others" (Gradescope run).
"""
from __future__ import annotations

import fcntl
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import psutil

from autograder import resources
from autograder.grading.faults import AutograderFault

ISOLATION_REDUCED = "isolation reduced: not running as root"
RUN_ID_RANGE = range(61000, 61999)  # per-run uid = gid (need no /etc/passwd entry)
PROBE_ID = 61999  # the id of the one-off interpreter check (never leased to a run)
POLL_SECONDS = 0.02
TOKEN_VAR = "DLKIT_SANDBOX_RUN"
MIB = 1024 * 1024


class SandboxError(AutograderFault):
    """The sandbox itself cannot work (e.g. the sandbox user cannot run the interpreter): an autograder fault."""


def _lock_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"dlkit-sandbox-locks-{os.geteuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@lru_cache(maxsize=None)
def privileged_grader() -> bool:
    """Whether sandboxed code runs as users of its own (the grader is root) or as the grader's own user. Checked once
    per process: as root, an unprivileged uid must be able to run this interpreter with numpy."""
    if os.geteuid() != 0:
        return False
    _check_interpreter(PROBE_ID)
    return True


def probe() -> str:
    """The grader's own check of the sandbox, by the code path grading uses: as root, the uid probe of
    :func:`privileged_grader`, then one tiny sandboxed run (a leased per-run uid, a run folder, the rlimits, the
    private namespace where available) of this interpreter importing numpy. Returns a one-line summary; raises
    SandboxError when the sandbox cannot run (setup.sh and the Gradescope run call it before grading)."""
    privileged = privileged_grader()
    run_dir = make_run_dir({})
    try:
        limits = {"cpu_seconds": 60, "wall_seconds": 120, "memory_mb": 2048, "max_processes": 64,
                  "max_output_bytes": 4096, "max_file_bytes": MIB}
        result = run([sys.executable, "-B", "-s", "-c", "import numpy; print('numpy', numpy.__version__)"],
                     run_dir=run_dir, limits=limits)
    finally:
        run_dir.cleanup()
    if result.returncode != 0 or not result.stdout.startswith("numpy "):
        raise SandboxError(f"a sandboxed run (uid {run_dir.uid}) of {sys.executable} -c 'import numpy' failed: exit "
                           f"{result.returncode}, killed={result.killed}, output: "
                           f"{(result.stdout + result.stderr).strip()[-500:] or '(none)'}")
    who = f"per-run uid {run_dir.uid}" if privileged else f"the grader's own uid {run_dir.uid} ({ISOLATION_REDUCED})"
    flags = namespace_flags()
    where = "private mount namespace" if flags else "no private mount namespace (permissions only)"
    return (f"sandbox ok: {sys.executable} imports {result.stdout.strip()} as {who}, {where}, "
            f"{result.wall_seconds:.2f} s")


def _drop_to(uid: int) -> None:
    """In a child still running as root: become uid = gid ``uid`` with no supplementary groups."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _check_interpreter(uid: int) -> None:
    advice = ("the venv's base interpreter and site-packages must be readable and executable by others (not under a "
              "private home such as /root)")
    try:
        probe = subprocess.run([sys.executable, "-B", "-s", "-c", "import numpy"], cwd="/",
                               preexec_fn=lambda: _drop_to(uid), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env={"PATH": "/usr/bin:/bin", "HOME": "/"}, timeout=120)
    except OSError as exc:  # e.g. PermissionError: the interpreter cannot even be executed by that uid
        raise SandboxError(f"an unprivileged user (uid {uid}) cannot run {sys.executable}: {exc} -- {advice}") from exc
    if probe.returncode != 0:
        raise SandboxError(f"an unprivileged user (uid {uid}) cannot run {sys.executable} with numpy: "
                           f"{probe.stdout.decode(errors='replace')[-500:]} -- {advice}")


# ---- Hiding the grader's files: a private mount namespace (where the kernel lets us) -------------------------------

_CLONE_NEWNS, _CLONE_NEWNET = 0x00020000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 8, 4096, 16384, 1 << 18
def hidden_paths(extra: Sequence[Path] = ()) -> List[Path]:
    """What a sandbox run cannot see: every top-level entry of the autograder source tree except the folder holding
    the interpreter's environment (the reference kit, autograder/, build/, dist/, tests/, ...), plus ``extra`` (the
    grading's own: Gradescope's results and submission folders)."""
    from autograder import paths  # local import: the sandbox module itself does not depend on the repository layout
    prefix = Path(sys.prefix).resolve()
    hidden = []
    for entry in sorted(paths.REPO.iterdir()):
        resolved = entry.resolve()
        if resolved == prefix or prefix.is_relative_to(resolved) or entry.is_symlink():
            continue
        hidden.append(resolved)
    return hidden + [Path(p).resolve() for p in extra if Path(p).exists()]


def _libc():
    import ctypes
    return ctypes.CDLL(None, use_errno=True)


def _enter_private_namespace(libc, flags: int, hide: Sequence[bytes], hide_files: Sequence[bytes]) -> None:
    """In the child (still root): new mount (+ network) namespace, grader paths covered. Raises OSError."""
    import ctypes
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    for target in hide:
        if libc.mount(b"tmpfs", target, b"tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
                      b"size=4k,mode=000") != 0:
            raise OSError(ctypes.get_errno(), f"mount tmpfs on {target!r}")
    for target in hide_files:
        if libc.mount(b"/dev/null", target, None, _MS_BIND, None) != 0:
            raise OSError(ctypes.get_errno(), f"bind /dev/null on {target!r}")


@lru_cache(maxsize=None)
def namespace_flags() -> Optional[int]:
    """The unshare flags that work here (mount + network, or mount only), or None (then only file permissions
    protect the grader's files). Probed once, in a throw-away child. ``AUTOGRADER_SANDBOX_NAMESPACES=0`` turns them
    off (to test the permission-only protection that a Docker image without CAP_SYS_ADMIN gets)."""
    if os.geteuid() != 0 or os.environ.get("AUTOGRADER_SANDBOX_NAMESPACES") == "0":
        return None
    libc = _libc()
    for flags in (_CLONE_NEWNS | _CLONE_NEWNET, _CLONE_NEWNS):
        pid = os.fork()
        if pid == 0:  # child: try, report by exit status, never return into the grader
            try:
                _enter_private_namespace(libc, flags, [], [])
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            return flags
    return None


class _RunId:
    """An id from RUN_ID_RANGE held (flock) for as long as the run folder lives, so parallel runs never share one."""

    def __init__(self) -> None:
        self._handle = None
        start = secrets.randbelow(len(RUN_ID_RANGE))
        for k in range(len(RUN_ID_RANGE)):
            run_id = RUN_ID_RANGE[(start + k) % len(RUN_ID_RANGE)]
            handle = open(_lock_dir() / f"id-{run_id}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self.id = run_id
            self._handle = handle
            return
        raise SandboxError("no free sandbox user id")

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


@dataclass
class RunDir:
    """A fresh folder for one run: ``root`` (grader-owned, 0o711) with ``work`` (the cwd) and any other folders, and
    the user the run executes as (``uid``; ``gid`` is the same id, or None when the grader is not root)."""
    root: Path
    work: Path
    uid: int
    gid: Optional[int]
    _lease: Optional[_RunId] = None

    def add_writable(self, name: str) -> Path:
        """A folder the run's user owns (e.g. where the harness writes outcomes)."""
        path = self.root / name
        path.mkdir(mode=0o700)
        self._give(path)
        return path

    def add_readonly(self, name: str, files: Dict[str, object]) -> Path:
        """A folder of read-only copies: name -> bytes or a Path to copy. Owned by the grader."""
        path = self.root / name
        path.mkdir(mode=0o755)
        for fname, content in files.items():
            target = path / fname
            if isinstance(content, (bytes, bytearray)):
                target.write_bytes(bytes(content))
            else:
                shutil.copyfile(content, target)  # copies bytes, never follows into a link in the target
            target.chmod(0o444)
        path.chmod(0o555)
        return path

    def _give(self, path: Path) -> None:
        if self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        if self._lease is not None:
            self._lease.release()
            self._lease = None


def make_run_dir(work_files: Dict[str, Path]) -> RunDir:
    """A fresh run folder whose ``work`` holds copies of ``work_files`` (relative name -> source path), owned by the
    run's user (leased here, released by :meth:`RunDir.cleanup`)."""
    lease = _RunId() if privileged_grader() else None
    # Not tempfile.gettempdir(): a grader's TMPDIR may sit under a private home the sandbox user cannot traverse.
    root = Path(tempfile.mkdtemp(prefix="dlkit-run-", dir=os.environ.get("AUTOGRADER_SANDBOX_TMP", "/tmp")))
    root.chmod(0o711)  # the run's user may traverse to its folders but not list the parent
    run_dir = RunDir(root, root / "work", lease.id if lease else os.getuid(), lease.id if lease else None, lease)
    run_dir.work.mkdir(mode=0o700)
    for name, source in work_files.items():  # names may be relative paths: their folders are the run's user's too
        target = run_dir.work / name
        folder = target.parent
        missing = []
        while folder != run_dir.work and not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for made in reversed(missing):
            made.mkdir(mode=0o700)
            run_dir._give(made)
        shutil.copyfile(source, target)
        target.chmod(0o600)
        run_dir._give(target)
    run_dir._give(run_dir.work)
    return run_dir


def hide_from_sandbox(path: Path) -> bool:
    """Close a grader file or folder to 'others' (the sandbox user) when running as root (the Gradescope run; never
    used on a shared checkout). Returns whether it changed anything."""
    path = Path(path)
    if os.geteuid() != 0 or path.is_symlink() or not path.exists():
        return False
    mode = path.stat().st_mode & 0o777
    path.chmod(mode & 0o770)
    return True


@dataclass
class Result:
    """How one sandboxed process ended."""
    returncode: Optional[int]  # exit code, or -signal when killed by a signal (None never after run())
    killed: Optional[str]  # why the grader killed it ("wall", "watch: <reason>"), or None
    stdout: str
    stderr: str
    wall_seconds: float
    cpu_seconds: float  # of the main process (children included where reaped)
    notes: List[str] = field(default_factory=list)  # e.g. ISOLATION_REDUCED

    @property
    def signal(self) -> Optional[int]:
        return -self.returncode if self.returncode is not None and self.returncode < 0 else None


class _CappedReader(threading.Thread):
    """Reads a pipe to its end, keeping only the first ``cap`` bytes."""

    def __init__(self, stream, cap: int):
        super().__init__(daemon=True)
        self.stream, self.cap, self.kept, self.dropped = stream, cap, bytearray(), 0

    def run(self) -> None:
        while True:
            chunk = self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536)
            if not chunk:
                break
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))
        self.stream.close()

    def text(self) -> str:
        text = self.kept.decode("utf-8", errors="replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output dropped]"
        return text


def _uid_task_count(uid: int) -> int:
    total = 0
    for proc in psutil.process_iter(["uids", "num_threads"]):
        info = proc.info
        if info["uids"] is not None and info["uids"].real == uid:
            total += info["num_threads"] or 1
    return total


def _members(uid: int, gid: Optional[int], token: str, pgid: int) -> List[psutil.Process]:
    """Every live process of this run: same uid and the run's gid (root), or carrying the run token (not root)."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter(["uids", "gids", "status"]):
        try:
            info = proc.info
            # Zombies are already dead (waiting for a reaper that may never come in a container without init).
            if proc.pid == me or info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if info["uids"] is None or info["uids"].real != uid:
                continue
            if gid is not None:
                if gid in (info["gids"].real, info["gids"].effective):
                    found.append(proc)
            else:
                try:
                    same_group = os.getpgid(proc.pid) == pgid
                except OSError:
                    same_group = False
                if same_group or proc.environ().get(TOKEN_VAR) == token:
                    found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _kill_all(uid: int, gid: Optional[int], token: str, pgid: int) -> None:
    """SIGKILL the process group and every process of the run until two scans in a row find none."""
    quiet = 0
    for _ in range(200):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        members = _members(uid, gid, token, pgid)
        for proc in members:
            try:
                proc.send_signal(signal.SIGSTOP)  # freeze first so a fork bomb cannot outrun the kills
            except psutil.Error:
                pass
        for proc in members:
            try:
                proc.kill()
            except psutil.Error:
                pass
        quiet = quiet + 1 if not members else 0
        if quiet >= 2:
            return
        time.sleep(0.01)


SHARED_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
DEFAULT_MAX_DISK_BYTES = 512 * MIB  # total bytes a run may write under its work folder (limits["max_disk_bytes"])
DISK_CHECK_SECONDS = 0.1


def _tree_bytes(root: Path, stop_above: int) -> int:
    """Total size of the regular files under ``root`` (stops counting once above ``stop_above``)."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
            if total > stop_above:
                return total
    return total


def _remove_leftovers(uid: int, gid: int) -> None:
    """Delete what this run left in the shared temp folders (entries owned by the sandbox uid with the run's gid),
    so nothing carries over into the next run (determinism) or piles up (disk, and /dev/shm is memory)."""
    for folder in SHARED_TMP_DIRS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
                if info.st_uid != uid or info.st_gid != gid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue


def run(argv: Sequence[str], *, run_dir: RunDir, limits: Dict[str, float], memory_kind: str = "as",
        watch: Optional[Callable[[psutil.Process], Optional[str]]] = None,
        wall_seconds: Optional[float] = None, disk_dirs: Sequence[Path] = (), hidden: Sequence[Path] = ()) -> Result:
    """Run ``argv`` sandboxed in ``cwd`` and wait for it (and everything it started) to end.

    Args:
        argv: the command; ``argv[0]`` is normally ``sys.executable``.
        run_dir: from :func:`make_run_dir`: its ``work`` folder is the cwd and HOME, its user runs the code.
        limits: ``rubric.SANDBOX_LIMITS``-style dict: cpu_seconds, wall_seconds, memory_mb, max_processes,
            max_output_bytes, max_file_bytes.
        memory_kind: "as" (RLIMIT_AS: numpy jobs) or "data" (RLIMIT_DATA: torch jobs).
        watch: called with the main process every POLL_SECONDS; returning a string kills the run with that reason.
        wall_seconds: overall wall limit (default ``limits["wall_seconds"]``).
        disk_dirs: other folders the run may write, counted with ``cwd`` against ``limits["max_disk_bytes"]``.
        hidden: grader paths besides the source tree the run must not see (see :func:`hidden_paths`).
    """
    if memory_kind not in ("as", "data"):
        raise ValueError(f"memory_kind must be 'as' or 'data', not {memory_kind!r}")
    cwd, uid, gid = run_dir.work, run_dir.uid, run_dir.gid
    notes = [] if gid is not None else [ISOLATION_REDUCED]
    token = secrets.token_hex(8)
    cpu = int(limits["cpu_seconds"])
    memory = int(limits["memory_mb"] * MIB)
    nproc = _uid_task_count(uid) + int(limits["max_processes"])
    fsize = int(limits["max_file_bytes"])
    wall = float(wall_seconds if wall_seconds is not None else limits["wall_seconds"])

    flags = namespace_flags()
    hide_dirs: List[bytes] = []
    hide_files: List[bytes] = []
    if flags is not None:
        for path in hidden_paths(hidden):
            (hide_dirs if path.is_dir() else hide_files).append(os.fsencode(path))
    elif gid is not None:
        notes.append("isolation reduced: no private mount namespace (grader files protected by permissions only)")
    libc = _libc() if flags is not None else None

    def preexec() -> None:  # runs in the child between fork and exec
        if flags is not None:
            _enter_private_namespace(libc, flags, hide_dirs, hide_files)
        os.setsid()
        os.umask(0o077)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
        kind = resource.RLIMIT_AS if memory_kind == "as" else resource.RLIMIT_DATA
        resource.setrlimit(kind, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if gid is not None:
            _drop_to(uid)

    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(cwd),
        "TMPDIR": str(cwd),
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "LANG": "C.UTF-8",
        # thread pools sized to the CPUs the grader may use (1 on Gradescope's 0.5 vCPU), large blocks unmapped
        **resources.compute_env(),
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONNOUSERSITE": "1",
        TOKEN_VAR: token,
    }
    cap = int(limits["max_output_bytes"])
    start = time.monotonic()
    killed: Optional[str] = None
    try:
        proc = subprocess.Popen(list(argv), cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=preexec,
                                close_fds=True)
    except (OSError, subprocess.SubprocessError) as exc:
        # Nothing of the submission has run yet: the exec itself, the limits or the user switch failed.
        raise SandboxError(f"the sandbox could not start {argv[0]} as uid {uid}: {type(exc).__name__}: {exc}") from exc
    pgid = proc.pid  # setsid made the child its own group leader
    readers = [_CappedReader(proc.stdout, cap), _CappedReader(proc.stderr, cap)]
    for reader in readers:
        reader.start()
    try:
        main = psutil.Process(proc.pid)
    except psutil.NoSuchProcess:
        main = None
    cpu_used = 0.0
    disk_cap = int(limits.get("max_disk_bytes", DEFAULT_MAX_DISK_BYTES))
    next_disk_check = start
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if now - start > wall:
                killed = "wall"
            elif now >= next_disk_check:
                # Many files each under RLIMIT_FSIZE could still fill the disk: bound the work folder's total.
                next_disk_check = now + DISK_CHECK_SECONDS
                used = sum(_tree_bytes(Path(d), disk_cap) for d in [cwd, *disk_dirs])
                if used > disk_cap:
                    killed = f"disk: wrote more than {disk_cap // MIB} MB of files"
            if not killed and watch is not None and main is not None:
                try:
                    reason = watch(main)
                except psutil.NoSuchProcess:
                    reason = None
                if reason:
                    killed = f"watch: {reason}"
            if main is not None:
                try:
                    times = main.cpu_times()
                    cpu_used = times.user + times.system
                except psutil.Error:
                    pass
            if killed:
                break
            time.sleep(POLL_SECONDS)
    finally:  # whatever happened here, nothing of the run outlives it
        _kill_all(uid, gid, token, pgid)
        if gid is not None:
            _remove_leftovers(uid, gid)
    proc.wait()
    for reader in readers:
        reader.join(timeout=5)  # escaped holders of the pipe are dead now, so the pipes reach EOF
    return Result(proc.returncode, killed, readers[0].text(), readers[1].text(),
                  time.monotonic() - start, cpu_used, notes)
