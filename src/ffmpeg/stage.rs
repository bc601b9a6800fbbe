//! What a connection attempt is waiting for ([`ConnectStage`]), as the
//! stream's [`Interrupt`] records it for the status to show ("no answer to
//! DESCRIBE for 3.0 s").
//!
//! FFmpeg's RTSP client says nothing about its progress through its API, but
//! it logs every request it sends (`Sending:` and the request, at trace level)
//! and every line of each answer (`line='RTSP/1.0 200 OK'`) through
//! `av_log`, which calls our log callback whatever the log level. The callback
//! hands those two messages to [`note_log_message`], which finds the
//! stream's `Interrupt` through the `AVFormatContext` that logged them (its
//! interrupt callback's opaque, when the callback is ours) and records the
//! stage. The stages before and after FFmpeg's (resolving the host name,
//! probing, waiting for the first frame) are recorded by the code that runs
//! them.

use std::ffi::{c_void, CStr};
use std::fmt;

use ffmpeg_sys_next as ffi;

use super::interrupt::{self, Interrupt};

/// What a connecting stream is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectStage {
    /// Looking its host name up (hosts file, DNS).
    Resolving,
    /// Opening the TCP connection (before the first request).
    Connecting,
    /// The answer to `OPTIONS`, the first request.
    Options,
    /// The answer to `DESCRIBE` (the SDP).
    Describe,
    /// The answer to a `SETUP`.
    Setup,
    /// The answer to `PLAY`.
    Play,
    /// Packets for the stream-info probe, when the SDP says too little.
    Probing,
    /// The first decoded frame, after `PLAY` was answered.
    FirstFrame,
}

impl ConnectStage {
    const ALL: [ConnectStage; 8] = [
        ConnectStage::Resolving,
        ConnectStage::Connecting,
        ConnectStage::Options,
        ConnectStage::Describe,
        ConnectStage::Setup,
        ConnectStage::Play,
        ConnectStage::Probing,
        ConnectStage::FirstFrame,
    ];

    /// A stable snake_case name, for JSON and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            ConnectStage::Resolving => "resolving",
            ConnectStage::Connecting => "connecting",
            ConnectStage::Options => "options",
            ConnectStage::Describe => "describe",
            ConnectStage::Setup => "setup",
            ConnectStage::Play => "play",
            ConnectStage::Probing => "probing",
            ConnectStage::FirstFrame => "first_frame",
        }
    }

    /// The RTSP request whose answer this stage waits for.
    pub fn request(self) -> Option<&'static str> {
        match self {
            ConnectStage::Options => Some("OPTIONS"),
            ConnectStage::Describe => Some("DESCRIBE"),
            ConnectStage::Setup => Some("SETUP"),
            ConnectStage::Play => Some("PLAY"),
            _ => None,
        }
    }

    /// The stage that waits for the answer to RTSP request `method`, for the
    /// requests that open a stream.
    fn awaiting(method: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.request() == Some(method))
    }

    /// A non-zero code for [`Interrupt`]'s packed stage word.
    pub(super) fn code(self) -> u8 {
        match self {
            ConnectStage::Resolving => 1,
            ConnectStage::Connecting => 2,
            ConnectStage::Options => 3,
            ConnectStage::Describe => 4,
            ConnectStage::Setup => 5,
            ConnectStage::Play => 6,
            ConnectStage::Probing => 7,
            ConnectStage::FirstFrame => 8,
        }
    }

    /// The stage of a [`code`](Self::code); `None` for 0 (no stage).
    pub(super) fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|stage| stage.code() == code)
    }
}

impl fmt::Display for ConnectStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.request() {
            Some(request) => write!(f, "the answer to {request}"),
            None => f.write_str(match self {
                ConnectStage::Resolving => "resolving the host name",
                ConnectStage::Connecting => "connecting",
                ConnectStage::Probing => "probing the stream",
                _ => "the first frame",
            }),
        }
    }
}

/// The FFmpeg log messages that tell the RTSP client's progress, by their
/// format strings: two from libavformat/rtsp.c, and the RTP demuxer's report
/// of a sequence gap (libavformat/rtpdec.c, logged on the RTSP context when
/// its reordering queue gives up waiting for the missing packets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Progress {
    /// `"Sending:\n%s--\n"`: a request went out.
    Sent,
    /// `"line='%s'\n"`: a line of an answer came in.
    AnswerLine,
    /// `"RTP: missed %d packets\n"`: packets were lost.
    RtpMissed,
}

impl Progress {
    /// Which progress message `format` (an `av_log` format string) is, if any;
    /// compares a few bytes, so it costs nothing on every other message.
    pub(super) fn of(format: &CStr) -> Option<Self> {
        match format.to_bytes() {
            b"Sending:\n%s--\n" => Some(Progress::Sent),
            b"line='%s'\n" => Some(Progress::AnswerLine),
            b"RTP: missed %d packets\n" => Some(Progress::RtpMissed),
            _ => None,
        }
    }
}

