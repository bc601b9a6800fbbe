//! Who may use the control API: `--http-token-file` with an admin and a
//! read-only token, 401 / 403, the public paths, the refusal to bind beyond
//! loopback without tokens, and no token ever in the output.

#[path = "support/ingest.rs"]
mod ingest;

use std::path::PathBuf;
use std::process::Command;

use ingest::{add_body, Api, Ingest, BIN};
use serde_json::json;

const ADMIN: &str = "admin-Zq8xV3mT9kLw2Rj7";
const VIEWER: &str = "viewer-Hn4cP6sY1bQe5Ud0";

/// A token file in the temp directory, removed when dropped.
struct TokenFile(PathBuf);

impl TokenFile {
    fn new(text: &str) -> TokenFile {
        let path = std::env::temp_dir().join(format!(
            "rtsp-ingest-auth-{}-{}.toml",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        TokenFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn api_with(base: &str, token: Option<&str>) -> Api {
    let mut api = Api::new(base.to_owned());
    api.token = token.map(str::to_owned);
    api
}

#[test]
fn tokens_decide_who_may_read_and_who_may_change() {
    let tokens = TokenFile::new(&format!("admin = \"{ADMIN}\"\nread_only = \"{VIEWER}\"\n"));
    let (mut ingest, address) = Ingest::start(&[
        "run",
        "--http",
        "127.0.0.1:0",
        "--http-token-file",
        tokens.path(),
        "--json",
    ]);
    let address = address.unwrap();
    let anonymous = api_with(&address, None);
    let wrong = api_with(&address, Some("admin-Zq8xV3mT9kLw2Rj8"));
    let viewer = api_with(&address, Some(VIEWER));
    let admin = api_with(&address, Some(ADMIN));
    // Nothing listens on port 9 of loopback: the stream only retries.
    let body = add_body("cam", "rtsp://127.0.0.1:9/live", json!({}));

    // Public: health, and the dashboard's page (it asks for the token).
    assert_eq!(anonymous.get("/healthz").status, 200);
    let page = anonymous.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );

    // No token, or a wrong one: 401 with a challenge, on reads and changes.
    for api in [&anonymous, &wrong] {
        for (method, path) in [
            ("GET", "/streams"),
            ("GET", "/metrics"),
            ("GET", "/openapi.json"),
            ("GET", "/streams/cam"),
            ("GET", "/streams/cam/snapshot.jpg"),
            ("POST", "/streams"),
            ("DELETE", "/streams/cam"),
            ("POST", "/streams/cam/stop"),
        ] {
            let reply = api.call(method, path, Some(&body));
            assert_eq!(reply.status, 401, "{method} {path}: {}", reply.body);
            assert!(reply.json()["error"].is_string(), "{}", reply.body);
            assert_eq!(
                reply.header("www-authenticate"),
                Some("Bearer realm=\"rtsp-ingest\""),
                "{method} {path}"
            );
        }
    }
    // A token in another scheme is no token.
    let reply = raw_with_header(&address, &format!("Authorization: Basic {ADMIN}"));
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");

    // The read-only token reads, and may change nothing.
    assert_eq!(viewer.get("/streams").status, 200);
    assert_eq!(viewer.get("/metrics").status, 200);
    assert_eq!(viewer.get("/openapi.json").status, 200);
    let reply = viewer.post("/streams", &body);
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(viewer.get("/streams").json(), json!([]));

    // The admin token does everything.
    let reply = admin.post("/streams", &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(viewer.get("/streams/cam").status, 200);
    for (method, path) in [
        ("POST", "/streams/cam/stop"),
        ("POST", "/streams/cam/start"),
        ("POST", "/streams/cam/restart"),
        ("DELETE", "/streams/cam"),
    ] {
        assert_eq!(
            viewer.call(method, path, None).status,
            403,
            "{method} {path}"
        );
        let reply = admin.call(method, path, None);
        assert!(reply.status < 300, "{method} {path}: {}", reply.body);
    }
    assert_eq!(admin.get("/streams").json(), json!([]));

    // No token anywhere in what the process printed.
    ingest.terminate();
    let (stdout, stderr) = (ingest.stdout(), ingest.stderr());
    assert!(stderr.contains("http: "), "the request log: {stderr}");
    for token in [ADMIN, VIEWER, "admin-Zq8xV3mT9kLw2Rj8"] {
        assert!(!stdout.contains(token), "{token} on stdout:\n{stdout}");
        assert!(!stderr.contains(token), "{token} on stderr:\n{stderr}");
    }
}

/// `GET /streams` with one extra header line, sent raw; the whole answer.
fn raw_with_header(address: &str, header: &str) -> String {
    let request = format!("GET /streams HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n");
    ingest::raw_answer(address, request.as_bytes(), None)
}

#[test]
fn beyond_loopback_without_tokens_is_refused() {
    for address in ["0.0.0.0:0", "[::]:0"] {
        let output = Command::new(BIN)
            .args(["run", "--http", address, "--duration", "0"])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{address}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--http-token-file"), "{stderr}");
        assert!(stderr.contains("--insecure-no-auth"), "{stderr}");
    }
    // Loopback needs no token; beyond it, --insecure-no-auth says so.
    for args in [
        &["run", "--http", "127.0.0.1:0", "--duration", "0"][..],
        &["run", "--http", "localhost:0", "--duration", "0"][..],
        &[
            "run",
            "--http",
            "0.0.0.0:0",
            "--insecure-no-auth",
            "--duration",
            "0",
        ][..],
    ] {
        let output = Command::new(BIN).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
    }
    // A token needs --http; bad token files are refused without quoting a token.
    let output = Command::new(BIN)
        .args([
            "run",
            "--http-token-file",
            "/nonexistent",
            "--duration",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let short = TokenFile::new("admin = \"hunter2hunter\"\n");
    let output = Command::new(BIN)
        .args([
            "run",
            "--http",
            "0.0.0.0:0",
            "--http-token-file",
            short.path(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least 16 characters"), "{stderr}");
    assert!(!stderr.contains("hunter2hunter"), "{stderr}");
}
