//! The direct converters against swscale: the same yuv420p pictures (flat
//! bands, gradients, a colour sweep, out-of-gamut corners) at odd and common
//! sizes, every range and matrix, converted by both; no channel may differ by
//! more than 2. Also: the direct path allocates nothing per frame.

use rtsp_ingest::convert::{Converter, Direct, Engine};
use rtsp_ingest::ffmpeg::{ColorRange, ColorSpace, Scaler, VideoFrame};
use rtsp_ingest::slab::{self, DropPolicy, FrameInfo, FrameLayout, PixelFormat, SlabConfig};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::allocations;

/// Flat bands of saturated, grey and out-of-gamut colours (8 pixels wide, so
/// chroma edges fall on 2×2 block boundaries) over the top third; a luma ramp
/// with slow chroma ramps across the middle; a chroma sweep (U along x, V
/// along y) at the bottom.
fn sample(width: usize, height: usize, plane: usize, x: usize, y: usize) -> u8 {
    // In chroma planes `x` and `y` are chroma coordinates; scale to luma ones.
    let (lx, ly) = if plane == 0 { (x, y) } else { (x * 2, y * 2) };
    const BANDS: [[u8; 3]; 10] = [
        [16, 128, 128],  // black
        [235, 128, 128], // white
        [81, 90, 240],   // red
        [145, 54, 34],   // green
        [41, 240, 110],  // blue
        [210, 16, 146],  // yellow
        [0, 0, 0],       // out of gamut: clips
        [255, 255, 255], // out of gamut: clips
        [128, 255, 0],
        [128, 0, 255],
    ];
    let (w, h) = (width.max(1), height.max(1));
    if ly < h / 3 {
        BANDS[(lx / 8) % BANDS.len()][plane]
    } else if ly < 2 * h / 3 {
        match plane {
            0 => (lx * 255 / w) as u8,
            1 => (64 + lx * 128 / w) as u8,
            _ => (192 - lx * 128 / w) as u8,
        }
    } else {
        match plane {
            0 => 128,
            1 => (lx * 255 / w) as u8,
            _ => ((ly - 2 * h / 3) * 255 / (h - 2 * h / 3).max(1)) as u8,
        }
    }
}

fn picture(width: u32, height: u32, range: ColorRange, space: ColorSpace) -> VideoFrame {
    let mut frame = VideoFrame::new_yuv420p(width, height, range, space).unwrap();
    let (w, h) = (width as usize, height as usize);
    let extents = [
        (w, h),
        (w.div_ceil(2), h.div_ceil(2)),
        (w.div_ceil(2), h.div_ceil(2)),
    ];
    for (index, (pw, ph)) in extents.into_iter().enumerate() {
        let mut plane = frame.plane_mut(index).unwrap();
        assert_eq!((plane.row_bytes(), plane.row_count()), (pw, ph));
        for (y, row) in plane.rows_mut().enumerate() {
            for (x, byte) in row.iter_mut().enumerate() {
                *byte = sample(w, h, index, x, y);
            }
        }
    }
    frame
}

/// Every meaningful byte of every plane, after converting `frame` into
/// `format` with swscale (`direct == false`) or the direct path.
fn convert(frame: &VideoFrame, format: PixelFormat, direct: bool) -> Vec<Vec<u8>> {
    let (width, height) = (frame.width(), frame.height());
    // No extra padding for swscale: the slab's PLANE_SLACK absorbs its
    // whole-block writes past the last row (this test runs under valgrind).
    let layout = FrameLayout::new(width, height, format).unwrap();
    let config = SlabConfig::new(layout)
        .capacity(2)
        .policy(DropPolicy::Latest);
    let (mut producer, _consumer, reader) = slab::new(config).unwrap();
    let mut slot = producer.begin().unwrap();
    if direct {
        Direct::new(frame, &layout)
            .expect("the direct path takes this frame")
            .convert_into(&mut slot)
            .unwrap();
    } else {
        Scaler::default().scale_into(frame, &mut slot).unwrap();
    }
    let _ = slot.commit(FrameInfo::received_now());
    let out = reader.latest().unwrap();
    (0..layout.planes().len())
        .map(|index| {
            (0..layout.planes()[index].rows)
                .flat_map(|y| out.row(index, y).to_vec())
                .collect()
        })
        .collect()
}

