#!/usr/bin/env bash
# The demo: installs what is missing, builds, then starts simulated RTSP cameras
# in-process and ingests them with a live status table, until Ctrl-C (or for
# --duration S). Extra arguments go to `rtsp-ingest demo` (try --help).
# Run from anywhere in the repository, as root on Debian 12 (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/rust-env.sh
exec cargo run --release --quiet --bin rtsp-ingest -- demo "$@"
