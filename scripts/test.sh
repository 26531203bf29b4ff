#!/usr/bin/env bash
# Runs every check and test, installing what they need first (apt packages, cbindgen).
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step prints when it starts (seconds since the script started), so a slow step shows.
# It also prints the disk left, as a full disk is the likeliest way for a cold run to fail.
step() { echo "== [${SECONDS}s] $* (disk free: $(df -h --output=avail . | tail -1 | tr -d ' '))" >&2; }
# Incremental caches speed up edit-compile cycles, not this script, and cost gigabytes of disk.
export CARGO_INCREMENTAL=0
source scripts/deps.sh
# A cold run (fresh clone) writes about 11 GB into target/ (measured at 62eecde: 24 GB free before,
# 13 GB after). Warn early rather than fail half an hour in.
free_kb=$(df -k --output=avail . | tail -1)
if [ "$free_kb" -lt $((12 * 1024 * 1024)) ]; then
  echo "warning: $((free_kb / 1024 / 1024)) GB free here; a cold run needs about 11 GB in target/" >&2
fi
step "installing what the tests need"
install_test_deps
install_s3_server
# The tests stop their S3 servers themselves; this catches any left by an interrupted run.
trap 'pkill -9 -f "$CLASSREC_WEED mini" 2>/dev/null || true' EXIT

step "layering: no import cycle, imports go down the layers, no file over 450 lines"
python3 scripts/check-layers.py

step "format and lints"
cargo fmt --check
cargo clippy --all-targets --all-features -- -D warnings

step "C header is up to date"
cbindgen --quiet --config cbindgen.toml --crate classrec --output target/classrec.h
diff -u include/classrec.h target/classrec.h || {
  echo "include/classrec.h is stale: run 'cbindgen --config cbindgen.toml --crate classrec --output include/classrec.h'" >&2
  exit 1
}

step "Windows build type-checks (window capture)"
bash scripts/check-windows.sh

step "the crate is publishable: cargo package, and cargo doc without a warning"
cargo package --quiet --allow-dirty
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --all-features

MSRV=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
step "the library builds with its minimum Rust, $MSRV (Cargo.toml's rust-version)"
rustup toolchain install "$MSRV" --profile minimal >/dev/null 2>&1
cargo "+$MSRV" check --quiet --lib --all-features --target-dir target/msrv

step "the C library as installed by cargo-c, used from pkg-config and CMake"
bash scripts/test-package.sh

step "Windows build (mingw-w64) runs under Wine"
bash scripts/test-windows.sh

step "tests (unit, integration against ffmpeg, benches once, doc examples)"
cargo test --all-targets --all-features
cargo test --doc --all-features
step "done"
