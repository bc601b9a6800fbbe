//! Which RTP transport each connection attempt asks for, and what a refusal
//! of it means: [`Negotiation`].
//!
//! The default, [`Transport::PreferTcp`], asks for RTP over TCP until the
//! camera refuses it, then for RTP over UDP. A refusal is a `461 Unsupported
//! Transport` answer to `SETUP` (as VLC's RTSP server gives), or a session
//! that played but delivered not one byte before the stall timeout (a camera
//! that accepts the TCP `SETUP` and then sends nothing over it). After a 461
//! the stream stays on UDP; after a silent TCP session it tries UDP, and goes
//! back to TCP if UDP is silent too. An explicitly configured transport that
//! the camera refuses fails the stream for good, with an error that says
//! which transport to use instead.

use std::time::Duration;

use super::config::Transport;
use crate::error::{Error, ErrorKind};

/// What the worker does after an attempt ended.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Retry at once over the [`Negotiation::current`] transport; the error
    /// (the refusal and what comes next) goes into the status and an event.
    Switch(Error),
    /// Give up: the camera offers no transport this config allows.
    Fail(Error),
    /// Not about the transport: the usual reconnect policy applies to the
    /// error.
    Retry(Error),
}

/// The transport choice of one stream across its attempts.
#[derive(Debug)]
pub(crate) struct Negotiation {
    configured: Transport,
    current: Transport,
    /// The camera answered a TCP `SETUP` with 461: TCP is not tried again.
    tcp_refused: bool,
}

impl Negotiation {
    pub(crate) fn new(configured: Transport) -> Self {
        let current = match configured {
            Transport::PreferTcp => Transport::Tcp,
            other => other,
        };
        Self {
            configured,
            current,
            tcp_refused: false,
        }
    }

    /// The transport the next attempt asks for.
    pub(crate) fn current(&self) -> Transport {
        self.current
    }

    /// Judges how an attempt over [`current`](Self::current) ended: `error`,
    /// and whether the session played without delivering a byte (`silent`,
    /// only meaningful for a stall).
    pub(crate) fn judge(&mut self, error: Error, silent: Option<Duration>) -> Verdict {
        let refused = error.kind() == ErrorKind::TransportRefused;
        let prefer_tcp = self.configured == Transport::PreferTcp;
        match (refused, silent) {
            (true, _) if prefer_tcp && self.current == Transport::Tcp => {
                self.tcp_refused = true;
                self.current = Transport::Udp;
                Verdict::Switch(Error::new(
                    ErrorKind::TransportRefused,
                    format!("{}; the next attempt uses RTP over UDP", error.message()),
                ))
            }
            (true, _) if prefer_tcp && self.tcp_refused => Verdict::Fail(Error::new(
                ErrorKind::TransportRefused,
                format!(
                    "the camera offers neither RTP over TCP nor RTP over UDP ({})",
                    error.message()
                ),
            )),
            (true, _) => Verdict::Fail(self.refused_for_good(&error)),
            (false, Some(after)) if prefer_tcp && self.current == Transport::Tcp => {
                self.current = Transport::Udp;
                Verdict::Switch(Error::new(
                    ErrorKind::TransportRefused,
                    format!(
                        "the camera played but sent nothing over TCP for {after:?}; the next \
                         attempt uses RTP over UDP"
                    ),
                ))
            }
            (false, Some(_)) if prefer_tcp && !self.tcp_refused => {
                // Silent over UDP too: UDP may be blocked on the way; TCP again.
                self.current = Transport::Tcp;
                Verdict::Retry(error)
            }
            _ => Verdict::Retry(error),
        }
    }

