"""``python -m autograder check-upload``: run the built ``dist/autograder.zip`` the way Gradescope runs it.

Not the repository's source: the zip itself is unpacked into a temporary root laid out like ``/autograder``
(``source/``, ``submission/``, ``results/``), its own ``setup.sh`` builds a fresh venv there, and its own
``run_autograder`` grades the reference and the starter (stub) submission. It passes when setup succeeds (its
import check and sandbox probe included), the reference gets full marks and the stub zero. A zip older than the
repository files it was built from fails the check (``allow_stale`` goes on with a warning).

Two ways to set up the venv:

* offline (the default, seconds): ``setup.sh``'s offline mode, a venv made from this interpreter's base Python by
  full path that sees this environment's site-packages through a ``.pth`` file, instead of apt + pip;
* ``install=True`` (``--install``, minutes): the real path Gradescope takes. ``setup.sh`` runs as on Gradescope: the
  image's ``/usr/bin/python3``, apt only for what it lacks, pip from the package index. The one step that needs more
  than the package index is PyTorch's site (its CPU-only torch index and the pretrained weights the parts' setup
  fetches): when it cannot be reached, torch comes from the package index and the weights from a local folder
  (``weights_dir``, or this machine's torch cache) or are skipped, each with a note.

Everything else (permissions, the uid probe, the per-run uids, the grading) is the zip's own code either way. The
same check inside Gradescope's base image, with its resource limits, is described in
autograder/gradescope/README.md (Docker).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from autograder import paths

SETUP_TIMEOUT_S = 1800  # Gradescope's own build limit is generous; offline setup takes seconds, --install minutes
PYTORCH_SITE = "https://download.pytorch.org/whl/cpu/"  # setup.sh's default torch index (and the weights' host)
RUN_TIMEOUT_S = 600  # the 10 min per-submission limit the rubric's time budget assumes


class UploadCheckError(RuntimeError):
    """The zip would fail on Gradescope (setup failed, a run failed, or a score is not what it must be)."""


@dataclass
class RunOutcome:
    name: str
    returncode: int
    score: Optional[float]
    possible: Optional[float]
    seconds: float
    log: str
    results: Optional[dict] = field(default=None, repr=False)


def base_python() -> Path:
    """This environment's base interpreter, by full path (what setup.sh's offline mode builds the venv from)."""
    candidate = Path(getattr(sys, "_base_executable", "") or sys.executable)
    return candidate if candidate.is_absolute() else Path(shutil.which(str(candidate)) or sys.executable)


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"]).resolve()


def stale_sources(zip_path: Path, repo: Path = paths.REPO) -> List[str]:
    """Repository files that a member of the zip was built from and that changed after the zip was written."""
    built = zip_path.stat().st_mtime
    newer = []
    with zipfile.ZipFile(zip_path) as archive:
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
    for name in names:
        if name in ("setup.sh", "run_autograder"):
            source = repo / "autograder" / "gradescope" / name
        elif name.startswith(("student/", "eval/")):
            continue  # generated from the kit at build time (the kit's own files are checked as themselves)
        else:
            source = repo / name
        if source.is_file() and source.stat().st_mtime > built:
            newer.append(str(source.relative_to(repo)))
    return sorted(set(newer))


def _extract(zip_path: Path, target: Path) -> None:
    """Unzip keeping the Unix modes (Gradescope keeps setup.sh's and run_autograder's 0755)."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                path.chmod(mode)


def make_root(parent: Optional[Path] = None) -> Path:
    """A fresh root like /autograder: traversable by everyone (the sandbox's uids reach the venv through it), in the
    system temp folder (never a private one such as pytest's, under which the sandbox could not run at all)."""
    root = Path(tempfile.mkdtemp(prefix="dlkit-upload-", dir=str(parent or "/tmp")))
    root.chmod(0o711)
    return root


@dataclass
class Install:
    """``setup.sh``'s real install path (``--install``): what it is told about PyTorch's site, and why."""
    torch_index: Optional[str] = None  # None: setup.sh's default index; "": the package index's torch
    weights_dir: Optional[Path] = None  # a folder of torch hub weight files, copied instead of downloaded
    skip_weights: bool = False
    notes: List[str] = field(default_factory=list)


def reachable(url: str, timeout: float = 5.0) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return True
    except Exception:  # any failure to reach it (DNS, refused, timeout, TLS, HTTP error) counts as unreachable
        return False


