//! What a source says about its video stream: [`VideoStreamInfo`], with the
//! codec ([`VideoCodec`]) and FFmpeg's rationals ([`Rational`]).

use ffmpeg_sys_next as ffi;

/// A rational number (FFmpeg's `AVRational`): a time base or a frame rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rational {
    /// Numerator.
    pub num: i32,
    /// Denominator.
    pub den: i32,
}

impl Rational {
    /// The value, or `None` when the denominator or the value is zero (FFmpeg's
    /// "unknown").
    pub fn to_f64(self) -> Option<f64> {
        (self.den != 0 && self.num != 0).then(|| f64::from(self.num) / f64::from(self.den))
    }
}

impl From<ffi::AVRational> for Rational {
    fn from(value: ffi::AVRational) -> Self {
        Self {
            num: value.num,
            den: value.den,
        }
    }
}

/// The video codecs cameras send, for branching and status; anything else is
/// `Other` (see [`VideoStreamInfo::codec_name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VideoCodec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC.
    H265,
    /// Motion JPEG.
    Mjpeg,
    /// MPEG-4 part 2.
    Mpeg4,
    /// VP8.
    Vp8,
    /// VP9.
    Vp9,
    /// AV1.
    Av1,
    /// Not known yet (before probing) or not listed here.
    Other,
}

impl VideoCodec {
    pub(super) fn from_id(id: ffi::AVCodecID) -> Self {
        use ffi::AVCodecID::*;
        match id {
            AV_CODEC_ID_H264 => VideoCodec::H264,
            AV_CODEC_ID_HEVC => VideoCodec::H265,
            AV_CODEC_ID_MJPEG => VideoCodec::Mjpeg,
            AV_CODEC_ID_MPEG4 => VideoCodec::Mpeg4,
            AV_CODEC_ID_VP8 => VideoCodec::Vp8,
            AV_CODEC_ID_VP9 => VideoCodec::Vp9,
            AV_CODEC_ID_AV1 => VideoCodec::Av1,
            _ => VideoCodec::Other,
        }
    }

    /// FFmpeg's codec id; `None` for `Other`.
    pub(super) fn to_id(self) -> Option<ffi::AVCodecID> {
        use ffi::AVCodecID::*;
        Some(match self {
            VideoCodec::H264 => AV_CODEC_ID_H264,
            VideoCodec::H265 => AV_CODEC_ID_HEVC,
            VideoCodec::Mjpeg => AV_CODEC_ID_MJPEG,
            VideoCodec::Mpeg4 => AV_CODEC_ID_MPEG4,
            VideoCodec::Vp8 => AV_CODEC_ID_VP8,
            VideoCodec::Vp9 => AV_CODEC_ID_VP9,
            VideoCodec::Av1 => AV_CODEC_ID_AV1,
            VideoCodec::Other => return None,
        })
    }
}

/// What the source says about its video stream.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoStreamInfo {
    /// The stream's index (compare with [`Packet::stream_index`](super::Packet::stream_index)).
    pub index: usize,
    /// The codec.
    pub codec: VideoCodec,
    /// FFmpeg's codec name, e.g. `"h264"`.
    pub codec_name: String,
    /// The codec profile, e.g. `"High"`, when signalled.
    pub profile: Option<String>,
    /// Width in pixels; 0 until probed or decoded.
    pub width: u32,
    /// Height in pixels; 0 until probed or decoded.
    pub height: u32,
    /// The unit of packet and frame timestamps.
    pub time_base: Rational,
    /// The average frame rate, when known (usually only after probing).
    pub avg_frame_rate: Option<Rational>,
    /// Whether the codec parameters carry extradata (e.g. H.264 SPS/PPS from
    /// the SDP), so the decoder can start without probing.
    pub has_extradata: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rational_unknown_is_none() {
        assert_eq!(Rational { num: 0, den: 1 }.to_f64(), None);
        assert_eq!(Rational { num: 1, den: 0 }.to_f64(), None);
        assert_eq!(
            Rational {
                num: 30000,
                den: 1001
            }
            .to_f64()
            .map(f64::round),
            Some(30.0)
        );
    }
}
