//! The engine's [`rtsp_ingest::Error`] as the Python exception of its kind
//! (`rtsp_ingest._errors`: `Error` and one subclass per
//! [`ErrorKind`](rtsp_ingest::ErrorKind)). Messages are the engine's, already
//! scrubbed of credentials.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// `rtsp_ingest._errors.BY_KIND`, looked up once.
static BY_KIND: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// The exception for an error of kind `kind` (an `ErrorKind::name`), with
/// `message` and the config field it is about.
pub(crate) fn exception(kind: &str, message: String, field: Option<&str>) -> PyErr {
    Python::attach(|py| match build(py, kind, message.clone(), field) {
        Ok(error) => error,
        // The Python half of the package is missing or broken: still say what went wrong.
        Err(_) => pyo3::exceptions::PyRuntimeError::new_err(message),
    })
}

fn build(py: Python<'_>, kind: &str, message: String, field: Option<&str>) -> PyResult<PyErr> {
    let by_kind = BY_KIND.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let module = py.import("rtsp_ingest._errors")?;
        Ok(module.getattr("BY_KIND")?.cast_into::<PyDict>()?.unbind())
    })?;
    let class = match by_kind.bind(py).get_item(kind)? {
        Some(class) => class,
        None => py.import("rtsp_ingest._errors")?.getattr("Error")?,
    };
    let instance = class.call1((message, kind, field))?;
    Ok(PyErr::from_value(instance))
}

/// A `ConfigError` about option `field`.
pub(crate) fn config_error(field: &str, message: impl Into<String>) -> PyErr {
    exception("invalid_config", message.into(), Some(field))
}

/// Converts engine results at the boundary.
pub(crate) trait OrRaise<T> {
    /// The value, or the engine's error as its Python exception.
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for rtsp_ingest::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(|error| exception(error.kind().name(), error.to_string(), error.field()))
    }
}
