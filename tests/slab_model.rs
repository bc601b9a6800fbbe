//! The slab against its single-threaded model (`support/slab_ops.rs`): random op
//! sequences from proptest, fixed sequences for every configuration, and exact
//! expected values for the policies' drop accounting and edge cases.

#[path = "support/slab_ops.rs"]
mod slab_ops;

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use rtsp_ingest::slab::{
    self, Committed, Consumer, DropCounts, DropPolicy, DropReason, EvictCounts, Frame, FrameInfo,
    FrameLayout, PixelFormat, Producer, Reader, Rejected, SlabConfig,
};
use slab_ops::{info_for, ops_from, pattern, run, Op, Scenario, Summary};
use std::collections::HashMap;
use std::time::Instant;

// --- random scenarios ------------------------------------------------------------

proptest! {
    // 1500 cases take ~8 s in debug; set PROPTEST_CASES for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(1500),
        // Shrinking a 4 KiB byte string is slow and rarely needed: failures print
        // their op trace.
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn slab_matches_model(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Ok(scenario) = Scenario::arbitrary_take_rest(Unstructured::new(&bytes)) {
            let _ = run(scenario);
        }
    }
}

/// xorshift64*, so the fixed scenarios below need no seed files.
fn pseudo_random_bytes(mut state: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// Every policy × capacity × reader_slots, each with its own long random op list.
#[test]
fn every_configuration_matches_model() {
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut totals: HashMap<DropPolicy, Vec<Summary>> = HashMap::new();
    for policy in DropPolicy::ALL {
        for capacity in 1..=8 {
            for reader_slots in 0..=3 {
                seed = seed.wrapping_add(0x1234_5678_9ABC_DEF1);
                let bytes = pseudo_random_bytes(seed, 8192);
                let ops = ops_from(Unstructured::new(&bytes));
                let scenario = Scenario {
                    policy,
                    capacity,
                    reader_slots,
                    width: 1 + (seed % 130) as u32,
                    height: 1 + (seed % 3) as u32,
                    queue_on_demand: reader_slots % 2 == 1,
                    ops,
                };
                // The same ops on an on-demand queue that no consumer op opens
                // for the first half: readers and the producer alone.
                let half = scenario.ops.len() / 2;
                let mut closed = scenario.clone();
                closed.queue_on_demand = true;
                closed.ops = (scenario.ops.iter().take(half))
                    .filter(|op| !op.uses_consumer())
                    .chain(&scenario.ops[half..])
                    .copied()
                    .collect();
                totals.entry(policy).or_default().push(run(scenario));
                totals.entry(policy).or_default().push(run(closed));
            }
        }
    }
    // The generator reaches every outcome the model distinguishes.
    let sum =
        |policy, get: &dyn Fn(&Summary) -> u64| -> u64 { totals[&policy].iter().map(get).sum() };
    for policy in DropPolicy::ALL {
        assert!(sum(policy, &|s| s.stats.published) > 1000, "{policy}");
        assert!(
            sum(policy, &|s| s.stats.dropped.no_free_slot) > 10,
            "{policy}"
        );
        assert!(sum(policy, &|s| s.committed_while_open) > 10, "{policy}");
    }
    assert!(sum(DropPolicy::Latest, &|s| s.stats.evicted.overwritten) > 100);
    assert!(sum(DropPolicy::DropNewest, &|s| s.stats.evicted.queue_full) > 100);
    assert!(sum(DropPolicy::Sample, &|s| s.stats.evicted.sampled_out) > 100);
    assert!(sum(DropPolicy::Sample, &|s| s.stats.cleared) > 10);
    for policy in DropPolicy::ALL {
        assert!(
            sum(policy, &|s| s.stats.evicted.no_consumer) > 100,
            "{policy}"
        );
    }
    assert!(
        totals[&DropPolicy::Sample]
            .iter()
            .map(|s| s.max_stride)
            .max()
            >= Some(8_000)
    );
}

/// Long runs that wrap the ring's cells many times, popping from both ends, for
/// capacities that are and are not powers of two.
#[test]
fn ring_wraps_match_model() {
    let write = Op::Write {
        via_planes: false,
        abandon: false,
    };
    for policy in DropPolicy::ALL {
        for capacity in [1, 2, 3, 5, 7, 8] {
            let mut ops = Vec::new();
            for i in 0..400_u32 {
                ops.push(write);
                if i % 3 == 0 {
                    ops.push(Op::PopOldest { hold: false });
                }
                if i % 7 == 0 {
                    ops.push(Op::PopLatest { hold: i % 2 == 0 });
                }
                if i % 11 == 0 {
                    ops.push(Op::ReadRange {
                        start: (i % 5) as u8,
                        count: Some(2),
                        hold: true,
                    });
                }
                if i % 13 == 0 {
                    ops.push(Op::ReleaseAll);
                }
                if i % 97 == 0 {
                    ops.push(Op::Clear);
                }
            }
            let _ = run(Scenario {
                policy,
                capacity,
                reader_slots: 1,
                width: 8,
                height: 1,
                queue_on_demand: capacity % 2 == 1,
                ops,
            });
        }
    }
}

// --- helpers for the exact tests --------------------------------------------------

fn slab(policy: DropPolicy, capacity: usize, reader_slots: usize) -> (Producer, Consumer, Reader) {
    let layout = FrameLayout::new(16, 2, PixelFormat::Gray8).unwrap();
    slab::new(
        SlabConfig::new(layout)
            .capacity(capacity)
            .policy(policy)
            .reader_slots(reader_slots),
    )
    .unwrap()
}

/// One frame, filled with its seq's pattern.
fn write(producer: &mut Producer, base: Instant) -> Result<Committed, Rejected> {
    let mut writer = producer.begin()?;
    let seq = writer.seq();
    for (index, byte) in writer.data_mut().iter_mut().enumerate() {
        *byte = pattern(seq, index);
    }
    Ok(writer.commit(info_for(seq, base)))
}

fn assert_intact(frame: &Frame) {
    let seq = frame.seq();
    assert!(
        frame
            .data()
            .iter()
            .enumerate()
            .all(|(index, &byte)| byte == pattern(seq, index)),
        "frame {seq}'s pixels were overwritten"
    );
}

fn seqs(frames: &[Frame]) -> Vec<u64> {
    frames.iter().map(Frame::seq).collect()
}

fn queued(consumer: &mut Consumer) -> Vec<u64> {
    seqs(&consumer.read_all())
}

// --- every policy: the latest snapshot --------------------------------------------

/// The policy governs the ordered queue only: with nobody popping, the latest
/// snapshot is the last frame written under every policy and capacity (it froze
/// at 0 / 8192 under `Sample` and 0 / 1 / 3 under `DropNewest` before).
#[test]
fn latest_is_the_last_frame_under_every_policy() {
    let base = Instant::now();
    for policy in DropPolicy::ALL {
        for capacity in [1, 2, 4] {
            let (mut producer, _consumer, reader) = slab(policy, capacity, 2);
            for seq in 0..10_000 {
                let committed = write(&mut producer, base).unwrap();
                assert_eq!(committed.seq(), seq);
                assert_eq!(reader.latest().map(|frame| frame.seq()), Some(seq));
            }
            assert_eq!(
                reader.latest().unwrap().seq(),
                9_999,
                "{policy} capacity {capacity}"
            );
            let stats = reader.stats();
            assert_eq!(stats.published, 10_000, "{policy} {capacity}");
            assert_eq!(stats.dropped.total(), 0, "{policy} {capacity}");
            // Every published frame is queued or evicted by the queue's reason.
            assert_eq!(
                stats.size as u64 + stats.evicted.total(),
                stats.published,
                "{policy} {capacity}"
            );
        }
    }
}

// --- Sample -----------------------------------------------------------------------

/// A frame with pts `pts_ms`, all arriving at `base` (a burst): the sample
/// must follow the pts.
fn write_at(producer: &mut Producer, base: Instant, pts_ms: i64) -> Committed {
    let mut writer = producer.begin().unwrap();
    writer.data_mut().fill(0);
    writer.commit(FrameInfo {
        pts_ns: Some(pts_ms * 1_000_000),
        ..info_for(0, base)
    })
}

fn queued_pts_ms(consumer: &mut Consumer) -> Vec<i64> {
    consumer
        .read_all()
        .iter()
        .map(|frame| frame.pts_ns().unwrap() / 1_000_000)
        .collect()
}

/// Checks that `times` (ms) is an even sample of `0 ..= newest`: starts at the
/// span's start, ends at the newest frame, and consecutive gaps before the
/// newest differ by at most `jitter` (twice the frame interval: each point is
/// the first frame at or after its grid point).
fn assert_even(times: &[i64], newest: i64, jitter: i64, what: &str) {
    assert_eq!(times.first(), Some(&0), "{what}: {times:?}");
    assert_eq!(
        times.last(),
        Some(&newest),
        "{what}: newest missing: {times:?}"
    );
    let body = &times[..times.len() - 1];
    let gaps: Vec<i64> = body.windows(2).map(|pair| pair[1] - pair[0]).collect();
    if let (Some(min), Some(max)) = (gaps.iter().min(), gaps.iter().max()) {
        assert!(
            max - min <= jitter,
            "{what}: uneven gaps {gaps:?} in {times:?}"
        );
        // The newest frame is at most one gap past the last sample point.
        assert!(
            newest - body.last().unwrap() <= max + jitter,
            "{what}: {times:?}"
        );
    }
}

/// Exact, capacity 4, frames every 10 ms: the first fill sets the interval from
/// the span (27 ms), a provisional newest frame is replaced by the next, and the
/// next fill doubles the interval (54 ms: cells nest, so their first frames
/// are ones the queue kept).
#[test]
fn sample_capacity_4_exact() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Sample, 4, 0);
    let outcomes: Vec<Committed> = (0..11)
        .map(|k| write_at(&mut producer, base, k * 10))
        .collect();
    use Committed::{Queued, Thinned};
    assert_eq!(
        outcomes,
        [
            Queued { seq: 0 },
            Queued { seq: 1 },
            Queued { seq: 2 },
            Queued { seq: 3 },
            Thinned { seq: 4, removed: 2 },
            Thinned { seq: 5, removed: 1 },
            Thinned { seq: 6, removed: 1 },
            Queued { seq: 7 },
            Thinned { seq: 8, removed: 1 },
            Thinned { seq: 9, removed: 1 },
            Thinned {
                seq: 10,
                removed: 2
            },
        ]
    );
    assert_eq!(queued_pts_ms(&mut consumer), [0, 60, 100]);
    let stats = reader.stats();
    assert_eq!(stats.evicted.sampled_out, 8);
    assert_eq!(stats.published, 11);
    assert_eq!(stats.published, stats.size as u64 + stats.evicted.total());
}

