//! FFmpeg return codes at the boundary: every negative `AVERROR` becomes a
//! [`crate::Error`] whose kind callers can branch on and whose message carries
//! FFmpeg's own text (`av_strerror`); `EAGAIN` and `EOF` become [`Code`] states,
//! not errors.

use std::ffi::{c_char, c_int, CStr};

use ffmpeg_sys_next as ffi;

use super::interrupt::{Interrupt, Interruption};
#[cfg(test)]
use super::stage::ConnectStage;
use crate::error::{Error, ErrorKind};

/// A return code that is not an error: a count or zero, "try again after the
/// other half of the API has run", or "no more".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    /// Success; the (non-negative) value FFmpeg returned.
    Ok(c_int),
    /// `AVERROR(EAGAIN)`: nothing now; call the complementary function first
    /// (receive before sending again, or read again later).
    Again,
    /// `AVERROR_EOF`: the stream or the decoder has ended.
    Eof,
}

/// Splits a return code into a state or the raw error code.
pub(crate) fn classify(ret: c_int) -> Result<Code, c_int> {
    match ret {
        ret if ret >= 0 => Ok(Code::Ok(ret)),
        ret if ret == ffi::AVERROR(ffi::EAGAIN) => Ok(Code::Again),
        ffi::AVERROR_EOF => Ok(Code::Eof),
        ret => Err(ret),
    }
}

/// `Ok(ret)` for a non-negative code, else the mapped error with `context`
/// (what we were doing; must not contain credentials).
pub(crate) fn check(ret: c_int, context: impl FnOnce() -> String) -> crate::Result<c_int> {
    if ret >= 0 {
        Ok(ret)
    } else {
        Err(error(ret, &context()))
    }
}

/// The error for a negative FFmpeg return code, kind from [`kind_of`].
pub(crate) fn error(code: c_int, context: &str) -> Error {
    error_as(kind_of(code), code, context)
}

/// The error for a negative return code with a kind chosen by the caller.
pub(crate) fn error_as(kind: ErrorKind, code: c_int, context: &str) -> Error {
    Error::new(kind, format!("{context}: {}", strerror(code)))
}

/// The error for a call that an [`Interrupt`] may have cut short: when the
/// interrupt fired during the call, the error says whether the deadline or the
/// stop flag did it (FFmpeg reports both as `AVERROR_EXIT`, or as whatever the
/// aborted layer returned).
pub(crate) fn interrupted_error(code: c_int, context: &str, interrupt: &Interrupt) -> Error {
    match interrupt.take_fired() {
        Some(Interruption::Deadline(after)) => Error::new(
            ErrorKind::Timeout,
            format!("{context}: no answer within {} ms", after.as_millis()),
        ),
        Some(Interruption::Stop) => Error::new(ErrorKind::Stopped, format!("{context}: stopped")),
        None => error(code, context),
    }
}

/// The error for a failed `avformat_open_input`: as [`interrupted_error`],
/// but when the camera's last answer to a request that opens a stream was an
/// error status (FFmpeg reports a 461 as "Protocol not supported" and most
/// other statuses as "Invalid data"), the error says which request got which
/// status, with the kind that status means: 461 [`ErrorKind::TransportRefused`],
/// 404 [`ErrorKind::NotFound`], other 4xx [`ErrorKind::Refused`], 5xx
/// [`ErrorKind::Connect`]. 401 and 403 keep FFmpeg's own error
/// ([`ErrorKind::Auth`]). `transport`: what the attempt asked for, for a 461.
pub(crate) fn open_error(
    code: c_int,
    context: &str,
    interrupt: &Interrupt,
    transport: &str,
) -> Error {
    if interrupt.has_fired() {
        return interrupted_error(code, context, interrupt);
    }
    let Some((stage, status)) = interrupt.answer().filter(|(_, status)| *status >= 400) else {
        return error(code, context);
    };
    let request = stage.request().unwrap_or("a request");
    let kind = match status {
        401 | 403 => return error(code, context),
        404 => ErrorKind::NotFound,
        461 => ErrorKind::TransportRefused,
        500.. => ErrorKind::Connect,
        _ => ErrorKind::Refused,
    };
    let mut message = format!(
        "{context}: the camera answered {request} with {status} {}",
        reason_phrase(status)
    );
    if status == 461 {
        message.push_str(&format!(" (asked for {transport})"));
    }
    Error::new(kind, message)
}

