//! A camera that changes its picture size mid-stream (the simulator's
//! `resize-after` fault: the encoder restarts at the new size, new SPS/PPS in
//! band, same RTSP session): an event says so, the status shows the new size,
//! and frames come at the new native size on a new slab, or stay at the
//! configured resize; a new slab the memory budget refuses is reported and
//! frames stay at the old size.

#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::time::{Duration, Instant};

use rtsp_ingest::manager::{ManagerConfig, StreamManager};
use rtsp_ingest::simulate::{PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::slab::Frame;
use rtsp_ingest::stream::{RtspClient, Stream, StreamConfig, StreamEvent, StreamState};
use rtsp_ingest::ErrorKind;
use stream_util::wait_for;

const OLD: (u32, u32) = (320, 180);
const NEW: (u32, u32) = (640, 360);

/// One camera sending `OLD`, then `NEW` from 1.5 s after `PLAY`.
fn simulator() -> Simulator {
    let config = SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .pattern(PatternOptions::default().size(OLD.0, OLD.1))
        .faults("resize-after=1.5s:640x360".parse().unwrap());
    Simulator::start(config).unwrap()
}

fn config(url: &str) -> StreamConfig {
    StreamConfig::new(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(3))
        .stall_timeout(Duration::from_secs(5))
}

fn size(frame: &Frame) -> (u32, u32) {
    (frame.width(), frame.height())
}

/// Follows `next` (a wait for the frame after a seq) until a frame of
/// `wanted` size, checking the sequence numbers only grow; the frames seen.
fn frames_until(
    mut next: impl FnMut(Option<u64>) -> Option<Frame>,
    wanted: impl Fn(&Frame) -> bool,
) -> Vec<Frame> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut frames: Vec<Frame> = Vec::new();
    loop {
        let after = frames.last().map(Frame::seq);
        let frame = next(after).expect("frames keep coming");
        if let Some(seq) = after {
            assert!(frame.seq() > seq, "seq {} after {seq}", frame.seq());
        }
        let done = wanted(&frame);
        frames.push(frame);
        if done {
            return frames;
        }
        assert!(Instant::now() < deadline, "no frame as wanted in 15 s");
    }
}

fn media_events(events: &[StreamEvent]) -> Vec<&StreamEvent> {
    events
        .iter()
        .filter(|event| event.media.is_some())
        .collect()
}

#[test]
fn without_a_resize_a_new_size_moves_the_stream_to_a_new_slab() {
    moves_to_a_new_slab(RtspClient::Ffmpeg);
}

#[test]
fn the_native_client_follows_a_new_size_too() {
    moves_to_a_new_slab(RtspClient::Native);
}

fn moves_to_a_new_slab(client: RtspClient) {
    let simulator = simulator();
    let config = config(&simulator.url(0)).rtsp_client(client);
    let mut stream = Stream::start("cam", config).unwrap();
    let first = stream
        .wait_latest(Duration::from_secs(10))
        .expect("a frame");
    assert_eq!(size(&first), OLD);
    let old_reader = stream.reader().unwrap();
    let old_consumer = stream.take_consumer().unwrap();
    let wait = Duration::from_secs(5);
    let frames = frames_until(
        |after| match after {
            Some(seq) => stream.wait_after(seq, wait),
            None => stream.wait_latest(wait),
        },
        |frame| size(frame) == NEW,
    );
    // The frames leased from the old slab are intact, and its ends closed.
    assert_eq!(size(&first), OLD);
    assert!(first.data().len() >= (OLD.0 * OLD.1 * 3) as usize);
    assert!(frames.iter().any(|frame| size(frame) == OLD));
    assert!(old_reader.is_closed(), "the old slab gets no more frames");
    drop(old_consumer);
    let mut consumer = stream.take_consumer().expect("the new slab's consumer");
    let newer = stream
        .wait_after(frames.last().unwrap().seq(), wait)
        .unwrap();
    assert_eq!(size(&newer), NEW);
    assert!(consumer
        .pop_oldest()
        .is_some_and(|frame| size(&frame) == NEW));
    let status = wait_for(&stream, wait, "the new size in the status", |s| {
        s.media.as_ref().is_some_and(|m| (m.width, m.height) == NEW)
    });
    assert_eq!(status.state, StreamState::Streaming);
    // Caught between two frames, the books add up across slabs.
    wait_for(&stream, wait, "the books to add up", |s| {
        s.decoded == s.published + s.dropped.total()
    });
    let events: Vec<StreamEvent> = stream.events().unwrap().try_iter().collect();
    let changes = media_events(&events);
    assert_eq!(changes.len(), 1, "{events:#?}");
    let media = changes[0].media.as_ref().unwrap();
    assert_eq!(
        (media.codec.as_str(), media.width, media.height),
        ("h264", NEW.0, NEW.1)
    );
    assert!(changes[0].error.is_none(), "{events:#?}");
    assert!(stream.stop());
}

#[test]
fn with_a_resize_frames_keep_the_configured_size() {
    let simulator = simulator();
    let mut stream = Stream::start("cam", config(&simulator.url(0)).resize(160, 90)).unwrap();
    let status = wait_for(&stream, Duration::from_secs(15), "the size change", |s| {
        s.media.as_ref().is_some_and(|m| (m.width, m.height) == NEW)
    });
    assert_eq!(status.state, StreamState::Streaming);
    let reader = stream.reader().unwrap();
    let after = stream.latest().unwrap().seq();
    let frame = stream
        .wait_after(after, Duration::from_secs(5))
        .expect("frames go on");
    assert_eq!(size(&frame), (160, 90));
    assert!(!reader.is_closed(), "the slab stays");
    let events: Vec<StreamEvent> = stream.events().unwrap().try_iter().collect();
    assert_eq!(media_events(&events).len(), 1, "{events:#?}");
    assert!(stream.stop());
}

#[test]
fn a_new_slab_over_the_memory_budget_is_refused_and_reported() {
    let simulator = simulator();
    // The first slab (8 slots of 320x180 BGR, 1.3 MiB) fits; one of 640x360
    // (5.3 MiB) does not.
    let manager = StreamManager::new(
        ManagerConfig::default()
            .no_pinning()
            .memory_budget_mb(3.0)
            .assumed_frame_size(OLD.0, OLD.1),
    );
    manager.add("cam", config(&simulator.url(0))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let refused = loop {
        let event = manager
            .events()
            .recv_timeout(Duration::from_secs(15))
            .expect("events");
        if event.media.is_some() {
            break event;
        }
        assert!(Instant::now() < deadline);
    };
    let error = refused.error.expect("the refusal");
    assert_eq!(error.kind(), ErrorKind::OverBudget, "{error}");
    assert!(
        error.message().contains("640x360") && error.message().contains("320x180"),
        "{error}"
    );
    let status = manager.status("cam").unwrap();
    assert_eq!(status.state, StreamState::Streaming);
    let media = status.media.unwrap();
    assert_eq!((media.width, media.height), NEW);
    assert_eq!(status.last_error.unwrap().kind(), ErrorKind::OverBudget);
    let seq = manager.latest("cam").unwrap().seq();
    let frame = manager
        .wait_after("cam", seq, Duration::from_secs(5))
        .expect("frames go on");
    assert_eq!(size(&frame), OLD, "scaled to the old size");
    let (reserved, _) = manager.memory();
    assert!(reserved < 3 << 20, "{reserved} bytes reserved");
    manager.shutdown();
}
