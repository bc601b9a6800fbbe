//! The stream manager against real RTSP servers on 127.0.0.1: many streams at
//! once, run-time control, the memory budget, batches, metrics, and bounded
//! removal and shutdown whatever the cameras do.

#[path = "support/dns_server.rs"]
mod dns_server;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;

use std::collections::HashMap;
use std::net::TcpListener;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dns_server::{DnsServer, Reply};
use fault_proxy::{Fault, FaultProxy};
use rtsp_fixture::{RtspServer, ServerConfig, MOUNT_H264, MOUNT_MJPEG};
use rtsp_ingest::manager::{ManagerConfig, Missing, StreamManager, METRIC_NAMES};
use rtsp_ingest::resolve::DnsConfig;
use rtsp_ingest::stream::{Backoff, StreamConfig, StreamState, StreamStatus};
use rtsp_ingest::ErrorKind;

fn config(url: &str) -> StreamConfig {
    StreamConfig::new(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
}

fn wait_all(
    manager: &StreamManager,
    timeout: Duration,
    what: &str,
    done: impl Fn(&StreamStatus) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let statuses = manager.list();
        if statuses.iter().all(&done) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {statuses:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn eight_streams_stream_in_real_time_and_match_their_event_log() {
    let server = RtspServer::start_looping();
    let manager = StreamManager::new(ManagerConfig::default());
    for n in 0..8 {
        let mount = if n % 2 == 0 { MOUNT_H264 } else { MOUNT_MJPEG };
        manager
            .add(&format!("cam{n}"), config(&server.url(mount)))
            .unwrap();
    }
    wait_all(&manager, Duration::from_secs(20), "8 streaming", |s| {
        s.state == StreamState::Streaming
    });
    let start: HashMap<String, u64> = manager
        .list()
        .into_iter()
        .map(|s| (s.id, s.published))
        .collect();
    let measure = Duration::from_secs(4);
    std::thread::sleep(measure);
    let cores = core_affinity::get_core_ids().unwrap().len();
    for status in manager.list() {
        let frames = status.published - start[&status.id];
        // 25 fps: 100 frames in 4 s, within scheduling slack.
        assert!(
            (80..=115).contains(&frames),
            "{}: {frames} frames in {measure:?}",
            status.id
        );
        assert_eq!(status.dropped.corrupt, 0, "{status:?}");
        let index: usize = status.id[3..].parse().unwrap();
        assert_eq!(status.core, Some(index % cores), "round-robin pinning");
    }
    // The last event of every stream is the state its status shows.
    let mut last: HashMap<String, StreamState> = HashMap::new();
    for event in manager.events().try_iter() {
        last.insert(event.id.clone(), event.state);
    }
    for status in manager.list() {
        assert_eq!(last.get(&status.id), Some(&status.state), "{}", status.id);
    }
    let batch = manager.latest_batch(&["cam0", "cam7", "nope"], Duration::from_secs(1));
    assert_eq!(batch.frames.len(), 2);
    assert_eq!(batch.frames[0].0, "cam0");
    assert_eq!(
        batch.missing,
        vec![("nope".to_owned(), Missing::UnknownStream)]
    );
    let metrics = manager.metrics_text();
    for name in METRIC_NAMES {
        assert!(metrics.contains(name), "{name} missing from\n{metrics}");
    }
    assert!(
        metrics.contains(r#"rtsp_ingest_stream_state{stream="cam3",state="streaming"} 1"#),
        "{metrics}"
    );
    let begun = Instant::now();
    manager.shutdown();
    assert!(
        begun.elapsed() <= Duration::from_millis(500),
        "shutdown took {:?}",
        begun.elapsed()
    );
    assert!(manager
        .list()
        .iter()
        .all(|s| s.state == StreamState::Stopped));
}

#[test]
fn removing_a_stream_stuck_connecting_returns_at_once() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    proxy.set_fault(Fault::BlackHole);
    let manager = StreamManager::new(ManagerConfig::default());
    manager
        .add(
            "silent",
            config(&proxy.url(MOUNT_H264)).connect_timeout(Duration::from_secs(30)),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        manager.status("silent").unwrap().state,
        StreamState::Connecting
    );
    let begun = Instant::now();
    manager.remove("silent").unwrap();
    assert!(
        begun.elapsed() <= Duration::from_millis(200),
        "remove took {:?}",
        begun.elapsed()
    );
    assert_eq!(
        manager.status("silent").unwrap_err().kind(),
        ErrorKind::UnknownStream
    );
}

#[test]
fn ids_are_unique_and_unknown_ids_are_errors() {
    let manager = StreamManager::new(ManagerConfig::default().no_pinning());
    let url = "rtsp://127.0.0.1:9/none";
    manager.add("a", config(url)).unwrap();
    let duplicate = manager.add("a", config(url)).unwrap_err();
    assert_eq!(duplicate.kind(), ErrorKind::AlreadyExists);
    assert!(duplicate.to_string().contains("`a`"), "{duplicate}");
    for error in [
        manager.remove("b").unwrap_err(),
        manager.stop("b").unwrap_err(),
        manager.start("b").unwrap_err(),
        manager.restart("b").unwrap_err(),
        manager.status("b").unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::UnknownStream, "{error}");
    }
    assert_eq!(
        manager.add("", config(url)).unwrap_err().kind(),
        ErrorKind::InvalidConfig
    );
    assert_eq!(
        manager.add("x/y", config(url)).unwrap_err().kind(),
        ErrorKind::InvalidConfig
    );
    assert_eq!(manager.ids(), ["a"]);
}

#[test]
fn the_memory_budget_refuses_what_does_not_fit() {
    // 320x240 BGR with 4 + 2 + 2 slots = 8 × 230400 bytes ≈ 1.76 MiB per stream.
    let manager = StreamManager::new(ManagerConfig::default().no_pinning().memory_budget_mb(4.0));
    let small = |url: &str| config(url).resize(320, 240);
    manager.add("one", small("rtsp://127.0.0.1:9/a")).unwrap();
    manager.add("two", small("rtsp://127.0.0.1:9/b")).unwrap();
    let refused = manager
        .add("three", small("rtsp://127.0.0.1:9/c"))
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::OverBudget);
    assert!(refused.to_string().contains("`three`"), "{refused}");
    assert_eq!(
        manager.ids(),
        ["one", "two"],
        "a refused stream is not added"
    );
    // Without a resize the stream is budgeted at 1920x1080: far too big here.
    assert_eq!(
        manager
            .add("big", config("rtsp://127.0.0.1:9/d"))
            .unwrap_err()
            .kind(),
        ErrorKind::OverBudget
    );
    manager.remove("one").unwrap();
    manager.add("three", small("rtsp://127.0.0.1:9/c")).unwrap();
    let (reserved, limit) = manager.memory();
    assert!(reserved <= limit.unwrap());
}

#[test]
fn a_camera_larger_than_its_budget_fails_clearly_instead_of_allocating() {
    let server = RtspServer::start_looping();
    // Budgeted as 64x48; the camera sends 320x240, which does not fit in 0.5 MiB.
    let manager = StreamManager::new(
        ManagerConfig::default()
            .no_pinning()
            .memory_budget_mb(0.5)
            .assumed_frame_size(64, 48),
    );
    manager.add("cam", config(&server.url(MOUNT_H264))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let status = manager.status("cam").unwrap();
        if matches!(status.state, StreamState::Failed(_)) {
            break status;
        }
        assert!(Instant::now() < deadline, "{status:#?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.last_error.unwrap().kind(), ErrorKind::OverBudget);
    assert!(manager.latest("cam").is_none());
}

#[test]
fn stop_start_and_restart_control_a_stream() {
    let server = RtspServer::start_looping();
    let manager = StreamManager::new(ManagerConfig::default());
    manager.add("cam", config(&server.url(MOUNT_H264))).unwrap();
    wait_all(&manager, Duration::from_secs(10), "streaming", |s| {
        s.published > 3
    });
    manager.stop("cam").unwrap();
    assert_eq!(manager.status("cam").unwrap().state, StreamState::Stopped);
    let stale = manager.latest_batch(&["cam"], Duration::from_millis(300));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(stale.frames.len(), 1, "the last frame stays readable");
    let batch = manager.latest_batch(&["cam"], Duration::from_millis(300));
    assert!(
        matches!(batch.missing[0].1, Missing::TooOld(_)),
        "{batch:?}"
    );
    manager.start("cam").unwrap();
    wait_all(&manager, Duration::from_secs(10), "streaming again", |s| {
        s.published > 3
    });
    manager.restart("cam").unwrap();
    wait_all(
        &manager,
        Duration::from_secs(10),
        "streaming after restart",
        |s| s.state == StreamState::Streaming,
    );
}

/// Waits for `id`'s events to show it streaming and then failed; returns the
/// failure's error.
fn wait_streaming_then_failed(manager: &StreamManager, id: &str) -> rtsp_ingest::Error {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut streamed = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = manager
            .events()
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no failure: {:#?}", manager.status(id)));
        if event.id != id {
            continue;
        }
        match event.state {
            StreamState::Streaming => streamed = true,
            StreamState::Failed(error) => {
                assert!(streamed, "failed before streaming: {error}");
                return error;
            }
            _ => {}
        }
    }
}

#[test]
fn a_stream_whose_worker_panicked_can_be_started_and_restarted() {
    let server = RtspServer::start_looping();
    let manager = StreamManager::new(ManagerConfig::default());
    // Every incarnation panics on its third frame.
    let panicking = config(&server.url(MOUNT_H264)).inject_panic_after(3);
    manager.add("cam", panicking).unwrap();
    let error = wait_streaming_then_failed(&manager, "cam");
    assert_eq!(error.kind(), ErrorKind::Panic, "{error}");
    let status = manager.status("cam").unwrap();
    assert_eq!(status.state, StreamState::Failed(error.clone()));
    assert_eq!(status.last_error, Some(error));
    // A failed stream is not running: `start` starts it again.
    manager.start("cam").unwrap();
    let error = wait_streaming_then_failed(&manager, "cam");
    assert_eq!(error.kind(), ErrorKind::Panic, "{error}");
    let begun = Instant::now();
    manager.restart("cam").unwrap();
    let took = begun.elapsed();
    assert!(took <= Duration::from_millis(200), "restart took {took:?}");
    let error = wait_streaming_then_failed(&manager, "cam");
    assert_eq!(error.kind(), ErrorKind::Panic, "{error}");
    assert_eq!(manager.status("cam").unwrap().published, 3);
}

#[test]
fn a_flapping_camera_pushes_out_the_oldest_events_counted_against_their_streams() {
    let server = RtspServer::start_looping();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let manager = StreamManager::new(ManagerConfig::default().event_capacity(64));
    manager
        .add("steady", config(&server.url(MOUNT_H264)))
        .unwrap();
    wait_all(&manager, Duration::from_secs(10), "streaming", |s| {
        s.state == StreamState::Streaming
    });
    let flapping = config(&format!("rtsp://{closed}/x")).backoff(Backoff {
        initial: Duration::from_millis(1),
        max: Duration::from_millis(1),
    });
    manager.add("flapping", flapping).unwrap();
    // Nobody reads: the flapping camera's events push out the steady one's
    // `Connecting` and `Streaming`, the oldest.
    let deadline = Instant::now() + Duration::from_secs(10);
    while manager.status("flapping").unwrap().events_lost < 500 {
        assert!(manager.events().len() <= 64);
        assert!(Instant::now() < deadline, "{:#?}", manager.list());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(manager.status("steady").unwrap().events_lost, 2);
    let metrics = manager.metrics_text();
    assert!(
        metrics.contains(r#"rtsp_ingest_events_lost_total{stream="steady"} 2"#),
        "{metrics}"
    );
    // Drained while the flapping worker runs, the channel refills behind the
    // reader and yields more than its capacity: stop it first.
    manager.stop("flapping").unwrap();
    wait_all(&manager, Duration::from_secs(5), "flapping stopped", |s| {
        s.id != "flapping" || s.state == StreamState::Stopped
    });
    let kept: Vec<_> = manager.events().try_iter().collect();
    let summary: Vec<_> = kept
        .iter()
        .map(|event| format!("{} {:?}", event.id, event.state))
        .collect();
    assert!(kept.len() <= 64, "{} kept: {summary:#?}", kept.len());
    assert!(
        kept.iter().all(|event| event.id == "flapping"),
        "{summary:#?}"
    );
}

#[test]
fn shutdown_with_eight_streams_in_every_state_takes_under_500_ms() {
    let server = RtspServer::start_looping();
    let locked = RtspServer::start(ServerConfig::default().looping().auth("u", "right"));
    let proxy = FaultProxy::start(server.addr());
    proxy.set_fault(Fault::BlackHole);
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let manager = StreamManager::new(ManagerConfig::default());
    for n in 0..3 {
        manager
            .add(&format!("live{n}"), config(&server.url(MOUNT_H264)))
            .unwrap();
    }
    manager
        .add(
            "silent",
            config(&proxy.url(MOUNT_H264)).connect_timeout(Duration::from_secs(30)),
        )
        .unwrap();
    manager
        .add("refused", config(&format!("rtsp://{closed}/x")))
        .unwrap();
    let wrong = locked
        .url(MOUNT_H264)
        .replacen("rtsp://", "rtsp://u:wrong@", 1);
    manager.add("locked", config(&wrong)).unwrap();
    manager
        .add("stopped", config(&server.url(MOUNT_MJPEG)))
        .unwrap();
    manager
        .add("mjpeg", config(&server.url(MOUNT_MJPEG)))
        .unwrap();
    wait_all(
        &manager,
        Duration::from_secs(15),
        "every state",
        |s| match s.id.as_str() {
            "silent" => s.state == StreamState::Connecting,
            "refused" => matches!(
                s.state,
                StreamState::Reconnecting { .. } | StreamState::Connecting
            ),
            "locked" => s.state == StreamState::AuthFailed,
            _ => s.state == StreamState::Streaming,
        },
    );
    manager.stop("stopped").unwrap();
    let begun = Instant::now();
    manager.shutdown();
    let took = begun.elapsed();
    assert!(took <= Duration::from_millis(500), "shutdown took {took:?}");
    assert!(
        manager
            .list()
            .iter()
            .all(|s| s.state == StreamState::Stopped),
        "{:#?}",
        manager.list()
    );
}

/// Threads of this process named `name` (stream `id`'s worker is `rtsp-{id}`;
/// Linux keeps 15 bytes of a thread's name).
fn threads_named(name: &str) -> usize {
    let name = &name[..name.len().min(15)];
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[test]
fn shutdown_while_a_host_name_resolves_takes_at_most_200_ms() {
    let dns = DnsServer::start(|_| Reply::Silence);
    let resolver = DnsConfig::default()
        .no_hosts_file()
        .nameservers(vec![dns.address()]);
    let manager = StreamManager::new(ManagerConfig::default());
    for n in 0..4 {
        let url = format!("rtsp://camera{n}.invalid-host.test/live");
        manager
            .add(&format!("dns{n}"), config(&url).dns(resolver.clone()))
            .unwrap();
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(dns.asked().len() >= 4, "{:?}", dns.asked());
    let begun = Instant::now();
    manager.shutdown();
    let took = begun.elapsed();
    assert!(took <= Duration::from_millis(200), "shutdown took {took:?}");
    for n in 0..4 {
        assert_eq!(threads_named(&format!("rtsp-dns{n}")), 0, "dns{n}");
        assert_eq!(
            manager.status(&format!("dns{n}")).unwrap().state,
            StreamState::Stopped
        );
    }
}

/// A FIFO: reading it blocks in the kernel until a writer comes, where no stop
/// flag reaches. As a stream's hosts file it holds the worker in a call that
/// cannot be interrupted, as `getaddrinfo` once did.
struct Fifo(PathBuf);

impl Fifo {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("rtsp-ingest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let made = Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(made.success());
        Fifo(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Lets every reader blocked on the FIFO go on (it reads an empty file).
    fn release(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        // Non-blocking: opening fails (ENXIO) while no reader waits.
        while std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.0)
            .is_err()
        {
            assert!(Instant::now() < deadline, "no reader on the FIFO");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_worker_that_does_not_stop_is_never_doubled_and_keeps_its_budget() {
    let fifo = Fifo::new("stuck-hosts");
    let stuck = config("rtsp://stuck-camera.test/live").dns(
        DnsConfig::default()
            .hosts_file(fifo.path())
            .nameservers(Vec::new()),
    );
    let manager = StreamManager::new(ManagerConfig::default().memory_budget_mb(64.0));
    manager.add("stuck", stuck.clone()).unwrap();
    let (reserved, _) = manager.memory();
    assert!(reserved > 0);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(threads_named("rtsp-stuck"), 1);

    // The stop times out: the worker is left running, and no second one starts.
    manager.stop("stuck").unwrap();
    assert_eq!(threads_named("rtsp-stuck"), 1);
    let error = manager.start("stuck").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AlreadyExists, "{error}");
    let error = manager.restart("stuck").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AlreadyExists, "{error}");
    assert_eq!(threads_named("rtsp-stuck"), 1, "start and restart refused");

    // Removed, its worker still runs: the budget stays reserved, the id busy.
    manager.remove("stuck").unwrap();
    assert!(manager.ids().is_empty());
    assert_eq!(manager.memory().0, reserved, "kept while the worker runs");
    let error = manager.add("stuck", stuck.clone()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AlreadyExists, "{error}");
    assert_eq!(threads_named("rtsp-stuck"), 1);

    // Once the worker ends, the budget and the id are free.
    fifo.release();
    let deadline = Instant::now() + Duration::from_secs(5);
    while threads_named("rtsp-stuck") > 0 || manager.memory().0 > 0 {
        assert!(
            Instant::now() < deadline,
            "{} workers, {} bytes reserved",
            threads_named("rtsp-stuck"),
            manager.memory().0
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    manager
        .add("stuck", config(&format!("rtsp://{closed}/x")))
        .unwrap();
    assert_eq!(manager.memory().0, reserved);
    manager.remove("stuck").unwrap();
    assert_eq!(manager.memory().0, 0);
}
