//! Blocking for the next frame (`Reader::wait_after`, `wait_latest`): newer
//! frames only, timeouts, many waiters, the producer's end waking everyone.
//! Bounds on elapsed time are behaviour (a wait must not return early, and
//! must return once woken), with slack for a loaded machine; how fast a wake-up
//! is gets measured in `benches/wake.rs`, not asserted here.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use rtsp_ingest::slab::{
    self, DropPolicy, FrameInfo, FrameLayout, PixelFormat, Producer, Reader, SlabConfig,
};

fn slab(policy: DropPolicy) -> (Producer, Reader) {
    let layout = FrameLayout::new(8, 2, PixelFormat::Gray8).unwrap();
    let (producer, _consumer, reader) = slab::new(
        SlabConfig::new(layout)
            .capacity(2)
            .policy(policy)
            .reader_slots(16),
    )
    .unwrap();
    (producer, reader)
}

fn publish(producer: &mut Producer) -> u64 {
    let writer = producer.begin().unwrap();
    writer.commit(FrameInfo::received_now()).seq()
}

/// Generous: a waiter that was woken or timed out must run within this long
/// even on a loaded CI machine.
const SLACK: Duration = Duration::from_secs(2);

#[test]
fn returns_at_once_when_a_newer_frame_exists() {
    let (mut producer, reader) = slab(DropPolicy::Latest);
    publish(&mut producer);
    publish(&mut producer);
    let begun = Instant::now();
    assert_eq!(
        reader.wait_after(0, Duration::from_secs(10)).unwrap().seq(),
        1
    );
    assert_eq!(
        reader.wait_latest(Duration::from_secs(10)).unwrap().seq(),
        1
    );
    assert!(begun.elapsed() < SLACK);
}

#[test]
fn only_newer_frames_and_the_timeout_is_honoured() {
    let (mut producer, reader) = slab(DropPolicy::Latest);
    let seq = publish(&mut producer);
    for timeout in [
        Duration::ZERO,
        Duration::from_millis(1),
        Duration::from_millis(30),
    ] {
        let begun = Instant::now();
        assert!(reader.wait_after(seq, timeout).is_none(), "{timeout:?}");
        let waited = begun.elapsed();
        assert!(
            waited >= timeout,
            "returned early: {waited:?} < {timeout:?}"
        );
        assert!(waited < timeout + SLACK, "{waited:?}");
    }
    // No frame yet at all: `wait_latest` times out too.
    let (_producer, empty) = slab(DropPolicy::Latest);
    assert!(empty.wait_latest(Duration::from_millis(10)).is_none());
}

#[test]
fn a_publish_wakes_a_waiter_under_every_policy() {
    for policy in DropPolicy::ALL {
        let (mut producer, reader) = slab(policy);
        // Fill the queue so DropNewest and Sample have to deal with it.
        for _ in 0..5 {
            publish(&mut producer);
        }
        let last = reader.latest().unwrap().seq();
        let waiter = thread::spawn(move || {
            let begun = Instant::now();
            let frame = reader.wait_after(last, Duration::from_secs(30));
            (frame.map(|frame| frame.seq()), begun.elapsed())
        });
        thread::sleep(Duration::from_millis(50));
        let seq = publish(&mut producer);
        let (got, waited) = waiter.join().unwrap();
        assert_eq!(got, Some(seq), "{policy}");
        assert!(
            waited < Duration::from_secs(30) - SLACK,
            "{policy}: {waited:?}"
        );
    }
}

#[test]
fn every_waiter_wakes_on_one_publish() {
    let (mut producer, reader) = slab(DropPolicy::Latest);
    let waiters = 12;
    let barrier = Arc::new(Barrier::new(waiters + 1));
    let handles: Vec<_> = (0..waiters)
        .map(|index| {
            let reader = reader.clone();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                // Half wait for the first frame, half for one after "frame 0".
                if index % 2 == 0 {
                    reader.wait_latest(Duration::from_secs(30)).map(|f| f.seq())
                } else {
                    reader
                        .wait_after(0, Duration::from_secs(30))
                        .map(|f| f.seq())
                }
            })
        })
        .collect();
    barrier.wait();
    thread::sleep(Duration::from_millis(50));
    let first = publish(&mut producer);
    thread::sleep(Duration::from_millis(20));
    let second = publish(&mut producer);
    for (index, handle) in handles.into_iter().enumerate() {
        let got = handle.join().unwrap().unwrap();
        if index % 2 == 0 {
            assert!(got == first || got == second, "{got}");
        } else {
            assert_eq!(got, second);
        }
    }
}

#[test]
fn dropping_the_producer_wakes_every_waiter_with_none() {
    let (producer, reader) = slab(DropPolicy::Latest);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let reader = reader.clone();
            thread::spawn(move || {
                let begun = Instant::now();
                (reader.wait_latest(Duration::MAX).is_none(), begun.elapsed())
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(50));
    drop(producer);
    for handle in handles {
        let (none, waited) = handle.join().unwrap();
        assert!(none);
        assert!(waited < SLACK, "{waited:?}");
    }
    assert!(reader.is_closed());
    // Later waits return at once.
    let begun = Instant::now();
    assert!(reader.wait_after(0, Duration::from_secs(30)).is_none());
    assert!(begun.elapsed() < SLACK);
}

/// A producer publishing flat out against several waiters that each take
/// every frame they can: no waiter ever sees a frame twice or goes backwards,
/// and none is left asleep at the end.
#[test]
fn waiters_keep_up_with_a_fast_producer() {
    let (mut producer, reader) = slab(DropPolicy::Latest);
    let total = 20_000u64;
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let reader = reader.clone();
            thread::spawn(move || {
                let mut last = None;
                let mut seen = 0u64;
                loop {
                    let frame = match last {
                        None => reader.wait_latest(Duration::from_secs(30)),
                        Some(seq) => reader.wait_after(seq, Duration::from_secs(30)),
                    };
                    let Some(frame) = frame else { break };
                    if let Some(previous) = last {
                        assert!(frame.seq() > previous);
                    }
                    last = Some(frame.seq());
                    seen += 1;
                }
                (last, seen)
            })
        })
        .collect();
    for _ in 0..total {
        publish(&mut producer);
    }
    drop(producer);
    for handle in handles {
        let (last, seen) = handle.join().unwrap();
        assert_eq!(last, Some(total - 1), "every waiter ends on the last frame");
        assert!(seen >= 1);
    }
}
