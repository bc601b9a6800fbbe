#!/usr/bin/env bash
# Installs the system packages rtsp-ingest builds and tests against (Debian 12,
# as root): FFmpeg's development libraries for ffmpeg-sys-next, clang for its
# bindgen, the ffmpeg CLI, GStreamer's RTSP server (through python3-gi) that
# the integration tests run on 127.0.0.1, and iproute2 for the tests that make
# network namespaces of their own, python3-yaml for the deploy manifests'
# test, curl and python3-venv for the schemathesis run and the Python package's suite, Chromium (and npm,
# unless a Node.js with npm is there) for the dashboard's test. Skips apt when everything is present.
set -euo pipefail

packages=(
    pkg-config clang libclang-dev
    ffmpeg libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
    libavdevice-dev libavfilter-dev libswresample-dev
    python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-tools gstreamer1.0-rtsp
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    gstreamer1.0-plugins-ugly gstreamer1.0-libav
    iproute2 python3-yaml curl python3-venv
    chromium fonts-dejavu-core
)

missing=()
command -v npm >/dev/null 2>&1 || missing+=(npm)
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "all ${#packages[@]} system packages present"
    exit 0
fi
echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
