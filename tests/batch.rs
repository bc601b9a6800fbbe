//! Batches across cameras (`StreamManager::batcher`): `wait_batch` returns as
//! soon as every stream has a new fresh frame or at the deadline, leaves out
//! stale frames and dead streams with their reason, never hands out a frame
//! twice; `next_ready` takes streams in turn; neither allocates in steady
//! state. Against the camera simulator serving three cameras.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use counting_alloc::allocations;
use rtsp_ingest::manager::{ManagerConfig, Missing, StreamManager};
use rtsp_ingest::simulate::{Simulator, SimulatorConfig};
use rtsp_ingest::stream::StreamConfig;

fn cameras(count: usize) -> Simulator {
    Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .cameras(count),
    )
    .unwrap()
}

fn config(url: &str) -> StreamConfig {
    StreamConfig::new(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(3))
}

fn manager_for(simulator: &Simulator, ids: &[&str]) -> StreamManager {
    let manager = StreamManager::new(ManagerConfig::default());
    for (index, id) in ids.iter().enumerate() {
        manager.add(id, config(&simulator.url(index))).unwrap();
    }
    for id in ids {
        assert!(
            manager.wait_latest(id, Duration::from_secs(20)).is_some(),
            "{id} never published"
        );
    }
    manager
}

/// A port with nobody behind it.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    format!("rtsp://127.0.0.1:{port}/live")
}

#[test]
fn every_stream_new_frames_never_twice() {
    let simulator = cameras(3);
    let ids = ["a", "b", "c"];
    let manager = manager_for(&simulator, &ids);
    let mut batcher = manager.batcher(&ids, Duration::from_secs(1));
    let mut last: HashMap<String, u64> = HashMap::new();
    for round in 0..20 {
        let batch = batcher.wait_batch(Duration::from_secs(5));
        assert_eq!(
            batch.len(),
            3,
            "round {round}: {:?}",
            batch.missing().collect::<Vec<_>>()
        );
        let order: Vec<&str> = batch.entries().map(|(id, _)| id).collect();
        assert_eq!(order, ids, "in the order asked");
        for (id, frame, age) in batch.frames() {
            assert!(age <= Duration::from_secs(1));
            if let Some(&previous) = last.get(id) {
                assert!(
                    frame.seq() > previous,
                    "{id}: {} after {previous}",
                    frame.seq()
                );
            }
            last.insert(id.to_owned(), frame.seq());
        }
    }
    manager.shutdown();
}

#[test]
fn the_deadline_returns_what_there_is_with_reasons() {
    let simulator = cameras(2);
    let manager = manager_for(&simulator, &["a", "b"]);
    manager.add("dead", config(&dead_url())).unwrap();
    let mut batcher = manager.batcher(&["a", "dead", "b", "ghost"], Duration::from_secs(1));
    let timeout = Duration::from_millis(300);
    let begun = Instant::now();
    let batch = batcher.wait_batch(timeout);
    let waited = begun.elapsed();
    assert!(
        waited >= timeout,
        "returned before the deadline: {waited:?}"
    );
    assert!(waited < timeout + Duration::from_secs(2), "{waited:?}");
    let frames: Vec<&str> = batch.frames().map(|(id, _, _)| id).collect();
    assert_eq!(frames, ["a", "b"]);
    let missing: Vec<(&str, Missing)> =
        batch.missing().map(|(id, why)| (id, why.clone())).collect();
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert_eq!(missing[0].0, "dead");
    assert!(
        matches!(missing[0].1, Missing::NotStreaming(state) if state != "streaming"),
        "{missing:?}"
    );
    assert_eq!(missing[1], ("ghost", Missing::UnknownStream));

    // Right away again: a and b have no newer frame yet, so the batcher waits
    // for them, and never repeats a frame.
    let first: HashMap<String, u64> = batch
        .frames()
        .map(|(id, frame, _)| (id.to_owned(), frame.seq()))
        .collect();
    let batch = batcher.wait_batch(Duration::from_secs(5));
    for (id, frame, _) in batch.frames() {
        assert!(frame.seq() > first[id]);
    }
    manager.shutdown();
}

