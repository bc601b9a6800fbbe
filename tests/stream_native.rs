//! The native RTSP client (`RtspClient::Native`, retina feeding our FFmpeg
//! decoders) end to end against real servers on 127.0.0.1: the simulator,
//! whose stamp proves every published frame is the exact frame sent, and
//! GStreamer's RTSP server. H.264, H.265 and MJPEG; Basic auth right and
//! wrong (no retry storm); a prompt stop; a stalled camera; books that add up.

#[allow(dead_code)]
#[path = "support/log_capture.rs"]
mod log_capture;
#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime};

use rtsp_fixture::{pattern, RtspServer, MOUNT_H264, MOUNT_H265, MOUNT_MJPEG};
use rtsp_ingest::ffmpeg::VideoCodec;
use rtsp_ingest::simulate::{stamp, PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::slab::Frame;
use rtsp_ingest::stream::{Backoff, RtspClient, Stream, StreamConfig, StreamState, Transport};
use rtsp_ingest::ErrorKind;
use stream_util::{collect_frames, wait_for};

/// Frames in the simulator's loop.
const LOOP: u32 = 30;
/// Frames each stamp check reads (more than a loop).
const FRAMES: usize = 40;
const USER: &str = "viewer";
const PASSWORD: &str = "pw-n4tive-s3cr3t";

fn simulator(codec: VideoCodec, faults: &str) -> Simulator {
    let pattern = PatternOptions::default()
        .codec(codec)
        .size(640, 360)
        .frames(LOOP)
        .fps(25)
        .gop(10);
    let mut config = SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .pattern(pattern);
    if !faults.is_empty() {
        config = config.faults(faults.parse().unwrap());
    }
    Simulator::start(config).unwrap()
}

fn native(url: &str) -> StreamConfig {
    StreamConfig::new(url)
        .unwrap()
        .rtsp_client(RtspClient::Native)
        .connect_timeout(Duration::from_secs(3))
        .backoff(Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
        })
        .queue_capacity(FRAMES + 8)
}

fn stop_quickly(stream: &mut Stream) {
    let begun = Instant::now();
    assert!(stream.stop());
    let took = begun.elapsed();
    assert!(took <= Duration::from_millis(300), "stop took {took:?}");
    assert_eq!(stream.status().state, StreamState::Stopped);
}

/// Reads `FRAMES` frames in order; every stamp must be the next frame of the
/// loop, the pts must grow by one frame interval (40 ms at 25 fps) and the
/// capture time (from the simulator's RTCP sender reports) must be now-ish.
fn check_exact_frames(codec: VideoCodec, codec_name: &str) {
    let simulator = simulator(codec, "");
    let mut stream = Stream::start("native", native(&simulator.url(0))).unwrap();
    let frames = collect_frames(&stream, FRAMES, Duration::from_secs(20));
    let status = stream.status();
    assert_eq!(status.reconnects, 0, "{status:#?}");
    let media = status.media.clone().unwrap();
    assert_eq!(
        (media.codec.as_str(), media.width, media.height),
        (codec_name, 640, 360),
        "{media:?}"
    );
    assert!(frames[0].is_keyframe(), "the first frame is a keyframe");
    let stamps: Vec<Option<u32>> = frames.iter().map(stamp::read).collect();
    for (pair, frames) in stamps.windows(2).zip(frames.windows(2)) {
        let (Some(a), Some(b)) = (pair[0], pair[1]) else {
            panic!("an illegible stamp: {stamps:?}");
        };
        assert_eq!(b, (a + 1) % LOOP, "consecutive frames: {stamps:?}");
        let (pa, pb) = (frames[0].pts_ns().unwrap(), frames[1].pts_ns().unwrap());
        assert_eq!(pb - pa, 40_000_000, "pts step of one frame at 25 fps");
        // The simulator's GOP is 10 frames.
        assert_eq!(frames[1].is_keyframe(), b % 10 == 0, "keyframe flag of {b}");
    }
    let dated: Vec<SystemTime> = frames.iter().filter_map(Frame::capture_time).collect();
    assert!(
        !dated.is_empty(),
        "no frame dated from an RTCP sender report"
    );
    assert!(dated.windows(2).all(|pair| pair[0] < pair[1]));
    let age = SystemTime::now()
        .duration_since(*dated.last().unwrap())
        .unwrap();
    assert!(age < Duration::from_secs(30), "capture time {age:?} ago");
    stop_quickly(&mut stream);
    let status = stream.status();
    assert_eq!(status.decoded, status.published + status.dropped.total());
}

#[test]
fn h264_through_the_native_client_publishes_the_exact_frames_sent() {
    check_exact_frames(VideoCodec::H264, "h264");
}

#[test]
fn h265_through_the_native_client_publishes_the_exact_frames_sent() {
    check_exact_frames(VideoCodec::H265, "hevc");
}

#[test]
fn gstreamer_h264_h265_and_mjpeg_decode_to_the_known_pattern() {
    let server = RtspServer::start_looping();
    for (mount, codec) in [
        (MOUNT_H264, "h264"),
        (MOUNT_H265, "hevc"),
        (MOUNT_MJPEG, "mjpeg"),
    ] {
        let mut stream = Stream::start(mount, native(&server.url(mount))).unwrap();
        let frames = collect_frames(&stream, 30, Duration::from_secs(15));
        let status = stream.status();
        assert_eq!(status.media.as_ref().unwrap().codec, codec, "{status:#?}");
        let mut previous = None;
        for frame in &frames {
            let rows: Vec<u8> = (0..frame.height() as usize)
                .flat_map(|y| frame.row(0, y).to_vec())
                .collect();
            let index = pattern::check_bgr24(&rows)
                .unwrap_or_else(|error| panic!("{mount} frame {}: {error}", frame.seq()));
            if let Some(previous) = previous {
                assert_eq!(index, (previous + 1) % pattern::FRAMES, "{mount}");
            }
            previous = Some(index);
        }
        stop_quickly(&mut stream);
    }
}

