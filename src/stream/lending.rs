//! Decoding in place: for a stream that publishes `yuv420p` at the camera's
//! size (no resize), the worker lends free slab slots to the decoder, which
//! decodes straight into them, and the frame is published where it lies: no
//! copy, no conversion (see [`crate::ffmpeg::PicturePool`] and
//! [`crate::slab::Lease`]).
//!
//! [`Lending`] is the session's side: it turns lending on for a decoder that
//! can (one with direct rendering), offers a lease before each packet while
//! the slab was built for the decoder's pictures, and counts the pictures
//! that fell back to FFmpeg's own buffers. Anything that does not come out
//! exactly in a lent slot (a picture cropped at the top, a lease of an old
//! slab, a fallback) takes the copy path as before.

use std::sync::Arc;

use super::config::StreamConfig;
use super::publisher::Publisher;
use super::status::{Counters, StatusCell};
use crate::ffmpeg::{Asked, Decoder, PicturePool};
use crate::slab::PixelFormat;

/// One session's lending to its decoder.
pub(crate) struct Lending {
    pool: Arc<PicturePool>,
    /// The pool's fallback count when last counted in the status.
    fallbacks_seen: u64,
}

impl Lending {
    /// Lending for `decoder`, when the stream asks for it
    /// ([`StreamConfig::decode_in_place`]), its frames can be what it decodes
    /// (`yuv420p`, not resized) and the codec can decode into our buffers.
    pub(crate) fn start(config: &StreamConfig, decoder: &mut Decoder) -> Option<Self> {
        if !config.decode_in_place
            || config.format != PixelFormat::Yuv420p
            || config.resize.is_some()
        {
            return None;
        }
        Some(Self {
            pool: decoder.lend_pictures()?,
            fallbacks_seen: 0,
        })
    }

    /// What the decoder last asked for (for the slab's layout).
    pub(crate) fn asked(&self) -> Option<Asked> {
        self.pool.asked()
    }

    /// Before a packet, while the slab lends: offers the decoder a free slot
    /// if none waits, and counts the pictures that fell back to FFmpeg's
    /// buffers since the last call (the first call counts those before the
    /// slab was built, the slab's first picture among them). A stream whose
    /// slab does not lend (its pictures are not what it publishes) counts none.
    pub(crate) fn offer(&mut self, publisher: &mut Publisher, status: &StatusCell) {
        if !publisher.lends() {
            return;
        }
        if self.pool.wants_lease() {
            if let Some(lease) = publisher.lend() {
                self.pool.offer(lease);
            }
        }
        let now = self.pool.fallbacks();
        if now > self.fallbacks_seen {
            Counters::add(
                &status.counters.decoder_buffer_fallbacks,
                now - self.fallbacks_seen,
            );
            self.fallbacks_seen = now;
        }
    }
}
