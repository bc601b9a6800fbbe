//! The control API end to end: the real binary (`run --http 127.0.0.1:0`), a
//! real HTTP client, a real RTSP server on 127.0.0.1.

#[path = "support/ingest.rs"]
mod ingest;
#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use ingest::{add_body, raw_answer, raw_status, status_code, Api, Ingest, BIN, SECRETS};
use rtsp_fixture::{RtspServer, ServerConfig, MOUNT_H264};
use rtsp_ingest::manager::METRIC_NAMES;
use serde_json::{json, Value};

#[test]
fn control_api_end_to_end() {
    let begun = Instant::now();
    let server = RtspServer::start_looping();
    let url = server.url(MOUNT_H264);
    let (mut ingest, address) = Ingest::start(&["run", "--http", "127.0.0.1:0"]);
    let address = address.unwrap();
    assert!(address.starts_with("http://127.0.0.1:"), "{address}");
    let api = Api::new(address.clone());

    // Health and an empty list.
    let reply = api.get("/healthz");
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"));
    let reply = api.get("/streams");
    assert_eq!((reply.status, reply.json()), (200, json!([])));

    // Add a stream with options; it reaches `streaming`.
    let options = json!({"transport": "tcp", "format": "rgb24", "resize": "160x120",
                         "resize_mode": "letterbox", "pad_value": 0,
                         "queue_capacity": 2, "skip": "all", "drop_policy": "latest",
                         "on_damage": "flag"});
    let reply = api.post("/streams", &add_body("cam", &url, options));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(reply.content_type.starts_with("application/json"));
    let status = reply.json();
    assert_eq!(
        (status["id"].as_str(), status["url"].as_str()),
        (Some("cam"), Some(url.as_str()))
    );
    let status = api.wait_state("cam", "streaming", Duration::from_secs(20));
    assert_eq!(status["media"]["codec"], "h264", "{status:#}");
    for key in [
        "since",
        "decoded",
        "published",
        "damaged",
        "rtp_packets_lost",
        "decode_errors",
        "reconnects",
        "events_lost",
        "bytes_in",
        "last_frame_age_ms",
        "first_frame_latency_ms",
        "core",
        "last_error",
        "state_detail",
    ] {
        assert!(status.get(key).is_some(), "{key} missing: {status:#}");
    }
    for reason in [
        "corrupt",
        "skipped",
        "no_free_slot",
        "convert_failed",
        "no_slab",
    ] {
        assert!(status["dropped"][reason].is_u64(), "{reason}: {status:#}");
    }
    for reason in ["overwritten", "sampled_out", "queue_full", "no_consumer"] {
        assert!(status["evicted"][reason].is_u64(), "{reason}: {status:#}");
    }
    let begun_frames = Instant::now();
    while api.get("/streams/cam").json()["publish_latency"]["count"] == 0 {
        assert!(
            begun_frames.elapsed() < Duration::from_secs(10),
            "no frame published"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let status = api.get("/streams/cam").json();
    assert!(status["published"].as_u64().unwrap() > 0, "{status:#}");
    assert!(
        status["publish_latency"]["p50_ms"].is_number(),
        "{status:#}"
    );
    for stage in ["decode", "convert", "publish"] {
        assert!(
            status["stage_latency"][stage]["p50_ms"].is_number(),
            "{stage}: {status:#}"
        );
    }

    // The list.
    let list = api.get("/streams").json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list:#}");
    assert_eq!(list[0]["id"], "cam");

    // Metrics: every name, the stream's label, the OpenMetrics content type.
    let reply = api.get("/metrics");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    for name in METRIC_NAMES {
        assert!(reply.body.contains(name), "{name} missing:\n{}", reply.body);
    }
    assert!(reply.body.contains("stream=\"cam\""), "{}", reply.body);
    assert!(reply.body.trim_end().ends_with("# EOF"), "{}", reply.body);

    // Stop, start, restart.
    let reply = api.post("/streams/cam/stop", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    api.wait_state("cam", "stopped", Duration::from_secs(5));
    let reply = api.post("/streams/cam/start", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    api.wait_state("cam", "streaming", Duration::from_secs(20));
    let reply = api.post("/streams/cam/restart", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    api.wait_state("cam", "streaming", Duration::from_secs(20));

    // Malformed requests.
    let reply = api.post("/streams", r#"{"id": "x", "url": "#);
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = reply.json();
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(1), Some(19))
    );
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("line 1 column 19"),
        "{error}"
    );
    let reply = api.post("/streams", &json!({"url": url}).to_string());
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("id")),
        "{}",
        reply.body
    );
    let reply = api.post("/streams", &json!({"id": "x"}).to_string());
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("url")),
        "{}",
        reply.body
    );
    let reply = api.post(
        "/streams",
        &json!({"id": "x", "url": url, "colour": 1}).to_string(),
    );
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("colour")),
        "{}",
        reply.body
    );
    let reply = api.post("/streams", &add_body("x", &url, json!({"colour": "red"})));
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("options.colour")),
        "{}",
        reply.body
    );
    let reply = api.post("/streams", &add_body("x", &url, json!({"format": "rgba"})));
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("options.format")),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("options.format: pixel format `rgba`"),
        "{}",
        reply.body
    );
    let reply = api.post(
        "/streams",
        &add_body("x", &url, json!({"decode_threads": "many"})),
    );
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("options.decode_threads"))
    );
    assert!(reply.json()["line"].is_u64(), "{}", reply.body);
    let reply = api.post(
        "/streams",
        &add_body("x", &url, json!({"decode_threads": 0})),
    );
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("options.decode_threads"))
    );
    let reply = api.post("/streams", &add_body("x", &url, json!({"resize": "wide"})));
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("options.resize"))
    );
    let reply = api.post(
        "/streams",
        &add_body("x", &url, json!({"resize_mode": "crop"})),
    );
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("options.resize_mode"))
    );
    let reply = api.post("/streams", &add_body("x", "http://cam/live", json!({})));
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("url")),
        "{}",
        reply.body
    );
    let reply = api.post("/streams", &add_body("cam", &url, json!({})));
    assert_eq!(reply.status, 409, "{}", reply.body);
    let reply = api.post("/streams", &add_body("a/b", &url, json!({})));
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("id")),
        "{}",
        reply.body
    );
    for (method, path) in [
        ("GET", "/streams/nope"),
        ("DELETE", "/streams/nope"),
        ("POST", "/streams/nope/stop"),
        ("POST", "/streams/nope/start"),
        ("POST", "/streams/nope/restart"),
        ("GET", "/nope"),
        ("GET", "/streams/cam/pause"),
    ] {
        let reply = api.call(method, path, None);
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
    }
    for (method, path, allow) in [
        ("PUT", "/streams", "GET, HEAD, POST"),
        ("POST", "/streams/cam", "GET, HEAD, DELETE"),
        ("GET", "/streams/cam/stop", "POST"),
        ("DELETE", "/metrics", "GET, HEAD"),
        ("POST", "/healthz", "GET, HEAD"),
    ] {
        let reply = api.call(method, path, None);
        assert_eq!(
            (reply.status, reply.allow.as_str()),
            (405, allow),
            "{method} {path}"
        );
    }
    let big = format!(
        r#"{{"id": "big", "url": "{url}", "pad": "{}"}}"#,
        "a".repeat(100 * 1024)
    );
    assert_eq!(api.post("/streams", &big).status, 413);
    // A declared length far over the limit, never sent: refused, still serving.
    let huge = b"POST /streams HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n{\"id\"";
    assert_eq!(raw_status(&address, huge), 413);
    assert_eq!(raw_status(&address, b"NOT HTTP\r\n\r\n"), 400);
    let chunked =
        b"POST /streams HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(raw_status(&address, chunked), 411);
    assert_eq!(api.get("/healthz").status, 200);

    // Passwords, in the URL or the options, are used and never come back.
    let guarded = RtspServer::start(ServerConfig::default().looping().auth("u", "hunter2"));
    let guarded_url = guarded.url(MOUNT_H264);
    let secret_url = guarded.url_with_credentials(MOUNT_H264);
    assert!(secret_url.contains("u:hunter2@"), "{secret_url}");
    let reply = api.post("/streams", &add_body("in-url", &secret_url, json!({})));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["url"], guarded_url);
    let login = json!({"username": "u", "password": "hunter2"});
    let reply = api.post("/streams", &add_body("in-options", &guarded_url, login));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let wrong = format!(
        "rtsp://u:opt-s3cret@127.0.0.1:{}{MOUNT_H264}",
        guarded.port()
    );
    let reply = api.post("/streams", &add_body("wrong-login", &wrong, json!({})));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = api.post(
        "/streams",
        &add_body("x", &url, json!({"password": 87654321})),
    );
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("options.password"))
    );
    let reply = api.post(
        "/streams",
        &add_body("x", "rtsp://u:hunter2@[::1/x", json!({})),
    );
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("url")),
        "{}",
        reply.body
    );
    let reply = api.post("/streams", &add_body(&secret_url, &url, json!({})));
    assert_eq!(
        (reply.status, reply.field()),
        (400, json!("id")),
        "{}",
        reply.body
    );
    api.wait_state("in-url", "streaming", Duration::from_secs(20));
    api.wait_state("in-options", "streaming", Duration::from_secs(20));
    let refused = api.wait_state("wrong-login", "auth_failed", Duration::from_secs(20));
    assert_eq!(refused["last_error"]["kind"], "auth", "{refused:#}");
    assert_eq!(api.get("/streams").json().as_array().map(Vec::len), Some(4));
    api.get("/metrics");

    // Delete.
    let reply = api.call("DELETE", "/streams/cam", None);
    assert_eq!((reply.status, reply.body.as_str()), (204, ""));
    assert_eq!(api.get("/streams/cam").status, 404);
    let ids: Vec<Value> = api
        .get("/streams")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!("in-options"), json!("in-url"), json!("wrong-login")]
    );

    // SIGTERM: a clean exit with a summary of every stream, no secret anywhere.
    ingest.terminate();
    let stdout = ingest.stdout();
    let stderr = ingest.stderr();
    let summary = summary_of(&stdout);
    assert_eq!(summary.len(), 3, "{stdout}");
    assert_eq!(
        (&summary[0]["id"], &summary[0]["state"], &summary[0]["url"]),
        (&json!("in-options"), &json!("stopped"), &json!(guarded_url)),
        "{stdout}"
    );
    assert_eq!(
        (&summary[1]["id"], &summary[1]["state"]),
        (&json!("in-url"), &json!("stopped"))
    );
    assert_eq!(summary[2]["last_error"]["kind"], json!("auth"), "{stdout}");
    let seen = api.seen.lock().unwrap().clone();
    for secret in SECRETS {
        assert!(!seen.contains(secret), "{secret} in a response:\n{seen}");
        assert!(!stdout.contains(secret), "{secret} on stdout:\n{stdout}");
        assert!(!stderr.contains(secret), "{secret} on stderr:\n{stderr}");
    }
    eprintln!("control_api_end_to_end: {:?}", begun.elapsed());
}

