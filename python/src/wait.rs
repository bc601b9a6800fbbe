//! Blocking waits from Python: the GIL released while waiting, in slices
//! short enough that Ctrl-C (a pending signal) raises KeyboardInterrupt
//! promptly.

use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The longest a wait runs without looking for pending signals.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// What one slice of a wait found.
pub(crate) enum Slice<T> {
    /// The thing waited for.
    Got(T),
    /// Nothing yet; wait on.
    Nothing,
    /// Nothing will come (the stream ended): stop waiting.
    Ended,
}

/// A Python timeout in seconds (`None`: no limit) as a deadline.
pub(crate) fn deadline(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(seconds) if seconds.is_nan() || seconds < 0.0 => Err(PyValueError::new_err(format!(
            "timeout {seconds} is not a number of seconds ≥ 0 (or None)"
        ))),
        Some(seconds) => Ok(Duration::try_from_secs_f64(seconds)
            .ok()
            .and_then(|timeout| Instant::now().checked_add(timeout))),
    }
}

/// Runs `attempt(slice)` with the GIL released until it gets something, says
/// nothing will come, or `deadline` passes (`None` then); between slices,
/// pending signals run their Python handlers (Ctrl-C raises
/// KeyboardInterrupt here).
pub(crate) fn sliced<T, F>(
    py: Python<'_>,
    deadline: Option<Instant>,
    mut attempt: F,
) -> PyResult<Option<T>>
where
    T: Send,
    F: FnMut(Duration) -> Slice<T> + Send,
{
    loop {
        let slice = match deadline {
            None => SLICE,
            Some(deadline) => deadline
                .saturating_duration_since(Instant::now())
                .min(SLICE),
        };
        match py.detach(|| attempt(slice)) {
            Slice::Got(value) => return Ok(Some(value)),
            Slice::Ended => return Ok(None),
            Slice::Nothing => {}
        }
        py.check_signals()?;
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(None);
        }
    }
}
