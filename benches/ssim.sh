# ssim_rgb SOURCE.bgra ENCODED [INPUT OPTIONS...]: FFmpeg's SSIM of an encoded stream against the raw
# BGRA source, compared in RGB: each stream is decoded with its own colour tags (BT.709 for
# classrec, untagged BT.601 for FFmpeg's encoders), so a different YUV matrix is not counted as loss.
# Needs SIZE and FPS.
ssim_rgb() {
  local source=$1 encoded=$2
  shift 2
  ffmpeg -nostdin -v info -f rawvideo -pix_fmt bgra -s "$SIZE" -r "$FPS" -i "$source" "$@" -i "$encoded" \
    -lavfi "[0:v]format=gbrp[ref];[1:v]format=gbrp[dist];[dist][ref]ssim" -f null - 2>&1 |
    sed -n 's/.*All:\([0-9.]*\).*/\1/p' | tail -1
}
