//! The control API (`run --http ADDR`, cargo feature `http`): streams are
//! listed, added, removed, started, stopped and restarted over HTTP, and
//! `/metrics` serves Prometheus.
//!
//! A small HTTP/1.1 server on std threads: a few workers share the listener,
//! each serves one request per connection (`Connection: close`), and every
//! input is bounded — the request head to [`MAX_HEAD`] bytes, the body to
//! [`MAX_BODY`] bytes, a whole request to [`REQUEST_TIME`] — so a client cannot
//! make the process allocate, wait or crash beyond those. (`tiny_http` 0.12
//! allocates a buffer the size of any declared `Content-Length` when it
//! discards an unread body, so one `Content-Length: 1000000000000` aborts the
//! process; its headers are unbounded too.)
//!
//! Passwords never leave: statuses carry URLs without credentials (and with
//! secret path or query parameters masked), a password of the wrong type is
//! refused without its value, and every error message, and the request target
//! logged for each request, is scrubbed with [`redact`] on the way out.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use percent_encoding::percent_decode_str;
use rtsp_ingest::manager::StreamManager;
use rtsp_ingest::redact::redact;
use rtsp_ingest::{Error, ErrorKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::options::{self, StreamOptions};
use crate::report::StatusReport;

/// The largest request head (request line and headers), in bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// The largest request body, in bytes; larger ones get 413.
pub const MAX_BODY: usize = 64 * 1024;
/// The most headers a request may have.
const MAX_HEADERS: usize = 64;
/// How long a client has to send a whole request.
pub const REQUEST_TIME: Duration = Duration::from_secs(10);
/// Threads serving requests (each one connection at a time).
const WORKERS: usize = 4;
/// How long `shutdown` waits for a worker busy with a request.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);
/// After answering without reading a body: discard this much of it, for at
/// most this long, so the client reads the answer rather than a reset.
const DRAIN_BYTES: usize = 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_millis(500);

/// The content type of `/metrics`.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

/// A running control API. [`Server::shutdown`] stops it.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    /// Disconnected once every worker has returned (each holds a sender).
    finished: Receiver<()>,
}

impl Server {
    /// Binds `addr` (`host:port`; port 0 picks a free one) and serves `manager`.
    ///
    /// # Errors
    /// When `addr` cannot be bound, or a worker thread cannot be spawned.
    pub fn start(addr: &str, manager: Arc<StreamManager>) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let (done, finished) = crossbeam_channel::bounded::<()>(0);
        for index in 0..WORKERS {
            let worker = Worker {
                listener: listener.try_clone()?,
                manager: Arc::clone(&manager),
                stopping: Arc::clone(&stopping),
                _done: done.clone(),
            };
            thread::Builder::new()
                .name(format!("http-{index}"))
                .spawn(move || worker.run())?;
        }
        Ok(Server {
            addr,
            stopping,
            finished,
        })
    }

    /// The address bound (with the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, then waits (at most about a second) for requests in
    /// progress to finish.
    pub fn shutdown(self) {
        // SeqCst: the flag is set before the waking connections below are
        // made, and each worker reads it after `accept` returns one of them.
        self.stopping.store(true, Ordering::SeqCst);
        let wake = loopback(self.addr);
        for _ in 0..WORKERS {
            // Each worker accepts at most one connection once stopping, so one
            // connection per worker wakes them all.
            let _ = TcpStream::connect_timeout(&wake, Duration::from_millis(200));
        }
        let _ = self.finished.recv_timeout(SHUTDOWN_WAIT);
    }
}

