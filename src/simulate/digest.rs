//! RTSP Digest authentication on the server side (RFC 2617 with MD5, the
//! `qop=auth` form and RFC 2069's plain one), for the `digest-auth` fault:
//! one [`DigestGuard`] per connection hands out nonces, checks each
//! request's `Authorization` header, and with `digest-nonce-every` retires
//! its nonce after so many authorized requests, answering the old one as
//! stale (`stale=true`) so a client re-authenticates without a new login.

use md5::{Digest, Md5};

/// What a request's `Authorization` header is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The right login for the current nonce.
    Authorized,
    /// The right login for the retired nonce: challenge again, `stale=true`.
    Stale,
    /// No Digest header, another user, or a wrong response.
    Refused,
}

/// The nonces of one connection.
#[derive(Debug)]
pub(crate) struct DigestGuard {
    realm: &'static str,
    nonce: String,
    retired: Option<String>,
    /// Authorized requests with the current nonce.
    uses: u32,
}

impl DigestGuard {
    pub(crate) fn new(realm: &'static str) -> Self {
        Self {
            realm,
            nonce: fresh_nonce(),
            retired: None,
            uses: 0,
        }
    }

    /// The `WWW-Authenticate` value: a challenge with the current nonce.
    pub(crate) fn challenge(&self, stale: bool) -> String {
        let mut challenge = format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"",
            self.realm, self.nonce
        );
        if stale {
            challenge.push_str(", stale=true");
        }
        challenge
    }

    /// Checks `header` for a request of `method`; on success counts the use,
    /// retiring the nonce after `nonce_every` of them.
    pub(crate) fn check(
        &mut self,
        header: Option<&str>,
        method: &str,
        (user, password): (&str, &str),
        nonce_every: Option<u32>,
    ) -> Verdict {
        let Some(fields) = header.and_then(parse_authorization) else {
            return Verdict::Refused;
        };
        let field = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        let (Some(name), Some(nonce), Some(uri), Some(response)) = (
            field("username"),
            field("nonce"),
            field("uri"),
            field("response"),
        ) else {
            return Verdict::Refused;
        };
        if name != user || field("realm").is_some_and(|realm| realm != self.realm) {
            return Verdict::Refused;
        }
        let ha1 = hex_md5(&format!("{user}:{}:{password}", self.realm));
        let ha2 = hex_md5(&format!("{method}:{uri}"));
        let expected = match (field("qop"), field("nc"), field("cnonce")) {
            (Some(qop), Some(nc), Some(cnonce)) if qop.eq_ignore_ascii_case("auth") => {
                hex_md5(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"))
            }
            (None, _, _) => hex_md5(&format!("{ha1}:{nonce}:{ha2}")),
            _ => return Verdict::Refused,
        };
        if !same(&expected, &response.to_ascii_lowercase()) {
            return Verdict::Refused;
        }
        if nonce == self.nonce {
            self.uses += 1;
            if nonce_every.is_some_and(|every| self.uses >= every) {
                self.retired = Some(std::mem::replace(&mut self.nonce, fresh_nonce()));
                self.uses = 0;
            }
            Verdict::Authorized
        } else if self.retired.as_deref() == Some(nonce) {
            Verdict::Stale
        } else {
            Verdict::Refused
        }
    }
}

/// `Digest k=v, k="v", ...` as pairs; `None` for another scheme.
fn parse_authorization(header: &str) -> Option<Vec<(String, String)>> {
    let header = header.trim();
    let (scheme, mut rest) = header.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    let mut fields = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Some(fields);
        }
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        fields.push((key.trim().to_owned(), value.to_owned()));
        rest = next;
    }
}

fn hex_md5(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Equal, without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

fn fresh_nonce() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: (&str, &str) = ("admin", "pw");

    /// A client's header, computed the RFC 2617 way.
    fn authorization(guard: &DigestGuard, nonce: &str, method: &str, password: &str) -> String {
        let ha1 = hex_md5(&format!("admin:{}:{password}", guard.realm));
        let ha2 = hex_md5(&format!("{method}:rtsp://cam/0"));
        let response = hex_md5(&format!("{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}"));
        format!(
            "Digest username=\"admin\", realm=\"{}\", nonce=\"{nonce}\", \
             uri=\"rtsp://cam/0\", response=\"{response}\", qop=auth, nc=00000001, \
             cnonce=\"c0ffee\"",
            guard.realm
        )
    }

    #[test]
    fn the_rfc_2617_example_response_checks() {
        // RFC 2617 §3.5 (HTTP, but the same arithmetic).
        let ha1 = hex_md5("Mufasa:testrealm@host.com:Circle Of Life");
        let ha2 = hex_md5("GET:/dir/index.html");
        let response = hex_md5(&format!(
            "{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:{ha2}"
        ));
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn right_and_wrong_logins() {
        let mut guard = DigestGuard::new("sim");
        let nonce = guard.nonce.clone();
        let good = authorization(&guard, &nonce, "DESCRIBE", "pw");
        assert_eq!(
            guard.check(Some(&good), "DESCRIBE", LOGIN, None),
            Verdict::Authorized
        );
        assert_eq!(
            guard.check(Some(&good), "SETUP", LOGIN, None),
            Verdict::Refused,
            "the response covers the method"
        );
        let bad = authorization(&guard, &nonce, "DESCRIBE", "wrong");
        assert_eq!(
            guard.check(Some(&bad), "DESCRIBE", LOGIN, None),
            Verdict::Refused
        );
        assert_eq!(guard.check(None, "DESCRIBE", LOGIN, None), Verdict::Refused);
        assert_eq!(
            guard.check(Some("Basic YWRtaW46cHc="), "DESCRIBE", LOGIN, None),
            Verdict::Refused
        );
        assert!(guard.challenge(false).contains(&nonce));
    }

    #[test]
    fn a_retired_nonce_is_stale() {
        let mut guard = DigestGuard::new("sim");
        let first = guard.nonce.clone();
        for _ in 0..2 {
            let header = authorization(&guard, &first, "OPTIONS", "pw");
            assert_eq!(
                guard.check(Some(&header), "OPTIONS", LOGIN, Some(2)),
                Verdict::Authorized
            );
        }
        assert_ne!(guard.nonce, first, "retired after two uses");
        let old = authorization(&guard, &first, "PLAY", "pw");
        assert_eq!(
            guard.check(Some(&old), "PLAY", LOGIN, Some(2)),
            Verdict::Stale
        );
        assert!(guard.challenge(true).ends_with("stale=true"));
        let wrong_old = authorization(&guard, &first, "PLAY", "nope");
        assert_eq!(
            guard.check(Some(&wrong_old), "PLAY", LOGIN, Some(2)),
            Verdict::Refused
        );
        let second = guard.nonce.clone();
        let new = authorization(&guard, &second, "PLAY", "pw");
        assert_eq!(
            guard.check(Some(&new), "PLAY", LOGIN, Some(2)),
            Verdict::Authorized
        );
    }
}
