#![cfg(rtsp_ingest_loom)]
//! `DropPolicy::Sample` compaction racing the consumer: when the queue is full,
//! the producer drains it by one CAS (refused while the consumer has it pinned:
//! `NoFreeSlot`), pushes back every other frame and doubles the admission
//! stride, while the consumer pops, reads in place or clears.
//!
//! Checked in every interleaving:
//! * popped seqs are unique, `pop_oldest` results strictly increase, in-place
//!   reads are strictly increasing, and every frame got keeps its pixels;
//! * a frame `Sample` admits always fits in the queue (never `LatestOnly`), and
//!   without in-place reads nothing is refused for want of a slot;
//! * the books balance: every committed seq is popped, still queued, thinned or
//!   cleared, with the thinned ones matching the `sampled_out` count exactly.
//!
//! Across all interleavings: a compaction refused because of a pin is reached.

use loom::thread;
use loom_tests::{
    assert_increasing, assert_intact, check_books, offer_n, slab, Delivered, Offer, Reached,
};
use rtsp_ingest::slab::{Committed, DropPolicy, DropReason, Frame};

/// `Sample` never publishes a frame it admitted without queueing it.
fn assert_no_latest_only(offers: &[Offer]) {
    assert!(
        !offers
            .iter()
            .any(|offer| matches!(offer, Ok(Committed::LatestOnly { .. }))),
        "an admitted frame did not fit: {offers:?}"
    );
}

/// Without in-place reads and with enough slots, only the stride refuses frames.
fn assert_only_sampled_out(offers: &[Offer]) {
    for rejected in offers.iter().filter_map(|offer| offer.as_ref().err()) {
        assert_eq!(rejected.reason, DropReason::SampledOut, "{offers:?}");
    }
}

#[test]
fn compaction_vs_pop_oldest() {
    loom::model(|| {
        let (mut producer, mut consumer, _reader) = slab(2, DropPolicy::Sample, 1);
        // Alone, the third frame compacts [0, 1] to [0] and is admitted at stride 2.
        let mut offers = offer_n(&mut producer, 3);
        let queued: Vec<u64> = consumer.read_all().iter().map(Frame::seq).collect();
        assert_eq!(queued, [0, 2]);
        assert_eq!(consumer.stats().dropped.sampled_out, 1);

        let ordered = thread::spawn(move || {
            let popped: Vec<u64> = (0..2)
                .filter_map(|_| consumer.pop_oldest())
                .inspect(assert_intact)
                .map(|frame| frame.seq())
                .collect();
            assert_increasing("pop_oldest", &popped);
            (consumer, popped)
        });

        // Seq 3 is off the stride; seq 4 finds the queue full unless a pop came
        // first, and compacts it while the consumer pops.
        offers.extend(offer_n(&mut producer, 2));

        let (mut consumer, popped) = ordered.join().unwrap();
        assert_no_latest_only(&offers);
        assert_only_sampled_out(&offers);
        check_books(&offers, &Delivered { popped, cleared: 0 }, &mut consumer);
    });
}

#[test]
fn compaction_vs_pinned_read_and_pop_latest() {
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
        assert_no_latest_only(&offers);
        notes.note_offers(&offers);
        check_books(&offers, &Delivered { popped, cleared: 0 }, &mut consumer);
    });
    // Four reader slots: a slot is never short, so this is the pin refusing the drain.
    reached.assert("no_free_slot");
    reached.assert("sampled_out");
}

#[test]
fn compaction_vs_clear() {
    loom::model(|| {
        let (mut producer, mut consumer, _reader) = slab(2, DropPolicy::Sample, 1);
        let mut offers = offer_n(&mut producer, 2);
        let ordered = thread::spawn(move || {
            let cleared = consumer.clear();
            let popped: Vec<u64> = consumer
                .pop_oldest()
                .inspect(assert_intact)
                .map(|frame| frame.seq())
                .into_iter()
                .collect();
            (consumer, Delivered { popped, cleared })
        });

        offers.extend(offer_n(&mut producer, 2));

        let (mut consumer, delivered) = ordered.join().unwrap();
        assert_no_latest_only(&offers);
        assert_only_sampled_out(&offers);
        check_books(&offers, &delivered, &mut consumer);
    });
}
