//! What one stream is asked to do: [`StreamConfig`] and its option types.
//!
//! Credentials live in [`Credentials`], never in the URL kept here: a URL given
//! with `user:password@` is split on the way in. A secret the URL must keep
//! (a `?password=` or XMEye's `&password=` in the path) is held as a
//! [`Secret`] too, and the URL prints with it masked. So nothing that prints
//! the config, its URL or its errors can print a password.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use url::{Host, Url};

use super::rtsp_client::RtspClient;
pub use crate::convert::ResizeMode;
use crate::convert::{Fit, DEFAULT_PAD_VALUE};
use crate::error::{Error, ErrorKind, Result};
pub use crate::ffmpeg::RtspTransport as Transport;
pub use crate::ffmpeg::ScaleAlgorithm;
use crate::names::named_enum;
use crate::redact::redact;
pub use crate::redact::Secret;
use crate::resolve::DnsConfig;
use crate::slab::{DropPolicy, PixelFormat};

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidConfig, message)
}

/// A camera login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (not secret).
    pub username: String,
    /// The password.
    pub password: Secret,
}

named_enum! {
    /// What a stream publishes after damage (packet loss, decode errors): see
    /// [`Damage`](crate::slab::Damage). Frames decoded before a session's first
    /// keyframe have no reference at all and are never published.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub enum OnDamage {
        /// Publish only clean frames: after damage, nothing until the next clean
        /// keyframe. Dropped frames count as `corrupt`.
        #[default]
        Hold = "hold",
        /// Publish damaged frames too, each flagged with its
        /// [`Frame::damage`](crate::slab::Frame::damage) and counted in
        /// [`StreamStatus::damaged`](super::StreamStatus::damaged).
        Flag = "flag",
    }
    display;
    parse "on_damage";
}

/// Which frames to decode and publish.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SkipPolicy {
    /// Every frame.
    #[default]
    All,
    /// Keyframes only; the decoder skips the others (`skip_frame = nokey`), so
    /// they cost almost nothing.
    Keyframes,
    /// One frame in every `n` is published (all must still be decoded, as
    /// inter frames depend on each other; only conversion is skipped).
    EveryNth(NonZeroU32),
}

impl fmt::Display for SkipPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipPolicy::All => f.write_str("all"),
            SkipPolicy::Keyframes => f.write_str("keyframes"),
            SkipPolicy::EveryNth(n) => write!(f, "every_nth({n})"),
        }
    }
}

impl FromStr for SkipPolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "all" => return Ok(SkipPolicy::All),
            "keyframes" => return Ok(SkipPolicy::Keyframes),
            _ => {}
        }
        let n = lower
            .strip_prefix("every_nth(")
            .and_then(|rest| rest.strip_suffix(')'))
            .or_else(|| lower.strip_prefix("every_nth:"))
            .and_then(|n| n.trim().parse::<NonZeroU32>().ok());
        n.map(SkipPolicy::EveryNth).ok_or_else(|| {
            invalid(format!(
                "skip policy `{s}` is not one of all, keyframes, every_nth(N) with N ≥ 1"
            ))
        })
    }
}

/// Reconnect timing: exponential backoff with full jitter.
///
/// Permanent answers ([`ErrorKind::NotFound`], [`ErrorKind::Refused`]: a 404,
/// a 454 ...) wait between `max / 2` and `max` from the first one instead:
/// the camera answered, and will answer the same in a second.
///
/// Attempt `k` (from 0) waits a uniformly random time in
/// `[0, min(max, initial × 2^k)]`, so many cameras that fail together do not
/// reconnect together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first wait.
    pub initial: Duration,
    /// The largest ceiling.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The ceiling of attempt `attempt`'s wait.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// A full-jitter wait for attempt `attempt`, drawn from `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = self.ceiling(attempt);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.u64(0..=nanos))
    }
}

/// The source's URL without its userinfo. Its path or query may still carry
/// secrets, so it prints redacted.
#[derive(Clone, PartialEq)]
struct SourceUrl {
    /// What FFmpeg opens (with the credentials put back in). Never printed.
    url: Url,
    /// [`redact`]ed `url`: what [`StreamConfig::url`] shows.
    shown: String,
    /// The values of `url`'s secret parameters, as written and decoded, held
    /// so that [`redact`] hides them wherever FFmpeg echoes them.
    _secrets: Vec<Secret>,
}

