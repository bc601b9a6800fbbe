//! The binary under test and an HTTP client for its control API, shared by
//! the tests that run `rtsp-ingest run --http`.
//!
//! Include with `#[path = "support/ingest.rs"] mod ingest;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_rtsp-ingest");
pub const SECRETS: [&str; 3] = ["hunter2", "opt-s3cret", "87654321"];

/// The binary, killed when dropped (also when a test panics).
pub struct Ingest {
    pub child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Ingest {
    /// Starts `rtsp-ingest args...`; with `--http`, waits for its address.
    pub fn start(args: &[&str]) -> (Ingest, Option<String>) {
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

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid}");
        self.wait_exit(Duration::from_secs(10));
    }

    pub fn wait_exit(&mut self, within: Duration) {
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
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub allow: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn field(&self) -> Value {
        self.json()["field"].clone()
    }

    /// The value of header `name` (lower case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

pub struct Api {
    agent: ureq::Agent,
    pub base: String,
    /// Sent as `Authorization: Bearer ...` when set.
    pub token: Option<String>,
    /// Every body received, to check no secret ever came back.
    pub seen: Mutex<String>,
}

impl Api {
    pub fn new(base: String) -> Api {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Api {
            agent,
            base,
            token: None,
            seen: Mutex::new(String::new()),
        }
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        let uri = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("content-type", "application/json");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(body.unwrap_or("").to_owned()).unwrap();
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
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let body = response.body_mut().read_to_string().unwrap();
        self.seen.lock().unwrap().push_str(&body);
        Reply {
            status: response.status().as_u16(),
            content_type,
            allow,
            headers,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.call("POST", path, Some(body))
    }

    /// Polls `GET /streams/{id}` until its state is `state`.
    pub fn wait_state(&self, id: &str, state: &str, within: Duration) -> Value {
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

pub fn add_body(id: &str, url: &str, options: Value) -> String {
    json!({"id": id, "url": url, "options": options}).to_string()
}

/// Sends `request`, then `rest` after `pause` (if any), and returns the whole answer.
pub fn raw_answer(address: &str, request: &[u8], pause: Option<(Duration, &[u8])>) -> String {
    let mut stream = TcpStream::connect(address.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request).unwrap();
    if let Some((pause, rest)) = pause {
        thread::sleep(pause);
        let _ = stream.write_all(rest);
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// Sends raw bytes and returns the status line's code.
pub fn raw_status(address: &str, request: &[u8]) -> u16 {
    status_code(&raw_answer(address, request, None))
}

/// The status code of a raw answer.
pub fn status_code(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}
