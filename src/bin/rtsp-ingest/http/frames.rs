//! Pictures of a stream: `GET /streams/{id}/snapshot.jpg` (its newest frame
//! as a JPEG, `?width=` for a thumbnail) and `GET /streams/{id}/mjpeg` (a live
//! view: `multipart/x-mixed-replace`, each new frame as a JPEG part, at most
//! [`MJPEG_FPS`] a second). Encoding runs on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use image::ImageFormat;
use rtsp_ingest::manager::StreamManager;
use rtsp_ingest::slab::Frame;
use serde::Deserialize;
use utoipa::IntoParams;

use super::api::{stream_id, AppState};
use super::errors::{error, library_error, ErrorBody};
use crate::picture;

/// The most parts a second `/mjpeg` sends.
pub const MJPEG_FPS: u32 = 5;
/// The widest picture asked for with `?width=`.
const MAX_WIDTH: u32 = 7680;
const BOUNDARY: &str = "frame";

/// The query of the picture paths.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PictureQuery {
    /// Scale down to at most this many pixels wide (1 ..= 7680), keeping the
    /// aspect ratio; a wider value leaves the frame at its own size.
    #[param(minimum = 1, maximum = 7680)]
    width: Option<u32>,
}

/// The query's width, or the 400 naming `width`.
fn width(query: Result<Query<PictureQuery>, QueryRejection>) -> Result<Option<u32>, Response> {
    let refused = |message: String| error(StatusCode::BAD_REQUEST, message, Some("width"));
    let Query(query) = query.map_err(|rejection| refused(rejection.body_text()))?;
    match query.width {
        Some(width) if !(1..=MAX_WIDTH).contains(&width) => Err(refused(format!(
            "width {width} is not in 1 ..= {MAX_WIDTH}"
        ))),
        width => Ok(width),
    }
}

/// The newest frame of stream `id`, or the 404 saying why there is none.
fn newest(manager: &StreamManager, id: &str) -> Result<Frame, Response> {
    if let Err(failure) = manager.status(id) {
        return Err(library_error(&failure));
    }
    manager.latest(id).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            format!("stream `{id}` has no frame yet"),
            None,
        )
    })
}

fn jpeg(frame: &Frame, width: Option<u32>) -> Result<Vec<u8>, Response> {
    let image = picture::scaled(frame, width);
    // JPEG has no alpha and no 16-bit: the picture is 8-bit RGB or gray.
    picture::encode(&image, ImageFormat::Jpeg).map_err(|failure| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("JPEG encoding failed: {failure}"),
            None,
        )
    })
}

/// The newest frame as a JPEG.
#[utoipa::path(get, path = "/streams/{id}/snapshot.jpg", tag = "pictures",
    params(("id" = String, Path, description = "the stream's id"), PictureQuery),
    responses(
        (status = 200, description = "the newest frame", content_type = "image/jpeg", body = Vec<u8>,
            headers(
                ("x-frame-seq" = u64, description = "the frame's sequence number in its stream"),
                ("x-glass-to-consumer-ms" = String, description = "milliseconds from the camera's capture (RTCP sender reports) to this answer, when the camera dates its frames"))),
        (status = 400, description = "an invalid width or id", body = ErrorBody),
        (status = 401, description = "no valid token", body = ErrorBody),
        (status = 404, description = "no such stream, or no frame yet", body = ErrorBody)))]
pub async fn snapshot(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<PictureQuery>, QueryRejection>,
) -> Response {
    let (id, width) = match (stream_id(id), width(query)) {
        (Ok(id), Ok(width)) => (id, width),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let frame = match newest(&state.manager, &id) {
        Ok(frame) => frame,
        Err(response) => return response,
    };
    // Glass to this consumer, where the camera's sender reports date frames.
    let glass = frame
        .capture_time()
        .and_then(|captured| captured.elapsed().ok());
    let seq = frame.seq();
    let encoded = tokio::task::spawn_blocking(move || jpeg(&frame, width)).await;
    match encoded {
        Ok(Ok(bytes)) => {
            let mut response = ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response();
            let headers = response.headers_mut();
            headers.insert("x-frame-seq", seq.into());
            if let Some(glass) = glass {
                let millis = format!("{:.1}", glass.as_secs_f64() * 1e3);
                if let Ok(value) = header::HeaderValue::from_str(&millis) {
                    headers.insert("x-glass-to-consumer-ms", value);
                }
            }
            response
        }
        Ok(Err(response)) => response,
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "JPEG encoding panicked",
            None,
        ),
    }
}

