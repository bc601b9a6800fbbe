//! What `run` and `demo` show while they ingest: on a terminal, a status table
//! redrawn every second (state, fps, frames lost before publication,
//! reconnects, frame age per stream; with consumers, as in `demo`, also the
//! frames delivered to each consumer, its fps and glass-to-consumer latency);
//! otherwise, or with `--json`, one JSON object per line on stdout (`status`
//! every second, each `event`, a final `summary`), so stdout stays parseable.
//! Human-readable event lines go to stderr except under the live table.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rtsp_ingest::redact::redact;
use rtsp_ingest::stream::{StreamEvent, StreamState, StreamStatus};
use serde_json::{json, Value};

use crate::consumer::{summary_ms, Consumers};
use crate::report::{ErrorReport, StatusReport};

/// The output mode and what it needs to compute rates.
pub struct Monitor {
    table: bool,
    /// Lines the last table drew, to redraw over them.
    drawn: usize,
    /// `(published, when)` per stream at the last tick.
    previous: HashMap<String, (u64, Instant)>,
    /// The streams' consumers, when the command runs them (`demo`).
    consumers: Option<Arc<Consumers>>,
    /// `(delivered, when)` per consumer at the last tick.
    previous_delivered: HashMap<String, (u64, Instant)>,
}

/// What one stream's consumer did, as shown.
struct ConsumerView {
    delivered: u64,
    /// Since the last tick.
    fps: Option<f64>,
    /// Glass to consumer over the consumer's recent frames: `{p50, p99, max, count}`.
    glass: Value,
}

impl Monitor {
    /// A live table when stdout is a terminal and `json` is off, else JSON lines.
    pub fn new(json: bool) -> Self {
        Self {
            table: !json && std::io::stdout().is_terminal(),
            drawn: 0,
            previous: HashMap::new(),
            consumers: None,
            previous_delivered: HashMap::new(),
        }
    }

    /// Shows these consumers beside their streams.
    pub fn with_consumers(mut self, consumers: Arc<Consumers>) -> Self {
        self.consumers = Some(consumers);
        self
    }

    fn consumer_view(&mut self, id: &str) -> Option<ConsumerView> {
        let report = self.consumers.as_ref()?.report(id)?;
        let now = Instant::now();
        let fps = self
            .previous_delivered
            .insert(id.to_owned(), (report.delivered, now))
            .and_then(|(delivered, then)| {
                let seconds = now.duration_since(then).as_secs_f64();
                (seconds > 0.0).then(|| report.delivered.saturating_sub(delivered) as f64 / seconds)
            });
        Some(ConsumerView {
            delivered: report.delivered,
            fps,
            glass: summary_ms(report.glass()),
        })
    }

    fn consumer_json(view: Option<&ConsumerView>) -> Value {
        view.map_or(Value::Null, |view| {
            json!({
                "frames": view.delivered,
                "fps": view.fps,
                "glass_to_consumer_ms": view.glass,
            })
        })
    }

    /// Announces the control API's address.
    pub fn listening(&self, address: &str) -> std::io::Result<()> {
        if self.table {
            eprintln!("listening on http://{address}");
            Ok(())
        } else {
            line(&json!({"type": "listening", "url": format!("http://{address}")}))
        }
    }

    /// A state transition.
    pub fn event(&self, event: &StreamEvent) -> std::io::Result<()> {
        if self.table {
            return Ok(());
        }
        eprintln!("{}", event_line(event));
        let detail = match &event.state {
            StreamState::Reconnecting { attempt, next_in } => {
                json!({"attempt": attempt, "next_in_ms": next_in.as_millis()})
            }
            _ => serde_json::Value::Null,
        };
        line(&json!({
            "type": "event",
            "id": event.id,
            "state": event.state.name(),
            "state_detail": detail,
            "at_ms": unix_ms(event.at),
            "error": event.error.as_ref().map(ErrorReport::new),
            "media": event.media.as_ref().map(|media| json!({
                "codec": media.codec,
                "width": media.width,
                "height": media.height,
            })),
        }))
    }

    /// The periodic view: redraws the table, or prints a `status` line.
    pub fn tick(&mut self, statuses: &[StreamStatus]) -> std::io::Result<()> {
        let rates: Vec<Option<f64>> = statuses.iter().map(|status| self.fps(status)).collect();
        let consumers: Vec<Option<ConsumerView>> = statuses
            .iter()
            .map(|status| self.consumer_view(&status.id))
            .collect();
        if !self.table {
            let streams: Vec<_> = statuses
                .iter()
                .zip(&rates)
                .zip(&consumers)
                .map(|((status, fps), consumer)| {
                    let mut stream = json!({"fps": fps, "status": StatusReport::new(status)});
                    if self.consumers.is_some() {
                        stream["consumer"] = Self::consumer_json(consumer.as_ref());
                    }
                    stream
                })
                .collect();
            return line(
                &json!({"type": "status", "time_ms": unix_ms(SystemTime::now()), "streams": streams}),
            );
        }
        let text = table(
            statuses,
            &rates,
            self.consumers.as_ref().map(|_| &consumers[..]),
        );
        let mut stdout = std::io::stdout().lock();
        if self.drawn > 0 {
            // Up to the table's first line, and clear to the end of the screen.
            write!(stdout, "\x1b[{}A\x1b[J", self.drawn)?;
        }
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        self.drawn = text.lines().count();
        Ok(())
    }

