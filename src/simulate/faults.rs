//! What a simulated camera does wrong, on purpose: [`Faults`], built from
//! `key=value` [`Fault`]s (`cut-every=10s`, `stall-after=5s`, `corrupt=0.001`,
//! `auth=user:pass`, `resize-after=3s:1280x720`, and for sessions over UDP
//! `udp-loss=0.01`, `udp-reorder=0.05`, `udp-reorder-depth=3`,
//! `udp-duplicate=0.01`, `udp-jitter=20ms`; `video-stops-after=2s`,
//! `keyframe-pause=500ms`; clocks, sessions and logins: `rtp-ts-jump=5s:10s`,
//! `sr-clock-step=5s:-30s`, `sdp-framerate=30`, `session-timeout=5s`,
//! `digest-auth=user:pass`, `digest-nonce-every=3`), optionally aimed at one
//! camera ([`FaultSpec`], `cam1:stall-after=5s`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// The faults of one camera; `Default` is a perfect camera.
///
/// Every timer counts from the `PLAY` that started the session, so a client
/// that reconnects sees the same behaviour again.
#[derive(Clone, Default, PartialEq)]
pub struct Faults {
    /// Close the connection this long after `PLAY` (a camera that reboots or a
    /// flaky link). The client must reconnect.
    pub cut_every: Option<Duration>,
    /// Stop sending media this long after `PLAY`, keeping the connection open
    /// and answering requests (a camera whose encoder hung).
    pub stall_after: Option<Duration>,
    /// The probability, per RTP payload byte, that the byte is damaged (XORed
    /// with a random non-zero value). RTP headers and RTCP are left intact, so
    /// the client still depacketizes; its decoder sees the damage. `0.001`
    /// damages about one byte per kilobyte.
    pub corrupt: Option<f64>,
    /// Require this login (RTSP Basic authentication): requests other than
    /// `OPTIONS` without it get `401 Unauthorized` with `WWW-Authenticate`.
    pub auth: Option<(String, String)>,
    /// Change the picture size this long after `PLAY` (someone reconfigured
    /// the camera): from the next frame on, the session sends the test
    /// pattern encoded at the new size, starting with a keyframe whose new
    /// SPS/PPS travel in band; the SDP and the RTP session stay the same.
    pub resize_after: Option<ResizeAfter>,
    /// RTP over UDP: the probability that an RTP packet is not sent (lost).
    pub udp_loss: Option<f64>,
    /// RTP over TCP: the probability that an RTP packet is not sent (a
    /// camera whose send buffer overflowed drops whole packets).
    pub tcp_loss: Option<f64>,
    /// RTP over UDP: the probability that an RTP packet is held back and sent
    /// after the next [`udp_reorder_depth`](Self::udp_reorder_depth) packets.
    pub udp_reorder: Option<f64>,
    /// How many packets a reordered packet is sent after. Default 3.
    pub udp_reorder_depth: Option<u32>,
    /// RTP over UDP: the probability that an RTP packet is sent twice.
    pub udp_duplicate: Option<f64>,
    /// RTP over UDP: every packet (RTP and RTCP) is delayed by a uniformly
    /// random time up to this, keeping their order (delay jitter).
    pub udp_jitter: Option<Duration>,
    /// Stop sending video this long after `PLAY` while the audio and
    /// metadata tracks go on (an encoder that hung while the rest of the
    /// camera did not). Only a client that set up other tracks gets anything
    /// after it.
    pub video_stops_after: Option<Duration>,
    /// Send nothing for this long before every keyframe (the session's first
    /// included); the video's timestamps jump by it, as when an encoder
    /// stops capturing while it makes a keyframe.
    pub keyframe_pause: Option<Duration>,
    /// From this long after `PLAY` on, the video's RTP timestamps (and the
    /// RTP side of its RTCP sender reports) are moved by an amount: an
    /// encoder whose clock jumped.
    pub rtp_ts_jump: Option<ClockStep>,
    /// From this long after `PLAY` on, the wall clock (NTP time) of the
    /// video's RTCP sender reports is moved by an amount: a camera whose
    /// clock was stepped by an NTP resync.
    pub sr_clock_step: Option<ClockStep>,
    /// The frame rate the SDP declares (`a=framerate`), whatever the
    /// pattern's real rate: a camera configured for one rate that delivers
    /// another.
    pub sdp_framerate: Option<u32>,
    /// Drop a session (close its connection) that sends no RTSP request and
    /// no RTCP for this long, and announce it in the `Session` header's
    /// `timeout=` (whole seconds, at least 1).
    pub session_timeout: Option<Duration>,
    /// Require this login with RTSP Digest authentication (RFC 2617, MD5):
    /// requests other than `OPTIONS` without a valid response to the current
    /// nonce get `401 Unauthorized` with a `Digest` challenge.
    pub digest_auth: Option<(String, String)>,
    /// With `digest_auth`: a fresh nonce after this many authorized
    /// requests; a request with the old one gets `401` with `stale=true`.
    pub digest_nonce_every: Option<u32>,
}

