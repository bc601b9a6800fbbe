#![cfg(rtsp_ingest_loom)]
//! Publication: the producer's commit both publishes the latest snapshot and
//! queues the frame, while latest-readers and the ordered consumer run.
//!
//! Checked in every interleaving:
//! * a frame a reader sees (`latest` / `latest_after`) holds the pixels committed
//!   with its `seq`, and keeps them while held across later commits;
//! * one reader's successive frames never go backwards (`latest_after` is strictly
//!   newer), and every frame seen was committed;
//! * `pop_oldest` gives strictly increasing seqs, each older than everything still
//!   queued, with no duplicates;
//! * the books balance: offered = refused + committed, and every committed seq is
//!   popped, still queued, evicted or published only, exactly once, with the
//!   slab's counters agreeing.

use loom::thread;
use loom_tests::{assert_increasing, assert_intact, check_books, offer_n, slab, Delivered};
use rtsp_ingest::slab::{DropPolicy, Frame, Reader};

/// `latest`, then `latest` again: the second is never older than the first.
fn watch_latest(reader: &Reader) -> Vec<Frame> {
    let first = reader.latest();
    first.iter().for_each(assert_intact);
    let second = reader.latest();
    if let Some(first) = &first {
        let second = second.as_ref().expect("a published frame never disappears");
        assert!(second.seq() >= first.seq(), "latest went backwards");
        assert_intact(first);
    }
    second.iter().for_each(assert_intact);
    first.into_iter().chain(second).collect()
}

/// `latest`, then `latest_after` it: strictly newer, or nothing.
fn watch_latest_after(reader: &Reader) -> Vec<Frame> {
    let first = reader.latest();
    first.iter().for_each(assert_intact);
    let second = match &first {
        Some(first) => reader.latest_after(first.seq()),
        None => reader.latest(),
    };
    if let (Some(first), Some(second)) = (&first, &second) {
        assert!(second.seq() > first.seq(), "latest_after gave an old frame");
        assert_intact(first);
    }
    second.iter().for_each(assert_intact);
    first.into_iter().chain(second).collect()
}

/// Checks what readers saw against what the producer committed.
fn check_seen(seen: &[Frame], committed: &[u64]) {
    for frame in seen {
        assert_intact(frame);
        assert!(
            committed.contains(&frame.seq()),
            "a reader saw {}, which was never committed ({committed:?})",
            frame.seq()
        );
    }
}

#[test]
fn producer_two_readers_and_ordered_consumer() {
    loom::model(|| {
        let (mut producer, mut consumer, reader) = slab(1, DropPolicy::Latest, 2);
        let other = reader.clone();
        let plain = thread::spawn(move || watch_latest(&reader));
        let after = thread::spawn(move || watch_latest_after(&other));
        let ordered = thread::spawn(move || {
            let popped: Vec<u64> = (0..2)
                .filter_map(|_| consumer.pop_oldest())
                .inspect(assert_intact)
                .map(|frame| frame.seq())
                .collect();
            (consumer, popped)
        });

        let offers = offer_n(&mut producer, 3);

        let seen_plain = plain.join().unwrap();
        let seen_after = after.join().unwrap();
        let (mut consumer, popped) = ordered.join().unwrap();
        let committed: Vec<u64> = offers.iter().flatten().map(|c| c.seq()).collect();
        check_seen(&seen_plain, &committed);
        check_seen(&seen_after, &committed);
        assert_increasing("pop_oldest", &popped);
        let newest = producer.reader().latest().map(|frame| frame.seq());
        assert_eq!(newest, committed.last().copied(), "latest after the run");
        drop((seen_plain, seen_after));
        check_books(&offers, &Delivered { popped, cleared: 0 }, &mut consumer);
    });
}

#[test]
fn producer_reader_and_ordered_consumer() {
    loom::model(|| {
        let (mut producer, mut consumer, reader) = slab(2, DropPolicy::Latest, 1);
        let watcher = thread::spawn(move || watch_latest_after(&reader));
        let ordered = thread::spawn(move || {
            let mut popped = Vec::new();
            let mut last = None;
            for _ in 0..2 {
                if let Some(frame) = consumer.pop_oldest() {
                    assert_intact(&frame);
                    popped.push(frame.seq());
                    // Held across the next pop and the producer's commits.
                    if let Some(previous) = last.replace(frame) {
                        assert_intact(&previous);
                    }
                }
            }
            if let Some(previous) = &last {
                assert_intact(previous);
            }
            (consumer, popped)
        });

        let offers = offer_n(&mut producer, 3);

        let seen = watcher.join().unwrap();
        let (mut consumer, popped) = ordered.join().unwrap();
        let committed: Vec<u64> = offers.iter().flatten().map(|c| c.seq()).collect();
        check_seen(&seen, &committed);
        assert_increasing("pop_oldest", &popped);
        drop(seen);
        let delivered = Delivered { popped, cleared: 0 };
        // FIFO: everything popped is older than everything left.
        let left = consumer.read_all();
        if let (Some(popped), Some(left)) = (delivered.popped.last(), left.first()) {
            assert!(
                popped < &left.seq(),
                "popped {popped} before older {}",
                left.seq()
            );
        }
        drop(left);
        check_books(&offers, &delivered, &mut consumer);
    });
}