    /// The permanent error for a configured transport the camera refused.
    fn refused_for_good(&self, error: &Error) -> Error {
        let advice = match self.configured {
            Transport::Tcp => "the camera does not offer RTP over TCP; use udp or auto",
            Transport::Udp => "the camera does not offer RTP over UDP; use tcp or prefer_tcp",
            Transport::UdpMulticast => {
                "the camera does not offer RTP over UDP multicast; use prefer_tcp"
            }
            Transport::Http => "the camera does not offer RTP over HTTP; use prefer_tcp",
            _ => "the camera refused every transport asked for",
        };
        Error::new(
            ErrorKind::TransportRefused,
            format!("{advice} ({})", error.message()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(asked: &str) -> Error {
        Error::new(
            ErrorKind::TransportRefused,
            format!("opening rtsp://h/x: the camera answered SETUP with 461 Unsupported Transport (asked for {asked})"),
        )
    }

    fn stall() -> Error {
        Error::new(ErrorKind::Timeout, "stalled: no frame decoded for 3s")
    }

    #[test]
    fn prefer_tcp_falls_back_to_udp_and_stays() {
        let mut negotiation = Negotiation::new(Transport::PreferTcp);
        assert_eq!(negotiation.current(), Transport::Tcp);
        let Verdict::Switch(error) = negotiation.judge(refusal("RTP over TCP"), None) else {
            panic!("no switch");
        };
        assert_eq!(error.kind(), ErrorKind::TransportRefused);
        assert!(
            error
                .message()
                .ends_with("; the next attempt uses RTP over UDP"),
            "{error}"
        );
        assert_eq!(negotiation.current(), Transport::Udp);
        // Other failures over UDP keep UDP, even a silent session.
        let timeout = stall();
        assert_eq!(
            negotiation.judge(timeout.clone(), Some(Duration::from_secs(3))),
            Verdict::Retry(timeout)
        );
        assert_eq!(negotiation.current(), Transport::Udp);
        let Verdict::Fail(error) = negotiation.judge(refusal("RTP over UDP"), None) else {
            panic!("no failure");
        };
        assert!(
            error.message().starts_with("the camera offers neither"),
            "{error}"
        );
    }

    #[test]
    fn a_silent_tcp_session_tries_udp_then_tcp_again() {
        let mut negotiation = Negotiation::new(Transport::PreferTcp);
        let silent = Some(Duration::from_secs(3));
        let Verdict::Switch(error) = negotiation.judge(stall(), silent) else {
            panic!("no switch");
        };
        assert!(error.message().contains("sent nothing over TCP"), "{error}");
        assert_eq!(negotiation.current(), Transport::Udp);
        assert!(matches!(
            negotiation.judge(stall(), silent),
            Verdict::Retry(_)
        ));
        assert_eq!(negotiation.current(), Transport::Tcp);
        // A stall with data is an ordinary stall.
        assert!(matches!(
            negotiation.judge(stall(), None),
            Verdict::Retry(_)
        ));
        assert_eq!(negotiation.current(), Transport::Tcp);
    }

    #[test]
    fn a_configured_transport_that_is_refused_fails_for_good() {
        let mut tcp = Negotiation::new(Transport::Tcp);
        let Verdict::Fail(error) = tcp.judge(refusal("RTP over TCP"), None) else {
            panic!("no failure");
        };
        assert!(
            error
                .message()
                .starts_with("the camera does not offer RTP over TCP; use udp or auto ("),
            "{error}"
        );
        // Silence over an explicit TCP is a stall, not a refusal.
        assert!(matches!(
            tcp.judge(stall(), Some(Duration::from_secs(3))),
            Verdict::Retry(_)
        ));
        assert_eq!(tcp.current(), Transport::Tcp);
        let mut udp = Negotiation::new(Transport::Udp);
        let Verdict::Fail(error) = udp.judge(refusal("RTP over UDP"), None) else {
            panic!("no failure");
        };
        assert!(
            error.message().contains("does not offer RTP over UDP"),
            "{error}"
        );
        let other = Error::new(ErrorKind::Connect, "refused");
        assert_eq!(udp.judge(other.clone(), None), Verdict::Retry(other));
    }
}
