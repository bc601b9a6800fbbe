//! What the simulated cameras send: a [`Clip`] of encoded frames held in
//! memory, made once at start (the test pattern encoded with libx264 or
//! libx265, or a clip file demuxed), and looped by every session with
//! continuous timestamps.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::pattern::{Yuv420Image, MAX_FRAMES};
use crate::error::{Error, ErrorKind, Result};
use crate::ffmpeg::{
    CodecParameters, EncodeOutcome, Encoder, EncoderOptions, Input, InputOptions, Interrupt,
    Packet, Probe, ReadOutcome, RtpMuxer, RtpMuxerOptions, SendOutcome, VideoCodec, RTP_CLOCK_RATE,
};

/// Where the cameras' video comes from.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Source {
    /// The test pattern (see [`pattern`](super::pattern)), encoded at start.
    Pattern(PatternOptions),
    /// A clip file (H.264, H.265 or MJPEG video; other streams are ignored),
    /// demuxed into memory at start.
    File(PathBuf),
}

impl Default for Source {
    fn default() -> Self {
        Source::Pattern(PatternOptions::default())
    }
}

/// The encoded test pattern. `Default`: H.264 (libx264), 640×360 at 25 fps, a
/// keyframe every 25 frames, no B-frames, 100 frames (a 4 s loop).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternOptions {
    codec: VideoCodec,
    width: u32,
    height: u32,
    fps: u32,
    gop: u32,
    frames: u32,
    noise: u8,
}

impl Default for PatternOptions {
    fn default() -> Self {
        Self {
            codec: VideoCodec::H264,
            width: 640,
            height: 360,
            fps: 25,
            gop: 25,
            frames: 100,
            noise: 0,
        }
    }
}

impl PatternOptions {
    /// [`VideoCodec::H264`] (libx264, default), [`VideoCodec::H265`]
    /// (libx265) or [`VideoCodec::Mjpeg`] (FFmpeg's `mjpeg`, full range,
    /// standard Huffman tables as RTP/JPEG requires; at most 2040×2040).
    pub fn codec(mut self, codec: VideoCodec) -> Self {
        self.codec = codec;
        self
    }

    /// The picture size (even, at least 16×16). Default 640×360.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Frames per second (1 ..= 120). Default 25.
    pub fn fps(mut self, fps: u32) -> Self {
        self.fps = fps;
        self
    }

    /// Frames from one keyframe to the next. Default 25.
    pub fn gop(mut self, gop: u32) -> Self {
        self.gop = gop;
        self
    }

    /// Frames in the loop (1 ..= 4096: the [stamp](super::stamp) holds 12
    /// bits). Default 100. A loop longer than any latency measured lets a
    /// consumer tell which loop a stamped frame came from.
    pub fn frames(mut self, frames: u32) -> Self {
        self.frames = frames;
        self
    }

    /// Luma noise of up to `±amplitude` on every pixel, new in every frame
    /// (see [`Yuv420Image::draw_with_noise`]): raises the bitrate and the
    /// decoding cost from a flat picture's (about 30 kbit/s) to a real
    /// camera's. Keep it at most 16 so the pattern still checks with the
    /// usual tolerance. Default 0.
    pub fn noise(mut self, amplitude: u8) -> Self {
        self.noise = amplitude;
        self
    }

