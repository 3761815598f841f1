"""kit/check_submission.py and kit/make_submission.py: a good zip passes, every failure mode is refused by name."""
from __future__ import annotations

import ast
import importlib.util
import io
import stat
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import nbformat
import pytest

KIT = Path(__file__).resolve().parents[1]  # the kit is the repository top level
UNIQ = "jdoe"


def _load(module_name: str, filename: str):
    spec = importlib.util.spec_from_file_location(module_name, KIT / filename)
    module = importlib.util.module_from_spec(spec)
    # make_submission imports check_submission from kit/: keep a __pycache__ out of the student kit.
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


cs = _load("kit_check_submission", "check_submission.py")
ms = _load("kit_make_submission", "make_submission.py")


# ---------------------------------------------------------------- builders

def _notebook(outputs=True, error=False) -> str:
    """A tiny notebook that looks executed (stdout output), optionally with an error output."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('accuracy', 0.9)", execution_count=1)
    if outputs:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.9\n")]
    cells = [nbformat.v4.new_markdown_cell("# Part"), cell]
    if error:
        bad = nbformat.v4.new_code_cell("1/0", execution_count=2)
        bad.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                              traceback=["ZeroDivisionError: division by zero"])]
        cells.append(bad)
    nb.cells = cells
    return nbformat.writes(nb)


def _good_files() -> dict[str, bytes]:
    files = {name: f"# {name}\nx = 1\n".encode() for name in cs.REQUIRED_FILES}
    files["checkpoint.pkl"] = bytes(range(256)) * 4
    files["part1_model.pt"] = bytes(range(255, -1, -1)) * 4
    for name in cs.NOTEBOOKS:  # part1.ipynb, part2.ipynb and those of the other enabled parts
        files[name] = _notebook().encode()
    return files


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _good_entries(**changes) -> dict[str, bytes]:
    """Entries of a good zip; keyword changes replace (bytes) or drop (None) files inside the folder."""
    files = _good_files()
    for name, data in changes.items():
        name = name.replace("__", ".")
        if data is None:
            files.pop(name)
        else:
            files[name] = data
    return {f"{UNIQ}/{name}": data for name, data in files.items()}


def _patch_headers(data: bytes, *, size: int | None = None, flag: int | None = None) -> bytes:
    """Rewrite every local and central header's uncompressed size and/or flag bits (a crafted zip)."""
    buf = bytearray(data)
    for signature, flag_at, size_at in ((b"PK\x03\x04", 6, 22), (b"PK\x01\x02", 8, 24)):
        start = 0
        while (start := buf.find(signature, start)) != -1:
            if flag is not None:
                struct.pack_into("<H", buf, start + flag_at, flag)
            if size is not None:
                struct.pack_into("<I", buf, start + size_at, size)
            start += 4
    return bytes(buf)


# Each case: (id, builds the zip in tmp_path, text the output must contain).

def case_missing_file(tmp):
    return _zip(tmp / "s.zip", _good_entries(**{"checkpoint__pkl": None}))


def case_two_folders(tmp):
    entries = _good_entries()
    entries["other/functions.py"] = b"x = 1\n"
    return _zip(tmp / "s.zip", entries)


def case_file_beside_folder(tmp):
    entries = _good_entries()
    entries["notes.txt"] = b"hello\n"
    return _zip(tmp / "s.zip", entries)


def case_no_folder(tmp):
    return _zip(tmp / "s.zip", _good_files())


def case_notebook_without_outputs(tmp):
    return _zip(tmp / "s.zip", _good_entries(part1__ipynb=_notebook(outputs=False).encode()))


def case_notebook_with_error(tmp):
    return _zip(tmp / "s.zip", _good_entries(part2__ipynb=_notebook(error=True).encode()))


def case_notebook_not_json(tmp):
    return _zip(tmp / "s.zip", _good_entries(part1__ipynb=b"{not json"))


def case_not_a_zip(tmp):
    path = tmp / "s.zip"
    path.write_bytes(b"this is a text file, not a zip\n" * 10)
    return path


