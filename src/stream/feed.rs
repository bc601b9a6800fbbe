//! Feeding one packet to a decoder: send it, take every frame it yields, and
//! while the decoder was full send it again, a bounded number of times and
//! never past a stop request.
//!
//! FFmpeg's contract: `avcodec_send_packet` answers EAGAIN only while frames
//! wait to be received, so once `avcodec_receive_frame` has answered EAGAIN
//! the next send is taken, and one re-send always suffices. libavcodec
//! enforces this in its generic decode layer for every decoder it ships, so
//! no real decoder can be made to break it from the outside; the loop is
//! bounded anyway, since a decoder that did break it (a patched or
//! third-party libavcodec) would otherwise spin the worker unstoppably. The
//! tests below drive the loop with decoders that break the contract.

use crate::error::{Error, Result};
use crate::ffmpeg::{DecodeOutcome, Decoder, Packet, SendOutcome, VideoFrame};

/// Send rounds per packet: the first send plus re-sends after the decoder
/// answered "full". The contract needs two at most.
pub(crate) const MAX_SEND_ROUNDS: u32 = 4;

/// A decoder's send / receive pair, as [`feed`] drives it.
pub(crate) trait PacketDecoder {
    type Packet;
    type Frame;
    fn send(&mut self, packet: &Self::Packet) -> Result<SendOutcome>;
    fn receive(&mut self, frame: &mut Self::Frame) -> Result<DecodeOutcome>;
}

impl PacketDecoder for Decoder {
    type Packet = Packet;
    type Frame = VideoFrame;

    fn send(&mut self, packet: &Packet) -> Result<SendOutcome> {
        self.send_packet(packet)
    }

    fn receive(&mut self, frame: &mut VideoFrame) -> Result<DecodeOutcome> {
        self.receive_frame(frame)
    }
}

/// What became of a packet.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fed {
    /// The decoder took it (or refused it with an error, already handled) and
    /// every frame it had is out.
    Done,
    /// The decoder answered "full" [`MAX_SEND_ROUNDS`] times although its
    /// frames were taken each time: it breaks the EAGAIN contract. The packet
    /// is dropped.
    GaveUp,
    /// The stream was asked to stop; the packet may be half fed.
    Stopped,
}

/// What [`feed`] hands its caller: a decoded frame, or a failed send or
/// receive (after which feeding goes on, as the decoder may recover).
pub(crate) enum Decoded<'a, F> {
    Frame(&'a F),
    Error(Error),
}

