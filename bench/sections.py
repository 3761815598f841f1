"""The benchmark sections. Each returns table rows and may append notes; targets come from the issues."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from autograder import paths
from autograder.build import markers
from bench.limits import run_measured
from bench.report import Row

PY = sys.executable


def _need_dist() -> Tuple[Path, Path]:
    """dist/reference-submission.zip and dist/stub-submission.zip, building them when absent."""
    ref = paths.DIST / "reference-submission.zip"
    stub = paths.DIST / "stub-submission.zip"
    if not (ref.is_file() and stub.is_file()):
        subprocess.run([PY, "-m", "autograder", "build"], cwd=paths.REPO, check=True)
    return ref, stub


def _results(out_dir: Path) -> Dict:
    return json.loads((out_dir / "results.json").read_text())


def _max_score(results: Dict) -> float:
    return sum(t.get("max_score", 0) for t in results["tests"])


# ---------------------------------------------------------------------------------------------------------- grade
GRADE_WALL_TARGET_S = 300  # issue 21: the whole grading within 5 minutes at Gradescope's 0.5 vCPU
GRADE_MEMORY_TARGET_MB = 700  # issue 21: the cgroup peak (page cache included) of the whole grading


def _grade_measured(ref: Path, limited: bool, memory_mb: int, modules: Optional[str] = None):
    """(Measured, results or None) of grading ``ref`` (only ``modules``, comma-separated, when given)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cmd = [PY, "-m", "autograder", "grade", str(ref), "--out", str(out)]
        if modules:
            cmd += ["--modules", modules]
        m = run_measured(cmd, cwd=paths.REPO, gradescope_like=limited, memory_mb=memory_mb)
        results = _results(out) if (out / "results.json").is_file() else None
    return m, results


def _memory_text(m) -> str:
    text = f"{m.peak_memory_mb:.0f} (process tree PSS)"
    if m.peak_cgroup_mb is not None:
        text += f"; cgroup peak {m.peak_cgroup_mb:.0f} incl. page cache"
    return text


def bench_grade(notes: List[str]) -> List[Row]:
    """The reference submission graded whole (unlimited; at Gradescope's default 0.5 vCPU / 768 MB; at 0.5 vCPU with
    the memory the notebooks need), then part by part at 0.5 vCPU: what each part costs before it is switched on."""
    from autograder import parts
    from autograder.grading import rubric
    ref, _ = _need_dist()
    rows: List[Row] = []
    runs = (("unlimited", False, 768), ("Gradescope default: 0.5 vCPU, 768 MB", True, 768),
            (f"0.5 vCPU, {rubric.NOTEBOOK_MEMORY_MB} MB", True, rubric.NOTEBOOK_MEMORY_MB))
    for label, limited, memory in runs:
        m, res = _grade_measured(ref, limited, memory)
        if m.returncode != 0 or res is None:
            rows.append(Row("grade", f"reference submission ({label})", f"failed: exit {m.returncode}"
                            + (", killed for memory" if m.killed_for_memory else ""), "full marks", False))
            notes.append(f"grade ({label}) output tail: {m.output[-400:]!r}")  # type: ignore[attr-defined]
            continue
        full = abs(res["score"] - _max_score(res)) < 1e-9
        rows.append(Row("grade", f"reference score ({label})", f"{res['score']:g} / {_max_score(res):g}",
                        "full marks", full))
        rows.append(Row("grade", f"CPU s, user+sys, children included ({label})", f"{m.cpu_s:.1f}", "", None))
        peaks = [m.peak_memory_mb] + ([m.peak_cgroup_mb] if m.peak_cgroup_mb is not None else [])
        rows.append(Row("grade", f"peak memory MB ({label})", _memory_text(m), f"<= {GRADE_MEMORY_TARGET_MB}",
                        max(peaks) <= GRADE_MEMORY_TARGET_MB))
        rows.append(Row("grade", f"wall s ({label})", f"{m.wall_s:.1f}", f"<= {GRADE_WALL_TARGET_S}",
                        m.wall_s <= GRADE_WALL_TARGET_S))
        if limited:
            notes.append(f"grade ({label}): {m.how}.")
    for part in parts.enabled():
        modules = ",".join(sorted({row.check for row in part.rows.values()}))
        m, res = _grade_measured(ref, True, rubric.NOTEBOOK_MEMORY_MB, modules)
        ok = res is not None and abs(res["score"] - _max_score(res)) < 1e-9
        score = f"{res['score']:g} / {_max_score(res):g}" if res is not None else f"failed: exit {m.returncode}"
        rows.append(Row("grade", f"{part.key} alone (0.5 vCPU, {rubric.NOTEBOOK_MEMORY_MB} MB)",
                        f"{score}; CPU {m.cpu_s:.1f} s, wall {m.wall_s:.0f} s, peak {_memory_text(m)}",
                        "full marks", ok))
    notes.append("grade: peak memory with this machine's CUDA build of torch (import alone: ~500 MB resident); "
                 "Gradescope's venv installs the CPU build (~220 MB), so its peaks are lower by about that much "
                 "per torch process.")
    return rows


