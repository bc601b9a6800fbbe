#!/usr/bin/env bash
# The decode path's CPU time per frame: rtsp-ingest vs the ffmpeg CLI, on the
# same 1080p25 H.264 stream, one after another in the same run.
#
#   bash benches/decode_path.sh                       # 20 s per RTSP row, one round (~2.3 min)
#   ROUNDS=2 bash benches/decode_path.sh               # 2 interleaved rounds, medians (~4.2 min)
#   INGEST=target/release/rtsp-ingest bash benches/decode_path.sh   # no cargo build
#   EXTRA_FORMATS="gray8 nv12" bash benches/decode_path.sh   # more rtsp-ingest rows (+22 s each)
#
# Makes (once, cached under target/decode_path/) a 20 s 1080p25 H.264 High clip
# with noise (-g 50 -sc_threshold 0 -bf 0, ~4 Mb/s), serves it looping with the
# GStreamer fixture server (tests/fixtures/rtsp_server.py; every client gets its
# own pipeline starting at frame 0, paced in real time), then measures:
#   (a) rtsp-ingest bgr24           rtsp-ingest bench --json
#   (b) rtsp-ingest yuv420p
#   (c) ffmpeg -rtsp_transport tcp -i URL -t S -f null -          (-threads 1, then default)
#   (d) ffmpeg ... -pix_fmt bgr24 -f rawvideo -y /dev/null         (-threads 1, then default)
#   (e) ffmpeg -threads 1 -i clip.mp4 -f null -   (the floor: decode only, no network, no pacing)
#       and the same with -pix_fmt bgr24 -f rawvideo
# "-threads 1" rows: one decoder thread (-threads 1 before -i), one filter thread
# (-filter_threads 1) and one encoder thread (-threads 1 after -i; rawvideo's
# encoder is frame-threaded otherwise), as rtsp-ingest uses one worker thread.
# CPU time: rtsp-ingest reads /proc/self/stat; ffmpeg runs under /usr/bin/time.
# Frames: rtsp-ingest's `decoded`; ffmpeg's last `frame=` of -progress.
# Needs: ffmpeg (libx264), /usr/bin/time, python3-gi + gst-rtsp-server (see
# tests/support/rtsp_fixture.rs APT_PACKAGES), cargo.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=benches/clip_server.sh
source benches/clip_server.sh
S=${SECONDS_PER_RUN:-20}
ROUNDS=${ROUNDS:-1}
EXTRA_FORMATS=${EXTRA_FORMATS:-}
FPS=25
FFMPEG=${FFMPEG:-ffmpeg}
PYTHON=${RTSP_FIXTURE_PYTHON:-/usr/bin/python3}
TIME=/usr/bin/time
CACHE=$ROOT/target/decode_path
CLIP=$CACHE/clip_1080p25_h264_high_noise_4M_20s.mp4
WORK=$(mktemp -d "${TMPDIR:-/tmp}/decode_path.XXXXXX")
SERVER_PID=

cleanup() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

[[ -x $TIME ]] || { echo "decode_path.sh: $TIME missing (apt-get install time)" >&2; exit 1; }

# --- the clip -----------------------------------------------------------------
make_clip "$CLIP"

# --- the example ----------------------------------------------------------------
# INGEST=path skips the build and uses that binary (e.g. one built earlier).
if [[ -z ${INGEST:-} ]]; then
    cargo build --release --quiet --bin rtsp-ingest
    INGEST=$ROOT/target/release/rtsp-ingest
fi

# --- the server -----------------------------------------------------------------
serve_clip "$PYTHON" "$ROOT/tests/fixtures/rtsp_server.py" "$WORK" "$CLIP" 900

# --- measuring ------------------------------------------------------------------
ROWS=$WORK/rows.tsv
: >"$ROWS"
EXPECTED=$((FPS * S))

# row TOOL CPU_SECONDS FRAMES FIRST_FRAME_MS WORKER_CPU_SECONDS EXPECTED_FRAMES ("-" = none)
row() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"
    printf '  -> %s: %s frames, %s s CPU (%s ms/frame)\n' "$1" "$3" "$2" \
        "$(awk -v c="$2" -v f="$3" 'BEGIN { if (f > 0) printf "%.2f", c * 1000 / f; else print "n/a" }')" >&2
}

