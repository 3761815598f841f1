"""Check a homework submission zip before you upload it to Gradescope.

Usage (from the kit folder):

    python check_submission.py uniqname.zip [--uniqname UNIQNAME]

It exits with status 1 on a problem that would stop the zip from being graded (a notebook that is not a notebook, a
file over 50 MB, a compiled file, the wrong folder name). Files not there yet (a part not done, a notebook not run)
are listed with the rows they cost, and the zip can still be uploaded: hand in early and often, Gradescope grades
what is there. `--complete` makes those fail too, for the final hand-in.

The zip must hold exactly one folder, named after your uniqname, with the files of PART_FILES below directly inside
it (each with where it lives in the kit and how to make it).

The folder must have the zip's name without `.zip` (jdoe.zip holds jdoe/), so that you hand in your own folder and
not a classmate's. When your zip has another name, `--uniqname UNIQNAME` checks the folder against UNIQNAME instead.
The notebooks must be saved with their outputs (run every cell, then save) and without error outputs.
`make_submission.py` builds such a zip for you and runs this check on it.

The autograder imports this file and grades with three of its functions: `safe_extract` (how zips are opened
when the course staff grade locally: no path tricks, links or zip bombs), `find_submission_folder` (where your
files are found) and `missing_files` (which files are not where they must be, and where they were found instead:
the autograder's checks that need them say the same). Gradescope unzips and renames your upload itself, and also
accepts files at the top of the zip. The other checks here (the folder and zip names, the notebook outputs) are
only for you: the grader never refuses a submission for them; a missing or broken file just earns no points on the
checks that need it.
Because the autograder imports it, this module uses only the Python standard library (plus `nbformat`, imported
lazily when it is installed).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

# Per part of the homework: each file handed in -> (where it lives in the kit, what a student does when it is
# missing). make_submission.py reads this table too, so the two tools never disagree about the list.
# generated: hand-in files (from the course's part declarations)
PART_FILES = {
    'section1': {
        'functions.py': ('backprop/functions.py',
            'it comes with the kit and holds your backprop code, f1..f4'),
        'layers.py': ('neuralnet/layers.py',
            'it comes with the kit and holds your layer code'),
        'train.py': ('neuralnet/train.py',
            'it comes with the kit and holds your training code and hyper-parameters'),
        'two_layer_net.py': ('neuralnet/two_layer_net.py',
            'it comes with the kit and holds your TwoLayerNet'),
        'checkpoint.pkl': ('neuralnet/checkpoint.pkl',
            'run `python train.py` inside neuralnet/ to create neuralnet/checkpoint.pkl'),
    },
    'section2': {
        'part1.ipynb': ('part1.ipynb',
            'it comes with the kit; hand it in run, with its outputs saved'),
        'part2.ipynb': ('part2.ipynb',
            'it comes with the kit; hand it in run, with its outputs saved'),
        'part1_model.pt': ('part1_model.pt',
            'run part1.ipynb to the end; its last cell saves your trained model as part1_model.pt'),
        'img1.png': ('img1.png',
            'run part2.ipynb to the end; its predictions cell saves the images it classified'),
        'img2.png': ('img2.png',
            'run part2.ipynb to the end; its predictions cell saves the images it classified'),
    },
    'section3a': {
        'features.py': ('cnnfeatures/features.py',
            'it comes with the kit and holds your feature extraction and class variances'),
        'part3.ipynb': ('part3.ipynb',
            'it comes with the kit; hand it in run, with its outputs and your answers'),
    },
    'section3b': {
        'models.py': ('smalldata/models.py',
            'it comes with the kit and holds your FC_only, Grayscale1Convolution and CifarOneConv'),
        'helpers.py': ('smalldata/helpers.py',
            'it comes with the kit and holds your class_subset, train_epochs, accuracy and confusion'),
        'part4.ipynb': ('part4.ipynb',
            'it comes with the kit; hand it in run, with its outputs saved'),
    },
    'autograd': {
        'autograd_tensor.py': ('autograd/tensor.py',
            'it comes with the kit (autograd/tensor.py), done or not'),
        'autograd_nn.py': ('autograd/nn.py',
            'it comes with the kit (autograd/nn.py), done or not'),
        'autograd_optim.py': ('autograd/optim.py',
            'it comes with the kit (autograd/optim.py), done or not'),
        'test_autograd.py': ('autograd/test_autograd.py',
            'it comes with the kit and holds your tests, done or not'),
    },
}
ROWS_NEEDING = {
    'functions.py': 'row 1.3',
    'layers.py': 'rows 2.1-2.7, 3.1-3.3 and 4.1-4.2',
    'train.py': 'rows 4.1-4.2',
    'two_layer_net.py': 'rows 3.1-3.3 and 4.1',
    'checkpoint.pkl': 'row 4.3',
    'part1.ipynb': 'rows 5.1-5.2',
    'part2.ipynb': 'rows 5.3-5.4',
    'part1_model.pt': 'row 5.2',
    'img1.png': 'row 5.4',
    'img2.png': 'row 5.4',
    'features.py': 'rows 6.1-6.4',
    'part3.ipynb': 'row 6.4',
    'models.py': 'rows 7.1-7.4 and 7.8',
    'helpers.py': 'rows 7.5-7.8',
    'part4.ipynb': 'row 7.8',
    'autograd_tensor.py': 'rows 10.1-10.8',
    'autograd_nn.py': 'rows 10.6 and 10.8',
    'autograd_optim.py': 'rows 10.7-10.8',
    'test_autograd.py': 'row 10.9',
}
# end generated: hand-in files

KIT_SOURCES = {name: source for files in PART_FILES.values() for name, source in files.items()}
REQUIRED_FILES = tuple(KIT_SOURCES)

NOTEBOOKS = tuple(name for name in REQUIRED_FILES if name.endswith(".ipynb"))

# Lenient on purpose: real uniqnames are 3-8 lowercase letters, but some courses use longer login names.
UNIQNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")

MIB = 1024 * 1024
MAX_FILE_BYTES = 50 * MIB  # any single file above this is refused (Gradescope's grader has 768 MB of memory)
MAX_TOTAL_BYTES = 200 * MIB
MAX_FILES = 200
MAX_RATIO = 200
# Small, very regular files (a notebook full of zeros) compress well for innocent reasons; only a member that also
# expands to more than this is judged by its compression ratio.
RATIO_MIN_BYTES = 1 * MIB

COMPILED_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".dll", ".dylib", ".exe", ".o")
_CHUNK = 64 * 1024


class SubmissionError(Exception):
    """The submission cannot be checked any further; the message tells the student why."""


def _is_ignored(name: str) -> bool:
    """Archive clutter that macOS and Finder add; skipped silently, never extracted."""
    parts = PurePosixPath(name).parts
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1] == ".DS_Store")


def _format_size(num_bytes: int) -> str:
    if num_bytes < 1024:
        return f"{num_bytes} B"
    if num_bytes < MIB:
        return f"{num_bytes / 1024:.1f} KB"
    return f"{num_bytes / MIB:.1f} MB"


def _unsafe_name_reason(name: str) -> str | None:
    """Why a member name could write outside the extraction folder, or None when it is safe."""
    if "\x00" in name:
        return "contains a NUL character"
    if "\\" in name:
        return "contains a backslash (build the zip with make_submission.py, not a Windows tool)"
    if name.startswith("/"):
        return "is an absolute path"
    if re.match(r"^[A-Za-z]:", name):
        return "starts with a drive letter"
    if any(part == ".." for part in name.split("/")):
        return "contains '..'"
    if not name.strip("/"):
        return "is empty"
    return None


def _member_type_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a member is not a plain file or folder (symlink, device, ...), or None when it is one."""
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    # Zips written on Windows carry no Unix mode at all (kind 0): those are plain files or folders.
    if kind in (0, stat.S_IFREG, stat.S_IFDIR):
        return None
    if kind == stat.S_IFLNK:
        return "is a symbolic link"
    return "is a device, pipe or socket, not a plain file"