/// A clock that moves by `amount` (forward, or `backward`) `after` this long
/// after `PLAY` ([`Faults::rtp_ts_jump`], [`Faults::sr_clock_step`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockStep {
    /// Time after `PLAY`.
    pub after: Duration,
    /// How far the clock moves.
    pub amount: Duration,
    /// Whether it moves back.
    pub backward: bool,
}

/// When and to what size a camera changes its picture ([`Faults::resize_after`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResizeAfter {
    /// Time after `PLAY`.
    pub after: Duration,
    /// The new width (even, at least 16).
    pub width: u32,
    /// The new height (even, at least 16).
    pub height: u32,
}

/// The reorder depth when `udp-reorder-depth` is not given.
pub(crate) const DEFAULT_REORDER_DEPTH: u32 = 3;

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults")
            .field("cut_every", &self.cut_every)
            .field("stall_after", &self.stall_after)
            .field("corrupt", &self.corrupt)
            .field("auth", &self.auth.as_ref().map(|(user, _)| (user, "***")))
            .field("resize_after", &self.resize_after)
            .field("udp_loss", &self.udp_loss)
            .field("tcp_loss", &self.tcp_loss)
            .field("udp_reorder", &self.udp_reorder)
            .field("udp_reorder_depth", &self.udp_reorder_depth)
            .field("udp_duplicate", &self.udp_duplicate)
            .field("udp_jitter", &self.udp_jitter)
            .field("video_stops_after", &self.video_stops_after)
            .field("keyframe_pause", &self.keyframe_pause)
            .field("rtp_ts_jump", &self.rtp_ts_jump)
            .field("sr_clock_step", &self.sr_clock_step)
            .field("sdp_framerate", &self.sdp_framerate)
            .field("session_timeout", &self.session_timeout)
            .field(
                "digest_auth",
                &self.digest_auth.as_ref().map(|(user, _)| (user, "***")),
            )
            .field("digest_nonce_every", &self.digest_nonce_every)
            .finish()
    }
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds (or replaces) one fault.
    pub fn with(mut self, fault: Fault) -> Self {
        match fault {
            Fault::CutEvery(every) => self.cut_every = Some(every),
            Fault::StallAfter(after) => self.stall_after = Some(after),
            Fault::Corrupt(probability) => self.corrupt = Some(probability),
            Fault::Auth { user, password } => self.auth = Some((user, password)),
            Fault::ResizeAfter(resize) => self.resize_after = Some(resize),
            Fault::UdpLoss(p) => self.udp_loss = Some(p),
            Fault::TcpLoss(p) => self.tcp_loss = Some(p),
            Fault::UdpReorder(p) => self.udp_reorder = Some(p),
            Fault::UdpReorderDepth(depth) => self.udp_reorder_depth = Some(depth),
            Fault::UdpDuplicate(p) => self.udp_duplicate = Some(p),
            Fault::UdpJitter(jitter) => self.udp_jitter = Some(jitter),
            Fault::VideoStopsAfter(after) => self.video_stops_after = Some(after),
            Fault::KeyframePause(pause) => self.keyframe_pause = Some(pause),
            Fault::RtpTsJump(step) => self.rtp_ts_jump = Some(step),
            Fault::SrClockStep(step) => self.sr_clock_step = Some(step),
            Fault::SdpFramerate(fps) => self.sdp_framerate = Some(fps),
            Fault::SessionTimeout(timeout) => self.session_timeout = Some(timeout),
            Fault::DigestAuth { user, password } => self.digest_auth = Some((user, password)),
            Fault::DigestNonceEvery(n) => self.digest_nonce_every = Some(n),
        }
        self
    }

    /// `self` with every fault `other` sets replacing this one's.
    pub fn merged(&self, other: &Faults) -> Faults {
        Faults {
            cut_every: other.cut_every.or(self.cut_every),
            stall_after: other.stall_after.or(self.stall_after),
            corrupt: other.corrupt.or(self.corrupt),
            auth: other.auth.clone().or_else(|| self.auth.clone()),
            resize_after: other.resize_after.or(self.resize_after),
            udp_loss: other.udp_loss.or(self.udp_loss),
            tcp_loss: other.tcp_loss.or(self.tcp_loss),
            udp_reorder: other.udp_reorder.or(self.udp_reorder),
            udp_reorder_depth: other.udp_reorder_depth.or(self.udp_reorder_depth),
            udp_duplicate: other.udp_duplicate.or(self.udp_duplicate),
            udp_jitter: other.udp_jitter.or(self.udp_jitter),
            video_stops_after: other.video_stops_after.or(self.video_stops_after),
            keyframe_pause: other.keyframe_pause.or(self.keyframe_pause),
            rtp_ts_jump: other.rtp_ts_jump.or(self.rtp_ts_jump),
            sr_clock_step: other.sr_clock_step.or(self.sr_clock_step),
            sdp_framerate: other.sdp_framerate.or(self.sdp_framerate),
            session_timeout: other.session_timeout.or(self.session_timeout),
            digest_auth: other
                .digest_auth
                .clone()
                .or_else(|| self.digest_auth.clone()),
            digest_nonce_every: other.digest_nonce_every.or(self.digest_nonce_every),
        }
    }

    /// Whether no fault is set.
    pub fn is_none(&self) -> bool {
        *self == Faults::default()
    }

    /// Checks the values: non-zero durations, a probability in `0 ..= 1`, a
    /// non-empty user without `:`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] naming the bad value.
    pub fn validate(&self) -> Result<()> {
        for (name, duration) in [
            ("cut-every", self.cut_every),
            ("stall-after", self.stall_after),
            ("video-stops-after", self.video_stops_after),
            ("keyframe-pause", self.keyframe_pause),
            ("rtp-ts-jump", self.rtp_ts_jump.map(|step| step.amount)),
            ("sr-clock-step", self.sr_clock_step.map(|step| step.amount)),
        ] {
            if duration.is_some_and(|d| d.is_zero()) {
                return Err(invalid(format!("fault {name} must be longer than zero")));
            }
        }
        for p in [
            self.corrupt,
            self.udp_loss,
            self.tcp_loss,
            self.udp_reorder,
            self.udp_duplicate,
        ]
        .into_iter()
        .flatten()
        {
            check_probability(p)?;
        }
        if self.udp_reorder_depth == Some(0) {
            return Err(invalid(
                "fault udp-reorder-depth must be at least 1".to_owned(),
            ));
        }
        if let Some((user, _)) = &self.auth {
            check_user(user)?;
        }
        if let Some((user, _)) = &self.digest_auth {
            check_user(user)?;
        }
        if self
            .session_timeout
            .is_some_and(|t| t < Duration::from_secs(1))
        {
            return Err(invalid(
                "fault session-timeout must be at least 1s".to_owned(),
            ));
        }
        if self.sdp_framerate == Some(0) || self.digest_nonce_every == Some(0) {
            return Err(invalid(
                "faults sdp-framerate and digest-nonce-every must be at least 1".to_owned(),
            ));
        }
        if let Some(resize) = &self.resize_after {
            check_resize(resize)?;
        }
        Ok(())
    }
}

