//! The slab behind `rtsp_ingest.FrameBuffer` (the seed's drop-in; its Python
//! half is `rtsp_ingest/_frame_buffer.py`): numpy frames of one fixed shape
//! and dtype copied once into preallocated slots, read back as read-only
//! views of the slots.
//!
//! The slab holds pixel formats, not numpy arrays, so a frame's bytes are
//! stored as a packed `gray8` plane: rows of up to 16384 bytes with no row
//! padding (`row_align` 1), as many rows as the frame needs, the frame's
//! bytes first. The seed's per-write metadata (`stream_id`, `frame_index`,
//! `timestamp`) is kept beside the slab, one entry per slot, keyed by the
//! slot's address: a slot is rewritten only once nothing refers to it, so
//! its entry is rewritten with it. The timestamp is also the frame's pts, so
//! `Sample` thins in the caller's time.
//!
//! Locking: one mutex, never held while Python code can run (no Python call,
//! no object made or freed under it), so a thread that holds the GIL and
//! waits for the mutex never waits on a thread that needs the GIL.

use std::collections::HashMap;
use std::ffi::c_int;
use std::sync::{Mutex, MutexGuard};

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use rtsp_ingest::slab::{
    self, Consumer, DropPolicy, Frame, FrameInfo, FrameLayout, PixelFormat, Producer, SlabConfig,
};

use crate::errors::OrRaise;
use crate::export::{self, Geometry};

/// The widest `gray8` row the slab takes, so the longest frame is
/// 16384 × 16384 bytes (256 MiB).
const MAX_ROW: usize = 16_384;
const MIB: f64 = 1024.0 * 1024.0;

/// What the first frame (or the constructor) fixed.
struct Fixed {
    shape: Vec<usize>,
    /// `dtype.str` and `str(dtype)`: compared without running Python code.
    dtype_key: String,
    dtype: Py<PyAny>,
    nbytes: usize,
}

/// The seed's metadata of the frame in one slot.
struct Entry {
    seq: u64,
    stream_id: Py<PyAny>,
    frame_index: Py<PyAny>,
    timestamp: Py<PyAny>,
}

struct Ends {
    producer: Producer,
    consumer: Consumer,
}

struct State {
    capacity: usize,
    policy: DropPolicy,
    max_memory_mb: f64,
    reader_slots: usize,
    fixed: Option<Fixed>,
    /// `None` before the shape is known, or when one frame alone passes
    /// `max_memory_mb` (every write is then dropped, as the seed drops it).
    ends: Option<Ends>,
    /// By slot address.
    entries: HashMap<usize, Entry>,
    written: u64,
    /// Writes dropped because a single frame passes `max_memory_mb`.
    over_memory: u64,
}

/// The slab half of `FrameBuffer`.
#[pyclass(frozen, module = "rtsp_ingest._native", name = "SlabBuffer")]
pub(crate) struct SlabBuffer {
    state: Mutex<State>,
}

/// One read: the frame's bytes, and its metadata.
type Item = (SlotView, Py<PyAny>, Py<PyAny>, Py<PyAny>);

/// `numpy.ascontiguousarray(a).reshape(-1).view(numpy.uint8)` as one function.
static AS_BYTES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn as_bytes<'py>(frame: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = frame.py();
    let function = AS_BYTES.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        let namespace = PyDict::new(py);
        py.run(
            c"import numpy\ndef as_bytes(a):\n    return numpy.ascontiguousarray(a).reshape(-1).view(numpy.uint8)\n",
            Some(&namespace),
            None,
        )?;
        Ok(namespace
            .get_item("as_bytes")?
            .expect("just defined")
            .unbind())
    })?;
    function.bind(py).call1((frame,))
}

/// The queue capacity the seed's memory cap allows: the most frames `n`
/// with `n × nbytes / MiB <= max_memory_mb`, as the seed computes it.
fn capacity_within(capacity: usize, max_memory_mb: f64, nbytes: usize) -> usize {
    if max_memory_mb <= 0.0 || nbytes == 0 {
        return capacity;
    }
    let fits = |n: usize| (n as f64 * nbytes as f64) / MIB <= max_memory_mb;
    let mut n = ((max_memory_mb * MIB) / nbytes as f64)
        .floor()
        .min(capacity as f64) as usize;
    while n > 0 && !fits(n) {
        n -= 1;
    }
    while n < capacity && fits(n + 1) {
        n += 1;
    }
    n
}

