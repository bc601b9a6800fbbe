//! [`InputOptions`]: how an [`Input`](super::Input) is opened, tuned by default
//! for live RTSP cameras (TCP, no demuxer buffering, short probing, every
//! blocking call bounded), and the FFmpeg option dictionary they become.

use std::time::Duration;

use super::dict::Dictionary;
use crate::error::Result;
use crate::names::named_enum;

named_enum! {
    /// How RTSP carries RTP (`rtsp_transport`). The name is also FFmpeg's
    /// `rtsp_transport` value (except `prefer_tcp`, which opens as `tcp`, and
    /// `auto`, which sets nothing).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum RtspTransport {
        /// RTP over TCP, and over UDP for a camera that refuses TCP: a stream
        /// whose camera answers a TCP `SETUP` with `461 Unsupported Transport`,
        /// or plays but sends nothing over TCP, makes its next attempt (at once)
        /// over UDP and stays on UDP. An [`Input`](super::Input) opened with it
        /// alone uses TCP.
        #[default]
        PreferTcp = "prefer_tcp",
        /// Interleaved in the RTSP TCP connection only: through NAT, no UDP
        /// loss. A camera that refuses it fails the stream for good.
        Tcp = "tcp",
        /// Unicast UDP: lowest latency on a clean network; lost packets are lost.
        Udp = "udp",
        /// Multicast UDP.
        UdpMulticast = "udp_multicast",
        /// Tunnelled over HTTP.
        Http = "http",
        /// FFmpeg's default: UDP, then TCP when UDP gets nothing.
        Auto = "auto",
    }
    display;
    parse "transport";
}

named_enum! {
    /// When [`Input::open`](super::Input::open) runs `avformat_find_stream_info`, which reads (and
    /// buffers) packets for up to `analyze_duration` to learn what the headers did
    /// not say.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub enum Probe {
        /// Only when the headers (for RTSP, the SDP) leave the video stream's codec
        /// unknown, or, for a codec other than H.264, H.265 and MJPEG, give
        /// neither its parameter sets (extradata) nor its size. H.264 and H.265
        /// carry their parameter sets in band before every keyframe, so a camera
        /// whose SDP names the codec but has no `sprop-parameter-sets` skips the
        /// probe too: the decoder takes them from the first keyframe, and the
        /// first frame arrives up to `analyze_duration` sooner.
        #[default]
        IfNeeded = "if_needed",
        /// Always: slower to open, but frame rate and size are known before the
        /// first frame.
        Always = "always",
        /// Never: the decoder learns everything from the stream itself.
        Never = "never",
    }
    display;
    parse "probe";
}

/// How to open an [`Input`](super::Input). `Default` is tuned for live RTSP cameras: TCP,
/// no demuxer buffering, short probing, every blocking call bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputOptions {
    transport: RtspTransport,
    prefer_tcp: bool,
    socket_timeout: Option<Duration>,
    pub(super) open_timeout: Duration,
    pub(super) read_timeout: Duration,
    pub(super) close_timeout: Duration,
    analyze_duration: Option<Duration>,
    probe_size: Option<u32>,
    pub(super) probe: Probe,
    video_only: bool,
    no_buffer: bool,
    max_delay: Option<Duration>,
    reorder_queue_size: Option<u32>,
    buffer_size: Option<u32>,
    extra: Vec<(String, String)>,
}

impl Default for InputOptions {
    fn default() -> Self {
        Self {
            transport: RtspTransport::Tcp,
            prefer_tcp: false,
            socket_timeout: Some(Duration::from_secs(5)),
            open_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(1),
            analyze_duration: Some(Duration::from_secs(1)),
            probe_size: Some(1 << 20),
            probe: Probe::IfNeeded,
            video_only: false,
            no_buffer: true,
            max_delay: Some(Duration::from_millis(500)),
            reorder_queue_size: None,
            buffer_size: None,
            extra: Vec::new(),
        }
    }
}

impl InputOptions {
    /// How RTSP carries RTP (`rtsp_transport`); default TCP.
    pub fn transport(mut self, transport: RtspTransport) -> Self {
        self.transport = transport;
        self
    }

    /// The transport set by [`transport`](Self::transport).
    pub fn transport_setting(&self) -> RtspTransport {
        self.transport
    }

    /// Try TCP first when the transport allows several (`rtsp_flags prefer_tcp`).
    pub fn prefer_tcp(mut self, prefer: bool) -> Self {
        self.prefer_tcp = prefer;
        self
    }