/// Where to connect to reach a listener bound to `addr` (a wildcard address
/// is reached through loopback).
fn loopback(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

struct Worker {
    listener: TcpListener,
    manager: Arc<StreamManager>,
    stopping: Arc<AtomicBool>,
    /// Dropped when the worker returns; see [`Server::finished`].
    _done: Sender<()>,
}

impl Worker {
    fn run(self) {
        loop {
            let accepted = self.listener.accept();
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            match accepted {
                Ok((stream, peer)) => serve(stream, peer, &self.manager),
                // Out of file descriptors or an aborted handshake: try again,
                // without spinning.
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

/// A request as read so far.
#[derive(Debug, Default)]
struct Request {
    method: String,
    target: String,
    body: Vec<u8>,
}

/// Why a request was not read whole.
enum Unread {
    /// The client went away (or never sent anything): close without a word.
    Gone,
    /// Answer this, then discard what the client still sends.
    Refuse(Response),
}

fn serve(mut stream: TcpStream, peer: SocketAddr, manager: &StreamManager) {
    let begun = Instant::now();
    let _ = stream.set_write_timeout(Some(REQUEST_TIME));
    let mut request = Request::default();
    let (response, unread) = match read_request(&mut stream, begun + REQUEST_TIME, &mut request) {
        Ok(()) => (route(manager, &request), false),
        Err(Unread::Gone) => return,
        Err(Unread::Refuse(response)) => (response, true),
    };
    let _ = write_response(&mut stream, &response, request.method == "HEAD");
    let _ = stream.shutdown(Shutdown::Write);
    if unread {
        drain(&mut stream);
    }
    if request.method.is_empty() {
        "-".clone_into(&mut request.method);
    }
    eprintln!(
        "http: {peer} {} {} {} ({} ms)",
        request.method.escape_debug(),
        redact(&request.target).escape_debug(),
        response.status,
        begun.elapsed().as_millis()
    );
}

/// Reads one request into `request`, within `deadline` and the size limits
/// (its method and target are set as soon as the head is in, for the log).
fn read_request(
    stream: &mut TcpStream,
    deadline: Instant,
    request: &mut Request,
) -> Result<(), Unread> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_len = loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::Request::new(&mut headers).parse(&buffer) {
            Ok(httparse::Status::Complete(len)) => break len,
            Ok(httparse::Status::Partial) if buffer.len() >= MAX_HEAD => {
                return Err(Unread::Refuse(error(
                    431,
                    "the request head is over 16 KiB",
                    None,
                )))
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Unread::Refuse(error(
                    431,
                    "a request has at most 64 headers",
                    None,
                )))
            }
            Err(parse) => {
                return Err(Unread::Refuse(error(
                    400,
                    format!("malformed request: {parse}"),
                    None,
                )))
            }
        }
        let read = read_some(stream, &mut chunk, deadline).map_err(|timed_out| {
            if timed_out && !buffer.is_empty() {
                Unread::Refuse(error(408, "the request took too long to arrive", None))
            } else {
                Unread::Gone
            }
        })?;
        if read == 0 {
            return Err(Unread::Gone);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };

    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    // Cannot fail: the same bytes parsed completely above.
    let _ = head.parse(&buffer[..head_len]);
    head.method
        .unwrap_or_default()
        .clone_into(&mut request.method);
    head.path
        .unwrap_or_default()
        .clone_into(&mut request.target);
    let mut content_length: Option<u64> = None;
    let mut expect_continue = false;
    for header in head.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or("").trim();
        if header.name.eq_ignore_ascii_case("content-length") {
            let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
            let length = digits
                .then(|| value.parse::<u64>().ok())
                .flatten()
                .filter(|length| content_length.is_none_or(|earlier| earlier == *length));
            let Some(length) = length else {
                return Err(Unread::Refuse(error(400, "invalid Content-Length", None)));
            };
            content_length = Some(length);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Unread::Refuse(error(
                411,
                "send the body with a Content-Length",
                None,
            )));
        } else if header.name.eq_ignore_ascii_case("expect") {
            expect_continue = value.eq_ignore_ascii_case("100-continue");
        }
    }
    let length = content_length.unwrap_or(0);
    if length > MAX_BODY as u64 {
        return Err(Unread::Refuse(error(413, "the body is over 64 KiB", None)));
    }
    let length = length as usize;
    let mut body = buffer.split_off(head_len);
    body.truncate(length);
    if body.len() < length && expect_continue {
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    while body.len() < length {
        let want = (length - body.len()).min(chunk.len());
        let read = read_some(stream, &mut chunk[..want], deadline).map_err(|timed_out| {
            if timed_out {
                Unread::Refuse(error(408, "the body took too long to arrive", None))
            } else {
                Unread::Gone
            }
        })?;
        if read == 0 {
            return Err(Unread::Gone);
        }
        body.extend_from_slice(&chunk[..read]);
    }
    request.body = body;
    Ok(())
}

/// One read, bounded by `deadline`; `Err(true)` on timeout, `Err(false)` on
/// another I/O error.
fn read_some(stream: &mut TcpStream, buffer: &mut [u8], deadline: Instant) -> Result<usize, bool> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(true);
    }
    let _ = stream.set_read_timeout(Some(left));
    loop {
        match stream.read(buffer) {
            Ok(read) => return Ok(read),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ))
            }
        }
    }
}

