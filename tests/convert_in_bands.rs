//! Converting while the picture is hot, against GStreamer's RTSP server: a
//! `bgr24`, `rgb24` or `gray8` H.264 stream at the camera's size converts
//! each band of rows as the decoder finishes it, into the slot the frame is
//! published in. The frames must be exactly the frames the whole-picture
//! conversion makes (a stream with `decode_in_place(false)` on the same
//! clip, frame for frame by the pattern's index), with and without
//! B-frames, and the counters must say which frames came in bands.

#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rtsp_fixture::{pattern, RtspServer, MOUNT_H264, MOUNT_H264_BFRAMES, MOUNT_H265, MOUNT_MJPEG};
use rtsp_ingest::slab::{Frame, PixelFormat};
use rtsp_ingest::stream::{Stream, StreamConfig, StreamStatus};

/// Two loops of the clip: every pattern index comes at least once.
const FRAMES: usize = 2 * pattern::FRAMES as usize;

/// The frame's picture bytes, row by row (padding left out).
fn pixels(frame: &Frame) -> Vec<u8> {
    (0..frame.height() as usize)
        .flat_map(|y| frame.row(0, y).to_vec())
        .collect()
}

/// The pattern's frame index, read as BGR (gray repeated in each channel;
/// the index bits are black or white in every channel, so RGB reads the same).
fn index_of(frame: &Frame) -> u32 {
    let bgr: Vec<u8> = match frame.format() {
        PixelFormat::Gray8 => pixels(frame).iter().flat_map(|&g| [g; 3]).collect(),
        _ => pixels(frame),
    };
    let layout = pattern::Layout::bgr24(pattern::WIDTH, pattern::HEIGHT);
    pattern::frame_index(&bgr, &layout).unwrap_or_else(|e| panic!("frame {}: {e}", frame.seq()))
}

/// A frame's pattern index and picture bytes, kept instead of the frame
/// (holding 150 frames would hold every slot).
struct Seen {
    seq: u64,
    index: u32,
    pixels: Vec<u8>,
}

/// `FRAMES` frames of `mount` in `format`, converted in bands or not, in
/// order; the stream's status once stopped.
fn frames(
    server: &RtspServer,
    mount: &str,
    format: PixelFormat,
    in_bands: bool,
) -> (Vec<Seen>, StreamStatus) {
    let config = StreamConfig::new(&server.url(mount))
        .unwrap()
        .format(format)
        .decode_in_place(in_bands)
        .queue_capacity(64);
    let mut stream = Stream::start(mount, config).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::with_capacity(FRAMES);
    while seen.len() < FRAMES {
        assert!(
            Instant::now() < deadline,
            "{mount} {format}: {} of {FRAMES} frames in 30 s: {:#?}",
            seen.len(),
            stream.status()
        );
        let after = seen.last().map(|s: &Seen| s.seq);
        let next = match after {
            Some(seq) => stream.wait_after(seq, Duration::from_secs(5)),
            None => stream.wait_latest(Duration::from_secs(10)),
        };
        let Some(frame) = next else { continue };
        seen.push(Seen {
            seq: frame.seq(),
            index: index_of(&frame),
            pixels: pixels(&frame),
        });
    }
    // Stopped first, so no frame is between the decoder and the slab.
    assert!(stream.stop());
    (seen, stream.status())
}

fn assert_counted(status: &StreamStatus, what: &str) {
    assert_eq!(
        status.decoded,
        status.published + status.dropped.total(),
        "{what}: every decoded frame published or dropped: {status:#?}"
    );
}

#[test]
fn bands_make_exactly_the_whole_pictures_conversion() {
    let server = RtspServer::start_looping();
    for mount in [MOUNT_H264, MOUNT_H264_BFRAMES] {
        for format in [PixelFormat::Bgr24, PixelFormat::Rgb24, PixelFormat::Gray8] {
            let what = format!("{mount} {format}");
            let (whole, whole_status) = frames(&server, mount, format, false);
            assert_eq!(
                whole_status.converted_in_bands, 0,
                "{what}: {whole_status:#?}"
            );
            let reference: HashMap<u32, &[u8]> = whole
                .iter()
                .map(|seen| (seen.index, seen.pixels.as_slice()))
                .collect();
            let (banded, status) = frames(&server, mount, format, true);
            for pair in banded.windows(2) {
                // A slow reader may miss a frame: the pattern moves on by the
                // frames published between.
                let step = u32::try_from(pair[1].seq - pair[0].seq).unwrap();
                assert_eq!(
                    pair[1].index,
                    (pair[0].index + step) % pattern::FRAMES,
                    "{what}: in order"
                );
            }
            for seen in &banded {
                let expected = reference.get(&seen.index).unwrap_or_else(|| {
                    panic!("{what}: pattern frame {} not seen whole", seen.index)
                });
                assert!(
                    seen.pixels == *expected,
                    "{what}: frame {} (pattern {}) differs from the whole conversion",
                    seen.seq,
                    seen.index
                );
            }
            // The first pictures come before the slab (and its slots) exist,
            // and the odd one when no slot is free; the rest come in bands.
            assert!(
                status.converted_in_bands >= FRAMES as u64 * 3 / 4,
                "{what}: {status:#?}"
            );
            assert_eq!(status.decoded_in_place, 0, "{what}: {status:#?}");
            assert_counted(&status, &what);
        }
    }
}

#[test]
fn decoders_without_bands_and_resized_streams_convert_whole_pictures() {
    let server = RtspServer::start_looping();
    // H.265 and MJPEG decoders report no bands.
    for mount in [MOUNT_H265, MOUNT_MJPEG] {
        let (seen, status) = frames(&server, mount, PixelFormat::Bgr24, true);
        assert_eq!(seen.len(), FRAMES);
        assert_eq!(status.converted_in_bands, 0, "{mount}: {status:#?}");
        assert_counted(&status, mount);
    }
    // A resize goes through swscale, from the whole picture.
    let config = StreamConfig::new(&server.url(MOUNT_H264))
        .unwrap()
        .resize(160, 120);
    let mut stream = Stream::start("resized", config).unwrap();
    let frame = stream
        .wait_latest(Duration::from_secs(10))
        .expect("a frame");
    assert_eq!(frame.width(), 160);
    let mut seq = frame.seq();
    drop(frame);
    for _ in 0..10 {
        seq = stream
            .wait_after(seq, Duration::from_secs(5))
            .expect("frames keep coming")
            .seq();
    }
    assert!(stream.stop());
    let status = stream.status();
    assert_eq!(status.converted_in_bands, 0, "{status:#?}");
}
