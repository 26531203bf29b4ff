# shellcheck shell=bash
# Bitrate at equal quality: for each encoder, the fewest bits that reach one RGB SSIM, and
# classrec's bits over FFmpeg + libopenh264's. Sourced by benches/compare.sh, which defines SIZE,
# FPS, GOP, WORK, SECONDS_OF_VIDEO, FFMPEG_OPENH264 and ssim_rgb (benches/ssim.sh).
#
# Method: each encoder's target bitrate is bisected on a log scale between EQUAL_SSIM_KBPS_LOW and
# EQUAL_SSIM_KBPS_HIGH in EQUAL_SSIM_STEPS encodes (100..6400 in 7: the last step is 3% wide). An
# encode that reaches the goal lowers the upper bound; one that misses raises the lower bound.
# What counts is the file's actual bitrate (size x 8 / duration): encoders overshoot or undershoot
# their target. SSIM is not strictly monotonic in the target (rate control, keyframes, QP limits),
# so the answer is not the last bound: of all encodes tried, the one with the fewest actual bits
# that reached the goal is reported, and the bitrate exactly at the goal is interpolated (log
# bitrate linear in SSIM) between it and the largest encode below it that missed. The ratio uses
# the interpolated bitrates, so the encoders are compared at the same SSIM.

EQUAL_SSIM_STEPS=${EQUAL_SSIM_STEPS:-7}
EQUAL_SSIM_KBPS_LOW=${EQUAL_SSIM_KBPS_LOW:-100}
EQUAL_SSIM_KBPS_HIGH=${EQUAL_SSIM_KBPS_HIGH:-6400}
# The classroom's goal. Every encoder gets there with room to spare and on the steep part of its
# curve: the OpenH264 encoders stop improving at ~0.9916, whatever the bitrate (their lowest QP:
# 18 in classrec, 12 in FFmpeg's wrapper), and 4:2:0 itself caps RGB SSIM at 0.9927 (x264
# lossless); near those ceilings a little SSIM costs many bits, and the ratio would measure that.
# shellcheck disable=SC2034 # used by compare.sh
EQUAL_SSIM_CLASSROOM=0.9900

