#![cfg(rtsp_ingest_loom)]
//! Eviction under `DropPolicy::Latest`: a commit to a full queue removes the
//! oldest frame by CAS on the queue word, racing the ordered consumer's
//! `pop_oldest` / `pop_latest` (CAS on the same word) and its in-place reads
//! (`read_all`, `read_oldest`, `read_range`), which pin the queue so that the
//! producer skips the eviction (`Committed::LatestOnly`) instead of freeing a
//! frame the consumer is looking at.
//!
//! Checked in every interleaving:
//! * no frame is both evicted and popped, none is popped twice, and every offered
//!   seq ends up exactly once in {popped, still queued, overwritten, published
//!   only, cleared}, with exact counts (`loom_tests::check_books`);
//! * with only pops and clears in the script, the whole history (each commit's
//!   outcome and eviction, each pop's frame, the queue left) is one that some
//!   sequential order of the same calls gives (`loom_tests::Linearizable`);
//! * `pop_oldest` results strictly increase; an in-place read returns strictly
//!   increasing seqs, none already popped;
//! * every frame the consumer got, popped or read in place, keeps its pixels
//!   while held, through the producer's later commits.
//!
//! And across all interleavings (reachability, checked after `loom::model`):
//! the contested oldest frame is evicted in some and popped in others, and a
//! commit during an in-place read is published only (`latest_only`, counted as
//! `queue_full`) in some.
//! The latter is what catches a pin that no longer stops evictions: loom's
//! partial-order reduction does not schedule the producer between the pin and
//! the cell reads (the producer's own read of a cell hides the consumer's), so
//! the corrupted read itself is never produced.

use loom::thread;
use loom_tests::{
    assert_increasing, assert_intact, check_books, offer_n, slab, Answer, Call, Delivered, History,
    Linearizable, Reached,
};
use rtsp_ingest::slab::{Committed, Consumer, DropPolicy, Frame};

/// One consumer call.
#[derive(Clone, Copy, Debug)]
enum Op {
    PopOldest,
    PopLatest,
    ReadOldest,
    ReadAll,
    ReadRange(usize, Option<usize>),
    Clear,
}

impl Op {
    /// The same call, if a sequential replay can reproduce its answer.
    fn call(self) -> Option<Call> {
        match self {
            Op::PopOldest => Some(Call::PopOldest),
            Op::PopLatest => Some(Call::PopLatest),
            Op::Clear => Some(Call::Clear),
            Op::ReadOldest | Op::ReadAll | Op::ReadRange(..) => None,
        }
    }
}

/// Runs the consumer's script, checking each answer; returns what it popped and
/// cleared, the pops' and clears' answers, and every frame it got (held to the end).
fn consume(consumer: &mut Consumer, script: &[Op]) -> (Delivered, Vec<Answer>, Vec<Frame>) {
    let mut delivered = Delivered::default();
    let mut answers = Vec::new();
    let mut oldest_popped = Vec::new();
    let mut held = Vec::new();
    for &op in script {
        let got: Vec<Frame> = match op {
            Op::PopOldest => {
                let frame = consumer.pop_oldest();
                oldest_popped.extend(frame.as_ref().map(Frame::seq));
                delivered.popped.extend(frame.as_ref().map(Frame::seq));
                answers.push(Answer::Popped(frame.as_ref().map(Frame::seq)));
                frame.into_iter().collect()
            }
            Op::PopLatest => {
                let frame = consumer.pop_latest();
                delivered.popped.extend(frame.as_ref().map(Frame::seq));
                answers.push(Answer::Popped(frame.as_ref().map(Frame::seq)));
                frame.into_iter().collect()
            }
            Op::ReadOldest => consumer.read_oldest().into_iter().collect(),
            Op::ReadAll => consumer.read_all(),
            Op::ReadRange(start, count) => {
                let frames = consumer.read_range(start, count);
                if let Some(count) = count {
                    assert!(frames.len() <= count);
                }
                frames
            }
            Op::Clear => {
                let cleared = consumer.clear();
                delivered.cleared += cleared;
                answers.push(Answer::Cleared(cleared));
                Vec::new()
            }
        };
        got.iter().for_each(assert_intact);
        let seqs: Vec<u64> = got.iter().map(Frame::seq).collect();
        assert_increasing("an in-place read", &seqs);
        if !matches!(op, Op::PopOldest | Op::PopLatest) {
            for seq in &seqs {
                assert!(
                    !delivered.popped.contains(seq),
                    "{op:?} read {seq} in place after popping it"
                );
            }
        }
        assert_increasing("pop_oldest", &oldest_popped);
        held.extend(got);
        // Everything got so far is still intact after this call's interleavings.
        held.iter().for_each(assert_intact);
    }
    (delivered, answers, held)
}

