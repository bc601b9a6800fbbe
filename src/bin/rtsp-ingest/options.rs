//! A stream's options as people write them: one flat table whose keys mirror
//! [`StreamConfig`]'s setters, read with serde from the control API's JSON (and,
//! later, from the config file), and [`apply`] to turn them into a config.
//!
//! Every error names the key it is about, so the caller can say
//! `options.format: pixel format `rgba` is not one of ...` and the user knows
//! what to fix. Nothing here knows about HTTP or JSON.

use std::fmt;
use std::time::Duration;

use rtsp_ingest::slab::{DropPolicy, PixelFormat};
use rtsp_ingest::stream::{
    Backoff, DecodeMode, OnDamage, ResizeMode, RtspClient, ScaleAlgorithm, Secret, SkipPolicy,
    StreamConfig, Transport,
};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::Deserialize;

/// Per-stream options; every key is optional and an absent one keeps
/// [`StreamConfig::new`]'s default.
///
/// Durations are integers in the unit their name ends with. The policies take
/// the names their `FromStr` accepts.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StreamOptions {
    /// `tcp`, `udp` or `auto`.
    pub transport: Option<String>,
    /// `ffmpeg` (default) or `native` (the retina RTSP client).
    pub rtsp_client: Option<String>,
    /// `bgr24`, `rgb24`, `gray8`, `yuv420p`, `nv12` or `rgb_planar` (R, G,
    /// B planes: a CHW tensor).
    pub format: Option<String>,
    /// Output size as `WIDTHxHEIGHT`, e.g. `640x360`.
    pub resize: Option<String>,
    /// How the picture fits `resize`: `stretch` (default) or `letterbox`
    /// (aspect ratio kept, centred, the rest padded with `pad_value`).
    pub resize_mode: Option<String>,
    /// The letterbox padding's level, 0 ..= 255 (default 114).
    pub pad_value: Option<u8>,
    /// swscale's filter for `resize`: `point`, `fast_bilinear`, `bilinear`
    /// (default), `bicubic` or `area`.
    pub scale_algorithm: Option<String>,
    /// Whether a `yuv420p` stream at the camera's size is decoded straight
    /// into its slots (default true).
    pub decode_in_place: Option<bool>,
    /// Decoder threads, 1 ..= 64.
    pub decode_threads: Option<u32>,
    /// `all`, `keyframes` or `every_nth(N)`.
    pub skip: Option<String>,
    /// `full` (default) or `fast`: no deblocking filter, not bit-exact.
    pub decode: Option<String>,
    /// After damage (packet loss, decode errors): `hold` (publish only clean
    /// frames, the default) or `flag` (publish damaged frames too, flagged).
    pub on_damage: Option<String>,
    /// Bound on connecting and on each blocking read, at least 10.
    pub connect_timeout_ms: Option<u64>,
    /// No decoded frame for this long means a stall.
    pub stall_timeout_ms: Option<u64>,
    /// The ceiling of the first reconnect wait.
    pub backoff_initial_ms: Option<u64>,
    /// The largest reconnect wait.
    pub backoff_max_ms: Option<u64>,
    /// The wait before logging in again after a 401/403.
    pub auth_retry_s: Option<u64>,
    /// Frames the ordered queue holds.
    pub queue_capacity: Option<usize>,
    /// `latest`, `sample` or `drop-newest`.
    pub drop_policy: Option<String>,
    /// Spare slots for frames readers hold.
    pub reader_slots: Option<usize>,
    /// Caps the stream's slab memory.
    pub max_memory_mb: Option<f64>,
    /// The core to pin the decode worker to.
    pub core: Option<usize>,
    /// The camera login's user name (replaces one in the URL).
    pub username: Option<String>,
    /// The camera login's password (replaces one in the URL). Never printed,
    /// and a value of the wrong type is not echoed in the error either.
    #[serde(default, deserialize_with = "password")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub password: Option<Secret>,
}

/// A stream's URL or one of its options is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    field: &'static str,
    message: String,
}