# -------------------------------------------------------------------------------------------------------- regrade
def _rezip(source: Path, dest: Path, uniqname: str, replace: Optional[Dict[str, bytes]] = None) -> None:
    """Copy a submission zip under another top folder, optionally replacing some files' contents."""
    replace = replace or {}
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.is_dir():
                continue
            name = info.filename.split("/", 1)[1]
            data = replace.get(name, zin.read(info))
            zout.writestr(f"{uniqname}/{name}", data)


def _stub_files(stub: Path) -> Dict[str, bytes]:
    with zipfile.ZipFile(stub) as z:
        return {i.filename.split("/", 1)[1]: z.read(i) for i in z.infolist() if not i.is_dir()}


def _some_mutants(count: int) -> List[Tuple[str, str]]:
    """(file name, mutated reference text) for ``count`` mutants of tests/mutants/section1.py, each in another file."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("section1_mutants", paths.REPO / "tests" / "mutants" / "section1.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is created
    spec.loader.exec_module(module)
    out: List[Tuple[str, str]] = []
    for mutant in module.MUTANTS:
        if len(out) == count or any(name == Path(mutant.file).name for name, _ in out):
            continue
        text = (paths.KIT / mutant.file).read_text()
        for old, new in mutant.edits:
            text = text.replace(old, new, 1)
        out.append((Path(mutant.file).name, text))
    return out


CACHED_CLASS = 200  # issue 21: a cached re-run of 200 unchanged submissions within a minute


def _regrade_wall(folder: Path, csv: Path, *args: str) -> Tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run([PY, "-m", "autograder", "regrade", str(folder), "--csv", str(csv), *args],
                          cwd=paths.REPO, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def _dask_wall(folder: Path, csv: Path, cache: Path, workers: int) -> Optional[float]:
    """Wall seconds of a --no-cache regrade on a local Dask cluster of ``workers`` single-thread workers."""
    try:
        from distributed import LocalCluster
    except ImportError:
        return None
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        wall, proc = _regrade_wall(folder, csv, "--no-cache", "--cache", str(cache), "--cluster",
                                   cluster.scheduler_address)
    return wall if proc.returncode == 0 else None


def bench_regrade(notes: List[str]) -> List[Row]:
    """A class graded from scratch (2 local jobs), the same class re-run from the cache at CACHED_CLASS
    submissions, and a small class on a local Dask cluster with 1 and 2 workers."""
    ref, stub = _need_dist()
    stubs = _stub_files(stub)
    rows: List[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "zips"
        folder.mkdir()
        made = 0
        for i in range(4):  # perfect submissions
            _rezip(ref, folder / f"ref{i}.zip", f"ref{i}")
            made += 1
        _rezip(stub, folder / "stub0.zip", "stub0")
        made += 1
        for name in ("functions.py", "layers.py", "two_layer_net.py", "train.py"):
            if name in stubs:  # the reference with one file left as the starter: a partial submission
                uniq = "partial" + name.split(".")[0].replace("_", "")
                _rezip(ref, folder / f"{uniq}.zip", uniq, {name: stubs[name]})
                made += 1
        mutants = _some_mutants(3)  # single-bug submissions from tests/mutants, one file each
        for k, (name, text) in enumerate(mutants):
            _rezip(ref, folder / f"mutant{k}.zip", f"mutant{k}", {name: text.encode()})
            made += 1
        cache = Path(tmp) / "cache"
        wall, proc = _regrade_wall(folder, Path(tmp) / "grades.csv", "--jobs", "2", "--no-cache", "--cache",
                                   str(cache))
        if proc.returncode != 0:
            return [Row("regrade", f"{made} submissions", f"failed: exit {proc.returncode}: "
                        f"{proc.stderr.strip()[-120:]}", "", False)]
        rows_in_csv = len((Path(tmp) / "grades.csv").read_text().strip().splitlines()) - 1
        per_min = made / wall * 60
        rows.append(Row("regrade", f"{made} submissions (4 perfect, 1 starter, {made - 5 - len(mutants)} partial, "
                                   f"{len(mutants)} single-bug), notebooks executed, 2 jobs, no cache",
                        f"{wall:.1f} s wall, {per_min:.1f} per minute, {rows_in_csv} CSV rows", f"{made} rows",
                        rows_in_csv == made))
        # The same submissions under CACHED_CLASS names: every part's grading comes from the cache.
        big = Path(tmp) / "class"
        big.mkdir()
        sources = sorted(folder.glob("*.zip"))
        for k in range(CACHED_CLASS):
            os.link(sources[k % len(sources)], big / f"student{k:03d}.zip")
        wall, proc = _regrade_wall(big, Path(tmp) / "cached.csv", "--jobs", "2", "--cache", str(cache))
        reused = next((line for line in proc.stdout.splitlines() if "reused" in line), proc.stderr[-120:])
        rows.append(Row("regrade", f"cached re-run of {CACHED_CLASS} unchanged submissions", f"{wall:.1f} s ({reused})",
                        "<= 60 s", proc.returncode == 0 and wall <= 60))
        # Dask: the same small class on 1 and 2 local workers (no cache): the throughput ratio.
        small = Path(tmp) / "small"
        small.mkdir()
        for source in sources[:4]:
            os.link(source, small / source.name)
        one = _dask_wall(small, Path(tmp) / "d1.csv", Path(tmp) / "c1", 1)
        two = _dask_wall(small, Path(tmp) / "d2.csv", Path(tmp) / "c2", 2)
        if one and two:
            rows.append(Row("regrade", "4 submissions on a local Dask cluster: 1 worker / 2 workers (wall)",
                            f"{one:.1f} s / {two:.1f} s: {one / two:.2f}x throughput with 2", "", None))
        else:
            notes.append("regrade: the Dask comparison did not run (distributed missing or a regrade failed)")
    return rows


# --------------------------------------------------------------------------------------------------------- checks
def bench_checks(notes: List[str]) -> List[Row]:
    ref, _ = _need_dist()
    rows: List[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        kit = Path(tmp) / "kit"
        markers.copy_kit(paths.KIT, kit)
        scripts = [
            ("backprop", ["backprop.py"]),
            ("neuralnet", ["gradcheck_layers.py"]),
            ("neuralnet", ["gradcheck_classifier.py"]),
            ("neuralnet", ["check_softmax_stability.py"]),
            (".", ["check_submission.py", str(ref), "--uniqname", "reference"]),
        ]
        for folder, argv in scripts:
            start = time.perf_counter()
            proc = subprocess.run([PY, *argv], cwd=kit / folder, capture_output=True, text=True)
            wall = time.perf_counter() - start
            label = f"{folder}/{argv[0]}" if folder != "." else argv[0] + " reference-submission.zip"
            ok = proc.returncode == 0 and wall <= 5
            value = f"{wall:.2f} s" + ("" if proc.returncode == 0 else f" (exit {proc.returncode})")
            rows.append(Row("checks", label, value, "<= 5 s, exit 0 on the reference", ok))
    return rows


# ---------------------------------------------------------------------------------------------------------- cifar
def _gemm_seconds(batch: int, dims: Tuple[int, int, int], iterations: int, dtype) -> float:
    """Wall seconds of the training loop's six GEMMs done as bare numpy matmuls, ``iterations`` times."""
    import numpy as np
    d, h, c = dims
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, d)).astype(dtype)
    w1 = rng.standard_normal((d, h)).astype(dtype)
    w2 = rng.standard_normal((h, c)).astype(dtype)
    a = rng.standard_normal((batch, h)).astype(dtype)
    g = rng.standard_normal((batch, c)).astype(dtype)
    start = time.perf_counter()
    for _ in range(iterations):
        x @ w1          # FC1 forward
        a @ w2          # FC2 forward
        a.T @ g         # FC2 grad_w
        g @ w2.T        # FC2 grad_x
        x.T @ a         # FC1 grad_w
        a @ w1.T        # FC1 grad_x
    return time.perf_counter() - start


