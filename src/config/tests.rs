use super::*;
use proptest::prelude::*;

const MINIMAL: &str = r#"
[[ingest.sockets]]
type = "pull"
bind = ["tcp://127.0.0.1:5557"]

[export]
dead_letter = "dl.jsonl"

[[export.sinks]]
type = "stdout"
"#;

fn problems(text: &str) -> Vec<Problem> {
    match Config::parse(text, "test") {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        other => panic!("expected invalid config, got {other:?}"),
    }
}

fn keys(text: &str) -> Vec<String> {
    problems(text).into_iter().map(|p| p.key).collect()
}

#[test]
fn minimal_config_gets_defaults() {
    let c = Config::parse(MINIMAL, "test").unwrap();
    assert_eq!(c.sockets[0].name, "socket0");
    assert_eq!(c.sockets[0].kind, SocketKind::Pull);
    assert_eq!(c.sockets[0].receive_hwm, 1000);
    assert_eq!((c.process.topic_frame, c.process.body_frame), (Some(0), 1));
    assert_eq!(c.process.decode, Decoding::Json);
    assert_eq!(c.admin.address, "127.0.0.1:9955".parse().unwrap());
    assert!(c.admin.enabled);
    assert_eq!(c.monitor.window, 1000);
    assert_eq!(c.pipeline.batch_max, 256);
}

#[test]
fn three_mistakes_are_reported_together() {
    let text = r#"
[[ingest.sockets]]
type = "router"
bind = ["127.0.0.1:5557"]
colour = "blue"

[export]
dead_letter = "dl.jsonl"

[[export.sinks]]
type = "stdout"
"#;
    let found = keys(text);
    assert_eq!(
        found,
        vec![
            "ingest.sockets[0].type",
            "ingest.sockets[0].bind[0]",
            "ingest.sockets[0].colour"
        ]
    );
    let message = Config::parse(text, "pipeline.toml")
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("pipeline.toml: 3 problem(s):"),
        "{message}"
    );
}

#[test]
fn missing_sections_and_wrong_types_are_named() {
    let found = keys("[admin]\naddress = 9955\n[pipeline]\nbatch_max = 0\n");
    for key in [
        "ingest.sockets",
        "export",
        "admin.address",
        "pipeline.batch_max",
    ] {
        assert!(
            found.iter().any(|k| k == key),
            "{key} missing from {found:?}"
        );
    }
}

#[test]
fn socket_rules() {
    let text = r#"
[[ingest.sockets]]
name = "a"
type = "pull"
subscribe = ["x"]

[[ingest.sockets]]
name = "a"
type = "sub"
connect = ["tcp://127.0.0.1:notaport", "carrier-pigeon://x"]

[export]
dead_letter = "dl.jsonl"
[[export.sinks]]
type = "file"
path = "dl.jsonl"
"#;
    let found = keys(text);
    let want = [
        "ingest.sockets[0].bind",
        "ingest.sockets[0].subscribe",
        "ingest.sockets[1].connect[0]",
        "ingest.sockets[1].connect[1]",
        "ingest.sockets[1].name",
        "export.dead_letter",
    ];
    for key in want {
        assert!(
            found.iter().any(|k| k == key),
            "{key} missing from {found:?}"
        );
    }
}

#[test]
fn frame_roles_and_metrics() {
    let text = format!(
        "{MINIMAL}\n[process]\nframes = [\"body\", \"body\", \"sequence\"]\ndecode = \"xml\"\n\
         [[collect.metrics]]\nname = \"m\"\nfield = \"a..b\"\n\
         [[collect.metrics]]\nname = \"m\"\nlabel = \"$topic\"\nmax_labels = 0\n"
    );
    let found = keys(&text);
    let want = [
        "process.frames[1]",
        "process.frames[2]",
        "process.decode",
        "collect.metrics[0].field",
        "collect.metrics[1].name",
        "collect.metrics[1].max_labels",
    ];
    assert_eq!(found, want);
}

#[test]
fn syntax_errors_are_not_problem_lists() {
    let err = Config::parse("[[ingest.sockets]\n", "bad.toml").unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }));
    assert!(err.to_string().starts_with("bad.toml: not valid TOML"));
}

#[test]
fn endpoints() {
    for ok in [
        "tcp://127.0.0.1:5556",
        "tcp://*:*",
        "ipc:///tmp/x",
        "inproc://a",
        "tcp://[::1]:9",
    ] {
        assert_eq!(check_endpoint(ok), Ok(()), "{ok}");
    }
    for bad in ["tcp://127.0.0.1", "127.0.0.1:5556", "tcp://", "http://x:1"] {
        assert!(check_endpoint(bad).is_err(), "{bad}");
    }
}

proptest! {
    /// Whatever the text, parsing returns a config or an error; it never panics, and every
    /// invalid config names at least one problem.
    #[test]
    fn parsing_never_panics(text in "[\\[\\]a-z_.=\" 0-9\n]{0,200}") {
        if let Err(ConfigError::Invalid { problems, .. }) = Config::parse(&text, "fuzz") {
            prop_assert!(!problems.is_empty());
        }
    }

    /// An unknown key anywhere in a valid file is reported with its full path.
    #[test]
    fn unknown_keys_are_always_reported(key in "[a-z]{3,12}") {
        prop_assume!(!["type", "name", "bind", "connect", "subscribe"].contains(&key.as_str()));
        prop_assume!(!key.ends_with("_ms") && key != "receive_hwm" && key != "tcp_keepalive");
        prop_assume!(key != "max_message_bytes");
        let text = MINIMAL.replace("type = \"pull\"", &format!("type = \"pull\"\n{key} = 1"));
        let found = keys(&text);
        prop_assert_eq!(found, vec![format!("ingest.sockets[0].{key}")]);
    }
}
