//! Running the demo: start the pipeline, replay the dataset with visible progress, drain, and
//! check the outcome against the dataset.

use std::future::Future;
use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{DATASET, MALFORMED, Row, config, expected_by_kind, parse_rows, replay};
use crate::config::ConfigError;
use crate::orchestrator::{Pipeline, Report, StartError};

/// How long the demo waits for the pipeline to account for every message it sent.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the demo is asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Directory for `events.jsonl` and `dead-letter.jsonl`; earlier files there are replaced.
    pub output: PathBuf,
    /// Admin server address, or `None` for no admin server.
    pub admin: Option<SocketAddr>,
    /// Messages per second; 0 sends as fast as possible.
    pub rate: u32,
}

/// The demo could not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The shipped dataset did not parse.
    #[error("dataset: {0}")]
    Dataset(String),
    /// The generated configuration did not validate.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The output directory could not be prepared.
    #[error("prepare {path}: {source}")]
    Output {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The admin address cannot be used.
    #[error("admin server: bind {address}: {source} (use --admin 127.0.0.1:0 for any free port)")]
    AdminAddress {
        /// The address asked for.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The pipeline did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The internal publisher failed.
    #[error("replay: {0}")]
    Replay(String),
}

/// One check of the outcome against the dataset.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was compared.
    pub what: String,
    /// Whether it matched.
    pub ok: bool,
}

/// What the demo produced.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    /// The pipeline's final report.
    pub report: Report,
    /// Every comparison with the dataset.
    pub checks: Vec<Check>,
    /// Where the output files are.
    pub output: PathBuf,
    /// Whether the run was cut short before every message was sent.
    pub interrupted: bool,
}

impl DemoOutcome {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// Runs the demo, printing progress to standard error. When `interrupt` completes first, the
/// publisher stops, the pipeline drains, and the outcome reports what got through.
///
/// # Errors
///
/// [`DemoError`] when the demo cannot run to the end; a run that ends with mismatches is an
/// `Ok` whose [`DemoOutcome::passed`] is false.
pub async fn run(
    options: DemoOptions,
    interrupt: impl Future<Output = ()>,
) -> Result<DemoOutcome, DemoError> {
    let rows = parse_rows(DATASET).map_err(DemoError::Dataset)?;
    // Refuse a busy admin address before the previous run's output is cleared.
    if let Some(address) = options.admin {
        std::net::TcpListener::bind(address)
            .map_err(|source| DemoError::AdminAddress { address, source })?;
    }
    prepare_output(&options.output)?;
    let running = Pipeline::new(config(&options.output, options.admin)?)
        .start()
        .await?;
    let endpoint = running
        .bound_endpoints()
        .first()
        .cloned()
        .unwrap_or_default();
    let total = rows.len() + MALFORMED.len();

    eprintln!(
        "zeropipe demo: {} Seattle weather rows and {} malformed messages",
        rows.len(),
        MALFORMED.len()
    );
    eprintln!("  publisher -> {endpoint}");
    if let Some(address) = running.admin_address() {
        eprintln!("  admin     -> http://{address}/stats  http://{address}/metrics");
    }
    eprintln!("  output    -> {}", options.output.display());

    // The publisher runs on its own thread; this task shows progress until all is accounted.
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (sent, stop, rows) = (Arc::clone(&sent), Arc::clone(&stop), rows.clone());
        let rate = options.rate;
        std::thread::spawn(move || {
            replay(&endpoint, &rows, rate, &stop, |n| {
                sent.store(n, Ordering::Relaxed)
            })
        })
    };
    let monitor = Arc::clone(running.monitor());
    let progress = wait_settled(total, &sent, || {
        let p = monitor.completion().snapshot();
        (p.completed + p.failed + p.filtered, p)
    });
    let (settled, interrupted) = tokio::select! {
        biased;
        // Ctrl-C: stop sending, then drain and report what got through.
        () = interrupt => (false, true),
        // Everything sent was accounted for, or the wait timed out.
        settled = progress => (settled, false),
    };
    if interrupted {
        eprintln!("\n  interrupted: stopping the publisher and draining");
        stop.store(true, Ordering::Relaxed);
    }
    let replayed = publisher
        .join()
        .map_err(|_| DemoError::Replay("publisher panicked".into()))?;
    replayed.map_err(|e| DemoError::Replay(e.to_string()))?;
    if !settled && !interrupted {
        eprintln!("  not every message was accounted for within {SETTLE_TIMEOUT:?}");
    }

    let report = running.shutdown().await;
    let checks = check(&report, &rows, &options.output);
    Ok(DemoOutcome {
        report,
        checks,
        output: options.output,
        interrupted,
    })
}

fn prepare_output(dir: &std::path::Path) -> Result<(), DemoError> {
    let fail = |path: PathBuf| move |source| DemoError::Output { path, source };
    std::fs::create_dir_all(dir).map_err(fail(dir.to_owned()))?;
    for name in ["events.jsonl", "dead-letter.jsonl"] {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(path)(e)),
            _ => {}
        }
    }
    Ok(())
}

async fn wait_settled(
    total: usize,
    sent: &AtomicUsize,
    accounted: impl Fn() -> (u64, crate::monitor::CompletionSnapshot),
) -> bool {
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    loop {
        ticker.tick().await;
        let (done, p) = accounted();
        let line = format!(
            "  sent {:>5}/{total}  exported {:>5}  dead-lettered {}  in flight {}",
            sent.load(Ordering::Relaxed),
            p.completed,
            p.failed,
            p.in_flight
        );
        let finished = done >= total as u64;
        let timed_out = started.elapsed() > SETTLE_TIMEOUT;
        if tty {
            eprint!("\r{line}");
            if finished || timed_out {
                eprintln!();
            }
        } else if finished || timed_out || started.elapsed().as_millis() % 1000 < 250 {
            eprintln!("{line}");
        }
        let _ = std::io::stderr().flush();
        if finished {
            return true;
        }
        if timed_out {
            return false;
        }
    }
}

fn check(report: &Report, rows: &[Row], output: &std::path::Path) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut expect = |what: String, ok: bool| checks.push(Check { what, ok });
    let p = &report.snapshot.pipeline;
    expect(
        format!("{} rows exported (got {})", rows.len(), p.completed),
        p.completed == rows.len() as u64,
    );
    let bad = MALFORMED.len() as u64;
    expect(
        format!("{bad} malformed messages dead-lettered (got {})", p.failed),
        p.failed == bad,
    );
    expect(
        format!("nothing in flight (got {})", p.in_flight),
        p.in_flight == 0,
    );

    let lines = |name: &str| {
        std::fs::read_to_string(output.join(name)).map_or(0, |t| t.lines().count() as u64)
    };
    let (events, dead) = (lines("events.jsonl"), lines("dead-letter.jsonl"));
    expect(
        format!("events.jsonl has {events} lines"),
        events == p.completed,
    );
    expect(
        format!("dead-letter.jsonl has {dead} lines"),
        dead == p.failed,
    );

    let series = report.metrics.get("temp_max_by_weather").map(|m| &m.series);
    for (kind, (days, mean)) in expected_by_kind(rows) {
        let got = series.and_then(|s| s.get(&kind));
        let (n, m) = got.map_or((0, f64::NAN), |s| (s.events, s.mean.unwrap_or(f64::NAN)));
        let ok = n == days && (m - mean).abs() <= 1e-9 * mean.abs().max(1.0);
        expect(
            format!("{kind}: {days} days, mean temp_max {mean:.3} (got {n}, {m:.3})"),
            ok,
        );
    }
    checks
}
