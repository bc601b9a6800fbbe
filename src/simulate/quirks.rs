//! Camera quirks: protocol and SDP habits of real cameras that a strict
//! client trips over, each one switched on by name ([`Quirk`],
//! [`SimulatorConfig::quirk`](super::SimulatorConfig::quirk), `simulate
//! --quirk NAME`).
//!
//! What this module owns: the quirk names and their parsing, and what each
//! quirk changes in the simulator's bytes: the SDP edits
//! ([`Quirks::edit_sdp`]), the response formatting (line ends, padded header
//! values: [`Quirks::wire`]), the `Content-Base` value, the request URIs a
//! quirky camera takes back, where the SSRC is announced, the packets sent
//! around the `PLAY` response (an RTCP sender report, interleaved data on a
//! channel nobody set up) and the one-client gate ([`ClientGate`]). The server
//! calls one hook per quirk; the decisions are made here.
//!
//! The interleaved quirks (`rtcp-before-play`, `stray-channel`) act only on
//! sessions with RTP over TCP; `rtp-before-play` sends the first frame before
//! the `PLAY` answer over either transport.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind, Result};

/// A habit of real cameras the simulator can imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Quirk {
    /// The video's `a=fmtp:96` line has no parameters at all (no
    /// `packetization-mode`, no `sprop-parameter-sets`), as some Ubiquiti
    /// cameras send; the parameter sets come in band only.
    EmptyFmtp,
    /// The SDP has no `o=` (origin) line, which RFC 4566 requires.
    NoOrigin,
    /// Trailing whitespace after the values of `Content-Base`, `CSeq`,
    /// `Session` and `Transport`. The camera repairs nothing a client builds
    /// from them: a `SETUP` URI made from the padded `Content-Base` as it is
    /// (`rtsp://…/cam0/   /streamid=0`) breaks the request line into more
    /// than three parts and gets `400 Bad Request`, as from any RTSP server.
    HeaderSpaces,
    /// Responses (head and SDP) end their lines with `\n`, not `\r\n`.
    LfOnly,
    /// `Content-Base: 127.0.0.1:8554/cam0/`, without `rtsp://` (as
    /// LIVE555-based Anjvision cameras send); like LIVE555, the camera takes
    /// request URIs of that form back.
    ContentBaseNoScheme,
    /// An RTCP sender report, interleaved, before the `PLAY` response.
    RtcpBeforePlay,
    /// The first frame's RTP packets (and the muxer's first sender report)
    /// before the `PLAY` response.
    RtpBeforePlay,
    /// An RTP packet on interleaved channel 7 (9 when the client set up 7),
    /// which nobody set up, after every frame.
    StrayChannel,
    /// No `ssrc=` in the `SETUP` answer's `Transport`; the SSRC is given
    /// only in `RTP-Info` (`;ssrc=`, as RTSP 2.0 has it).
    SsrcInRtpInfoOnly,
    /// One session per camera at a time: a `SETUP` from another connection
    /// while one is open gets `453 Not Enough Bandwidth`.
    OneClient,
}

impl Quirk {
    /// Every quirk, in the order they are listed.
    pub const ALL: [Quirk; 10] = [
        Quirk::EmptyFmtp,
        Quirk::NoOrigin,
        Quirk::HeaderSpaces,
        Quirk::LfOnly,
        Quirk::ContentBaseNoScheme,
        Quirk::RtcpBeforePlay,
        Quirk::RtpBeforePlay,
        Quirk::StrayChannel,
        Quirk::SsrcInRtpInfoOnly,
        Quirk::OneClient,
    ];

    /// The quirk's name, as `--quirk` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Quirk::EmptyFmtp => "empty-fmtp",
            Quirk::NoOrigin => "no-origin",
            Quirk::HeaderSpaces => "header-spaces",
            Quirk::LfOnly => "lf-only",
            Quirk::ContentBaseNoScheme => "content-base-no-scheme",
            Quirk::RtcpBeforePlay => "rtcp-before-play",
            Quirk::RtpBeforePlay => "rtp-before-play",
            Quirk::StrayChannel => "stray-channel",
            Quirk::SsrcInRtpInfoOnly => "ssrc-in-rtp-info-only",
            Quirk::OneClient => "one-client",
        }
    }

    fn bit(self) -> u16 {
        let index = Quirk::ALL.iter().position(|&q| q == self).unwrap_or(0);
        1 << index
    }
}