def safe_extract(
    zip_path: str | os.PathLike,
    dest_dir: str | os.PathLike,
    *,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_files: int = MAX_FILES,
    max_ratio: float = MAX_RATIO,
) -> Path:
    """Extract an untrusted zip into dest_dir, refusing anything that could harm the machine.

    Refused (SubmissionError, with a reason a student understands): not a zip or a damaged zip; member names that
    could escape dest_dir (absolute, '..', drive letters, backslashes); symlinks and device files; duplicate names;
    encrypted members; more than max_files entries; more than max_total_bytes uncompressed; a member whose
    compression ratio exceeds max_ratio (zip bombs). Sizes are checked as declared in the zip AND counted while
    extracting, because declared sizes can lie. `__MACOSX/` and `.DS_Store` entries are skipped. Extracted files
    get mode 0o644 and folders 0o755, whatever the zip says.

    Args:
        zip_path: the zip to extract.
        dest_dir: an empty or not yet existing folder. After a SubmissionError it may hold part of the zip;
            the caller removes it.
    Returns:
        dest_dir as an absolute Path.
    """
    zip_path = Path(zip_path)
    dest = Path(dest_dir).absolute()
    if dest.exists() and any(dest.iterdir()):
        raise ValueError(f"safe_extract needs an empty destination folder, got {dest}")
    if not zip_path.is_file():
        raise SubmissionError(f"{zip_path} does not exist or is not a file.")
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{zip_path.name} is not a valid zip file: it is damaged or not a zip ({exc}).") from exc
    except OSError as exc:
        raise SubmissionError(f"{zip_path.name} cannot be read ({exc}).") from exc

    with archive:
        members = _validated_members(archive, max_total_bytes, max_files, max_ratio)
        dest.mkdir(parents=True, exist_ok=True)
        total_written = 0
        for info, parts in members:
            target = dest.joinpath(*parts)
            # Belt and braces: the name checks above should make this impossible.
            if os.path.commonpath([str(dest), os.path.abspath(target)]) != str(dest):
                raise SubmissionError(f"The zip entry {info.filename!r} would be extracted outside its folder.")
            try:
                if info.is_dir():
                    target.mkdir(mode=0o755, parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                total_written += _extract_member(archive, info, target, max_total_bytes - total_written, max_ratio)
            except OSError as exc:  # a name too long for the disk, a file where a folder should be, a full disk
                raise SubmissionError(
                    f"The zip entry {info.filename!r} cannot be extracted ({exc.strerror or exc}); "
                    "use short, plain file names."
                ) from exc
    return dest


def _validated_members(
    archive: zipfile.ZipFile, max_total_bytes: int, max_files: int, max_ratio: float
) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Check every entry's metadata before anything is written; return the entries to extract with their parts."""
    members = []
    seen: dict[str, str] = {}
    file_paths: set[tuple[str, ...]] = set()
    declared_total = 0
    for info in archive.infolist():
        name = info.filename
        if _is_ignored(name):
            continue
        reason = _unsafe_name_reason(name)
        if reason:
            raise SubmissionError(f"The zip entry {name!r} {reason}; the zip must only hold your folder and its files.")
        reason = _member_type_reason(info)
        if reason:
            raise SubmissionError(f"The zip entry {name!r} {reason}; put the real file in the zip instead.")
        if info.flag_bits & 0x1:
            raise SubmissionError(f"The zip entry {name!r} is encrypted; make the zip without a password.")
        parts = tuple(part for part in name.split("/") if part not in ("", "."))
        # Case-folded, so the zip extracts the same way on case-insensitive disks (macOS, Windows).
        key = "/".join(parts).casefold()
        if key in seen:
            names = repr(name) if seen[key] == name else f"{seen[key]!r} and {name!r}"
            raise SubmissionError(f"The zip holds two entries named {names}; keep only one.")
        seen[key] = name
        if not info.is_dir():
            file_paths.add(parts)
        members.append((info, parts))
        if len(members) > max_files:
            raise SubmissionError(
                f"The zip holds more than {max_files} files and folders; submit only the required files."
            )
        declared_total += info.file_size
        if declared_total > max_total_bytes:
            raise SubmissionError(
                f"The zip's contents add up to more than {_format_size(max_total_bytes)} uncompressed; "
                "submit only the required files."
            )
        if info.file_size > RATIO_MIN_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
            raise SubmissionError(
                f"The zip entry {name!r} expands {info.file_size / max(info.compress_size, 1):.0f} times "
                f"(more than {max_ratio:g}); that looks like a zip bomb, not a homework file."
            )
    # A file and a folder with the same path ('a' and 'a/b') cannot both be extracted.
    for parts in file_paths:
        for depth in range(1, len(parts)):
            if parts[:depth] in file_paths:
                raise SubmissionError(
                    f"The zip holds both a file {'/'.join(parts[:depth])!r} and a folder of that name."
                )
    return members


def _extract_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, bytes_left: int, max_ratio: float
) -> int:
    """Copy one member to target, counting the bytes actually produced; return how many were written."""
    # Counted independently of the declared sizes, which a crafted zip can fake.
    ratio_limit = max(RATIO_MIN_BYTES, max_ratio * max(info.compress_size, 1))
    written = 0
    # O_EXCL: never follow or overwrite something already there (a planted symlink, for one).
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as out, archive.open(info) as src:
            while True:
                chunk = src.read(_CHUNK)
                if not chunk:
                    break
                written += len(chunk)
                if written > bytes_left:
                    raise SubmissionError(
                        f"The zip entry {info.filename!r} expands beyond the size limit for the whole zip; "
                        "that looks like a zip bomb, not a homework file."
                    )
                if written > ratio_limit:
                    raise SubmissionError(
                        f"The zip entry {info.filename!r} expands more than {max_ratio:g} times its compressed "
                        "size; that looks like a zip bomb, not a homework file."
                    )
                out.write(chunk)
    except zipfile.BadZipFile as exc:
        raise SubmissionError(
            f"The zip entry {info.filename!r} is damaged: its recorded size or checksum does not match its "
            f"contents ({exc}). Make the zip again with make_submission.py."
        ) from exc
    except (zlib.error, EOFError, NotImplementedError) as exc:
        raise SubmissionError(
            f"The zip entry {info.filename!r} cannot be decompressed ({exc}). "
            "Make the zip again with make_submission.py."
        ) from exc
    os.chmod(target, 0o644)  # the umask may have removed bits; never keep setuid or exec bits from the zip
    return written


