//! One connection's life: open (with the configured RTSP client, see
//! [`super::source`]) → read → decode → judge each frame's damage and gate it
//! by the stream's [`OnDamage`] policy → convert straight into a slab slot →
//! commit with metadata, until the stream ends, stalls, fails or is stopped.
//! Only the packet source differs between the clients; everything from the
//! decoder on is this one path.

use std::time::{Duration, Instant, SystemTime};

use super::band_conversion::BandConversion;
use super::capture_clock::CaptureClock;
use super::config::{DecodeMode, OnDamage, SkipPolicy, StreamConfig};
use super::feed::{feed, Decoded, Fed, MAX_SEND_ROUNDS};
use super::frame_rate::FrameRateMeter;
use super::handle::StreamShared;
use super::lending::Lending;
use super::publisher::{DecoderWrites, Publisher};
use super::source::{self, Opened, PacketSource, Read, MIN_STALL};
use super::status::{Counters, StreamState};
use crate::convert::{Converter, Engine};
use crate::error::{Error, ErrorKind, Result};
use crate::ffmpeg::{
    decoded_in_place, ConnectStage, Decoder, Packet, Rational, VideoCodec, VideoFrame,
};
use crate::slab::{ContentRect, Damage, FrameInfo, StageTimes};

/// How a session ended (besides the stop request, every end leads to a reconnect
/// or a final state; the worker decides).
#[derive(Debug)]
pub(crate) enum SessionEnd {
    /// The stream was asked to stop.
    Stopped,
    /// The server closed the stream.
    Ended,
    /// No decoded frame for this long.
    Stalled(Duration),
    /// Opening or reading failed.
    Failed(Error),
}

/// Runs one session; returns how it ended and whether it published any frame.
/// `publisher` is the stream's end of its slab, made on the first frame ever
/// and kept across sessions.
pub(crate) fn run(
    shared: &StreamShared,
    started: Instant,
    publisher: &mut Publisher,
) -> (SessionEnd, bool) {
    let mut session = Session {
        shared,
        config: &shared.config,
        started,
        publisher,
        codec: String::new(),
        published: false,
        synced: false,
        references_damaged: false,
        packet_damaged: false,
        rtp_lost_seen: shared.interrupt.rtp_packets_lost(),
        media_sized: false,
        nth: 0,
        last_keyframe: None,
        gop: None,
        engine: None,
        capture_clock: CaptureClock::starting_now(),
        frame_rate: FrameRateMeter::default(),
        lending: None,
        bands: None,
        reorder_delay: 0,
    };
    let end = match session.stream() {
        _ if shared.is_stopping() => SessionEnd::Stopped,
        Ok(end) => end,
        Err(error) if error.kind() == ErrorKind::Stopped => SessionEnd::Stopped,
        Err(error) => SessionEnd::Failed(error),
    };
    (end, session.published)
}

struct Session<'a> {
    shared: &'a StreamShared,
    config: &'a StreamConfig,
    started: Instant,
    publisher: &'a mut Publisher,
    /// The codec this session decodes (FFmpeg's name).
    codec: String,
    published: bool,
    /// Whether this session's decoder has had a keyframe: frames before it
    /// have no reference at all and are never published.
    synced: bool,
    /// Whether a damaged picture (or lost data) came since the last clean
    /// keyframe: the frames decoded now may refer to it.
    references_damaged: bool,
    /// Whether the packet being decoded lost data on its way (an RTP sequence
    /// gap noticed while reading it, or the demuxer's corrupt flag).
    packet_damaged: bool,
    /// The interrupt's RTP-loss count when last read.
    rtp_lost_seen: u64,
    /// Frames seen by the `EveryNth` skip policy.
    nth: u64,
    last_keyframe: Option<Instant>,
    /// The last interval between two keyframes.
    gop: Option<Duration>,
    /// The engine that converted the last published frame (logged when it changes).
    engine: Option<Engine>,
    /// Whether the status shows the source's frame size.
    media_sized: bool,
    /// Keeps the published capture times monotonic across camera clock steps.
    capture_clock: CaptureClock,
    /// Measures the delivered frame rate (the status' `measured_fps`).
    frame_rate: FrameRateMeter,
    /// Lending slab slots to the decoder, when the stream can decode in place.
    lending: Option<Lending>,
    /// Converting the decoder's bands into slab slots, when the stream can.
    bands: Option<BandConversion>,
    /// The decoder's reorder delay before the last packet.
    reorder_delay: usize,
}

/// What the decoded frame needs from its source to be stamped.
struct Timing<'s> {
    source: &'s dyn PacketSource,
    time_base: Rational,
}

