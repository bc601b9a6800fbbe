//! `rtsp-ingest probe URL` and `rtsp-ingest snapshot URL -o FILE`: connect to one
//! camera, wait for its first frame, and report what it sends or save the frame.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use rtsp_ingest::redact::redact;
use rtsp_ingest::slab::{Frame, PixelFormat};
use rtsp_ingest::stream::{Stream, StreamState, StreamStatus, Transport};
use rtsp_ingest::ErrorKind;
use serde_json::json;

use crate::options::{self, StreamOptions};
use crate::run::parse_seconds;

/// Exit code: the stream could not be read (unreachable, timed out, not found,
/// not a video stream).
pub const EXIT_UNREADABLE: u8 = 3;
/// Exit code: the camera refused the login.
pub const EXIT_AUTH: u8 = 4;

/// Where and how to connect.
#[derive(Debug, Args)]
pub struct Target {
    /// The camera's RTSP URL (credentials may be embedded; they are never printed).
    #[arg(value_name = "URL")]
    pub url: String,

    /// RTP transport.
    #[arg(
        long,
        value_name = "prefer_tcp|tcp|udp|auto",
        default_value = "prefer_tcp"
    )]
    pub transport: Transport,

    /// Give up when no frame arrived within this many seconds.
    #[arg(long, value_name = "S", default_value = "10", value_parser = parse_seconds)]
    pub timeout: Duration,
}

/// The arguments of `probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    target: Target,

    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// The arguments of `snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    target: Target,

    /// The image to write: `.png`, `.jpg` / `.jpeg` or `.ppm`.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

/// The first frame and what the stream said about itself, or why there is none.
fn first_frame(
    target: &Target,
    format: PixelFormat,
) -> Result<(Frame, Stream, Duration), (ExitCode, String)> {
    let config = options::apply(StreamOptions::default(), &target.url)
        .map_err(|error| (ExitCode::from(2), format!("{error}")))?
        .transport(target.transport)
        .format(format)
        .connect_timeout(target.timeout)
        .queue_capacity(32);
    let begun = Instant::now();
    let mut stream =
        Stream::start("probe", config).map_err(|error| (ExitCode::from(2), error.to_string()))?;
    let deadline = begun + target.timeout;
    loop {
        if let Some(frame) = stream.latest() {
            return Ok((frame, stream, begun.elapsed()));
        }
        let status = stream.status();
        let auth = status.state == StreamState::AuthFailed;
        if auth || matches!(status.state, StreamState::Failed(_)) || Instant::now() >= deadline {
            stream.stop();
            return Err(failure(&status, target.timeout, auth));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn failure(status: &StreamStatus, timeout: Duration, auth: bool) -> (ExitCode, String) {
    let code = if auth
        || status
            .last_error
            .as_ref()
            .is_some_and(|e| e.kind() == ErrorKind::Auth)
    {
        EXIT_AUTH
    } else {
        EXIT_UNREADABLE
    };
    let why = status.last_error.as_ref().map_or_else(
        || {
            format!(
                "no frame within {:.1} s ({})",
                timeout.as_secs_f64(),
                status.state.name()
            )
        },
        |error| redact(&error.to_string()).into_owned(),
    );
    (
        ExitCode::from(code),
        format!("{}: {why}", redact(&status.url)),
    )
}

/// Probes a camera: codec, profile, resolution, frame rate, transport, time to first frame.
pub fn probe(args: ProbeArgs) -> ExitCode {
    let (frame, mut stream, first) = match first_frame(&args.target, PixelFormat::Yuv420p) {
        Ok(found) => found,
        Err((code, message)) => {
            eprintln!("rtsp-ingest probe: {message}");
            return code;
        }
    };
    let fps = measured_fps(&stream, &frame);
    let status = stream.status();
    stream.stop();
    let media = status.media.clone();
    let codec = media.as_ref().map_or("?".to_owned(), |m| m.codec.clone());
    let profile = media.as_ref().and_then(|m| m.profile.clone());
    let declared = media.as_ref().and_then(|m| m.fps);
    let report = json!({
        "url": redact(&status.url),
        "codec": codec,
        "profile": profile,
        "width": frame.width(),
        "height": frame.height(),
        "fps": fps.or(declared),
        "transport": status.transport.unwrap_or(args.target.transport).name(),
        "first_frame_ms": first.as_secs_f64() * 1e3,
        "keyframe_first": frame.is_keyframe(),
        "capture_clock": frame.capture_time().is_some(),
    });
    let mut stdout = std::io::stdout().lock();
    let written = if args.json {
        writeln!(stdout, "{report}")
    } else {
        let profile = profile.map_or(String::new(), |profile| format!(" ({profile})"));
        let fps = fps
            .or(declared)
            .map_or("unknown".to_owned(), |fps| format!("{fps:.2}"));
        writeln!(
            stdout,
            "url          {}\ncodec        {codec}{profile}\nresolution   {}x{}\nfps          {fps}\ntransport    {}\nfirst frame  {} ms",
            redact(&status.url),
            frame.width(),
            frame.height(),
            status.transport.unwrap_or(args.target.transport),
            first.as_millis(),
        )
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// The frame rate from the pts of up to a second of frames after `first`.
fn measured_fps(stream: &Stream, first: &Frame) -> Option<f64> {
    let mut consumer = stream.take_consumer()?;
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut pts: Vec<i64> = first.pts_ns().into_iter().collect();
    while Instant::now() < deadline && pts.len() < 26 {
        match consumer.pop_oldest() {
            Some(frame) => pts.extend(
                frame
                    .pts_ns()
                    .filter(|p| pts.last().is_none_or(|last| p > last)),
            ),
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    let span = pts.last()? - pts.first()?;
    (pts.len() >= 3 && span > 0).then(|| (pts.len() - 1) as f64 * 1e9 / span as f64)
}

/// Saves one frame of a camera as an image.
pub fn snapshot(args: SnapshotArgs) -> ExitCode {
    let extension = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let encoding = match extension.as_deref() {
        Some("png") => image::ImageFormat::Png,
        Some("jpg" | "jpeg") => image::ImageFormat::Jpeg,
        Some("ppm") => image::ImageFormat::Pnm,
        _ => {
            eprintln!(
                "rtsp-ingest snapshot: {}: the name must end in .png, .jpg, .jpeg or .ppm",
                args.output.display()
            );
            return ExitCode::from(2);
        }
    };
    let (frame, mut stream, _) = match first_frame(&args.target, PixelFormat::Rgb24) {
        Ok(found) => found,
        Err((code, message)) => {
            eprintln!("rtsp-ingest snapshot: {message}");
            return code;
        }
    };
    stream.stop();
    let (width, height) = (frame.width(), frame.height());
    let written = crate::picture::image_of(&frame)
        .save_with_format(&args.output, encoding)
        .map_err(|error| error.to_string());
    match written {
        Ok(()) => {
            eprintln!(
                "{}: {width}x{height} frame {} saved",
                args.output.display(),
                frame.seq()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("rtsp-ingest snapshot: {}: {error}", args.output.display());
            ExitCode::FAILURE
        }
    }
}