def find_submission_folder(root: str | os.PathLike) -> Path:
    """The single top-level folder (the uniqname) inside an extracted submission.

    `__MACOSX` and dotfiles (`.DS_Store`) are ignored. Raises SubmissionError when there is no folder, several
    folders, or files beside the folder.
    """
    root = Path(root)
    entries = sorted(p for p in root.iterdir() if p.name != "__MACOSX" and not p.name.startswith("."))
    folders = [p for p in entries if p.is_dir() and not p.is_symlink()]
    loose = [p for p in entries if p not in folders]
    if not folders and loose:
        raise SubmissionError(
            "The files sit at the top of the zip: put them in one folder named after your uniqname and zip that "
            f"folder (found {', '.join(p.name for p in loose)})."
        )
    if not folders:
        raise SubmissionError("The zip is empty: it must hold one folder named after your uniqname.")
    if len(folders) > 1:
        raise SubmissionError(
            "The zip must hold exactly one folder (your uniqname), but it holds "
            f"{len(folders)}: {', '.join(p.name for p in folders)}."
        )
    if loose:
        raise SubmissionError(
            f"Files sit beside your folder {folders[0].name!r} at the top of the zip: "
            f"{', '.join(p.name for p in loose)}. Move them into the folder or leave them out."
        )
    return folders[0]


