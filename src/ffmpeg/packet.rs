//! [`Packet`]: one compressed frame read from an [`Input`](super::Input) or
//! filled from bytes another RTSP client depacketized ([`Packet::fill`]); an
//! owned `AVPacket` reused for every read (its payload is unreferenced before
//! each).

use std::ptr::NonNull;

use ffmpeg_sys_next as ffi;

use crate::error::{Error, ErrorKind, Result};

/// An owned, reusable `AVPacket`. Allocate one per stream and pass it to every
/// [`Input::read_packet`](super::Input::read_packet).
#[derive(Debug)]
pub struct Packet {
    raw: NonNull<ffi::AVPacket>,
}

// SAFETY: an AVPacket is plain data plus reference-counted buffers whose counts
// are atomic; FFmpeg ties it to no thread. `Packet` is not `Sync` (it has no
// shared-access methods that would need it), so only one thread uses it at a time.
unsafe impl Send for Packet {}

impl Packet {
    /// An empty packet.
    pub fn new() -> Result<Self> {
        // SAFETY: no preconditions; returns null only when out of memory.
        let raw = unsafe { ffi::av_packet_alloc() };
        NonNull::new(raw)
            .map(|raw| Self { raw })
            .ok_or_else(|| Error::new(ErrorKind::Ffmpeg, "av_packet_alloc: out of memory"))
    }

    fn get(&self) -> &ffi::AVPacket {
        // SAFETY: `raw` is a live packet we own; `&self` excludes writers.
        unsafe { self.raw.as_ref() }
    }

    pub(crate) fn as_ptr(&self) -> *const ffi::AVPacket {
        self.raw.as_ptr()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut ffi::AVPacket {
        self.raw.as_ptr()
    }

    /// Drops the payload (keeps the allocation for the next read).
    pub fn unref(&mut self) {
        // SAFETY: a live packet we own exclusively (`&mut self`).
        unsafe { ffi::av_packet_unref(self.raw.as_ptr()) };
    }

    /// Replaces the payload with a copy of `data` (in a new padded buffer, as
    /// decoders require), with presentation timestamp `pts` (also the decoding
    /// one: RTP gives one timestamp per access unit) and the keyframe flag.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidData`] for a payload over 2 GiB, [`ErrorKind::Ffmpeg`]
    /// when out of memory.
    pub fn fill(&mut self, data: &[u8], pts: Option<i64>, key: bool) -> Result<()> {
        self.unref();
        let size = std::ffi::c_int::try_from(data.len()).map_err(|_| {
            Error::new(
                ErrorKind::InvalidData,
                format!("a {}-byte packet is too large to decode", data.len()),
            )
        })?;
        // SAFETY: a live, unreferenced packet we own exclusively; av_new_packet
        // gives it a buffer of `size` bytes plus zeroed padding.
        let ret = unsafe { ffi::av_new_packet(self.raw.as_ptr(), size) };
        if ret < 0 {
            return Err(Error::new(
                ErrorKind::Ffmpeg,
                "av_new_packet: out of memory",
            ));
        }
        // SAFETY: `raw` is live and ours (`&mut self`); nothing else borrows it.
        let packet = unsafe { self.raw.as_mut() };
        if !data.is_empty() {
            // SAFETY: av_new_packet made `data` point at `size` == `data.len()`
            // writable bytes, a new buffer that cannot overlap `data`.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), packet.data, data.len()) };
        }
        let pts = pts.unwrap_or(ffi::AV_NOPTS_VALUE);
        packet.pts = pts;
        packet.dts = pts;
        if key {
            packet.flags |= super::c_flag(ffi::AV_PKT_FLAG_KEY);
        }
        Ok(())
    }

    /// The index of the stream this packet belongs to.
    pub fn stream_index(&self) -> usize {
        usize::try_from(self.get().stream_index).unwrap_or(usize::MAX)
    }

    /// Presentation timestamp in the stream's time base, if known.
    pub fn pts(&self) -> Option<i64> {
        known(self.get().pts)
    }

    /// Decoding timestamp in the stream's time base, if known.
    pub fn dts(&self) -> Option<i64> {
        known(self.get().dts)
    }

    /// Payload size in bytes.
    pub fn size(&self) -> usize {
        usize::try_from(self.get().size).unwrap_or(0)
    }

    /// Whether the packet starts a keyframe (`AV_PKT_FLAG_KEY`).
    pub fn is_key(&self) -> bool {
        self.get().flags & super::c_flag(ffi::AV_PKT_FLAG_KEY) != 0
    }

    /// Whether the demuxer flagged the payload as corrupt (`AV_PKT_FLAG_CORRUPT`).
    pub fn is_corrupt(&self) -> bool {
        self.get().flags & super::c_flag(ffi::AV_PKT_FLAG_CORRUPT) != 0
    }

    /// The payload (empty after [`unref`](Self::unref)).
    pub fn data(&self) -> &[u8] {
        let packet = self.get();
        if packet.data.is_null() {
            return &[];
        }
        // SAFETY: a non-null `data` points at `size` readable bytes owned by the
        // packet's buffer, which lives until the next unref (needs `&mut self`).
        unsafe { std::slice::from_raw_parts(packet.data, self.size()) }
    }
}

impl Drop for Packet {
    fn drop(&mut self) {
        let mut raw = self.raw.as_ptr();
        // SAFETY: a live packet only we own; av_packet_free unrefs and frees it.
        unsafe { ffi::av_packet_free(&mut raw) };
    }
}

/// `None` for FFmpeg's "no timestamp" (`AV_NOPTS_VALUE`).
pub(crate) fn known(timestamp: i64) -> Option<i64> {
    (timestamp != ffi::AV_NOPTS_VALUE).then_some(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_packet_is_empty() {
        let mut packet = Packet::new().unwrap();
        assert_eq!(
            (packet.size(), packet.data(), packet.pts()),
            (0, &[][..], None)
        );
        assert!(!packet.is_key());
        packet.unref();
        assert_eq!(packet.size(), 0);
    }

    #[test]
    fn a_filled_packet_holds_a_copy_with_its_timestamp_and_flag() {
        let mut packet = Packet::new().unwrap();
        packet
            .fill(&[0, 0, 0, 1, 0x65, 7], Some(3600), true)
            .unwrap();
        assert_eq!(
            (packet.data(), packet.pts(), packet.dts(), packet.is_key()),
            (&[0, 0, 0, 1, 0x65, 7][..], Some(3600), Some(3600), true)
        );
        packet.fill(&[1, 2], None, false).unwrap();
        assert_eq!(
            (packet.data(), packet.pts(), packet.is_key()),
            (&[1, 2][..], None, false)
        );
    }
}
