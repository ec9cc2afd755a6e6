//! End-to-end throughput: how fast a bare libzmq PULL socket receives a stream of two-frame
//! messages (a short topic and a ~200-byte JSON body), against how fast a full zeropipe pipeline
//! (receive, JSON decode, one derived metric, file sink) completes the same stream.
//!
//! `cargo bench --bench throughput`. `ZEROPIPE_BENCH_MESSAGES` sets the messages per phase
//! (default 500 000). The phases alternate, raw then pipeline, for three rounds, and the
//! medians are compared. Run without `--bench` (as `cargo test --benches` does), it makes one
//! short round as a smoke test.

mod common;

use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use zeropipe::config::Config;
use zeropipe::monitor::Monitor;
use zeropipe::orchestrator::{Pipeline, Report};

// The daemon's allocator, so that the pipeline is measured as it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Messages per phase when `ZEROPIPE_BENCH_MESSAGES` is not set.
const DEFAULT_MESSAGES: u64 = 500_000;

/// Messages per phase in a smoke run.
const SMOKE_MESSAGES: u64 = 2_000;

/// Rounds of (raw, pipeline) in a full run.
const ROUNDS: usize = 3;

/// Distinct pre-built bodies; the sender cycles through them.
const DISTINCT: usize = 1024;

/// The topic frame of every message.
const TOPIC: &[u8] = b"telemetry";

/// Send and receive high-water marks, in messages, for every socket in the benchmark.
const HWM: i32 = 100_000;

/// How long one blocked send or receive may wait before the benchmark gives up.
const STALL_MS: i32 = 10_000;

/// Where the benchmark binds: loopback, any free port.
const ENDPOINT: &str = "tcp://127.0.0.1:*";

/// How the benchmark was asked to run.
struct Settings {
    messages: u64,
    rounds: usize,
}

impl Settings {
    /// Reads `--bench` from the arguments and the message count from the environment.
    fn from_env() -> Self {
        let full = std::env::args().any(|a| a == "--bench");
        let default = if full {
            DEFAULT_MESSAGES
        } else {
            SMOKE_MESSAGES
        };
        let messages = match std::env::var("ZEROPIPE_BENCH_MESSAGES") {
            Ok(text) => text
                .trim()
                .replace('_', "")
                .parse()
                .expect("ZEROPIPE_BENCH_MESSAGES must be a whole number"),
            Err(_) => default,
        };
        assert!(messages > 0, "ZEROPIPE_BENCH_MESSAGES must be at least 1");
        let rounds = if full { ROUNDS } else { 1 };
        Self { messages, rounds }
    }
}

/// The stream every phase sends: `count` messages cycling through pre-built bodies.
struct Workload {
    bodies: Vec<Vec<u8>>,
    count: u64,
}

impl Workload {
    fn new(count: u64) -> Self {
        let bodies = (0..DISTINCT as u64).map(common::body).collect();
        Self { bodies, count }
    }

    /// The body of message `seq`.
    fn body(&self, seq: u64) -> &[u8] {
        &self.bodies[(seq % self.bodies.len() as u64) as usize]
    }

    /// Mean bytes per message, all frames together.
    fn message_bytes(&self) -> f64 {
        let bodies: usize = self.bodies.iter().map(Vec::len).sum();
        TOPIC.len() as f64 + bodies as f64 / self.bodies.len() as f64
    }
}

/// When the sender started and when its last send returned.
struct Sent {
    started: Instant,
    finished: Instant,
}

/// Starts a thread that connects a PUSH socket to `endpoint` and sends the whole workload as
/// fast as libzmq takes it.
fn spawn_sender(endpoint: String, workload: Arc<Workload>) -> JoinHandle<Sent> {
    std::thread::spawn(move || {
        let ctx = zmq::Context::new();
        let push = ctx.socket(zmq::PUSH).expect("create PUSH socket");
        push.set_sndhwm(HWM).expect("set SNDHWM");
        push.set_sndtimeo(STALL_MS).expect("set SNDTIMEO");
        push.set_linger(STALL_MS).expect("set LINGER");
        push.connect(&endpoint).expect("connect PUSH socket");

        let started = Instant::now();
        for seq in 0..workload.count {
            push.send(TOPIC, zmq::SNDMORE).expect("send topic frame");
            push.send(workload.body(seq), 0).expect("send body frame");
        }
        Sent {
            started,
            finished: Instant::now(),
        }
    })
}

/// One phase's timings.
#[derive(Clone, Copy)]
struct Measured {
    /// From the first send to the last message received (raw) or completed (pipeline).
    elapsed: Duration,
    /// From the first send to the return of the last one.
    sending: Duration,
    /// CPU time of the whole process over the phase, sender included, when it can be read.
    cpu: Option<Duration>,
    /// Messages per batch the export domain wrote, on average (pipeline only).
    mean_batch: Option<f64>,
}

