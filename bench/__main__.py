"""python -m bench [--only SECTION ...] [--out BENCHMARKS.md]: measure the kit against its targets, print a table.

Sections (all by default):
  cifar    reference two-layer net on the full CIFAR-10: val accuracy per epoch vs wall seconds, time to 40/50/52 %,
           and the training loop's GFLOP/s as a fraction of plain numpy GEMMs on the same shapes
  part1    reference part1.ipynb (Fashion-MNIST CNN) executed headlessly: test accuracy vs wall seconds
  grade    grading one full reference submission: CPU seconds and peak memory, unlimited and Gradescope-like
  regrade  batch regrade of a folder of generated submissions: submissions per minute
  checks   the local check scripts' wall time as a student runs them
  features Section 3a: class_variances on 100k x 512 features (seconds, peak memory) and the t-SNE time
  part4    reference part4.ipynb (Section 3b) executed headlessly: wall time and the transfer-learning table
  autograd the extra-credit autograd framework: epoch time vs PyTorch (ratio), training time to 85 % (bench/autograd.py)

The figures and which targets hold are printed and written to BENCHMARKS.md; the exit status is 0 either way
(non-zero only when a benchmark could not run at all).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

from autograder import paths
from bench.report import Row, machine_line, table, write_markdown

SECTIONS = ("cifar", "part1", "grade", "regrade", "checks", "features", "part4", "autograd")


def _section_functions() -> Dict[str, Callable[[List[str]], List[Row]]]:
    from bench import autograd, features, sections
    modules = {"autograd": autograd, "features": features}
    return {name: getattr(modules.get(name, sections), f"bench_{name}") for name in SECTIONS}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--out", type=Path, default=paths.REPO / "BENCHMARKS.md",
                        help="markdown file to write (default: BENCHMARKS.md at the repo root)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    chosen = args.only or list(SECTIONS)
    functions = _section_functions()
    rows: List[Row] = []
    notes: List[str] = []
    print(f"benchmarks on {machine_line()}", flush=True)
    failed = False
    for name in chosen:
        start = time.perf_counter()
        print(f"== {name} ...", flush=True)
        try:
            rows += functions[name](notes)
        except Exception as exc:  # report and go on: one broken section must not hide the others' figures
            failed = True
            rows.append(Row(name, "could not run", f"{type(exc).__name__}: {exc}"[:160], "", False))
        print(f"== {name} done in {time.perf_counter() - start:.0f} s", flush=True)
    print()
    print(table(rows))
    for note in notes:
        print(f"note: {note}")
    if not args.no_write:
        command = "python -m bench" + (f" --only {' '.join(chosen)}" if args.only else "")
        if args.only and args.out.is_file():
            rows = _merge(args.out, rows)
        write_markdown(args.out, rows, notes, command)
        print(f"wrote {args.out}")
    return 1 if failed else 0


def _merge(existing: Path, rows: List[Row]) -> List[Row]:
    """Keep the other sections' rows of an existing BENCHMARKS.md when only some sections were re-run (a section
    measured on another device, e.g. part1 on the CPU and part1-cuda, is another section)."""
    produced = {row.section for row in rows}
    kept: List[Row] = []
    for line in existing.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("section", "") or set(cells[0]) <= {"-"}:
            continue
        if cells[0] in produced:
            continue
        holds = {"yes": True, "NO": False}.get(cells[4])
        kept.append(Row(cells[0], cells[1], cells[2], cells[3], holds))
    order = {name: i for i, name in enumerate(SECTIONS)}
    return sorted(kept + rows, key=lambda r: order.get(r.section.split("-")[0], 99))


if __name__ == "__main__":
    sys.exit(main())
