//! Every error answer of the control API: `{"error": ..., "field": ...}` (plus
//! `kind` for the stream manager's refusals, `line` / `column` for a body that
//! did not parse), scrubbed of passwords, and the status each library error
//! maps to.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rtsp_ingest::redact::redact;
use rtsp_ingest::{Error, ErrorKind};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, scrubbed of passwords.
    pub error: String,
    /// The request field at fault: `id`, `url`, `options.format`, an unknown key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The library's error kind, for errors from the stream manager.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// Where the body stopped parsing as JSON (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The column on `line` (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// `{"error": message, "field": field}`, the message scrubbed of passwords.
pub fn error(status: StatusCode, message: impl AsRef<str>, field: Option<&str>) -> Response {
    error_with(status, message, field, ErrorBody::default())
}

/// [`error`] with `kind`, `line` or `column` from `extra`.
pub fn error_with(
    status: StatusCode,
    message: impl AsRef<str>,
    field: Option<&str>,
    extra: ErrorBody,
) -> Response {
    let body = ErrorBody {
        error: redact(message.as_ref()).into_owned(),
        field: field.map(|field| redact(field).into_owned()),
        ..extra
    };
    (status, Json(body)).into_response()
}

/// 405 with the `Allow` header listing what the path takes.
pub fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("this path takes {allow}"),
        None,
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The request field a library error is about: the library names the setting
/// in [`Error::field`], by its `StreamConfig` setter's name, which is the
/// option's name here too.
fn blamed(failure: &Error) -> Option<String> {
    failure.field().map(|field| match field {
        "id" => "id".to_owned(),
        option => format!("options.{option}"),
    })
}

/// Maps a library error to its status: 400 invalid, 404 unknown stream, 409
/// duplicate, 507 over the memory budget.
pub fn library_error(failure: &Error) -> Response {
    let field = blamed(failure);
    let status = match failure.kind() {
        ErrorKind::InvalidConfig => StatusCode::BAD_REQUEST,
        ErrorKind::UnknownStream => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists => StatusCode::CONFLICT,
        ErrorKind::OverBudget => StatusCode::INSUFFICIENT_STORAGE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match &field {
        Some(field) => format!("{field}: {}", failure.message()),
        None => failure.message().to_owned(),
    };
    let kind = ErrorBody {
        kind: Some(failure.kind().name()),
        ..ErrorBody::default()
    };
    error_with(status, message, field.as_deref(), kind)
}
