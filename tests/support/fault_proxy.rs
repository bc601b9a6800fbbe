//! Fault-injecting TCP proxy for RTSP tests (std only, threads).
//!
//! Include with `#[path = "support/fault_proxy.rs"] mod fault_proxy;`.
//!
//! ```ignore
//! let proxy = FaultProxy::start(server.addr());
//! let url = proxy.url("/h264");            // point the client here
//! proxy.set_fault(Fault::Stall);           // switch at any time
//! proxy.cut_all();                         // drop every live connection now
//! ```
//!
//! Only the RTSP TCP connection goes through the proxy. With RTP over UDP the media
//! bypasses it (only RTSP control is affected), so media faults (`Stall`, `Corrupt`) need
//! the client to use interleaved TCP (`rtsp_transport=tcp`).
//!
//! Faults and what they do to **existing** and **new** connections:
//!
//! | fault          | existing connections                    | new connections                      |
//! |----------------|-----------------------------------------|--------------------------------------|
//! | `PassThrough`  | forward both ways                       | forward both ways                    |
//! | `Stall`        | server->client bytes no longer read/sent (socket stays open, TCP backpressure reaches the server); client->server still forwarded; resumes when the fault is cleared | same (so the client gets no reply) |
//! | `BlackHole`    | like `Stall`, client->server discarded  | accepted, never answered, no upstream connection |
//! | `Garbage`      | server->client bytes replaced by random bytes | accepted, every request answered with non-RTSP garbage |
//! | `Corrupt(c)`   | random byte flips in server->client data per [`Corruption`] | same |
//! | `DropRtp(l)`   | whole interleaved RTP packets (`$` frames on even channels) removed per [`RtpLoss`]; RTSP and RTCP intact | same |
//!
//! Plus [`FaultProxy::cut_all`] (shutdown every live connection), [`FaultProxy::refuse_new_for`]
//! (close the listening socket so connects get ECONNREFUSED, re-listen on the same port later)
//! and [`FaultProxy::cut_all_and_refuse_for`] (a camera reboot).
//!
//! Every thread polls a stop flag at least every ~20-100 ms; dropping the proxy closes all
//! sockets and joins all threads.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(20);
const WRITE_TIMEOUT: Duration = Duration::from_millis(100);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_RTSP_HEAD: usize = 64 * 1024;

/// What the proxy does to traffic. See the module docs for the full table.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Forward everything.
    PassThrough,
    /// Stop forwarding server->client bytes, keep sockets open.
    Stall,
    /// Accept and never answer.
    BlackHole,
    /// Answer with non-RTSP garbage.
    Garbage,
    /// Flip random bytes of the server->client stream.
    Corrupt(Corruption),
    /// Remove whole interleaved RTP packets, as a camera whose TCP send buffer
    /// overflowed does: the client sees RTP sequence gaps, never broken framing.
    DropRtp(RtpLoss),
}

/// Packet loss parameters for [`Fault::DropRtp`].
#[derive(Clone, Debug, PartialEq)]
pub struct RtpLoss {
    /// Probability that an interleaved RTP packet (even channel) is dropped.
    pub probability: f64,
    /// RNG seed; restarts on every connection and whenever the fault is set.
    pub seed: u64,
}

impl RtpLoss {
    /// Drop each RTP packet with `probability`.
    pub fn new(probability: f64) -> RtpLoss {
        RtpLoss {
            probability,
            seed: 0x5eed_1234_abcd_0003,
        }
    }
}

/// Byte corruption parameters for [`Fault::Corrupt`].
#[derive(Clone, Debug, PartialEq)]
pub struct Corruption {
    /// Probability that an eligible byte is XORed with a random non-zero value.
    pub probability: f64,
    /// Which bytes are eligible.
    pub scope: CorruptScope,
    /// RNG seed. The RNG restarts from it on every connection and whenever the fault is set,
    /// so with `RtpPayload` the corrupted positions are reproducible run to run.
    pub seed: u64,
}

impl Corruption {
    /// Corrupt RTP payload bytes of interleaved (`$`) RTP packets only: RTSP messages,
    /// RTP headers and RTCP stay intact, so the session survives and only media breaks.
    pub fn rtp_payload(probability: f64) -> Corruption {
        Corruption {
            probability,
            scope: CorruptScope::RtpPayload,
            seed: 0x5eed_1234_abcd_0001,
        }
    }
    /// Corrupt any server->client byte after the first `n` bytes of each connection
    /// (may break RTSP/interleaved framing too).
    pub fn after_bytes(n: u64, probability: f64) -> Corruption {
        Corruption {
            probability,
            scope: CorruptScope::AfterBytes(n),
            seed: 0x5eed_1234_abcd_0002,
        }
    }
    /// Same with another seed.
    pub fn with_seed(mut self, seed: u64) -> Corruption {
        self.seed = seed;
        self
    }
}

