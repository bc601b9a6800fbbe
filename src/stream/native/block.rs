//! The worker's hidden async runtime: one tokio current-thread runtime per
//! session, and [`Runtime::run`], which drives one retina future to its end,
//! the read or request deadline, or the stop request, whichever comes first.
//!
//! The stop request is a flag ([`Interrupt`](crate::ffmpeg::Interrupt)), not
//! a waker; [`run`](Runtime::run) looks at it every [`STOP_POLL`] while the
//! future is pending, so a stop ends any request or read within that long.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::error::{Error, ErrorKind, Result};

/// How often a pending future's wait looks at the stop flag.
pub(super) const STOP_POLL: Duration = Duration::from_millis(50);

/// How a [`Runtime::run`] ended.
pub(super) enum Ran<T> {
    /// The future finished.
    Done(T),
    /// The deadline passed first.
    TimedOut,
}

/// A current-thread tokio runtime (IO and timers, no worker threads).
pub(super) struct Runtime(tokio::runtime::Runtime);

impl Runtime {
    pub(super) fn new() -> Result<Self> {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map(Self)
            .map_err(|error| {
                Error::new(
                    ErrorKind::Connect,
                    format!("starting the native RTSP client's runtime: {error}"),
                )
            })
    }

    /// Drives `future` on this thread until it finishes, `timeout` passes or
    /// `stopped` says so (then the future is dropped: retina's requests and
    /// reads are cancelled by dropping them, and the session is not reused).
    ///
    /// # Errors
    /// [`ErrorKind::Stopped`] on a stop request.
    pub(super) fn run<F: Future>(
        &self,
        future: F,
        timeout: Duration,
        stopped: &dyn Fn() -> bool,
    ) -> Result<Ran<F::Output>> {
        if stopped() {
            return Err(stopped_error());
        }
        self.0.block_on(async {
            let mut future = pin!(future);
            let mut deadline = pin!(tokio::time::sleep(timeout));
            let mut tick = tokio::time::interval(STOP_POLL);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            poll_fn(|cx| {
                if let Poll::Ready(output) = future.as_mut().poll(cx) {
                    return Poll::Ready(Ok(Ran::Done(output)));
                }
                if stopped() {
                    return Poll::Ready(Err(stopped_error()));
                }
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Ok(Ran::TimedOut));
                }
                // Registers the waker for the next look at the stop flag.
                while tick.poll_tick(cx).is_ready() {}
                Poll::Pending
            })
            .await
        })
    }

    /// Enters the runtime's context (retina's `Drop` may spawn a task).
    pub(super) fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.0.enter()
    }
}

fn stopped_error() -> Error {
    Error::new(ErrorKind::Stopped, "stopped")
}