/// Feeds `packet` to `decoder`, handing every frame (and every error) to
/// `handle`. An error `handle` returns ends feeding and is returned.
pub(crate) fn feed<D: PacketDecoder>(
    decoder: &mut D,
    packet: &D::Packet,
    frame: &mut D::Frame,
    stopping: impl Fn() -> bool,
    mut handle: impl FnMut(Decoded<'_, D::Frame>) -> Result<()>,
) -> Result<Fed> {
    for _ in 0..MAX_SEND_ROUNDS {
        let sent = match decoder.send(packet) {
            Ok(sent) => sent,
            Err(error) => {
                handle(Decoded::Error(error))?;
                SendOutcome::Sent
            }
        };
        loop {
            // A decoder yielding frames without end must not outlast a stop.
            if stopping() {
                return Ok(Fed::Stopped);
            }
            match decoder.receive(frame) {
                Ok(DecodeOutcome::Frame) => handle(Decoded::Frame(frame))?,
                Ok(DecodeOutcome::Again | DecodeOutcome::Eof) => break,
                Err(error) => {
                    handle(Decoded::Error(error))?;
                    break;
                }
            }
        }
        // `Again`: the decoder was full; its frames are out now, send again.
        if sent != SendOutcome::Again {
            return Ok(Fed::Done);
        }
    }
    Ok(Fed::GaveUp)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::error::ErrorKind;

    /// Without end.
    const FOREVER: u32 = u32::MAX;

    /// A scripted decoder: `send` answers "full" `full_sends` times (FOREVER:
    /// always) and then takes the packet; `receive` gives `frames_per_round`
    /// frames (FOREVER: endless) after each send, then needs more input.
    struct Scripted {
        full_sends: u32,
        frames_per_round: u32,
        send_calls: u32,
        left_in_round: u32,
    }

    impl Scripted {
        fn new(full_sends: u32, frames_per_round: u32) -> Self {
            Self {
                full_sends,
                frames_per_round,
                send_calls: 0,
                left_in_round: 0,
            }
        }
    }

    impl PacketDecoder for Scripted {
        type Packet = ();
        type Frame = u32;

        fn send(&mut self, _: &()) -> Result<SendOutcome> {
            let full = self.full_sends == FOREVER || self.send_calls < self.full_sends;
            self.send_calls += 1;
            self.left_in_round = self.frames_per_round;
            Ok(if full {
                SendOutcome::Again
            } else {
                SendOutcome::Sent
            })
        }

        fn receive(&mut self, frame: &mut u32) -> Result<DecodeOutcome> {
            if self.left_in_round == 0 {
                return Ok(DecodeOutcome::Again);
            }
            if self.frames_per_round != FOREVER {
                self.left_in_round -= 1;
            }
            *frame = frame.wrapping_add(1);
            Ok(DecodeOutcome::Frame)
        }
    }

    /// Runs `feed` on its own thread, so that a loop that never ends fails
    /// the test instead of hanging it; returns the outcome, the decoder and
    /// the frames handed out.
    fn feed_in_thread(
        mut decoder: Scripted,
        stop_after_frames: Option<u32>,
    ) -> (Result<Fed>, Scripted, u32) {
        let (done, result) = mpsc::channel();
        std::thread::spawn(move || {
            let stop = AtomicBool::new(false);
            let mut frame = 0;
            let mut frames = 0;
            let fed = feed(
                &mut decoder,
                &(),
                &mut frame,
                || stop.load(Ordering::Relaxed),
                |decoded| {
                    if let Decoded::Frame(_) = decoded {
                        frames += 1;
                        if stop_after_frames == Some(frames) {
                            // Relaxed: read back on this same thread.
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    Ok(())
                },
            );
            let _ = done.send((fed, decoder, frames));
        });
        result
            .recv_timeout(Duration::from_secs(10))
            .expect("feed did not return within 10 s")
    }

    #[test]
    fn a_decoder_that_keeps_the_contract_takes_the_packet_on_the_second_send() {
        let decoder = Scripted::new(1, 2);
        let (fed, decoder, frames) = feed_in_thread(decoder, None);
        assert_eq!(fed.unwrap(), Fed::Done);
        assert_eq!((decoder.send_calls, frames), (2, 4));
    }

    #[test]
    fn a_decoder_that_is_always_full_is_given_up_on() {
        let (fed, decoder, _) = feed_in_thread(Scripted::new(FOREVER, 0), None);
        assert_eq!(fed.unwrap(), Fed::GaveUp);
        assert_eq!(decoder.send_calls, MAX_SEND_ROUNDS);
    }

    #[test]
    fn a_decoder_that_never_runs_dry_is_left_on_a_stop() {
        let (fed, _, frames) = feed_in_thread(Scripted::new(0, FOREVER), Some(100));
        assert_eq!((fed.unwrap(), frames), (Fed::Stopped, 100));
    }

    #[test]
    fn an_error_from_the_handler_ends_feeding() {
        let mut decoder = Scripted::new(0, 3);
        let fed = feed(
            &mut decoder,
            &(),
            &mut 0,
            || false,
            |_| Err(Error::new(ErrorKind::Decode, "refused")),
        );
        assert_eq!(fed.unwrap_err().kind(), ErrorKind::Decode);
    }
}
