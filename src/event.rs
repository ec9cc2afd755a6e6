//! The unit that flows through the pipeline: one multipart ZeroMQ message, as received, and the
//! structured event decoded from it.

use std::time::SystemTime;

use serde_json::Value;

/// Index of the ingest socket a message came from, in the order the sockets were configured.
///
/// Kept as a small integer so that the per-message path carries no string; the names live in
/// [`SourceNames`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceId(pub u16);

/// The names of the ingest sockets, indexed by [`SourceId`].
#[derive(Debug, Clone, Default)]
pub struct SourceNames(std::sync::Arc<[String]>);

impl SourceNames {
    /// Builds the table from socket names in configuration order.
    pub fn new(names: Vec<String>) -> Self {
        Self(names.into())
    }

    /// The name of `id`, or `"unknown"` for an id that was never configured.
    pub fn name(&self, id: SourceId) -> &str {
        self.0
            .get(usize::from(id.0))
            .map_or("unknown", String::as_str)
    }
}

/// One frame of a ZeroMQ message. A received frame stays in libzmq's own buffer: nothing is
/// copied between the socket and the dead-letter file.
pub struct Frame(zmq::Message);

impl Frame {
    /// The frame's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for Frame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<zmq::Message> for Frame {
    fn from(message: zmq::Message) -> Self {
        Self(message)
    }
}

impl From<Vec<u8>> for Frame {
    fn from(bytes: Vec<u8>) -> Self {
        Self(zmq::Message::from(bytes))
    }
}

impl From<&[u8]> for Frame {
    fn from(bytes: &[u8]) -> Self {
        Self(zmq::Message::from(bytes))
    }
}

impl Clone for Frame {
    fn clone(&self) -> Self {
        Self::from(self.as_bytes())
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// One multipart ZeroMQ message exactly as it arrived: its frames are never merged or split.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// The frames, in order.
    pub frames: Vec<Frame>,
    /// Which socket received it.
    pub source: SourceId,
    /// Wall-clock time of receipt.
    pub received_at: SystemTime,
}

impl RawMessage {
    /// Total size of all frames in bytes.
    pub fn len_bytes(&self) -> usize {
        self.frames.iter().map(|f| f.len()).sum()
    }
}

/// A message on its way through the pipeline: the original frames (kept unchanged so that a
/// failure can dead-letter them as they came) and the structured fields decoded from them.
#[derive(Debug, Clone)]
pub struct Event {
    raw: RawMessage,
    /// The topic frame decoded as UTF-8, when the frame layout names one.
    pub topic: Option<String>,
    body: Value,
    /// The frame whose bytes are `body` as one line of JSON text, for as long as the body is
    /// unchanged: export then writes those bytes instead of encoding the body again.
    body_text: Option<usize>,
}

impl Event {
    /// Wraps a received message; nothing is decoded yet.
    pub fn new(raw: RawMessage) -> Self {
        Self {
            raw,
            topic: None,
            body: Value::Null,
            body_text: None,
        }
    }

    /// The message as received.
    pub fn raw(&self) -> &RawMessage {
        &self.raw
    }

    /// The decoded body; `Value::Null` until the process domain has run.
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// The body, to change it.
    pub fn body_mut(&mut self) -> &mut Value {
        self.body_text = None;
        &mut self.body
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: Value) {
        self.body_text = None;
        self.body = body;
    }

    /// Sets a body decoded from the JSON text of frame `frame`; that text is kept as the body's
    /// encoding when it fits on one line.
    pub fn set_body_from_json_frame(&mut self, body: Value, frame: usize) {
        let one_line = |f: &Frame| !f.iter().any(|&b| b == b'\n' || b == b'\r');
        self.body = body;
        self.body_text = self
            .raw
            .frames
            .get(frame)
            .is_some_and(one_line)
            .then_some(frame);
    }

    /// The body as one line of JSON text exactly as received, while it is unchanged.
    pub fn body_json_text(&self) -> Option<&[u8]> {
        self.body_text
            .and_then(|i| self.raw.frames.get(i))
            .map(Frame::as_bytes)
    }

    /// Looks up a dotted path (`a.b.c`) in the body; array elements are addressed by index.
    pub fn field(&self, path: &FieldPath) -> Option<&Value> {
        path.lookup(&self.body)
    }
}

/// A parsed dotted field path such as `readings.temp` or `items.0.price`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    parts: Vec<String>,
}

impl FieldPath {
    /// Parses `text`; returns `None` when it is empty or has an empty segment.
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
        if parts.iter().any(String::is_empty) {
            return None;
        }
        Some(Self {
            text: text.to_owned(),
            parts,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Walks `value` along the path.
    pub fn lookup<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.parts.iter().try_fold(value, |node, part| match node {
            Value::Object(map) => map.get(part),
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_path_walks_objects_and_arrays() {
        let body = json!({"a": {"b": [10, {"c": "x"}]}});
        let path = FieldPath::parse("a.b.1.c").unwrap();
        assert_eq!(path.lookup(&body), Some(&json!("x")));
        assert_eq!(
            FieldPath::parse("a.b.0").unwrap().lookup(&body),
            Some(&json!(10))
        );
        assert_eq!(FieldPath::parse("a.z").unwrap().lookup(&body), None);
        assert_eq!(FieldPath::parse("a.b.9").unwrap().lookup(&body), None);
    }

    #[test]
    fn field_path_rejects_empty_segments() {
        assert!(FieldPath::parse("").is_none());
        assert!(FieldPath::parse("a..b").is_none());
        assert!(FieldPath::parse(".a").is_none());
    }
}
