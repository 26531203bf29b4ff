#!/usr/bin/env bash
# Stop-to-complete latency of the upload against a real S3 server (SeaweedFS on 127.0.0.1):
# records N one-minute full-motion recordings (1280x720, 4 Mbit/s, uploaded while recording)
# and prints, per run, the bytes, the parts and the time from stop to the object being complete.
# Usage: bash benches/stop_to_complete.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_build_deps
install_s3_server
runs=${1:-5}
work=$(mktemp -d)
weed_pid=
trap '[ -n "$weed_pid" ] && kill -9 "$weed_pid" 2>/dev/null; rm -rf "$work"' EXIT
cat > "$work/ids.json" <<'JSON'
{"identities":[{"name":"bench","credentials":[{"accessKey":"bench-key","secretKey":"bench-secret"}],"actions":["Admin","Read","Write","List"]}]}
JSON
p=25300
mkdir -p "$work/data"
cd "$work"
"$CLASSREC_WEED" mini -dir="$work/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port=$p \
  -volume.port=$((p+1)) -filer.port=$((p+2)) -s3.port=$((p+3)) -admin.port=$((p+4)) -s3.port.iceberg=$((p+5)) \
  -s3.port.lance=$((p+6)) -metricsPort=$((p+7)) -webdav=false -admin.ui=false -s3.config="$work/ids.json" \
  -bucket=bench -s3.autoCreateBucket=false </dev/null >"$work/weed.log" 2>&1 &
weed_pid=$!
cd - >/dev/null
export AWS_ACCESS_KEY_ID=bench-key AWS_SECRET_ACCESS_KEY=bench-secret
for _ in $(seq 1 60); do
  curl -sf -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user bench-key:bench-secret "http://127.0.0.1:$((p+3))/bench?list-type=2" && break
  sleep 0.5
done
cargo build --quiet --release --example record
for i in $(seq 1 "$runs"); do
  ./target/release/examples/record --source synthetic:motion --size 1280x720 --fast --seconds 60 --bitrate-kbps 4000 \
    --content camera --out-dir "$work/rec" --upload s3://bench/run$i --endpoint "http://127.0.0.1:$((p+3))" 2>/dev/null
done | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
ms = [r["upload"]["stop_to_complete_ms"] for r in rows]
for r in rows:
    u = r["upload"]
    parts = u["etag"].strip(chr(34)).split("-")[-1]
    print("%10d bytes  %3s parts  sent %10d  stop-to-complete %5d ms" % (r["bytes"], parts, u["bytes_sent"], u["stop_to_complete_ms"]))
print("stop-to-complete: median %d ms, max %d ms over %d runs" % (statistics.median(ms), max(ms), len(ms)))
'