def bench_cifar(notes: List[str]) -> List[Row]:
    import pickle

    data_dir = paths.cifar10_dir()
    if data_dir is None:
        notes.append(paths.missing_data_reason("CIFAR-10") + "; cifar section skipped")
        return [Row("cifar", "reference two-layer net", "skipped: no data", ">= 55 % val in <= 60 s", None)]
    neuralnet = str(paths.KIT / "neuralnet")
    sys.path.insert(0, neuralnet)
    try:
        import train as reference_train  # the reference kit's own train.py: trusted code, run in-process
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            history = reference_train.main(["--data-dir", str(data_dir), "--checkpoint-file", f"{tmp}/ck.pkl",
                                            "--plot-file", f"{tmp}/plot.pdf"])
            wall_total = time.perf_counter() - start
            with open(f"{tmp}/ck.pkl", "rb") as handle:  # our own reference checkpoint, written just now
                params = pickle.load(handle)
            params.pop("_training", None)  # the training record next to the weights
    finally:
        sys.path.remove(neuralnet)
        for name in ("train", "data", "layers", "optim", "two_layer_net", "utils", "classifier"):
            sys.modules.pop(name, None)
    weights = sorted((p for p in params.values() if p.ndim == 2), key=lambda p: -p.shape[0])
    d, h = weights[0].shape
    c = weights[1].shape[1]
    epochs = len(history["val_acc"])
    iterations = len(history["loss"])
    num_train = 49000
    batch = int(round(num_train / (iterations / epochs)))
    rows = []
    for epoch, (acc, secs) in enumerate(zip(history["val_acc"], history["epoch_seconds"]), start=1):
        rows.append(Row("cifar", f"epoch {epoch}: val accuracy @ training seconds", f"{acc:.1f} % @ {secs:.1f} s"))
    for goal in (40, 50, 55):
        reached = [s for a, s in zip(history["val_acc"], history["epoch_seconds"]) if a >= goal]
        target = "<= 60 s" if goal == 55 else ""
        rows.append(Row("cifar", f"training seconds to reach {goal} % val",
                        f"{reached[0]:.1f}" if reached else "not reached",
                        target, (bool(reached) and reached[0] <= 60) if goal == 55 else None))
    best = max(history["val_acc"])
    train_s = history["epoch_seconds"][-1]
    rows.append(Row("cifar", "final / best val accuracy", f"{history['val_acc'][-1]:.1f} % / {best:.1f} %",
                    ">= 55 %", best >= 55))
    rows.append(Row("cifar", "wall s: training loop / whole run incl. loading and evaluation",
                    f"{train_s:.1f} / {wall_total:.1f}", "training <= 60", train_s <= 60))
    dtype = weights[0].dtype
    flops = 2 * iterations * (3 * batch * d * h + 3 * batch * h * c)
    gemm_s = _gemm_seconds(batch, (d, h, c), iterations, dtype)
    achieved, peak = flops / train_s / 1e9, flops / gemm_s / 1e9
    rows.append(Row("cifar", f"GFLOP/s: training loop vs bare GEMMs ({batch}x{d}x{h}, {dtype})",
                    f"{achieved:.1f} vs {peak:.1f} = {achieved / peak:.0%}", ">= 60 %", achieved / peak >= 0.6))
    notes.append(f"cifar: {iterations} iterations of batch {batch}, hidden {h}; GEMM FLOPs counted for the six "
                 f"matmuls per iteration (FC1/FC2 forward, grad_w, grad_x); the bare-GEMM time runs the same "
                 f"matmuls on the same shapes and dtype in this process.")
    return rows


