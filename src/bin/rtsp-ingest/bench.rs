//! `rtsp-ingest bench`: ingest streams for a while and measure what it cost:
//! per stream, frames decoded / published / dropped, fps and first-frame
//! latency, and for a stream still connecting what it waits for ("no answer
//! to DESCRIBE for 3.0 s"); in total, the process's CPU time per decoded frame (`getrusage`),
//! its peak RSS, and the decode-to-publish latency percentiles.
//!
//! With `--simulate N` the cameras run in this process and their (small) CPU
//! cost is counted too; for a clean client-only figure, run `rtsp-ingest
//! simulate` (or any RTSP server) in another process and pass its URLs.
//!
//! With `--latency`, one consumer per stream waits for every new frame
//! ([`consumer`](crate::consumer)), reads its stamp and reports
//! glass-to-consumer latency and its split by stage; for an external
//! `simulate`, `--stamp-log` names the simulator's log of send times.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rtsp_ingest::redact::redact;
use rtsp_ingest::simulate::stamp::{self, SendTimes};
use rtsp_ingest::simulate::Simulator;
use rtsp_ingest::slab::PixelFormat;
use rtsp_ingest::stream::{
    DecodeMode, LatencyHistogram, OnDamage, ResizeMode, RtspClient, ScaleAlgorithm, StreamStatus,
    Transport,
};
use serde_json::{json, Value};

use crate::consumer::{summary_ms, ConsumerOptions, Consumers, SendLookup, STAGES};
use crate::options::{self, StreamOptions};
use crate::report::ReasonCounts;
use crate::run::{parse_seconds, signals};
use crate::simulate::{parse_size, MediaArgs};

/// The loop of the simulated cameras' pattern under `--latency` unless
/// `--frames` says otherwise: 10 s at 25 fps, far longer than any latency.
const LATENCY_LOOP_FRAMES: u32 = 250;

/// The arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// RTSP URLs to ingest, as `cam0`, `cam1`, ...
    #[arg(value_name = "URL")]
    urls: Vec<String>,

    /// Also ingest N simulated cameras served by this process (`sim0`, ...).
    #[arg(long, value_name = "N", default_value = "0")]
    simulate: usize,

    #[command(flatten)]
    media: MediaArgs,

    /// How long to measure, from when every stream was added.
    #[arg(long, value_name = "S", default_value = "10", value_parser = parse_seconds)]
    duration: Duration,

    /// Output pixel format.
    #[arg(
        long,
        value_name = "bgr24|rgb24|gray8|yuv420p|nv12|rgb_planar",
        default_value = "bgr24"
    )]
    format: PixelFormat,

    /// RTP transport.
    #[arg(
        long,
        value_name = "prefer_tcp|tcp|udp|auto",
        default_value = "prefer_tcp"
    )]
    transport: Transport,

    /// Which RTSP client reads the streams.
    #[arg(long, value_name = "auto|ffmpeg|native", default_value = "auto")]
    rtsp_client: RtspClient,

    /// Output size (default: the source's).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    resize: Option<(u32, u32)>,

    /// How the picture fits `--resize`: `letterbox` keeps the aspect ratio
    /// and pads with grey 114.
    #[arg(long, value_name = "stretch|letterbox", default_value = "stretch")]
    resize_mode: ResizeMode,

    /// swscale's filter for `--resize`.
    #[arg(
        long,
        value_name = "point|fast_bilinear|bilinear|bicubic|area",
        default_value = "bilinear"
    )]
    scale_algorithm: ScaleAlgorithm,

    /// Copy every decoded picture out of FFmpeg's buffers, even where a
    /// `yuv420p` stream could be decoded straight into its slots, and convert
    /// a `bgr24` / `rgb24` / `gray8` H.264 stream's pictures whole once
    /// decoded rather than band by band as they decode (to measure what
    /// either saves).
    #[arg(long)]
    no_decode_in_place: bool,

    /// How exactly to decode: `fast` skips the deblocking filter (not
    /// bit-exact; reported apart in the results).
    #[arg(long, value_name = "full|fast", default_value = "full")]
    decode: DecodeMode,

    /// What to publish after damage (RTP loss, decode errors): `hold`
    /// (nothing until the next clean keyframe) or `flag` (published, flagged).
    #[arg(long, value_name = "hold|flag", default_value = "hold")]
    on_damage: OnDamage,

    /// One consumer per stream blocked in `wait_after`: report
    /// glass-to-consumer latency (read off each frame's stamp) and its split
    /// by stage.
    #[arg(long)]
    latency: bool,

    /// The stamp log of the `rtsp-ingest simulate` serving the URLs (its
    /// `--stamp-log`): the send times to match the stamps against.
    #[arg(long, value_name = "PATH", requires = "latency")]
    stamp_log: Option<PathBuf>,

    /// With `--latency`: frames delivered in the first S seconds of
    /// `--duration` (connection set-up) count as delivered, not in the
    /// latency figures.
    #[arg(long, value_name = "S", default_value = "0", value_parser = parse_seconds, requires = "latency")]
    warmup: Duration,

    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// CPU time (user + system) and peak RSS of this process.
