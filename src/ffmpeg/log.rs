//! FFmpeg's log, routed to `tracing` (target `ffmpeg`) with credentials
//! scrubbed: installed once by [`init`](super::init) with `av_log_set_callback`,
//! safe to call from any thread.
//!
//! Each message is formatted by FFmpeg itself (`av_log_format_line2`, which
//! consumes the `va_list`), split into lines (FFmpeg often logs a line in
//! several calls; the pieces are joined per thread), passed through
//! [`redact_secrets`], and emitted at the mapped level: panic/fatal/error →
//! `ERROR`, warning → `WARN`, info → `INFO`, verbose → `DEBUG`, debug/trace →
//! `TRACE`. FFmpeg's own level (default warning, [`set_level`]) filters first,
//! so messages below it are never formatted, except the RTSP client's two
//! progress messages (a request sent, an answer line), which are read for the
//! stream's [`ConnectStage`](super::ConnectStage) and emitted only if the
//! level asks for them.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void};

use ffmpeg_sys_next as ffi;
use tracing::Level;

use super::stage::{self, Progress};
use crate::redact::redact_url;

/// How FFmpeg's bindings spell `va_list` in a callback parameter: a pointer to
/// the register-save struct on x86-64 System V, the `va_list` type elsewhere.
#[cfg(all(target_arch = "x86_64", not(windows)))]
type VaList = *mut ffi::__va_list_tag;
#[cfg(not(all(target_arch = "x86_64", not(windows))))]
type VaList = ffi::va_list;

/// Longest line kept: longer ones are cut (FFmpeg's own buffer is 1 KiB).
const LINE_CAPACITY: usize = 4096;

/// How much of FFmpeg's log to produce (FFmpeg's `AV_LOG_*` levels).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogLevel {
    /// Nothing.
    Quiet,
    /// Errors only.
    Error,
    /// Warnings and errors (the default).
    #[default]
    Warning,
    /// Informational messages (stream details on open).
    Info,
    /// Verbose.
    Verbose,
    /// Debugging output.
    Debug,
    /// Everything, including RTSP request dumps with their `Authorization`
    /// headers (scrubbed).
    Trace,
}

/// Sets how much FFmpeg logs, for the whole process (installing the callback
/// first if needed, so a level set before any stream opens sticks).
pub fn set_level(level: LogLevel) {
    super::init();
    apply_level(level);
}

fn apply_level(level: LogLevel) {
    let level = match level {
        LogLevel::Quiet => ffi::AV_LOG_QUIET,
        LogLevel::Error => ffi::AV_LOG_ERROR,
        LogLevel::Warning => ffi::AV_LOG_WARNING,
        LogLevel::Info => ffi::AV_LOG_INFO,
        LogLevel::Verbose => ffi::AV_LOG_VERBOSE,
        LogLevel::Debug => ffi::AV_LOG_DEBUG,
        LogLevel::Trace => ffi::AV_LOG_TRACE,
    };
    // SAFETY: sets an int; FFmpeg reads it without synchronisation, and a stale
    // read only logs one message more or less.
    unsafe { ffi::av_log_set_level(super::c_flag(level)) };
}

/// Installs the callback and the default level. Called once, through
/// [`super::init`].
pub(super) fn install() {
    apply_level(LogLevel::Warning);
    // SAFETY: `callback` matches FFmpeg's signature and may run on any thread
    // at any time: it touches only thread-local state and `tracing`.
    unsafe { ffi::av_log_set_callback(Some(callback)) };
}

thread_local! {
    /// This thread's partial line and FFmpeg's `print_prefix` state.
    static PENDING: RefCell<(String, c_int)> = const { RefCell::new((String::new(), 1)) };
}

