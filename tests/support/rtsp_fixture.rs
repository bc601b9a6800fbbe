//! Real RTSP servers on 127.0.0.1 for integration tests (std only).
//!
//! Include from a test crate with
//! `#[path = "support/rtsp_fixture.rs"] mod rtsp_fixture;`
//!
//! * [`clips_dir`] makes (once, cached under `CARGO_TARGET_TMPDIR`) the clips of
//!   `tests/fixtures/make_clips.sh` with the `ffmpeg` CLI.
//! * [`RtspServer::start`] runs `tests/fixtures/rtsp_server.py` (GStreamer gst-rtsp-server
//!   through python3-gi) on a free port and returns a guard; dropping it stops the server.
//! * [`pattern`] knows the picture in the clips, so a test can check decoded frames and read
//!   the frame index burnt into them.
//! * [`run_bounded`] runs a command (e.g. the `ffmpeg` CLI) with a hard timeout.
//!
//! Missing tools (python3-gi, GStreamer plugins, ffmpeg) make these helpers panic with the
//! list of packages to install: a test that needs a server must never silently skip.
//!
//! Environment overrides: `RTSP_FIXTURE_PYTHON` (default `/usr/bin/python3` when present,
//! else `python3`; the pyenv shim usually has no `gi`), `RTSP_FIXTURE_FFMPEG` (default
//! `ffmpeg`), `RTSP_FIXTURE_VERBOSE=1` (echo the server's stderr live).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Packages a Debian/Ubuntu CI image needs for these fixtures.
pub const APT_PACKAGES: &str = "ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 \
     gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad";

/// Mount points served by [`RtspServer`] (one per clip made by `make_clips.sh`).
pub const MOUNT_H264: &str = "/h264";
/// H.264 with B-frames (PTS != DTS).
pub const MOUNT_H264_BFRAMES: &str = "/h264-bframes";
/// H.265 / HEVC.
pub const MOUNT_H265: &str = "/h265";
/// Motion JPEG (RTP/JPEG, RFC 2435).
pub const MOUNT_MJPEG: &str = "/mjpeg";
/// All mounts.
pub const MOUNTS: [&str; 4] = [MOUNT_H264, MOUNT_H264_BFRAMES, MOUNT_H265, MOUNT_MJPEG];

