//! No secret leaves the process, wherever the URL carries it: random URLs with
//! a password in the userinfo, in a path parameter (`;pwd=`, XMEye's
//! `/user=admin&password=…&channel=1`), in the query, or given as the
//! `password` option, driven through the real binary (`probe`, `bench`, `run`,
//! and the control API of `run --http`) against servers on 127.0.0.1: a closed
//! port, a camera that answers 401, and a camera at the right path (so FFmpeg
//! logs its DESCRIBE, SETUP and PLAY with their `Authorization` headers). Every
//! log is on (`RUST_LOG=trace`). The secret may appear in no stdout, stderr or
//! API answer: not whole, not percent-encoded, not inside a Basic header.

#[allow(dead_code)]
#[path = "support/log_capture.rs"]
mod log_capture;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rtsp_ingest::simulate::{Fault, Faults, PatternOptions, Simulator, SimulatorConfig};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_rtsp-ingest");
const USER: &str = "viewer";
/// The login the refusing camera wants: never the generated secret.
const OTHER_LOGIN: &str = "not-the-secret";
/// The names the scrubber must know, each drawn in random letter case.
const NAMES: [&str; 10] = [
    "password", "passwd", "pwd", "pass", "psw", "secret", "token", "auth", "key", "sig",
];
/// Characters that need percent-encoding, appended to some secrets.
const TAILS: [&str; 8] = ["", "", "@a", "/b", ":c", "#d", "&e", "%f"];

/// Where the secret sits.
#[derive(Clone, Debug)]
enum Place {
    /// `rtsp://viewer:SECRET@host/cam0`.
    Userinfo,
    /// `rtsp://viewer@host/cam0` with the `password` option (`run --config`,
    /// the control API; `probe` and `bench` have no such option and take it
    /// in the userinfo).
    PasswordOption,
    /// `/cam0;NAME=SECRET`.
    PathParameter(String),
    /// `/cam0/user=admin&NAME=SECRET&channel=1&stream=0.sdp` (XMEye).
    XmEye(String),
    /// `/cam0?NAME=SECRET`, or `/cam0?channel=1&NAME=SECRET&subtype=0`.
    Query(String, bool),
}

/// What answers at the URL's address.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// Nothing: connection refused.
    ClosedPort,
    /// A camera that wants another login: 401.
    Refusing,
    /// A camera at the right path that takes the login (when there is one).
    Serving,
}

#[derive(Clone)]
struct Case {
    core: String,
    tail: &'static str,
    place: Place,
    target: Target,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} at {:?}, secret {:?}",
            self.place,
            self.target,
            self.secret()
        )
    }
}

