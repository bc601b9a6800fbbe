//! The camera-quirk corpus (issue 12 §2): each protocol or SDP habit of real
//! cameras that the simulator imitates ([`Quirk`]), streamed with both RTSP
//! clients the library has, FFmpeg's (`RtspClient::Ffmpeg`) and the native
//! one (`RtspClient::Native`, retina), and with the default
//! `RtspClient::Auto` (FFmpeg's, moving to the native one when FFmpeg's
//! cannot use the camera's answers). Each test says what each client does:
//! it streams (frames published, state `streaming`, on which client) or
//! fails with a specific error kind and message. A client that fails on a
//! quirk is recorded here as failing, not worked around. Real simulator on
//! 127.0.0.1; every wait is bounded; nothing is timed.

#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::time::{Duration, Instant};

use rtsp_ingest::simulate::{stamp, PatternOptions, Quirk, Simulator, SimulatorConfig};
use rtsp_ingest::stream::{Backoff, RtspClient, Stream, StreamConfig, StreamState};
use rtsp_ingest::ErrorKind;
use stream_util::{collect_frames, wait_for};

/// Frames a streaming client must publish.
const FRAMES: u64 = 15;
/// The longest any outcome may take to show.
const WAIT: Duration = Duration::from_secs(15);
const CLIENTS: [RtspClient; 3] = [RtspClient::Ffmpeg, RtspClient::Native, RtspClient::Auto];
/// What a client that copes does, for each of [`CLIENTS`].
const STREAMS: [Outcome; 3] = [
    Outcome::Streams(RtspClient::Ffmpeg),
    Outcome::Streams(RtspClient::Native),
    Outcome::Streams(RtspClient::Ffmpeg),
];
/// Frames from one keyframe to the next.
const GOP: u32 = 10;

/// What a client does with a quirky camera.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// Publishes [`FRAMES`] frames and is `streaming` on this client,
    /// without a decode error (and, on the client configured, without a
    /// reconnect).
    Streams(RtspClient),
    /// Publishes nothing and reports an error of this kind whose message
    /// contains this text.
    Fails(ErrorKind, &'static str),
}

fn camera(quirks: &[Quirk]) -> Simulator {
    let mut config = SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .pattern(PatternOptions::default().size(320, 180).frames(50).gop(GOP));
    for &quirk in quirks {
        config = config.quirk(quirk);
    }
    Simulator::start(config).unwrap()
}

fn engine(url: &str, client: RtspClient) -> Stream {
    let config = StreamConfig::new(url)
        .unwrap()
        .rtsp_client(client)
        .connect_timeout(Duration::from_secs(3))
        .stall_timeout(Duration::from_secs(3))
        .backoff(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        })
        .queue_capacity(16);
    Stream::start(format!("{client:?}"), config).unwrap()
}

fn stop(stream: &mut Stream) {
    let begun = Instant::now();
    assert!(stream.stop());
    assert!(
        begun.elapsed() < Duration::from_secs(1),
        "{:?}",
        begun.elapsed()
    );
}

/// Streams from a camera with `quirk` with each client and checks that it
/// does what `expected` says for it.
fn check(quirk: Quirk, expected: [Outcome; 3]) {
    let simulator = camera(&[quirk]);
    for (client, outcome) in CLIENTS.into_iter().zip(expected) {
        let mut stream = engine(&simulator.url(0), client);
        let what = format!("{quirk} with {client:?}: {outcome:?}");
        match outcome {
            Outcome::Streams(used) => {
                let status = wait_for(&stream, WAIT, &what, |s| {
                    s.published >= FRAMES && s.state == StreamState::Streaming
                });
                assert_eq!(status.rtsp_client, Some(used), "{what}: {status:#?}");
                assert_eq!(status.decode_errors, 0, "{what}: {status:#?}");
                let switched = u64::from(client == RtspClient::Auto && used == RtspClient::Native);
                assert_eq!(status.reconnects, switched, "{what}: {status:#?}");
                let media = status.media.expect("media");
                assert_eq!((media.codec.as_str(), media.width), ("h264", 320), "{what}");
            }
            Outcome::Fails(kind, text) => {
                let status = wait_for(&stream, WAIT, &what, |s| s.last_error.is_some());
                let error = status.last_error.clone().unwrap();
                assert_eq!(error.kind(), kind, "{what}: {error}");
                assert!(error.message().contains(text), "{what}: {error}");
                assert_eq!(status.published, 0, "{what}: {status:#?}");
            }
        }
        stop(&mut stream);
    }
}

#[test]
fn empty_fmtp() {
    check(Quirk::EmptyFmtp, STREAMS);
}

