#!/usr/bin/env bash
# The comparison (issue 6): rtsp-ingest against the ffmpeg CLI, GStreamer and OpenCV on the
# same N RTSP streams, one peer after the other in one run, for several N.
#
#   bash benches/compare/run.sh                                  # N = 1, 8, 16; 20 s each (~25-35 min)
#   NS="1 2" SECONDS_PER_RUN=8 bash benches/compare/run.sh       # a quick check
#   INGEST_EXTRA_NS=22 bash benches/compare/run.sh               # + rtsp-ingest bgr24 at N = 22
#   PEERS="rtsp-ingest-bgr24 ffmpeg-bgr24" bash benches/compare/run.sh
#   RTSP_INGEST=target/release/rtsp-ingest bash benches/compare/run.sh   # no cargo build
#
# The streams: a 1080p25 H.264 High clip with noise (-g 50 -sc_threshold 0 -bf 0, ~4 Mb/s; made
# once with the ffmpeg CLI and cached under target/decode_path/, the same recipe and file as
# benches/decode_path.sh), served looping by GStreamer's RTSP server (tests/fixtures/rtsp_server.py)
# on 127.0.0.1. N clients of its one mount /cam: every client gets its own pipeline from frame 0
# (a key frame), paced in real time. RTP over RTSP/TCP for every peer. The server is the fixture
# run through benches/compare/rtsp_server.py, which only raises GstRTSPServer's listen backlog
# from 5 to BACKLOG (128): with 5, a burst of N connections (rtsp-ingest opens all N at once)
# overflows it and the dropped SYNs are retried after 1 s / 3 s, which showed up as ~1.5 s and
# ~3.3 s first frames at N = 16 and 22. Each row notes any listen overflows during its run.
#
# The peers (PEERS, in this order; each at every N of NS):
#   floor-null / floor-bgr24       ffmpeg -threads 1 -i clip.mp4 -f null - / -pix_fmt bgr24 -f rawvideo
#                                  (the file, no network, as fast as it goes; -stream_loop 1 = 1000
#                                  frames; -filter_threads 1 and -threads 1 on the output too)
#   rtsp-ingest-yuv420p / -bgr24   rtsp-ingest bench --json --duration S --format F --transport tcp URL x N
#                                  (yuv420p: decoded straight into the slots, no copy)
#   rtsp-ingest-yuv420p-copy       the same with --no-decode-in-place: every picture copied out of
#                                  FFmpeg's buffers (not in the default PEERS; what in place saves)
#   rtsp-ingest-bgr24-whole        bgr24 with --no-decode-in-place: each picture converted whole once
#                                  the decoder outputs it, not band by band as it decodes (not in
#                                  the default PEERS; what converting while hot saves)
#   ffmpeg-null / ffmpeg-bgr24     N processes of ffmpeg -rtsp_transport tcp -i URL -t S -f null -
#                                  / ... -pix_fmt bgr24 -f rawvideo -y /dev/null (default threads)
#   gst-null / gst-bgr24           N processes of gst-launch-1.0 -v rtspsrc location=URL protocols=tcp
#                                  latency=0 ! rtph264depay ! h264parse ! avdec_h264
#                                  [! videoconvert ! video/x-raw,format=BGR] ! fakesink silent=false
#   opencv-grab / opencv-read      one Python process, N threads, cv2.VideoCapture(URL, CAP_FFMPEG)
#                                  with OPENCV_FFMPEG_CAPTURE_OPTIONS=rtsp_transport;tcp, grab()
#                                  (decode only) / read() (decode + BGR) — opencv_capture.py
#
# What is measured, per peer x N:
#   CPU-ms per frame  CPU time (user + system) of the client process(es) / frames decoded.
#                     rtsp-ingest: its own getrusage over its window; ffmpeg, gst-launch:
#                     /usr/bin/time around each process (whole life, start-up included), summed;
#                     OpenCV: getrusage(RUSAGE_SELF) of the Python process from just before the
#                     captures open (import cv2 not counted).
#   real time kept    frames in the window >= 0.95 x 25 x S x N. The window: rtsp-ingest, its
#                     --duration S (connection set-up inside it: the strictest); the others: the first
#                     S seconds of media (25 x S frames per stream, as ffmpeg's -t S), which must arrive
#                     within S + GRACE_SECONDS of wall time (every process runs under
#                     `timeout -s INT S+GRACE`; OpenCV threads stop at that deadline).
#   first frame       the last of the N streams' time to first decoded frame. rtsp-ingest: its
#                     first_frame_ms (from the stream being added); gst-launch: from just before the
#                     N processes are spawned to the first fakesink "chain" line on stdout (process
#                     start-up included; stdout line-buffered with stdbuf -oL); OpenCV: from the
#                     threads' common start (before VideoCapture()) to the first successful
#                     read()/grab(); ffmpeg CLI: n/a (it prints nothing per frame without -stats).
#   frames            rtsp-ingest: frames_decoded; ffmpeg: the last frame= of -progress; gst-launch:
#                     fakesink's "chain" lines (fakesink silent=false with -v; one short line per
#                     frame to a pipe — the least intrusive count without writing code into the
#                     pipeline); OpenCV: successful read()/grab() calls.
#   peak RSS          rtsp-ingest, OpenCV: the process's ru_maxrss; ffmpeg, gst-launch: the sum of
#                     the N processes' maximum RSS (/usr/bin/time %M).
#   context           the RTSP server's CPU (cores) during the run (it shares the 2 cores!); the
#                     machine's busy CPU not accounted for by clients + server ("other", i.e.
#                     other users of the machine); the load average before the run.
#
# Before every peer x N run: wait (at most LOAD_WAIT s) until the 1-minute load average is below
# LOAD_MAX, or the machine has been at most BUSY_MAX % busy over the last 5 s (the load average
# trails our own previous run by a minute; BUSY_MAX=0 waits for the load average only), then
# COOLDOWN s. If the wait times out, the row says "not quiet".
#
# Needs: ffmpeg (libx264), gst-launch-1.0 with gst-libav (avdec_h264) and gst-plugins-good
# (rtspsrc), python3-gi + gst-rtsp-server for the fixture server (see decode_path.sh),
# /usr/bin/time, timeout, stdbuf, cargo, and a python3 with venv + pip for OpenCV
# (opencv-python-headless is installed from PyPI into target/compare/venv on first use;
# OPENCV_PIP_SPEC="opencv-python-headless==4.10.0.84" pins a version, OPENCV_PYTHON=python uses one
# that already has cv2).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benches/compare
# shellcheck source=benches/clip_server.sh
source "$ROOT/benches/clip_server.sh"
NS=${NS:-"1 8 16"}
S=${SECONDS_PER_RUN:-20}
GRACE=${GRACE_SECONDS:-2}
PEERS=${PEERS:-"floor-null floor-bgr24 rtsp-ingest-yuv420p rtsp-ingest-bgr24 ffmpeg-null ffmpeg-bgr24 gst-null gst-bgr24 opencv-grab opencv-read"}
INGEST_EXTRA_NS=${INGEST_EXTRA_NS:-}
LOAD_MAX=${LOAD_MAX:-0.7}
LOAD_WAIT=${LOAD_WAIT:-120}
BUSY_MAX=${BUSY_MAX:-10}
COOLDOWN=${COOLDOWN:-5}
BACKLOG=${BACKLOG:-128}
FPS=25
FFMPEG=${FFMPEG:-ffmpeg}
GST_LAUNCH=${GST_LAUNCH:-gst-launch-1.0}
SERVER_PYTHON=${RTSP_FIXTURE_PYTHON:-/usr/bin/python3}
VENV=${OPENCV_VENV:-$ROOT/target/compare/venv}
TIME=/usr/bin/time
CLK_TCK=$(getconf CLK_TCK)
CACHE=$ROOT/target/decode_path
CLIP=$CACHE/clip_1080p25_h264_high_noise_4M_20s.mp4
OUT=$ROOT/target/compare
WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX")
SERVER_PID=

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