def local_torch_checkpoints() -> Optional[Path]:
    """This machine's torch hub checkpoints folder (where torchvision keeps downloaded weights), when it holds any."""
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME")
                                                        or os.path.expanduser("~/.cache"), "torch")
    folder = Path(home) / "hub" / "checkpoints"
    return folder if folder.is_dir() and any(folder.iterdir()) else None


def plan_install(weights_dir: Optional[Path] = None, torch_index: Optional[str] = None) -> Install:
    """How --install can run here: PyTorch's site when it answers, else the package index and local weights."""
    plan = Install(torch_index=torch_index, weights_dir=weights_dir)
    online = reachable(PYTORCH_SITE)
    if torch_index is None and not online:
        plan.torch_index = ""
        plan.notes.append(f"{PYTORCH_SITE} cannot be reached from here: torch and torchvision install from the package "
                          "index (its CUDA build, larger) instead of PyTorch's CPU-only index")
    if weights_dir is None and not online:
        plan.weights_dir = local_torch_checkpoints()
        if plan.weights_dir is None:
            plan.skip_weights = True
            plan.notes.append("pretrained weights cannot be downloaded and this machine's torch cache holds none: the "
                              "parts' setup skips them (--weights DIR to provide them)")
        else:
            plan.notes.append(f"pretrained weights are copied from this machine's torch cache, {plan.weights_dir} "
                              "(no download)")
    return plan


def _env(root: Path, install: Optional[Install] = None) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "AUTOGRADER_"))}
    env["AUTOGRADER_ROOT"] = str(root)
    if install is None:
        env.update(AUTOGRADER_PYTHON=str(base_python()), AUTOGRADER_SITE_PACKAGES=str(site_packages()))
        return env
    # The real path: the image's own python3 (setup.sh's default), pip from the index, and a torch cache of the
    # root's own so the weights never land in this machine's cache.
    env["TORCH_HOME"] = str(root / "torch-home")
    if install.torch_index is not None:
        env["AUTOGRADER_TORCH_INDEX"] = install.torch_index
    if install.weights_dir is not None:
        env["AUTOGRADER_TORCH_WEIGHTS"] = str(install.weights_dir)
    if install.skip_weights:
        env["AUTOGRADER_SKIP_WEIGHTS"] = "1"
    return env


