//! When each camera sent each stamped frame: a table of the last send time of
//! every index per camera (read in-process by
//! [`Simulator::sent_at`](super::Simulator::sent_at)), and the optional stamp
//! log, a text file with one [`SentFrame`] line per frame sent, written by a
//! thread of its own so no connection waits on the disk.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};

use super::stamp::{SentFrame, LOG_HEADER, MAX_INDEX};
use crate::error::{Error, ErrorKind, Result};

/// The last send time of every stamp index, per camera.
#[derive(Debug)]
pub(crate) struct SendTable {
    /// `[camera][index]`: nanoseconds since the Unix epoch, 0 = never sent.
    /// Relaxed atomics: each value stands alone and publishes no other memory.
    cameras: Vec<Box<[AtomicU64]>>,
}

impl SendTable {
    /// A table for `cameras` cameras looping `frames` frames (stamps repeat
    /// after [`MAX_INDEX`] + 1).
    pub(crate) fn new(cameras: usize, frames: usize) -> Self {
        let indexes = frames.min(MAX_INDEX as usize + 1);
        Self {
            cameras: (0..cameras)
                .map(|_| (0..indexes).map(|_| AtomicU64::new(0)).collect())
                .collect(),
        }
    }

    pub(crate) fn record(&self, camera: usize, index: usize, sent: SystemTime) {
        if let Some(slot) = self.cameras.get(camera).and_then(|table| table.get(index)) {
            // Relaxed: see the field.
            slot.store(unix_nanos(sent).max(1), Ordering::Relaxed);
        }
    }

    pub(crate) fn get(&self, camera: usize, index: usize) -> Option<SystemTime> {
        // Relaxed: see the field.
        let nanos = self
            .cameras
            .get(camera)?
            .get(index)?
            .load(Ordering::Relaxed);
        (nanos != 0).then(|| UNIX_EPOCH + Duration::from_nanos(nanos))
    }
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    })
}

/// What the writer thread is sent.
#[derive(Debug)]
enum Message {
    Frame(SentFrame),
    /// Flush and end.
    Close,
}

/// The stamp log being written.
#[derive(Debug)]
pub(crate) struct StampLog {
    sender: Sender<Message>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl StampLog {
    /// Creates (or truncates) the file, writes the header line and starts the
    /// writer thread.
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let failed = |error: std::io::Error| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("stamp log {shown}: {error}"),
            )
        };
        let mut file = BufWriter::new(File::create(path).map_err(failed)?);
        writeln!(file, "{LOG_HEADER}").map_err(failed)?;
        file.flush().map_err(failed)?;
        let (sender, receiver) = crossbeam_channel::unbounded();
        let writer = std::thread::Builder::new()
            .name("sim-stamp-log".to_owned())
            .spawn(move || write_lines(file, &receiver, &shown))
            .map_err(|error| {
                Error::new(
                    ErrorKind::Connect,
                    format!("starting the stamp log's thread: {error}"),
                )
            })?;
        Ok(Self {
            sender,
            writer: Mutex::new(Some(writer)),
        })
    }

    pub(crate) fn record(&self, sent: SentFrame) {
        // Fails only once the log is closed: frames sent while stopping.
        let _ = self.sender.send(Message::Frame(sent));
    }

    /// Writes what is queued, closes the file and joins the thread.
    pub(crate) fn close(&self) {
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            let _ = self.sender.send(Message::Close);
            let _ = writer.join();
        }
    }
}

/// The writer thread: a line per frame, flushed whenever the queue is empty
/// (so a reader sees every frame sent within about a millisecond).
fn write_lines(mut file: BufWriter<File>, receiver: &Receiver<Message>, shown: &str) {
    let mut failed = false;
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        while let Some(message) = next {
            let Message::Frame(sent) = message else {
                let _ = file.flush();
                return;
            };
            if !failed {
                if let Err(error) = writeln!(file, "{sent}") {
                    tracing::warn!(%error, "simulator: writing the stamp log {shown} failed");
                    failed = true;
                }
            }
            next = receiver.try_recv().ok();
        }
        if !failed && file.flush().is_err() {
            failed = true;
        }
    }
}
