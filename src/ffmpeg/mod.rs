//! FFmpeg, behind safe owner types: the only module that names
//! `ffmpeg_sys_next`, and the only place (with the slab's queue) that needs
//! `unsafe`.
//!
//! One stream's pipeline, each stage owning one FFmpeg object:
//!
//! ```text
//! Input::open ─▶ read_packet(&mut Packet) ─▶ Decoder::send_packet / receive_frame(&mut VideoFrame)
//!     ▲                                          ─▶ Scaler::scale_into(&VideoFrame, &mut SlotWriter)
//!     └── Interrupt: a deadline per blocking call and a stop flag, polled by FFmpeg
//! ```
//!
//! * Every type owns its object through a `NonNull` and frees it in its one
//!   `Drop` (`avformat_close_input`, `av_packet_free`, `av_frame_free`,
//!   `avcodec_free_context`, `sws_freeContext`, `av_dict_free`). No raw pointer
//!   leaves this module.
//! * Every FFmpeg return code is converted where it is returned: `EAGAIN` and
//!   `EOF` become states ([`ReadOutcome`], [`SendOutcome`], [`DecodeOutcome`]),
//!   anything else a [`crate::Error`] whose [`ErrorKind`](crate::ErrorKind) says
//!   what to do (retry a `Connect` or `Timeout`, fix an `Auth`, give up on
//!   `Unsupported`) and whose message is FFmpeg's, with the URL's secrets
//!   replaced by `***` ([`crate::redact`]).
//! * Every blocking call is bounded: [`Input`] arms its [`Interrupt`] with the
//!   open, read or close timeout before each one, and [`Interrupt::stop`] ends
//!   any of them from another thread within about 100 ms.
//! * FFmpeg's log goes to `tracing` (target `ffmpeg`), whole lines at a time,
//!   scrubbed of credentials ([`crate::redact`]).
//!
//! Works with FFmpeg 5.1 and newer; see [`VideoFrame::is_key`] and the scaler's
//! flag constants for the differences it bridges.
//!
//! ```no_run
//! use rtsp_ingest::ffmpeg::{
//!     DecodeOutcome, Decoder, DecoderOptions, Input, InputOptions, Interrupt, Packet,
//!     ReadOutcome, Scaler, SendOutcome, VideoFrame,
//! };
//! use rtsp_ingest::slab::{self, FrameInfo, FrameLayout, PixelFormat, SlabConfig};
//!
//! # fn main() -> rtsp_ingest::Result<()> {
//! let interrupt = Interrupt::new();
//! let mut input = Input::open("rtsp://user:pass@cam/live", &InputOptions::default(), interrupt)?;
//! let video = input.best_video_stream()?;
//! input.discard_other_streams(video.index);
//! let mut decoder = Decoder::new(&input, video.index, &DecoderOptions::default())?;
//! let (mut producer, _consumer, _reader) =
//!     slab::new(SlabConfig::new(FrameLayout::new(640, 360, PixelFormat::Bgr24)?))?;
//! let (mut packet, mut frame, mut scaler) = (Packet::new()?, VideoFrame::new()?, Scaler::default());
//! while input.read_packet(&mut packet)? == ReadOutcome::Packet {
//!     if packet.stream_index() != video.index || decoder.send_packet(&packet)? != SendOutcome::Sent {
//!         continue;
//!     }
//!     while decoder.receive_frame(&mut frame)? == DecodeOutcome::Frame {
//!         if frame.is_corrupt() {
//!             continue;
//!         }
//!         if let Ok(mut slot) = producer.begin() {
//!             scaler.scale_into(&frame, &mut slot)?;
//!             let _ = slot.commit(FrameInfo::received_now());
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod audio_encoder;
mod bands;
mod codec_parameters;
mod decoder;
mod dict;
mod encoder;
mod encoder_context;
mod error;
mod frame;
mod input;
mod interrupt;
mod log;
mod options;
mod packet;
mod picture_pool;
mod plane;
mod rtp_muxer;
mod scaler;
mod stage;
mod stream_info;
#[cfg(test)]
mod tests;

use std::ffi::c_int;
use std::fmt::Debug;
use std::sync::Once;

use ffmpeg_sys_next as ffi;

pub use audio_encoder::{AudioEncoder, AudioEncoderOptions};
pub use bands::{Band, BandSink};
pub use codec_parameters::CodecParameters;
pub use decoder::{DecodeOutcome, Decoder, DecoderOptions, SendOutcome};
pub use encoder::{EncodeOutcome, Encoder, EncoderOptions};
pub use frame::{ColorRange, ColorSpace, VideoFrame};
pub use input::{Input, ReadOutcome};
pub use interrupt::Interrupt;
pub use log::{set_level as set_log_level, LogLevel};
pub use options::{InputOptions, Probe, RtspTransport};
pub use packet::Packet;
pub use picture_pool::{in_place as decoded_in_place, Asked, PicturePool};
pub use plane::{Plane, PlaneMut};
pub use rtp_muxer::{is_rtcp, RtpMuxer, RtpMuxerOptions, RTP_CLOCK_RATE};
pub use scaler::{ScaleAlgorithm, Scaler};
pub use stage::ConnectStage;
pub use stream_info::{Rational, VideoCodec, VideoStreamInfo};

/// One-time process setup: the log callback (and FFmpeg's level, warning) and
/// the network layer. Every constructor here calls it; calling it again, from
/// any thread, does nothing.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        log::install();
        // SAFETY: global initialisation FFmpeg asks to be done once before
        // network use; `Once` makes it so. Its result only reports TLS library
        // setup, which the TLS protocols redo lazily, so it is not an error here.
        let _ = unsafe { ffi::avformat_network_init() };
    });
}

/// FFmpeg's version string, e.g. `"5.1.6-0+deb12u1"`.
pub fn version() -> String {
    // SAFETY: returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(ffi::av_version_info()) }
        .to_string_lossy()
        .into_owned()
}

/// A flag constant as a `c_int`. Bindgen types each macro constant by its
/// value and FFmpeg version (`c_int` in one, `c_uint` in another), so this
/// converts whichever it is; the values are small and fixed by FFmpeg's ABI.
fn c_flag<T>(value: T) -> c_int
where
    T: TryInto<c_int>,
    T::Error: Debug,
{
    value
        .try_into()
        .expect("FFmpeg flag constants fit in a C int")
}
