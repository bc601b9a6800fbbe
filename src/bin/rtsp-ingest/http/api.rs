//! The control API's routes and handlers, each described for the OpenAPI
//! document ([`super::openapi`]) by its `#[utoipa::path]`; the body limits
//! (411 without `Content-Length`, 413 over [`MAX_BODY`]), the request log, and
//! the access check around them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use http_body_util::BodyExt;
use rtsp_ingest::manager::StreamManager;
use rtsp_ingest::redact::redact;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::watch;
use utoipa::ToSchema;

use super::errors::{error, error_with, library_error, method_not_allowed, ErrorBody};
use super::{auth, dashboard, frames, openapi, Access, Connection, MAX_BODY};
use crate::options::{self, StreamOptions};
use crate::report::StatusReport;

/// The content type of `/metrics`.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// After refusing a body unread: discard this much of it, for at most this
/// long, so the client reads the answer rather than a reset.
const DRAIN_BYTES: usize = 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_millis(500);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub manager: Arc<StreamManager>,
    pub access: Arc<Access>,
    /// Turns `true` when the server shuts down: live views end.
    pub stopping: watch::Receiver<bool>,
}

impl AppState {
    pub fn new(
        manager: Arc<StreamManager>,
        access: Access,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        Self {
            manager,
            access: Arc::new(access),
            stopping,
        }
    }
}

/// Every route, with its methods; any other method gets 405 and `Allow`.
pub fn router(state: AppState) -> Router {
    let stream_routes = Router::new()
        .route(
            "/streams",
            get(list)
                .post(add)
                .fallback(|| async { method_not_allowed("GET, HEAD, POST") }),
        )
        .route(
            "/streams/{id}",
            get(one)
                .delete(remove)
                .fallback(|| async { method_not_allowed("GET, HEAD, DELETE") }),
        )
        .route(
            "/streams/{id}/start",
            post(start).fallback(|| async { method_not_allowed("POST") }),
        )
        .route(
            "/streams/{id}/stop",
            post(stop).fallback(|| async { method_not_allowed("POST") }),
        )
        .route(
            "/streams/{id}/restart",
            post(restart).fallback(|| async { method_not_allowed("POST") }),
        )
        .route(
            "/streams/{id}/snapshot.jpg",
            get(frames::snapshot).fallback(|| async { method_not_allowed("GET, HEAD") }),
        )
        .route(
            "/streams/{id}/mjpeg",
            get(frames::mjpeg).fallback(|| async { method_not_allowed("GET, HEAD") }),
        );
    Router::new()
        .route(
            "/",
            get(dashboard::page).fallback(|| async { method_not_allowed("GET, HEAD") }),
        )
        .route(
            "/healthz",
            get(healthz).fallback(|| async { method_not_allowed("GET, HEAD") }),
        )
        .route(
            "/metrics",
            get(metrics).fallback(|| async { method_not_allowed("GET, HEAD") }),
        )
        .route(
            "/openapi.json",
            get(openapi::document).fallback(|| async { method_not_allowed("GET, HEAD") }),
        )
        .merge(stream_routes)
        .fallback(not_found)
        .layer(middleware::from_fn(body_limits))
        .layer(middleware::from_fn_with_state(state.clone(), auth::require))
        .layer(middleware::from_fn(log))
        .with_state(state)
}

async fn not_found(request: Request) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no such path `{}`", request.uri().path()),
        None,
    )
}

/// One stderr line per request (target scrubbed), and `Cache-Control: no-store`.
async fn log(request: Request, next: Next) -> Response {
    let begun = Instant::now();
    let method = request.method().clone();
    let target = request
        .uri()
        .path_and_query()
        .map_or("", |target| target.as_str())
        .to_owned();
    let peer = request
        .extensions()
        .get::<Connection>()
        .map_or_else(|| "-".to_owned(), |connection| connection.peer.to_string());
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    eprintln!(
        "http: {peer} {method} {} {} ({} ms)",
        redact(&target).escape_debug(),
        response.status().as_u16(),
        begun.elapsed().as_millis()
    );
    response
}

