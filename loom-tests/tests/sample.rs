#![cfg(rtsp_ingest_loom)]
//! `DropPolicy::Sample` racing the consumer. With frames 40 ms apart in pts, a
//! capacity-2 queue is rebuilt by every commit once it is full (the oldest frame
//! and the new one are kept, everything between is sampled out), and a
//! capacity-3 queue widens its stride and replaces provisional tails. A rebuild
//! writes the new queue past the tail and switches to it with one CAS, which
//! fails (and the commit plans again) if the consumer popped, cleared or pinned
//! the queue since the plan read it.
//!
//! Checked in every interleaving:
//! * once `clear` has returned, no frame committed before it started is ever
//!   popped (a frame whose commit races the clear may land after it);
//! * `pop_oldest` results strictly increase, and `pop_latest` returns the newest
//!   frame queued: not older than a frame known committed (`Sample` always
//!   queues the newest frame unless the queue is pinned);
//! * in-place reads are strictly increasing, and every frame got keeps its pixels;
//! * the whole history (each commit's outcome and how many frames it thinned
//!   out, each pop's frame, each clear's count, and the outcomes of commits made
//!   after the race, which show the span and stride the race left) is one that
//!   some sequential order of the same calls gives (`loom_tests::Linearizable`):
//!   a clear or pop that races a rebuild takes effect wholly before or after it,
//!   and a commit that finds the queue emptied starts a new span;
//! * the books balance (`loom_tests::check_books`): every committed seq is
//!   popped, still queued, cleared or thinned, the thinned ones matching the
//!   `sampled_out` count exactly, and the slab's identities hold;
//! * a latest-reader racing the rebuilds and the clear never sees a frame
//!   older than one known committed or than one it saw, nor a torn one.
//!
//! Across all interleavings (reachability): a clear and a pop that ran entirely
//! inside a racing commit, a pinned read that left a commit out of the full
//! queue (`latest_only`), and each sequential order of the calls.

use loom::thread;
use loom_tests::{
    assert_increasing, assert_intact, check_books, check_seen, offer_n, slab, watch, Call,
    Delivered, Progress, Reached, READER_SLOTS,
};
use rtsp_ingest::slab::{Committed, DropPolicy, Frame};

/// A [`loom_tests::race`] under `Sample`.
fn race(
    capacity: usize,
    counts: (usize, usize, usize),
    calls: &'static [Call],
    reachable: &[&str],
) {
    loom_tests::race(
        DropPolicy::Sample,
        capacity,
        counts,
        calls,
        false,
        reachable,
    );
}

/// `[0, 1]` is full, so each racing commit rebuilds it (keeping 0) unless the
/// clear came first: a rebuild that planned on the old queue must not bring 0
/// back after the clear, nor count the cleared frames as sampled out, and the
/// commit that lands in the emptied queue starts a new span.
#[test]
fn rebuild_vs_clear_then_pop() {
    race(
        2,
        (2, 2, 1),
        &[Call::Clear, Call::PopOldest],
        &["Clear inside", "thinned", "queued"],
    );
}

/// `pop_latest` racing a rebuild of `[0, 1]` into `[0, 2]`: it gets 1 (before)
/// or 2 (after), never 0, the oldest kept frame; then `pop_oldest` gets 0.
#[test]
fn rebuild_vs_pop_latest_then_pop_oldest() {
    race(
        2,
        (2, 2, 1),
        &[Call::PopLatest, Call::PopOldest],
        &["PopLatest inside", "thinned"],
    );
}

/// `[0, 2]` (1 was sampled out), then two commits rebuilding it while the
/// consumer pops twice from the front.
#[test]
fn rebuild_vs_pop_oldest_twice() {
    race(
        2,
        (3, 2, 0),
        &[Call::PopOldest, Call::PopOldest],
        &["PopOldest inside", "thinned", "queued"],
    );
}

/// Capacity 3: `[0, 3]` at a stride of 120 ms after 1 and 2 were sampled out,
/// and the racing commit of 4 has room, so it plans a plain push. If the clear
/// empties the queue before the push lands, 4 is the first frame of a new span
/// (stride 0): the next two commits must both be queued, as after any clear,
/// not thinned by the old stride.
#[test]
fn push_vs_clear_starts_a_new_span() {
    race(3, (4, 1, 2), &[Call::Clear], &["Clear inside"]);
}

