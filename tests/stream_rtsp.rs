//! The stream worker end to end against a real RTSP server (GStreamer's, on
//! 127.0.0.1): every codec, every output format, both transports, and the
//! metadata each frame carries.

#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::time::Duration;

use rtsp_fixture::{pattern, RtspServer, MOUNT_H264, MOUNT_H265, MOUNT_MJPEG};
use rtsp_ingest::slab::{Frame, PixelFormat};
use rtsp_ingest::stream::{Stream, StreamConfig, StreamState, Transport};
use stream_util::collect_frames;

fn check_stream(server: &RtspServer, mount: &str, codec: &str, transport: Transport) {
    let config = StreamConfig::new(&server.url(mount))
        .unwrap()
        .transport(transport)
        .queue_capacity(64);
    let mut stream = Stream::start(mount, config).unwrap();
    let frames = collect_frames(&stream, 30, Duration::from_secs(15));
    let status = stream.status();
    assert_eq!(status.state, StreamState::Streaming, "{status:?}");
    let media = status.media.as_ref().unwrap();
    assert_eq!(
        (media.codec.as_str(), media.width, media.height),
        (codec, 320, 240),
        "{media:?}"
    );
    assert!(status.first_frame_latency.is_some());
    let first: &Frame = &frames[0];
    assert!(
        first.is_keyframe(),
        "the first published frame is a keyframe"
    );
    assert_eq!(
        (first.width(), first.height(), first.format()),
        (320, 240, PixelFormat::Bgr24)
    );
    let mut previous_pts = None;
    let mut previous_index = None;
    for frame in &frames {
        let index = pattern::check_bgr24(&packed(frame))
            .unwrap_or_else(|e| panic!("{mount} frame {}: {e}", frame.seq()));
        if let Some(previous) = previous_index {
            assert_eq!(
                index,
                (previous + 1) % pattern::FRAMES,
                "{mount}: consecutive clip frames"
            );
        }
        previous_index = Some(index);
        // FFmpeg's RTP demuxer gives the very first frame of a session no pts.
        let pts = frame.pts_ns();
        assert!(
            pts.is_some() || frame.seq() == first.seq(),
            "{mount}: frame {} has a pts",
            frame.seq()
        );
        if let (Some(previous), Some(pts)) = (previous_pts, pts) {
            assert!(
                pts > previous,
                "{mount}: pts increases ({previous} then {pts})"
            );
        }
        previous_pts = pts.or(previous_pts);
        assert_eq!(frame.stream_id(), mount);
        assert!(frame.age() < Duration::from_secs(20));
    }
    assert!(stream.stop());
    assert_eq!(stream.status().state, StreamState::Stopped);
}

/// The frame's rows without their alignment padding.
fn packed(frame: &Frame) -> Vec<u8> {
    (0..frame.height() as usize)
        .flat_map(|y| frame.row(0, y).to_vec())
        .collect()
}

#[test]
fn h264_h265_and_mjpeg_decode_to_the_known_pattern_over_tcp() {
    let server = RtspServer::start_looping();
    check_stream(&server, MOUNT_H264, "h264", Transport::Tcp);
    check_stream(&server, MOUNT_H265, "hevc", Transport::Tcp);
    check_stream(&server, MOUNT_MJPEG, "mjpeg", Transport::Tcp);
}

#[test]
fn udp_transport_delivers_frames() {
    let server = RtspServer::start_looping();
    check_stream(&server, MOUNT_H264, "h264", Transport::Udp);
}

/// Full-range luma of each band (red, green, blue, grey), BT.601.
const BAND_LUMA: [f64; 4] = [76.2, 149.7, 29.1, 128.0];