impl SourceUrl {
    fn new(url: Url) -> Self {
        let mut secrets = Vec::new();
        for value in crate::redact::secret_parameters(url.as_str()) {
            let decoded = percent_decode(value);
            if decoded != value {
                secrets.push(Secret::new(value));
            }
            secrets.push(Secret::new(decoded));
        }
        // After the secrets are held, so that their other spellings go too.
        let shown = redact(url.as_str()).into_owned();
        Self {
            url,
            shown,
            _secrets: secrets,
        }
    }
}

impl fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.shown, f)
    }
}

named_enum! {
    /// How exactly to decode. `Fast` trades picture quality for CPU, for hosts
    /// that can take it: never the default, and reported apart in the status.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub enum DecodeMode {
        /// Bit-exact decoding.
        #[default]
        Full = "full",
        /// Skip the in-loop deblocking filter (`skip_loop_filter = all`) and
        /// allow the decoder's non-bit-exact speedups (`AV_CODEC_FLAG2_FAST`):
        /// H.264 / H.265 pictures get blockier (errors accumulate until the
        /// next keyframe, PSNR in BENCHMARKS.md), decoding costs less.
        Fast = "fast",
    }
    display;
    parse "decode mode";
}

/// Everything one stream needs. Build with [`StreamConfig::new`] and the owned setters.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamConfig {
    url: SourceUrl,
    credentials: Option<Credentials>,
    pub(crate) transport: Transport,
    pub(crate) rtsp_client: RtspClient,
    pub(crate) format: PixelFormat,
    pub(crate) resize: Option<(u32, u32)>,
    pub(crate) fit: Fit,
    pub(crate) scale_algorithm: ScaleAlgorithm,
    pub(crate) decode_in_place: bool,
    pub(crate) decode_threads: u32,
    pub(crate) skip: SkipPolicy,
    pub(crate) decode: DecodeMode,
    pub(crate) on_damage: OnDamage,
    pub(crate) connect_timeout: Duration,
    pub(crate) stall_timeout: Option<Duration>,
    pub(crate) backoff: Backoff,
    pub(crate) auth_retry: Duration,
    pub(crate) queue_capacity: usize,
    pub(crate) drop_policy: DropPolicy,
    pub(crate) reader_slots: usize,
    pub(crate) max_memory_mb: Option<f64>,
    pub(crate) core: Option<usize>,
    /// Test-only fault injection ([`inject_panic_after`](Self::inject_panic_after)).
    pub(crate) panic_after: Option<u64>,
    /// Test-only: set up every track ([`inject_all_tracks`](Self::inject_all_tracks)).
    pub(crate) all_tracks: bool,
    pub(crate) dns: DnsConfig,
}

