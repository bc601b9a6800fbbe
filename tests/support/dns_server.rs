//! A DNS server on 127.0.0.1 for tests: answers each A or AAAA query as the
//! test's table says (addresses, "no such name", a server failure, or
//! silence), and records every query it was asked.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use simple_dns::rdata::{RData, A, AAAA};
use simple_dns::{Name, Packet, PacketFlag, ResourceRecord, CLASS, QTYPE, RCODE, TYPE};

/// How the server answers one name.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// These addresses (each family answers its own; none of it is NODATA).
    Addresses(Vec<IpAddr>),
    /// NXDOMAIN.
    NoSuchName,
    /// SERVFAIL.
    ServerFailure,
    /// Nothing at all.
    Silence,
}

/// A running server; stops when dropped.
pub struct DnsServer {
    address: SocketAddr,
    asked: Arc<Mutex<Vec<(String, &'static str)>>>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DnsServer {
    /// Starts a server answering with `answer(name)`; names come without the
    /// trailing dot, lower case.
    pub fn start(answer: impl Fn(&str) -> Reply + Send + 'static) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let address = socket.local_addr().unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let (log, stop) = (Arc::clone(&asked), Arc::clone(&done));
        let thread = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                let Ok((length, peer)) = socket.recv_from(&mut buffer) else {
                    continue;
                };
                let Ok(query) = Packet::parse(&buffer[..length]) else {
                    continue;
                };
                let Some(question) = query.questions.first() else {
                    continue;
                };
                let name = question.qname.to_string().to_ascii_lowercase();
                let record = match question.qtype {
                    QTYPE::TYPE(TYPE::A) => "A",
                    QTYPE::TYPE(TYPE::AAAA) => "AAAA",
                    _ => "other",
                };
                log.lock().unwrap().push((name.clone(), record));
                let mut reply = Packet::new_reply(query.id());
                reply.set_flags(PacketFlag::RECURSION_AVAILABLE);
                reply.questions.push(question.clone());
                match answer(&name) {
                    Reply::Silence => continue,
                    Reply::NoSuchName => *reply.rcode_mut() = RCODE::NameError,
                    Reply::ServerFailure => *reply.rcode_mut() = RCODE::ServerFailure,
                    Reply::Addresses(addresses) => {
                        for address in addresses {
                            let rdata = match (address, record) {
                                (IpAddr::V4(v4), "A") => RData::A(A::from(v4)),
                                (IpAddr::V6(v6), "AAAA") => RData::AAAA(AAAA::from(v6)),
                                _ => continue,
                            };
                            reply.answers.push(ResourceRecord::new(
                                Name::new_unchecked(&name),
                                CLASS::IN,
                                60,
                                rdata,
                            ));
                        }
                    }
                }
                let _ = socket.send_to(&reply.build_bytes_vec().unwrap(), peer);
            }
        });
        Self {
            address,
            asked,
            done,
            thread: Some(thread),
        }
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Every query so far: `(name, "A" | "AAAA")`, in order.
    pub fn asked(&self) -> Vec<(String, &'static str)> {
        self.asked.lock().unwrap().clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
