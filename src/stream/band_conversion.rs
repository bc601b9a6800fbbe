//! Converting while the picture is hot: for a stream that publishes `bgr24`,
//! `rgb24` or `gray8` at the camera's size, the decoder hands each band of
//! rows it finishes ([`crate::ffmpeg::Band`], H.264 only) to
//! [`BandConversion`], which converts the band at once into a slab slot lent
//! for the picture ([`crate::slab::ConversionLease`]), while the rows are still in the
//! cache. When the decoder outputs the picture, the slot already holds the
//! converted frame and is published where it lies; converting the whole
//! picture afterwards would read it back from memory.
//!
//! Bands come in decoding order, so with B-frames several pictures are
//! converted before they come out: each has its own slot, found again by
//! the address of the picture's first plane, which the output frame shares.
//! Anything that does not come out whole and clean this way is converted
//! from the output frame as before, and so is nothing lost: a picture that
//! started before a slot was free or before the slab existed, a field, a
//! band out of order, a picture with decode errors (error concealment
//! rewrites rows after their bands), a picture cropped at the top (its
//! first plane moves), a slot of a slab the stream left.

use std::sync::Arc;

use super::config::StreamConfig;
use super::publisher::Publisher;
use crate::convert::Direct;
use crate::ffmpeg::{Band, BandSink, Decoder, VideoFrame};
use crate::slab::{ConversionLease, PixelFormat};
use crate::sync::Mutex;

/// Pictures converted and not yet output that the book keeps track of: the
/// decoder's reorder delay is at most 16 pictures (H.264's DPB).
const MAX_PICTURES: usize = 16;

/// A picture being converted band by band.
struct Picture {
    /// [`Band::picture_id`].
    id: usize,
    lease: ConversionLease,
    /// Rows converted, from the top.
    rows: usize,
    /// A band that could not be converted came: the picture is converted
    /// whole at output instead.
    broken: bool,
}

/// What the decoder's sink and the session share.
#[derive(Default)]
struct Book {
    /// The slot for the next picture that starts, offered by the session.
    spare: Option<ConversionLease>,
    /// Pictures converted or being converted, oldest first (at most
    /// [`MAX_PICTURES`]; allocated once).
    pictures: Vec<Picture>,
}

impl Book {
    fn position(&self, id: usize) -> Option<usize> {
        self.pictures.iter().position(|picture| picture.id == id)
    }
}

fn lock(book: &Mutex<Book>) -> std::sync::MutexGuard<'_, Book> {
    // A panic in the sink leaves at worst a picture half converted, which
    // `broken` or the row count sends to the whole conversion.
    book.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The session's side: offers slots and takes the converted pictures back.
pub(crate) struct BandConversion {
    book: Arc<Mutex<Book>>,
}

impl BandConversion {
    /// Band conversion for `decoder`, when the stream asks for conversion
    /// straight into its slots ([`StreamConfig::decode_in_place`]), publishes
    /// a format converted row by row (`bgr24`, `rgb24`, `gray8`), not
    /// resized, and the decoder can report bands (no threads of its own).
    pub(crate) fn start(config: &StreamConfig, decoder: &mut Decoder) -> Option<Self> {
        let format_fits = matches!(
            config.format,
            PixelFormat::Bgr24 | PixelFormat::Rgb24 | PixelFormat::Gray8
        );
        if !config.decode_in_place || !format_fits || config.resize.is_some() {
            return None;
        }
        let book = Arc::new(Mutex::new(Book {
            spare: None,
            pictures: Vec::with_capacity(MAX_PICTURES),
        }));
        let sink = Sink {
            book: Arc::clone(&book),
        };
        decoder.tap_bands(Box::new(sink)).then_some(Self { book })
    }

    /// Before a packet, while the slab lends: a free slot for the next
    /// picture, if none waits.
    pub(crate) fn offer(&self, publisher: &mut Publisher) {
        if !publisher.lends() {
            return;
        }
        let mut book = lock(&self.book);
        if book.spare.is_none() {
            book.spare = publisher.lend_for_conversion();
        }
    }

    /// The slot `frame` (just output by the decoder) was converted into,
    /// when every row of it was, cleanly; the book forgets the picture
    /// either way (its slot is free again once dropped).
    pub(crate) fn take(&self, frame: &VideoFrame) -> Option<ConversionLease> {
        let mut book = lock(&self.book);
        let index = book.position(frame.picture_id())?;
        let picture = book.pictures.remove(index);
        let whole = !picture.broken && picture.rows == frame.height() as usize;
        whole.then_some(picture.lease)
    }
}

/// The decoder's side: converts each band into its picture's slot.
struct Sink {
    book: Arc<Mutex<Book>>,
}

impl BandSink for Sink {
    fn band(&mut self, band: &Band<'_>) {
        let mut book = lock(&self.book);
        let book = &mut *book;
        let id = band.picture_id();
        let index = match book.position(id) {
            // A band further down the picture being converted.
            Some(index) if band.done() > book.pictures[index].rows => index,
            // Its buffer again, from the top: a new picture in the buffer of
            // one never output (dropped by a flush, say).
            Some(index) => {
                let picture = &mut book.pictures[index];
                picture.rows = 0;
                picture.broken = false;
                index
            }
            None => {
                let Some(lease) = book.spare.take() else {
                    return;
                };
                if book.pictures.len() == MAX_PICTURES {
                    book.pictures.remove(0);
                }
                book.pictures.push(Picture {
                    id,
                    lease,
                    rows: 0,
                    broken: false,
                });
                book.pictures.len() - 1
            }
        };
        let picture = &mut book.pictures[index];
        if !picture.broken {
            picture.broken = !convert(band, picture);
        }
    }
}

/// Converts the rows of `band` that `picture` lacks; false when it cannot
/// (the picture is then converted whole at output).
fn convert(band: &Band<'_>, picture: &mut Picture) -> bool {
    let layout = *picture.lease.layout();
    let end = Direct::band_end(band, &layout);
    if end <= picture.rows {
        // Nothing new yet, or (for a first band that ends on an odd row)
        // not until the next band.
        return true;
    }
    let Some(direct) = Direct::band(band, &layout, picture.rows..end) else {
        return false;
    };
    if direct
        .convert_into_planes(&layout, picture.lease.planes_mut())
        .is_err()
    {
        return false;
    }
    picture.rows = end;
    true
}
