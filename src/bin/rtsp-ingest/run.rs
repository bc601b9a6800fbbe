//! `rtsp-ingest run`: ingest streams (from the command line, a config file, or
//! the control API) until a duration elapses or a signal arrives, showing a
//! live status table or JSON lines; then shut down and print a summary.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use crossbeam_channel::{select, Receiver};
use rtsp_ingest::manager::{ManagerConfig, StreamManager};
use rtsp_ingest::stream::{RtspClient, Transport};

use crate::config_file::{self, ManagerOptions};
use crate::monitor::Monitor;
use crate::options::{self, StreamOptions};
use crate::shard::Shard;

/// The arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// RTSP URLs to ingest, added as `cam0`, `cam1`, ... (none: take them from
    /// --config or through the control API).
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// A TOML file of streams: `[defaults]`, `[manager]` and `[[stream]]` tables.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Serve the control API on this address (`127.0.0.1:8080`; port 0 picks a
    /// free one) and announce it once bound.
    #[cfg(feature = "http")]
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,

    /// Require bearer tokens on the control API: a TOML file with `admin =
    /// "..."` (everything) and optionally `read_only = "..."` (GET only).
    #[cfg(feature = "http")]
    #[arg(long, value_name = "FILE", requires = "http")]
    pub http_token_file: Option<PathBuf>,

    /// Serve the control API on an address beyond loopback without tokens
    /// (anyone who reaches the port may add streams and read every status).
    #[cfg(feature = "http")]
    #[arg(long, requires = "http", conflicts_with = "http_token_file")]
    pub insecure_no_auth: bool,

    /// Ingest only this shard's streams (from --config and the URLs): `I/N`
    /// for shard I of N (0-based), or `auto/N` to take I from the host name's
    /// numeric suffix, as a Kubernetes StatefulSet's pods have. Every shard
    /// reads the same config; rendezvous hashing of the ids splits it.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,

    /// Stop after this many seconds (default: run until Ctrl-C or SIGTERM).
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub duration: Option<Duration>,

    /// RTP transport for the URLs given on the command line.
    #[arg(long, value_name = "prefer_tcp|tcp|udp|auto")]
    pub transport: Option<Transport>,

    /// RTSP client for the URLs given on the command line (default auto:
    /// FFmpeg's, the native one where FFmpeg's cannot use the camera's answers).
    #[arg(long, value_name = "auto|ffmpeg|native")]
    pub rtsp_client: Option<RtspClient>,

    /// JSON lines on stdout even on a terminal (the default when stdout is not one).
    #[arg(long)]
    pub json: bool,
}

/// Parses `--duration`.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds ≥ 0"))
}

/// A manager configured from a config file's `[manager]` table.
pub fn manager(options: &ManagerOptions) -> StreamManager {
    let mut config = ManagerConfig::default();
    if let Some(megabytes) = options.memory_budget_mb {
        config = config.memory_budget_mb(megabytes);
    }
    if let Some(cores) = &options.cores {
        config = config.cores(cores.clone());
    }
    if options.pin == Some(false) {
        config = config.no_pinning();
    }
    StreamManager::new(config)
}

