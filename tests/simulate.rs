//! The camera simulator (`rtsp_ingest::simulate`) against three clients: the
//! crate's own engine (`Stream`), the `ffmpeg` CLI and GStreamer's `rtspsrc`.
//! Content, frame rate, continuous timestamps across the loop point, and every
//! fault the simulator can inject. Every wait is bounded.

#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::process::Command;
use std::time::{Duration, Instant};

use rtsp_fixture::{pattern, run_bounded};
use rtsp_ingest::ffmpeg::VideoCodec;
use rtsp_ingest::simulate::{Faults, PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::slab::Frame;
use rtsp_ingest::stream::{Backoff, Stream, StreamConfig, StreamState, Transport};
use rtsp_ingest::ErrorKind;
use stream_util::{collect_frames, wait_for};

const USER: &str = "operator";
const PASSWORD: &str = "s1m-pass:word";

fn any_port() -> SimulatorConfig {
    SimulatorConfig::default().addr("127.0.0.1:0".parse().unwrap())
}

/// A stream with short timeouts, so faults resolve within seconds.
fn engine(url: &str, tweak: impl FnOnce(StreamConfig) -> StreamConfig) -> Stream {
    let config = StreamConfig::new(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(3))
        .stall_timeout(Duration::from_millis(1500))
        .backoff(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        })
        .queue_capacity(64);
    Stream::start("sim", tweak(config)).unwrap()
}

/// The frame's rows without their alignment padding.
fn packed(frame: &Frame) -> Vec<u8> {
    (0..frame.height() as usize)
        .flat_map(|y| frame.row(0, y).to_vec())
        .collect()
}

/// Checks the bands and returns the frame index burnt into the picture.
fn pattern_index(frame: &Frame) -> u32 {
    let layout = pattern::Layout::bgr24(frame.width() as usize, frame.height() as usize);
    pattern::check(&packed(frame), &layout, pattern::DEFAULT_TOLERANCE)
        .unwrap_or_else(|e| panic!("frame {}: {e}", frame.seq()))
}

fn stop(stream: &mut Stream) {
    let begun = Instant::now();
    assert!(stream.stop());
    assert!(begun.elapsed() < Duration::from_millis(500));
}

/// What a test keeps of a frame (holding frames would pin the slab's slots).
struct Seen {
    seq: u64,
    index: u32,
    pts_ns: Option<i64>,
    received: Instant,
    keyframe: bool,
    size: (u32, u32),
}