/// Records what a progress message of a stream's RTSP client says. `text` is
/// the formatted message (its `[rtsp @ 0x…]` prefix included); a request is
/// recorded only when it is one of those that open a stream, an answer only
/// when it is the status line of the answer to `PLAY` (the first frame is
/// next). Messages from contexts that are not ours are ignored.
///
/// # Safety
/// `avcl` is null or the object that logged the message: as `av_log`
/// requires, its first field is an `AVClass` pointer.
pub(super) unsafe fn note_log_message(avcl: *mut c_void, progress: Progress, text: &str) {
    // SAFETY: the caller's contract for `avcl`.
    let Some(interrupt) = (unsafe { interrupt_of(avcl) }) else {
        return;
    };
    match progress {
        Progress::Sent => {
            let request = text.split_once("Sending:\n").map_or("", |(_, rest)| rest);
            let method = request.split(' ').next().unwrap_or("");
            if let Some(stage) = ConnectStage::awaiting(method) {
                interrupt.set_stage(Some(stage));
            }
        }
        Progress::AnswerLine => {
            let Some(status) = answer_status(text) else {
                return;
            };
            let stage = interrupt.stage().map(|(stage, _)| stage);
            if let Some(stage) = stage.filter(|stage| stage.request().is_some()) {
                interrupt.set_answer(Some((stage, status)));
            }
            if stage == Some(ConnectStage::Play) {
                interrupt.set_stage(Some(ConnectStage::FirstFrame));
            }
        }
        Progress::RtpMissed => {
            if let Some(packets) = missed_packets(text) {
                interrupt.note_rtp_lost(packets);
            }
        }
    }
}

/// The count in a formatted "RTP: missed N packets" message.
fn missed_packets(text: &str) -> Option<u64> {
    let (_, rest) = text.split_once("RTP: missed ")?;
    rest.split(' ').next()?.parse().ok()
}

/// The status code of an answer's status line as FFmpeg logs it
/// (`[rtsp @ 0x…] line='RTSP/1.0 461 Unsupported Transport'`); `None` for
/// the other lines of an answer.
fn answer_status(text: &str) -> Option<u16> {
    let (_, line) = text.split_once("line='RTSP/")?;
    let mut words = line.split(' ');
    let _version = words.next()?;
    let code = words.next()?.trim_end_matches('\'');
    code.parse().ok().filter(|code| (100..1000).contains(code))
}

/// The `Interrupt` bounding the `AVFormatContext` at `avcl`, when `avcl` is
/// one whose interrupt callback is ours.
///
/// # Safety
/// As [`note_log_message`].
unsafe fn interrupt_of<'a>(avcl: *mut c_void) -> Option<&'a Interrupt> {
    if avcl.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees the first field is an `AVClass` pointer.
    let class = unsafe { *avcl.cast::<*const ffi::AVClass>() };
    // SAFETY: plain getter of a static class.
    if class != unsafe { ffi::avformat_get_class() } {
        return None;
    }
    // SAFETY: an object of the AVFormatContext class is an AVFormatContext,
    // alive while it logs; we only read its interrupt callback.
    let callback = unsafe { (*avcl.cast::<ffi::AVFormatContext>()).interrupt_callback };
    let ours = callback
        .callback
        .is_some_and(|function| std::ptr::fn_addr_eq(function, interrupt::CALLBACK));
    if !ours {
        return None;
    }
    // SAFETY: with our callback the opaque is `Interrupt::as_opaque`, kept
    // alive by the `Input` that owns the context (see `Input::open`).
    unsafe { callback.opaque.cast::<Interrupt>().as_ref() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for stage in ConnectStage::ALL {
            assert_eq!(ConnectStage::from_code(stage.code()), Some(stage));
            assert_ne!(stage.code(), 0);
        }
        assert_eq!(ConnectStage::from_code(0), None);
        assert_eq!(
            ConnectStage::awaiting("DESCRIBE"),
            Some(ConnectStage::Describe)
        );
        assert_eq!(ConnectStage::awaiting("GET_PARAMETER"), None);
        assert_eq!(ConnectStage::Setup.to_string(), "the answer to SETUP");
        assert_eq!(Progress::of(c"Sending:\n%s--\n"), Some(Progress::Sent));
        assert_eq!(Progress::of(c"line='%s'\n"), Some(Progress::AnswerLine));
        assert_eq!(Progress::of(c"Sending"), None);
        assert_eq!(
            Progress::of(c"RTP: missed %d packets\n"),
            Some(Progress::RtpMissed)
        );
        assert_eq!(
            missed_packets("[rtsp @ 0x55d0] RTP: missed 3 packets\n"),
            Some(3)
        );
        assert_eq!(missed_packets("RTP: missed many packets"), None);
        assert_eq!(
            answer_status("[rtsp @ 0x55] line='RTSP/1.0 461 Unsupported Transport'\n"),
            Some(461)
        );
        assert_eq!(answer_status("line='RTSP/1.0 200 OK'"), Some(200));
        assert_eq!(answer_status("line='CSeq: 3'"), None);
        assert_eq!(answer_status("line='RTSP/1.0 x'"), None);
    }
}
