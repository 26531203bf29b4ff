#!/usr/bin/env bash
# Fuzzes classrec's parsers with libFuzzer (cargo-fuzz), each target for a bounded time:
#   config      the configuration JSON, read and checked as classrec_recorder_start does
#   recover     crash recovery on any bytes (seeds: real recordings, fragmented, torn, finalized)
#   journal     the upload journal parser
#   push_frame  pushed frames: any width, height, stride and timestamp against any buffer length
# Invariant: no panic, no hang (-timeout), no out-of-bounds access (AddressSanitizer).
# cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP=1 lets the stable compiler take them. Not part
# of scripts/test.sh. The committed seeds are in fuzz/corpus/<target>; what a run finds goes to
# target/fuzz-corpus/<target>, crashes to fuzz/artifacts/<target> (make each a regression test).
# Usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET (60)] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config recover journal push_frame)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
status=0
for target in "${targets[@]}"; do
  work="target/fuzz-corpus/$target"
  mkdir -p "$work" "fuzz/corpus/$target"
  log="target/fuzz-$target.log"
  if cargo fuzz run --fuzz-dir fuzz "$target" "$work" "fuzz/corpus/$target" -- \
      -max_total_time="$budget" -timeout=10 -rss_limit_mb=4096 >"$log" 2>&1; then
    echo "$target: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1), no crash"
  else
    echo "$target: FAILED, see $log and fuzz/artifacts/$target" >&2
    tail -30 "$log" >&2
    status=1
  fi
done
exit $status