const SERVER_READY_TIMEOUT: Duration = Duration::from_secs(30);
const CLIPS_TIMEOUT: Duration = Duration::from_secs(180);

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures` of this crate.
pub fn fixtures_dir() -> PathBuf {
    manifest_dir().join("tests").join("fixtures")
}

/// The python interpreter used for the server (system python, which has `gi`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("RTSP_FIXTURE_PYTHON") {
        return PathBuf::from(p);
    }
    let sys = Path::new("/usr/bin/python3");
    if sys.exists() {
        sys.to_path_buf()
    } else {
        PathBuf::from("python3")
    }
}

/// The ffmpeg CLI.
pub fn ffmpeg() -> PathBuf {
    std::env::var_os("RTSP_FIXTURE_FFMPEG").map_or_else(|| PathBuf::from("ffmpeg"), PathBuf::from)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const CLIP_FILES: [&str; 4] = ["h264.mp4", "h264_bframes.mp4", "h265.mp4", "mjpeg.mkv"];
const COMPLETE_MARKER: &str = ".complete";

/// Directory with the test clips, generated on first use and cached by the content of
/// `make_clips.sh` (in `CARGO_TARGET_TMPDIR`, shared by all test binaries and runs).
/// Safe to call concurrently from threads and processes. Panics if ffmpeg fails.
pub fn clips_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(make_clips).clone()
}

fn make_clips() -> PathBuf {
    let script = fixtures_dir().join("make_clips.sh");
    let text = std::fs::read(&script)
        .unwrap_or_else(|e| panic!("rtsp_fixture: cannot read {}: {e}", script.display()));
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = root.join(format!("rtsp-fixture-clips-{:016x}", fnv1a(&text)));
    if dir.join(COMPLETE_MARKER).exists() {
        return dir;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = root.join(format!(
        "rtsp-fixture-clips-tmp-{}-{}",
        std::process::id(),
        nanos
    ));
    std::fs::create_dir_all(&tmp)
        .unwrap_or_else(|e| panic!("rtsp_fixture: cannot create {}: {e}", tmp.display()));
    let out = run_bounded(
        Command::new("bash")
            .arg(&script)
            .arg(&tmp)
            .env("FFMPEG", ffmpeg()),
        CLIPS_TIMEOUT,
    );
    if !out.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        panic!(
            "rtsp_fixture: making test clips failed ({}).\n\
             Needs the ffmpeg CLI with libx264, libx265 and mjpeg (apt-get install {APT_PACKAGES}).\n\
             stderr:\n{}",
            out.describe_status(),
            out.stderr
        );
    }
    for f in CLIP_FILES {
        assert!(
            tmp.join(f).is_file(),
            "rtsp_fixture: make_clips.sh did not produce {f}"
        );
    }
    std::fs::write(tmp.join(COMPLETE_MARKER), b"ok\n").expect("write marker");
    // Publish atomically; if another process won the race, use its copy.
    if std::fs::rename(&tmp, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        assert!(
            dir.join(COMPLETE_MARKER).exists(),
            "rtsp_fixture: cannot publish clips into {}",
            dir.display()
        );
    }
    dir
}

/// Lower transports the server accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocols {
    /// RTP over UDP and RTP interleaved in the RTSP TCP connection.
    TcpAndUdp,
    /// Interleaved TCP only (a UDP SETUP gets `461 Unsupported transport`).
    TcpOnly,
    /// UDP only.
    UdpOnly,
}

/// How to start an [`RtspServer`]. `ServerConfig::default()`: play each clip once, no auth,
/// per-client media, TCP and UDP, the standard clips.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Loop clips forever with continuous timestamps (false: play once, then EOS/RTCP BYE).
    pub looping: bool,
    /// Require HTTP Basic credentials `(user, password)`; without them clients get 401.
    pub auth: Option<(String, String)>,
    /// Check `auth` with Digest (MD5 over the request URI) instead of Basic.
    pub digest: bool,
    /// One pipeline shared by all clients (camera-like, non-deterministic start frame).
    pub shared: bool,
    /// Allowed lower transports.
    pub protocols: Protocols,
    /// Extra mounts `(mount, file)`, e.g. `("/cam", path_to_clip)`; any container/codec
    /// GStreamer's parsebin understands with H.264, H.265 or JPEG video.
    pub extra_clips: Vec<(String, PathBuf)>,
    /// Port to listen on; 0 = a free one.
    pub port: u16,
    /// Safety net: the server exits by itself after this long (it also exits when the test
    /// process dies, because it watches its stdin).
    pub max_lifetime: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            looping: false,
            auth: None,
            digest: false,
            shared: false,
            protocols: Protocols::TcpAndUdp,
            extra_clips: Vec::new(),
            port: 0,
            max_lifetime: Duration::from_secs(30 * 60),
        }
    }
}

impl ServerConfig {
    /// Loop clips forever.
    pub fn looping(mut self) -> Self {
        self.looping = true;
        self
    }
    /// Require Basic auth.
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }
    /// Require Digest auth.
    pub fn digest_auth(mut self, user: &str, password: &str) -> Self {
        self.digest = true;
        self.auth(user, password)
    }
    /// Shared media.
    pub fn shared(mut self) -> Self {
        self.shared = true;
        self
    }
    /// Allowed transports.
    pub fn protocols(mut self, p: Protocols) -> Self {
        self.protocols = p;
        self
    }
    /// Listen on a fixed port (e.g. to restart a server on the same port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// Serve `file` at `mount` in addition to the standard clips.
    pub fn clip(mut self, mount: &str, file: impl Into<PathBuf>) -> Self {
        self.extra_clips.push((mount.to_owned(), file.into()));
        self
    }
}

/// A running `rtsp_server.py`. Dropping it stops the server (stdin EOF, then SIGKILL after 5 s).
pub struct RtspServer {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    auth: Option<(String, String)>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
}

const STDERR_KEEP: usize = 64 * 1024;

fn spawn_tail_reader(mut r: impl Read + Send + 'static, buf: Arc<Mutex<VecDeque<u8>>>, echo: bool) {
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if echo {
                        eprint!("[rtsp_server] {}", String::from_utf8_lossy(&chunk[..n]));
                    }
                    let mut b = buf.lock().unwrap_or_else(|p| p.into_inner());
                    b.extend(&chunk[..n]);
                    let excess = b.len().saturating_sub(STDERR_KEEP);
                    b.drain(..excess);
                }
            }
        }
    });
}

impl RtspServer {
    /// Start a server with the standard clips; blocks until it is listening (max 30 s).
    /// Panics with the server's error output if it cannot start.
    pub fn start(config: ServerConfig) -> RtspServer {
        let clips = clips_dir();
        let script = fixtures_dir().join("rtsp_server.py");
        let py = python();
        let mut cmd = Command::new(&py);
        cmd.arg("-u")
            .arg(&script)
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(config.port.to_string())
            .arg("--media")
            .arg(&clips)
            .arg("--exit-on-stdin-eof")
            .arg("--max-seconds")
            .arg(config.max_lifetime.as_secs_f64().to_string())
            .arg("--protocols")
            .arg(match config.protocols {
                Protocols::TcpAndUdp => "tcp,udp",
                Protocols::TcpOnly => "tcp",
                Protocols::UdpOnly => "udp",
            });
        if config.looping {
            cmd.arg("--loop");
        }
        if config.shared {
            cmd.arg("--shared");
        }
        if let Some((u, p)) = &config.auth {
            cmd.arg("--auth").arg(format!("{u}:{p}"));
            if config.digest {
                cmd.arg("--auth-method").arg("digest");
            }
        }
        for (mount, file) in &config.extra_clips {
            cmd.arg("--clip").arg(format!("{mount}={}", file.display()));
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "rtsp_fixture: cannot run {} ({e}); install python3 and: apt-get install {APT_PACKAGES}",
                py.display()
            )
        });
        let stdin = child.stdin.take();
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let verbose = std::env::var_os("RTSP_FIXTURE_VERBOSE").is_some_and(|v| v != "0");
        spawn_tail_reader(
            child.stderr.take().expect("stderr piped"),
            Arc::clone(&stderr),
            verbose,
        );
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("stdout piped");
        thread::spawn(move || {
            // Forward lines until READY/ERROR, then keep draining so the child never blocks.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });

        let mut server = RtspServer {
            child,
            stdin,
            port: 0,
            auth: config.auth.clone(),
            stderr,
        };
        let deadline = Instant::now() + SERVER_READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("READY ") {
                        let port = rest
                            .split_whitespace()
                            .find_map(|kv| kv.strip_prefix("port="))
                            .and_then(|p| p.parse::<u16>().ok())
                            .unwrap_or_else(|| panic!("rtsp_fixture: bad READY line {line:?}"));
                        server.port = port;
                        return server;
                    }
                    if let Some(msg) = line.strip_prefix("ERROR ") {
                        server.fail(&format!("server reported: {msg}"));
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(st)) = server.child.try_wait() {
                        server.fail(&format!("server exited before READY ({st})"));
                    }
                    if left.is_zero() {
                        server.fail(&format!("server not READY within {SERVER_READY_TIMEOUT:?}"));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // stdout closed: the child is exiting; give it a moment for its status.
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_secs(2) {
                        if let Ok(Some(_)) = server.child.try_wait() {
                            break;
                        }
                        thread::sleep(Duration::from_millis(20));
                    }
                    server.fail("server closed stdout before READY");
                }
            }
        }
    }

    /// Loop clips forever, no auth.
    pub fn start_looping() -> RtspServer {
        Self::start(ServerConfig::default().looping())
    }

    /// Play each clip once, no auth.
    pub fn start_once() -> RtspServer {
        Self::start(ServerConfig::default())
    }

    fn fail(&mut self, what: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        thread::sleep(Duration::from_millis(50)); // let the stderr reader catch up
        panic!(
            "rtsp_fixture: {what}.\n\
             The RTSP test server needs GStreamer's RTSP server via python3-gi \
             (python: {}; override with RTSP_FIXTURE_PYTHON).\n\
             On Debian/Ubuntu: apt-get install {APT_PACKAGES}\n\
             server stderr:\n{}",
            python().display(),
            self.stderr_log()
        );
    }

    /// TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`, e.g. as the target of a `FaultProxy`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    /// `rtsp://127.0.0.1:port/path` (without credentials even if the server wants them).
    pub fn url(&self, path: &str) -> String {
        rtsp_url(self.addr(), path, None)
    }

    /// `rtsp://user:pass@127.0.0.1:port/path` with the configured credentials.
    /// Panics if the server has no auth.
    pub fn url_with_credentials(&self, path: &str) -> String {
        let (u, p) = self
            .auth
            .as_ref()
            .expect("rtsp_fixture: url_with_credentials on a server without --auth");
        rtsp_url(self.addr(), path, Some((u, p)))
    }

    /// Credentials the server requires, if any.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.auth.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// Last 64 KiB of the server's stderr.
    pub fn stderr_log(&self) -> String {
        let b = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let (a, c) = b.as_slices();
        let mut v = a.to_vec();
        v.extend_from_slice(c);
        String::from_utf8_lossy(&v).into_owned()
    }

    /// Whether the server process is still alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kill the server abruptly (SIGKILL), e.g. to simulate a camera power loss. The port is
    /// then free; start a new server with `ServerConfig::default().port(old_port)` to
    /// simulate the camera coming back.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stop gracefully (stdin EOF -> main loop quits), SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.stdin.take(); // EOF
        let t = Instant::now();
        while t.elapsed() < grace {
            match self.child.try_wait() {
                Ok(Some(st)) => return Some(st),
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// `rtsp://[user:pass@]ip:port/path`.
pub fn rtsp_url(addr: SocketAddr, path: &str, creds: Option<(&str, &str)>) -> String {
    let path = path.trim_start_matches('/');
    match creds {
        Some((u, p)) => format!("rtsp://{u}:{p}@{addr}/{path}"),
        None => format!("rtsp://{addr}/{path}"),
    }
}

/// Result of [`run_bounded`].
#[derive(Debug)]
pub struct BoundedOutput {
    /// Exit status; `None` if the process had to be killed at the timeout.
    pub status: Option<ExitStatus>,
    /// Whether the timeout hit (the process was killed).
    pub timed_out: bool,
    /// Wall time until exit (or kill).
    pub elapsed: Duration,
    /// All of stdout.
    pub stdout: Vec<u8>,
    /// All of stderr, lossily decoded.
    pub stderr: String,
}

impl BoundedOutput {
    /// Exited by itself with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
    /// Human-readable exit description.
    pub fn describe_status(&self) -> String {
        match (self.timed_out, self.status) {
            (true, _) => format!("killed after timeout at {:?}", self.elapsed),
            (false, Some(s)) => format!("{s} after {:?}", self.elapsed),
            (false, None) => "unknown status".to_owned(),
        }
    }
}

/// Run `cmd` (stdin null, stdout/stderr captured) and kill it if it runs longer than `timeout`.
/// Panics only if the program cannot be spawned.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> BoundedOutput {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("rtsp_fixture: cannot spawn {cmd:?}: {e}"));
    let mut so = child.stdout.take().expect("piped");
    let mut se = child.stderr.take().expect("piped");
    let t_out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() >= timeout => {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(_) => break None,
        }
    };
    let elapsed = start.elapsed();
    // Grandchildren could keep the pipes open; the process itself is gone, so this is bounded
    // for the programs used here (ffmpeg, bash+ffmpeg).
    let stdout = t_out.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    BoundedOutput {
        status,
        timed_out,
        elapsed,
        stdout,
        stderr,
    }
}

