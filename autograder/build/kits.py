"""Build everything handed out from the marked kit: the zips in dist/ and the student tree in build/student/.

dist/ after :func:`build_all`:

* ``student-kit.zip``: the generated student version of the kit (the repository's kit entries, see
  :func:`autograder.paths.kit_entries`) under ``dl-kit/``, STUDENT-README.md as README.md;
* ``solution-kit.zip``: the marked reference kit as-is (markers are only comments) under ``dl-kit-solution/``;
* ``autograder.zip``: Gradescope's autograder, laid out as ``/autograder/source`` the way the repository is::

      setup.sh  run_autograder        (0755, LF) from autograder/gradescope/
      autograder/                     the instructor package (no caches)
      <the kit's entries>             the reference kit (the grader's reference computations)
      student/                        the generated student tree (given files copied into every workspace)
      eval/                           the evaluation arrays the enabled parts need (see autograder/eval_data.py)
      gdata/                          the small data sets of the grader's runs of the notebooks (eval_data.py)

* ``reference-submission.zip``: what a perfect student hands in (folder ``reference/``), with the reference
  artifacts (trained checkpoint, executed notebooks, part 1 export); only with ``with_reference_artifacts``;
* ``stub-submission.zip``: the untouched starter handed in (folder ``stub/``), which must grade to 0.

Every zip is deterministic: members sorted, one fixed timestamp, Unix modes kept (0755 for executables, else 0644).
"""
from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple, Union

from autograder import eval_data, parts, paths
from autograder.build import markers

STUDENT_TREE = paths.REPO / "build" / "student"
STUDENT_TOP = "dl-kit"
SOLUTION_TOP = "dl-kit-solution"
REFERENCE_FOLDER = "reference"
STUB_FOLDER = "stub"
GRADESCOPE_DIR = paths.REPO / "autograder" / "gradescope"
GRADESCOPE_SCRIPTS = ("setup.sh", "run_autograder")

ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # every member's timestamp, so two builds of the same sources are byte-identical
_SKIP_PACKAGE_DIRS = frozenset({"__pycache__", ".pytest_cache", ".ipynb_checkpoints"})
_STORED_SUFFIXES = (".npz", ".gz", ".zip", ".pt", ".png", ".jpg")
_INSTRUCTOR_DOCS = ("autograder/gradescope/README.md",)  # read in the repository, not needed by the autograder

# One zip member: (name inside the zip, file contents, Unix permission bits)
Member = Tuple[str, bytes, int]


def given_files_dir() -> Path:
    """The generated student tree the grader copies into each workspace.

    Inside the autograder zip it is ``<source>/student``; in a repository checkout it is ``build/student``, which is
    (re)generated here when missing.
    """
    bundled = paths.REPO / "student"
    if bundled.is_dir():
        return bundled
    if not STUDENT_TREE.is_dir():
        build_student(STUDENT_TREE)
    return STUDENT_TREE


def build_student(dst: Union[str, os.PathLike] = STUDENT_TREE) -> List[Path]:
    """Regenerate only the student tree (fast, no zips). Returns the written files, sorted."""
    return markers.build_student_tree(paths.KIT, dst)


def _mode(path: Path) -> int:
    """0755 for files with any execute bit, else 0644: the zips don't carry the builder's umask or group bits."""
    return 0o755 if path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) else 0o644


def _tree_members(root: Path, prefix: str, relatives: List[Path], *, rename: bool = False) -> List[Member]:
    """Zip members for files of a tree; ``rename`` applies the kit's renames (STUDENT-README.md -> README.md)."""
    return [(f"{prefix}{(paths.kit_target(relative) if rename else relative).as_posix()}",
             (root / relative).read_bytes(), _mode(root / relative)) for relative in relatives]


