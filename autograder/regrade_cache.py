"""The regrade cache: a submission's rows of one part are reused when neither that part's files in the submission nor
the grader's code and references for that part have changed.

    cache = RegradeCache(paths.CACHE / "regrade")
    key = cache.keys(folder)                  # part -> (grader version of the part, content of its files)
    rows, notes = cache.get(part, key[part])
    cache.put(part, key[part], rows, notes)

A part's **grader version** hashes the grading core (every file under ``autograder/`` that no part owns, and
``check_submission.py``) together with what the part owns (its declaration, its ``<key>_*.py`` checks, harness,
references; the kit entries it adds, i.e. the reference solutions, notebooks and data files; its evaluation data):
a fix to Section 3b's checks regrades Section 3b only, a fix to the sandbox regrades everything. A submission's
**part content** hashes the part's handed-in files (their names and bytes; absent ones as absent) and every file of
the submission that no part declares (an extra module may be imported by any part's code; a near name such as
``layer.py`` changes what the rows say).

Entries are JSON files ``<root>/<part>/<grader version>/<part content>.json`` holding the part's finished rows and
the sandbox notes of the grading that made them. A grading that ended in an autograder fault or failed is never
stored. Delete the folder (or regrade with ``--no-cache``) to start afresh.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from autograder import eval_data, parts, paths

HASH_CHUNK = 1 << 20


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tree_files(root: Path) -> List[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _digest_of(files: Iterable[Tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for name, path in sorted(files):
        digest.update(name.encode() + b"\0" + _file_digest(path).encode() + b"\n")
    return digest.hexdigest()[:24]


@functools.lru_cache(maxsize=None)
def grader_versions(source: Path = paths.REPO) -> Dict[str, str]:
    """Part key -> the version of the grader for that part (see the module docstring); computed once per process."""
    package = source / "autograder"
    core, owned = [], {key: [] for key in parts.PARTS}
    for path in _tree_files(package):
        if path.suffix not in (".py", ".json", ".md", ".txt", ".sh"):
            continue
        key = parts.owner(path)
        (owned[key] if key in owned else core).append((path.relative_to(source).as_posix(), path))
    if (source / "check_submission.py").is_file():
        core.append(("check_submission.py", source / "check_submission.py"))
    core_digest = _digest_of(core)
    eval_dir = eval_data.eval_dir()
    versions = {}
    for key, part in parts.PARTS.items():
        files = list(owned[key])
        for entry in part.kit_entries:
            for path in _tree_files(source / entry) if (source / entry).exists() else []:
                files.append((path.relative_to(source).as_posix(), path))
        for name in part.eval_data:
            for file_name in eval_data.FILES.get(name, ()):
                if (eval_dir / file_name).is_file():
                    files.append((f"eval/{file_name}", eval_dir / file_name))
        if any(nb.data for nb in part.notebooks):  # the notebook data the grader's runs read
            grader_data = eval_data.grader_data_dir()
            files += [(f"gdata/{p.relative_to(grader_data).as_posix()}", p) for p in _tree_files(grader_data)]
        versions[key] = hashlib.sha256((core_digest + _digest_of(files)).encode()).hexdigest()[:24]
    return versions


def part_contents(folder: Path) -> Dict[str, str]:
    """Part key -> the hash of what the submission ``folder`` holds for that part (see the module docstring)."""
    declared = {h.name for part in parts.PARTS.values() for h in part.hand_in}
    present = {p.relative_to(folder).as_posix(): p for p in _tree_files(folder)}
    extras = [(name, path) for name, path in present.items() if name not in declared]
    contents = {}
    for key, part in parts.PARTS.items():
        mine = [(h.name, present[h.name]) for h in part.hand_in if h.name in present]
        absent = sorted(h.name for h in part.hand_in if h.name not in present)
        digest = hashlib.sha256((_digest_of(mine + extras) + "|absent:" + ",".join(absent)).encode())
        contents[key] = digest.hexdigest()[:24]
    return contents


class RegradeCache:
    """Finished rows of one part of one submission, by grader version and part content."""

    def __init__(self, root: Path, source: Path = paths.REPO):
        self.root = Path(root)
        self.source = source
        self.hits = 0
        self.misses = 0

    def keys(self, folder: Path) -> Dict[str, str]:
        versions = grader_versions(self.source)
        return {key: f"{versions[key]}/{content}" for key, content in part_contents(folder).items()}

    def _path(self, part: str, key: str) -> Path:
        return self.root / part / f"{key}.json"

    def get(self, part: str, key: str) -> Optional[Tuple[List[dict], List[str]]]:
        path = self._path(part, key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            found = (list(entry["rows"]), list(entry.get("notes", [])))
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return found

    def put(self, part: str, key: str, rows: List[dict], notes: List[str]) -> None:
        path = self._path(part, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"rows": rows, "notes": sorted(set(notes))}, indent=1), encoding="utf-8")
        os.replace(tmp, path)
