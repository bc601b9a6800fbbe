//! The stream worker against misbehaving servers, and against its own panic:
//! every fault goes through a fault-injecting TCP proxy in front of a real RTSP
//! server on 127.0.0.1. For every fault, the password in the URL and the token
//! in its query must appear in no log line (FFmpeg's included), error, status
//! or event.

#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[allow(dead_code)]
#[path = "support/log_capture.rs"]
mod log_capture;
#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use fault_proxy::{Corruption, Fault, FaultProxy};
use rtsp_fixture::{pattern, RtspServer, ServerConfig, MOUNT_H264};
use rtsp_ingest::stream::{
    Backoff, Stream, StreamConfig, StreamEvent, StreamState, STREAM_EVENTS_CAPACITY,
};
use rtsp_ingest::ErrorKind;
use stream_util::{collect_frames, wait_for};

const USER: &str = "viewer";
const PASSWORD: &str = "pw-s3cr3t-42";
/// A second secret, in the URL's query (`?token=`), which FFmpeg must send.
const TOKEN: &str = "tk-s3cr3t-43";

/// A stream through `proxy` with credentials in the URL and short timeouts.
fn start(proxy_url: &str, tweak: impl FnOnce(StreamConfig) -> StreamConfig) -> Stream {
    log_capture::install();
    let url = proxy_url.replacen("rtsp://", &format!("rtsp://{USER}:{PASSWORD}@"), 1);
    let url = format!("{url}?token={TOKEN}");
    let config = StreamConfig::new(&url)
        .unwrap()
        .connect_timeout(Duration::from_millis(1500))
        .stall_timeout(Duration::from_millis(1500))
        .backoff(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        })
        .queue_capacity(32);
    Stream::start("cam", tweak(config)).unwrap()
}

fn events(stream: &Stream) -> Vec<StreamEvent> {
    stream.events().unwrap().try_iter().collect()
}

/// The password and the token appear nowhere a user could see them.
fn assert_no_secret(stream: &Stream, events: &[StreamEvent]) {
    let shown = format!("{:?}\n{:?}", stream.status(), events);
    let logs = log_capture::captured();
    for secret in [PASSWORD, TOKEN] {
        assert!(
            !shown.contains(secret),
            "{secret} in status or events: {shown}"
        );
        assert!(!format!("{stream:?}").contains(secret));
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
    assert!(
        stream.status().url.ends_with("?token=***"),
        "{}",
        stream.status().url
    );
    let basic = log_capture::base64(format!("{USER}:{PASSWORD}").as_bytes());
    assert!(!logs.contains(&basic), "Basic credentials in the logs");
}

fn stop_quickly(stream: &mut Stream) {
    let begun = Instant::now();
    assert!(stream.stop());
    let took = begun.elapsed();
    assert!(took <= Duration::from_millis(200), "stop took {took:?}");
    assert_eq!(stream.status().state, StreamState::Stopped);
}

#[test]
fn frames_resume_after_the_server_cuts_the_connection() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    let mut stream = start(&proxy.url(MOUNT_H264), |c| c);
    wait_for(&stream, Duration::from_secs(10), "streaming", |s| {
        s.published >= 10
    });
    assert!(proxy.cut_all() >= 1);
    let before = stream.status().published;
    let status = wait_for(
        &stream,
        Duration::from_secs(10),
        "frames after the cut",
        |s| s.reconnects >= 1 && s.published >= before + 10 && s.state == StreamState::Streaming,
    );
    assert!(
        status.last_error.is_some(),
        "the cut is reported: {status:?}"
    );
    let log = events(&stream);
    assert!(
        log.iter()
            .any(|e| matches!(e.state, StreamState::Reconnecting { .. })),
        "{log:?}"
    );
    stop_quickly(&mut stream);
    assert_no_secret(&stream, &log);
}

#[test]
fn a_stall_is_detected_and_the_stream_reconnects() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    let mut stream = start(&proxy.url(MOUNT_H264), |c| c);
    wait_for(&stream, Duration::from_secs(10), "streaming", |s| {
        s.published >= 5
    });
    proxy.set_fault(Fault::Stall);
    let stalled = wait_for(&stream, Duration::from_secs(10), "a stall", |s| {
        s.reconnects >= 1
    });
    let error = stalled.last_error.expect("the stall is reported");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    proxy.clear_fault();
    let before = stream.status().published;
    wait_for(
        &stream,
        Duration::from_secs(15),
        "frames after the stall",
        |s| s.published >= before + 5 && s.state == StreamState::Streaming,
    );
    let log = events(&stream);
    assert!(
        log.iter().any(|e| e.state == StreamState::Stalled),
        "{log:?}"
    );
    stop_quickly(&mut stream);
    assert_no_secret(&stream, &log);
}