/// How far the direct path is from swscale, and both from exact arithmetic,
/// on one conversion.
#[derive(Debug, Default)]
struct Difference {
    /// The largest difference from swscale on pixels whose luma is in range.
    legal: u8,
    /// Where: (plane, row, byte).
    legal_at: (usize, usize, usize),
    /// The largest difference from swscale on limited-range pixels darker
    /// than black (luma < 16), and how far it exceeds what the `yuv` crate's
    /// clamp explains (0 when explained).
    sub_black: u8,
    unexplained: u8,
    /// RGB only: the largest distance of swscale's and of the direct path's
    /// channels from the exact (floating-point, rounded only at the end)
    /// conversion, on in-range pixels.
    swscale_exact: f64,
    direct_exact: f64,
}

/// `(kr, kb)` of the matrix both engines use for `space`.
fn weights(space: ColorSpace) -> (f64, f64) {
    match space {
        ColorSpace::Bt709 => (0.2126, 0.0722),
        ColorSpace::Bt2020 => (0.2627, 0.0593),
        ColorSpace::Fcc => (0.30, 0.11),
        _ => (0.299, 0.114),
    }
}

/// The exact R, G, B of one YUV sample, clamped to 0..=255.
fn exact_rgb([y, u, v]: [u8; 3], full: bool, (kr, kb): (f64, f64)) -> [f64; 3] {
    let kg = 1.0 - kr - kb;
    let (y, u, v) = (f64::from(y), f64::from(u) - 128.0, f64::from(v) - 128.0);
    let (y, u, v) = if full {
        (y, u, v)
    } else {
        (
            (y - 16.0) * 255.0 / 219.0,
            u * 255.0 / 224.0,
            v * 255.0 / 224.0,
        )
    };
    let r = y + 2.0 * (1.0 - kr) * v;
    let g = y - 2.0 * (1.0 - kb) * kb / kg * u - 2.0 * (1.0 - kr) * kr / kg * v;
    let b = y + 2.0 * (1.0 - kb) * u;
    [r, g, b].map(|c| c.clamp(0.0, 255.0))
}

/// Compares two conversions of the `sample` picture. The `yuv` crate's SIMD
/// rows clamp limited-range luma below 16 to 16 before the matrix
/// (`_mm256_subs_epu8`); swscale does not, so where chroma lifts a channel of
/// such a pixel above 0 the two differ by up to `1.164 × (16 − Y)`. Those
/// pixels get that much more tolerance, reported apart.
fn compare(
    swscale: &[Vec<u8>],
    direct: &[Vec<u8>],
    layout: &FrameLayout,
    range: ColorRange,
    space: ColorSpace,
) -> Difference {
    let (w, h) = (layout.width() as usize, layout.height() as usize);
    let full = range == ColorRange::Full;
    let order = match layout.format() {
        PixelFormat::Bgr24 => Some([2, 1, 0]),
        PixelFormat::Rgb24 => Some([0, 1, 2]),
        _ => None,
    };
    let mut out = Difference::default();
    for (index, (a, b)) in swscale.iter().zip(direct).enumerate() {
        let row_bytes = layout.planes()[index].row_bytes;
        for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
            let (row, byte) = (i / row_bytes, i % row_bytes);
            let diff = x.abs_diff(y);
            let Some(order) = order else {
                if diff > out.legal {
                    out.legal = diff;
                    out.legal_at = (index, row, byte);
                }
                continue;
            };
            let (px, channel) = (byte / 3, byte % 3);
            let luma = sample(w, h, 0, px, row);
            if !full && luma < 16 {
                let clamp = (f64::from(16 - luma) * 255.0 / 219.0).ceil() as u8;
                out.sub_black = out.sub_black.max(diff);
                out.unexplained = out.unexplained.max(diff.saturating_sub(clamp + 2));
                continue;
            }
            if diff > out.legal {
                out.legal = diff;
                out.legal_at = (index, row, byte);
            }
            let yuv = [
                luma,
                sample(w, h, 1, px / 2, row / 2),
                sample(w, h, 2, px / 2, row / 2),
            ];
            let exact = exact_rgb(yuv, full, weights(space))[order[channel]];
            out.swscale_exact = out.swscale_exact.max((f64::from(x) - exact).abs());
            out.direct_exact = out.direct_exact.max((f64::from(y) - exact).abs());
        }
    }
    out
}

/// Even and odd widths (odd heights are swscale's, see
/// `converter_picks_direct_only_where_it_matches_swscale`), and the common
/// camera sizes.
const SIZES: [(u32, u32); 5] = [(34, 18), (33, 18), (640, 360), (1280, 720), (1920, 1080)];
const RANGES: [ColorRange; 3] = [
    ColorRange::Unspecified,
    ColorRange::Limited,
    ColorRange::Full,
];

