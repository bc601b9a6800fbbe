//! [`Publisher`]: the stream's end of its slab, kept by the worker across
//! sessions. It builds the slab on the first frame (sized for the frame, or
//! for the configured resize), notices when the camera changes what it sends
//! (codec, picture size) and announces it, and when the size changed and no
//! resize is configured moves the stream to a new slab of the new size.
//!
//! A re-layout asks the memory budget first. If it refuses, the stream keeps
//! its slab and scales to the old size, and the refusal is announced (an event
//! with the error, the status's last error). Otherwise the new slab's ends
//! replace the old ones in [`StreamShared`] before the old producer is
//! dropped: readers find the new slab on their next call, waiters woken by
//! the old slab's close wait on the new one, and frames leased from the old
//! slab stay valid until released. Sequence numbers go on where the old slab
//! stopped, and the old slab's drops and evictions are carried over.

use super::handle::{SlabEnds, StreamShared};
use super::status::MediaInfo;
use crate::error::{Error, Result};
use crate::ffmpeg::{Asked, VideoFrame};
use crate::slab::{self, ConversionLease, FrameLayout, Lease, Producer, SlabConfig};

/// How the session's decoder writes into the slab's slots, when it does: a
/// slab it writes into is built with slots for it (and, for pictures, laid
/// out as its own buffers), and lends them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecoderWrites {
    /// It decodes into lent slots ([`super::lending`]); what it last asked for.
    Pictures(Asked),
    /// Its bands are converted into lent slots ([`super::band_conversion`]):
    /// pictures it delays for reordering.
    Bands { reorder_delay: usize },
}

/// What a decoded frame comes as: the codec and the picture size.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Source {
    codec: String,
    width: u32,
    height: u32,
}

/// The worker's slab producer and what it was last fed; see the module docs.
#[derive(Default)]
pub(crate) struct Publisher {
    producer: Option<Producer>,
    /// What the last decoded frame came as (`None` before the first).
    source: Option<Source>,
    /// Whether the slab is laid out as the decoder's own buffers, so its
    /// slots can be lent to it (see [`super::lending`]).
    lends: bool,
}

impl Publisher {
    /// Notes what `frame` (decoded with `codec`) comes as. On a change from
    /// the last frame (in this session or an earlier one) records it in the
    /// status, re-lays the slab out if needed, and announces it.
    pub(crate) fn observe(
        &mut self,
        shared: &StreamShared,
        codec: &str,
        frame: &VideoFrame,
        writes: Option<DecoderWrites>,
    ) {
        let (width, height) = (frame.width(), frame.height());
        let same = |known: &Source| {
            (known.codec.as_str(), known.width, known.height) == (codec, width, height)
        };
        // Every frame comes here: the usual answer allocates nothing.
        if self.source.as_ref().is_some_and(same) {
            return;
        }
        let source = Source {
            codec: codec.to_owned(),
            width,
            height,
        };
        let Some(previous) = self.source.replace(source.clone()) else {
            // The first frame ever: nothing changed (the session shows its size).
            return;
        };
        let status = &shared.status;
        let mut media = status.record().media.clone().unwrap_or(MediaInfo {
            codec: String::new(),
            profile: None,
            width: 0,
            height: 0,
            fps: None,
            decode: shared.config.decode,
            lowres: 0,
        });
        (media.codec, media.width, media.height) =
            (source.codec.clone(), source.width, source.height);
        tracing::info!(
            stream = %status.id,
            "the camera now sends {} {}x{} (was {} {}x{})",
            source.codec,
            source.width,
            source.height,
            previous.codec,
            previous.width,
            previous.height
        );
        let refused = self
            .relayout(shared, source.width, source.height, writes)
            .err();
        if let Some(error) = &refused {
            tracing::warn!(stream = %status.id, "{error}");
        }
        status.media_changed(media, refused);
    }

    /// The stream's producer; on the very first frame, builds the slab sized
    /// for it (or for the configured resize), with slots for the decoder
    /// when it writes into them (`writes`; laid out as its own buffers when
    /// it decodes into them), which can then be lent to it.
    pub(crate) fn producer(
        &mut self,
        shared: &StreamShared,
        frame: &VideoFrame,
        writes: Option<DecoderWrites>,
    ) -> Result<&mut Producer> {
        if self.producer.is_none() {
            let (width, height) = shared
                .config
                .resize
                .unwrap_or((frame.width(), frame.height()));
            let shape = decoder_shape(shared, width, height, writes);
            let (producer, ends) = build(shared, width, height, shape, 0, Default::default())?;
            shared.set_slab(ends);
            self.lends = shape.is_some();
            self.producer = Some(producer);
        }
        Ok(self.producer.as_mut().expect("set above"))
    }