fn name_in_case(name: &'static str, mask: u16) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> i & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// Every place a secret can sit, with every target: case `n` of a run takes
/// combination `n % COMBINATIONS`, so a run of that many cases tries each.
const COMBINATIONS: usize = 5 * 3;

/// The random part of a case: the secret, a parameter name in random letter
/// case, and whether the parameter comes first in the query.
#[derive(Clone, Debug)]
struct Drawn {
    core: String,
    tail: &'static str,
    name: String,
    first: bool,
}

fn drawn() -> impl Strategy<Value = Drawn> {
    let name = (proptest::sample::select(&NAMES[..]), any::<u16>())
        .prop_map(|(name, mask)| name_in_case(name, mask));
    (
        "[A-Za-z0-9]{8,16}",
        proptest::sample::select(&TAILS[..]),
        name,
        any::<bool>(),
    )
        .prop_map(|(core, tail, name, first)| Drawn {
            core,
            tail,
            name,
            first,
        })
}

/// Case `n` of a run, with the drawn secret and name.
fn case(drawn: Drawn, n: usize) -> Case {
    let place = match n % 5 {
        0 => Place::Userinfo,
        1 => Place::PasswordOption,
        2 => Place::PathParameter(drawn.name),
        3 => Place::XmEye(drawn.name),
        _ => Place::Query(drawn.name, drawn.first),
    };
    let target = [Target::ClosedPort, Target::Refusing, Target::Serving][n / 5 % 3];
    Case {
        core: drawn.core,
        tail: drawn.tail,
        place,
        target,
    }
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

fn small_camera(faults: Faults) -> Simulator {
    let pattern = PatternOptions::default().size(64, 48).frames(25);
    let config = SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .pattern(pattern)
        .faults(faults);
    Simulator::start(config).unwrap()
}

fn login(password: &str) -> Faults {
    Faults::none().with(Fault::Auth {
        user: USER.to_owned(),
        password: password.to_owned(),
    })
}

/// The servers the URLs point at. The serving camera for a login is made per
/// case, as it must want that case's secret.
struct Servers {
    closed_port: u16,
    refusing: Simulator,
    open: Simulator,
}

impl Servers {
    fn start() -> Servers {
        let closed_port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Servers {
            closed_port,
            refusing: small_camera(login(OTHER_LOGIN)),
            open: small_camera(Faults::none()),
        }
    }
}

/// A case made concrete: the URL, the option, and what must never be shown.
struct Prepared {
    case: Case,
    /// `host:port`.
    address: String,
    url: String,
    /// The same URL with the password in the userinfo instead of the option.
    url_without_options: String,
    password_option: Option<String>,
    /// Keeps the per-case camera running.
    _camera: Option<Simulator>,
}

impl Case {
    fn secret(&self) -> String {
        format!("{}{}", self.core, self.tail)
    }

    fn has_login(&self) -> bool {
        matches!(self.place, Place::Userinfo | Place::PasswordOption)
    }

    fn prepare(&self, servers: &Servers) -> Prepared {
        let secret = self.secret();
        let (address, camera) = match self.target {
            Target::ClosedPort => (format!("127.0.0.1:{}", servers.closed_port), None),
            Target::Refusing => (servers.refusing.addr().to_string(), None),
            Target::Serving if self.has_login() => {
                let camera = small_camera(login(&secret));
                (camera.addr().to_string(), Some(camera))
            }
            Target::Serving => (servers.open.addr().to_string(), None),
        };
        let value = encode(&secret);
        let with_userinfo = format!("rtsp://{USER}:{value}@{address}/cam0");
        let (url, password_option) = match &self.place {
            Place::Userinfo => (with_userinfo.clone(), None),
            Place::PasswordOption => (format!("rtsp://{USER}@{address}/cam0"), Some(secret)),
            Place::PathParameter(name) => (format!("rtsp://{address}/cam0;{name}={value}"), None),
            Place::XmEye(name) => (
                format!("rtsp://{address}/cam0/user=admin&{name}={value}&channel=1&stream=0.sdp"),
                None,
            ),
            Place::Query(name, true) => (format!("rtsp://{address}/cam0?{name}={value}"), None),
            Place::Query(name, false) => (
                format!("rtsp://{address}/cam0?channel=1&{name}={value}&subtype=0"),
                None,
            ),
        };
        let url_without_options = match password_option {
            Some(_) => with_userinfo,
            None => url.clone(),
        };
        Prepared {
            case: self.clone(),
            address,
            url,
            url_without_options,
            password_option,
            _camera: camera,
        }
    }
}

impl Prepared {
    /// The forms of the secret that must never be shown: the generated
    /// letters and digits alone (so half a secret is caught too), the secret
    /// as is and percent-encoded, and the Basic credentials.
    fn forbidden(&self) -> Vec<String> {
        let secret = self.case.secret();
        vec![
            self.case.core.clone(),
            encode(&secret),
            secret.clone(),
            log_capture::base64(format!("{USER}:{secret}").as_bytes()),
        ]
    }

    fn assert_hidden(&self, what: &str, text: &str) {
        let spelled = spelled_out(text);
        for form in self.forbidden() {
            assert!(
                !spelled.contains(&form),
                "{what} spells out {form:?} byte by byte ({:?}, url {})",
                self.case,
                self.url
            );
            if let Some(at) = text.find(&form) {
                let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
                let end = text[at..].find('\n').map_or(text.len(), |n| at + n);
                panic!(
                    "{what} shows {form:?} ({:?}, url {}):\n{}",
                    self.case,
                    self.url,
                    &text[start..end]
                );
            }
        }
    }

    /// What the URL should still show once redacted: where it points, and
    /// the parameters that are not secret.
    fn assert_useful(&self, shown: &str) {
        assert!(
            shown.starts_with(&format!("rtsp://{}/cam0", self.address)),
            "{shown} for {}",
            self.url
        );
        match &self.case.place {
            Place::Userinfo | Place::PasswordOption => {
                assert_eq!(shown, format!("rtsp://{}/cam0", self.address));
            }
            Place::PathParameter(name) => {
                assert_eq!(shown, format!("rtsp://{}/cam0;{name}=***", self.address));
            }
            Place::XmEye(name) => assert_eq!(
                shown,
                format!(
                    "rtsp://{}/cam0/user=admin&{name}=***&channel=1&stream=0.sdp",
                    self.address
                )
            ),
            Place::Query(name, true) => {
                assert_eq!(shown, format!("rtsp://{}/cam0?{name}=***", self.address));
            }
            Place::Query(name, false) => assert_eq!(
                shown,
                format!(
                    "rtsp://{}/cam0?channel=1&{name}=***&subtype=0",
                    self.address
                )
            ),
        }
    }
}

/// The characters FFmpeg's byte-by-byte dump of RTSP replies
/// (`ret=1 c=41 [A]`, one line each) shows, joined.
fn spelled_out(text: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(" c=") {
        rest = &rest[at + 3..];
        let dumped = rest.get(..4).filter(|code| code.ends_with(" ["));
        if let Some(byte) = dumped.and_then(|code| u8::from_str_radix(&code[..2], 16).ok()) {
            bytes.push(byte);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A running `rtsp-ingest`, its output collected as it comes; killed when dropped.
struct Process {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Process {
    fn start(args: &[&str]) -> Process {
        let mut child = Command::new(BIN)
            .args(args)
            .env("RUST_LOG", "trace")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rtsp-ingest");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        Process {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the exit (killing the process past `within`), then for the
    /// last of its output.
    fn finish(mut self, within: Duration) -> (String, String) {
        let begun = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if begun.elapsed() > within {
                let _ = self.child.kill();
                panic!("still running after {within:?}:\n{}", self.stderr());
            }
            thread::sleep(Duration::from_millis(20));
        }
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        (self.stdout(), self.stderr())
    }

    fn terminate(self) -> (String, String) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid}");
        self.finish(Duration::from_secs(15))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(
    mut pipe: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(read @ 1..) = pipe.read(&mut chunk) {
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..read]));
        }
    })
}

/// A config file for `run --config` holding the case's stream.
fn config_file(prepared: &Prepared, index: usize) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("secrets-{}-{index}.toml", std::process::id()));
    let mut text = format!(
        "[[stream]]\nid = \"cam\"\nurl = \"{}\"\nconnect_timeout_ms = 1000\n",
        prepared.url
    );
    if let Some(password) = &prepared.password_option {
        text.push_str(&format!(
            "username = \"{USER}\"\npassword = \"{password}\"\n"
        ));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// A run of one case per combination, without shrinking (a shrunk case would
/// take the next combination; the failing one is shown whole instead).
fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: COMBINATIONS as u32,
        max_shrink_iters: 0,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn probe_bench_and_run_never_show_a_secret() {
    let servers = Servers::start();
    let index = Cell::new(0);
    runner()
        .run(&drawn(), |drawn| {
            let case = case(drawn, index.get());
            index.set(index.get() + 1);
            let prepared = case.prepare(&servers);
            let config = config_file(&prepared, index.get());
            let plain = prepared.url_without_options.as_str();
            let commands: [Vec<&str>; 5] = [
                vec!["probe", "--timeout", "2", plain],
                vec!["probe", "--json", "--timeout", "2", plain],
                vec!["bench", "--duration", "1", "--json", plain],
                vec!["run", "--duration", "1", plain],
                vec![
                    "run",
                    "--duration",
                    "1.5",
                    "--config",
                    config.to_str().unwrap(),
                ],
            ];
            let running: Vec<(String, Process)> = commands
                .iter()
                .map(|args| (args[..args.len() - 1].join(" "), Process::start(args)))
                .collect();
            for (what, process) in running {
                let (stdout, stderr) = process.finish(Duration::from_secs(30));
                prepared.assert_hidden(&format!("{what} stdout"), &stdout);
                prepared.assert_hidden(&format!("{what} stderr"), &stderr);
                assert!(
                    stderr.contains(&prepared.address) || stdout.contains(&prepared.address),
                    "{what} does not say where it connected:\n{stdout}\n{stderr}"
                );
            }
            let _ = std::fs::remove_file(config);
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_control_api_never_shows_a_secret() {
    let servers = Servers::start();
    let api = Process::start(&["run", "--http", "127.0.0.1:0", "--json"]);
    let begun = Instant::now();
    let base = loop {
        let stdout = api.stdout();
        let listening = stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["type"] == "listening");
        if let Some(line) = listening {
            break line["url"].as_str().unwrap().to_owned();
        }
        assert!(
            begun.elapsed() < Duration::from_secs(20),
            "no address:\n{}",
            api.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let call = |method: &str, path: &str, body: Option<String>| -> (u16, String) {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.unwrap_or_default())
            .unwrap();
        let mut response = agent.run(request).unwrap();
        let body = response.body_mut().read_to_string().unwrap();
        (response.status().as_u16(), body)
    };
    // What every case must never show, checked once more after the exit.
    let forbidden: RefCell<Vec<(String, String)>> = RefCell::default();
    let index = Cell::new(0);
    runner()
        .run(&drawn(), |drawn| {
            let case = case(drawn, index.get());
            index.set(index.get() + 1);
            let prepared = case.prepare(&servers);
            let id = format!("s{}", index.get());
            let mut options = json!({"connect_timeout_ms": 1000});
            if let Some(password) = &prepared.password_option {
                options["username"] = json!(USER);
                options["password"] = json!(password);
            }
            let add = json!({"id": id, "url": prepared.url, "options": options}).to_string();
            let (status, body) = call("POST", "/streams", Some(add));
            prepared.assert_hidden("POST /streams", &body);
            assert_eq!(status, 201, "{body}");
            let shown: Value = serde_json::from_str(&body).unwrap();
            prepared.assert_useful(shown["url"].as_str().unwrap());
            // Until the first attempt is over: connected, refused or failed.
            let begun = Instant::now();
            loop {
                let (status, body) = call("GET", &format!("/streams/{id}"), None);
                prepared.assert_hidden("GET /streams/{id}", &body);
                assert_eq!(status, 200, "{body}");
                let report: Value = serde_json::from_str(&body).unwrap();
                if report["state"] == "streaming" || !report["last_error"].is_null() {
                    break;
                }
                assert!(
                    begun.elapsed() < Duration::from_secs(10),
                    "{id} still {report:#}"
                );
                thread::sleep(Duration::from_millis(50));
            }
            for path in ["/streams", "/metrics"] {
                let (_, body) = call("GET", path, None);
                prepared.assert_hidden(path, &body);
            }
            // A URL that does not parse is refused, and not echoed.
            let broken = prepared.url.replace("127.0.0.1", "[::1");
            let add = json!({"id": "broken", "url": broken}).to_string();
            let (status, body) = call("POST", "/streams", Some(add));
            prepared.assert_hidden("POST /streams (broken URL)", &body);
            assert_eq!(status, 400, "{body}");
            // A secret in the request's own query: logged, scrubbed.
            let (_, body) = call(
                "GET",
                &format!("/streams?token={}", encode(&case.secret())),
                None,
            );
            prepared.assert_hidden("GET /streams?token=", &body);
            let (status, _) = call("DELETE", &format!("/streams/{id}"), None);
            assert_eq!(status, 204);
            prepared.assert_hidden("the API's stdout", &api.stdout());
            prepared.assert_hidden("the API's stderr", &api.stderr());
            let described = format!("{case:?}");
            forbidden.borrow_mut().extend(
                prepared
                    .forbidden()
                    .into_iter()
                    .map(|form| (form, described.clone())),
            );
            Ok(())
        })
        .unwrap();
    let (stdout, stderr) = api.terminate();
    for (form, case) in forbidden.borrow().iter() {
        assert!(!stdout.contains(form), "stdout shows {form:?} ({case})");
        assert!(!stderr.contains(form), "stderr shows {form:?} ({case})");
    }
}

#[test]
fn argument_errors_do_not_echo_a_secret() {
    let secret = "ArgS3cret";
    let url = format!("rtsp://{USER}:{secret}@127.0.0.1:9/cam0?channel=1&pwd={secret}");
    for args in [
        vec!["bench", "--duration", url.as_str()],
        vec!["probe", "rtsp://127.0.0.1:9/cam0", url.as_str()],
        vec!["run", "--transport", url.as_str()],
    ] {
        let output = Command::new(BIN).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains(secret), "{args:?}: {stderr}");
        assert!(
            stderr.contains("rtsp://viewer:***@127.0.0.1:9/cam0?channel=1&pwd=***"),
            "{args:?} names the argument: {stderr}"
        );
    }
    let help = Command::new(BIN)
        .args(["probe", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: rtsp-ingest probe"));
}
