//! Decoding in place against GStreamer's RTSP server: a `yuv420p` stream at
//! the camera's size lends its slots to the decoder, which decodes straight
//! into them, and the frames are published with no copy. The frames hold the
//! clip's pattern in order, frames a consumer holds are never written again
//! while decoding goes on, and the counters say which frames came in place.

#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use rtsp_fixture::{pattern, RtspServer, MOUNT_H264, MOUNT_H264_BFRAMES, MOUNT_H265, MOUNT_MJPEG};
use rtsp_ingest::simulate::{PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::slab::{Frame, FrameLayout, PixelFormat};
use rtsp_ingest::stream::{Stream, StreamConfig, StreamStatus};
use stream_util::collect_frames;

const FRAMES: usize = 30;

/// The Y plane as grey BGR pixels, for the pattern's frame-index reader
/// (its bits are black or white in every channel).
fn luma_as_bgr(frame: &Frame) -> Vec<u8> {
    (0..frame.height() as usize)
        .flat_map(|y| frame.row(0, y).iter().flat_map(|&luma| [luma; 3]))
        .collect()
}

/// A digest of every picture byte (all three planes, padding left out).
fn digest(frame: &Frame) -> u64 {
    let mut hasher = DefaultHasher::new();
    for (index, plane) in frame.layout().planes().iter().enumerate() {
        for y in 0..plane.rows {
            frame.row(index, y).hash(&mut hasher);
        }
    }
    hasher.finish()
}

fn yuv_stream(server: &RtspServer, mount: &str) -> Stream {
    let config = StreamConfig::new(&server.url(mount))
        .unwrap()
        .format(PixelFormat::Yuv420p)
        .queue_capacity(64);
    Stream::start(mount, config).unwrap()
}

/// Collects frames in order, checks their pattern and order, holds them
/// while decoding goes on, and checks that none changed; the status then.
fn decode_and_hold(server: &RtspServer, mount: &str) -> (Vec<Frame>, StreamStatus) {
    let mut stream = yuv_stream(server, mount);
    let frames = collect_frames(&stream, FRAMES, Duration::from_secs(20));
    let layout = pattern::Layout::bgr24(pattern::WIDTH, pattern::HEIGHT);
    let mut previous = None;
    for frame in &frames {
        let index = pattern::frame_index(&luma_as_bgr(frame), &layout)
            .unwrap_or_else(|e| panic!("{mount} frame {}: {e}", frame.seq()));
        if let Some(previous) = previous {
            assert_eq!(index, (previous + 1) % pattern::FRAMES, "{mount}: in order");
        }
        previous = Some(index);
    }
    let digests: Vec<u64> = frames.iter().map(digest).collect();
    // About 30 more pictures decoded while these are held: a held slot
    // written again would change its digest.
    std::thread::sleep(Duration::from_millis(1200));
    for (frame, before) in frames.iter().zip(&digests) {
        assert_eq!(
            digest(frame),
            *before,
            "{mount}: held frame {} changed",
            frame.seq()
        );
    }
    // Stopped first, so no frame is between the decoder and the slab.
    assert!(stream.stop());
    (frames, stream.status())
}

#[test]
fn h264_and_h265_decode_into_their_slots_and_held_frames_stay_intact() {
    let server = RtspServer::start_looping();
    for mount in [MOUNT_H264, MOUNT_H264_BFRAMES, MOUNT_H265] {
        let (frames, status) = decode_and_hold(&server, mount);
        // Laid out as the decoder's own buffers: planes spaced for the
        // padded picture it decodes, so unlike a plain layout.
        let plain = FrameLayout::new(320, 240, PixelFormat::Yuv420p).unwrap();
        assert!(
            frames[0].layout().len() > plain.len(),
            "{mount}: {:?}",
            frames[0].layout()
        );
        assert_eq!(frames[0].layout().planes()[0].rows, 240);
        // Only pictures decoded into FFmpeg's own buffers are copied: those
        // decoded before the slab was built (the first, and with B-frames
        // the ones decoded before it came out) and any with no slot free.
        assert!(
            status.published - status.decoded_in_place <= status.decoder_buffer_fallbacks,
            "{mount}: {status:#?}"
        );
        assert!(status.decoder_buffer_fallbacks >= 1, "{mount}: {status:#?}");
        assert!(
            status.decoded_in_place >= FRAMES as u64 / 2,
            "{mount}: {status:#?}"
        );
        // Counted, not hidden: every decoded frame published or dropped.
        let dropped = status.dropped.total();
        assert_eq!(
            status.decoded,
            status.published + dropped,
            "{mount}: {status:#?}"
        );
    }
}

#[test]
fn other_formats_resizes_and_full_range_jpeg_are_copied_as_before() {
    let server = RtspServer::start_looping();
    // MJPEG decodes to full-range yuvj420p: converted, never lent.
    let (_, status) = decode_and_hold(&server, MOUNT_MJPEG);
    assert_eq!(
        (status.decoded_in_place, status.decoder_buffer_fallbacks),
        (0, 0),
        "{status:#?}"
    );
    // BGR frames and a resize: nothing to decode into.
    for config in [
        StreamConfig::new(&server.url(MOUNT_H264)).unwrap(),
        StreamConfig::new(&server.url(MOUNT_H264))
            .unwrap()
            .format(PixelFormat::Yuv420p)
            .resize(160, 120),
    ] {
        let mut stream = Stream::start("copied", config.queue_capacity(16)).unwrap();
        let frames = collect_frames(&stream, 10, Duration::from_secs(20));
        assert_eq!(frames.len(), 10);
        assert!(stream.stop());
        let status = stream.status();
        assert_eq!(
            (status.decoded_in_place, status.decoder_buffer_fallbacks),
            (0, 0),
            "{status:#?}"
        );
    }
}

#[test]
fn a_new_picture_size_moves_to_a_new_slab_the_decoder_decodes_into_too() {
    // 320x180, then 640x360 from 1.5 s after PLAY (the encoder restarts).
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .pattern(PatternOptions::default().size(320, 180))
            .faults("resize-after=1.5s:640x360".parse().unwrap()),
    )
    .unwrap();
    let config = StreamConfig::new(&simulator.url(0))
        .unwrap()
        .format(PixelFormat::Yuv420p);
    let mut stream = Stream::start("resized", config).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut seen = None;
    let (small_in_place, big) = loop {
        let frame = match seen {
            Some(seq) => stream.wait_after(seq, Duration::from_secs(5)),
            None => stream.wait_latest(Duration::from_secs(10)),
        }
        .expect("frames keep coming");
        seen = Some(frame.seq());
        if frame.width() == 640 {
            break (stream.status().decoded_in_place, frame);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no 640x360 frame in 15 s"
        );
    };
    assert!(small_in_place > 0, "{:#?}", stream.status());
    let plain = FrameLayout::new(640, 360, PixelFormat::Yuv420p).unwrap();
    assert!(big.layout().len() > plain.len(), "{:?}", big.layout());
    drop(big);
    // Frames at the new size come in place too.
    for _ in 0..10 {
        let frame = stream
            .wait_after(seen.unwrap(), Duration::from_secs(5))
            .unwrap();
        seen = Some(frame.seq());
    }
    assert!(stream.stop());
    let status = stream.status();
    assert!(
        status.decoded_in_place >= small_in_place + 8,
        "{small_in_place} in place before the new size: {status:#?}"
    );
}

#[test]
fn the_simulators_default_camera_decodes_in_place() {
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .cameras(2),
    )
    .unwrap();
    let config = StreamConfig::new(&simulator.url(0))
        .unwrap()
        .format(PixelFormat::Yuv420p);
    let mut stream = Stream::start("sim", config).unwrap();
    let mut seen = stream
        .wait_latest(Duration::from_secs(10))
        .expect("a frame")
        .seq();
    for _ in 0..6 {
        seen = stream
            .wait_after(seen, Duration::from_secs(5))
            .unwrap()
            .seq();
    }
    assert!(stream.stop());
    let status = stream.status();
    assert!(status.decoded_in_place >= 5, "{status:#?}");
}
