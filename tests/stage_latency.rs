//! Per-frame stage latency: every published frame's stage times in its
//! metadata, and the same stages as histograms in the status and in
//! `/metrics` (`rtsp_ingest_stage_latency_seconds{stage=...}`), against the
//! simulator.

use std::time::{Duration, Instant};

use rtsp_ingest::manager::{ManagerConfig, StreamManager};
use rtsp_ingest::simulate::{PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::stream::{StreamConfig, StreamState};

#[test]
fn every_published_frame_is_counted_in_each_stage() {
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .pattern(PatternOptions::default().size(320, 180)),
    )
    .unwrap();
    let manager = StreamManager::new(ManagerConfig::default().no_pinning());
    manager
        .add("cam", StreamConfig::new(&simulator.url(0)).unwrap())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = 0;
    let mut last = None;
    while seen < 20 {
        assert!(Instant::now() < deadline, "{:?}", manager.status("cam"));
        let frame = match last {
            None => manager.wait_latest("cam", Duration::from_secs(1)),
            Some(seq) => manager.wait_after("cam", seq, Duration::from_secs(1)),
        };
        let Some(frame) = frame else { continue };
        let decoded = frame.decoded_at().expect("decoded time");
        let converted = frame.converted_at().expect("converted time");
        assert!(frame.received() <= decoded && decoded <= converted);
        last = Some(frame.seq());
        seen += 1;
    }
    manager.stop("cam").unwrap();
    let status = manager.status("cam").unwrap();
    assert_eq!(status.state, StreamState::Stopped);
    assert!(status.published >= 20);
    for (stage, histogram) in status.stage_latency.by_stage() {
        assert_eq!(histogram.count(), status.published, "{stage}");
    }
    let metrics = manager.metrics_text();
    for stage in ["decode", "convert", "publish"] {
        let count = format!(
            "rtsp_ingest_stage_latency_seconds_count{{stream=\"cam\",stage=\"{stage}\"}} {}",
            status.published
        );
        assert!(metrics.contains(&count), "{count} missing from\n{metrics}");
    }
    assert!(
        metrics.contains(
            "rtsp_ingest_stage_latency_seconds_bucket{le=\"0.000005\",stream=\"cam\",stage=\"publish\"}"
        ),
        "{metrics}"
    );
    manager.shutdown();
}
