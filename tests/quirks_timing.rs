//! Camera quirks of timing, sessions and logins (issue 12 §2), each a
//! simulator fault on 127.0.0.1, through both RTSP clients (FFmpeg's and the
//! native one): RTP timestamps that jump and sender-report clocks that step
//! (capture times stay monotonic and right, the step is counted and logged),
//! an SDP that declares another frame rate than it delivers, a camera that
//! drops sessions without keepalives, and Digest logins with nonces that
//! change, or a wrong password.

#[allow(dead_code)]
#[path = "support/log_capture.rs"]
mod log_capture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

use rtsp_ingest::simulate::{CameraStats, PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::stream::{Backoff, RtspClient, Stream, StreamConfig, StreamState};
use rtsp_ingest::ErrorKind;
use stream_util::wait_for;

const FPS: u32 = 25;
const USER: &str = "viewer";
const PASSWORD: &str = "d1gest-s3cr3t";
/// How far a frame's capture time may be ahead of its receive time on
/// 127.0.0.1 (the simulator's sender reports date frames as it sends them).
const AHEAD: Duration = Duration::from_millis(1500);
/// How far behind: more, as a busy machine may read a frame late.
const BEHIND: Duration = Duration::from_secs(5);

fn simulator(faults: &str) -> Simulator {
    let pattern = PatternOptions::default()
        .size(320, 180)
        .frames(50)
        .fps(FPS)
        .gop(25);
    let config = SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .pattern(pattern)
        .faults(faults.parse().unwrap());
    Simulator::start(config).unwrap()
}

fn config(url: &str, client: RtspClient) -> StreamConfig {
    StreamConfig::new(url)
        .unwrap()
        .rtsp_client(client)
        .connect_timeout(Duration::from_secs(3))
        .backoff(Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
        })
        .queue_capacity(16)
}

/// One published frame's times: capture time, and receive time as wall time.
struct Dated {
    capture: Option<SystemTime>,
    received: SystemTime,
}

