//! The worker thread's outer loop: connect, run a session, and on its end decide
//! between reconnecting (with full-jitter backoff), waiting out an auth failure,
//! giving up, or stopping.

use std::time::Instant;

use super::handle::StreamShared;
use super::session::{self, SessionEnd};
use super::status::{Counters, StreamState};
use crate::error::{Error, ErrorKind};

/// Runs one stream until it is stopped or fails for good.
pub(crate) fn run(shared: &StreamShared) {
    pin_to_core(shared);
    let mut producer = None;
    run_sessions(shared, &mut producer);
    // The slab's producer goes first: a worker that says it has finished holds
    // no slab (the manager frees its budget then).
    drop(producer);
    shared.mark_finished();
}

/// Sessions, reconnects and waits until a stop or a final failure.
fn run_sessions(shared: &StreamShared, producer: &mut Option<crate::slab::Producer>) {
    let config = &shared.config;
    let status = &shared.status;
    let mut rng = fastrand::Rng::new();
    // Consecutive attempts that published nothing: the backoff exponent.
    let mut failures = 0u32;
    let started = Instant::now();
    loop {
        // A new attempt: the last one's stage is over.
        shared.interrupt.set_stage(None);
        status.set_state(StreamState::Connecting);
        let (end, published) = session::run(shared, started, producer);
        if published {
            failures = 0;
        }
        let error = match end {
            SessionEnd::Stopped => break,
            SessionEnd::Failed(error) => error,
            SessionEnd::Ended => Error::new(ErrorKind::Connect, "the server ended the stream"),
            SessionEnd::Stalled(timeout) => Error::new(
                ErrorKind::Timeout,
                format!("stalled: no frame decoded for {timeout:?}"),
            ),
        };
        if shared.is_stopping() {
            break;
        }
        tracing::warn!(stream = %status.id, url = %status.url, "session ended: {error}");
        match error.kind() {
            ErrorKind::Auth => {
                status.set_state_for(StreamState::AuthFailed, error);
                if !shared.wait(config.auth_retry) {
                    break;
                }
            }
            ErrorKind::Unsupported | ErrorKind::InvalidConfig | ErrorKind::OverBudget => {
                status.set_state_for(StreamState::Failed(error.clone()), error);
                return;
            }
            _ => {
                let delay = config.backoff.delay(failures, &mut rng);
                failures = failures.saturating_add(1);
                status.set_state_for(
                    StreamState::Reconnecting {
                        attempt: failures,
                        next_in: delay,
                    },
                    error,
                );
                if !shared.wait(delay) {
                    break;
                }
            }
        }
        Counters::add(&status.counters.reconnects, 1);
    }
    status.set_state(StreamState::Stopped);
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
