#!/usr/bin/env bash
# Start-up profile (issue 13 §5): where the first frame of N streams started together goes.
#
#   bash benches/startup_profile.sh                          # N=16, 3 runs, yuv420p
#   N=1 RUNS=5 FORMAT=bgr24 bash benches/startup_profile.sh
#   RTSP_CLIENT=native BIN=/path/to/rtsp-ingest bash benches/startup_profile.sh
#
# The server is compare/run.sh's: GStreamer's RTSP server (benches/compare/rtsp_server.py, listen
# backlog 128) serving its cached 1080p25 H.264 clip (GOP 50, no B-frames, noise; made here with
# run.sh's recipe if missing) at /cam on 127.0.0.1, every client its own pipeline from frame 0.
# Each run is two `rtsp-ingest bench --json --transport tcp` processes of N URLs:
#   plain     nothing attached: first_frame_ms as the benchmarks see it
#   profiled  tcpdump on lo (every byte of the RTSP/TCP connections, time-stamped; copies packets
#             but stops nobody) and strace -f --seccomp-bpf of the few syscalls that place the
#             wire in a thread (prctl: the worker's name and start; connect; getsockopt/sendto
#             with -yy: the socket's local port; mmap: the slab). Only those syscalls stop; the
#             per-byte recvfrom of FFmpeg's RTSP reply reader and the RTP reads are not traced.
# Before each process: a wait (at most QUIET_WAIT s) until the machine was at most BUSY_MAX % busy
# over 2 s; the plain run's line says how many cores other work used meanwhile. First, the CPU one
# decode of the clip's first keyframe costs (the ffmpeg CLI, one thread): N of them on nproc cores
# is the floor of the last first frame.
# benches/startup_profile.py then prints the per-stream timeline of the profiled run (ms from each
# worker's start, the origin of first_frame_ms) with a median / max line per phase.
#
# Needs: tcpdump, strace, /usr/bin/python3 with gi + gst-rtsp-server, ffmpeg (the clip), jq.
# Run as root (tcpdump on lo). Files of the last run stay in target/startup_profile/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=benches/clip_server.sh
source benches/clip_server.sh
N=${N:-16}
RUNS=${RUNS:-3}
FORMAT=${FORMAT:-yuv420p}
RTSP_CLIENT=${RTSP_CLIENT:-auto}
DURATION=${DURATION:-2}
BUSY_MAX=${BUSY_MAX:-15}
QUIET_WAIT=${QUIET_WAIT:-300}
BIN=${BIN:-$ROOT/target/release/rtsp-ingest}
SERVER_PYTHON=${RTSP_FIXTURE_PYTHON:-/usr/bin/python3}
CACHE=$ROOT/target/decode_path
CLIP=$CACHE/clip_1080p25_h264_high_noise_4M_20s.mp4
OUT=$ROOT/target/startup_profile
FPS=25
SERVER_PID=
TCPDUMP_PID=

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
cleanup() {
    [[ -z $TCPDUMP_PID ]] || kill "$TCPDUMP_PID" 2>/dev/null || true
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

for tool in tcpdump strace jq ffmpeg "$BIN"; do
    command -v "$tool" >/dev/null || { echo "startup_profile.sh: $tool missing" >&2; exit 1; }
done
mkdir -p "$OUT" "$CACHE"

# --- the clip (compare/run.sh's, cached) --------------------------------------------------------
make_clip "$CLIP"

# --- what the first frame costs to decode: the clip's first keyframe (every client starts there),
# 1 x and 21 x back to back through the ffmpeg CLI with one thread (as a worker decodes)
idr_ms() {
    local idr=$OUT/idr.h264 i s1 s21
    ffmpeg -v error -nostdin -y -i "$CLIP" -c copy -frames:v 1 -bsf:v h264_mp4toannexb -f h264 "$idr"
    for i in $(seq 21); do cat "$idr"; done >"$OUT/idr21.h264"
    cpu() { /usr/bin/time -f '%U %S' ffmpeg -v error -nostdin -threads 1 -f h264 -i "$1" -f null - 2>&1 | awk '{ print $1 + $2 }'; }
    s1=$(cpu "$idr")
    s21=$(cpu "$OUT/idr21.h264")
    awk -v a="$s1" -v b="$s21" -v n="$(stat -c %s "$idr")" \
        'BEGIN { printf "%.0f ms of CPU per decode of the first keyframe (%d KiB, 1 thread)", (b - a) * 1000 / 20, n / 1024 }'
}
log "$(idr_ms)"

# --- the server (compare/run.sh's) ---------------------------------------------------------------
serve_clip "$SERVER_PYTHON" benches/compare/rtsp_server.py "$OUT" "$CLIP" 3600 --backlog 128
log "RTSP server: $URL (pid $SERVER_PID); N=$N FORMAT=$FORMAT RTSP_CLIENT=$RTSP_CLIENT"

urls=()
for ((i = 0; i < N; i++)); do urls+=("$URL"); done
bench() {
    "$@" "$BIN" bench --json --duration "$DURATION" --format "$FORMAT" --transport tcp \
        --rtsp-client "$RTSP_CLIENT" "${urls[@]}"
}
firsts() { jq -r '[.streams[].first_frame_ms] | sort | "median \(.[(length - 1) / 2 | floor] | floor) max \(max | floor) ms"' "$1"; }
server_cpu() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
# busy and total jiffies of the whole machine (compare/run.sh's)
machine_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
# Waits (at most QUIET_WAIT s) until the machine was at most BUSY_MAX % busy over 2 s; sets BUSY.
wait_quiet() {
    local start=$SECONDS b0 t0 b1 t1
    while :; do
        read -r b0 t0 < <(machine_jiffies)
        sleep 2
        read -r b1 t1 < <(machine_jiffies)
        BUSY=$(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
        ((BUSY <= BUSY_MAX || SECONDS - start >= QUIET_WAIT)) && break
        log "  waiting: the machine is ${BUSY}% busy"
    done
}

sleep 2
for ((run = 1; run <= RUNS; run++)); do
    wait_quiet
    log "run $run: $(uptime | sed 's/.*load/load/'); machine ${BUSY}% busy over the last 2 s"
    read -r b0 t0 < <(machine_jiffies)
    c0=$(server_cpu)
    bench /usr/bin/time -f '%U %S' -o "$OUT/plain.time" >"$OUT/plain.json"
    c1=$(server_cpu)
    read -r b1 t1 < <(machine_jiffies)
    # cores busy with neither the bench nor the server during the plain run
    other=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v s=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
        -v n="$(nproc)" -v self="$(awk '{ print $1 + $2 }' "$OUT/plain.time")" \
        'BEGIN { w = t / n / hz; printf "%.2f", (b - s) / hz / w - self / w }')
    log "  plain: first frame $(firsts "$OUT/plain.json"); other work on the machine: $other cores"
    wait_quiet
    sleep 3 # the server's sessions of the last run are torn down

    rm -f "$OUT/trace.pcap" "$OUT/tcpdump.err"
    tcpdump -i lo -s 0 -B 65536 -U -n -w "$OUT/trace.pcap" "tcp port $PORT" 2>"$OUT/tcpdump.err" &
    TCPDUMP_PID=$!
    for _ in $(seq 50); do grep -q listening "$OUT/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
    c0=$(server_cpu)
    bench strace -f -ttt -qq --seccomp-bpf -yy -e trace=prctl,connect,getsockopt,sendto,mmap \
        -o "$OUT/strace.txt" >"$OUT/profiled.json"
    c1=$(server_cpu)
    sleep 0.5
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" 2>/dev/null || true
    TCPDUMP_PID=
    log "  profiled: first frame $(firsts "$OUT/profiled.json"); server CPU $(((c1 - c0) * 1000 / $(getconf CLK_TCK))) ms" \
        "over the run; tcpdump: $(grep -o '[0-9]* packets dropped by kernel' "$OUT/tcpdump.err" || echo '?')"
    /usr/bin/python3 benches/startup_profile.py "$OUT/strace.txt" "$OUT/trace.pcap" "$OUT/profiled.json" "$PORT" |
        tee "$OUT/run$run.txt"
    cp "$OUT/plain.json" "$OUT/plain$run.json"
    sleep 3
done
