# Sourced by the scripts: makes sure a Rust toolchain is on PATH, or says how
# to get one. The project needs Rust 1.88 or newer (Debian 12's own is older).
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "rtsp-ingest needs Rust 1.88 or newer: install it with rustup" >&2
    echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh" >&2
    exit 1
fi
