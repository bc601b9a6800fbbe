//! What a model wants: letterboxed resizes (the picture's rectangle, the
//! padding, the aspect ratio kept), planar RGB in R, G, B order, and gray8
//! from nv12 against swscale's gray.

use rtsp_ingest::convert::{Converter, Engine, Fit, ResizeMode, DEFAULT_PAD_VALUE};
use rtsp_ingest::ffmpeg::{ColorRange, ColorSpace, ScaleAlgorithm, Scaler, VideoFrame};
use rtsp_ingest::slab::{
    self, ContentRect, Frame, FrameInfo, FrameLayout, PixelFormat, SlabConfig,
};

/// A limited-range BT.601 picture: mid grey, with a white square of side
/// `square` in the middle.
fn square_picture(width: u32, height: u32, square: u32) -> VideoFrame {
    let mut frame =
        VideoFrame::new_yuv420p(width, height, ColorRange::Limited, ColorSpace::Bt601).unwrap();
    let (x0, y0) = ((width - square) / 2, (height - square) / 2);
    for index in 0..3 {
        let shift = u32::from(index > 0);
        let mut plane = frame.plane_mut(index).unwrap();
        for (y, row) in plane.rows_mut().enumerate() {
            for (x, byte) in row.iter_mut().enumerate() {
                let (lx, ly) = ((x as u32) << shift, (y as u32) << shift);
                let inside = (x0..x0 + square).contains(&lx) && (y0..y0 + square).contains(&ly);
                *byte = match (index, inside) {
                    (0, true) => 235,
                    (0, false) => 126,
                    _ => 128,
                };
            }
        }
    }
    frame
}

/// Converts `frame` into a `width` × `height` slot of `format` with `fit`
/// and returns the published frame and the engine.
fn convert(
    frame: &VideoFrame,
    width: u32,
    height: u32,
    format: PixelFormat,
    fit: Fit,
) -> (Frame, Engine) {
    let layout = FrameLayout::new(width, height, format).unwrap();
    let (mut producer, _consumer, reader) = slab::new(SlabConfig::new(layout)).unwrap();
    let mut converter = Converter::new(ScaleAlgorithm::Bilinear).with_fit(fit);
    let mut slot = producer.begin().unwrap();
    // Garbage everywhere first: the converter must write every byte it owns.
    slot.data_mut().fill(7);
    let engine = converter.convert_into(frame, &mut slot).unwrap();
    let _ = slot.commit(FrameInfo::received_now());
    (reader.latest().unwrap(), engine)
}

fn letterbox(pad: u8) -> Fit {
    Fit {
        mode: ResizeMode::Letterbox,
        pad,
    }
}

/// Pixels of plane 0 in row `y` (or column `x`) brighter than the grey.
fn bright_run(
    frame: &Frame,
    pixel_bytes: usize,
    row: Option<usize>,
    column: Option<usize>,
) -> usize {
    let bright = |x: usize, y: usize| frame.row(0, y)[x * pixel_bytes] > 200;
    match (row, column) {
        (Some(y), None) => (0..frame.width() as usize)
            .filter(|&x| bright(x, y))
            .count(),
        (None, Some(x)) => (0..frame.height() as usize)
            .filter(|&y| bright(x, y))
            .count(),
        _ => unreachable!(),
    }
}

