//! Host names to addresses in our own code, bounded by the caller's deadline
//! and stop flag: how a stream finds its camera before FFmpeg connects.
//!
//! # Why not `getaddrinfo`
//!
//! FFmpeg resolves a URL's host with `getaddrinfo`, which nothing can
//! interrupt: with a silent DNS server it blocks for resolv.conf's `timeout` ×
//! `attempts`, per search domain (10 s and more by default), and a worker asked
//! to stop meanwhile stays inside it. The alternatives do not bound the stop
//! either: `getaddrinfo` on a helper thread whose result is dropped leaves that
//! thread working (one more per reconnect while the server stays silent), and
//! glibc's `getaddrinfo_a` runs the same lookup on a thread of its own that
//! `gai_cancel` cannot cancel once it runs. So the stream resolves the name
//! itself, as the C library does for `hosts: files dns`, and hands FFmpeg the
//! address:
//!
//! 1. a literal address (`192.168.1.20`, `[fe80::1]`) is used as is;
//! 2. the hosts file (`/etc/hosts`: `localhost`, names pinned there);
//! 3. DNS over UDP to resolv.conf's `nameserver`s (port 53), with its `search`
//!    list, `ndots`, `timeout` and `attempts` (parsed by `resolv-conf`; the
//!    messages are built and read by `simple-dns`). A and AAAA are asked
//!    together; IPv4 addresses come first.
//!
//! Every wait is a receive of at most 20 ms that then checks the stop flag and
//! the deadline, so a stop ends the lookup within 20 ms and no thread is left
//! working.
//!
//! # Limits
//!
//! Only the `files` and `dns` sources are consulted: names that only another
//! NSS module knows (mDNS `.local`, LDAP) do not resolve; use the address or a
//! hosts-file entry. (systemd-resolved works through its stub server in
//! resolv.conf.) A truncated UDP answer is used for the addresses it holds;
//! there is no retry over TCP, which only an answer of dozens of addresses
//! would need. Nothing is cached: each connection attempt resolves afresh, so a
//! camera that moves is found at the next reconnect.

mod dns;
mod hosts;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use dns::{Answer, Failure, Limits};

/// Where host names are looked up. `Default`: the system's files,
/// `/etc/hosts` and `/etc/resolv.conf`.
///
/// ```
/// use rtsp_ingest::resolve::DnsConfig;
///
/// // The cameras' own DNS server, with the system's hosts file and search list.
/// let dns = DnsConfig::default().nameservers(vec!["10.0.0.53:53".parse().unwrap()]);
/// # let _ = dns;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsConfig {
    hosts_file: Option<PathBuf>,
    resolv_conf: PathBuf,
    nameservers: Option<Vec<SocketAddr>>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            hosts_file: Some(PathBuf::from("/etc/hosts")),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            nameservers: None,
        }
    }
}

impl DnsConfig {
    /// Reads host entries from this file instead of `/etc/hosts`.
    pub fn hosts_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.hosts_file = Some(path.into());
        self
    }

    /// Consults no hosts file.
    pub fn no_hosts_file(mut self) -> Self {
        self.hosts_file = None;
        self
    }

    /// Reads the resolver configuration from this file instead of
    /// `/etc/resolv.conf`.
    pub fn resolv_conf(mut self, path: impl Into<PathBuf>) -> Self {
        self.resolv_conf = path.into();
        self
    }

    /// Asks these DNS servers (address and port) instead of resolv.conf's
    /// `nameserver`s; its search list and options still apply.
    pub fn nameservers(mut self, servers: Vec<SocketAddr>) -> Self {
        self.nameservers = Some(servers);
        self
    }
}

/// The addresses of `host` (a URL's host: a name, an IPv4 address or a
/// bracketed IPv6 one), looked up as the [module docs](self) say, giving up
/// after `timeout` or as soon as `stopped` returns true (it is called at least
/// every 20 ms while the lookup waits).
///
/// # Errors
/// [`ErrorKind::NotFound`] when the name has no address, [`ErrorKind::Timeout`]
/// when no server answered in time, [`ErrorKind::Stopped`] when `stopped` said
/// so, [`ErrorKind::Connect`] when every server refused or failed.
pub fn resolve(
    host: &str,
    config: &DnsConfig,
    timeout: Duration,
    stopped: &dyn Fn() -> bool,
) -> Result<Vec<IpAddr>> {
    let deadline = Instant::now() + timeout;
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(address) = literal.parse::<IpAddr>() {
        return Ok(vec![address]);
    }
    let context = format!("resolving `{host}`");
    if stopped() {
        return Err(Error::new(
            ErrorKind::Stopped,
            format!("{context}: stopped"),
        ));
    }
    if let Some(path) = &config.hosts_file {
        // A missing or unreadable hosts file is skipped, as the C library does.
        if let Ok(text) = std::fs::read_to_string(path) {
            let found = hosts::addresses(&text, host);
            if !found.is_empty() {
                return Ok(found);
            }
        }
    }
    let system = system_config(config);
    let servers = match &config.nameservers {
        Some(servers) => servers.clone(),
        None => system
            .get_nameservers_or_local()
            .iter()
            .map(|ip| SocketAddr::new(IpAddr::from(ip), 53))
            .collect(),
    };
    let limits = Limits {
        timeout: Duration::from_secs(u64::from(system.timeout.clamp(1, 30))),
        attempts: system.attempts.clamp(1, 5),
        deadline,
    };
    let mut failure = None;
    for name in candidates(host, &system) {
        match dns::lookup(&name, &servers, &limits, stopped) {
            Ok(Answer::Addresses(found)) => return Ok(found),
            Ok(Answer::NoAddress) => {}
            Err(Failure::Stopped) => {
                return Err(Error::new(
                    ErrorKind::Stopped,
                    format!("{context}: stopped"),
                ))
            }
            Err(Failure::Deadline(why)) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("{context}: no answer within {timeout:?} ({why})"),
                ))
            }
            Err(Failure::Servers(why)) => failure = Some(why),
        }
    }
    Err(match failure {
        Some(why) => Error::new(ErrorKind::Connect, format!("{context}: {why}")),
        None => Error::new(ErrorKind::NotFound, format!("{context}: no such host")),
    })
}

/// resolv.conf, or the C library's defaults when it is missing (servers on
/// this host, `ndots:1`, `timeout:5`, `attempts:2`).
fn system_config(config: &DnsConfig) -> resolv_conf::Config {
    match std::fs::read(&config.resolv_conf) {
        // Lines that do not parse are skipped, as the C library skips them.
        Ok(bytes) => resolv_conf::Config::parse_with_errors(&bytes).0,
        Err(_) => resolv_conf::Config::new(),
    }
}

/// The names to ask for, in order (`resolv.conf(5)`): a name ending in `.` as
/// it is; a name with at least `ndots` dots first as it is, then with each
/// search domain; a shorter one with each search domain first.
fn candidates(host: &str, system: &resolv_conf::Config) -> Vec<String> {
    if let Some(absolute) = host.strip_suffix('.') {
        return vec![absolute.to_owned()];
    }
    let searched = system
        .get_last_search_or_domain()
        .filter(|domain| !domain.is_empty() && domain.as_str() != ".")
        .map(|domain| format!("{host}.{}", domain.trim_end_matches('.')));
    let dots = host.matches('.').count();
    if dots >= usize::try_from(system.ndots).unwrap_or(usize::MAX) {
        std::iter::once(host.to_owned()).chain(searched).collect()
    } else {
        let mut names: Vec<String> = searched.collect();
        names.push(host.to_owned());
        names
    }
}

#[cfg(test)]
mod tests;
