//! The simulator's stamp (`rtsp_ingest::simulate::stamp`) read back off the
//! pixels the engine publishes: exactly, on every frame, for H.264, H.265 and
//! MJPEG, in every output format and at several output sizes down to the
//! documented minimum; and the send times the simulator records for them.

use std::time::{Duration, Instant, SystemTime};

use rtsp_ingest::ffmpeg::VideoCodec;
use rtsp_ingest::simulate::{stamp, PatternOptions, Simulator, SimulatorConfig};
use rtsp_ingest::slab::PixelFormat;
use rtsp_ingest::stream::{Stream, StreamConfig};

/// Frames in the simulator's loop: short, so every stream crosses the loop point.
const LOOP: u32 = 30;
/// Frames each stream checks (more than a loop).
const FRAMES: usize = 40;

/// The output sizes checked: the source's, down to the minimum, up, and a
/// different aspect ratio.
fn sizes(source: (u32, u32)) -> Vec<Option<(u32, u32)>> {
    let mut sizes = vec![
        None,
        Some((stamp::MIN_WIDTH, stamp::MIN_HEIGHT)),
        Some((320, 180)),
        Some((100, 100)),
    ];
    if source.0 < 1280 {
        sizes.push(Some((1280, 720)));
    }
    sizes
}

/// Pops `FRAMES` frames in order and reads each one's stamp as it comes.
fn stamps(stream: &Stream, deadline: Instant) -> Result<Vec<Option<u32>>, String> {
    let mut consumer = loop {
        if let Some(consumer) = stream.take_consumer() {
            break consumer;
        }
        if Instant::now() > deadline {
            return Err(format!("no consumer: {:?}", stream.status()));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut read = Vec::with_capacity(FRAMES);
    while read.len() < FRAMES {
        match consumer.pop_oldest() {
            Some(frame) => read.push(stamp::read(&frame)),
            None if Instant::now() > deadline => {
                return Err(format!(
                    "{} of {FRAMES} frames: {:?}",
                    read.len(),
                    stream.status()
                ))
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    Ok(read)
}

/// Every format at every size, all streams at once against one simulator.
fn check_codec(codec: VideoCodec, size: (u32, u32), noise: u8, fps: u32) {
    let pattern = PatternOptions::default()
        .codec(codec)
        .size(size.0, size.1)
        .frames(LOOP)
        .fps(fps)
        .gop(10)
        .noise(noise);
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .pattern(pattern),
    )
    .unwrap();
    let mut streams = Vec::new();
    for format in PixelFormat::ALL {
        for resize in sizes(size) {
            let mut config = StreamConfig::new(&simulator.url(0))
                .unwrap()
                .format(format)
                .queue_capacity(FRAMES + 8);
            if let Some((width, height)) = resize {
                config = config.resize(width, height);
            }
            let name = format!("{codec:?} {format} {resize:?}");
            streams.push((name.clone(), Stream::start(name, config).unwrap()));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let readers: Vec<_> = streams
            .iter()
            .map(|(name, stream)| (name, scope.spawn(|| stamps(stream, deadline))))
            .collect();
        readers
            .into_iter()
            .filter_map(|(name, reader)| match reader.join().unwrap() {
                Err(error) => Some(format!("{name}: {error}")),
                Ok(read) => {
                    // The ordered queue delivers every frame, so the stamps
                    // count up by one, wrapping at the loop's end; a
                    // reconnect (a loaded machine can stall the camera past
                    // the stall timeout) starts the camera's loop again at 0.
                    let reconnected = streams
                        .iter()
                        .find(|(n, _)| n == name)
                        .is_some_and(|(_, s)| s.status().reconnects > 0);
                    let legible = read.iter().all(|stamp| stamp.is_some_and(|k| k < LOOP));
                    let counts_up = read.windows(2).all(|pair| match (pair[0], pair[1]) {
                        (Some(a), Some(b)) => b == (a + 1) % LOOP || (reconnected && b == 0),
                        _ => false,
                    });
                    (!legible || !counts_up).then(|| {
                        let reconnects = streams
                            .iter()
                            .find(|(n, _)| n == name)
                            .map(|(_, s)| s.status().reconnects);
                        format!("{name}: read {read:?} (reconnects: {reconnects:?})")
                    })
                }
            })
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_stamp_reads_back_exactly_from_h264_in_every_format_and_size() {
    check_codec(VideoCodec::H264, (640, 360), 12, 25);
}

#[test]
fn the_stamp_reads_back_exactly_from_h265_in_every_format_and_size() {
    check_codec(VideoCodec::H265, (640, 360), 12, 25);
}

#[test]
fn the_stamp_reads_back_exactly_from_mjpeg_in_every_format_and_size() {
    check_codec(VideoCodec::Mjpeg, (640, 360), 12, 25);
}

#[test]
fn the_stamp_reads_back_exactly_from_1080p_scaled_down_to_the_minimum() {
    // 5 fps: two dozen 1080p decoders at 25 fps would overload two cores.
    check_codec(VideoCodec::H264, (1920, 1080), 4, 5);
}

#[test]
fn send_times_are_recorded_in_process_and_in_the_stamp_log() {
    let dir = std::env::temp_dir().join(format!("rtsp-ingest-stamp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("sent.log");
    let before = SystemTime::now();
    let mut simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .cameras(2)
            .pattern(PatternOptions::default().size(160, 96).frames(LOOP))
            .stamp_log(&log),
    )
    .unwrap();
    assert_eq!(simulator.sent_at(1, 0), None, "nothing sent yet");
    let stream = Stream::start("cam1", StreamConfig::new(&simulator.url(1)).unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let frame = loop {
        let frame = stream.wait_latest(Duration::from_secs(1));
        if let Some(frame) = frame.filter(|frame| stamp::read(frame) == Some(5)) {
            break frame;
        }
        assert!(Instant::now() < deadline, "{:?}", stream.status());
    };
    let awake = SystemTime::now();
    let sent = simulator.sent_at(1, 5).expect("frame 5 was sent");
    assert!(
        before < sent && sent < awake,
        "{before:?} {sent:?} {awake:?}"
    );
    assert_eq!(simulator.sent_at(0, 5), None, "camera 0 has no session");
    drop(frame);
    drop(stream);
    simulator.stop();

    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(stamp::LOG_HEADER));
    let frames: Vec<stamp::SentFrame> =
        lines.map(|l| stamp::SentFrame::parse(l).unwrap()).collect();
    assert!(frames.len() > 5, "{text}");
    for (n, frame) in frames.iter().enumerate() {
        assert_eq!((frame.camera, frame.session), (1, 1));
        assert_eq!(frame.n, n as u64);
        assert_eq!(frame.index, n as u32 % LOOP);
    }
    let times = stamp::SendTimes::read_log(&log).unwrap();
    assert_eq!(times.len(), frames.len());
    assert_eq!(times.sent_before(1, 5, awake), Some(sent));
    std::fs::remove_dir_all(&dir).unwrap();
}
