//! A SUB socket connects to a publisher, receives only its subscribed topic prefixes, and
//! keeps every frame of a multipart message together.

mod common;

use std::time::Duration;

use common::{json_lines, outputs, settled};
use zeropipe::config::Config;
use zeropipe::orchestrator::Pipeline;

fn sub_pipeline(dir: &std::path::Path, endpoint: &str) -> Config {
    let text = format!(
        r#"
[[ingest.sockets]]
name = "feed"
type = "sub"
connect = ["{endpoint}"]
subscribe = ["rain", "snow"]

[process]
frames = ["topic", "body", "_"]

[export]
dead_letter = "{dl}"
[[export.sinks]]
type = "file"
path = "{events}"

[admin]
enabled = false
[monitor]
summary_interval_s = 0
"#,
        dl = dir.join("dead-letter.jsonl").display(),
        events = dir.join("events.jsonl").display(),
    );
    Config::parse(&text, "sub pipeline").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_receives_only_subscribed_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = zmq::Context::new();
    // An XPUB sees each subscription arrive, which tells the test the SUB has joined: the
    // answer to the slow-joiner problem, where a PUB drops what it sends before that.
    let xpub = ctx.socket(zmq::XPUB).unwrap();
    xpub.set_linger(0).unwrap();
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = xpub.get_last_endpoint().unwrap().unwrap();

    let running = Pipeline::new(sub_pipeline(dir.path(), &endpoint))
        .start()
        .await
        .unwrap();
    let mut joined = Vec::new();
    xpub.set_rcvtimeo(10_000).unwrap();
    while joined.len() < 2 {
        let sub = xpub.recv_bytes(0).expect("a subscription arrives");
        assert_eq!(sub[0], 1, "a subscribe message");
        joined.push(String::from_utf8(sub[1..].to_vec()).unwrap());
    }
    joined.sort();
    assert_eq!(joined, ["rain", "snow"]);

    let mut expected = 0;
    for (i, topic) in ["rain", "sun", "snowfall", "fog", "rain"]
        .into_iter()
        .enumerate()
    {
        let body = format!(r#"{{"i": {i}}}"#);
        xpub.send_multipart([topic.as_bytes(), body.as_bytes(), b"trailer"], 0)
            .unwrap();
        if topic.starts_with("rain") || topic.starts_with("snow") {
            expected += 1;
        }
    }

    let p = settled(running.monitor(), expected).await;
    // Anything unsubscribed that slipped through would show up here after a short pause.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let p2 = running.monitor().completion().snapshot();
    assert_eq!(
        (p.received, p2.received, p2.completed, p2.failed),
        (3, 3, 3, 0)
    );
    let s = running.monitor().snapshot();
    assert_eq!(s.counts["ingest.feed"], 3);
    assert_eq!(s.counts["process.handle"], 3);

    let report = running.shutdown().await;
    assert!(report.is_clean());
    let lines = json_lines(&outputs(dir.path()).0);
    let topics: Vec<&str> = lines.iter().map(|l| l["topic"].as_str().unwrap()).collect();
    assert_eq!(topics, ["rain", "snowfall", "rain"]);
    assert_eq!(lines[1]["data"]["i"], 2);
    assert_eq!(lines[1]["source"], "feed");
}
