//! The first frame from cameras whose SDP names only the codec (issue 12 §4):
//! no `sprop-parameter-sets` (H.264) or `sprop-vps/sps/pps` (H.265) and no
//! `a=framesize`, the parameter sets only in band before every keyframe, and
//! cameras that pause before every keyframe. The stream must work in each
//! case without a probe: the decoder takes the parameter sets from the first
//! keyframe and the status learns the size from the first frame. Real
//! simulator on 127.0.0.1; every wait is bounded; nothing is timed (the
//! first-frame latency is measured in BENCHMARKS.md).

#[allow(dead_code)]
#[path = "support/stream_util.rs"]
mod stream_util;

use std::time::{Duration, Instant};

use rtsp_ingest::ffmpeg::VideoCodec;
use rtsp_ingest::simulate::{PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::stream::{Backoff, RtspClient, Stream, StreamConfig, StreamState};
use stream_util::{collect_frames, wait_for};

const SIZE: (u32, u32) = (320, 180);

fn camera(codec: VideoCodec, parameter_sets: bool, faults: &str) -> Simulator {
    let config = SimulatorConfig::default()
        .addr("127.0.0.1:0".parse().unwrap())
        .pattern(
            PatternOptions::default()
                .codec(codec)
                .size(SIZE.0, SIZE.1)
                .frames(50),
        )
        .sdp_parameter_sets(parameter_sets)
        .faults(faults.parse().unwrap());
    Simulator::start(config).unwrap()
}

/// Streams one camera and checks frames, media and the first-frame time.
fn streams(codec: VideoCodec, parameter_sets: bool, faults: &str) {
    streams_with(RtspClient::Ffmpeg, codec, parameter_sets, faults);
}

/// [`streams`] with the given RTSP client.
fn streams_with(client: RtspClient, codec: VideoCodec, parameter_sets: bool, faults: &str) {
    let simulator = camera(codec, parameter_sets, faults);
    let config = StreamConfig::new(&simulator.url(0))
        .unwrap()
        .connect_timeout(Duration::from_secs(3))
        .stall_timeout(Duration::from_secs(3))
        .backoff(Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        })
        .queue_capacity(16)
        .rtsp_client(client);
    let mut stream = Stream::start("in-band", config).unwrap();
    let frames = collect_frames(&stream, 10, Duration::from_secs(15));
    for frame in &frames {
        assert_eq!((frame.width(), frame.height()), SIZE);
    }
    assert!(frames[0].is_keyframe());
    drop(frames);
    let status = wait_for(&stream, Duration::from_secs(10), "streaming", |s| {
        s.state == StreamState::Streaming && s.published >= 10
    });
    let what =
        format!("{client}: {codec:?}, parameter sets in the SDP: {parameter_sets}, {faults}");
    assert_eq!(status.reconnects, 0, "{what}: {status:#?}");
    assert_eq!(status.decode_errors, 0, "{what}: {status:#?}");
    let media = status.media.as_ref().expect("media");
    let name = match codec {
        VideoCodec::H264 => "h264",
        _ => "hevc",
    };
    assert_eq!(media.codec, name, "{what}");
    assert_eq!(
        (media.width, media.height),
        SIZE,
        "{what}: the size from the first frame"
    );
    assert!(status.first_frame_latency.is_some(), "{what}: {status:#?}");
    let begun = Instant::now();
    assert!(stream.stop());
    assert!(begun.elapsed() < Duration::from_millis(500));
}

#[test]
fn h264_with_parameter_sets_only_in_band() {
    streams(VideoCodec::H264, false, "");
}

#[test]
fn h265_with_parameter_sets_only_in_band() {
    streams(VideoCodec::H265, false, "");
}

#[test]
fn a_pause_before_every_keyframe() {
    for codec in [VideoCodec::H264, VideoCodec::H265] {
        for parameter_sets in [true, false] {
            streams(codec, parameter_sets, "keyframe-pause=500ms");
        }
    }
}

#[test]
fn the_native_client_takes_parameter_sets_in_band_and_waits_out_keyframe_pauses() {
    for codec in [VideoCodec::H264, VideoCodec::H265] {
        streams_with(RtspClient::Native, codec, false, "");
        streams_with(RtspClient::Native, codec, false, "keyframe-pause=500ms");
    }
}
