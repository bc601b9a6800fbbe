//! `rtsp-ingest bench --json`: the schema the comparison scripts read, against
//! simulated cameras and a real RTSP server with a login; and what a camera
//! that never answers is reported as waiting for.

#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;

use std::net::TcpListener;
use std::process::Command;

use rtsp_fixture::{RtspServer, ServerConfig, MOUNT_H264};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rtsp-ingest");

fn bench(args: &[&str]) -> Value {
    let output = Command::new(BIN)
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one JSON object: {stdout}");
    serde_json::from_str(&stdout).unwrap()
}

fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is a number in {value}"))
}

#[test]
fn the_json_report_has_the_documented_schema() {
    let server = RtspServer::start(ServerConfig::default().looping().auth("bench", "b3nch-pw"));
    let url = server
        .url(MOUNT_H264)
        .replacen("rtsp://", "rtsp://bench:b3nch-pw@", 1);
    let report = bench(&[
        "--simulate",
        "2",
        "--duration",
        "3",
        "--format",
        "yuv420p",
        &url,
    ]);
    let streams = report["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 3);
    let mut keys: Vec<&str> = streams[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "decode_errors",
            "decoder_buffer_fallbacks",
            "dropped",
            "evicted",
            "first_frame_ms",
            "fps",
            "frames_converted_in_bands",
            "frames_damaged",
            "frames_decoded",
            "frames_decoded_in_place",
            "frames_dropped",
            "frames_evicted",
            "frames_published",
            "id",
            "reconnects",
            "rtp_packets_lost",
            "state",
            "state_detail",
            "url"
        ]
    );
    for stream in streams {
        assert_eq!(stream["state"], "streaming", "{stream}");
        assert!(stream["state_detail"].is_null(), "{stream}");
        assert!(
            (20.0..=30.0).contains(&number(stream, "fps")),
            "real time: {stream}"
        );
        assert!(number(stream, "first_frame_ms") < 3000.0);
        assert!(number(stream, "frames_decoded") >= number(stream, "frames_published"));
    }
    assert_eq!(streams[0]["id"], "cam0");
    assert_eq!(
        streams[0]["url"],
        server.url(MOUNT_H264),
        "the URL is redacted"
    );
    let totals = &report["totals"];
    for key in [
        "frames_decoded",
        "cpu_ms_per_frame",
        "peak_rss_bytes",
        "wall_seconds",
    ] {
        assert!(number(totals, key) > 0.0, "{key} in {totals}");
    }
    let sum: f64 = streams.iter().map(|s| number(s, "frames_decoded")).sum();
    assert_eq!(number(totals, "frames_decoded"), sum);
    assert!(
        (2.9..6.0).contains(&number(totals, "wall_seconds")),
        "{totals}"
    );
    assert!(!report.to_string().contains("b3nch-pw"));
}

#[test]
fn bench_needs_something_to_measure() {
    let output = Command::new(BIN)
        .args(["bench", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--simulate"));
}

/// A TCP server on 127.0.0.1 that accepts every connection and never answers.
fn mute_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in listener.incoming().map_while(Result::ok) {
            held.push(connection);
        }
    });
    port
}

/// The seconds in "no answer to OPTIONS for 3.0 s".
fn waited_seconds(detail: &str) -> f64 {
    let seconds = detail
        .strip_prefix("no answer to OPTIONS for ")
        .and_then(|rest| rest.strip_suffix(" s"))
        .unwrap_or_else(|| panic!("what the stream waits for, in {detail:?}"));
    seconds.parse().unwrap()
}

#[test]
fn a_camera_that_never_answers_is_reported_with_what_it_waits_for() {
    // FFmpeg's first request is OPTIONS; the connect timeout (5 s) has not fired
    // when the 3 s measurement ends.
    let url = format!("rtsp://127.0.0.1:{}/live", mute_server());
    let report = bench(&["--duration", "3", &url]);
    let stream = &report["streams"][0];
    assert_eq!(stream["state"], "connecting", "{stream}");
    let detail = stream["state_detail"].as_str().unwrap();
    assert!((2.8..=3.5).contains(&waited_seconds(detail)), "{detail}");

    let output = Command::new(BIN)
        .args(["bench", "--duration", "3", &url])
        .output()
        .unwrap();
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).unwrap();
    let row = table
        .lines()
        .find(|line| line.starts_with("cam0"))
        .unwrap_or_else(|| panic!("a row for cam0 in\n{table}"));
    assert!(row.contains("connecting"), "{row}");
    let detail = &row[row.find("no answer").unwrap_or_else(|| panic!("{row}"))..];
    assert!((2.8..=3.5).contains(&waited_seconds(detail)), "{row}");
}

/// `{p50, p99, max, count}` in milliseconds, in order, with `count` samples.
fn check_summary(summary: &Value, what: &str) -> u64 {
    let count = summary["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: {summary}"));
    assert!(count > 0, "{what}: {summary}");
    let (p50, p99, max) = (
        number(summary, "p50"),
        number(summary, "p99"),
        number(summary, "max"),
    );
    assert!(0.0 <= p50 && p50 <= p99 && p99 <= max, "{what}: {summary}");
    // Sane: below one 10 s loop of the stamped clip.
    assert!(max < 10_000.0, "{what}: {summary}");
    count
}

fn check_latency(stream: &Value) {
    let consumer = &stream["consumer"];
    let delivered = consumer["frames"].as_u64().unwrap();
    assert!(delivered > 10, "{stream}");
    assert_eq!(consumer["unreadable"], 0, "every stamp reads: {stream}");
    assert_eq!(
        consumer["unmatched"], 0,
        "every stamp matches a send: {stream}"
    );
    let glass = &stream["glass_to_consumer_ms"];
    assert_eq!(check_summary(glass, "glass_to_consumer_ms"), delivered);
    let stages = &stream["stage_ms"];
    for stage in [
        "send_to_received",
        "received_to_decoded",
        "decoded_to_converted",
        "published_to_consumer",
    ] {
        assert_eq!(check_summary(&stages[stage], stage), delivered, "{stage}");
    }
    // The first stage starts where glass-to-consumer does and ends earlier.
    assert!(number(&stages["send_to_received"], "max") <= number(glass, "max"));
    assert!(stages["converted_to_published"]["count"].as_u64().unwrap() > 0);
}

#[test]
fn bench_latency_reads_the_stamps_of_in_process_cameras() {
    let report = bench(&["--simulate", "2", "--duration", "3", "--latency"]);
    let streams = report["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2);
    for stream in streams {
        check_latency(stream);
    }
    check_summary(&report["totals"]["glass_to_consumer_ms"], "totals");
}

#[test]
fn bench_latency_matches_an_external_simulators_stamp_log() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = std::env::temp_dir().join(format!("rtsp-ingest-bench-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("stamps.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut simulator = Command::new(BIN)
        .args([
            "simulate",
            "--cameras",
            "2",
            "--frames",
            "250",
            "--duration",
            "30",
        ])
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .arg("--stamp-log")
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(simulator.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("serving "), "{first}");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let url = format!("rtsp://127.0.0.1:{port}/cam1");
    let report = bench(&[
        "--duration",
        "3",
        "--latency",
        "--stamp-log",
        log.to_str().unwrap(),
        &url,
    ]);
    let _ = simulator.kill();
    let _ = simulator.wait();
    let streams = report["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1);
    check_latency(&streams[0]);
    std::fs::remove_dir_all(&dir).unwrap();
}