/// RFC 2326's reason phrase for an RTSP status code (the camera's own phrase
/// is not repeated: it is text from the network).
fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        451 => "Parameter Not Understood",
        453 => "Not Enough Bandwidth",
        454 => "Session Not Found",
        455 => "Method Not Valid in This State",
        459 => "Aggregate Operation Not Allowed",
        461 => "Unsupported Transport",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "RTSP Version Not Supported",
        _ if status < 500 => "(client error)",
        _ => "(server error)",
    }
}

/// FFmpeg's text for an error code (`av_strerror`), e.g. "Connection refused".
pub(crate) fn strerror(code: c_int) -> String {
    // Twice AV_ERROR_MAX_STRING_SIZE (64): room for any text FFmpeg has.
    let mut buf: [c_char; 128] = [0; 128];
    // SAFETY: `buf` is writable for its whole length, which we pass; av_strerror
    // always NUL-terminates within it (it writes a generic text for unknown codes).
    unsafe { ffi::av_strerror(code, buf.as_mut_ptr(), buf.len()) };
    // SAFETY: NUL-terminated above, and `buf` outlives the borrow.
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
    text.to_string_lossy().into_owned()
}

/// Which [`ErrorKind`] a negative FFmpeg return code is.
pub(crate) fn kind_of(code: c_int) -> ErrorKind {
    match code {
        ffi::AVERROR_EXIT => ErrorKind::Stopped,
        ffi::AVERROR_HTTP_UNAUTHORIZED | ffi::AVERROR_HTTP_FORBIDDEN => ErrorKind::Auth,
        ffi::AVERROR_HTTP_NOT_FOUND | ffi::AVERROR_STREAM_NOT_FOUND => ErrorKind::NotFound,
        ffi::AVERROR_HTTP_SERVER_ERROR => ErrorKind::Connect,
        ffi::AVERROR_INVALIDDATA => ErrorKind::InvalidData,
        ffi::AVERROR_PROTOCOL_NOT_FOUND
        | ffi::AVERROR_DEMUXER_NOT_FOUND
        | ffi::AVERROR_DECODER_NOT_FOUND
        | ffi::AVERROR_PATCHWELCOME => ErrorKind::Unsupported,
        ffi::AVERROR_OPTION_NOT_FOUND => ErrorKind::InvalidConfig,
        code if code < 0 && code > -0x1_0000 => errno_kind(-code),
        _ => ErrorKind::Ffmpeg,
    }
}

