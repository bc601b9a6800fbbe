#!/usr/bin/env bash
# CPU per frame of Python consumers against the Rust bench, on the same N
# simulated 1080p25 cameras served by another process (BENCHMARKS.md, "Python").
#   NS="1 8 16" SECONDS_PER_RUN=15 bash benches/python/run.sh   (NOISE=3: the pattern's noise, ~1.3 Mb/s)
# Needs target/python-venv (scripts/python-test.sh) with av and vidgear installed
# (pip install av vidgear).
set -euo pipefail
cd "$(dirname "$0")/../.."
NS="${NS:-1 8}"
S="${SECONDS_PER_RUN:-15}"
PY="${PY:-target/python-venv/bin/python}"
PORT="${PORT:-18554}"
max_n=$(echo $NS | tr ' ' '\n' | sort -n | tail -1)
cargo build --release --bin rtsp-ingest --quiet
target/release/rtsp-ingest simulate --cameras "$max_n" --size 1920x1080 --noise "${NOISE:-3}" --addr "127.0.0.1:$PORT" >/dev/null 2>&1 &
sim=$!
trap 'kill $sim' EXIT
sleep 30  # the simulator encodes its clip first
for n in $NS; do
    urls=$(for i in $(seq 0 $((n - 1))); do printf 'rtsp://127.0.0.1:%s/cam%s ' "$PORT" "$i"; done)
    echo "## N=$n rust bench"
    target/release/rtsp-ingest bench --duration "$S" --json $urls | tail -1
    for client in ${CLIENTS:-rtsp_ingest pyav opencv vidgear}; do
        echo "## N=$n $client"
        "$PY" benches/python/consumer.py --client "$client" --seconds "$S" $urls
    done
done