ingest() {
    local format=$1
    echo "rtsp-ingest $format ($S s) ..." >&2
    "$INGEST" bench "$URL" --duration "$S" --format "$format" --transport tcp --json >"$WORK/ingest.out"
    read -r cpu frames first < <("$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
print(t["cpu_ms_per_frame"] * t["frames_decoded"] / 1000, t["frames_decoded"], d["streams"][0]["first_frame_ms"])' "$WORK/ingest.out")
    row "rtsp-ingest $format" "$cpu" "$frames" "$first" "-" "$EXPECTED"
}

# ffmpeg_run LABEL EXPECTED ARGS... (CPU by /usr/bin/time, frames by -progress)
ffmpeg_run() {
    local label=$1 expected=$2
    shift 2
    echo "$label ..." >&2
    rm -f "$WORK/progress" "$WORK/time"
    if ! "$TIME" -f '%U %S' -o "$WORK/time" \
        "$FFMPEG" -hide_banner -nostdin -loglevel error -nostats -progress "$WORK/progress" "$@" \
        2>"$WORK/ffmpeg.err"; then
        echo "decode_path.sh: ffmpeg failed:" >&2
        cat "$WORK/ffmpeg.err" >&2
        exit 1
    fi
    local cpu frames
    cpu=$(tail -n 1 "$WORK/time" | awk '{ printf "%.2f", $1 + $2 }')
    frames=$(grep '^frame=' "$WORK/progress" | tail -n 1 | cut -d= -f2)
    row "$label" "$cpu" "${frames:-0}" - - "$expected"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)

for ((round = 1; round <= ROUNDS; round++)); do
    [[ $ROUNDS == 1 ]] || echo "--- round $round of $ROUNDS" >&2
    ingest bgr24
    ingest yuv420p
    for format in $EXTRA_FORMATS; do ingest "$format"; done
    ffmpeg_run "ffmpeg -threads 1, -f null" "$EXPECTED" \
        -threads 1 -filter_threads 1 -rtsp_transport tcp -i "$URL" -threads 1 -t "$S" -f null -
    ffmpeg_run "ffmpeg -threads 1, bgr24 rawvideo" "$EXPECTED" \
        -threads 1 -filter_threads 1 -rtsp_transport tcp -i "$URL" -threads 1 -t "$S" -pix_fmt bgr24 -f rawvideo -y /dev/null
    ffmpeg_run "ffmpeg default threads, -f null" "$EXPECTED" \
        -rtsp_transport tcp -i "$URL" -t "$S" -f null -
    ffmpeg_run "ffmpeg default threads, bgr24 rawvideo" "$EXPECTED" \
        -rtsp_transport tcp -i "$URL" -t "$S" -pix_fmt bgr24 -f rawvideo -y /dev/null
    ffmpeg_run "floor: ffmpeg -threads 1 file, -f null" - \
        -threads 1 -filter_threads 1 -i "$CLIP" -threads 1 -f null -
    ffmpeg_run "floor: ffmpeg -threads 1 file, bgr24 rawvideo" - \
        -threads 1 -filter_threads 1 -i "$CLIP" -threads 1 -pix_fmt bgr24 -f rawvideo -y /dev/null
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the table ----------------------------------------------------------------------
echo
echo "Stream: $URL (1080p25 H.264 High, ~4 Mb/s, GOP 50, no B-frames, looping), RTSP over TCP, $S s per RTSP row."
echo "nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $("$FFMPEG" -version | head -n 1 | cut -d' ' -f1-3)."
echo "Load average (1/5/15 min): before $LOAD_BEFORE, after $LOAD_AFTER; $(($(date +%s) - START)) s of measuring."
echo
"$PYTHON" - "$ROWS" "$ROUNDS" <<'PY'
import collections, statistics, sys
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    tool, cpu, frames, first, worker, expected = line.rstrip("\n").split("\t")
    rows.setdefault(tool, []).append((float(cpu), int(frames), first, worker, expected))
rounds = int(sys.argv[2])
def per_frame(seconds, frames):
    return seconds * 1000 / frames if frames else float("nan")
def cell(values, digits=2):
    med = statistics.median(values)
    if len(values) == 1:
        return "%.*f" % (digits, med)
    return "%.*f (%.*f–%.*f)" % (digits, med, digits, min(values), digits, max(values))
print("| tool | CPU ms/frame%s | worker thread ms/frame | frames | realtime kept (≥ 95 %% of 25 × S) | first frame |"
      % (" (median, min–max of %d)" % rounds if rounds > 1 else ""))
print("| --- | ---: | ---: | ---: | --- | ---: |")
for tool, runs in rows.items():
    cpu = cell([per_frame(c, f) for c, f, *_ in runs])
    worker = "–" if runs[0][3] == "-" else cell([per_frame(float(w), f) for c, f, _, w, _ in runs])
    frames = "/".join(str(f) for _, f, *_ in runs)
    expected = runs[0][4]
    if expected == "-":
        kept = "n/a (file, decoded as fast as possible)"
    else:
        ok = all(f >= 0.95 * int(expected) for _, f, *_ in runs)
        kept = "%s (expected %s)" % ("yes" if ok else "NO", expected)
    first = "–" if runs[0][2] == "-" else cell([float(r[2]) for r in runs], 0) + " ms"
    print("| %s | %s | %s | %s | %s | %s |" % (tool, cpu, worker, frames, kept, first))
PY
