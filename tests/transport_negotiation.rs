//! Transport negotiation against the camera simulator on 127.0.0.1: the
//! default transport (`prefer_tcp`) falls back to UDP when a camera refuses
//! TCP (461, or nothing delivered), an explicit transport the camera refuses
//! fails for good without hammering it, and permanent answers (404) wait the
//! long backoff while a refused connection retries soon. No password shows
//! in any status, event or log line.

#[allow(dead_code)]
#[path = "support/log_capture.rs"]
mod log_capture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::net::TcpListener;
use std::time::Duration;

use rtsp_ingest::simulate::{PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::stream::{
    Backoff, RtspClient, Stream, StreamConfig, StreamEvent, StreamState, Transport,
};
use rtsp_ingest::ErrorKind;
use stream_util::wait_for;

const PASSWORD: &str = "tr4nsp0rt-s3cret";

/// A small camera with a login, on any free port.
fn camera(tweak: impl FnOnce(SimulatorConfig) -> SimulatorConfig) -> Simulator {
    let config = SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .pattern(PatternOptions::default().size(320, 180))
        .fault(format!("auth=viewer:{PASSWORD}").parse().unwrap());
    Simulator::start(tweak(config)).unwrap()
}

fn start(url: &str, tweak: impl FnOnce(StreamConfig) -> StreamConfig) -> Stream {
    log_capture::install();
    let config = StreamConfig::new(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(3))
        .stall_timeout(Duration::from_millis(1500))
        .backoff(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        });
    Stream::start("cam", tweak(config)).unwrap()
}

fn events(stream: &Stream) -> Vec<StreamEvent> {
    stream.events().unwrap().try_iter().collect()
}

fn assert_no_password(stream: &Stream, events: &[StreamEvent]) {
    let shown = format!("{:?}\n{events:?}", stream.status());
    assert!(!shown.contains(PASSWORD), "the password in {shown}");
    assert!(
        !log_capture::captured().contains(PASSWORD),
        "the password in the logs"
    );
}

/// The transport-refused `Reconnecting` events.
fn switches(events: &[StreamEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| matches!(e.state, StreamState::Reconnecting { .. }))
        .filter_map(|e| e.error.as_ref())
        .filter(|e| e.kind() == ErrorKind::TransportRefused)
        .map(|e| e.message().to_owned())
        .collect()
}

#[test]
fn the_default_transport_falls_back_to_udp_when_tcp_is_refused() {
    let simulator = camera(|c| c.refuse_tcp(true));
    let mut stream = start(&simulator.url_with_credentials(0), |c| c);
    let status = wait_for(&stream, Duration::from_secs(10), "frames over UDP", |s| {
        s.published >= 10
    });
    assert_eq!(status.transport, Some(Transport::Udp), "{status:#?}");
    assert_eq!(status.state, StreamState::Streaming);
    let log = events(&stream);
    let switched = switches(&log);
    assert_eq!(switched.len(), 1, "{log:#?}");
    assert!(
        switched[0].contains("the camera answered SETUP with 461 Unsupported Transport (asked for RTP over TCP); the next attempt uses RTP over UDP"),
        "{}",
        switched[0]
    );
    let stats = &simulator.stats().cameras[0];
    assert_eq!(stats.transport_refusals, 1, "{stats:?}");
    assert_eq!(stats.udp_sessions, 1, "{stats:?}");
    eprintln!(
        "first frame after the fallback: {:?}",
        status.first_frame_latency
    );
    stream.stop();
    assert_no_password(&stream, &log);
}

#[test]
fn the_native_client_falls_back_to_udp_when_tcp_is_refused() {
    let simulator = camera(|c| c.refuse_tcp(true));
    let url = simulator.url_with_credentials(0);
    let mut stream = start(&url, |c| c.rtsp_client(RtspClient::Native));
    let status = wait_for(&stream, Duration::from_secs(10), "frames over UDP", |s| {
        s.published >= 10
    });
    assert_eq!(status.transport, Some(Transport::Udp), "{status:#?}");
    let log = events(&stream);
    let switched = switches(&log);
    assert_eq!(switched.len(), 1, "{log:#?}");
    assert!(
        switched[0].contains("461") && switched[0].ends_with("the next attempt uses RTP over UDP"),
        "{}",
        switched[0]
    );
    stream.stop();
    assert_no_password(&stream, &log);
}

#[test]
fn the_default_transport_stays_on_tcp_when_tcp_is_served() {
    let simulator = camera(|c| c);
    let mut stream = start(&simulator.url_with_credentials(0), |c| c);
    let status = wait_for(&stream, Duration::from_secs(10), "frames", |s| {
        s.published >= 10
    });
    assert_eq!(status.transport, Some(Transport::Tcp), "{status:#?}");
    stream.stop();
    assert!(switches(&events(&stream)).is_empty());
    let stats = &simulator.stats().cameras[0];
    assert_eq!((stats.transport_refusals, stats.udp_sessions), (0, 0));
}

