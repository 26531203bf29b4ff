# The lecture, end to end (issue 17). The x11_window example plays its 2-minute lecture
# (`--paint lecture`: slides, a pointer, pen strokes, 20 s of a small video) in a 1920x1080 Xvfb,
# and each recorder records it in a run of its own, the client restarted each time so that every
# recorder sees the script from its start: classrec's window capture (`record --source window:`,
# Composite + MIT-SHM + Damage), and FFmpeg's x11grab of the same region with libopenh264 and with
# libx264 ultrafast (-threads 1; all at 15 fps and 1500 kbit/s). For each: CPU seconds per recorded
# minute (user + sys of the recorder; the X server's separately), peak RSS, bits per minute, and
# SSIM against the lecture rendered offline (`--dump-raw`) at the recording's frame times: in RGB,
# and in YUV with the stream's own matrix (benches/ssim.sh says why both). Last, OpenH264 alone on
# the lecture's changed frames (lecture_encoder_alone): the floor under classrec's CPU.
#
# Sourced by benches/compare.sh (needs SIZE FPS KBPS GOP WORK FFMPEG_OPENH264, ssim.sh, bc and the
# release examples record, x11_window and encoder_sweep, built with --features bench).
# LECTURE_SECONDS shortens the recordings (default 120); LECTURE_RECORDERS picks the recorders
# (default "classrec openh264 x264"; the ratio and OpenH264-alone rows need the first two), e.g. to
# compare classrec's settings alone.

# When the slides change on the script's clock (`SLIDES` in examples/x11_window/lecture.rs), seconds.
LECTURE_SLIDE_CHANGES="17 35.0166667 58.0333333 81.05 104" # 35 s + 1 tick, 58 s + 2, 81 s + 3

