//! End-to-end checks of the FFmpeg boundary without a network: clips made on
//! the fly with the `ffmpeg` CLI go through Input → Decoder → Scaler into real
//! slab slots; the interrupt and error mapping are checked against loopback
//! sockets that never answer or refuse.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::*;
use crate::slab::{self, DropPolicy, FrameInfo, FrameLayout, PixelFormat, SlabConfig};
use crate::ErrorKind;

/// A clip made once per test process with the `ffmpeg` CLI, or `None` (and a
/// note on stderr) when the CLI or the encoder is missing.
fn clip(cell: &'static OnceLock<Option<PathBuf>>, name: &str, args: &[&str]) -> Option<PathBuf> {
    cell.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("rtsp-ingest-{}-{name}", std::process::id()));
        let status = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
            .args(args)
            .arg(&path)
            .status();
        match status {
            Ok(status) if status.success() => Some(path),
            other => panic!(
                "cannot make {name} with the ffmpeg CLI ({other:?}); \
                 install it with scripts/install-deps.sh"
            ),
        }
    })
    .clone()
}

/// 10 frames of a moving test pattern, 64x48, H.264 with an IDR every 5 frames.
fn pattern_h264() -> Option<PathBuf> {
    static CELL: OnceLock<Option<PathBuf>> = OnceLock::new();
    clip(
        &CELL,
        "pattern.mp4",
        &[
            "-i",
            "testsrc2=size=64x48:rate=25",
            "-frames:v",
            "10",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "5",
            "-bf",
            "0",
            "-x264-params",
            "scenecut=0",
        ],
    )
}

/// 3 frames of solid red, H.264, limited range.
fn red_h264() -> Option<PathBuf> {
    static CELL: OnceLock<Option<PathBuf>> = OnceLock::new();
    clip(
        &CELL,
        "red.mp4",
        &[
            "-i",
            "color=c=red:size=64x48:rate=25",
            "-frames:v",
            "3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-qp",
            "10",
        ],
    )
}

/// 3 frames of solid red, MJPEG in full-range `yuvj420p`, as IP cameras send.
fn red_mjpeg() -> Option<PathBuf> {
    static CELL: OnceLock<Option<PathBuf>> = OnceLock::new();
    clip(
        &CELL,
        "red.mkv",
        &[
            "-i",
            "color=c=red:size=64x48:rate=25",
            "-frames:v",
            "3",
            "-c:v",
            "mjpeg",
            "-pix_fmt",
            "yuvj420p",
            "-q:v",
            "2",
        ],
    )
}

/// What the decoder said about one frame.
#[derive(Debug)]
struct Decoded {
    width: u32,
    height: u32,
    key: bool,
    corrupt: bool,
    pts: Option<i64>,
    format: Option<&'static str>,
    range: ColorRange,
}

/// Feeds every packet of stream `video` to `decoder`, then drains it, and
/// hands each decoded frame to `on_frame`.
fn decode_each(
    input: &mut Input,
    video: usize,
    decoder: &mut Decoder,
    mut on_frame: impl FnMut(&VideoFrame),
) {
    let (mut packet, mut frame) = (Packet::new().unwrap(), VideoFrame::new().unwrap());
    let mut drain = |decoder: &mut Decoder| {
        while decoder.receive_frame(&mut frame).unwrap() == DecodeOutcome::Frame {
            on_frame(&frame);
        }
    };
    loop {
        match input.read_packet(&mut packet).unwrap() {
            ReadOutcome::Packet if packet.stream_index() == video => {
                assert_eq!(decoder.send_packet(&packet).unwrap(), SendOutcome::Sent);
                drain(decoder);
            }
            ReadOutcome::Packet | ReadOutcome::Again => {}
            ReadOutcome::Eof => break,
        }
    }
    decoder.send_eof().unwrap();
    drain(decoder);
}

