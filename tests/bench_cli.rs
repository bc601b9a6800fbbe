//! `rtsp-ingest bench --json`: the schema the comparison scripts read, against
//! simulated cameras and a real RTSP server with a login.

#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;

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
            "first_frame_ms",
            "fps",
            "frames_decoded",
            "frames_dropped",
            "frames_published",
            "id",
            "reconnects",
            "state",
            "url"
        ]
    );
    for stream in streams {
        assert_eq!(stream["state"], "streaming", "{stream}");
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
