//! DLPack (`__dlpack__`): a frame's pixels as a tensor for torch, numpy,
//! JAX, CuPy, ..., without a copy. The capsule holds a lease on the frame (a
//! clone of the slab handle): the slot stays out of reuse until the consumer
//! calls the tensor's deleter, or until the capsule dies unconsumed.
//!
//! Both ABIs: the versioned `DLManagedTensorVersioned` (DLPack ≥ 1.0, with
//! the read-only flag set) for consumers that ask with `max_version`, the
//! legacy `DLManagedTensor` for the others.

use std::ffi::{c_void, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use pyo3::ffi;
use pyo3::prelude::*;
use rtsp_ingest::slab::Frame;

use crate::export::Geometry;

/// `kDLCPU`.
pub(crate) const DEVICE_CPU: i32 = 1;
/// `kDLUInt`.
const TYPE_UINT: u8 = 1;
/// `DLPACK_FLAG_BITMASK_READ_ONLY`.
const FLAG_READ_ONLY: u64 = 1;
const LEGACY_NAME: &CStr = c"dltensor";
const VERSIONED_NAME: &CStr = c"dltensor_versioned";

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

/// A frame kept out of reuse by an exported tensor; counted in the Python
/// frame's exports so `release()` refuses while a tensor lives.
pub(crate) struct Lease {
    _frame: Frame,
    exports: Arc<AtomicUsize>,
}

impl Lease {
    /// Counts a new export of `frame` in `exports`.
    pub(crate) fn new(frame: Frame, exports: Arc<AtomicUsize>) -> Self {
        // Relaxed: the count is raised under the Python frame's lease lock,
        // which orders it before any `release()` that reads it.
        exports.fetch_add(1, Ordering::Relaxed);
        Self {
            _frame: frame,
            exports,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Release: the consumer's reads of the pixels happen before this
        // decrement, and `release()` loads the count with Acquire before it
        // lets the slot go back to the producer.
        self.exports.fetch_sub(1, Ordering::Release);
    }
}

/// The versioned tensor and everything it points to, in one allocation.
#[repr(C)]
struct VersionedHolder {
    managed: DLManagedTensorVersioned,
    /// Shape (first `ndim`), then strides in elements (bytes: one-byte elements).
    dims: [i64; 6],
    lease: Lease,
}

/// The legacy tensor and everything it points to, in one allocation.
#[repr(C)]
struct LegacyHolder {
    managed: DLManagedTensor,
    dims: [i64; 6],
    lease: Lease,
}

fn tensor(data: *const u8, geometry: Geometry) -> DLTensor {
    DLTensor {
        data: data as *mut c_void,
        device: DLDevice {
            device_type: DEVICE_CPU,
            device_id: 0,
        },
        ndim: geometry.ndim as i32,
        dtype: DLDataType {
            code: TYPE_UINT,
            bits: 8,
            lanes: 1,
        },
        shape: std::ptr::null_mut(),
        strides: std::ptr::null_mut(),
        byte_offset: 0,
    }
}

fn dims(geometry: Geometry) -> [i64; 6] {
    let mut dims = [0; 6];
    for dim in 0..geometry.ndim {
        dims[dim] = geometry.shape[dim] as i64;
        dims[3 + dim] = geometry.strides[dim] as i64;
    }
    dims
}

/// A `dltensor_versioned` (or, without `versioned`, `dltensor`) capsule over
/// `geometry` at `data`, which `lease` keeps valid.
pub(crate) fn capsule(
    py: Python<'_>,
    data: *const u8,
    geometry: Geometry,
    lease: Lease,
    versioned: bool,
) -> PyResult<Bound<'_, PyAny>> {
    let (pointer, name, destructor): (*mut c_void, &CStr, ffi::PyCapsule_Destructor) = if versioned
    {
        let holder = Box::into_raw(Box::new(VersionedHolder {
            managed: DLManagedTensorVersioned {
                version: DLPackVersion { major: 1, minor: 0 },
                manager_ctx: std::ptr::null_mut(),
                deleter: Some(delete_versioned),
                flags: FLAG_READ_ONLY,
                dl_tensor: tensor(data, geometry),
            },
            dims: dims(geometry),
            lease,
        }));
        // SAFETY: `holder` is a fresh, valid allocation that only this
        // function refers to until the capsule owns it.
        unsafe {
            let dims = std::ptr::addr_of_mut!((*holder).dims).cast::<i64>();
            (*holder).managed.dl_tensor.shape = dims;
            (*holder).managed.dl_tensor.strides = dims.add(3);
            (*holder).managed.manager_ctx = holder.cast();
        }
        (holder.cast(), VERSIONED_NAME, destroy_versioned)
    } else {
        let holder = Box::into_raw(Box::new(LegacyHolder {
            managed: DLManagedTensor {
                dl_tensor: tensor(data, geometry),
                manager_ctx: std::ptr::null_mut(),
                deleter: Some(delete_legacy),
            },
            dims: dims(geometry),
            lease,
        }));
        // SAFETY: as above.
        unsafe {
            let dims = std::ptr::addr_of_mut!((*holder).dims).cast::<i64>();
            (*holder).managed.dl_tensor.shape = dims;
            (*holder).managed.dl_tensor.strides = dims.add(3);
            (*holder).managed.manager_ctx = holder.cast();
        }
        (holder.cast(), LEGACY_NAME, destroy_legacy)
    };
    // SAFETY: `pointer` is the managed tensor (the holder's first field,
    // `repr(C)`), `name` is static, and the destructor frees it unless a
    // consumer renamed the capsule (took ownership).
    let raw = unsafe { ffi::PyCapsule_New(pointer, name.as_ptr(), Some(destructor)) };
    if raw.is_null() {
        // The capsule was not made: free the tensor ourselves.
        // SAFETY: nothing else refers to `pointer`; its deleter frees it once.
        unsafe {
            if versioned {
                delete_versioned(pointer.cast());
            } else {
                delete_legacy(pointer.cast());
            }
        }
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `raw` is a new, owned reference.
    Ok(unsafe { Bound::from_owned_ptr(py, raw) })
}

/// The versioned tensor's deleter: frees the holder, ending the lease.
///
/// # Safety
/// `managed` must be a tensor [`capsule`] made, deleted once.
unsafe extern "C" fn delete_versioned(managed: *mut DLManagedTensorVersioned) {
    if managed.is_null() {
        return;
    }
    // SAFETY: `manager_ctx` is the `Box<VersionedHolder>` leaked by `capsule`.
    unsafe {
        drop(Box::from_raw(
            (*managed).manager_ctx.cast::<VersionedHolder>(),
        ))
    };
}

/// The legacy tensor's deleter: frees the holder, ending the lease.
///
/// # Safety
/// `managed` must be a tensor [`capsule`] made, deleted once.
unsafe extern "C" fn delete_legacy(managed: *mut DLManagedTensor) {
    if managed.is_null() {
        return;
    }
    // SAFETY: `manager_ctx` is the `Box<LegacyHolder>` leaked by `capsule`.
    unsafe { drop(Box::from_raw((*managed).manager_ctx.cast::<LegacyHolder>())) };
}

/// The capsule's destructor: deletes the tensor unless a consumer took it
/// (consumers rename the capsule to `used_dltensor...` when they do).
///
/// # Safety
/// Called by CPython with a capsule [`capsule`] made.
unsafe extern "C" fn destroy_versioned(capsule: *mut ffi::PyObject) {
    // SAFETY: `capsule` is a live capsule; `IsValid` sets no exception, and
    // a valid one still holds our unconsumed tensor.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, VERSIONED_NAME.as_ptr()) == 1 {
            let managed = ffi::PyCapsule_GetPointer(capsule, VERSIONED_NAME.as_ptr());
            delete_versioned(managed.cast());
        }
    }
}

/// As [`destroy_versioned`], for the legacy capsule.
///
/// # Safety
/// Called by CPython with a capsule [`capsule`] made.
unsafe extern "C" fn destroy_legacy(capsule: *mut ffi::PyObject) {
    // SAFETY: as in `destroy_versioned`.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, LEGACY_NAME.as_ptr()) == 1 {
            let managed = ffi::PyCapsule_GetPointer(capsule, LEGACY_NAME.as_ptr());
            delete_legacy(managed.cast());
        }
    }
}
