//! Who may use the control API: an admin bearer token (everything) and an
//! optional read-only one (`GET` and `HEAD`), read from `--http-token-file`.
//!
//! Every path but `/healthz` and the dashboard's static page `/` (which holds
//! no data and asks for the token, sending it with each of its requests) wants
//! `Authorization: Bearer TOKEN`: 401 without a known token, 403 for the
//! read-only token on a change. Tokens are compared in constant time and are
//! [`Secret`]s, so no output ever shows one.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rtsp_ingest::stream::Secret;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::api::AppState;
use super::errors::error;

/// The tokens a client may present; none at all lets everyone in.
#[derive(Clone, Debug, Default)]
pub struct Access {
    admin: Option<Secret>,
    read_only: Option<Secret>,
}

/// What a request's token allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Every request.
    Admin,
    /// Reads only.
    ReadOnly,
}

/// The token file: TOML with `admin = "..."` and optionally `read_only = "..."`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    admin: String,
    read_only: Option<String>,
}

/// The shortest token accepted: a guessable token is no access control.
const MIN_TOKEN: usize = 16;

impl Access {
    /// No tokens: anyone who reaches the port may do anything.
    pub fn open() -> Self {
        Self::default()
    }

    /// The tokens of `path` (TOML: `admin = "..."`, `read_only = "..."`).
    ///
    /// # Errors
    /// An unreadable file, or tokens missing, short or alike; the message
    /// never quotes a token.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let name = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
        // toml's messages quote the line at fault: keep only its first line.
        let file: TokenFile = toml::from_str(&text).map_err(|e| {
            format!(
                "{name}: not a token file (`admin = \"...\"`, optional `read_only = \"...\"`): {}",
                e.message().lines().next().unwrap_or_default()
            )
        })?;
        let check = |key: &str, token: &str| {
            if token.trim() != token || token.chars().count() < MIN_TOKEN {
                return Err(format!(
                    "{name}: `{key}` must be at least {MIN_TOKEN} characters, without surrounding spaces"
                ));
            }
            Ok(())
        };
        check("admin", &file.admin)?;
        if let Some(token) = &file.read_only {
            check("read_only", token)?;
            if *token == file.admin {
                return Err(format!("{name}: `read_only` must differ from `admin`"));
            }
        }
        Ok(Self {
            admin: Some(Secret::new(file.admin)),
            read_only: file.read_only.map(Secret::new),
        })
    }

    /// Whether any token is needed.
    pub fn required(&self) -> bool {
        self.admin.is_some()
    }

    /// What `token` allows, if anything. Both tokens are compared (in constant
    /// time), whichever matches.
    pub fn grant(&self, token: &[u8]) -> Option<Grant> {
        let matches = |secret: &Option<Secret>| {
            secret
                .as_ref()
                .is_some_and(|secret| bool::from(secret.expose().as_bytes().ct_eq(token)))
        };
        let admin = matches(&self.admin);
        let read_only = matches(&self.read_only);
        match (admin, read_only) {
            (true, _) => Some(Grant::Admin),
            (false, true) => Some(Grant::ReadOnly),
            _ => None,
        }
    }
}

/// The bearer token of a request's `Authorization` header.
fn bearer(request: &Request) -> Option<&[u8]> {
    let value = request.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| token.trim_ascii())
}

/// Paths anyone may read.
fn public(path: &str) -> bool {
    matches!(path, "/healthz" | "/")
}

/// The middleware: lets a request through, or answers 401 / 403.
pub async fn require(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let access = &state.access;
    if !access.required() || public(request.uri().path()) {
        return next.run(request).await;
    }
    let grant = bearer(&request).and_then(|token| access.grant(token));
    let reading = matches!(*request.method(), Method::GET | Method::HEAD);
    match grant {
        Some(Grant::Admin) => next.run(request).await,
        Some(Grant::ReadOnly) if reading => next.run(request).await,
        Some(Grant::ReadOnly) => error(
            StatusCode::FORBIDDEN,
            "the read-only token may not change anything",
            None,
        ),
        None => {
            let message = match request.headers().contains_key(header::AUTHORIZATION) {
                true => "the bearer token is not valid",
                false => "send `Authorization: Bearer TOKEN`",
            };
            let mut response = error(StatusCode::UNAUTHORIZED, message, None);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rtsp-ingest\""),
            );
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Result<Access, String> {
        let path = std::env::temp_dir().join(format!(
            "rtsp-ingest-tokens-{}-{}.toml",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::write(&path, text).unwrap();
        let access = Access::from_file(&path);
        let _ = std::fs::remove_file(&path);
        access
    }

    #[test]
    fn tokens_grant_what_they_are_for() {
        let access =
            file("admin = \"admin-token-0123456789\"\nread_only = \"viewer-token-0123456789\"\n")
                .unwrap();
        assert_eq!(access.grant(b"admin-token-0123456789"), Some(Grant::Admin));
        assert_eq!(
            access.grant(b"viewer-token-0123456789"),
            Some(Grant::ReadOnly)
        );
        assert_eq!(access.grant(b"admin-token-012345678"), None);
        assert_eq!(access.grant(b""), None);
        assert!(!Access::open().required());
        assert_eq!(Access::open().grant(b"anything"), None);
    }

    #[test]
    fn bad_token_files_are_refused_without_quoting_a_token() {
        for text in [
            "admin = \"short-secret\"\n",
            "read_only = \"viewer-token-0123456789\"\n",
            "admin = \"admin-token-0123456789\"\nread_only = \"admin-token-0123456789\"\n",
            "admin = \"admin-token-0123456789\"\nviewer = \"x\"\n",
            "admin = admin-token-0123456789\n",
        ] {
            let error = file(text).unwrap_err();
            assert!(!error.contains("admin-token"), "{error}");
            assert!(!error.contains("short-secret"), "{error}");
            assert!(!error.contains("viewer-token"), "{error}");
        }
    }
}
