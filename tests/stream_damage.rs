//! The damage policy against packet loss over TCP: the simulator (a noisy
//! test pattern at a real camera's bitrate) behind the fault proxy, which
//! removes 1 % of the interleaved RTP packets (whole `$` frames, as a camera
//! whose send buffer overflowed does). With
//! `on_damage = "hold"` no damaged picture is published; with `"flag"` most
//! frames are, and every one whose pixels are off says it is damaged. Both
//! RTSP clients: FFmpeg's (loss from its log) and the native one (loss from
//! retina's per-frame count).

#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::time::{Duration, Instant};

use fault_proxy::{Fault, FaultProxy, RtpLoss};
use rtsp_fixture::pattern;
use rtsp_ingest::simulate::{PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::slab::{Damage, Frame};
use rtsp_ingest::stream::{OnDamage, RtspClient, Stream, StreamConfig, StreamStatus};
use stream_util::wait_for;

/// How long the lossy stretch runs: about 200 frames.
const LOSSY: Duration = Duration::from_secs(8);

/// A stream through `proxy` with the damage policy `on_damage`, read by `client`.
fn start(proxy: &FaultProxy, on_damage: OnDamage, client: RtspClient) -> Stream {
    let config = StreamConfig::new(&proxy.url("/cam0"))
        .unwrap()
        .connect_timeout(Duration::from_secs(3))
        .stall_timeout(Duration::from_secs(5))
        .queue_capacity(64)
        .on_damage(on_damage)
        .rtsp_client(client);
    Stream::start("lossy", config).unwrap()
}

/// Whether the frame shows the clean test pattern.
fn intact(frame: &Frame) -> bool {
    let rows: Vec<u8> = (0..frame.height() as usize)
        .flat_map(|y| frame.row(0, y).to_vec())
        .collect();
    let layout = pattern::Layout::bgr24(frame.width() as usize, frame.height() as usize);
    pattern::check(&rows, &layout, pattern::DEFAULT_TOLERANCE).is_ok()
}

/// What the lossy stretch showed: every published frame's damage and
/// whether its pixels were intact, and the status before and after.
struct Run {
    frames: Vec<(Damage, bool)>,
    before: StreamStatus,
    after: StreamStatus,
    dropped_by_proxy: u64,
}

/// Streams cleanly until 10 frames are out, then through 1 % RTP loss for
/// [`LOSSY`], checking every frame the ordered queue delivers.
fn run_lossy(on_damage: OnDamage, client: RtspClient) -> Run {
    let config = SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .pattern(PatternOptions::default().noise(8));
    let simulator = Simulator::start(config).unwrap();
    let proxy = FaultProxy::start(simulator.addr());
    let mut stream = start(&proxy, on_damage, client);
    wait_for(&stream, Duration::from_secs(15), "streaming", |s| {
        s.published >= 10
    });
    let mut consumer = stream.take_consumer().expect("the slab exists");
    while consumer.pop_oldest().is_some() {}
    let before = stream.status();
    proxy.set_fault(Fault::DropRtp(RtpLoss::new(0.01)));
    let mut frames = Vec::new();
    let until = Instant::now() + LOSSY;
    while Instant::now() < until {
        match consumer.pop_oldest() {
            Some(frame) => frames.push((frame.damage(), intact(&frame))),
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    let after = stream.status();
    let dropped_by_proxy = proxy.stats().rtp_packets_dropped;
    assert!(stream.stop());
    Run {
        frames,
        before,
        after,
        dropped_by_proxy,
    }
}

/// The losses were real and FFmpeg's count of them is believable.
fn assert_loss_counted(run: &Run) {
    let lost = run.after.rtp_packets_lost - run.before.rtp_packets_lost;
    assert!(
        run.dropped_by_proxy >= 5,
        "1 % of the packets dropped: {}",
        run.dropped_by_proxy
    );
    assert!(
        lost > 0 && lost <= run.dropped_by_proxy,
        "{lost} packets counted lost, {} dropped",
        run.dropped_by_proxy
    );
    assert_eq!(
        run.after.decoded,
        run.after.published + run.after.dropped.total(),
        "the books balance: {:#?}",
        run.after
    );
}

#[test]
fn with_hold_rtp_loss_publishes_no_damaged_frame() {
    hold_publishes_no_damaged_frame(RtspClient::Ffmpeg);
}

#[test]
fn with_hold_rtp_loss_publishes_no_damaged_frame_native() {
    hold_publishes_no_damaged_frame(RtspClient::Native);
}

#[test]
fn with_flag_rtp_loss_publishes_most_frames_and_flags_the_damaged() {
    flag_publishes_most_frames(RtspClient::Ffmpeg);
}

#[test]
fn with_flag_rtp_loss_publishes_most_frames_and_flags_the_damaged_native() {
    flag_publishes_most_frames(RtspClient::Native);
}

fn hold_publishes_no_damaged_frame(client: RtspClient) {
    let run = run_lossy(OnDamage::Hold, client);
    assert_loss_counted(&run);
    assert!(!run.frames.is_empty(), "{:#?}", run.after);
    for (index, (damage, intact)) in run.frames.iter().enumerate() {
        assert_eq!(*damage, Damage::Clean, "frame {index}");
        assert!(intact, "frame {index} was published with damaged pixels");
    }
    assert_eq!(run.after.damaged, 0);
    assert!(
        run.after.dropped.corrupt > run.before.dropped.corrupt,
        "the loss held frames back: {:#?}",
        run.after
    );
}

fn flag_publishes_most_frames(client: RtspClient) {
    let run = run_lossy(OnDamage::Flag, client);
    assert_loss_counted(&run);
    let decoded = run.after.decoded - run.before.decoded;
    let published = run.after.published - run.before.published;
    assert!(
        published * 10 >= decoded * 6,
        "{published} of {decoded} decoded frames published"
    );
    let damaged = run.frames.iter().filter(|(damage, _)| damage.is_damaged());
    assert!(damaged.count() > 0, "the loss damaged some frames");
    for (index, (damage, intact)) in run.frames.iter().enumerate() {
        assert!(
            *intact || damage.is_damaged(),
            "frame {index} has damaged pixels and says it is clean"
        );
    }
    let delivered = run
        .frames
        .iter()
        .filter(|(damage, _)| damage.is_damaged())
        .count() as u64;
    assert!(
        run.after.damaged - run.before.damaged >= delivered,
        "every damaged frame delivered is counted: {delivered}, {:#?}",
        run.after
    );
}

/// The simulator's own `tcp-loss` fault (no proxy): whole RTP packets left
/// out of the interleaved stream are counted on both sides, and `hold`
/// publishes nothing damaged.
#[test]
fn the_simulators_tcp_loss_is_counted_and_held() {
    let config = SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .pattern(PatternOptions::default().noise(8))
        .faults("tcp-loss=0.02".parse().unwrap());
    let simulator = Simulator::start(config).unwrap();
    let url = simulator.url(0);
    let config = StreamConfig::new(&url)
        .unwrap()
        .transport(rtsp_ingest::stream::Transport::Tcp)
        .queue_capacity(256);
    let mut stream = Stream::start("tcp-loss", config).unwrap();
    stream.queue_frames();
    let status = wait_for(&stream, Duration::from_secs(20), "loss noticed", |s| {
        s.rtp_packets_lost > 0 && s.published >= 10
    });
    let mut consumer = stream.take_consumer().expect("the slab exists");
    let mut checked = 0;
    while let Some(frame) = consumer.pop_oldest() {
        assert_eq!(frame.damage(), Damage::Clean, "frame {}", frame.seq());
        assert!(intact(&frame), "frame {} has damaged pixels", frame.seq());
        checked += 1;
    }
    assert!(checked > 0);
    assert!(stream.stop());
    let lost = simulator.stats().cameras[0].tcp_lost;
    assert!(
        lost >= status.rtp_packets_lost,
        "{lost} dropped, {} counted lost",
        status.rtp_packets_lost
    );
}
