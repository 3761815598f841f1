#!/usr/bin/env bash
# Download CIFAR-10 for Section 1 into neuralnet/cifar-10-batches-py (run from anywhere).
# The work is done by neuralnet/download_cifar.sh (the handout's own script, which you may also run from neuralnet/).
set -euo pipefail
cd "$(dirname "$0")/neuralnet"
exec bash download_cifar.sh "$@"
