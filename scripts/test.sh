#!/usr/bin/env bash
# The test command: installs whatever the suite needs beyond cargo (the SigMF validator,
# promtool, Chromium, the ONNX Runtime library), then runs every test in the workspace.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Each capability adds its set-up here, installing only what is missing, so no test
# silently skips.

# The SigMF reference validator (`sigmf_validate`, PyPI package `sigmf`): the actors crate's
# SigMF tests run it on what we write. pip puts it in the interpreter's scripts directory
# (or the user base's bin for a --user install); both go on PATH.
while IFS= read -r dir; do PATH="$dir:$PATH"; done < <(python3 -c \
    'import site, sysconfig; print(sysconfig.get_path("scripts")); print(site.getuserbase() + "/bin")')
export PATH
if ! command -v sigmf_validate >/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'sigmf==1.14.0'
    hash -r
    if command -v pyenv >/dev/null; then pyenv rehash; fi
fi
command -v sigmf_validate >/dev/null || { echo "sigmf_validate missing after installing sigmf" >&2; exit 1; }

# promtool (Debian package `prometheus`): the /metrics test checks the exposition with it.
apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
        || { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}
if ! command -v promtool >/dev/null; then
    apt_install prometheus
fi
command -v promtool >/dev/null || { echo "promtool missing after installing prometheus" >&2; exit 1; }

# Headless Chromium and its WebDriver (Debian `chromium`, `chromium-driver`): the dashboard's
# end-to-end test drives a real browser with them.
if ! command -v chromedriver >/dev/null || [ ! -x /usr/bin/chromium ]; then
    apt_install chromium chromium-driver
fi
command -v chromedriver >/dev/null || { echo "chromedriver missing after installing chromium-driver" >&2; exit 1; }

# Real ONNX Runtime for the classifier's second backend: the `onnxruntime` PyPI wheel's
# shared library (only libc/libstdc++ needed), unpacked under target/; tests/classify_onnxruntime.rs
# loads it at run time through ONNXRUNTIME_TEST_LIB.
ORT_VERSION=1.31.1
ORT_DIR="$PWD/target/onnxruntime-$ORT_VERSION"
ORT_LIB="$ORT_DIR/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION"
if [ ! -f "$ORT_LIB" ]; then
    rm -rf "$ORT_DIR" && mkdir -p "$ORT_DIR"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        "onnxruntime==$ORT_VERSION" -d "$ORT_DIR/wheel"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
        "$(ls "$ORT_DIR"/wheel/onnxruntime-*.whl | head -1)" "$ORT_DIR"
fi
[ -f "$ORT_LIB" ] || { echo "libonnxruntime missing after fetching the onnxruntime wheel" >&2; exit 1; }
export ONNXRUNTIME_TEST_LIB="$ORT_LIB"

cargo test --workspace --locked