#[test]
fn no_origin() {
    check(Quirk::NoOrigin, STREAMS);
}

/// FFmpeg builds its SETUP URI from the padded `Content-Base` as it is
/// (`rtsp://…/cam0/   /streamid=0`), which the camera answers with 400;
/// retina trims the value, and `auto` moves to it after that 400.
#[test]
fn header_spaces() {
    let ffmpeg = Outcome::Fails(
        ErrorKind::Refused,
        "the camera answered SETUP with 400 Bad Request",
    );
    let native = Outcome::Streams(RtspClient::Native);
    check(Quirk::HeaderSpaces, [ffmpeg, native, native]);
}

/// retina (its RTSP parser) never sees the end of a head without CRLFs:
/// the DESCRIBE answer never arrives for it. `auto` stays on FFmpeg's
/// client, which reads it.
#[test]
fn lf_only() {
    let native = Outcome::Fails(
        ErrorKind::Timeout,
        "DESCRIBE: no answer within the connect timeout",
    );
    let ffmpeg = Outcome::Streams(RtspClient::Ffmpeg);
    check(Quirk::LfOnly, [ffmpeg, native, ffmpeg]);
}

#[test]
fn content_base_no_scheme() {
    check(Quirk::ContentBaseNoScheme, STREAMS);
}

#[test]
fn rtcp_before_play() {
    check(Quirk::RtcpBeforePlay, STREAMS);
}

#[test]
fn rtp_before_play() {
    check(Quirk::RtpBeforePlay, STREAMS);
}

/// The stamp of the first frame a stream publishes from `simulator`.
fn first_stamp(simulator: &Simulator, client: RtspClient) -> u32 {
    let mut stream = engine(&simulator.url(0), client);
    stream.queue_frames();
    let frames = collect_frames(&stream, 1, WAIT);
    stop(&mut stream);
    stamp::read(&frames[0]).expect("a legible stamp")
}

/// Both clients skip what comes before the PLAY answer (FFmpeg while it
/// reads the answer, retina as data before PLAY): the first frame, a
/// keyframe, is lost, and the stream starts at the next keyframe (frame
/// `GOP`), where a camera without the quirk starts at frame 0.
#[test]
fn rtp_before_play_costs_the_first_gop() {
    let plain = camera(&[]);
    let quirky = camera(&[Quirk::RtpBeforePlay]);
    for client in CLIENTS {
        assert_eq!(first_stamp(&plain, client), 0, "{client:?}");
        assert_eq!(first_stamp(&quirky, client), GOP, "{client:?}");
    }
}

#[test]
fn stray_channel() {
    check(Quirk::StrayChannel, STREAMS);
}

#[test]
fn ssrc_in_rtp_info_only() {
    check(Quirk::SsrcInRtpInfoOnly, STREAMS);
}

/// A camera that serves one client: a second stream is refused with 453
/// while the first streams, and streams once the first has stopped.
#[test]
fn one_client() {
    let simulator = camera(&[Quirk::OneClient]);
    for (first_client, second_client) in [
        (RtspClient::Ffmpeg, RtspClient::Native),
        (RtspClient::Native, RtspClient::Ffmpeg),
    ] {
        let mut first = engine(&simulator.url(0), first_client);
        wait_for(&first, WAIT, "the first stream", |s| {
            s.published >= FRAMES && s.state == StreamState::Streaming
        });
        let mut second = engine(&simulator.url(0), second_client);
        let what = format!("a second stream ({second_client:?})");
        let status = wait_for(&second, WAIT, &what, |s| s.last_error.is_some());
        let error = status.last_error.clone().unwrap();
        assert_eq!(error.kind(), ErrorKind::Refused, "{what}: {error}");
        let said = match second_client {
            RtspClient::Native => "SETUP: 453 response to SETUP",
            _ => "the camera answered SETUP with 453 Not Enough Bandwidth",
        };
        assert!(error.message().contains(said), "{what}: {error}");
        assert_eq!(status.published, 0, "{what}");
        assert!(
            matches!(status.state, StreamState::Reconnecting { .. }),
            "{status:#?}"
        );
        // The first goes on meanwhile.
        let published = first.status().published;
        wait_for(&first, WAIT, "the first stream going on", |s| {
            s.published > published + 5 && s.state == StreamState::Streaming
        });
        stop(&mut first);
        wait_for(&second, WAIT, "the second stream after the first", |s| {
            s.published >= FRAMES && s.state == StreamState::Streaming
        });
        stop(&mut second);
    }
    assert!(simulator.stats().cameras[0].busy_refusals >= 2);
}