/// Several faults separated by commas: `cut-every=10s,corrupt=0.001`.
impl FromStr for Faults {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        s.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .try_fold(Faults::default(), |faults, part| {
                Ok(faults.with(part.parse()?))
            })
    }
}

impl fmt::Display for Faults {
    /// The `key=value,...` form [`FromStr`] reads, with the password as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(every) = self.cut_every {
            parts.push(format!("cut-every={}", DisplayDuration(every)));
        }
        if let Some(after) = self.stall_after {
            parts.push(format!("stall-after={}", DisplayDuration(after)));
        }
        if let Some(p) = self.corrupt {
            parts.push(format!("corrupt={p}"));
        }
        if let Some((user, _)) = &self.auth {
            parts.push(format!("auth={user}:***"));
        }
        if let Some(resize) = &self.resize_after {
            parts.push(format!(
                "resize-after={}:{}x{}",
                DisplayDuration(resize.after),
                resize.width,
                resize.height
            ));
        }
        if let Some(p) = self.udp_loss {
            parts.push(format!("udp-loss={p}"));
        }
        if let Some(p) = self.tcp_loss {
            parts.push(format!("tcp-loss={p}"));
        }
        if let Some(p) = self.udp_reorder {
            parts.push(format!("udp-reorder={p}"));
        }
        if let Some(depth) = self.udp_reorder_depth {
            parts.push(format!("udp-reorder-depth={depth}"));
        }
        if let Some(p) = self.udp_duplicate {
            parts.push(format!("udp-duplicate={p}"));
        }
        if let Some(jitter) = self.udp_jitter {
            parts.push(format!("udp-jitter={}", DisplayDuration(jitter)));
        }
        if let Some(after) = self.video_stops_after {
            parts.push(format!("video-stops-after={}", DisplayDuration(after)));
        }
        if let Some(pause) = self.keyframe_pause {
            parts.push(format!("keyframe-pause={}", DisplayDuration(pause)));
        }
        if let Some(step) = &self.rtp_ts_jump {
            parts.push(format!("rtp-ts-jump={step}"));
        }
        if let Some(step) = &self.sr_clock_step {
            parts.push(format!("sr-clock-step={step}"));
        }
        if let Some(fps) = self.sdp_framerate {
            parts.push(format!("sdp-framerate={fps}"));
        }
        if let Some(timeout) = self.session_timeout {
            parts.push(format!("session-timeout={}", DisplayDuration(timeout)));
        }
        if let Some((user, _)) = &self.digest_auth {
            parts.push(format!("digest-auth={user}:***"));
        }
        if let Some(n) = self.digest_nonce_every {
            parts.push(format!("digest-nonce-every={n}"));
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

/// One fault, as written on a command line.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// `cut-every=DURATION`: see [`Faults::cut_every`].
    CutEvery(Duration),
    /// `stall-after=DURATION`: see [`Faults::stall_after`].
    StallAfter(Duration),
    /// `corrupt=PROBABILITY`: see [`Faults::corrupt`].
    Corrupt(f64),
    /// `auth=USER:PASSWORD`: see [`Faults::auth`].
    Auth {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// `resize-after=DURATION:WIDTHxHEIGHT`: see [`Faults::resize_after`].
    ResizeAfter(ResizeAfter),
    /// `udp-loss=PROBABILITY`: see [`Faults::udp_loss`].
    UdpLoss(f64),
    /// `tcp-loss=PROBABILITY`: see [`Faults::tcp_loss`].
    TcpLoss(f64),
    /// `udp-reorder=PROBABILITY`: see [`Faults::udp_reorder`].
    UdpReorder(f64),
    /// `udp-reorder-depth=PACKETS`: see [`Faults::udp_reorder_depth`].
    UdpReorderDepth(u32),
    /// `udp-duplicate=PROBABILITY`: see [`Faults::udp_duplicate`].
    UdpDuplicate(f64),
    /// `udp-jitter=DURATION`: see [`Faults::udp_jitter`].
    UdpJitter(Duration),
    /// `video-stops-after=DURATION`: see [`Faults::video_stops_after`].
    VideoStopsAfter(Duration),
    /// `keyframe-pause=DURATION`: see [`Faults::keyframe_pause`].
    KeyframePause(Duration),
    /// `rtp-ts-jump=AFTER:[+-]AMOUNT`: see [`Faults::rtp_ts_jump`].
    RtpTsJump(ClockStep),
    /// `sr-clock-step=AFTER:[+-]AMOUNT`: see [`Faults::sr_clock_step`].
    SrClockStep(ClockStep),
    /// `sdp-framerate=FPS`: see [`Faults::sdp_framerate`].
    SdpFramerate(u32),
    /// `session-timeout=DURATION`: see [`Faults::session_timeout`].
    SessionTimeout(Duration),
    /// `digest-auth=USER:PASSWORD`: see [`Faults::digest_auth`].
    DigestAuth {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// `digest-nonce-every=REQUESTS`: see [`Faults::digest_nonce_every`].
    DigestNonceEvery(u32),
}

impl fmt::Display for ClockStep {
    /// `AFTER:+AMOUNT` or `AFTER:-AMOUNT`, as [`Fault`] reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.backward { '-' } else { '+' };
        write!(
            f,
            "{}:{sign}{}",
            DisplayDuration(self.after),
            DisplayDuration(self.amount)
        )
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::CutEvery(every) => f.debug_tuple("CutEvery").field(every).finish(),
            Fault::StallAfter(after) => f.debug_tuple("StallAfter").field(after).finish(),
            Fault::Corrupt(p) => f.debug_tuple("Corrupt").field(p).finish(),
            Fault::Auth { user, .. } => f
                .debug_struct("Auth")
                .field("user", user)
                .field("password", &"***")
                .finish(),
            Fault::ResizeAfter(resize) => f.debug_tuple("ResizeAfter").field(resize).finish(),
            Fault::UdpLoss(p) => f.debug_tuple("UdpLoss").field(p).finish(),
            Fault::TcpLoss(p) => f.debug_tuple("TcpLoss").field(p).finish(),
            Fault::UdpReorder(p) => f.debug_tuple("UdpReorder").field(p).finish(),
            Fault::UdpReorderDepth(depth) => f.debug_tuple("UdpReorderDepth").field(depth).finish(),
            Fault::UdpDuplicate(p) => f.debug_tuple("UdpDuplicate").field(p).finish(),
            Fault::UdpJitter(jitter) => f.debug_tuple("UdpJitter").field(jitter).finish(),
            Fault::VideoStopsAfter(after) => f.debug_tuple("VideoStopsAfter").field(after).finish(),
            Fault::KeyframePause(pause) => f.debug_tuple("KeyframePause").field(pause).finish(),
            Fault::RtpTsJump(step) => f.debug_tuple("RtpTsJump").field(step).finish(),
            Fault::SrClockStep(step) => f.debug_tuple("SrClockStep").field(step).finish(),
            Fault::SdpFramerate(fps) => f.debug_tuple("SdpFramerate").field(fps).finish(),
            Fault::SessionTimeout(t) => f.debug_tuple("SessionTimeout").field(t).finish(),
            Fault::DigestAuth { user, .. } => f
                .debug_struct("DigestAuth")
                .field("user", user)
                .field("password", &"***")
                .finish(),
            Fault::DigestNonceEvery(n) => f.debug_tuple("DigestNonceEvery").field(n).finish(),
        }
    }
}

