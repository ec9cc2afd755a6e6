use std::path::PathBuf;

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

/// Each problem as (key, message), for exact comparison.
fn pairs(text: &str) -> Vec<(String, String)> {
    problems(text)
        .into_iter()
        .map(|p| (p.key, p.message))
        .collect()
}

fn pair(key: &str, message: &str) -> (String, String) {
    (key.to_owned(), message.to_owned())
}

const SOCKET: &str = "[[ingest.sockets]]\ntype = \"pull\"\nbind = [\"tcp://127.0.0.1:5557\"]\n";
const EXPORT: &str = "[export]\ndead_letter = \"dl.jsonl\"\n[[export.sinks]]\ntype = \"stdout\"\n";

/// A file with one socket made of `lines` and a valid export section.
fn with_socket(lines: &str) -> String {
    format!("[[ingest.sockets]]\n{lines}\n{EXPORT}")
}

/// A file with a valid socket and the export section `text`.
fn with_export(text: &str) -> String {
    format!("{SOCKET}\n{text}")
}

/// `path` as a TOML string.
fn quoted(path: &std::path::Path) -> String {
    toml::Value::from(path.display().to_string()).to_string()
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

#[test]
fn list_problems_name_the_position_in_the_file() {
    let found = pairs(&with_socket("type = \"sub\"\nconnect = [1, \"tcp://x\"]"));
    let want = [
        pair(
            "ingest.sockets[0].connect[0]",
            "expected a string, found integer",
        ),
        pair(
            "ingest.sockets[0].connect[1]",
            "\"tcp://x\" needs a port, such as tcp://127.0.0.1:5556",
        ),
    ];
    assert_eq!(found, want);

    let found = pairs(&format!(
        "{MINIMAL}\n[process]\nframes = [1, \"body\", \"body\"]\n"
    ));
    let want = [
        pair("process.frames[0]", "expected a string, found integer"),
        pair("process.frames[2]", "\"body\" appears more than once"),
    ];
    assert_eq!(found, want);
}

#[test]
fn a_bad_value_does_not_make_its_siblings_unknown() {
    let sink = with_export(
        "[export]\ndead_letter = \"dl.jsonl\"\n[[export.sinks]]\ntype = 5\npath = \"o\"",
    );
    let type_problem = |key: &str| vec![pair(key, "expected a string, found integer")];
    assert_eq!(pairs(&sink), type_problem("export.sinks[0].type"));

    let kafka = sink.replace("type = 5", "type = \"kafka\"");
    let why = "must be \"file\" or \"stdout\", found \"kafka\"";
    assert_eq!(pairs(&kafka), [pair("export.sinks[0].type", why)]);

    let socket = with_socket(
        "type = 5\nname = \"a\"\nbind = [\"tcp://[::1]:1\"]\nsubscribe = [\"x\"]\nipv6 = true\n\
         receive_hwm = 5\ntcp_keepalive = true",
    );
    assert_eq!(pairs(&socket), type_problem("ingest.sockets[0].type"));

    let metric = format!(
        "{MINIMAL}\n[[collect.metrics]]\nname = 5\nfield = \"a\"\nlabel = \"b\"\nwindow = 10\n"
    );
    assert_eq!(pairs(&metric), type_problem("collect.metrics[0].name"));
}

#[test]
fn only_a_file_sink_has_a_path() {
    let text = with_export(
        "[export]\ndead_letter = \"dl.jsonl\"\n[[export.sinks]]\ntype = \"stdout\"\npath = \"o\"",
    );
    let want = [pair("export.sinks[0].path", "only a file sink has a path")];
    assert_eq!(pairs(&text), want);

    let text =
        with_export("[export]\ndead_letter = \"dl.jsonl\"\n[[export.sinks]]\ntype = \"file\"");
    assert_eq!(pairs(&text), [pair("export.sinks[0].path", "is required")]);
}

#[test]
fn a_section_of_the_wrong_type_is_reported_once() {
    let export = format!("export = true\n{SOCKET}");
    assert_eq!(
        pairs(&export),
        [pair("export", "expected a table, found boolean")]
    );

    let ingest = format!("ingest = true\n{EXPORT}");
    assert_eq!(
        pairs(&ingest),
        [pair("ingest", "expected a table, found boolean")]
    );

    let sinks = with_export("[export]\ndead_letter = \"dl.jsonl\"\nsinks = 5");
    let want = [pair(
        "export.sinks",
        "expected an array of tables, found integer",
    )];
    assert_eq!(pairs(&sinks), want);

    let bind = with_socket("type = \"pull\"\nbind = [1]");
    let want = [pair(
        "ingest.sockets[0].bind[0]",
        "expected a string, found integer",
    )];
    assert_eq!(pairs(&bind), want);
}

#[test]
fn absent_sections_are_required() {
    let why = "an [export] section with at least one sink is required";
    assert_eq!(pairs(SOCKET), [pair("export", why)]);

    let sinks = with_export("[export]\ndead_letter = \"dl.jsonl\"\nsinks = []");
    let want = [pair("export.sinks", "at least one sink is required")];
    assert_eq!(pairs(&sinks), want);

    let want = [pair("ingest.sockets", "at least one socket is required")];
    assert_eq!(pairs(EXPORT), want);
}

#[test]
fn empty_names_are_rejected() {
    let socket = with_socket("name = \"\"\ntype = \"pull\"\nbind = [\"tcp://127.0.0.1:1\"]");
    let empty = |key: &str| vec![pair(key, "must not be empty")];
    assert_eq!(pairs(&socket), empty("ingest.sockets[0].name"));

    let sink = MINIMAL.replace("type = \"stdout\"", "type = \"stdout\"\nname = \"\"");
    assert_eq!(pairs(&sink), empty("export.sinks[0].name"));

    let metric = format!("{MINIMAL}\n[[collect.metrics]]\nname = \"\"\n");
    assert_eq!(pairs(&metric), empty("collect.metrics[0].name"));
}

#[test]
fn empty_paths_are_rejected() {
    let sink = with_export(
        "[export]\ndead_letter = \"dl.jsonl\"\n[[export.sinks]]\ntype = \"file\"\npath = \"\"",
    );
    let empty = |key: &str| vec![pair(key, "must not be empty")];
    assert_eq!(pairs(&sink), empty("export.sinks[0].path"));

    let dead_letter = MINIMAL.replace("\"dl.jsonl\"", "\"\"");
    assert_eq!(pairs(&dead_letter), empty("export.dead_letter"));
}

#[test]
fn an_empty_subscription_list_is_rejected() {
    let text = with_socket("type = \"sub\"\nconnect = [\"tcp://127.0.0.1:1\"]\nsubscribe = []");
    let why = "an empty list subscribes to no topic, so the socket would receive nothing; \
               use [\"\"] to receive every topic";
    assert_eq!(pairs(&text), [pair("ingest.sockets[0].subscribe", why)]);

    let everything = text.replace("subscribe = []", "subscribe = [\"\"]");
    let c = Config::parse(&everything, "test").unwrap();
    assert_eq!(c.sockets[0].subscribe, [""]);
}

#[test]
fn tcp_endpoints_need_a_host() {
    for ok in [
        "tcp://*:5556",
        "tcp://localhost:5556",
        "tcp://[fe80::1%eth0]:5556",
        "tcp://127.0.0.1:5555;192.168.1.1:5556",
        "ws://127.0.0.1:8080/feed",
    ] {
        assert_eq!(check_endpoint(ok), Ok(()), "{ok}");
    }
    let why = "\"tcp://:5556\" has no host; use an address such as tcp://127.0.0.1:5556, \
               or * to bind every interface";
    assert_eq!(check_endpoint("tcp://:5556"), Err(why.to_owned()));
    for bad in ["tcp://[::1:5556", "tcp://[nope]:5556", "tcp://[]:5556"] {
        let why = format!(
            "{bad:?} has a malformed IPv6 host; write it in brackets like tcp://[::1]:5556"
        );
        assert_eq!(check_endpoint(bad), Err(why), "{bad}");
    }
    assert_eq!(
        check_endpoint("ipc://"),
        Err("\"ipc://\" has no address".to_owned())
    );

    let text = with_socket("type = \"pull\"\nbind = [\"tcp://127.0.0.1:1\", \"tcp://:5556\"]");
    assert_eq!(pairs(&text), [pair("ingest.sockets[0].bind[1]", why)]);
}

#[test]
fn one_file_named_two_ways_is_one_file() {
    let absolute = std::env::current_dir().unwrap().join("out/ev.jsonl");
    let spellings = [
        "\"./out/ev.jsonl\"".to_owned(),
        "\"out/../out/ev.jsonl\"".to_owned(),
        "\"out/x/./../ev.jsonl\"".to_owned(),
        quoted(&absolute),
    ];
    for other in &spellings {
        let dead_letter = with_export(&format!(
            "[export]\ndead_letter = {other}\n\
             [[export.sinks]]\nname = \"f\"\ntype = \"file\"\npath = \"out/ev.jsonl\""
        ));
        let why = "must not be the same file as sink \"f\"";
        assert_eq!(
            pairs(&dead_letter),
            [pair("export.dead_letter", why)],
            "{other}"
        );

        let two_sinks = with_export(&format!(
            "[export]\ndead_letter = \"dl.jsonl\"\n\
             [[export.sinks]]\nname = \"a\"\ntype = \"file\"\npath = \"out/ev.jsonl\"\n\
             [[export.sinks]]\nname = \"b\"\ntype = \"file\"\npath = {other}"
        ));
        let why = "two sinks write the same file";
        assert_eq!(
            pairs(&two_sinks),
            [pair("export.sinks[1].path", why)],
            "{other}"
        );
    }
}

#[test]
fn paths_are_kept_as_written() {
    let text = with_export(
        "[export]\ndead_letter = \"../ev.jsonl\"\n\
         [[export.sinks]]\ntype = \"file\"\npath = \"./out/../ev.jsonl\"",
    );
    let c = Config::parse(&text, "test").unwrap();
    assert_eq!(c.export.dead_letter, PathBuf::from("../ev.jsonl"));
    let want = SinkConfig::File {
        name: "file".into(),
        path: PathBuf::from("./out/../ev.jsonl"),
    };
    assert_eq!(c.export.sinks, [want]);
}

#[test]
fn ipv6_defaults_to_whether_an_endpoint_is_ipv6() {
    let ipv6 = |lines: &str| {
        let text = with_socket(&format!("type = \"pull\"\n{lines}"));
        Config::parse(&text, "test").unwrap().sockets[0].ipv6
    };
    assert!(!ipv6("bind = [\"tcp://127.0.0.1:1\"]"));
    assert!(!ipv6("bind = [\"tcp://*:*\", \"inproc://[::1]:1\"]"));
    assert!(ipv6(
        "bind = [\"tcp://127.0.0.1:1\"]\nconnect = [\"tcp://[::1]:5556\"]"
    ));
    assert!(!ipv6("connect = [\"tcp://[::1]:5556\"]\nipv6 = false"));
    assert!(ipv6("bind = [\"tcp://127.0.0.1:1\"]\nipv6 = true"));

    let text = with_socket("type = \"pull\"\nbind = [\"tcp://127.0.0.1:1\"]\nipv6 = \"yes\"");
    let want = [pair(
        "ingest.sockets[0].ipv6",
        "expected true or false, found string",
    )];
    assert_eq!(pairs(&text), want);
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

#[test]
fn tcp_ports_out_of_range_and_paths_are_named() {
    assert_eq!(
        check_endpoint("tcp://127.0.0.1:99999"),
        Err("\"tcp://127.0.0.1:99999\" has port 99999, outside 0 to 65535".to_owned())
    );
    assert!(
        check_endpoint("tcp://127.0.0.1:-1")
            .unwrap_err()
            .contains("outside 0 to 65535")
    );
    assert!(
        check_endpoint("tcp://127.0.0.1:5/x")
            .unwrap_err()
            .contains("has a path")
    );
    assert_eq!(check_endpoint("ws://127.0.0.1:8080/feed"), Ok(()));
}