impl Session<'_> {
    fn stream(&mut self) -> Result<SessionEnd> {
        let status = &self.shared.status;
        let read_timeout = source::read_timeout(self.config);
        let Opened {
            mut source,
            mut decoder,
            media,
            time_base,
        } = source::open(self.shared)?;
        self.start_writing(&mut decoder);
        self.shared
            .interrupt
            .set_stage(Some(ConnectStage::FirstFrame));
        self.codec.clone_from(&media.codec);
        // Without a probe the size may be unknown until the first frame.
        self.media_sized = media.width > 0 && media.height > 0;
        status.set_media(media);
        let mut packet = Packet::new()?;
        let mut frame = VideoFrame::new()?;
        // The `yuv` crate's SIMD converter for same-size yuv420p, swscale otherwise.
        let mut converter = Converter::new(self.config.scale_algorithm).with_fit(self.config.fit());
        let mut last_progress = Instant::now();
        // Whether `lowres_decoder` had its look at the first frame's size.
        let mut lowres_checked = false;
        loop {
            // Video progress decides, on every iteration: packets of another
            // stream (a track carrying several, like MPEG-TS over RTP, or a
            // track set up anyway) re-arm the read deadline and must not keep
            // a dead video alive.
            let stall = self.stall_timeout();
            if last_progress.elapsed() > stall {
                status.set_state(StreamState::Stalled);
                return Ok(SessionEnd::Stalled(stall));
            }
            let (received, lost, corrupt) = match source.read(&mut packet) {
                Ok(Read::Video {
                    received,
                    lost,
                    corrupt,
                }) => (received, lost, corrupt),
                Ok(Read::Other) => {
                    Counters::add(&status.counters.bytes_in, packet.size() as u64);
                    continue;
                }
                Ok(Read::Again) => continue,
                Ok(Read::Eof) => return Ok(SessionEnd::Ended),
                Err(error) if error.kind() == ErrorKind::Timeout => {
                    status.set_state(StreamState::Stalled);
                    return Ok(SessionEnd::Stalled(read_timeout));
                }
                Err(error) => return Err(error),
            };
            Counters::add(&status.counters.bytes_in, packet.size() as u64);
            self.packet_damaged = self.note_rtp_loss(lost) || corrupt;
            let timing = Timing {
                source: source.as_ref(),
                time_base,
            };
            if let Some(lending) = &mut self.lending {
                lending.offer(self.publisher, status);
            }
            if let Some(bands) = &self.bands {
                bands.offer(self.publisher);
            }
            self.reorder_delay = decoder.reorder_delay();
            if self.decode(
                &mut decoder,
                &packet,
                &mut frame,
                &mut converter,
                &timing,
                received,
            )? {
                last_progress = received;
                if !lowres_checked {
                    lowres_checked = true;
                    if let Some(replacement) = self.lowres_decoder(&decoder, time_base)? {
                        decoder = replacement;
                        self.start_writing(&mut decoder);
                    }
                }
            }
        }
    }

    /// Lets `decoder` write straight into slab slots, as the stream allows:
    /// decoding into them, or converting its bands into them.
    fn start_writing(&mut self, decoder: &mut Decoder) {
        self.lending = Lending::start(self.config, decoder);
        self.bands = match self.lending {
            Some(_) => None,
            None => BandConversion::start(self.config, decoder),
        };
    }

    /// How the decoder writes into the slab, if it does.
    fn decoder_writes(&self) -> Option<DecoderWrites> {
        match (&self.lending, &self.bands) {
            (Some(lending), _) => lending.asked().map(DecoderWrites::Pictures),
            (None, Some(_)) => Some(DecoderWrites::Bands {
                reorder_delay: self.reorder_delay,
            }),
            (None, None) => None,
        }
    }

    /// For `decode = "fast"` MJPEG scaled down by `resize` whose size the SDP
    /// did not give (so the decoder was opened without `lowres`): once the
    /// first frame showed the size, a decoder at the reduced size. Every JPEG
    /// frame stands alone, so the switch loses nothing.
    fn lowres_decoder(&self, decoder: &Decoder, time_base: Rational) -> Result<Option<Decoder>> {
        let status = &self.shared.status;
        let Some(mut media) = status.record().media.clone() else {
            return Ok(None);
        };
        let fast = self.config.decode == DecodeMode::Fast;
        let factor = source::lowres_for((media.width, media.height), self.config.resize);
        if !fast || decoder.name() != "mjpeg" || decoder.lowres() != 0 || factor == 0 {
            return Ok(None);
        }
        let options = source::decoder_options(self.config, (media.width, media.height));
        let replacement = Decoder::for_codec(VideoCodec::Mjpeg, &[], time_base, &options)?;
        media.lowres = replacement.lowres();
        status.set_media(media);
        Ok(Some(replacement))
    }

    /// Counts the RTP packets lost since the last call (`reported` by the
    /// source with the packet, plus those FFmpeg's log told the interrupt);
    /// whether there were any. FFmpeg notices a gap while it reads the
    /// packets after it, so the loss is pinned on the packet being read then.
    fn note_rtp_loss(&mut self, reported: u64) -> bool {
        let logged = self.shared.interrupt.rtp_packets_lost();
        let new = logged.saturating_sub(self.rtp_lost_seen) + reported;
        self.rtp_lost_seen = logged;
        if new > 0 {
            Counters::add(&self.shared.status.counters.rtp_packets_lost, new);
        }
        new > 0
    }

    /// Max(3 s, two GOPs), unless configured.
    fn stall_timeout(&self) -> Duration {
        self.config
            .stall_timeout
            .unwrap_or_else(|| self.gop.map_or(MIN_STALL, |gop| (gop * 2).max(MIN_STALL)))
    }

    /// Sends one packet and handles every frame it yields; returns whether any
    /// frame came out of the decoder.
    #[allow(clippy::too_many_arguments)]
    fn decode(
        &mut self,
        decoder: &mut Decoder,
        packet: &Packet,
        frame: &mut VideoFrame,
        converter: &mut Converter,
        timing: &Timing<'_>,
        received: Instant,
    ) -> Result<bool> {
        let shared = self.shared;
        let mut progressed = false;
        let fed = feed(
            decoder,
            packet,
            frame,
            || shared.is_stopping(),
            |decoded| match decoded {
                Decoded::Frame(frame) => {
                    progressed = true;
                    Counters::add(&shared.status.counters.decoded, 1);
                    self.on_frame(frame, converter, timing, (received, Instant::now()))
                }
                Decoded::Error(error) => {
                    self.decode_error(&error);
                    Ok(())
                }
            },
        )?;
        match fed {
            Fed::Done => {}
            Fed::GaveUp => {
                let error = Error::new(
                    ErrorKind::Decode,
                    format!(
                        "the decoder answered \"full\" {MAX_SEND_ROUNDS} times with no frame \
                         to give (it breaks FFmpeg's EAGAIN contract); packet dropped"
                    ),
                );
                tracing::warn!(stream = %shared.status.id, "{error}");
                self.decode_error(&error);
            }
            Fed::Stopped => return Err(Error::new(ErrorKind::Stopped, "stopped while decoding")),
        }
        Ok(progressed)
    }

    fn decode_error(&mut self, error: &Error) {
        tracing::debug!(stream = %self.shared.status.id, "decode error: {error}");
        Counters::add(&self.shared.status.counters.decode_errors, 1);
        self.references_damaged = true;
    }

    /// How intact `frame` is, from the decoder's error flags, the packet's
    /// losses and the references' state; updates that state.
    fn judge(&mut self, frame: &VideoFrame) -> Damage {
        let flagged = frame.is_corrupt() || frame.decode_error_flags() != 0;
        let damage = if flagged || self.packet_damaged {
            Damage::Concealed
        } else if self.references_damaged && !frame.is_key() {
            Damage::DamagedReference
        } else {
            Damage::Clean
        };
        // A clean keyframe resets the references; anything damaged taints them.
        self.references_damaged = damage.is_damaged();
        damage
    }

    fn on_frame(
        &mut self,
        frame: &VideoFrame,
        converter: &mut Converter,
        timing: &Timing<'_>,
        (received, decoded): (Instant, Instant),
    ) -> Result<()> {
        let status = &self.shared.status;
        let keyframe = frame.is_key();
        let pts = frame.best_effort_timestamp();
        if let Some(fps) = self.frame_rate.observe(pts, timing.time_base) {
            status.set_measured_fps(fps);
        }
        if !self.media_sized {
            self.media_sized = true;
            if let Some(mut media) = status.record().media.clone() {
                (media.width, media.height) = (frame.width(), frame.height());
                status.set_media(media);
            }
        }
        // Taken for every frame, published or not, so that its slot is free
        // again when it is not.
        let converted = self.bands.as_ref().and_then(|bands| bands.take(frame));
        let writes = self.decoder_writes();
        self.publisher
            .observe(self.shared, &self.codec, frame, writes);
        if keyframe {
            let now = Instant::now();
            if let Some(previous) = self.last_keyframe.replace(now) {
                self.gop = Some(now - previous);
            }
        }
        // Damage gating: nothing before the session's first keyframe; after
        // that, `Hold` publishes only clean frames (after damage, nothing until
        // a clean keyframe resets the references), `Flag` publishes all, flagged.
        self.synced |= keyframe;
        let damage = self.judge(frame);
        if !self.synced || (damage.is_damaged() && self.config.on_damage == OnDamage::Hold) {
            Counters::add(&status.counters.corrupt, 1);
            return Ok(());
        }
        if let SkipPolicy::EveryNth(n) = self.config.skip {
            let take = self.nth.is_multiple_of(u64::from(n.get()));
            self.nth += 1;
            if !take {
                Counters::add(&status.counters.skipped, 1);
                return Ok(());
            }
        }
        let raw_capture = pts.and_then(|pts| timing.source.capture_time(pts));
        let capture_time = self.capture_time(raw_capture, received);
        let producer = match self.publisher.producer(self.shared, frame, writes) {
            Ok(producer) => producer,
            Err(error) => {
                Counters::add(&status.counters.no_slab, 1);
                return Err(error);
            }
        };
        let info = |converted: Instant| FrameInfo {
            pts_ns: pts.and_then(|pts| to_nanos(pts, timing.time_base)),
            capture_time,
            received,
            keyframe,
            damage,
            stages: StageTimes {
                decoded: Some(decoded),
                converted: Some(converted),
            },
        };
        let target = producer.layout().format();
        // Decoded into a lent slot: published where it lies. The "converted"
        // stage is then the moment it was ready, the decode's end.
        let content = ContentRect::full(frame.width(), frame.height());
        let in_place = decoded_in_place(frame, producer.layout())
            .and_then(|pixels| producer.commit_lent(pixels, content, info(decoded)));
        // Error concealment rewrites rows after their bands: a concealed
        // picture is converted again from the whole picture.
        let banded = converted
            .filter(|_| in_place.is_none() && damage != Damage::Concealed)
            .and_then(|lease| {
                let info = info(Instant::now());
                // A lease of a slab the stream left is dropped: converted again.
                producer
                    .commit_conversion(lease, content, info)
                    .ok()
                    .map(|_| info.stages)
            });
        let (engine, stages) = if in_place.is_some() {
            Counters::add(&status.counters.decoded_in_place, 1);
            (Engine::InPlace, info(decoded).stages)
        } else if let Some(stages) = banded {
            Counters::add(&status.counters.converted_in_bands, 1);
            (Engine::InBands, stages)
        } else {
            // A refused frame is counted by the slab under its reason, and so
            // is one abandoned by a failed conversion (the writer's drop
            // counts it).
            let Ok(mut slot) = producer.begin() else {
                return Ok(());
            };
            let engine = converter.convert_into(frame, &mut slot)?;
            let info = info(Instant::now());
            let _ = slot.commit(info);
            (engine, info.stages)
        };
        if self.engine.replace(engine) != Some(engine) {
            tracing::debug!(
                stream = %status.id,
                source = frame.pixel_format_name().unwrap_or("unknown"),
                %target,
                "converting with {engine}"
            );
        }
        status.frame_published(received, stages);
        if damage.is_damaged() {
            Counters::add(&status.counters.damaged, 1);
        }
        if let Some(frames) = self.config.panic_after {
            // Relaxed: this thread wrote the counter; no other memory rides on it.
            if status
                .counters
                .published
                .load(std::sync::atomic::Ordering::Relaxed)
                >= frames
            {
                panic!("injected panic after {frames} frames (StreamConfig::inject_panic_after)");
            }
        }
        if !self.published {
            self.published = true;
            status.first_frame(self.started.elapsed());
            status.set_state(StreamState::Streaming);
        }
        Ok(())
    }
}

