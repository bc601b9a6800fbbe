#![cfg(rtsp_ingest_loom)]
//! The on-demand queue (`SlabConfig::queue_on_demand`): the consumer opens it
//! while the producer commits and a reader holds frames.
//!
//! Checked in every interleaving:
//! * every frame is counted once: queued (and then popped or still queued) if
//!   the producer saw the queue open, else `no_consumer`; the books balance
//!   (`loom_tests::check_books`);
//! * a frame committed after the consumer's open returned is queued;
//! * while the queue is closed the producer reuses the lowest free slots, and
//!   a frame the reader holds keeps its pixels across those commits.
//!
//! Across all interleavings, both outcomes of the race between the open and a
//! commit are reached.

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::{
    assert_intact, check_books, check_seen, offer, offer_n, slab_with, Delivered, Reached,
};
use rtsp_ingest::slab::{Committed, DropPolicy};

#[test]
fn consumer_opens_the_queue_while_the_producer_commits() {
    let reached = Reached::default();
    let notes = reached.clone();
    loom::model(move || {
        let (mut producer, mut consumer, reader) = slab_with(1, DropPolicy::Latest, 1, true);
        let mut offers = offer_n(&mut producer, 1);
        let opened = Arc::new(AtomicBool::new(false));
        let held = reader.latest().expect("seq 0 is published");
        let holder = thread::spawn(move || {
            let newer = reader.latest();
            assert_intact(&held);
            newer.iter().for_each(assert_intact);
            (held, newer)
        });
        let ordered = {
            let opened = Arc::clone(&opened);
            thread::spawn(move || {
                consumer.open_queue();
                // Release: pairs with the producer's Acquire load below, so a
                // commit that sees it comes after the open.
                opened.store(true, Ordering::Release);
                let popped: Vec<u64> = consumer.pop_oldest().map(|f| f.seq()).into_iter().collect();
                (consumer, popped)
            })
        };

        for _ in 0..2 {
            let after_open = opened.load(Ordering::Acquire);
            let next = offer(&mut producer);
            match next {
                Ok(Committed::LatestOnly { seq }) => {
                    assert!(!after_open, "{seq} left out after the queue opened");
                    notes.note("no_consumer");
                }
                Ok(committed) => {
                    assert!(committed.is_queued());
                    notes.note("queued");
                }
                Err(rejected) => panic!("no slot with one frame held: {rejected}"),
            }
            offers.push(next);
        }

        let (held, newer) = holder.join().unwrap();
        assert_intact(&held);
        let seen: Vec<_> = std::iter::once(held).chain(newer).collect();
        check_seen(&seen, &offers);
        drop(seen);
        let (mut consumer, popped) = ordered.join().unwrap();
        let stats = consumer.stats();
        assert!(stats.queue_open);
        // Seq 0 came before the open: never queued.
        assert!(stats.evicted.no_consumer >= 1, "{stats:?}");
        check_books(&offers, &Delivered { popped, cleared: 0 }, &mut consumer);
    });
    reached.assert("no_consumer");
    reached.assert("queued");
}
