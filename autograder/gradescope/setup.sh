#!/usr/bin/env bash
# Gradescope image setup: runs once, as root, on Ubuntu 22.04 when the autograder is uploaded.
# The autograder zip is unpacked at $ROOT/source (this script's folder); ROOT is /autograder on Gradescope.
# A non-zero exit fails the upload ("setup failed"), which is where a broken image must show: never at grading.
#
# Offline mode (python -m autograder check-upload and the project's tests; never on Gradescope):
#   AUTOGRADER_ROOT=<tmp root> AUTOGRADER_PYTHON=<full path of an interpreter> \
#   AUTOGRADER_SITE_PACKAGES=<site-packages holding requirements.txt's packages> bash setup.sh
# skips apt and pip: the venv is made from AUTOGRADER_PYTHON and sees those packages through a .pth file.
set -euo pipefail

ROOT=${AUTOGRADER_ROOT:-/autograder}
SOURCE=$ROOT/source
VENV=$ROOT/venv

if [ -z "${AUTOGRADER_SITE_PACKAGES:-}" ]; then
    # Ubuntu 22.04's Python 3.10 with venv support. The venv is built from that interpreter by its full path, never
    # the first python3 on the PATH: an image whose PATH starts with an interpreter under /root (pyenv, conda) would
    # give a venv that the sandbox's unprivileged uids cannot execute.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends python3.10 python3.10-venv
    apt-get clean
    rm -rf /var/lib/apt/lists/*
    PYTHON=${AUTOGRADER_PYTHON:-/usr/bin/python3.10}
    [ -x "$PYTHON" ] || { echo "setup.sh: $PYTHON was not installed" >&2; exit 1; }
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --no-cache-dir pip==24.3.1  # pinned, like everything else
    "$VENV/bin/python" -m pip install --no-cache-dir -r "$SOURCE/autograder/gradescope/requirements.txt"
    # part2's first choice of network: torchvision's squeezenet1_1 ImageNet weights, into root's torch cache, where
    # the grader finds them and copies them into the sandbox to classify the students' images again (5.4).
    "$VENV/bin/python" -c "import torchvision; torchvision.models.squeezenet1_1(weights='IMAGENET1K_V1')"
else
    PYTHON=${AUTOGRADER_PYTHON:?offline mode needs AUTOGRADER_PYTHON (a full path)}
    case "$PYTHON" in /*) ;; *) echo "setup.sh: AUTOGRADER_PYTHON must be a full path, not $PYTHON" >&2; exit 1;; esac
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

"$VENV/bin/python" -c "import numpy, torch, nbformat, jsonschema, gradescope_utils, psutil; print('autograder venv ready: numpy', numpy.__version__, 'torch', torch.__version__)"

# Student code needs no account: every sandboxed run executes as an unprivileged uid of its own (uid = gid, from
# 61000-61998, no passwd entry, so no home, no shell, no groups); see autograder/grading/sandbox.py. The grader's
# own probe (the code path grading uses: the uid 61999 interpreter check, then a tiny sandboxed run as a leased
# per-run uid importing numpy from this venv) must pass here, or the upload fails. run_autograder probes again.
cd "$SOURCE"
"$VENV/bin/python" -m autograder probe-sandbox \
    || { echo "setup.sh: the sandbox cannot run $VENV/bin/python (see autograder/gradescope/README.md)" >&2; exit 1; }
