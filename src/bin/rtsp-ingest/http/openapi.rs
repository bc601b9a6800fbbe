//! The control API's OpenAPI 3.1 description, `GET /openapi.json`, generated
//! by utoipa from the handlers' `#[utoipa::path]` attributes and the request
//! and response types themselves, so it cannot drift from them: a field added
//! to a status is in the schema at once. `tests/http_openapi.rs` checks it
//! against the live server and schemathesis fuzzes the server with it.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{api, dashboard, errors, frames};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "rtsp-ingest control API",
        description = "Add, list, stop, start, restart and remove RTSP streams; \
            their status, metrics and pictures. Every path but `/healthz` and `/` \
            wants `Authorization: Bearer TOKEN` when the server has tokens \
            (`--http-token-file`); the read-only token may only read.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        api::healthz,
        api::metrics,
        document,
        dashboard::page,
        api::list,
        api::add,
        api::one,
        api::remove,
        api::start,
        api::stop,
        api::restart,
        frames::snapshot,
        frames::mjpeg,
    ),
    components(schemas(errors::ErrorBody)),
    modifiers(&BearerToken),
    security(("bearer" = [])),
    tags(
        (name = "streams", description = "the streams and their status"),
        (name = "pictures", description = "a stream's newest frame, still or live"),
        (name = "service", description = "health, metrics, this description, the dashboard"),
    )
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the document's `security` names.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON (built once).
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
    })
}

/// This description.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses(
        (status = 200, description = "the OpenAPI 3.1 description of this API", content_type = "application/json", body = Object),
        (status = 401, description = "no valid token", body = errors::ErrorBody)))]
pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}
