//! The stamp: a frame's index in the simulator's loop, drawn in its pixels as
//! a row of large black and white cells, so a consumer can tell which frame
//! it holds from the pixels alone — after H.264, H.265 or MJPEG coding, any
//! resize the engine offers, in every output format — and match it to the
//! instant the simulator sent that frame (glass-to-consumer latency).
//!
//! ```text
//! rows 0.15 .. 0.29 of the height, the full width, 16 cells of width / 16:
//! ┌──┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┐
//! │ index, 12 bits, MSB left              │check 4│  white = 1, black = 0
//! └──┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┘
//! ```
//!
//! The check is a CRC-4 (x⁴ + x + 1) of the index, XORed with `0b0101` so
//! that neither an all-black nor an all-white strip reads as a stamp. A cell
//! is read as the mean of its middle (40 % of its width, 6 % of the frame's
//! height around the strip's centre line): below [`BLACK_BELOW`] is 0, above
//! [`WHITE_ABOVE`] is 1, anything between makes the frame unreadable, and so
//! does a failed check. On RGB formats the mean is over R, G and B; on
//! `gray8`, `yuv420p` and `nv12` it is the luma (limited or full range: both
//! sit well clear of the thresholds).
//!
//! **Legible down to [`MIN_WIDTH`] × [`MIN_HEIGHT`]** (cells 4 px wide and
//! the strip 5 px tall): smaller outputs may read as `None`, never as a wrong
//! index unless the check is fooled (1 in 16 for random damage).
//!
//! **The index is the frame's place in the loop, not a count of every frame
//! sent**: the simulator encodes its clip once and loops it. Which loop a
//! frame came from is told by time: the simulator records when it sent each
//! frame ([`Simulator::sent_at`](super::Simulator::sent_at) in-process, a
//! [stamp log](super::SimulatorConfig::stamp_log) for another process), and
//! the frame a consumer holds is the last one sent with that index — exact as
//! long as the latency is below one loop (4 s by default; `bench --latency`
//! uses 10 s loops).

use std::fmt;
use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind, Result};
use crate::slab::{Frame, PixelFormat};

/// Cells in the strip.
pub const CELLS: usize = 16;
/// Bits of the index (the rest of the cells hold the check).
pub const INDEX_BITS: u32 = 12;
/// The most frames a stamped loop can have.
pub const MAX_INDEX: u32 = (1 << INDEX_BITS) - 1;
/// The strip's first row, as a fraction of the height.
pub const TOP: f64 = 0.15;
/// The row after the strip's last, as a fraction of the height.
pub const BOTTOM: f64 = 0.29;
/// A cell whose mean is below this reads as 0.
pub const BLACK_BELOW: f64 = 96.0;
/// A cell whose mean is above this reads as 1.
pub const WHITE_ABOVE: f64 = 160.0;
/// The narrowest output on which the stamp is guaranteed legible.
pub const MIN_WIDTH: u32 = 64;
/// The lowest output on which the stamp is guaranteed legible.
pub const MIN_HEIGHT: u32 = 36;

/// The rows sampled, as fractions of the height (the strip's middle).
const SAMPLE_ROWS: (f64, f64) = (0.19, 0.25);
/// The part of each cell sampled, as fractions of its width.
const SAMPLE_COLUMNS: (f64, f64) = (0.3, 0.7);
/// XORed into the CRC so that all-black and all-white strips fail the check.
const CHECK_XOR: u16 = 0b0101;

/// CRC-4 (polynomial x⁴ + x + 1, MSB first, initial value 0) of the low
/// [`INDEX_BITS`] bits of `index`.
fn crc4(index: u32) -> u16 {
    let mut crc: u16 = 0;
    for bit in (0..INDEX_BITS).rev() {
        let feedback = ((index >> bit) & 1) as u16 ^ ((crc >> 3) & 1);
        crc = (crc << 1) & 0xf;
        if feedback == 1 {
            crc ^= 0x3;
        }
    }
    crc
}

/// The 16-bit word drawn for `index` (its low [`INDEX_BITS`] bits), cell 0
/// being the most significant bit.
pub fn word(index: u32) -> u16 {
    let index = index & MAX_INDEX;
    ((index as u16) << 4) | (crc4(index) ^ CHECK_XOR)
}

/// The index a word stands for, if its check holds.
pub fn index_of(word: u16) -> Option<u32> {
    let index = u32::from(word >> 4);
    (crc4(index) ^ CHECK_XOR == word & 0xf).then_some(index)
}

/// The strip's rows `top .. bottom` in a picture `height` rows high: even
/// numbers, so no 2×2 chroma block holds both the strip and the bands.
pub fn rows(height: usize) -> (usize, usize) {
    let row = |fraction: f64| (fraction * height as f64) as usize & !1;
    (row(TOP), row(BOTTOM))
}

/// Whether pixel `(x, y)` of a `width × height` picture of frame `index` is
/// white (`Some(true)`), black (`Some(false)`), or outside the strip.
pub fn pixel(width: usize, height: usize, index: u32, x: usize, y: usize) -> Option<bool> {
    let (top, bottom) = rows(height);
    if !(top..bottom).contains(&y) {
        return None;
    }
    let cell = (x * CELLS / width.max(1)).min(CELLS - 1);
    Some((word(index) >> (CELLS - 1 - cell)) & 1 == 1)
}

