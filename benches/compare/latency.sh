#!/usr/bin/env bash
# Glass-to-consumer latency (issue 10): rtsp-ingest against the ffmpeg CLI, GStreamer and OpenCV,
# one peer after the other, on the same stamped simulated cameras.
#
#   bash benches/compare/latency.sh                       # 640x360 at N = 1, 8, 16; 1080p at N = 1, 8
#   SIZES=640x360 NS_640x360="1 8" bash benches/compare/latency.sh
#   PEERS="rtsp-ingest gst" SECONDS_PER_RUN=10 bash benches/compare/latency.sh
#   RTSP_INGEST=target/release/rtsp-ingest bash benches/compare/latency.sh   # no cargo build
#
# The cameras: one `rtsp-ingest simulate` per size, with as many cameras as the largest N, the
# H.264 test pattern at 25 fps with noise (NOISE_640x360=6, NOISE_1920x1080=3: ~1.5 and ~5 Mb/s,
# printed in the facts), a 250-frame loop (10 s) and `--stamp-log`: every frame carries its
# index in the loop in its pixels, and the log says when its first packet was written. Peer
# runs use /cam0 … /camN-1, one session per camera at a time (the log is matched per camera).
#
# The peers (PEERS, in this order), one consumer per stream, each as its users write it:
#   rtsp-ingest      rtsp-ingest bench --latency --stamp-log LOG --format bgr24 --transport tcp:
#                    a thread per stream blocked in StreamManager::wait_after
#   ffmpeg           ffmpeg -fflags nobuffer -flags low_delay -rtsp_transport tcp -i URL -pix_fmt bgr24
#                    -f rawvideo -flush_packets 1 pipe:1, read frame by frame by latency_peers.py
#   ffmpeg-threads1  the same with -threads 1 before and after -i (no frame threads, which hold a
#                    frame each): the CLI at its lowest latency
#   gst              rtspsrc latency=0 protocols=tcp ! rtph264depay ! h264parse ! avdec_h264 !
#                    videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=1
#                    sync=false, pulled by a thread (latency_peers.py, python3-gi)
#   opencv-threaded  cv2.VideoCapture(URL, CAP_FFMPEG) with rtsp_transport;tcp, a grabber thread
#                    keeping the newest frame, a consumer woken by a Condition for each new one
#   opencv-read      the same capture and a plain read() loop
#   rtsp-ingest-native  (only when named in PEERS) the same with --rtsp-client native: the
#                    retina RTSP client feeding the same decoders
#   rtsp-ingest-python  (only when named in PEERS) our Python package, a thread per stream
#                    blocked in Stream.wait(after=seq), np.asarray(frame); run with
#                    PYTHON_PACKAGE_PY (default target/python-venv/bin/python, made by
#                    scripts/python-test.sh)
#
# Each run lasts WARMUP + SECONDS_PER_RUN (5 + 15 s); frames delivered in the first WARMUP
# seconds (connection set-up, OpenCV's probing backlog) are not counted. A frame's latency:
# from the simulator writing its first packet to the consumer holding it (rtsp-ingest: wait_after
# returned; ffmpeg: the frame's last byte read from the pipe; GStreamer: pull-sample returned;
# OpenCV: read() or the consumer's wait returned), wall clock on one host. Everything shares the
# machine's cores: the simulator's CPU and the load average are in the facts and rows.
#
# Needs: cargo, ffmpeg (the CLI), gst-launch-1.0 with gst-libav and gst-plugins-good, /usr/bin/python3
# with python3-gi and python3-venv; opencv-python-headless (and numpy) are installed from PyPI into
# target/compare/latency-venv (made with --system-site-packages, so it sees gi) on first use.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benches/compare
SIZES=${SIZES:-"640x360 1920x1080"}
NS_640x360=${NS_640x360:-"1 8 16"}
NS_1920x1080=${NS_1920x1080:-"1 8"}
NOISE_640x360=${NOISE_640x360:-6}
NOISE_1920x1080=${NOISE_1920x1080:-3}
S=${SECONDS_PER_RUN:-15}
WARMUP=${WARMUP:-5}
COOLDOWN=${COOLDOWN:-3}
PEERS=${PEERS:-"rtsp-ingest ffmpeg ffmpeg-threads1 gst opencv-threaded opencv-read"}
VENV=${LATENCY_VENV:-$ROOT/target/compare/latency-venv}
PACKAGE_PY=${PYTHON_PACKAGE_PY:-$ROOT/target/python-venv/bin/python}
OUT=$ROOT/target/compare/latency
WORK=$(mktemp -d "${TMPDIR:-/tmp}/latency.XXXXXX")
SIM_PID=

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
cleanup() {
    if [[ -n $SIM_PID ]]; then kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"

if [[ -z ${RTSP_INGEST:-} ]]; then
    log "cargo build --release ..."
    cargo build --release --quiet --bin rtsp-ingest
    RTSP_INGEST=$ROOT/target/release/rtsp-ingest
fi
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import cv2, numpy, gi' 2>/dev/null; then
    log "making $VENV (opencv-python-headless from PyPI) ..."
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
    "$VENV/bin/python" -m pip install --quiet "${OPENCV_PIP_SPEC:-opencv-python-headless}"
fi
PY=$VENV/bin/python
"$PY" "$HERE/stamp.py" >&2

ROWS=$OUT/last_run.tsv
: >"$ROWS"
FACTS=$OUT/last_run.facts.md
{
    echo "- Command: \`SIZES=\"$SIZES\" NS_640x360=\"$NS_640x360\" NS_1920x1080=\"$NS_1920x1080\" SECONDS_PER_RUN=$S WARMUP=$WARMUP bash benches/compare/latency.sh\`"
    echo "- Started $(date -u '+%Y-%m-%d %H:%M UTC'); rtsp-ingest at \`$(git log -1 --oneline 2>/dev/null || echo '?')\`"
    echo "- nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); Linux $(uname -r)"
    echo "- $(ffmpeg -version | head -n 1 | cut -d' ' -f1-3); $(gst-launch-1.0 --version | sed -n 2p); OpenCV $("$PY" -c 'import cv2; print(cv2.__version__)') (opencv-python-headless), Python $("$PY" -c 'import platform; print(platform.python_version())')"
} >"$FACTS"

load1() { cut -d' ' -f1 /proc/loadavg; }

run_peer() { # peer size n urls... -> one row
    local peer=$1 size=$2 n=$3 log=$4
    shift 4
    local out=$OUT/$peer-$size-$n.json load
    load=$(load1)
    log "$peer $size N=$n (load $load) ..."
    if [[ $peer == rtsp-ingest || $peer == rtsp-ingest-native ]]; then
        local client=ffmpeg
        [[ $peer == rtsp-ingest-native ]] && client=native
        "$RTSP_INGEST" bench --json --latency --stamp-log "$log" --warmup "$WARMUP" \
            --duration $((WARMUP + S)) --format bgr24 --transport tcp --rtsp-client "$client" \
            "$@" >"$out" 2>"$WORK/err" ||
            { log "  failed: $(tail -n 1 "$WORK/err")"; echo '{}' >"$out"; }
    else
        local py=$PY
        [[ $peer == rtsp-ingest-python ]] && py=$PACKAGE_PY
        (cd "$HERE" && timeout $((WARMUP + S + 60)) "$py" latency_peers.py --peer "$peer" \
            --seconds "$S" --warmup "$WARMUP" --size "$size" --stamp-log "$log" "$@") \
            >"$out" 2>"$WORK/err" || { log "  failed: $(tail -n 1 "$WORK/err")"; echo '{}' >"$out"; }
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$peer" "$size" "$n" "$out" "$load" "$S" >>"$ROWS"
    sleep "$COOLDOWN"
}

for size in $SIZES; do
    ns_var=NS_${size}
    noise_var=NOISE_${size}
    ns=${!ns_var:-1}
    noise=${!noise_var:-4}
    max=0
    for n in $ns; do ((n > max)) && max=$n; done
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    log="$WORK/stamps-$size.log"
    mkfifo "$WORK/sim-$size.out"
    "$RTSP_INGEST" simulate --cameras "$max" --size "$size" --noise "$noise" --frames 250 \
        --addr "127.0.0.1:$port" --stamp-log "$log" >"$WORK/sim-$size.out" 2>"$WORK/sim.err" &
    SIM_PID=$!
    exec 3<"$WORK/sim-$size.out"
    if ! read -r -t 300 serving <&3 || [[ $serving != serving* ]]; then
        echo "latency.sh: the simulator did not start: ${serving:-} $(cat "$WORK/sim.err")" >&2
        exit 1
    fi
    cat <&3 >/dev/null &
    log "$serving"
    echo "- $size: $serving (noise $noise)" >>"$FACTS"
    for n in $ns; do
        urls=()
        for ((i = 0; i < n; i++)); do urls+=("rtsp://127.0.0.1:$port/cam$i"); done
        for peer in $PEERS; do
            run_peer "$peer" "$size" "$n" "$log" "${urls[@]}"
        done
    done
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
    SIM_PID=
    exec 3<&-
done

{
    cat "$FACTS"
    echo
    python3 "$HERE/latency_report.py" "$ROWS"
} | tee "$OUT/last_run.md"