/// A live view: a JPEG part for each new frame, at most 5 a second, until
/// the client leaves, the stream is removed or the server stops.
#[utoipa::path(get, path = "/streams/{id}/mjpeg", tag = "pictures",
    params(("id" = String, Path, description = "the stream's id"), PictureQuery),
    responses(
        (status = 200, description = "one JPEG part per new frame, separated by `--frame`",
            content_type = "multipart/x-mixed-replace; boundary=frame", body = Vec<u8>),
        (status = 400, description = "an invalid width or id", body = ErrorBody),
        (status = 401, description = "no valid token", body = ErrorBody),
        (status = 404, description = "no such stream", body = ErrorBody)))]
pub async fn mjpeg(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<PictureQuery>, QueryRejection>,
) -> Response {
    let (id, width) = match (stream_id(id), width(query)) {
        (Ok(id), Ok(width)) => (id, width),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    if let Err(failure) = state.manager.status(&id) {
        return library_error(&failure);
    }
    let live = Live {
        manager: Arc::clone(&state.manager),
        id: Arc::from(id),
        width,
        seq: 0,
        stopping: state.stopping.clone(),
    };
    let parts = futures_util::stream::unfold(live, |mut live| async move {
        let part = live.next_part().await?;
        Some((Ok::<_, std::convert::Infallible>(part), live))
    });
    (
        [(
            header::CONTENT_TYPE,
            format!("multipart/x-mixed-replace; boundary={BOUNDARY}"),
        )],
        Body::from_stream(parts),
    )
        .into_response()
}

/// What waiting for a frame brought.
enum Next {
    /// A newer frame (its JPEG, unless encoding failed).
    Frame(u64, Option<Vec<u8>>),
    /// The stream restarted: its sequence numbers begin again.
    Restarted,
    /// Nothing new yet.
    Nothing,
}

/// The state of one `/mjpeg` response.
struct Live {
    manager: Arc<StreamManager>,
    id: Arc<str>,
    width: Option<u32>,
    /// The last frame sent.
    seq: u64,
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl Live {
    /// The next part, once a newer frame is there and the rate allows; `None`
    /// ends the response.
    async fn next_part(&mut self) -> Option<Bytes> {
        let pace = tokio::time::sleep(Duration::from_secs(1) / MJPEG_FPS);
        if self.seq > 0 {
            pace.await;
        }
        loop {
            if *self.stopping.borrow() || self.manager.status(&self.id).is_err() {
                return None;
            }
            let (manager, id, seq, width) = (
                Arc::clone(&self.manager),
                Arc::clone(&self.id),
                self.seq,
                self.width,
            );
            let waited = tokio::task::spawn_blocking(move || {
                match manager.wait_after(&id, seq, Duration::from_millis(500)) {
                    Some(frame) => Next::Frame(frame.seq(), jpeg(&frame, width).ok()),
                    // A restarted stream counts its frames from the start again.
                    None if manager.latest(&id).is_some_and(|frame| frame.seq() < seq) => {
                        Next::Restarted
                    }
                    None => Next::Nothing,
                }
            });
            let (seq, jpeg) = match waited.await {
                Ok(Next::Frame(seq, Some(jpeg))) => (seq, jpeg),
                Ok(Next::Frame(seq, None)) => {
                    self.seq = seq;
                    continue;
                }
                Ok(Next::Restarted) => {
                    self.seq = 0;
                    continue;
                }
                Ok(Next::Nothing) => continue,
                Err(_) => return None,
            };
            {
                self.seq = seq;
                let mut part = format!(
                    "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    jpeg.len()
                )
                .into_bytes();
                part.extend_from_slice(&jpeg);
                part.extend_from_slice(b"\r\n");
                return Some(Bytes::from(part));
            }
        }
    }
}
