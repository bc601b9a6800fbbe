//! [`RtpMuxer`]: FFmpeg's `rtp` muxer writing into memory. Each encoded frame
//! given to [`write`](RtpMuxer::write) comes back as the RTP packets (and the
//! RTCP sender reports) FFmpeg made of it, one byte slice per packet, ready to
//! be sent over UDP or interleaved in an RTSP connection; [`sdp`](RtpMuxer::sdp)
//! describes the stream for an RTSP `DESCRIBE` (`av_sdp_create`).
//!
//! ```text
//! write(frame) ─▶ av_write_frame ─▶ rtp muxer ─▶ AVIOContext ─▶ write callback ─▶ packets()
//!                                   (fragments to max_packet_size; SR via RTCP)
//! ```
//!
//! FFmpeg flushes its I/O context after every RTP and RTCP packet, and the
//! context's buffer is larger than the largest packet, so each call of the
//! write callback carries exactly one packet.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::fmt;
use std::ptr::{self, NonNull};

use ffmpeg_sys_next as ffi;

use super::c_flag;
use super::codec_parameters::CodecParameters;
use super::dict::Dictionary;
use super::error::check;
use super::packet::Packet;
use crate::error::{Error, ErrorKind, Result};

/// The RTP clock of video: timestamps given to [`RtpMuxer::write`] are in
/// `1 / RTP_CLOCK_RATE` seconds.
pub const RTP_CLOCK_RATE: i64 = 90_000;

/// How to set up an [`RtpMuxer`]. `Default`: packets of at most 1400 bytes
/// (RTP header included; fits an Ethernet MTU with IP, UDP or interleaving
/// headers), a random SSRC and first sequence number, RTCP sender reports on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtpMuxerOptions {
    max_packet_size: Option<u32>,
    ssrc: Option<u32>,
    first_seq: Option<u16>,
    payload_type: Option<u8>,
    no_rtcp: bool,
}

/// The default largest packet, in bytes.
const DEFAULT_MAX_PACKET_SIZE: u32 = 1400;

impl RtpMuxerOptions {
    /// The largest RTP packet in bytes, header included (64 ..= 65535; the
    /// I/O context's `max_packet_size`). Default 1400.
    pub fn max_packet_size(mut self, bytes: u32) -> Self {
        self.max_packet_size = Some(bytes);
        self
    }

    /// The stream's SSRC. Default random.
    pub fn ssrc(mut self, ssrc: u32) -> Self {
        self.ssrc = Some(ssrc);
        self
    }

    /// The first packet's sequence number. Default random (below 4096).
    pub fn first_seq(mut self, seq: u16) -> Self {
        self.first_seq = Some(seq);
        self
    }

    /// The RTP payload type (0 ..= 127; the muxer's `payload_type`), also
    /// in the SDP. Default FFmpeg's: the codec's static type (8 for G.711
    /// A-law at 8 kHz, 26 for JPEG), else 96 for video, 97 for audio.
    pub fn payload_type(mut self, payload_type: u8) -> Self {
        self.payload_type = Some(payload_type);
        self
    }

    /// Send no RTCP sender reports (`rtpflags skip_rtcp`). Default off.
    pub fn no_rtcp(mut self, on: bool) -> Self {
        self.no_rtcp = on;
        self
    }
}

