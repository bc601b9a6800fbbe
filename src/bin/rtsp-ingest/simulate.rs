//! `rtsp-ingest simulate` (serve simulated RTSP cameras) and `rtsp-ingest demo`
//! (serve them in-process and ingest them with the live status table).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use rtsp_ingest::ffmpeg::VideoCodec;
use rtsp_ingest::simulate::{
    parse_credentials, AudioCodec, Fault, FaultSpec, PatternOptions, Quirk, Simulator,
    SimulatorConfig,
};
use rtsp_ingest::stream::StreamConfig;

use crate::consumer::{ConsumerOptions, Consumers, SendLookup};
use crate::monitor::Monitor;
use crate::run::{finish, ingest, parse_seconds, signals};

/// What the simulated cameras send.
#[derive(Clone, Debug, Args)]
pub struct MediaArgs {
    /// Serve this clip (H.264, H.265 or MJPEG), looped, instead of the test pattern.
    #[arg(long, value_name = "FILE")]
    pub clip: Option<PathBuf>,

    /// The test pattern's size.
    #[arg(long, value_name = "WxH", default_value = "640x360", value_parser = parse_size)]
    pub size: (u32, u32),

    /// The test pattern's frame rate.
    #[arg(long, value_name = "N", default_value = "25")]
    pub fps: u32,

    /// The test pattern's codec.
    #[arg(long, value_name = "h264|h265|mjpeg", default_value = "h264", value_parser = parse_codec)]
    pub codec: VideoCodec,

    /// Frames in the test pattern's loop (1 ..= 4096; default 100, and 250
    /// for `bench --latency`). Each frame carries its index in the loop as a
    /// stamp; latency is measured exactly while it stays below one loop.
    #[arg(long, value_name = "N")]
    pub frames: Option<u32>,

    /// Noise on the test pattern (0 ..= 255), so it is not trivially compressible.
    #[arg(long, value_name = "A", default_value = "0")]
    pub noise: u8,

    /// A fault, for every camera or one (`cam1:`): `cut-every=10s`,
    /// `stall-after=5s`, `corrupt=0.001`, `auth=user:pass`,
    /// `resize-after=3s:1280x720`, `tcp-loss=P` (over TCP, each RTP packet
    /// dropped whole with probability P); for sessions over UDP `udp-loss=P` (each
    /// RTP packet lost with probability P), `udp-reorder=P` (held back and sent
    /// after the next `udp-reorder-depth=K` packets, default 3),
    /// `udp-duplicate=P` (sent twice), `udp-jitter=20ms` (each datagram delayed
    /// up to that, order kept); `video-stops-after=2s` (the audio and
    /// metadata go on), `keyframe-pause=500ms`; `rtp-ts-jump=5s:+10s`,
    /// `sr-clock-step=5s:-30s` (the RTP timestamps or the sender reports'
    /// wall clock move), `sdp-framerate=30` (declared, not delivered),
    /// `session-timeout=5s` (sessions without keepalives dropped),
    /// `digest-auth=user:pass` with `digest-nonce-every=N`. Repeatable.
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<FaultSpec>,

    /// Answer SETUP for RTP over TCP with 461 Unsupported Transport, like
    /// VLC's RTSP server: cameras that only offer UDP.
    #[arg(long, conflicts_with = "refuse_udp")]
    pub refuse_tcp: bool,

    /// Answer SETUP for RTP over UDP with 461 Unsupported Transport: cameras
    /// that only offer TCP.
    #[arg(long)]
    pub refuse_udp: bool,

    /// Accept RTP over TCP but send nothing over it (UDP is served).
    #[arg(long)]
    pub silent_tcp: bool,

    /// An audio track beside the video (`streamid=1`): G.711 A-law or AAC.
    #[arg(long, value_name = "alaw|aac")]
    pub audio: Option<AudioCodec>,

    /// An ONVIF metadata track beside the video (`streamid=2`).
    #[arg(long)]
    pub metadata: bool,