#[test]
fn udp_through_the_native_client_delivers_frames() {
    let server = RtspServer::start_looping();
    let config = native(&server.url(MOUNT_H264)).transport(Transport::Udp);
    let mut stream = Stream::start("udp", config).unwrap();
    let frames = collect_frames(&stream, 20, Duration::from_secs(15));
    assert_eq!(frames.len(), 20);
    stop_quickly(&mut stream);
}

#[test]
fn the_right_basic_login_streams_and_no_secret_shows() {
    log_capture::install();
    let simulator = simulator(VideoCodec::H264, &format!("auth={USER}:{PASSWORD}"));
    let mut stream = Stream::start("login", native(&simulator.url_with_credentials(0))).unwrap();
    wait_for(&stream, Duration::from_secs(10), "5 frames", |s| {
        s.published >= 5
    });
    stop_quickly(&mut stream);
    let shown = format!(
        "{:?}\n{stream:?}\n{}",
        stream.status(),
        log_capture::captured()
    );
    assert!(!shown.contains(PASSWORD), "the password shows: {shown}");
}

#[test]
fn a_wrong_basic_login_is_auth_failed_without_a_retry_storm() {
    log_capture::install();
    let simulator = simulator(VideoCodec::H264, &format!("auth={USER}:the-right-one"));
    let url = simulator
        .url(0)
        .replacen("rtsp://", &format!("rtsp://{USER}:{PASSWORD}@"), 1);
    let config = native(&url).auth_retry(Duration::from_secs(1));
    let mut stream = Stream::start("wrong", config).unwrap();
    let status = wait_for(&stream, Duration::from_secs(10), "auth failed", |s| {
        s.state == StreamState::AuthFailed
    });
    let error = status.last_error.unwrap();
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
    assert!(error.message().contains("401"), "{error}");
    let accepted = simulator.stats().accepted;
    std::thread::sleep(Duration::from_millis(3500));
    let more = simulator.stats().accepted - accepted;
    assert!(more <= 5, "{more} logins in 3.5 s with a 1 s auth retry");
    assert_eq!(stream.status().state, StreamState::AuthFailed);
    stop_quickly(&mut stream);
    let shown = format!("{:?}\n{}", stream.status(), log_capture::captured());
    assert!(!shown.contains(PASSWORD), "the password shows: {shown}");
}

#[test]
fn a_missing_path_is_not_found() {
    let simulator = simulator(VideoCodec::H264, "");
    let url = simulator.url(0).replace("/cam0", "/nowhere");
    let mut stream = Stream::start("missing", native(&url)).unwrap();
    let status = wait_for(&stream, Duration::from_secs(10), "an error", |s| {
        s.last_error.is_some()
    });
    let error = status.last_error.unwrap();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    stop_quickly(&mut stream);
}

#[test]
fn a_stop_ends_a_describe_nobody_answers_and_a_playing_stream_promptly() {
    // A listener that accepts (the kernel does) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("rtsp://{}/live", silent.local_addr().unwrap());
    let config = native(&url).connect_timeout(Duration::from_secs(30));
    let mut stream = Stream::start("silent", config).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(stream.status().state, StreamState::Connecting);
    stop_quickly(&mut stream);

    let simulator = simulator(VideoCodec::H264, "");
    let mut stream = Stream::start("playing", native(&simulator.url(0))).unwrap();
    wait_for(&stream, Duration::from_secs(10), "frames", |s| {
        s.published >= 3
    });
    stop_quickly(&mut stream);
}

#[test]
fn a_stalled_camera_is_stalled_then_reconnected_and_frames_resume() {
    let simulator = simulator(VideoCodec::H264, "stall-after=1s");
    let config = native(&simulator.url(0)).stall_timeout(Duration::from_millis(800));
    let mut stream = Stream::start("stall", config).unwrap();
    let events = stream.events().unwrap();
    let status = wait_for(&stream, Duration::from_secs(15), "two reconnects", |s| {
        s.reconnects >= 2
    });
    assert_eq!(
        status.last_error.as_ref().map(|error| error.kind()),
        Some(ErrorKind::Timeout),
        "{status:#?}"
    );
    let seen: Vec<_> = events.try_iter().collect();
    assert!(
        seen.iter().any(|event| event.state == StreamState::Stalled),
        "{seen:#?}"
    );
    // Each session streamed before it stalled.
    let published = status.published;
    wait_for(
        &stream,
        Duration::from_secs(10),
        "frames after reconnecting",
        |s| s.published > published,
    );
    stop_quickly(&mut stream);
    let status = stream.status();
    assert_eq!(status.decoded, status.published + status.dropped.total());
    assert!(simulator.stats().cameras[0].stalls >= 2);
}

#[test]
fn books_add_up_with_cuts_and_corruption() {
    let simulator = simulator(VideoCodec::H264, "corrupt=0.0002,cut-every=2s");
    let config = native(&simulator.url(0)).queue_capacity(2);
    let mut stream = Stream::start("books", config).unwrap();
    let status = wait_for(
        &stream,
        Duration::from_secs(20),
        "a reconnect and frames",
        |s| s.reconnects >= 1 && s.decoded > 50,
    );
    let _ = status;
    assert!(stream.stop());
    let status = stream.status();
    assert_eq!(
        status.decoded,
        status.published + status.dropped.total(),
        "{status:#?}"
    );
    assert!(status.bytes_in > 0);
}
