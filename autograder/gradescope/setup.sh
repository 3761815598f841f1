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
"$VENV/bin/python" -m pip install --no-cache-dir --upgrade pip
"$VENV/bin/python" -m pip install --no-cache-dir -r "$SOURCE/autograder/gradescope/requirements.txt"
# Student code runs inside the sandbox as another user with this same interpreter: it must stay readable.
chmod -R a+rX "$VENV"

# The unprivileged user that runs student code: no login shell, no home directory.
if ! id -u student >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin student
fi

# The source holds the reference solutions: readable by root only. /autograder can be traversed (for the venv)
# but not listed by the sandbox user.
chown -R root:root "$SOURCE"
chmod 700 "$SOURCE"
chmod 711 /autograder

"$VENV/bin/python" -c "import numpy, torch, nbformat, jsonschema, gradescope_utils, psutil; print('autograder venv ready: numpy', numpy.__version__, 'torch', torch.__version__)"
