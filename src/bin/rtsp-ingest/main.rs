//! The `rtsp-ingest` command line.
//!
//! One module per subcommand (`run.rs`), shared pieces beside them: the
//! stream options every way of adding a stream reads (`options.rs`), the
//! control API (`http/`, cargo feature `http`: axum, OpenAPI, tokens, the
//! dashboard) and the status record it answers with (`report.rs`), a fleet's
//! sharding (`shard.rs`), and frames as pictures (`picture.rs`).

mod bench;
mod config_file;
mod consumer;
mod monitor;
mod options;
mod picture;
mod probe;
mod report;
mod run;
mod shard;
mod simulate;

#[cfg(feature = "http")]
mod http;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Low-latency RTSP ingest for AI inference hosts.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest streams until --duration elapses or Ctrl-C / SIGTERM, then print
    /// one line per stream.
    Run(run::RunArgs),
    /// Connect to one camera and report its codec, profile, resolution, frame
    /// rate, transport and time to first frame.
    Probe(probe::ProbeArgs),
    /// Save one frame of a camera as .png, .jpg or .ppm.
    Snapshot(probe::SnapshotArgs),
    /// Serve simulated RTSP cameras (a test pattern or a clip, looped in real
    /// time), with faults on demand.
    Simulate(simulate::SimulateArgs),
    /// Start simulated cameras in-process and ingest them with the live table.
    Demo(simulate::DemoArgs),
    /// Ingest streams for a while and report what it cost: frames, fps,
    /// first-frame latency, CPU time per frame, peak RSS, publish latency.
    Bench(bench::BenchArgs),
}

/// Routes the library's and FFmpeg's log lines (already scrubbed of
/// credentials) to stderr: errors only by default, so the live table stays
/// readable; `RUST_LOG` (e.g. `debug`, `rtsp_ingest=trace`) for more. FFmpeg's
/// own verbosity follows.
fn init_logging() {
    use rtsp_ingest::ffmpeg::{set_log_level, LogLevel};
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::EnvFilter;

    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::ERROR.into())
        .from_env_lossy();
    let level = match filter.max_level_hint() {
        Some(LevelFilter::TRACE) => LogLevel::Trace,
        Some(LevelFilter::DEBUG) => LogLevel::Debug,
        Some(LevelFilter::INFO) => LogLevel::Info,
        Some(LevelFilter::WARN) => LogLevel::Warning,
        _ => LogLevel::Error,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    set_log_level(level);
}

/// The parsed command line; a usage error (which quotes the argument at
/// fault, maybe a URL with its password) is printed scrubbed.
fn parse_command_line() -> Result<Cli, ExitCode> {
    use std::io::IsTerminal;

    Cli::try_parse().map_err(|error| {
        // `--help` and `--version` are answers on stdout, not errors.
        let styled = match error.use_stderr() {
            true => std::io::stderr().is_terminal(),
            false => std::io::stdout().is_terminal(),
        };
        let text = match styled {
            true => error.render().ansi().to_string(),
            false => error.render().to_string(),
        };
        let text = rtsp_ingest::redact::redact(&text);
        if error.use_stderr() {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
        ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
    })
}

fn main() -> ExitCode {
    let cli = match parse_command_line() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_logging();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Probe(args) => return probe::probe(args),
        Command::Snapshot(args) => return probe::snapshot(args),
        Command::Simulate(args) => simulate::simulate(args),
        Command::Demo(args) => simulate::demo(args),
        Command::Bench(args) => bench::bench(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = error.to_string();
            eprintln!("rtsp-ingest: {}", rtsp_ingest::redact::redact(&message));
            ExitCode::FAILURE
        }
    }
}
