//! `zeropipe demo`: a self-contained run. An internal PUSH peer replays the Seattle daily
//! weather observations (public NOAA data, shipped in `data/`) over loopback ZeroMQ into the
//! default pipeline, and the summary is checked against values computed from the file itself.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Map, Number, Value};

use crate::config::{Config, ConfigError};

mod run;

pub use run::{Check, DemoError, DemoOptions, DemoOutcome, run};

/// The dataset: 1,461 daily rows (2012-2015) of date, precipitation, temp_max, temp_min, wind
/// and weather.
pub const DATASET: &str = include_str!("../../data/seattle-weather.csv");

/// Malformed messages the demo adds to show the dead-letter path: (description, frames).
pub const MALFORMED: [(&str, &[&[u8]]); 2] = [
    (
        "body that is not JSON",
        &[b"rain", b"{\"date\": 2012-01-01"],
    ),
    ("message without a body frame", &[b"sun"]),
];

/// One row of the dataset as a JSON object (numbers as numbers), with its weather kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The weather kind, used as the topic.
    pub kind: String,
    /// The row.
    pub body: Value,
}

/// Parses the CSV text of the dataset.
///
/// # Errors
///
/// A message naming the line when a row has the wrong number of fields or a bad number.
pub fn parse_rows(csv: &str) -> Result<Vec<Row>, String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().ok_or("empty dataset")?.split(',').collect();
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            return Err(format!("line {}: expected {} fields", n + 2, header.len()));
        }
        let mut body = Map::new();
        for (&name, &text) in header.iter().zip(&fields) {
            let value = match name {
                "date" | "weather" => Value::String(text.to_owned()),
                _ => text
                    .parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| format!("line {}: {name} is not a number", n + 2))?,
            };
            body.insert(name.to_owned(), value);
        }
        let kind = body
            .get("weather")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        rows.push(Row {
            kind,
            body: Value::Object(body),
        });
    }
    Ok(rows)
}

/// Per weather kind: number of days and the mean of `temp_max`, computed straight from rows.
pub fn expected_by_kind(rows: &[Row]) -> BTreeMap<String, (u64, f64)> {
    let mut sums: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for row in rows {
        let t = row
            .body
            .get("temp_max")
            .and_then(Value::as_f64)
            .unwrap_or_default();
        let entry = sums.entry(row.kind.clone()).or_default();
        entry.0 += 1;
        entry.1 += t;
    }
    sums.into_iter()
        .map(|(k, (n, sum))| (k, (n, sum / n as f64)))
        .collect()
}

/// The demo's pipeline: a PULL bound on a free loopback port, JSON bodies, the
/// `temp_max_by_weather` metric, a file sink and a dead-letter file under `output`.
///
/// # Errors
///
/// [`ConfigError`] if the generated file does not validate (a bug, reported as such).
pub fn config(output: &Path, admin: Option<SocketAddr>) -> Result<Config, ConfigError> {
    let quote = |p: PathBuf| toml::Value::String(p.display().to_string()).to_string();
    let admin = match admin {
        Some(address) => format!("[admin]\naddress = \"{address}\"\n"),
        None => "[admin]\nenabled = false\n".to_owned(),
    };
    let text = format!(
        r#"
[[ingest.sockets]]
name = "demo"
type = "pull"
bind = ["tcp://127.0.0.1:*"]

[process]
frames = ["topic", "body"]

[[collect.metrics]]
name = "temp_max_by_weather"
field = "temp_max"
label = "weather"

[export]
dead_letter = {dead_letter}

[[export.sinks]]
type = "file"
path = {events}

{admin}
[monitor]
summary_interval_s = 0
"#,
        dead_letter = quote(output.join("dead-letter.jsonl")),
        events = quote(output.join("events.jsonl")),
    );
    Config::parse(&text, "demo pipeline")
}

/// Sends every row, then the malformed messages, to `endpoint` from a PUSH socket, at most
/// `rate` messages per second (0: as fast as possible), until `stop` is set. `progress` is
/// called after each send with the number sent so far.
///
/// # Errors
///
/// libzmq's error when the socket cannot be created, connected or sent on.
pub fn replay(
    endpoint: &str,
    rows: &[Row],
    rate: u32,
    stop: &AtomicBool,
    mut progress: impl FnMut(usize),
) -> zmq::Result<usize> {
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH)?;
    push.set_sndhwm(100_000)?;
    // Let queued messages reach the pipeline before the socket closes.
    push.set_linger(5_000)?;
    push.connect(endpoint)?;

    let pause = (rate > 0).then(|| Duration::from_secs_f64(1.0 / f64::from(rate)));
    let mut sent = 0;
    for row in rows {
        if stop.load(Ordering::Relaxed) {
            return Ok(sent);
        }
        let body = serde_json::to_vec(&row.body).unwrap_or_default();
        push.send_multipart([row.kind.as_bytes(), body.as_slice()], 0)?;
        sent += 1;
        progress(sent);
        if let Some(pause) = pause {
            std::thread::sleep(pause);
        }
    }
    for (_, frames) in MALFORMED {
        push.send_multipart(frames.iter().copied(), 0)?;
        sent += 1;
        progress(sent);
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_parses_with_numbers_as_numbers() {
        let rows = parse_rows(DATASET).unwrap();
        assert_eq!(rows.len(), 1461);
        let first = &rows[0].body;
        assert_eq!(first["date"], "2012/01/01");
        assert_eq!(first["temp_max"].as_f64(), Some(12.8));
        assert_eq!(rows[0].kind, "drizzle");
        let kinds = expected_by_kind(&rows);
        let days: u64 = kinds.values().map(|(n, _)| n).sum();
        assert_eq!(days, 1461);
        assert_eq!(kinds["sun"].0, 714);
    }

    #[test]
    fn bad_rows_are_reported_with_their_line() {
        assert!(parse_rows("a,b\n1\n").unwrap_err().contains("line 2"));
        assert!(
            parse_rows("date,temp_max,weather\nx,hot,sun\n")
                .unwrap_err()
                .contains("temp_max")
        );
    }

    #[test]
    fn demo_config_validates() {
        let config = config(Path::new("/tmp/out"), None).unwrap();
        assert_eq!(config.sockets[0].bind, vec!["tcp://127.0.0.1:*".to_owned()]);
        assert!(!config.admin.enabled);
    }
}
