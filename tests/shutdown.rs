//! Graceful shutdown drains everything in flight; a deadline forces it and names what did
//! not finish.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Pusher, json_lines, outputs, quiet_pipeline, wait_for};
use zeropipe::domain::{Domain, DomainError, Flush, Verdict};
use zeropipe::event::Event;
use zeropipe::orchestrator::{Pipeline, Running};

/// Passes everything on, but takes `pause` at the end of every batch.
struct Slow {
    pause: Duration,
}

impl Domain for Slow {
    fn name(&self) -> &str {
        "slow"
    }

    fn handle(&mut self, _event: &mut Event) -> Result<Verdict, DomainError> {
        Ok(Verdict::Forward)
    }

    async fn flush(&mut self, _events: &[Event]) -> Result<Flush, DomainError> {
        tokio::time::sleep(self.pause).await;
        Ok(Flush::Done)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_waits_for_in_flight_messages() {
    let dir = tempfile::tempdir().unwrap();
    let section = "[pipeline]\nbatch_max = 16\nqueue_batches = 4\n";
    let running = slow_pipeline(dir.path(), section, Duration::from_millis(20), 300).await;

    // Shut down while most messages are still queued between domains.
    let monitor = std::sync::Arc::clone(running.monitor());
    wait_for("some messages to be received", || {
        monitor.completion().snapshot().received >= 50
    })
    .await;
    let before = monitor.completion().snapshot();
    assert!(
        before.in_flight > 0,
        "the test needs messages in flight: {before:?}"
    );

    let report = running.shutdown().await;
    let p = report.snapshot.pipeline;
    assert!(report.unfinished.is_empty(), "{:?}", report.unfinished);
    assert_eq!(p.in_flight, 0);
    assert_eq!(p.completed, p.received, "everything received was exported");
    assert!(p.received >= before.received);
    assert_eq!(report.snapshot.counts["slow.handle"], p.received);
    assert_eq!(report.snapshot.counts["export.handle"], p.received);
    let (events, _) = outputs(dir.path());
    assert_eq!(json_lines(&events).len() as u64, p.completed);
}

/// A pipeline with `section` added and a [`Slow`] domain pausing `pause` per batch, to which
/// `count` events have been sent.
async fn slow_pipeline(dir: &Path, section: &str, pause: Duration, count: u64) -> Running {
    let config = quiet_pipeline(dir, section);
    let running = Pipeline::new(config)
        .with_domain(Slow { pause })
        .start()
        .await
        .unwrap();
    let peer = Pusher::connect(&running.bound_endpoints()[0]);
    for seq in 0..count {
        peer.send_event(seq, "a", 1.0);
    }
    running
}

/// A pipeline whose added domain never finishes a batch, with `count` messages stuck in it.
async fn stuck_pipeline(dir: &std::path::Path, deadline_ms: u64, count: u64) -> Running {
    let section = format!("[pipeline]\nshutdown_deadline_ms = {deadline_ms}\n");
    let running = slow_pipeline(dir, &section, Duration::from_secs(3600), count).await;
    let monitor = std::sync::Arc::clone(running.monitor());
    wait_for("the messages to reach the stuck domain", || {
        monitor.snapshot().counts["slow.handle"] == count
    })
    .await;
    running
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_forces_shutdown_and_names_what_did_not_finish() {
    let dir = tempfile::tempdir().unwrap();
    let running = stuck_pipeline(dir.path(), 300, 10).await;

    let report = tokio::time::timeout(Duration::from_secs(10), running.shutdown())
        .await
        .expect("the deadline ends the shutdown");
    assert!(!report.is_clean());
    let unfinished = &report.unfinished;
    assert!(unfinished.contains(&"slow".to_owned()), "{unfinished:?}");
    assert!(
        !unfinished.iter().any(|n| n.starts_with("ingest.")),
        "ingest stopped"
    );
    assert!(
        !unfinished.contains(&"process".to_owned()),
        "process drained"
    );
    let p = report.snapshot.pipeline;
    assert_eq!((p.received, p.completed, p.in_flight), (10, 0, 10));
    assert!(
        report.summary().contains("unfinished=slow"),
        "{}",
        report.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_stop_does_not_wait_for_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let running = stuck_pipeline(dir.path(), 3_600_000, 1).await;

    // The "second signal" comes at once.
    let report = tokio::time::timeout(Duration::from_secs(10), running.shutdown_or(async {}))
        .await
        .expect("forcing ends the shutdown");
    assert!(report.unfinished.contains(&"slow".to_owned()));
    assert_eq!(report.snapshot.pipeline.in_flight, 1);
}
