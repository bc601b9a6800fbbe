//! `rtsp_ingest.Stream`: one camera, as the library's [`Stream`] runs it.

use std::sync::{Mutex, MutexGuard};

use crossbeam_channel::Receiver;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use rtsp_ingest::stream::{FrameSource, Stream, StreamEvent};

use crate::errors::OrRaise;
use crate::frame::PyFrame;
use crate::options;
use crate::status;
use crate::wait::{self, Slice};

/// One RTSP camera, decoded into a slab of preallocated frames.
///
/// ``Stream(url, *, id=None, format="bgr24", resize=None, transport="prefer_tcp", **options)``
/// starts the stream's worker at once and returns (the stream is connecting);
/// it reconnects on its own until ``stop()``. Use it as a context manager::
///
///     with rtsp_ingest.Stream("rtsp://user:pw@10.0.0.5/live") as camera:
///         for frame in camera:               # each newer frame, never one twice
///             image = np.asarray(frame)      # (h, w, 3) uint8, no copy
///
/// Options (keywords, each the library's setting of the same name):
/// ``format`` (bgr24, rgb24, gray8, yuv420p, nv12, rgb_planar: a (3, h, w)
/// array), ``resize`` ((w, h) or "WxH"), ``resize_mode`` ("stretch" or
/// "letterbox": aspect kept, padded with ``pad_value``, default 114; see
/// ``Frame.content_rect``), ``scale_algorithm`` (point, fast_bilinear,
/// bilinear, bicubic, area), ``decode_in_place`` (default True: a yuv420p
/// stream at the camera's size is decoded straight into its frames, no copy),
/// ``transport`` (prefer_tcp, tcp, udp, udp_multicast, http, auto),
/// ``decode_threads``, ``skip`` ("all", "keyframes", "every_nth(N)" or N),
/// ``on_damage`` ("hold": only clean frames; "flag": damaged ones too, see
/// ``Frame.damage``),
/// ``connect_timeout``, ``stall_timeout``, ``auth_retry`` (seconds),
/// ``backoff`` ((initial, max) seconds), ``queue_capacity``, ``drop_policy``,
/// ``reader_slots`` (spare slots for frames Python holds), ``max_memory_mb``,
/// ``core``, ``username``, ``password``.
///
/// Raises:
///     ConfigError: for an invalid URL or option (``.field`` names it).
#[pyclass(frozen, module = "rtsp_ingest", name = "Stream")]
pub(crate) struct PyStream {
    id: String,
    url: String,
    /// The library's handle; locked only with the GIL released (`stop` holds
    /// it while the worker ends).
    stream: Mutex<Stream>,
    frames: FrameSource,
    events: Option<Receiver<StreamEvent>>,
}

impl PyStream {
    fn lock(&self) -> MutexGuard<'_, Stream> {
        self.stream
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Whether the worker has ended (stopped or failed for good).
    fn is_finished(&self) -> bool {
        self.lock().is_finished()
    }

    /// The next frame newer than `after` (any frame for `None`).
    pub(crate) fn wait_frame(
        &self,
        py: Python<'_>,
        after: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Option<PyFrame>> {
        let deadline = wait::deadline(timeout)?;
        let frame = wait::sliced(py, deadline, |slice| {
            let frame = match after {
                Some(seq) => self.frames.wait_after(seq, slice),
                None => self.frames.wait_latest(slice),
            };
            match frame {
                Some(frame) => Slice::Got(frame),
                None if self.is_finished() => Slice::Ended,
                None => Slice::Nothing,
            }
        })?;
        Ok(frame.map(PyFrame::new))
    }
}

#[pymethods]
impl PyStream {
    #[new]
    #[pyo3(signature = (url, *, id=None, format="bgr24", resize=None, transport="prefer_tcp", **options))]
    fn new(
        py: Python<'_>,
        url: &str,
        id: Option<String>,
        format: &str,
        resize: Option<Bound<'_, PyAny>>,
        transport: &str,
        options: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let all = options.unwrap_or_else(|| PyDict::new(py));
        all.set_item("format", format)?;
        all.set_item("transport", transport)?;
        if let Some(resize) = resize {
            all.set_item("resize", resize)?;
        }
        let config = options::stream_config(url, Some(&all))?;
        let id = id.unwrap_or_else(|| "stream".to_owned());
        let shown_url = config.url().to_owned();
        let stream = py.detach(|| Stream::start(id.clone(), config)).or_raise()?;
        Ok(Self {
            id,
            url: shown_url,
            frames: stream.frames(),
            events: stream.events().cloned(),
            stream: Mutex::new(stream),
        })
    }

