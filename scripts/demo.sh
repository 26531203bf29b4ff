#!/usr/bin/env bash
# The main job: record 10 s of the synthetic classroom (picture and sound) and print where the file is.
# Usage: bash scripts/demo.sh [more record flags, e.g. --size 1920x1080 --out-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_build_deps
cargo build --quiet --release --example record
./target/release/examples/record --source synthetic --audio synthetic --seconds 10 "$@"