    /// The end: the final table and a line per stream, or a `summary` line.
    pub fn summary(&mut self, statuses: &[StreamStatus]) -> std::io::Result<()> {
        if !self.table {
            let mut streams: Vec<Value> = Vec::with_capacity(statuses.len());
            for status in statuses {
                let mut stream = serde_json::to_value(StatusReport::new(status))?;
                if self.consumers.is_some() {
                    let view = self.consumer_view(&status.id);
                    stream["consumer"] = Self::consumer_json(view.as_ref());
                }
                streams.push(stream);
            }
            return line(&json!({"type": "summary", "streams": streams}));
        }
        self.tick(statuses)?;
        let mut stdout = std::io::stdout().lock();
        for status in statuses {
            writeln!(stdout, "{}", summary_line(status))?;
        }
        stdout.flush()
    }

    fn fps(&mut self, status: &StreamStatus) -> Option<f64> {
        let now = Instant::now();
        let previous = self
            .previous
            .insert(status.id.clone(), (status.published, now));
        let (published, then) = previous?;
        let seconds = now.duration_since(then).as_secs_f64();
        (seconds > 0.0).then(|| status.published.saturating_sub(published) as f64 / seconds)
    }
}

fn line(value: &serde_json::Value) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{value}")?;
    stdout.flush()
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// A state transition as one human line: `cam0: reconnecting (attempt 2, in 130 ms): ...`;
/// a media change as `cam0: streaming, now h264 1280x720`.
pub fn event_line(event: &StreamEvent) -> String {
    let detail = match (&event.state, &event.media) {
        (_, Some(media)) => format!(", now {} {}x{}", media.codec, media.width, media.height),
        (StreamState::Reconnecting { attempt, next_in }, None) => {
            format!(" (attempt {attempt}, in {} ms)", next_in.as_millis())
        }
        _ => String::new(),
    };
    let cause = event
        .error
        .as_ref()
        .map(|error| format!(": {error}"))
        .unwrap_or_default();
    format!(
        "{}: {}{detail}{}",
        event.id,
        event.state.name(),
        redact(&cause)
    )
}

/// One line: id, state, URL and counters, the last error last.
pub fn summary_line(status: &StreamStatus) -> String {
    let mut line = format!(
        "{} {} {} decoded={} published={} dropped={} evicted={} decode_errors={} reconnects={} bytes_in={}",
        status.id,
        status.state.name(),
        redact(&status.url),
        status.decoded,
        status.published,
        status.dropped.total(),
        status.evicted.total(),
        status.decode_errors,
        status.reconnects,
        status.bytes_in,
    );
    if let Some(detail) = &status.state_detail {
        line.push_str(&format!(" waiting=\"{detail}\""));
    }
    if let Some(latency) = status.first_frame_latency {
        line.push_str(&format!(" first_frame_ms={}", latency.as_millis()));
    }
    if let Some(error) = &status.last_error {
        line.push_str(&format!(" last_error=\"{}\"", redact(&error.to_string())));
    }
    line
}

/// The consumer's columns: frames delivered, fps, glass-to-consumer p50 / p99.
fn consumer_columns(view: Option<&ConsumerView>) -> String {
    let Some(view) = view else {
        return format!("{:>9}  {:>8}  {:>13}  ", "-", "-", "-");
    };
    let fps = view.fps.map_or("-".to_owned(), |fps| format!("{fps:.1}"));
    let ms = |key: &str| {
        view.glass[key]
            .as_f64()
            .map_or("-".to_owned(), |v| format!("{v:.0}"))
    };
    let glass = format!("{} / {}", ms("p50"), ms("p99"));
    format!("{:>9}  {:>8}  {:>13}  ", view.delivered, fps, glass)
}

/// The status table (with the consumers' columns when there are consumers).
fn table(
    statuses: &[StreamStatus],
    rates: &[Option<f64>],
    consumers: Option<&[Option<ConsumerView>]>,
) -> String {
    let width = statuses
        .iter()
        .map(|s| s.id.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let consumer_head = if consumers.is_some() {
        format!(
            "{:>9}  {:>8}  {:>13}  ",
            "DELIVERED", "CONS FPS", "G2C p50/p99"
        )
    } else {
        String::new()
    };
    let mut text = format!(
        "{:<width$}  {:<12}  {:>6}  {:>8}  {consumer_head}{:>6}  {:>6}  {:>8}  {}\n",
        "STREAM", "STATE", "FPS", "FRAMES", "DROPS", "RECONN", "AGE", "WAITING FOR / LAST ERROR"
    );
    for (row, (status, fps)) in statuses.iter().zip(rates).enumerate() {
        let consumer = consumers.map_or(String::new(), |views| {
            consumer_columns(views.get(row).and_then(Option::as_ref))
        });
        let fps = fps.map_or("-".to_owned(), |fps| format!("{fps:.1}"));
        let age = status
            .last_frame_age
            .map_or("-".to_owned(), |age| format!("{} ms", age.as_millis()));
        // A connecting stream says what it waits for; any other its last error.
        let waiting = status.state_detail.map(|detail| detail.to_string());
        let error = status.last_error.as_ref().map(|error| error.to_string());
        let error = waiting.or(error).map_or(String::new(), |text| {
            let text = redact(&text).into_owned();
            match text.char_indices().nth(48) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        });
        text.push_str(&format!(
            "{:<width$}  {:<12}  {:>6}  {:>8}  {consumer}{:>6}  {:>6}  {:>8}  {error}\n",
            status.id,
            status.state.name(),
            fps,
            status.published,
            status.dropped.total(),
            status.reconnects,
            age,
        ));
    }
    if consumers.is_some() {
        text.push_str(
            "FRAMES: published by the stream. DELIVERED: taken by its consumer, the newest frame \
             each time it is ready\n(frames published while it works are skipped). G2C: glass \
             to consumer in ms, over the last 10 s.\n",
        );
    }
    text
}