def case_truncated_zip(tmp):
    data = _zip(tmp / "full.zip", _good_entries()).read_bytes()
    path = tmp / "s.zip"
    path.write_bytes(data[: len(data) // 2])
    return path


def case_traversal_dotdot(tmp):
    entries = _good_entries()
    entries["../x"] = b"evil\n"
    return _zip(tmp / "s.zip", entries)


def case_traversal_absolute(tmp):
    entries = _good_entries()
    entries["/abs/x"] = b"evil\n"
    return _zip(tmp / "s.zip", entries)


def case_backslash(tmp):
    entries = _good_entries()
    entries[f"{UNIQ}\\..\\..\\x"] = b"evil\n"
    return _zip(tmp / "s.zip", entries)


def case_symlink_member(tmp):
    path = _zip(tmp / "s.zip", _good_entries(**{"layers__py": None}))
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo(f"{UNIQ}/layers.py")
        info.create_system = 3  # Unix, so external_attr holds a mode
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    return path


def case_device_member(tmp):
    path = _zip(tmp / "s.zip", _good_entries())
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo(f"{UNIQ}/dev")
        info.create_system = 3
        info.external_attr = (stat.S_IFCHR | 0o666) << 16
        archive.writestr(info, "")
    return path


def case_duplicate_names(tmp):
    path = _zip(tmp / "s.zip", _good_entries())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we add on purpose
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(f"{UNIQ}/train.py", b"y = 2\n")
    return path


def case_encrypted(tmp):
    path = _zip(tmp / "s.zip", _good_entries())
    path.write_bytes(_patch_headers(path.read_bytes(), flag=0x1))
    return path


def case_zip_bomb_ratio(tmp):
    return _zip(tmp / "s.zip", _good_entries(**{"layers__py": b"\0" * (20 * 1024 * 1024)}))


def case_zip_bomb_lying_size(tmp):
    # 5 MiB of zeros that the headers claim are 100 bytes: every declared-size check passes.
    path = _zip(tmp / "s.zip", {f"{UNIQ}/layers.py": b"\0" * (5 * 1024 * 1024)})
    path.write_bytes(_patch_headers(path.read_bytes(), size=100))
    return path


def case_too_many_files(tmp):
    entries = _good_entries()
    entries.update({f"{UNIQ}/extra/{i}.txt": b"x" for i in range(250)})
    return _zip(tmp / "s.zip", entries)


def case_extra_notebook(tmp):
    entries = _good_entries()
    entries[f"{UNIQ}/part1-copy.ipynb"] = _notebook().encode()
    return _zip(tmp / "s.zip", entries)


def case_pycache(tmp):
    entries = _good_entries()
    entries[f"{UNIQ}/__pycache__/layers.cpython-310.pyc"] = b"\x00compiled"
    return _zip(tmp / "s.zip", entries)


def case_misplaced_file(tmp):
    entries = _good_entries(**{"layers__py": None})
    entries[f"{UNIQ}/neuralnet/layers.py"] = b"x = 1\n"
    return _zip(tmp / "s.zip", entries)


def case_bad_uniqname(tmp):
    return _zip(tmp / "s.zip", {name.replace(UNIQ, "John Doe", 1): data for name, data in _good_entries().items()})


FAILURES = [
    (case_missing_file, ["checkpoint.pkl is missing", "train.py"]),
    (case_two_folders, ["exactly one folder", "jdoe", "other"]),
    (case_file_beside_folder, ["beside your folder", "notes.txt"]),
    (case_no_folder, ["top of the zip", "one folder"]),
    (case_notebook_without_outputs, ["part1.ipynb has no outputs"]),
    (case_notebook_with_error, ["part2.ipynb", "ZeroDivisionError"]),
    (case_notebook_not_json, ["part1.ipynb is not a readable notebook"]),
    (case_not_a_zip, ["not a valid zip"]),
    (case_truncated_zip, ["not a valid zip"]),
    (case_traversal_dotdot, ["'../x'", "contains '..'"]),
    (case_traversal_absolute, ["'/abs/x'", "absolute path"]),
    (case_backslash, ["backslash"]),
    (case_symlink_member, ["jdoe/layers.py", "symbolic link"]),
    (case_device_member, ["jdoe/dev", "device"]),
    (case_duplicate_names, ["two entries", "train.py"]),
    (case_encrypted, ["encrypted"]),
    (case_zip_bomb_ratio, ["jdoe/layers.py", "zip bomb"]),
    (case_zip_bomb_lying_size, ["jdoe/layers.py", "does not match"]),
    (case_too_many_files, ["more than 200 files"]),
    (case_extra_notebook, ["part1-copy.ipynb", "extra notebook"]),
    (case_pycache, ["__pycache__"]),
    (case_misplaced_file, ["layers.py is missing", "neuralnet/layers.py"]),
    (case_bad_uniqname, ["'John Doe'", "not a uniqname"]),
]


# ---------------------------------------------------------------- tests

def test_good_zip_passes(tmp_path, capsys):
    path = _zip(tmp_path / f"{UNIQ}.zip", _good_entries())
    assert cs.check_zip(path) == []
    assert cs.main([str(path), "--uniqname", UNIQ]) == 0
    out = capsys.readouterr().out
    assert "looks good" in out
    for name in cs.REQUIRED_FILES:
        assert f"{UNIQ}/{name}" in out


@pytest.mark.parametrize("build, expected", FAILURES, ids=[build.__name__[5:] for build, _ in FAILURES])
def test_failure_is_refused_by_name(tmp_path, capsys, build, expected):
    path = build(tmp_path)
    assert cs.main([str(path), "--complete"]) == 1
    out = capsys.readouterr().out
    for text in expected:
        assert text in out, f"expected {text!r} in the output:\n{out}"
    assert "looks good" not in out


def test_macosx_and_ds_store_are_ignored(tmp_path):
    entries = _good_entries()
    entries["__MACOSX/jdoe/._layers.py"] = b"\0\5\26\7apple double"
    entries["__MACOSX/._jdoe"] = b"\0\5\26\7"
    entries[f"{UNIQ}/.DS_Store"] = b"\0\0\0\1Bud1"
    entries[".DS_Store"] = b"\0\0\0\1Bud1"
    path = _zip(tmp_path / "s.zip", entries)
    assert cs.check_zip(path) == []
    root = cs.safe_extract(path, tmp_path / "out")
    assert sorted(p.name for p in root.iterdir()) == [UNIQ]
    assert not (root / UNIQ / ".DS_Store").exists()


def test_ordinary_extras_are_allowed(tmp_path):
    entries = _good_entries()
    entries[f"{UNIQ}/plot.pdf"] = b"%PDF-1.4\n"
    entries[f"{UNIQ}/README.md"] = b"notes\n"
    assert cs.check_zip(_zip(tmp_path / "s.zip", entries)) == []


def test_uniqname_must_match_folder(tmp_path, capsys):
    path = _zip(tmp_path / "s.zip", _good_entries())
    assert cs.main([str(path), "--uniqname", "asmith"]) == 1
    assert "'jdoe' but your uniqname is 'asmith'" in capsys.readouterr().out


def test_zip_name_must_match_folder_by_default(tmp_path, capsys):
    """jdoe.zip holding asmith/ is someone else's folder: refused unless --uniqname says asmith."""
    entries = {name.replace(f"{UNIQ}/", "asmith/", 1): data for name, data in _good_entries().items()}
    path = _zip(tmp_path / f"{UNIQ}.zip", entries)
    assert cs.main([str(path)]) == 1
    out = capsys.readouterr().out
    assert f"the folder inside is 'asmith' but the zip is named {UNIQ}.zip" in out.lower(), out
    assert "--uniqname asmith" in out and "looks good" not in out
    assert cs.main([str(path), "--uniqname", "asmith"]) == 0  # the explicit override wins
    assert "looks good" in capsys.readouterr().out
    assert cs.main([str(path), "--uniqname", UNIQ]) == 1  # ... and is itself checked
    assert "'asmith' but your uniqname is 'jdoe'" in capsys.readouterr().out
    assert cs.check_zip(path) == []  # library default: no zip-name rule (the grader never applies it)


@pytest.mark.parametrize("zip_name", [f"{UNIQ}.zip", f"{UNIQ.upper()}.ZIP"])
def test_correctly_named_zip_passes_without_uniqname(tmp_path, capsys, zip_name):
    path = _zip(tmp_path / zip_name, _good_entries())
    assert cs.main([str(path)]) == 0
    assert "looks good" in capsys.readouterr().out


def test_make_submission_with_another_zip_name_passes_and_says_how_to_check(tmp_path, capsys):
    kit = _fake_kit(tmp_path / "kit")
    out = tmp_path / "homework1.zip"
    assert ms.main([UNIQ, "--kit-root", str(kit), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "looks good" in printed and f"--uniqname {UNIQ}" in printed
    assert cs.main([str(out), "--uniqname", UNIQ]) == 0


def test_extracted_files_get_plain_permissions(tmp_path):
    path = _zip(tmp_path / "s.zip", _good_entries(**{"train__py": None}))
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo(f"{UNIQ}/train.py")
        info.create_system = 3
        info.external_attr = (stat.S_IFREG | stat.S_ISUID | 0o777) << 16
        archive.writestr(info, "x = 1\n")
    root = cs.safe_extract(path, tmp_path / "out")
    assert stat.S_IMODE((root / UNIQ / "train.py").stat().st_mode) == 0o644


def test_declared_total_size_limit(tmp_path):
    path = _zip(tmp_path / "s.zip", _good_entries(**{"checkpoint__pkl": bytes(range(256)) * 4096}))
    with pytest.raises(cs.SubmissionError, match="more than 512.0 KB"):
        cs.safe_extract(path, tmp_path / "out", max_total_bytes=512 * 1024)


def test_bytes_counted_while_extracting(tmp_path, monkeypatch):
    # CPython's zipfile stops at the declared size, but safe_extract must not rely on that: feed it a reader that
    # produces far more bytes than the zip records, and the count alone must stop the extraction.
    path = _zip(tmp_path / "s.zip", {f"{UNIQ}/big.bin": b"\0" * 1000})
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *a, **k: io.BytesIO(b"\0" * (5 * 1024 * 1024)))
    with pytest.raises(cs.SubmissionError, match="zip bomb"):
        cs.safe_extract(path, tmp_path / "out")
    with pytest.raises(cs.SubmissionError, match="size limit for the whole zip"):
        cs.safe_extract(path, tmp_path / "out2", max_total_bytes=64 * 1024)


def test_notebooks_checked_without_nbformat(tmp_path, monkeypatch):
    # The grader may run where nbformat is absent: the json fallback must find the same problems.
    good = tmp_path / "good.ipynb"
    good.write_text(_notebook())
    bad = tmp_path / "bad.ipynb"
    bad.write_text(_notebook(error=True))
    empty = tmp_path / "empty.ipynb"
    empty.write_text(_notebook(outputs=False))
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    monkeypatch.setitem(sys.modules, "nbformat", None)  # importing nbformat now raises ImportError
    assert cs.check_notebook(good) == []
    assert "ZeroDivisionError" in " ".join(cs.check_notebook(bad))
    assert "has no outputs" in " ".join(cs.check_notebook(empty))
    assert "not a readable notebook" in " ".join(cs.check_notebook(broken))


def test_check_submission_imports_only_stdlib():
    tree = ast.parse((KIT / "check_submission.py").read_text())
    top_level = set()
    for node in tree.body:  # module-level imports only; nbformat is imported lazily inside a function
        if isinstance(node, ast.Import):
            top_level.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            top_level.add(node.module.split(".")[0])
    assert top_level <= set(sys.stdlib_module_names) | {"__future__"}, top_level


def test_command_line(tmp_path):
    good = _zip(tmp_path / f"{UNIQ}.zip", _good_entries())
    bad = case_missing_file(tmp_path)
    script = str(KIT / "check_submission.py")
    ok = subprocess.run([sys.executable, script, str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    early = subprocess.run([sys.executable, script, str(bad), "--uniqname", UNIQ], capture_output=True, text=True)
    assert early.returncode == 0, early.stdout  # a file not there yet: the zip can still be graded
    assert "checkpoint.pkl is missing" in early.stdout and "can be uploaded" in early.stdout
    refused = subprocess.run([sys.executable, script, str(bad), "--uniqname", UNIQ, "--complete"], capture_output=True,
                             text=True)
    assert refused.returncode == 1
    assert "checkpoint.pkl is missing" in refused.stdout


def test_an_incomplete_zip_passes_with_the_rows_it_costs(tmp_path, capsys):
    """Hand in early: a missing export and unrun notebooks are listed with the rows they cost, and exit 0; only
    --complete refuses them."""
    entries = _good_entries(part1_model__pt=None, part2__ipynb=_notebook(outputs=False).encode())
    path = _zip(tmp_path / f"{UNIQ}.zip", entries)
    assert cs.main([str(path)]) == 0
    out = capsys.readouterr().out
    rows = cs.ROWS_NEEDING["part1_model.pt"]
    assert rows.startswith("row") and f"Until it is handed in, {rows} score" in out, out
    for text in ("part1_model.pt is missing", "part2.ipynb has no outputs", "can be uploaded", "2 items"):
        assert text in out, f"{text!r} not in:\n{out}"
    assert cs.main([str(path), "--complete"]) == 1


def test_rows_needing_names_every_file_handed_in():
    assert set(cs.ROWS_NEEDING) == set(cs.REQUIRED_FILES)
    assert all(text.startswith(("row ", "rows ")) for text in cs.ROWS_NEEDING.values()), cs.ROWS_NEEDING


# ---------------------------------------------------------------- make_submission

def _fake_kit(root: Path) -> Path:
    files = _good_files()
    for name, (relative, _hint) in cs.KIT_SOURCES.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[name])
    return root


def test_make_submission_builds_a_zip_that_passes(tmp_path, capsys):
    kit = _fake_kit(tmp_path / "kit")
    out = tmp_path / f"{UNIQ}.zip"
    assert ms.main([UNIQ, "--kit-root", str(kit), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "looks good" in printed and "--uniqname" not in printed  # no note: the zip is named jdoe.zip
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == sorted(f"{UNIQ}/{name}" for name in cs.REQUIRED_FILES)
    assert cs.check_zip(out) == []
    assert cs.main([str(out), "--uniqname", UNIQ]) == 0
    assert cs.main([str(out)]) == 0  # the default check: the zip's name matches the folder


def test_make_submission_default_out_is_in_kit_root(tmp_path):
    kit = _fake_kit(tmp_path / "kit")
    assert ms.main([UNIQ, "--kit-root", str(kit)]) == 0
    assert (kit / f"{UNIQ}.zip").is_file()


@pytest.mark.parametrize("relative, hint", [
    ("neuralnet/checkpoint.pkl", "run `python train.py`"),
    ("part1_model.pt", "part1.ipynb"),
    ("backprop/functions.py", "functions.py"),
])
def test_make_submission_makes_the_zip_without_a_missing_file_and_says_what_it_costs(tmp_path, capsys, relative,
                                                                                     hint):
    kit = _fake_kit(tmp_path / "kit")
    (kit / relative).unlink()
    name = next(n for n, (rel, _h) in cs.KIT_SOURCES.items() if rel == relative)
    out = tmp_path / f"{UNIQ}.zip"
    assert ms.main([UNIQ, "--kit-root", str(kit), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    message = captured.out + captured.err
    assert f"{relative} is missing" in message and hint in message, message
    assert cs.ROWS_NEEDING[name] in message and "can be uploaded now" in message, message
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == sorted(f"{UNIQ}/{n}" for n in cs.REQUIRED_FILES if n != name)
    out.unlink()
    assert ms.main([UNIQ, "--kit-root", str(kit), "--out", str(out), "--complete"]) == 1
    assert f"{relative} is missing" in capsys.readouterr().err
    assert not out.exists()


def test_make_submission_refuses_an_unreadable_notebook_and_an_oversized_file(tmp_path, capsys, monkeypatch):
    kit = _fake_kit(tmp_path / "kit")
    (kit / "part2.ipynb").write_text("{not json")
    monkeypatch.setattr(ms.check_submission, "MAX_FILE_BYTES", 10)
    out = tmp_path / f"{UNIQ}.zip"
    assert ms.main([UNIQ, "--kit-root", str(kit), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "part2.ipynb is not a readable notebook" in err and "files over" in err, err
    assert not out.exists()


def test_make_submission_refuses_an_empty_kit_folder(tmp_path, capsys):
    (tmp_path / "kit").mkdir()
    assert ms.main([UNIQ, "--kit-root", str(tmp_path / "kit")]) == 1
    assert "none of the files to hand in" in capsys.readouterr().err


def test_make_submission_refuses_bad_uniqname(tmp_path, capsys):
    kit = _fake_kit(tmp_path / "kit")
    assert ms.main(["John Doe", "--kit-root", str(kit)]) == 1
    assert "not a uniqname" in capsys.readouterr().err


def test_make_submission_warns_about_a_notebook_without_outputs(tmp_path, capsys):
    kit = _fake_kit(tmp_path / "kit")
    (kit / "part2.ipynb").write_text(_notebook(outputs=False))
    out = tmp_path / f"{UNIQ}.zip"
    assert ms.main([UNIQ, "--kit-root", str(kit), "--out", str(out)]) == 0
    assert "part2.ipynb has no outputs" in capsys.readouterr().out
    assert out.exists()
    out.unlink()
    assert ms.main([UNIQ, "--kit-root", str(kit), "--out", str(out), "--complete"]) == 1
    assert "part2.ipynb has no outputs" in capsys.readouterr().err
    assert not out.exists()


def test_make_submission_deletes_a_zip_that_fails_the_check(tmp_path, capsys, monkeypatch):
    kit = _fake_kit(tmp_path / "kit")
    monkeypatch.setattr(ms.check_submission, "sort_zip", lambda *args, **kwargs: (["planted problem"], []))
    out = tmp_path / f"{UNIQ}.zip"
    assert ms.main([UNIQ, "--kit-root", str(kit), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "planted problem" in printed and "was deleted" in printed, printed
    assert not out.exists()


# ---------------------------------------------------------------- every problem in one pass

def test_make_submission_lists_every_problem_in_one_pass(tmp_path, capsys):
    """A missing model, a missing checkpoint, an unexecuted notebook, one ending in an error and a bad uniqname:
    all five in one run, then exit 1 without a zip."""
    kit = _fake_kit(tmp_path / "kit")
    (kit / "part1_model.pt").unlink()
    (kit / "neuralnet" / "checkpoint.pkl").unlink()
    (kit / "part1.ipynb").write_text(_notebook(outputs=False))
    (kit / "part2.ipynb").write_text(_notebook(error=True))
    assert ms.main(["John Doe", "--kit-root", str(kit), "--complete"]) == 1
    captured = capsys.readouterr()
    message = captured.out + captured.err
    for text in ("part1_model.pt is missing", "neuralnet/checkpoint.pkl is missing", "part1.ipynb has no outputs",
                 "part2.ipynb: code cell 2 ends with an error", "not a uniqname", "5 problems"):
        assert text in message, f"{text!r} not in:\n{message}"
    assert not list(kit.glob("*.zip"))
    # Without --complete only the uniqname blocks, and the rest is still listed in the same run.
    assert ms.main(["John Doe", "--kit-root", str(kit)]) == 1
    captured = capsys.readouterr()
    message = captured.out + captured.err
    for text in ("1 problem", "not a uniqname", "Not there yet either (4 items", "part1_model.pt is missing"):
        assert text in message, f"{text!r} not in:\n{message}"
    assert not list(kit.glob("*.zip"))


def test_check_submission_lists_every_problem_in_one_pass(tmp_path, capsys):
    """A zip missing the model with both notebooks unexecuted: every problem listed, exit 1."""
    entries = _good_entries(part1_model__pt=None, part1__ipynb=_notebook(outputs=False).encode(),
                            part2__ipynb=_notebook(outputs=False).encode())
    path = _zip(tmp_path / "someone.zip", entries)
    assert cs.main([str(path), "--complete"]) == 1
    out = capsys.readouterr().out
    for text in ("part1_model.pt is missing", "part1.ipynb has no outputs", "part2.ipynb has no outputs",
                 "the zip is named someone.zip", "4 problems"):
        assert text in out, f"{text!r} not in:\n{out}"


def test_check_submission_checks_files_at_the_top_of_the_zip_too(tmp_path, capsys):
    """Files at the top of the zip (no folder): said, and the files are still checked in the same run."""
    files = _good_files()
    files.pop("checkpoint.pkl")
    files["part1.ipynb"] = _notebook(outputs=False).encode()
    path = _zip(tmp_path / f"{UNIQ}.zip", files)
    assert cs.main([str(path)]) == 1
    out = capsys.readouterr().out
    for text in ("The files sit at the top of the zip", "checkpoint.pkl is missing", "part1.ipynb has no outputs"):
        assert text in out, f"{text!r} not in:\n{out}"


STAFF_ONLY = ("--show-hidden", "show_hidden", "show-hidden", "python -m autograder", "regrade")


def test_student_facing_text_never_mentions_staff_only_flags(student_tree, tmp_path, capsys):
    """Neither the student kit's files (scripts, README, notebooks) nor the tools' --help and problem lists name
    the grader's staff-only commands or flags."""
    hits = []
    for path in student_tree.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".ipynb", ".sh", ".txt"):
            text = path.read_text(errors="replace")
            hits += [f"{path.relative_to(student_tree)}: {flag}" for flag in STAFF_ONLY if flag in text]
    assert not hits, hits
    outputs = []
    for module, argv in ((cs, ["--help"]), (ms, ["--help"])):
        with pytest.raises(SystemExit):
            module.main(argv)
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
    kit = _fake_kit(tmp_path / "kit")
    (kit / "part1_model.pt").unlink()
    ms.main([UNIQ, "--kit-root", str(kit)])
    cs.main([str(_zip(tmp_path / "x.zip", _good_entries(part1_model__pt=None)))])
    captured = capsys.readouterr()
    outputs.append(captured.out + captured.err)
    for text in outputs:
        assert not [flag for flag in STAFF_ONLY if flag in text], text
