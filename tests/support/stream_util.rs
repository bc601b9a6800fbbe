//! Helpers for tests that drive a `Stream`: bounded waits and frame collection.

use std::time::{Duration, Instant};

use rtsp_ingest::slab::Frame;
use rtsp_ingest::stream::{Stream, StreamStatus};

/// Polls `stream`'s status until `done` holds; panics with the last status after `timeout`.
pub fn wait_for(
    stream: &Stream,
    timeout: Duration,
    what: &str,
    done: impl Fn(&StreamStatus) -> bool,
) -> StreamStatus {
    let deadline = Instant::now() + timeout;
    loop {
        let status = stream.status();
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}: {status:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Takes `count` frames in order from the stream's ordered consumer.
pub fn collect_frames(stream: &Stream, count: usize, timeout: Duration) -> Vec<Frame> {
    let deadline = Instant::now() + timeout;
    let mut consumer = loop {
        if let Some(consumer) = stream.take_consumer() {
            break consumer;
        }
        assert!(
            Instant::now() < deadline,
            "no frame within {timeout:?}: {:#?}",
            stream.status()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut frames = Vec::with_capacity(count);
    while frames.len() < count {
        match consumer.pop_oldest() {
            Some(frame) => frames.push(frame),
            None => {
                assert!(
                    Instant::now() < deadline,
                    "{} of {count} frames within {timeout:?}: {:#?}",
                    frames.len(),
                    stream.status()
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    frames
}
