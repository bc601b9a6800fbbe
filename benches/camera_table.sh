#!/usr/bin/env bash
# Issue 12's table, re-measured: each camera behaviour is a simulator option;
# rtsp-ingest reads it with the default client (auto), FFmpeg's and the native
# one (`bench --simulate 1`, the camera served in the same process), and
# GStreamer's rtspsrc reads the same behaviour from `rtsp-ingest simulate`
# (frames counted at a fakesink). One line per case, as TSV:
#   case  reader  published  decoded  damaged  reconnects  first_frame_ms  state
# Usage: bash benches/camera_table.sh [SECONDS]   (default 8)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-8}"
BIN=target/release/rtsp-ingest
[ -x "$BIN" ] || cargo build --release --bin rtsp-ingest
PORT=18554

cases=(
  "audio-video-stops|--audio alaw --fault video-stops-after=3s"
  "content-base-spaces|--quirk header-spaces"
  "no-sprop|--no-sprop"
  "tcp-loss-1pct|--noise 8 --fault tcp-loss=0.01"
  "tcp-loss-1pct-flag|--noise 8 --fault tcp-loss=0.01|--on-damage flag"
  "keyframe-pause-500ms|--fault keyframe-pause=500ms"
  "resize-640x360-1280x720|--fault resize-after=3s:1280x720"
  "udp-only-camera|--refuse-tcp"
)

ours() { # case, camera flags, extra bench flags, client
  local json
  json=$("$BIN" bench --simulate 1 $2 $3 --rtsp-client "$4" --duration "$SECONDS_EACH" --json 2>/dev/null)
  BENCH_JSON="$json" python3 - "$1" "$4" <<'PY'
import json, os, sys
case, client = sys.argv[1], sys.argv[2]
s = json.loads(os.environ["BENCH_JSON"])["streams"][0]
ff = s.get("first_frame_ms")
print("\t".join([case, "rtsp-ingest " + client, str(s["frames_published"]), str(s["frames_decoded"]),
                 str(s["frames_damaged"]), str(s["reconnects"]), "-" if ff is None else f"{ff:.0f}", s["state"]]))
PY
}

gst() { # case, camera flags
  local sim shown
  "$BIN" simulate --addr "127.0.0.1:$PORT" $2 >/dev/null 2>&1 &
  sim=$!
  sleep 1
  shown=$(timeout "$SECONDS_EACH" gst-launch-1.0 -v rtspsrc location="rtsp://127.0.0.1:$PORT/cam0" latency=0 \
      ! decodebin ! videoconvert ! fakesink silent=false sync=false 2>/dev/null | grep -c 'chain' || true)
  kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null || true
  printf '%s\tgst rtspsrc\t%s\t-\t-\t-\t-\t-\n' "$1" "$shown"
}

printf 'case\treader\tpublished\tdecoded\tdamaged\treconnects\tfirst_frame_ms\tstate\n'
for entry in "${cases[@]}"; do
  IFS='|' read -r name camera extra <<<"$entry"
  for client in auto ffmpeg native; do
    ours "$name" "$camera" "${extra:-}" "$client"
  done
  [ -z "${extra:-}" ] && gst "$name" "$camera"
done
