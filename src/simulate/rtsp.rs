//! RTSP/1.0 on the wire, server side: a bounded request parser that also
//! recognises the interleaved binary frames (`$`, channel, length) a client
//! sends on the same connection (its RTCP receiver reports), responses, and
//! the small pieces a server needs (paths, `Transport`, Basic credentials).

use std::fmt::Write as _;

use super::quirks::Wire;

/// The most bytes a request's start line and headers may take.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// The most bytes a request body may take.
pub(crate) const MAX_BODY: usize = 8 * 1024;
/// The most header lines a request may have.
const MAX_HEADERS: usize = 64;

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    /// The method, as sent (methods are case-sensitive).
    pub(crate) method: String,
    /// The request URI, as sent.
    pub(crate) uri: String,
    headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The first header named `name` (case-insensitive), trimmed.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The `CSeq` header, when present and numeric.
    pub(crate) fn cseq(&self) -> Option<u32> {
        self.header("CSeq")?.parse().ok()
    }

    /// The session id of the `Session` header (without `;timeout=`).
    pub(crate) fn session(&self) -> Option<&str> {
        self.header("Session")
            .map(|value| value.split(';').next().unwrap_or("").trim())
    }
}

/// What the start of a connection's input holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Not enough bytes yet.
    Incomplete,
    /// A request taking the first `usize` bytes.
    Request(Request, usize),
    /// An interleaved binary frame: its 4-byte header is complete and it takes
    /// `len` bytes in all (header included); skip them.
    Interleaved {
        /// The frame's channel.
        channel: u8,
        /// The frame's length with its 4-byte header.
        len: usize,
    },
}

/// Why the input cannot be a request. The connection cannot resynchronise:
/// answer (400, 413 or 505) and close it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Not RTSP: a bad start line or header, or not text.
    Malformed(String),
    /// The head or the body exceeds its bound.
    TooLarge,
    /// Another protocol version than RTSP/1.0.
    Version(String),
}

impl ParseError {
    /// The status to answer with.
    pub(crate) fn status(&self) -> Status {
        match self {
            ParseError::Malformed(_) => Status::BAD_REQUEST,
            ParseError::TooLarge => Status::TOO_LARGE,
            ParseError::Version(_) => Status::VERSION_NOT_SUPPORTED,
        }
    }
}

/// Parses what starts `input`.
pub(crate) fn parse(input: &[u8]) -> Result<Parsed, ParseError> {
    // Clients may send CRLFs between messages (keepalives); skip them as
    // part of the next request.
    let skipped = input
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let input_after = &input[skipped..];
    match input_after.first() {
        None => return Ok(Parsed::Incomplete),
        Some(b'$') => {
            let [_, channel, high, low, ..] = *input_after else {
                return Ok(Parsed::Incomplete);
            };
            let len = usize::from(u16::from_be_bytes([high, low]));
            return Ok(Parsed::Interleaved {
                channel,
                len: skipped + 4 + len,
            });
        }
        Some(_) => {}
    }
    let Some(head_len) = find_head_end(input_after) else {
        if input_after.len() > MAX_HEAD {
            return Err(ParseError::TooLarge);
        }
        // Catch garbage early rather than waiting for 8 KiB of it.
        if let Some(line_end) = input_after.iter().position(|&b| b == b'\n') {
            parse_start_line(trim_cr(&input_after[..line_end]))?;
        } else if !input_after.is_ascii() || input_after.contains(&0) {
            return Err(ParseError::Malformed("binary data".to_owned()));
        }
        return Ok(Parsed::Incomplete);
    };
    if head_len > MAX_HEAD {
        return Err(ParseError::TooLarge);
    }
    let head = std::str::from_utf8(&input_after[..head_len])
        .map_err(|_| ParseError::Malformed("the head is not UTF-8".to_owned()))?;
    let mut lines = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let (method, uri) = parse_start_line(lines.next().unwrap_or("").as_bytes())?;
    let mut headers = Vec::new();
    for line in lines.filter(|line| !line.is_empty()) {
        if headers.len() == MAX_HEADERS {
            return Err(ParseError::TooLarge);
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ParseError::Malformed(format!("header line `{line}` has no ':'")))?;
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ParseError::Malformed(format!("bad header name `{name}`")));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut request = Request {
        method,
        uri,
        headers,
        body: Vec::new(),
    };
    let body_len = match request.header("Content-Length") {
        None => 0,
        Some(value) => value
            .parse::<usize>()
            .map_err(|_| ParseError::Malformed(format!("Content-Length `{value}`")))?,
    };
    if body_len > MAX_BODY {
        return Err(ParseError::TooLarge);
    }
    let total = skipped + head_len + body_len;
    if input.len() < total {
        return Ok(Parsed::Incomplete);
    }
    request.body = input[skipped + head_len..total].to_vec();
    Ok(Parsed::Request(request, total))
}

