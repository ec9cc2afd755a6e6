//! The `zeropipe` binary: validation that lists every problem, exit codes, help, the demo,
//! and a signal-driven drain of `run`.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn zeropipe(args: &[&str], cwd: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zeropipe"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    path
}

#[test]
fn check_accepts_the_weather_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/weather.toml");
    let out = zeropipe(&["check", "-c", example], std::path::Path::new("."));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with(": ok\n"));
}

#[test]
fn three_mistakes_give_one_message_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.toml",
        "[[ingest.sockets]]\ntype = \"dealer\"\nbind = [\"tcp://127.0.0.1\"]\n\
         [export]\ndead_letter = \"dl.jsonl\"\n[[export.sinks]]\ntype = \"stdout\"\n\
         [monitor]\nwindow = -5\n",
    );
    for command in ["check", "run"] {
        let out = zeropipe(&[command, "-c", file.to_str().unwrap()], dir.path());
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = text(&out.stderr);
        assert!(err.contains("3 problem(s)"), "{err}");
        for key in [
            "ingest.sockets[0].type",
            "ingest.sockets[0].bind[0]",
            "monitor.window",
        ] {
            assert!(err.contains(key), "{command}: {key} missing from {err}");
        }
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn usage_errors_and_missing_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = zeropipe(&["run", "-c", "nope.toml"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("read nope.toml"));
    assert_eq!(zeropipe(&["frobnicate"], dir.path()).status.code(), Some(2));
}

#[test]
fn help_explains_each_command() {
    let out = zeropipe(&["--help"], std::path::Path::new("."));
    let help = text(&out.stdout);
    for word in ["run", "check", "demo", "Exit codes"] {
        assert!(help.contains(word), "{word} missing from help");
    }
}

#[test]
fn a_port_in_use_fails_start_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let file = write(
        dir.path(),
        "p.toml",
        &format!(
            "[[ingest.sockets]]\ntype = \"pull\"\nbind = [\"tcp://127.0.0.1:{port}\"]\n\
             [export]\ndead_letter = \"dl.jsonl\"\n[[export.sinks]]\ntype = \"stdout\"\n\
             [admin]\nenabled = false\n"
        ),
    );
    let out = zeropipe(&["run", "-c", file.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("bind tcp://127.0.0.1:{port}")),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn demo_runs_to_the_end_and_matches_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = zeropipe(
        &["demo", "--admin", "127.0.0.1:0", "--rate", "0"],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("checks against the dataset:"));
    assert_eq!(stdout.matches("[ok]").count(), 10, "{stdout}");
    assert!(!stdout.contains("FAIL"));
    // Its log went to a pipe, not a terminal: no colour codes.
    let err = text(&out.stderr);
    assert!(err.contains("pipeline running"), "{err}");
    assert!(!err.contains('\u{1b}'), "escape codes in {err}");
    let events = std::fs::read_to_string(dir.path().join("zeropipe-demo-output/events.jsonl"));
    assert_eq!(events.unwrap().lines().count(), 1461);
}

#[test]
fn sigterm_drains_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_run(dir.path(), "type = \"file\"\npath = \"e.jsonl\"", "");
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut err = String::new();
    read_until(&mut stderr, &mut err, |line| {
        line.contains("pipeline running")
    });
    let status = terminate(&mut child);
    std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("SIGTERM"), "{err}");
    assert!(err.contains("messages: received 0, completed 0"), "{err}");
}

/// Starts `zeropipe run` in `dir` on a PULL socket with one sink (`sink` holds its keys) and
/// `extra` sections; standard output and error are pipes.
fn spawn_run(dir: &std::path::Path, sink: &str, extra: &str) -> std::process::Child {
    let config = format!(
        "[[ingest.sockets]]\ntype = \"pull\"\nbind = [\"tcp://127.0.0.1:*\"]\n\
         [export]\ndead_letter = \"dl.jsonl\"\n[[export.sinks]]\n{sink}\n\
         [admin]\nenabled = false\n{extra}\n"
    );
    let file = write(dir, "p.toml", &config);
    Command::new(env!("CARGO_BIN_EXE_zeropipe"))
        .args(["run", "-c", file.to_str().unwrap()])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads lines of `stderr` into `seen` until one satisfies `wanted`, and returns that line;
/// fails if the stream ends first.
fn read_until(
    stderr: &mut impl std::io::BufRead,
    seen: &mut String,
    wanted: impl Fn(&str) -> bool,
) -> String {
    loop {
        let mut line = String::new();
        let read = stderr.read_line(&mut line).unwrap();
        assert!(read > 0, "zeropipe's output ended early: {seen}");
        seen.push_str(&line);
        if wanted(&line) {
            return line;
        }
    }
}

/// Sends SIGTERM to `child` and waits for it to exit; kills it and fails after 20 seconds.
fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("zeropipe did not stop after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` has a handler installed for SIGTERM (bit 15 of `SigCgt`).
fn catches_sigterm(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mask = status.lines().find_map(|l| l.strip_prefix("SigCgt:"));
    let mask = mask
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .unwrap_or(0);
    mask & (1 << (15 - 1)) != 0
}

#[test]
fn a_signal_while_a_sink_blocks_on_open_stops_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("sink.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Opening a FIFO that nobody reads blocks; the process must still answer a signal.
    let sink = format!("type = \"file\"\npath = \"{}\"", fifo.display());
    let mut child = spawn_run(dir.path(), &sink, "");
    let started = Instant::now();
    while !catches_sigterm(child.id()) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no SIGTERM handler"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = terminate(&mut child);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("SIGTERM while starting"), "{err}");
}

#[test]
fn a_stdout_nobody_reads_does_not_keep_the_process_alive() {
    let dir = tempfile::tempdir().unwrap();
    // Standard output is a pipe that this test never reads: it fills and every write blocks.
    let deadline = "[pipeline]\nshutdown_deadline_ms = 300";
    let mut child = spawn_run(dir.path(), "type = \"stdout\"", deadline);
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut err = String::new();
    let bound = read_until(&mut stderr, &mut err, |line| line.contains("endpoint="));
    let at = bound.find("endpoint=").unwrap() + "endpoint=".len();
    let endpoint = bound[at..].split_whitespace().next().unwrap().to_owned();

    // Far more than a pipe holds.
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.set_linger(0).unwrap();
    push.connect(&endpoint).unwrap();
    let body = format!("{{\"pad\": \"{}\"}}", "x".repeat(200));
    for _ in 0..5_000 {
        push.send_multipart(["t", body.as_str()], 0).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));

    let status = terminate(&mut child);
    std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
    assert_eq!(status.code(), Some(3), "messages stay in flight: {err}");
    assert!(err.contains("did not finish"), "{err}");
}

#[test]
fn a_demo_that_cannot_start_keeps_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("zeropipe-demo-output");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("events.jsonl"), "{\"earlier\": true}\n").unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let admin = taken.local_addr().unwrap().to_string();

    let run = zeropipe(&["demo", "--admin", &admin], dir.path());
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).contains("--admin 127.0.0.1:0"),
        "{}",
        text(&run.stderr)
    );
    let kept = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    assert_eq!(kept, "{\"earlier\": true}\n");
}