// Without the control API only `Display` reads a field error (until the config file).
#[cfg_attr(not(feature = "http"), allow(dead_code))]
impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }

    /// `"url"`, or the [`StreamOptions`] key at fault (`"format"`), without a prefix.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What is wrong, without the field name; never contains a password.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Builds the config of a stream reading `url` with `options`.
///
/// Each option is applied and then checked with [`StreamConfig::validate`]:
/// the defaults are valid, so the first check that fails is about the option
/// just set, and the error names it.
///
/// # Errors
/// A [`FieldError`] naming `url` or the first invalid option.
pub fn apply(options: StreamOptions, url: &str) -> Result<StreamConfig, FieldError> {
    let mut config =
        StreamConfig::new(url).map_err(|error| FieldError::new("url", error.message()))?;
    if let Some(text) = &options.transport {
        config = config.transport(parse::<Transport>("transport", text)?);
    }
    if let Some(text) = &options.rtsp_client {
        config = checked(
            "rtsp_client",
            config.rtsp_client(parse::<RtspClient>("rtsp_client", text)?),
        )?;
    }
    if let Some(text) = &options.format {
        config = checked(
            "format",
            config.format(parse::<PixelFormat>("format", text)?),
        )?;
    }
    if let Some(text) = &options.resize {
        let (width, height) = parse_size(text).ok_or_else(|| {
            FieldError::new(
                "resize",
                format!("`{text}` is not WIDTHxHEIGHT, e.g. 640x360"),
            )
        })?;
        config = checked("resize", config.resize(width, height))?;
    }
    if let Some(text) = &options.resize_mode {
        config = config.resize_mode(parse::<ResizeMode>("resize_mode", text)?);
    }
    if let Some(value) = options.pad_value {
        config = config.pad_value(value);
    }
    if let Some(text) = &options.scale_algorithm {
        config = config.scale_algorithm(parse::<ScaleAlgorithm>("scale_algorithm", text)?);
    }
    if let Some(on) = options.decode_in_place {
        config = config.decode_in_place(on);
    }
    if let Some(threads) = options.decode_threads {
        config = checked("decode_threads", config.decode_threads(threads))?;
    }
    if let Some(text) = &options.skip {
        config = config.skip(parse::<SkipPolicy>("skip", text)?);
    }
    if let Some(text) = &options.decode {
        config = config.decode(parse::<DecodeMode>("decode", text)?);
    }
    if let Some(text) = &options.on_damage {
        config = config.on_damage(parse::<OnDamage>("on_damage", text)?);
    }
    if let Some(ms) = options.connect_timeout_ms {
        config = checked(
            "connect_timeout_ms",
            config.connect_timeout(Duration::from_millis(ms)),
        )?;
    }
    if let Some(ms) = options.stall_timeout_ms {
        if ms == 0 {
            return Err(FieldError::new("stall_timeout_ms", "0 is not above 0"));
        }
        config = config.stall_timeout(Duration::from_millis(ms));
    }
    if options.backoff_initial_ms.is_some() || options.backoff_max_ms.is_some() {
        let default = Backoff::default();
        let backoff = Backoff {
            initial: options
                .backoff_initial_ms
                .map_or(default.initial, Duration::from_millis),
            max: options
                .backoff_max_ms
                .map_or(default.max, Duration::from_millis),
        };
        // Blame the key that was given: a zero start, else the maximum.
        let field = match (options.backoff_initial_ms, options.backoff_max_ms) {
            (Some(0), _) | (Some(_), None) => "backoff_initial_ms",
            _ => "backoff_max_ms",
        };
        config = checked(field, config.backoff(backoff))?;
    }
    if let Some(seconds) = options.auth_retry_s {
        config = config.auth_retry(Duration::from_secs(seconds));
    }
    if let Some(capacity) = options.queue_capacity {
        config = checked("queue_capacity", config.queue_capacity(capacity))?;
    }
    if let Some(text) = &options.drop_policy {
        config = config.drop_policy(parse::<DropPolicy>("drop_policy", text)?);
    }
    if let Some(slots) = options.reader_slots {
        config = config.reader_slots(slots);
    }
    if let Some(megabytes) = options.max_memory_mb {
        if !(megabytes.is_finite() && megabytes > 0.0) {
            return Err(FieldError::new(
                "max_memory_mb",
                format!("{megabytes} is not a positive number"),
            ));
        }
        config = config.max_memory_mb(megabytes);
    }
    if let Some(core) = options.core {
        let cores = core_affinity::get_core_ids().map_or(0, |ids| ids.len());
        if core >= cores {
            return Err(FieldError::new(
                "core",
                format!("core {core} does not exist: this machine has {cores} cores"),
            ));
        }
        config = config.core(core);
    }
    if options.username.is_some() || options.password.is_some() {
        let from_url = config.credentials().cloned();
        let username = options
            .username
            .or_else(|| from_url.as_ref().map(|login| login.username.clone()))
            .unwrap_or_default();
        let password = options
            .password
            .or_else(|| from_url.map(|login| login.password))
            .unwrap_or_else(|| Secret::new(""));
        config = config.credentials_from(username, password);
    }
    Ok(config)
}

