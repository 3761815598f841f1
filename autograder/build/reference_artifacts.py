"""The graded artifacts a perfect student hands in, made by running the reference kit.

Five steps, each run in a temporary copy of the kit (the kit folder never collects run outputs):

* ``checkpoint``: the reference ``neuralnet/train.py`` (its best-model hyper-parameters) trained on CIFAR-10
  -> ``checkpoint.pkl``;
* ``part1``: the reference part 1 notebook executed -> ``part1.ipynb`` (with outputs) and its ``part1_model.pt``;
* ``part2``: the reference part 2 notebook executed -> ``part2.ipynb`` and the ``img1.png`` / ``img2.png`` it saves.
* ``part3`` (Section 3a): the reference part 3 notebook executed on CIFAR-10's test batch, the reference write-up
  filled in -> ``part3.ipynb``;
* ``part4`` (Section 3b): the reference part 4 notebook executed -> ``part4.ipynb``, in its reduced mode
  (``PART4_REDUCED=1``: tiny subsets, a couple of minutes) unless ``DLKIT_FULL_NOTEBOOKS=1`` is set: its full run
  (the transfer-learning table on 16/64/256 images per class) takes longer than CI allows and is a benchmark
  (``python -m bench --only part4``). The reduced outputs earn the same rows (7.8 checks outputs, not numbers).

Each step's results are cached in ``DLKIT_CACHE/reference-artifacts/<step>-<hash>/``, where the hash covers only
that step's inputs (for ``checkpoint`` the files under ``neuralnet/``; for a notebook the notebook itself and the
kit's top-level files it may read, e.g. ``imagenet_class_index.json``), plus the environment settings in
``KEYED_ENVIRONMENT``. Editing the part 2 notebook therefore does not retrain the CIFAR-10 network (minutes).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import nbformat

from autograder import paths
from autograder.build.markers import kit_files
from autograder.grading import rubric

NOTEBOOK_CELL_TIMEOUT_S = 3600  # one cell of part 1 trains the whole network on CPU
_DONE = ".complete"  # written last: a cache folder without it is a build that was interrupted

# Environment settings that change what the reference runs produce, so they are part of every cache key.
# PART1_MAX_EPOCHS (read by part1.ipynb) caps training for quick staff checks: a capped build must never be
# mistaken for the full one.
# PART3_REDUCED (read by part3.ipynb) runs it on fewer, smaller images; PART4_REDUCED (read by part4.ipynb) on tiny
# subsets, and PART4_DATASET=fashion skips the MNIST download.
KEYED_ENVIRONMENT = ("PART1_MAX_EPOCHS", "PART3_REDUCED", "PART4_REDUCED", "PART4_DATASET", "DLKIT_FULL_NOTEBOOKS")
FULL_NOTEBOOKS_VAR = "DLKIT_FULL_NOTEBOOKS"  # set to 1: part4 runs in full for the reference submission too


class ReferenceArtifactError(RuntimeError):
    """A reference artifact could not be made (data absent, the reference kit failed, an output is missing)."""


@dataclass(frozen=True)
class Step:
    name: str
    outputs: Tuple[Tuple[str, str], ...]  # (name in the submission, where the run leaves it in the kit copy)
    is_input: Callable[[Path, Path], bool]  # (kit_dir, relative path) -> whether the step's result depends on it
    part: str = "section1"  # a key of rubric.PARTS: the step runs only while that part is switched on


def _in_neuralnet(kit_dir: Path, relative: Path) -> bool:
    return relative.parts[0] == "neuralnet"


def _notebook_inputs(notebook: str) -> Callable[[Path, Path], bool]:
    """A notebook depends on itself and on the top-level kit files its source names (``imagenet_class_index.json``
    read by name, a helper module imported by stem)."""
    def is_input(kit_dir: Path, relative: Path) -> bool:
        if relative.as_posix() == notebook:
            return True
        if len(relative.parts) != 1 or relative.suffix == ".ipynb":
            return False
        source = (kit_dir / notebook).read_text(encoding="utf-8") if (kit_dir / notebook).is_file() else ""
        return relative.name in source or (relative.suffix == ".py" and relative.stem in source)
    return is_input


def _part4_inputs(kit_dir: Path, relative: Path) -> bool:
    """part4.ipynb depends on itself and on the smalldata/ modules it imports."""
    return relative.as_posix() == "part4.ipynb" or relative.parts[0] == "smalldata"


STEPS = (
    Step("checkpoint", (("checkpoint.pkl", "neuralnet/checkpoint.pkl"),), _in_neuralnet),
    Step("part1", (("part1.ipynb", "part1.ipynb"), ("part1_model.pt", "part1_model.pt")),
         _notebook_inputs("part1.ipynb"), "section2"),
    Step("part2", (("part2.ipynb", "part2.ipynb"), ("img1.png", "img1.png"), ("img2.png", "img2.png")),
         _notebook_inputs("part2.ipynb"), "section2"),
    # part3 imports cnnfeatures/features.py: the notebook and that folder are its inputs
    Step("part3", (("part3.ipynb", "part3.ipynb"),),
         lambda kit_dir, relative: relative.parts[0] == "cnnfeatures" or _notebook_inputs("part3.ipynb")(
             kit_dir, relative), "section3a"),
    Step("part4", (("part4.ipynb", "part4.ipynb"),), _part4_inputs, "section3b"),
)
ARTIFACTS = {name: relative for step in STEPS for name, relative in step.outputs}


def inputs_hash(kit_dir: Path, is_input: Callable[[Path, Path], bool] = lambda kit_dir, relative: True) -> str:
    """Hex digest (16 chars) of the selected kit files' relative paths, modes and bytes (run outputs excluded),
    plus the environment settings in ``KEYED_ENVIRONMENT``. The default selects the whole kit."""
    digest = hashlib.sha256()
    for name in KEYED_ENVIRONMENT:
        digest.update(f"{name}={os.environ.get(name, '')}".encode() + b"\0")
    for relative in kit_files(kit_dir):
        if not is_input(kit_dir, relative):
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
    """Environment for the reference runs: headless matplotlib, the offline Fashion-MNIST root and the CIFAR-10
    batches folder (CIFAR10_DIR, read by part3 and part4)."""
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    if fashion_mnist_root is not None:
        env["FASHION_MNIST_ROOT"] = str(fashion_mnist_root)
    cifar_dir = paths.cifar10_dir()
    if cifar_dir is not None:
        env["CIFAR10_DIR"] = str(cifar_dir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _train(workdir: Path, cifar_dir: Path, env: Dict[str, str]) -> None:
    """Run the reference train.py inside the copy's neuralnet/ (scripts use flat imports from there)."""
    command = [sys.executable, "train.py", "--data-dir", str(cifar_dir), "--checkpoint-file", "checkpoint.pkl",
               "--plot-file", "plot.pdf"]
    completed = subprocess.run(command, cwd=workdir / "neuralnet", env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    if completed.returncode != 0:
        raise ReferenceArtifactError(f"reference train.py failed (exit {completed.returncode}):\n"
                                     f"{completed.stdout[-4000:]}")
    for line in [line for line in completed.stdout.splitlines() if line.strip()][-3:]:
        _log(f"  train.py: {line}")


def execute_notebook(workdir: Path, name: str, env: Dict[str, str]) -> nbformat.NotebookNode:
    """Execute the notebook ``workdir/name`` in place (cwd = ``workdir``, a copy of the kit) with the environment
    ``env``, save it with its outputs and return it; a cell error raises ReferenceArtifactError with its end."""
    from nbclient import NotebookClient  # imported here: only instructors building artifacts need it
    from nbclient.exceptions import CellExecutionError

    path = workdir / name
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=NOTEBOOK_CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute(cwd=str(workdir), env=env)
    except CellExecutionError as exc:
        raise ReferenceArtifactError(f"reference {name} failed:\n{str(exc)[-4000:]}") from None
    nbformat.write(nb, str(path))
    return nb


def _run_step(step: Step, workdir: Path, env: Dict[str, str]) -> None:
    if step.name == "checkpoint":
        _train(workdir, _require(paths.cifar10_dir(), "CIFAR-10"), env)
    elif step.name == "part4":  # Fashion-MNIST (when MNIST cannot be downloaded) and CIFAR-10
        env = dict(env)
        if not env.get(FULL_NOTEBOOKS_VAR):
            env["PART4_REDUCED"] = env.get("PART4_REDUCED") or "1"
        execute_notebook(workdir, "part4.ipynb", env)
    else:  # part3's reference reads CIFAR-10's test batch (CIFAR10_DIR), part1 Fashion-MNIST
        execute_notebook(workdir, f"{step.name}.ipynb", env)
    if step.name == "part3":  # the reference write-up goes into the answer cells (see section3a_answers.py)
        from autograder.build import section3a_answers
        path = workdir / "part3.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        section3a_answers.fill(nb)
        nbformat.write(nb, str(path))


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
    return next(step for step in STEPS if step.name == step_name)


def _is_complete(step: Step, target: Path) -> bool:
    return (target / _DONE).is_file() and all((target / name).is_file() for name, _ in step.outputs)


def step_outputs(step_name: str) -> List[str]:
    """The submission file names ``step_name`` makes, e.g. ``["part1.ipynb", "part1_model.pt"]``."""
    return [name for name, _ in _step(step_name).outputs]


def cached(step_name: str, kit_dir: Path = paths.KIT, cache_root: Optional[Path] = None) -> Optional[Path]:
    """The cache folder holding ``step_name``'s complete result for the kit as it is now, or None (never built,
    or built from other inputs). Lets tests reuse what ``make`` has just run instead of running it again."""
    step = _step(step_name)
    target = _cache_root(cache_root) / f"{step.name}-{inputs_hash(Path(kit_dir), step.is_input)}"
    return target if _is_complete(step, target) else None


def build(kit_dir: Path = paths.KIT, cache_root: Optional[Path] = None, *, force: bool = False) -> Dict[str, Path]:
    """Make (or reuse from the cache) the reference artifacts, logging each step and its wall time.

    Args:
        kit_dir: the marked reference kit.
        cache_root: where the per-step folders live; default ``paths.cache_dir() / "reference-artifacts"``.
        force: rerun every step even when its cached result is complete.
    Returns:
        Submission file name -> path of the cached file, for each name in ``ARTIFACTS``.
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
        enabled = rubric.enabled_part_names()
        for step in (step for step in STEPS if step.part in enabled):
            target = root / f"{step.name}-{inputs_hash(workdir, step.is_input)}"
            result.update({name: target / name for name, _ in step.outputs})
            if _is_complete(step, target) and not force:
                _log(f"{step.name}: reusing {target}")
            else:
                to_run.append((step, target))
        if not to_run:
            return result

        # Check the data before running anything, so a missing folder fails at once rather than after a long step.
        names = {step.name for step, _ in to_run}
        if names & {"checkpoint", "part3", "part4"}:
            _require(paths.cifar10_dir(), "CIFAR-10")
        fashion_root = (_require(paths.fashion_mnist_root(), "Fashion-MNIST") if names & {"part1", "part3", "part4"}
                        else None)
        env = _run_env(fashion_root if fashion_root is not None else paths.fashion_mnist_root())
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