impl fmt::Display for Quirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Quirk {
    type Err = Error;

    /// # Errors
    /// [`ErrorKind::InvalidConfig`] naming the valid quirks.
    fn from_str(text: &str) -> Result<Self> {
        let wanted = text.trim();
        Quirk::ALL
            .into_iter()
            .find(|quirk| quirk.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let valid: Vec<&str> = Quirk::ALL.iter().map(|quirk| quirk.name()).collect();
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("unknown quirk `{wanted}`; valid: {}", valid.join(", ")),
                )
            })
    }
}

/// A set of quirks (every camera of a simulator has the same).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Quirks(u16);

impl fmt::Debug for Quirks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.list()).finish()
    }
}

/// The trailing whitespace `header-spaces` leaves after header values.
const PADDING: &str = "   ";
/// The headers whose values `header-spaces` pads.
const PADDED: [&str; 4] = ["Content-Base", "CSeq", "Session", "Transport"];
/// Where `stray-channel` sends (or [`STRAY_FALLBACK`] when the client set it up).
const STRAY_CHANNEL: u8 = 7;
const STRAY_FALLBACK: u8 = 9;
/// The SSRC of the stray packets (`STRY`), no session's.
const STRAY_SSRC: u32 = 0x5354_5259;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// How response heads are written: the line end, and what follows the values
/// of some headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wire {
    pub(crate) line_end: &'static str,
    padded: bool,
}

impl Default for Wire {
    fn default() -> Self {
        Self {
            line_end: "\r\n",
            padded: false,
        }
    }
}

impl Wire {
    /// What to write after header `name`'s value (before the line end).
    pub(crate) fn padding(&self, name: &str) -> &'static str {
        if self.padded
            && PADDED
                .iter()
                .any(|padded| padded.eq_ignore_ascii_case(name))
        {
            PADDING
        } else {
            ""
        }
    }
}

impl Quirks {
    pub(crate) fn with(self, quirk: Quirk) -> Self {
        Self(self.0 | quirk.bit())
    }

    pub(crate) fn has(self, quirk: Quirk) -> bool {
        self.0 & quirk.bit() != 0
    }

    /// The quirks in the set, in [`Quirk::ALL`]'s order.
    pub(crate) fn list(self) -> Vec<Quirk> {
        Quirk::ALL.into_iter().filter(|&q| self.has(q)).collect()
    }

    /// The SDP as the quirky camera writes it: `empty-fmtp` empties the
    /// video's `a=fmtp` line, `no-origin` drops the `o=` line, `lf-only`
    /// ends every line with `\n`.
    pub(crate) fn edit_sdp(self, sdp: &str) -> String {
        let line_end = self.wire().line_end;
        let mut out = String::with_capacity(sdp.len());
        let mut in_video = false;
        for line in sdp.lines() {
            if line.starts_with("m=") {
                in_video = line.starts_with("m=video ");
            }
            if self.has(Quirk::NoOrigin) && line.starts_with("o=") {
                continue;
            }
            let line = match line.strip_prefix("a=fmtp:") {
                Some(rest) if in_video && self.has(Quirk::EmptyFmtp) => {
                    let payload_type = rest.split_whitespace().next().unwrap_or("");
                    Cow::Owned(format!("a=fmtp:{payload_type}"))
                }
                _ => Cow::Borrowed(line),
            };
            out.push_str(&line);
            out.push_str(line_end);
        }
        out
    }

    /// How response heads are written.
    pub(crate) fn wire(self) -> Wire {
        Wire {
            line_end: if self.has(Quirk::LfOnly) {
                "\n"
            } else {
                "\r\n"
            },
            padded: self.has(Quirk::HeaderSpaces),
        }
    }

    /// The `Content-Base` for `base` (`rtsp://host:port/camN/`):
    /// `content-base-no-scheme` leaves the scheme out.
    pub(crate) fn content_base(self, base: String) -> String {
        match base.strip_prefix("rtsp://") {
            Some(rest) if self.has(Quirk::ContentBaseNoScheme) => rest.to_owned(),
            _ => base,
        }
    }