/// 411 for a body without `Content-Length`, 413 for one over [`MAX_BODY`]
/// (after discarding some of it, so the client sees the answer).
async fn body_limits(request: Request, next: Next) -> Response {
    let headers = request.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return error(
            StatusCode::LENGTH_REQUIRED,
            "send the body with a Content-Length",
            None,
        );
    }
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if length > MAX_BODY as u64 {
        drain(request.into_body()).await;
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is over 64 KiB",
            None,
        );
    }
    next.run(request).await
}

/// Reads and discards up to [`DRAIN_BYTES`] of `body` within [`DRAIN_TIME`].
async fn drain(mut body: Body) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut drained = 0;
        while drained < DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => drained += frame.data_ref().map_or(0, Bytes::len),
                _ => return,
            }
        }
    })
    .await;
}

/// The body, read whole within the request's deadline: 408 when late, 413
/// when over [`MAX_BODY`].
async fn read_body(body: Body, connection: Connection) -> Result<Bytes, Response> {
    let read = tokio::time::timeout_at(connection.deadline, axum::body::to_bytes(body, MAX_BODY));
    match read.await {
        Err(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            "the body took too long to arrive",
            None,
        )),
        Ok(Err(_)) => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is over 64 KiB",
            None,
        )),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// Liveness: always `ok` (no token needed).
#[utoipa::path(get, path = "/healthz", tag = "service", security(()),
    responses((status = 200, description = "the process answers", body = String, content_type = "text/plain")))]
pub async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
        .into_response()
}

/// Every stream's counters, in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses(
        (status = 200, description = "OpenMetrics text", body = String,
            content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"),
        (status = 401, description = "no valid token", body = ErrorBody)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        state.manager.metrics_text(),
    )
        .into_response()
}

/// The status of every stream, in id order.
#[utoipa::path(get, path = "/streams", tag = "streams",
    responses(
        (status = 200, description = "every stream's status", body = [StatusReport]),
        (status = 401, description = "no valid token", body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Response {
    let statuses = state.manager.list();
    let reports: Vec<StatusReport<'_>> = statuses.iter().map(StatusReport::new).collect();
    Json(reports).into_response()
}

/// A stream id from the path: `Err` is the 400 for one that is not UTF-8.
pub fn stream_id(id: Result<Path<String>, PathRejection>) -> Result<String, Response> {
    id.map(|Path(id)| id).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "the stream id is not UTF-8",
            Some("id"),
        )
    })
}

fn report(manager: &StreamManager, id: &str, status: StatusCode) -> Response {
    match manager.status(id) {
        Ok(stream) => (status, Json(StatusReport::new(&stream))).into_response(),
        Err(failure) => library_error(&failure),
    }
}

/// One stream's status.
#[utoipa::path(get, path = "/streams/{id}", tag = "streams",
    params(("id" = String, Path, description = "the stream's id")),
    responses(
        (status = 200, description = "the stream's status", body = StatusReport),
        (status = 400, description = "an id that is not UTF-8", body = ErrorBody),
        (status = 401, description = "no valid token", body = ErrorBody),
        (status = 404, description = "no such stream", body = ErrorBody)))]
pub async fn one(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    match stream_id(id) {
        Ok(id) => report(&state.manager, &id, StatusCode::OK),
        Err(response) => response,
    }
}

/// Runs a manager call that may block (stopping a worker takes up to ~200 ms)
/// off the runtime's workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(work).await.map_err(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request's worker panicked",
            None,
        )
    })
}