def _load_notebook(path: Path) -> dict:
    """Parse a notebook as a plain dict (nbformat when installed, else json); raise ValueError when unreadable."""
    try:
        import nbformat
    except ImportError:
        nbformat = None
    if nbformat is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                # Schema problems are captured, not logged or raised: notebooks saved by Colab or older Jupyter
                # often fail validation yet hold everything the graders need.
                return nbformat.read(handle, as_version=4, capture_validation_error={})
        # nbformat's reader errors (NotJSONError, NBFormatError) and decoding errors are ValueErrors; conversion of
        # a malformed old-format notebook fails with KeyError/TypeError/AttributeError.
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    try:
        with open(path, encoding="utf-8") as handle:
            notebook = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(notebook, dict):
        raise ValueError("the file is JSON but not a notebook")
    return notebook


def _code_cells(notebook: dict) -> list[dict]:
    """Code cells of a notebook dict, for format 4 ('cells') and format 3 ('worksheets')."""
    if "cells" in notebook:
        cells = notebook["cells"]
    else:
        cells = [cell for sheet in notebook.get("worksheets", []) for cell in sheet.get("cells", [])]
    if not isinstance(cells, list):
        raise ValueError("its 'cells' entry is not a list")
    return [cell for cell in cells if isinstance(cell, dict) and cell.get("cell_type") == "code"]


