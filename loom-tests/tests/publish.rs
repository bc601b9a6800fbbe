#![cfg(rtsp_ingest_loom)]
//! Publication: the producer's commit both offers the frame to the ordered
//! queue and publishes it as the latest snapshot, under every policy, while
//! latest-readers and the ordered consumer run.
//!
//! Checked in every interleaving:
//! * a frame a reader sees (`latest` / `latest_after`) holds the pixels committed
//!   with its `seq`, and keeps them while held across later commits;
//! * the latest snapshot is never stale: not older than a frame the reader knows
//!   was committed (whatever the queue did with it: queued, thinned, left out
//!   because it was full), and one reader's successive frames never go
//!   backwards (`latest_after` is strictly newer); every frame seen was committed;
//! * `pop_oldest` gives strictly increasing seqs, each older than everything still
//!   queued, with no duplicates;
//! * the books balance (`loom_tests::check_books`), and the latest snapshot at
//!   the end is the last frame committed.
//!
//! Across all interleavings, the `DropNewest` and `Sample` races reach a full
//! queue (`latest_only` / `thinned`) that readers must look past.

use loom::thread;
use loom_tests::{
    assert_increasing, assert_intact, check_books, check_seen, offer_n, slab, watch, Delivered,
    Progress, Reached,
};
use rtsp_ingest::slab::{DropPolicy, Frame, Reader};

/// `latest`, then `latest` again: the second never older than the first.
fn watch_latest(reader: &Reader) -> Vec<Frame> {
    let mut seen: Vec<Frame> = Vec::new();
    for _ in 0..2 {
        let frame = reader.latest();
        let seq = frame.as_ref().map(Frame::seq);
        if let Some(last) = seen.last() {
            assert!(seq >= Some(last.seq()), "latest went backwards");
        }
        seen.extend(frame);
        seen.iter().for_each(assert_intact);
    }
    seen
}

/// Four threads, so without `Progress` (it costs a factor of 40 here): the
/// three-thread models below check staleness.
#[test]
fn producer_two_readers_and_ordered_consumer() {
    loom::model(|| {
        let (mut producer, mut consumer, reader) = slab(1, DropPolicy::Latest, 2);
        let other = reader.clone();
        let plain = thread::spawn(move || watch_latest(&reader));
        let after = thread::spawn(move || watch(&other, None));
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
        check_seen(&seen_plain, &offers);
        check_seen(&seen_after, &offers);
        assert_increasing("pop_oldest", &popped);
        drop((seen_plain, seen_after));
        check_books(&offers, &Delivered { popped, cleared: 0 }, &mut consumer);
    });
}

/// A reader and a consumer popping `pops` times race `commits` commits under
/// `policy`; `reachable` names offer outcomes some interleaving must reach.
fn reader_and_consumer(
    policy: DropPolicy,
    capacity: usize,
    commits: usize,
    pops: usize,
    reachable: &'static [&'static str],
) {
    let reached = Reached::default();
    let notes = reached.clone();
    loom::model(move || {
        // One reader slot per frame the reader holds, one for the consumer's.
        let (mut producer, mut consumer, reader) = slab(capacity, policy, 3);
        let progress = Progress::default();
        let watcher_progress = progress.clone();
        let watcher = thread::spawn(move || watch(&reader, Some(&watcher_progress)));
        let ordered = thread::spawn(move || {
            let mut popped = Vec::new();
            let mut last = None;
            for _ in 0..pops {
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

        let offers = progress.offer_n(&mut producer, commits);

        let seen = watcher.join().unwrap();
        let (mut consumer, popped) = ordered.join().unwrap();
        check_seen(&seen, &offers);
        assert_increasing("pop_oldest", &popped);
        drop(seen);
        // FIFO: everything popped is older than everything left.
        let left = consumer.read_all();
        if let (Some(popped), Some(left)) = (popped.last(), left.first()) {
            assert!(
                popped < &left.seq(),
                "popped {popped} before older {}",
                left.seq()
            );
        }
        drop(left);
        notes.note_offers(&offers);
        check_books(&offers, &Delivered { popped, cleared: 0 }, &mut consumer);
    });
    for what in reachable {
        reached.assert(what);
    }
}

#[test]
fn latest_reader_and_ordered_consumer() {
    reader_and_consumer(DropPolicy::Latest, 2, 3, 2, &["queued", "overwrote"]);
}

/// The queue fills after one frame and leaves the next out unless a pop came
/// first; the reader must still see each commit.
#[test]
fn drop_newest_reader_and_ordered_consumer() {
    reader_and_consumer(DropPolicy::DropNewest, 1, 3, 1, &["queued", "latest_only"]);
}

/// The third commit finds the queue full unless a pop came first, and rebuilds
/// it; the reader must still see each commit.
#[test]
fn sample_reader_and_ordered_consumer() {
    reader_and_consumer(DropPolicy::Sample, 2, 3, 1, &["queued", "thinned"]);
}
