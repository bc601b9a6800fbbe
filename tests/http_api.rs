//! The control API end to end: the real binary (`run --http 127.0.0.1:0`), a
//! real HTTP client, a real RTSP server on 127.0.0.1.

#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rtsp_fixture::{RtspServer, ServerConfig, MOUNT_H264};
use rtsp_ingest::manager::METRIC_NAMES;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_rtsp-ingest");
const SECRETS: [&str; 3] = ["hunter2", "opt-s3cret", "87654321"];

/// The binary, killed when dropped (also when a test panics).
struct Ingest {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Ingest {
    /// Starts `rtsp-ingest args...`; with `--http`, waits for its address.
    fn start(args: &[&str]) -> (Ingest, Option<String>) {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rtsp-ingest");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let buffer = Arc::clone(&stdout);
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // stdout is not a terminal: JSON lines, the first one announcing the API.
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    if value["type"] == "listening" {
                        let url = value["url"].as_str().unwrap_or_default();
                        let _ = address_tx.send(url.to_owned());
                    }
                }
                let mut buffer = buffer.lock().unwrap();
                buffer.push_str(&line);
                buffer.push('\n');
            }
        });
        let mut err = child.stderr.take().unwrap();
        let buffer = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(read @ 1..) = err.read(&mut chunk) {
                buffer
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..read]));
            }
        });
        let ingest = Ingest {
            child,
            stdout,
            stderr,
        };
        if !args.contains(&"--http") {
            return (ingest, None);
        }
        let address = address_rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no address printed; stderr:\n{}", ingest.stderr()));
        (ingest, Some(address))
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid}");
        self.wait_exit(Duration::from_secs(10));
    }

    fn wait_exit(&mut self, within: Duration) {
        let begun = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}; stderr:\n{}", self.stderr());
                break;
            }
            assert!(
                begun.elapsed() < within,
                "still running after {within:?}; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
        // The readers see EOF right after the exit.
        thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, content type, body.
struct Reply {
    status: u16,
    content_type: String,
    allow: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn field(&self) -> Value {
        self.json()["field"].clone()
    }
}

struct Api {
    agent: ureq::Agent,
    base: String,
    /// Every body received, to check no secret ever came back.
    seen: Mutex<String>,
}

impl Api {
    fn new(base: String) -> Api {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Api {
            agent,
            base,
            seen: Mutex::new(String::new()),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        let uri = format!("{}{path}", self.base);
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("content-type", "application/json")
            .body(body.unwrap_or("").to_owned())
            .unwrap();
        let mut response = self
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let (content_type, allow) = (header("content-type"), header("allow"));
        let body = response.body_mut().read_to_string().unwrap();
        self.seen.lock().unwrap().push_str(&body);
        Reply {
            status: response.status().as_u16(),
            content_type,
            allow,
            body,
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None)
    }

    fn post(&self, path: &str, body: &str) -> Reply {
        self.call("POST", path, Some(body))
    }

    /// Polls `GET /streams/{id}` until its state is `state`.
    fn wait_state(&self, id: &str, state: &str, within: Duration) -> Value {
        let begun = Instant::now();
        loop {
            let reply = self.get(&format!("/streams/{id}"));
            assert_eq!(reply.status, 200, "{}", reply.body);
            let status = reply.json();
            if status["state"] == state {
                return status;
            }
            assert!(
                begun.elapsed() < within,
                "{id} not {state} after {within:?}: {status:#}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

fn add_body(id: &str, url: &str, options: Value) -> String {
    json!({"id": id, "url": url, "options": options}).to_string()
}

/// Sends raw bytes and returns the status line's code.
fn raw_status(address: &str, request: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(address.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

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
                         "queue_capacity": 2, "skip": "all", "drop_policy": "latest"});
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
    for reason in ["overwritten", "sampled_out", "queue_full"] {
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
