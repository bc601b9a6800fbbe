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
//! frame's `seq as u8`, with a pts of `seq × 40 ms` so that `Sample` plans the
//! same way in every execution), offer frames the way a decode worker does,
//! and check what the handles and the slab's counters reported:
//!
//! * [`check_books`]: every offered sequence number lands in exactly one place
//!   (no free slot, abandoned, published only, overwritten by name, popped,
//!   still queued, or one of the frames `clear` and `Sample` count without naming),
//!   and the slab's counters agree, identities included;
//! * [`Progress`] and [`watch`]: what other threads may rely on once a commit
//!   has returned (the latest snapshot is never older than a frame known
//!   committed, or than one a reader already saw);
//! * [`Linearizable`]: a race's whole outcome must be that of some sequential
//!   order of the same calls, replayed on a fresh slab.

#[cfg(rtsp_ingest_loom)]
pub use helpers::*;

#[cfg(rtsp_ingest_loom)]
mod helpers {
    use std::collections::BTreeSet;

    use loom::sync::atomic::{AtomicU64, Ordering};
    use loom::sync::Arc;
    use loom::thread;
    use rtsp_ingest::slab::{
        self, Committed, Consumer, DropPolicy, DropReason, Frame, FrameInfo, FrameLayout,
        PixelFormat, Producer, Reader, Rejected, SlabConfig,
    };

    /// What one `begin` + fill + `commit` (or abandon) came to.
    pub type Offer = Result<Committed, Rejected>;

    /// The pts step between consecutive sequence numbers (25 fps).
    pub const FRAME_INTERVAL_NS: i64 = 40_000_000;

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