/// Long runs at a steady rate, every capacity: the queue is an even sample of
/// the whole span, the newest frame included, at least half full once it filled.
#[test]
fn sample_is_even_in_time_for_every_capacity() {
    let base = Instant::now();
    for capacity in 2..=16 {
        for frames in [2_i64, 7, 8, 9, 17, 100, 1000, 1025] {
            let (mut producer, mut consumer, _reader) = slab(DropPolicy::Sample, capacity, 0);
            for k in 0..frames {
                let _ = write_at(&mut producer, base, k * 40);
            }
            let times = queued_pts_ms(&mut consumer);
            let what = format!("capacity {capacity}, {frames} frames");
            assert!(times.len() <= capacity, "{what}");
            if frames as usize >= capacity && capacity >= 4 {
                assert!(times.len() * 2 >= capacity, "{what}: {times:?}");
            }
            assert_even(&times, (frames - 1) * 40, 80, &what);
        }
    }
}

/// Capacity 1 keeps the newest frame (the seed always kept the new frame).
#[test]
fn sample_capacity_1_keeps_the_newest_frame() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Sample, 1, 0);
    for k in 0..2000 {
        let _ = write_at(&mut producer, base, k * 40);
        assert_eq!(queued_pts_ms(&mut consumer), [k * 40]);
    }
    assert_eq!(reader.stats().evicted.sampled_out, 1999);
}