const FAULT_KEYS: &str = "cut-every=DURATION, stall-after=DURATION, corrupt=PROBABILITY, \
                          auth=USER:PASSWORD, resize-after=DURATION:WIDTHxHEIGHT, \
                          udp-loss=PROBABILITY, tcp-loss=PROBABILITY, udp-reorder=PROBABILITY, \
                          udp-reorder-depth=PACKETS, udp-duplicate=PROBABILITY, \
                          udp-jitter=DURATION, video-stops-after=DURATION, \
                          keyframe-pause=DURATION, rtp-ts-jump=AFTER:[+-]AMOUNT, \
                          sr-clock-step=AFTER:[+-]AMOUNT, sdp-framerate=FPS, \
                          session-timeout=DURATION, digest-auth=USER:PASSWORD, \
                          digest-nonce-every=REQUESTS";

impl FromStr for Fault {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let Some((key, value)) = s.split_once('=') else {
            return Err(invalid(format!(
                "fault `{}` is not key=value; one of {FAULT_KEYS}",
                shown(s)
            )));
        };
        let (key, value) = (key.trim(), value.trim());
        let context = |error: Error| {
            invalid(format!(
                "fault `{key}={}`: {}",
                if key.eq_ignore_ascii_case("auth") || key.eq_ignore_ascii_case("digest-auth") {
                    "***"
                } else {
                    value
                },
                error.message()
            ))
        };
        match key.to_ascii_lowercase().replace('_', "-").as_str() {
            "cut-every" => parse_duration(value)
                .and_then(nonzero)
                .map(Fault::CutEvery)
                .map_err(context),
            "stall-after" => parse_duration(value)
                .and_then(nonzero)
                .map(Fault::StallAfter)
                .map_err(context),
            "corrupt" => parse_probability(value)
                .map(Fault::Corrupt)
                .map_err(context),
            "video-stops-after" => parse_duration(value)
                .and_then(nonzero)
                .map(Fault::VideoStopsAfter)
                .map_err(context),
            "keyframe-pause" => parse_duration(value)
                .and_then(nonzero)
                .map(Fault::KeyframePause)
                .map_err(context),
            "auth" => parse_credentials(value)
                .map(|(user, password)| Fault::Auth { user, password })
                .map_err(context),
            "rtp-ts-jump" => parse_clock_step(value)
                .map(Fault::RtpTsJump)
                .map_err(context),
            "sr-clock-step" => parse_clock_step(value)
                .map(Fault::SrClockStep)
                .map_err(context),
            "sdp-framerate" => match value.parse::<u32>() {
                Ok(fps) if (1..=1000).contains(&fps) => Ok(Fault::SdpFramerate(fps)),
                _ => Err(invalid(format!(
                    "fault `{key}={value}`: not a frame rate from 1 to 1000"
                ))),
            },
            "session-timeout" => parse_duration(value)
                .and_then(|timeout| {
                    if timeout < Duration::from_secs(1) {
                        Err(invalid("the timeout must be at least 1s".to_owned()))
                    } else {
                        Ok(timeout)
                    }
                })
                .map(Fault::SessionTimeout)
                .map_err(context),
            "digest-auth" => parse_credentials(value)
                .map(|(user, password)| Fault::DigestAuth { user, password })
                .map_err(context),
            "digest-nonce-every" => match value.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(Fault::DigestNonceEvery(n)),
                _ => Err(invalid(format!(
                    "fault `{key}={value}`: not a request count of at least 1"
                ))),
            },
            "resize-after" => parse_resize(value).map(Fault::ResizeAfter).map_err(context),
            "udp-loss" => parse_probability(value)
                .map(Fault::UdpLoss)
                .map_err(context),
            "tcp-loss" => parse_probability(value)
                .map(Fault::TcpLoss)
                .map_err(context),
            "udp-reorder" => parse_probability(value)
                .map(Fault::UdpReorder)
                .map_err(context),
            "udp-reorder-depth" => match value.parse::<u32>() {
                Ok(depth) if depth >= 1 => Ok(Fault::UdpReorderDepth(depth)),
                _ => Err(invalid(format!(
                    "fault `{key}={value}`: not a packet count of at least 1"
                ))),
            },
            "udp-duplicate" => parse_probability(value)
                .map(Fault::UdpDuplicate)
                .map_err(context),
            "udp-jitter" => parse_duration(value)
                .and_then(nonzero)
                .map(Fault::UdpJitter)
                .map_err(context),
            _ => Err(invalid(format!(
                "unknown fault `{key}`; one of {FAULT_KEYS}"
            ))),
        }
    }
}

