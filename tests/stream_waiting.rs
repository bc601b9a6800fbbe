//! Why nothing arrives (issue 9, item 8): while a stream connects, its status
//! says what it waits for and for how long, before the connect timeout fires:
//! a server that accepts the TCP connection and never answers leaves the
//! stream waiting for the answer to OPTIONS (FFmpeg's first request), one that
//! answers only OPTIONS for the answer to DESCRIBE; a silent DNS server leaves
//! it resolving.

#[path = "support/dns_server.rs"]
mod dns_server;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use dns_server::{DnsServer, Reply};
use rtsp_ingest::resolve::DnsConfig;
use rtsp_ingest::stream::{ConnectStage, StateDetail, Stream, StreamConfig, StreamState};
use stream_util::wait_for;

/// Far beyond every wait below: the detail must show before it fires.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A TCP server on 127.0.0.1 that accepts, then answers each request whose
/// method `answers` allows with a bare `200 OK`, and every other with silence
/// (holding the connection open).
fn rtsp_server(answers: fn(&str) -> bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            let Ok(connection) = connection else { break };
            std::thread::spawn(move || serve(connection, answers));
        }
    });
    port
}

fn serve(connection: TcpStream, answers: fn(&str) -> bool) {
    let mut writer = connection.try_clone().unwrap();
    let mut reader = BufReader::new(connection);
    loop {
        let mut request = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return; // the client hung up
            }
            if line.trim_end().is_empty() {
                break;
            }
            request.push(line);
        }
        let method = request[0].split(' ').next().unwrap_or("").to_owned();
        let cseq = request
            .iter()
            .find_map(|line| line.strip_prefix("CSeq:"))
            .map_or("0", str::trim)
            .to_owned();
        if answers(&method) {
            let answer = format!(
                "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY\r\n\r\n"
            );
            let _ = writer.write_all(answer.as_bytes());
        }
    }
}

fn config(url: &str) -> StreamConfig {
    StreamConfig::new(url)
        .unwrap()
        .connect_timeout(CONNECT_TIMEOUT)
}

/// Waits until the stream has waited at least `for_at_least` for `stage`.
fn waiting(stream: &Stream, stage: ConnectStage, for_at_least: Duration) -> StateDetail {
    let status = wait_for(stream, Duration::from_secs(10), stage.name(), |status| {
        status
            .state_detail
            .is_some_and(|detail| detail.stage == stage && detail.elapsed >= for_at_least)
    });
    assert_eq!(status.state, StreamState::Connecting, "{status:#?}");
    assert!(status.last_error.is_none(), "no timeout yet: {status:#?}");
    status.state_detail.unwrap()
}

#[test]
fn a_server_that_never_answers_leaves_the_stream_waiting_for_options() {
    let port = rtsp_server(|_| false);
    let mut stream =
        Stream::start("silent", config(&format!("rtsp://127.0.0.1:{port}/live"))).unwrap();
    let detail = waiting(&stream, ConnectStage::Options, Duration::from_millis(1500));
    let text = detail.to_string();
    assert!(text.starts_with("no answer to OPTIONS for 1."), "{text}");
    assert!(text.ends_with(" s"), "{text}");
    assert!(stream.stop());
    assert_eq!(stream.status().state_detail, None, "only while connecting");
}

#[test]
fn a_server_that_answers_only_options_leaves_it_waiting_for_describe() {
    let port = rtsp_server(|method| method == "OPTIONS");
    let mut stream =
        Stream::start("mute", config(&format!("rtsp://127.0.0.1:{port}/live"))).unwrap();
    let detail = waiting(&stream, ConnectStage::Describe, Duration::from_millis(1000));
    assert!(
        detail.to_string().starts_with("no answer to DESCRIBE for "),
        "{detail}"
    );
    assert!(stream.stop());
}

#[test]
fn a_silent_dns_server_leaves_it_resolving() {
    let dns = DnsServer::start(|_| Reply::Silence);
    let config = config("rtsp://camera.invalid-host.test/live").dns(
        DnsConfig::default()
            .no_hosts_file()
            .nameservers(vec![dns.address()]),
    );
    let mut stream = Stream::start("unresolved", config).unwrap();
    let detail = waiting(&stream, ConnectStage::Resolving, Duration::from_millis(500));
    assert!(
        detail
            .to_string()
            .starts_with("resolving the host name for 0."),
        "{detail}"
    );
    assert!(stream.stop());
}
