//! `rtsp_ingest.Frame`: one slab frame leased to Python. The object holds the
//! slab's handle (which keeps the slot out of reuse) and exports its pixels
//! through the buffer protocol and DLPack, so `np.asarray(frame)` and
//! `torch.from_dlpack(frame)` are the slot itself. `release()` ends the lease
//! early, and refuses while an array, view or tensor of it lives.

use std::ffi::c_int;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use pyo3::exceptions::{PyBufferError, PyIndexError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;
use rtsp_ingest::slab::{ContentRect, Damage, Frame, FrameLayout, PixelFormat};

use crate::clock;
use crate::dlpack::{self, Lease, DEVICE_CPU};
use crate::export::{self, Geometry};

/// `numpy.asarray`, looked up once.
static ASARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `numpy.asarray(obj)`.
pub(crate) fn asarray<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let asarray = ASARRAY.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("numpy")?.getattr("asarray")?.unbind())
    })?;
    asarray.bind(py).call1((obj,))
}

/// A decoded frame from a stream, leased from its slab.
///
/// ``np.asarray(frame)`` is the slot itself, without a copy and read-only:
/// shape ``(height, width, 3)`` uint8 for bgr24 / rgb24, ``(height, width)``
/// for gray8, ``(3, height, width)`` for rgb_planar (R, G, B planes: CHW),
/// with the slab's row stride; for yuv420p / nv12 it is the whole
/// slot as bytes, and ``frame.planes`` gives each plane as an array.
/// ``torch.from_dlpack(frame)`` (or ``np.from_dlpack``) shares the slot too.
///
/// The slot stays leased, so its pixels never change, while the Frame or any
/// array, view or tensor made from it lives. ``frame.release()`` (or leaving
/// ``with frame:``) ends the lease early; it raises BufferError while arrays
/// of the frame still exist, like ``memoryview.release``. A stream has a few
/// spare slots for frames held this way (``reader_slots``, default 2): while
/// more are held, the stream drops new frames (counted in
/// ``status()["dropped"]["no_free_slot"]``) rather than wait.
#[pyclass(frozen, module = "rtsp_ingest", name = "Frame")]
pub(crate) struct PyFrame {
    /// The slab handle: the lease itself. `None` once released.
    lease: Mutex<Option<Frame>>,
    /// Arrays, views and tensors of this frame alive now. Raised under the
    /// `lease` lock; lowered by their release without it.
    exports: Arc<AtomicUsize>,
    seq: u64,
    stream_id: String,
    layout: FrameLayout,
    pts_ns: Option<i64>,
    capture_time: Option<SystemTime>,
    received: Instant,
    keyframe: bool,
    damage: Damage,
    decoded: Option<Instant>,
    converted: Option<Instant>,
    content: ContentRect,
}

