//! Self-test of the RTSP test fixtures (server, clips, fault proxy) using the ffmpeg CLI as
//! the client. Needs: ffmpeg, python3-gi and GStreamer's RTSP server (see
//! `rtsp_fixture::APT_PACKAGES`); fails loudly if they are missing.

#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use fault_proxy::{Corruption, Fault, FaultProxy};
use rtsp_fixture::{pattern, run_bounded, BoundedOutput, RtspServer, ServerConfig, MOUNTS};

const FRAME_BYTES: usize = pattern::WIDTH * pattern::HEIGHT * 3;

/// Decode `url` with the ffmpeg CLI into BGR24 frames.
fn ffmpeg_read(
    url: &str,
    transport: &str,
    frames: Option<u32>,
    extra_input_args: &[&str],
    timeout: Duration,
) -> BoundedOutput {
    let mut cmd = Command::new(rtsp_fixture::ffmpeg());
    cmd.args([
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-rtsp_transport",
        transport,
    ]);
    cmd.args(extra_input_args);
    cmd.args(["-i", url]);
    if let Some(n) = frames {
        cmd.args(["-frames:v", &n.to_string()]);
    }
    cmd.args(["-f", "rawvideo", "-pix_fmt", "bgr24", "-"]);
    run_bounded(&mut cmd, timeout)
}

fn frame_results(out: &BoundedOutput) -> Vec<Result<u32, String>> {
    out.stdout
        .chunks_exact(FRAME_BYTES)
        .map(pattern::check_bgr24)
        .collect()
}

/// Asserts the output is `n` pristine frames with indices `first, first+1, ...` (mod clip length).
fn assert_clean_frames(what: &str, out: &BoundedOutput, n: usize, first: u32) {
    assert!(
        out.success(),
        "{what}: ffmpeg failed: {}\n{}",
        out.describe_status(),
        out.stderr
    );
    let frames = frame_results(out);
    assert_eq!(
        frames.len(),
        n,
        "{what}: frame count (stderr: {})",
        out.stderr
    );
    for (i, r) in frames.iter().enumerate() {
        let want = (first + i as u32) % pattern::FRAMES;
        match r {
            Ok(idx) => assert_eq!(*idx, want, "{what}: frame {i} has index {idx}, want {want}"),
            Err(e) => panic!("{what}: frame {i}: {e}"),
        }
    }
}

fn read_all_mounts(transport: &str) {
    let server = RtspServer::start_looping();
    for mount in MOUNTS {
        let t = Instant::now();
        let out = ffmpeg_read(
            &server.url(mount),
            transport,
            Some(20),
            &[],
            Duration::from_secs(30),
        );
        // Per-client media: every client starts at frame 0.
        assert_clean_frames(&format!("{mount} over {transport}"), &out, 20, 0);
        eprintln!("{mount} over {transport}: 20 frames in {:?}", t.elapsed());
    }
}

#[test]
fn all_mounts_over_tcp_start_at_frame_zero_with_exact_pattern() {
    read_all_mounts("tcp");
}

#[test]
fn all_mounts_over_udp_start_at_frame_zero_with_exact_pattern() {
    read_all_mounts("udp");
}

#[test]
fn play_once_ends_after_one_clip() {
    let server = RtspServer::start_once();
    for mount in [rtsp_fixture::MOUNT_H264, rtsp_fixture::MOUNT_MJPEG] {
        let out = ffmpeg_read(
            &server.url(mount),
            "tcp",
            None,
            &[],
            Duration::from_secs(30),
        );
        assert_clean_frames(mount, &out, pattern::FRAMES as usize, 0);
        // Paced in real time: 75 frames at 25 fps = 3 s.
        assert!(
            out.elapsed >= Duration::from_millis(2500) && out.elapsed < Duration::from_secs(15),
            "{mount}: play-once took {:?}",
            out.elapsed
        );
    }
}

#[test]
fn looping_is_continuous_and_real_time() {
    let server = RtspServer::start_looping();
    let out = ffmpeg_read(
        &server.url("/h265"),
        "tcp",
        Some(100),
        &[],
        Duration::from_secs(30),
    );
    assert_clean_frames("/h265 loop", &out, 100, 0); // wraps 74 -> 0
    assert!(
        out.elapsed >= Duration::from_millis(3500),
        "100 frames in {:?}",
        out.elapsed
    );
}