#[test]
fn a_host_that_never_answers_times_out_and_stops_at_once() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    proxy.set_fault(Fault::BlackHole);
    let mut stream = start(&proxy.url(MOUNT_H264), |c| c);
    let status = wait_for(&stream, Duration::from_secs(10), "a timeout", |s| {
        s.last_error.is_some()
    });
    let error = status.last_error.unwrap();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    // Stop while it is connecting to the silent host again.
    wait_for(&stream, Duration::from_secs(5), "connecting again", |s| {
        s.state == StreamState::Connecting
    });
    std::thread::sleep(Duration::from_millis(300));
    stop_quickly(&mut stream);
    let log = events(&stream);
    assert_no_secret(&stream, &log);
}

#[test]
fn a_refused_connection_backs_off_with_jitter() {
    log_capture::install();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut stream = start(&format!("rtsp://{closed}/cam"), |c| c);
    std::thread::sleep(Duration::from_secs(3));
    let status = stream.status();
    let error = status.last_error.clone().expect("a connect error");
    assert_eq!(error.kind(), ErrorKind::Connect, "{error}");
    let log = events(&stream);
    let waits: Vec<(u32, Duration)> = log
        .iter()
        .filter_map(|e| match e.state {
            StreamState::Reconnecting { attempt, next_in } => Some((attempt, next_in)),
            _ => None,
        })
        .collect();
    // Full jitter under a ceiling of 100 ms × 2^(attempt-1), capped at 400 ms.
    let backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(400),
    };
    for &(attempt, wait) in &waits {
        assert!(
            wait <= backoff.ceiling(attempt - 1),
            "attempt {attempt} waited {wait:?}"
        );
    }
    let distinct: std::collections::HashSet<_> = waits.iter().map(|w| w.1).collect();
    assert!(
        distinct.len() >= waits.len() / 2,
        "jittered waits: {waits:?}"
    );
    // Bounded attempt rate: with these settings an attempt every 200 ms on average.
    assert!(
        (3..=60).contains(&waits.len()),
        "{} attempts in 3 s: {waits:?}",
        waits.len()
    );
    stop_quickly(&mut stream);
    assert_no_secret(&stream, &log);
}

#[test]
fn corrupted_media_is_counted_and_never_published() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    let mut stream = start(&proxy.url(MOUNT_H264), |c| c.queue_capacity(512));
    wait_for(&stream, Duration::from_secs(10), "streaming", |s| {
        s.published >= 5
    });
    proxy.set_fault(Fault::Corrupt(Corruption::rtp_payload(0.0005).with_seed(7)));
    std::thread::sleep(Duration::from_secs(4));
    proxy.clear_fault();
    let status = wait_for(&stream, Duration::from_secs(10), "more frames", |s| {
        s.published >= 60
    });
    assert!(
        status.decode_errors + status.dropped.corrupt > 0,
        "corruption was noticed: {status:#?}"
    );
    // Every frame that was published shows the clean test pattern.
    let frames = collect_frames(
        &stream,
        status.published.min(200) as usize,
        Duration::from_secs(5),
    );
    for frame in &frames {
        let rows: Vec<u8> = (0..frame.height() as usize)
            .flat_map(|y| frame.row(0, y).to_vec())
            .collect();
        if let Err(error) = pattern::check_bgr24(&rows) {
            panic!(
                "published a corrupt frame {}: {error}; {status:#?}",
                frame.seq()
            );
        }
    }
    stop_quickly(&mut stream);
    assert_no_secret(&stream, &events(&stream));
}

#[test]
fn a_401_is_auth_failed_and_retried_rarely() {
    let server = RtspServer::start(
        ServerConfig::default()
            .looping()
            .auth(USER, "the-right-one"),
    );
    let proxy = FaultProxy::start(server.addr());
    let mut stream = start(&proxy.url(MOUNT_H264), |c| {
        c.auth_retry(Duration::from_secs(1))
    });
    let status = wait_for(&stream, Duration::from_secs(10), "auth failed", |s| {
        s.state == StreamState::AuthFailed
    });
    assert_eq!(status.last_error.unwrap().kind(), ErrorKind::Auth);
    let connections = proxy.stats().accepted;
    std::thread::sleep(Duration::from_millis(3500));
    let more = proxy.stats().accepted - connections;
    assert!(more <= 5, "{more} logins in 3.5 s with a 1 s auth retry");
    assert_eq!(stream.status().state, StreamState::AuthFailed);
    stop_quickly(&mut stream);
    assert_no_secret(&stream, &events(&stream));
}

