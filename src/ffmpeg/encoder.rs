//! [`Encoder`]: an opened `AVCodecContext` that encodes yuv420p pictures
//! (libx264 by default), with the send/receive API turned into states
//! ([`SendOutcome`], [`EncodeOutcome`]). The simulator encodes its test pattern
//! with it once, at start.

use std::ffi::c_int;
use std::fmt;

use ffmpeg_sys_next as ffi;

use super::c_flag;
use super::codec_parameters::CodecParameters;
use super::decoder::SendOutcome;
use super::dict::Dictionary;
use super::encoder_context::EncoderContext;
use super::error as averror;
use super::frame::VideoFrame;
use super::packet::Packet;
use super::stream_info::Rational;
use crate::error::{Error, ErrorKind, Result};

/// How to set up an [`Encoder`]. `Default`: libx264, 640×360 at 25 fps, a
/// keyframe every 25 frames, no B-frames, `preset=veryfast`,
/// `tune=zerolatency`, parameter sets both in the global header (for an SDP's
/// `sprop-parameter-sets`) and before every keyframe (for a client that joins
/// late), BT.601 limited range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncoderOptions {
    codec: String,
    full_range: bool,
    width: u32,
    height: u32,
    fps: u32,
    gop: u32,
    threads: u32,
    global_header: bool,
    options: Vec<(String, String)>,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        Self {
            codec: "libx264".to_owned(),
            full_range: false,
            width: 640,
            height: 360,
            fps: 25,
            gop: 25,
            threads: 0,
            global_header: true,
            options: vec![
                ("preset".to_owned(), "veryfast".to_owned()),
                ("tune".to_owned(), "zerolatency".to_owned()),
                (
                    "x264-params".to_owned(),
                    "repeat-headers=1:scenecut=0".to_owned(),
                ),
            ],
        }
    }
}

impl EncoderOptions {
    /// The encoder's FFmpeg name, e.g. `"libx264"`. Default `libx264`.
    pub fn codec(mut self, name: impl Into<String>) -> Self {
        self.codec = name.into();
        self
    }

    /// Pictures in full (JPEG) range, given as `yuvj420p` — what MJPEG
    /// encoders and RTP/JPEG (RFC 2435) take — instead of limited range.
    /// Default off.
    pub fn full_range(mut self, on: bool) -> Self {
        self.full_range = on;
        self
    }

    /// The picture size in pixels (even numbers, for 4:2:0). Default 640×360.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Frames per second; the time base is `1/fps`. Default 25.
    pub fn fps(mut self, fps: u32) -> Self {
        self.fps = fps;
        self
    }

    /// Frames from one keyframe to the next. Default 25.
    pub fn gop(mut self, gop: u32) -> Self {
        self.gop = gop;
        self
    }

    /// Encoding threads (0 = FFmpeg picks). Default 0.
    pub fn threads(mut self, threads: u32) -> Self {
        self.threads = threads;
        self
    }

    /// Put the parameter sets in the codec's extradata
    /// (`AV_CODEC_FLAG_GLOBAL_HEADER`). Default on.
    pub fn global_header(mut self, on: bool) -> Self {
        self.global_header = on;
        self
    }

    /// Sets an encoder option (its private options included, e.g. `preset`,
    /// `crf`), replacing an earlier value of the same name. Opening fails if
    /// the encoder does not know the option.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.options.retain(|(k, _)| *k != key);
        self.options.push((key, value.into()));
        self
    }

    /// Removes every option set so far (the default's libx264 options
    /// included), e.g. before setting another encoder's.
    pub fn clear_options(mut self) -> Self {
        self.options.clear();
        self
    }

    /// The picture size.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Frames per second.
    pub fn frame_rate(&self) -> u32 {
        self.fps
    }
}

/// What [`Encoder::receive_packet`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum EncodeOutcome {
    /// The packet holds the next encoded frame.
    Packet,
    /// The encoder needs more pictures first.
    Again,
    /// Every packet was returned after [`Encoder::send_eof`].
    Eof,
}

/// An opened video encoder taking yuv420p pictures; owns its `AVCodecContext`
/// and the reusable picture it copies each input into.
pub struct Encoder {
    ctx: EncoderContext,
    picture: VideoFrame,
    width: usize,
    height: usize,
    fps: c_int,
    /// `yuvj420p` pictures (full range) instead of `yuv420p`.
    full_range: bool,
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("codec", &self.ctx.name())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("fps", &self.fps)
            .finish_non_exhaustive()
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidConfig, message)
}

fn to_c_int(value: u32, what: &str) -> Result<c_int> {
    c_int::try_from(value).map_err(|_| invalid(format!("encoder {what} {value} is too large")))
}