def _cell_source(cell: dict) -> str:
    source = cell.get("source", cell.get("input", ""))
    return "".join(source) if isinstance(source, list) else str(source)


def check_notebook(path: Path) -> list[str]:
    """Problems with one notebook: unreadable, never executed (no outputs), or holding error outputs."""
    name = path.name
    try:
        notebook = _load_notebook(path)
        cells = _code_cells(notebook)
    except ValueError as exc:
        return [f"{name} is not a readable notebook ({exc}). Save it again from Jupyter or Colab."]
    code_cells = [cell for cell in cells if _cell_source(cell).strip()]
    if not code_cells:
        return [f"{name} has no code cells; did you submit the right notebook?"]
    problems = []
    if not any(cell.get("outputs") for cell in code_cells):
        problems.append(
            f"{name} has no outputs: run all its cells (Run All), then save it before zipping, "
            "so the graders can see your results."
        )
    for number, cell in enumerate(cells, start=1):
        for output in cell.get("outputs") or []:
            if isinstance(output, dict) and output.get("output_type") in ("error", "pyerr"):
                problems.append(
                    f"{name}: code cell {number} ends with an error "
                    f"({output.get('ename', 'Error')}: {output.get('evalue', '')}). "
                    "Fix it, run the notebook again and save it."
                )
    return problems


def check_folder(folder: str | os.PathLike, uniqname: str | None = None) -> list[str]:
    """Problems with an extracted submission folder; an empty list means it is fine.

    Checks: the folder name (and uniqname, when given) look like a uniqname and agree; every required file is
    present directly in the folder and not empty; the notebooks parse, have outputs and no error outputs; there is
    nothing odd besides (other notebooks, compiled files, __pycache__, symlinks, files over 50 MB).
    Other extra files (a plot, a README) are allowed.
    """
    return _name_problems(Path(folder), uniqname) + check_files(folder)


def _name_problems(folder: Path, uniqname: str | None) -> list[str]:
    problems: list[str] = []
    if not UNIQNAME_PATTERN.match(folder.name):
        problems.append(
            f"The folder name {folder.name!r} is not a uniqname: use your uniqname in lowercase "
            "(letters, digits, '_' or '-', starting with a letter)."
        )
    if uniqname is not None:
        if not UNIQNAME_PATTERN.match(uniqname):
            problems.append(f"{uniqname!r} is not a valid uniqname (lowercase letters, digits, '_' or '-').")
        elif folder.name != uniqname:
            problems.append(f"The folder is named {folder.name!r} but your uniqname is {uniqname!r}; rename it.")
    return problems