        /// Records every offer's outcome: `queued`, `overwrote`, `thinned`,
        /// `latest_only`, or the drop's reason (`no_free_slot`, `abandoned`).
        pub fn note_offers(&self, offers: &[Offer]) {
            for offer in offers {
                self.note(match offer {
                    Ok(Committed::Queued { .. }) => "queued",
                    Ok(Committed::Overwrote { .. }) => "overwrote",
                    Ok(Committed::Thinned { .. }) => "thinned",
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
        slab_with(capacity, policy, reader_slots, false)
    }

    /// [`slab`], with the queue opened only by the consumer when `on_demand`.
    pub fn slab_with(
        capacity: usize,
        policy: DropPolicy,
        reader_slots: usize,
        on_demand: bool,
    ) -> (Producer, Consumer, Reader) {
        let layout = FrameLayout::new(2, 1, PixelFormat::Gray8).expect("a 2x1 gray8 layout");
        slab::new(
            SlabConfig::new(layout)
                .capacity(capacity)
                .policy(policy)
                .reader_slots(reader_slots)
                .queue_on_demand(on_demand),
        )
        .expect("a valid slab config")
    }

    /// The info committed with frame `seq`: pts `seq × 40 ms`, received now. The
    /// pts steps are far below the arrival-time slack, so `Sample`'s clock follows
    /// the pts and gives the frame the sample time `(seq - first) × 40 ms`.
    pub fn frame_info(seq: u64) -> FrameInfo {
        FrameInfo {
            pts_ns: Some(seq as i64 * FRAME_INTERVAL_NS),
            ..FrameInfo::received_now()
        }
    }

    /// Offers the next frame as a decode worker does: takes a slot, fills every
    /// byte with the frame's `seq as u8`, commits.
    pub fn offer(producer: &mut Producer) -> Offer {
        let mut writer = producer.begin()?;
        let seq = writer.seq();
        writer.data_mut().fill(seq as u8);
        Ok(writer.commit(frame_info(seq)))
    }

    /// `count` offers in a row.
    pub fn offer_n(producer: &mut Producer, count: usize) -> Vec<Offer> {
        (0..count).map(|_| offer(producer)).collect()
    }

    /// Takes a slot, scribbles on it and drops the writer (a conversion that
    /// failed): `Abandoned`, or `NoFreeSlot` if no slot was free.
    pub fn abandon(producer: &mut Producer) -> Offer {
        let mut writer = producer.begin()?;
        let seq = writer.seq();
        writer.data_mut().fill(0xAB);
        drop(writer);
        Err(Rejected {
            seq,
            reason: DropReason::Abandoned,
        })
    }

    /// The sequence number an offer was given.
    pub fn seq_of(offer: &Offer) -> u64 {
        match offer {
            Ok(committed) => committed.seq(),
            Err(rejected) => rejected.seq,
        }
    }

    /// The sequence numbers of the offers that were committed.
    pub fn committed(offers: &[Offer]) -> Vec<u64> {
        offers.iter().flatten().map(Committed::seq).collect()
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

    /// Checks the books once every thread has joined, then empties the queue and
    /// returns what it held, oldest first.
    ///
    /// `offers` must be every offer the producer made, in order. Each offered
    /// sequence number must land in exactly one place: dropped before
    /// publication (`NoFreeSlot`, `Abandoned`), published only (`LatestOnly`),
    /// evicted by name (an `Overwrote`'s `evicted_seq`), popped, still queued,
    /// or one of the frames `clear` and `Sample`'s thinning remove without
    /// naming them, whose number must be exactly `cleared` plus the `Thinned`
    /// commits' `removed`. The slab's counters must agree with all of it, and
    /// so the identities `offered == published + dropped.total()` and
    /// `published == size + taken + cleared + evicted.total()` hold. The
    /// latest snapshot must be the newest committed frame, whatever the policy.
    pub fn check_books(
        offers: &[Offer],
        delivered: &Delivered,
        consumer: &mut Consumer,
    ) -> Vec<u64> {
        let stats = consumer.stats();
        let latest = consumer.reader().latest();
        let queued = drain_queue(consumer);
        assert_eq!(stats.size, queued.len(), "stats.size vs the queue");

        for (index, offer) in offers.iter().enumerate() {
            assert_eq!(
                seq_of(offer),
                index as u64,
                "offers out of order: {offers:?}"
            );
        }

        let mut enqueued = BTreeSet::new();
        let mut latest_only = BTreeSet::new();
        let mut evicted = BTreeSet::new();
        let mut thinned = 0u64;
        let mut dropped = [0u64; DropReason::ALL.len()];
        for offer in offers {
            match *offer {
                Ok(Committed::Queued { seq }) => {
                    enqueued.insert(seq);
                }
                Ok(Committed::Overwrote { seq, evicted_seq }) => {
                    assert_eq!(stats.policy, DropPolicy::Latest, "only Latest overwrites");
                    assert!(
                        enqueued.contains(&evicted_seq),
                        "{seq} evicted {evicted_seq}, which was never queued: {offers:?}"
                    );
                    assert!(evicted.insert(evicted_seq), "{evicted_seq} evicted twice");
                    enqueued.insert(seq);
                }
                Ok(Committed::Thinned { seq, removed }) => {
                    assert_eq!(stats.policy, DropPolicy::Sample, "only Sample thins");
                    assert!(removed >= 1, "{seq} thinned nothing out: {offers:?}");
                    thinned += u64::from(removed);
                    enqueued.insert(seq);
                }
                Ok(Committed::LatestOnly { seq }) => {
                    latest_only.insert(seq);
                }
                Err(Rejected { reason, .. }) => dropped[reason as usize] += 1,
            }
        }
        let published = (enqueued.len() + latest_only.len()) as u64;

        let popped: BTreeSet<u64> = delivered.popped.iter().copied().collect();
        assert_eq!(
            popped.len(),
            delivered.popped.len(),
            "a frame was popped twice: {:?}",
            delivered.popped
        );
        let still: BTreeSet<u64> = queued.iter().copied().collect();
        for seq in &popped {
            assert!(
                enqueued.contains(seq),
                "popped {seq}, never queued: {offers:?}"
            );
            assert!(!evicted.contains(seq), "{seq} both evicted and popped");
            assert!(!still.contains(seq), "{seq} both popped and still queued");
        }
        for seq in &still {
            assert!(
                enqueued.contains(seq),
                "{seq} still queued, never queued: {offers:?}"
            );
            assert!(
                !evicted.contains(seq),
                "{seq} both evicted and still queued"
            );
        }
        // What neither the consumer nor an `Overwrote` named: each must be one
        // of the frames `clear` or a `Thinned` commit took away, no more, no less.
        let unnamed = enqueued.len() - popped.len() - still.len() - evicted.len();
        assert_eq!(
            unnamed as u64,
            delivered.cleared as u64 + thinned,
            "frames lost or duplicated: queued {enqueued:?}, popped {popped:?}, still queued \
             {still:?}, overwritten {evicted:?}, cleared {}, thinned {thinned}",
            delivered.cleared
        );

        // The counters, each against what the handles reported.
        assert_eq!(stats.offered, offers.len() as u64, "stats.offered");
        assert_eq!(stats.published, published, "stats.published");
        assert_eq!(
            stats.dropped.no_free_slot,
            dropped[DropReason::NoFreeSlot as usize],
            "stats.dropped.no_free_slot"
        );
        assert_eq!(
            stats.dropped.abandoned,
            dropped[DropReason::Abandoned as usize],
            "stats.dropped.abandoned"
        );
        assert_eq!(
            stats.evicted.overwritten,
            evicted.len() as u64,
            "stats.evicted.overwritten"
        );
        assert_eq!(
            stats.evicted.sampled_out, thinned,
            "stats.evicted.sampled_out"
        );
        // Left out of the queue: because it was full, or because no consumer
        // had opened it yet (`queue_on_demand`).
        assert_eq!(
            stats.evicted.queue_full + stats.evicted.no_consumer,
            latest_only.len() as u64,
            "stats.evicted.queue_full + no_consumer"
        );
        assert_eq!(stats.taken, popped.len() as u64, "stats.taken");
        assert_eq!(stats.cleared, delivered.cleared as u64, "stats.cleared");
        // The identities, from the counters alone.
        assert_eq!(
            stats.offered,
            stats.published + stats.dropped.total(),
            "offered != published + dropped: {stats:?}"
        );
        assert_eq!(
            stats.published,
            stats.size as u64 + stats.taken + stats.cleared + stats.evicted.total(),
            "published != size + taken + cleared + evicted: {stats:?}"
        );

        assert_eq!(
            latest.map(|frame| frame.seq()),
            committed(offers).last().copied(),
            "the latest snapshot is not the newest committed frame"
        );
        queued
    }

    /// The newest committed sequence number, published by the producer's thread
    /// after each commit returns, so another thread knows what it may rely on;
    /// optionally also whether an offer is under way, so another thread can tell
    /// that its own call ran entirely inside one. One loom atomic: each `offer`
    /// adds a store (`offer_marked` two), each look a load.
    #[derive(Clone)]
    pub struct Progress(Arc<AtomicU64>);

    impl Default for Progress {
        fn default() -> Self {
            Self(Arc::new(AtomicU64::new(0)))
        }
    }

    /// What [`Progress::look`] saw.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Look {
        /// The newest frame whose commit had returned.
        pub newest: Option<u64>,
        /// An [`offer_marked`](Progress::offer_marked) was under way (the one
        /// after `newest`).
        pub offering: bool,
    }

    impl Progress {
        /// [`offer`], then publishes the frame's seq if it was committed.
        pub fn offer(&self, producer: &mut Producer) -> Offer {
            let outcome = offer(producer);
            if let Ok(committed) = &outcome {
                // Release: the commit happens before a thread that reads this.
                self.0.store((committed.seq() + 1) << 1, Ordering::Release);
            }
            outcome
        }

        /// `count` offers in a row.
        pub fn offer_n(&self, producer: &mut Producer, count: usize) -> Vec<Offer> {
            (0..count).map(|_| self.offer(producer)).collect()
        }

        /// [`offer`](Self::offer), marked as under way while it runs.
        pub fn offer_marked(&self, producer: &mut Producer) -> Offer {
            // Relaxed: only this thread stores, and what the mark says needs no
            // other memory to be visible.
            let newest = self.0.load(Ordering::Relaxed);
            self.0.store(newest | 1, Ordering::Relaxed);
            let outcome = self.offer(producer);
            if outcome.is_err() {
                self.0.store(newest, Ordering::Release);
            }
            outcome
        }

        /// The newest frame whose commit this thread knows has returned.
        pub fn newest(&self) -> Option<u64> {
            self.look().newest
        }

        /// The newest frame known committed, and whether an offer is under way.
        pub fn look(&self) -> Look {
            // Acquire: pairs with the Release stores in `offer`.
            let word = self.0.load(Ordering::Acquire);
            Look {
                newest: (word >> 1).checked_sub(1),
                offering: word & 1 == 1,
            }
        }

        /// Runs `call`; returns its result, what was known before it, and
        /// whether it ran entirely inside one marked offer (the same offer under
        /// way before and after it; so the offer must commit).
        pub fn around<T>(&self, call: impl FnOnce() -> T) -> (T, Look, bool) {
            let before = self.look();
            let result = call();
            let after = self.look();
            (result, before, before.offering && after == before)
        }
    }

    /// A latest-reader's two looks, `latest()` and then `latest_after()` the
    /// frame it got. Checks that the second is strictly newer than the first,
    /// that both keep their pixels while held across the producer's commits,
    /// and, given the producer's `progress`, that neither is older than the
    /// newest frame known committed before the look (the policy never makes
    /// the latest snapshot stale). Returns what it saw, still held.
    ///
    /// Without `progress` the model is much cheaper (no store per commit for
    /// loom to interleave), for models with more threads.
    pub fn watch(reader: &Reader, progress: Option<&Progress>) -> Vec<Frame> {
        let mut seen: Vec<Frame> = Vec::new();
        for look in 0..2 {
            let known = progress.and_then(Progress::newest);
            let frame = match seen.last() {
                Some(last) if look > 0 => reader.latest_after(last.seq()),
                _ => reader.latest(),
            };
            // `latest_after` answers `None` when the frame already seen is the newest.
            let newest = frame.as_ref().or(seen.last()).map(Frame::seq);
            if let Some(known) = known {
                assert!(
                    newest >= Some(known),
                    "latest is {newest:?}, older than {known}, known committed"
                );
            }
            if let (Some(frame), Some(last)) = (&frame, seen.last()) {
                assert!(
                    frame.seq() > last.seq(),
                    "latest_after({}) gave {}",
                    last.seq(),
                    frame.seq()
                );
            }
            seen.extend(frame);
            seen.iter().for_each(assert_intact);
        }
        seen
    }

    /// Checks what a reader saw against what the producer committed.
    #[track_caller]
    pub fn check_seen(seen: &[Frame], offers: &[Offer]) {
        let committed = committed(offers);
        for frame in seen {
            assert_intact(frame);
            assert!(
                committed.contains(&frame.seq()),
                "a reader saw {}, which was never committed ({offers:?})",
                frame.seq()
            );
        }
    }

    /// One consumer call whose answer a sequential replay can reproduce.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Call {
        PopOldest,
        PopLatest,
        Clear,
    }

    /// What a [`Call`] returned: the popped frame's seq, or how many `clear` removed.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Answer {
        Popped(Option<u64>),
        Cleared(usize),
    }

    impl Call {
        /// Makes the call; a popped frame is checked intact and released at once.
        pub fn run(self, consumer: &mut Consumer) -> Answer {
            let popped = match self {
                Call::PopOldest => consumer.pop_oldest(),
                Call::PopLatest => consumer.pop_latest(),
                Call::Clear => return Answer::Cleared(consumer.clear()),
            };
            popped.iter().for_each(assert_intact);
            Answer::Popped(popped.map(|frame| frame.seq()))
        }
    }

    /// What the consumer delivered, from its answers.
    pub fn delivered(answers: &[Answer]) -> Delivered {
        let mut delivered = Delivered::default();
        for answer in answers {
            match *answer {
                Answer::Popped(popped) => delivered.popped.extend(popped),
                Answer::Cleared(cleared) => delivered.cleared += cleared,
            }
        }
        delivered
    }

    /// Everything a race's two parties were told: the producer's offers (those
    /// made before the race, during it and after it), the consumer's answers,
    /// and the queue once both are done.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct History {
        pub offers: Vec<Offer>,
        pub answers: Vec<Answer>,
        pub queued: Vec<u64>,
    }

