//! Credential scrubbing for anything that leaves the process as text: log lines
//! (ours and FFmpeg's), errors, status and metrics.
//!
//! Every `scheme://user:password@` in a text becomes `scheme://user:***@`. It
//! works on free text, not parsed URLs, because FFmpeg's log lines embed URLs in
//! prose.

use std::borrow::Cow;

/// Replaces the password of every `scheme://user:password@host` in `text` with
/// `***`. Text without credentials is returned as is, without allocating.
pub fn redact_url(text: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let authority_start = search + found + 3;
        // The authority ends at the first '/', '?', '#' or whitespace.
        let authority_len = text[authority_start..]
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(text.len() - authority_start);
        let authority = &text[authority_start..authority_start + authority_len];
        // The userinfo ends at the authority's last '@' (a raw '@' in a password
        // is malformed but seen in the wild); the password starts at its first ':'.
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                let password_start = authority_start + colon + 1;
                let password_end = authority_start + at;
                let buffer = out.get_or_insert_with(|| String::with_capacity(text.len()));
                buffer.push_str(&text[copied..password_start]);
                buffer.push_str("***");
                copied = password_end;
            }
        }
        search = authority_start + authority_len;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buffer) => {
            buffer.push_str(&text[copied..]);
            Cow::Owned(buffer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_replaced_and_the_rest_kept() {
        assert_eq!(
            redact_url("rtsp://admin:s3cr3t@10.0.0.1:554/live"),
            "rtsp://admin:***@10.0.0.1:554/live"
        );
        assert_eq!(
            redact_url("rtsps://u:p%40ss@cam?x=1 and rtsp://v:two@cam2/a"),
            "rtsps://u:***@cam?x=1 and rtsp://v:***@cam2/a"
        );
        assert_eq!(redact_url("rtsp://a:b@c@host/x"), "rtsp://a:***@host/x");
        assert_eq!(
            redact_url("[rtsp @ 0x55] Opening 'rtsp://u:pw@h/p' for reading"),
            "[rtsp @ 0x55] Opening 'rtsp://u:***@h/p' for reading"
        );
    }

    #[test]
    fn text_without_passwords_is_borrowed() {
        for text in [
            "rtsp://cam/live",
            "rtsp://user@cam/live",
            "no url",
            "a://",
            "x@y:z",
        ] {
            assert!(
                matches!(redact_url(text), std::borrow::Cow::Borrowed(_)),
                "{text}"
            );
        }
    }
}
