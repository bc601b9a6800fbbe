//! Credential scrubbing for every text that leaves the process — log lines
//! (ours and FFmpeg's), errors, statuses, metrics and the control API's
//! answers — and [`Secret`], the type that holds a password.
//!
//! [`redact`] is the one scrubber. It reads free text, not parsed URLs,
//! because FFmpeg embeds URLs in prose (`Opening 'rtsp://…' for reading`,
//! `DESCRIBE rtsp://… RTSP/1.0`, `line='Content-Base: rtsp://…/'`) and our own
//! messages embed them in sentences. It hides, with `***`:
//!
//! - **the password of a URL's userinfo**: `rtsp://admin:***@cam/live`, also
//!   when the password holds a raw `@`, `#`, `?` or `/` (malformed, but seen in
//!   the wild), and when the `@` is missing (a URL cut short);
//! - **the value of every parameter with a secret-like name** in a path or a
//!   query, after `?`, `&`, `;` or `/`: a name containing, in any letter case,
//!   `pass` (password, passwd), `pwd`, `psw`, `secret`, `token`, `auth`, `key`
//!   or `sig` (signature), so `/user=admin&password=***&channel=1` (XMEye),
//!   `/live?pwd=***`, `/cam;token=***`; the value runs to the next `&`, `;`,
//!   `#`, whitespace, control character (a terminal colour code), `"`, `<`,
//!   `>` or `` ` `` (none of which a URL holds raw), percent-encoded or not;
//! - **the value of `Authorization:` headers**, keeping the scheme
//!   (`Authorization: Basic ***`): FFmpeg dumps its RTSP requests at trace
//!   level, and a Basic header is the login in base64;
//! - **every value a live [`Secret`] holds** (of at least
//!   [`MIN_KNOWN_SECRET`] characters), wherever it appears, as is or
//!   percent-encoded: a password given apart from the URL reaches FFmpeg in
//!   the URL, and FFmpeg may echo it anywhere.
//!
//! Host, port, path and the other parameters stay, so a redacted URL still
//! says where it points. Text with nothing to hide is returned borrowed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use aho_corasick::{AhoCorasick, MatchKind};
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use regex::{Captures, Regex};

/// What a hidden value becomes.
const MASK: &str = "***";

/// The shortest [`Secret`] value [`redact`] looks for as such: shorter ones
/// would mask ordinary words and numbers. (The rules for userinfo,
/// parameters and headers hide a secret of any length.)
pub const MIN_KNOWN_SECRET: usize = 4;

/// Hides every credential in `text` (see the [module docs](self)); text
/// without one is returned as is, without allocating.
pub fn redact(text: &str) -> Cow<'_, str> {
    let text = redact_userinfo(text);
    let text = and_then(text, |text| {
        SECRET_PARAMETER.replace_all(text, |found: &Captures<'_>| format!("{}{MASK}", &found[1]))
    });
    let text = and_then(text, |text| {
        AUTHORIZATION_HEADER.replace_all(text, |found: &Captures<'_>| {
            let scheme = found.get(2).map_or("", |scheme| scheme.as_str());
            format!("{}{scheme}{MASK}", &found[1])
        })
    });
    and_then(text, redact_known)
}

/// Applies `step` to `text`, borrowing from the original as long as no step
/// changed anything.
fn and_then<'a>(text: Cow<'a, str>, step: impl FnOnce(&str) -> Cow<'_, str>) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(text) => step(text),
        Cow::Owned(text) => {
            let changed = match step(&text) {
                Cow::Borrowed(_) => None,
                Cow::Owned(changed) => Some(changed),
            };
            Cow::Owned(changed.unwrap_or(text))
        }
    }
}

/// A parameter with a secret-like name: group 1 is everything up to the `=`,
/// group 2 the value.
static SECRET_PARAMETER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)([?&;/][a-z0-9_.\-]*(?:pass|pwd|psw|secret|token|auth|key|sig)[a-z0-9_.\-]*=)([^&;#\s"<>`\x00-\x1f]+)"#,
    )
    .expect("a valid pattern")
});