impl PyFrame {
    /// Leases `frame` to Python.
    pub(crate) fn new(frame: Frame) -> Self {
        Self {
            seq: frame.seq(),
            stream_id: frame.stream_id().to_owned(),
            layout: *frame.layout(),
            pts_ns: frame.pts_ns(),
            capture_time: frame.capture_time(),
            received: frame.received(),
            keyframe: frame.is_keyframe(),
            damage: frame.damage(),
            decoded: frame.decoded_at(),
            converted: frame.converted_at(),
            content: frame.content_rect(),
            exports: Arc::new(AtomicUsize::new(0)),
            lease: Mutex::new(Some(frame)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Frame>> {
        self.lease
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// What `np.asarray(frame)` shows.
    fn geometry(&self) -> Geometry {
        let plane = self.layout.planes()[0];
        match self.layout.format() {
            PixelFormat::Bgr24 | PixelFormat::Rgb24 => {
                Geometry::rows(plane.rows, plane.row_bytes, plane.stride, 3)
            }
            PixelFormat::Gray8 => Geometry::rows(plane.rows, plane.row_bytes, plane.stride, 1),
            PixelFormat::RgbPlanar => {
                let planes = self.layout.planes();
                // The layout spaces the three equal planes evenly (R first).
                let spacing = planes[1].offset - planes[0].offset;
                debug_assert_eq!(planes[2].offset - planes[1].offset, spacing);
                Geometry::planes(3, spacing, plane.rows, plane.row_bytes, plane.stride)
            }
            _ => Geometry::bytes(self.layout.len()),
        }
    }

    /// Plane `index`'s byte offset in the slot and what its array shows.
    fn plane_geometry(&self, index: usize) -> Option<(usize, Geometry)> {
        let plane = *self.layout.planes().get(index)?;
        let channels = match (self.layout.format(), index) {
            (PixelFormat::Bgr24 | PixelFormat::Rgb24, _) => 3,
            (PixelFormat::Nv12, 1) => 2,
            _ => 1,
        };
        Some((
            plane.offset,
            Geometry::rows(plane.rows, plane.row_bytes, plane.stride, channels),
        ))
    }

    /// Counts a new export and returns the address `offset` bytes into the
    /// slot, or BufferError once released.
    fn begin_export(&self, offset: usize) -> PyResult<*const u8> {
        let lease = self.lock();
        let frame = lease.as_ref().ok_or_else(|| self.released_error())?;
        // Relaxed: raised under the lease lock, which `release` takes before
        // reading the count.
        self.exports.fetch_add(1, Ordering::Relaxed);
        Ok(frame.data()[offset..].as_ptr())
    }

    /// Ends an export [`begin_export`](Self::begin_export) counted.
    fn end_export(&self) {
        // Release: the reads through the export happen before the count
        // falls, and `release` reads it with Acquire before freeing the slot.
        self.exports.fetch_sub(1, Ordering::Release);
    }

    fn released_error(&self) -> PyErr {
        PyBufferError::new_err(format!(
            "frame {} of `{}` was released",
            self.seq, self.stream_id
        ))
    }
}

#[pymethods]
impl PyFrame {
    /// The slab's sequence number: one per frame the stream offered, so gaps
    /// count dropped frames.
    #[getter]
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// The id of the stream the frame came from.
    #[getter]
    fn stream_id(&self) -> &str {
        &self.stream_id
    }

    /// Width in pixels.
    #[getter]
    fn width(&self) -> u32 {
        self.layout.width()
    }

    /// Height in pixels.
    #[getter]
    fn height(&self) -> u32 {
        self.layout.height()
    }

    /// Pixel format: ``"bgr24"``, ``"rgb24"``, ``"gray8"``, ``"yuv420p"``,
    /// ``"nv12"`` or ``"rgb_planar"``.
    #[getter]
    fn format(&self) -> &'static str {
        self.layout.format().name()
    }

    /// Presentation time in nanoseconds in the stream's time base, or None.
    #[getter]
    fn pts_ns(&self) -> Option<i64> {
        self.pts_ns
    }

    /// Wall-clock capture time (Unix seconds) from the camera's RTCP sender
    /// reports, or None when it sends none.
    #[getter]
    fn capture_time(&self) -> Option<f64> {
        self.capture_time.map(clock::unix)
    }

    /// When the frame's data arrived in this process, in ``time.monotonic()`` seconds.
    #[getter]
    fn received(&self) -> f64 {
        clock::monotonic(self.received)
    }

    /// Seconds since the frame's data arrived.
    #[getter]
    fn age(&self) -> f64 {
        self.received.elapsed().as_secs_f64()
    }

    /// Whether the frame is a keyframe.
    #[getter]
    fn keyframe(&self) -> bool {
        self.keyframe
    }

    /// How intact the picture is: "clean", "concealed" (the decoder patched
    /// errors or lost packets) or "damaged_reference" (decoded from a damaged
    /// picture). Only "clean" unless the stream has ``on_damage="flag"``.
    #[getter]
    fn damage(&self) -> &'static str {
        self.damage.name()
    }

    /// When the decoder gave the picture out (``time.monotonic()`` seconds), or None.
    #[getter]
    fn decoded_at(&self) -> Option<f64> {
        self.decoded.map(clock::monotonic)
    }

    /// When the picture was converted into its slot and published
    /// (``time.monotonic()`` seconds), or None.
    #[getter]
    fn converted_at(&self) -> Option<f64> {
        self.converted.map(clock::monotonic)
    }

    /// Where the camera's picture lies in the frame, ``(x, y, width,
    /// height)`` in frame pixels: the whole frame unless the stream has
    /// ``resize_mode="letterbox"``, whose padding surrounds it.
    #[getter]
    fn content_rect(&self) -> (u32, u32, u32, u32) {
        let rect = self.content;
        (rect.x, rect.y, rect.width, rect.height)
    }

    /// The size of the decoded source picture, ``(width, height)``.
    #[getter]
    fn source_size(&self) -> (u32, u32) {
        (self.content.source_width, self.content.source_height)
    }

    /// Frame pixels per source pixel, ``(x, y)``: a box ``(bx, by)`` on the
    /// frame is at ``((bx - x) / sx, (by - y) / sy)`` in the source.
    #[getter]
    fn content_scale(&self) -> (f64, f64) {
        self.content.scale()
    }

    /// The shape ``np.asarray(frame)`` has.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let geometry = self.geometry();
        PyTuple::new(py, &geometry.shape[..geometry.ndim])
    }

    /// The byte strides ``np.asarray(frame)`` has (rows are the slab's stride apart).
    #[getter]
    fn strides<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let geometry = self.geometry();
        PyTuple::new(py, &geometry.strides[..geometry.ndim])
    }

    /// Whether the lease has ended (``release()``): the pixels are gone, the
    /// metadata stays.
    #[getter]
    fn released(&self) -> bool {
        self.lock().is_none()
    }

    /// Each plane as a read-only array without a copy: ``(Y, U, V)`` for
    /// yuv420p (U and V at half size), ``(Y, UV)`` for nv12 (UV with shape
    /// ``(h/2, w/2, 2)``), and the one packed array for the other formats.
    #[getter]
    fn planes<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let count = slf.get().layout.planes().len();
        let arrays = (0..count)
            .map(|index| {
                let plane = Bound::new(
                    slf.py(),
                    PyPlane {
                        frame: slf.clone().unbind(),
                        index,
                    },
                )?;
                asarray(plane.as_any())
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(slf.py(), arrays)
    }

    /// ``np.asarray(frame)``: the slot as a read-only array, no copy.
    fn numpy<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        asarray(slf.as_any())
    }