    fn validate(&self) -> Result<()> {
        let bad = |message: String| Err(Error::new(ErrorKind::InvalidConfig, message));
        if self.width < 16 || self.height < 16 || self.width % 2 + self.height % 2 != 0 {
            return bad(format!(
                "pattern size {}x{} must be even and at least 16x16",
                self.width, self.height
            ));
        }
        if !(1..=120).contains(&self.fps) {
            return bad(format!("pattern fps {} is not in 1 ..= 120", self.fps));
        }
        if self.gop == 0 {
            return bad("pattern gop must be at least 1".to_owned());
        }
        if !(1..=MAX_FRAMES).contains(&self.frames) {
            return bad(format!(
                "pattern frames {} is not in 1 ..= {MAX_FRAMES}",
                self.frames
            ));
        }
        if !matches!(
            self.codec,
            VideoCodec::H264 | VideoCodec::H265 | VideoCodec::Mjpeg
        ) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "the pattern is encoded as H.264, H.265 or MJPEG, not {:?}",
                    self.codec
                ),
            ));
        }
        // RTP/JPEG gives the size in 8-pixel blocks, in one byte each.
        if self.codec == VideoCodec::Mjpeg && (self.width > 2040 || self.height > 2040) {
            return bad(format!(
                "an MJPEG pattern of {}x{} is over RTP/JPEG's 2040x2040",
                self.width, self.height
            ));
        }
        Ok(())
    }

    fn encoder_options(&self) -> EncoderOptions {
        let base = EncoderOptions::default()
            .size(self.width, self.height)
            .fps(self.fps)
            .gop(self.gop);
        match self.codec {
            VideoCodec::H265 => base
                .codec("libx265")
                .clear_options()
                .option("preset", "veryfast")
                .option("tune", "zerolatency")
                .option(
                    "x265-params",
                    "repeat-headers=1:scenecut=0:open-gop=0:log-level=error",
                ),
            // Every frame is a keyframe; quality about `-q:v 4`.
            VideoCodec::Mjpeg => base
                .codec("mjpeg")
                .full_range(true)
                .global_header(false)
                .clear_options()
                .option("huffman", "default")
                .option("qmin", "2")
                .option("qmax", "6"),
            _ => base,
        }
    }
}

/// What the simulated cameras send.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaInfo {
    /// The codec.
    pub codec: VideoCodec,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second (the clip's average).
    pub fps: f64,
    /// Frames in one loop.
    pub frames: usize,
    /// The length of one loop; timestamps keep increasing across loops.
    pub loop_duration: Duration,
    /// Encoded bytes of one loop.
    pub bytes: usize,
    /// Where it came from: `"test pattern (libx264)"` or the file's path.
    pub source: String,
}

/// One encoded frame of the clip.
#[derive(Debug)]
pub(crate) struct ClipFrame {
    pub(crate) data: Box<[u8]>,
    /// Presentation time in 90 kHz units from the clip's start.
    pub(crate) pts: i64,
    /// Decoding time in 90 kHz units from the clip's start; strictly increasing.
    pub(crate) dts: i64,
    pub(crate) key: bool,
}

/// The encoded frames every session loops, and their description.
#[derive(Debug)]
pub(crate) struct Clip {
    pub(crate) frames: Vec<ClipFrame>,
    /// One loop in 90 kHz units: greater than every frame's pts and dts, so
    /// loop `k` adds `k × duration` and timestamps keep increasing.
    pub(crate) duration: i64,
    pub(crate) params: CodecParameters,
    /// The SDP FFmpeg wrote for the stream (before per-camera edits).
    sdp: String,
    pub(crate) info: MediaInfo,
    /// Keyframes among `frames[..=i]`, at `i`.
    keys_through: Vec<u64>,
}

/// Clip files larger than this are refused (they are held in memory).
const MAX_CLIP_BYTES: usize = 512 << 20;
/// Clips with more frames than this are refused.
const MAX_CLIP_FRAMES: usize = 100_000;

impl Clip {
    pub(crate) fn load(source: &Source) -> Result<Clip> {
        match source {
            Source::Pattern(options) => Self::pattern(options),
            Source::File(path) => Self::file(path),
        }
    }

