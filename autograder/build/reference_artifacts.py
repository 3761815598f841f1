"""The graded artifacts a perfect student hands in, made by running the reference kit.

The steps are the switched-on parts' (``Part.steps`` in ``autograder/parts/<part>.py``): each runs a script or
executes a notebook in a temporary copy of the kit (the kit folder never collects run outputs) and keeps the files
it makes under their submission names. A step that ``reduced_by_default`` runs its notebook's reduced mode unless
``DLKIT_FULL_NOTEBOOKS=1`` is set (its full run is a benchmark: ``python -m bench``).

Each step's results are cached in ``DLKIT_CACHE/reference-artifacts/<step>-<hash>/``, where the hash covers only
that step's inputs (the kit paths it declares) and the environment settings the notebooks read (``keyed_environment``).
Editing one notebook therefore does not retrain another part's network (minutes).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import nbformat

from autograder import parts, paths, resources
from autograder.build.markers import kit_files
from autograder.parts import Step

_DONE = ".complete"  # written last: a cache folder without it is a build that was interrupted
FULL_NOTEBOOKS_VAR = "DLKIT_FULL_NOTEBOOKS"  # set to 1: reduced-by-default steps run in full for the reference too
# The data sets a step may need: name -> (how to find it, what to call it when it is missing).
DATASETS = {"cifar10": (paths.cifar10_dir, "CIFAR-10"), "fashion_mnist": (paths.fashion_mnist_root, "Fashion-MNIST")}


class ReferenceArtifactError(RuntimeError):
    """A reference artifact could not be made (data absent, the reference kit failed, an output is missing)."""


def all_steps() -> List[Step]:
    """Every declared step (switched-off parts' too: tests and the benchmark may run them)."""
    return [step for part in parts.PARTS.values() for step in part.steps]


def keyed_environment() -> Tuple[str, ...]:
    """Environment settings that change what the reference runs produce: part of every cache key, so that a capped
    or reduced build is never mistaken for the full one."""
    names = {FULL_NOTEBOOKS_VAR}
    for part in parts.PARTS.values():
        for notebook in part.notebooks:
            names.update(notebook.settings)
            names.update(notebook.reduced_env)
            names.update(notebook.full_env)
    return tuple(sorted(names))


def _is_input(step: Step, relative: Path) -> bool:
    return any(relative.as_posix() == path or relative.parts[0] == path for path in step.inputs)


def inputs_hash(kit_dir: Path, step: Optional[Step] = None) -> str:
    """Hex digest (16 chars) of the step's input files' relative paths, modes and bytes (run outputs excluded; no
    step: the whole kit), plus the environment settings of ``keyed_environment``."""
    digest = hashlib.sha256()
    for name in keyed_environment():
        digest.update(f"{name}={os.environ.get(name, '')}".encode() + b"\0")
    if step is not None:  # a step switched to reduced-by-default (or back) never reuses the other mode's result
        digest.update(f"reduced_by_default={step.reduced_by_default}".encode() + b"\0")
    for relative in kit_files(kit_dir):
        if step is not None and not _is_input(step, relative):
            continue
        path = kit_dir / relative
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(oct(path.stat().st_mode & 0o777).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _log(message: str) -> None:
    print(f"[reference artifacts] {message}", flush=True)


def _require(value: Optional[Path], what: str) -> Path:
    if value is None:
        raise ReferenceArtifactError(paths.missing_data_reason(what) + "; the reference artifacts need it")
    return value


def _run_env(fashion_mnist_root: Optional[Path]) -> Dict[str, str]:
    """Environment for the reference runs: headless matplotlib, thread pools sized to the CPUs this build may use
    (resources.compute_env), the offline Fashion-MNIST root and the CIFAR-10 batches folder (CIFAR10_DIR, read by
    part3 and part4)."""
    env = dict(os.environ)
    env.update(resources.compute_env())
    env["MPLBACKEND"] = "Agg"
    if fashion_mnist_root is not None:
        env["FASHION_MNIST_ROOT"] = str(fashion_mnist_root)
    cifar_dir = paths.cifar10_dir()
    if cifar_dir is not None:
        env["CIFAR10_DIR"] = str(cifar_dir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def execute_notebook(workdir: Path, name: str, env: Dict[str, str],
                     cell_timeout_s: float = 3600) -> nbformat.NotebookNode:
    """Execute the notebook ``workdir/name`` in place (cwd = ``workdir``, a copy of the kit) with the environment
    ``env``, save it with its outputs and return it; a cell error raises ReferenceArtifactError with its end."""
    from nbclient import NotebookClient  # imported here: only instructors building artifacts need it
    from nbclient.exceptions import CellExecutionError

    path = workdir / name
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout_s, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute(cwd=str(workdir), env=env)
    except CellExecutionError as exc:
        raise ReferenceArtifactError(f"reference {name} failed:\n{str(exc)[-4000:]}") from None
    nbformat.write(nb, str(path))
    return nb


def _run_step(step: Step, workdir: Path, env: Dict[str, str]) -> None:
    """Run one step in ``workdir`` (a copy of the kit): its command or its notebook, then its ``finish``."""
    if step.notebook is not None:
        env = dict(env)
        if step.reduced_by_default and not env.get(FULL_NOTEBOOKS_VAR):
            for name, value in step.notebook.reduced_env.items():
                env[name] = env.get(name) or value
        execute_notebook(workdir, step.notebook.name, env, step.notebook.cell_timeout_s)
    else:
        fill = {"python": sys.executable, **{name: str(find() or "") for name, (find, _) in DATASETS.items()}}
        command = [part.format(**fill) for part in step.command]
        completed = subprocess.run(command, cwd=workdir / step.cwd, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        if completed.returncode != 0:
            raise ReferenceArtifactError(f"the reference {step.name} run failed (exit {completed.returncode}):\n"
                                         f"{completed.stdout[-4000:]}")
        for line in [line for line in completed.stdout.splitlines() if line.strip()][-3:]:
            _log(f"  {step.name}: {line}")
    if step.finish is not None:
        step.finish(workdir)


def _store(step: Step, workdir: Path, target: Path) -> None:
    """Copy a step's outputs into its cache folder, via a staging folder renamed at the end (never half-written)."""
    missing = [relative for _, relative in step.outputs if not (workdir / relative).is_file()]
    if missing:
        raise ReferenceArtifactError(f"the reference {step.name} run did not produce {', '.join(missing)} "
                                     f"(paths relative to the kit)")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide the artifacts from other instructors' accounts
    for name, relative in step.outputs:
        shutil.copyfile(workdir / relative, staging / name)
    (staging / _DONE).write_text("complete\n")
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)


def _cache_root(cache_root: Optional[Path]) -> Path:
    return Path(cache_root) if cache_root is not None else paths.cache_dir() / "reference-artifacts"


def _step(step_name: str) -> Step:
    return next(step for step in all_steps() if step.name == step_name)


def _is_complete(step: Step, target: Path) -> bool:
    return (target / _DONE).is_file() and all((target / name).is_file() for name, _ in step.outputs)


def step_outputs(step_name: str) -> List[str]:
    """The submission file names ``step_name`` makes (its outputs)."""
    return [name for name, _ in _step(step_name).outputs]


def cached(step_name: str, kit_dir: Path = paths.KIT, cache_root: Optional[Path] = None) -> Optional[Path]:
    """The cache folder holding ``step_name``'s complete result for the kit as it is now, or None (never built,
    or built from other inputs). Lets tests reuse what ``make`` has just run instead of running it again."""
    step = _step(step_name)
    target = _cache_root(cache_root) / f"{step.name}-{inputs_hash(Path(kit_dir), step)}"
    return target if _is_complete(step, target) else None


def build(kit_dir: Path = paths.KIT, cache_root: Optional[Path] = None, *, force: bool = False) -> Dict[str, Path]:
    """Make (or reuse from the cache) the reference artifacts, logging each step and its wall time.

    Args:
        kit_dir: the marked reference kit.
        cache_root: where the per-step folders live; default ``paths.cache_dir() / "reference-artifacts"``.
        force: rerun every step even when its cached result is complete.
    Returns:
        Submission file name -> path of the cached file, for every output of the switched-on parts' steps.
    Raises:
        ReferenceArtifactError: CIFAR-10 or Fashion-MNIST is absent, a reference run failed, or a run did not
            produce its file.
    """
    root = _cache_root(cache_root)
    root.mkdir(parents=True, exist_ok=True)
    with paths.file_lock(root / ".build.lock"):  # a parallel build waits, then reuses what this one made
        return _build_locked(Path(kit_dir), root, force)


def _copy_kit(kit_dir: Path, workdir: Path) -> None:
    for relative in kit_files(kit_dir):
        (workdir / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(kit_dir / relative, workdir / relative)


def step_result(step_name: str, dest: Path, **env: str) -> bool:
    """Put ``step_name``'s outputs (their submission names) into ``dest``, a folder of the step's own, for tests:
    copied from the cached result for the kit as it is now when ``make`` made one (returns True; nothing is run
    again), else made now by running the step in ``dest`` as a copy of the kit, with ``env`` added to the reference
    runs' environment, e.g. ``PART3_REDUCED="1"`` for a quick run (returns False; ``dest`` then also holds the
    kit and the run's other files)."""
    step = _step(step_name)
    built = cached(step_name)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if built is not None:
        for name, _ in step.outputs:
            shutil.copyfile(built / name, dest / name)
        return True
    _copy_kit(paths.KIT, dest)
    _run_step(step, dest, dict(_run_env(paths.fashion_mnist_root()), **env))
    for name, relative in step.outputs:
        if Path(relative) != Path(name):
            shutil.copyfile(dest / relative, dest / name)
    return False


def _build_locked(kit_dir: Path, root: Path, force: bool) -> Dict[str, Path]:
    with tempfile.TemporaryDirectory(prefix="dlkit-reference-") as tmp:
        # Snapshot the kit first and key the cache on the snapshot: the kit may be edited while a step runs.
        workdir = Path(tmp) / "kit"
        _copy_kit(kit_dir, workdir)
        result: Dict[str, Path] = {}
        to_run: List[Tuple[Step, Path]] = []
        for step in (step for part in parts.enabled() for step in part.steps):
            target = root / f"{step.name}-{inputs_hash(workdir, step)}"
            result.update({name: target / name for name, _ in step.outputs})
            if _is_complete(step, target) and not force:
                _log(f"{step.name}: reusing {target}")
            else:
                to_run.append((step, target))
        if not to_run:
            return result

        # Check the data before running anything, so a missing folder fails at once rather than after a long step.
        for name in sorted({name for step, _ in to_run for name in step.datasets}):
            find, what = DATASETS[name]
            _require(find(), what)
        env = _run_env(paths.fashion_mnist_root())
        total = time.perf_counter()
        for step, target in to_run:
            outputs = ", ".join(name for name, _ in step.outputs)
            _log(f"{step.name} ({outputs}) ...")
            start = time.perf_counter()
            _run_step(step, workdir, env)
            _store(step, workdir, target)
            _log(f"{step.name}: done in {time.perf_counter() - start:.1f} s -> {target}")
    _log(f"{len(to_run)} step(s) run in {time.perf_counter() - total:.1f} s")
    return result