def setup(zip_path: Path, root: Path, install: Optional[Install] = None) -> str:
    """Unpack the zip into ``root/source`` and run its setup.sh as Gradescope would (offline mode unless
    ``install``). Returns the log; raises UploadCheckError when setup fails."""
    source = root / "source"
    _extract(zip_path, source)
    script = source / "setup.sh"
    if not script.is_file():
        raise UploadCheckError(f"{zip_path} has no setup.sh at its root")
    try:
        proc = subprocess.run(["bash", str(script)], cwd=str(source), env=_env(root, install), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                              timeout=SETUP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise UploadCheckError(f"setup.sh ran past {SETUP_TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        raise UploadCheckError(f"setup.sh exited {proc.returncode} (Gradescope would fail the upload):\n"
                               + proc.stdout[-3000:])
    return proc.stdout


def run_submission(root: Path, submission_zip: Path, name: str, install: Optional[Install] = None) -> RunOutcome:
    """Gradescope's run: the submission's contents in ``root/submission``, an empty ``root/results``, then the zip's
    run_autograder (from source/, where setup.sh left it)."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    with zipfile.ZipFile(submission_zip) as archive:
        archive.extractall(root / "submission")
    start = time.monotonic()
    try:
        proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], cwd=str(root), env=_env(root, install),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace", timeout=RUN_TIMEOUT_S)
        returncode, log = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as exc:
        returncode, log = 124, f"run_autograder ran past {RUN_TIMEOUT_S} s (Gradescope's limit)\n{exc.output or ''}"
    seconds = time.monotonic() - start
    results_path = root / "results" / "results.json"
    results = None
    if results_path.is_file():
        try:
            results = json.loads(results_path.read_text())
        except ValueError:
            results = None
    score = possible = None
    if results is not None:
        score = float(results.get("score", 0.0))
        possible = float(sum(t.get("max_score", 0.0) for t in results.get("tests", [])))
    return RunOutcome(name, returncode, score, possible, seconds, log, results)


def _problems(outcome: RunOutcome, expect_full: bool) -> List[str]:
    problems = []
    if outcome.returncode != 0:
        problems.append(f"run_autograder exited {outcome.returncode}")
    if outcome.results is None:
        problems.append("no valid results.json was written")
        return problems
    if expect_full and (outcome.possible is None or outcome.score is None or outcome.score < outcome.possible - 1e-6):
        lost = [f"{t.get('number')} {t.get('name')}: {t.get('score')}/{t.get('max_score')}: "
                f"{(t.get('output') or '').strip().splitlines()[0][:120] if (t.get('output') or '').strip() else ''}"
                for t in outcome.results.get("tests", []) if t.get("score", 0) < t.get("max_score", 0)]
        problems.append(f"{outcome.score:g}/{outcome.possible:g}, not full marks; rows that lost points:\n    "
                        + "\n    ".join(lost[:20]))
    if not expect_full and outcome.score != 0:
        problems.append(f"{outcome.score:g}/{outcome.possible:g}; the untouched starter must score 0")
    return problems


def check_upload(zip_path: Path, reference: Optional[Path], stub: Optional[Path], *, keep: bool = False,
                 install: Optional[Install] = None, allow_stale: bool = False, out=print) -> List[str]:
    """Run the whole check; returns the problems found (empty: the zip is good). Prints progress with ``out``.
    ``install``: setup.sh's real install path instead of its offline mode. A zip older than its sources is a problem
    (nothing is run) unless ``allow_stale``."""
    problems: List[str] = []
    stale = stale_sources(zip_path)
    if stale:
        text = (f"{zip_path} is older than {len(stale)} file(s) it was built from (rebuild with "
                f"`python -m autograder build`): {', '.join(stale[:8])}{' ...' if len(stale) > 8 else ''}")
        if not allow_stale:
            return [text + "; --allow-stale checks it anyway"]
        out("WARNING: " + text)
    for note in install.notes if install is not None else []:
        out(f"note: {note}")
    root = make_root()
    out(f"root: {root} (laid out like /autograder)")
    try:
        start = time.monotonic()
        try:
            log = setup(zip_path, root, install)
        except UploadCheckError as exc:
            return [str(exc)]
        last = [line for line in log.strip().splitlines()
                if line.startswith(("venv ", "setup of ", "imports ok", "sandbox ok", "autograder"))]
        out(f"setup.sh ({'install' if install else 'offline'}) passed in {time.monotonic() - start:.1f} s: "
            + " | ".join(last))
        for name, submission, expect_full in (("reference", reference, True), ("stub", stub, False)):
            if submission is None:
                continue
            if not submission.is_file():
                problems.append(f"{name}: {submission} does not exist (build it with `python -m autograder build`)")
                continue
            outcome = run_submission(root, submission, name, install)
            found = _problems(outcome, expect_full)
            score = "no score" if outcome.score is None else f"{outcome.score:g}/{outcome.possible:g}"
            out(f"{name}: {score} in {outcome.seconds:.1f} s (exit {outcome.returncode})"
                + ("" if not found else " -- FAILED"))
            if found:
                problems += [f"{name}: {p}" for p in found]
                problems.append(f"{name}: end of the run's log:\n{outcome.log[-2000:]}")
    finally:
        if keep:
            out(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return problems


DOCKER_IMAGE = "gradescope/autograder-base:ubuntu-22.04"  # Gradescope's Ubuntu 22.04 / Python 3.10 base image
def docker_limits() -> tuple:
    """Gradescope's 0.5 vCPU, and its default 768 MB raised to the memory the notebooks need while notebook parts
    are on (rubric.NOTEBOOK_MEMORY_MB; autograder/gradescope/README.md)."""
    from autograder import parts
    from autograder.grading import rubric
    memory = max(768, rubric.NOTEBOOK_MEMORY_MB) if any(p.notebooks for p in parts.enabled()) else 768
    return ("--cpus=0.5", f"--memory={memory}m")


def docker_command(zip_path: Path, reference: Path, stub: Path, image: str = DOCKER_IMAGE) -> List[str]:
    """``docker run`` of the full rehearsal: the zip's setup.sh online (apt, pip, Python 3.10) inside Gradescope's
    image, then run_autograder on the reference and the stub; each run prints ``<name>: score <s> / <max>``."""
    mounts = [f"{zip_path.resolve()}:/dist/autograder.zip:ro", f"{reference.resolve()}:/dist/reference.zip:ro",
              f"{stub.resolve()}:/dist/stub.zip:ro"]
    unzip = 'python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])"'
    score = ('python3 -c "import json; r = json.load(open(\'/autograder/results/results.json\')); '
             'print(r[\'score\'], \'/\', sum(t[\'max_score\'] for t in r[\'tests\']))"')
    script = (f"set -e; mkdir -p /autograder/source /autograder/submission /autograder/results; "
              f"{unzip} /dist/autograder.zip /autograder/source; chmod +x /autograder/source/setup.sh "
              f"/autograder/source/run_autograder; cd /autograder/source; bash setup.sh; "
              f"cp run_autograder /autograder/; "
              f"for s in reference stub; do rm -rf /autograder/submission/* /autograder/results/*; "
              f"{unzip} /dist/$s.zip /autograder/submission; (cd /autograder && timeout {RUN_TIMEOUT_S} "
              f"/autograder/run_autograder > /dev/null) || echo \"$s: run_autograder failed\"; echo \"$s: score $({score})\"; done")
    command = ["docker", "run", "--rm", *docker_limits()]
    for mount in mounts:
        command += ["-v", mount]
    return command + [image, "bash", "-c", script]


def parse_docker_scores(output: str) -> Dict[str, tuple]:
    """``{"reference": (score, max), "stub": (score, max)}`` from docker_command's output."""
    scores = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] in ("reference:", "stub:") and parts[1] == "score" and parts[3] == "/":
            try:
                scores[parts[0][:-1]] = (float(parts[2]), float(parts[4]))
            except ValueError:
                continue
    return scores


