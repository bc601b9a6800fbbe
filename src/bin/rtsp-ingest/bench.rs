//! `rtsp-ingest bench`: ingest streams for a while and measure what it cost:
//! per stream, frames decoded / published / dropped, fps and first-frame
//! latency, and for a stream still connecting what it waits for ("no answer
//! to DESCRIBE for 3.0 s"); in total, the process's CPU time per decoded frame (`getrusage`),
//! its peak RSS, and the decode-to-publish latency percentiles.
//!
//! With `--simulate N` the cameras run in this process and their (small) CPU
//! cost is counted too; for a clean client-only figure, run `rtsp-ingest
//! simulate` (or any RTSP server) in another process and pass its URLs.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::Args;
use rtsp_ingest::redact::redact;
use rtsp_ingest::simulate::Simulator;
use rtsp_ingest::slab::PixelFormat;
use rtsp_ingest::stream::{LatencyHistogram, StreamStatus, Transport};
use serde_json::json;

use crate::options::{self, StreamOptions};
use crate::report::ReasonCounts;
use crate::run::{parse_seconds, signals};
use crate::simulate::MediaArgs;

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
        value_name = "bgr24|rgb24|gray8|yuv420p",
        default_value = "bgr24"
    )]
    format: PixelFormat,

    /// RTP transport.
    #[arg(long, value_name = "tcp|udp|auto", default_value = "tcp")]
    transport: Transport,

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
    let simulator = match args.simulate {
        0 => None,
        cameras => Some(Simulator::start(
            args.media.config("127.0.0.1:0".parse()?, cameras)?,
        )?),
    };
    let manager = crate::run::manager(&Default::default());
    let mut sources: Vec<(String, String)> = args
        .urls
        .iter()
        .enumerate()
        .map(|(index, url)| (format!("cam{index}"), url.clone()))
        .collect();
    if let Some(simulator) = &simulator {
        sources.extend(
            (0..simulator.cameras())
                .map(|index| (format!("sim{index}"), simulator.url_with_credentials(index))),
        );
    }
    for (id, url) in &sources {
        let config = options::apply(StreamOptions::default(), url)
            .map_err(|error| format!("{id}: {error}"))?
            .format(args.format)
            .transport(args.transport);
        manager
            .add(id, config)
            .map_err(|error| format!("{id}: {error}"))?;
    }
    let (cpu_before, _) = usage();
    let begun = Instant::now();
    let _ = signals.recv_timeout(args.duration);
    let wall = begun.elapsed();
    let statuses = manager.list();
    let (cpu_after, peak_rss) = usage();
    manager.shutdown();
    drop(simulator);

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
                json!({
                    "id": status.id,
                    "url": redact(&status.url),
                    "state": status.state.name(),
                    "state_detail": status.state_detail.map(|detail| detail.to_string()),
                    "frames_decoded": status.decoded,
                    "frames_published": status.published,
                    "frames_dropped": status.dropped.total(),
                    "dropped": ReasonCounts(status.dropped.by_reason()),
                    "frames_evicted": status.evicted.total(),
                    "evicted": ReasonCounts(status.evicted.by_reason()),
                    "reconnects": status.reconnects,
                    "decode_errors": status.decode_errors,
                    "first_frame_ms": ms(status.first_frame_latency),
                    "fps": fps(status),
                })
            })
            .collect();
        let report = json!({
            "streams": streams,
            "totals": {
                "frames_decoded": decoded,
                "cpu_ms_per_frame": cpu_ms_per_frame,
                "peak_rss_bytes": peak_rss,
                "wall_seconds": wall.as_secs_f64(),
                "publish_latency_p50_ms": ms(latency.quantile(0.5)),
                "publish_latency_p99_ms": ms(latency.quantile(0.99)),
                "format": args.format.name(),
                "simulator_in_process": args.simulate > 0,
            },
        });
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
        "\n{decoded} frames in {:.1} s, {per_frame} CPU-ms per frame ({}), peak RSS {:.1} MiB\n\
         decode-to-publish latency: p50 {} ms, p99 {} ms",
        wall.as_secs_f64(),
        args.format,
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
    Ok(())
}