/// The length of the head including its blank line (`\r\n\r\n` or `\n\n`).
fn find_head_end(input: &[u8]) -> Option<usize> {
    let limit = input.len().min(MAX_HEAD + 4);
    let window = &input[..limit];
    let crlf = window
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4);
    let lf = window.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `METHOD SP URI SP RTSP/1.0` → (method, uri).
fn parse_start_line(line: &[u8]) -> Result<(String, String), ParseError> {
    let line = std::str::from_utf8(line)
        .map_err(|_| ParseError::Malformed("the request line is not UTF-8".to_owned()))?;
    let mut parts = line.split(' ').filter(|part| !part.is_empty());
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::Malformed(format!(
            "`{}` is not `METHOD URI RTSP/1.0`",
            line.chars().take(80).collect::<String>()
        )));
    };
    if !method.bytes().all(is_token_byte) || method.len() > 32 {
        return Err(ParseError::Malformed(format!("bad method `{method}`")));
    }
    if !version.starts_with("RTSP/") {
        return Err(ParseError::Malformed(format!(
            "`{version}` is not an RTSP version"
        )));
    }
    if version != "RTSP/1.0" {
        return Err(ParseError::Version(version.to_owned()));
    }
    if uri.chars().any(char::is_control) {
        return Err(ParseError::Malformed(
            "control characters in the URI".to_owned(),
        ));
    }
    Ok((method.to_owned(), uri.to_owned()))
}

/// A response status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Status(pub(crate) u16, pub(crate) &'static str);

impl Status {
    pub(crate) const OK: Status = Status(200, "OK");
    pub(crate) const BAD_REQUEST: Status = Status(400, "Bad Request");
    pub(crate) const UNAUTHORIZED: Status = Status(401, "Unauthorized");
    pub(crate) const NOT_FOUND: Status = Status(404, "Not Found");
    pub(crate) const TOO_LARGE: Status = Status(413, "Request Entity Too Large");
    pub(crate) const NOT_ENOUGH_BANDWIDTH: Status = Status(453, "Not Enough Bandwidth");
    pub(crate) const SESSION_NOT_FOUND: Status = Status(454, "Session Not Found");
    pub(crate) const NOT_VALID_IN_STATE: Status = Status(455, "Method Not Valid in This State");
    pub(crate) const UNSUPPORTED_TRANSPORT: Status = Status(461, "Unsupported Transport");
    pub(crate) const NOT_IMPLEMENTED: Status = Status(501, "Not Implemented");
    pub(crate) const VERSION_NOT_SUPPORTED: Status = Status(505, "RTSP Version Not Supported");
}

/// A response being built.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    status: Status,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Response {
    pub(crate) fn new(status: Status) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(crate) fn status(&self) -> Status {
        self.status
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers.push(("Content-Type", content_type.to_owned()));
        self.body = body.into();
        self
    }

    /// The bytes on the wire, with `CSeq` (echoed when the request had one),
    /// `Server` and `Content-Length`.
    pub(crate) fn to_bytes(&self, cseq: Option<u32>) -> Vec<u8> {
        self.to_wire(cseq, &Wire::default())
    }

    /// [`to_bytes`](Self::to_bytes) written the way `wire` says (a camera
    /// quirk's line ends and header padding).
    pub(crate) fn to_wire(&self, cseq: Option<u32>, wire: &Wire) -> Vec<u8> {
        let end = wire.line_end;
        let mut head = format!("RTSP/1.0 {} {}{end}", self.status.0, self.status.1);
        if let Some(cseq) = cseq {
            let _ = write!(head, "CSeq: {cseq}{}{end}", wire.padding("CSeq"));
        }
        let _ = write!(head, "Server: rtsp-ingest-simulator{end}");
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}{}{end}", wire.padding(name));
        }
        if !self.body.is_empty() {
            let _ = write!(head, "Content-Length: {}{end}", self.body.len());
        }
        head.push_str(end);
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// What a request URI names: a camera and the rest of its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    pub(crate) camera: usize,
    /// The path after `/camN/` (a track's control, e.g. `streamid=0`), empty
    /// for the camera itself.
    pub(crate) rest: &'a str,
}

