//! The `run --config FILE` format: a TOML file with a `[defaults]` table of
//! stream options, an optional `[manager]` table, and `[[stream]]` entries, each
//! an `id`, a `url` and any option overriding the defaults.
//!
//! ```toml
//! [manager]
//! memory_budget_mb = 2048
//!
//! [defaults]
//! transport = "tcp"
//! format = "bgr24"
//!
//! [[stream]]
//! id = "gate"
//! url = "rtsp://viewer:secret@10.0.0.5/live"
//! resize = "640x640"
//! resize_mode = "letterbox"   # aspect kept, padded with pad_value (114)
//! ```
//!
//! Every error names the file, the line and the field: `cams.toml:12: stream
//! `gate`: format: pixel format `rgba` is not one of ...`.

use std::path::Path;

use rtsp_ingest::stream::StreamConfig;
use serde::Deserialize;
use toml::{Spanned, Table, Value};

use crate::options::{self, StreamOptions};

/// What a config file asks for.
#[derive(Debug)]
pub struct ConfigFile {
    /// The manager's settings.
    pub manager: ManagerOptions,
    /// `(id, config)` of every stream, in file order.
    pub streams: Vec<(String, StreamConfig)>,
}

/// The `[manager]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagerOptions {
    /// Caps the pixel memory of every stream's slab together.
    pub memory_budget_mb: Option<f64>,
    /// Cores to pin decode workers to, round-robin (default: all cores).
    pub cores: Option<Vec<usize>>,
    /// `false` leaves decode workers to the OS scheduler.
    pub pin: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    manager: Option<Spanned<Table>>,
    #[serde(default)]
    defaults: Option<Spanned<Table>>,
    #[serde(default)]
    stream: Vec<Spanned<Table>>,
}

/// Reads and checks a config file.
///
/// # Errors
/// A message naming the file, the line and the field at fault.
pub fn load(path: &Path) -> Result<ConfigFile, String> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| format!("{name}: {error}"))?;
    parse(&name, &text)
}

/// Parses a config file's text; `name` prefixes the errors.
pub fn parse(name: &str, text: &str) -> Result<ConfigFile, String> {
    let raw: RawFile = toml::from_str(text).map_err(|error| {
        let line = error.span().map_or(String::new(), |span| {
            format!("{}:", line_of(text, span.start))
        });
        format!("{name}:{line} {}", error.message().trim_end())
    })?;
    let at = |span: std::ops::Range<usize>, key: Option<&str>| {
        format!("{name}:{}:", key_line(text, span, key))
    };

    let manager = match raw.manager {
        None => ManagerOptions::default(),
        Some(table) => {
            let span = table.span();
            Value::Table(table.into_inner())
                .try_into::<ManagerOptions>()
                .map_err(|error| {
                    format!("{} manager: {}", at(span, None), error.message().trim_end())
                })?
        }
    };
    let (defaults, defaults_span) = match raw.defaults {
        None => (Table::new(), 0..0),
        Some(table) => {
            let span = table.span();
            (table.into_inner(), span)
        }
    };
    options_from(defaults.clone()).map_err(|(key, message)| {
        format!(
            "{} defaults: {}{message}",
            at(defaults_span.clone(), key.as_deref()),
            field(&key)
        )
    })?;

    let mut streams: Vec<(String, StreamConfig)> = Vec::new();
    for (index, entry) in raw.stream.into_iter().enumerate() {
        let span = entry.span();
        let mut table = entry.into_inner();
        let label = match table.get("id") {
            Some(Value::String(id)) => format!("stream `{id}`"),
            _ => format!("stream {}", index + 1),
        };
        let fail = |key: Option<&str>, message: String| {
            format!(
                "{} {label}: {}{message}",
                at(span.clone(), key),
                field(&key.map(str::to_owned))
            )
        };
        let id = match table.remove("id") {
            Some(Value::String(id)) => id,
            Some(_) => return Err(fail(Some("id"), "must be a string".into())),
            None => return Err(fail(None, "missing `id`".into())),
        };
        let url = match table.remove("url") {
            Some(Value::String(url)) => url,
            Some(_) => return Err(fail(Some("url"), "must be a string".into())),
            None => return Err(fail(None, "missing `url`".into())),
        };
        if streams.iter().any(|(other, _)| *other == id) {
            return Err(fail(
                Some("id"),
                format!("`{id}` is used by an earlier stream"),
            ));
        }
        if let Err(error) = rtsp_ingest::manager::StreamManager::validate_id(&id) {
            return Err(fail(Some("id"), error.message().to_owned()));
        }
        let mut merged = defaults.clone();
        merged.extend(table);
        let options =
            options_from(merged).map_err(|(key, message)| fail(key.as_deref(), message))?;
        let config = options::apply(options, &url).map_err(|error| {
            fail(
                Some(error.field()),
                rtsp_ingest::redact::redact(error.message()).into_owned(),
            )
        })?;
        streams.push((id, config));
    }
    Ok(ConfigFile { manager, streams })
}

/// `key: ` or nothing.
fn field(key: &Option<String>) -> String {
    key.as_ref().map_or(String::new(), |key| format!("{key}: "))
}

