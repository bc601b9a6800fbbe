//! What a model wants, written once: a 1080p yuv420p picture resized into a
//! slab slot as a detector takes it, by [`Converter`] (swscale straight into
//! the picture's rectangle, only the padding bands filled), against the
//! two-step way (swscale to a picture-sized frame, then copied into a padded
//! canvas); and gray8 from nv12 as a luma copy against swscale.
//!
//! Run with `cargo bench --bench fit`. The Python/OpenCV side of the same
//! comparison is `benches/python/letterbox_opencv.py`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rtsp_ingest::convert::{Converter, Fit, ResizeMode, DEFAULT_PAD_VALUE};
use rtsp_ingest::ffmpeg::{ColorRange, ColorSpace, ScaleAlgorithm, Scaler, VideoFrame};
use rtsp_ingest::slab::{self, FrameLayout, PixelFormat, Producer, SlabConfig};

/// A 1080p limited-range BT.709 picture in `nv12` or `yuv420p`: gradients
/// plus noise, so no engine can take a flat-colour shortcut.
fn picture(nv12: bool) -> VideoFrame {
    let (width, height) = (1920, 1080);
    let new = if nv12 {
        VideoFrame::new_nv12
    } else {
        VideoFrame::new_yuv420p
    };
    let mut frame = new(width, height, ColorRange::Limited, ColorSpace::Bt709).unwrap();
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
            let w = row.len();
            for (x, byte) in row.iter_mut().enumerate() {
                let base = if index == 0 {
                    16 + (x + y) * 200 / (w + 1080)
                } else {
                    40 + x * 176 / w
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

fn fit(c: &mut Criterion) {
    let frame = picture(false);
    for format in [PixelFormat::Bgr24, PixelFormat::RgbPlanar] {
        let mut group = c.benchmark_group(format!("1080p_to_{format}"));

        let mut slots = producer(640, 360, format);
        let mut converter = Converter::new(ScaleAlgorithm::Bilinear);
        group.bench_function(BenchmarkId::new("ours", "640x360"), |b| {
            b.iter(|| {
                let mut slot = slots.begin().unwrap();
                converter
                    .convert_into(black_box(&frame), &mut slot)
                    .unwrap();
                black_box(slot.data_mut().as_ptr());
            })
        });

        let mut slots = producer(640, 640, format);
        let mut converter = Converter::new(ScaleAlgorithm::Bilinear).with_fit(letterbox());
        group.bench_function(BenchmarkId::new("ours_letterbox", "640x640"), |b| {
            b.iter(|| {
                let mut slot = slots.begin().unwrap();
                converter
                    .convert_into(black_box(&frame), &mut slot)
                    .unwrap();
                black_box(slot.data_mut().as_ptr());
            })
        });

        // swscale to a 640x360 frame, then copied into the middle of a
        // 640x640 canvas whose bands are filled: what a caller without
        // sub-rectangle writes does.
        let mut pictures = producer(640, 360, format);
        let mut canvases = producer(640, 640, format);
        let mut scaler = Scaler::new(ScaleAlgorithm::Bilinear);
        group.bench_function(BenchmarkId::new("swscale_then_copy", "640x640"), |b| {
            b.iter(|| {
                let mut picture = pictures.begin().unwrap();
                scaler.scale_into(black_box(&frame), &mut picture).unwrap();
                let mut canvas = canvases.begin().unwrap();
                let source = *picture.layout();
                let target = *canvas.layout();
                let from = picture.planes_mut();
                for ((src, dst), (sp, tp)) in from
                    .into_iter()
                    .zip(canvas.planes_mut())
                    .zip(source.planes().iter().zip(target.planes()))
                {
                    for (row, out) in dst.chunks_mut(tp.stride).take(tp.rows).enumerate() {
                        let out = &mut out[..tp.row_bytes];
                        match row.checked_sub(140).filter(|&r| r < sp.rows) {
                            Some(r) => out.copy_from_slice(&src[r * sp.stride..][..sp.row_bytes]),
                            None => out.fill(DEFAULT_PAD_VALUE),
                        }
                    }
                }
                black_box(canvas.data_mut().as_ptr());
            })
        });
        group.finish();
    }

    let nv12 = picture(true);
    let mut group = c.benchmark_group("nv12_to_gray8");
    let mut slots = producer(1920, 1080, PixelFormat::Gray8);
    let mut scaler = Scaler::default();
    group.bench_function(BenchmarkId::new("swscale", "1080p"), |b| {
        b.iter(|| {
            let mut slot = slots.begin().unwrap();
            scaler.scale_into(black_box(&nv12), &mut slot).unwrap();
            black_box(slot.data_mut().as_ptr());
        })
    });
    let mut slots = producer(1920, 1080, PixelFormat::Gray8);
    let mut converter = Converter::default();
    group.bench_function(BenchmarkId::new("ours", "1080p"), |b| {
        b.iter(|| {
            let mut slot = slots.begin().unwrap();
            converter.convert_into(black_box(&nv12), &mut slot).unwrap();
            black_box(slot.data_mut().as_ptr());
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = fit
}
criterion_main!(benches);
