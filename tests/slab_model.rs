//! The slab against its single-threaded model (`support/slab_ops.rs`): random op
//! sequences from proptest, fixed sequences for every configuration, and exact
//! expected values for the policies' drop accounting and edge cases.

#[path = "support/slab_ops.rs"]
mod slab_ops;

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use rtsp_ingest::slab::{
    self, Committed, Consumer, DropCounts, DropPolicy, DropReason, Frame, FrameLayout, PixelFormat,
    Producer, Reader, Rejected, SlabConfig,
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
                let summary = run(Scenario {
                    policy,
                    capacity,
                    reader_slots,
                    width: 1 + (seed % 130) as u32,
                    height: 1 + (seed % 3) as u32,
                    ops,
                });
                totals.entry(policy).or_default().push(summary);
            }
        }
    }
    // The generator reaches every outcome the model distinguishes.
    let sum =
        |policy, get: &dyn Fn(&Summary) -> u64| -> u64 { totals[&policy].iter().map(get).sum() };
    for policy in DropPolicy::ALL {
        assert!(sum(policy, &|s| s.stats.written) > 1000, "{policy}");
        assert!(
            sum(policy, &|s| s.stats.dropped.no_free_slot) > 10,
            "{policy}"
        );
        assert!(sum(policy, &|s| s.committed_while_open) > 10, "{policy}");
    }
    assert!(sum(DropPolicy::Latest, &|s| s.stats.dropped.overwritten) > 100);
    assert!(sum(DropPolicy::DropNewest, &|s| s.stats.dropped.queue_full) > 100);
    assert!(sum(DropPolicy::Sample, &|s| s.stats.dropped.sampled_out) > 100);
    assert!(sum(DropPolicy::Sample, &|s| s.spaced_checks) > 100);
    assert!(
        totals[&DropPolicy::Sample]
            .iter()
            .map(|s| s.max_stride)
            .max()
            >= Some(8)
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

// --- Sample -----------------------------------------------------------------------

/// Capacity 8, 1000 frames, no consumer. The stride doubles when the queue is
/// full and the next admitted frame arrives: at seq 8 (1→2), 16, 32, 64, 128, 256
/// and 512 (64→128). Written: 0..=7, then 4 per stride (8..=14 by 2, 16..=28 by 4,
/// ..., 512..=896 by 128): 8 + 7 × 4 = 36. Each doubling thins 4 queued frames
/// (28 in all), so every frame not queued was sampled out: 1000 − 8 = 992.
#[test]
fn sample_capacity_8_keeps_1000_frames_evenly_spaced() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Sample, 8, 2);
    let mut written = Vec::new();
    for _ in 0..1000 {
        match write(&mut producer, base) {
            Ok(Committed::Queued { seq }) => written.push(seq),
            Ok(other) => panic!("Sample committed {other:?}"),
            Err(Rejected { reason, .. }) => assert_eq!(reason, DropReason::SampledOut),
        }
    }
    let expected_written: Vec<u64> = (0..8)
        .chain((1..=7).flat_map(|k| (0..4).map(move |i| (8 << (k - 1)) + i * (2 << (k - 1)))))
        .collect();
    assert_eq!(written, expected_written);
    assert_eq!(written.len(), 36);

    let queue = consumer.read_all();
    assert_eq!(seqs(&queue), (0..8).map(|k| k * 128).collect::<Vec<_>>());
    queue.iter().for_each(assert_intact);
    drop(queue);

    let stats = reader.stats();
    assert_eq!((stats.offered, stats.written, stats.size), (1000, 36, 8));
    assert_eq!(
        stats.dropped,
        DropCounts {
            sampled_out: 992,
            ..DropCounts::default()
        }
    );
    // Rejected at begin (1000 − 36) plus thinned from the queue (36 − 8).
    assert_eq!(stats.dropped.sampled_out, stats.offered - stats.size as u64);
    // The latest snapshot is the last admitted frame, not the last offered one.
    assert_eq!(reader.latest().unwrap().seq(), 896);

    // The stride is now 128: 1000 ..= 1023 are refused, and 1024 fills the queue
    // past 8, so the stride doubles to 256 (thinning 128, 384, 640, 896) and
    // 1024, on the new stride, is queued.
    for _ in 1000..1024 {
        assert_eq!(
            write(&mut producer, base).unwrap_err().reason,
            DropReason::SampledOut
        );
    }
    assert_eq!(
        write(&mut producer, base),
        Ok(Committed::Queued { seq: 1024 })
    );
    assert_eq!(queued(&mut consumer), [0, 256, 512, 768, 1024]);
    assert_eq!(reader.stats().dropped.sampled_out, 1025 - 5);
}