# encode_at ENCODER INPUT KBPS OUT: one encode as compare.sh runs it; writes the CPU seconds
# (user + sys) to $WORK/time. ENCODER: openh264 (optionally followed by libopenh264 options, e.g.
# "openh264 -coder cabac -loopfilter 0"), x264, classrec followed by `record` options (e.g.
# "classrec --content screen"), or sweep followed by an examples/encoder_sweep setting without its
# bitrate (e.g. "sweep camera,low,150,18-40,bg"; the stream is put in an MP4).
encode_at() {
  local encoder=$1 input=$2 kbps=$3 out=$4 ffmpeg=$FFMPEG_OPENH264 codec=(-c:v libopenh264) options
  case $encoder in
    openh264* | x264)
      read -ra options <<<"${encoder#openh264}"
      [ "$encoder" = x264 ] && ffmpeg=ffmpeg codec=(-c:v libx264 -preset ultrafast -pix_fmt yuv420p) options=()
      /usr/bin/time -f "%U %S" -o "$WORK/time" "$ffmpeg" -nostdin -y -f rawvideo -pix_fmt bgra -s "$SIZE" -r "$FPS" \
        -i "$input" -threads 1 "${codec[@]}" "${options[@]}" -b:v "${kbps}k" -g "$GOP" \
        -movflags frag_keyframe+empty_moov "$out" >/dev/null 2>"$WORK/stderr" ;;
    classrec*)
      read -ra options <<<"${encoder#classrec}"
      rm -rf "$WORK/equal-ssim-rec"
      /usr/bin/time -f "%U %S" -o "$WORK/time" target/release/examples/record --source "raw:$input" \
        --input-size "$SIZE" --size "$SIZE" --fps "$FPS" --out-dir "$WORK/equal-ssim-rec" --bitrate-kbps "$kbps" \
        "${options[@]}" >/dev/null 2>"$WORK/stderr" &&
        mv "$WORK"/equal-ssim-rec/*.mp4 "$out" ;;
    sweep\ *)
      local usage complexity keyframes rest spec
      IFS=, read -r usage complexity keyframes rest <<<"${encoder#sweep }"
      spec=$usage,$complexity,$keyframes,$kbps,$rest
      /usr/bin/time -f "%U %S" -o "$WORK/time" target/release/examples/encoder_sweep "$input" "$SIZE" "$FPS" \
        "$spec" >/dev/null 2>"$WORK/stderr" &&
        ffmpeg -nostdin -y -v error -f h264 -framerate "$FPS" -i "target/sweep/${spec//,/_}.h264" -c copy "$out" ;;
    *) echo "unknown encoder \`$encoder\`" >&2 && return 1 ;;
  esac || {
    cat "$WORK/stderr" >&2
    return 1
  }
}

# bisect_kbps ENCODER INPUT GOAL: bisects as described above; prints "target_kbps kbps ssim cpu_s
# kbps_at_goal" for the cheapest encode that reached GOAL, or nothing if none did.
bisect_kbps() {
  local encoder=$1 input=$2 goal=$3 low=$EQUAL_SSIM_KBPS_LOW high=$EQUAL_SSIM_KBPS_HIGH
  local out=$WORK/equal-ssim.mp4 points=$WORK/equal-ssim-points target ssim
  : >"$points"
  for _ in $(seq "$EQUAL_SSIM_STEPS"); do
    target=$(echo "sqrt($low * $high)" | bc)
    encode_at "$encoder" "$input" "$target" "$out" || return 1
    ssim=$(ssim_rgb "$input" "$out")
    echo "$target $(stat -c %s "$out") $ssim $(tr ' ' + <"$WORK/time" | bc)" >>"$points"
    if [ "$(echo "$ssim >= $goal" | bc)" = 1 ]; then high=$target; else low=$target; fi
  done
  # Columns: target kbit/s, bytes, SSIM, CPU s. Sorted by bytes, the cheapest pass is the first
  # line reaching the goal, and the miss to interpolate from the last line before it.
  sort -n -k2 "$points" | awk -v goal="$goal" -v seconds="$SECONDS_OF_VIDEO" '
    $3 >= goal { kbps = $2 * 8 / seconds / 1000; at_goal = kbps
      if (miss_kbps)
        at_goal = miss_kbps * exp(log(kbps / miss_kbps) * (goal - miss_ssim) / ($3 - miss_ssim))
      printf "%d %.1f %s %s %.1f\n", $1, kbps, $3, $4, at_goal; exit }
    { miss_kbps = $2 * 8 / seconds / 1000; miss_ssim = $3 }'
}

# equal_ssim SCENE GOAL [ENCODER...]: a markdown table of each encoder (default: FFmpeg +
# libopenh264, FFmpeg + libx264 ultrafast, classrec) at SSIM (RGB) GOAL on the synthetic SCENE,
# with each one's bitrate at the goal over FFmpeg + libopenh264's.
equal_ssim() {
  local scene=$1 goal=${2:?usage: equal_ssim SCENE GOAL [ENCODER...]} input=$WORK/equal-ssim.bgra frames=$((SECONDS_OF_VIDEO * FPS)) reference=""
  local encoder found target kbps ssim cpu at_goal
  shift 2
  [ $# -gt 0 ] || set -- openh264 x264 classrec
  target/release/examples/synth --size "$SIZE" --fps "$FPS" --seconds "$SECONDS_OF_VIDEO" --scene "$scene" >"$input"
  printf '\n| content | encoder at equal SSIM (RGB) %s | target kbit/s | kbit/s | SSIM (RGB) | CPU ms/frame | kbit/s at %s | / openh264 |\n' "$goal" "$goal"
  printf '|---|---|---|---|---|---|---|---|\n'
  for encoder in "$@"; do
    found=$(bisect_kbps "$encoder" "$input" "$goal") || return 1
    if [ -z "$found" ]; then
      printf '| %s | %s | not reached below %s kbit/s | | | | | |\n' "$scene" "$encoder" "$EQUAL_SSIM_KBPS_HIGH"
      continue
    fi
    read -r target kbps ssim cpu at_goal <<<"$found"
    [ "$encoder" = openh264 ] && reference=$at_goal
    printf '| %s | %s | %s | %s | %s | %.2f | %s | %s |\n' "$scene" "$encoder" "$target" "$kbps" "$ssim" \
      "$(echo "$cpu * 1000 / $frames" | bc -l)" "$at_goal" \
      "$([ -n "$reference" ] && printf '%.2fx' "$(echo "$at_goal / $reference" | bc -l)")"
  done
  rm -f "$input"
}

# Alone, to compare settings on the curve (the openh264 encoder needs compare.sh's FFmpeg build):
#   bash benches/equal_ssim.sh [SECONDS=20] [GOAL=0.9900] [ENCODER...]
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  SECONDS_OF_VIDEO=${1:-20}
  goal=${2:-$EQUAL_SSIM_CLASSROOM}
  shift 2 || shift $#
  SIZE=1920x1080 FPS=15 GOP=30 WORK=target/equal-ssim FFMPEG_OPENH264=$PWD/target/ffmpeg-openh264/bin/ffmpeg
  source benches/ssim.sh
  mkdir -p "$WORK"
  # One build: the lib with and without `bench` would rebuild each other's.
  cargo build --release --quiet --features bench --example record --example synth --example encoder_sweep
  equal_ssim classroom "$goal" "$@"
fi
