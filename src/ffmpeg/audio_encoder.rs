//! [`AudioEncoder`]: an opened `AVCodecContext` that encodes mono audio given
//! as `f32` samples (G.711 A-law with `pcm_alaw`, AAC with FFmpeg's `aac`),
//! with the send/receive API turned into states. The simulator encodes its
//! audio track with it once, at start.

use std::ffi::c_int;
use std::fmt;
use std::ptr::NonNull;

use ffmpeg_sys_next as ffi;

use super::c_flag;
use super::codec_parameters::CodecParameters;
use super::decoder::SendOutcome;
use super::encoder::EncodeOutcome;
use super::encoder_context::EncoderContext;
use super::error as averror;
use super::packet::Packet;
use crate::error::{Error, ErrorKind, Result};

/// How to set up an [`AudioEncoder`]. `Default`: `pcm_alaw` (G.711 A-law) at
/// 8000 Hz, mono.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioEncoderOptions {
    codec: String,
    sample_rate: u32,
    bit_rate: Option<u32>,
}

impl Default for AudioEncoderOptions {
    fn default() -> Self {
        Self {
            codec: "pcm_alaw".to_owned(),
            sample_rate: 8000,
            bit_rate: None,
        }
    }
}

impl AudioEncoderOptions {
    /// The encoder's FFmpeg name, e.g. `"pcm_alaw"` or `"aac"`. Default `pcm_alaw`.
    pub fn codec(mut self, name: impl Into<String>) -> Self {
        self.codec = name.into();
        self
    }

    /// Samples per second. Default 8000.
    pub fn sample_rate(mut self, rate: u32) -> Self {
        self.sample_rate = rate;
        self
    }

    /// Bits per second, for encoders that take one (AAC). Default the encoder's.
    pub fn bit_rate(mut self, bits: u32) -> Self {
        self.bit_rate = Some(bits);
        self
    }
}

/// An owned, blank-or-filled `AVFrame` of audio samples.
struct AudioFrame {
    raw: NonNull<ffi::AVFrame>,
}

impl AudioFrame {
    fn new() -> Result<Self> {
        // SAFETY: no preconditions; null only when out of memory.
        let raw = unsafe { ffi::av_frame_alloc() };
        NonNull::new(raw)
            .map(|raw| Self { raw })
            .ok_or_else(|| Error::new(ErrorKind::Ffmpeg, "av_frame_alloc: out of memory"))
    }
}

impl Drop for AudioFrame {
    fn drop(&mut self) {
        let mut raw = self.raw.as_ptr();
        // SAFETY: a frame from av_frame_alloc only we own; av_frame_free
        // releases its buffers and frees it.
        unsafe { ffi::av_frame_free(&mut raw) };
    }
}

/// How the samples of one frame are laid out in its first plane (mono, so the
/// planar and packed forms of a format are the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SampleLayout {
    S16,
    F32,
}

/// An opened mono audio encoder; owns its `AVCodecContext` and the reusable
/// frame it copies each input into.
pub struct AudioEncoder {
    ctx: EncoderContext,
    frame: AudioFrame,
    sample_rate: u32,
    frame_size: usize,
    layout: SampleLayout,
}

// SAFETY: the frame may be used from any thread as long as calls on it do not
// overlap; every method that touches it takes `&mut self`, and `AudioEncoder`
// is not `Sync` (the context is `Send` itself).
unsafe impl Send for AudioEncoder {}

impl fmt::Debug for AudioEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioEncoder")
            .field("codec", &self.ctx.name())
            .field("sample_rate", &self.sample_rate)
            .field("frame_size", &self.frame_size)
            .finish_non_exhaustive()
    }
}

