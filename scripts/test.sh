#!/usr/bin/env bash
# Runs every check and test, installing what they need first (apt packages, cbindgen).
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_test_deps
install_s3_server
# The tests stop their S3 servers themselves; this catches any left by an interrupted run.
trap 'pkill -9 -f "$CLASSREC_WEED mini" 2>/dev/null || true' EXIT

echo "== layering: no import cycle, imports go down the layers, no file over 450 lines" >&2
python3 scripts/check-layers.py

echo "== format and lints" >&2
cargo fmt --check
cargo clippy --all-targets --all-features -- -D warnings

echo "== C header is up to date" >&2
cbindgen --quiet --config cbindgen.toml --crate classrec --output target/classrec.h
diff -u include/classrec.h target/classrec.h || {
  echo "include/classrec.h is stale: run 'cbindgen --config cbindgen.toml --crate classrec --output include/classrec.h'" >&2
  exit 1
}

echo "== Windows build type-checks (window capture)" >&2
bash scripts/check-windows.sh

echo "== tests (unit, integration against ffmpeg, benches once, doc examples)" >&2
cargo test --all-targets --all-features
cargo test --doc --all-features