/// The same shape for every capacity and several lengths: the queue is
/// `0, s, 2s, ...` for a power-of-two stride `s`, no admitted frame after the last
/// queued one was missed, and (with no consumer) every frame not queued was
/// sampled out.
#[test]
fn sample_is_evenly_spaced_for_every_capacity() {
    let base = Instant::now();
    for capacity in 1..=8 {
        for frames in [1_u64, 2, 7, 8, 9, 15, 16, 17, 100, 1000, 1023, 1024, 1025] {
            let (mut producer, mut consumer, reader) = slab(DropPolicy::Sample, capacity, 0);
            for _ in 0..frames {
                let _ = write(&mut producer, base);
            }
            let queue = queued(&mut consumer);
            let what = format!("capacity {capacity}, {frames} frames: {queue:?}");
            assert_eq!(queue[0], 0, "{what}");
            // With two or more queued, the second is the stride.
            if let Some(&stride) = queue.get(1) {
                assert!(stride.is_power_of_two(), "{what}");
                let even: Vec<u64> = (0..queue.len() as u64).map(|k| k * stride).collect();
                assert_eq!(queue, even, "{what}");
                // No admitted frame after the last queued one was missed.
                assert!(queue.last().unwrap() + stride >= frames, "{what}");
            }
            assert!(queue.len() <= capacity, "{what}");
            if frames >= capacity as u64 && capacity > 1 {
                // At least half the queue stays in use once it has filled.
                assert!(queue.len() * 2 >= capacity, "{what}");
            }
            let stats = reader.stats();
            assert_eq!(stats.offered, frames);
            assert_eq!(
                stats.dropped.sampled_out,
                frames - queue.len() as u64,
                "{what}"
            );
            assert_eq!(stats.dropped.total(), stats.dropped.sampled_out, "{what}");
        }
    }
}

/// Capacity 3 (odd): the doubling that fills the queue thins out the frame that
/// triggered it. Written: 0, 1, 2, 4, 8, 16, 32, 64; six doublings (at 3, 6, 12,
/// 24, 48, 96) thin 1, 2, 4, 8, 16, 32 in turn, leaving `[0, 64]`.
#[test]
fn sample_capacity_3_exact() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Sample, 3, 0);
    let written: Vec<u64> = (0..100)
        .filter_map(|_| write(&mut producer, base).ok().map(|c| c.seq()))
        .collect();
    assert_eq!(written, [0, 1, 2, 4, 8, 16, 32, 64]);
    assert_eq!(queued(&mut consumer), [0, 64]);
    let stats = reader.stats();
    assert_eq!((stats.offered, stats.written), (100, 8));
    assert_eq!(stats.dropped.sampled_out, 92 + 6);
    assert_eq!(reader.latest().unwrap().seq(), 64);
}

/// Capacity 1 keeps frame 0 for ever: every later admitted frame doubles the
/// stride and is thinned, so nothing after frame 0 is ever written (and so the
/// latest snapshot stays frame 0).
#[test]
fn sample_capacity_1_keeps_only_the_first_frame() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Sample, 1, 0);
    assert_eq!(
        write(&mut producer, base).unwrap(),
        Committed::Queued { seq: 0 }
    );
    for _ in 1..2000 {
        assert_eq!(
            write(&mut producer, base).unwrap_err().reason,
            DropReason::SampledOut
        );
    }
    assert_eq!(queued(&mut consumer), [0]);
    assert_eq!(reader.stats().written, 1);
    assert_eq!(reader.stats().dropped.sampled_out, 1999);
    assert_eq!(reader.latest().unwrap().seq(), 0);
}