    /// Leave the parameter sets (`sprop-parameter-sets`) and the size out of
    /// the SDP, as many cameras do; they still come in band before every
    /// keyframe.
    #[arg(long)]
    pub no_sprop: bool,

    /// Imitate a real camera's protocol or SDP habit, on every camera:
    /// `empty-fmtp`, `no-origin`, `header-spaces`, `lf-only`,
    /// `content-base-no-scheme`, `rtcp-before-play`, `rtp-before-play`,
    /// `stray-channel`, `ssrc-in-rtp-info-only`, `one-client`. Repeatable.
    #[arg(long = "quirk", value_name = "NAME", value_parser = parse_quirk)]
    pub quirks: Vec<Quirk>,

    /// Require this login on every camera (401 without it).
    #[arg(long, value_name = "USER:PASS")]
    pub auth: Option<String>,
}

/// The arguments of `simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// How many cameras: `/cam0` … `/camN-1`.
    #[arg(long, value_name = "N", default_value = "1")]
    cameras: usize,

    /// The address to serve on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8554")]
    addr: SocketAddr,

    #[command(flatten)]
    media: MediaArgs,

    /// Stop after this many seconds (default: until Ctrl-C or SIGTERM).
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    duration: Option<Duration>,

    /// Write a line per frame sent to this file, `camera session n index
    /// wall_ns` (when its first packet was written; `index` is the stamp
    /// drawn in it), for `bench --latency --stamp-log` and other readers.
    #[arg(long, value_name = "PATH")]
    stamp_log: Option<PathBuf>,
}

/// The arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many cameras.
    #[arg(long, value_name = "N", default_value = "4")]
    cameras: usize,

    #[command(flatten)]
    media: MediaArgs,

    /// Stop after this many seconds (default: until Ctrl-C or SIGTERM).
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    duration: Option<Duration>,

    /// JSON lines on stdout even on a terminal.
    #[arg(long)]
    json: bool,

    /// The work each camera's consumer (an inference stand-in) does per
    /// frame: passes over its pixels for this many milliseconds (0: none).
    #[arg(long, value_name = "MS", default_value = "10")]
    work_ms: u64,
}

/// Parses `WIDTHxHEIGHT`.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    text.split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .filter(|&(w, h): &(u32, u32)| w > 0 && h > 0)
        .ok_or_else(|| format!("`{text}` is not WIDTHxHEIGHT, e.g. 640x360"))
}

fn parse_codec(text: &str) -> Result<VideoCodec, String> {
    match text.to_ascii_lowercase().as_str() {
        "h264" => Ok(VideoCodec::H264),
        "h265" | "hevc" => Ok(VideoCodec::H265),
        "mjpeg" => Ok(VideoCodec::Mjpeg),
        _ => Err(format!("`{text}` is not h264, h265 or mjpeg")),
    }
}

fn parse_quirk(text: &str) -> Result<Quirk, String> {
    text.parse()
        .map_err(|error: rtsp_ingest::Error| error.message().to_owned())
}

impl MediaArgs {
    /// The simulator these arguments describe, with `cameras` cameras on `addr`.
    pub fn config(&self, addr: SocketAddr, cameras: usize) -> Result<SimulatorConfig, String> {
        let mut config = SimulatorConfig::default().addr(addr).cameras(cameras);
        config = match &self.clip {
            Some(path) => config.clip(path),
            None => {
                let mut pattern = PatternOptions::default()
                    .codec(self.codec)
                    .size(self.size.0, self.size.1)
                    .fps(self.fps)
                    .noise(self.noise);
                if let Some(frames) = self.frames {
                    pattern = pattern.frames(frames);
                }
                config.pattern(pattern)
            }
        };
        config = config
            .audio(self.audio)
            .metadata(self.metadata)
            .sdp_parameter_sets(!self.no_sprop);
        for &quirk in &self.quirks {
            config = config.quirk(quirk);
        }
        for spec in &self.faults {
            config = config.fault(spec.clone());
        }
        config = config
            .refuse_tcp(self.refuse_tcp)
            .refuse_udp(self.refuse_udp)
            .silent_tcp(self.silent_tcp);
        if let Some(login) = &self.auth {
            let (user, password) =
                parse_credentials(login).map_err(|e| format!("--auth: {}", e.message()))?;
            config = config.fault(FaultSpec {
                camera: None,
                fault: Fault::Auth { user, password },
            });
        }
        config.validate().map_err(|error| error.to_string())?;
        Ok(config)
    }
}