impl Encoder {
    /// Opens the encoder named in `options`.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when this FFmpeg has no such encoder,
    /// [`ErrorKind::InvalidConfig`] for an odd or zero size, a zero frame rate
    /// or an option the encoder does not know, else the mapped FFmpeg error.
    pub fn new(options: &EncoderOptions) -> Result<Self> {
        super::init();
        if options.width == 0 || options.height == 0 || options.width % 2 + options.height % 2 != 0
        {
            return Err(invalid(format!(
                "encoder size {}x{} must be even and non-zero (4:2:0)",
                options.width, options.height
            )));
        }
        if options.fps == 0 || options.gop == 0 {
            return Err(invalid(format!(
                "encoder fps ({}) and gop ({}) must be at least 1",
                options.fps, options.gop
            )));
        }
        let width = to_c_int(options.width, "width")?;
        let height = to_c_int(options.height, "height")?;
        let fps = to_c_int(options.fps, "fps")?;
        let gop = to_c_int(options.gop, "gop")?;
        let threads = to_c_int(options.threads, "threads")?;
        let ctx = EncoderContext::alloc(&options.codec)?;
        let name = ctx.name();
        let picture = VideoFrame::new()?;
        let mut encoder = Encoder {
            ctx,
            picture,
            width: usize::try_from(options.width).unwrap_or(0),
            height: usize::try_from(options.height).unwrap_or(0),
            fps,
            full_range: options.full_range,
        };
        let (pix_fmt, color_range) = encoder.picture_format();
        {
            let c = encoder.ctx.get_mut();
            c.width = width;
            c.height = height;
            c.pix_fmt = pix_fmt;
            c.time_base = ffi::AVRational { num: 1, den: fps };
            c.framerate = ffi::AVRational { num: fps, den: 1 };
            c.sample_aspect_ratio = ffi::AVRational { num: 1, den: 1 };
            c.gop_size = gop;
            c.keyint_min = gop;
            c.max_b_frames = 0;
            c.thread_count = threads;
            c.color_range = color_range;
            c.colorspace = ffi::AVColorSpace::AVCOL_SPC_SMPTE170M;
            c.color_primaries = ffi::AVColorPrimaries::AVCOL_PRI_SMPTE170M;
            c.color_trc = ffi::AVColorTransferCharacteristic::AVCOL_TRC_SMPTE170M;
            if options.global_header {
                c.flags |= c_flag(ffi::AV_CODEC_FLAG_GLOBAL_HEADER);
            }
        }
        let mut dict = Dictionary::new();
        for (key, value) in &options.options {
            dict.set(key, value)?;
        }
        dict.with_raw(|dict| encoder.ctx.open(dict))?;
        let unused = dict.keys();
        if !unused.is_empty() {
            return Err(invalid(format!(
                "the {name} encoder has no option {}",
                unused.join(", ")
            )));
        }
        encoder.alloc_picture(width, height)?;
        Ok(encoder)
    }

    /// The pictures' pixel format and range.
    fn picture_format(&self) -> (ffi::AVPixelFormat, ffi::AVColorRange) {
        if self.full_range {
            (
                ffi::AVPixelFormat::AV_PIX_FMT_YUVJ420P,
                ffi::AVColorRange::AVCOL_RANGE_JPEG,
            )
        } else {
            (
                ffi::AVPixelFormat::AV_PIX_FMT_YUV420P,
                ffi::AVColorRange::AVCOL_RANGE_MPEG,
            )
        }
    }

    fn alloc_picture(&mut self, width: c_int, height: c_int) -> Result<()> {
        let (pix_fmt, color_range) = self.picture_format();
        let frame = self.picture.as_mut_ptr();
        // SAFETY: a blank frame we own exclusively; these fields describe the
        // buffers av_frame_get_buffer allocates (32-byte aligned rows: 0 = default).
        let ret = unsafe {
            (*frame).width = width;
            (*frame).height = height;
            (*frame).format = pix_fmt as c_int;
            (*frame).color_range = color_range;
            (*frame).colorspace = ffi::AVColorSpace::AVCOL_SPC_SMPTE170M;
            ffi::av_frame_get_buffer(frame, 0)
        };
        averror::check(ret, || "allocating the encoder's picture".to_owned()).map(drop)
    }