/// The `av_log` callback.
///
/// # Safety
/// Called by FFmpeg only: `avcl` is null or an object whose first field is an
/// `AVClass` pointer, `fmt` a printf format matching the arguments in `vl`.
unsafe extern "C" fn callback(avcl: *mut c_void, level: c_int, fmt: *const c_char, vl: VaList) {
    // The RTSP client's progress messages are read whatever the level (see
    // `stage`); every other message only when it will be emitted.
    // Its first byte rules out nearly every message before the string is measured.
    let first = if fmt.is_null() {
        0
    } else {
        // SAFETY: FFmpeg passes a NUL-terminated format string: one byte at least.
        unsafe { *fmt.cast::<u8>() }
    };
    let progress = match first {
        // SAFETY: as above, non-null and NUL-terminated.
        b'S' | b'l' => Progress::of(unsafe { std::ffi::CStr::from_ptr(fmt) }),
        _ => None,
    };
    // SAFETY: plain getter.
    let emitted = level <= unsafe { ffi::av_log_get_level() } && enabled(level);
    if !emitted && progress.is_none() {
        return;
    }
    let mut buf: [c_char; LINE_CAPACITY] = [0; LINE_CAPACITY];
    let capacity = c_int::try_from(buf.len()).unwrap_or(c_int::MAX);
    // A panic must not unwind into C; a lost log line is the worst outcome.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        PENDING.with(|pending| {
            let Ok(mut pending) = pending.try_borrow_mut() else {
                return; // re-entered from a subscriber that logs through FFmpeg
            };
            let (line, print_prefix) = &mut *pending;
            // A message read only for its progress leaves the line state alone.
            let mut own_prefix = 1;
            let prefix = if emitted {
                print_prefix
            } else {
                &mut own_prefix
            };
            // SAFETY: FFmpeg's contract for this callback: the arguments are
            // exactly what av_log_format_line2 expects; `buf` is writable for
            // `capacity` bytes and gets NUL-terminated (truncated if longer);
            // `prefix` is a valid int.
            unsafe {
                ffi::av_log_format_line2(avcl, level, fmt, vl, buf.as_mut_ptr(), capacity, prefix)
            };
            // SAFETY: NUL-terminated above, within `buf`.
            let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
            if let Some(progress) = progress {
                // SAFETY: `avcl` is what FFmpeg passed to av_log: null or an
                // object whose first field is its AVClass pointer.
                unsafe { stage::note_log_message(avcl, progress, &text) };
            }
            if !emitted {
                return;
            }
            line.push_str(&text);
            while let Some(end) = line.find('\n') {
                let complete: String = line.drain(..=end).collect();
                emit(level, complete.trim_end());
            }
            if line.len() > LINE_CAPACITY {
                let partial = std::mem::take(line);
                emit(level, &partial);
            }
        });
    }));
}

/// The `tracing` level for an FFmpeg level.
fn severity(level: c_int) -> Level {
    if level <= ffi::AV_LOG_ERROR {
        Level::ERROR
    } else if level <= ffi::AV_LOG_WARNING {
        Level::WARN
    } else if level <= ffi::AV_LOG_INFO {
        Level::INFO
    } else if level <= ffi::AV_LOG_VERBOSE {
        Level::DEBUG
    } else {
        Level::TRACE
    }
}

/// Whether a subscriber wants `ffmpeg` events at this FFmpeg level (checked
/// before formatting, so unwanted lines cost nothing). The macros need a
/// constant level, hence one branch per level.
fn enabled(level: c_int) -> bool {
    match severity(level) {
        Level::ERROR => tracing::enabled!(target: "ffmpeg", Level::ERROR),
        Level::WARN => tracing::enabled!(target: "ffmpeg", Level::WARN),
        Level::INFO => tracing::enabled!(target: "ffmpeg", Level::INFO),
        Level::DEBUG => tracing::enabled!(target: "ffmpeg", Level::DEBUG),
        _ => tracing::enabled!(target: "ffmpeg", Level::TRACE),
    }
}

