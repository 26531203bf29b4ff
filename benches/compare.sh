#!/usr/bin/env bash
# classrec against what a user would pick instead, on identical raw frames, in one run:
# FFmpeg 5.1 + libopenh264 (Debian's FFmpeg source, configured minimally with --enable-libopenh264
# against Debian's libopenh264-dev; built once into target/ffmpeg-openh264) and Debian's FFmpeg +
# libx264 ultrafast. For each: CPU ms per frame (user + sys), wall fps, peak RSS, bitrate, and
# SSIM against the source (FFmpeg's ssim filter, in RGB: see benches/ssim.sh), best of ROUNDS.
#
# Usage: bash benches/compare.sh [SECONDS=20] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
SECONDS_OF_VIDEO=${1:-20}
ROUNDS=${2:-3}
SIZE=1920x1080
FPS=15
KBPS=1500
GOP=$((FPS * 2))
WORK=target/compare
FFMPEG_OPENH264=$PWD/target/ffmpeg-openh264/bin/ffmpeg
source benches/ssim.sh
mkdir -p "$WORK"

build_ffmpeg_openh264() {
  [ -x "$FFMPEG_OPENH264" ] && return
  echo "building FFmpeg + libopenh264 from Debian's source (a few minutes, once)" >&2
  apt_install libopenh264-dev nasm pkg-config xz-utils dpkg-dev
  if ! grep -rqs "deb-src\|Types: deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      as_root tee /etc/apt/sources.list.d/classrec-src.sources >/dev/null
    as_root apt-get update -qq
  fi
  local src=$PWD/target/ffmpeg-src
  mkdir -p "$src"
  (cd "$src" && apt-get source --download-only ffmpeg >/dev/null 2>&1)
  rm -rf "$src/build" && mkdir -p "$src/build"
  tar -xf "$src"/ffmpeg_*.orig.tar.xz -C "$src/build" --strip-components=1
  (cd "$src/build" &&
    ./configure --prefix="$PWD/../../ffmpeg-openh264" --disable-everything --disable-doc --disable-debug \
      --disable-ffplay --enable-libopenh264 --enable-encoder=libopenh264 --enable-decoder=h264,rawvideo \
      --enable-demuxer=rawvideo,mov --enable-muxer=mp4,null --enable-protocol=file,pipe \
      --enable-filter=scale,format,null >/dev/null &&
    make -j"$(nproc)" >/dev/null && make install >/dev/null)
}

# run NAME CMD...: runs ROUNDS times under /usr/bin/time; prints "cpu_s wall_s rss_kb" of the fastest.
run() {
  local best=""
  for _ in $(seq "$ROUNDS"); do
    /usr/bin/time -f "%U %S %e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/stderr" || {
      cat "$WORK/stderr" >&2
      return 1
    }
    read -r user sys wall rss <"$WORK/time"
    local cpu
    cpu=$(echo "$user + $sys" | bc)
    if [ -z "$best" ] || [ "$(echo "$cpu < ${best%% *}" | bc)" = 1 ]; then best="$cpu $wall $rss"; fi
  done
  echo "$best"
}

kbps() { # kbps FILE: average bitrate over the nominal duration
  echo "scale=0; $(stat -c %s "$1") * 8 / $SECONDS_OF_VIDEO / 1000" | bc
}

install_test_deps
apt_install bc time
build_ffmpeg_openh264
cargo build --release --quiet --example record --example synth
FRAMES=$((SECONDS_OF_VIDEO * FPS))

printf '| content | encoder | CPU ms/frame | wall fps | peak RSS MiB | kbit/s | SSIM (RGB) |\n|---|---|---|---|---|---|---|\n'
for scene in classroom motion; do
  input=$WORK/$scene.bgra
  target/release/examples/synth --size $SIZE --fps $FPS --seconds "$SECONDS_OF_VIDEO" --scene $scene >"$input"
  declare -A cpu=() rss_of=() bits=()
  for encoder in openh264 x264 classrec classrec-camera; do
    out=$WORK/$scene-$encoder.mp4
    rm -f "$out"
    case $encoder in
      openh264) r=$(run "$FFMPEG_OPENH264" -nostdin -y -f rawvideo -pix_fmt bgra -s $SIZE -r $FPS -i "$input" \
        -threads 1 -c:v libopenh264 -b:v ${KBPS}k -g $GOP -movflags frag_keyframe+empty_moov "$out") ;;
      x264) r=$(run ffmpeg -nostdin -y -f rawvideo -pix_fmt bgra -s $SIZE -r $FPS -i "$input" \
        -threads 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -b:v ${KBPS}k -g $GOP \
        -movflags frag_keyframe+empty_moov "$out") ;;
      classrec | classrec-camera)
        rm -rf "$WORK/rec"
        content=screen
        [ $encoder = classrec-camera ] && content=camera
        r=$(run target/release/examples/record --source "raw:$input" --input-size $SIZE --size $SIZE --fps $FPS \
          --bitrate-kbps $KBPS --content $content --out-dir "$WORK/rec")
        mv "$(ls -t "$WORK"/rec/*.mp4 | head -1)" "$out" ;; # every round writes one; keep the last
    esac
    read -r c wall rss <<<"$r"
    cpu[$encoder]=$c rss_of[$encoder]=$rss bits[$encoder]=$(kbps "$out")
    printf '| %s | %s | %.2f | %.0f | %.0f | %s | %s |\n' "$scene" "$encoder" \
      "$(echo "$c * 1000 / $FRAMES" | bc -l)" "$(echo "$FRAMES / $wall" | bc -l)" "$(echo "$rss / 1024" | bc -l)" \
      "${bits[$encoder]}" "$(ssim_rgb "$input" "$out")"
  done
  for ours in classrec classrec-camera; do
    printf '| %s | %s / openh264 | %.2fx | | %.2fx | %.2fx | |\n' "$scene" $ours \
      "$(echo "${cpu[$ours]} / ${cpu[openh264]}" | bc -l)" "$(echo "${rss_of[$ours]} / ${rss_of[openh264]}" | bc -l)" \
      "$(echo "${bits[$ours]} / ${bits[openh264]}" | bc -l)"
  done
  rm -f "$input"
done