/// Decodes every frame of `path` and converts each into a slot of `layout`.
fn run(
    path: &Path,
    layout: FrameLayout,
    decoder_options: &DecoderOptions,
    probe: Probe,
) -> (Vec<Decoded>, Vec<slab::Frame>) {
    let options = InputOptions::default().probe(probe);
    let mut input = Input::open(path.to_str().unwrap(), &options, Interrupt::new()).unwrap();
    let video = input.best_video_stream().unwrap();
    input.discard_other_streams(video.index);
    let mut decoder = Decoder::new(&input, video.index, decoder_options).unwrap();
    let config = SlabConfig::new(layout)
        .capacity(32)
        .policy(DropPolicy::DropNewest);
    let (mut producer, mut consumer, _reader) = slab::new(config).unwrap();
    let mut scaler = Scaler::default();
    let mut decoded = Vec::new();
    decode_each(&mut input, video.index, &mut decoder, |frame| {
        decoded.push(Decoded {
            width: frame.width(),
            height: frame.height(),
            key: frame.is_key(),
            corrupt: frame.is_corrupt(),
            pts: frame.best_effort_timestamp(),
            format: frame.pixel_format_name(),
            range: frame.color_range(),
        });
        let mut slot = producer.begin().unwrap();
        scaler.scale_into(frame, &mut slot).unwrap();
        let info = FrameInfo {
            keyframe: frame.is_key(),
            ..FrameInfo::received_now()
        };
        let _ = slot.commit(info);
    });
    assert!(input.payload_bytes() > 0);
    let frames = std::iter::from_fn(|| consumer.pop_oldest()).collect();
    (decoded, frames)
}

/// Asserts every meaningful byte of plane `index` repeats `pattern` within `tolerance`.
fn assert_plane(frame: &slab::Frame, index: usize, pattern: &[u8], tolerance: u8, what: &str) {
    let plane = frame.layout().planes()[index];
    for y in 0..plane.rows {
        for (x, (&got, &want)) in frame
            .row(index, y)
            .iter()
            .zip(pattern.iter().cycle())
            .enumerate()
        {
            assert!(
                got.abs_diff(want) <= tolerance,
                "{what}: plane {index} row {y} byte {x} is {got}, want {want} ± {tolerance}"
            );
        }
    }
}

