"""Solution markers: turn the marked reference kit into the student kit.

Rules (docs/architecture.md, "Solution markers"), for ``.py`` files and notebook code cells:

* A region runs from a ``# BEGIN SOLUTION`` line to the next ``# END SOLUTION`` line (markers are whole-line comments,
  any indentation, exactly this spelling). The student version replaces the region, markers included, with two lines
  at the BEGIN marker's indentation::

      # TODO: implement <name>.
      raise NotImplementedError("<name>: not implemented yet")

  ``<name>`` is the text after the marker when one is given (``# BEGIN SOLUTION network``), otherwise the dotted
  name of the innermost enclosing ``def``/``class`` (``TwoLayerNet.forward``), found with :mod:`ast`. A region outside
  every def/class must be named.
* A ``# BEGIN PROMPT`` / ``# END PROMPT`` block on the line right after ``# END SOLUTION`` replaces the stub: each of
  its lines (all comments in the reference) is given to the student with one leading ``# `` removed.
* Anything else that looks like a marker is an error (:class:`MarkerError`): nested BEGIN, END or PROMPT without its
  opener, an unclosed region or prompt, an unnamed module-level region, another spelling (``#BEGIN SOLUTION``,
  ``### BEGIN SOLUTION``, ``# begin solution``), marker text inside a string. After stripping, the output must
  compile and must contain neither marker text nor any code line found only inside a solution region (leak check).

API: :func:`strip_python`, :func:`strip_notebook`, :func:`build_student_tree`, :class:`MarkerError` (``filename``,
``line``, ``reason``, and ``cell`` for notebooks). Tests: ``tests/test_build_markers.py``.
"""
from __future__ import annotations

import ast
import copy
import fnmatch
import io
import os
import re
import shutil
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import nbformat

# Anything that looks like a marker, in any spelling; used to reject near-misses and to check the output for leaks.
# The look-behind keeps words like "extend solution" or "append_prompt" from counting as markers.
_MARKER_LIKE = re.compile(r"(?<![A-Za-z])(BEGIN|END)[\s_-]*(SOLUTION|PROMPT)", re.IGNORECASE)
# The one accepted spelling: a whole-line comment. Only BEGIN SOLUTION may carry a name.
_MARKER = re.compile(r"^(?P<indent>[ \t]*)# (?P<kind>BEGIN SOLUTION|END SOLUTION|BEGIN PROMPT|END PROMPT)"
                     r"(?: (?P<name>[A-Za-z_][A-Za-z0-9_.]*))?[ \t]*$")
# IPython syntax that is not Python (line magics, shell escapes, help): masked before parsing a notebook cell.
_IPYTHON_LINE = re.compile(r"^[ \t]*[%!?]")

# Run outputs and caches that never go into a kit (relative names, matched against every path component), besides
# each part's own run outputs (Part.run_outputs, and the files it hands in that a run makes).
SKIP_DIR_NAMES = frozenset({"__pycache__", ".ipynb_checkpoints", ".pytest_cache", "cifar-10-batches-py", "data"})
SKIP_FILE_NAMES = frozenset({".DS_Store"})
SKIP_SUFFIXES = (".pyc", ".pyo")


class MarkerError(Exception):
    """A malformed solution marker (or a leak) in a kit file.

    Attributes:
        filename: the file as given to the stripper (a path or a display name).
        line: 1-based line number in the file, or in the cell for notebooks.
        reason: what is wrong, in words.
        cell: 0-based notebook cell index, or None for a .py file.
    """

    def __init__(self, filename: Union[str, os.PathLike], line: int, reason: str, cell: Optional[int] = None):
        self.filename = str(filename)
        self.line = line
        self.reason = reason
        self.cell = cell
        where = f"{self.filename}, cell {cell}" if cell is not None else self.filename
        super().__init__(f"{where}, line {line}: {reason}")


def _split_lines(text: str, keepends: bool = False) -> List[str]:
    """Lines as Python's tokenizer numbers them: split at "\n" only (str.splitlines also splits at form feeds and
    Unicode line separators, which would shift line numbers against ast and tokenize). CRLF stays with its line
    when ``keepends``, and is dropped otherwise."""
    lines = re.findall(r"[^\n]*\n|[^\n]+\Z", text)
    return lines if keepends else [line.rstrip("\r\n") for line in lines]


