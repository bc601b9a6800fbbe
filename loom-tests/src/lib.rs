//! Shared helpers for the loom model checks in `tests/`, one file per protocol.
//!
//! Everything here, like every test file, is compiled only under
//! `RUSTFLAGS="--cfg rtsp_ingest_loom"`; a normal build sees an empty crate.
//! Run the suite with
//!
//! ```text
//! RUSTFLAGS="--cfg rtsp_ingest_loom" LOOM_MAX_PREEMPTIONS=3 \
//!     cargo test --release -p loom-tests --target-dir target/loom
//! ```
//!
//! The helpers build tiny slabs (2x1 `Gray8` frames whose every byte is the
//! frame's `seq as u8`), offer frames the way a decode worker does, and check the
//! books at the end of a model: every offered sequence number lands in exactly
//! one place (popped, still queued, evicted, refused, published only, or thinned
//! by `Sample` / emptied by `clear`, which are only counted) and the slab's
//! counters agree with what the handles reported.

#[cfg(rtsp_ingest_loom)]
pub use helpers::*;

#[cfg(rtsp_ingest_loom)]
mod helpers {
    use std::collections::BTreeSet;

    use rtsp_ingest::slab::{
        self, Committed, Consumer, DropPolicy, DropReason, Frame, FrameInfo, FrameLayout,
        PixelFormat, Producer, Reader, Rejected, SlabConfig,
    };

    /// What one `begin` + fill + `commit` came to.
    pub type Offer = Result<Committed, Rejected>;

    /// Outcomes reached by any execution of a model, for reachability checks once
    /// `loom::model` has returned: they prove the interleaving a test is about was
    /// explored, and catch protocol changes that make an outcome impossible (a pin
    /// that no longer makes a commit skip its eviction, say). Plain `std` types:
    /// loom does not model them, and they outlive every execution.
    #[derive(Clone, Debug, Default)]
    pub struct Reached(std::sync::Arc<std::sync::Mutex<BTreeSet<String>>>);

    impl Reached {
        /// Records that this execution reached `what`.
        pub fn note(&self, what: impl Into<String>) {
            self.0.lock().unwrap().insert(what.into());
        }

        /// Records every offer's outcome: `queued`, `overwrote`, `latest_only` or
        /// the refusal's reason (`no_free_slot`, `queue_full`, `sampled_out`).
        pub fn note_offers(&self, offers: &[Offer]) {
            for offer in offers {
                self.note(match offer {
                    Ok(Committed::Queued { .. }) => "queued",
                    Ok(Committed::Overwrote { .. }) => "overwrote",
                    Ok(Committed::LatestOnly { .. }) => "latest_only",
                    Err(rejected) => rejected.reason.name(),
                });
            }
        }

        /// Panics unless some execution reached `what`.
        #[track_caller]
        pub fn assert(&self, what: &str) {
            let reached = self.0.lock().unwrap();
            assert!(
                reached.contains(what),
                "no interleaving reached `{what}`; reached: {reached:?}"
            );
        }
    }

    /// A slab of 2x1 `Gray8` frames: `capacity + 2 + reader_slots` slots.
    pub fn slab(
        capacity: usize,
        policy: DropPolicy,
        reader_slots: usize,
    ) -> (Producer, Consumer, Reader) {
        let layout = FrameLayout::new(2, 1, PixelFormat::Gray8).expect("a 2x1 gray8 layout");
        slab::new(
            SlabConfig::new(layout)
                .capacity(capacity)
                .policy(policy)
                .reader_slots(reader_slots),
        )
        .expect("a valid slab config")
    }

    /// Offers the next frame as a decode worker does: takes a slot, fills every
    /// byte with the frame's `seq as u8`, commits.
    pub fn offer(producer: &mut Producer) -> Offer {
        let mut writer = producer.begin()?;
        let seq = writer.seq();
        writer.data_mut().fill(seq as u8);
        Ok(writer.commit(FrameInfo::received_now()))
    }

    /// `count` offers in a row.
    pub fn offer_n(producer: &mut Producer, count: usize) -> Vec<Offer> {
        (0..count).map(|_| offer(producer)).collect()
    }

    /// The sequence number an offer was given.
    pub fn seq_of(offer: &Offer) -> u64 {
        match offer {
            Ok(committed) => committed.seq(),
            Err(rejected) => rejected.seq,
        }
    }

    /// Panics unless the frame's pixels are the ones committed with its `seq`.
    #[track_caller]
    pub fn assert_intact(frame: &Frame) {
        let byte = frame.seq() as u8;
        assert!(
            frame.data().iter().all(|&b| b == byte),
            "frame {} holds pixels {:?}: its slot was rewritten while held",
            frame.seq(),
            frame.data()
        );
    }

    /// Panics unless `seqs` strictly increase.
    #[track_caller]
    pub fn assert_increasing(what: &str, seqs: &[u64]) {
        assert!(
            seqs.windows(2).all(|pair| pair[0] < pair[1]),
            "{what} not strictly increasing: {seqs:?}"
        );
    }