/// Serves simulated cameras until `--duration` or a signal.
pub fn simulate(args: SimulateArgs) -> Result<(), Box<dyn std::error::Error>> {
    let signals = signals()?;
    let mut config = args.media.config(args.addr, args.cameras)?;
    if let Some(path) = &args.stamp_log {
        config = config.stamp_log(path);
    }
    let mut simulator = Simulator::start(config)?;
    let media = simulator.media().clone();
    let mut stdout = std::io::stdout().lock();
    let kbit_per_s = media.bytes as f64 * 8.0 / 1e3 / media.loop_duration.as_secs_f64().max(1e-3);
    writeln!(
        stdout,
        "serving {} camera(s), {:?} {}x{} at {} fps, {} frames a loop, {kbit_per_s:.0} kbit/s, on rtsp://{}",
        simulator.cameras(),
        media.codec,
        media.width,
        media.height,
        media.fps,
        media.frames,
        simulator.addr()
    )?;
    let quirks = simulator.quirks();
    if !quirks.is_empty() {
        let names: Vec<&str> = quirks.iter().map(|quirk| quirk.name()).collect();
        writeln!(stdout, "  quirks: {}", names.join(", "))?;
    }
    for index in 0..simulator.cameras() {
        let faults = simulator
            .faults(index)
            .map(ToString::to_string)
            .unwrap_or_default();
        writeln!(stdout, "  {}  {faults}", simulator.url(index))?;
    }
    stdout.flush()?;
    drop(stdout);
    match args.duration {
        Some(duration) => {
            let _ = signals.recv_timeout(duration);
        }
        None => {
            let _ = signals.recv();
        }
    }
    simulator.stop();
    for (index, camera) in simulator.stats().cameras.iter().enumerate() {
        println!("cam{index}: {camera:?}");
    }
    Ok(())
}

/// Serves simulated cameras in-process and ingests them with the live table,
/// with one consumer per camera: it waits for the newest frame, reads its
/// stamp (glass-to-consumer latency) and works on its pixels for `--work-ms`.
pub fn demo(args: DemoArgs) -> Result<(), Box<dyn std::error::Error>> {
    let signals = signals()?;
    let config = args.media.config("127.0.0.1:0".parse()?, args.cameras)?;
    let simulator = Arc::new(Simulator::start(config)?);
    let manager = Arc::new(crate::run::manager(&Default::default()));
    let mut streams = Vec::new();
    for index in 0..simulator.cameras() {
        let id = format!("cam{index}");
        let config = StreamConfig::new(&simulator.url_with_credentials(index))?;
        manager.add(&id, config)?;
        streams.push((id, SendLookup::InProcess(Arc::clone(&simulator), index)));
    }
    let options = ConsumerOptions {
        work: (args.work_ms > 0).then(|| Duration::from_millis(args.work_ms)),
        // 10 s of frames at 25 fps.
        window: Some(250),
        warmup: Duration::ZERO,
    };
    let consumers = Arc::new(Consumers::start(&manager, streams, options)?);
    let mut monitor = Monitor::new(args.json).with_consumers(Arc::clone(&consumers));
    ingest(&manager, &mut monitor, args.duration, &signals)?;
    consumers.stop();
    finish(&manager, &mut monitor)?;
    drop(monitor);
    drop(consumers);
    drop(simulator);
    Ok(())
}
