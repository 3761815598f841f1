"""python -m bench [--only SECTION ...] [--out BENCHMARKS.md]: measure the kit against its targets, print a table.

Sections (all by default):
  cifar    reference two-layer net on the full CIFAR-10: val accuracy per epoch vs wall seconds, time to 40/50/52 %,
           and the training loop's GFLOP/s as a fraction of plain numpy GEMMs on the same shapes
  part1    reference part1.ipynb (Fashion-MNIST CNN) executed headlessly: test accuracy vs wall seconds
  grade    grading one full reference submission: CPU seconds and peak memory, unlimited and Gradescope-like
  regrade  batch regrade of a folder of generated submissions: submissions per minute
  checks   the local check scripts' wall time as a student runs them
  features Section 3a: class_variances on 100k x 512 features (seconds, peak memory) and the t-SNE time
  part3    reference part3.ipynb (Section 3a) executed headlessly: wall time, t-SNE times, deep vs early ratio
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
from typing import Callable, Dict, List, Tuple

from autograder import paths
from bench.report import Row, machine_line, table, write_markdown

SECTIONS = ("cifar", "part1", "grade", "regrade", "checks", "features", "part3", "part4", "autograd")


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
    parser.add_argument("--keep-notebooks", type=Path, metavar="DIR",
                        help="save the executed notebooks (part3, part4) into DIR, to read their outputs")
    args = parser.parse_args(argv)
    if args.keep_notebooks:
        from bench import sections
        sections.KEEP_NOTEBOOKS = args.keep_notebooks
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
        appendix = ""
        if args.only and args.out.is_file():
            rows, notes, appendix = _merge(args.out, rows, notes)
        write_markdown(args.out, rows, notes, command, appendix)
        print(f"wrote {args.out}")
    return 1 if failed else 0


def _merge(existing: Path, rows: List[Row], notes: List[str]) -> Tuple[List[Row], List[str], str]:
    """What to keep of an existing BENCHMARKS.md when only some sections were re-run: the other sections' rows (a
    section measured on another device, e.g. part1 on the CPU and part1-cuda, is another section), the notes that do
    not start with a re-run section's name, and everything from the first ``## `` heading on (hand-written parts,
    e.g. the extra-credit table), verbatim. Returns (rows, notes, that appendix)."""
    produced = {row.section for row in rows}
    text = existing.read_text()
    head, sep, appendix = text.partition("\n## ")
    kept: List[Row] = []
    kept_notes: List[str] = []
    for line in head.splitlines():
        if line.startswith("- "):
            note = line[2:]
            if note.split(":")[0].split(" ")[0] not in produced and note not in notes:
                kept_notes.append(note)
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("section", "") or set(cells[0]) <= {"-"}:
            continue
        if cells[0] in produced:
            continue
        holds = {"yes": True, "NO": False}.get(cells[4])
        kept.append(Row(cells[0], cells[1], cells[2], cells[3], holds))
    order = {name: i for i, name in enumerate(SECTIONS)}
    merged = sorted(kept + rows, key=lambda r: order.get(r.section.split("-")[0], 99))
    return merged, kept_notes + notes, ("## " + appendix) if sep else ""


if __name__ == "__main__":
    sys.exit(main())
