//! The books of a running stream add up exactly, under every drop policy, with
//! a consumer and readers racing the decode worker against a simulated camera
//! that corrupts packets and cuts the connection: every decoded frame is
//! published or dropped before publication for one reason, and every published
//! frame is still queued, taken, cleared or evicted by the queue for one reason.

#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtsp_ingest::simulate::{Simulator, SimulatorConfig};
use rtsp_ingest::slab::{DropPolicy, Frame};
use rtsp_ingest::stream::{Backoff, SkipPolicy, Stream, StreamConfig, StreamState};
use stream_util::wait_for;

/// How long each stream runs: long enough for cuts, corrupt frames and a few
/// hundred decoded frames.
const RUN: Duration = Duration::from_secs(5);

fn simulator() -> Simulator {
    let config = SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .faults("corrupt=0.0002,cut-every=2s".parse().unwrap());
    Simulator::start(config).unwrap()
}

fn start(url: &str, policy: DropPolicy, skip: SkipPolicy) -> Stream {
    let config = StreamConfig::new(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(3))
        .backoff(Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
        })
        .queue_capacity(2)
        .reader_slots(1)
        .drop_policy(policy)
        .skip(skip);
    Stream::start("books", config).unwrap()
}

/// Runs a stream for [`RUN`] with a consumer that pops, peeks and clears, and a
/// reader that holds frames, then stops it and checks the books.
fn books_balance(policy: DropPolicy, skip: SkipPolicy) {
    let simulator = simulator();
    let mut stream = start(&simulator.url(0), policy, skip);
    wait_for(&stream, Duration::from_secs(10), "streaming", |status| {
        status.state == StreamState::Streaming
    });
    let mut consumer = stream
        .take_consumer()
        .expect("the slab exists once streaming");
    let reader = stream.reader().unwrap();
    let done = Arc::new(AtomicBool::new(false));

    let reading = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut last = 0;
            let mut held: Option<Frame> = None;
            while !done.load(Ordering::Relaxed) {
                if let Some(frame) = reader.latest_after(last) {
                    assert!(frame.seq() > last);
                    last = frame.seq();
                    held = Some(frame);
                }
                std::thread::sleep(Duration::from_millis(3));
            }
            drop(held);
            last
        })
    };
    let started = Instant::now();
    let mut taken = 0u64;
    let mut last_popped = None;
    let mut round = 0u64;
    while started.elapsed() < RUN {
        round += 1;
        match round % 7 {
            0 => {
                consumer.clear();
                last_popped = None;
            }
            1 | 2 => {
                let _ = consumer.read_all();
            }
            _ => {
                while let Some(frame) = consumer.pop_oldest() {
                    if let Some(last) = last_popped {
                        assert!(frame.seq() > last, "{} after {last}", frame.seq());
                    }
                    last_popped = Some(frame.seq());
                    taken += 1;
                }
            }
        }
        // Slower than the camera now and then, so the queue overflows.
        std::thread::sleep(Duration::from_millis(if round.is_multiple_of(3) {
            150
        } else {
            20
        }));
    }
    done.store(true, Ordering::Relaxed);
    let last_seen = reading.join().unwrap();
    assert!(stream.stop());

    let status = stream.status();
    let slab = consumer.stats();
    let what = format!("{policy} {skip:?}: {status:#?}\n{slab:#?}");
    assert!(status.decoded > 50, "{what}");
    assert!(status.reconnects >= 1, "the camera cuts every 2 s: {what}");
    // Every decoded frame exactly once: published or dropped for one reason.
    assert_eq!(
        status.decoded,
        status.published + status.dropped.total(),
        "{what}"
    );
    // The stream's and the slab's books agree.
    assert_eq!(status.published, slab.published, "{what}");
    assert_eq!(
        slab.offered,
        slab.published + slab.dropped.total(),
        "{what}"
    );
    assert_eq!(status.evicted, slab.evicted, "{what}");
    // Every published frame exactly once: queued, taken, cleared or evicted.
    assert_eq!(
        slab.published,
        slab.size as u64 + slab.taken + slab.cleared + slab.evicted.total(),
        "{what}"
    );
    assert_eq!(slab.taken, taken, "{what}");
    // The latest snapshot kept up with the stream whatever the queue did.
    assert!(
        last_seen + 40 >= slab.offered,
        "latest lagged: {last_seen} of {what}"
    );
    if skip != SkipPolicy::All {
        assert!(status.dropped.skipped > 0, "{what}");
    }
}