/// The streams of the `summary` line of `run`'s JSON output.
fn summary_of(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["type"] == "summary")
        .and_then(|line| line["streams"].as_array().cloned())
        .unwrap_or_else(|| panic!("no summary in\n{stdout}"))
}

#[test]
fn run_ingests_urls_for_a_duration() {
    let server = RtspServer::start_looping();
    let url = server.url(MOUNT_H264);
    let begun = Instant::now();
    let (mut ingest, _) = Ingest::start(&["run", "--duration", "3", "--transport", "tcp", &url]);
    ingest.wait_exit(Duration::from_secs(15));
    let elapsed = begun.elapsed();
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
    let stdout = ingest.stdout();
    let summary = summary_of(&stdout);
    assert_eq!(
        (&summary[0]["id"], &summary[0]["state"], &summary[0]["url"]),
        (&json!("cam0"), &json!("stopped"), &json!(url)),
        "{stdout}"
    );
    assert!(summary[0]["published"].as_u64().unwrap() > 0, "{stdout}");
    // Every line of stdout is JSON: a status line each second, then the summary.
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(
        lines.iter().filter(|line| line["type"] == "status").count() >= 3,
        "{stdout}"
    );
    assert!(
        ingest.stderr().contains("cam0: streaming"),
        "{}",
        ingest.stderr()
    );
}

