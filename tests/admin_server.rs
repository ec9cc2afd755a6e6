//! The admin server over real HTTP: liveness, readiness through the lifecycle, the JSON
//! snapshot and the Prometheus exposition agreeing with the monitor.

mod common;

use std::time::Duration;

use common::{Pusher, pull_pipeline, settled, wait_for};
use zeropipe::domain::{Domain, DomainError, Flush, Verdict};
use zeropipe::event::Event;
use zeropipe::orchestrator::Pipeline;

fn get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().expect("the admin server answers");
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

/// The value of the sample `name{labels}` in an exposition, label order as written.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_and_metrics_agree_with_the_monitor() {
    let dir = tempfile::tempdir().unwrap();
    let config = pull_pipeline(dir.path(), "[admin]\naddress = \"127.0.0.1:0\"\n");
    let running = Pipeline::new(config).start().await.unwrap();
    let base = format!("http://{}", running.admin_address().unwrap());
    assert!(running.admin_address().unwrap().ip().is_loopback());

    let (live, ready) = tokio::task::spawn_blocking({
        let base = base.clone();
        move || (get(&format!("{base}/live")), get(&format!("{base}/ready")))
    })
    .await
    .unwrap();
    assert_eq!(live.0, 200);
    assert_eq!(ready, (200, "ready\n".to_owned()));

    let peer = Pusher::connect(&running.bound_endpoints()[0]);
    for seq in 0..30 {
        peer.send_event(seq, ["x", "y"][seq as usize % 2], seq as f64);
    }
    peer.send(&[b"x", b"not json"]);
    settled(running.monitor(), 31).await;

    let (stats, metrics) = tokio::task::spawn_blocking(move || {
        (
            get(&format!("{base}/stats")),
            get(&format!("{base}/metrics")),
        )
    })
    .await
    .unwrap();
    assert_eq!(stats.0, 200);
    let doc: serde_json::Value = serde_json::from_str(&stats.1).unwrap();
    assert_eq!(doc["counts"]["process.handle"], 30);
    assert_eq!(doc["errors"]["process.handle"], 1);
    assert_eq!(doc["error_types"]["process.handle"]["invalid_json"], 1);
    assert!(doc["avg_duration"]["process.handle"].as_f64().unwrap() > 0.0);
    assert!(
        doc["durations"]["process.handle"]["p99_ms"]
            .as_f64()
            .is_some()
    );
    assert_eq!(doc["pipeline"]["received"], 31);
    assert_eq!(doc["pipeline"]["completed"], 30);
    assert_eq!(doc["pipeline"]["failed"], 1);
    assert_eq!(doc["pipeline"]["in_flight"], 0);
    assert_eq!(doc["phase"], "ready");
    let x = &doc["metrics"]["value_by_kind"]["series"]["x"];
    assert_eq!(x["events"], 15);
    assert_eq!(x["mean"], 14.0, "mean of 0, 2, .., 28");

    assert_eq!(metrics.0, 200);
    let text = &metrics.1;
    assert_eq!(sample(text, "zeropipe_messages_received_total"), Some(31.0));
    assert_eq!(
        sample(text, "zeropipe_messages_completed_total"),
        Some(30.0)
    );
    assert_eq!(sample(text, "zeropipe_messages_failed_total"), Some(1.0));
    assert_eq!(sample(text, "zeropipe_messages_in_flight"), Some(0.0));
    let ok = r#"zeropipe_operations_total{domain="process",operation="handle"}"#;
    assert_eq!(sample(text, ok), Some(30.0));
    let err = concat!(
        r#"zeropipe_operation_errors_total{domain="process",operation="handle","#,
        r#"error_type="invalid_json"}"#
    );
    assert_eq!(sample(text, err), Some(1.0));
    let mean = r#"zeropipe_derived_mean{metric="value_by_kind",label="x"}"#;
    assert_eq!(sample(text, mean), Some(14.0));
    let events = r#"zeropipe_derived_events_total{metric="value_by_kind",label="y"}"#;
    assert_eq!(sample(text, events), Some(15.0));
    assert!(text.trim_end().ends_with("# EOF"));

    assert!(running.shutdown().await.is_clean());
}

/// Holds each batch for a while, so that a drain takes long enough to observe.
struct Sticky;

impl Domain for Sticky {
    fn name(&self) -> &str {
        "sticky"
    }

    fn handle(&mut self, _event: &mut Event) -> Result<Verdict, DomainError> {
        Ok(Verdict::Forward)
    }

    async fn flush(&mut self, _events: &[Event]) -> Result<Flush, DomainError> {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(Flush::Done)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_turns_unavailable_while_draining() {
    let dir = tempfile::tempdir().unwrap();
    let config = pull_pipeline(dir.path(), "[admin]\naddress = \"127.0.0.1:0\"\n");
    let running = Pipeline::new(config)
        .with_domain(Sticky)
        .start()
        .await
        .unwrap();
    let url = format!("http://{}/ready", running.admin_address().unwrap());
    let peer = Pusher::connect(&running.bound_endpoints()[0]);
    peer.send_event(1, "x", 1.0);
    let monitor = std::sync::Arc::clone(running.monitor());
    wait_for("the message to be received", || {
        monitor.completion().snapshot().received == 1
    })
    .await;

    // The drain cannot end before the sticky batch is released, so /ready is seen at 503.
    let shutdown = tokio::spawn(running.shutdown());
    let status = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        loop {
            let (status, body) = get(&url);
            if status == 503 || started.elapsed() > Duration::from_secs(10) {
                return (status, body);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .await
    .unwrap();
    assert_eq!(status, (503, "draining\n".to_owned()));
    assert!(shutdown.await.unwrap().is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_does_not_hold_up_shutdown() {
    use tokio::io::AsyncWriteExt as _;

    let dir = tempfile::tempdir().unwrap();
    let config = pull_pipeline(dir.path(), "[admin]\naddress = \"127.0.0.1:0\"\n");
    let running = Pipeline::new(config).start().await.unwrap();
    let address = running.admin_address().unwrap();
    let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
    client
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();

    // The request never ends; the server gives up on it instead of waiting forever.
    let report = tokio::time::timeout(Duration::from_secs(10), running.shutdown())
        .await
        .expect("shutdown does not wait for the client");
    assert!(report.is_clean());
    drop(client);
}