/// Reads the stamp of a `width × height` picture whose brightness at `(x, y)`
/// is `sample(x, y)` (0 ..= 255 for each of its channels summed over
/// `channels`, e.g. R + G + B with `channels = 3`).
pub fn read_with(
    width: usize,
    height: usize,
    channels: u32,
    sample: impl Fn(usize, usize) -> u32,
) -> Option<u32> {
    if width == 0 || height == 0 || channels == 0 {
        return None;
    }
    let span = |from: f64, to: f64, size: usize| {
        let first = ((from * size as f64) as usize).min(size - 1);
        let end = ((to * size as f64).ceil() as usize).clamp(first + 1, size);
        first..end
    };
    let ys = span(SAMPLE_ROWS.0, SAMPLE_ROWS.1, height);
    let mut word: u16 = 0;
    for cell in 0..CELLS {
        let cell_width = width as f64 / CELLS as f64;
        let left = (cell as f64 + SAMPLE_COLUMNS.0) * cell_width;
        let right = (cell as f64 + SAMPLE_COLUMNS.1) * cell_width;
        let first = (left as usize).min(width - 1);
        let xs = first..(right.ceil() as usize).clamp(first + 1, width);
        let (mut sum, mut count) = (0u64, 0u64);
        for y in ys.clone() {
            for x in xs.clone() {
                sum += u64::from(sample(x, y));
                count += 1;
            }
        }
        let mean = sum as f64 / (count * u64::from(channels)) as f64;
        let bit = if mean < BLACK_BELOW {
            0
        } else if mean > WHITE_ABOVE {
            1
        } else {
            return None;
        };
        word = (word << 1) | bit;
    }
    index_of(word)
}

/// Reads the stamp of a published frame (any [`PixelFormat`]): the frame's
/// index in the simulator's loop, or `None` when the frame carries no
/// legible stamp.
pub fn read(frame: &Frame) -> Option<u32> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    match frame.format() {
        PixelFormat::Bgr24 | PixelFormat::Rgb24 => read_with(width, height, 3, |x, y| {
            let row = frame.row(0, y);
            row[3 * x..3 * x + 3].iter().map(|&v| u32::from(v)).sum()
        }),
        // Planar RGB's first plane is red: white and black as luma is.
        PixelFormat::Gray8 | PixelFormat::Yuv420p | PixelFormat::Nv12 | PixelFormat::RgbPlanar => {
            read_with(width, height, 1, |x, y| u32::from(frame.row(0, y)[x]))
        }
    }
}

/// One frame a simulated camera sent, as a line of a stamp log:
/// `camera session n index wall_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentFrame {
    /// The camera's index (`/camN`).
    pub camera: usize,
    /// The session, numbered per camera from 1 in the order of their `PLAY`s.
    pub session: u64,
    /// The frame's number in the session, from 0, across loops.
    pub n: u64,
    /// The stamp drawn in it: its index in the loop.
    pub index: u32,
    /// When its first packet was written to the connection.
    pub sent: SystemTime,
}

/// The first line of a stamp log.
pub const LOG_HEADER: &str = "# rtsp-ingest stamp log v1: camera session n index wall_ns";

impl SentFrame {
    /// Parses one line; `None` for the header, comments and malformed lines.
    pub fn parse(line: &str) -> Option<SentFrame> {
        let mut fields = line.split_ascii_whitespace();
        let mut next = || fields.next();
        let camera = next()?.parse().ok()?;
        let session = next()?.parse().ok()?;
        let n = next()?.parse().ok()?;
        let index = next()?.parse().ok()?;
        let nanos: u64 = next()?.parse().ok()?;
        Some(SentFrame {
            camera,
            session,
            n,
            index,
            sent: UNIX_EPOCH + Duration::from_nanos(nanos),
        })
    }
}

impl fmt::Display for SentFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self
            .sent
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        write!(
            f,
            "{} {} {} {} {nanos}",
            self.camera, self.session, self.n, self.index
        )
    }
}

/// When each stamped frame was sent, by camera and index: a stamp log read
/// back, to match the frames consumers read against.
#[derive(Clone, Debug, Default)]
pub struct SendTimes {
    /// `[camera][index]`: send times, ascending.
    times: Vec<Vec<Vec<SystemTime>>>,
}