/// A fault for every camera (`stall-after=5s`) or for one (`cam1:stall-after=5s`).
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpec {
    /// The camera index (`camN:` prefix), or `None` for every camera.
    pub camera: Option<usize>,
    /// The fault.
    pub fault: Fault,
}

impl FromStr for FaultSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        // A camera prefix ends at the first ':' before the '=' (a password
        // after `auth=` may itself contain ':').
        let head = s.split('=').next().unwrap_or("");
        if let Some((prefix, _)) = head.split_once(':') {
            let rest = &s[prefix.len() + 1..];
            let index = prefix
                .trim()
                .strip_prefix("cam")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "fault target `{prefix}` is not a camera like cam0, cam1, ..."
                    ))
                })?;
            return Ok(FaultSpec {
                camera: Some(index),
                fault: rest.parse()?,
            });
        }
        Ok(FaultSpec {
            camera: None,
            fault: s.parse()?,
        })
    }
}

/// Parses `USER:PASSWORD` (the password may contain `:`; the user may not).
///
/// # Errors
/// [`ErrorKind::InvalidConfig`] without a `:` or with an empty user; the
/// message never shows the password.
pub fn parse_credentials(s: &str) -> Result<(String, String)> {
    let (user, password) = s
        .split_once(':')
        .ok_or_else(|| invalid("credentials must be USER:PASSWORD".to_owned()))?;
    check_user(user)?;
    Ok((user.to_owned(), password.to_owned()))
}