    /// A request URI as the camera reads it: with `content-base-no-scheme`,
    /// `host:port/path` (what a client builds from that `Content-Base`) is
    /// `rtsp://host:port/path`, as LIVE555 takes it.
    pub(crate) fn request_uri(self, uri: String) -> String {
        let schemeless = !uri.contains("://") && !uri.starts_with('/') && uri != "*";
        if self.has(Quirk::ContentBaseNoScheme) && schemeless && uri.contains('/') {
            format!("rtsp://{uri}")
        } else {
            uri
        }
    }

    /// The `;ssrc=` parameter of the `SETUP` answer's `Transport` (none with
    /// `ssrc-in-rtp-info-only`).
    pub(crate) fn transport_ssrc(self, ssrc: u32) -> String {
        if self.has(Quirk::SsrcInRtpInfoOnly) {
            String::new()
        } else {
            format!(";ssrc={ssrc:08X}")
        }
    }

    /// What `RTP-Info` gets after `rtptime=`: `;ssrc=` with
    /// `ssrc-in-rtp-info-only`.
    pub(crate) fn rtp_info_ssrc(self, ssrc: u32) -> String {
        if self.has(Quirk::SsrcInRtpInfoOnly) {
            format!(";ssrc={ssrc:08X}")
        } else {
            String::new()
        }
    }

    /// The interleaved bytes to write before the `PLAY` answer of a session
    /// on `rtcp_channel` (`rtcp-before-play`): a sender report for `ssrc` at
    /// `rtptime`, now.
    pub(crate) fn before_play(self, rtcp_channel: u8, ssrc: u32, rtptime: u32) -> Vec<u8> {
        let mut out = Vec::new();
        if self.has(Quirk::RtcpBeforePlay) {
            let report = sender_report(ssrc, rtptime, SystemTime::now());
            interleave(&mut out, rtcp_channel, &report);
        }
        out
    }

    /// Whether the first frame leaves before the `PLAY` answer.
    pub(crate) fn rtp_before_play(self) -> bool {
        self.has(Quirk::RtpBeforePlay)
    }

    /// Appends to `out` what follows a frame on a session whose video is on
    /// `channels` (`stray-channel`: an RTP packet, number `n`, on a channel
    /// nobody set up).
    pub(crate) fn after_frame(self, out: &mut Vec<u8>, channels: (u8, u8), n: u64) {
        if !self.has(Quirk::StrayChannel) {
            return;
        }
        let channel = if channels.0 == STRAY_CHANNEL || channels.1 == STRAY_CHANNEL {
            STRAY_FALLBACK
        } else {
            STRAY_CHANNEL
        };
        interleave(out, channel, &stray_packet(n));
    }
}