/// A consumer that stalled for 800 frames and then takes every frame as it
/// comes gets every frame again at once (the interval grew to about 1 in 128
/// during the stall and never shrank before).
#[test]
fn sample_returns_to_every_frame_after_the_queue_is_drained() {
    let base = Instant::now();
    let (mut producer, mut consumer, _reader) = slab(DropPolicy::Sample, 8, 2);
    for k in 0..800 {
        let _ = write_at(&mut producer, base, k * 40);
    }
    let stalled: Vec<Frame> = std::iter::from_fn(|| consumer.pop_oldest()).collect();
    assert!(stalled.len() >= 4, "{}", stalled.len());
    drop(stalled);
    let mut delivered = Vec::new();
    for k in 800..900 {
        let _ = write_at(&mut producer, base, k * 40);
        delivered.extend(std::iter::from_fn(|| consumer.pop_oldest()).map(|f| f.seq()));
    }
    assert_eq!(delivered, (800..900).collect::<Vec<u64>>());
}

/// Spacing is in time: a rate change (25 fps for 8 s, then 5 fps for 8 s) and
/// an outage (the pts restarting after 30 s without frames) take the room
/// their time takes, not the room of their frame counts.
#[test]
fn sample_spaces_by_time_across_rate_changes_and_outages() {
    let base = Instant::now();
    let (mut producer, mut consumer, _reader) = slab(DropPolicy::Sample, 16, 0);
    for k in 0..200 {
        let _ = write_at(&mut producer, base, k * 40);
    }
    for k in 1..=40 {
        let _ = write_at(&mut producer, base, 7_960 + k * 200);
    }
    let times = queued_pts_ms(&mut consumer);
    assert_even(&times, 15_960, 400, "rate change");
    let first_half = times.iter().filter(|&&t| t < 8_000).count();
    let second_half = times.len() - first_half;
    assert!(
        first_half.abs_diff(second_half) <= 2,
        "by frame count the first half would hold 5/6 of the sample: {times:?}"
    );

    // An outage: nothing for 30 s, then the camera restarts its pts at 0. The
    // arrival time bridges the gap.
    let (mut producer, mut consumer, _reader) = slab(DropPolicy::Sample, 16, 0);
    let received = |ms: u64| base + std::time::Duration::from_millis(ms);
    let mut commit = |pts_ms: i64, at_ms: u64| {
        let mut writer = producer.begin().unwrap();
        writer.data_mut().fill(0);
        let _ = writer.commit(FrameInfo {
            pts_ns: Some(pts_ms * 1_000_000),
            received: received(at_ms),
            ..info_for(0, base)
        });
    };
    for k in 0..250 {
        commit(k * 40, k as u64 * 40);
    }
    for k in 0..250 {
        commit(k * 40, 40_000 + k as u64 * 40);
    }
    let arrivals: Vec<u128> = consumer
        .read_all()
        .iter()
        .map(|frame| frame.received().duration_since(base).as_millis())
        .collect();
    let in_outage = arrivals
        .iter()
        .filter(|&&t| (10_000..40_000).contains(&t))
        .count();
    assert_eq!(in_outage, 0, "{arrivals:?}");
    assert!(
        arrivals.windows(2).all(|pair| pair[0] < pair[1]),
        "{arrivals:?}"
    );
    assert_eq!(*arrivals.last().unwrap(), 40_000 + 249 * 40);
}

