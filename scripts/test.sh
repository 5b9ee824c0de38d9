#!/usr/bin/env bash
# The test command: installs whatever the suite needs beyond cargo (nothing yet), then runs
# every test in the workspace. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Later capabilities add their set-up here (Chromium, the SigMF validator, promtool,
# ONNX Runtime), installing only what is missing, so no test silently skips.

cargo test --workspace --all-targets --locked
