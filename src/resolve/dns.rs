//! DNS over UDP (RFC 1035) for one name: an A and an AAAA query sent together
//! to one server after another, every wait cut into [`POLL`] slices that check
//! the caller's stop flag and deadline, so a silent server holds the caller no
//! longer than it allows. Messages are built and parsed by `simple-dns`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, RCODE, TYPE};

/// The longest a blocking receive lasts before the stop flag and the deadline
/// are checked again.
pub(super) const POLL: Duration = Duration::from_millis(20);

/// How long the other family's answer is awaited once one family's addresses
/// are in (RFC 8305's resolution delay), so a server that drops AAAA queries
/// costs 50 ms, not the whole timeout.
const RESOLUTION_DELAY: Duration = Duration::from_millis(50);

/// The largest answer read.
const MAX_MESSAGE: usize = 4096;

/// How long and how often to ask (resolv.conf's `timeout` and `attempts`),
/// and the deadline over everything.
pub(super) struct Limits {
    pub(super) timeout: Duration,
    pub(super) attempts: u32,
    pub(super) deadline: Instant,
}

/// What the servers said about a name.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Answer {
    /// Its addresses, IPv4 first.
    Addresses(Vec<IpAddr>),
    /// It does not exist (NXDOMAIN) or has no address (NODATA).
    NoAddress,
}

/// Why no answer came.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// The stop flag was set.
    Stopped,
    /// The deadline passed; the last server's silence, in words.
    Deadline(String),
    /// Every server failed every attempt; the last failure, in words.
    Servers(String),
}

/// Asks `servers` in turn (`attempts` rounds) for `name`'s A and AAAA records.
pub(super) fn lookup(
    name: &str,
    servers: &[SocketAddr],
    limits: &Limits,
    stopped: &dyn Fn() -> bool,
) -> Result<Answer, Failure> {
    let mut last = String::from("no DNS server configured");
    for _ in 0..limits.attempts.max(1) {
        for &server in servers {
            let until = limits.deadline.min(Instant::now() + limits.timeout);
            match exchange(name, server, until, stopped) {
                Ok(answer) => return Ok(answer),
                Err(Exchange::Stopped) => return Err(Failure::Stopped),
                Err(Exchange::Silent) => {
                    last = format!("no answer from {server}");
                }
                Err(Exchange::Failed(why)) => last = format!("{server} {why}"),
            }
            if Instant::now() >= limits.deadline {
                return Err(Failure::Deadline(last));
            }
        }
    }
    Err(Failure::Servers(last))
}

/// How one exchange with one server failed.
enum Exchange {
    Stopped,
    /// Nothing (usable) before `until`.
    Silent,
    /// The server refused, failed, or the socket did.
    Failed(String),
}

/// What one query's answer said.
enum Part {
    Addresses(Vec<IpAddr>),
    /// NXDOMAIN: no record of any type, so the other query's answer is moot.
    NoSuchName,
    /// NODATA: the name exists without a record of this type.
    NoData,
}

fn query(id: u16, name: &str, record: TYPE) -> io::Result<Vec<u8>> {
    let invalid = |error: simple_dns::SimpleDnsError| {
        io::Error::new(io::ErrorKind::InvalidInput, error.to_string())
    };
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    packet.questions.push(Question::new(
        Name::new(name).map_err(invalid)?,
        record.into(),
        CLASS::IN.into(),
        false,
    ));
    packet.build_bytes_vec().map_err(invalid)
}