#[test]
fn a_paused_wait_hands_out_nothing_and_resumes_the_same_batch() {
    let simulator = cameras(1);
    let manager = manager_for(&simulator, &["a"]);
    manager.add("dead", config(&dead_url())).unwrap();
    let mut batcher = manager.batcher(&["a", "dead"], Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_millis(600);
    // "dead" never has a frame: every pause before the deadline returns None.
    let mut pauses = 0;
    let batch = loop {
        let pause = Instant::now() + Duration::from_millis(50);
        if let Some(batch) = batcher.wait_batch_until(Some(deadline), pause) {
            break batch;
        }
        assert!(Instant::now() >= pause, "returned None before the pause");
        assert!(
            Instant::now() < deadline,
            "returned None after the deadline"
        );
        pauses += 1;
    };
    assert!(
        Instant::now() >= deadline,
        "the batch came before its deadline"
    );
    assert!(pauses >= 3, "only {pauses} pauses in 600 ms");
    let handed: Vec<(&str, u64)> = batch
        .frames()
        .map(|(id, frame, _)| (id, frame.seq()))
        .collect();
    assert_eq!(handed.len(), 1, "{:?}", batch.missing().collect::<Vec<_>>());
    let (_, seq) = handed[0];
    // Nothing was handed out at the pauses: the batch is a's newest frame,
    // and the next batch only has a newer one.
    let batch = batcher.wait_batch(Duration::from_secs(5));
    let next: Vec<u64> = batch.frames().map(|(_, frame, _)| frame.seq()).collect();
    assert!(next.iter().all(|&next| next > seq), "{next:?} after {seq}");
    manager.shutdown();
}

#[test]
fn stale_frames_are_left_out() {
    let simulator = cameras(2);
    let manager = manager_for(&simulator, &["a", "b"]);
    manager.stop("b").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut batcher = manager.batcher(&["a", "b"], Duration::from_millis(100));
    let begun = Instant::now();
    let batch = batcher.wait_batch(Duration::from_secs(10));
    // b is stopped: not waited for, so the batch comes with a's next frame.
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "{:?}",
        begun.elapsed()
    );
    let frames: Vec<&str> = batch.frames().map(|(id, _, _)| id).collect();
    assert_eq!(frames, ["a"]);
    let missing: Vec<_> = batch.missing().collect();
    assert!(
        matches!(missing[..], [("b", Missing::TooOld(age))] if *age >= Duration::from_millis(100)),
        "{missing:?}"
    );
    manager.shutdown();
}

#[test]
fn next_ready_takes_streams_in_turn() {
    let simulator = cameras(3);
    let ids = ["a", "b", "c"];
    let manager = manager_for(&simulator, &ids);
    let mut batcher = manager.batcher(&ids, Duration::from_secs(1));
    let mut seen = HashSet::new();
    let mut per_stream: HashMap<String, Vec<u64>> = HashMap::new();
    for _ in 0..90 {
        let (id, frame) = batcher
            .next_ready(Duration::from_secs(5))
            .expect("frames keep landing");
        assert!(
            seen.insert((id.to_owned(), frame.seq())),
            "{id} {} twice",
            frame.seq()
        );
        per_stream
            .entry(id.to_owned())
            .or_default()
            .push(frame.seq());
    }
    for id in ids {
        let seqs = &per_stream[id];
        assert!(
            seqs.windows(2).all(|pair| pair[0] < pair[1]),
            "{id}: {seqs:?}"
        );
        // Three cameras at the same rate, taken in turn: each gets its share.
        assert!(seqs.len() >= 20, "{id} starved: {per_stream:?}");
    }
    // Nothing but a stopped stream: times out.
    for id in ids {
        manager.stop(id).unwrap();
    }
    let mut batcher = manager.batcher(&ids, Duration::from_secs(1));
    // Each stream's last frame at most once, then nothing more.
    let last: Vec<String> = std::iter::from_fn(|| {
        batcher
            .next_ready(Duration::from_millis(10))
            .map(|(id, _)| id.to_owned())
    })
    .take(4)
    .collect();
    assert!(last.len() <= 3, "{last:?}");
    let begun = Instant::now();
    assert!(batcher.next_ready(Duration::from_millis(200)).is_none());
    assert!(begun.elapsed() >= Duration::from_millis(200));
    manager.shutdown();
}

#[test]
fn batches_allocate_nothing_in_steady_state() {
    let simulator = cameras(2);
    let ids = ["a", "b"];
    let manager = manager_for(&simulator, &ids);
    let mut batcher = manager.batcher(&ids, Duration::from_secs(1));
    // Warm up: first use of arc-swap and the condvars on this thread.
    for _ in 0..10 {
        let _ = batcher.wait_batch(Duration::from_secs(5));
        let _ = batcher.next_ready(Duration::from_secs(5));
    }
    let before = allocations();
    let mut frames = 0;
    for _ in 0..25 {
        frames += batcher.wait_batch(Duration::from_secs(5)).len();
        frames += usize::from(batcher.next_ready(Duration::from_secs(5)).is_some());
    }
    let after = allocations();
    assert!(frames >= 50, "{frames}");
    assert_eq!(after - before, 0, "allocations while batching");
    manager.shutdown();
}