/// The path of a request URI: `rtsp://host:port/a/b?q` → `/a/b`; `*` → `*`.
pub(crate) fn uri_path(uri: &str) -> &str {
    let without_query = uri.split(['?', '#']).next().unwrap_or("");
    match without_query.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |slash| &rest[slash..]),
        None => without_query,
    }
}

/// The camera a request URI names, `/camN` with `N < cameras`.
pub(crate) fn target(uri: &str, cameras: usize) -> Option<Target<'_>> {
    let path = uri_path(uri).strip_prefix('/')?;
    let (first, rest) = path.split_once('/').unwrap_or((path, ""));
    let digits = first.strip_prefix("cam")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
        return None;
    }
    let camera: usize = digits.parse().ok()?;
    (camera < cameras).then_some(Target {
        camera,
        rest: rest.trim_end_matches('/'),
    })
}

/// The transport a `SETUP` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransportRequest {
    /// RTP over the RTSP connection, on these channels (RTP, RTCP).
    Interleaved(u8, u8),
    /// RTP over unicast UDP to these client ports (RTP, RTCP).
    Udp(u16, u16),
    /// Only transports this server does not serve (or was told to refuse).
    Unsupported,
}

/// The transports a server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Offer {
    /// `RTP/AVP/TCP`, interleaved.
    pub(crate) tcp: bool,
    /// `RTP/AVP` or `RTP/AVP/UDP`, unicast, with `client_port`.
    pub(crate) udp: bool,
}

/// Picks the first choice of a `Transport` header (a comma-separated list)
/// that `offer` serves: `RTP/AVP/TCP` (channels from `interleaved=`, default
/// 0-1), or unicast `RTP/AVP[/UDP]` with `client_port=a[-b]` (`b` default
/// `a + 1`). Multicast is never served.
pub(crate) fn parse_transport(header: &str, offer: Offer) -> TransportRequest {
    for choice in header.split(',') {
        let mut params = choice.split(';').map(str::trim);
        let spec = params.next().unwrap_or("");
        let params: Vec<&str> = params.collect();
        if spec.eq_ignore_ascii_case("RTP/AVP/TCP") {
            if !offer.tcp {
                continue;
            }
            let mut channels = (0, 1);
            for value in params.iter().filter_map(|p| p.strip_prefix("interleaved=")) {
                let mut ends = value.split('-').map(|n| n.trim().parse::<u8>());
                match (ends.next(), ends.next()) {
                    (Some(Ok(rtp)), Some(Ok(rtcp))) => channels = (rtp, rtcp),
                    (Some(Ok(rtp)), None) => channels = (rtp, rtp.saturating_add(1)),
                    _ => {}
                }
            }
            return TransportRequest::Interleaved(channels.0, channels.1);
        }
        let udp = spec.eq_ignore_ascii_case("RTP/AVP") || spec.eq_ignore_ascii_case("RTP/AVP/UDP");
        if !udp || !offer.udp || params.iter().any(|p| p.eq_ignore_ascii_case("multicast")) {
            continue;
        }
        let ports = params
            .iter()
            .filter_map(|p| p.strip_prefix("client_port="))
            .find_map(|value| {
                let mut ends = value.split('-').map(|n| n.trim().parse::<u16>());
                match (ends.next(), ends.next()) {
                    (Some(Ok(rtp)), Some(Ok(rtcp))) if rtp > 0 && rtcp > 0 => Some((rtp, rtcp)),
                    (Some(Ok(rtp)), None) if rtp > 0 => Some((rtp, rtp.checked_add(1)?)),
                    _ => None,
                }
            });
        if let Some((rtp, rtcp)) = ports {
            return TransportRequest::Udp(rtp, rtcp);
        }
    }
    TransportRequest::Unsupported
}

