//! RTP over UDP for one session ([`UdpLink`]): the server's socket pair (RTP
//! on an even port, RTCP on the next), the client's ports from its `SETUP`,
//! and the UDP faults applied in user space on the way out (there is no netem
//! here): loss, reordering (a packet held back and sent after the next K),
//! duplication, and order-keeping delay jitter.
//!
//! What the client sends to the server's ports (FFmpeg's NAT "punch" packets,
//! RTCP receiver reports) is read and counted, nothing more.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::faults::{Faults, DEFAULT_REORDER_DEPTH};

/// Attempts at binding an even/odd port pair before taking any two ports.
const PAIR_ATTEMPTS: usize = 32;

/// What one flush sent, for the camera's counters.
#[derive(Debug, Default)]
pub(crate) struct UdpTally {
    /// RTP packets the loss fault dropped.
    pub(crate) lost: u64,
    /// RTP packets held back by the reorder fault.
    pub(crate) reordered: u64,
    /// RTP packets sent a second time by the duplicate fault.
    pub(crate) duplicated: u64,
    /// Datagram bytes handed to the socket (or queued for it by the jitter).
    pub(crate) bytes: u64,
}

/// The UDP faults of a session, with its random source.
struct Chaos {
    loss: f64,
    reorder: f64,
    depth: u32,
    duplicate: f64,
    jitter: Option<Duration>,
    rng: fastrand::Rng,
}

impl Chaos {
    fn new(faults: &Faults) -> Self {
        Self {
            loss: faults.udp_loss.unwrap_or(0.0),
            reorder: faults.udp_reorder.unwrap_or(0.0),
            depth: faults.udp_reorder_depth.unwrap_or(DEFAULT_REORDER_DEPTH),
            duplicate: faults.udp_duplicate.unwrap_or(0.0),
            jitter: faults.udp_jitter,
            rng: fastrand::Rng::new(),
        }
    }

    /// True with probability `p` (never for 0, always for 1).
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.f64() < p
    }
}

/// Which of the two sockets a datagram leaves from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    Rtp,
    Rtcp,
}

/// One session's RTP over UDP.
pub(crate) struct UdpLink {
    rtp: UdpSocket,
    rtcp: UdpSocket,
    client_rtp: SocketAddr,
    client_rtcp: SocketAddr,
    chaos: Chaos,
    /// RTP packets held back by the reorder fault, each with how many more
    /// packets must be sent before it.
    held: Vec<(u32, Vec<u8>)>,
    /// Datagrams waiting for their jittered send time, in send order (their
    /// times never decrease, so the jitter reorders nothing).
    delayed: VecDeque<(Instant, Port, Vec<u8>)>,
}

impl UdpLink {
    /// Binds the server's pair on `local` toward `client` ports
    /// `(rtp, rtcp)` at `client_ip`.
    pub(crate) fn bind(
        local: IpAddr,
        client_ip: IpAddr,
        (client_rtp, client_rtcp): (u16, u16),
        faults: &Faults,
    ) -> io::Result<Self> {
        let (rtp, rtcp) = bind_pair(local)?;
        for socket in [&rtp, &rtcp] {
            socket.set_nonblocking(true)?;
        }
        Ok(Self {
            rtp,
            rtcp,
            client_rtp: SocketAddr::new(client_ip, client_rtp),
            client_rtcp: SocketAddr::new(client_ip, client_rtcp),
            chaos: Chaos::new(faults),
            held: Vec::new(),
            delayed: VecDeque::new(),
        })
    }

    /// The server's ports (RTP, RTCP), for `server_port=` in the answer.
    pub(crate) fn server_ports(&self) -> io::Result<(u16, u16)> {
        Ok((
            self.rtp.local_addr()?.port(),
            self.rtcp.local_addr()?.port(),
        ))
    }

    /// Sends one RTP packet through the faults.
    pub(crate) fn send_rtp(&mut self, packet: &[u8], tally: &mut UdpTally) {
        if self.chaos.chance(self.chaos.loss) {
            tally.lost += 1;
            return;
        }
        if self.chaos.chance(self.chaos.reorder) {
            tally.reordered += 1;
            self.held.push((self.chaos.depth, packet.to_vec()));
            return;
        }
        self.emit(Port::Rtp, packet.to_vec(), tally);
        if self.chaos.chance(self.chaos.duplicate) {
            tally.duplicated += 1;
            self.emit(Port::Rtp, packet.to_vec(), tally);
        }
        // One more packet has gone out: held ones whose turn it is follow it.
        let mut due = Vec::new();
        self.held.retain_mut(|(left, packet)| {
            *left -= 1;
            if *left == 0 {
                due.push(std::mem::take(packet));
            }
            *left > 0
        });
        for packet in due {
            self.emit(Port::Rtp, packet, tally);
        }
    }

    /// Sends one RTCP packet (sender report): jittered, never lost.
    pub(crate) fn send_rtcp(&mut self, packet: &[u8], tally: &mut UdpTally) {
        self.emit(Port::Rtcp, packet.to_vec(), tally);
    }

