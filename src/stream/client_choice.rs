//! Which RTSP client each connection attempt uses: [`ClientChoice`]. With the
//! default [`RtspClient::Auto`] a stream starts on FFmpeg's client and moves,
//! once, to the native one when FFmpeg's could not use what the camera
//! answered: the camera refused the request FFmpeg built from its answers
//! (`400 Bad Request`, e.g. a `SETUP` URL made from a `Content-Base` with
//! trailing spaces), or FFmpeg could not parse an answer (invalid data before
//! the first frame). The native client reads such answers leniently (retina
//! trims header values and resolves relative control URLs).

use super::config::Transport;
use super::rtsp_client::RtspClient;
use crate::error::{Error, ErrorKind};

/// The RTSP client choice of one stream across its attempts.
#[derive(Debug)]
pub(crate) struct ClientChoice {
    configured: RtspClient,
    current: RtspClient,
    /// Whether the configured transport is one the native client offers.
    native_possible: bool,
}

impl ClientChoice {
    pub(crate) fn new(configured: RtspClient, transport: Transport) -> Self {
        let current = match configured {
            RtspClient::Auto => RtspClient::Ffmpeg,
            other => other,
        };
        Self {
            configured,
            current,
            native_possible: matches!(
                transport,
                Transport::PreferTcp | Transport::Tcp | Transport::Udp
            ),
        }
    }

    /// The client the next attempt uses.
    pub(crate) fn current(&self) -> RtspClient {
        self.current
    }

    /// Judges how an attempt ended that published nothing (`published` says
    /// whether it did): `Some` (the event's error) when the next attempt
    /// switches to the native client at once.
    pub(crate) fn judge(&mut self, error: &Error, published: bool) -> Option<Error> {
        let unusable = match error.kind() {
            // A 4xx other than 401/403/404/454/461 to a request FFmpeg built.
            ErrorKind::Refused => error.message().contains(" 400 "),
            ErrorKind::InvalidData => true,
            _ => false,
        };
        let switch = self.configured == RtspClient::Auto
            && self.current == RtspClient::Ffmpeg
            && self.native_possible
            && !published
            && unusable;
        if !switch {
            return None;
        }
        self.current = RtspClient::Native;
        Some(Error::new(
            error.kind(),
            format!(
                "{}; FFmpeg's RTSP client could not use the camera's answers, the next attempt \
                 uses the native client",
                error.message()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_request() -> Error {
        Error::new(
            ErrorKind::Refused,
            "opening: the camera answered SETUP with 400 Bad Request",
        )
    }

    #[test]
    fn auto_moves_to_the_native_client_once_on_a_bad_request() {
        let mut choice = ClientChoice::new(RtspClient::Auto, Transport::PreferTcp);
        assert_eq!(choice.current(), RtspClient::Ffmpeg);
        let switched = choice.judge(&bad_request(), false).expect("a switch");
        assert!(switched
            .message()
            .contains("the next attempt uses the native client"));
        assert_eq!(choice.current(), RtspClient::Native);
        assert!(choice.judge(&bad_request(), false).is_none(), "only once");
        assert_eq!(choice.current(), RtspClient::Native);
    }

    #[test]
    fn other_errors_explicit_clients_and_ffmpeg_only_transports_stay() {
        let timeout = Error::new(ErrorKind::Timeout, "stalled");
        let not_found = Error::new(
            ErrorKind::Refused,
            "answered DESCRIBE with 405 Method Not Allowed",
        );
        let mut auto = ClientChoice::new(RtspClient::Auto, Transport::Tcp);
        assert!(auto.judge(&timeout, false).is_none());
        assert!(auto.judge(&not_found, false).is_none());
        assert!(auto.judge(&bad_request(), true).is_none(), "it streamed");
        for (client, transport) in [
            (RtspClient::Ffmpeg, Transport::Tcp),
            (RtspClient::Auto, Transport::Auto),
            (RtspClient::Auto, Transport::Http),
        ] {
            let mut choice = ClientChoice::new(client, transport);
            assert!(
                choice.judge(&bad_request(), false).is_none(),
                "{client} {transport}"
            );
            assert_eq!(choice.current(), RtspClient::Ffmpeg);
        }
        let invalid = Error::new(ErrorKind::InvalidData, "Invalid data found");
        let mut auto = ClientChoice::new(RtspClient::Auto, Transport::Udp);
        assert!(auto.judge(&invalid, false).is_some());
    }
}