    /// A race between the producer's commits and a script of consumer calls, and
    /// every history that some sequential order of the same calls gives.
    ///
    /// The slab claims each queue operation takes effect at one CAS, so the
    /// whole history of any execution must equal that of some interleaving
    /// (program order kept) of the producer's `racing` commits with the
    /// consumer's `calls`, run one at a time on a fresh slab, after the same
    /// `pre` commits and followed by the same `tail` commits. The tail is what
    /// catches producer state (`Sample`'s stride and span) that a retried
    /// plan left different from any sequential run: it shows in later plans.
    ///
    /// The sequential histories are computed once, in a one-thread loom model.
    /// Models must give the slab enough reader slots that `NoFreeSlot` cannot
    /// happen (the replay holds no frames; [`Linearizable::check`] asserts it).
    #[derive(Clone, Debug)]
    pub struct Linearizable {
        capacity: usize,
        policy: DropPolicy,
        pre: usize,
        racing: usize,
        calls: Vec<Call>,
        tail: usize,
        allowed: std::sync::Arc<Vec<History>>,
        /// Which of `allowed` some execution gave.
        matched: Reached,
    }

    impl Linearizable {
        /// Replays every sequential order of the race.
        pub fn new(
            capacity: usize,
            policy: DropPolicy,
            (pre, racing, tail): (usize, usize, usize),
            calls: &[Call],
        ) -> Self {
            let mut race = Self {
                capacity,
                policy,
                pre,
                racing,
                calls: calls.to_vec(),
                tail,
                allowed: Default::default(),
                matched: Reached::default(),
            };
            let found = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = found.clone();
            let replay = race.clone();
            let mut builder = loom::model::Builder::new();
            builder.max_branches = 1 << 20;
            builder.check(move || {
                let mut histories = Vec::new();
                replay.orders(&mut Vec::new(), &mut histories);
                *sink.lock().unwrap() = histories;
            });
            let found = std::mem::take(&mut *found.lock().unwrap());
            assert!(!found.is_empty());
            race.allowed = std::sync::Arc::new(found);
            race
        }

