//! rtsp-ingest (crate docs written below)

pub mod error;
pub mod slab;
mod sync;

pub use error::{Error, ErrorKind, Result};
