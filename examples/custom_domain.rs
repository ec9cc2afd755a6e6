//! A library user's own domain in a zeropipe pipeline.
//!
//! `Celsius` adds a `temp_max_f` field to every weather row and rejects rows without
//! `temp_max`. The orchestrator times it, counts its successes and typed errors as
//! `celsius.handle`, dead-letters what it rejects, and tracks completion: none of that is
//! written here.
//!
//! Run: `cargo run --example custom_domain`

use std::time::Duration;

use serde_json::Value;
use zeropipe::config::Config;
use zeropipe::domain::{Domain, DomainError, ErrorType, Verdict};
use zeropipe::event::Event;
use zeropipe::orchestrator::Pipeline;

struct Celsius;

impl Domain for Celsius {
    fn name(&self) -> &str {
        "celsius"
    }

    fn handle(&mut self, event: &mut Event) -> Result<Verdict, DomainError> {
        let Some(c) = event.body().get("temp_max").and_then(Value::as_f64) else {
            return Err(DomainError::new(
                ErrorType::TransformFailed,
                "no numeric temp_max",
            ));
        };
        if let Some(row) = event.body_mut().as_object_mut() {
            row.insert("temp_max_f".into(), (c * 9.0 / 5.0 + 32.0).into());
        }
        Ok(Verdict::Forward)
    }
}

const PIPELINE: &str = r#"
[[ingest.sockets]]
name = "rows"
type = "pull"
bind = ["tcp://127.0.0.1:*"]

[export]
dead_letter = "DEAD_LETTER"

[[export.sinks]]
type = "stdout"

[admin]
enabled = false
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dead_letter = std::env::temp_dir().join("zeropipe-example-dead-letter.jsonl");
    let text = PIPELINE.replace("DEAD_LETTER", &dead_letter.display().to_string());
    let config = Config::parse(&text, "example")?;
    let running = Pipeline::new(config).with_domain(Celsius).start().await?;

    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH)?;
    push.connect(&running.bound_endpoints()[0])?;
    push.send_multipart(["sun", r#"{"date": "2012/06/01", "temp_max": 20.0}"#], 0)?;
    push.send_multipart(["sun", r#"{"date": "2012/06/02"}"#], 0)?;

    let monitor = std::sync::Arc::clone(running.monitor());
    for _ in 0..200 {
        if monitor.completion().snapshot().received == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let report = running.shutdown().await;
    eprintln!("{}", report.render());
    assert_eq!(report.snapshot.counts["celsius.handle"], 1);
    assert_eq!(
        report.snapshot.error_types["celsius.handle"]["transform_failed"],
        1
    );
    Ok(())
}
