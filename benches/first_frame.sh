#!/usr/bin/env bash
# First-frame latency of `rtsp-ingest bench` against one simulated camera,
# with and without the parameter sets in the SDP and with a pause before
# every keyframe (issue 12 §4). Each run is a fresh process: from the start of
# the connection attempt to the first published frame (`first_frame_ms`).
#
#   usage: benches/first_frame.sh [RUNS] [BINARY...]
#
# BINARY: rtsp-ingest binaries to compare (default target/release/rtsp-ingest);
# the simulator always runs from the first one (it needs --no-sprop), on
# 127.0.0.1:$PORT (default 18554). Prints the median, min and max per case.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-10}
shift || true
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(target/release/rtsp-ingest)
sim=${bins[0]}
port=${PORT:-18554}
url="rtsp://127.0.0.1:$port/cam0"

cases=(
    "h264|"
    "h264|--no-sprop"
    "h265|--no-sprop"
    "h264|--no-sprop --fault keyframe-pause=500ms"
)

for case in "${cases[@]}"; do
    codec=${case%%|*}
    flags=${case#*|}
    # shellcheck disable=SC2086 # the flags are words
    "$sim" simulate --addr "127.0.0.1:$port" --codec "$codec" $flags --duration 3600 >/dev/null &
    pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    for bin in "${bins[@]}"; do
        values=()
        for _ in $(seq "$runs"); do
            values+=("$("$bin" bench "$url" --duration 3 --json | jq '.streams[0].first_frame_ms')")
        done
        printf '%s\n' "${values[@]}" | sort -n | awk -v what="$codec $flags" -v bin="$bin" '
            { v[NR] = $1 }
            END { printf "%-45s %-40s median %6.0f ms  (min %4.0f, max %4.0f, %d runs)\n",
                  what, bin, v[int((NR + 1) / 2)], v[1], v[NR], NR }'
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
done