/// An `Authorization:` (or `Proxy-Authorization:`) header to the end of its
/// line: group 1 is the name and the space after it, group 2 the scheme and
/// its space, when there is one.
static AUTHORIZATION_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)((?:proxy-)?authorization:[ \t]*)([a-z][a-z0-9_\-]*[ \t]+)?[^\r\n]*")
        .expect("a valid pattern")
});

/// Replaces the password of every `scheme://user:password@` with `***`.
fn redact_userinfo(text: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let authority_start = search + found + 3;
        // The URL ends at whitespace or a character URLs never hold.
        let url_end = text[authority_start..]
            .find(|c: char| {
                c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '`')
            })
            .map_or(text.len(), |end| authority_start + end);
        let authority_end = text[authority_start..url_end]
            .find(['/', '?', '#'])
            .map_or(url_end, |end| authority_start + end);
        search = authority_end;
        let Some(password) = password_span(text, authority_start, authority_end, url_end) else {
            continue;
        };
        let buffer = out.get_or_insert_with(|| String::with_capacity(text.len()));
        buffer.push_str(&text[copied..password.start]);
        buffer.push_str(MASK);
        copied = password.end;
        search = search.max(password.end);
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buffer) => {
            buffer.push_str(&text[copied..]);
            Cow::Owned(buffer)
        }
    }
}

/// Where the password of the URL whose authority is
/// `text[authority_start..authority_end]` lies, if it has one.
fn password_span(
    text: &str,
    authority_start: usize,
    authority_end: usize,
    url_end: usize,
) -> Option<std::ops::Range<usize>> {
    let authority = &text[authority_start..authority_end];
    // A raw '@' in a password is malformed but seen: the userinfo ends at the
    // authority's last '@'; the password starts at its first ':'.
    if let Some(at) = authority.rfind('@') {
        let colon = authority[..at].find(':')?;
        return Some(authority_start + colon + 1..authority_start + at);
    }
    let colon = authority.find(':')?;
    let after = &authority[colon + 1..];
    let port = after.bytes().all(|b| b.is_ascii_digit());
    if port || authority.starts_with('[') {
        return None; // `host:port`, or an IPv6 literal
    }
    // Not a port, so a password: one holding a raw '/', '?' or '#' ends at
    // the next '@'; without one, the URL was cut short, so hide the rest.
    let password_start = authority_start + colon + 1;
    let password_end = text[authority_end..url_end]
        .find('@')
        .map_or(authority_end, |at| authority_end + at);
    Some(password_start..password_end)
}