#[test]
fn letterbox_places_the_picture_keeps_its_aspect_and_pads_the_rest() {
    // 16:9 into a square: bands above and below, the square stays square.
    let source = square_picture(320, 180, 100);
    for format in [
        PixelFormat::Bgr24,
        PixelFormat::RgbPlanar,
        PixelFormat::Gray8,
    ] {
        let (frame, engine) = convert(&source, 128, 128, format, letterbox(DEFAULT_PAD_VALUE));
        assert_eq!(engine, Engine::Swscale);
        let rect = frame.content_rect();
        assert_eq!(
            rect,
            ContentRect {
                x: 0,
                y: 28,
                width: 128,
                height: 72,
                source_width: 320,
                source_height: 180
            },
            "{format}"
        );
        let pixel_bytes = if format == PixelFormat::Bgr24 { 3 } else { 1 };
        for plane in 0..frame.layout().planes().len() {
            for y in (0..28).chain(100..128) {
                assert!(
                    frame.row(plane, y).iter().all(|&v| v == DEFAULT_PAD_VALUE),
                    "{format} plane {plane} row {y} is padding"
                );
            }
            for y in 28..100 {
                assert!(
                    frame
                        .row(plane, y)
                        .iter()
                        .all(|&v| v != DEFAULT_PAD_VALUE && v != 7),
                    "{format} plane {plane} row {y} is picture"
                );
            }
        }
        // The 100-pixel square is 40 pixels each way (2/5 of the source).
        let across = bright_run(&frame, pixel_bytes, Some(64), None);
        let down = bright_run(&frame, pixel_bytes, None, Some(64));
        assert!(
            across.abs_diff(40) <= 1 && down.abs_diff(40) <= 1,
            "{format}: {across}x{down}"
        );
    }
    // Stretched, the same square is squashed: the test can tell.
    let (frame, _) = convert(&source, 128, 128, PixelFormat::Bgr24, Fit::default());
    assert!(frame.content_rect().covers(128, 128));
    let (across, down) = (
        bright_run(&frame, 3, Some(64), None),
        bright_run(&frame, 3, None, Some(64)),
    );
    assert!(down > across + 20, "stretched {across}x{down}");
}

#[test]
fn letterbox_bands_left_and_right_survive_swscale_row_overshoot() {
    // Portrait into landscape; an odd pad value and a right band of 1 pixel
    // (101 wide from a square source), narrower than swscale's 16-pixel
    // blocks, so that a write past a picture row would show (filling the
    // bands before scaling instead of after fails here: swscale writes past
    // the right edge of bgr24 rows).
    for (width, height, source, x, picture) in [
        (128, 128, (180, 320), 28, 72),
        (101, 100, (100, 100), 0, 100),
    ] {
        let frame_in = square_picture(source.0, source.1, 40);
        for format in [
            PixelFormat::Bgr24,
            PixelFormat::Rgb24,
            PixelFormat::RgbPlanar,
            PixelFormat::Gray8,
        ] {
            let (frame, _) = convert(&frame_in, width, height, format, letterbox(3));
            let rect = frame.content_rect();
            assert_eq!(
                (rect.x, rect.y, rect.width, rect.height),
                (x, 0, picture, height),
                "{format}"
            );
            let bytes = if matches!(format, PixelFormat::Bgr24 | PixelFormat::Rgb24) {
                3
            } else {
                1
            };
            for plane in 0..frame.layout().planes().len() {
                for y in 0..height as usize {
                    let row = frame.row(plane, y);
                    let (left, right) = (x as usize * bytes, (x + picture) as usize * bytes);
                    assert!(
                        row[..left].iter().all(|&v| v == 3),
                        "{format} {plane} {y} left"
                    );
                    assert!(
                        row[right..].iter().all(|&v| v == 3),
                        "{format} {plane} {y} right"
                    );
                    assert!(
                        row[left..right].iter().all(|&v| v > 3 && v != 7),
                        "{format} {plane} {y} picture"
                    );
                }
            }
        }
    }
}

#[test]
fn letterboxed_yuv_pads_with_limited_range_grey_and_neutral_chroma() {
    let source = square_picture(320, 180, 100);
    for format in [PixelFormat::Yuv420p, PixelFormat::Nv12] {
        let (frame, _) = convert(&source, 128, 128, format, letterbox(DEFAULT_PAD_VALUE));
        assert_eq!(frame.content_rect().y, 28);
        // 114 full range is 114 limited too (16 + 114 × 219 / 255 = 113.9).
        assert!(frame.row(0, 0).iter().all(|&v| v == 114), "{format}");
        assert!(frame.row(0, 127).iter().all(|&v| v == 114), "{format}");
        assert!(frame.row(1, 0).iter().all(|&v| v == 128), "{format}");
        assert!(frame.row(1, 63).iter().all(|&v| v == 128), "{format}");
        // The picture's grey (luma 126) starts at row 28, chroma row 14.
        assert_eq!(frame.row(0, 28)[0], 126, "{format}");
        assert_eq!(frame.row(0, 27)[0], 114, "{format}");
    }
}

