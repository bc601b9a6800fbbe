//! The stream worker end to end against a real RTSP server (GStreamer's, on
//! 127.0.0.1): every codec, every output format, both transports, and the
//! metadata each frame carries.

#[allow(dead_code)]
#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;
#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::time::Duration;

use rtsp_fixture::{pattern, RtspServer, MOUNT_H264, MOUNT_H265, MOUNT_MJPEG};
use rtsp_ingest::slab::{Frame, PixelFormat};
use rtsp_ingest::stream::{Stream, StreamConfig, StreamState, Transport};
use stream_util::{collect_frames, wait_for};

fn check_stream(server: &RtspServer, mount: &str, codec: &str, transport: Transport) {
    let config = StreamConfig::new(&server.url(mount))
        .unwrap()
        .transport(transport)
        .queue_capacity(64);
    let mut stream = Stream::start(mount, config).unwrap();
    let frames = collect_frames(&stream, 30, Duration::from_secs(15));
    let status = stream.status();
    assert_eq!(status.state, StreamState::Streaming, "{status:?}");
    assert_eq!(status.media.as_ref().unwrap().codec, codec);
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