/// Which server->client bytes [`Corruption`] may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorruptScope {
    /// Payload (after the RTP header incl. CSRCs/extension) of interleaved RTP packets
    /// (even channels).
    RtpPayload,
    /// Everything after this many bytes of the connection.
    AfterBytes(u64),
}

/// Counter snapshot, see [`FaultProxy::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted (all faults).
    pub accepted: u64,
    /// Connections currently open.
    pub active: u64,
    /// Connections whose upstream connect failed (then closed).
    pub upstream_connect_failures: u64,
    /// Bytes forwarded client->server.
    pub bytes_client_to_server: u64,
    /// Bytes sent server->client (including corrupted ones; not garbage).
    pub bytes_server_to_client: u64,
    /// Bytes modified by `Corrupt`.
    pub bytes_corrupted: u64,
    /// Garbage bytes sent by `Garbage`.
    pub bytes_garbage: u64,
    /// Interleaved RTP packets (even channels) seen server->client.
    pub rtp_packets: u64,
    /// Of those, the ones `DropRtp` removed.
    pub rtp_packets_dropped: u64,
    /// Connections closed by `cut_all`.
    pub cut_connections: u64,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    upstream_connect_failures: AtomicU64,
    c2s: AtomicU64,
    s2c: AtomicU64,
    corrupted: AtomicU64,
    garbage: AtomicU64,
    cut: AtomicU64,
    rtp: AtomicU64,
    rtp_dropped: AtomicU64,
}

struct Conn {
    client: TcpStream,
    upstream: Mutex<Option<TcpStream>>,
    closed: AtomicBool,
}

impl Conn {
    fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.client.shutdown(Shutdown::Both);
        if let Some(u) = lock(&self.upstream).as_ref() {
            let _ = u.shutdown(Shutdown::Both);
        }
    }
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

struct Shared {
    target: SocketAddr,
    addr: SocketAddr,
    stop: AtomicBool,
    fault: Mutex<(Fault, u64)>, // (fault, generation)
    refuse_until: Mutex<Option<Instant>>,
    listening: AtomicBool,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    next_id: AtomicU64,
    c: Counters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
    fn fault(&self) -> (Fault, u64) {
        lock(&self.fault).clone()
    }
    fn spawn(self: &Arc<Self>, name: &str, f: impl FnOnce() + Send + 'static) {
        let h = thread::Builder::new()
            .name(name.to_owned())
            .spawn(f)
            .expect("fault_proxy: spawn thread");
        lock(&self.threads).push(h);
    }
}

