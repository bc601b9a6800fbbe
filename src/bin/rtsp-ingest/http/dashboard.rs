//! `GET /`: the live dashboard, one self-contained page (`dashboard.html`,
//! embedded: the machines it runs on have no internet). It asks for the token
//! when the API wants one, polls `/streams` every second, shows each stream's
//! state, fps, frame age, reconnects, last error and latency with a thumbnail
//! (`snapshot.jpg?width=320`), and adds, stops, starts, restarts and removes
//! streams. The page holds no data, so it is served without a token; every
//! request it makes carries one.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("dashboard.html");

/// The dashboard page.
#[utoipa::path(get, path = "/", tag = "service", security(()),
    responses((status = 200, description = "the dashboard (HTML; needs no token, asks for one)",
        content_type = "text/html", body = String)))]
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
            ),
        ],
        PAGE,
    )
        .into_response()
}