/// Capacity 3: `[0, 1, 2]` is full at stride 0, so the commit of 3 widens the
/// stride and plans a rebuild to `[0, 3]`. If a pop takes 0 before the rebuild's
/// CAS, the queue has room again and the commit must be planned as if the
/// stride had never widened: 3 is queued behind `[1, 2]`, not thinned.
#[test]
fn rebuild_vs_pop_oldest_keeps_the_stride() {
    race(3, (3, 1, 2), &[Call::PopOldest], &["PopOldest inside"]);
}

/// The consumer pins the queue (`read_all`) and then pops the newest while the
/// producer commits into `[0, 1]`: a commit that finds the full queue pinned
/// cannot rebuild it and is published only; the frames read in place stay
/// intact while the producer rebuilds around them.
#[test]
fn rebuild_vs_pinned_read_and_pop_latest() {
    let reached = Reached::default();
    let notes = reached.clone();
    loom::model(move || {
        let (mut producer, mut consumer, _reader) = slab(2, DropPolicy::Sample, 4);
        let mut offers = offer_n(&mut producer, 2);
        let ordered = thread::spawn(move || {
            let seen = consumer.read_all();
            seen.iter().for_each(assert_intact);
            let seqs: Vec<u64> = seen.iter().map(Frame::seq).collect();
            assert_increasing("read_all", &seqs);
            let latest = consumer.pop_latest();
            latest.iter().for_each(assert_intact);
            seen.iter().for_each(assert_intact);
            let popped: Vec<u64> = latest.iter().map(Frame::seq).collect();
            (consumer, popped)
        });

        offers.extend(offer_n(&mut producer, 2));

        let (mut consumer, popped) = ordered.join().unwrap();
        notes.note_offers(&offers);
        check_books(&offers, &Delivered { popped, cleared: 0 }, &mut consumer);
    });
    // Four reader slots: a slot is never short, so a frame left out of the
    // queue is the pin refusing the rebuild.
    reached.assert("latest_only");
    reached.assert("thinned");
}

/// The clear-then-pop race of `rebuild_vs_clear_then_pop`, with a latest-reader
/// watching: whatever the queue does, the latest snapshot is every commit's.
#[test]
fn reader_vs_rebuild_clear_and_pop() {
    loom_tests::race(
        DropPolicy::Sample,
        2,
        (2, 1, 1),
        &[Call::Clear, Call::PopOldest],
        true,
        &["Clear inside", "thinned", "queued"],
    );
}

/// Capacity 3, full at stride 0: the racing commits widen the stride and
/// replace the provisional tail while the consumer takes the newest frame and
/// then clears.
#[test]
fn capacity_3_rebuilds_vs_pop_latest_then_clear() {
    race(
        3,
        (3, 2, 2),
        &[Call::PopLatest, Call::Clear],
        &["PopLatest inside", "Clear inside", "thinned"],
    );
}

/// A latest-reader watches while the consumer clears the full queue and the
/// producer rebuilds it: the latest snapshot is never older than a frame known
/// committed, whatever the queue did with it, and never goes backwards.
#[test]
fn reader_vs_rebuild_and_clear() {
    let reached = Reached::default();
    let notes = reached.clone();
    loom::model(move || {
        let (mut producer, mut consumer, reader) = slab(2, DropPolicy::Sample, READER_SLOTS);
        let progress = Progress::default();
        let mut offers = progress.offer_n(&mut producer, 2);
        let watcher_progress = progress.clone();
        let watcher = thread::spawn(move || watch(&reader, Some(&watcher_progress)));
        let ordered = thread::spawn(move || {
            let cleared = consumer.clear();
            (consumer, cleared)
        });

        offers.extend(progress.offer_n(&mut producer, 1));

        let seen = watcher.join().unwrap();
        let (mut consumer, cleared) = ordered.join().unwrap();
        check_seen(&seen, &offers);
        drop(seen);
        notes.note_offers(&offers);
        notes.note(format!("cleared {cleared}"));
        let queued = check_books(
            &offers,
            &Delivered {
                popped: Vec::new(),
                cleared,
            },
            &mut consumer,
        );
        notes.note(format!("left {queued:?}"));
        // Before the rebuild or after it, the clear takes two frames; 2 is
        // left only if it was pushed into the emptied queue.
        assert_eq!(cleared, 2);
        match offers[2] {
            Ok(Committed::Thinned { removed: 1, .. }) => assert!(queued.is_empty()),
            Ok(Committed::Queued { .. }) => assert_eq!(queued, [2]),
            other => panic!("{other:?}"),
        }
    });
    reached.assert("thinned");
    reached.assert("left [2]");
}
