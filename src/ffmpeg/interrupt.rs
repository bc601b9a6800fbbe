//! The deadline and stop flag that bound every blocking FFmpeg call, and the
//! `AVIOInterruptCB` that FFmpeg polls (about every 100 ms while it waits on a
//! socket, and between protocol steps).
//!
//! One [`Interrupt`] is shared (`Arc`) between the stream's worker, which
//! [`arm`](Interrupt::arm)s it before each blocking call, and whoever may stop
//! the stream from another thread ([`stop`](Interrupt::stop)). When the callback
//! makes FFmpeg give up it records why, so the resulting error is
//! [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) or
//! [`ErrorKind::Stopped`](crate::ErrorKind::Stopped) rather than FFmpeg's
//! generic "Immediate exit requested".
//!
//! The interrupt also records what the call it bounds is waiting for
//! ([`ConnectStage`], see [`super::stage`]), and since when.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::stage::ConnectStage;

/// Why the callback interrupted a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interruption {
    /// The armed deadline passed; the duration it was armed with.
    Deadline(Duration),
    /// The stop flag was set.
    Stop,
}

/// `fired` values.
const FIRED_NONE: u8 = 0;
const FIRED_DEADLINE: u8 = 1;
const FIRED_STOP: u8 = 2;

/// A per-call deadline and a stop flag that FFmpeg polls while it blocks.
///
/// One interrupt bounds one [`Input`](super::Input) at a time (a reconnect
/// drops the old input before opening the next): the deadline is a single value
/// that each call re-arms. The stop flag may be shared more widely.
///
/// ```
/// use std::time::Duration;
/// use rtsp_ingest::ffmpeg::Interrupt;
///
/// let interrupt = Interrupt::new();
/// interrupt.arm(Duration::from_secs(5)); // before each blocking call
/// assert!(!interrupt.is_stopped());
/// interrupt.stop(); // from any thread: the blocked call returns `Stopped`
/// assert!(interrupt.is_stopped());
/// ```
#[derive(Debug)]
pub struct Interrupt {
    /// The instant deadlines are measured from.
    base: Instant,
    /// The current call's deadline in nanoseconds after `base`, plus one so that
    /// 0 means "no deadline" (a deadline at `base` itself is stored as 1).
    deadline: AtomicU64,
    /// The timeout the current deadline was armed with, in nanoseconds (for the
    /// error message).
    armed_for: AtomicU64,
    /// Set by [`stop`](Self::stop); never cleared except by
    /// [`resume`](Self::resume).
    stop: AtomicBool,
    /// Why the callback last returned "interrupt": `FIRED_NONE`, `FIRED_DEADLINE`
    /// or `FIRED_STOP`. Cleared by `arm` and read by the error mapping.
    fired: AtomicU8,
    /// What the current connection attempt waits for and since when, packed in
    /// one word so that readers never see one without the other: the
    /// [`ConnectStage::code`] in the top 8 bits (0 = none), the microseconds
    /// from `base` to the stage's start in the low 56 (2^56 µs is 2,000 years).
    stage: AtomicU64,
    /// RTP packets the RTP demuxer of the input this interrupt bounds found
    /// missing (its "RTP: missed N packets", see [`super::stage`]), summed over
    /// every input it has bounded; only grows.
    rtp_lost: AtomicU64,
    /// The status of the last RTSP answer the attempt got, with the stage it
    /// answered: the [`ConnectStage::code`] in bits 16..24, the status code in
    /// the low 16 (0 = no answer yet). Cleared by [`Input::open`](super::Input::open).
    answer: AtomicU32,
}

/// The low bits of `Interrupt::stage`: microseconds since `base`.
const STAGE_SINCE_MASK: u64 = (1 << 56) - 1;

impl Default for Interrupt {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            deadline: AtomicU64::new(0),
            armed_for: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            fired: AtomicU8::new(FIRED_NONE),
            stage: AtomicU64::new(0),
            rtp_lost: AtomicU64::new(0),
            answer: AtomicU32::new(0),
        }
    }
}