/// The kind of an `AVERROR(errno)` (errno numbers from the platform's
/// `errno.h`, as bindgen saw it).
fn errno_kind(errno: c_int) -> ErrorKind {
    use ffi::*;
    match errno {
        ETIMEDOUT => ErrorKind::Timeout,
        ENOENT => ErrorKind::NotFound,
        EACCES | EPERM => ErrorKind::Auth,
        ECONNREFUSED | ECONNRESET | ECONNABORTED | EHOSTUNREACH | EHOSTDOWN | ENETUNREACH
        | ENETDOWN | ENOTCONN | EADDRNOTAVAIL | EPIPE | EIO => ErrorKind::Connect,
        ENOSYS => ErrorKind::Unsupported,
        _ => ErrorKind::Ffmpeg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_not_errors() {
        assert_eq!(classify(0), Ok(Code::Ok(0)));
        assert_eq!(classify(7), Ok(Code::Ok(7)));
        assert_eq!(classify(ffi::AVERROR(ffi::EAGAIN)), Ok(Code::Again));
        assert_eq!(classify(ffi::AVERROR_EOF), Ok(Code::Eof));
        assert_eq!(
            classify(ffi::AVERROR_INVALIDDATA),
            Err(ffi::AVERROR_INVALIDDATA)
        );
    }

    #[test]
    fn codes_map_to_kinds() {
        let cases = [
            (ffi::AVERROR(ffi::ECONNREFUSED), ErrorKind::Connect),
            (ffi::AVERROR(ffi::EIO), ErrorKind::Connect),
            (ffi::AVERROR(ffi::ETIMEDOUT), ErrorKind::Timeout),
            (ffi::AVERROR(ffi::ENOENT), ErrorKind::NotFound),
            (ffi::AVERROR_HTTP_UNAUTHORIZED, ErrorKind::Auth),
            (ffi::AVERROR_HTTP_FORBIDDEN, ErrorKind::Auth),
            (ffi::AVERROR_HTTP_NOT_FOUND, ErrorKind::NotFound),
            (ffi::AVERROR_STREAM_NOT_FOUND, ErrorKind::NotFound),
            (ffi::AVERROR_INVALIDDATA, ErrorKind::InvalidData),
            (ffi::AVERROR_DECODER_NOT_FOUND, ErrorKind::Unsupported),
            (ffi::AVERROR_PROTOCOL_NOT_FOUND, ErrorKind::Unsupported),
            (ffi::AVERROR_EXIT, ErrorKind::Stopped),
            (ffi::AVERROR(ffi::ENOMEM), ErrorKind::Ffmpeg),
            (ffi::AVERROR_BUG, ErrorKind::Ffmpeg),
        ];
        for (code, kind) in cases {
            assert_eq!(kind_of(code), kind, "{code}: {}", strerror(code));
        }
    }

    #[test]
    fn rtsp_answers_name_the_request_and_the_status() {
        let interrupt = Interrupt::new();
        let eproto = ffi::AVERROR(ffi::EPROTONOSUPPORT);
        // No answer recorded: FFmpeg's own error.
        let err = open_error(eproto, "opening", &interrupt, "RTP over TCP");
        assert_eq!(err.message(), format!("opening: {}", strerror(eproto)));
        let cases = [
            (
                461,
                ErrorKind::TransportRefused,
                "SETUP with 461 Unsupported Transport (asked for RTP over TCP)",
            ),
            (454, ErrorKind::Refused, "SETUP with 454 Session Not Found"),
            (404, ErrorKind::NotFound, "SETUP with 404 Not Found"),
            (
                503,
                ErrorKind::Connect,
                "SETUP with 503 Service Unavailable",
            ),
        ];
        for (status, kind, text) in cases {
            interrupt.set_answer(Some((ConnectStage::Setup, status)));
            let err = open_error(eproto, "opening", &interrupt, "RTP over TCP");
            assert_eq!(err.kind(), kind, "{err}");
            assert_eq!(
                err.message(),
                format!("opening: the camera answered {text}")
            );
        }
        interrupt.set_answer(Some((ConnectStage::Describe, 401)));
        let err = open_error(ffi::AVERROR_HTTP_UNAUTHORIZED, "opening", &interrupt, "");
        assert_eq!(err.kind(), ErrorKind::Auth);
        interrupt.set_answer(Some((ConnectStage::Options, 200)));
        let err = open_error(eproto, "opening", &interrupt, "");
        assert_eq!(err.kind(), kind_of(eproto));
    }

    #[test]
    fn messages_carry_ffmpeg_text_and_context() {
        let err = error(ffi::AVERROR(ffi::ECONNREFUSED), "opening rtsp://cam/x");
        assert_eq!(err.kind(), ErrorKind::Connect);
        assert_eq!(err.message(), "opening rtsp://cam/x: Connection refused");
        let err = error(ffi::AVERROR_HTTP_UNAUTHORIZED, "opening");
        assert!(err.message().contains("401"), "{err}");
        let err = error(ffi::AVERROR_INVALIDDATA, "reading");
        assert!(
            err.to_string()
                .starts_with("invalid data: reading: Invalid data"),
            "{err}"
        );
        assert!(check(3, || unreachable!()).is_ok());
        assert_eq!(
            check(ffi::AVERROR_EOF, || "x".into()).unwrap_err().kind(),
            ErrorKind::Ffmpeg
        );
    }
}
