//! `rtsp-ingest simulate` and `demo` as a user runs them: the simulator read back
//! by `rtsp-ingest run`, the `ffmpeg` CLI and GStreamer's `rtspsrc`; the demo
//! ingesting its own cameras.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rtsp-ingest");

/// Kills the child on drop, so a failing test leaves no server behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `simulate` and waits for its "serving" line.
fn simulate(args: &[&str]) -> (Running, u16) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args(["simulate", "--addr", &addr, "--duration", "60"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("serving "), "{first}");
    // Keep reading: a closed pipe would make the simulator's next write fail
    // and end it.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (Running(child), port)
}

fn summary(output: &Output) -> Vec<Value> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["type"] == "summary")
        .and_then(|line| line["streams"].as_array().cloned())
        .unwrap_or_else(|| {
            panic!(
                "no summary:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

fn bounded(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{command:?} ran past {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_simulator_is_read_by_run_ffmpeg_and_gstreamer() {
    let (_simulator, port) = simulate(&["--cameras", "2"]);
    let url = |index: usize| format!("rtsp://127.0.0.1:{port}/cam{index}");

    let output = bounded(
        Command::new(BIN).args(["run", "--duration", "3", &url(0), &url(1)]),
        Duration::from_secs(20),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for stream in summary(&output) {
        assert!(
            stream["published"].as_u64().unwrap() >= 40,
            "real time, 25 fps: {stream}"
        );
        assert_eq!(stream["media"]["width"], 640, "{stream}");
    }

    let output = bounded(
        Command::new("ffmpeg").args([
            "-hide_banner",
            "-rtsp_transport",
            "tcp",
            "-i",
            &url(1),
            "-frames:v",
            "25",
            "-f",
            "null",
            "-",
        ]),
        Duration::from_secs(20),
    );
    assert!(
        output.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let location = format!("location={}", url(0));
    let output = bounded(
        Command::new("gst-launch-1.0").args([
            "-q",
            "rtspsrc",
            &location,
            "protocols=tcp",
            "!",
            "rtph264depay",
            "!",
            "h264parse",
            "!",
            "avdec_h264",
            "!",
            "fakesink",
            "num-buffers=25",
        ]),
        Duration::from_secs(20),
    );
    assert!(
        output.status.success(),
        "gstreamer: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_simulated_login_is_enforced_and_never_printed() {
    let (_simulator, port) = simulate(&["--auth", "ops:sim-s3cret"]);
    let without = format!("rtsp://127.0.0.1:{port}/cam0");
    let with = format!("rtsp://ops:sim-s3cret@127.0.0.1:{port}/cam0");
    let output = bounded(
        Command::new(BIN).args(["run", "--duration", "2", &without, &with]),
        Duration::from_secs(20),
    );
    let streams = summary(&output);
    assert_eq!(streams[0]["last_error"]["kind"], "auth", "{}", streams[0]);
    assert!(
        streams[1]["published"].as_u64().unwrap() > 10,
        "{}",
        streams[1]
    );
    for text in [&output.stdout, &output.stderr] {
        assert!(!String::from_utf8_lossy(text).contains("sim-s3cret"));
    }
}

#[test]
fn the_demo_ingests_its_cameras_for_five_seconds() {
    let output = bounded(
        Command::new(BIN).args(["demo", "--duration", "5"]),
        Duration::from_secs(30),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let streams = summary(&output);
    assert_eq!(streams.len(), 4);
    for stream in streams {
        assert_eq!(stream["state"], "stopped");
        assert!(
            stream["published"].as_u64().unwrap() >= 100,
            "25 fps for 5 s: {stream}"
        );
        assert_eq!(stream["dropped"]["corrupt"], 0, "{stream}");
        // Each camera's consumer took frames and timed them glass to consumer.
        let consumer = &stream["consumer"];
        let delivered = consumer["frames"].as_u64().unwrap();
        assert!(delivered > 50, "{stream}");
        assert!(
            delivered <= stream["published"].as_u64().unwrap(),
            "{stream}"
        );
        assert!(consumer["fps"].as_f64().unwrap() > 0.0, "{stream}");
        let glass = &consumer["glass_to_consumer_ms"];
        assert!(glass["count"].as_u64().unwrap() > 0, "{stream}");
        let (p50, p99) = (
            glass["p50"].as_f64().unwrap(),
            glass["p99"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99, "{stream}");
    }
    // Every status line shows the consumers too.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let status = stdout
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .rfind(|line| line["type"] == "status")
        .expect("status lines");
    for stream in status["streams"].as_array().unwrap() {
        assert!(stream["consumer"]["frames"].is_u64(), "{stream}");
    }
}

#[test]
fn the_demo_table_shows_each_consumer() {
    // `script` gives the demo a terminal, so it draws the live table.
    let output = bounded(
        Command::new("script").args([
            "-qec",
            &format!("{BIN} demo --cameras 2 --duration 3 --work-ms 5"),
            "/dev/null",
        ]),
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    let header = text
        .lines()
        .rev()
        .find(|line| line.contains("STREAM"))
        .unwrap_or_else(|| panic!("no table: {text}"));
    for column in ["FRAMES", "DELIVERED", "CONS FPS", "G2C p50/p99"] {
        assert!(header.contains(column), "{column} missing: {header}");
    }
    let last_row = text
        .lines()
        .rev()
        // The table's row, not the summary line after it.
        .find(|line| line.starts_with("cam1 ") && !line.contains("rtsp://"))
        .unwrap_or_else(|| panic!("no row for cam1: {text}"));
    let cells: Vec<&str> = last_row.split_whitespace().collect();
    // STREAM STATE FPS FRAMES DELIVERED CONS-FPS p50 / p99 ...
    let delivered: u64 = cells[4].parse().unwrap_or_else(|_| panic!("{last_row}"));
    assert!(delivered > 20, "{last_row}");
    let p50: f64 = cells[6].parse().unwrap_or_else(|_| panic!("{last_row}"));
    assert!(p50 > 0.0, "{last_row}");
}

#[test]
fn quirks_are_named_on_the_command_line_and_served() {
    let output = bounded(
        Command::new(BIN).args(["simulate", "--quirk", "crlf", "--duration", "1"]),
        Duration::from_secs(20),
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown quirk `crlf`; valid: empty-fmtp, no-origin, header-spaces,"),
        "{stderr}"
    );

    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args(["simulate", "--addr", &addr, "--duration", "60"])
        .args(["--quirk", "header-spaces", "--quirk", "empty-fmtp"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let _simulator = Running(child);
    let mut lines = [String::new(), String::new()];
    for line in &mut lines {
        stdout.read_line(line).unwrap();
    }
    assert!(lines[0].starts_with("serving "), "{lines:?}");
    assert_eq!(lines[1], "  quirks: empty-fmtp, header-spaces\n");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));

    // FFmpeg's client SETUPs the padded Content-Base as it is (400); the
    // native client streams.
    let url = format!("rtsp://127.0.0.1:{port}/cam0");
    for (client, streams) in [("ffmpeg", false), ("native", true)] {
        let output = bounded(
            Command::new(BIN).args(["run", "--duration", "3", "--rtsp-client", client, &url]),
            Duration::from_secs(20),
        );
        let stream = &summary(&output)[0];
        if streams {
            assert!(stream["published"].as_u64().unwrap() > 10, "{stream}");
        } else {
            assert_eq!(stream["published"], 0, "{stream}");
            assert_eq!(stream["last_error"]["kind"], "refused", "{stream}");
            let message = stream["last_error"]["message"].as_str().unwrap();
            assert!(message.contains("SETUP with 400 Bad Request"), "{stream}");
        }
    }
}
