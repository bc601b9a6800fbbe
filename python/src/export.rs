//! Filling a `Py_buffer` (the buffer protocol) over bytes a slab frame holds:
//! read-only, unsigned bytes, any shape and byte strides. What makes
//! `np.asarray(frame)` the slot itself. The shape and strides live in one
//! boxed array that [`release`] frees.

use std::ffi::{c_int, c_void};

use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;

/// An exported buffer's shape (first three) and strides (last three).
type Dims = [ffi::Py_ssize_t; 6];

/// The geometry of an exported array of bytes: up to three dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Dimensions in use (1 ..= 3).
    pub ndim: usize,
    /// Extent of each dimension.
    pub shape: [usize; 3],
    /// Bytes from one element to the next, per dimension.
    pub strides: [usize; 3],
}

impl Geometry {
    /// A one-dimensional run of `len` bytes.
    pub fn bytes(len: usize) -> Self {
        Self {
            ndim: 1,
            shape: [len, 0, 0],
            strides: [1, 0, 0],
        }
    }

    /// `rows` rows of `row_bytes` bytes, `stride` apart, as `(rows, row_bytes)`,
    /// or as `(rows, row_bytes / channels, channels)` when `channels > 1`.
    pub fn rows(rows: usize, row_bytes: usize, stride: usize, channels: usize) -> Self {
        if channels > 1 {
            Self {
                ndim: 3,
                shape: [rows, row_bytes / channels, channels],
                strides: [stride, channels, 1],
            }
        } else {
            Self {
                ndim: 2,
                shape: [rows, row_bytes, 0],
                strides: [stride, 1, 0],
            }
        }
    }

    /// `count` planes `spacing` bytes apart, each `rows` rows of `row_bytes`
    /// bytes `stride` apart, as `(count, rows, row_bytes)`: a CHW tensor.
    pub fn planes(
        count: usize,
        spacing: usize,
        rows: usize,
        row_bytes: usize,
        stride: usize,
    ) -> Self {
        Self {
            ndim: 3,
            shape: [count, rows, row_bytes],
            strides: [spacing, stride, 1],
        }
    }

    /// Bytes the elements add up to (without row padding).
    pub fn len(&self) -> usize {
        self.shape[..self.ndim].iter().product()
    }

    /// Whether the elements lie one after another in C order.
    pub fn is_c_contiguous(&self) -> bool {
        let mut expected = 1;
        for dim in (0..self.ndim).rev() {
            if self.shape[dim] > 1 && self.strides[dim] != expected {
                return false;
            }
            expected *= self.shape[dim];
        }
        true
    }
}

/// Fills `view` for bytes at `data` laid out as `geometry`, read-only,
/// exported by `owner` (which the view keeps alive).
///
/// # Safety
/// `view` must be the `Py_buffer` CPython passed to `bf_getbuffer`, and the
/// bytes `geometry` spans from `data` must stay valid and unchanged until
/// the matching [`release`].
pub(crate) unsafe fn fill(
    view: *mut ffi::Py_buffer,
    owner: Bound<'_, PyAny>,
    data: *const u8,
    geometry: Geometry,
    flags: c_int,
) -> PyResult<()> {
    if view.is_null() {
        return Err(PyBufferError::new_err("no Py_buffer to fill"));
    }
    if flags & ffi::PyBUF_WRITABLE != 0 {
        return Err(PyBufferError::new_err(
            "frames are read-only: the slab's slot is shared (copy it with np.array(frame))",
        ));
    }
    let contiguous = geometry.is_c_contiguous();
    let wants_strides = flags & ffi::PyBUF_STRIDES == ffi::PyBUF_STRIDES;
    let wants_shape = flags & ffi::PyBUF_ND == ffi::PyBUF_ND;
    let wants_contiguous = flags & (0x20 | 0x40 | 0x80) != 0;
    let fortran_only = flags & 0x40 != 0 && flags & (0x20 | 0x80) == 0 && geometry.ndim > 1;
    if !contiguous && (!wants_strides || wants_contiguous) || (fortran_only && contiguous) {
        return Err(PyBufferError::new_err(
            "the frame's rows are padded: ask for a strided buffer (numpy does)",
        ));
    }
    let ndim = geometry.ndim;
    // Shape in the first three elements, strides in the last three.
    let mut dims: Box<Dims> = Box::new([0; 6]);
    for dim in 0..ndim {
        dims[dim] = geometry.shape[dim] as ffi::Py_ssize_t;
        dims[3 + dim] = geometry.strides[dim] as ffi::Py_ssize_t;
    }
    let dims: *mut Dims = Box::into_raw(dims);
    let dims_ptr = dims.cast::<ffi::Py_ssize_t>();
    // SAFETY: `view` is the non-null buffer CPython handed us to fill; every
    // pointer stored in it stays valid until `release`: `data` by the caller's
    // contract, `dims` because it is leaked here and freed there (it is freed nowhere
    // else: no early return follows), the format
    // because it is static.
    unsafe {
        (*view).buf = data as *mut c_void;
        (*view).len = geometry.len() as ffi::Py_ssize_t;
        (*view).readonly = 1;
        (*view).itemsize = 1;
        (*view).format = if flags & ffi::PyBUF_FORMAT != 0 {
            c"B".as_ptr() as *mut _
        } else {
            std::ptr::null_mut()
        };
        (*view).ndim = if wants_shape { ndim as c_int } else { 1 };
        (*view).shape = if wants_shape {
            dims_ptr
        } else {
            std::ptr::null_mut()
        };
        (*view).strides = if wants_strides {
            dims_ptr.add(3)
        } else {
            std::ptr::null_mut()
        };
        (*view).suboffsets = std::ptr::null_mut();
        (*view).internal = dims.cast::<c_void>();
        (*view).obj = owner.into_ptr();
    }
    Ok(())
}

/// Frees what [`fill`] allocated for `view`.
///
/// # Safety
/// `view` must be a buffer [`fill`] filled, passed to `bf_releasebuffer`
/// once.
pub(crate) unsafe fn release(view: *mut ffi::Py_buffer) {
    // SAFETY: `fill` stored a leaked `Box<Dims>` in `internal`, and this is
    // the one release of that view.
    unsafe {
        let internal = (*view).internal as *mut Dims;
        if !internal.is_null() {
            drop(Box::from_raw(internal));
            (*view).internal = std::ptr::null_mut();
        }
    }
}