/// Stops and removes a stream.
#[utoipa::path(delete, path = "/streams/{id}", tag = "streams",
    params(("id" = String, Path, description = "the stream's id")),
    responses(
        (status = 204, description = "stopped and removed"),
        (status = 400, description = "an id that is not UTF-8", body = ErrorBody),
        (status = 401, description = "no valid token", body = ErrorBody),
        (status = 403, description = "the read-only token", body = ErrorBody),
        (status = 404, description = "no such stream", body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match stream_id(id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let manager = Arc::clone(&state.manager);
    match blocking(move || manager.remove(&id)).await {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(failure)) => library_error(&failure),
        Err(response) => response,
    }
}

/// What `start`, `stop` and `restart` do.
#[derive(Clone, Copy)]
enum Action {
    Start,
    Stop,
    Restart,
}

async fn act(state: AppState, id: Result<Path<String>, PathRejection>, action: Action) -> Response {
    let id = match stream_id(id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let manager = Arc::clone(&state.manager);
    let done = blocking(move || {
        let done = match action {
            Action::Start => manager.start(&id),
            Action::Stop => manager.stop(&id),
            Action::Restart => manager.restart(&id),
        };
        done.map(|()| report(&manager, &id, StatusCode::OK))
    });
    match done.await {
        Ok(Ok(response)) => response,
        Ok(Err(failure)) => library_error(&failure),
        Err(response) => response,
    }
}

/// Starts a stopped stream (a started one stays as it is).
#[utoipa::path(post, path = "/streams/{id}/start", tag = "streams",
    params(("id" = String, Path, description = "the stream's id")),
    responses(
        (status = 200, description = "the stream's status", body = StatusReport),
        (status = 400, description = "an id that is not UTF-8", body = ErrorBody),
        (status = 401, description = "no valid token", body = ErrorBody),
        (status = 403, description = "the read-only token", body = ErrorBody),
        (status = 404, description = "no such stream", body = ErrorBody),
        (status = 507, description = "over the memory budget", body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    act(state, id, Action::Start).await
}

/// Stops a stream, keeping it listed.
#[utoipa::path(post, path = "/streams/{id}/stop", tag = "streams",
    params(("id" = String, Path, description = "the stream's id")),
    responses(
        (status = 200, description = "the stream's status", body = StatusReport),
        (status = 400, description = "an id that is not UTF-8", body = ErrorBody),
        (status = 401, description = "no valid token", body = ErrorBody),
        (status = 403, description = "the read-only token", body = ErrorBody),
        (status = 404, description = "no such stream", body = ErrorBody)))]
pub async fn stop(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    act(state, id, Action::Stop).await
}

/// Stops and starts a stream: a fresh connection and slab.
#[utoipa::path(post, path = "/streams/{id}/restart", tag = "streams",
    params(("id" = String, Path, description = "the stream's id")),
    responses(
        (status = 200, description = "the stream's status", body = StatusReport),
        (status = 400, description = "an id that is not UTF-8", body = ErrorBody),
        (status = 401, description = "no valid token", body = ErrorBody),
        (status = 403, description = "the read-only token", body = ErrorBody),
        (status = 404, description = "no such stream", body = ErrorBody),
        (status = 507, description = "over the memory budget", body = ErrorBody)))]
pub async fn restart(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    act(state, id, Action::Restart).await
}

/// The body of `POST /streams`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddStream {
    /// The stream's id: 1 to 128 bytes, no `/`, no control characters.
    #[schema(value_type = String, required = true, pattern = r"^[^/\x00-\x1f\x7f-\x9f]{1,128}$")]
    id: Option<String>,
    /// An `rtsp://` or `rtsps://` URL, credentials allowed (never sent back).
    #[schema(value_type = String, required = true, pattern = r"^[\x00-\x20]*[Rr][Tt][Ss][Pp][Ss]?://")]
    url: Option<String>,
    #[serde(default)]
    options: Option<StreamOptions>,
}

/// Adds a stream and starts it.
#[utoipa::path(post, path = "/streams", tag = "streams",
    request_body(content = AddStream, content_type = "application/json"),
    responses(
        (status = 201, description = "added and started", body = StatusReport,
            headers(("Location" = String, description = "the stream's path"))),
        (status = 400, description = "invalid JSON, a missing `id` or `url`, an unknown key, an invalid option or id", body = ErrorBody),
        (status = 401, description = "no valid token", body = ErrorBody),
        (status = 403, description = "the read-only token", body = ErrorBody),
        (status = 408, description = "the body took more than 10 s to arrive", body = ErrorBody),
        (status = 409, description = "a stream with this id exists", body = ErrorBody),
        (status = 411, description = "a body without Content-Length", body = ErrorBody),
        (status = 413, description = "a body over 64 KiB", body = ErrorBody),
        (status = 507, description = "over the manager's memory budget", body = ErrorBody)))]