cleanup() {
    local pids
    pids=$(jobs -p)
    # shellcheck disable=SC2086
    [[ -z $pids ]] || kill $pids 2>/dev/null || true
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in "$TIME" timeout stdbuf "$FFMPEG" "$GST_LAUNCH"; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool missing" >&2; exit 1; }
done
mkdir -p "$OUT" "$CACHE"

# --- the clip ------------------------------------------------------------------------------------
make_clip "$CLIP"

wants() { [[ " $PEERS " == *" $1 "* ]]; }

# --- rtsp-ingest ---------------------------------------------------------------------------------
if wants rtsp-ingest-yuv420p || wants rtsp-ingest-yuv420p-copy || wants rtsp-ingest-bgr24 \
    || wants rtsp-ingest-bgr24-whole; then
    if [[ -z ${RTSP_INGEST:-} ]]; then
        log "cargo build --release ..."
        cargo build --release --quiet --bin rtsp-ingest
        RTSP_INGEST=$ROOT/target/release/rtsp-ingest
    fi
fi

# --- OpenCV (a venv under target/, nothing installed system-wide) -----------------------------
OPENCV_PY=${OPENCV_PYTHON:-}
if [[ -z $OPENCV_PY ]] && { wants opencv-grab || wants opencv-read; }; then
    if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import cv2' 2>/dev/null; then
        log "installing opencv-python-headless into $VENV ..."
        base=$(command -v python3)
        "$base" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet "${OPENCV_PIP_SPEC:-opencv-python-headless}"
    fi
    OPENCV_PY=$VENV/bin/python
fi

# --- the server ----------------------------------------------------------------------------------
serve_clip "$SERVER_PYTHON" "$HERE/rtsp_server.py" "$WORK" "$CLIP" 10800 --backlog "$BACKLOG"
log "RTSP server: $URL (pid $SERVER_PID)"

# --- helpers ---------------------------------------------------------------------------------------
# busy and total jiffies of the whole machine
machine_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
server_jiffies() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
now() { date +%s.%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }
listen_overflows() {
    awk '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) k[i] = $i; h = 1 } else { for (i = 2; i <= NF; i++) if (k[i] == "ListenOverflows") print $i } }' /proc/net/netstat
}

# Sets QUIET (yes / "no after Ns"), LOAD_BEFORE, BUSY_BEFORE.
wait_quiet() {
    local start=$SECONDS b0 t0 b1 t1 busy
    while :; do
        read -r b0 t0 < <(machine_jiffies)
        sleep 5
        read -r b1 t1 < <(machine_jiffies)
        busy=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
        LOAD_BEFORE=$(load1)
        if awk -v l="$LOAD_BEFORE" -v m="$LOAD_MAX" 'BEGIN { exit !(l < m) }' ||
            ((BUSY_MAX > 0 && busy <= BUSY_MAX)); then
            QUIET=yes
            break
        fi
        if ((SECONDS - start >= LOAD_WAIT)); then
            QUIET="no after $((SECONDS - start)) s"
            break
        fi
        log "  waiting: load $LOAD_BEFORE, machine ${busy}% busy"
    done
    BUSY_BEFORE=$busy
    sleep "$COOLDOWN"
}

ROWS=$OUT/last_run.tsv
: >"$ROWS"
WANT=$((FPS * S))

# Runs "$@" (a function that sets CPU TOTAL WINDOW FIRST RSS NOTE) with the context around it.
measure() {
    local peer=$1 n=$2
    shift 2
    wait_quiet
    log "$peer N=$n (load $LOAD_BEFORE, ${BUSY_BEFORE}% busy over 5 s, quiet: $QUIET) ..."
    rm -rf "$WORK/run"
    mkdir -p "$WORK/run"
    CPU=- TOTAL=- WINDOW=- FIRST=- RSS=- NOTE=
    local m0 t0 s0 w0 m1 t1 s1 w1
    local o0 o1
    o0=$(listen_overflows)
    read -r m0 t0 < <(machine_jiffies)
    s0=$(server_jiffies)
    w0=$(now)
    "$@"
    w1=$(now)
    s1=$(server_jiffies)
    read -r m1 t1 < <(machine_jiffies)
    o1=$(listen_overflows)
    if [[ -n $o0 && -n $o1 ]] && ((o1 > o0)); then
        NOTE="${NOTE:+$NOTE; }$((o1 - o0)) TCP listen overflows (SYNs retried)"
    fi
    local wall server machine
    wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.3f", b - a }')
    server=$(awk -v j=$((s1 - s0)) -v w="$wall" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", j / hz / w }')
    machine=$(awk -v j=$((m1 - m0)) -v w="$wall" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", j / hz / w }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$peer" "$n" "$CPU" "$TOTAL" \
        "$WINDOW" "$FIRST" "$RSS" "$wall" "$LOAD_BEFORE" "$BUSY_BEFORE" "$QUIET" "$server" \
        "$machine" "$NOTE" >>"$ROWS"
    log "  -> cpu ${CPU} s, frames ${TOTAL} (window ${WINDOW} / $((n * WANT))), first ${FIRST} ms, rss ${RSS} B, server ${server} cores, machine ${machine} cores${NOTE:+, $NOTE}"
}

# Sums "user sys maxrss_kib" of the last line of each /usr/bin/time file: sets CPU RSS.
sum_time() {
    read -r CPU RSS < <(for f in "$@"; do tail -n 1 "$f"; done |
        awk '{ c += $1 + $2; r += $3 * 1024 } END { printf "%.3f %.0f\n", c, r }')
}

run_floor() {
    local -a out=(-f null -)
    [[ $1 == bgr24 ]] && out=(-pix_fmt bgr24 -f rawvideo -y /dev/null)
    "$TIME" -f '%U %S %M' -o "$WORK/run/time" \
        "$FFMPEG" -hide_banner -nostdin -loglevel error -nostats -progress "$WORK/run/progress" \
        -threads 1 -filter_threads 1 -stream_loop 1 -i "$CLIP" -threads 1 "${out[@]}"
    sum_time "$WORK/run/time"
    TOTAL=$(grep '^frame=' "$WORK/run/progress" | tail -n 1 | cut -d= -f2)
    WINDOW=-
}

run_ingest() {
    local format=$1 n=$2 i name=$1
    local -a urls=() extra=()
    if [[ $format == *-copy || $format == *-whole ]]; then
        format=${format%-*}
        extra=(--no-decode-in-place)
    fi
    for ((i = 0; i < n; i++)); do urls+=("$URL"); done
    if ! "$RTSP_INGEST" bench --json --duration "$S" --format "$format" "${extra[@]}" --transport tcp \
        "${urls[@]}" >"$WORK/run/out.json" 2>"$WORK/run/err"; then
        NOTE="rtsp-ingest failed: $(tail -n 1 "$WORK/run/err")"
        return
    fi
    cp "$WORK/run/out.json" "$OUT/ingest-$name-$n.json"
    read -r CPU TOTAL WINDOW FIRST RSS NOTE < <(python3 - "$WORK/run/out.json" "$WANT" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t, want = d["totals"], int(sys.argv[2])
frames = t["frames_decoded"]
cpu = (t["cpu_ms_per_frame"] or 0) * frames / 1e3
firsts = [s["first_frame_ms"] for s in d["streams"]]
first = "-" if any(f is None for f in firsts) else "%.1f" % max(firsts)
window = sum(min(s["frames_decoded"], want) for s in d["streams"])
bad = [s for s in d["streams"] if s["reconnects"] or s["decode_errors"]]
dropped = sum(s["frames_dropped"] for s in d["streams"])
note = []
if bad:
    note.append("%d streams with reconnects/decode errors" % len(bad))
if dropped:
    note.append("%d frames dropped (unpublished)" % dropped)
print("%.3f %d %d %s %d %s" % (cpu, frames, window, first, t["peak_rss_bytes"], "; ".join(note).replace(" ", "_") or ""))
PY
)
    NOTE=${NOTE//_/ }
}

run_ffmpeg() {
    local mode=$1 n=$2 i
    local -a out=(-f null -) pids=()
    [[ $mode == bgr24 ]] && out=(-pix_fmt bgr24 -f rawvideo -y /dev/null)
    for ((i = 0; i < n; i++)); do
        "$TIME" -f '%U %S %M' -o "$WORK/run/$i.time" timeout -s INT $((S + GRACE)) \
            "$FFMPEG" -hide_banner -nostdin -loglevel error -nostats -progress "$WORK/run/$i.progress" \
            -rtsp_transport tcp -i "$URL" -t "$S" "${out[@]}" 2>"$WORK/run/$i.err" &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    sum_time "$WORK/run/"*.time
    local f total=0 window=0 late=0
    for ((i = 0; i < n; i++)); do
        f=$(grep '^frame=' "$WORK/run/$i.progress" 2>/dev/null | tail -n 1 | cut -d= -f2)
        f=${f:-0}
        total=$((total + f))
        window=$((window + (f < WANT ? f : WANT)))
        grep -q 'status 124' "$WORK/run/$i.time" && late=$((late + 1))
    done
    TOTAL=$total WINDOW=$window
    ((late == 0)) || NOTE="$late of $n processes stopped by the S+GRACE timeout"
}

run_gst() {
    local mode=$1 n=$2 i
    local -a conv=() pids=()
    [[ $mode == bgr24 ]] && conv=(! videoconvert ! "video/x-raw,format=BGR")
    local t0
    t0=$(now)
    for ((i = 0; i < n; i++)); do
        (
            "$TIME" -f '%U %S %M' -o "$WORK/run/$i.time" timeout -s INT $((S + GRACE)) \
                stdbuf -oL "$GST_LAUNCH" -v rtspsrc location="$URL" protocols=tcp latency=0 \
                ! rtph264depay ! h264parse ! avdec_h264 "${conv[@]}" ! fakesink silent=false \
                2>"$WORK/run/$i.err" |
                grep --line-buffered -F 'last-message = chain' |
                { if IFS= read -r line; then now >"$WORK/run/$i.first"; printf '%s\n' "$line"; cat; fi; } \
                    >"$WORK/run/$i.lines"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    sum_time "$WORK/run/"*.time
    local total=0 window=0 first=- f w ms
    for ((i = 0; i < n; i++)); do
        # frames, and frames within the first S s of media (by fakesink's pts)
        read -r f w < <(awk -v s="$S" '
            { if (match($0, /pts: [0-9]+:[0-9]+:[0-9.]+/)) {
                  split(substr($0, RSTART + 5, RLENGTH - 5), a, ":"); p = a[1] * 3600 + a[2] * 60 + a[3]
                  if (n == 0) p0 = p
                  if (p - p0 < s - 0.001) w++ }
              n++ }
            END { print n + 0, w + 0 }' "$WORK/run/$i.lines")
        total=$((total + f))
        window=$((window + (w < WANT ? w : WANT)))
        if [[ -s $WORK/run/$i.first ]]; then
            ms=$(awk -v a="$t0" -v b="$(cat "$WORK/run/$i.first")" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
            [[ $first != - ]] && awk -v a="$first" -v b="$ms" 'BEGIN { exit !(a >= b) }' || first=$ms
        else
            NOTE="stream $i: no frame"
        fi
    done
    TOTAL=$total WINDOW=$window FIRST=$([[ $NOTE == *"no frame"* ]] && echo - || echo "$first")
}

run_opencv() {
    local mode=$1 n=$2 i
    local -a urls=()
    for ((i = 0; i < n; i++)); do urls+=("$URL"); done
    if ! OPENCV_FFMPEG_CAPTURE_OPTIONS='rtsp_transport;tcp' "$OPENCV_PY" "$HERE/opencv_capture.py" \
        --seconds "$S" --grace "$GRACE" --fps "$FPS" --mode "$mode" "${urls[@]}" \
        >"$WORK/run/out.json" 2>"$WORK/run/err"; then
        NOTE="opencv_capture.py failed: $(tail -n 1 "$WORK/run/err")"
        return
    fi
    read -r CPU TOTAL WINDOW FIRST RSS NOTE < <(python3 - "$WORK/run/out.json" "$WANT" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
s = d["streams"]
frames = sum(x["frames"] for x in s)
window = sum(min(x["frames"], want) for x in s)
firsts = [x["first_frame_ms"] for x in s]
first = "-" if any(f is None for f in firsts) else "%.1f" % max(firsts)
errors = [x["error"] for x in s if x["error"]] + ["not opened"] * sum(not x["opened"] for x in s)
print("%.3f %d %d %s %d %s" % (d["cpu_s"], frames, window, first, d["peak_rss_bytes"],
                              ("%d errors: %s" % (len(errors), errors[0])).replace(" ", "_") if errors else ""))
PY
)
    NOTE=${NOTE//_/ }
}

run_peer() {
    local peer=$1 n=$2
    case $peer in
        floor-null) measure "$peer" "$n" run_floor null ;;
        floor-bgr24) measure "$peer" "$n" run_floor bgr24 ;;
        rtsp-ingest-yuv420p) measure "$peer" "$n" run_ingest yuv420p "$n" ;;
        rtsp-ingest-yuv420p-copy) measure "$peer" "$n" run_ingest yuv420p-copy "$n" ;;
        rtsp-ingest-bgr24) measure "$peer" "$n" run_ingest bgr24 "$n" ;;
        rtsp-ingest-bgr24-whole) measure "$peer" "$n" run_ingest bgr24-whole "$n" ;;
        ffmpeg-null) measure "$peer" "$n" run_ffmpeg null "$n" ;;
        ffmpeg-bgr24) measure "$peer" "$n" run_ffmpeg bgr24 "$n" ;;
        gst-null) measure "$peer" "$n" run_gst null "$n" ;;
        gst-bgr24) measure "$peer" "$n" run_gst bgr24 "$n" ;;
        opencv-grab) measure "$peer" "$n" run_opencv grab "$n" ;;
        opencv-read) measure "$peer" "$n" run_opencv read "$n" ;;
        *) echo "run.sh: unknown peer $peer" >&2; exit 1 ;;
    esac
}