    /// Empties the queue at the end of a model (one thread left, so this adds no
    /// interleavings): `read_all` and then `pop_oldest` until `None` must agree,
    /// and the empty queue must then answer `None` / empty everywhere.
    pub fn drain_queue(consumer: &mut Consumer) -> Vec<u64> {
        let peeked = consumer.read_all();
        peeked.iter().for_each(assert_intact);
        let seqs: Vec<u64> = peeked.iter().map(Frame::seq).collect();
        drop(peeked);
        assert_increasing("the queue", &seqs);
        let mut popped = Vec::new();
        while let Some(frame) = consumer.pop_oldest() {
            assert_intact(&frame);
            popped.push(frame.seq());
        }
        assert_eq!(seqs, popped, "read_all and pop_oldest disagree");
        assert!(consumer.is_empty());
        assert!(consumer.pop_latest().is_none());
        assert!(consumer.read_oldest().is_none());
        assert!(consumer.read_all().is_empty());
        seqs
    }

    /// Where frames went, besides what the producer's offers say.
    #[derive(Debug, Default)]
    pub struct Delivered {
        /// Sequence numbers the consumer popped (`pop_oldest` / `pop_latest`).
        pub popped: Vec<u64>,
        /// Frames `Consumer::clear` removed (counted only: `clear` names none).
        pub cleared: usize,
    }

    /// Checks the books once every thread has joined, then empties the queue.
    ///
    /// `offers` must be every offer the producer made, in order. Each offered
    /// sequence number must land in exactly one place: refused by `begin`,
    /// published only (`LatestOnly`), evicted (`Overwrote`), popped, still
    /// queued, or one of the anonymous `cleared` / `Sample`-thinned frames, whose
    /// numbers must match exactly. The slab's counters must agree.
    pub fn check_books(offers: &[Offer], delivered: &Delivered, consumer: &mut Consumer) {
        let stats = consumer.stats();
        let queued = drain_queue(consumer);
        assert_eq!(stats.size, queued.len(), "stats.size vs the queue");

        for (index, offer) in offers.iter().enumerate() {
            assert_eq!(
                seq_of(offer),
                index as u64,
                "offers out of order: {offers:?}"
            );
        }
        assert_eq!(stats.offered, offers.len() as u64, "stats.offered");

        let mut enqueued = BTreeSet::new();
        let mut latest_only = BTreeSet::new();
        let mut evicted = BTreeSet::new();
        let mut refused = [0u64; 4];
        for offer in offers {
            match *offer {
                Ok(Committed::Queued { seq }) => {
                    enqueued.insert(seq);
                }
                Ok(Committed::Overwrote { seq, evicted_seq }) => {
                    assert_eq!(stats.policy, DropPolicy::Latest, "only Latest evicts");
                    enqueued.insert(seq);
                    assert!(
                        enqueued.contains(&evicted_seq),
                        "{seq} evicted {evicted_seq}, which was never queued: {offers:?}"
                    );
                    assert!(evicted.insert(evicted_seq), "{evicted_seq} evicted twice");
                }
                Ok(Committed::LatestOnly { seq }) => {
                    latest_only.insert(seq);
                }
                Err(Rejected { reason, .. }) => refused[reason as usize] += 1,
            }
        }
        let committed = offers.iter().filter(|offer| offer.is_ok()).count() as u64;
        assert_eq!(stats.written, committed, "stats.written");

        let popped: BTreeSet<u64> = delivered.popped.iter().copied().collect();
        assert_eq!(
            popped.len(),
            delivered.popped.len(),
            "a frame was popped twice: {:?}",
            delivered.popped
        );
        let still: BTreeSet<u64> = queued.iter().copied().collect();
        for seq in &popped {
            assert!(enqueued.contains(seq), "popped {seq}, never queued");
            assert!(!evicted.contains(seq), "{seq} both evicted and popped");
            assert!(!still.contains(seq), "{seq} both popped and still queued");
        }
        for seq in &still {
            assert!(
                enqueued.contains(seq),
                "{seq} queued but never committed to the queue"
            );
            assert!(
                !evicted.contains(seq),
                "{seq} both evicted and still queued"
            );
        }
        for seq in &latest_only {
            assert!(!enqueued.contains(seq));
        }

        let sampled_out_refused = refused[DropReason::SampledOut as usize];
        assert!(stats.dropped.sampled_out >= sampled_out_refused);
        let thinned = stats.dropped.sampled_out - sampled_out_refused;
        if stats.policy != DropPolicy::Sample {
            assert_eq!(thinned, 0, "only Sample thins the queue");
        }
        let vanished = enqueued.len() - popped.len() - still.len() - evicted.len();
        assert_eq!(
            vanished as u64,
            delivered.cleared as u64 + thinned,
            "frames lost: enqueued {enqueued:?}, popped {popped:?}, still queued {still:?}, \
             evicted {evicted:?}, cleared {}, thinned {thinned}",
            delivered.cleared
        );

        assert_eq!(
            stats.dropped.overwritten,
            evicted.len() as u64,
            "overwritten count"
        );
        assert_eq!(
            stats.dropped.queue_full,
            refused[DropReason::QueueFull as usize],
            "queue_full count"
        );
        assert_eq!(
            stats.dropped.no_free_slot,
            refused[DropReason::NoFreeSlot as usize] + latest_only.len() as u64,
            "no_free_slot count"
        );
        assert_eq!(refused[DropReason::Overwritten as usize], 0);
        if stats.policy != DropPolicy::DropNewest {
            assert_eq!(refused[DropReason::QueueFull as usize], 0);
        }
    }
}
