//! [`RtspClient`]: which RTSP/RTP client feeds a stream's FFmpeg decoder.

use crate::names::named_enum;

named_enum! {
    /// Which RTSP/RTP client reads a stream; both feed the same FFmpeg
    /// decoders, conversion and slab.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum RtspClient {
        /// FFmpeg's RTSP demuxer (`libavformat`). Its H.264 parser closes an
        /// access unit only when the next one begins, so each frame waits one
        /// frame interval before it is decoded.
        Ffmpeg = "ffmpeg",
        /// The `retina` crate (see `src/stream/native/`): access units end on
        /// the RTP marker bit, RTCP sender reports give capture times, RTP loss
        /// is counted per frame. H.264, H.265 and MJPEG over TCP or UDP; a
        /// stream in any other codec falls back to [`RtspClient::Ffmpeg`].
        Native = "native",
        /// The default: FFmpeg's client, and when it cannot use the camera's
        /// answers (a `400` to the `SETUP` it built from them, or a `DESCRIBE`
        /// answer it cannot parse: malformed headers, a `Content-Base` with
        /// trailing spaces) the next attempt at once with
        /// [`RtspClient::Native`], with an event; the status shows the client
        /// in use. Stays on FFmpeg's client where the native one cannot go
        /// (`transport = "auto"` or `"http"`).
        #[default]
        Auto = "auto",
    }
    display;
    parse "rtsp_client";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn names_round_trip_and_others_are_refused() {
        for client in RtspClient::ALL {
            assert_eq!(client.to_string().parse::<RtspClient>().unwrap(), client);
        }
        let error = "gstreamer".parse::<RtspClient>().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidConfig);
        assert!(error.message().contains("ffmpeg, native, auto"), "{error}");
    }
}
