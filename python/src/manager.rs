//! `rtsp_ingest.Manager`: many cameras, as the library's [`StreamManager`]
//! runs them; and `Batch`, the newest frames of several of them.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use rtsp_ingest::manager::{ManagerConfig, Missing, StreamManager};
use rtsp_ingest::slab::Frame;

use crate::batch::PyBatcher;
use crate::errors::OrRaise;
use crate::frame::PyFrame;
use crate::options;
use crate::status;
use crate::wait::{self, Slice};

/// Many RTSP cameras: added, removed, started, stopped and restarted at run
/// time, their workers pinned to cores, their slabs within one memory budget.
///
/// ``Manager(memory_budget_mb=None, cores=None)``: ``cores`` lists the cores
/// decode workers are pinned to, round robin (None: every core, as the
/// library does; ``[]`` too; ``False``: no pinning). A context manager:
/// leaving it shuts every stream down (within about half a second).
#[pyclass(frozen, module = "rtsp_ingest", name = "Manager")]
pub(crate) struct PyManager {
    pub(crate) inner: Arc<StreamManager>,
}

/// A frame age limit in seconds (`None`: no limit).
pub(crate) fn max_age(seconds: Option<f64>) -> PyResult<Duration> {
    match seconds {
        None => Ok(Duration::MAX),
        Some(seconds) => Duration::try_from_secs_f64(seconds).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "max_age {seconds} is not a number of seconds ≥ 0 (or None)"
            ))
        }),
    }
}

/// The snake_case name of why a batch has no frame for a stream.
pub(crate) fn missing_name(missing: &Missing) -> &'static str {
    match missing {
        Missing::UnknownStream => "unknown_stream",
        Missing::NoFrame => "no_frame",
        Missing::TooOld(_) => "too_old",
        Missing::NotStreaming(_) => "not_streaming",
        Missing::NoNewFrame => "no_new_frame",
    }
}

#[pymethods]
impl PyManager {
    #[new]
    #[pyo3(signature = (memory_budget_mb=None, cores=None))]
    fn new(memory_budget_mb: Option<f64>, cores: Option<Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut config = ManagerConfig::default();
        if let Some(megabytes) = memory_budget_mb {
            config = config.memory_budget_mb(megabytes);
        }
        match cores {
            None => {}
            Some(cores) if cores.is_instance_of::<pyo3::types::PyBool>() => {
                let pin: bool = cores.extract()?;
                if !pin {
                    config = config.no_pinning();
                }
            }
            Some(cores) => {
                let cores: Vec<usize> = cores.extract().map_err(|_| {
                    crate::errors::config_error(
                        "cores",
                        "cores is a list of core indices, or False",
                    )
                })?;
                config = config.cores(cores);
            }
        }
        Ok(Self {
            inner: Arc::new(StreamManager::new(config)),
        })
    }

    /// Adds stream ``id`` reading ``url`` and starts it. Options as for
    /// ``Stream`` (format, resize, transport, queue_capacity, ...).
    ///
    /// Raises:
    ///     AlreadyExistsError: for an id already managed.
    ///     OverBudgetError: when its slab would pass the memory budget.
    ///     ConfigError: for an invalid id, URL or option.
    #[pyo3(signature = (id, url, **options))]
    fn add(
        &self,
        py: Python<'_>,
        id: &str,
        url: &str,
        options: Option<Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let config = options::stream_config(url, options.as_ref())?;
        py.detach(|| self.inner.add(id, config)).or_raise()
    }

    /// Stops and forgets stream ``id``, releasing its memory.
    fn remove(&self, py: Python<'_>, id: &str) -> PyResult<()> {
        py.detach(|| self.inner.remove(id)).or_raise()
    }

    /// Starts a stopped stream (a running one is left alone).
    fn start(&self, py: Python<'_>, id: &str) -> PyResult<()> {
        py.detach(|| self.inner.start(id)).or_raise()
    }

    /// Stops a stream, keeping it listed with its last frames and status.
    fn stop(&self, py: Python<'_>, id: &str) -> PyResult<()> {
        py.detach(|| self.inner.stop(id)).or_raise()
    }

    /// Stops and starts a stream again: a fresh connection and slab.
    fn restart(&self, py: Python<'_>, id: &str) -> PyResult<()> {
        py.detach(|| self.inner.restart(id)).or_raise()
    }

    /// Stream ``id``'s status dict (as ``Stream.status()``).
    ///
    /// Raises:
    ///     UnknownStreamError: for an id not managed.
    fn status<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyDict>> {
        let snapshot = self.inner.status(id).or_raise()?;
        status::status_dict(py, &snapshot)
    }