/// Deserialises a table of options; on failure, the key at fault if serde named one.
fn options_from(table: Table) -> Result<StreamOptions, (Option<String>, String)> {
    let keys: Vec<String> = table.keys().cloned().collect();
    Value::Table(table)
        .try_into::<StreamOptions>()
        .map_err(|error| {
            let message = error.message().trim_end().to_owned();
            // serde names unknown fields as "unknown field `x`"; for a bad value the
            // path is in the message as "key" or the error names the field.
            let key = backticked(&message, "unknown field `").or_else(|| {
                keys.iter()
                    .find(|key| message.contains(&format!("`{key}`")))
                    .cloned()
            });
            (key, message)
        })
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let start = message.find(prefix)? + prefix.len();
    let end = message[start..].find('`')?;
    Some(message[start..start + end].to_owned())
}

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where `key` is set in the table that starts at `span` (up to the
/// next table header), else the table's first line.
fn key_line(text: &str, span: std::ops::Range<usize>, key: Option<&str>) -> usize {
    let start = span.start.min(text.len());
    let found = key.and_then(|key| {
        let mut offset = start;
        for (index, line) in text[start..].split_inclusive('\n').enumerate() {
            let trimmed = line.trim_start();
            if index > 0 && trimmed.starts_with('[') {
                break;
            }
            let sets_key = trimmed
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='));
            if sets_key {
                return Some(offset);
            }
            offset += line.len();
        }
        None
    });
    line_of(text, found.unwrap_or(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[manager]
memory_budget_mb = 512

[defaults]
format = "gray8"
transport = "udp"

[[stream]]
id = "gate"
url = "rtsp://viewer:s3cret@10.0.0.5/live"

[[stream]]
id = "dock"
url = "rtsp://10.0.0.6/live"
format = "rgb24"
resize = "640x360"
"#;

    #[test]
    fn defaults_apply_and_entries_override_them() {
        let file = parse("cams.toml", GOOD).unwrap();
        assert_eq!(file.manager.memory_budget_mb, Some(512.0));
        let ids: Vec<&str> = file.streams.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["gate", "dock"]);
        let gate = format!("{:?}", file.streams[0].1);
        assert!(gate.contains("Gray8") && gate.contains("Udp"), "{gate}");
        assert!(!gate.contains("s3cret"), "{gate}");
        let dock = format!("{:?}", file.streams[1].1);
        assert!(
            dock.contains("Rgb24") && dock.contains("Some((640, 360))"),
            "{dock}"
        );
    }

    #[test]
    fn letterbox_options_come_from_the_file() {
        let text = "[[stream]]\nid = \"gate\"\nurl = \"rtsp://10.0.0.5/live\"\n\
                    resize = \"640x640\"\nresize_mode = \"letterbox\"\npad_value = 0\n";
        let file = parse("cams.toml", text).unwrap();
        let gate = format!("{:?}", file.streams[0].1);
        assert!(
            gate.contains("mode: Letterbox") && gate.contains("pad: 0"),
            "{gate}"
        );
        let error = error(&text.replace("letterbox", "crop"));
        assert!(error.contains("resize_mode"), "{error}");
    }

    fn error(text: &str) -> String {
        parse("cams.toml", text).unwrap_err()
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let bad_value = GOOD.replace("resize = \"640x360\"", "resize = \"640by360\"");
        let message = error(&bad_value);
        assert!(
            message.starts_with("cams.toml:17: stream `dock`: resize:"),
            "{message}"
        );
        let unknown = GOOD.replace("format = \"rgb24\"", "fromat = \"rgb24\"");
        let message = error(&unknown);
        assert!(
            message.starts_with("cams.toml:16: stream `dock`: fromat:"),
            "{message}"
        );
        let default = GOOD.replace("transport = \"udp\"", "transport = \"sctp\"");
        let message = error(&default);
        assert!(message.starts_with("cams.toml:"), "{message}");
        assert!(
            message.contains("stream `gate`: transport:"),
            "a default is checked where used: {message}"
        );
        let missing = GOOD.replace("url = \"rtsp://10.0.0.6/live\"\n", "");
        assert!(
            error(&missing).contains("stream `dock`: missing `url`"),
            "{}",
            error(&missing)
        );
        let duplicate = GOOD.replace("id = \"dock\"", "id = \"gate\"");
        assert!(
            error(&duplicate).contains(":14: stream `gate`: id: `gate` is used"),
            "{}",
            error(&duplicate)
        );
        let syntax = error("[[stream]\nid = 1");
        assert!(syntax.starts_with("cams.toml:1:"), "{syntax}");
        let section = error("[streams]\n");
        assert!(section.contains("streams"), "{section}");
        let bad_url = GOOD.replace("rtsp://10.0.0.6/live", "http://u:pw@10.0.0.6/live");
        let message = error(&bad_url);
        assert!(
            message.contains(":15: stream `dock`: url:") && !message.contains("pw@"),
            "{message}"
        );
    }

    #[test]
    fn the_kubernetes_example_config_is_valid() {
        let text = include_str!("../../../deploy/kubernetes/cameras.toml");
        let file = parse("cameras.toml", text).unwrap();
        assert_eq!(file.streams.len(), 4);
        assert!(file.manager.memory_budget_mb.is_some());
    }
}
