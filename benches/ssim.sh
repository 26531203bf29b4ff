# ssim_rgb SOURCE.bgra ENCODED [INPUT OPTIONS...]: FFmpeg's SSIM of an encoded stream against the raw
# BGRA source, compared in RGB: each stream is decoded with its own colour tags (BT.709 for
# classrec, untagged BT.601 for FFmpeg's encoders), so a different YUV matrix is not counted as loss.
# With SSIM_RETIME=1 the encoded stream is first made FPS frames a second from its first frame (a
# recording that skips unchanged frames holds each picture until the next), and the comparison
# ends with the shorter stream. Needs SIZE and FPS.
ssim_rgb() {
  local source=$1 encoded=$2 retime=null sync=
  shift 2
  [ -n "${SSIM_RETIME:-}" ] && retime="setpts=PTS-STARTPTS,fps=$FPS" sync="=shortest=1"
  ffmpeg -nostdin -v info -f rawvideo -pix_fmt bgra -s "$SIZE" -r "$FPS" -i "$source" "$@" -i "$encoded" \
    -lavfi "[0:v]format=gbrp[ref];[1:v]$retime,format=gbrp[dist];[dist][ref]ssim$sync" -f null - 2>&1 |
    sed -n 's/.*All:\([0-9.]*\).*/\1/p' | tail -1
}
