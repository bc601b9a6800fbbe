//! Python keyword options → [`StreamConfig`]. Each option is the library's
//! setter of the same name; durations are seconds (floats). An unknown or
//! invalid option raises `ConfigError` naming it (`.field`), without echoing
//! a password.

use std::num::NonZeroU32;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use rtsp_ingest::slab::{DropPolicy, PixelFormat};
use rtsp_ingest::stream::{
    Backoff, DecodeMode, OnDamage, ResizeMode, ScaleAlgorithm, Secret, SkipPolicy, StreamConfig,
    Transport,
};

use crate::errors::{config_error, OrRaise};

/// Every option `Stream(...)` and `Manager.add(...)` take, for the error
/// about an unknown one.
const OPTIONS: &str =
    "format, resize, resize_mode, pad_value, scale_algorithm, decode_in_place, transport, decode_threads, skip, decode, on_damage, connect_timeout, \
     stall_timeout, backoff, auth_retry, queue_capacity, drop_policy, reader_slots, \
     max_memory_mb, core, username, password";

/// Builds the stream config for `url` from `options` (keyword arguments).
pub(crate) fn stream_config(
    url: &str,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<StreamConfig> {
    let mut config =
        StreamConfig::new(url).map_err(|error| config_error("url", error.to_string()))?;
    let mut username = None;
    let mut password = None;
    if let Some(options) = options {
        for (key, value) in options.iter() {
            let key: String = key.extract()?;
            if value.is_none() {
                continue; // an option given as None keeps the default
            }
            config = apply(config, &key, &value, &mut username, &mut password)?;
        }
    }
    if let Some(password) = password {
        let user = username
            .or_else(|| config.credentials().map(|login| login.username.clone()))
            .unwrap_or_default();
        config = config.credentials_from(user, password);
    } else if let Some(user) = username {
        let password = config
            .credentials()
            .map(|login| login.password.clone())
            .unwrap_or_else(|| Secret::new(""));
        config = config.credentials_from(user, password);
    }
    config.validate().or_raise()?;
    Ok(config)
}

fn apply(
    config: StreamConfig,
    key: &str,
    value: &Bound<'_, PyAny>,
    username: &mut Option<String>,
    password: &mut Option<Secret>,
) -> PyResult<StreamConfig> {
    Ok(match key {
        "format" => config.format(parse::<PixelFormat>(key, value)?),
        "transport" => config.transport(parse::<Transport>(key, value)?),
        "resize" => {
            let (width, height) = size(key, value)?;
            config.resize(width, height)
        }
        "resize_mode" => config.resize_mode(parse::<ResizeMode>(key, value)?),
        "scale_algorithm" => config.scale_algorithm(parse::<ScaleAlgorithm>(key, value)?),
        "decode_in_place" => config.decode_in_place(
            value
                .extract::<bool>()
                .map_err(|_| config_error(key, "decode_in_place is True or False"))?,
        ),
        "pad_value" => config.pad_value(
            value
                .extract::<u8>()
                .map_err(|_| config_error(key, "pad_value is an integer level from 0 to 255"))?,
        ),
        "decode_threads" => config.decode_threads(number(key, value)?),
        "skip" => config.skip(skip(value)?),
        "decode" => config.decode(parse::<DecodeMode>(key, value)?),
        "on_damage" => config.on_damage(parse::<OnDamage>(key, value)?),
        "connect_timeout" => config.connect_timeout(seconds(key, value)?),
        "stall_timeout" => config.stall_timeout(seconds(key, value)?),
        "auth_retry" => config.auth_retry(seconds(key, value)?),
        "backoff" => {
            let (initial, max): (Bound<'_, PyAny>, Bound<'_, PyAny>) = value
                .extract()
                .map_err(|_| config_error(key, "backoff is (initial, max) in seconds"))?;
            config.backoff(Backoff {
                initial: seconds(key, &initial)?,
                max: seconds(key, &max)?,
            })
        }
        "queue_capacity" => config.queue_capacity(number(key, value)?),
        "drop_policy" => config.drop_policy(parse::<DropPolicy>(key, value)?),
        "reader_slots" => config.reader_slots(number(key, value)?),
        "max_memory_mb" => {
            let megabytes: f64 = value
                .extract()
                .map_err(|_| config_error(key, "max_memory_mb is a number of megabytes"))?;
            config.max_memory_mb(megabytes)
        }
        "core" => config.core(number(key, value)?),
        "username" => {
            *username = Some(text(key, value)?);
            config
        }
        "password" => {
            // Never echo it: not even its type in an error.
            let secret = value
                .cast::<PyString>()
                .map_err(|_| config_error(key, "password must be a string"))?
                .to_str()?;
            *password = Some(Secret::new(secret));
            config
        }
        other => {
            return Err(config_error(
                other,
                format!("unknown option `{other}`; the options are {OPTIONS}"),
            ))
        }
    })
}

fn text(key: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    value
        .extract::<String>()
        .map_err(|_| config_error(key, format!("{key} must be a string")))
}

/// An enum option given by its name (`"bgr24"`, a `DropPolicy`, ...).
fn parse<T>(key: &str, value: &Bound<'_, PyAny>) -> PyResult<T>
where
    T: std::str::FromStr<Err = rtsp_ingest::Error>,
{
    // Enum members (`DropPolicy.SAMPLE`) carry the name in `.value`.
    let name = match value.getattr("value") {
        Ok(inner) if !value.is_instance_of::<PyString>() => inner.str()?.to_str()?.to_owned(),
        _ => value.str()?.to_str()?.to_owned(),
    };
    name.parse::<T>()
        .map_err(|error| config_error(key, format!("{key}: {}", error.message())))
}

fn number<T: for<'a, 'py> FromPyObject<'a, 'py>>(
    key: &str,
    value: &Bound<'_, PyAny>,
) -> PyResult<T> {
    value.extract::<T>().map_err(|_| {
        config_error(
            key,
            format!("{key} must be a non-negative integer in range"),
        )
    })
}

/// Seconds as a float (or int) → a duration.
pub(crate) fn seconds(key: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let seconds: f64 = value
        .extract()
        .map_err(|_| config_error(key, format!("{key} is a number of seconds")))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| config_error(key, format!("{key} {seconds} is not a duration in seconds")))
}

/// `(width, height)` or `"WIDTHxHEIGHT"`.
pub(crate) fn size(key: &str, value: &Bound<'_, PyAny>) -> PyResult<(u32, u32)> {
    if let Ok(pair) = value.extract::<(u32, u32)>() {
        return Ok(pair);
    }
    let bad = || config_error(key, format!("{key} is (width, height) or \"WIDTHxHEIGHT\""));
    let text: String = value.extract().map_err(|_| bad())?;
    let (width, height) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    Ok((
        width.trim().parse().map_err(|_| bad())?,
        height.trim().parse().map_err(|_| bad())?,
    ))
}

/// `"all"`, `"keyframes"`, `"every_nth(N)"`, or an int N (every Nth frame).
fn skip(value: &Bound<'_, PyAny>) -> PyResult<SkipPolicy> {
    if let Ok(n) = value.extract::<u32>() {
        return NonZeroU32::new(n)
            .map(SkipPolicy::EveryNth)
            .ok_or_else(|| config_error("skip", "skip: every Nth frame needs N ≥ 1"));
    }
    parse::<SkipPolicy>("skip", value)
}
