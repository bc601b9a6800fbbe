//! Decoded yuv420p into a slab slot at the source size, per engine: the cost
//! [`Converter`](rtsp_ingest::convert::Converter) saves on every frame.
//!
//! Run with `cargo bench --bench convert`.
//!
//! Contenders, each writing one frame straight into a slot's plane with the
//! slot's stride (a slot is taken and abandoned per iteration, ~20 ns):
//!
//! * `swscale`: [`Scaler::scale_into`], the path every frame took before
//!   (FFmpeg's unscaled SIMD converter at equal sizes).
//! * `yuv`: [`Direct`], the `yuv` crate's SIMD converter (runtime dispatch:
//!   AVX2 here), or a plane copy / integer map for gray8.
//! * `dcv`: `dcv-color-primitives`' `convert_image`, the other SIMD crate
//!   considered (not used: on out-of-range limited-range samples it is up to
//!   255 levels off swscale, and up to 3 on in-range ones; see `src/convert/`).
//!
//! The pictures are limited-range BT.709 (an HD camera's), a gradient with
//! noise so no engine can take a flat-colour shortcut.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dcv_color_primitives as dcv;
use rtsp_ingest::convert::Direct;
use rtsp_ingest::ffmpeg::{ColorRange, ColorSpace, Scaler, VideoFrame};
use rtsp_ingest::slab::{self, FrameLayout, PixelFormat, Producer, SlabConfig};

/// A `width` × `height` limited-range BT.709 picture: gradients plus noise.
fn picture(width: u32, height: u32) -> VideoFrame {
    let mut frame =
        VideoFrame::new_yuv420p(width, height, ColorRange::Limited, ColorSpace::Bt709).unwrap();
    let mut state = 0x2545_f491_u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 24) as usize
    };
    for index in 0..3 {
        let (w, h) = if index == 0 {
            (width as usize, height as usize)
        } else {
            (width.div_ceil(2) as usize, height.div_ceil(2) as usize)
        };
        let mut plane = frame.plane_mut(index).unwrap();
        for (y, row) in plane.rows_mut().enumerate() {
            for (x, byte) in row.iter_mut().enumerate() {
                let base = if index == 0 {
                    16 + (x + y) * 200 / (w + h)
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

/// dcv's conversion of `frame` into the slot's plane (BGR or RGB).
fn dcv_into(frame: &VideoFrame, out: &mut [u8], stride: usize, format: PixelFormat) {
    // The benchmarked sizes have no padding between rows: each plane is one slice.
    let [(y, ys), (u, us), (v, vs)] = [0, 1, 2].map(|index| {
        let plane = frame.plane(index).unwrap();
        (plane.as_contiguous().unwrap(), plane.row_bytes())
    });
    let src = dcv::ImageFormat {
        pixel_format: dcv::PixelFormat::I420,
        color_space: dcv::ColorSpace::Bt709,
        num_planes: 3,
    };
    let dst = dcv::ImageFormat {
        pixel_format: if format == PixelFormat::Bgr24 {
            dcv::PixelFormat::Bgr
        } else {
            dcv::PixelFormat::Rgb
        },
        color_space: dcv::ColorSpace::Rgb,
        num_planes: 1,
    };
    dcv::convert_image(
        frame.width(),
        frame.height(),
        &src,
        Some(&[ys, us, vs]),
        &[y, u, v],
        &dst,
        Some(&[stride]),
        &mut [out],
    )
    .unwrap();
}

fn convert(c: &mut Criterion) {
    let cases = [
        (1920, 1080, PixelFormat::Bgr24),
        (1920, 1080, PixelFormat::Rgb24),
        (1280, 720, PixelFormat::Bgr24),
        (1920, 1080, PixelFormat::Gray8),
    ];
    for (width, height, format) in cases {
        let frame = picture(width, height);
        let mut group = c.benchmark_group(format!("yuv420p_to_{format}"));
        let size = format!("{height}p");

        let mut slots = producer(width, height, format);
        let mut scaler = Scaler::default();
        group.bench_function(BenchmarkId::new("swscale", &size), |b| {
            b.iter(|| {
                let mut slot = slots.begin().unwrap();
                scaler.scale_into(black_box(&frame), &mut slot).unwrap();
                black_box(slot.data_mut().as_ptr());
            })
        });

        let mut slots = producer(width, height, format);
        group.bench_function(BenchmarkId::new("yuv", &size), |b| {
            b.iter(|| {
                let mut slot = slots.begin().unwrap();
                let direct = Direct::new(black_box(&frame), slot.layout()).unwrap();
                direct.convert_into(&mut slot).unwrap();
                black_box(slot.data_mut().as_ptr());
            })
        });

        if matches!(format, PixelFormat::Bgr24 | PixelFormat::Rgb24) {
            let mut slots = producer(width, height, format);
            group.bench_function(BenchmarkId::new("dcv", &size), |b| {
                b.iter(|| {
                    let mut slot = slots.begin().unwrap();
                    let stride = slot.layout().planes()[0].stride;
                    let [out, _, _] = slot.planes_mut();
                    dcv_into(black_box(&frame), out, stride, format);
                    black_box(slot.data_mut().as_ptr());
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = convert
}
criterion_main!(benches);
