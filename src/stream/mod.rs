//! One stream (`rtsp_service`): its configuration, its worker (open → read →
//! decode → convert → publish), the stall watchdog and the reconnect policy.

mod config;
mod handle;
mod latency;
mod session;
mod status;
mod worker;

pub use config::{Backoff, Credentials, Secret, SkipPolicy, StreamConfig, Transport};
pub(crate) use handle::StreamShared;
pub use handle::{FrameSource, Stream};
pub use latency::{LatencyHistogram, StageLatency};
pub use status::{MediaInfo, StreamDrops, StreamEvent, StreamState, StreamStatus};
