//! Steady-state frame traffic allocates nothing: write + commit + latest +
//! latest_after + pop, counted by a global allocator that counts this thread's
//! allocations only (other test threads cannot disturb the count).

use rtsp_ingest::slab::{self, DropPolicy, FrameInfo, FrameLayout, PixelFormat, SlabConfig};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::allocations;

fn traffic(policy: DropPolicy) {
    let layout = FrameLayout::new(64, 48, PixelFormat::Yuv420p).unwrap();
    let (mut producer, mut consumer, reader) =
        slab::new(SlabConfig::new(layout).capacity(4).policy(policy)).unwrap();
    let mut run = |frames: u64| {
        let mut popped = 0u64;
        for n in 0..frames {
            if let Ok(mut slot) = producer.begin() {
                let [y, u, v] = slot.planes_mut();
                y[0] = n as u8;
                u[0] = n as u8;
                v[0] = n as u8;
                let _ = slot.commit(FrameInfo::received_now());
            }
            let latest = reader.latest().expect("a committed frame");
            assert!(reader.latest_after(latest.seq()).is_none());
            if n % 3 == 0 {
                popped += u64::from(consumer.pop_oldest().is_some());
            }
            if n % 7 == 0 {
                let _ = consumer.pop_latest();
            }
        }
        popped
    };
    // Warm up: first use of arc-swap on this thread registers its debt node.
    run(64);
    let before = allocations();
    let popped = run(10_000);
    let after = allocations();
    assert!(popped > 0, "{policy}: the consumer received frames");
    assert_eq!(after - before, 0, "{policy}: allocations in steady state");
}

#[test]
fn steady_state_frame_traffic_allocates_nothing() {
    for policy in DropPolicy::ALL {
        traffic(policy);
    }
}

#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    let boxed = std::hint::black_box(Box::new(7u64));
    assert_eq!(allocations() - before, 1);
    drop(boxed);
}