    /// The test pattern of `source` at another size, for the `resize-after`
    /// fault (x264 and x265 repeat the new parameter sets before every
    /// keyframe, so a session can switch to it mid-stream).
    pub(crate) fn resized(source: &Source, width: u32, height: u32) -> Result<Clip> {
        match source {
            Source::Pattern(options) => Self::pattern(&options.clone().size(width, height)),
            Source::File(path) => Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "fault resize-after needs the test pattern, not the clip file {}",
                    path.display()
                ),
            )),
        }
    }

    /// The test pattern, encoded once.
    fn pattern(options: &PatternOptions) -> Result<Clip> {
        options.validate()?;
        let mut encoder = Encoder::new(&options.encoder_options())?;
        let (width, height) = (
            usize::try_from(options.width).unwrap_or(0),
            usize::try_from(options.height).unwrap_or(0),
        );
        let fps = i64::from(options.fps);
        let full_range = options.codec == VideoCodec::Mjpeg;
        let mut image = Yuv420Image::with_range(width, height, full_range);
        let mut packet = Packet::new()?;
        let mut frames = Vec::new();
        let mut drain = |encoder: &mut Encoder, frames: &mut Vec<ClipFrame>| -> Result<bool> {
            loop {
                match encoder.receive_packet(&mut packet)? {
                    EncodeOutcome::Packet => {
                        // The encoder's time base is 1/fps; rounding keeps
                        // the 90 kHz times strictly increasing.
                        let to_90k = |t: i64| (t * RTP_CLOCK_RATE + fps / 2) / fps;
                        let pts = packet.pts().unwrap_or(0);
                        let dts = packet.dts().unwrap_or(pts);
                        frames.push(ClipFrame {
                            data: packet.data().into(),
                            pts: to_90k(pts),
                            dts: to_90k(dts),
                            key: packet.is_key(),
                        });
                    }
                    EncodeOutcome::Again => return Ok(false),
                    EncodeOutcome::Eof => return Ok(true),
                }
            }
        };
        for index in 0..options.frames {
            image.draw_with_noise(index, options.noise);
            if encoder.send_yuv420p(image.planes(), i64::from(index))? != SendOutcome::Sent {
                return Err(Error::new(
                    ErrorKind::Ffmpeg,
                    format!("the {} encoder refused a picture", encoder.name()),
                ));
            }
            drain(&mut encoder, &mut frames)?;
        }
        encoder.send_eof()?;
        while !drain(&mut encoder, &mut frames)? {}
        let params = encoder.parameters()?;
        let duration = (i64::from(options.frames) * RTP_CLOCK_RATE + fps / 2) / fps;
        let source = format!("test pattern ({})", encoder.name());
        Self::finish(frames, duration, params, f64::from(options.fps), source)
    }

    /// A clip file, demuxed once.
    fn file(path: &Path) -> Result<Clip> {
        let shown = path.display().to_string();
        let url = path.to_str().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("clip path {shown} is not UTF-8"),
            )
        })?;
        // Probe fully: a clip's headers may not tell its frame rate.
        let options = InputOptions::default().probe(Probe::Always);
        let mut input = Input::open(url, &options, Interrupt::new())?;
        let info = input.best_video_stream()?;
        if !matches!(
            info.codec,
            VideoCodec::H264 | VideoCodec::H265 | VideoCodec::Mjpeg
        ) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "clip {shown}: video is {}; the simulator sends H.264, H.265 or MJPEG",
                    info.codec_name
                ),
            ));
        }
        input.discard_other_streams(info.index);
        let params = CodecParameters::from_input(&input, info.index)?;
        let time_base = info.time_base;
        if time_base.num <= 0 || time_base.den <= 0 {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("clip {shown}: no time base"),
            ));
        }
        let to_90k = |t: i64| -> i64 {
            let scaled = i128::from(t) * i128::from(RTP_CLOCK_RATE) * i128::from(time_base.num);
            let den = i128::from(time_base.den);
            i64::try_from((scaled + den / 2).div_euclid(den)).unwrap_or(i64::MAX / 4)
        };
        let nominal_interval = info
            .avg_frame_rate
            .and_then(|rate| rate.to_f64())
            .filter(|fps| (0.1..=1000.0).contains(fps))
            .map(|fps| (RTP_CLOCK_RATE as f64 / fps).round() as i64);

        let mut packet = Packet::new()?;
        let mut frames: Vec<ClipFrame> = Vec::new();
        let mut bytes = 0usize;
        let mut base = None;
        loop {
            match input.read_packet(&mut packet)? {
                ReadOutcome::Packet => {}
                ReadOutcome::Again => continue,
                ReadOutcome::Eof => break,
            }
            if packet.stream_index() != info.index || packet.size() == 0 {
                continue;
            }
            if frames.is_empty() && !packet.is_key() {
                continue; // start on a keyframe
            }
            bytes += packet.size();
            if bytes > MAX_CLIP_BYTES || frames.len() >= MAX_CLIP_FRAMES {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "clip {shown} is too large to hold in memory (over {} MiB or {MAX_CLIP_FRAMES} frames)",
                        MAX_CLIP_BYTES >> 20
                    ),
                ));
            }
            let previous = frames.last().map(|f: &ClipFrame| f.dts);
            let guess = previous.map_or(0, |dts| dts + nominal_interval.unwrap_or(3600));
            let (pts, dts) = match (packet.pts(), packet.dts()) {
                (Some(pts), Some(dts)) => (to_90k(pts), to_90k(dts)),
                (Some(t), None) | (None, Some(t)) => (to_90k(t), to_90k(t)),
                (None, None) => (guess, guess),
            };
            let base = *base.get_or_insert(dts);
            let mut dts = dts - base;
            if let Some(previous) = previous {
                dts = dts.max(previous + 1);
            }
            frames.push(ClipFrame {
                data: packet.data().into(),
                pts: (pts - base).max(dts),
                dts,
                key: packet.is_key(),
            });
        }
        if frames.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("clip {shown} has no video keyframe"),
            ));
        }
        let last = frames.len() - 1;
        let interval = nominal_interval.unwrap_or_else(|| {
            if last == 0 {
                3600
            } else {
                (frames[last].dts / i64::try_from(last).unwrap_or(1)).max(1)
            }
        });
        let end = frames.iter().map(|f| f.pts.max(f.dts)).max().unwrap_or(0);
        let duration = end + interval;
        let fps = RTP_CLOCK_RATE as f64 / interval as f64;
        Self::finish(frames, duration, params, fps, shown)
    }

    fn finish(
        frames: Vec<ClipFrame>,
        duration: i64,
        params: CodecParameters,
        fps: f64,
        source: String,
    ) -> Result<Clip> {
        if frames.is_empty() || !frames[0].key {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("{source}: the clip does not start with a keyframe"),
            ));
        }
        let sdp = RtpMuxer::new(&params, &RtpMuxerOptions::default())?.sdp()?;
        let info = MediaInfo {
            codec: params.codec(),
            width: params.width(),
            height: params.height(),
            fps,
            frames: frames.len(),
            loop_duration: Duration::from_secs_f64(duration as f64 / RTP_CLOCK_RATE as f64),
            bytes: frames.iter().map(|f| f.data.len()).sum(),
            source,
        };
        let keys_through = frames
            .iter()
            .scan(0, |keys, frame| {
                *keys += u64::from(frame.key);
                Some(*keys)
            })
            .collect();
        Ok(Clip {
            frames,
            duration,
            params,
            sdp,
            info,
            keys_through,
        })
    }

    /// The SDP for camera `index`: FFmpeg's, named after the camera, with a
    /// `c=` line (some clients require one) and the frame rate. Without
    /// `parameter_sets` it says only the codec, as many cameras do: no
    /// `sprop-parameter-sets` (`sprop-vps/sps/pps` for H.265) and no
    /// `a=framesize`, so a client learns them from the stream, whose every
    /// keyframe carries them.
    pub(crate) fn sdp(&self, index: usize, parameter_sets: bool) -> String {
        let mut out = String::with_capacity(self.sdp.len() + 64);
        let has_connection = self.sdp.lines().any(|line| line.starts_with("c="));
        for line in self.sdp.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if !parameter_sets && line.starts_with("a=fmtp:") {
                if let Some(fmtp) = without_sprop(line) {
                    out.push_str(&fmtp);
                    out.push_str("\r\n");
                }
                continue;
            }
            if line.starts_with("s=") {
                out.push_str(&format!("s=rtsp-ingest simulator cam{index}\r\n"));
                continue;
            }
            if line.starts_with("t=") && !has_connection {
                out.push_str("c=IN IP4 0.0.0.0\r\n");
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        if !self.sdp.contains("a=framerate:") {
            out.push_str(&format!("a=framerate:{}\r\n", round2(self.info.fps)));
        }
        // The picture size (3GPP `framesize`, read by FFmpeg's H.264 and
        // H.265 depacketizers), so a client knows it before decoding.
        let payload_type = self
            .sdp
            .lines()
            .find_map(|line| line.strip_prefix("m=video "))
            .and_then(|media| media.split_whitespace().nth(2));
        if let (Some(pt), VideoCodec::H264 | VideoCodec::H265) = (payload_type, self.info.codec) {
            if parameter_sets && self.info.width > 0 && !self.sdp.contains("a=framesize:") {
                out.push_str(&format!(
                    "a=framesize:{pt} {}-{}\r\n",
                    self.info.width, self.info.height
                ));
            }
        }
        out
    }

    /// The frame and its timestamps (`pts`, `dts`, in 90 kHz units) that a
    /// session sends `n`-th (from 0, across loops).
    pub(crate) fn nth(&self, n: u64) -> (&ClipFrame, i64, i64) {
        let count = self.frames.len() as u64;
        let index = usize::try_from(n % count).unwrap_or(0);
        let loops = i64::try_from(n / count).unwrap_or(i64::MAX / 4);
        let frame = &self.frames[index];
        let offset = loops.saturating_mul(self.duration);
        (frame, offset + frame.pts, offset + frame.dts)
    }

    /// [`nth`](Self::nth) for a camera that pauses `pause` (in 90 kHz
    /// units) before every keyframe: the frame's timestamps, and so when it
    /// is due, move by one pause per keyframe sent up to it (its own
    /// included), as when an encoder stops capturing while it makes a
    /// keyframe.
    pub(crate) fn nth_paused(&self, n: u64, pause: i64) -> (&ClipFrame, i64, i64) {
        let (frame, pts, dts) = self.nth(n);
        if pause <= 0 {
            return (frame, pts, dts);
        }
        let count = self.frames.len() as u64;
        let index = usize::try_from(n % count).unwrap_or(0);
        let per_loop = self.keys_through.last().copied().unwrap_or(0);
        let keys = (n / count)
            .saturating_mul(per_loop)
            .saturating_add(self.keys_through[index]);
        let shift = i64::try_from(keys)
            .unwrap_or(i64::MAX / 4)
            .saturating_mul(pause);
        (frame, pts.saturating_add(shift), dts.saturating_add(shift))
    }
}