impl Session<'_> {
    /// The source's capture time `raw` of a frame received at `received`,
    /// re-anchored by the session's [`CaptureClock`]; a step is counted and logged.
    fn capture_time(&mut self, raw: Option<SystemTime>, received: Instant) -> Option<SystemTime> {
        let (time, step) = self.capture_clock.stamp(raw, received);
        if let Some(step) = step {
            Counters::add(&self.shared.status.counters.clock_steps, 1);
            tracing::debug!(
                stream = %self.shared.status.id,
                jump_ms = step.jump_ns / 1_000_000,
                "the camera's capture clock stepped; re-anchored to the receive time"
            );
        }
        time
    }
}

/// `value` time-base units in nanoseconds.
fn to_nanos(value: i64, time_base: Rational) -> Option<i64> {
    if time_base.den == 0 {
        return None;
    }
    let nanos =
        i128::from(value) * i128::from(time_base.num) * 1_000_000_000 / i128::from(time_base.den);
    i64::try_from(nanos).ok()
}

/// `start` moved by `offset` time-base units (either way).
pub(crate) fn offset_time(
    start: SystemTime,
    offset: i64,
    time_base: Rational,
) -> Option<SystemTime> {
    let nanos = to_nanos(offset, time_base)?;
    if nanos >= 0 {
        start.checked_add(Duration::from_nanos(nanos.unsigned_abs()))
    } else {
        start.checked_sub(Duration::from_nanos(nanos.unsigned_abs()))
    }
}
