#!/usr/bin/env bash
# The Python package's suite, as scripts/test.sh runs it: builds python/ into
# a fresh virtual environment with pip (maturin, PyO3, the abi3 wheel), then
# runs its pytest suite (python/tests: the simulator, the GStreamer fixture,
# the seed's FrameBuffer, the examples in examples/python).
# Needs python3 ≥ 3.11 with venv, Rust, and the packages of install-deps.sh.
# PYTHON picks the interpreter; VENV the environment's place (made anew).
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
venv="${VENV:-target/python-venv}"

rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
# The build backend and the suite's own needs: numpy for the frames, OpenCV's
# Haar cascades (OpenCV 5 dropped them) and matplotlib's sample portrait for
# examples/python/detect.py, mypy for the stub check.
"$venv/bin/pip" install --quiet maturin pytest numpy "opencv-python-headless<5" matplotlib mypy
"$venv/bin/pip" install ./python
# The stubs against the built module (what a type checker sees vs what runs).
(cd /tmp && "$OLDPWD/$venv/bin/python" -m mypy.stubtest rtsp_ingest --allowlist "$OLDPWD/python/stubtest-allowlist.txt")
# From the repository root, so python/rtsp_ingest does not shadow the installed package.
"$venv/bin/pytest" -q python/tests
