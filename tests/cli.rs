//! The command line against a real RTSP server on 127.0.0.1: `probe`,
//! `snapshot`, and `run --config`, with their exit codes; and no password on
//! stdout or stderr, whatever happens.

#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;

use std::process::{Command, Output};

use rtsp_fixture::{pattern, RtspServer, ServerConfig, MOUNT_H264, MOUNT_H265, MOUNT_MJPEG};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rtsp-ingest");
const PASSWORD: &str = "cli-s3cret";

fn cli(args: &[&str]) -> Output {
    let output = Command::new(BIN).args(args).output().unwrap();
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(
            !text.contains(PASSWORD),
            "password printed by {args:?}:\n{text}"
        );
    }
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn locked_server() -> RtspServer {
    RtspServer::start(ServerConfig::default().looping().auth("viewer", PASSWORD))
}

fn with_login(server: &RtspServer, mount: &str, password: &str) -> String {
    server
        .url(mount)
        .replacen("rtsp://", &format!("rtsp://viewer:{password}@"), 1)
}

#[test]
fn probe_reports_what_the_camera_sends() {
    let server = locked_server();
    let output = cli(&["probe", &with_login(&server, MOUNT_H264, PASSWORD)]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = text(&output.stdout);
    for expected in [
        "codec        h264",
        "resolution   320x240",
        "fps          25.00",
        "transport    tcp",
        "first frame",
    ] {
        assert!(report.contains(expected), "{expected:?} in\n{report}");
    }
    let output = cli(&[
        "probe",
        "--json",
        &with_login(&server, MOUNT_MJPEG, PASSWORD),
    ]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (report["codec"].as_str(), report["width"].as_u64()),
        (Some("mjpeg"), Some(320))
    );
    assert!(report["first_frame_ms"].as_f64().unwrap() < 5000.0);
    assert_eq!(report["url"], server.url(MOUNT_MJPEG));
}

#[test]
fn probe_exit_codes_tell_a_refused_login_from_an_unreachable_camera() {
    let server = locked_server();
    let output = cli(&["probe", &with_login(&server, MOUNT_H264, "wrong")]);
    assert_eq!(output.status.code(), Some(4), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("401"),
        "{}",
        text(&output.stderr)
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("rtsp://viewer:{PASSWORD}@{closed}/x");
    let output = cli(&["probe", "--timeout", "2", &url]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    let output = cli(&["probe", &format!("http://viewer:{PASSWORD}@{closed}/x")]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}

#[test]
fn snapshots_are_written_in_every_format() {
    let server = locked_server();
    let url = with_login(&server, MOUNT_H265, PASSWORD);
    let dir = std::env::temp_dir().join(format!("rtsp-ingest-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["frame.png", "frame.jpg", "frame.ppm"] {
        let path = dir.join(name);
        let output = cli(&["snapshot", &url, "-o", path.to_str().unwrap()]);
        assert!(output.status.success(), "{name}: {}", text(&output.stderr));
        let image = image::open(&path).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (320, 240));
        // The pattern checker reads BGR.
        let bgr: Vec<u8> = image.pixels().flat_map(|p| [p[2], p[1], p[0]]).collect();
        let tolerance = if name.ends_with(".jpg") {
            40
        } else {
            pattern::DEFAULT_TOLERANCE
        };
        pattern::check(&bgr, &pattern::Layout::bgr24(320, 240), tolerance)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let output = cli(&[
        "snapshot",
        &url,
        "-o",
        dir.join("frame.gif").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_reads_a_config_file_and_refuses_a_bad_one_by_line_and_field() {
    let server = locked_server();
    let dir = std::env::temp_dir().join(format!("rtsp-ingest-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cams.toml");
    let config = format!(
        "[defaults]\nformat = \"gray8\"\n\n[[stream]]\nid = \"gate\"\nurl = \"{}\"\n\n[[stream]]\nid = \"dock\"\nurl = \"{}\"\nresize = \"160x120\"\n",
        with_login(&server, MOUNT_H264, PASSWORD),
        with_login(&server, MOUNT_MJPEG, PASSWORD),
    );
    std::fs::write(&path, &config).unwrap();
    let output = cli(&["run", "--config", path.to_str().unwrap(), "--duration", "2"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let summary: Value = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["type"] == "summary")
        .unwrap_or_else(|| panic!("{stdout}"));
    let streams = summary["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2);
    for stream in streams {
        assert!(stream["published"].as_u64().unwrap() > 10, "{stream}");
    }

    std::fs::write(
        &path,
        config.replace("resize = \"160x120\"", "resize = \"tiny\""),
    )
    .unwrap();
    let output = cli(&["run", "--config", path.to_str().unwrap(), "--duration", "1"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cams.toml:11: stream `dock`: resize:"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