    /// The encoder's FFmpeg name, e.g. `"libx264"`.
    pub fn name(&self) -> &'static str {
        self.ctx.name()
    }

    /// The unit of picture and packet timestamps: `1/fps`.
    pub fn time_base(&self) -> Rational {
        Rational {
            num: 1,
            den: self.fps,
        }
    }

    /// The stream's codec parameters (with the parameter sets as extradata
    /// when the global header is on), for a muxer.
    pub fn parameters(&self) -> Result<CodecParameters> {
        self.ctx.parameters()
    }

    /// Encodes one picture given as tightly packed yuv420p (or, with
    /// [`EncoderOptions::full_range`], yuvj420p) planes (Y is
    /// `width × height` bytes, U and V a quarter each), with `pts` in
    /// [`time_base`](Self::time_base) units.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] when a plane has the wrong size, else the
    /// mapped FFmpeg error.
    pub fn send_yuv420p(&mut self, planes: [&[u8]; 3], pts: i64) -> Result<SendOutcome> {
        let (width, height) = (self.width, self.height);
        let sizes = [
            (width, height),
            (width / 2, height / 2),
            (width / 2, height / 2),
        ];
        for (index, (plane, (w, h))) in planes.iter().zip(sizes).enumerate() {
            if plane.len() != w * h {
                return Err(invalid(format!(
                    "yuv420p plane {index} has {} bytes, want {}",
                    plane.len(),
                    w * h
                )));
            }
        }
        let frame = self.picture.as_mut_ptr();
        // SAFETY: a frame we own with buffers; the encoder may still hold a
        // reference to them, in which case this gives the frame new ones.
        let ret = unsafe { ffi::av_frame_make_writable(frame) };
        averror::check(ret, || "making the encoder's picture writable".to_owned())?;
        for (index, (plane, (w, h))) in planes.iter().zip(sizes).enumerate() {
            // SAFETY: the frame is writable and ours (above); reading its plane
            // pointer and stride.
            let (data, stride) = unsafe { ((*frame).data[index], (*frame).linesize[index]) };
            let stride = usize::try_from(stride).unwrap_or(0);
            if data.is_null() || stride < w {
                return Err(Error::new(
                    ErrorKind::Ffmpeg,
                    "the encoder's picture has no buffer",
                ));
            }
            for (y, row) in plane.chunks_exact(w).take(h).enumerate() {
                // SAFETY: av_frame_get_buffer allocated `h` rows of `stride >= w`
                // bytes for this plane; `row` has `w` bytes and does not overlap it.
                unsafe { std::ptr::copy_nonoverlapping(row.as_ptr(), data.add(y * stride), w) };
            }
        }
        // SAFETY: as above; the timestamp is a plain field.
        unsafe { (*frame).pts = pts };
        self.ctx.send_frame(frame)
    }

    /// Starts draining: the encoder returns its buffered packets, then
    /// [`EncodeOutcome::Eof`].
    pub fn send_eof(&mut self) -> Result<()> {
        self.ctx.send_eof()
    }

    /// Takes the next encoded packet into `packet` (its previous payload is
    /// released first). Its timestamps are in [`time_base`](Self::time_base).
    pub fn receive_packet(&mut self, packet: &mut Packet) -> Result<EncodeOutcome> {
        self.ctx.receive_packet(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_are_refused() {
        let err = Encoder::new(&EncoderOptions::default().size(641, 360)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        let err = Encoder::new(&EncoderOptions::default().codec("no-such-encoder")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        let err =
            Encoder::new(&EncoderOptions::default().option("no-such-option", "1")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    }

    #[test]
    fn libx264_encodes_keyframes_with_parameter_sets() {
        let options = EncoderOptions::default().size(64, 48).gop(5);
        let mut encoder = Encoder::new(&options).unwrap();
        let params = encoder.parameters().unwrap();
        assert_eq!((params.width(), params.height()), (64, 48));
        assert!(
            params.extradata().starts_with(&[0, 0, 0, 1]),
            "Annex B parameter sets in the global header"
        );
        let (y, uv) = (vec![128u8; 64 * 48], vec![128u8; 32 * 24]);
        let mut packet = Packet::new().unwrap();
        let mut got = Vec::new();
        for pts in 0..10 {
            assert_eq!(
                encoder.send_yuv420p([&y, &uv, &uv], pts).unwrap(),
                SendOutcome::Sent
            );
            while encoder.receive_packet(&mut packet).unwrap() == EncodeOutcome::Packet {
                got.push((packet.pts(), packet.is_key(), packet.data().to_vec()));
            }
        }
        encoder.send_eof().unwrap();
        while encoder.receive_packet(&mut packet).unwrap() == EncodeOutcome::Packet {
            got.push((packet.pts(), packet.is_key(), packet.data().to_vec()));
        }
        assert_eq!(got.len(), 10);
        for (index, (pts, key, data)) in got.iter().enumerate() {
            assert_eq!(*pts, Some(index as i64), "no reordering");
            assert_eq!(*key, index % 5 == 0, "a keyframe every 5");
            // repeat-headers: an SPS (NAL type 7) before every keyframe.
            let has_sps = data
                .windows(4)
                .any(|w| w[..3] == [0, 0, 1] && w[3] & 0x1f == 7);
            assert_eq!(has_sps, *key, "packet {index}");
        }
        assert!(encoder
            .send_yuv420p([&y[1..], &uv, &uv], 11)
            .is_err_and(|e| e.kind() == ErrorKind::InvalidConfig));
    }
}