#[test]
fn books_balance_under_latest() {
    books_balance(DropPolicy::Latest, SkipPolicy::All);
}

#[test]
fn books_balance_under_sample() {
    books_balance(
        DropPolicy::Sample,
        SkipPolicy::EveryNth(3.try_into().unwrap()),
    );
}

#[test]
fn books_balance_under_drop_newest() {
    books_balance(DropPolicy::DropNewest, SkipPolicy::All);
}

/// The measurement: `drop-newest` with a queue of 2 that nobody pops
/// published 2 frames in 12 s while decoding 300. Now every decoded frame that
/// gets a slot is published as the latest frame.
#[test]
fn drop_newest_with_nobody_popping_keeps_publishing() {
    let simulator =
        Simulator::start(SimulatorConfig::default().addr("127.0.0.1:0".parse().unwrap())).unwrap();
    let mut stream = start(&simulator.url(0), DropPolicy::DropNewest, SkipPolicy::All);
    // Taken, never popped: the queue is open and fills up. (Frames before the
    // take were never queued: `no_consumer`.)
    wait_for(
        &stream,
        Duration::from_secs(15),
        "a first frame",
        |status| status.published >= 1,
    );
    let _consumer = stream.take_consumer().expect("the slab exists");
    let status = wait_for(&stream, Duration::from_secs(15), "50 published", |status| {
        status.published >= 50
    });
    assert_eq!(status.state, StreamState::Streaming);
    let first = stream.latest().unwrap().seq();
    let later = wait_for(&stream, Duration::from_secs(5), "newer frames", |status| {
        status.published >= 60
    });
    assert!(stream.latest().unwrap().seq() > first, "{later:#?}");
    assert_eq!(later.dropped.total(), later.decoded - later.published);
    assert!(later.evicted.queue_full > 40, "{later:#?}");
    assert!(later.evicted.no_consumer >= 1, "{later:#?}");
    assert!(stream.stop());
}

/// Nobody takes the consumer: no queue, every frame only the latest, counted
/// as `no_consumer`, and the slab writes only the slots readers need.
#[test]
fn a_stream_nobody_consumes_keeps_no_queue() {
    let simulator =
        Simulator::start(SimulatorConfig::default().addr("127.0.0.1:0".parse().unwrap())).unwrap();
    let mut stream = start(&simulator.url(0), DropPolicy::Latest, SkipPolicy::All);
    let first = wait_for(&stream, Duration::from_secs(15), "30 published", |status| {
        status.published >= 30
    });
    let reader = stream.reader().expect("the slab exists");
    let later = wait_for(&stream, Duration::from_secs(5), "newer frames", |status| {
        status.published >= first.published + 10
    });
    assert!(reader.latest().unwrap().seq() > 0);
    let slab = reader.stats();
    assert!(!slab.queue_open);
    assert_eq!(slab.size, 0);
    assert_eq!(later.evicted.overwritten, 0, "{later:#?}");
    assert!(
        later.evicted.no_consumer >= later.published - 1,
        "{later:#?}"
    );
    // The snapshot's slot, the one being written, and one a reader may hold.
    assert!(slab.slots_written <= 3, "{slab:#?}");
    assert!(slab.slots_written < slab.slots, "{slab:#?}");
    assert!(stream.stop());
}