#[test]
fn a_camera_that_sends_nothing_over_tcp_gets_udp() {
    let simulator = camera(|c| c.silent_tcp(true));
    let mut stream = start(&simulator.url_with_credentials(0), |c| c);
    let status = wait_for(&stream, Duration::from_secs(15), "frames over UDP", |s| {
        s.published >= 10
    });
    assert_eq!(status.transport, Some(Transport::Udp), "{status:#?}");
    let log = events(&stream);
    let switched = switches(&log);
    assert_eq!(switched.len(), 1, "{log:#?}");
    assert!(
        switched[0].contains("sent nothing over TCP"),
        "{}",
        switched[0]
    );
    stream.stop();
    assert_no_password(&stream, &log);
}

/// Waits for `Failed`, then checks the camera sees no more attempts.
fn assert_fails_for_good(simulator: &Simulator, stream: &Stream, message: &str) {
    let status = wait_for(stream, Duration::from_secs(10), "failed", |s| {
        matches!(s.state, StreamState::Failed(_))
    });
    let StreamState::Failed(error) = &status.state else {
        unreachable!()
    };
    assert_eq!(error.kind(), ErrorKind::TransportRefused, "{error}");
    assert!(error.message().starts_with(message), "{error}");
    assert!(
        error.message().contains("461 Unsupported Transport"),
        "{error}"
    );
    let describes = simulator.stats().cameras[0].describes;
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        simulator.stats().cameras[0].describes,
        describes,
        "no attempt after failing"
    );
    assert!(stream.is_finished());
    assert_eq!(describes, 1, "one attempt: {:?}", simulator.stats());
}

#[test]
fn an_explicit_tcp_that_the_camera_refuses_fails_for_good() {
    let simulator = camera(|c| c.refuse_tcp(true));
    let stream = start(&simulator.url_with_credentials(0), |c| {
        c.transport(Transport::Tcp)
    });
    assert_fails_for_good(
        &simulator,
        &stream,
        "the camera does not offer RTP over TCP; use udp or auto (",
    );
    assert_no_password(&stream, &events(&stream));
}

#[test]
fn an_explicit_udp_that_the_camera_refuses_fails_for_good() {
    let simulator = camera(|c| c.refuse_udp(true));
    let stream = start(&simulator.url_with_credentials(0), |c| {
        c.transport(Transport::Udp)
    });
    assert_fails_for_good(
        &simulator,
        &stream,
        "the camera does not offer RTP over UDP; use tcp or prefer_tcp (",
    );
    assert_no_password(&stream, &events(&stream));
}

#[test]
fn auto_streams_from_a_udp_only_camera() {
    let simulator = camera(|c| c.refuse_tcp(true));
    let mut stream = start(&simulator.url_with_credentials(0), |c| {
        c.transport(Transport::Auto)
    });
    let status = wait_for(&stream, Duration::from_secs(10), "frames", |s| {
        s.published >= 10
    });
    assert_eq!(status.transport, Some(Transport::Auto));
    assert_eq!(simulator.stats().cameras[0].udp_sessions, 1);
    stream.stop();
}

#[test]
fn a_404_waits_the_long_backoff_and_a_refused_connection_does_not() {
    let simulator = camera(|c| c);
    // /cam7 does not exist: DESCRIBE gets 404 on every attempt.
    let missing = simulator.url_with_credentials(0).replace("/cam0", "/cam7");
    let long = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(8),
    };
    let mut stream = start(&missing, |c| c.backoff(long));
    let status = wait_for(&stream, Duration::from_secs(10), "reconnecting", |s| {
        matches!(s.state, StreamState::Reconnecting { .. })
    });
    let StreamState::Reconnecting { next_in, .. } = status.state else {
        unreachable!()
    };
    let error = status.last_error.clone().unwrap();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert!(
        error
            .message()
            .contains("the camera answered DESCRIBE with 404 Not Found"),
        "{error}"
    );
    assert!(
        (Duration::from_secs(4)..=Duration::from_secs(8)).contains(&next_in),
        "a permanent answer waits max/2 ..= max, not {next_in:?}"
    );
    let accepted = simulator.stats().accepted;
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        simulator.stats().accepted,
        accepted,
        "no attempt during the wait"
    );
    stream.stop();
    assert_no_password(&stream, &events(&stream));

    // A refused connection is transient: the first retry comes within the
    // first ceiling (100 ms).
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut stream = start(&format!("rtsp://{closed}/cam0"), |c| c.backoff(long));
    let status = wait_for(&stream, Duration::from_secs(10), "reconnecting", |s| {
        s.reconnects >= 1
    });
    assert_eq!(status.last_error.unwrap().kind(), ErrorKind::Connect);
    let first = events(&stream)
        .into_iter()
        .find_map(|e| match e.state {
            StreamState::Reconnecting { attempt, next_in } => Some((attempt, next_in)),
            _ => None,
        })
        .unwrap();
    let (attempt, next_in) = first;
    assert_eq!(attempt, 1);
    assert!(
        next_in <= long.ceiling(0),
        "the first retry of a refused connection waited {next_in:?}"
    );
    stream.stop();
}