/// Converts the picture at every size, range and matrix both ways; fails when
/// the direct path is more than `tolerance(range)` from swscale on in-range pixels,
/// more than its clamp explains below black, or (RGB) more than 1.5 from
/// exact arithmetic. Prints every case's numbers (`--nocapture`).
fn check(formats: &[PixelFormat], spaces: &[ColorSpace], tolerance: impl Fn(ColorRange) -> u8) {
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for &(width, height) in &SIZES {
        for &range in &RANGES {
            for &space in spaces {
                let frame = picture(width, height, range, space);
                for &format in formats {
                    let layout = FrameLayout::new(width, height, format).unwrap();
                    let swscale = convert(&frame, format, false);
                    let direct = convert(&frame, format, true);
                    let diff = compare(&swscale, &direct, &layout, range, space);
                    let line = format!(
                        "{width}x{height} {range:?} {space:?} → {format}: max difference {} at \
                         (plane, row, byte) {:?}; below black {} ({} unexplained); from exact: \
                         swscale {:.2}, direct {:.2}",
                        diff.legal,
                        diff.legal_at,
                        diff.sub_black,
                        diff.unexplained,
                        diff.swscale_exact,
                        diff.direct_exact
                    );
                    if diff.legal > tolerance(range)
                        || diff.unexplained > 0
                        || diff.direct_exact > 1.5
                    {
                        failures.push(line.clone());
                    }
                    report.push(line);
                }
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "too far:\n{}", failures.join("\n"));
}

#[test]
fn rgb_matches_swscale_for_every_range_and_matrix() {
    check(
        &[PixelFormat::Bgr24, PixelFormat::Rgb24],
        &[
            ColorSpace::Unspecified,
            ColorSpace::Bt601,
            ColorSpace::Bt709,
            ColorSpace::Bt2020,
            ColorSpace::Fcc,
        ],
        // swscale's own SIMD converter is up to 2.0 (full range) and 2.9
        // (limited) from exact arithmetic, the `yuv` crate's up to 1.0 and 1.4.
        |range| if range == ColorRange::Full { 2 } else { 3 },
    );
}

#[test]
fn gray_and_yuv420p_match_swscale_for_every_range() {
    check(
        &[PixelFormat::Gray8, PixelFormat::Yuv420p],
        &[ColorSpace::Unspecified, ColorSpace::Bt709],
        |_| 1,
    );
    // Odd heights too: these targets never interpolate chroma.
    for range in RANGES {
        let frame = picture(33, 17, range, ColorSpace::Bt601);
        for format in [PixelFormat::Gray8, PixelFormat::Yuv420p] {
            let layout = FrameLayout::new(33, 17, format).unwrap();
            let diff = compare(
                &convert(&frame, format, false),
                &convert(&frame, format, true),
                &layout,
                range,
                ColorSpace::Bt601,
            );
            assert!(diff.legal <= 1, "33x17 {range:?} → {format}: {diff:?}");
        }
    }
}

#[test]
fn converter_picks_direct_only_where_it_matches_swscale() {
    let frame = picture(64, 48, ColorRange::Limited, ColorSpace::Bt709);
    let cases = [
        (64, 48, PixelFormat::Bgr24, Engine::Direct),
        (64, 48, PixelFormat::Rgb24, Engine::Direct),
        (64, 48, PixelFormat::Gray8, Engine::Direct),
        (64, 48, PixelFormat::Yuv420p, Engine::Direct),
        (64, 48, PixelFormat::Nv12, Engine::Swscale),
        (32, 24, PixelFormat::Bgr24, Engine::Swscale),
    ];
    let mut converter = Converter::default();
    for (width, height, format, engine) in cases {
        let layout = FrameLayout::new(width, height, format).unwrap();
        let (mut producer, _consumer, _reader) = slab::new(SlabConfig::new(layout)).unwrap();
        let mut slot = producer.begin().unwrap();
        assert_eq!(
            converter.convert_into(&frame, &mut slot).unwrap(),
            engine,
            "{width}x{height} {format}"
        );
    }
    // swscale's: odd heights to RGB (it interpolates chroma there), matrices
    // the direct path does not map, and YUV tagged as RGB.
    let bgr = |width, height| FrameLayout::new(width, height, PixelFormat::Bgr24).unwrap();
    let odd = picture(33, 17, ColorRange::Limited, ColorSpace::Bt601);
    assert!(Direct::new(&odd, &bgr(33, 17)).is_none());
    assert!(Direct::new(&odd, &FrameLayout::new(33, 17, PixelFormat::Gray8).unwrap()).is_some());
    for space in [ColorSpace::Smpte240m, ColorSpace::Rgb] {
        let frame = picture(64, 48, ColorRange::Limited, space);
        assert!(Direct::new(&frame, &bgr(64, 48)).is_none(), "{space:?}");
    }
}

#[test]
fn the_direct_path_allocates_nothing_per_frame() {
    let frame = picture(640, 360, ColorRange::Limited, ColorSpace::Bt709);
    for format in [PixelFormat::Bgr24, PixelFormat::Gray8, PixelFormat::Yuv420p] {
        let layout = FrameLayout::new(640, 360, format).unwrap();
        let (mut producer, _consumer, _reader) =
            slab::new(SlabConfig::new(layout).capacity(4)).unwrap();
        let mut converter = Converter::default();
        let mut run = |producer: &mut slab::Producer| {
            let mut slot = producer.begin().unwrap();
            assert_eq!(
                converter.convert_into(&frame, &mut slot).unwrap(),
                Engine::Direct
            );
            let _ = slot.commit(FrameInfo::received_now());
        };
        // Warm up (the SIMD dispatch caches the CPU's features on first use).
        run(&mut producer);
        let before = allocations();
        for _ in 0..20 {
            run(&mut producer);
        }
        assert_eq!(allocations() - before, 0, "{format}");
    }
}

/// Decodes the first frame of a clip the `ffmpeg` CLI makes from `source`
/// with `encode` (panics when the CLI is missing: scripts/install-deps.sh).
fn decode_clip(name: &str, source: &str, encode: &[&str]) -> VideoFrame {
    use rtsp_ingest::ffmpeg::{
        DecodeOutcome, Decoder, DecoderOptions, Input, InputOptions, Interrupt, Packet,
        ReadOutcome, SendOutcome,
    };
    let path =
        std::env::temp_dir().join(format!("rtsp-ingest-convert-{}-{name}", std::process::id()));
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            source,
        ])
        .args(["-frames:v", "2"])
        .args(encode)
        .arg(&path)
        .status()
        .expect("the ffmpeg CLI (scripts/install-deps.sh)");
    assert!(status.success(), "ffmpeg made no {name}");
    let mut input = Input::open(
        path.to_str().unwrap(),
        &InputOptions::default(),
        Interrupt::new(),
    )
    .unwrap();
    let video = input.best_video_stream().unwrap();
    let mut decoder = Decoder::new(&input, video.index, &DecoderOptions::default()).unwrap();
    let (mut packet, mut frame) = (Packet::new().unwrap(), VideoFrame::new().unwrap());
    loop {
        match input.read_packet(&mut packet).unwrap() {
            ReadOutcome::Packet if packet.stream_index() == video.index => {
                assert_eq!(decoder.send_packet(&packet).unwrap(), SendOutcome::Sent);
            }
            ReadOutcome::Eof => decoder.send_eof().unwrap(),
            _ => continue,
        }
        if decoder.receive_frame(&mut frame).unwrap() == DecodeOutcome::Frame {
            let _ = std::fs::remove_file(&path);
            return frame;
        }
    }
}