# lecture_run RECORDER OUT SECONDS: plays the lecture in a fresh Xvfb and records SECONDS of it with
# RECORDER (classrec, openh264 or x264) to OUT; prints "recorder_cpu_s peak_rss_kb xserver_cpu_s"
# (the X server's CPU includes drawing the lecture, the same in every run).
lecture_run() {
  local recorder=$1 out=$2 seconds=$3 display=90 xvfb client x0 x1 command
  while [ -e /tmp/.X$display-lock ]; do display=$((display + 1)); done
  Xvfb :$display -screen 0 ${SIZE}x24 +extension Composite -nolisten tcp >/dev/null 2>&1 &
  xvfb=$!
  sleep 1
  DISPLAY=:$display target/release/examples/x11_window --title Lecture --paint lecture >"$WORK/lecture.ready" &
  client=$!
  for _ in $(seq 200); do
    grep -q ready "$WORK/lecture.ready" && break
    sleep 0.05
  done
  local x11grab=(-f x11grab -framerate $FPS -video_size $SIZE -draw_mouse 0 -i :$display+0,0 -t "$seconds"
    -threads 1 -b:v ${KBPS}k -g $GOP -r $FPS -pix_fmt yuv420p -movflags frag_keyframe+empty_moov)
  case $recorder in
    classrec) rm -rf "$WORK/lecture-rec" && command=(target/release/examples/record --source window:Lecture \
      --size $SIZE --fps $FPS --bitrate-kbps $KBPS --seconds "$seconds" --out-dir "$WORK/lecture-rec") ;;
    openh264) command=("$FFMPEG_OPENH264" -nostdin -y "${x11grab[@]}" -c:v libopenh264 "$out") ;;
    x264) command=(ffmpeg -nostdin -y "${x11grab[@]}" -c:v libx264 -preset ultrafast "$out") ;;
  esac
  x0=$(awk '{print $14 + $15}' /proc/$xvfb/stat)
  DISPLAY=:$display /usr/bin/time -f "%U %S %M" -o "$WORK/time" "${command[@]}" >"$WORK/lecture.out" 2>"$WORK/stderr" ||
    { cat "$WORK/stderr" >&2; kill $client $xvfb; return 1; }
  x1=$(awk '{print $14 + $15}' /proc/$xvfb/stat)
  kill $client $xvfb
  [ "$recorder" = classrec ] && mv "$WORK"/lecture-rec/*.mp4 "$out"
  read -r user sys rss <"$WORK/time"
  echo "$(echo "$user + $sys" | bc) $rss $(echo "($x1 - $x0) / $(getconf CLK_TCK)" | bc -l)"
}

# lecture_offset RECORDING: where the recording's first frame falls on the script's clock, in
# seconds: "offset error used/found" (the offset is within ±error if the slide changes it used,
# out of those found, were captured on time).
#
# How: the recording is made 15 fps from its first frame (as ssim_rgb compares it) and FFmpeg's
# scene score finds the frames where a new slide first shows (a slide change scores about 0.17, the
# video's frames 0.06 at most, the pen and the pointer far less). If frame j is the first to show
# the slide that appears at T, frame j was taken at or after T and frame j - 1 before it, so the
# offset lies in [T - j/15, T - (j-1)/15). Each slide change gives such a window; the script puts
# the changes a quarter frame apart in phase, so their intersection narrows to about a quarter
# frame with every change recorded (one change, in a 30 s run: a whole frame; the middle is used,
# so the error is at most half of it). A slide that reached the screen late (the client or the X
# server fell behind on a loaded machine) gives a window that misses the others: the point most
# windows share wins, and only the windows holding it are used. Limits: it assumes the recorder's
# frames are evenly spaced, and that a frame shows the screen at the time it is stamped with (a
# constant capture delay is absorbed in the offset, jitter is not); the lecture changes 60 times a
# second, so the reference can still be a tick (1/60 s) off where the pointer, the pen or the video
# moved.
lecture_offset() {
  ffmpeg -nostdin -v info -i "$1" -vf "setpts=PTS-STARTPTS,fps=$FPS,select='gt(scene,0.1)',showinfo" -f null - 2>&1 |
    sed -n 's/.*pts_time:\([0-9.]*\).*/\1/p' |
    awk -v fps=$FPS -v changes="$LECTURE_SLIDE_CHANGES" '
      BEGIN { n = split(changes, slide, " ") }
      { j = int($1 * fps + 0.5)
        for (i = 1; i <= n; i++) {
          a = slide[i] - j / fps # the recording starts within a few seconds of the script
          if (a > -1 && a < 5) { found++; low[found] = a; high[found] = a + 1 / fps } } }
      function holds(w, point) { return low[w] <= point + 1e-6 && point + 1e-6 < high[w] }
      END { if (!found) exit 1
            for (c = 1; c <= found; c++) {
              count = 0
              for (w = 1; w <= found; w++) count += holds(w, low[c])
              if (count > used) { used = count; point = low[c] } }
            from = -1e9; to = 1e9
            for (w = 1; w <= found; w++) if (holds(w, point)) {
              from = low[w] > from ? low[w] : from; to = high[w] < to ? high[w] : to }
            printf "%.4f %.4f %d/%d\n", (from + to) / 2, (to - from) / 2, used, found }'
}

# lecture_encoder_alone SECONDS FFMPEG_CPU: OpenH264 alone, as the recorder drives it, on the
# lecture's changed frames (the lecture rendered offline at 15 fps, each frame that repeats the one
# before dropped, as the recorder skips it; examples/encoder_sweep --changed-only, the recorder's
# settings: camera tuning, low complexity, QP 18..40, a keyframe every 10 s): the encoding thread's
# CPU seconds per recorded minute, encoding them back to back, and paced at their times as a
# recorder must. This is the floor under classrec's lecture CPU, whatever capture costs;
# FFMPEG_CPU (FFmpeg + libopenh264's CPU s per minute) gives the ratio. encoder_sweep holds every
# changed picture: about 3 GB for the 2-minute lecture.
lecture_encoder_alone() {
  local seconds=$1 ffmpeg_cpu=$2 pacing name ms kbps cpu_min frames stream
  for pacing in "back to back" paced; do
    local flags=(--changed-only) && [ "$pacing" = paced ] && flags+=(--paced)
    target/release/examples/encoder_sweep "${flags[@]}" \
      <(target/release/examples/x11_window --paint lecture --dump-raw - --fps $FPS --seconds "$seconds") \
      $SIZE $FPS "camera,low,$((FPS * 10)),$KBPS,18-40" >"$WORK/encoder-alone" 2>"$WORK/stderr" &&
      read -r name ms kbps cpu_min frames stream <"$WORK/encoder-alone" || {
      cat "$WORK/stderr" >&2
      return 1
    }
    printf '| lecture | OpenH264 alone, %s, on the changed frames (%s of %s; %s ms of wall time each) | %.2f (%.2fx FFmpeg + libopenh264) | | | %.1f | %.0f | | | |\n' \
      "$pacing" "${frames%/*}" "${frames#*/}" "$ms" "$cpu_min" "$(echo "$cpu_min / $ffmpeg_cpu" | bc -l)" "$(echo "$kbps * 60 / 1000" | bc -l)" "$kbps"
  done
}