impl StreamConfig {
    /// A stream from `url` (`rtsp://` or `rtsps://`). Credentials in the URL are
    /// moved into [`Credentials`]. Defaults: RTP over TCP (over UDP for a camera
    /// that refuses TCP: [`Transport::PreferTcp`]), BGR24 at the source size, one
    /// decode thread, every frame, 5 s connect timeout, stall timeout max(3 s,
    /// 2 GOPs), backoff 0.5 s → 30 s, auth retry once a minute, a 4-frame queue
    /// with the `Latest` policy.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for a URL that does not parse, has another
    /// scheme, or has no host; the message shows the URL without its secrets.
    pub fn new(url: &str) -> Result<Self> {
        let mut parsed = Url::parse(url)
            .map_err(|error| invalid(format!("url `{}` does not parse: {error}", redact(url))))?;
        if !matches!(parsed.scheme(), "rtsp" | "rtsps") {
            return Err(invalid(format!(
                "url scheme `{}` is not rtsp or rtsps",
                parsed.scheme()
            )));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid(format!("url `{}` has no host", redact(url))));
        }
        let credentials =
            (!parsed.username().is_empty() || parsed.password().is_some()).then(|| Credentials {
                username: percent_decode(parsed.username()),
                password: Secret::new(percent_decode(parsed.password().unwrap_or(""))),
            });
        // Cannot fail: the URL has a host, so it can carry (or drop) a userinfo.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        Ok(Self {
            url: SourceUrl::new(parsed),
            credentials,
            transport: Transport::default(),
            rtsp_client: RtspClient::default(),
            format: PixelFormat::default(),
            resize: None,
            fit: Fit {
                mode: ResizeMode::Stretch,
                pad: DEFAULT_PAD_VALUE,
            },
            scale_algorithm: ScaleAlgorithm::default(),
            decode_in_place: true,
            decode_threads: 1,
            skip: SkipPolicy::default(),
            decode: DecodeMode::default(),
            on_damage: OnDamage::default(),
            connect_timeout: Duration::from_secs(5),
            stall_timeout: None,
            backoff: Backoff::default(),
            auth_retry: Duration::from_secs(60),
            queue_capacity: 4,
            drop_policy: DropPolicy::default(),
            reader_slots: 2,
            max_memory_mb: None,
            core: None,
            panic_after: None,
            all_tracks: false,
            dns: DnsConfig::default(),
        })
    }

    /// The URL as it may be shown: without its userinfo, and with the value of
    /// every secret-like path or query parameter (`password=`, `pwd=`,
    /// `token=`, ..., see [`crate::redact`]) replaced by `***`.
    pub fn url(&self) -> &str {
        &self.url.shown
    }

    /// The login, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The URL FFmpeg must open, with the credentials percent-encoded back in.
    /// Never print it; [`redact`] scrubs it where FFmpeg does.
    pub(crate) fn url_with_credentials(&self) -> String {
        let Some(credentials) = &self.credentials else {
            return self.url.url.to_string();
        };
        let mut url = self.url.url.clone();
        // Cannot fail: `new` checked the URL has a host. `set_username` and
        // `set_password` percent-encode what needs it.
        let _ = url.set_username(&credentials.username);
        let _ = url.set_password(Some(credentials.password.expose()));
        url.into()
    }

    /// The URL's host when it is a name to resolve (not a literal address).
    pub(crate) fn host_name(&self) -> Option<&str> {
        match self.url.url.host()? {
            // `rtsp` is not a scheme the URL standard knows, so an IPv4 address
            // arrives as an opaque host.
            Host::Domain(name) => name.parse::<IpAddr>().is_err().then_some(name),
            Host::Ipv4(_) | Host::Ipv6(_) => None,
        }
    }

    /// [`url_with_credentials`](Self::url_with_credentials) with the host
    /// replaced by `address`, which the caller resolved it to. Never print it.
    pub(crate) fn url_with_credentials_at(&self, address: IpAddr) -> String {
        let mut url = Url::parse(&self.url_with_credentials()).expect("it parsed before");
        // Cannot fail: an rtsp URL with a host can take any address as its host.
        let _ = url.set_ip_host(address);
        url.into()
    }

    /// Sets the login (replacing any from the URL).
    pub fn credentials_from(mut self, username: impl Into<String>, password: Secret) -> Self {
        self.credentials = Some(Credentials {
            username: username.into(),
            password,
        });
        self
    }

    /// RTP transport. Default [`Transport::PreferTcp`]: TCP, and UDP from the
    /// next attempt on when the camera refuses TCP (461 to SETUP, or nothing
    /// delivered), announced by a `Reconnecting` event whose error is
    /// [`ErrorKind::TransportRefused`]. An explicit transport the camera
    /// refuses fails the stream with that kind.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Which RTSP/RTP client reads the stream (default: FFmpeg's). The native
    /// one supports [`Transport::Tcp`] and [`Transport::Udp`] only.
    pub fn rtsp_client(mut self, client: RtspClient) -> Self {
        self.rtsp_client = client;
        self
    }

    /// Output pixel format.
    pub fn format(mut self, format: PixelFormat) -> Self {
        self.format = format;
        self
    }

    /// Output size; the source size when unset.
    pub fn resize(mut self, width: u32, height: u32) -> Self {
        self.resize = Some((width, height));
        self
    }

    /// How the picture fits a [`resize`](Self::resize) of another aspect
    /// ratio (default [`ResizeMode::Stretch`]). With
    /// [`ResizeMode::Letterbox`] each frame's
    /// [`Frame::content_rect`](crate::slab::Frame::content_rect) says where
    /// the picture is.
    pub fn resize_mode(mut self, mode: ResizeMode) -> Self {
        self.fit.mode = mode;
        self
    }

    /// swscale's filter for a [`resize`](Self::resize) (default
    /// [`ScaleAlgorithm::Bilinear`]). `fast_bilinear` costs about a third of
    /// `bilinear` on a 1080p → 640x640 letterbox (BENCHMARKS.md, "What a model
    /// wants"), `area` is the best for large downscales.
    pub fn scale_algorithm(mut self, algorithm: ScaleAlgorithm) -> Self {
        self.scale_algorithm = algorithm;
        self
    }

    /// Whether a `yuv420p` stream at the camera's size (no resize) lends its
    /// slab slots to the decoder, which then decodes straight into them:
    /// frames are published with no copy (the status' `decoded_in_place`
    /// counts them). Default on. The slab keeps a few more slots for the
    /// pictures the decoder holds as references (instead of FFmpeg keeping
    /// its own), and its planes are spaced for the decoder's padded picture.
    /// Likewise a `bgr24`, `rgb24` or `gray8` H.264 stream at the camera's
    /// size converts each band of rows as the decoder finishes it, straight
    /// into the slot the frame is published in, while the rows are still in
    /// the cache (the status' `converted_in_bands` counts those frames).
    /// Off, every frame is copied from FFmpeg's buffers, as for other
    /// formats, or converted from the whole picture once decoded.
    pub fn decode_in_place(mut self, on: bool) -> Self {
        self.decode_in_place = on;
        self
    }

    /// The level letterbox padding is filled with, in every channel (default
    /// 114, the grey YOLO pads with; YUV formats get it in limited range).
    pub fn pad_value(mut self, value: u8) -> Self {
        self.fit.pad = value;
        self
    }

    /// The resize mode and pad value, as the converter takes them.
    pub(crate) fn fit(&self) -> Fit {
        self.fit
    }

    /// Decoder threads (default 1: scale by streams per core, not threads per
    /// stream; more threads add a frame of latency each).
    pub fn decode_threads(mut self, threads: u32) -> Self {
        self.decode_threads = threads;
        self
    }

    /// Which frames to decode and publish.
    pub fn skip(mut self, skip: SkipPolicy) -> Self {
        self.skip = skip;
        self
    }

    /// How exactly to decode (default [`DecodeMode::Full`]).
    pub fn decode(mut self, mode: DecodeMode) -> Self {
        self.decode = mode;
        self
    }

    /// What to publish after damage: only clean frames (`Hold`, the default)
    /// or damaged ones too, flagged (`Flag`).
    pub fn on_damage(mut self, policy: OnDamage) -> Self {
        self.on_damage = policy;
        self
    }

    /// Bound on connecting (open, describe, setup, play) and on each blocking read.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// No decoded frame for this long means a stall; default max(3 s, 2 GOPs).
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = Some(timeout);
        self
    }

    /// Reconnect timing.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// How long to wait after a 401/403 before trying the login again.
    pub fn auth_retry(mut self, wait: Duration) -> Self {
        self.auth_retry = wait;
        self
    }

    /// Frames the ordered queue holds.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// The slab's drop policy.
    pub fn drop_policy(mut self, policy: DropPolicy) -> Self {
        self.drop_policy = policy;
        self
    }

    /// Spare slots for frames readers hold.
    pub fn reader_slots(mut self, slots: usize) -> Self {
        self.reader_slots = slots;
        self
    }

    /// Caps the slab's pixel memory.
    pub fn max_memory_mb(mut self, megabytes: f64) -> Self {
        self.max_memory_mb = Some(megabytes);
        self
    }

    /// Pins the worker thread to this core (an index into
    /// `core_affinity::get_core_ids()`).
    pub fn core(mut self, core: usize) -> Self {
        self.core = Some(core);
        self
    }

    /// **Test-only fault injection, not part of the supported API**: the
    /// worker panics once it has published `frames` frames (counted from its
    /// start), as a bug in a converter or a tracing layer would. The crate's own
    /// tests use it to show that a panicking worker is contained; nothing else
    /// should call it.
    #[doc(hidden)]
    pub fn inject_panic_after(mut self, frames: u64) -> Self {
        self.panic_after = Some(frames);
        self
    }

    /// **Test-only, not part of the supported API**: set up every track the
    /// camera offers (audio and metadata too, FFmpeg's default) instead of
    /// the video only, so packets of other streams reach the worker's read
    /// loop, as they do from a camera whose one track carries several
    /// streams (MPEG-TS over RTP). The crate's own tests use it to show that
    /// only video progress keeps a stream `streaming`; nothing else should
    /// call it.
    #[doc(hidden)]
    pub fn inject_all_tracks(mut self) -> Self {
        self.all_tracks = true;
        self
    }

    /// Where the camera's host name is looked up (default: `/etc/hosts`, then
    /// the DNS servers of `/etc/resolv.conf`). The lookup runs in the stream's
    /// own code, bounded by the connect timeout and ended by a stop within
    /// 20 ms; see [`crate::resolve`].
    pub fn dns(mut self, dns: DnsConfig) -> Self {
        self.dns = dns;
        self
    }

    /// Checks every value; the error's [`Error::field`] names the setting.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`], naming the setting and its value.
    pub fn validate(&self) -> Result<()> {
        if self.rtsp_client == RtspClient::Native
            && !matches!(
                self.transport,
                Transport::PreferTcp | Transport::Tcp | Transport::Udp
            )
        {
            return Err(Error::invalid(
                "transport",
                format!(
                    "transport `{}` is not offered by the native RTSP client (prefer_tcp, tcp or udp)",
                    self.transport
                ),
            ));
        }
        if self.decode_threads == 0 || self.decode_threads > 64 {
            return Err(Error::invalid(
                "decode_threads",
                format!("decode_threads {} is outside 1 ..= 64", self.decode_threads),
            ));
        }
        if let Some((width, height)) = self.resize {
            crate::slab::FrameLayout::new(width, height, self.format).map_err(|error| {
                Error::invalid("resize", format!("resize: {}", error.message()))
            })?;
        }
        if self.connect_timeout < Duration::from_millis(10) {
            return Err(Error::invalid(
                "connect_timeout",
                format!("connect_timeout {:?} is below 10 ms", self.connect_timeout),
            ));
        }
        if let Some(stall) = self
            .stall_timeout
            .filter(|stall| *stall < Duration::from_millis(10))
        {
            return Err(Error::invalid(
                "stall_timeout",
                format!("stall_timeout {stall:?} is below 10 ms"),
            ));
        }
        if self.backoff.initial.is_zero() || self.backoff.max < self.backoff.initial {
            return Err(Error::invalid(
                "backoff",
                format!(
                    "backoff {:?} → {:?} must start above zero and not exceed its maximum",
                    self.backoff.initial, self.backoff.max
                ),
            ));
        }
        if self.auth_retry < Duration::from_millis(10) {
            return Err(Error::invalid(
                "auth_retry",
                format!("auth_retry {:?} is below 10 ms", self.auth_retry),
            ));
        }
        // The slab settings, checked as the slab will check them, in our names.
        let (width, height) = self.resize.unwrap_or((16, 16));
        let layout = crate::slab::FrameLayout::new(width, height, self.format)?;
        let mut slab = crate::slab::SlabConfig::new(layout)
            .capacity(self.queue_capacity)
            .reader_slots(self.reader_slots);
        if let Some(megabytes) = self.max_memory_mb {
            slab = slab.max_memory_mb(megabytes);
        }
        slab.resolve().map_err(|error| {
            let field = match error.field() {
                Some("capacity") => "queue_capacity",
                Some(field) => field,
                None => "max_memory_mb",
            };
            Error::invalid(
                field,
                error.message().replace("capacity ", "queue_capacity "),
            )
        })?;
        if let Some(core) = self.core {
            let cores = core_affinity::get_core_ids().map_or(0, |ids| ids.len());
            if core >= cores {
                return Err(Error::invalid(
                    "core",
                    format!("core {core} does not exist: this machine has {cores} cores"),
                ));
            }
        }
        Ok(())
    }
}

