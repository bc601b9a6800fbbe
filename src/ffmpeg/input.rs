//! [`Input`]: an opened source (`AVFormatContext` from `avformat_open_input`)
//! with every blocking call bounded by an [`Interrupt`], reading packets and
//! telling what the source says about its video.

use std::ffi::{CStr, CString};
use std::fmt;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ffmpeg_sys_next as ffi;

use super::error::{self as averror, classify, interrupted_error, open_error, Code};
use super::interrupt::{self, Interrupt};
use super::options::{InputOptions, Probe, RtspTransport};
use super::packet::{known, Packet};
use super::stage::ConnectStage;
use super::stream_info::{Rational, VideoCodec, VideoStreamInfo};
use crate::error::{Error, ErrorKind, Result};
use crate::redact::redact;

/// What [`Input::read_packet`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum ReadOutcome {
    /// The packet holds the next compressed frame of some stream.
    Packet,
    /// Nothing yet (non-blocking sources only); read again.
    Again,
    /// The source ended (a file's end, or the server closed the stream).
    Eof,
}

/// An opened source: owns the `AVFormatContext` and keeps its [`Interrupt`]
/// alive for as long as FFmpeg may poll it.
pub struct Input {
    ctx: NonNull<ffi::AVFormatContext>,
    interrupt: Arc<Interrupt>,
    /// The URL with any password replaced by `***`, for messages.
    url: String,
    read_timeout: Duration,
    open_timeout: Duration,
    close_timeout: Duration,
    /// Payload bytes of every packet read so far.
    payload_bytes: u64,
}