impl Measured {
    fn new(sent: &Sent, done: Instant, cpu: Option<Duration>) -> Self {
        Self {
            elapsed: done.saturating_duration_since(sent.started),
            sending: sent.finished.saturating_duration_since(sent.started),
            cpu,
            mean_batch: None,
        }
    }
}

/// CPU time used so far by every thread of this process, read from `/proc/self/stat`; `None`
/// where there is no such file.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, starting at the state (field 3): utime is field 14,
    // stime field 15, both in USER_HZ ticks, which are 1/100 s on every Linux target.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// CPU time of the process since `before` was read.
fn cpu_since(before: Option<Duration>) -> Option<Duration> {
    Some(process_cpu()?.saturating_sub(before?))
}

/// Phase (a): a bare PULL socket that only counts multipart messages.
fn measure_raw(workload: &Arc<Workload>) -> Measured {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).expect("create PULL socket");
    pull.set_rcvhwm(HWM).expect("set RCVHWM");
    pull.set_rcvtimeo(STALL_MS).expect("set RCVTIMEO");
    pull.set_linger(0).expect("set LINGER");
    pull.bind(ENDPOINT).expect("bind PULL socket");
    let endpoint = pull
        .get_last_endpoint()
        .expect("read bound endpoint")
        .expect("bound endpoint is UTF-8");
    let cpu_before = process_cpu();
    let sender = spawn_sender(endpoint, Arc::clone(workload));

    let mut frames = 0;
    for _ in 0..workload.count {
        frames += pull.recv_multipart(0).expect("raw receive stalled").len();
    }
    let done = Instant::now();
    let cpu = cpu_since(cpu_before);

    let sent = sender.join().expect("sender thread panicked");
    assert_eq!(
        frames as u64,
        2 * workload.count,
        "every message has two frames"
    );
    Measured::new(&sent, done, cpu)
}

/// The pipeline under test, writing its files into `dir`.
fn config_text(dir: &Path) -> String {
    let events = toml::Value::from(dir.join("events.jsonl").display().to_string());
    let dead_letter = toml::Value::from(dir.join("dead-letter.jsonl").display().to_string());
    format!(
        r#"
[[ingest.sockets]]
name = "bench"
type = "pull"
bind = ["{ENDPOINT}"]
receive_hwm = {HWM}

[process]
frames = ["topic", "body"]
decode = "json"

[[collect.metrics]]
name = "temp_by_sensor"
field = "temp"
label = "sensor"
max_labels = 64

[export]
dead_letter = {dead_letter}

[[export.sinks]]
type = "file"
name = "events"
path = {events}

[admin]
enabled = false

[monitor]
summary_interval_s = 0
"#
    )
}

/// Phase (b): the full pipeline; timed until every message is completed, then checked.
fn measure_pipeline(runtime: &Runtime, workload: &Arc<Workload>) -> Measured {
    let dir = tempfile::tempdir().expect("create temp dir");
    let config = Config::parse(&config_text(dir.path()), "bench").expect("bench config");
    let running = runtime
        .block_on(Pipeline::new(config).start())
        .expect("start pipeline");
    let endpoint = running.bound_endpoints()[0].clone();
    let cpu_before = process_cpu();
    let sender = spawn_sender(endpoint, Arc::clone(workload));

    let done = wait_for_outcomes(running.monitor(), workload.count);
    let cpu = cpu_since(cpu_before);

    let report = runtime.block_on(running.shutdown());
    let sent = sender.join().expect("sender thread panicked");
    check_pipeline(&report, dir.path(), workload.count);
    let flushes = report.snapshot.counts.get("export.flush").copied();
    Measured {
        mean_batch: flushes.map(|n| workload.count as f64 / n.max(1) as f64),
        ..Measured::new(&sent, done, cpu)
    }
}

