"""Generate backprop/backprop-data.pkl from the reference functions.py (instructor script).

    python -m autograder.build.section1_backprop_data            # rewrite backprop/backprop-data.pkl
    python -m autograder.build.section1_backprop_data --check    # exit 1 when the committed file differs from a rebuild

The inputs are drawn with Python's ``random`` from a fixed seed and the outputs come from the reference solution, so
a rebuild is byte-identical as long as the reference is unchanged (test_backprop_data_regenerates_identically in
tests/test_section1_data_training.py checks it). The format (KIT-SPEC): {'f1' | 'f2' | 'f3 (y=1)' | 'f3 (y=2)':
{'inputs': 100 tuples of floats in [0, 1), 'outputs': 100 floats}}. The generator itself is ``make_data`` in
backprop/backprop.py (one implementation).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional, Sequence

from autograder import paths
from autograder.grading import reference

SEED = 498  # fixed: the committed data file is what this seed gives
DATA_FILE = paths.KIT / "backprop" / "backprop-data.pkl"


def _driver(kit_dir: Path) -> ModuleType:
    """The kit's backprop.py, loaded by path under a private name (it imports functions.py only in main)."""
    path = kit_dir / "backprop" / "backprop.py"
    spec = importlib.util.spec_from_file_location("_dlkit_backprop_driver", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data_bytes(kit_dir: Optional[Path] = None) -> bytes:
    """The pickled data file as the reference in ``kit_dir`` (default: the repository's kit) produces it."""
    import pickle

    kit = Path(kit_dir) if kit_dir is not None else paths.KIT
    driver = _driver(kit)
    data = driver.make_data(reference.load("backprop", "functions", kit_dir), SEED)
    return pickle.dumps(data, protocol=driver.PICKLE_PROTOCOL)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    parser.add_argument("--output", type=Path, default=DATA_FILE, help="where to write (default: the kit's file)")
    args = parser.parse_args(argv)
    content = data_bytes()
    if args.check:
        same = args.output.is_file() and args.output.read_bytes() == content
        print(f"{args.output}: {'up to date' if same else 'DIFFERS from a rebuild; run without --check'}")
        return 0 if same else 1
    args.output.write_bytes(content)
    print(f"wrote {args.output} ({len(content)} bytes, seed {SEED})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