/// An RTCP sender report (RFC 3550 §6.4.1) with no report blocks and zero
/// counts: `ssrc`'s media time `rtptime` was wall-clock time `at`.
pub(crate) fn sender_report(ssrc: u32, rtptime: u32, at: SystemTime) -> [u8; 28] {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = (since.as_secs() + NTP_UNIX_OFFSET) as u32; // NTP wraps in 2036
    let fraction = ((u64::from(since.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    let mut report = [0u8; 28];
    report[0] = 0x80; // version 2, no padding, no report blocks
    report[1] = 200; // SR
    report[2..4].copy_from_slice(&6u16.to_be_bytes()); // 32-bit words - 1
    report[4..8].copy_from_slice(&ssrc.to_be_bytes());
    report[8..12].copy_from_slice(&seconds.to_be_bytes());
    report[12..16].copy_from_slice(&fraction.to_be_bytes());
    report[16..20].copy_from_slice(&rtptime.to_be_bytes());
    report
}

/// The `n`-th stray RTP packet: payload type 97, [`STRAY_SSRC`], 8 zero bytes.
fn stray_packet(n: u64) -> [u8; 20] {
    let mut packet = [0u8; 20];
    packet[0] = 0x80;
    packet[1] = 97;
    packet[2..4].copy_from_slice(&(n as u16).to_be_bytes()); // wraps, as RTP does
    packet[4..8].copy_from_slice(&((n as u32).wrapping_mul(3600)).to_be_bytes());
    packet[8..12].copy_from_slice(&STRAY_SSRC.to_be_bytes());
    packet
}

/// Appends `packet` as an interleaved frame on `channel` (`$`, channel,
/// 16-bit length, packet).
fn interleave(out: &mut Vec<u8>, channel: u8, packet: &[u8]) {
    let Ok(len) = u16::try_from(packet.len()) else {
        return; // cannot happen: the packets here are a few bytes
    };
    out.push(b'$');
    out.push(channel);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
}

/// The `one-client` camera's single session slot.
#[derive(Debug, Default)]
pub(crate) struct ClientGate {
    taken: AtomicBool,
}

impl ClientGate {
    /// Takes the slot; `false` when another session holds it.
    pub(crate) fn try_take(&self) -> bool {
        // Relaxed: the flag only decides which connection may hold a
        // session; no other data is handed over through it.
        self.taken
            .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// Frees the slot (its holder's session ended).
    pub(crate) fn release(&self) {
        // Relaxed: see `try_take`.
        self.taken.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::simulate::rtsp::{Response, Status};
    use crate::simulate::{PatternOptions, Simulator, SimulatorConfig};

    const SDP: &str = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam0\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n\
        m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
        a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0I=,aM4=\r\na=control:streamid=0\r\n\
        m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/8000/1\r\n\
        a=fmtp:97 profile-level-id=1;mode=AAC-hbr\r\na=control:streamid=1\r\n";

    fn only(quirk: Quirk) -> Quirks {
        Quirks::default().with(quirk)
    }

    #[test]
    fn names_parse_back_and_unknown_ones_list_the_valid() {
        for quirk in Quirk::ALL {
            assert_eq!(quirk.name().parse::<Quirk>().unwrap(), quirk);
            assert_eq!(quirk.to_string(), quirk.name());
        }
        assert_eq!(" LF-Only ".parse::<Quirk>().unwrap(), Quirk::LfOnly);
        let error = "crlf".parse::<Quirk>().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidConfig);
        assert!(
            error
                .message()
                .starts_with("unknown quirk `crlf`; valid: empty-fmtp, no-origin, "),
            "{error}"
        );
        assert!(error.message().ends_with("one-client"), "{error}");
        let set = only(Quirk::OneClient).with(Quirk::EmptyFmtp);
        assert_eq!(set.list(), [Quirk::EmptyFmtp, Quirk::OneClient]);
        assert!(!set.has(Quirk::LfOnly));
        assert_eq!(format!("{set:?}"), "{EmptyFmtp, OneClient}");
    }

    #[test]
    fn no_quirk_changes_nothing() {
        let none = Quirks::default();
        assert_eq!(none.edit_sdp(SDP), SDP);
        assert_eq!(none.wire(), Wire::default());
        let base = "rtsp://127.0.0.1:8554/cam0/".to_owned();
        assert_eq!(none.content_base(base.clone()), base);
        assert_eq!(
            none.request_uri("127.0.0.1:1/cam0".into()),
            "127.0.0.1:1/cam0"
        );
        assert_eq!(none.transport_ssrc(0xAB), ";ssrc=000000AB");
        assert_eq!(none.rtp_info_ssrc(0xAB), "");
        assert!(none.before_play(1, 2, 3).is_empty());
        assert!(!none.rtp_before_play());
        let mut out = Vec::new();
        none.after_frame(&mut out, (0, 1), 5);
        assert!(out.is_empty());
    }

    #[test]
    fn empty_fmtp_empties_only_the_video_fmtp() {
        let sdp = only(Quirk::EmptyFmtp).edit_sdp(SDP);
        assert!(sdp.contains("a=rtpmap:96 H264/90000\r\na=fmtp:96\r\na=control:streamid=0\r\n"));
        assert!(
            !sdp.contains("sprop") && !sdp.contains("packetization-mode"),
            "{sdp}"
        );
        assert!(
            sdp.contains("a=fmtp:97 profile-level-id=1;mode=AAC-hbr\r\n"),
            "{sdp}"
        );
    }

    #[test]
    fn no_origin_drops_the_o_line() {
        let sdp = only(Quirk::NoOrigin).edit_sdp(SDP);
        assert_eq!(sdp, SDP.replace("o=- 0 0 IN IP4 127.0.0.1\r\n", ""));
    }

    #[test]
    fn lf_only_ends_head_and_sdp_lines_with_lf() {
        let quirks = only(Quirk::LfOnly);
        let sdp = quirks.edit_sdp(SDP);
        assert_eq!(sdp, SDP.replace("\r\n", "\n"));
        let length = sdp.len();
        let bytes = Response::new(Status::OK)
            .header("Session", "AB")
            .body("application/sdp", sdp)
            .to_wire(Some(2), &quirks.wire());
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains('\r'), "{text:?}");
        assert!(text.starts_with("RTSP/1.0 200 OK\nCSeq: 2\n"), "{text:?}");
        assert!(text.contains("Session: AB\n"), "{text:?}");
        assert!(text.contains(&format!("Content-Length: {length}\n\nv=0\n")));
    }

    #[test]
    fn header_spaces_pad_the_four_headers() {
        let bytes = Response::new(Status::OK)
            .header("Content-Base", "rtsp://h/cam0/")
            .header("Session", "AB;timeout=60")
            .header("Transport", "RTP/AVP/TCP;interleaved=0-1")
            .header("Range", "npt=0.000-")
            .to_wire(Some(3), &only(Quirk::HeaderSpaces).wire());
        let text = String::from_utf8(bytes).unwrap();
        for line in [
            "CSeq: 3   \r\n",
            "Content-Base: rtsp://h/cam0/   \r\n",
            "Session: AB;timeout=60   \r\n",
            "Transport: RTP/AVP/TCP;interleaved=0-1   \r\n",
            "Range: npt=0.000-\r\n",
            "Server: rtsp-ingest-simulator\r\n",
        ] {
            assert!(text.contains(line), "{line:?} in {text:?}");
        }
    }

    #[test]
    fn content_base_no_scheme_and_the_uris_it_takes_back() {
        let quirks = only(Quirk::ContentBaseNoScheme);
        let base = quirks.content_base("rtsp://127.0.0.1:8554/cam0/".to_owned());
        assert_eq!(base, "127.0.0.1:8554/cam0/");
        assert_eq!(
            quirks.request_uri("127.0.0.1:8554/cam0/streamid=0".to_owned()),
            "rtsp://127.0.0.1:8554/cam0/streamid=0"
        );
        for kept in ["rtsp://h/cam0", "/cam0/streamid=0", "*", "cam0"] {
            assert_eq!(quirks.request_uri(kept.to_owned()), kept);
        }
    }

    #[test]
    fn ssrc_moves_from_transport_to_rtp_info() {
        let quirks = only(Quirk::SsrcInRtpInfoOnly);
        assert_eq!(quirks.transport_ssrc(0x1234_ABCD), "");
        assert_eq!(quirks.rtp_info_ssrc(0x1234_ABCD), ";ssrc=1234ABCD");
    }

    #[test]
    fn rtcp_before_play_is_an_interleaved_sender_report() {
        let bytes = only(Quirk::RtcpBeforePlay).before_play(1, 0xDEAD_BEEF, 90_000);
        assert_eq!(&bytes[..4], &[b'$', 1, 0, 28]);
        let report = &bytes[4..];
        assert_eq!(&report[..4], &[0x80, 200, 0, 6]);
        assert_eq!(&report[4..8], &0xDEAD_BEEFu32.to_be_bytes());
        assert_eq!(&report[16..20], &90_000u32.to_be_bytes());
        let at = UNIX_EPOCH + Duration::from_millis(1_500);
        let report = sender_report(1, 2, at);
        assert_eq!(&report[8..12], &2_208_988_801u32.to_be_bytes());
        assert_eq!(
            &report[12..16],
            &0x8000_0000u32.to_be_bytes(),
            "half a second"
        );
        assert!(only(Quirk::RtpBeforePlay).rtp_before_play());
    }

    #[test]
    fn stray_channel_sends_on_a_channel_nobody_set_up() {
        let quirks = only(Quirk::StrayChannel);
        let mut out = Vec::new();
        quirks.after_frame(&mut out, (0, 1), 3);
        assert_eq!(&out[..4], &[b'$', 7, 0, 20]);
        assert_eq!(&out[4..8], &[0x80, 97, 0, 3]);
        assert_eq!(&out[12..16], b"STRY");
        let mut out = Vec::new();
        quirks.after_frame(&mut out, (6, 7), 0);
        assert_eq!(out[1], 9);
    }

    /// What a raw client reads: interleaved frames (channel, packet) and
    /// response heads (with their bodies), in order.
    #[derive(Debug)]
    enum Item {
        Frame(u8, Vec<u8>),
        Text(String),
    }

    /// The length of a response head with its blank line (CRLF or LF ends).
    fn head_end(text: &str) -> Option<usize> {
        let crlf = text.find("\r\n\r\n").map(|at| at + 4);
        let lf = text.find("\n\n").map(|at| at + 2);
        match (crlf, lf) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn split(mut bytes: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        while !bytes.is_empty() {
            if bytes[0] == b'$' && bytes.len() >= 4 {
                let len = 4 + usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
                let len = len.min(bytes.len());
                items.push(Item::Frame(bytes[1], bytes[4..len].to_vec()));
                bytes = &bytes[len..];
                continue;
            }
            let text = String::from_utf8_lossy(bytes);
            let head = head_end(&text).unwrap_or(bytes.len());
            let body = text[..head]
                .lines()
                .find_map(|line| line.strip_prefix("Content-Length: "))
                .map_or(0, |n| n.trim().parse::<usize>().unwrap());
            let end = (head + body).min(bytes.len());
            items.push(Item::Text(
                String::from_utf8_lossy(&bytes[..end]).into_owned(),
            ));
            bytes = &bytes[end..];
        }
        items
    }

    struct RawClient {
        stream: TcpStream,
        got: Vec<u8>,
    }

    impl RawClient {
        fn connect(simulator: &Simulator) -> Self {
            let stream = TcpStream::connect(simulator.addr()).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            Self {
                stream,
                got: Vec::new(),
            }
        }

        /// Sends `request` and reads until `done` holds for what came since.
        fn send(&mut self, request: &str, done: impl Fn(&[Item]) -> bool) -> Vec<Item> {
            self.got.clear();
            self.stream.write_all(request.as_bytes()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut buf = [0u8; 16 * 1024];
            loop {
                let items = split(&self.got);
                if done(&items) {
                    return items;
                }
                assert!(Instant::now() < deadline, "{request}: {items:?}");
                if let Ok(n) = self.stream.read(&mut buf) {
                    self.got.extend_from_slice(&buf[..n]);
                }
            }
        }
    }

    /// Whether `items` hold a complete response (head and body).
    fn answered(items: &[Item]) -> bool {
        items.iter().any(|item| match item {
            Item::Text(text) => {
                let length = text
                    .lines()
                    .find_map(|line| line.strip_prefix("Content-Length: "))
                    .map_or(0, |n| n.trim().parse::<usize>().unwrap());
                head_end(text).is_some_and(|head| text.len() >= head + length)
            }
            Item::Frame(..) => false,
        })
    }

    fn text_of(items: &[Item]) -> &str {
        items
            .iter()
            .find_map(|item| match item {
                Item::Text(text) => Some(text.as_str()),
                Item::Frame(..) => None,
            })
            .unwrap()
    }

    fn quirky(quirks: &[Quirk]) -> Simulator {
        let config = quirks.iter().fold(
            SimulatorConfig::default()
                .addr("127.0.0.1:0".parse().unwrap())
                .pattern(PatternOptions::default().size(160, 96).frames(25)),
            |config, &quirk| config.quirk(quirk),
        );
        Simulator::start(config).unwrap()
    }

    /// Every quirk but `one-client` at once, as the server writes them.
    #[test]
    fn the_server_writes_every_quirk() {
        let every: Vec<Quirk> = Quirk::ALL
            .into_iter()
            .filter(|&quirk| quirk != Quirk::OneClient)
            .collect();
        let simulator = quirky(&every);
        assert_eq!(simulator.quirks(), every);
        let url = simulator.url(0);
        let host = url.strip_prefix("rtsp://").unwrap();
        let mut client = RawClient::connect(&simulator);

        let items = client.send(
            &format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
            answered,
        );
        let text = text_of(&items);
        assert!(!text.contains('\r'), "lf-only: {text:?}");
        assert!(
            text.starts_with("RTSP/1.0 200 OK\nCSeq: 1   \n"),
            "{text:?}"
        );
        assert!(
            text.contains(&format!("\nContent-Base: {host}/   \n")),
            "{text:?}"
        );
        assert!(!text.contains("\no="), "no-origin: {text:?}");
        assert!(text.contains("\na=fmtp:96\n"), "empty-fmtp: {text:?}");

        // The SETUP URI a client builds from the schemeless Content-Base.
        let items = client.send(
            &format!(
                "SETUP {host}/streamid=0 RTSP/1.0\r\nCSeq: 2\r\n\
                 Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"
            ),
            answered,
        );
        let text = text_of(&items);
        assert!(text.starts_with("RTSP/1.0 200 OK\n"), "{text:?}");
        assert!(
            text.contains("\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=\"PLAY\"   \n"),
            "no ssrc=: {text:?}"
        );
        let session = text
            .lines()
            .find_map(|line| line.strip_prefix("Session: "))
            .unwrap();
        assert!(session.ends_with(";timeout=60   "), "{session:?}");
        let session = session.split(';').next().unwrap();

        // Frames on channel 7 come after the first frame, so wait for one.
        let stray = |items: &[Item]| items.iter().any(|item| matches!(item, Item::Frame(7, _)));
        let items = client.send(
            &format!("PLAY {url}/ RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\n\r\n"),
            |items| answered(items) && stray(items),
        );
        let answer = items
            .iter()
            .position(|item| matches!(item, Item::Text(_)))
            .unwrap();
        let text = text_of(&items);
        assert!(
            text.starts_with("RTSP/1.0 200 OK\nCSeq: 3   \n"),
            "{text:?}"
        );
        let rtp_info = text
            .lines()
            .find_map(|line| line.strip_prefix("RTP-Info: "))
            .unwrap();
        let ssrc = rtp_info.split(";ssrc=").nth(1).unwrap();
        assert_eq!(ssrc.len(), 8, "ssrc-in-rtp-info-only: {rtp_info:?}");
        // rtcp-before-play: a sender report (of the session's SSRC) first;
        // rtp-before-play: RTP packets of the first frame before the answer.
        let before = &items[..answer];
        let Some(Item::Frame(1, report)) = before.first() else {
            panic!("{before:?}");
        };
        assert_eq!(report[1], 200, "{report:?}");
        assert_eq!(
            format!(
                "{:08X}",
                u32::from_be_bytes(report[4..8].try_into().unwrap())
            ),
            ssrc
        );
        let early_rtp = before
            .iter()
            .filter(|item| matches!(item, Item::Frame(0, packet) if packet[1] & 0x7f == 96))
            .count();
        assert!(early_rtp >= 1, "{before:?}");
        let strays = items[answer..]
            .iter()
            .filter_map(|item| match item {
                Item::Frame(7, packet) => Some(packet),
                _ => None,
            })
            .collect::<Vec<_>>();
        assert!(
            strays.iter().all(|packet| &packet[8..12] == b"STRY"),
            "{strays:?}"
        );
    }

    #[test]
    fn a_one_client_camera_refuses_a_second_session_until_the_first_ends() {
        let simulator = quirky(&[Quirk::OneClient]);
        let url = simulator.url(0);
        let setup = |cseq: u32| {
            format!(
                "SETUP {url}/streamid=0 RTSP/1.0\r\nCSeq: {cseq}\r\n\
                 Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"
            )
        };
        let mut first = RawClient::connect(&simulator);
        let items = first.send(&setup(1), answered);
        assert!(text_of(&items).starts_with("RTSP/1.0 200 OK\r\n"));
        // The same connection may set up again; another may not.
        let items = first.send(&setup(2), answered);
        assert!(text_of(&items).starts_with("RTSP/1.0 200 OK\r\n"));
        let mut second = RawClient::connect(&simulator);
        let items = second.send(&setup(1), answered);
        let text = text_of(&items);
        assert!(
            text.starts_with("RTSP/1.0 453 Not Enough Bandwidth\r\nCSeq: 1\r\n"),
            "{text}"
        );
        assert_eq!(simulator.stats().cameras[0].busy_refusals, 1);
        drop(first);
        // The first connection's thread ends its session within a poll.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let items = second.send(&setup(2), answered);
            if text_of(&items).starts_with("RTSP/1.0 200 OK\r\n") {
                break;
            }
            assert!(Instant::now() < deadline, "{items:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn the_gate_admits_one_at_a_time() {
        let gate = ClientGate::default();
        assert!(gate.try_take());
        assert!(!gate.try_take());
        gate.release();
        assert!(gate.try_take());
    }
}
