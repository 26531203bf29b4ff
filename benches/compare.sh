#!/usr/bin/env bash
# classrec against what a user would pick instead, on identical raw frames, in one run:
# FFmpeg 5.1 + libopenh264 (Debian's FFmpeg source, configured minimally with --enable-libopenh264
# against Debian's libopenh264-dev; built once into target/ffmpeg-openh264) and Debian's FFmpeg +
# libx264 ultrafast. For each: CPU ms per frame (user + sys), wall fps, peak RSS, bitrate, and
# SSIM against the source (FFmpeg's ssim filter, in RGB: see benches/ssim.sh), best of ROUNDS.
# classrec runs with its defaults (camera tuning), with screen tuning, and uploading to a local
# SeaweedFS while recording (peak RSS with upload). Last, a still 1080p slide in a real X11 window
# (Xvfb), recorded for a minute: CPU seconds per recorded minute; and a 2-minute lecture in a real
# X11 window recorded by classrec and by FFmpeg's x11grab (benches/lecture.sh).
#
# Usage: bash benches/compare.sh [SECONDS=20] [ROUNDS=3]
#        bash benches/compare.sh lecture       (the lecture alone; LECTURE_SECONDS=30 for a short run)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ONLY_LECTURE=false
[ "${1:-}" = lecture ] && ONLY_LECTURE=true && shift
SECONDS_OF_VIDEO=${1:-20}
ROUNDS=${2:-3}
SIZE=1920x1080
FPS=15
KBPS=1500
GOP=$((FPS * 2))
WORK=target/compare
FFMPEG_PREFIX=$PWD/target/ffmpeg-openh264
FFMPEG_OPENH264=$FFMPEG_PREFIX/bin/ffmpeg
source benches/ssim.sh
source benches/lecture.sh
source benches/equal_ssim.sh
mkdir -p "$WORK"