/// One round with one server: both queries out, both answers (or `until`) in.
fn exchange(
    name: &str,
    server: SocketAddr,
    until: Instant,
    stopped: &dyn Fn() -> bool,
) -> Result<Answer, Exchange> {
    let failed = |error: io::Error| {
        Exchange::Failed(match error.kind() {
            io::ErrorKind::ConnectionRefused => "refused the query (nothing listens)".into(),
            _ => error.to_string(),
        })
    };
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).map_err(failed)?;
    // Connected: only this server's datagrams arrive, and an ICMP "port
    // unreachable" surfaces as `ConnectionRefused`.
    socket.connect(server).map_err(failed)?;
    // Random (RFC 5452), and never equal: the id tells the two answers apart.
    let first = fastrand::u16(..);
    let ids = [first, first.wrapping_add(fastrand::u16(1..))];
    for (id, record) in ids.into_iter().zip([TYPE::A, TYPE::AAAA]) {
        socket
            .send(&query(id, name, record).map_err(failed)?)
            .map_err(failed)?;
    }
    // [A, AAAA], as they come.
    let mut parts: [Option<Part>; 2] = [None, None];
    let mut until = until;
    let mut buffer = vec![0u8; MAX_MESSAGE];
    loop {
        if stopped() {
            return Err(Exchange::Stopped);
        }
        let no_such_name = parts
            .iter()
            .any(|part| matches!(part, Some(Part::NoSuchName)));
        if no_such_name || parts.iter().all(Option::is_some) {
            break;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        socket
            .set_read_timeout(Some(left.min(POLL)))
            .map_err(failed)?;
        let length = match socket.recv(&mut buffer) {
            Ok(length) => length,
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(error) => return Err(failed(error)),
        };
        let Some((index, part)) = parse(&buffer[..length], &ids, name)? else {
            continue; // not an answer to our queries
        };
        if matches!(part, Part::Addresses(_)) && parts.iter().all(Option::is_none) {
            until = until.min(Instant::now() + RESOLUTION_DELAY);
        }
        parts[index] = Some(part);
    }
    let mut addresses = Vec::new();
    let (mut no_such_name, mut no_data) = (false, 0);
    for part in parts.into_iter().flatten() {
        match part {
            Part::Addresses(found) => addresses.extend(found),
            Part::NoSuchName => no_such_name = true,
            Part::NoData => no_data += 1,
        }
    }
    if !addresses.is_empty() {
        Ok(Answer::Addresses(addresses))
    } else if no_such_name || no_data == 2 {
        Ok(Answer::NoAddress)
    } else {
        // Silence, or one family's "none" while the other never answered.
        Err(Exchange::Silent)
    }
}

/// Which query `message` answers and what it says; `None` for a datagram that
/// answers neither (a late answer to an earlier round, garbage).
fn parse(message: &[u8], ids: &[u16; 2], name: &str) -> Result<Option<(usize, Part)>, Exchange> {
    let Ok(packet) = Packet::parse(message) else {
        return Ok(None);
    };
    let Some(index) = ids.iter().position(|&id| id == packet.id()) else {
        return Ok(None);
    };
    let asked = packet
        .questions
        .first()
        .is_some_and(|question| question.qname.to_string().eq_ignore_ascii_case(name));
    if !packet.has_flags(PacketFlag::RESPONSE) || !asked {
        return Ok(None);
    }
    match packet.rcode() {
        RCODE::NoError => {}
        RCODE::NameError => return Ok(Some((index, Part::NoSuchName))),
        other => return Err(Exchange::Failed(format!("answered {other:?}"))),
    }
    let addresses: Vec<IpAddr> = packet
        .answers
        .iter()
        .filter(|record| record.class == CLASS::IN)
        .filter_map(|record| match &record.rdata {
            RData::A(a) if index == 0 => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
            RData::AAAA(aaaa) if index == 1 => Some(IpAddr::V6(Ipv6Addr::from(aaaa.address))),
            _ => None,
        })
        .collect();
    if addresses.is_empty() {
        if packet.has_flags(PacketFlag::TRUNCATION) {
            // No address fit in the datagram; this resolver does not retry over TCP.
            return Err(Exchange::Failed(
                "sent a truncated answer without an address (DNS over TCP is not supported)".into(),
            ));
        }
        return Ok(Some((index, Part::NoData)));
    }
    Ok(Some((index, Part::Addresses(addresses))))
}
