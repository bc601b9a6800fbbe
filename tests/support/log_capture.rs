//! Captures every `tracing` line of the test process (FFmpeg's own log lines
//! included, at debug level) so tests can assert that no secret is ever printed.

use std::io::Write;
use std::sync::{Mutex, Once, OnceLock};

fn buffer() -> &'static Mutex<Vec<u8>> {
    static BUFFER: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    BUFFER.get_or_init(|| Mutex::new(Vec::new()))
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        buffer().lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (once per process) and turns FFmpeg's
/// logging up to trace, where it dumps RTSP requests with their headers.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| Capture)
            .with_ansi(false)
            .init();
        rtsp_ingest::ffmpeg::set_log_level(rtsp_ingest::ffmpeg::LogLevel::Trace);
    });
}

/// Everything logged so far.
pub fn captured() -> String {
    String::from_utf8_lossy(&buffer().lock().unwrap()).into_owned()
}

/// Standard base64, to look for a Basic `Authorization` value in the logs.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
