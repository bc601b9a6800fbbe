//! The control API (`run --http ADDR`, cargo feature `http`): streams are
//! listed, added, removed, started, stopped and restarted over HTTP, `/metrics`
//! serves Prometheus, `/openapi.json` describes it all, and `/` is a live
//! dashboard of every camera.
//!
//! axum on a tokio runtime of its own (two workers, on a thread of its own):
//! the library stays synchronous, and handlers call the [`StreamManager`]
//! directly where it does not block (status reads) and through
//! `spawn_blocking` where it may (add, stop, remove, restart).
//!
//! This module owns the connection: hyper's HTTP/1.1 with its request-head
//! limits ([`MAX_HEAD`] bytes, [`MAX_HEADERS`] headers: 431), one request per
//! connection, and a whole request within [`REQUEST_TIME`] (408); the body
//! limits (411, 413) and the routes are in [`api`].
//!
//! Passwords never leave: statuses carry URLs without credentials, and every
//! error message, and the request target logged for each request, is scrubbed
//! with [`redact`](rtsp_ingest::redact::redact) on the way out. Bearer tokens
//! ([`auth`]) are [`Secret`](rtsp_ingest::stream::Secret)s: never printed.

// Helpers return `Result<_, Response>`, the whole early answer, as axum's
// handlers do; one per request, far from any hot path, so its size is moot.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod auth;
mod dashboard;
mod errors;
mod frames;
pub mod openapi;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::rt::{TokioIo, TokioTimer};
use rtsp_ingest::manager::StreamManager;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

pub use auth::Access;

/// The largest request head (request line and headers), in bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// The largest request body, in bytes; larger ones get 413.
pub const MAX_BODY: usize = 64 * 1024;
/// The most headers a request may have.
pub const MAX_HEADERS: usize = 64;
/// How long a client has to send a whole request.
pub const REQUEST_TIME: Duration = Duration::from_secs(10);
/// How long `shutdown` waits for requests in progress.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// The 408 written straight to the socket when a request head is late (hyper
/// only closes the connection).
const HEAD_TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\
Cache-Control: no-store\r\nContent-Type: application/json\r\nContent-Length: 49\r\n\r\n\
{\"error\": \"the request took too long to arrive\"}\n";

/// A running control API. [`Server::shutdown`] stops it.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: thread::JoinHandle<()>,
}

impl Server {
    /// Binds `addr` (`host:port`; port 0 picks a free one) and serves
    /// `manager` to the clients `access` lets in.
    ///
    /// # Errors
    /// When `addr` cannot be bound, or the runtime cannot be started.
    pub fn start(addr: &str, manager: Arc<StreamManager>, access: Access) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(16)
            .thread_name("http")
            .enable_all()
            .build()?;
        let (stop, stopping) = watch::channel(false);
        let state = api::AppState::new(manager, access, stopping.clone());
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let thread = thread::Builder::new().name("http".into()).spawn(move || {
            runtime.block_on(serve(listener, state, stopping));
            runtime.shutdown_timeout(Duration::from_millis(100));
        })?;
        Ok(Server { addr, stop, thread })
    }

    /// The address bound (with the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, then waits (at most about a second) for requests in
    /// progress to finish; live views (`/mjpeg`, `/events`) end at once.
    pub fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.thread.join();
    }
}

/// Accepts connections until told to stop, then gives those in progress
/// [`SHUTDOWN_WAIT`].
async fn serve(
    listener: tokio::net::TcpListener,
    state: api::AppState,
    mut stopping: watch::Receiver<bool>,
) {
    let router = api::router(state);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopping.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, router.clone()));
                }
                // Out of file descriptors or an aborted handshake: try again,
                // without spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = tokio::time::timeout(SHUTDOWN_WAIT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// What a handler learns about its connection.
#[derive(Clone, Copy, Debug)]
pub struct Connection {
    /// The client's address, for the request log.
    pub peer: SocketAddr,
    /// When the whole request must have arrived.
    pub deadline: Instant,
}

/// Serves one request on `stream`.
async fn connection(stream: TcpStream, peer: SocketAddr, router: axum::Router) {
    let _ = stream.set_nodelay(true);
    let deadline = Instant::now() + REQUEST_TIME;
    let head_read = Arc::new(AtomicBool::new(false));
    let io = HeadDeadline {
        io: TokioIo::new(stream),
        deadline: Box::pin(tokio::time::sleep_until(deadline)),
        head_read: Arc::clone(&head_read),
        received: false,
    };
    let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
        // Release: pairs with the Acquire in `HeadDeadline::poll_read`; the
        // flag guards nothing but itself.
        head_read.store(true, Ordering::Release);
        request
            .extensions_mut()
            .insert(Connection { peer, deadline });
        router.clone().oneshot(request.map(axum::body::Body::new))
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(false)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_HEAD.max(8192))
        .max_header_size(MAX_HEAD)
        .header_read_timeout(None)
        .serve_connection(io, service)
        .await;
}

/// The connection's socket, with the request head's deadline: when the head
/// has not arrived in time, a client that sent part of one gets a 408 (one
/// that sent nothing is just closed), and the read fails so hyper lets go.
struct HeadDeadline {
    io: TokioIo<TcpStream>,
    deadline: Pin<Box<Sleep>>,
    /// Set once hyper handed the head to the service.
    head_read: Arc<AtomicBool>,
    /// Whether any byte arrived.
    received: bool,
}

impl Read for HeadDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // Acquire: pairs with the Release in `connection`'s service.
        if !this.head_read.load(Ordering::Acquire) && this.deadline.as_mut().poll(cx).is_ready() {
            if this.received {
                // Best effort: a fresh socket's send buffer takes these bytes.
                let _ = this.io.inner().try_write(HEAD_TIMEOUT);
            }
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        // Bytes, or the end of the stream (after which hyper reads no more).
        if let Poll::Ready(Ok(())) = &polled {
            this.received = true;
        }
        polled
    }
}

impl Write for HeadDeadline {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_late_head_answer_counts_its_body() {
        let text = std::str::from_utf8(HEAD_TIMEOUT).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        let error: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(error["error"].is_string());
    }
}