#[test]
fn decoded_frames_convert_in_place_as_swscale_does() {
    let clips = [
        // Coded as 1920x1088 and cropped: the planes start inside the buffers.
        decode_clip(
            "hd.mp4",
            "testsrc2=size=1920x1080:rate=25",
            &[
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-colorspace",
                "bt709",
                "-color_range",
                "tv",
            ],
        ),
        decode_clip(
            "mjpeg.mkv",
            "testsrc2=size=640x360:rate=25",
            &["-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", "2"],
        ),
    ];
    for frame in &clips {
        let name = frame.pixel_format_name().unwrap();
        let layout = FrameLayout::new(frame.width(), frame.height(), PixelFormat::Bgr24).unwrap();
        assert!(
            Direct::new(frame, &layout).is_some(),
            "{name} is read in place"
        );
        let (swscale, direct) = (
            convert(frame, PixelFormat::Bgr24, false),
            convert(frame, PixelFormat::Bgr24, true),
        );
        let luma = frame.plane(0).unwrap();
        let full = frame.color_range() == ColorRange::Full;
        let row_bytes = layout.planes()[0].row_bytes;
        let mut worst = 0;
        for (i, (&a, &b)) in swscale[0].iter().zip(&direct[0]).enumerate() {
            let (row, px) = (i / row_bytes, i % row_bytes / 3);
            if full || luma.row(row)[px] >= 16 {
                worst = worst.max(a.abs_diff(b));
            }
        }
        println!(
            "decoded {name} {}x{}: max difference {worst}",
            frame.width(),
            frame.height()
        );
        assert!(worst <= 3, "{name}: {worst}");
    }
}