    /// numpy's fallback when the buffer protocol fails: only reached once the
    /// frame is released (numpy would otherwise wrap the Frame in an object
    /// array), so it says so instead.
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        slf: &Bound<'py, Self>,
        dtype: Option<Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = (dtype, copy);
        let view = pyo3::types::PyMemoryView::from(slf.as_any())?;
        asarray(view.as_any())
    }

    /// Ends the lease now: the slot goes back to the stream. The metadata
    /// stays readable; the pixels do not.
    ///
    /// Raises:
    ///     BufferError: while arrays, views or tensors of the frame exist
    ///         (delete them first), as ``memoryview.release`` does.
    fn release(&self) -> PyResult<()> {
        let mut lease = self.lock();
        // Acquire: pairs with the Release decrements, so every read through
        // an export that has ended happens before the slot is handed back.
        let live = self.exports.load(Ordering::Acquire);
        if live > 0 {
            return Err(PyBufferError::new_err(format!(
                "frame {} of `{}` still has {live} array(s), view(s) or tensor(s); \
                 delete them before release()",
                self.seq, self.stream_id
            )));
        }
        lease.take();
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.release()?;
        Ok(false)
    }

    /// The buffer protocol: the slot's pixels, read-only.
    ///
    /// # Safety
    /// Called by CPython's `bf_getbuffer` with the view to fill.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let this = slf.get();
        let geometry = this.geometry();
        let data = this.begin_export(0)?;
        // SAFETY: the export counted above keeps the lease, and so the slot's
        // bytes, alive and unchanged until `__releasebuffer__`; the geometry
        // lies within the slot.
        let filled = unsafe { export::fill(view, slf.clone().into_any(), data, geometry, flags) };
        if filled.is_err() {
            this.end_export();
        }
        filled
    }

    /// # Safety
    /// Called by CPython's `bf_releasebuffer` with a view `__getbuffer__` filled.
    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: `view` was filled by `export::fill` in `__getbuffer__`.
        unsafe { export::release(view) };
        self.end_export();
    }

    /// DLPack: the pixels as a read-only uint8 tensor on the CPU, the shape
    /// of ``np.asarray(frame)``, without a copy; the tensor holds the lease.
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<Bound<'py, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = stream; // CPU memory: there is no stream to synchronise with.
        if dl_device.is_some_and(|device| device != (DEVICE_CPU, 0)) {
            return Err(PyBufferError::new_err(
                "frames live in CPU memory: dl_device must be (1, 0)",
            ));
        }
        if copy == Some(true) {
            return Err(PyBufferError::new_err(
                "a frame exports its slot, never a copy: copy with np.array(frame)",
            ));
        }
        let lease = self.lock();
        let frame = lease.as_ref().ok_or_else(|| self.released_error())?;
        let data = frame.data().as_ptr();
        let held = Lease::new(frame.clone(), Arc::clone(&self.exports));
        drop(lease);
        let versioned = max_version.is_some_and(|(major, _)| major >= 1);
        dlpack::capsule(py, data, self.geometry(), held, versioned)
    }

    /// DLPack: ``(kDLCPU, 0)``.
    fn __dlpack_device__(&self) -> (i32, i32) {
        (DEVICE_CPU, 0)
    }

    fn __repr__(&self) -> String {
        let state = if self.released() {
            "released".to_owned()
        } else {
            format!("{:.3} s old", self.age())
        };
        format!(
            "<Frame {} #{} {}x{} {}, {state}>",
            self.stream_id,
            self.seq,
            self.layout.width(),
            self.layout.height(),
            self.layout.format()
        )
    }
}

/// One plane of a frame, exported as an array by ``Frame.planes``.
#[pyclass(frozen, module = "rtsp_ingest", name = "Plane")]
pub(crate) struct PyPlane {
    frame: Py<PyFrame>,
    index: usize,
}

#[pymethods]
impl PyPlane {
    /// # Safety
    /// Called by CPython's `bf_getbuffer` with the view to fill.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let frame = slf.get().frame.get();
        let (offset, geometry) = frame
            .plane_geometry(slf.get().index)
            .ok_or_else(|| PyIndexError::new_err("no such plane"))?;
        let data = frame.begin_export(offset)?;
        // SAFETY: as in `PyFrame::__getbuffer__`; the plane lies within the slot.
        let filled = unsafe { export::fill(view, slf.clone().into_any(), data, geometry, flags) };
        if filled.is_err() {
            frame.end_export();
        }
        filled
    }

    /// # Safety
    /// Called by CPython's `bf_releasebuffer` with a view `__getbuffer__` filled.
    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: `view` was filled by `export::fill` in `__getbuffer__`.
        unsafe { export::release(view) };
        self.frame.get().end_export();
    }
}
