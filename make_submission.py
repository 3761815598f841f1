"""Build the zip you upload to Gradescope.

Usage (from the kit folder, the one holding this file):

    python make_submission.py UNIQNAME [--out UNIQNAME.zip]

It collects the files to hand in from their places in the kit (PART_FILES in check_submission.py: each file, where
it lives in the kit and how to make it; a file with a name of its own in the zip is renamed). When something is wrong it lists every problem it finds in one pass (files missing, with how to
produce each, notebooks not run or ending in an error, empty files, a uniqname that is not one) and exits with
status 1; otherwise it writes UNIQNAME.zip holding one folder UNIQNAME/ with those files and runs
check_submission.py's checks on the zip.
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


def file_problems(kit_root: Path) -> list[str]:
    """One line per problem with a required file that is there: empty, or a notebook not run or ending in an error
    (check_submission.py's notebook checks, run on the kit's files before they are zipped)."""
    lines = []
    for name in check_submission.REQUIRED_FILES:
        relative = check_submission.KIT_SOURCES[name][0]
        path = kit_root / relative
        if not path.is_file():
            continue  # reported by missing_files
        if path.stat().st_size == 0:
            lines.append(f"{relative} is empty.")
        elif name in check_submission.NOTEBOOKS:
            lines.extend(check_submission.check_notebook(path))
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

    problems = []
    if not check_submission.UNIQNAME_PATTERN.match(uniqname):
        problems.append(f"{uniqname!r} is not a uniqname: use your uniqname in lowercase "
                        "(letters, digits, '_' or '-', starting with a letter).")
    problems += missing_files(kit_root)
    problems += file_problems(kit_root)
    if problems:
        print(f"Cannot make the submission: {len(problems)} problem{'s' if len(problems) != 1 else ''} "
              f"in {kit_root}:", file=sys.stderr)
        for line in problems:
            print(f"  - {line}", file=sys.stderr)
        print(f"Fix {'them' if len(problems) != 1 else 'it'} and run make_submission.py again.", file=sys.stderr)
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