    /// Whether the slab is laid out as the decoder's buffers (its slots can
    /// be lent).
    pub(crate) fn lends(&self) -> bool {
        self.lends
    }

    /// A free slot to lend the decoder, if the slab lends and one is free.
    pub(crate) fn lend(&mut self) -> Option<Lease> {
        self.producer.as_mut().filter(|_| self.lends)?.lend()
    }

    /// A free slot to convert a picture into, if the slab lends and one is free.
    pub(crate) fn lend_for_conversion(&mut self) -> Option<ConversionLease> {
        self.producer
            .as_mut()
            .filter(|_| self.lends)?
            .lend_for_conversion()
    }

    /// Moves the stream to a slab of `width`×`height` when it has one of
    /// another size and no resize is configured; an error (the budget's
    /// refusal, say) leaves the old slab in place.
    fn relayout(
        &mut self,
        shared: &StreamShared,
        width: u32,
        height: u32,
        writes: Option<DecoderWrites>,
    ) -> Result<()> {
        if shared.config.resize.is_some() {
            return Ok(());
        }
        let Some(old) = &self.producer else {
            return Ok(());
        };
        if (old.layout().width(), old.layout().height()) == (width, height) {
            return Ok(());
        }
        let current = shared.slab().expect("a producer's slab is published");
        let books = SlabEnds::books(&current.stats());
        let shape = decoder_shape(shared, width, height, writes);
        let (producer, ends) = build(shared, width, height, shape, old.next_seq(), books).map_err(
            |error| {
                Error::new(
                    error.kind(),
                    format!(
                        "frames stay at {}x{}, scaled: a slab for the camera's new {width}x{height} \
                         was refused: {}",
                        old.layout().width(),
                        old.layout().height(),
                        error.message()
                    ),
                )
            },
        )?;
        // The new ends first: whoever the old producer's drop wakes finds them.
        shared.set_slab(ends);
        self.lends = shape.is_some();
        self.producer = Some(producer);
        Ok(())
    }
}

/// The layout and decoder slots of a slab the decoder writes into, when it
/// does (`writes`) and, for pictures, they fit.
fn decoder_shape(
    shared: &StreamShared,
    width: u32,
    height: u32,
    writes: Option<DecoderWrites>,
) -> Option<(FrameLayout, usize)> {
    let format = shared.config.format;
    match writes? {
        DecoderWrites::Pictures(asked) => {
            let layout = FrameLayout::for_decoder(width, height, format, asked.alignment).ok()?;
            // The pictures the decoder holds, and the one it gave out last.
            Some((layout, asked.held + 1))
        }
        // The picture being decoded, those decoded and not yet output, and
        // the slot waiting for the next picture.
        DecoderWrites::Bands { reorder_delay } => Some((
            FrameLayout::new(width, height, format).ok()?,
            reorder_delay + 2,
        )),
    }
}

/// A slab of `width`×`height` in the stream's format (or `shape`'s layout,
/// with that many decoder slots), admitted by the memory budget, numbering
/// its frames from `first_seq`, carrying `books` over.
fn build(
    shared: &StreamShared,
    width: u32,
    height: u32,
    shape: Option<(FrameLayout, usize)>,
    first_seq: u64,
    books: super::handle::RetiredBooks,
) -> Result<(Producer, SlabEnds)> {
    let config = &shared.config;
    let (layout, decoder_slots) = match shape {
        Some(shape) => shape,
        None => (FrameLayout::new(width, height, config.format)?, 0),
    };
    let mut slab_config = SlabConfig::new(layout)
        .decoder_slots(decoder_slots)
        .stream_id(shared.status.id.clone())
        .capacity(config.queue_capacity)
        .policy(config.drop_policy)
        .reader_slots(config.reader_slots)
        .first_seq(first_seq)
        // The queue opens when the consumer is asked for (`Stream::take_consumer`;
        // at once if it was asked for before this slab): a stream read only
        // through readers keeps no queue.
        .queue_on_demand(!shared.ordered_wanted());
    if let Some(megabytes) = config.max_memory_mb {
        slab_config = slab_config.max_memory_mb(megabytes);
    }
    if let Some(admit) = &shared.admit_slab {
        let (_, slots) = slab_config.resolve()?;
        admit(slots * layout.len())?;
    }
    let (producer, consumer, reader) = slab::new(slab_config)?;
    let ends = SlabEnds {
        reader,
        consumer: std::sync::Mutex::new(Some(consumer)),
        retired: books,
    };
    Ok((producer, ends))
}
