#!/usr/bin/env bash
# The test command: installs whatever the suite needs beyond cargo (the SigMF validator),
# then runs every test in the workspace. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Later capabilities add their set-up here (Chromium, promtool, ONNX Runtime), installing
# only what is missing, so no test silently skips.

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

cargo test --workspace --locked
