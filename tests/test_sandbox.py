"""The sandbox contains what student code can do: loops, sleeps, fork bombs, memory hogs, floods, setsid escapes,
and reads/writes of the grader's files."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from autograder import paths
from autograder.grading import rubric, sandbox

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="privilege drop and file isolation need the grader to run as root")

LIMITS = dict(rubric.SANDBOX_LIMITS, cpu_seconds=2, wall_seconds=6, max_output_bytes=4096)


@pytest.fixture
def run_dir():
    rd = sandbox.make_run_dir({})
    yield rd
    rd.cleanup()


def run_code(rd, code: str, **kwargs) -> sandbox.Result:
    return sandbox.run([sys.executable, "-c", code], run_dir=rd, limits=kwargs.pop("limits", LIMITS), **kwargs)


def alive_pids(pid_file: Path) -> list:
    """PIDs listed in pid_file that still belong to a live, non-zombie process."""
    if not pid_file.exists():
        return []
    alive = []
    for token in pid_file.read_text().split():
        try:
            proc = psutil.Process(int(token))
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc.pid)
        except (psutil.NoSuchProcess, ValueError):
            continue
    return alive


def test_runs_as_unprivileged_user_or_says_isolation_is_reduced(run_dir):
    result = run_code(run_dir, "import os; print(os.getuid(), os.geteuid(), os.getgroups())")
    uid, euid, groups = result.stdout.split(maxsplit=2)
    if IS_ROOT:
        assert int(uid) != 0 and int(euid) != 0
        assert groups.strip() == "[]"
        assert sandbox.ISOLATION_REDUCED not in result.notes
    else:
        assert int(uid) == os.getuid()
        assert sandbox.ISOLATION_REDUCED in result.notes


def test_cpu_loop_is_stopped_by_the_cpu_limit(run_dir):
    start = time.monotonic()
    result = run_code(run_dir, "while True: pass")
    assert result.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    assert time.monotonic() - start < LIMITS["wall_seconds"] + 3


def test_sleep_is_stopped_by_the_wall_limit(run_dir):
    start = time.monotonic()
    result = run_code(run_dir, "import time; time.sleep(1000)", wall_seconds=1.5)
    assert result.killed == "wall"
    assert time.monotonic() - start < 5


def test_watch_callback_can_stop_a_run(run_dir):
    result = run_code(run_dir, "import time; time.sleep(1000)", watch=lambda proc: "enough")
    assert result.killed == "watch: enough"


def test_setsid_escape_is_killed(run_dir):
    pid_file = run_dir.work / "pids"
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        open({str(pid_file)!r}, 'a').write(str(os.getpid()) + ' ')\n"
        "        while True: time.sleep(0.05)\n"
        "    os._exit(0)\n"
        "time.sleep(0.5)\n"
        "print('parent exits')\n"
    )
    result = run_code(run_dir, code)
    assert "parent exits" in result.stdout
    assert pid_file.exists(), result.stderr
    assert alive_pids(pid_file) == []


def test_fork_bomb_is_bounded_and_cleaned_up(run_dir):
    pid_file = run_dir.work / "pids"
    code = (
        "import os, time\n"
        "for _ in range(10000):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        f"            open({str(pid_file)!r}, 'a').write(str(os.getpid()) + ' ')\n"
        "            time.sleep(1000)\n"
        "    except OSError:\n"
        "        break\n"
        "time.sleep(1000)\n"
    )
    start = time.monotonic()
    result = run_code(run_dir, code, wall_seconds=3)
    assert result.killed == "wall"
    forked = pid_file.read_text().split() if pid_file.exists() else []
    assert 0 < len(forked) <= LIMITS["max_processes"]
    assert alive_pids(pid_file) == []
    assert time.monotonic() - start < 15


def test_memory_hog_gets_memory_error(run_dir):
    result = run_code(run_dir, "x = bytearray(4 * 1024**3)")
    assert result.returncode == 1
    assert "MemoryError" in result.stderr


def test_memory_limit_kind_data_lets_torch_import(run_dir):
    pytest.importorskip("torch")
    code = "import torch; print(float(torch.ones(3).sum()))\nx = bytearray(4 * 1024**3)"
    result = run_code(run_dir, code, memory_kind="data", limits=dict(LIMITS, cpu_seconds=30, wall_seconds=60))
    assert result.stdout.strip() == "3.0", result.stderr[-500:]
    assert "MemoryError" in result.stderr


def test_output_flood_is_capped(run_dir):
    result = run_code(run_dir, "import sys\nfor _ in range(2000): sys.stdout.write('x' * 10000)\nprint('end')")
    assert result.returncode == 0
    assert len(result.stdout) < LIMITS["max_output_bytes"] + 200
    assert "more bytes of output dropped" in result.stdout


def test_environment_is_minimal(run_dir):
    result = run_code(run_dir, "import os, json; print(json.dumps(dict(os.environ)))")
    import json
    env = json.loads(result.stdout)
    assert env["HOME"] == str(run_dir.work)
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert env["PYTHONHASHSEED"] == "0" and env["MPLBACKEND"] == "Agg"
    assert not {k for k in env if k.startswith(("DLKIT_DATA", "AUTOGRADER", "SSH", "AWS"))}
    assert "PYTHONPATH" not in env


@needs_root
def test_cannot_write_grader_folder_or_read_root_only_file(run_dir, tmp_path):
    results = tmp_path / "results"
    results.mkdir(mode=0o755)
    secret = Path(run_dir.root) / "secret.txt"
    secret.write_text("solution")
    secret.chmod(0o600)
    code = (
        "import os\n"
        f"try:\n    open({str(results / 'results.json')!r}, 'w').write('{{}}'); print('wrote')\n"
        "except OSError as e:\n    print('write refused', type(e).__name__)\n"
        f"try:\n    print(open({str(secret)!r}).read())\n"
        "except OSError as e:\n    print('read refused', type(e).__name__)\n"
    )
    result = run_code(run_dir, code)
    assert "write refused" in result.stdout and "read refused" in result.stdout, result.stdout + result.stderr
    assert not (results / "results.json").exists()


@needs_root
def test_cannot_read_the_solutions_in_the_source_tree(run_dir):
    target = paths.KIT / "check_submission.py"
    if not target.is_file():
        pytest.skip("kit/check_submission.py not present")
    code = (
        f"try:\n    data = open({str(target)!r}).read()\n    print('read', len(data))\n"
        "except OSError as e:\n    print('refused', type(e).__name__)\n"
    )
    result = run_code(run_dir, code)
    if sandbox.namespace_flags() is None:
        pytest.skip("no private mount namespace here: only `run` mode closes the source folder by permissions")
    assert result.stdout.startswith("refused") or result.stdout.strip() == "read 0", result.stdout


def test_unknown_memory_kind_is_refused(run_dir):
    with pytest.raises(ValueError):
        run_code(run_dir, "pass", memory_kind="rss")


@needs_root
def test_files_left_in_shared_temp_folders_are_removed(run_dir):
    code = ("import os\n"
            "for folder in ('/tmp', '/dev/shm'):\n"
            "    path = os.path.join(folder, 'dlkit-leftover-%d' % os.getpid())\n"
            "    open(path, 'w').write('x')\n"
            "    print(path)\n")
    result = run_code(run_dir, code)
    written = result.stdout.split()
    assert written, result.stderr
    assert not [p for p in written if os.path.exists(p)]


def test_filling_the_disk_is_stopped(run_dir):
    code = ("import os\n"
            "for i in range(1000):\n"
            "    with open('f%d' % i, 'wb') as h:\n"
            "        h.write(b'x' * (8 * 1024 * 1024))\n")
    result = run_code(run_dir, code, limits=dict(LIMITS, max_disk_bytes=64 * 1024 * 1024))
    assert result.killed is not None and result.killed.startswith("disk")
    used = sum(p.stat().st_size for p in run_dir.work.iterdir())
    # The watcher polls (DISK_CHECK_SECONDS), and the page cache takes GB/s, so how far past the cap a run gets
    # depends on the machine; what matters is that it was stopped long before writing its 8000 MB.
    assert used < 2 * 1024 * 1024 * 1024


@needs_root
def test_parallel_runs_have_users_of_their_own():
    """Two runs at once (batch regrade): different uids, so one cannot read, signal or ptrace the other."""
    a, b = sandbox.make_run_dir({}), sandbox.make_run_dir({})
    try:
        assert len({a.uid, b.uid, 0}) == 3 and (a.gid, b.gid) == (a.uid, b.uid)
        secret = b.work / "answers.txt"
        secret.write_text("the other student's work")
        os.chown(secret, b.uid, b.gid)
        secret.chmod(0o600)
        code = (f"import os\ntry:\n    print(open({str(secret)!r}).read())\n"
                "except OSError as e:\n    print('refused', type(e).__name__)\n"
                "print(os.getuid())")
        result = run_code(a, code)
        refused, uid = result.stdout.split()[0], result.stdout.split()[-1]
        assert refused == "refused" and int(uid) == a.uid, result.stdout + result.stderr
    finally:
        a.cleanup()
        b.cleanup()