# ---------------------------------------------------------------------------------------------------------- part1
def _notebook_text(nb) -> str:
    """All stream and plain-text outputs of an executed notebook, in order."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(out["data"]["text/plain"])
    return "\n".join(parts)


def bench_part1(notes: List[str]) -> List[Row]:
    import re

    import nbformat
    from nbclient import NotebookClient

    root = paths.fashion_mnist_root()
    if root is None:
        notes.append(paths.missing_data_reason("Fashion-MNIST") + "; part1 section skipped")
        return [Row("part1", "reference CNN", "skipped: no data", ">= 92 % test in <= 180 s", None)]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(paths.KIT / "part1.ipynb", tmp)
        nb = nbformat.read(Path(tmp) / "part1.ipynb", as_version=4)
        saved = dict(os.environ)
        os.environ.update(FASHION_MNIST_ROOT=str(root), MPLBACKEND="Agg")
        os.environ.pop("PART1_MAX_EPOCHS", None)
        start = time.perf_counter()
        try:
            NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        wall = time.perf_counter() - start
    text = _notebook_text(nb)
    device = re.search(r"device: (\w+)", text)
    where = device.group(1) if device else "?"
    cores = f"{os.cpu_count()} cores" if where == "cpu" else where
    section = "part1" if where == "cpu" else f"part1-{where}"  # a GPU run keeps the CPU figures beside it
    rows = []
    epochs = re.findall(r"epoch (\d+): train accuracy ([\d.]+) %, validation accuracy ([\d.]+) %, (\d+) s", text)
    for epoch, train_acc, val_acc, secs in epochs:
        rows.append(Row(section, f"epoch {epoch} ({cores}): val accuracy @ training seconds",
                        f"{float(val_acc):.2f} % @ {secs} s"))
    test = re.search(r"test accuracy: ([\d.]+) %", text)
    test_acc = float(test.group(1)) if test else float("nan")
    train_s = float(epochs[-1][3]) if epochs else float("nan")
    rows.append(Row(section, f"test accuracy ({cores})", f"{test_acc:.2f} %", ">= 92 %", test_acc >= 92))
    rows.append(Row(section, f"training seconds / whole notebook wall s ({cores})", f"{train_s:.0f} / {wall:.0f}",
                    "training <= 180 s on 2 CPU cores" if where == "cpu" else "", train_s <= 180 if where == "cpu"
                    else None))
    return rows


def part4_rows(text: str, wall: float, reduced: bool) -> List[Row]:
    """Rows from an executed part4.ipynb's text: its wall time and the transfer-learning table (test accuracy per
    training-set size, pretrained frozen / fine-tuned vs from scratch)."""
    import re

    mode = "reduced (PART4_REDUCED)" if reduced else "full"
    rows = [Row("part4", f"whole notebook wall s ({mode}, {os.cpu_count()} cores)", f"{wall:.0f}",
                "<= 180 s reduced, <= 600 s full", wall <= (180 if reduced else 600))]
    table_rows = re.findall(r"^\s*(\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)\s*$", text, re.MULTILINE)
    if not table_rows:
        rows.append(Row("part4", "transfer-learning table", "not found in the outputs", "", False))
    for size, frozen, tuned, scratch in table_rows:
        best = max(float(frozen), float(tuned))
        rows.append(Row("part4", f"{size} per class: test % frozen / fine-tuned / from scratch",
                        f"{float(frozen):.1f} / {float(tuned):.1f} / {float(scratch):.1f}",
                        "pretrained > from scratch", best > float(scratch)))
    return rows


KEEP_NOTEBOOKS: Optional[Path] = None  # --keep-notebooks DIR: the executed notebooks are saved there


def _execute_kit_notebook(name: str, folders: Tuple[str, ...], env: Dict[str, str]):
    """Execute the reference kit's notebook ``name`` headlessly in a temporary copy with the kit ``folders`` it
    imports (saved into KEEP_NOTEBOOKS when set); returns (the executed notebook, wall seconds)."""
    import nbformat

    from autograder.build import reference_artifacts
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(paths.KIT / name, tmp)
        for folder in folders:
            shutil.copytree(paths.KIT / folder, Path(tmp) / folder)
        start = time.perf_counter()
        nb = reference_artifacts.execute_notebook(Path(tmp), name, dict(os.environ, MPLBACKEND="Agg", **env))
        wall = time.perf_counter() - start
    if KEEP_NOTEBOOKS is not None:
        KEEP_NOTEBOOKS.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(KEEP_NOTEBOOKS / name))
    return nb, wall


def bench_part4(notes: List[str]) -> List[Row]:
    """Reference part4.ipynb executed headlessly (full mode unless PART4_REDUCED is set in the environment)."""
    root, cifar = paths.fashion_mnist_root(), paths.cifar10_dir()
    if root is None or cifar is None:
        notes.append(paths.missing_data_reason("Fashion-MNIST or CIFAR-10") + "; part4 section skipped")
        return [Row("part4", "reference notebook", "skipped: no data", "<= 600 s", None)]
    env = dict(FASHION_MNIST_ROOT=str(root), CIFAR10_DIR=str(cifar))
    env["PART4_DATASET"] = os.environ.get("PART4_DATASET", "fashion")  # no download attempt: the offline data
    nb, wall = _execute_kit_notebook("part4.ipynb", ("smalldata",), env)
    return part4_rows(_notebook_text(nb), wall, bool(os.environ.get("PART4_REDUCED")))


# ---------------------------------------------------------------------------------------------------------- part3
RATIO_FACTOR = 1.5  # "clearly higher": the deep feature's between/within ratio at least this multiple of the early's


def part3_rows(text: str, wall: float, reduced: bool) -> List[Row]:
    """Rows from an executed part3.ipynb's text: wall time, each t-SNE's time, and the between/within ratio of the
    early and the penultimate feature (the reference's target: deep clearly higher)."""
    import re

    from autograder.grading.checks.section3a_notebook import variance_table
    mode = "reduced (PART3_REDUCED)" if reduced else "full"
    model = re.search(r"^model: (.+)$", text, re.MULTILINE)
    data = re.search(r"^(CIFAR-10|Fashion-MNIST): (\d+) test images \(3, (\d+), \d+\)", text, re.MULTILINE)
    what = (f"{data.group(2)} {data.group(1)} images of {data.group(3)} x {data.group(3)}, "
            f"{model.group(1).split(' ')[0]}") if data and model else "?"
    rows = [Row("part3", f"whole notebook wall s ({mode}, {os.cpu_count()} cores; {what})", f"{wall:.0f}",
                "<= 180 s reduced, <= 600 s full", wall <= (180 if reduced else 600))]
    for key, seconds in re.findall(r"^t-SNE of (\w+): ([\d.]+) s", text, re.MULTILINE):
        rows.append(Row("part3", f"t-SNE of {key} in the notebook: seconds", seconds))
    table = {row[0]: row for row in variance_table(text)}
    if "early_conv" in table and "penultimate" in table:
        early, deep = table["early_conv"], table["penultimate"]
        rows.append(Row("part3", f"between/within ratio: penultimate (D = {deep[1]}) vs early_conv (D = {early[1]})",
                        f"{deep[5]:.3g} vs {early[5]:.3g} = {deep[5] / early[5]:.1f}x",
                        f">= {RATIO_FACTOR:g}x", deep[5] >= RATIO_FACTOR * early[5]))
    else:
        rows.append(Row("part3", "variance table", "not found in the outputs", "", False))
    return rows


def bench_part3(notes: List[str]) -> List[Row]:
    """Reference part3.ipynb executed headlessly (full mode unless PART3_REDUCED=1 is set in the environment)."""
    root, cifar = paths.fashion_mnist_root(), paths.cifar10_dir()
    if root is None or cifar is None:
        notes.append(paths.missing_data_reason("Fashion-MNIST or CIFAR-10") + "; part3 section skipped")
        return [Row("part3", "reference notebook", "skipped: no data", "<= 600 s", None)]
    nb, wall = _execute_kit_notebook("part3.ipynb", ("cnnfeatures",),
                                     dict(FASHION_MNIST_ROOT=str(root), CIFAR10_DIR=str(cifar)))
    return part3_rows(_notebook_text(nb), wall, os.environ.get("PART3_REDUCED") == "1")
