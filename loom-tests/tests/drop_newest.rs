#![cfg(rtsp_ingest_loom)]
//! `DropPolicy::DropNewest` at its edges: a commit to a full queue is published
//! as the latest snapshot but left out of the queue (`Committed::LatestOnly`,
//! counted as `queue_full`), at capacities 1 and 2, while the consumer pops or
//! clears concurrently, and pops of an empty queue return `None`.
//!
//! Checked in every interleaving:
//! * a commit is `Queued` or `LatestOnly`, never anything else, and `begin` never
//!   refuses for want of room (only for want of a slot, which these slabs have);
//! * a commit is not left out once the consumer's pops that made room are
//!   visible to the producer (a count the consumer publishes after each pop,
//!   read before `begin`);
//! * a pop is not `None` once the producer's commits that filled the queue are
//!   visible to the consumer (the mirror count);
//! * once `clear` has returned, no frame committed before it started is popped;
//! * popped seqs are unique and, for `pop_oldest`, strictly increasing; the whole
//!   history is one that some sequential order of the same calls gives
//!   (`loom_tests::Linearizable`), and the books balance: every offered seq is
//!   left out, popped, cleared or still queued.
//!
//! Across all interleavings, each race reaches both a frame left out and one
//! queued, and the empty-start races reach a pop that finds the queue empty.

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::{
    assert_increasing, check_books, delivered, offer, slab, Answer, Call, History, Linearizable,
    Reached,
};
use rtsp_ingest::slab::{Committed, DropPolicy};

/// `pre` frames committed first (checked: the first `capacity` are queued, the
/// rest left out), then `offers` more racing the consumer's `pops`; then checks
/// that some interleaving reached each of `reachable` (`queued`, `latest_only`,
/// `pop none`, `pop some`).
fn race(capacity: usize, pre: usize, offers: usize, pops: &'static [Call], reachable: &[&str]) {
    let reached = Reached::default();
    let notes = reached.clone();
    let sequential = Linearizable::new(capacity, DropPolicy::DropNewest, (pre, offers, 0), pops);
    let every_order = sequential.clone();
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
                    matches!(outcome, Ok(Committed::LatestOnly { .. })),
                    "a full queue took {outcome:?}"
                );
            }
            outcomes.push(outcome);
        }
        let mut queued = pre.min(capacity);
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
            let mut answers = Vec::new();
            let mut taken = 0;
            let mut oldest = Vec::new();
            for &call in pops {
                let known_queued = queued_seen.load(Ordering::Acquire);
                let answer = call.run(&mut consumer);
                let Answer::Popped(popped) = answer else {
                    unreachable!("pops only")
                };
                if known_queued > taken {
                    assert!(
                        popped.is_some(),
                        "{known_queued} queued, {taken} popped, got None"
                    );
                }
                pop_notes.note(if popped.is_some() {
                    "pop some"
                } else {
                    "pop none"
                });
                if let Some(seq) = popped {
                    if call == Call::PopOldest {
                        oldest.push(seq);
                    }
                    taken += 1;
                    popped_seen.store(taken, Ordering::Release);
                }
                answers.push(answer);
            }
            assert_increasing("pop_oldest", &oldest);
            (consumer, answers)
        });

        for _ in 0..offers {
            let known_popped = popped_count.load(Ordering::Acquire);
            let outcome = offer(&mut producer);
            match outcome {
                Ok(Committed::Queued { .. }) => {
                    queued += 1;
                    queued_count.store(queued, Ordering::Release);
                }
                Ok(Committed::LatestOnly { .. }) => assert!(
                    queued - known_popped >= capacity,
                    "left out with {queued} queued and {known_popped} known popped"
                ),
                _ => panic!("DropNewest commits only queue or leave out: {outcome:?}"),
            }
            outcomes.push(outcome);
        }

        let (mut consumer, answers) = ordered.join().unwrap();
        notes.note_offers(&outcomes[pre..]);
        let queued = check_books(&outcomes, &delivered(&answers), &mut consumer);
        sequential.check(&History {
            offers: outcomes,
            answers,
            queued,
        });
    });
    for what in reachable {
        reached.assert(what);
    }
    every_order.assert_every_order_reached();
}

#[test]
fn capacity_1_empty_start() {
    race(
        1,
        0,
        2,
        &[Call::PopOldest, Call::PopOldest],
        &["queued", "latest_only", "pop none", "pop some"],
    );
}

#[test]
fn capacity_1_full_start() {
    race(
        1,
        2,
        2,
        &[Call::PopOldest, Call::PopLatest],
        &["queued", "latest_only", "pop none"],
    );
}

#[test]
fn capacity_2_empty_start() {
    race(
        2,
        0,
        3,
        &[Call::PopLatest, Call::PopOldest],
        &["queued", "latest_only", "pop none", "pop some"],
    );
}

#[test]
fn capacity_2_full_start() {
    race(
        2,
        3,
        2,
        &[Call::PopOldest, Call::PopOldest],
        &["queued", "latest_only"],
    );
}

/// `clear` racing commits into a full queue: once it returns, the frames
/// committed before it started are gone for good, and the next pop gets a
/// frame committed after (or concurrently), or nothing.
#[test]
fn clear_then_pop_vs_commits() {
    loom_tests::race(
        DropPolicy::DropNewest,
        2,
        (2, 2, 1),
        &[Call::Clear, Call::PopOldest],
        false,
        &["Clear inside", "latest_only", "queued"],
    );
}

/// Capacity 1, full: each racing commit is left out of the queue unless the
/// clear came first, while a latest-reader must see every one of them.
#[test]
fn reader_vs_clear_and_pop_latest() {
    loom_tests::race(
        DropPolicy::DropNewest,
        1,
        (1, 1, 1),
        &[Call::Clear, Call::PopLatest],
        true,
        &["Clear inside", "latest_only", "queued"],
    );
}