# build_ffmpeg_openh264: once, and again when an older build lacks x11grab (the lecture needs it).
build_ffmpeg_openh264() {
  "$FFMPEG_OPENH264" -hide_banner -devices 2>/dev/null | grep -q x11grab && return
  echo "building FFmpeg + libopenh264 (+ x11grab) from Debian's source (a few minutes, once)" >&2
  apt_install libopenh264-dev nasm pkg-config xz-utils dpkg-dev \
    libxcb1-dev libxcb-shm0-dev libxcb-xfixes0-dev libxcb-shape0-dev
  if ! grep -rqs "deb-src\|Types: deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      as_root tee /etc/apt/sources.list.d/classrec-src.sources >/dev/null
    as_root apt-get update -qq
  fi
  local src=$PWD/target/ffmpeg-src
  mkdir -p "$src"
  (cd "$src" && apt-get source --download-only ffmpeg >/dev/null 2>&1)
  # A fresh prefix: `make install` would otherwise write through hard links into a copied target/.
  rm -rf "$src/build" "$FFMPEG_PREFIX" && mkdir -p "$src/build"
  tar -xf "$src"/ffmpeg_*.orig.tar.xz -C "$src/build" --strip-components=1
  (cd "$src/build" &&
    ./configure --prefix="$FFMPEG_PREFIX" --disable-everything --disable-doc --disable-debug \
      --disable-ffplay --enable-libopenh264 --enable-encoder=libopenh264 --enable-decoder=h264,rawvideo \
      --enable-demuxer=rawvideo,mov --enable-muxer=mp4,null --enable-protocol=file,pipe \
      --enable-libxcb --enable-indev=xcbgrab \
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

# start_s3: SeaweedFS on 127.0.0.1 with one bucket, for the "classrec + upload" row.
start_s3() {
  install_s3_server
  local dir=$PWD/$WORK/s3 port=${COMPARE_S3_PORT:-18333}
  rm -rf "$dir" && mkdir -p "$dir/data"
  export AWS_ACCESS_KEY_ID=compare AWS_SECRET_ACCESS_KEY=compare-secret
  printf '{"identities":[{"name":"compare","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List"]}]}' \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$dir/ids.json"
  "$CLASSREC_WEED" mini -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port=$port \
    -volume.port=$((port + 1)) -filer.port=$((port + 2)) -s3.port=$((port + 3)) -admin.port=$((port + 4)) \
    -s3.port.iceberg=$((port + 5)) -s3.port.lance=$((port + 6)) -metricsPort=$((port + 7)) -webdav=false \
    -admin.ui=false -s3.config="$dir/ids.json" -bucket=compare -s3.autoCreateBucket=false >"$dir/weed.log" 2>&1 &
  S3_PID=$!
  S3_ENDPOINT=http://127.0.0.1:$((port + 3))
  trap 'kill -9 $S3_PID 2>/dev/null' EXIT
  for _ in $(seq 120); do
    curl -s -o /dev/null "$S3_ENDPOINT" && sleep 2 && return
    sleep 0.5
  done
  echo "SeaweedFS did not start; see $dir/weed.log" >&2
  return 1
}

# still_slide: a real X client showing a still 1920x1080 slide in Xvfb, recorded for 60 s through
# X11 capture; prints CPU seconds per recorded minute of the recorder and of the X server.
still_slide() {
  local display=:$((90 + RANDOM % 9)) xvfb window cpu x0 x1
  Xvfb "$display" -screen 0 ${SIZE}x24 +extension Composite -nolisten tcp >/dev/null 2>&1 &
  xvfb=$!
  sleep 1
  DISPLAY=$display target/release/examples/x11_window --title "Still slide" --size $SIZE --paint bars >/dev/null &
  window=$!
  sleep 1
  x0=$(awk '{print $14 + $15}' /proc/$xvfb/stat)
  DISPLAY=$display /usr/bin/time -f "%U %S %M" -o "$WORK/time" target/release/examples/record \
    --source "window:Still slide" --size $SIZE --fps $FPS --bitrate-kbps $KBPS --seconds 60 --out-dir "$WORK/still" \
    >"$WORK/still.json" 2>"$WORK/stderr"
  x1=$(awk '{print $14 + $15}' /proc/$xvfb/stat)
  kill $window $xvfb
  read -r user sys rss <"$WORK/time"
  printf '| still slide, X11 window | classrec | %.2f CPU s per recorded minute (X server: %.2f) | peak RSS %.0f MiB | %s |\n' \
    "$(echo "$user + $sys" | bc)" "$(echo "($x1 - $x0) / $(getconf CLK_TCK)" | bc -l)" "$(echo "$rss / 1024" | bc -l)" \
    "$(grep -o '"frames_encoded":[0-9]*,"frames_in":[0-9]*' "$WORK/still.json")"
}

install_test_deps
apt_install bc time curl
build_ffmpeg_openh264
cargo build --release --quiet --features bench --example record --example synth --example x11_window --example encoder_sweep
if $ONLY_LECTURE; then
  lecture
  exit
fi
start_s3
FRAMES=$((SECONDS_OF_VIDEO * FPS))

printf '| content | encoder | CPU ms/frame | wall fps | peak RSS MiB | kbit/s | SSIM (RGB) |\n|---|---|---|---|---|---|---|\n'
for scene in classroom motion; do
  input=$WORK/$scene.bgra
  target/release/examples/synth --size $SIZE --fps $FPS --seconds "$SECONDS_OF_VIDEO" --scene $scene >"$input"
  declare -A cpu=() rss_of=() bits=()
  for encoder in openh264 x264 classrec classrec-screen classrec-upload; do
    out=$WORK/$scene-$encoder.mp4
    rm -f "$out"
    case $encoder in
      openh264) r=$(run "$FFMPEG_OPENH264" -nostdin -y -f rawvideo -pix_fmt bgra -s $SIZE -r $FPS -i "$input" \
        -threads 1 -c:v libopenh264 -b:v ${KBPS}k -g $GOP -movflags frag_keyframe+empty_moov "$out") ;;
      x264) r=$(run ffmpeg -nostdin -y -f rawvideo -pix_fmt bgra -s $SIZE -r $FPS -i "$input" \
        -threads 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -b:v ${KBPS}k -g $GOP \
        -movflags frag_keyframe+empty_moov "$out") ;;
      classrec*)
        rm -rf "$WORK/rec"
        options=()
        [ $encoder = classrec-screen ] && options=(--content screen)
        # Uploading at 6 Mbit/s: 15 MB in 20 s, so parts go up while recording (a part is >= 5 MiB).
        [ $encoder = classrec-upload ] &&
          options=(--bitrate-kbps 6000 --upload "s3://compare/$scene" --endpoint "$S3_ENDPOINT")
        r=$(run target/release/examples/record --source "raw:$input" --input-size $SIZE --size $SIZE --fps $FPS \
          --out-dir "$WORK/rec" --bitrate-kbps $KBPS "${options[@]}")
        mv "$(ls -t "$WORK"/rec/*.mp4 | head -1)" "$out" ;; # every round writes one; keep the last
    esac
    read -r c wall rss <<<"$r"
    cpu[$encoder]=$c rss_of[$encoder]=$rss bits[$encoder]=$(kbps "$out")
    printf '| %s | %s | %.2f | %.0f | %.0f | %s | %s |\n' "$scene" "$encoder" \
      "$(echo "$c * 1000 / $FRAMES" | bc -l)" "$(echo "$FRAMES / $wall" | bc -l)" "$(echo "$rss / 1024" | bc -l)" \
      "${bits[$encoder]}" "$(ssim_rgb "$input" "$out")"
  done
  for ours in classrec classrec-screen; do
    printf '| %s | %s / openh264 | %.2fx | | %.2fx | %.2fx | |\n' "$scene" $ours \
      "$(echo "${cpu[$ours]} / ${cpu[openh264]}" | bc -l)" "$(echo "${rss_of[$ours]} / ${rss_of[openh264]}" | bc -l)" \
      "$(echo "${bits[$ours]} / ${bits[openh264]}" | bc -l)"
  done
  rm -f "$input"
done
still_slide
equal_ssim classroom "$EQUAL_SSIM_CLASSROOM"
lecture
