#!/usr/bin/env bash
# Download CIFAR-10 (python version) into ./cifar-10-batches-py. Run from the neuralnet/ folder:
#     ./download_cifar.sh        (or: bash download_cifar.sh)
# The work (download, md5 check, unpacking) is done by the kit folder's download_cifar.sh.
set -euo pipefail
exec bash "$(dirname "$0")/../download_cifar.sh" "$PWD"