        /// Every interleaving: `true` is a producer commit, `false` the next call.
        fn orders(&self, prefix: &mut Vec<bool>, out: &mut Vec<History>) {
            let commits = prefix.iter().filter(|&&commit| commit).count();
            let calls = prefix.len() - commits;
            if commits == self.racing && calls == self.calls.len() {
                let history = self.replay(prefix);
                if !out.contains(&history) {
                    out.push(history);
                }
                return;
            }
            for (more, commit) in [
                (commits < self.racing, true),
                (calls < self.calls.len(), false),
            ] {
                if more {
                    prefix.push(commit);
                    self.orders(prefix, out);
                    prefix.pop();
                }
            }
        }

        fn replay(&self, order: &[bool]) -> History {
            let (mut producer, mut consumer, _reader) = slab(self.capacity, self.policy, 0);
            let mut offers = offer_n(&mut producer, self.pre);
            let mut calls = self.calls.iter();
            let mut answers = Vec::new();
            for &commit in order {
                if commit {
                    offers.push(offer(&mut producer));
                } else {
                    answers.push(calls.next().unwrap().run(&mut consumer));
                }
            }
            offers.extend(offer_n(&mut producer, self.tail));
            let queued = check_books(&offers, &delivered(&answers), &mut consumer);
            History {
                offers,
                answers,
                queued,
            }
        }

