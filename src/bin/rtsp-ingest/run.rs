//! `rtsp-ingest run`: ingest streams until a duration elapses or a signal
//! arrives, optionally serving the control API; then shut down and print one
//! line per stream.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use crossbeam_channel::select;
use rtsp_ingest::manager::{ManagerConfig, StreamManager};
use rtsp_ingest::redact::redact_url;
use rtsp_ingest::stream::{StreamEvent, StreamState, StreamStatus, Transport};

use crate::options::{self, StreamOptions};

/// The arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// RTSP URLs to ingest, added as `cam0`, `cam1`, ... (none: add them through
    /// the control API).
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// Serve the control API on this address (`127.0.0.1:8080`; port 0 picks a
    /// free one). Prints `listening on http://ADDR` once bound.
    #[cfg(feature = "http")]
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,

    /// Stop after this many seconds (default: run until Ctrl-C or SIGTERM).
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub duration: Option<Duration>,

    /// RTP transport for the URLs given here.
    #[arg(long, value_name = "tcp|udp|auto")]
    pub transport: Option<Transport>,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds ≥ 0"))
}

/// Runs until `--duration` elapses or Ctrl-C / SIGTERM; a second signal exits
/// at once.
///
/// # Errors
/// An invalid URL, a stream the manager refuses, or an address that cannot be
/// bound; nothing is left running.
pub fn run(args: RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    let (signal_tx, signal_rx) = crossbeam_channel::bounded::<()>(1);
    let signals = AtomicUsize::new(0);
    ctrlc::set_handler(move || {
        if signals.fetch_add(1, Ordering::Relaxed) > 0 {
            eprintln!("rtsp-ingest: second signal, exiting now");
            std::process::exit(130);
        }
        let _ = signal_tx.try_send(());
    })?;

    let manager = Arc::new(StreamManager::new(ManagerConfig::default()));
    for (index, url) in args.urls.iter().enumerate() {
        let id = format!("cam{index}");
        let mut config = options::apply(StreamOptions::default(), url)
            .map_err(|error| format!("{id}: {error}"))?;
        if let Some(transport) = args.transport {
            config = config.transport(transport);
        }
        eprintln!("{id}: {}", redact_url(config.url()));
        manager
            .add(&id, config)
            .map_err(|error| format!("{id}: {error}"))?;
    }

    #[cfg(feature = "http")]
    let server = match &args.http {
        None => None,
        Some(addr) => {
            let server = crate::http::Server::start(addr, Arc::clone(&manager))
                .map_err(|error| format!("--http {addr}: {error}"))?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "listening on http://{}", server.local_addr())?;
            stdout.flush()?;
            Some(server)
        }
    };

    let deadline = args.duration.map(|duration| Instant::now() + duration);
    let events = manager.events();
    loop {
        let left = deadline.map_or(Duration::from_secs(3600), |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            break;
        }
        select! {
            recv(events) -> event => {
                if let Ok(event) = event {
                    print_event(&event);
                }
            }
            recv(signal_rx) -> _ => break,
            default(left) => {}
        }
    }

    #[cfg(feature = "http")]
    if let Some(server) = server {
        server.shutdown();
    }
    manager.shutdown();
    for event in events.try_iter() {
        print_event(&event);
    }
    let mut stdout = std::io::stdout().lock();
    for status in manager.list() {
        writeln!(stdout, "{}", summary(&status))?;
    }
    stdout.flush()?;
    Ok(())
}

/// A state transition, as one line on stderr.
fn print_event(event: &StreamEvent) {
    let detail = match &event.state {
        StreamState::Reconnecting { attempt, next_in } => {
            format!(" (attempt {attempt}, in {} ms)", next_in.as_millis())
        }
        _ => String::new(),
    };
    let cause = event
        .error
        .as_ref()
        .map(|error| format!(": {error}"))
        .unwrap_or_default();
    eprintln!(
        "{}: {}{detail}{}",
        event.id,
        event.state.name(),
        redact_url(&cause)
    );
}

/// One line: id, state, URL and counters, the last error last.
fn summary(status: &StreamStatus) -> String {
    let mut line = format!(
        "{} {} {} decoded={} published={} dropped={} decode_errors={} reconnects={} bytes_in={}",
        status.id,
        status.state.name(),
        redact_url(&status.url),
        status.decoded,
        status.published,
        status.dropped.total(),
        status.decode_errors,
        status.reconnects,
        status.bytes_in,
    );
    if let Some(latency) = status.first_frame_latency {
        line.push_str(&format!(" first_frame_ms={}", latency.as_millis()));
    }
    if let Some(error) = &status.last_error {
        line.push_str(&format!(
            " last_error=\"{}\"",
            redact_url(&error.to_string())
        ));
    }
    line
}