impl State {
    fn fix(&mut self, fixed: Fixed) -> PyResult<()> {
        let nbytes = fixed.nbytes;
        let width = nbytes.clamp(1, MAX_ROW);
        let height = nbytes.div_ceil(width).max(1);
        if height > MAX_ROW {
            return Err(PyValueError::new_err(format!(
                "frames of {nbytes} bytes are larger than a slab slot can be ({} bytes)",
                MAX_ROW * MAX_ROW
            )));
        }
        let capacity = capacity_within(self.capacity, self.max_memory_mb, nbytes);
        self.ends = if capacity == 0 {
            None
        } else {
            let layout =
                FrameLayout::with_row_align(width as u32, height as u32, PixelFormat::Gray8, 1)
                    .or_raise()?;
            let config = SlabConfig::new(layout)
                .stream_id("frame_buffer")
                .capacity(capacity)
                .policy(self.policy)
                .reader_slots(self.reader_slots);
            let (producer, consumer, _reader) = slab::new(config).or_raise()?;
            Some(Ends { producer, consumer })
        };
        self.fixed = Some(fixed);
        Ok(())
    }

    /// The frame's bytes and metadata; the Python objects are new references
    /// (no Python code runs).
    fn item(&self, py: Python<'_>, frame: Frame) -> Option<(Frame, usize, [Py<PyAny>; 3])> {
        let nbytes = self.fixed.as_ref()?.nbytes;
        let entry = self.entries.get(&(frame.data().as_ptr() as usize))?;
        debug_assert_eq!(entry.seq, frame.seq());
        let meta = [
            entry.stream_id.clone_ref(py),
            entry.frame_index.clone_ref(py),
            entry.timestamp.clone_ref(py),
        ];
        Some((frame, nbytes, meta))
    }
}

fn wrap(items: Vec<(Frame, usize, [Py<PyAny>; 3])>) -> Vec<Item> {
    items
        .into_iter()
        .map(|(frame, nbytes, [stream_id, frame_index, timestamp])| {
            (
                SlotView { frame, nbytes },
                stream_id,
                frame_index,
                timestamp,
            )
        })
        .collect()
}

impl SlabBuffer {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Runs `read` on the consumer under the lock and makes the items after it.
    fn read(&self, py: Python<'_>, read: impl FnOnce(&mut Consumer) -> Vec<Frame>) -> Vec<Item> {
        let mut state = self.lock();
        let frames = match state.ends.as_mut() {
            None => Vec::new(),
            Some(ends) => read(&mut ends.consumer),
        };
        let items = frames
            .into_iter()
            .filter_map(|frame| state.item(py, frame))
            .collect();
        drop(state);
        wrap(items)
    }

    fn read_one(
        &self,
        py: Python<'_>,
        read: impl FnOnce(&mut Consumer) -> Option<Frame>,
    ) -> Option<Item> {
        self.read(py, |consumer| read(consumer).into_iter().collect())
            .into_iter()
            .next()
    }
}

#[pymethods]
impl SlabBuffer {
    #[new]
    #[pyo3(signature = (capacity, policy, max_memory_mb, reader_slots))]
    fn new(
        capacity: usize,
        policy: &str,
        max_memory_mb: f64,
        reader_slots: usize,
    ) -> PyResult<Self> {
        let policy: DropPolicy = policy.parse().or_raise()?;
        Ok(Self {
            state: Mutex::new(State {
                capacity: capacity.max(1),
                policy,
                max_memory_mb: max_memory_mb.max(0.0),
                reader_slots,
                fixed: None,
                ends: None,
                entries: HashMap::new(),
                written: 0,
                over_memory: 0,
            }),
        })
    }

    /// Fixes the frame shape and dtype before the first write.
    fn fix(&self, shape: Vec<usize>, dtype: Bound<'_, PyAny>) -> PyResult<()> {
        let fixed = describe(shape, &dtype)?;
        let mut state = self.lock();
        if state.fixed.is_some() {
            return Err(PyValueError::new_err("the frame shape is already fixed"));
        }
        state.fix(fixed)
    }