def check_files(folder: str | os.PathLike) -> list[str]:
    """Problems with the files of a submission folder (check_folder without the name checks): every required file
    present directly in the folder, not empty, notebooks run without errors, nothing odd besides."""
    blocking, incomplete = sort_files(folder)
    return incomplete + blocking


def sort_files(folder: str | os.PathLike) -> tuple[list[str], list[str]]:
    """(blocking, incomplete): what stops the zip from being graded (a notebook that is not a notebook, a file over
    the size limit, compiled files, links) and what only costs the rows that need it (a file missing or empty, a
    notebook not run or ending in an error), each incomplete line ending with the rows it costs."""
    folder = Path(folder)
    blocking: list[str] = []
    incomplete: list[str] = []
    found_elsewhere = _files_below(folder)
    missing = missing_files(folder, found_elsewhere)
    for name in REQUIRED_FILES:
        if name in missing:
            incomplete.append(f"{missing[name]} {consequence(name)}")
        else:
            file_blocking, file_incomplete = sort_file(name, folder / name, check_size=False)
            blocking += file_blocking
            incomplete += [line if " is empty." in line else f"{line} The grader runs your notebook itself; people "
                           "reading it see only what you saved." for line in file_incomplete]
    blocking.extend(_odd_extras(folder, found_elsewhere))  # sizes are checked there, with every other file's
    return blocking, incomplete


def sort_file(name: str, path: Path, shown: str | None = None, check_size: bool = True) -> tuple[list[str], list[str]]:
    """(blocking, incomplete) for one handed-in file that is there (``shown``: how to name it, default ``name``):
    a notebook that is not JSON or (with ``check_size``) a file over the size limit blocks; an empty file or a
    notebook not run or ending in an error is incomplete."""
    shown = shown or name
    size = path.stat().st_size
    if size == 0:
        return [], [f"{shown} is empty. {consequence(name)}".rstrip()]
    if check_size and size > MAX_FILE_BYTES:
        return [f"{shown} is {_format_size(size)}; files over {_format_size(MAX_FILE_BYTES)} are not accepted."], []
    if name not in NOTEBOOKS:
        return [], []
    lines = check_notebook(path)
    unreadable = [line for line in lines if "not a readable notebook" in line]
    return unreadable, [line for line in lines if line not in unreadable]


def consequence(name: str) -> str:
    """What a missing or empty handed-in file costs: "Until it is handed in, rows 5.1-5.2 score 0."."""
    rows = ROWS_NEEDING.get(name)
    return f"Until it is handed in, {rows} score{'s' if rows.startswith('row ') else ''} 0." if rows else ""


def missing_files(folder: str | os.PathLike, entries: list[Path] | None = None) -> dict[str, str]:
    """Each required file that is not a plain file directly in ``folder`` -> what to tell the student: where it was
    found instead (a folder further down, or a near name such as solver.py for solvers.py), else how to make it.
    The autograder reads this too: a check that needs a missing file says this, instead of grading the starter."""
    folder = Path(folder)
    entries = _files_below(folder) if entries is None else entries
    required = set(REQUIRED_FILES)
    others = [rel for rel in entries if (folder / rel).is_file() and not (folder / rel).is_symlink()
              and not (len(rel.parts) == 1 and rel.name in required)
              and not any(part in ("__pycache__", ".ipynb_checkpoints", "__MACOSX") for part in rel.parts)]
    missing = {}
    for name in REQUIRED_FILES:
        path = folder / name
        if path.is_symlink() or (path.exists() and not path.is_file()):
            missing[name] = f"{name} is not a plain file."
        elif not path.exists():
            misplaced = [rel for rel in others if rel.name == name]
            near = _near_name(name, [rel for rel in others if rel.name not in required])
            if misplaced:
                missing[name] = (f"{name} is missing from the top of your folder (found {misplaced[0].as_posix()}); "
                                 "put it directly in the folder.")
            elif near is not None:
                missing[name] = (f"{name} is missing (found {near.as_posix()}: rename it to {name} and put it "
                                 "directly in the folder).")
            else:
                missing[name] = f"{name} is missing ({KIT_SOURCES[name][1]})."
    return missing


