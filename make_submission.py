"""Build the zip you upload to Gradescope, from whatever you have done so far.

Usage (from the kit folder, the one holding this file):

    python make_submission.py UNIQNAME [--out UNIQNAME.zip] [--complete]

It collects the files to hand in from their places in the kit (PART_FILES in check_submission.py: each file, where
it lives in the kit and how to make it; a file with a name of its own in the zip is renamed) and writes UNIQNAME.zip
holding one folder UNIQNAME/ with the files that exist. Hand in early and often: a file not there yet (a part not
done, a notebook not run) is listed as a warning with the rows it costs ("... is missing ... Until it is handed in,
rows 2.1-2.7 score 0"), and the zip is made anyway. It refuses (exit status 1, no zip) only what would stop
grading: a uniqname that is not one, a notebook that is not a notebook, a file over the size limit. `--complete`
refuses a zip with anything missing or unrun too (for the final hand-in). The zip is then checked with
check_submission.py's checks.
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

_count = check_submission.plural_count  # "1 problem", "3 items": one wording for both tools


def missing_files(kit_root: Path) -> list[str]:
    """One line per required file absent from the kit: where it should be, how to produce it and the rows it costs."""
    lines = []
    for name in check_submission.REQUIRED_FILES:
        relative, hint = check_submission.KIT_SOURCES[name]
        if not (kit_root / relative).is_file():
            lines.append(f"{relative} is missing: {hint}. {check_submission.consequence(name)}".rstrip())
    return lines


def sort_problems(kit_root: Path) -> tuple[list[str], list[str]]:
    """(blocking, incomplete) for the files in the kit, before they are zipped: a notebook that is not JSON or a file
    over the size limit blocks; a file missing or empty, or a notebook not run or ending in an error, is incomplete."""
    blocking: list[str] = []
    incomplete = missing_files(kit_root)
    for name in check_submission.REQUIRED_FILES:
        relative = check_submission.KIT_SOURCES[name][0]
        if (kit_root / relative).is_file():  # a missing one is reported by missing_files
            file_blocking, file_incomplete = check_submission.sort_file(name, kit_root / relative, relative)
            blocking += file_blocking
            incomplete += file_incomplete
    return blocking, incomplete


def present(kit_root: Path) -> list[str]:
    """The handed-in files that exist in the kit and are not empty (names in the submission)."""
    return [name for name in check_submission.REQUIRED_FILES
            if (kit_root / check_submission.KIT_SOURCES[name][0]).is_file()
            and (kit_root / check_submission.KIT_SOURCES[name][0]).stat().st_size > 0]


def write_zip(kit_root: Path, uniqname: str, out: Path) -> None:
    """Write out as a zip holding UNIQNAME/<file> for every handed-in file the kit has (written atomically)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target, then rename: an interrupted run never leaves a half-written zip to upload.
    fd, temp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(temp_name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in present(kit_root):
                source = kit_root / check_submission.KIT_SOURCES[name][0]
                archive.write(source, arcname=f"{uniqname}/{name}")
        os.replace(temp_name, out)
    finally:
        if os.path.exists(temp_name):
            os.remove(temp_name)


def main(argv: list[str] | None = None) -> int:
    """Command line: build and check the submission zip; exit 0 when it was written, 1 when it was refused."""
    parser = argparse.ArgumentParser(description="Zip the files to hand in into UNIQNAME.zip and check the zip.")
    parser.add_argument("uniqname", help="your uniqname, in lowercase (it names the folder inside the zip)")
    parser.add_argument("--out", type=Path, help="where to write the zip (default: UNIQNAME.zip in the kit folder)")
    parser.add_argument(
        "--kit-root", type=Path, default=_HERE, help="the kit folder to collect files from (default: this file's)"
    )
    parser.add_argument("--complete", action="store_true",
                        help="refuse unless every file is there and every notebook run (the final hand-in)")
    args = parser.parse_args(argv)
    uniqname = args.uniqname
    kit_root = args.kit_root.resolve()
    out = (args.out if args.out is not None else kit_root / f"{uniqname}.zip").resolve()

    blocking, incomplete = sort_problems(kit_root)
    if not check_submission.UNIQNAME_PATTERN.match(uniqname):
        blocking.insert(0, f"{uniqname!r} is not a uniqname: use your uniqname in lowercase "
                           "(letters, digits, '_' or '-', starting with a letter).")
    if not present(kit_root):
        blocking.append(f"none of the files to hand in is in {kit_root}: run this from the kit folder, or pass "
                        "--kit-root.")
    refused = blocking + (incomplete if args.complete else [])
    if refused:
        print(f"Cannot make the submission: {_count(len(refused), 'problem')} in {kit_root}:", file=sys.stderr)
        for line in refused:
            print(f"  - {line}", file=sys.stderr)
        later = [line for line in incomplete if line not in refused]
        if later:
            print(f"Not there yet either ({_count(len(later), 'item')}; these alone would not stop the zip):",
                  file=sys.stderr)
            for line in later:
                print(f"  - {line}", file=sys.stderr)
        print(f"Fix {'them' if len(refused) != 1 else 'it'} and run make_submission.py again.", file=sys.stderr)
        return 1

    write_zip(kit_root, uniqname, out)
    print(f"Wrote {out}. Checking it:")
    zip_blocking, _ = check_submission.sort_zip(out, uniqname)  # the incomplete ones: listed above, from the kit
    if zip_blocking:
        out.unlink()  # a zip that cannot be graded must not be uploaded by mistake
        print(f"The zip has {_count(len(zip_blocking), 'problem')} and was deleted:")
        for problem in zip_blocking:
            print(f"  - {problem}")
        print(f"Fix {'them' if len(zip_blocking) != 1 else 'it'} and run make_submission.py again.")
        return 1
    if incomplete:
        print(f"Not there yet ({_count(len(incomplete), 'item')}); the zip holds the rest, and Gradescope grades "
              "what is there:")
        for line in incomplete:
            print(f"  - {line}")
        print(f"{out.name} can be uploaded now; make it again when you have done more. It contains:")
    else:
        print(f"{out.name} looks good: every file is there. It contains:")
    for line in check_submission.zip_summary(out):
        print(line)
    if check_submission.zip_name_problem(out, uniqname):
        print(f"Note: the zip is not named {uniqname}.zip; check it again with "
              f"`python check_submission.py {out.name} --uniqname {uniqname}`.")
    print(f"Upload {out} to Gradescope.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