/// The picture in every clip (see `tests/fixtures/make_clips.sh`), and checks for decoded frames.
///
/// Layout, in fractions of the frame so it also works on scaled output (clips are 320x240):
/// * top 2/3: four vertical bands, each 1/4 wide: red, green, blue, grey(128);
/// * bottom 1/3: the 0-based frame index within the clip as 8 bits, MSB left, each 1/8 wide,
///   white = 1, black = 0. Clips have [`FRAMES`] frames, so with looping the index wraps
///   75 -> 0 (`expected = n % FRAMES`).
pub mod pattern {
    /// Clip width.
    pub const WIDTH: usize = 320;
    /// Clip height.
    pub const HEIGHT: usize = 240;
    /// Frames per second.
    pub const FPS: u32 = 25;
    /// Frames per clip (3 s).
    pub const FRAMES: u32 = 75;
    /// Band colours in B, G, R byte order (red, green, blue, grey).
    pub const BANDS_BGR: [[u8; 3]; 4] = [[0, 0, 255], [0, 255, 0], [255, 0, 0], [128, 128, 128]];
    /// Band names for messages.
    pub const BAND_NAMES: [&str; 4] = ["red", "green", "blue", "grey"];
    /// A tolerance that passes all clips after decode + BT.601 conversion with margin
    /// (observed max deviation: 2).
    pub const DEFAULT_TOLERANCE: u8 = 24;

