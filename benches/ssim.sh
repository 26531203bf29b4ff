# ssim_rgb SOURCE.bgra ENCODED [INPUT OPTIONS...]: FFmpeg's SSIM of an encoded stream against the raw
# BGRA source, compared in RGB: each stream is decoded with its own colour tags (BT.709 for
# classrec, untagged BT.601 for FFmpeg's encoders), so a different YUV matrix is not counted as loss.
# With SSIM_RETIME=1 the encoded stream is first made FPS frames a second from its first frame (a
# recording that skips unchanged frames holds each picture until the next), and the comparison
# ends with the shorter stream. With SSIM_YUV_MATRIX=bt709|bt601 a second line gives the SSIM in YUV
# 4:2:0 (Y, U and V), the source converted with that matrix, the stream's own: what the recorder lost
# beyond the 8-bit YUV round trip itself. That round trip can cost RGB SSIM where a channel is near
# 0: SSIM's mean term with C1 = (0.01 * 255)^2 gives only 0.87 for 0 against 1, and BT.709's exact
# rounding of a teal (0, 171, 169) decodes to R = 1. Needs SIZE and FPS.
ssim_rgb() {
  local source=$1 encoded=$2 retime=null sync= graph out
  shift 2
  [ -n "${SSIM_RETIME:-}" ] && retime="setpts=PTS-STARTPTS,fps=$FPS" sync="=shortest=1"
  local tap_source= tap_encoded= # with SSIM_YUV_MATRIX, both streams also go to a YUV comparison
  [ -n "${SSIM_YUV_MATRIX:-}" ] && tap_source="split[yuv_source]," tap_encoded="split[yuv_encoded],"
  graph="[0:v]${tap_source}format=gbrp[ref];[1:v]$retime,${tap_encoded}format=gbrp[dist];[dist][ref]ssim$sync"
  if [ -n "${SSIM_YUV_MATRIX:-}" ]; then
    graph+=";[yuv_source]scale=out_color_matrix=$SSIM_YUV_MATRIX:out_range=tv,format=yuv420p[yref]"
    graph+=";[yuv_encoded]format=yuv420p[ydist];[ydist][yref]ssim$sync"
  fi
  out=$(ffmpeg -nostdin -v info -f rawvideo -pix_fmt bgra -s "$SIZE" -r "$FPS" -i "$source" "$@" -i "$encoded" \
    -lavfi "$graph" -f null - 2>&1)
  sed -n 's/.*SSIM R:.*All:\([0-9.]*\).*/\1/p' <<<"$out" | tail -1
  [ -z "${SSIM_YUV_MATRIX:-}" ] || sed -n 's/.*SSIM Y:.*All:\([0-9.]*\).*/\1/p' <<<"$out" | tail -1
}
