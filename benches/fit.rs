//! What a model wants, written once: a decoded 1080p picture into a slab slot
//! as a detector takes it.
//!
//! Run with `cargo bench --bench fit` (a plain binary, not criterion: the
//! contenders run interleaved, round after round, and each reports its
//! fastest and median round, so that load from other processes on a shared
//! machine hits them alike). `benches/python/letterbox_opencv.py` measures
//! the OpenCV way the same way.
//!
//! * `ours`: [`Converter`], swscale (bilinear) straight into the slot; when
//!   letterboxing, into the picture's rectangle, then only the bands filled.
//! * `swscale_then_copy`: swscale to a picture-sized slot, then copied into
//!   the middle of a padded canvas: what a caller without sub-rectangle
//!   writes does.
//! * `normalise_f32`: the cost of an `f32` tensor on top of `rgb_planar`:
//!   one pass over the uint8 planes, a 256-entry table per channel giving
//!   `(x / 255 − mean) / std` (ImageNet's mean and std).
//! * `ours letterbox, <algorithm>`: the same with swscale's other filters.
//! * gray8 at the source size: swscale against ours (a luma copy, or exact
//!   integer arithmetic from limited range, which the compiler vectorises),
//!   and that arithmetic against a 256-entry lookup table.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rtsp_ingest::convert::{Converter, Engine, Fit, ResizeMode, DEFAULT_PAD_VALUE};
use rtsp_ingest::ffmpeg::{ColorRange, ColorSpace, ScaleAlgorithm, Scaler, VideoFrame};
use rtsp_ingest::slab::{self, FrameLayout, PixelFormat, Producer, SlabConfig};

/// A 1080p limited-range BT.709 picture in `nv12` or `yuv420p`: gradients
/// plus noise, so no engine can take a flat-colour shortcut.
fn picture(nv12: bool) -> VideoFrame {
    let new = if nv12 {
        VideoFrame::new_nv12
    } else {
        VideoFrame::new_yuv420p
    };
    let mut frame = new(1920, 1080, ColorRange::Limited, ColorSpace::Bt709).unwrap();
    let mut state = 0x2545_f491_u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 24) as usize
    };
    for index in 0..if nv12 { 2 } else { 3 } {
        let mut plane = frame.plane_mut(index).unwrap();
        for (y, row) in plane.rows_mut().enumerate() {
            let width = row.len();
            for (x, byte) in row.iter_mut().enumerate() {
                let base = if index == 0 {
                    16 + (x + y) * 200 / (width + 1080)
                } else {
                    40 + x * 176 / width
                };
                *byte = (base + noise()).min(255) as u8;
            }
        }
    }
    frame
}

fn producer(width: u32, height: u32, format: PixelFormat) -> Producer {
    let layout = FrameLayout::new(width, height, format).unwrap();
    let (producer, _consumer, _reader) = slab::new(SlabConfig::new(layout).capacity(2)).unwrap();
    producer
}

fn letterbox() -> Fit {
    Fit {
        mode: ResizeMode::Letterbox,
        pad: DEFAULT_PAD_VALUE,
    }
}

/// One contender: a name and one round of its work.
struct Contender<'a> {
    name: String,
    run: Box<dyn FnMut() + 'a>,
    times: Vec<Duration>,
}

fn contender<'a>(name: impl Into<String>, run: impl FnMut() + 'a) -> Contender<'a> {
    Contender {
        name: name.into(),
        run: Box::new(run),
        times: Vec::new(),
    }
}

/// Runs every contender once per round, `rounds` rounds after a warm-up,
/// and prints each one's fastest and median round.
fn race(title: &str, contenders: &mut [Contender<'_>], rounds: usize) {
    for contender in contenders.iter_mut() {
        for _ in 0..5 {
            (contender.run)();
        }
    }
    for _ in 0..rounds {
        for contender in contenders.iter_mut() {
            let start = Instant::now();
            (contender.run)();
            contender.times.push(start.elapsed());
        }
    }
    println!("{title}");
    for contender in contenders.iter_mut() {
        contender.times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "  {:<40} min {:>7.3} ms   median {:>7.3} ms",
            contender.name,
            ms(contender.times[0]),
            ms(contender.times[contender.times.len() / 2])
        );
    }
}

/// `(x / 255 − mean) / std` for every byte, per channel.
fn normalise_tables(mean: [f32; 3], std: [f32; 3]) -> [[f32; 256]; 3] {
    std::array::from_fn(|channel| {
        std::array::from_fn(|x| (x as f32 / 255.0 - mean[channel]) / std[channel])
    })
}

