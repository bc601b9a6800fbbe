//! The resolver against a real DNS server on 127.0.0.1 (tests/support).

#[path = "../../tests/support/dns_server.rs"]
mod dns_server;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::*;
use dns_server::{DnsServer, Reply};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn never() -> bool {
    false
}

/// A file in the test's own temporary directory.
fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtsp-ingest-resolve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// No hosts file, resolv.conf `text`, and `server` as the only name server.
fn config(server: &DnsServer, resolv_conf: &str, tag: &str) -> DnsConfig {
    DnsConfig::default()
        .no_hosts_file()
        .resolv_conf(file(&format!("{tag}.conf"), resolv_conf))
        .nameservers(vec![server.address()])
}

#[test]
fn literal_addresses_need_no_lookup() {
    let nowhere = DnsConfig::default()
        .hosts_file("/nonexistent/hosts")
        .nameservers(Vec::new());
    for (host, address) in [("192.0.2.7", "192.0.2.7"), ("[2001:db8::7]", "2001:db8::7")] {
        let found = resolve(host, &nowhere, Duration::from_secs(1), &never).unwrap();
        assert_eq!(found, [ip(address)]);
    }
}

#[test]
fn the_hosts_file_answers_first_and_localhost_resolves() {
    let server = DnsServer::start(|_| Reply::Addresses(vec![ip("192.0.2.1")]));
    let hosts = file("hosts", "10.0.0.20 gate-cam\n");
    let config = config(&server, "", "hosts").hosts_file(hosts);
    let found = resolve("gate-cam", &config, Duration::from_secs(1), &never).unwrap();
    assert_eq!(found, [ip("10.0.0.20")]);
    assert!(server.asked().is_empty(), "no DNS query for a hosts entry");
    // The system's own hosts file: every Debian (and container) names localhost.
    let system = DnsConfig::default().nameservers(vec![server.address()]);
    let found = resolve("localhost", &system, Duration::from_secs(1), &never).unwrap();
    assert!(found.contains(&ip("127.0.0.1")), "{found:?}");
    assert!(server.asked().is_empty());
}

#[test]
fn dns_answers_come_ipv4_first_with_both_families_asked_at_once() {
    let server = DnsServer::start(|name| match name {
        "cam.example.test" => Reply::Addresses(vec![ip("2001:db8::5"), ip("192.0.2.5")]),
        _ => Reply::NoSuchName,
    });
    let config = config(&server, "", "families");
    let found = resolve("cam.example.test", &config, Duration::from_secs(2), &never).unwrap();
    assert_eq!(found, [ip("192.0.2.5"), ip("2001:db8::5")]);
    let mut asked = server.asked();
    asked.sort();
    assert_eq!(
        asked,
        [
            ("cam.example.test".to_owned(), "A"),
            ("cam.example.test".to_owned(), "AAAA")
        ]
    );
}

#[test]
fn the_search_list_and_ndots_order_the_names_asked() {
    let server = DnsServer::start(|name| match name {
        "gate.cams.lan" => Reply::Addresses(vec![ip("192.0.2.9")]),
        _ => Reply::NoSuchName,
    });
    let conf = "search site.lan cams.lan\noptions ndots:2\n";
    let config = config(&server, conf, "search");
    // Fewer dots than ndots: the search domains first, in order.
    let found = resolve("gate", &config, Duration::from_secs(2), &never).unwrap();
    assert_eq!(found, [ip("192.0.2.9")]);
    let names: Vec<String> = server.asked().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names.first().map(String::as_str), Some("gate.site.lan"));
    assert!(!names.iter().any(|name| name == "gate"), "{names:?}");
    // A trailing dot: only the name itself.
    let error = resolve("gate.", &config, Duration::from_secs(2), &never).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert!(error.to_string().contains("no such host"), "{error}");
    assert_eq!(server.asked().last().unwrap().0, "gate");
}

#[test]
fn a_failing_server_is_skipped_for_the_next() {
    let failing = DnsServer::start(|_| Reply::ServerFailure);
    let working = DnsServer::start(|_| Reply::Addresses(vec![ip("192.0.2.11")]));
    let config =
        config(&failing, "", "servfail").nameservers(vec![failing.address(), working.address()]);
    let found = resolve("cam.example.test", &config, Duration::from_secs(2), &never).unwrap();
    assert_eq!(found, [ip("192.0.2.11")]);
    assert!(!failing.asked().is_empty());
    let alone = config.nameservers(vec![failing.address()]);
    let error = resolve("cam.example.test", &alone, Duration::from_secs(2), &never).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connect, "{error}");
    assert!(error.to_string().contains("ServerFailure"), "{error}");
}

#[test]
fn a_port_nobody_listens_on_fails_at_once() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = DnsConfig::default()
        .no_hosts_file()
        .resolv_conf("/nonexistent/resolv.conf")
        .nameservers(vec![port]);
    let begun = Instant::now();
    let error = resolve("cam.example.test", &config, Duration::from_secs(5), &never).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connect, "{error}");
    assert!(error.to_string().contains("nothing listens"), "{error}");
    assert!(
        begun.elapsed() < Duration::from_secs(1),
        "{:?}",
        begun.elapsed()
    );
}

#[test]
fn a_silent_server_gives_way_to_the_deadline_and_to_the_stop_flag() {
    let server = DnsServer::start(|_| Reply::Silence);
    let config = config(&server, "options timeout:30\n", "silent");
    let begun = Instant::now();
    let error = resolve(
        "cam.example.test",
        &config,
        Duration::from_millis(300),
        &never,
    )
    .unwrap_err();
    let took = begun.elapsed();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(
        error.to_string().contains("no answer from 127.0.0.1"),
        "{error}"
    );
    assert!(
        (Duration::from_millis(300)..Duration::from_millis(400)).contains(&took),
        "{took:?}"
    );

    let stop = AtomicBool::new(false);
    let stopped = || stop.load(Ordering::Relaxed);
    let result = std::thread::scope(|scope| {
        let lookup = scope.spawn(|| {
            resolve(
                "cam.example.test",
                &config,
                Duration::from_secs(30),
                &stopped,
            )
        });
        std::thread::sleep(Duration::from_millis(200));
        let asked = Instant::now();
        stop.store(true, Ordering::Relaxed);
        let result = lookup.join().unwrap();
        (result, asked.elapsed())
    });
    let (result, after_stop) = result;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Stopped);
    assert!(after_stop < Duration::from_millis(100), "{after_stop:?}");
    assert!(!server.asked().is_empty());
}

#[test]
fn server_addresses_come_from_resolv_conf_on_port_53() {
    let conf = "nameserver 192.0.2.53\nnameserver 2001:db8::53\noptions timeout:3 attempts:4\n";
    let config = DnsConfig::default().resolv_conf(file("servers.conf", conf));
    let system = system_config(&config);
    let servers: Vec<SocketAddr> = system
        .get_nameservers_or_local()
        .iter()
        .map(|address| SocketAddr::new(IpAddr::from(address), 53))
        .collect();
    assert_eq!(
        servers,
        [
            "192.0.2.53:53".parse::<SocketAddr>().unwrap(),
            "[2001:db8::53]:53".parse().unwrap()
        ]
    );
    assert_eq!((system.timeout, system.attempts), (3, 4));
    let missing = system_config(&DnsConfig::default().resolv_conf("/nonexistent/resolv.conf"));
    assert_eq!(
        (missing.timeout, missing.attempts, missing.ndots),
        (5, 2, 1)
    );
}
