//! Cameras that send more than video (issue 12 §1): the simulator's audio
//! (G.711 A-law, AAC) and ONVIF metadata tracks, set up only by clients that
//! want them; the engine sets up the video only, and only video progress
//! keeps a stream `streaming`: when the video stops while the audio and
//! metadata go on, the stream stalls and reconnects. Real simulator on
//! 127.0.0.1; every wait is bounded; nothing is timed.

#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::process::Command;
use std::time::{Duration, Instant};

use rtsp_fixture::run_bounded;
use rtsp_ingest::simulate::{AudioCodec, PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::stream::{Backoff, RtspClient, Stream, StreamConfig, StreamEvent, StreamState};
use rtsp_ingest::ErrorKind;
use stream_util::wait_for;

const STALL: Duration = Duration::from_millis(1500);

/// Small cameras with audio and metadata beside the video.
fn cameras(audio: AudioCodec) -> SimulatorConfig {
    SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .pattern(PatternOptions::default().size(320, 180).frames(50))
        .audio(Some(audio))
        .metadata(true)
}

/// A stream with short timeouts, so a stall resolves within seconds.
fn engine(url: &str, tweak: impl FnOnce(StreamConfig) -> StreamConfig) -> Stream {
    let config = StreamConfig::new(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(3))
        .stall_timeout(STALL)
        .backoff(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        })
        .queue_capacity(16);
    Stream::start("tracks", tweak(config)).unwrap()
}

fn stop(stream: &mut Stream) {
    let begun = Instant::now();
    assert!(stream.stop());
    assert!(begun.elapsed() < Duration::from_millis(500));
}

fn events(stream: &Stream) -> Vec<StreamEvent> {
    stream.events().unwrap().try_iter().collect()
}

#[test]
fn the_ffmpeg_cli_sets_up_and_receives_every_track() {
    for (codec, name) in [(AudioCodec::Alaw, "pcm_alaw"), (AudioCodec::Aac, "aac")] {
        let simulator = Simulator::start(cameras(codec)).unwrap();
        // FFmpeg sets up every track: interleaved channels 0-1, 2-3 and 4-5.
        let out = run_bounded(
            Command::new(rtsp_fixture::ffmpeg())
                .args(["-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i"])
                .arg(simulator.url(0))
                .args(["-map", "0:v", "-map", "0:a", "-c", "copy", "-t", "2"])
                .args(["-f", "null", "-"]),
            Duration::from_secs(30),
        );
        assert!(out.success(), "{}: {}", out.describe_status(), out.stderr);
        assert!(out.stderr.contains(name), "{name}: {}", out.stderr);
        assert!(out.stderr.contains("Data:"), "{}", out.stderr);
        let stats = &simulator.stats().cameras[0];
        assert_eq!(
            (
                stats.video_setups,
                stats.audio_setups,
                stats.metadata_setups
            ),
            (1, 1, 1),
            "{stats:?}"
        );
        assert!(stats.audio_packets > 10, "{stats:?}");
        assert!(stats.metadata_packets >= 2, "{stats:?}");
    }
}

#[test]
fn the_engine_sets_up_only_the_video_and_streams() {
    for codec in [AudioCodec::Alaw, AudioCodec::Aac] {
        let simulator = Simulator::start(cameras(codec)).unwrap();
        let mut stream = engine(&simulator.url(0), |c| c);
        let status = wait_for(&stream, Duration::from_secs(10), "frames", |s| {
            s.published >= 20 && s.state == StreamState::Streaming
        });
        assert_eq!(status.reconnects, 0, "{status:#?}");
        assert_eq!(status.decode_errors, 0, "{status:#?}");
        let media = status.media.expect("media");
        assert_eq!((media.codec.as_str(), media.width), ("h264", 320));
        let stats = &simulator.stats().cameras[0];
        assert_eq!(stats.video_setups, 1, "{stats:?}");
        assert_eq!(
            (stats.audio_setups, stats.metadata_setups),
            (0, 0),
            "the audio and metadata are never set up: {stats:?}"
        );
        assert_eq!(
            (stats.audio_packets, stats.metadata_packets),
            (0, 0),
            "{stats:?}"
        );
        stop(&mut stream);
    }
}

/// The video stops 2 s after `PLAY`; the audio and metadata go on.
fn video_stops(all_tracks: bool, client: RtspClient) {
    let config = cameras(AudioCodec::Alaw).fault("video-stops-after=2s".parse().unwrap());
    let simulator = Simulator::start(config).unwrap();
    let mut stream = engine(&simulator.url(0), |c| {
        let c = c.rtsp_client(client);
        if all_tracks {
            c.inject_all_tracks()
        } else {
            c
        }
    });
    wait_for(&stream, Duration::from_secs(10), "frames", |s| {
        s.published >= 10
    });
    let status = wait_for(
        &stream,
        Duration::from_secs(10),
        "a stall and a reconnect",
        |s| s.reconnects >= 1,
    );
    let error = status.last_error.expect("the stall is reported");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(error.message().contains("stalled"), "{error}");
    // The next session streams again (until its video stops too).
    let before = status.published;
    wait_for(
        &stream,
        Duration::from_secs(10),
        "frames after the reconnect",
        |s| s.published >= before + 5,
    );
    let log = events(&stream);
    let stalled = log
        .iter()
        .position(|e| e.state == StreamState::Stalled)
        .unwrap_or_else(|| panic!("no stalled event: {log:?}"));
    assert!(
        log[stalled..]
            .iter()
            .any(|e| matches!(e.state, StreamState::Reconnecting { .. })),
        "{log:?}"
    );
    let stats = &simulator.stats().cameras[0];
    assert!(stats.video_stops >= 1, "{stats:?}");
    assert!(stats.sessions >= 2, "{stats:?}");
    if all_tracks {
        // The audio went on after the video stopped, and reached the engine.
        assert!(stats.audio_setups >= 1, "{stats:?}");
        assert!(stats.audio_packets > 100, "{stats:?}");
    } else {
        assert_eq!(stats.audio_setups + stats.metadata_setups, 0, "{stats:?}");
    }
    stop(&mut stream);
}

#[test]
fn a_stopped_video_stalls_the_stream_while_the_audio_goes_on() {
    video_stops(false, RtspClient::Ffmpeg);
}

/// The native client sets up only the video too.
#[test]
fn through_the_native_client_a_stopped_video_stalls_the_stream() {
    video_stops(false, RtspClient::Native);
}

/// With the audio and metadata set up anyway (a test-only switch), their
/// packets reach the read loop after the video stopped: only the check of
/// video progress on every iteration ends the session.
#[test]
fn other_streams_packets_do_not_keep_a_dead_video_alive() {
    video_stops(true, RtspClient::Ffmpeg);
}