#[test]
fn planar_rgb_puts_red_green_and_blue_in_their_planes() {
    // Three bands of BT.601 limited-range red, green, blue (each 16 wide),
    // by plane: Y, U, V of each band.
    let bands: [[u8; 3]; 3] = [[81, 145, 41], [90, 54, 240], [240, 34, 110]];
    let (width, height) = (48, 16);
    let mut frame =
        VideoFrame::new_yuv420p(width, height, ColorRange::Limited, ColorSpace::Bt601).unwrap();
    for (index, samples) in bands.iter().enumerate() {
        let shift = usize::from(index > 0);
        let mut plane = frame.plane_mut(index).unwrap();
        for row in plane.rows_mut() {
            for (x, byte) in row.iter_mut().enumerate() {
                *byte = samples[(x << shift) / 16];
            }
        }
    }
    let (planar, _) = convert(
        &frame,
        width,
        height,
        PixelFormat::RgbPlanar,
        Fit::default(),
    );
    let (packed, _) = convert(&frame, width, height, PixelFormat::Rgb24, Fit::default());
    let mut largest = 0;
    for y in 0..height as usize {
        for x in 0..width as usize {
            let band = x / 16;
            for channel in 0..3 {
                let value = planar.row(channel, y)[x];
                // Away from the band edges (where swscale's planar path,
                // a scaling one, interpolates chroma and its packed unscaled
                // converter repeats it), the band's own channel is lit.
                if x % 16 > 1 && x % 16 < 14 {
                    let expected = if channel == band { 255 } else { 0 };
                    assert!(
                        value.abs_diff(expected) <= 2,
                        "({x}, {y}) channel {channel}: {value}"
                    );
                    largest = largest.max(value.abs_diff(packed.row(0, y)[x * 3 + channel]));
                }
            }
        }
    }
    // The same colours as swscale's packed rgb24, to its rounding.
    assert!(largest <= 2, "planar differs from packed by {largest}");
}

#[test]
fn gray8_from_nv12_is_the_luma_plane_as_swscale_makes_it() {
    let (width, height) = (66, 34);
    for range in [
        ColorRange::Unspecified,
        ColorRange::Limited,
        ColorRange::Full,
    ] {
        let mut frame = VideoFrame::new_nv12(width, height, range, ColorSpace::Bt709).unwrap();
        for index in 0..2 {
            let mut plane = frame.plane_mut(index).unwrap();
            for (y, row) in plane.rows_mut().enumerate() {
                for (x, byte) in row.iter_mut().enumerate() {
                    // Every luma value, out-of-range ones included.
                    *byte = ((x * 7 + y * 66) % 256) as u8;
                }
            }
        }
        let layout = FrameLayout::new(width, height, PixelFormat::Gray8).unwrap();
        let (ours, engine) = convert(&frame, width, height, PixelFormat::Gray8, Fit::default());
        assert_eq!(engine, Engine::Direct, "{range:?}");
        let (mut producer, _consumer, reader) = slab::new(SlabConfig::new(layout)).unwrap();
        let mut slot = producer.begin().unwrap();
        Scaler::default().scale_into(&frame, &mut slot).unwrap();
        let _ = slot.commit(FrameInfo::received_now());
        let theirs = reader.latest().unwrap();
        let mut largest = 0;
        for y in 0..height as usize {
            for (a, b) in ours.row(0, y).iter().zip(theirs.row(0, y)) {
                largest = largest.max(a.abs_diff(*b));
            }
        }
        // Measured: identical (swscale's gray from limited range rounds as
        // the exact map does; from full range both copy).
        assert_eq!(largest, 0, "{range:?}");
    }
}