/// Parses a duration: a number with a unit, `ms`, `s`, `m` or `h` (`1.5s`,
/// `250ms`, `2m`); a bare number is seconds.
///
/// # Errors
/// [`ErrorKind::InvalidConfig`] for anything else, negative or too large.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = (&s[..split], s[split..].trim());
    let bad = || invalid(format!("`{s}` is not a duration like 10s, 500ms, 1.5s, 2m"));
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.to_ascii_lowercase().as_str() {
        "ms" => value / 1000.0,
        "" | "s" | "sec" | "secs" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

fn parse_probability(s: &str) -> Result<f64> {
    let p: f64 = s
        .parse()
        .map_err(|_| invalid(format!("`{s}` is not a probability like 0.001")))?;
    check_probability(p)?;
    Ok(p)
}

fn check_probability(p: f64) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(invalid(format!("probability {p} is not between 0 and 1")))
    }
}

fn check_user(user: &str) -> Result<()> {
    if user.is_empty() {
        return Err(invalid("the user name is empty".to_owned()));
    }
    if user.chars().any(|c| c == ':' || c.is_control()) {
        return Err(invalid(
            "the user name contains ':' or a control character".to_owned(),
        ));
    }
    Ok(())
}

/// `5s:10s`, `5s:+10s`, `5s:-30s`.
fn parse_clock_step(s: &str) -> Result<ClockStep> {
    let (after, amount) = s
        .split_once(':')
        .ok_or_else(|| invalid(format!("`{s}` is not AFTER:AMOUNT, e.g. 5s:10s or 5s:-30s")))?;
    let after = parse_duration(after.trim()).and_then(nonzero)?;
    let amount = amount.trim();
    let (backward, amount) = match amount.as_bytes().first() {
        Some(b'-') => (true, &amount[1..]),
        Some(b'+') => (false, &amount[1..]),
        _ => (false, amount),
    };
    let amount = parse_duration(amount).and_then(nonzero)?;
    Ok(ClockStep {
        after,
        amount,
        backward,
    })
}

/// `3s:1280x720`.
fn parse_resize(s: &str) -> Result<ResizeAfter> {
    let (after, size) = s.split_once(':').ok_or_else(|| {
        invalid(format!(
            "`{s}` is not DURATION:WIDTHxHEIGHT, e.g. 3s:1280x720"
        ))
    })?;
    let after = parse_duration(after.trim()).and_then(nonzero)?;
    let (width, height) = size
        .trim()
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)))
        .ok_or_else(|| invalid(format!("size `{size}` is not WIDTHxHEIGHT, e.g. 1280x720")))?;
    let resize = ResizeAfter {
        after,
        width,
        height,
    };
    check_resize(&resize)?;
    Ok(resize)
}

fn check_resize(resize: &ResizeAfter) -> Result<()> {
    let (width, height) = (resize.width, resize.height);
    if width < 16 || height < 16 || width % 2 + height % 2 != 0 || width > 8192 || height > 8192 {
        return Err(invalid(format!(
            "size {width}x{height} must be even, at least 16x16 and at most 8192x8192"
        )));
    }
    if resize.after.is_zero() {
        return Err(invalid(
            "fault resize-after must be longer than zero".to_owned(),
        ));
    }
    Ok(())
}

fn nonzero(duration: Duration) -> Result<Duration> {
    if duration.is_zero() {
        Err(invalid("the duration must be longer than zero".to_owned()))
    } else {
        Ok(duration)
    }
}

/// A fault as typed, with anything after a `:` (a password) hidden.
fn shown(s: &str) -> String {
    match s.split_once(':') {
        Some((head, _)) => format!("{head}:***"),
        None => s.to_owned(),
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidConfig, message)
}

