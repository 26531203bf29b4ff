#!/usr/bin/env bash
# The per-stage before/after table of issue 17: the `stages` bench's scenarios measured on the code
# before pictures were made where the pixels lie (40b81bb, by benches/before/stages_40b81bb.rs,
# written against that commit's API), then main's `stages` bench, on the same machine in one run.
# Usage: bash benches/before/run.sh [CRITERION FILTER]   (prints both reports' times)
set -euo pipefail
cd "$(dirname "$0")/../.."
old=target/before-40b81bb
[ -d "$old" ] || git worktree add --detach "$old" 40b81bb >/dev/null
# The dependencies are the same: start from this tree's release build (hard links, no copy).
[ -d "$old/target/release" ] || { mkdir -p "$old/target" && cp -al target/release "$old/target/release" 2>/dev/null || true; }
cp benches/before/stages_40b81bb.rs "$old/benches/stages_compat.rs"
grep -q stages_compat "$old/Cargo.toml" ||
  printf '\n[[bench]]\nname = "stages_compat"\nharness = false\nrequired-features = ["bench"]\n' >>"$old/Cargo.toml"
times() { awk '/^Benchmarking .*: Analyzing/ { sub(/^Benchmarking /, ""); sub(/: Analyzing.*/, ""); name = $0 }
               /time:/ && !/%/ { print name, $(NF-3), $(NF-2) }'; }
echo "== before (40b81bb)"
(cd "$old" && cargo bench -q --features bench --bench stages_compat -- --noplot "$@" 2>&1 | times)
(cd "$old" && cargo bench -q --features bench --bench stages -- --noplot mux 2>&1 | times)
echo "== after (main)"
cargo bench -q --features bench --bench stages -- --noplot "$@" 2>&1 | times