/// Where the write callback puts packets: their bytes back to back, and where
/// each one ends.
#[derive(Debug, Default)]
struct Sink {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// The write callback's buffer argument: `*mut u8` before FFmpeg 7,
/// `*const u8` from it on. Generic so the same callback fits either binding.
trait IoBuffer: Copy {
    fn as_const(self) -> *const u8;
}

impl IoBuffer for *mut u8 {
    fn as_const(self) -> *const u8 {
        self.cast_const()
    }
}

impl IoBuffer for *const u8 {
    fn as_const(self) -> *const u8 {
        self
    }
}

/// FFmpeg's write callback: appends one packet to the [`Sink`] at `opaque`.
///
/// # Safety
/// `opaque` must be the `Sink` of a live [`MemoryIo`] that nothing else
/// borrows during the call, and `buf` must point at `size` readable bytes.
unsafe extern "C" fn write_packet<B: IoBuffer>(opaque: *mut c_void, buf: B, size: c_int) -> c_int {
    let Ok(len) = usize::try_from(size) else {
        return ffi::AVERROR(ffi::EINVAL);
    };
    // SAFETY: per this function's contract, `opaque` is the exclusive sink.
    let sink = unsafe { &mut *opaque.cast::<Sink>() };
    if len > 0 {
        // SAFETY: per the contract, `buf` has `size` readable bytes, and it
        // is FFmpeg's buffer, disjoint from the sink.
        let data = unsafe { std::slice::from_raw_parts(buf.as_const(), len) };
        sink.bytes.extend_from_slice(data);
        sink.ends.push(sink.bytes.len());
    }
    size
}

/// A write-only `AVIOContext` whose callback collects packets into a [`Sink`].
struct MemoryIo {
    ctx: NonNull<ffi::AVIOContext>,
    /// Owned through `Box::into_raw`; freed in `Drop` after the context.
    sink: NonNull<Sink>,
}

impl MemoryIo {
    fn new(max_packet_size: c_int) -> Result<Self> {
        let oom = || Error::new(ErrorKind::Ffmpeg, "allocating RTP output: out of memory");
        // Room for the largest packet, so FFmpeg never splits one between calls.
        let size = max_packet_size.saturating_mul(2).max(4096);
        // SAFETY: no preconditions; null when out of memory.
        let buffer = unsafe { ffi::av_malloc(usize::try_from(size).unwrap_or(4096)) };
        if buffer.is_null() {
            return Err(oom());
        }
        let sink = NonNull::from(Box::leak(Box::<Sink>::default()));
        // SAFETY: `buffer` holds `size` bytes from av_malloc, which the context
        // takes over; `sink` outlives the context (freed after it in `Drop`);
        // write-only, no read or seek callbacks.
        let ctx = unsafe {
            ffi::avio_alloc_context(
                buffer.cast(),
                size,
                1,
                sink.as_ptr().cast(),
                None,
                Some(write_packet),
                None,
            )
        };
        let Some(mut ctx) = NonNull::new(ctx) else {
            // SAFETY: the context was not created, so both are still ours.
            unsafe {
                ffi::av_free(buffer);
                drop(Box::from_raw(sink.as_ptr()));
            }
            return Err(oom());
        };
        // SAFETY: a fresh context we own; the rtp muxer reads this field as
        // its packet size when it writes its header.
        unsafe {
            let c = ctx.as_mut();
            c.max_packet_size = max_packet_size;
            c.seekable = 0;
        }
        Ok(Self { ctx, sink })
    }

    fn sink(&self) -> &Sink {
        // SAFETY: the sink lives as long as `self`; FFmpeg writes it only
        // inside calls that need `&mut` of the owning muxer, so not now.
        unsafe { self.sink.as_ref() }
    }

    fn sink_mut(&mut self) -> &mut Sink {
        // SAFETY: as in `sink`, and `&mut self` makes this the only borrow.
        unsafe { self.sink.as_mut() }
    }
}

impl Drop for MemoryIo {
    fn drop(&mut self) {
        let mut ctx = self.ctx.as_ptr();
        // SAFETY: the context is ours alone (the format context that used it
        // was freed first, see `RtpMuxer`'s field order). Its buffer may have
        // been reallocated by FFmpeg, so free the current one, then the
        // context (avio_context_free does not free the buffer), then the sink.
        unsafe {
            ffi::av_freep(ptr::addr_of_mut!((*ctx).buffer).cast());
            ffi::avio_context_free(&mut ctx);
            drop(Box::from_raw(self.sink.as_ptr()));
        }
    }
}

/// FFmpeg's `rtp` muxer for one stream, writing packets into memory.
pub struct RtpMuxer {
    ctx: NonNull<ffi::AVFormatContext>,
    header_written: bool,
    /// Dropped after `ctx` is freed (fields drop after `Drop::drop`).
    io: MemoryIo,
    packet: Packet,
}

// SAFETY: the format context, its I/O context and the sink are used only
// through `&mut self` (or `&self` reads of the sink while no FFmpeg call runs),
// so calls never overlap; FFmpeg ties none of them to a thread. Not `Sync`.
unsafe impl Send for RtpMuxer {}

impl fmt::Debug for RtpMuxer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtpMuxer")
            .field("pending_packets", &self.io.sink().ends.len())
            .finish_non_exhaustive()
    }
}

