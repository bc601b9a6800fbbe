//! FFmpeg's log, routed to `tracing` (target `ffmpeg`) with credentials
//! scrubbed: installed once by [`init`](super::init) with `av_log_set_callback`,
//! safe to call from any thread.
//!
//! Each message is formatted by FFmpeg itself (`av_log_format_line2`, which
//! consumes the `va_list`, into a [`MESSAGE_CAPACITY`] buffer) and added to
//! this thread's [`PendingLine`] (FFmpeg often logs a line in several calls).
//! Only whole lines are scrubbed ([`redact`]) and emitted, at the mapped
//! level: panic/fatal/error → `ERROR`, warning → `WARN`, info → `INFO`,
//! verbose → `DEBUG`, debug/trace → `TRACE`. FFmpeg's own level (default
//! warning, [`set_level`]) filters first, so messages below it are never
//! formatted, except the RTSP client's two progress messages (a request sent,
//! an answer line), which are read for the stream's
//! [`ConnectStage`](super::ConnectStage), and the RTP demuxer's "missed N
//! packets", which is counted for the stream; they are emitted only if the
//! level asks for them.
//!
//! FFmpeg's byte-by-byte dump of RTSP replies (`ret=%d c=%02x [%c]`, trace
//! level) is dropped unformatted: it spells out, one character per line, the
//! reply lines that `line='…'` shows whole, where the scrubber can see them
//! (a `Content-Base` echoes the URL's path and query, secrets included).
//!
//! A line is never shown in pieces, which could each hold half a URL and so
//! escape the scrubber: a line that outgrows [`MAX_LINE`], or a message that
//! outgrows its buffer, is shown up to its last whole word, marked as cut,
//! and the rest of it is dropped.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr};

use ffmpeg_sys_next as ffi;
use tracing::Level;

use super::stage::{self, Progress};
use crate::redact::redact;

/// How FFmpeg's bindings spell `va_list` in a callback parameter: a pointer to
/// the register-save struct on x86-64 System V, the `va_list` type elsewhere.
#[cfg(all(target_arch = "x86_64", not(windows)))]
type VaList = *mut ffi::__va_list_tag;
#[cfg(not(all(target_arch = "x86_64", not(windows))))]
type VaList = ffi::va_list;

/// The longest message kept whole (one `av_log` call, formatted); longer ones
/// are cut (FFmpeg's own buffer is 1 KiB).
pub const MESSAGE_CAPACITY: usize = 4096;

/// The longest line kept whole (the messages of one line together); longer
/// ones are cut.
pub const MAX_LINE: usize = 16 * 1024;

/// The formats of the messages dropped unformatted (see the module docs).
const DROPPED_FORMATS: [&CStr; 1] = [c"ret=%d c=%02x [%c]\n"];

/// What ends a line shown cut short.
const CUT_MARK: &str = " …(cut)";

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
    /// This thread's line in the making and FFmpeg's `print_prefix` state.
    static PENDING: RefCell<(PendingLine, c_int)> = const { RefCell::new((PendingLine::new(), 1)) };
}

/// The `av_log` callback.
///
/// # Safety
/// Called by FFmpeg only: `avcl` is null or an object whose first field is an
/// `AVClass` pointer, `fmt` a printf format matching the arguments in `vl`.
unsafe extern "C" fn callback(avcl: *mut c_void, level: c_int, fmt: *const c_char, vl: VaList) {
    if fmt.is_null() {
        return;
    }
    // The RTSP client's progress messages are read whatever the level (see
    // `stage`); every other message only when it will be emitted. Its first
    // byte rules out nearly every message before the string is measured.
    // SAFETY: FFmpeg passes a NUL-terminated format string: one byte at least.
    let progress = match unsafe { *fmt.cast::<u8>() } {
        // SAFETY: as above, non-null and NUL-terminated, alive for the call.
        b'S' | b'l' | b'R' => Progress::of(unsafe { CStr::from_ptr(fmt) }),
        _ => None,
    };
    // SAFETY: plain getter.
    let emitted = level <= unsafe { ffi::av_log_get_level() } && enabled(level);
    if !emitted && progress.is_none() {
        return;
    }
    // SAFETY: as above.
    if DROPPED_FORMATS.contains(&unsafe { CStr::from_ptr(fmt) }) {
        return;
    }
    let mut buf: [c_char; MESSAGE_CAPACITY] = [0; MESSAGE_CAPACITY];
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
            let length = unsafe {
                ffi::av_log_format_line2(avcl, level, fmt, vl, buf.as_mut_ptr(), capacity, prefix)
            };
            // It returns the length the whole message needed.
            let cut = length >= capacity;
            // SAFETY: NUL-terminated above, within `buf`.
            let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
            if let Some(progress) = progress {
                // SAFETY: `avcl` is what FFmpeg passed to av_log: null or an
                // object whose first field is its AVClass pointer.
                unsafe { stage::note_log_message(avcl, progress, &text) };
            }
            if emitted {
                line.push(&text, cut, |whole| emit(level, whole));
            }
        });
    }));
}

/// A line being assembled from FFmpeg's messages.
#[derive(Debug)]
struct PendingLine {
    text: String,
    /// The line outgrew [`MAX_LINE`] and was shown cut: what is left of it,
    /// up to its newline, is dropped.
    dropping: bool,
}

