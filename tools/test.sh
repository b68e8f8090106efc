#!/usr/bin/env bash
# Runs the whole test suite on the CPU (installs system packages first when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-system.sh
# One shared build folder outside the clone, so repeated runs (and CI on the same machine) reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ser-target}"
export SER_WORKBENCH_BACKEND=cpu
# The wgpu parity tests run on a software adapter (lavapipe) where it exists: minimal kernel
# autotuning halves their time and does not change results.
export CUBECL_AUTOTUNE_LEVEL="${CUBECL_AUTOTUNE_LEVEL:-minimal}"
cargo test --locked --workspace --all-targets
