//! Wake-up latency of a consumer waiting for the next frame: from the
//! producer's `commit` to the waiting consumer running again, p50 / p99 / max,
//! for three ways of waiting, in one run:
//!
//! * `wait_after`: the slab's `Reader::wait_after` (blocks on the slab's notifier);
//! * `poll_1ms`: `latest_after` plus `sleep(1 ms)` when nothing is new, the loop
//!   users write without a blocking call;
//! * `mutex_condvar`: a `Mutex<Option<u64>>` + `Condvar` channel, the textbook
//!   blocking hand-off (the producer locks and notifies on every frame).
//!
//! Each producer publishes a frame every 2 ms (a little jitter, so frames do
//! not line up with the poller's sleeps), stamping `Instant::now()` just before
//! the commit; the consumer takes the difference when it has the frame.
//! `--load N` runs N simulated 640x360 H.264 cameras decoded by the engine
//! meanwhile (the machine busy as in production). Last, how late a
//! `wait_after` with nothing to wake it returns after its timeout.
//!
//! Run: `cargo bench --bench wake -- [--frames N] [--load N]`.

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rtsp_ingest::manager::{ManagerConfig, StreamManager};
use rtsp_ingest::simulate::{Simulator, SimulatorConfig};
use rtsp_ingest::slab::{
    self, FrameInfo, FrameLayout, PixelFormat, Producer, SlabConfig, StageTimes,
};
use rtsp_ingest::stream::StreamConfig;

const PERIOD: Duration = Duration::from_millis(2);

fn args() -> (usize, usize) {
    let mut frames = 2000;
    let mut load = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--frames" => {
                frames = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--frames N")
            }
            "--load" => load = args.next().and_then(|v| v.parse().ok()).expect("--load N"),
            _ => {} // cargo bench passes --bench
        }
    }
    (frames, load)
}

/// Microseconds at the quantiles of `samples`.
fn summary(name: &str, mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    format!(
        "{name:<14} n={:<6} p50 {:>8.1} us  p99 {:>8.1} us  max {:>9.1} us",
        samples.len(),
        us(at(0.5)),
        us(at(0.99)),
        us(*samples.last().unwrap())
    )
}

fn slab() -> (Producer, slab::Reader) {
    let layout = FrameLayout::new(64, 64, PixelFormat::Gray8).unwrap();
    let (producer, _consumer, reader) =
        slab::new(SlabConfig::new(layout).capacity(4).reader_slots(2)).unwrap();
    (producer, reader)
}

fn publish(producer: &mut Producer) {
    let writer = producer.begin().expect("a free slot");
    let stamp = Instant::now();
    let _ = writer.commit(FrameInfo {
        stages: StageTimes {
            decoded: None,
            converted: Some(stamp),
        },
        ..FrameInfo::received_now()
    });
}

/// Publishes `frames` frames at [`PERIOD`] with jitter.
fn produce(mut producer: Producer, frames: usize) {
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..frames {
        thread::sleep(PERIOD + Duration::from_micros(rng.u64(0..700)));
        publish(&mut producer);
    }
}

fn wait_after(frames: usize) -> Vec<Duration> {
    let (producer, reader) = slab();
    let consumer = thread::spawn(move || {
        let mut samples = Vec::with_capacity(frames);
        let mut last = None;
        loop {
            let frame = match last {
                None => reader.wait_latest(Duration::from_secs(5)),
                Some(seq) => reader.wait_after(seq, Duration::from_secs(5)),
            };
            let Some(frame) = frame else { break };
            samples.push(frame.converted_at().unwrap().elapsed());
            last = Some(frame.seq());
        }
        samples
    });
    produce(producer, frames);
    consumer.join().unwrap()
}

fn poll_1ms(frames: usize) -> Vec<Duration> {
    let (producer, reader) = slab();
    let consumer = thread::spawn(move || {
        let mut samples = Vec::with_capacity(frames);
        let mut last = None;
        while !reader.is_closed() {
            let frame = match last {
                None => reader.latest(),
                Some(seq) => reader.latest_after(seq),
            };
            match frame {
                Some(frame) => {
                    samples.push(frame.converted_at().unwrap().elapsed());
                    last = Some(frame.seq());
                }
                None => thread::sleep(Duration::from_millis(1)),
            }
        }
        samples
    });
    produce(producer, frames);
    consumer.join().unwrap()
}

fn mutex_condvar(frames: usize) -> Vec<Duration> {
    type Slot = (Mutex<(Option<Instant>, bool)>, Condvar);
    let channel: Arc<Slot> = Arc::new((Mutex::new((None, false)), Condvar::new()));
    let theirs = Arc::clone(&channel);
    let consumer = thread::spawn(move || {
        let (lock, signal) = &*theirs;
        let mut samples = Vec::with_capacity(frames);
        let mut guard = lock.lock().unwrap();
        loop {
            if let Some(stamp) = guard.0.take() {
                samples.push(stamp.elapsed());
            } else if guard.1 {
                break;
            } else {
                guard = signal.wait(guard).unwrap();
            }
        }
        samples
    });
    let (lock, signal) = &*channel;
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..frames {
        thread::sleep(PERIOD + Duration::from_micros(rng.u64(0..700)));
        lock.lock().unwrap().0 = Some(Instant::now());
        signal.notify_one();
    }
    lock.lock().unwrap().1 = true;
    signal.notify_one();
    consumer.join().unwrap()
}

/// How late `wait_after` returns after its timeout when no frame comes:
/// `rounds` waits of 5 ms on a slab nobody publishes to.
fn timeout_lateness(rounds: usize) -> Vec<Duration> {
    let (producer, reader) = slab();
    let timeout = Duration::from_millis(5);
    let late = (0..rounds)
        .map(|_| {
            let begun = Instant::now();
            assert!(reader.wait_after(u64::MAX, timeout).is_none());
            begun.elapsed().saturating_sub(timeout)
        })
        .collect();
    drop(producer);
    late
}

/// N simulated cameras decoded by the engine, for as long as the value lives.
fn background_load(cameras: usize) -> Option<(Simulator, StreamManager)> {
    if cameras == 0 {
        return None;
    }
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .cameras(cameras),
    )
    .expect("the simulator starts");
    let manager = StreamManager::new(ManagerConfig::default());
    for index in 0..cameras {
        manager
            .add(
                &format!("load{index}"),
                StreamConfig::new(&simulator.url(index)).unwrap(),
            )
            .unwrap();
    }
    for index in 0..cameras {
        manager.wait_latest(&format!("load{index}"), Duration::from_secs(30));
    }
    Some((simulator, manager))
}

fn main() {
    let (frames, load) = args();
    let loaded = background_load(load);
    println!(
        "wake-up latency, commit -> consumer running, {frames} frames every ~{PERIOD:?}, \
         {load} streams decoding meanwhile"
    );
    println!("{}", summary("wait_after", wait_after(frames)));
    println!("{}", summary("poll_1ms", poll_1ms(frames)));
    println!("{}", summary("mutex_condvar", mutex_condvar(frames)));
    println!(
        "{}   (past a 5 ms timeout)",
        summary("timeout_late", timeout_lateness(200))
    );
    if let Some((_simulator, manager)) = loaded {
        let decoded: u64 = manager.list().iter().map(|status| status.decoded).sum();
        println!("background: {decoded} frames decoded by {load} streams");
        manager.shutdown();
    }
}
