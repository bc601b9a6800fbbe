//! One stream (`rtsp_service`): its configuration, its worker (open → read →
//! decode → convert → publish), the stall watchdog and the reconnect policy.

mod config;

pub use config::{Backoff, Credentials, Secret, SkipPolicy, StreamConfig, Transport};