    /// `(shape, dtype)` once fixed, else None.
    fn geometry(&self, py: Python<'_>) -> Option<(Vec<usize>, Py<PyAny>)> {
        let state = self.lock();
        let fixed = state.fixed.as_ref()?;
        Some((fixed.shape.clone(), fixed.dtype.clone_ref(py)))
    }

    /// Copies `frame` into a free slot and commits it with its metadata;
    /// `pts` (the timestamp in seconds) orders `Sample`'s thinning.
    ///
    /// Raises ValueError, writing nothing, for a frame of another shape or dtype.
    fn write(
        &self,
        py: Python<'_>,
        frame: Bound<'_, PyAny>,
        stream_id: Py<PyAny>,
        frame_index: Py<PyAny>,
        timestamp: Py<PyAny>,
        pts: f64,
    ) -> PyResult<()> {
        let shape: Vec<usize> = frame.getattr("shape")?.extract()?;
        let dtype = frame.getattr("dtype")?;
        // uint8 arrays (images) are read as they are, strided or not; other
        // dtypes as their bytes (a copy only when not C-contiguous).
        let bytes = match PyBuffer::<u8>::get(&frame) {
            Ok(bytes) => bytes,
            Err(_) => PyBuffer::<u8>::get(&as_bytes(&frame)?)?,
        };
        // The fast check needs no Python code: the same dtype object and shape.
        // Otherwise describe the dtype (Python calls) without the lock, and check again.
        let mut described: Option<Fixed> = None;
        let mut state = loop {
            let mut state = self.lock();
            let fits = state.fixed.as_ref().map(|fixed| {
                fixed.shape == shape
                    && (fixed.dtype.is(&dtype)
                        || described
                            .as_ref()
                            .is_some_and(|incoming| incoming.dtype_key == fixed.dtype_key))
            });
            match (fits, described.take()) {
                (Some(true), _) => break state,
                (None, Some(incoming)) => {
                    state.fix(incoming)?;
                    break state;
                }
                (Some(false), Some(incoming)) => {
                    let fixed = state.fixed.as_ref().expect("fits is Some");
                    let message = format!(
                        "frame of shape {} and dtype {} does not fit this FrameBuffer, whose \
                         frames have shape {} and dtype {}; nothing was written",
                        show_shape(&incoming.shape),
                        show_dtype(&incoming.dtype_key),
                        show_shape(&fixed.shape),
                        show_dtype(&fixed.dtype_key),
                    );
                    drop(state);
                    return Err(PyValueError::new_err(message));
                }
                (_, None) => {
                    drop(state);
                    described = Some(describe(shape.clone(), &dtype)?);
                }
            }
        };
        state.written += 1;
        if state.ends.is_none() {
            state.over_memory += 1;
            return Ok(());
        }
        let State { ends, entries, .. } = &mut *state;
        let ends = ends.as_mut().expect("checked above");
        let Ok(mut slot) = ends.producer.begin() else {
            return Ok(()); // counted by the slab as no_free_slot
        };
        let len = bytes.len_bytes();
        // No Python code runs here: the buffer is C-contiguous bytes, which
        // CPython copies with memcpy.
        bytes.copy_to_slice(py, &mut slot.data_mut()[..len])?;
        let address = slot.data_mut().as_ptr() as usize;
        let seq = slot.seq();
        let replaced = entries.insert(
            address,
            Entry {
                seq,
                stream_id,
                frame_index,
                timestamp,
            },
        );
        let mut info = FrameInfo::received_now();
        info.pts_ns = (pts.is_finite()).then(|| (pts * 1e9).round() as i64);
        let _ = slot.commit(info);
        drop(state);
        drop(replaced); // may run Python code (a __del__): after the lock
        Ok(())
    }

    fn read_latest(&self, py: Python<'_>) -> Option<Item> {
        self.read_one(py, |consumer| {
            let len = consumer.len();
            (len > 0)
                .then(|| consumer.read_range(len - 1, Some(1)).pop())
                .flatten()
        })
    }

    fn read_oldest(&self, py: Python<'_>) -> Option<Item> {
        self.read_one(py, Consumer::read_oldest)
    }

    fn read_all(&self, py: Python<'_>) -> Vec<Item> {
        self.read(py, Consumer::read_all)
    }