/// Reads every published frame in order until `span` after the first,
/// keeping only their times.
fn frame_times(stream: &Stream, span: Duration) -> Vec<Dated> {
    let deadline = Instant::now() + span + Duration::from_secs(10);
    let mut consumer = loop {
        if let Some(consumer) = stream.take_consumer() {
            break consumer;
        }
        assert!(Instant::now() < deadline, "{:#?}", stream.status());
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut times = Vec::new();
    let mut first = None;
    loop {
        assert!(
            Instant::now() < deadline,
            "{} frames: {:#?}",
            times.len(),
            stream.status()
        );
        let Some(frame) = consumer.pop_oldest() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let received = SystemTime::now() - frame.received().elapsed();
        let first = *first.get_or_insert(frame.received());
        times.push(Dated {
            capture: frame.capture_time(),
            received,
        });
        if frame.received().duration_since(first) >= span {
            return times;
        }
    }
}

fn distance(a: SystemTime, b: SystemTime) -> Duration {
    a.duration_since(b).unwrap_or_else(|error| error.duration())
}

/// Streams `span` from a camera with the clock fault `fault`; every dated
/// frame must be dated after the one before and close to its receive time.
/// Returns the stream's clock steps.
fn capture_times_survive(fault: &str, client: RtspClient, span: Duration) -> u64 {
    log_capture::install();
    let simulator = simulator(fault);
    let mut stream = Stream::start("clock", config(&simulator.url(0), client)).unwrap();
    let times = frame_times(&stream, span);
    let dated: Vec<&Dated> = times.iter().filter(|t| t.capture.is_some()).collect();
    assert!(
        dated.len() * 2 > times.len(),
        "{} of {} frames dated",
        dated.len(),
        times.len()
    );
    for (n, pair) in dated.windows(2).enumerate() {
        let (a, b) = (pair[0].capture.unwrap(), pair[1].capture.unwrap());
        assert!(
            a <= b,
            "dated frame {n}: capture time went back by {:?}",
            distance(a, b)
        );
    }
    for (n, time) in dated.iter().enumerate() {
        let capture = time.capture.unwrap();
        let off = distance(capture, time.received);
        let limit = if capture > time.received {
            AHEAD
        } else {
            BEHIND
        };
        assert!(
            off <= limit,
            "dated frame {n}: capture time {off:?} off its receive time"
        );
    }
    let status = stream.status();
    assert_eq!(status.reconnects, 0, "{status:#?}");
    assert!(stream.stop());
    status.clock_steps
}

fn logged_step() -> bool {
    log_capture::captured().contains("capture clock stepped")
}

#[test]
fn rtp_timestamps_jumping_ahead_are_re_anchored_ffmpeg() {
    let steps = capture_times_survive(
        "rtp-ts-jump=1s:+10s",
        RtspClient::Ffmpeg,
        Duration::from_secs(3),
    );
    // FFmpeg dates every frame from the first sender report and the
    // timestamps' distance from it: the jump is one step.
    assert_eq!(steps, 1);
    assert!(logged_step());
}

#[test]
fn rtp_timestamps_jumping_ahead_are_re_anchored_native() {
    // Until the next sender report (the simulator's come every 5 s) the
    // jump shows; the report, which follows the RTP clock, undoes it: a
    // second step, back.
    let steps = capture_times_survive(
        "rtp-ts-jump=1s:+10s",
        RtspClient::Native,
        Duration::from_secs(7),
    );
    assert!((1..=2).contains(&steps), "{steps} steps");
    assert!(logged_step());
}

#[test]
fn a_sender_report_clock_stepping_back_is_re_anchored_native() {
    // The report after 1 s (at about 5 s) says 30 s earlier.
    let steps = capture_times_survive(
        "sr-clock-step=1s:-30s",
        RtspClient::Native,
        Duration::from_secs(7),
    );
    assert_eq!(steps, 1);
    assert!(logged_step());
}

#[test]
fn a_sender_report_clock_stepping_back_does_not_move_ffmpeg_capture_times() {
    // FFmpeg dates the frames from the session's first report only.
    let steps = capture_times_survive(
        "sr-clock-step=1s:-30s",
        RtspClient::Ffmpeg,
        Duration::from_secs(7),
    );
    assert_eq!(steps, 0);
}

/// The declared rate (`media.fps`) and the measured one, once measured.
fn frame_rates(faults: &str, client: RtspClient) -> (Option<f64>, f64) {
    let simulator = simulator(faults);
    let mut stream = Stream::start("fps", config(&simulator.url(0), client)).unwrap();
    let status = wait_for(&stream, Duration::from_secs(15), "a measured rate", |s| {
        s.measured_fps.is_some()
    });
    assert!(stream.stop());
    (status.media.unwrap().fps, status.measured_fps.unwrap())
}

#[test]
fn the_delivered_frame_rate_is_measured_whatever_the_sdp_declares() {
    let simulator = simulator("sdp-framerate=30");
    let sdp = describe(&simulator.url(0));
    assert!(sdp.contains("a=framerate:30\r\n"), "{sdp}");
    for client in [RtspClient::Ffmpeg, RtspClient::Native] {
        let (declared, measured) = frame_rates("sdp-framerate=30", client);
        // What `media.fps` says is the client's reading of the camera's
        // declarations (seen: FFmpeg none, the native client the SPS's
        // timing, 25); the measured rate is what arrives.
        eprintln!("{client:?}: declared {declared:?}, measured {measured}");
        assert!(
            (measured - f64::from(FPS)).abs() < 0.5,
            "{client:?}: measured {measured} fps, declared {declared:?}"
        );
    }
}

/// The SDP a `DESCRIBE` of `url` gets.
fn describe(url: &str) -> String {
    let mut connection = connect(url);
    let head = request(
        &mut connection,
        &format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n"),
    );
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{head}"));
    let mut body = vec![0u8; length];
    connection.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

fn connect(url: &str) -> TcpStream {
    let addr = url.trim_start_matches("rtsp://").split('/').next().unwrap();
    TcpStream::connect(addr).unwrap()
}

/// Streams past three session timeouts: no reconnect, no timed-out session,
/// frames until the end.
fn streams_past_the_session_timeout(client: RtspClient) {
    let simulator = simulator("session-timeout=2s");
    let mut stream = Stream::start("keepalive", config(&simulator.url(0), client)).unwrap();
    wait_for(&stream, Duration::from_secs(10), "streaming", |s| {
        s.state == StreamState::Streaming
    });
    std::thread::sleep(Duration::from_secs(7));
    let before = stream.status().published;
    std::thread::sleep(Duration::from_millis(500));
    let status = stream.status();
    assert!(status.published > before, "no frame after 7 s: {status:#?}");
    let camera = &simulator.stats().cameras[0];
    assert_eq!(camera.session_timeouts, 0, "{client:?}: {camera:#?}");
    assert_eq!(camera.sessions, 1, "{client:?}: {camera:#?}");
    assert_eq!(status.reconnects, 0, "{client:?}: {status:#?}");
    assert!(stream.stop());
}

#[test]
fn the_ffmpeg_client_keeps_its_session_alive() {
    streams_past_the_session_timeout(RtspClient::Ffmpeg);
}

#[test]
fn the_native_client_keeps_its_session_alive() {
    streams_past_the_session_timeout(RtspClient::Native);
}

/// Sends one request on `connection` and reads until the blank line.
fn request(connection: &mut TcpStream, text: &str) -> String {
    connection.write_all(text.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n\r\n") {
        connection.read_exact(&mut byte).unwrap();
        reply.push(byte[0]);
    }
    String::from_utf8(reply).unwrap()
}

#[test]
fn a_session_without_keepalives_is_dropped() {
    // The fault can bite: a client that plays and then says nothing.
    let simulator = simulator("session-timeout=1s");
    let url = simulator.url(0);
    let mut connection = connect(&url);
    let setup = request(
        &mut connection,
        &format!(
            "SETUP {url}/streamid=0 RTSP/1.0\r\nCSeq: 1\r\n\
             Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"
        ),
    );
    assert!(setup.contains("timeout=1"), "{setup}");
    let session = setup
        .lines()
        .find_map(|line| line.strip_prefix("Session: "))
        .and_then(|value| value.split(';').next())
        .unwrap()
        .to_owned();
    let play = request(
        &mut connection,
        &format!("PLAY {url} RTSP/1.0\r\nCSeq: 2\r\nSession: {session}\r\n\r\n"),
    );
    assert!(play.starts_with("RTSP/1.0 200"), "{play}");
    let began = Instant::now();
    connection
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sink = [0u8; 64 * 1024];
    while connection.read(&mut sink).is_ok_and(|n| n > 0) {}
    let lasted = began.elapsed();
    assert!(
        lasted < Duration::from_secs(10),
        "not dropped in {lasted:?}"
    );
    assert_eq!(simulator.stats().cameras[0].session_timeouts, 1);
}

/// Logs in with Digest on a camera whose nonce changes every 3 requests and
/// whose sessions time out without keepalives; keeps streaming for 6 s.
fn digest_login_survives_nonce_changes(client: RtspClient) -> (u64, CameraStats) {
    log_capture::install();
    let simulator = simulator(&format!(
        "digest-auth={USER}:{PASSWORD},digest-nonce-every=3,session-timeout=2s"
    ));
    let url = simulator.url_with_credentials(0);
    let mut stream = Stream::start("digest", config(&url, client)).unwrap();
    wait_for(&stream, Duration::from_secs(10), "streaming", |s| {
        s.state == StreamState::Streaming
    });
    std::thread::sleep(Duration::from_secs(6));
    let before = stream.status().published;
    wait_for(&stream, Duration::from_secs(5), "frames after 6 s", |s| {
        s.published > before
    });
    assert!(stream.stop());
    let camera = simulator.stats().cameras[0].clone();
    assert!(camera.digest_logins >= 3, "{client:?}: {camera:#?}");
    assert!(
        camera.stale_nonces >= 1,
        "{client:?}: no nonce change seen: {camera:#?}"
    );
    let status = stream.status();
    let shown = format!("{status:?}\n{}", log_capture::captured());
    assert!(!shown.contains(PASSWORD), "the password shows");
    // Every reconnect was a session the camera dropped (the stop may come
    // between a drop and the reconnect, or between a reconnect and its PLAY).
    let reconnects = status.reconnects;
    assert!(
        [reconnects, reconnects + 1].contains(&camera.session_timeouts)
            && [reconnects, reconnects + 1].contains(&camera.sessions),
        "{reconnects} reconnects: {camera:#?}"
    );
    (status.reconnects, camera)
}

#[test]
fn a_digest_login_survives_nonce_changes_ffmpeg() {
    // FFmpeg takes the new nonce from the 401 of a keepalive and retries
    // stale requests: one session throughout.
    let (reconnects, camera) = digest_login_survives_nonce_changes(RtspClient::Ffmpeg);
    assert_eq!(reconnects, 0);
    // DESCRIBE, SETUP, PLAY, then keepalives signed with the new nonces.
    assert!(camera.digest_logins >= 5, "{camera:#?}");
}

#[test]
fn a_digest_login_survives_nonce_changes_native() {
    // Known limitation of retina 0.4: it signs its keepalives with the nonce
    // of its login and ignores the `401 stale=true` they get once the nonce
    // changed (its keepalive path only logs a failed keepalive), so a camera
    // that also times sessions out drops the session: the stream
    // reconnects (logging in afresh) and goes on.
    let (reconnects, camera) = digest_login_survives_nonce_changes(RtspClient::Native);
    assert!(
        reconnects >= 1 && camera.stale_nonces >= 2,
        "retina now keeps its session across nonce changes: require no reconnect here \
         ({reconnects} reconnects, {camera:#?})"
    );
}

#[test]
fn a_wrong_digest_password_is_an_auth_error_without_the_password() {
    log_capture::install();
    let simulator = simulator(&format!("digest-auth={USER}:the-right-one"));
    let url = simulator
        .url(0)
        .replacen("rtsp://", &format!("rtsp://{USER}:{PASSWORD}@"), 1);
    for client in [RtspClient::Ffmpeg, RtspClient::Native] {
        let config = config(&url, client).auth_retry(Duration::from_secs(30));
        let mut stream = Stream::start("wrong", config).unwrap();
        let status = wait_for(&stream, Duration::from_secs(10), "auth failed", |s| {
            s.state == StreamState::AuthFailed
        });
        let error = status.last_error.clone().unwrap();
        assert_eq!(error.kind(), ErrorKind::Auth, "{client:?}: {error}");
        assert!(stream.stop());
        let shown = format!("{status:?}\n{error}\n{}", log_capture::captured());
        assert!(!shown.contains(PASSWORD), "{client:?}: the password shows");
    }
    assert!(simulator.stats().cameras[0].auth_failures >= 2);
    assert_eq!(simulator.stats().cameras[0].digest_logins, 0);
}
