//! Opening and closing a stream again and again leaks nothing: file
//! descriptors and resident memory stay flat over 200 cycles against a real
//! RTSP server, each cycle decoding at least one frame.

#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;

use std::time::{Duration, Instant};

use rtsp_fixture::{RtspServer, MOUNT_H264};
use rtsp_ingest::stream::{Stream, StreamConfig};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn cycle(url: &str) {
    let mut stream = Stream::start("cycle", StreamConfig::new(url).unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while stream.latest().is_none() {
        assert!(
            Instant::now() < deadline,
            "no frame: {:#?}",
            stream.status()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(stream.stop());
}

#[test]
fn two_hundred_open_close_cycles_leak_no_descriptor_and_no_memory() {
    let server = RtspServer::start_looping();
    let url = server.url(MOUNT_H264);
    // Warm up: FFmpeg's one-time initialisation and the allocator's arenas.
    for _ in 0..20 {
        cycle(&url);
    }
    let (fds, rss) = (open_fds(), rss_bytes());
    for _ in 0..200 {
        cycle(&url);
    }
    let (fds_after, rss_after) = (open_fds(), rss_bytes());
    assert!(
        fds_after <= fds + 2,
        "descriptors grew from {fds} to {fds_after}"
    );
    let growth = rss_after.saturating_sub(rss);
    assert!(
        growth < 8 << 20,
        "RSS grew by {} KiB ({rss} → {rss_after})",
        growth >> 10
    );
    eprintln!(
        "fds {fds} → {fds_after}, RSS {} → {} KiB",
        rss >> 10,
        rss_after >> 10
    );
}