        /// Panics unless `history` is one a sequential order gives, and records
        /// which (see [`assert_every_order_reached`](Self::assert_every_order_reached)).
        #[track_caller]
        pub fn check(&self, history: &History) {
            for offer in &history.offers {
                assert!(
                    !matches!(
                        offer,
                        Err(Rejected {
                            reason: DropReason::NoFreeSlot,
                            ..
                        })
                    ),
                    "a linearizability model ran out of slots: {history:?}"
                );
            }
            let index = self
                .allowed
                .iter()
                .position(|allowed| allowed == history)
                .unwrap_or_else(|| {
                    panic!(
                        "not linearizable: no sequential order of the calls gives\n  \
                         {history:?}\nthe sequential orders give\n  {:#?}",
                        self.allowed
                    )
                });
            self.matched.note(index.to_string());
        }

        /// Once `loom::model` has returned: panics unless every sequential
        /// history was some execution's. Loom's DPOR keeps one last access per
        /// atomic, so a thread's own load can hide another thread's load from
        /// its later CAS, and the order with the CAS first is never tried (seen
        /// here: a pop right after a clear, with the producer's push between
        /// them, was never explored). A model that hits this needs one more
        /// access between the calls (a `Progress` look, say) to expose the race.
        #[track_caller]
        pub fn assert_every_order_reached(&self) {
            for (index, history) in self.allowed.iter().enumerate() {
                let reached = self.matched.0.lock().unwrap().contains(&index.to_string());
                assert!(
                    reached,
                    "no interleaving gave the sequential history {history:?}"
                );
            }
        }
    }

