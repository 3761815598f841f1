"""Executes a student's notebook headless. This file runs INSIDE the sandbox, next to the student's files.

``execute(None, notebook, env, cell_timeout)`` runs every code cell of ``notebook`` (a path relative
to the workspace) in a fresh Jupyter kernel with nbclient, the way otter-grader and nbgrader run a submission: the
kernel talks to nbclient over Unix sockets in the workspace (IPC transport: the sandbox has no network), its working
folder is the notebook's, its environment the sandbox's plus ``env`` (the part's reduced mode, where the grader's
data are). Execution stops at the first cell that raises, as Jupyter's "Run All" does.

It returns plain data only: per code cell its number, whether it ran, the text it printed or displayed, the pixel size
of each image it displayed, and its error (name, value, the line of the cell); the wall seconds. The grader reads
these as claims about this process and scores only what it can cross-check (autograder/grading/notebook_runs.py).
"""
from __future__ import annotations

import base64
import os
import re
import struct
import time
import warnings

TEXT_CHARS = 200_000  # per cell: more is cut (a progress bar flood must not fill the result)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _png_size(encoded: str):
    try:
        head = base64.b64decode("".join(encoded.split())[:64] + "==")[:24]
    except ValueError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return list(struct.unpack(">II", head[16:24]))


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else (value if isinstance(value, str) else "")


def _error_line(traceback_lines, source: str) -> str:
    """The line of the cell the error came from (the last 'Cell In[...], line N' frame that names this cell)."""
    line = ""
    for frame in traceback_lines or []:
        match = re.search(r"Cell In\[\d+\], line (\d+)", _ANSI.sub("", frame))
        if match:
            number = int(match.group(1))
            lines = source.splitlines()
            if 1 <= number <= len(lines):
                line = f"line {number}: `{lines[number - 1].strip()[:120]}`"
    return line


def execute(module, notebook, env=None, cell_timeout=600):
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = os.path.abspath(notebook)
    folder = os.path.dirname(path)
    with warnings.catch_warnings():  # nbformat's notes on old notebooks (missing cell ids)
        warnings.simplefilter("ignore")
        nb = nbformat.read(path, as_version=4)
    for name, value in (env or {}).items():
        os.environ[str(name)] = str(value)
    home = os.environ.get("HOME", folder)
    for name, sub in (("JUPYTER_RUNTIME_DIR", ".jupyter-runtime"), ("IPYTHONDIR", ".ipython"),
                      ("MPLCONFIGDIR", ".matplotlib"), ("JUPYTER_DATA_DIR", ".jupyter-data")):
        os.environ.setdefault(name, os.path.join(home, sub))
    km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(home, ".kernel"))
    client = NotebookClient(nb, km=km, timeout=cell_timeout, allow_errors=False, record_timing=False,
                            shutdown_kernel="immediate", resources={"metadata": {"path": folder}})
    start = time.monotonic()
    failure = ""
    try:
        # cleanup_kc: the kernel (and its memory) is gone when execute returns, before any later call of the job
        # runs in this process (nbclient keeps a kernel it was handed alive otherwise)
        client.execute(cwd=folder, cleanup_kc=True)
    except CellTimeoutError:
        failure = f"a cell ran past {cell_timeout:g} s"
    except DeadKernelError as exc:
        failure = f"the kernel died ({str(exc)[:200]}): most likely it ran out of memory"
    except CellExecutionError:
        failure = ""  # the cell's error output says what happened
    except Exception as exc:  # the kernel did not start, or nbclient failed: the grader reports it
        failure = f"{type(exc).__name__}: {str(exc)[:300]}"
    seconds = time.monotonic() - start
    cells = []
    number = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        source = _text(cell.get("source"))
        texts, images, error = [], [], None
        for output in cell.get("outputs") or []:
            kind = output.get("output_type")
            if kind == "stream":
                texts.append(_text(output.get("text")))
            elif kind in ("display_data", "execute_result"):
                data = output.get("data") or {}
                if "image/png" in data:
                    size = _png_size(_text(data.get("image/png")))
                    images.append(size or [0, 0])
                texts.append(_text(data.get("text/plain")))
            elif kind == "error":
                error = {"ename": _text(output.get("ename"))[:200], "evalue": _text(output.get("evalue"))[:500],
                         "line": _error_line(output.get("traceback"), source)}
        text = _ANSI.sub("", "\n".join(texts))
        cells.append({"number": number, "ran": cell.get("execution_count") is not None and bool(source.strip()),
                      "empty": not source.strip(), "text": text[:TEXT_CHARS], "images": images, "error": error})
    return {"cells": cells, "seconds": seconds, "failure": failure}
