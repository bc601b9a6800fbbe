#![cfg(rtsp_ingest_loom)]
//! Lending a slot to a decoder (`Producer::lend`, `commit_lent`): the decoder
//! writes the picture into the slot on its own thread, the worker publishes
//! it in place, and the decoder keeps its reference (a reference frame) while
//! readers read the frame and the producer goes on committing.
//!
//! Checked in every interleaving:
//! * a frame published in place holds the decoder's pixels and its own seq
//!   for as long as a reader holds it, whichever of the reader and the
//!   decoder lets go last;
//! * the producer never takes a slot the decoder or a reader still holds
//!   (loom's cell checks catch any write of the slot's metadata racing a
//!   read), and takes it again once both have let go;
//! * a lease given back unused publishes nothing and frees its slot;
//! * the books balance, the in-place frame counted like any other.

use loom::thread;
use loom_tests::{assert_intact, check_books, frame_info, offer, offer_n, Delivered};
use rtsp_ingest::slab::{
    self, ContentRect, DropPolicy, DropReason, FrameLayout, Lease, PixelFormat, Producer,
    SlabConfig,
};

/// A 2x1 gray8 slab with `decoder_slots` slots for the decoder.
fn lending_slab(decoder_slots: usize) -> (Producer, slab::Consumer, slab::Reader) {
    let layout = FrameLayout::new(2, 1, PixelFormat::Gray8).expect("a 2x1 gray8 layout");
    slab::new(
        SlabConfig::new(layout)
            .capacity(1)
            .policy(DropPolicy::Latest)
            .reader_slots(0)
            .decoder_slots(decoder_slots),
    )
    .expect("a valid slab config")
}

/// The decoder writing a picture of frame `seq` into its lease: every pixel
/// byte is `seq as u8`, as `assert_intact` expects.
fn decode_into(lease: &Lease, seq: u64) {
    let len = lease.layout().len();
    // SAFETY: the lease's slot is lent and uncommitted, and only this thread
    // writes it (the test hands the lease from thread to thread by moving it).
    unsafe { std::ptr::write_bytes(lease.as_mut_ptr(), seq as u8, len) };
}

#[test]
fn a_frame_published_in_place_survives_its_decoder_and_readers() {
    loom::model(|| {
        let (mut producer, mut consumer, reader) = lending_slab(1);
        let mut offers = offer_n(&mut producer, 1);
        let seq = producer.next_seq();
        let lease = producer.lend().expect("a free slot to lend");
        // The decoder decodes on its own thread and gives the picture out.
        let decoder = thread::spawn(move || {
            decode_into(&lease, seq);
            lease
        });
        let lease = decoder.join().unwrap();
        let pixels = lease.as_mut_ptr().cast_const();
        let committed = producer
            .commit_lent(pixels, ContentRect::full(2, 1), frame_info(seq))
            .expect("the lent slot is found by its pixels");
        assert_eq!(committed.seq(), seq);
        offers.push(Ok(committed));
        // The decoder keeps the picture as a reference for a while, a reader
        // holds the frame, and the producer commits on.
        let decoder = thread::spawn(move || drop(lease));
        let holder = thread::spawn(move || {
            let frame = reader.latest().expect("a published frame never disappears");
            assert!(frame.seq() >= seq, "latest went backwards");
            assert_intact(&frame);
            thread::yield_now();
            assert_intact(&frame);
        });
        offers.extend(offer_n(&mut producer, 3));
        decoder.join().unwrap();
        holder.join().unwrap();
        for rejected in offers.iter().filter_map(|offer| offer.as_ref().err()) {
            assert_eq!(rejected.reason, DropReason::NoFreeSlot);
        }
        // Everyone let go: every slot is free again, the lent one included.
        let mut more = offer_n(&mut producer, 4);
        assert!(more.iter().all(Result::is_ok), "{more:?}");
        offers.append(&mut more);
        check_books(&offers, &Delivered::default(), &mut consumer);
    });
}

#[test]
fn a_lease_given_back_unused_publishes_nothing_and_frees_its_slot() {
    loom::model(|| {
        let (mut producer, mut consumer, reader) = lending_slab(0);
        let mut offers = offer_n(&mut producer, 1);
        // Lend every slot but the latest frame's.
        let leases: Vec<Lease> = std::iter::from_fn(|| producer.lend()).collect();
        assert_eq!(leases.len(), 2);
        // Not lent (or no longer): no slot starts at a foreign pointer.
        let foreign = [0u8; 1];
        assert!(producer
            .commit_lent(foreign.as_ptr(), ContentRect::full(2, 1), frame_info(9))
            .is_none());
        let outcome = offer(&mut producer);
        assert_eq!(outcome.unwrap_err().reason, DropReason::NoFreeSlot);
        offers.push(outcome);
        let decoder = thread::spawn(move || drop(leases));
        let retry = offer(&mut producer);
        decoder.join().unwrap();
        match &retry {
            Ok(_) => {}
            Err(rejected) => assert_eq!(rejected.reason, DropReason::NoFreeSlot),
        }
        offers.push(retry);
        // Given back: a frame can be written again, and nothing lent was published.
        offers.push(offer(&mut producer));
        assert!(offers.last().unwrap().is_ok(), "{offers:?}");
        let latest = reader.latest().unwrap();
        assert_intact(&latest);
        check_books(&offers, &Delivered::default(), &mut consumer);
    });
}
