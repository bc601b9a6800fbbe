//! `run --shard I/N`: which streams of a config shared by a whole fleet this
//! process ingests. Rendezvous (highest-random-weight) hashing: each stream
//! goes to the shard whose score for its id is highest, the score being XXH3
//! of the id seeded with the shard's number, a hash fixed by its
//! specification, so every build on every platform agrees. Adding or removing
//! a shard moves only the streams won or lost by that shard.
//!
//! `--shard auto/N` takes I from the host name's numeric suffix, the ordinal
//! of a Kubernetes StatefulSet's pod (`rtsp-ingest-2` → 2).

use std::fmt;
use std::str::FromStr;

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// One shard of a fleet: `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0 .. count`.
    pub index: u32,
    /// Shards in the fleet.
    pub count: u32,
}

/// The shard of `count` that stream `id` belongs to.
pub fn shard_of(id: &str, count: u32) -> u32 {
    (0..count)
        .max_by_key(|&shard| (xxh3_64_with_seed(id.as_bytes(), u64::from(shard)), shard))
        .unwrap_or(0)
}

impl Shard {
    /// Whether stream `id` is this shard's.
    pub fn owns(&self, id: &str) -> bool {
        shard_of(id, self.count) == self.index
    }

    /// `I/N`, or `auto/N` with I from `host`'s numeric suffix.
    fn parse_with_host(text: &str, host: impl FnOnce() -> Option<String>) -> Result<Self, String> {
        let usage = || format!("`{text}` is not I/N (0 <= I < N) or auto/N");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let count: u32 = count.parse().ok().filter(|&n| n > 0).ok_or_else(usage)?;
        let index = if index == "auto" {
            let host = host().ok_or("auto: the host name is unknown")?;
            ordinal(&host).ok_or_else(|| {
                format!("auto: the host name `{host}` does not end in a number (a StatefulSet pod's ordinal)")
            })?
        } else {
            index.parse().map_err(|_| usage())?
        };
        if index >= count {
            return Err(format!("shard {index} is not below {count}"));
        }
        Ok(Self { index, count })
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse_with_host(text, host_name)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The number after the last `-` of `host` (its first label): a pod's ordinal.
fn ordinal(host: &str) -> Option<u32> {
    let label = host.split('.').next()?;
    let (_, digits) = label.rsplit_once('-')?;
    digits.parse().ok()
}

/// `$HOSTNAME` (a pod's name in Kubernetes), else the kernel's host name.
fn host_name() -> Option<String> {
    if let Some(name) = std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.is_empty())
    {
        return Some(name);
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        (0..1000).map(|index| format!("cam{index}")).collect()
    }

    #[test]
    fn the_assignment_is_fixed_across_builds() {
        // XXH3 is specified, so these never change; if they did, a fleet of
        // mixed versions would ingest some cameras twice and others never.
        let got: Vec<u32> = (0..12)
            .map(|index| shard_of(&format!("cam{index}"), 3))
            .collect();
        assert_eq!(got, GOLDEN);
        assert_eq!(shard_of("gate", 1), 0);
    }

    /// As the reference implementation (Python's `xxhash`, `xxh3_64_intdigest`) scores them.
    const GOLDEN: [u32; 12] = [2, 2, 0, 0, 2, 2, 1, 0, 2, 1, 2, 1];

    #[test]
    fn shards_split_evenly_and_a_change_moves_only_its_streams() {
        let ids = ids();
        for count in 2..=5u32 {
            let mut sizes = vec![0usize; count as usize];
            for id in &ids {
                let now = shard_of(id, count);
                sizes[now as usize] += 1;
                let grown = shard_of(id, count + 1);
                // Growing: a stream stays or moves to the new shard.
                assert!(grown == now || grown == count, "{id}: {now} -> {grown}");
                let shrunk = shard_of(id, count - 1);
                // Shrinking: only the last shard's streams move.
                if now != count - 1 {
                    assert_eq!(shrunk, now, "{id}");
                }
            }
            let even = ids.len() / count as usize;
            for size in sizes {
                assert!(
                    size.abs_diff(even) < even / 4,
                    "{count} shards: {size} vs {even}"
                );
            }
        }
    }

    #[test]
    fn shards_parse() {
        let host = |name: &str| {
            let name = name.to_owned();
            move || Some(name)
        };
        assert_eq!(
            Shard::parse_with_host("1/3", || None),
            Ok(Shard { index: 1, count: 3 })
        );
        assert_eq!(
            Shard::parse_with_host("auto/3", host("rtsp-ingest-2")),
            Ok(Shard { index: 2, count: 3 })
        );
        assert_eq!(
            Shard::parse_with_host("auto/3", host("rtsp-ingest-1.rtsp-ingest.default.svc")),
            Ok(Shard { index: 1, count: 3 })
        );
        for bad in ["3/3", "1", "a/3", "1/0", "-1/3", "1/x"] {
            assert!(Shard::parse_with_host(bad, || None).is_err(), "{bad}");
        }
        assert!(Shard::parse_with_host("auto/3", host("rtsp-ingest-5"))
            .unwrap_err()
            .contains("not below 3"));
        assert!(Shard::parse_with_host("auto/3", host("laptop"))
            .unwrap_err()
            .contains("does not end in a number"));
    }
}
