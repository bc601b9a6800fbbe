//! The `rtsp-ingest` command line.
//!
//! One module per subcommand (`run.rs`), shared pieces beside them: the
//! stream options every way of adding a stream reads (`options.rs`), the
//! control API (`http.rs`, cargo feature `http`) and the status record it
//! answers with (`report.rs`).

mod config_file;
mod monitor;
mod options;
mod probe;
mod report;
mod run;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Probe(args) => return probe::probe(args),
        Command::Snapshot(args) => return probe::snapshot(args),
        Command::Simulate(args) => simulate::simulate(args),
        Command::Demo(args) => simulate::demo(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = error.to_string();
            eprintln!("rtsp-ingest: {}", rtsp_ingest::redact::redact_url(&message));
            ExitCode::FAILURE
        }
    }
}