fn percent_decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url_and_come_back_encoded() {
        let config = StreamConfig::new("rtsp://admin:p%40ss:w0rd@10.0.0.5:554/live?ch=1").unwrap();
        assert_eq!(config.url(), "rtsp://10.0.0.5:554/live?ch=1");
        let credentials = config.credentials().unwrap();
        assert_eq!(credentials.username, "admin");
        assert_eq!(credentials.password.expose(), "p@ss:w0rd");
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("p@ss") && !debug.contains("w0rd"),
            "{debug}"
        );
        assert_eq!(
            config.url_with_credentials(),
            "rtsp://admin:p%40ss%3Aw0rd@10.0.0.5:554/live?ch=1"
        );
    }

    #[test]
    fn secrets_in_the_path_or_query_print_masked_and_reach_ffmpeg() {
        let xmeye = "rtsp://10.0.0.7:554/user=admin&password=Xm3y3-pw&channel=1&stream=0.sdp";
        let config = StreamConfig::new(xmeye).unwrap();
        assert_eq!(
            config.url(),
            "rtsp://10.0.0.7:554/user=admin&password=***&channel=1&stream=0.sdp"
        );
        assert_eq!(config.url_with_credentials(), xmeye);
        let config =
            StreamConfig::new("rtsp://u:pw1@cam/live?channel=1&PWD=p%40ss%2Fw0rd").unwrap();
        assert_eq!(config.url(), "rtsp://cam/live?channel=1&PWD=***");
        assert_eq!(
            config.url_with_credentials(),
            "rtsp://u:pw1@cam/live?channel=1&PWD=p%40ss%2Fw0rd"
        );
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("p%40ss") && !debug.contains("w0rd"),
            "{debug}"
        );
        // While the config lives, the decoded value is hidden wherever it shows.
        assert_eq!(
            crate::redact::redact("FFmpeg echoes p@ss/w0rd"),
            "FFmpeg echoes ***"
        );
    }

    #[test]
    fn a_resolved_address_replaces_only_the_host() {
        let config = StreamConfig::new("rtsp://admin:p%40ss@cam.lan:8554/live?ch=1").unwrap();
        assert_eq!(config.host_name(), Some("cam.lan"));
        assert_eq!(
            config.url_with_credentials_at("10.0.0.5".parse().unwrap()),
            "rtsp://admin:p%40ss@10.0.0.5:8554/live?ch=1"
        );
        assert_eq!(
            config.url_with_credentials_at("fd00::5".parse().unwrap()),
            "rtsp://admin:p%40ss@[fd00::5]:8554/live?ch=1"
        );
        for literal in ["rtsp://10.0.0.5/x", "rtsp://[fd00::5]:554/x"] {
            assert_eq!(StreamConfig::new(literal).unwrap().host_name(), None);
        }
    }

    #[test]
    fn bad_urls_are_refused_without_their_password() {
        let err = StreamConfig::new("http://u:hunter2@cam/x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("`http`"), "{err}");
        let err = StreamConfig::new("rtsp://u:hunter2@[::1/x").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = StreamConfig::new("rtsp://[::1/x?token=hunter3").unwrap_err();
        assert!(err.to_string().contains("token=***"), "{err}");
        // A raw '#' in the password: not a port, so not shown either.
        let err = StreamConfig::new("rtsp://admin:Pass#123@cam/live").unwrap_err();
        assert!(!err.to_string().contains("Pass"), "{err}");
        assert!(StreamConfig::new("not a url").is_err());
    }

    #[test]
    fn policies_parse_and_print() {
        assert_eq!("tcp".parse::<Transport>().unwrap(), Transport::Tcp);
        assert!("quic".parse::<Transport>().is_err());
        for text in ["all", "keyframes", "every_nth(3)"] {
            assert_eq!(text.parse::<SkipPolicy>().unwrap().to_string(), text);
        }
        assert!("every_nth(0)".parse::<SkipPolicy>().is_err());
    }

    #[test]
    fn backoff_grows_to_its_cap_and_jitters_below_the_ceiling() {
        let backoff = Backoff::default();
        assert_eq!(backoff.ceiling(0), Duration::from_millis(500));
        assert_eq!(backoff.ceiling(3), Duration::from_secs(4));
        assert_eq!(backoff.ceiling(40), Duration::from_secs(30));
        let mut rng = fastrand::Rng::with_seed(7);
        let delays: Vec<_> = (0..200).map(|_| backoff.delay(2, &mut rng)).collect();
        assert!(delays.iter().all(|delay| *delay <= Duration::from_secs(2)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 150, "jitter spreads the delays");
    }

    #[test]
    fn validate_names_the_field() {
        let config = StreamConfig::new("rtsp://cam/x").unwrap();
        let err = config.clone().decode_threads(0).validate().unwrap_err();
        assert!(err.to_string().contains("decode_threads"), "{err}");
        assert_eq!(err.field(), Some("decode_threads"));
        let err = config.clone().resize(0, 10).validate().unwrap_err();
        assert!(err.to_string().contains("resize"), "{err}");
        assert_eq!(err.field(), Some("resize"));
        let err = config.clone().queue_capacity(0).validate().unwrap_err();
        assert_eq!(err.field(), Some("queue_capacity"));
        assert!(err.to_string().contains("queue_capacity 0"), "{err}");
        let err = config.clone().max_memory_mb(-1.0).validate().unwrap_err();
        assert_eq!(err.field(), Some("max_memory_mb"));
        let err = config
            .clone()
            .resize(1920, 1080)
            .max_memory_mb(1.0)
            .validate()
            .unwrap_err();
        assert_eq!(
            err.field(),
            Some("max_memory_mb"),
            "one 1080p slot does not fit in 1 MiB"
        );
        let err = config.clone().core(4096).validate().unwrap_err();
        assert_eq!(err.field(), Some("core"));
        let err = config.stall_timeout(Duration::ZERO).validate().unwrap_err();
        assert_eq!(err.field(), Some("stall_timeout"));
    }
}