    #[pyo3(signature = (start, count=None))]
    fn read_range(&self, py: Python<'_>, start: usize, count: Option<usize>) -> Vec<Item> {
        self.read(py, |consumer| consumer.read_range(start, count))
    }

    fn pop_latest(&self, py: Python<'_>) -> Option<Item> {
        self.read_one(py, Consumer::pop_latest)
    }

    fn pop_oldest(&self, py: Python<'_>) -> Option<Item> {
        self.read_one(py, Consumer::pop_oldest)
    }

    fn clear(&self) -> usize {
        self.lock()
            .ends
            .as_mut()
            .map_or(0, |ends| ends.consumer.clear())
    }

    fn size(&self) -> usize {
        self.lock()
            .ends
            .as_ref()
            .map_or(0, |ends| ends.consumer.len())
    }

    /// Frame bytes (`nbytes` of one frame), or 0 before the shape is fixed.
    fn frame_bytes(&self) -> usize {
        self.lock().fixed.as_ref().map_or(0, |fixed| fixed.nbytes)
    }

    /// The slab's counters: `written`, `queue_capacity`, `slots`,
    /// `slot_bytes`, `taken`, `cleared`, and the drops by reason.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (written, over_memory, stats) = {
            let state = self.lock();
            (
                state.written,
                state.over_memory,
                state.ends.as_ref().map(|ends| ends.producer.stats()),
            )
        };
        let dict = PyDict::new(py);
        dict.set_item("written", written)?;
        let dropped = PyDict::new(py);
        dropped.set_item("over_memory", over_memory)?;
        let Some(stats) = stats else {
            for reason in [
                "overwritten",
                "sampled_out",
                "queue_full",
                "no_consumer",
                "no_free_slot",
                "abandoned",
            ] {
                dropped.set_item(reason, 0)?;
            }
            dict.set_item("dropped", dropped)?;
            for key in ["queue_capacity", "slots", "slot_bytes", "taken", "cleared"] {
                dict.set_item(key, 0)?;
            }
            return Ok(dict);
        };
        for (reason, count) in stats.evicted.by_reason() {
            dropped.set_item(reason, count)?;
        }
        for reason in slab::DropReason::ALL {
            dropped.set_item(reason.name(), stats.dropped.get(reason))?;
        }
        dict.set_item("dropped", dropped)?;
        dict.set_item("queue_capacity", stats.capacity)?;
        dict.set_item("slots", stats.slots)?;
        dict.set_item("slot_bytes", stats.slot_bytes)?;
        dict.set_item("taken", stats.taken)?;
        dict.set_item("cleared", stats.cleared)?;
        Ok(dict)
    }
}

fn describe(shape: Vec<usize>, dtype: &Bound<'_, PyAny>) -> PyResult<Fixed> {
    let itemsize: usize = dtype.getattr("itemsize")?.extract()?;
    let dtype_key = format!("{}|{}", dtype.getattr("str")?.str()?, dtype.str()?);
    let nbytes = shape
        .iter()
        .try_fold(itemsize, |bytes, &extent| bytes.checked_mul(extent))
        .ok_or_else(|| PyValueError::new_err("the frame shape overflows"))?;
    Ok(Fixed {
        shape,
        dtype_key,
        dtype: dtype.clone().unbind(),
        nbytes,
    })
}

fn show_shape(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn show_dtype(key: &str) -> &str {
    key.split_once('|').map_or(key, |(_, name)| name)
}

/// One frame's bytes in its slot, exported read-only (a FrameBuffer read).
#[pyclass(frozen, module = "rtsp_ingest._native")]
pub(crate) struct SlotView {
    frame: Frame,
    nbytes: usize,
}

#[pymethods]
impl SlotView {
    /// # Safety
    /// Called by CPython's `bf_getbuffer` with the view to fill.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let this = slf.get();
        let data = this.frame.data().as_ptr();
        let geometry = Geometry::bytes(this.nbytes);
        // SAFETY: the view keeps this object, and so the frame handle that
        // keeps the slot unchanged, alive until it is released; the frame's
        // bytes are the slot's first `nbytes`.
        unsafe { export::fill(view, slf.into_any(), data, geometry, flags) }
    }

    /// # Safety
    /// Called by CPython's `bf_releasebuffer` with a view `__getbuffer__` filled.
    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: `view` was filled by `export::fill`.
        unsafe { export::release(view) };
    }
}
