//! When a sink or the dead-letter file refuses to write, nothing is lost silently: a sink's
//! batch goes to the dead-letter file, and failures the dead-letter file refuses are counted
//! as lost.

mod common;

use std::path::Path;

use common::{Pusher, json_lines, settled};
use zeropipe::config::Config;
use zeropipe::orchestrator::Pipeline;

fn pipeline(sink: &Path, dead_letter: &Path) -> Config {
    let text = format!(
        "[[ingest.sockets]]\nname = \"in\"\ntype = \"pull\"\nbind = [\"tcp://127.0.0.1:*\"]\n\
         [export]\ndead_letter = \"{}\"\n[[export.sinks]]\ntype = \"file\"\npath = \"{}\"\n\
         [admin]\nenabled = false\n[monitor]\nsummary_interval_s = 0\n",
        dead_letter.display(),
        sink.display()
    );
    Config::parse(&text, "test").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_cannot_write_dead_letters_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.jsonl");
    let running = Pipeline::new(pipeline(Path::new("/dev/full"), &dead))
        .start()
        .await
        .unwrap();
    let peer = Pusher::connect(&running.bound_endpoints()[0]);
    for seq in 0..20 {
        peer.send_event(seq, "a", 1.0);
    }

    let p = settled(running.monitor(), 20).await;
    assert_eq!((p.completed, p.failed, p.lost), (0, 20, 0));
    let s = running.monitor().snapshot();
    assert_eq!(s.counts["export.handle"], 20);
    assert!(s.error_types["export.flush"]["write_failed"] >= 1);
    let report = running.shutdown().await;
    assert!(
        report.is_clean(),
        "every failure is in the dead-letter file"
    );

    let lines = json_lines(&dead);
    assert_eq!(lines.len(), 20);
    for line in &lines {
        assert_eq!(
            (&line["domain"], &line["operation"]),
            (&"export".into(), &"flush".into())
        );
        assert_eq!(line["error_type"], "write_failed");
        assert!(
            line["error"].as_str().unwrap().contains("No space left"),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_the_dead_letter_file_refuses_are_counted_lost() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let running = Pipeline::new(pipeline(&events, Path::new("/dev/full")))
        .start()
        .await
        .unwrap();
    let peer = Pusher::connect(&running.bound_endpoints()[0]);
    peer.send_event(1, "a", 1.0);
    peer.send(&[b"a", b"{broken"]);
    peer.send(&[b"a"]);

    let p = settled(running.monitor(), 3).await;
    assert_eq!((p.completed, p.failed, p.lost, p.in_flight), (1, 2, 2, 0));
    let s = running.monitor().snapshot();
    assert_eq!(
        s.error_types["dead_letter.write"]["write_failed"], 2,
        "counted per message"
    );
    let report = running.shutdown().await;
    assert!(!report.is_clean(), "lost messages make the run unclean");
    assert!(report.summary().contains("lost=2"), "{}", report.summary());
    assert_eq!(json_lines(&events).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_that_are_one_file_through_a_link_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("out"), dir.path().join("link")).unwrap();
    let sink = dir.path().join("out/all.jsonl");
    let dead = dir.path().join("link/all.jsonl");
    let err = match Pipeline::new(pipeline(&sink, &dead)).start().await {
        Ok(_) => panic!("two names of one file must not both be outputs"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        err,
        "sink file and the dead-letter file are the same file; each output needs a file of its own"
    );
}