def _write_zip(path: Path, members: List[Member]) -> Path:
    """Write a deterministic zip (sorted names, fixed date, Unix modes) atomically; returns ``path``."""
    names = [name for name, _, _ in members]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{path.name}: duplicate members {duplicates}")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(tmp_name, "w") as archive:
            for name, data, mode in sorted(members):
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.create_system = 3  # Unix, so unzip honours the mode bits below
                info.external_attr = (stat.S_IFREG | mode) << 16
                # Already-compressed formats are stored: deflating them again only costs time.
                method = zipfile.ZIP_STORED if name.endswith(_STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
                info.compress_type = method
                archive.writestr(info, data, compress_type=method, compresslevel=6 if method != zipfile.ZIP_STORED
                                 else None)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)
    return path


def _package_members() -> List[Member]:
    """The autograder package: sources and data files, without caches, docs, or the files of switched-off parts
    (``parts.owner``): a part that is off leaves nothing behind in the autograder."""
    package = paths.REPO / "autograder"
    enabled = {part.key for part in parts.enabled()}
    members = []
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(paths.REPO)
        if (not path.is_file() or path.is_symlink() or any(part in _SKIP_PACKAGE_DIRS for part in relative.parts)
                or path.suffix in (".pyc", ".pyo") or relative.as_posix() in _INSTRUCTOR_DOCS):
            continue
        owner = parts.owner(path)
        if owner is not None and owner not in enabled:
            continue
        members.append((relative.as_posix(), path.read_bytes(), _mode(path)))
    return members


def _gradescope_script(name: str) -> Member:
    data = (GRADESCOPE_DIR / name).read_bytes().replace(b"\r\n", b"\n")  # Gradescope runs them with bash: LF only
    return name, data, 0o755


def _autograder_members(student_dir: Path, eval_dir: Path) -> List[Member]:
    members = [_gradescope_script(name) for name in GRADESCOPE_SCRIPTS]
    members += _package_members()
    members += _tree_members(paths.KIT, "", markers.kit_files(paths.KIT))
    members += _tree_members(student_dir, "student/", markers.kit_files(student_dir))
    needed = sorted({dataset for part in parts.enabled() for dataset in part.eval_data})
    for name in (name for dataset in needed for name in eval_data.FILES[dataset]):
        source = eval_dir / name
        if not source.is_file():
            raise FileNotFoundError(f"evaluation file {name} could not be built: "
                                    f"{paths.missing_data_reason('CIFAR-10 / Fashion-MNIST')}")
        members.append((f"eval/{name}", _normalized_npz(source), 0o644))
    # The small data sets the grader's own runs of the notebooks read (eval_data.grader_data_dir).
    notebook_data = {name for part in parts.enabled() for notebook in part.notebooks for name in notebook.data}
    if notebook_data:
        folder = eval_data.grader_data_dir()
        members += _tree_members(folder, f"{eval_data.GRADER_DATA}/",
                                 sorted(p.relative_to(folder) for p in folder.rglob("*")
                                        if p.is_file() and not p.name.startswith(".")))
    return members


def build_autograder_zip(path: Union[str, os.PathLike], student_dir: Union[str, os.PathLike] = STUDENT_TREE) -> Path:
    """Only ``autograder.zip`` (as :func:`build_all` makes it) at ``path``, from a fresh student tree in
    ``student_dir`` (tests and ``check-upload`` build one into a temporary folder)."""
    build_student(student_dir)
    with tempfile.TemporaryDirectory(prefix="dlkit-eval-") as tmp:
        eval_data.build(Path(tmp))
        return _write_zip(Path(path), _autograder_members(Path(student_dir), Path(tmp)))


def _normalized_npz(path: Path) -> bytes:
    """The npz's bytes with its inner members' timestamps fixed (np.savez stamps the current time).

    The arrays are not re-encoded: each ``.npy`` member is copied as-is into a new (compressed) npz, which
    ``np.load(..., allow_pickle=False)`` reads like the original.
    """
    with zipfile.ZipFile(path) as source:
        contents = [(info.filename, source.read(info)) for info in source.infolist()]
    with tempfile.SpooledTemporaryFile() as buffer:
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in sorted(contents):
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data, compresslevel=6)
        buffer.seek(0)
        return buffer.read()