impl SendTimes {
    /// Reads a stamp log written by a simulator (possibly still running).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for a missing file, [`ErrorKind::InvalidData`]
    /// when it does not start with [`LOG_HEADER`].
    pub fn read_log(path: &Path) -> Result<SendTimes> {
        let shown = path.display();
        let file = std::fs::File::open(path).map_err(|error| {
            let kind = if error.kind() == std::io::ErrorKind::NotFound {
                ErrorKind::NotFound
            } else {
                ErrorKind::InvalidConfig
            };
            Error::new(kind, format!("stamp log {shown}: {error}"))
        })?;
        let mut lines = std::io::BufReader::new(file).lines();
        match lines.next() {
            Some(Ok(first)) if first.trim_end() == LOG_HEADER => {}
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidData,
                    format!("{shown} is not a stamp log (no `{LOG_HEADER}` line)"),
                ))
            }
        }
        let mut times = SendTimes::default();
        // A line still being written when the file is read fails to parse
        // and is skipped.
        for line in lines.map_while(std::result::Result::ok) {
            if let Some(sent) = SentFrame::parse(&line) {
                times.insert(&sent);
            }
        }
        times.sort();
        Ok(times)
    }

    fn insert(&mut self, sent: &SentFrame) {
        let index = usize::try_from(sent.index).unwrap_or(usize::MAX);
        if index > MAX_INDEX as usize {
            return;
        }
        if self.times.len() <= sent.camera {
            self.times.resize_with(sent.camera + 1, Vec::new);
        }
        let camera = &mut self.times[sent.camera];
        if camera.len() <= index {
            camera.resize_with(index + 1, Vec::new);
        }
        camera[index].push(sent.sent);
    }

    fn sort(&mut self) {
        for camera in &mut self.times {
            for times in camera {
                times.sort_unstable();
            }
        }
    }

    /// Frames recorded.
    pub fn len(&self) -> usize {
        self.times.iter().flatten().map(Vec::len).sum()
    }

    /// Whether no frame was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// When `camera` last sent the frame stamped `index` at or before `at`:
    /// the frame a consumer that read `index` at `at` holds.
    pub fn sent_before(&self, camera: usize, index: u32, at: SystemTime) -> Option<SystemTime> {
        let times = self.times.get(camera)?.get(usize::try_from(index).ok()?)?;
        let after = times.partition_point(|&sent| sent <= at);
        after.checked_sub(1).map(|last| times[last])
    }
}

/// The camera index of a simulator URL: `N` in `rtsp://host/camN`.
pub fn camera_of_url(url: &str) -> Option<usize> {
    let path = url.split("://").nth(1)?;
    let path = &path[path.find('/')?..];
    let name = path.trim_end_matches('/').rsplit('/').next()?;
    let digits = name.strip_prefix("cam")?;
    let digits = digits.split(['?', '#']).next()?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_round_trips_and_flat_strips_do_not_read() {
        for index in 0..=MAX_INDEX {
            assert_eq!(index_of(word(index)), Some(index));
        }
        assert_eq!(index_of(0x0000), None, "all black");
        assert_eq!(index_of(0xffff), None, "all white");
        // Every single-cell error is caught.
        for index in [0, 1, 77, 1234, MAX_INDEX] {
            for bit in 0..16 {
                assert_eq!(index_of(word(index) ^ (1 << bit)), None, "{index} {bit}");
            }
        }
    }

    #[test]
    fn a_drawn_strip_reads_back_at_any_size_down_to_the_minimum() {
        for (width, height) in [(640, 360), (1920, 1080), (64, 36), (100, 100), (66, 38)] {
            for index in [0, 5, 250, 4000] {
                let read = read_with(width, height, 1, |x, y| {
                    match pixel(width, height, index, x, y) {
                        Some(true) => 235,
                        Some(false) => 16,
                        None => 81, // red's luma
                    }
                });
                assert_eq!(read, Some(index), "{width}x{height}");
            }
        }
        // A picture without a strip (one red band) has no stamp.
        assert_eq!(read_with(64, 36, 3, |_, _| 255), None);
        assert_eq!(read_with(64, 36, 1, |_, _| 128), None);
    }

    #[test]
    fn log_lines_parse_and_match_the_last_send_before() {
        let at = |ms| UNIX_EPOCH + Duration::from_millis(ms);
        let line = SentFrame {
            camera: 2,
            session: 1,
            n: 260,
            index: 10,
            sent: at(1_700_000_000_123),
        };
        let text = line.to_string();
        assert_eq!(text, "2 1 260 10 1700000000123000000");
        assert_eq!(SentFrame::parse(&text), Some(line));
        assert_eq!(SentFrame::parse(LOG_HEADER), None);
        assert_eq!(SentFrame::parse("2 1 260"), None);

        let mut times = SendTimes::default();
        for (n, ms) in [(10, 1_000), (260, 11_000), (510, 21_000)] {
            times.insert(&SentFrame {
                n,
                sent: at(ms),
                ..line
            });
        }
        times.sort();
        assert_eq!(times.len(), 3);
        assert_eq!(times.sent_before(2, 10, at(11_040)), Some(at(11_000)));
        assert_eq!(times.sent_before(2, 10, at(999)), None);
        assert_eq!(times.sent_before(2, 11, at(11_040)), None);
        assert_eq!(times.sent_before(0, 10, at(11_040)), None);
    }

    #[test]
    fn camera_indexes_come_from_simulator_urls() {
        assert_eq!(camera_of_url("rtsp://127.0.0.1:8554/cam3"), Some(3));
        assert_eq!(camera_of_url("rtsp://u:p@host/cam12/"), Some(12));
        assert_eq!(camera_of_url("rtsp://host/live"), None);
        assert_eq!(camera_of_url("rtsp://host"), None);
    }
}
