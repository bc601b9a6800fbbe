//! A stream whose camera is named by a host name: the name is looked up by the
//! stream's own resolver (hosts file, then DNS) under its deadline and stop
//! flag, FFmpeg opens the address, and a login, Digest included, still works
//! against a real RTSP server on 127.0.0.1. A stop while the DNS server is
//! silent ends the stream within 200 ms, with no thread left working.

#[path = "support/dns_server.rs"]
mod dns_server;
#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use dns_server::{DnsServer, Reply};
use rtsp_fixture::{RtspServer, ServerConfig, MOUNT_H264};
use rtsp_ingest::resolve::DnsConfig;
use rtsp_ingest::stream::{Stream, StreamConfig, StreamState};
use stream_util::wait_for;

/// The bound on `Stream::stop`.
const STOP_BOUND: Duration = Duration::from_millis(200);

fn loopback() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

/// Threads of this process named `name` (the worker of stream `id` is
/// `rtsp-{id}`; Linux keeps 15 bytes of a thread's name).
fn threads_named(name: &str) -> usize {
    let name = &name[..name.len().min(15)];
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

/// A file in this test's temporary directory.
fn file(name: &str, text: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("rtsp-ingest-stream-resolve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn streaming(stream: &Stream) {
    wait_for(stream, Duration::from_secs(15), "streaming", |status| {
        status.state == StreamState::Streaming
    });
}

#[test]
fn stop_while_the_dns_server_is_silent_takes_at_most_200_ms_and_leaves_no_thread() {
    let server = DnsServer::start(|_| Reply::Silence);
    let dns = DnsConfig::default()
        .no_hosts_file()
        .nameservers(vec![server.address()]);
    let config = StreamConfig::new("rtsp://camera.invalid-host.test/live")
        .unwrap()
        .dns(dns);
    let id = "dns-silent";
    let mut stream = Stream::start(id, config).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(!server.asked().is_empty(), "the stream asked the server");
    assert_eq!(stream.status().state, StreamState::Connecting);
    assert_eq!(threads_named(&format!("rtsp-{id}")), 1);
    let begun = Instant::now();
    assert!(stream.stop(), "the worker ended");
    let took = begun.elapsed();
    assert!(took <= STOP_BOUND, "stop took {took:?}");
    assert_eq!(stream.status().state, StreamState::Stopped);
    assert_eq!(
        threads_named(&format!("rtsp-{id}")),
        0,
        "no thread left working for the stream"
    );
}

#[test]
fn a_name_from_dns_streams_with_a_digest_login() {
    let rtsp = RtspServer::start(
        ServerConfig::default()
            .looping()
            .digest_auth("viewer", "d1gest-pw"),
    );
    let dns = DnsServer::start(|name| match name {
        "camera.test" => Reply::Addresses(vec![loopback()]),
        _ => Reply::NoSuchName,
    });
    let url = format!(
        "rtsp://viewer:d1gest-pw@camera.test:{}{MOUNT_H264}",
        rtsp.port()
    );
    let dns_config = DnsConfig::default()
        .no_hosts_file()
        .nameservers(vec![dns.address()]);
    let mut stream = Stream::start(
        "dns-digest",
        StreamConfig::new(&url).unwrap().dns(dns_config.clone()),
    )
    .unwrap();
    streaming(&stream);
    assert!(dns.asked().iter().any(|(name, _)| name == "camera.test"));
    assert!(stream.stop());

    // The same server refuses a wrong password: the login really is checked.
    let wrong = url.replace("d1gest-pw", "wrong-pw");
    let mut refused = Stream::start(
        "dns-wrong",
        StreamConfig::new(&wrong).unwrap().dns(dns_config),
    )
    .unwrap();
    wait_for(&refused, Duration::from_secs(15), "auth_failed", |status| {
        status.state == StreamState::AuthFailed
    });
    assert!(refused.stop());
}

#[test]
fn localhost_comes_from_the_hosts_file_without_a_dns_query() {
    let rtsp = RtspServer::start(ServerConfig::default().looping().auth("viewer", "b4sic-pw"));
    let dns = DnsServer::start(|_| Reply::Silence);
    let url = format!(
        "rtsp://viewer:b4sic-pw@localhost:{}{MOUNT_H264}",
        rtsp.port()
    );
    let config = StreamConfig::new(&url)
        .unwrap()
        .dns(DnsConfig::default().nameservers(vec![dns.address()]));
    let mut stream = Stream::start("dns-localhost", config).unwrap();
    streaming(&stream);
    assert!(dns.asked().is_empty(), "{:?}", dns.asked());
    assert_eq!(
        stream.status().url,
        format!("rtsp://localhost:{}{MOUNT_H264}", rtsp.port()),
        "the status keeps the name"
    );
    assert!(stream.stop());
}

#[test]
fn a_refused_address_gives_way_to_the_next_one() {
    let rtsp = RtspServer::start_looping();
    // The server listens on 127.0.0.1 only: 127.0.0.3 refuses the connection.
    let hosts = file(
        "hosts",
        "127.0.0.3 two-address-cam\n127.0.0.1 two-address-cam\n",
    );
    let url = format!("rtsp://two-address-cam:{}{MOUNT_H264}", rtsp.port());
    let config = StreamConfig::new(&url).unwrap().dns(
        DnsConfig::default()
            .hosts_file(hosts)
            .nameservers(Vec::new()),
    );
    let mut stream = Stream::start("dns-fallback", config).unwrap();
    let status = wait_for(&stream, Duration::from_secs(15), "streaming", |status| {
        status.state == StreamState::Streaming
    });
    assert_eq!(status.reconnects, 0, "one attempt, two addresses");
    assert!(stream.stop());
}
