//! The JSON Lines encodings of exported events and dead-letter entries.

use std::time::SystemTime;

use base64::Engine as _;
use base64::display::Base64Display;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::event::{Event, SourceNames};
use crate::orchestrator::Failure;

/// A wall-clock time serialized as RFC 3339 with microseconds, in UTC.
struct Rfc3339(SystemTime);

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_micros(self.0))
    }
}

/// Frames serialized as a list of base64 strings, without building the strings first.
struct Frames<'a>(&'a [Vec<u8>]);

impl Serialize for Frames<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let engine = &base64::engine::general_purpose::STANDARD;
        s.collect_seq(
            self.0
                .iter()
                .map(|f| Base64Display::new(f, engine).to_string()),
        )
    }
}

#[derive(Serialize)]
struct EventLine<'a> {
    received_at: Rfc3339,
    source: &'a str,
    topic: Option<&'a str>,
    data: &'a Value,
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

/// Appends `event` to `buf` as one JSON line: receive time, source, topic and decoded data.
pub fn event_line(buf: &mut Vec<u8>, event: &Event, sources: &SourceNames) {
    let line = EventLine {
        received_at: Rfc3339(event.raw.received_at),
        source: sources.name(event.raw.source),
        topic: event.topic.as_deref(),
        data: &event.body,
    };
    write_line(buf, &line);
}

/// Appends `failure` to `buf` as one dead-letter JSON line with the original frames in base64.
pub fn dead_letter_line(buf: &mut Vec<u8>, failure: &Failure, sources: &SourceNames) {
    let raw = &failure.event.raw;
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
    // Serializing plain structs and `Value`s into memory cannot fail.
    serde_json::to_writer(&mut *buf, line).expect("in-memory JSON serialization");
    buf.push(b'\n');
}

/// Decodes one base64 frame of a dead-letter line; the inverse of what this module writes.
///
/// # Errors
///
/// When `text` is not standard base64.
pub fn decode_frame(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    base64::engine::general_purpose::STANDARD.decode(text)
}
