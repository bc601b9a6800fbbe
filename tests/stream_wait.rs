//! Blocking for frames through a running stream and the manager, against the
//! camera simulator: waiting before the first connection, a loop that sees
//! every frame it gets once and in order, and stop/remove waking waiters.

use std::thread;
use std::time::{Duration, Instant};

use rtsp_ingest::manager::{ManagerConfig, StreamManager};
use rtsp_ingest::simulate::{Simulator, SimulatorConfig};
use rtsp_ingest::stream::{Stream, StreamConfig};

fn simulator() -> Simulator {
    Simulator::start(SimulatorConfig::default().addr("127.0.0.1:0".parse().unwrap())).unwrap()
}

fn config(url: &str) -> StreamConfig {
    StreamConfig::new(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(3))
}

#[test]
fn a_wait_loop_gets_newer_frames_from_the_first_on() {
    let simulator = simulator();
    // Called before the stream has connected: waits for the slab, then a frame.
    let stream = Stream::start("cam", config(&simulator.url(0))).unwrap();
    let first = stream
        .wait_latest(Duration::from_secs(15))
        .expect("a first frame");
    let mut last = first.seq();
    drop(first);
    let mut got = 0;
    while got < 25 {
        let frame = stream
            .wait_after(last, Duration::from_secs(5))
            .expect("the camera sends 25 fps");
        assert!(frame.seq() > last, "{} after {last}", frame.seq());
        last = frame.seq();
        got += 1;
    }
    // Nothing newer than the newest: a short wait times out.
    let newest = stream.latest().unwrap().seq();
    assert!(stream
        .wait_after(newest + 1_000, Duration::from_millis(50))
        .is_none());
}

#[test]
fn stop_wakes_every_waiter() {
    let simulator = simulator();
    let mut stream = Stream::start("cam", config(&simulator.url(0))).unwrap();
    let seq = stream.wait_latest(Duration::from_secs(15)).unwrap().seq();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let frames = stream.frames();
            thread::spawn(move || {
                // Far in the future: only a stop can end this wait.
                let begun = Instant::now();
                let frame = frames.wait_after(seq + 1_000_000, Duration::MAX);
                (frame.is_none(), begun.elapsed())
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let stopped = Instant::now();
    assert!(stream.stop());
    for waiter in waiters {
        let (none, _) = waiter.join().unwrap();
        assert!(none);
    }
    assert!(stopped.elapsed() < Duration::from_secs(5));
}

#[test]
fn stop_wakes_a_waiter_before_any_frame() {
    // A port nobody listens on: the stream never builds its slab.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut stream =
        Stream::start("dead", config(&format!("rtsp://127.0.0.1:{port}/live"))).unwrap();
    let shared = stream.frames();
    let waiter = thread::spawn(move || {
        let begun = Instant::now();
        (shared.wait_latest(Duration::MAX).is_none(), begun.elapsed())
    });
    thread::sleep(Duration::from_millis(200));
    assert!(stream.stop());
    let (none, waited) = waiter.join().unwrap();
    assert!(none);
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn manager_waits_per_stream_and_remove_wakes() {
    let simulator = simulator();
    let manager = StreamManager::new(ManagerConfig::default());
    assert!(manager
        .wait_latest("nope", Duration::from_secs(5))
        .is_none());
    manager.add("cam", config(&simulator.url(0))).unwrap();
    let first = manager.wait_latest("cam", Duration::from_secs(15)).unwrap();
    let next = manager
        .wait_after("cam", first.seq(), Duration::from_secs(5))
        .unwrap();
    assert!(next.seq() > first.seq());
    let seq = next.seq();
    drop((first, next));
    thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let begun = Instant::now();
            let frame = manager.wait_after("cam", seq + 1_000_000, Duration::MAX);
            (frame.is_none(), begun.elapsed())
        });
        thread::sleep(Duration::from_millis(200));
        manager.remove("cam").unwrap();
        let (none, waited) = waiter.join().unwrap();
        assert!(none);
        assert!(waited < Duration::from_secs(5), "{waited:?}");
    });
    manager.shutdown();
}