/// `clear` starts a new span: every frame is queued again until the queue fills.
#[test]
fn sample_starts_a_new_span_after_clear() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Sample, 4, 0);
    for k in 0..100 {
        let _ = write_at(&mut producer, base, k * 40);
    }
    let queued_before = consumer.len();
    assert_eq!(consumer.clear(), queued_before);
    assert_eq!(reader.latest().unwrap().seq(), 99, "clear keeps latest");
    for k in 100..104 {
        assert_eq!(
            write_at(&mut producer, base, k * 40),
            Committed::Queued { seq: k as u64 }
        );
    }
    assert_eq!(queued_pts_ms(&mut consumer), [4000, 4040, 4080, 4120]);
    let stats = reader.stats();
    assert_eq!(stats.cleared, queued_before as u64);
    assert_eq!(
        stats.published,
        stats.size as u64 + stats.cleared + stats.evicted.total()
    );
}

// --- Latest and DropNewest --------------------------------------------------------

#[test]
fn latest_counts_every_overwrite() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Latest, 4, 0);
    let mut held = None;
    for seq in 0..10 {
        let committed = write(&mut producer, base).unwrap();
        if seq < 4 {
            assert_eq!(committed, Committed::Queued { seq });
        } else {
            assert_eq!(
                committed,
                Committed::Overwrote {
                    seq,
                    evicted_seq: seq - 4
                }
            );
        }
        if seq == 0 {
            // Reader slots 0: one held handle still fits (the latest frame is queued).
            held = reader.latest();
        }
    }
    assert_eq!(queued(&mut consumer), [6, 7, 8, 9]);
    let held = held.unwrap();
    assert_eq!(held.seq(), 0);
    assert_intact(&held);
    let stats = reader.stats();
    assert_eq!((stats.offered, stats.published, stats.size), (10, 10, 4));
    assert_eq!(stats.dropped, DropCounts::default());
    assert_eq!(
        stats.evicted,
        EvictCounts {
            overwritten: 6,
            ..EvictCounts::default()
        }
    );
}