/// The proxy. Listens on `127.0.0.1:<free port>`; dropping it stops everything.
pub struct FaultProxy {
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Start a pass-through proxy to `target`.
    pub fn start(target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("fault_proxy: bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("fault_proxy: set_nonblocking");
        let addr = listener.local_addr().expect("fault_proxy: local_addr");
        let shared = Arc::new(Shared {
            target,
            addr,
            stop: AtomicBool::new(false),
            fault: Mutex::new((Fault::PassThrough, 0)),
            refuse_until: Mutex::new(None),
            listening: AtomicBool::new(true),
            conns: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            c: Counters::default(),
        });
        let s = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name("fault-proxy-accept".into())
            .spawn(move || accept_loop(&s, Some(listener)))
            .expect("fault_proxy: spawn accept thread");
        FaultProxy {
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    /// Address to connect to (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `rtsp://127.0.0.1:port/path` through the proxy.
    pub fn url(&self, path: &str) -> String {
        format!(
            "rtsp://{}/{}",
            self.shared.addr,
            path.trim_start_matches('/')
        )
    }

    /// `rtsp://user:pass@127.0.0.1:port/path` through the proxy.
    pub fn url_with_credentials(&self, path: &str, user: &str, password: &str) -> String {
        format!(
            "rtsp://{user}:{password}@{}/{}",
            self.shared.addr,
            path.trim_start_matches('/')
        )
    }

    /// The upstream address.
    pub fn target(&self) -> SocketAddr {
        self.shared.target
    }

    /// Switch the fault; takes effect within ~20 ms for existing connections.
    pub fn set_fault(&self, fault: Fault) {
        let mut g = lock(&self.shared.fault);
        g.1 += 1;
        g.0 = fault;
    }

    /// Back to [`Fault::PassThrough`].
    pub fn clear_fault(&self) {
        self.set_fault(Fault::PassThrough);
    }

    /// The current fault.
    pub fn fault(&self) -> Fault {
        self.shared.fault().0
    }

    /// Shut down every live connection (both sides) now. New connections are still accepted.
    /// Returns how many were cut.
    pub fn cut_all(&self) -> usize {
        let conns: Vec<Arc<Conn>> = lock(&self.shared.conns).values().cloned().collect();
        let mut n = 0;
        for c in conns {
            if !c.is_closed() {
                c.close();
                n += 1;
            }
        }
        self.shared.c.cut.fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    /// Close the listening socket for `duration` (connects fail with ECONNREFUSED), then listen
    /// on the same port again. Existing connections are untouched. Returns once the listener
    /// is closed (at most ~2 s).
    pub fn refuse_new_for(&self, duration: Duration) {
        *lock(&self.shared.refuse_until) = Some(Instant::now() + duration);
        let t = Instant::now();
        while self.shared.listening.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(2) {
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// [`refuse_new_for`](Self::refuse_new_for) then [`cut_all`](Self::cut_all): the peer
    /// vanishes and reconnects are refused for `duration`.
    pub fn cut_all_and_refuse_for(&self, duration: Duration) -> usize {
        self.refuse_new_for(duration);
        self.cut_all()
    }

    /// Whether the proxy is currently listening (false during a refuse window).
    pub fn is_listening(&self) -> bool {
        self.shared.listening.load(Ordering::SeqCst)
    }

    /// Counter snapshot.
    pub fn stats(&self) -> ProxyStats {
        let c = &self.shared.c;
        let active = lock(&self.shared.conns)
            .values()
            .filter(|c| !c.is_closed())
            .count() as u64;
        ProxyStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            active,
            upstream_connect_failures: c.upstream_connect_failures.load(Ordering::Relaxed),
            bytes_client_to_server: c.c2s.load(Ordering::Relaxed),
            bytes_server_to_client: c.s2c.load(Ordering::Relaxed),
            bytes_corrupted: c.corrupted.load(Ordering::Relaxed),
            bytes_garbage: c.garbage.load(Ordering::Relaxed),
            rtp_packets: c.rtp.load(Ordering::Relaxed),
            rtp_packets_dropped: c.rtp_dropped.load(Ordering::Relaxed),
            cut_connections: c.cut.load(Ordering::Relaxed),
        }
    }

    /// Poll [`stats`](Self::stats) every 10 ms until `pred` holds (true) or `timeout` (false).
    pub fn wait_until(&self, timeout: Duration, pred: impl Fn(&ProxyStats) -> bool) -> bool {
        let t = Instant::now();
        loop {
            if pred(&self.stats()) {
                return true;
            }
            if t.elapsed() >= timeout {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for c in lock(&self.shared.conns).values() {
            c.close();
        }
        if let Some(h) = self.accept_thread.take() {
            let _ = h.join();
        }
        // Connection threads may still register their server->client pump; drain until empty.
        loop {
            let hs: Vec<JoinHandle<()>> = std::mem::take(&mut *lock(&self.shared.threads));
            if hs.is_empty() {
                break;
            }
            for c in lock(&self.shared.conns).values() {
                c.close();
            }
            for h in hs {
                let _ = h.join();
            }
        }
    }
}

fn accept_loop(shared: &Arc<Shared>, mut listener: Option<TcpListener>) {
    let mut bind_error_reported = false;
    let mut last_prune = Instant::now();
    while !shared.stopped() {
        let refusing = lock(&shared.refuse_until).is_some_and(|t| t > Instant::now());
        if refusing {
            if listener.take().is_some() {
                shared.listening.store(false, Ordering::SeqCst);
            }
            thread::sleep(Duration::from_millis(5));
            continue;
        }
        if listener.is_none() {
            match TcpListener::bind(shared.addr).and_then(|l| l.set_nonblocking(true).map(|()| l)) {
                Ok(l) => {
                    listener = Some(l);
                    *lock(&shared.refuse_until) = None;
                    shared.listening.store(true, Ordering::SeqCst);
                }
                Err(e) => {
                    if !bind_error_reported {
                        eprintln!(
                            "fault_proxy: cannot re-listen on {}: {e}; retrying",
                            shared.addr
                        );
                        bind_error_reported = true;
                    }
                    thread::sleep(POLL);
                    continue;
                }
            }
        }
        let l = listener.as_ref().expect("listener present");
        match l.accept() {
            Ok((stream, _)) => on_accept(shared, stream),
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(5)),
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
        if last_prune.elapsed() > Duration::from_millis(500) {
            last_prune = Instant::now();
            let mut ts = lock(&shared.threads);
            let (done, live): (Vec<_>, Vec<_>) = ts.drain(..).partition(|h| h.is_finished());
            *ts = live;
            drop(ts);
            for h in done {
                let _ = h.join();
            }
        }
    }
}

fn configure(s: &TcpStream) -> io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(POLL))?;
    s.set_write_timeout(Some(WRITE_TIMEOUT))?;
    Ok(())
}

fn on_accept(shared: &Arc<Shared>, stream: TcpStream) {
    shared.c.accepted.fetch_add(1, Ordering::Relaxed);
    if configure(&stream).is_err() {
        return;
    }
    let (fault, _) = shared.fault();
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let conn = Arc::new(Conn {
        client: stream,
        upstream: Mutex::new(None),
        closed: AtomicBool::new(false),
    });
    lock(&shared.conns).insert(id, Arc::clone(&conn));
    let s = Arc::clone(shared);
    shared.spawn("fault-proxy-conn", move || {
        match fault {
            Fault::BlackHole => black_hole(&s, &conn),
            Fault::Garbage => garbage_server(&s, &conn, id),
            _ => proxy_conn(&s, &conn),
        }
        conn.close();
        lock(&s.conns).remove(&id);
    });
}

/// Reads into `buf`; Ok(None) on timeout, Ok(Some(0)) on EOF.
fn read_poll(mut s: &TcpStream, buf: &mut [u8]) -> io::Result<Option<usize>> {
    match s.read(buf) {
        Ok(n) => Ok(Some(n)),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn write_all_bounded(
    mut s: &TcpStream,
    mut data: &[u8],
    shared: &Shared,
    conn: &Conn,
) -> io::Result<()> {
    while !data.is_empty() {
        if shared.stopped() || conn.is_closed() {
            return Err(io::Error::new(
                ErrorKind::ConnectionAborted,
                "proxy closing",
            ));
        }
        match s.write(data) {
            Ok(0) => return Err(io::Error::new(ErrorKind::WriteZero, "write returned 0")),
            Ok(n) => data = &data[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn black_hole(shared: &Shared, conn: &Conn) {
    let mut buf = [0u8; 4096];
    while !shared.stopped() && !conn.is_closed() {
        match read_poll(&conn.client, &mut buf) {
            Ok(Some(0)) | Err(_) => return,
            _ => {}
        }
    }
}

fn garbage_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| (rng.next() >> 56) as u8).collect()
}

fn garbage_server(shared: &Shared, conn: &Conn, id: u64) {
    let mut rng = Rng::new(0x6a72_6261_6765_0000 ^ id);
    let mut buf = [0u8; 4096];
    while !shared.stopped() && !conn.is_closed() {
        match read_poll(&conn.client, &mut buf) {
            Ok(Some(0)) | Err(_) => return,
            Ok(None) => {}
            Ok(Some(_)) => {
                // Not RTSP: no "RTSP/1.0" status line; binary junk, then a blank line so
                // line-oriented parsers see a complete (bogus) reply instead of waiting.
                let mut g = b"\x00\xff\xfeGARBAGE-NOT-RTSP \x01\x02\x03".to_vec();
                g.extend(garbage_bytes(&mut rng, 256).into_iter().map(|b| {
                    if b == b'\n' || b == b'\r' {
                        b'#'
                    } else {
                        b
                    }
                }));
                g.extend_from_slice(b"\r\n\r\n");
                shared
                    .c
                    .garbage
                    .fetch_add(g.len() as u64, Ordering::Relaxed);
                if write_all_bounded(&conn.client, &g, shared, conn).is_err() {
                    return;
                }
            }
        }
    }
}

fn proxy_conn(shared: &Arc<Shared>, conn: &Arc<Conn>) {
    let upstream = match TcpStream::connect_timeout(&shared.target, CONNECT_TIMEOUT) {
        Ok(u) => u,
        Err(_) => {
            shared
                .c
                .upstream_connect_failures
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    if configure(&upstream).is_err() {
        return;
    }
    let up2 = match upstream.try_clone() {
        Ok(u) => u,
        Err(_) => return,
    };
    {
        let mut g = lock(&conn.upstream);
        if conn.is_closed() || shared.stopped() {
            let _ = upstream.shutdown(Shutdown::Both);
            return;
        }
        *g = Some(up2);
    }
    let (s, c) = (Arc::clone(shared), Arc::clone(conn));
    let up_read = match upstream.try_clone() {
        Ok(u) => u,
        Err(_) => return,
    };
    shared.spawn("fault-proxy-s2c", move || {
        server_to_client(&s, &c, &up_read);
        c.close();
    });
    client_to_server(shared, conn, &upstream);
}

fn client_to_server(shared: &Shared, conn: &Conn, upstream: &TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    while !shared.stopped() && !conn.is_closed() {
        let n = match read_poll(&conn.client, &mut buf) {
            Ok(Some(0)) | Err(_) => return,
            Ok(None) => continue,
            Ok(Some(n)) => n,
        };
        if matches!(shared.fault().0, Fault::BlackHole) {
            continue; // swallowed
        }
        if write_all_bounded(upstream, &buf[..n], shared, conn).is_err() {
            return;
        }
        shared.c.c2s.fetch_add(n as u64, Ordering::Relaxed);
    }
}

fn server_to_client(shared: &Shared, conn: &Conn, upstream: &TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut framing = Framing::default();
    let mut total: u64 = 0;
    let mut rng = Rng::new(1);
    let mut rng_gen = u64::MAX;
    // The interleaved frame being held back until `DropRtp` decides on it.
    let mut frame: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::with_capacity(buf.len());
    while !shared.stopped() && !conn.is_closed() {
        let (fault, gen) = shared.fault();
        if matches!(fault, Fault::Stall | Fault::BlackHole) {
            thread::sleep(POLL);
            continue;
        }
        let n = match read_poll(upstream, &mut buf) {
            Ok(Some(0)) | Err(_) => return,
            Ok(None) => continue,
            Ok(Some(n)) => n,
        };
        if !matches!(fault, Fault::DropRtp(_)) && !frame.is_empty() {
            // `DropRtp` was cleared mid-frame: what it held back goes first.
            if write_all_bounded(&conn.client, &frame, shared, conn).is_err() {
                return;
            }
            frame.clear();
        }
        let mut data = &mut buf[..n];
        match &fault {
            Fault::DropRtp(loss) => {
                if rng_gen != gen {
                    rng = Rng::new(loss.seed);
                    rng_gen = gen;
                }
                let threshold = prob_threshold(loss.probability);
                out.clear();
                for &b in data.iter() {
                    let was_in_frame = framing.in_frame();
                    framing.push(b);
                    if !was_in_frame && !framing.in_frame() {
                        out.push(b);
                        continue;
                    }
                    frame.push(b);
                    if framing.in_frame() {
                        continue;
                    }
                    // A whole `$ channel len16 payload` frame.
                    let rtp = frame.get(1).is_some_and(|channel| channel % 2 == 0);
                    if rtp {
                        shared.c.rtp.fetch_add(1, Ordering::Relaxed);
                    }
                    if rtp && rng.next() < threshold {
                        shared.c.rtp_dropped.fetch_add(1, Ordering::Relaxed);
                    } else {
                        out.extend_from_slice(&frame);
                    }
                    frame.clear();
                }
                data = &mut out[..];
            }
            Fault::Garbage => {
                for b in data.iter_mut() {
                    *b = (rng.next() >> 56) as u8;
                }
                framing.lost = true;
                shared.c.garbage.fetch_add(n as u64, Ordering::Relaxed);
            }
            Fault::Corrupt(c) => {
                if rng_gen != gen {
                    rng = Rng::new(c.seed);
                    rng_gen = gen;
                }
                let threshold = prob_threshold(c.probability);
                let mut flipped = 0u64;
                for (i, b) in data.iter_mut().enumerate() {
                    let eligible_rtp = framing.push(*b);
                    let eligible = match c.scope {
                        CorruptScope::RtpPayload => eligible_rtp,
                        CorruptScope::AfterBytes(skip) => total + i as u64 >= skip,
                    };
                    if eligible && rng.next() < threshold {
                        let x = ((rng.next() >> 56) as u8).max(1);
                        *b ^= x;
                        flipped += 1;
                    }
                }
                shared.c.corrupted.fetch_add(flipped, Ordering::Relaxed);
            }
            _ => {
                for &b in data.iter() {
                    framing.push(b);
                }
            }
        }
        total += n as u64;
        if !matches!(fault, Fault::Garbage) {
            shared.c.s2c.fetch_add(n as u64, Ordering::Relaxed);
        }
        if write_all_bounded(&conn.client, data, shared, conn).is_err() {
            return;
        }
    }
}

fn prob_threshold(p: f64) -> u64 {
    if p <= 0.0 {
        0
    } else if p >= 1.0 {
        u64::MAX
    } else {
        (p * u64::MAX as f64) as u64
    }
}

/// xorshift64*: tiny, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng((seed ^ 0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Incremental parser of the server->client RTSP-over-TCP byte stream: RTSP messages
/// (header + Content-Length body) interleaved with `$ ch len16 payload` frames (RFC 2326 §10.12).
/// `push` returns whether the byte is RTP payload (even channel, after the RTP header).
#[derive(Default)]
struct Framing {
    state: St,
    lost: bool, // framing unknown (e.g. after Garbage): nothing is eligible any more
}

#[derive(Default)]
enum St {
    #[default]
    Boundary,
    Head(Vec<u8>),
    Body(usize),
    IlHeader {
        have: u8,
        channel: u8,
        len_hi: u8,
    },
    Payload {
        channel: u8,
        remaining: usize,
        pos: usize,
        hdr_len: usize,
        b0: u8,
        ext_hi: u8,
    },
}

impl Framing {
    /// Whether the last byte pushed was inside an interleaved frame that has
    /// not ended yet (its `$` included).
    fn in_frame(&self) -> bool {
        !self.lost && matches!(self.state, St::IlHeader { .. } | St::Payload { .. })
    }

    fn push(&mut self, b: u8) -> bool {
        if self.lost {
            return false;
        }
        let mut eligible = false;
        self.state = match std::mem::take(&mut self.state) {
            St::Boundary => {
                if b == b'$' {
                    St::IlHeader {
                        have: 1,
                        channel: 0,
                        len_hi: 0,
                    }
                } else {
                    St::Head(vec![b])
                }
            }
            St::Head(mut h) => {
                h.push(b);
                if h.ends_with(b"\r\n\r\n") {
                    match content_length(&h) {
                        0 => St::Boundary,
                        n => St::Body(n),
                    }
                } else if h.len() > MAX_RTSP_HEAD {
                    self.lost = true;
                    St::Boundary
                } else {
                    St::Head(h)
                }
            }
            St::Body(n) => {
                if n <= 1 {
                    St::Boundary
                } else {
                    St::Body(n - 1)
                }
            }
            St::IlHeader { have: 1, .. } => St::IlHeader {
                have: 2,
                channel: b,
                len_hi: 0,
            },
            St::IlHeader {
                have: 2, channel, ..
            } => St::IlHeader {
                have: 3,
                channel,
                len_hi: b,
            },
            St::IlHeader {
                channel, len_hi, ..
            } => {
                let len = usize::from(len_hi) << 8 | usize::from(b);
                if len == 0 {
                    St::Boundary
                } else {
                    St::Payload {
                        channel,
                        remaining: len,
                        pos: 0,
                        hdr_len: 12,
                        b0: 0,
                        ext_hi: 0,
                    }
                }
            }
            St::Payload {
                channel,
                remaining,
                pos,
                mut hdr_len,
                mut b0,
                mut ext_hi,
            } => {
                if channel % 2 == 0 {
                    if pos == 0 {
                        b0 = b;
                        // Fixed header + CSRCs; with the X bit the length is known only
                        // once the extension's length field has been read.
                        hdr_len = if b & 0x10 != 0 {
                            usize::MAX
                        } else {
                            12 + 4 * usize::from(b & 0x0f)
                        };
                    }
                    let base = 12 + 4 * usize::from(b0 & 0x0f);
                    if b0 & 0x10 != 0 {
                        if pos == base + 2 {
                            ext_hi = b;
                        } else if pos == base + 3 {
                            hdr_len = base + 4 + 4 * (usize::from(ext_hi) << 8 | usize::from(b));
                        }
                    }
                    eligible = pos >= hdr_len;
                }
                if remaining <= 1 {
                    St::Boundary
                } else {
                    St::Payload {
                        channel,
                        remaining: remaining - 1,
                        pos: pos + 1,
                        hdr_len,
                        b0,
                        ext_hi,
                    }
                }
            }
        };
        eligible
    }
}

fn content_length(head: &[u8]) -> usize {
    let text = String::from_utf8_lossy(head);
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}
