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
# A one-node Slurm cluster for the Slurm executor's test (tests/slurm.rs), stopped at the end
# when this script started it. SER_WORKBENCH_SKIP_SLURM=1 skips both.
if [ -z "${SER_WORKBENCH_SKIP_SLURM:-}" ] && ! pgrep -x slurmctld > /dev/null; then
  trap 'bash tools/slurm-local.sh stop' EXIT
  if ! bash tools/slurm-local.sh start; then
    echo "WARNING: the local Slurm cluster did not start; the Slurm executor tests are SKIPPED" >&2
    export SER_WORKBENCH_SKIP_SLURM=1
  fi
fi
cargo test --locked --workspace --all-targets