#[test]
fn auth_rejects_without_credentials_and_accepts_with() {
    let server = RtspServer::start(ServerConfig::default().looping().auth("alice", "s3cret"));
    let out = ffmpeg_read(
        &server.url("/h264"),
        "tcp",
        Some(5),
        &[],
        Duration::from_secs(20),
    );
    assert!(
        !out.success(),
        "no credentials must fail; stderr: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("401"),
        "expected a 401, got: {}",
        out.stderr
    );

    let wrong = rtsp_fixture::rtsp_url(server.addr(), "/h264", Some(("alice", "nope")));
    let out = ffmpeg_read(&wrong, "tcp", Some(5), &[], Duration::from_secs(20));
    assert!(
        !out.success() && out.stderr.contains("401"),
        "wrong password: {}",
        out.stderr
    );

    let out = ffmpeg_read(
        &server.url_with_credentials("/h264"),
        "tcp",
        Some(10),
        &[],
        Duration::from_secs(20),
    );
    assert_clean_frames("with credentials", &out, 10, 0);
}

#[test]
fn proxy_pass_through() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    let out = ffmpeg_read(
        &proxy.url("/h264"),
        "tcp",
        Some(20),
        &[],
        Duration::from_secs(30),
    );
    assert_clean_frames("through proxy", &out, 20, 0);
    let st = proxy.stats();
    assert_eq!(st.accepted, 1);
    assert!(
        st.bytes_client_to_server > 100 && st.bytes_server_to_client > 1000,
        "{st:?}"
    );
    assert_eq!(st.bytes_corrupted, 0);
    assert!(
        proxy.wait_until(Duration::from_secs(5), |s| s.active == 0),
        "{:?}",
        proxy.stats()
    );
}

/// Runs ffmpeg (until EOF, `-f null`) through the proxy on another thread.
fn spawn_endless_ffmpeg(
    url: String,
    extra: &'static [&'static str],
) -> thread::JoinHandle<BoundedOutput> {
    thread::spawn(move || {
        let mut cmd = Command::new(rtsp_fixture::ffmpeg());
        cmd.args([
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-rtsp_transport",
            "tcp",
        ])
        .args(extra)
        .args(["-i", &url, "-f", "null", "-"]);
        run_bounded(&mut cmd, Duration::from_secs(40))
    })
}

fn wait_media_flowing(proxy: &FaultProxy) {
    let t = Instant::now();
    assert!(
        proxy.wait_until(Duration::from_secs(15), |s| s.active == 1
            && s.bytes_server_to_client > 3000),
        "media not flowing through proxy: {:?}",
        proxy.stats()
    );
    // Let at least a second of media through.
    thread::sleep(Duration::from_secs(1).saturating_sub(t.elapsed()));
}

#[test]
fn proxy_cut_mid_stream_ends_the_client() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    let client = spawn_endless_ffmpeg(proxy.url("/h264"), &[]);
    wait_media_flowing(&proxy);
    let cut_at = Instant::now();
    assert_eq!(proxy.cut_all(), 1);
    let out = client.join().expect("ffmpeg thread");
    let after_cut = cut_at.elapsed();
    assert!(
        !out.timed_out,
        "ffmpeg kept running after the cut: {}",
        out.stderr
    );
    assert!(
        after_cut < Duration::from_secs(10),
        "ffmpeg took {after_cut:?} to notice the cut"
    );
    eprintln!(
        "cut: ffmpeg ended {after_cut:?} after the cut ({})",
        out.describe_status()
    );
    assert_eq!(proxy.stats().cut_connections, 1);
}

#[test]
fn proxy_stall_trips_the_client_timeout() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    let client = spawn_endless_ffmpeg(proxy.url("/h264"), &["-timeout", "2000000"]);
    wait_media_flowing(&proxy);
    let before = proxy.stats().bytes_server_to_client;
    let stall_at = Instant::now();
    proxy.set_fault(Fault::Stall);
    let out = client.join().expect("ffmpeg thread");
    let after = stall_at.elapsed();
    assert!(
        !out.timed_out,
        "ffmpeg did not notice the stall: {}",
        out.stderr
    );
    // ffmpeg 5.1 CLI: the 2 s socket timeout fires, the CLI retries the read a few times,
    // then tears down: it ends ~10 s after the stall. An engine watchdog should be faster.
    assert!(
        after < Duration::from_secs(20),
        "ffmpeg took {after:?} to notice the stall: {}",
        out.stderr
    );
    let delta = proxy.stats().bytes_server_to_client - before;
    assert!(
        delta < 16 * 1024,
        "{delta} bytes forwarded during the stall"
    );
    eprintln!(
        "stall: ffmpeg ended {after:?} after the stall ({})",
        out.describe_status()
    );
}