#[test]
fn drop_newest_counts_every_refusal() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::DropNewest, 4, 2);
    for seq in 0..10 {
        let result = write(&mut producer, base);
        if seq < 4 {
            assert_eq!(result, Ok(Committed::Queued { seq }));
        } else {
            assert_eq!(result, Ok(Committed::LatestOnly { seq }));
        }
        // Refused by the queue, still the latest frame.
        assert_eq!(reader.latest().unwrap().seq(), seq);
    }
    assert_eq!(consumer.pop_oldest().unwrap().seq(), 0);
    assert_eq!(consumer.pop_oldest().unwrap().seq(), 1);
    assert_eq!(
        write(&mut producer, base),
        Ok(Committed::Queued { seq: 10 })
    );
    assert_eq!(
        write(&mut producer, base),
        Ok(Committed::Queued { seq: 11 })
    );
    assert_eq!(
        write(&mut producer, base),
        Ok(Committed::LatestOnly { seq: 12 })
    );
    assert_eq!(queued(&mut consumer), [2, 3, 10, 11]);
    assert_eq!(reader.latest().unwrap().seq(), 12);
    let stats = reader.stats();
    assert_eq!((stats.offered, stats.published, stats.taken), (13, 13, 2));
    assert_eq!(
        stats.evicted,
        EvictCounts {
            queue_full: 7,
            ..EvictCounts::default()
        }
    );
    assert_eq!(
        stats.published,
        stats.size as u64 + stats.taken + stats.evicted.total()
    );
}

// --- NoFreeSlot ---------------------------------------------------------------------

