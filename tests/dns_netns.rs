//! `run` against a camera named by a host name whose DNS server never answers
//! (issue 9, item 4): a network namespace of the test's own, loopback only,
//! whose `resolv.conf` points at a UDP socket on 127.0.0.1:53 that swallows
//! every query. Ctrl-C after 2 s must end the run within the stop bound, with
//! no worker abandoned.
//!
//! Needs root (`ip netns add`) and iproute2, as CI has.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rtsp-ingest");

/// `Stream::stop` and the manager's shutdown take at most 200 ms (the issue's
/// bound); delivering the signal and ending the process get 100 ms more.
const EXIT_BOUND: Duration = Duration::from_millis(300);

/// A network namespace with only `lo`, up, and a `resolv.conf` that sends every
/// query to 127.0.0.1:53 inside it. Dropping it deletes both.
struct Namespace {
    name: String,
}

fn succeed(command: &mut Command) {
    let output = command.output().expect("iproute2 is installed");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Namespace {
    fn create(tag: &str) -> Self {
        let name = format!("rtsp-{tag}-{}", std::process::id());
        succeed(Command::new("ip").args(["netns", "add", &name]));
        let namespace = Namespace { name };
        succeed(Command::new("ip").args(["-n", &namespace.name, "link", "set", "lo", "up"]));
        let dir = namespace.config_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
        namespace
    }

    /// Where `ip netns exec` finds the files it mounts over /etc.
    fn config_dir(&self) -> String {
        format!("/etc/netns/{}", self.name)
    }

    /// `program args...` inside the namespace (`ip netns exec` execs it, so the
    /// child's pid is the program's).
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(self.config_dir());
    }
}

/// A child killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A DNS "server" on 127.0.0.1:53 inside `namespace` that reads every query
/// and answers none; counts what it swallowed.
fn silent_resolver(namespace: &Namespace) -> (Running, Arc<AtomicUsize>) {
    let script = "import socket\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        s.bind(('127.0.0.1', 53))\n\
        print('ready', flush=True)\n\
        while True:\n    s.recvfrom(4096)\n    print('query', flush=True)\n";
    let mut child = namespace
        .command("python3")
        .args(["-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let running = Running(child);
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let queries = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&queries);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line == "query" {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    (running, queries)
}

/// Every stdout line, as it comes.
fn lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

#[test]
fn ctrl_c_while_a_host_name_resolves_ends_the_run_within_the_bound() {
    let namespace = Namespace::create("dns");
    let (_resolver, queries) = silent_resolver(&namespace);
    let mut child = namespace
        .command(BIN)
        .args(["run", "--json", "rtsp://camera.invalid-host.test/live"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });
    let pid = child.id().to_string();
    let mut child = Running(child);

    std::thread::sleep(Duration::from_secs(2));
    assert!(
        queries.load(Ordering::Relaxed) > 0,
        "the camera's name was looked up with the namespace's resolver"
    );
    assert_eq!(
        child.0.try_wait().unwrap(),
        None,
        "still resolving after 2 s"
    );
    succeed(Command::new("kill").args(["-INT", &pid]));
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "no exit 10 s after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = signalled.elapsed();
    let stderr = stderr.join().unwrap();
    let stdout: Vec<String> = stdout.try_iter().collect();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        !stderr.contains("did not stop"),
        "a worker was abandoned:\n{stderr}"
    );
    assert!(
        took <= EXIT_BOUND,
        "exited {took:?} after SIGINT (bound {EXIT_BOUND:?}):\n{stderr}"
    );
    // The status lines said why nothing arrived.
    let resolving = stdout.iter().any(|line| {
        line.contains("\"type\":\"status\"") && line.contains("\"stage\":\"resolving\"")
    });
    assert!(
        resolving,
        "a status with the resolving stage in {stdout:#?}"
    );
    let summary = stdout
        .iter()
        .rev()
        .find(|line| line.contains("\"type\":\"summary\""))
        .unwrap_or_else(|| panic!("a summary line in {stdout:#?}"));
    assert!(summary.contains("\"state\":\"stopped\""), "{summary}");
}