// SAFETY: an AVFormatContext may be used from any thread as long as calls on it
// do not overlap; `Input` is not `Sync` and every method that calls into the
// context takes `&mut self` or only reads plain fields, so they cannot. The
// `Interrupt` it points FFmpeg at is `Sync` and kept alive by the `Arc`.
unsafe impl Send for Input {}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Input {
    /// Opens `url` (credentials may be embedded; they never appear in errors or
    /// logs), bounded by `options`' open timeout and by `interrupt`'s stop flag,
    /// then probes it per [`InputOptions::probe`].
    ///
    /// # Errors
    /// [`ErrorKind::Connect`], [`ErrorKind::Auth`], [`ErrorKind::NotFound`],
    /// [`ErrorKind::Timeout`], [`ErrorKind::Stopped`], [`ErrorKind::InvalidData`],
    /// [`ErrorKind::Unsupported`] or [`ErrorKind::Ffmpeg`], each with FFmpeg's
    /// message and the redacted URL.
    pub fn open(url: &str, options: &InputOptions, interrupt: Arc<Interrupt>) -> Result<Self> {
        super::init();
        let redacted = redact(url).into_owned();
        let context = format!("opening {redacted}");
        if interrupt.is_stopped() {
            return Err(Error::new(
                ErrorKind::Stopped,
                format!("{context}: stopped"),
            ));
        }
        let c_url = CString::new(url).map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("{context}: the URL contains a NUL byte"),
            )
        })?;
        let mut dict = options.dictionary(url)?;

        // SAFETY: no preconditions; null only when out of memory.
        let mut ctx = unsafe { ffi::avformat_alloc_context() };
        if ctx.is_null() {
            return Err(Error::new(
                ErrorKind::Ffmpeg,
                format!("{context}: out of memory"),
            ));
        }
        // SAFETY: `ctx` is a fresh, valid context we own. The callback's opaque
        // points at `interrupt`, which the `Input` keeps alive (the `Arc` moved
        // into it below) until after `avformat_close_input`; if opening fails,
        // FFmpeg frees the context before returning, and `interrupt` is still
        // alive here.
        unsafe {
            (*ctx).interrupt_callback = ffi::AVIOInterruptCB {
                callback: Some(interrupt::callback),
                opaque: interrupt.as_opaque(),
            };
        }
        interrupt.arm(options.open_timeout);
        // The RTSP client's log moves it on to each request (see `stage`).
        interrupt.set_stage(Some(ConnectStage::Connecting));
        interrupt.set_answer(None);
        let ret = dict.with_raw(|dict| {
            // SAFETY: `ctx` is a caller-allocated context (FFmpeg frees it and
            // nulls `ctx` on failure); `c_url` is NUL-terminated; a null format
            // means "probe"; `dict` is a valid dictionary slot.
            unsafe { ffi::avformat_open_input(&mut ctx, c_url.as_ptr(), ptr::null(), dict) }
        });
        let ctx = match (ret, NonNull::new(ctx)) {
            (0.., Some(ctx)) => ctx,
            (0.., None) => {
                return Err(Error::new(
                    ErrorKind::Ffmpeg,
                    format!("{context}: no context"),
                ))
            }
            (code, _) => {
                let asked = transport_words(options.transport_setting());
                return Err(open_error(code, &context, &interrupt, asked));
            }
        };
        let unused = dict.keys();
        if !unused.is_empty() {
            tracing::debug!(url = %redacted, ?unused, "options not used by FFmpeg");
        }
        drop(dict);
        let mut input = Input {
            ctx,
            interrupt,
            url: redacted,
            read_timeout: options.read_timeout,
            open_timeout: options.open_timeout,
            close_timeout: options.close_timeout,
            payload_bytes: 0,
        };
        let probe = match options.probe {
            Probe::Always => true,
            Probe::Never => false,
            Probe::IfNeeded => input.needs_probe(),
        };
        if probe {
            input.find_stream_info()?;
        }
        Ok(input)
    }

    fn get(&self) -> &ffi::AVFormatContext {
        // SAFETY: `ctx` is the live context we own; reading its plain fields
        // while no FFmpeg call runs on it (none can: calls need `&mut self`).
        unsafe { self.ctx.as_ref() }
    }

    /// The URL with its password replaced by `***`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The interrupt bounding this input's calls.
    pub fn interrupt(&self) -> &Arc<Interrupt> {
        &self.interrupt
    }

    /// Reads packets (for at most the open timeout and `analyze_duration`) to
    /// learn stream parameters the headers left out. [`open`](Self::open) calls
    /// it per [`InputOptions::probe`]; packets read here are kept and returned
    /// by [`read_packet`](Self::read_packet) later.
    pub fn find_stream_info(&mut self) -> Result<()> {
        self.interrupt.arm(self.open_timeout);
        self.interrupt.set_stage(Some(ConnectStage::Probing));
        // With `fflags nobuffer` FFmpeg drops the packets it reads while probing,
        // the stream's first keyframe among them: buffer them for this call only.
        let flags = self.get().flags;
        let no_buffer = super::c_flag(ffi::AVFMT_FLAG_NOBUFFER);
        // SAFETY: a live context we own exclusively (`&mut self`); `flags` is a
        // plain int FFmpeg reads during the calls below.
        unsafe { (*self.ctx.as_ptr()).flags = flags & !no_buffer };
        // SAFETY: a live context we own exclusively; null options are allowed.
        let ret = unsafe { ffi::avformat_find_stream_info(self.ctx.as_ptr(), ptr::null_mut()) };
        // SAFETY: as above.
        unsafe { (*self.ctx.as_ptr()).flags = flags };
        if ret < 0 {
            let context = format!("probing {}", self.url);
            return Err(interrupted_error(ret, &context, &self.interrupt));
        }
        Ok(())
    }

    /// Whether the best video stream is too little known to start decoding
    /// without [`find_stream_info`](Self::find_stream_info): no video stream
    /// yet, an unknown codec, or neither extradata nor a size. H.264 and
    /// H.265 need neither: their parameter sets (VPS for H.265 too) come in
    /// band before every keyframe, where the decoder takes them, and the
    /// size is known from the first decoded frame. MJPEG needs neither.
    pub fn needs_probe(&self) -> bool {
        match self.best_video_stream() {
            Err(_) => true,
            Ok(info) => {
                let unknown_codec = self
                    .codec_parameters(info.index)
                    .is_none_or(|par| par.codec_id == ffi::AVCodecID::AV_CODEC_ID_NONE);
                let known_size = info.width > 0 && info.height > 0;
                let in_band = matches!(
                    info.codec,
                    VideoCodec::H264 | VideoCodec::H265 | VideoCodec::Mjpeg
                );
                unknown_codec || !(info.has_extradata || known_size || in_band)
            }
        }
    }

    /// The number of streams (video, audio, data) the source has.
    pub fn stream_count(&self) -> usize {
        usize::try_from(self.get().nb_streams).unwrap_or(0)
    }

    fn stream(&self, index: usize) -> Option<&ffi::AVStream> {
        if index >= self.stream_count() {
            return None;
        }
        // SAFETY: `streams` holds `nb_streams` valid stream pointers, and index
        // is below it; streams live as long as the context.
        unsafe { (*self.get().streams.add(index)).as_ref() }
    }

    /// The stream's codec parameters, for the decoder.
    pub(crate) fn codec_parameters(&self, index: usize) -> Option<&ffi::AVCodecParameters> {
        // SAFETY: a stream's `codecpar` is allocated with the stream and lives
        // as long as it.
        self.stream(index)
            .and_then(|stream| unsafe { stream.codecpar.as_ref() })
    }

    /// The stream's time base.
    pub(crate) fn time_base(&self, index: usize) -> Option<ffi::AVRational> {
        self.stream(index).map(|stream| stream.time_base)
    }

    /// The video stream FFmpeg would pick (`av_find_best_stream`).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the source has no video stream.
    pub fn best_video_stream(&self) -> Result<VideoStreamInfo> {
        // SAFETY: a live context; `av_find_best_stream` only reads it (it takes
        // `*mut` for historical reasons); a null decoder slot is allowed.
        let ret = unsafe {
            ffi::av_find_best_stream(
                self.ctx.as_ptr(),
                ffi::AVMediaType::AVMEDIA_TYPE_VIDEO,
                -1,
                -1,
                ptr::null_mut(),
                0,
            )
        };
        let context = || format!("finding the video stream of {}", self.url);
        let index = averror::check(ret, context)?;
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        let (Some(stream), Some(par)) = (self.stream(index), self.codec_parameters(index)) else {
            return Err(Error::new(ErrorKind::NotFound, context()));
        };
        // SAFETY: returns a static NUL-terminated name for any id ("unknown_codec"
        // at worst), never null.
        let codec_name = unsafe { CStr::from_ptr(ffi::avcodec_get_name(par.codec_id)) };
        // SAFETY: returns null or a static NUL-terminated name.
        let profile = unsafe { ffi::avcodec_profile_name(par.codec_id, par.profile) };
        let profile = if profile.is_null() {
            None
        } else {
            // SAFETY: non-null profile names are static and NUL-terminated.
            let name = unsafe { CStr::from_ptr(profile) };
            Some(name.to_string_lossy().into_owned())
        };
        let avg = Rational::from(stream.avg_frame_rate);
        Ok(VideoStreamInfo {
            index,
            codec: VideoCodec::from_id(par.codec_id),
            codec_name: codec_name.to_string_lossy().into_owned(),
            profile,
            width: u32::try_from(par.width).unwrap_or(0),
            height: u32::try_from(par.height).unwrap_or(0),
            time_base: stream.time_base.into(),
            avg_frame_rate: avg.to_f64().map(|_| avg),
            has_extradata: !par.extradata.is_null() && par.extradata_size > 0,
        })
    }

    /// Tells the demuxer to drop every stream but `keep` (audio, metadata), so
    /// [`read_packet`](Self::read_packet) returns only its packets.
    pub fn discard_other_streams(&mut self, keep: usize) {
        for index in 0..self.stream_count() {
            // SAFETY: `index < nb_streams`, so the slot holds a valid stream we
            // may modify: `&mut self` excludes concurrent FFmpeg calls.
            let stream = unsafe { &mut **self.get().streams.add(index) };
            stream.discard = if index == keep {
                ffi::AVDiscard::AVDISCARD_DEFAULT
            } else {
                ffi::AVDiscard::AVDISCARD_ALL
            };
        }
    }

    /// Reads the next packet into `packet` (its previous payload is released
    /// first), waiting at most the read timeout.
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`] when nothing arrived in time,
    /// [`ErrorKind::Stopped`] when the interrupt was stopped, else the mapped
    /// FFmpeg error (the connection broke, garbage data...).
    pub fn read_packet(&mut self, packet: &mut Packet) -> Result<ReadOutcome> {
        packet.unref();
        if self.interrupt.is_stopped() {
            return Err(Error::new(
                ErrorKind::Stopped,
                format!("reading {}: stopped", self.url),
            ));
        }
        self.interrupt.arm(self.read_timeout);
        // SAFETY: a live context and a live, blank packet, both exclusively ours.
        let ret = unsafe { ffi::av_read_frame(self.ctx.as_ptr(), packet.as_mut_ptr()) };
        match classify(ret) {
            Ok(Code::Ok(_)) => {
                self.payload_bytes += u64::try_from(packet.size()).unwrap_or(0);
                Ok(ReadOutcome::Packet)
            }
            Ok(Code::Again) => Ok(ReadOutcome::Again),
            // An interrupted read can surface as end of file: say why instead.
            Ok(Code::Eof) if self.interrupt_fired() => Err(interrupted_error(
                ret,
                &format!("reading {}", self.url),
                &self.interrupt,
            )),
            Ok(Code::Eof) => Ok(ReadOutcome::Eof),
            Err(code) => Err(interrupted_error(
                code,
                &format!("reading {}", self.url),
                &self.interrupt,
            )),
        }
    }

    fn interrupt_fired(&self) -> bool {
        self.interrupt.has_fired()
    }

    /// The wall-clock time of the stream's start (its `start_time`), when the
    /// source says: for RTSP, from the first RTCP sender report's NTP time
    /// (`AVFormatContext.start_time_realtime`). Add a frame's pts offset to get
    /// its capture time.
    pub fn start_time_realtime(&self) -> Option<SystemTime> {
        let micros = known(self.get().start_time_realtime)?;
        let micros = u64::try_from(micros).ok().filter(|&micros| micros > 0)?;
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_micros(micros))
    }

    /// The stream's start time in its time base, when known.
    pub fn start_time(&self, stream_index: usize) -> Option<i64> {
        known(self.stream(stream_index)?.start_time)
    }

    /// Payload bytes of every packet read so far (all streams).
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// Bytes read by the source's I/O layer (`AVIOContext.bytes_read`), when it
    /// has one; RTSP does its own networking and has none.
    pub fn io_bytes(&self) -> Option<u64> {
        // SAFETY: `pb` is null or the context's live I/O context.
        let pb = unsafe { self.get().pb.as_ref() }?;
        u64::try_from(pb.bytes_read).ok()
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        // Closing an RTSP input sends TEARDOWN: bound it (a stopped interrupt
        // skips it at once).
        self.interrupt.arm(self.close_timeout);
        let mut ctx = self.ctx.as_ptr();
        // SAFETY: a context opened by avformat_open_input that only we own;
        // avformat_close_input frees it and everything it owns. The interrupt it
        // polls is still alive (our `Arc` drops after this).
        unsafe { ffi::avformat_close_input(&mut ctx) };
        self.interrupt.disarm();
    }
}

/// How an error message names what an attempt with `transport` asked for.
fn transport_words(transport: RtspTransport) -> &'static str {
    match transport {
        RtspTransport::Tcp | RtspTransport::PreferTcp => "RTP over TCP",
        RtspTransport::Udp => "RTP over UDP",
        RtspTransport::UdpMulticast => "RTP over UDP multicast",
        RtspTransport::Http => "RTP over HTTP",
        RtspTransport::Auto => "any transport",
    }
}