/// Discards what the client still sends, within [`DRAIN_BYTES`] and [`DRAIN_TIME`].
fn drain(stream: &mut TcpStream) {
    let deadline = Instant::now() + DRAIN_TIME;
    let mut chunk = [0u8; 4096];
    let mut drained = 0;
    while drained < DRAIN_BYTES {
        match read_some(stream, &mut chunk, deadline) {
            Ok(0) | Err(_) => return,
            Ok(read) => drained += read,
        }
    }
}

/// An answer.
#[derive(Debug)]
struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    /// The methods a path takes, for 405.
    allow: Option<&'static str>,
    location: Option<String>,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        507 => "Insufficient Storage",
        _ => "Internal Server Error",
    }
}

fn write_response(stream: &mut TcpStream, response: &Response, head_only: bool) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nConnection: close\r\nCache-Control: no-store\r\n",
        response.status,
        reason(response.status)
    );
    if response.status != 204 {
        head.push_str(&format!(
            "Content-Type: {}\r\nContent-Length: {}\r\n",
            response.content_type,
            response.body.len()
        ));
    }
    if let Some(allow) = response.allow {
        head.push_str(&format!("Allow: {allow}\r\n"));
    }
    if let Some(location) = &response.location {
        head.push_str(&format!("Location: {location}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(&response.body)?;
    }
    stream.flush()
}

fn respond_json(status: u16, value: &impl Serialize) -> Response {
    let mut body = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"null".to_vec());
    body.push(b'\n');
    Response {
        status,
        content_type: JSON,
        body,
        allow: None,
        location: None,
    }
}

/// The body of every error answer.
#[derive(Debug, Default, Serialize)]
struct ErrorBody {
    /// What went wrong, scrubbed of passwords.
    error: String,
    /// The request field at fault: `id`, `url`, `options.format`.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// The library's error kind, for errors from the stream manager.
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    /// Where serde_json stopped reading the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
}

/// `{"error": message, "field": field}`, the message scrubbed of passwords.
fn error(status: u16, message: impl AsRef<str>, field: Option<&str>) -> Response {
    error_with(status, message, field, ErrorBody::default())
}

fn error_with(
    status: u16,
    message: impl AsRef<str>,
    field: Option<&str>,
    extra: ErrorBody,
) -> Response {
    let body = ErrorBody {
        error: redact(message.as_ref()).into_owned(),
        field: field.map(|field| redact(field).into_owned()),
        ..extra
    };
    respond_json(status, &body)
}

fn method_not_allowed(allow: &'static str) -> Response {
    Response {
        allow: Some(allow),
        ..error(405, format!("this path takes {allow}"), None)
    }
}