impl PendingLine {
    const fn new() -> Self {
        Self {
            text: String::new(),
            dropping: false,
        }
    }

    /// Adds one formatted message (`cut`: its end was lost), and hands every
    /// line it completes to `emit`, scrubbed.
    fn push(&mut self, message: &str, cut: bool, mut emit: impl FnMut(&str)) {
        let mut rest = message;
        while let Some(newline) = rest.find('\n') {
            if !std::mem::take(&mut self.dropping) {
                self.text.push_str(&rest[..newline]);
                emit(&redact(self.text.trim_end()));
            }
            self.text.clear();
            rest = &rest[newline + 1..];
        }
        if self.dropping {
            return;
        }
        self.text.push_str(rest);
        if cut || self.text.len() > MAX_LINE {
            emit(&cut_short(&self.text));
            self.text.clear();
            self.text.shrink_to(MESSAGE_CAPACITY);
            // A lost message end may have held the newline: the next message
            // starts afresh. A line too long goes on in the next messages.
            self.dropping = !cut;
        }
    }
}

/// `text` up to its last whole word, scrubbed, and marked as cut: its last
/// word may be the first half of a URL whose other half is lost, which the
/// scrubber could not recognise.
fn cut_short(text: &str) -> String {
    let whole = text
        .rfind(char::is_whitespace)
        .map_or("", |space| &text[..space]);
    format!("{}{CUT_MARK}", redact(whole.trim_end()))
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
    match severity(level) {
        Level::ERROR => tracing::error!(target: "ffmpeg", "{line}"),
        Level::WARN => tracing::warn!(target: "ffmpeg", "{line}"),
        Level::INFO => tracing::info!(target: "ffmpeg", "{line}"),
        Level::DEBUG => tracing::debug!(target: "ffmpeg", "{line}"),
        _ => tracing::trace!(target: "ffmpeg", "{line}"),
    }
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

    /// `av_log(NULL, AV_LOG_ERROR, "%s", text)`.
    fn log_error(text: &str) {
        let text = std::ffi::CString::new(text).unwrap();
        // SAFETY: a printf format with one `%s` and one NUL-terminated string.
        unsafe {
            ffi::av_log(
                std::ptr::null_mut(),
                ffi::AV_LOG_ERROR,
                c"%s".as_ptr(),
                text.as_ptr(),
            )
        };
    }

    #[test]
    fn long_lines_never_show_half_a_url() {
        super::super::init();
        let output = capture(|| {
            // A URL in two messages, past the first 4 KiB of its line.
            log_error(&format!("{} ", "w".repeat(4090)));
            log_error("rtsp://viewer:FIRSTHALF");
            log_error("secondhalf@127.0.0.1/cam0?token=TOKENHALF");
            log_error("tokenrest, end of a long line\n");
            // The same, across MAX_LINE: the line is cut before the URL, and
            // the rest of it dropped.
            let filler = format!("{} ", "x".repeat(1000));
            let mut length = 0;
            while length + filler.len() <= MAX_LINE {
                log_error(&filler);
                length += filler.len();
            }
            log_error(&format!("{} ", "z".repeat(MAX_LINE - length - 1)));
            log_error("rtsp://viewer:FIRSTHALF");
            log_error("secondhalf@127.0.0.1/cam0?token=TOKENHALF");
            log_error("tokenrest, end of a longer line\n");
            log_error("the next line\n");
            // One message longer than its buffer, cut inside a URL.
            log_error(&format!(
                "{} rtsp://viewer:FIRSTHALFsecondhalf@127.0.0.1/cam0\n",
                "y".repeat(MESSAGE_CAPACITY - 12)
            ));
            log_error("the last line\n");
        });
        for half in ["FIRST", "second", "TOKEN", "tokenrest, end of a longer"] {
            let shown = output.lines().find(|line| line.contains(half));
            assert!(shown.is_none(), "{half:?} in {shown:?}");
        }
        assert!(
            output.contains("rtsp://viewer:***@127.0.0.1/cam0?token=*** end of a long line"),
            "a long line stays whole"
        );
        assert_eq!(output.matches(CUT_MARK).count(), 2, "{output}");
        for line in ["the next line", "the last line"] {
            assert!(output.contains(line), "{line:?} lost");
        }
        assert!(
            output
                .lines()
                .all(|line| line.len() < MAX_LINE + MESSAGE_CAPACITY),
            "lines are bounded"
        );
    }

    #[test]
    fn rtsp_replies_are_not_spelled_out_byte_by_byte() {
        super::super::init();
        let output = capture(|| {
            for byte in b"Content-Base: rtsp://cam/x?pwd=Sp3lled\n" {
                let byte = c_int::from(*byte);
                // SAFETY: FFmpeg's own format, with its three int arguments.
                unsafe {
                    ffi::av_log(
                        std::ptr::null_mut(),
                        ffi::AV_LOG_ERROR,
                        c"ret=%d c=%02x [%c]\n".as_ptr(),
                        1 as c_int,
                        byte,
                        byte,
                    )
                };
            }
            log_error("line='Content-Base: rtsp://cam/x?pwd=Sp3lled'\n");
        });
        assert!(!output.contains("c=53 [S]"), "{output}");
        assert!(
            output.contains("line='Content-Base: rtsp://cam/x?pwd=***"),
            "{output}"
        );
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