#[test]
fn run_refuses_bad_arguments() {
    let output = Command::new(BIN)
        .args(["run", "rtsp://u:hunter2@[::1/x"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cam0: url:"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let output = Command::new(BIN)
        .args(["run", "--transport", "quic"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = Command::new(BIN)
        .args(["run", "--http", "256.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--http"));
}

#[test]
fn request_limits_hold() {
    let (_ingest, address) = Ingest::start(&["run", "--http", "127.0.0.1:0"]);
    let address = address.unwrap();
    let api = Api::new(address.clone());

    // 431: a head over 16 KiB, or over 64 headers.
    let long = format!(
        "GET /streams HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(17 * 1024)
    );
    assert_eq!(raw_status(&address, long.as_bytes()), 431);
    let many: String = (0..70).map(|index| format!("X-{index}: a\r\n")).collect();
    let many = format!("GET /streams HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert_eq!(raw_status(&address, many.as_bytes()), 431);
    // 64 headers are fine.
    let most: String = (0..63).map(|index| format!("X-{index}: a\r\n")).collect();
    let most = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{most}\r\n");
    assert_eq!(raw_status(&address, most.as_bytes()), 200);

    // 408: a head, or a body, that takes over 10 s; both answered in JSON.
    let slow = [
        thread::spawn({
            let address = address.clone();
            move || raw_answer(&address, b"GET /streams HTTP/1.1\r\nHost: x\r\n", None)
        }),
        thread::spawn({
            let address = address.clone();
            move || {
                let head =
                    b"POST /streams HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{\"id\"";
                raw_answer(&address, head, None)
            }
        }),
    ];
    // A connection that sends nothing is closed without an answer.
    let silent = thread::spawn({
        let address = address.clone();
        move || raw_answer(&address, b"", None)
    });
    // Meanwhile others are served.
    let begun = Instant::now();
    while begun.elapsed() < Duration::from_secs(2) {
        assert_eq!(api.get("/healthz").status, 200);
        thread::sleep(Duration::from_millis(100));
    }
    for waiting in slow {
        let answer = waiting.join().unwrap();
        assert_eq!(status_code(&answer), 408, "{answer}");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let error: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
        assert!(
            error["error"].as_str().unwrap().contains("too long"),
            "{answer}"
        );
    }
    assert_eq!(silent.join().unwrap(), "");
    assert_eq!(api.get("/healthz").status, 200);
}