impl AudioEncoder {
    /// Opens the encoder named in `options`, for mono input.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when this FFmpeg has no such encoder or it
    /// takes none of the sample formats handled here (16-bit or float),
    /// [`ErrorKind::InvalidConfig`] for a zero sample rate, else the mapped
    /// FFmpeg error.
    pub fn new(options: &AudioEncoderOptions) -> Result<Self> {
        super::init();
        let invalid = |message: String| Error::new(ErrorKind::InvalidConfig, message);
        let rate = c_int::try_from(options.sample_rate)
            .ok()
            .filter(|&rate| rate > 0)
            .ok_or_else(|| invalid(format!("audio sample rate {}", options.sample_rate)))?;
        let ctx = EncoderContext::alloc(&options.codec)?;
        let name = ctx.name();
        let (sample_fmt, layout) = pick_sample_format(ctx.codec()).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("the {name} encoder takes neither 16-bit nor float samples"),
            )
        })?;
        let frame = AudioFrame::new()?;
        let mut encoder = AudioEncoder {
            ctx,
            frame,
            sample_rate: options.sample_rate,
            frame_size: 0,
            layout,
        };
        {
            let c = encoder.ctx.get_mut();
            c.sample_rate = rate;
            c.sample_fmt = sample_fmt;
            c.time_base = ffi::AVRational { num: 1, den: rate };
            // SAFETY: the context's layout field is valid to overwrite (a
            // fresh context's is empty and owns nothing).
            unsafe { ffi::av_channel_layout_default(&mut c.ch_layout, 1) };
            if let Some(bits) = options.bit_rate {
                c.bit_rate = i64::from(bits);
            }
            // The parameters (AAC's AudioSpecificConfig) go in the extradata,
            // which an SDP's `config=` carries.
            c.flags |= c_flag(ffi::AV_CODEC_FLAG_GLOBAL_HEADER);
        }
        encoder.ctx.open(std::ptr::null_mut())?;
        let frame_size = encoder.ctx.get().frame_size;
        // PCM encoders take any frame size (0): 20 ms, a usual RTP packet.
        encoder.frame_size = match usize::try_from(frame_size) {
            Ok(size) if size > 0 => size,
            _ => usize::try_from(rate / 50).unwrap_or(160).max(1),
        };
        encoder.alloc_frame()?;
        Ok(encoder)
    }

    fn alloc_frame(&mut self) -> Result<()> {
        let samples = c_int::try_from(self.frame_size).unwrap_or(c_int::MAX);
        let frame = self.frame.raw.as_ptr();
        let c = self.ctx.get();
        // SAFETY: a blank frame we own exclusively and the opened context
        // (only read); these fields describe the buffer av_frame_get_buffer
        // allocates.
        let ret = unsafe {
            (*frame).nb_samples = samples;
            (*frame).format = c.sample_fmt as c_int;
            (*frame).sample_rate = c.sample_rate;
            let copied = ffi::av_channel_layout_copy(&mut (*frame).ch_layout, &c.ch_layout);
            if copied < 0 {
                copied
            } else {
                ffi::av_frame_get_buffer(frame, 0)
            }
        };
        averror::check(ret, || "allocating the audio encoder's frame".to_owned()).map(drop)
    }

    /// The encoder's FFmpeg name, e.g. `"aac"`.
    pub fn name(&self) -> &'static str {
        self.ctx.name()
    }

    /// Samples per second; timestamps are in `1 / sample_rate` seconds.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Samples per frame: every [`send`](Self::send) takes exactly this many.
    pub fn frame_size(&self) -> usize {
        self.frame_size
    }

    /// The stream's codec parameters (AAC's configuration as extradata), for
    /// a muxer.
    pub fn parameters(&self) -> Result<CodecParameters> {
        self.ctx.parameters()
    }

    /// Encodes one frame of [`frame_size`](Self::frame_size) mono samples in
    /// `-1.0 ..= 1.0`, its first sample at `pts` (in samples).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for another number of samples, else the
    /// mapped FFmpeg error.
    pub fn send(&mut self, samples: &[f32], pts: i64) -> Result<SendOutcome> {
        if samples.len() != self.frame_size {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "{} audio samples, the {} encoder takes {} per frame",
                    samples.len(),
                    self.ctx.name(),
                    self.frame_size
                ),
            ));
        }
        let frame = self.frame.raw.as_ptr();
        // SAFETY: a frame we own with a buffer; the encoder may still hold a
        // reference to it, in which case this gives the frame a new one.
        let ret = unsafe { ffi::av_frame_make_writable(frame) };
        averror::check(ret, || "making the audio frame writable".to_owned())?;
        // SAFETY: the frame is writable and ours; its first plane holds
        // `frame_size` mono samples of the context's format (allocated by
        // av_frame_get_buffer for exactly that), disjoint from `samples`.
        unsafe {
            let data = (*frame).data[0];
            match self.layout {
                SampleLayout::S16 => {
                    let out = std::slice::from_raw_parts_mut(data.cast::<i16>(), samples.len());
                    for (out, &sample) in out.iter_mut().zip(samples) {
                        // In range after the clamp, so the cast only rounds.
                        *out = (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16;
                    }
                }
                SampleLayout::F32 => {
                    let out = std::slice::from_raw_parts_mut(data.cast::<f32>(), samples.len());
                    out.copy_from_slice(samples);
                }
            }
            (*frame).pts = pts;
        }
        self.ctx.send_frame(frame)
    }

    /// Starts draining: the encoder returns its buffered packets, then
    /// [`EncodeOutcome::Eof`].
    pub fn send_eof(&mut self) -> Result<()> {
        self.ctx.send_eof()
    }

    /// Takes the next encoded packet into `packet` (its previous payload is
    /// released first).
    pub fn receive_packet(&mut self, packet: &mut Packet) -> Result<EncodeOutcome> {
        self.ctx.receive_packet(packet)
    }
}

