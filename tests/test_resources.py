"""autograder/resources.py: the CPUs and memory a process may use, read from its cgroups (v1 and v2) and affinity,
and the environment that sizes thread pools to them; and what the grader does when a machine has less memory than
the notebooks need."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder import resources


def _fake_cgroups(tmp_path: Path, monkeypatch, proc: str, files: dict) -> None:
    root = tmp_path / "cgroup"
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    (tmp_path / "proc-cgroup").write_text(proc)
    monkeypatch.setattr(resources, "CGROUP_ROOT", root)
    monkeypatch.setattr(resources, "PROC_CGROUP", tmp_path / "proc-cgroup")


def test_cgroup_v2_quota_and_memory_as_on_gradescope(tmp_path, monkeypatch):
    _fake_cgroups(tmp_path, monkeypatch, "0::/grading/job\n",
                  {"grading/job/cpu.max": "max 100000\n", "grading/cpu.max": "50000 100000\n",
                   "grading/job/memory.max": "max\n", "grading/memory.max": str(768 * 2 ** 20)})
    monkeypatch.setattr(resources.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert resources.cpu_quota() == 0.5 and resources.usable_cpus() == 1  # a parent's limit applies: at least 1
    assert resources.memory_limit_mb() == 768


def test_cgroup_v1_and_affinity(tmp_path, monkeypatch):
    _fake_cgroups(tmp_path, monkeypatch, "4:memory:/box\n3:cpu,cpuacct:/box\n",
                  {"cpu,cpuacct/box/cpu.cfs_quota_us": "300000\n", "cpu,cpuacct/box/cpu.cfs_period_us": "100000\n",
                   "memory/box/memory.limit_in_bytes": str(2 * 2 ** 30), "memory/memory.limit_in_bytes": str(2 ** 62)})
    monkeypatch.setattr(resources.os, "sched_getaffinity", lambda pid: {0, 1})
    assert resources.cpu_quota() == 3.0 and resources.usable_cpus() == 2  # affinity below the quota
    assert resources.memory_limit_mb() == 2048


def test_no_cgroup_limits(tmp_path, monkeypatch):
    _fake_cgroups(tmp_path, monkeypatch, "0::/\n", {"cpu.max": "max 100000", "memory.max": "max"})
    monkeypatch.setattr(resources.os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert resources.cpu_quota() is None and resources.usable_cpus() == 3 and resources.memory_limit_mb() is None


def test_compute_env_sizes_every_pool_and_keeps_what_the_user_set(monkeypatch):
    monkeypatch.setattr(resources, "usable_cpus", lambda: 3)
    env = resources.compute_env(base={})
    assert {env[name] for name in resources.THREAD_VARIABLES} == {"3"}
    assert env["MALLOC_MMAP_THRESHOLD_"] == "65536"
    env = resources.compute_env(base={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "4"})
    assert env["OMP_NUM_THREADS"] == "1" and env["OPENBLAS_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "4"


def test_a_notebook_run_that_dies_on_a_small_machine_is_an_autograder_fault(monkeypatch, tmp_path):
    from autograder.grading import faults, notebook_runs, rubric
    from autograder.grading.session import Session
    session = Session.start(tmp_path, tmp_path)
    died = notebook_runs.NotebookRun("part1.ipynb", "failed", "did not complete in the grader: the kernel died (x)")
    monkeypatch.setattr(resources, "memory_limit_mb", lambda: 768)
    with pytest.raises(faults.AutograderFault, match="768 MB of memory and the notebooks need about"):
        notebook_runs._capacity_check(session, died)
    assert session.faults
    # With enough memory, the same failure is the notebook's own (its row says so; no fault).
    monkeypatch.setattr(resources, "memory_limit_mb", lambda: rubric.NOTEBOOK_MEMORY_MB)
    other = Session.start(tmp_path, tmp_path)
    notebook_runs._capacity_check(other, died)
    assert not other.faults