def check_in_docker(zip_path: Path, reference: Path, stub: Path, image: str = DOCKER_IMAGE) -> List[str]:
    """The same check inside Gradescope's image (needs docker and, for setup.sh's apt and pip, the network)."""
    if shutil.which("docker") is None:
        return ["docker is not installed here (check-upload without --docker runs the same steps on this machine)"]
    proc = subprocess.run(docker_command(zip_path, reference, stub, image), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    print(proc.stdout[-4000:])
    scores = parse_docker_scores(proc.stdout)
    problems = [] if proc.returncode == 0 else [f"docker run exited {proc.returncode}"]
    if "reference" not in scores or scores["reference"][0] < scores["reference"][1] - 1e-6:
        problems.append(f"reference: {scores.get('reference', 'no score')}, not full marks")
    if "stub" not in scores or scores["stub"][0] != 0:
        problems.append(f"stub: {scores.get('stub', 'no score')}; the untouched starter must score 0")
    return problems


def main(zip_path: Optional[Path] = None, reference: Optional[Path] = None, stub: Optional[Path] = None,
         keep: bool = False, docker: Optional[str] = None, install: bool = False, allow_stale: bool = False,
         weights: Optional[Path] = None, torch_index: Optional[str] = None) -> int:
    zip_path = zip_path or paths.DIST / "autograder.zip"
    if not zip_path.is_file():
        print(f"error: {zip_path} does not exist (build it with `python -m autograder build`)", file=sys.stderr)
        return 2
    if docker is not None:
        problems = check_in_docker(zip_path, reference or paths.DIST / "reference-submission.zip",
                                   stub or paths.DIST / "stub-submission.zip", docker or DOCKER_IMAGE)
        if problems:
            print("check-upload --docker FAILED:\n" + "\n".join(problems), file=sys.stderr)
            return 1
        print(f"check-upload --docker passed in {docker or DOCKER_IMAGE}: reference full marks, stub zero")
        return 0
    if os.geteuid() != 0:
        print("error: check-upload runs setup.sh as Gradescope does, as root (it changes owners and modes, and the "
              "sandbox needs root for its per-run uids); run it as root or in Docker (autograder/gradescope/README.md)",
              file=sys.stderr)
        return 2
    plan = plan_install(weights, torch_index) if install else None
    problems = check_upload(zip_path, reference or paths.DIST / "reference-submission.zip",
                            stub or paths.DIST / "stub-submission.zip", keep=keep, install=plan,
                            allow_stale=allow_stale)
    if problems:
        print("check-upload FAILED:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    print(f"check-upload passed ({'the install path' if install else 'offline setup'}): setup, its import check and "
          "sandbox probe, reference full marks, stub zero")
    return 0
