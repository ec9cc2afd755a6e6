//! The per-message cost of monitor recording, next to the work a message costs anyway.
//!
//! Every per-message benchmark handles one batch of [`BATCH`] messages per iteration and reports
//! per-message rates: `baseline/json_decode_200B` decodes a ~200-byte JSON body,
//! `baseline/clock_pair` reads the clock twice as a timed `handle` call does,
//! `monitor/batch_recorder` is what a domain task records per message, and
//! `monitor/handle_success_direct` records each message straight into the shared counters.
//! `monitor/snapshot` is one full reading of the monitor, as the admin server's `/stats` does.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use zeropipe::monitor::{BatchRecorder, Monitor};

/// Messages per batch, the pipeline's default `batch_max`.
const BATCH: usize = 256;

/// Operations registered for the snapshot benchmark, about as many as a small pipeline has.
const SNAPSHOT_OPS: usize = 8;

/// A group whose benchmarks each handle one batch per iteration.
fn per_message<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(BATCH as u64));
    group
}

/// The work every message costs anyway: decoding its body, and timing its `handle` call.
fn baseline(c: &mut Criterion) {
    let bodies: Vec<Vec<u8>> = (0..BATCH as u64).map(common::body).collect();
    let mut group = per_message(c, "baseline");
    group.bench_function("json_decode_200B", |b| {
        b.iter(|| {
            for body in &bodies {
                let value: serde_json::Value =
                    serde_json::from_slice(black_box(body)).expect("valid JSON");
                black_box(value);
            }
        });
    });
    group.bench_function("clock_pair", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let started = Instant::now();
                black_box(started.elapsed());
            }
        });
    });
    group.finish();
}

/// Recording a timed success per message, batched and unbatched.
fn recording(c: &mut Criterion) {
    let monitor = Monitor::default();
    let mut recorder = BatchRecorder::new(monitor.register("process", "handle"));
    let direct = monitor.register("process", "direct");
    let mut group = per_message(c, "monitor");
    group.bench_function("batch_recorder", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let started = Instant::now();
                recorder.success(started.elapsed());
            }
            recorder.publish();
        });
    });
    group.bench_function("handle_success_direct", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let started = Instant::now();
                direct.success(started.elapsed());
            }
        });
    });
    group.finish();
}

/// One full reading of a monitor whose operations all have full duration windows.
fn snapshot(c: &mut Criterion) {
    let monitor = Monitor::default();
    for i in 0..SNAPSHOT_OPS {
        let mut recorder = BatchRecorder::new(monitor.register("domain", &format!("op{i}")));
        for n in 0..zeropipe::monitor::DEFAULT_WINDOW as u64 {
            recorder.success(Duration::from_nanos(1_000 + n * 37 % 5_000));
        }
        recorder.publish();
    }
    c.bench_function("monitor/snapshot", |b| {
        b.iter(|| black_box(monitor.snapshot()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = baseline, recording, snapshot
}
criterion_main!(benches);
