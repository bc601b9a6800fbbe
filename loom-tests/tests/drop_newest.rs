#![cfg(rtsp_ingest_loom)]
//! `DropPolicy::DropNewest` at its edges: `begin` refuses a frame
//! (`QueueFull`) when the queue is full, at capacities 1 and 2, while the
//! consumer pops concurrently, and pops of an empty queue return `None`.
//!
//! Checked in every interleaving:
//! * a commit is always `Committed::Queued` (nothing is evicted or skipped);
//! * `begin` is not refused once the consumer's pops that made room are visible
//!   to the producer (a flag the consumer sets after each pop, read before
//!   `begin`);
//! * a pop is not `None` once the producer's commits that filled the queue are
//!   visible to the consumer (the mirror flag);
//! * popped seqs are unique and, for `pop_oldest`, strictly increasing, and the
//!   books balance: every offered seq is refused, popped or still queued.
//!
//! Across all interleavings, each race reaches both a refusal and an accepted
//! frame, and the empty-start races reach a pop that finds the queue empty.

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::{assert_increasing, assert_intact, check_books, offer, slab, Delivered, Reached};
use rtsp_ingest::slab::{Committed, DropPolicy, DropReason, Rejected};

/// Which end the consumer pops.
#[derive(Clone, Copy, Debug)]
enum Pop {
    Oldest,
    Latest,
}

/// `pre` frames queued first (checked: the `capacity + 1`th is refused), then
/// `offers` more racing the consumer's `pops`; then checks that some
/// interleaving reached each of `reachable` (`queued`, `queue_full`,
/// `pop none`, `pop some`).
fn race(capacity: usize, pre: usize, offers: usize, pops: &'static [Pop], reachable: &[&str]) {
    let reached = Reached::default();
    let notes = reached.clone();
    loom::model(move || {
        let (mut producer, mut consumer, _reader) = slab(capacity, DropPolicy::DropNewest, 1);
        let mut outcomes = Vec::new();
        for _ in 0..pre {
            let outcome = offer(&mut producer);
            if outcomes.len() < capacity {
                assert!(
                    matches!(outcome, Ok(Committed::Queued { .. })),
                    "{outcome:?}"
                );
            } else {
                assert!(
                    matches!(
                        outcome,
                        Err(Rejected {
                            reason: DropReason::QueueFull,
                            ..
                        })
                    ),
                    "a full queue took {outcome:?}"
                );
            }
            outcomes.push(outcome);
        }
        let mut queued = outcomes.iter().filter(|o| o.is_ok()).count();
        if pre == 0 {
            assert!(consumer.pop_oldest().is_none());
            assert!(consumer.pop_latest().is_none());
        }

        // Pops the consumer has completed / frames the producer has queued.
        let popped_count = Arc::new(AtomicUsize::new(0));
        let queued_count = Arc::new(AtomicUsize::new(queued));
        let (popped_seen, queued_seen) = (Arc::clone(&popped_count), Arc::clone(&queued_count));
        let pop_notes = notes.clone();
        let ordered = thread::spawn(move || {
            let mut popped = Vec::new();
            let mut oldest = Vec::new();
            for &end in pops {
                let known_queued = queued_seen.load(Ordering::Acquire);
                let frame = match end {
                    Pop::Oldest => consumer.pop_oldest(),
                    Pop::Latest => consumer.pop_latest(),
                };
                if known_queued > popped.len() {
                    assert!(
                        frame.is_some(),
                        "{known_queued} queued, {popped:?} popped, got None"
                    );
                }
                pop_notes.note(if frame.is_some() {
                    "pop some"
                } else {
                    "pop none"
                });
                if let Some(frame) = frame {
                    assert_intact(&frame);
                    if let Pop::Oldest = end {
                        oldest.push(frame.seq());
                    }
                    popped.push(frame.seq());
                    popped_seen.store(popped.len(), Ordering::Release);
                }
            }
            assert_increasing("pop_oldest", &oldest);
            (consumer, popped)
        });

        for _ in 0..offers {
            let known_popped = popped_count.load(Ordering::Acquire);
            let outcome = offer(&mut producer);
            match outcome {
                Ok(committed) => {
                    assert!(
                        matches!(committed, Committed::Queued { .. }),
                        "{committed:?}"
                    );
                    queued += 1;
                    queued_count.store(queued, Ordering::Release);
                }
                Err(Rejected { reason, .. }) => {
                    assert_eq!(reason, DropReason::QueueFull, "{outcome:?}");
                    assert!(
                        queued - known_popped >= capacity,
                        "refused with {queued} queued and {known_popped} known popped"
                    );
                }
            }
            outcomes.push(outcome);
        }

        let (mut consumer, popped) = ordered.join().unwrap();
        notes.note_offers(&outcomes[pre..]);
        check_books(&outcomes, &Delivered { popped, cleared: 0 }, &mut consumer);
    });
    for what in reachable {
        reached.assert(what);
    }
}

#[test]
fn capacity_1_empty_start() {
    race(
        1,
        0,
        2,
        &[Pop::Oldest, Pop::Oldest],
        &["queued", "queue_full", "pop none", "pop some"],
    );
}

#[test]
fn capacity_1_full_start() {
    race(
        1,
        2,
        2,
        &[Pop::Oldest, Pop::Latest],
        &["queued", "queue_full", "pop none"],
    );
}

#[test]
fn capacity_2_empty_start() {
    race(
        2,
        0,
        3,
        &[Pop::Latest, Pop::Oldest],
        &["queued", "queue_full", "pop none", "pop some"],
    );
}

#[test]
fn capacity_2_full_start() {
    race(
        2,
        3,
        2,
        &[Pop::Oldest, Pop::Oldest],
        &["queued", "queue_full"],
    );
}