impl RtpMuxer {
    /// A muxer for one stream described by `params` (H.264, H.265, MJPEG, or
    /// anything else FFmpeg's RTP muxer packetizes), header written.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for a packet size out of range,
    /// [`ErrorKind::Unsupported`] for a codec the RTP muxer refuses, else the
    /// mapped FFmpeg error.
    pub fn new(params: &CodecParameters, options: &RtpMuxerOptions) -> Result<Self> {
        super::init();
        let size = options.max_packet_size.unwrap_or(DEFAULT_MAX_PACKET_SIZE);
        if !(64..=65_535).contains(&size) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("RTP packet size {size} is not in 64 ..= 65535"),
            ));
        }
        let size = c_int::try_from(size).unwrap_or(c_int::MAX);
        let io = MemoryIo::new(size)?;
        let packet = Packet::new()?;
        let mut ctx: *mut ffi::AVFormatContext = ptr::null_mut();
        // SAFETY: `ctx` is an out-pointer; the format name is NUL-terminated;
        // no file name (the output is our I/O context).
        let ret = unsafe {
            ffi::avformat_alloc_output_context2(&mut ctx, ptr::null(), c"rtp".as_ptr(), ptr::null())
        };
        check(ret, || "creating the RTP muxer".to_owned())?;
        let ctx = NonNull::new(ctx)
            .ok_or_else(|| Error::new(ErrorKind::Ffmpeg, "creating the RTP muxer: no context"))?;
        // From here `muxer`'s Drop frees everything on every error path.
        let mut muxer = RtpMuxer {
            ctx,
            header_written: false,
            io,
            packet,
        };
        // SAFETY: a fresh output context we own; the stream is owned by it.
        let stream = unsafe { ffi::avformat_new_stream(ctx.as_ptr(), ptr::null()) };
        // SAFETY: null or a stream of `ctx`, alive as long as it.
        let Some(stream) = (unsafe { stream.as_mut() }) else {
            return Err(Error::new(
                ErrorKind::Ffmpeg,
                "adding the RTP stream: out of memory",
            ));
        };
        // SAFETY: the new stream's codecpar is allocated with it; `params` is
        // live and only read; the copy is deep.
        let ret = unsafe { ffi::avcodec_parameters_copy(stream.codecpar, params.as_ptr()) };
        check(ret, || "copying the RTP stream's parameters".to_owned())?;
        stream.time_base = ffi::AVRational {
            num: 1,
            den: c_int::try_from(RTP_CLOCK_RATE).unwrap_or(90_000),
        };
        // SAFETY: a context we own, not yet written to: hand it our I/O
        // context, which outlives it (see the field order).
        unsafe {
            let c = muxer.ctx.as_mut();
            c.pb = muxer.io.ctx.as_ptr();
            c.flags |= c_flag(ffi::AVFMT_FLAG_CUSTOM_IO);
        }
        let mut dict = Dictionary::new();
        if let Some(ssrc) = options.ssrc {
            // The option is a C int: pass the bits of the u32.
            dict.set("ssrc", &i32::from_ne_bytes(ssrc.to_ne_bytes()).to_string())?;
        }
        if let Some(seq) = options.first_seq {
            dict.set("seq", &seq.to_string())?;
        }
        if let Some(payload_type) = options.payload_type {
            if payload_type > 127 {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!("RTP payload type {payload_type} is not in 0 ..= 127"),
                ));
            }
            dict.set("payload_type", &payload_type.to_string())?;
        }
        if options.no_rtcp {
            dict.set("rtpflags", "skip_rtcp")?;
        }
        let ret = dict.with_raw(|dict| {
            // SAFETY: a context with one stream and an output; `dict` is a
            // valid dictionary slot.
            unsafe { ffi::avformat_write_header(muxer.ctx.as_ptr(), dict) }
        });
        check(ret, || {
            format!("starting the RTP muxer for {:?}", params.codec())
        })
        .map_err(|error| match error.kind() {
            ErrorKind::Ffmpeg | ErrorKind::InvalidData => {
                Error::new(ErrorKind::Unsupported, error.message())
            }
            _ => error,
        })?;
        muxer.header_written = true;
        let unused = dict.keys();
        if !unused.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("the RTP muxer has no option {}", unused.join(", ")),
            ));
        }
        Ok(muxer)
    }

    /// The stream's SDP (`av_sdp_create`): a session with one `m=video 0
    /// RTP/AVP <pt>` line, `a=rtpmap`, `a=fmtp` (for H.264 with
    /// `sprop-parameter-sets` from the extradata) and `a=control:streamid=0`.
    /// No `c=` line: add one if the client needs it.
    pub fn sdp(&mut self) -> Result<String> {
        let mut buf: Vec<c_char> = vec![0; 16 * 1024];
        let len = c_int::try_from(buf.len()).unwrap_or(c_int::MAX);
        let mut ctx = self.ctx.as_ptr();
        // SAFETY: an array of one live context (the muxer's; its streams and
        // private options are read); `buf` is writable for `len` bytes and
        // av_sdp_create NUL-terminates within it.
        let ret = unsafe { ffi::av_sdp_create(&mut ctx, 1, buf.as_mut_ptr(), len) };
        check(ret, || "creating the SDP".to_owned())?;
        // SAFETY: NUL-terminated above; `buf` outlives the borrow.
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
        Ok(text.to_string_lossy().into_owned())
    }

    /// The stream's RTP clock in Hz: [`RTP_CLOCK_RATE`] for video, the
    /// sample rate for audio (FFmpeg's muxer sets it when it writes the header).
    pub fn clock_rate(&self) -> i64 {
        // SAFETY: the context owns one stream (added in `new`), alive as long
        // as it; reading its plain time base while no call runs on it.
        let time_base = unsafe { (**self.ctx.as_ref().streams).time_base };
        if time_base.num == 1 && time_base.den > 0 {
            i64::from(time_base.den)
        } else {
            RTP_CLOCK_RATE
        }
    }

    /// Packetizes one encoded frame: `pts` and `dts` in
    /// [`clock_rate`](Self::clock_rate) units ([`RTP_CLOCK_RATE`] for video;
    /// dts non-decreasing from one call to the next). The packets
    /// are appended to [`packets`](Self::packets).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for an empty or oversized frame, else the
    /// mapped FFmpeg error (e.g. decreasing timestamps).
    pub fn write(&mut self, data: &[u8], pts: i64, dts: i64, key: bool) -> Result<()> {
        let size = c_int::try_from(data.len())
            .ok()
            .filter(|&size| size > 0)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("an RTP frame of {} bytes", data.len()),
                )
            })?;
        self.packet.unref();
        let packet = self.packet.as_mut_ptr();
        // SAFETY: a blank packet we own; av_new_packet gives it a
        // reference-counted buffer of `size` bytes (plus padding).
        let ret = unsafe { ffi::av_new_packet(packet, size) };
        check(ret, || "allocating an RTP frame".to_owned())?;
        // SAFETY: the packet's buffer has `size == data.len()` writable bytes
        // and is disjoint from `data`; the other fields are plain values.
        unsafe {
            ptr::copy_nonoverlapping(data.as_ptr(), (*packet).data, data.len());
            (*packet).pts = pts;
            (*packet).dts = dts;
            (*packet).stream_index = 0;
            if key {
                (*packet).flags |= c_flag(ffi::AV_PKT_FLAG_KEY);
            }
        }
        // SAFETY: a context whose header was written and a valid packet of its
        // only stream; av_write_frame does not take the packet's reference.
        let ret = unsafe { ffi::av_write_frame(self.ctx.as_ptr(), packet) };
        self.packet.unref();
        check(ret, || "packetizing a frame into RTP".to_owned()).map(drop)
    }

    /// The RTP and RTCP packets written since the last
    /// [`clear_packets`](Self::clear_packets), oldest first, one slice each
    /// (tell them apart with [`is_rtcp`]).
    pub fn packets(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let sink = self.io.sink();
        let starts = std::iter::once(0).chain(sink.ends.iter().copied());
        starts
            .zip(sink.ends.iter().copied())
            .map(move |(start, end)| &sink.bytes[start..end])
    }

    /// Forgets the packets returned by [`packets`](Self::packets) (keeps the
    /// memory for the next frame).
    pub fn clear_packets(&mut self) {
        let sink = self.io.sink_mut();
        sink.bytes.clear();
        sink.ends.clear();
    }
}

