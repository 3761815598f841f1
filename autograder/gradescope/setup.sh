#!/usr/bin/env bash
# Gradescope image setup: runs once, as root, on Ubuntu 22.04 when the autograder is uploaded.
# The autograder zip is unpacked at /autograder/source (this script's folder).
set -euo pipefail

SOURCE=/autograder/source
VENV=/autograder/venv

# System Python 3.10 with venv support; the system python3 itself is left untouched.
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv
apt-get clean
rm -rf /var/lib/apt/lists/*

python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --no-cache-dir pip==24.3.1  # pinned, like everything else
"$VENV/bin/python" -m pip install --no-cache-dir -r "$SOURCE/autograder/gradescope/requirements.txt"
# part2's first choice of network: torchvision's squeezenet1_1 ImageNet weights, into root's torch cache, where the
# grader finds them and copies them into the sandbox to classify the students' images again (5.4).
"$VENV/bin/python" -c "import torchvision; torchvision.models.squeezenet1_1(weights='IMAGENET1K_V1')"
# Student code runs inside the sandbox as another user with this same interpreter: it must stay readable.
chmod -R a+rX "$VENV"

# Student code needs no account: every sandboxed run executes as an unprivileged uid of its own (uid = gid, from
# 61000-61998, no passwd entry, so no home, no shell, no groups); see autograder/grading/sandbox.py. Check here,
# once, that such a uid can run the venv's interpreter (the grader checks it again before grading).
setpriv --reuid=61999 --regid=61999 --clear-groups "$VENV/bin/python" -c "import numpy" \
    || { echo "an unprivileged uid cannot run $VENV/bin/python" >&2; exit 1; }

# The source holds the reference solutions: readable by root only. /autograder can be traversed (for the venv)
# but not listed by the sandbox user.
chown -R root:root "$SOURCE"
chmod 700 "$SOURCE"
chmod 711 /autograder

"$VENV/bin/python" -c "import numpy, torch, nbformat, jsonschema, gradescope_utils, psutil; print('autograder venv ready: numpy', numpy.__version__, 'torch', torch.__version__)"