fn main() {
    let rounds = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(200);
    let frame = picture(false);
    for format in [PixelFormat::Bgr24, PixelFormat::RgbPlanar] {
        let mut small = producer(640, 360, format);
        let mut square = producer(640, 640, format);
        let mut pictures = producer(640, 360, format);
        let mut canvases = producer(640, 640, format);
        let mut stretch = Converter::new(ScaleAlgorithm::Bilinear);
        let mut boxed = Converter::new(ScaleAlgorithm::Bilinear).with_fit(letterbox());
        let mut scaler = Scaler::new(ScaleAlgorithm::Bilinear);
        let frame = &frame;
        let mut contenders = vec![
            contender("ours 640x360", move || {
                let mut slot = small.begin().unwrap();
                let engine = stretch.convert_into(black_box(frame), &mut slot).unwrap();
                assert_eq!(engine, Engine::Swscale);
                black_box(slot.data_mut().as_ptr());
            }),
            contender("ours letterbox 640x640", move || {
                let mut slot = square.begin().unwrap();
                boxed.convert_into(black_box(frame), &mut slot).unwrap();
                black_box(slot.data_mut().as_ptr());
            }),
            contender("swscale 640x360, then copy into 640x640", move || {
                let mut picture = pictures.begin().unwrap();
                scaler.scale_into(black_box(frame), &mut picture).unwrap();
                let mut canvas = canvases.begin().unwrap();
                let (source, target) = (*picture.layout(), *canvas.layout());
                let planes = picture.planes_mut().into_iter().zip(canvas.planes_mut());
                let geometry = source.planes().iter().zip(target.planes());
                for ((from, to), (from_plane, to_plane)) in planes.zip(geometry) {
                    let rows = to.chunks_mut(to_plane.stride).take(to_plane.rows);
                    for (row, out) in rows.enumerate() {
                        let out = &mut out[..to_plane.row_bytes];
                        match row.checked_sub(140).filter(|&r| r < from_plane.rows) {
                            Some(r) => out.copy_from_slice(
                                &from[r * from_plane.stride..][..from_plane.row_bytes],
                            ),
                            None => out.fill(DEFAULT_PAD_VALUE),
                        }
                    }
                }
                black_box(canvas.data_mut().as_ptr());
            }),
        ];
        if format == PixelFormat::Bgr24 {
            for algorithm in [
                ScaleAlgorithm::FastBilinear,
                ScaleAlgorithm::Area,
                ScaleAlgorithm::Point,
            ] {
                let mut square = producer(640, 640, format);
                let mut boxed = Converter::new(algorithm).with_fit(letterbox());
                contenders.push(contender(
                    format!("ours letterbox 640x640, {algorithm}"),
                    move || {
                        let mut slot = square.begin().unwrap();
                        boxed.convert_into(black_box(frame), &mut slot).unwrap();
                        black_box(slot.data_mut().as_ptr());
                    },
                ));
            }
        }
        if format == PixelFormat::RgbPlanar {
            let mut square = producer(640, 640, format);
            let mut boxed = Converter::new(ScaleAlgorithm::Bilinear).with_fit(letterbox());
            let tables = normalise_tables([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
            let mut tensor = vec![0f32; 3 * 640 * 640];
            contenders.push(contender(
                "ours letterbox 640x640, then normalise_f32",
                move || {
                    let mut slot = square.begin().unwrap();
                    boxed.convert_into(black_box(frame), &mut slot).unwrap();
                    let layout = *slot.layout();
                    let planes = slot.planes_mut();
                    let outputs = tensor.chunks_mut(640 * 640);
                    for (((plane, bytes), out), table) in
                        layout.planes().iter().zip(planes).zip(outputs).zip(&tables)
                    {
                        let rows = bytes.chunks(plane.stride).take(plane.rows);
                        for (row, out) in rows.zip(out.chunks_mut(plane.row_bytes)) {
                            for (o, &x) in out.iter_mut().zip(&row[..plane.row_bytes]) {
                                *o = table[usize::from(x)];
                            }
                        }
                    }
                    black_box(tensor.as_ptr());
                },
            ));
        }
        race(
            &format!("1080p yuv420p → {format} (bilinear)"),
            &mut contenders,
            rounds,
        );
    }

    let nv12 = picture(true);
    for (name, source) in [("nv12", &nv12), ("yuv420p", &frame)] {
        let mut by_swscale = producer(1920, 1080, PixelFormat::Gray8);
        let mut by_us = producer(1920, 1080, PixelFormat::Gray8);
        let mut by_table = producer(1920, 1080, PixelFormat::Gray8);
        let table: [u8; 256] = std::array::from_fn(|y| {
            let v = (y as u16).saturating_sub(16).min(219);
            (v + (v * 36 + 109) / 219) as u8
        });
        let mut scaler = Scaler::default();
        let mut converter = Converter::default();
        let mut contenders = vec![
            contender("swscale", move || {
                let mut slot = by_swscale.begin().unwrap();
                scaler.scale_into(black_box(source), &mut slot).unwrap();
                black_box(slot.data_mut().as_ptr());
            }),
            contender("ours (integer arithmetic)", move || {
                let mut slot = by_us.begin().unwrap();
                let engine = converter
                    .convert_into(black_box(source), &mut slot)
                    .unwrap();
                assert_eq!(engine, Engine::Direct);
                black_box(slot.data_mut().as_ptr());
            }),
            // The same map as a 256-entry table, on the same rows.
            contender("a 256-entry lookup table", move || {
                let mut slot = by_table.begin().unwrap();
                let stride = slot.layout().planes()[0].stride;
                let [out, _, _] = slot.planes_mut();
                let luma = black_box(source).plane(0).unwrap();
                for (dst, src) in out.chunks_mut(stride).zip(luma.rows()) {
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d = table[usize::from(s)];
                    }
                }
                black_box(out.as_ptr());
            }),
        ];
        race(
            &format!("1080p {name} (limited range) → gray8"),
            &mut contenders,
            rounds,
        );
    }
}
