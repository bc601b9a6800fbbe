//! The engine's `Instant`s as Python's `time.monotonic()` seconds, and
//! `SystemTime`s as Unix seconds. On Linux both `Instant` and
//! `time.monotonic()` read `CLOCK_MONOTONIC`, so one pair of readings taken
//! when the module loads converts every instant after it.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;

/// An `Instant` and the `time.monotonic()` read right after it.
static ANCHOR: OnceLock<(Instant, f64)> = OnceLock::new();

/// Takes the anchor readings (once, at import).
pub(crate) fn init(py: Python<'_>) -> PyResult<()> {
    let instant = Instant::now();
    let monotonic: f64 = py.import("time")?.call_method0("monotonic")?.extract()?;
    let _ = ANCHOR.set((instant, monotonic));
    Ok(())
}

/// `instant` in `time.monotonic()` seconds.
pub(crate) fn monotonic(instant: Instant) -> f64 {
    let (anchor, seconds) = *ANCHOR.get_or_init(|| (Instant::now(), 0.0));
    match instant.checked_duration_since(anchor) {
        Some(after) => seconds + after.as_secs_f64(),
        None => seconds - anchor.duration_since(instant).as_secs_f64(),
    }
}

/// `time` in seconds since the Unix epoch (negative before it).
pub(crate) fn unix(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}
