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
def bench_grade(notes: List[str]) -> List[Row]:
    ref, _ = _need_dist()
    rows: List[Row] = []
    for limited in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            m = run_measured([PY, "-m", "autograder", "grade", str(ref), "--out", str(out)], cwd=paths.REPO,
                             gradescope_like=limited)
            label = "Gradescope-like" if limited else "unlimited"
            if m.returncode != 0 or not (out / "results.json").is_file():
                rows.append(Row("grade", f"reference submission ({label})", f"failed: exit {m.returncode}"
                                + (", killed for memory" if m.killed_for_memory else ""), "full marks", False))
                notes.append(f"grade ({label}) output tail: {m.output[-300:]!r}")  # type: ignore[attr-defined]
                continue
            res = _results(out)
            full = abs(res["score"] - _max_score(res)) < 1e-9
            rows.append(Row("grade", f"reference score ({label})", f"{res['score']:g} / {_max_score(res):g}",
                            "full marks", full))
            rows.append(Row("grade", f"CPU s, user+sys, children included ({label})", f"{m.cpu_s:.1f}",
                            "<= 60", m.cpu_s <= 60))
            mem = f"{m.peak_rss_mb:.0f} (tree RSS)"
            if m.peak_cgroup_mb is not None:
                mem += f"; cgroup peak {m.peak_cgroup_mb:.0f} incl. page cache"
            rows.append(Row("grade", f"peak memory MB ({label})", mem, "<= 768", m.peak_rss_mb <= 768))
            rows.append(Row("grade", f"wall s ({label})", f"{m.wall_s:.1f}", "<= 600 (Gradescope timeout)",
                            m.wall_s <= 600))
            if limited:
                notes.append(f"Gradescope-like limits: {m.how}.")
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


def bench_regrade(notes: List[str]) -> List[Row]:
    ref, stub = _need_dist()
    stubs = _stub_files(stub)
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
        csv = Path(tmp) / "grades.csv"
        start = time.perf_counter()
        proc = subprocess.run([PY, "-m", "autograder", "regrade", str(folder), "--csv", str(csv), "--jobs", "2"],
                              cwd=paths.REPO, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0 or not csv.is_file():
            return [Row("regrade", f"{made} submissions", f"failed: exit {proc.returncode}: "
                        f"{proc.stderr.strip()[-120:]}", ">= 20 / min", False)]
        rows_in_csv = len(csv.read_text().strip().splitlines()) - 1
    per_min = made / wall * 60
    return [
        Row("regrade", f"{made} submissions (4 perfect, 1 starter, {made - 5} partial), 2 jobs",
            f"{wall:.1f} s wall, {rows_in_csv} CSV rows", f"{made} rows", rows_in_csv == made),
        Row("regrade", "submissions per minute (2 cores)", f"{per_min:.1f}", ">= 20", per_min >= 20),
    ]


# --------------------------------------------------------------------------------------------------------- checks
def bench_checks(notes: List[str]) -> List[Row]:
    ref, _ = _need_dist()
    rows: List[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        kit = Path(tmp) / "kit"
        shutil.copytree(paths.KIT, kit, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        scripts = [
            ("backprop", ["backprop.py"]),
            ("neuralnet", ["gradcheck_layers.py"]),
            ("neuralnet", ["gradcheck_classifier.py"]),
            ("neuralnet", ["check_softmax_stability.py"]),
            (".", ["check_submission.py", str(ref)]),
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