/// The first sample format `codec` lists that [`AudioEncoder::send`] can
/// write (a codec that lists none is assumed to take 16-bit samples).
fn pick_sample_format(codec: &ffi::AVCodec) -> Option<(ffi::AVSampleFormat, SampleLayout)> {
    use ffi::AVSampleFormat::*;
    let supported = |format: ffi::AVSampleFormat| match format {
        AV_SAMPLE_FMT_S16 | AV_SAMPLE_FMT_S16P => Some((format, SampleLayout::S16)),
        AV_SAMPLE_FMT_FLT | AV_SAMPLE_FMT_FLTP => Some((format, SampleLayout::F32)),
        _ => None,
    };
    let mut at = codec.sample_fmts;
    if at.is_null() {
        return Some((AV_SAMPLE_FMT_S16, SampleLayout::S16));
    }
    loop {
        // SAFETY: a non-null `sample_fmts` is a static array ended by
        // AV_SAMPLE_FMT_NONE, and `at` has not passed that end.
        let format = unsafe { *at };
        if format == AV_SAMPLE_FMT_NONE {
            return None;
        }
        if let Some(found) = supported(format) {
            return Some(found);
        }
        // SAFETY: `format` was not the terminator, so the next element exists.
        at = unsafe { at.add(1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(encoder: &mut AudioEncoder, frames: usize) -> Vec<(Option<i64>, usize)> {
        let size = encoder.frame_size();
        let rate = encoder.sample_rate() as f32;
        let mut packet = Packet::new().unwrap();
        let mut got = Vec::new();
        for index in 0..frames {
            let samples: Vec<f32> = (0..size)
                .map(|i| {
                    let t = (index * size + i) as f32 / rate;
                    0.3 * (t * 440.0 * std::f32::consts::TAU).sin()
                })
                .collect();
            let pts = i64::try_from(index * size).unwrap();
            assert_eq!(encoder.send(&samples, pts).unwrap(), SendOutcome::Sent);
            while encoder.receive_packet(&mut packet).unwrap() == EncodeOutcome::Packet {
                got.push((packet.pts(), packet.size()));
            }
        }
        encoder.send_eof().unwrap();
        while encoder.receive_packet(&mut packet).unwrap() == EncodeOutcome::Packet {
            got.push((packet.pts(), packet.size()));
        }
        got
    }

    #[test]
    fn alaw_packets_are_one_byte_per_sample() {
        let mut encoder = AudioEncoder::new(&AudioEncoderOptions::default()).unwrap();
        assert_eq!(encoder.frame_size(), 160, "20 ms at 8 kHz");
        let packets = tone(&mut encoder, 5);
        assert_eq!(packets.len(), 5);
        assert!(packets.iter().all(|&(_, size)| size == 160), "{packets:?}");
        assert!(encoder
            .send(&[0.0; 10], 0)
            .is_err_and(|e| e.kind() == ErrorKind::InvalidConfig));
    }

    #[test]
    fn aac_has_a_configuration_for_the_sdp() {
        let options = AudioEncoderOptions::default()
            .codec("aac")
            .sample_rate(16_000)
            .bit_rate(32_000);
        let mut encoder = AudioEncoder::new(&options).unwrap();
        assert_eq!(encoder.frame_size(), 1024);
        assert!(!encoder.parameters().unwrap().extradata().is_empty());
        let packets = tone(&mut encoder, 10);
        assert!(packets.len() >= 10, "{packets:?}");
        let err = AudioEncoder::new(&AudioEncoderOptions::default().codec("no-such")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }
}