/// An `a=fmtp:PT a=b; c=d` line without its `sprop-*` parameters; `None`
/// when nothing else is left (no empty `a=fmtp` line: that is another quirk).
fn without_sprop(line: &str) -> Option<String> {
    let (head, params) = line.split_once(' ')?;
    let kept: Vec<&str> = params
        .split(';')
        .map(str::trim)
        .filter(|param| !param.is_empty() && !param.starts_with("sprop-"))
        .collect();
    (!kept.is_empty()).then(|| format!("{head} {}", kept.join("; ")))
}

/// `25`, `29.97`: a frame rate for the SDP.
fn round2(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_encodes_once_into_a_looping_clip() {
        let options = PatternOptions::default().size(160, 96).frames(30).gop(10);
        let clip = Clip::load(&Source::Pattern(options)).unwrap();
        assert_eq!(clip.frames.len(), 30);
        assert_eq!(clip.duration, 30 * 3600);
        assert_eq!(clip.info.loop_duration, Duration::from_millis(1200));
        assert_eq!((clip.info.width, clip.info.height), (160, 96));
        assert_eq!(clip.info.codec, VideoCodec::H264);
        for (index, frame) in clip.frames.iter().enumerate() {
            assert_eq!(frame.pts, index as i64 * 3600);
            assert_eq!(frame.dts, frame.pts, "no B-frames");
            assert_eq!(frame.key, index % 10 == 0);
        }
        let (_, pts, dts) = clip.nth(31);
        assert_eq!(
            (pts, dts),
            (31 * 3600, 31 * 3600),
            "continuous across loops"
        );
        let sdp = clip.sdp(3, true);
        assert!(sdp.contains("s=rtsp-ingest simulator cam3\r\n"), "{sdp}");
        assert!(sdp.contains("c=IN IP4 0.0.0.0\r\nt=0 0\r\n"), "{sdp}");
        assert!(
            sdp.contains("a=framerate:25\r\na=framesize:96 160-96\r\n"),
            "{sdp}"
        );
        assert!(sdp.contains("sprop-parameter-sets="), "{sdp}");
    }

    #[test]
    fn without_parameter_sets_the_sdp_says_only_the_codec() {
        for codec in [VideoCodec::H264, VideoCodec::H265] {
            let options = PatternOptions::default()
                .codec(codec)
                .size(160, 96)
                .frames(20)
                .gop(10);
            let clip = Clip::load(&Source::Pattern(options)).unwrap();
            let full = clip.sdp(0, true);
            assert!(full.contains("sprop-"), "{full}");
            let sdp = clip.sdp(0, false);
            assert!(!sdp.contains("sprop-"), "{sdp}");
            assert!(!sdp.contains("a=framesize"), "{sdp}");
            assert!(!sdp.contains("a=fmtp:96\r\n"), "no empty fmtp: {sdp}");
            if codec == VideoCodec::H264 {
                assert!(sdp.contains("packetization-mode=1"), "{sdp}");
            }
            // Every keyframe carries its parameter sets in band (Annex B).
            let nal_types = |data: &[u8]| -> Vec<u8> {
                data.windows(4)
                    .filter(|w| w[..3] == [0, 0, 1])
                    .map(|w| match codec {
                        VideoCodec::H264 => w[3] & 0x1f,
                        _ => (w[3] >> 1) & 0x3f,
                    })
                    .collect()
            };
            let needed: &[u8] = match codec {
                VideoCodec::H264 => &[7, 8],
                _ => &[32, 33, 34],
            };
            for frame in clip.frames.iter().filter(|frame| frame.key) {
                let types = nal_types(&frame.data);
                for nal in needed {
                    assert!(types.contains(nal), "{codec:?} keyframe NALs {types:?}");
                }
            }
        }
    }

    #[test]
    fn keyframe_pauses_move_the_timestamps() {
        let options = PatternOptions::default().size(160, 96).frames(20).gop(10);
        let clip = Clip::load(&Source::Pattern(options)).unwrap();
        let pause = 45_000;
        assert_eq!(
            clip.nth_paused(0, pause).2,
            pause,
            "the first keyframe waits too"
        );
        assert_eq!(clip.nth_paused(9, pause).2, 9 * 3600 + pause);
        assert_eq!(clip.nth_paused(10, pause).2, 10 * 3600 + 2 * pause);
        // Keyframes 0, 10 and 20 (the second loop's first) up to frame 21.
        assert_eq!(clip.nth_paused(21, pause).2, 21 * 3600 + 3 * pause);
        assert_eq!(clip.nth_paused(21, 0).2, 21 * 3600);
    }

    #[test]
    fn noise_raises_the_bitrate_and_keeps_the_pattern() {
        let flat = Clip::load(&Source::Pattern(
            PatternOptions::default().size(160, 96).frames(10),
        ))
        .unwrap();
        let noisy = Clip::load(&Source::Pattern(
            PatternOptions::default().size(160, 96).frames(10).noise(12),
        ))
        .unwrap();
        assert!(
            noisy.info.bytes > 4 * flat.info.bytes,
            "{} vs {} bytes",
            noisy.info.bytes,
            flat.info.bytes
        );
    }

    #[test]
    fn bad_pattern_options_are_refused() {
        for options in [
            PatternOptions::default().size(641, 360),
            PatternOptions::default().frames(5000),
            PatternOptions::default()
                .codec(VideoCodec::Mjpeg)
                .size(2048, 1080),
            PatternOptions::default().fps(0),
        ] {
            let err = Clip::load(&Source::Pattern(options)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        }
        let err = Clip::load(&Source::Pattern(
            PatternOptions::default().codec(VideoCodec::Vp8),
        ))
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        let err = Clip::load(&Source::File("/no/such/clip.mp4".into())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert_eq!(round2(29.97), "29.97");
        assert_eq!(round2(25.0), "25");
    }
}