pub async fn add(
    State(state): State<AppState>,
    Extension(connection): Extension<Connection>,
    body: Body,
) -> Response {
    let body = match read_body(body, connection).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let request: AddStream = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(failure) => return json_error(&body, &failure),
    };
    let Some(id) = request.id else {
        return error(StatusCode::BAD_REQUEST, "missing field `id`", Some("id"));
    };
    let Some(url) = request.url else {
        return error(StatusCode::BAD_REQUEST, "missing field `url`", Some("url"));
    };
    let config = match options::apply(request.options.unwrap_or_default(), &url) {
        Ok(config) => config,
        Err(failure) => {
            let field = match failure.field() {
                "url" => "url".to_owned(),
                option => format!("options.{option}"),
            };
            return error(
                StatusCode::BAD_REQUEST,
                format!("{field}: {}", failure.message()),
                Some(&field),
            );
        }
    };
    let manager = Arc::clone(&state.manager);
    let added = blocking(move || {
        manager
            .add(&id, config)
            .map(|()| (report(&manager, &id, StatusCode::CREATED), id))
    });
    match added.await {
        Ok(Ok((mut response, id))) => {
            if response.status() == StatusCode::CREATED {
                let path: String =
                    percent_encoding::utf8_percent_encode(&id, percent_encoding::NON_ALPHANUMERIC)
                        .collect();
                if let Ok(location) = HeaderValue::from_str(&format!("/streams/{path}")) {
                    response.headers_mut().insert(header::LOCATION, location);
                }
            }
            response
        }
        Ok(Err(failure)) => library_error(&failure),
        Err(response) => response,
    }
}

/// 400 for a body serde_json refused: where (line, column) and, for a bad
/// field, which one.
fn json_error(body: &[u8], failure: &serde_json::Error) -> Response {
    let position = ErrorBody {
        line: Some(failure.line()),
        column: Some(failure.column()),
        ..ErrorBody::default()
    };
    if !failure.is_data() {
        return error_with(
            StatusCode::BAD_REQUEST,
            format!("invalid JSON: {failure}"),
            None,
            position,
        );
    }
    let field = culprit(body, failure);
    let message = match &field {
        Some(field) => format!("{field}: {failure}"),
        None => failure.to_string(),
    };
    error_with(StatusCode::BAD_REQUEST, message, field.as_deref(), position)
}

/// The field of a well-formed body that `AddStream` refuses: `options.format`,
/// `id`, or an unknown key. serde_json reports only the first failure and no
/// path, so each key is tried alone, preferring the one failing with the
/// reported message.
fn culprit(body: &[u8], failure: &serde_json::Error) -> Option<String> {
    let text = failure.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m);
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let key = failing_key::<AddStream>(&request, message)?;
    if key != "options" {
        return Some(key);
    }
    let Some(Value::Object(options)) = request.get("options") else {
        return Some(key);
    };
    Some(
        failing_key::<StreamOptions>(options, message)
            .map_or(key, |name| format!("options.{name}")),
    )
}

/// The key of `map` whose value alone `T` refuses, preferring one refused with `message`.
fn failing_key<T: DeserializeOwned>(map: &Map<String, Value>, message: &str) -> Option<String> {
    let failing: Vec<(&String, String)> = map
        .iter()
        .filter_map(|(key, value)| {
            let alone = Map::from_iter([(key.clone(), value.clone())]);
            serde_json::from_value::<T>(Value::Object(alone))
                .err()
                .map(|failure| (key, failure.to_string()))
        })
        .collect();
    failing
        .iter()
        .find(|(_, refused)| refused == message)
        .or(failing.first())
        .map(|(key, _)| (*key).clone())
}
