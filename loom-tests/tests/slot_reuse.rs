#![cfg(rtsp_ingest_loom)]
//! Slot reuse: the producer rewrites a slot only when `Arc::get_mut` on its home
//! proves nothing else refers to it, so a `Frame` a reader holds is never
//! rewritten, and when readers hold every spare slot the producer reports
//! `NoFreeSlot` instead of overwriting.
//!
//! Checked in every interleaving:
//! * a held frame's seq and pixels never change while the producer commits;
//! * `NoFreeSlot` happens only when the held frames really use up every spare
//!   slot, and `begin` succeeds again once a held frame is released;
//! * a writer dropped without a commit (`Abandoned`) frees its slot and is never
//!   published: no reader sees its seq or its pixels;
//! * the books balance (see `loom_tests::check_books`).

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::{
    abandon, assert_intact, check_books, check_seen, offer, offer_n, slab, watch, Delivered,
    Progress, Reached,
};
use rtsp_ingest::slab::{DropPolicy, DropReason, Frame, Rejected};

/// A reader holds a frame across the producer's commits and looks again. With
/// `capacity 1, reader_slots 0` there are three slots: the queued-and-latest
/// frame's, the one being written, and one spare. The reader holds seq 0 (taken
/// before the race) and may take a second, newer frame, so the producer can run
/// out of slots, but only while the reader holds two distinct frames.
#[test]
fn held_frame_survives_commits() {
    let reached = Reached::default();
    let notes = reached.clone();
    loom::model(move || {
        let (mut producer, mut consumer, reader) = slab(1, DropPolicy::Latest, 0);
        let mut offers = offer_n(&mut producer, 1);
        let first = reader.latest().expect("seq 0 is published");
        let holder = thread::spawn(move || {
            assert_intact(&first);
            let second = reader.latest().expect("a published frame never disappears");
            assert!(second.seq() >= first.seq(), "latest went backwards");
            assert_intact(&second);
            // Held across the producer's commits: still seq 0, still its pixels.
            assert_intact(&first);
            let second_seq = second.seq();
            drop(second);
            assert_intact(&first);
            (first, second_seq)
        });

        offers.extend(offer_n(&mut producer, 3));

        let (first, second_seq) = holder.join().unwrap();
        assert_eq!(first.seq(), 0, "a held frame changed its seq");
        assert_intact(&first);
        for rejected in offers.iter().filter_map(|offer| offer.as_ref().err()) {
            assert_eq!(rejected.reason, DropReason::NoFreeSlot);
            // One slot for the queued and latest frame, one for the frame being
            // written: the producer is short only if the reader held two others.
            assert_ne!(second_seq, 0, "NoFreeSlot while the reader held one frame");
        }
        drop(first);
        notes.note_offers(&offers);
        check_books(&offers, &Delivered::default(), &mut consumer);
    });
    reached.assert("no_free_slot");
}

/// Every slot is taken (two held by a reader, one queued and latest), so `begin`
/// refuses; then the reader releases one frame while the producer retries. A
/// `begin` that starts after the release is visible, with no frame yet in the
/// freed slot, must succeed, and the frame still held must stay intact through
/// the commits that reuse the freed slot.
#[test]
fn exhausted_slots_refuse_then_recover() {
    let reached = Reached::default();
    let notes = reached.clone();
    loom::model(move || {
        let (mut producer, mut consumer, reader) = slab(1, DropPolicy::Latest, 0);
        let mut offers = offer_n(&mut producer, 1);
        let a = reader.latest().unwrap();
        offers.push(offer(&mut producer));
        let b = reader.latest().unwrap();
        offers.push(offer(&mut producer));
        // Slots: `a` (seq 0), `b` (seq 1), the queued and latest seq 2.
        let refused = offer(&mut producer);
        assert_eq!(
            refused,
            Err(Rejected {
                seq: 3,
                reason: DropReason::NoFreeSlot
            })
        );
        offers.push(refused);

        let released = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&released);
        let holder = thread::spawn(move || {
            assert_intact(&a);
            drop(a);
            flag.store(true, Ordering::Release);
            assert_intact(&b);
            let newer = reader.latest().unwrap();
            assert!(newer.seq() >= 2);
            assert_intact(&newer);
            drop(newer);
            assert_intact(&b);
            b
        });

        let mut slot_taken = false;
        for _ in 0..2 {
            let free = released.load(Ordering::Acquire);
            let outcome = offer(&mut producer);
            // Once a frame has taken `a`'s slot, the reader's `newer` may hold
            // the last free one: only the first success is owed.
            if free && !slot_taken {
                assert!(outcome.is_ok(), "`a`'s slot was free, yet {outcome:?}");
            }
            slot_taken |= outcome.is_ok();
            offers.push(outcome);
        }

        notes.note_offers(&offers[4..]);
        let b = holder.join().unwrap();
        assert_eq!(b.seq(), 1);
        assert_intact(&b);
        drop(b);
        check_books(&offers, &Delivered::default(), &mut consumer);
    });
    reached.assert("no_free_slot");
    reached.assert("overwrote");
}