#[test]
fn the_right_login_streams_and_its_header_is_scrubbed_from_ffmpeg_logs() {
    let server = RtspServer::start(ServerConfig::default().looping().auth(USER, PASSWORD));
    let proxy = FaultProxy::start(server.addr());
    let mut stream = start(&proxy.url(MOUNT_H264), |c| c);
    wait_for(&stream, Duration::from_secs(10), "streaming", |s| {
        s.published >= 5
    });
    stop_quickly(&mut stream);
    // FFmpeg dumped its requests, the authorised ones included.
    let logs = log_capture::captured();
    assert!(
        logs.contains("Authorization: Basic ***"),
        "FFmpeg's request dumps are captured"
    );
    assert_no_secret(&stream, &events(&stream));
}

#[test]
fn a_server_answering_garbage_is_a_clear_error() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    proxy.set_fault(Fault::Garbage);
    let mut stream = start(&proxy.url(MOUNT_H264), |c| c);
    let status = wait_for(&stream, Duration::from_secs(10), "an error", |s| {
        s.last_error.is_some()
    });
    let error = status.last_error.unwrap();
    assert_eq!(error.kind(), ErrorKind::InvalidData, "{error}");
    assert!(matches!(
        stream.status().state,
        StreamState::Reconnecting { .. } | StreamState::Connecting
    ));
    stop_quickly(&mut stream);
    assert_no_secret(&stream, &events(&stream));
}

#[test]
fn a_worker_that_panics_mid_stream_fails_the_stream_and_stops_at_once() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    let mut stream = start(&proxy.url(MOUNT_H264), |c| c.inject_panic_after(5));
    let status = wait_for(&stream, Duration::from_secs(15), "failed", |s| {
        matches!(s.state, StreamState::Failed(_))
    });
    let error = status
        .last_error
        .clone()
        .expect("the panic is the last error");
    assert_eq!(error.kind(), ErrorKind::Panic, "{error}");
    assert!(
        error.message().contains("injected panic after 5 frames"),
        "{error}"
    );
    assert_eq!(status.state, StreamState::Failed(error.clone()));
    assert_eq!(status.published, 5, "the worker died on its fifth frame");
    assert!(stream.is_finished());
    assert!(stream.latest().is_some(), "published frames stay readable");
    let events = events(&stream);
    let last = events.last().expect("events");
    assert_eq!(
        (&last.state, last.error.as_ref()),
        (&StreamState::Failed(error.clone()), Some(&error)),
        "{events:#?}"
    );
    let begun = Instant::now();
    assert!(stream.stop(), "a finished worker is joined at once");
    let took = begun.elapsed();
    assert!(took <= Duration::from_millis(200), "stop took {took:?}");
    assert_eq!(stream.status().state, StreamState::Failed(error));
    assert_no_secret(&stream, &events);
}

#[test]
fn a_flapping_camera_nobody_listens_to_keeps_only_its_newest_events() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut stream = start(&format!("rtsp://{closed}/x"), |c| {
        c.backoff(Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(1),
        })
    });
    // Nobody reads: a few thousand reconnect cycles, two events each.
    let events = stream.events().unwrap().clone();
    let begun = Instant::now();
    let mut most = 0;
    while begun.elapsed() < Duration::from_secs(3) {
        most = most.max(events.len());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(most <= STREAM_EVENTS_CAPACITY, "{most} events queued");
    wait_for(&stream, Duration::from_secs(10), "events lost", |s| {
        s.events_lost > 0
    });
    stop_quickly(&mut stream);
    let status = stream.status();
    let kept: Vec<StreamEvent> = events.try_iter().collect();
    assert_eq!(
        kept.len(),
        STREAM_EVENTS_CAPACITY,
        "a full channel stays full"
    );
    // Every event is kept or counted: one `Connecting` to begin, then per
    // failed attempt a `Reconnecting` and (but for the last, if the stop came
    // during its wait) a `Connecting` counted as a reconnect, and `Stopped`.
    let announced = kept.len() as u64 + status.events_lost;
    let reconnects = status.reconnects;
    assert!(
        announced == 2 * reconnects + 2 || announced == 2 * reconnects + 3,
        "{announced} events announced for {reconnects} reconnects"
    );
    // The newest are the ones kept: in order, ending with `Stopped`, and the
    // reconnect attempts a gapless run up to the last one.
    assert_eq!(kept.last().unwrap().state, StreamState::Stopped);
    assert!(kept.windows(2).all(|pair| pair[0].at <= pair[1].at));
    let attempts: Vec<u32> = kept
        .iter()
        .filter_map(|event| match event.state {
            StreamState::Reconnecting { attempt, .. } => Some(attempt),
            _ => None,
        })
        .collect();
    assert!(
        attempts.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "{attempts:?}"
    );
    let last_attempt = u64::from(*attempts.last().unwrap());
    assert!(
        last_attempt == reconnects || last_attempt == reconnects + 1,
        "last attempt {last_attempt}, {reconnects} reconnects"
    );
    assert_no_secret(&stream, &kept);
}