/// Whether an `Authorization` header carries Basic credentials equal to
/// `user:password`.
pub(crate) fn basic_auth_matches(header: Option<&str>, user: &str, password: &str) -> bool {
    let Some(header) = header else {
        return false;
    };
    let mut parts = header.trim().splitn(2, ' ');
    let (Some(scheme), Some(encoded)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("Basic") {
        return false;
    }
    let Some(decoded) = base64_decode(encoded.trim()) else {
        return false;
    };
    let expected = format!("{user}:{password}");
    // Length first, then every byte: no early exit on the first difference.
    decoded.len() == expected.len()
        && decoded
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Standard base64 with padding (RFC 4648 §4), as Basic credentials use;
/// `None` for anything else or anything over 4 KiB.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    if text.len() > 4096 {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_request(text: &str) -> (Request, usize) {
        match parse(text.as_bytes()).unwrap() {
            Parsed::Request(request, len) => (request, len),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_request_with_headers_and_body() {
        let text = "SET_PARAMETER rtsp://127.0.0.1:8554/cam0 RTSP/1.0\r\nCSeq: 7\r\n\
                    Session: ab12;timeout=60\r\ncontent-length: 5\r\n\r\nhelloOPTIONS";
        let (request, len) = parse_request(text);
        assert_eq!(len, text.len() - "OPTIONS".len());
        assert_eq!(request.method, "SET_PARAMETER");
        assert_eq!(request.uri, "rtsp://127.0.0.1:8554/cam0");
        assert_eq!(request.cseq(), Some(7));
        assert_eq!(request.session(), Some("ab12"));
        assert_eq!(request.header("CONTENT-LENGTH"), Some("5"));
        assert_eq!(request.body, b"hello");
    }

    #[test]
    fn partial_input_waits_for_more() {
        let text = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n";
        for cut in 0..text.len() {
            assert_eq!(
                parse(&text.as_bytes()[..cut]),
                Ok(Parsed::Incomplete),
                "{cut}"
            );
        }
        let (request, len) = parse_request(text);
        assert_eq!(
            (request.method.as_str(), request.uri.as_str(), len),
            ("OPTIONS", "*", text.len())
        );
        // A body still on its way.
        let text = "ANNOUNCE rtsp://h/cam0 RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 10\r\n\r\n12345";
        assert_eq!(parse(text.as_bytes()), Ok(Parsed::Incomplete));
        // Bare LF line endings and leading CRLFs are accepted.
        let text = "\r\n\r\nOPTIONS * RTSP/1.0\nCSeq: 3\n\n";
        let (request, len) = parse_request(text);
        assert_eq!((request.cseq(), len), (Some(3), text.len()));
    }

    #[test]
    fn interleaved_frames_are_recognised() {
        assert_eq!(parse(b"$\x01\x00"), Ok(Parsed::Incomplete));
        assert_eq!(
            parse(b"$\x01\x00\x20rest"),
            Ok(Parsed::Interleaved {
                channel: 1,
                len: 36
            })
        );
    }

    #[test]
    fn garbage_is_refused_early_and_bounded() {
        for garbage in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"hello\r\n",
            b"OPTIONS *\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00",
            b"OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n",
            b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: x\r\n\r\n",
            b"OPT(ONS * RTSP/1.0\r\n",
        ] {
            let err = parse(garbage).unwrap_err();
            assert_eq!(err.status(), Status::BAD_REQUEST, "{garbage:?}: {err:?}");
        }
        assert_eq!(
            parse(b"OPTIONS * RTSP/2.0\r\n\r\n").unwrap_err().status(),
            Status::VERSION_NOT_SUPPORTED
        );
        let long = format!("OPTIONS * RTSP/1.0\r\nX: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(parse(long.as_bytes()), Err(ParseError::TooLarge));
        let body = format!(
            "OPTIONS * RTSP/1.0\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert_eq!(parse(body.as_bytes()), Err(ParseError::TooLarge));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X{i}: y\r\n")).collect();
        let many = format!("OPTIONS * RTSP/1.0\r\n{many}\r\n");
        assert_eq!(parse(many.as_bytes()), Err(ParseError::TooLarge));
    }

    #[test]
    fn responses_echo_cseq_and_count_the_body() {
        let bytes = Response::new(Status::OK)
            .header("Session", "x")
            .body("application/sdp", "v=0\r\n")
            .to_bytes(Some(4));
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("RTSP/1.0 200 OK\r\nCSeq: 4\r\n"), "{text}");
        assert!(text.contains("Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n"));
        let text = String::from_utf8(Response::new(Status::NOT_FOUND).to_bytes(None)).unwrap();
        assert!(text.starts_with("RTSP/1.0 404 Not Found\r\n") && !text.contains("CSeq"));
    }

    #[test]
    fn paths_name_cameras() {
        let t = |uri| target(uri, 3);
        assert_eq!(
            t("rtsp://127.0.0.1:8554/cam0"),
            Some(Target {
                camera: 0,
                rest: ""
            })
        );
        assert_eq!(
            t("rtsp://h/cam2/"),
            Some(Target {
                camera: 2,
                rest: ""
            })
        );
        assert_eq!(
            t("rtsp://u:p@h:1/cam1/streamid=0?x=1"),
            Some(Target {
                camera: 1,
                rest: "streamid=0"
            })
        );
        assert_eq!(
            t("/cam1"),
            Some(Target {
                camera: 1,
                rest: ""
            })
        );
        for bad in [
            "rtsp://h/cam3",
            "rtsp://h/camx",
            "rtsp://h/",
            "rtsp://h",
            "*",
            "rtsp://h/cam",
            "rtsp://h/cam+1",
            "rtsp://h/other/cam0",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
        assert_eq!(uri_path("rtsp://h:1"), "/");
    }

    #[test]
    fn transports() {
        let both = Offer {
            tcp: true,
            udp: true,
        };
        let tcp_only = Offer {
            tcp: true,
            udp: false,
        };
        let udp_only = Offer {
            tcp: false,
            udp: true,
        };
        assert_eq!(
            parse_transport("RTP/AVP/TCP;unicast;interleaved=2-3", both),
            TransportRequest::Interleaved(2, 3)
        );
        let udp_first = "RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;unicast";
        assert_eq!(
            parse_transport(udp_first, tcp_only),
            TransportRequest::Interleaved(0, 1)
        );
        assert_eq!(
            parse_transport(udp_first, both),
            TransportRequest::Udp(5000, 5001)
        );
        // FFmpeg's spelling, and a lone port.
        assert_eq!(
            parse_transport("RTP/AVP/UDP;unicast;client_port=6000", udp_only),
            TransportRequest::Udp(6000, 6001)
        );
        for refused in [
            ("RTP/AVP;unicast;client_port=5000-5001", tcp_only),
            ("RTP/AVP/TCP;unicast;interleaved=0-1", udp_only),
            ("RTP/AVP/UDP;multicast;client_port=5000-5001", both),
            ("RTP/AVP/UDP;unicast", both),
            ("RTP/AVP;unicast;client_port=0-1", both),
            ("RTP/AVP;unicast;client_port=x", both),
        ] {
            assert_eq!(
                parse_transport(refused.0, refused.1),
                TransportRequest::Unsupported,
                "{refused:?}"
            );
        }
    }

    #[test]
    fn basic_credentials() {
        // "user:pa:ss" in base64.
        assert!(basic_auth_matches(
            Some("Basic dXNlcjpwYTpzcw=="),
            "user",
            "pa:ss"
        ));
        assert!(basic_auth_matches(
            Some("basic  dXNlcjpwYTpzcw=="),
            "user",
            "pa:ss"
        ));
        assert!(!basic_auth_matches(
            Some("Basic dXNlcjpwYTpzcw=="),
            "user",
            "pa:sx"
        ));
        assert!(!basic_auth_matches(
            Some("Digest username=\"user\""),
            "user",
            "pa:ss"
        ));
        assert!(!basic_auth_matches(Some("Basic !!!!"), "user", "pa:ss"));
        assert!(!basic_auth_matches(None, "user", "pa:ss"));
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("YQ=").is_none());
        assert!(base64_decode("Y===").is_none());
        assert!(base64_decode("YQ==YWJj").is_none());
    }
}
