"""Benchmark rows, the printed table and BENCHMARKS.md."""
from __future__ import annotations

import datetime
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence


@dataclass
class Row:
    section: str
    metric: str
    value: str
    target: str = ""
    holds: Optional[bool] = None  # None: no target for this row

    @property
    def verdict(self) -> str:
        return "" if self.holds is None else ("yes" if self.holds else "NO")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    from autograder import resources
    threads = os.environ.get("OMP_NUM_THREADS")
    return (f"{os.cpu_count()} cores ({_cpu_model()}), Python {platform.python_version()}, {platform.system()}; "
            f"thread pools: {resources.usable_cpus()} usable CPU(s) (affinity and cgroup quota, "
            f"autograder/resources.py), OMP_NUM_THREADS {threads if threads else 'unset (sized per process)'}")


def table(rows: Sequence[Row]) -> str:
    """A markdown table (also readable as plain text)."""
    header = ("section", "metric", "measured", "target", "holds")
    cells = [header] + [(r.section, r.metric, r.value, r.target, r.verdict) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = []
    for n, c in enumerate(cells):
        lines.append("| " + " | ".join(text.ljust(w) for text, w in zip(c, widths)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write_markdown(path: Path, rows: Sequence[Row], notes: List[str], command: str, appendix: str = "") -> None:
    today = datetime.date.today().isoformat()
    text = [
        "# Benchmarks",
        "",
        f"Measured {today} on {machine_line()} with `{command}`.",
        "Re-run it after any change that could move a figure, and commit the new file.",
        "",
        table(rows),
        "",
    ]
    if notes:
        text += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    if appendix:
        text += [appendix.rstrip("\n"), ""]
    path.write_text("\n".join(text))
