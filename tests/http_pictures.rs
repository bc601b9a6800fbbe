//! A stream's pictures over the control API: `snapshot.jpg` is a JPEG of the
//! newest frame (`?width=` scales it down), from every pixel format the slab
//! holds; `/mjpeg` is a multipart stream of JPEGs, one per new frame.

#[path = "support/ingest.rs"]
mod ingest;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ingest::{add_body, Api, Ingest};
use rtsp_ingest::simulate::{PatternOptions, Simulator, SimulatorConfig};
use serde_json::json;

/// `GET path` raw; the status and the body bytes.
fn get_bytes(address: &str, path: &str) -> (u16, String, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut response = agent.get(&format!("{address}{path}")).call().unwrap();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.body_mut().read_to_vec().unwrap();
    (response.status().as_u16(), kind, body)
}

#[test]
fn snapshots_and_the_live_view_are_jpegs_of_the_newest_frames() {
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .pattern(PatternOptions::default().size(320, 180).fps(15)),
    )
    .unwrap();
    let (_ingest, address) = Ingest::start(&["run", "--http", "127.0.0.1:0"]);
    let address = address.unwrap();
    let api = Api::new(address.clone());
    let formats = ["bgr24", "rgb24", "gray8", "yuv420p", "nv12"];
    for format in formats {
        let options = json!({"transport": "tcp", "format": format});
        let reply = api.post("/streams", &add_body(format, &simulator.url(0), options));
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    // A stream that never gets a frame (nothing listens on port 9).
    let reply = api.post(
        "/streams",
        &add_body("dark", "rtsp://127.0.0.1:9/x", json!({})),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    for format in formats {
        api.wait_state(format, "streaming", Duration::from_secs(20));
    }

    // The simulator dates its frames (RTCP sender reports): the snapshot says
    // how old the frame is since its capture.
    // (FFmpeg's muxer sends its first sender report a few seconds in.)
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let begun = std::time::Instant::now();
    let glass = loop {
        let response = agent
            .get(&format!("{address}/streams/rgb24/snapshot.jpg"))
            .call()
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        assert!(header("x-frame-seq").is_some());
        if let Some(glass) = header("x-glass-to-consumer-ms") {
            break glass.parse::<f64>().unwrap();
        }
        assert!(begun.elapsed() < Duration::from_secs(15), "no capture time");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!((0.0..10_000.0).contains(&glass), "{glass}");
    for format in formats {
        let (status, kind, body) = get_bytes(&address, &format!("/streams/{format}/snapshot.jpg"));
        assert_eq!((status, kind.as_str()), (200, "image/jpeg"), "{format}");
        let picture = image::load_from_memory_with_format(&body, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((picture.width(), picture.height()), (320, 180), "{format}");
        // The test pattern is not one flat colour (a wrong conversion often is).
        let rgb = picture.to_rgb8();
        let first = rgb.get_pixel(0, 0);
        assert!(rgb.pixels().any(|pixel| pixel != first), "{format}: flat");
        let (status, _, body) = get_bytes(
            &address,
            &format!("/streams/{format}/snapshot.jpg?width=160"),
        );
        assert_eq!(status, 200);
        let thumbnail = image::load_from_memory(&body).unwrap();
        assert_eq!(
            (thumbnail.width(), thumbnail.height()),
            (160, 90),
            "{format}"
        );
    }
    // The colours survive: bgr24 and rgb24 give the same picture, and
    // yuv420p about the same.
    let pixels = |format: &str| {
        let (_, _, body) = get_bytes(
            &address,
            &format!("/streams/{format}/snapshot.jpg?width=32"),
        );
        image::load_from_memory(&body).unwrap().to_rgb8()
    };
    let (bgr, rgb, yuv) = (pixels("bgr24"), pixels("rgb24"), pixels("yuv420p"));
    let distance = |a: &image::RgbImage, b: &image::RgbImage| {
        let sum: u64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        sum / a.as_raw().len() as u64
    };
    assert!(
        distance(&bgr, &rgb) < 24,
        "bgr24 vs rgb24: {}",
        distance(&bgr, &rgb)
    );
    assert!(
        distance(&rgb, &yuv) < 24,
        "rgb24 vs yuv420p: {}",
        distance(&rgb, &yuv)
    );

    for (path, status, field) in [
        ("/streams/rgb24/snapshot.jpg?width=0", 400, Some("width")),
        ("/streams/rgb24/snapshot.jpg?width=wide", 400, Some("width")),
        ("/streams/rgb24/snapshot.jpg?height=10", 400, Some("width")),
        ("/streams/nope/snapshot.jpg", 404, None),
        ("/streams/dark/snapshot.jpg", 404, None),
        ("/streams/nope/mjpeg", 404, None),
    ] {
        let reply = api.get(path);
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert_eq!(reply.json()["field"].as_str(), field, "{path}");
    }

    // The live view: parts of `--frame`, each a JPEG, frames newer each time.
    let mut stream = TcpStream::connect(address.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /streams/rgb24/mjpeg?width=64 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    let mut head = String::new();
    while line != "\r\n" {
        line.clear();
        reader.read_line(&mut line).unwrap();
        head.push_str(&line.to_ascii_lowercase());
    }
    assert!(
        head.contains("content-type: multipart/x-mixed-replace; boundary=frame"),
        "{head}"
    );
    // The body is chunked: read raw and look for three whole parts.
    let mut body = Vec::new();
    let mut chunk = [0u8; 4096];
    while count(&body, b"--frame\r\n") < 4 {
        let read = reader.read(&mut chunk).unwrap();
        assert!(read > 0, "the live view ended");
        body.extend_from_slice(&chunk[..read]);
    }
    let starts = count(&body, &[0xFF, 0xD8, 0xFF]);
    assert!(starts >= 3, "{starts} JPEG starts");
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}
