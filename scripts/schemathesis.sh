#!/usr/bin/env bash
# Fuzzes the control API with schemathesis (PyPI) from its own OpenAPI
# description: every operation, valid and invalid inputs, all of
# schemathesis' checks (no 5xx, every answer in the schema, no undocumented
# status, ...), with the admin token. The server and schemathesis run inside a
# network namespace of their own with only loopback up, so the streams added
# with fuzzed URLs reach nothing. Then the server must still answer.
# Run as root from anywhere in the repository: bash scripts/schemathesis.sh
# (scripts/test.sh runs it after building). ST_EXAMPLES bounds the run.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${RTSP_INGEST_BIN:-target/release/rtsp-ingest}
venv=target/venv-schemathesis
if [ ! -x "$venv/bin/st" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis>=4.1,<5"
fi

namespace="rtsp-ingest-st-$$"
work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    ip netns del "$namespace" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$namespace"
ip netns exec "$namespace" ip link set lo up
in_namespace() { ip netns exec "$namespace" "$@"; }

admin="st-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
viewer="st-viewer-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf 'admin = "%s"\nread_only = "%s"\n' "$admin" "$viewer" >"$work/tokens.toml"
cat >"$work/cams.toml" <<TOML
[manager]
# Room for every stream the fuzzer adds (each reserves ~48 MiB for a camera
# that never answers): a full budget answers 507, which schemathesis counts as
# a server error. The refusal itself is tested in tests/manager.rs and
# tests/http_api.rs.
memory_budget_mb = 8192

[[stream]]
id = "cam"
url = "rtsp://127.0.0.1:9/live"
TOML

in_namespace "$bin" run --config "$work/cams.toml" --http 127.0.0.1:8080 \
    --http-token-file "$work/tokens.toml" --json >"$work/stdout" 2>"$work/stderr" &
server=$!
api=http://127.0.0.1:8080
for _ in $(seq 100); do
    in_namespace curl -sf "$api/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

# /mjpeg answers for as long as the client reads: fuzzing it would only time
# out (tests/http_pictures.rs covers it).
status=0
in_namespace "$venv/bin/st" --config-file scripts/schemathesis.toml run "$api/openapi.json" \
    --header "Authorization: Bearer $admin" \
    --exclude-path /streams/{id}/mjpeg \
    --max-examples "${ST_EXAMPLES:-150}" \
    --generation-database none \
    --seed 14 \
    --request-timeout 10 \
    --workers 2 \
    --no-color \
    --report junit --report-dir "$work/report" || status=$?

# The server still answers, and never printed a token.
alive=0
in_namespace curl -sf -H "Authorization: Bearer $viewer" "$api/streams" >/dev/null || alive=$?
leaked=0
if grep -qF -e "$admin" -e "$viewer" "$work/stdout" "$work/stderr"; then leaked=1; fi
if [ "$status" -ne 0 ] || [ "$alive" -ne 0 ] || [ "$leaked" -ne 0 ]; then
    echo "schemathesis: exit $status; server answering afterwards: $([ $alive -eq 0 ] && echo yes || echo no); token in output: $leaked" >&2
    tail -n 40 "$work/stderr" >&2
    exit 1
fi
echo "schemathesis: no failure; the server answers afterwards"
