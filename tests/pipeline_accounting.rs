//! Every received message ends exported, filtered or dead-lettered, and the monitor counts
//! each stage's part in it.

mod common;

use base64::Engine as _;
use common::{Pusher, json_lines, outputs, quiet_pipeline, settled};
use zeropipe::domain::{Domain, DomainError, ErrorType, Verdict};
use zeropipe::event::Event;
use zeropipe::orchestrator::Pipeline;

const KINDS: [&str; 4] = ["a", "b", "c", "d"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_exported_or_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let running = Pipeline::new(quiet_pipeline(dir.path(), ""))
        .start()
        .await
        .unwrap();
    let peer = Pusher::connect(&running.bound_endpoints()[0]);

    let good = 500u64;
    for seq in 0..good {
        peer.send_event(seq, KINDS[seq as usize % 4], seq as f64);
    }
    let bad: [(&[&[u8]], &str); 4] = [
        (&[b"a", b"{oops"], "invalid_json"),
        (&[b"a", b"\xc3\x28"], "invalid_utf8"),
        (&[b"a"], "missing_frame"),
        (&[b"\xff", b"{}"], "invalid_utf8"),
    ];
    for (frames, _) in &bad {
        peer.send(frames);
    }

    let total = good + bad.len() as u64;
    let p = settled(running.monitor(), total).await;
    assert_eq!(
        (p.received, p.completed, p.failed, p.filtered, p.in_flight),
        (total, good, 4, 0, 0)
    );
    let s = running.monitor().snapshot();
    assert_eq!(s.counts["ingest.in"], total);
    assert_eq!(s.counts["process.handle"], good);
    assert_eq!(s.errors["process.handle"], 4);
    assert_eq!(s.error_types["process.handle"]["invalid_utf8"], 2);
    assert_eq!(s.error_types["process.handle"]["invalid_json"], 1);
    assert_eq!(s.error_types["process.handle"]["missing_frame"], 1);
    assert_eq!(s.counts["collect.handle"], good);
    assert_eq!(s.counts["export.handle"], good);
    assert_eq!(s.errors["export.flush"], 0);
    assert_eq!(s.counts["pipeline.complete"], good);
    assert!(s.counts["export.flush"] >= 1);
    assert!(s.counts["dead_letter.write"] >= 1);
    assert_eq!(s.durations["process.handle"].samples, good as usize);

    // The derived metric: 4 kinds, capped at 3 labels, so the last new kind goes to "other".
    let metric = &running.metrics().snapshot()["value_by_kind"];
    let events: u64 = metric.series.values().map(|s| s.events).sum();
    assert_eq!(events, good);
    assert_eq!(
        metric.series.len(),
        4,
        "three labels and other: {:?}",
        metric.series.keys()
    );
    assert_eq!(metric.other_events, good / 4);
    let expected_a: f64 = (0..good).filter(|s| s % 4 == 0).map(|s| s as f64).sum();
    assert_eq!(metric.series["a"].sum, Some(expected_a));

    let report = running.shutdown().await;
    assert!(report.is_clean(), "{}", report.summary());

    let (events_path, dl_path) = outputs(dir.path());
    let lines = json_lines(&events_path);
    assert_eq!(lines.len() as u64, good);
    let mut seqs: Vec<u64> = lines
        .iter()
        .map(|l| l["data"]["seq"].as_u64().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (0..good).collect::<Vec<_>>(),
        "each message exactly once"
    );
    assert_eq!(lines[0]["source"], "in");
    assert!(lines[0]["received_at"].as_str().unwrap().ends_with('Z'));

    let dead = json_lines(&dl_path);
    assert_eq!(dead.len(), bad.len());
    for (line, (frames, error_type)) in dead.iter().zip(&bad) {
        assert_eq!(line["domain"], "process");
        assert_eq!(line["operation"], "handle");
        assert_eq!(line["error_type"], *error_type);
        assert!(!line["error"].as_str().unwrap().is_empty());
        let decoded: Vec<Vec<u8>> = line["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                base64::engine::general_purpose::STANDARD
                    .decode(f.as_str().unwrap())
                    .unwrap()
            })
            .collect();
        let sent: Vec<Vec<u8>> = frames.iter().map(|f| f.to_vec()).collect();
        assert_eq!(decoded, sent, "original frames kept");
    }
    assert_eq!(
        lines.len() + dead.len(),
        report.snapshot.pipeline.received as usize
    );
}

/// Filters odd sequence numbers and rejects multiples of ten.
struct Screen;

impl Domain for Screen {
    fn name(&self) -> &str {
        "screen"
    }

    fn handle(&mut self, event: &mut Event) -> Result<Verdict, DomainError> {
        let seq = event.body()["seq"].as_u64().unwrap_or_default();
        if seq.is_multiple_of(10) {
            return Err(DomainError::new(
                ErrorType::TransformFailed,
                format!("seq {seq} refused"),
            ));
        }
        Ok(if seq % 2 == 1 {
            Verdict::Filter
        } else {
            Verdict::Forward
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_domain_is_monitored_with_no_extra_code() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::new(quiet_pipeline(dir.path(), "")).with_domain(Screen);
    let running = pipeline.start().await.unwrap();
    let peer = Pusher::connect(&running.bound_endpoints()[0]);
    for seq in 0..100 {
        peer.send_event(seq, "a", 1.0);
    }

    let p = settled(running.monitor(), 100).await;
    // 10 multiples of ten fail, 50 odd ones are filtered, 40 even ones pass.
    assert_eq!(
        (p.completed, p.failed, p.filtered, p.in_flight),
        (40, 10, 50, 0)
    );
    let s = running.monitor().snapshot();
    assert_eq!(s.counts["screen.handle"], 90);
    assert_eq!(s.error_types["screen.handle"]["transform_failed"], 10);
    assert_eq!(s.counts["export.handle"], 40);
    assert_eq!(
        s.counts["collect.handle"], 100,
        "collect runs before added domains"
    );

    let report = running.shutdown().await;
    assert!(report.is_clean());
    let (events, dl) = outputs(dir.path());
    assert_eq!(json_lines(&events).len(), 40);
    let dead = json_lines(&dl);
    assert_eq!(dead.len(), 10);
    assert!(
        dead.iter()
            .all(|l| l["domain"] == "screen" && l["error_type"] == "transform_failed")
    );
}
