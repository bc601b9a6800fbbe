//! The hosts file (`/etc/hosts`, `hosts(5)`): an address, then the names that
//! have it, per line; `#` starts a comment. Looked up before any DNS server,
//! as `hosts: files dns` in `nsswitch.conf` says, so `localhost` and names
//! pinned there resolve without a network.

use std::net::IpAddr;

/// Every address `text` (a hosts file) gives `name`, in file order. Names
/// compare without case and without a trailing dot; lines that do not parse
/// are skipped, as the C library skips them.
pub(super) fn addresses(text: &str, name: &str) -> Vec<IpAddr> {
    let wanted = name.trim_end_matches('.');
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(address) = fields.next() else {
            continue;
        };
        // A scoped IPv6 address (`fe80::1%eth0`) is kept without its scope.
        let Ok(address) = address.split('%').next().unwrap_or("").parse::<IpAddr>() else {
            continue;
        };
        let named = fields.any(|alias| alias.trim_end_matches('.').eq_ignore_ascii_case(wanted));
        if named && !found.contains(&address) {
            found.push(address);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str = "\
# The Debian default, plus cameras.
127.0.0.1\tlocalhost
127.0.1.1\tnvr.lan\tnvr
::1     localhost ip6-localhost ip6-loopback
10.0.0.20 gate-cam.lan gate  # the gate
10.0.0.21 Dock-Cam.LAN.
not-an-address dock-cam.lan
10.0.0.20 gate
";

    #[test]
    fn names_map_to_their_addresses_in_file_order() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(addresses(HOSTS, "localhost"), [ip("127.0.0.1"), ip("::1")]);
        assert_eq!(addresses(HOSTS, "gate"), [ip("10.0.0.20")], "once");
        assert_eq!(addresses(HOSTS, "GATE-CAM.lan."), [ip("10.0.0.20")]);
        assert_eq!(addresses(HOSTS, "dock-cam.lan"), [ip("10.0.0.21")]);
        assert!(addresses(HOSTS, "the").is_empty(), "comments are no names");
        assert!(addresses(HOSTS, "lan").is_empty());
        assert!(addresses("", "localhost").is_empty());
    }
}