/// A duration as `10s`, `1.5s` or `250ms`.
struct DisplayDuration(Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis.is_multiple_of(1000) {
            write!(f, "{}s", millis / 1000)
        } else if self.0.subsec_micros().is_multiple_of(1000) {
            write!(f, "{millis}ms")
        } else {
            write!(f, "{}s", self.0.as_secs_f64())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_parses() {
        assert_eq!(
            "cut-every=10s".parse::<Fault>().unwrap(),
            Fault::CutEvery(Duration::from_secs(10))
        );
        assert_eq!(
            "stall-after=1.5s".parse::<Fault>().unwrap(),
            Fault::StallAfter(Duration::from_millis(1500))
        );
        assert_eq!(
            "stall_after = 250ms".parse::<Fault>().unwrap(),
            Fault::StallAfter(Duration::from_millis(250))
        );
        assert_eq!(
            "corrupt=0.001".parse::<Fault>().unwrap(),
            Fault::Corrupt(0.001)
        );
        assert_eq!(
            "video-stops-after=2s".parse::<Fault>().unwrap(),
            Fault::VideoStopsAfter(Duration::from_secs(2))
        );
        assert_eq!(
            "keyframe_pause=500ms".parse::<Fault>().unwrap(),
            Fault::KeyframePause(Duration::from_millis(500))
        );
        assert_eq!(
            "auth=admin:pa:ss".parse::<Fault>().unwrap(),
            Fault::Auth {
                user: "admin".into(),
                password: "pa:ss".into()
            }
        );
        let resize = Fault::ResizeAfter(ResizeAfter {
            after: Duration::from_secs(3),
            width: 1280,
            height: 720,
        });
        assert_eq!("resize-after=3s:1280x720".parse::<Fault>().unwrap(), resize);
        let faults = Faults::none().with(resize);
        assert_eq!(faults.to_string(), "resize-after=3s:1280x720");
        assert_eq!(faults.to_string().parse::<Faults>().unwrap(), faults);
        for bad in [
            "resize-after=3s",
            "resize-after=3s:wide",
            "resize-after=0s:64x64",
        ] {
            let error = bad.parse::<Fault>().unwrap_err();
            assert!(error.message().contains("resize-after"), "{error}");
        }
        assert!("resize-after=1s:641x360".parse::<Fault>().is_err());
    }

    #[test]
    fn clock_session_and_login_faults_parse_and_print() {
        let faults: Faults = "rtp-ts-jump=5s:10s,sr-clock-step=2s:-30s,sdp-framerate=30,\
                              session-timeout=5s,digest-auth=admin:s3cr:t,digest-nonce-every=3"
            .parse()
            .unwrap();
        assert_eq!(
            faults.rtp_ts_jump,
            Some(ClockStep {
                after: Duration::from_secs(5),
                amount: Duration::from_secs(10),
                backward: false
            })
        );
        assert_eq!(
            faults.sr_clock_step,
            Some(ClockStep {
                after: Duration::from_secs(2),
                amount: Duration::from_secs(30),
                backward: true
            })
        );
        assert_eq!(faults.sdp_framerate, Some(30));
        assert_eq!(faults.session_timeout, Some(Duration::from_secs(5)));
        assert_eq!(faults.digest_auth, Some(("admin".into(), "s3cr:t".into())));
        assert_eq!(faults.digest_nonce_every, Some(3));
        let shown = faults.to_string();
        assert_eq!(
            shown,
            "rtp-ts-jump=5s:+10s,sr-clock-step=2s:-30s,sdp-framerate=30,session-timeout=5s,\
             digest-auth=admin:***,digest-nonce-every=3"
        );
        assert!(!format!("{faults:?}").contains("s3cr"));
        let mut round: Faults = shown.replace("***", "s3cr:t").parse().unwrap();
        assert_eq!(round, faults);
        round.validate().unwrap();
        round.session_timeout = Some(Duration::from_millis(500));
        assert!(round.validate().is_err());
        for bad in [
            "rtp-ts-jump=5s",
            "rtp-ts-jump=0s:1s",
            "sr-clock-step=1s:-0s",
            "sr-clock-step=1s:soon",
            "sdp-framerate=0",
            "session-timeout=200ms",
            "digest-nonce-every=0",
            "digest-auth=nocolon",
        ] {
            let err = bad.parse::<Fault>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{bad}");
            assert!(
                err.message().contains(bad.split('=').next().unwrap()),
                "{err}"
            );
        }
        let err = "digest-auth=:hunter2".parse::<Fault>().unwrap_err();
        assert!(!err.message().contains("hunter2"), "{err}");
    }

    #[test]
    fn udp_faults_parse_and_print() {
        let faults: Faults =
            "udp-loss=0.01,udp-reorder=0.05,udp-reorder-depth=4,udp-duplicate=0.02,udp-jitter=20ms"
                .parse()
                .unwrap();
        assert_eq!(faults.udp_loss, Some(0.01));
        let tcp: Faults = "tcp-loss=0.01".parse().unwrap();
        assert_eq!(tcp.tcp_loss, Some(0.01));
        assert_eq!(tcp.to_string(), "tcp-loss=0.01");
        assert_eq!(faults.udp_reorder, Some(0.05));
        assert_eq!(faults.udp_reorder_depth, Some(4));
        assert_eq!(faults.udp_duplicate, Some(0.02));
        assert_eq!(faults.udp_jitter, Some(Duration::from_millis(20)));
        assert_eq!(
            faults.to_string(),
            "udp-loss=0.01,udp-reorder=0.05,udp-reorder-depth=4,udp-duplicate=0.02,udp-jitter=20ms"
        );
        assert_eq!(faults.to_string().parse::<Faults>().unwrap(), faults);
        let spec: FaultSpec = "cam1:udp-loss=0.5".parse().unwrap();
        assert_eq!((spec.camera, spec.fault), (Some(1), Fault::UdpLoss(0.5)));
        for bad in [
            "udp-loss=2",
            "udp-reorder-depth=0",
            "udp-reorder-depth=x",
            "udp-jitter=0s",
        ] {
            let err = bad.parse::<Fault>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{bad}");
            assert!(
                err.message().contains(bad.split('=').next().unwrap()),
                "{err}"
            );
        }
    }

    #[test]
    fn durations_take_units() {
        for (text, want) in [
            ("10s", Duration::from_secs(10)),
            ("10", Duration::from_secs(10)),
            ("500ms", Duration::from_millis(500)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("0.25s", Duration::from_millis(250)),
        ] {
            assert_eq!(parse_duration(text).unwrap(), want, "{text}");
        }
        for bad in ["", "s", "10x", "-1s", "1e999s", "ten"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let message = |s: &str| s.parse::<Fault>().unwrap_err().message().to_owned();
        assert!(message("cut-every").contains("not key=value"));
        assert!(message("explode=1s").contains("unknown fault `explode`"));
        assert!(message("explode=1s").contains("stall-after=DURATION"));
        assert!(message("cut-every=soon").contains("not a duration"));
        assert!(message("cut-every=0s").contains("longer than zero"));
        assert!(message("corrupt=2").contains("not between 0 and 1"));
        assert!(message("corrupt=lots").contains("not a probability"));
        assert!(message("auth=nocolon").contains("USER:PASSWORD"));
        assert!(message("auth=:pw").contains("user name is empty"));
        for text in ["auth=nocolon", "auth=:secret", "bogus"] {
            let err = text.parse::<Fault>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        }
        assert!(!message("auth=:secret").contains("secret"));
    }

    #[test]
    fn lists_specs_and_display_round_trip() {
        let faults: Faults =
            "cut-every=10s, corrupt=0.5,stall-after=1500ms,auth=u:p,keyframe-pause=500ms"
                .parse()
                .unwrap();
        assert_eq!(faults.cut_every, Some(Duration::from_secs(10)));
        assert_eq!(faults.stall_after, Some(Duration::from_millis(1500)));
        assert_eq!(faults.corrupt, Some(0.5));
        assert_eq!(faults.auth, Some(("u".into(), "p".into())));
        let shown = faults.to_string();
        assert_eq!(
            shown,
            "cut-every=10s,stall-after=1500ms,corrupt=0.5,auth=u:***,keyframe-pause=500ms"
        );
        assert!(!format!("{faults:?}").contains("\"p\""));
        assert_eq!(Faults::default().to_string(), "none");
        assert!("".parse::<Faults>().unwrap().is_none());

        let spec: FaultSpec = "cam3:stall-after=5s".parse().unwrap();
        assert_eq!(spec.camera, Some(3));
        assert_eq!(spec.fault, Fault::StallAfter(Duration::from_secs(5)));
        let spec: FaultSpec = "auth=u:p:q".parse().unwrap();
        assert_eq!(spec.camera, None);
        let spec: FaultSpec = "cam0:auth=u:p".parse().unwrap();
        assert_eq!(spec.camera, Some(0));
        assert!("camx:corrupt=0.1"
            .parse::<FaultSpec>()
            .unwrap_err()
            .message()
            .contains("not a camera"));
    }

    #[test]
    fn merging_and_validation() {
        let global: Faults = "corrupt=0.1,cut-every=10s".parse().unwrap();
        let camera: Faults = "cut-every=2s".parse().unwrap();
        let merged = global.merged(&camera);
        assert_eq!(merged.cut_every, Some(Duration::from_secs(2)));
        assert_eq!(merged.corrupt, Some(0.1));
        assert!(merged.validate().is_ok());
        let bad = Faults {
            corrupt: Some(1.5),
            ..Faults::default()
        };
        assert!(bad.validate().is_err());
        let bad = Faults {
            stall_after: Some(Duration::ZERO),
            ..Faults::default()
        };
        assert!(bad.validate().is_err());
    }
}