def _submission_members(folder: str, sources: Dict[str, Path]) -> List[Member]:
    """A uniqname-style submission: every file flat inside one folder, 0644 (students' zips carry no modes)."""
    return [(f"{folder}/{name}", path.read_bytes(), 0o644) for name, path in sources.items()]


def build_all(dist_dir: Union[str, os.PathLike] = paths.DIST, *, with_reference_artifacts: bool = True,
              student_dir: Union[str, os.PathLike] = STUDENT_TREE) -> Dict[str, Path]:
    """Build build/student/ and every zip in ``dist_dir``; print one line per zip with its size.

    Args:
        dist_dir: output folder (created).
        with_reference_artifacts: also make reference-submission.zip, which needs the reference artifacts (trained
            checkpoint, executed notebooks: minutes on the first build, then cached; needs the offline data).
        student_dir: where the generated student tree is kept (tests pass a temporary folder).
    Returns:
        Zip name without ``.zip`` (``student-kit``, ``solution-kit``, ``autograder``, ``stub-submission`` and, with
        artifacts, ``reference-submission``) -> its path.
    Raises:
        markers.MarkerError: a malformed marker in the kit.
        FileNotFoundError: check_submission.py or the evaluation data is missing.
        reference_artifacts.ReferenceArtifactError: the artifacts could not be made.
    """
    dist = Path(dist_dir)
    kit = paths.KIT
    from autograder.build import texts
    for relative in texts.sync():  # texts that show rubric.py's numbers, rewritten before anything is built
        print(f"regenerated from rubric.py: {relative}")
    from autograder.grading.handed_in import load_check_submission
    check_submission = load_check_submission(kit)
    required: Tuple[str, ...] = tuple(check_submission.REQUIRED_FILES)
    kit_sources: Dict[str, str] = {name: check_submission.KIT_SOURCES[name][0] for name in required}

    student_tree = Path(student_dir)
    build_student(student_tree)
    student_files = markers.kit_files(student_tree)
    built: Dict[str, Path] = {}

    built["student-kit"] = _write_zip(dist / "student-kit.zip",
                                      _tree_members(student_tree, f"{STUDENT_TOP}/", student_files))
    built["solution-kit"] = _write_zip(dist / "solution-kit.zip",
                                       _tree_members(kit, f"{SOLUTION_TOP}/", markers.kit_files(kit), rename=True))

    with tempfile.TemporaryDirectory(prefix="dlkit-eval-") as tmp:
        eval_dir = Path(tmp)
        eval_data.build(eval_dir)
        built["autograder"] = _write_zip(dist / "autograder.zip", _autograder_members(student_tree, eval_dir))

    # The untouched starter: every required file the student tree has (sources, unexecuted notebooks); the run
    # outputs (checkpoint, part 1 export) are simply absent, as when a student hands in the starter.
    stub = {name: student_tree / kit_sources[name] for name in required
            if not markers.is_skipped(Path(kit_sources[name]))}
    missing = [kit_sources[name] for name, path in stub.items() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"the kit lacks files a submission requires: {', '.join(missing)}")
    built["stub-submission"] = _write_zip(dist / "stub-submission.zip", _submission_members(STUB_FOLDER, stub))

    if with_reference_artifacts:
        from autograder.build import reference_artifacts  # imported here: nbclient is only needed for this zip

        artifacts = reference_artifacts.build(kit)
        reference: Dict[str, Path] = {}
        for name in required:
            if name in artifacts:
                reference[name] = artifacts[name]
            elif (kit / kit_sources[name]).is_file():
                reference[name] = kit / kit_sources[name]
            else:
                raise FileNotFoundError(f"reference submission: no source for {name} (neither a reference artifact "
                                        f"nor {kit_sources[name]} in the kit)")
        built["reference-submission"] = _write_zip(dist / "reference-submission.zip",
                                                   _submission_members(REFERENCE_FOLDER, reference))

    width = max(len(path.name) for path in built.values())
    for path in built.values():
        print(f"{path.name:<{width}}  {path.stat().st_size / 1024:10.1f} KiB  {path}")
    print(f"student tree: {student_tree} ({len(student_files)} files)")
    return built