/// Replaces every form of every live secret.
fn redact_known(text: &str) -> Cow<'_, str> {
    let known = read_known();
    let Some(matcher) = &known.matcher else {
        return Cow::Borrowed(text);
    };
    if !matcher.is_match(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for found in matcher.find_iter(text) {
        out.push_str(&text[copied..found.start()]);
        out.push_str(MASK);
        copied = found.end();
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The values of the parameters with secret-like names in `text`, as written
/// (percent-encoded or not), for whoever must hold them as [`Secret`]s.
#[cfg_attr(rtsp_ingest_loom, allow(dead_code))] // used by `stream`, not built under loom
pub(crate) fn secret_parameters(text: &str) -> impl Iterator<Item = &str> {
    SECRET_PARAMETER
        .captures_iter(text)
        .filter_map(|found| found.get(2).map(|value| value.as_str()))
}

/// A password or token. It prints as `***` (`Debug`, `Display`), and while a
/// `Secret` holding a value is alive, [`redact`] hides that value wherever it
/// appears, as is or percent-encoded.
#[derive(PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        remember(&value);
        Self(value)
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Clone for Secret {
    fn clone(&self) -> Self {
        Self::new(self.0.clone())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        forget(&self.0);
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// The values live [`Secret`]s hold.
#[derive(Default)]
struct Known {
    /// Each value and how many `Secret`s hold it.
    holders: HashMap<String, usize>,
    /// Finds every form of every value, the longest at a position first (so
    /// a secret inside a longer one does not leave the longer one's rest);
    /// `None` while there is none.
    matcher: Option<AhoCorasick>,
}

static KNOWN: LazyLock<RwLock<Known>> = LazyLock::new(RwLock::default);

// A panic while the lock was held leaves the map consistent (every change is
// one insert or remove), so a poisoned lock is used as is.
fn read_known() -> RwLockReadGuard<'static, Known> {
    KNOWN.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_known() -> RwLockWriteGuard<'static, Known> {
    KNOWN.write().unwrap_or_else(PoisonError::into_inner)
}

fn remember(value: &str) {
    if value.chars().count() < MIN_KNOWN_SECRET {
        return;
    }
    let mut known = write_known();
    let holders = known.holders.entry(value.to_owned()).or_insert(0);
    *holders += 1;
    if *holders == 1 {
        known.rebuild();
    }
}

fn forget(value: &str) {
    if value.chars().count() < MIN_KNOWN_SECRET {
        return;
    }
    let mut known = write_known();
    let Some(holders) = known.holders.get_mut(value) else {
        return;
    };
    *holders -= 1;
    if *holders == 0 {
        known.holders.remove(value);
        known.rebuild();
    }
}

impl Known {
    fn rebuild(&mut self) {
        let mut forms: Vec<String> = self.holders.keys().flat_map(|v| forms(v)).collect();
        forms.sort_unstable();
        forms.dedup();
        self.matcher = (!forms.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&forms)
                    .ok()
            })
            .flatten();
    }
}

/// How a value may be written: as is, percent-decoded, percent-encoded
/// everywhere but letters and digits, and as a URL's userinfo carries it.
fn forms(value: &str) -> Vec<String> {
    let mut forms = vec![
        value.to_owned(),
        percent_decode_str(value).decode_utf8_lossy().into_owned(),
        utf8_percent_encode(value, NON_ALPHANUMERIC).to_string(),
    ];
    if let Ok(mut url) = url::Url::parse("rtsp://host/") {
        if url.set_password(Some(value)).is_ok() {
            forms.extend(url.password().map(str::to_owned));
        }
    }
    forms.retain(|form| form.chars().count() >= MIN_KNOWN_SECRET);
    forms
}

#[cfg(test)]
mod tests {
    use super::{redact, Secret};
    use std::borrow::Cow;

    #[test]
    fn userinfo_passwords_are_replaced_and_the_rest_kept() {
        assert_eq!(
            redact("rtsp://admin:s3cr3t@10.0.0.1:554/live"),
            "rtsp://admin:***@10.0.0.1:554/live"
        );
        assert_eq!(
            redact("rtsps://u:p%40ss@cam?x=1 and rtsp://v:two@cam2/a"),
            "rtsps://u:***@cam?x=1 and rtsp://v:***@cam2/a"
        );
        assert_eq!(redact("rtsp://a:b@c@host/x"), "rtsp://a:***@host/x");
        assert_eq!(
            redact("[rtsp @ 0x55] Opening 'rtsp://u:pw@h/p' for reading"),
            "[rtsp @ 0x55] Opening 'rtsp://u:***@h/p' for reading"
        );
        // Raw '#', '/' and '?' in a password: the '@' after them ends it.
        assert_eq!(
            redact("rtsp://admin:Pa#ss/w?rd@cam:554/live"),
            "rtsp://admin:***@cam:554/live"
        );
        // A URL cut before its '@' still hides what may be the password.
        assert_eq!(
            redact("failed: rtsp://admin:Pas"),
            "failed: rtsp://admin:***"
        );
    }

    #[test]
    fn secret_parameters_are_replaced_wherever_they_sit() {
        let cases = [
            (
                "rtsp://10.0.0.2:554/user=admin&password=Xy9&channel=1&stream=0.sdp?real_stream",
                "rtsp://10.0.0.2:554/user=admin&password=***&channel=1&stream=0.sdp?real_stream",
            ),
            (
                "rtsp://cam/live?password=Xy9",
                "rtsp://cam/live?password=***",
            ),
            (
                "rtsp://cam/cam/realmonitor?channel=1&subtype=0&PWD=a%26b",
                "rtsp://cam/cam/realmonitor?channel=1&subtype=0&PWD=***",
            ),
            (
                "rtsp://cam/Streaming/Channels/101?passwd=x&transportmode=unicast",
                "rtsp://cam/Streaming/Channels/101?passwd=***&transportmode=unicast",
            ),
            (
                "rtsp://cam/live;Token=abc;x=1",
                "rtsp://cam/live;Token=***;x=1",
            ),
            (
                "line='Content-Base: rtsp://cam/a?api_key=k1&Signature=s2/'",
                "line='Content-Base: rtsp://cam/a?api_key=***&Signature=***",
            ),
            ("/streams?auth=t0k3n HTTP/1.1", "/streams?auth=*** HTTP/1.1"),
            ("/psw=abc", "/psw=***"),
            ("rtsp://cam/x?secret=1#frag", "rtsp://cam/x?secret=***#frag"),
            (
                "url `rtsp://cam/x?sig=1` is bad",
                "url `rtsp://cam/x?sig=***` is bad",
            ),
            (
                "'\x1b[33mrtsp://u:p@cam/x?key=k1\x1b[0m'",
                "'\x1b[33mrtsp://u:***@cam/x?key=***\x1b[0m'",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(redact(text), expected, "{text}");
        }
    }

    #[test]
    fn authorization_headers_keep_only_their_scheme() {
        let dump = "DESCRIBE rtsp://cam/x RTSP/1.0\r\nCSeq: 3\r\nAuthorization: Basic YWRtaW46aHVudGVyMg==\r\nUser-Agent: x\r\n";
        assert_eq!(
            redact(dump),
            "DESCRIBE rtsp://cam/x RTSP/1.0\r\nCSeq: 3\r\nAuthorization: Basic ***\r\nUser-Agent: x\r\n"
        );
        assert_eq!(
            redact(r#"authorization: Digest username="u", response="9f2c""#),
            "authorization: Digest ***"
        );
        assert_eq!(
            redact("Proxy-Authorization: YWRtaW46aHVudGVyMg=="),
            "Proxy-Authorization: ***"
        );
    }

    #[test]
    fn text_without_credentials_is_borrowed() {
        for text in [
            "rtsp://cam/live",
            "rtsp://user@cam/live",
            "rtsp://cam:554/live?channel=1&subtype=0",
            "rtsp://[::1]:554/x",
            "no url",
            "a://",
            "x@y:z",
            "keyint=250 keyint_min=25",
            "WWW-Authenticate: Basic realm=\"cam\"",
        ] {
            assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn live_secrets_are_hidden_anywhere_in_every_encoding() {
        let text = "echo: qZ7@w/x! and qZ7%40w%2Fx%21 and qZ7%40w%2Fx! end";
        assert_eq!(redact(text), text, "not a secret yet");
        let secret = Secret::new("qZ7@w/x!");
        let copy = secret.clone();
        assert_eq!(redact(text), "echo: *** and *** and *** end");
        drop(secret);
        assert_eq!(
            redact(text),
            "echo: *** and *** and *** end",
            "a copy lives"
        );
        drop(copy);
        assert_eq!(redact(text), text, "forgotten with the last holder");
        // Too short to look for as such, still hidden where it sits.
        let short = Secret::new("ab1");
        assert_eq!(redact("ab1 rtsp://u:ab1@h/"), "ab1 rtsp://u:***@h/");
        assert_eq!(format!("{short:?} {short}"), "*** ***");
    }
}
