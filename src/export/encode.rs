//! The JSON Lines encodings of exported events and dead-letter entries.

use std::time::SystemTime;

use base64::display::Base64Display;
use serde::{Serialize, Serializer};

use crate::event::{Event, Frame, SourceNames};
use crate::orchestrator::Failure;

/// A wall-clock time serialized as RFC 3339 with microseconds, in UTC.
struct Rfc3339(SystemTime);

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_micros(self.0))
    }
}

/// Frames serialized as a list of base64 strings.
struct Frames<'a>(&'a [Frame]);

impl Serialize for Frames<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Base64))
    }
}

/// One frame as a base64 string, encoded straight into the output without a copy in between.
struct Base64<'a>(&'a Frame);

impl Serialize for Base64<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let engine = &base64::engine::general_purpose::STANDARD;
        s.collect_str(&Base64Display::new(self.0.as_bytes(), engine))
    }
}

#[derive(Serialize)]
struct DeadLetterLine<'a> {
    failed_at: Rfc3339,
    received_at: Rfc3339,
    source: &'a str,
    domain: &'a str,
    operation: &'a str,
    error_type: &'static str,
    error: &'a str,
    frames: Frames<'a>,
}

/// Encodes events as JSON lines: `{"received_at", "source", "topic", "data"}`.
///
/// The body is copied as it was received when it is unchanged JSON on one line, and encoded
/// from its value otherwise. The receive time, shared by a whole received batch, is formatted
/// once per batch.
#[derive(Debug)]
pub struct EventEncoder {
    sources: SourceNames,
    stamped: Option<SystemTime>,
    stamp: String,
}

impl EventEncoder {
    /// An encoder naming sources from `sources`.
    pub fn new(sources: SourceNames) -> Self {
        Self {
            sources,
            stamped: None,
            stamp: String::new(),
        }
    }

    /// Appends `event` to `buf` as one line.
    pub fn encode(&mut self, buf: &mut Vec<u8>, event: &Event) {
        let raw = event.raw();
        if self.stamped != Some(raw.received_at) {
            self.stamp = humantime::format_rfc3339_micros(raw.received_at).to_string();
            self.stamped = Some(raw.received_at);
        }
        buf.extend_from_slice(b"{\"received_at\":\"");
        buf.extend_from_slice(self.stamp.as_bytes());
        buf.extend_from_slice(b"\",\"source\":");
        write_json(buf, self.sources.name(raw.source));
        buf.extend_from_slice(b",\"topic\":");
        write_json(buf, &event.topic);
        buf.extend_from_slice(b",\"data\":");
        match event.body_json_text() {
            Some(text) => buf.extend_from_slice(text),
            None => write_json(buf, event.body()),
        }
        buf.extend_from_slice(b"}\n");
    }
}

/// Appends `failure` to `buf` as one dead-letter JSON line with the original frames in base64.
pub fn dead_letter_line(buf: &mut Vec<u8>, failure: &Failure, sources: &SourceNames) {
    let raw = failure.event.raw();
    let line = DeadLetterLine {
        failed_at: Rfc3339(failure.failed_at),
        received_at: Rfc3339(raw.received_at),
        source: sources.name(raw.source),
        domain: &failure.domain,
        operation: failure.operation,
        error_type: failure.error.error_type.as_str(),
        error: &failure.error.message,
        frames: Frames(&raw.frames),
    };
    write_line(buf, &line);
}

fn write_line(buf: &mut Vec<u8>, line: &impl Serialize) {
    write_json(buf, line);
    buf.push(b'\n');
}

fn write_json(buf: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    // Strings, plain structs and `Value`s always serialize into memory.
    serde_json::to_writer(&mut *buf, value).expect("in-memory JSON serialization");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{RawMessage, SourceId};
    use serde_json::json;

    fn event(body: &[u8]) -> Event {
        let raw = RawMessage {
            frames: vec![Frame::from(&b"t"[..]), Frame::from(body)],
            source: SourceId(0),
            received_at: SystemTime::UNIX_EPOCH,
        };
        let mut event = Event::new(raw);
        event.topic = Some("t".into());
        let value = serde_json::from_slice(body).unwrap();
        event.set_body_from_json_frame(value, 1);
        event
    }

    fn line(event: &Event) -> String {
        let mut encoder = EventEncoder::new(SourceNames::new(vec!["in".into()]));
        let mut buf = Vec::new();
        encoder.encode(&mut buf, event);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn unchanged_one_line_json_is_copied_as_received() {
        let got = line(&event(br#"{"a": 1.50,  "b": [1, 2]}"#));
        let want = concat!(
            r#"{"received_at":"1970-01-01T00:00:00.000000Z","source":"in","topic":"t","#,
            r#""data":{"a": 1.50,  "b": [1, 2]}}"#,
            "\n"
        );
        assert_eq!(got, want);
    }

    #[test]
    fn multi_line_json_is_encoded_on_one_line() {
        let got = line(&event(b"{\n  \"a\": 1\n}\r\n"));
        assert!(got.ends_with("\"data\":{\"a\":1}}\n"), "{got}");
        assert_eq!(got.matches('\n').count(), 1);
    }

    #[test]
    fn a_changed_body_is_encoded_from_its_value() {
        let mut e = event(br#"{"a": 1}"#);
        e.body_mut()["b"] = json!("x\ny");
        let parsed: serde_json::Value = serde_json::from_str(&line(&e)).unwrap();
        assert_eq!(parsed["data"], json!({"a": 1, "b": "x\ny"}));
        assert_eq!(line(&e).matches('\n').count(), 1);
    }
}
