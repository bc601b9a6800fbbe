//! `rtsp_ingest._native`: the Python module's native half, a thin skin over
//! the `rtsp-ingest` library. No engine logic lives here: each class wraps
//! the library type of the same role, converts values at the boundary, maps
//! errors to the exception hierarchy of `rtsp_ingest._errors`, and releases
//! the GIL around every call that blocks.
//!
//! | module | Python | library |
//! |---|---|---|
//! | [`frame`] | `Frame` (buffer protocol, DLPack, lease) | `slab::Frame` |
//! | [`stream`] | `Stream` | `stream::Stream` |
//! | [`manager`], [`batch`] | `Manager`, `Batch`, `Batcher` | `manager::StreamManager`, `Batcher` |
//! | [`buffer`] | `FrameBuffer`'s slab (`SlabBuffer`) | `slab::new` |
//! | [`simulator`] | `Simulator` | `simulate::Simulator` |
//!
//! The unsafe code is the buffer protocol ([`export`]) and DLPack
//! ([`dlpack`]): raw pointers into slots that a counted lease keeps alive.

mod batch;
mod buffer;
mod clock;
mod dlpack;
mod errors;
mod export;
mod frame;
mod manager;
mod options;
mod simulator;
mod status;
mod stream;
mod wait;

use pyo3::prelude::*;

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    clock::init(module.py())?;
    module.add_class::<frame::PyFrame>()?;
    module.add_class::<frame::PyPlane>()?;
    module.add_class::<stream::PyStream>()?;
    module.add_class::<stream::FrameIterator>()?;
    module.add_class::<manager::PyManager>()?;
    module.add_class::<manager::PyBatch>()?;
    module.add_class::<batch::PyBatcher>()?;
    module.add_class::<buffer::SlabBuffer>()?;
    module.add_class::<buffer::SlotView>()?;
    module.add_class::<simulator::PySimulator>()?;
    module.add("ENGINE_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