#[test]
fn a_missing_file_is_not_found_with_a_clear_message() {
    let path = std::env::temp_dir().join("rtsp-ingest-no-such-dir/none.mp4");
    let err = Input::open(
        path.to_str().unwrap(),
        &InputOptions::default(),
        Interrupt::new(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("none.mp4"), "{err}");
    assert!(err.message().contains("No such file or directory"), "{err}");
}

#[test]
fn probing_keeps_the_packets_it_reads_despite_nobuffer() {
    let path = pattern_h264().expect("clip");
    let layout = FrameLayout::new(64, 48, PixelFormat::Bgr24).unwrap();
    let (decoded, _) = run(&path, layout, &DecoderOptions::default(), Probe::Always);
    assert_eq!(decoded.len(), 10, "every frame, the probed ones included");
    assert!(
        decoded[0].key,
        "the first frame is the keyframe probing read"
    );
}

#[test]
fn a_clip_decodes_with_its_size_keyframes_and_timestamps() {
    let path = pattern_h264().expect("clip");
    let layout = FrameLayout::new(64, 48, PixelFormat::Bgr24).unwrap();
    let (decoded, frames) = run(&path, layout, &DecoderOptions::default(), Probe::IfNeeded);
    assert_eq!(decoded.len(), 10, "{decoded:?}");
    assert_eq!(frames.len(), 10);
    assert!(decoded.iter().all(|d| (d.width, d.height) == (64, 48)));
    assert!(decoded
        .iter()
        .all(|d| d.format == Some("yuv420p") && !d.corrupt));
    let keys: Vec<usize> = (0..10).filter(|&i| decoded[i].key).collect();
    assert_eq!(keys, [0, 5], "{decoded:?}");
    assert!(frames
        .iter()
        .map(|f| f.is_keyframe())
        .eq(decoded.iter().map(|d| d.key)));
    let pts: Vec<i64> = decoded.iter().map(|d| d.pts.unwrap()).collect();
    assert!(pts.windows(2).all(|w| w[0] < w[1]), "{pts:?}");
}

#[test]
fn keyframes_only_skips_the_others_before_decoding() {
    let path = pattern_h264().expect("clip");
    let layout = FrameLayout::new(64, 48, PixelFormat::Gray8).unwrap();
    let options = DecoderOptions::default().keyframes_only(true);
    let (decoded, _) = run(&path, layout, &options, Probe::IfNeeded);
    assert_eq!(decoded.len(), 2, "{decoded:?}");
    assert!(decoded.iter().all(|d| d.key));
}

#[test]
fn stream_info_is_known_without_probing_a_file_with_headers() {
    let path = pattern_h264().expect("clip");
    let options = InputOptions::default().probe(Probe::Never);
    let input = Input::open(path.to_str().unwrap(), &options, Interrupt::new()).unwrap();
    assert!(!input.needs_probe());
    let info = input.best_video_stream().unwrap();
    assert_eq!(
        (info.codec, info.codec_name.as_str()),
        (VideoCodec::H264, "h264")
    );
    assert_eq!((info.width, info.height), (64, 48));
    assert!(info.has_extradata);
    assert!(info.time_base.den > 0);
    assert_eq!(input.start_time_realtime(), None);
    assert!(input.io_bytes().is_some_and(|bytes| bytes > 0));
    assert!(input.url().ends_with("pattern.mp4"));
    // Decoding works without the probe too.
    let layout = FrameLayout::new(64, 48, PixelFormat::Yuv420p).unwrap();
    let (decoded, _) = run(&path, layout, &DecoderOptions::default(), Probe::Never);
    assert_eq!(decoded.len(), 10);
}

/// Solid red (BT.601): limited-range Y'CbCr (81, 90, 240), full-range luma 76.
#[test]
fn solid_red_converts_in_every_format() {
    let clips = [
        ("h264", red_h264(), ColorRange::Unspecified),
        ("mjpeg", red_mjpeg(), ColorRange::Full),
    ];
    for (codec, path, range) in clips {
        let path = path.expect("clip");
        for format in PixelFormat::ALL {
            let layout = FrameLayout::new(64, 48, format).unwrap();
            let (decoded, frames) = run(&path, layout, &DecoderOptions::default(), Probe::IfNeeded);
            assert_eq!(frames.len(), 3, "{codec} {format}");
            assert!(
                decoded.iter().all(|d| d.range == range
                    || (range == ColorRange::Unspecified && d.range == ColorRange::Limited)),
                "{decoded:?}"
            );
            let what = format!("{codec} → {format}");
            let frame = &frames[2];
            match format {
                PixelFormat::Bgr24 => assert_plane(frame, 0, &[0, 0, 255], 4, &what),
                PixelFormat::Rgb24 => assert_plane(frame, 0, &[255, 0, 0], 4, &what),
                // Tight enough to tell full-range luma (76) from limited (81).
                PixelFormat::Gray8 => assert_plane(frame, 0, &[76], 2, &what),
                PixelFormat::Yuv420p => {
                    assert_plane(frame, 0, &[81], 2, &what);
                    assert_plane(frame, 1, &[90], 3, &what);
                    assert_plane(frame, 2, &[240], 3, &what);
                }
                PixelFormat::Nv12 => {
                    assert_plane(frame, 0, &[81], 2, &what);
                    assert_plane(frame, 1, &[90, 240], 3, &what);
                }
                // Red in the R plane, which comes first (swscale writes G, B, R).
                PixelFormat::RgbPlanar => {
                    assert_plane(frame, 0, &[255], 4, &what);
                    assert_plane(frame, 1, &[0], 4, &what);
                    assert_plane(frame, 2, &[0], 4, &what);
                }
            }
        }
    }
}

#[test]
fn frames_are_resized_into_the_slot_layout() {
    let path = red_h264().expect("clip");
    for (width, height, format) in [
        (32, 24, PixelFormat::Bgr24),
        (99, 75, PixelFormat::Rgb24),
        (33, 17, PixelFormat::Yuv420p),
        (130, 96, PixelFormat::Nv12),
        (65, 33, PixelFormat::RgbPlanar),
    ] {
        let layout = FrameLayout::new(width, height, format).unwrap();
        let (_, frames) = run(&path, layout, &DecoderOptions::default(), Probe::IfNeeded);
        let frame = &frames[2];
        assert_eq!((frame.width(), frame.height()), (width, height));
        let what = format!("{width}x{height} {format}");
        match format {
            PixelFormat::Bgr24 => assert_plane(frame, 0, &[0, 0, 255], 10, &what),
            PixelFormat::Rgb24 => assert_plane(frame, 0, &[255, 0, 0], 10, &what),
            PixelFormat::Yuv420p => assert_plane(frame, 2, &[240], 8, &what),
            PixelFormat::RgbPlanar => assert_plane(frame, 0, &[255], 10, &what),
            _ => assert_plane(frame, 1, &[90, 240], 8, &what),
        }
    }
}

/// A loopback port that accepts connections (the kernel completes the
/// handshake into the backlog) and never answers.
fn silent_server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "rtsp://127.0.0.1:{}/x",
        listener.local_addr().unwrap().port()
    );
    (listener, url)
}

#[test]
fn a_silent_server_times_out_at_the_deadline() {
    let (_listener, url) = silent_server();
    let options = InputOptions::default().open_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = Input::open(&url, &options, Interrupt::new()).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("300 ms"), "{err}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1200), "{elapsed:?}");
}