/// Taking and holding every frame: `slots = capacity + 2 + reader_slots` frames get
/// a slot, the next is `NoFreeSlot`, and releasing one frees one.
#[test]
fn no_free_slot_when_readers_hold_every_slot() {
    let base = Instant::now();
    for policy in DropPolicy::ALL {
        for capacity in [1, 3] {
            for reader_slots in [0, 2] {
                let (mut producer, mut consumer, reader) = slab(policy, capacity, reader_slots);
                let slots = (capacity + 2 + reader_slots) as u64;
                assert_eq!(reader.stats().slots as u64, slots);
                let mut held = Vec::new();
                for _ in 0..slots {
                    assert!(
                        write(&mut producer, base).unwrap().is_queued(),
                        "{policy} {capacity} {reader_slots}"
                    );
                    held.push(consumer.pop_oldest().unwrap());
                }
                assert_eq!(
                    write(&mut producer, base),
                    Err(Rejected {
                        seq: slots,
                        reason: DropReason::NoFreeSlot
                    })
                );
                held.iter().for_each(assert_intact);
                held.remove(0);
                assert_eq!(write(&mut producer, base).unwrap().seq(), slots + 1);
                held.push(consumer.pop_oldest().unwrap());
                held.iter().for_each(assert_intact);
                assert_eq!(
                    write(&mut producer, base),
                    Err(Rejected {
                        seq: slots + 2,
                        reason: DropReason::NoFreeSlot
                    })
                );
                let stats = reader.stats();
                assert_eq!(stats.dropped.no_free_slot, 2);
                assert_eq!(stats.dropped.total(), 2);
                assert_eq!(stats.published, slots + 1);
            }
        }
    }
}

/// With the queue full (so the latest frame is queued), readers may hold
/// `reader_slots + 1` other frames and the producer still gets a slot; one more
/// and it does not.
#[test]
fn readers_hold_reader_slots_plus_one_beside_a_full_queue() {
    let base = Instant::now();
    let (capacity, reader_slots) = (3, 2);
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Latest, capacity, reader_slots);
    let mut held = Vec::new();
    for _ in 0..reader_slots + 2 {
        let _ = write(&mut producer, base).unwrap();
        held.push(consumer.pop_oldest().unwrap());
    }
    // Held: 0 ..= 3 (3 is latest); fill the queue with 4, 5, 6 (6 is latest).
    held.pop();
    for _ in 0..capacity {
        let _ = write(&mut producer, base).unwrap();
    }
    assert_eq!(held.len(), reader_slots + 1);
    assert_eq!(queued(&mut consumer), [4, 5, 6]);
    // 3 held + 3 queued + writer = 7 = slots: admitted, evicts 4.
    assert_eq!(
        write(&mut producer, base),
        Ok(Committed::Overwrote {
            seq: 7,
            evicted_seq: 4
        })
    );
    held.push(consumer.read_oldest().unwrap()); // 5, still queued
    held.push(reader.latest().unwrap()); // 7, queued and latest: no extra slot
    assert_eq!(
        write(&mut producer, base),
        Ok(Committed::Overwrote {
            seq: 8,
            evicted_seq: 5
        })
    );
    // Now 5 is held but no longer queued: 4 held outside the queue.
    assert_eq!(
        write(&mut producer, base),
        Err(Rejected {
            seq: 9,
            reason: DropReason::NoFreeSlot
        })
    );
    held.iter().for_each(assert_intact);
}

// --- consumer and reader edges -----------------------------------------------------

#[test]
fn read_range_edges() {
    let base = Instant::now();
    let (mut producer, mut consumer, _reader) = slab(DropPolicy::Latest, 4, 0);
    assert!(consumer.read_range(0, None).is_empty());
    assert!(consumer.read_oldest().is_none());
    for _ in 0..6 {
        let _ = write(&mut producer, base).unwrap();
    }
    let mut range = |start, count| seqs(&consumer.read_range(start, count));
    assert_eq!(range(0, None), [2, 3, 4, 5]);
    assert_eq!(range(0, Some(0)), [] as [u64; 0]);
    assert_eq!(range(3, None), [5]);
    assert_eq!(range(4, None), [] as [u64; 0]);
    assert_eq!(range(5, Some(1)), [] as [u64; 0]);
    assert_eq!(range(2, Some(1)), [4]);
    assert_eq!(range(1, Some(usize::MAX)), [3, 4, 5]);
    assert_eq!(range(usize::MAX, Some(usize::MAX)), [] as [u64; 0]);
    assert_eq!(range(usize::MAX, None), [] as [u64; 0]);
    assert_eq!(consumer.len(), 4, "reads do not remove");
}

