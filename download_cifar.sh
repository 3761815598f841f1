#!/usr/bin/env bash
# Download CIFAR-10 (python version) into FOLDER/cifar-10-batches-py (default FOLDER: the kit folder, where this
# script is; the notebooks look there, or in the folder named by CIFAR10_DIR):
#     ./download_cifar.sh [FOLDER]        (or: bash download_cifar.sh [FOLDER])
# Needs curl or wget, and tar. The archive's md5 is checked before it is unpacked.
set -euo pipefail
cd "${1:-$(dirname "$0")}"

URL="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE="cifar-10-python.tar.gz"
MD5="c58f30108f718f92721af3b95e74349a"

fail() {
    echo "download_cifar.sh: $*" >&2
    exit 1
}

BATCHES="data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch"
missing=""
for batch in $BATCHES; do
    [ -f "cifar-10-batches-py/$batch" ] || missing="$missing $batch"
done
if [ -z "$missing" ]; then
    echo "cifar-10-batches-py/ already exists (all six batch files); delete the folder to download again" \
         "(e.g. when a batch file is reported corrupt)."
    exit 0
fi
if [ -d cifar-10-batches-py ]; then
    echo "cifar-10-batches-py/ is incomplete (missing:$missing): downloading it again."
fi

if [ ! -f "$ARCHIVE" ]; then
    echo "Downloading $URL (about 163 MB) ..."
    if command -v curl >/dev/null 2>&1; then
        curl -fL --retry 3 -o "$ARCHIVE.part" "$URL" || { rm -f "$ARCHIVE.part"; fail "download with curl failed (check your internet connection, or download $URL by hand into $(pwd) and run this script again)"; }
    elif command -v wget >/dev/null 2>&1; then
        wget -O "$ARCHIVE.part" "$URL" || { rm -f "$ARCHIVE.part"; fail "download with wget failed (check your internet connection, or download $URL by hand into $(pwd) and run this script again)"; }
    else
        fail "neither curl nor wget is installed; install one, or download $URL by hand into $(pwd)"
    fi
    mv "$ARCHIVE.part" "$ARCHIVE"
fi

if command -v md5sum >/dev/null 2>&1; then
    actual=$(md5sum "$ARCHIVE" | cut -d' ' -f1)
elif command -v md5 >/dev/null 2>&1; then
    actual=$(md5 -q "$ARCHIVE")  # macOS
else
    fail "neither md5sum nor md5 is available to check the download"
fi
if [ "$actual" != "$MD5" ]; then
    rm -f "$ARCHIVE"
    fail "$ARCHIVE has md5 $actual, expected $MD5: the download is corrupt or incomplete (deleted it; run this script again)"
fi

echo "Unpacking ..."
tar -xzf "$ARCHIVE" || fail "could not unpack $ARCHIVE (delete it and run this script again)"
rm -f "$ARCHIVE"
for batch in $BATCHES; do
    [ -f "cifar-10-batches-py/$batch" ] || fail "cifar-10-batches-py/$batch is missing after unpacking"
done
echo "Done: CIFAR-10 is in $(pwd)/cifar-10-batches-py"