    /// Byte layout of a packed frame.
    #[derive(Clone, Copy, Debug)]
    pub struct Layout {
        /// Width in pixels.
        pub width: usize,
        /// Height in pixels.
        pub height: usize,
        /// Bytes per row.
        pub stride: usize,
        /// Bytes per pixel (3 for BGR24/RGB24, 4 for BGRA/RGBA...).
        pub bytes_per_pixel: usize,
        /// Byte offsets of R, G and B within a pixel.
        pub rgb_offsets: [usize; 3],
    }

    impl Layout {
        /// Tightly packed BGR24.
        pub fn bgr24(width: usize, height: usize) -> Layout {
            Layout {
                width,
                height,
                stride: width * 3,
                bytes_per_pixel: 3,
                rgb_offsets: [2, 1, 0],
            }
        }
        /// Tightly packed RGB24.
        pub fn rgb24(width: usize, height: usize) -> Layout {
            Layout {
                width,
                height,
                stride: width * 3,
                bytes_per_pixel: 3,
                rgb_offsets: [0, 1, 2],
            }
        }
        /// Bytes of one frame.
        pub fn frame_len(&self) -> usize {
            self.stride * (self.height - 1) + self.width * self.bytes_per_pixel
        }
    }

    fn bgr_at(frame: &[u8], l: &Layout, fx: f64, fy: f64) -> [u8; 3] {
        let x = ((fx * l.width as f64) as usize).min(l.width - 1);
        let y = ((fy * l.height as f64) as usize).min(l.height - 1);
        let o = y * l.stride + x * l.bytes_per_pixel;
        [
            frame[o + l.rgb_offsets[2]],
            frame[o + l.rgb_offsets[1]],
            frame[o + l.rgb_offsets[0]],
        ]
    }