# --- facts -------------------------------------------------------------------------------------
FACTS=$OUT/last_run.facts.md
{
    echo "- Command: \`NS=\"$NS\" SECONDS_PER_RUN=$S GRACE_SECONDS=$GRACE INGEST_EXTRA_NS=\"$INGEST_EXTRA_NS\" bash benches/compare/run.sh\`"
    echo "- Started $(date -u '+%Y-%m-%d %H:%M UTC'); rtsp-ingest at \`$(git log -1 --oneline 2>/dev/null || echo '?')\`$(git status --porcelain -- src 2>/dev/null | grep -q . && echo ' (src/ has uncommitted changes)')"
    echo "- nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 2^20 }' /proc/meminfo); Linux $(uname -r)"
    echo "- $("$FFMPEG" -version | head -n 1 | cut -d' ' -f1-3); $("$GST_LAUNCH" --version | sed -n 2p), gst-libav $(gst-inspect-1.0 libav 2>/dev/null | awk '/^  Version/ { print $2; exit }')"
    if [[ -n $OPENCV_PY ]]; then
        echo "- OpenCV $("$OPENCV_PY" -c 'import cv2, re; b = cv2.getBuildInformation(); m = re.search(r"avcodec:\s*YES \(([^)]*)\)", b); print(cv2.__version__ + " (opencv-python-headless, its bundled FFmpeg: libavcodec " + (m.group(1) if m else "?") + ")")'), Python $("$OPENCV_PY" -c 'import platform; print(platform.python_version())')"
    fi
    echo "- Stream: $URL, $(basename "$CLIP") (1080p25 H.264 High, ~4 Mb/s, GOP 50, no B-frames, noise), RTSP/TCP, S = $S s, GRACE = $GRACE s"
} >"$FACTS"
cat "$FACTS" >&2

# --- the runs ----------------------------------------------------------------------------------
START=$SECONDS
for peer in floor-null floor-bgr24; do
    wants "$peer" && run_peer "$peer" 1
done
for n in $NS; do
    for peer in $PEERS; do
        [[ $peer == floor-* ]] && continue
        run_peer "$peer" "$n"
    done
done
for n in $INGEST_EXTRA_NS; do
    run_peer rtsp-ingest-bgr24 "$n"
done
echo "- Measuring took $((SECONDS - START)) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$FACTS"

# --- the table ---------------------------------------------------------------------------------
{
    cat "$FACTS"
    echo
    python3 "$HERE/report.py" "$ROWS" "$FPS" "$S"
} | tee "$OUT/last_run.md"
