//! `rtsp_ingest.Simulator`: the library's simulated RTSP cameras, for
//! testing a pipeline against cameras that misbehave on purpose.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rtsp_ingest::ffmpeg::VideoCodec;
use rtsp_ingest::simulate::{Fault, FaultSpec, PatternOptions, Simulator, SimulatorConfig};

use crate::errors::{config_error, OrRaise};
use crate::options;

/// Simulated RTSP cameras on 127.0.0.1, serving ``rtsp://127.0.0.1:PORT/cam0`` …
///
/// ``Simulator(cameras=2, size=(640, 360), fps=25, codec="h264", faults=[], auth=None)``
/// encodes a test pattern once (about a second) and serves it, looped in
/// real time, to every client; ``clip="file.mp4"`` serves a file instead.
/// ``faults`` are the CLI's ``--fault`` strings, for every camera or one:
/// ``"cut-every=10s"``, ``"stall-after=5s"``, ``"corrupt=0.001"``,
/// ``"resize-after=3s:1280x720"``,
/// ``"cam1:stall-after=2s"``. ``auth="user:password"`` (or a pair) makes
/// every camera require that login. A context manager; ``urls`` lists the
/// cameras' URLs (without the login). As a pytest fixture::
///
///     @pytest.fixture
///     def cameras():
///         with rtsp_ingest.Simulator(cameras=2, faults=["cam1:cut-every=3s"]) as sim:
///             yield sim
#[pyclass(frozen, module = "rtsp_ingest", name = "Simulator")]
pub(crate) struct PySimulator {
    inner: Mutex<Simulator>,
    urls: Vec<String>,
    addr: SocketAddr,
}

impl PySimulator {
    fn lock(&self) -> MutexGuard<'_, Simulator> {
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

#[pymethods]
impl PySimulator {
    #[new]
    #[pyo3(signature = (
        cameras=2, size=None, fps=25, codec="h264", faults=None, auth=None, *,
        gop=25, frames=100, noise=0, clip=None, port=0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        cameras: usize,
        size: Option<Bound<'_, PyAny>>,
        fps: u32,
        codec: &str,
        faults: Option<Vec<String>>,
        auth: Option<Bound<'_, PyAny>>,
        gop: u32,
        frames: u32,
        noise: u8,
        clip: Option<std::path::PathBuf>,
        port: u16,
    ) -> PyResult<Self> {
        let (width, height) = match size {
            Some(size) => options::size("size", &size)?,
            None => (640, 360),
        };
        let codec = match codec.to_ascii_lowercase().as_str() {
            "h264" => VideoCodec::H264,
            "h265" | "hevc" => VideoCodec::H265,
            other => {
                return Err(config_error(
                    "codec",
                    format!("codec `{other}` is not h264 or h265"),
                ))
            }
        };
        let pattern = PatternOptions::default()
            .codec(codec)
            .size(width, height)
            .fps(fps)
            .gop(gop)
            .frames(frames)
            .noise(noise);
        let mut config = SimulatorConfig::default()
            .addr(SocketAddr::from(([127, 0, 0, 1], port)))
            .cameras(cameras)
            .pattern(pattern);
        if let Some(clip) = clip {
            config = config.clip(clip);
        }
        for fault in faults.unwrap_or_default() {
            let spec: FaultSpec = fault
                .parse()
                .map_err(|error: rtsp_ingest::Error| config_error("faults", error.to_string()))?;
            config = config.fault(spec);
        }
        if let Some(auth) = auth {
            let (user, password) = match auth.extract::<(String, String)>() {
                Ok(pair) => pair,
                Err(_) => {
                    let text: String = auth.extract().map_err(|_| {
                        config_error("auth", "auth is \"user:password\" or (user, password)")
                    })?;
                    rtsp_ingest::simulate::parse_credentials(&text)
                        .map_err(|error| config_error("auth", error.to_string()))?
                }
            };
            config = config.fault(FaultSpec {
                camera: None,
                fault: Fault::Auth { user, password },
            });
        }
        let simulator = py.detach(|| Simulator::start(config)).or_raise()?;
        let urls = (0..simulator.cameras())
            .map(|index| simulator.url(index))
            .collect();
        Ok(Self {
            addr: simulator.addr(),
            urls,
            inner: Mutex::new(simulator),
        })
    }

    /// Each camera's URL, ``rtsp://127.0.0.1:PORT/camN``, without the login.
    #[getter]
    fn urls(&self) -> Vec<String> {
        self.urls.clone()
    }

    /// ``(host, port)`` the simulator listens on.
    #[getter]
    fn address(&self) -> (String, u16) {
        (self.addr.ip().to_string(), self.addr.port())
    }

    /// Camera ``index``'s URL; with ``credentials=True``, with its ``auth``
    /// login in it (never log that one).
    #[pyo3(signature = (index, credentials=false))]
    fn url(&self, index: usize, credentials: bool) -> PyResult<String> {
        if index >= self.urls.len() {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "camera {index} of {}",
                self.urls.len()
            )));
        }
        Ok(if credentials {
            self.lock().url_with_credentials(index)
        } else {
            self.urls[index].clone()
        })
    }

    /// Counters: connections accepted and open, and per camera sessions,
    /// frames, bytes, cuts, stalls, corrupted bytes and refused logins.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.lock().stats();
        let dict = PyDict::new(py);
        dict.set_item("accepted", stats.accepted)?;
        dict.set_item("refused", stats.refused)?;
        dict.set_item("open", stats.open)?;
        dict.set_item("bad_requests", stats.bad_requests)?;
        let cameras = stats
            .cameras
            .iter()
            .map(|camera| {
                let entry = PyDict::new(py);
                entry.set_item("sessions", camera.sessions)?;
                entry.set_item("playing", camera.playing)?;
                entry.set_item("frames", camera.frames)?;
                entry.set_item("rtp_packets", camera.rtp_packets)?;
                entry.set_item("bytes", camera.bytes)?;
                entry.set_item("cuts", camera.cuts)?;
                entry.set_item("stalls", camera.stalls)?;
                entry.set_item("corrupted_bytes", camera.corrupted_bytes)?;
                entry.set_item("auth_failures", camera.auth_failures)?;
                Ok(entry)
            })
            .collect::<PyResult<Vec<_>>>()?;
        dict.set_item("cameras", cameras)?;
        Ok(dict)
    }

    /// Stops serving: closes every connection (within about 100 ms).
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.lock().stop());
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> bool {
        self.stop(py);
        false
    }

    fn __repr__(&self) -> String {
        format!("<Simulator {} cameras on {}>", self.urls.len(), self.addr)
    }
}