impl Interrupt {
    /// A shared interrupt with no deadline and the stop flag clear.
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self::default())
    }

    /// Bounds the next blocking call: FFmpeg gives up `timeout` from now.
    /// Also forgets why a previous call was interrupted.
    pub fn arm(&self, timeout: Duration) {
        let since_base = self.base.elapsed().saturating_add(timeout);
        let nanos = u64::try_from(since_base.as_nanos()).unwrap_or(u64::MAX - 1);
        let armed_for = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        // Relaxed everywhere: these are plain values polled by the same thread
        // that makes the blocking call (FFmpeg calls the callback from inside it);
        // no other memory is published through them.
        self.fired.store(FIRED_NONE, Ordering::Relaxed);
        self.armed_for.store(armed_for, Ordering::Relaxed);
        self.deadline.store(nanos + 1, Ordering::Relaxed);
    }

    /// Removes the deadline (the stop flag still applies).
    pub fn disarm(&self) {
        // Relaxed: see `arm`.
        self.deadline.store(0, Ordering::Relaxed);
    }

    /// Asks every call bounded by this interrupt to give up as soon as FFmpeg
    /// next polls it (within about 100 ms), and every later call to fail at once.
    pub fn stop(&self) {
        // Relaxed: the flag carries no data; the worker only needs to see it
        // eventually, and atomics guarantee that.
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Clears the stop flag, so the same interrupt can bound a new session.
    pub fn resume(&self) {
        // Relaxed: see `stop`.
        self.stop.store(false, Ordering::Relaxed);
    }

    /// Whether [`stop`](Self::stop) was called (and not undone by `resume`).
    pub fn is_stopped(&self) -> bool {
        // Relaxed: see `stop`.
        self.stop.load(Ordering::Relaxed)
    }

    /// RTP packets found missing so far, over every input this interrupt has
    /// bounded (see [`super::InputOptions::reorder_queue_size`] for when FFmpeg
    /// can tell).
    pub fn rtp_packets_lost(&self) -> u64 {
        // Relaxed: a statistic, written by the worker's own FFmpeg calls (the
        // log callback runs inside them) and read by it after they return.
        self.rtp_lost.load(Ordering::Relaxed)
    }

    /// Adds `packets` to [`rtp_packets_lost`](Self::rtp_packets_lost).
    pub(crate) fn note_rtp_lost(&self, packets: u64) {
        // Relaxed: see `rtp_packets_lost`.
        self.rtp_lost.fetch_add(packets, Ordering::Relaxed);
    }

    /// Records that the attempt now waits for `stage` (from now on), or for
    /// nothing in particular (`None`).
    pub(crate) fn set_stage(&self, stage: Option<ConnectStage>) {
        let word = stage.map_or(0, |stage| {
            let since = u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX);
            (u64::from(stage.code()) << 56) | (since & STAGE_SINCE_MASK)
        });
        // Relaxed: the word is self-contained (stage and start together) and
        // publishes no other memory; readers only need to see it eventually.
        self.stage.store(word, Ordering::Relaxed);
    }

    /// What the current connection attempt waits for, and for how long it has.
    pub fn stage(&self) -> Option<(ConnectStage, Duration)> {
        // Relaxed: see `set_stage`.
        let word = self.stage.load(Ordering::Relaxed);
        let stage = ConnectStage::from_code(u8::try_from(word >> 56).unwrap_or(0))?;
        let since = Duration::from_micros(word & STAGE_SINCE_MASK);
        Some((stage, self.base.elapsed().saturating_sub(since)))
    }

    /// Records the status code of an RTSP answer, with the stage (the request)
    /// it answered; `None` forgets the last one.
    pub(crate) fn set_answer(&self, answer: Option<(ConnectStage, u16)>) {
        let word = answer.map_or(0, |(stage, status)| {
            (u32::from(stage.code()) << 16) | u32::from(status)
        });
        // Relaxed: a self-contained word written and read by the worker's own
        // thread (FFmpeg logs from inside the call the worker made).
        self.answer.store(word, Ordering::Relaxed);
    }

    /// The last RTSP answer of this attempt: the stage it answered and its
    /// status code.
    pub(crate) fn answer(&self) -> Option<(ConnectStage, u16)> {
        // Relaxed: see `set_answer`.
        let word = self.answer.load(Ordering::Relaxed);
        let stage = ConnectStage::from_code(u8::try_from(word >> 16).unwrap_or(0))?;
        Some((stage, u16::try_from(word & 0xffff).unwrap_or(0)))
    }

    /// Whether FFmpeg should give up now; records why.
    fn should_interrupt(&self) -> bool {
        // Relaxed loads and stores: see `arm` and `stop`.
        if self.stop.load(Ordering::Relaxed) {
            self.fired.store(FIRED_STOP, Ordering::Relaxed);
            return true;
        }
        let deadline = self.deadline.load(Ordering::Relaxed);
        if deadline == 0 {
            return false;
        }
        let now = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        if now + 1 >= deadline {
            self.fired.store(FIRED_DEADLINE, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Whether the callback interrupted a call since the last `arm` (without
    /// clearing it).
    pub(crate) fn has_fired(&self) -> bool {
        // Relaxed: see `arm`.
        self.fired.load(Ordering::Relaxed) != FIRED_NONE
    }

    /// Why the last interrupted call was interrupted, if it was; clears it.
    pub(crate) fn take_fired(&self) -> Option<Interruption> {
        // Relaxed: see `arm`.
        match self.fired.swap(FIRED_NONE, Ordering::Relaxed) {
            FIRED_DEADLINE => Some(Interruption::Deadline(Duration::from_nanos(
                self.armed_for.load(Ordering::Relaxed),
            ))),
            FIRED_STOP => Some(Interruption::Stop),
            _ => None,
        }
    }

    /// The value for `AVIOInterruptCB::opaque`: a borrowed pointer to `self`.
    /// The caller keeps an `Arc` to this interrupt for as long as FFmpeg may call
    /// [`callback`].
    pub(crate) fn as_opaque(&self) -> *mut c_void {
        std::ptr::from_ref(self).cast_mut().cast()
    }
}

/// [`callback`] as a function pointer, to recognise contexts bounded by an
/// [`Interrupt`].
pub(crate) const CALLBACK: unsafe extern "C" fn(*mut c_void) -> c_int = callback;

/// The `AVIOInterruptCB::callback`: non-zero tells FFmpeg to abort the blocking
/// operation with `AVERROR_EXIT`.
///
/// # Safety
/// `opaque` is null or a pointer from [`Interrupt::as_opaque`] whose
/// `Interrupt` is still alive (the owner of the FFmpeg context holds an `Arc`).
pub(crate) unsafe extern "C" fn callback(opaque: *mut c_void) -> c_int {
    // SAFETY: the caller guarantees a live `Interrupt` or null; we only take a
    // shared reference, and every field is an atomic or immutable.
    let Some(interrupt) = (unsafe { opaque.cast::<Interrupt>().as_ref() }) else {
        return 0;
    };
    c_int::from(interrupt.should_interrupt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(interrupt: &Interrupt) -> c_int {
        // SAFETY: `interrupt` is alive for the whole call.
        unsafe { callback(interrupt.as_opaque()) }
    }

    #[test]
    fn no_deadline_never_fires() {
        let interrupt = Interrupt::new();
        assert_eq!(poll(&interrupt), 0);
        assert_eq!(interrupt.take_fired(), None);
        // SAFETY: null is allowed.
        assert_eq!(unsafe { callback(std::ptr::null_mut()) }, 0);
    }

    #[test]
    fn deadline_fires_after_its_time_and_says_so() {
        let interrupt = Interrupt::new();
        interrupt.arm(Duration::from_millis(30));
        assert_eq!(poll(&interrupt), 0);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(poll(&interrupt), 1);
        assert_eq!(
            interrupt.take_fired(),
            Some(Interruption::Deadline(Duration::from_millis(30)))
        );
        assert_eq!(interrupt.take_fired(), None);
        interrupt.disarm();
        assert_eq!(poll(&interrupt), 0);
        interrupt.arm(Duration::ZERO);
        assert_eq!(poll(&interrupt), 1);
    }

    #[test]
    fn the_stage_comes_with_its_age() {
        let interrupt = Interrupt::new();
        assert_eq!(interrupt.stage(), None);
        interrupt.set_stage(Some(ConnectStage::Describe));
        std::thread::sleep(Duration::from_millis(30));
        let (stage, age) = interrupt.stage().unwrap();
        assert_eq!(stage, ConnectStage::Describe);
        assert!(
            age >= Duration::from_millis(30) && age < Duration::from_secs(5),
            "{age:?}"
        );
        interrupt.set_stage(Some(ConnectStage::Setup));
        assert!(interrupt.stage().unwrap().1 < Duration::from_millis(30));
        interrupt.set_stage(None);
        assert_eq!(interrupt.stage(), None);
    }

    #[test]
    fn stop_wins_over_the_deadline_and_can_be_undone() {
        let interrupt = Interrupt::new();
        interrupt.arm(Duration::from_secs(60));
        interrupt.stop();
        assert_eq!(poll(&interrupt), 1);
        assert_eq!(interrupt.take_fired(), Some(Interruption::Stop));
        interrupt.resume();
        assert_eq!(poll(&interrupt), 0);
    }
}