#[test]
fn stopping_from_another_thread_ends_a_blocked_open() {
    let (_listener, url) = silent_server();
    let options = InputOptions::default().open_timeout(Duration::from_secs(10));
    let interrupt = Interrupt::new();
    let stopper = {
        let interrupt = Arc::clone(&interrupt);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            interrupt.stop();
        })
    };
    let started = Instant::now();
    let err = Input::open(&url, &options, Arc::clone(&interrupt)).unwrap_err();
    let elapsed = started.elapsed();
    stopper.join().unwrap();
    assert_eq!(err.kind(), ErrorKind::Stopped, "{err}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    // A stopped interrupt refuses new work at once; resumed, it bounds again.
    let err = Input::open(&url, &options, Arc::clone(&interrupt)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stopped);
    interrupt.resume();
    assert!(!interrupt.is_stopped());
}

#[test]
fn a_refused_connection_never_shows_the_password() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("rtsp://user:s3cr3t@127.0.0.1:{port}/x");
    let mut result = None;
    let logs = log::tests::capture(|| {
        result = Some(Input::open(
            &url,
            &InputOptions::default(),
            Interrupt::new(),
        ));
    });
    let err = result.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert!(err.message().contains("rtsp://user:***@127.0.0.1"), "{err}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(!logs.contains("s3cr3t"), "{logs}");
}

#[test]
fn the_version_is_5_1_or_newer() {
    init();
    let version = version();
    assert!(!version.is_empty());
    // SAFETY: returns a constant.
    let lavc = unsafe { ffi::avcodec_version() } >> 16;
    assert!(
        lavc >= 59,
        "libavcodec {lavc} ({version}) is older than FFmpeg 5.1"
    );
}

/// 24 frames of a moving pattern, 320x180 (coded 320x192: the decoder's
/// pictures are cropped by 12 rows), H.264 with B-frames and 3 slices a picture.
fn banded_h264() -> Option<PathBuf> {
    static CELL: OnceLock<Option<PathBuf>> = OnceLock::new();
    clip(
        &CELL,
        "banded.mp4",
        &[
            "-i",
            "testsrc2=size=320x180:rate=25",
            "-frames:v",
            "24",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "12",
            "-bf",
            "2",
            "-x264-params",
            "slices=3",
        ],
    )
}

/// Per picture (by its id): rows converted, and the converted frame.
type Converted = Arc<std::sync::Mutex<std::collections::HashMap<usize, (usize, Vec<u8>)>>>;

/// A band sink converting each picture's bands into its own buffer.
struct Converting {
    layout: FrameLayout,
    pictures: Converted,
}

impl BandSink for Converting {
    fn band(&mut self, band: &Band<'_>) {
        let mut pictures = self.pictures.lock().unwrap();
        let (rows, pixels) = pictures
            .entry(band.picture_id())
            .or_insert_with(|| (0, vec![0; self.layout.len()]));
        if band.done() <= *rows {
            // The buffer again: a new picture.
            *rows = 0;
        }
        let end = crate::convert::Direct::band_end(band, &self.layout);
        if end > *rows {
            let direct = crate::convert::Direct::band(band, &self.layout, *rows..end)
                .expect("a band of a 4:2:0 frame picture converts");
            direct
                .convert_into_planes(&self.layout, self.layout.split_mut(pixels))
                .unwrap();
            *rows = end;
        }
    }
}

#[test]
fn bands_convert_to_the_whole_pictures_conversion_with_b_frames_slices_and_cropping() {
    let path = banded_h264().unwrap();
    let mut input = Input::open(
        path.to_str().unwrap(),
        &InputOptions::default(),
        Interrupt::new(),
    )
    .unwrap();
    let video = input.best_video_stream().unwrap();
    let mut decoder = Decoder::new(&input, video.index, &DecoderOptions::default()).unwrap();
    let layout = FrameLayout::new(320, 180, PixelFormat::Bgr24).unwrap();
    let pictures = Arc::default();
    let sink = Converting {
        layout,
        pictures: Arc::clone(&pictures),
    };
    assert!(decoder.tap_bands(Box::new(sink)));
    assert!(
        decoder.lend_pictures().is_none(),
        "one opaque: bands or a pool"
    );
    let mut compared = 0;
    decode_each(&mut input, video.index, &mut decoder, |frame| {
        assert_eq!((frame.width(), frame.height()), (320, 180));
        let mut whole = vec![0; layout.len()];
        crate::convert::Direct::new(frame, &layout)
            .unwrap()
            .convert_into_planes(&layout, layout.split_mut(&mut whole))
            .unwrap();
        let (rows, banded) = pictures
            .lock()
            .unwrap()
            .remove(&frame.picture_id())
            .expect("the output frame's picture was banded");
        assert_eq!(rows, 180, "every row converted");
        assert!(
            banded == whole,
            "frame {compared}: bands differ from the whole"
        );
        compared += 1;
    });
    assert_eq!(compared, 24);
}
