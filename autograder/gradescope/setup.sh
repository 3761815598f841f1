#!/usr/bin/env bash
# Gradescope image setup: runs once, as root, when the autograder is uploaded (any Ubuntu base image whose python3 is
# 3.10 or newer). The autograder zip is unpacked at $ROOT/source (this script's folder); ROOT is /autograder on
# Gradescope. A non-zero exit fails the upload ("setup failed"), which is where a broken image must show: never at
# grading.
#
# Settings (Gradescope sets none of them; check-upload and the project's tests do):
#   AUTOGRADER_ROOT              the root instead of /autograder
#   AUTOGRADER_PYTHON            the interpreter, by full path, instead of the image's /usr/bin/python3
#   AUTOGRADER_TORCH_INDEX       the extra index torch and torchvision come from (default PyTorch's CPU-only index;
#                                empty: the package index's own build, as where PyTorch's site is unreachable)
#   AUTOGRADER_TORCH_WEIGHTS     a folder of torch hub weight files the parts' setup copies instead of downloading
#   AUTOGRADER_SKIP_WEIGHTS=1    the parts' setup skips downloading weights (grading that needs them is then a fault)
# Offline mode (check-upload without --install, and the project's fast tests; never on Gradescope):
#   AUTOGRADER_SITE_PACKAGES=<site-packages holding requirements.txt's packages> (with AUTOGRADER_PYTHON)
# skips apt and pip: the venv is made from AUTOGRADER_PYTHON and sees those packages through a .pth file.
set -euo pipefail

ROOT=${AUTOGRADER_ROOT:-/autograder}
SOURCE=$ROOT/source
VENV=$ROOT/venv
REQUIREMENTS=$SOURCE/autograder/gradescope/requirements.txt

# The venv is built from an interpreter named by full path, never the first python3 on the PATH: an image whose PATH
# starts with an interpreter under /root (pyenv, conda) would give a venv that the sandbox's uids cannot execute.
PYTHON=${AUTOGRADER_PYTHON:-/usr/bin/python3}
case "$PYTHON" in /*) ;; *) echo "setup.sh: AUTOGRADER_PYTHON must be a full path, not $PYTHON" >&2; exit 1;; esac
[ -x "$PYTHON" ] || { echo "setup.sh: $PYTHON does not exist: choose a base image with Python 3.10 or newer" \
    "(Ubuntu 22.04 or newer)" >&2; exit 1; }
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "setup.sh: $PYTHON is Python $("$PYTHON" -c 'import platform; print(platform.python_version())');" \
         "the autograder needs 3.10 or newer: choose a base image with Ubuntu 22.04 or newer" >&2
    exit 1
fi

if [ -z "${AUTOGRADER_SITE_PACKAGES:-}" ]; then
    # Install only what the image lacks: Debian and Ubuntu ship venv's ensurepip in a package of its own.
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends python3-venv
        apt-get clean
        rm -rf /var/lib/apt/lists/*
    fi
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --no-cache-dir --quiet pip==24.3.1  # pinned, like everything else
    # torch==2.14.1 matches PyTorch's CPU build 2.14.1+cpu too, which pip prefers when that index is given (no CUDA
    # libraries: a smaller image); without it, the package index's build.
    TORCH_INDEX=${AUTOGRADER_TORCH_INDEX-https://download.pytorch.org/whl/cpu}
    "$VENV/bin/python" -m pip install --no-cache-dir --quiet ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} \
        -r "$REQUIREMENTS"
    # The parts' own setup steps (e.g. pretrained weights into root's torch cache): python -m autograder.setup_parts
    (cd "$SOURCE" && "$VENV/bin/python" -m autograder.setup_parts)
else
    "$PYTHON" -m venv --without-pip "$VENV"  # nothing is installed into it
    "$VENV/bin/python" -c "import site, sys; open(site.getsitepackages()[0] + '/dlkit-offline.pth', 'w').write(sys.argv[1] + '\n')" \
        "$AUTOGRADER_SITE_PACKAGES"
fi
echo "venv $VENV from $PYTHON ($("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0], sys._base_executable)'))"
# Student code runs inside the sandbox as another user with this same interpreter: it must stay readable.
chmod -R a+rX "$VENV"

# The source holds the reference solutions: readable by root only. $ROOT can be traversed (for the venv) but not
# listed by the sandbox's users.
chown -R root:root "$SOURCE"
chmod 700 "$SOURCE"
chmod 711 "$ROOT"

# Every module the grader and the reference kit import must be in the venv (a missing one is an autograder fault at
# grading time, so it fails the upload here instead).
"$VENV/bin/python" -m autograder.runtime_imports "$SOURCE"

# Student code needs no account: every sandboxed run executes as an unprivileged uid of its own (uid = gid, from
# 61000-61998, no passwd entry, so no home, no shell, no groups); see autograder/grading/sandbox.py. The grader's
# own probe (the code path grading uses: the uid 61999 interpreter check, then a tiny sandboxed run as a leased
# per-run uid importing numpy from this venv) must pass here, or the upload fails. run_autograder probes again.
cd "$SOURCE"
"$VENV/bin/python" -m autograder probe-sandbox \
    || { echo "setup.sh: the sandbox cannot run $VENV/bin/python (see autograder/gradescope/README.md)" >&2; exit 1; }
