"""Build the zip you upload to Gradescope.

Usage (from the kit folder, the one holding this file):

    python make_submission.py UNIQNAME [--out UNIQNAME.zip]

It collects the files to hand in from their places in the kit (backprop/functions.py, neuralnet/layers.py,
neuralnet/train.py, neuralnet/two_layer_net.py, neuralnet/checkpoint.pkl, part1.ipynb, part2.ipynb,
part1_model.pt, img1.png, img2.png), refuses with the list of what is missing and how to produce it, writes UNIQNAME.zip holding one
folder UNIQNAME/ with those files, and finally runs check_submission.py's checks on the zip.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from pathlib import Path

# check_submission.py sits beside this file; import it from there whatever the current directory is.
_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import check_submission  # noqa: E402  (needs the sys.path line above)


def missing_files(kit_root: Path) -> list[str]:
    """One line per required file absent from the kit: where it should be and how to produce it."""
    lines = []
    for name in check_submission.REQUIRED_FILES:
        relative, hint = check_submission.KIT_SOURCES[name]
        if not (kit_root / relative).is_file():
            lines.append(f"{relative} is missing: {hint}.")
    return lines


def write_zip(kit_root: Path, uniqname: str, out: Path) -> None:
    """Write out as a zip holding UNIQNAME/<file> for every required file (written atomically)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target, then rename: an interrupted run never leaves a half-written zip to upload.
    fd, temp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(temp_name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in check_submission.REQUIRED_FILES:
                source = kit_root / check_submission.KIT_SOURCES[name][0]
                archive.write(source, arcname=f"{uniqname}/{name}")
        os.replace(temp_name, out)
    finally:
        if os.path.exists(temp_name):
            os.remove(temp_name)


def main(argv: list[str] | None = None) -> int:
    """Command line: build and check the submission zip; exit 0 when it is ready to upload, 1 otherwise."""
    parser = argparse.ArgumentParser(description="Zip the files to hand in into UNIQNAME.zip and check the zip.")
    parser.add_argument("uniqname", help="your uniqname, in lowercase (it names the folder inside the zip)")
    parser.add_argument("--out", type=Path, help="where to write the zip (default: UNIQNAME.zip in the kit folder)")
    parser.add_argument(
        "--kit-root", type=Path, default=_HERE, help="the kit folder to collect files from (default: this file's)"
    )
    args = parser.parse_args(argv)
    uniqname = args.uniqname
    kit_root = args.kit_root.resolve()
    out = (args.out if args.out is not None else kit_root / f"{uniqname}.zip").resolve()

    if not check_submission.UNIQNAME_PATTERN.match(uniqname):
        print(
            f"{uniqname!r} is not a uniqname: use your uniqname in lowercase "
            "(letters, digits, '_' or '-', starting with a letter).",
            file=sys.stderr,
        )
        return 1

    missing = missing_files(kit_root)
    if missing:
        print(f"Cannot make the submission: {len(missing)} file{'s' if len(missing) != 1 else ''} missing "
              f"in {kit_root}:", file=sys.stderr)
        for line in missing:
            print(f"  - {line}", file=sys.stderr)
        return 1

    write_zip(kit_root, uniqname, out)
    print(f"Wrote {out}. Checking it:")
    problems = check_submission.check_zip(out, uniqname)
    if problems:
        out.unlink()  # a zip that fails the check must not be uploaded by mistake
        print(f"The zip has {len(problems)} problem{'s' if len(problems) != 1 else ''} and was deleted:")
        for problem in problems:
            print(f"  - {problem}")
        print(f"Fix {'them' if len(problems) != 1 else 'it'} and run make_submission.py again.")
        return 1
    print(f"{out.name} looks good. It contains:")
    for line in check_submission.zip_summary(out):
        print(line)
    if check_submission.zip_name_problem(out, uniqname):
        print(f"Note: the zip is not named {uniqname}.zip; check it again with "
              f"`python check_submission.py {out.name} --uniqname {uniqname}`.")
    print(f"Upload {out} to Gradescope.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
