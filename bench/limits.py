"""Run a command the way Gradescope would: one core, 0.5 vCPU of CPU time, 768 MB of memory.

Gradescope runs each submission in a container limited by cgroups. Where this machine lets us (root with a writable
cgroup v1 or v2 hierarchy), the benchmark does the same: a fresh cgroup with a memory limit and a CPU quota, plus
`taskset` to one core. Where it does not, it falls back to one core and a watchdog that kills the process tree when
its total RSS passes the limit, and says so in the report.
"""
from __future__ import annotations

import os
import resource
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import psutil

CGROUP_V1 = Path("/sys/fs/cgroup")
MIB = 1024 * 1024


@dataclass
class Measured:
    """What one command cost: its exit status, wall and CPU seconds (children included), peak memory."""
    returncode: int
    wall_s: float
    cpu_s: float
    peak_memory_mb: float  # peak of the process tree's summed PSS (shared pages once), polled every 20 ms
    peak_cgroup_mb: Optional[float]  # the cgroup's own high-water mark (page cache included), when one was used
    how: str  # which limits applied, in words
    killed_for_memory: bool = False


class _Cgroup:
    """A throw-away cgroup (v1 memory + cpu controllers, or v2) holding one command."""

    def __init__(self, memory_mb: int, cpu_fraction: float):
        name = f"dlkit-bench-{uuid.uuid4().hex[:8]}"
        self.dirs: List[Path] = []
        unified = CGROUP_V1 / "cgroup.controllers"
        if unified.is_file():  # cgroup v2: one hierarchy
            path = CGROUP_V1 / name
            path.mkdir()
            self.dirs.append(path)
            (path / "memory.max").write_text(str(memory_mb * MIB))
            (path / "cpu.max").write_text(f"{int(cpu_fraction * 100000)} 100000")
            self._peak_files = [path / "memory.peak"]
        else:  # cgroup v1: one directory per controller
            mem = CGROUP_V1 / "memory" / name
            cpu = CGROUP_V1 / "cpu" / name
            mem.mkdir()
            self.dirs.append(mem)
            cpu.mkdir()
            self.dirs.append(cpu)
            (mem / "memory.limit_in_bytes").write_text(str(memory_mb * MIB))
            (cpu / "cpu.cfs_period_us").write_text("100000")
            (cpu / "cpu.cfs_quota_us").write_text(str(int(cpu_fraction * 100000)))
            self._peak_files = [mem / "memory.max_usage_in_bytes"]

    def add(self, pid: int) -> None:
        for path in self.dirs:
            (path / "cgroup.procs").write_text(str(pid))

    def peak_mb(self) -> Optional[float]:
        for path in self._peak_files:
            if path.is_file():
                return int(path.read_text()) / MIB
        return None

    def oom_killed(self) -> bool:
        for path in self.dirs:
            events = path / "memory.events"
            oom = path / "memory.oom_control"
            if events.is_file() and "oom_kill 0" not in events.read_text():
                return True
            if oom.is_file() and "oom_kill 0" not in oom.read_text() and "oom_kill" in oom.read_text():
                return True
        return False

    def remove(self) -> None:
        for path in self.dirs:
            try:
                path.rmdir()
            except OSError:
                pass  # a straggler still inside: the kernel frees the group once it exits


def _make_cgroup(memory_mb: int, cpu_fraction: float) -> Optional[_Cgroup]:
    if os.geteuid() != 0:
        return None
    try:
        return _Cgroup(memory_mb, cpu_fraction)
    except OSError:
        return None


def _tree_memory(proc: psutil.Process) -> int:
    """Memory of the process tree in bytes: the sum of each process's PSS (proportional set size), so pages the
    processes share (the interpreter, numpy's and torch's libraries) count once, as they do in a cgroup's charge.
    A plain RSS sum counts them once per process. Falls back to RSS where PSS cannot be read."""
    total = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except (psutil.Error, AttributeError):
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue
    return total


def run_measured(cmd: Sequence[str], *, cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None,
                 gradescope_like: bool = False, memory_mb: int = 768, cpu_fraction: float = 0.5,
                 timeout_s: float = 1200.0) -> Measured:
    """Run ``cmd`` to completion and measure it; with ``gradescope_like``, under one core and the memory limit."""
    group = _make_cgroup(memory_mb, cpu_fraction) if gradescope_like else None
    if gradescope_like:
        cmd = ["taskset", "-c", "0", *cmd]
        how = (f"cgroup: {memory_mb} MB, {cpu_fraction:g} vCPU, 1 core" if group else
               f"1 core (taskset), memory watchdog (tree PSS) at {memory_mb} MB (no writable cgroup here)")
    else:
        how = "no limits"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if group:
        group.add(proc.pid)  # children inherit the group; the first instructions of python run before this, harmless
    ps = psutil.Process(proc.pid)
    peak = 0
    killed = False
    output: List[bytes] = []

    # Drain output in a thread so a chatty command never blocks on a full pipe.
    import threading
    reader = threading.Thread(target=lambda: output.append(proc.stdout.read()), daemon=True)
    reader.start()
    while proc.poll() is None:
        used = _tree_memory(ps)
        peak = max(peak, used)
        if gradescope_like and group is None and used > memory_mb * MIB:
            killed = True
            for p in [ps] + ps.children(recursive=True):
                try:
                    p.kill()
                except psutil.Error:
                    pass
        if time.perf_counter() - start > timeout_s:
            proc.kill()
        time.sleep(0.02)
    reader.join(timeout=5)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cgroup_peak = group.peak_mb() if group else None
    if group:
        killed = killed or group.oom_killed()
        group.remove()
    result = Measured(proc.returncode, wall, cpu, peak / MIB, cgroup_peak, how, killed)
    result.output = b"".join(output).decode("utf-8", "replace")  # type: ignore[attr-defined]
    return result