    /// Every stream's status dict, by id.
    fn list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for snapshot in self.inner.list() {
            list.append(status::status_dict(py, &snapshot)?)?;
        }
        Ok(list)
    }

    /// The ids of every stream, sorted.
    fn ids(&self) -> Vec<String> {
        self.inner.ids()
    }

    /// Stream ``id``'s newest frame, or None (also for an unknown id).
    fn latest(&self, id: &str) -> Option<PyFrame> {
        self.inner.latest(id).map(PyFrame::new)
    }

    /// Blocks (GIL released, Ctrl-C honoured) until stream ``id`` has a frame
    /// newer than ``after`` (any frame for None) or ``timeout`` seconds pass;
    /// None on timeout or once the stream is stopped or failed.
    ///
    /// Raises:
    ///     UnknownStreamError: for an id not managed.
    #[pyo3(signature = (id, after=None, timeout=None))]
    fn wait(
        &self,
        py: Python<'_>,
        id: &str,
        after: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Option<PyFrame>> {
        let deadline = wait::deadline(timeout)?;
        let manager = &*self.inner;
        let found = wait::sliced(py, deadline, |slice| {
            let frame = match after {
                Some(seq) => manager.wait_after(id, seq, slice),
                None => manager.wait_latest(id, slice),
            };
            match frame {
                Some(frame) => Slice::Got(Ok(frame)),
                None => match manager.status(id) {
                    Err(error) => Slice::Got(Err(error)),
                    Ok(status) if matches!(status.state.name(), "stopped" | "failed") => {
                        Slice::Ended
                    }
                    Ok(_) => Slice::Nothing,
                },
            }
        })?;
        match found {
            None => Ok(None),
            Some(frame) => Ok(Some(PyFrame::new(frame.or_raise()?))),
        }
    }

    /// The newest frame of each of ``ids`` at most ``max_age`` seconds old
    /// (None: any age), as a Batch; the others are in ``batch.missing`` with
    /// the reason. Never blocks; no pixels are copied.
    #[pyo3(signature = (ids, max_age=None))]
    fn latest_batch(
        &self,
        py: Python<'_>,
        ids: Vec<String>,
        max_age: Option<f64>,
    ) -> PyResult<PyBatch> {
        let batch = self.inner.latest_batch(&ids, self::max_age(max_age)?);
        let missing = batch
            .missing
            .iter()
            .map(|(id, why)| (id.clone(), missing_name(why)))
            .collect();
        PyBatch::new(
            py,
            batch.frames.into_iter().map(|(id, frame)| {
                let age = frame.age();
                (id, frame, age)
            }),
            missing,
        )
    }

    /// A Batcher over ``ids``: batches across cameras (``wait_batch``) and
    /// frames as they land (``next_ready``), never a frame twice, leaving out
    /// frames older than ``max_age`` seconds (None: any age).
    #[pyo3(signature = (ids, max_age=None))]
    fn batcher(&self, ids: Vec<String>, max_age: Option<f64>) -> PyResult<PyBatcher> {
        Ok(PyBatcher::new(
            Arc::clone(&self.inner),
            &ids,
            self::max_age(max_age)?,
        ))
    }

    /// Pixel memory reserved by every stream together and the budget, in bytes.
    fn memory(&self) -> (usize, Option<usize>) {
        self.inner.memory()
    }

    /// State transitions of every stream since the last call, oldest first
    /// (dicts as ``Stream.events()``); never blocks.
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for event in self.inner.events().try_iter() {
            list.append(status::event_dict(py, &event)?)?;
        }
        Ok(list)
    }

    /// Every stream's metrics in the Prometheus text format.
    fn metrics_text(&self) -> String {
        self.inner.metrics_text()
    }

    /// Stops every stream, in parallel, within about half a second. They
    /// stay listed, stopped.
    fn shutdown(&self, py: Python<'_>) {
        py.detach(|| self.inner.shutdown());
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> bool {
        self.shutdown(py);
        false
    }

    fn __repr__(&self) -> String {
        format!("<Manager streams={:?}>", self.inner.ids())
    }
}

/// The newest frames of several streams, for one inference batch.
///
/// ``ids``, ``frames`` and ``ages`` (seconds, when the batch was made) are
/// parallel lists in the order asked; ``missing`` maps each stream left out
/// to why: ``"unknown_stream"``, ``"no_frame"``, ``"too_old"``,
/// ``"not_streaming"`` or ``"no_new_frame"``. Iterating yields
/// ``(id, frame)`` pairs; ``stack()`` copies the frames into one array.
#[pyclass(frozen, module = "rtsp_ingest", name = "Batch")]
pub(crate) struct PyBatch {
    #[pyo3(get)]
    ids: Py<PyList>,
    #[pyo3(get)]
    frames: Py<PyList>,
    #[pyo3(get)]
    ages: Py<PyList>,
    #[pyo3(get)]
    missing: Py<PyDict>,
}

impl PyBatch {
    pub(crate) fn new(
        py: Python<'_>,
        frames: impl IntoIterator<Item = (String, Frame, Duration)>,
        missing: Vec<(String, &'static str)>,
    ) -> PyResult<Self> {
        let (ids_list, frames_list, ages_list) =
            (PyList::empty(py), PyList::empty(py), PyList::empty(py));
        for (id, frame, age) in frames {
            ids_list.append(id)?;
            frames_list.append(Bound::new(py, PyFrame::new(frame))?)?;
            ages_list.append(age.as_secs_f64())?;
        }
        let missing_dict = PyDict::new(py);
        for (id, why) in missing {
            missing_dict.set_item(id, why)?;
        }
        Ok(Self {
            ids: ids_list.unbind(),
            frames: frames_list.unbind(),
            ages: ages_list.unbind(),
            missing: missing_dict.unbind(),
        })
    }
}

#[pymethods]
impl PyBatch {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.frames.bind(py).len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let pairs = py
            .import("builtins")?
            .getattr("zip")?
            .call1((self.ids.bind(py), self.frames.bind(py)))?;
        Ok(pairs)
    }

    /// The frames copied into one array of shape ``(n, *frame.shape)``
    /// (``numpy.stack``): the one copy a contiguous model input needs.
    /// Frames must share a shape (streams resized alike).
    fn stack<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let numpy = py.import("numpy")?;
        let arrays = PyList::empty(py);
        for frame in self.frames.bind(py).iter() {
            arrays.append(numpy.getattr("asarray")?.call1((frame,))?)?;
        }
        numpy.getattr("stack")?.call1((arrays,))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<Batch ids={} missing={}>",
            self.ids
                .bind(py)
                .repr()
                .map_or_else(|_| "?".into(), |r| r.to_string()),
            self.missing
                .bind(py)
                .repr()
                .map_or_else(|_| "?".into(), |r| r.to_string())
        )
    }
}