@dataclass
class _Marker:
    line: int  # 1-based
    kind: str  # "BEGIN SOLUTION", "END SOLUTION", "BEGIN PROMPT", "END PROMPT"
    indent: str
    name: Optional[str]


def _parse_source(text: str, filename: str, cell: Optional[int], ipython: bool) -> Tuple[str, ast.Module]:
    """Parse the reference source; returns (parseable text, module). Notebook magics are masked as comments."""
    if ipython:
        # Keep line numbers: a magic line becomes a comment of the same line.
        text = "".join("#" + line if _IPYTHON_LINE.match(line) else line
                       for line in _split_lines(text, keepends=True))
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        raise MarkerError(filename, exc.lineno or 0, f"the reference is not valid Python: {exc.msg}", cell) from None
    return text, tree


def _comment_lines(text: str, filename: str, cell: Optional[int]) -> Dict[int, str]:
    """Line number -> comment text, for comments that are the first token on their line."""
    comments: Dict[int, str] = {}
    code_lines = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                if tok.start[0] not in code_lines:
                    comments[tok.start[0]] = tok.string
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                                  tokenize.ENDMARKER):
                # A token spans lines for triple-quoted strings: none of those lines can hold a marker comment.
                code_lines.update(range(tok.start[0], tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise MarkerError(filename, 0, f"the reference cannot be tokenized: {exc}", cell) from None
    return comments


def _find_markers(text: str, filename: str, cell: Optional[int]) -> List[_Marker]:
    """Every marker line, validated: exact spelling, a real comment (not inside a string)."""
    comments = _comment_lines(text, filename, cell)
    markers = []
    for number, line in enumerate(_split_lines(text), start=1):
        if not _MARKER_LIKE.search(line):
            continue
        match = _MARKER.match(line)
        if match is None:
            raise MarkerError(filename, number, f"marker-like text in a form other than '# BEGIN SOLUTION', "
                                                f"'# END SOLUTION', '# BEGIN PROMPT', '# END PROMPT' (whole-line "
                                                f"comment, exact spelling): {line.strip()!r}", cell)
        if number not in comments:
            raise MarkerError(filename, number, "marker inside a string or after code; a marker must be a "
                                                "whole-line comment", cell)
        if match.group("name") and match.group("kind") != "BEGIN SOLUTION":
            raise MarkerError(filename, number, f"only '# BEGIN SOLUTION' takes a name: {line.strip()!r}", cell)
        markers.append(_Marker(number, match.group("kind"), match.group("indent"), match.group("name")))
    return markers


def _scopes(tree: ast.Module, lines: List[str]) -> List[Tuple[int, int, int, str]]:
    """Every def/class as (first line, last line, column, dotted name).

    The last line extends past ``end_lineno`` over following blank and comment lines indented deeper than the
    def, so a region at the very end of a body (even an empty one) still belongs to its function.
    """
    out: List[Tuple[int, int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                last = child.end_lineno or child.lineno
                while last < len(lines):
                    following = lines[last]  # line number last + 1
                    stripped = following.strip()
                    indent = len(following) - len(following.lstrip())
                    if stripped and not (stripped.startswith("#") and indent > child.col_offset):
                        break
                    last += 1
                out.append((child.lineno, last, child.col_offset, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def _enclosing_name(scopes: List[Tuple[int, int, int, str]], line: int, indent: str) -> Optional[str]:
    """The dotted name of the innermost def/class holding a marker at ``line`` with ``indent``, or None."""
    column = len(indent.expandtabs(8))
    best: Optional[Tuple[int, str]] = None
    for first, last, col, name in scopes:
        if first < line <= last and column > col and (best is None or col > best[0]):
            best = (col, name)
    return best[1] if best else None


def _strip(text: str, filename: str, cell: Optional[int] = None, ipython: bool = False) -> str:
    if ipython and not _MARKER_LIKE.search(text):
        # A notebook cell without markers is kept as it is, unparsed: it may use IPython syntax that the line
        # masking does not cover (``files = !ls``). Kit .py files are always parsed, so a broken one fails the build.
        return text
    parse_text, tree = _parse_source(text, filename, cell, ipython)
    markers = _find_markers(parse_text, filename, cell)
    if not markers:
        return text
    lines = _split_lines(text, keepends=True)
    scopes = _scopes(tree, _split_lines(parse_text))

    # Pair the markers into (region, optional prompt) with a small state machine.
    replacements: List[Tuple[int, int, List[str]]] = []  # (first line, last line, new lines), 1-based inclusive
    i = 0
    while i < len(markers):
        begin = markers[i]
        if begin.kind != "BEGIN SOLUTION":
            opener = "BEGIN SOLUTION" if begin.kind == "END SOLUTION" else (
                "END SOLUTION right before it" if begin.kind == "BEGIN PROMPT" else "BEGIN PROMPT")
            raise MarkerError(filename, begin.line, f"'# {begin.kind}' without its opener ({opener})", cell)
        if i + 1 >= len(markers):
            raise MarkerError(filename, begin.line, "unclosed region: '# BEGIN SOLUTION' has no '# END SOLUTION'",
                              cell)
        end = markers[i + 1]
        if end.kind == "BEGIN SOLUTION":
            raise MarkerError(filename, end.line, f"nested '# BEGIN SOLUTION' (the region opened on line "
                                                  f"{begin.line} is still open)", cell)
        if end.kind != "END SOLUTION":
            raise MarkerError(filename, end.line, f"'# {end.kind}' inside the solution region opened on line "
                                                  f"{begin.line}", cell)
        name = begin.name or _enclosing_name(scopes, begin.line, begin.indent)
        if name is None:
            raise MarkerError(filename, begin.line, "a region outside any def/class needs a name: "
                                                    "'# BEGIN SOLUTION <name>'", cell)
        newline = _line_ending(lines[begin.line - 1])
        new_lines = [f"{begin.indent}# TODO: implement {name}.{newline}",
                     f'{begin.indent}raise NotImplementedError("{name}: not implemented yet"){newline}']
        last = end.line
        i += 2
        if i < len(markers) and markers[i].kind == "BEGIN PROMPT" and markers[i].line == end.line + 1:
            prompt_begin = markers[i]
            if i + 1 >= len(markers) or markers[i + 1].kind != "END PROMPT":
                where = markers[i + 1].line if i + 1 < len(markers) else prompt_begin.line
                raise MarkerError(filename, where, f"unclosed prompt: '# BEGIN PROMPT' on line {prompt_begin.line} "
                                                   f"needs '# END PROMPT' before any other marker", cell)
            prompt_end = markers[i + 1]
            new_lines = [_uncomment(lines[n - 1], filename, n, cell)
                         for n in range(prompt_begin.line + 1, prompt_end.line)]
            last = prompt_end.line
            i += 2
        replacements.append((begin.line, last, new_lines))

    out: List[str] = []
    cursor = 1
    for first, last, new_lines in replacements:
        out.extend(lines[cursor - 1:first - 1])
        out.extend(new_lines)
        cursor = last + 1
    out.extend(lines[cursor - 1:])
    result = "".join(out)
    _check_output(result, filename, cell, ipython)
    _check_no_solution_lines(lines, replacements, result, filename, cell)
    return result


def _check_no_solution_lines(lines: List[str], replacements: List[Tuple[int, int, List[str]]], result: str,
                             filename: str, cell: Optional[int]) -> None:
    """Leak check: no code line that exists only inside a solution region may appear in the student version.

    Lines that also occur outside the regions, or in a stub or prompt (e.g. an unchanged hyper-parameter), are
    legitimately in the output and are not counted.
    """
    inside: Dict[str, int] = {}
    removed = set()
    for first, last, new_lines in replacements:
        removed.update(range(first, last + 1))
        for number in range(first + 1, last):
            code = lines[number - 1].strip()
            if code and not code.startswith("#"):
                inside.setdefault(code, number)
    allowed = {line.strip() for number, line in enumerate(lines, start=1) if number not in removed}
    allowed.update(line.strip() for _, _, new_lines in replacements for line in new_lines)
    for line in _split_lines(result):
        code = line.strip()
        if code in inside and code not in allowed:
            raise MarkerError(filename, inside[code], f"leak check: solution line {code!r} is in the student "
                                                      f"version", cell)


def _line_ending(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    return "\n"


def _uncomment(line: str, filename: str, number: int, cell: Optional[int]) -> str:
    """A prompt line given to the student: one leading '# ' (or a bare '#') removed after the indentation."""
    body = line.lstrip(" \t")
    indent = line[:len(line) - len(body)]
    if not body.strip():
        return line
    if body.startswith("# "):
        return indent + body[2:]
    if body.rstrip("\r\n") == "#":
        return body[1:]  # an empty comment line becomes an empty line (no trailing spaces)
    raise MarkerError(filename, number, "a prompt line must be a comment ('# ...'): it is code in the reference",
                      cell)


def _check_output(result: str, filename: str, cell: Optional[int], ipython: bool) -> None:
    """The student file must compile and must not contain marker text."""
    for number, line in enumerate(_split_lines(result), start=1):
        if _MARKER_LIKE.search(line):
            raise MarkerError(filename, number, "leak check: marker text left in the student version", cell)
    check = result
    if ipython:
        check = "".join("#" + line if _IPYTHON_LINE.match(line) else line
                        for line in _split_lines(result, keepends=True))
    try:
        compile(check, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise MarkerError(filename, exc.lineno or 0, f"the student version is not valid Python: {exc.msg}",
                          cell) from None


def strip_python(text: str, filename: Union[str, os.PathLike]) -> str:
    """The student version of one marked Python source.

    Args:
        text: the reference source (str).
        filename: used in error messages only.
    Returns:
        The source with every solution region replaced by its stub or prompt; unchanged when it has no markers.
    Raises:
        MarkerError: malformed markers, a reference or student version that does not parse, or a leak.
    """
    return _strip(text, str(filename))


def strip_notebook(nb: nbformat.NotebookNode, filename: Union[str, os.PathLike]) -> nbformat.NotebookNode:
    """The student version of a marked notebook (a new object; ``nb`` is not modified).

    Each code cell with markers is stripped like a .py file (IPython lines starting with ``%``, ``!`` or ``?`` are
    allowed and kept; cells without markers are kept unparsed). Every code cell's outputs and execution count are
    cleared; notebook and cell metadata are kept. Markdown and raw cells are checked for marker text (a leak) and
    kept as they are. Errors name the 0-based cell index and the line within the cell.
    """
    name = str(filename)
    out = copy.deepcopy(nb)
    for index, cell in enumerate(out.cells):
        if cell.cell_type == "code":
            stripped = _strip(cell.source, name, cell=index, ipython=True)
            if not cell.source.endswith("\n") and stripped.endswith("\n"):
                stripped = stripped[:-1]  # a region or prompt ending the cell: keep the cell's own last line bare
            cell.source = stripped
            cell.outputs = []
            cell.execution_count = None
        else:
            for number, line in enumerate(_split_lines(cell.source), start=1):
                if _MARKER_LIKE.search(line):
                    raise MarkerError(name, number, f"marker text in a {cell.cell_type} cell (markers belong in "
                                                    f"code cells)", cell=index)
    return out


def _run_output_patterns() -> tuple:
    from autograder import parts  # local import: the stripper itself does not depend on the parts
    return tuple(pattern for part in parts.PARTS.values() for pattern in part.run_outputs
                 + tuple(h.name for h in part.hand_in if h.made_by_run))


def is_skipped(relative: Path) -> bool:
    """Whether a path inside the kit is a run output or cache that never goes into a kit."""
    parts = relative.parts
    if any(part in SKIP_DIR_NAMES for part in parts[:-1]):
        return True
    name = parts[-1]
    return (name in SKIP_DIR_NAMES or name in SKIP_FILE_NAMES or name.endswith(SKIP_SUFFIXES)
            or any(fnmatch.fnmatchcase(name, pattern) for pattern in _run_output_patterns()))


def kit_files(src_dir: Union[str, os.PathLike]) -> List[Path]:
    """The kit's files (relative paths, sorted), without run outputs and caches.

    In a folder that also holds the instructor tooling (an ``autograder/`` folder beside the kit: the repository, or
    the unpacked autograder zip), only the kit's own top-level entries count (:func:`autograder.paths.kit_entries`:
    the switched-on parts' entries and the common ones); in any other folder (a generated kit) every file does.
    """
    from autograder import paths  # local import: the stripper itself does not depend on the layout
    src = Path(src_dir)
    if (src / "autograder").is_dir():
        tops = [src / name for name in paths.kit_entries(src) if (src / name).exists()]
    else:
        tops = sorted(src.iterdir()) if src.is_dir() else []
    candidates = []
    for top in tops:
        candidates += [top] + (list(top.rglob("*")) if top.is_dir() and not top.is_symlink() else [])
    found = []
    for path in sorted(candidates):
        relative = path.relative_to(src)
        if path.is_file() and not path.is_symlink() and not is_skipped(relative):
            found.append(relative)
    return found


def copy_kit(src_dir: Union[str, os.PathLike], dst_dir: Union[str, os.PathLike]) -> List[Path]:
    """Copy the kit's files (:func:`kit_files`, unstripped, source names kept) from ``src_dir`` into ``dst_dir``
    (created; existing files are overwritten). Returns the relative paths copied."""
    src, dst = Path(src_dir), Path(dst_dir)
    copied = kit_files(src)
    for relative in copied:
        (dst / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / relative, dst / relative)
    return copied


def build_student_tree(src_dir: Union[str, os.PathLike], dst_dir: Union[str, os.PathLike]) -> List[Path]:
    """Write the student version of the kit at ``src_dir`` into ``dst_dir`` (replaced as a whole).

    .py files and notebooks are stripped, every other file is copied byte for byte; file modes are kept. Run
    outputs (each part's run outputs, cifar-10-batches-py/, data/: see is_skipped) and caches are left
    out. The tree is written to a temporary sibling first, so a failed build leaves no half-written ``dst_dir``.

    Returns:
        The written files, as paths under ``dst_dir``, sorted.
    Raises:
        MarkerError: from any file (nothing is written to ``dst_dir`` then).
    """
    from autograder import paths
    src = Path(src_dir)
    dst = Path(dst_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"kit folder not found: {src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dst.name}-", dir=dst.parent))
    os.chmod(staging, 0o755)  # mkdtemp makes it 0700; the tree is read by other users (instructors, the sandbox)
    try:
        for relative in kit_files(src):
            source = src / relative
            target = staging / paths.kit_target(relative)  # STUDENT-README.md ships as README.md
            target.parent.mkdir(parents=True, exist_ok=True)
            if relative.suffix == ".py":
                # read_text translates CRLF to LF and newline="\n" writes LF: the student kit has Unix endings.
                text = source.read_text(encoding="utf-8")
                with open(target, "w", encoding="utf-8", newline="\n") as handle:
                    handle.write(strip_python(text, relative.as_posix()))
            elif relative.suffix == ".ipynb":
                nb = nbformat.read(str(source), as_version=4)
                nbformat.write(strip_notebook(nb, relative.as_posix()), str(target))
            else:
                _check_copied_text(source, relative)
                shutil.copyfile(source, target)
            os.chmod(target, source.stat().st_mode & 0o777)
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(staging, dst)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return sorted(dst / relative for relative in kit_files(dst))


def _check_copied_text(source: Path, relative: Path) -> None:
    """Copied text files (README, shell scripts) must not carry marker text either."""
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return  # binary data (e.g. backprop-data.pkl): nothing a marker could be in
    for number, line in enumerate(_split_lines(text), start=1):
        if _MARKER_LIKE.search(line):
            raise MarkerError(relative.as_posix(), number, "marker text in a file that is copied as-is "
                                                           "(only .py and .ipynb files are stripped)")
