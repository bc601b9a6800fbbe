//! The worker thread's outer loop: connect, run a session, and on its end decide
//! between reconnecting (with full-jitter backoff), switching transport (see
//! [`super::negotiate`]), waiting out an auth failure or a permanent answer
//! (404, 454, ...: the long backoff), giving up, or stopping. A panic anywhere below is contained here: the stream
//! fails with the panic's message and the worker ends like any other.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::client_choice::ClientChoice;
use super::config::Backoff;
use super::handle::StreamShared;
use super::negotiate::{Negotiation, Verdict};
use super::publisher::Publisher;
use super::session::{self, SessionEnd};
use super::status::{Counters, StreamState};
use crate::error::{Error, ErrorKind};

/// Runs one stream until it is stopped, fails for good or panics; always ends
/// by entering its final state and marking the worker finished, so `stop`
/// never waits on a dead worker.
pub(crate) fn run(shared: &StreamShared) {
    // AssertUnwindSafe: what the unwind leaves behind is sound to read. The
    // session's FFmpeg objects, converter and slab producer are locals of the
    // panicking frames and are dropped by the unwind; what outlives it is the
    // status (atomic counters and a state record swapped whole, never seen
    // half-written), the slab's reading ends (published frames are complete;
    // a slot being filled is abandoned when its writer drops) and the interrupt.
    // The panic then fails the stream, so nothing resumes the broken session.
    let failure = match panic::catch_unwind(AssertUnwindSafe(|| run_until_done(shared))) {
        Ok(failure) => failure,
        Err(payload) => {
            let message = crate::redact::redact(panic_message(payload.as_ref())).into_owned();
            Some(Error::new(
                ErrorKind::Panic,
                format!("the worker panicked: {message}"),
            ))
        }
    };
    let status = &shared.status;
    shared.finish(|| match &failure {
        None => status.set_state(StreamState::Stopped),
        Some(error) => status.set_state_for(StreamState::Failed(error.clone()), error.clone()),
    });
    // Logged only now: if the panic came from a `tracing` layer, this may panic
    // again, and the stream must be finished by then.
    if let Some(error) = failure.filter(|error| error.kind() == ErrorKind::Panic) {
        tracing::error!(stream = %status.id, "{error}");
    }
}

/// The text of a panic: `panic!`'s message (a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

/// The worker's life; returns when it was stopped (`None`) or failed for good.
/// The slab's producer is a local here, so it is gone (on return or unwind)
/// before the worker says it has finished: a finished worker holds no slab,
/// and the manager frees its budget then.
fn run_until_done(shared: &StreamShared) -> Option<Error> {
    pin_to_core(shared);
    let config = &shared.config;
    let status = &shared.status;
    let mut rng = fastrand::Rng::new();
    // Consecutive attempts that published nothing: the backoff exponent.
    let mut failures = 0u32;
    let started = Instant::now();
    let mut publisher = Publisher::default();
    let mut negotiation = Negotiation::new(config.transport);
    let mut client = ClientChoice::new(config.rtsp_client, config.transport);
    loop {
        // A new attempt: the last one's stage is over.
        shared.interrupt.set_stage(None);
        status.set_transport(negotiation.current());
        status.set_rtsp_client(client.current());
        status.set_state(StreamState::Connecting);
        // Relaxed: this thread is the counter's only writer.
        let bytes_before = status.counters.bytes_in.load(Ordering::Relaxed);
        let (end, published) = session::run(shared, started, &mut publisher);
        if published {
            failures = 0;
        }
        let mut silent = None;
        let error = match end {
            SessionEnd::Stopped => return None,
            SessionEnd::Failed(error) => error,
            SessionEnd::Ended => Error::new(ErrorKind::Connect, "the server ended the stream"),
            SessionEnd::Stalled(timeout) => {
                // Played, then not one byte: the transport delivers nothing.
                let bytes_after = status.counters.bytes_in.load(Ordering::Relaxed);
                if !published && bytes_after == bytes_before {
                    silent = Some(timeout);
                }
                Error::new(
                    ErrorKind::Timeout,
                    format!("stalled: no frame decoded for {timeout:?}"),
                )
            }
        };
        if shared.is_stopping() {
            return None;
        }
        tracing::warn!(stream = %status.id, url = %status.url, "session ended: {error}");
        let verdict = match negotiation.judge(error, silent) {
            Verdict::Retry(error) => match client.judge(&error, published) {
                Some(switched) => Verdict::Switch(switched),
                None => Verdict::Retry(error),
            },
            other => other,
        };
        let error = match verdict {
            Verdict::Retry(error) => error,
            Verdict::Fail(error) => return Some(error),
            Verdict::Switch(error) => {
                tracing::warn!(stream = %status.id, "{error}");
                status.set_state_for(
                    StreamState::Reconnecting {
                        attempt: failures.saturating_add(1),
                        next_in: Duration::ZERO,
                    },
                    error,
                );
                Counters::add(&status.counters.reconnects, 1);
                continue;
            }
        };
        match error.kind() {
            ErrorKind::Auth => {
                status.set_state_for(StreamState::AuthFailed, error);
                if !shared.wait(config.auth_retry) {
                    return None;
                }
            }
            ErrorKind::Unsupported | ErrorKind::InvalidConfig | ErrorKind::OverBudget => {
                return Some(error);
            }
            kind => {
                let delay = match kind {
                    // An answer that retrying soon will not change: the long wait.
                    ErrorKind::NotFound | ErrorKind::Refused => {
                        permanent_delay(&config.backoff, &mut rng)
                    }
                    _ => config.backoff.delay(failures, &mut rng),
                };
                failures = failures.saturating_add(1);
                status.set_state_for(
                    StreamState::Reconnecting {
                        attempt: failures,
                        next_in: delay,
                    },
                    error,
                );
                if !shared.wait(delay) {
                    return None;
                }
            }
        }
        Counters::add(&status.counters.reconnects, 1);
    }
}

/// The wait after a permanent answer (404, 454, another 4xx): between half
/// the backoff's ceiling and the ceiling (15 – 30 s by default), jittered so
/// that cameras refused together do not come back together.
fn permanent_delay(backoff: &Backoff, rng: &mut fastrand::Rng) -> Duration {
    let half = backoff.max / 2;
    half + Backoff {
        initial: half,
        max: half,
    }
    .delay(0, rng)
}

fn pin_to_core(shared: &StreamShared) {
    let Some(index) = shared.config.core else {
        return;
    };
    let pinned = core_affinity::get_core_ids()
        .and_then(|cores| cores.get(index).copied())
        .is_some_and(core_affinity::set_for_current);
    if !pinned {
        tracing::warn!(stream = %shared.status.id, "could not pin the worker to core {index}");
    }
}