    fn emit(&mut self, port: Port, packet: Vec<u8>, tally: &mut UdpTally) {
        tally.bytes += packet.len() as u64;
        match self.chaos.jitter {
            None => self.send_now(port, &packet),
            Some(jitter) => {
                let nanos = u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX);
                let mut at = Instant::now() + Duration::from_nanos(self.chaos.rng.u64(0..=nanos));
                if let Some(&(last, _, _)) = self.delayed.back() {
                    at = at.max(last);
                }
                self.delayed.push_back((at, port, packet));
                self.send_due();
            }
        }
    }

    fn send_now(&self, port: Port, packet: &[u8]) {
        let (socket, to) = match port {
            Port::Rtp => (&self.rtp, self.client_rtp),
            Port::Rtcp => (&self.rtcp, self.client_rtcp),
        };
        // A full socket buffer or a client that went away loses the datagram,
        // as the network would; the RTSP connection tells when a client is gone.
        if let Err(error) = socket.send_to(packet, to) {
            tracing::trace!(%to, %error, "simulator: UDP send failed");
        }
    }

    /// Sends the jittered datagrams whose time has come.
    pub(crate) fn send_due(&mut self) {
        let now = Instant::now();
        while self.delayed.front().is_some_and(|(at, _, _)| *at <= now) {
            if let Some((_, port, packet)) = self.delayed.pop_front() {
                self.send_now(port, &packet);
            }
        }
    }

    /// When the next jittered datagram is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.delayed.front().map(|(at, _, _)| *at)
    }

    /// Reads (and discards) what the client sent to the server's ports;
    /// returns how many datagrams.
    pub(crate) fn drain_incoming(&self) -> u64 {
        let mut buf = [0u8; 2048];
        let mut count = 0;
        for socket in [&self.rtp, &self.rtcp] {
            while socket.recv_from(&mut buf).is_ok() {
                count += 1;
            }
        }
        count
    }
}

/// Two UDP sockets on `local`: RTP on an even port and RTCP on the next (RFC
/// 3550 §11; FFmpeg sends its receiver reports to the RTP port plus one),
/// or any two ports when no pair is free.
fn bind_pair(local: IpAddr) -> io::Result<(UdpSocket, UdpSocket)> {
    for _ in 0..PAIR_ATTEMPTS {
        let rtp = UdpSocket::bind(SocketAddr::new(local, 0))?;
        let port = rtp.local_addr()?.port();
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(local, port + 1)) {
            return Ok((rtp, rtcp));
        }
    }
    Ok((
        UdpSocket::bind(SocketAddr::new(local, 0))?,
        UdpSocket::bind(SocketAddr::new(local, 0))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// A client socket pair and a link sending to it with `faults`.
    fn link(faults: &str) -> (UdpLink, UdpSocket) {
        let client = UdpSocket::bind((LOCAL, 0)).unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let port = client.local_addr().unwrap().port();
        let mut link = UdpLink::bind(LOCAL, LOCAL, (port, port), &faults.parse().unwrap()).unwrap();
        link.chaos.rng = fastrand::Rng::with_seed(11);
        (link, client)
    }

    fn received(client: &UdpSocket, count: usize) -> Vec<u8> {
        let mut buf = [0u8; 64];
        (0..count)
            .map(|_| {
                let (n, _) = client.recv_from(&mut buf).unwrap();
                assert_eq!(n, 1);
                buf[0]
            })
            .collect()
    }

    #[test]
    fn pairs_are_even_and_odd() {
        let (link, _client) = link("");
        let (rtp, rtcp) = link.server_ports().unwrap();
        assert_eq!((rtp % 2, rtcp), (0, rtp + 1));
    }

    #[test]
    fn reordered_packets_follow_the_next_k() {
        let (mut link, client) = link("udp-reorder=1,udp-reorder-depth=2");
        let mut tally = UdpTally::default();
        link.send_rtp(&[0], &mut tally); // held
        link.chaos.reorder = 0.0;
        for seq in 1..=3 {
            link.send_rtp(&[seq], &mut tally);
        }
        assert_eq!(received(&client, 4), [1, 2, 0, 3]);
        assert_eq!(tally.reordered, 1);
    }

    #[test]
    fn loss_and_duplication_are_counted() {
        let (mut link, client) = link("udp-loss=0.1,udp-duplicate=0.1");
        let mut tally = UdpTally::default();
        for seq in 0..200u8 {
            link.send_rtp(&[seq], &mut tally);
        }
        assert!((5..40).contains(&tally.lost), "{tally:?}");
        assert!((5..40).contains(&tally.duplicated), "{tally:?}");
        let count = 200 - tally.lost + tally.duplicated;
        let got = received(&client, usize::try_from(count).unwrap());
        // Duplicates come right after their original; nothing is reordered.
        assert!(got.windows(2).all(|pair| pair[0] <= pair[1]), "{got:?}");
        assert_eq!(tally.bytes, count);
    }

    #[test]
    fn jitter_delays_without_reordering() {
        let (mut link, client) = link("udp-jitter=30ms");
        let mut tally = UdpTally::default();
        for seq in 0..20u8 {
            link.send_rtp(&[seq], &mut tally);
        }
        while let Some(at) = link.next_due() {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            link.send_due();
        }
        assert_eq!(received(&client, 20), (0..20).collect::<Vec<u8>>());
        // What the client sends the server is drained.
        client
            .send_to(&[9], ("127.0.0.1", link.server_ports().unwrap().1))
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(link.drain_incoming(), 1);
    }
}