def _near_name(name: str, candidates: list[Path]) -> Path | None:
    """The candidate whose file name is closest to ``name`` with the same extension (solver.py for solvers.py, Lab
    (1).ipynb for lab.ipynb), or None when none is close."""
    import difflib
    stem, suffix = os.path.splitext(name.lower())
    best, best_ratio = None, 0.0
    for rel in candidates:
        other_stem, other_suffix = os.path.splitext(rel.name.lower())
        if other_suffix != suffix:
            continue
        ratio = 1.0 if other_stem == stem else difflib.SequenceMatcher(None, stem, other_stem).ratio()
        if other_stem.startswith(stem) or stem.startswith(other_stem):
            ratio = max(ratio, 0.8)
        if ratio >= 0.75 and ratio > best_ratio:
            best, best_ratio = rel, ratio
    return best


def _files_below(folder: Path) -> list[Path]:
    """Every entry below folder (files, folders, links), relative to it, without following symlinks."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath).relative_to(folder)
        dirnames.sort()
        for entry in dirnames + sorted(filenames):
            found.append(base / entry)
    return found


def _odd_extras(folder: Path, entries: list[Path]) -> list[str]:
    """Extra entries worth refusing; ordinary extras (plot.pdf, README.md) pass."""
    problems = []
    required = {Path(name) for name in REQUIRED_FILES}
    for rel in entries:
        path = folder / rel
        shown = rel.as_posix()
        if rel.name == ".DS_Store":
            continue
        if path.is_symlink():
            problems.append(f"{shown} is a symbolic link; put the real file in the folder instead.")
            continue
        if path.is_dir():
            if rel.name == "__pycache__":
                problems.append(f"Remove the folder {shown}/ (Python's compiled cache).")
            elif rel.name == ".ipynb_checkpoints":
                problems.append(f"Remove the folder {shown}/ (Jupyter's autosave copies).")
            continue
        if any(part in ("__pycache__", ".ipynb_checkpoints") for part in rel.parts[:-1]):
            continue  # reported once, as its folder
        if not path.is_file():
            problems.append(f"{shown} is not a plain file.")
            continue
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(
                f"{shown} is {_format_size(size)}; files over {_format_size(MAX_FILE_BYTES)} are not accepted."
            )
        if rel in required:
            continue
        if rel.suffix == ".ipynb":
            problems.append(
                f"{shown} is an extra notebook; only {' and '.join(NOTEBOOKS)} are graded, remove the others."
            )
        elif rel.suffix in COMPILED_SUFFIXES:
            problems.append(f"{shown} is a compiled file; submit source files only.")
    return problems


def zip_name_problem(zip_path: str | os.PathLike, folder_name: str) -> str | None:
    """Why the folder inside does not belong to a zip of this name (jdoe.zip must hold jdoe/), or None.

    Case is ignored (JDoe.zip holding jdoe/ passes; the folder name itself must be lowercase, see check_folder).
    A student-side check only: the grader never looks at the zip's name (Gradescope renames uploads).
    """
    zip_path = Path(zip_path)
    stem = zip_path.stem if zip_path.suffix.lower() == ".zip" else zip_path.name
    if folder_name.casefold() == stem.casefold():
        return None
    return (
        f"The folder inside is {folder_name!r} but the zip is named {zip_path.name}: the folder must be named after "
        f"your uniqname and the zip after the folder ({folder_name}.zip). If {folder_name!r} is not your uniqname, "
        f"you zipped the wrong folder; if it is, rename the zip to {folder_name}.zip or check it with "
        f"--uniqname {folder_name}."
    )


def check_zip(
    zip_path: str | os.PathLike, uniqname: str | None = None, *, match_zip_name: bool = False
) -> list[str]:
    """Problems with a submission zip (empty list = fine, complete and run): extracts it safely into a temporary
    folder and checks it. ``sort_zip`` tells which problems stop grading and which only cost rows.

    Args:
        uniqname: when given, the folder inside must be named exactly this.
        match_zip_name: when True and no uniqname is given, the folder must have the zip's name without `.zip`
            (what the command line checks by default).
    """
    blocking, incomplete = sort_zip(zip_path, uniqname, match_zip_name=match_zip_name)
    return incomplete + blocking


def sort_zip(
    zip_path: str | os.PathLike, uniqname: str | None = None, *, match_zip_name: bool = False
) -> tuple[list[str], list[str]]:
    """(blocking, incomplete) for a submission zip; see check_zip and sort_files."""
    workdir = Path(tempfile.mkdtemp(prefix="check_submission_"))
    try:
        try:
            root = safe_extract(zip_path, workdir / "root")
        except SubmissionError as exc:
            return [str(exc)], []
        try:
            folder = find_submission_folder(root)
        except SubmissionError as exc:
            # Files at the top of the zip, no folder: say so, and still check those files, so that one run lists
            # every problem.
            entries = [p for p in root.iterdir() if p.name != "__MACOSX" and not p.name.startswith(".")]
            if entries and not any(p.is_dir() and not p.is_symlink() for p in entries):
                blocking, incomplete = sort_files(root)
                return [str(exc)] + blocking, incomplete
            return [str(exc)], []
        blocking = []
        if uniqname is None and match_zip_name:
            mismatch = zip_name_problem(zip_path, folder.name)
            if mismatch:
                blocking.append(mismatch)
        blocking += _name_problems(folder, uniqname)
        more_blocking, incomplete = sort_files(folder)
        return blocking + more_blocking, incomplete
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def zip_summary(zip_path: str | os.PathLike) -> list[str]:
    """Lines describing the contents of a zip that passed check_zip: each file with its size, then totals."""
    zip_path = Path(zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        files = [info for info in archive.infolist() if not info.is_dir() and not _is_ignored(info.filename)]
    lines = []
    for info in sorted(files, key=lambda item: item.filename):
        lines.append(f"  {info.filename:<40} {_format_size(info.file_size):>10}")
    total = sum(info.file_size for info in files)
    lines.append(f"  {len(files)} files, {_format_size(total)} in all ({_format_size(zip_path.stat().st_size)} zipped)")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command line: check the zip. Exit 1 on a problem that stops grading (or, with --complete, on anything
    missing or unrun); otherwise print what is missing with the rows it costs, then what the zip holds, and exit 0."""
    parser = argparse.ArgumentParser(description="Check a homework submission zip before uploading it.")
    parser.add_argument("zip", type=Path, help="the zip to check, e.g. uniqname.zip")
    parser.add_argument(
        "--uniqname",
        help="check that the folder in the zip is named after this uniqname (default: the zip's name, without .zip)",
    )
    parser.add_argument("--complete", action="store_true",
                        help="also exit 1 when a file is missing or a notebook is not run (the final hand-in)")
    args = parser.parse_args(argv)

    blocking, incomplete = sort_zip(args.zip, args.uniqname, match_zip_name=True)
    problems = blocking + (incomplete if args.complete else [])
    if problems:
        print(f"{args.zip} has {plural_count(len(problems), 'problem')}:")
        for problem in problems:
            print(f"  - {problem}")
        later = [line for line in incomplete if line not in problems]
        if later:
            print(f"Not there yet either ({plural_count(len(later), 'item')}; these alone would not stop the zip):")
            for line in later:
                print(f"  - {line}")
        print(f"Fix {'them' if len(problems) != 1 else 'it'} and check again before uploading.")
        return 1
    if incomplete:
        print(f"{args.zip} can be uploaded; Gradescope grades what is there. Not there yet "
              f"({plural_count(len(incomplete), 'item')}):")
        for line in incomplete:
            print(f"  - {line}")
    else:
        print(f"{args.zip} looks good: every file is there. It contains:")
    for line in zip_summary(args.zip):
        print(line)
    print("Upload this zip to Gradescope.")
    return 0


def plural_count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


if __name__ == "__main__":
    sys.exit(main())