    /// The socket I/O timeout FFmpeg applies to each network read and write
    /// (the `timeout` option, in µs; FFmpeg 5 removed the old `stimeout`).
    /// `None` leaves FFmpeg's default. Default 5 s.
    pub fn socket_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.socket_timeout = timeout;
        self
    }

    /// The deadline for opening (connect, DESCRIBE, SETUP, PLAY) and for the
    /// stream-info probe, each. Default 10 s.
    pub fn open_timeout(mut self, timeout: Duration) -> Self {
        self.open_timeout = timeout;
        self
    }

    /// The deadline for each [`Input::read_packet`](super::Input::read_packet): a stream silent this long
    /// fails with [`ErrorKind::Timeout`]. Default 5 s.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The deadline for closing (an RTSP TEARDOWN). Default 1 s.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// How much of the stream the probe may read (`analyzeduration`). `None`
    /// leaves FFmpeg's 5 s. Default 1 s.
    pub fn analyze_duration(mut self, duration: Option<Duration>) -> Self {
        self.analyze_duration = duration;
        self
    }

    /// How many bytes the probe may read (`probesize`). `None` leaves FFmpeg's
    /// 5 MB. Default 1 MiB.
    pub fn probe_size(mut self, bytes: Option<u32>) -> Self {
        self.probe_size = bytes;
        self
    }

    /// When to probe for stream info; default [`Probe::IfNeeded`].
    pub fn probe(mut self, probe: Probe) -> Self {
        self.probe = probe;
        self
    }

    /// Set up only the video tracks of an RTSP source (the demuxer's
    /// `allowed_media_types=video`): audio, metadata and other tracks in the
    /// SDP are never `SETUP`, so the camera sends nothing for them and the
    /// input has only video streams. Default off (every track, FFmpeg's
    /// default); the stream worker turns it on.
    pub fn video_only(mut self, on: bool) -> Self {
        self.video_only = on;
        self
    }

    /// Hand packets out as soon as they are demuxed (`fflags +nobuffer`).
    /// Default on.
    pub fn no_buffer(mut self, on: bool) -> Self {
        self.no_buffer = on;
        self
    }

    /// How long the demuxer may hold packets to reorder them (`max_delay`).
    /// Default 500 ms; lower trades reordering of late UDP packets for latency.
    pub fn max_delay(mut self, delay: Option<Duration>) -> Self {
        self.max_delay = delay;
        self
    }

    /// How many RTP packets to buffer for reordering (`reorder_queue_size`).
    /// `None` leaves FFmpeg's default: 500 over UDP, none over TCP. Only with a
    /// queue does FFmpeg notice a sequence gap ("RTP: missed N packets",
    /// counted in [`Interrupt::rtp_packets_lost`](super::Interrupt::rtp_packets_lost)):
    /// over TCP, where nothing arrives out of order, 2 costs the delay of one
    /// packet after a gap and nothing otherwise.
    pub fn reorder_queue_size(mut self, packets: Option<u32>) -> Self {
        self.reorder_queue_size = packets;
        self
    }

    /// The UDP socket receive buffer (`buffer_size`, bytes). Raise it for
    /// high-bitrate UDP streams. `None` leaves FFmpeg's default.
    pub fn buffer_size(mut self, bytes: Option<u32>) -> Self {
        self.buffer_size = bytes;
        self
    }

    /// Any other FFmpeg demuxer or protocol option, set after the ones above.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((key.into(), value.into()));
        self
    }

    /// The `avformat_open_input` options for `url`.
    pub(super) fn dictionary(&self, url: &str) -> Result<Dictionary> {
        let micros = |duration: Duration| duration.as_micros().to_string();
        let mut dict = Dictionary::new();
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        if scheme.eq_ignore_ascii_case("rtsp") || scheme.eq_ignore_ascii_case("rtsps") {
            match self.transport {
                RtspTransport::Auto => {}
                RtspTransport::PreferTcp => dict.set("rtsp_transport", "tcp")?,
                transport => dict.set("rtsp_transport", transport.name())?,
            }
            if self.prefer_tcp {
                dict.set("rtsp_flags", "prefer_tcp")?;
            }
            if self.video_only {
                dict.set("allowed_media_types", "video")?;
            }
            if let Some(packets) = self.reorder_queue_size {
                dict.set("reorder_queue_size", &packets.to_string())?;
            }
            if let Some(bytes) = self.buffer_size {
                dict.set("buffer_size", &bytes.to_string())?;
            }
        }
        if let Some(timeout) = self.socket_timeout {
            dict.set("timeout", &micros(timeout))?;
        }
        if let Some(duration) = self.analyze_duration {
            dict.set("analyzeduration", &micros(duration))?;
        }
        if let Some(bytes) = self.probe_size {
            dict.set("probesize", &bytes.max(32).to_string())?;
        }
        if self.no_buffer {
            // `+`: add to the default flags (autobsf), do not replace them.
            dict.set("fflags", "+nobuffer")?;
        }
        if let Some(delay) = self.max_delay {
            dict.set("max_delay", &micros(delay))?;
        }
        for (key, value) in &self.extra {
            dict.set(key, value)?;
        }
        Ok(dict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for transport in RtspTransport::ALL {
            assert_eq!(
                transport.name().parse::<RtspTransport>().unwrap(),
                transport
            );
        }
        assert_eq!("TCP".parse::<RtspTransport>().unwrap(), RtspTransport::Tcp);
        assert!("sctp".parse::<RtspTransport>().is_err());
        for probe in [Probe::IfNeeded, Probe::Always, Probe::Never] {
            assert_eq!(probe.to_string().parse::<Probe>().unwrap(), probe);
        }
    }

    #[test]
    fn rtsp_options_are_set_only_for_rtsp() {
        let options = InputOptions::default()
            .transport(RtspTransport::Udp)
            .prefer_tcp(true)
            .video_only(true)
            .buffer_size(Some(1 << 21))
            .option("user_agent", "test");
        let mut keys = options.dictionary("rtsp://u:p@cam/x").unwrap().keys();
        keys.sort();
        let expected = [
            "allowed_media_types",
            "analyzeduration",
            "buffer_size",
            "fflags",
            "max_delay",
            "probesize",
            "rtsp_flags",
            "rtsp_transport",
            "timeout",
            "user_agent",
        ];
        assert_eq!(keys, expected);
        let keys = options.dictionary("/tmp/clip.mp4").unwrap().keys();
        assert!(!keys.iter().any(|key| key.starts_with("rtsp")), "{keys:?}");
        let auto = InputOptions::default().transport(RtspTransport::Auto);
        assert!(!auto
            .dictionary("rtsp://cam")
            .unwrap()
            .keys()
            .contains(&"rtsp_transport".into()));
    }
}