/// Polls the completion counters every millisecond until `count` messages have an outcome;
/// returns that instant.
fn wait_for_outcomes(monitor: &Monitor, count: u64) -> Instant {
    // Generous: far slower than any pipeline worth measuring.
    let deadline = Instant::now() + Duration::from_secs(30 + count / 10_000);
    loop {
        let p = monitor.completion().snapshot();
        if p.completed + p.failed + p.filtered >= count {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "pipeline stalled: {} of {count} messages done",
            p.completed + p.failed + p.filtered
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Every message completed, nothing failed, and the sink file holds one line per message.
fn check_pipeline(report: &Report, dir: &Path, count: u64) {
    assert!(report.is_clean(), "unclean shutdown: {}", report.summary());
    let p = &report.snapshot.pipeline;
    assert_eq!(p.completed, count, "completed: {}", report.summary());
    assert_eq!(p.failed, 0, "failed: {}", report.summary());
    assert_eq!(count_lines(&dir.join("events.jsonl")), count);
    assert_eq!(count_lines(&dir.join("dead-letter.jsonl")), 0);
}

/// Lines in the file at `path`.
fn count_lines(path: &Path) -> u64 {
    let mut file = File::open(path).expect("open sink file");
    let mut buf = vec![0; 1 << 16];
    let mut lines = 0;
    loop {
        let n = file.read(&mut buf).expect("read sink file");
        if n == 0 {
            return lines;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// One rate measured over the rounds.
#[derive(Default)]
struct Samples {
    /// Messages per second, one per round.
    rates: Vec<f64>,
    /// Process CPU microseconds per message, one per round; empty where CPU time is unreadable.
    cpu_us: Vec<f64>,
}

impl Samples {
    fn add(&mut self, count: u64, elapsed: Duration, cpu: Option<Duration>) {
        self.rates.push(rate(count, elapsed));
        if let Some(cpu) = cpu {
            self.cpu_us.push(cpu.as_secs_f64() * 1e6 / count as f64);
        }
    }

    /// `X msg/s (M MB/s), CPU C us/msg` for the values `pick` chooses.
    fn describe(&self, bytes: f64, pick: impl Fn(&[f64]) -> f64) -> String {
        let rate = pick(&self.rates);
        let mut text = format!("{rate:.0} msg/s ({:.1} MB/s)", rate * bytes / 1e6);
        if !self.cpu_us.is_empty() && self.cpu_us.len() == self.rates.len() {
            text.push_str(&format!(", CPU {:.2} us/msg", pick(&self.cpu_us)));
        }
        text
    }
}

/// Everything collected over the rounds.
#[derive(Default)]
struct Results {
    raw: Samples,
    pipeline: Samples,
    sender: Samples,
    batches: Vec<f64>,
}

impl Results {
    fn add(&mut self, count: u64, raw: Measured, pipeline: Measured) {
        self.raw.add(count, raw.elapsed, raw.cpu);
        self.pipeline.add(count, pipeline.elapsed, pipeline.cpu);
        self.sender.add(count, raw.sending, None);
        self.batches.extend(pipeline.mean_batch);
    }

    fn print_round(&self, round: usize, bytes: f64) {
        let last = |values: &[f64]| values[values.len() - 1];
        println!(
            "round {}: raw {}; pipeline {}{}",
            round + 1,
            self.raw.describe(bytes, last),
            self.pipeline.describe(bytes, last),
            batch_note(&self.batches, last)
        );
    }

    fn print_summary(&self, bytes: f64) {
        let raw = median(&self.raw.rates);
        let pipeline = median(&self.pipeline.rates);
        println!("\nmedian of {} round(s):", self.raw.rates.len());
        println!("raw libzmq receive: {}", self.raw.describe(bytes, median));
        println!(
            "zeropipe pipeline: {}{}",
            self.pipeline.describe(bytes, median),
            batch_note(&self.batches, median)
        );
        println!("ratio: Y/X = {:.2} (target >= 0.5)", pipeline / raw);
        println!(
            "sender alone: {}, until its last send returned in the raw phase;",
            self.sender.describe(bytes, median)
        );
        println!("  the raw receive rate cannot exceed it");
        println!("CPU: process CPU time per message over the phase, for all threads: sender,");
        println!("  libzmq I/O threads, and the raw receiver or the pipeline");
    }
}

/// `, mean batch B` when batch sizes were read.
fn batch_note(batches: &[f64], pick: impl Fn(&[f64]) -> f64) -> String {
    if batches.is_empty() {
        return String::new();
    }
    format!(", mean batch {:.0}", pick(batches))
}

/// Messages per second.
fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// The middle value, or the mean of the two middle values.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// Runs the rounds and prints the result block.
fn main() {
    let settings = Settings::from_env();
    let workload = Arc::new(Workload::new(settings.messages));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("build tokio runtime");
    println!(
        "throughput: {} messages per phase, 2 frames, {:.0} bytes each, {} round(s)",
        workload.count,
        workload.message_bytes(),
        settings.rounds
    );

    // Alternate the phases so that drift in machine load touches both alike.
    let mut results = Results::default();
    for round in 0..settings.rounds {
        let raw = measure_raw(&workload);
        let pipeline = measure_pipeline(&runtime, &workload);
        results.add(workload.count, raw, pipeline);
        results.print_round(round, workload.message_bytes());
    }
    results.print_summary(workload.message_bytes());
}
