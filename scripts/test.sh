#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (FFmpeg's
# development libraries, clang, GStreamer's RTSP server for the integration
# tests, cargo-fuzz), then formatting, clippy, every test against real RTSP
# servers on 127.0.0.1, the Python package's pytest suite (python/, built into
# a fresh venv), schemathesis against the control API, the loom model checks
# and a short fuzz run.
# Run from anywhere in the repository, as root on Debian 12 (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n=== %s (%ss)\n' "$1" "$SECONDS"; }

section "system packages"
bash scripts/install-deps.sh
source scripts/rust-env.sh

section "cargo-fuzz"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --quiet
fi

section "format"
cargo fmt --all -- --check

section "clippy"
cargo clippy --workspace --all-targets -- -D warnings

section "dashboard test's browser driver (playwright-core, no browser download)"
(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)

section "tests"
cargo test --release --workspace

section "python package"
# The rtsp_ingest module built into a fresh venv with pip, and its pytest suite.
bash scripts/python-test.sh

section "control API fuzz (schemathesis, in a loopback-only network namespace)"
cargo build --release --bin rtsp-ingest
bash scripts/schemathesis.sh

section "loom model checks"
RUSTFLAGS="--cfg rtsp_ingest_loom" LOOM_MAX_PREEMPTIONS=3 \
    cargo test --release -p loom-tests --target-dir target/loom

section "fuzz smoke run"
RUSTC_BOOTSTRAP=1 cargo fuzz run slab_ops -- -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=4096

section "all passed"