/// The consumer holds a popped frame and a reader holds the latest while the
/// producer runs with no spare slot: neither held frame is rewritten.
#[test]
fn popped_and_latest_frames_held_together() {
    loom::model(|| {
        let (mut producer, mut consumer, reader) = slab(1, DropPolicy::Latest, 0);
        let mut offers = offer_n(&mut producer, 1);
        let watcher = thread::spawn(move || {
            let seen = reader.latest();
            seen.iter().for_each(assert_intact);
            let newer = seen
                .as_ref()
                .and_then(|frame| reader.latest_after(frame.seq()));
            newer.iter().for_each(assert_intact);
            seen.iter().for_each(assert_intact);
            (seen, newer)
        });
        let taker = thread::spawn(move || {
            let popped = consumer.pop_oldest();
            popped.iter().for_each(assert_intact);
            let again = consumer.pop_oldest();
            again.iter().for_each(assert_intact);
            popped.iter().for_each(assert_intact);
            (consumer, popped, again)
        });

        offers.extend(offer_n(&mut producer, 2));

        let (seen, newer) = watcher.join().unwrap();
        let (mut consumer, popped, again) = taker.join().unwrap();
        let held = [&seen, &newer, &popped, &again];
        held.iter().copied().flatten().for_each(assert_intact);
        let popped: Vec<u64> = [popped, again].iter().flatten().map(Frame::seq).collect();
        drop((seen, newer));
        check_books(&offers, &Delivered { popped, cleared: 0 }, &mut consumer);
    });
}

/// The producer abandons a frame between two commits while a reader watches:
/// with `capacity 1, reader_slots 0` the abandoned slot is the spare one, so the
/// commits after it can only succeed (when the reader holds one frame) by
/// reusing it, and the reader must never see the abandoned seq or its bytes.
#[test]
fn abandoned_frame_frees_its_slot_unpublished() {
    let reached = Reached::default();
    let notes = reached.clone();
    loom::model(move || {
        let (mut producer, mut consumer, reader) = slab(1, DropPolicy::Latest, 0);
        let progress = Progress::default();
        let mut offers = progress.offer_n(&mut producer, 1);
        let watcher_progress = progress.clone();
        let watcher = thread::spawn(move || watch(&reader, Some(&watcher_progress)));

        offers.push(abandon(&mut producer));
        offers.extend(progress.offer_n(&mut producer, 2));

        let seen = watcher.join().unwrap();
        check_seen(&seen, &offers);
        assert!(
            seen.iter().all(|frame| frame.seq() != 1),
            "a reader saw the abandoned frame"
        );
        let held = seen.len();
        drop(seen);
        // The abandoned writer had a slot, so it freed one: with at most one
        // frame held by the reader, a slot is always free for the commits.
        if held <= 1 {
            assert!(offers.iter().all(|offer| !matches!(
                offer,
                Err(Rejected {
                    reason: DropReason::NoFreeSlot,
                    ..
                })
            )));
        }
        notes.note_offers(&offers);
        check_books(&offers, &Delivered::default(), &mut consumer);
    });
    reached.assert("abandoned");
    reached.assert("overwrote");
}