/// A stream that letterboxes into planar RGB, from a camera that changes
/// its picture from 16:9 to 4:3 mid-stream: each frame says where its
/// picture is, for the source it came from.
#[test]
fn a_letterboxing_stream_follows_the_camera_s_aspect_ratio() {
    use rtsp_ingest::simulate::{PatternOptions, Simulator, SimulatorConfig};
    use rtsp_ingest::stream::{Stream, StreamConfig};
    use std::time::{Duration, Instant};

    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .pattern(PatternOptions::default().size(320, 180))
            .faults("resize-after=1.5s:240x180".parse().unwrap()),
    )
    .unwrap();
    let config = StreamConfig::new(&simulator.url(0))
        .unwrap()
        .format(PixelFormat::RgbPlanar)
        .resize(160, 160)
        .resize_mode(ResizeMode::Letterbox)
        .connect_timeout(Duration::from_secs(3));
    let mut stream = Stream::start("cam", config).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    let mut after = None;
    while seen.len() < 2 {
        assert!(Instant::now() < deadline, "saw {seen:?} in 15 s");
        let frame = match after {
            None => stream.wait_latest(Duration::from_secs(5)),
            Some(seq) => stream.wait_after(seq, Duration::from_secs(5)),
        }
        .expect("frames keep coming");
        after = Some(frame.seq());
        let rect = frame.content_rect();
        if seen.last() == Some(&rect) {
            continue;
        }
        assert_eq!((frame.width(), frame.height()), (160, 160));
        // Padding above the picture, in all three planes; the picture's
        // top-left band is the pattern's red.
        let (x, y) = (rect.x as usize, rect.y as usize);
        for plane in 0..3 {
            assert!(
                frame.row(plane, 0).iter().all(|&v| v == DEFAULT_PAD_VALUE),
                "{rect:?}"
            );
        }
        let rgb = [0, 1, 2].map(|plane| frame.row(plane, y + 6)[x + 6]);
        assert!(
            rgb[0] > 200 && rgb[1] < 60 && rgb[2] < 60,
            "{rgb:?} in {rect:?}"
        );
        seen.push(rect);
    }
    let rects: Vec<_> = seen
        .iter()
        .map(|r| (r.x, r.y, r.width, r.height, r.source_width, r.source_height))
        .collect();
    assert_eq!(
        rects,
        [(0, 35, 160, 90, 320, 180), (0, 20, 160, 120, 240, 180)]
    );
    assert!(stream.stop());
}

/// `StreamConfig::scale_algorithm` reaches the stream's converter: the same
/// camera frame (matched by its stamp) scaled 640x360 → 160x90 with `point`
/// and with `area` gives different pictures.
#[test]
fn the_configured_scale_algorithm_is_the_one_used() {
    use rtsp_ingest::simulate::{stamp, PatternOptions, Simulator, SimulatorConfig};
    use rtsp_ingest::stream::{Stream, StreamConfig};
    use std::time::{Duration, Instant};

    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .pattern(PatternOptions::default().noise(8).frames(30)),
    )
    .unwrap();
    let start = |algorithm: ScaleAlgorithm| {
        let config = StreamConfig::new(&simulator.url(0))
            .unwrap()
            .format(PixelFormat::Gray8)
            .resize(160, 90)
            .scale_algorithm(algorithm);
        Stream::start(algorithm.to_string(), config).unwrap()
    };
    let point = start(ScaleAlgorithm::Point);
    let area = start(ScaleAlgorithm::Area);
    let picture = |stream: &Stream, index: u32| -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = None;
        loop {
            assert!(
                Instant::now() < deadline,
                "no frame {index}: {:?}",
                stream.status()
            );
            let frame = match last {
                None => stream.wait_latest(Duration::from_secs(1)),
                Some(seq) => stream.wait_after(seq, Duration::from_secs(1)),
            };
            let Some(frame) = frame else { continue };
            last = Some(frame.seq());
            if stamp::read(&frame) == Some(index) {
                return (0..90)
                    .flat_map(|y| frame.row(0, y)[..160].to_vec())
                    .collect();
            }
        }
    };
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| picture(&point, 20));
        let b = scope.spawn(|| picture(&area, 20));
        (a.join().unwrap(), b.join().unwrap())
    });
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(
        differing > a.len() / 10,
        "point and area scaling differ in only {differing} of {} pixels",
        a.len()
    );
}