fn parse<T>(field: &'static str, text: &str) -> Result<T, FieldError>
where
    T: std::str::FromStr<Err = rtsp_ingest::Error>,
{
    text.parse()
        .map_err(|error: rtsp_ingest::Error| FieldError::new(field, error.message()))
}

fn checked(field: &'static str, config: StreamConfig) -> Result<StreamConfig, FieldError> {
    config
        .validate()
        .map_err(|error| FieldError::new(field, error.message()))?;
    Ok(config)
}

/// `WIDTHxHEIGHT` (or `WIDTH×HEIGHT`) as two numbers.
fn parse_size(text: &str) -> Option<(u32, u32)> {
    let (width, height) = text
        .split_once(['x', 'X', '×'])
        .map(|(w, h)| (w.trim(), h.trim()))?;
    Some((width.parse().ok()?, height.parse().ok()?))
}

/// Reads a password string. Its visitor answers every other type without the
/// value, so `"password": 12345678` is refused without echoing `12345678`.
fn password<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    struct PasswordVisitor;

    impl<'de> Visitor<'de> for PasswordVisitor {
        type Value = Option<Secret>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a password string")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(Some(Secret::new(value)))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
            inner.deserialize_any(self)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(hidden())
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(hidden())
        }

        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Err(hidden())
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(hidden())
        }

        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Err(hidden())
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(hidden())
        }

        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Err(hidden())
        }
    }

    fn hidden<E: de::Error>() -> E {
        E::invalid_type(
            Unexpected::Other("a value that is not a string"),
            &PasswordVisitor,
        )
    }

    deserializer.deserialize_any(PasswordVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(set: impl FnOnce(&mut StreamOptions)) -> StreamOptions {
        let mut options = StreamOptions::default();
        set(&mut options);
        options
    }

    const URL: &str = "rtsp://cam.local/live";

    #[test]
    fn every_option_applies() {
        let config = apply(
            options(|o| {
                o.transport = Some("udp".into());
                o.format = Some("gray8".into());
                o.resize = Some("640x360".into());
                o.resize_mode = Some("letterbox".into());
                o.pad_value = Some(0);
                o.scale_algorithm = Some("area".into());
                o.decode_in_place = Some(false);
                o.decode_threads = Some(2);
                o.skip = Some("every_nth(3)".into());
                o.on_damage = Some("flag".into());
                o.connect_timeout_ms = Some(2_000);
                o.stall_timeout_ms = Some(4_000);
                o.backoff_initial_ms = Some(100);
                o.backoff_max_ms = Some(1_000);
                o.auth_retry_s = Some(5);
                o.queue_capacity = Some(8);
                o.drop_policy = Some("drop-newest".into());
                o.reader_slots = Some(3);
                o.max_memory_mb = Some(64.0);
                o.core = Some(0);
                o.username = Some("admin".into());
                o.password = Some(Secret::new("hunter2"));
            }),
            URL,
        )
        .unwrap();
        let expected = StreamConfig::new(URL)
            .unwrap()
            .transport(Transport::Udp)
            .format(PixelFormat::Gray8)
            .resize(640, 360)
            .resize_mode(ResizeMode::Letterbox)
            .pad_value(0)
            .scale_algorithm(ScaleAlgorithm::Area)
            .decode_in_place(false)
            .decode_threads(2)
            .skip("every_nth(3)".parse().unwrap())
            .on_damage(OnDamage::Flag)
            .connect_timeout(Duration::from_secs(2))
            .stall_timeout(Duration::from_secs(4))
            .backoff(Backoff {
                initial: Duration::from_millis(100),
                max: Duration::from_secs(1),
            })
            .auth_retry(Duration::from_secs(5))
            .queue_capacity(8)
            .drop_policy(DropPolicy::DropNewest)
            .reader_slots(3)
            .max_memory_mb(64.0)
            .core(0)
            .credentials_from("admin", Secret::new("hunter2"));
        assert_eq!(config, expected);
    }

    #[test]
    fn errors_name_their_field() {
        let cases: [(StreamOptions, &str); 12] = [
            (options(|o| o.format = Some("rgba".into())), "format"),
            (
                options(|o| o.scale_algorithm = Some("lanczos".into())),
                "scale_algorithm",
            ),
            (
                options(|o| o.resize_mode = Some("crop".into())),
                "resize_mode",
            ),
            (options(|o| o.on_damage = Some("show".into())), "on_damage"),
            (options(|o| o.transport = Some("quic".into())), "transport"),
            (options(|o| o.resize = Some("wide".into())), "resize"),
            (options(|o| o.resize = Some("0x10".into())), "resize"),
            (options(|o| o.decode_threads = Some(0)), "decode_threads"),
            (
                options(|o| o.connect_timeout_ms = Some(1)),
                "connect_timeout_ms",
            ),
            (
                options(|o| o.backoff_initial_ms = Some(0)),
                "backoff_initial_ms",
            ),
            (options(|o| o.backoff_max_ms = Some(1)), "backoff_max_ms"),
            (options(|o| o.queue_capacity = Some(0)), "queue_capacity"),
        ];
        for (options, field) in cases {
            let error = apply(options, URL).unwrap_err();
            assert_eq!(error.field(), field, "{error}");
        }
        let error = apply(options(|o| o.format = Some("rgba".into())), URL).unwrap_err();
        assert!(
            error.to_string().starts_with("format: pixel format `rgba`"),
            "{error}"
        );
        let error = apply(options(|o| o.on_damage = Some("show".into())), URL).unwrap_err();
        assert_eq!(
            error.to_string(),
            "on_damage: on_damage `show` is not one of hold, flag"
        );
        let error = apply(StreamOptions::default(), "http://u:hunter2@cam/x").unwrap_err();
        assert_eq!(error.field(), "url");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn a_password_option_replaces_the_urls_and_keeps_its_user() {
        let config = apply(
            options(|o| o.password = Some(Secret::new("new"))),
            "rtsp://admin:old@cam/live",
        )
        .unwrap();
        let login = config.credentials().unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.expose()),
            ("admin", "new")
        );
        assert_eq!(config.url(), "rtsp://cam/live");
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        use serde::de::value::{Error, MapDeserializer};
        let map = MapDeserializer::<_, Error>::new(std::iter::once(("colour", 1u32)));
        let error = StreamOptions::deserialize(map).unwrap_err().to_string();
        assert!(error.starts_with("unknown field `colour`"), "{error}");
        assert!(error.contains("`max_memory_mb`"), "{error}");
    }

    #[test]
    fn a_password_of_the_wrong_type_is_not_echoed() {
        use serde::de::value::{Error, MapDeserializer};
        let map = MapDeserializer::<_, Error>::new(std::iter::once(("password", 12_345_678u64)));
        let error = StreamOptions::deserialize(map).unwrap_err().to_string();
        assert!(!error.contains("12345678"), "{error}");
        assert!(error.contains("a password string"), "{error}");
    }
}