    /// The stream's id.
    #[getter]
    fn id(&self) -> &str {
        &self.id
    }

    /// The URL without credentials (and with secret parameters masked).
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// The newest frame, or None before the first one.
    fn latest(&self) -> Option<PyFrame> {
        self.frames.latest().map(PyFrame::new)
    }

    /// The newest frame if its ``seq`` is above ``seq``, else None: pass the
    /// last frame's ``seq`` to never see a frame twice.
    fn latest_after(&self, seq: u64) -> Option<PyFrame> {
        self.frames.latest_after(seq).map(PyFrame::new)
    }

    /// Blocks (with the GIL released) until a frame newer than ``after``
    /// arrives — any frame for ``after=None`` — or ``timeout`` seconds pass
    /// (None: no limit). Returns the newest such frame, or None on timeout
    /// or once the stream has stopped. Ctrl-C raises KeyboardInterrupt
    /// within about 50 ms.
    #[pyo3(signature = (after=None, timeout=None))]
    fn wait(
        &self,
        py: Python<'_>,
        after: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Option<PyFrame>> {
        self.wait_frame(py, after, timeout)
    }

    /// Each frame newer than the last one yielded, blocking for it, until the
    /// stream stops. Frames that arrive while the loop body runs are skipped
    /// in favour of the newest.
    fn __iter__(slf: Bound<'_, Self>) -> FrameIterator {
        FrameIterator {
            stream: slf.unbind(),
            last: Mutex::new(None),
        }
    }

    /// State, counters, latency and last error as a dict (no password).
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let snapshot = py.detach(|| self.lock().status());
        status::status_dict(py, &snapshot)
    }

    /// State transitions since the last call (oldest first), as dicts
    /// ``{"id", "state", "at", "error"}``; never blocks.
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        if let Some(events) = &self.events {
            for event in events.try_iter() {
                list.append(status::event_dict(py, &event)?)?;
            }
        }
        Ok(list)
    }

    /// Stops the worker (within about 200 ms whatever the camera does) and
    /// wakes every waiter. Returns False if the worker did not end within
    /// 1.5 s (it is then left to end alone). Frames already taken stay valid.
    fn stop(&self, py: Python<'_>) -> bool {
        py.detach(|| self.lock().stop())
    }

    /// Whether the worker has ended (stopped, or failed for good).
    #[getter]
    fn finished(&self, py: Python<'_>) -> bool {
        py.detach(|| self.is_finished())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> bool {
        self.stop(py);
        false
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let state = py.detach(|| self.lock().status().state.name());
        format!("<Stream {} {} {state}>", self.id, self.url)
    }
}

/// Iterates a stream's frames: each newer than the last, until it stops.
#[pyclass(frozen, module = "rtsp_ingest")]
pub(crate) struct FrameIterator {
    stream: Py<PyStream>,
    last: Mutex<Option<u64>>,
}

#[pymethods]
impl FrameIterator {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyFrame>> {
        let after = *self
            .last
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let frame = self.stream.get().wait_frame(py, after, None)?;
        if let Some(frame) = &frame {
            *self
                .last
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()) = Some(frame.seq());
        }
        Ok(frame)
    }
}