/// Pops `count` frames in order, checking each one's pattern as it comes.
fn watch(stream: &Stream, count: usize, timeout: Duration) -> Vec<Seen> {
    let deadline = Instant::now() + timeout;
    let mut consumer = loop {
        if let Some(consumer) = stream.take_consumer() {
            break consumer;
        }
        assert!(
            Instant::now() < deadline,
            "no consumer: {:#?}",
            stream.status()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut seen = Vec::with_capacity(count);
    while seen.len() < count {
        match consumer.pop_oldest() {
            Some(frame) => seen.push(Seen {
                seq: frame.seq(),
                index: pattern_index(&frame),
                pts_ns: frame.pts_ns(),
                received: frame.received(),
                keyframe: frame.is_keyframe(),
                size: (frame.width(), frame.height()),
            }),
            None => {
                assert!(
                    Instant::now() < deadline,
                    "{} of {count} frames within {timeout:?}: {:#?}",
                    seen.len(),
                    stream.status()
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    seen
}

#[test]
fn the_engine_reads_two_cameras_in_real_time_across_the_loop() {
    let simulator = Simulator::start(any_port().cameras(2)).unwrap();
    let media = simulator.media().clone();
    assert_eq!((media.width, media.height, media.frames), (640, 360, 100));
    assert_eq!(media.codec, VideoCodec::H264);
    assert_eq!(media.loop_duration, Duration::from_secs(4));

    // Auto: FFmpeg tries UDP first, which the simulator serves.
    let mut other = engine(&simulator.url(1), |c| c.transport(Transport::Auto));
    let mut stream = engine(&simulator.url(0), |c| c);
    // 5.2 s of frames: more than one 4 s loop.
    let frames = watch(&stream, 130, Duration::from_secs(20));
    let status = stream.status();
    assert_eq!(status.state, StreamState::Streaming, "{status:#?}");
    assert_eq!(status.dropped.total(), 0, "{status:#?}");
    let info = status.media.as_ref().expect("media info");
    assert_eq!(
        (info.codec.as_str(), info.width, info.height),
        ("h264", 640, 360)
    );

    let first = &frames[0];
    assert!(first.keyframe);
    assert_eq!(first.size, (640, 360));
    assert_eq!(first.index, 0, "every session starts the loop at 0");
    let mut wrapped = false;
    for pair in frames.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_eq!(b.seq, a.seq + 1, "no frame dropped");
        assert_eq!(b.index, (a.index + 1) % 100, "consecutive pictures");
        wrapped |= b.index == 0;
        // FFmpeg's RTP demuxer gives the very first frame no pts.
        if let (Some(pa), Some(pb)) = (a.pts_ns, b.pts_ns) {
            let step = pb - pa;
            assert!(
                (39_000_000..=41_000_000).contains(&step),
                "pts step {step} ns between pictures {} and {}",
                a.index,
                b.index
            );
        } else {
            assert_eq!(a.seq, first.seq, "only the first frame lacks a pts");
        }
    }
    assert!(wrapped, "the frames crossed the loop point");

    // Real-time pacing: ~25 fps over 3 s of arrivals.
    let start = frames[5].received;
    let in_3s = frames[5..]
        .iter()
        .filter(|f| f.received.duration_since(start) < Duration::from_secs(3))
        .count();
    assert!((70..=80).contains(&in_3s), "{in_3s} frames in 3 s");
    let span = frames.last().unwrap().received - start;
    let fps = (frames.len() - 6) as f64 / span.as_secs_f64();
    assert!((23.5..=26.5).contains(&fps), "{fps:.2} fps");

    // The second camera streams the same pattern.
    let status = wait_for(&other, Duration::from_secs(10), "cam1 frames", |s| {
        s.published >= 10
    });
    assert_eq!(status.state, StreamState::Streaming);
    let frame = other.latest().expect("a frame from cam1");
    assert_eq!((frame.width(), frame.height()), (640, 360));
    pattern_index(&frame);
    drop(frame);

    let stats = simulator.stats();
    assert_eq!(stats.cameras.len(), 2);
    assert!(
        stats
            .cameras
            .iter()
            .all(|c| c.sessions == 1 && c.playing == 1),
        "{stats:?}"
    );
    stop(&mut stream);
    stop(&mut other);
}

#[test]
fn the_ffmpeg_cli_reads_50_frames() {
    let simulator = Simulator::start(any_port()).unwrap();
    let out = run_bounded(
        Command::new(rtsp_fixture::ffmpeg())
            .args(["-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i"])
            .arg(simulator.url(0))
            .args(["-frames:v", "50", "-f", "null", "-"]),
        Duration::from_secs(30),
    );
    assert!(out.success(), "{}: {}", out.describe_status(), out.stderr);
    assert!(out.stderr.contains("640x360"), "{}", out.stderr);
    assert!(out.stderr.contains("frame=   50"), "{}", out.stderr);
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
    // Paced in real time: 50 frames take about 2 s.
    assert!(
        out.elapsed >= Duration::from_millis(1800),
        "{:?}",
        out.elapsed
    );
}

#[test]
fn gstreamer_reads_50_frames() {
    let simulator = Simulator::start(any_port()).unwrap();
    let location = format!("location={}", simulator.url(0));
    let out = run_bounded(
        Command::new("gst-launch-1.0")
            .args(["-q", "rtspsrc", &location, "protocols=tcp", "!"])
            .args(["rtph264depay", "!", "h264parse", "!", "avdec_h264", "!"])
            .args(["fakesink", "num-buffers=50"]),
        Duration::from_secs(30),
    );
    assert!(
        out.success(),
        "{} (install gstreamer1.0-tools, plugins-good, plugins-bad, gstreamer1.0-libav): {}{}",
        out.describe_status(),
        String::from_utf8_lossy(&out.stdout),
        out.stderr
    );
    assert_eq!(simulator.stats().cameras[0].sessions, 1);
}

#[test]
fn a_login_is_required_when_auth_is_on() {
    let faults: Faults = format!("auth={USER}:{PASSWORD}").parse().unwrap();
    let simulator = Simulator::start(any_port().faults(faults)).unwrap();
    let mut anonymous = engine(&simulator.url(0), |c| c.auth_retry(Duration::from_secs(30)));
    let status = wait_for(&anonymous, Duration::from_secs(10), "auth failed", |s| {
        s.state == StreamState::AuthFailed
    });
    assert_eq!(status.last_error.unwrap().kind(), ErrorKind::Auth);

    let url = simulator.url_with_credentials(0);
    assert!(url.contains("operator:s1m-pass%3Aword@"), "{url}");
    let mut stream = engine(&url, |c| c);
    let frames = collect_frames(&stream, 10, Duration::from_secs(10));
    pattern_index(&frames[9]);
    assert!(!format!("{:?}", stream.status()).contains(PASSWORD));
    assert!(simulator.stats().cameras[0].auth_failures >= 1);
    stop(&mut stream);
    stop(&mut anonymous);
}

#[test]
fn the_engine_reconnects_after_each_cut() {
    let config = any_port().faults("cut-every=1500ms".parse().unwrap());
    let simulator = Simulator::start(config).unwrap();
    let mut stream = engine(&simulator.url(0), |c| c);
    let status = wait_for(&stream, Duration::from_secs(20), "two reconnects", |s| {
        s.reconnects >= 2 && s.published >= 60
    });
    assert!(
        status.last_error.is_some(),
        "the cut is reported: {status:#?}"
    );
    let before = status.published;
    wait_for(
        &stream,
        Duration::from_secs(10),
        "frames after the cuts",
        |s| s.published >= before + 10,
    );
    assert!(simulator.stats().cameras[0].cuts >= 2);
    stop(&mut stream);
}

#[test]
fn the_engine_detects_a_stall_and_recovers() {
    let config = any_port().faults("stall-after=2s".parse().unwrap());
    let simulator = Simulator::start(config).unwrap();
    let mut stream = engine(&simulator.url(0), |c| c);
    let stalled = wait_for(&stream, Duration::from_secs(15), "a stall", |s| {
        s.reconnects >= 1 && s.published >= 20
    });
    let error = stalled.last_error.expect("the stall is reported");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    // The new session streams again (until it stalls in turn).
    let before = stalled.published;
    wait_for(
        &stream,
        Duration::from_secs(10),
        "frames after the stall",
        |s| s.published >= before + 10,
    );
    assert!(simulator.stats().cameras[0].stalls >= 1);
    stop(&mut stream);
}

#[test]
fn corrupt_payloads_are_counted_and_never_crash_the_engine() {
    let config = any_port().faults("corrupt=0.0005".parse().unwrap());
    let simulator = Simulator::start(config).unwrap();
    let mut stream = engine(&simulator.url(0), |c| c.queue_capacity(256));
    // Every published frame is checked: queue them from the first.
    stream.queue_frames();
    wait_for(&stream, Duration::from_secs(20), "first frame", |s| {
        s.published > 0
    });
    let mut consumer = stream.take_consumer().expect("the slab exists");
    let status = wait_for(&stream, Duration::from_secs(20), "damage noticed", |s| {
        s.decode_errors + s.dropped.corrupt > 0 && s.decoded >= 50
    });
    assert!(
        !matches!(status.state, StreamState::Failed(_)),
        "{status:#?}"
    );
    assert!(simulator.stats().cameras[0].corrupted_bytes > 0);
    // Whatever was published shows clean bands.
    let mut checked = 0;
    while let Some(frame) = consumer.pop_oldest() {
        pattern_index(&frame);
        checked += 1;
    }
    assert!(checked > 0, "{:#?}", stream.status());
    stop(&mut stream);
}

#[test]
fn h265_pattern_and_clip_files_stream_too() {
    let h265 = PatternOptions::default()
        .codec(VideoCodec::H265)
        .size(320, 192)
        .frames(50);
    let simulator = Simulator::start(any_port().pattern(h265)).unwrap();
    let mut stream = engine(&simulator.url(0), |c| c);
    let frames = collect_frames(&stream, 10, Duration::from_secs(15));
    assert_eq!(stream.status().media.unwrap().codec, "hevc");
    assert_eq!((frames[0].width(), frames[0].height()), (320, 192));
    for frame in &frames {
        pattern_index(frame);
    }
    stop(&mut stream);
    drop(simulator);

    let clips = rtsp_fixture::clips_dir();
    for (file, codec) in [("h264_bframes.mp4", "h264"), ("mjpeg.mkv", "mjpeg")] {
        let simulator = Simulator::start(any_port().clip(clips.join(file))).unwrap();
        assert_eq!(simulator.media().frames, pattern::FRAMES as usize, "{file}");
        let mut stream = engine(&simulator.url(0), |c| c);
        let frames = watch(&stream, 10, Duration::from_secs(15));
        assert_eq!(stream.status().media.unwrap().codec, codec, "{file}");
        assert_eq!(frames[0].size, (320, 240), "{file}");
        let indexes: Vec<u32> = frames.iter().map(|f| f.index).collect();
        assert_eq!(indexes, (0..10).collect::<Vec<_>>(), "{file}");
        stop(&mut stream);
    }
}
