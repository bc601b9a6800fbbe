//! One stream (`rtsp_service`): its configuration, its worker (open → read →
//! decode → convert → publish), the stall watchdog and the reconnect policy.

mod config;
mod connect;
mod handle;
mod latency;
mod session;
mod status;
mod worker;

pub use crate::ffmpeg::ConnectStage;
pub use config::{Backoff, Credentials, Secret, SkipPolicy, StreamConfig, Transport};
pub use handle::Stream;
pub(crate) use handle::StreamShared;
pub use latency::LatencyHistogram;
pub use status::{MediaInfo, StateDetail, StreamDrops, StreamEvent, StreamState, StreamStatus};
