//! The pipeline file: TOML, read into typed settings with every problem reported at once.

mod endpoint;
mod reader;
mod sections;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use endpoint::check_endpoint;
pub use reader::Problem;
pub use sections::TOPIC_LABEL;

use crate::event::FieldPath;

/// Everything a pipeline needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The ZeroMQ sockets to receive from (`[[ingest.sockets]]`).
    pub sockets: Vec<SocketConfig>,
    /// Frame layout and decoding (`[process]`).
    pub process: ProcessConfig,
    /// Derived metrics (`[[collect.metrics]]`).
    pub metrics: Vec<MetricConfig>,
    /// Sinks and the dead-letter file (`[export]`).
    pub export: ExportConfig,
    /// The admin HTTP server (`[admin]`).
    pub admin: AdminConfig,
    /// Monitor settings (`[monitor]`).
    pub monitor: MonitorConfig,
    /// Queues and shutdown (`[pipeline]`).
    pub pipeline: PipelineConfig,
}

/// The kind of ZeroMQ socket to receive on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// SUB: receives what a PUB publishes, filtered by topic prefix.
    Sub,
    /// PULL: receives its share of what PUSH peers send.
    Pull,
}

impl SocketKind {
    /// The lowercase name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketKind::Sub => "sub",
            SocketKind::Pull => "pull",
        }
    }
}

/// One ingest socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketConfig {
    /// Unique name; it labels the source of every message.
    pub name: String,
    /// Socket type.
    pub kind: SocketKind,
    /// Endpoints to bind, such as `tcp://127.0.0.1:5556`.
    pub bind: Vec<String>,
    /// Endpoints to connect to.
    pub connect: Vec<String>,
    /// Topic prefixes to subscribe to (SUB only); `[""]` receives everything.
    pub subscribe: Vec<String>,
    /// Receive high-water mark, in messages (ZMQ_RCVHWM).
    pub receive_hwm: i32,
    /// Largest inbound frame libzmq accepts before disconnecting the peer (ZMQ_MAXMSGSIZE).
    pub max_message_bytes: Option<i64>,
    /// First reconnect delay (ZMQ_RECONNECT_IVL).
    pub reconnect_interval_ms: i32,
    /// Longest reconnect delay with exponential backoff; 0 keeps it fixed.
    pub reconnect_interval_max_ms: i32,
    /// Heartbeat interval (ZMQ_HEARTBEAT_IVL); 0 switches heartbeats off.
    pub heartbeat_interval_ms: i32,
    /// Heartbeat timeout (ZMQ_HEARTBEAT_TIMEOUT); 0 uses the interval.
    pub heartbeat_timeout_ms: i32,
    /// TCP keepalive: `None` leaves the OS default.
    pub tcp_keepalive: Option<bool>,
    /// Whether the socket may use IPv6 (ZMQ_IPV6); by default true when an endpoint has a
    /// bracketed IPv6 host such as `tcp://[::1]:5556`, false otherwise.
    pub ipv6: bool,
}

/// How the body frame is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    /// JSON text.
    Json,
    /// UTF-8 text, kept as a string.
    Text,
    /// Anything, kept as base64.
    Bytes,
}

/// Frame roles and decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessConfig {
    /// Index of the topic frame, if messages carry one.
    pub topic_frame: Option<usize>,
    /// Index of the body frame.
    pub body_frame: usize,
    /// How the body is decoded.
    pub decode: Decoding,
    /// Largest message (all frames together) that is decoded; larger ones fail as `too_large`.
    pub max_message_bytes: usize,
}

/// Where a derived metric's label value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelSource {
    /// A field of the body.
    Field(FieldPath),
    /// The message topic.
    Topic,
}

/// One derived metric: event counts and a numeric summary of a field, labelled by another field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricConfig {
    /// Unique metric name.
    pub name: String,
    /// The numeric field to summarize; `None` counts events only.
    pub field: Option<FieldPath>,
    /// Where the label value comes from; `None` keeps one series.
    pub label: Option<LabelSource>,
    /// Most distinct label values kept; the rest are counted under `other`.
    pub max_labels: usize,
    /// How many recent values the rolling mean covers.
    pub window: usize,
}

/// One output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkConfig {
    /// A JSON Lines file, appended to.
    File {
        /// Unique sink name.
        name: String,
        /// File path.
        path: PathBuf,
    },
    /// JSON Lines on standard output.
    Stdout {
        /// Unique sink name.
        name: String,
    },
}

impl SinkConfig {
    /// The sink's name.
    pub fn name(&self) -> &str {
        match self {
            SinkConfig::File { name, .. } | SinkConfig::Stdout { name } => name,
        }
    }
}

/// Sinks and the dead-letter output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    /// Every sink receives every event.
    pub sinks: Vec<SinkConfig>,
    /// JSON Lines file for failed messages.
    pub dead_letter: PathBuf,
}

/// The admin HTTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Whether to serve at all.
    pub enabled: bool,
    /// Listen address; loopback by default.
    pub address: SocketAddr,
}

/// Monitor settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Durations kept per operation for the rolling statistics.
    pub window: usize,
    /// Seconds between one-line summaries in the log; 0 switches them off.
    pub summary_interval_s: u64,
}

/// Queues and shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Most messages moved between domains at once.
    pub batch_max: usize,
    /// Batches each queue between domains holds before the upstream domain waits.
    pub queue_batches: usize,
    /// How long a graceful shutdown may take before it is forced.
    pub shutdown_deadline_ms: u64,
}

/// The configuration could not be used; every problem found is listed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{origin}: not valid TOML: {message}")]
    Syntax {
        /// Where the text came from.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// The TOML is valid but its settings are not.
    #[error("{origin}: {} problem(s):\n{}", problems.len(), list(problems))]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// Every problem, in file order as far as possible.
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Reads and validates the file at `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the file cannot be read, is not TOML, or has invalid settings; the
    /// last lists every problem found.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML `text`; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Syntax`] or [`ConfigError::Invalid`].
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    origin: origin.to_owned(),
                    message: e.to_string(),
                })?;
        sections::read(&table).map_err(|problems| ConfigError::Invalid {
            origin: origin.to_owned(),
            problems,
        })
    }
}

#[cfg(test)]
mod tests;