/// `clear` restarts sampling at the next frame with stride 1.
#[test]
fn sample_restarts_after_clear() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Sample, 2, 0);
    for _ in 0..10 {
        let _ = write(&mut producer, base);
    }
    // Doublings at 2 (thins 1), 4 (thins 2), 8 (thins 4); 3, 5, 6, 7, 9 refused.
    assert_eq!(queued(&mut consumer), [0, 8]);
    assert_eq!(reader.stats().dropped.sampled_out, 8);
    assert_eq!(consumer.clear(), 2);
    assert_eq!(reader.latest().unwrap().seq(), 8, "clear keeps latest");
    assert_eq!(reader.stats().dropped.total(), 8, "clear is not a drop");

    assert_eq!(
        write(&mut producer, base).unwrap(),
        Committed::Queued { seq: 10 }
    );
    assert_eq!(
        write(&mut producer, base).unwrap(),
        Committed::Queued { seq: 11 }
    );
    // Full: stride 2 from origin 10 thins 11 and admits 12.
    assert_eq!(
        write(&mut producer, base).unwrap(),
        Committed::Queued { seq: 12 }
    );
    assert_eq!(queued(&mut consumer), [10, 12]);
    assert_eq!(reader.stats().dropped.sampled_out, 9);
}

/// A frame begun before a `clear` and committed after it predates the new
/// origin: it is queued, then thinned by the next doubling.
#[test]
fn sample_frame_straddling_clear_is_thinned_by_next_doubling() {
    let base = Instant::now();
    let (mut producer, mut consumer, reader) = slab(DropPolicy::Sample, 2, 0);
    let _ = write(&mut producer, base).unwrap();
    let _ = write(&mut producer, base).unwrap();
    let mut writer = producer.begin().unwrap(); // seq 2: doubling thins 1
    assert_eq!(writer.seq(), 2);
    writer.data_mut().fill(0);
    assert_eq!(consumer.clear(), 1);
    assert_eq!(
        writer.commit(info_for(2, base)),
        Committed::Queued { seq: 2 }
    );
    assert_eq!(
        write(&mut producer, base).unwrap(),
        Committed::Queued { seq: 3 }
    ); // origin 3
    assert_eq!(queued(&mut consumer), [2, 3]);
    assert_eq!(
        write(&mut producer, base).unwrap_err(),
        Rejected {
            seq: 4,
            reason: DropReason::SampledOut
        }
    );
    assert_eq!(queued(&mut consumer), [3]);
    assert_eq!(reader.stats().dropped.sampled_out, 3); // 1, 2 (thinned) and 4
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
    assert_eq!((stats.offered, stats.written, stats.size), (10, 10, 4));
    assert_eq!(
        stats.dropped,
        DropCounts {
            overwritten: 6,
            ..DropCounts::default()
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
            assert_eq!(
                result,
                Err(Rejected {
                    seq,
                    reason: DropReason::QueueFull
                })
            );
        }
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
        Err(Rejected {
            seq: 12,
            reason: DropReason::QueueFull
        })
    );
    assert_eq!(queued(&mut consumer), [2, 3, 10, 11]);
    assert_eq!(reader.latest().unwrap().seq(), 11);
    let stats = reader.stats();
    assert_eq!((stats.offered, stats.written), (13, 6));
    assert_eq!(
        stats.dropped,
        DropCounts {
            queue_full: 7,
            ..DropCounts::default()
        }
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
                for seq in 0..slots {
                    assert_eq!(
                        write(&mut producer, base),
                        Ok(Committed::Queued { seq }),
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
                assert_eq!(
                    write(&mut producer, base),
                    Ok(Committed::Queued { seq: slots + 1 })
                );
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
                assert_eq!(stats.written, slots + 1);
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
    assert_eq!(
        stats.dropped,
        DropCounts {
            overwritten: 1,
            ..DropCounts::default()
        }
    );
    assert_eq!((stats.offered, stats.written, stats.size), (5, 5, 0));
}

/// An abandoned writer consumes its seq, counts nothing and frees its slot.
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
        assert_eq!((stats.offered, stats.written), (20, 1));
        assert_eq!(stats.dropped.total(), 0, "{policy}");
        assert_eq!(
            write(&mut producer, base),
            Ok(Committed::Queued { seq: 20 }),
            "{policy}"
        );
    }
}