/// `pre` frames committed before the race, then `commits` more racing `script`;
/// then checks that some interleaving reached each of `reachable` (offer
/// outcomes as `Reached::note_offers` names them, `popped N`, `evicted N`).
/// A script of pops and clears is also checked to be linearizable; its
/// consumer holds every frame it popped, so the slab gets a reader slot per pop.
fn race(capacity: usize, pre: usize, commits: usize, script: &'static [Op], reachable: &[&str]) {
    let reached = Reached::default();
    let notes = reached.clone();
    let calls: Option<Vec<Call>> = script.iter().map(|op| op.call()).collect();
    let sequential = calls
        .as_ref()
        .map(|calls| Linearizable::new(capacity, DropPolicy::Latest, (pre, commits, 0), calls));
    let every_order = sequential.clone();
    let reader_slots = if sequential.is_some() {
        script.len()
    } else {
        0
    };
    loom::model(move || {
        let (mut producer, mut consumer, _reader) =
            slab(capacity, DropPolicy::Latest, reader_slots);
        let mut offers = offer_n(&mut producer, pre);
        let ordered = thread::spawn(move || {
            let (delivered, answers, held) = consume(&mut consumer, script);
            (consumer, delivered, answers, held)
        });

        offers.extend(offer_n(&mut producer, commits));

        let (mut consumer, delivered, answers, held) = ordered.join().unwrap();
        held.iter().for_each(assert_intact);
        drop(held);
        notes.note_offers(&offers[pre..]);
        for seq in &delivered.popped {
            notes.note(format!("popped {seq}"));
        }
        for offer in &offers {
            if let Ok(Committed::Overwrote { evicted_seq, .. }) = offer {
                notes.note(format!("evicted {evicted_seq}"));
            }
        }
        let queued = check_books(&offers, &delivered, &mut consumer);
        if let Some(sequential) = &sequential {
            sequential.check(&History {
                offers,
                answers,
                queued,
            });
        }
    });
    for what in reachable {
        reached.assert(what);
    }
    if let Some(sequential) = every_order {
        sequential.assert_every_order_reached();
    }
}

#[test]
fn capacity_1_evict_vs_pop_oldest() {
    race(
        1,
        1,
        2,
        &[Op::PopOldest, Op::PopOldest],
        &["popped 0", "evicted 0", "popped 2"],
    );
}

#[test]
fn capacity_1_evict_vs_pop_latest_then_read_all() {
    race(
        1,
        1,
        2,
        &[Op::PopLatest, Op::ReadAll],
        &["popped 0", "evicted 0", "latest_only"],
    );
}

/// Three commits so that the pinned frame's slot would be reused while the
/// consumer reads it, if an eviction could remove a pinned frame.
#[test]
fn capacity_1_evict_vs_pinned_read_all() {
    race(1, 1, 3, &[Op::ReadAll], &["latest_only", "overwrote"]);
}

#[test]
fn capacity_1_evict_vs_read_oldest_then_clear() {
    race(
        1,
        1,
        2,
        &[Op::ReadOldest, Op::Clear],
        &["latest_only", "overwrote"],
    );
}

#[test]
fn capacity_2_evict_vs_read_all_then_pop_oldest() {
    race(
        2,
        2,
        2,
        &[Op::ReadAll, Op::PopOldest],
        &["latest_only", "popped 0", "evicted 0"],
    );
}

#[test]
fn capacity_2_evict_vs_pop_latest_then_pop_oldest() {
    race(
        2,
        2,
        2,
        &[Op::PopLatest, Op::PopOldest],
        &["popped 0", "evicted 0", "popped 1", "evicted 1"],
    );
}

#[test]
fn capacity_2_evict_vs_read_range_then_pop_latest() {
    race(
        2,
        1,
        3,
        &[Op::ReadRange(1, Some(1)), Op::PopLatest],
        &["latest_only", "evicted 0"],
    );
}

/// Capacity 3 has four cells, so positions and cells part ways: a push lands in
/// the cell of the frame evicted one commit earlier, not the one just evicted.
#[test]
fn capacity_3_evict_vs_pop_oldest_then_pop_latest() {
    race(
        3,
        3,
        3,
        &[Op::PopOldest, Op::PopLatest],
        &["popped 0", "evicted 0", "popped 5"],
    );
}

/// Clear and `pop_latest` racing evictions, checked by `loom_tests::race`: after
/// the clear, nothing committed before it is popped, and `pop_latest` gets the
/// newest frame (`Latest` always queues it).
#[test]
fn capacity_2_evict_vs_clear_then_pop_latest() {
    loom_tests::race(
        DropPolicy::Latest,
        2,
        (2, 2, 1),
        &[Call::Clear, Call::PopLatest],
        false,
        &["Clear inside", "PopLatest inside", "overwrote", "queued"],
    );
}