#[test]
fn pops_clear_and_latest_after() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Latest, 4, 0);
    assert!(reader.latest().is_none());
    assert!(reader.latest_after(0).is_none());
    assert!(consumer.pop_oldest().is_none());
    assert!(consumer.pop_latest().is_none());
    assert_eq!(consumer.clear(), 0);

    let _ = write(&mut producer, base).unwrap();
    // Frame 0 is only reachable through `latest`: no seq is below 0.
    assert_eq!(reader.latest().unwrap().seq(), 0);
    assert!(reader.latest_after(0).is_none());
    for _ in 0..4 {
        let _ = write(&mut producer, base).unwrap();
    }
    assert_eq!(reader.latest_after(3).unwrap().seq(), 4);
    assert!(reader.latest_after(4).is_none());
    assert!(reader.latest_after(u64::MAX).is_none());

    assert_eq!(consumer.pop_latest().unwrap().seq(), 4);
    assert_eq!(consumer.pop_oldest().unwrap().seq(), 1);
    assert_eq!(queued(&mut consumer), [2, 3]);
    assert_eq!(reader.latest().unwrap().seq(), 4, "popping keeps latest");
    assert_eq!(consumer.clear(), 2);
    assert!(consumer.is_empty());
    assert_eq!(reader.latest().unwrap().seq(), 4, "clearing keeps latest");
    let stats = reader.stats();
    assert_eq!(stats.evicted.overwritten, 1);
    assert_eq!((stats.taken, stats.cleared), (2, 2));
    assert_eq!((stats.offered, stats.published, stats.size), (5, 5, 0));
}

/// An abandoned writer consumes its seq, is counted as abandoned and frees its slot.
#[test]
fn abandoned_writer_consumes_seq_only() {
    let base = Instant::now();
    for policy in DropPolicy::ALL {
        let (mut producer, mut consumer, reader) = slab(policy, 1, 0);
        // Slots 3: hold frame 0 outside the queue, and keep abandoning.
        let _ = write(&mut producer, base).unwrap();
        let held = consumer.pop_oldest().unwrap();
        for seq in 1..20 {
            let mut writer = producer.begin().unwrap();
            assert_eq!(writer.seq(), seq);
            writer.data_mut().fill(0xA5);
        }
        assert_intact(&held);
        let stats = reader.stats();
        assert_eq!((stats.offered, stats.published), (20, 1));
        assert_eq!(stats.dropped.abandoned, 19, "{policy}");
        assert_eq!(stats.offered, stats.published + stats.dropped.total());
        assert!(write(&mut producer, base).unwrap().is_queued(), "{policy}");
    }
}

// --- the on-demand queue and the latest cache ----------------------------------------

fn on_demand_slab(policy: DropPolicy) -> (Producer, Consumer, Reader) {
    let layout = FrameLayout::new(16, 2, PixelFormat::Gray8).unwrap();
    slab::new(
        SlabConfig::new(layout)
            .capacity(4)
            .policy(policy)
            .reader_slots(2)
            .queue_on_demand(true),
    )
    .unwrap()
}

/// Distinct slots (pixel buffers) the frames in `frames` live in.
fn distinct_slots(frames: &[Frame]) -> usize {
    let mut slots: Vec<*const u8> = frames.iter().map(|f| f.data().as_ptr()).collect();
    slots.sort_unstable();
    slots.dedup();
    slots.len()
}

