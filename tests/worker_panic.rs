//! A `tracing` layer that panics on the worker thread, installed as the
//! process's global subscriber (hence a test binary of its own): the panic is
//! contained like any other worker panic, although the worker's own report of
//! it goes through the same layer and panics again.

#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use rtsp_ingest::stream::{Stream, StreamConfig, StreamState};
use rtsp_ingest::ErrorKind;
use stream_util::wait_for;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Panics on every event the crate logs from a stream's worker thread.
struct PanicsInWorkers;

impl<S: Subscriber> Layer<S> for PanicsInWorkers {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let in_worker = std::thread::current()
            .name()
            .is_some_and(|name| name.starts_with("rtsp-"));
        if in_worker && event.metadata().target().starts_with("rtsp_ingest") {
            panic!("a tracing layer that panics");
        }
    }
}

#[test]
fn a_tracing_layer_that_panics_in_the_worker_fails_the_stream_and_stops_at_once() {
    let subscriber = tracing_subscriber::registry().with(PanicsInWorkers);
    tracing::subscriber::set_global_default(subscriber).unwrap();
    // Refused at once: the worker logs the session's end, and the layer panics.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = StreamConfig::new(&format!("rtsp://{closed}/x")).unwrap();
    let mut stream = Stream::start("cam", config).unwrap();
    let status = wait_for(&stream, Duration::from_secs(10), "failed", |s| {
        matches!(s.state, StreamState::Failed(_))
    });
    let error = status.last_error.expect("the panic is the last error");
    assert_eq!(error.kind(), ErrorKind::Panic, "{error}");
    assert!(
        error.message().contains("a tracing layer that panics"),
        "{error}"
    );
    assert!(stream.is_finished());
    let last = stream.events().unwrap().try_iter().last().unwrap();
    assert_eq!(last.state, StreamState::Failed(error));
    let begun = Instant::now();
    assert!(stream.stop(), "a finished worker is joined at once");
    let took = begun.elapsed();
    assert!(took <= Duration::from_millis(200), "stop took {took:?}");
}