/// Runs until `--duration` elapses or Ctrl-C / SIGTERM; a second signal exits
/// at once.
///
/// # Errors
/// An invalid URL or config file, a stream the manager refuses, or an address
/// that cannot be bound; nothing is left running.
pub fn run(args: RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    #[cfg(feature = "http")]
    let access = match &args.http {
        Some(addr) => Some(http_access(addr, &args)?),
        None => None,
    };
    let signals = signals()?;
    let file = match &args.config {
        Some(path) => Some(config_file::load(path)?),
        None => None,
    };
    let manager = Arc::new(manager(
        &file
            .as_ref()
            .map(|file| file.manager.clone())
            .unwrap_or_default(),
    ));
    let mut streams = file.map(|file| file.streams).unwrap_or_default();
    for (index, url) in args.urls.iter().enumerate() {
        let id = format!("cam{index}");
        let mut config = options::apply(StreamOptions::default(), url)
            .map_err(|error| format!("{id}: {error}"))?;
        if let Some(transport) = args.transport {
            config = config.transport(transport);
        }
        if let Some(client) = args.rtsp_client {
            config = config.rtsp_client(client);
        }
        streams.push((id, config));
    }
    if let Some(shard) = args.shard {
        let all = streams.len();
        streams.retain(|(id, _)| shard.owns(id));
        eprintln!("shard {shard}: {} of {all} streams", streams.len());
    }
    for (id, config) in streams {
        manager
            .add(&id, config)
            .map_err(|error| format!("{id}: {error}"))?;
    }
    let mut monitor = Monitor::new(args.json);

    #[cfg(feature = "http")]
    let server = match (&args.http, access) {
        (Some(addr), Some(access)) => {
            let server = crate::http::Server::start(addr, Arc::clone(&manager), access)
                .map_err(|error| format!("--http {addr}: {error}"))?;
            monitor.listening(&server.local_addr().to_string())?;
            Some(server)
        }
        _ => None,
    };

    ingest(&manager, &mut monitor, args.duration, &signals)?;

    #[cfg(feature = "http")]
    if let Some(server) = server {
        server.shutdown();
    }
    finish(&manager, &mut monitor)
}

/// Who may use the control API on `addr`: the token file's tokens, or
/// everyone, which only loopback (or `--insecure-no-auth`) allows.
#[cfg(feature = "http")]
fn http_access(addr: &str, args: &RunArgs) -> Result<crate::http::Access, String> {
    use std::net::ToSocketAddrs;

    if let Some(path) = &args.http_token_file {
        return crate::http::Access::from_file(path)
            .map_err(|error| format!("--http-token-file {error}"));
    }
    let addrs: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|error| format!("--http {addr}: {error}"))?
        .collect();
    if !args.insecure_no_auth && addrs.iter().any(|addr| !addr.ip().is_loopback()) {
        return Err(format!(
            "--http {addr}: beyond loopback the control API needs --http-token-file \
             (or --insecure-no-auth to let anyone who reaches the port in)"
        ));
    }
    Ok(crate::http::Access::open())
}

/// Ctrl-C / SIGTERM as a channel; a second signal exits the process at once.
pub fn signals() -> Result<Receiver<()>, ctrlc::Error> {
    let (sender, receiver) = crossbeam_channel::bounded::<()>(1);
    let count = AtomicUsize::new(0);
    ctrlc::set_handler(move || {
        if count.fetch_add(1, Ordering::Relaxed) > 0 {
            eprintln!("rtsp-ingest: second signal, exiting now");
            std::process::exit(130);
        }
        let _ = sender.try_send(());
    })?;
    Ok(receiver)
}

/// Shows events and a status view every second until `duration` passes or a
/// signal arrives.
pub fn ingest(
    manager: &StreamManager,
    monitor: &mut Monitor,
    duration: Option<Duration>,
    signals: &Receiver<()>,
) -> std::io::Result<()> {
    let deadline = duration.map(|duration| Instant::now() + duration);
    let events = manager.events();
    let mut next_tick = Instant::now();
    loop {
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            return Ok(());
        }
        if now >= next_tick {
            monitor.tick(&manager.list())?;
            next_tick += Duration::from_secs(1);
        }
        let wake = deadline.map_or(next_tick, |deadline| deadline.min(next_tick));
        select! {
            recv(events) -> event => {
                if let Ok(event) = event {
                    monitor.event(&event)?;
                }
            }
            recv(signals) -> _ => return Ok(()),
            default(wake.saturating_duration_since(Instant::now())) => {}
        }
    }
}

/// Shuts every stream down and prints the summary.
pub fn finish(
    manager: &StreamManager,
    monitor: &mut Monitor,
) -> Result<(), Box<dyn std::error::Error>> {
    manager.shutdown();
    for event in manager.events().try_iter() {
        monitor.event(&event)?;
    }
    monitor.summary(&manager.list())?;
    Ok(())
}