    /// Reads the frame index from the bit blocks. Each bit is sampled at 3 points that must
    /// agree and be clearly black (<64) or white (>191) in all channels' mean.
    pub fn frame_index(frame: &[u8], l: &Layout) -> Result<u32, String> {
        assert!(frame.len() >= l.frame_len(), "frame buffer too short");
        let mut v = 0u32;
        for bit in 0..8 {
            let mut b = None;
            for (dx, fy) in [(0.5, 5.0 / 6.0), (0.25, 0.72), (0.75, 0.95)] {
                let p = bgr_at(frame, l, (bit as f64 + dx) / 8.0, fy);
                let m = (u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3;
                let this = if m < 64 {
                    0
                } else if m > 191 {
                    1
                } else {
                    return Err(format!("bit {bit}: pixel {p:?} neither black nor white"));
                };
                match b {
                    None => b = Some(this),
                    Some(prev) if prev != this => {
                        return Err(format!("bit {bit}: block is not uniform"));
                    }
                    _ => {}
                }
            }
            v = (v << 1) | b.unwrap_or(0);
        }
        Ok(v)
    }

    /// Checks the colour bands (each sampled at 3 points, every channel within `tolerance`)
    /// and returns the frame index.
    pub fn check(frame: &[u8], l: &Layout, tolerance: u8) -> Result<u32, String> {
        assert!(frame.len() >= l.frame_len(), "frame buffer too short");
        for (band, want) in BANDS_BGR.iter().enumerate() {
            for (dx, fy) in [(0.5, 1.0 / 3.0), (0.25, 0.1), (0.75, 0.6)] {
                let fx = (band as f64 + dx) / 4.0;
                let got = bgr_at(frame, l, fx, fy);
                let bad = (0..3).any(|i| got[i].abs_diff(want[i]) > tolerance);
                if bad {
                    return Err(format!(
                        "{} band at ({:.0},{:.0}): got BGR {got:?}, want {want:?} +-{tolerance}",
                        BAND_NAMES[band],
                        fx * l.width as f64,
                        fy * l.height as f64
                    ));
                }
            }
        }
        frame_index(frame, l)
    }

    /// [`check`] for tightly packed 320x240 BGR24 with [`DEFAULT_TOLERANCE`].
    pub fn check_bgr24(frame: &[u8]) -> Result<u32, String> {
        check(frame, &Layout::bgr24(WIDTH, HEIGHT), DEFAULT_TOLERANCE)
    }
}