/// Dispatches a request to its endpoint.
fn route(manager: &StreamManager, request: &Request) -> Response {
    let path = request.target.split(['?', '#']).next().unwrap_or("");
    let Some(path) = path.strip_prefix('/') else {
        return error(404, format!("no such path `{path}`"), None);
    };
    // HEAD is GET without the body (dropped when writing).
    let method = match request.method.as_str() {
        "HEAD" => "GET",
        method => method,
    };
    let segments: Vec<&str> = path.split('/').collect();
    match (segments.as_slice(), method) {
        (["healthz"], "GET") => Response {
            status: 200,
            content_type: TEXT,
            body: b"ok\n".to_vec(),
            allow: None,
            location: None,
        },
        (["healthz"], _) => method_not_allowed("GET, HEAD"),
        (["metrics"], "GET") => Response {
            status: 200,
            content_type: OPENMETRICS,
            body: manager.metrics_text().into_bytes(),
            allow: None,
            location: None,
        },
        (["metrics"], _) => method_not_allowed("GET, HEAD"),
        (["streams"], "GET") => {
            let statuses = manager.list();
            let reports: Vec<StatusReport<'_>> = statuses.iter().map(StatusReport::new).collect();
            respond_json(200, &reports)
        }
        (["streams"], "POST") => add(manager, &request.body),
        (["streams"], _) => method_not_allowed("GET, HEAD, POST"),
        (["streams", id], "GET" | "DELETE") => match stream_id(id) {
            Err(response) => response,
            Ok(id) if method == "GET" => report(manager, &id, 200),
            Ok(id) => match manager.remove(&id) {
                Ok(()) => Response {
                    status: 204,
                    content_type: TEXT,
                    body: Vec::new(),
                    allow: None,
                    location: None,
                },
                Err(failure) => library_error(&failure),
            },
        },
        (["streams", _], _) => method_not_allowed("GET, HEAD, DELETE"),
        (["streams", id, action @ ("start" | "stop" | "restart")], "POST") => {
            let id = match stream_id(id) {
                Ok(id) => id,
                Err(response) => return response,
            };
            let done = match *action {
                "start" => manager.start(&id),
                "stop" => manager.stop(&id),
                _ => manager.restart(&id),
            };
            match done {
                Ok(()) => report(manager, &id, 200),
                Err(failure) => library_error(&failure),
            }
        }
        (["streams", _, "start" | "stop" | "restart"], _) => method_not_allowed("POST"),
        _ => error(404, format!("no such path `/{path}`"), None),
    }
}

/// A percent-decoded stream id from the path.
fn stream_id(segment: &str) -> Result<String, Response> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|id| id.into_owned())
        .map_err(|_| error(400, "the stream id is not UTF-8", Some("id")))
}

fn report(manager: &StreamManager, id: &str, status: u16) -> Response {
    match manager.status(id) {
        Ok(stream) => respond_json(status, &StatusReport::new(&stream)),
        Err(failure) => library_error(&failure),
    }
}

/// The body of `POST /streams`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddStream {
    id: Option<String>,
    url: Option<String>,
    #[serde(default)]
    options: Option<StreamOptions>,
}

fn add(manager: &StreamManager, body: &[u8]) -> Response {
    let request: AddStream = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(failure) => return json_error(body, &failure),
    };
    let Some(id) = request.id else {
        return error(400, "missing field `id`", Some("id"));
    };
    let Some(url) = request.url else {
        return error(400, "missing field `url`", Some("url"));
    };
    let config = match options::apply(request.options.unwrap_or_default(), &url) {
        Ok(config) => config,
        Err(failure) => {
            let field = match failure.field() {
                "url" => "url".to_owned(),
                option => format!("options.{option}"),
            };
            return error(400, format!("{field}: {}", failure.message()), Some(&field));
        }
    };
    if let Err(failure) = manager.add(&id, config) {
        return library_error(&failure);
    }
    let mut response = report(manager, &id, 201);
    if response.status == 201 {
        let path: String =
            percent_encoding::utf8_percent_encode(&id, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        response.location = Some(format!("/streams/{path}"));
    }
    response
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
        return error_with(400, format!("invalid JSON: {failure}"), None, position);
    }
    let field = culprit(body, failure);
    let message = match &field {
        Some(field) => format!("{field}: {failure}"),
        None => failure.to_string(),
    };
    error_with(400, message, field.as_deref(), position)
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
fn library_error(failure: &Error) -> Response {
    let field = blamed(failure);
    let status = match failure.kind() {
        ErrorKind::InvalidConfig => 400,
        ErrorKind::UnknownStream => 404,
        ErrorKind::AlreadyExists => 409,
        ErrorKind::OverBudget => 507,
        _ => 500,
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
