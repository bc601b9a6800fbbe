//! One stream (`rtsp_service`): its configuration, its worker (open → read →
//! decode → convert → publish), the stall watchdog and the reconnect policy.

mod band_conversion;
mod capture_clock;
mod client_choice;
mod config;
mod connect;
mod events;
mod feed;
mod ffmpeg_source;
mod frame_rate;
mod handle;
mod latency;
mod lending;
mod native;
mod negotiate;
mod publisher;
mod rtsp_client;
mod session;
mod source;
mod status;
mod worker;

pub use crate::ffmpeg::ConnectStage;
pub use config::{
    Backoff, Credentials, DecodeMode, OnDamage, ResizeMode, ScaleAlgorithm, Secret, SkipPolicy,
    StreamConfig, Transport,
};
pub(crate) use events::EventChannel;
pub use events::STREAM_EVENTS_CAPACITY;
pub(crate) use handle::StreamShared;
pub use handle::{FrameSource, Stream};
pub use latency::{LatencyHistogram, StageLatency};
pub use rtsp_client::RtspClient;
pub use status::{MediaInfo, StateDetail, StreamDrops, StreamEvent, StreamState, StreamStatus};
