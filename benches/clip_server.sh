# Sourced by the benchmark scripts (decode_path.sh, compare/run.sh, startup_profile.sh): the cached
# benchmark clip and the looping RTSP server that serves it at /cam on 127.0.0.1.

# make_clip CLIP: 20 s of 1920x1080 at 25 fps with noise, H.264 High, 4 Mb/s, GOP 50, no B-frames,
# made with $FFMPEG (default ffmpeg) unless CLIP already exists.
make_clip() {
    local clip=$1
    [[ -s $clip ]] && return
    mkdir -p "$(dirname "$clip")"
    echo "making $clip ..." >&2
    "${FFMPEG:-ffmpeg}" -hide_banner -loglevel error -nostdin -y \
        -f lavfi -i "testsrc2=size=1920x1080:rate=25,noise=alls=20:allf=t+u" -t 20 \
        -c:v libx264 -profile:v high -preset veryfast -pix_fmt yuv420p \
        -g 50 -keyint_min 50 -sc_threshold 0 -bf 0 \
        -b:v 4M -maxrate 4M -bufsize 8M -movflags +faststart \
        "$clip.tmp.mp4"
    mv "$clip.tmp.mp4" "$clip"
}

# serve_clip PYTHON SERVER_SCRIPT DIR CLIP MAX_SECONDS [SERVER_ARGS...]: starts the server looping
# CLIP (its READY line read through fd 3 from a fifo in DIR, its stderr in DIR/server.err) and sets
# SERVER_PID, PORT and URL; exits the script when the server does not start within 30 s.
serve_clip() {
    local python=$1 script=$2 dir=$3 clip=$4 max_seconds=$5 ready
    shift 5
    rm -f "$dir/server.out"
    mkfifo "$dir/server.out"
    "$python" "$script" "$@" --host 127.0.0.1 --port 0 --loop --max-seconds "$max_seconds" \
        --clip "/cam=$clip" >"$dir/server.out" 2>"$dir/server.err" &
    SERVER_PID=$!
    exec 3<"$dir/server.out"
    if ! read -r -t 30 ready <&3 || [[ $ready != READY* ]]; then
        echo "$(basename "$0"): the RTSP server did not start: ${ready:-}" >&2
        cat "$dir/server.err" >&2
        exit 1
    fi
    PORT=${ready#READY port=}
    PORT=${PORT%% *}
    URL=rtsp://127.0.0.1:$PORT/cam
}
