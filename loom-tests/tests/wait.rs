#![cfg(rtsp_ingest_loom)]
//! The wait/notify protocol of `Reader::wait_after` (src/slab/notify.rs): a
//! waiter registers, re-checks, then sleeps under the lock while the epoch is
//! unchanged; the producer publishes, then adds an epoch and notifies if it saw
//! a waiter. Loom explores both orders of registration and publication (and
//! every interleaving in between): a lost wake-up leaves the waiter asleep for
//! ever, which loom reports as a deadlock (its timed waits never time out).

use std::time::Duration;

use loom::thread;
use rtsp_ingest::slab::{self, DropPolicy, FrameInfo, FrameLayout, PixelFormat, SlabConfig};

fn slab(policy: DropPolicy) -> (slab::Producer, slab::Consumer, slab::Reader) {
    let layout = FrameLayout::new(2, 1, PixelFormat::Gray8).unwrap();
    slab::new(
        SlabConfig::new(layout)
            .capacity(1)
            .policy(policy)
            .reader_slots(2),
    )
    .unwrap()
}

fn publish(producer: &mut slab::Producer) -> u64 {
    let mut writer = producer.begin().expect("a free slot");
    let seq = writer.seq();
    writer.data_mut().fill(seq as u8);
    writer.commit(FrameInfo::received_now()).seq()
}

#[test]
fn a_publish_wakes_a_waiter_in_either_order() {
    loom::model(|| {
        let (mut producer, _consumer, reader) = slab(DropPolicy::Latest);
        let waiter = thread::spawn(move || {
            let frame = reader
                .wait_latest(Duration::MAX)
                .expect("woken by the publish");
            assert!(frame.data().iter().all(|&byte| byte == frame.seq() as u8));
            frame.seq()
        });
        let seq = publish(&mut producer);
        assert_eq!(waiter.join().unwrap(), seq);
        drop(producer);
    });
}

#[test]
fn a_waiter_for_a_newer_frame_sees_the_second_publish() {
    loom::model(|| {
        let (mut producer, _consumer, reader) = slab(DropPolicy::DropNewest);
        let first = publish(&mut producer);
        let waiter = thread::spawn(move || {
            reader
                .wait_after(first, Duration::MAX)
                .expect("woken by the second publish")
                .seq()
        });
        let second = publish(&mut producer);
        assert_eq!(waiter.join().unwrap(), second);
    });
}

#[test]
fn two_waiters_both_wake() {
    loom::model(|| {
        let (mut producer, _consumer, reader) = slab(DropPolicy::Sample);
        let other = reader.clone();
        let a = thread::spawn(move || reader.wait_latest(Duration::MAX).map(|f| f.seq()));
        let b = thread::spawn(move || other.wait_latest(Duration::MAX).map(|f| f.seq()));
        let seq = publish(&mut producer);
        assert_eq!(a.join().unwrap(), Some(seq));
        assert_eq!(b.join().unwrap(), Some(seq));
    });
}

#[test]
fn the_producer_going_away_wakes_the_waiter() {
    loom::model(|| {
        let (producer, _consumer, reader) = slab(DropPolicy::Latest);
        let waiter = thread::spawn(move || reader.wait_latest(Duration::MAX).is_none());
        drop(producer);
        assert!(waiter.join().unwrap());
    });
}
