#!/usr/bin/env bash
# Builds and starts the app; it writes the synthetic demo corpus (first time only), opens it and
# trains the demo preset, with live curves. Pass `--no-demo` to just open the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-system.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ser-target}"
if [ "${1:-}" = "--no-demo" ]; then
  exec cargo run --locked -- gui
fi
exec cargo run --locked -- gui --demo
