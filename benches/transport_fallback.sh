#!/usr/bin/env bash
# First frame with the transport fallback: `rtsp-ingest probe` (default
# transport prefer_tcp: TCP refused with 461, then UDP) against a simulator
# started with --refuse-tcp, versus `--transport udp` against the same
# simulator, and `--transport tcp` against a plain one for reference.
# Usage: bash benches/transport_fallback.sh [RUNS] (default 10); needs a
# release build (cargo build --release).
set -euo pipefail
runs=${1:-10}
bin=${BIN:-target/release/rtsp-ingest}
port_udp_only=18654
port_plain=18655
"$bin" simulate --refuse-tcp --addr 127.0.0.1:$port_udp_only --duration 600 >/dev/null &
udp_only=$!
"$bin" simulate --addr 127.0.0.1:$port_plain --duration 600 >/dev/null &
plain=$!
trap 'kill $udp_only $plain 2>/dev/null || true' EXIT
sleep 3 # the simulators encode their clips

first_frame() { # URL ARGS... → first_frame_ms and transport of one probe
  "$bin" probe --json "$@" |
    python3 -c "import json, sys; r = json.load(sys.stdin); print('%.1f %s' % (r['first_frame_ms'], r['transport']))"
}

for label in "prefer_tcp (fallback)|rtsp://127.0.0.1:$port_udp_only/cam0" \
             "udp|rtsp://127.0.0.1:$port_udp_only/cam0|--transport|udp" \
             "tcp (plain camera)|rtsp://127.0.0.1:$port_plain/cam0|--transport|tcp"; do
  IFS='|' read -r name url extra value <<<"$label"
  args=("$url")
  [ -n "${extra:-}" ] && args+=("$extra" "$value")
  samples=()
  for _ in $(seq "$runs"); do
    samples+=("$(first_frame "${args[@]}")")
  done
  printf '%s\n' "${samples[@]}" | python3 -c "
import statistics, sys
name = sys.argv[1]
rows = [line.split() for line in sys.stdin if line.strip()]
ms = sorted(float(r[0]) for r in rows)
used = ','.join(sorted({r[1] for r in rows}))
print('%-24s n=%2d  median %6.1f ms  min %6.1f  max %6.1f  transport %s'
      % (name, len(ms), statistics.median(ms), ms[0], ms[-1], used))
" "$name"
done