impl Drop for RtpMuxer {
    fn drop(&mut self) {
        if self.header_written {
            // SAFETY: a context whose header was written; the trailer frees the
            // muxer's packet buffer (and writes nothing unless asked to send BYE).
            unsafe { ffi::av_write_trailer(self.ctx.as_ptr()) };
        }
        // SAFETY: a context from avformat_alloc_output_context2 only we own;
        // avformat_free_context frees it and its streams but not `pb` (ours,
        // freed when `io` drops after this).
        unsafe { ffi::avformat_free_context(self.ctx.as_ptr()) };
    }
}

/// Whether an RTP-session packet is RTCP rather than RTP: its second byte,
/// RTP's marker bit and payload type, is an RTCP packet type (192..=195,
/// 200..=210; RFC 5761 §4).
pub fn is_rtcp(packet: &[u8]) -> bool {
    matches!(packet.get(1), Some(192..=195 | 200..=210))
}

#[cfg(test)]
mod tests {
    use super::super::encoder::{EncodeOutcome, Encoder, EncoderOptions};
    use super::*;

    #[test]
    fn frames_become_bounded_rtp_packets_and_an_sdp() {
        let mut encoder = Encoder::new(&EncoderOptions::default().size(320, 240)).unwrap();
        let params = encoder.parameters().unwrap();
        let options = RtpMuxerOptions::default()
            .max_packet_size(500)
            .ssrc(0xdead_beef)
            .first_seq(1000);
        let mut muxer = RtpMuxer::new(&params, &options).unwrap();
        let sdp = muxer.sdp().unwrap();
        assert!(sdp.contains("m=video 0 RTP/AVP 96"), "{sdp}");
        assert!(sdp.contains("a=rtpmap:96 H264/90000"), "{sdp}");
        assert!(sdp.contains("sprop-parameter-sets="), "{sdp}");
        assert!(sdp.contains("a=control:streamid=0"), "{sdp}");

        let mut packet = Packet::new().unwrap();
        let y: Vec<u8> = (0..320 * 240).map(|i| (i * 7 % 251) as u8).collect();
        let uv = vec![128u8; 160 * 120];
        assert_eq!(
            encoder.send_yuv420p([&y, &uv, &uv], 0).unwrap(),
            crate::ffmpeg::SendOutcome::Sent
        );
        encoder.send_eof().unwrap();
        assert_eq!(
            encoder.receive_packet(&mut packet).unwrap(),
            EncodeOutcome::Packet
        );
        assert!(packet.size() > 2000, "a frame that needs fragmenting");
        muxer.write(packet.data(), 3600, 3600, true).unwrap();
        let packets: Vec<Vec<u8>> = muxer.packets().map(<[u8]>::to_vec).collect();
        let (rtcp, rtp): (Vec<_>, Vec<_>) = packets.iter().partition(|p| is_rtcp(p));
        assert_eq!(rtcp.len(), 1, "a sender report before the first packet");
        assert!(rtp.len() >= 5, "{} packets", rtp.len());
        for (index, p) in rtp.iter().enumerate() {
            assert!(p.len() <= 500 && p.len() > 12);
            assert_eq!(p[0] >> 6, 2, "RTP version 2");
            assert_eq!(p[1] & 0x7f, 96);
            assert_eq!(
                p[1] & 0x80 != 0,
                index == rtp.len() - 1,
                "marker on the last"
            );
            assert_eq!(u16::from_be_bytes([p[2], p[3]]), 1000 + index as u16);
            assert_eq!(p[8..12], 0xdead_beef_u32.to_be_bytes());
        }
        muxer.clear_packets();
        assert_eq!(muxer.packets().count(), 0);
    }

    #[test]
    fn a_bad_packet_size_is_refused() {
        let encoder = Encoder::new(&EncoderOptions::default().size(64, 48)).unwrap();
        let params = encoder.parameters().unwrap();
        let err =
            RtpMuxer::new(&params, &RtpMuxerOptions::default().max_packet_size(10)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    }
}