lecture() {
  local seconds=${LECTURE_SECONDS:-120} recorder out cpu_s rss x_s offset error used ssim yuv kbits matrix
  local -A cpu=() xcpu=() rss_of=() bits=() ssim_of=() yuv_of=()
  local name_classrec="classrec (window, Damage)" name_openh264="FFmpeg x11grab + libopenh264"
  local name_x264="FFmpeg x11grab + libx264 ultrafast"
  printf '\n| lecture, %s s, X11 | recorder | CPU s per recorded minute | X server CPU s per minute | peak RSS MiB | Mbit per minute | kbit/s | SSIM (RGB) | SSIM (YUV, own matrix) | offset s (slide changes used) |\n' "$seconds"
  printf '|---|---|---|---|---|---|---|---|---|---|\n'
  for recorder in ${LECTURE_RECORDERS:-classrec openh264 x264}; do
    out=$WORK/lecture-$recorder.mp4
    lecture_run $recorder "$out" "$seconds" >"$WORK/lecture.cost"
    read -r cpu_s rss x_s <"$WORK/lecture.cost"
    lecture_offset "$out" >"$WORK/lecture.offset" || { echo "no slide change found in $out" >&2; return 1; }
    read -r offset error used <"$WORK/lecture.offset"
    # classrec tags BT.709; FFmpeg's streams are untagged, decoded (and here compared) as BT.601.
    matrix=bt601 && [ $recorder = classrec ] && matrix=bt709
    { read -r ssim; read -r yuv; } < <(SSIM_RETIME=1 SSIM_YUV_MATRIX=$matrix ssim_rgb \
      <(target/release/examples/x11_window --paint lecture --dump-raw - --fps $FPS --seconds "$seconds" --start "$offset") \
      "$out")
    kbits=$(echo "$(stat -c %s "$out") * 8 / $seconds / 1000" | bc -l)
    cpu[$recorder]=$(echo "$cpu_s * 60 / $seconds" | bc -l) xcpu[$recorder]=$(echo "$x_s * 60 / $seconds" | bc -l)
    rss_of[$recorder]=$rss bits[$recorder]=$kbits ssim_of[$recorder]=$ssim yuv_of[$recorder]=$yuv
    local name=name_$recorder
    printf '| lecture | %s | %.2f | %.2f | %.0f | %.1f | %.0f | %s | %s | %.3f ± %.3f (%s changes) |\n' "${!name}" \
      "${cpu[$recorder]}" "${xcpu[$recorder]}" "$(echo "$rss / 1024" | bc -l)" "$(echo "$kbits * 60 / 1000" | bc -l)" \
      "$kbits" "$ssim" "$yuv" "$offset" "$error" "$used"
  done
  [ -n "${cpu[classrec]:-}" ] && [ -n "${cpu[openh264]:-}" ] || return 0
  printf '| lecture | classrec / FFmpeg + libopenh264 | %.2fx | %.2fx | %.2fx | %.2fx | | %+.6f | %+.6f | |\n' \
    "$(echo "${cpu[classrec]} / ${cpu[openh264]}" | bc -l)" "$(echo "${xcpu[classrec]} / ${xcpu[openh264]}" | bc -l)" \
    "$(echo "${rss_of[classrec]} / ${rss_of[openh264]}" | bc -l)" "$(echo "${bits[classrec]} / ${bits[openh264]}" | bc -l)" \
    "$(echo "${ssim_of[classrec]} - ${ssim_of[openh264]}" | bc -l)" "$(echo "${yuv_of[classrec]} - ${yuv_of[openh264]}" | bc -l)"
  lecture_encoder_alone "$seconds" "${cpu[openh264]}"
}
