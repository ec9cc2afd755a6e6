//! Helpers shared by the behaviour tests: pipeline files, a real ZeroMQ peer, and waits that
//! give up after a bound.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zeropipe::config::Config;
use zeropipe::monitor::{CompletionSnapshot, Monitor};

/// How long any wait in these tests may take before the test fails.
pub const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// A pipeline file: one PULL socket on a free loopback port, JSON bodies after a topic frame,
/// a derived metric of `value` labelled by `kind`, a file sink and a dead-letter file in `dir`.
pub fn pull_pipeline(dir: &Path, extra: &str) -> Config {
    let text = format!(
        r#"
[[ingest.sockets]]
name = "in"
type = "pull"
bind = ["tcp://127.0.0.1:*"]

[[collect.metrics]]
name = "value_by_kind"
field = "value"
label = "kind"
max_labels = 3

[export]
dead_letter = "{dl}"

[[export.sinks]]
type = "file"
path = "{events}"

[monitor]
summary_interval_s = 0
{extra}
"#,
        dl = dir.join("dead-letter.jsonl").display(),
        events = dir.join("events.jsonl").display(),
    );
    Config::parse(&text, "test pipeline").expect("test pipeline is valid")
}

/// The same with the admin server switched off.
pub fn quiet_pipeline(dir: &Path, extra: &str) -> Config {
    pull_pipeline(dir, &format!("[admin]\nenabled = false\n{extra}"))
}

/// A PUSH peer connected to `endpoint`.
pub struct Pusher {
    _ctx: zmq::Context,
    socket: zmq::Socket,
}

impl Pusher {
    pub fn connect(endpoint: &str) -> Self {
        let ctx = zmq::Context::new();
        let socket = ctx.socket(zmq::PUSH).unwrap();
        socket.set_sndhwm(1_000_000).unwrap();
        socket.set_linger(2_000).unwrap();
        socket.connect(endpoint).unwrap();
        Self { _ctx: ctx, socket }
    }

    pub fn send(&self, frames: &[&[u8]]) {
        self.socket
            .send_multipart(frames.iter().copied(), 0)
            .unwrap();
    }

    /// Sends a well-formed event: topic `kind`, body `{"seq": seq, "kind": kind, "value": v}`.
    pub fn send_event(&self, seq: u64, kind: &str, value: f64) {
        let body = serde_json::json!({"seq": seq, "kind": kind, "value": value}).to_string();
        self.send(&[kind.as_bytes(), body.as_bytes()]);
    }
}

/// Polls `done` every few milliseconds until it holds; panics after [`WAIT_LIMIT`].
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT_LIMIT, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until `count` messages have been received and none is in flight.
pub async fn settled(monitor: &Monitor, count: u64) -> CompletionSnapshot {
    wait_for("the pipeline to settle", || {
        let p = monitor.completion().snapshot();
        p.received >= count && p.in_flight == 0
    })
    .await;
    monitor.completion().snapshot()
}

/// The lines of a JSON Lines file, parsed.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

/// Paths of the two output files in `dir`.
pub fn outputs(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("events.jsonl"), dir.join("dead-letter.jsonl"))
}