fn usage() -> (Duration, u64) {
    // SAFETY: `getrusage` fills the zeroed struct we own; RUSAGE_SELF is valid.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    // Linux reports the peak in KiB.
    let peak_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
    (time(usage.ru_utime) + time(usage.ru_stime), peak_rss)
}

/// Runs the benchmark and prints its report.
pub fn bench(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    if args.urls.is_empty() && args.simulate == 0 {
        return Err("nothing to measure: give URLs or --simulate N".into());
    }
    let signals = signals()?;
    let mut media = args.media.clone();
    if args.latency && media.frames.is_none() {
        media.frames = Some(LATENCY_LOOP_FRAMES);
    }
    let simulator = match args.simulate {
        0 => None,
        cameras => Some(Arc::new(Simulator::start(
            media.config("127.0.0.1:0".parse()?, cameras)?,
        )?)),
    };
    let manager = Arc::new(crate::run::manager(&Default::default()));
    let mut sources: Vec<(String, String, SendLookup)> = args
        .urls
        .iter()
        .enumerate()
        .map(|(index, url)| {
            let lookup = match (&args.stamp_log, stamp::camera_of_url(url)) {
                (Some(_), Some(camera)) => SendLookup::Log(camera),
                _ => SendLookup::None,
            };
            (format!("cam{index}"), url.clone(), lookup)
        })
        .collect();
    if let Some(simulator) = &simulator {
        sources.extend((0..simulator.cameras()).map(|index| {
            (
                format!("sim{index}"),
                simulator.url_with_credentials(index),
                SendLookup::InProcess(Arc::clone(simulator), index),
            )
        }));
    }
    for (id, url, _) in &sources {
        let mut config = options::apply(StreamOptions::default(), url)
            .map_err(|error| format!("{id}: {error}"))?
            .format(args.format)
            .transport(args.transport)
            .decode(args.decode)
            .on_damage(args.on_damage)
            .rtsp_client(args.rtsp_client)
            .decode_in_place(!args.no_decode_in_place);
        if let Some((width, height)) = args.resize {
            config = config
                .resize(width, height)
                .resize_mode(args.resize_mode)
                .scale_algorithm(args.scale_algorithm);
        }
        manager
            .add(id, config)
            .map_err(|error| format!("{id}: {error}"))?;
    }
    let mut consumers = if args.latency {
        let streams = sources
            .iter()
            .map(|(id, _, lookup)| (id.clone(), lookup.clone()))
            .collect();
        let options = ConsumerOptions {
            work: None,
            window: None,
            warmup: args.warmup,
        };
        Some(Consumers::start(&manager, streams, options)?)
    } else {
        None
    };
    let (cpu_before, _) = usage();
    let begun = Instant::now();
    let _ = signals.recv_timeout(args.duration);
    let wall = begun.elapsed();
    if let Some(consumers) = &consumers {
        consumers.stop();
    }
    let statuses = manager.list();
    let (cpu_after, peak_rss) = usage();
    manager.shutdown();
    drop(simulator);
    if let (Some(consumers), Some(path)) = (&mut consumers, &args.stamp_log) {
        consumers.match_log(SendTimes::read_log(path)?);
    }
    let latency_of = |id: &str| consumers.as_ref().map(|c| latency_report(c, id, &statuses));

    let decoded: u64 = statuses.iter().map(|s| s.decoded).sum();
    let cpu = cpu_after.saturating_sub(cpu_before);
    let cpu_ms_per_frame = (decoded > 0).then(|| cpu.as_secs_f64() * 1e3 / decoded as f64);
    let mut latency = LatencyHistogram::default();
    for status in &statuses {
        latency.add(&status.publish_latency);
    }
    let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e3);
    let fps = |status: &StreamStatus| status.published as f64 / wall.as_secs_f64();
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let streams: Vec<_> = statuses
            .iter()
            .map(|status| {
                let mut stream = json!({
                    "id": status.id,
                    "url": redact(&status.url),
                    "state": status.state.name(),
                    "state_detail": status.state_detail.map(|detail| detail.to_string()),
                    "frames_decoded": status.decoded,
                    "frames_published": status.published,
                    "frames_decoded_in_place": status.decoded_in_place,
                    "frames_converted_in_bands": status.converted_in_bands,
                    "decoder_buffer_fallbacks": status.decoder_buffer_fallbacks,
                    "frames_damaged": status.damaged,
                    "rtp_packets_lost": status.rtp_packets_lost,
                    "frames_dropped": status.dropped.total(),
                    "dropped": ReasonCounts(status.dropped.by_reason()),
                    "frames_evicted": status.evicted.total(),
                    "evicted": ReasonCounts(status.evicted.by_reason()),
                    "reconnects": status.reconnects,
                    "decode_errors": status.decode_errors,
                    "first_frame_ms": ms(status.first_frame_latency),
                    "fps": fps(status),
                });
                if let (Some(latency), Some(fields)) =
                    (latency_of(&status.id), stream.as_object_mut())
                {
                    fields.extend(latency.json);
                }
                stream
            })
            .collect();
        let mut report = json!({
            "streams": streams,
            "totals": {
                "frames_decoded": decoded,
                "cpu_ms_per_frame": cpu_ms_per_frame,
                "peak_rss_bytes": peak_rss,
                "wall_seconds": wall.as_secs_f64(),
                "publish_latency_p50_ms": ms(latency.quantile(0.5)),
                "publish_latency_p99_ms": ms(latency.quantile(0.99)),
                "format": args.format.name(),
                "decode": args.decode.name(),
                "decode_in_place": !args.no_decode_in_place,
                "simulator_in_process": args.simulate > 0,
            },
        });
        if let (Some(consumers), Some(totals)) = (&consumers, report.get_mut("totals")) {
            totals["glass_to_consumer_ms"] = summary_ms(
                statuses
                    .iter()
                    .filter_map(|s| consumers.report(&s.id))
                    .flat_map(|r| r.glass())
                    .collect(),
            );
        }
        writeln!(stdout, "{report}")?;
        return Ok(());
    }
    writeln!(
        stdout,
        "{:<8} {:<12} {:>8} {:>9} {:>7} {:>6} {:>10}  WAITING FOR",
        "STREAM", "STATE", "DECODED", "PUBLISHED", "DROPPED", "FPS", "FIRST (ms)"
    )?;
    for status in &statuses {
        let first = ms(status.first_frame_latency).map_or("-".to_owned(), |ms| format!("{ms:.0}"));
        let waiting = status
            .state_detail
            .map_or(String::new(), |detail| detail.to_string());
        let row = format!(
            "{:<8} {:<12} {:>8} {:>9} {:>7} {:>6.1} {:>10}  {waiting}",
            status.id,
            status.state.name(),
            status.decoded,
            status.published,
            status.dropped.total(),
            fps(status),
            first
        );
        writeln!(stdout, "{}", row.trim_end())?;
    }
    let per_frame = cpu_ms_per_frame.map_or("-".to_owned(), |ms| format!("{ms:.3}"));
    let quantile =
        |q| ms(latency.quantile(q)).map_or("> 1000".to_owned(), |ms| format!("≤ {ms:.2}"));
    writeln!(
        stdout,
        "\n{decoded} frames in {:.1} s, {per_frame} CPU-ms per frame ({}{}), peak RSS {:.1} MiB\n\
         decode-to-publish latency: p50 {} ms, p99 {} ms",
        wall.as_secs_f64(),
        args.format,
        match args.decode {
            DecodeMode::Full => "",
            DecodeMode::Fast => ", fast decode: not bit-exact",
        },
        peak_rss as f64 / (1024.0 * 1024.0),
        quantile(0.5),
        quantile(0.99),
    )?;
    if args.simulate > 0 {
        writeln!(
            stdout,
            "(the simulated cameras ran in this process; their CPU is included)"
        )?;
    }
    if consumers.is_some() {
        writeln!(
            stdout,
            "\nglass to consumer (ms), then by stage: send → received → decoded → converted → consumer"
        )?;
        writeln!(
            stdout,
            "{:<8} {:>9} {:>22} {:>16} {:>16} {:>16} {:>16} {:>16}",
            "STREAM",
            "DELIVERED",
            "GLASS p50/p99/max",
            "SEND→RECV",
            "RECV→DEC",
            "DEC→CONV",
            "CONV→PUB",
            "PUB→CONSUMER"
        )?;
        for status in &statuses {
            if let Some(latency) = latency_of(&status.id) {
                writeln!(stdout, "{:<8} {}", status.id, latency.line)?;
            }
        }
    }
    Ok(())
}