#[test]
fn proxy_black_hole_times_out() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    proxy.set_fault(Fault::BlackHole);
    let out = ffmpeg_read(
        &proxy.url("/h264"),
        "tcp",
        Some(5),
        &["-timeout", "2000000"],
        Duration::from_secs(20),
    );
    assert!(
        !out.timed_out && !out.success(),
        "black hole must fail: {}",
        out.describe_status()
    );
    assert!(
        out.elapsed < Duration::from_secs(8),
        "black hole took {:?}",
        out.elapsed
    );
    assert_eq!(proxy.stats().bytes_server_to_client, 0);
    eprintln!(
        "black hole: {} / {}",
        out.describe_status(),
        out.stderr.trim()
    );
}

#[test]
fn proxy_garbage_fails_fast() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    proxy.set_fault(Fault::Garbage);
    let out = ffmpeg_read(
        &proxy.url("/h264"),
        "tcp",
        Some(5),
        &["-timeout", "2000000"],
        Duration::from_secs(20),
    );
    assert!(
        !out.timed_out && !out.success(),
        "garbage must fail: {}",
        out.describe_status()
    );
    assert!(
        out.elapsed < Duration::from_secs(8),
        "garbage took {:?}",
        out.elapsed
    );
    assert!(proxy.stats().bytes_garbage > 0);
    eprintln!("garbage: {} / {}", out.describe_status(), out.stderr.trim());
}

#[test]
fn proxy_refuse_then_accept_again() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    let t = Instant::now();
    proxy.cut_all_and_refuse_for(Duration::from_secs(3));
    assert!(!proxy.is_listening());
    let out = ffmpeg_read(
        &proxy.url("/h264"),
        "tcp",
        Some(5),
        &["-timeout", "2000000"],
        Duration::from_secs(20),
    );
    assert!(!out.success(), "connect during refuse window must fail");
    assert!(
        out.stderr.contains("refused"),
        "expected 'Connection refused': {}",
        out.stderr
    );
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "refused connect took too long: {:?}",
        t.elapsed()
    );
    let t2 = Instant::now();
    while !proxy.is_listening() && t2.elapsed() < Duration::from_secs(6) {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        proxy.is_listening(),
        "proxy did not re-listen after the refuse window"
    );
    let out = ffmpeg_read(
        &proxy.url("/h264"),
        "tcp",
        Some(10),
        &[],
        Duration::from_secs(20),
    );
    assert_clean_frames("after refuse window", &out, 10, 0);
}

#[test]
fn proxy_corrupts_media_but_keeps_the_session() {
    let server = RtspServer::start_looping();
    let proxy = FaultProxy::start(server.addr());
    proxy.set_fault(Fault::Corrupt(Corruption::rtp_payload(0.002)));
    let out = ffmpeg_read(
        &proxy.url("/mjpeg"),
        "tcp",
        Some(40),
        &[],
        Duration::from_secs(30),
    );
    let st = proxy.stats();
    assert!(!out.timed_out, "corrupted stream hung ffmpeg");
    assert!(st.bytes_corrupted > 0, "{st:?}");
    let frames = frame_results(&out);
    let broken = frames.iter().filter(|r| r.is_err()).count();
    let indices: Vec<u32> = frames
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    eprintln!(
        "corrupt: {} corrupted bytes, {} frames decoded, {broken} fail the pattern, {}",
        st.bytes_corrupted,
        frames.len(),
        out.describe_status()
    );
    // The RTSP session survived (frames kept coming) ...
    assert!(
        frames.len() >= 20,
        "only {} frames: {}",
        frames.len(),
        out.stderr
    );
    // ... but the pictures did not.
    let pristine_sequence = broken == 0 && indices.iter().enumerate().all(|(i, &x)| x == i as u32);
    assert!(!pristine_sequence, "corruption had no visible effect");
}

#[test]
fn server_can_be_killed_and_restarted_on_the_same_port() {
    let mut server = RtspServer::start_looping();
    let port = server.port();
    let url = server.url("/h264");
    let client = spawn_endless_ffmpeg(url.clone(), &[]);
    thread::sleep(Duration::from_millis(1500));
    server.kill(); // camera power loss
    let out = client.join().expect("ffmpeg thread");
    assert!(!out.timed_out, "ffmpeg did not notice the server dying");
    let server2 = RtspServer::start(ServerConfig::default().looping().port(port));
    assert_eq!(server2.url("/h264"), url);
    let out = ffmpeg_read(&url, "tcp", Some(10), &[], Duration::from_secs(20));
    assert_clean_frames("restarted server", &out, 10, 0);
}
