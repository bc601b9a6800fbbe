//! `decode = "fast"` against the bit-exact default, on the same simulated
//! camera: two full-decoding streams publish identical pictures for the same
//! frame of the camera's loop (matched by the stamp in its pixels), a fast
//! one publishes different but close pictures (PSNR bound), and the status
//! says which mode each stream decodes in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rtsp_ingest::ffmpeg::VideoCodec;
use rtsp_ingest::simulate::{stamp, PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::slab::PixelFormat;
use rtsp_ingest::stream::{DecodeMode, Stream, StreamConfig};

/// Frames in the simulator's loop.
const LOOP: u32 = 30;

/// The luma of the first `LOOP` distinct loop frames a stream publishes,
/// keyed by their stamp.
fn pictures(stream: &Stream) -> BTreeMap<u32, Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = BTreeMap::new();
    let mut last = None;
    while seen.len() < LOOP as usize {
        assert!(
            Instant::now() < deadline,
            "{} of {LOOP} loop frames: {:?}",
            seen.len(),
            stream.status()
        );
        let frame = match last {
            None => stream.wait_latest(Duration::from_secs(1)),
            Some(seq) => stream.wait_after(seq, Duration::from_secs(1)),
        };
        let Some(frame) = frame else { continue };
        last = Some(frame.seq());
        let Some(index) = stamp::read(&frame) else {
            panic!("frame {} has no legible stamp", frame.seq());
        };
        let luma: Vec<u8> = (0..frame.height() as usize)
            .flat_map(|y| frame.row(0, y)[..frame.width() as usize].to_vec())
            .collect();
        seen.entry(index).or_insert(luma);
    }
    seen
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let squared: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = squared / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64.powi(2) / mse).log10()
    }
}

fn check(codec: VideoCodec) {
    let pattern = PatternOptions::default()
        .codec(codec)
        .size(640, 360)
        .frames(LOOP)
        .gop(15)
        .noise(6);
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .pattern(pattern),
    )
    .unwrap();
    let start = |name: &str, mode: DecodeMode| {
        let config = StreamConfig::new(&simulator.url(0))
            .unwrap()
            .format(PixelFormat::Gray8)
            .decode(mode);
        Stream::start(name, config).unwrap()
    };
    let full = start("full", DecodeMode::Full);
    let again = start("again", DecodeMode::Full);
    let fast = start("fast", DecodeMode::Fast);
    let (full_pictures, again_pictures, fast_pictures) = std::thread::scope(|scope| {
        let a = scope.spawn(|| pictures(&full));
        let b = scope.spawn(|| pictures(&again));
        let c = scope.spawn(|| pictures(&fast));
        (a.join().unwrap(), b.join().unwrap(), c.join().unwrap())
    });
    for (stream, mode) in [(&full, DecodeMode::Full), (&fast, DecodeMode::Fast)] {
        let media = stream.status().media.expect("streaming: media known");
        assert_eq!(media.decode, mode);
    }
    // Full decoding is exact: the same loop frame, the same picture.
    for (index, picture) in &full_pictures {
        assert!(
            again_pictures[index] == *picture,
            "{codec:?}: frame {index} decoded twice differs"
        );
    }
    // Fast decoding is not: without the deblocking filter most pictures
    // differ, but they stay close to the exact ones.
    let scores: Vec<f64> = full_pictures
        .iter()
        .map(|(index, picture)| psnr(picture, &fast_pictures[index]))
        .collect();
    let differing = scores.iter().filter(|score| score.is_finite()).count();
    assert!(
        differing >= LOOP as usize / 2,
        "{codec:?}: only {differing} of {LOOP} fast pictures differ: {scores:?}"
    );
    let worst = scores.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        worst > 25.0,
        "{codec:?}: PSNR down to {worst:.1} dB: {scores:?}"
    );
}

#[test]
fn fast_h264_decoding_differs_from_the_exact_one_but_stays_close() {
    check(VideoCodec::H264);
}

#[test]
fn fast_h265_decoding_differs_from_the_exact_one_but_stays_close() {
    check(VideoCodec::H265);
}

/// MJPEG scaled down by `resize`: `fast` decodes at a quarter of the size
/// (`lowres` 2 for 1280x720 → 320x180), says so in the status, and the
/// pictures stay close to a full decode scaled to the same size; `full`
/// never uses lowres, nor does H.264 (its decoder has none).
#[test]
fn fast_mjpeg_decodes_at_the_reduced_size_when_downscaled() {
    let camera = |codec: VideoCodec| {
        let pattern = PatternOptions::default()
            .codec(codec)
            .size(1280, 720)
            .frames(LOOP)
            .noise(6);
        let config = SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .pattern(pattern);
        Simulator::start(config).unwrap()
    };
    let mjpeg = camera(VideoCodec::Mjpeg);
    let h264 = camera(VideoCodec::H264);
    let start = |simulator: &Simulator, name: &str, mode: DecodeMode| {
        let config = StreamConfig::new(&simulator.url(0))
            .unwrap()
            .format(PixelFormat::Gray8)
            .resize(320, 180)
            .decode(mode);
        Stream::start(name, config).unwrap()
    };
    let full = start(&mjpeg, "full", DecodeMode::Full);
    let fast = start(&mjpeg, "fast", DecodeMode::Fast);
    let h264_fast = start(&h264, "h264-fast", DecodeMode::Fast);
    let (full_pictures, fast_pictures) = std::thread::scope(|scope| {
        let a = scope.spawn(|| pictures(&full));
        let b = scope.spawn(|| pictures(&fast));
        (a.join().unwrap(), b.join().unwrap())
    });
    let lowres = |stream: &Stream| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(media) = stream.status().media {
                if stream.status().published > 0 {
                    return media.lowres;
                }
            }
            assert!(Instant::now() < deadline, "{:?}", stream.status());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    assert_eq!(lowres(&full), 0);
    assert_eq!(lowres(&fast), 2);
    assert_eq!(lowres(&h264_fast), 0, "H.264 has no lowres");
    let frame = fast.wait_latest(Duration::from_secs(5)).unwrap();
    assert_eq!((frame.width(), frame.height()), (320, 180));
    let scores: Vec<f64> = full_pictures
        .iter()
        .map(|(index, picture)| psnr(picture, &fast_pictures[index]))
        .collect();
    let worst = scores.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(worst > 22.0, "PSNR down to {worst:.1} dB: {scores:?}");
    eprintln!("lowres 2 against full + scale, PSNR: {scores:?}");
}
