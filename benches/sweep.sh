#!/usr/bin/env bash
# OpenH264 settings side by side on the synthetic scenes at 1080p15: encode ms per frame, kbit/s,
# and SSIM against the source in RGB (each stream decoded with its own colour tags). This is how
# the encoder defaults in src/encode/h264.rs were chosen.
#
# Usage: bash benches/sweep.sh [SECONDS=20] [SPEC...]   (SPEC: see examples/encoder_sweep.rs)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
SECONDS_OF_VIDEO=${1:-20}
shift || true
SPECS=("$@")
[ ${#SPECS[@]} -gt 0 ] || SPECS=(screen,medium,30,1500,0-51 screen,low,30,1500,18-40 screen,low,150,1500,18-40
  camera,low,30,1500,12-42 camera,low,150,1500,12-42 camera,low,150,1500,18-40)
SIZE=1920x1080
FPS=15
source benches/ssim.sh
install_test_deps
cargo build --release --quiet --features bench --example encoder_sweep --example synth
mkdir -p target/sweep
printf '| content | usage,complexity,keyframe frames,kbit/s,QP | encode ms/frame | kbit/s | SSIM (RGB) |\n|---|---|---|---|---|\n'
for scene in classroom motion; do
  input=target/sweep/$scene.bgra
  target/release/examples/synth --size $SIZE --fps $FPS --seconds "$SECONDS_OF_VIDEO" --scene $scene >"$input"
  # Encode everything first: an SSIM run beside the encoder would take its core.
  target/release/examples/encoder_sweep "$input" $SIZE $FPS "${SPECS[@]}" 2>/dev/null >target/sweep/results
  while read -r name ms kbps _cpu_per_minute _frames stream; do
    printf '| %s | %s | %s | %s | %s |\n' "$scene" "${name//_/,}" "$ms" "$kbps" "$(ssim_rgb "$input" "$stream" -f h264 -r $FPS)"
  done <target/sweep/results
  rm -f "$input"
done