/// One stream's latency: its JSON fields and its table line.
struct LatencyReport {
    json: serde_json::Map<String, Value>,
    line: String,
}

/// `glass_to_consumer_ms`, `stage_ms` and `consumer` of stream `id`.
fn latency_report(consumers: &Consumers, id: &str, statuses: &[StreamStatus]) -> LatencyReport {
    let Some(report) = consumers.report(id) else {
        return LatencyReport {
            json: serde_json::Map::new(),
            line: String::new(),
        };
    };
    let glass = summary_ms(report.glass());
    let mut stages = serde_json::Map::new();
    for (index, name) in STAGES.iter().enumerate() {
        stages.insert((*name).to_owned(), summary_ms(report.stage(index)));
    }
    // Publication itself is timed by the stream (bucket bounds, not samples).
    let publish = statuses
        .iter()
        .find(|status| status.id == id)
        .map(|status| status.stage_latency.publish)
        .unwrap_or_default();
    let bound = |q| publish.quantile(q).map(|d| d.as_secs_f64() * 1e3);
    let converted_to_published = json!({
        "p50_at_most": bound(0.5),
        "p99_at_most": bound(0.99),
        "count": publish.count(),
    });
    let cell = |value: &Value| -> String {
        let number = |key: &str| {
            value[key]
                .as_f64()
                .map_or("-".to_owned(), |v| format!("{v:.1}"))
        };
        format!("{}/{}/{}", number("p50"), number("p99"), number("max"))
    };
    let stage_cell = |value: &Value| -> String {
        let number = |key: &str| {
            value[key]
                .as_f64()
                .map_or("-".to_owned(), |v| format!("{v:.2}"))
        };
        format!("{}/{}", number("p50"), number("p99"))
    };
    let line = format!(
        "{:>9} {:>22} {:>16} {:>16} {:>16} {:>16} {:>16}",
        report.delivered,
        cell(&glass),
        stage_cell(&stages["send_to_received"]),
        stage_cell(&stages["received_to_decoded"]),
        stage_cell(&stages["decoded_to_converted"]),
        bound(0.5).map_or("-".to_owned(), |v| format!("≤{v:.3}")),
        stage_cell(&stages["published_to_consumer"]),
    );
    stages.insert("converted_to_published".to_owned(), converted_to_published);
    let mut json = serde_json::Map::new();
    json.insert("glass_to_consumer_ms".to_owned(), glass);
    json.insert("stage_ms".to_owned(), Value::Object(stages));
    json.insert(
        "consumer".to_owned(),
        json!({
            "frames": report.delivered,
            "fps": report.fps,
            "unreadable": report.unreadable,
            "unmatched": report.unmatched(),
        }),
    );
    LatencyReport { json, line }
}