#[test]
fn on_demand_queue_is_closed_until_the_consumer_asks() {
    for policy in DropPolicy::ALL {
        let (mut producer, mut consumer, reader) = on_demand_slab(policy);
        let base = Instant::now();
        for _ in 0..100 {
            let committed = write(&mut producer, base).unwrap();
            assert!(!committed.is_queued(), "{policy}: {committed:?}");
            let latest = reader.latest().unwrap();
            assert_eq!(latest.seq(), committed.seq());
            assert_intact(&latest);
        }
        let stats = reader.stats();
        assert!(!stats.queue_open, "{policy}");
        assert_eq!(stats.size, 0);
        assert_eq!(stats.published, 100);
        assert_eq!(
            stats.evicted,
            EvictCounts {
                no_consumer: 100,
                ..EvictCounts::default()
            },
            "{policy}"
        );
        // The snapshot's slot and the one being written, alternately.
        assert_eq!(stats.slots_written, 2, "{policy}: {stats:#?}");
        assert_eq!(stats.slots, 8);

        // The first consumer call opens the queue; earlier frames were never queued.
        assert!(consumer.pop_oldest().is_none());
        assert!(reader.stats().queue_open);
        let committed: Vec<u64> = (0..3)
            .map(|_| write(&mut producer, base).unwrap())
            .inspect(|c| assert!(c.is_queued(), "{policy}: {c:?}"))
            .map(|c| c.seq())
            .collect();
        assert_eq!(queued(&mut consumer), committed, "{policy}");
        let stats = reader.stats();
        assert_eq!(
            stats.published,
            stats.size as u64 + stats.taken + stats.cleared + stats.evicted.total()
        );
        assert_eq!(stats.evicted.no_consumer, 100);
    }
}

#[test]
fn on_demand_queue_uses_one_more_slot_per_frame_readers_hold() {
    let (mut producer, consumer, reader) = on_demand_slab(DropPolicy::Latest);
    let base = Instant::now();
    let mut held = Vec::new();
    for round in 0..50 {
        let _ = write(&mut producer, base).unwrap();
        // Readers hold the two newest frames they saw.
        held.push(reader.latest().unwrap());
        if held.len() > 2 {
            held.remove(0);
        }
        assert!(held.iter().all(|frame| frame.seq() <= round));
        held.iter().for_each(assert_intact);
    }
    // Two held, the snapshot (one of them) and the writer's: at most 3 at once.
    assert_eq!(reader.stats().slots_written, 3, "{:#?}", reader.stats());
    assert_eq!(distinct_slots(&held), 2);
    // `stats` and `reader` do not open the queue.
    let _ = consumer.stats();
    let _ = consumer.reader();
    assert!(!reader.stats().queue_open);
    consumer.open_queue();
    assert!(write(&mut producer, base).unwrap().is_queued());
}

#[test]
fn a_queue_in_use_rotates_through_every_slot() {
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Latest, 4, 2);
    let base = Instant::now();
    assert!(reader.stats().queue_open);
    for _ in 0..20 {
        let _ = write(&mut producer, base).unwrap();
    }
    assert_eq!(reader.stats().slots_written, 8);
    assert_eq!(queued(&mut consumer).len(), 4);
}

#[test]
fn latest_cache_lends_the_newest_frame() {
    let (mut producer, _consumer, reader) = slab(DropPolicy::Latest, 2, 1);
    let base = Instant::now();
    let mut cache = reader.cache();
    assert!(cache.latest().is_none());
    let first = write(&mut producer, base).unwrap().seq();
    assert_eq!(cache.latest().map(Frame::seq), Some(first));
    let held = cache.latest().cloned().unwrap();
    assert!(held.same_frame(&reader.latest().unwrap()));
    for _ in 0..10 {
        let seq = write(&mut producer, base).unwrap().seq();
        let lent = cache.latest().unwrap();
        assert_eq!(lent.seq(), seq);
        assert_intact(lent);
        assert_eq!(lent.seq(), reader.latest().unwrap().seq());
    }
    // The cache holds one frame: released, the slab has every spare slot again.
    cache.release();
    drop(held);
    let stats = reader.stats();
    assert_eq!(stats.dropped.no_free_slot, 0);
    assert_eq!(
        cache.latest().map(Frame::seq),
        reader.latest().map(|f| f.seq())
    );
}