fn latest_frame(stream: &Stream) -> Frame {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(frame) = stream.latest() {
            return frame;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no frame: {:#?}",
            stream.status()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Plane `plane`'s value at the centre of band `band`, `step` bytes per pixel.
fn band_value(frame: &Frame, plane: usize, band: usize, step: usize, offset: usize) -> u8 {
    let layout = frame.layout().planes()[plane];
    let x = (band * 2 + 1) * (layout.row_bytes / step) / 8;
    frame.row(plane, layout.rows / 3)[x * step + offset]
}

fn assert_near(what: &str, got: u8, want: f64) {
    assert!(
        (f64::from(got) - want).abs() <= 8.0,
        "{what}: {got}, expected about {want:.0}"
    );
}

#[test]
fn every_output_format_and_a_resize_hold_the_pattern() {
    let server = RtspServer::start_looping();
    let url = server.url(MOUNT_H264);
    for format in [
        PixelFormat::Rgb24,
        PixelFormat::Gray8,
        PixelFormat::Yuv420p,
        PixelFormat::Nv12,
    ] {
        let mut stream =
            Stream::start("fmt", StreamConfig::new(&url).unwrap().format(format)).unwrap();
        let frame = latest_frame(&stream);
        assert_eq!(
            (frame.width(), frame.height(), frame.format()),
            (320, 240, format)
        );
        for (band, luma) in BAND_LUMA.into_iter().enumerate() {
            match format {
                PixelFormat::Rgb24 => {
                    let want = pattern::BANDS_BGR[band];
                    for (channel, offset) in [(2, 0), (1, 1), (0, 2)] {
                        let got = band_value(&frame, 0, band, 3, offset);
                        assert_near(
                            &format!("rgb24 band {band} channel {offset}"),
                            got,
                            f64::from(want[channel]),
                        );
                    }
                }
                PixelFormat::Gray8 => assert_near(
                    &format!("gray8 band {band}"),
                    band_value(&frame, 0, band, 1, 0),
                    luma,
                ),
                _ => {
                    // Limited range luma in the Y plane.
                    let limited = 16.0 + luma * 219.0 / 255.0;
                    assert_near(
                        &format!("{format} Y band {band}"),
                        band_value(&frame, 0, band, 1, 0),
                        limited,
                    );
                }
            }
        }
        if format == PixelFormat::Yuv420p || format == PixelFormat::Nv12 {
            // Red has a high Cr (V), blue a high Cb (U).
            let (u_red, v_red, u_blue) = if format == PixelFormat::Nv12 {
                (
                    band_value(&frame, 1, 0, 2, 0),
                    band_value(&frame, 1, 0, 2, 1),
                    band_value(&frame, 1, 2, 2, 0),
                )
            } else {
                (
                    band_value(&frame, 1, 0, 1, 0),
                    band_value(&frame, 2, 0, 1, 0),
                    band_value(&frame, 1, 2, 1, 0),
                )
            };
            assert_near(&format!("{format} V of red"), v_red, 240.0);
            assert_near(&format!("{format} U of red"), u_red, 90.0);
            assert_near(&format!("{format} U of blue"), u_blue, 240.0);
        }
        assert!(stream.stop());
    }
    let config = StreamConfig::new(&url).unwrap().resize(160, 120);
    let mut stream = Stream::start("small", config).unwrap();
    let frame = latest_frame(&stream);
    assert_eq!((frame.width(), frame.height()), (160, 120));
    let layout = pattern::Layout {
        stride: frame.layout().planes()[0].stride,
        ..pattern::Layout::bgr24(160, 120)
    };
    pattern::check(frame.data(), &layout, pattern::DEFAULT_TOLERANCE)
        .expect("the pattern survives a resize");
    assert!(stream.stop());
}

#[test]
fn skip_policies_drop_before_conversion_and_count_it() {
    use rtsp_ingest::stream::SkipPolicy;
    let server = RtspServer::start_looping();
    let url = server.url(MOUNT_H264);
    // The clip has a keyframe every 25 frames, at 25 fps.
    let config = StreamConfig::new(&url)
        .unwrap()
        .skip(SkipPolicy::Keyframes)
        .queue_capacity(16);
    let mut stream = Stream::start("keys", config).unwrap();
    let frames = collect_frames(&stream, 3, Duration::from_secs(10));
    assert!(
        frames.iter().all(Frame::is_keyframe),
        "only keyframes are published"
    );
    let gaps: Vec<u64> = frames.windows(2).map(|w| w[1].seq() - w[0].seq()).collect();
    assert!(
        gaps.iter().all(|&gap| gap == 1),
        "non-keyframes never reach the slab: {gaps:?}"
    );
    let status = stream.status();
    assert!(
        status.decoded <= status.published + 1,
        "skipped before decoding: {status:?}"
    );
    assert!(stream.stop());

    let config = StreamConfig::new(&url)
        .unwrap()
        .skip("every_nth(5)".parse().unwrap())
        .queue_capacity(16);
    let mut stream = Stream::start("fifth", config).unwrap();
    let frames = collect_frames(&stream, 6, Duration::from_secs(10));
    let indices: Vec<u32> = frames
        .iter()
        .map(|f| pattern::check_bgr24(&packed(f)).unwrap())
        .collect();
    for pair in indices.windows(2) {
        assert_eq!(
            (pair[1] + pattern::FRAMES - pair[0]) % pattern::FRAMES,
            5,
            "every fifth frame: {indices:?}"
        );
    }
    let status = stream.status();
    assert!(
        status.dropped.skipped >= 4 * (status.published - 1),
        "{status:?}"
    );
    assert!(stream.stop());
}

#[test]
fn capture_time_comes_from_the_cameras_sender_reports() {
    let server = RtspServer::start_looping();
    let mut stream =
        Stream::start("clock", StreamConfig::new(&server.url(MOUNT_H264)).unwrap()).unwrap();
    // GStreamer sends its first RTCP sender report within a few seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(12);
    let frame = loop {
        if let Some(frame) = stream.latest().filter(|f| f.capture_time().is_some()) {
            break frame;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no capture time: {:#?}",
            stream.status()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let capture = frame.capture_time().unwrap();
    let skew = std::time::SystemTime::now()
        .duration_since(capture)
        .unwrap_or_else(|early| early.duration());
    // The server's clock is this machine's: capture time is within a second of now.
    assert!(
        skew < Duration::from_secs(1),
        "capture time {capture:?} is {skew:?} from now"
    );
    assert!(stream.stop());
}