    /// Reader slots enough that no model runs out of slots (the linearizability
    /// check needs it): the consumer holds one frame at a time, a watcher two.
    pub const READER_SLOTS: usize = 3;

    /// A race between `racing` marked commits and the consumer's `calls`, after
    /// `pre` commits and before `tail` more. Checks in every execution:
    /// * the whole history against every sequential order ([`Linearizable`]);
    /// * that no frame committed before a `clear` started is popped after it
    ///   returns (a frame whose commit races the clear may land after it);
    /// * that `pop_oldest` results strictly increase;
    /// * that the first frame popped by `pop_latest` is not older than a frame
    ///   known committed before the call, unless the policy is `DropNewest` (the
    ///   other policies always queue the newest frame, pins aside);
    /// * the books ([`check_books`]);
    /// * with `reader`, that a latest-reader thread racing both never sees a
    ///   stale or torn frame ([`watch`]).
    ///
    /// Then checks that every sequential order was reached, and each of
    /// `reachable`: offer outcomes as [`Reached::note_offers`] names them, and
    /// `Clear inside`, `PopLatest inside`, ... for a call that ran entirely inside
    /// a racing commit. The `Progress` looks around each call are also what make
    /// loom's DPOR try the producer between two calls (see
    /// [`Linearizable::assert_every_order_reached`]).
    pub fn race(
        policy: DropPolicy,
        capacity: usize,
        (pre, racing, tail): (usize, usize, usize),
        calls: &'static [Call],
        reader: bool,
        reachable: &[&str],
    ) {
        let reached = Reached::default();
        let notes = reached.clone();
        let sequential = Linearizable::new(capacity, policy, (pre, racing, tail), calls);
        let every_order = sequential.clone();
        loom::model(move || {
            let (mut producer, mut consumer, latest) = slab(capacity, policy, READER_SLOTS);
            let progress = Progress::default();
            let mut offers = progress.offer_n(&mut producer, pre);
            let watcher = reader.then(|| {
                let progress = progress.clone();
                thread::spawn(move || watch(&latest, Some(&progress)))
            });
            let consumer_progress = progress.clone();
            let consumer_notes = notes.clone();
            let ordered = thread::spawn(move || {
                let mut answers = Vec::new();
                let mut oldest = Vec::new();
                // Frames committed before the last clear started: never popped after it.
                let mut gone_through = None;
                for &call in calls {
                    let (answer, before, inside) =
                        consumer_progress.around(|| call.run(&mut consumer));
                    let known = before.newest;
                    if inside {
                        consumer_notes.note(format!("{call:?} inside"));
                    }
                    match answer {
                        Answer::Cleared(_) => gone_through = known,
                        Answer::Popped(Some(seq)) => {
                            if let Some(gone) = gone_through {
                                assert!(
                                    seq > gone,
                                    "popped {seq} after a clear that started once {gone} was committed"
                                );
                            }
                            if call == Call::PopOldest {
                                oldest.push(seq);
                                assert_increasing("pop_oldest", &oldest);
                            }
                            let popped_before = answers
                                .iter()
                                .any(|answer| matches!(answer, Answer::Popped(Some(_))));
                            let newest_queued = policy != DropPolicy::DropNewest;
                            if let (Call::PopLatest, Some(known), false, true) =
                                (call, known, popped_before, newest_queued)
                            {
                                assert!(
                                    seq >= known,
                                    "pop_latest gave {seq}, but {known} was committed and queued"
                                );
                            }
                        }
                        Answer::Popped(None) => {}
                    }
                    answers.push(answer);
                }
                (consumer, answers)
            });

            for _ in 0..racing {
                offers.push(progress.offer_marked(&mut producer));
            }
            let (mut consumer, answers) = ordered.join().unwrap();
            if let Some(watcher) = watcher {
                let seen = watcher.join().unwrap();
                check_seen(&seen, &offers);
            }
            offers.extend(offer_n(&mut producer, tail));

            let queued = check_books(&offers, &delivered(&answers), &mut consumer);
            notes.note_offers(&offers);
            sequential.check(&History {
                offers,
                answers,
                queued,
            });
        });
        for what in reachable {
            reached.assert(what);
        }
        every_order.assert_every_order_reached();
    }
}
