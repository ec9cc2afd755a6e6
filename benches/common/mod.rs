//! The message body both benchmarks work on: a sensor reading as JSON, padded to 200 bytes.

/// Size of every body [`body`] builds.
const BODY_BYTES: usize = 200;

/// Site names, of different lengths so that the padding varies too.
const SITES: [&str; 3] = ["north-field", "south-barn", "east-orchard"];

/// The JSON body of message number `seq`: values vary a little with `seq`, and a `note` field
/// pads the text to exactly [`BODY_BYTES`] bytes.
pub fn body(seq: u64) -> Vec<u8> {
    let sensor = seq % 16;
    let temp = 18.0 + (seq % 97) as f64 * 0.07;
    let humidity = 35.0 + (seq % 41) as f64 * 0.3;
    let site = SITES[(seq % 3) as usize];
    let ok = !seq.is_multiple_of(10);
    let head = format!(
        "{{\"seq\":{seq},\"sensor\":\"s-{sensor:02}\",\"temp\":{temp:.2},\
         \"humidity\":{humidity:.1},\"site\":\"{site}\",\"ok\":{ok},\"note\":\""
    );
    let tail = "\"}";
    let pad = BODY_BYTES.saturating_sub(head.len() + tail.len());
    let mut text = head;
    text.extend(std::iter::repeat_n('x', pad));
    text.push_str(tail);
    text.into_bytes()
}