fn emit(level: c_int, line: &str) {
    if line.is_empty() {
        return;
    }
    let line = redact_secrets(line);
    match severity(level) {
        Level::ERROR => tracing::error!(target: "ffmpeg", "{line}"),
        Level::WARN => tracing::warn!(target: "ffmpeg", "{line}"),
        Level::INFO => tracing::info!(target: "ffmpeg", "{line}"),
        Level::DEBUG => tracing::debug!(target: "ffmpeg", "{line}"),
        _ => tracing::trace!(target: "ffmpeg", "{line}"),
    }
}

/// Scrubs what FFmpeg may print that carries a secret: passwords in URLs
/// ([`redact_url`]) and the value of `Authorization:` headers (the RTSP request
/// dumps at debug level).
pub fn redact_secrets(text: &str) -> Cow<'_, str> {
    let text = redact_url(text);
    const HEADER: &str = "authorization:";
    if !text.to_ascii_lowercase().contains(HEADER) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let lower = line.to_ascii_lowercase();
        match lower.find(HEADER) {
            Some(at) => {
                let value_start = at + HEADER.len();
                out.push_str(&line[..value_start]);
                // Keep the scheme ("Basic", "Digest") and hide the rest.
                let value = line[value_start..].trim_start();
                let scheme = value.split_whitespace().next().unwrap_or("");
                out.push(' ');
                out.push_str(scheme);
                out.push_str(" ***");
                if line.ends_with('\r') {
                    out.push('\r');
                }
            }
            None => out.push_str(line),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// Captures `tracing` output on this thread while `f` runs.
    pub(crate) fn capture(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = sink.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn authorization_headers_and_urls_are_scrubbed() {
        let dump = "DESCRIBE rtsp://admin:hunter2@cam/x RTSP/1.0\r\nCSeq: 3\r\nAuthorization: Basic YWRtaW46aHVudGVyMg==\r\n";
        let clean = redact_secrets(dump);
        assert!(
            !clean.contains("hunter2") && !clean.contains("YWRt"),
            "{clean}"
        );
        assert!(clean.contains("rtsp://admin:***@cam/x"), "{clean}");
        assert!(
            clean.contains("Authorization: Basic ***\r\nCSeq")
                || clean.contains("Authorization: Basic ***\r\n"),
            "{clean}"
        );
        assert!(matches!(redact_secrets("plain line"), Cow::Borrowed(_)));
    }

    #[test]
    fn ffmpeg_log_lines_reach_tracing_without_passwords() {
        super::super::init();
        let output = capture(|| {
            // SAFETY: a printf format with one `%s` and one NUL-terminated string.
            unsafe {
                ffi::av_log(
                    std::ptr::null_mut(),
                    ffi::AV_LOG_ERROR,
                    c"cannot open %s: refused\n".as_ptr(),
                    c"rtsp://user:s3cr3t@127.0.0.1:9/x".as_ptr(),
                )
            };
            // A line logged in two pieces comes out as one.
            // SAFETY: format strings without arguments.
            unsafe {
                ffi::av_log(
                    std::ptr::null_mut(),
                    ffi::AV_LOG_WARNING,
                    c"first half, ".as_ptr(),
                );
                ffi::av_log(
                    std::ptr::null_mut(),
                    ffi::AV_LOG_WARNING,
                    c"second half\n".as_ptr(),
                );
                // Below the default level: not formatted, not emitted.
                ffi::av_log(
                    std::ptr::null_mut(),
                    ffi::AV_LOG_DEBUG,
                    c"debug noise\n".as_ptr(),
                );
            }
        });
        assert!(!output.contains("s3cr3t"), "{output}");
        assert!(output.contains("rtsp://user:***@127.0.0.1:9/x"), "{output}");
        assert!(output.contains("ERROR"), "{output}");
        assert!(output.contains("first half, second half"), "{output}");
        assert!(!output.contains("debug noise"), "{output}");
    }
}
