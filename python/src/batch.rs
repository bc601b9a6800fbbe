//! `rtsp_ingest.Batcher`: the library's [`Batcher`] (issue 8's batch wait and
//! `next_ready`), owned together with the manager it borrows.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use rtsp_ingest::manager::{Batcher, StreamManager};
use self_cell::self_cell;

use crate::frame::PyFrame;
use crate::manager::{missing_name, PyBatch};
use crate::wait::{self, Slice};

type Borrowing<'m> = Batcher<'m>;

self_cell!(
    /// A batcher and the manager it borrows, in one owned value.
    struct OwnedBatcher {
        owner: Arc<StreamManager>,
        #[covariant]
        dependent: Borrowing,
    }
);

/// Frames across several streams of a Manager, never one twice.
///
/// ``wait_batch(timeout)`` blocks until every stream has a new frame at most
/// ``max_age`` old, or until ``timeout`` seconds pass, and returns what there
/// is as a Batch (stopped, failed or locked-out streams are not waited for);
/// ``next_ready(timeout)`` returns ``(id, frame)`` of the next stream with a
/// fresh frame, taking streams in turn, or None on timeout.
#[pyclass(frozen, module = "rtsp_ingest", name = "Batcher")]
pub(crate) struct PyBatcher {
    inner: Mutex<OwnedBatcher>,
}

impl PyBatcher {
    pub(crate) fn new(manager: Arc<StreamManager>, ids: &[String], max_age: Duration) -> Self {
        let owned = OwnedBatcher::new(manager, |manager| manager.batcher(ids, max_age));
        Self {
            inner: Mutex::new(owned),
        }
    }

    fn lock(&self) -> MutexGuard<'_, OwnedBatcher> {
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

#[pymethods]
impl PyBatcher {
    /// A batch: every stream's next fresh frame, or what there is once
    /// ``timeout`` seconds have passed (None: no limit). The GIL is released
    /// while waiting; Ctrl-C raises KeyboardInterrupt promptly (the wait
    /// looks up every 50 ms and carries on with the same batch).
    #[pyo3(signature = (timeout=None))]
    fn wait_batch(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PyBatch> {
        let deadline = wait::deadline(timeout)?;
        loop {
            let pause = Instant::now() + wait::SLICE;
            let made = py.detach(|| {
                self.lock().with_dependent_mut(|_, batcher| {
                    let batch = batcher.wait_batch_until(deadline, pause)?;
                    let frames: Vec<_> = batch
                        .frames()
                        .map(|(id, frame, age)| (id.to_owned(), frame.clone(), age))
                        .collect();
                    let missing: Vec<_> = batch
                        .missing()
                        .map(|(id, why)| (id.to_owned(), missing_name(why)))
                        .collect();
                    Some((frames, missing))
                })
            });
            if let Some((frames, missing)) = made {
                return PyBatch::new(py, frames, missing);
            }
            py.check_signals()?;
        }
    }

    /// ``(id, frame)`` of the next stream with a fresh frame newer than the
    /// last one handed out for it (streams taken in turn when several are
    /// ready), or None if none comes within ``timeout`` seconds (None: no
    /// limit). GIL released; Ctrl-C raises KeyboardInterrupt promptly.
    #[pyo3(signature = (timeout=None))]
    fn next_ready(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
    ) -> PyResult<Option<(String, PyFrame)>> {
        let deadline = wait::deadline(timeout)?;
        let found = wait::sliced(py, deadline, |slice| {
            let next = self.lock().with_dependent_mut(|_, batcher| {
                batcher
                    .next_ready(slice)
                    .map(|(id, frame)| (id.to_owned(), frame))
            });
            match next {
                Some(found) => Slice::Got(found),
                None => Slice::Nothing,
            }
        })?;
        Ok(found.map(|(id, frame)| (id, PyFrame::new(frame))))
    }
}
